//! The compiled route tables a `Mesh` holds. Built by `compile`, read by `Mesh::route`; nothing
//! here is public.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use super::choice::WeightedChoice;
use super::cluster::Clusters;
use super::index::RouteIndex;
use super::matcher::MatchRequest;
use super::policy::{DirectResponse, HeaderOps, Redirect, RoutePolicy};
use crate::util::bytes;
use crate::util::host::{MAX_HOST_LEN, Wildcards, lowercase, wildcard_matches};
use crate::util::host_table::{ExactNames, HostNames};

/// Everything a `Mesh` answers from, built by `compile` from the effective resources.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub(crate) virtual_services: Vec<CompiledVs>,
    /// Per-VirtualService route entries for sidecars, after catch-all truncation.
    pub(crate) vs_entries: Vec<Vec<Entry>>,
    /// The path index of each large `vs_entries` list.
    pub(crate) vs_index: Vec<Option<RouteIndex>>,
    /// Every host of the configuration as if every resource were visible: the lookup of the APIs
    /// that have no caller ([`Mesh::set_endpoints`](crate::Mesh::set_endpoints)).
    pub(crate) registry: SidecarHosts,
    /// What each caller sees: exportTo and Sidecar resources applied.
    pub(crate) scopes: Scopes,
    /// The DestinationRule choices scopes make, indexed by `ScopeHost::rule`.
    pub(crate) rules: Vec<RuleInfo>,
    /// Visibility notes for explanations, `(resource, verdict)`, indexed by `ScopeHost::notes`.
    pub(crate) notes: Vec<Vec<(Box<str>, Box<str>)>>,
    /// For explanations: each service host and, per namespace defining it, the namespaces it is
    /// exported to (`None`: every namespace).
    pub(crate) service_exports: HashMap<Box<str>, Vec<Exports>>,
    pub(crate) gateways: HashMap<Box<str>, GatewayTables>,
    pub(crate) clusters: Clusters,
    /// Header names (lowercase) that some VirtualService match refers to, sorted.
    pub(crate) referenced_headers: Vec<String>,
    /// Query parameter names that some VirtualService match refers to, sorted.
    pub(crate) referenced_query_params: Vec<String>,
}

/// One gateway's HTTP route configurations, by listener port (istio/istio
/// `pilot/pkg/model/gateway.go` `MergeGateways`, `gatewayRDSRouteName`): the plain-text HTTP
/// servers of a port share one (`http.<port>`); each HTTPS server that terminates TLS has its
/// own, which Envoy picks by the TLS server name (SNI).
#[derive(Debug, Default)]
pub(crate) struct GatewayTables {
    /// The ports some server listens on, ascending.
    pub(crate) ports: Vec<GatewayPort>,
    /// The gateway workload's labels (its `selector`), used as the caller's labels.
    pub(crate) labels: Vec<(Box<str>, Box<str>)>,
}

/// The servers of one gateway port.
#[derive(Debug)]
pub(crate) struct GatewayPort {
    pub(crate) port: u16,
    /// `http.<port>`: the route configuration of the plain-text HTTP servers, if any.
    pub(crate) plain: Option<RouteConfig>,
    /// The HTTPS servers terminating TLS, each with its route configuration, in the Gateway's
    /// order.
    pub(crate) tls: Vec<TlsRouteConfig>,
}

/// The route configuration of one HTTPS server that terminates TLS.
#[derive(Debug)]
pub(crate) struct TlsRouteConfig {
    /// The server names (SNI) its filter chain matches, lowercased; empty when it has the host
    /// `*`, which matches any (istio/istio `pilot/pkg/networking/core/listener.go`
    /// `toFilterChainMatch`).
    pub(crate) server_names: Vec<Box<str>>,
    pub(crate) routes: RouteConfig,
}

/// An Envoy route configuration: virtual hosts by domain.
#[derive(Debug, Default)]
pub(crate) struct RouteConfig {
    pub(crate) exact: HashMap<Box<str>, VirtualHost>,
    /// Wildcard domains (`*` under the empty suffix, so it comes last).
    pub(crate) wildcards: Wildcards<VirtualHost>,
}

/// One virtual host of a gateway: its domain, the routes of every VirtualService that reaches
/// it (catch-alls last) and whether it requires TLS.
#[derive(Debug)]
pub(crate) struct VirtualHost {
    /// The domain, lowercased (`api.example.com`, `*.example.com`, `*`).
    pub(crate) domain: Box<str>,
    pub(crate) entries: Vec<Entry>,
    /// The path index of `entries`, when large.
    pub(crate) index: Option<RouteIndex>,
    /// `require_tls: ALL`, set by `tls.httpsRedirect` on this server (its index in
    /// `spec.servers`): a plain-HTTP request is redirected to https before any route.
    pub(crate) https_redirect: Option<u32>,
}

/// What a gateway has no match for: it has no virtual host for the request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GatewayMiss<'t> {
    /// The port: no server listens on it.
    Port,
    /// A plain-HTTP request, on a port whose servers all expect TLS (or are not HTTP).
    PlainText,
    /// The server name of an https request: no HTTPS server on the port takes it.
    ServerName,
    /// The host: the route configuration of the port has no virtual host for it.
    Host(&'t RouteConfig),
}

impl GatewayTables {
    /// The virtual host that takes a request on `port` for the lowercase `host` (no port), sent
    /// over TLS or not (`tls`), as Envoy picks it: the listener by port, the filter chain by
    /// TLS server name, the virtual host by domain.
    pub(crate) fn virtual_host<'t>(
        &'t self,
        port: u16,
        tls: bool,
        host: Option<&str>,
    ) -> Result<&'t VirtualHost, GatewayMiss<'t>> {
        let listener = self
            .ports
            .iter()
            .find(|p| p.port == port)
            .ok_or(GatewayMiss::Port)?;
        let routes = if tls {
            listener
                .tls_route_config(host)
                .ok_or(GatewayMiss::ServerName)?
        } else {
            listener.plain.as_ref().ok_or(GatewayMiss::PlainText)?
        };
        host.and_then(|h| routes.virtual_host(h))
            .ok_or(GatewayMiss::Host(routes))
    }
}

impl GatewayPort {
    /// The HTTPS server whose filter chain takes the TLS server name `host` (Envoy
    /// `FilterChainManagerImpl`: the exact name, then `*.suffix` wildcards from the longest, then
    /// a chain without server names). Clients send no server name for an IP address.
    fn tls_route_config(&self, host: Option<&str>) -> Option<&RouteConfig> {
        let sni = host.filter(|h| !h.starts_with('[') && h.parse::<std::net::IpAddr>().is_err());
        let named = |name: &str| {
            self.tls
                .iter()
                .find(|c| c.server_names.iter().any(|n| &**n == name))
        };
        let wildcard = |sni: &str| {
            sni.char_indices()
                .skip(1)
                .filter(|&(_, c)| c == '.')
                .find_map(|(i, _)| {
                    let suffix = sni.get(i..)?;
                    self.tls.iter().find(|c| {
                        c.server_names
                            .iter()
                            .any(|n| n.strip_prefix('*') == Some(suffix))
                    })
                })
        };
        sni.and_then(|sni| named(sni).or_else(|| wildcard(sni)))
            .or_else(|| self.tls.iter().find(|c| c.server_names.is_empty()))
            .map(|c| &c.routes)
    }
}

impl RouteConfig {
    /// The virtual host for the lowercase `host` in Envoy's domain order: the exact name, then
    /// wildcards from the most specific, then `*`.
    pub(crate) fn virtual_host(&self, host: &str) -> Option<&VirtualHost> {
        self.exact.get(host).or_else(|| {
            self.wildcards
                .iter()
                .find(|(suffix, _)| wildcard_matches(suffix, host))
                .map(|(_, vhost)| vhost)
        })
    }

    /// Every virtual host, exact domains first (for explanations).
    pub(crate) fn virtual_hosts(&self) -> impl Iterator<Item = &VirtualHost> {
        self.exact
            .values()
            .chain(self.wildcards.iter().map(|(_, v)| v))
    }
}

/// A VirtualService, compiled.
#[derive(Debug)]
pub(crate) struct CompiledVs {
    /// `namespace/name`.
    pub(crate) key: std::sync::Arc<str>,
    /// Namespaces it is visible to; `None` means all.
    pub(crate) export_to: Option<Vec<Box<str>>>,
    pub(crate) routes: Vec<CompiledRoute>,
}

impl CompiledVs {
    pub(crate) fn visible_to(&self, namespace: &str) -> bool {
        match &self.export_to {
            None => true,
            Some(list) => list.iter().any(|ns| &**ns == namespace),
        }
    }
}

/// One `HTTPRoute` (after delegate merging).
#[derive(Debug)]
pub(crate) struct CompiledRoute {
    /// Index in the root VirtualService's `spec.http`.
    pub(crate) index: usize,
    pub(crate) name: Option<Box<str>>,
    pub(crate) matches: Vec<CompiledMatch>,
    pub(crate) action: Action,
}

/// One `HTTPMatchRequest`: request-time conditions and config-time selectors.
#[derive(Debug)]
pub(crate) struct CompiledMatch {
    pub(crate) index: usize,
    pub(crate) name: Option<Box<str>>,
    pub(crate) request: MatchRequest,
    pub(crate) port: Option<u16>,
    pub(crate) source_labels: Vec<(Box<str>, Box<str>)>,
    pub(crate) source_namespace: Option<Box<str>>,
    /// Resolved `ns/name` or `mesh`; empty when the match does not restrict gateways.
    pub(crate) gateways: Vec<Box<str>>,
}

/// The labels of a caller: a sidecar's own, or a gateway's selector.
pub(crate) trait LabelSet {
    fn has(&self, key: &str, value: &str) -> bool;
}

impl LabelSet for BTreeMap<String, String> {
    fn has(&self, key: &str, value: &str) -> bool {
        self.get(key).is_some_and(|v| v == value)
    }
}

impl LabelSet for [(Box<str>, Box<str>)] {
    fn has(&self, key: &str, value: &str) -> bool {
        self.iter().any(|(k, v)| &**k == key && &**v == value)
    }
}

/// The config-time selector of a match that drops it for a caller, as found by
/// [`CompiledMatch::selector_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelectorFailure<'m> {
    /// The match is for this port; the request is on another.
    Port(u16),
    /// The match is for callers in this namespace.
    SourceNamespace(&'m str),
    /// The caller lacks this label.
    SourceLabel(&'m str, &'m str),
    /// The match names gateways, and the caller is not one of them (TCP and TLS matches; HTTP
    /// matches for other gateways are left out of the tables).
    Gateways,
}

impl CompiledMatch {
    pub(crate) fn has_runtime_selectors(&self) -> bool {
        self.port.is_some() || !self.source_labels.is_empty() || self.source_namespace.is_some()
    }

    /// The first config-time selector that drops this match for a caller in `namespace` with
    /// `labels`, on listener `port` (route.go `sourceMatchHTTP` and the port check of
    /// `TranslateRoute`); `None` when the match applies. The one place selectors are decided:
    /// per request for sidecars, per listener port while compiling a gateway's tables.
    pub(crate) fn selector_failure<L: LabelSet + ?Sized>(
        &self,
        port: Option<u16>,
        namespace: &str,
        labels: &L,
    ) -> Option<SelectorFailure<'_>> {
        if let Some(p) = self.port.filter(|p| Some(*p) != port) {
            return Some(SelectorFailure::Port(p));
        }
        if let Some(ns) = self
            .source_namespace
            .as_deref()
            .filter(|ns| *ns != namespace)
        {
            return Some(SelectorFailure::SourceNamespace(ns));
        }
        self.source_labels
            .iter()
            .find(|(k, v)| !labels.has(k, v))
            .map(|(k, v)| SelectorFailure::SourceLabel(k, v))
    }
}

/// What a route does.
#[derive(Debug)]
pub(crate) enum Action {
    Route {
        destinations: Vec<CompiledDestination>,
        choice: Option<WeightedChoice>,
        policy: std::sync::Arc<RoutePolicy>,
        response_headers: HeaderOps,
    },
    /// Boxed: redirects are rare, and a route's action stays the size of a forward.
    Redirect {
        redirect: Box<Redirect>,
        response_headers: HeaderOps,
    },
    DirectResponse {
        response: DirectResponse,
        response_headers: HeaderOps,
    },
}

/// A destination with its merged header operations.
#[derive(Debug)]
pub(crate) struct CompiledDestination {
    /// Its number in the per-scope tables (`Scope::destinations`,
    /// `Scope::destination_clusters`): route destinations with the same host, subset, port and
    /// service port share one, as what those tables hold depends on nothing else (lowering
    /// numbers them: `compile/routes.rs`).
    pub(crate) id: u32,
    pub(crate) host: std::sync::Arc<str>,
    pub(crate) subset: Option<std::sync::Arc<str>>,
    pub(crate) port: Option<u16>,
    /// The service's only port, when it has exactly one.
    pub(crate) service_port: Option<u16>,
    /// Its request and response header operations; `None` (most destinations): none, and a
    /// compiled destination stays small.
    pub(crate) headers: Option<Box<DestinationHeaders>>,
    pub(crate) authority: Option<Box<str>>,
}

/// A destination's merged header operations.
#[derive(Debug)]
pub(crate) struct DestinationHeaders {
    pub(crate) request: HeaderOps,
    pub(crate) response: HeaderOps,
}

impl CompiledDestination {
    /// Request header operations, in Envoy's order.
    pub(crate) fn request_headers(&self) -> Option<&HeaderOps> {
        self.headers.as_deref().map(|h| &h.request)
    }

    /// Response header operations (route and destination merged).
    pub(crate) fn response_headers(&self) -> Option<&HeaderOps> {
        self.headers.as_deref().map(|h| &h.response)
    }
}

/// A position in a route table: VirtualService, route and match (`NO_MATCH` for a route with
/// no match list).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) vs: u32,
    pub(crate) route: u32,
    pub(crate) matcher: u32,
}

pub(crate) const NO_MATCH: u32 = u32::MAX;

/// A host a sidecar can call: its canonical name and service ([`HostService`], shared by the
/// listener hosts made from one another) and the VirtualServices that claim it here.
#[derive(Debug, Clone)]
pub(crate) struct HostEntry {
    /// Candidate VirtualServices in Istio's precedence: for the scope's namespace, its private
    /// ones, then those exported to it, then public ones, each oldest first (creation time, then
    /// name, then namespace).
    pub(crate) virtual_services: Vec<u32>,
    service: Arc<HostService>,
}

/// What a [`HostEntry`] holds that does not depend on the VirtualServices claiming it: a
/// namespace's private VirtualServices claim a few hosts on a copy of the shared listener
/// hosts (`compile/sidecar.rs` `with_claims_first`), and the copy shares the rest.
#[derive(Debug, Clone)]
pub(crate) struct HostService {
    pub(crate) fqdn: Arc<str>,
    /// The ports of the service behind this name; `None` when no service is (a VirtualService
    /// host only). A service without ports listed serves every port.
    pub(crate) service_ports: Option<Box<[u16]>>,
    /// The DestinationRule choice the scope applies to the service (`NO_RULE`: none, or not a
    /// service): the default route's cluster, found without hashing the host again.
    pub(crate) rule: u32,
    /// The default route's cluster on each of `service_ports`, in the same order (`NO_CLUSTER`
    /// when there is none): a request without a VirtualService picks its endpoint without
    /// hashing the host. Unset until the clusters are built (set once through a shared
    /// reference: scopes share their listeners' hosts), empty for a service of every port.
    pub(crate) service_clusters: std::sync::OnceLock<Box<[u32]>>,
}

impl std::ops::Deref for HostEntry {
    type Target = HostService;

    fn deref(&self) -> &HostService {
        &self.service
    }
}

impl HostEntry {
    /// The entry for `fqdn`, claimed by no VirtualService yet.
    pub(crate) fn new(fqdn: &str, service_ports: Option<&[u16]>) -> Self {
        Self {
            virtual_services: Vec::new(),
            service: Arc::new(HostService {
                fqdn: fqdn.into(),
                service_ports: service_ports.map(Into::into),
                rule: NO_RULE,
                service_clusters: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The service part, to change while the listener hosts are built (before any copy
    /// shares it, and before the clusters are resolved: a copy made here would keep them).
    pub(crate) fn service_mut(&mut self) -> &mut HostService {
        Arc::make_mut(&mut self.service)
    }
}

impl HostService {
    /// Whether a service behind this name has a virtual host on `port`.
    // A byte-sized loop instead of `contains` (a call per request): the lists are short.
    #[allow(clippy::manual_contains)]
    pub(crate) fn serves(&self, port: u16) -> bool {
        self.service_ports
            .as_deref()
            .is_some_and(|ports| ports.is_empty() || ports.iter().any(|p| *p == port))
    }

    /// The default route's cluster on `port`, when resolved at compile time.
    pub(crate) fn service_cluster(&self, port: u16) -> Option<u32> {
        let ports = self.service_ports.as_deref()?;
        let at = ports.iter().position(|p| *p == port)?;
        self.service_clusters
            .get()?
            .get(at)
            .copied()
            .filter(|c| *c != NO_CLUSTER)
    }
}

/// Names reachable from any namespace, to their host's index ([`SidecarHosts::domains`]).
pub(crate) type DomainNames = HashMap<Box<str>, u32>;

/// Short names to the `(namespace, host)` pairs that have them ([`SidecarHosts::short`]).
pub(crate) type ShortNames = HashMap<Box<str>, Vec<(Box<str>, u32)>>;

/// Sidecar virtual hosts (the `mesh` gateway).
#[derive(Debug, Default, Clone)]
pub(crate) struct SidecarHosts {
    pub(crate) hosts: Vec<HostEntry>,
    /// Names reachable from any namespace: FQDN, `name.ns.svc`, `name.ns`, literal hosts.
    /// Shared with listener hosts that differ only in what VirtualServices claim their hosts.
    pub(crate) domains: Arc<DomainNames>,
    /// Short names, reachable from the service's own namespace only: name → (namespace, host)
    /// pairs, one per namespace with a service of that name (usually one): a request's short
    /// name costs one probe and a namespace comparison. Shared as `domains` is.
    pub(crate) short: Arc<ShortNames>,
    /// Wildcard VirtualService hosts (`*.foo.com` under the suffix `.foo.com`).
    pub(crate) wildcards: Wildcards<u32>,
    /// The service ports each VirtualService of the listener has a virtual host on (the ports of
    /// the services its hosts name; `0`: every port), indexed by VirtualService; `None` for one
    /// the listener does not take. On port 80 every VirtualService applies (istio/istio
    /// `pilot/pkg/networking/core/httproute.go` `BuildSidecarOutboundVirtualHosts`).
    pub(crate) vs_ports: Vec<Option<Box<[u16]>>>,
    /// The names of `domains` without a dot (rare: a ServiceEntry or VirtualService host
    /// written so), listed the first time a scope indexes its own authorities.
    dotless_domains: std::sync::OnceLock<Box<[Box<str>]>>,
}

impl SidecarHosts {
    /// The names of `domains` without a dot.
    fn dotless_domains(&self) -> &[Box<str>] {
        self.dotless_domains.get_or_init(|| {
            self.domains
                .keys()
                .filter(|name| !bytes::contains(name.as_bytes(), b'.'))
                .cloned()
                .collect()
        })
    }

    /// Whether VirtualService `vs` has virtual hosts on `port` for this listener: on port 80
    /// always; on another port only when one of its hosts names a service with that port
    /// (httproute.go `selectVirtualServices`, applied for every port but 80).
    pub(crate) fn vs_serves(&self, vs: u32, port: u16) -> bool {
        port == 80
            || self
                .vs_ports
                .get(usize::try_from(vs).unwrap_or(usize::MAX))
                .and_then(Option::as_deref)
                // One pass, inlined: the lists are short and `contains` is a call.
                .is_some_and(|ports| ports.iter().any(|p| *p == port || *p == 0))
    }

    /// Whether the listener takes VirtualService `vs` at all (its Sidecar imports it).
    pub(crate) fn takes(&self, vs: u32) -> bool {
        self.vs_ports
            .get(usize::try_from(vs).unwrap_or(usize::MAX))
            .is_some_and(Option::is_some)
    }

    /// The host a sidecar in `namespace` reaches by the lowercase name `host`: the one host
    /// resolution of meshroute (the virtual host domains of istio/istio
    /// `pilot/pkg/networking/core/httproute.go`). A name with a dot is looked up as written (FQDN,
    /// `name.ns.svc`, `name.ns`, a ServiceEntry host); a short name reaches the service of that
    /// name in the caller's namespace.
    pub(crate) fn lookup(&self, host: &str, namespace: &str) -> Option<&HostEntry> {
        let index = if bytes::contains(host.as_bytes(), b'.') {
            self.domains.get(host)
        } else {
            self.short
                .get(host)
                .and_then(|pairs| pairs.iter().find(|(ns, _)| bytes::eq(ns, namespace)))
                .map(|(_, index)| index)
                .or_else(|| self.domains.get(host))
        };
        index.and_then(|&i| self.hosts.get(usize::try_from(i).ok()?))
    }

    /// The wildcard host entries whose name matches `host`, most specific first.
    pub(crate) fn wildcard_entries<'a>(
        &'a self,
        host: &'a str,
    ) -> impl Iterator<Item = &'a HostEntry> + 'a {
        self.wildcards
            .matching(host)
            .filter_map(|&i| self.hosts.get(usize::try_from(i).ok()?))
    }

    /// Every namespace with a service of the short name `host`, and that service's host entry.
    pub(crate) fn short_names<'a>(
        &'a self,
        host: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a HostEntry)> + 'a {
        self.short
            .get(host)
            .into_iter()
            .flatten()
            .filter_map(move |(namespace, index)| {
                Some((&**namespace, self.hosts.get(usize::try_from(*index).ok()?)?))
            })
    }
}

/// What callers see of the mesh: one scope per Sidecar resource and per namespace default
/// (istio/istio `pilot/pkg/model/sidecar.go` `SidecarScope`), chosen per request by the
/// caller's namespace and labels (push_context.go `getSidecarScope`).
#[derive(Debug, Default)]
pub(crate) struct Scopes {
    pub(crate) list: Vec<Scope>,
    /// Per namespace: the workload-selecting Sidecars (oldest first) and the default scope.
    pub(crate) namespaces: HashMap<Box<str>, NamespaceScopes>,
    /// Per namespace: the scope without any Sidecar resource, which gateways use
    /// (`DefaultSidecarScopeForGateway`).
    pub(crate) plain: HashMap<Box<str>, u32>,
    /// The scope of namespaces the configuration never names.
    pub(crate) elsewhere: u32,
    /// The plain scope of namespaces the configuration never names.
    pub(crate) elsewhere_plain: u32,
}

/// The namespaces a resource is exported to; `None`: every namespace.
pub(crate) type Exports = Option<Vec<Box<str>>>;

/// Label pairs, as a selector or a caller's labels.
pub(crate) type Labels = Vec<(Box<str>, Box<str>)>;

/// The scopes of one namespace.
#[derive(Debug, Default)]
pub(crate) struct NamespaceScopes {
    /// `(workloadSelector labels, scope)`, oldest Sidecar first.
    pub(crate) selected: Vec<(Labels, u32)>,
    /// The scope of workloads no selector picks.
    pub(crate) default: u32,
}

impl Scopes {
    /// The scope of a sidecar in `namespace` with `labels`: the first workload-selecting
    /// Sidecar of the namespace whose selector the labels satisfy, else the namespace's default
    /// (its selector-less Sidecar, else the root namespace's, else everything visible).
    pub(crate) fn select<L: LabelSet + ?Sized>(&self, namespace: &str, labels: &L) -> &Scope {
        self.get(self.select_index(namespace, labels))
    }

    /// The index of [`Scopes::select`]'s scope.
    pub(crate) fn select_index<L: LabelSet + ?Sized>(&self, namespace: &str, labels: &L) -> u32 {
        match self.namespaces.get(namespace) {
            Some(ns) => ns
                .selected
                .iter()
                .find(|(selector, _)| selector.iter().all(|(k, v)| labels.has(k, v)))
                .map_or(ns.default, |(_, scope)| *scope),
            None => self.elsewhere,
        }
    }

    /// The index of the scope of a gateway proxy in `namespace`: every service and rule visible
    /// there, Sidecar resources ignored.
    pub(crate) fn gateway_index(&self, namespace: &str) -> u32 {
        self.plain
            .get(namespace)
            .copied()
            .unwrap_or(self.elsewhere_plain)
    }

    /// The scope at `index` (an empty scope for an index out of range).
    pub(crate) fn get(&self, index: u32) -> &Scope {
        static EMPTY: std::sync::OnceLock<Scope> = std::sync::OnceLock::new();
        usize::try_from(index)
            .ok()
            .and_then(|i| self.list.get(i))
            .unwrap_or_else(|| EMPTY.get_or_init(Scope::default))
    }
}

/// What one kind of caller sees: its outbound listeners, the services it has clusters for and
/// the DestinationRule of each.
#[derive(Debug, Default)]
pub(crate) struct Scope {
    /// `Sidecar ns/name`, or `default` when no Sidecar resource applies; for explanations.
    pub(crate) name: Box<str>,
    /// Egress listeners: those for one port first, the catch-all (no port) last.
    pub(crate) listeners: Vec<Listener>,
    /// `outboundTrafficPolicy` `REGISTRY_ONLY`: hosts outside the registry get Envoy's
    /// `BlackHoleCluster` (HTTP 502).
    pub(crate) registry_only: bool,
    /// Every host the scope's routes may send to: whether its cluster exists for the caller
    /// and which DestinationRule applies.
    pub(crate) hosts: ScopeHosts,
    /// The service hosts whose default route takes another DestinationRule choice for this
    /// scope than their (shared) listener entry's `HostEntry::rule`: that choice. Usually
    /// empty.
    pub(crate) rule_overrides: HashMap<Box<str>, u32>,
    /// The same for each route destination, by `CompiledDestination::id`, the subset checked:
    /// what a decision reads without hashing the host.
    pub(crate) destinations: Vec<ScopeHost>,
    /// The cluster each route destination sends to for this scope, by
    /// `CompiledDestination::id` (`NO_CLUSTER` when its port comes from the request or it has
    /// none): the endpoint pick reads it without hashing the host.
    pub(crate) destination_clusters: Vec<u32>,
    /// `name:port` authorities a caller commonly sends (each name of each listener, on the
    /// ports of its service and of its listener, and alone for port 80), to what they resolve
    /// to: one probe for the port's listener and the host, instead of splitting the authority,
    /// choosing the listener and looking the name up. The port only chooses the listener:
    /// Istio sets `ignore_port_in_host_matching`, so Envoy compares the host without it
    /// (istio/istio `pilot/pkg/networking/core/httproute.go`). These are the names without a
    /// dot (short names: the scope's namespace's own).
    pub(crate) authorities: Authorities,
    /// The same for the names with a dot, which resolve alike in every scope with the same
    /// listeners: shared by those scopes.
    pub(crate) shared_authorities: Arc<Authorities>,
}

/// `name:port` authorities, to what they resolve to ([`Scope::authorities`]).
#[derive(Debug, Default)]
pub(crate) struct Authorities {
    names: ExactNames,
    targets: Box<[AuthorityTarget]>,
}

impl Authorities {
    #[inline]
    fn get(&self, hash: u64, authority: &[u8]) -> Option<&AuthorityTarget> {
        let slot = self.names.get_hashed(hash, authority)?;
        self.targets.get(usize::try_from(slot).ok()?)
    }
}

/// What an authority of [`Scope::authorities`] resolves to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthorityTarget {
    /// In `Scope::listeners`: `Scope::listener(port)`.
    listener: u32,
    /// In that listener's hosts: `Listener::host(name)`.
    host: u32,
    /// The name's length (the authority's host part).
    name_len: u16,
    port: u16,
}

/// An authority found in [`Scope::authorities`]: the `host:port` split and the listener and
/// host they select.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthorityHit<'s> {
    pub(crate) listener: &'s Listener,
    pub(crate) entry: &'s HostEntry,
    /// The host part's length in bytes.
    pub(crate) host_len: usize,
    pub(crate) port: u16,
}

/// No cluster known in advance.
pub(crate) const NO_CLUSTER: u32 = u32::MAX;

impl Scope {
    /// The listener that carries requests on `port`: the egress listener for that port, else
    /// the catch-all (sidecar.go `GetEgressListenerForRDS`).
    pub(crate) fn listener(&self, port: u16) -> Option<&Listener> {
        self.listener_index(port)
            .and_then(|i| self.listeners.get(i))
    }

    fn listener_index(&self, port: u16) -> Option<usize> {
        self.listeners
            .iter()
            .position(|l| l.port.is_none_or(|p| p == port))
    }

    /// [`Scope::authorities`] (`dotted`: [`Scope::shared_authorities`]) once the listeners are
    /// final: for each name a listener knows (with a dot or without), on each port of its
    /// service and of the listener, the authority `name:port` and what [`Scope::listener`]
    /// and [`Listener::host`] make of it. Names that are not plain host names (a `:` or a
    /// leading `[`, which `split_host_port` reads otherwise) are left to the general path, and
    /// so is every name when there would be more than [`MAX_INDEXED_NAMES`] authorities.
    pub(crate) fn index_authorities(&self, dotted: bool) -> Authorities {
        let mut keys: Vec<String> = Vec::new();
        let mut targets: Vec<AuthorityTarget> = Vec::new();
        if self.listeners.iter().any(|l| !l.indexed) {
            return Authorities::default();
        }
        for listener in &self.listeners {
            // Without a dot: the domains written so and the short names of the scope's own
            // namespace (no other short name reaches a host from this scope). A scope sees
            // every service, so this list is what keeps a scope's own table cheap to build.
            let names: Box<dyn Iterator<Item = &Box<str>>> = if dotted {
                Box::new(listener.hosts.domains.keys())
            } else {
                let namespace = &*listener.namespace;
                let own = listener
                    .hosts
                    .short
                    .iter()
                    .filter_map(move |(name, pairs)| {
                        pairs
                            .iter()
                            .any(|(ns, _)| &**ns == namespace)
                            .then_some(name)
                    });
                Box::new(listener.hosts.dotless_domains().iter().chain(own))
            };
            for name in names {
                if name.contains(':') || name.starts_with('[') || name.len() > MAX_HOST_LEN {
                    continue;
                }
                if bytes::contains(name.as_bytes(), b'.') != dotted {
                    continue;
                }
                let Some(entry) = listener.host(name) else {
                    continue;
                };
                // The service's ports; for a VirtualService's own host, the ports its
                // VirtualServices have virtual hosts on (those of the services they name).
                let mut ports: Vec<u16> = match entry.service_ports.as_deref() {
                    Some(ports) => ports.to_vec(),
                    None => entry
                        .virtual_services
                        .iter()
                        .filter_map(|&vs| listener.hosts.vs_ports.get(usize::try_from(vs).ok()?))
                        .flatten()
                        .flat_map(|ports| ports.iter().copied())
                        .filter(|port| *port != 0)
                        .collect(),
                };
                ports.extend(listener.port);
                ports.sort_unstable();
                ports.dedup();
                // Each port as `name:port`, and the name alone for port 80 (the default port
                // of `http`; `Scope::authority`'s caller drops that hit for `https`).
                let spelled = ports.iter().map(|&port| (Some(port), port));
                for (written, port) in spelled.chain([(None, 80)]) {
                    let Some(at) = self.listener_index(port) else {
                        continue;
                    };
                    let target = self
                        .listeners
                        .get(at)
                        .and_then(|l| l.host_index(name))
                        .zip(u32::try_from(at).ok())
                        .zip(u16::try_from(name.len()).ok());
                    if let Some(((host, listener), name_len)) = target {
                        if keys.len() == MAX_INDEXED_NAMES {
                            return Authorities::default();
                        }
                        keys.push(match written {
                            Some(port) => format!("{name}:{port}"),
                            None => name.to_string(),
                        });
                        targets.push(AuthorityTarget {
                            listener,
                            host,
                            name_len,
                            port,
                        });
                    }
                }
            }
        }
        let slots = (0_u32..).zip(&keys).map(|(i, key)| (key.as_str(), i));
        Authorities {
            names: ExactNames::new(slots, MAX_HOST_LEN + 6),
            targets: targets.into_boxed_slice(),
        }
    }

    /// What the authority `host:port` (or `host`, taken as port 80: not for `https`) as sent
    /// resolves to, if it is one of [`Scope::authorities`] (in lowercase: another case takes
    /// the general path).
    #[inline]
    pub(crate) fn authority(&self, authority: &str) -> Option<AuthorityHit<'_>> {
        let bytes = authority.as_bytes();
        let hash = ExactNames::hash(bytes);
        let target = self
            .authorities
            .get(hash, bytes)
            .or_else(|| self.shared_authorities.get(hash, bytes))?;
        let listener = self.listeners.get(usize::try_from(target.listener).ok()?)?;
        Some(AuthorityHit {
            listener,
            entry: listener
                .hosts
                .hosts
                .get(usize::try_from(target.host).ok()?)?,
            host_len: usize::from(target.name_len),
            port: target.port,
        })
    }
}

/// One egress listener of a scope.
///
/// Its hosts and their domains do not depend on the caller's namespace, only on the services,
/// DestinationRule choices and VirtualServices the listener takes, so the scopes of namespaces
/// that see the same ones (every namespace without a `Sidecar`, when nothing is exported to
/// one namespace alone) share them: what a namespace adds is its short names.
#[derive(Debug, Default)]
pub(crate) struct Listener {
    pub(crate) port: Option<u16>,
    pub(crate) hosts: Arc<SidecarHosts>,
    /// Every domain of `hosts` (names reachable from any namespace), to the host's index; empty
    /// past [`MAX_INDEXED_NAMES`]. Shared with `hosts` ([`Listener::domain_names`]).
    domains: Arc<HostNames>,
    /// The short names a caller of the scope's namespace reaches a host by, to the host's
    /// index; with `domains`, [`SidecarHosts::lookup`] worked out for that namespace when the
    /// scope compiles.
    short: HostNames,
    indexed: bool,
    /// The scope's namespace, for the lookup when the names are not indexed.
    namespace: Box<str>,
}

/// The most names a listener's (and authorities a scope's) one-probe tables hold: past it,
/// lookups take the general path. Each namespace has its own scope, which sees every service
/// it imports; the bound keeps what a scope's own tables add to about a megabyte.
pub(crate) const MAX_INDEXED_NAMES: usize = 16_384;

impl Listener {
    /// The table of every domain of `hosts`, for [`Listener::new`] (empty past
    /// [`MAX_INDEXED_NAMES`] names).
    pub(crate) fn domain_names(hosts: &SidecarHosts) -> HostNames {
        if !Self::indexes(hosts) {
            return HostNames::default();
        }
        let domains = hosts.domains.iter().map(|(name, index)| (&**name, *index));
        HostNames::new(domains, MAX_HOST_LEN)
    }

    fn indexes(hosts: &SidecarHosts) -> bool {
        hosts.domains.len() + hosts.short.len() <= MAX_INDEXED_NAMES
    }

    /// The listener on `port` (`None`: every port) of a scope of `namespace`; `domains` is
    /// [`Listener::domain_names`] of `hosts`.
    pub(crate) fn new(
        port: Option<u16>,
        hosts: Arc<SidecarHosts>,
        domains: Arc<HostNames>,
        namespace: &str,
    ) -> Self {
        let indexed = Self::indexes(&hosts);
        // A short name with a dot is never looked up as one.
        let short = hosts.short.iter().filter_map(|(name, pairs)| {
            let (_, index) = pairs.iter().find(|(ns, _)| &**ns == namespace)?;
            (!name.contains('.')).then_some((&**name, *index))
        });
        let short = if indexed {
            HostNames::new(short, MAX_HOST_LEN)
        } else {
            HostNames::default()
        };
        Self {
            port,
            hosts,
            domains,
            short,
            indexed,
            namespace: namespace.into(),
        }
    }

    /// The host a caller of the scope reaches by `host` as the request sends it (any case):
    /// `self.hosts.lookup(host lowercased, namespace)`, in one probe when the names are
    /// indexed.
    #[inline]
    pub(crate) fn host(&self, host: &str) -> Option<&HostEntry> {
        if !self.indexed {
            let mut buffer = None;
            return self
                .hosts
                .lookup(lowercase(host, &mut buffer)?, &self.namespace);
        }
        self.hosts
            .hosts
            .get(usize::try_from(self.host_index(host)?).ok()?)
    }

    /// Whether the names are in the one-probe table.
    #[cfg(test)]
    pub(crate) fn indexed(&self) -> bool {
        self.indexed
    }

    /// [`Listener::host`]'s index in `self.hosts.hosts`, when the names are indexed.
    #[inline]
    fn host_index(&self, host: &str) -> Option<u32> {
        // A short name first: `lookup` prefers the caller's namespace's service to a literal
        // host of the same name. One hash serves both tables.
        let hash = HostNames::hash(host.as_bytes());
        self.short
            .get_hashed(hash, host.as_bytes())
            .or_else(|| self.domains.get_hashed(hash, host.as_bytes()))
    }
}

/// Hosts as one scope sees them.
pub(crate) type HostMap<T = ScopeHost> = HashMap<Box<str>, T>;

/// The hosts of [`Scope::hosts`]: a map shared with other scopes, and where this scope sees
/// a host otherwise (or not at all: `None`), its own entry. Scopes of namespaces that differ
/// in a few hosts (a DestinationRule one namespace keeps to itself) share the rest.
#[derive(Debug, Default)]
pub(crate) struct ScopeHosts {
    pub(crate) shared: Arc<HostMap>,
    pub(crate) own: HostMap<Option<ScopeHost>>,
}

impl ScopeHosts {
    /// How the scope sees `host`.
    pub(crate) fn get(&self, host: &str) -> Option<&ScopeHost> {
        if !self.own.is_empty() {
            if let Some(own) = self.own.get(host) {
                return own.as_ref();
            }
        }
        self.shared.get(host)
    }
}

/// A destination host as one scope sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ScopeHost {
    /// Envoy has a cluster for it: a service imported into the scope, or a host no resource
    /// defines (meshroute takes an undefined host to exist: partial configurations).
    pub(crate) exists: bool,
    /// Index into `Tables::rules`, or `NO_RULE`.
    pub(crate) rule: u32,
    /// Index into `Tables::notes`: why DestinationRules (or the service) are or are not
    /// visible to the caller, for explanations; `NO_NOTES` when there is nothing to say.
    pub(crate) notes: u32,
}

/// A `ScopeHost` without notes.
pub(crate) const NO_NOTES: u32 = u32::MAX;

impl Default for ScopeHost {
    /// A host without a cluster for the caller.
    fn default() -> Self {
        Self {
            exists: false,
            rule: NO_RULE,
            notes: NO_NOTES,
        }
    }
}

/// No DestinationRule applies.
pub(crate) const NO_RULE: u32 = u32::MAX;

/// A DestinationRule choice: what a decision needs of it.
#[derive(Debug, Default)]
pub(crate) struct RuleInfo {
    /// The subsets defined.
    pub(crate) subsets: Vec<Box<str>>,
}
