//! The cluster a decision sends to, owned, for the code that sends the request: the circuit
//! breaker's admissions, host re-selection for retries, in-flight counts for least-request
//! balancing and outlier feedback. A [`Decision`](super::decision::Decision) borrows the
//! `Mesh`; an [`Upstream`] holds it, so it can live in a request's future across attempts.

use std::sync::Arc;
use std::time::Instant;

use super::cluster::{Cluster, Overflow};
use super::decision::Decision;
use super::decision::{PickedEndpoint, StateRef};
use super::mesh::{ActiveRequest, Mesh};
use crate::balance::endpoint::Endpoint;
use crate::balance::hash_policy::HashInput;
pub(crate) use crate::balance::outlier::UpstreamResult;
use crate::util::rng::Rng;

/// One cluster of a `Mesh` (host, subset, port), owned.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    mesh: Mesh,
    cluster: u32,
}

impl Upstream {
    /// The cluster `decision` picked an endpoint of, and that endpoint.
    pub(crate) fn of(
        mesh: &Mesh,
        decision: &Decision<'_>,
    ) -> Option<(Self, PickedEndpoint<'static>)> {
        let picked = decision.endpoint.as_ref()?.to_owned_pick();
        Some((
            Self {
                mesh: mesh.clone(),
                cluster: picked.cluster,
            },
            picked,
        ))
    }

    /// The cluster a mirror of `decision`'s request goes to, and the endpoint its balancer
    /// picks (see [`Mesh::mirror_pick`]).
    pub(crate) fn mirror(
        mesh: &Mesh,
        mirror: &super::policy::Mirror,
        source: &super::source::Source,
        port: u16,
        rng: &mut impl Rng,
    ) -> Option<(Self, PickedEndpoint<'static>)> {
        let picked = mesh.mirror_pick(mirror, source, port, rng)?;
        Some((
            Self {
                mesh: mesh.clone(),
                cluster: picked.cluster,
            },
            picked,
        ))
    }

    fn cluster(&self) -> Option<&Cluster> {
        self.mesh.clusters().get(self.cluster)
    }

    /// Envoy's name of the cluster, `outbound|PORT|SUBSET|HOST`, for metrics and logs.
    pub(crate) fn name(&self) -> Arc<str> {
        self.cluster()
            .map_or_else(|| Arc::from(""), super::cluster::Cluster::envoy_name)
    }

    /// `http.maxRequestsPerConnection` (0: unlimited).
    pub(crate) fn max_requests_per_connection(&self) -> u32 {
        self.cluster()
            .map_or(0, |c| c.policy.limits.max_requests_per_connection)
    }

    /// Whether sending to the cluster needs watching: outlier detection wants every outcome,
    /// or `connectionPool` sets a limit.
    pub(crate) fn guarded(&self) -> bool {
        self.cluster().is_some_and(|c| {
            c.detects_outliers() || c.policy.limits != super::cluster::Limits::default()
        })
    }

    /// Whether outlier detection is configured for the cluster.
    pub(crate) fn detects_outliers(&self) -> bool {
        self.cluster().is_some_and(Cluster::detects_outliers)
    }

    /// Endpoints outlier detection has ejected now.
    #[cfg(feature = "metrics")]
    pub(crate) fn ejected(&self) -> usize {
        self.cluster().map_or(0, Cluster::ejected)
    }

    /// Requests and retries in flight on the cluster.
    #[cfg(feature = "metrics")]
    pub(crate) fn in_flight(&self) -> (u32, u32) {
        self.cluster().map_or((0, 0), Cluster::in_flight)
    }

    /// Admits a request past the circuit breaker; the returned guard holds its place until
    /// dropped.
    pub(crate) fn admit(&self, http2: bool) -> Result<Admission, Overflow> {
        match self.cluster() {
            Some(cluster) => cluster.admit_request(http2).map(|()| Admission {
                upstream: self.clone(),
                retry: false,
            }),
            None => Err(Overflow::Requests),
        }
    }

    /// Admits a retry past `maxRetries`; `None` is Envoy's retry overflow.
    pub(crate) fn admit_retry(&self) -> Option<Admission> {
        self.cluster()
            .is_some_and(Cluster::admit_retry)
            .then(|| Admission {
                upstream: self.clone(),
                retry: true,
            })
    }

    /// The endpoint of `picked`.
    pub(crate) fn endpoint<'a>(&self, picked: &'a PickedEndpoint<'_>) -> Option<&'a Endpoint> {
        picked.state.endpoints().get(picked.index)
    }

    /// Picks the endpoint of a retry attempt: Envoy's balancer again, re-drawn up to
    /// `max_attempts` times while it lands on an address in `previous` (the `previous_hosts`
    /// retry predicate with `host_selection_retry_max_attempts`; the last draw is used when all
    /// land on previous hosts). A hashing balancer keeps the first attempt's host, as Istio
    /// leaves the predicate out for consistent hashing; it is re-drawn only if that host has
    /// left the balancer (ejected).
    pub(crate) fn repick(
        &self,
        first: &PickedEndpoint<'_>,
        previous: &[&str],
        max_attempts: u32,
        rng: &mut impl Rng,
    ) -> Option<PickedEndpoint<'static>> {
        let cluster = self.cluster()?;
        let state = cluster.state();
        if cluster.hashes() {
            let same = self.endpoint(first).map(|e| e.address.as_str());
            if let Some(index) = state
                .endpoints()
                .iter()
                .position(|e| Some(e.address.as_str()) == same)
                .filter(|i| state.balances(*i))
            {
                return Some(PickedEndpoint {
                    cluster: self.cluster,
                    state: StateRef::Loaded(state),
                    index,
                });
            }
        }
        let headers = http::HeaderMap::new();
        let input = HashInput {
            headers: &headers,
            path_and_query: "/",
            source_ip: None,
            downstream: None,
        };
        let mut last = None;
        for _ in 0..=max_attempts {
            let index = cluster.pick(&state, &input, rng, &mut None).ok()?;
            let address = state.endpoints().get(index).map(|e| e.address.as_str());
            last = Some(index);
            if !address.is_some_and(|a| previous.contains(&a)) {
                break;
            }
        }
        last.map(|index| PickedEndpoint {
            cluster: self.cluster,
            state: StateRef::Loaded(state),
            index,
        })
    }

    /// Counts a request as in flight on `picked` for least-request balancing until the guard
    /// is dropped.
    pub(crate) fn start(&self, picked: &PickedEndpoint<'_>) -> ActiveRequest {
        if let Some(cluster) = self.cluster() {
            cluster.start(&picked.state, picked.index);
        }
        ActiveRequest::new(self.mesh.clone(), picked)
    }

    /// Feeds one attempt's result on `picked` to outlier detection.
    pub(crate) fn report(&self, picked: &PickedEndpoint<'_>, result: UpstreamResult, now: Instant) {
        if let Some(cluster) = self.cluster() {
            cluster.report(&picked.state, picked.index, result, now);
        }
    }
}

/// A place taken in a cluster's circuit breaker (a request or a retry in flight), given back
/// when dropped — on completion, cancellation or panic alike.
#[derive(Debug)]
pub(crate) struct Admission {
    upstream: Upstream,
    retry: bool,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some(cluster) = self.upstream.cluster() {
            if self.retry {
                cluster.release_retry();
            } else {
                cluster.release_request();
            }
        }
    }
}
