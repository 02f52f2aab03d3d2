//! MR004: routing on a request header or query parameter that every caller must forward.

use std::collections::BTreeSet;

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
pub(crate) fn forwarded_flags(
    sink: &mut Sink<'_>,
    vs: &VirtualService,
    called: &[(String, String, Option<&Resource>)],
) {
    let resource = sink.resource();
    let mesh = vs.gateways.is_empty() || vs.gateways.iter().any(|g| g == "mesh");
    if !mesh || vs.hosts.is_empty() {
        return;
    }
    let Some((host, evidence)) = vs.hosts.iter().find_map(|h| {
        let h = host::resolve(h, resource.namespace());
        called
            .iter()
            .find(|(c, _, from)| {
                from.is_none_or(|f| !std::ptr::eq(f, resource)) && host::matches(&h, c)
            })
            .map(|(_, evidence, _)| (h, evidence.clone()))
    }) else {
        return;
    };
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
                if !done.insert((what, key)) {
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
                        "routing on {what} {name:?}{absent} needs every caller to forward it: this mesh rule runs in the sidecar of each service that calls {host} (an internal host: {evidence}), and that sidecar sees {name:?} only if the calling service copied it from the request it is serving; make every service that calls {host} forward {name:?} (meshroute's CaptureLayer built with Propagation::from_mesh plus OutboundLayer do it automatically; other services must copy it by hand), otherwise {kind}-based canaries fail on the second hop"
                    ),
                );
            }
        }
    }
}
