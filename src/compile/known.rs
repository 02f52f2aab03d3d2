//! What compilation needs to know about the hosts routes name: their services, ports and
//! DestinationRules, and the mesh-wide settings.

use crate::config::{DestinationRule, Resource};
use crate::registry::rules::{Rules, uses_consistent_hash};
use crate::registry::services::Services;
use crate::registry::visibility::MeshSettings;
use crate::util::host;

/// The services and DestinationRules of the configuration, as routes and hosts consult them.
#[derive(Debug)]
pub(crate) struct Known<'r> {
    pub(crate) services: Services,
    pub(crate) rules: Rules<'r>,
    /// MeshConfig's settings (or Istio's defaults).
    pub(crate) settings: MeshSettings,
    /// [`Known::consistent_hash`] per host, asked once per destination: the rule is merged
    /// once per host, not once per route that names it.
    hashing: std::cell::RefCell<std::collections::HashMap<Box<str>, bool>>,
}

impl<'r> Known<'r> {
    pub(crate) fn new(resources: &[&'r Resource]) -> Self {
        let settings = MeshSettings::new(resources);
        Self {
            services: Services::new(resources, &settings),
            rules: Rules::new(resources, &settings),
            settings,
            hashing: std::cell::RefCell::default(),
        }
    }

    /// The service's only port, when it has exactly one.
    pub(crate) fn service_port(&self, fqdn: &str) -> Option<u16> {
        self.services.only_port(fqdn)
    }

    /// The DestinationRule of `fqdn` as the service's own namespace sees it (for decisions
    /// made once for every caller).
    pub(crate) fn rule_for(&self, fqdn: &str) -> Option<DestinationRule> {
        let namespace = self
            .services
            .of_host(fqdn)
            .next()
            .map(|s| s.namespace.clone())
            .or_else(|| host::kubernetes_service(fqdn).map(|(_, ns)| ns.to_owned()))
            .unwrap_or_default();
        self.rules
            .lookup(&namespace, fqdn, Some(&namespace))
            .map(|c| c.rule)
    }

    /// Whether the DestinationRule that applies to `fqdn` hashes consistently.
    pub(crate) fn consistent_hash(&self, fqdn: &str) -> bool {
        if let Some(&known) = self.hashing.borrow().get(fqdn) {
            return known;
        }
        let hashing = self
            .rule_for(fqdn)
            .is_some_and(|r| uses_consistent_hash(&r));
        self.hashing.borrow_mut().insert(fqdn.into(), hashing);
        hashing
    }
}
