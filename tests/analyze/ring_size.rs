//! MR005: endpoint weights so unequal that Envoy's ring hash is cut down to its maximum size
//! (`maximum_ring_size`, 8388608 entries) for every cluster it applies to.

use crate::{assert_one, found, lint};

/// A ServiceEntry for `big.example.com` with endpoints of these weights (`10.0.0.1`, … in
/// order, labelled `app: big` and `tier: t<i>`) and a DestinationRule with this `spec` body
/// (indented by two spaces).
fn weighted(weights: &[u64], rule: &str) -> String {
    let endpoints: String = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            format!(
                "  - {{address: 10.0.0.{}, weight: {w}, labels: {{app: big, tier: t{i}}}}}\n",
                i + 1
            )
        })
        .collect();
    format!(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: big, namespace: default}}
spec:
  hosts: [big.example.com]
  ports: [{{number: 80, name: http, protocol: HTTP}}]
  resolution: STATIC
  endpoints:
{endpoints}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: big, namespace: default}}
spec:
  host: big.example.com
{rule}"
    )
}

/// Weights 1 and 4294967294 ask Envoy for a ring of 2^32 - 1 entries: capped at 8388608 for
/// the host and each of its subsets. One finding at the `consistentHash` that applies to them,
/// naming the weights, the endpoints, the size asked for and the size built.
#[test]
fn mr005_weights_that_force_the_maximum_ring() {
    let rule = "  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: x-user}
  subsets:
  - {name: s0, labels: {app: big}}
  - {name: s1, labels: {app: big}}
";
    let d = lint(&weighted(&[1, 4294967294], rule));
    assert_one(
        &d,
        "MR005",
        "spec.trafficPolicy.loadBalancer.consistentHash",
        &[
            "ring hash at Envoy's maximum size for each of 3 clusters (big.example.com:80, big.example.com:80 subset s0, big.example.com:80 subset s1)",
            "endpoint weights 1 (10.0.0.1:80) to 4294967294 (10.0.0.2:80) with minimumRingSize 1024 ask for a ring of 4294967295 entries",
            "Envoy caps at maximum_ring_size, 8388608 entries (72 MiB per cluster, built on its first pick)",
            "the lightest endpoints get fewer entries than their weights ask for",
            "bring the weights closer together (a total weight of at most 8388608 times the smallest keeps the ring below the cap) or use maglev",
        ],
    );
    assert_eq!(d[0].line, Some(19), "{}", d[0]);
}

/// A subset whose own ring is capped is named at its own field; a subset that selects only
/// one of the endpoints has an ordinary ring and is not mentioned.
#[test]
fn mr005_at_the_subset_that_sets_the_ring() {
    let rule = "  subsets:
  - name: light
    labels: {tier: t0}
    trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true}}}
  - name: both
    labels: {app: big}
    trafficPolicy:
      loadBalancer:
        consistentHash:
          httpHeaderName: x-user
          ringHash: {minimumRingSize: 64}
";
    let d = lint(&weighted(&[3, 100_000_000], rule));
    assert_one(
        &d,
        "MR005",
        "spec.subsets[1].trafficPolicy.loadBalancer.consistentHash",
        &[
            "for the cluster (big.example.com:80 subset both)",
            "endpoint weights 3 (10.0.0.1:80) to 100000000 (10.0.0.2:80) with minimumRingSize 64 ask for a ring of 33333334 entries",
        ],
    );
}

/// The good neighbours: weights within 8388608 times the smallest, the same ratio hashed with
/// Maglev (its table size does not depend on the weights), and endpoints the manifests do not
/// show.
#[test]
fn mr005_not_for_moderate_weights_maglev_or_unknown_endpoints() {
    let ring = "  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: x-user}
";
    assert!(found(&lint(&weighted(&[1, 1000, 8_000_000], ring)), "MR005").is_empty());
    let maglev = "  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 65537}}
";
    assert!(found(&lint(&weighted(&[1, 4294967294], maglev)), "MR005").is_empty());
    let elsewhere = weighted(&[1, 4294967294], ring)
        .replace("host: big.example.com\n", "host: other.example.com\n");
    assert!(found(&lint(&elsewhere), "MR005").is_empty());
}
