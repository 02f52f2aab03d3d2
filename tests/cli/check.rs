//! `meshroute check`: what it lists, its exit status, `--json`, and istioctl analyze's failure
//! and output thresholds.

use crate::common::{fixture, meshroute, stderr, stdout};

#[test]
fn check_seed_folder_exits_0_and_lists_what_it_loaded() {
    let out = meshroute(&["check", "examples/seed/"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("loaded 11 resource(s) from 4 file(s):"),
        "{text}"
    );
    for expected in [
        "Gateway          default/demo-gateway",
        "VirtualService   default/demo ",
        "DestinationRule  default/svc-b-destination-rule",
        "Deployment       default/demo-b-v2",
        "Service          default/svc-a",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // The weighted file defines the canary file's svc-b rules again: one warning each, naming
    // both places.
    assert!(
        text.contains(
            "examples/seed/destination-rule-svc-b-weighted.yaml:20: warning: VirtualService default/svc-b: defined again: this definition replaces the one at examples/seed/destination-rule-svc-b-canary.yaml:42"
        ),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("0 error(s), 2 warning(s), 0 info"),
        "{text}"
    );
}

#[test]
fn errors_exit_1_with_file_line_resource_and_path() {
    let out = meshroute(&["check", "-"], Some(&fixture("negative-weight")));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "-:9: error: VirtualService default/svc-b: spec.http[0].route[0].weight: weight -1 < 0"
        ),
        "{text}"
    );
    // The weight is a validation error; the two undefined subsets are IST0101 errors.
    assert!(text.contains("3 error(s)"), "{text}");
}

#[test]
fn json_output_follows_the_contract() {
    let out = meshroute(&["check", "--json", "-"], Some(&fixture("negative-weight")));
    assert_eq!(out.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = value["diagnostics"].as_array().unwrap();
    let weight = list.iter().find(|d| d["severity"] == "error").unwrap();
    assert_eq!(weight["file"], "-");
    assert_eq!(weight["kind"], "VirtualService");
    assert_eq!(weight["name"], "default/svc-b");
    assert_eq!(weight["path"], "spec.http[0].route[0].weight");
    assert_eq!(weight["message"], "weight -1 < 0");
    assert_eq!(weight["line"], 9);
    // The subsets are not defined anywhere: IST0101, an error to `istioctl analyze`.
    assert!(
        list.iter()
            .any(|d| d["severity"] == "error" && d["code"] == "IST0101")
    );
    // Every key is present, `null` where unknown.
    let keys: Vec<&String> = weight.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "code", "file", "kind", "line", "message", "name", "path", "severity"
        ]
    );
    assert!(weight["code"].is_null());
}

/// A VirtualService whose second rule can never fire (IST0130, a warning) and whose second
/// match repeats the first (IST0131, info), with its service and subsets defined.
const UNREACHABLE: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b, namespace: default}
spec:
  hosts: [svc-b]
  http:
  - match:
    - uri: {prefix: /a}
    - uri: {prefix: /a}
    route:
    - destination: {host: svc-b, subset: v1}
  - route:
    - destination: {host: svc-b, subset: v1}
  - route:
    - destination: {host: svc-b, subset: v2}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-b, namespace: default}
spec:
  host: svc-b
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: default}
spec:
  ports: [{port: 8080, name: http}]
";

/// istioctl analyze's thresholds: failure at error by default, output from info.
#[test]
fn thresholds_follow_istioctl() {
    let out = meshroute(&["check", "-"], Some(UNREACHABLE));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("warning[IST0130]"), "{text}");
    assert!(text.contains("-:9: info[IST0131]"), "{text}");
    assert!(text.contains("0 error(s), 1 warning(s), 1 info"), "{text}");
    for args in [
        &["check", "--deny-warnings", "-"][..],
        &["check", "--failure-threshold", "warning", "-"],
        &["check", "--failure-threshold", "Info", "-"],
    ] {
        let out = meshroute(args, Some(UNREACHABLE));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
    let out = meshroute(
        &["check", "--output-threshold", "warning", "-"],
        Some(UNREACHABLE),
    );
    assert!(!stdout(&out).contains("IST0131"), "{}", stdout(&out));
    assert!(stdout(&out).contains("IST0130"));
    let out = meshroute(
        &["check", "--json", "--output-threshold", "ERROR", "-"],
        Some(UNREACHABLE),
    );
    assert_eq!(stdout(&out).trim(), r#"{"diagnostics":[]}"#);
    let out = meshroute(
        &["check", "--failure-threshold", "fatal", "-"],
        Some(UNREACHABLE),
    );
    assert_eq!(out.status.code(), Some(2));
}

/// IST0101 is an error to istioctl: a missing subset fails `check`.
#[test]
fn missing_subset_is_an_error() {
    let yaml = fixture("negative-weight").replace("weight: -1", "weight: 1");
    let out = meshroute(&["check", "-"], Some(&yaml));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("-:8: error[IST0101]"),
        "{}",
        stdout(&out)
    );
    let json = meshroute(&["check", "--json", "-"], Some(&yaml));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["diagnostics"][0]["severity"], "error");
    assert_eq!(value["diagnostics"][0]["code"], "IST0101");
}

#[test]
fn unreadable_input_and_bad_arguments_exit_2() {
    let out = meshroute(&["check", "does/not/exist.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read does/not/exist.yaml"));
    assert_eq!(meshroute(&["check"], None).status.code(), Some(2));
    assert_eq!(meshroute(&["frobnicate"], None).status.code(), Some(2));
}

/// An unknown field is an error (`kubectl apply --validate=strict` rejects the resource);
/// `--allow-unknown-fields` makes it a warning.
#[test]
fn unknown_field_is_an_error_unless_allowed() {
    let out = meshroute(&["check", "-"], Some(&fixture("unknown-field")));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "-:10: error: VirtualService default/svc-b: spec.http[0].match[0].queryParam: unknown field \"queryParam\""
        ),
        "{text}"
    );
    // The VirtualService is refused; its Service loads.
    assert!(text.starts_with("loaded 1 resource(s)"), "{text}");
    assert!(!text.contains("VirtualService   default/svc-b"), "{text}");
    let out = meshroute(
        &["check", "--allow-unknown-fields", "-"],
        Some(&fixture("unknown-field")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("-:10: warning: VirtualService default/svc-b: spec.http[0].match[0].queryParam: unknown field \"queryParam\""),
        "{text}"
    );
    assert!(text.contains("0 error(s), 1 warning(s)"), "{text}");
}

/// istioctl's DestinationHostAnalyzer: a destination host no Service or ServiceEntry defines is
/// an IST0101 error ("Referenced host not found"), with its line.
#[test]
fn missing_destination_host_is_an_error() {
    let yaml = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b, namespace: default}
spec:
  hosts: [svc-b]
  http:
  - route:
    - destination: {host: svc-b}
";
    let out = meshroute(&["check", "-"], Some(yaml));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(
            "-:8: error[IST0101]: VirtualService default/svc-b: spec.http[0].route[0].destination.host: Referenced host not found: \"svc-b\""
        ),
        "{}",
        stdout(&out)
    );
}
