//! Endpoints, subsets and load balancing that pick the same endpoint Envoy picks.
//!
//! After a [`Decision`](crate::Decision) names `host` + `subset` + `port`, the balancer picks the
//! endpoint among that subset's endpoints with the policy of the host's DestinationRule, the
//! way Envoy's load balancers do (`source/extensions/load_balancing_policies/` in Envoy):
//! the same hash functions, the same ring and Maglev table construction and lookup, the same
//! EDF scheduler, the same consumption of random numbers. Randomness and time are injected.

pub(crate) mod cluster;
pub mod edf;
pub mod endpoints;
pub mod hash;
pub mod hash_policy;
pub mod least_request;
pub mod maglev;
pub mod outlier;
pub mod policy;
pub mod random;
pub mod ring_hash;
pub mod round_robin;
pub use cluster::{ClusterState, NoEndpoint};
pub use endpoints::Endpoint;
pub(crate) mod build;
