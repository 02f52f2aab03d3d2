//! Why a request went where it went: the trace [`Mesh::explain`](crate::Mesh::explain) records
//! while deciding with the same code as [`Mesh::route`](crate::Mesh::route).

use std::fmt;

use serde::Serialize;

use super::cluster::NoEndpoint;
use super::connection::{Connection, ConnectionDecision};
use super::decision::{Decision, DestinationRef, Outcome, RouteKind};
use super::matcher::{Failure, RequestView};
use super::report::{RouteReport, RuleReport};
use super::source::Source;
use super::table::{
    CompiledMatch, CompiledRoute, GatewayMiss, GatewayTables, SelectorFailure, VirtualHost,
};

/// How a VirtualService fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VsVerdict {
    /// It decided the request (a route matched, or none did: 404).
    Applies,
    /// Its `exportTo` hides it from the caller's namespace.
    NotExported,
    /// The caller's `Sidecar` does not import it (egress hosts).
    NotImported,
    /// Every match was dropped by a config-time selector for this caller: Istio builds no
    /// virtual host from it.
    NoRoutesForCaller,
    /// None of its hosts is a service with the request's port, and the port is not 80: the
    /// sidecar's route configuration for that port leaves it out.
    NoServiceOnPort,
}

/// How one route table entry (a route's match) fared: what the decision found, for a tracer to
/// render (the route path renders nothing).
#[derive(Debug, Clone, Copy)]
pub(crate) enum EntryVerdict<'m, 'v> {
    Matched,
    /// A config-time selector (`port`, `sourceLabels`, `sourceNamespace`) dropped it, for a
    /// request on this port from this namespace.
    Dropped(SelectorFailure<'m>, u16, &'v str),
    /// The first request condition that failed, and the request it failed for.
    Failed(Failure<'m>, &'v RequestView<'v>),
}

impl EntryVerdict<'_, '_> {
    /// Why the entry did not fire (`None` when it did).
    fn reason(&self) -> Option<String> {
        match *self {
            EntryVerdict::Matched => None,
            EntryVerdict::Dropped(failure, port, namespace) => {
                let why = match failure {
                    SelectorFailure::Port(p) => {
                        format!("port: match is for port {p}, the request is on port {port}")
                    }
                    SelectorFailure::SourceNamespace(ns) => {
                        format!("sourceNamespace: {ns:?} ≠ caller namespace {namespace:?}")
                    }
                    SelectorFailure::SourceLabel(k, v) => {
                        format!("sourceLabels: caller has no label {k}={v}")
                    }
                    SelectorFailure::Gateways => {
                        "gateways: the match is for other gateways".to_owned()
                    }
                };
                Some(format!("dropped for this caller: {why}"))
            }
            EntryVerdict::Failed(failure, request) => Some(failure.describe(request)),
        }
    }
}

/// What a gateway did before trying routes, when it did not just pick a virtual host with routes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GatewayStep<'t> {
    /// No Gateway of that name is in the configuration: nothing listens.
    Unknown,
    /// No virtual host takes the request (Envoy answers 404 `NR`, or has no listener or filter
    /// chain for it): why, for this host, over TLS or not.
    Miss(GatewayMiss<'t>, &'t GatewayTables, &'t str, bool),
    /// The virtual host requires TLS and the request is plain HTTP: Envoy redirects it to https.
    HttpsRedirect(&'t VirtualHost),
}

/// Receives the steps of a decision. The no-op implementation compiles away; texts are passed
/// as closures so that the route path never formats them.
pub(crate) trait Tracer {
    fn start(&mut self, _source: &Source, _authority: &str) {}
    /// Whether the tracer wants the steps that cost work to find (visibility); `false` lets
    /// the route path skip them.
    fn detailed(&self) -> bool {
        false
    }
    fn scope(&mut self, _name: &str) {}
    fn visibility(&mut self, _resource: &str, _verdict: &str) {}
    fn gateway(&mut self, _port: u16, _step: GatewayStep<'_>) {}
    fn start_connection(&mut self, _source: &Source, _connection: &Connection<'_>) {}
    /// A fact about the listener or the filter chains.
    fn note(&mut self, _text: &dyn Fn() -> String) {}
    /// A match of a `tcp` or `tls` rule (or a rule without matches), and why it does not
    /// carry the connection (or a remark, for the one that may).
    fn stream_entry(
        &mut self,
        _vs: &str,
        _kind: RouteKind,
        _rule: usize,
        _matched: Option<usize>,
        _reason: &dyn Fn() -> Option<String>,
    ) {
    }
    /// The rule (and match) whose filter chain carries the connection.
    fn stream_chosen(
        &mut self,
        _vs: &str,
        _kind: RouteKind,
        _rule: usize,
        _matched: Option<usize>,
    ) {
    }
    fn virtual_service(&mut self, _key: &str, _verdict: VsVerdict) {}
    fn entry(
        &mut self,
        _vs: &str,
        _route: &CompiledRoute,
        _matched: Option<&CompiledMatch>,
        _verdict: EntryVerdict<'_, '_>,
    ) {
    }
}

/// What Envoy does when a gateway has no listener or filter chain for a request (istio/istio
/// `pilot/pkg/networking/core/gateway.go` builds listeners only for server ports, and TLS filter
/// chains only for the servers' names): the connection fails before any HTTP exchange. meshroute
/// has no outcome for that and decides [`Outcome::NoRoute`] (404).
const NO_HTTP: &str = "Envoy has no listener or filter chain for it and the connection fails without an HTTP answer, reported here as 404";

/// The verdict of a VirtualService whose routes are being tried (gateways merge several).
const CONSIDERED: &str = "routes tried";

/// The tracer of `Mesh::route`: records nothing.
pub(crate) struct NoTrace;

impl Tracer for NoTrace {}

/// One line of an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Step {
    /// What a gateway's listener did before any route: no server on the request's port, no
    /// virtual host for its host there, or a redirect to https (`tls.httpsRedirect`).
    Gateway {
        /// The port the request arrived on.
        #[serde(rename = "gatewayPort")]
        port: u16,
        /// What happened and why.
        verdict: String,
    },
    /// A VirtualService claiming the host, and whether it applied.
    VirtualService {
        /// `namespace/name`.
        #[serde(rename = "virtualService")]
        name: String,
        /// `applies`, `not exported to the caller's namespace`, or `no routes for this caller`.
        verdict: String,
    },
    /// A resource (a `Sidecar`, a `DestinationRule`, a service) and what visibility made of it
    /// for this caller: `applies`, `not exported to default (exportTo)`, `shadowed by ...`.
    Visibility {
        /// `Sidecar ns/name`, `DestinationRule ns/name` or `service host`.
        resource: String,
        /// What it means for this caller.
        #[serde(rename = "visibility")]
        verdict: String,
    },
    /// One match of one route, tried in order.
    Match {
        /// The VirtualService.
        #[serde(rename = "virtualService")]
        virtual_service: String,
        /// The route's rule list (`http`, `tcp`, `tls`), its index there and its name.
        route: RouteReport,
        /// The match's index and name; `None` for a route without matches.
        #[serde(rename = "match")]
        matched: Option<RuleReport>,
        /// `true` when this is the match that fired.
        fired: bool,
        /// Why it did not fire: the selector that dropped it, or the first failing condition
        /// and the value seen (`queryParams.name: exact "xx" ≠ "yy"`). For a connection, also a
        /// remark on the match that fired (the subnet or server name that chose it).
        reason: Option<String>,
    },
    /// A fact about the listener or its filter chains (connections only): the port's
    /// protocol, why the connection passes through or is closed.
    Note {
        /// The text.
        note: String,
    },
}

/// The trace of one decision: the caller, the host, each VirtualService considered and each
/// route and match tried, then a summary of the decision.
///
/// `Display` prints it one step per line; it serializes as
/// `{"caller", "authority", "steps": [...], "outcome"}` (what `meshroute route --json --explain`
/// prints under `explain`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Explanation {
    /// Who called (`sidecar in default` or `gateway default/demo-gateway`).
    pub caller: String,
    /// The authority the request was sent to.
    pub authority: String,
    /// The steps, in the order they were taken.
    pub steps: Vec<Step>,
    /// A one-line summary of the decision.
    #[serde(rename = "outcome")]
    pub summary: String,
}

impl Tracer for Explanation {
    fn start(&mut self, source: &Source, authority: &str) {
        self.caller = match source.gateway_name() {
            Some(gateway) => format!("gateway {gateway}"),
            None => format!("sidecar in namespace {}", source.namespace()),
        };
        self.authority = authority.to_owned();
    }

    fn detailed(&self) -> bool {
        true
    }

    fn scope(&mut self, name: &str) {
        if name != "default" {
            self.visibility(name, "selects this caller");
        }
    }

    fn visibility(&mut self, resource: &str, verdict: &str) {
        self.steps.push(Step::Visibility {
            resource: resource.to_owned(),
            verdict: verdict.to_owned(),
        });
    }

    fn gateway(&mut self, port: u16, step: GatewayStep<'_>) {
        let verdict = match step {
            GatewayStep::Unknown => {
                format!("no Gateway of that name in the configuration: nothing listens; {NO_HTTP}")
            }
            GatewayStep::Miss(GatewayMiss::Port, tables, _, _) => {
                let ports: Vec<String> = tables.ports.iter().map(|p| p.port.to_string()).collect();
                if ports.is_empty() {
                    format!(
                        "no server listens on port {port} (the Gateway has no server); {NO_HTTP}"
                    )
                } else {
                    format!(
                        "no server listens on port {port} (servers listen on {}); {NO_HTTP}",
                        ports.join(", ")
                    )
                }
            }
            GatewayStep::Miss(GatewayMiss::PlainText, ..) => format!(
                "no plain-text HTTP server on port {port}: its servers expect TLS or are not HTTP, and the request is plain HTTP; {NO_HTTP}"
            ),
            GatewayStep::Miss(GatewayMiss::ServerName, _, host, _) => format!(
                "no HTTPS server terminating TLS on port {port} takes the server name {host:?}, and the request is https; {NO_HTTP}"
            ),
            GatewayStep::Miss(GatewayMiss::Host(routes), _, host, tls) => {
                let mut domains: Vec<&str> = routes.virtual_hosts().map(|v| &*v.domain).collect();
                domains.sort_unstable();
                let (listener, have) = if tls {
                    ("HTTPS server", "has")
                } else {
                    ("plain-text servers", "have")
                };
                if domains.is_empty() {
                    format!(
                        "host {host:?} not served on port {port}: the {listener} there {have} no virtual host"
                    )
                } else {
                    format!(
                        "host {host:?} not served on port {port} (virtual hosts of its {listener}: {})",
                        domains.join(", ")
                    )
                }
            }
            GatewayStep::HttpsRedirect(vhost) => format!(
                "virtual host {} requires TLS (spec.servers[{}].tls.httpsRedirect) and the request is plain HTTP: redirect to https",
                vhost.domain,
                vhost.https_redirect.unwrap_or_default()
            ),
        };
        self.steps.push(Step::Gateway { port, verdict });
    }

    fn virtual_service(&mut self, key: &str, verdict: VsVerdict) {
        let verdict = match verdict {
            VsVerdict::Applies => "applies",
            VsVerdict::NotExported => "not exported to the caller's namespace (exportTo)",
            VsVerdict::NotImported => "not imported by the caller's Sidecar (egress hosts)",
            VsVerdict::NoServiceOnPort => {
                "none of its hosts is a service on this port, and only port 80 takes VirtualServices for other hosts: ignored"
            }
            VsVerdict::NoRoutesForCaller => {
                "yields no routes for this caller (every match dropped by port/sourceLabels/sourceNamespace): ignored"
            }
        };
        // Update the header pushed when its first match was tried, if any.
        let open = self.steps.iter_mut().rev().find_map(|step| match step {
            Step::VirtualService { name, verdict: v } if name == key && v == CONSIDERED => Some(v),
            _ => None,
        });
        match open {
            Some(v) => verdict.clone_into(v),
            None => self.steps.push(Step::VirtualService {
                name: key.to_owned(),
                verdict: verdict.to_owned(),
            }),
        }
    }

    fn entry(
        &mut self,
        vs: &str,
        route: &CompiledRoute,
        matched: Option<&CompiledMatch>,
        verdict: EntryVerdict<'_, '_>,
    ) {
        let route = RouteReport {
            kind: RouteKind::Http.as_str().to_owned(),
            index: route.index,
            name: route.name.as_deref().map(str::to_owned),
        };
        let matched = matched.map(|m| RuleReport {
            index: m.index,
            name: m.name.as_deref().map(str::to_owned),
        });
        let fired = matches!(verdict, EntryVerdict::Matched);
        self.push_match(vs, route, matched, fired, verdict.reason());
    }

    fn start_connection(&mut self, source: &Source, connection: &Connection<'_>) {
        self.start(source, "");
        self.authority = connection.to_string();
    }

    fn note(&mut self, text: &dyn Fn() -> String) {
        self.steps.push(Step::Note { note: text() });
    }

    fn stream_entry(
        &mut self,
        vs: &str,
        kind: RouteKind,
        rule: usize,
        matched: Option<usize>,
        reason: &dyn Fn() -> Option<String>,
    ) {
        let route = RouteReport {
            kind: kind.as_str().to_owned(),
            index: rule,
            name: None,
        };
        let matched = matched.map(|index| RuleReport { index, name: None });
        self.push_match(vs, route, matched, false, reason());
    }

    fn stream_chosen(&mut self, vs: &str, kind: RouteKind, rule: usize, matched: Option<usize>) {
        let step = self.steps.iter_mut().rev().find_map(|step| match step {
            Step::Match {
                virtual_service,
                route,
                matched: m,
                fired,
                ..
            } if virtual_service == vs
                && route.kind == kind.as_str()
                && route.index == rule
                && m.as_ref().map(|m| m.index) == matched =>
            {
                Some(fired)
            }
            _ => None,
        });
        if let Some(fired) = step {
            *fired = true;
        }
    }
}

impl Explanation {
    /// Adds a tried match under its VirtualService's header (pushed when it changes).
    fn push_match(
        &mut self,
        vs: &str,
        route: RouteReport,
        matched: Option<RuleReport>,
        fired: bool,
        reason: Option<String>,
    ) {
        let current = self.steps.iter().rev().find_map(|step| match step {
            Step::VirtualService { name, .. } => Some(name.as_str()),
            Step::Match { .. }
            | Step::Visibility { .. }
            | Step::Gateway { .. }
            | Step::Note { .. } => None,
        });
        if current != Some(vs) {
            self.steps.push(Step::VirtualService {
                name: vs.to_owned(),
                verdict: CONSIDERED.to_owned(),
            });
        }
        self.steps.push(Step::Match {
            virtual_service: vs.to_owned(),
            route,
            matched,
            fired,
            reason,
        });
    }

    pub(crate) fn finish_connection(&mut self, decision: &ConnectionDecision<'_>) {
        let destination = decision.destination().map(describe_destination);
        self.summary = match decision.outcome() {
            Outcome::Route => format!("route to {}", destination.unwrap_or_default()),
            Outcome::NoVirtualService => format!(
                "no tcp or tls rule applies: default routing to {}",
                destination.unwrap_or_default()
            ),
            Outcome::Passthrough => {
                "passthrough: the connection goes to its original destination, unrouted".to_owned()
            }
            Outcome::Closed => "no filter chain matches: Envoy closes the connection".to_owned(),
            Outcome::Http => "served as HTTP: decide its requests with Mesh::route".to_owned(),
            other => other.as_str().to_owned(),
        };
        if let Some(endpoint) = decision.endpoint() {
            self.summary
                .push_str(&format!(", endpoint {}", endpoint.address));
        }
        if decision.no_endpoint() == Some(NoEndpoint::NoHealthyUpstream) {
            self.summary
                .push_str(" (no healthy endpoint: Envoy closes the connection, flag UH)");
        }
        if decision.destination().is_some_and(|d| !d.cluster_exists) {
            self.summary.push_str(
                " (no DestinationRule defines the subset: no cluster, the connection is closed)",
            );
        }
    }

    pub(crate) fn finish(&mut self, decision: &Decision<'_>) {
        let destination = decision.destination().map(describe_destination);
        self.summary = match decision.outcome() {
            Outcome::Route => format!("route to {}", destination.unwrap_or_default()),
            Outcome::Redirect => format!(
                "redirect {} {}",
                decision.redirect_status().unwrap_or(301),
                decision.redirect_location().unwrap_or_default()
            ),
            Outcome::DirectResponse => format!(
                "direct response {}",
                decision
                    .direct_response()
                    .map_or(0, |r| r.status().as_u16())
            ),
            Outcome::NoRoute => "no route matched: Envoy answers 404 (NR)".to_owned(),
            Outcome::BlackHole => {
                "REGISTRY_ONLY and no service for this host and port: BlackHoleCluster, Envoy answers 502"
                    .to_owned()
            }
            Outcome::NoVirtualService => format!(
                "no VirtualService applies: default routing to {}",
                destination.unwrap_or_default()
            ),
            other => other.as_str().to_owned(),
        };
        if let Some(endpoint) = decision.endpoint() {
            self.summary
                .push_str(&format!(", endpoint {}", endpoint.address));
        }
        if let Some(status) = decision.local_status().filter(|_| {
            matches!(
                decision.outcome(),
                Outcome::Route | Outcome::NoVirtualService
            )
        }) {
            self.summary
                .push_str(&format!(" (Envoy answers {})", status.as_u16()));
        }
    }
}

/// `host subset s port p`.
fn describe_destination(d: DestinationRef<'_>) -> String {
    let mut text = d.host.to_owned();
    if let Some(subset) = d.subset {
        text.push_str(&format!(" subset {subset}"));
    }
    if let Some(port) = d.port {
        text.push_str(&format!(" port {port}"));
    }
    text
}

impl fmt::Display for Explanation {
    /// A readable trace, one step per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} calls {}", self.caller, self.authority)?;
        let name = |n: &Option<String>| n.as_ref().map(|n| format!(" ({n})")).unwrap_or_default();
        for step in &self.steps {
            match step {
                Step::Gateway { port, verdict } => writeln!(f, "  port {port}: {verdict}")?,
                Step::VirtualService { name, verdict } => {
                    writeln!(f, "  VirtualService {name}: {verdict}")?;
                }
                Step::Visibility { resource, verdict } => {
                    writeln!(f, "  {resource}: {verdict}")?;
                }
                Step::Match {
                    virtual_service,
                    route,
                    matched,
                    fired,
                    reason,
                } => {
                    let which = match matched {
                        Some(m) => format!("match #{}{}", m.index, name(&m.name)),
                        None => "no match conditions".to_owned(),
                    };
                    let verdict = match (fired, reason) {
                        (true, Some(reason)) => format!("MATCHED ({reason})"),
                        (true, None) => "MATCHED".to_owned(),
                        (false, reason) => reason.clone().unwrap_or_default(),
                    };
                    writeln!(
                        f,
                        "    {virtual_service} {}[{}]{} {which}: {verdict}",
                        route.kind,
                        route.index,
                        name(&route.name)
                    )?;
                }
                Step::Note { note } => writeln!(f, "  {note}")?,
            }
        }
        write!(f, "  => {}", self.summary)
    }
}
