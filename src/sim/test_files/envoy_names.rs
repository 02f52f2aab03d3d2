//! The names Envoy's `router_check_tool` compares, as Istio builds them: the cluster a route
//! sends to and the virtual host that took the request.
//!
//! - Clusters: `outbound|PORT|SUBSET|HOST` (istio/istio `pilot/pkg/model/service.go`
//!   `BuildSubsetKey`, the name `route/cluster.rs` gives clusters too), the port being the
//!   destination's (`pilot/pkg/networking/core/route/route.go` `GetDestinationCluster`: the
//!   route's, else the service's only port, else the listener's); `PassthroughCluster` for the
//!   catch-all of a host outside the registry (`pilot/pkg/networking/util/util.go`).
//! - Sidecar virtual hosts (`pilot/pkg/networking/core/httproute.go`
//!   `BuildSidecarOutboundVirtualHosts`): `HOST:PORT` (`util.DomainName`), the host being the
//!   service's FQDN, or a VirtualService host outside the registry as written (lowercased); the
//!   catch-all is `allow_any`.
//! - Gateway virtual hosts (`pilot/pkg/networking/core/gateway.go`
//!   `buildGatewayHTTPRouteConfig`): `HOST:PORT` per host in the intersection of the server's
//!   hosts and the VirtualService's, the port being the server's; virtual hosts with the same
//!   routes are merged into the most specific one's name (`collapseDuplicateRoutes`, on by
//!   default: `PILOT_ENABLE_ROUTE_COLLAPSE_OPTIMIZATION`; `host.MoreSpecific` orders them).
//!
//! A decision without a route entry (redirect, direct response, no route, `block_all`) has no
//! cluster and no virtual host for the tool: both are the empty string.

use std::collections::BTreeMap;

use super::manifests::{Closeness, Manifests, names};
use crate::config::{Gateway, ServerTlsMode};
use crate::route::decision::{Decision, Outcome};
use crate::route::source::Source;
use crate::util::gateways::{hosts_for_namespace, server_hosts};
use crate::util::host;
use crate::util::protocol::Protocol;

/// The cluster `decision` sends to, as Envoy names it; empty without a route entry. `port` is
/// the port the request was sent to.
pub(super) fn cluster_name(decision: &Decision<'_>, port: u16) -> String {
    match (decision.outcome(), decision.destination()) {
        (Outcome::NoVirtualService, Some(_)) if decision.service_host.is_none() => {
            "PassthroughCluster".to_owned()
        }
        (Outcome::Route | Outcome::NoVirtualService, Some(d)) => {
            host::outbound_cluster_name(d.port.unwrap_or(port), d.subset, d.host)
        }
        _ => String::new(),
    }
}

/// The request a virtual host is named for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sent<'a> {
    /// The authority's host, lowercased, without the port.
    pub(super) host: &'a str,
    pub(super) port: u16,
    /// Sent over TLS (a gateway's HTTPS servers).
    pub(super) tls: bool,
}

/// The virtual host that took the request, as Istio names it; empty without a route entry.
pub(super) fn virtual_host_name(
    decision: &Decision<'_>,
    manifests: &Manifests<'_>,
    source: &Source,
    sent: Sent<'_>,
) -> String {
    match decision.outcome() {
        Outcome::NoVirtualService => match (decision.service_host, decision.destination()) {
            (Some(fqdn), _) => format!("{fqdn}:{}", sent.port),
            (None, Some(_)) => "allow_any".to_owned(),
            (None, None) => String::new(),
        },
        Outcome::Route => {
            let Some(vs) = decision.virtual_service() else {
                return String::new();
            };
            let domain = match source.gateway_name() {
                Some(gateway) => gateway_domain(manifests, gateway, vs, sent),
                None => sidecar_domain(manifests, vs, source.namespace(), sent.host),
            };
            domain.map_or_else(String::new, |d| format!("{d}:{}", sent.port))
        }
        _ => String::new(),
    }
}

/// The domain a sidecar's virtual host for the VirtualService `vs` is named by, for a request to
/// `authority` from `namespace`.
fn sidecar_domain(
    manifests: &Manifests<'_>,
    vs: &str,
    namespace: &str,
    authority: &str,
) -> Option<String> {
    let vs = manifests.virtual_service(vs)?;
    let (host, closeness) = vs
        .hosts
        .iter()
        .filter_map(|h| names(h, authority).map(|(c, _)| (h, c)))
        .max_by_key(|(_, c)| *c)?;
    if closeness == Closeness::Exact {
        return Some(host.clone());
    }
    // A wildcard host covering a service: the virtual host is the service's (route.go
    // `separateVSHostsAndServices`).
    let service = manifests.service_hosts.iter().find(|s| {
        names(s, authority)
            .is_some_and(|(c, ns)| c == Closeness::Exact && ns.is_none_or(|ns| ns == namespace))
    });
    Some(service.unwrap_or(host).clone())
}

/// The domain of the gateway virtual host that took a request for `sent` whose route came from
/// the VirtualService `vs`.
fn gateway_domain(
    manifests: &Manifests<'_>,
    gateway_key: &str,
    vs: &str,
    sent: Sent<'_>,
) -> Option<String> {
    let gateway = manifests.gateways.get(gateway_key)?;
    let gateway_namespace = gateway_key.split_once('/').map_or("", |(ns, _)| ns);
    // Each domain of the route configuration: the VirtualServices whose routes it holds (in
    // Istio's order) and whether it redirects plain HTTP to https.
    let mut domains: BTreeMap<String, (Vec<&str>, bool)> = BTreeMap::new();
    for (server_hosts, https_redirect) in servers(gateway, gateway_namespace, sent) {
        for bound in manifests
            .virtual_services
            .iter()
            .filter(|v| !v.hosts.is_empty() && v.gateways.iter().any(|g| g == gateway_key))
        {
            let selected = hosts_for_namespace(&server_hosts, bound.namespace);
            let vs_hosts: Vec<String> = bound
                .spec
                .hosts
                .iter()
                .map(|h| host::qualify(h, bound.namespace))
                .collect();
            let vs_hosts: Vec<&str> = vs_hosts.iter().map(String::as_str).collect();
            for domain in host::intersection(&selected, &vs_hosts) {
                let entry = domains
                    .entry(domain.to_ascii_lowercase())
                    .or_insert_with(|| (Vec::new(), false));
                if !entry.0.contains(&bound.key.as_str()) {
                    entry.0.push(&bound.key);
                }
                entry.1 |= https_redirect;
            }
        }
    }
    // Envoy's domain order: the exact name, then wildcards from the longest suffix, then `*`.
    let chosen = domains
        .iter()
        .filter(|(domain, (vses, _))| vses.contains(&vs) && names(domain, sent.host).is_some())
        .max_by_key(|(domain, _)| names(domain, sent.host).map(|(c, _)| c))?;
    // collapseDuplicateRoutes: the most specific domain with the same routes names them all.
    domains
        .iter()
        .filter(|(_, routes)| *routes == chosen.1)
        .map(|(domain, _)| domain)
        .min_by(|a, b| more_specific_first(a, b))
        .cloned()
}

/// The servers of `gateway` whose route configuration takes `sent`: on its port, plain-text
/// HTTP servers for a plain request, HTTPS servers terminating TLS for a TLS one (each with
/// its hosts as Istio keeps them, and whether it redirects to https).
fn servers(gateway: &Gateway, namespace: &str, sent: Sent<'_>) -> Vec<(Vec<String>, bool)> {
    gateway
        .servers
        .iter()
        .filter(|server| {
            let Some(port) = &server.port else {
                return false;
            };
            // model/gateway.go `mergeGateways` (compile/gateways.rs `merge_servers`): HTTP
            // servers and HTTPS servers terminating TLS get routes; those with TLS settings
            // and a protocol other than HTTP are TLS servers, one route configuration each.
            let protocol = Protocol::parse(&port.protocol);
            let passthrough = server.tls.as_ref().is_some_and(|t| {
                matches!(
                    t.mode,
                    ServerTlsMode::Passthrough | ServerTlsMode::AutoPassthrough
                )
            });
            let tls_server = server.tls.is_some() && !protocol.is_http();
            let http_server = protocol.is_http() || (protocol == Protocol::Https && !passthrough);
            port.number == u32::from(sent.port) && http_server && tls_server == sent.tls
        })
        .map(|server| {
            (
                server_hosts(&server.hosts, namespace),
                server.tls.as_ref().is_some_and(|t| t.https_redirect),
            )
        })
        .collect()
}

/// istio/istio `pkg/config/host/names.go` `MoreSpecific`: names before wildcards, longer
/// before shorter, then alphabetical.
fn more_specific_first(a: &str, b: &str) -> std::cmp::Ordering {
    (a.starts_with('*'), std::cmp::Reverse(a.len()), a).cmp(&(
        b.starts_with('*'),
        std::cmp::Reverse(b.len()),
        b,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// names.go `MoreSpecific`: "we sort longest to shortest, alphabetically, with wildcards
    /// last".
    #[test]
    fn more_specific_names_sort_first() {
        let mut names = vec!["*", "b.com", "*.a.com", "a.com", "long.a.com", "*.com"];
        names.sort_by(|a, b| more_specific_first(a, b));
        assert_eq!(
            names,
            ["long.a.com", "a.com", "b.com", "*.a.com", "*.com", "*"]
        );
    }
}
