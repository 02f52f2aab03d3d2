//! Sticky weighted choice (`meshroute.dev/sticky-key`, issue #15): the shares follow the
//! weights, a user keeps one destination while the weights stay, a growing canary only gains
//! users (and only as many as its new share needs), and a request without the key is chosen at
//! random as Envoy chooses.

use std::collections::BTreeMap;

use meshroute::{FastRng, Mesh, Severity, Source};

use crate::common::{diagnostics, mesh as compiled};

const USERS: u32 = 100_000;

/// svc-b split between v1 and v2 (listed in that order unless `canary_first`), sticky on
/// `annotation`.
fn config(v1: u32, v2: u32, annotation: &str, canary_first: bool) -> String {
    let v1_dest = format!("{{destination: {{host: svc-b, subset: v1}}, weight: {v1}}}");
    let v2_dest = format!("{{destination: {{host: svc-b, subset: v2}}, weight: {v2}}}");
    let route = if canary_first {
        format!("[{v2_dest}, {v1_dest}]")
    } else {
        format!("[{v1_dest}, {v2_dest}]")
    };
    format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: svc-b
  annotations: {{meshroute.dev/sticky-key: '{annotation}'}}
spec:
  hosts: [svc-b]
  http:
  - name: canary
    route: {route}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc-b}}
spec: {{host: svc-b, subsets: [{{name: v1, labels: {{version: v1}}}}, {{name: v2, labels: {{version: v2}}}}]}}
"
    )
}

fn subset_of(mesh: &Mesh, request: &http::Request<()>, seed: u64) -> String {
    let decision = mesh.route_with(
        request,
        &Source::sidecar("default"),
        &mut FastRng::from_seed(seed),
    );
    decision
        .destination()
        .and_then(|d| d.subset)
        .unwrap_or("none")
        .to_owned()
}

fn user(i: u32) -> http::Request<()> {
    http::Request::get("http://svc-b/")
        .header("x-user-id", format!("user-{i}"))
        .body(())
        .unwrap()
}

/// Each user's subset under `mesh`.
fn assignment(mesh: &Mesh) -> Vec<bool> {
    (0..USERS)
        .map(|i| subset_of(mesh, &user(i), u64::from(i)) == "v2")
        .collect()
}

#[test]
fn sticky_shares_follow_the_weights_within_half_a_point() {
    for (v1, v2) in [(95, 5), (75, 25), (50, 50), (1, 3)] {
        let mesh = compiled(&config(v1, v2, "header:x-user-id", false));
        let in_v2 = assignment(&mesh).iter().filter(|v| **v).count();
        let share = 100.0 * in_v2 as f64 / f64::from(USERS);
        let expected = 100.0 * f64::from(v2) / f64::from(v1 + v2);
        assert!(
            (share - expected).abs() <= 0.5,
            "{v1}/{v2}: v2 got {share:.2}%"
        );
    }
}

#[test]
fn the_same_key_always_gets_the_same_destination_whatever_the_draw() {
    let mesh = compiled(&config(50, 50, "header:x-user-id", false));
    for i in 0..1_000 {
        let first = subset_of(&mesh, &user(i), 0);
        for seed in 1..20 {
            assert_eq!(subset_of(&mesh, &user(i), seed), first, "user-{i}");
        }
    }
}

/// A canary stepped 5 → 10 → 25 → 50 → 100 (listed after the stable subset, then before it):
/// no user ever moves back from v2 to v1, and the users who move are the ones the new share
/// needs, within half a point.
#[test]
fn a_growing_canary_only_gains_users_and_only_as_many_as_needed() {
    for canary_first in [false, true] {
        let mut before = vec![false; USERS as usize];
        let mut previous = 0;
        for v2 in [5u32, 10, 25, 50, 100] {
            let mesh = compiled(&config(100 - v2, v2, "header:x-user-id", canary_first));
            let now = assignment(&mesh);
            let back = before.iter().zip(&now).filter(|(b, n)| **b && !**n).count();
            assert_eq!(back, 0, "v2 at {v2}%: {back} users moved back to v1");
            let moved = before.iter().zip(&now).filter(|(b, n)| !**b && **n).count();
            let needed = f64::from(v2 - previous) / 100.0 * f64::from(USERS);
            assert!(
                (moved as f64 - needed).abs() <= 0.005 * f64::from(USERS),
                "v2 {previous}% -> {v2}%: {moved} users moved, {needed} needed"
            );
            before = now;
            previous = v2;
        }
    }
}

#[test]
fn a_request_without_the_key_is_chosen_at_random() {
    let mesh = compiled(&config(50, 50, "header:x-user-id", false));
    let anonymous = http::Request::get("http://svc-b/").body(()).unwrap();
    let mut seen = BTreeMap::new();
    for seed in 0..200 {
        *seen.entry(subset_of(&mesh, &anonymous, seed)).or_insert(0) += 1;
        let decision = mesh.route_with(
            &anonymous,
            &Source::sidecar("default"),
            &mut FastRng::from_seed(seed),
        );
        assert_eq!(decision.sticky_key(), Some("header:x-user-id"));
        assert_eq!(decision.sticky_bucket(), None);
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    let request = user(7);
    let decision = mesh.route_with(
        &request,
        &Source::sidecar("default"),
        &mut FastRng::from_seed(0),
    );
    let report = decision.report();
    let sticky = report.sticky.expect("a sticky route reports its choice");
    assert_eq!(sticky.key, "header:x-user-id");
    assert_eq!(sticky.buckets, 1 << 20);
    assert!(sticky.bucket.is_some_and(|b| b < sticky.buckets));
}

#[test]
fn cookies_query_parameters_and_source_addresses_are_keys_too() {
    type UserRequest = fn(u32) -> (http::Request<()>, Source);
    let cases: [(&str, UserRequest); 3] = [
        ("cookie:session", |i| {
            let request = http::Request::get("http://svc-b/")
                .header("cookie", format!("theme=dark; session=s{i}"))
                .body(())
                .unwrap();
            (request, Source::sidecar("default"))
        }),
        ("query:user", |i| {
            (
                http::Request::get(format!("http://svc-b/?user=u{i}"))
                    .body(())
                    .unwrap(),
                Source::sidecar("default"),
            )
        }),
        ("source-ip", |i| {
            let ip = std::net::IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]);
            (
                http::Request::get("http://svc-b/").body(()).unwrap(),
                Source::sidecar("default").with_ip(ip),
            )
        }),
    ];
    for (key, request_of) in cases {
        let mesh = compiled(&config(50, 50, key, false));
        let mut in_v2 = 0;
        for i in 0..2_000 {
            let (request, source) = request_of(i);
            let subsets: Vec<Option<&str>> = (0..5)
                .map(|seed| {
                    let decision =
                        mesh.route_with(&request, &source, &mut FastRng::from_seed(seed));
                    assert!(decision.sticky_bucket().is_some(), "{key}: no bucket");
                    decision.destination().and_then(|d| d.subset)
                })
                .collect();
            assert!(
                subsets.windows(2).all(|w| w[0] == w[1]),
                "{key}: {subsets:?}"
            );
            in_v2 += usize::from(subsets[0] == Some("v2"));
        }
        assert!((850..1150).contains(&in_v2), "{key}: {in_v2} of 2000 in v2");
    }
}

#[test]
fn a_key_for_another_route_leaves_this_one_random_and_a_bad_value_is_a_warning() {
    let request = user(1);
    let mesh = compiled(&config(50, 50, "other=header:x-user-id", false));
    let decision = mesh.route_with(
        &request,
        &Source::sidecar("default"),
        &mut FastRng::from_seed(0),
    );
    assert_eq!(decision.sticky_key(), None);
    let mesh_named = compiled(&config(50, 50, "canary=header:x-user-id", false));
    let decision = mesh_named.route_with(
        &request,
        &Source::sidecar("default"),
        &mut FastRng::from_seed(0),
    );
    assert_eq!(decision.sticky_key(), Some("header:x-user-id"));

    let found = diagnostics(&config(50, 50, "header:", false));
    let warnings: Vec<String> = found
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(ToString::to_string)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("metadata.annotations[meshroute.dev/sticky-key]"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("expected header:NAME"),
        "{}",
        warnings[0]
    );
}
