//! The compiled route tables a `Mesh` holds. Built by `compile`, read by `Mesh::route`; nothing
//! here is public.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use super::choice::WeightedChoice;
use super::cluster::Clusters;
use super::matcher::MatchRequest;
use super::policy::{DirectResponse, HeaderOps, Redirect, RoutePolicy};
use crate::util::host::Wildcards;

/// Everything a `Mesh` answers from, built by `compile` from the effective resources.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub(crate) virtual_services: Vec<CompiledVs>,
    pub(crate) sidecar: SidecarHosts,
    pub(crate) gateways: HashMap<Box<str>, GatewayTables>,
    pub(crate) clusters: Clusters,
    /// Header names (lowercase) that some VirtualService match refers to, sorted.
    pub(crate) referenced_headers: Vec<String>,
    /// Query parameter names that some VirtualService match refers to, sorted.
    pub(crate) referenced_query_params: Vec<String>,
}

/// One gateway's route tables. Istio builds a gateway's routes per listener port and for the
/// gateway workload itself, so each match's `port`, `sourceLabels` and `sourceNamespace` are
/// decided *before* catch-all truncation and the catch-all sort (istio/istio
/// `pilot/pkg/networking/core/route/route.go` `BuildHTTPRoutesForVirtualService`,
/// `SortVHostRoutes`): one table per port some match names, and one for every other port.
#[derive(Debug, Default)]
pub(crate) struct GatewayTables {
    pub(crate) by_port: Vec<(u16, GatewayTable)>,
    pub(crate) other_ports: GatewayTable,
}

impl GatewayTables {
    /// The table for requests arriving on `port`.
    pub(crate) fn for_port(&self, port: u16) -> &GatewayTable {
        self.by_port
            .iter()
            .find(|(p, _)| *p == port)
            .map_or(&self.other_ports, |(_, table)| table)
    }
}

/// A VirtualService, compiled.
#[derive(Debug)]
pub(crate) struct CompiledVs {
    /// `namespace/name`.
    pub(crate) key: Box<str>,
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
    /// The match is for this port; the request is on another (or, for a gateway's table of
    /// every other port, on none the match names).
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
        policy: Box<RoutePolicy>,
        response_headers: HeaderOps,
    },
    Redirect {
        redirect: Redirect,
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
    pub(crate) host: Box<str>,
    pub(crate) subset: Option<Box<str>>,
    pub(crate) port: Option<u16>,
    /// The service's only port, when it has exactly one.
    pub(crate) service_port: Option<u16>,
    pub(crate) subset_defined: bool,
    pub(crate) request_headers: HeaderOps,
    pub(crate) response_headers: HeaderOps,
    pub(crate) authority: Option<Box<str>>,
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

/// A host a sidecar can call: its canonical name and the VirtualServices that claim it.
#[derive(Debug, Default)]
pub(crate) struct HostEntry {
    pub(crate) fqdn: Box<str>,
    /// Candidate VirtualServices, oldest first (Istio: creation time, then name, then namespace).
    pub(crate) virtual_services: Vec<u32>,
    /// The service's only port, when known and single.
    pub(crate) service_port: Option<u16>,
}

/// Sidecar virtual hosts (the `mesh` gateway).
#[derive(Debug, Default)]
pub(crate) struct SidecarHosts {
    pub(crate) hosts: Vec<HostEntry>,
    /// Names reachable from any namespace: FQDN, `name.ns.svc`, `name.ns`, literal hosts.
    pub(crate) domains: HashMap<Box<str>, u32>,
    /// Short names, reachable from the service's own namespace only: namespace → name → host.
    pub(crate) short: HashMap<Box<str>, HashMap<Box<str>, u32>>,
    /// Wildcard VirtualService hosts (`*.foo.com` under the suffix `.foo.com`).
    pub(crate) wildcards: Wildcards<u32>,
    /// Per-VirtualService route entries for sidecars, after catch-all truncation.
    pub(crate) tables: Vec<Vec<Entry>>,
}

impl SidecarHosts {
    /// The host a sidecar in `namespace` reaches by the lowercase name `host`: the one host
    /// resolution of meshroute (the virtual host domains of istio/istio
    /// `pilot/pkg/networking/core/httproute.go`). A name with a dot is looked up as written (FQDN,
    /// `name.ns.svc`, `name.ns`, a ServiceEntry host); a short name reaches the service of that
    /// name in the caller's namespace.
    pub(crate) fn lookup(&self, host: &str, namespace: &str) -> Option<&HostEntry> {
        let index = if host.contains('.') {
            self.domains.get(host)
        } else {
            self.short
                .get(namespace)
                .and_then(|names| names.get(host))
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
        self.short.iter().filter_map(move |(namespace, names)| {
            let index = usize::try_from(*names.get(host)?).ok()?;
            Some((&**namespace, self.hosts.get(index)?))
        })
    }
}

/// One gateway's virtual hosts: routes of every VirtualService bound to it, merged per host.
#[derive(Debug, Default)]
pub(crate) struct GatewayTable {
    pub(crate) exact: HashMap<Box<str>, Vec<Entry>>,
    /// Wildcard hosts (`*` under the empty suffix, so it comes last).
    pub(crate) wildcards: Wildcards<Vec<Entry>>,
    /// The gateway workload's labels (its `selector`), used as the caller's labels.
    pub(crate) labels: Vec<(Box<str>, Box<str>)>,
}

impl GatewayTable {
    /// The route tables for `host` in Envoy's domain order: the exact name, then wildcards from
    /// the most specific, then `*`.
    pub(crate) fn candidates<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a [Entry]> {
        self.exact
            .get(host)
            .into_iter()
            .chain(self.wildcards.matching(host))
            .map(Vec::as_slice)
    }
}
