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

use http::{HeaderName, HeaderValue, Request};
use tower::{Layer, Service};

use crate::mesh::Mesh;

/// The trace headers Istio's documentation asks applications to forward.
pub const TRACE_HEADERS: [&str; 12] = [
    "x-request-id",
    "traceparent",
    "tracestate",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "b3",
    "x-ot-span-context",
    "x-cloud-trace-context",
    "baggage",
];

/// Which headers and query parameters travel from inbound to outbound requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Propagation {
    headers: Vec<HeaderName>,
    query: Vec<String>,
    in_mesh_only: bool,
}

impl Default for Propagation {
    /// The trace headers only.
    fn default() -> Self {
        Self {
            headers: TRACE_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect(),
            query: Vec::new(),
            in_mesh_only: false,
        }
    }
}

impl Propagation {
    /// The trace headers plus every header and query parameter the mesh's VirtualServices match
    /// on.
    pub fn from_mesh(mesh: &Mesh) -> Self {
        let mut propagation = Self::default();
        for name in mesh.referenced_headers() {
            propagation = propagation.with_header(&name);
        }
        for name in mesh.referenced_query_params() {
            propagation = propagation.with_query_param(&name);
        }
        propagation
    }

    /// Also propagate this header (ignored if it is not a valid header name).
    pub fn with_header(mut self, name: &str) -> Self {
        if let Ok(name) = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) {
            if !self.headers.contains(&name) {
                self.headers.push(name);
            }
        }
        self
    }

    /// Also propagate this query parameter.
    pub fn with_query_param(mut self, name: &str) -> Self {
        if !self.query.iter().any(|q| q == name) {
            self.query.push(name.to_owned());
        }
        self
    }

    /// Inject only into requests for hosts the mesh knows (see [`Mesh::knows_host`]).
    pub fn in_mesh_only(mut self, yes: bool) -> Self {
        self.in_mesh_only = yes;
        self
    }

    /// Whether injection is limited to in-mesh hosts.
    pub fn is_in_mesh_only(&self) -> bool {
        self.in_mesh_only
    }

    /// The propagated headers.
    pub fn headers(&self) -> &[HeaderName] {
        &self.headers
    }

    /// The propagated query parameters.
    pub fn query_params(&self) -> &[String] {
        &self.query
    }
}

/// The routing flags captured from one inbound request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingContext {
    headers: Vec<(HeaderName, HeaderValue)>,
    query: Vec<(String, String)>,
}

tokio::task_local! {
    static CURRENT: Arc<RoutingContext>;
}

impl RoutingContext {
    /// Takes the allowlisted headers (every value) and query parameters (first value, raw) of
    /// `request`.
    pub fn capture<B>(propagation: &Propagation, request: &Request<B>) -> Self {
        let mut context = Self::default();
        for name in &propagation.headers {
            for value in request.headers().get_all(name) {
                context.headers.push((name.clone(), value.clone()));
            }
        }
        let query = request.uri().query().unwrap_or("");
        for name in &propagation.query {
            if let Some(value) = crate::matching::query_value(query, name) {
                context.query.push((name.clone(), value.to_owned()));
            }
        }
        context
    }

    /// Whether nothing was captured.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.query.is_empty()
    }

    /// The captured headers.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The captured query parameters (raw values).
    pub fn query_params(&self) -> &[(String, String)] {
        &self.query
    }

    /// Copies the context onto `request`: headers it does not have yet, query parameters it
    /// does not have yet (appended raw). Nothing it already carries is overwritten.
    pub fn inject<B>(&self, request: &mut Request<B>) {
        // Headers the outgoing request already has are left alone; the others get every
        // captured value. `capture` stores the values of one name next to each other, so the
        // check is made on a name's first value (later ones follow it), without collecting.
        let mut current: Option<(&HeaderName, bool)> = None;
        for (name, value) in &self.headers {
            let inject = match current {
                Some((previous, inject)) if previous == name => inject,
                _ => !request.headers().contains_key(name),
            };
            current = Some((name, inject));
            if inject {
                request.headers_mut().append(name.clone(), value.clone());
            }
        }
        if self.query.is_empty() {
            return;
        }
        let existing = request.uri().query().unwrap_or("").to_owned();
        let missing: Vec<&(String, String)> = self
            .query
            .iter()
            .filter(|(name, _)| crate::matching::query_value(&existing, name).is_none())
            .collect();
        if missing.is_empty() {
            return;
        }
        let mut query = existing;
        for (name, value) in missing {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(name);
            query.push('=');
            query.push_str(value);
        }
        let path = request.uri().path().to_owned();
        let mut parts = request.uri().clone().into_parts();
        match format!("{path}?{query}").parse() {
            Ok(pq) => {
                parts.path_and_query = Some(pq);
                if let Ok(uri) = http::Uri::from_parts(parts) {
                    *request.uri_mut() = uri;
                }
            }
            Err(error) => tracing::debug!(%error, "propagated query parameters not injected"),
        }
    }

    /// The context of the inbound request the current task is handling, if any.
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
    for name in &routing.headers {
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
            !routing.query.iter().any(|q| q == key)
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
