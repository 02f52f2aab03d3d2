//! Load + validate cost, for the seed files and a generated 5,000-route configuration.
//!
//! Each group carries its own baseline measured in the same run: parsing the same text into a
//! generic value with the same YAML parser (`parse_only`). Read the other figures as multiples of it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use meshroute::LoadOptions;

fn seed_text() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed");
    [
        "demo.yaml",
        "demo-gateway.yaml",
        "destination-rule-svc-b-canary.yaml",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(dir.join(f)).unwrap_or_default())
    .collect::<Vec<_>>()
    .join("\n---\n")
}

/// One VirtualService with `routes` HTTP routes mixing URI prefix, exact header, regex and query
/// matches, each split 90/10 between two subsets, plus the DestinationRule defining them.
pub fn generated(routes: usize) -> String {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big, namespace: default}\nspec:\n  hosts: [big]\n  http:\n",
    );
    for i in 0..routes {
        let matcher = match i % 4 {
            0 => format!("uri: {{prefix: /api/v{i}/}}"),
            1 => format!("headers: {{x-user: {{exact: user-{i}}}}}"),
            2 => format!("uri: {{regex: \"/items/[0-9]+/r{i}\"}}"),
            _ => format!("queryParams: {{name: {{exact: n{i}}}}}"),
        };
        text.push_str(&format!(
            "  - name: r{i}\n    match:\n    - {matcher}\n    timeout: 1.5s\n    route:\n    - destination: {{host: big, subset: v1}}\n      weight: 90\n    - destination: {{host: big, subset: v2}}\n      weight: 10\n"
        ));
    }
    text.push_str("  - route:\n    - destination: {host: big, subset: v1}\n");
    text.push_str("---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: big, namespace: default}\nspec:\n  host: big\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}\n");
    text
}

fn bench(c: &mut Criterion, name: &str, text: &str) {
    let options = LoadOptions::default();
    let mut group = c.benchmark_group(name);
    group.sample_size(20);
    group.bench_function("parse_only (baseline)", |b| {
        b.iter(|| {
            let docs: Vec<serde_json::Value> =
                serde_saphyr::from_multiple(black_box(text)).unwrap_or_default();
            black_box(docs)
        })
    });
    group.bench_function("load", |b| {
        b.iter(|| black_box(meshroute::from_str(black_box(text), &options)))
    });
    let loaded = meshroute::from_str(text, &options);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    group.bench_function("check", |b| {
        b.iter(|| black_box(meshroute::check(black_box(&loaded.resources))))
    });
    group.bench_function("load+compile", |b| {
        b.iter(|| {
            let loaded = meshroute::from_str(black_box(text), &options);
            black_box(meshroute::compile(loaded.resources).is_ok())
        })
    });
    group.finish();
}

fn compile_benches(c: &mut Criterion) {
    bench(c, "compile/seed", &seed_text());
    bench(c, "compile/5000_routes", &generated(5_000));
}

criterion_group!(benches, compile_benches);
criterion_main!(benches);
