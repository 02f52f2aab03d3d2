//! Building the clusters of a mesh from its manifests: one per known `(host, port)` and per
//! subset of the host's DestinationRule, plus one per route destination.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::balance::cluster::Cluster;
use crate::balance::endpoints::{self, Endpoint};
use crate::balance::policy;
use crate::config::{Body, DestinationRule, Resource};
use crate::host;

/// `(subset, port, cluster index)` of one host's clusters.
type HostClusters = Vec<(Option<Box<str>>, u16, u32)>;

/// All clusters, and how to find them without allocating.
#[derive(Debug, Default)]
pub(crate) struct Clusters {
    pub(crate) clusters: Vec<Cluster>,
    /// host → `(subset, port, cluster index)`.
    by_host: FxHashMap<Box<str>, HostClusters>,
}

impl Clusters {
    /// The cluster for `host` / `subset` / `port`.
    pub(crate) fn find(&self, host: &str, subset: Option<&str>, port: u16) -> Option<u32> {
        self.by_host
            .get(host)?
            .iter()
            .find(|(s, p, _)| *p == port && s.as_deref() == subset)
            .map(|(_, _, i)| *i)
    }

    pub(crate) fn get(&self, index: u32) -> Option<&Cluster> {
        self.clusters.get(usize::try_from(index).ok()?)
    }

    /// Every cluster of `host` on `port` (all subsets).
    pub(crate) fn of_host_port(&self, host: &str, port: u16) -> impl Iterator<Item = &Cluster> {
        self.by_host
            .get(host)
            .into_iter()
            .flatten()
            .filter(move |(_, p, _)| *p == port)
            .filter_map(|(_, _, i)| self.get(*i))
    }

    fn add(&mut self, cluster: Cluster) -> u32 {
        let index = u32::try_from(self.clusters.len()).unwrap_or(u32::MAX);
        self.by_host.entry(cluster.host.clone()).or_default().push((
            cluster.subset.clone(),
            cluster.port,
            index,
        ));
        self.clusters.push(cluster);
        index
    }
}

/// The DestinationRule that applies to `fqdn`. Rules for exactly that host win over wildcard
/// rules (the most specific wildcard otherwise). Among namespaces, Istio looks in the caller's
/// namespace, then the service's, then the root namespace (`istio-system`); meshroute's clusters
/// are shared by all callers, so it takes the service's namespace (the `ns` of
/// `name.ns.svc.cluster.local`), then `istio-system`, then the first rule's namespace. Rules of
/// that namespace are merged (dr.go `mergeDestinationRule`): the first `trafficPolicy` wins,
/// subsets are concatenated with the first definition of a name winning.
pub(crate) fn rule_for(
    rules: &[(String, &str, &DestinationRule)],
    fqdn: &str,
) -> Option<DestinationRule> {
    let exact: Vec<&(String, &str, &DestinationRule)> =
        rules.iter().filter(|(h, _, _)| h == fqdn).collect();
    let candidates: Vec<&(String, &str, &DestinationRule)> = if exact.is_empty() {
        let best = rules
            .iter()
            .filter(|(h, _, _)| h.starts_with('*') && host::matches(h, fqdn))
            .map(|(h, _, _)| h.len())
            .max();
        rules
            .iter()
            .filter(|(h, _, _)| {
                h.starts_with('*') && host::matches(h, fqdn) && Some(h.len()) == best
            })
            .collect()
    } else {
        exact
    };
    let service_namespace = fqdn
        .strip_suffix(&format!(".svc.{}", host::DOMAIN_SUFFIX))
        .and_then(|base| base.split_once('.'))
        .map(|(_, ns)| ns);
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

/// A stable per-cluster seed for round robin's starting point, so simulations replay.
fn seed_of(host: &str, subset: Option<&str>, port: u16) -> u64 {
    crate::balance::hash::xxhash64(
        format!("{host}|{}|{port}", subset.unwrap_or("")).as_bytes(),
        0,
    )
}

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

/// Builds the clusters. `destinations` are the `(host, subset, port)` the routes name with a
/// port known at compile time.
pub(crate) fn build(
    resources: &[&Resource],
    destinations: &[(String, Option<String>, u16)],
) -> Clusters {
    let discovered = endpoints::discover(resources);
    let rules = destination_rules(resources);
    let mut clusters = Clusters::default();
    let mut wanted: BTreeMap<(String, Option<String>, u16), ()> = BTreeMap::new();
    for (host, port) in discovered.keys() {
        wanted.insert((host.clone(), None, *port), ());
        if let Some(rule) = rule_for(&rules, host) {
            for subset in &rule.subsets {
                wanted.insert((host.clone(), Some(subset.name.clone()), *port), ());
            }
        }
    }
    for d in destinations {
        wanted.insert(d.clone(), ());
    }
    for (host, subset, port) in wanted.into_keys() {
        let rule = rule_for(&rules, &host);
        let selector = match (&subset, &rule) {
            (Some(name), Some(rule)) => match rule.subsets.iter().find(|s| &s.name == name) {
                Some(s) => Some(s.labels.clone()),
                // Subset not defined: the cluster does not exist in Envoy (503 NC); keep an
                // empty selector that matches nothing.
                None => Some(BTreeMap::from([(String::new(), String::from("\u{0}"))])),
            },
            (Some(_), None) => Some(BTreeMap::from([(String::new(), String::from("\u{0}"))])),
            (None, _) => None,
        };
        let policy = policy::resolve(rule.as_ref(), subset.as_deref(), port);
        let all: Option<&[Endpoint]> = discovered.get(&(host.clone(), port)).map(Vec::as_slice);
        let seed = seed_of(&host, subset.as_deref(), port);
        clusters.add(Cluster::new(
            &host,
            subset.as_deref(),
            port,
            selector,
            policy,
            all,
            seed,
        ));
    }
    clusters
}
