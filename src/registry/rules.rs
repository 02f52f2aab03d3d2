//! DestinationRules: which one applies to a host for a caller, and what it says, as Istio looks it
//! up (istio/istio `pilot/pkg/model/push_context.go` `setDestinationRules`, `destinationRule`,
//! `getExportedDestinationRuleFromNamespace`; `pilot/pkg/model/destination_rule.go`
//! `mergeDestinationRule`).
//!
//! For a caller in namespace N and a service in namespace S, the first of these that has a rule
//! for the host (exact host first, else the most specific wildcard) is used whole, never merged
//! with the others:
//! 1. rules of N visible in N (`exportTo` empty, `*`, `.` or N); for a caller in the root
//!    namespace, the root namespace's rules that are private to it;
//! 2. rules of S exported to N (`exportTo` empty, `*` or N; `.` never exports);
//! 3. rules of the root namespace exported to N.
//!
//! Rules of one namespace for the same host are merged: the first `trafficPolicy` wins, subsets
//! are concatenated with the first definition of a name winning.

use super::visibility::MeshSettings;
use crate::config::{Body, DestinationRule, Resource, TrafficPolicy};
use crate::util::host;

/// One DestinationRule, indexed.
#[derive(Debug)]
pub(crate) struct RuleEntry<'r> {
    /// The resolved host (may be a wildcard), shared with the index of callers.
    pub(crate) host: std::sync::Arc<str>,
    pub(crate) namespace: &'r str,
    pub(crate) name: &'r str,
    pub(crate) rule: &'r DestinationRule,
    /// `exportTo` as written (`.` not resolved): Istio's lookups read the raw set.
    export: Vec<String>,
    /// Exported beyond its own namespace (push_context.go `isPrivateOnly` is false).
    exported: bool,
}

impl RuleEntry<'_> {
    /// Visible to callers of its own namespace (tier 1).
    fn local(&self) -> bool {
        self.export.is_empty()
            || self
                .export
                .iter()
                .any(|e| e == "*" || e == "." || e == self.namespace)
    }

    /// Exported to callers in `namespace` (tiers 2 and 3).
    fn exported_to(&self, namespace: &str) -> bool {
        self.exported
            && (self.export.is_empty() || self.export.iter().any(|e| e == "*" || e == namespace))
    }

    /// `namespace/name`.
    pub(crate) fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Which tier of the lookup found the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleSource {
    /// The caller's namespace.
    Caller,
    /// The service's namespace.
    Service,
    /// The root namespace.
    Root,
}

/// The DestinationRule that applies for one caller and host: the rules merged and where they
/// came from.
#[derive(Debug, Clone)]
pub(crate) struct RuleChoice {
    /// `namespace/name` of every rule merged, oldest first.
    pub(crate) keys: Vec<String>,
    pub(crate) source: RuleSource,
    pub(crate) rule: DestinationRule,
}

/// Every DestinationRule of the configuration, oldest first.
#[derive(Debug)]
pub(crate) struct Rules<'r> {
    entries: Vec<RuleEntry<'r>>,
    /// The entries of each concrete host, in order: a lookup costs the rules of its host, not
    /// every rule (scopes look up every host they see).
    by_host: std::collections::HashMap<String, Vec<usize>>,
    /// The entries with a wildcard host, in order.
    wildcards: Vec<usize>,
    /// For each namespace that owns a rule or is named in a rule's `exportTo` (as written: a
    /// rule with a workload selector may name more than it exports to), the hosts of those
    /// rules. A lookup reads the caller only in comparisons with a rule's namespace and its
    /// `exportTo` (`local`, `exported_to`; the root namespace's own tier compares the caller
    /// with the namespace of the rules it reads), so every other caller gets the same answer.
    callers: std::collections::HashMap<&'r str, CallerHosts>,
    root: String,
}

/// The hosts of the rules a namespace owns or is named in the `exportTo` of.
#[derive(Debug, Default)]
struct CallerHosts {
    exact: std::collections::HashSet<std::sync::Arc<str>>,
    wildcards: Vec<std::sync::Arc<str>>,
}

/// What makes a caller's lookups its own ([`Rules::caller`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'a> {
    hosts: Option<&'a CallerHosts>,
}

impl Caller<'_> {
    /// Whether [`Rules::lookup`] and [`Rules::explain`] for `fqdn` may answer this caller
    /// otherwise than a caller in a namespace no rule for `fqdn` names; when false, they answer
    /// it as they answer every such caller.
    pub(crate) fn own(&self, fqdn: &str) -> bool {
        self.hosts.is_some_and(|h| {
            h.exact.contains(fqdn) || h.wildcards.iter().any(|w| host::matches(w, fqdn))
        })
    }
}

impl<'r> Rules<'r> {
    pub(crate) fn new(resources: &[&'r Resource], settings: &MeshSettings) -> Self {
        let mut ordered: Vec<&'r Resource> = resources.to_vec();
        // setDestinationRules: creation time, then name, then namespace.
        ordered.sort_by(|a, b| {
            (&a.metadata.creation_timestamp, a.name(), a.namespace()).cmp(&(
                &b.metadata.creation_timestamp,
                b.name(),
                b.namespace(),
            ))
        });
        let entries: Vec<RuleEntry<'r>> = ordered
            .into_iter()
            .filter_map(|r| match &r.body {
                Body::DestinationRule(dr) => {
                    let namespace = r.namespace();
                    // A rule with a workload selector is private to its namespace.
                    let export = if dr.workload_selector.is_some() {
                        vec![".".to_owned()]
                    } else {
                        dr.export_to.clone()
                    };
                    // push_context.go `isPrivateOnly`.
                    let private_only = match export.as_slice() {
                        [] => settings.destination_rule_default_is_private(),
                        [only] => only == "." || only == namespace,
                        _ => false,
                    };
                    Some(RuleEntry {
                        host: host::resolve(&dr.host, namespace).into(),
                        namespace,
                        name: r.name(),
                        rule: dr.as_ref(),
                        export,
                        exported: !private_only,
                    })
                }
                _ => None,
            })
            .collect();
        let mut by_host: std::collections::HashMap<String, Vec<usize>> =
            std::collections::HashMap::new();
        let mut wildcards = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if entry.host.starts_with('*') {
                wildcards.push(i);
            } else {
                by_host.entry(entry.host.to_string()).or_default().push(i);
            }
        }
        let mut callers: std::collections::HashMap<&'r str, CallerHosts> =
            std::collections::HashMap::new();
        for entry in &entries {
            let dr: &'r DestinationRule = entry.rule;
            let names =
                std::iter::once(entry.namespace).chain(dr.export_to.iter().map(String::as_str));
            for name in names {
                let hosts = callers.entry(name).or_default();
                if entry.host.starts_with('*') {
                    hosts.wildcards.push(std::sync::Arc::clone(&entry.host));
                } else {
                    hosts.exact.insert(std::sync::Arc::clone(&entry.host));
                }
            }
        }
        Self {
            entries,
            by_host,
            wildcards,
            callers,
            root: settings.root_namespace().to_owned(),
        }
    }

    /// What may make the lookups of a caller in `caller` its own: a scope asks once, then for
    /// each host it sees ([`Caller::own`]), and shares the answer of any other host.
    pub(crate) fn caller(&self, caller: &str) -> Caller<'_> {
        Caller {
            hosts: self.callers.get(caller),
        }
    }

    /// The entries for exactly `fqdn`, in order.
    fn exact<'a>(&'a self, fqdn: &str) -> impl Iterator<Item = &'a RuleEntry<'r>> + 'a {
        self.by_host
            .get(fqdn)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.entries.get(i))
    }

    /// The entries with a wildcard host that matches `fqdn`, in order.
    fn wildcard<'a>(&'a self, fqdn: &str) -> impl Iterator<Item = &'a RuleEntry<'r>> {
        self.wildcards
            .iter()
            .filter_map(|&i| self.entries.get(i))
            .filter(move |e| host::matches(&e.host, fqdn))
    }

    /// Why each DestinationRule for `fqdn` applies or not for a caller in `caller`:
    /// `(namespace/name, verdict)` for the rule the lookup finds and every other rule whose
    /// host names `fqdn`.
    pub(crate) fn explain(
        &self,
        caller: &str,
        fqdn: &str,
        service_namespace: Option<&str>,
    ) -> Vec<(String, String)> {
        let chosen = self.lookup(caller, fqdn, service_namespace);
        let service_namespace =
            service_namespace.or_else(|| host::kubernetes_service(fqdn).map(|(_, ns)| ns));
        let root = self.root.as_str();
        let mut out = Vec::new();
        // Every entry whose host names `fqdn`, in order.
        let mut naming: Vec<usize> = self.by_host.get(fqdn).cloned().unwrap_or_default();
        naming.extend(self.wildcards.iter().copied().filter(|&i| {
            self.entries
                .get(i)
                .is_some_and(|e| host::matches(&e.host, fqdn))
        }));
        naming.sort_unstable();
        for e in naming.into_iter().filter_map(|i| self.entries.get(i)) {
            let key = e.key();
            let verdict = match &chosen {
                Some(c) if c.keys.contains(&key) => format!(
                    "applies (found in {})",
                    match c.source {
                        RuleSource::Caller => "the caller's namespace",
                        RuleSource::Service => "the service's namespace",
                        RuleSource::Root => "the root namespace",
                    }
                ),
                _ => {
                    let consulted = e.namespace == caller
                        || Some(e.namespace) == service_namespace
                        || e.namespace == root;
                    let visible = (e.namespace == caller
                        && if caller == root {
                            !e.exported
                        } else {
                            e.local()
                        })
                        || (Some(e.namespace) == service_namespace && e.exported_to(caller))
                        || (e.namespace == root && e.exported_to(caller));
                    match (&chosen, visible, consulted) {
                        (Some(c), true, _) => format!(
                            "shadowed by {} (one DestinationRule applies, never merged across namespaces)",
                            c.keys.join(", ")
                        ),
                        // Not naming the caller, as a VirtualService's verdict does not: the
                        // explanation is then the same for every caller no rule names
                        // ([`Caller::own`]), and scopes share it.
                        (_, _, true) => {
                            "not exported to the caller's namespace (exportTo)".to_owned()
                        }
                        _ => format!(
                            "not consulted: only the caller's, the service's and the root namespace ({root}) are"
                        ),
                    }
                }
            };
            out.push((key, verdict));
        }
        out
    }

    /// The rule a caller in `caller` uses for `fqdn`, whose service lives in `service_namespace`
    /// (the namespace of `name.ns.svc.cluster.local` when not given).
    pub(crate) fn lookup(
        &self,
        caller: &str,
        fqdn: &str,
        service_namespace: Option<&str>,
    ) -> Option<RuleChoice> {
        let root = self.root.as_str();
        let first = if caller == root {
            self.pick(fqdn, |e| e.namespace == root && !e.exported)
        } else {
            self.pick(fqdn, |e| e.namespace == caller && e.local())
        };
        if let Some(found) = first {
            return Some(merge(found, RuleSource::Caller));
        }
        let service_namespace =
            service_namespace.or_else(|| host::kubernetes_service(fqdn).map(|(_, ns)| ns));
        if let Some(ns) = service_namespace {
            if let Some(found) = self.pick(fqdn, |e| e.namespace == ns && e.exported_to(caller)) {
                return Some(merge(found, RuleSource::Service));
            }
        }
        self.pick(fqdn, |e| e.namespace == root && e.exported_to(caller))
            .map(|found| merge(found, RuleSource::Root))
    }

    /// The rules among those `eligible` for `fqdn`: those for exactly that host, else those of
    /// the most specific wildcard host (`MostSpecificHostMatch`).
    fn pick(
        &self,
        fqdn: &str,
        eligible: impl Fn(&RuleEntry<'r>) -> bool,
    ) -> Option<Vec<&RuleEntry<'r>>> {
        let exact: Vec<&RuleEntry<'r>> = self.exact(fqdn).filter(|e| eligible(e)).collect();
        if !exact.is_empty() {
            return Some(exact);
        }
        let best = self
            .wildcard(fqdn)
            .filter(|e| eligible(e))
            .map(|e| e.host.len())
            .max()?;
        Some(
            self.wildcard(fqdn)
                .filter(|e| eligible(e) && e.host.len() == best)
                .collect(),
        )
    }
}

/// Merges the rules one namespace has for a host (`mergeDestinationRule`).
fn merge(found: Vec<&RuleEntry<'_>>, source: RuleSource) -> RuleChoice {
    let mut keys = Vec::new();
    let mut merged: Option<DestinationRule> = None;
    for entry in found {
        keys.push(entry.key());
        match &mut merged {
            None => merged = Some(entry.rule.clone()),
            Some(m) => {
                if m.traffic_policy.is_none() {
                    m.traffic_policy = entry.rule.traffic_policy.clone();
                }
                for subset in &entry.rule.subsets {
                    if !m.subsets.iter().any(|s| s.name == subset.name) {
                        m.subsets.push(subset.clone());
                    }
                }
            }
        }
    }
    RuleChoice {
        keys,
        source,
        rule: merged.unwrap_or_default(),
    }
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
