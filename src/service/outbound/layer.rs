use std::sync::Arc;

use tower::Layer;

use super::service::Outbound;
use super::settings::Settings;
use crate::live::SharedMesh;
use crate::propagation::Propagation;
use crate::route::source::Source;
use crate::util::rng::{Rng, SharedRng};

/// Wraps an HTTP client service (hyper-util's client, or any `Service<Request<B>>`): each
/// request is routed by its authority as the caller's sidecar would route it, the endpoint is
/// picked with the destination's load balancer, the URI is rewritten to the endpoint (the
/// `Host` header keeps the service name), header operations and rewrites are applied, and
/// redirects, direct responses, no route (404), a missing subset (503 NC) and no healthy
/// endpoint (503 UH) are answered locally, as Envoy answers them (with a
/// [`LocalReply`](crate::service::LocalReply) extension saying why). The routing context of the
/// inbound request being handled (see [`CaptureLayer`](crate::service::CaptureLayer)) is
/// injected first.
///
/// **Only real addresses are dialled.** Endpoints come from the application
/// ([`SharedMesh::set_endpoints`]) or from ServiceEntries, WorkloadEntries and Pods with a
/// `status.podIP`. The addresses meshroute makes up for a Deployment's replicas (or a Pod
/// without an IP) are for simulation: a request whose pick is such an address is answered 503
/// `UH` (Envoy's answer for a cluster without a healthy endpoint), unless the application opts
/// into [`OutboundLayer::dns_fallback`], which sends it to the service's DNS name instead.
/// A host the configuration has no endpoints for at all is sent to the authority the
/// application gave, unchanged.
///
/// **The route's policies are applied as the sidecar applies them** (see the guide
/// `docs/resilience.md`):
///
/// - fault injection: the delay, then the abort (HTTP status, or `grpc-status` for a gRPC
///   request), drawn with the route's percentages from the layer's random source;
/// - the route `timeout` over every attempt and back-off (504, flag `UT`), and
///   `retries.perTryTimeout` per attempt;
/// - retries on Envoy's `retryOn` conditions (Istio's default policy when the route has none),
///   with Envoy's jittered exponential back-off, each on another endpoint; the request body
///   is kept up to [`retry_buffer_limit`](Self::retry_buffer_limit) for that;
/// - the DestinationRule's `connectionPool` limits per cluster (503 `UO` at once, never
///   queued) and `maxRetries`;
/// - every attempt's outcome feeds outlier detection (ejected endpoints leave the balancer
///   and come back on the configured interval, on a clock the tokio runtime drives) and
///   least-request counts;
/// - mirrors, fire-and-forget, at most [`max_mirrors_in_flight`](Self::max_mirrors_in_flight);
/// - local replies to gRPC requests are trailers-only with Envoy's `grpc-status`.
///
/// The wrapped client gets the request with a [`RequestBody`](crate::service::RequestBody)
/// (the application's body, replayable) and must be `Clone` (retries and mirrors call
/// clones); hyper-util's `Client<C, RequestBody<B>>` is both. Its errors are answered as
/// Envoy answers a failed upstream: 503 with flag `UF` (connect failure) or `UC`.
#[derive(Debug, Clone)]
pub struct OutboundLayer {
    settings: Arc<Settings>,
}

impl OutboundLayer {
    /// Routes as a sidecar of `source` (its namespace and labels), injecting the current
    /// routing context into every request.
    pub fn new(mesh: SharedMesh, source: Source) -> Self {
        Self {
            settings: Arc::new(Settings {
                mesh,
                source: Arc::new(source),
                propagation: Some(Arc::new(Propagation::default())),
                rng: None,
                dns_fallback: false,
                warned: Arc::default(),
                replay_limit: DEFAULT_REPLAY_LIMIT,
                max_mirrors: DEFAULT_MAX_MIRRORS,
                shadow_suffix: false,
                mirrors: Arc::default(),
                clock: Arc::default(),
                alive: Arc::default(),
            }),
        }
    }

    /// Limits or disables propagation: `None` injects nothing; `Some(p)` with
    /// [`Propagation::in_mesh_only`] injects only into requests for hosts the mesh knows.
    pub fn propagation(mut self, propagation: Option<Propagation>) -> Self {
        Arc::make_mut(&mut self.settings).propagation = propagation.map(Arc::new);
        self
    }

    /// Draws weighted choices and load-balancer picks from a generator seeded from `rng`
    /// (shared by every clone of the layer and its services), so that a sequence of requests
    /// replays exactly; by default each thread draws from its own entropy-seeded generator.
    pub fn with_rng(mut self, mut rng: impl Rng) -> Self {
        Arc::make_mut(&mut self.settings).rng = Some(SharedRng::from_rng(&mut rng));
        self
    }

    /// When the picked endpoint's address was made up for simulation, send the request to the
    /// destination service's DNS name and port (`svc-b.default.svc.cluster.local:8080`) instead
    /// of answering 503: for applications that run where cluster DNS resolves service names.
    pub fn dns_fallback(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.settings).dns_fallback = enabled;
        self
    }
}

/// Bytes of a request body kept for retries and mirrors by default: Envoy's default
/// connection buffer limit (`per_connection_buffer_limit_bytes`, 1 MiB).
const DEFAULT_REPLAY_LIMIT: usize = 1024 * 1024;

/// Mirrors in flight at most, by default.
const DEFAULT_MAX_MIRRORS: usize = 256;

impl OutboundLayer {
    /// Keeps up to `bytes` of each request body so that a retry or a mirror can send it again
    /// (default 1 MiB, Envoy's default buffer limit). A longer body streams on, but a failed
    /// attempt is not retried and it is not mirrored, as in Envoy.
    pub fn retry_buffer_limit(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.settings).replay_limit = bytes;
        self
    }

    /// Runs at most `limit` mirrors at once (default 256); mirrors over it are dropped and
    /// counted in [`OutboundStats::mirrors_dropped`].
    pub fn max_mirrors_in_flight(mut self, limit: usize) -> Self {
        Arc::make_mut(&mut self.settings).max_mirrors = limit;
        self
    }

    /// Appends Envoy's `-shadow` to the `Host` of mirrored requests (`foo:8080` becomes
    /// `foo-shadow:8080`). Off by default: Istio configures Envoy without it
    /// (`DISABLE_SHADOW_HOST_SUFFIX`, true by default since Istio 1.22).
    pub fn shadow_host_suffix(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.settings).shadow_suffix = enabled;
        self
    }

    /// Counts of what this layer and its services did that no response shows.
    pub fn stats(&self) -> OutboundStats {
        use std::sync::atomic::Ordering;
        let mirrors = &self.settings.mirrors;
        OutboundStats {
            mirrors_sent: mirrors.sent.load(Ordering::Relaxed),
            mirrors_dropped: mirrors.dropped.load(Ordering::Relaxed),
            mirrors_in_flight: mirrors.in_flight.load(Ordering::Relaxed),
        }
    }
}

/// Counts of an [`OutboundLayer`] and its services (see [`OutboundLayer::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboundStats {
    /// Mirrors sent and finished (answered, failed or timed out).
    pub mirrors_sent: u64,
    /// Mirrors dropped: too many in flight, no real endpoint, no runtime, or a body over the
    /// replay limit.
    pub mirrors_dropped: u64,
    /// Mirrors in flight now.
    pub mirrors_in_flight: usize,
}

impl<S> Layer<S> for OutboundLayer {
    type Service = Outbound<S>;

    fn layer(&self, inner: S) -> Outbound<S> {
        Outbound::new(inner, Arc::clone(&self.settings))
    }
}
