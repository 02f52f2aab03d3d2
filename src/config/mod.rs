//! The resource model: serde types for the Istio and Kubernetes resources meshroute reads.
//!
//! Field names are exactly those of `istio/api` (`networking/v1alpha3/*.proto`) in their JSON
//! (camelCase) form, so a type here maps one-to-one onto the Istio reference documentation. This
//! module holds data only; validation and every decision live in later stages.
//!
//! Istio's API groups `networking.istio.io/v1alpha3`, `v1beta1` and `v1` share one schema, and all
//! three are accepted.

mod destination_rule;
mod gateway;
mod kubernetes;
#[cfg(feature = "yaml")]
pub(crate) mod load;
mod meta;
mod service_entry;
mod virtual_service;
mod workload_entry;

pub use destination_rule::*;
pub use gateway::*;
pub use kubernetes::*;
#[cfg(feature = "yaml")]
pub use load::{LoadError, LoadOptions, Loaded};
pub(crate) use meta::proto_enum;
pub use meta::{Base64Bytes, Duration, InvalidDuration, ObjectMeta, Origin, Percent, StringMatch};
pub use service_entry::*;
pub use virtual_service::*;
pub use workload_entry::*;

/// One resource read from a manifest: its metadata, where it came from, and its typed body.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Resource {
    /// `apiVersion` as written (`networking.istio.io/v1`, `apps/v1`, ...).
    pub api_version: String,
    /// `metadata`; the namespace is always filled in (the loader's default when absent).
    pub metadata: ObjectMeta,
    /// The file and line the resource was read from.
    pub origin: Origin,
    /// The typed spec.
    pub body: Body,
}

/// The typed body of a [`Resource`], by kind.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Body {
    /// `networking.istio.io` `VirtualService`.
    VirtualService(Box<VirtualService>),
    /// `networking.istio.io` `DestinationRule`.
    DestinationRule(Box<DestinationRule>),
    /// `networking.istio.io` `Gateway`.
    Gateway(Box<Gateway>),
    /// `networking.istio.io` `ServiceEntry`.
    ServiceEntry(Box<ServiceEntry>),
    /// `networking.istio.io` `WorkloadEntry`.
    WorkloadEntry(Box<WorkloadEntry>),
    /// Kubernetes `v1` `Service`.
    Service(Box<ServiceSpec>),
    /// Kubernetes `apps/v1` `Deployment`.
    Deployment(Box<DeploymentSpec>),
    /// Kubernetes `v1` `Pod` (spec and status).
    Pod(Box<Pod>),
    /// A kind meshroute does not route on (a `ConfigMap`, an `AuthorizationPolicy`, ...): kept so
    /// that tools can list it, otherwise ignored.
    Ignored {
        /// The document's `kind`.
        kind: String,
    },
}

impl Resource {
    /// The resource's kind as written in manifests (`VirtualService`, `Deployment`, ...).
    pub fn kind(&self) -> &str {
        match &self.body {
            Body::VirtualService(_) => "VirtualService",
            Body::DestinationRule(_) => "DestinationRule",
            Body::Gateway(_) => "Gateway",
            Body::ServiceEntry(_) => "ServiceEntry",
            Body::WorkloadEntry(_) => "WorkloadEntry",
            Body::Service(_) => "Service",
            Body::Deployment(_) => "Deployment",
            Body::Pod(_) => "Pod",
            Body::Ignored { kind } => kind,
        }
    }

    /// `namespace/name`, the way diagnostics and decisions name a resource.
    pub fn key(&self) -> String {
        format!("{}/{}", self.metadata.namespace(), self.metadata.name)
    }

    /// The namespace (always set after loading).
    pub fn namespace(&self) -> &str {
        self.metadata.namespace()
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}
