//! The load-balancing policy of one cluster (host + subset + port), resolved from the
//! DestinationRule the way Istio does it.
//!
//! Precedence (dr.go `MergeSubsetTrafficPolicy`, `GetPortLevelTrafficPolicy`; ISTIO-SEMANTICS
//! §5.2): start from the top-level `trafficPolicy`; a top-level `portLevelSettings` entry for the
//! port replaces loadBalancer, connectionPool, outlierDetection and tls **as a whole** (what it
//! leaves unset goes back to defaults); a subset's `trafficPolicy` then replaces each component
//! it sets, and a subset `portLevelSettings` entry for the port replaces all four. Components are
//! replaced, never deep-merged.
//!
//! Defaults: `LEAST_REQUEST` when no algorithm is set (Istio ≥ 1.14; `LEAST_CONN` is an alias);
//! consistent hashing uses a ring of at least 1024 entries unless `maglev` is chosen (table
//! 65537); outlier detection, when present, sets the panic threshold to `minHealthPercent`
//! (default 0, i.e. never panic) instead of Envoy's 50%.

use crate::balance::hash_policy::HashPolicy;
use crate::config::{
    ConnectionPoolSettings, DestinationRule, LoadBalancerSettings, OutlierDetection, SimpleLb,
    TrafficPolicy,
};

/// The algorithm a cluster balances with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LbPolicy {
    /// `ROUND_ROBIN`: weighted round robin (Envoy's EDF scheduler).
    RoundRobin,
    /// `RANDOM`: one draw, weights ignored.
    Random,
    /// `LEAST_REQUEST` (the default): power of two choices, or weighted with active-request bias.
    LeastRequest,
    /// `PASSTHROUGH`: the original destination; meshroute reports it and picks nothing.
    Passthrough,
    /// Consistent hashing over a ketama ring.
    RingHash {
        /// `minimumRingSize` (default 1024).
        minimum_ring_size: u64,
    },
    /// Consistent hashing over a Maglev table.
    Maglev {
        /// `tableSize` (default 65537, prime).
        table_size: u64,
    },
}

impl LbPolicy {
    /// The name used in Istio's API for the algorithm.
    pub fn name(&self) -> &'static str {
        match self {
            LbPolicy::RoundRobin => "ROUND_ROBIN",
            LbPolicy::Random => "RANDOM",
            LbPolicy::LeastRequest => "LEAST_REQUEST",
            LbPolicy::Passthrough => "PASSTHROUGH",
            LbPolicy::RingHash { .. } => "RING_HASH",
            LbPolicy::Maglev { .. } => "MAGLEV",
        }
    }
}

/// Everything the balancer of one cluster needs from the DestinationRule.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPolicy {
    /// The algorithm.
    pub lb: LbPolicy,
    /// The request hash for consistent hashing (empty otherwise).
    pub hash: Vec<HashPolicy>,
    /// Outlier detection, if configured.
    pub outlier: Option<OutlierDetection>,
    /// Connection pool limits, if configured (reported; enforced by the tower layer).
    pub connection_pool: Option<ConnectionPoolSettings>,
    /// Envoy's healthy panic threshold in percent: 50 by default, `minHealthPercent` (default
    /// 0) once outlier detection is configured.
    pub panic_threshold: u32,
}

impl Default for ClusterPolicy {
    fn default() -> Self {
        Self {
            lb: LbPolicy::LeastRequest,
            hash: Vec::new(),
            outlier: None,
            connection_pool: None,
            panic_threshold: 50,
        }
    }
}

/// The four components a port-level entry replaces, plus what a subset can override.
#[derive(Default)]
struct Components<'a> {
    load_balancer: Option<&'a LoadBalancerSettings>,
    connection_pool: Option<&'a ConnectionPoolSettings>,
    outlier: Option<&'a OutlierDetection>,
}

fn port_level(policy: &TrafficPolicy, port: u16) -> Option<Components<'_>> {
    policy
        .port_level_settings
        .iter()
        .find(|p| p.port.as_ref().is_some_and(|s| s.number == u32::from(port)))
        .map(|p| Components {
            load_balancer: p.load_balancer.as_ref(),
            connection_pool: p.connection_pool.as_ref(),
            outlier: p.outlier_detection.as_ref(),
        })
}

fn apply<'a>(
    components: &mut Components<'a>,
    policy: &'a TrafficPolicy,
    port: u16,
    per_component: bool,
) {
    if per_component {
        if policy.load_balancer.is_some() {
            components.load_balancer = policy.load_balancer.as_ref();
        }
        if policy.connection_pool.is_some() {
            components.connection_pool = policy.connection_pool.as_ref();
        }
        if policy.outlier_detection.is_some() {
            components.outlier = policy.outlier_detection.as_ref();
        }
    } else {
        components.load_balancer = policy.load_balancer.as_ref();
        components.connection_pool = policy.connection_pool.as_ref();
        components.outlier = policy.outlier_detection.as_ref();
    }
    if let Some(level) = port_level(policy, port) {
        *components = level;
    }
}

/// Resolves the policy of `rule`'s cluster for `subset` (if any) on `port`.
pub fn resolve(rule: Option<&DestinationRule>, subset: Option<&str>, port: u16) -> ClusterPolicy {
    let mut components = Components::default();
    if let Some(rule) = rule {
        if let Some(top) = &rule.traffic_policy {
            apply(&mut components, top, port, false);
        }
        if let Some(subset) = subset.and_then(|name| rule.subsets.iter().find(|s| s.name == name)) {
            if let Some(policy) = &subset.traffic_policy {
                apply(&mut components, policy, port, true);
            }
        }
    }
    let (lb, hash) = match components.load_balancer {
        None => (LbPolicy::LeastRequest, Vec::new()),
        Some(lb) => match &lb.consistent_hash {
            Some(ch) => {
                let mut hash = Vec::new();
                if let Some(name) = &ch.http_header_name {
                    if let Ok(name) =
                        http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                    {
                        hash.push(HashPolicy::Header { name });
                    }
                } else if let Some(cookie) = &ch.http_cookie {
                    hash.push(HashPolicy::Cookie {
                        name: cookie.name.clone(),
                        path: (!cookie.path.is_empty()).then(|| cookie.path.clone()),
                        ttl: cookie.ttl.and_then(|t| t.to_std()),
                    });
                } else if ch.use_source_ip == Some(true) {
                    hash.push(HashPolicy::SourceIp);
                } else if let Some(name) = &ch.http_query_parameter_name {
                    hash.push(HashPolicy::QueryParameter { name: name.clone() });
                }
                let lb = match (&ch.maglev, &ch.ring_hash) {
                    (Some(m), _) => LbPolicy::Maglev {
                        table_size: m.table_size.unwrap_or(65537),
                    },
                    (None, Some(r)) => LbPolicy::RingHash {
                        minimum_ring_size: r.minimum_ring_size.unwrap_or(1024),
                    },
                    (None, None) => LbPolicy::RingHash {
                        minimum_ring_size: ch.minimum_ring_size.unwrap_or(1024),
                    },
                };
                (lb, hash)
            }
            None => (
                match lb.simple.unwrap_or_default() {
                    SimpleLb::Random => LbPolicy::Random,
                    SimpleLb::RoundRobin => LbPolicy::RoundRobin,
                    SimpleLb::Passthrough => LbPolicy::Passthrough,
                    _ => LbPolicy::LeastRequest,
                },
                Vec::new(),
            ),
        },
    };
    let outlier = components.outlier.cloned();
    let panic_threshold = match &outlier {
        Some(o) => u32::try_from(o.min_health_percent.unwrap_or(0)).unwrap_or(0),
        None => 50,
    };
    ClusterPolicy {
        lb,
        hash,
        outlier,
        connection_pool: components.connection_pool.cloned(),
        panic_threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dr(yaml: &str) -> DestinationRule {
        let loaded = crate::from_str(
            &format!(
                "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: r}}\nspec:\n{yaml}"
            ),
            &crate::config::LoadOptions::default(),
        );
        match &loaded.resources[0].body {
            crate::config::Body::DestinationRule(dr) => (**dr).clone(),
            _ => unreachable!(),
        }
    }

    /// ISTIO-SEMANTICS §5.3: LEAST_REQUEST is the default since Istio 1.14; LEAST_CONN is an alias.
    #[test]
    fn default_is_least_request() {
        assert_eq!(resolve(None, None, 80).lb, LbPolicy::LeastRequest);
        let rule = dr("  host: a\n  trafficPolicy: {loadBalancer: {simple: LEAST_CONN}}\n");
        assert_eq!(resolve(Some(&rule), None, 80).lb, LbPolicy::LeastRequest);
        let rule = dr("  host: a\n  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n");
        assert_eq!(resolve(Some(&rule), None, 80).lb, LbPolicy::Random);
    }

    /// dr.go MergeSubsetTrafficPolicy: a subset's component replaces the top-level one.
    #[test]
    fn subset_overrides_per_component() {
        let rule = dr(
            "  host: a\n  trafficPolicy:\n    loadBalancer: {simple: RANDOM}\n    outlierDetection: {consecutive5xxErrors: 3}\n  subsets:\n  - name: v2\n    labels: {version: v2}\n    trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n",
        );
        let v2 = resolve(Some(&rule), Some("v2"), 80);
        assert_eq!(v2.lb, LbPolicy::RoundRobin);
        assert!(
            v2.outlier.is_some(),
            "outlier detection inherited from the top level"
        );
        assert_eq!(v2.panic_threshold, 0);
        assert_eq!(resolve(Some(&rule), None, 80).lb, LbPolicy::Random);
    }

    /// dr.proto port_level_settings: the port entry replaces the components as a whole.
    #[test]
    fn port_level_replaces_everything() {
        let rule = dr(
            "  host: a\n  trafficPolicy:\n    loadBalancer: {simple: RANDOM}\n    outlierDetection: {consecutive5xxErrors: 3}\n    portLevelSettings:\n    - port: {number: 9080}\n      loadBalancer: {simple: ROUND_ROBIN}\n",
        );
        let p = resolve(Some(&rule), None, 9080);
        assert_eq!(p.lb, LbPolicy::RoundRobin);
        assert!(p.outlier.is_none(), "not inherited from the top level");
        assert_eq!(p.panic_threshold, 50);
        assert_eq!(resolve(Some(&rule), None, 80).lb, LbPolicy::Random);
    }

    #[test]
    fn consistent_hash_defaults_to_a_1024_ring() {
        let rule = dr(
            "  host: a\n  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: X-User}}}\n",
        );
        let p = resolve(Some(&rule), None, 80);
        assert_eq!(
            p.lb,
            LbPolicy::RingHash {
                minimum_ring_size: 1024
            }
        );
        assert_eq!(
            p.hash,
            vec![HashPolicy::Header {
                name: http::HeaderName::from_static("x-user")
            }]
        );
        let rule = dr(
            "  host: a\n  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 7}}}}\n",
        );
        assert_eq!(
            resolve(Some(&rule), None, 80).lb,
            LbPolicy::Maglev { table_size: 7 }
        );
        let rule = dr(
            "  host: a\n  trafficPolicy: {loadBalancer: {consistentHash: {httpQueryParameterName: u, minimumRingSize: 64}}}\n",
        );
        assert_eq!(
            resolve(Some(&rule), None, 80).lb,
            LbPolicy::RingHash {
                minimum_ring_size: 64
            }
        );
    }
}
