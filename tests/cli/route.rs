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

/// `--gateway` takes the listener port from the request URL (model/gateway.go: one route
/// configuration per server port): the seed gateway listens on 80 only, so port 8080 is a 404,
/// and `--explain` says why.
#[test]
fn route_through_the_gateway_uses_the_url_port() {
    let run = |url: &str| {
        let request = format!("GET {url}");
        let out = meshroute(
            &[
                "route",
                "examples/seed/",
                "--request",
                &request,
                "--gateway",
                "demo-gateway",
                "--explain",
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let text = run("http://localhost:80/greet");
    assert!(
        text.contains("destination: svc-a.default.svc.cluster.local port 8080"),
        "{text}"
    );
    let text = run("http://localhost:8080/greet");
    assert!(
        text.contains("port 8080: no server listens on port 8080 (servers listen on 80)"),
        "{text}"
    );
    assert!(
        text.contains("no route (Envoy answers 404, flag NR)"),
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

/// `--mesh-config` takes Istio's MeshConfig (the `mesh` key of the `istio` ConfigMap, or the
/// ConfigMap itself): `outboundTrafficPolicy: REGISTRY_ONLY` sends a host outside the registry to
/// the BlackHole (sidecar.go: MeshConfig's policy where no Sidecar sets one).
#[test]
fn route_with_a_mesh_config_file() {
    let dir = std::env::temp_dir().join(format!("meshroute-mesh-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bare = dir.join("mesh.yaml");
    std::fs::write(&bare, "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n").unwrap();
    let map = dir.join("istio-configmap.yaml");
    std::fs::write(
        &map,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n",
    )
    .unwrap();
    for file in [&bare, &map] {
        let out = meshroute(
            &[
                "route",
                "examples/seed/demo.yaml",
                "--request",
                "GET http://www.example.com/",
                "--mesh-config",
                file.to_str().unwrap(),
                "--json",
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(d["action"], "blackHole", "{}", file.display());
        assert_eq!(d["localStatus"], 502);
    }
    // Without it, Istio's default ALLOW_ANY passes the call through.
    let out = meshroute(
        &[
            "route",
            "examples/seed/demo.yaml",
            "--request",
            "GET http://www.example.com/",
            "--json",
        ],
        None,
    );
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["action"], "noVirtualService");
    // A broken MeshConfig is a configuration error (exit 1) that names the file and field.
    std::fs::write(&bare, "rootNamespace: [x]\n").unwrap();
    let out = meshroute(
        &[
            "route",
            "examples/seed/demo.yaml",
            "--request",
            "GET http://www.example.com/",
            "--mesh-config",
            bare.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("rootNamespace"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--source-labels` picks the workload-selecting Sidecar (push_context.go `getSidecarScope`).
#[test]
fn route_source_labels_select_the_sidecar() {
    let yaml = "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: locked, namespace: default}\nspec:\n  workloadSelector: {labels: {app: demo-a}}\n  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n";
    let run = |labels: &str| {
        let out = meshroute(
            &[
                "route",
                "examples/seed/demo.yaml",
                "-",
                "--request",
                "GET http://www.example.com/",
                "--source-labels",
                labels,
                "--json",
            ],
            Some(yaml),
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        d["action"].as_str().unwrap().to_owned()
    };
    assert_eq!(run("app=demo-a,version=v1"), "blackHole");
    assert_eq!(run("app=demo-b"), "noVirtualService");
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

/// `route` refuses a configuration with an unknown field (exit 1, the error on stderr) and
/// routes with `--allow-unknown-fields`.
#[test]
fn route_refuses_unknown_fields_unless_allowed() {
    let args = |allow: bool| {
        let mut args = vec!["route", "-", "--request", "GET http://svc-b/"];
        if allow {
            args.push("--allow-unknown-fields");
        }
        meshroute(&args, Some(&fixture("unknown-field")))
    };
    let out = args(false);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("spec.http[0].match[0].queryParam: unknown field"),
        "{}",
        stderr(&out)
    );
    let out = args(true);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("route\n"), "{}", stdout(&out));
}

/// `route` prints the configuration's warnings to stderr, one line each, exactly as `check`
/// prints them, then the decision on stdout: on the seed folder, the two redefinitions.
#[test]
fn route_prints_the_configuration_warnings_first() {
    let out = meshroute(
        &[
            "route",
            "examples/seed/",
            "--request",
            "GET http://svc-b:8080/greet?name=xx",
            "--seed",
            "1",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("route\n"), "{}", stdout(&out));
    let warnings: Vec<String> = stderr(&out).lines().map(str::to_owned).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    let check = stdout(&meshroute(&["check", "examples/seed/"], None));
    for line in &warnings {
        assert!(
            line.contains(": warning: ") && line.contains("defined again"),
            "{line}"
        );
        assert!(check.lines().any(|l| l == line), "{line} not in\n{check}");
    }
    // An allowed unknown field, and IST0101 (an error to istioctl that does not refuse the
    // configuration), are printed too.
    let yaml = fixture("unknown-field").replace("host: svc-b}", "host: svc-b, subset: v9}");
    let out = meshroute(
        &[
            "route",
            "-",
            "--request",
            "GET http://svc-b/",
            "--allow-unknown-fields",
        ],
        Some(&yaml),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("-:10: warning: VirtualService default/svc-b: spec.http[0].match[0].queryParam: unknown field"),
        "{text}"
    );
    assert!(text.contains(": error[IST0101]: "), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
}

/// `--gateway` naming a Gateway the configuration does not have is a bad request (exit 2, like a
/// bad `--request`), not a 404: Istio has no such gateway to receive the request.
#[test]
fn route_unknown_gateway_exits_2() {
    for gateway in ["nope", "other/demo-gateway"] {
        let out = meshroute(
            &[
                "route",
                "examples/seed/",
                "--gateway",
                gateway,
                "--request",
                "GET http://demo.example.com/greet",
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        let qualified = if gateway.contains('/') {
            gateway.to_owned()
        } else {
            format!("default/{gateway}")
        };
        assert_eq!(
            stderr(&out).trim(),
            format!(
                "meshroute: unknown gateway \"{qualified}\": the configuration has no Gateway of that namespace and name"
            )
        );
    }
    // The seed's Gateway, by bare name (in --namespace) or namespace/name.
    for gateway in ["demo-gateway", "default/demo-gateway"] {
        let out = meshroute(
            &[
                "route",
                "examples/seed/",
                "--gateway",
                gateway,
                "--request",
                "GET http://demo.example.com/greet",
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
}
