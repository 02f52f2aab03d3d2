//! MR002: a DestinationRule subset whose labels select none of the host's endpoints known from
//! the manifests (Kubernetes workloads or ServiceEntry endpoints).

use crate::{assert_one, lint, svc_b_workloads};

/// A second document: the DestinationRule `default/svc-b` for `host` with these `subsets` (a
/// YAML list indented by two spaces).
fn destination_rule(host: &str, subsets: &str) -> String {
    format!(
        "---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc-b, namespace: default}}
spec:
  host: {host}
  subsets:
{subsets}"
    )
}

/// A subset whose labels match none of the host's workloads.
#[test]
fn mr002_subset_that_selects_no_endpoint() {
    let yaml = format!(
        "{}{}",
        svc_b_workloads(),
        destination_rule(
            "svc-b",
            "  - name: v1
    labels: {version: v1}
  - name: v2
    labels:
      version: v2
"
        )
    );
    let d = lint(&yaml);
    assert_one(
        &d,
        "MR002",
        "spec.subsets[1].labels",
        &[
            "subset \"v2\" selects no endpoints of svc-b.default.svc.cluster.local",
            "no workload has the labels {version: v2}",
            "its workloads have {app: demo-b, version: v1}",
            "503",
            "fix the labels or deploy workloads that carry them",
        ],
    );
    assert_eq!(d[0].line, Some(26), "{}", d[0]);
}

/// The good neighbours: a subset that matches, and a host whose endpoints the manifests do not
/// show (no Service, or a Service whose pods are not in the configuration).
#[test]
fn mr002_not_when_endpoints_match_or_are_unknown() {
    let subsets = "  - name: v1
    labels: {version: v1}
  - name: all
    labels: {app: demo-b}
";
    let svc_b = svc_b_workloads();
    assert!(lint(&format!("{svc_b}{}", destination_rule("svc-b", subsets))).is_empty());
    let unknown = destination_rule("svc-c", "  - name: v9\n    labels: {version: v9}\n");
    assert!(lint(&format!("{svc_b}{unknown}")).is_empty());
    let service_only = svc_b.split("---").next().unwrap();
    let v2 = destination_rule("svc-b", "  - name: v2\n    labels: {version: v2}\n");
    assert!(lint(&format!("{service_only}{v2}")).is_empty());
}

/// ServiceEntry endpoints count too.
#[test]
fn mr002_service_entry_endpoints() {
    let yaml = "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints:
  - {address: 10.0.0.1, labels: {zone: a}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: default}
spec:
  host: db.example.com
  subsets:
  - {name: a, labels: {zone: a}}
  - {name: b, labels: {zone: b}}
";
    assert_one(
        &lint(yaml),
        "MR002",
        "spec.subsets[1].labels",
        &["subset \"b\" selects no endpoints of db.example.com"],
    );
}
