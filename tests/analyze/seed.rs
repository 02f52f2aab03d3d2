//! The lints on the seed scenario (`examples/seed`): the folder as a whole and its canary and
//! weighted variants.

use crate::common::{CANARY, WEIGHTED, seed_resources};

/// The whole seed folder: the weighted file (loaded last) replaces the canary file's svc-b
/// VirtualService and DestinationRule, so the effective svc-b rule is the plain 5/95 split:
/// no lint finding, and `check` stays at 0 diagnostics.
#[test]
fn seed_folder_lints_clean_and_checks_clean() {
    let resources = seed_resources(&["."]);
    assert_eq!(resources.len(), 11);
    assert!(meshroute::check(&resources).is_empty());
    let lints = meshroute::lint(&resources);
    assert!(lints.is_empty(), "{lints:#?}");
}

/// The canary variant (demo.yaml, demo-gateway.yaml, destination-rule-svc-b-canary.yaml):
/// exactly two findings. MR003: `name=xx` sends v1 `weight: 0` beside v2's 100 (deliberate in
/// the article, but v1 gets nothing). MR004: svc-b has a Kubernetes Service and its mesh rule
/// routes on the `name` query parameter, which only arrives if svc-a (svc-b's caller in the
/// article; the configuration only shows that svc-b is internal) forwards it.
#[test]
fn seed_canary_files_give_mr003_and_mr004() {
    let resources = seed_resources(&CANARY);
    assert!(meshroute::check(&resources).is_empty());
    let lints = meshroute::lint(&resources);
    assert_eq!(lints.len(), 2, "{lints:#?}");
    let mr003 = &lints[0];
    assert_eq!(mr003.code.map(meshroute::Code::as_str), Some("MR003"));
    assert_eq!(mr003.name.as_deref(), Some("default/svc-b"));
    assert_eq!(mr003.path, "spec.http[0].route[0].weight");
    assert_eq!(mr003.line, Some(58));
    assert!(
        mr003
            .message
            .starts_with("destination svc-b subset v1 gets no traffic")
    );
    let mr004 = &lints[1];
    assert_eq!(mr004.code.map(meshroute::Code::as_str), Some("MR004"));
    assert_eq!(mr004.path, "spec.http[0].match[0].queryParams.name");
    assert_eq!(mr004.line, Some(52));
    assert!(
        mr004
            .message
            .contains("an internal host: Kubernetes Service default/svc-b")
    );
}

/// The weighted variant alone: 5/95, both subsets backed by a Deployment: nothing to report.
#[test]
fn seed_weighted_files_lint_clean() {
    let resources = seed_resources(&WEIGHTED);
    assert!(meshroute::lint(&resources).is_empty());
}
