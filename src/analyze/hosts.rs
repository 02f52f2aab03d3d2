//! IST0101 for destination hosts and IST0112, as `istioctl analyze`'s `DestinationHostAnalyzer`
//! reports them (istio/istio `pkg/config/analysis/analyzers/virtualservice/destinationhosts.go`,
//! with `util.InitServiceEntryHostMap` and `util.GetDestinationHost` in
//! `pkg/config/analysis/analyzers/util/service_lookup.go`).
//!
//! Every route destination (`tcp`, `tls`, then `http`) and every `mirror` / `mirrors` destination
//! of a VirtualService is looked up among the Kubernetes Services and ServiceEntry hosts the
//! VirtualService's namespace can see:
//!
//! - none: IST0101 `Referenced host not found: "x"` (`Referenced mirror host not found` for a
//!   mirror);
//! - a destination `port` that is not one of the service's ports: IST0101
//!   `Referenced host:port not found: "x:9999"`;
//! - no `port` on a service with several ports: IST0112
//!   VirtualServiceDestinationPortSelectorRequired.
//!
//! istioctl's lookup, followed here exactly (`GetDestinationHost`): the host, made fully qualified
//! in the VirtualService's namespace when it is a short name, is found when a service of that
//! name is exported to every namespace; else when one is exported to the VirtualService's
//! namespace (no `exportTo` on the VirtualService) or to one of the namespaces the VirtualService
//! is exported to (`.` being its own); else when a wildcard ServiceEntry host exported to every
//! namespace or to the VirtualService's namespace covers the host as written. Visibility is the
//! services' `exportTo` (the `networking.istio.io/exportTo` annotation of a Kubernetes Service)
//! alone: istioctl does not read MeshConfig's `defaultServiceExportTo` here.

use std::collections::HashMap;
use std::fmt;

use rustc_hash::FxHashMap;

use crate::config::{Destination, VirtualService};
use crate::diagnostic::Code;
use crate::registry::services::{Service, Services};
use crate::util::host;
use crate::validate::sink::Sink;

/// The services as istioctl's lookup reads them, indexed so that each destination costs a few
/// hash lookups instead of a pass over every service: by their host made fully qualified in
/// their own namespace, and the wildcard ServiceEntry hosts by the suffix after their `*`. Each
/// list keeps the services' order.
pub(super) struct ServiceIndex<'s> {
    list: Vec<&'s Service>,
    /// Fully qualified host → positions in `list`.
    by_fqdn: HashMap<String, Vec<usize>>,
    /// Suffix after the `*` of a wildcard host (as written) → positions in `list`.
    wildcards: HashMap<&'s str, Vec<usize>>,
}

impl<'s> ServiceIndex<'s> {
    pub(super) fn new(services: &'s Services) -> Self {
        let list: Vec<&Service> = services.iter().collect();
        let mut by_fqdn: HashMap<String, Vec<usize>> = HashMap::new();
        let mut wildcards: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, s) in list.iter().enumerate() {
            by_fqdn
                .entry(host::resolve(&s.host, &s.namespace))
                .or_default()
                .push(i);
            if let Some(suffix) = s.host.strip_prefix('*') {
                wildcards.entry(suffix).or_default().push(i);
            }
        }
        Self {
            list,
            by_fqdn,
            wildcards,
        }
    }

    /// The services whose fully qualified host is `fqdn`, in order.
    fn named(&self, fqdn: &str) -> impl Iterator<Item = &'s Service> + '_ {
        self.by_fqdn
            .get(fqdn)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.list.get(i).copied())
    }

    /// The first wildcard service (in order) visible in `namespace` whose host covers `written`
    /// (`host::subset_of`): its suffix is one of `written`'s suffixes (of the part after its own
    /// `*` when `written` is a wildcard).
    fn first_wildcard_covering(&self, written: &str, namespace: &str) -> Option<&'s Service> {
        let name = written.strip_prefix('*').unwrap_or(written);
        let mut first: Option<usize> = None;
        for cut in (0..=name.len()).filter(|&cut| name.is_char_boundary(cut)) {
            let Some(candidates) = name
                .get(cut..)
                .and_then(|suffix| self.wildcards.get(suffix))
            else {
                continue;
            };
            let visible = candidates.iter().copied().find(|&i| {
                self.list.get(i).is_some_and(|s| {
                    s.export.visible_to(namespace) && host::subset_of(written, &s.host)
                })
            });
            first = match (first, visible) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        first.and_then(|i| self.list.get(i).copied())
    }
}

/// A destination to look up, as `util.go` `getRouteDestinations` and
/// `getHTTPMirrorDestinations` list them.
struct Annotated<'v> {
    /// Where the destination is: its field path, written out only for a finding.
    at: At,
    mirror: bool,
    /// `None` for a route entry without a destination (istioctl looks up the empty host).
    destination: Option<&'v Destination>,
}

/// The field path of a destination (`spec.http[0].route[1].destination`).
#[derive(Clone, Copy)]
enum At {
    /// `spec.{field}[i].route[j].destination` (`tcp`, `tls` or `http`).
    Route(&'static str, usize, usize),
    /// `spec.http[i].mirror`.
    Mirror(usize),
    /// `spec.http[i].mirrors[j].destination`.
    Mirrors(usize, usize),
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Route(field, i, j) => write!(f, "spec.{field}[{i}].route[{j}].destination"),
            At::Mirror(i) => write!(f, "spec.http[{i}].mirror"),
            At::Mirrors(i, j) => write!(f, "spec.http[{i}].mirrors[{j}].destination"),
        }
    }
}

/// The destinations of `vs` in istioctl's order: `tcp`, `tls` and `http` routes, then the HTTP
/// mirrors.
fn destinations(vs: &VirtualService) -> Vec<Annotated<'_>> {
    let mut out = Vec::new();
    for (i, rule) in vs.tcp.iter().enumerate() {
        for (j, d) in rule.route.iter().enumerate() {
            out.push(Annotated {
                at: At::Route("tcp", i, j),
                mirror: false,
                destination: d.destination.as_ref(),
            });
        }
    }
    for (i, rule) in vs.tls.iter().enumerate() {
        for (j, d) in rule.route.iter().enumerate() {
            out.push(Annotated {
                at: At::Route("tls", i, j),
                mirror: false,
                destination: d.destination.as_ref(),
            });
        }
    }
    for (i, rule) in vs.http.iter().enumerate() {
        for (j, d) in rule.route.iter().enumerate() {
            out.push(Annotated {
                at: At::Route("http", i, j),
                mirror: false,
                destination: d.destination.as_ref(),
            });
        }
    }
    for (i, rule) in vs.http.iter().enumerate() {
        if let Some(m) = &rule.mirror {
            out.push(Annotated {
                at: At::Mirror(i),
                mirror: true,
                destination: Some(m),
            });
        }
        for (j, m) in rule.mirrors.iter().enumerate() {
            out.push(Annotated {
                at: At::Mirrors(i, j),
                mirror: true,
                destination: m.as_ref().and_then(|m| m.destination.as_ref()),
            });
        }
    }
    out
}

/// Reports the destination hosts of `vs` (in the sink's resource) that `services` does not
/// define for it.
pub(super) fn destination_hosts(
    sink: &mut Sink<'_>,
    vs: &VirtualService,
    services: &ServiceIndex<'_>,
) {
    let namespace = sink.resource().namespace().to_owned();
    // The service of each host as written: a large table names the same few hosts in every
    // route, and the lookup depends on nothing else of the destination.
    let mut found: FxHashMap<&str, Option<&Service>> = FxHashMap::default();
    for d in destinations(vs) {
        let written = d.destination.map_or("", |d| d.host.as_str());
        let service = *found
            .entry(written)
            .or_insert_with(|| destination_service(services, &namespace, &vs.export_to, written));
        let Some(service) = service else {
            let what = if d.mirror { "mirror host" } else { "host" };
            let path = if d.destination.is_some() {
                format!("{}.host", d.at)
            } else {
                d.at.to_string()
            };
            sink.analysis(
                Code::ReferencedResourceNotFound,
                path,
                format!("Referenced {what} not found: {written:?}"),
            );
            continue;
        };
        let Some(destination) = d.destination else {
            continue;
        };
        match &destination.port {
            // checkServiceEntryPorts: without a port, only a service with several ports is a
            // problem.
            None if service.ports.len() > 1 => {
                let ports: Vec<String> = service.ports.iter().map(u16::to_string).collect();
                sink.analysis(
                    Code::VirtualServiceDestinationPortSelectorRequired,
                    format!("{}.host", d.at),
                    format!(
                        "This VirtualService routes to a service {written:?} that exposes multiple ports [{}]. Specifying a port in the destination is required to disambiguate.",
                        ports.join(" ")
                    ),
                );
            }
            Some(port) if !service.ports.iter().any(|&p| u32::from(p) == port.number) => {
                sink.analysis(
                    Code::ReferencedResourceNotFound,
                    format!("{}.port.number", d.at),
                    format!(
                        "Referenced host:port not found: {:?}",
                        format!("{written}:{}", port.number)
                    ),
                );
            }
            None | Some(_) => {}
        }
    }
}

/// `util.GetDestinationHost`: the service a VirtualService in `namespace`, exported to
/// `export_to`, reaches under `written` (the destination host as written), if any.
///
/// istioctl keys every service by its host made fully qualified in the service's own namespace
/// and keeps one service per key, a Kubernetes Service replacing a ServiceEntry; where several
/// qualify, the last one written wins, so a Kubernetes Service is preferred here.
fn destination_service<'s>(
    services: &ServiceIndex<'s>,
    namespace: &str,
    export_to: &[String],
    written: &str,
) -> Option<&'s Service> {
    let fqdn = host::resolve(written, namespace);
    // 1. A service exported to every namespace.
    if let Some(s) = services
        .named(&fqdn)
        .filter(|s| s.export.is_public())
        .max_by_key(|s| s.kubernetes)
    {
        return Some(s);
    }
    // 2. One exported to the VirtualService's namespace, or to the namespaces the VirtualService
    //    is exported to. `visible_to("*")` holds for public services only.
    let scopes: Vec<&str> = if export_to.is_empty() {
        vec![namespace]
    } else {
        export_to
            .iter()
            .map(|e| if e == "." { namespace } else { e.as_str() })
            .collect()
    };
    for scope in scopes {
        if let Some(s) = services
            .named(&fqdn)
            .filter(|s| s.export.visible_to(scope))
            .max_by_key(|s| s.kubernetes)
        {
            return Some(s);
        }
    }
    // 3. A wildcard ServiceEntry host visible in the VirtualService's namespace that covers the
    //    host as written (not made fully qualified).
    services.first_wildcard_covering(&written.to_ascii_lowercase(), namespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Body, ObjectMeta, Resource, ServiceEntry};
    use crate::registry::visibility::MeshSettings;

    fn lookup<'s>(services: &'s Services, ns: &str, export: &[&str], h: &str) -> Option<&'s str> {
        let export: Vec<String> = export.iter().map(|s| (*s).to_owned()).collect();
        destination_service(&ServiceIndex::new(services), ns, &export, h)
            .map(|s| s.namespace.as_str())
    }

    /// One ServiceEntry per `(host, namespace, exportTo)`.
    fn entries(list: &[(&str, &str, &[&str])]) -> Vec<Resource> {
        list.iter()
            .enumerate()
            .map(|(i, (h, ns, export))| Resource {
                api_version: "networking.istio.io/v1".to_owned(),
                metadata: ObjectMeta {
                    name: format!("se{i}"),
                    namespace: Some((*ns).to_owned()),
                    ..ObjectMeta::default()
                },
                origin: Default::default(),
                body: Body::ServiceEntry(Box::new(ServiceEntry {
                    hosts: vec![(*h).to_owned()],
                    export_to: export.iter().map(|s| (*s).to_owned()).collect(),
                    ..ServiceEntry::default()
                })),
            })
            .collect()
    }

    fn services(resources: &[Resource]) -> Services {
        let refs: Vec<&Resource> = resources.iter().collect();
        Services::new(&refs, &MeshSettings::default())
    }

    /// service_lookup.go `GetDestinationHost`: a service exported to `.` is found from its own
    /// namespace only when the VirtualService has no `exportTo`; with one, istioctl looks in the
    /// namespaces the VirtualService is exported to instead (analyzers_test.go
    /// "virtualServiceDestinationHosts", `hello/hello-export-to-bogus`).
    #[test]
    fn lookup_scopes_follow_the_virtual_service_export() {
        let s = services(&entries(&[("a.example.com", "a", &["."])]));
        assert_eq!(lookup(&s, "a", &[], "a.example.com"), Some("a"));
        assert_eq!(lookup(&s, "a", &["."], "a.example.com"), Some("a"));
        assert_eq!(lookup(&s, "a", &["b"], "a.example.com"), None);
        assert_eq!(lookup(&s, "a", &["*"], "a.example.com"), None);
        assert_eq!(lookup(&s, "b", &[], "a.example.com"), None);
    }

    /// Wildcard ServiceEntry hosts cover the destination host as written, from the own namespace
    /// or everywhere when public; a short name is not made fully qualified for this comparison.
    #[test]
    fn wildcard_entries_cover_hosts_as_written() {
        let s = services(&entries(&[
            ("*.eu.bookinfo.com", "default", &[]),
            ("*.svc.cluster.local", "mesh", &["."]),
        ]));
        assert_eq!(
            lookup(&s, "x", &[], "reviews.eu.bookinfo.com"),
            Some("default")
        );
        assert_eq!(lookup(&s, "x", &[], "*.eu.bookinfo.com"), Some("default"));
        assert_eq!(lookup(&s, "x", &[], "eu.bookinfo.com"), None);
        assert_eq!(
            lookup(&s, "mesh", &[], "reviews.default.svc.cluster.local"),
            Some("mesh")
        );
        assert_eq!(lookup(&s, "mesh", &[], "reviews"), None);
    }

    /// `ConvertHostToFQDN`: a short ServiceEntry host is made fully qualified in the entry's
    /// namespace, as the destination host is in the VirtualService's.
    #[test]
    fn short_entry_hosts_resolve_in_their_namespace() {
        let s = services(&entries(&[("legacy", "a", &[])]));
        assert_eq!(lookup(&s, "a", &[], "legacy"), Some("a"));
        assert_eq!(
            lookup(&s, "b", &[], "legacy.a.svc.cluster.local"),
            Some("a")
        );
        assert_eq!(lookup(&s, "b", &[], "legacy"), None);
    }

    /// The first wildcard ServiceEntry covering a host, found through the suffix index, is the
    /// one a scan of every service in order finds.
    #[test]
    fn wildcard_lookup_agrees_with_a_full_scan() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

        let host_name = || {
            proptest::sample::select(vec![
                "a.b.c", "b.c", "c", "*.b.c", "*.c", "*", "*c", "*b.c", "*.a.b.c", "a",
            ])
        };
        let entry = (
            host_name(),
            proptest::sample::select(vec!["ns1", "ns2"]),
            proptest::sample::select(vec![&[][..], &["."][..], &["ns1"][..]]),
        );
        let cases = (
            proptest::collection::vec(entry, 0..8),
            host_name(),
            proptest::sample::select(vec!["ns1", "ns2"]),
        );
        let config = Config {
            cases: 1_000,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[3; 32]));
        runner
            .run(&cases, |(list, written, namespace)| {
                let s = services(&entries(&list));
                let scan = s.iter().find(|s| {
                    s.host.starts_with('*')
                        && s.export.visible_to(namespace)
                        && host::subset_of(written, &s.host)
                });
                let index = ServiceIndex::new(&s);
                let found = index.first_wildcard_covering(written, namespace);
                prop_assert_eq!(
                    found.map(|s| (&s.host, &s.namespace)),
                    scan.map(|s| (&s.host, &s.namespace))
                );
                Ok(())
            })
            .unwrap();
    }
}
