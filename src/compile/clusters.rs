//! The clusters of a mesh: one per known `(host, port)` and per subset of the host's
//! DestinationRule, plus one per route destination, each with its endpoints and its policy in
//! Envoy's terms.
//!
//! **Policy precedence** (istio/istio `pilot/pkg/networking/util/util.go`
//! `MergeSubsetTrafficPolicy`, `GetPortLevelTrafficPolicy`; `pilot/pkg/model/destination_rule.go`
//! `MergeTrafficPolicy`; `pilot/pkg/networking/core/cluster_traffic_policy.go`; istio/api
//! `networking/v1alpha3/destination_rule.proto`): start from the top-level `trafficPolicy`; a
//! top-level `portLevelSettings` entry for the port replaces loadBalancer, connectionPool,
//! outlierDetection and tls **as a whole** (what it leaves unset goes back to defaults); a subset's
//! `trafficPolicy` then replaces each component it sets, and a subset `portLevelSettings` entry for
//! the port replaces all four. Components are replaced, never deep-merged. The rule lives in
//! `registry/traffic_policy.rs` (lint MR005 reads it too); this file turns the components into
//! Envoy's terms.
//!
//! **Defaults**: `LEAST_REQUEST` when no algorithm is set (Istio ≥ 1.14; `LEAST_CONN` is an
//! alias); consistent hashing uses a ring of at least 1024 entries unless `maglev` is chosen
//! (table 65537); outlier detection, when present, sets the panic threshold to
//! `minHealthPercent` (default 0, i.e. never panic) instead of Envoy's 50%.

use std::collections::BTreeMap;
use std::time::Duration;

use super::hash_tables::{Table, TableCost};
use super::known::Known;
use crate::balance::endpoint::Endpoint;
use crate::balance::hash::xxhash64;
use crate::balance::hash_policy::HashPolicy;
use crate::balance::outlier::{
    DEFAULT_BASE_EJECTION_TIME, DEFAULT_CONSECUTIVE, DEFAULT_INTERVAL,
    DEFAULT_MAX_EJECTION_PERCENT, DEFAULT_MAX_EJECTION_TIME, ENVOY_PANIC_THRESHOLD, OutlierConfig,
};
use crate::config::{
    ConnectionPoolSettings, DestinationRule, Duration as IstioDuration, OutlierDetection, Resource,
    SimpleLb,
};
use crate::registry::endpoints::discover;
use crate::registry::rules::RuleChoice;
use crate::registry::traffic_policy::{Components, HashTableConfig};
use crate::route::cluster::{Cluster, ClusterPolicy, Clusters, LbPolicy, Limits};
use crate::route::stream::StreamTables;
use crate::route::table::{Action, NO_RULE, Tables};

/// A stable per-cluster seed for round robin's starting point, so simulations replay.
fn seed_of(host: &str, subset: Option<&str>, port: u16) -> u64 {
    xxhash64(
        format!("{host}|{}|{port}", subset.unwrap_or("")).as_bytes(),
        0,
    )
}

/// Builds the clusters: for every scope, one per known `(host, port)` of the hosts it has
/// clusters for, per subset of the DestinationRule the scope applies to the host, and per route
/// destination with a port known at compile time. Scopes that apply the same DestinationRule
/// share clusters. `choices` holds the (merged) rule of each of `tables.rules`.
///
/// Returns the clusters and the consistent-hash table each would build once used, for the
/// memory budget ([`hash_tables::warnings`](super::hash_tables::warnings)).
pub(crate) fn build<'c>(
    resources: &[&Resource],
    known: &Known<'_>,
    tables: &Tables,
    streams: &StreamTables,
    choices: &'c [RuleChoice],
) -> (Clusters, Vec<TableCost<'c>>) {
    let discovered = discover(resources);
    let mut ports_of: BTreeMap<&str, Vec<u16>> = BTreeMap::new();
    for (host, port) in discovered.keys() {
        ports_of.entry(host.as_str()).or_default().push(*port);
    }
    let mut destinations: Vec<(&str, Option<&str>, u16)> = Vec::new();
    for vs in &tables.virtual_services {
        for route in &vs.routes {
            if let Action::Route {
                destinations: list,
                policy,
                ..
            } = &route.action
            {
                for d in list {
                    if let Some(port) = d.port.or(d.service_port) {
                        destinations.push((&d.host, d.subset.as_deref(), port));
                    }
                }
                // Mirrors send to clusters of their own (a port-less mirror of a one-port
                // service takes that port, as route destinations do).
                for mirror in &policy.mirrors {
                    if let Some(port) = mirror_port(mirror, &ports_of) {
                        destinations.push((&mirror.host, mirror.subset.as_deref(), port));
                    }
                }
            }
        }
    }
    // TCP and TLS rules send to clusters too.
    for vs in &streams.vses {
        for rule in vs.tcp.iter().chain(&vs.tls) {
            for d in &rule.destinations {
                if let Some(port) = d.port.or(d.service_port) {
                    destinations.push((&d.host, d.subset.as_deref(), port));
                }
            }
        }
    }
    // Each destination once: every scope below wants a cluster per distinct destination, and
    // the routes of a large table name the same few.
    let mut seen = rustc_hash::FxHashSet::default();
    destinations.retain(|d| seen.insert(*d));
    let policy = |rule: u32| {
        choices
            .get(usize::try_from(rule).unwrap_or(usize::MAX))
            .map(|c| &c.rule)
    };
    // Borrowed and hashed while scopes are walked (each scope sees every service), sorted once.
    let mut wanted: rustc_hash::FxHashSet<(&str, Option<&str>, u16, u32)> =
        rustc_hash::FxHashSet::default();
    fn want<'a>(
        wanted: &mut rustc_hash::FxHashSet<(&'a str, Option<&'a str>, u16, u32)>,
        host: &'a str,
        rule: (u32, Option<&'a DestinationRule>),
        ports: &[u16],
    ) {
        for &port in ports {
            wanted.insert((host, None, port, rule.0));
            for subset in rule.1.into_iter().flat_map(|r| r.subsets.iter()) {
                wanted.insert((host, Some(subset.name.as_str()), port, rule.0));
            }
        }
    }
    // Scopes that share hosts want the same clusters for them: each shared map is walked
    // once, and each scope's own entries.
    let mut walked = rustc_hash::FxHashSet::default();
    for scope in &tables.scopes.list {
        let shared = Some(&*scope.hosts.shared)
            .filter(|_| walked.insert(std::sync::Arc::as_ptr(&scope.hosts.shared)))
            .into_iter()
            .flatten();
        let own = scope
            .hosts
            .own
            .iter()
            .filter_map(|(host, seen)| Some((host, seen.as_ref()?)));
        for (host, seen) in shared.chain(own) {
            if seen.exists {
                want(
                    &mut wanted,
                    host,
                    (seen.rule, policy(seen.rule)),
                    ports_of.get(&**host).map_or(&[], Vec::as_slice),
                );
            }
        }
        for &(host, subset, port) in &destinations {
            if let Some(seen) = scope.hosts.get(host).filter(|s| s.exists) {
                wanted.insert((host, subset, port, seen.rule));
            }
        }
    }
    // Every service keeps a cluster under the rule its own namespace sees, so that endpoints
    // can be set for it even when no scope imports it.
    for (host, ports) in &ports_of {
        let rule = known.rule_for(host);
        let id = choices
            .iter()
            .position(|c| Some(&c.rule) == rule.as_ref())
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(NO_RULE);
        if rule.is_none() || id != NO_RULE {
            want(&mut wanted, host, (id, policy(id)), ports);
        }
    }
    // In the order of (host, subset, port, rule): cluster ids do not depend on hashing.
    let mut wanted: Vec<_> = wanted.into_iter().collect();
    wanted.sort_unstable();
    let mut clusters = Clusters::default();
    let mut costs = Vec::new();
    for (host, subset, port, rule_id) in wanted {
        let rule = policy(rule_id);
        let selector = match (&subset, rule) {
            (Some(name), Some(rule)) => match rule.subsets.iter().find(|s| &s.name == name) {
                Some(s) => Some(s.labels.clone()),
                // Subset not defined: the cluster does not exist in Envoy (503 NC); keep an
                // empty selector that matches nothing.
                None => Some(BTreeMap::from([(String::new(), String::from("\u{0}"))])),
            },
            (Some(_), None) => Some(BTreeMap::from([(String::new(), String::from("\u{0}"))])),
            (None, _) => None,
        };
        let components = Components::of(rule, subset, port);
        let policy = policy_of(&components);
        let all: Option<&[Endpoint]> = discovered.get(&(host.to_owned(), port)).map(Vec::as_slice);
        let seed = seed_of(host, subset, port);
        let cluster = Cluster::new(host, subset, port, rule_id, selector, policy, all, seed);
        if let Some(table) = Table::of(&cluster.policy, cluster.state().endpoints()) {
            costs.push(TableCost {
                rule: rule_id,
                at: components.load_balancer_at,
                table,
            });
        }
        clusters.add(cluster);
    }
    (clusters, costs)
}

/// The port a mirror sends to: its own, else the only port of its service.
fn mirror_port(
    mirror: &crate::route::policy::Mirror,
    ports_of: &BTreeMap<&str, Vec<u16>>,
) -> Option<u16> {
    mirror
        .port
        .or_else(|| match ports_of.get(mirror.host.as_str()) {
            Some(ports) if ports.len() == 1 => ports.first().copied(),
            _ => None,
        })
}

/// Resolves the policy of `rule`'s cluster for `subset` (if any) on `port`.
#[cfg(test)]
pub(crate) fn resolve(
    rule: Option<&DestinationRule>,
    subset: Option<&str>,
    port: u16,
) -> ClusterPolicy {
    policy_of(&Components::of(rule, subset, port))
}

/// The policy, in Envoy's terms, of the components that apply to a cluster.
fn policy_of(components: &Components<'_>) -> ClusterPolicy {
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
                let lb = match HashTableConfig::of(ch) {
                    HashTableConfig::Maglev { table_size } => LbPolicy::Maglev { table_size },
                    HashTableConfig::Ring { minimum_ring_size } => {
                        LbPolicy::RingHash { minimum_ring_size }
                    }
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
    let outlier = components.outlier;
    let panic_threshold = match outlier {
        Some(o) => u32::try_from(o.min_health_percent.unwrap_or(0)).unwrap_or(0),
        None => 50,
    };
    ClusterPolicy {
        lb,
        hash,
        outlier: outlier.map(outlier_config),
        panic_threshold,
        limits: limits(components.connection_pool),
    }
}

/// The circuit-breaker thresholds of a `connectionPool` (`applyConnectionPool` in istio/istio
/// `pilot/pkg/networking/core/cluster_traffic_policy.go`): a field unset, 0 or negative keeps
/// Istio's default, 2^32-1 (0 cannot disable anything).
fn limits(pool: Option<&ConnectionPoolSettings>) -> Limits {
    let set = |value: Option<i32>| value.and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0);
    let defaults = Limits::default();
    let tcp = pool.and_then(|p| p.tcp.as_ref());
    let http = pool.and_then(|p| p.http.as_ref());
    Limits {
        max_connections: set(tcp.and_then(|t| t.max_connections))
            .unwrap_or(defaults.max_connections),
        max_pending_requests: set(http.and_then(|h| h.http1_max_pending_requests))
            .unwrap_or(defaults.max_pending_requests),
        max_requests: set(http.and_then(|h| h.http2_max_requests)).unwrap_or(defaults.max_requests),
        max_retries: set(http.and_then(|h| h.max_retries)).unwrap_or(defaults.max_retries),
        max_requests_per_connection: set(http.and_then(|h| h.max_requests_per_connection))
            .unwrap_or(defaults.max_requests_per_connection),
    }
}

/// A duration from config as Envoy reads it (`PROTOBUF_GET_MS_OR_DEFAULT`: whole milliseconds);
/// unset, negative or zero (rejected by validation) gives the default.
fn millis_or(duration: Option<&IstioDuration>, default: Duration) -> Duration {
    duration
        .and_then(IstioDuration::to_std)
        .map(|d| Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
        .filter(|d| !d.is_zero())
        .unwrap_or(default)
}

/// A threshold as Istio translates it: 0 disables.
fn threshold(value: Option<u32>) -> Option<u32> {
    value.filter(|&v| v > 0)
}

/// The settings Envoy runs with for an Istio `OutlierDetection`, per Istio's
/// `applyOutlierDetection` (`pilot/pkg/networking/core/cluster_traffic_policy.go`):
///
/// * `consecutive5xxErrors`: unset → 5 (Envoy's default, enforced); 0 → disabled.
/// * `consecutiveGatewayErrors`: unset or 0 → not enforced; n → n, enforced.
/// * `consecutiveErrors` (deprecated): ignored by Istio since 1.7 (PR #24087; Istio ≤ 1.6
///   mapped it to gateway errors); a warning is logged.
/// * `interval`, `baseEjectionTime`: whole milliseconds, defaults 10s and 30s;
///   `max_ejection_time` is `max(300s, base)`.
/// * `maxEjectionPercent`: only a positive value is passed on (0 or unset → 10).
/// * `minHealthPercent`: unset → 0 (panic disabled); negative → not written, so Envoy's 50.
/// * `splitExternalLocalOriginErrors` / `consecutiveLocalOriginFailures` (positive value, else 5).
/// * `outlierDetectionHttpErrorCodes` is not modelled (a warning is logged).
pub(crate) fn outlier_config(od: &OutlierDetection) -> OutlierConfig {
    if od.consecutive_errors.is_some_and(|v| v != 0) {
        tracing::warn!(
            "outlierDetection.consecutiveErrors is deprecated and ignored by Istio; \
             use consecutive5xxErrors or consecutiveGatewayErrors"
        );
    }
    if !od.outlier_detection_http_error_codes.is_empty() {
        tracing::warn!(
            "outlierDetection.outlierDetectionHttpErrorCodes is not modelled; counting 5xx"
        );
    }
    let base_ejection_time = millis_or(od.base_ejection_time.as_ref(), DEFAULT_BASE_EJECTION_TIME);
    let split = od.split_external_local_origin_errors;
    OutlierConfig {
        consecutive_5xx: match od.consecutive_5xx_errors {
            None => Some(DEFAULT_CONSECUTIVE),
            value => threshold(value),
        },
        consecutive_gateway: threshold(od.consecutive_gateway_errors),
        interval: millis_or(od.interval.as_ref(), DEFAULT_INTERVAL),
        base_ejection_time,
        max_ejection_time: DEFAULT_MAX_EJECTION_TIME.max(base_ejection_time),
        max_ejection_percent: od
            .max_ejection_percent
            .and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v > 0)
            .unwrap_or(DEFAULT_MAX_EJECTION_PERCENT),
        min_health_percent: match od.min_health_percent {
            None => 0,
            Some(v) => u32::try_from(v).unwrap_or(ENVOY_PANIC_THRESHOLD),
        },
        always_eject_one_host: false,
        split_external_local_origin_errors: split,
        consecutive_local_origin: split.then(|| {
            threshold(od.consecutive_local_origin_failures).unwrap_or(DEFAULT_CONSECUTIVE)
        }),
    }
}

#[cfg(test)]
#[cfg(feature = "yaml")]
mod tests {
    use super::*;
    use crate::balance::outlier::{OutlierDetector, UpstreamResult};

    fn dr(yaml: &str) -> DestinationRule {
        let loaded = crate::config::load::from_str(
            &format!(
                "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: r}}\nspec:\n{yaml}"
            ),
            &crate::config::load::LoadOptions::default(),
        );
        match &loaded.resources[0].body {
            crate::config::Body::DestinationRule(dr) => (**dr).clone(),
            _ => unreachable!(),
        }
    }

    /// Istio ≥ 1.14 (destination_rule.proto `LoadBalancerSettings.simple`): LEAST_REQUEST is the default since Istio 1.14; LEAST_CONN is an alias.
    #[test]
    fn default_is_least_request() {
        assert_eq!(resolve(None, None, 80).lb, LbPolicy::LeastRequest);
        let rule = dr("  host: a\n  trafficPolicy: {loadBalancer: {simple: LEAST_CONN}}\n");
        assert_eq!(resolve(Some(&rule), None, 80).lb, LbPolicy::LeastRequest);
        let rule = dr("  host: a\n  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n");
        assert_eq!(resolve(Some(&rule), None, 80).lb, LbPolicy::Random);
    }

    /// util.go `MergeSubsetTrafficPolicy`: a subset's component replaces the top-level one.
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

    /// destination_rule.proto `TrafficPolicy.port_level_settings`: the port entry replaces the
    /// components as a whole.
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

    /// `from_istio` follows Istio's `applyOutlierDetection`.
    #[test]
    fn from_istio_translation() {
        use crate::config::Duration as D;
        let od = OutlierDetection {
            consecutive_5xx_errors: Some(0),
            consecutive_gateway_errors: Some(3),
            consecutive_errors: Some(7),
            interval: Some(D::from_nanos(1_500_000)),
            base_ejection_time: Some(D::from_millis(600_000)),
            max_ejection_percent: Some(0),
            min_health_percent: Some(-1),
            split_external_local_origin_errors: true,
            ..OutlierDetection::default()
        };
        let c = outlier_config(&od);
        assert_eq!(c.consecutive_5xx, None);
        assert_eq!(c.consecutive_gateway, Some(3));
        assert_eq!(c.interval, Duration::from_millis(1));
        assert_eq!(c.base_ejection_time, Duration::from_secs(600));
        assert_eq!(
            c.max_ejection_time,
            Duration::from_secs(600),
            "max(300s, base)"
        );
        assert_eq!(c.max_ejection_percent, 10, "0 is not passed on");
        assert_eq!(c.min_health_percent, 50, "negative leaves Envoy's default");
        assert_eq!(c.consecutive_local_origin, Some(5));
        let c = outlier_config(&OutlierDetection {
            consecutive_5xx_errors: Some(2),
            max_ejection_percent: Some(40),
            min_health_percent: Some(30),
            ..OutlierDetection::default()
        });
        assert_eq!(
            (
                c.consecutive_5xx,
                c.max_ejection_percent,
                c.min_health_percent
            ),
            (Some(2), 40, 30)
        );
        assert_eq!(c.consecutive_local_origin, None);
    }

    /// `consecutive5xxErrors: 0` disables 5xx ejection.
    #[test]
    fn zero_disables_5xx() {
        let od = OutlierDetection {
            consecutive_5xx_errors: Some(0),
            max_ejection_percent: Some(100),
            ..Default::default()
        };
        let t0 = std::time::Instant::now();
        let mut d = OutlierDetector::new(outlier_config(&od), 5, t0);
        for _ in 0..50 {
            d.report(0, UpstreamResult::Status(500), t0);
        }
        assert!(!d.is_ejected(0));
    }
}
