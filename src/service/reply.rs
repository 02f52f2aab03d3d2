//! What goes into request and response extensions, and the replies meshroute answers itself,
//! as Envoy does.

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
    pub virtual_service: Option<String>,
    /// The index of the route in `spec.http`.
    pub route: Option<usize>,
    /// The index of the match in the route.
    pub matched: Option<usize>,
    /// The destination host.
    pub host: Option<String>,
    /// The destination subset.
    pub subset: Option<String>,
    /// The destination port.
    pub port: Option<u16>,
    /// The picked endpoint's address.
    pub endpoint: Option<String>,
}

impl RouteInfo {
    /// Summarizes `decision`.
    pub fn of(decision: &Decision<'_>) -> Self {
        let destination = decision.destination();
        Self {
            outcome: decision.outcome(),
            virtual_service: decision.virtual_service().map(str::to_owned),
            route: decision.route().map(|r| r.index),
            matched: decision.matched().map(|m| m.index),
            host: destination.map(|d| d.host.to_owned()),
            subset: destination.and_then(|d| d.subset.map(str::to_owned)),
            port: destination.and_then(|d| d.port),
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
    /// Envoy's response flag: `NR` (no route), `NC` (no cluster: the subset is not defined),
    /// `UH` (no healthy upstream), or empty for a configured redirect or direct response.
    pub flag: &'static str,
    /// What happened and, where it helps, what to do.
    pub detail: String,
}

/// The response Envoy sends itself for a decision that does not forward: a redirect, a direct
/// response, 404 (`NR`) for no route, 503 for a missing subset (`NC`) or no healthy endpoint
/// (`UH`). `None` when the request is to be forwarded.
pub(crate) fn local_reply<B>(decision: &Decision<'_>) -> Option<Response<ResponseBody<B>>> {
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
    let mut response = reply::<B>(decision, status)?;
    response
        .extensions_mut()
        .insert(LocalReply { flag, detail });
    Some(response)
}

/// The no-healthy-upstream reply (503, flag `UH`) with `detail` saying why.
pub(crate) fn no_healthy_upstream<B>(detail: String) -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::local("no healthy upstream"));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
        .extensions_mut()
        .insert(LocalReply { flag: "UH", detail });
    response
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
