//! What Istio accepts but is probably wrong, beyond validation: meshroute's own lints
//! (`meshroute::lint`, `meshroute check --lint`), one file per lint as in `src/analyze/`: MR001
//! shadowed match (`shadowed.rs`), MR002 subset without endpoints (`subsets.rs`), MR003
//! destination without traffic (`weights.rs`), MR004 routing flag that callers must forward
//! (`flags.rs`), MR005 ring hash at its maximum size (`ring_size.rs`); then the seed scenario and
//! the command line. Each lint has a bad configuration and a good neighbour.
//!
//! `references.rs` holds the cross-resource `istioctl analyze` findings (IST0101 subsets and
//! gateways, IST0109, IST0132), `hosts.rs` those about destination hosts (IST0101, IST0112); the
//! unreachable-rule findings validation produces (IST0130, IST0131) are asserted beside the
//! VirtualService validation rules, in `tests/validate/virtual_service.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../common/mod.rs"]
mod common;

#[cfg(feature = "cli")]
mod cli;
mod flags;
mod hosts;
mod references;
mod ring_size;
mod seed;
mod shadowed;
mod subsets;
mod suppress;
mod weights;

use meshroute::Diagnostic;
use meshroute::LoadOptions;

/// Loads `yaml`; any load diagnostic fails the test.
fn load(yaml: &str) -> Vec<meshroute::config::Resource> {
    let loaded = meshroute::from_str(yaml, &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.resources
}

/// The lint findings for `yaml`.
fn lint(yaml: &str) -> Vec<Diagnostic> {
    meshroute::lint(&load(yaml))
}

/// The findings of one code, as `(path, message)`.
fn found(diagnostics: &[Diagnostic], code: &str) -> Vec<(String, String)> {
    diagnostics
        .iter()
        .filter(|d| d.code.map(meshroute::Code::as_str) == Some(code))
        .inspect(|d| {
            assert_eq!(
                Some(d.severity),
                d.code.map(meshroute::Code::severity),
                "{d}"
            )
        })
        .map(|d| (d.path.clone(), d.message.clone()))
        .collect()
}

/// Asserts exactly one finding of `code`, at `path`, whose message contains every part.
fn assert_one(diagnostics: &[Diagnostic], code: &str, path: &str, parts: &[&str]) {
    let all = found(diagnostics, code);
    assert_eq!(all.len(), 1, "{diagnostics:#?}");
    let (at, message) = &all[0];
    assert_eq!(at, path, "{message}");
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

/// The Kubernetes Service `default/svc-b` and its only Deployment (`version: v1`): with it,
/// svc-b is an internal host whose endpoints the manifests show.
fn svc_b_workloads() -> String {
    common::fixture("svc-b-v1")
}
