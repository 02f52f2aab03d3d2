//! Gateway servers: which VirtualServices a gateway serves, on which port, for which hosts, and
//! its redirect to https, as Istio builds a gateway's route configurations and Envoy picks the
//! listener, filter chain and virtual host.
//!
//! Upstream, besides those listed in `main.rs`:
//! - `model/gateway.go`: istio/istio `pilot/pkg/model/gateway.go` (`MergeGateways`: servers by
//!   port, one route configuration `http.<port>` for plain-text HTTP servers, one per HTTPS
//!   server terminating TLS; `sanitizeServerHostNamespace`).
//! - `gateway.go`: istio/istio `pilot/pkg/networking/core/gateway.go`
//!   (`buildGatewayHTTPRouteConfig`); `gateway_test.go`: its `TestGatewayHTTPRouteConfig` cases.
//! - `names.go`: istio/istio `pkg/config/host/names.go` (`NamesForNamespace`, `Intersection`).
//! - `push_context.go`: `VirtualServicesForGateway`, `initVirtualServices` (visibility).
//! - Envoy: `config_impl.cc` `VirtualHostImpl::getRouteFromEntries` (`require_tls` before any
//!   route), `http/utility.cc` `createSslRedirectPath` (the `Location`),
//!   `conn_manager_utility.cc` (a gateway sets `x-forwarded-proto` from the connection).

use http::StatusCode;
use meshroute::{FastRng, Mesh, Outcome, Source};

use crate::common::{get, mesh};

/// A Gateway `namespace/gw` (selector `istio: ingressgateway`) with these `servers` (a YAML list
/// indented by two spaces).
fn gateway(namespace: &str, servers: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: gw, namespace: {namespace}}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
{servers}"
    )
}

/// A VirtualService `namespace/name` bound to `gateways`, for `hosts`, whose one route sends
/// everything to `backend` (a short service name).
fn bound_vs(namespace: &str, name: &str, hosts: &str, gateways: &str, backend: &str) -> String {
    vs_with(namespace, name, "", hosts, gateways, "", backend)
}

/// [`bound_vs`] with extra `metadata` entries (`meta`, flow style, with a leading comma) and
/// extra `spec` lines (`extra`, indented by two spaces, each ending in a newline).
fn vs_with(
    namespace: &str,
    name: &str,
    meta: &str,
    hosts: &str,
    gateways: &str,
    extra: &str,
    backend: &str,
) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {namespace}{meta}}}
spec:
  hosts: {hosts}
  gateways: {gateways}
{extra}  http:
  - route: [{{destination: {{host: {backend}}}}}]
"
    )
}

fn yaml(parts: &[&str]) -> Mesh {
    mesh(&parts.join("---\n"))
}

fn gw(namespace: &str) -> Source {
    Source::gateway(&format!("{namespace}/gw"))
}

/// Where the gateway sends `url`: the destination's service name (the first label of its
/// host), `404`, or `301 <location>`.
fn goes(mesh: &Mesh, url: &str, source: &Source) -> String {
    let req = get(url);
    let d = mesh.route_with(&req, source, &mut FastRng::from_seed(1));
    match d.outcome() {
        Outcome::Route => {
            let host = d.destination().unwrap().host;
            host.split('.').next().unwrap().to_owned()
        }
        Outcome::NoRoute => {
            assert_eq!(d.local_status(), Some(StatusCode::NOT_FOUND));
            "404".to_owned()
        }
        Outcome::Redirect => format!(
            "{} {}",
            d.local_status().unwrap().as_u16(),
            d.redirect_location().unwrap()
        ),
        other => format!("{other:?}"),
    }
}

fn explain(mesh: &Mesh, url: &str, source: &Source) -> String {
    let req = get(url);
    let (_, explanation) = mesh.explain(&req, source, &mut FastRng::from_seed(1));
    explanation.to_string()
}

const HTTP_80_ANY: &str =
    "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"*\"]\n";

// ---------------------------------------------------------------------------------------------
// Ports (model/gateway.go `MergeGateways`, gateway.go `buildGatewayHTTPRouteConfig`)
// ---------------------------------------------------------------------------------------------

/// model/gateway.go `gatewayRDSRouteName` + gateway.go `buildGatewayHTTPRouteConfig`: a gateway
/// builds one route configuration per server port; a request on a port no server listens on
/// (the authority's port, or the scheme's default) finds no virtual host: 404 `NR`.
#[test]
fn requests_on_a_port_without_server_get_404() {
    let mesh = yaml(&[
        &gateway("default", HTTP_80_ANY),
        &bound_vs(
            "default",
            "shop",
            "[shop.example.com]",
            "[gw]",
            "shop-backend",
        ),
    ]);
    let source = gw("default");
    assert_eq!(
        goes(&mesh, "http://shop.example.com/", &source),
        "shop-backend"
    );
    assert_eq!(
        goes(&mesh, "http://shop.example.com:80/", &source),
        "shop-backend"
    );
    assert_eq!(goes(&mesh, "http://shop.example.com:8080/", &source), "404");
    // https defaults to 443, where nothing listens.
    assert_eq!(goes(&mesh, "https://shop.example.com/", &source), "404");
}

/// model/gateway.go `MergeGateways`: servers on different ports get different route
/// configurations, each with the virtual hosts of its own servers' hosts only.
#[test]
fn each_port_serves_the_hosts_of_its_servers() {
    let mesh = yaml(&[
        &gateway(
            "default",
            "  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.example.com]
  - port: {number: 8080, name: http-alt, protocol: HTTP}
    hosts: [b.example.com]
",
        ),
        &bound_vs(
            "default",
            "both",
            "[a.example.com, b.example.com]",
            "[gw]",
            "backend",
        ),
    ]);
    let source = gw("default");
    assert_eq!(goes(&mesh, "http://a.example.com/", &source), "backend");
    assert_eq!(goes(&mesh, "http://a.example.com:8080/", &source), "404");
    assert_eq!(
        goes(&mesh, "http://b.example.com:8080/", &source),
        "backend"
    );
    assert_eq!(goes(&mesh, "http://b.example.com/", &source), "404");
}

/// gateway.go `BuildHTTPRoutesForVirtualService(node, vs, port, ...)`: routes are built for the
/// server's port, so a match's `port` selects the listener; a VirtualService with no route left
/// for a port builds no virtual host there.
#[test]
fn match_port_selects_the_listener() {
    let mesh = yaml(&[
        &gateway(
            "default",
            "  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [\"*\"]
  - port: {number: 8080, name: http-alt, protocol: HTTP}
    hosts: [\"*\"]
",
        ),
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: admin, namespace: default}
spec:
  hosts: [admin.example.com]
  gateways: [gw]
  http:
  - match: [{port: 8080}]
    route: [{destination: {host: admin-backend}}]
",
    ]);
    let source = gw("default");
    assert_eq!(
        goes(&mesh, "http://admin.example.com:8080/", &source),
        "admin-backend"
    );
    assert_eq!(goes(&mesh, "http://admin.example.com/", &source), "404");
}

/// model/gateway.go `MergeGateways` (`gatewayRDSRouteName`, `GetSNIHostsForServer`) + listener.go
/// `toFilterChainMatch`: an HTTPS server terminating TLS has its own route configuration, chosen
/// by the TLS server name (here the request's host): the exact name, then a `*.` wildcard, then a
/// server with the host `*`. A plain-HTTP request on that port has no plain-text server to take
/// it, and an https request on a plain-text port no TLS server.
#[test]
fn https_servers_are_picked_by_server_name() {
    let mesh = yaml(&[
        &gateway(
            "default",
            "  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [\"*\"]
  - port: {number: 443, name: https-a, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, credentialName: a-cert}
  - port: {number: 443, name: https-wild, protocol: HTTPS}
    hosts: [\"*.shop.com\"]
    tls: {mode: SIMPLE, credentialName: shop-cert}
",
        ),
        &bound_vs("default", "a", "[a.example.com]", "[gw]", "a-backend"),
        &bound_vs("default", "b", "[b.example.com]", "[gw]", "b-backend"),
        &bound_vs(
            "default",
            "shop",
            "[\"*.shop.com\"]",
            "[gw]",
            "shop-backend",
        ),
    ]);
    let source = gw("default");
    assert_eq!(goes(&mesh, "https://a.example.com/", &source), "a-backend");
    assert_eq!(goes(&mesh, "https://eu.shop.com/", &source), "shop-backend");
    // No HTTPS server takes the name b.example.com: port 80 serves it, 443 does not.
    assert_eq!(goes(&mesh, "https://b.example.com/", &source), "404");
    assert_eq!(goes(&mesh, "http://b.example.com/", &source), "b-backend");
    // Plain HTTP on the TLS port, TLS on the plain-text port: no server for them.
    assert_eq!(goes(&mesh, "http://a.example.com:443/", &source), "404");
    assert_eq!(goes(&mesh, "https://a.example.com:80/", &source), "404");
}

/// model/gateway.go `mergeGateways` (`canMergeProtocols`): a plain-text server whose protocol
/// cannot merge with the port's first plain-text server is skipped; TCP servers get no HTTP
/// routes.
#[test]
fn a_tcp_server_first_on_a_port_keeps_http_servers_off_it() {
    let mesh = yaml(&[
        &gateway(
            "default",
            "  - port: {number: 9000, name: tcp, protocol: TCP}
    hosts: [\"*\"]
  - port: {number: 9000, name: http, protocol: HTTP}
    hosts: [\"*\"]
",
        ),
        &bound_vs(
            "default",
            "shop",
            "[shop.example.com]",
            "[gw]",
            "shop-backend",
        ),
    ]);
    assert_eq!(
        goes(&mesh, "http://shop.example.com:9000/", &gw("default")),
        "404"
    );
}

// ---------------------------------------------------------------------------------------------
// Hosts (names.go `NamesForNamespace`, `Intersection`)
// ---------------------------------------------------------------------------------------------

/// gateway.go `buildGatewayHTTPRouteConfig` + names.go `Intersection`: the virtual hosts are the
/// intersection of the server's hosts and the VirtualService's, keeping the narrower name: a
/// wildcard VirtualService behind a server for one name serves that name only, and a server
/// wildcard serves only the VirtualService's hosts under it.
#[test]
fn virtual_hosts_are_the_intersection_of_server_and_vs_hosts() {
    let narrow_server = yaml(&[
        &gateway(
            "default",
            "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [api.example.com]\n",
        ),
        &bound_vs(
            "default",
            "wild",
            "[\"*.example.com\"]",
            "[gw]",
            "wild-backend",
        ),
    ]);
    let source = gw("default");
    assert_eq!(
        goes(&narrow_server, "http://api.example.com/", &source),
        "wild-backend"
    );
    assert_eq!(
        goes(&narrow_server, "http://www.example.com/", &source),
        "404"
    );
    let wide_server = yaml(&[
        &gateway(
            "default",
            "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"*.example.com\"]\n",
        ),
        &bound_vs(
            "default",
            "two",
            "[api.example.com, api.other.org]",
            "[gw]",
            "api-backend",
        ),
    ]);
    assert_eq!(
        goes(&wide_server, "http://api.example.com/", &source),
        "api-backend"
    );
    assert_eq!(goes(&wide_server, "http://api.other.org/", &source), "404");
    assert_eq!(
        goes(&wide_server, "http://www.example.com/", &source),
        "404"
    );
}

/// gateway.go (intersection as written, virtual host lowercased), gateway_test.go "duplicate
/// virtual service case insensitive": `Names.Intersection` compares names case-sensitively,
/// so a server host `Example.org` takes a VirtualService host `Example.org` but not
/// `example.org`; the virtual host itself is lowercase, as Envoy matches the request host.
#[test]
fn server_and_vs_hosts_intersect_as_written() {
    let gateway = gateway(
        "default",
        "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [Example.org]\n",
    );
    let source = gw("default");
    let same_case = yaml(&[
        &gateway,
        &bound_vs("default", "vs", "[Example.org]", "[gw]", "backend"),
    ]);
    assert_eq!(goes(&same_case, "http://example.org/", &source), "backend");
    assert_eq!(goes(&same_case, "http://EXAMPLE.org/", &source), "backend");
    let other_case = yaml(&[
        &gateway,
        &bound_vs("default", "vs", "[example.org]", "[gw]", "backend"),
    ]);
    assert_eq!(goes(&other_case, "http://example.org/", &source), "404");
}

/// names.go `NamesForNamespace` + model/gateway.go `sanitizeServerHostNamespace`: a server host
/// `ns/host` serves VirtualServices of namespace `ns` only, `./host` those of the Gateway's own
/// namespace, `*/host` and a bare host those of every namespace.
#[test]
fn server_host_namespaces_select_virtual_services() {
    let mesh = yaml(&[
        &gateway(
            "istio-system",
            "  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [team-a/a.example.com, ./local.example.com, \"*/shared.example.com\", bare.example.com]
",
        ),
        &bound_vs(
            "team-a",
            "a",
            "[a.example.com]",
            "[istio-system/gw]",
            "a-from-team-a",
        ),
        &bound_vs(
            "team-b",
            "local",
            "[local.example.com]",
            "[istio-system/gw]",
            "local-from-team-b",
        ),
        &bound_vs(
            "istio-system",
            "local",
            "[local.example.com]",
            "[gw]",
            "local-from-istio-system",
        ),
        &bound_vs(
            "team-b",
            "shared",
            "[shared.example.com, bare.example.com]",
            "[istio-system/gw]",
            "shared-from-team-b",
        ),
    ]);
    let source = gw("istio-system");
    assert_eq!(
        goes(&mesh, "http://a.example.com/", &source),
        "a-from-team-a"
    );
    assert_eq!(
        goes(&mesh, "http://local.example.com/", &source),
        "local-from-istio-system"
    );
    assert_eq!(
        goes(&mesh, "http://shared.example.com/", &source),
        "shared-from-team-b"
    );
    assert_eq!(
        goes(&mesh, "http://bare.example.com/", &source),
        "shared-from-team-b"
    );
    // team-b's VirtualService for a.example.com is not selected by `team-a/a.example.com`.
    let only_b = yaml(&[
        &gateway(
            "istio-system",
            "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [team-a/a.example.com]\n",
        ),
        &bound_vs(
            "team-b",
            "a",
            "[a.example.com]",
            "[istio-system/gw]",
            "a-from-team-b",
        ),
    ]);
    assert_eq!(goes(&only_b, "http://a.example.com/", &source), "404");
}

/// gateway.go: routes of every VirtualService reaching a host are concatenated, server by server
/// and VirtualService by VirtualService, catch-alls last (`SortVHostRoutes`); VirtualServices
/// whose hosts overlap through a server wildcard merge into the narrower virtual host
/// (gateway_test.go "duplicate by wildcard should merge").
#[test]
fn overlapping_virtual_services_merge_into_the_narrower_virtual_host() {
    let mesh = yaml(&[
        &gateway(
            "default",
            "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [example.org]\n",
        ),
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wildcard, namespace: default, creationTimestamp: \"2024-01-01T00:00:00Z\"}
spec:
  hosts: [\"*.org\"]
  gateways: [gw]
  http:
  - route: [{destination: {host: wildcard-backend}}]
",
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: exact, namespace: default, creationTimestamp: \"2024-02-01T00:00:00Z\"}
spec:
  hosts: [example.org]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: api-backend}}]
",
    ]);
    let source = gw("default");
    // The older VirtualService's catch-all moved behind the newer one's `/api`.
    assert_eq!(
        goes(&mesh, "http://example.org/api/x", &source),
        "api-backend"
    );
    assert_eq!(
        goes(&mesh, "http://example.org/", &source),
        "wildcard-backend"
    );
}

// ---------------------------------------------------------------------------------------------
// Visibility (push_context.go `VirtualServicesForGateway`, `initVirtualServices`)
// ---------------------------------------------------------------------------------------------

/// push_context.go `VirtualServicesForGateway(proxyNamespace, gateway)`: a VirtualService bound
/// to a gateway applies only if exported to the gateway proxy's namespace (here the Gateway's).
#[test]
fn gateway_sees_only_virtual_services_exported_to_its_namespace() {
    let gateway = gateway("istio-system", HTTP_80_ANY);
    let source = gw("istio-system");
    let exported = |export_to: &str| {
        yaml(&[
            &gateway,
            &vs_with(
                "team-a",
                "shop",
                "",
                "[shop.example.com]",
                "[istio-system/gw]",
                &format!("  exportTo: {export_to}\n"),
                "shop-backend",
            ),
        ])
    };
    assert_eq!(
        goes(&exported("[\".\"]"), "http://shop.example.com/", &source),
        "404"
    );
    assert_eq!(
        goes(&exported("[other]"), "http://shop.example.com/", &source),
        "404"
    );
    assert_eq!(
        goes(
            &exported("[istio-system]"),
            "http://shop.example.com/",
            &source
        ),
        "shop-backend"
    );
    assert_eq!(
        goes(&exported("[\"*\"]"), "http://shop.example.com/", &source),
        "shop-backend"
    );
}

/// push_context.go `initExportToDefaults` / `initVirtualServices`: MeshConfig's
/// `defaultVirtualServiceExportTo` applies to VirtualServices without `exportTo`.
#[test]
fn mesh_default_export_to_hides_virtual_services_from_gateways() {
    let mesh_config = "apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultVirtualServiceExportTo: [\".\"]
";
    let mesh = yaml(&[
        mesh_config,
        &gateway("istio-system", HTTP_80_ANY),
        &bound_vs(
            "team-a",
            "shop",
            "[shop.example.com]",
            "[istio-system/gw]",
            "shop-backend",
        ),
        &bound_vs(
            "istio-system",
            "own",
            "[own.example.com]",
            "[gw]",
            "own-backend",
        ),
    ]);
    let source = gw("istio-system");
    assert_eq!(goes(&mesh, "http://shop.example.com/", &source), "404");
    assert_eq!(
        goes(&mesh, "http://own.example.com/", &source),
        "own-backend"
    );
}

/// push_context.go `VirtualServicesForGateway`: VirtualServices private to the proxy's namespace
/// come first, then those exported to it by name, then public ones, each group oldest first; on a
/// gateway that order decides which of several VirtualServices' routes for a host fires first.
#[test]
fn private_virtual_services_come_before_older_public_ones() {
    let source = gw("istio-system");
    let mesh = |private_export: &str| {
        yaml(&[
            &gateway("istio-system", HTTP_80_ANY),
            &vs_with(
                "team-a",
                "public",
                ", creationTimestamp: \"2024-01-01T00:00:00Z\"",
                "[shop.example.com]",
                "[istio-system/gw]",
                "",
                "public-backend",
            ),
            &vs_with(
                "team-b",
                "exported",
                ", creationTimestamp: \"2024-02-01T00:00:00Z\"",
                "[shop.example.com]",
                "[istio-system/gw]",
                "  exportTo: [istio-system]\n",
                "exported-backend",
            ),
            &vs_with(
                "istio-system",
                "private",
                ", creationTimestamp: \"2024-03-01T00:00:00Z\"",
                "[shop.example.com]",
                "[gw]",
                private_export,
                "private-backend",
            ),
        ])
    };
    // Every route is a catch-all (moved to the end in order): the first VirtualService wins.
    assert_eq!(
        goes(
            &mesh("  exportTo: [\".\"]\n"),
            "http://shop.example.com/",
            &source
        ),
        "private-backend"
    );
    // Public, the newest VirtualService comes last.
    assert_eq!(
        goes(&mesh(""), "http://shop.example.com/", &source),
        "exported-backend"
    );
}

/// model/gateway.go: a gateway is built from its Gateway resource; without one nothing listens.
#[test]
fn unknown_gateway_serves_nothing() {
    let mesh = yaml(&[&bound_vs(
        "default",
        "shop",
        "[shop.example.com]",
        "[gw]",
        "shop-backend",
    )]);
    assert_eq!(
        goes(&mesh, "http://shop.example.com/", &gw("default")),
        "404"
    );
}

// ---------------------------------------------------------------------------------------------
// tls.httpsRedirect (gateway.go `RequireTls`, Envoy `require_tls: ALL`)
// ---------------------------------------------------------------------------------------------

const REDIRECT_AND_HTTPS: &str = "  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [example.org]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [example.org]
    tls: {mode: SIMPLE, credentialName: example-cert}
";

/// gateway.go (`RequireTls = VirtualHost_ALL` for a server with `tls.httpsRedirect`) + Envoy
/// config_impl.cc `getRouteFromEntries` (checked before any route) and utility.cc
/// `createSslRedirectPath`: a plain-HTTP request gets 301 to `https://` + the Host as sent (port
/// included) + the path with its query; the same request over TLS is routed.
#[test]
fn https_redirect_answers_plain_http_with_301() {
    let mesh = yaml(&[
        &gateway("default", REDIRECT_AND_HTTPS),
        &bound_vs("default", "site", "[example.org]", "[gw]", "site-backend"),
    ]);
    let source = gw("default");
    assert_eq!(
        goes(&mesh, "http://example.org/a/../b?x=1&y", &source),
        "301 https://example.org/b?x=1&y"
    );
    assert_eq!(
        goes(&mesh, "http://Example.org:80/", &source),
        "301 https://Example.org:80/"
    );
    assert_eq!(goes(&mesh, "https://example.org/", &source), "site-backend");
    let req = get("http://example.org/");
    let d = mesh.route(&req, &source);
    assert_eq!(d.outcome(), Outcome::Redirect);
    assert_eq!(d.local_status(), Some(StatusCode::MOVED_PERMANENTLY));
    assert_eq!(d.redirect_status(), Some(301));
    assert_eq!(d.virtual_service(), None);
    assert_eq!(d.route(), None);
    let report = d.report();
    assert_eq!(report.action, "redirect");
    assert_eq!(report.local_status, Some(301));
    assert_eq!(
        report.redirect.unwrap().location,
        "https://example.org/".to_owned()
    );
}

/// gateway.go, gateway_test.go "tls redirect without virtual services": a redirecting server's
/// hosts that no VirtualService claims still get a virtual host that redirects (and, over TLS
/// or for other hosts, nothing routes).
#[test]
fn https_redirect_without_virtual_service() {
    let mesh = yaml(&[&gateway(
        "default",
        "  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [example.org, \"*.example.com\"]
    tls: {httpsRedirect: true}
",
    )]);
    let source = gw("default");
    assert_eq!(
        goes(&mesh, "http://example.org/x", &source),
        "301 https://example.org/x"
    );
    assert_eq!(
        goes(&mesh, "http://www.example.com/", &source),
        "301 https://www.example.com/"
    );
    assert_eq!(goes(&mesh, "http://example.net/", &source), "404");
}

/// gateway_test.go "http redirection not working when virtualservice not match http port": a
/// VirtualService whose routes are all for port 443 adds no routes on port 80, yet the
/// redirecting server's host still redirects there.
#[test]
fn https_redirect_when_the_virtual_service_matches_only_443() {
    let mesh = yaml(&[
        &gateway("default", REDIRECT_AND_HTTPS),
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: https-only, namespace: default}
spec:
  hosts: [example.org]
  gateways: [gw]
  http:
  - match: [{port: 443}]
    route: [{destination: {host: site-backend}}]
",
    ]);
    let source = gw("default");
    assert_eq!(
        goes(&mesh, "http://example.org/", &source),
        "301 https://example.org/"
    );
    assert_eq!(goes(&mesh, "https://example.org/", &source), "site-backend");
}

/// gateway.go: `require_tls` belongs to the virtual host, so routes another server on the same
/// port brought to it redirect too (gateway_test.go "merging of virtual services when tls
/// redirect is set"); a server without `httpsRedirect` on that port leaves its other hosts alone.
/// Envoy ignores a client's `x-forwarded-proto`: a gateway overwrites it from the connection
/// (conn_manager_utility.cc, no trusted hops by default).
#[test]
fn https_redirect_is_per_virtual_host() {
    let mesh = yaml(&[
        &gateway(
            "default",
            "  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [\"*\"]
  - port: {number: 80, name: http-redirect, protocol: HTTP}
    hosts: [secure.example.com]
    tls: {httpsRedirect: true}
",
        ),
        &bound_vs(
            "default",
            "both",
            "[secure.example.com, open.example.com]",
            "[gw]",
            "backend",
        ),
    ]);
    let source = gw("default");
    assert_eq!(
        goes(&mesh, "http://secure.example.com/", &source),
        "301 https://secure.example.com/"
    );
    assert_eq!(goes(&mesh, "http://open.example.com/", &source), "backend");
    let req = http::Request::get("http://secure.example.com/")
        .header("x-forwarded-proto", "https")
        .body(())
        .unwrap();
    assert_eq!(mesh.route(&req, &source).outcome(), Outcome::Redirect);
}

// ---------------------------------------------------------------------------------------------
// Explanations
// ---------------------------------------------------------------------------------------------

/// `Mesh::explain` says why a gateway answered 404 or redirected, on the same path as routing.
#[test]
fn explain_gateway_port_host_and_redirect() {
    let mesh = yaml(&[
        &gateway("default", REDIRECT_AND_HTTPS),
        &bound_vs("default", "site", "[example.org]", "[gw]", "site-backend"),
    ]);
    let source = gw("default");
    assert_eq!(
        explain(&mesh, "http://example.org:8080/", &source),
        "gateway default/gw calls example.org:8080
  port 8080: no server listens on port 8080 (servers listen on 80, 443); Envoy has no listener or filter chain for it and the connection fails without an HTTP answer, reported here as 404
  => no route matched: Envoy answers 404 (NR)"
    );
    assert_eq!(
        explain(&mesh, "https://other.org/", &source),
        "gateway default/gw calls other.org
  port 443: no HTTPS server terminating TLS on port 443 takes the server name \"other.org\", and the request is https; Envoy has no listener or filter chain for it and the connection fails without an HTTP answer, reported here as 404
  => no route matched: Envoy answers 404 (NR)"
    );
    assert_eq!(
        explain(&mesh, "http://other.org/", &source),
        "gateway default/gw calls other.org
  port 80: host \"other.org\" not served on port 80 (virtual hosts of its plain-text servers: example.org)
  => no route matched: Envoy answers 404 (NR)"
    );
    assert_eq!(
        explain(&mesh, "http://example.org/x?y=1", &source),
        "gateway default/gw calls example.org
  port 80: virtual host example.org requires TLS (spec.servers[0].tls.httpsRedirect) and the request is plain HTTP: redirect to https
  => redirect 301 https://example.org/x?y=1"
    );
    assert_eq!(
        explain(&mesh, "https://example.org/", &source),
        "gateway default/gw calls example.org
  VirtualService default/site: routes tried
    default/site http[0] no match conditions: MATCHED
  => route to site-backend.default.svc.cluster.local port 443"
    );
    assert_eq!(
        explain(&mesh, "http://example.org/", &gw("elsewhere")),
        "gateway elsewhere/gw calls example.org
  port 80: no Gateway of that name in the configuration: nothing listens; Envoy has no listener or filter chain for it and the connection fails without an HTTP answer, reported here as 404
  => no route matched: Envoy answers 404 (NR)"
    );
}
