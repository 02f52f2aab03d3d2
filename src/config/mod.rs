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
mod mesh_config;
mod meta;
mod progressive;
mod resource;
mod service_entry;
mod sidecar;
pub(crate) mod sticky;
mod virtual_service;
mod workload_entry;

pub use destination_rule::*;
pub use gateway::*;
pub use kubernetes::*;
pub use mesh_config::*;
pub use meta::{
    Base64Bytes, Duration, InvalidBase64, InvalidDuration, ObjectMeta, Origin, Percent, StringMatch,
};
pub(crate) use progressive::managed_by;
pub use progressive::{Controller, WeightController};
pub use resource::{Body, Resource, effective};
pub use service_entry::*;
pub use sidecar::*;
pub use virtual_service::*;
pub use workload_entry::*;
