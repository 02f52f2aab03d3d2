//! `WorkloadEntry` (istio/api `networking/v1alpha3/workload_entry.proto`): a workload outside
//! Kubernetes (a VM, a bare-metal host), also used inline as `ServiceEntry.endpoints`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `spec` of a `WorkloadEntry` (and one `ServiceEntry` endpoint).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadEntry {
    /// IP, DNS name (DNS resolution only) or `unix:///path`; may be empty only with `network`.
    #[serde(default)]
    pub address: String,
    /// Service port name → this endpoint's port.
    #[serde(default)]
    pub ports: BTreeMap<String, u32>,
    /// Labels, used by workload selectors and subsets.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The L3 network the endpoint lives in.
    #[serde(default)]
    pub network: String,
    /// `region/zone/subzone` of the endpoint.
    #[serde(default)]
    pub locality: String,
    /// Load balancing weight (0 or unset means the default, 1).
    #[serde(default)]
    pub weight: Option<u32>,
    /// Service account of the workload's sidecar.
    #[serde(default)]
    pub service_account: String,
}
