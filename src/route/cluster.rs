//! One Envoy cluster (host + subset + port): its endpoints, its balancer state and its outlier
//! detector.
//!
//! The endpoint set and everything derived from it (the healthy set, ring or Maglev table,
//! round-robin scheduler) live in an immutable [`ClusterState`] behind an `ArcSwap`: an update
//! (new endpoints, an ejection) builds a new state and swaps it in atomically, so a pick never
//! waits for an update and never sees half of one. Round robin and least request keep their
//! scheduler behind a short mutex inside the state, as Envoy keeps it per worker.
//!
//! **Consistent-hash tables are built on first use.** A ring (up to Envoy's
//! `maximum_ring_size`, 8388608 entries, 72 MiB over up to 256 hosts) or Maglev table (up to
//! 5000011 slots) is built by the first pick of the state it belongs to, not when the state is
//! made: compiling a configuration, replacing endpoints ([`Cluster::set_endpoints`]) and
//! ejecting a host cost nothing for it, and a cluster that is never picked from never holds a
//! table. The table sits in a [`OnceLock`] inside the state: the first picker builds it
//! (allocating once, the one allocation of a pick) while concurrent pickers of the same state
//! wait for it, so it is built exactly once and never twice in parallel; later picks read it
//! without locking. Building the largest ring takes about half a second, once per endpoint
//! set. Envoy builds its tables on the main thread when the host set changes
//! (`ThreadAwareLoadBalancerBase::refresh` in
//! `source/extensions/load_balancing_policies/common/thread_aware_lb_impl.cc`); the picks are
//! the same, only when the work is done differs.

#[cfg(feature = "tower")]
use std::sync::atomic::AtomicU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use arc_swap::ArcSwap;

/// A cluster's state as one pick saw it.
pub(crate) type Snapshot = arc_swap::Guard<Arc<ClusterState>>;

use rustc_hash::FxHashMap;

use crate::balance::endpoint::Endpoint;
use crate::balance::hash_policy::{self, HashInput, HashPolicy};
use crate::balance::least_request::{LeastRequest, LeastRequestConfig};
use crate::balance::maglev::Maglev;
use crate::balance::outlier::{OutlierConfig, OutlierDetector, UpstreamResult};
use crate::balance::panic::in_panic;
use crate::balance::random;
use crate::balance::ring_hash::RingHash;
use crate::balance::round_robin::RoundRobin;
use crate::util::rng::Rng;

/// Why no endpoint was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoEndpoint {
    /// The cluster has no endpoints at all (or the subset selects none): Envoy answers 503
    /// with response flag `UH` (no healthy upstream).
    NoHealthyUpstream,
    /// `PASSTHROUGH`: Envoy connects to the caller's original destination; nothing is picked.
    Passthrough,
}

/// The algorithm a cluster balances with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub(crate) enum LbPolicy {
    /// `ROUND_ROBIN`: weighted round robin (Envoy's EDF scheduler).
    RoundRobin,
    /// `RANDOM`: one draw, weights ignored.
    Random,
    /// `LEAST_REQUEST` (the default): power of two choices, or weighted with active-request bias.
    LeastRequest,
    /// `PASSTHROUGH`: the original destination; meshroute reports it and picks nothing.
    Passthrough,
    /// Consistent hashing over a ketama ring.
    RingHash {
        /// `minimumRingSize` (default 1024).
        minimum_ring_size: u64,
    },
    /// Consistent hashing over a Maglev table.
    Maglev {
        /// `tableSize` (default 65537, prime).
        table_size: u64,
    },
}

/// Everything the balancer of one cluster needs from the DestinationRule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClusterPolicy {
    /// The algorithm.
    pub(crate) lb: LbPolicy,
    /// The request hash for consistent hashing (empty otherwise).
    pub(crate) hash: Vec<HashPolicy>,
    /// Outlier detection, in Envoy's terms, if configured.
    pub(crate) outlier: Option<OutlierConfig>,
    /// Envoy's healthy panic threshold in percent: 50 by default, `minHealthPercent` (default
    /// 0) once outlier detection is configured.
    pub(crate) panic_threshold: u32,
    /// The circuit breaker's thresholds (`connectionPool`).
    pub(crate) limits: Limits,
}

/// A cluster's circuit-breaker thresholds, as Istio gives them to Envoy
/// (`pilot/pkg/networking/core/cluster_traffic_policy.go` `applyConnectionPool`: each unset or
/// 0 field is 2^32-1, Istio's replacement for Envoy's 1024 defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `tcp.maxConnections` (`max_connections`).
    pub(crate) max_connections: u32,
    /// `http.http1MaxPendingRequests` (`max_pending_requests`).
    pub(crate) max_pending_requests: u32,
    /// `http.http2MaxRequests` (`max_requests`: requests in flight, any protocol).
    pub(crate) max_requests: u32,
    /// `http.maxRetries` (`max_retries`: retries in flight).
    pub(crate) max_retries: u32,
    /// `http.maxRequestsPerConnection` (0: unlimited; 1 disables keep-alive).
    pub(crate) max_requests_per_connection: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: u32::MAX,
            max_pending_requests: u32::MAX,
            max_requests: u32::MAX,
            max_retries: u32::MAX,
            max_requests_per_connection: 0,
        }
    }
}

/// Which circuit-breaker threshold refused a request (Envoy's response flag `UO`).
#[cfg(feature = "tower")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// More HTTP/1 requests than connections plus `http1MaxPendingRequests`.
    Pending,
    /// More requests in flight than `http2MaxRequests`.
    Requests,
}

impl Default for ClusterPolicy {
    fn default() -> Self {
        Self {
            lb: LbPolicy::LeastRequest,
            hash: Vec::new(),
            outlier: None,
            panic_threshold: 50,
            limits: Limits::default(),
        }
    }
}

enum Balancer {
    RoundRobin(Mutex<RoundRobin>),
    LeastRequest(Mutex<(LeastRequest, Vec<u32>)>),
    Random,
    /// Ring hash or Maglev, its table built on the state's first pick (see the module docs).
    Hashed(HashKind, OnceLock<HashTable>),
    Passthrough,
}

/// Which consistent-hash table a cluster balances with.
#[derive(Debug, Clone, Copy)]
enum HashKind {
    Ring { minimum_ring_size: u64 },
    Maglev { table_size: u64 },
}

/// A built consistent-hash table.
enum HashTable {
    Ring(RingHash),
    Maglev(Maglev),
    /// The table could not be built (weights adding up to more than `u32::MAX`, a size Envoy
    /// rejects): the cluster balances at random, and says so once in the log.
    Random,
}

impl std::fmt::Debug for Balancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Balancer::RoundRobin(_) => "RoundRobin",
            Balancer::LeastRequest(_) => "LeastRequest",
            Balancer::Random => "Random",
            Balancer::Hashed(HashKind::Ring { .. }, _) => "RingHash",
            Balancer::Hashed(HashKind::Maglev { .. }, _) => "Maglev",
            Balancer::Passthrough => "Passthrough",
        })
    }
}

/// An immutable snapshot of a cluster: endpoints, which of them the balancer uses, and the
/// balancer built over those.
#[derive(Debug)]
pub(crate) struct ClusterState {
    endpoints: Vec<Endpoint>,
    /// Each endpoint's address as a URI authority, parsed once per endpoint set (`None`: not an
    /// authority), so that forwarding to an endpoint copies no text: an `Authority` clone shares
    /// its bytes. Only the tower layers forward.
    #[cfg(feature = "tower")]
    authorities: Vec<Option<http::uri::Authority>>,
    /// Indices (into `endpoints`) of the hosts the balancer chooses among: the healthy ones, or
    /// all of them when the cluster is in panic.
    hosts: Vec<usize>,
    balancer: Balancer,
    /// Whether endpoints are known for this cluster (from manifests or the application).
    known: bool,
    /// Which endpoint set this is: bumped by every replacement, kept by ejection rebuilds, so a
    /// report can tell whether its endpoint index still means the same endpoint.
    generation: u64,
}

impl ClusterState {
    /// The endpoints.
    pub(crate) fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Endpoint `index`'s address as a URI authority.
    #[cfg(feature = "tower")]
    pub(crate) fn authority(&self, index: usize) -> Option<&http::uri::Authority> {
        self.authorities.get(index)?.as_ref()
    }
}

/// One cluster.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) host: Box<str>,
    pub(crate) subset: Option<Box<str>>,
    pub(crate) port: u16,
    /// The DestinationRule choice it was built under (`Tables::rules`; `NO_RULE`: none).
    pub(crate) rule: u32,
    /// The subset's labels (`None`: all endpoints of the host).
    selector: Option<std::collections::BTreeMap<String, String>>,
    pub(crate) policy: ClusterPolicy,
    /// Behind its own `Arc` so that a [`PickCache`](super::pick_cache::PickCache) can follow it.
    state: Arc<ArcSwap<ClusterState>>,
    /// Created at the first report (it needs a start time).
    outlier: Option<Mutex<Option<OutlierDetector>>>,
    /// The seed round robin starts from (Envoy draws it once per balancer).
    seed: AtomicU64,
    /// The last endpoint-set generation handed out.
    generation: AtomicU64,
    /// Requests in flight (admitted by the circuit breaker, not yet finished).
    #[cfg(feature = "tower")]
    requests: AtomicU32,
    /// Retries in flight (from the decision to retry until that attempt ends).
    #[cfg(feature = "tower")]
    retries: AtomicU32,
    /// Envoy's name of the cluster, made on first use (statistics, logs).
    #[cfg(feature = "tower")]
    name: std::sync::OnceLock<Arc<str>>,
}

impl Cluster {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        host: &str,
        subset: Option<&str>,
        port: u16,
        rule: u32,
        selector: Option<std::collections::BTreeMap<String, String>>,
        policy: ClusterPolicy,
        all: Option<&[Endpoint]>,
        seed: u64,
    ) -> Self {
        let endpoints: Vec<Endpoint> = all
            .unwrap_or_default()
            .iter()
            .filter(|e| selector.as_ref().is_none_or(|s| e.selected_by(s)))
            .cloned()
            .collect();
        let outlier = policy.outlier.as_ref().map(|_| Mutex::new(None));
        let state = build_state(&policy, endpoints, None, seed, all.is_some(), 0);
        Self {
            host: host.into(),
            subset: subset.map(Into::into),
            port,
            rule,
            selector,
            policy,
            state: Arc::new(ArcSwap::from_pointee(state)),
            outlier,
            seed: AtomicU64::new(seed),
            generation: AtomicU64::new(0),
            #[cfg(feature = "tower")]
            requests: AtomicU32::new(0),
            #[cfg(feature = "tower")]
            retries: AtomicU32::new(0),
            #[cfg(feature = "tower")]
            name: std::sync::OnceLock::new(),
        }
    }

    /// Envoy's name of the cluster (`outbound|8080|v1|svc-b.default.svc.cluster.local`), made
    /// once and shared.
    #[cfg(feature = "tower")]
    pub(crate) fn envoy_name(&self) -> Arc<str> {
        Arc::clone(self.name.get_or_init(|| {
            crate::util::host::outbound_cluster_name(self.port, self.subset.as_deref(), &self.host)
                .into()
        }))
    }

    /// The current snapshot, borrowed through `arc-swap`'s debt list: no reference-count round
    /// trip per pick (two atomic operations against four for `load_full`, measured in
    /// `benches/route.rs`); [`Snapshot`] holders that outnumber the thread's debt slots fall back
    /// to a counted reference on their own.
    pub(crate) fn state(&self) -> Snapshot {
        self.state.load()
    }

    /// Where the snapshots are swapped, for a [`PickCache`](super::pick_cache::PickCache).
    pub(crate) fn state_cell(&self) -> &Arc<ArcSwap<ClusterState>> {
        &self.state
    }

    /// Replaces the host's endpoints (the subset filter is applied here).
    pub(crate) fn set_endpoints(&self, all: &[Endpoint]) {
        let endpoints: Vec<Endpoint> = all
            .iter()
            .filter(|e| self.selector.as_ref().is_none_or(|s| e.selected_by(s)))
            .cloned()
            .collect();
        let seed = self.seed.load(Ordering::Relaxed);
        let generation = self
            .generation
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        let state = Arc::new(build_state(
            &self.policy,
            endpoints,
            None,
            seed,
            true,
            generation,
        ));
        // With outlier detection, swap under the detector's lock so that a concurrent report
        // neither rebuilds the old set over the new one nor counts against the new set.
        let mut detector = self.outlier.as_ref().and_then(|o| o.lock().ok());
        if let Some(detector) = detector.as_mut() {
            // A new endpoint set starts with fresh outlier state.
            **detector = None;
        }
        self.state.store(state);
        drop(detector);
    }

    /// Feeds one request's result to outlier detection; ejections rebuild the balancer.
    /// `picked_from` is the snapshot the endpoint was picked from: a report about an endpoint
    /// set that has since been replaced is dropped (its index may name another endpoint now).
    pub(crate) fn report(
        &self,
        picked_from: &ClusterState,
        endpoint: usize,
        outcome: UpstreamResult,
        now: Instant,
    ) {
        self.with_detector(now, Some(picked_from.generation), |detector| {
            detector.report(endpoint, outcome, now);
        });
    }

    /// Runs outlier detection's interval work (un-ejection) at `now`.
    pub(crate) fn tick(&self, now: Instant) {
        self.with_detector(now, None, |detector| detector.advance(now));
    }

    fn with_detector(
        &self,
        now: Instant,
        generation: Option<u64>,
        f: impl FnOnce(&mut OutlierDetector),
    ) {
        let (Some(outlier), Some(config)) = (&self.outlier, &self.policy.outlier) else {
            return;
        };
        let Ok(mut slot) = outlier.lock() else { return };
        // Stable while the lock is held: endpoint replacements swap under it too.
        let current = self.state.load_full();
        if generation.is_some_and(|g| g != current.generation) {
            return;
        }
        let endpoints = current.endpoints.len();
        let detector =
            slot.get_or_insert_with(|| OutlierDetector::new(config.clone(), endpoints, now));
        let before: Vec<bool> = (0..detector.len())
            .map(|i| detector.is_ejected(i))
            .collect();
        f(detector);
        let after: Vec<bool> = (0..detector.len())
            .map(|i| detector.is_ejected(i))
            .collect();
        if before != after {
            let seed = self.seed.load(Ordering::Relaxed);
            let state = build_state(
                &self.policy,
                current.endpoints.clone(),
                Some(&after),
                seed,
                current.known,
                current.generation,
            );
            self.state.store(Arc::new(state));
        }
    }

    /// Picks an endpoint for a request: its index in `state`'s endpoints. On a pick,
    /// `set_cookie` is overwritten: the `Set-Cookie` of the cookie a consistent hash generated
    /// for a request that lacks it, else `None`; untouched when there is no endpoint. (The
    /// cookie goes through the parameter so that the index comes back in a register.)
    pub(crate) fn pick(
        &self,
        state: &ClusterState,
        input: &HashInput<'_>,
        rng: &mut impl Rng,
        set_cookie: &mut Option<String>,
    ) -> Result<usize, NoEndpoint> {
        let mut cookie = None;
        let host = match &state.balancer {
            Balancer::Passthrough => return Err(NoEndpoint::Passthrough),
            _ if state.hosts.is_empty() => return Err(NoEndpoint::NoHealthyUpstream),
            Balancer::Random => random::pick(state.hosts.len(), rng),
            Balancer::RoundRobin(rr) => rr.lock().ok().and_then(|mut rr| rr.pick(rng)),
            Balancer::LeastRequest(lr) => lr.lock().ok().and_then(|mut guard| {
                let (lr, active) = &mut *guard;
                lr.pick(active, rng)
            }),
            Balancer::Hashed(kind, table) => {
                // Built by the first pick of this state; concurrent pickers wait for it.
                let table = table.get_or_init(|| state.build_table(*kind));
                if let HashTable::Random = table {
                    random::pick(state.hosts.len(), rng)
                } else {
                    // Envoy's `ThreadAwareLoadBalancerBase::LoadBalancerImpl::chooseHost`
                    // (`source/extensions/load_balancing_policies/common/thread_aware_lb_impl.cc`):
                    // no hash (absent header, ...) means a random one.
                    let result = hash_policy::hash(&self.policy.hash, input);
                    cookie = result.set_cookie;
                    let hash = result.hash.unwrap_or_else(|| rng.next_u64());
                    match table {
                        HashTable::Ring(ring) => ring.pick(hash, 0),
                        HashTable::Maglev(maglev) => maglev.pick(hash, 0),
                        HashTable::Random => None,
                    }
                }
            }
        };
        let picked = host
            .and_then(|h| state.hosts.get(h).copied())
            .ok_or(NoEndpoint::NoHealthyUpstream)?;
        // Only a request that gets this endpoint is told to keep the cookie.
        *set_cookie = cookie;
        Ok(picked)
    }

    #[cfg(feature = "tower")]
    /// Admits one more request in flight, or says which threshold it would cross. Envoy's
    /// HTTP/1 pool sends one request per connection and queues up to `max_pending_requests`
    /// more (`source/common/conn_pool/conn_pool_base.cc`); HTTP/2 multiplexes, so only
    /// `max_requests` applies. Undo with [`Cluster::release_request`].
    pub(crate) fn admit_request(&self, http2: bool) -> Result<(), Overflow> {
        let limits = self.policy.limits;
        let pending_cap = limits
            .max_connections
            .saturating_add(limits.max_pending_requests);
        let mut refused = None;
        let admitted = self
            .requests
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |active| {
                if active >= limits.max_requests {
                    refused = Some(Overflow::Requests);
                    None
                } else if !http2 && active >= pending_cap {
                    refused = Some(Overflow::Pending);
                    None
                } else {
                    Some(active.saturating_add(1))
                }
            });
        match (admitted, refused) {
            (Ok(_), _) => Ok(()),
            (Err(_), Some(overflow)) => Err(overflow),
            (Err(_), None) => Err(Overflow::Requests),
        }
    }

    #[cfg(feature = "tower")]
    /// Ends a request admitted by [`Cluster::admit_request`].
    pub(crate) fn release_request(&self) {
        let _ = self
            .requests
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    #[cfg(feature = "tower")]
    /// Admits one more retry in flight (`max_retries`); `false` is Envoy's
    /// `upstream_rq_retry_overflow`: the retry is not made. Undo with
    /// [`Cluster::release_retry`].
    pub(crate) fn admit_retry(&self) -> bool {
        let max = self.policy.limits.max_retries;
        self.retries
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then(|| n.saturating_add(1))
            })
            .is_ok()
    }

    #[cfg(feature = "tower")]
    /// Ends a retry admitted by [`Cluster::admit_retry`].
    pub(crate) fn release_retry(&self) {
        let _ = self
            .retries
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Requests and retries in flight.
    #[cfg(feature = "metrics")]
    pub(crate) fn in_flight(&self) -> (u32, u32) {
        (
            self.requests.load(Ordering::Acquire),
            self.retries.load(Ordering::Acquire),
        )
    }

    #[cfg(feature = "tower")]
    /// Whether outlier detection is configured.
    pub(crate) fn detects_outliers(&self) -> bool {
        self.outlier.is_some()
    }

    /// Endpoints currently ejected by outlier detection.
    #[cfg(feature = "metrics")]
    pub(crate) fn ejected(&self) -> usize {
        self.outlier
            .as_ref()
            .and_then(|o| o.lock().ok())
            .and_then(|d| d.as_ref().map(OutlierDetector::ejected_count))
            .unwrap_or(0)
    }

    #[cfg(feature = "tower")]
    /// Whether the balancer hashes the request (ring hash, Maglev): retries then go to the
    /// same host (Istio leaves out the `previous_hosts` predicate).
    pub(crate) fn hashes(&self) -> bool {
        matches!(
            self.policy.lb,
            LbPolicy::RingHash { .. } | LbPolicy::Maglev { .. }
        )
    }

    /// Counts a request as active on `endpoint` (least request); undo with [`Cluster::finish`].
    pub(crate) fn start(&self, state: &ClusterState, endpoint: usize) {
        if let Balancer::LeastRequest(lr) = &state.balancer {
            if let Ok(mut guard) = lr.lock() {
                if let Some(slot) = state.hosts.iter().position(|h| *h == endpoint) {
                    if let Some(count) = guard.1.get_mut(slot) {
                        *count = count.saturating_add(1);
                    }
                }
            }
        }
    }

    /// Ends a request counted by [`Cluster::start`].
    pub(crate) fn finish(&self, state: &ClusterState, endpoint: usize) {
        if let Balancer::LeastRequest(lr) = &state.balancer {
            if let Ok(mut guard) = lr.lock() {
                if let Some(slot) = state.hosts.iter().position(|h| *h == endpoint) {
                    if let Some(count) = guard.1.get_mut(slot) {
                        *count = count.saturating_sub(1);
                    }
                }
            }
        }
    }
}

/// Builds the balancer over the healthy hosts (all hosts in panic: healthy share below the panic
/// threshold, Envoy's `LoadBalancerBase::recalculatePerPriorityPanic` in
/// `source/extensions/load_balancing_policies/common/load_balancer_impl.cc`).
fn build_state(
    policy: &ClusterPolicy,
    endpoints: Vec<Endpoint>,
    ejected: Option<&[bool]>,
    seed: u64,
    known: bool,
    generation: u64,
) -> ClusterState {
    let healthy: Vec<usize> = (0..endpoints.len())
        .filter(|i| !ejected.and_then(|e| e.get(*i)).copied().unwrap_or(false))
        .collect();
    let total = endpoints.len();
    let panic = in_panic(healthy.len(), total, policy.panic_threshold);
    let hosts: Vec<usize> = if panic { (0..total).collect() } else { healthy };
    let weights = || -> Vec<u32> {
        hosts
            .iter()
            .filter_map(|&i| endpoints.get(i).map(|e| e.weight.max(1)))
            .collect()
    };
    let balancer = match &policy.lb {
        LbPolicy::Passthrough => Balancer::Passthrough,
        LbPolicy::Random => Balancer::Random,
        LbPolicy::RoundRobin => Balancer::RoundRobin(Mutex::new(RoundRobin::new(&weights(), seed))),
        LbPolicy::LeastRequest => {
            let weights = weights();
            Balancer::LeastRequest(Mutex::new((
                LeastRequest::new(&weights, LeastRequestConfig::default(), seed),
                vec![0; weights.len()],
            )))
        }
        // Built on the first pick (`ClusterState::build_table`).
        LbPolicy::RingHash { minimum_ring_size } => Balancer::Hashed(
            HashKind::Ring {
                minimum_ring_size: *minimum_ring_size,
            },
            OnceLock::new(),
        ),
        LbPolicy::Maglev { table_size } => Balancer::Hashed(
            HashKind::Maglev {
                table_size: *table_size,
            },
            OnceLock::new(),
        ),
    };
    #[cfg(feature = "tower")]
    let authorities = endpoints.iter().map(|e| e.address.parse().ok()).collect();
    ClusterState {
        endpoints,
        #[cfg(feature = "tower")]
        authorities,
        hosts,
        balancer,
        known,
        generation,
    }
}

impl ClusterState {
    /// Builds the consistent-hash table over the hosts the balancer chooses among, each keyed
    /// by its address with its weight (0 counting as 1), in host-set order. Bounded by Envoy's
    /// own limits: a ring has at most `maximum_ring_size` entries (8388608, 72 MiB over up to
    /// 256 hosts), a Maglev table at most 5000011 slots (20 MB).
    fn build_table(&self, kind: HashKind) -> HashTable {
        let keys: Vec<(&str, u32)> = self
            .hosts
            .iter()
            .filter_map(|&i| {
                self.endpoints
                    .get(i)
                    .map(|e| (e.address.as_str(), e.weight.max(1)))
            })
            .collect();
        match kind {
            HashKind::Ring { minimum_ring_size } => {
                match RingHash::build(&keys, minimum_ring_size, RingHash::DEFAULT_MAX_RING_SIZE) {
                    Ok(ring) => HashTable::Ring(ring),
                    Err(error) => {
                        tracing::warn!(%error, "ring hash could not be built; using random");
                        HashTable::Random
                    }
                }
            }
            HashKind::Maglev { table_size } => match Maglev::build(&keys, table_size) {
                Ok(table) => HashTable::Maglev(table),
                Err(error) => {
                    tracing::warn!(%error, "maglev table could not be built; using random");
                    HashTable::Random
                }
            },
        }
    }

    /// Whether the consistent-hash table, if the balancer has one, has been built.
    #[cfg(test)]
    fn table_built(&self) -> Option<bool> {
        match &self.balancer {
            Balancer::Hashed(_, table) => Some(table.get().is_some()),
            _ => None,
        }
    }

    /// Whether the balancer chooses among endpoint `index` (healthy, or the cluster is in
    /// panic).
    #[cfg(feature = "tower")]
    pub(crate) fn balances(&self, index: usize) -> bool {
        self.hosts.contains(&index)
    }

    /// Whether endpoints are known for this cluster at all.
    pub(crate) fn known(&self) -> bool {
        self.known
    }
}

/// `(subset, port, DestinationRule choice, cluster index)` of one host's clusters.
type HostClusters = Vec<(Option<Box<str>>, u16, u32, u32)>;

/// All clusters, and how to find them without allocating.
#[derive(Debug, Default)]
pub(crate) struct Clusters {
    clusters: Vec<Cluster>,
    /// host → `(subset, port, DestinationRule choice, cluster index)`.
    by_host: FxHashMap<Box<str>, HostClusters>,
}

impl Clusters {
    /// The cluster for `host` / `subset` / `port` under DestinationRule choice `rule` (the
    /// scope's; `NO_RULE` when none applies).
    pub(crate) fn find(
        &self,
        host: &str,
        subset: Option<&str>,
        port: u16,
        rule: u32,
    ) -> Option<u32> {
        self.by_host
            .get(host)?
            .iter()
            .find(|(s, p, r, _)| *p == port && *r == rule && s.as_deref() == subset)
            .map(|(_, _, _, i)| *i)
    }

    pub(crate) fn get(&self, index: u32) -> Option<&Cluster> {
        self.clusters.get(usize::try_from(index).ok()?)
    }

    /// Every cluster.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Cluster> {
        self.clusters.iter()
    }

    #[cfg(feature = "tower")]
    /// Every cluster of `host`, any port.
    pub(crate) fn of_host_port_any(&self, host: &str) -> impl Iterator<Item = &Cluster> {
        self.by_host
            .get(host)
            .into_iter()
            .flatten()
            .filter_map(|(_, _, _, i)| self.get(*i))
    }

    /// Every cluster of `host` on `port` (all subsets).
    pub(crate) fn of_host_port(&self, host: &str, port: u16) -> impl Iterator<Item = &Cluster> {
        self.by_host
            .get(host)
            .into_iter()
            .flatten()
            .filter(move |(_, p, _, _)| *p == port)
            .filter_map(|(_, _, _, i)| self.get(*i))
    }

    pub(crate) fn add(&mut self, cluster: Cluster) -> u32 {
        let index = u32::try_from(self.clusters.len()).unwrap_or(u32::MAX);
        self.by_host.entry(cluster.host.clone()).or_default().push((
            cluster.subset.clone(),
            cluster.port,
            cluster.rule,
            index,
        ));
        self.clusters.push(cluster);
        index
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::util::rng::FastRng;

    fn endpoints(weights: &[u32]) -> Vec<Endpoint> {
        (0_u8..)
            .zip(weights)
            .map(|(i, &w)| Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)), 80).with_weight(w))
            .collect()
    }

    fn cluster(lb: LbPolicy, all: &[Endpoint]) -> Cluster {
        let policy = ClusterPolicy {
            lb,
            hash: vec![HashPolicy::Header {
                name: http::HeaderName::from_static("x-user"),
            }],
            ..ClusterPolicy::default()
        };
        Cluster::new("h", None, 80, 0, None, policy, Some(all), 7)
    }

    fn pick(cluster: &Cluster, state: &ClusterState, user: &str) -> Option<usize> {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-user", http::HeaderValue::from_str(user).ok()?);
        let input = HashInput {
            headers: &headers,
            path_and_query: "/",
            source_ip: None,
            downstream: None,
        };
        cluster
            .pick(state, &input, &mut FastRng::from_seed(1), &mut None)
            .ok()
    }

    /// A consistent-hash table is built by the first pick of a state, never by making the
    /// state: not at compile time, not when endpoints are replaced, not when a host is ejected.
    /// Weights 1 and 4294967294 would build Envoy's largest ring (8388608 entries) for each.
    #[test]
    fn hash_tables_are_built_on_first_pick() {
        let hostile = endpoints(&[1, u32::MAX - 1]);
        for lb in [
            LbPolicy::RingHash {
                minimum_ring_size: 1024,
            },
            LbPolicy::Maglev { table_size: 65537 },
        ] {
            let c = cluster(lb.clone(), &hostile);
            assert_eq!(c.state().table_built(), Some(false), "{lb:?}");
            c.set_endpoints(&endpoints(&[1, 2, 3]));
            let state = c.state();
            assert_eq!(state.table_built(), Some(false), "{lb:?}");
            let first = pick(&c, &state, "alice");
            assert!(first.is_some());
            assert_eq!(state.table_built(), Some(true), "{lb:?}");
            assert_eq!(pick(&c, &state, "alice"), first, "the same table answers");
        }
    }

    /// An ejection rebuilds the state without its table; its next pick builds it.
    #[test]
    fn ejection_rebuilds_stay_lazy() {
        let policy = ClusterPolicy {
            lb: LbPolicy::RingHash {
                minimum_ring_size: 64,
            },
            outlier: Some(OutlierConfig {
                consecutive_5xx: Some(1),
                max_ejection_percent: 100,
                ..OutlierConfig::default()
            }),
            panic_threshold: 0,
            ..ClusterPolicy::default()
        };
        let all = endpoints(&[1, 1, 1]);
        let c = Cluster::new("h", None, 80, 0, None, policy, Some(&all), 7);
        let before = c.state();
        let now = Instant::now();
        c.report(&before, 0, UpstreamResult::Status(503), now);
        let after = c.state();
        assert!(
            !Arc::ptr_eq(&before, &after),
            "the ejection rebuilt the state"
        );
        assert_eq!(after.table_built(), Some(false));
        assert!(!after.hosts.contains(&0), "host 0 is ejected");
    }
}
