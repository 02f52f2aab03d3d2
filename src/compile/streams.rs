//! Lowering `tcp` and `tls` rules into the tables connections are decided on: each
//! VirtualService's rules with their matches and weighted destinations, the services a sidecar
//! can connect to (ports and their protocols, addresses, the VirtualServices whose hosts match
//! them), and each gateway's filter chains per listener port (istio/istio
//! `pilot/pkg/networking/core/tls.go`, `gateway.go`, `listener.go`; `pilot/pkg/model/gateway.go`;
//! `pkg/config/kube/conversion.go`).

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::known::Known;
use crate::config::{
    Body, Gateway, Location, Resource, RouteDestination, Server, ServerTlsMode, ServiceSpecPort,
    VirtualService,
};
use crate::route::choice::WeightedChoice;
use crate::route::decision::RouteKind;
use crate::route::stream::{
    ChainTarget, Cidr, GatewayChain, GatewayPort, L4Destination, L4Match, L4Rule, PortProtocol,
    StreamService, StreamTables, StreamVs,
};
use crate::route::table::CompiledVs;
use crate::util::gateways::{bound_gateways, gateway_key};
use crate::util::host;

/// A root VirtualService as this lowering reads it.
struct Bound<'r> {
    /// `namespace/name`.
    key: Box<str>,
    namespace: &'r str,
    vs: &'r VirtualService,
    /// Resolved `gateways` (`mesh` when empty).
    gateways: Vec<String>,
    /// Resolved hosts.
    hosts: Vec<String>,
}

/// Builds the stream tables. `roots` are the root VirtualServices in Istio's order, `compiled`
/// their compiled HTTP side (same order; its keys and `exportTo` are reused).
pub(super) fn lower(
    resources: &[&Resource],
    roots: &[(&Resource, &VirtualService)],
    compiled: &[CompiledVs],
    known: &Known<'_>,
) -> StreamTables {
    let mut tables = StreamTables::default();
    let mut bound = Vec::new();
    let mut rules = Vec::new();
    for (i, (resource, vs)) in roots.iter().enumerate() {
        let namespace = resource.namespace();
        let key = compiled
            .get(i)
            .map_or_else(|| resource.key().into(), |c| c.key.clone());
        let tcp = vs
            .tcp
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let matches = rule
                    .matches
                    .iter()
                    .enumerate()
                    .map(|(m, attrs)| {
                        l4_match(
                            m,
                            MatchFields {
                                port: attrs.port,
                                source_labels: &attrs.source_labels,
                                source_namespace: &attrs.source_namespace,
                                gateways: &attrs.gateways,
                                destination_subnets: &attrs.destination_subnets,
                                sni_hosts: &[],
                            },
                            namespace,
                        )
                    })
                    .collect();
                l4_rule(index, matches, &rule.route, namespace, known)
            })
            .collect();
        let tls = vs
            .tls
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let matches = rule
                    .matches
                    .iter()
                    .enumerate()
                    .map(|(m, attrs)| {
                        l4_match(
                            m,
                            MatchFields {
                                port: attrs.port,
                                source_labels: &attrs.source_labels,
                                source_namespace: &attrs.source_namespace,
                                gateways: &attrs.gateways,
                                destination_subnets: &attrs.destination_subnets,
                                sni_hosts: &attrs.sni_hosts,
                            },
                            namespace,
                        )
                    })
                    .collect();
                l4_rule(index, matches, &rule.route, namespace, known)
            })
            .collect();
        rules.push((tcp, tls));
        bound.push(Bound {
            key: key.to_string().into(),
            namespace,
            vs,
            gateways: bound_gateways(&vs.gateways, namespace),
            hosts: vs
                .hosts
                .iter()
                .map(|h| host::resolve(h, namespace))
                .collect(),
        });
    }
    for (b, (tcp, tls)) in bound.iter().zip(rules) {
        tables.vses.push(StreamVs {
            key: b.key.clone(),
            tcp,
            tls,
        });
    }
    services(resources, &bound, known, &mut tables);
    for resource in resources {
        if let Body::Gateway(gateway) = &resource.body {
            let key = resource.key();
            let ports = gateway_ports(&key, resource.namespace(), gateway, &bound, compiled);
            tables.gateways.insert(key.into(), ports);
        }
    }
    tables
}

/// The fields `L4MatchAttributes` and `TLSMatchAttributes` share (`sniHosts` is TLS only).
struct MatchFields<'a> {
    port: Option<u32>,
    source_labels: &'a std::collections::BTreeMap<String, String>,
    source_namespace: &'a str,
    gateways: &'a [String],
    destination_subnets: &'a [String],
    sni_hosts: &'a [String],
}

fn l4_match(index: usize, fields: MatchFields<'_>, namespace: &str) -> L4Match {
    // listener.go `toFilterChainMatch` drops `0.0.0.0` prefixes from the filter chain match.
    let destination_subnets = fields
        .destination_subnets
        .iter()
        .filter(|s| s.split('/').next().map(str::trim) != Some("0.0.0.0"))
        .filter_map(|s| Cidr::parse(s))
        .collect();
    L4Match {
        index,
        port: fields
            .port
            .filter(|p| *p != 0)
            .and_then(|p| u16::try_from(p).ok()),
        source_labels: fields
            .source_labels
            .iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
            .collect(),
        source_namespace: (!fields.source_namespace.is_empty())
            .then(|| fields.source_namespace.into()),
        gateways: fields
            .gateways
            .iter()
            .map(|g| gateway_key(g, namespace).into())
            .collect(),
        destination_subnets,
        has_subnets: !fields.destination_subnets.is_empty(),
        sni_hosts: fields
            .sni_hosts
            .iter()
            .map(|s| s.to_ascii_lowercase().into())
            .collect(),
        runtime_key: format!(
            "{}|{}",
            fields.sni_hosts.join(","),
            fields.destination_subnets.join(",")
        )
        .into(),
    }
}

/// A rule's destinations, resolved in the VirtualService's namespace (virtualservice.go
/// `ResolveVirtualServiceShortnames`), and Envoy's weighted clusters over them.
fn l4_rule(
    index: usize,
    matches: Vec<L4Match>,
    route: &[RouteDestination],
    namespace: &str,
    known: &Known<'_>,
) -> L4Rule {
    let destinations = route
        .iter()
        .map(|d| {
            let dest = d.destination.clone().unwrap_or_default();
            let fqdn = host::resolve(&dest.host, namespace);
            L4Destination {
                service_port: known.service_port(&fqdn),
                port: dest
                    .port
                    .as_ref()
                    .and_then(|p| u16::try_from(p.number).ok())
                    .filter(|p| *p != 0),
                subset: (!dest.subset.is_empty()).then(|| dest.subset.as_str().into()),
                host: fqdn.into(),
            }
        })
        .collect();
    let weights: Vec<u32> = route
        .iter()
        .map(|d| u32::try_from(d.weight.unwrap_or(0)).unwrap_or(0))
        .collect();
    L4Rule {
        index,
        matches,
        destinations,
        choice: WeightedChoice::new(&weights),
    }
}

/// Istio's `kube.ConvertProtocol` (`pkg/config/kube/conversion.go`): UDP, else `appProtocol`
/// (with Kubernetes' standard names), else the port name's prefix before `-`; an unknown
/// protocol on a well-known port (SMTP, DNS, MySQL, MongoDB) is TCP.
fn kubernetes_protocol(port: &ServiceSpecPort) -> PortProtocol {
    if port.protocol.as_deref() == Some("UDP") {
        return PortProtocol::Udp;
    }
    let mut name = port.name.as_str();
    if let Some(app) = port.app_protocol.as_deref() {
        match app {
            "kubernetes.io/h2c" | "kubernetes.io/ws" => return PortProtocol::Http,
            "kubernetes.io/wss" => return PortProtocol::Tls,
            _ => name = app,
        }
    }
    if name
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("grpc-web"))
    {
        return PortProtocol::Http;
    }
    let prefix = name.split('-').next().unwrap_or(name);
    match PortProtocol::parse(prefix) {
        PortProtocol::Sniffed if [25, 53, 3306, 27017].contains(&port.port) => PortProtocol::Tcp,
        other => other,
    }
}

/// The services of the configuration as sidecar listeners see them.
fn services(
    resources: &[&Resource],
    bound: &[Bound<'_>],
    known: &Known<'_>,
    tables: &mut StreamTables,
) {
    let add = |tables: &mut StreamTables,
               fqdn: String,
               ports: Vec<(u16, PortProtocol)>,
               address: Option<IpAddr>,
               has_vip: bool,
               mesh_internal: bool| {
        if tables.by_host.contains_key(fqdn.as_str()) {
            return;
        }
        let index = u32::try_from(tables.services.len()).unwrap_or(u32::MAX);
        // tls.go `getConfigsForHost`: every mesh VirtualService with a host matching the
        // service, in order.
        let virtual_services = bound
            .iter()
            .enumerate()
            .filter(|(_, b)| b.gateways.iter().any(|g| g == "mesh"))
            .filter(|(_, b)| b.hosts.iter().any(|h| host::matches(h, &fqdn)))
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect();
        let subsets = known
            .rule_for(&fqdn)
            .map(|rule| {
                rule.subsets
                    .iter()
                    .map(|s| s.name.as_str().into())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(suffix) = fqdn.strip_prefix('*') {
            tables.wildcard_services.insert(suffix, index);
        }
        if let Some(ip) = address {
            tables.by_address.entry(ip).or_insert(index);
        }
        tables.by_host.insert(fqdn.as_str().into(), index);
        tables.services.push(StreamService {
            fqdn: fqdn.into(),
            ports,
            address,
            has_vip,
            mesh_internal,
            subsets,
            virtual_services,
        });
    };
    for resource in resources {
        match &resource.body {
            Body::Service(svc) => {
                // listener.go: alias (ExternalName) services get no listeners.
                if svc.type_.as_deref() == Some("ExternalName") {
                    continue;
                }
                let fqdn = host::resolve(resource.name(), resource.namespace());
                let ports = svc
                    .ports
                    .iter()
                    .filter_map(|p| Some((u16::try_from(p.port).ok()?, kubernetes_protocol(p))))
                    .collect();
                let cluster_ip = svc.cluster_ip.as_deref();
                let address = cluster_ip.and_then(|ip| ip.parse().ok());
                // Kubernetes assigns a cluster IP unless the service is headless.
                let has_vip = cluster_ip != Some("None");
                add(tables, fqdn, ports, address, has_vip, true);
            }
            Body::ServiceEntry(se) => {
                let ports: Vec<(u16, PortProtocol)> = se
                    .ports
                    .iter()
                    .filter_map(|p| {
                        Some((
                            u16::try_from(p.number).ok()?,
                            PortProtocol::parse(&p.protocol),
                        ))
                    })
                    .collect();
                // An address (not a CIDR) is the listener's own address (listener.go).
                let address = se.addresses.iter().find_map(|a| a.parse::<IpAddr>().ok());
                let internal = se.location == Location::MeshInternal;
                for h in &se.hosts {
                    let fqdn = h.to_ascii_lowercase();
                    add(
                        tables,
                        fqdn,
                        ports.clone(),
                        address,
                        address.is_some(),
                        internal,
                    );
                }
            }
            _ => {}
        }
    }
}

/// A server host as the merged gateway holds it (model/gateway.go
/// `sanitizeServerHostNamespace`): `(namespace it selects, host)`.
fn server_hosts(server: &Server, gateway_namespace: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    for h in &server.hosts {
        let h = h.to_ascii_lowercase();
        match h.split_once('/') {
            Some((".", rest)) => out.push((Some(gateway_namespace.to_owned()), rest.to_owned())),
            Some(("*", "*")) => return vec![(None, "*".to_owned())],
            Some(("*", rest)) => out.push((None, rest.to_owned())),
            Some((ns, rest)) => out.push((Some(ns.to_owned()), rest.to_owned())),
            None => out.push((None, h)),
        }
    }
    out
}

/// model/gateway.go `GetSNIHostsForServer`: the server's hosts without namespaces, sorted.
fn server_sni_hosts(hosts: &[(Option<String>, String)]) -> Vec<Box<str>> {
    let set: BTreeSet<&str> = hosts.iter().map(|(_, h)| h.as_str()).collect();
    set.into_iter().map(Into::into).collect()
}

/// gateway.go `pickMatchingGatewayHosts`: whether one of the VirtualService's hosts matches a
/// server host that selects its namespace.
fn hosts_match(server: &[(Option<String>, String)], vs: &Bound<'_>) -> bool {
    server.iter().any(|(ns, h)| {
        ns.as_deref().is_none_or(|ns| ns == vs.namespace)
            && vs.hosts.iter().any(|vh| host::matches(h, vh))
    })
}

/// gateway.go `l4SingleMatch`: only `port` (against the server's) and `gateways` count.
fn gateway_match(m: &L4Match, port: u16, gateway: &str) -> bool {
    m.port.is_none_or(|p| p == port)
        && (m.gateways.is_empty() || m.gateways.iter().any(|g| &**g == gateway))
}

/// A gateway's listener ports and their filter chains (gateway.go `buildGatewayListeners`,
/// `createGatewayTCPFilterChainOpts`; server merging as model/gateway.go `mergeGateways`).
fn gateway_ports(
    key: &str,
    namespace: &str,
    gateway: &Gateway,
    bound: &[Bound<'_>],
    compiled: &[CompiledVs],
) -> Vec<GatewayPort> {
    // VirtualServices bound to the gateway and visible in its namespace, oldest first
    // (`VirtualServicesForGateway`).
    let candidates: Vec<u32> = bound
        .iter()
        .enumerate()
        .filter(|(_, b)| b.gateways.iter().any(|g| g == key))
        .filter(|(i, _)| compiled.get(*i).is_some_and(|c| c.visible_to(namespace)))
        .filter_map(|(i, _)| u32::try_from(i).ok())
        .collect();
    let servers: Vec<(usize, u16, &Server)> = gateway
        .servers
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, u16::try_from(s.port.as_ref()?.number).ok()?, s)))
        .collect();
    let mut ports: Vec<u16> = Vec::new();
    for (_, p, _) in &servers {
        if !ports.contains(p) {
            ports.push(*p);
        }
    }
    let streams = GatewayStreams {
        key,
        namespace,
        bound,
        candidates: &candidates,
    };
    ports
        .into_iter()
        .map(|port| {
            let on_port: Vec<(usize, &Server)> = servers
                .iter()
                .filter(|(_, p, _)| *p == port)
                .map(|(i, _, s)| (*i, *s))
                .collect();
            streams.port(port, &on_port)
        })
        .collect()
}

/// What building one gateway's chains needs.
struct GatewayStreams<'a, 'r> {
    key: &'a str,
    namespace: &'a str,
    bound: &'a [Bound<'r>],
    candidates: &'a [u32],
}

impl GatewayStreams<'_, '_> {
    fn port(&self, port: u16, servers: &[(usize, &Server)]) -> GatewayPort {
        let mut listener = GatewayPort {
            port,
            ..GatewayPort::default()
        };
        let Some(&(first_index, first)) = servers.first() else {
            return listener;
        };
        fn protocol_name(s: &Server) -> &str {
            s.port.as_ref().map_or("", |p| p.protocol.as_str())
        }
        if first.tls.is_none() {
            // A plain-text port: HTTP servers share one HTTP connection manager; a TCP server
            // takes the port alone (model/gateway.go: later servers conflict and are skipped).
            if PortProtocol::parse(protocol_name(first)) == PortProtocol::Http {
                listener.http = true;
                return listener;
            }
            for (i, _) in servers.iter().skip(1) {
                listener.notes.push(format!(
                    "server #{i} skipped: port {port} is taken by the plain-text server #{first_index}"
                ));
            }
            let hosts = server_hosts(first, self.namespace);
            self.tcp_chain(&mut listener, first_index, &hosts, Vec::new());
            return listener;
        }
        // TLS servers, told apart by SNI; a server repeating an earlier server's host is
        // skipped (model/gateway.go `CheckDuplicates`), as is a later match repeating an SNI
        // host (gateway.go `buildGatewayNetworkFiltersFromTLSRoutes`).
        let mut claimed_hosts: Vec<String> = Vec::new();
        let mut claimed_sni: Vec<String> = Vec::new();
        for &(index, server) in servers {
            let Some(tls) = &server.tls else {
                listener.notes.push(format!(
                    "server #{index} skipped: no tls settings on port {port}, whose servers use TLS"
                ));
                continue;
            };
            let written: Vec<String> = server
                .hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect();
            if written.iter().any(|h| claimed_hosts.contains(h)) {
                listener.notes.push(format!(
                    "server #{index} skipped: a host of it is already served on port {port}"
                ));
                continue;
            }
            claimed_hosts.extend(written);
            let hosts = server_hosts(server, self.namespace);
            let sni_hosts = server_sni_hosts(&hosts);
            let protocol = PortProtocol::parse(protocol_name(server));
            match tls.mode {
                ServerTlsMode::AutoPassthrough => listener.chains.push(GatewayChain {
                    server: index,
                    sni_hosts: Vec::new(),
                    target: ChainTarget::AutoPassthrough { hosts: sni_hosts },
                }),
                ServerTlsMode::Passthrough => {
                    self.tls_chains(&mut listener, index, &hosts, &mut claimed_sni);
                }
                _ if protocol == PortProtocol::Http
                    || protocol_name(server).eq_ignore_ascii_case("https") =>
                {
                    listener.chains.push(GatewayChain {
                        server: index,
                        sni_hosts,
                        target: ChainTarget::Http,
                    });
                }
                _ => self.tcp_chain(&mut listener, index, &hosts, sni_hosts),
            }
        }
        listener
    }

    /// gateway.go `buildGatewayNetworkFiltersFromTCPRoutes`: the first `tcp` rule (of the
    /// oldest VirtualService whose hosts match the server) with a holding match (or none).
    fn tcp_chain(
        &self,
        listener: &mut GatewayPort,
        server: usize,
        hosts: &[(Option<String>, String)],
        sni_hosts: Vec<Box<str>>,
    ) {
        let port = listener.port;
        for &vs in self.candidates {
            let Some(b) = self.bound.get(usize::try_from(vs).unwrap_or(usize::MAX)) else {
                continue;
            };
            if !hosts_match(hosts, b) {
                continue;
            }
            for (r, rule) in b.vs.tcp.iter().enumerate() {
                let namespace = b.namespace;
                let matches: Vec<L4Match> = rule
                    .matches
                    .iter()
                    .enumerate()
                    .map(|(m, attrs)| {
                        l4_match(
                            m,
                            MatchFields {
                                port: attrs.port,
                                source_labels: &attrs.source_labels,
                                source_namespace: &attrs.source_namespace,
                                gateways: &attrs.gateways,
                                destination_subnets: &attrs.destination_subnets,
                                sni_hosts: &[],
                            },
                            namespace,
                        )
                    })
                    .collect();
                let holding = matches
                    .iter()
                    .find(|m| gateway_match(m, port, self.key))
                    .map(|m| m.index);
                if (matches.is_empty() || holding.is_some()) && !rule.route.is_empty() {
                    listener.chains.push(GatewayChain {
                        server,
                        sni_hosts,
                        target: ChainTarget::Rule {
                            vs,
                            kind: RouteKind::Tcp,
                            rule: r,
                            matched: holding,
                        },
                    });
                    return;
                }
            }
        }
        listener.notes.push(format!(
            "server #{server}: no VirtualService bound to {} has a tcp rule for port {port}: the server has no filter chain",
            self.key
        ));
    }

    /// gateway.go `buildGatewayNetworkFiltersFromTLSRoutes`: one chain per holding `tls` match
    /// of every VirtualService whose hosts match the server, on its `sniHosts`.
    fn tls_chains(
        &self,
        listener: &mut GatewayPort,
        server: usize,
        hosts: &[(Option<String>, String)],
        claimed: &mut Vec<String>,
    ) {
        let port = listener.port;
        for &vs in self.candidates {
            let Some(b) = self.bound.get(usize::try_from(vs).unwrap_or(usize::MAX)) else {
                continue;
            };
            if !hosts_match(hosts, b) {
                continue;
            }
            for (r, rule) in b.vs.tls.iter().enumerate() {
                if rule.route.is_empty() {
                    continue;
                }
                for (m, attrs) in rule.matches.iter().enumerate() {
                    let l4 = l4_match(
                        m,
                        MatchFields {
                            port: attrs.port,
                            source_labels: &attrs.source_labels,
                            source_namespace: &attrs.source_namespace,
                            gateways: &attrs.gateways,
                            destination_subnets: &attrs.destination_subnets,
                            sni_hosts: &attrs.sni_hosts,
                        },
                        b.namespace,
                    );
                    if !gateway_match(&l4, port, self.key) {
                        continue;
                    }
                    let duplicates: Vec<&String> = attrs
                        .sni_hosts
                        .iter()
                        .filter(|h| claimed.contains(h))
                        .collect();
                    if !duplicates.is_empty() {
                        listener.notes.push(format!(
                            "{} tls[{r}] match #{m} skipped on port {port}: SNI hosts {duplicates:?} already have a filter chain",
                            self.key_of(vs)
                        ));
                        continue;
                    }
                    claimed.extend(attrs.sni_hosts.iter().cloned());
                    listener.chains.push(GatewayChain {
                        server,
                        sni_hosts: l4.sni_hosts,
                        target: ChainTarget::Rule {
                            vs,
                            kind: RouteKind::Tls,
                            rule: r,
                            matched: Some(m),
                        },
                    });
                }
            }
        }
    }

    fn key_of(&self, vs: u32) -> &str {
        self.bound
            .get(usize::try_from(vs).unwrap_or(usize::MAX))
            .map_or("", |b| &*b.key)
    }
}
