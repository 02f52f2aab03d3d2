//! The compiled mesh and the route decision.

use std::sync::Arc;
use std::time::Instant;

use super::cluster::{ClusterState, NoEndpoint};
use super::connection::{Connection, ConnectionDecision};
use super::decision::{Decision, DestinationRef, Outcome, PickedEndpoint, RequestFacts, StateRef};
use super::explain::{EntryVerdict, Explanation, GatewayStep, NoTrace, Tracer, VsVerdict};
use super::index::RouteIndex;
use super::matcher::{RequestView, normalize_path};
use super::pick_cache::PickCache;
use super::source::Source;
use super::stream::{Caller, StreamEval, StreamTables};
use super::table::{
    Action, CompiledMatch, CompiledRoute, CompiledVs, Entry, HostEntry, LabelSet, NO_CLUSTER,
    NO_MATCH, Scope, SidecarHosts, Tables,
};
use crate::balance::endpoint::Endpoint;
use crate::balance::hash_policy::HashInput;
use crate::balance::outlier::UpstreamResult;
use crate::diagnostic::Diagnostic;
use crate::propagation::Propagation;
use crate::util::host::{DOMAIN_SUFFIX, lowercase, request_authority, split_host_port};
use crate::util::rng::{Rng, ThreadRng};

/// A validated, compiled configuration: immutable, cheap to clone (`Arc` inside), `Send + Sync`.
///
/// Build one with [`compile`](crate::compile()) or [`Loaded::compile`](crate::Loaded::compile);
/// ask it where requests go with [`Mesh::route`].
///
/// **Host names.** Every method that takes a host resolves it the way a sidecar does: a fully
/// qualified name (`svc-b.default.svc.cluster.local`), `name.namespace.svc`, `name.namespace` or
/// a ServiceEntry host reach the service from anywhere; a short name (`svc-b`) reaches the
/// service of that name in the caller's namespace. Where a method has no caller
/// ([`Mesh::set_endpoints`], [`Mesh::endpoints`]), a short name stands for the one service of
/// that name in the mesh and is refused when several namespaces have one.
#[derive(Debug, Clone)]
pub struct Mesh {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Unique per `Mesh` made in this process (never 0): the key of the scope a [`Source`]
    /// remembers.
    id: u64,
    diagnostics: Vec<Diagnostic>,
    tables: Tables,
    streams: StreamTables,
}

/// Where a request goes when no VirtualService decides it.
enum Fallback<'a> {
    /// A sidecar's: the service's own virtual host (Istio's default route) when the host entry
    /// (FQDN, ports, the DestinationRule choice of the caller's scope, the clusters per
    /// port) has a service on the port, else the catch-all virtual host
    /// (httproute.go `buildCatchAllVirtualHost`): `allow_any`, Envoy's `PassthroughCluster` with
    /// the host as called, or `block_all` (`REGISTRY_ONLY`), 502. Worked out only when needed.
    Sidecar(Option<&'a HostEntry>),
    /// A gateway has no default route: 404 NR.
    NotFound,
}

enum Eval<'a> {
    Found(&'a CompiledVs, &'a CompiledRoute, Option<&'a CompiledMatch>),
    NoMatch(&'a CompiledVs),
    NothingApplies,
    /// A gateway virtual host that requires TLS got a plain-HTTP request.
    HttpsRedirect,
}

/// The id of the next `Mesh`.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Mesh {
    /// The scope a caller sees the mesh through (`Scopes::select` for a sidecar, the plain scope
    /// of its namespace for a gateway), remembered in the `Source` for the next request.
    fn scope(&self, source: &Source) -> &Scope {
        let scopes = &self.inner.tables.scopes;
        scopes.get(
            source.scope_index(self.inner.id, |source| match source.gateway_name() {
                None => scopes.select_index(source.namespace(), source.labels()),
                Some(gateway) => {
                    scopes.gateway_index(gateway.split_once('/').map_or("", |(ns, _)| ns))
                }
            }),
        )
    }

    /// A mesh with no configuration and no tables (every host unknown), for when even an empty
    /// configuration cannot be compiled.
    #[cfg(feature = "kube")]
    pub(crate) fn empty() -> Self {
        Self::new(Vec::new(), Tables::default(), StreamTables::default())
    }

    /// The full name of the service `host` names (any of its names) on `port`, if the mesh has
    /// clusters for it.
    #[cfg(feature = "kube")]
    pub(crate) fn service_fqdn(&self, host: &str, port: u16) -> Option<String> {
        self.service_clusters(host, port).ok().map(|(fqdn, _)| fqdn)
    }

    pub(crate) fn new(diagnostics: Vec<Diagnostic>, tables: Tables, streams: StreamTables) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                diagnostics,
                tables,
                streams,
            }),
        }
    }

    /// What loading and checking found without refusing the configuration: warnings, info, and
    /// analysis findings of any level (an IST0101 missing subset is an error to `istioctl
    /// analyze`, yet Istio applies the configuration and Envoy answers 503).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.inner.diagnostics
    }

    /// The header names (lower case) that some VirtualService match refers to (`headers` and
    /// `withoutHeaders` keys; pseudo-headers and JWT claims left out): the routing flags that
    /// must travel from an inbound request to the calls it causes.
    pub fn referenced_headers(&self) -> &[String] {
        &self.inner.tables.referenced_headers
    }

    /// The query parameter names some VirtualService match refers to.
    pub fn referenced_query_params(&self) -> &[String] {
        &self.inner.tables.referenced_query_params
    }

    /// Whether a sidecar in `namespace` knows `host` (`host[:port]`): a VirtualService host or a
    /// service of the configuration. Context propagation can be limited to such hosts.
    pub fn knows_host(&self, host: &str, namespace: &str) -> bool {
        let (host, _) = split_host_port(host);
        let mut buffer = None;
        let Some(host) = lowercase(host, &mut buffer) else {
            return false;
        };
        let scope = self
            .inner
            .tables
            .scopes
            .select(namespace, &[] as &[(Box<str>, Box<str>)]);
        scope.listeners.iter().any(|l| {
            l.hosts.lookup(host, namespace).is_some()
                || l.hosts.wildcard_entries(host).next().is_some()
        })
    }

    /// Whether the configuration defines the Gateway `name` (`namespace/name`; a bare `name`
    /// means namespace `default`, as in [`Source::gateway`]). A request from a gateway the
    /// configuration does not define gets no route from [`Mesh::route`]; callers that take
    /// gateway names from users check them here first.
    ///
    /// ```
    /// # #[cfg(feature = "yaml")] {
    /// let yaml = "apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: edge, namespace: infra}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [\"*\"]}]
    /// ";
    /// let mesh = meshroute::compile(
    ///     meshroute::from_str(yaml, &meshroute::LoadOptions::default()).resources,
    /// )?;
    /// assert!(mesh.has_gateway("infra/edge"));
    /// assert!(!mesh.has_gateway("edge")); // default/edge
    /// # }
    /// # Ok::<(), meshroute::CompileError>(())
    /// ```
    pub fn has_gateway(&self, name: &str) -> bool {
        match name.split_once('/') {
            Some(_) => self.inner.tables.gateways.contains_key(name),
            None => self
                .inner
                .tables
                .gateways
                .contains_key(format!("default/{name}").as_str()),
        }
    }

    /// Decides where `request` goes when sent by `source`, as the Istio sidecar or gateway would,
    /// drawing weighted choices from a per-thread random source. Allocates nothing.
    ///
    /// The host being called is the request URI's authority, or its `Host` header. Through a
    /// gateway, the port (the authority's, else 80 for `http` and 443 for `https`) picks the
    /// Gateway's servers, and an `https` URI stands for a request that arrived over TLS.
    ///
    /// A gateway the configuration does not define (no `Gateway` resource of that namespace and
    /// name, see [`Mesh::has_gateway`]) has no listener and no virtual host in Istio, even when a
    /// VirtualService names it (`istioctl analyze` IST0101): its requests get no route, the 404
    /// (NR) of a gateway with no virtual host for the request.
    pub fn route<'a, B>(&'a self, request: &'a http::Request<B>, source: &Source) -> Decision<'a> {
        self.route_with(request, source, &mut ThreadRng)
    }

    /// [`Mesh::route`] with an explicit random source, so that weighted choices replay exactly.
    pub fn route_with<'a, B>(
        &'a self,
        request: &'a http::Request<B>,
        source: &Source,
        rng: &mut impl Rng,
    ) -> Decision<'a> {
        self.route_as(request, None, source, rng)
    }

    /// [`Mesh::route_with`] deciding as if the request had been sent to `authority`
    /// (`host[:port]`) whatever its URI and `Host` say: what a service does to route requests
    /// addressed to itself.
    pub fn route_as<'a, B>(
        &'a self,
        request: &'a http::Request<B>,
        authority: Option<&'a str>,
        source: &Source,
        rng: &mut impl Rng,
    ) -> Decision<'a> {
        self.route_traced(request, authority, source, rng, &mut NoTrace, None)
    }

    /// [`Mesh::route_with`] picking the endpoint through a worker's [`PickCache`]: the same
    /// decision, without the two atomic read-modify-write operations a pick otherwise costs to
    /// hold its cluster snapshot. For a thread that makes many decisions; the decision borrows
    /// the cache until it is dropped.
    pub fn route_cached<'a, B>(
        &'a self,
        request: &'a http::Request<B>,
        source: &Source,
        rng: &mut impl Rng,
        cache: &'a mut PickCache,
    ) -> Decision<'a> {
        self.route_traced(request, None, source, rng, &mut NoTrace, Some(cache))
    }

    /// Decides like [`Mesh::route_with`] and records why: every VirtualService considered and
    /// whether it applies, every route and match tried in order with the first condition that
    /// failed and the value seen. Allocates; for tests, the CLI and debugging.
    pub fn explain<'a, B>(
        &'a self,
        request: &'a http::Request<B>,
        source: &Source,
        rng: &mut impl Rng,
    ) -> (Decision<'a>, Explanation) {
        let mut trace = Explanation::default();
        let decision = self.route_traced(request, None, source, rng, &mut trace, None);
        trace.finish(&decision);
        (decision, trace)
    }

    fn route_traced<'a, B>(
        &'a self,
        request: &'a http::Request<B>,
        authority: Option<&'a str>,
        source: &Source,
        rng: &mut impl Rng,
        tracer: &mut impl Tracer,
        cache: Option<&'a mut PickCache>,
    ) -> Decision<'a> {
        let authority = authority
            .or_else(|| request_authority(request))
            .unwrap_or("");
        let scope = self.scope(source);
        // A sidecar's common authority (`name:port` of a service it knows) in one probe: the
        // port's listener and the host, without splitting the authority.
        let known = match source.gateway_name() {
            None => scope.authority(authority).filter(|known| {
                // A bare name is indexed for port 80, the default port of all but `https`.
                known.host_len < authority.len()
                    || !request
                        .uri()
                        .scheme_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case("https"))
            }),
            Some(_) => None,
        };
        let facts = facts(request, authority, known.map(|k| (k.host_len, k.port)));
        tracer.start(source, facts.authority);
        let path_and_query = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let view = RequestView {
            path: &facts.path,
            query: facts.query,
            path_and_query,
            method: request.method().as_str(),
            scheme: facts.scheme,
            authority: facts.authority,
            headers: request.headers(),
        };
        let mut buffer = None;
        let tables = &self.inner.tables;
        tracer.scope(&scope.name);

        let (eval, fallback) = match source.gateway_name() {
            None => {
                let (listener, entry) = match known {
                    Some(known) => (Some(known.listener), Some(known.entry)),
                    None => {
                        let listener = scope.listener(facts.port);
                        // The host as sent, any case, in one probe (`SidecarHosts::lookup` for
                        // the caller's namespace, worked out when the scope compiled).
                        (listener, listener.and_then(|l| l.host(facts.host)))
                    }
                };
                let sidecar = listener.map(|l| &l.hosts);
                // Lowercased only where a name is needed: a host the listener does not name
                // (wildcard hosts, passthrough) and explanations.
                let host = if entry.is_none() || tracer.detailed() {
                    lowercase(facts.host, &mut buffer)
                } else {
                    None
                };
                let name = entry.map(|e| &*e.fqdn).or(host).unwrap_or("");
                // The exact host's VirtualServices first, then wildcard hosts from the most
                // specific (MostSpecificHostMatch). A VirtualService that yields no routes for this
                // caller builds no virtual host (`BuildHTTPRoutesForVirtualService` in istio/istio
                // `pilot/pkg/networking/core/route/route.go`), so the next one applies.
                let exact = entry.map(|e| e.virtual_services.as_slice());
                let wildcards = sidecar
                    .into_iter()
                    .flat_map(|s| s.wildcard_entries(name))
                    .map(|e| e.virtual_services.as_slice());
                if tracer.detailed() {
                    self.trace_hidden(
                        name,
                        host,
                        source.namespace(),
                        sidecar.map(|s| &**s),
                        tracer,
                    );
                }
                let mut result = Eval::NothingApplies;
                'hosts: for candidates in exact.into_iter().chain(wildcards) {
                    for &vs in candidates {
                        let Some(compiled) = tables.virtual_services.get(index(vs)) else {
                            continue;
                        };
                        if !sidecar.is_some_and(|s| s.vs_serves(vs, facts.port)) {
                            tracer.virtual_service(&compiled.key, VsVerdict::NoServiceOnPort);
                            continue;
                        }
                        let entries = tables
                            .vs_entries
                            .get(index(vs))
                            .map_or(&[][..], Vec::as_slice);
                        let paths = tables.vs_index.get(index(vs)).and_then(Option::as_ref);
                        result = self.eval(
                            entries,
                            paths,
                            &view,
                            source,
                            source.labels(),
                            facts.port,
                            tracer,
                        );
                        if matches!(result, Eval::NothingApplies) {
                            tracer.virtual_service(&compiled.key, VsVerdict::NoRoutesForCaller);
                        } else {
                            tracer.virtual_service(&compiled.key, VsVerdict::Applies);
                            break 'hosts;
                        }
                    }
                }
                if tracer.detailed() && entry.is_none_or(|e| !e.serves(facts.port)) {
                    self.trace_unknown_host(host, source.namespace(), scope, facts.port, tracer);
                }
                (result, Fallback::Sidecar(entry))
            }
            Some(gateway) => {
                let host = lowercase(facts.host, &mut buffer);
                let tls = facts.scheme.eq_ignore_ascii_case("https");
                let eval = self.gateway_eval(gateway, host, &view, source, facts.port, tls, tracer);
                (eval, Fallback::NotFound)
            }
        };

        // The default route's DestinationRule choice, when the service's virtual host answers.
        let mut default_rule = None;
        // And its cluster, when resolved at compile time.
        let mut default_cluster = None;
        // One decision, filled in place by the arm that answers: built whole in each arm, it was
        // copied out of the arm and again into the return slot (two 256-byte copies).
        let mut decision = Decision::new(Outcome::NoRoute, None, facts);
        match eval {
            Eval::Found(vs, route, matched) => {
                decide(
                    &mut decision,
                    vs,
                    route,
                    matched,
                    scope,
                    request,
                    source,
                    rng,
                );
                let sticky = if tracer.detailed() {
                    decision.sticky_key()
                } else {
                    None
                };
                if let Some(key) = sticky {
                    let subset = decision.destination().and_then(|d| d.subset).unwrap_or("-");
                    let bucket = decision.sticky_bucket();
                    tracer.note(&|| match bucket {
                        Some(bucket) => format!(
                            "sticky weighted choice on {key}: bucket {bucket} of {} chose subset {subset}",
                            super::choice::BUCKETS
                        ),
                        None => format!(
                            "sticky weighted choice on {key}: the request has no such key, so the destination was chosen by weight alone"
                        ),
                    });
                }
            }
            // Envoy's 404 NR: the host's VirtualService matched nothing, or a gateway has no
            // virtual host for it (gateways have no default route).
            Eval::NoMatch(vs) => decision.virtual_service = Some(&vs.key),
            Eval::HttpsRedirect => {
                decision.outcome = Outcome::Redirect;
                decision.https_redirect = true;
            }
            Eval::NothingApplies => match fallback {
                Fallback::NotFound => {}
                // No VirtualService: the service's own virtual host when it serves the port,
                // else the catch-all.
                Fallback::Sidecar(entry) => match entry.filter(|e| e.serves(decision.request.port))
                {
                    Some(entry) => {
                        let host = &entry.fqdn;
                        // The entry may be shared with scopes that choose another rule.
                        match scope.rule_overrides.get(&*entry.fqdn) {
                            None => {
                                default_rule = Some(entry.rule);
                                default_cluster = entry.service_cluster(decision.request.port);
                            }
                            Some(&rule) => default_rule = Some(rule),
                        }
                        // The service's virtual host of the request's port, whose route is the cluster
                        // `outbound|PORT||HOST` (httproute.go `buildSidecarOutboundVirtualHosts`).
                        let port = Some(decision.request.port);
                        decision.outcome = Outcome::NoVirtualService;
                        decision.service_host = Some(host);
                        decision.destination = Some(DestinationRef {
                            host,
                            subset: None,
                            port,
                            cluster_exists: true,
                        });
                    }
                    None if scope.registry_only => decision.outcome = Outcome::BlackHole,
                    None => {
                        let port = decision.request.port;
                        let host = entry.map_or(decision.request.host, |e| &*e.fqdn);
                        decision.outcome = Outcome::NoVirtualService;
                        decision.destination = Some(DestinationRef {
                            host,
                            subset: None,
                            port: Some(port),
                            cluster_exists: true,
                        });
                    }
                },
            },
        }
        if tracer.detailed() {
            let notes = decision
                .destination
                .and_then(|d| scope.hosts.get(d.host))
                .and_then(|h| tables.notes.get(index(h.notes)));
            for (resource, verdict) in notes.into_iter().flatten() {
                tracer.visibility(resource, verdict);
            }
        }
        if let Some(dest) = decision.destination.filter(|d| d.cluster_exists) {
            // The DestinationRule the caller's scope applies: read by destination id for a
            // route, by host for the default route.
            let rule = match decision.chosen {
                Some(chosen) => scope
                    .destinations
                    .get(index(chosen.id))
                    .filter(|seen| seen.exists)
                    .map(|seen| seen.rule),
                None => default_rule,
            };
            // The destination's cluster, resolved at compile time when its port is fixed.
            let cluster = match decision.chosen {
                Some(chosen) => scope
                    .destination_clusters
                    .get(index(chosen.id))
                    .copied()
                    .filter(|c| *c != NO_CLUSTER),
                None => default_cluster,
            };
            if let Some(rule) = rule {
                self.attach_endpoint(
                    &mut decision,
                    dest,
                    rule,
                    cluster,
                    request,
                    path_and_query,
                    source,
                    rng,
                    cache,
                );
            }
        }
        tracing::trace!(
            outcome = decision.outcome.as_str(),
            virtual_service = decision.virtual_service(),
            route = decision.route.map(|r| r.index),
            destination = decision.destination.map(|d| d.host),
            subset = decision.destination.and_then(|d| d.subset),
            endpoint = decision.endpoint().map(|e| e.address.as_str()),
            "meshroute decision"
        );
        decision
    }

    /// Traces the VirtualServices that claim `host` in the configuration but that the caller's
    /// listener does not take: hidden by `exportTo` or not imported by its Sidecar.
    fn trace_hidden(
        &self,
        name: &str,
        host: Option<&str>,
        namespace: &str,
        sidecar: Option<&SidecarHosts>,
        tracer: &mut impl Tracer,
    ) {
        let tables = &self.inner.tables;
        let claimants = |hosts: &SidecarHosts| -> Vec<u32> {
            let exact = host.and_then(|h| hosts.lookup(h, namespace));
            let name = exact.map_or(name, |e| &*e.fqdn);
            exact
                .into_iter()
                .chain(hosts.wildcard_entries(name))
                .flat_map(|e| e.virtual_services.iter().copied())
                .collect()
        };
        let taken = sidecar.map(claimants).unwrap_or_default();
        for vs in claimants(&tables.registry) {
            if taken.contains(&vs) {
                continue;
            }
            let Some(compiled) = tables.virtual_services.get(index(vs)) else {
                continue;
            };
            let verdict = if compiled.visible_to(namespace) {
                VsVerdict::NotImported
            } else {
                VsVerdict::NotExported
            };
            tracer.virtual_service(&compiled.key, verdict);
        }
    }

    /// Traces why a host that names a service of the configuration is unknown to the caller on
    /// this port: the service lacks the port, is not exported to the caller's namespace, or its
    /// Sidecar does not import it.
    fn trace_unknown_host(
        &self,
        host: Option<&str>,
        namespace: &str,
        scope: &Scope,
        port: u16,
        tracer: &mut impl Tracer,
    ) {
        let tables = &self.inner.tables;
        let Some(entry) = host.and_then(|h| tables.registry.lookup(h, namespace)) else {
            return;
        };
        let Some(exports) = tables.service_exports.get(&*entry.fqdn) else {
            return;
        };
        let resource = format!("service {}", entry.fqdn);
        let verdict = if !entry.serves(port) {
            format!("has no port {port}: the caller passes the request through")
        } else if !exports.iter().any(|e| {
            e.as_ref()
                .is_none_or(|list| list.iter().any(|ns| &**ns == namespace))
        }) {
            format!("not exported to {namespace} (exportTo): unknown to the caller")
        } else {
            format!(
                "not imported by {} (egress hosts): unknown to the caller",
                scope.name
            )
        };
        tracer.visibility(&resource, &verdict);
    }

    /// The route a gateway gives the request (`pilot/pkg/networking/core/gateway.go`
    /// `buildGatewayHTTPRouteConfig` in istio/istio, Envoy's listener, filter chain and virtual
    /// host selection): the route configuration of the request's port (`tls`: sent over TLS,
    /// i.e. an `https` URI, picked by server name), the virtual host of its host there, then its
    /// `require_tls` (Envoy `VirtualHostImpl::getRouteFromEntries` checks it before any route) and
    /// its routes. No virtual host is Envoy's 404 `NR`: gateways have no default route.
    #[allow(clippy::too_many_arguments)]
    fn gateway_eval<'a>(
        &'a self,
        gateway: &str,
        host: Option<&str>,
        view: &RequestView<'_>,
        source: &Source,
        port: u16,
        tls: bool,
        tracer: &mut impl Tracer,
    ) -> Eval<'a> {
        let Some(tables) = self.inner.tables.gateways.get(gateway) else {
            tracer.gateway(port, GatewayStep::Unknown);
            return Eval::NothingApplies;
        };
        let vhost = match tables.virtual_host(port, tls, host) {
            Ok(vhost) => vhost,
            Err(miss) => {
                tracer.gateway(
                    port,
                    GatewayStep::Miss(miss, tables, host.unwrap_or(""), tls),
                );
                return Eval::NothingApplies;
            }
        };
        // Envoy: `require_tls: ALL` redirects a request whose x-forwarded-proto is not https; a
        // gateway (use_remote_address, no trusted hops by default) sets that header from the
        // downstream connection, whose analogue here is the URI scheme.
        if vhost.https_redirect.is_some() && !tls {
            tracer.gateway(port, GatewayStep::HttpsRedirect(vhost));
            return Eval::HttpsRedirect;
        }
        self.eval(
            &vhost.entries,
            vhost.index.as_ref(),
            view,
            source,
            &*tables.labels,
            port,
            tracer,
        )
    }

    /// Picks the endpoint of `dest` with its cluster's balancer (Envoy's algorithms, fed the
    /// request's hash input and the injected random source).
    #[allow(clippy::too_many_arguments)]
    fn attach_endpoint<'a, B>(
        &self,
        decision: &mut Decision<'a>,
        dest: DestinationRef<'_>,
        rule: u32,
        cluster: Option<u32>,
        request: &http::Request<B>,
        path_and_query: &str,
        source: &Source,
        rng: &mut impl Rng,
        cache: Option<&'a mut PickCache>,
    ) {
        let input = HashInput {
            headers: request.headers(),
            path_and_query,
            source_ip: source.ip_ref(),
            downstream: source.downstream_ref(),
        };
        let slots = PickSlots {
            endpoint: &mut decision.endpoint,
            no_endpoint: &mut decision.no_endpoint,
            set_cookie: &mut decision.set_cookie,
        };
        self.pick_endpoint(dest, rule, cluster, &input, rng, cache, slots);
    }

    /// The endpoint of `dest`'s cluster its balancer picks for `input`, written into a
    /// decision's `slots`: `endpoint` and `set_cookie` (the generated cookie, else `None`) on a
    /// pick, `no_endpoint` when the balancer has none; all untouched when there is no port,
    /// the cluster or its endpoints are unknown, or `cache` has no snapshot. The one balancer
    /// path of requests and connections.
    /// `rule` is the DestinationRule choice of the caller's scope for the host (a host the
    /// caller has no cluster for never gets here: Envoy passes it through, no balancer of
    /// meshroute's in the way).
    /// With `cache`, the cluster's snapshot is read through it (see [`PickCache`]).
    ///
    /// Written in place rather than returned: the answer used to come back as one enum
    /// through memory, and the decision's copy of it read it with overlapping loads that
    /// stalled on the stores just made (with `Cluster::pick`'s index in a register, the
    /// seed decision went from 55–58 to 52 ns on a driver loop, 1,174 to 1,146 instructions).
    #[allow(clippy::too_many_arguments)]
    fn pick_endpoint<'c>(
        &self,
        dest: DestinationRef<'_>,
        rule: u32,
        cluster: Option<u32>,
        input: &HashInput<'_>,
        rng: &mut impl Rng,
        cache: Option<&'c mut PickCache>,
        slots: PickSlots<'_, 'c>,
    ) {
        let clusters = &self.inner.tables.clusters;
        let found = match cluster {
            Some(index) => Some(index),
            None => dest
                .port
                .and_then(|port| clusters.find(dest.host, dest.subset, port, rule)),
        };
        let Some((index, cluster)) = found.and_then(|i| Some((i, clusters.get(i)?))) else {
            return;
        };
        let state = match cache {
            Some(cache) => match cache.state(self.inner.id, index, cluster.state_cell()) {
                Some(state) => StateRef::Cached(state),
                None => return,
            },
            None => StateRef::Loaded(cluster.state()),
        };
        if !state.known() {
            return;
        }
        match cluster.pick(&state, input, rng, slots.set_cookie) {
            Ok(endpoint) => {
                *slots.endpoint = Some(PickedEndpoint {
                    cluster: index,
                    state,
                    index: endpoint,
                });
            }
            Err(reason) => *slots.no_endpoint = Some(reason),
        }
    }

    /// Decides which filter chain carries `connection` from `source` — a VirtualService's `tcp`
    /// or `tls` rule, the service's own chain, the passthrough chain, or none at a gateway —
    /// as the Istio sidecar or gateway would, and the endpoint its load balancer picks.
    /// Weighted destinations are chosen once per connection, from `rng`. Allocates nothing.
    ///
    /// A sidecar's listener is the service port's: the port's protocol decides whether `tls`
    /// rules (TLS, HTTPS) or `tcp` rules (TCP, Mongo, Redis, MySQL, unnamed ports) apply; a
    /// host or port no service has passes through. A gateway's listener is its servers' on the
    /// port. See [`Connection`] for the SNI and the destination address.
    ///
    /// ```
    /// let yaml = r#"
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: db, namespace: default}
    /// spec:
    ///   ports: [{name: tcp-postgres, port: 5432}]
    /// ---
    /// apiVersion: networking.istio.io/v1
    /// kind: VirtualService
    /// metadata: {name: db, namespace: default}
    /// spec:
    ///   hosts: [db]
    ///   tcp:
    ///   - route:
    ///     - destination: {host: db-replica}
    /// "#;
    /// let mesh = meshroute::from_str(yaml, &Default::default()).compile().unwrap();
    /// let connection = meshroute::Connection::tcp("db", 5432);
    /// let source = meshroute::Source::sidecar("default");
    /// let decision = mesh.route_connection(&connection, &source, &mut meshroute::FastRng::from_seed(1));
    /// assert_eq!(decision.kind(), Some(meshroute::RouteKind::Tcp));
    /// let destination = decision.destination().unwrap();
    /// assert_eq!(destination.host, "db-replica.default.svc.cluster.local");
    /// assert_eq!(destination.port, Some(5432));
    /// ```
    pub fn route_connection<'a>(
        &'a self,
        connection: &Connection<'_>,
        source: &Source,
        rng: &mut impl Rng,
    ) -> ConnectionDecision<'a> {
        self.route_connection_traced(connection, source, rng, &mut NoTrace)
    }

    /// Decides like [`Mesh::route_connection`] and records why: the listener, each
    /// VirtualService and each `tcp` or `tls` match considered, and the filter chain Envoy picks.
    /// Allocates; for tests, the CLI and debugging.
    pub fn explain_connection<'a>(
        &'a self,
        connection: &Connection<'_>,
        source: &Source,
        rng: &mut impl Rng,
    ) -> (ConnectionDecision<'a>, Explanation) {
        let mut trace = Explanation::default();
        let decision = self.route_connection_traced(connection, source, rng, &mut trace);
        trace.finish_connection(&decision);
        (decision, trace)
    }

    fn route_connection_traced<'a>(
        &'a self,
        connection: &Connection<'_>,
        source: &Source,
        rng: &mut impl Rng,
        tracer: &mut impl Tracer,
    ) -> ConnectionDecision<'a> {
        tracer.start_connection(source, connection);
        let mut host_buffer = None;
        let host = lowercase(connection.host(), &mut host_buffer).unwrap_or("");
        let mut sni_buffer = None;
        let sni = connection
            .sni()
            .and_then(|sni| lowercase(sni, &mut sni_buffer));
        let streams = &self.inner.streams;
        let tables = &self.inner.tables;
        let port = connection.port();
        let scope = self.scope(source);
        tracer.scope(&scope.name);
        let eval = match source.gateway_name() {
            None => {
                let listener = scope.listener(port).map(|l| &l.hosts);
                // Only a service the caller's scope imports has listeners for it.
                let service = listener
                    .and_then(|hosts| streams.service_for(host, source.namespace(), hosts))
                    .filter(|s| scope.hosts.get(&s.fqdn).is_some_and(|h| h.exists));
                match service {
                    None => {
                        tracer.note(&|| {
                            format!(
                                "{host} is no service this caller sees: no listener, the connection passes through"
                            )
                        });
                        StreamEval::Passthrough
                    }
                    Some(service) => {
                        let ip = connection
                            .destination_ip()
                            .or_else(|| host.trim_matches(['[', ']']).parse().ok())
                            .or(service.address);
                        let caller = Caller {
                            gateway: "mesh",
                            namespace: source.namespace(),
                            labels: Some(source.labels()),
                            port,
                        };
                        // The VirtualServices the caller's listener imports (exportTo, Sidecar).
                        let visible = |vs| listener.is_some_and(|hosts| hosts.takes(vs));
                        streams.sidecar(service, &caller, sni, ip, &visible, tracer)
                    }
                }
            }
            Some(gateway) => streams.gateway(gateway, port, sni, tracer),
        };
        let mut decision = decide_connection(eval, port, rng);
        if let Some(dest) = &mut decision.destination {
            dest.cluster_exists = cluster_exists(scope, tables, dest.host, dest.subset);
        }
        let seen = decision
            .destination
            .filter(|d| d.cluster_exists)
            .and_then(|d| scope.hosts.get(d.host).copied().map(|seen| (d, seen)));
        if let Some((dest, seen)) = seen {
            // Envoy's TCP proxy hashes on the source address only (`useSourceIp`); other hash
            // policies find nothing to hash and pick at random.
            let headers = http::HeaderMap::new();
            let input = HashInput {
                headers: &headers,
                path_and_query: "/",
                source_ip: source.ip_ref(),
                downstream: None,
            };
            let slots = PickSlots {
                endpoint: &mut decision.endpoint,
                no_endpoint: &mut decision.no_endpoint,
                set_cookie: &mut None,
            };
            self.pick_endpoint(dest, seen.rule, None, &input, rng, None, slots);
        }
        decision
    }

    /// The clusters of the service `host` names on `port`, for an API call without a caller
    /// (see the type's docs on host names), or why there are none.
    fn service_clusters(
        &self,
        host: &str,
        port: u16,
    ) -> Result<(String, Vec<&super::cluster::Cluster>), UnknownCluster> {
        let host = host.to_ascii_lowercase();
        let sidecar = &self.inner.tables.registry;
        let clusters = &self.inner.tables.clusters;
        let mut names: Vec<String> = Vec::new();
        if host.contains('.') {
            // The name as a sidecar resolves it, then as a Kubernetes alternative name
            // (`name.ns`, `name.ns.svc`) of a service, then literally.
            names.extend(sidecar.lookup(&host, "").map(|e| e.fqdn.to_string()));
            let base = host.strip_suffix(".svc").unwrap_or(&host);
            if base.matches('.').count() == 1 {
                names.push(format!("{base}.svc.{DOMAIN_SUFFIX}"));
            }
            names.push(host.clone());
        } else {
            names = sidecar
                .short_names(&host)
                .map(|(_, entry)| entry.fqdn.to_string())
                .collect();
            names.sort_unstable();
            names.dedup();
            if names.len() > 1 {
                return Err(UnknownCluster {
                    host,
                    port,
                    candidates: names,
                });
            }
        }
        for name in names {
            let found: Vec<_> = clusters.of_host_port(&name, port).collect();
            if !found.is_empty() {
                return Ok((name, found));
            }
        }
        Err(UnknownCluster {
            host,
            port,
            candidates: Vec::new(),
        })
    }

    /// Replaces the endpoints of `host` on `port` for every cluster of it (each subset filters
    /// them by its labels). `host` is any name of the service (see the type's docs on host
    /// names). The swap is atomic: picks in flight finish on the old set, later picks see the
    /// new one, nobody waits.
    pub fn set_endpoints(
        &self,
        host: &str,
        port: u16,
        endpoints: &[Endpoint],
    ) -> Result<(), UnknownCluster> {
        let (fqdn, clusters) = self.service_clusters(host, port)?;
        for cluster in clusters {
            cluster.set_endpoints(endpoints);
        }
        tracing::debug!(host = %fqdn, port, endpoints = endpoints.len(), "endpoints replaced");
        Ok(())
    }

    /// Replaces the weights of one HTTP route at run time, as a progressive-delivery controller
    /// rewrites them in the VirtualService, without recompiling: `virtual_service` is its
    /// `namespace/name`, `route` the route's `name`, or its index in `spec.http` when no route
    /// has that name. Each destination gets the weight given for its subset (`""` names a
    /// destination without one); destinations not listed get 0, and a weight-0 destination gets
    /// no traffic, as Istio omits it. The swap is atomic and the decision path stays lock- and
    /// allocation-free: a decision sees the old weights or the new ones. Sticky routes keep
    /// their key, and a growing weight only gains users. A later [`SharedMesh`] reload compiles
    /// the configured weights again; [`SharedMesh::set_weights`] re-applies them.
    ///
    /// [`SharedMesh`]: crate::SharedMesh
    /// [`SharedMesh::set_weights`]: crate::SharedMesh::set_weights
    pub fn set_weights(
        &self,
        virtual_service: &str,
        route: &str,
        weights: &[(&str, u32)],
    ) -> Result<(), SetWeightsError> {
        let refused = |reason| SetWeightsError {
            virtual_service: virtual_service.to_owned(),
            route: route.to_owned(),
            reason,
        };
        let routes = self.routes_named(virtual_service, route).map_err(refused)?;
        // Check every copy first, then write: a refusal changes nothing.
        let mut plan = Vec::with_capacity(routes.len());
        for compiled in routes {
            let Action::Route {
                destinations,
                choice: Some(choice),
                ..
            } = &compiled.action
            else {
                return Err(refused(WeightsRefused::NotWeighted));
            };
            if let Some((subset, _)) = weights.iter().find(|(subset, _)| {
                !destinations
                    .iter()
                    .any(|d| d.subset.as_deref().unwrap_or("") == *subset)
            }) {
                return Err(refused(WeightsRefused::NoSuchSubset((*subset).to_owned())));
            }
            let values: Vec<u32> = destinations
                .iter()
                .map(|d| {
                    let subset = d.subset.as_deref().unwrap_or("");
                    weights
                        .iter()
                        .find(|(s, _)| *s == subset)
                        .map_or(0, |(_, w)| *w)
                })
                .collect();
            if values.iter().all(|w| *w == 0) {
                return Err(refused(WeightsRefused::AllZero));
            }
            if values.len() != choice.len() {
                return Err(refused(WeightsRefused::NotWeighted));
            }
            plan.push((choice, values));
        }
        for (choice, values) in plan {
            if let Err(error) = choice.set_weights(&values) {
                // Checked above; kept for the record should it ever differ.
                tracing::warn!(?error, virtual_service, route, "weights not replaced");
            }
        }
        tracing::debug!(virtual_service, route, ?weights, "route weights replaced");
        Ok(())
    }

    /// Every compiled copy of a VirtualService's HTTP route, by name, else by index.
    fn routes_named(
        &self,
        virtual_service: &str,
        route: &str,
    ) -> Result<Vec<&CompiledRoute>, WeightsRefused> {
        let services: Vec<&CompiledVs> = self
            .inner
            .tables
            .virtual_services
            .iter()
            .filter(|vs| &*vs.key == virtual_service)
            .collect();
        if services.is_empty() {
            return Err(WeightsRefused::NoVirtualService);
        }
        let by_name = |r: &&CompiledRoute| r.name.as_deref() == Some(route);
        let by_index = |r: &&CompiledRoute| route.parse::<usize>().is_ok_and(|i| i == r.index);
        let mut routes: Vec<&CompiledRoute> = services
            .iter()
            .flat_map(|vs| vs.routes.iter().filter(by_name))
            .collect();
        if routes.is_empty() {
            routes = services
                .iter()
                .flat_map(|vs| vs.routes.iter().filter(by_index))
                .collect();
        }
        if routes.is_empty() {
            return Err(WeightsRefused::NoRoute);
        }
        Ok(routes)
    }

    /// The destinations (host, subset) of a route [`Mesh::set_weights`] can set, in list order.
    #[cfg(feature = "rollout")]
    pub(crate) fn weighted_destinations(
        &self,
        virtual_service: &str,
        route: &str,
    ) -> Result<Vec<HostSubset>, SetWeightsError> {
        let refused = |reason| SetWeightsError {
            virtual_service: virtual_service.to_owned(),
            route: route.to_owned(),
            reason,
        };
        let routes = self.routes_named(virtual_service, route).map_err(refused)?;
        match routes.first().map(|r| &r.action) {
            Some(Action::Route {
                destinations,
                choice: Some(_),
                ..
            }) => Ok(destinations
                .iter()
                .map(|d| (d.host.clone(), d.subset.clone()))
                .collect()),
            _ => Err(refused(WeightsRefused::NotWeighted)),
        }
    }

    /// The endpoints of a cluster (`subset` `None`: all endpoints of the host), if it exists.
    /// `host` is any name of the service (see the type's docs on host names).
    pub fn endpoints(&self, host: &str, subset: Option<&str>, port: u16) -> Option<Vec<Endpoint>> {
        let (_, clusters) = self.service_clusters(host, port).ok()?;
        let cluster = clusters
            .into_iter()
            .find(|c| c.subset.as_deref() == subset)?;
        Some(cluster.state().endpoints().to_vec())
    }

    /// Feeds the result of a request sent to `decision`'s endpoint to outlier detection (a
    /// no-op when its DestinationRule has none). `now` comes from the caller's clock.
    pub fn report(&self, decision: &Decision<'_>, result: UpstreamResult, now: Instant) {
        let Some(picked) = &decision.endpoint else {
            return;
        };
        if let Some(cluster) = self.inner.tables.clusters.get(picked.cluster) {
            // The index is into the snapshot the pick was made on; a swapped endpoint set
            // starts fresh outlier state, so stale reports are dropped (ejections rebuild the
            // snapshot but keep the endpoint set, so their reports still count).
            cluster.report(&picked.state, picked.index, result, now);
        }
    }

    /// Runs outlier detection's interval work (un-ejecting endpoints whose time is up) at `now`.
    pub fn tick(&self, now: Instant) {
        for cluster in self.inner.tables.clusters.iter() {
            cluster.tick(now);
        }
    }

    /// Counts a request as in flight on `decision`'s endpoint (least-request balancing reads
    /// these counts) until the returned guard is dropped.
    pub fn start_request(&self, decision: &Decision<'_>) -> Option<ActiveRequest> {
        let picked = decision.endpoint.as_ref()?;
        let cluster = self.inner.tables.clusters.get(picked.cluster)?;
        cluster.start(&picked.state, picked.index);
        Some(ActiveRequest::new(self.clone(), picked))
    }

    #[cfg(feature = "tower")]
    /// The clusters, for [`Upstream`](super::upstream::Upstream).
    pub(crate) fn clusters(&self) -> &super::cluster::Clusters {
        &self.inner.tables.clusters
    }

    #[cfg(feature = "tower")]
    /// The endpoint a mirror of a request from `source` on `port` goes to: the mirror host's
    /// cluster as the caller's scope sees it (its DestinationRule, its subset), picked by that
    /// cluster's balancer. `None` when the caller has no such cluster or it has no endpoint.
    pub(crate) fn mirror_pick(
        &self,
        mirror: &super::policy::Mirror,
        source: &Source,
        port: u16,
        rng: &mut impl Rng,
    ) -> Option<PickedEndpoint<'static>> {
        let tables = &self.inner.tables;
        let scope = self.scope(source);
        let seen = scope.hosts.get(mirror.host.as_str()).filter(|s| s.exists)?;
        let clusters = &tables.clusters;
        let ports = [mirror.port, None, Some(port)];
        let index = ports.iter().find_map(|p| match p {
            Some(p) => clusters.find(&mirror.host, mirror.subset.as_deref(), *p, seen.rule),
            // The service's only port.
            None => {
                let mut of_host = clusters.of_host_port_any(&mirror.host).filter(|c| {
                    c.rule == seen.rule && c.subset.as_deref() == mirror.subset.as_deref()
                });
                let first = of_host.next()?;
                of_host
                    .next()
                    .is_none()
                    .then(|| {
                        clusters.find(&first.host, mirror.subset.as_deref(), first.port, seen.rule)
                    })
                    .flatten()
            }
        })?;
        let cluster = clusters.get(index)?;
        let state = cluster.state();
        if !state.known() {
            return None;
        }
        let headers = http::HeaderMap::new();
        let input = HashInput {
            headers: &headers,
            path_and_query: "/",
            source_ip: source.ip_ref(),
            downstream: None,
        };
        let endpoint = cluster.pick(&state, &input, rng, &mut None).ok()?;
        Some(PickedEndpoint {
            cluster: index,
            state: StateRef::Loaded(state),
            index: endpoint,
        })
    }

    /// The first entry of `entries` that matches, found through the path index: the
    /// lowest-positioned candidate whose selectors and conditions hold, which is the entry the
    /// in-order scan of [`Mesh::eval`] finds. `None` when no candidate matches.
    fn eval_indexed<'a, L: LabelSet + ?Sized>(
        &'a self,
        entries: &[Entry],
        paths: &RouteIndex,
        view: &RequestView<'_>,
        source: &Source,
        labels: &L,
        port: u16,
    ) -> Option<Eval<'a>> {
        let vses = &self.inner.tables.virtual_services;
        let mut best: Option<(usize, Eval<'a>)> = None;
        paths.candidates(view, |list, proven| {
            for &position in list {
                let position = index(position);
                if best.as_ref().is_some_and(|(b, _)| position >= *b) {
                    break;
                }
                let Some(entry) = entries.get(position) else {
                    continue;
                };
                let Some(vs) = vses.get(index(entry.vs)) else {
                    continue;
                };
                let Some(route) = vs.routes.get(index(entry.route)) else {
                    continue;
                };
                let matched = if entry.matcher == NO_MATCH {
                    None
                } else {
                    let Some(m) = route.matches.get(index(entry.matcher)) else {
                        continue;
                    };
                    if m.has_runtime_selectors()
                        && m.selector_failure(Some(port), source.namespace(), labels)
                            .is_some()
                    {
                        continue;
                    }
                    // The index found the one condition this entry has (see `candidates`).
                    if !proven && m.request.first_failure(view).is_some() {
                        continue;
                    }
                    Some(m)
                };
                best = Some((position, Eval::Found(vs, route, matched)));
                break;
            }
        });
        best.map(|(_, found)| found)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval<'a, L: LabelSet + ?Sized>(
        &'a self,
        entries: &[Entry],
        paths: Option<&RouteIndex>,
        view: &RequestView<'_>,
        source: &Source,
        labels: &L,
        port: u16,
        tracer: &mut impl Tracer,
    ) -> Eval<'a> {
        if let Some(paths) = paths.filter(|p| !tracer.detailed() && p.applies(view)) {
            if let Some(found) = self.eval_indexed(entries, paths, view, source, labels, port) {
                return found;
            }
            if paths.all_static() {
                // Every caller sees every entry: the scan would end on the last one's 404.
                let last = entries
                    .last()
                    .and_then(|e| self.inner.tables.virtual_services.get(index(e.vs)));
                if let Some(vs) = last {
                    return Eval::NoMatch(vs);
                }
            }
            // No candidate matches: the scan below finds the exact outcome (whose 404 it is,
            // or that nothing applies to this caller).
        }
        let vses = &self.inner.tables.virtual_services;
        let mut last_vs = None;
        for entry in entries {
            let Some(vs) = vses.get(index(entry.vs)) else {
                continue;
            };
            let Some(route) = vs.routes.get(index(entry.route)) else {
                continue;
            };
            let matched = if entry.matcher == NO_MATCH {
                None
            } else {
                let Some(m) = route.matches.get(index(entry.matcher)) else {
                    continue;
                };
                if m.has_runtime_selectors() {
                    if let Some(failure) =
                        m.selector_failure(Some(port), source.namespace(), labels)
                    {
                        tracer.entry(
                            &vs.key,
                            route,
                            Some(m),
                            EntryVerdict::Dropped(failure, port, source.namespace()),
                        );
                        continue;
                    }
                }
                Some(m)
            };
            last_vs = Some(vs);
            let failure = matched.and_then(|m| m.request.first_failure(view));
            match (matched, failure) {
                (Some(m), Some(failure)) => {
                    tracer.entry(&vs.key, route, Some(m), EntryVerdict::Failed(failure, view));
                }
                _ => {
                    tracer.entry(&vs.key, route, matched, EntryVerdict::Matched);
                    return Eval::Found(vs, route, matched);
                }
            }
        }
        match last_vs {
            Some(vs) => Eval::NoMatch(vs),
            None => Eval::NothingApplies,
        }
    }
}

/// Where [`Mesh::pick_endpoint`] writes its answer: a decision's fields.
struct PickSlots<'s, 'c> {
    endpoint: &'s mut Option<PickedEndpoint<'c>>,
    no_endpoint: &'s mut Option<NoEndpoint>,
    set_cookie: &'s mut Option<String>,
}

/// Fills `decision` (the request's facts, nothing decided yet) with route `route` of `vs`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn decide<'a, B>(
    decision: &mut Decision<'a>,
    vs: &'a CompiledVs,
    route: &'a CompiledRoute,
    matched: Option<&'a CompiledMatch>,
    scope: &Scope,
    request: &http::Request<B>,
    source: &Source,
    rng: &mut impl Rng,
) {
    decision.outcome = Outcome::Route;
    decision.virtual_service = Some(&vs.key);
    decision.route = Some(route);
    decision.matched = matched;
    match &route.action {
        Action::Route {
            destinations,
            choice,
            ..
        } => {
            let pick = match choice {
                None => 0,
                Some(choice) if choice.sticky().is_none() => choice.pick(rng),
                Some(choice) => {
                    let input = HashInput {
                        headers: request.headers(),
                        path_and_query: request.uri().path_and_query().map_or("/", |p| p.as_str()),
                        source_ip: source.ip_ref(),
                        downstream: None,
                    };
                    let (pick, bucket) = choice.pick_for(&input, rng);
                    decision.sticky = bucket;
                    pick
                }
            };
            match destinations.get(pick) {
                Some(d) => {
                    decision.destination = Some(DestinationRef {
                        host: &d.host,
                        subset: d.subset.as_deref(),
                        port: d.port.or(d.service_port).or(Some(decision.request.port)),
                        cluster_exists: scope
                            .destinations
                            .get(index(d.id))
                            .is_some_and(|seen| seen.exists),
                    });
                    decision.chosen = Some(d);
                }
                None => decision.outcome = Outcome::NoRoute,
            }
        }
        Action::Redirect { .. } => decision.outcome = Outcome::Redirect,
        Action::DirectResponse { .. } => decision.outcome = Outcome::DirectResponse,
    }
}

/// The decision for the filter chain `eval` on listener port `port`: the weighted choice over a
/// rule's destinations (once per connection, Envoy's weighted clusters as for HTTP), the
/// destination's port (its own, the service's only port, else the listener's: route.go
/// `GetDestinationCluster`).
fn decide_connection<'a>(
    eval: StreamEval<'a>,
    port: u16,
    rng: &mut impl Rng,
) -> ConnectionDecision<'a> {
    match eval {
        StreamEval::Rule(hit) => {
            let mut decision = ConnectionDecision::new(Outcome::Route);
            decision.kind = Some(hit.kind);
            decision.virtual_service = Some(hit.key);
            decision.route = Some(hit.rule.index);
            decision.matched = hit.matched.map(|m| m.index);
            let pick = hit.rule.choice.as_ref().map_or(0, |c| c.pick(rng));
            match hit.rule.destinations.get(pick) {
                Some(d) => {
                    decision.destination = Some(DestinationRef {
                        host: &d.host,
                        subset: d.subset.as_deref(),
                        port: d.port.or(d.service_port).or(Some(port)),
                        cluster_exists: true,
                    });
                }
                None => decision.outcome = Outcome::Closed,
            }
            decision
        }
        StreamEval::Default(service) => {
            let mut decision = ConnectionDecision::new(Outcome::NoVirtualService);
            decision.destination = Some(DestinationRef {
                host: &service.fqdn,
                subset: None,
                port: Some(service.default_port(port)),
                cluster_exists: true,
            });
            decision
        }
        StreamEval::Cluster { host, subset, port } => {
            let mut decision = ConnectionDecision::new(Outcome::Route);
            decision.destination = Some(DestinationRef {
                host,
                subset,
                port: Some(port),
                cluster_exists: true,
            });
            decision
        }
        StreamEval::Passthrough => ConnectionDecision::new(Outcome::Passthrough),
        StreamEval::Closed => ConnectionDecision::new(Outcome::Closed),
        StreamEval::Http => ConnectionDecision::new(Outcome::Http),
    }
}

fn index(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

/// Whether Envoy has a cluster for `host` (and `subset`) for a caller of `scope`: the host is a
/// service the scope imports (or one no resource defines), and a DestinationRule the scope
/// applies defines the subset. Otherwise Envoy answers 503 `NC`.
fn cluster_exists(scope: &Scope, tables: &Tables, host: &str, subset: Option<&str>) -> bool {
    let Some(seen) = scope.hosts.get(host).filter(|h| h.exists) else {
        return false;
    };
    subset.is_none_or(|subset| {
        tables
            .rules
            .get(index(seen.rule))
            .is_some_and(|rule| rule.subsets.iter().any(|s| &**s == subset))
    })
}

/// The facts of `request` sent to `authority`; `split` is the authority's host length and port
/// when already known (`Scope::authority`), else it is split here.
fn facts<'a, B>(
    request: &'a http::Request<B>,
    authority: &'a str,
    split: Option<(usize, u16)>,
) -> RequestFacts<'a> {
    let uri = request.uri();
    let scheme = uri.scheme_str().unwrap_or("http");
    let (host, port) = match split {
        Some((len, port)) => (authority.get(..len).unwrap_or(authority), Some(port)),
        None => split_host_port(authority),
    };
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    RequestFacts {
        path: normalize_path(uri.path()),
        query: uri.query().unwrap_or(""),
        scheme,
        authority,
        host,
        port: port.unwrap_or(default_port),
    }
}

#[cfg(test)]
impl Mesh {
    /// The compiled tables, for tests of the compile step.
    pub(crate) fn tables(&self) -> &Tables {
        &self.inner.tables
    }
}

impl Propagation {
    /// The trace headers plus every header and query parameter the mesh's VirtualServices match
    /// on: what must travel from an inbound request to the calls it causes.
    pub fn from_mesh(mesh: &Mesh) -> Self {
        let mut propagation = Self::default();
        for name in mesh.referenced_headers() {
            propagation = propagation.with_header(name);
        }
        for name in mesh.referenced_query_params() {
            propagation = propagation.with_query_param(name);
        }
        propagation
    }
}

/// [`Mesh::set_endpoints`] named a host and port no cluster of the mesh serves, or a short name
/// several services share.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
#[non_exhaustive]
pub struct UnknownCluster {
    /// The host as given (lowercased).
    pub host: String,
    /// The port.
    pub port: u16,
    /// For a short name several namespaces have a service of: their fully qualified names.
    pub candidates: Vec<String>,
}

impl UnknownCluster {
    fn describe(&self) -> String {
        if self.candidates.is_empty() {
            format!(
                "no cluster for {}:{}: the configuration names no such service on that port (add a Service, ServiceEntry or route destination for it)",
                self.host, self.port
            )
        } else {
            format!(
                "{} names several services ({}): give name.namespace or the fully qualified name",
                self.host,
                self.candidates.join(", ")
            )
        }
    }
}

/// A destination's host and subset.
#[cfg(feature = "rollout")]
pub(crate) type HostSubset = (Arc<str>, Option<Arc<str>>);

/// [`Mesh::set_weights`] refused to replace a route's weights; the mesh is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("weights of route {route} of VirtualService {virtual_service} not replaced: {reason}")]
#[non_exhaustive]
pub struct SetWeightsError {
    /// The VirtualService as given (`namespace/name`).
    pub virtual_service: String,
    /// The route as given (its name or index).
    pub route: String,
    /// Why.
    pub reason: WeightsRefused,
}

/// Why [`Mesh::set_weights`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WeightsRefused {
    /// No VirtualService of the configuration has that `namespace/name`.
    #[error("the configuration has no such VirtualService")]
    NoVirtualService,
    /// The VirtualService has no HTTP route of that name or index.
    #[error("the VirtualService has no HTTP route of that name or index")]
    NoRoute,
    /// The route does not split traffic: it has a single destination, or redirects or answers
    /// directly.
    #[error("the route does not split traffic between two or more destinations")]
    NotWeighted,
    /// A subset given names none of the route's destinations.
    #[error("no destination of the route has subset {0:?}")]
    NoSuchSubset(String),
    /// Every destination would get weight 0.
    #[error("every destination would get weight 0")]
    AllZero,
}

/// A request in flight on an endpoint, for least-request balancing; dropping it ends it.
#[derive(Debug)]
pub struct ActiveRequest {
    mesh: Mesh,
    cluster: u32,
    state: Arc<ClusterState>,
    index: usize,
}

impl ActiveRequest {
    pub(crate) fn new(mesh: Mesh, picked: &PickedEndpoint<'_>) -> Self {
        Self {
            mesh,
            cluster: picked.cluster,
            state: Arc::clone(&picked.state),
            index: picked.index,
        }
    }
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        if let Some(cluster) = self.mesh.inner.tables.clusters.get(self.cluster) {
            cluster.finish(&self.state, self.index);
        }
    }
}
