//! Envoy's load balancers, bit for bit, and nothing of Istio: the algorithms a cluster picks an
//! endpoint with, given its endpoints, its policy and a random source.
//!
//! The same hash functions (xxHash64, MurmurHash2), the same ring and Maglev table construction
//! and lookup, the same EDF scheduler behind weighted round robin and least request, the same
//! consumption of random numbers and the same hash policies as Envoy
//! (`source/extensions/load_balancing_policies/` and `source/common/http/hash_policy.cc` in
//! envoyproxy/envoy), and its outlier detector. Randomness and time are injected. Istio's
//! `DestinationRule` is translated into these terms by `compile`, never read here.

pub(crate) mod edf;
pub(crate) mod endpoint;
pub(crate) mod hash;
pub(crate) mod hash_policy;
pub(crate) mod host_indices;
pub(crate) mod least_request;
pub(crate) mod maglev;
pub(crate) mod outlier;
pub(crate) mod panic;
pub(crate) mod random;
pub(crate) mod ring_hash;
pub(crate) mod round_robin;
