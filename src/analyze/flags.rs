//! MR004: routing on a request header or query parameter that every caller must forward.

use std::collections::{BTreeSet, HashMap};

use crate::config::{Body, Resource, VirtualService};
use crate::diagnostic::Code;
use crate::propagation::TRACE_HEADERS;
use crate::util::host;
use crate::validate::sink::Sink;

/// Hosts other services call, with the evidence: route destinations of VirtualServices (and
/// which one), Kubernetes Services, Deployments (by name and `app` label).
pub(crate) fn called_hosts<'a>(
    resources: &[&'a Resource],
) -> Vec<(String, String, Option<&'a Resource>)> {
    let mut out = Vec::new();
    for &r in resources {
        let ns = r.namespace();
        match &r.body {
            Body::Service(_) => out.push((
                host::resolve(r.name(), ns),
                format!("Kubernetes Service {}", r.key()),
                None,
            )),
            Body::Deployment(d) => {
                let evidence = format!("Deployment {}", r.key());
                out.push((host::resolve(r.name(), ns), evidence.clone(), None));
                if let Some(app) = d.template.metadata.labels.get("app") {
                    out.push((host::resolve(app, ns), evidence, None));
                }
            }
            Body::VirtualService(vs) => {
                for d in vs
                    .http
                    .iter()
                    .flat_map(|route| route.route.iter())
                    .filter_map(|d| d.destination.as_ref())
                {
                    out.push((
                        host::resolve(&d.host, ns),
                        format!("a destination of VirtualService {}", r.key()),
                        Some(r),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// The called hosts looked up by the hosts that `host::matches` a VirtualService's host: a
/// concrete host by name, a wildcard one by the suffix after its `*`, so that each
/// VirtualService host costs a few lookups instead of a pass over every called host.
pub(crate) struct Called<'c, 'a> {
    list: &'c [(String, String, Option<&'a Resource>)],
    concrete: HashMap<&'c str, Vec<usize>>,
    wildcards: HashMap<&'c str, Vec<usize>>,
}

impl<'c, 'a> Called<'c, 'a> {
    pub(crate) fn new(list: &'c [(String, String, Option<&'a Resource>)]) -> Self {
        let mut concrete: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut wildcards: HashMap<&str, Vec<usize>> = HashMap::new();
        for (k, (h, _, _)) in list.iter().enumerate() {
            match h.strip_prefix('*') {
                Some(suffix) => wildcards.entry(suffix).or_default().push(k),
                None => concrete.entry(h).or_default().push(k),
            }
        }
        Self {
            list,
            concrete,
            wildcards,
        }
    }

    /// The evidence of the first called host (in order) that `host::matches` `fqdn`, other
    /// than a destination of `resource` itself.
    fn first(&self, fqdn: &str, resource: &Resource) -> Option<&'c str> {
        let usable = |k: usize| {
            self.list.get(k).filter(|(c, _, from)| {
                from.is_none_or(|f| !std::ptr::eq(f, resource)) && host::matches(fqdn, c)
            })
        };
        let first = if fqdn.starts_with('*') {
            // A wildcard host (rare) meets wildcards on either side: every host is read.
            (0..self.list.len()).find(|&k| usable(k).is_some())
        } else {
            // `*<suffix>` matches the concrete `fqdn` when `fqdn` ends with the suffix and is
            // longer.
            let wildcards = (1..=fqdn.len())
                .filter(|&cut| fqdn.is_char_boundary(cut))
                .filter_map(|cut| fqdn.get(cut..).and_then(|s| self.wildcards.get(s)));
            self.concrete
                .get(fqdn)
                .into_iter()
                .chain(wildcards)
                .filter_map(|list| list.iter().copied().find(|&k| usable(k).is_some()))
                .min()
        };
        first
            .and_then(|k| self.list.get(k))
            .map(|(_, evidence, _)| evidence.as_str())
    }
}

/// The annotation of a VirtualService that lists the routing flags (header or query-parameter
/// names, comma-separated) its operator confirms every caller forwards: MR004 stays quiet about
/// them.
pub(crate) const FORWARDED_FLAGS: &str = "meshroute.dev/forwarded-flags";

/// Whether a matched header is one callers need to copy: not a pseudo-header, JWT claim,
/// `host` or trace header (the ones [`crate::propagation`] always carries, which applications
/// forward for tracing anyway).
fn is_routing_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !lower.starts_with(':')
        && !lower.starts_with('@')
        && lower != "host"
        && !TRACE_HEADERS.contains(&lower.as_str())
}

/// MR004: a mesh VirtualService for a host other services call matches on a request header or
/// query parameter. Its sidecar rule runs in the caller's sidecar, which only sees the flag if
/// the caller copied it from the request it is serving.
pub(crate) fn forwarded_flags(sink: &mut Sink<'_>, vs: &VirtualService, called: &Called<'_, '_>) {
    let resource = sink.resource();
    let mesh = vs.gateways.is_empty() || vs.gateways.iter().any(|g| g == "mesh");
    if !mesh || vs.hosts.is_empty() {
        return;
    }
    let Some((host, evidence)) = vs.hosts.iter().find_map(|h| {
        let h = host::resolve(h, resource.namespace());
        called.first(&h, resource).map(|evidence| (h, evidence))
    }) else {
        return;
    };
    // Flags the operator says every caller forwards.
    let confirmed: Vec<&str> = resource
        .metadata
        .annotations
        .get(FORWARDED_FLAGS)
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut done: BTreeSet<(&str, String)> = BTreeSet::new();
    for (i, route) in vs.http.iter().enumerate() {
        for (j, m) in route.matches.iter().enumerate() {
            let Some(m) = m else { continue };
            let p = format!("spec.http[{i}].match[{j}]");
            let flags = m
                .headers
                .keys()
                .map(|k| ("headers", "request header", k))
                .chain(
                    m.without_headers
                        .keys()
                        .map(|k| ("withoutHeaders", "request header", k)),
                )
                .chain(
                    m.query_params
                        .keys()
                        .map(|k| ("queryParams", "query parameter", k)),
                );
            for (field, what, name) in flags {
                if what == "request header" && !is_routing_header(name) {
                    continue;
                }
                let key = if what == "request header" {
                    name.to_ascii_lowercase()
                } else {
                    name.clone()
                };
                let silenced = confirmed.iter().any(|c| {
                    if what == "request header" {
                        c.eq_ignore_ascii_case(name)
                    } else {
                        *c == name.as_str()
                    }
                });
                if silenced || !done.insert((what, key)) {
                    continue;
                }
                let kind = if what == "request header" {
                    "header"
                } else {
                    "query-parameter"
                };
                let absent = if field == "withoutHeaders" {
                    " (its absence sends requests to this rule)"
                } else {
                    ""
                };
                sink.analysis(
                    Code::UnforwardedRoutingFlag,
                    format!("{p}.{field}.{name}"),
                    format!(
                        "routing on {what} {name:?}{absent} works only if every caller forwards it: this rule is applied in the sidecar of each service that calls {host} (an internal host: {evidence}), and that sidecar sees {name:?} only when the calling service copied it from the request it was serving; check that every service calling {host} forwards {name:?}, or {kind}-based canaries stop at the first hop (meshroute's tower layers forward the flags the configuration routes on); once confirmed, list it in the annotation {FORWARDED_FLAGS} to silence this note"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    use super::*;

    /// The first called host found through the index is the one a scan in order finds, other
    /// than the VirtualService's own destinations, wildcards on either side.
    #[test]
    fn called_lookup_agrees_with_a_full_scan() {
        let own = Resource {
            api_version: String::new(),
            metadata: Default::default(),
            origin: Default::default(),
            body: Body::Ignored {
                kind: "own".to_owned(),
            },
        };
        let host_name = || {
            proptest::sample::select(vec![
                "a.b.c", "x.b.c", "b.c", "*.b.c", "*.c", "*", "*c", "*b.c", "a",
            ])
        };
        let cases = (
            proptest::collection::vec((host_name(), any::<bool>()), 0..10),
            host_name(),
        );
        let config = Config {
            cases: 1_000,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[5; 32]));
        runner
            .run(&cases, |(list, fqdn)| {
                let called: Vec<(String, String, Option<&Resource>)> = list
                    .iter()
                    .enumerate()
                    .map(|(k, (h, mine))| ((*h).to_owned(), k.to_string(), mine.then_some(&own)))
                    .collect();
                let scan = called
                    .iter()
                    .find(|(c, _, from)| {
                        from.is_none_or(|f| !std::ptr::eq(f, &own)) && host::matches(fqdn, c)
                    })
                    .map(|(_, evidence, _)| evidence.as_str());
                prop_assert_eq!(Called::new(&called).first(fqdn, &own), scan);
                Ok(())
            })
            .unwrap();
    }
}
