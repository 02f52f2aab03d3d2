//! Validation of `DestinationRule` resources.
//!
//! Follows Istio's `ValidateDestinationRule` (`pkg/config/validation/validation.go`) with
//! `agent.ValidateTLS` and `agent.ValidateLocalityLbSetting` (`pkg/config/validation/agent/
//! validation.go`), using Istio's messages. Rules Istio enforces through the CRD schema rather
//! than in Go (proto `oneof`s, the retry budget and warm-up ranges, outlier detection status
//! codes) are checked too, since `kubectl apply` rejects those files as well. A few warnings go
//! beyond Istio where a policy can never apply (a port-level policy for port 0 or for a port
//! already listed).

use std::collections::{BTreeMap, BTreeSet};

use crate::compile::diagnostics::Sink;
use crate::compile::rules;
use crate::config::*;

/// Labels Istio treats as locality topology in `failoverPriority` (`pilot/pkg/serviceregistry/
/// util/label`).
const TOPOLOGY_LABELS: [&str; 3] = [
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.istio.io/subzone",
];

/// Maglev table sizes must stay below this (validation.go `validateLoadBalancer`).
const MAGLEV_TABLE_SIZE_LIMIT: u64 = 5_000_011;

pub(crate) fn validate(sink: &mut Sink<'_>, spec: &DestinationRule) {
    let namespace = sink.resource().namespace();
    if let Err(why) = rules::wildcard_domain(&spec.host)
        .and_then(|()| rules::numeric_top_level_domain(&spec.host))
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
        } else if !rules::is_dns1123_label(&subset.name) {
            sink.error(
                format!("{path}.name"),
                format!(
                    "subset name is invalid: {} (use 1-63 letters, digits and '-'; no dots or underscores)",
                    subset.name
                ),
            );
        }
        rules::labels(sink, &format!("{path}.labels"), &subset.labels);
        if let Some(policy) = &subset.traffic_policy {
            traffic_policy(sink, &format!("{path}.trafficPolicy"), policy, namespace);
        }
    }
    rules::export_to(
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
    rules::selector_labels(sink, &format!("{path}.matchLabels"), &selector.match_labels);
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
        rules::duration(sink, &format!("{path}.baseEjectionTime"), time);
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
        rules::duration(sink, &format!("{path}.interval"), interval);
    }
    if let Some(percent) = outlier.max_ejection_percent {
        rules::percentage_0_100(
            sink,
            &format!("{path}.maxEjectionPercent"),
            f64::from(percent),
        );
    }
    if let Some(percent) = outlier.min_health_percent {
        rules::percentage_0_100(
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
fn connection_pool(sink: &mut Sink<'_>, path: &str, pool: &ConnectionPoolSettings) {
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
            rules::duration(sink, &format!("{path}.idleTimeout"), timeout);
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
                Some(interval) => rules::duration(sink, &format!("{path}.interval"), interval),
            }
            match &keepalive.timeout {
                None => sink.error(
                    format!("{path}.timeout"),
                    "http2 keepalive timeout is required",
                ),
                Some(timeout) => rules::duration(sink, &format!("{path}.timeout"), timeout),
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
            rules::duration(sink, &format!("{path}.connectTimeout"), timeout);
        }
        if let Some(duration) = &tcp.max_connection_duration {
            rules::duration(sink, &format!("{path}.maxConnectionDuration"), duration);
        }
        // A value that truncates to 0ms disables the timeout and is not checked.
        if let Some(timeout) = tcp.idle_timeout.filter(|t| t.as_nanos() / 1_000_000 != 0) {
            rules::duration(sink, &format!("{path}.idleTimeout"), &timeout);
        }
        if let Some(keepalive) = &tcp.tcp_keepalive {
            if let Some(time) = &keepalive.time {
                rules::duration(sink, &format!("{path}.tcpKeepalive.time"), time);
            }
            if let Some(interval) = &keepalive.interval {
                rules::duration(sink, &format!("{path}.tcpKeepalive.interval"), interval);
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
            Some(duration) => rules::duration(sink, &format!("{path}.duration"), duration),
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
    if let Err(fqdn) = rules::fqdn(&tunnel.target_host) {
        if !rules::is_ip_address(&tunnel.target_host) {
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
        rules::percentage_0_100(sink, &format!("{path}.percent"), percent);
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::test_support::*;
    use crate::compile::{Diagnostic, check_yaml};

    /// Loads a DestinationRule in namespace `default` whose spec is `spec` (YAML, unindented).
    fn dr(spec: &str) -> Vec<Diagnostic> {
        let spec: String = spec.lines().map(|line| format!("  {line}\n")).collect();
        check_yaml(&format!(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: x\n  namespace: default\nspec:\n{spec}"
        ))
    }

    /// A DestinationRule using every field loads without a single warning: nothing is unmodelled.
    #[test]
    fn every_field_is_modelled() {
        let d = dr(r#"host: ratings.prod.svc.cluster.local
workloadSelector:
  matchLabels: {app: ratings}
exportTo: ["."]
trafficPolicy:
  loadBalancer:
    simple: ROUND_ROBIN
    localityLbSetting:
      enabled: true
      distribute:
      - from: us-west/zone1/*
        to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}
      failoverPriority: [version]
    warmup: {duration: 30s, minimumPercent: 10, aggression: 1.5}
  connectionPool:
    tcp:
      maxConnections: 100
      connectTimeout: 30ms
      tcpKeepalive: {probes: 9, time: 7200s, interval: 75s}
      maxConnectionDuration: 1h
      idleTimeout: 0s
    http:
      http1MaxPendingRequests: 10
      http2MaxRequests: 1000
      maxRequestsPerConnection: 10
      maxRetries: 3
      idleTimeout: 1h
      h2UpgradePolicy: DO_NOT_UPGRADE
      useClientProtocol: true
      maxConcurrentStreams: 100
      http2KeepAlive: {interval: 30s, timeout: 10s}
  outlierDetection:
    splitExternalLocalOriginErrors: true
    consecutiveLocalOriginFailures: 5
    consecutiveGatewayErrors: 3
    consecutive5xxErrors: 7
    interval: 5m
    baseEjectionTime: 15m
    maxEjectionPercent: 50
    minHealthPercent: 20
    outlierDetectionHttpErrorCodes: [429, 503]
  tls:
    mode: SIMPLE
    caCertificates: /etc/certs/ca.pem
    subjectAltNames: [ratings.example.com]
    sni: ratings.example.com
    insecureSkipVerify: false
    caCrl: /etc/certs/crl.pem
  portLevelSettings:
  - port: {number: 9080}
    loadBalancer:
      consistentHash:
        httpCookie:
          name: user
          path: /
          ttl: 0s
          attributes: [{name: SameSite, value: Strict}, {name: Secure}]
        maglev: {tableSize: 65537}
    connectionPool: {http: {maxRetries: 1}}
    outlierDetection: {consecutive5xxErrors: 0}
    tls: {mode: ISTIO_MUTUAL}
  proxyProtocol: {version: V2}
  retryBudget: {percent: 25.5, minRetryConcurrency: 4, budgetInterval: 10s}
subsets:
- name: v1
  labels: {version: v1}
- name: v2
  labels: {version: v2}
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 1024}}
    tunnel: {protocol: CONNECT, targetHost: proxy.example.com, targetPort: 8080}
- name: v3
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
      zoneAwareLbSetting:
        enabled: true
        failover: [{from: us-east, to: eu-west}]
        failoverPriority: [version]
        minClusterSize: 3
      warmupDurationSecs: 60s
    connectionPool: {tcp: {maxConnections: 1}}
    outlierDetection: {consecutive5xxErrors: 1}
    tls:
      mode: MUTUAL
      clientCertificate: /etc/certs/cert.pem
      privateKey: /etc/certs/key.pem
- name: v4
  trafficPolicy:
    loadBalancer:
      consistentHash: {useSourceIp: true}
- name: v5
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpQueryParameterName: user, minimumRingSize: 0}
"#);
        assert_no_diagnostics(&d);
    }

    /// validation.go ValidateDestinationRule: host must be a valid wildcard domain
    /// (`agent.ValidateWildcardDomain`).
    #[test]
    fn host_must_be_a_wildcard_domain() {
        assert_error(&dr("host: foo.*"), "spec.host", "invalid");
        assert_error(
            &dr("host: \"\""),
            "spec.host",
            "empty domain name not allowed",
        );
        assert_clean(&dr("host: \"*.foo.com\""), "spec.host");
        assert_clean(&dr("host: reviews"), "spec.host");
    }

    /// agent.ValidateDNS1123Labels: the top-level domain cannot be all-numeric, so an IP is not
    /// a valid DestinationRule host.
    #[test]
    fn host_top_level_domain_cannot_be_numeric() {
        assert_error(&dr("host: 10.0.0.1"), "spec.host", "cannot be all-numeric");
        assert_clean(&dr("host: foo.com1"), "spec.host");
    }

    /// validation.go ValidateDestinationRule: duplicate subset names are rejected.
    #[test]
    fn subset_names_must_be_unique() {
        let d = dr("host: r\nsubsets:\n- name: v1\n- name: v1");
        assert_error(&d, "spec.subsets[1].name", "duplicate subset names: v1");
        assert_clean(&d, "spec.subsets[0].name");
        assert_clean(
            &dr("host: r\nsubsets:\n- name: v1\n- name: v2"),
            "spec.subsets[1].name",
        );
    }

    /// validation.go validateSubsetName: the name is required and must be a DNS-1123 label
    /// (dots and underscores are invalid, upper case is accepted).
    #[test]
    fn subset_name_required_and_dns1123() {
        assert_error(
            &dr("host: r\nsubsets:\n- labels: {version: v1}"),
            "spec.subsets[0].name",
            "subset name cannot be empty",
        );
        assert_error(
            &dr("host: r\nsubsets:\n- name: v1.0"),
            "spec.subsets[0].name",
            "subset name is invalid: v1.0",
        );
        assert_error(
            &dr("host: r\nsubsets:\n- name: v_1"),
            "spec.subsets[0].name",
            "is invalid",
        );
        assert_clean(
            &dr("host: r\nsubsets:\n- name: V1-canary"),
            "spec.subsets[0].name",
        );
    }

    /// validation.go validateSubset: subset labels must be valid Kubernetes labels.
    #[test]
    fn subset_labels_must_be_valid() {
        let d = dr("host: r\nsubsets:\n- name: v1\n  labels: {version: \"-v1\"}");
        assert_error(&d, "spec.subsets[0].labels.version", "invalid tag value");
        assert_clean(
            &dr("host: r\nsubsets:\n- name: v1\n  labels: {version: v1.2_3}"),
            "spec.subsets[0].labels.version",
        );
    }

    /// validation.go validateTrafficPolicy: `trafficPolicy: {}` is rejected, also in subsets;
    /// a policy with only a retry budget is valid (istio/istio#57322).
    #[test]
    fn traffic_policy_needs_a_field() {
        assert_error(
            &dr("host: r\ntrafficPolicy: {}"),
            "spec.trafficPolicy",
            "traffic policy must have at least one field",
        );
        assert_error(
            &dr("host: r\nsubsets:\n- name: v1\n  trafficPolicy: {}"),
            "spec.subsets[0].trafficPolicy",
            "traffic policy must have at least one field",
        );
        assert_clean(
            &dr("host: r\ntrafficPolicy: {retryBudget: {}}"),
            "spec.trafficPolicy",
        );
        assert_clean(
            &dr("host: r\ntrafficPolicy: {proxyProtocol: {}}"),
            "spec.trafficPolicy",
        );
    }

    /// validation.go validateTrafficPolicy: tunnel and proxyProtocol are exclusive.
    #[test]
    fn tunnel_and_proxy_protocol_exclusive() {
        let both = "host: r\ntrafficPolicy:\n  proxyProtocol: {version: V1}\n  tunnel: {targetHost: a.b, targetPort: 80}";
        assert_error(
            &dr(both),
            "spec.trafficPolicy",
            "tunnel and proxyProtocol must not be set together",
        );
        assert_clean(
            &dr("host: r\ntrafficPolicy:\n  tunnel: {targetHost: a.b, targetPort: 80}"),
            "spec.trafficPolicy",
        );
    }

    /// validation.go validateTunnelSettings: protocol CONNECT or POST, target host an FQDN or
    /// IP, target port in 1..65535.
    #[test]
    fn tunnel_settings() {
        let d = dr(
            "host: r\ntrafficPolicy:\n  tunnel: {protocol: GET, targetHost: \"*.x\", targetPort: 0}",
        );
        assert_error(
            &d,
            "spec.trafficPolicy.tunnel.protocol",
            "tunnel protocol must be",
        );
        assert_error(
            &d,
            "spec.trafficPolicy.tunnel.targetHost",
            "must be valid FQDN or IP address",
        );
        assert_error(
            &d,
            "spec.trafficPolicy.tunnel.targetPort",
            "tunnel target port is invalid",
        );
        let good = dr(
            "host: r\ntrafficPolicy:\n  tunnel: {protocol: POST, targetHost: 10.0.0.1, targetPort: 443}",
        );
        assert_clean(&good, "spec.trafficPolicy.tunnel.protocol");
        assert_clean(&good, "spec.trafficPolicy.tunnel.targetHost");
        assert_clean(&good, "spec.trafficPolicy.tunnel.targetPort");
    }

    /// validation.go validatePortTrafficPolicies: the port is required.
    #[test]
    fn port_level_settings_need_a_port() {
        let d =
            dr("host: r\ntrafficPolicy:\n  portLevelSettings:\n  - loadBalancer: {simple: RANDOM}");
        assert_error(
            &d,
            "spec.trafficPolicy.portLevelSettings[0].port",
            "portTrafficPolicy must have valid port",
        );
        let good = dr(
            "host: r\ntrafficPolicy:\n  portLevelSettings:\n  - port: {number: 80}\n    loadBalancer: {simple: RANDOM}",
        );
        assert_clean(&good, "spec.trafficPolicy.portLevelSettings[0].port");
        assert_clean(&good, "spec.trafficPolicy.portLevelSettings[0]");
    }

    /// validation.go validatePortTrafficPolicies: a port entry needs at least one component.
    #[test]
    fn port_level_settings_need_a_field() {
        let d = dr("host: r\ntrafficPolicy:\n  portLevelSettings:\n  - port: {number: 80}");
        assert_error(
            &d,
            "spec.trafficPolicy.portLevelSettings[0]",
            "port traffic policy must have at least one field",
        );
    }

    /// Beyond Istio (warning): a port-level policy for port 0 never applies, and for a port
    /// already listed only the first entry applies (GetPortLevelTrafficPolicy stops at the first).
    #[test]
    fn port_level_settings_unreachable_ports_warn() {
        let d = dr(
            "host: r\ntrafficPolicy:\n  portLevelSettings:\n  - port: {number: 0}\n    tls: {mode: SIMPLE}\n  - port: {number: 80}\n    tls: {mode: SIMPLE}\n  - port: {number: 80}\n    tls: {mode: DISABLE}",
        );
        assert_warning(
            &d,
            "spec.trafficPolicy.portLevelSettings[0].port.number",
            "never applies",
        );
        assert_clean(&d, "spec.trafficPolicy.portLevelSettings[1].port.number");
        assert_warning(
            &d,
            "spec.trafficPolicy.portLevelSettings[2].port.number",
            "only the first entry applies",
        );
        assert!(!d.iter().any(Diagnostic::is_error), "{d:#?}");
    }

    /// validation.go validateConnectionPool: `connectionPool: {}` is rejected.
    #[test]
    fn connection_pool_needs_a_field() {
        assert_error(
            &dr("host: r\ntrafficPolicy:\n  connectionPool: {}"),
            "spec.trafficPolicy.connectionPool",
            "connection pool must have at least one field",
        );
        assert_clean(
            &dr("host: r\ntrafficPolicy:\n  connectionPool: {tcp: {}}"),
            "spec.trafficPolicy.connectionPool",
        );
    }

    /// validation.go validateConnectionPool: the HTTP and TCP limits cannot be negative.
    #[test]
    fn connection_pool_limits_non_negative() {
        let d = dr(
            "host: r\ntrafficPolicy:\n  connectionPool:\n    tcp: {maxConnections: -1}\n    http: {http1MaxPendingRequests: -1, http2MaxRequests: -1, maxRequestsPerConnection: -1, maxRetries: -1, maxConcurrentStreams: -1}",
        );
        let p = "spec.trafficPolicy.connectionPool";
        assert_error(
            &d,
            &format!("{p}.tcp.maxConnections"),
            "max connections must be non-negative",
        );
        assert_error(
            &d,
            &format!("{p}.http.http1MaxPendingRequests"),
            "http1 max pending requests must be non-negative",
        );
        assert_error(
            &d,
            &format!("{p}.http.http2MaxRequests"),
            "http2 max requests must be non-negative",
        );
        assert_error(
            &d,
            &format!("{p}.http.maxRequestsPerConnection"),
            "max requests per connection must be non-negative",
        );
        assert_error(
            &d,
            &format!("{p}.http.maxRetries"),
            "max retries must be non-negative",
        );
        assert_error(
            &d,
            &format!("{p}.http.maxConcurrentStreams"),
            "max concurrent streams must be non-negative",
        );
        let good = dr(
            "host: r\ntrafficPolicy:\n  connectionPool:\n    tcp: {maxConnections: 0}\n    http: {http1MaxPendingRequests: 0, maxRetries: 0}",
        );
        assert_no_diagnostics(&good);
    }

    /// validation.go validateConnectionPool: useClientProtocol cannot be combined with UPGRADE.
    #[test]
    fn use_client_protocol_with_upgrade() {
        let p = "spec.trafficPolicy.connectionPool.http.useClientProtocol";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  connectionPool:\n    http: {h2UpgradePolicy: UPGRADE, useClientProtocol: true}",
            ),
            p,
            "use client protocol must not be true when H2UpgradePolicy is UPGRADE",
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  connectionPool:\n    http: {h2UpgradePolicy: UPGRADE, useClientProtocol: false}",
            ),
            p,
        );
    }

    /// validation.go validateConnectionPool: http2KeepAlive needs both interval and timeout.
    #[test]
    fn http2_keepalive_requires_interval_and_timeout() {
        let p = "spec.trafficPolicy.connectionPool.http.http2KeepAlive";
        let d = dr("host: r\ntrafficPolicy:\n  connectionPool:\n    http: {http2KeepAlive: {}}");
        assert_error(
            &d,
            &format!("{p}.interval"),
            "http2 keepalive interval is required",
        );
        assert_error(
            &d,
            &format!("{p}.timeout"),
            "http2 keepalive timeout is required",
        );
        let good = dr(
            "host: r\ntrafficPolicy:\n  connectionPool:\n    http: {http2KeepAlive: {interval: 30s, timeout: 5s}}",
        );
        assert_clean(&good, &format!("{p}.interval"));
        assert_clean(&good, &format!("{p}.timeout"));
    }

    /// agent.ValidateDuration on connection pool durations; `tcp.idleTimeout: 0s` disables the
    /// timeout and is allowed, while `http.idleTimeout: 0s` is not.
    #[test]
    fn connection_pool_durations() {
        let p = "spec.trafficPolicy.connectionPool";
        let d = dr(
            "host: r\ntrafficPolicy:\n  connectionPool:\n    tcp: {connectTimeout: 0.5ms, maxConnectionDuration: 0s, idleTimeout: 1.5ms, tcpKeepalive: {time: 0s, interval: 0s}}\n    http: {idleTimeout: 0s}",
        );
        assert_error(
            &d,
            &format!("{p}.tcp.connectTimeout"),
            "duration must be greater than 1ms",
        );
        assert_error(
            &d,
            &format!("{p}.tcp.maxConnectionDuration"),
            "duration must be greater than 1ms",
        );
        assert_error(
            &d,
            &format!("{p}.tcp.idleTimeout"),
            "only durations to ms precision are supported",
        );
        assert_error(
            &d,
            &format!("{p}.tcp.tcpKeepalive.time"),
            "duration must be greater than 1ms",
        );
        assert_error(
            &d,
            &format!("{p}.tcp.tcpKeepalive.interval"),
            "duration must be greater than 1ms",
        );
        assert_error(
            &d,
            &format!("{p}.http.idleTimeout"),
            "duration must be greater than 1ms",
        );
        let good = dr(
            "host: r\ntrafficPolicy:\n  connectionPool:\n    tcp: {idleTimeout: 0s, connectTimeout: 10ms}",
        );
        assert_no_diagnostics(&good);
    }

    /// validation.go validateOutlierDetection: maxEjectionPercent and minHealthPercent in 0..100.
    #[test]
    fn outlier_percentages_in_range() {
        let p = "spec.trafficPolicy.outlierDetection";
        let d = dr(
            "host: r\ntrafficPolicy:\n  outlierDetection: {maxEjectionPercent: 101, minHealthPercent: -1}",
        );
        assert_error(
            &d,
            &format!("{p}.maxEjectionPercent"),
            "percentage 101 is not in range 0..100",
        );
        assert_error(
            &d,
            &format!("{p}.minHealthPercent"),
            "percentage -1 is not in range 0..100",
        );
        let good = dr(
            "host: r\ntrafficPolicy:\n  outlierDetection: {maxEjectionPercent: 100, minHealthPercent: 0}",
        );
        assert_no_diagnostics(&good);
    }

    /// validation.go validateOutlierDetection: interval and baseEjectionTime follow the
    /// duration rules.
    #[test]
    fn outlier_durations() {
        let p = "spec.trafficPolicy.outlierDetection";
        let d = dr(
            "host: r\ntrafficPolicy:\n  outlierDetection: {interval: 0s, baseEjectionTime: 1.5ms}",
        );
        assert_error(
            &d,
            &format!("{p}.interval"),
            "duration must be greater than 1ms",
        );
        assert_error(
            &d,
            &format!("{p}.baseEjectionTime"),
            "only durations to ms precision",
        );
        assert_no_diagnostics(&dr(
            "host: r\ntrafficPolicy:\n  outlierDetection: {interval: 1s, baseEjectionTime: 30s}",
        ));
    }

    /// validation.go validateOutlierDetection: the deprecated consecutiveErrors gives a warning.
    #[test]
    fn outlier_consecutive_errors_deprecated() {
        let p = "spec.trafficPolicy.outlierDetection.consecutiveErrors";
        let d = dr("host: r\ntrafficPolicy:\n  outlierDetection: {consecutiveErrors: 5}");
        assert_warning(&d, p, "consecutive errors is deprecated");
        assert!(!d.iter().any(Diagnostic::is_error));
        assert_clean(
            &dr("host: r\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 5}"),
            p,
        );
    }

    /// validation.go validateOutlierDetection: consecutiveLocalOriginFailures needs
    /// splitExternalLocalOriginErrors.
    #[test]
    fn outlier_local_origin_needs_split() {
        let p = "spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures";
        assert_error(
            &dr("host: r\ntrafficPolicy:\n  outlierDetection: {consecutiveLocalOriginFailures: 3}"),
            p,
            "split external local origin errors is set to false",
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  outlierDetection: {consecutiveLocalOriginFailures: 3, splitExternalLocalOriginErrors: true}",
            ),
            p,
        );
    }

    /// destination_rule.proto (istio/api#3741): outlierDetectionHttpErrorCodes in [100, 599].
    #[test]
    fn outlier_http_error_codes_in_range() {
        let p = "spec.trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes";
        let d = dr(
            "host: r\ntrafficPolicy:\n  outlierDetection: {outlierDetectionHttpErrorCodes: [503, 600]}",
        );
        assert_error(&d, &format!("{p}[1]"), "600 is not in range 100..599");
        assert_clean(&d, &format!("{p}[0]"));
    }

    /// validation.go validateLoadBalancer: an HTTP cookie needs a name.
    #[test]
    fn http_cookie_needs_name() {
        let p = "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {httpCookie: {ttl: 0s}}",
            ),
            p,
            "name required for HttpCookie",
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {httpCookie: {name: user, ttl: 0s}}",
            ),
            p,
        );
    }

    /// validation.go validateLoadBalancer: cookie attributes need a name, without duplicates.
    #[test]
    fn cookie_attributes_named_and_unique() {
        let p = "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes";
        let d = dr(
            "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash:\n      httpCookie:\n        name: user\n        attributes: [{name: Secure}, {value: x}, {name: Secure}]",
        );
        assert_clean(&d, &format!("{p}[0].name"));
        assert_error(
            &d,
            &format!("{p}[1].name"),
            "cookie attribute name cannot be empty",
        );
        assert_error(
            &d,
            &format!("{p}[2].name"),
            "duplicate cookie attribute name: Secure",
        );
    }

    /// validation.go validateLoadBalancer: the deprecated minimumRingSize warns, and cannot be
    /// combined with ringHash or maglev.
    #[test]
    fn minimum_ring_size_deprecated_and_exclusive() {
        let p = "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize";
        let d = dr(
            "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {httpHeaderName: x, minimumRingSize: 1024, ringHash: {minimumRingSize: 2048}}",
        );
        assert_warning(&d, p, "MinimumRingSize is deprecated");
        assert_error(
            &d,
            p,
            "only one of MinimumRingSize or Maglev/Ringhash can be specified",
        );
        let alone = dr(
            "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {httpHeaderName: x, minimumRingSize: 1024}",
        );
        assert_warning(&alone, p, "deprecated");
        assert!(!alone.iter().any(Diagnostic::is_error), "{alone:#?}");
    }

    /// validation.go validateLoadBalancer: maglev tableSize must be set.
    #[test]
    fn maglev_table_size_required() {
        let p = "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {useSourceIp: true, maglev: {}}",
            ),
            p,
            "tableSize must be set for maglev",
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {useSourceIp: true, maglev: {tableSize: 65537}}",
            ),
            p,
        );
    }

    /// validation.go validateLoadBalancer: maglev tableSize must be below 5000011.
    #[test]
    fn maglev_table_size_limit() {
        let p = "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {useSourceIp: true, maglev: {tableSize: 5000011}}",
            ),
            p,
            "tableSize must be less than 5000011 for maglev",
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {useSourceIp: true, maglev: {tableSize: 4999999}}",
            ),
            p,
        );
    }

    /// validation.go validateLoadBalancer (`isPrime`, copied from Envoy): maglev tableSize must
    /// be prime.
    #[test]
    fn maglev_table_size_prime() {
        let p = "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {useSourceIp: true, maglev: {tableSize: 65536}}",
            ),
            p,
            "tableSize must be a prime number for maglev",
        );
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {useSourceIp: true, maglev: {tableSize: 9}}",
            ),
            p,
            "prime",
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {useSourceIp: true, maglev: {tableSize: 3}}",
            ),
            p,
        );
        assert!(super::is_prime(2) && super::is_prime(65537) && super::is_prime(4_999_999));
        assert!(!super::is_prime(0) && !super::is_prime(4) && !super::is_prime(25));
    }

    /// destination_rule.proto oneofs (`lb_policy`, `hash_key`, `hash_algorithm`): one member each.
    #[test]
    fn load_balancer_oneofs() {
        let p = "spec.trafficPolicy.loadBalancer";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer: {simple: RANDOM, consistentHash: {useSourceIp: true}}",
            ),
            p,
            "only one of simple or consistentHash can be set",
        );
        let d = dr(
            "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {httpHeaderName: x, useSourceIp: true, ringHash: {}, maglev: {tableSize: 3}}",
        );
        assert_error(
            &d,
            &format!("{p}.consistentHash"),
            "only one of httpHeaderName, httpCookie",
        );
        assert_error(
            &d,
            &format!("{p}.consistentHash"),
            "only one of ringHash or maglev can be set",
        );
        let good = dr(
            "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {httpHeaderName: x, ringHash: {}}",
        );
        assert_no_diagnostics(&good);
    }

    /// ValidateLocalityLbSetting: distribute and failover are exclusive.
    #[test]
    fn locality_distribute_or_failover() {
        let p = "spec.trafficPolicy.loadBalancer.localityLbSetting";
        let d = dr(
            "host: r\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 5}\n  loadBalancer:\n    localityLbSetting:\n      distribute: [{from: a/b/*, to: {\"a/b/*\": 100}}]\n      failover: [{from: a, to: b}]",
        );
        assert_error(
            &d,
            p,
            "can not simultaneously specify 'distribute' and 'failover'",
        );
    }

    /// ValidateLocalityLbSetting: failover cannot be combined with topology labels in
    /// failoverPriority.
    #[test]
    fn locality_failover_with_topology_priority() {
        let p = "spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority[1]";
        let d = dr(
            "host: r\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 5}\n  loadBalancer:\n    localityLbSetting:\n      failover: [{from: a, to: b}]\n      failoverPriority: [version, topology.kubernetes.io/zone]",
        );
        assert_error(
            &d,
            p,
            "can not simultaneously set 'failover' and topology label 'topology.kubernetes.io/zone'",
        );
        let good = dr(
            "host: r\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 5}\n  loadBalancer:\n    localityLbSetting:\n      failover: [{from: a, to: b}]\n      failoverPriority: [version, topology.istio.io/network]",
        );
        assert_no_diagnostics(&good);
    }

    /// ValidateLocalityLbSetting: each distribute weight in [1, 100].
    #[test]
    fn locality_weight_range() {
        let d = dr(
            "host: r\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      distribute: [{from: a/b/*, to: {\"a/b/*\": 0, \"a/c/*\": 100}}]",
        );
        assert_error(
            &d,
            "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to.a/b/*",
            "locality weight must be in range [1, 100]",
        );
    }

    /// ValidateLocalityLbSetting: distribute weights sum to 100.
    #[test]
    fn locality_weights_sum_to_100() {
        let p = "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      distribute: [{from: a/b/*, to: {\"a/b/*\": 60, \"a/c/*\": 30}}]",
            ),
            p,
            "total locality weight 90 != 100",
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      distribute: [{from: a/b/*, to: {\"a/b/*\": 70, \"a/c/*\": 30}}]",
            ),
            p,
        );
    }

    /// validateLocalities: at most one trailing `*`, no empty parts, no overlaps.
    #[test]
    fn locality_patterns() {
        let base =
            "host: r\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      distribute:";
        let to = "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to";
        let from = "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute";
        assert_error(
            &dr(&format!("{base} [{{from: a, to: {{\"a/*/b\": 100}}}}]")),
            to,
            "wildcard '*' number can not exceed 1 and must be in the end",
        );
        assert_error(
            &dr(&format!(
                "{base} [{{from: a, to: {{\"a/*\": 50, \"a/b\": 50}}}}]"
            )),
            to,
            "overlap with previous specified ones",
        );
        assert_error(
            &dr(&format!("{base} [{{from: \"a//c\", to: {{\"a\": 100}}}}]")),
            from,
            "must not contain empty region/zone/subzone info",
        );
        assert_error(
            &dr(&format!(
                "{base} [{{from: \"*\", to: {{\"a\": 100}}}}, {{from: b, to: {{\"b\": 100}}}}]"
            )),
            from,
            "overlap with previous specified ones",
        );
        let good = dr(&format!(
            "{base} [{{from: a/z1/*, to: {{\"a/z1/*\": 80, \"a/z2/*\": 20}}}}, {{from: a/z2/*, to: {{\"a/z2\": 100}}}}]"
        ));
        assert_no_diagnostics(&good);
    }

    /// ValidateLocalityLbSetting: failover without outlier detection only warns.
    #[test]
    fn locality_failover_needs_outlier_detection() {
        let p = "spec.trafficPolicy.loadBalancer.localityLbSetting";
        let d = dr(
            "host: r\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      failover: [{from: a, to: b}]",
        );
        assert_warning(
            &d,
            p,
            "outlier detection policy must be provided for failover",
        );
        assert!(!d.iter().any(Diagnostic::is_error));
        let good = dr(
            "host: r\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 5}\n  loadBalancer:\n    localityLbSetting:\n      failover: [{from: a, to: b}]",
        );
        assert_clean(&good, p);
    }

    /// ValidateLocalityLbSetting: failover names two different regions, without `/` or `*`.
    #[test]
    fn locality_failover_regions() {
        let p = "spec.trafficPolicy.loadBalancer.localityLbSetting.failover";
        let d = dr(
            "host: r\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 5}\n  loadBalancer:\n    localityLbSetting:\n      failover: [{from: a, to: a}, {from: a/z, to: b}, {from: \"*\", to: b}, {from: a, to: b}]",
        );
        assert_error(&d, &format!("{p}[0]"), "must specify different regions");
        assert_error(
            &d,
            &format!("{p}[1]"),
            "locality lb failover only specify region",
        );
        assert_error(&d, &format!("{p}[2]"), "should not contain '*' wildcard");
        assert_clean(&d, &format!("{p}[3]"));
    }

    /// validation.go validateLoadBalancer (istio/api#3733): localityLbSetting and
    /// zoneAwareLbSetting are exclusive.
    #[test]
    fn locality_and_zone_aware_exclusive() {
        let p = "spec.trafficPolicy.loadBalancer";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting: {enabled: true}\n    zoneAwareLbSetting: {enabled: true}",
            ),
            p,
            "only one of localityLbSetting and zoneAwareLbSetting can be set",
        );
        assert_no_diagnostics(&dr(
            "host: r\ntrafficPolicy:\n  loadBalancer:\n    zoneAwareLbSetting: {enabled: true, minClusterSize: 1}",
        ));
    }

    /// istio/api#3733: zone-aware failoverPriority cannot use region/zone/subzone topology
    /// labels, and failover follows the region rules.
    #[test]
    fn zone_aware_priority_and_failover() {
        let p = "spec.trafficPolicy.loadBalancer.zoneAwareLbSetting";
        let d = dr(
            "host: r\ntrafficPolicy:\n  loadBalancer:\n    zoneAwareLbSetting:\n      failover: [{from: a, to: a}]\n      failoverPriority: [topology.istio.io/subzone, version]",
        );
        assert_error(
            &d,
            &format!("{p}.failoverPriority[0]"),
            "topology label 'topology.istio.io/subzone' is not allowed",
        );
        assert_clean(&d, &format!("{p}.failoverPriority[1]"));
        assert_error(
            &d,
            &format!("{p}.failover[0]"),
            "must specify different regions",
        );
    }

    /// validation.go validateLoadBalancer: warmup needs a valid duration.
    #[test]
    fn warmup_duration_required() {
        let p = "spec.trafficPolicy.loadBalancer.warmup.duration";
        assert_error(
            &dr("host: r\ntrafficPolicy:\n  loadBalancer: {warmup: {aggression: 2}}"),
            p,
            "duration is required",
        );
        assert_error(
            &dr("host: r\ntrafficPolicy:\n  loadBalancer: {warmup: {duration: 0s}}"),
            p,
            "duration must be greater than 1ms",
        );
        assert_clean(
            &dr("host: r\ntrafficPolicy:\n  loadBalancer: {warmup: {duration: 1m}}"),
            p,
        );
    }

    /// validation.go validateLoadBalancer: warmup minimumPercent at most 100 (and, per the CRD,
    /// at least 0).
    #[test]
    fn warmup_minimum_percent_range() {
        let p = "spec.trafficPolicy.loadBalancer.warmup.minimumPercent";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer: {warmup: {duration: 1m, minimumPercent: 100.5}}",
            ),
            p,
            "minimumPercent value should be less than or equal to 100",
        );
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer: {warmup: {duration: 1m, minimumPercent: -1}}",
            ),
            p,
            "greater than or equal to 0",
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer: {warmup: {duration: 1m, minimumPercent: 0}}",
            ),
            p,
        );
    }

    /// validation.go validateLoadBalancer (istio/istio#60611): warmup aggression must be > 0;
    /// values below 1 are accepted since Envoy supports them.
    #[test]
    fn warmup_aggression_positive() {
        let p = "spec.trafficPolicy.loadBalancer.warmup.aggression";
        assert_error(
            &dr("host: r\ntrafficPolicy:\n  loadBalancer: {warmup: {duration: 1m, aggression: 0}}"),
            p,
            "aggression should be greater than 0",
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer: {warmup: {duration: 1m, aggression: 0.5}}",
            ),
            p,
        );
    }

    /// The CRD's `oneof(warmupDurationSecs, warmup)`.
    #[test]
    fn warmup_and_warmup_duration_secs_exclusive() {
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  loadBalancer: {warmupDurationSecs: 10s, warmup: {duration: 1m}}",
            ),
            "spec.trafficPolicy.loadBalancer",
            "only one of warmupDurationSecs or warmup can be set",
        );
    }

    /// agent.ValidateTLS: MUTUAL needs a client certificate and a private key (unless
    /// credentialName is used).
    #[test]
    fn mutual_tls_needs_certificate_and_key() {
        let p = "spec.trafficPolicy.tls";
        let d = dr("host: r\ntrafficPolicy:\n  tls: {mode: MUTUAL}");
        assert_error(
            &d,
            &format!("{p}.clientCertificate"),
            "client certificate required for mutual tls",
        );
        assert_error(
            &d,
            &format!("{p}.privateKey"),
            "private key required for mutual tls",
        );
        assert_no_diagnostics(&dr(
            "host: r\ntrafficPolicy:\n  tls: {mode: MUTUAL, credentialName: client-cert}",
        ));
        assert_no_diagnostics(&dr(
            "host: r\ntrafficPolicy:\n  tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem}",
        ));
    }

    /// agent.ValidateTLS: with credentialName, file paths cannot be given.
    #[test]
    fn credential_name_excludes_files() {
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: c, caCertificates: /ca.pem}",
            ),
            "spec.trafficPolicy.tls",
            "cannot specify client certificates or CA certificate or CA CRL If credentialName is set",
        );
    }

    /// agent.ValidateTLS: insecureSkipVerify excludes the CA and SANs.
    #[test]
    fn insecure_skip_verify_excludes_verification() {
        let p = "spec.trafficPolicy.tls";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  tls: {mode: SIMPLE, insecureSkipVerify: true, subjectAltNames: [a]}",
            ),
            p,
            "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true",
        );
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  tls: {mode: MUTUAL, insecureSkipVerify: true, caCertificates: /ca.pem, clientCertificate: /c, privateKey: /k}",
            ),
            p,
            "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true",
        );
        assert_clean(
            &dr("host: r\ntrafficPolicy:\n  tls: {mode: SIMPLE, insecureSkipVerify: true}"),
            p,
        );
    }

    /// agent.ValidateTLS: a `configmap://` credentialName must stay in the rule's namespace.
    #[test]
    fn configmap_credential_namespace() {
        let p = "spec.trafficPolicy.tls.credentialName";
        assert_error(
            &dr(
                "host: r\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: \"configmap://other/ca\"}",
            ),
            p,
            "namespace must match the configuration namespace \"default\"",
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: \"configmap://default/ca\"}",
            ),
            p,
        );
        assert_clean(
            &dr(
                "host: r\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: \"configmap://ca\"}",
            ),
            p,
        );
    }

    /// destination_rule.proto RetryBudget: percent within 0..100 (CRD bounds).
    #[test]
    fn retry_budget_percent_range() {
        let p = "spec.trafficPolicy.retryBudget.percent";
        assert_error(
            &dr("host: r\ntrafficPolicy:\n  retryBudget: {percent: 150}"),
            p,
            "not in range 0..100",
        );
        assert_clean(
            &dr("host: r\ntrafficPolicy:\n  retryBudget: {percent: 100}"),
            p,
        );
    }

    /// validation.go ValidateDestinationRule: the traffic policy of a subset, and its
    /// port-level settings, are validated too.
    #[test]
    fn subset_policies_are_validated() {
        let d = dr(
            "host: r\nsubsets:\n- name: v1\n  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 80}\n      connectionPool: {}",
        );
        assert_error(
            &d,
            "spec.subsets[0].trafficPolicy.portLevelSettings[0].connectionPool",
            "connection pool must have at least one field",
        );
    }

    /// validation.go validateExportTo: entries are `.`, `*` or namespace names, without
    /// duplicates (`.` counts as the rule's own namespace), and `~` is reserved for services.
    #[test]
    fn export_to_entries() {
        let d = dr("host: r\nexportTo: [default, \".\", \"~\", bad_ns, other, other]");
        assert_clean(&d, "spec.exportTo[0]");
        assert_error(
            &d,
            "spec.exportTo[1]",
            "duplicate entries in exportTo: . and current namespace default",
        );
        assert_error(
            &d,
            "spec.exportTo[5]",
            "duplicate entries in exportTo for entry other",
        );
        assert_error(&d, "spec.exportTo[2]", "exportTo ~ (none) is not allowed");
        assert_error(
            &d,
            "spec.exportTo[3]",
            "only .,*,~, or a valid DNS 1123 label",
        );
        assert_no_diagnostics(&dr("host: r\nexportTo: [\".\", other]"));
    }

    /// validation.go validateExportTo: `*` cannot be combined with other entries.
    #[test]
    fn export_to_public_alone() {
        assert_error(
            &dr("host: r\nexportTo: [\"*\", other]"),
            "spec.exportTo",
            "cannot have both public (*) and non-public exportTo values",
        );
        assert_no_diagnostics(&dr("host: r\nexportTo: [\"*\"]"));
    }

    /// validation.go validateExportTo: with a workload selector, the rule is exported only to
    /// its own namespace.
    #[test]
    fn export_to_with_workload_selector() {
        let selector = "host: r\nworkloadSelector: {matchLabels: {app: a}}\nexportTo:";
        assert_error(
            &dr(&format!("{selector} [other]")),
            "spec.exportTo",
            "cannot have exportTo beyond current namespace",
        );
        assert_error(
            &dr(&format!("{selector} [\".\", other]")),
            "spec.exportTo",
            "cannot have multiple entries in exportTo",
        );
        assert_no_diagnostics(&dr(&format!("{selector} [\".\"]")));
    }

    /// validation.go validateWorkloadSelector: no wildcards, and an empty selector warns.
    #[test]
    fn workload_selector_rules() {
        let d = dr("host: r\nworkloadSelector: {matchLabels: {app: \"a*\"}}");
        assert_error(
            &d,
            "spec.workloadSelector.matchLabels.app",
            "wildcard is not supported in selector",
        );
        let empty = dr("host: r\nworkloadSelector: {}");
        assert_warning(
            &empty,
            "spec.workloadSelector",
            "workload selector specified without labels",
        );
        assert_no_diagnostics(&dr("host: r\nworkloadSelector: {matchLabels: {app: a}}"));
    }
}
