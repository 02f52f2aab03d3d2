use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tower::Service;

use crate::live::SharedMesh;
use crate::propagation::{Propagation, RoutingContext};
use crate::route::decision::Decision;
use crate::route::policy::HeaderOps;
use crate::route::source::Source;
use crate::service::body::ResponseBody;
use crate::service::future::{After, ResponseFuture};
use crate::service::reply::{local_reply, no_healthy_upstream, span};
use crate::util::host::request_authority;
use crate::util::rng::{SharedRng, ThreadRng};

/// The service [`OutboundLayer`](super::OutboundLayer) produces.
#[derive(Debug, Clone)]
pub struct Outbound<S> {
    inner: S,
    layer: Settings,
}

/// What an [`OutboundLayer`](super::OutboundLayer) was built with, shared by its services.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) mesh: SharedMesh,
    pub(super) source: Arc<Source>,
    pub(super) propagation: Option<Arc<Propagation>>,
    pub(super) rng: Option<SharedRng>,
    pub(super) dns_fallback: bool,
    /// Hosts already warned about (simulated endpoints only), to log once per host.
    pub(super) warned: Arc<Mutex<BTreeSet<String>>>,
}

impl<S> Outbound<S> {
    pub(super) fn new(inner: S, layer: Settings) -> Self {
        Self { inner, layer }
    }
}

/// Where and how to forward, taken from the decision (which borrows the mesh snapshot).
struct Forward {
    /// The authority to dial: the endpoint, or the service's DNS name.
    target: Option<String>,
    path_and_query: Option<String>,
    authority: Option<String>,
    request_ops: Option<HeaderOps>,
    response_ops: Option<HeaderOps>,
    set_cookie: Option<String>,
}

/// What the decision says to do.
enum Plan {
    Forward(Forward),
    /// Answer 503 UH: the only endpoints of this host and port are simulated addresses.
    Simulated(String, u16),
}

impl<S> Outbound<S> {
    /// The plan for `decision`: forward (where), or answer 503 UH because the only endpoint
    /// known is a simulated address.
    fn plan(&self, decision: &Decision<'_>) -> Plan {
        let request_ops = decision.request_headers();
        let response_ops = decision.response_headers();
        let target = match decision.endpoint() {
            Some(endpoint) if endpoint.is_synthetic() => {
                let destination = decision.destination();
                let host = destination.map_or("", |d| d.host).to_owned();
                let port = destination.and_then(|d| d.port).unwrap_or(endpoint.port);
                if !self.layer.dns_fallback {
                    self.warn_once(&host, port);
                    return Plan::Simulated(host, port);
                }
                Some(format!("{host}:{port}"))
            }
            Some(endpoint) => Some(endpoint.address.clone()),
            None => None,
        };
        Plan::Forward(Forward {
            target,
            path_and_query: decision.rewritten_path_and_query(),
            authority: decision.authority_rewrite().map(str::to_owned),
            request_ops: (!request_ops.is_empty()).then(|| request_ops.clone()),
            response_ops: (!response_ops.is_empty()).then(|| response_ops.clone()),
            set_cookie: decision.set_cookie().map(str::to_owned),
        })
    }

    /// Logs, once per host, that its endpoints are simulated.
    fn warn_once(&self, host: &str, port: u16) {
        let first = self
            .layer
            .warned
            .lock()
            .is_ok_and(|mut warned| warned.insert(format!("{host}:{port}")));
        if first {
            tracing::warn!("{}", simulated(host, port));
        }
    }
}

/// What to tell the application when the only endpoints of `host` are simulated addresses.
fn simulated(host: &str, port: u16) -> String {
    format!(
        "no healthy upstream: the endpoints of {host}:{port} are addresses meshroute made up for simulation (a Deployment's replicas or Pods without status.podIP), never dialled; supply the real ones with SharedMesh::set_endpoints (or ServiceEntry / WorkloadEntry / Pod manifests), or opt into OutboundLayer::dns_fallback to send to the service's DNS name"
    )
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
                || request_authority(&request)
                    .is_some_and(|h| mesh.knows_host(h, source.namespace()));
            if allowed {
                context.inject(&mut request);
            }
        }
        let (plan, guard) = {
            let decision = match &self.layer.rng {
                Some(rng) => mesh.route_with(&request, source, &mut &*rng),
                None => mesh.route_with(&request, source, &mut ThreadRng),
            };
            let _entered = span(&decision, "outbound").entered();
            if let Some(response) = local_reply::<ResBody>(&decision) {
                return ResponseFuture::local(response);
            }
            let plan = self.plan(&decision);
            let guard = match plan {
                Plan::Forward(_) => mesh.start_request(&decision),
                Plan::Simulated(..) => None,
            };
            (plan, guard)
        };
        let forward = match plan {
            Plan::Forward(forward) => forward,
            Plan::Simulated(host, port) => {
                return ResponseFuture::local(no_healthy_upstream(simulated(&host, port)));
            }
        };
        if let Some(ops) = &forward.request_ops {
            ops.apply(request.headers_mut());
        }
        let host_header = match &forward.authority {
            Some(authority) => HeaderValue::from_str(authority).ok(),
            None => request_authority(&request).and_then(|h| HeaderValue::from_str(h).ok()),
        };
        if let Some(value) = host_header {
            request.headers_mut().insert(http::header::HOST, value);
        }
        let uri = match (&forward.target, forward.path_and_query) {
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
            (target, rewritten) => {
                let path_and_query = rewritten.unwrap_or_else(|| {
                    request
                        .uri()
                        .path_and_query()
                        .map_or("/", |p| p.as_str())
                        .to_owned()
                });
                let target = match target {
                    Some(address) => format!("http://{address}{path_and_query}"),
                    None => {
                        let scheme = request.uri().scheme_str().unwrap_or("http");
                        match request_authority(&request) {
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
