//! Load + validate cost, for the seed files, a generated 5,000-route configuration and 20
//! namespaces of 100 Services each.
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

/// `namespaces` namespaces of `services` Services each (one port), each namespace with one
/// VirtualService: without a `Sidecar`, every namespace's scope sees every service, so this
/// shows what scopes cost as namespaces grow (`compile/scopes.rs` shares what they build
/// alike).
pub fn namespaces(namespaces: usize, services: usize) -> String {
    namespaces_exporting(namespaces, services, "")
}

/// [`namespaces`] with each VirtualService's `exportTo` line (`""`: none, public).
pub fn namespaces_exporting(namespaces: usize, services: usize, export_to: &str) -> String {
    let mut text = String::new();
    for n in 0..namespaces {
        for s in 0..services {
            text.push_str(&format!(
                "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc{s}, namespace: ns{n}}}\nspec: {{selector: {{app: svc{s}}}, ports: [{{name: http, port: 8080}}]}}\n"
            ));
        }
        text.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: vs0, namespace: ns{n}}}\nspec:\n  hosts: [svc0]\n{export_to}  http: [{{route: [{{destination: {{host: svc0}}}}]}}]\n"
        ));
    }
    text
}

/// `services` Services in `default`, one VirtualService exported to `services` namespaces by
/// name, each of which keeps a DestinationRule of its own (`exportTo: ["."]`) for one of the
/// Services: every namespace's scope sees every Service, and one rule of its own.
pub fn rule_per_namespace(services: usize) -> String {
    let mut text = String::new();
    for s in 0..services {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc{s}, namespace: default}}\nspec: {{selector: {{app: svc{s}}}, ports: [{{name: http, port: 8080}}]}}\n"
        ));
    }
    let names: Vec<String> = (0..services).map(|n| format!("n{n}")).collect();
    text.push_str(&format!(
        "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: vs0, namespace: default}}\nspec:\n  hosts: [svc0]\n  exportTo: [{}]\n  http: [{{route: [{{destination: {{host: svc0}}}}]}}]\n",
        names.join(", ")
    ));
    for n in 0..services {
        text.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: dr, namespace: n{n}}}\nspec:\n  host: svc{n}.default.svc.cluster.local\n  exportTo: [\".\"]\n  trafficPolicy: {{loadBalancer: {{simple: RANDOM}}}}\n"
        ));
    }
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
    bench(
        c,
        "compile/20_namespaces_x_100_services",
        &namespaces(20, 100),
    );
    bench(
        c,
        "compile/20_namespaces_x_100_services_private_virtual_services",
        &namespaces_exporting(20, 100, "  exportTo: [\".\"]\n"),
    );
    bench(
        c,
        "compile/300_namespaces_each_with_a_rule",
        &rule_per_namespace(300),
    );
}

criterion_group!(benches, compile_benches);
criterion_main!(benches);
