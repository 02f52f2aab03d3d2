use std::collections::BTreeMap;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Service, ServiceExt};

use crate::live::{Observed, SharedMesh};
use crate::route::decision::Outcome;
use crate::route::policy::HeaderOps;
use crate::route::source::Source;
use crate::service::body::ResponseBody;
use crate::service::future::{After, ResponseFuture};
use crate::service::reply::{RouteInfo, is_grpc, local_reply, no_healthy_upstream, span};
use crate::util::rng::{Rng, SharedRng, ThreadRng};

/// Routes each request per the mesh, as a request to `host`, and calls the service registered
/// for the chosen destination subset, with the route's request header operations and URI /
/// authority rewrites applied (and its response header operations on the way back), as Envoy
/// applies them before the workload sees the request. The [`RouteInfo`] goes into the
/// request's extensions.
/// Redirects, direct responses, no route (404) and missing subsets (503) are answered the way
/// Envoy answers them, without calling any handler.
///
/// ```
/// use meshroute::SharedMesh;
/// use meshroute::service::Dispatch;
/// # fn demo(mesh: SharedMesh, v1: axum::Router, v2: axum::Router) {
/// let app = Dispatch::builder(mesh, "svc-b:8080")
///     .subset("v1", v1)
///     .subset("v2", v2)
///     .build();
/// # let _ = app; }
/// ```
#[derive(Debug, Clone)]
pub struct Dispatch<S> {
    mesh: SharedMesh,
    host: Arc<str>,
    source: Arc<Source>,
    subsets: Arc<BTreeMap<String, S>>,
    default: Option<S>,
    rng: Option<SharedRng>,
}

/// Builds a [`Dispatch`].
#[derive(Debug)]
pub struct DispatchBuilder<S> {
    mesh: SharedMesh,
    host: String,
    source: Source,
    subsets: BTreeMap<String, S>,
    default: Option<S>,
    rng: Option<SharedRng>,
}

impl<S> Dispatch<S> {
    /// Starts a dispatcher for the service reached as `host` (`name[:port]`, as callers address
    /// it). The caller is taken to be a sidecar in namespace `default` unless set.
    pub fn builder(mesh: SharedMesh, host: impl Into<String>) -> DispatchBuilder<S> {
        DispatchBuilder {
            mesh,
            host: host.into(),
            source: Source::default(),
            subsets: BTreeMap::new(),
            default: None,
            rng: None,
        }
    }
}

impl<S> DispatchBuilder<S> {
    /// The handler for a subset.
    pub fn subset(mut self, name: impl Into<String>, service: S) -> Self {
        self.subsets.insert(name.into(), service);
        self
    }

    /// The handler for decisions without a subset (no VirtualService, or a route without one).
    pub fn default_service(mut self, service: S) -> Self {
        self.default = Some(service);
        self
    }

    /// Who is calling (a sidecar's namespace and labels, or a gateway).
    pub fn source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// Draws weighted choices from a generator seeded from `rng` (shared by every clone of the
    /// dispatcher), so that a sequence of requests replays exactly; by default each thread draws
    /// from its own entropy-seeded generator.
    pub fn with_rng(mut self, mut rng: impl Rng) -> Self {
        self.rng = Some(SharedRng::from_rng(&mut rng));
        self
    }

    /// The dispatcher.
    pub fn build(self) -> Dispatch<S> {
        Dispatch {
            mesh: self.mesh,
            host: self.host.into(),
            source: Arc::new(self.source),
            subsets: Arc::new(self.subsets),
            default: self.default,
            rng: self.rng,
        }
    }
}

struct Edits {
    request_ops: Option<HeaderOps>,
    response_ops: Option<HeaderOps>,
    path_and_query: Option<String>,
    authority: Option<String>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Dispatch<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<tower::util::Oneshot<S, Request<ReqBody>>, ResBody>;

    /// Always ready: the chosen handler's readiness is awaited per call (`oneshot`).
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let mesh = self.mesh.load();
        let grpc = is_grpc(request.headers());
        let (target, info, local, edits, observed) = {
            let decision = match &self.rng {
                Some(rng) => mesh.route_as(&request, Some(&self.host), &self.source, &mut &*rng),
                None => mesh.route_as(&request, Some(&self.host), &self.source, &mut ThreadRng),
            };
            let _entered = span(&decision, "dispatch").entered();
            let info = RouteInfo::of(&decision);
            // In-process, the registered handler is the subset's workload: whether the mesh
            // knows endpoints for it (pods in the manifests) does not matter, so "no healthy
            // upstream" (503 UH) does not apply; a missing subset (503 NC) still does.
            let in_process = matches!(
                decision.outcome(),
                Outcome::Route | Outcome::NoVirtualService
            ) && decision.destination().is_some_and(|d| d.cluster_exists);
            let local = if in_process {
                None
            } else {
                local_reply::<ResBody>(&decision, grpc)
            };
            let target = match decision.outcome() {
                Outcome::Route | Outcome::NoVirtualService => {
                    match decision.destination().and_then(|d| d.subset) {
                        Some(subset) => self.subsets.get(subset).cloned(),
                        None => self.default.clone(),
                    }
                }
                _ => None,
            };
            // What Envoy does to the request before it reaches the workload, and to the
            // response on the way back: header operations, URI and authority rewrites.
            let request_ops = decision.request_headers();
            let response_ops = decision.response_headers();
            let edits = Edits {
                request_ops: (!request_ops.is_empty()).then(|| request_ops.clone()),
                response_ops: (!response_ops.is_empty()).then(|| response_ops.clone()),
                path_and_query: decision.rewritten_path_and_query(),
                authority: decision.authority_rewrite().map(str::to_owned),
            };
            let observed = target
                .is_some()
                .then(|| Observed::of(&self.mesh, &decision))
                .flatten();
            (target, info, local, edits, observed)
        };
        if let Some(response) = local {
            return ResponseFuture::local(response);
        }
        let Some(service) = target else {
            // No handler for the chosen subset: Envoy's answer for an upstream it cannot reach.
            tracing::debug!(subset = ?info.subset, "no handler registered for the chosen subset");
            let detail = format!(
                "no handler registered for subset {}",
                info.subset.as_deref().unwrap_or("(none)")
            );
            return ResponseFuture::local(no_healthy_upstream(detail, grpc));
        };
        request.extensions_mut().insert(info);
        if let Some(ops) = &edits.request_ops {
            ops.apply(request.headers_mut());
        }
        if let Some(value) = edits
            .authority
            .and_then(|a| http::HeaderValue::from_str(&a).ok())
        {
            request.headers_mut().insert(http::header::HOST, value);
        }
        if let Some(pq) = edits
            .path_and_query
            .and_then(|pq| pq.parse::<http::uri::PathAndQuery>().ok())
        {
            let mut parts = request.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(uri) = http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
        let after = After {
            response_ops: edits.response_ops,
            ..After::default()
        };
        ResponseFuture::inner(service.oneshot(request), after, observed)
    }
}
