//! Gateway route tables: each gateway's virtual hosts per listener port, built from the
//! VirtualServices bound to it (istio/istio `pilot/pkg/networking/core/gateway.go`,
//! `pilot/pkg/networking/core/route/route.go` `BuildHTTPRoutesForVirtualService`).

use std::collections::BTreeMap;

use super::entries::{GatewayCaller, entries_for, index};
use crate::config::{Body, Resource};
use crate::route::table::{CompiledVs, Entry, GatewayTable, GatewayTables, NO_MATCH, Tables};

/// Builds the tables of every Gateway of the configuration. `gateway_routes` maps a gateway
/// (`ns/name`) to the `(resolved host, VirtualService index)` pairs bound to it, oldest
/// VirtualService first.
///
/// Only Gateway resources get tables: a gateway proxy takes its configuration from the Gateways
/// that select it, and consults the VirtualServices bound to those by name
/// (`pilot/pkg/networking/core/gateway.go` `buildGatewayHTTPRouteConfig`), so a VirtualService
/// bound to a Gateway that does not exist routes nothing (`istioctl analyze` IST0101). A Gateway
/// no VirtualService binds to gets empty tables: every request is a 404 NR.
pub(super) fn lower(
    resources: &[&Resource],
    tables: &mut Tables,
    mut gateway_routes: BTreeMap<String, Vec<(String, u32)>>,
) {
    for resource in resources {
        let Body::Gateway(gw) = &resource.body else {
            continue;
        };
        let (namespace, name) = (resource.namespace(), resource.name());
        let gateway = format!("{namespace}/{name}");
        let per_host = gateway_routes.remove(&gateway).unwrap_or_default();
        let labels: Vec<(Box<str>, Box<str>)> = gw
            .selector
            .iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
            .collect();
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
