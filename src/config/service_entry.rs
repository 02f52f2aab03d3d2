//! `ServiceEntry` (istio/api `networking/v1alpha3/service_entry.proto`): adds a service, and
//! optionally its endpoints, to the mesh's registry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::proto_enum;
use super::workload_entry::WorkloadEntry;

/// The `spec` of a `ServiceEntry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntry {
    /// Host names of the service (wildcard prefixes allowed).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Virtual IPs or CIDR blocks of the service.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// The service's ports.
    #[serde(default)]
    pub ports: Vec<ServicePort>,
    /// Inside or outside the mesh.
    #[serde(default)]
    pub location: Location,
    /// How the proxy finds the endpoints.
    #[serde(default)]
    pub resolution: Resolution,
    /// Inline endpoints (exclusive with `workloadSelector`).
    #[serde(default)]
    pub endpoints: Vec<WorkloadEntry>,
    /// Pods and `WorkloadEntry`s in the namespace selected as endpoints (exclusive with
    /// `endpoints`).
    #[serde(default)]
    pub workload_selector: Option<NetworkingWorkloadSelector>,
    /// Namespaces the service is visible to; empty means all.
    #[serde(default)]
    pub export_to: Vec<String>,
    /// Names accepted in the server certificate's SAN.
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
}

/// `istio.networking.v1alpha3.WorkloadSelector` (istio/api `networking/v1alpha3/sidecar.proto`):
/// workloads selected by `labels`. Unlike `DestinationRule.workloadSelector`, the key is `labels`,
/// not `matchLabels`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkingWorkloadSelector {
    /// Labels a workload must carry (all of them) to be selected.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `ServicePort`: a port of a `ServiceEntry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    /// Port number.
    #[serde(default)]
    pub number: u32,
    /// Protocol (`HTTP`, `HTTPS`, `GRPC`, `HTTP2`, `MONGO`, `TCP`, `TLS`, ...); empty means
    /// protocol sniffing.
    #[serde(default)]
    pub protocol: String,
    /// Port name (required, unique).
    #[serde(default)]
    pub name: String,
    /// Port on the endpoints (0 or unset: the same as `number`).
    #[serde(default)]
    pub target_port: Option<u32>,
}

proto_enum! {
    /// `ServiceEntry.Location`.
    pub enum Location {
        /// Outside the mesh (no mTLS, external APIs).
        #[default]
        MeshExternal = (0, "MESH_EXTERNAL"),
        /// Part of the mesh (VMs, unmanaged infrastructure).
        MeshInternal = (1, "MESH_INTERNAL"),
    }
}

proto_enum! {
    /// `ServiceEntry.Resolution`.
    pub enum Resolution {
        /// Forward to the address the caller connected to.
        #[default]
        None = (0, "NONE"),
        /// Use the IPs in `endpoints` (or selected workloads).
        Static = (1, "STATIC"),
        /// Resolve the endpoints' (or hosts') names; balance over all results.
        Dns = (2, "DNS"),
        /// Resolve and use the first address only, keeping connections across DNS changes.
        DnsRoundRobin = (3, "DNS_ROUND_ROBIN"),
        /// Resolve the requested name (Host header or SNI) of a wildcard host at request time.
        DynamicDns = (4, "DYNAMIC_DNS"),
    }
}
