//! Helpers shared by the integration tests: loading YAML, the validation assertions, the seed
//! scenario's files, and running the `meshroute` binary.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use meshroute::{Diagnostic, LoadOptions, Mesh, Severity};

/// The seed scenario's folder (`examples/seed`).
pub fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/seed")
}

/// A file of the seed scenario.
pub fn seed_file(name: &str) -> PathBuf {
    seed_dir().join(name)
}

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

/// Runs `meshroute ARGS` in the crate root with `stdin` piped in.
pub fn meshroute(args: &[&str], stdin: Option<&str>) -> Output {
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

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
