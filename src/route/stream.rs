//! TCP and TLS routes: the filter chains Istio builds from a VirtualService's `tcp` and `tls`
//! rules, and the one Envoy picks for a connection.
//!
//! **Sidecars** (istio/istio `pilot/pkg/networking/core/tls.go`
//! `buildSidecarOutboundTCPFilterChainOpts`, `buildSidecarOutboundTLSFilterChainOpts`, `matchTCP`,
//! `matchTLS`; `listener.go` `buildSidecarOutboundTCPListenerOpts`, `buildListenerFromEntry`):
//! one listener per service port. Every VirtualService bound to `mesh` whose hosts match the
//! service (`getConfigsForHost`) contributes, oldest first. A match's `port`, `sourceLabels`,
//! `sourceNamespace` and `gateways` are decided for the caller; what remains are filter chains
//! matched at run time on the destination address (`destinationSubnets`) and the server name
//! (`sniHosts`).
//!
//! - A port whose protocol is TLS or HTTPS takes the `tls` rules; TCP, Mongo, Redis, MySQL and
//!   unnamed (sniffed) ports take the `tcp` rules; an HTTP port takes neither (non-HTTP bytes
//!   take the passthrough chain).
//! - `tcp`: rules in order; a rule without `match`, or a holding match without
//!   `destinationSubnets`, ends the list. Holding matches with subnets before it become chains on
//!   those subnets. No rule: the service's own chain (all of its endpoints).
//! - `tls`: every holding match is a chain on its `sniHosts` (a later match with the same SNI
//!   hosts and subnets adds none); `destinationSubnets` of a holding match also apply to every
//!   later chain (tls.go reassigns `destinationCIDRs`). No holding match: the service's own
//!   chain, on the service's host name as SNI when the service has no address of its own.
//!
//! **Envoy** (`source/common/listener_manager/filter_chain_manager_impl.cc` `findFilterChain` in
//! envoyproxy/envoy): the longest destination prefix first, then within it the server name: the
//! exact name, then wildcards from the longest suffix (`*.x` covers any name under `.x`), then a
//! chain without names. Nothing matches: the listener's default chain (a sidecar's match-all
//! chain, else its passthrough chain; gateways have none and close the connection).
//!
//! **Gateways** (`pilot/pkg/networking/core/gateway.go` `createGatewayTCPFilterChainOpts`,
//! `buildGatewayNetworkFiltersFromTCPRoutes`, `buildGatewayNetworkFiltersFromTLSRoutes`,
//! `builtAutoPassthroughFilterChains`): chains are decided per listener port once, at compile
//! time (only `port` and `gateways` of a match are checked there), and held in [`GatewayPort`].

use std::collections::BTreeMap;
use std::net::IpAddr;

use rustc_hash::FxHashMap as HashMap;

use super::choice::WeightedChoice;
use super::decision::RouteKind;
use super::explain::{Tracer, VsVerdict};
use super::table::{SelectorFailure, SidecarHosts};
use crate::util::host::{DOMAIN_SUFFIX, Wildcards, wildcard_matches};
use crate::util::protocol::Protocol;

/// An IP prefix of `destinationSubnets`, as Envoy's `CidrRange` holds it (address masked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    len: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `2001:db8::/32`, or an address (a /32 or /128); `None` if invalid.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (address, len) = match text.trim().split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text.trim(), None),
        };
        let ip: IpAddr = address.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max)?,
            None => max,
        };
        Some(Self {
            network: mask(ip, len),
            len,
        })
    }

    /// Whether `ip` is in the prefix (same address family only).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.len) == self.network
    }

    /// The prefix length.
    pub(crate) fn len(&self) -> u8 {
        self.len
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.len)
    }
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let keep = u32::MAX
                .checked_shl(32u32.saturating_sub(u32::from(len)))
                .unwrap_or(0);
            IpAddr::V4((bits & keep).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let keep = u128::MAX
                .checked_shl(128u32.saturating_sub(u32::from(len)))
                .unwrap_or(0);
            IpAddr::V6((bits & keep).into())
        }
    }
}

/// What a service port carries, as Istio's `protocol.Instance` classifies it for listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortProtocol {
    /// HTTP, HTTP2, gRPC, gRPC-Web, HTTP_PROXY: an HTTP listener.
    Http,
    /// TLS, HTTPS: `tls` rules (`IsTLS`).
    Tls,
    /// TCP, Mongo, Redis, MySQL: `tcp` rules.
    Tcp,
    /// No protocol Istio knows: sniffed; non-HTTP traffic takes the `tcp` rules.
    Sniffed,
    /// UDP: no TCP listener.
    Udp,
}

impl PortProtocol {
    /// The listener class of Istio's `protocol.Parse` (`pkg/config/protocol/instance.go`,
    /// case-insensitive): `IsHTTP`, `IsTLS`, then `IsTCP`; `Unsupported` is sniffed.
    pub(crate) fn parse(name: &str) -> Self {
        let protocol = Protocol::parse(name);
        if protocol.is_http() {
            Self::Http
        } else if protocol.is_tls() {
            Self::Tls
        } else if protocol.is_tcp() {
            Self::Tcp
        } else if protocol == Protocol::Udp {
            Self::Udp
        } else {
            Self::Sniffed
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Tls => "TLS",
            Self::Tcp => "TCP",
            Self::Sniffed => "unnamed (sniffed)",
            Self::Udp => "UDP",
        }
    }
}

/// Every TCP and TLS rule of the mesh, with the services a sidecar can connect to and each
/// gateway's chains per port.
#[derive(Debug, Default)]
pub(crate) struct StreamTables {
    /// Per root VirtualService, in the order of `Tables::virtual_services` (creation time).
    pub(crate) vses: Vec<StreamVs>,
    pub(crate) services: Vec<StreamService>,
    /// Service host (FQDN, or ServiceEntry host) → index in `services`.
    pub(crate) by_host: HashMap<Box<str>, u32>,
    /// Service address → index in `services`.
    pub(crate) by_address: HashMap<IpAddr, u32>,
    /// Wildcard ServiceEntry hosts (`*.foo.com` under `.foo.com`).
    pub(crate) wildcard_services: Wildcards<u32>,
    /// Gateway (`ns/name`) → its listener ports.
    pub(crate) gateways: HashMap<Box<str>, Vec<GatewayPort>>,
}

/// A VirtualService's `tcp` and `tls` rules.
#[derive(Debug, Default)]
pub(crate) struct StreamVs {
    /// `namespace/name`.
    pub(crate) key: Box<str>,
    pub(crate) tcp: Vec<L4Rule>,
    pub(crate) tls: Vec<L4Rule>,
}

impl StreamVs {
    fn rules(&self, kind: RouteKind) -> &[L4Rule] {
        match kind {
            RouteKind::Tls => &self.tls,
            _ => &self.tcp,
        }
    }
}

/// A `TCPRoute` or `TLSRoute`.
#[derive(Debug)]
pub(crate) struct L4Rule {
    /// Index in `spec.tcp` or `spec.tls`.
    pub(crate) index: usize,
    pub(crate) matches: Vec<L4Match>,
    pub(crate) destinations: Vec<L4Destination>,
    /// Envoy's weighted clusters over the destinations with weight > 0 (none for one destination).
    pub(crate) choice: Option<WeightedChoice>,
}

/// `L4MatchAttributes` or `TLSMatchAttributes`.
#[derive(Debug)]
pub(crate) struct L4Match {
    /// Index in the rule's `match`.
    pub(crate) index: usize,
    pub(crate) port: Option<u16>,
    pub(crate) source_labels: Vec<(Box<str>, Box<str>)>,
    pub(crate) source_namespace: Option<Box<str>>,
    /// Resolved `ns/name` or `mesh`.
    pub(crate) gateways: Vec<Box<str>>,
    /// `destinationSubnets`, parsed; `0.0.0.0` prefixes left out as Istio leaves them out of the
    /// filter chain match (listener.go `toFilterChainMatch`).
    pub(crate) destination_subnets: Vec<Cidr>,
    /// Whether `destinationSubnets` was set at all.
    pub(crate) has_subnets: bool,
    /// `sniHosts`, lowercased as Envoy compares server names (literal: never short-name expanded).
    pub(crate) sni_hosts: Vec<Box<str>>,
    /// tls.go `hashRuntimeTLSMatchPredicates`: `sniHosts` and `destinationSubnets` as written.
    pub(crate) runtime_key: Box<str>,
}

impl L4Match {
    /// The first config-time condition that drops this match for `caller` (tls.go `matchTCP`,
    /// `matchTLS`; at a gateway gateway.go `l4SingleMatch` checks only `port` and `gateways`).
    pub(crate) fn selector_failure(&self, caller: &Caller<'_>) -> Option<SelectorFailure<'_>> {
        if !self.gateways.is_empty() && !self.gateways.iter().any(|g| &**g == caller.gateway) {
            return Some(SelectorFailure::Gateways);
        }
        if let Some(p) = self.port.filter(|p| *p != caller.port) {
            return Some(SelectorFailure::Port(p));
        }
        let labels = caller.labels?;
        if let Some(ns) = self
            .source_namespace
            .as_deref()
            .filter(|ns| *ns != caller.namespace)
        {
            return Some(SelectorFailure::SourceNamespace(ns));
        }
        self.source_labels
            .iter()
            .find(|(k, v)| labels.get(&**k).is_none_or(|have| have != &**v))
            .map(|(k, v)| SelectorFailure::SourceLabel(k, v))
    }
}

/// A destination of a TCP or TLS rule.
#[derive(Debug)]
pub(crate) struct L4Destination {
    /// Resolved host.
    pub(crate) host: Box<str>,
    pub(crate) subset: Option<Box<str>>,
    pub(crate) port: Option<u16>,
    /// The service's only port, when it has exactly one.
    pub(crate) service_port: Option<u16>,
}

/// A service a sidecar can open connections to: one outbound listener per port.
#[derive(Debug)]
pub(crate) struct StreamService {
    pub(crate) fqdn: Box<str>,
    pub(crate) ports: Vec<(u16, PortProtocol)>,
    /// The service's own address (a Kubernetes cluster IP, a ServiceEntry address).
    pub(crate) address: Option<IpAddr>,
    /// Whether Istio binds the listeners to an address of the service (a VIP) rather than to
    /// `0.0.0.0`, where only the SNI tells services apart (tls.go: the default chain then
    /// matches the host name).
    pub(crate) has_vip: bool,
    /// Inside the mesh (what `AUTO_PASSTHROUGH` reaches).
    pub(crate) mesh_internal: bool,
    /// The subsets of its DestinationRule.
    pub(crate) subsets: Vec<Box<str>>,
    /// Mesh VirtualServices whose hosts match the service, oldest first (tls.go
    /// `getConfigsForHost`).
    pub(crate) virtual_services: Vec<u32>,
}

impl StreamService {
    fn protocol(&self, port: u16) -> Option<PortProtocol> {
        self.ports.iter().find(|(p, _)| *p == port).map(|(_, p)| *p)
    }

    /// The port of the service's own chain: its only port, else the listener's (tls.go).
    pub(crate) fn default_port(&self, listener: u16) -> u16 {
        match self.ports.as_slice() {
            [(only, _)] => *only,
            _ => listener,
        }
    }
}

/// One listener port of a gateway: its filter chains, decided at compile time.
#[derive(Debug, Default)]
pub(crate) struct GatewayPort {
    pub(crate) port: u16,
    /// The port's servers are plain HTTP: an HTTP connection manager takes every connection.
    pub(crate) http: bool,
    pub(crate) chains: Vec<GatewayChain>,
    /// Why servers, VirtualServices or rules gave no chain (for explanations).
    pub(crate) notes: Vec<String>,
}

/// A filter chain of a gateway listener.
#[derive(Debug)]
pub(crate) struct GatewayChain {
    /// Index in the Gateway's `spec.servers`.
    pub(crate) server: usize,
    /// Server names (lowercase); empty matches any.
    pub(crate) sni_hosts: Vec<Box<str>>,
    pub(crate) target: ChainTarget,
}

/// What a gateway filter chain does with the connection.
#[derive(Debug)]
pub(crate) enum ChainTarget {
    /// Terminates TLS and serves HTTP.
    Http,
    /// A VirtualService's rule (and the match that holds, if the rule has matches).
    Rule {
        vs: u32,
        kind: RouteKind,
        rule: usize,
        matched: Option<usize>,
    },
    /// `AUTO_PASSTHROUGH`: one chain per cluster of the mesh services under these hosts, the
    /// SNI being the cluster name (matched at run time).
    AutoPassthrough { hosts: Vec<Box<str>> },
}

/// Who opens the connection, as filter chains see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'c> {
    /// `mesh` or the gateway `ns/name`.
    pub(crate) gateway: &'c str,
    pub(crate) namespace: &'c str,
    /// The caller's labels; `None` at a gateway, where `sourceLabels` and `sourceNamespace` do
    /// not apply.
    pub(crate) labels: Option<&'c BTreeMap<String, String>>,
    /// The listener port.
    pub(crate) port: u16,
}

/// A rule that carries the connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleHit<'t> {
    pub(crate) key: &'t str,
    pub(crate) kind: RouteKind,
    pub(crate) rule: &'t L4Rule,
    pub(crate) matched: Option<&'t L4Match>,
}

/// Which chain carries a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StreamEval<'t> {
    Rule(RuleHit<'t>),
    /// No rule applies: the service's own chain.
    Default(&'t StreamService),
    /// The passthrough chain: the original destination.
    Passthrough,
    /// No chain of a gateway listener matches.
    Closed,
    /// An HTTP connection manager serves the connection.
    Http,
    /// `AUTO_PASSTHROUGH`: the cluster the SNI names.
    Cluster {
        host: &'t str,
        subset: Option<&'t str>,
        port: u16,
    },
}

/// How well a chain's server names match an SNI (Envoy's order): `None` no match, then a chain
/// without names, wildcards by suffix length, the exact name.
fn sni_rank(names: &[Box<str>], sni: Option<&str>) -> Option<usize> {
    if names.is_empty() || names.iter().any(|n| &**n == "*") {
        return Some(0);
    }
    let sni = sni.filter(|s| !s.is_empty())?;
    names
        .iter()
        .filter_map(|name| {
            if &**name == sni {
                Some(usize::MAX)
            } else {
                let suffix = name.strip_prefix('*')?;
                (suffix.starts_with('.') && wildcard_matches(suffix, sni)).then_some(suffix.len())
            }
        })
        .max()
}

/// The most specific prefix of `cidrs` holding `ip`: `Some(None)` for a chain without prefixes
/// (Envoy's catch-all `0.0.0.0/0`), `None` when none holds it.
fn ip_group(cidrs: &[Cidr], ip: Option<IpAddr>) -> Option<Option<Cidr>> {
    if cidrs.is_empty() {
        return Some(None);
    }
    let ip = ip?;
    cidrs
        .iter()
        .filter(|c| c.contains(ip))
        .max_by_key(|c| c.len())
        .map(|c| Some(*c))
}

fn group_len(group: Option<Cidr>) -> u8 {
    group.map_or(0, |c| c.len())
}

/// The remark on a `tcp` match (or rule) that ends the list.
const ENDS: &str = "ends the list: a filter chain for any destination";

fn index(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

/// A `tls` match as the sidecar listener sees it.
enum TlsEntry<'t> {
    /// The VirtualService is not visible to the caller.
    Hidden(&'t StreamVs),
    /// A config-time selector drops the match for the caller.
    Dropped(&'t StreamVs, &'t L4Rule, &'t L4Match, SelectorFailure<'t>),
    /// A holding match: its chain, and whether an earlier match already made the same one.
    Chain(TlsChain<'t>, bool),
}

/// A sidecar TLS chain: the match, the prefixes it is matched on (its own or inherited).
#[derive(Clone, Copy)]
struct TlsChain<'t> {
    hit: RuleHit<'t>,
    cidrs: &'t [Cidr],
    sni: &'t [Box<str>],
}

impl StreamTables {
    /// The service a sidecar in `namespace` reaches at `host` (lowercase) or at its address:
    /// the host as `SidecarHosts::lookup` resolves it, a Kubernetes alternative name, or the most
    /// specific wildcard ServiceEntry host.
    pub(crate) fn service_for(
        &self,
        host: &str,
        namespace: &str,
        sidecar: &SidecarHosts,
    ) -> Option<&StreamService> {
        let found = if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            self.by_address.get(&ip)
        } else {
            let entry = sidecar.lookup(host, namespace).map(|e| &*e.fqdn);
            entry
                .and_then(|fqdn| self.by_host.get(fqdn))
                .or_else(|| self.by_host.get(host))
                .or_else(|| self.kubernetes_alias(host))
                .or_else(|| self.wildcard_services.matching(host).next())
        };
        found.and_then(|&i| self.services.get(index(i)))
    }

    /// `name.ns` and `name.ns.svc` reach `name.ns.svc.cluster.local` (without allocating).
    fn kubernetes_alias(&self, host: &str) -> Option<&u32> {
        let base = host.strip_suffix(".svc").unwrap_or(host);
        let (name, ns) = base.split_once('.')?;
        if ns.contains('.') {
            return None;
        }
        self.by_host.iter().find_map(|(fqdn, i)| {
            let rest = fqdn.strip_prefix(name)?.strip_prefix('.')?;
            let rest = rest.strip_prefix(ns)?.strip_prefix(".svc.")?;
            (rest == DOMAIN_SUFFIX).then_some(i)
        })
    }

    /// The chain a sidecar's listener for `service` on `caller.port` gives a connection to
    /// `ip` with server name `sni`.
    pub(crate) fn sidecar<'t>(
        &'t self,
        service: &'t StreamService,
        caller: &Caller<'_>,
        sni: Option<&str>,
        ip: Option<IpAddr>,
        visible: &impl Fn(u32) -> bool,
        tracer: &mut impl Tracer,
    ) -> StreamEval<'t> {
        let Some(protocol) = service.protocol(caller.port) else {
            tracer.note(&|| {
                format!(
                    "{} has no port {}: no listener, the connection passes through",
                    service.fqdn, caller.port
                )
            });
            return StreamEval::Passthrough;
        };
        tracer.note(&|| {
            let rules = match protocol {
                PortProtocol::Tls => "tls rules apply",
                PortProtocol::Tcp | PortProtocol::Sniffed => "tcp rules apply",
                PortProtocol::Http => "an HTTP listener: non-HTTP bytes take its passthrough chain",
                PortProtocol::Udp => "no TCP listener",
            };
            format!(
                "port {} of {} is {}: {rules}",
                caller.port,
                service.fqdn,
                protocol.describe()
            )
        });
        match protocol {
            PortProtocol::Tls => self.sidecar_tls(service, caller, sni, ip, visible, tracer),
            PortProtocol::Tcp | PortProtocol::Sniffed => {
                self.sidecar_tcp(service, caller, ip, visible, tracer)
            }
            PortProtocol::Http | PortProtocol::Udp => StreamEval::Passthrough,
        }
    }

    /// tls.go `buildSidecarOutboundTCPFilterChainOpts`, then Envoy's longest prefix.
    fn sidecar_tcp<'t>(
        &'t self,
        service: &'t StreamService,
        caller: &Caller<'_>,
        ip: Option<IpAddr>,
        visible: &impl Fn(u32) -> bool,
        tracer: &mut impl Tracer,
    ) -> StreamEval<'t> {
        let kind = RouteKind::Tcp;
        // The destination-subnet chain with the longest prefix holding the address.
        let mut best: Option<(u8, RuleHit<'t>)> = None;
        let mut terminal: Option<RuleHit<'t>> = None;
        'vses: for &vs in &service.virtual_services {
            let Some(svs) = self.vses.get(index(vs)) else {
                continue;
            };
            if svs.tcp.is_empty() {
                continue;
            }
            if !visible(vs) {
                tracer.virtual_service(&svs.key, VsVerdict::NotExported);
                continue;
            }
            for rule in &svs.tcp {
                if rule.destinations.is_empty() {
                    continue;
                }
                let hit = |matched| RuleHit {
                    key: &svs.key,
                    kind,
                    rule,
                    matched,
                };
                if rule.matches.is_empty() {
                    tracer
                        .stream_entry(&svs.key, kind, rule.index, None, &|| Some(ENDS.to_owned()));
                    terminal = Some(hit(None));
                    break 'vses;
                }
                for m in &rule.matches {
                    if let Some(failure) = m.selector_failure(caller) {
                        tracer.stream_entry(&svs.key, kind, rule.index, Some(m.index), &|| {
                            Some(dropped(failure, caller))
                        });
                        continue;
                    }
                    if !m.has_subnets {
                        tracer.stream_entry(&svs.key, kind, rule.index, Some(m.index), &|| {
                            Some(ENDS.to_owned())
                        });
                        terminal = Some(hit(Some(m)));
                        break 'vses;
                    }
                    let group = ip_group(&m.destination_subnets, ip);
                    tracer.stream_entry(&svs.key, kind, rule.index, Some(m.index), &|| {
                        Some(subnet_reason(&m.destination_subnets, group, ip))
                    });
                    if let Some(group) = group {
                        let len = group_len(group);
                        if best.as_ref().is_none_or(|(l, _)| len > *l) {
                            best = Some((len, hit(Some(m))));
                        }
                    }
                }
            }
        }
        let chosen = best.map(|(_, hit)| hit).or(terminal);
        match chosen {
            Some(hit) => {
                tracer.stream_chosen(hit.key, kind, hit.rule.index, hit.matched.map(|m| m.index));
                StreamEval::Rule(hit)
            }
            None => {
                tracer.note(&|| {
                    "no tcp rule applies: the service's own filter chain carries the connection"
                        .to_owned()
                });
                StreamEval::Default(service)
            }
        }
    }

    /// The holding `tls` matches for `caller`, in order: `(vs, rule, match)`.
    fn passing_tls<'s, 't: 's, F: Fn(u32) -> bool>(
        &'t self,
        service: &'t StreamService,
        caller: &'s Caller<'s>,
        visible: &'s F,
    ) -> impl Iterator<Item = (&'t StreamVs, &'t L4Rule, &'t L4Match)> + 's {
        service
            .virtual_services
            .iter()
            .filter(move |&&vs| visible(vs))
            .filter_map(|&vs| self.vses.get(index(vs)))
            .flat_map(move |svs| {
                svs.tls
                    .iter()
                    .filter(|rule| !rule.destinations.is_empty())
                    .flat_map(move |rule| {
                        rule.matches
                            .iter()
                            .filter(|m| m.selector_failure(caller).is_none())
                            .map(move |m| (svs, rule, m))
                    })
            })
    }

    /// Calls `visit` with each `tls` match of the listener's VirtualServices, in order (tls.go
    /// `buildSidecarOutboundTLSFilterChainOpts`): dropped for the caller, or a chain — a
    /// duplicate when an earlier holding match had the same SNI hosts and subnets (it adds no
    /// chain); subnets of a holding match carry over to the later chains.
    fn tls_entries<'s, 't: 's, F: Fn(u32) -> bool>(
        &'t self,
        service: &'t StreamService,
        caller: &'s Caller<'s>,
        visible: &'s F,
        mut visit: impl FnMut(TlsEntry<'t>),
    ) {
        let mut cidrs: &'t [Cidr] = &[];
        let mut holding = 0;
        for &vs in &service.virtual_services {
            let Some(svs) = self.vses.get(index(vs)) else {
                continue;
            };
            if svs.tls.is_empty() {
                continue;
            }
            if !visible(vs) {
                visit(TlsEntry::Hidden(svs));
                continue;
            }
            for rule in svs.tls.iter().filter(|r| !r.destinations.is_empty()) {
                for m in &rule.matches {
                    if let Some(failure) = m.selector_failure(caller) {
                        visit(TlsEntry::Dropped(svs, rule, m, failure));
                        continue;
                    }
                    if m.has_subnets {
                        cidrs = &m.destination_subnets;
                    }
                    let duplicate = self
                        .passing_tls(service, caller, visible)
                        .take(holding)
                        .any(|(_, _, earlier)| earlier.runtime_key == m.runtime_key);
                    holding += 1;
                    let chain = TlsChain {
                        hit: RuleHit {
                            key: &svs.key,
                            kind: RouteKind::Tls,
                            rule,
                            matched: Some(m),
                        },
                        cidrs,
                        sni: &m.sni_hosts,
                    };
                    visit(TlsEntry::Chain(chain, duplicate));
                }
            }
        }
    }

    /// tls.go `buildSidecarOutboundTLSFilterChainOpts`, then Envoy's filter chain match.
    fn sidecar_tls<'t>(
        &'t self,
        service: &'t StreamService,
        caller: &Caller<'_>,
        sni: Option<&str>,
        ip: Option<IpAddr>,
        visible: &impl Fn(u32) -> bool,
        tracer: &mut impl Tracer,
    ) -> StreamEval<'t> {
        let kind = RouteKind::Tls;
        // A chain without SNI restriction or prefix matches everything: the listener's default
        // chain (listener.go `buildListenerFromEntry`; the last one wins), not matched by name.
        let match_all =
            |chain: &TlsChain<'_>| chain.cidrs.is_empty() && sni_rank(chain.sni, None) == Some(0);
        // Pass 1: the most specific destination prefix a chain holds.
        let mut any = false;
        let mut group: Option<Option<Cidr>> = None;
        let mut default: Option<RuleHit<'t>> = None;
        self.tls_entries(service, caller, visible, |entry| {
            let TlsEntry::Chain(chain, duplicate) = entry else {
                return;
            };
            any = true;
            if duplicate {
                return;
            }
            if match_all(&chain) {
                default = Some(chain.hit);
                return;
            }
            if let Some(g) = ip_group(chain.cidrs, ip) {
                if group.is_none_or(|best| group_len(g) > group_len(best)) {
                    group = Some(g);
                }
            }
        });
        // Pass 2: within that prefix, the server name (exact, longest wildcard, none); traced.
        let mut best: Option<(usize, RuleHit<'t>)> = None;
        self.tls_entries(service, caller, visible, |entry| {
            let chain = match entry {
                TlsEntry::Hidden(svs) => {
                    tracer.virtual_service(&svs.key, VsVerdict::NotExported);
                    return;
                }
                TlsEntry::Dropped(svs, rule, m, failure) => {
                    tracer.stream_entry(&svs.key, kind, rule.index, Some(m.index), &|| {
                        Some(dropped(failure, caller))
                    });
                    return;
                }
                TlsEntry::Chain(chain, true) => {
                    tracer.stream_entry(
                        chain.hit.key,
                        kind,
                        chain.hit.rule.index,
                        chain.hit.matched.map(|m| m.index),
                        &|| Some("same sniHosts and destinationSubnets as an earlier match: no filter chain of its own".to_owned()),
                    );
                    return;
                }
                TlsEntry::Chain(chain, false) => chain,
            };
            let (key, rule) = (chain.hit.key, chain.hit.rule.index);
            let matched = chain.hit.matched.map(|m| m.index);
            if match_all(&chain) {
                tracer.stream_entry(key, kind, rule, matched, &|| {
                    Some("a chain for any SNI and destination: the listener's default chain".to_owned())
                });
                return;
            }
            let in_group = group.is_some_and(|g| match g {
                None => chain.cidrs.is_empty(),
                Some(c) => chain.cidrs.contains(&c),
            });
            if !in_group {
                tracer.stream_entry(key, kind, rule, matched, &|| {
                    Some(format!(
                        "destinationSubnets {}: a more specific prefix holds the destination, or none does",
                        list(chain.cidrs)
                    ))
                });
                return;
            }
            let rank = sni_rank(chain.sni, sni);
            tracer.stream_entry(key, kind, rule, matched, &|| {
                Some(sni_reason(chain.sni, sni, rank))
            });
            if let Some(rank) = rank {
                if best.is_none_or(|(r, _)| rank > r) {
                    best = Some((rank, chain.hit));
                }
            }
        });
        if !any {
            // tls.go: no holding match: the service's own chain, on its host name when it has no
            // address of its own.
            if service.has_vip || sni_rank(std::slice::from_ref(&service.fqdn), sni).is_some() {
                tracer.note(&|| {
                    "no tls rule applies: the service's own filter chain carries the connection"
                        .to_owned()
                });
                return StreamEval::Default(service);
            }
            tracer.note(&|| {
                format!(
                    "no tls rule applies and {} has no address of its own: its chain matches SNI {} only; the connection passes through",
                    service.fqdn, service.fqdn
                )
            });
            return StreamEval::Passthrough;
        }
        match best.map(|(_, hit)| hit).or(default) {
            Some(hit) => {
                tracer.stream_chosen(hit.key, kind, hit.rule.index, hit.matched.map(|m| m.index));
                StreamEval::Rule(hit)
            }
            None => {
                tracer.note(&|| {
                    "no filter chain matches the SNI: the listener's passthrough chain carries the connection"
                        .to_owned()
                });
                StreamEval::Passthrough
            }
        }
    }

    /// The chain gateway `gateway` gives a connection on `port` with server name `sni`.
    pub(crate) fn gateway<'t>(
        &'t self,
        gateway: &str,
        port: u16,
        sni: Option<&str>,
        tracer: &mut impl Tracer,
    ) -> StreamEval<'t> {
        let Some(listener) = self
            .gateways
            .get(gateway)
            .and_then(|ports| ports.iter().find(|p| p.port == port))
        else {
            tracer.note(&|| {
                format!("gateway {gateway} has no server on port {port}: the connection is refused")
            });
            return StreamEval::Closed;
        };
        for note in &listener.notes {
            tracer.note(&|| note.clone());
        }
        if listener.http {
            tracer.note(&|| {
                format!("port {port} of gateway {gateway} serves plain HTTP: an HTTP connection manager takes the connection")
            });
            return StreamEval::Http;
        }
        let mut best: Option<(usize, &GatewayChain, Option<StreamEval<'t>>)> = None;
        for chain in &listener.chains {
            let (rank, cluster) = match &chain.target {
                ChainTarget::AutoPassthrough { hosts } => {
                    let cluster = self.auto_passthrough(hosts, sni);
                    (cluster.map(|_| usize::MAX), cluster)
                }
                _ => (sni_rank(&chain.sni_hosts, sni), None),
            };
            if let ChainTarget::Rule {
                vs,
                kind,
                rule,
                matched,
            } = chain.target
            {
                if let Some(svs) = self.vses.get(index(vs)) {
                    tracer.stream_entry(&svs.key, kind, rule, matched, &|| {
                        Some(sni_reason(&chain.sni_hosts, sni, rank))
                    });
                }
            }
            if let Some(rank) = rank {
                if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
                    best = Some((rank, chain, cluster));
                }
            }
        }
        let Some((_, chain, cluster)) = best else {
            tracer.note(&|| {
                format!(
                    "no filter chain of gateway {gateway} port {port} matches SNI {}: Envoy closes the connection",
                    sni.unwrap_or("(none)")
                )
            });
            return StreamEval::Closed;
        };
        match (&chain.target, cluster) {
            (ChainTarget::Http, _) => {
                tracer.note(&|| {
                    format!(
                        "server #{} terminates TLS and serves HTTP: an HTTP connection manager takes the connection",
                        chain.server
                    )
                });
                StreamEval::Http
            }
            (
                ChainTarget::Rule {
                    vs,
                    kind,
                    rule,
                    matched,
                },
                _,
            ) => {
                let hit = self.vses.get(index(*vs)).and_then(|svs| {
                    let rule = svs.rules(*kind).get(*rule)?;
                    let matched = match matched {
                        Some(m) => Some(rule.matches.get(*m)?),
                        None => None,
                    };
                    Some(RuleHit {
                        key: &svs.key,
                        kind: *kind,
                        rule,
                        matched,
                    })
                });
                match hit {
                    Some(hit) => {
                        tracer.stream_chosen(
                            hit.key,
                            hit.kind,
                            hit.rule.index,
                            hit.matched.map(|m| m.index),
                        );
                        StreamEval::Rule(hit)
                    }
                    None => StreamEval::Closed,
                }
            }
            (ChainTarget::AutoPassthrough { .. }, Some(cluster)) => {
                tracer.note(&|| {
                    format!(
                        "server #{} is AUTO_PASSTHROUGH: the SNI names the cluster",
                        chain.server
                    )
                });
                cluster
            }
            (ChainTarget::AutoPassthrough { .. }, None) => StreamEval::Closed,
        }
    }

    /// gateway.go `builtAutoPassthroughFilterChains`: an SNI `outbound_.PORT_.SUBSET_.HOST`
    /// naming a port of a mesh service under one of `hosts`, and a subset of its
    /// DestinationRule (or none).
    fn auto_passthrough<'t>(
        &'t self,
        hosts: &[Box<str>],
        sni: Option<&str>,
    ) -> Option<StreamEval<'t>> {
        let rest = sni?.strip_prefix("outbound_.")?;
        let (port, rest) = rest.split_once("_.")?;
        let (subset, host) = rest.split_once("_.")?;
        let port: u16 = port.parse().ok()?;
        let service = self
            .by_host
            .get(host)
            .and_then(|&i| self.services.get(index(i)))?;
        let covered = hosts.iter().any(|h| match h.strip_prefix('*') {
            Some(suffix) => wildcard_matches(suffix, &service.fqdn),
            None => **h == *service.fqdn,
        });
        let port_ok = service
            .ports
            .iter()
            .any(|(p, protocol)| *p == port && *protocol != PortProtocol::Udp);
        if !service.mesh_internal || !covered || !port_ok {
            return None;
        }
        let subset = if subset.is_empty() {
            None
        } else {
            Some(&**service.subsets.iter().find(|s| &***s == subset)?)
        };
        Some(StreamEval::Cluster {
            host: &service.fqdn,
            subset,
            port,
        })
    }
}

fn list(cidrs: &[Cidr]) -> String {
    let items: Vec<String> = cidrs.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

fn dropped(failure: SelectorFailure<'_>, caller: &Caller<'_>) -> String {
    let why = match failure {
        SelectorFailure::Port(p) => format!(
            "port: match is for port {p}, the connection is on port {}",
            caller.port
        ),
        SelectorFailure::SourceNamespace(ns) => {
            format!(
                "sourceNamespace: {ns:?} ≠ caller namespace {:?}",
                caller.namespace
            )
        }
        SelectorFailure::SourceLabel(k, v) => format!("sourceLabels: caller has no label {k}={v}"),
        SelectorFailure::Gateways => format!("gateways: the match is not for {}", caller.gateway),
    };
    format!("dropped for this caller: {why}")
}

fn subnet_reason(cidrs: &[Cidr], group: Option<Option<Cidr>>, ip: Option<IpAddr>) -> String {
    match (group, ip) {
        (Some(Some(c)), Some(ip)) => format!(
            "destinationSubnets {}: {c} holds the destination {ip} (a filter chain; Envoy takes the longest prefix)",
            list(cidrs)
        ),
        (Some(_), _) => format!(
            "destinationSubnets {}: a filter chain for every destination",
            list(cidrs)
        ),
        (None, Some(ip)) => format!(
            "destinationSubnets {}: the destination {ip} is in none",
            list(cidrs)
        ),
        (None, None) => format!(
            "destinationSubnets {}: the destination address is unknown (give it with Connection::with_destination_ip)",
            list(cidrs)
        ),
    }
}

fn sni_reason(names: &[Box<str>], sni: Option<&str>, rank: Option<usize>) -> String {
    let names: Vec<&str> = names.iter().map(|n| &**n).collect();
    let sni = sni.unwrap_or("(none)");
    match rank {
        None if names.is_empty() => "no chain for this connection".to_owned(),
        None => format!("sniHosts {names:?} do not cover SNI {sni}"),
        Some(usize::MAX) => format!("sniHosts {names:?}: exact SNI {sni}"),
        Some(0) => "a chain for any SNI (the least specific)".to_owned(),
        Some(_) => format!(
            "sniHosts {names:?}: a wildcard covers SNI {sni} (Envoy: exact names first, then the longest wildcard)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Envoy `CidrRange`: the address is masked; containment by family and prefix.
    #[test]
    fn cidrs_parse_mask_and_contain() {
        let c = Cidr::parse("10.1.2.3/8").unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains("10.200.0.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        assert_eq!(Cidr::parse("10.0.0.1").unwrap().len(), 32);
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().len(), 0);
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
        assert!(
            Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains("2001:db8::5".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nope/8").is_none());
    }

    /// filter_chain_manager_impl.cc `findFilterChainForServerName`: exact, then wildcards by the
    /// longest suffix (`*.x` never covers `x`), then a chain without names.
    #[test]
    fn server_names_rank_as_envoy_orders_them() {
        let names = |list: &[&str]| {
            list.iter()
                .map(|s| Box::from(*s))
                .collect::<Vec<Box<str>>>()
        };
        let exact = sni_rank(&names(&["a.example.com"]), Some("a.example.com"));
        let wide = sni_rank(&names(&["*.com"]), Some("a.example.com"));
        let narrow = sni_rank(&names(&["*.example.com"]), Some("a.example.com"));
        let any = sni_rank(&[], Some("a.example.com"));
        assert!(exact > narrow && narrow > wide && wide > any);
        assert_eq!(any, Some(0));
        assert_eq!(
            sni_rank(&names(&["*.example.com"]), Some("example.com")),
            None
        );
        assert_eq!(sni_rank(&names(&["a.example.com"]), None), None);
        assert_eq!(sni_rank(&names(&["*"]), None), Some(0));
    }

    /// protocol.go `Parse`: case-insensitive; unknown names are sniffed.
    #[test]
    fn protocols_classify_as_istio_parses_them() {
        assert_eq!(PortProtocol::parse("HTTPS"), PortProtocol::Tls);
        assert_eq!(PortProtocol::parse("tls"), PortProtocol::Tls);
        assert_eq!(PortProtocol::parse("Mongo"), PortProtocol::Tcp);
        assert_eq!(PortProtocol::parse("grpc-web"), PortProtocol::Http);
        assert_eq!(PortProtocol::parse("postgres"), PortProtocol::Sniffed);
        assert_eq!(PortProtocol::parse("UDP"), PortProtocol::Udp);
    }
}
