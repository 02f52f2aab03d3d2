//! `MeshConfig` (istio/api `mesh/v1alpha1/config.proto`): the mesh-wide settings istiod reads from
//! the `mesh` key of the `istio` ConfigMap. Only the fields that change a routing decision are
//! modelled; the others are accepted and ignored.

use serde::{Deserialize, Serialize};

use super::sidecar::OutboundTrafficMode;
use super::virtual_service::HttpRetry;

/// Istio's default root namespace (`constants.IstioSystemNamespace`).
pub const DEFAULT_ROOT_NAMESPACE: &str = "istio-system";

/// The mesh-wide settings that change routing decisions. Every field left unset keeps Istio's
/// default (istio/istio `pkg/config/mesh/mesh.go` `DefaultMeshConfig`), as `ApplyMeshConfig`
/// applies a user's configuration over the defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshConfig {
    /// Where mesh-wide defaults live (the default Sidecar, DestinationRules that apply to every
    /// namespace); default `istio-system`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_namespace: String,
    /// `exportTo` of services that set none; default `["*"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_service_export_to: Vec<String>,
    /// `exportTo` of VirtualServices that set none; default `["*"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_virtual_service_export_to: Vec<String>,
    /// `exportTo` of DestinationRules that set none; default `["*"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_destination_rule_export_to: Vec<String>,
    /// Where calls to hosts outside the registry go; default `ALLOW_ANY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_traffic_policy: Option<MeshOutboundTrafficPolicy>,
    /// The retry policy of routes that set no `retries`, replacing Istio's default (2 attempts on
    /// `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_http_retry_policy: Option<HttpRetry>,
    /// Automatic mutual TLS between sidecars; default true. It changes transport security, not
    /// which route, destination or endpoint a request gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_auto_mtls: Option<bool>,
}

/// `MeshConfig.OutboundTrafficPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshOutboundTrafficPolicy {
    /// `ALLOW_ANY` or `REGISTRY_ONLY`; unset keeps the default `ALLOW_ANY` (the configuration is
    /// merged over the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<OutboundTrafficMode>,
}

impl MeshConfig {
    /// `rootNamespace`, or `istio-system` when unset.
    pub fn root_namespace(&self) -> &str {
        if self.root_namespace.is_empty() {
            DEFAULT_ROOT_NAMESPACE
        } else {
            &self.root_namespace
        }
    }

    /// The mesh-wide outbound traffic policy (`ALLOW_ANY` unless set).
    pub fn outbound_traffic_mode(&self) -> OutboundTrafficMode {
        self.outbound_traffic_policy
            .as_ref()
            .and_then(|p| p.mode)
            .unwrap_or(OutboundTrafficMode::AllowAny)
    }
}
