//! Cluster mode (feature `kube`): the routing configuration as a live Kubernetes cluster holds
//! it, read with [kube-rs](https://kube.rs).
//!
//! In a cluster, VirtualServices and DestinationRules are Istio's custom resources and
//! endpoints are EndpointSlices. [`ClusterSync`] keeps a [`SharedMesh`](crate::SharedMesh)
//! in sync with them, as a sidecar follows istiod: a service that makes its canary decisions
//! in-process follows the same objects that drive the Envoy fleet. [`list`] reads them once,
//! for a command-line answer about the cluster as it is now (`meshroute route --cluster`).
//!
//! ```no_run
//! use meshroute::cluster::{ClusterOptions, ClusterSync};
//!
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! // The kubeconfig's current context, or the pod's service account in a cluster.
//! let client = kube::Client::try_default().await?;
//! let sync = ClusterSync::start(client, ClusterOptions::default().namespace("shop"));
//! sync.ready().await?; // every kind listed and applied: safe to serve
//! let caller = meshroute::Source::sidecar("shop");
//! let outbound = meshroute::service::OutboundLayer::new(sync.mesh().clone(), caller);
//! # let _ = outbound;
//! # Ok(())
//! # }
//! ```
//!
//! What it reads: `networking.istio.io` `VirtualService`, `DestinationRule`, `Gateway`,
//! `ServiceEntry`, `WorkloadEntry`, `Sidecar` (in [`ClusterOptions::istio_version`], `v1` by
//! default); `v1` `Service`s, `discovery.k8s.io/v1` `EndpointSlice`s and `Pod`s (their
//! labels are what DestinationRule subsets select); istiod's `istio` ConfigMap in the root
//! namespace. The RBAC it needs is `get`, `list` and `watch` on exactly those (see
//! `deploy/rbac.yaml` in the repository). Every object goes through the loader and the checks
//! that files go through.
//!
//! **Choosing a Kubernetes version.** kube-rs builds on `k8s-openapi`, which compiles only once
//! the final binary picks the oldest Kubernetes version it supports, by a feature of its own
//! dependency on `k8s-openapi` (`k8s-openapi = { version = "0.29", features = ["v1_33"] }`) or
//! with the environment variable `K8S_OPENAPI_ENABLED_VERSION=1.33`; meshroute, a library,
//! does not choose. Feature `kube` needs Rust 1.89 or newer (kube 5).

mod kinds;
mod list;
mod options;
mod store;
mod sync;

pub use list::{list, list_objects};
pub use options::ClusterOptions;
pub use sync::{ClusterSync, Stopped, SyncStatus};
