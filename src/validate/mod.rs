//! Istio's validation: the rules its admission webhook applies (`pkg/config/validation` in
//! istio/istio), one file per kind, with Istio's messages. Every problem of every resource is
//! reported, each with its field path.

mod common;
mod destination_rule;
mod gateway;
mod service_entry;
mod sidecar;
pub(crate) mod sink;
pub(crate) mod unreachable;
mod virtual_service;
mod workload_entry;

use crate::config::sticky;
use crate::config::{Body, Resource};
use crate::diagnostic::Diagnostic;
use crate::util::regex::RegexBudget;
use sink::Sink;

/// Validates one resource, appending every problem found to `out`; its regexes are charged to
/// `regexes`, the budget of the whole configuration.
pub(crate) fn validate(resource: &Resource, out: &mut Vec<Diagnostic>, regexes: &mut RegexBudget) {
    let mut sink = Sink::new(resource, out).with_regexes(regexes);
    if resource.metadata.name.is_empty() && !matches!(resource.body, Body::Ignored { .. }) {
        sink.error("metadata.name", "name is required");
    }
    match &resource.body {
        Body::VirtualService(vs) => {
            // meshroute's own annotation: a bad value is ignored (random choice, as Istio's),
            // with a warning; Istio ignores the annotation.
            let annotation = resource.metadata.annotations.get(sticky::ANNOTATION);
            if let Some(Err(message)) = annotation.map(|value| sticky::parse(value)) {
                sink.warn(
                    format!("metadata.annotations[{}]", sticky::ANNOTATION),
                    format!("{message}; the sticky choice is off (every weighted route chooses at random)"),
                );
            }
            virtual_service::validate(&mut sink, vs)
        }
        Body::DestinationRule(dr) => destination_rule::validate(&mut sink, dr),
        Body::Gateway(gw) => gateway::validate(&mut sink, gw),
        Body::ServiceEntry(se) => service_entry::validate(&mut sink, se),
        Body::WorkloadEntry(we) => workload_entry::validate(&mut sink, we),
        Body::Sidecar(sc) => sidecar::validate(&mut sink, sc),
        Body::Service(_)
        | Body::Deployment(_)
        | Body::Pod(_)
        | Body::EndpointSlice(_)
        | Body::WeightController(_)
        | Body::MeshConfig(_)
        | Body::Ignored { .. } => {}
    }
}
