//! `DestinationRule` (istio/api `networking/v1alpha3/destination_rule.proto`): what happens to
//! traffic for a host *after* routing chose it: load balancing, connection pool limits, outlier
//! detection, client TLS, tunnelling, PROXY protocol and retry budgets, for the whole host, per
//! port and per named subset.
//!
//! Every field of the API is modelled, including those added after Istio 1.30 (`retryBudget`,
//! `zoneAwareLbSetting`, `http2KeepAlive`, `outlierDetectionHttpErrorCodes`, cookie
//! `attributes`), so that a valid file is never rejected or warned about.
//!
//! Proto `oneof`s (`simple` / `consistentHash`, the consistent-hash key, the hash algorithm) are
//! kept as separate optional fields: a file that sets two members still loads, and validation
//! names the conflict precisely.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::{Duration, proto_enum};
use super::virtual_service::PortSelector;

/// The `spec` of a `DestinationRule`: policies applied to traffic for `host`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRule {
    /// The service the rule applies to (short names resolve in the rule's namespace).
    #[serde(default)]
    pub host: String,
    /// Policies for the whole host (all ports, all subsets).
    #[serde(default)]
    pub traffic_policy: Option<TrafficPolicy>,
    /// Named sets of endpoints (usually versions); routes target them by name.
    #[serde(default)]
    pub subsets: Vec<Subset>,
    /// Namespaces the rule is visible to; empty means all.
    #[serde(default)]
    pub export_to: Vec<String>,
    /// Apply the rule only to these workloads (in the rule's namespace).
    #[serde(default)]
    pub workload_selector: Option<WorkloadSelector>,
}

/// `istio.type.v1beta1.WorkloadSelector`: pods or VMs selected by label (`matchLabels`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSelector {
    /// Labels a workload must carry (all of them) to be selected.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
}

/// `TrafficPolicy`: the policies for a destination (host, subset).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicy {
    /// Load balancing algorithm and locality settings.
    #[serde(default)]
    pub load_balancer: Option<LoadBalancerSettings>,
    /// Connection and request limits (circuit breaking).
    #[serde(default)]
    pub connection_pool: Option<ConnectionPoolSettings>,
    /// Ejection of misbehaving endpoints.
    #[serde(default)]
    pub outlier_detection: Option<OutlierDetection>,
    /// TLS towards the upstream.
    #[serde(default)]
    pub tls: Option<ClientTlsSettings>,
    /// Per-port overrides; an entry replaces the four components above as a whole.
    #[serde(default)]
    pub port_level_settings: Vec<PortTrafficPolicy>,
    /// Tunnel TCP over HTTP CONNECT or POST (TCP and TLS routes only).
    #[serde(default)]
    pub tunnel: Option<TunnelSettings>,
    /// Send a PROXY protocol header upstream.
    #[serde(default)]
    pub proxy_protocol: Option<ProxyProtocol>,
    /// Limit concurrent retries relative to active requests.
    #[serde(default)]
    pub retry_budget: Option<RetryBudget>,
}

/// `TrafficPolicy.PortTrafficPolicy`: policies for one port of the destination.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortTrafficPolicy {
    /// The destination port the policy applies to.
    #[serde(default)]
    pub port: Option<PortSelector>,
    /// Load balancing for this port.
    #[serde(default)]
    pub load_balancer: Option<LoadBalancerSettings>,
    /// Connection pool for this port.
    #[serde(default)]
    pub connection_pool: Option<ConnectionPoolSettings>,
    /// Outlier detection for this port.
    #[serde(default)]
    pub outlier_detection: Option<OutlierDetection>,
    /// TLS for this port.
    #[serde(default)]
    pub tls: Option<ClientTlsSettings>,
}

/// `TrafficPolicy.TunnelSettings`: tunnel the downstream connection to `targetHost:targetPort`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TunnelSettings {
    /// `CONNECT` (default) or `POST`.
    #[serde(default)]
    pub protocol: String,
    /// FQDN or IP the connection is tunnelled to.
    #[serde(default)]
    pub target_host: String,
    /// Port the connection is tunnelled to.
    #[serde(default)]
    pub target_port: u32,
}

/// `TrafficPolicy.ProxyProtocol`: the upstream PROXY protocol settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyProtocol {
    /// The PROXY protocol version (default `V1`).
    #[serde(default)]
    pub version: ProxyProtocolVersion,
}

proto_enum! {
    /// `TrafficPolicy.ProxyProtocol.VERSION`.
    pub enum ProxyProtocolVersion {
        /// PROXY protocol version 1 (human readable).
        #[default]
        V1 = (0, "V1"),
        /// PROXY protocol version 2 (binary).
        V2 = (1, "V2"),
    }
}

/// `TrafficPolicy.RetryBudget`: caps concurrent retries as a share of active requests.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryBudget {
    /// Concurrent retries as a percentage of active plus pending requests (default 20).
    #[serde(default)]
    pub percent: Option<f64>,
    /// Concurrent retries always allowed, whatever the percentage (0 or unset means 3).
    #[serde(default)]
    pub min_retry_concurrency: Option<u32>,
    /// Window over which requests count towards the budget (unset: only active requests).
    #[serde(default)]
    pub budget_interval: Option<Duration>,
}

/// `Subset`: a named set of the host's endpoints, selected by label, with its own policy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subset {
    /// The name routes use (`destination.subset`).
    #[serde(default)]
    pub name: String,
    /// Endpoints whose labels include all of these belong to the subset.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Overrides of the host's policy, component by component; applies only when a route
    /// names this subset.
    #[serde(default)]
    pub traffic_policy: Option<TrafficPolicy>,
}

/// `LoadBalancerSettings`: the load balancing algorithm and locality behaviour.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerSettings {
    /// A standard algorithm (oneof with `consistentHash`).
    #[serde(default)]
    pub simple: Option<SimpleLb>,
    /// Consistent hashing for soft session affinity (oneof with `simple`).
    #[serde(default)]
    pub consistent_hash: Option<ConsistentHashLb>,
    /// Locality-weighted distribution and failover; replaces the mesh-wide setting entirely.
    #[serde(default)]
    pub locality_lb_setting: Option<LocalityLoadBalancerSetting>,
    /// Deprecated slow-start window; use `warmup`.
    #[serde(default)]
    pub warmup_duration_secs: Option<Duration>,
    /// Slow start for new endpoints (ROUND_ROBIN and LEAST_REQUEST only).
    #[serde(default)]
    pub warmup: Option<WarmupConfiguration>,
    /// Envoy zone-aware routing; mutually exclusive with `localityLbSetting`.
    #[serde(default)]
    pub zone_aware_lb_setting: Option<ZoneAwareLoadBalancerSetting>,
}

proto_enum! {
    /// `LoadBalancerSettings.SimpleLB`.
    pub enum SimpleLb {
        /// Not set: Istio uses LEAST_REQUEST (since 1.14).
        #[default]
        Unspecified = (0, "UNSPECIFIED"),
        /// Deprecated alias of LEAST_REQUEST.
        LeastConn = (1, "LEAST_CONN"),
        /// A random healthy endpoint.
        Random = (2, "RANDOM"),
        /// No load balancing: connect to the address the caller asked for.
        Passthrough = (3, "PASSTHROUGH"),
        /// Round robin over healthy endpoints.
        RoundRobin = (4, "ROUND_ROBIN"),
        /// The endpoint with fewer outstanding requests among two random ones.
        LeastRequest = (5, "LEAST_REQUEST"),
    }
}

/// `LoadBalancerSettings.ConsistentHashLB`: the hash key (one of four) and the algorithm.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsistentHashLb {
    /// Hash on this request header.
    #[serde(default)]
    pub http_header_name: Option<String>,
    /// Hash on this cookie (generated when `ttl` is set and the cookie is absent).
    #[serde(default)]
    pub http_cookie: Option<HttpCookie>,
    /// Hash on the source IP address.
    #[serde(default)]
    pub use_source_ip: Option<bool>,
    /// Hash on this query parameter.
    #[serde(default)]
    pub http_query_parameter_name: Option<String>,
    /// Ring hash (the default algorithm).
    #[serde(default)]
    pub ring_hash: Option<RingHash>,
    /// Maglev.
    #[serde(default)]
    pub maglev: Option<MagLev>,
    /// Deprecated ring size; use `ringHash.minimumRingSize`.
    #[serde(default)]
    pub minimum_ring_size: Option<u64>,
}

/// `ConsistentHashLB.RingHash`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RingHash {
    /// Minimum number of virtual nodes on the ring (0 or unset means 1024).
    #[serde(default)]
    pub minimum_ring_size: Option<u64>,
}

/// `ConsistentHashLB.MagLev`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MagLev {
    /// Lookup table size: a prime below 5000011 (Envoy default 65537).
    #[serde(default)]
    pub table_size: Option<u64>,
}

/// `ConsistentHashLB.HTTPCookie`: the cookie whose value is hashed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpCookie {
    /// Cookie name (required).
    #[serde(default)]
    pub name: String,
    /// Path set on a generated cookie.
    #[serde(default)]
    pub path: String,
    /// Lifetime of a generated cookie; when set, Envoy generates the cookie if it is absent
    /// (`0s` gives a session cookie).
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// Extra attributes of a generated cookie (`SameSite`, `Secure`, ...).
    #[serde(default)]
    pub attributes: Vec<CookieAttribute>,
}

/// `ConsistentHashLB.HTTPCookie.Attribute`: one attribute of a generated cookie.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CookieAttribute {
    /// Attribute name (required).
    #[serde(default)]
    pub name: String,
    /// Attribute value, if any.
    #[serde(default)]
    pub value: String,
}

/// `LocalityLoadBalancerSetting`: locality-weighted distribution or failover.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalityLoadBalancerSetting {
    /// Traffic split per source locality (exclusive with `failover`).
    #[serde(default)]
    pub distribute: Vec<LocalityDistribute>,
    /// Region to fail over to when the local region is unhealthy (exclusive with `distribute`).
    #[serde(default)]
    pub failover: Vec<LocalityFailover>,
    /// Ordered labels giving endpoint priority tiers.
    #[serde(default)]
    pub failover_priority: Vec<String>,
    /// Turn locality load balancing on or off for this rule, whatever the mesh default.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `LocalityLoadBalancerSetting.Distribute`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalityDistribute {
    /// Originating locality, `region/zone/sub_zone` (a trailing `*` is allowed).
    #[serde(default)]
    pub from: String,
    /// Upstream locality to weight; weights must sum to 100.
    #[serde(default)]
    pub to: BTreeMap<String, u32>,
}

/// `LocalityLoadBalancerSetting.Failover`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalityFailover {
    /// Originating region.
    #[serde(default)]
    pub from: String,
    /// Region to fail over to.
    #[serde(default)]
    pub to: String,
}

/// `ZoneAwareLoadBalancerSetting`: Envoy's zone-aware routing within the local region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneAwareLoadBalancerSetting {
    /// Turn zone-aware load balancing on or off.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Ordering of the cross-region failover tiers.
    #[serde(default)]
    pub failover: Vec<LocalityFailover>,
    /// Label-based priority tiers (no region, zone or subzone topology labels).
    #[serde(default)]
    pub failover_priority: Vec<String>,
    /// Minimum hosts in the local region for zone-aware routing to engage (default 6).
    #[serde(default)]
    pub min_cluster_size: Option<u32>,
}

/// `WarmupConfiguration`: Envoy slow start for newly added endpoints.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmupConfiguration {
    /// The warm-up window (required).
    #[serde(default)]
    pub duration: Option<Duration>,
    /// Starting share of the endpoint's weight, in percent (default 10).
    #[serde(default)]
    pub minimum_percent: Option<f64>,
    /// Ramp-up curve; 1.0 (the default) is linear.
    #[serde(default)]
    pub aggression: Option<f64>,
}

/// `ConnectionPoolSettings`: per-host connection and request limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionPoolSettings {
    /// Settings common to TCP and HTTP.
    #[serde(default)]
    pub tcp: Option<TcpSettings>,
    /// HTTP/1.1, HTTP/2 and gRPC settings.
    #[serde(default)]
    pub http: Option<HttpSettings>,
}

/// `ConnectionPoolSettings.TCPSettings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpSettings {
    /// Maximum connections to a host (0 or unset means 2^32-1).
    #[serde(default)]
    pub max_connections: Option<i32>,
    /// TCP connect timeout (default: the mesh `connectTimeout`, 10s).
    #[serde(default)]
    pub connect_timeout: Option<Duration>,
    /// Enable SO_KEEPALIVE with these settings.
    #[serde(default)]
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// Maximum lifetime of a connection (no default).
    #[serde(default)]
    pub max_connection_duration: Option<Duration>,
    /// Idle timeout of TCP connections (default 1h; `0s` disables it).
    #[serde(default)]
    pub idle_timeout: Option<Duration>,
}

/// `ConnectionPoolSettings.TCPSettings.TcpKeepalive`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpKeepalive {
    /// Unanswered probes before the connection is dead (default: the OS setting).
    #[serde(default)]
    pub probes: Option<u32>,
    /// Idle time before probes start (default: the OS setting).
    #[serde(default)]
    pub time: Option<Duration>,
    /// Time between probes (default: the OS setting).
    #[serde(default)]
    pub interval: Option<Duration>,
}

/// `ConnectionPoolSettings.HTTPSettings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpSettings {
    /// Requests queued while waiting for a connection (0 or unset means 2^32-1).
    #[serde(default)]
    pub http1_max_pending_requests: Option<i32>,
    /// Active requests to the destination (0 or unset means 2^32-1).
    #[serde(default)]
    pub http2_max_requests: Option<i32>,
    /// Requests per connection (0 or unset: unlimited; 1 disables keep-alive).
    #[serde(default)]
    pub max_requests_per_connection: Option<i32>,
    /// Outstanding retries to all hosts (0 or unset means 2^32-1).
    #[serde(default)]
    pub max_retries: Option<i32>,
    /// Idle timeout of pooled connections (default 1h).
    #[serde(default)]
    pub idle_timeout: Option<Duration>,
    /// Whether to upgrade HTTP/1.1 connections to HTTP/2.
    #[serde(default)]
    pub h2_upgrade_policy: H2UpgradePolicy,
    /// Keep the client's protocol towards the upstream.
    #[serde(default)]
    pub use_client_protocol: bool,
    /// Concurrent streams per HTTP/2 connection (0 or unset means 2^31-1).
    #[serde(default)]
    pub max_concurrent_streams: Option<i32>,
    /// HTTP/2 PING keep-alive.
    #[serde(default)]
    pub http2_keep_alive: Option<ConnectionKeepalive>,
}

proto_enum! {
    /// `ConnectionPoolSettings.HTTPSettings.H2UpgradePolicy`.
    pub enum H2UpgradePolicy {
        /// Use the mesh-wide default.
        #[default]
        Default = (0, "DEFAULT"),
        /// Do not upgrade to HTTP/2.
        DoNotUpgrade = (1, "DO_NOT_UPGRADE"),
        /// Upgrade to HTTP/2.
        Upgrade = (2, "UPGRADE"),
    }
}

/// `ConnectionPoolSettings.HTTPSettings.ConnectionKeepalive`: HTTP/2 PING settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionKeepalive {
    /// Time between PINGs (required).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// Time to wait for a PING response before closing the connection (required).
    #[serde(default)]
    pub timeout: Option<Duration>,
}

/// `OutlierDetection`: eject endpoints that keep failing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutlierDetection {
    /// Deprecated: use `consecutiveGatewayErrors` or `consecutive5xxErrors`.
    #[serde(default)]
    pub consecutive_errors: Option<i32>,
    /// Count locally originated failures separately from upstream responses.
    #[serde(default)]
    pub split_external_local_origin_errors: bool,
    /// Local-origin failures before ejection (default 5; needs the split above).
    #[serde(default)]
    pub consecutive_local_origin_failures: Option<u32>,
    /// 502/503/504 responses before ejection (0 or unset disables).
    #[serde(default)]
    pub consecutive_gateway_errors: Option<u32>,
    /// 5xx responses before ejection (default 5; explicit 0 disables).
    #[serde(default)]
    pub consecutive_5xx_errors: Option<u32>,
    /// Time between ejection sweeps (default 10s).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// Minimum ejection time, multiplied by the number of ejections (default 30s).
    #[serde(default)]
    pub base_ejection_time: Option<Duration>,
    /// Maximum share of endpoints ejected, in percent (default 10).
    #[serde(default)]
    pub max_ejection_percent: Option<i32>,
    /// Healthy share below which outlier detection stops, in percent (default 0).
    #[serde(default)]
    pub min_health_percent: Option<i32>,
    /// HTTP statuses counted as errors (each in 100..=599); unset means 5xx.
    #[serde(default)]
    pub outlier_detection_http_error_codes: Vec<u32>,
}

/// `ClientTLSSettings`: TLS the proxy originates towards the upstream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTlsSettings {
    /// Whether and how to originate TLS.
    #[serde(default)]
    pub mode: ClientTlsMode,
    /// Client certificate file (required for MUTUAL without `credentialName`).
    #[serde(default)]
    pub client_certificate: String,
    /// Client private key file (required for MUTUAL without `credentialName`).
    #[serde(default)]
    pub private_key: String,
    /// CA bundle used to verify the server.
    #[serde(default)]
    pub ca_certificates: String,
    /// Secret holding the client certificate, key and CA.
    #[serde(default)]
    pub credential_name: String,
    /// Names accepted in the server certificate's SAN.
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
    /// SNI to present.
    #[serde(default)]
    pub sni: String,
    /// Skip verification of the server certificate.
    #[serde(default)]
    pub insecure_skip_verify: Option<bool>,
    /// Certificate revocation list file.
    #[serde(default)]
    pub ca_crl: String,
}

proto_enum! {
    /// `ClientTLSSettings.TLSmode`.
    pub enum ClientTlsMode {
        /// Plain text to the upstream.
        #[default]
        Disable = (0, "DISABLE"),
        /// Originate TLS.
        Simple = (1, "SIMPLE"),
        /// Mutual TLS with the given client certificate.
        Mutual = (2, "MUTUAL"),
        /// Mutual TLS with Istio's workload certificates.
        IstioMutual = (3, "ISTIO_MUTUAL"),
    }
}
