//! `istioctl analyze`'s suppression annotation, `galley.istio.io/analyze-suppress`, on the
//! resource a finding is about: codes compared as written after splitting at commas, `*` for
//! all (`filterMessages` in istio/istio `pkg/config/analysis/local/istiod_analyze.go`).

use crate::common::svc_b_routes;
use crate::{lint, load, svc_b_workloads};

const RULES: &str = "  - match:
    - headers: {x-canary: {exact: 'true'}}
    route:
    - destination: {host: svc-b, subset: v2}
  - route:
    - destination: {host: svc-b, subset: v1}
      weight: 100
    - destination: {host: svc-b, subset: v3}
      weight: 0
";

/// The lint findings' codes with the VirtualService annotated `suppress` (none when `None`).
fn codes(suppress: Option<&str>) -> Vec<&'static str> {
    let mut vs = svc_b_routes(RULES);
    if let Some(codes) = suppress {
        vs = vs.replace(
            "metadata: {name: svc-b, namespace: default}",
            &format!(
                "metadata:\n  name: svc-b\n  namespace: default\n  annotations: {{galley.istio.io/analyze-suppress: '{codes}'}}"
            ),
        );
    }
    let mut codes: Vec<&'static str> = lint(&format!("{}---\n{vs}", svc_b_workloads()))
        .iter()
        .filter_map(|d| d.code.map(meshroute::Code::as_str))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

#[test]
fn analyze_suppress_drops_the_codes_it_lists() {
    assert_eq!(codes(None), ["MR003", "MR004"]);
    assert_eq!(codes(Some("MR003")), ["MR004"]);
    assert_eq!(codes(Some("MR004,MR003")), Vec::<&str>::new());
    assert_eq!(codes(Some("*")), Vec::<&str>::new());
    // Istio compares each piece as written: a space before a code keeps it.
    assert_eq!(codes(Some("MR003, MR004")), ["MR004"]);
    assert_eq!(codes(Some("")), ["MR003", "MR004"]);
}

/// `check` honours it for `istioctl analyze`'s own findings, never for validation errors.
#[test]
fn analyze_suppress_applies_to_istioctl_findings_not_to_validation() {
    let yaml = |annotation: &str| {
        format!(
            "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: svc-b
  namespace: default
  annotations: {{galley.istio.io/analyze-suppress: '{annotation}'}}
spec:
  hosts: [svc-b]
  http:
  - route:
    - destination: {{host: svc-b, subset: v9}}
  - match: [{{uri: {{regex: '('}}}}]
    route:
    - destination: {{host: svc-b}}
"
        )
    };
    let codes = |annotation: &str| -> (Vec<String>, usize) {
        let diagnostics = meshroute::check(&load(&yaml(annotation)));
        let codes = diagnostics
            .iter()
            .filter_map(|d| d.code.map(|c| c.as_str().to_owned()))
            .collect();
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == meshroute::Severity::Error && d.code.is_none())
            .count();
        (codes, errors)
    };
    let (before, errors_before) = codes("MR000");
    assert!(before.iter().any(|c| c == "IST0101"), "{before:?}");
    assert!(errors_before > 0, "the bad regex is a validation error");
    let (after, errors_after) = codes("IST0101");
    assert!(!after.iter().any(|c| c == "IST0101"), "{after:?}");
    assert_eq!(errors_after, errors_before);
}
