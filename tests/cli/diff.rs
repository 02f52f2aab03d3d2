//! `meshroute diff OLD NEW`: the requests whose behaviour changes between two configurations,
//! on generated requests or on a request file or access log.

use std::path::{Path, PathBuf};

use crate::common::{meshroute, stderr, stdout};

/// A scratch folder holding the seed's workloads and gateway plus `rules` (file names under
/// `examples/seed/`, or `(name, text)` pairs).
fn side(name: &str, seed_files: &[&str], extra: &[(&str, &str)]) -> PathBuf {
    // Under cargo's scratch directory for integration tests: removed with `target/`.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("diff-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["demo.yaml", "demo-gateway.yaml"].iter().chain(seed_files) {
        std::fs::copy(Path::new("examples/seed").join(file), dir.join(file)).unwrap();
    }
    for (file, text) in extra {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

fn run(args: &[&str]) -> std::process::Output {
    meshroute(args, None)
}

/// The seed's two DestinationRule variants: with generated requests, exactly the two changes
/// of behaviour — `name=xx` is no longer forced to v2, and every svc-b request is split 5/95.
#[test]
fn seed_canary_to_weighted_shows_exactly_the_change() {
    let old = side("canary", &["destination-rule-svc-b-canary.yaml"], &[]);
    let new = side("weighted", &["destination-rule-svc-b-weighted.yaml"], &[]);
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let out = run(&["diff", old, new]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let expected = "VirtualService default/svc-b http[0] match[0]:
  GET http://svc-b:8080/?name=xx (sidecar in default)
    route: VirtualService default/svc-b http[0] match[0] → VirtualService default/svc-b http[0]
    destination: svc-b.default.svc.cluster.local:8080 v2 100% → svc-b.default.svc.cluster.local:8080 v1 5%, v2 95%
VirtualService default/svc-b http[1]:
  GET http://svc-b:8080/ (sidecar in default)
    route: VirtualService default/svc-b http[1] → VirtualService default/svc-b http[0]
    destination: svc-b.default.svc.cluster.local:8080 v1 100% → svc-b.default.svc.cluster.local:8080 v1 5%, v2 95%
";
    assert!(text.starts_with(expected), "{text}");
    assert!(
        text.trim_end().ends_with("request(s) compared, 2 changed"),
        "{text}"
    );
    // The gateway's requests (svc-a) were compared too and did not change.
    assert!(text.contains("5 request(s) compared"), "{text}");

    assert_eq!(
        run(&["diff", old, new, "--fail-on-change"]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&["diff", old, old, "--fail-on-change"]).status.code(),
        Some(0)
    );

    let markdown = stdout(&run(&["diff", old, new, "--format", "markdown"]));
    assert!(
        markdown.starts_with("**meshroute diff**: 5 request(s) compared, 2 changed."),
        "{markdown}"
    );
    assert!(
        markdown.contains("| request | requests | change |"),
        "{markdown}"
    );

    let json: serde_json::Value =
        serde_json::from_slice(&run(&["diff", old, new, "--format", "json"]).stdout).unwrap();
    let first = &json["changes"][0];
    assert_eq!(
        first["changed"],
        serde_json::json!(["route", "destination"])
    );
    assert_eq!(first["new"]["split"][0]["subset"], "v1");
    assert_eq!(first["new"]["split"][0]["weight"], 5);
    assert_eq!(first["new"]["split"][0]["total"], 100);
}

/// A weight change alone is reported as the shares that moved.
#[test]
fn a_weight_change_reports_the_shares() {
    let rules = |v2: u32| {
        format!(
            "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc-b, namespace: default}}
spec:
  hosts: [svc-b]
  http:
  - route:
    - {{destination: {{host: svc-b, subset: v1}}, weight: {}}}
    - {{destination: {{host: svc-b, subset: v2}}, weight: {v2}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc-b, namespace: default}}
spec:
  host: svc-b
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
",
            100 - v2
        )
    };
    let old = side("w5", &[], &[("rules.yaml", &rules(5))]);
    let new = side("w25", &[], &[("rules.yaml", &rules(25))]);
    let out = run(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("svc-b.default.svc.cluster.local:8080 v2: 5% → 25%")
            && text.contains("svc-b.default.svc.cluster.local:8080 v1: 95% → 75%"),
        "{text}"
    );
    assert!(!text.contains("route:"), "{text}");
}

/// `--requests` replays an access log; alike requests are counted under one example.
#[test]
fn diff_on_an_access_log() {
    let old = side("log-canary", &["destination-rule-svc-b-canary.yaml"], &[]);
    let new = side(
        "log-weighted",
        &["destination-rule-svc-b-weighted.yaml"],
        &[],
    );
    let out = run(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--requests",
        "examples/access.log",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("GET http://svc-b:8080/greet?name=yy -H 'user-agent: curl/8.5.0'"),
        "{text}"
    );
    assert!(text.contains("(and 1 more request(s) alike)"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("3 request(s) compared, 3 changed"),
        "{text}"
    );
    assert!(stderr(&out).contains("examples/access.log:3: access-log entry skipped"));
}

/// `--sticky-users N`: the users of a sticky route that move when its weights change, by where
/// from and where to (`examples/sticky/`, v2 from 5% to 25%): about a fifth, all towards v2.
#[test]
fn sticky_users_show_who_moves_when_the_weights_change() {
    let out = meshroute(
        &[
            "diff",
            "examples/sticky/canary-5.yaml",
            "examples/sticky/canary-25.yaml",
            "--sticky-users",
            "10000",
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let users = &report["stickyUsers"][0];
    assert_eq!(users["key"], "header:x-user-id");
    assert_eq!(users["users"], 10000);
    let moves = users["moves"].as_array().unwrap();
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert!(moves[0][0].as_str().unwrap().ends_with(" v1"));
    assert!(moves[0][1].as_str().unwrap().ends_with(" v2"));
    let moved = moves[0][2].as_u64().unwrap();
    assert!((1_900..=2_100).contains(&moved), "{moved} users moved");
    // Without the flag the report has no such key.
    let out = meshroute(
        &[
            "diff",
            "examples/sticky/canary-5.yaml",
            "examples/sticky/canary-25.yaml",
            "-o",
            "json",
        ],
        None,
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report.get("stickyUsers").is_none());
}
