//! DestinationRules: which one applies to a host, and what it says, as Istio looks it up.

use crate::config::{Body, DestinationRule, Resource, TrafficPolicy};
use crate::util::host;

/// Every DestinationRule with its resolved host and namespace, the input of [`rule_for`].
pub(crate) fn destination_rules<'r>(
    resources: &[&'r Resource],
) -> Vec<(String, &'r str, &'r DestinationRule)> {
    resources
        .iter()
        .filter_map(|r| match &r.body {
            Body::DestinationRule(dr) => Some((
                host::resolve(&dr.host, r.namespace()),
                r.namespace(),
                dr.as_ref(),
            )),
            _ => None,
        })
        .collect()
}

/// The DestinationRule that applies to `fqdn`. Rules for exactly that host win over wildcard rules
/// (the most specific wildcard otherwise). Among namespaces, Istio looks in the caller's namespace,
/// then the service's, then the root namespace (`istio-system`); meshroute's clusters are shared by
/// all callers, so it takes the service's namespace (the `ns` of `name.ns.svc.cluster.local`), then
/// `istio-system`, then the first rule's namespace. Rules of that namespace are merged
/// (`pilot/pkg/model/destination_rule.go` `mergeDestinationRule` in istio/istio): the first
/// `trafficPolicy` wins, subsets are concatenated with the first definition of a name winning.
pub(crate) fn rule_for(
    rules: &[(String, &str, &DestinationRule)],
    fqdn: &str,
) -> Option<DestinationRule> {
    let exact: Vec<&(String, &str, &DestinationRule)> =
        rules.iter().filter(|(h, _, _)| h == fqdn).collect();
    let wildcard = |h: &str| h.starts_with('*') && host::matches(h, fqdn);
    let candidates: Vec<&(String, &str, &DestinationRule)> = if exact.is_empty() {
        let best = rules
            .iter()
            .filter(|(h, _, _)| wildcard(h))
            .map(|(h, _, _)| h.len())
            .max();
        rules
            .iter()
            .filter(|(h, _, _)| wildcard(h) && Some(h.len()) == best)
            .collect()
    } else {
        exact
    };
    let service_namespace = host::kubernetes_service(fqdn).map(|(_, ns)| ns);
    let namespace = [service_namespace, Some("istio-system")]
        .into_iter()
        .flatten()
        .find(|ns| candidates.iter().any(|(_, n, _)| n == ns))
        .or_else(|| candidates.first().map(|(_, n, _)| *n))?;
    let mut merged: Option<DestinationRule> = None;
    for (_, _, rule) in candidates.into_iter().filter(|(_, n, _)| *n == namespace) {
        match &mut merged {
            None => merged = Some((*rule).clone()),
            Some(m) => {
                if m.traffic_policy.is_none() {
                    m.traffic_policy = rule.traffic_policy.clone();
                }
                for subset in &rule.subsets {
                    if !m.subsets.iter().any(|s| s.name == subset.name) {
                        m.subsets.push(subset.clone());
                    }
                }
            }
        }
    }
    merged
}

/// Whether `rule` (or one of its subsets) balances with consistent hashing.
pub(crate) fn uses_consistent_hash(rule: &DestinationRule) -> bool {
    let hashes = |p: &Option<TrafficPolicy>| {
        p.as_ref()
            .and_then(|p| p.load_balancer.as_ref())
            .is_some_and(|lb| lb.consistent_hash.is_some())
    };
    hashes(&rule.traffic_policy) || rule.subsets.iter().any(|s| hashes(&s.traffic_policy))
}
