//! What Istio accepts but is probably wrong: the `istioctl analyze` findings meshroute shares
//! with Istio (IST0101, IST0109, IST0112, IST0130, IST0131, IST0132) at istioctl's levels, and meshroute's
//! own opt-in lints (MR001–MR005).
//!
//! [`check`] is what `meshroute check` runs: validation of every resource, then analysis of the
//! resources that take effect. [`lint`] adds meshroute's lints.

mod flags;
mod hosts;
mod references;
mod ring_size;
mod shadowed;
mod subsets;
mod weights;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::config::{Body, Resource, effective, managed_by};
use crate::diagnostic::Diagnostic;
use crate::registry::endpoints::discover;
use crate::registry::rules::Rules;
use crate::registry::visibility::MeshSettings;
use crate::util::regex::RegexBudget;
use crate::validate::sink::Sink;
use crate::validate::validate;

/// Validates `resources` the way Istio's admission webhook does and analyzes them the way
/// `istioctl analyze` does, returning every diagnostic (errors, warnings, info), each with its
/// line when the resource's text is known.
///
/// Validation sees every resource; analysis sees the ones that take effect
/// ([`effective`](crate::config::effective)): a later definition of the same kind, namespace and
/// name replaces an earlier one, as `kubectl apply` does.
pub fn check(resources: &[Resource]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut regexes = RegexBudget::default();
    for resource in resources {
        let start = out.len();
        validate(resource, &mut out, &mut regexes);
        resource.locate(out.get_mut(start..).unwrap_or_default());
    }
    let effective = effective(resources);
    let start = out.len();
    references::analyze(&effective, &mut out);
    locate(&effective, out.get_mut(start..).unwrap_or_default());
    suppress(&effective, &mut out, start);
    out
}

/// Runs meshroute's own lints, the findings beyond Istio's validation and `istioctl analyze`,
/// on the resources that take effect. Every finding is a [`Severity::Warning`] (MR004: an
/// [`Severity::Info`]) with a [`Code`], each with its line when the resource's text is known:
///
/// - `MR001` ([`Code::ShadowedMatch`]): a match (or a rule) that never fires, because an
///   earlier match of the same VirtualService accepts every request it accepts (beyond IST0130 /
///   IST0131, which it does not repeat);
/// - `MR002` ([`Code::SubsetWithoutEndpoints`]): a DestinationRule subset whose labels select
///   none of the host's endpoints known from the manifests (like `istioctl analyze` IST0173);
/// - `MR003` ([`Code::DestinationWithoutTraffic`]): a destination that gets no traffic (weight
///   0, or no weight, beside other destinations), or two destinations of a route that name the
///   same host, subset and port. The weights of a VirtualService that a progressive-delivery
///   controller sets are left alone: one owned by a Flagger `Canary` or an Argo `Rollout`
///   (`metadata.ownerReferences`), annotated `argo-rollouts.argoproj.io/managed-by-rollouts`, or
///   named by a `Rollout` (`spec.strategy.canary.trafficRouting.istio`) or a `Canary` (its apex
///   service) of the configuration: a canary at weight 0 between two steps is not a mistake;
/// - `MR004` ([`Code::UnforwardedRoutingFlag`]): a mesh VirtualService for a host other services
///   call that routes on a request header or query parameter (not a trace header), which every
///   caller must forward; the flags listed in the VirtualService's annotation
///   `meshroute.dev/forwarded-flags` (comma-separated, header names in any case) are not
///   reported;
/// - `MR005` ([`Code::RingAtMaximumSize`]): a `consistentHash` ring whose endpoints' weights are
///   so unequal that Envoy cuts it down to its maximum size, 8388608 entries, for every cluster
///   it applies to (Envoy's `maximum_ring_size`; the endpoints known from the manifests).
///
/// [`check`] never runs them: its output stays what Istio and `istioctl analyze` report.
///
/// Both honour `istioctl analyze`'s suppression annotation on the resource a finding is about:
/// `galley.istio.io/analyze-suppress: "MR003,IST0131"` drops those codes, `"*"` every finding
/// (validation errors, which Istio's webhook would refuse, are never suppressed).
///
/// [`Severity::Warning`]: crate::Severity::Warning
/// [`Severity::Info`]: crate::Severity::Info
/// [`Code`]: crate::Code
/// [`Code::ShadowedMatch`]: crate::Code::ShadowedMatch
/// [`Code::SubsetWithoutEndpoints`]: crate::Code::SubsetWithoutEndpoints
/// [`Code::DestinationWithoutTraffic`]: crate::Code::DestinationWithoutTraffic
/// [`Code::UnforwardedRoutingFlag`]: crate::Code::UnforwardedRoutingFlag
/// [`Code::RingAtMaximumSize`]: crate::Code::RingAtMaximumSize
///
/// ```
/// # #[cfg(feature = "yaml")] {
/// let yaml = "apiVersion: networking.istio.io/v1
/// kind: VirtualService
/// metadata: {name: svc-b, namespace: default}
/// spec:
///   hosts: [svc-b]
///   http:
///   - route:
///     - destination: {host: svc-b, subset: v1}
///       weight: 0
///     - destination: {host: svc-b, subset: v2}
///       weight: 100
/// ";
/// let loaded = meshroute::from_str(yaml, &meshroute::LoadOptions::default());
/// let lints = meshroute::lint(&loaded.resources);
/// assert_eq!(lints.len(), 1);
/// assert_eq!(lints[0].code, Some(meshroute::Code::DestinationWithoutTraffic));
/// assert_eq!(lints[0].path, "spec.http[0].route[0].weight");
/// assert_eq!(lints[0].line, Some(9));
/// # }
/// ```
pub fn lint(resources: &[Resource]) -> Vec<Diagnostic> {
    let effective = effective(resources);
    let discovered = discover(&effective);
    let settings = MeshSettings::new(&effective);
    let rules = Rules::new(&effective, &settings);
    let called = flags::called_hosts(&effective);
    let called = flags::Called::new(&called);
    // VirtualServices whose weights a progressive-delivery controller of the configuration sets.
    let controlled: HashSet<&str> = effective
        .iter()
        .filter_map(|r| match &r.body {
            Body::WeightController(c) => Some(c.virtual_services.iter().map(String::as_str)),
            _ => None,
        })
        .flatten()
        .collect();
    let mut out = Vec::new();
    for &resource in &effective {
        let mut sink = Sink::new(resource, &mut out);
        match &resource.body {
            Body::VirtualService(vs) => {
                shadowed::shadowed(&mut sink, vs);
                let managed = managed_by(&resource.metadata).is_some()
                    || controlled.contains(resource.key().as_str());
                weights::idle_destinations(&mut sink, vs, managed);
                flags::forwarded_flags(&mut sink, vs, &called);
            }
            Body::DestinationRule(dr) => {
                subsets::empty_subsets(&mut sink, dr, &rules, &discovered);
                ring_size::capped_rings(&mut sink, dr, &rules, &discovered);
            }
            _ => {}
        }
    }
    locate(&effective, &mut out);
    suppress(&effective, &mut out, 0);
    out
}

/// `istioctl analyze`'s suppression annotation (`annotation.GalleyAnalyzeSuppress`).
const ANALYZE_SUPPRESS: &str = "galley.istio.io/analyze-suppress";

/// Drops the findings from `start` on whose resource suppresses their code with
/// [`ANALYZE_SUPPRESS`]: a comma-separated list of codes compared as written, or `*` for all
/// (`filterMessages` in istio/istio `pkg/config/analysis/local/istiod_analyze.go`).
fn suppress(effective: &[&Resource], diagnostics: &mut Vec<Diagnostic>, start: usize) {
    let suppressing: HashMap<(&str, String), &str> = effective
        .iter()
        .filter_map(|r| {
            let codes = r.metadata.annotations.get(ANALYZE_SUPPRESS)?;
            Some(((r.kind(), r.key()), codes.as_str()))
        })
        .filter(|(_, codes)| !codes.is_empty())
        .collect();
    if suppressing.is_empty() {
        return;
    }
    let mut index = 0;
    diagnostics.retain(|d| {
        index += 1;
        let (true, Some(code), Some(kind), Some(name)) = (index > start, d.code, &d.kind, &d.name)
        else {
            return true;
        };
        let Some(codes) = suppressing.get(&(kind.as_str(), name.clone())) else {
            return true;
        };
        !codes.split(',').any(|c| c == "*" || c == code.as_str())
    });
}

/// Fills in the line of each diagnostic about one of the `effective` resources. Each resource's
/// text is read once for all of its diagnostics (a configuration can have thousands).
fn locate(effective: &[&Resource], diagnostics: &mut [Diagnostic]) {
    let index: HashMap<(&str, String), usize> = effective
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.kind(), r.key()), i))
        .collect();
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, diagnostic) in diagnostics.iter().enumerate() {
        let (Some(kind), Some(name)) = (&diagnostic.kind, &diagnostic.name) else {
            continue;
        };
        if let Some(&resource) = index.get(&(kind.as_str(), name.clone())) {
            groups.entry(resource).or_default().push(i);
        }
    }
    for (resource, members) in groups {
        let Some(resource) = effective.get(resource) else {
            continue;
        };
        let mut batch: Vec<Diagnostic> = members
            .iter()
            .filter_map(|&i| diagnostics.get(i).cloned())
            .collect();
        resource.locate(&mut batch);
        for (&i, located) in members.iter().zip(batch) {
            if let Some(diagnostic) = diagnostics.get_mut(i) {
                diagnostic.line = located.line;
            }
        }
    }
}
