//! The outcome feed: each request the tower layers send to a destination (an attempt of
//! [`OutboundLayer`](crate::service::OutboundLayer), a handler call of
//! [`Dispatch`](crate::service::Dispatch)) is reported to outlier detection and, when someone
//! observes the [`SharedMesh`](super::SharedMesh), published to its observers. A rollout reads
//! its canary's and its stable subset's results here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::balance::outlier::UpstreamResult;

/// How one request to a destination ended, as a tower layer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestOutcome<'a> {
    /// The destination's host, fully qualified as the route names it
    /// (`reviews.default.svc.cluster.local`).
    pub host: &'a str,
    /// The destination's subset, if the route names one.
    pub subset: Option<&'a str>,
    /// The status, or a local failure (reset, refused connection, timeout without a response).
    pub result: UpstreamResult,
    /// From sending the request to its response headers (or the failure).
    pub latency: Duration,
}

impl<'a> RequestOutcome<'a> {
    /// An outcome, for an application that sends requests itself and feeds
    /// [`SharedMesh::publish`](super::SharedMesh::publish).
    pub fn new(
        host: &'a str,
        subset: Option<&'a str>,
        result: UpstreamResult,
        latency: Duration,
    ) -> Self {
        Self {
            host,
            subset,
            result,
            latency,
        }
    }

    /// Whether the result counts as an error for a rollout's gate: a 5xx status or a local
    /// failure (Envoy's `consecutive_5xx` counts both, `outlier_detection_impl.cc`).
    pub fn is_error(&self) -> bool {
        match self.result {
            UpstreamResult::Status(code) => code >= 500,
            UpstreamResult::LocalFailure => true,
            UpstreamResult::Success => false,
        }
    }
}

/// What an observer is: called on the request's task, so it should be quick (count, push to a
/// bounded buffer) and must not block.
pub(crate) type Observer = Arc<dyn Fn(&RequestOutcome<'_>) + Send + Sync>;

/// The handle [`SharedMesh::observe`](super::SharedMesh::observe) returns, to stop observing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObserverId(u64);

/// The observers of a `SharedMesh`: a copy-on-write list, read without a lock or allocation.
pub(crate) struct Observers {
    list: ArcSwap<Vec<(ObserverId, Observer)>>,
    next: AtomicU64,
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("count", &self.list.load().len())
            .finish()
    }
}

impl Default for Observers {
    fn default() -> Self {
        Self {
            list: ArcSwap::from_pointee(Vec::new()),
            next: AtomicU64::new(1),
        }
    }
}

impl Observers {
    pub(crate) fn add(&self, observer: Observer) -> ObserverId {
        let id = ObserverId(self.next.fetch_add(1, Ordering::Relaxed));
        self.list.rcu(|list| {
            let mut list = Vec::clone(list);
            list.push((id, Arc::clone(&observer)));
            list
        });
        id
    }

    pub(crate) fn remove(&self, id: ObserverId) -> bool {
        let mut found = false;
        self.list.rcu(|list| {
            let mut list = Vec::clone(list);
            let before = list.len();
            list.retain(|(i, _)| *i != id);
            found = list.len() != before;
            list
        });
        found
    }

    /// Whether anyone observes (one atomic load).
    pub(crate) fn any(&self) -> bool {
        !self.list.load().is_empty()
    }

    pub(crate) fn publish(&self, outcome: &RequestOutcome<'_>) {
        for (_, observer) in self.list.load().iter() {
            observer(outcome);
        }
    }
}
