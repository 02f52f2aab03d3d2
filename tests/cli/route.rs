//! `meshroute route`: one decision, as JSON or text, replayable with `--seed`, and its exit
//! status on bad requests and bad configurations.

use crate::common::{fixture, meshroute, stderr, stdout};

#[test]
fn route_seed_name_xx_goes_to_v2() {
    let out = meshroute(
        &[
            "route",
            "examples/seed/demo.yaml",
            "examples/seed/destination-rule-svc-b-canary.yaml",
            "--request",
            "GET http://svc-b:8080/greet?name=xx",
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["action"], "route");
    assert_eq!(d["virtualService"], "default/svc-b");
    assert_eq!(d["route"]["index"], 0);
    assert_eq!(d["match"]["index"], 0);
    assert_eq!(d["destination"]["host"], "svc-b.default.svc.cluster.local");
    assert_eq!(d["destination"]["subset"], "v2");
    assert_eq!(d["destination"]["port"], 8080);
    for key in [
        "endpoint",
        "redirect",
        "directResponse",
        "headers",
        "rewrite",
        "timeout",
        "retries",
        "fault",
        "mirrors",
    ] {
        assert!(d.get(key).is_some(), "missing key {key}");
    }
}

#[test]
fn route_through_the_gateway_and_readable_output() {
    let out = meshroute(
        &[
            "route",
            "examples/seed/",
            "--request",
            "GET http://localhost/greet?name=xx",
            "--gateway",
            "demo-gateway",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("route\n"), "{text}");
    assert!(
        text.contains("virtual service: default/demo, http route #0, match #0"),
        "{text}"
    );
    assert!(
        text.contains("destination: svc-a.default.svc.cluster.local port 8080"),
        "{text}"
    );
}

#[test]
fn route_same_seed_same_weighted_choice() {
    let args = |seed: &'static str| {
        [
            "route",
            "examples/seed/destination-rule-svc-b-weighted.yaml",
            "--request",
            "GET http://svc-b/x",
            "--seed",
            seed,
            "--json",
        ]
    };
    for seed in ["1", "2", "3", "4"] {
        let a = meshroute(&args(seed), None);
        let b = meshroute(&args(seed), None);
        assert_eq!(a.stdout, b.stdout);
    }
}

#[test]
fn route_bad_request_exits_2_and_bad_config_exits_1() {
    let out = meshroute(
        &["route", "examples/seed/", "--request", "GET /relative"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("must be absolute"));
    let out = meshroute(
        &["route", "-", "--request", "GET http://svc-b/"],
        Some(&fixture("negative-weight")),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("weight -1 < 0"));
}

/// `--request 'tcp://host:port'` decides a connection with the `tcp` rules; the JSON is the
/// decision JSON with `route.kind` `tcp` (see `tests/route/tcp_tls.rs` for the rules).
#[test]
fn route_tcp_connection_reports_the_rule_list() {
    let out = meshroute(
        &[
            "route",
            "examples/streams/",
            "--request",
            "tcp://db:5432",
            "--source-labels",
            "app=reporting",
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["action"], "route");
    assert_eq!(d["virtualService"], "default/db");
    assert_eq!(d["route"]["kind"], "tcp");
    assert_eq!(d["route"]["index"], 0);
    assert_eq!(d["destination"]["subset"], "replica");
    assert_eq!(d["destination"]["port"], 5432);
    assert_eq!(d["retries"], serde_json::Value::Null);
}

/// `--request 'tls://sni:port'`: the `tls` rules by SNI, in text; an HTTP decision's JSON says
/// `kind` `http`.
#[test]
fn route_tls_connection_and_http_kind() {
    let out = meshroute(
        &[
            "route",
            "examples/streams/",
            "--request",
            "tls://api.example.com:443",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("virtual service: default/example, tls route #0, match #0"),
        "{text}"
    );
    assert!(
        text.contains("destination: egress-proxy.internal port 443"),
        "{text}"
    );
    let out = meshroute(
        &[
            "route",
            "examples/seed/",
            "--request",
            "GET http://svc-b:8080/",
            "--json",
        ],
        None,
    );
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["route"]["kind"], "http");
}

/// A connection URL needs a port; `-H` and `--destination-ip` go with the right kind only.
#[test]
fn route_connection_usage_errors_exit_2() {
    for args in [
        &["route", "examples/streams/", "--request", "tcp://db"][..],
        &[
            "route",
            "examples/streams/",
            "--request",
            "tcp://db:5432",
            "-H",
            "x: y",
        ][..],
        &[
            "route",
            "examples/streams/",
            "--request",
            "GET http://db:5432/",
            "--destination-ip",
            "10.0.0.1",
        ][..],
    ] {
        let out = meshroute(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = meshroute(
        &[
            "route",
            "examples/streams/",
            "--request",
            "tcp://db:5432",
            "--destination-ip",
            "10.0.0.1",
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
