//! Cross-resource analysis: the `istioctl analyze` findings that matter for routing, at the
//! levels istioctl gives them (`pkg/config/analysis/msg/messages.yaml` in istio/istio).
//!
//! Istio's webhook accepts such configurations, and meshroute decides them the way Envoy does
//! (an undefined subset or host is a 503 NC at request time), but they are almost always
//! mistakes: `istioctl analyze` reports a missing destination host, subset or gateway (IST0101),
//! a missing port selector (IST0112) and mesh VirtualServices sharing a host (IST0109) as errors.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use rustc_hash::FxHashMap;

use super::hosts::{ServiceIndex, destination_hosts};
use crate::config::{Body, Destination, DestinationRule, Gateway, Resource, VirtualService};
use crate::diagnostic::{Code, Diagnostic};
use crate::registry::services::Services;
use crate::registry::visibility::{ExportTo, MeshSettings};
use crate::util::gateways::{gateway_ref, hosts_for_namespace, server_hosts};
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
    let services = ServiceIndex::new(&services);

    let subsets = SubsetIndex::new(&destination_rules);
    // `find` takes the first Gateway of a namespace and name.
    let mut gateway_index: HashMap<(&str, &str), &Gateway> = HashMap::new();
    for (r, gw) in &gateways {
        gateway_index.entry((r.namespace(), r.name())).or_insert(gw);
    }
    for (resource, vs) in &virtual_services {
        let mut sink = Sink::new(resource, out);
        destination_hosts(&mut sink, vs, &services);
        undefined_subsets(&mut sink, vs, &subsets);
        gateway_references(&mut sink, vs, &gateway_index);
    }
    conflicting_mesh_hosts(&virtual_services, out);
}

/// The subsets the DestinationRules define, by the rule's host made fully qualified in its
/// namespace: a concrete host is looked up directly and a wildcard rule host by the suffix after
/// its `*`, so that each destination costs a few lookups instead of a pass over every rule.
struct SubsetIndex<'r> {
    /// Fully qualified concrete host → the subset names of its rules.
    exact: HashMap<String, Vec<&'r str>>,
    /// Wildcard rule hosts: suffix after the `*` → subset names.
    wildcard: HashMap<String, Vec<&'r str>>,
    /// Every rule, for the rare wildcard destination host.
    all: Vec<(String, Vec<&'r str>)>,
}

impl<'r> SubsetIndex<'r> {
    fn new(rules: &[(&Resource, &'r DestinationRule)]) -> Self {
        let mut index = SubsetIndex {
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            all: Vec::new(),
        };
        for (r, dr) in rules {
            let fqdn = host::resolve(&dr.host, r.namespace());
            let names: Vec<&str> = dr.subsets.iter().map(|s| s.name.as_str()).collect();
            match fqdn.strip_prefix('*') {
                Some(suffix) => index
                    .wildcard
                    .entry(suffix.to_owned())
                    .or_default()
                    .extend(&names),
                None => index.exact.entry(fqdn.clone()).or_default().extend(&names),
            }
            index.all.push((fqdn, names));
        }
        index
    }

    /// Whether a rule whose host `host::matches` `fqdn` defines `subset`.
    fn defines(&self, fqdn: &str, subset: &str) -> bool {
        if fqdn.starts_with('*') {
            return self
                .all
                .iter()
                .any(|(h, names)| host::matches(h, fqdn) && names.contains(&subset));
        }
        let has = |names: Option<&Vec<&str>>| names.is_some_and(|n| n.contains(&subset));
        // `*<suffix>` matches the concrete `fqdn` when `fqdn` ends with the suffix and is longer.
        has(self.exact.get(fqdn))
            || (1..=fqdn.len())
                .filter(|&cut| fqdn.is_char_boundary(cut))
                .any(|cut| has(fqdn.get(cut..).and_then(|suffix| self.wildcard.get(suffix))))
    }
}

/// IST0101 ReferencedResourceNotFound: a route or mirror names a subset that no DestinationRule
/// for its host defines. Envoy answers such requests with 503 (flag NC).
fn undefined_subsets<'v>(sink: &mut Sink<'_>, vs: &'v VirtualService, rules: &SubsetIndex<'_>) {
    let namespace = sink.resource().namespace().to_owned();
    // Whether each (host as written, subset) is defined, looked up once: a large table names
    // the same few in every route.
    let mut defined: FxHashMap<(&'v str, &'v str), bool> = FxHashMap::default();
    let mut check = |sink: &mut Sink<'_>, path: &dyn fmt::Display, d: &'v Destination| {
        if d.subset.is_empty() {
            return;
        }
        let is_defined = *defined
            .entry((d.host.as_str(), d.subset.as_str()))
            .or_insert_with(|| rules.defines(&host::resolve(&d.host, &namespace), &d.subset));
        if !is_defined {
            let fqdn = host::resolve(&d.host, &namespace);
            sink.analysis(
                Code::ReferencedResourceNotFound,
                path.to_string(),
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
                    &format_args!("spec.http[{i}].route[{j}].destination.subset"),
                    d,
                );
            }
        }
        if let Some(d) = &route.mirror {
            check(sink, &format_args!("spec.http[{i}].mirror.subset"), d);
        }
        for (j, mirror) in route.mirrors.iter().enumerate() {
            if let Some(d) = mirror.as_ref().and_then(|m| m.destination.as_ref()) {
                check(
                    sink,
                    &format_args!("spec.http[{i}].mirrors[{j}].destination.subset"),
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
    gateways: &HashMap<(&str, &str), &Gateway>,
) {
    let namespace = sink.resource().namespace().to_owned();
    let name = sink.resource().name().to_owned();
    let vs_hosts: Vec<&str> = vs.hosts.iter().map(String::as_str).collect();
    for (i, reference) in vs.gateways.iter().enumerate() {
        if reference == "mesh" {
            continue;
        }
        let (gw_ns, gw_name) = gateway_ref(reference, &namespace);
        let gateway = gateways.get(&(gw_ns.as_str(), gw_name.as_str()));
        if gateway.is_none() {
            sink.analysis(
                Code::ReferencedResourceNotFound,
                format!("spec.gateways[{i}]"),
                format!("Referenced gateway not found: \"{gw_ns}/{gw_name}\""),
            );
        }
        let server_hosts: Vec<String> = gateway
            .into_iter()
            .flat_map(|g| g.servers.iter())
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
    let public = PublicHosts::new(
        claims
            .iter()
            .filter(|((s, _), _)| s == "*")
            .map(|((_, h), c)| (h.as_str(), c)),
    );
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for ((scope, fqdn), own) in &claims {
        let mut group = own.clone();
        if scope != "*" {
            // getExportToAllNamespacesVSListForScopedHost: the public claims whose host matches,
            // in host order.
            group.extend(public.matching(fqdn).flat_map(|c| c.iter().copied()));
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

/// The hosts claimed for every namespace (scope `*`) in host order, each with its value, looked
/// up by the hosts that `host::matches` a scoped host: a concrete host by name, a wildcard one by
/// the suffix after its `*`, so that each scoped host costs a few lookups instead of a pass over
/// every public claim.
struct PublicHosts<'a, T> {
    list: Vec<(&'a str, T)>,
    concrete: HashMap<&'a str, usize>,
    wildcards: HashMap<&'a str, Vec<usize>>,
}

impl<'a, T: Copy> PublicHosts<'a, T> {
    /// `hosts` in host order, each once.
    fn new(hosts: impl Iterator<Item = (&'a str, T)>) -> Self {
        let list: Vec<(&str, T)> = hosts.collect();
        let mut concrete = HashMap::new();
        let mut wildcards: HashMap<&str, Vec<usize>> = HashMap::new();
        for (k, (h, _)) in list.iter().enumerate() {
            match h.strip_prefix('*') {
                Some(suffix) => wildcards.entry(suffix).or_default().push(k),
                None => {
                    concrete.insert(*h, k);
                }
            }
        }
        Self {
            list,
            concrete,
            wildcards,
        }
    }

    /// The values of the hosts that `host::matches` `fqdn`, in host order.
    fn matching(&self, fqdn: &str) -> impl Iterator<Item = T> + '_ {
        let mut found: Vec<usize> = if fqdn.starts_with('*') {
            // A wildcard scoped host (rare) meets wildcards on either side: every host is read.
            (0..self.list.len())
                .filter(|&k| {
                    self.list
                        .get(k)
                        .is_some_and(|(h, _)| host::matches(fqdn, h))
                })
                .collect()
        } else {
            // `*<suffix>` matches the concrete `fqdn` when `fqdn` ends with the suffix and is
            // longer.
            let wildcards = (1..=fqdn.len())
                .filter(|&cut| fqdn.is_char_boundary(cut))
                .filter_map(|cut| fqdn.get(cut..).and_then(|s| self.wildcards.get(s)))
                .flatten()
                .copied();
            self.concrete
                .get(fqdn)
                .copied()
                .into_iter()
                .chain(wildcards)
                .collect()
        };
        found.sort_unstable();
        found
            .into_iter()
            .filter_map(|k| self.list.get(k).map(|(_, value)| *value))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    use super::*;
    use crate::config::{ObjectMeta, Subset};

    /// Hosts rich in shared suffixes and wildcards of every shape.
    fn host_name() -> impl Strategy<Value = String> {
        proptest::sample::select(vec![
            "a.b.c",
            "x.b.c",
            "b.c",
            "c",
            "*.b.c",
            "*.c",
            "*",
            "*c",
            "*b.c",
            "*.x.b.c",
            "a",
            "a.ns1.svc.cluster.local",
            "*.svc.cluster.local",
            "*.cluster.local",
        ])
        .prop_map(str::to_owned)
    }

    fn runner() -> TestRunner {
        let config = Config {
            cases: 1_000,
            failure_persistence: None,
            ..Config::default()
        };
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[9; 32]))
    }

    /// The public claims met through the index are exactly those `host::matches` finds by
    /// reading every one, in the same (host) order.
    #[test]
    fn public_hosts_match_as_a_full_scan_does() {
        let cases = (
            proptest::collection::btree_set(host_name(), 0..10),
            host_name(),
        );
        runner()
            .run(&cases, |(hosts, fqdn)| {
                let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
                let index = PublicHosts::new(hosts.iter().map(|h| (*h, *h)));
                let found: Vec<&str> = index.matching(&fqdn).collect();
                let scan: Vec<&str> = hosts
                    .iter()
                    .copied()
                    .filter(|h| host::matches(&fqdn, h))
                    .collect();
                prop_assert_eq!(found, scan);
                Ok(())
            })
            .unwrap();
    }

    /// A subset is defined through the index exactly when a full scan of the DestinationRules
    /// (host matching either way, wildcards on either side) finds it.
    #[test]
    fn subset_index_agrees_with_a_full_scan() {
        let rule = (
            host_name(),
            proptest::sample::select(vec!["ns1", "ns2"]),
            proptest::collection::vec(proptest::sample::select(vec!["v1", "v2"]), 0..2),
        );
        let cases = (
            proptest::collection::vec(rule, 0..8),
            host_name(),
            proptest::sample::select(vec!["v1", "v2"]),
        );
        runner()
            .run(&cases, |(rules, fqdn, subset)| {
                let resources: Vec<(Resource, DestinationRule)> = rules
                    .iter()
                    .map(|(h, ns, subsets)| {
                        let resource = Resource {
                            api_version: "networking.istio.io/v1".to_owned(),
                            metadata: ObjectMeta {
                                name: "r".to_owned(),
                                namespace: Some((*ns).to_owned()),
                                ..ObjectMeta::default()
                            },
                            origin: Default::default(),
                            body: Body::Ignored {
                                kind: String::new(),
                            },
                        };
                        let dr = DestinationRule {
                            host: h.clone(),
                            subsets: subsets
                                .iter()
                                .map(|name| Subset {
                                    name: (*name).to_owned(),
                                    ..Subset::default()
                                })
                                .collect(),
                            ..DestinationRule::default()
                        };
                        (resource, dr)
                    })
                    .collect();
                let refs: Vec<(&Resource, &DestinationRule)> =
                    resources.iter().map(|(r, dr)| (r, dr)).collect();
                let scan = refs.iter().any(|(r, dr)| {
                    host::matches(&host::resolve(&dr.host, r.namespace()), &fqdn)
                        && dr.subsets.iter().any(|s| s.name == subset)
                });
                prop_assert_eq!(SubsetIndex::new(&refs).defines(&fqdn, subset), scan);
                Ok(())
            })
            .unwrap();
    }
}
