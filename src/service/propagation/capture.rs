use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use tower::{Layer, Service};

use crate::propagation::{Propagation, RoutingContext};

/// Decides whether an inbound request's routing flags are trusted (kept) at the edge.
type TrustFn = Arc<dyn Fn(&http::request::Parts) -> bool + Send + Sync>;

/// Captures the routing context of each inbound request: the headers and query parameters a
/// [`Propagation`] allows, into a request extension (`Arc<RoutingContext>`) and a task-local
/// that [`RoutingContext::current`] reads while the handler runs, so that
/// [`OutboundLayer`](crate::service::OutboundLayer) and [`InjectLayer`](crate::service::InjectLayer)
/// put them on every call the handler makes.
#[derive(Clone)]
pub struct CaptureLayer {
    propagation: Arc<Propagation>,
    strip: Option<(Arc<Propagation>, TrustFn)>,
}

impl std::fmt::Debug for CaptureLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureLayer")
            .field("propagation", &self.propagation)
            .field("strips_untrusted", &self.strip.is_some())
            .finish()
    }
}

impl CaptureLayer {
    /// Captures what `propagation` allows.
    pub fn new(propagation: Propagation) -> Self {
        Self {
            propagation: Arc::new(propagation),
            strip: None,
        }
    }

    /// At the edge: removes the routing flags `routing` names (the mesh's referenced headers and
    /// query parameters, not the trace headers) from requests that `trusted` rejects, before
    /// capture, so that outside clients cannot pick the canary themselves.
    pub fn strip_untrusted(
        mut self,
        routing: Propagation,
        trusted: impl Fn(&http::request::Parts) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.strip = Some((Arc::new(routing), Arc::new(trusted)));
        self
    }
}

impl<S> Layer<S> for CaptureLayer {
    type Service = Capture<S>;

    fn layer(&self, inner: S) -> Capture<S> {
        Capture {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`CaptureLayer`] produces.
#[derive(Clone, Debug)]
pub struct Capture<S> {
    inner: S,
    layer: CaptureLayer,
}

impl<S, B> Service<Request<B>> for Capture<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tokio::task::futures::TaskLocalFuture<Arc<RoutingContext>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut request = request;
        if let Some((routing, trusted)) = &self.layer.strip {
            let (mut parts, body) = request.into_parts();
            if !trusted(&parts) {
                routing.strip_routing_flags(&mut parts);
            }
            request = Request::from_parts(parts, body);
        }
        let context = Arc::new(RoutingContext::capture(&self.layer.propagation, &request));
        request.extensions_mut().insert(Arc::clone(&context));
        RoutingContext::scope(context, self.inner.call(request))
    }
}
