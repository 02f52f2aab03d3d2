//! Helpers shared by the integration tests: loading YAML, the validation assertions, the seed
//! scenario's files, the fixtures in `tests/fixtures/`, requests, a seeded proptest runner and
//! running the `meshroute` binary.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use meshroute::config::Resource;
use meshroute::{Diagnostic, LoadOptions, Loaded, Mesh, Severity};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

pub mod manifests;
pub mod nulls;

// ---------------------------------------------------------------------------------------------
// Files: the seed scenario and the fixtures
// ---------------------------------------------------------------------------------------------

/// The seed scenario's folder (`examples/seed`).
pub fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/seed")
}

/// A file of the seed scenario.
pub fn seed_file(name: &str) -> PathBuf {
    seed_dir().join(name)
}

/// The seed scenario's canary variant: the gateway, svc-a and svc-b, with `name=xx` sent to v2.
pub const CANARY: [&str; 3] = [
    "demo.yaml",
    "demo-gateway.yaml",
    "destination-rule-svc-b-canary.yaml",
];

/// The seed scenario's weighted variant: svc-b split 5/95 between v1 and v2.
pub const WEIGHTED: [&str; 2] = ["demo.yaml", "destination-rule-svc-b-weighted.yaml"];

/// Loads seed files (see [`seed_file`]); any load diagnostic fails the test, but the warnings
/// about the svc-b rules the weighted file defines again (loading the whole folder).
pub fn seed_resources(files: &[&str]) -> Vec<Resource> {
    let mut loaded = Loaded::default();
    for f in files {
        loaded.extend(meshroute::from_path(seed_file(f), &LoadOptions::default()).unwrap());
    }
    let unexpected: Vec<&Diagnostic> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Warning || !d.message.starts_with("defined again: "))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    loaded.resources
}

/// Loads and compiles seed files (see [`seed_resources`]).
pub fn seed_mesh(files: &[&str]) -> Mesh {
    meshroute::compile(seed_resources(files)).unwrap()
}

/// The text of `tests/fixtures/NAME.yaml`.
pub fn fixture(name: &str) -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Configuration text
// ---------------------------------------------------------------------------------------------

/// A `networking.istio.io/v1` resource of `kind` named `default/NAME`, with `metadata` (extra
/// metadata lines, indented by two spaces, each ending in a newline) and `spec` (YAML,
/// unindented).
pub fn resource(kind: &str, name: &str, metadata: &str, spec: &str) -> String {
    let spec: String = spec.lines().map(|line| format!("  {line}\n")).collect();
    format!(
        "apiVersion: networking.istio.io/v1\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: default\n{metadata}spec:\n{spec}"
    )
}

/// The VirtualService `default/svc-b` for host `svc-b` with these `http` routes (a YAML list
/// indented by two spaces).
pub fn svc_b_routes(http: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc-b, namespace: default}}
spec:
  hosts: [svc-b]
  http:
{http}"
    )
}

// ---------------------------------------------------------------------------------------------
// Loading, compiling and the validation assertions
// ---------------------------------------------------------------------------------------------

/// Every diagnostic for `yaml`: load problems, validation and analysis.
pub fn diagnostics(yaml: &str) -> Vec<Diagnostic> {
    let loaded = meshroute::from_str(yaml, &LoadOptions::default());
    let mut all = loaded.diagnostics;
    all.extend(meshroute::check(&loaded.resources));
    all
}

/// Loads and compiles `yaml`; any load diagnostic or compile error fails the test.
pub fn mesh(yaml: &str) -> Mesh {
    let loaded = meshroute::from_str(yaml, &LoadOptions::default());
    assert!(
        loaded.diagnostics.is_empty(),
        "load diagnostics: {:#?}",
        loaded.diagnostics
    );
    match loaded.compile() {
        Ok(mesh) => mesh,
        Err(e) => panic!("compile errors: {:#?}", e.diagnostics),
    }
}

/// The messages of the diagnostics of `severity` at `path`.
pub fn at<'a>(diagnostics: &'a [Diagnostic], severity: Severity, path: &str) -> Vec<&'a str> {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity && d.path == path)
        .map(|d| d.message.as_str())
        .collect()
}

/// Asserts an error at `path` whose message contains `text`.
pub fn assert_error(diagnostics: &[Diagnostic], path: &str, text: &str) {
    let found = at(diagnostics, Severity::Error, path);
    assert!(
        found.iter().any(|m| m.contains(text)),
        "no error {text:?} at {path}; got {diagnostics:#?}"
    );
}

/// Asserts a warning at `path` whose message contains `text`.
pub fn assert_warning(diagnostics: &[Diagnostic], path: &str, text: &str) {
    let found = at(diagnostics, Severity::Warning, path);
    assert!(
        found.iter().any(|m| m.contains(text)),
        "no warning {text:?} at {path}; got {diagnostics:#?}"
    );
}

/// Asserts nothing at all (error, warning or info) at `path`.
pub fn assert_clean(diagnostics: &[Diagnostic], path: &str) {
    let found: Vec<_> = diagnostics.iter().filter(|d| d.path == path).collect();
    assert!(
        found.is_empty(),
        "unexpected diagnostics at {path}: {found:#?}"
    );
}

/// Asserts the configuration is free of validation errors and warnings (`istioctl
/// analyze`-style findings, which carry a code, are not the validators' concern).
pub fn assert_no_diagnostics(diagnostics: &[Diagnostic]) {
    let found: Vec<_> = diagnostics.iter().filter(|d| d.code.is_none()).collect();
    assert!(found.is_empty(), "unexpected diagnostics: {found:#?}");
}

// ---------------------------------------------------------------------------------------------
// Requests and randomness
// ---------------------------------------------------------------------------------------------

/// A GET of `url` without a body.
pub fn get(url: &str) -> http::Request<()> {
    http::Request::get(url).body(()).unwrap()
}

/// A proptest runner running `cases` cases from a fixed seed (ChaCha, every byte `seed`), with
/// no failure persistence: runs are reproducible.
pub fn runner(cases: u32, seed: u8) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

/// Runs `meshroute ARGS` in the crate root with `stdin` piped in (the binary needs the `cli`
/// feature).
#[cfg(feature = "cli")]
pub fn meshroute(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_meshroute"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A command that fails on its arguments exits without reading its input: a broken pipe here
    // is that, not a test failure.
    if let Err(error) = input.write_all(stdin.unwrap_or("").as_bytes()) {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// Standard output as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Assertions over the diagnostics of a YAML text
// ---------------------------------------------------------------------------------------------

/// The diagnostics, one per line, for failure messages.
pub fn render(diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| format!("  {d}\n")).collect()
}

/// Asserts a diagnostic of `severity` (and `code`, if given) at exactly `path` whose message
/// contains `needle`.
#[track_caller]
pub fn assert_diag(yaml: &str, severity: Severity, code: Option<&str>, path: &str, needle: &str) {
    let diags = diagnostics(yaml);
    let found = diags.iter().any(|d| {
        d.severity == severity
            && d.path == path
            && d.message.contains(needle)
            && (code.is_none() || d.code.map(meshroute::Code::as_str) == code)
    });
    assert!(
        found,
        "expected {severity} {code:?} at `{path}` containing {needle:?}; got:\n{}\nfor:\n{yaml}",
        render(&diags)
    );
}

/// Asserts an `istioctl analyze` finding `code` at `path` containing `needle`, at the level
/// istioctl gives that code (`pkg/config/analysis/msg/messages.yaml`).
#[track_caller]
pub fn assert_analysis(yaml: &str, code: &str, path: &str, needle: &str) {
    let severity = match code {
        "IST0101" | "IST0109" | "IST0112" => Severity::Error,
        "IST0131" => Severity::Info,
        _ => Severity::Warning,
    };
    assert_diag(yaml, severity, Some(code), path, needle);
}

/// Asserts that no diagnostic (error or warning) is reported.
#[track_caller]
pub fn assert_clean_yaml(yaml: &str) {
    let diags = diagnostics(yaml);
    assert!(
        diags.is_empty(),
        "expected no diagnostics; got:\n{}\nfor:\n{yaml}",
        render(&diags)
    );
}

/// Asserts that no validation error is reported (warnings and analysis findings allowed).
#[track_caller]
pub fn assert_no_errors(yaml: &str) {
    let diags = diagnostics(yaml);
    assert!(
        !diags.iter().any(Diagnostic::rejects),
        "expected no errors; got:\n{}\nfor:\n{yaml}",
        render(&diags)
    );
}

/// Asserts that no diagnostic carries `code`.
#[track_caller]
pub fn assert_no_code(yaml: &str, code: &str) {
    let diags = diagnostics(yaml);
    assert!(
        !diags
            .iter()
            .any(|d| d.code.map(meshroute::Code::as_str) == Some(code)),
        "expected no {code}; got:\n{}",
        render(&diags)
    );
}
