//! What goes into request extensions, and the replies meshroute answers itself, as Envoy does.

use http::{HeaderValue, Response, StatusCode};

use super::body::ResponseBody;
use crate::decision::{Decision, Outcome};

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

/// The response Envoy sends itself for a decision that does not forward: a redirect, a direct
/// response, 404 (`NR`) for no route, 503 for a missing subset (`NC`) or no healthy endpoint
/// (`UH`). `None` when the request is to be forwarded.
pub(crate) fn local_reply<B>(decision: &Decision<'_>) -> Option<Response<ResponseBody<B>>> {
    let status = decision.local_status()?;
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
            && decision.destination().is_some_and(|d| d.subset_defined) =>
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
