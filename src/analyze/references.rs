//! Cross-resource analysis: the `istioctl analyze` findings that matter for routing, at the
//! levels istioctl gives them (`pkg/config/analysis/msg/messages.yaml` in istio/istio).
//!
//! Istio's webhook accepts such configurations, and meshroute decides them the way Envoy does
//! (an undefined subset or host is a 503 NC at request time), but they are almost always
//! mistakes: `istioctl analyze` reports a missing destination host, subset or gateway (IST0101),
//! a missing port selector (IST0112) and mesh VirtualServices sharing a host (IST0109) as errors.

use std::collections::{BTreeMap, BTreeSet};

use super::hosts::destination_hosts;
use crate::config::{Body, Destination, DestinationRule, Gateway, Resource, VirtualService};
use crate::diagnostic::{Code, Diagnostic};
use crate::registry::gateways::{gateway_ref, hosts_for_namespace, server_hosts};
use crate::registry::services::Services;
use crate::registry::visibility::{ExportTo, MeshSettings};
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
/// and IST0132 VirtualServiceHostNotFoundInGateway, as istioctl's `GatewayAnalyzer` reports them
/// (istio/istio `pkg/config/analysis/analyzers/virtualservice/gateways.go`): one IST0132 per
/// gateway reference when none of the VirtualService's hosts intersects a host of the Gateway's
/// servers that selects the VirtualService's namespace (`ns/host`, `./host`, `*/host`, as routing
/// selects them). A missing Gateway exposes nothing, so it gets both findings. The
/// VirtualService's hosts are compared as written: istioctl does not qualify short names here.
fn gateway_references(
    sink: &mut Sink<'_>,
    vs: &VirtualService,
    gateways: &[(&Resource, &Gateway)],
) {
    let namespace = sink.resource().namespace().to_owned();
    let name = sink.resource().name().to_owned();
    let vs_hosts: Vec<&str> = vs.hosts.iter().map(String::as_str).collect();
    for (i, reference) in vs.gateways.iter().enumerate() {
        if reference == "mesh" {
            continue;
        }
        let (gw_ns, gw_name) = gateway_ref(reference, &namespace);
        let gateway = gateways
            .iter()
            .find(|(r, _)| r.namespace() == gw_ns && r.name() == gw_name);
        if gateway.is_none() {
            sink.analysis(
                Code::ReferencedResourceNotFound,
                format!("spec.gateways[{i}]"),
                format!("Referenced gateway not found: \"{gw_ns}/{gw_name}\""),
            );
        }
        let server_hosts: Vec<String> = gateway
            .into_iter()
            .flat_map(|(_, g)| g.servers.iter())
            .flat_map(|s| server_hosts(&s.hosts, &gw_ns))
            .collect();
        let selecting = hosts_for_namespace(&server_hosts, &namespace);
        if host::intersection(&selecting, &vs_hosts).is_empty() {
            sink.analysis(
                Code::VirtualServiceHostNotFoundInGateway,
                format!("spec.gateways[{i}]"),
                format!(
                    "one or more host [{}] defined in VirtualService {namespace}/{name} not found in Gateway {gw_ns}/{gw_name}: no server host of the Gateway covers them for namespace {namespace}, so the gateway never routes them; add one (`host`, `{namespace}/host` or `*/host`)",
                    vs.hosts.join(" "),
                ),
            );
        }
    }
}

/// IST0109 ConflictingMeshGatewayVirtualServiceHosts: on sidecars VirtualServices are not merged,
/// only the oldest one for a host applies. Grouped as istioctl's
/// `ConflictingMeshGatewayHostsAnalyzer` groups them
/// (`pkg/config/analysis/analyzers/virtualservice/conflictingmeshgatewayhosts.go`):
///
/// - every host of a VirtualService bound to `mesh` (or to no gateway), made fully qualified in
///   its namespace, is claimed once per scope: `*` when the VirtualService is exported to every
///   namespace (no `exportTo`, or one containing `*`; MeshConfig's default is not read), else each
///   namespace it is exported to (`.` being its own);
/// - the claims of one scope and host conflict with each other, and a namespace scope's claims
///   also with every `*` claim whose host matches (wildcards included); `*` claims of different
///   hosts never conflict, even when one host's wildcard covers the other;
/// - a VirtualService listing one host twice (`svc` and its FQDN) claims it twice, and conflicts
///   with itself;
/// - each VirtualService is reported once, for the first conflicting scope and host (istioctl
///   walks a Go map; meshroute goes in sorted order), naming them as `scope/host`.
fn conflicting_mesh_hosts(
    virtual_services: &[(&Resource, &VirtualService)],
    out: &mut Vec<Diagnostic>,
) {
    // initMeshGatewayHosts: (scope, host) → the claims (VirtualService, index in spec.hosts).
    let mut claims: BTreeMap<(String, String), Vec<(&Resource, usize)>> = BTreeMap::new();
    for (resource, vs) in virtual_services {
        let mesh = vs.gateways.is_empty() || vs.gateways.iter().any(|g| g == "mesh");
        if !mesh {
            continue;
        }
        let namespace = resource.namespace();
        let export = ExportTo::new(&vs.export_to, namespace, &[]);
        let scopes: Vec<&str> = if export.is_public() {
            vec!["*"]
        } else {
            export.namespaces().iter().map(|ns| &**ns).collect()
        };
        for scope in scopes {
            for (i, h) in vs.hosts.iter().enumerate() {
                claims
                    .entry((scope.to_owned(), host::resolve(h, namespace)))
                    .or_default()
                    .push((resource, i));
            }
        }
    }
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for ((scope, fqdn), own) in &claims {
        let mut group = own.clone();
        if scope != "*" {
            // getExportToAllNamespacesVSListForScopedHost
            group.extend(
                claims
                    .iter()
                    .filter(|((s, h), _)| s == "*" && host::matches(fqdn, h))
                    .flat_map(|(_, c)| c.iter().copied()),
            );
        }
        if group.len() < 2 {
            continue;
        }
        let mut names: Vec<String> = group.iter().map(|(r, _)| r.key()).collect();
        names.sort();
        let names = names.join(",");
        for (resource, i) in group {
            if !reported.insert(resource.key()) {
                continue;
            }
            let mut sink = Sink::new(resource, out);
            sink.analysis(
                Code::ConflictingMeshGatewayVirtualServiceHosts,
                format!("spec.hosts[{i}]"),
                format!(
                    "The VirtualServices {names} associated with mesh gateway define the same host {scope}/{fqdn} which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource."
                ),
            );
        }
    }
}
