//! The compiled mesh and the route decision.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use std::time::Instant;

use crate::balance::hash_policy::HashInput;
use crate::balance::outlier::Outcome as OutlierOutcome;
use crate::balance::{ClusterState, Endpoint};
use crate::compile::Diagnostic;
use crate::compile::lower::Tables;
use crate::config::Resource;
use crate::decision::PickedEndpoint;
use crate::decision::{Decision, DestinationRef, Outcome, RequestFacts};
use crate::explain::{EntryVerdict, Explanation, NoTrace, Tracer, VsVerdict};
use crate::matching::{RequestView, normalize_path};
use crate::select::{Rng, ThreadRng};
use crate::table::{Action, CompiledMatch, CompiledRoute, CompiledVs, Entry, NO_MATCH};

/// A validated, compiled configuration: immutable, cheap to clone (`Arc` inside), `Send + Sync`.
///
/// Build one with [`compile`](crate::compile()); ask it where requests go with [`Mesh::route`].
#[derive(Debug, Clone)]
pub struct Mesh {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    resources: Vec<Resource>,
    warnings: Vec<Diagnostic>,
    tables: Tables,
}

/// Who sends the request: a sidecar in a namespace (with its workload's labels), or a gateway.
///
/// The caller's identity decides the config-time selectors of a match (`sourceLabels`,
/// `sourceNamespace`, `gateways`) and which VirtualServices apply (top-level `gateways`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    namespace: String,
    labels: BTreeMap<String, String>,
    gateway: Option<String>,
    ip: Option<IpAddr>,
    downstream: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
}

impl Source {
    /// A sidecar (the `mesh` gateway) in `namespace`.
    pub fn sidecar(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            labels: BTreeMap::new(),
            gateway: None,
            ip: None,
            downstream: None,
        }
    }

    /// The gateway `namespace/name` (a bare `name` means namespace `default`). Its namespace is
    /// the caller's namespace; its workload labels come from the Gateway's `selector`.
    pub fn gateway(name: &str) -> Self {
        let (namespace, name) = name.split_once('/').unwrap_or(("default", name));
        Self {
            namespace: namespace.to_owned(),
            labels: BTreeMap::new(),
            gateway: Some(format!("{namespace}/{name}")),
            ip: None,
            downstream: None,
        }
    }

    /// The caller workload's labels (for `sourceLabels`).
    pub fn with_labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// The caller's IP address (for source-IP hashing and sticky choices).
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// The downstream connection's peer and local addresses. Envoy derives a generated
    /// `consistentHash.httpCookie` value from them (ENVOY-LB §1.1); without them no cookie is
    /// generated and the pick falls back to a random hash.
    pub fn with_downstream(
        mut self,
        remote: std::net::SocketAddr,
        local: std::net::SocketAddr,
    ) -> Self {
        self.downstream = Some((remote, local));
        self
    }

    /// The caller's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The gateway (`namespace/name`), or `None` for a sidecar.
    pub fn gateway_name(&self) -> Option<&str> {
        self.gateway.as_deref()
    }

    /// The caller's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// The caller's IP address, if known.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }
}

impl Default for Source {
    /// A sidecar in namespace `default`.
    fn default() -> Self {
        Self::sidecar("default")
    }
}

enum Eval<'a> {
    Found(&'a CompiledVs, &'a CompiledRoute, Option<&'a CompiledMatch>),
    NoMatch(&'a CompiledVs),
    NothingApplies,
}

impl Mesh {
    pub(crate) fn new(resources: Vec<Resource>, warnings: Vec<Diagnostic>, tables: Tables) -> Self {
        Self {
            inner: Arc::new(Inner {
                resources,
                warnings,
                tables,
            }),
        }
    }

    /// The resources the mesh was compiled from (after later definitions replaced earlier ones).
    pub fn resources(&self) -> &[Resource] {
        &self.inner.resources
    }

    /// Warnings found while compiling (errors prevent a `Mesh` from existing).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.inner.warnings
    }

    /// The header names (lower case) that some VirtualService match refers to (`headers` and
    /// `withoutHeaders` keys; pseudo-headers and JWT claims left out): the routing flags that
    /// must travel from an inbound request to the calls it causes.
    pub fn referenced_headers(&self) -> Vec<String> {
        self.referenced(|m| {
            m.headers
                .keys()
                .chain(m.without_headers.keys())
                .filter(|k| !k.starts_with(':') && !k.starts_with('@'))
                .map(|k| k.to_ascii_lowercase())
                .collect()
        })
    }

    /// The query parameter names some VirtualService match refers to.
    pub fn referenced_query_params(&self) -> Vec<String> {
        self.referenced(|m| m.query_params.keys().cloned().collect())
    }

    fn referenced(
        &self,
        names: impl Fn(&crate::config::HttpMatchRequest) -> Vec<String>,
    ) -> Vec<String> {
        let mut out: Vec<String> = self
            .inner
            .resources
            .iter()
            .filter_map(|r| match &r.body {
                crate::config::Body::VirtualService(vs) => Some(vs),
                _ => None,
            })
            .flat_map(|vs| vs.http.iter())
            .flat_map(|route| route.matches.iter().flatten())
            .flat_map(&names)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether a sidecar in `namespace` knows `host` (`host[:port]`): a VirtualService host or a
    /// service of the configuration. Context propagation can be limited to such hosts.
    pub fn knows_host(&self, host: &str, namespace: &str) -> bool {
        let (host, _) = split_host_port(host);
        let host = host.to_ascii_lowercase();
        let sidecar = &self.inner.tables.sidecar;
        let direct = if host.contains('.') {
            sidecar.domains.contains_key(host.as_str())
        } else {
            sidecar
                .short
                .get(namespace)
                .is_some_and(|m| m.contains_key(host.as_str()))
                || sidecar.domains.contains_key(host.as_str())
        };
        direct
            || sidecar
                .wildcards
                .iter()
                .any(|(suffix, _)| host.len() > suffix.len() && host.ends_with(&**suffix))
    }

    /// Decides where `request` goes when sent by `source`, as the Istio sidecar or gateway would,
    /// drawing weighted choices from a per-thread random source. Allocates nothing.
    ///
    /// The host being called is the request URI's authority, or its `Host` header.
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
        self.route_traced(request, authority, source, rng, &mut NoTrace)
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
        let decision = self.route_traced(request, None, source, rng, &mut trace);
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
    ) -> Decision<'a> {
        let facts = facts(request, authority);
        tracer.start(source, facts.authority);
        let view = RequestView {
            path: &facts.path,
            query: facts.query,
            path_and_query: request.uri().path_and_query().map_or("/", |p| p.as_str()),
            method: request.method().as_str(),
            scheme: facts.scheme,
            authority: facts.authority,
            headers: request.headers(),
        };
        let mut lower = [0u8; 256];
        let host = lowercase(facts.host, &mut lower);
        let tables = &self.inner.tables;

        let (eval, fqdn, service_port) = match &source.gateway {
            None => {
                let sidecar = &tables.sidecar;
                let entry = host.and_then(|h| {
                    let idx = if h.contains('.') {
                        sidecar.domains.get(h)
                    } else {
                        sidecar
                            .short
                            .get(source.namespace.as_str())
                            .and_then(|m| m.get(h))
                            .or_else(|| sidecar.domains.get(h))
                    };
                    idx.and_then(|&i| sidecar.hosts.get(index(i)))
                });
                let name = entry.map(|e| &*e.fqdn).or(host).unwrap_or("");
                // The exact host's VirtualServices first, then wildcard hosts from the most
                // specific (MostSpecificHostMatch). A VirtualService that yields no routes for
                // this caller builds no virtual host (route.go), so the next one applies.
                let exact = entry.map(|e| e.virtual_services.as_slice());
                let wildcards = sidecar
                    .wildcards
                    .iter()
                    .filter(|(suffix, _)| name.len() > suffix.len() && name.ends_with(&**suffix))
                    .filter_map(|(_, i)| sidecar.hosts.get(index(*i)))
                    .map(|e| e.virtual_services.as_slice());
                let mut result = Eval::NothingApplies;
                'hosts: for candidates in exact.into_iter().chain(wildcards) {
                    for &vs in candidates {
                        let Some(compiled) = tables.virtual_services.get(index(vs)) else {
                            continue;
                        };
                        if !compiled.visible_to(&source.namespace) {
                            tracer.virtual_service(&compiled.key, VsVerdict::NotExported);
                            continue;
                        }
                        let entries = sidecar.tables.get(index(vs)).map_or(&[][..], Vec::as_slice);
                        result = self.eval(
                            entries,
                            &view,
                            source,
                            &source.labels_vec(),
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
                (
                    result,
                    entry.map(|e| &*e.fqdn),
                    entry.and_then(|e| e.service_port),
                )
            }
            Some(gateway) => {
                // Routes are built per listener port (route.go translateRoute).
                let table = tables
                    .gateways
                    .get(gateway.as_str())
                    .map(|g| g.for_port(facts.port));
                // Envoy's domain order: exact, then wildcards from the longest, then `*`; a host
                // whose VirtualServices yield no routes here has no virtual host.
                let result = match (table, host) {
                    (Some(t), Some(h)) => {
                        let labels = GatewayLabels(&t.labels);
                        let wildcards = t
                            .wildcards
                            .iter()
                            .filter(|(suffix, _)| h.len() > suffix.len() && h.ends_with(&**suffix))
                            .map(|(_, e)| e);
                        t.exact
                            .get(h)
                            .into_iter()
                            .chain(wildcards)
                            .chain(t.star.as_ref())
                            .map(|entries| {
                                self.eval(entries, &view, source, &labels, facts.port, tracer)
                            })
                            .find(|r| !matches!(r, Eval::NothingApplies))
                            .unwrap_or(Eval::NothingApplies)
                    }
                    _ => Eval::NothingApplies,
                };
                // A gateway has no default route: nothing applicable is Envoy's 404 NR.
                (result, None, None)
            }
        };

        let is_gateway = source.gateway.is_some();
        let decision = match eval {
            Eval::Found(vs, route, matched) => decide(vs, route, matched, facts, rng),
            // Envoy's 404 NR: the host's VirtualService matched nothing, or a gateway has no
            // virtual host for it (gateways have no default route).
            Eval::NoMatch(vs) => no_route(Some(&vs.key), facts),
            Eval::NothingApplies if is_gateway => no_route(None, facts),
            Eval::NothingApplies => {
                let port = facts.port;
                Decision {
                    outcome: Outcome::NoVirtualService,
                    virtual_service: None,
                    route: None,
                    matched: None,
                    destination: Some(DestinationRef {
                        host: fqdn.unwrap_or(facts.host),
                        subset: None,
                        port: Some(port).or(service_port),
                        subset_defined: true,
                    }),
                    chosen: None,
                    request: facts,
                    endpoint: None,
                    no_endpoint: None,
                    set_cookie: None,
                }
            }
        };
        let mut decision = decision;
        if let Some(dest) = decision.destination {
            if dest.subset_defined {
                self.attach_endpoint(&mut decision, dest, request, source, rng);
            }
        }
        tracing::trace!(
            outcome = decision.outcome.as_str(),
            virtual_service = decision.virtual_service,
            route = decision.route.map(|r| r.index),
            destination = decision.destination.map(|d| d.host),
            subset = decision.destination.and_then(|d| d.subset),
            endpoint = decision.endpoint().map(|e| e.address.as_str()),
            "meshroute decision"
        );
        decision
    }

    /// Picks the endpoint of `dest` with its cluster's balancer (Envoy's algorithms, fed the
    /// request's hash input and the injected random source).
    fn attach_endpoint<B>(
        &self,
        decision: &mut Decision<'_>,
        dest: DestinationRef<'_>,
        request: &http::Request<B>,
        source: &Source,
        rng: &mut impl Rng,
    ) {
        let clusters = &self.inner.tables.clusters;
        let Some(port) = dest.port else { return };
        let Some(index) = clusters.find(dest.host, dest.subset, port) else {
            return;
        };
        let Some(cluster) = clusters.get(index) else {
            return;
        };
        let state = cluster.state();
        if !state.known() {
            return;
        }
        let input = HashInput {
            headers: request.headers(),
            path_and_query: request.uri().path_and_query().map_or("/", |p| p.as_str()),
            source_ip: source.ip,
            downstream_remote: source.downstream.map(|(remote, _)| remote),
            downstream_local: source.downstream.map(|(_, local)| local),
        };
        match cluster.pick(&state, &input, rng) {
            Ok((endpoint, set_cookie)) => {
                decision.endpoint = Some(PickedEndpoint {
                    cluster: index,
                    state,
                    index: endpoint,
                });
                decision.set_cookie = set_cookie;
            }
            Err(reason) => decision.no_endpoint = Some(reason),
        }
    }

    /// Replaces the endpoints of `host` (the FQDN, e.g. `svc-b.default.svc.cluster.local`) on
    /// `port` for every cluster of it (each subset filters them by its labels). The swap is
    /// atomic: picks in flight finish on the old set, later picks see the new one, nobody waits.
    pub fn set_endpoints(
        &self,
        host: &str,
        port: u16,
        endpoints: &[Endpoint],
    ) -> Result<(), UnknownCluster> {
        let host = host.to_ascii_lowercase();
        let mut found = false;
        for cluster in self.inner.tables.clusters.of_host_port(&host, port) {
            cluster.set_endpoints(endpoints);
            found = true;
        }
        if found {
            tracing::debug!(%host, port, endpoints = endpoints.len(), "endpoints replaced");
            Ok(())
        } else {
            Err(UnknownCluster { host, port })
        }
    }

    /// The endpoints of a cluster (`subset` `None`: all endpoints of the host), if it exists.
    pub fn endpoints(&self, host: &str, subset: Option<&str>, port: u16) -> Option<Vec<Endpoint>> {
        let clusters = &self.inner.tables.clusters;
        let cluster = clusters.get(clusters.find(host, subset, port)?)?;
        Some(cluster.state().endpoints().to_vec())
    }

    /// Feeds the result of a request sent to `decision`'s endpoint to outlier detection (a
    /// no-op when its DestinationRule has none). `now` comes from the caller's clock.
    pub fn report(&self, decision: &Decision<'_>, outcome: OutlierOutcome, now: Instant) {
        let Some(picked) = &decision.endpoint else {
            return;
        };
        if let Some(cluster) = self.inner.tables.clusters.get(picked.cluster) {
            // The index is into the snapshot the pick was made on; a swapped endpoint set
            // starts fresh outlier state, so stale reports are dropped (ejections rebuild the
            // snapshot but keep the endpoint set, so their reports still count).
            cluster.report(&picked.state, picked.index, outcome, now);
        }
    }

    /// Runs outlier detection's interval work (un-ejecting endpoints whose time is up) at `now`.
    pub fn tick(&self, now: Instant) {
        for cluster in &self.inner.tables.clusters.clusters {
            cluster.tick(now);
        }
    }

    /// Counts a request as in flight on `decision`'s endpoint (least-request balancing reads
    /// these counts) until the returned guard is dropped.
    pub fn start_request(&self, decision: &Decision<'_>) -> Option<ActiveRequest> {
        let picked = decision.endpoint.as_ref()?;
        let cluster = self.inner.tables.clusters.get(picked.cluster)?;
        cluster.start(&picked.state, picked.index);
        Some(ActiveRequest {
            mesh: self.clone(),
            cluster: picked.cluster,
            state: Arc::clone(&picked.state),
            index: picked.index,
        })
    }

    fn eval<'a>(
        &'a self,
        entries: &[Entry],
        view: &RequestView<'_>,
        source: &Source,
        labels: &dyn LabelSet,
        port: u16,
        tracer: &mut impl Tracer,
    ) -> Eval<'a> {
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
                if m.has_runtime_selectors() && !selectors_hold(m, source, labels, port) {
                    if tracer.enabled() {
                        tracer.entry(
                            &vs.key,
                            route,
                            Some(m),
                            EntryVerdict::Dropped(selector_failure(m, source, labels, port)),
                        );
                    }
                    continue;
                }
                Some(m)
            };
            last_vs = Some(vs);
            if matched.is_none_or(|m| m.request.matches(view)) {
                tracer.entry(&vs.key, route, matched, EntryVerdict::Matched);
                return Eval::Found(vs, route, matched);
            }
            if tracer.enabled() {
                if let Some(m) = matched {
                    let failure = m.request.first_failure(view).unwrap_or_default();
                    tracer.entry(&vs.key, route, matched, EntryVerdict::Failed(failure));
                }
            }
        }
        match last_vs {
            Some(vs) => Eval::NoMatch(vs),
            None => Eval::NothingApplies,
        }
    }
}

/// Labels of the caller: a sidecar's own, or a gateway's selector.
trait LabelSet {
    fn has(&self, key: &str, value: &str) -> bool;
}

struct SidecarLabels<'a>(&'a BTreeMap<String, String>);

impl LabelSet for SidecarLabels<'_> {
    fn has(&self, key: &str, value: &str) -> bool {
        self.0.get(key).is_some_and(|v| v == value)
    }
}

struct GatewayLabels<'a>(&'a [(Box<str>, Box<str>)]);

impl LabelSet for GatewayLabels<'_> {
    fn has(&self, key: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| &**k == key && &**v == value)
    }
}

impl Source {
    fn labels_vec(&self) -> SidecarLabels<'_> {
        SidecarLabels(&self.labels)
    }
}

/// Which config-time selector drops `m` for this caller (for explanations).
fn selector_failure(
    m: &CompiledMatch,
    source: &Source,
    labels: &dyn LabelSet,
    port: u16,
) -> String {
    if let Some(p) = m.port.filter(|p| *p != port) {
        return format!("port: match is for port {p}, the request is on port {port}");
    }
    if let Some(ns) = m
        .source_namespace
        .as_deref()
        .filter(|ns| *ns != source.namespace)
    {
        return format!(
            "sourceNamespace: {ns:?} ≠ caller namespace {:?}",
            source.namespace
        );
    }
    for (k, v) in &m.source_labels {
        if !labels.has(k, v) {
            return format!("sourceLabels: caller has no label {k}={v}");
        }
    }
    String::new()
}

/// route.go `sourceMatchHTTP` and the port check of `TranslateRoute`.
fn selectors_hold(m: &CompiledMatch, source: &Source, labels: &dyn LabelSet, port: u16) -> bool {
    m.port.is_none_or(|p| p == port)
        && m.source_namespace
            .as_deref()
            .is_none_or(|ns| ns == source.namespace)
        && m.source_labels.iter().all(|(k, v)| labels.has(k, v))
}

fn no_route<'a>(virtual_service: Option<&'a str>, facts: RequestFacts<'a>) -> Decision<'a> {
    Decision {
        outcome: Outcome::NoRoute,
        virtual_service,
        route: None,
        matched: None,
        destination: None,
        chosen: None,
        request: facts,
        endpoint: None,
        no_endpoint: None,
        set_cookie: None,
    }
}

fn decide<'a>(
    vs: &'a CompiledVs,
    route: &'a CompiledRoute,
    matched: Option<&'a CompiledMatch>,
    facts: RequestFacts<'a>,
    rng: &mut impl Rng,
) -> Decision<'a> {
    let mut decision = Decision {
        outcome: Outcome::Route,
        virtual_service: Some(&vs.key),
        route: Some(route),
        matched,
        destination: None,
        chosen: None,
        request: facts,
        endpoint: None,
        no_endpoint: None,
        set_cookie: None,
    };
    match &route.action {
        Action::Route {
            destinations,
            choice,
            ..
        } => {
            let pick = choice.as_ref().map_or(0, |c| c.pick(rng));
            match destinations.get(pick) {
                Some(d) => {
                    decision.destination = Some(DestinationRef {
                        host: &d.host,
                        subset: d.subset.as_deref(),
                        port: d.port.or(d.service_port).or(Some(decision.request.port)),
                        subset_defined: d.subset_defined,
                    });
                    decision.chosen = Some(d);
                }
                None => decision.outcome = Outcome::NoRoute,
            }
        }
        Action::Redirect { .. } => decision.outcome = Outcome::Redirect,
        Action::DirectResponse { .. } => decision.outcome = Outcome::DirectResponse,
    }
    decision
}

fn index(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

/// Lowercases an ASCII host into `buffer`; `None` if it does not fit or is empty.
fn lowercase<'b>(host: &str, buffer: &'b mut [u8; 256]) -> Option<&'b str> {
    let bytes = host.as_bytes();
    let target = buffer.get_mut(..bytes.len())?;
    for (dst, src) in target.iter_mut().zip(bytes) {
        *dst = src.to_ascii_lowercase();
    }
    let text = std::str::from_utf8(target).ok()?;
    (!text.is_empty()).then_some(text)
}

fn facts<'a, B>(request: &'a http::Request<B>, authority: Option<&'a str>) -> RequestFacts<'a> {
    let uri = request.uri();
    let scheme = uri.scheme_str().unwrap_or("http");
    let authority = match authority.or(uri.authority().map(http::uri::Authority::as_str)) {
        Some(a) => a,
        None => request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(""),
    };
    let (host, port) = split_host_port(authority);
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let path = normalize_path(uri.path());
    RequestFacts {
        path,
        query: uri.query().unwrap_or(""),
        scheme,
        authority,
        host,
        port: port.unwrap_or(default_port),
    }
}

/// Splits `host:port` (and `[v6]:port`).
fn split_host_port(authority: &str) -> (&str, Option<u16>) {
    if let Some(rest) = authority.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, tail)) => {
                let host = authority.get(..h.len() + 2).unwrap_or(authority);
                (host, tail.strip_prefix(':').and_then(|p| p.parse().ok()))
            }
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h, Some(port)),
            Err(_) => (authority, None),
        },
        _ => (authority, None),
    }
}

/// `set_endpoints` named a host and port no cluster of the mesh serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no cluster for {host}:{port}: the configuration names no such service (add a Service, ServiceEntry or route destination for it)"
)]
#[non_exhaustive]
pub struct UnknownCluster {
    /// The host.
    pub host: String,
    /// The port.
    pub port: u16,
}

/// A request in flight on an endpoint, for least-request balancing; dropping it ends it.
#[derive(Debug)]
pub struct ActiveRequest {
    mesh: Mesh,
    cluster: u32,
    state: Arc<ClusterState>,
    index: usize,
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        if let Some(cluster) = self.mesh.inner.tables.clusters.get(self.cluster) {
            cluster.finish(&self.state, self.index);
        }
    }
}
