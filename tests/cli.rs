//! The `meshroute check` command: output and exit codes as DESIGN.md specifies.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn meshroute(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshroute"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const BAD: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b}
spec:
  hosts: [svc-b]
  http:
  - route:
    - destination: {host: svc-b, subset: v1}
      weight: -1
    - destination: {host: svc-b, subset: v2}
";

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
    assert!(
        text.trim_end().ends_with("0 error(s), 0 warning(s)"),
        "{text}"
    );
}

#[test]
fn errors_exit_1_with_file_line_resource_and_path() {
    let out = meshroute(&["check", "-"], Some(BAD));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "-:9: error: VirtualService default/svc-b: spec.http[0].route[0].weight: weight -1 < 0"
        ),
        "{text}"
    );
    assert!(text.contains("1 error(s)"), "{text}");
}

#[test]
fn json_output_follows_the_contract() {
    let out = meshroute(&["check", "--json", "-"], Some(BAD));
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
    // The subsets are not defined anywhere: IST0101 warnings.
    assert!(
        list.iter()
            .any(|d| d["severity"] == "warning" && d["code"] == "IST0101")
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let yaml = BAD.replace("weight: -1", "weight: 1");
    let out = meshroute(&["check", "-"], Some(&yaml));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("warning[IST0101]"));
    let out = meshroute(&["check", "--deny-warnings", "-"], Some(&yaml));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn unreadable_input_and_bad_arguments_exit_2() {
    let out = meshroute(&["check", "does/not/exist.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read does/not/exist.yaml"));
    assert_eq!(meshroute(&["check"], None).status.code(), Some(2));
    assert_eq!(meshroute(&["frobnicate"], None).status.code(), Some(2));
}
