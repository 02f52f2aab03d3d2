//! Golden TCP and TLS routes (`Mesh::route_connection`): one test per rule of Istio's filter
//! chains for a VirtualService's `tcp` and `tls` rules and Envoy's choice among them. The
//! sources, by file and function:
//!
//! - `tls.go`: istio/istio `pilot/pkg/networking/core/tls.go` (`matchTCP`, `matchTLS`,
//!   `getConfigsForHost`, `buildSidecarOutboundTCPFilterChainOpts`,
//!   `buildSidecarOutboundTLSFilterChainOpts`).
//! - `listener.go`: same folder (`buildSidecarOutboundListener`, `buildListenerFromEntry`: the
//!   match-all chain becomes the default chain, else the passthrough chain does).
//! - `gateway.go`: same folder (`createGatewayTCPFilterChainOpts`,
//!   `buildGatewayNetworkFiltersFromTCPRoutes`, `buildGatewayNetworkFiltersFromTLSRoutes`,
//!   `l4SingleMatch`, `builtAutoPassthroughFilterChains`).
//! - `networkfilter.go`: same folder (`buildOutboundNetworkFilters`: one destination is one
//!   cluster, several are weighted clusters over those with weight > 0).
//! - `route.go` `GetDestinationCluster`: istio/istio `pilot/pkg/networking/core/route/route.go`.
//! - `virtualservice.go` `ResolveVirtualServiceShortnames`: istio/istio `pilot/pkg/model/`.
//! - `filter_chain_manager_impl.cc`: envoyproxy/envoy
//!   `source/common/listener_manager/filter_chain_manager_impl.cc` (`findFilterChain`: the
//!   longest destination prefix, then the server name: exact, longest wildcard, none).
//! - `tcp_proxy.cc`: envoyproxy/envoy `source/common/tcp_proxy/tcp_proxy.cc` (weighted clusters
//!   picked once per connection, `random % total` as for HTTP).

use std::net::IpAddr;

use meshroute::{Connection, ConnectionDecision, FastRng, Mesh, Outcome, RouteKind, Source};

use crate::common::{get, mesh};

/// A random source that always returns the same number (Envoy's draw, fixed).
struct Fixed(u64);

impl meshroute::Rng for Fixed {
    fn next_u64(&mut self) -> u64 {
        self.0
    }
}

const SUFFIX: &str = ".default.svc.cluster.local";

/// `tcp[0] -> host[ subset]:port`, `default -> host:port`, or the outcome's name.
fn summary(d: &ConnectionDecision<'_>) -> String {
    let dest = d.destination().map(|dest| {
        let host = dest.host.strip_suffix(SUFFIX).unwrap_or(dest.host);
        let subset = dest.subset.map(|s| format!(" {s}")).unwrap_or_default();
        format!("{host}{subset}:{}", dest.port.unwrap_or(0))
    });
    match (d.outcome(), d.kind(), d.route(), dest) {
        (Outcome::Route, Some(kind), Some(route), Some(dest)) => {
            format!("{}[{}] -> {dest}", kind.as_str(), route.index)
        }
        (Outcome::Route, None, _, Some(dest)) => format!("cluster -> {dest}"),
        (Outcome::NoVirtualService, _, _, Some(dest)) => format!("default -> {dest}"),
        (outcome, ..) => outcome.as_str().to_owned(),
    }
}

fn connect(mesh: &Mesh, connection: Connection<'_>, source: &Source) -> String {
    summary(&mesh.route_connection(&connection, source, &mut Fixed(0)))
}

fn sidecar() -> Source {
    Source::sidecar("default")
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// Kubernetes Services: `db` (tcp 5432), `db-replica` and `db-primary` (5432), `web`
/// (http 8080 and an unnamed 9000), `backend` (https 443), `multi` (tcp 7000 and 7001).
const SERVICES: &str = "
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  clusterIP: 10.96.0.10
  ports: [{name: tcp-postgres, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: db-replica, namespace: default}
spec:
  ports: [{name: tcp-postgres, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: db-primary, namespace: default}
spec:
  ports: [{name: tcp-postgres, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  ports: [{name: http-web, port: 8080}, {name: raw, port: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  ports: [{name: https, port: 443}]
---
apiVersion: v1
kind: Service
metadata: {name: multi, namespace: default}
spec:
  ports: [{name: tcp-a, port: 7000}, {name: tcp-b, port: 7001}]
";

fn with_services(yaml: &str) -> Mesh {
    mesh(&format!("{SERVICES}---\n{yaml}"))
}

// ---------------------------------------------------------------------------------------------
// Sidecars: tcp rules
// ---------------------------------------------------------------------------------------------

/// tls.go `buildSidecarOutboundTCPFilterChainOpts`: rules in order; the first holding match
/// without `destinationSubnets` ends the list, whatever follows.
#[test]
fn tcp_first_holding_rule_wins() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - match: [{port: 5432}]
    route: [{destination: {host: db-primary}}]
  - route: [{destination: {host: db-replica}}]
",
    );
    let d = mesh.route_connection(&Connection::tcp("db", 5432), &sidecar(), &mut Fixed(0));
    assert_eq!(summary(&d), "tcp[0] -> db-primary:5432");
    assert_eq!(d.kind(), Some(RouteKind::Tcp));
    assert_eq!(d.virtual_service(), Some("default/db"));
    assert_eq!(d.matched().map(|m| m.index), Some(0));
}

/// tls.go `matchTCP`: `sourceLabels` and `sourceNamespace` are decided for the caller; a match
/// they drop is as if absent, and the next rule is tried.
#[test]
fn tcp_match_dropped_for_the_caller_falls_to_the_next_rule() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - match: [{sourceLabels: {app: reporting}}]
    route: [{destination: {host: db-replica}}]
  - match: [{sourceNamespace: batch}]
    route: [{destination: {host: db-replica, port: {number: 5433}}}]
  - route: [{destination: {host: db-primary}}]
",
    );
    let reporting = sidecar().with_labels([("app", "reporting")]);
    assert_eq!(
        connect(&mesh, Connection::tcp("db", 5432), &reporting),
        "tcp[0] -> db-replica:5432"
    );
    assert_eq!(
        connect(
            &mesh,
            Connection::tcp("db.default", 5432),
            &Source::sidecar("batch")
        ),
        "tcp[1] -> db-replica:5433"
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("db", 5432), &sidecar()),
        "tcp[2] -> db-primary:5432"
    );
}

/// tls.go `buildSidecarOutboundTCPFilterChainOpts` (`!defaultRouteAdded`): when no rule holds,
/// the service's own chain carries the connection: the whole service, no subset.
#[test]
fn tcp_without_holding_rule_takes_the_service_chain() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - match: [{port: 6000}]
    route: [{destination: {host: db-replica}}]
",
    );
    let d = mesh.route_connection(&Connection::tcp("db", 5432), &sidecar(), &mut Fixed(0));
    assert_eq!(d.outcome(), Outcome::NoVirtualService);
    assert_eq!(d.kind(), None);
    assert_eq!(summary(&d), "default -> db:5432");
}

/// tls.go `matchTCP`: a sidecar is the `mesh` gateway; a match naming other gateways is dropped.
#[test]
fn tcp_match_gateways_on_a_sidecar_is_mesh() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  gateways: [mesh, edge]
  tcp:
  - match: [{gateways: [edge]}]
    route: [{destination: {host: db-replica}}]
  - match: [{gateways: [mesh]}]
    route: [{destination: {host: db-primary}}]
",
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("db", 5432), &sidecar()),
        "tcp[1] -> db-primary:5432"
    );
}

/// tls.go: holding matches with `destinationSubnets` become filter chains on those subnets
/// (the list goes on); filter_chain_manager_impl.cc: Envoy takes the longest prefix holding
/// the destination address, whatever the rule order; no prefix holds it: the catch-all rule.
#[test]
fn tcp_destination_subnets_longest_prefix_wins() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - match: [{destinationSubnets: [10.0.0.0/8]}]
    route: [{destination: {host: db-replica}}]
  - match: [{destinationSubnets: [10.96.0.0/16]}]
    route: [{destination: {host: db-primary}}]
  - route: [{destination: {host: db}}]
",
    );
    let to = |address: &str| {
        connect(
            &mesh,
            Connection::tcp("db", 5432).with_destination_ip(ip(address)),
            &sidecar(),
        )
    };
    assert_eq!(to("10.96.1.1"), "tcp[1] -> db-primary:5432");
    assert_eq!(to("10.1.1.1"), "tcp[0] -> db-replica:5432");
    assert_eq!(to("192.168.1.1"), "tcp[2] -> db:5432");
    // Without an address given, the service's cluster IP (10.96.0.10) is the destination.
    assert_eq!(
        connect(&mesh, Connection::tcp("db", 5432), &sidecar()),
        "tcp[1] -> db-primary:5432"
    );
    // The cluster IP reaches the service too.
    assert_eq!(
        connect(&mesh, Connection::tcp("10.96.0.10", 5432), &sidecar()),
        "tcp[1] -> db-primary:5432"
    );
}

/// tls.go: a rule without `match` ends the list (`break TcpLoop`): later subnet rules never
/// become filter chains.
#[test]
fn tcp_catch_all_rule_hides_later_subnet_rules() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - route: [{destination: {host: db-replica}}]
  - match: [{destinationSubnets: [10.96.0.0/16]}]
    route: [{destination: {host: db-primary}}]
",
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("db", 5432), &sidecar()),
        "tcp[0] -> db-replica:5432"
    );
}

/// tls.go `getConfigsForHost` and the loop over configs: unlike HTTP (the oldest VirtualService
/// for a host wins), the `tcp` rules of every mesh VirtualService whose hosts match the service
/// are tried, oldest first, wildcard hosts included.
#[test]
fn tcp_rules_of_every_matching_virtual_service_in_creation_order() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: old, namespace: default, creationTimestamp: '2024-01-01T00:00:00Z'}
spec:
  hosts: [db]
  tcp:
  - match: [{sourceLabels: {app: reporting}}]
    route: [{destination: {host: db-replica}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: all, namespace: default, creationTimestamp: '2024-02-01T00:00:00Z'}
spec:
  hosts: ['*.default.svc.cluster.local']
  tcp:
  - route: [{destination: {host: db-primary}}]
",
    );
    let reporting = sidecar().with_labels([("app", "reporting")]);
    let d = mesh.route_connection(&Connection::tcp("db", 5432), &reporting, &mut Fixed(0));
    assert_eq!(d.virtual_service(), Some("default/old"));
    let d = mesh.route_connection(&Connection::tcp("db", 5432), &sidecar(), &mut Fixed(0));
    assert_eq!(d.virtual_service(), Some("default/all"));
    assert_eq!(summary(&d), "tcp[0] -> db-primary:5432");
}

/// networkfilter.go `buildOutboundNetworkFiltersWithWeightedClusters`: weighted clusters over
/// the destinations with weight > 0; tcp_proxy.cc picks one per connection with
/// `random % total` over the intervals in order.
#[test]
fn tcp_weighted_destinations_are_chosen_per_connection() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - route:
    - {destination: {host: db-primary}, weight: 80}
    - {destination: {host: db}, weight: 0}
    - {destination: {host: db-replica}, weight: 20}
",
    );
    let with = |draw| {
        summary(&mesh.route_connection(&Connection::tcp("db", 5432), &sidecar(), &mut Fixed(draw)))
    };
    assert_eq!(with(0), "tcp[0] -> db-primary:5432");
    assert_eq!(with(79), "tcp[0] -> db-primary:5432");
    assert_eq!(with(80), "tcp[0] -> db-replica:5432");
    assert_eq!(with(199), "tcp[0] -> db-replica:5432");
    // Converges to the weights.
    let mut rng = FastRng::from_seed(7);
    let replica = (0..10_000)
        .filter(|_| {
            let d = mesh.route_connection(&Connection::tcp("db", 5432), &sidecar(), &mut rng);
            d.destination().unwrap().host.starts_with("db-replica")
        })
        .count();
    assert!((1_800..2_200).contains(&replica), "{replica}");
}

/// networkfilter.go `buildOutboundNetworkFilters`: a single destination is a plain cluster,
/// whatever its weight.
#[test]
fn tcp_single_destination_ignores_its_weight() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - route: [{destination: {host: db-replica}, weight: 0}]
",
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("db", 5432), &sidecar()),
        "tcp[0] -> db-replica:5432"
    );
}

/// route.go `GetDestinationCluster`: the destination's port, else the service's only port,
/// else the listener's port.
#[test]
fn tcp_destination_port_defaults_as_istio_builds_the_cluster_name() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: multi, namespace: default}
spec:
  hosts: [multi]
  tcp:
  - match: [{port: 7001}]
    route: [{destination: {host: db}}]
  - route: [{destination: {host: multi}}]
",
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("multi", 7001), &sidecar()),
        "tcp[0] -> db:5432"
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("multi", 7000), &sidecar()),
        "tcp[1] -> multi:7000"
    );
}

/// listener.go `buildSidecarOutboundListener`: an HTTP port gets an HTTP listener whose
/// non-HTTP traffic takes the passthrough chain; `tcp` rules do not apply there. An unnamed
/// (sniffed) port has both: requests take the `http` rules, other bytes the `tcp` rules.
#[test]
fn mixed_virtual_service_serves_http_from_http_and_connections_from_tcp() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: default}
spec:
  hosts: [web]
  http:
  - route: [{destination: {host: web, port: {number: 8080}}}]
  tcp:
  - route: [{destination: {host: db}}]
",
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("web", 8080), &sidecar()),
        "passthrough"
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("web", 9000), &sidecar()),
        "tcp[0] -> db:5432"
    );
    let request = get("http://web:9000/");
    let d = mesh.route(&request, &sidecar());
    assert_eq!(d.kind(), Some(RouteKind::Http));
    assert_eq!(d.destination().unwrap().port, Some(8080));
}

/// route.go `BuildHTTPRoutesForVirtualService`: a VirtualService with only `tcp` rules builds
/// no HTTP routes, so requests to its host take the default route.
#[test]
fn tcp_only_virtual_service_adds_no_http_routes() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: default}
spec:
  hosts: [web]
  tcp:
  - route: [{destination: {host: db}}]
",
    );
    let request = get("http://web:9000/");
    let d = mesh.route(&request, &sidecar());
    assert_eq!(d.outcome(), Outcome::NoVirtualService);
    assert_eq!(d.kind(), None);
}

/// gateway.go `buildGatewayHTTPRouteConfig`: a VirtualService whose `http` yields no routes
/// (here it has only `tcp`) builds no virtual host, so a wildcard VirtualService serves its host.
#[test]
fn tcp_only_virtual_service_builds_no_gateway_virtual_host() {
    let mesh = with_services(&format!(
        "{EDGE}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: wide, namespace: default}}
spec:
  hosts: ['*.example.com']
  gateways: [edge]
  http:
  - route: [{{destination: {{host: web, port: {{number: 8080}}}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: narrow, namespace: default}}
spec:
  hosts: [a.example.com]
  gateways: [edge]
  tcp:
  - route: [{{destination: {{host: db}}}}]
"
    ));
    let request = get("http://a.example.com/");
    let d = mesh.route(&request, &edge());
    assert_eq!(d.virtual_service(), Some("default/wide"));
}

/// listener.go: no service, no listener: the virtual outbound listener passes the connection
/// through (`ALLOW_ANY`); the same for a port the service does not have.
#[test]
fn unknown_hosts_and_ports_pass_through() {
    let mesh = with_services("");
    assert_eq!(
        connect(
            &mesh,
            Connection::tcp("nowhere.example.com", 5432),
            &sidecar()
        ),
        "passthrough"
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("db", 1234), &sidecar()),
        "passthrough"
    );
}

/// The endpoint is picked by the destination cluster's balancer (the one HTTP uses): a
/// ServiceEntry's endpoints, filtered by the subset's labels.
#[test]
fn connections_pick_endpoints_of_the_destination_subset() {
    let mesh = mesh(
        "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.internal]
  addresses: [192.168.7.7]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  endpoints:
  - {address: 10.0.0.1, labels: {role: primary}}
  - {address: 10.0.0.2, labels: {role: replica}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: default}
spec:
  host: db.internal
  subsets:
  - {name: replica, labels: {role: replica}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db.internal]
  tcp:
  - route: [{destination: {host: db.internal, subset: replica}}]
",
    );
    let d = mesh.route_connection(
        &Connection::tcp("db.internal", 5432),
        &sidecar(),
        &mut Fixed(0),
    );
    assert_eq!(summary(&d), "tcp[0] -> db.internal replica:5432");
    assert_eq!(d.endpoint().unwrap().address, "10.0.0.2:5432");
    // The report is the decision JSON, with the rule list.
    let report = d.report();
    assert_eq!(report.route.as_ref().unwrap().kind, "tcp");
    assert_eq!(report.endpoint.unwrap().address, "10.0.0.2:5432");
}

// ---------------------------------------------------------------------------------------------
// Sidecars: tls rules
// ---------------------------------------------------------------------------------------------

/// Egress to `*.example.com` on 443 (TLS), no address of its own.
const EXAMPLE_ENTRY: &str = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: example, namespace: default}
spec:
  hosts: ['*.example.com']
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: NONE
";

/// filter_chain_manager_impl.cc `findFilterChainForServerName`: an exact server name beats a
/// wildcard whatever the rule order; `*.example.com` covers subdomains only.
#[test]
fn tls_exact_sni_beats_wildcard_whatever_the_order() {
    let mesh = mesh(&format!(
        "{EXAMPLE_ENTRY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: example, namespace: default}}
spec:
  hosts: ['*.example.com']
  tls:
  - match: [{{sniHosts: ['*.example.com']}}]
    route: [{{destination: {{host: wild.example.com}}}}]
  - match: [{{sniHosts: [api.example.com]}}]
    route: [{{destination: {{host: api.example.com}}}}]
"
    ));
    let tls = |sni| connect(&mesh, Connection::tls(sni, 443), &sidecar());
    assert_eq!(tls("api.example.com"), "tls[1] -> api.example.com:443");
    assert_eq!(tls("www.example.com"), "tls[0] -> wild.example.com:443");
    assert_eq!(tls("a.b.example.com"), "tls[0] -> wild.example.com:443");
    // `example.com` is no subdomain of itself, and no service either.
    assert_eq!(tls("example.com"), "passthrough");
}

/// listener.go `buildListenerFromEntry`: with `tls` chains on the listener and none for the
/// SNI, the passthrough chain carries the connection.
#[test]
fn tls_sni_no_rule_covers_passes_through() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: backend, namespace: default}
spec:
  hosts: [backend, backend.example.com]
  tls:
  - match: [{sniHosts: [backend.example.com]}]
    route: [{destination: {host: db}}]
",
    );
    let to_backend = |sni| {
        connect(
            &mesh,
            Connection::tls(sni, 443).to_host("backend"),
            &sidecar(),
        )
    };
    assert_eq!(to_backend("backend.example.com"), "tls[0] -> db:5432");
    assert_eq!(to_backend("other.example.com"), "passthrough");
    // A plain TCP connection has no SNI: no chain either.
    assert_eq!(
        connect(&mesh, Connection::tcp("backend", 443), &sidecar()),
        "passthrough"
    );
}

/// virtualservice.go `ResolveVirtualServiceShortnames` resolves hosts and destinations, not
/// `sniHosts`: an SNI host is matched literally.
#[test]
fn tls_sni_hosts_are_literal_not_short_names() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: backend, namespace: default}
spec:
  hosts: [backend]
  tls:
  - match: [{sniHosts: [backend]}]
    route: [{destination: {host: db}}]
",
    );
    assert_eq!(
        connect(&mesh, Connection::tls("backend", 443), &sidecar()),
        "tls[0] -> db:5432"
    );
    assert_eq!(
        connect(
            &mesh,
            Connection::tls("backend.default.svc.cluster.local", 443),
            &sidecar()
        ),
        "passthrough"
    );
}

/// tls.go `buildSidecarOutboundTLSFilterChainOpts` (`!hasTLSMatch`): no match holds for the
/// caller: the service's own chain; a service with an address needs no SNI for it.
#[test]
fn tls_without_holding_match_takes_the_service_chain() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: backend, namespace: default}
spec:
  hosts: [backend]
  tls:
  - match: [{sniHosts: [backend], sourceNamespace: batch}]
    route: [{destination: {host: db}}]
",
    );
    assert_eq!(
        connect(
            &mesh,
            Connection::tls("anything", 443).to_host("backend"),
            &sidecar()
        ),
        "default -> backend:443"
    );
    assert_eq!(
        connect(
            &mesh,
            Connection::tls("backend", 443).to_host("backend.default"),
            &Source::sidecar("batch")
        ),
        "tls[0] -> db:5432"
    );
}

/// tls.go: a service without an address of its own (a ServiceEntry without `addresses`) is
/// told apart by SNI: its own chain matches its host name only.
#[test]
fn tls_service_without_address_is_matched_on_its_host_name() {
    let mesh = mesh(
        "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS
",
    );
    assert_eq!(
        connect(&mesh, Connection::tls("api.example.com", 443), &sidecar()),
        "default -> api.example.com:443"
    );
    assert_eq!(
        connect(
            &mesh,
            Connection::tls("other.example.com", 443).to_host("api.example.com"),
            &sidecar()
        ),
        "passthrough"
    );
}

/// tls.go `buildSidecarOutboundTLSFilterChainOpts` (its comment's example): matches are decided
/// for the caller first; a later match with the same SNI hosts and subnets as an earlier
/// holding one makes no chain (`matchHasBeenHandled`), so the first holding match wins.
#[test]
fn tls_same_sni_first_holding_match_wins() {
    let mesh = mesh(&format!(
        "{EXAMPLE_ENTRY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: example, namespace: default}}
spec:
  hosts: ['*.example.com']
  tls:
  - match: [{{sniHosts: [api.example.com], sourceLabels: {{app: x}}}}]
    route: [{{destination: {{host: x.example.com}}}}]
  - match: [{{sniHosts: [api.example.com]}}]
    route: [{{destination: {{host: y.example.com}}}}]
"
    ));
    let api = Connection::tls("api.example.com", 443);
    assert_eq!(
        connect(&mesh, api, &sidecar().with_labels([("app", "x")])),
        "tls[0] -> x.example.com:443"
    );
    assert_eq!(
        connect(&mesh, api, &sidecar()),
        "tls[1] -> y.example.com:443"
    );
    let (_, explanation) =
        mesh.explain_connection(&api, &sidecar().with_labels([("app", "x")]), &mut Fixed(0));
    assert_eq!(
        explanation.to_string(),
        "sidecar in namespace default calls tls://api.example.com:443
  port 443 of *.example.com is TLS: tls rules apply
  VirtualService default/example: routes tried
    default/example tls[0] match #0: MATCHED (sniHosts [\"api.example.com\"]: exact SNI api.example.com)
    default/example tls[1] match #0: same sniHosts and destinationSubnets as an earlier match: no filter chain of its own
  => route to x.example.com port 443"
    );
}

/// tls.go `buildSidecarOutboundTLSFilterChainOpts` assigns a holding match's
/// `destinationSubnets` to `destinationCIDRs`, which later chains of the listener keep: a later
/// rule without subnets is matched on the earlier rule's subnets too.
#[test]
fn tls_destination_subnets_carry_over_to_later_chains() {
    let mesh = mesh(&format!(
        "{EXAMPLE_ENTRY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: example, namespace: default}}
spec:
  hosts: ['*.example.com']
  tls:
  - match: [{{sniHosts: [a.example.com], destinationSubnets: [10.0.0.0/8]}}]
    route: [{{destination: {{host: x.example.com}}}}]
  - match: [{{sniHosts: [b.example.com]}}]
    route: [{{destination: {{host: y.example.com}}}}]
"
    ));
    let b = |address: &str| {
        connect(
            &mesh,
            Connection::tls("b.example.com", 443).with_destination_ip(ip(address)),
            &sidecar(),
        )
    };
    assert_eq!(b("10.1.1.1"), "tls[1] -> y.example.com:443");
    assert_eq!(b("192.168.1.1"), "passthrough");
}

// ---------------------------------------------------------------------------------------------
// Gateways
// ---------------------------------------------------------------------------------------------

/// A gateway with a TLS passthrough server on 443, a TCP server on 31400, an HTTP server on 80
/// and an AUTO_PASSTHROUGH server on 15443.
const EDGE: &str = "
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: tls, protocol: TLS}
    tls: {mode: PASSTHROUGH}
    hosts: ['*.example.com']
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ['*']
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 15443, name: tls-mesh, protocol: TLS}
    tls: {mode: AUTO_PASSTHROUGH}
    hosts: ['*.local']
";

fn edge() -> Source {
    Source::gateway("default/edge")
}

/// gateway.go `buildGatewayNetworkFiltersFromTLSRoutes`: a passthrough server routes by SNI to
/// the `tls` rules of the VirtualServices bound to the gateway; exact beats wildcard; no chain
/// for the SNI: the connection is closed (a gateway listener has no default chain).
#[test]
fn gateway_tls_passthrough_routes_by_sni() {
    let mesh = with_services(&format!(
        "{EDGE}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: passthrough, namespace: default}}
spec:
  hosts: ['*.example.com']
  gateways: [edge]
  tls:
  - match: [{{sniHosts: ['*.example.com']}}]
    route: [{{destination: {{host: backend}}}}]
  - match: [{{sniHosts: [db.example.com], port: 443}}]
    route: [{{destination: {{host: db}}}}]
"
    ));
    let tls = |sni| connect(&mesh, Connection::tls(sni, 443), &edge());
    assert_eq!(tls("db.example.com"), "tls[1] -> db:5432");
    assert_eq!(tls("www.example.com"), "tls[0] -> backend:443");
    assert_eq!(tls("www.example.org"), "closed");
    assert_eq!(
        connect(&mesh, Connection::tcp("db.example.com", 443), &edge()),
        "closed"
    );
}

/// gateway.go `buildGatewayNetworkFiltersFromTLSRoutes`: a match whose SNI hosts already have
/// a chain on the port is skipped (`CheckDuplicates`): the older VirtualService keeps the name.
#[test]
fn gateway_tls_duplicate_sni_keeps_the_older_virtual_service() {
    let mesh = with_services(&format!(
        "{EDGE}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: newer, namespace: default, creationTimestamp: '2024-02-01T00:00:00Z'}}
spec:
  hosts: [api.example.com]
  gateways: [edge]
  tls:
  - match: [{{sniHosts: [api.example.com]}}]
    route: [{{destination: {{host: db}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: older, namespace: default, creationTimestamp: '2024-01-01T00:00:00Z'}}
spec:
  hosts: [api.example.com]
  gateways: [edge]
  tls:
  - match: [{{sniHosts: [api.example.com]}}]
    route: [{{destination: {{host: backend}}}}]
"
    ));
    let d = mesh.route_connection(
        &Connection::tls("api.example.com", 443),
        &edge(),
        &mut Fixed(0),
    );
    assert_eq!(d.virtual_service(), Some("default/older"));
}

/// gateway.go `buildGatewayNetworkFiltersFromTCPRoutes` / `l4MultiMatch`: the first `tcp` rule
/// with a match for the server's port (or no match) carries every connection; `sourceLabels`
/// do not apply at a gateway (`l4SingleMatch` checks only `port` and `gateways`); a
/// destination without a port on a multi-port service takes the listener's port.
#[test]
fn gateway_tcp_server_takes_the_first_rule_for_its_port() {
    let mesh = with_services(&format!(
        "{EDGE}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: tcp, namespace: default}}
spec:
  hosts: ['*']
  gateways: [edge]
  tcp:
  - match: [{{port: 9999}}]
    route: [{{destination: {{host: db}}}}]
  - match: [{{port: 31400, sourceLabels: {{app: nobody}}}}]
    route: [{{destination: {{host: web}}}}]
  - route: [{{destination: {{host: backend}}}}]
"
    ));
    let d = mesh.route_connection(&Connection::tcp("anything", 31400), &edge(), &mut Fixed(0));
    assert_eq!(summary(&d), "tcp[1] -> web:31400");
    assert_eq!(d.matched().map(|m| m.index), Some(0));
}

/// gateway.go `createGatewayTCPFilterChainOpts`: a TCP server with no VirtualService rule gets
/// no chain, and a port without a server has no listener: the connection is closed. A plain
/// HTTP port is served by the HTTP connection manager.
#[test]
fn gateway_without_chain_closes_and_http_ports_serve_http() {
    let mesh = with_services(EDGE);
    assert_eq!(
        connect(&mesh, Connection::tcp("anything", 31400), &edge()),
        "closed"
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("anything", 8443), &edge()),
        "closed"
    );
    assert_eq!(
        connect(&mesh, Connection::tcp("anything", 80), &edge()),
        "http"
    );
}

/// gateway.go `builtAutoPassthroughFilterChains`: an AUTO_PASSTHROUGH server has a chain per
/// cluster of the mesh services under its hosts, on the cluster name as SNI
/// (`outbound_.PORT_.SUBSET_.HOST`), subsets of the DestinationRule included.
#[test]
fn gateway_auto_passthrough_sni_names_the_cluster() {
    let mesh = with_services(&format!(
        "{EDGE}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: db, namespace: default}}
spec:
  host: db
  subsets: [{{name: v1, labels: {{version: v1}}}}]
"
    ));
    let tls = |sni| connect(&mesh, Connection::tls(sni, 15443), &edge());
    assert_eq!(
        tls("outbound_.5432_.v1_.db.default.svc.cluster.local"),
        "cluster -> db v1:5432"
    );
    assert_eq!(
        tls("outbound_.5432_._.db.default.svc.cluster.local"),
        "cluster -> db:5432"
    );
    assert_eq!(
        tls("outbound_.5432_.v9_.db.default.svc.cluster.local"),
        "closed"
    );
    assert_eq!(
        tls("outbound_.5433_._.db.default.svc.cluster.local"),
        "closed"
    );
    assert_eq!(tls("db.default.svc.cluster.local"), "closed");
}

// ---------------------------------------------------------------------------------------------
// Explanations
// ---------------------------------------------------------------------------------------------

/// `Mesh::explain_connection` decides with the same code and says why.
#[test]
fn explain_connection_shows_the_listener_the_matches_and_the_chain() {
    let mesh = with_services(
        "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - match: [{sourceLabels: {app: reporting}}]
    route: [{destination: {host: db-replica}}]
  - match: [{destinationSubnets: [10.96.0.0/16]}]
    route: [{destination: {host: db-primary}}]
  - route: [{destination: {host: db}}]
",
    );
    let (decision, explanation) =
        mesh.explain_connection(&Connection::tcp("db", 5432), &sidecar(), &mut Fixed(0));
    assert_eq!(summary(&decision), "tcp[1] -> db-primary:5432");
    assert_eq!(
        explanation.to_string(),
        "sidecar in namespace default calls tcp://db:5432
  port 5432 of db.default.svc.cluster.local is TCP: tcp rules apply
  VirtualService default/db: routes tried
    default/db tcp[0] match #0: dropped for this caller: sourceLabels: caller has no label app=reporting
    default/db tcp[1] match #0: MATCHED (destinationSubnets [10.96.0.0/16]: 10.96.0.0/16 holds the destination 10.96.0.10 (a filter chain; Envoy takes the longest prefix))
    default/db tcp[2] no match conditions: ends the list: a filter chain for any destination
  => route to db-primary.default.svc.cluster.local port 5432"
    );
}

/// A Service whose selector picks no pod has no endpoints: the TCP proxy finds no healthy
/// upstream and Envoy closes the connection (flag `UH`). Without a selector the endpoints are
/// managed by hand and unknown to meshroute: no pick, no verdict.
#[test]
fn connection_to_a_service_without_pods_has_no_healthy_upstream() {
    let mesh = crate::common::mesh(
        "
apiVersion: v1
kind: Service
metadata: {name: queue, namespace: default}
spec:
  selector: {app: queue}
  ports: [{name: tcp-amqp, port: 5672}]
",
    );
    let (decision, explanation) =
        mesh.explain_connection(&Connection::tcp("queue", 5672), &sidecar(), &mut Fixed(0));
    assert_eq!(
        decision.no_endpoint(),
        Some(meshroute::NoEndpoint::NoHealthyUpstream)
    );
    assert!(
        explanation
            .to_string()
            .ends_with("(no healthy endpoint: Envoy closes the connection, flag UH)"),
        "{explanation}"
    );
}
