//! The services the manifests define and their ports: Kubernetes `Service`s (by their FQDN) and
//! `ServiceEntry` hosts.

use std::collections::HashMap;

use crate::config::{Body, Resource};
use crate::util::host;

/// Every known service host (FQDN, or a ServiceEntry host as written, lowercased) and its ports.
#[derive(Debug, Default)]
pub(crate) struct ServicePorts {
    ports: HashMap<String, Vec<u16>>,
}

impl ServicePorts {
    /// The services of `resources`.
    pub(crate) fn new(resources: &[&Resource]) -> Self {
        let mut ports = HashMap::new();
        for resource in resources {
            match &resource.body {
                Body::Service(svc) => {
                    let fqdn = host::resolve(resource.name(), resource.namespace());
                    let list = svc
                        .ports
                        .iter()
                        .filter_map(|p| u16::try_from(p.port).ok())
                        .collect();
                    ports.insert(fqdn, list);
                }
                Body::ServiceEntry(se) => {
                    let list: Vec<u16> = se
                        .ports
                        .iter()
                        .filter_map(|p| u16::try_from(p.number).ok())
                        .collect();
                    for h in &se.hosts {
                        ports.insert(h.to_ascii_lowercase(), list.clone());
                    }
                }
                _ => {}
            }
        }
        Self { ports }
    }

    /// The service's only port, when it has exactly one.
    pub(crate) fn only_port(&self, fqdn: &str) -> Option<u16> {
        match self.ports.get(fqdn).map(Vec::as_slice) {
            Some([only]) => Some(*only),
            _ => None,
        }
    }

    /// Every service host, sorted.
    pub(crate) fn hosts(&self) -> Vec<&str> {
        let mut hosts: Vec<&str> = self.ports.keys().map(String::as_str).collect();
        hosts.sort_unstable();
        hosts
    }
}
