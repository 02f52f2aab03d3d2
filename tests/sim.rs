//! The simulation harness (`meshroute::sim`) on the seed scenario: call chains with and without
//! propagation, the routing assertions, request lines, distributions and errors. The `meshroute
//! simulate` command built on it is tested with the other commands, in `tests/cli/`.
#![cfg(feature = "yaml")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use meshroute::Source;
use meshroute::sim::{SimError, SimRequest, Simulation};
use serde_json::Value;

use common::{CANARY, seed_file};

/// A report as JSON, as the CLI prints it.
fn json(report: &impl serde::Serialize) -> Value {
    serde_json::to_value(report).unwrap()
}

/// The weighted variant of the seed scenario, with the gateway.
const WEIGHTED: [&str; 3] = [
    "demo.yaml",
    "demo-gateway.yaml",
    "destination-rule-svc-b-weighted.yaml",
];

/// A simulation of seed files.
fn seed(files: [&str; 3]) -> Simulation {
    Simulation::load(files.map(seed_file)).unwrap()
}

fn svc_a() -> Source {
    Source::sidecar("default").with_labels([("app", "demo-a"), ("version", "v1")])
}

fn gateway_request() -> SimRequest {
    SimRequest::get("http://demo.example.com/greet?name=xx").from_gateway("default/demo-gateway")
}

#[test]
fn call_chain_carries_the_flag_from_the_gateway_to_svc_b() {
    let sim = seed(CANARY);
    let hops = sim
        .chain(gateway_request())
        .then("http://svc-b:8080/greet", svc_a())
        .run(0)
        .unwrap();
    assert_eq!(hops.len(), 2);
    assert_eq!(
        json(&hops[0].decision)["destination"]["host"],
        "svc-a.default.svc.cluster.local"
    );
    assert_eq!(json(&hops[0].decision)["virtualService"], "default/demo");
    assert_eq!(hops[1].url, "http://svc-b:8080/greet?name=xx");
    assert_eq!(json(&hops[1].decision)["destination"]["subset"], "v2");
    assert!(
        hops[1].explanation.to_string().contains("MATCHED"),
        "{}",
        hops[1].explanation
    );
}

#[test]
fn call_chain_without_propagation_loses_the_flag() {
    let sim = seed(CANARY);
    let hops = sim
        .chain(gateway_request())
        .then("http://svc-b:8080/greet", svc_a())
        .without_propagation()
        .run(0)
        .unwrap();
    assert_eq!(hops[1].url, "http://svc-b:8080/greet");
    assert_eq!(json(&hops[1].decision)["destination"]["subset"], "v1");
    let trace = hops[1].explanation.to_string();
    assert!(trace.contains("queryParams.name: absent"), "{trace}");
}

#[test]
fn call_chain_propagates_matched_headers() {
    let yaml = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b}
spec:
  hosts: [svc-b]
  http:
  - match: [{headers: {x-user: {exact: tester}}}]
    route: [{destination: {host: svc-b, subset: v2}}]
  - route: [{destination: {host: svc-b, subset: v1}}]
";
    let sim = Simulation::from_yaml(yaml).unwrap();
    let first = SimRequest::get("http://svc-a:8080/").header("x-user", "tester");
    let hops = sim
        .chain(first)
        .then("http://svc-b/", svc_a())
        .run(3)
        .unwrap();
    assert!(
        hops[1]
            .headers
            .contains(&("x-user".to_owned(), "tester".to_owned()))
    );
    assert_eq!(json(&hops[1].decision)["destination"]["subset"], "v2");
}

#[test]
fn assertions_pass_on_the_seed() {
    let sim = seed(CANARY);
    sim.assert_routes_to(&SimRequest::get("http://svc-b:8080/greet?name=xx"), "v2");
    sim.assert_routes_to(&SimRequest::get("http://svc-b:8080/greet?name=yy"), "v1");
    sim.assert_routes_to(&gateway_request(), "svc-a.default.svc.cluster.local");
    let weighted = seed(WEIGHTED);
    let request = SimRequest::get("http://svc-b:8080/greet");
    weighted.assert_share(&request, "v2", 0.95, 0.01);
    weighted.assert_share(&request, "v1", 0.05, 0.01);
    weighted.assert_share(&request, "svc-b.default.svc.cluster.local", 1.0, 0.0);
}

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("the assertion should fail");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap()
}

#[test]
fn failing_assertions_explain_why() {
    let sim = seed(CANARY);
    let message = panic_message(|| {
        sim.assert_routes_to(&SimRequest::get("http://svc-b:8080/greet"), "v2");
    });
    assert!(
        message.contains("expected GET http://svc-b:8080/greet"),
        "{message}"
    );
    assert!(message.contains("queryParams.name: absent"), "{message}");
    assert!(
        message.contains("VirtualService default/svc-b"),
        "{message}"
    );

    let weighted = seed(WEIGHTED);
    let message = panic_message(|| {
        weighted.assert_share(&SimRequest::get("http://svc-b:8080/greet"), "v2", 0.5, 0.01);
    });
    assert!(message.contains("\"total\":10000"), "{message}");
    assert!(
        message.contains("VirtualService default/svc-b"),
        "{message}"
    );
}

#[test]
fn request_lines_parse() {
    let full = SimRequest::from_json_line(
        r#"{"method":"POST","url":"http://svc-b:8080/greet?name=xx","headers":{"x-user":"a"},"gateway":null,"sourceLabels":{"app":"demo-a"},"sourceNamespace":"team","sourceIp":"10.0.0.1"}"#,
    )
    .unwrap();
    assert_eq!(full.method(), "POST");
    assert_eq!(full.url(), "http://svc-b:8080/greet?name=xx");
    assert_eq!(full.headers(), &[("x-user".to_owned(), "a".to_owned())]);
    let source = full.source();
    assert_eq!(source.namespace(), "team");
    assert_eq!(source.gateway_name(), None);
    assert_eq!(source.labels()["app"], "demo-a");
    assert_eq!(source.ip(), Some("10.0.0.1".parse().unwrap()));

    let minimal = SimRequest::from_json_line(r#"{"url":"http://svc-b/"}"#).unwrap();
    assert_eq!(minimal, SimRequest::get("http://svc-b/"));
    assert_eq!(minimal.source(), Source::sidecar("default"));

    let gateway =
        SimRequest::from_json_line(r#"{"url":"http://x/","gateway":"demo-gateway"}"#).unwrap();
    assert_eq!(
        gateway.source().gateway_name(),
        Some("default/demo-gateway")
    );
    let gateway =
        SimRequest::from_json_line_in(r#"{"url":"http://x/","gateway":"demo-gateway"}"#, "edge")
            .unwrap();
    assert_eq!(gateway.source().gateway_name(), Some("edge/demo-gateway"));

    for (line, wanted) in [
        ("", "invalid JSON"),
        ("[]", "JSON object"),
        (r#"{"method":"GET"}"#, "missing \"url\""),
        (r#"{"url":"/greet"}"#, "must be absolute"),
        (r#"{"url":1}"#, "must be a string"),
        (
            r#"{"url":"http://x/","headers":{"a":1}}"#,
            "headers.a must be a string",
        ),
        (
            r#"{"url":"http://x/","sourceIp":"nope"}"#,
            "invalid \"sourceIp\"",
        ),
        (
            r#"{"url":"http://x/","header":{}}"#,
            "unknown key \"header\"",
        ),
    ] {
        let error = SimRequest::from_json_line(line).unwrap_err();
        assert!(error.to_string().contains(wanted), "{line}: {error}");
    }
}

#[test]
fn distribution_json_has_the_design_shape() {
    let sim = seed(WEIGHTED);
    let request = SimRequest::get("http://svc-b:8080/greet");
    let distribution = sim.distribution(&request, 1000, 7).unwrap();
    assert_eq!(distribution, sim.distribution(&request, 1000, 7).unwrap());
    let json = json(&distribution);
    assert_eq!(json["total"], 1000);
    let destinations = json["destinations"].as_array().unwrap();
    assert_eq!(destinations.len(), 2);
    for (d, subset) in destinations.iter().zip(["v1", "v2"]) {
        let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["count", "host", "port", "subset"]);
        assert_eq!(d["host"], "svc-b.default.svc.cluster.local");
        assert_eq!(d["subset"], subset);
        assert_eq!(d["port"], 8080);
    }
    let sum: u64 = destinations
        .iter()
        .map(|d| d["count"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 1000);
    let endpoints = json["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2);
    let sum: u64 = endpoints.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(sum, 1000);
    assert!(endpoints[0]["address"].as_str().unwrap() < endpoints[1]["address"].as_str().unwrap());
    assert!((distribution.share("v1") + distribution.share("v2") - 1.0).abs() < 1e-9);
}

#[test]
fn decide_and_explain_agree() {
    let sim = seed(CANARY);
    let request = SimRequest::get("http://svc-b:8080/greet?name=xx");
    let decision = json(&sim.decide(&request, 0).unwrap());
    assert_eq!(decision["action"], "route");
    assert_eq!(decision["virtualService"], "default/svc-b");
    assert!(decision["endpoint"]["address"].is_string());
    let explanation = sim.explain(&request, 0).unwrap();
    assert!(explanation.summary.contains("subset v2"), "{explanation}");
    let error = sim.decide(&SimRequest::get("/relative"), 0).unwrap_err();
    assert!(error.to_string().contains("absolute"), "{error}");
}

#[test]
fn invalid_configuration_lists_every_error() {
    let yaml = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b}
spec:
  hosts: [svc-b]
  http:
  - route:
    - destination: {host: svc-b, subset: v1}
      weight: -1
    - destination: {host: svc-b, subset: v2}
      weight: -2
";
    let error = Simulation::from_yaml(yaml).unwrap_err();
    assert!(matches!(error, SimError::Invalid(_)));
    assert_eq!(error.diagnostics().len(), 2);
    let text = error.to_string();
    assert!(text.contains("spec.http[0].route[0].weight"), "{text}");
    assert!(text.contains("spec.http[0].route[1].weight"), "{text}");
    let missing = Simulation::load(["/nonexistent/meshroute"]).unwrap_err();
    assert!(missing.diagnostics().is_empty());
    assert!(missing.to_string().contains("cannot read"), "{missing}");
}

/// `tcp://` and `tls://` URLs are connections: `Simulation::decide` and `distribution` decide
/// them with the `tcp` and `tls` rules, and `SimRequest::build` refuses to make them HTTP.
#[test]
fn connection_urls_are_decided_as_connections() {
    let sim = Simulation::from_yaml(
        "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.internal]
  addresses: [192.168.7.7]
  resolution: STATIC
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db.internal]
  tcp:
  - match: [{destinationSubnets: [10.0.0.0/8]}]
    route: [{destination: {host: other.internal, port: {number: 5432}}}]
  - route:
    - {destination: {host: db.internal}, weight: 3}
    - {destination: {host: db.internal, port: {number: 6432}}, weight: 1}
",
    )
    .unwrap();
    let request = SimRequest::get("tcp://db.internal:5432");
    assert!(request.build().is_err());
    let report = sim.decide(&request, 0).unwrap();
    assert_eq!(report.route.unwrap().kind, "tcp");
    let to_subnet =
        SimRequest::get("tcp://db.internal:5432").destination_ip("10.1.1.1".parse().unwrap());
    let report = sim.decide(&to_subnet, 0).unwrap();
    assert_eq!(report.route.unwrap().index, 0);
    let distribution = sim.distribution(&request, 4000, 1).unwrap();
    let counts: Vec<u64> = distribution.destinations.iter().map(|d| d.count).collect();
    assert_eq!(counts.iter().sum::<u64>(), 4000);
    assert!((2_800..3_200).contains(&counts[0]), "{counts:?}");
    assert_eq!(
        SimRequest::get("tls://api.example.com:443").to_string(),
        "tls://api.example.com:443 from a sidecar in default"
    );
    assert!(
        SimRequest::get("tcp://db.internal")
            .connection()
            .unwrap()
            .is_err()
    );
}

/// A request from a gateway the configuration does not define cannot be simulated: `decide`,
/// `explain`, `distribution` and call chains return an `InvalidRequest` naming it (the CLI exits
/// 2), where `Mesh::route` alone would answer 404 (see `Mesh::has_gateway`).
#[test]
fn unknown_gateway_is_an_invalid_request() {
    let sim = seed(CANARY);
    assert!(sim.mesh().has_gateway("default/demo-gateway"));
    assert!(!sim.mesh().has_gateway("default/nope"));
    let request = SimRequest::get("http://demo.example.com/greet").from_gateway("nope");
    let message = "unknown gateway \"default/nope\": the configuration has no Gateway of that namespace and name";
    assert_eq!(sim.decide(&request, 0).unwrap_err().to_string(), message);
    assert_eq!(sim.explain(&request, 0).unwrap_err().to_string(), message);
    assert_eq!(
        sim.distribution(&request, 10, 0).unwrap_err().to_string(),
        message
    );
    assert_eq!(sim.chain(request).run(0).unwrap_err().to_string(), message);
    // A later hop sent by an unknown gateway fails the chain before anything is decided.
    let hop = sim
        .chain(gateway_request())
        .then("http://svc-b:8080/greet", Source::gateway("infra/edge"))
        .run(0);
    assert_eq!(
        hop.unwrap_err().to_string(),
        "unknown gateway \"infra/edge\": the configuration has no Gateway of that namespace and name"
    );
    assert!(sim.decide(&gateway_request(), 0).is_ok());
}
