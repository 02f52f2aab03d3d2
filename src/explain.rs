//! Why a request went where it went: the trace [`Mesh::explain`](crate::Mesh::explain) records
//! while deciding with the same code as [`Mesh::route`](crate::Mesh::route).

use std::fmt;

use crate::decision::{Decision, Outcome};
use crate::mesh::Source;
use crate::table::{CompiledMatch, CompiledRoute};

/// How a VirtualService fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VsVerdict {
    /// It decided the request (a route matched, or none did: 404).
    Applies,
    /// Its `exportTo` hides it from the caller's namespace.
    NotExported,
    /// Every match was dropped by a config-time selector for this caller: Istio builds no
    /// virtual host from it.
    NoRoutesForCaller,
}

/// How one route table entry (a route's match) fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryVerdict {
    Matched,
    /// A config-time selector (`port`, `sourceLabels`, `sourceNamespace`) dropped it.
    Dropped(String),
    /// The first request condition that failed.
    Failed(String),
}

/// Receives the steps of a decision. The no-op implementation compiles away.
pub(crate) trait Tracer {
    fn enabled(&self) -> bool {
        false
    }
    fn start(&mut self, _source: &Source, _authority: &str) {}
    fn virtual_service(&mut self, _key: &str, _verdict: VsVerdict) {}
    fn entry(
        &mut self,
        _vs: &str,
        _route: &CompiledRoute,
        _matched: Option<&CompiledMatch>,
        _verdict: EntryVerdict,
    ) {
    }
}

/// The verdict of a VirtualService whose routes are being tried (gateways merge several).
const CONSIDERED: &str = "routes tried";

/// The tracer of [`Mesh::route`](crate::Mesh::route): records nothing.
pub(crate) struct NoTrace;

impl Tracer for NoTrace {}

/// One line of an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// A VirtualService claiming the host, and whether it applied.
    VirtualService {
        /// `namespace/name`.
        name: String,
        /// `applies`, `not exported to the caller's namespace`, or `no routes for this caller`.
        verdict: String,
    },
    /// One match of one route, tried in order.
    Match {
        /// The VirtualService.
        virtual_service: String,
        /// The route's index in `spec.http` and its name.
        route: (usize, Option<String>),
        /// The match's index and name; `None` for a route without matches.
        matched: Option<(usize, Option<String>)>,
        /// `true` when this is the match that fired.
        fired: bool,
        /// Why it did not fire: the selector that dropped it, or the first failing condition
        /// and the value seen (`queryParams.name: exact "xx" ≠ "yy"`).
        reason: Option<String>,
    },
}

/// The trace of one decision: the caller, the host, each VirtualService considered and each
/// route and match tried, then the outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explanation {
    /// Who called (`sidecar in default` or `gateway default/demo-gateway`).
    pub caller: String,
    /// The authority the request was sent to.
    pub authority: String,
    /// The steps, in the order they were taken.
    pub steps: Vec<Step>,
    /// A one-line summary of the decision.
    pub outcome: String,
}

impl Tracer for Explanation {
    fn enabled(&self) -> bool {
        true
    }

    fn start(&mut self, source: &Source, authority: &str) {
        self.caller = match source.gateway_name() {
            Some(gateway) => format!("gateway {gateway}"),
            None => format!("sidecar in namespace {}", source.namespace()),
        };
        self.authority = authority.to_owned();
    }

    fn virtual_service(&mut self, key: &str, verdict: VsVerdict) {
        let verdict = match verdict {
            VsVerdict::Applies => "applies",
            VsVerdict::NotExported => "not exported to the caller's namespace (exportTo)",
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
        verdict: EntryVerdict,
    ) {
        let current = self.steps.iter().rev().find_map(|step| match step {
            Step::VirtualService { name, .. } => Some(name.as_str()),
            Step::Match { .. } => None,
        });
        if current != Some(vs) {
            self.steps.push(Step::VirtualService {
                name: vs.to_owned(),
                verdict: CONSIDERED.to_owned(),
            });
        }
        let (fired, reason) = match verdict {
            EntryVerdict::Matched => (true, None),
            EntryVerdict::Dropped(why) => (false, Some(format!("dropped for this caller: {why}"))),
            EntryVerdict::Failed(why) => (false, Some(why)),
        };
        self.steps.push(Step::Match {
            virtual_service: vs.to_owned(),
            route: (route.index, route.name.as_deref().map(str::to_owned)),
            matched: matched.map(|m| (m.index, m.name.as_deref().map(str::to_owned))),
            fired,
            reason,
        });
    }
}

impl Explanation {
    pub(crate) fn finish(&mut self, decision: &Decision<'_>) {
        let destination = decision.destination().map(|d| {
            let mut text = d.host.to_owned();
            if let Some(subset) = d.subset {
                text.push_str(&format!(" subset {subset}"));
            }
            if let Some(port) = d.port {
                text.push_str(&format!(" port {port}"));
            }
            text
        });
        self.outcome = match decision.outcome() {
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
            Outcome::NoVirtualService => format!(
                "no VirtualService applies: default routing to {}",
                destination.unwrap_or_default()
            ),
        };
        if let Some(endpoint) = decision.endpoint() {
            self.outcome
                .push_str(&format!(", endpoint {}", endpoint.address));
        }
        if let Some(status) = decision.local_status().filter(|_| {
            matches!(
                decision.outcome(),
                Outcome::Route | Outcome::NoVirtualService
            )
        }) {
            self.outcome
                .push_str(&format!(" (Envoy answers {})", status.as_u16()));
        }
    }

    /// The trace as JSON: `{"caller", "authority", "steps": [...], "outcome"}`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let steps: Vec<serde_json::Value> = self
            .steps
            .iter()
            .map(|step| match step {
                Step::VirtualService { name, verdict } => {
                    json!({"virtualService": name, "verdict": verdict})
                }
                Step::Match {
                    virtual_service,
                    route,
                    matched,
                    fired,
                    reason,
                } => json!({
                    "virtualService": virtual_service,
                    "route": {"index": route.0, "name": route.1},
                    "match": matched.as_ref().map(|(i, n)| json!({"index": i, "name": n})),
                    "fired": fired,
                    "reason": reason,
                }),
            })
            .collect();
        json!({"caller": self.caller, "authority": self.authority, "steps": steps, "outcome": self.outcome})
    }
}

impl fmt::Display for Explanation {
    /// A readable trace, one step per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} calls {}", self.caller, self.authority)?;
        let name = |n: &Option<String>| n.as_ref().map(|n| format!(" ({n})")).unwrap_or_default();
        for step in &self.steps {
            match step {
                Step::VirtualService { name, verdict } => {
                    writeln!(f, "  VirtualService {name}: {verdict}")?;
                }
                Step::Match {
                    virtual_service,
                    route,
                    matched,
                    fired,
                    reason,
                } => {
                    let which = match matched {
                        Some((i, n)) => format!("match #{i}{}", name(n)),
                        None => "no match conditions".to_owned(),
                    };
                    let verdict = if *fired {
                        "MATCHED".to_owned()
                    } else {
                        reason.clone().unwrap_or_default()
                    };
                    writeln!(
                        f,
                        "    {virtual_service} http[{}]{} {which}: {verdict}",
                        route.0,
                        name(&route.1)
                    )?;
                }
            }
        }
        write!(f, "  => {}", self.outcome)
    }
}
