//! Lowering the configuration into route tables: which VirtualServices a sidecar consults for each
//! host it can call, and each gateway's virtual hosts per listener port, as Istio builds them
//! (`pilot/pkg/networking/core/httproute.go`, `pilot/pkg/networking/core/gateway.go`,
//! `pilot/pkg/networking/core/route/route.go` and `pilot/pkg/model/config.go` in istio/istio).

use rustc_hash::FxHashSet;

use super::clusters;
use super::delegates::expand_delegates;
use super::entries::{entries_for, route_index};
use super::gateways;
use super::hash_tables;
use super::known::Known;
use super::routes::{NumberedDestination, Regexes, compile_vs};
use super::scopes;
use super::sidecar::{VsInfo, sidecar_hosts};
use crate::config::{Body, Resource, VirtualService};
use crate::diagnostic::Diagnostic;
use crate::route::cluster::Clusters;
use crate::route::stream::StreamTables;
use crate::route::table::{NO_CLUSTER, SidecarHosts, Tables};
use crate::util::gateways::bound_gateways;
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
/// TCP and TLS ones; with the warnings of the budgets they exceed (see `hash_tables.rs`).
pub(crate) fn lower(resources: &[&Resource]) -> (Tables, StreamTables, Vec<Diagnostic>) {
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

    // The VirtualServices bound to gateways, oldest first.
    let mut gateway_bindings = Vec::new();
    let mut infos: Vec<VsInfo<'_>> = Vec::new();
    let mut regexes = Regexes::default();
    for (resource, vs) in &roots {
        let namespace = resource.namespace();
        let http = expand_delegates(resource, vs, &vs_resources);
        let mut written: Vec<&str> = Vec::new();
        let compiled = compile_vs(resource, vs, &http, &known, &mut regexes, &mut written);
        let vs_index = u32::try_from(tables.virtual_services.len()).unwrap_or(u32::MAX);
        let gateways = bound_gateways(&vs.gateways, namespace);
        let mesh = gateways.iter().any(|g| g == "mesh");
        tables.vs_entries.push(if mesh {
            entries_for(vs_index, &compiled, "mesh", None)
        } else {
            Vec::new()
        });
        gateway_bindings.extend(gateways::binding(resource, vs, vs_index, &gateways, &known));
        // Each host as written once (a large table names the same few in every route), then
        // each resolved name once: the HTTP ones (delegates merged) from `compile_vs`, then the
        // TCP and TLS ones.
        written.extend(
            vs.tcp
                .iter()
                .flat_map(|r| r.route.iter())
                .chain(vs.tls.iter().flat_map(|r| r.route.iter()))
                .filter_map(|d| d.destination.as_ref())
                .map(|d| d.host.as_str()),
        );
        let mut seen = FxHashSet::default();
        written.retain(|h| seen.insert(*h));
        let mut destinations: Vec<String> = written
            .into_iter()
            .map(|h| host::resolve(h, namespace))
            .collect();
        destinations.sort();
        destinations.dedup();
        infos.push(VsInfo {
            index: vs_index,
            namespace,
            hosts: vs
                .hosts
                .iter()
                .map(|h| host::resolve(h, namespace))
                .collect(),
            mesh,
            export: known
                .settings
                .virtual_service_export(&vs.export_to, namespace),
            destinations,
        });
        tables.virtual_services.push(compiled);
    }
    // Large sidecar tables get a path index.
    tables.vs_index = tables
        .vs_entries
        .iter()
        .map(|entries| route_index(entries, &tables.virtual_services))
        .collect();
    // The caller-less view: every mesh VirtualService (oldest first) and every service.
    let every_vs: Vec<u32> = infos.iter().filter(|i| i.mesh).map(|i| i.index).collect();
    let every_service: Vec<(&str, Vec<u16>)> = known
        .services
        .hosts()
        .into_iter()
        .map(|h| (h, known.services.ports(h).to_vec()))
        .collect();
    tables.registry = sidecar_hosts(&every_vs, &every_service, &infos);
    for service in known.services.iter() {
        let export = (!service.export.is_public()).then(|| service.export.namespaces().to_vec());
        tables
            .service_exports
            .entry(service.host.as_str().into())
            .or_default()
            .push(export);
    }
    // The route destinations `compile_vs` numbered, for the per-scope tables.
    let numbered = regexes.numbered();
    let policies = scopes::build(resources, &known, &infos, numbered, &mut tables);

    gateways::lower(resources, &mut tables, &gateway_bindings);
    let streams = super::streams::lower(resources, &roots, &tables.virtual_services, &known);
    let (clusters, costs) = clusters::build(resources, &known, &tables, &streams, &policies);
    tables.clusters = clusters;
    resolve_destination_clusters(&mut tables, numbered);
    let warnings = hash_tables::warnings(&costs, &policies, resources);
    (tables.referenced_headers, tables.referenced_query_params) = referenced(&vs_resources);
    (tables, streams, warnings)
}

/// The header names (lowercase; pseudo-headers and JWT claims left out) and query parameter
/// names that some VirtualService match refers to, sorted: the routing flags that must travel
/// from an inbound request to the calls it causes.
fn referenced(virtual_services: &[(&Resource, &VirtualService)]) -> (Vec<String>, Vec<String>) {
    // Each name as written once (the matches of a large table repeat a few), in one pass.
    let mut headers: FxHashSet<&str> = FxHashSet::default();
    let mut query: FxHashSet<&str> = FxHashSet::default();
    let matches = virtual_services
        .iter()
        .flat_map(|(_, vs)| vs.http.iter())
        .flat_map(|route| route.matches.iter().flatten());
    for m in matches {
        headers.extend(
            m.headers
                .keys()
                .chain(m.without_headers.keys())
                .map(String::as_str),
        );
        query.extend(m.query_params.keys().map(String::as_str));
    }
    let mut headers: Vec<String> = headers
        .into_iter()
        .filter(|k| !k.starts_with(':') && !k.starts_with('@'))
        .map(str::to_ascii_lowercase)
        .collect();
    headers.sort();
    headers.dedup();
    let mut query: Vec<String> = query.into_iter().map(str::to_owned).collect();
    query.sort();
    query.dedup();
    (headers, query)
}

/// Each scope's cluster for each route destination whose port is fixed (its own or its
/// service's only port), so that a decision picks the endpoint without hashing the host.
fn resolve_destination_clusters(tables: &mut Tables, numbered: &[NumberedDestination]) {
    let mut all = Vec::with_capacity(tables.scopes.list.len());
    for scope in &tables.scopes.list {
        let clusters = numbered
            .iter()
            .enumerate()
            .map(|(id, d)| {
                let port = d.port?;
                let seen = scope.destinations.get(id).filter(|seen| seen.exists)?;
                tables
                    .clusters
                    .find(&d.host, d.subset.as_deref(), port, seen.rule)
            })
            .map(|found| found.unwrap_or(NO_CLUSTER))
            .collect();
        all.push(clusters);
    }
    let Tables {
        scopes,
        registry,
        clusters: found,
        ..
    } = tables;
    for (scope, clusters) in scopes.list.iter_mut().zip(all) {
        scope.destination_clusters = clusters;
        for listener in &scope.listeners {
            resolve_service_clusters(&listener.hosts, found);
        }
    }
    resolve_service_clusters(registry, found);
}

/// Each host entry's default-route cluster per service port (`HostEntry::service_clusters`);
/// once for hosts that scopes share.
fn resolve_service_clusters(hosts: &SidecarHosts, clusters: &Clusters) {
    for entry in &hosts.hosts {
        let Some(ports) = entry.service_ports.as_deref() else {
            continue;
        };
        if entry.service_clusters.get().is_some() {
            continue;
        }
        let resolved = ports
            .iter()
            .map(|port| {
                clusters
                    .find(&entry.fqdn, None, *port, entry.rule)
                    .unwrap_or(NO_CLUSTER)
            })
            .collect();
        // Unset: checked above, and the tables are built on one thread.
        let _ = entry.service_clusters.set(resolved);
    }
}
