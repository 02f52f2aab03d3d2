//! What compilation needs to know about the hosts routes name: their ports and DestinationRules.

use crate::config::{DestinationRule, Resource};
use crate::registry::rules::{destination_rules, rule_for, uses_consistent_hash};
use crate::registry::services::ServicePorts;
use crate::registry::visibility::MeshSettings;

/// The services and DestinationRules of the configuration, as routes and hosts consult them.
#[derive(Debug)]
pub(crate) struct Known<'r> {
    pub(crate) services: ServicePorts,
    /// MeshConfig's settings (or Istio's defaults).
    pub(crate) settings: MeshSettings,
    /// `(resolved DR host, namespace, rule)`; DR hosts may be wildcards.
    rules: Vec<(String, &'r str, &'r DestinationRule)>,
}

impl<'r> Known<'r> {
    pub(crate) fn new(resources: &[&'r Resource]) -> Self {
        Self {
            services: ServicePorts::new(resources),
            settings: MeshSettings::new(resources),
            rules: destination_rules(resources),
        }
    }

    /// The service's only port, when it has exactly one.
    pub(crate) fn service_port(&self, fqdn: &str) -> Option<u16> {
        self.services.only_port(fqdn)
    }

    /// The DestinationRule that applies to `fqdn`, merged as Istio merges it.
    pub(crate) fn rule_for(&self, fqdn: &str) -> Option<DestinationRule> {
        rule_for(&self.rules, fqdn)
    }

    /// Whether the DestinationRule that applies to `fqdn` defines `subset`.
    pub(crate) fn subset_defined(&self, fqdn: &str, subset: &str) -> bool {
        self.rule_for(fqdn)
            .is_some_and(|rule| rule.subsets.iter().any(|s| s.name == subset))
    }

    /// Whether the DestinationRule that applies to `fqdn` hashes consistently.
    pub(crate) fn consistent_hash(&self, fqdn: &str) -> bool {
        self.rule_for(fqdn)
            .is_some_and(|r| uses_consistent_hash(&r))
    }
}
