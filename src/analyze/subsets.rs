//! MR002 (like `istioctl analyze` IST0173 `DestinationRuleSubsetNotSelectPods`): a subset whose
//! labels select none of the host's endpoints known from the manifests.

use std::collections::BTreeMap;

use crate::balance::endpoint::Endpoint;
use crate::config::DestinationRule;
use crate::diagnostic::Code;
use crate::registry::rules::Rules;
use crate::util::host;
use crate::validate::sink::Sink;

/// At most this many label sets are listed in an MR002 message.
const SHOWN_LABEL_SETS: usize = 5;

/// Whether `e` is a workload (not the placeholder a DNS ServiceEntry without endpoints gets,
/// whose subsets Envoy resolves by DNS rather than by labels).
fn is_workload(e: &Endpoint, host: &str) -> bool {
    e.ip.is_some()
        || e.name.is_some()
        || !e.labels.is_empty()
        || e.address != format!("{host}:{}", e.port)
}

fn show_labels(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// MR002 (like IST0173 DestinationRuleSubsetNotSelectPods): a subset whose labels select none
/// of the host's known endpoints. Requests routed to it get 503 UH.
pub(crate) fn empty_subsets(
    sink: &mut Sink<'_>,
    dr: &DestinationRule,
    rules: &Rules<'_>,
    discovered: &BTreeMap<(String, u16), Vec<Endpoint>>,
) {
    let fqdn = host::resolve(&dr.host, sink.resource().namespace());
    let mut hosts: Vec<&str> = discovered
        .keys()
        .map(|(h, _)| h.as_str())
        .filter(|h| host::matches(&fqdn, h))
        .collect();
    hosts.dedup();
    // The rule in effect for the host as seen from this rule's own namespace.
    let namespace = sink.resource().namespace().to_owned();
    let applied: Vec<(&str, Option<DestinationRule>)> = hosts
        .iter()
        .map(|h| (*h, rules.lookup(&namespace, h, None).map(|c| c.rule)))
        .collect();
    for (i, subset) in dr.subsets.iter().enumerate() {
        if subset.labels.is_empty() {
            continue;
        }
        let mut targets: Vec<&str> = Vec::new();
        let mut workloads: Vec<&Endpoint> = Vec::new();
        for (h, rule) in &applied {
            // Only where this definition of the subset is the one in effect for the host.
            let in_effect = rule.as_ref().is_some_and(|r| {
                r.subsets
                    .iter()
                    .any(|s| s.name == subset.name && s.labels == subset.labels)
            });
            if !in_effect {
                continue;
            }
            targets.push(h);
            workloads.extend(
                discovered
                    .iter()
                    .filter(|((dh, _), _)| dh == h)
                    .flat_map(|(_, list)| list.iter())
                    .filter(|e| is_workload(e, h)),
            );
        }
        if workloads.is_empty() || workloads.iter().any(|e| e.selected_by(&subset.labels)) {
            continue;
        }
        let mut sets: Vec<String> = workloads.iter().map(|e| show_labels(&e.labels)).collect();
        sets.sort();
        sets.dedup();
        let more = sets.len().saturating_sub(SHOWN_LABEL_SETS);
        sets.truncate(SHOWN_LABEL_SETS);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        sink.analysis(
            Code::SubsetWithoutEndpoints,
            format!("spec.subsets[{i}].labels"),
            format!(
                "subset {:?} selects no endpoints of {}: no workload has the labels {} (its workloads have {}{more}); requests routed to this subset get 503 (no healthy upstream); fix the labels or deploy workloads that carry them",
                subset.name,
                targets.join(", "),
                show_labels(&subset.labels),
                sets.join(", ")
            ),
        );
    }
}
