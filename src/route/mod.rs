//! The decision: a compiled [`Mesh`](mesh::Mesh) answers "where does this request go?" the way
//! Istio's sidecar or gateway would, and which endpoint Envoy's load balancer picks.
//!
//! Everything here works on tables `compile` built: matchers that cannot fail, weighted choices,
//! route policies, clusters with their balancers. Nothing here reads Istio's resources, and the
//! route path allocates nothing. Requests are decided with `http` rules (`table.rs`), connections
//! with `tcp` and `tls` rules (`stream.rs`).

pub(crate) mod choice;
pub(crate) mod cluster;
pub(crate) mod connection;
pub(crate) mod decision;
pub(crate) mod explain;
pub(crate) mod index;
pub(crate) mod matcher;
pub(crate) mod mesh;
pub(crate) mod pick_cache;
pub(crate) mod policy;
pub(crate) mod report;
pub(crate) mod source;
pub(crate) mod stream;
pub(crate) mod table;
#[cfg(feature = "tower")]
pub(crate) mod upstream;
