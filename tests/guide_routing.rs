//! The example of docs/testing-routing.md: routing tests for the seed scenario, as a user
//! writes them in their own crate's `tests/` folder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use meshroute::Source;
use meshroute::sim::{SimRequest, Simulation};

/// The manifests the cluster gets, loaded as they are.
fn canary() -> Simulation {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed");
    Simulation::load([
        format!("{seed}/demo.yaml"),
        format!("{seed}/demo-gateway.yaml"),
        format!("{seed}/destination-rule-svc-b-canary.yaml"),
    ])
    .expect("the manifests are valid")
}

#[test]
fn testers_reach_the_canary() {
    let sim = canary();
    // svc-a's sidecar calling svc-b with the tester's flag.
    let request = SimRequest::get("http://svc-b:8080/greet?name=xx").from_sidecar("default");
    sim.assert_routes_to(&request, "v2");
}

#[test]
fn everyone_else_stays_on_v1() {
    let sim = canary();
    for url in ["http://svc-b:8080/greet?name=yy", "http://svc-b:8080/greet"] {
        sim.assert_routes_to(&SimRequest::get(url).from_sidecar("default"), "v1");
    }
}

#[test]
fn the_flag_survives_both_hops() {
    let sim = canary();
    let hops = sim
        .chain(SimRequest::get("http://localhost/greet?name=xx").from_gateway("demo-gateway"))
        .then(
            "http://svc-b:8080/greet",
            Source::sidecar("default").with_labels([("app", "demo-a"), ("version", "v1")]),
        )
        .run(1)
        .expect("valid requests");
    let first = hops[0].decision.destination.as_ref().unwrap();
    assert_eq!(first.host, "svc-a.default.svc.cluster.local");
    let second = hops[1].decision.destination.as_ref().unwrap();
    assert_eq!(
        second.subset.as_deref(),
        Some("v2"),
        "{}",
        hops[1].explanation
    );
}

#[test]
fn the_weighted_rollout_sends_five_percent_to_v1() {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed");
    let sim = Simulation::load([
        format!("{seed}/demo.yaml"),
        format!("{seed}/destination-rule-svc-b-weighted.yaml"),
    ])
    .unwrap();
    let request = SimRequest::get("http://svc-b:8080/greet").from_sidecar("default");
    sim.assert_share(&request, "v1", 0.05, 0.01);
    sim.assert_share(&request, "v2", 0.95, 0.01);
}
