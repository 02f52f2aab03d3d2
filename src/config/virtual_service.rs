//! `VirtualService` (istio/api `networking/v1alpha3/virtual_service.proto`).
//!
//! Every field of the HTTP API is modelled, including those meshroute only reports (CORS, rate
//! limits) and the TLS and TCP route lists, so that a valid file is never rejected.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::{Base64Bytes, Duration, Percent, StringMatch, proto_enum};

/// The `spec` of a `VirtualService`: routing rules for a set of hosts.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualService {
    /// The destination hosts these rules apply to (DNS names, wildcards, IPs, short names).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Gateways and sidecars that apply the rules; empty means `["mesh"]`.
    #[serde(default)]
    pub gateways: Vec<String>,
    /// Ordered HTTP routes: the first that matches is used.
    #[serde(default)]
    pub http: Vec<HttpRoute>,
    /// Ordered routes for unterminated TLS (reported, not routed by meshroute).
    #[serde(default)]
    pub tls: Vec<TlsRoute>,
    /// Ordered routes for opaque TCP (reported, not routed by meshroute).
    #[serde(default)]
    pub tcp: Vec<TcpRoute>,
    /// Namespaces the VirtualService is visible to; empty means all.
    #[serde(default)]
    pub export_to: Vec<String>,
}

/// `HTTPRoute`: match conditions and what to do with a matching request.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    /// Name for debugging and access logs.
    #[serde(default)]
    pub name: String,
    /// Match conditions, ORed; empty matches everything.
    #[serde(default, rename = "match")]
    pub matches: Vec<Option<HttpMatchRequest>>,
    /// Weighted destinations.
    #[serde(default)]
    pub route: Vec<HttpRouteDestination>,
    /// Answer with a redirect instead of forwarding.
    #[serde(default)]
    pub redirect: Option<HttpRedirect>,
    /// Answer with a fixed response instead of forwarding.
    #[serde(default)]
    pub direct_response: Option<HttpDirectResponse>,
    /// Merge the routes of another VirtualService here.
    #[serde(default)]
    pub delegate: Option<Delegate>,
    /// Rewrite the URI and/or authority before forwarding.
    #[serde(default)]
    pub rewrite: Option<HttpRewrite>,
    /// Request timeout; absent means none (Istio disables Envoy's 15s default).
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Retry policy.
    #[serde(default)]
    pub retries: Option<HttpRetry>,
    /// Fault injection.
    #[serde(default)]
    pub fault: Option<HttpFaultInjection>,
    /// Mirror traffic to another destination.
    #[serde(default)]
    pub mirror: Option<Destination>,
    /// Mirror traffic to several destinations (exclusive with `mirror`).
    #[serde(default)]
    pub mirrors: Vec<Option<HttpMirrorPolicy>>,
    /// Deprecated integer form of `mirrorPercentage`.
    #[serde(default)]
    pub mirror_percent: Option<u32>,
    /// Share of traffic mirrored by `mirror`; absent means 100%.
    #[serde(default)]
    pub mirror_percentage: Option<Percent>,
    /// CORS policy.
    #[serde(default)]
    pub cors_policy: Option<CorsPolicy>,
    /// Header manipulation for all destinations of the route.
    #[serde(default)]
    pub headers: Option<Headers>,
    /// Local rate limiting (newer Istio; reported only).
    #[serde(default)]
    pub rate_limit: Option<serde_json::Value>,
}

/// `HTTPMatchRequest`: conditions that are ANDed together.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpMatchRequest {
    /// Name appended to the route's name.
    #[serde(default)]
    pub name: String,
    /// The path (without the query string).
    #[serde(default)]
    pub uri: Option<StringMatch>,
    /// The `:scheme` pseudo-header.
    #[serde(default)]
    pub scheme: Option<StringMatch>,
    /// The `:method` pseudo-header.
    #[serde(default)]
    pub method: Option<StringMatch>,
    /// The `:authority` (Host) as sent, port included.
    #[serde(default)]
    pub authority: Option<StringMatch>,
    /// Header name (case-insensitive) to match; `{}` means present.
    #[serde(default)]
    pub headers: BTreeMap<String, Option<StringMatch>>,
    /// The service port being addressed (checked when config is built).
    #[serde(default)]
    pub port: Option<u32>,
    /// Labels the calling workload must have.
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
    /// Gateways this match applies on (overrides the top-level list).
    #[serde(default)]
    pub gateways: Vec<String>,
    /// Query parameters (raw, first value) to match.
    #[serde(default)]
    pub query_params: BTreeMap<String, Option<StringMatch>>,
    /// Case-insensitive `uri` for exact and prefix (not regex).
    #[serde(default)]
    pub ignore_uri_case: bool,
    /// Headers that must not match.
    #[serde(default)]
    pub without_headers: BTreeMap<String, Option<StringMatch>>,
    /// The calling workload's namespace.
    #[serde(default)]
    pub source_namespace: String,
    /// Envoy route `stat_prefix`.
    #[serde(default)]
    pub stat_prefix: String,
}

/// `HTTPRouteDestination`: a destination with its relative weight.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteDestination {
    /// Where to send the request.
    #[serde(default)]
    pub destination: Option<Destination>,
    /// Relative weight; ignored when there is a single destination.
    #[serde(default)]
    pub weight: Option<i32>,
    /// Header manipulation for this destination.
    #[serde(default)]
    pub headers: Option<Headers>,
}

/// `Destination`: a service host, optionally a subset and a port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// Registry host (short names resolve in the VirtualService's namespace).
    #[serde(default)]
    pub host: String,
    /// A subset defined in a DestinationRule for the host.
    #[serde(default)]
    pub subset: String,
    /// The port on the host.
    #[serde(default)]
    pub port: Option<PortSelector>,
}

/// `PortSelector`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortSelector {
    /// The port number.
    #[serde(default)]
    pub number: u32,
}

/// `Headers`: request and response header operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Headers {
    /// Applied before forwarding the request.
    #[serde(default)]
    pub request: Option<HeaderOperations>,
    /// Applied before returning the response.
    #[serde(default)]
    pub response: Option<HeaderOperations>,
}

/// `Headers.HeaderOperations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderOperations {
    /// Overwrite (or add) these headers.
    #[serde(default, deserialize_with = "scalar_map")]
    pub set: BTreeMap<String, String>,
    /// Append these values.
    #[serde(default, deserialize_with = "scalar_map")]
    pub add: BTreeMap<String, String>,
    /// Remove these headers.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// Istio's own examples write `set: {test: true}`: a YAML boolean where the API has a string.
/// Accept scalars of any type and keep their text.
fn scalar_map<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, serde_json::Value>::deserialize(deserializer)?;
    raw.into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(text) => Ok((key, text)),
            serde_json::Value::Bool(b) => Ok((key, b.to_string())),
            serde_json::Value::Number(n) => Ok((key, n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "header {key:?}: expected a string value, found {other}"
            ))),
        })
        .collect()
}

/// `HTTPRedirect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRedirect {
    /// Replace the whole path.
    #[serde(default)]
    pub uri: String,
    /// Replace the matched prefix of the path (exclusive with `uri`).
    #[serde(default)]
    pub prefix_rewrite: String,
    /// Replace the authority.
    #[serde(default)]
    pub authority: String,
    /// Set the port.
    #[serde(default)]
    pub port: Option<u32>,
    /// Derive the port from the request or the protocol.
    #[serde(default)]
    pub derive_port: Option<RedirectPortSelection>,
    /// Set the scheme (`http` or `https`).
    #[serde(default)]
    pub scheme: String,
    /// Status code; default 301.
    #[serde(default)]
    pub redirect_code: Option<u32>,
}

proto_enum! {
    /// `HTTPRedirect.RedirectPortSelection`.
    pub enum RedirectPortSelection {
        /// Use the scheme's default port (no port written).
        #[default]
        FromProtocolDefault = (0, "FROM_PROTOCOL_DEFAULT"),
        /// Use the port the request arrived on.
        FromRequestPort = (1, "FROM_REQUEST_PORT"),
    }
}

/// `HTTPDirectResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpDirectResponse {
    /// Status code.
    #[serde(default)]
    pub status: u32,
    /// Optional body.
    #[serde(default)]
    pub body: Option<HttpBody>,
}

/// `HTTPBody`: a string or base64 bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpBody {
    /// Text body.
    #[serde(default)]
    pub string: Option<String>,
    /// Binary body, base64 encoded.
    #[serde(default)]
    pub bytes: Option<Base64Bytes>,
}

/// `Delegate`: another VirtualService whose routes are merged in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delegate {
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its namespace (default: the root's).
    #[serde(default)]
    pub namespace: String,
}

/// `HTTPRewrite`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRewrite {
    /// Replace the matched prefix (or the whole path).
    #[serde(default)]
    pub uri: String,
    /// Replace the authority.
    #[serde(default)]
    pub authority: String,
    /// Regex rewrite of the path.
    #[serde(default)]
    pub uri_regex_rewrite: Option<RegexRewrite>,
}

/// `RegexRewrite`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegexRewrite {
    /// RE2 pattern.
    #[serde(default, rename = "match")]
    pub pattern: String,
    /// Replacement, `\1` for capture groups.
    #[serde(default)]
    pub rewrite: String,
}

/// `HTTPRetry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRetry {
    /// Number of retries; 0 disables retries.
    #[serde(default)]
    pub attempts: i32,
    /// Timeout per attempt.
    #[serde(default)]
    pub per_try_timeout: Option<Duration>,
    /// Comma-separated Envoy retry conditions.
    #[serde(default)]
    pub retry_on: String,
    /// Retry in other localities.
    #[serde(default)]
    pub retry_remote_localities: Option<bool>,
    /// Avoid previously tried hosts (default true).
    #[serde(default)]
    pub retry_ignore_previous_hosts: Option<bool>,
    /// Base back-off interval (Envoy default 25ms).
    #[serde(default)]
    pub backoff: Option<Duration>,
}

/// `CorsPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CorsPolicy {
    /// Deprecated list of allowed origins.
    #[serde(default)]
    pub allow_origin: Vec<String>,
    /// Allowed origins.
    #[serde(default)]
    pub allow_origins: Vec<Option<StringMatch>>,
    /// Allowed methods.
    #[serde(default)]
    pub allow_methods: Vec<String>,
    /// Allowed request headers.
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// Headers browsers may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// Preflight cache duration.
    #[serde(default)]
    pub max_age: Option<Duration>,
    /// Whether credentials are allowed.
    #[serde(default)]
    pub allow_credentials: Option<bool>,
    /// What to do with preflights that match no origin.
    #[serde(default)]
    pub unmatched_preflights: Option<UnmatchedPreflights>,
}

proto_enum! {
    /// `CorsPolicy.UnmatchedPreflights`.
    pub enum UnmatchedPreflights {
        /// Default: forward.
        #[default]
        Unspecified = (0, "UNSPECIFIED"),
        /// Forward to the upstream.
        Forward = (1, "FORWARD"),
        /// Answer without CORS headers.
        Ignore = (2, "IGNORE"),
    }
}

/// `HTTPFaultInjection`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpFaultInjection {
    /// Delay injection.
    #[serde(default)]
    pub delay: Option<FaultDelay>,
    /// Abort injection.
    #[serde(default)]
    pub abort: Option<FaultAbort>,
}

/// `HTTPFaultInjection.Delay`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultDelay {
    /// Deprecated integer percentage; used when `percentage` is absent (default 0).
    #[serde(default)]
    pub percent: Option<i32>,
    /// Fixed delay.
    #[serde(default)]
    pub fixed_delay: Option<Duration>,
    /// Exponential delay (not supported by Istio).
    #[serde(default)]
    pub exponential_delay: Option<Duration>,
    /// Share of requests delayed; absent means 0% unless `percent` is set.
    #[serde(default)]
    pub percentage: Option<Percent>,
}

/// `HTTPFaultInjection.Abort`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultAbort {
    /// HTTP status to answer with.
    #[serde(default)]
    pub http_status: Option<i32>,
    /// gRPC status name (`UNAVAILABLE`).
    #[serde(default)]
    pub grpc_status: Option<String>,
    /// HTTP/2 error (not supported by Istio).
    #[serde(default)]
    pub http2_error: Option<String>,
    /// Share of requests aborted; absent means none.
    #[serde(default)]
    pub percentage: Option<Percent>,
}

/// `HTTPMirrorPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpMirrorPolicy {
    /// Where to mirror.
    #[serde(default)]
    pub destination: Option<Destination>,
    /// Share mirrored; absent means 100%.
    #[serde(default)]
    pub percentage: Option<Percent>,
}

/// `TLSRoute`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsRoute {
    /// Match conditions.
    #[serde(default, rename = "match")]
    pub matches: Vec<TlsMatchAttributes>,
    /// Destinations.
    #[serde(default)]
    pub route: Vec<RouteDestination>,
}

/// `TLSMatchAttributes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsMatchAttributes {
    /// SNI values.
    #[serde(default)]
    pub sni_hosts: Vec<String>,
    /// Destination subnets.
    #[serde(default)]
    pub destination_subnets: Vec<String>,
    /// Port.
    #[serde(default)]
    pub port: Option<u32>,
    /// Caller labels.
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
    /// Gateways.
    #[serde(default)]
    pub gateways: Vec<String>,
    /// Caller namespace.
    #[serde(default)]
    pub source_namespace: String,
}

/// `TCPRoute`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpRoute {
    /// Match conditions.
    #[serde(default, rename = "match")]
    pub matches: Vec<L4MatchAttributes>,
    /// Destinations.
    #[serde(default)]
    pub route: Vec<RouteDestination>,
}

/// `L4MatchAttributes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct L4MatchAttributes {
    /// Destination subnets.
    #[serde(default)]
    pub destination_subnets: Vec<String>,
    /// Port.
    #[serde(default)]
    pub port: Option<u32>,
    /// Source subnet.
    #[serde(default)]
    pub source_subnet: String,
    /// Caller labels.
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
    /// Gateways.
    #[serde(default)]
    pub gateways: Vec<String>,
    /// Caller namespace.
    #[serde(default)]
    pub source_namespace: String,
}

/// `RouteDestination` (L4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteDestination {
    /// Where to send the connection.
    #[serde(default)]
    pub destination: Option<Destination>,
    /// Relative weight.
    #[serde(default)]
    pub weight: Option<i32>,
}
