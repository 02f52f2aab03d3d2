//! What goes into request and response extensions, and the replies meshroute answers itself,
//! as Envoy does.

use std::sync::Arc;

use http::{HeaderValue, Response, StatusCode};

use super::body::ResponseBody;
use crate::route::decision::{Decision, Outcome};

/// An owned summary of a [`Decision`], put in the request's extensions for handlers and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The outcome.
    pub outcome: Outcome,
    /// The VirtualService (`namespace/name`).
    pub virtual_service: Option<Arc<str>>,
    /// The index of the route in `spec.http`.
    pub route: Option<usize>,
    /// The index of the match in the route.
    pub matched: Option<usize>,
    /// The destination host.
    pub host: Option<Arc<str>>,
    /// The destination subset.
    pub subset: Option<Arc<str>>,
    /// The destination port.
    pub port: Option<u16>,
    /// The picked endpoint's address.
    pub endpoint: Option<String>,
}

impl RouteInfo {
    /// Summarizes `decision`.
    ///
    /// The names are the `Mesh`'s own shared strings: summarizing allocates nothing but the
    /// endpoint's address, when one was picked.
    pub fn of(decision: &Decision<'_>) -> Self {
        let names = decision.shared_names();
        Self {
            outcome: decision.outcome(),
            virtual_service: names.virtual_service,
            route: decision.route().map(|r| r.index),
            matched: decision.matched().map(|m| m.index),
            host: names.host,
            subset: names.subset,
            port: decision.destination().and_then(|d| d.port),
            endpoint: decision.endpoint().map(|e| e.address.clone()),
        }
    }
}

/// Why meshroute answered a request itself instead of forwarding it: put in the extensions of
/// every local reply, so that handlers, logs and tests can tell a 503 meshroute made from one
/// the upstream sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocalReply {
    /// Envoy's response flags, comma separated as in its access log: `NR` (no route), `NC` (no
    /// cluster: the subset is not defined), `UH` (no healthy upstream), `UO` (circuit breaker
    /// overflow), `UT` (route or per-try timeout), `UF` (connection failure), `UC` (connection
    /// broken), `URX` (retries exhausted), `FI` (fault injected), `DI` (delay injected), or
    /// empty for a configured redirect or direct response.
    pub flag: &'static str,
    /// What happened and, where it helps, what to do.
    pub detail: String,
}

/// What happened to a request [`Outbound`](super::Outbound) forwarded, put in the extensions
/// of the upstream's response when it is worth telling: the request was retried, or delayed by
/// fault injection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpstreamReply {
    /// Attempts made (1 + retries).
    pub attempts: u32,
    /// Envoy's response flags for the request: `DI` (delay injected), `URX` (the response is a
    /// failure that was not retried because the retries ran out), `UO` (a retry was refused by
    /// `maxRetries`), comma separated.
    pub flags: String,
}

/// Whether a request is gRPC as Envoy tells it (`Grpc::Common::isGrpcRequestHeaders`):
/// `content-type` is `application/grpc` or `application/grpc+…` (gRPC-Web is not).
pub(crate) fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
        .is_some_and(|v| v == b"application/grpc" || v.starts_with(b"application/grpc+"))
}

/// Envoy's `Grpc::Utility::httpToGrpcStatus` (`source/common/grpc/status.cc`).
pub(crate) fn grpc_status_of(status: StatusCode) -> u8 {
    match status.as_u16() {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}

/// A reply meshroute makes itself, before its gRPC shaping.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
    pub(crate) flag: &'static str,
    pub(crate) detail: String,
    /// The gRPC status of a gRPC fault abort (else mapped from `status`).
    pub(crate) grpc_status: Option<u8>,
    /// Envoy's `x-envoy-overloaded: true` (circuit-breaker overflow).
    pub(crate) overloaded: bool,
}

impl Reply {
    pub(crate) fn new(
        status: StatusCode,
        body: impl Into<String>,
        flag: &'static str,
        detail: String,
    ) -> Self {
        Self {
            status,
            body: body.into(),
            flag,
            detail,
            grpc_status: None,
            overloaded: false,
        }
    }

    /// The response, shaped as Envoy's `prepareLocalReply` shapes it: plain text, or for a
    /// gRPC request a trailers-only reply (200, `content-type: application/grpc`,
    /// `grpc-status` from the HTTP status, `grpc-message` the percent-encoded body).
    pub(crate) fn build<B>(self, grpc: bool) -> Response<ResponseBody<B>> {
        let mut response = if grpc {
            let mut response = Response::new(ResponseBody::local(""));
            let code = self
                .grpc_status
                .unwrap_or_else(|| grpc_status_of(self.status));
            let headers = response.headers_mut();
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc"),
            );
            headers.insert("grpc-status", HeaderValue::from(u16::from(code)));
            if !self.body.is_empty() {
                if let Ok(message) = HeaderValue::from_str(&grpc_message(&self.body)) {
                    headers.insert("grpc-message", message);
                }
            }
            response
        } else {
            let mut response = Response::new(ResponseBody::local(self.body.clone()));
            *response.status_mut() = self.status;
            if !self.body.is_empty() {
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain"),
                );
            }
            response
        };
        if self.overloaded {
            response
                .headers_mut()
                .insert("x-envoy-overloaded", HeaderValue::from_static("true"));
        }
        response.extensions_mut().insert(LocalReply {
            flag: self.flag,
            detail: self.detail,
        });
        response
    }
}

/// gRPC's percent-encoding of `grpc-message`: bytes outside printable ASCII, and `%`.
fn grpc_message(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The response Envoy sends itself for a decision that does not forward: a redirect, a direct
/// response, 404 (`NR`) for no route, 503 for a missing subset (`NC`) or no healthy endpoint
/// (`UH`). `None` when the request is to be forwarded.
pub(crate) fn local_reply<B>(
    decision: &Decision<'_>,
    grpc: bool,
) -> Option<Response<ResponseBody<B>>> {
    let status = decision.local_status()?;
    let destination = decision.destination();
    let (flag, detail) = match decision.outcome() {
        Outcome::Redirect if decision.https_redirect => (
            "",
            "redirect to https: the gateway's virtual host requires TLS (tls.httpsRedirect)"
                .to_owned(),
        ),
        Outcome::Redirect => ("", "redirect configured by the route".to_owned()),
        Outcome::DirectResponse => ("", "direct response configured by the route".to_owned()),
        Outcome::NoRoute => (
            "NR",
            format!(
                "no route: {} matched no route",
                decision.virtual_service().unwrap_or("no VirtualService")
            ),
        ),
        _ if destination.is_some_and(|d| !d.cluster_exists) => (
            "NC",
            format!(
                "no cluster: no DestinationRule for {} defines subset {}",
                destination.map_or("", |d| d.host),
                destination.and_then(|d| d.subset).unwrap_or("")
            ),
        ),
        _ => (
            "UH",
            format!(
                "no healthy upstream: {} has no endpoint to send to",
                destination.map_or("", |d| d.host)
            ),
        ),
    };
    if grpc && !flag.is_empty() {
        // A failure answered to a gRPC request: trailers-only, as Envoy answers it. Configured
        // redirects and direct responses keep their HTTP form.
        let body = match flag {
            "UH" => "no healthy upstream",
            _ => "",
        };
        let mut response = Reply::new(status, body, flag, detail).build::<B>(grpc);
        decision.response_headers().apply(response.headers_mut());
        return Some(response);
    }
    let mut response = reply::<B>(decision, status)?;
    response
        .extensions_mut()
        .insert(LocalReply { flag, detail });
    Some(response)
}

/// The no-healthy-upstream reply (503, flag `UH`) with `detail` saying why.
pub(crate) fn no_healthy_upstream<B>(detail: String, grpc: bool) -> Response<ResponseBody<B>> {
    Reply::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "no healthy upstream",
        "UH",
        detail,
    )
    .build(grpc)
}

fn reply<B>(decision: &Decision<'_>, status: StatusCode) -> Option<Response<ResponseBody<B>>> {
    let mut response = match decision.outcome() {
        Outcome::Redirect => {
            let mut response = Response::new(ResponseBody::local(""));
            if let Some(location) = decision
                .redirect_location()
                .and_then(|l| HeaderValue::from_str(&l).ok())
            {
                response
                    .headers_mut()
                    .insert(http::header::LOCATION, location);
            }
            response
        }
        Outcome::DirectResponse => {
            let body = decision
                .direct_response()
                .and_then(|r| r.body())
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            Response::new(ResponseBody::local(body))
        }
        // Envoy's local replies: an empty body for NR and NC, "no healthy upstream" for UH.
        _ if status == StatusCode::SERVICE_UNAVAILABLE
            && decision.destination().is_some_and(|d| d.cluster_exists) =>
        {
            Response::new(ResponseBody::local("no healthy upstream"))
        }
        _ => Response::new(ResponseBody::local("")),
    };
    *response.status_mut() = status;
    decision.response_headers().apply(response.headers_mut());
    Some(response)
}

/// Opens the `tracing` span of one decision. Fields: `meshroute.outcome`,
/// `meshroute.virtual_service`, `meshroute.route`, `meshroute.match`, `meshroute.destination`,
/// `meshroute.subset`, `meshroute.endpoint`.
pub(crate) fn span(decision: &Decision<'_>, direction: &'static str) -> tracing::Span {
    let destination = decision.destination();
    tracing::debug_span!(
        "meshroute",
        direction,
        meshroute.outcome = decision.outcome().as_str(),
        meshroute.virtual_service = decision.virtual_service(),
        meshroute.route = decision.route().map(|r| r.index),
        meshroute.r#match = decision.matched().map(|m| m.index),
        meshroute.destination = destination.map(|d| d.host),
        meshroute.subset = destination.and_then(|d| d.subset),
        meshroute.endpoint = decision.endpoint().map(|e| e.address.as_str()),
    )
}

/// Opens the `tracing` span of one outbound request, over the whole exchange (fault, every
/// attempt, back-off): the decision's fields as [`span`], and OpenTelemetry's HTTP client
/// attributes (`otel.kind`, `http.request.method`, `server.address`, `server.port`,
/// `url.full`; at the end `http.response.status_code`, `http.request.resend_count` when
/// retried, `error.type` for a failure) with `meshroute.flags`, Envoy's response flags.
pub(crate) fn client_span<B>(decision: &Decision<'_>, request: &http::Request<B>) -> tracing::Span {
    let destination = decision.destination();
    let facts = &decision.request;
    tracing::debug_span!(
        "meshroute",
        direction = "outbound",
        otel.kind = "client",
        http.request.method = request.method().as_str(),
        server.address = facts.host,
        server.port = facts.port,
        url.full = tracing::field::display(request.uri()),
        http.response.status_code = tracing::field::Empty,
        http.request.resend_count = tracing::field::Empty,
        error.r#type = tracing::field::Empty,
        meshroute.flags = tracing::field::Empty,
        meshroute.outcome = decision.outcome().as_str(),
        meshroute.virtual_service = decision.virtual_service(),
        meshroute.route = decision.route().map(|r| r.index),
        meshroute.r#match = decision.matched().map(|m| m.index),
        meshroute.destination = destination.map(|d| d.host),
        meshroute.subset = destination.and_then(|d| d.subset),
        meshroute.endpoint = decision.endpoint().map(|e| e.address.as_str()),
    )
}

/// Records how an outbound request ended on its span (see [`client_span`]).
pub(crate) fn record_end<B>(span: &tracing::Span, response: &Response<B>) {
    if span.is_disabled() {
        return;
    }
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    let local = response.extensions().get::<LocalReply>();
    let upstream = response.extensions().get::<UpstreamReply>();
    if let Some(reply) = upstream {
        if reply.attempts > 1 {
            span.record("http.request.resend_count", reply.attempts - 1);
        }
    }
    let flags = local
        .map(|l| l.flag)
        .or(upstream.map(|u| u.flags.as_str()))
        .filter(|f| !f.is_empty());
    if let Some(flags) = flags {
        span.record("meshroute.flags", flags);
    }
    match local.map(|l| l.flag).filter(|f| !f.is_empty()) {
        Some(flag) => {
            span.record("error.type", flag);
        }
        None if status >= 400 => {
            span.record("error.type", status);
        }
        None => {}
    }
}
