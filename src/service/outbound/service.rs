use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use http_body::Body;
use tower::Service;
use tracing::Instrument;

use super::mirror::{BoxError, MirrorTarget, authority_uri};
use super::send::{Draws, Prepared, Target, abort_reply, failure_reply, send};
use super::settings::Settings;
use crate::live::Observed;
use crate::propagation::RoutingContext;
use crate::route::decision::Decision;
use crate::route::mesh::Mesh;
use crate::route::policy::{Abort, HeaderOps};
use crate::route::upstream::Upstream;
use crate::service::body::{Guards, ResponseBody};
use crate::service::future::{After, OutboundFuture};
use crate::service::replay::RequestBody;
use crate::service::reply::{client_span, is_grpc, local_reply, no_healthy_upstream, record_end};
use crate::util::host::request_authority;
use crate::util::rng::Rng;

/// The service [`OutboundLayer`](super::OutboundLayer) produces.
#[derive(Debug, Clone)]
pub struct Outbound<S> {
    inner: S,
    layer: Arc<Settings>,
}

impl<S> Outbound<S> {
    pub(super) fn new(inner: S, layer: Arc<Settings>) -> Self {
        Self { inner, layer }
    }

    fn draws(&self) -> Draws {
        match &self.layer.rng {
            Some(rng) => Draws::Shared(rng.clone()),
            None => Draws::Thread,
        }
    }
}

/// Where and how to forward, taken from the decision (which borrows the mesh snapshot).
struct Forward {
    /// Whether there is somewhere to dial: a real endpoint, or the service's DNS name.
    dial: bool,
    /// The authority to dial (`None` with `dial` if the endpoint's address is not one).
    target: Option<http::uri::Authority>,
    /// The service's DNS name when the endpoint is simulated (DNS fallback).
    dns: Option<String>,
    path_and_query: Option<String>,
    authority: Option<String>,
    request_ops: Option<HeaderOps>,
    response_ops: Option<HeaderOps>,
    set_cookie: Option<String>,
}

/// What the decision says to do.
// A stack value of one call: boxing the large variant would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
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
        let mut dns = None;
        let dial = decision.endpoint().is_some();
        let target = match decision.endpoint() {
            Some(endpoint) if endpoint.is_synthetic() => {
                let destination = decision.destination();
                let host = destination.map_or("", |d| d.host).to_owned();
                let port = destination.and_then(|d| d.port).unwrap_or(endpoint.port);
                if !self.layer.dns_fallback {
                    self.warn_once(&host, port);
                    return Plan::Simulated(host, port);
                }
                let name = format!("{host}:{port}");
                let target = name.parse().ok();
                dns = Some(name);
                target
            }
            Some(endpoint) => {
                let target = decision.endpoint_authority().cloned();
                if target.is_none() {
                    tracing::debug!(address = %endpoint.address, "endpoint is not an authority");
                }
                target
            }
            None => None,
        };
        Plan::Forward(Forward {
            dial,
            target,
            dns,
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
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ReqBody: Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = OutboundFuture<S::Future, ResBody, S::Error>;

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
        let grpc = is_grpc(request.headers());
        let mut draws = self.draws();
        let (forward, mut prepared, span) = {
            let decision = mesh.route_with(&request, source, &mut draws);
            let span = client_span(&decision, &request);
            let _entered = span.clone().entered();
            if let Some(response) = local_reply::<ResBody>(&decision, grpc) {
                // The fault filter runs before the router: a route's abort answers even when
                // its cluster is missing or empty (its delay is not applied to such replies).
                let abort = decision
                    .shared_policy()
                    .and_then(|p| p.fault.as_ref())
                    .and_then(|f| f.abort.as_ref())
                    .filter(|(_, percent)| drawn(*percent, &mut draws));
                let response = match abort {
                    Some((abort, _)) => abort_reply(abort, grpc),
                    None => response,
                };
                record_end(&span, &response);
                return OutboundFuture::local(response);
            }
            let forward = match self.plan(&decision) {
                Plan::Forward(forward) => forward,
                Plan::Simulated(host, port) => {
                    let response = no_healthy_upstream(simulated(&host, port), grpc);
                    record_end(&span, &response);
                    return OutboundFuture::local(response);
                }
            };
            let prepared = self.prepare(&mesh, &decision, &forward, grpc, &mut draws);
            (forward, prepared, span)
        };
        // Fault injection's abort without a delay answers at once.
        if prepared.delay.is_none() {
            if let Some(abort) = &prepared.abort {
                let response = abort_reply(abort, grpc);
                record_end(&span, &response);
                return OutboundFuture::local(response);
            }
        }
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
        if prepared
            .target
            .upstream
            .as_ref()
            .is_some_and(|(u, _)| u.max_requests_per_connection() == 1)
        {
            // `maxRequestsPerConnection: 1` disables keep-alive.
            request
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        let uri = match (forward.target, forward.path_and_query) {
            // The common case, an endpoint and the path kept: no text is formatted or parsed,
            // the URI shares the endpoint's authority and the request's path.
            (Some(authority), None) => {
                let path_and_query = request
                    .uri()
                    .path_and_query()
                    .cloned()
                    .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
                authority_uri(authority, &path_and_query)
                    .ok_or_else(|| "the endpoint URI is not valid".to_owned())
            }
            // An endpoint whose address is not an authority: the URI is left as it is.
            (None, _) if forward.dial => Err("the endpoint is not an authority".to_owned()),
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
                target.parse::<http::Uri>().map_err(|e| e.to_string())
            }
        };
        match uri {
            Ok(uri) => *request.uri_mut() = uri,
            Err(error) => tracing::debug!(%error, "request URI not rewritten"),
        }
        prepared.target.path_and_query = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
        if prepared
            .target
            .upstream
            .as_ref()
            .is_some_and(|(u, _)| u.detects_outliers())
        {
            self.layer.start_clock();
        }
        let request = request.map(|body| RequestBody::new(body, self.layer.replay_limit));
        if prepared.is_plain() {
            // Nothing to apply: one call, the endpoint counted for least request.
            let active = prepared
                .target
                .upstream
                .as_ref()
                .map(|(upstream, picked)| upstream.start(picked));
            let guards = Guards {
                active,
                admission: None,
            };
            let after = std::mem::take(&mut prepared.after);
            return OutboundFuture::direct(
                self.inner.call(request),
                after,
                guards,
                failure_reply::<ResBody>,
                grpc,
                span,
            );
        }
        // The instance `poll_ready` readied serves the first attempt; clones serve retries.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let settings = (!prepared.mirrors.is_empty()).then(|| Arc::clone(&self.layer));
        let recorded = span.clone();
        let exchange = async move {
            let result = send(ready, request, prepared, settings).await;
            if let Ok(response) = &result {
                record_end(&recorded, response);
            }
            result
        };
        OutboundFuture::sending(Box::pin(exchange.instrument(span)))
    }
}

impl<S> Outbound<S> {
    /// Takes from the decision what the exchange needs once the decision (which borrows the
    /// mesh snapshot) is gone: the cluster and endpoint, the route's policies, fault
    /// injection's draws and the mirrors drawn.
    fn prepare(
        &self,
        mesh: &Mesh,
        decision: &Decision<'_>,
        forward: &Forward,
        grpc: bool,
        draws: &mut Draws,
    ) -> Prepared {
        let policy = decision.shared_policy().cloned();
        let mut delay = None;
        let mut abort: Option<Abort> = None;
        if let Some(fault) = policy.as_ref().and_then(|p| p.fault.as_ref()) {
            // fault_filter.cc: the delay and the abort are separate draws of
            // `random % 1,000,000 < percent × 10,000` (Istio's MILLION denominator).
            if let Some((duration, percent)) = fault.delay {
                if drawn(percent, draws) {
                    delay = Some(duration);
                }
            }
            if let Some((kind, percent)) = &fault.abort {
                if drawn(*percent, draws) {
                    abort = Some(kind.clone());
                }
            }
        }
        let mut mirrors = Vec::new();
        for mirror in policy.iter().flat_map(|p| p.mirrors.iter()) {
            if !drawn(mirror.percentage, draws) {
                continue;
            }
            let port = decision.destination().and_then(|d| d.port).unwrap_or(80);
            let picked = Upstream::mirror(mesh, mirror, &self.layer.source, port, draws);
            let address = match picked
                .as_ref()
                .and_then(|(upstream, picked)| upstream.endpoint(picked))
            {
                Some(endpoint) if !endpoint.is_synthetic() => Some(endpoint.address.clone()),
                Some(endpoint) if self.layer.dns_fallback => {
                    Some(format!("{}:{}", mirror.host, endpoint.port))
                }
                _ if self.layer.dns_fallback => {
                    Some(format!("{}:{}", mirror.host, mirror.port.unwrap_or(port)))
                }
                _ => None,
            };
            match address {
                Some(address) => mirrors.push(MirrorTarget { address }),
                None => {
                    self.layer
                        .mirrors
                        .dropped
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(
                        mirror = %mirror.host,
                        "mirror dropped: no real endpoint known for it"
                    );
                }
            }
        }
        let upstream = if forward.dial {
            Upstream::of(mesh, decision)
        } else {
            None
        };
        Prepared {
            target: Target {
                upstream,
                dns: forward.dns.clone(),
                path_and_query: http::uri::PathAndQuery::from_static("/"),
            },
            policy,
            delay,
            abort,
            mirrors,
            grpc,
            after: After {
                response_ops: forward.response_ops.clone(),
                set_cookie: forward.set_cookie.clone(),
                active: None,
            },
            draws: draws.clone(),
            observed: Observed::of(&self.layer.mesh, decision),
        }
    }
}

/// Whether a share of `percent` percent is drawn: Envoy's fractional percent over a million
/// (`random % 1,000,000 < percent × 10,000`).
fn drawn(percent: f64, rng: &mut impl Rng) -> bool {
    if percent >= 100.0 {
        return true;
    }
    if percent.is_nan() || percent <= 0.0 {
        return false;
    }
    // In (0, 1,000,000): the cast cannot truncate anything that matters.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let numerator = (percent * 10_000.0) as u64;
    rng.next_u64() % 1_000_000 < numerator
}
