//! `Sidecar` (istio/api `networking/v1alpha3/sidecar.proto`): what the sidecars of a namespace or
//! of selected workloads see of the mesh, and where unknown hosts go.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::destination_rule::ConnectionPoolSettings;
use super::gateway::ServerTlsSettings;
use super::meta::proto_enum;
use super::virtual_service::Destination;

/// The `spec` of a `Sidecar`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    /// The workloads this Sidecar applies to; none: every workload of its namespace (and, in the
    /// root namespace, the mesh-wide default).
    #[serde(default)]
    pub workload_selector: Option<SidecarWorkloadSelector>,
    /// Inbound listeners (not used by routing decisions).
    #[serde(default)]
    pub ingress: Vec<IstioIngressListener>,
    /// Outbound listeners: the hosts the workload can reach, per port or for all ports.
    #[serde(default)]
    pub egress: Vec<IstioEgressListener>,
    /// Inbound connection limits (not used by routing decisions).
    #[serde(default)]
    pub inbound_connection_pool: Option<ConnectionPoolSettings>,
    /// Where calls to hosts outside the registry go; unset: MeshConfig's policy.
    #[serde(default)]
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
}

/// `networking.v1alpha3.WorkloadSelector`: the labels a workload must carry (all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarWorkloadSelector {
    /// Labels a workload must carry (all of them) to be selected.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `IstioEgressListener`: the hosts a workload reaches through one outbound listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IstioEgressListener {
    /// The listener's port; none: every port not taken by another listener.
    #[serde(default)]
    pub port: Option<SidecarPort>,
    /// The address to bind to.
    #[serde(default)]
    pub bind: String,
    /// How traffic reaches the listener.
    #[serde(default)]
    pub capture_mode: CaptureMode,
    /// The hosts imported, as `namespace/dnsName`: `./` for the Sidecar's namespace, `*/` for
    /// any namespace, `~/` to exclude.
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// `IstioIngressListener`: an inbound listener (kept for validation, not used by routing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IstioIngressListener {
    /// The port.
    #[serde(default)]
    pub port: Option<SidecarPort>,
    /// The address to bind to.
    #[serde(default)]
    pub bind: String,
    /// How traffic reaches the listener.
    #[serde(default)]
    pub capture_mode: CaptureMode,
    /// Where to forward (`127.0.0.1:PORT`, `0.0.0.0:PORT`, `unix://...`).
    #[serde(default)]
    pub default_endpoint: String,
    /// TLS terminated on the listener.
    #[serde(default)]
    pub tls: Option<ServerTlsSettings>,
    /// Connection limits.
    #[serde(default)]
    pub connection_pool: Option<ConnectionPoolSettings>,
}

/// `SidecarPort`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarPort {
    /// The port number.
    #[serde(default)]
    pub number: u32,
    /// `HTTP`, `HTTPS`, `GRPC`, `HTTP2`, `MONGO`, `TCP`, `TLS`, ...
    #[serde(default)]
    pub protocol: String,
    /// The port's name.
    #[serde(default)]
    pub name: String,
    /// Deprecated.
    #[serde(default)]
    pub target_port: u32,
}

/// `OutboundTrafficPolicy` of a Sidecar.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundTrafficPolicy {
    /// `REGISTRY_ONLY` (the zero value, so `outboundTrafficPolicy: {}` means it) or `ALLOW_ANY`.
    #[serde(default)]
    pub mode: OutboundTrafficMode,
    /// An egress proxy for unknown hosts (ALLOW_ANY only).
    #[serde(default)]
    pub egress_proxy: Option<Destination>,
}

proto_enum! {
    /// `OutboundTrafficPolicy.Mode`.
    pub enum OutboundTrafficMode {
        /// Hosts outside the service registry are unreachable: Envoy's `BlackHoleCluster`
        /// answers HTTP with 502.
        #[default]
        RegistryOnly = (0, "REGISTRY_ONLY"),
        /// Hosts outside the service registry are reached directly (`PassthroughCluster`).
        AllowAny = (1, "ALLOW_ANY"),
    }
}

proto_enum! {
    /// `CaptureMode`.
    pub enum CaptureMode {
        /// The environment's default.
        #[default]
        Default = (0, "DEFAULT"),
        /// Traffic redirected by iptables.
        Iptables = (1, "IPTABLES"),
        /// No capture: the application talks to the listener directly.
        None = (2, "NONE"),
    }
}
