//! MR003: a destination that gets no traffic: weight 0 (or none) beside other destinations, or
//! a second destination naming the same host, subset and port.

use crate::common::svc_b_routes;
use crate::{assert_one, found, lint};

/// Weight 0 and a missing weight beside another destination get 0%.
#[test]
fn mr003_destination_with_weight_0_or_none() {
    let d = lint(&svc_b_routes(
        "  - route:
    - destination: {host: svc-b, subset: v1}
      weight: 0
    - destination: {host: svc-b, subset: v2}
      weight: 100
    - destination: {host: svc-b, subset: v3}
",
    ));
    let all = found(&d, "MR003");
    assert_eq!(all.len(), 2, "{d:#?}");
    assert_eq!(all[0].0, "spec.http[0].route[0].weight");
    assert!(
        all[0].1.contains(
            "destination svc-b subset v1 gets no traffic: with weight 0 in a route with 3 destinations the route sends it 0%"
        ),
        "{}",
        all[0].1
    );
    assert_eq!(all[1].0, "spec.http[0].route[2]");
    assert!(
        all[1]
            .1
            .contains("destination svc-b subset v3 gets no traffic")
            && all[1].1.contains("without a weight")
            && all[1].1.contains("0%"),
        "{}",
        all[1].1
    );
}

/// Two destinations naming the same host, subset and port.
#[test]
fn mr003_duplicate_destination() {
    let d = lint(&svc_b_routes(
        "  - route:
    - destination: {host: svc-b, subset: v1, port: {number: 8080}}
      weight: 30
    - destination: {host: svc-b, subset: v2}
      weight: 50
    - destination: {host: svc-b.default.svc.cluster.local, subset: v1, port: {number: 8080}}
      weight: 20
",
    ));
    assert_one(
        &d,
        "MR003",
        "spec.http[0].route[2].destination",
        &[
            "repeats spec.http[0].route[0] (same host+subset+port)",
            "merge them into one destination with weight 50",
        ],
    );
}

/// The good neighbours: a single destination ignores its weight (even 0), distinct
/// destinations with weights, and the same subset on two ports.
#[test]
fn mr003_not_for_single_or_distinct_destinations() {
    let d = lint(&svc_b_routes(
        "  - match:
    - uri: {prefix: /one}
    route:
    - destination: {host: svc-b, subset: v1}
      weight: 0
  - route:
    - destination: {host: svc-b, subset: v1, port: {number: 8080}}
      weight: 5
    - destination: {host: svc-b, subset: v1, port: {number: 9090}}
      weight: 95
",
    ));
    assert!(d.is_empty(), "{d:#?}");
}

/// A progressive-delivery controller sets these weights (a canary at 0 between two steps): a
/// VirtualService owned by a Flagger `Canary`, annotated by Argo Rollouts, or named by a
/// `Rollout` or `Canary` of the configuration gets no weight-0 finding. A duplicate destination
/// is still one, and a controller naming another VirtualService changes nothing.
#[test]
fn mr003_quiet_where_a_progressive_delivery_controller_sets_the_weights() {
    let routes = svc_b_routes(
        "  - route:
    - destination: {host: svc-b, subset: stable}
      weight: 100
    - destination: {host: svc-b, subset: canary}
      weight: 0
",
    );
    let with_metadata = |extra: &str| {
        routes.replace(
            "metadata: {name: svc-b, namespace: default}",
            &format!("metadata:\n  name: svc-b\n  namespace: default\n{extra}"),
        )
    };
    let rollout = |name: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: web, namespace: default}}
spec:
  strategy:
    canary:
      canaryService: svc-b-canary
      trafficRouting:
        istio:
          virtualServices:
          - name: {name}
            routes: [primary]
"
        )
    };
    let canary = |target: &str| {
        format!(
            "apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: web, namespace: default}}
spec:
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: {target}}}
  service: {{port: 8080}}
"
        )
    };
    assert_eq!(found(&lint(&routes), "MR003").len(), 1);
    let quiet = [
        with_metadata(
            "  ownerReferences:\n  - {apiVersion: flagger.app/v1beta1, kind: Canary, name: svc-b, controller: true}\n",
        ),
        with_metadata("  annotations: {argo-rollouts.argoproj.io/managed-by-rollouts: web}\n"),
        format!("{routes}---\n{}", rollout("svc-b")),
        format!("{routes}---\n{}", rollout("svc-b.default")),
        format!("{routes}---\n{}", canary("svc-b")),
    ];
    for yaml in &quiet {
        assert!(found(&lint(yaml), "MR003").is_empty(), "{yaml}");
    }
    let loud = [
        format!("{routes}---\n{}", rollout("other")),
        format!("{routes}---\n{}", rollout("svc-b.prod")),
        format!("{routes}---\n{}", canary("other")),
        with_metadata("  ownerReferences:\n  - {apiVersion: apps/v1, kind: ReplicaSet, name: x}\n"),
    ];
    for yaml in &loud {
        assert_eq!(found(&lint(yaml), "MR003").len(), 1, "{yaml}");
    }
    let duplicate = svc_b_routes(
        "  - route:
    - destination: {host: svc-b, subset: stable}
      weight: 50
    - destination: {host: svc-b, subset: stable}
      weight: 50
",
    );
    let managed = format!("{duplicate}---\n{}", rollout("svc-b"));
    assert_eq!(found(&lint(&managed), "MR003").len(), 1);
}
