//! Golden route rules: one test per Istio routing rule, each an Istio manifest, a request and the
//! decision Istio (pilot's translation plus Envoy at runtime) would make. Every test names the
//! rule and cites where the rule comes from (the sources are listed in `main.rs`).

use std::time::Duration;

use http::{HeaderMap, HeaderValue, Request, StatusCode};
use meshroute::{Abort, Decision, FastRng, Mesh, Outcome, Source};

use crate::common::{get, mesh, svc_b_routes};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn with_headers(method: &str, url: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

fn sidecar() -> Source {
    Source::sidecar("default")
}

/// A short summary of where a request went: the subset (or host when there is no subset) for a
/// route, else the outcome's name.
fn summary(d: &Decision<'_>) -> String {
    match d.outcome() {
        Outcome::Route => {
            let dest = d.destination().expect("a route has a destination");
            dest.subset.unwrap_or(dest.host).to_owned()
        }
        other => other.as_str().to_owned(),
    }
}

/// Where `request` goes from `source`.
fn goes(mesh: &Mesh, request: &Request<()>, source: &Source) -> String {
    summary(&mesh.route(request, source))
}

/// Where a GET of `url` from a sidecar in `default` goes.
fn goes_get(mesh: &Mesh, url: &str) -> String {
    goes(mesh, &get(url), &sidecar())
}

/// A random source that always returns the same number (Envoy's draw, fixed).
struct Fixed(u64);

impl meshroute::Rng for Fixed {
    fn next_u64(&mut self) -> u64 {
        self.0
    }
}

/// A DestinationRule for `svc-b` in `default` defining the subsets the tests route to.
const DR_SVC_B: &str = r#"
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-b, namespace: default}
spec:
  host: svc-b
  subsets:
  - {name: r0, labels: {route: r0}}
  - {name: r1, labels: {route: r1}}
  - {name: r2, labels: {route: r2}}
  - {name: r3, labels: {route: r3}}
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"#;

/// A VirtualService `default/svc-b` for host `svc-b` with the given `http:` list (indented by
/// two spaces), plus [`DR_SVC_B`].
/// The VirtualService `svc-b` with these routes, its DestinationRule, and the Service it routes
/// for, on the ports the tests call it on. A sidecar takes a VirtualService on a port other than
/// 80 only when one of its hosts is a service with that port (httproute.go
/// `BuildSidecarOutboundVirtualHosts`), so the Service is part of the fixture.
fn svc_b(http: &str) -> Mesh {
    mesh(&format!(
        "{}{DR_SVC_B}{SERVICE_SVC_B_PORTS}",
        svc_b_routes(http)
    ))
}

const SERVICE_SVC_B_PORTS: &str = r#"
---
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: default}
spec:
  ports:
  - {name: http, port: 80}
  - {name: https, port: 443}
  - {name: http-alt, port: 8080}
"#;

const GATEWAY: &str = r#"
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
"#;

fn gateway() -> Source {
    Source::gateway("default/gw")
}

// ---------------------------------------------------------------------------------------------
// Which VirtualService applies (httproute.go, config.go, vs.proto `hosts` and `gateways`,
// virtualservice.go delegation)
// ---------------------------------------------------------------------------------------------

/// Envoy config_impl.cc ("hostnames are case insensitive") + httproute.go
/// `ignore_port_in_host_matching: true`: the request authority selects the VirtualService,
/// lowercased and without its port.
#[test]
fn vs_host_is_the_request_authority_lowercased_without_port() {
    let mesh = svc_b("  - route:\n    - destination: {host: svc-b, subset: v1}\n");
    for url in [
        "http://svc-b/",
        "http://SVC-B:443/x",
        "http://Svc-B.Default.Svc.Cluster.Local:8080/",
    ] {
        let req = get(url);
        let d = mesh.route(&req, &sidecar());
        assert_eq!(d.outcome(), Outcome::Route, "{url}");
        assert_eq!(d.virtual_service(), Some("default/svc-b"), "{url}");
    }
    // A port the service does not have is not one of its listeners: no VirtualService there.
    let req = get("http://SVC-B:9999/x");
    assert_eq!(
        mesh.route(&req, &sidecar()).outcome(),
        Outcome::NoVirtualService
    );
    // Origin-form request: the Host header is the authority.
    let req = with_headers("GET", "/x", &[("host", "SVC-B:8080")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "v1");
}

/// config.go `ResolveShortnameToFQDN`: a short VirtualService host is expanded with the
/// VirtualService's namespace, not the caller's or the service's.
#[test]
fn short_vs_host_resolves_in_the_vs_namespace() {
    let mesh = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: foo}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
"#,
    );
    let caller = Source::sidecar("foo");
    let req = get("http://reviews.foo.svc.cluster.local/");
    let d = mesh.route(&req, &caller);
    assert_eq!(d.outcome(), Outcome::Route);
    assert_eq!(d.virtual_service(), Some("foo/reviews"));
    // The destination's short name resolves the same way.
    assert_eq!(
        d.destination().unwrap().host,
        "reviews.foo.svc.cluster.local"
    );
    let req = get("http://reviews.default.svc.cluster.local/");
    let d = mesh.route(&req, &caller);
    assert_eq!(d.outcome(), Outcome::NoVirtualService);
}

const SERVICE_SVC_B: &str = r#"
---
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: default}
spec:
  selector: {app: svc-b}
  ports:
  - {name: http, port: 8080}
"#;

/// httproute.go `generateAltVirtualHostsForKubernetesService`: a sidecar in the service's own
/// namespace reaches it as `svc`, `svc.ns`, `svc.ns.svc` and the FQDN.
#[test]
fn same_namespace_caller_reaches_every_alt_name() {
    let mesh = mesh(&format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc-b, namespace: default}}
spec:
  hosts: [svc-b]
  http:
  - route:
    - destination: {{host: svc-b, subset: v1}}
{SERVICE_SVC_B}{DR_SVC_B}"
    ));
    for host in [
        "svc-b",
        "svc-b.default",
        "svc-b.default.svc",
        "svc-b.default.svc.cluster.local",
    ] {
        let req = get(&format!("http://{host}:8080/"));
        let d = mesh.route(&req, &sidecar());
        assert_eq!(d.outcome(), Outcome::Route, "{host}");
        assert_eq!(d.virtual_service(), Some("default/svc-b"), "{host}");
        assert_eq!(
            d.destination().unwrap().host,
            "svc-b.default.svc.cluster.local"
        );
    }
}

/// httproute.go `generateAltVirtualHostsForKubernetesService`: the bare short name is a domain
/// only for callers in the service's namespace; another namespace gets no virtual service for
/// the literal host `svc-b`, but reaches `svc-b.default`.
#[test]
fn other_namespace_caller_does_not_reach_the_bare_short_name() {
    let mesh = mesh(&format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc-b, namespace: default}}
spec:
  hosts: [svc-b]
  http:
  - route:
    - destination: {{host: svc-b, subset: v1}}
{SERVICE_SVC_B}{DR_SVC_B}"
    ));
    let caller = Source::sidecar("other");
    let req = get("http://svc-b:8080/");
    let d = mesh.route(&req, &caller);
    assert_eq!(d.outcome(), Outcome::NoVirtualService);
    assert_eq!(d.virtual_service(), None);
    assert_eq!(d.destination().unwrap().host, "svc-b");
    for host in [
        "svc-b.default",
        "svc-b.default.svc",
        "svc-b.default.svc.cluster.local",
    ] {
        let req = get(&format!("http://{host}:8080/"));
        let d = mesh.route(&req, &caller);
        assert_eq!(d.outcome(), Outcome::Route, "{host}");
        assert_eq!(d.destination().unwrap().subset, Some("v1"), "{host}");
    }
}

/// host/name.go `Name.Matches`: `*.foo.com` matches any name ending in `.foo.com`, at any depth,
/// but never `foo.com` itself.
#[test]
fn wildcard_vs_host_matches_subdomains_not_the_bare_domain() {
    let mesh = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: foo, namespace: default}
spec:
  hosts: ["*.foo.com"]
  http:
  - route:
    - destination: {host: backend.foo.com}
"#,
    );
    for url in [
        "http://a.foo.com/",
        "http://a.b.foo.com/",
        "http://A.FOO.COM/",
    ] {
        let req = get(url);
        let d = mesh.route(&req, &sidecar());
        assert_eq!(d.outcome(), Outcome::Route, "{url}");
        assert_eq!(d.virtual_service(), Some("default/foo"));
    }
    assert_eq!(goes_get(&mesh, "http://foo.com/"), "noVirtualService");
    assert_eq!(goes_get(&mesh, "http://afoo.com/"), "noVirtualService");
}

/// config.go `MostSpecificHostMatch` + Envoy vhost domain precedence (rc.proto
/// `VirtualHost.domains`): an exact host beats wildcards, and the longest wildcard wins.
#[test]
fn most_specific_vs_host_wins() {
    let mesh = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wide, namespace: default}
spec:
  hosts: ["*.foo.com"]
  http:
  - route:
    - destination: {host: wide.example.com}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: narrow, namespace: default}
spec:
  hosts: ["*.bar.foo.com"]
  http:
  - route:
    - destination: {host: narrow.example.com}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: exact, namespace: default}
spec:
  hosts: [a.bar.foo.com]
  http:
  - route:
    - destination: {host: exact.example.com}
"#,
    );
    assert_eq!(
        goes_get(&mesh, "http://a.bar.foo.com/"),
        "exact.example.com"
    );
    assert_eq!(
        goes_get(&mesh, "http://b.bar.foo.com/"),
        "narrow.example.com"
    );
    assert_eq!(
        goes_get(&mesh, "http://x.y.bar.foo.com/"),
        "narrow.example.com"
    );
    assert_eq!(goes_get(&mesh, "http://b.foo.com/"), "wide.example.com");
    assert_eq!(goes_get(&mesh, "http://bar.foo.com/"), "wide.example.com");
}

/// vs.proto `gateways` + push_context.go `getGatewayNames`: omitted `gateways` means `[mesh]`
/// (sidecars only); naming gateways without `mesh` applies the rules to those gateways only.
#[test]
fn top_level_gateways_decide_sidecar_or_gateway() {
    let mesh = mesh(&format!(
        "{GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: inner, namespace: default}}
spec:
  hosts: [inner.example.com]
  http:
  - route:
    - destination: {{host: inner.example.com}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: edge, namespace: default}}
spec:
  hosts: [edge.example.com]
  gateways: [gw]
  http:
  - route:
    - destination: {{host: edge-backend.example.com}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: both, namespace: default}}
spec:
  hosts: [both.example.com]
  gateways: [gw, mesh]
  http:
  - route:
    - destination: {{host: both-backend.example.com}}
"
    ));
    // Default `mesh`: sidecars only.
    let req = get("http://inner.example.com/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.virtual_service(), Some("default/inner"));
    let req = get("http://inner.example.com/");
    let d = mesh.route(&req, &gateway());
    assert_eq!(d.outcome(), Outcome::NoRoute);
    assert_eq!(d.virtual_service(), None);
    // `[gw]`: the gateway only; a sidecar calling the host gets default routing.
    let req = get("http://edge.example.com/");
    let d = mesh.route(&req, &gateway());
    assert_eq!(d.virtual_service(), Some("default/edge"));
    assert_eq!(d.destination().unwrap().host, "edge-backend.example.com");
    let req = get("http://edge.example.com/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.outcome(), Outcome::NoVirtualService);
    // `[gw, mesh]`: both.
    for source in [sidecar(), gateway()] {
        let req = get("http://both.example.com/");
        let d = mesh.route(&req, &source);
        assert_eq!(d.virtual_service(), Some("default/both"));
    }
}

/// gateway.go `buildGatewayHTTPRouteConfig`: a gateway proxy builds its routes from the Gateways
/// that select it and the VirtualServices bound to those by name (`VirtualServicesForGateway`),
/// so a VirtualService bound to a Gateway the configuration does not define routes nothing
/// (istioctl: IST0101 "Referenced gateway not found"). `Mesh::has_gateway` tells such a gateway;
/// `Mesh::route` answers its requests with no route (404 NR), and `explain` says why.
#[test]
fn undefined_gateway_routes_nothing() {
    let edge = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge, namespace: default}
spec:
  hosts: [edge.example.com]
  gateways: [gw]
  http:
  - route:
    - destination: {host: edge-backend.example.com}
";
    let without = mesh(edge);
    assert!(!without.has_gateway("default/gw"));
    assert!(!without.has_gateway("gw"));
    let req = get("http://edge.example.com/");
    let d = without.route(&req, &gateway());
    assert_eq!(d.outcome(), Outcome::NoRoute);
    assert_eq!(d.virtual_service(), None);
    let (_, explanation) = without.explain(&req, &gateway(), &mut FastRng::from_seed(0));
    assert!(
        explanation
            .to_string()
            .contains("port 80: no Gateway of that name in the configuration: nothing listens"),
        "{explanation}"
    );

    let with = mesh(&format!("{GATEWAY}---\n{edge}"));
    assert!(with.has_gateway("default/gw"));
    assert!(
        with.has_gateway("gw"),
        "a bare name is in namespace default"
    );
    assert!(!with.has_gateway("other/gw"));
    let d = with.route(&req, &gateway());
    assert_eq!(d.virtual_service(), Some("default/edge"));
    // The same Gateway with no VirtualService bound: known, every request 404.
    let alone = mesh(GATEWAY);
    assert!(alone.has_gateway("default/gw"));
    assert_eq!(alone.route(&req, &gateway()).outcome(), Outcome::NoRoute);
}

fn two_vses_for_svc_b(first: (&str, &str), second: (&str, &str)) -> Mesh {
    let vs = |(name, created): (&str, &str), subset: &str| {
        format!(
            "---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: default, creationTimestamp: \"{created}\"}}
spec:
  hosts: [svc-b]
  http:
  - route:
    - destination: {{host: svc-b, subset: {subset}}}
"
        )
    };
    mesh(&format!(
        "{}{}{DR_SVC_B}",
        vs(first, "r0"),
        vs(second, "r1")
    ))
}

/// httproute.go `dedupeDomains` + config.go `configCompareByCreationTime`: sidecars do not merge
/// VirtualServices for one host; the oldest `metadata.creationTimestamp` wins, whatever the
/// order of the manifests.
#[test]
fn oldest_vs_wins_for_sidecars() {
    let mesh = two_vses_for_svc_b(
        ("aaa-newer", "2024-06-01T00:00:00Z"),
        ("zzz-older", "2024-01-01T00:00:00Z"),
    );
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.virtual_service(), Some("default/zzz-older"));
    assert_eq!(summary(&d), "r1");
}

/// config.go `configCompareByCreationTime`: equal creation times are ordered by name.
#[test]
fn equal_creation_times_tie_break_by_name() {
    let mesh = two_vses_for_svc_b(
        ("beta", "2024-01-01T00:00:00Z"),
        ("alpha", "2024-01-01T00:00:00Z"),
    );
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.virtual_service(), Some("default/alpha"));
    assert_eq!(summary(&d), "r1");
}

/// gateway.go + route.go `SortVHostRoutes`: on a gateway the routes of every VirtualService for a
/// host are concatenated (oldest first) and catch-all routes move to the end.
#[test]
fn gateway_concatenates_vses_with_catch_alls_last() {
    let mesh = mesh(&format!(
        "{GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: first, namespace: default, creationTimestamp: \"2024-01-01T00:00:00Z\"}}
spec:
  hosts: [bookinfo.com]
  gateways: [gw]
  http:
  - route:
    - destination: {{host: catch-all.default.svc.cluster.local}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: second, namespace: default, creationTimestamp: \"2024-02-01T00:00:00Z\"}}
spec:
  hosts: [bookinfo.com]
  gateways: [gw]
  http:
  - match:
    - uri: {{prefix: /reviews}}
    route:
    - destination: {{host: reviews.default.svc.cluster.local}}
"
    ));
    let req = get("http://bookinfo.com/reviews/1");
    let d = mesh.route(&req, &gateway());
    assert_eq!(d.virtual_service(), Some("default/second"));
    assert_eq!(summary(&d), "reviews.default.svc.cluster.local");
    let req = get("http://bookinfo.com/other");
    let d = mesh.route(&req, &gateway());
    assert_eq!(d.virtual_service(), Some("default/first"));
    assert_eq!(summary(&d), "catch-all.default.svc.cluster.local");
}

const DELEGATION: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root, namespace: default}
spec:
  hosts: [svc-b]
  http:
  - name: reviews
    match:
    - uri: {prefix: /reviews}
    delegate: {name: reviews-delegate}
    timeout: 5s
  - name: missing
    match:
    - uri: {prefix: /missing}
    delegate: {name: does-not-exist}
  - name: rest
    route:
    - destination: {host: svc-b, subset: r3}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-delegate, namespace: default}
spec:
  http:
  - name: v2
    match:
    - uri: {prefix: /reviews/v2}
    route:
    - destination: {host: svc-b, subset: v2}
  - name: conflict
    match:
    - uri: {prefix: /ratings}
    route:
    - destination: {host: svc-b, subset: r0}
  - name: v1
    route:
    - destination: {host: svc-b, subset: v1}
    timeout: 1s
"#;

/// virtualservice.go `MergeHTTPRoutes`: a delegate's routes replace the root route; a leaf match is
/// merged with the root match, a leaf without matches inherits the root's, unset route fields
/// (timeout) are inherited, and the merged name is `root-leaf`.
#[test]
fn delegate_routes_merge_into_the_root_route() {
    let mesh = mesh(&format!("{DELEGATION}{DR_SVC_B}"));
    let req = get("http://svc-b/reviews/v2/x");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(summary(&d), "v2");
    assert_eq!(d.virtual_service(), Some("default/root"));
    assert_eq!(d.route().unwrap().index, 0);
    assert_eq!(d.route().unwrap().name, Some("reviews-v2"));
    assert_eq!(d.timeout(), Some(Duration::from_secs(5)));
    // The leaf without matches inherits the root match (`/reviews`) and keeps its own timeout.
    let req = get("http://svc-b/reviews/other");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(summary(&d), "v1");
    assert_eq!(d.route().unwrap().name, Some("reviews-v1"));
    assert_eq!(d.timeout(), Some(Duration::from_secs(1)));
}

/// virtualservice.go `hasConflict`: a delegate match that conflicts with every root match (a leaf
/// prefix that does not start with the root prefix) drops the whole delegate route.
#[test]
fn delegate_route_conflicting_with_every_root_match_is_dropped() {
    let mesh = mesh(&format!("{DELEGATION}{DR_SVC_B}"));
    // Without the drop, `/ratings` would reach the `conflict` leaf (r0).
    let req = get("http://svc-b/ratings");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(summary(&d), "r3");
    assert_eq!(d.route().unwrap().name, Some("rest"));
}

/// virtualservice_controller.go / vs.proto `Delegate`: a missing (or unexported) delegate skips only the root
/// route that names it; the other routes still apply.
#[test]
fn missing_delegate_skips_only_that_route() {
    let mesh = mesh(&format!("{DELEGATION}{DR_SVC_B}"));
    let req = get("http://svc-b/missing/x");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.outcome(), Outcome::Route);
    assert_eq!(d.route().unwrap().name, Some("rest"));
    assert_eq!(d.route().unwrap().index, 2);
}

/// virtualservice.go `MergeHTTPRoutes`: merged matches are the cross product of leaf and root matches,
/// fields the leaf leaves unset come from the root, header maps are merged.
#[test]
fn delegate_matches_are_the_cross_product_with_root_matches() {
    let mesh = mesh(&format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: root, namespace: default}}
spec:
  hosts: [svc-b]
  http:
  - match:
    - uri: {{prefix: /reviews}}
      headers: {{x-env: {{exact: prod}}}}
    - uri: {{prefix: /api/reviews}}
    delegate: {{name: leaf}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: leaf, namespace: default}}
spec:
  http:
  - match:
    - headers: {{end-user: {{exact: jason}}}}
    route:
    - destination: {{host: svc-b, subset: v2}}
  - route:
    - destination: {{host: svc-b, subset: v1}}
{DR_SVC_B}"
    ));
    let jason = |url: &str, extra: &[(&str, &str)]| {
        let mut headers = vec![("end-user", "jason")];
        headers.extend_from_slice(extra);
        goes(&mesh, &with_headers("GET", url, &headers), &sidecar())
    };
    assert_eq!(jason("http://svc-b/reviews/1", &[("x-env", "prod")]), "v2");
    // The root's header condition is inherited by every merged match of `/reviews`, the
    // match-less leaf included.
    assert_eq!(jason("http://svc-b/reviews/1", &[]), "noRoute");
    assert_eq!(
        goes(
            &mesh,
            &with_headers("GET", "http://svc-b/reviews/1", &[("x-env", "prod")]),
            &sidecar()
        ),
        "v1"
    );
    assert_eq!(jason("http://svc-b/api/reviews/1", &[]), "v2");
    let req = with_headers(
        "GET",
        "http://svc-b/api/reviews/1",
        &[("end-user", "jason")],
    );
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.matched().unwrap().index, 1);
    // Neither root match: the merged routes never apply.
    assert_eq!(jason("http://svc-b/other", &[]), "noRoute");
}

/// virtualservice.go `mergeHTTPMatchRequests` ("each HTTPMatchRequest of delegate must find a superset
/// in root, otherwise it conflicts"): if any one leaf match conflicts with every root match,
/// the whole leaf route is dropped, its compatible matches included. Merged match names are
/// `root-leaf` (`mergeHTTPMatchRequest`).
#[test]
fn delegate_leaf_match_without_a_compatible_root_match_drops_the_route() {
    let mesh = mesh(&format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: root, namespace: default}}
spec:
  hosts: [svc-b]
  http:
  - match: [{{name: reviews, uri: {{prefix: /reviews}}}}]
    delegate: {{name: leaf}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: leaf, namespace: default}}
spec:
  http:
  - match:
    - uri: {{prefix: /reviews/v2}}
    - uri: {{prefix: /ratings}}
    route: [{{destination: {{host: svc-b, subset: v2}}}}]
  - match: [{{name: v1, uri: {{prefix: /reviews/v1}}}}]
    route: [{{destination: {{host: svc-b, subset: v1}}}}]
  - route: [{{destination: {{host: svc-b, subset: r0}}}}]
{DR_SVC_B}"
    ));
    assert_eq!(goes_get(&mesh, "http://svc-b/reviews/v2"), "r0");
    let req = get("http://svc-b/reviews/v1");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(summary(&d), "v1");
    assert_eq!(d.matched().unwrap().name, Some("reviews-v1"));
    // The match-less leaf inherits the root match, name included.
    let req = get("http://svc-b/reviews/other");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(summary(&d), "r0");
    assert_eq!(d.matched().unwrap().name, Some("reviews"));
}

/// virtualservice.go `hasConflict` / `stringMatchConflict`: a leaf header prefix that extends the
/// root's does not conflict; a different `ignoreUriCase`, or a root `sourceNamespace` the leaf
/// does not repeat, does.
#[test]
fn delegate_conflicts_follow_has_conflict() {
    let mesh = mesh(&format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: root, namespace: default}}
spec:
  hosts: [svc-b]
  http:
  - match: [{{uri: {{prefix: /h}}, headers: {{x-team: {{prefix: a}}}}}}]
    delegate: {{name: headers}}
  - match: [{{uri: {{prefix: /case}}, ignoreUriCase: true}}]
    delegate: {{name: case}}
  - match: [{{uri: {{prefix: /ns}}, sourceNamespace: default}}]
    delegate: {{name: ns}}
  - route: [{{destination: {{host: svc-b, subset: r0}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: headers, namespace: default}}
spec:
  http:
  - match: [{{headers: {{x-team: {{prefix: ab}}}}}}]
    route: [{{destination: {{host: svc-b, subset: r1}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: case, namespace: default}}
spec:
  http:
  - match: [{{headers: {{x-case: {{exact: \"1\"}}}}}}]
    route: [{{destination: {{host: svc-b, subset: r2}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: ns, namespace: default}}
spec:
  http:
  - match: [{{headers: {{x-ns: {{exact: \"1\"}}}}}}]
    route: [{{destination: {{host: svc-b, subset: r3}}}}]
{DR_SVC_B}"
    ));
    let req = with_headers("GET", "http://svc-b/h", &[("x-team", "abc")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "r1");
    // The merged header matcher is the leaf's (`prefix: ab`).
    let req = with_headers("GET", "http://svc-b/h", &[("x-team", "ax")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "r0");
    let req = with_headers("GET", "http://svc-b/case", &[("x-case", "1")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "r0");
    let req = with_headers("GET", "http://svc-b/ns", &[("x-ns", "1")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "r0");
}

/// vs.proto `exportTo`: `.` makes the VirtualService visible in its own namespace only; other
/// namespaces get default routing.
#[test]
fn export_to_dot_hides_the_vs_from_other_namespaces() {
    let mesh = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: foo}
spec:
  hosts: [reviews]
  exportTo: ["."]
  http:
  - route:
    - destination: {host: reviews, port: {number: 9080}}
"#,
    );
    let req = get("http://reviews/");
    let d = mesh.route(&req, &Source::sidecar("foo"));
    assert_eq!(d.virtual_service(), Some("foo/reviews"));
    let req = get("http://reviews.foo/");
    let d = mesh.route(&req, &Source::sidecar("default"));
    assert_eq!(d.outcome(), Outcome::NoVirtualService);
}

// ---------------------------------------------------------------------------------------------
// Matching: vs.proto `HTTPMatchRequest`, route.go `TranslateRouteMatch` and
// `BuildHTTPRoutesForVirtualService`, rc.proto `RouteMatch`
// ---------------------------------------------------------------------------------------------

/// vs.proto `http` + rc.proto (Envoy evaluates routes in order): the first route that matches
/// is used, even when a later one matches more specifically.
#[test]
fn first_matching_route_wins() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /a}}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - match: [{uri: {prefix: /a/b}}]
    route: [{destination: {host: svc-b, subset: r1}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/a/b"), "r0");
}

/// vs.proto `HTTPRoute.match`: the match list is ORed; the decision reports which match fired.
#[test]
fn match_list_is_ored() {
    let mesh = svc_b(
        "  - match:
    - uri: {exact: /a}
    - headers: {x-canary: {exact: \"1\"}}
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    let req = get("http://svc-b/a");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.matched().unwrap().index, 0);
    let req = with_headers("GET", "http://svc-b/b", &[("x-canary", "1")]);
    let d = mesh.route(&req, &sidecar());
    assert_eq!(summary(&d), "r0");
    assert_eq!(d.matched().unwrap().index, 1);
    assert_eq!(goes_get(&mesh, "http://svc-b/b"), "noRoute");
}

/// vs.proto `HTTPMatchRequest` + route.go `TranslateRouteMatch` (one Envoy `RouteMatch` per
/// match) + rc.proto `RouteMatch` (the path, every `headers` and every `query_parameters`
/// matcher must match): every field inside one match must hold.
#[test]
fn match_fields_are_anded() {
    let mesh = svc_b(
        "  - match:
    - uri: {prefix: /a}
      method: {exact: POST}
      headers: {x-user: {exact: jason}}
      queryParams: {v: {exact: \"2\"}}
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    let all = with_headers("POST", "http://svc-b/a?v=2", &[("x-user", "jason")]);
    assert_eq!(goes(&mesh, &all, &sidecar()), "r0");
    for (method, url, user) in [
        ("GET", "http://svc-b/a?v=2", "jason"),
        ("POST", "http://svc-b/b?v=2", "jason"),
        ("POST", "http://svc-b/a?v=2", "bob"),
        ("POST", "http://svc-b/a?v=3", "jason"),
    ] {
        let req = with_headers(method, url, &[("x-user", user)]);
        assert_eq!(
            goes(&mesh, &req, &sidecar()),
            "noRoute",
            "{method} {url} {user}"
        );
    }
}

/// route.go `TranslateRouteMatch` + Envoy `PathMatcher::match` (`removeQueryAndFragment`): the
/// query string is removed before uri matching, for exact, prefix and regex alike
/// (routing.go "redirect", "rewrite uri": `exact: /foo` matches `/foo?key=value`).
#[test]
fn uri_is_matched_without_the_query_string() {
    let mesh = svc_b(
        "  - match: [{uri: {exact: /foo}}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - match: [{uri: {prefix: /bar/}}]
    route: [{destination: {host: svc-b, subset: r1}}]
  - match: [{uri: {regex: \"/baz/[0-9]+\"}}]
    route: [{destination: {host: svc-b, subset: r2}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/foo?key=value"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/bar/?q=/x"), "r1");
    assert_eq!(goes_get(&mesh, "http://svc-b/baz/12?page=3"), "r2");
    assert_eq!(goes_get(&mesh, "http://svc-b/baz/12x?page=3"), "noRoute");
}

/// regex.proto ("matched against the full string") + rc.proto `safe_regex` ("the entire path
/// ... must match"): a uri regex is a full match, `/status` does not match `/v1/status`.
#[test]
fn uri_regex_is_a_full_match() {
    let mesh = svc_b(
        "  - match: [{uri: {regex: /status}}]
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/status"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/v1/status"), "noRoute");
    assert_eq!(goes_get(&mesh, "http://svc-b/status/x"), "noRoute");
}

/// route.go `TranslateRouteMatch` (Envoy `prefix`, not `path_separated_prefix`, for
/// user-written VirtualServices): `prefix: /foo` is a plain string prefix and matches `/foobar`.
#[test]
fn uri_prefix_is_a_plain_string_prefix() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /foo}}]
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/foo"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/foo/x"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/foobar"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/fo"), "noRoute");
    assert_eq!(goes_get(&mesh, "http://svc-b/Foo"), "noRoute");
}

/// route.go (`case_sensitive: !ignoreUriCase`) + rc.proto `case_sensitive` ("ignored for
/// safe_regex matching"): `ignoreUriCase` applies to exact and prefix; a regex stays
/// case-sensitive.
#[test]
fn ignore_uri_case_applies_to_exact_and_prefix_not_regex() {
    let mesh = svc_b(
        "  - match: [{uri: {exact: /Exact}, ignoreUriCase: true}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - match: [{uri: {prefix: /Prefix}, ignoreUriCase: true}]
    route: [{destination: {host: svc-b, subset: r1}}]
  - match: [{uri: {regex: /regex}, ignoreUriCase: true}]
    route: [{destination: {host: svc-b, subset: r2}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/EXACT"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/exact"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/pREFIX/x"), "r1");
    assert_eq!(goes_get(&mesh, "http://svc-b/regex"), "r2");
    assert_eq!(goes_get(&mesh, "http://svc-b/REGEX"), "noRoute");
}

/// Envoy header_utility (`LowerCaseString` names) + vs.proto: header names are case-insensitive,
/// header values are case-sensitive.
#[test]
fn header_names_are_case_insensitive_values_case_sensitive() {
    let mesh = svc_b(
        "  - match: [{headers: {X-User: {exact: Jason}}}]
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    let req = with_headers("GET", "http://svc-b/", &[("x-user", "Jason")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "r0");
    let req = with_headers("GET", "http://svc-b/", &[("X-USER", "Jason")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "r0");
    let req = with_headers("GET", "http://svc-b/", &[("x-user", "jason")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "noRoute");
}

/// Envoy header_utility `getAllOfHeaderAsString(..., ",")`: a repeated header is matched as all
/// its values joined with `,`.
#[test]
fn repeated_headers_are_joined_with_commas() {
    let mesh = svc_b(
        "  - match: [{headers: {x-tag: {exact: \"a,b\"}}}]
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    let req = with_headers("GET", "http://svc-b/", &[("x-tag", "a"), ("x-tag", "b")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "r0");
    let req = with_headers("GET", "http://svc-b/", &[("x-tag", "a")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "noRoute");
}

/// route.go `canBeConvertedToPresentMatch`: `{}` is Envoy `present_match`, which holds for any
/// value, the empty one included, and fails only when the header is absent.
#[test]
fn header_presence_matches_any_value_including_empty() {
    let mesh = svc_b(
        "  - match: [{headers: {x-debug: {}}}]
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    for value in ["", "1", "anything"] {
        let req = with_headers("GET", "http://svc-b/", &[("x-debug", value)]);
        assert_eq!(goes(&mesh, &req, &sidecar()), "r0", "{value:?}");
    }
    assert_eq!(goes_get(&mesh, "http://svc-b/"), "noRoute");
}

/// route.go `translateHeaderMatch` (Envoy `string_match.exact: ""`): `exact: ""` needs the
/// header present with an empty value; it is not a presence check.
#[test]
fn header_exact_empty_needs_a_present_empty_header() {
    let mesh = svc_b(
        "  - match: [{headers: {x-debug: {exact: \"\"}}}]
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    let req = with_headers("GET", "http://svc-b/", &[("x-debug", "")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "r0");
    let req = with_headers("GET", "http://svc-b/", &[("x-debug", "1")]);
    assert_eq!(goes(&mesh, &req, &sidecar()), "noRoute");
    assert_eq!(goes_get(&mesh, "http://svc-b/"), "noRoute");
}

/// Checks one `withoutHeaders` entry against four requests: the header absent, present `""`,
/// present `jason`, present `bob`. route.go `TranslateRouteMatch` makes the entry an Envoy
/// `HeaderMatcher` with `invert_match`, plus `treat_missing_header_as_empty` unless it is a
/// presence test (rc.proto `HeaderMatcher`).
fn without_headers_row(matcher: &str, expected: [bool; 4]) {
    let mesh = svc_b(&format!(
        "  - match: [{{withoutHeaders: {{end-user: {matcher}}}}}]
    route: [{{destination: {{host: svc-b, subset: r0}}}}]
"
    ));
    let requests = [
        get("http://svc-b/"),
        with_headers("GET", "http://svc-b/", &[("end-user", "")]),
        with_headers("GET", "http://svc-b/", &[("end-user", "jason")]),
        with_headers("GET", "http://svc-b/", &[("end-user", "bob")]),
    ];
    for ((req, expected), row) in requests
        .iter()
        .zip(expected)
        .zip(["absent", "empty", "jason", "bob"])
    {
        let matched = goes(&mesh, req, &sidecar()) == "r0";
        assert_eq!(matched, expected, "withoutHeaders {matcher}, header {row}");
    }
}

/// route.go withoutHeaders (`invert_match` + `treat_missing_header_as_empty`, Istio ≥ 1.22) +
/// routing.go "without headers": `{exact: jason}` matches an absent header and any other value.
#[test]
fn without_headers_exact_matches_absent_and_other_values() {
    without_headers_row("{exact: jason}", [true, true, false, true]);
}

/// routing.go "without headers regex convert to present_match": a presence matcher (`{}` or
/// `regex: "*"`) inverted matches only when the header is absent.
#[test]
fn without_headers_presence_matches_only_absent() {
    without_headers_row("{}", [true, false, false, false]);
    without_headers_row("{regex: \"*\"}", [true, false, false, false]);
}

/// routing.go "without headers regex match any string": `regex: ".*"` also matches a missing
/// header (treated as empty), so inverted it never matches.
#[test]
fn without_headers_regex_dot_star_never_matches() {
    without_headers_row("{regex: \".*\"}", [false, false, false, false]);
}

/// route.go `TranslateRouteMatch` (`invert_match` + `treat_missing_header_as_empty`) + rc.proto
/// `HeaderMatcher.treat_missing_header_as_empty`: `exact: ""` inverted fails for an absent
/// header (treated as `""`) and an empty one, and matches any non-empty value.
#[test]
fn without_headers_exact_empty_matches_non_empty_values() {
    without_headers_row("{exact: \"\"}", [false, false, true, true]);
}

/// route.go `translateQueryParamMatch` + rc.proto `QueryParameterMatcher`: exact, prefix and
/// regex (full match) are compared with the first occurrence's value.
#[test]
fn query_params_match_the_first_value() {
    let mesh = svc_b(
        "  - match: [{queryParams: {name: {exact: xx}}}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - match: [{queryParams: {name: {prefix: yy}}}]
    route: [{destination: {host: svc-b, subset: r1}}]
  - match: [{queryParams: {id: {regex: \"\\\\d+\"}}}]
    route: [{destination: {host: svc-b, subset: r2}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/?name=xx"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/?a=1&name=xx"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/?name=XX"), "noRoute");
    assert_eq!(goes_get(&mesh, "http://svc-b/?name=xx&name=yy"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/?name=yy&name=xx"), "r1");
    assert_eq!(goes_get(&mesh, "http://svc-b/?name=yyz"), "r1");
    assert_eq!(goes_get(&mesh, "http://svc-b/?id=123"), "r2");
    assert_eq!(goes_get(&mesh, "http://svc-b/?id=a123"), "noRoute");
    assert_eq!(goes_get(&mesh, "http://svc-b/?id=123a"), "noRoute");
    assert_eq!(goes_get(&mesh, "http://svc-b/?other=xx"), "noRoute");
}

/// vs.proto `queryParams` example: a parameter without a value (`?key`) has the value `""`, so
/// `exact: ""` and presence `{}` match it.
#[test]
fn query_param_without_value_is_empty() {
    let mesh = svc_b(
        "  - match: [{queryParams: {debug: {exact: \"\"}}}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - match: [{queryParams: {trace: {}}}]
    route: [{destination: {host: svc-b, subset: r1}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/?debug"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/?debug="), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/?debug=1"), "noRoute");
    assert_eq!(goes_get(&mesh, "http://svc-b/?trace"), "r1");
    assert_eq!(goes_get(&mesh, "http://svc-b/?trace=on"), "r1");
}

/// rc.proto `QueryParameterMatcher` (values are still URL-encoded): `foo%20bar` is compared as
/// written, not decoded.
#[test]
fn query_param_values_are_compared_percent_encoded() {
    let mesh = svc_b(
        "  - match: [{queryParams: {q: {exact: \"foo%20bar\"}}}]
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/?q=foo%20bar"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/?q=foo+bar"), "noRoute");
}

/// route.go `TranslateRouteMatch` (`authority` → a `:authority` header matcher, compared with
/// the header as sent; the port is ignored only when Envoy picks the virtual host, through the
/// `ignore_port_in_host_matching` httproute.go sets on the `RouteConfiguration`): the authority
/// is matched as sent, port included; `exact: foo.com` does not match `foo.com:8080`.
#[test]
fn authority_match_sees_the_port_as_sent() {
    let mesh = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: foo, namespace: default}
spec:
  hosts: [foo.com]
  http:
  - match: [{authority: {exact: foo.com}}]
    route: [{destination: {host: exact.example.com}}]
  - match: [{authority: {prefix: foo.com}}]
    route: [{destination: {host: prefix.example.com}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: foo, namespace: default}
spec:
  hosts: [foo.com]
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 8080, name: http-alt, protocol: HTTP}]
  resolution: DNS
"#,
    );
    assert_eq!(goes_get(&mesh, "http://foo.com/"), "exact.example.com");
    assert_eq!(
        goes_get(&mesh, "http://foo.com:8080/"),
        "prefix.example.com"
    );
}

/// route.go (`method` → `:method` header matcher): `exact: GET` does not match HEAD or `get`.
#[test]
fn method_match_is_exact_and_case_sensitive() {
    let mesh = svc_b(
        "  - match: [{method: {exact: GET}}]
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/"), "r0");
    let head = with_headers("HEAD", "http://svc-b/", &[]);
    assert_eq!(goes(&mesh, &head, &sidecar()), "noRoute");
}

/// route.go (`scheme` → `:scheme` header matcher): the scheme the request was sent with.
#[test]
fn scheme_match() {
    let mesh = svc_b(
        "  - match: [{scheme: {exact: https}}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - match: [{scheme: {exact: http}}]
    route: [{destination: {host: svc-b, subset: r1}}]
",
    );
    assert_eq!(goes_get(&mesh, "https://svc-b/"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/"), "r1");
}

/// route.go `TranslateRouteMatch` (header keys are not filtered) + routing.go "pseudo header
/// matches": `:method` and `:authority` as `headers` keys match the pseudo-headers.
#[test]
fn pseudo_header_keys_in_headers() {
    let mesh = svc_b(
        "  - match: [{headers: {\":method\": {exact: GET}}}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - match: [{headers: {\":authority\": {exact: \"svc-b:8080\"}}}]
    route: [{destination: {host: svc-b, subset: r1}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/"), "r0");
    let post = with_headers("POST", "http://svc-b:8080/", &[]);
    assert_eq!(goes(&mesh, &post, &sidecar()), "r1");
    let post = with_headers("POST", "http://svc-b/", &[]);
    assert_eq!(goes(&mesh, &post, &sidecar()), "noRoute");
}

/// route.go `translateRoute`: a match whose `port` differs from the port being configured is
/// dropped (config time); the port is the one the request is sent to.
#[test]
fn port_selector_keeps_matches_for_that_port_only() {
    let mesh = svc_b(
        "  - match: [{port: 8080, uri: {prefix: /a}}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - route: [{destination: {host: svc-b, subset: r1}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b:8080/a"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b:443/a"), "r1");
}

/// route.go `sourceMatchHTTP`: a match with `sourceLabels` is kept only for callers whose labels
/// are a superset.
#[test]
fn source_labels_select_the_caller() {
    let mesh = svc_b(
        "  - match: [{sourceLabels: {app: reviews, version: v2}}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - route: [{destination: {host: svc-b, subset: r1}}]
",
    );
    let req = get("http://svc-b/");
    let v2 = sidecar().with_labels([("app", "reviews"), ("version", "v2"), ("extra", "x")]);
    let v1 = sidecar().with_labels([("app", "reviews"), ("version", "v1")]);
    assert_eq!(goes(&mesh, &req, &v2), "r0");
    assert_eq!(goes(&mesh, &req, &v1), "r1");
    assert_eq!(goes(&mesh, &req, &sidecar()), "r1");
}

/// route.go `sourceMatchHTTP`: `sourceNamespace` keeps a match only for callers in that
/// namespace.
#[test]
fn source_namespace_selects_the_caller() {
    let mesh = svc_b(
        "  - match: [{sourceNamespace: team-a}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - route: [{destination: {host: svc-b, subset: r1}}]
",
    );
    let req = get("http://svc-b.default/");
    assert_eq!(goes(&mesh, &req, &Source::sidecar("team-a")), "r0");
    assert_eq!(goes(&mesh, &req, &Source::sidecar("team-b")), "r1");
}

/// route.go `sourceMatchHTTP`: per-match `gateways` keep a match only on the named gateways
/// (`mesh` for sidecars).
#[test]
fn per_match_gateways_select_the_proxy() {
    let mesh = mesh(&format!(
        "{GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc-b, namespace: default}}
spec:
  hosts: [svc-b]
  gateways: [gw, mesh]
  http:
  - match: [{{gateways: [gw], uri: {{prefix: /}}}}]
    route: [{{destination: {{host: svc-b, subset: r0}}}}]
  - match: [{{gateways: [mesh], uri: {{prefix: /}}}}]
    route: [{{destination: {{host: svc-b, subset: r1}}}}]
{DR_SVC_B}"
    ));
    let req = get("http://svc-b.default.svc.cluster.local/");
    assert_eq!(goes(&mesh, &req, &gateway()), "r0");
    assert_eq!(goes(&mesh, &req, &sidecar()), "r1");
}

/// route.go `sourceMatchHTTP`: when a match sets `gateways`, its `sourceLabels` (and
/// `sourceNamespace`) are not checked at all.
#[test]
fn match_gateways_make_source_labels_ignored() {
    let mesh = svc_b(
        "  - match: [{gateways: [mesh], sourceLabels: {app: nobody}, sourceNamespace: nowhere}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - route: [{destination: {host: svc-b, subset: r1}}]
",
    );
    let caller = sidecar().with_labels([("app", "reviews")]);
    assert_eq!(goes(&mesh, &get("http://svc-b/"), &caller), "r0");
}

/// route.go `BuildHTTPRoutesForVirtualService` + `TranslateRoute` (a match whose `port` or
/// `sourceMatchHTTP` does not fit the caller yields no Envoy route): a route whose matches are
/// all dropped for this caller disappears; it does not become a catch-all.
#[test]
fn route_whose_matches_all_drop_disappears() {
    let mesh = svc_b(
        "  - match: [{sourceLabels: {app: canary}}, {sourceNamespace: canary}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - match: [{uri: {prefix: /b}}]
    route: [{destination: {host: svc-b, subset: r1}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/b"), "r1");
    let req = get("http://svc-b/a");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.outcome(), Outcome::NoRoute);
    assert_eq!(d.local_status(), Some(StatusCode::NOT_FOUND));
    // For the selected caller the same route is a catch-all.
    let canary = sidecar().with_labels([("app", "canary")]);
    assert_eq!(goes(&mesh, &get("http://svc-b/a"), &canary), "r0");
}

/// route.go `buildSidecarVirtualHostsForVirtualService` ("no routes matched" → no virtual host):
/// a VirtualService that leaves no route for this caller gives default routing, not a 404.
#[test]
fn vs_without_routes_for_the_caller_gives_default_routing() {
    let mesh = svc_b(
        "  - match: [{sourceLabels: {app: canary}}]
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.outcome(), Outcome::NoVirtualService);
    assert_eq!(d.virtual_service(), None);
    assert_eq!(d.local_status(), None);
    let dest = d.destination().unwrap();
    assert_eq!(dest.host, "svc-b.default.svc.cluster.local");
    assert_eq!(dest.subset, None);
}

/// route.go `BuildHTTPRoutesForVirtualService`: a route without `match` is a catch-all; it is
/// emitted and every later route is discarded, so they never fire.
#[test]
fn route_without_match_is_a_catch_all_truncating_later_routes() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /a}}]
    route: [{destination: {host: svc-b, subset: r0}}]
  - route: [{destination: {host: svc-b, subset: r1}}]
  - match: [{uri: {prefix: /c}}]
    route: [{destination: {host: svc-b, subset: r2}}]
",
    );
    assert_eq!(goes_get(&mesh, "http://svc-b/a"), "r0");
    assert_eq!(goes_get(&mesh, "http://svc-b/c"), "r1");
    let req = get("http://svc-b/zzz");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.route().unwrap().index, 1);
    assert_eq!(d.matched(), None);
}

/// Two gateway VirtualServices for `bookinfo.com`: `first` (older) with `first_routes`, `second`
/// with a `/b` route to `second-b`.
fn gateway_pair(first_routes: &str) -> Mesh {
    mesh(&format!(
        "{GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: first, namespace: default, creationTimestamp: \"2024-01-01T00:00:00Z\"}}
spec:
  hosts: [bookinfo.com]
  gateways: [gw]
  http:
{first_routes}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: second, namespace: default, creationTimestamp: \"2024-02-01T00:00:00Z\"}}
spec:
  hosts: [bookinfo.com]
  gateways: [gw]
  http:
  - match: [{{uri: {{prefix: /b}}}}]
    route: [{{destination: {{host: second-b.example.com}}}}]
"
    ))
}

/// route.go `IsCatchAllRoute` + `BuildHTTPRoutesForVirtualService` + `SortVHostRoutes`:
/// `uri: {prefix: /}` is a catch-all, so the rest of its VirtualService is discarded and, on a
/// gateway, it moves behind the other VirtualService's routes: `/b` reaches `second`, not
/// `first`'s own `/b` route.
#[test]
fn prefix_slash_is_a_catch_all_truncating_later_routes() {
    let mesh = gateway_pair(
        "  - match: [{uri: {prefix: /}}]
    route: [{destination: {host: first-all.example.com}}]
  - match: [{uri: {prefix: /b}}]
    route: [{destination: {host: first-b.example.com}}]
",
    );
    assert_eq!(
        goes(&mesh, &get("http://bookinfo.com/b"), &gateway()),
        "second-b.example.com"
    );
    assert_eq!(
        goes(&mesh, &get("http://bookinfo.com/x"), &gateway()),
        "first-all.example.com"
    );
}

/// routing.go "catch all route short circuit the other routes" + route.go `IsCatchAllRoute`
/// (regex `.*`): a `regex: .*` match is a catch-all too.
#[test]
fn regex_dot_star_is_a_catch_all() {
    let mesh = gateway_pair(
        "  - match: [{uri: {regex: \".*\"}}]
    route: [{destination: {host: first-all.example.com}}]
  - match: [{uri: {prefix: /b}}]
    route: [{destination: {host: first-b.example.com}}]
",
    );
    assert_eq!(
        goes(&mesh, &get("http://bookinfo.com/b"), &gateway()),
        "second-b.example.com"
    );
}

/// route.go `IsCatchAllRoute` (only `/` counts): `prefix: ""` matches every path but is not a
/// catch-all, so it is neither moved to the end on a gateway nor truncates later routes.
#[test]
fn empty_prefix_is_not_a_catch_all() {
    let mesh = gateway_pair(
        "  - match: [{uri: {prefix: \"\"}}]
    route: [{destination: {host: first-all.example.com}}]
  - match: [{uri: {prefix: /b}}]
    route: [{destination: {host: first-b.example.com}}]
",
    );
    assert_eq!(
        goes(&mesh, &get("http://bookinfo.com/b"), &gateway()),
        "first-all.example.com"
    );
    assert_eq!(
        goes(&mesh, &get("http://bookinfo.com/anything"), &gateway()),
        "first-all.example.com"
    );
}

/// route.go `translateRoute` (port dropped per listener port) + `IsCatchAllRoute` +
/// `SortVHostRoutes`, route_test "catch all route：port match": on a gateway, a match with only
/// `port` is a catch-all *for that port*: it truncates the rest of its VirtualService there and
/// moves behind other VirtualServices' routes, while on other ports it is dropped. The gateway
/// listens on both ports (model/gateway.go: one route configuration per server port).
#[test]
fn port_only_match_is_a_catch_all_for_its_port_on_gateways() {
    let two_ports = GATEWAY.replace(
        "    hosts: [\"*\"]\n",
        "    hosts: [\"*\"]\n  - port: {number: 8080, name: http-8080, protocol: HTTP}\n    hosts: [\"*\"]\n",
    );
    assert!(two_ports.contains("8080"));
    let mesh = mesh(&format!(
        "{two_ports}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: first, namespace: default, creationTimestamp: \"2024-01-01T00:00:00Z\"}}
spec:
  hosts: [bookinfo.com]
  gateways: [gw]
  http:
  - match: [{{port: 80}}]
    redirect: {{scheme: https}}
  - match: [{{uri: {{prefix: /api}}}}]
    route: [{{destination: {{host: api.example.com}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: second, namespace: default, creationTimestamp: \"2024-02-01T00:00:00Z\"}}
spec:
  hosts: [bookinfo.com]
  gateways: [gw]
  http:
  - match: [{{uri: {{prefix: /b}}}}]
    route: [{{destination: {{host: second-b.example.com}}}}]
"
    ));
    // Port 80: first = [redirect] (truncated), sorted behind second's `/b`.
    assert_eq!(
        goes(&mesh, &get("http://bookinfo.com/api"), &gateway()),
        "redirect"
    );
    assert_eq!(
        goes(&mesh, &get("http://bookinfo.com/b"), &gateway()),
        "second-b.example.com"
    );
    // Port 8080: the port match is dropped; `/api` routes.
    assert_eq!(
        goes(&mesh, &get("http://bookinfo.com:8080/api"), &gateway()),
        "api.example.com"
    );
}

/// route.go `sourceMatchHTTP` (gateway workload labels) + `IsCatchAllRoute`: on a gateway the
/// caller is the gateway itself, so a `sourceLabels` match selecting it is a catch-all that
/// truncates the rest of its VirtualService.
#[test]
fn source_labels_match_selecting_the_gateway_is_a_catch_all() {
    let mesh = gateway_pair(
        "  - match: [{sourceLabels: {istio: ingressgateway}}]
    route: [{destination: {host: first-all.example.com}}]
  - match: [{uri: {prefix: /b}}]
    route: [{destination: {host: first-b.example.com}}]
",
    );
    assert_eq!(
        goes(&mesh, &get("http://bookinfo.com/b"), &gateway()),
        "second-b.example.com"
    );
    assert_eq!(
        goes(&mesh, &get("http://bookinfo.com/x"), &gateway()),
        "first-all.example.com"
    );
}

// ---------------------------------------------------------------------------------------------
// The decision: destination, redirect, direct response, local replies, header operations,
// rewrites, timeout, retries, fault, mirrors (route.go `TranslateRoute`)
// ---------------------------------------------------------------------------------------------

/// config.go `ResolveShortnameToFQDN` + route.go `GetDestinationCluster`: a route's destination
/// is the FQDN, its subset and its explicit port.
#[test]
fn route_destination_is_fqdn_subset_and_port() {
    let mesh =
        svc_b("  - route: [{destination: {host: svc-b, subset: v1, port: {number: 9080}}}]\n");
    let req = get("http://svc-b:8080/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.outcome(), Outcome::Route);
    let dest = d.destination().unwrap();
    assert_eq!(dest.host, "svc-b.default.svc.cluster.local");
    assert_eq!(dest.subset, Some("v1"));
    assert_eq!(dest.port, Some(9080));
    assert!(dest.cluster_exists);
    assert_eq!(d.local_status(), None);
}

/// route.go `GetDestinationCluster`: without a port, a Service with exactly one port gives that
/// port.
#[test]
fn destination_port_defaults_to_the_service_only_port() {
    let mesh = mesh(&format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc-b, namespace: default}}
spec:
  hosts: [svc-b]
  http:
  - route: [{{destination: {{host: svc-b}}}}]
{SERVICE_SVC_B}"
    ));
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.destination().unwrap().port, Some(8080));
}

/// route.go `GetDestinationCluster`: without a port and without a single-port Service, the port
/// the request was sent to (the listener port).
#[test]
fn destination_port_falls_back_to_the_request_port() {
    let mesh = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b, namespace: default}
spec:
  hosts: [svc-b]
  http:
  - route: [{destination: {host: svc-b}}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: default}
spec:
  ports:
  - {name: http, port: 8080}
  - {name: http-admin, port: 9090}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ext, namespace: default}
spec:
  hosts: [ext.example.com]
  http:
  - route: [{destination: {host: ext.example.com}}]
"#,
    );
    let req = get("http://svc-b:9090/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.destination().unwrap().port, Some(9090));
    let req = get("http://ext.example.com/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.destination().unwrap().port, Some(80));
    let req = get("https://ext.example.com/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.destination().unwrap().port, Some(443));
}

/// route.go `ApplyRedirect` (code 0 → 301, `path_redirect`) + routing.go "redirect": the
/// default status is 301 and the original query string is kept.
#[test]
fn redirect_defaults_to_301_and_keeps_the_query() {
    let mesh = svc_b(
        "  - match: [{uri: {exact: /foo}}]
    redirect: {uri: /new/path}
",
    );
    let req = get("http://svc-b/foo?key=value");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.outcome(), Outcome::Redirect);
    assert_eq!(d.redirect_status(), Some(301));
    assert_eq!(d.local_status(), Some(StatusCode::MOVED_PERMANENTLY));
    assert_eq!(
        d.redirect_location().as_deref(),
        Some("http://svc-b/new/path?key=value")
    );
    assert_eq!(d.destination(), None);
}

/// rc.proto `RedirectAction.path_redirect` ("query string in path_redirect will override the
/// request's query string"): a `uri` with a query replaces the original one.
#[test]
fn redirect_uri_with_a_query_replaces_the_query() {
    let mesh = svc_b("  - redirect: {uri: \"/new?x=1\", redirectCode: 302}\n");
    let req = get("http://svc-b/foo?key=value");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.redirect_status(), Some(302));
    assert_eq!(d.local_status(), Some(StatusCode::FOUND));
    assert_eq!(
        d.redirect_location().as_deref(),
        Some("http://svc-b/new?x=1")
    );
}

/// route.go `ApplyRedirect` (`host_redirect`, `scheme_redirect`): `authority` replaces the host
/// (and the port sent with it), `scheme` the scheme; the path is kept when `uri` is unset.
#[test]
fn redirect_replaces_authority_and_scheme() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /a}}]
    redirect: {authority: new.example.com, redirectCode: 307}
  - redirect: {scheme: https, redirectCode: 308}
",
    );
    let req = get("http://svc-b:8080/a/b?c=d");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.redirect_status(), Some(307));
    assert_eq!(
        d.redirect_location().as_deref(),
        Some("http://new.example.com/a/b?c=d")
    );
    let req = get("http://svc-b/x");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.redirect_status(), Some(308));
    assert_eq!(d.redirect_location().as_deref(), Some("https://svc-b/x"));
    // Envoy processRequestHost: a scheme change drops the old scheme's default port only.
    let req = get("http://svc-b:80/x");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.redirect_location().as_deref(), Some("https://svc-b/x"));
    let req = get("http://svc-b:8080/x");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(
        d.redirect_location().as_deref(),
        Some("https://svc-b:8080/x")
    );
}

/// route.go `ApplyRedirect` (`derivePort: FROM_REQUEST_PORT` → `port_redirect` = listener port,
/// cleared when it is the scheme's default) + Envoy `processRequestHost` + routing.go
/// "redirect request port": Host `b` on 80 gives `http://b/foo`, Host `b:80` keeps its explicit
/// `:80`, port 85 gives `http://b:85/foo`.
#[test]
fn redirect_derive_port_from_request_port() {
    let mesh = mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: default}
spec:
  hosts: [b]
  http:
  - match: [{uri: {exact: /foo}}]
    redirect: {derivePort: FROM_REQUEST_PORT}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: default}
spec:
  ports: [{name: http, port: 80}, {name: http-85, port: 85}]
"#,
    );
    let location = |host: &str| {
        let req = with_headers("GET", "/foo", &[("host", host)]);
        mesh.route(&req, &sidecar()).redirect_location()
    };
    assert_eq!(location("b").as_deref(), Some("http://b/foo"));
    assert_eq!(location("b:80").as_deref(), Some("http://b:80/foo"));
    assert_eq!(location("b:85").as_deref(), Some("http://b:85/foo"));
}

/// route.go `ApplyRedirect` + routing.go "redirect port and scheme": the port is omitted only
/// when it equals the *redirect* scheme's default, so `derivePort` with `scheme: https` on port
/// 80 gives `https://host:80/foo`, while `port: 443` with `https` gives no port.
#[test]
fn redirect_port_equal_to_the_scheme_default_is_omitted() {
    let mesh = svc_b(
        "  - match: [{uri: {exact: /foo}}]
    redirect: {derivePort: FROM_REQUEST_PORT, scheme: https}
  - redirect: {port: 443, scheme: https}
",
    );
    let req = get("http://svc-b/foo");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(
        d.redirect_location().as_deref(),
        Some("https://svc-b:80/foo")
    );
    let req = get("http://svc-b/bar");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.redirect_location().as_deref(), Some("https://svc-b/bar"));
    let req = get("http://svc-b:80/bar");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.redirect_location().as_deref(), Some("https://svc-b/bar"));
}

/// route.go `ApplyRedirect` (`port` → `port_redirect`) + Envoy `processRequestHost`: a port
/// other than the scheme default replaces the port sent in the Host header.
#[test]
fn redirect_port_replaces_the_request_port() {
    let mesh = svc_b("  - redirect: {port: 8443, scheme: https}\n");
    let req = get("http://svc-b:8080/x?y=z");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(
        d.redirect_location().as_deref(),
        Some("https://svc-b:8443/x?y=z")
    );
}

/// route.go `ApplyDirectResponse`: a fixed status and body, answered by the proxy itself.
#[test]
fn direct_response_answers_status_and_body() {
    let mesh = svc_b(
        "  - directResponse: {status: 503, body: {string: \"unavailable\"}}
    headers: {response: {set: {x-reason: maintenance}}}
",
    );
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.outcome(), Outcome::DirectResponse);
    let response = d.direct_response().unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.body(), Some(&b"unavailable"[..]));
    assert_eq!(d.local_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(d.destination(), None);
    // route.go `TranslateRoute` sets the route's header operations whatever its action:
    // route-level response headers still apply.
    let ops = d.response_headers();
    assert_eq!(ops.ops.len(), 1);
    assert_eq!(ops.ops[0].name.as_str(), "x-reason");
}

/// routing.go "weird header matches" / "no match" + Envoy response flag `NR` (no route
/// configured, 404): when a VirtualService claims the host but no route matches, Envoy answers
/// 404 (NR); no default route is appended.
#[test]
fn no_matching_route_is_404() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /a}}]
    route: [{destination: {host: svc-b, subset: r0}}]
",
    );
    let req = get("http://svc-b/b");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.outcome(), Outcome::NoRoute);
    assert_eq!(d.virtual_service(), Some("default/svc-b"));
    assert_eq!(d.route(), None);
    assert_eq!(d.destination(), None);
    assert_eq!(d.local_status(), Some(StatusCode::NOT_FOUND));
}

/// route.go `BuildSidecarVirtualHostWrapper` (default route per service): a host without a
/// VirtualService goes to the service as it is: no subset, the request's port.
#[test]
fn host_without_vs_gets_default_routing() {
    let mesh = mesh(SERVICE_SVC_B);
    let req = get("http://svc-b:8080/x");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.outcome(), Outcome::NoVirtualService);
    assert_eq!(d.virtual_service(), None);
    let dest = d.destination().unwrap();
    assert_eq!(dest.host, "svc-b.default.svc.cluster.local");
    assert_eq!(dest.subset, None);
    assert_eq!(dest.port, Some(8080));
    // The Service selects no pods in this configuration: Envoy answers 503 with flag UH.
    assert_eq!(d.endpoint(), None);
    assert_eq!(
        d.no_endpoint(),
        Some(meshroute::NoEndpoint::NoHealthyUpstream)
    );
    assert_eq!(d.local_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
}

/// rc.proto `cluster_not_found_response_code` (default 503, flag NC) + messages.yaml IST0101: a
/// subset no DestinationRule defines points at a cluster that does not exist.
#[test]
fn undefined_subset_is_503() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /defined}}]
    route: [{destination: {host: svc-b, subset: v1}}]
  - route: [{destination: {host: svc-b, subset: v9}}]
",
    );
    let req = get("http://svc-b/x");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.outcome(), Outcome::Route);
    let dest = d.destination().unwrap();
    assert_eq!(dest.subset, Some("v9"));
    assert!(!dest.cluster_exists);
    assert_eq!(d.local_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    let req = get("http://svc-b/defined");
    let d = mesh.route(&req, &sidecar());
    assert!(d.destination().unwrap().cluster_exists);
    assert_eq!(d.local_status(), None);
    // A subset defined only for another host (or in a DestinationRule whose short host resolves
    // in another namespace) does not count.
    let mesh = crate::common::mesh(
        r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b, namespace: default}
spec:
  hosts: [svc-b]
  http:
  - route: [{destination: {host: svc-b, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-c, namespace: default}
spec:
  host: svc-c
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-b, namespace: other}
spec:
  host: svc-b
  subsets: [{name: v1, labels: {version: v1}}]
"#,
    );
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    assert!(!d.destination().unwrap().cluster_exists);
    assert_eq!(d.local_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
}

fn names_and_values(ops: &meshroute::HeaderOps) -> (Vec<String>, Vec<(String, String, bool)>) {
    (
        ops.remove.iter().map(|n| n.as_str().to_owned()).collect(),
        ops.ops
            .iter()
            .map(|op| {
                (
                    op.name.as_str().to_owned(),
                    op.value.to_str().unwrap().to_owned(),
                    op.append,
                )
            })
            .collect(),
    )
}

/// route.go `translateRoute` then `processDestination` + route_test "for header operations for
/// single cluster": with one destination, the route's operations come first and the
/// destination's are appended (sets then adds, by key; removals first), so a destination `set`
/// of the same header wins.
#[test]
fn single_destination_header_ops_route_first() {
    let mesh = svc_b(
        "  - headers:
      request:
        set: {x-both: route, x-route-set: a}
        add: {x-route-add: b}
        remove: [x-route-remove]
      response:
        set: {x-resp: route}
    route:
    - destination: {host: svc-b, subset: v1}
      headers:
        request:
          set: {x-both: destination}
          add: {x-dest-add: c}
          remove: [x-dest-remove]
        response:
          set: {x-resp: destination}
",
    );
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    let (remove, ops) = names_and_values(d.request_headers());
    assert_eq!(remove, ["x-route-remove", "x-dest-remove"]);
    let expected = [
        ("x-both", "route", false),
        ("x-route-set", "a", false),
        ("x-route-add", "b", true),
        ("x-both", "destination", false),
        ("x-dest-add", "c", true),
    ];
    let expected: Vec<(String, String, bool)> = expected
        .iter()
        .map(|(n, v, a)| ((*n).to_owned(), (*v).to_owned(), *a))
        .collect();
    assert_eq!(ops, expected);
    let mut headers = HeaderMap::new();
    headers.insert("x-route-remove", HeaderValue::from_static("gone"));
    headers.insert("x-dest-remove", HeaderValue::from_static("gone"));
    d.request_headers().apply(&mut headers);
    assert_eq!(headers["x-both"], "destination");
    assert!(!headers.contains_key("x-route-remove"));
    assert!(!headers.contains_key("x-dest-remove"));
    let mut response = HeaderMap::new();
    d.response_headers().apply(&mut response);
    assert_eq!(response["x-resp"], "destination");
}

/// route.go `processWeightedDestination` (cluster-level headers) + Envoy (cluster-level headers
/// are applied before route-level ones): with several destinations, the chosen destination's
/// operations come first and a route `set` of the same header wins.
#[test]
fn weighted_destination_header_ops_destination_first() {
    let mesh = svc_b(
        "  - headers:
      request: {set: {x-both: route}}
      response: {set: {x-resp: route}}
    route:
    - destination: {host: svc-b, subset: v1}
      weight: 1
      headers:
        request: {set: {x-both: v1, x-v1: one}}
        response: {set: {x-resp: v1}}
    - destination: {host: svc-b, subset: v2}
      weight: 1
      headers:
        request: {set: {x-both: v2, x-v2: two}}
",
    );
    let req = get("http://svc-b/");
    let d = mesh.route_with(&req, &sidecar(), &mut Fixed(0));
    assert_eq!(summary(&d), "v1");
    let (_, ops) = names_and_values(d.request_headers());
    let names: Vec<&str> = ops.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["x-both", "x-v1", "x-both"]);
    let mut headers = HeaderMap::new();
    d.request_headers().apply(&mut headers);
    assert_eq!(headers["x-both"], "route");
    assert_eq!(headers["x-v1"], "one");
    assert!(!headers.contains_key("x-v2"));
    let mut response = HeaderMap::new();
    d.response_headers().apply(&mut response);
    assert_eq!(response["x-resp"], "route");
    let d = mesh.route_with(&req, &sidecar(), &mut Fixed(1));
    assert_eq!(summary(&d), "v2");
    let mut headers = HeaderMap::new();
    d.request_headers().apply(&mut headers);
    assert_eq!(headers["x-v2"], "two");
    assert!(!headers.contains_key("x-v1"));
}

/// route.go `applyHTTPRouteDestination` (`rewrite.authority` overrides the header authority) +
/// routing.go "rewrite authority": `rewrite.authority` beats a destination `:authority` set.
#[test]
fn rewrite_authority_beats_destination_authority() {
    let mesh = svc_b(
        "  - rewrite: {authority: rewritten}
    route:
    - destination: {host: svc-b, subset: v1}
      headers: {request: {set: {\":authority\": destination}}}
",
    );
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.authority_rewrite(), Some("rewritten"));
    // The authority is a host rewrite, never a header operation.
    assert!(d.request_headers().ops.is_empty());
}

/// route.go `processDestination` ("we only override if the top level rewrite is not set") +
/// routing.go "set host header in route and destination" / "... and multi destination":
/// route-level authority beats destination-level authority, single or weighted.
#[test]
fn route_authority_beats_destination_authority() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /single}}]
    headers: {request: {set: {\":authority\": route-authority}}}
    route:
    - destination: {host: svc-b, subset: v1}
      headers: {request: {set: {\":authority\": dest-authority}}}
  - match: [{uri: {prefix: /add}}]
    headers: {request: {add: {host: route-add}}}
    route:
    - destination: {host: svc-b, subset: v1}
      headers: {request: {set: {host: dest-authority}}}
  - headers: {request: {set: {\":authority\": route-authority}}}
    route:
    - destination: {host: svc-b, subset: v1}
      weight: 1
      headers: {request: {set: {\":authority\": v1-authority}}}
    - destination: {host: svc-b, subset: v2}
      weight: 1
      headers: {request: {set: {\":authority\": v2-authority}}}
",
    );
    let req = get("http://svc-b/single");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.authority_rewrite(), Some("route-authority"));
    let req = get("http://svc-b/add");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.authority_rewrite(), Some("route-add"));
    for r in [0, 1] {
        let req = get("http://svc-b/weighted");
        let d = mesh.route_with(&req, &sidecar(), &mut Fixed(r));
        assert_eq!(d.authority_rewrite(), Some("route-authority"));
    }
}

/// route.go `TranslateHeadersOperations` (set beats add) + `processWeightedDestination`
/// (cluster-level `host_rewrite_literal`): without a route-level authority, each weighted
/// destination uses its own, and `set` beats `add`.
#[test]
fn destination_authority_applies_when_the_route_sets_none() {
    let mesh = svc_b(
        "  - route:
    - destination: {host: svc-b, subset: v1}
      weight: 1
      headers: {request: {set: {\":authority\": v1-set}, add: {\":authority\": v1-add}}}
    - destination: {host: svc-b, subset: v2}
      weight: 1
      headers: {request: {add: {host: v2-add}}}
",
    );
    let req = get("http://svc-b/");
    let d = mesh.route_with(&req, &sidecar(), &mut Fixed(0));
    assert_eq!(d.authority_rewrite(), Some("v1-set"));
    let d = mesh.route_with(&req, &sidecar(), &mut Fixed(1));
    assert_eq!(d.authority_rewrite(), Some("v2-add"));
}

/// route.go (`rewrite.uri` → Envoy `prefix_rewrite`) + routing.go "rewrite uri": with a
/// prefix match only the matched prefix is replaced; the query string is kept.
#[test]
fn rewrite_uri_replaces_the_matched_prefix_and_keeps_the_query() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /foo}}]
    rewrite: {uri: /bar}
    route: [{destination: {host: svc-b, subset: v1}}]
  - match: [{uri: {exact: /exact}}]
    rewrite: {uri: /new/path}
    route: [{destination: {host: svc-b, subset: v1}}]
",
    );
    let req = get("http://svc-b/foo/x?a=1");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.rewritten_path_and_query().as_deref(), Some("/bar/x?a=1"));
    let req = get("http://svc-b/foobar");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.rewritten_path_and_query().as_deref(), Some("/barbar"));
    // An exact match replaces the whole path (routing.go "rewrite uri").
    let req = get("http://svc-b/exact?key=value");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(
        d.rewritten_path_and_query().as_deref(),
        Some("/new/path?key=value")
    );
}

/// route.go (`uriRegexRewrite` → Envoy `regex_rewrite`, RE2 `GlobalReplace` with `\1` groups)
/// and the rc.proto example: `^/service/([^/]+)(/.*)$` with `\2/instance/\1` turns
/// `/service/foo/v1/api` into `/v1/api/instance/foo`; the query string is kept.
///
/// vs.proto's own example (`/customprefix/\2/\1` giving `/customprefix/v1/api/update`) is
/// off by a slash: group 2 is `/v1/api`, so Envoy produces `/customprefix//v1/api/update`.
#[test]
fn uri_regex_rewrite_uses_capture_groups() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /service}}]
    rewrite:
      uriRegexRewrite: {match: \"^/service/([^/]+)(/.*)$\", rewrite: \"\\\\2/instance/\\\\1\"}
    route: [{destination: {host: svc-b, subset: v1}}]
  - match: [{uri: {prefix: /custom}}]
    rewrite:
      uriRegexRewrite: {match: \"^/custom/service/([^/]+)(/.*)$\", rewrite: \"/customprefix/\\\\2/\\\\1\"}
    route: [{destination: {host: svc-b, subset: v1}}]
",
    );
    let req = get("http://svc-b/service/foo/v1/api?q=1");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(
        d.rewritten_path_and_query().as_deref(),
        Some("/v1/api/instance/foo?q=1")
    );
    let req = get("http://svc-b/custom/service/update/v1/api");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(
        d.rewritten_path_and_query().as_deref(),
        Some("/customprefix//v1/api/update")
    );
}

/// rc.proto `RouteAction.regex_rewrite` ("replaces every non-overlapping match"): an unanchored
/// pattern rewrites all occurrences.
#[test]
fn uri_regex_rewrite_replaces_every_match() {
    let mesh = svc_b(
        "  - rewrite:
      uriRegexRewrite: {match: o, rewrite: \"0\"}
    route: [{destination: {host: svc-b, subset: v1}}]
",
    );
    let req = get("http://svc-b/foo/boo");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.rewritten_path_and_query().as_deref(), Some("/f00/b00"));
}

/// route.go `setTimeout` (`Notimeout`): no route timeout by default (Envoy's 15s is disabled);
/// `timeout` sets it.
#[test]
fn timeout_is_none_by_default() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /slow}}]
    timeout: 2.5s
    route: [{destination: {host: svc-b, subset: v1}}]
  - route: [{destination: {host: svc-b, subset: v1}}]
",
    );
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.timeout(), None);
    let req = get("http://svc-b/slow");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.timeout(), Some(Duration::from_millis(2500)));
}

/// retry.go `ConvertPolicy` (`DefaultPolicy`): without `retries` (and no mesh default) Envoy gets
/// 2 retries on `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`.
#[test]
fn retries_default_to_istio_policy() {
    let mesh = svc_b("  - route: [{destination: {host: svc-b, subset: v1}}]\n");
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    let retries = d.retries().unwrap();
    assert_eq!(retries.attempts, 2);
    assert_eq!(
        retries.retry_on,
        "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
    );
    assert!(retries.retriable_status_codes.is_empty());
    assert!(retries.retry_ignore_previous_hosts);
    assert_eq!(retries.host_selection_max_attempts, 5);
    assert_eq!(retries.per_try_timeout, None);
}

/// retry.go `ConvertPolicy`: `attempts: 0` disables retries (no retry policy).
#[test]
fn retries_attempts_zero_disables_retries() {
    let mesh = svc_b(
        "  - retries: {attempts: 0}
    route: [{destination: {host: svc-b, subset: v1}}]
",
    );
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.retries(), None);
}

/// retry.go `parseRetryOn` + retry_test.go (`"some,fake,5xx,404,conditions,503"` →
/// `"some,fake,5xx,conditions,retriable-status-codes"`, codes `[404,503]`): status-code tokens
/// move to `retriable_status_codes` and `retriable-status-codes` is appended; other tokens keep
/// their order. (The unit test's made-up tokens fail validation, so valid ones stand in.)
#[test]
fn retries_retry_on_status_codes_become_retriable_status_codes() {
    let mesh = svc_b(
        "  - retries: {attempts: 3, perTryTimeout: 2s, retryOn: \"gateway-error,reset,5xx,404,connect-failure,503\"}
    route: [{destination: {host: svc-b, subset: v1}}]
",
    );
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    let retries = d.retries().unwrap();
    assert_eq!(retries.attempts, 3);
    assert_eq!(
        retries.retry_on,
        "gateway-error,reset,5xx,connect-failure,retriable-status-codes"
    );
    assert_eq!(retries.retriable_status_codes, [404, 503]);
    assert_eq!(retries.per_try_timeout, Some(Duration::from_secs(2)));
}

/// route.go `TranslateFault` + vs.proto ("If not specified, no request will be aborted"): a
/// fault without `percentage` injects into 0% of requests; with one, that share.
#[test]
fn fault_without_percentage_is_zero_percent() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /unset}}]
    fault:
      abort: {httpStatus: 418}
      delay: {fixedDelay: 5s}
    route: [{destination: {host: svc-b, subset: v1}}]
  - fault:
      abort: {httpStatus: 503, percentage: {value: 100}}
      delay: {fixedDelay: 1s, percentage: {value: 12.5}}
    route: [{destination: {host: svc-b, subset: v1}}]
",
    );
    let req = get("http://svc-b/unset");
    let d = mesh.route(&req, &sidecar());
    let fault = d.fault().unwrap();
    assert_eq!(fault.abort, Some((Abort::Http(418), 0.0)));
    assert_eq!(fault.delay, Some((Duration::from_secs(5), 0.0)));
    let req = get("http://svc-b/set");
    let d = mesh.route(&req, &sidecar());
    let fault = d.fault().unwrap();
    assert_eq!(fault.abort, Some((Abort::Http(503), 100.0)));
    assert_eq!(fault.delay, Some((Duration::from_secs(1), 12.5)));
}

/// route.go `MirrorPercent` / `MirrorPercentByPolicy`: an absent mirror percentage mirrors 100%,
/// an explicit 0 produces no mirror policy at all.
#[test]
fn mirror_percentage_defaults_to_100_and_zero_disables() {
    let mesh = svc_b(
        "  - match: [{uri: {prefix: /default}}]
    mirror: {host: shadow}
    route: [{destination: {host: svc-b, subset: v1}}]
  - match: [{uri: {prefix: /zero}}]
    mirror: {host: shadow}
    mirrorPercentage: {value: 0}
    route: [{destination: {host: svc-b, subset: v1}}]
  - mirrors:
    - destination: {host: shadow, subset: v2}
    - destination: {host: audit.example.com}
      percentage: {value: 10}
    - destination: {host: off.example.com}
      percentage: {value: 0}
    route: [{destination: {host: svc-b, subset: v1}}]
",
    );
    let req = get("http://svc-b/default");
    let d = mesh.route(&req, &sidecar());
    let mirrors = d.mirrors();
    assert_eq!(mirrors.len(), 1);
    assert_eq!(mirrors[0].host, "shadow.default.svc.cluster.local");
    assert_eq!(mirrors[0].percentage, 100.0);
    let req = get("http://svc-b/zero");
    let d = mesh.route(&req, &sidecar());
    assert!(d.mirrors().is_empty());
    let req = get("http://svc-b/list");
    let d = mesh.route(&req, &sidecar());
    let got: Vec<(&str, Option<&str>, f64)> = d
        .mirrors()
        .iter()
        .map(|m| (m.host.as_str(), m.subset.as_deref(), m.percentage))
        .collect();
    assert_eq!(
        got,
        [
            ("shadow.default.svc.cluster.local", Some("v2"), 100.0),
            ("audit.example.com", None, 10.0),
        ]
    );
}

/// route.go `translateRoute` (route name, `route.match` when the match is named): the decision
/// names the VirtualService, the route (index and name) and the match that fired.
#[test]
fn decision_names_the_vs_route_and_match_that_fired() {
    let mesh = svc_b(
        "  - name: canary
    match:
    - name: by-header
      headers: {x-canary: {exact: \"1\"}}
    - name: by-query
      queryParams: {canary: {}}
    route: [{destination: {host: svc-b, subset: v2}}]
  - name: stable
    route: [{destination: {host: svc-b, subset: v1}}]
",
    );
    let req = get("http://svc-b/?canary");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.virtual_service(), Some("default/svc-b"));
    assert_eq!(
        d.route(),
        Some(meshroute::RuleRef {
            index: 0,
            name: Some("canary")
        })
    );
    assert_eq!(
        d.matched(),
        Some(meshroute::RuleRef {
            index: 1,
            name: Some("by-query")
        })
    );
    assert_eq!(d.envoy_route_name().as_deref(), Some("canary.by-query"));
    let req = get("http://svc-b/");
    let d = mesh.route(&req, &sidecar());
    assert_eq!(d.route().unwrap().index, 1);
    assert_eq!(d.route().unwrap().name, Some("stable"));
    assert_eq!(d.matched(), None);
    assert_eq!(d.envoy_route_name().as_deref(), Some("stable"));
}

// ---------------------------------------------------------------------------------------------
// Weights: vs.proto `HTTPRouteDestination.weight`, route.go `applyHTTPRouteDestination`,
// Envoy weighted clusters
// ---------------------------------------------------------------------------------------------

/// weighted_cluster_specifier.cc: Envoy draws `v = random % total` and picks the destination
/// whose half-open interval `[w1+..+wi-1, w1+..+wi)` holds `v`, in list order.
#[test]
fn weighted_pick_is_random_mod_total_over_intervals_in_list_order() {
    let mesh = svc_b(
        "  - route:
    - {destination: {host: svc-b, subset: r0}, weight: 50}
    - {destination: {host: svc-b, subset: r1}, weight: 25}
    - {destination: {host: svc-b, subset: r2}, weight: 25}
",
    );
    let req = get("http://svc-b/");
    let pick = |r: u64| summary(&mesh.route_with(&req, &sidecar(), &mut Fixed(r)));
    assert_eq!(pick(0), "r0");
    assert_eq!(pick(49), "r0");
    assert_eq!(pick(50), "r1");
    assert_eq!(pick(74), "r1");
    assert_eq!(pick(75), "r2");
    assert_eq!(pick(99), "r2");
    assert_eq!(pick(100), "r0");
    assert_eq!(pick(175), "r2");
    // u64::MAX % 100 == 15.
    assert_eq!(pick(u64::MAX), "r0");
}

/// vs.proto `weight` ("relative proportion") + Istio 1.15 (no 100-sum): weights 1 and 3 split
/// 1:3 over a total of 4.
#[test]
fn weights_are_relative() {
    let mesh = svc_b(
        "  - route:
    - {destination: {host: svc-b, subset: v1}, weight: 1}
    - {destination: {host: svc-b, subset: v2}, weight: 3}
",
    );
    let req = get("http://svc-b/");
    let picks: Vec<String> = (0..8)
        .map(|r| summary(&mesh.route_with(&req, &sidecar(), &mut Fixed(r))))
        .collect();
    assert_eq!(picks, ["v1", "v2", "v2", "v2", "v1", "v2", "v2", "v2"]);
    // Seeded draws converge to 25%.
    let mut rng = FastRng::from_seed(42);
    let v1 = (0..40_000)
        .filter(|_| summary(&mesh.route_with(&req, &sidecar(), &mut rng)) == "v1")
        .count();
    assert!((9_400..10_600).contains(&v1), "v1 picked {v1} times");
}

/// route.go `applyHTTPRouteDestination` ("Ignore 0 weighted clusters"): with several
/// destinations, weight-0 (or omitted-weight) destinations never receive traffic.
#[test]
fn weight_zero_destinations_are_skipped() {
    let mesh = svc_b(
        "  - route:
    - {destination: {host: svc-b, subset: r0}, weight: 0}
    - {destination: {host: svc-b, subset: r1}, weight: 5}
    - {destination: {host: svc-b, subset: r2}}
    - {destination: {host: svc-b, subset: r3}, weight: 5}
",
    );
    let req = get("http://svc-b/");
    let pick = |r: u64| summary(&mesh.route_with(&req, &sidecar(), &mut Fixed(r)));
    assert_eq!(pick(0), "r1");
    assert_eq!(pick(4), "r1");
    assert_eq!(pick(5), "r3");
    assert_eq!(pick(9), "r3");
    for r in 0..100 {
        assert!(matches!(pick(r).as_str(), "r1" | "r3"));
    }
}

/// route.go `applyHTTPRouteDestination` (`len(in.Route) == 1` → plain cluster) + vs.proto ("If
/// there is only one destination in a rule, it will receive all traffic"): even weight 0.
#[test]
fn single_destination_is_always_chosen_even_with_weight_zero() {
    let mesh = svc_b("  - route: [{destination: {host: svc-b, subset: v1}, weight: 0}]\n");
    let req = get("http://svc-b/");
    for r in [0, 1, 99, u64::MAX] {
        assert_eq!(
            summary(&mesh.route_with(&req, &sidecar(), &mut Fixed(r))),
            "v1"
        );
    }
}

/// httproute.go: a VirtualService host `svc-b.default` gets a virtual host with exactly that
/// domain, which Envoy prefers over the service's alternative name; the bare `svc-b` is not
/// claimed by it (found by tests/route_props.rs).
#[test]
fn name_dot_namespace_host_claims_only_that_name() {
    let mesh = mesh(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: default, creationTimestamp: '2024-01-01T00:00:00Z'}
spec:
  hosts: [svc-b]
  http:
  - match: [{sourceNamespace: other}]
    route: [{destination: {host: svc-a}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: default, creationTimestamp: '2024-01-02T00:00:00Z'}
spec:
  hosts: [svc-b.default]
  http:
  - route: [{destination: {host: svc-b, subset: v9}}]
",
    );
    let bare = get("http://svc-b/");
    let d = mesh.route(&bare, &Source::sidecar("default"));
    assert_eq!(
        d.outcome(),
        Outcome::NoVirtualService,
        "VS a yields no routes for this caller"
    );
    let dotted = get("http://svc-b.default/");
    let d = mesh.route(&dotted, &Source::sidecar("default"));
    assert_eq!(d.virtual_service(), Some("default/b"));
}

/// route.go: a catch-all-shaped match with `gateways: [mesh]` and a `port` is dropped on other
/// ports before the catch-all check, so it does not cut off the later routes there.
#[test]
fn port_restricted_catch_all_does_not_truncate_other_ports() {
    let mesh = mesh(
        &("apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: p, namespace: default}
spec:
  hosts: [svc-b]
  http:
  - match: [{gateways: [mesh], port: 8080}]
    route: [{destination: {host: svc-b, subset: v2}}]
  - route: [{destination: {host: svc-b, subset: v1}}]
"
        .to_owned()
            + SERVICE_SVC_B_PORTS),
    );
    let req = get("http://svc-b/");
    assert_eq!(
        mesh.route(&req, &Source::sidecar("default"))
            .destination()
            .unwrap()
            .subset,
        Some("v1")
    );
    let req = get("http://svc-b:8080/");
    assert_eq!(
        mesh.route(&req, &Source::sidecar("default"))
            .destination()
            .unwrap()
            .subset,
        Some("v2")
    );
}

/// Envoy's domain matching: when the exact host's VirtualService yields no routes for the
/// caller, the wildcard host's virtual host takes the request.
#[test]
fn routeless_exact_host_falls_back_to_the_wildcard_host() {
    let mesh = mesh(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: exact, namespace: default}
spec:
  hosts: [api.example.com]
  http:
  - match: [{sourceNamespace: other}]
    route: [{destination: {host: svc-a}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: default}
spec:
  hosts: ['*.example.com']
  http:
  - route: [{destination: {host: svc-b}}]
",
    );
    let req = get("http://api.example.com/");
    assert_eq!(
        mesh.route(&req, &Source::sidecar("default"))
            .virtual_service(),
        Some("default/wild")
    );
    assert_eq!(
        mesh.route(&req, &Source::sidecar("other"))
            .virtual_service(),
        Some("default/exact")
    );
}
