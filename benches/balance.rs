//! Endpoint pick cost per load-balancing policy, as users feel it: one `Mesh::route_with` call
//! on a host with 10, 100 or 1,000 endpoints, for each policy a DestinationRule can choose.
//! Baselines measured in the same run: the same decision on a host whose endpoints are unknown
//! (no pick at all), and naive modulo hashing (`xxhash64(key) % n`). Read the pick cost as the
//! difference to the first baseline, and every figure as a multiple of the baselines.
//!
//! Builds: replacing 100 endpoints (`Mesh::set_endpoints`) and picking once under Maglev
//! (65,537 slots) and ring hash (1,024 entries), whose first pick builds the table, against the
//! same under `RANDOM` (which builds no table); and Maglev over 1,000 endpoints of which one
//! weighs 100,000 times the others, the case Envoy's fill loop makes slow.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use meshroute::{Endpoint, FastRng, LoadOptions, Mesh, Source};

const HOST: &str = "svc.example.com";

/// A ServiceEntry for [`HOST`] and a DestinationRule with `traffic_policy` (a YAML flow
/// mapping), plus a ServiceEntry for `unknown.example.com` whose endpoints are never known.
fn mesh(traffic_policy: &str) -> Mesh {
    let yaml = format!(
        r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: svc, namespace: default}}
spec:
  hosts: [{HOST}]
  ports: [{{number: 8080, name: http, protocol: HTTP}}]
  resolution: STATIC
  endpoints: [{{address: 10.0.0.1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc, namespace: default}}
spec:
  host: {HOST}
  trafficPolicy: {traffic_policy}
"#
    );
    let loaded = meshroute::from_str(&yaml, &LoadOptions::default());
    meshroute::compile(loaded.resources).unwrap()
}

fn endpoints(n: usize, weighted: bool) -> Vec<Endpoint> {
    (0..n)
        .map(|i| {
            let ip = IpAddr::V4(Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250 + 1) as u8));
            let weight = if weighted { (i % 3 + 1) as u32 } else { 1 };
            Endpoint::new(ip, 8080).with_weight(weight)
        })
        .collect()
}

fn request(host: &str) -> http::Request<()> {
    http::Request::get(format!("http://{host}:8080/"))
        .header("x-user", "alice")
        .body(())
        .unwrap()
}

const POLICIES: [(&str, &str, bool); 7] = [
    ("random", "{loadBalancer: {simple: RANDOM}}", false),
    (
        "round_robin",
        "{loadBalancer: {simple: ROUND_ROBIN}}",
        false,
    ),
    (
        "round_robin weighted (EDF)",
        "{loadBalancer: {simple: ROUND_ROBIN}}",
        true,
    ),
    (
        "least_request P2C",
        "{loadBalancer: {simple: LEAST_REQUEST}}",
        false,
    ),
    (
        "least_request weighted (EDF)",
        "{loadBalancer: {simple: LEAST_REQUEST}}",
        true,
    ),
    (
        "ring_hash by header",
        "{loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 1024}}}}",
        false,
    ),
    (
        "maglev by header",
        "{loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 65537}}}}",
        false,
    ),
];

fn picks(c: &mut Criterion) {
    let mut group = c.benchmark_group("balance/pick");
    let source = Source::sidecar("default");
    for n in [10usize, 100, 1000] {
        let mut rng = FastRng::from_seed(1);
        group.bench_with_input(
            BenchmarkId::new("modulo hash (baseline)", n),
            &n,
            |b, &n| {
                b.iter(|| black_box(xxhash_rust::xxh64::xxh64(black_box(b"alice"), 0) % n as u64))
            },
        );
        let unknown = mesh("{loadBalancer: {simple: RANDOM}}");
        let no_pick = request("unknown.example.com");
        group.bench_with_input(
            BenchmarkId::new("decision without a pick (baseline)", n),
            &n,
            |b, _| b.iter(|| black_box(unknown.route_with(&no_pick, &source, &mut rng).outcome())),
        );
        for (name, policy, weighted) in POLICIES {
            let m = mesh(policy);
            m.set_endpoints(HOST, 8080, &endpoints(n, weighted))
                .unwrap();
            let request = request(HOST);
            assert!(
                m.route_with(&request, &source, &mut rng)
                    .endpoint()
                    .is_some()
            );
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| {
                    let decision = m.route_with(black_box(&request), &source, &mut rng);
                    black_box(decision.endpoint().map(|e| e.port))
                })
            });
        }
    }
    group.finish();
}

fn builds(c: &mut Criterion) {
    let mut group = c.benchmark_group("balance/build");
    group.sample_size(20);
    let source = Source::sidecar("default");
    let request = request(HOST);
    let mut rng = FastRng::from_seed(1);
    let hundred = endpoints(100, false);
    let mut skewed = endpoints(1000, false);
    if let Some(heavy) = skewed.first_mut() {
        heavy.weight = 100_000;
    }
    let maglev =
        "{loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 65537}}}}";
    for (name, policy, endpoints) in [
        (
            "replace 100 endpoints and pick, RANDOM (baseline)",
            "{loadBalancer: {simple: RANDOM}}",
            &hundred,
        ),
        (
            "replace 100 endpoints and pick, maglev 65537 slots",
            maglev,
            &hundred,
        ),
        (
            "replace 100 endpoints and pick, ring 1024 entries",
            "{loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 1024}}}}",
            &hundred,
        ),
        (
            "replace 1000 endpoints (one 100000x heavier) and pick, maglev 65537 slots",
            maglev,
            &skewed,
        ),
    ] {
        let m = mesh(policy);
        group.bench_function(name, |b| {
            b.iter(|| {
                m.set_endpoints(HOST, 8080, black_box(endpoints)).unwrap();
                let decision = m.route_with(&request, &source, &mut rng);
                black_box(decision.endpoint().map(|e| e.port))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, picks, builds);
criterion_main!(benches);
