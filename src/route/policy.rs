//! Everything a route applies besides choosing the destination, compiled: header operations,
//! rewrites, redirects, direct responses, timeouts, retries, faults, mirrors and CORS, as Istio
//! translates them for Envoy.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use regex::Regex;

use super::matcher::MatchString;

/// One header operation, in the order Envoy applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderOp {
    /// The header.
    pub name: HeaderName,
    /// The value. Envoy's `%VARIABLE%` operators are passed through as written; `%%` is a `%`.
    pub value: HeaderValue,
    /// `true` appends another value (`add`), `false` replaces (`set`).
    pub append: bool,
}

/// Header manipulation for one direction (Istio `Headers.HeaderOperations`, merged for route and
/// destination in Envoy's order: removals first, then `set`s and `add`s sorted by name, route
/// level before destination level for a single destination, destination level first for
/// weighted destinations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderOps {
    /// Headers removed before any addition.
    pub remove: Vec<HeaderName>,
    /// Sets and appends, in application order.
    pub ops: Vec<HeaderOp>,
}

impl HeaderOps {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.ops.is_empty()
    }

    /// Applies the operations to `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for name in &self.remove {
            headers.remove(name);
        }
        for op in &self.ops {
            if op.append {
                headers.append(op.name.clone(), op.value.clone());
            } else {
                headers.insert(op.name.clone(), op.value.clone());
            }
        }
    }
}

/// `HTTPRewrite`, compiled.
#[derive(Debug, Clone, Default)]
pub struct Rewrite {
    pub(crate) uri: Option<String>,
    pub(crate) regex: Option<(Regex, String)>,
}

impl Rewrite {
    /// The rewritten `rewrite.uri` prefix, if any.
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// The `uriRegexRewrite` pattern and replacement (`\1` style), if any.
    pub fn regex(&self) -> Option<(&str, &str)> {
        self.regex.as_ref().map(|(r, s)| (r.as_str(), s.as_str()))
    }
}

/// The retry policy Envoy gets (Istio's `pilot/pkg/networking/core/route/retry/retry.go`
/// `ConvertPolicy`, defaults included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Number of retries (`num_retries`).
    pub attempts: u32,
    /// Envoy `retry_on`, comma separated.
    pub retry_on: String,
    /// Status codes retried with `retriable-status-codes`.
    pub retriable_status_codes: Vec<u16>,
    /// Timeout per attempt.
    pub per_try_timeout: Option<Duration>,
    /// Whether previously tried hosts are avoided (the `previous_hosts` predicate).
    pub retry_ignore_previous_hosts: bool,
    /// Whether other localities are tried (`previous_priorities`).
    pub retry_remote_localities: bool,
    /// Base back-off interval (Envoy's default is 25ms).
    pub backoff: Option<Duration>,
    /// `host_selection_retry_max_attempts` (Istio sets 5).
    pub host_selection_max_attempts: u32,
}

/// Fault injection (`HTTPFaultInjection`), with percentages as Envoy applies them.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPolicy {
    /// Delay and the share of requests delayed, in percent (0 when `percentage` is unset and
    /// the deprecated `percent` is 0).
    pub delay: Option<(Duration, f64)>,
    /// Abort and the share of requests aborted, in percent (0 when `percentage` is unset).
    pub abort: Option<(Abort, f64)>,
}

/// How an injected abort answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Abort {
    /// An HTTP status.
    Http(u16),
    /// A gRPC status by name (`UNAVAILABLE`).
    Grpc(String),
}

/// One mirror (`mirror` with `mirrorPercentage`, or an entry of `mirrors`).
#[derive(Debug, Clone, PartialEq)]
pub struct Mirror {
    /// The fully qualified host.
    pub host: String,
    /// The subset, if any.
    pub subset: Option<String>,
    /// The port, if set.
    pub port: Option<u16>,
    /// Share mirrored, in percent (100 when unset).
    pub percentage: f64,
}

/// Everything a route applies besides choosing the destination.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoutePolicy {
    pub(crate) rewrite: Option<Rewrite>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retries: Option<RetryPolicy>,
    pub(crate) fault: Option<FaultPolicy>,
    pub(crate) mirrors: Vec<Mirror>,
    pub(crate) cors: Option<CorsPolicy>,
}

/// A route's CORS policy as Istio gives it to Envoy's CORS filter
/// (`pilot/pkg/networking/core/route/route.go` `TranslateCORSPolicy`): `allowOrigins` as string
/// matchers, else the deprecated `allowOrigin` as exact matches; lists joined as Envoy gets them;
/// `maxAge` in whole seconds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CorsPolicy {
    pub(crate) allow_origins: Vec<MatchString>,
    /// `allowMethods`, joined with `,` (empty when unset).
    pub allow_methods: String,
    /// `allowHeaders`, joined with `,`.
    pub allow_headers: String,
    /// `exposeHeaders`, joined with `,`.
    pub expose_headers: String,
    /// `maxAge` in whole seconds, when set.
    pub max_age: Option<u64>,
    /// `allowCredentials`, when set.
    pub allow_credentials: Option<bool>,
    /// Whether preflight requests that match no origin are forwarded to the upstream
    /// (`unmatchedPreflights` other than `IGNORE`).
    pub forward_unmatched_preflights: bool,
}

impl CorsPolicy {
    /// Whether the `Origin` value is allowed (an exact, prefix or full-match regex condition of
    /// the policy holds).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allow_origins.iter().any(|m| m.matches(origin))
    }
}

/// A compiled redirect.
#[derive(Debug, Clone)]
pub(crate) struct Redirect {
    pub(crate) status: u16,
    pub(crate) uri: Option<String>,
    pub(crate) prefix_rewrite: Option<String>,
    pub(crate) authority: Option<String>,
    pub(crate) scheme: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) derive_from_request: bool,
}

/// A compiled direct response.
#[derive(Debug, Clone)]
pub struct DirectResponse {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<bytes_like::Body>,
}

impl DirectResponse {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_ref().map(|b| b.0.as_slice())
    }
}

pub(crate) mod bytes_like {
    /// Body bytes of a direct response.
    #[derive(Debug, Clone)]
    pub(crate) struct Body(pub(crate) Vec<u8>);
}
