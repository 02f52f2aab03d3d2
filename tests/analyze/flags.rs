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
            "routing on request header \"X-Canary\" needs every caller to forward it",
            "each service that calls svc-b.default.svc.cluster.local (an internal host: Kubernetes Service default/svc-b)",
            "CaptureLayer built with Propagation::from_mesh plus OutboundLayer do it automatically; other services must copy it by hand",
            "header-based canaries fail on the second hop",
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
            "query-parameter-based canaries fail on the second hop",
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
