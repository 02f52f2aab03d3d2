//! An endpoint: one address a service's traffic can go to, with the labels subsets select on,
//! its load-balancing weight and locality — Envoy's `LbEndpoint`.
//!
//! An endpoint's [`address`](Endpoint::address) is `ip:port` as Envoy names it (IPv6 bracketed);
//! Envoy's ring hash and Maglev hash that text.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// One endpoint of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// `ip:port` (or `hostname:port` for DNS endpoints), Envoy's name for it.
    pub address: String,
    /// The IP, when the endpoint has one.
    pub ip: Option<IpAddr>,
    /// The port traffic is sent to.
    pub port: u16,
    /// The workload's labels (subsets select on them).
    pub labels: BTreeMap<String, String>,
    /// The load-balancing weight (at least 1).
    pub weight: u32,
    /// `region/zone/subzone`, when known.
    pub locality: Option<String>,
    /// The workload's name (pod, WorkloadEntry), when known.
    pub name: Option<String>,
    /// Whether meshroute made the address up (a Deployment replica or a Pod without
    /// `status.podIP`): fine for simulation, never dialled.
    synthetic: bool,
}

impl Endpoint {
    /// An endpoint at `ip:port` with weight 1 and no labels.
    pub fn new(ip: IpAddr, port: u16) -> Self {
        Self {
            address: SocketAddr::new(ip, port).to_string(),
            ip: Some(ip),
            port,
            labels: BTreeMap::new(),
            weight: 1,
            locality: None,
            name: None,
            synthetic: false,
        }
    }

    /// An endpoint named by a host name that is resolved elsewhere (`hostname:port`).
    pub fn hostname(name: &str, port: u16) -> Self {
        Self {
            address: format!("{name}:{port}"),
            ip: None,
            port,
            labels: BTreeMap::new(),
            weight: 1,
            locality: None,
            name: None,
            synthetic: false,
        }
    }

    /// Sets the labels.
    pub fn with_labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Sets the weight (0 is treated as 1, as Envoy does for unset weights).
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight.max(1);
        self
    }

    /// Sets the locality.
    pub fn with_locality(mut self, locality: impl Into<String>) -> Self {
        self.locality = Some(locality.into());
        self
    }

    /// Sets the workload name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Whether meshroute made this address up for simulation (a Deployment replica, or a Pod
    /// without `status.podIP`): such an address is never dialled.
    pub fn is_synthetic(&self) -> bool {
        self.synthetic
    }

    /// Marks the address as made up for simulation.
    pub(crate) fn synthetic(mut self) -> Self {
        self.synthetic = true;
        self
    }

    /// Whether the endpoint's labels include all of `selector` (a subset's labels).
    pub fn selected_by(&self, selector: &BTreeMap<String, String>) -> bool {
        selector.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_named_as_envoy_names_them() {
        assert_eq!(
            Endpoint::new("10.1.0.88".parse().unwrap(), 8080).address,
            "10.1.0.88:8080"
        );
        assert_eq!(
            Endpoint::new("::1".parse().unwrap(), 90).address,
            "[::1]:90"
        );
        assert_eq!(
            Endpoint::hostname("db.example.com", 5432).address,
            "db.example.com:5432"
        );
        assert!(!Endpoint::hostname("db", 1).is_synthetic());
    }
}
