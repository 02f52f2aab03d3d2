//! Cross-resource analysis: the `istioctl analyze` findings that matter for routing, at the
//! levels istioctl gives them (`pkg/config/analysis/msg/messages.yaml` in istio/istio).
//!
//! Istio's webhook accepts such configurations, and meshroute decides them the way Envoy does
//! (an undefined subset or host is a 503 NC at request time), but they are almost always
//! mistakes: `istioctl analyze` reports a missing destination host, subset or gateway (IST0101),
//! a missing port selector (IST0112) and mesh VirtualServices sharing a host (IST0109) as errors.

use std::collections::BTreeMap;

use super::hosts::destination_hosts;
use crate::config::{Body, Destination, DestinationRule, Gateway, Resource, VirtualService};
use crate::diagnostic::{Code, Diagnostic};
use crate::registry::gateways::gateway_ref;
use crate::registry::services::Services;
use crate::registry::visibility::MeshSettings;
use crate::util::host;
use crate::validate::sink::Sink;

pub(crate) fn analyze(resources: &[&Resource], out: &mut Vec<Diagnostic>) {
    let destination_rules: Vec<(&Resource, &DestinationRule)> = resources
        .iter()
        .filter_map(|&r| match &r.body {
            Body::DestinationRule(dr) => Some((r, dr.as_ref())),
            _ => None,
        })
        .collect();
    let gateways: Vec<(&Resource, &Gateway)> = resources
        .iter()
        .filter_map(|&r| match &r.body {
            Body::Gateway(gw) => Some((r, gw.as_ref())),
            _ => None,
        })
        .collect();
    let virtual_services: Vec<(&Resource, &VirtualService)> = resources
        .iter()
        .filter_map(|&r| match &r.body {
            Body::VirtualService(vs) => Some((r, vs.as_ref())),
            _ => None,
        })
        .collect();

    // istioctl's service lookup reads each service's own `exportTo` only, never MeshConfig's
    // defaults (`util.InitServiceEntryHostMap`): hence the default settings.
    let services = Services::new(resources, &MeshSettings::default());

    for (resource, vs) in &virtual_services {
        let mut sink = Sink::new(resource, out);
        destination_hosts(&mut sink, vs, &services);
        undefined_subsets(&mut sink, vs, &destination_rules);
        gateway_references(&mut sink, vs, &gateways);
    }
    conflicting_mesh_hosts(&virtual_services, out);
}

/// IST0101 ReferencedResourceNotFound: a route or mirror names a subset that no DestinationRule
/// for its host defines. Envoy answers such requests with 503 (flag NC).
fn undefined_subsets(
    sink: &mut Sink<'_>,
    vs: &VirtualService,
    rules: &[(&Resource, &DestinationRule)],
) {
    let namespace = sink.resource().namespace().to_owned();
    let check = |sink: &mut Sink<'_>, path: String, d: &Destination| {
        if d.subset.is_empty() {
            return;
        }
        let fqdn = host::resolve(&d.host, &namespace);
        let defined = rules.iter().any(|(r, dr)| {
            host::matches(&host::resolve(&dr.host, r.namespace()), &fqdn)
                && dr.subsets.iter().any(|s| s.name == d.subset)
        });
        if !defined {
            sink.analysis(
                Code::ReferencedResourceNotFound,
                path,
                format!(
                    "Referenced host+subset in destinationrule not found: \"{}+{}\": requests routed here get 503 (no cluster); define subset {:?} in a DestinationRule for {}",
                    d.host, d.subset, d.subset, fqdn
                ),
            );
        }
    };
    for (i, route) in vs.http.iter().enumerate() {
        for (j, dest) in route.route.iter().enumerate() {
            if let Some(d) = &dest.destination {
                check(
                    sink,
                    format!("spec.http[{i}].route[{j}].destination.subset"),
                    d,
                );
            }
        }
        if let Some(d) = &route.mirror {
            check(sink, format!("spec.http[{i}].mirror.subset"), d);
        }
        for (j, mirror) in route.mirrors.iter().enumerate() {
            if let Some(d) = mirror.as_ref().and_then(|m| m.destination.as_ref()) {
                check(
                    sink,
                    format!("spec.http[{i}].mirrors[{j}].destination.subset"),
                    d,
                );
            }
        }
    }
}

/// IST0101 for gateways (a VirtualService bound to a Gateway that is not in the configuration)
/// and IST0132 VirtualServiceHostNotFoundInGateway.
fn gateway_references(
    sink: &mut Sink<'_>,
    vs: &VirtualService,
    gateways: &[(&Resource, &Gateway)],
) {
    let namespace = sink.resource().namespace().to_owned();
    for (i, name) in vs.gateways.iter().enumerate() {
        if name == "mesh" {
            continue;
        }
        let (gw_ns, gw_name) = gateway_ref(name, &namespace);
        let Some((gw_resource, gateway)) = gateways
            .iter()
            .find(|(r, _)| r.namespace() == gw_ns && r.name() == gw_name)
        else {
            sink.analysis(
                Code::ReferencedResourceNotFound,
                format!("spec.gateways[{i}]"),
                format!("Referenced gateway not found: \"{gw_ns}/{gw_name}\""),
            );
            continue;
        };
        let gateway_hosts: Vec<(String, String)> = gateway
            .servers
            .iter()
            .flat_map(|s| s.hosts.iter())
            .map(|h| match h.split_once('/') {
                Some((ns, h)) => (ns.to_owned(), h.to_ascii_lowercase()),
                None => ("*".to_owned(), h.to_ascii_lowercase()),
            })
            .collect();
        for (j, vs_host) in vs.hosts.iter().enumerate() {
            let vs_host = vs_host.to_ascii_lowercase();
            let exposed = gateway_hosts.iter().any(|(ns, h)| {
                (ns == "*" || ns == "." && namespace == gw_resource.namespace() || *ns == namespace)
                    && host::matches(h, &vs_host)
            });
            if !exposed {
                sink.analysis(
                    Code::VirtualServiceHostNotFoundInGateway,
                    format!("spec.hosts[{j}]"),
                    format!("one or more host [{vs_host}] defined in VirtualService {}/{} not found in Gateway {gw_ns}/{gw_name}", namespace, sink.resource().name()),
                );
            }
        }
    }
}

/// IST0109 ConflictingMeshGatewayVirtualServiceHosts: on sidecars VirtualServices are not merged,
/// only the oldest one for a host applies.
fn conflicting_mesh_hosts(
    virtual_services: &[(&Resource, &VirtualService)],
    out: &mut Vec<Diagnostic>,
) {
    let mut by_host: BTreeMap<String, Vec<(&Resource, usize)>> = BTreeMap::new();
    for (resource, vs) in virtual_services {
        let mesh = vs.gateways.is_empty() || vs.gateways.iter().any(|g| g == "mesh");
        if !mesh {
            continue;
        }
        for (i, h) in vs.hosts.iter().enumerate() {
            let claims = by_host
                .entry(host::resolve(h, resource.namespace()))
                .or_default();
            // One VirtualService naming a host twice (`svc` and its FQDN) is not a conflict: Istio
            // keys the claims by VirtualService name.
            if !claims.iter().any(|(r, _)| std::ptr::eq(*r, *resource)) {
                claims.push((resource, i));
            }
        }
    }
    for (host, claims) in by_host {
        if claims.len() < 2 {
            continue;
        }
        let names: Vec<String> = claims.iter().map(|(r, _)| r.key()).collect();
        for (resource, i) in claims {
            let mut sink = Sink::new(resource, out);
            sink.analysis(
                Code::ConflictingMeshGatewayVirtualServiceHosts,
                format!("spec.hosts[{i}]"),
                format!(
                    "The VirtualServices {} associated with mesh gateway define the same host {host} which can lead to undefined behavior: sidecars use only the oldest; merge them into one VirtualService",
                    names.join(",")
                ),
            );
        }
    }
}
