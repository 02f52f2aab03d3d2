//! Mirrors: a copy of the request to each mirror destination, fire-and-forget (Envoy's
//! `request_mirror_policies`; `router.cc` `maybeDoShadowing`, `shadow_writer_impl.cc`).
//!
//! As Envoy: the copy carries the request's headers as sent to the main upstream and the same
//! body, it is never retried, its response is discarded, it gets the route's timeout. Istio
//! leaves out Envoy's `-shadow` host suffix (`DISABLE_SHADOW_HOST_SUFFIX` defaults to true in
//! `pilot/pkg/features/pilot.go`); [`OutboundLayer::shadow_host_suffix`] puts it back.
//! Mirrors never hold the main request up: each runs in its own task, and at most
//! [`OutboundLayer::max_mirrors_in_flight`] run at once; the ones over are dropped and
//! counted ([`OutboundStats`]).
//!
//! [`OutboundLayer::shadow_host_suffix`]: super::OutboundLayer::shadow_host_suffix
//! [`OutboundLayer::max_mirrors_in_flight`]: super::OutboundLayer::max_mirrors_in_flight
//! [`OutboundStats`]: super::OutboundStats

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::{HeaderValue, Request, Response};
use http_body::Body;
use tower::{Service, ServiceExt};

use super::settings::{MirrorCounters, Settings};
use crate::service::replay::RequestBody;

pub(super) use crate::service::future::BoxError;

/// Where one mirror goes.
#[derive(Debug)]
pub(super) struct MirrorTarget {
    /// The authority to dial.
    pub(super) address: String,
}

/// `http://ADDRESS/PATH?QUERY`.
pub(super) fn endpoint_uri(
    address: &str,
    path_and_query: &http::uri::PathAndQuery,
) -> Option<http::Uri> {
    authority_uri(address.parse().ok()?, path_and_query)
}

/// `http://AUTHORITY/PATH?QUERY`, from parts that share their bytes: nothing is copied.
pub(super) fn authority_uri(
    authority: http::uri::Authority,
    path_and_query: &http::uri::PathAndQuery,
) -> Option<http::Uri> {
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(http::uri::Scheme::HTTP);
    parts.authority = Some(authority);
    parts.path_and_query = Some(path_and_query.clone());
    http::Uri::from_parts(parts).ok()
}

/// Gives a mirror's place back when its task ends (or is dropped with the runtime).
struct Slot(Arc<MirrorCounters>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `host` with Envoy's `-shadow` inserted before the port (`shadowAppendedHost`).
fn shadow_host(host: &str) -> String {
    match host.rsplit_once(':') {
        Some((name, port))
            if !name.is_empty()
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            format!("{name}-shadow:{port}")
        }
        _ => format!("{host}-shadow"),
    }
}

/// Sends a copy of `request` to `mirror` in a task of its own, or drops it (counted) when
/// too many are in flight, no runtime runs, or the body cannot be sent twice.
pub(super) fn spawn<S, B, R>(
    inner: &S,
    request: &Request<RequestBody<B>>,
    mirror: MirrorTarget,
    timeout: Option<Duration>,
    settings: &Settings,
) where
    S: Service<Request<RequestBody<B>>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    R: Send + 'static,
{
    let counters = &settings.mirrors;
    let dropped = |why: &str| {
        counters.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(mirror = %mirror.address, why, "mirror dropped");
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return dropped("no tokio runtime");
    };
    let Some(body) = request.body().replay() else {
        return dropped("request body over the replay limit");
    };
    let limit = settings.max_mirrors;
    if counters
        .in_flight
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then(|| n.saturating_add(1))
        })
        .is_err()
    {
        return dropped("too many mirrors in flight");
    }
    let slot = Slot(Arc::clone(counters));
    let path_and_query = request
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    let Some(uri) = endpoint_uri(&mirror.address, &path_and_query) else {
        drop(slot);
        return dropped("mirror address is not an authority");
    };
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.version_mut() = request.version();
    *copy.uri_mut() = uri;
    *copy.headers_mut() = request.headers().clone();
    if settings.shadow_suffix {
        let host = copy
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(shadow_host);
        if let Some(value) = host.and_then(|h| HeaderValue::from_str(&h).ok()) {
            copy.headers_mut().insert(http::header::HOST, value);
        }
    }
    let mut service = inner.clone();
    let address = mirror.address;
    runtime.spawn(async move {
        let counters = Arc::clone(&slot.0);
        let _slot = slot;
        let exchange = async {
            let service = ServiceExt::<Request<RequestBody<B>>>::ready(&mut service).await?;
            service.call(copy).await
        };
        let outcome = match timeout {
            Some(limit) => tokio::time::timeout(limit, exchange).await.ok(),
            None => Some(exchange.await),
        };
        match outcome {
            Some(Ok(response)) => {
                counters.sent.fetch_add(1, Ordering::Relaxed);
                tracing::trace!(mirror = %address, status = %response.status(), "mirror answered");
            }
            Some(Err(error)) => {
                counters.sent.fetch_add(1, Ordering::Relaxed);
                let error: BoxError = error.into();
                tracing::debug!(mirror = %address, %error, "mirror failed");
            }
            None => {
                counters.sent.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(mirror = %address, "mirror timed out");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::shadow_host;

    #[test]
    fn shadow_suffix_goes_before_the_port() {
        // Envoy `shadowAppendedHost`.
        assert_eq!(shadow_host("foo"), "foo-shadow");
        assert_eq!(shadow_host("foo:8080"), "foo-shadow:8080");
        assert_eq!(shadow_host("[::1]:80"), "[::1]-shadow:80");
    }
}
