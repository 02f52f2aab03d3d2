//! When Envoy retries, and how long it waits first: `retry_on` conditions, the classes of
//! failure they look at, and the jittered exponential back-off.
//!
//! Envoy's rules (`source/common/router/retry_state_impl.cc`, `wouldRetryFromHeaders` and
//! `wouldRetryFromReset`), not tower's `retry::Policy`: tower asks a policy after each attempt
//! with the whole result, which fits, but Envoy's retry also re-picks the host, holds a place
//! in the cluster's `maxRetries` breaker through the back-off and the attempt, and counts the
//! retry against a route timeout that spans every attempt; those live in the attempt loop
//! (`send.rs`) and this file keeps only the decisions.

use std::time::Duration;

use http::{HeaderMap, StatusCode};

use crate::route::policy::RetryPolicy;
use crate::util::rng::Rng;

/// The `retry_on` conditions Envoy knows, parsed once per request that fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct RetryOn(u32);

impl RetryOn {
    const FIVE_XX: u32 = 1;
    const GATEWAY_ERROR: u32 = 1 << 1;
    const RESET: u32 = 1 << 2;
    const CONNECT_FAILURE: u32 = 1 << 3;
    const RETRIABLE_4XX: u32 = 1 << 4;
    const REFUSED_STREAM: u32 = 1 << 5;
    const RETRIABLE_STATUS_CODES: u32 = 1 << 6;
    const RESET_BEFORE_REQUEST: u32 = 1 << 7;
    const GRPC_CANCELLED: u32 = 1 << 8;
    const GRPC_DEADLINE_EXCEEDED: u32 = 1 << 9;
    const GRPC_RESOURCE_EXHAUSTED: u32 = 1 << 10;
    const GRPC_UNAVAILABLE: u32 = 1 << 11;
    const GRPC_INTERNAL: u32 = 1 << 12;

    /// Parses Envoy's comma-separated `retry_on` (HTTP and gRPC tokens mix: Envoy's
    /// `RetryPolicyImpl` runs both parsers over the same string); unknown tokens are ignored,
    /// as Envoy ignores them.
    pub(super) fn parse(retry_on: &str) -> Self {
        let mut bits = 0;
        for token in retry_on.split(',').map(str::trim) {
            bits |= match token {
                "5xx" => Self::FIVE_XX,
                "gateway-error" => Self::GATEWAY_ERROR,
                "reset" => Self::RESET,
                "reset-before-request" => Self::RESET_BEFORE_REQUEST,
                "connect-failure" => Self::CONNECT_FAILURE,
                "retriable-4xx" => Self::RETRIABLE_4XX,
                "refused-stream" => Self::REFUSED_STREAM,
                "retriable-status-codes" => Self::RETRIABLE_STATUS_CODES,
                "cancelled" => Self::GRPC_CANCELLED,
                "deadline-exceeded" => Self::GRPC_DEADLINE_EXCEEDED,
                "resource-exhausted" => Self::GRPC_RESOURCE_EXHAUSTED,
                "unavailable" => Self::GRPC_UNAVAILABLE,
                "internal" => Self::GRPC_INTERNAL,
                _ => 0,
            };
        }
        Self(bits)
    }

    fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }

    /// Whether a response with these headers is retried (`wouldRetryFromHeaders`): 5xx,
    /// gateway errors (502–504), 409 for `retriable-4xx`, the policy's status codes, and the
    /// gRPC conditions on a `grpc-status` in the response *headers* (a trailers-only reply;
    /// Envoy never looks at trailers, and does not check that the request was gRPC).
    pub(super) fn retries_response(
        self,
        policy: &RetryPolicy,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> bool {
        let code = status.as_u16();
        if self.has(Self::FIVE_XX) && status.is_server_error() {
            return true;
        }
        if self.has(Self::GATEWAY_ERROR) && (502..505).contains(&code) {
            return true;
        }
        if self.has(Self::RETRIABLE_4XX) && code == 409 {
            return true;
        }
        if self.has(Self::RETRIABLE_STATUS_CODES) && policy.retriable_status_codes.contains(&code) {
            return true;
        }
        let grpc = Self::GRPC_CANCELLED
            | Self::GRPC_DEADLINE_EXCEEDED
            | Self::GRPC_RESOURCE_EXHAUSTED
            | Self::GRPC_UNAVAILABLE
            | Self::GRPC_INTERNAL;
        if self.0 & grpc != 0 {
            let grpc_status = headers
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u8>().ok());
            let wanted = match grpc_status {
                Some(1) => Self::GRPC_CANCELLED,
                Some(4) => Self::GRPC_DEADLINE_EXCEEDED,
                Some(8) => Self::GRPC_RESOURCE_EXHAUSTED,
                Some(13) => Self::GRPC_INTERNAL,
                Some(14) => Self::GRPC_UNAVAILABLE,
                _ => 0,
            };
            if self.has(wanted) {
                return true;
            }
        }
        false
    }

    /// Whether an attempt that got no response is retried (`wouldRetryFromReset`): a connect
    /// failure under `connect-failure`; a per-try timeout (Envoy resets the stream itself,
    /// `TimeoutRetry::Yes`) and any other reset under `reset`, `5xx` or `gateway-error`;
    /// `reset-before-request` when nothing of the request was sent. (A circuit-breaker
    /// overflow never is; it never gets here.)
    pub(super) fn retries_failure(self, failure: Failure, sent_nothing: bool) -> bool {
        match failure {
            Failure::Connect if self.has(Self::CONNECT_FAILURE) => true,
            _ if self.has(Self::RESET_BEFORE_REQUEST) && sent_nothing => true,
            Failure::Connect | Failure::Reset | Failure::PerTryTimeout => {
                self.has(Self::RESET) || self.has(Self::FIVE_XX) || self.has(Self::GATEWAY_ERROR)
            }
        }
    }
}

/// An attempt that ended without response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// The connection could not be made (refused, unreachable, timed out connecting).
    Connect,
    /// The connection or stream broke before the response headers.
    Reset,
    /// `perTryTimeout` expired.
    PerTryTimeout,
}

/// Envoy's `JitteredExponentialBackOffStrategy` (`source/common/common/backoff_strategy.cc`):
/// each wait is uniform in `[0, interval)`; the interval starts at the base (25 ms, or
/// `retries.backoff`) and doubles up to the maximum, ten times the base.
#[derive(Debug, Clone, Copy)]
pub(super) struct Backoff {
    next: u64,
    max: u64,
}

impl Backoff {
    /// Envoy's default base interval (`upstream.base_retry_backoff_ms`).
    const DEFAULT_BASE: Duration = Duration::from_millis(25);

    pub(super) fn new(base: Option<Duration>) -> Self {
        let base = base.unwrap_or(Self::DEFAULT_BASE);
        // Envoy clamps the base to at least 1 ms.
        let base = u64::try_from(base.as_millis()).unwrap_or(u64::MAX).max(1);
        Self {
            next: base,
            max: base.saturating_mul(10),
        }
    }

    /// The next wait.
    pub(super) fn next(&mut self, rng: &mut impl Rng) -> Duration {
        let interval = self.next;
        self.next = if self.next < self.max / 2 {
            self.next.saturating_mul(2)
        } else {
            self.max
        };
        Duration::from_millis(rng.next_u64() % interval.max(1))
    }
}

/// Classifies an error of the wrapped client: a failure to connect (an I/O error of the
/// connect kinds anywhere in its chain, or hyper-util's connect error), else a reset.
pub(super) fn classify(error: &(dyn std::error::Error + 'static)) -> (Failure, &'static str) {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionRefused => return (Failure::Connect, "remote connection failure"),
                K::AddrNotAvailable | K::HostUnreachable | K::NetworkUnreachable => {
                    return (Failure::Connect, "local connection failure");
                }
                K::TimedOut => return (Failure::Connect, "connection timeout"),
                _ => {}
            }
        }
        let text = e.to_string();
        if text.starts_with("tcp connect error") || text == "client error (Connect)" {
            return (Failure::Connect, "remote connection failure");
        }
        current = e.source();
    }
    (Failure::Reset, "connection termination")
}

/// The innermost error's text: Envoy's "transport failure reason".
pub(super) fn transport_reason(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rng::FastRng;

    fn policy(retry_on: &str, codes: &[u16]) -> RetryPolicy {
        RetryPolicy {
            attempts: 2,
            retry_on: retry_on.to_owned(),
            retriable_status_codes: codes.to_vec(),
            per_try_timeout: None,
            retry_ignore_previous_hosts: true,
            retry_remote_localities: false,
            backoff: None,
            host_selection_max_attempts: 5,
        }
    }

    fn retried(retry_on: &str, codes: &[u16], status: u16, grpc: Option<&str>) -> bool {
        let p = policy(retry_on, codes);
        let mut headers = HeaderMap::new();
        if let Some(g) = grpc {
            headers.insert("grpc-status", g.parse().unwrap());
        }
        RetryOn::parse(&p.retry_on).retries_response(
            &p,
            StatusCode::from_u16(status).unwrap(),
            &headers,
        )
    }

    #[test]
    fn istio_default_policy_does_not_retry_a_plain_503() {
        // retry.go DefaultPolicy: no retriable status codes.
        let default = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
        assert!(!retried(default, &[], 503, None));
        assert!(retried(default, &[], 200, Some("14")));
        assert!(retried(default, &[], 200, Some("1")));
        assert!(!retried(default, &[], 200, Some("4")));
        let on = RetryOn::parse(default);
        assert!(on.retries_failure(Failure::Connect, false));
        assert!(!on.retries_failure(Failure::Reset, false));
        assert!(!on.retries_failure(Failure::PerTryTimeout, false));
    }

    #[test]
    fn envoy_retry_on_conditions() {
        assert!(retried("5xx", &[], 500, None));
        assert!(!retried("5xx", &[], 499, None));
        assert!(retried("gateway-error", &[], 504, None));
        assert!(!retried("gateway-error", &[], 500, None));
        assert!(!retried("gateway-error", &[], 505, None));
        assert!(retried("retriable-4xx", &[], 409, None));
        assert!(!retried("retriable-4xx", &[], 404, None));
        assert!(retried("retriable-status-codes", &[404], 404, None));
        assert!(!retried("5xx", &[404], 404, None));
        assert!(retried("internal", &[], 200, Some("13")));
        assert!(retried("resource-exhausted", &[], 200, Some("8")));
        assert!(retried("deadline-exceeded", &[], 200, Some("4")));
        assert!(!retried("unavailable", &[], 200, Some("x")));
        // Per-try timeouts and resets count as 5xx (Envoy: "we count an upstream reset as a
        // 5xx"), not as connect failures.
        for on in ["5xx", "gateway-error", "reset"] {
            let on = RetryOn::parse(on);
            assert!(on.retries_failure(Failure::PerTryTimeout, false));
            assert!(on.retries_failure(Failure::Reset, false));
            assert!(on.retries_failure(Failure::Connect, false));
        }
        let on = RetryOn::parse("reset-before-request");
        assert!(on.retries_failure(Failure::Reset, true));
        assert!(!on.retries_failure(Failure::Reset, false));
    }

    #[test]
    fn backoff_doubles_to_ten_times_the_base_with_full_jitter() {
        // backoff_strategy.cc: ranges [0,25), [0,50), [0,100), [0,200), then [0,250).
        let mut backoff = Backoff::new(None);
        let mut rng = FastRng::from_seed(7);
        let limits = [25, 50, 100, 200, 250, 250, 250];
        for limit in limits {
            let wait = backoff.next(&mut rng);
            assert!(wait < Duration::from_millis(limit), "{wait:?} >= {limit}ms");
        }
        let mut custom = Backoff::new(Some(Duration::from_millis(100)));
        let mut max = Duration::ZERO;
        for _ in 0..200 {
            max = max.max(custom.next(&mut rng));
        }
        assert!(max < Duration::from_secs(1) && max > Duration::from_millis(500));
    }

    #[test]
    fn connection_refused_is_a_connect_failure() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            classify(&refused),
            (Failure::Connect, "remote connection failure")
        );
        let broken = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(classify(&broken).0, Failure::Reset);
    }
}
