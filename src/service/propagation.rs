//! Context propagation: the routing flag that arrived on an inbound request travels to every
//! outbound call the handler makes.
//!
//! Header-based canaries break on the second hop when a service does not copy the flag onto its
//! own calls: the sidecar of the next hop never sees `x-canary` (or `?name=xx`) and routes to the
//! stable version. [`CaptureLayer`] takes the flags from each inbound request (into a request
//! extension and a task-local for the handler's future); the [`Outbound`](super::Outbound)
//! layer, or the standalone [`InjectLayer`], puts them on every outgoing request the handler
//! sends.
//!
//! What travels is an allowlist ([`Propagation`]):
//! - the trace headers Istio asks applications to forward: `x-request-id`, `traceparent`,
//!   `tracestate`, the B3 headers, `x-ot-span-context`, `x-cloud-trace-context`, `baggage`;
//! - every header and query parameter a VirtualService match refers to (from the mesh:
//!   [`Propagation::from_mesh`]; in the seed scenario, the `name` query parameter);
//! - names the application adds.
//!
//! Nothing else travels. Injection never overwrites what the outgoing request already carries,
//! can be limited to hosts the mesh knows ([`Propagation::in_mesh_only`]), and at the edge
//! [`CaptureLayer::strip_untrusted`] removes client-supplied routing flags unless the client is
//! trusted.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use tower::{Layer, Service};

use crate::mesh::Mesh;
pub use crate::propagation::{Propagation, RoutingContext, TRACE_HEADERS};

tokio::task_local! {
    static CURRENT: Arc<RoutingContext>;
}

impl RoutingContext {
    /// The context of the inbound request the current task is handling, if any (set by
    /// [`CaptureLayer`]).
    pub fn current() -> Option<Arc<RoutingContext>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    /// Runs `future` with `context` as the current context.
    pub fn scope<F: std::future::Future>(
        context: Arc<RoutingContext>,
        future: F,
    ) -> tokio::task::futures::TaskLocalFuture<Arc<RoutingContext>, F> {
        CURRENT.scope(context, future)
    }
}

/// Decides whether an inbound request's routing flags are trusted (kept) at the edge.
pub type TrustFn = Arc<dyn Fn(&http::request::Parts) -> bool + Send + Sync>;

/// Captures the routing context of each inbound request (see the module docs).
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
                strip(routing, &mut parts);
            }
            request = Request::from_parts(parts, body);
        }
        let context = Arc::new(RoutingContext::capture(&self.layer.propagation, &request));
        request.extensions_mut().insert(Arc::clone(&context));
        RoutingContext::scope(context, self.inner.call(request))
    }
}

fn strip(routing: &Propagation, parts: &mut http::request::Parts) {
    for name in routing.headers() {
        if !TRACE_HEADERS.contains(&name.as_str()) {
            parts.headers.remove(name);
        }
    }
    let Some(query) = parts.uri.query() else {
        return;
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|piece| {
            let key = piece.split_once('=').map_or(*piece, |(k, _)| k);
            !routing.query_params().iter().any(|q| q == key)
        })
        .collect();
    if kept.len() == query.split('&').count() {
        return;
    }
    let path = parts.uri.path();
    let pq = if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    let mut uri_parts = parts.uri.clone().into_parts();
    if let Ok(pq) = pq.parse() {
        uri_parts.path_and_query = Some(pq);
        if let Ok(uri) = http::Uri::from_parts(uri_parts) {
            parts.uri = uri;
        }
    }
}

/// Puts the current routing context on every outgoing request: for clients that do not route
/// through meshroute's [`Outbound`](super::Outbound) layer (which injects by itself).
#[derive(Debug, Clone, Default)]
pub struct InjectLayer {
    filter: Option<(Arc<Mesh>, String)>,
}

impl InjectLayer {
    /// Injects into every request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Injects only into requests for hosts `mesh` knows, as seen from `namespace`.
    pub fn in_mesh_only(mesh: Arc<Mesh>, namespace: impl Into<String>) -> Self {
        Self {
            filter: Some((mesh, namespace.into())),
        }
    }
}

impl<S> Layer<S> for InjectLayer {
    type Service = Inject<S>;

    fn layer(&self, inner: S) -> Inject<S> {
        Inject {
            inner,
            filter: self.filter.clone(),
        }
    }
}

/// The service [`InjectLayer`] produces.
#[derive(Debug, Clone)]
pub struct Inject<S> {
    inner: S,
    filter: Option<(Arc<Mesh>, String)>,
}

/// The host a request is sent to: its URI authority, else its `Host` header.
pub(crate) fn request_host<B>(request: &Request<B>) -> Option<&str> {
    request
        .uri()
        .authority()
        .map(http::uri::Authority::as_str)
        .or_else(|| {
            request
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
}

impl<S, B> Service<Request<B>> for Inject<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if let Some(context) = RoutingContext::current() {
            let allowed = match &self.filter {
                None => true,
                Some((mesh, namespace)) => {
                    request_host(&request).is_some_and(|h| mesh.knows_host(h, namespace))
                }
            };
            if allowed {
                context.inject(&mut request);
            }
        }
        self.inner.call(request)
    }
}
