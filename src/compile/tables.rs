//! Lowering the configuration into route tables: which VirtualServices a sidecar consults for each
//! host it can call, and each gateway's virtual hosts per listener port, as Istio builds them
//! (`pilot/pkg/networking/core/httproute.go`, `pilot/pkg/networking/core/gateway.go`,
//! `pilot/pkg/networking/core/route/route.go` and `pilot/pkg/model/config.go` in istio/istio).

use std::collections::BTreeMap;

use super::clusters;
use super::delegates::expand_delegates;
use super::entries::{entries_for, index};
use super::known::Known;
use super::routes::compile_vs;
use crate::config::{Body, Resource, VirtualService};
use crate::registry::gateways::bound_gateways;
use crate::route::stream::StreamTables;
use crate::route::table::{Action, HostEntry, SidecarHosts, Tables};
use crate::util::host;

/// Root VirtualServices (those with hosts: delegates are merged into the routes that name
/// them) in Istio's order: creation time, then name, then namespace (config.go
/// `configCompareByCreationTime`).
fn roots<'r>(
    virtual_services: &[(&'r Resource, &'r VirtualService)],
) -> Vec<(&'r Resource, &'r VirtualService)> {
    let mut roots: Vec<(&Resource, &VirtualService)> = virtual_services
        .iter()
        .copied()
        .filter(|(_, vs)| !vs.hosts.is_empty())
        .collect();
    roots.sort_by(|(a, _), (b, _)| {
        (&a.metadata.creation_timestamp, a.name(), a.namespace()).cmp(&(
            &b.metadata.creation_timestamp,
            b.name(),
            b.namespace(),
        ))
    });
    roots
}

/// Builds every table of a `Mesh` from the effective resources: the HTTP route tables and the
/// TCP and TLS ones.
pub(crate) fn lower(resources: &[&Resource]) -> (Tables, StreamTables) {
    let known = Known::new(resources);
    let vs_resources: Vec<(&Resource, &VirtualService)> = resources
        .iter()
        .filter_map(|&r| match &r.body {
            Body::VirtualService(vs) => Some((r, vs.as_ref())),
            _ => None,
        })
        .collect();

    let mut tables = Tables::default();
    let roots = roots(&vs_resources);

    // gateway → (resolved host, VirtualService index), oldest VirtualService first.
    let mut shadows: Vec<(u32, u32)> = Vec::new();
    let mut gateway_routes: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
    for (resource, vs) in &roots {
        let namespace = resource.namespace();
        let http = expand_delegates(resource, vs, &vs_resources);
        let compiled = compile_vs(resource, vs, &http, &known);
        let vs_index = u32::try_from(tables.virtual_services.len()).unwrap_or(u32::MAX);
        let gateways = bound_gateways(&vs.gateways, namespace);
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

    super::gateways::lower(resources, &mut tables, gateway_routes);
    // One cluster per destination a route names (port known at compile time), besides the
    // clusters of every known service.
    let streams = super::streams::lower(resources, &roots, &tables.virtual_services, &known);
    let mut destinations = Vec::new();
    for vs in &streams.vses {
        for rule in vs.tcp.iter().chain(&vs.tls) {
            for d in &rule.destinations {
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
    (tables, streams)
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
