//! The complete test file of docs/testing-routing.md, exactly as the guide shows it (tests/docs.rs
//! checks that the two stay identical): routing tests for the seed scenario as a user writes them
//! in their own crate's `tests/` folder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use meshroute::Source;
use meshroute::sim::{SimRequest, Simulation};

/// The manifests under test. In your crate, load the files you deploy instead, e.g.
/// `Simulation::load(["k8s/"])`.
const CANARY: &str = r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: demo-gateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: demo, namespace: default}
spec:
  hosts: ["*"]
  gateways: [demo-gateway]
  http:
  - match: [{uri: {exact: /greet}}]
    route: [{destination: {host: svc-a, port: {number: 8080}}}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: default}
spec:
  selector: {app: demo-b}
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-b, namespace: default}
spec:
  host: svc-b
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b, namespace: default}
spec:
  hosts: [svc-b]
  http:
  - match: [{queryParams: {name: {exact: xx}}}]
    route: [{destination: {host: svc-b, subset: v2}}]
  - route: [{destination: {host: svc-b, subset: v1}}]
"#;

/// The weighted rollout: 5% of svc-b's traffic to v1, 95% to v2.
const WEIGHTED: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: default}
spec:
  selector: {app: demo-b}
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-b, namespace: default}
spec:
  host: svc-b
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b, namespace: default}
spec:
  hosts: [svc-b]
  http:
  - route:
    - {destination: {host: svc-b, subset: v1}, weight: 5}
    - {destination: {host: svc-b, subset: v2}, weight: 95}
"#;

#[test]
fn testers_reach_the_canary() {
    let sim = Simulation::from_yaml(CANARY).expect("the manifests are valid");
    // svc-a's sidecar calling svc-b with the tester's flag.
    let request = SimRequest::get("http://svc-b:8080/greet?name=xx").from_sidecar("default");
    sim.assert_routes_to(&request, "v2");
}

#[test]
fn everyone_else_stays_on_v1() {
    let sim = Simulation::from_yaml(CANARY).unwrap();
    for url in ["http://svc-b:8080/greet?name=yy", "http://svc-b:8080/greet"] {
        sim.assert_routes_to(&SimRequest::get(url).from_sidecar("default"), "v1");
    }
}

#[test]
fn the_flag_survives_both_hops() {
    let sim = Simulation::from_yaml(CANARY).unwrap();
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
    let sim = Simulation::from_yaml(WEIGHTED).unwrap();
    let request = SimRequest::get("http://svc-b:8080/greet").from_sidecar("default");
    sim.assert_share(&request, "v1", 0.05, 0.01);
    sim.assert_share(&request, "v2", 0.95, 0.01);
}
