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
