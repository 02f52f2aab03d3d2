//! Lowering: validated resources → the route tables a [`Mesh`](crate::Mesh) answers from.
//!
//! This is where Istio's translation (pilot `route.go`, `httproute.go`, `gateway.go`) is
//! reproduced once, so that `Mesh::route` only walks prepared tables.

use std::collections::{BTreeMap, HashMap};

use http::{HeaderName, HeaderValue, StatusCode};

use crate::compile::analysis::gateway_ref;
use crate::config::{
    Body, DestinationRule, HeaderOperations, HttpMatchRequest, HttpRoute, Resource, StringMatch,
    VirtualService,
};
use crate::decision::{
    Abort, DirectResponse, FaultPolicy, HeaderOp, HeaderOps, Mirror, Redirect, RetryPolicy,
    Rewrite, RoutePolicy, bytes_like,
};
use crate::host;
use crate::matching::{
    MatchHeader, MatchPseudo, MatchQuery, MatchRegex, MatchRequest, MatchString, Pseudo,
};
use crate::select::WeightedChoice;
use crate::table::{
    Action, CompiledDestination, CompiledMatch, CompiledRoute, CompiledVs, Entry, GatewayTable,
    HostEntry, NO_MATCH, SidecarHosts,
};

/// Everything `Mesh` needs, built from the effective resources.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub(crate) virtual_services: Vec<CompiledVs>,
    pub(crate) sidecar: SidecarHosts,
    pub(crate) gateways: rustc_hash::FxHashMap<Box<str>, GatewayTables>,
    pub(crate) clusters: crate::balance::build::Clusters,
}

/// One gateway's route tables. Istio builds a gateway's routes per listener port and for the
/// gateway workload itself, so each match's `port`, `sourceLabels` and `sourceNamespace` are
/// decided *before* catch-all truncation and the catch-all sort (route.go
/// `BuildHTTPRoutesForVirtualService`, `SortVHostRoutes`): one table per port some match names,
/// and one for every other port.
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

/// What a gateway is as a caller: its workload labels (the Gateway's `selector`), its namespace
/// and the listener port the routes are built for.
struct GatewayCaller<'a> {
    labels: &'a [(Box<str>, Box<str>)],
    namespace: &'a str,
    port: Option<u16>,
}

/// What the registry knows about a host: its ports and its DestinationRules.
#[derive(Debug, Default)]
struct Registry<'r> {
    ports: HashMap<String, Vec<u16>>,
    /// `(resolved DR host, namespace, rule)`; DR hosts may be wildcards.
    rules: Vec<(String, &'r str, &'r DestinationRule)>,
}

impl Registry<'_> {
    fn service_port(&self, fqdn: &str) -> Option<u16> {
        match self.ports.get(fqdn).map(Vec::as_slice) {
            Some([only]) => Some(*only),
            _ => None,
        }
    }

    /// Whether the DestinationRule that applies to `fqdn` defines `subset`.
    fn subset_defined(&self, fqdn: &str, subset: &str) -> bool {
        crate::balance::build::rule_for(&self.rules, fqdn)
            .is_some_and(|rule| rule.subsets.iter().any(|s| s.name == subset))
    }

    /// Whether the DestinationRule that applies to `fqdn` hashes consistently.
    fn consistent_hash(&self, fqdn: &str) -> bool {
        crate::balance::build::rule_for(&self.rules, fqdn).is_some_and(|r| uses_consistent_hash(&r))
    }
}

pub(crate) fn lower(resources: &[&Resource]) -> Tables {
    let registry = registry(resources);
    let vs_resources: Vec<(&Resource, &VirtualService)> = resources
        .iter()
        .filter_map(|&r| match &r.body {
            Body::VirtualService(vs) => Some((r, vs.as_ref())),
            _ => None,
        })
        .collect();

    let mut tables = Tables::default();
    // Root VirtualServices only: delegates are merged into the routes that name them.
    let mut roots: Vec<(&Resource, &VirtualService)> = vs_resources
        .iter()
        .copied()
        .filter(|(_, vs)| !vs.hosts.is_empty())
        .collect();
    // Istio orders by creation time, then name, then namespace (config.go).
    roots.sort_by(|(a, _), (b, _)| {
        (&a.metadata.creation_timestamp, a.name(), a.namespace()).cmp(&(
            &b.metadata.creation_timestamp,
            b.name(),
            b.namespace(),
        ))
    });

    // gateway → (resolved host, VirtualService index), oldest VirtualService first.
    let mut shadows: Vec<(u32, u32)> = Vec::new();
    let mut gateway_routes: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
    for (resource, vs) in &roots {
        let namespace = resource.namespace();
        let http = expand_delegates(resource, vs, &vs_resources);
        let compiled = compile_vs(resource, vs, &http, &registry);
        let vs_index = u32::try_from(tables.virtual_services.len()).unwrap_or(u32::MAX);
        let gateways: Vec<String> = if vs.gateways.is_empty() {
            vec!["mesh".to_owned()]
        } else {
            vs.gateways
                .iter()
                .map(|g| {
                    if g == "mesh" {
                        g.clone()
                    } else {
                        let (ns, n) = gateway_ref(g, namespace);
                        format!("{ns}/{n}")
                    }
                })
                .collect()
        };
        if gateways.iter().any(|g| g == "mesh") {
            let entries = entries_for(vs_index, &compiled, "mesh", None);
            tables.sidecar.tables.push(entries);
            for h in &vs.hosts {
                let resolved = host::resolve(h, namespace);
                if let Some(suffix) = resolved.strip_prefix('*') {
                    let idx = host_entry(&mut tables.sidecar, &resolved, &registry);
                    tables.sidecar.wildcards.push((suffix.into(), idx));
                    push_candidate(&mut tables.sidecar, idx, vs_index);
                } else {
                    let idx =
                        vs_host_entry(&mut tables.sidecar, &resolved, &registry, &mut shadows);
                    push_candidate(&mut tables.sidecar, idx, vs_index);
                }
            }
        } else {
            tables.sidecar.tables.push(Vec::new());
        }
        for gateway in gateways.iter().filter(|g| *g != "mesh") {
            for h in &vs.hosts {
                gateway_routes
                    .entry(gateway.clone())
                    .or_default()
                    .push((host::resolve(h, namespace), vs_index));
            }
        }
        tables.virtual_services.push(compiled);
    }
    for (own, parent) in shadows {
        let inherited: Vec<u32> = tables
            .sidecar
            .hosts
            .get(index(parent))
            .map(|e| e.virtual_services.clone())
            .unwrap_or_default();
        if let Some(entry) = tables.sidecar.hosts.get_mut(index(own)) {
            entry.virtual_services.extend(inherited);
            entry.virtual_services.sort_unstable();
            entry.virtual_services.dedup();
        }
    }
    // Registry services without a VirtualService are still hosts sidecars can call.
    let mut known: Vec<&String> = registry.ports.keys().collect();
    known.sort();
    for fqdn in known {
        host_entry(&mut tables.sidecar, fqdn, &registry);
    }
    tables
        .sidecar
        .wildcards
        .sort_by_key(|w| std::cmp::Reverse(w.0.len()));

    for (gateway, per_host) in gateway_routes {
        let (namespace, name) = gateway.split_once('/').unwrap_or(("default", &gateway));
        let labels: Vec<(Box<str>, Box<str>)> = resources
            .iter()
            .find_map(|r| match &r.body {
                Body::Gateway(g) if r.namespace() == namespace && r.name() == name => Some(g),
                _ => None,
            })
            .map(|gw| {
                gw.selector
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                    .collect()
            })
            .unwrap_or_default();
        let mut ports: Vec<u16> = per_host
            .iter()
            .filter_map(|(_, vs)| tables.virtual_services.get(index(*vs)))
            .flat_map(|vs| vs.routes.iter().flat_map(|r| r.matches.iter()))
            .filter_map(|m| m.port)
            .collect();
        ports.sort_unstable();
        ports.dedup();
        let table_for = |port: Option<u16>| {
            let caller = GatewayCaller {
                labels: &labels,
                namespace,
                port,
            };
            gateway_table(&tables.virtual_services, &gateway, &per_host, &caller)
        };
        let gateway_tables = GatewayTables {
            by_port: ports.iter().map(|&p| (p, table_for(Some(p)))).collect(),
            other_ports: table_for(None),
        };
        tables
            .gateways
            .insert(gateway.as_str().into(), gateway_tables);
    }
    // One cluster per destination a route names (port known at compile time), besides the
    // clusters of every known service.
    let mut destinations = Vec::new();
    for vs in &tables.virtual_services {
        for route in &vs.routes {
            if let Action::Route {
                destinations: list, ..
            } = &route.action
            {
                for d in list {
                    if let Some(port) = d.port.or(d.service_port) {
                        destinations.push((
                            d.host.to_string(),
                            d.subset.as_deref().map(String::from),
                            port,
                        ));
                    }
                }
            }
        }
    }
    tables.clusters = crate::balance::build::build(resources, &destinations);
    tables
}

/// One gateway's virtual hosts for one listener port: the routes of every VirtualService bound
/// to it, concatenated per host (oldest first) with catch-alls moved to the end (gateway.go,
/// route.go `SortVHostRoutes`).
fn gateway_table(
    vses: &[CompiledVs],
    gateway: &str,
    per_host: &[(String, u32)],
    caller: &GatewayCaller<'_>,
) -> GatewayTable {
    let mut table = GatewayTable {
        labels: caller.labels.to_vec(),
        ..GatewayTable::default()
    };
    let mut merged: BTreeMap<&str, Vec<Entry>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (h, vs) in per_host {
        let Some(compiled) = vses.get(index(*vs)) else {
            continue;
        };
        if !merged.contains_key(h.as_str()) {
            order.push(h);
        }
        merged
            .entry(h)
            .or_default()
            .extend(entries_for(*vs, compiled, gateway, Some(caller)));
    }
    for h in order {
        let entries = merged.remove(h).unwrap_or_default();
        // gateway.go / route.go SortVHostRoutes: catch-all routes move to the end.
        let (mut entries, catch_all): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| !is_catch_all(vses, e));
        entries.extend(catch_all);
        if h == "*" {
            table.star = Some(entries);
        } else if let Some(suffix) = h.strip_prefix('*') {
            table.wildcards.push((suffix.into(), entries));
        } else {
            table.exact.insert(h.into(), entries);
        }
    }
    table
        .wildcards
        .sort_by_key(|w| std::cmp::Reverse(w.0.len()));
    table
}

fn index(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

fn is_catch_all(vses: &[CompiledVs], e: &Entry) -> bool {
    let Some(route) = usize::try_from(e.vs)
        .ok()
        .and_then(|v| vses.get(v))
        .and_then(|vs| {
            vs.routes
                .get(usize::try_from(e.route).unwrap_or(usize::MAX))
        })
    else {
        return false;
    };
    if e.matcher == NO_MATCH {
        return true;
    }
    route
        .matches
        .get(usize::try_from(e.matcher).unwrap_or(usize::MAX))
        .is_some_and(|m| m.request.is_catch_all())
}

fn push_candidate(sidecar: &mut SidecarHosts, host: u32, vs: u32) {
    if let Some(entry) = sidecar
        .hosts
        .get_mut(usize::try_from(host).unwrap_or(usize::MAX))
    {
        if !entry.virtual_services.contains(&vs) {
            entry.virtual_services.push(vs);
        }
    }
}

/// The host entry for `fqdn`, creating it and its alternative names (httproute.go
/// `generateAltVirtualHostsForKubernetesService`: `name`, `name.ns`, `name.ns.svc` for
/// `name.ns.svc.cluster.local`; the short name only from the same namespace).
/// The host entry a VirtualService host claims: the service's own entry for its FQDN, but a
/// separate entry for any other name, even one that is also an alternative name of a service
/// (`svc-b.default`). Istio builds a virtual host with exactly the VirtualService's host as its
/// domain; where it collides with a service's alternative name, the older VirtualService keeps
/// the domain (httproute.go dedupes domains in VirtualService order). So the separate entry's
/// candidates are its own VirtualServices and the service's, merged in creation order once all
/// are known (see `shadows`).
fn vs_host_entry(
    sidecar: &mut SidecarHosts,
    name: &str,
    registry: &Registry<'_>,
    shadows: &mut Vec<(u32, u32)>,
) -> u32 {
    match sidecar.domains.get(name).copied() {
        Some(idx)
            if sidecar
                .hosts
                .get(usize::try_from(idx).unwrap_or(usize::MAX))
                .is_some_and(|e| &*e.fqdn != name) =>
        {
            let own = u32::try_from(sidecar.hosts.len()).unwrap_or(u32::MAX);
            sidecar.hosts.push(HostEntry {
                fqdn: name.into(),
                virtual_services: Vec::new(),
                service_port: registry.service_port(name),
            });
            sidecar.domains.insert(name.into(), own);
            shadows.push((own, idx));
            own
        }
        _ => host_entry(sidecar, name, registry),
    }
}

fn host_entry(sidecar: &mut SidecarHosts, fqdn: &str, registry: &Registry) -> u32 {
    if let Some(&idx) = sidecar.domains.get(fqdn) {
        return idx;
    }
    let idx = u32::try_from(sidecar.hosts.len()).unwrap_or(u32::MAX);
    sidecar.hosts.push(HostEntry {
        fqdn: fqdn.into(),
        virtual_services: Vec::new(),
        service_port: registry.service_port(fqdn),
    });
    if fqdn.starts_with('*') {
        return idx;
    }
    sidecar.domains.insert(fqdn.into(), idx);
    let suffix = format!(".svc.{}", host::DOMAIN_SUFFIX);
    if let Some(base) = fqdn.strip_suffix(&suffix) {
        if let Some((name, ns)) = base.split_once('.') {
            if !ns.contains('.') {
                sidecar
                    .domains
                    .entry(format!("{name}.{ns}.svc").into())
                    .or_insert(idx);
                sidecar
                    .domains
                    .entry(format!("{name}.{ns}").into())
                    .or_insert(idx);
                sidecar
                    .short
                    .entry(ns.into())
                    .or_default()
                    .entry(name.into())
                    .or_insert(idx);
            }
        }
    }
    idx
}

fn registry<'r>(resources: &[&'r Resource]) -> Registry<'r> {
    let mut registry = Registry::default();
    for resource in resources {
        match &resource.body {
            Body::Service(svc) => {
                let fqdn = host::resolve(resource.name(), resource.namespace());
                let ports = svc
                    .ports
                    .iter()
                    .filter_map(|p| u16::try_from(p.port).ok())
                    .collect();
                registry.ports.insert(fqdn, ports);
            }
            Body::ServiceEntry(se) => {
                let ports: Vec<u16> = se
                    .ports
                    .iter()
                    .filter_map(|p| u16::try_from(p.number).ok())
                    .collect();
                for h in &se.hosts {
                    registry.ports.insert(h.to_ascii_lowercase(), ports.clone());
                }
            }
            Body::DestinationRule(dr) => {
                let fqdn = host::resolve(&dr.host, resource.namespace());
                registry
                    .rules
                    .push((fqdn, resource.namespace(), dr.as_ref()));
            }
            _ => {}
        }
    }
    registry
}

fn uses_consistent_hash(dr: &DestinationRule) -> bool {
    let hashes = |p: &Option<crate::config::TrafficPolicy>| {
        p.as_ref()
            .and_then(|p| p.load_balancer.as_ref())
            .is_some_and(|lb| lb.consistent_hash.is_some())
    };
    hashes(&dr.traffic_policy) || dr.subsets.iter().any(|s| hashes(&s.traffic_policy))
}

/// The route table entries of one VirtualService as seen by `gateway` (`mesh` for sidecars):
/// one entry per match (or per route without matches), matches whose `gateways` exclude this
/// gateway dropped, and everything after an unconditional catch-all truncated (route.go
/// `BuildHTTPRoutesForVirtualService`). For a gateway, `caller` decides the config-time selectors
/// (`port`, `sourceLabels`, `sourceNamespace`) here, so that truncation sees them as Istio does;
/// for sidecars they are checked per request.
fn entries_for(
    vs: u32,
    compiled: &CompiledVs,
    gateway: &str,
    caller: Option<&GatewayCaller<'_>>,
) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (r, route) in compiled.routes.iter().enumerate() {
        let route_idx = u32::try_from(r).unwrap_or(u32::MAX);
        if route.matches.is_empty() {
            entries.push(Entry {
                vs,
                route: route_idx,
                matcher: NO_MATCH,
            });
            return entries;
        }
        for (m, matcher) in route.matches.iter().enumerate() {
            if !matcher.gateways.is_empty() && !matcher.gateways.iter().any(|g| &**g == gateway) {
                continue;
            }
            if let Some(caller) = caller {
                // route.go translateRoute / sourceMatchHTTP, for this gateway and port.
                let holds = matcher.port.is_none_or(|p| Some(p) == caller.port)
                    && matcher
                        .source_namespace
                        .as_deref()
                        .is_none_or(|ns| ns == caller.namespace)
                    && matcher
                        .source_labels
                        .iter()
                        .all(|label| caller.labels.contains(label));
                if !holds {
                    continue;
                }
            }
            entries.push(Entry {
                vs,
                route: route_idx,
                matcher: u32::try_from(m).unwrap_or(u32::MAX),
            });
            // With `gateways` set the source selectors are already gone; a `port` is still
            // checked per request, so such a match only truncates on its own port.
            let unconditional = caller.is_some() || !matcher.has_runtime_selectors();
            if matcher.request.is_catch_all() && unconditional {
                return entries;
            }
        }
    }
    entries
}

fn compile_vs(
    resource: &Resource,
    vs: &VirtualService,
    http: &[(usize, HttpRoute)],
    registry: &Registry,
) -> CompiledVs {
    let namespace = resource.namespace();
    let export_to = if vs.export_to.is_empty() || vs.export_to.iter().any(|e| e == "*") {
        None
    } else {
        Some(
            vs.export_to
                .iter()
                .map(|e| {
                    if e == "." {
                        namespace.into()
                    } else {
                        e.as_str().into()
                    }
                })
                .collect(),
        )
    };
    let routes = http
        .iter()
        .map(|(index, route)| compile_route(*index, route, namespace, registry))
        .collect();
    CompiledVs {
        key: resource.key().into(),
        export_to,
        routes,
    }
}

fn non_empty(s: &str) -> Option<Box<str>> {
    (!s.is_empty()).then(|| s.into())
}

fn compile_route(
    index: usize,
    route: &HttpRoute,
    namespace: &str,
    registry: &Registry,
) -> CompiledRoute {
    let matches = route
        .matches
        .iter()
        .enumerate()
        .map(|(i, m)| compile_match(i, m.as_ref(), namespace))
        .collect();
    let route_response = route.headers.as_ref().and_then(|h| h.response.as_ref());
    let action = if let Some(redirect) = &route.redirect {
        Action::Redirect {
            redirect: Redirect {
                status: redirect
                    .redirect_code
                    .filter(|c| *c != 0)
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or(301),
                uri: non_empty(&redirect.uri).map(String::from),
                prefix_rewrite: non_empty(&redirect.prefix_rewrite).map(String::from),
                authority: non_empty(&redirect.authority).map(String::from),
                scheme: non_empty(&redirect.scheme).map(String::from),
                port: redirect
                    .port
                    .filter(|p| *p != 0)
                    .and_then(|p| u16::try_from(p).ok()),
                derive_from_request: redirect.derive_port
                    == Some(crate::config::RedirectPortSelection::FromRequestPort),
            },
            response_headers: header_ops(&[route_response]),
        }
    } else if let Some(direct) = &route.direct_response {
        let body = direct
            .body
            .as_ref()
            .and_then(|b| match (&b.string, &b.bytes) {
                (Some(s), _) => Some(s.as_bytes().to_vec()),
                (None, Some(bytes)) => Some(decode_base64(&bytes.0)),
                (None, None) => None,
            });
        Action::DirectResponse {
            response: DirectResponse {
                status: u16::try_from(direct.status)
                    .ok()
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                body: body.map(bytes_like::Body),
            },
            response_headers: header_ops(&[route_response]),
        }
    } else {
        let single = route.route.len() == 1;
        let route_request = route.headers.as_ref().and_then(|h| h.request.as_ref());
        let rewrite_authority = route.rewrite.as_ref().and_then(|r| non_empty(&r.authority));
        let destinations: Vec<CompiledDestination> = route
            .route
            .iter()
            .map(|d| {
                let dest = d.destination.clone().unwrap_or_default();
                let fqdn = host::resolve(&dest.host, namespace);
                let dest_request = d.headers.as_ref().and_then(|h| h.request.as_ref());
                let dest_response = d.headers.as_ref().and_then(|h| h.response.as_ref());
                // route.go: a single destination's operations follow the route's; weighted
                // destinations' (cluster-level) operations are applied before the route's.
                let (request_order, response_order) = if single {
                    (
                        [route_request, dest_request],
                        [route_response, dest_response],
                    )
                } else {
                    (
                        [dest_request, route_request],
                        [dest_response, route_response],
                    )
                };
                let authority = rewrite_authority
                    .clone()
                    .or_else(|| authority_of(route_request))
                    .or_else(|| authority_of(dest_request));
                CompiledDestination {
                    subset_defined: dest.subset.is_empty()
                        || registry.subset_defined(&fqdn, &dest.subset),
                    service_port: registry.service_port(&fqdn),
                    port: dest
                        .port
                        .as_ref()
                        .and_then(|p| u16::try_from(p.number).ok())
                        .filter(|p| *p != 0),
                    subset: non_empty(&dest.subset),
                    host: fqdn.into(),
                    request_headers: header_ops(&request_order),
                    response_headers: header_ops(&response_order),
                    authority,
                }
            })
            .collect();
        let weights: Vec<u32> = route
            .route
            .iter()
            .map(|d| u32::try_from(d.weight.unwrap_or(0)).unwrap_or(0))
            .collect();
        let hashing = destinations
            .iter()
            .any(|d| registry.consistent_hash(&d.host));
        Action::Route {
            choice: WeightedChoice::new(&weights),
            destinations,
            policy: Box::new(route_policy(route, namespace, hashing)),
            response_headers: header_ops(&[route_response]),
        }
    };
    CompiledRoute {
        index,
        name: non_empty(&route.name),
        matches,
        action,
    }
}

fn string_match(m: &StringMatch) -> Option<MatchString> {
    if let Some(exact) = &m.exact {
        Some(MatchString::Exact(exact.as_str().into()))
    } else if let Some(prefix) = &m.prefix {
        Some(MatchString::Prefix(prefix.as_str().into()))
    } else if let Some(regex) = &m.regex {
        if regex == "*" {
            // route.go canBeConvertedToPresentMatch
            return Some(MatchString::Present);
        }
        // Validated already; an uncompilable pattern cannot reach here.
        MatchRegex::new(regex)
            .ok()
            .map(|r| MatchString::Regex(Box::new(r)))
    } else {
        None
    }
}

fn compile_match(index: usize, m: Option<&HttpMatchRequest>, namespace: &str) -> CompiledMatch {
    let Some(m) = m else {
        // `match: [null]` translates to prefix `/`: a catch-all.
        return CompiledMatch {
            index,
            name: None,
            request: MatchRequest {
                uri: Some(MatchString::Prefix("/".into())),
                ..MatchRequest::default()
            },
            port: None,
            source_labels: Vec::new(),
            source_namespace: None,
            gateways: Vec::new(),
        };
    };
    let mut request = MatchRequest {
        // An unset uri translates to prefix `/` (route.go TranslateRouteMatch).
        uri: Some(
            m.uri
                .as_ref()
                .and_then(string_match)
                .unwrap_or(MatchString::Prefix("/".into())),
        ),
        ignore_uri_case: m.ignore_uri_case,
        method: m.method.as_ref().and_then(string_match),
        scheme: m.scheme.as_ref().and_then(string_match),
        authority: m.authority.as_ref().and_then(string_match),
        ..MatchRequest::default()
    };
    for (headers, invert) in [(&m.headers, false), (&m.without_headers, true)] {
        for (name, value) in headers {
            let matcher = value
                .as_ref()
                .and_then(string_match)
                .unwrap_or(MatchString::Present);
            let lower = name.to_ascii_lowercase();
            let pseudo = match lower.as_str() {
                ":method" => Some(Pseudo::Method),
                ":authority" | "host" => Some(Pseudo::Authority),
                ":scheme" => Some(Pseudo::Scheme),
                ":path" => Some(Pseudo::Path),
                _ if lower.starts_with(':') || lower.starts_with("@request.auth.claims") => {
                    Some(Pseudo::Unavailable)
                }
                _ => None,
            };
            match (pseudo, HeaderName::from_bytes(lower.as_bytes())) {
                (Some(pseudo), _) => request.pseudo.push(MatchPseudo {
                    pseudo,
                    matcher,
                    invert,
                }),
                (None, Ok(name)) => request.headers.push(MatchHeader {
                    name,
                    matcher,
                    invert,
                }),
                (None, Err(_)) => request.pseudo.push(MatchPseudo {
                    pseudo: Pseudo::Unavailable,
                    matcher,
                    invert,
                }),
            }
        }
    }
    for (key, value) in &m.query_params {
        let matcher = value
            .as_ref()
            .and_then(string_match)
            .unwrap_or(MatchString::Present);
        request.query.push(MatchQuery {
            key: key.as_str().into(),
            matcher,
        });
    }
    CompiledMatch {
        index,
        name: non_empty(&m.name),
        request,
        port: m
            .port
            .filter(|p| *p != 0)
            .and_then(|p| u16::try_from(p).ok()),
        // route.go sourceMatchHTTP: with `gateways` set, source labels and namespace are ignored.
        source_labels: if m.gateways.is_empty() {
            m.source_labels
                .iter()
                .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                .collect()
        } else {
            Vec::new()
        },
        source_namespace: if m.gateways.is_empty() {
            non_empty(&m.source_namespace)
        } else {
            None
        },
        gateways: m
            .gateways
            .iter()
            .map(|g| {
                if g == "mesh" {
                    "mesh".into()
                } else {
                    let (ns, n) = gateway_ref(g, namespace);
                    format!("{ns}/{n}").into()
                }
            })
            .collect(),
    }
}

fn authority_of(ops: Option<&HeaderOperations>) -> Option<Box<str>> {
    let ops = ops?;
    let find = |map: &BTreeMap<String, String>| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(":authority") || k.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.as_str().into())
    };
    find(&ops.set).or_else(|| find(&ops.add))
}

/// Merges header operation blocks in the order given: all removals, then each block's sets and
/// adds (each sorted by name, as BTreeMap iteration is). Authority and pseudo-headers are left
/// out: Istio turns the former into a host rewrite and drops the latter.
fn header_ops(blocks: &[Option<&HeaderOperations>]) -> HeaderOps {
    let mut ops = HeaderOps::default();
    for block in blocks.iter().flatten() {
        for name in &block.remove {
            if let Ok(name) = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) {
                ops.remove.push(name);
            }
        }
    }
    for block in blocks.iter().flatten() {
        for (map, append) in [(&block.set, false), (&block.add, true)] {
            for (name, value) in map {
                let lower = name.to_ascii_lowercase();
                if lower.starts_with(':') || lower == "host" {
                    continue;
                }
                let value = value.replace("%%", "%");
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(lower.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    ops.ops.push(HeaderOp {
                        name,
                        value,
                        append,
                    });
                }
            }
        }
    }
    ops
}

const DEFAULT_RETRY_ON: &str =
    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

/// retry.go `ConvertPolicy`.
fn retry_policy(route: &HttpRoute, hashing: bool) -> Option<RetryPolicy> {
    let mut policy = RetryPolicy {
        attempts: 2,
        retry_on: DEFAULT_RETRY_ON.to_owned(),
        retriable_status_codes: Vec::new(),
        per_try_timeout: None,
        // The previous_hosts predicate is left out when the route hashes.
        retry_ignore_previous_hosts: !hashing,
        retry_remote_localities: false,
        backoff: None,
        host_selection_max_attempts: 5,
    };
    let Some(retries) = &route.retries else {
        return Some(policy);
    };
    if retries.attempts <= 0 {
        return None;
    }
    policy.attempts = u32::try_from(retries.attempts).unwrap_or(0);
    let tokens: Vec<&str> = retries
        .retry_on
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if !tokens.is_empty() {
        let mut on = Vec::new();
        for token in tokens {
            match token.parse::<u32>() {
                Ok(code) if crate::compile::virtual_service::go_status_text_known(code) => {
                    policy
                        .retriable_status_codes
                        .push(u16::try_from(code).unwrap_or(0));
                }
                _ => on.push(token),
            }
        }
        if !policy.retriable_status_codes.is_empty() && !on.contains(&"retriable-status-codes") {
            on.push("retriable-status-codes");
        }
        policy.retry_on = on.join(",");
    }
    policy.per_try_timeout = retries.per_try_timeout.and_then(|d| d.to_std());
    if !hashing {
        policy.retry_ignore_previous_hosts = retries.retry_ignore_previous_hosts.unwrap_or(true);
    }
    policy.retry_remote_localities = retries.retry_remote_localities.unwrap_or(false);
    policy.backoff = retries.backoff.and_then(|d| d.to_std());
    Some(policy)
}

fn route_policy(route: &HttpRoute, namespace: &str, hashing: bool) -> RoutePolicy {
    let rewrite = route.rewrite.as_ref().and_then(|r| {
        let regex = r.uri_regex_rewrite.as_ref().and_then(|rr| {
            let pattern = regex::RegexBuilder::new(&rr.pattern)
                .size_limit(1 << 22)
                .build()
                .ok()?;
            Some((pattern, envoy_replacement(&rr.rewrite)))
        });
        let uri = non_empty(&r.uri).map(String::from);
        (uri.is_some() || regex.is_some()).then_some(Rewrite { uri, regex })
    });
    let fault = route.fault.as_ref().map(|f| FaultPolicy {
        delay: f.delay.as_ref().and_then(|d| {
            let duration = d.fixed_delay?.to_std()?;
            // route.go TranslateFault: without `percentage`, the deprecated `percent` (0).
            let percent = d
                .percentage
                .map_or(f64::from(d.percent.unwrap_or(0)), |p| p.value);
            Some((duration, percent))
        }),
        abort: f.abort.as_ref().and_then(|a| {
            let kind = if let Some(status) = a.http_status {
                Abort::Http(u16::try_from(status).ok()?)
            } else {
                Abort::Grpc(a.grpc_status.clone()?)
            };
            Some((kind, a.percentage.map_or(0.0, |p| p.value)))
        }),
    });
    let mut mirrors = Vec::new();
    let mirror_of = |d: &crate::config::Destination, percentage: f64| Mirror {
        host: host::resolve(&d.host, namespace),
        subset: non_empty(&d.subset).map(String::from),
        port: d
            .port
            .as_ref()
            .and_then(|p| u16::try_from(p.number).ok())
            .filter(|p| *p != 0),
        percentage,
    };
    if let Some(mirror) = &route.mirror {
        let percentage = route
            .mirror_percentage
            .map(|p| p.value)
            .or(route.mirror_percent.map(f64::from))
            .unwrap_or(100.0);
        if percentage > 0.0 {
            mirrors.push(mirror_of(mirror, percentage));
        }
    }
    for policy in route.mirrors.iter().flatten() {
        if let Some(d) = &policy.destination {
            let percentage = policy.percentage.map_or(100.0, |p| p.value);
            if percentage > 0.0 {
                mirrors.push(mirror_of(d, percentage));
            }
        }
    }
    RoutePolicy {
        rewrite,
        timeout: route.timeout.and_then(|d| d.to_std()),
        retries: retry_policy(route, hashing),
        fault,
        mirrors,
        cors: route.cors_policy.clone(),
    }
}

/// Envoy's `\1` capture references in the regex crate's `${1}` syntax (and `$` escaped).
fn envoy_replacement(rewrite: &str) -> String {
    let mut out = String::with_capacity(rewrite.len());
    let mut chars = rewrite.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push_str("${");
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    out.push(d);
                    chars.next();
                }
                out.push('}');
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for c in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | u32::from(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap_or(0));
        }
    }
    out
}

/// Replaces each root route that names a delegate with the delegate's routes merged into it
/// (vsmodel.go `MergeHTTPRoutes`). Returns `(root route index, route)` pairs. A missing or
/// invisible delegate drops only that root route.
fn expand_delegates(
    resource: &Resource,
    vs: &VirtualService,
    all: &[(&Resource, &VirtualService)],
) -> Vec<(usize, HttpRoute)> {
    let mut out = Vec::new();
    for (index, root) in vs.http.iter().enumerate() {
        let Some(delegate) = &root.delegate else {
            out.push((index, root.clone()));
            continue;
        };
        let namespace = if delegate.namespace.is_empty() {
            resource.namespace()
        } else {
            &delegate.namespace
        };
        let found = all.iter().find(|(r, d)| {
            r.name() == delegate.name
                && r.namespace() == namespace
                && d.hosts.is_empty()
                && (d.export_to.is_empty()
                    || d.export_to.iter().any(|e| {
                        e == "*"
                            || e == resource.namespace()
                            || (e == "." && namespace == resource.namespace())
                    }))
        });
        let Some((_, delegate_vs)) = found else {
            tracing::debug!(root = %resource.key(), delegate = %delegate.name, "delegate VirtualService not found: route skipped");
            continue;
        };
        for leaf in &delegate_vs.http {
            if leaf.delegate.is_some() {
                continue;
            }
            if let Some(merged) = merge_route(root, leaf) {
                out.push((index, merged));
            }
        }
    }
    out
}

fn merge_route(root: &HttpRoute, leaf: &HttpRoute) -> Option<HttpRoute> {
    let mut merged = leaf.clone();
    merged.name = match (root.name.is_empty(), leaf.name.is_empty()) {
        (false, false) => format!("{}-{}", root.name, leaf.name),
        (false, true) => root.name.clone(),
        _ => leaf.name.clone(),
    };
    merged.delegate = None;
    let root_matches: Vec<&HttpMatchRequest> = root.matches.iter().flatten().collect();
    let leaf_matches: Vec<&HttpMatchRequest> = leaf.matches.iter().flatten().collect();
    if root_matches.is_empty() {
        // Nothing to inherit.
    } else if leaf_matches.is_empty() {
        merged.matches = root.matches.clone();
    } else {
        // vsmodel.go mergeHTTPMatchRequests: every leaf match must be compatible with some
        // root match, otherwise the whole leaf route is dropped.
        let mut matches = Vec::new();
        for l in &leaf_matches {
            let before = matches.len();
            for r in &root_matches {
                if !has_conflict(r, l) {
                    matches.push(Some(merge_match(r, l)));
                }
            }
            if matches.len() == before {
                return None;
            }
        }
        merged.matches = matches;
    }
    macro_rules! inherit {
        ($($field:ident),*) => { $( if merged.$field.is_none() { merged.$field = root.$field.clone(); } )* };
    }
    inherit!(
        rewrite,
        timeout,
        retries,
        fault,
        mirror,
        mirror_percentage,
        mirror_percent,
        cors_policy,
        headers
    );
    if merged.mirrors.is_empty() {
        merged.mirrors = root.mirrors.clone();
    }
    Some(merged)
}

/// vsmodel.go `mergeHTTPMatchRequest`.
fn merge_match(root: &HttpMatchRequest, leaf: &HttpMatchRequest) -> HttpMatchRequest {
    let mut m = leaf.clone();
    if m.name.is_empty() {
        m.name = root.name.clone();
    } else if !root.name.is_empty() {
        m.name = format!("{}-{}", root.name, leaf.name);
    }
    if m.uri.is_none() {
        m.uri = root.uri.clone();
    }
    if m.scheme.is_none() {
        m.scheme = root.scheme.clone();
    }
    if m.method.is_none() {
        m.method = root.method.clone();
    }
    if m.authority.is_none() {
        m.authority = root.authority.clone();
    }
    for (to, from) in [
        (&mut m.headers, &root.headers),
        (&mut m.without_headers, &root.without_headers),
        (&mut m.query_params, &root.query_params),
    ] {
        for (k, v) in from {
            to.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    for (k, v) in &root.source_labels {
        m.source_labels
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    if m.port.is_none_or(|p| p == 0) {
        m.port = root.port;
    }
    if m.source_namespace.is_empty() {
        m.source_namespace = root.source_namespace.clone();
    }
    if m.gateways.is_empty() {
        m.gateways = root.gateways.clone();
    }
    if !m.ignore_uri_case {
        m.ignore_uri_case = root.ignore_uri_case;
    }
    m
}

/// vsmodel.go `stringMatchConflict` (with Go's getters, where an empty string is unset).
fn string_match_conflict(root: Option<&StringMatch>, leaf: Option<&StringMatch>) -> bool {
    let (Some(root), Some(leaf)) = (root, leaf) else {
        return false;
    };
    fn get(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("")
    }
    let any = |m: &StringMatch| {
        !get(&m.regex).is_empty() || !get(&m.prefix).is_empty() || !get(&m.exact).is_empty()
    };
    if (!get(&root.regex).is_empty() && any(leaf)) || (!get(&leaf.regex).is_empty() && any(root)) {
        return true;
    }
    let exact = get(&root.exact);
    if !exact.is_empty() {
        return !get(&leaf.prefix).is_empty() || get(&leaf.exact) != exact;
    }
    let prefix = get(&root.prefix);
    if !prefix.is_empty() {
        let leaf_prefix = get(&leaf.prefix);
        if !leaf_prefix.is_empty() {
            return !leaf_prefix.starts_with(prefix);
        }
        let leaf_exact = get(&leaf.exact);
        if !leaf_exact.is_empty() {
            return !leaf_exact.starts_with(prefix);
        }
    }
    true
}

/// vsmodel.go `hasConflict`.
fn has_conflict(root: &HttpMatchRequest, leaf: &HttpMatchRequest) -> bool {
    if string_match_conflict(root.uri.as_ref(), leaf.uri.as_ref())
        || string_match_conflict(root.scheme.as_ref(), leaf.scheme.as_ref())
        || string_match_conflict(root.method.as_ref(), leaf.method.as_ref())
        || string_match_conflict(root.authority.as_ref(), leaf.authority.as_ref())
    {
        return true;
    }
    for (r, l) in [
        (&root.headers, &leaf.headers),
        (&root.without_headers, &leaf.without_headers),
        (&root.query_params, &leaf.query_params),
    ] {
        let conflict = l
            .iter()
            .any(|(k, lv)| string_match_conflict(r.get(k).and_then(Option::as_ref), lv.as_ref()));
        if conflict {
            return true;
        }
    }
    if root.ignore_uri_case != leaf.ignore_uri_case {
        return true;
    }
    if let (Some(rp), Some(lp)) = (root.port.filter(|p| *p != 0), leaf.port.filter(|p| *p != 0)) {
        if rp != lp {
            return true;
        }
    }
    if !root.source_namespace.is_empty() && leaf.source_namespace != root.source_namespace {
        return true;
    }
    if root
        .source_labels
        .iter()
        .any(|(k, v)| leaf.source_labels.get(k).is_some_and(|lv| lv != v))
    {
        return true;
    }
    if !leaf.gateways.is_empty()
        && !root.gateways.is_empty()
        && (root.gateways.len() < leaf.gateways.len()
            || !leaf.gateways.iter().all(|g| root.gateways.contains(g)))
    {
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_capture_references_translate() {
        assert_eq!(
            envoy_replacement("/customprefix/\\2/\\1"),
            "/customprefix/${2}/${1}"
        );
        assert_eq!(envoy_replacement("/a$b"), "/a$$b");
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(decode_base64("aGVsbG8="), b"hello");
        assert_eq!(decode_base64(""), b"");
    }
}
