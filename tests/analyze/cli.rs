//! `meshroute check --lint`: the lint findings on the command line, as text and JSON, and their
//! effect on the exit status.

use crate::common::{meshroute, stdout};

/// The seed scenario's canary variant (`common::CANARY`) as the command line names its files.
const CANARY: [&str; 3] = [
    "examples/seed/demo.yaml",
    "examples/seed/demo-gateway.yaml",
    "examples/seed/destination-rule-svc-b-canary.yaml",
];

/// `check --lint` prints the MR findings with file, line and code; plain `check` does not;
/// lints are warnings, so the exit status stays 0.
#[test]
fn check_lint_shows_mr_codes_and_plain_check_does_not() {
    let mut args = vec!["check", "--lint"];
    args.extend(CANARY);
    let out = meshroute(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "examples/seed/destination-rule-svc-b-canary.yaml:58: warning[MR003]: VirtualService default/svc-b: spec.http[0].route[0].weight: destination svc-b subset v1 gets no traffic"
        ),
        "{text}"
    );
    assert!(text.contains("info[MR004]"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("0 error(s), 1 warning(s), 1 info"),
        "{text}"
    );

    let plain = meshroute(
        &args
            .iter()
            .copied()
            .filter(|a| *a != "--lint")
            .collect::<Vec<_>>(),
        None,
    );
    assert_eq!(plain.status.code(), Some(0));
    let text = stdout(&plain);
    assert!(!text.contains("MR0"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("0 error(s), 0 warning(s), 0 info"),
        "{text}"
    );
}

/// `--json` carries the lint findings with their codes; `--deny-warnings` turns them into
/// exit status 1 like any warning.
#[test]
fn check_lint_json_and_deny_warnings() {
    let mut args = vec!["check", "--lint", "--json"];
    args.extend(CANARY);
    let out = meshroute(&args, None);
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = value["diagnostics"].as_array().unwrap();
    let codes: Vec<&str> = list.iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["MR003", "MR004"]);
    let mr004 = &list[1];
    assert_eq!(mr004["severity"], "info");
    assert_eq!(mr004["path"], "spec.http[0].match[0].queryParams.name");
    assert_eq!(mr004["line"], 52);

    args.push("--deny-warnings");
    assert_eq!(meshroute(&args, None).status.code(), Some(1));
}

/// The seed folder as a whole lints clean (its weighted file replaces the canary file's
/// svc-b rules): the only warnings are the two redefinitions the loader reports.
#[test]
fn check_lint_seed_folder_is_clean() {
    let out = meshroute(&["check", "--lint", "examples/seed/"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.trim_end()
            .ends_with("0 error(s), 2 warning(s), 0 info"),
        "{text}"
    );
    assert_eq!(text.matches("warning: ").count(), 2, "{text}");
    assert_eq!(text.matches(": defined again: ").count(), 2, "{text}");
}
