//! The compiled route tables a [`Mesh`](crate::Mesh) holds. Built by `compile`, read by
//! `Mesh::route`; nothing here is public.

use rustc_hash::FxHashMap as HashMap;

use crate::decision::{DirectResponse, HeaderOps, Redirect, RoutePolicy};
use crate::matching::MatchRequest;
use crate::select::WeightedChoice;

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

impl CompiledMatch {
    pub(crate) fn has_runtime_selectors(&self) -> bool {
        self.port.is_some() || !self.source_labels.is_empty() || self.source_namespace.is_some()
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
    /// Wildcard VirtualService hosts (`*.foo.com` stored as `.foo.com`), longest first.
    pub(crate) wildcards: Vec<(Box<str>, u32)>,
    /// Per-VirtualService route entries for sidecars, after catch-all truncation.
    pub(crate) tables: Vec<Vec<Entry>>,
}

/// One gateway's virtual hosts: routes of every VirtualService bound to it, merged per host.
#[derive(Debug, Default)]
pub(crate) struct GatewayTable {
    pub(crate) exact: HashMap<Box<str>, Vec<Entry>>,
    /// `(suffix, entries)`, longest suffix first.
    pub(crate) wildcards: Vec<(Box<str>, Vec<Entry>)>,
    pub(crate) star: Option<Vec<Entry>>,
    /// The gateway workload's labels (its `selector`), used as the caller's labels.
    pub(crate) labels: Vec<(Box<str>, Box<str>)>,
}
