//! Replays the fuzz targets' regression inputs (`fuzz/regressions/<target>/`) and committed seeds
//! (`fuzz/seeds/<target>/`) through the same check functions the cargo-fuzz targets run
//! (`fuzz/checks/`), so that every input a fuzzer ever failed on stays fixed without a fuzzer.
#![cfg(feature = "yaml")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

#[path = "../fuzz/checks/mod.rs"]
mod checks;

/// The files of `fuzz/<kind>/<target>/`, sorted (none when the folder does not exist).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
}

/// Runs `check` on every regression input and seed of `target`, and on `more` files; reports
/// the file that fails.
fn replay(target: &str, check: fn(&[u8]), more: &[PathBuf]) {
    let regressions = inputs("regressions", target);
    assert!(
        !regressions.is_empty(),
        "fuzz/regressions/{target}/ has no input"
    );
    for file in regressions
        .iter()
        .chain(&inputs("seeds", target))
        .chain(more)
    {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails", file.display());
    }
}

#[test]
fn load_compile() {
    // The seed corpus the fuzzer starts from: the example and fixture manifests.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut manifests = Vec::new();
    for dir in ["examples/seed", "tests/fixtures"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                manifests.push(path);
            }
        }
    }
    manifests.sort();
    replay("load_compile", checks::load_compile::run, &manifests);
}

#[test]
fn route() {
    replay("route", checks::route::run, &[]);
}

#[test]
fn balance() {
    replay("balance", checks::balance::run, &[]);
}

#[test]
fn propagate() {
    replay("propagate", checks::propagate::run, &[]);
}
