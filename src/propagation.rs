//! Which routing flags travel from an inbound request to the calls it causes, and how they are
//! captured and put back: the runtime-independent half of context propagation. The tower
//! layers (`CaptureLayer`, `OutboundLayer`, `InjectLayer`) and the call-chain simulation use
//! this same code.
//!
//! What travels is an allowlist ([`Propagation`]): the trace headers Istio asks applications to
//! forward, every header and query parameter a VirtualService match refers to
//! ([`Propagation::from_mesh`]), and names the application adds. Injection never overwrites
//! what the outgoing request already carries.

use http::{HeaderName, HeaderValue, Request};

use crate::util::query;

/// The trace headers Istio's documentation asks applications to forward.
pub(crate) const TRACE_HEADERS: [&str; 12] = [
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

    /// Inject only into requests for hosts the mesh knows (see
    /// [`Mesh::knows_host`](crate::Mesh::knows_host)).
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

    /// Removes the routing flags this allowlist names (headers other than the trace headers,
    /// and query parameters) from a request: what the edge does to requests from clients that
    /// may not choose the canary themselves (`CaptureLayer::strip_untrusted` calls it for
    /// requests it does not trust).
    pub fn strip_routing_flags(&self, parts: &mut http::request::Parts) {
        for name in &self.headers {
            if !TRACE_HEADERS.contains(&name.as_str()) {
                parts.headers.remove(name);
            }
        }
        let Some(raw) = parts.uri.query() else {
            return;
        };
        let pieces = query::pieces(raw).count();
        let kept: Vec<&str> = query::pieces(raw)
            .filter(|piece| !self.query.iter().any(|q| q == query::split(piece).0))
            .collect();
        if kept.len() == pieces {
            return;
        }
        let path_and_query = if kept.is_empty() {
            parts.uri.path().to_owned()
        } else {
            format!("{}?{}", parts.uri.path(), kept.join("&"))
        };
        let mut uri_parts = parts.uri.clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            uri_parts.path_and_query = Some(pq);
            if let Ok(uri) = http::Uri::from_parts(uri_parts) {
                parts.uri = uri;
            }
        }
    }
}

/// The routing flags captured from one inbound request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingContext {
    headers: Vec<(HeaderName, HeaderValue)>,
    query: Vec<(String, String)>,
}

impl RoutingContext {
    /// Takes the allowlisted headers (every value) and query parameters (first value, raw) of
    /// `request`.
    pub fn capture<B>(propagation: &Propagation, request: &Request<B>) -> Self {
        let mut context = Self::default();
        // One pass over the request's (usually few) headers instead of one hash lookup per
        // allowlisted name; values keep the request's order.
        for (name, value) in request.headers() {
            if propagation.headers.iter().any(|allowed| allowed == name) {
                context.headers.push((name.clone(), value.clone()));
            }
        }
        let query = request.uri().query().unwrap_or("");
        for name in &propagation.query {
            if let Some(value) = query::first_value(query, name) {
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
            .filter(|(name, _)| query::first_value(&existing, name).is_none())
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
}
