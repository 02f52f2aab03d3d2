//! Lowering the configuration into route tables: which VirtualServices a sidecar consults for each
//! host it can call, and each gateway's virtual hosts per listener port, as Istio builds them
//! (`pilot/pkg/networking/core/httproute.go`, `pilot/pkg/networking/core/gateway.go`,
//! `pilot/pkg/networking/core/route/route.go` and `pilot/pkg/model/config.go` in istio/istio).

use std::collections::BTreeMap;

use super::clusters;
use super::delegates::expand_delegates;
use super::known::Known;
use super::routes::compile_vs;
use crate::config::{Body, Resource, VirtualService};
use crate::registry::gateways::gateway_key;
use crate::route::table::{
    Action, CompiledVs, Entry, GatewayTable, GatewayTables, HostEntry, NO_MATCH, SidecarHosts,
    Tables,
};
use crate::util::host;

/// What a gateway is as a caller: its workload labels (the Gateway's `selector`), its namespace
/// and the listener port the routes are built for.
struct GatewayCaller<'a> {
    labels: &'a [(Box<str>, Box<str>)],
    namespace: &'a str,
    port: Option<u16>,
}

/// Builds every table of a `Mesh` from the effective resources.
pub(crate) fn lower(resources: &[&Resource]) -> Tables {
    let known = Known::new(resources);
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
    // Istio orders by creation time, then name, then namespace (config.go
    // `configCompareByCreationTime`).
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
        let compiled = compile_vs(resource, vs, &http, &known);
        let vs_index = u32::try_from(tables.virtual_services.len()).unwrap_or(u32::MAX);
        let gateways: Vec<String> = if vs.gateways.is_empty() {
            vec!["mesh".to_owned()]
        } else {
            vs.gateways
                .iter()
                .map(|g| gateway_key(g, namespace))
                .collect()
        };
        if gateways.iter().any(|g| g == "mesh") {
            let entries = entries_for(vs_index, &compiled, "mesh", None);
            tables.sidecar.tables.push(entries);
            for h in &vs.hosts {
                let resolved = host::resolve(h, namespace);
                if let Some(suffix) = resolved.strip_prefix('*') {
                    let idx = host_entry(&mut tables.sidecar, &resolved, &known);
                    let listed = tables
                        .sidecar
                        .wildcards
                        .iter()
                        .any(|(s, &i)| s == suffix && i == idx);
                    if !listed {
                        tables.sidecar.wildcards.insert(suffix, idx);
                    }
                    push_candidate(&mut tables.sidecar, idx, vs_index);
                } else {
                    let idx = vs_host_entry(&mut tables.sidecar, &resolved, &known, &mut shadows);
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
    for fqdn in known.services.hosts() {
        host_entry(&mut tables.sidecar, fqdn, &known);
    }

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
    tables.clusters = clusters::build(resources, &known, &destinations);
    (tables.referenced_headers, tables.referenced_query_params) = referenced(&vs_resources);
    tables
}

/// The header names (lowercase; pseudo-headers and JWT claims left out) and query parameter
/// names that some VirtualService match refers to, sorted: the routing flags that must travel
/// from an inbound request to the calls it causes.
fn referenced(virtual_services: &[(&Resource, &VirtualService)]) -> (Vec<String>, Vec<String>) {
    let matches = || {
        virtual_services
            .iter()
            .flat_map(|(_, vs)| vs.http.iter())
            .flat_map(|route| route.matches.iter().flatten())
    };
    let mut headers: Vec<String> = matches()
        .flat_map(|m| m.headers.keys().chain(m.without_headers.keys()))
        .filter(|k| !k.starts_with(':') && !k.starts_with('@'))
        .map(|k| k.to_ascii_lowercase())
        .collect();
    headers.sort();
    headers.dedup();
    let mut query: Vec<String> = matches()
        .flat_map(|m| m.query_params.keys().cloned())
        .collect();
    query.sort();
    query.dedup();
    (headers, query)
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
        match h.strip_prefix('*') {
            Some(suffix) => table.wildcards.insert(suffix, entries),
            None => {
                table.exact.insert(h.into(), entries);
            }
        }
    }
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
    known: &Known<'_>,
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
                service_port: known.service_port(name),
            });
            sidecar.domains.insert(name.into(), own);
            shadows.push((own, idx));
            own
        }
        _ => host_entry(sidecar, name, known),
    }
}

fn host_entry(sidecar: &mut SidecarHosts, fqdn: &str, known: &Known<'_>) -> u32 {
    if let Some(&idx) = sidecar.domains.get(fqdn) {
        return idx;
    }
    let idx = u32::try_from(sidecar.hosts.len()).unwrap_or(u32::MAX);
    sidecar.hosts.push(HostEntry {
        fqdn: fqdn.into(),
        virtual_services: Vec::new(),
        service_port: known.service_port(fqdn),
    });
    if fqdn.starts_with('*') {
        return idx;
    }
    sidecar.domains.insert(fqdn.into(), idx);
    if let Some((name, ns)) = host::kubernetes_service(fqdn) {
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
    idx
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
                // route.go `TranslateRoute` / `sourceMatchHTTP`, for this gateway and port.
                let dropped =
                    matcher.selector_failure(caller.port, caller.namespace, caller.labels);
                if dropped.is_some() {
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
