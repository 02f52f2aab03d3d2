//! MR004: a mesh VirtualService for an internal host routing on a request header or query
//! parameter, which only reaches the host if every caller forwards it.

use crate::common::svc_b_routes;
use crate::{assert_one, found, lint, svc_b_workloads};

/// A mesh VirtualService for an internal host (it has a Kubernetes Service) routing on a
/// request header: every caller must forward it.
#[test]
fn mr004_header_routing_on_an_internal_host() {
    let yaml = format!(
        "{}---\n{}",
        svc_b_workloads(),
        svc_b_routes(
            "  - match:
    - headers:
        x-request-id: {prefix: a}
        X-Canary: {exact: 'true'}
    route:
    - destination: {host: svc-b, subset: v2}
  - match:
    - headers: {x-canary: {exact: 'yes'}}
    route:
    - destination: {host: svc-b, subset: v2}
  - route:
    - destination: {host: svc-b, subset: v1}
"
        )
    );
    let d = lint(&yaml);
    assert_one(
        &d,
        "MR004",
        "spec.http[0].match[0].headers.X-Canary",
        &[
            "routing on request header \"X-Canary\" works only if every caller forwards it",
            "each service that calls svc-b.default.svc.cluster.local (an internal host: Kubernetes Service default/svc-b)",
            "header-based canaries stop at the first hop",
            "list it in the annotation meshroute.dev/forwarded-flags to silence this note",
        ],
    );
}

/// Being another VirtualService's destination makes a host internal too; query parameters
/// count.
#[test]
fn mr004_query_parameter_on_a_destination_of_another_virtual_service() {
    let yaml = format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: front, namespace: default}}
spec:
  hosts: [front.example.com]
  gateways: [gw]
  http:
  - route:
    - destination: {{host: svc-b}}
---
{}",
        svc_b_routes(
            "  - match:
    - queryParams: {user: {exact: tester}}
    route:
    - destination: {host: svc-b, subset: v2}
  - route:
    - destination: {host: svc-b, subset: v1}
"
        )
    );
    let d = lint(&yaml);
    assert_one(
        &d,
        "MR004",
        "spec.http[0].match[0].queryParams.user",
        &[
            "query parameter \"user\"",
            "a destination of VirtualService default/front",
            "query-parameter-based canaries stop at the first hop",
        ],
    );
}

/// The good neighbours: the same rules on a gateway-only VirtualService (the client sends the
/// flag to the gateway itself), on a host nothing else refers to, and on trace headers.
#[test]
fn mr004_not_on_gateways_external_hosts_or_trace_headers() {
    let rules = "  - match:
    - headers: {x-canary: {exact: 'true'}}
    route:
    - destination: {host: svc-b, subset: v2}
  - route:
    - destination: {host: svc-b, subset: v1}
";
    let gateway_only =
        svc_b_routes(rules).replace("  hosts: [svc-b]", "  hosts: [svc-b]\n  gateways: [gw]");
    let svc_b = svc_b_workloads();
    assert!(found(&lint(&format!("{svc_b}---\n{gateway_only}")), "MR004").is_empty());
    assert!(found(&lint(&svc_b_routes(rules)), "MR004").is_empty());
    let trace = svc_b_routes(&rules.replace("x-canary", "x-b3-sampled"));
    assert!(found(&lint(&format!("{svc_b}---\n{trace}")), "MR004").is_empty());
}

/// MR004 is advice for operators: an info, worded without Rust names, and quiet about the flags
/// the VirtualService's `meshroute.dev/forwarded-flags` annotation lists (header names in any
/// case, query parameters as written).
#[test]
fn mr004_is_an_info_silenced_per_flag() {
    let rules = "  - match:
    - headers: {x-canary: {exact: 'true'}, x-tenant: {exact: a}}
      queryParams: {user: {exact: tester}, User: {exact: x}}
    route:
    - destination: {host: svc-b, subset: v2}
  - route:
    - destination: {host: svc-b, subset: v1}
";
    let svc_b = svc_b_workloads();
    let plain = lint(&format!("{svc_b}---\n{}", svc_b_routes(rules)));
    let all: Vec<_> = plain
        .iter()
        .filter(|d| d.code == Some(meshroute::Code::UnforwardedRoutingFlag))
        .collect();
    assert_eq!(all.len(), 4, "{all:#?}");
    for d in &all {
        assert_eq!(d.severity, meshroute::Severity::Info, "{d}");
        for rust in ["Layer", "Propagation", "::"] {
            assert!(!d.message.contains(rust), "{rust:?} in {:?}", d.message);
        }
    }
    let annotated = svc_b_routes(rules).replace(
        "metadata: {name: svc-b, namespace: default}",
        "metadata:\n  name: svc-b\n  namespace: default\n  annotations: {meshroute.dev/forwarded-flags: 'X-Canary, user'}",
    );
    let d = lint(&format!("{svc_b}---\n{annotated}"));
    let left: Vec<String> = found(&d, "MR004")
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    assert_eq!(
        left,
        [
            "spec.http[0].match[0].headers.x-tenant",
            "spec.http[0].match[0].queryParams.User"
        ]
    );
}
