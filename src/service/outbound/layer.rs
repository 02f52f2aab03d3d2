use std::sync::Arc;

use tower::Layer;

use super::service::{Outbound, Settings};
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
/// Timeouts, retries, fault injection, mirroring and outlier feedback are the next layer's job;
/// the decision this layer makes carries them.
#[derive(Debug, Clone)]
pub struct OutboundLayer {
    settings: Settings,
}

impl OutboundLayer {
    /// Routes as a sidecar of `source` (its namespace and labels), injecting the current
    /// routing context into every request.
    pub fn new(mesh: SharedMesh, source: Source) -> Self {
        Self {
            settings: Settings {
                mesh,
                source: Arc::new(source),
                propagation: Some(Arc::new(Propagation::default())),
                rng: None,
                dns_fallback: false,
                warned: Arc::default(),
            },
        }
    }

    /// Limits or disables propagation: `None` injects nothing; `Some(p)` with
    /// [`Propagation::in_mesh_only`] injects only into requests for hosts the mesh knows.
    pub fn propagation(mut self, propagation: Option<Propagation>) -> Self {
        self.settings.propagation = propagation.map(Arc::new);
        self
    }

    /// Draws weighted choices and load-balancer picks from a generator seeded from `rng`
    /// (shared by every clone of the layer and its services), so that a sequence of requests
    /// replays exactly; by default each thread draws from its own entropy-seeded generator.
    pub fn with_rng(mut self, mut rng: impl Rng) -> Self {
        self.settings.rng = Some(SharedRng::from_rng(&mut rng));
        self
    }

    /// When the picked endpoint's address was made up for simulation, send the request to the
    /// destination service's DNS name and port (`svc-b.default.svc.cluster.local:8080`) instead
    /// of answering 503: for applications that run where cluster DNS resolves service names.
    pub fn dns_fallback(mut self, enabled: bool) -> Self {
        self.settings.dns_fallback = enabled;
        self
    }
}

impl<S> Layer<S> for OutboundLayer {
    type Service = Outbound<S>;

    fn layer(&self, inner: S) -> Outbound<S> {
        Outbound::new(inner, self.settings.clone())
    }
}
