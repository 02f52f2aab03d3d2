//! DestinationRule validation, rule by rule, against Istio's `ValidateDestinationRule` (`pkg/config/validation` in
//! istio/istio).

use crate::common::*;
use meshroute::Diagnostic;

/// Loads a DestinationRule `default/x` whose spec is `spec` (YAML, unindented).
fn dr(spec: &str) -> Vec<Diagnostic> {
    diagnostics(&resource("DestinationRule", "x", "", spec))
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
    let d = dr("host: r\ntrafficPolicy:\n  portLevelSettings:\n  - loadBalancer: {simple: RANDOM}");
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
    let d =
        dr("host: r\ntrafficPolicy:\n  outlierDetection: {interval: 0s, baseEjectionTime: 1.5ms}");
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

/// Envoy's cluster.proto: `RingHashLbConfig.minimum_ring_size` is `lte: 8388608`. Istio lets
/// a larger `minimumRingSize` through, Envoy rejects the cluster: a warning at the field.
#[test]
fn ring_size_above_envoys_limit_warns() {
    let p = "spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize";
    let d = dr(
        "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {httpHeaderName: x, ringHash: {minimumRingSize: 8388609}}",
    );
    assert_warning(&d, p, "above Envoy's limit of 8388608");
    assert!(!d.iter().any(|d| d.rejects()), "{d:?}");
    let at_limit = dr(
        "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {httpHeaderName: x, ringHash: {minimumRingSize: 8388608}}",
    );
    assert!(at_limit.is_empty(), "{at_limit:?}");
    let deprecated = dr(
        "host: r\ntrafficPolicy:\n  loadBalancer:\n    consistentHash: {httpHeaderName: x, minimumRingSize: 9000000}",
    );
    assert_warning(
        &deprecated,
        "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize",
        "above Envoy's limit",
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
        &dr("host: r\ntrafficPolicy:\n  loadBalancer: {warmup: {duration: 1m, minimumPercent: 0}}"),
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
        &dr("host: r\ntrafficPolicy:\n  loadBalancer: {warmup: {duration: 1m, aggression: 0.5}}"),
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
        &dr("host: r\ntrafficPolicy:\n  tls: {mode: SIMPLE, credentialName: \"configmap://ca\"}"),
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
