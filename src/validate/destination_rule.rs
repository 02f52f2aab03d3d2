//! Validation of `DestinationRule` resources.
//!
//! Follows Istio's `ValidateDestinationRule` (`pkg/config/validation/validation.go`) with
//! `agent.ValidateTLS` and `agent.ValidateLocalityLbSetting`
//! (`pkg/config/validation/agent/validation.go`), using Istio's messages. Rules Istio enforces
//! through the CRD schema rather than in Go (proto `oneof`s, the retry budget and warm-up ranges,
//! outlier detection status codes) are checked too, since `kubectl apply` rejects those files as
//! well. A few warnings go beyond Istio where a policy can never apply (a port-level policy for
//! port 0 or for a port already listed).

use std::collections::{BTreeMap, BTreeSet};

use super::common;
use super::sink::Sink;
use crate::config::*;

/// Labels Istio treats as locality topology in `failoverPriority`
/// (`pilot/pkg/serviceregistry/util/label/label.go`).
const TOPOLOGY_LABELS: [&str; 3] = [
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.istio.io/subzone",
];

/// Maglev table sizes must stay below this (validation.go `validateLoadBalancer`).
const MAGLEV_TABLE_SIZE_LIMIT: u64 = 5_000_011;

pub(crate) fn validate(sink: &mut Sink<'_>, spec: &DestinationRule) {
    let namespace = sink.resource().namespace();
    if let Err(why) = common::wildcard_domain(&spec.host)
        .and_then(|()| common::numeric_top_level_domain(&spec.host))
    {
        sink.error("spec.host", why);
    }
    if let Some(policy) = &spec.traffic_policy {
        traffic_policy(sink, "spec.trafficPolicy", policy, namespace);
    }
    let mut names = BTreeSet::new();
    for (i, subset) in spec.subsets.iter().enumerate() {
        let path = format!("spec.subsets[{i}]");
        if !names.insert(subset.name.as_str()) {
            sink.error(
                format!("{path}.name"),
                format!("duplicate subset names: {}", subset.name),
            );
        }
        if subset.name.is_empty() {
            sink.error(format!("{path}.name"), "subset name cannot be empty");
        } else if !common::is_dns1123_label(&subset.name) {
            sink.error(
                format!("{path}.name"),
                format!(
                    "subset name is invalid: {} (use 1-63 letters, digits and '-'; no dots or underscores)",
                    subset.name
                ),
            );
        }
        common::labels(sink, &format!("{path}.labels"), &subset.labels);
        if let Some(policy) = &subset.traffic_policy {
            traffic_policy(sink, &format!("{path}.trafficPolicy"), policy, namespace);
        }
    }
    common::export_to(
        sink,
        "spec.exportTo",
        namespace,
        &spec.export_to,
        false,
        spec.workload_selector.is_some(),
    );
    if let Some(selector) = &spec.workload_selector {
        workload_selector(sink, "spec.workloadSelector", selector);
    }
}

/// validation.go `validateWorkloadSelector`.
fn workload_selector(sink: &mut Sink<'_>, path: &str, selector: &WorkloadSelector) {
    common::selector_labels(sink, &format!("{path}.matchLabels"), &selector.match_labels);
    if selector.match_labels.is_empty() {
        sink.warn(path, "workload selector specified without labels");
    }
}

/// validation.go `validateTrafficPolicy` (also used for subsets).
fn traffic_policy(sink: &mut Sink<'_>, path: &str, policy: &TrafficPolicy, namespace: &str) {
    if policy.load_balancer.is_none()
        && policy.connection_pool.is_none()
        && policy.outlier_detection.is_none()
        && policy.tls.is_none()
        && policy.port_level_settings.is_empty()
        && policy.tunnel.is_none()
        && policy.proxy_protocol.is_none()
        && policy.retry_budget.is_none()
    {
        sink.error(path, "traffic policy must have at least one field");
        return;
    }
    if policy.tunnel.is_some() && policy.proxy_protocol.is_some() {
        sink.error(path, "tunnel and proxyProtocol must not be set together");
        return;
    }
    components(
        sink,
        path,
        Components {
            load_balancer: policy.load_balancer.as_ref(),
            connection_pool: policy.connection_pool.as_ref(),
            outlier_detection: policy.outlier_detection.as_ref(),
            tls: policy.tls.as_ref(),
        },
        namespace,
    );
    port_level_settings(
        sink,
        &format!("{path}.portLevelSettings"),
        &policy.port_level_settings,
        namespace,
    );
    if let Some(tunnel) = &policy.tunnel {
        tunnel_settings(sink, &format!("{path}.tunnel"), tunnel);
    }
    if let Some(budget) = &policy.retry_budget {
        retry_budget(sink, &format!("{path}.retryBudget"), budget);
    }
}

/// The four components a port-level policy replaces as a whole.
#[derive(Debug, Clone, Copy)]
struct Components<'a> {
    load_balancer: Option<&'a LoadBalancerSettings>,
    connection_pool: Option<&'a ConnectionPoolSettings>,
    outlier_detection: Option<&'a OutlierDetection>,
    tls: Option<&'a ClientTlsSettings>,
}

fn components(sink: &mut Sink<'_>, path: &str, parts: Components<'_>, namespace: &str) {
    if let Some(outlier) = parts.outlier_detection {
        outlier_detection(sink, &format!("{path}.outlierDetection"), outlier);
    }
    if let Some(pool) = parts.connection_pool {
        connection_pool(sink, &format!("{path}.connectionPool"), pool);
    }
    if let Some(lb) = parts.load_balancer {
        load_balancer(
            sink,
            &format!("{path}.loadBalancer"),
            lb,
            parts.outlier_detection.is_some(),
        );
    }
    if let Some(tls) = parts.tls {
        client_tls(sink, &format!("{path}.tls"), tls, namespace);
    }
}

/// validation.go `validatePortTrafficPolicies`.
fn port_level_settings(
    sink: &mut Sink<'_>,
    path: &str,
    settings: &[PortTrafficPolicy],
    namespace: &str,
) {
    let mut ports = BTreeSet::new();
    for (i, setting) in settings.iter().enumerate() {
        let here = format!("{path}[{i}]");
        match &setting.port {
            None => sink.error(format!("{here}.port"), "portTrafficPolicy must have valid port"),
            Some(port) if !(1..=65535).contains(&port.number) => sink.warn(
                format!("{here}.port.number"),
                format!(
                    "port number {} must be in the range 1..65535: this port-level policy never applies",
                    port.number
                ),
            ),
            Some(port) => {
                if !ports.insert(port.number) {
                    sink.warn(
                        format!("{here}.port.number"),
                        format!(
                            "duplicate port-level settings for port {}: only the first entry applies",
                            port.number
                        ),
                    );
                }
            }
        }
        let parts = Components {
            load_balancer: setting.load_balancer.as_ref(),
            connection_pool: setting.connection_pool.as_ref(),
            outlier_detection: setting.outlier_detection.as_ref(),
            tls: setting.tls.as_ref(),
        };
        if parts.load_balancer.is_none()
            && parts.connection_pool.is_none()
            && parts.outlier_detection.is_none()
            && parts.tls.is_none()
        {
            sink.error(here, "port traffic policy must have at least one field");
        } else {
            components(sink, &here, parts, namespace);
        }
    }
}

/// validation.go `validateOutlierDetection`, plus the CRD range of the HTTP error codes.
fn outlier_detection(sink: &mut Sink<'_>, path: &str, outlier: &OutlierDetection) {
    if let Some(time) = &outlier.base_ejection_time {
        common::duration(sink, &format!("{path}.baseEjectionTime"), time);
    }
    if outlier.consecutive_errors.is_some_and(|n| n != 0) {
        sink.warn(
            format!("{path}.consecutiveErrors"),
            "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead",
        );
    }
    if !outlier.split_external_local_origin_errors
        && outlier
            .consecutive_local_origin_failures
            .is_some_and(|n| n > 0)
    {
        sink.error(
            format!("{path}.consecutiveLocalOriginFailures"),
            "outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false",
        );
    }
    if let Some(interval) = &outlier.interval {
        common::duration(sink, &format!("{path}.interval"), interval);
    }
    if let Some(percent) = outlier.max_ejection_percent {
        common::percentage_0_100(
            sink,
            &format!("{path}.maxEjectionPercent"),
            f64::from(percent),
        );
    }
    if let Some(percent) = outlier.min_health_percent {
        common::percentage_0_100(
            sink,
            &format!("{path}.minHealthPercent"),
            f64::from(percent),
        );
    }
    for (i, code) in outlier
        .outlier_detection_http_error_codes
        .iter()
        .enumerate()
    {
        if !(100..=599).contains(code) {
            sink.error(
                format!("{path}.outlierDetectionHttpErrorCodes[{i}]"),
                format!("outlier detection http error code {code} is not in range 100..599"),
            );
        }
    }
}

/// validation.go `validateConnectionPool`.
pub(super) fn connection_pool(sink: &mut Sink<'_>, path: &str, pool: &ConnectionPoolSettings) {
    if pool.http.is_none() && pool.tcp.is_none() {
        sink.error(path, "connection pool must have at least one field");
        return;
    }
    if let Some(http) = &pool.http {
        let path = format!("{path}.http");
        let limits = [
            (
                "http1MaxPendingRequests",
                http.http1_max_pending_requests,
                "http1 max pending requests must be non-negative",
            ),
            (
                "http2MaxRequests",
                http.http2_max_requests,
                "http2 max requests must be non-negative",
            ),
            (
                "maxRequestsPerConnection",
                http.max_requests_per_connection,
                "max requests per connection must be non-negative",
            ),
            (
                "maxRetries",
                http.max_retries,
                "max retries must be non-negative",
            ),
            (
                "maxConcurrentStreams",
                http.max_concurrent_streams,
                "max concurrent streams must be non-negative",
            ),
        ];
        for (field, value, message) in limits {
            if value.is_some_and(|n| n < 0) {
                sink.error(format!("{path}.{field}"), message);
            }
        }
        if let Some(timeout) = &http.idle_timeout {
            common::duration(sink, &format!("{path}.idleTimeout"), timeout);
        }
        if http.h2_upgrade_policy == H2UpgradePolicy::Upgrade && http.use_client_protocol {
            sink.error(
                format!("{path}.useClientProtocol"),
                "use client protocol must not be true when H2UpgradePolicy is UPGRADE",
            );
        }
        if let Some(keepalive) = &http.http2_keep_alive {
            let path = format!("{path}.http2KeepAlive");
            match &keepalive.interval {
                None => sink.error(
                    format!("{path}.interval"),
                    "http2 keepalive interval is required",
                ),
                Some(interval) => common::duration(sink, &format!("{path}.interval"), interval),
            }
            match &keepalive.timeout {
                None => sink.error(
                    format!("{path}.timeout"),
                    "http2 keepalive timeout is required",
                ),
                Some(timeout) => common::duration(sink, &format!("{path}.timeout"), timeout),
            }
        }
    }
    if let Some(tcp) = &pool.tcp {
        let path = format!("{path}.tcp");
        if tcp.max_connections.is_some_and(|n| n < 0) {
            sink.error(
                format!("{path}.maxConnections"),
                "max connections must be non-negative",
            );
        }
        if let Some(timeout) = &tcp.connect_timeout {
            common::duration(sink, &format!("{path}.connectTimeout"), timeout);
        }
        if let Some(duration) = &tcp.max_connection_duration {
            common::duration(sink, &format!("{path}.maxConnectionDuration"), duration);
        }
        // A value that truncates to 0ms disables the timeout and is not checked.
        if let Some(timeout) = tcp.idle_timeout.filter(|t| t.as_nanos() / 1_000_000 != 0) {
            common::duration(sink, &format!("{path}.idleTimeout"), &timeout);
        }
        if let Some(keepalive) = &tcp.tcp_keepalive {
            if let Some(time) = &keepalive.time {
                common::duration(sink, &format!("{path}.tcpKeepalive.time"), time);
            }
            if let Some(interval) = &keepalive.interval {
                common::duration(sink, &format!("{path}.tcpKeepalive.interval"), interval);
            }
        }
    }
}

/// validation.go `validateLoadBalancer`, with the schema's `oneof` rules.
fn load_balancer(
    sink: &mut Sink<'_>,
    path: &str,
    lb: &LoadBalancerSettings,
    has_outlier_detection: bool,
) {
    if lb.simple.is_some() && lb.consistent_hash.is_some() {
        sink.error(path, "only one of simple or consistentHash can be set");
    }
    if let Some(hash) = &lb.consistent_hash {
        consistent_hash(sink, &format!("{path}.consistentHash"), hash);
    }
    if lb.locality_lb_setting.is_some() && lb.zone_aware_lb_setting.is_some() {
        sink.error(
            path,
            "only one of localityLbSetting and zoneAwareLbSetting can be set",
        );
    }
    if let Some(locality) = &lb.locality_lb_setting {
        locality_lb_setting(
            sink,
            &format!("{path}.localityLbSetting"),
            locality,
            has_outlier_detection,
        );
    }
    if let Some(zone_aware) = &lb.zone_aware_lb_setting {
        zone_aware_lb_setting(sink, &format!("{path}.zoneAwareLbSetting"), zone_aware);
    }
    if lb.warmup_duration_secs.is_some() && lb.warmup.is_some() {
        sink.error(path, "only one of warmupDurationSecs or warmup can be set");
    }
    if let Some(warmup) = &lb.warmup {
        let path = format!("{path}.warmup");
        match &warmup.duration {
            None => sink.error(format!("{path}.duration"), "duration is required"),
            Some(duration) => common::duration(sink, &format!("{path}.duration"), duration),
        }
        if let Some(percent) = warmup.minimum_percent {
            if percent > 100.0 {
                sink.error(
                    format!("{path}.minimumPercent"),
                    "minimumPercent value should be less than or equal to 100",
                );
            } else if percent < 0.0 {
                sink.error(
                    format!("{path}.minimumPercent"),
                    "minimumPercent value should be greater than or equal to 0",
                );
            }
        }
        if warmup.aggression.is_some_and(|a| a <= 0.0) {
            sink.error(
                format!("{path}.aggression"),
                "aggression should be greater than 0",
            );
        }
    }
}

/// Envoy's largest ring (`RingHashLbConfig` `minimum_ring_size` `lte`, and the default
/// `maximum_ring_size`).
const ENVOY_MAX_RING_SIZE: u64 = 8_388_608;

fn consistent_hash(sink: &mut Sink<'_>, path: &str, hash: &ConsistentHashLb) {
    let keys = [
        hash.http_header_name.is_some(),
        hash.http_cookie.is_some(),
        hash.use_source_ip.is_some(),
        hash.http_query_parameter_name.is_some(),
    ];
    if keys.iter().filter(|set| **set).count() > 1 {
        sink.error(
            path,
            "only one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName can be set",
        );
    }
    if hash.ring_hash.is_some() && hash.maglev.is_some() {
        sink.error(path, "only one of ringHash or maglev can be set");
    }
    if let Some(cookie) = &hash.http_cookie {
        if cookie.name.is_empty() {
            sink.error(
                format!("{path}.httpCookie.name"),
                "name required for HttpCookie",
            );
        }
        let mut names = BTreeSet::new();
        for (i, attribute) in cookie.attributes.iter().enumerate() {
            let here = format!("{path}.httpCookie.attributes[{i}].name");
            if attribute.name.is_empty() {
                sink.error(here, "cookie attribute name cannot be empty");
            } else if !names.insert(attribute.name.as_str()) {
                sink.error(
                    here,
                    format!("duplicate cookie attribute name: {}", attribute.name),
                );
            }
        }
    }
    if hash.minimum_ring_size.is_some_and(|n| n != 0) {
        sink.warn(
            format!("{path}.minimumRingSize"),
            "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead",
        );
        if hash.ring_hash.is_some() || hash.maglev.is_some() {
            sink.error(
                format!("{path}.minimumRingSize"),
                "only one of MinimumRingSize or Maglev/Ringhash can be specified",
            );
        }
    }
    // Envoy's `RingHashLbConfig.minimum_ring_size` is `lte: 8388608` (cluster.proto), and its
    // ring-hash balancer refuses a minimum above the maximum: Envoy rejects such a cluster,
    // although Istio's validation lets the DestinationRule through. meshroute cannot build
    // that ring either and picks at random.
    let rings = [
        (format!("{path}.minimumRingSize"), hash.minimum_ring_size),
        (
            format!("{path}.ringHash.minimumRingSize"),
            hash.ring_hash.as_ref().and_then(|r| r.minimum_ring_size),
        ),
    ];
    for (here, size) in rings {
        if let Some(size) = size.filter(|n| *n > ENVOY_MAX_RING_SIZE) {
            sink.warn(
                here,
                format!("minimumRingSize {size} is above Envoy's limit of {ENVOY_MAX_RING_SIZE}: Envoy rejects the cluster (meshroute picks endpoints at random)"),
            );
        }
    }
    if let Some(maglev) = &hash.maglev {
        let here = format!("{path}.maglev.tableSize");
        let size = maglev.table_size.unwrap_or(0);
        if size == 0 {
            sink.error(here.clone(), "tableSize must be set for maglev");
        }
        if size >= MAGLEV_TABLE_SIZE_LIMIT {
            sink.error(
                here.clone(),
                "tableSize must be less than 5000011 for maglev",
            );
        }
        if !is_prime(size) {
            sink.error(here, "tableSize must be a prime number for maglev");
        }
    }
}

/// Envoy's `Primes::isPrime` as Istio copies it: 1, 2 and 3 are prime, 0 and even numbers are
/// not. Numbers too large to test quickly count as prime (they already fail the size limit).
fn is_prime(x: u64) -> bool {
    if x != 0 && x < 4 {
        return true;
    }
    if x & 1 == 0 {
        return false;
    }
    if x > 1_000_000_000_000 {
        return true;
    }
    let mut factor = 3;
    while factor * factor <= x {
        if x % factor == 0 {
            return false;
        }
        factor += 2;
    }
    true
}

/// agent/validation.go `ValidateLocalityLbSetting`.
fn locality_lb_setting(
    sink: &mut Sink<'_>,
    path: &str,
    locality: &LocalityLoadBalancerSetting,
    has_outlier_detection: bool,
) {
    if !locality.distribute.is_empty() && !locality.failover.is_empty() {
        sink.error(
            path,
            "can not simultaneously specify 'distribute' and 'failover'",
        );
        return;
    }
    if !locality.failover.is_empty() {
        for (i, label) in locality.failover_priority.iter().enumerate() {
            if TOPOLOGY_LABELS.contains(&label.as_str()) {
                sink.error(
                    format!("{path}.failoverPriority[{i}]"),
                    format!(
                        "can not simultaneously set 'failover' and topology label '{label}' in 'failover_priority'"
                    ),
                );
                return;
            }
        }
    }
    for (i, distribute) in locality.distribute.iter().enumerate() {
        let here = format!("{path}.distribute[{i}].to");
        let mut total: u64 = 0;
        for (to, weight) in &distribute.to {
            if *weight == 0 || *weight > 100 {
                sink.error(
                    format!("{here}.{to}"),
                    "locality weight must be in range [1, 100]",
                );
                return;
            }
            total += u64::from(*weight);
        }
        if total != 100 {
            sink.error(here, format!("total locality weight {total} != 100"));
            return;
        }
        if let Err(why) = localities(distribute.to.keys().map(String::as_str)) {
            sink.error(here, why);
        }
    }
    if let Err(why) = localities(locality.distribute.iter().map(|d| d.from.as_str())) {
        sink.error(format!("{path}.distribute"), why);
    }
    if (!locality.failover.is_empty() || !locality.failover_priority.is_empty())
        && !has_outlier_detection
    {
        sink.warn(
            path,
            "outlier detection policy must be provided for failover",
        );
    }
    failover(sink, &format!("{path}.failover"), &locality.failover);
}

/// The region-only rules every `failover` entry follows.
fn failover(sink: &mut Sink<'_>, path: &str, entries: &[LocalityFailover]) {
    for (i, entry) in entries.iter().enumerate() {
        let here = format!("{path}[{i}]");
        if entry.from == entry.to {
            sink.error(
                here.clone(),
                "locality lb failover settings must specify different regions",
            );
        }
        if entry.from.contains('/') || entry.to.contains('/') {
            sink.error(here.clone(), "locality lb failover only specify region");
        }
        if entry.from.contains('*') || entry.to.contains('*') {
            sink.error(
                here,
                "locality lb failover region should not contain '*' wildcard",
            );
        }
    }
}

/// agent/validation.go `validateLocalities`: well-formed `region/zone/subzone` patterns with at
/// most one trailing `*`, none covering another.
fn localities<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    // region → zone → subzones; "*" marks a wildcard at that level.
    let mut seen: BTreeMap<&str, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for locality in items {
        let overlap = || format!("locality {locality} overlap with previous specified ones");
        let stars = locality.matches('*').count();
        if stars > 1 || (stars == 1 && !locality.ends_with('*')) {
            return Err(format!(
                "locality {locality} wildcard '*' number can not exceed 1 and must be in the end"
            ));
        }
        if seen.contains_key("*") {
            return Err(overlap());
        }
        let parts: Vec<&str> = locality.splitn(3, '/').collect();
        if parts.iter().any(|part| part.is_empty()) {
            return Err(format!(
                "locality {locality} must not contain empty region/zone/subzone info"
            ));
        }
        match parts.as_slice() {
            [region] => {
                if seen.contains_key(region) {
                    return Err(overlap());
                }
                seen.insert(region, BTreeMap::from([("*", BTreeSet::from(["*"]))]));
            }
            [region, zone] => {
                let zones = seen.entry(region).or_default();
                if zones.contains_key("*") || zones.contains_key(zone) {
                    return Err(overlap());
                }
                zones.insert(zone, BTreeSet::from(["*"]));
            }
            [region, zone, subzone] => {
                let zones = seen.entry(region).or_default();
                if zones.contains_key("*") {
                    return Err(overlap());
                }
                let subzones = zones.entry(zone).or_default();
                if subzones.contains("*") || subzones.contains(subzone) {
                    return Err(overlap());
                }
                subzones.insert(subzone);
            }
            _ => {}
        }
    }
    Ok(())
}

/// `zoneAwareLbSetting` (istio/api#3733): regions only in `failover`, and no region, zone or
/// subzone topology labels in `failoverPriority`, since zone-aware routing always partitions by
/// region and balances zones itself.
fn zone_aware_lb_setting(sink: &mut Sink<'_>, path: &str, setting: &ZoneAwareLoadBalancerSetting) {
    for (i, label) in setting.failover_priority.iter().enumerate() {
        if TOPOLOGY_LABELS.contains(&label.as_str()) {
            sink.error(
                format!("{path}.failoverPriority[{i}]"),
                format!(
                    "topology label '{label}' is not allowed in 'failoverPriority' of zoneAwareLbSetting: zone-aware load balancing always partitions by region and zone"
                ),
            );
        }
    }
    failover(sink, &format!("{path}.failover"), &setting.failover);
}

/// agent/validation.go `ValidateTLS` (client side).
fn client_tls(sink: &mut Sink<'_>, path: &str, tls: &ClientTlsSettings, namespace: &str) {
    if let Some(rest) = tls.credential_name.strip_prefix("configmap://") {
        let credential_namespace = match rest.split_once('/') {
            Some((ns, _)) => ns,
            None => namespace,
        };
        if credential_namespace != namespace || namespace.is_empty() {
            sink.error(
                format!("{path}.credentialName"),
                format!(
                    "invalid configmap:// credentialName: namespace must match the configuration namespace {namespace:?}"
                ),
            );
        }
    }
    let sans = !tls.subject_alt_names.is_empty();
    if tls.insecure_skip_verify == Some(true) {
        if tls.mode == ClientTlsMode::Simple
            && (!tls.ca_certificates.is_empty() || !tls.credential_name.is_empty() || sans)
        {
            sink.error(
                path,
                "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true",
            );
        }
        if tls.mode == ClientTlsMode::Mutual && (!tls.ca_certificates.is_empty() || sans) {
            sink.error(
                path,
                "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true",
            );
        }
    }
    let simple_or_mutual = matches!(tls.mode, ClientTlsMode::Simple | ClientTlsMode::Mutual);
    if simple_or_mutual && !tls.credential_name.is_empty() {
        if !tls.client_certificate.is_empty()
            || !tls.ca_certificates.is_empty()
            || !tls.private_key.is_empty()
            || !tls.ca_crl.is_empty()
        {
            sink.error(
                path,
                "cannot specify client certificates or CA certificate or CA CRL If credentialName is set",
            );
        }
        return;
    }
    if tls.mode == ClientTlsMode::Mutual {
        if tls.client_certificate.is_empty() {
            sink.error(
                format!("{path}.clientCertificate"),
                "client certificate required for mutual tls",
            );
        }
        if tls.private_key.is_empty() {
            sink.error(
                format!("{path}.privateKey"),
                "private key required for mutual tls",
            );
        }
    }
}

/// validation.go `validateTunnelSettings`.
fn tunnel_settings(sink: &mut Sink<'_>, path: &str, tunnel: &TunnelSettings) {
    if !matches!(tunnel.protocol.as_str(), "" | "CONNECT" | "POST") {
        sink.error(
            format!("{path}.protocol"),
            "tunnel protocol must be \"CONNECT\" or \"POST\"",
        );
    }
    if let Err(fqdn) = common::fqdn(&tunnel.target_host) {
        if !common::is_ip_address(&tunnel.target_host) {
            sink.error(
                format!("{path}.targetHost"),
                format!(
                    "tunnel target host must be valid FQDN or IP address: {fqdn}; {} is not a valid IP",
                    tunnel.target_host
                ),
            );
        }
    }
    if !(1..=65535).contains(&tunnel.target_port) {
        sink.error(
            format!("{path}.targetPort"),
            format!(
                "tunnel target port is invalid: port number {} must be in the range 1..65535",
                tunnel.target_port
            ),
        );
    }
}

/// The CRD schema's range for `retryBudget.percent` (0..100).
fn retry_budget(sink: &mut Sink<'_>, path: &str, budget: &RetryBudget) {
    if let Some(percent) = budget.percent {
        common::percentage_0_100(sink, &format!("{path}.percent"), percent);
    }
}

#[cfg(test)]
mod tests {
    /// Maglev table sizes must be prime (`isPrime` in validation.go).
    #[test]
    fn primes() {
        assert!(super::is_prime(2) && super::is_prime(65537) && super::is_prime(4_999_999));
        assert!(!super::is_prime(0) && !super::is_prime(4) && !super::is_prime(25));
    }
}
