//! The outbound client layer: route each outgoing request the way the caller's sidecar would,
//! pick the endpoint, and send the request there.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tower::{Layer, Service};

use super::body::ResponseBody;
use super::future::{After, ResponseFuture};
use super::local::{local_reply, span};
use super::propagation::{Propagation, RoutingContext, request_host};
use super::shared::SharedMesh;
use crate::decision::HeaderOps;
use crate::mesh::Source;
use crate::select::ThreadRng;

/// Wraps an HTTP client service (hyper-util's client, or any `Service<Request<B>>`): each
/// request is routed by its authority as the caller's sidecar would route it, the endpoint is
/// picked with the destination's load balancer, the URI is rewritten to the endpoint (the
/// `Host` header keeps the service name), header operations and rewrites are applied, and
/// redirects, direct responses, no route (404), a missing subset (503 NC) and no healthy
/// endpoint (503 UH) are answered locally, as Envoy answers them. The routing context of the
/// inbound request being handled (see [`CaptureLayer`](super::CaptureLayer)) is injected first.
///
/// Timeouts, retries, fault injection, mirroring and outlier feedback are the next layer's job;
/// the decision this layer makes carries them.
#[derive(Debug, Clone)]
pub struct OutboundLayer {
    mesh: SharedMesh,
    source: Arc<Source>,
    propagation: Option<Arc<Propagation>>,
}

impl OutboundLayer {
    /// Routes as a sidecar of `source` (its namespace and labels), injecting the current
    /// routing context into every request.
    pub fn new(mesh: SharedMesh, source: Source) -> Self {
        Self {
            mesh,
            source: Arc::new(source),
            propagation: Some(Arc::new(Propagation::default())),
        }
    }

    /// Limits or disables propagation: `None` injects nothing; `Some(p)` with
    /// [`Propagation::in_mesh_only`] injects only into requests for hosts the mesh knows.
    pub fn propagation(mut self, propagation: Option<Propagation>) -> Self {
        self.propagation = propagation.map(Arc::new);
        self
    }
}

impl<S> Layer<S> for OutboundLayer {
    type Service = Outbound<S>;

    fn layer(&self, inner: S) -> Outbound<S> {
        Outbound {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`OutboundLayer`] produces.
#[derive(Debug, Clone)]
pub struct Outbound<S> {
    inner: S,
    layer: OutboundLayer,
}

struct Forward {
    endpoint: Option<String>,
    path_and_query: Option<String>,
    authority: Option<String>,
    request_ops: Option<HeaderOps>,
    response_ops: Option<HeaderOps>,
    set_cookie: Option<String>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Outbound<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let mesh = self.layer.mesh.load();
        let source = &self.layer.source;
        if let (Some(propagation), Some(context)) =
            (&self.layer.propagation, RoutingContext::current())
        {
            let allowed = !propagation.is_in_mesh_only()
                || request_host(&request).is_some_and(|h| mesh.knows_host(h, source.namespace()));
            if allowed {
                context.inject(&mut request);
            }
        }
        let (forward, local, guard) = {
            let decision = mesh.route_with(&request, source, &mut ThreadRng);
            let _entered = span(&decision, "outbound").entered();
            if let Some(response) = local_reply::<ResBody>(&decision) {
                (None, Some(response), None)
            } else {
                let request_ops = decision.request_headers();
                let response_ops = decision.response_headers();
                let forward = Forward {
                    endpoint: decision.endpoint().map(|e| e.address.clone()),
                    path_and_query: decision.rewritten_path_and_query(),
                    authority: decision.authority_rewrite().map(str::to_owned),
                    request_ops: (!request_ops.is_empty()).then(|| request_ops.clone()),
                    response_ops: (!response_ops.is_empty()).then(|| response_ops.clone()),
                    set_cookie: decision.set_cookie().map(str::to_owned),
                };
                (Some(forward), None, mesh.start_request(&decision))
            }
        };
        if let Some(response) = local {
            return ResponseFuture::local(response);
        }
        let Some(forward) = forward else {
            return ResponseFuture::local(Response::new(ResponseBody::local("")));
        };
        if let Some(ops) = &forward.request_ops {
            ops.apply(request.headers_mut());
        }
        let host_header = match &forward.authority {
            Some(authority) => HeaderValue::from_str(authority).ok(),
            None => request_host(&request).and_then(|h| HeaderValue::from_str(h).ok()),
        };
        if let Some(value) = host_header {
            request.headers_mut().insert(http::header::HOST, value);
        }
        let uri = match (&forward.endpoint, forward.path_and_query) {
            // The common case, an endpoint and the path kept: no text is formatted or parsed
            // again but the endpoint's address.
            (Some(address), None) => {
                let mut parts = http::uri::Parts::default();
                parts.scheme = Some(http::uri::Scheme::HTTP);
                parts.path_and_query = Some(
                    request
                        .uri()
                        .path_and_query()
                        .cloned()
                        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
                );
                address
                    .parse::<http::uri::Authority>()
                    .map_err(http::Error::from)
                    .and_then(|authority| {
                        parts.authority = Some(authority);
                        http::Uri::from_parts(parts).map_err(http::Error::from)
                    })
            }
            (endpoint, rewritten) => {
                let path_and_query = rewritten.unwrap_or_else(|| {
                    request
                        .uri()
                        .path_and_query()
                        .map_or("/", |p| p.as_str())
                        .to_owned()
                });
                let target = match endpoint {
                    Some(address) => format!("http://{address}{path_and_query}"),
                    None => {
                        let scheme = request.uri().scheme_str().unwrap_or("http");
                        match request_host(&request) {
                            Some(host) => format!("{scheme}://{host}{path_and_query}"),
                            None => path_and_query,
                        }
                    }
                };
                target.parse::<http::Uri>().map_err(http::Error::from)
            }
        };
        match uri {
            Ok(uri) => *request.uri_mut() = uri,
            Err(error) => tracing::debug!(%error, "request URI not rewritten"),
        }
        let after = After {
            response_ops: forward.response_ops,
            set_cookie: forward.set_cookie,
            active: guard,
        };
        ResponseFuture::inner(self.inner.call(request), after)
    }
}
