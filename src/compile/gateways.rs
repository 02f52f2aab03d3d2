//! Gateway route tables: for each Gateway, its servers merged into listeners by port and each
//! listener's route configuration built from the VirtualServices bound to the gateway, as Istio
//! builds them (istio/istio `pilot/pkg/model/gateway.go` `MergeGateways`,
//! `pilot/pkg/networking/core/gateway.go` `buildGatewayHTTPRouteConfig`,
//! `pilot/pkg/model/push_context.go` `VirtualServicesForGateway`,
//! `pkg/config/host/names.go` `NamesForNamespace` and `Intersection`).
//!
//! Two simplifications, both documented in the crate's compatibility table: one Gateway resource
//! is one gateway workload (Istio merges every Gateway whose selector picks the workload), and a
//! server's `bind` address is not modelled (servers on one port share a listener).

use std::collections::BTreeMap;

use super::entries::{GatewayCaller, entries_for, index, route_index};
use super::known::Known;
use crate::config::{Body, Gateway, Resource, ServerTlsMode, VirtualService};
use crate::registry::visibility::ExportTo;
use crate::route::table::{
    CompiledVs, Entry, GatewayPort, GatewayTables, NO_MATCH, RouteConfig, Tables, TlsRouteConfig,
    VirtualHost,
};
use crate::util::gateways::{hosts_for_namespace, server_hosts};
use crate::util::host;
use crate::util::protocol::Protocol;

/// A root VirtualService bound to at least one gateway, as gateway lowering needs it.
#[derive(Debug)]
pub(super) struct GatewayBinding<'r> {
    vs: u32,
    namespace: &'r str,
    /// `spec.hosts` with short names qualified, case kept (Istio intersects them as written).
    hosts: Vec<String>,
    /// `exportTo`, resolved with MeshConfig's default.
    export: ExportTo,
    /// The gateways it binds to (`ns/name`), `mesh` left out.
    gateways: Vec<String>,
}

/// The binding of the root VirtualService `vs` (index `vs_index`) bound to `gateways` (resolved
/// keys, `mesh` included or not), or `None` when it binds to no gateway but `mesh`.
pub(super) fn binding<'r>(
    resource: &'r Resource,
    vs: &VirtualService,
    vs_index: u32,
    gateways: &[String],
    known: &Known<'_>,
) -> Option<GatewayBinding<'r>> {
    let namespace = resource.namespace();
    let gateways: Vec<String> = gateways.iter().filter(|g| *g != "mesh").cloned().collect();
    (!gateways.is_empty()).then(|| GatewayBinding {
        vs: vs_index,
        namespace,
        hosts: vs
            .hosts
            .iter()
            .map(|h| host::qualify(h, namespace))
            .collect(),
        export: known
            .settings
            .virtual_service_export(&vs.export_to, namespace),
        gateways,
    })
}

/// Builds the tables of every Gateway of the configuration. `bindings` are in Istio's order
/// (creation time, then name, then namespace).
pub(super) fn lower(resources: &[&Resource], tables: &mut Tables, bindings: &[GatewayBinding<'_>]) {
    for resource in resources {
        let Body::Gateway(gateway) = &resource.body else {
            continue;
        };
        let namespace = resource.namespace();
        let key = format!("{namespace}/{}", resource.name());
        let labels: Vec<(Box<str>, Box<str>)> = gateway
            .selector
            .iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
            .collect();
        let vses = virtual_services_for_gateway(bindings, &key, namespace);
        let ports = merge_servers(gateway, namespace)
            .into_iter()
            .map(|listener| {
                let build = |servers: &[Listened]| {
                    let caller = GatewayCaller {
                        labels: &labels,
                        namespace,
                        port: Some(listener.port),
                    };
                    route_config(&tables.virtual_services, &key, servers, &vses, &caller)
                };
                GatewayPort {
                    port: listener.port,
                    plain: (!listener.plain.is_empty()).then(|| build(&listener.plain)),
                    tls: listener
                        .tls
                        .iter()
                        .map(|server| TlsRouteConfig {
                            server_names: server_names(&server.hosts),
                            routes: build(std::slice::from_ref(server)),
                        })
                        .collect(),
                }
            })
            .collect();
        tables
            .gateways
            .insert(key.into(), GatewayTables { ports, labels });
    }
}

/// push_context.go `VirtualServicesForGateway(proxyNamespace, gateway)` with `initVirtualServices`'
/// index: the VirtualServices bound to `gateway` that are exported to the gateway proxy's
/// namespace (meshroute takes the Gateway's namespace as the proxy's): those private to that
/// namespace, then those exported to it by name, then public ones, each group in creation order.
fn virtual_services_for_gateway<'b, 'r>(
    bindings: &'b [GatewayBinding<'r>],
    gateway: &str,
    proxy_namespace: &str,
) -> Vec<&'b GatewayBinding<'r>> {
    let bound = || {
        bindings
            .iter()
            .filter(|b| b.gateways.iter().any(|g| g == gateway))
    };
    let named = |b: &GatewayBinding<'_>| {
        !b.export.is_public()
            && b.export
                .namespaces()
                .iter()
                .any(|ns| &**ns == proxy_namespace)
    };
    let private = bound().filter(|b| b.namespace == proxy_namespace && named(b));
    let exported = bound().filter(|b| b.namespace != proxy_namespace && named(b));
    let public = bound().filter(|b| b.export.is_public());
    private.chain(exported).chain(public).collect()
}

/// A server on a listener: its index in `spec.servers`, its hosts as Istio keeps them
/// (`sanitizeServerHostNamespace`) and whether it redirects plain HTTP to https.
#[derive(Debug)]
struct Listened {
    index: u32,
    hosts: Vec<String>,
    https_redirect: bool,
}

/// The servers of one port after merging.
#[derive(Debug)]
struct Listener {
    port: u16,
    /// The protocol of the first plain-text server (one without TLS settings, or HTTP with
    /// `httpsRedirect`): later plain-text servers must merge with it.
    plain_protocol: Option<Protocol>,
    /// The plain-text HTTP servers (`http.<port>`).
    plain: Vec<Listened>,
    /// The HTTPS servers terminating TLS, one route configuration each.
    tls: Vec<Listened>,
    /// The hosts of the servers with TLS settings so far (`CheckDuplicates`).
    tls_hosts: Vec<String>,
}

/// model/gateway.go `mergeGateways` for one Gateway: servers grouped by port, in order. A server
/// with TLS settings repeating a host another such server on the port has is skipped
/// (`CheckDuplicates`); a plain-text server whose protocol cannot merge with the port's first
/// plain-text server is skipped (`canMergeProtocols`: HTTP protocols merge with HTTP protocols).
/// HTTP servers (`IsHTTPServer`: an HTTP protocol, or HTTPS terminating TLS) get routes; TCP, TLS
/// and passthrough servers do not.
fn merge_servers(gateway: &Gateway, namespace: &str) -> Vec<Listener> {
    let mut listeners: BTreeMap<u16, Listener> = BTreeMap::new();
    for (i, server) in gateway.servers.iter().enumerate() {
        let Some(spec) = server.port.as_ref() else {
            continue;
        };
        let Some(port) = u16::try_from(spec.number).ok().filter(|p| *p != 0) else {
            continue;
        };
        let protocol = Protocol::parse(&spec.protocol);
        let tls = server.tls.as_ref();
        let passthrough = tls.is_some_and(|t| {
            matches!(
                t.mode,
                ServerTlsMode::Passthrough | ServerTlsMode::AutoPassthrough
            )
        });
        // gateway.go `IsTLSServer` and `IsHTTPServer`.
        let tls_server = tls.is_some() && !protocol.is_http();
        let http_server = protocol.is_http() || (protocol == Protocol::Https && !passthrough);
        let listened = Listened {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            hosts: server_hosts(&server.hosts, namespace),
            https_redirect: tls.is_some_and(|t| t.https_redirect),
        };
        let listener = listeners.entry(port).or_insert_with(|| Listener {
            port,
            plain_protocol: None,
            plain: Vec::new(),
            tls: Vec::new(),
            tls_hosts: Vec::new(),
        });
        if tls.is_some() {
            if listened
                .hosts
                .iter()
                .any(|h| listener.tls_hosts.contains(h))
            {
                continue;
            }
            listener.tls_hosts.extend(listened.hosts.iter().cloned());
        }
        match listener.plain_protocol {
            Some(first) => {
                let can_merge = (protocol.is_http() || protocol == first) && first.is_http();
                if can_merge && http_server {
                    listener.plain.push(listened);
                }
            }
            None if !tls_server => {
                listener.plain_protocol = Some(protocol);
                if http_server {
                    listener.plain.push(listened);
                }
            }
            None if http_server => listener.tls.push(listened),
            None => {}
        }
    }
    listeners.into_values().collect()
}

/// The server names of an HTTPS server's filter chain (model/gateway.go `GetSNIHostsForServer`,
/// listener.go `toFilterChainMatch`): its hosts without namespaces, lowercased; none (any name)
/// when one is `*`.
fn server_names(hosts: &[String]) -> Vec<Box<str>> {
    let mut names: Vec<Box<str>> = hosts
        .iter()
        .map(|h| h.split_once('/').map_or(h.as_str(), |(_, name)| name))
        .map(|h| h.to_ascii_lowercase().into_boxed_str())
        .collect();
    if names.iter().any(|n| &**n == "*") {
        return Vec::new();
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// gateway.go `buildGatewayHTTPRouteConfig` for one route configuration: for each server and
/// each visible VirtualService, the VirtualService's hosts intersected with the server hosts
/// that select its namespace become virtual hosts (lowercased) holding its routes for this port;
/// an empty intersection, or a VirtualService without routes here
/// (`BuildHTTPRoutesForVirtualService` fails with "no routes matched"), adds nothing. Routes of
/// several VirtualServices for one host are concatenated, catch-alls moved to the end
/// (`SortVHostRoutes`). A server with `tls.httpsRedirect` makes its virtual hosts require TLS and
/// adds one for each of its hosts no VirtualService claims.
fn route_config(
    compiled: &[CompiledVs],
    gateway: &str,
    servers: &[Listened],
    vses: &[&GatewayBinding<'_>],
    caller: &GatewayCaller<'_>,
) -> RouteConfig {
    let mut hosts: Vec<VirtualHost> = Vec::new();
    // Routes are built once per VirtualService and route configuration.
    let mut routes: BTreeMap<u32, Vec<Entry>> = BTreeMap::new();
    for server in servers {
        let redirect = server.https_redirect.then_some(server.index);
        for binding in vses {
            let selecting = hosts_for_namespace(&server.hosts, binding.namespace);
            let vs_hosts: Vec<&str> = binding.hosts.iter().map(String::as_str).collect();
            let names = host::intersection(&selecting, &vs_hosts);
            if names.is_empty() {
                continue;
            }
            let Some(vs) = compiled.get(index(binding.vs)) else {
                continue;
            };
            let entries = routes
                .entry(binding.vs)
                .or_insert_with(|| entries_for(binding.vs, vs, gateway, Some(caller)));
            if entries.is_empty() {
                continue;
            }
            for name in names {
                if let Some(h) = vhost(&mut hosts, name) {
                    h.entries.extend(entries.iter().copied());
                    h.https_redirect = h.https_redirect.or(redirect);
                }
            }
        }
        if redirect.is_some() {
            // `ns/host` names no domain a request can carry: Istio gives it a virtual host whose
            // domain is the text `ns/host`, which never matches, so it is left out here.
            for name in server.hosts.iter().filter(|h| !h.contains('/')) {
                if let Some(h) = vhost(&mut hosts, name) {
                    h.https_redirect = h.https_redirect.or(redirect);
                }
            }
        }
    }
    let mut config = RouteConfig::default();
    for mut h in hosts {
        // route.go `SortVHostRoutes`: catch-all routes move to the end.
        let (mut entries, catch_all): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut h.entries)
            .into_iter()
            .partition(|e| !is_catch_all(compiled, e));
        entries.extend(catch_all);
        h.index = route_index(&entries, compiled);
        h.entries = entries;
        match h.domain.strip_prefix('*') {
            Some(suffix) => {
                let suffix = suffix.to_owned();
                config.wildcards.insert(&suffix, h);
            }
            None => {
                config.exact.insert(h.domain.clone(), h);
            }
        }
    }
    config
}

/// The virtual host for the domain `name` (lowercased), created when missing.
fn vhost<'h>(hosts: &'h mut Vec<VirtualHost>, name: &str) -> Option<&'h mut VirtualHost> {
    let domain = name.to_ascii_lowercase();
    let at = match hosts.iter().position(|h| *h.domain == *domain) {
        Some(at) => at,
        None => {
            hosts.push(VirtualHost {
                domain: domain.into(),
                entries: Vec::new(),
                index: None,
                https_redirect: None,
            });
            hosts.len() - 1
        }
    };
    hosts.get_mut(at)
}

fn is_catch_all(vses: &[CompiledVs], e: &Entry) -> bool {
    let Some(route) = vses
        .get(index(e.vs))
        .and_then(|vs| vs.routes.get(index(e.route)))
    else {
        return false;
    };
    if e.matcher == NO_MATCH {
        return true;
    }
    route
        .matches
        .get(index(e.matcher))
        .is_some_and(|m| m.request.is_catch_all())
}
