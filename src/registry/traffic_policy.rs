//! Which parts of a DestinationRule's traffic policies apply to one cluster (a subset, or the
//! whole host, on one port), and where each was written.
//!
//! Istio's precedence (istio/istio `pilot/pkg/networking/util/util.go`
//! `MergeSubsetTrafficPolicy`, `GetPortLevelTrafficPolicy`; `pilot/pkg/model/destination_rule.go`
//! `MergeTrafficPolicy`; istio/api `networking/v1alpha3/destination_rule.proto`): start from the
//! top-level `trafficPolicy`; a top-level `portLevelSettings` entry for the port replaces
//! loadBalancer, connectionPool, outlierDetection and tls **as a whole** (what it leaves unset
//! goes back to defaults); a subset's `trafficPolicy` then replaces each component it sets, and a
//! subset `portLevelSettings` entry for the port replaces all four. Components are replaced,
//! never deep-merged. Compilation (the clusters' policies) and lint MR005 both read it here.

use crate::config::{
    ConnectionPoolSettings, ConsistentHashLb, DestinationRule, LoadBalancerSettings,
    OutlierDetection, TrafficPolicy,
};

/// Where in a DestinationRule a component was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Origin<'a> {
    /// The subset whose `trafficPolicy` holds it (its index in the rule's `subsets` and its
    /// name); `None`: the top-level `trafficPolicy`.
    pub(crate) subset: Option<(usize, &'a str)>,
    /// The index of the `portLevelSettings` entry that holds it, if one does.
    pub(crate) port_level: Option<usize>,
}

impl Origin<'_> {
    /// The field path of the traffic policy it is written in, e.g.
    /// `spec.subsets[2].trafficPolicy.portLevelSettings[0]`.
    pub(crate) fn path(&self) -> String {
        let mut path = match self.subset {
            Some((i, _)) => format!("spec.subsets[{i}].trafficPolicy"),
            None => String::from("spec.trafficPolicy"),
        };
        if let Some(i) = self.port_level {
            path.push_str(&format!(".portLevelSettings[{i}]"));
        }
        path
    }
}

/// The components that apply to one cluster; each `None` when nothing sets it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Components<'a> {
    /// `loadBalancer`.
    pub(crate) load_balancer: Option<&'a LoadBalancerSettings>,
    /// Where `load_balancer` was written (meaningful when it is set).
    pub(crate) load_balancer_at: Origin<'a>,
    /// `connectionPool`.
    pub(crate) connection_pool: Option<&'a ConnectionPoolSettings>,
    /// `outlierDetection`.
    pub(crate) outlier: Option<&'a OutlierDetection>,
}

impl<'a> Components<'a> {
    /// The components `rule` gives the cluster of `subset` (none: the whole host) on `port`.
    pub(crate) fn of(rule: Option<&'a DestinationRule>, subset: Option<&str>, port: u16) -> Self {
        let mut components = Components::default();
        let Some(rule) = rule else {
            return components;
        };
        if let Some(top) = &rule.traffic_policy {
            components.apply(top, port, None);
        }
        let found = subset.and_then(|name| {
            rule.subsets
                .iter()
                .enumerate()
                .find(|(_, s)| s.name == name)
        });
        if let Some((i, subset)) = found {
            if let Some(policy) = &subset.traffic_policy {
                components.apply(policy, port, Some((i, subset.name.as_str())));
            }
        }
        components
    }

    /// Applies one traffic policy: the top-level one (`subset` `None`) sets every component,
    /// a subset's replaces those it sets; then its port-level entry for `port` replaces all.
    fn apply(&mut self, policy: &'a TrafficPolicy, port: u16, subset: Option<(usize, &'a str)>) {
        let at = Origin {
            subset,
            port_level: None,
        };
        if subset.is_none() || policy.load_balancer.is_some() {
            self.load_balancer = policy.load_balancer.as_ref();
            self.load_balancer_at = at;
        }
        if subset.is_none() || policy.connection_pool.is_some() {
            self.connection_pool = policy.connection_pool.as_ref();
        }
        if subset.is_none() || policy.outlier_detection.is_some() {
            self.outlier = policy.outlier_detection.as_ref();
        }
        let level = policy
            .port_level_settings
            .iter()
            .enumerate()
            .find(|(_, p)| p.port.as_ref().is_some_and(|s| s.number == u32::from(port)));
        if let Some((i, level)) = level {
            *self = Components {
                load_balancer: level.load_balancer.as_ref(),
                load_balancer_at: Origin {
                    subset,
                    port_level: Some(i),
                },
                connection_pool: level.connection_pool.as_ref(),
                outlier: level.outlier_detection.as_ref(),
            };
        }
    }
}

/// The table a `consistentHash` load balancer builds, with Istio's defaults
/// (`pilot/pkg/networking/core/cluster_traffic_policy.go` `applyLoadBalancer`): `maglev` when
/// set, else a ring of `ringHash.minimumRingSize` (else the deprecated `minimumRingSize`), 1024
/// entries by default; Maglev's table 65537.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashTableConfig {
    /// A ring with this `minimum_ring_size`.
    Ring { minimum_ring_size: u64 },
    /// A Maglev table of this size.
    Maglev { table_size: u64 },
}

impl HashTableConfig {
    /// The table `consistent_hash` asks for.
    pub(crate) fn of(consistent_hash: &ConsistentHashLb) -> Self {
        match (&consistent_hash.maglev, &consistent_hash.ring_hash) {
            (Some(m), _) => Self::Maglev {
                table_size: m.table_size.unwrap_or(65537),
            },
            (None, Some(r)) => Self::Ring {
                minimum_ring_size: r.minimum_ring_size.unwrap_or(1024),
            },
            (None, None) => Self::Ring {
                minimum_ring_size: consistent_hash.minimum_ring_size.unwrap_or(1024),
            },
        }
    }
}
