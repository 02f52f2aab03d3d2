//! Sending one routed request the way the sidecar's router sends it: fault injection first,
//! then attempts under the route timeout, each admitted by the cluster's circuit breaker,
//! bounded by the per-try timeout, reported to outlier detection and least-request counts,
//! retried on Envoy's conditions with its jittered back-off on another host; mirrors go out
//! on the side, fire-and-forget.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response, StatusCode};
use http_body::Body;
use tower::{Service, ServiceExt};

use super::mirror::{BoxError, MirrorTarget};
use super::retry::{Backoff, Failure, RetryOn, classify, transport_reason};
use super::settings::Settings;
use super::stats::{count, gauges};
use crate::live::Observed;
use crate::route::cluster::Overflow;
use crate::route::decision::PickedEndpoint;
use crate::route::policy::{Abort, RetryPolicy, RoutePolicy};
use crate::route::upstream::{Admission, Upstream, UpstreamResult};
use crate::service::body::{Guards, ResponseBody};
use crate::service::future::After;
use crate::service::replay::RequestBody;
use crate::service::reply::{Reply, UpstreamReply};
use crate::util::rng::{Rng, SharedRng, ThreadRng};
use crate::util::status::grpc_code;

/// Random draws inside a request's future: the layer's seeded generator, or the thread's.
#[derive(Debug, Clone)]
pub(super) enum Draws {
    Shared(SharedRng),
    Thread,
}

impl Rng for Draws {
    fn next_u64(&mut self) -> u64 {
        match self {
            Draws::Shared(rng) => rng.next_u64(),
            Draws::Thread => ThreadRng.next_u64(),
        }
    }
}

/// Where an attempt is sent: the endpoint picked (with its cluster), or the authority the
/// application gave when the mesh knows no endpoints for the host.
#[derive(Debug)]
pub(super) struct Target {
    /// The cluster and the first attempt's endpoint.
    pub(super) upstream: Option<(Upstream, PickedEndpoint<'static>)>,
    /// For a simulated endpoint: the service's `host:port` to dial instead (DNS fallback).
    pub(super) dns: Option<String>,
    /// The path and query sent (rewritten or not).
    pub(super) path_and_query: http::uri::PathAndQuery,
}

/// Everything `send` needs, taken from the decision before the future starts.
#[derive(Debug)]
pub(super) struct Prepared {
    pub(super) target: Target,
    pub(super) policy: Option<Arc<RoutePolicy>>,
    /// Fault injection's draws: the delay, then the abort.
    pub(super) delay: Option<Duration>,
    pub(super) abort: Option<Abort>,
    /// Mirrors drawn for this request: their cluster and endpoint, or their `host:port`.
    pub(super) mirrors: Vec<MirrorTarget>,
    pub(super) grpc: bool,
    pub(super) after: After,
    pub(super) draws: Draws,
    /// Where each attempt's outcome is published, while the mesh has observers.
    pub(super) observed: Option<Observed>,
}

impl Prepared {
    /// Whether nothing is to be applied: no timeout, no retries, no fault drawn, no mirror,
    /// and a cluster with neither outlier detection nor `connectionPool` limits.
    pub(super) fn is_plain(&self) -> bool {
        self.delay.is_none()
            && self.abort.is_none()
            && self.observed.is_none()
            && self.mirrors.is_empty()
            && self
                .policy
                .as_ref()
                .is_none_or(|p| p.timeout.is_none() && p.retries.is_none())
            && self
                .target
                .upstream
                .as_ref()
                .is_none_or(|(upstream, _)| !upstream.guarded())
    }
}

/// The fault abort's reply (`fault_filter.cc` `abortWithStatus`: "fault filter abort", flag
/// `FI`; a gRPC status is answered with HTTP 200 and that `grpc-status`).
pub(super) fn abort_reply<B>(abort: &Abort, grpc: bool) -> Response<ResponseBody<B>> {
    let detail = "fault injected: the route's fault.abort".to_owned();
    match abort {
        Abort::Http(code) => Reply::new(
            StatusCode::from_u16(*code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "fault filter abort",
            "FI",
            detail,
        )
        .build(grpc),
        Abort::Grpc(name) => {
            let mut reply = Reply::new(StatusCode::OK, "fault filter abort", "FI", detail);
            // Validation admits only names Istio knows; UNKNOWN (2) otherwise.
            reply.grpc_status = Some(grpc_code(name).unwrap_or(2));
            reply.build(true)
        }
    }
}

/// The route timeout's reply (`router.cc` `onResponseTimeout`: 504 "upstream request timeout",
/// flag `UT`; a gRPC request gets grpc-status 14 through Envoy's status mapping).
fn timeout_reply<B>(timeout: Duration, grpc: bool, per_try: bool) -> Response<ResponseBody<B>> {
    let which = if per_try {
        "retries.perTryTimeout"
    } else {
        "the route timeout"
    };
    Reply::new(
        StatusCode::GATEWAY_TIMEOUT,
        "upstream request timeout",
        "UT",
        format!("upstream request timeout: {which} ({timeout:?}) expired"),
    )
    .build(grpc)
}

/// The circuit breaker's reply (503, flag `UO`, `x-envoy-overloaded: true`).
fn overflow_reply<B>(overflow: Overflow, cluster: &str, grpc: bool) -> Response<ResponseBody<B>> {
    let threshold = match overflow {
        Overflow::Pending => "http1MaxPendingRequests (with tcp.maxConnections)",
        Overflow::Requests => "http2MaxRequests",
    };
    let mut reply = Reply::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream connect error or disconnect/reset before headers. reset reason: overflow",
        "UO",
        format!("circuit breaker: {cluster} is at its connectionPool limit {threshold}"),
    );
    reply.overloaded = true;
    reply.build(grpc)
}

/// The reply to an attempt that failed without a response (`router.cc` `onUpstreamReset`).
fn reset_reply<B>(
    failure: Failure,
    reason: &str,
    transport: &str,
    retried: bool,
    exhausted: bool,
    grpc: bool,
) -> Response<ResponseBody<B>> {
    let flag = match (failure, exhausted) {
        (Failure::Connect, true) => "UF,URX",
        (Failure::Connect, false) => "UF",
        (_, true) => "UC,URX",
        _ => "UC",
    };
    let body = format!(
        "upstream connect error or disconnect/reset before headers. {}reset reason: {reason}, transport failure reason: {transport}",
        if retried {
            "retried and the latest "
        } else {
            ""
        }
    );
    Reply::new(StatusCode::SERVICE_UNAVAILABLE, body.clone(), flag, body).build(grpc)
}

/// The reply to the one attempt of a request no policy applies to, when the client failed.
pub(super) fn failure_reply<B>(error: BoxError, grpc: bool) -> Response<ResponseBody<B>> {
    let (failure, reason) = classify(&*error);
    tracing::debug!(%error, reason, "upstream request failed");
    reset_reply(
        failure,
        reason,
        &transport_reason(&*error),
        false,
        false,
        grpc,
    )
}

/// How an attempt ended.
enum Ended<R> {
    Response(Response<R>),
    Failed(Failure, &'static str, String),
}

/// Sends the request: fault, mirrors, attempts under the route timeout.
pub(super) async fn send<S, B, R>(
    inner: S,
    request: Request<RequestBody<B>>,
    mut prepared: Prepared,
    settings: Option<std::sync::Arc<Settings>>,
) -> Result<Response<ResponseBody<R>>, S::Error>
where
    S: Service<Request<RequestBody<B>>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    R: Send + 'static,
{
    let mut flags = String::new();
    if let Some(delay) = prepared.delay {
        tokio::time::sleep(delay).await;
        flags.push_str("DI");
    }
    if let Some(abort) = &prepared.abort {
        return Ok(abort_reply(abort, prepared.grpc));
    }
    let timeout = prepared
        .policy
        .as_ref()
        .and_then(|p| p.timeout)
        .filter(|t| !t.is_zero());
    if let Some(settings) = &settings {
        for mirror in std::mem::take(&mut prepared.mirrors) {
            super::mirror::spawn(&inner, &request, mirror, timeout, settings);
        }
    }
    let grpc = prepared.grpc;
    let cluster = prepared.target.upstream.as_ref().map(|(u, _)| u.clone());
    let attempts = attempts(inner, request, prepared, timeout, flags);
    match timeout {
        Some(limit) => match tokio::time::timeout(limit, attempts).await {
            Ok(result) => result,
            Err(_) => {
                count("upstream_rq_timeout", cluster.as_ref());
                tracing::debug!(?limit, "route timeout");
                Ok(timeout_reply(limit, grpc, false))
            }
        },
        None => attempts.await,
    }
}

/// The attempt loop.
async fn attempts<S, B, R>(
    inner: S,
    request: Request<RequestBody<B>>,
    prepared: Prepared,
    timeout: Option<Duration>,
    mut flags: String,
) -> Result<Response<ResponseBody<R>>, S::Error>
where
    S: Service<Request<RequestBody<B>>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    R: Send + 'static,
{
    let Prepared {
        target,
        policy,
        grpc,
        after,
        mut draws,
        observed,
        ..
    } = prepared;
    let retry: Option<&RetryPolicy> = policy.as_ref().and_then(|p| p.retries.as_ref());
    let retry_on = retry.map_or_else(RetryOn::default, |r| RetryOn::parse(&r.retry_on));
    // Envoy's `FilterUtility::finalTimeout`: a per-try timeout not below the route's is off.
    let per_try = retry
        .and_then(|r| r.per_try_timeout)
        .filter(|t| !t.is_zero() && timeout.is_none_or(|g| *t < g));
    let mut retries_left = retry.map_or(0, |r| r.attempts);
    let host_attempts = retry.map_or(0, |r| {
        if r.retry_ignore_previous_hosts {
            r.host_selection_max_attempts
        } else {
            0
        }
    });
    let mut backoff = Backoff::new(retry.and_then(|r| r.backoff));
    let http2 = request.version() == http::Version::HTTP_2;

    let (parts, body) = request.into_parts();
    // What a retry is rebuilt from, kept only when a retry can happen.
    let spare = (retries_left > 0).then(|| Spare {
        service: inner.clone(),
        method: parts.method.clone(),
        uri: parts.uri.clone(),
        version: parts.version,
        headers: parts.headers.clone(),
        extensions: parts.extensions.clone(),
        body: body.replay(),
    });
    let mut next = Some((inner, Request::from_parts(parts, body)));
    let Target {
        upstream,
        dns,
        path_and_query,
    } = target;
    let (upstream, mut picked) = match upstream {
        Some((upstream, picked)) => (Some(upstream), Some(picked)),
        None => (None, None),
    };
    let mut tried: Vec<String> = Vec::new();
    let mut attempt: u32 = 0;
    // The place a retry holds in `maxRetries`, from the decision to retry to its outcome.
    let mut retry_admission: Option<Admission> = None;
    loop {
        attempt = attempt.saturating_add(1);
        let admission = match &upstream {
            Some(upstream) => match upstream.admit(http2) {
                Ok(admission) => Some(admission),
                Err(overflow) => {
                    count("upstream_rq_pending_overflow", Some(upstream));
                    tracing::debug!(cluster = %upstream.name(), ?overflow, "circuit breaker overflow");
                    return Ok(overflow_reply(overflow, &upstream.name(), grpc));
                }
            },
            None => None,
        };
        let (mut service, request) = match next.take() {
            Some(first) => first,
            None => {
                let Some(spare) = &spare else {
                    return Ok(not_replayable(grpc));
                };
                let Some(request) = spare.request(
                    dns.as_deref(),
                    &path_and_query,
                    upstream.as_ref(),
                    picked.as_ref(),
                ) else {
                    return Ok(not_replayable(grpc));
                };
                let mut service = spare.service.clone();
                ServiceExt::<Request<RequestBody<B>>>::ready(&mut service).await?;
                (service, request)
            }
        };
        let active = upstream
            .as_ref()
            .zip(picked.as_ref())
            .map(|(u, p)| u.start(p));
        count("upstream_rq_total", upstream.as_ref());
        if attempt > 1 {
            count("upstream_rq_retry", upstream.as_ref());
        }
        let started = Instant::now();
        let call = service.call(request);
        let ended = match per_try {
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(result) => ended(result),
                Err(_) => Ended::Failed(Failure::PerTryTimeout, "per-try timeout", String::new()),
            },
            None => ended(call.await),
        };
        let now = Instant::now();
        let report = |result: UpstreamResult| {
            if let (Some(upstream), Some(picked)) = (&upstream, &picked) {
                upstream.report(picked, result, now);
            }
            if let Some(observed) = &observed {
                observed.publish(result, started);
            }
            gauges(upstream.as_ref());
        };
        match &ended {
            Ended::Failed(Failure::Connect, ..) => {
                count("upstream_cx_connect_fail", upstream.as_ref());
            }
            Ended::Failed(Failure::PerTryTimeout, ..) => {
                count("upstream_rq_per_try_timeout", upstream.as_ref());
            }
            _ => {}
        }
        let replayable = spare
            .as_ref()
            .and_then(|s| s.body.as_ref())
            .is_some_and(|b| b.replay().is_some());
        match ended {
            Ended::Response(response) => {
                // Outlier detection reads the HTTP status, or for a gRPC request the
                // `grpc-status` of a trailers-only reply mapped to HTTP (`onUpstreamHeaders`).
                let status = response.status();
                let code = grpc
                    .then(|| grpc_to_http(response.headers()))
                    .flatten()
                    .unwrap_or(status.as_u16());
                report(UpstreamResult::Status(code));
                let wanted =
                    retry.is_some_and(|r| retry_on.retries_response(r, status, response.headers()));
                if wanted {
                    match may_retry(&mut retries_left, replayable, upstream.as_ref()) {
                        Ok(held) => {
                            retry_admission = held;
                            drop(response);
                            drop(active);
                            drop(admission);
                            wait(&mut backoff, &mut draws).await;
                            remember(&mut tried, upstream.as_ref(), picked.as_ref());
                            picked = repick(&upstream, &picked, &tried, host_attempts, &mut draws);
                            continue;
                        }
                        Err(flag) => push_flag(&mut flags, flag),
                    }
                }
                retry_admission.take();
                let guards = Guards { active, admission };
                let mut response = after.apply(response, guards);
                if attempt > 1 || !flags.is_empty() {
                    response.extensions_mut().insert(UpstreamReply {
                        attempts: attempt,
                        flags,
                    });
                }
                return Ok(response);
            }
            Ended::Failed(failure, reason, transport) => {
                report(match failure {
                    Failure::PerTryTimeout => UpstreamResult::Status(504),
                    _ => UpstreamResult::LocalFailure,
                });
                drop(active);
                drop(admission);
                let wanted = retry.is_some()
                    && retry_on.retries_failure(failure, failure == Failure::Connect);
                let mut exhausted = false;
                if wanted {
                    match may_retry(&mut retries_left, replayable, upstream.as_ref()) {
                        Ok(held) => {
                            retry_admission = held;
                            tracing::debug!(attempt, reason, "retrying");
                            wait(&mut backoff, &mut draws).await;
                            remember(&mut tried, upstream.as_ref(), picked.as_ref());
                            picked = repick(&upstream, &picked, &tried, host_attempts, &mut draws);
                            continue;
                        }
                        Err(flag) => exhausted = flag == "URX",
                    }
                }
                retry_admission.take();
                if failure == Failure::PerTryTimeout {
                    return Ok(timeout_reply(per_try.unwrap_or_default(), grpc, true));
                }
                return Ok(reset_reply(
                    failure,
                    reason,
                    &transport,
                    attempt > 1,
                    exhausted,
                    grpc,
                ));
            }
        }
    }
}

/// The reply when a retry cannot rebuild the request (never expected: a retry is only
/// decided with a replayable body).
fn not_replayable<B>(grpc: bool) -> Response<ResponseBody<B>> {
    reset_reply(
        Failure::Reset,
        "request body not replayable",
        "",
        true,
        true,
        grpc,
    )
}

fn ended<R, E: Into<BoxError>>(result: Result<Response<R>, E>) -> Ended<R> {
    match result {
        Ok(response) => Ended::Response(response),
        Err(error) => {
            let error: BoxError = error.into();
            let (failure, reason) = classify(&*error);
            tracing::debug!(%error, reason, "upstream attempt failed");
            Ended::Failed(failure, reason, transport_reason(&*error))
        }
    }
}

/// Envoy's `grpcToHttpStatus` of a `grpc-status` in response headers.
fn grpc_to_http(headers: &http::HeaderMap) -> Option<u16> {
    let code: u8 = headers.get("grpc-status")?.to_str().ok()?.parse().ok()?;
    Some(match code {
        0 => 200,
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        _ => 500,
    })
}

/// Remembers the endpoint of the attempt about to be retried, for `previous_hosts`: only when
/// a retry happens, so that a request that is not retried keeps no list.
fn remember(
    tried: &mut Vec<String>,
    upstream: Option<&Upstream>,
    picked: Option<&PickedEndpoint<'_>>,
) {
    if let Some(endpoint) = upstream.zip(picked).and_then(|(u, p)| u.endpoint(p)) {
        tried.push(endpoint.address.clone());
    }
}

/// Envoy's `RetryStateImpl::shouldRetry` once a retry is wanted: none left (`URX`), a body
/// that cannot be sent again (Envoy abandons retries past its buffer limit), or `maxRetries`
/// full (`UO`); else the retry, holding its place in `maxRetries`.
fn may_retry(
    retries_left: &mut u32,
    replayable: bool,
    upstream: Option<&Upstream>,
) -> Result<Option<Admission>, &'static str> {
    if *retries_left == 0 {
        count("upstream_rq_retry_limit_exceeded", upstream);
        return Err("URX");
    }
    if !replayable {
        return Err("");
    }
    *retries_left -= 1;
    match upstream {
        Some(upstream) => match upstream.admit_retry() {
            Some(admission) => Ok(Some(admission)),
            None => {
                count("upstream_rq_retry_overflow", Some(upstream));
                tracing::debug!(cluster = %upstream.name(), "retry overflow (maxRetries)");
                Err("UO")
            }
        },
        None => Ok(None),
    }
}

fn push_flag(flags: &mut String, flag: &str) {
    if flag.is_empty() {
        return;
    }
    if !flags.is_empty() {
        flags.push(',');
    }
    flags.push_str(flag);
}

async fn wait(backoff: &mut Backoff, draws: &mut Draws) {
    let pause = backoff.next(draws);
    if !pause.is_zero() {
        tokio::time::sleep(pause).await;
    }
}

fn repick(
    upstream: &Option<Upstream>,
    picked: &Option<PickedEndpoint<'static>>,
    tried: &[String],
    host_attempts: u32,
    draws: &mut Draws,
) -> Option<PickedEndpoint<'static>> {
    let (upstream, first) = upstream.as_ref().zip(picked.as_ref())?;
    let previous: Vec<&str> = tried.iter().map(String::as_str).collect();
    upstream
        .repick(first, &previous, host_attempts, draws)
        .or_else(|| picked.clone())
}

/// What a retry is rebuilt from: a clone of the client and of the request's parts, and a
/// reader of the kept body.
struct Spare<S, B> {
    service: S,
    method: http::Method,
    uri: http::Uri,
    version: http::Version,
    headers: http::HeaderMap,
    extensions: http::Extensions,
    body: Option<RequestBody<B>>,
}

impl<S, B> Spare<S, B> {
    /// The request of a retry to `picked` (the URI's authority is the new endpoint's).
    fn request(
        &self,
        dns: Option<&str>,
        path_and_query: &http::uri::PathAndQuery,
        upstream: Option<&Upstream>,
        picked: Option<&PickedEndpoint<'_>>,
    ) -> Option<Request<RequestBody<B>>> {
        let body = self.body.as_ref()?.replay()?;
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.version_mut() = self.version;
        *request.headers_mut() = self.headers.clone();
        *request.extensions_mut() = self.extensions.clone();
        let address = upstream
            .zip(picked)
            .and_then(|(u, p)| u.endpoint(p))
            .filter(|e| !e.is_synthetic())
            .map(|e| e.address.as_str())
            .or(dns);
        *request.uri_mut() = match address {
            Some(address) => super::mirror::endpoint_uri(address, path_and_query)
                .unwrap_or_else(|| self.uri.clone()),
            None => self.uri.clone(),
        };
        Some(request)
    }
}
