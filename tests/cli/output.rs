//! What every command prints, for CI: `-o text|json|yaml`, GitHub Actions annotations, colour
//! only on request or on a terminal (`--color`, `NO_COLOR`), a path with nothing to read is an
//! error unless `--allow-empty`, and a closed pipe ends quietly.

use std::io::Read as _;
use std::process::{Command, Stdio};

use crate::common::{fixture, meshroute, stderr, stdout};

const CANARY: [&str; 3] = [
    "examples/seed/demo.yaml",
    "examples/seed/demo-gateway.yaml",
    "examples/seed/destination-rule-svc-b-canary.yaml",
];

/// `-o yaml` says what `-o json` says, for `route`, `check`, `simulate` and `diff`.
#[test]
fn yaml_output_reads_back_as_the_json_output() {
    let request = "GET http://svc-b:8080/greet?name=xx";
    let mut route = vec!["route", "--request", request, "--seed", "7"];
    route.extend(CANARY);
    let mut check = vec!["check", "--lint"];
    check.extend(CANARY);
    for args in [route, check] {
        let mut json_args = args.clone();
        json_args.extend(["-o", "json"]);
        let mut yaml_args = args.clone();
        yaml_args.extend(["-o", "yaml"]);
        let json: serde_json::Value =
            serde_json::from_slice(&meshroute(&json_args, None).stdout).unwrap();
        let yaml_text = stdout(&meshroute(&yaml_args, None));
        let yaml: serde_json::Value = serde_saphyr::from_str(&yaml_text).unwrap();
        assert_eq!(yaml, json, "{yaml_text}");
    }
    let mut simulate = vec![
        "simulate",
        "--requests",
        "examples/requests.jsonl",
        "-o",
        "yaml",
    ];
    simulate.extend(CANARY);
    let text = stdout(&meshroute(&simulate, None));
    assert_eq!(text.matches("---\n").count(), 3, "{text}");
    let mut simulate = vec![
        "simulate",
        "--requests",
        "examples/requests.jsonl",
        "-o",
        "text",
    ];
    simulate.extend(CANARY);
    let text = stdout(&meshroute(&simulate, None));
    assert!(
        text.starts_with(
            "1: route default/svc-b http[0] -> svc-b.default.svc.cluster.local subset v2 port 8080"
        ),
        "{text}"
    );
}

/// `check -o github` prints one workflow command per diagnostic, at its file and line.
#[test]
fn check_github_annotations() {
    let out = meshroute(
        &["check", "-o", "github", "-"],
        Some(&fixture("negative-weight")),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("::error file=-,line="), "{text}");
    assert!(
        first.contains("::VirtualService default/svc-b: spec.http[0].route[0].weight:"),
        "{text}"
    );
    // `--format github` is the same flag.
    let again = meshroute(
        &["check", "--format", "github", "-"],
        Some(&fixture("negative-weight")),
    );
    assert_eq!(stdout(&again), text);
}

/// Colour only when asked for or on a terminal: never in a pipe by default, never with
/// `NO_COLOR`, always with `--color always`.
#[test]
fn colour_only_where_it_helps() {
    let mut args = vec!["check", "--lint"];
    args.extend(CANARY);
    let plain = stdout(&meshroute(&args, None));
    assert!(
        plain.contains("warning[MR003]") && !plain.contains('\u{1b}'),
        "{plain}"
    );
    let mut always = args.clone();
    always.extend(["--color", "always"]);
    let coloured = stdout(&meshroute(&always, None));
    assert!(coloured.contains("\u{1b}["), "{coloured}");
    let run = |color: &str, no_color: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_meshroute"));
        command
            .args(&args)
            .args(["--color", color])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if no_color {
            command.env("NO_COLOR", "1");
        } else {
            command.env_remove("NO_COLOR");
        }
        String::from_utf8(command.output().unwrap().stdout).unwrap()
    };
    assert!(!run("auto", true).contains('\u{1b}'));
    assert!(!run("never", false).contains('\u{1b}'));
}

/// A path with nothing meshroute reads (a Helm chart's files) is an error, exit status 2,
/// unless `--allow-empty`; its documents are skipped with a note.
#[test]
fn a_path_with_nothing_to_read_fails_unless_allowed() {
    let dir = std::env::temp_dir().join(format!("meshroute-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: shop\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("values.yaml"), "replicaCount: 2\n").unwrap();
    let path = dir.to_str().unwrap();
    let out = meshroute(&["check", path], None);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("no VirtualService, DestinationRule, Gateway"),
        "{}",
        stderr(&out)
    );
    let out = meshroute(&["check", path, "--allow-empty"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("info: not a Kubernetes object"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("0 error(s), 0 warning(s), 2 info"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `meshroute simulate … | head -c 100`: the closed pipe ends the command quietly.
#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = std::env::temp_dir().join(format!("meshroute-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let requests = dir.join("requests.jsonl");
    let line = "{\"url\":\"http://svc-b:8080/greet?name=xx\"}\n";
    std::fs::write(&requests, line.repeat(50_000)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshroute"))
        .args(["simulate", "--requests", requests.to_str().unwrap()])
        .args(CANARY)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The read end is dropped here: the next writes fail with EPIPE.
    let out = child.wait_with_output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

/// A form a command does not have is a usage error naming the ones it has, not a silent
/// fallback to text.
#[test]
fn an_output_a_command_lacks_is_refused() {
    let mut route = vec![
        "route",
        "--request",
        "GET http://svc-b:8080/",
        "-o",
        "github",
    ];
    route.extend(CANARY);
    let out = meshroute(&route, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("route prints -o text, json, yaml"),
        "{}",
        stderr(&out)
    );
    let mut check = vec!["check", "-o", "markdown"];
    check.extend(CANARY);
    let out = meshroute(&check, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("check prints -o text, json, yaml, github"));
}
