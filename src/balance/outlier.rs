//! Outlier detection (passive health checking) with Istio's defaults, replaying Envoy's timeline.
//!
//! **Counting.** Every response from an endpoint is reported with [`OutlierDetector::report`].
//! A 5xx increments the endpoint's consecutive-5xx counter; a 502, 503 or 504 also increments
//! the consecutive-gateway counter, while any other 5xx resets it; a non-5xx resets both. A
//! locally originated failure (connect failure, timeout) counts as a 503, unless
//! `split_external_local_origin_errors` is on, in which case it only feeds a separate
//! local-origin counter. A counter fires when it becomes **equal** to its threshold (Envoy
//! compares with `==`, which is why a threshold of 0 never fires).
//!
//! **Ejection.** When a counter fires on an endpoint that is not already ejected, Envoy's
//! `ejectHost` runs and the counter is reset (whether or not the endpoint was ejected). The
//! endpoint is ejected if `100 · (ejected + 1) / total ≤ min(100, max_ejection_percent)` (the
//! share *after* this ejection, over all endpoints of the cluster), or if
//! `always_eject_one_host` is set and nothing is ejected yet, and if that kind of ejection is
//! enforced (Istio enforces consecutive 5xx unless set to 0, and gateway errors only when
//! `consecutiveGatewayErrors` is set). On ejection the endpoint's backoff multiplier grows by
//! one while `backoff · base < max + base`.
//!
//! **Interval sweeps.** Every `interval` (timer re-armed after each sweep, first one `interval`
//! after creation) Envoy un-ejects each ejected endpoint whose
//! `min(base · backoff, max_ejection_time)` has elapsed since its ejection, resetting its
//! counters; then, for every endpoint not ejected that was un-ejected at least `interval` ago,
//! the backoff decrements by one. So a second ejection soon after coming back lasts
//! `2 · base`, and the multiplier decays by one per healthy interval.
//!
//! **Panic.** Ejected endpoints leave the healthy set. Istio writes
//! `healthy_panic_threshold = minHealthPercent` (default 0, which disables panic); when the
//! healthy share drops below it, Envoy balances over *all* endpoints ([`OutlierDetector::panic`]).
//!
//! Not modelled: success-rate ejection (Istio sets `enforcing_success_rate: 0`), failure
//! percentage ejection (Envoy default enforcement 0), ejection jitter (Istio does not set it),
//! un-ejection by active health checks, `outlierDetectionHttpErrorCodes`, degraded hosts and
//! several priorities. Reports are processed synchronously, whereas Envoy posts the ejection
//! from the worker to the main thread.
//!
//! Version note: Envoy before 1.27 (PR #27909) compared the share *before* the ejection,
//! `100 · ejected / total < max`, and so always allowed one ejection (5 endpoints at 10%: one
//! ejected, not two). Current Envoy compares the share after it and ejects nothing in that case;
//! the old behaviour is back only with `always_eject_one_host` (Envoy 1.31, PR #34796), which
//! Istio does not set. This module implements the current rule.
//!
//! Sources: Envoy `source/common/upstream/outlier_detection_impl.{h,cc}`
//! (`putHttpResponseCode`, `ejectHost`, `checkHostForUneject`, `onIntervalTimer`), Istio
//! `pilot/pkg/networking/core/cluster_traffic_policy.go` (`applyOutlierDetection`).

use std::time::{Duration, Instant};

/// Outlier detection settings, in Envoy's terms. [`Default`] is what Istio produces for an
/// `outlierDetection: {}` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutlierConfig {
    /// Consecutive 5xx responses (and local failures) before ejection; `None` or `Some(0)`
    /// disables it. Istio default `Some(5)`.
    pub(crate) consecutive_5xx: Option<u32>,
    /// Consecutive 502/503/504 responses (and local failures) before ejection; `None` or
    /// `Some(0)` disables it. Istio default `None` (Envoy counts them but does not enforce).
    pub(crate) consecutive_gateway: Option<u32>,
    /// Time between sweeps. Default 10s.
    pub(crate) interval: Duration,
    /// Ejection time for a first ejection; multiplied by the backoff. Default 30s.
    pub(crate) base_ejection_time: Duration,
    /// Cap on the ejection time: `max(300s, base_ejection_time)` by default (Istio cannot set it).
    pub(crate) max_ejection_time: Duration,
    /// Maximum share of endpoints ejected at once, in percent (capped at 100). Default 10.
    pub(crate) max_ejection_percent: u32,
    /// Envoy's `healthy_panic_threshold` as Istio sets it: below this healthy share, balance over
    /// all endpoints. Default 0 (never panic).
    pub(crate) min_health_percent: u32,
    /// Envoy's `always_eject_one_host`: allow one ejection whatever `max_ejection_percent` says.
    /// Istio does not set it (false).
    pub(crate) always_eject_one_host: bool,
    /// Count local-origin failures separately from HTTP responses.
    pub(crate) split_external_local_origin_errors: bool,
    /// Consecutive local-origin failures before ejection, used only when split; `None` or
    /// `Some(0)` disables it. Istio: the configured value, else Envoy's default `Some(5)`.
    pub(crate) consecutive_local_origin: Option<u32>,
}

/// Envoy's defaults.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_BASE_EJECTION_TIME: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_MAX_EJECTION_TIME: Duration = Duration::from_secs(300);
pub(crate) const DEFAULT_MAX_EJECTION_PERCENT: u32 = 10;
pub(crate) const DEFAULT_CONSECUTIVE: u32 = 5;
/// Envoy's `healthy_panic_threshold` default, which Istio leaves in place only for a negative
/// `minHealthPercent`.
pub(crate) const ENVOY_PANIC_THRESHOLD: u32 = 50;

impl Default for OutlierConfig {
    fn default() -> Self {
        Self {
            consecutive_5xx: Some(DEFAULT_CONSECUTIVE),
            consecutive_gateway: None,
            interval: DEFAULT_INTERVAL,
            base_ejection_time: DEFAULT_BASE_EJECTION_TIME,
            max_ejection_time: DEFAULT_MAX_EJECTION_TIME,
            max_ejection_percent: DEFAULT_MAX_EJECTION_PERCENT,
            min_health_percent: 0,
            always_eject_one_host: false,
            split_external_local_origin_errors: false,
            consecutive_local_origin: None,
        }
    }
}

/// What happened to one request sent to an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamResult {
    /// A successful response (counts as HTTP 200).
    Success,
    /// A response with this HTTP status: 500..=599 are errors, 502/503/504 gateway errors.
    Status(u16),
    /// A locally originated failure: connect failure, reset or timeout (a 503 unless split).
    LocalFailure,
}

/// The kinds of consecutive-error ejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Consecutive5xx,
    ConsecutiveGateway,
    ConsecutiveLocalOrigin,
}

/// Per-endpoint state (`DetectorHostMonitorImpl`).
#[derive(Debug, Clone, Default)]
struct HostState {
    consecutive_5xx: u32,
    consecutive_gateway: u32,
    consecutive_local_origin: u32,
    ejected: bool,
    num_ejections: u32,
    backoff: u32,
    last_ejection: Option<Instant>,
    last_unejection: Option<Instant>,
}

/// Envoy's outlier detector for one cluster of `N` endpoints (indices `0..N`), driven by
/// explicit timestamps.
#[derive(Debug, Clone)]
pub(crate) struct OutlierDetector {
    config: OutlierConfig,
    hosts: Vec<HostState>,
    ejected: usize,
    /// The sweep interval actually used (at least 1 ms; Envoy rejects 0).
    interval: Duration,
    /// `None` once the schedule has run past what `Instant` can represent.
    next_sweep: Option<Instant>,
}

impl OutlierDetector {
    /// A detector for `endpoints` endpoints, created at `now`; the first sweep is due at
    /// `now + interval`.
    pub(crate) fn new(config: OutlierConfig, endpoints: usize, now: Instant) -> Self {
        let interval = config.interval.max(Duration::from_millis(1));
        Self {
            config,
            hosts: vec![HostState::default(); endpoints],
            ejected: 0,
            interval,
            next_sweep: now.checked_add(interval),
        }
    }

    /// The number of endpoints tracked.
    pub(crate) fn len(&self) -> usize {
        self.hosts.len()
    }

    /// When the next interval sweep is due (`None` if beyond what `Instant` can represent).
    #[cfg(test)]
    pub(crate) fn next_sweep(&self) -> Option<Instant> {
        self.next_sweep
    }

    /// Whether endpoint `endpoint` is ejected (false for an unknown index).
    pub(crate) fn is_ejected(&self, endpoint: usize) -> bool {
        self.hosts.get(endpoint).is_some_and(|h| h.ejected)
    }

    /// How many times endpoint `endpoint` has been ejected so far.
    #[cfg(test)]
    pub(crate) fn num_ejections(&self, endpoint: usize) -> u32 {
        self.hosts.get(endpoint).map_or(0, |h| h.num_ejections)
    }

    /// The number of endpoints currently ejected.
    #[cfg(any(test, feature = "metrics"))]
    pub(crate) fn ejected_count(&self) -> usize {
        self.ejected
    }

    /// The number of endpoints not ejected.
    #[cfg(test)]
    pub(crate) fn healthy_count(&self) -> usize {
        self.hosts.len().saturating_sub(self.ejected)
    }

    /// Indices of the endpoints not ejected, in order.
    #[cfg(test)]
    pub(crate) fn healthy(&self) -> impl Iterator<Item = usize> + '_ {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.ejected)
            .map(|(i, _)| i)
    }

    /// `mask[i]` is true when endpoint `i` is not ejected.
    #[cfg(test)]
    pub(crate) fn healthy_mask(&self) -> Vec<bool> {
        self.hosts.iter().map(|h| !h.ejected).collect()
    }

    /// Whether Envoy is in panic for this host set and balances over **all** endpoints: the
    /// healthy share is below `min_health_percent` (capped at 100), unless the healthy hosts
    /// times the overprovisioning factor 1.4 cover 100% (Envoy never panics then). With a
    /// threshold of 0 (Istio's default) this is never true, and when every endpoint is ejected
    /// there is no endpoint to pick.
    #[cfg(test)]
    pub(crate) fn panic(&self) -> bool {
        super::panic::in_panic(
            self.healthy_count(),
            self.hosts.len(),
            self.config.min_health_percent,
        )
    }

    /// Records the outcome of one request to `endpoint` at `now`, after running any sweep due by
    /// `now` ([`OutlierDetector::advance`]). Returns whether this report ejected the endpoint.
    /// Reports for an unknown index are ignored. Reports for an ejected endpoint (requests
    /// already in flight) still count, as in Envoy.
    pub(crate) fn report(
        &mut self,
        endpoint: usize,
        outcome: UpstreamResult,
        now: Instant,
    ) -> bool {
        self.advance(now);
        if endpoint >= self.hosts.len() {
            return false;
        }
        let split = self.config.split_external_local_origin_errors;
        let mut fired: [Option<Kind>; 2] = [None, None];
        match outcome {
            UpstreamResult::LocalFailure if split => {
                if let Some(host) = self.hosts.get_mut(endpoint) {
                    host.consecutive_local_origin = host.consecutive_local_origin.wrapping_add(1);
                    if Some(host.consecutive_local_origin) == self.config.consecutive_local_origin {
                        fired[0] = Some(Kind::ConsecutiveLocalOrigin);
                    }
                }
            }
            UpstreamResult::LocalFailure => fired = self.put_http_status(endpoint, 503),
            UpstreamResult::Success | UpstreamResult::Status(_) => {
                if split {
                    // The connection succeeded (`localOriginNoFailure`).
                    if let Some(host) = self.hosts.get_mut(endpoint) {
                        host.consecutive_local_origin = 0;
                    }
                }
                let status = match outcome {
                    UpstreamResult::Status(status) => status,
                    _ => 200,
                };
                fired = self.put_http_status(endpoint, status);
            }
        }
        let mut ejected = false;
        for kind in fired.into_iter().flatten() {
            ejected |= self.on_consecutive_error(endpoint, kind, now);
        }
        ejected
    }

    /// `putHttpResponseCode`: updates the counters and returns the counters that fired, gateway
    /// first (the order in which Envoy posts them to the main thread).
    fn put_http_status(&mut self, endpoint: usize, status: u16) -> [Option<Kind>; 2] {
        let mut fired = [None, None];
        let Some(host) = self.hosts.get_mut(endpoint) else {
            return fired;
        };
        if (500..=599).contains(&status) {
            if matches!(status, 502..=504) {
                host.consecutive_gateway = host.consecutive_gateway.wrapping_add(1);
                if Some(host.consecutive_gateway) == self.config.consecutive_gateway {
                    fired[0] = Some(Kind::ConsecutiveGateway);
                }
            } else {
                host.consecutive_gateway = 0;
            }
            host.consecutive_5xx = host.consecutive_5xx.wrapping_add(1);
            if Some(host.consecutive_5xx) == self.config.consecutive_5xx {
                fired[1] = Some(Kind::Consecutive5xx);
            }
        } else {
            host.consecutive_5xx = 0;
            host.consecutive_gateway = 0;
        }
        fired
    }

    /// `onConsecutiveErrorWorker`: eject unless already ejected, then reset that counter.
    fn on_consecutive_error(&mut self, endpoint: usize, kind: Kind, now: Instant) -> bool {
        if self.is_ejected(endpoint) {
            return false;
        }
        let ejected = self.eject(endpoint, kind, now);
        if let Some(host) = self.hosts.get_mut(endpoint) {
            match kind {
                Kind::Consecutive5xx => host.consecutive_5xx = 0,
                Kind::ConsecutiveGateway => host.consecutive_gateway = 0,
                Kind::ConsecutiveLocalOrigin => host.consecutive_local_origin = 0,
            }
        }
        ejected
    }

    /// `ejectHost`: the max-percent check, enforcement, and the backoff increment.
    fn eject(&mut self, endpoint: usize, kind: Kind, now: Instant) -> bool {
        let max_percent = f64::from(self.config.max_ejection_percent.min(100));
        #[allow(clippy::cast_precision_loss)]
        let ejected_percent = 100.0 * (self.ejected + 1) as f64 / self.hosts.len() as f64;
        let mut should_eject = ejected_percent <= max_percent;
        if self.config.always_eject_one_host {
            should_eject = self.ejected == 0 || should_eject;
        }
        // Istio enforces exactly the kinds it configures (100%); the disabled ones never fire.
        let enforced = match kind {
            Kind::Consecutive5xx => self.config.consecutive_5xx.is_some(),
            Kind::ConsecutiveGateway => self.config.consecutive_gateway.is_some(),
            Kind::ConsecutiveLocalOrigin => self.config.consecutive_local_origin.is_some(),
        };
        if !(should_eject && enforced) {
            return false;
        }
        let base = self.config.base_ejection_time.as_nanos();
        let max = self.config.max_ejection_time.as_nanos();
        let Some(host) = self.hosts.get_mut(endpoint) else {
            return false;
        };
        host.ejected = true;
        host.num_ejections = host.num_ejections.saturating_add(1);
        host.last_ejection = Some(now);
        if u128::from(host.backoff) * base < max + base {
            host.backoff += 1;
        }
        self.ejected += 1;
        true
    }

    /// Runs every interval sweep due at or before `now`, each at its scheduled time, the way
    /// Envoy's re-armed interval timer fires. Sweeps that cannot change anything (no endpoint
    /// ejected, no backoff left to decay) are skipped in one step.
    pub(crate) fn advance(&mut self, now: Instant) {
        while let Some(at) = self.next_sweep.filter(|&at| at <= now) {
            if self.ejected == 0 && self.hosts.iter().all(|h| h.backoff == 0) {
                // Jump to the last sweep due by `now`; it and the skipped ones are no-ops.
                let behind = now.saturating_duration_since(at).as_nanos();
                let steps = behind / self.interval.as_nanos().max(1);
                let skip = u64::try_from(steps.saturating_mul(self.interval.as_nanos()))
                    .ok()
                    .map(Duration::from_nanos);
                if let Some(last) = skip.and_then(|skip| at.checked_add(skip)) {
                    self.next_sweep = last.checked_add(self.interval);
                    continue;
                }
            }
            self.tick(at);
        }
    }

    /// One interval sweep at `now` (`onIntervalTimer`): un-ejects endpoints whose ejection time
    /// `min(base · backoff, max_ejection_time)` has elapsed, then decrements the backoff of every
    /// endpoint that has been back for at least one interval; the next sweep is due at
    /// `now + interval`.
    pub(crate) fn tick(&mut self, now: Instant) {
        let config = &self.config;
        let mut unejected = 0;
        for host in &mut self.hosts {
            if !host.ejected {
                continue;
            }
            let ejection_time = config
                .base_ejection_time
                .saturating_mul(host.backoff)
                .min(config.max_ejection_time);
            let elapsed = host
                .last_ejection
                .map_or(Duration::MAX, |at| now.saturating_duration_since(at));
            if ejection_time <= elapsed {
                host.ejected = false;
                host.consecutive_5xx = 0;
                host.consecutive_gateway = 0;
                host.consecutive_local_origin = 0;
                host.last_unejection = Some(now);
                unejected += 1;
            }
        }
        self.ejected = self.ejected.saturating_sub(unejected);
        for host in &mut self.hosts {
            if host.ejected || host.backoff == 0 {
                continue;
            }
            if host
                .last_unejection
                .is_some_and(|at| now.saturating_duration_since(at) >= self.interval)
            {
                host.backoff -= 1;
            }
        }
        self.next_sweep = now.checked_add(self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// Five endpoints with room for ejections (max 100%) unless stated otherwise.
    fn detector(config: OutlierConfig, n: usize) -> (OutlierDetector, Instant) {
        let start = Instant::now();
        (OutlierDetector::new(config, n, start), start)
    }

    fn open() -> OutlierConfig {
        OutlierConfig {
            max_ejection_percent: 100,
            ..OutlierConfig::default()
        }
    }

    fn fail(d: &mut OutlierDetector, endpoint: usize, times: usize, status: u16, at: Instant) {
        for _ in 0..times {
            d.report(endpoint, UpstreamResult::Status(status), at);
        }
    }

    /// Istio's defaults: 5 consecutive 5xx, gateway off, 10s/30s/300s, 10%, panic off.
    #[test]
    fn istio_defaults() {
        let c = OutlierConfig::default();
        assert_eq!(c.consecutive_5xx, Some(5));
        assert_eq!(c.consecutive_gateway, None);
        assert_eq!(c.interval, secs(10));
        assert_eq!(c.base_ejection_time, secs(30));
        assert_eq!(c.max_ejection_time, secs(300));
        assert_eq!(c.max_ejection_percent, 10);
        assert_eq!(c.min_health_percent, 0);
    }

    /// Five consecutive 5xx eject; four do not.
    #[test]
    fn five_consecutive_5xx_eject() {
        let (mut d, t0) = detector(open(), 5);
        fail(&mut d, 2, 4, 500, t0);
        assert!(!d.is_ejected(2));
        assert!(d.report(2, UpstreamResult::Status(503), t0));
        assert!(d.is_ejected(2));
        assert_eq!(d.ejected_count(), 1);
        assert_eq!(d.healthy().collect::<Vec<_>>(), [0, 1, 3, 4]);
        assert_eq!(d.healthy_mask(), [true, true, false, true, true]);
    }

    /// A success (or any non-5xx) resets the count.
    #[test]
    fn success_resets_count() {
        let (mut d, t0) = detector(open(), 5);
        fail(&mut d, 0, 4, 500, t0);
        d.report(0, UpstreamResult::Success, t0);
        fail(&mut d, 0, 4, 502, t0);
        d.report(0, UpstreamResult::Status(404), t0);
        fail(&mut d, 0, 4, 500, t0);
        assert!(!d.is_ejected(0));
        d.report(0, UpstreamResult::LocalFailure, t0);
        assert!(d.is_ejected(0), "a local failure is a 503");
    }

    /// Ejected at 5s for 30s: the sweeps at 10, 20 and 30s keep it out (25s elapsed), the sweep
    /// at 40s brings it back. A second ejection before the backoff decays lasts 60s.
    #[test]
    fn ejection_time_and_backoff() {
        let (mut d, t0) = detector(open(), 5);
        fail(&mut d, 1, 5, 500, t0 + secs(5));
        d.advance(t0 + secs(39));
        assert!(d.is_ejected(1));
        d.advance(t0 + secs(40));
        assert!(!d.is_ejected(1));
        assert_eq!(d.hosts[1].backoff, 1);
        // Re-ejected at 45s, before the 50s sweep could decay the backoff: 2 × 30s.
        fail(&mut d, 1, 5, 500, t0 + secs(45));
        assert!(d.is_ejected(1));
        assert_eq!(d.hosts[1].backoff, 2);
        d.advance(t0 + secs(100));
        assert!(d.is_ejected(1), "55s < 60s at the 100s sweep");
        d.advance(t0 + secs(110));
        assert!(!d.is_ejected(1), "65s ≥ 60s at the 110s sweep");
        assert_eq!(d.num_ejections(1), 2);
    }

    /// The multiplier decays by one per healthy interval: back at 110s with backoff 2, the 120s
    /// sweep makes it 1, so an ejection at 125s lasts 2 × 30s (not 3 × 30s), i.e. until the
    /// 190s sweep; after 2 more healthy intervals it is 0 again and a further ejection lasts 30s.
    #[test]
    fn backoff_decays() {
        let (mut d, t0) = detector(open(), 5);
        fail(&mut d, 1, 5, 500, t0 + secs(5));
        d.advance(t0 + secs(40));
        fail(&mut d, 1, 5, 500, t0 + secs(45));
        d.advance(t0 + secs(110));
        assert!(!d.is_ejected(1));
        assert_eq!(
            d.hosts[1].backoff, 2,
            "no decay in the sweep that un-ejects"
        );
        d.advance(t0 + secs(120));
        assert_eq!(d.hosts[1].backoff, 1);
        fail(&mut d, 1, 5, 500, t0 + secs(125));
        assert_eq!(d.hosts[1].backoff, 2);
        d.advance(t0 + secs(180));
        assert!(d.is_ejected(1));
        d.advance(t0 + secs(190));
        assert!(!d.is_ejected(1));
        d.advance(t0 + secs(210));
        assert_eq!(d.hosts[1].backoff, 0);
        fail(&mut d, 1, 5, 500, t0 + secs(211));
        d.advance(t0 + secs(240));
        assert!(d.is_ejected(1), "29s elapsed");
        d.advance(t0 + secs(250));
        assert!(!d.is_ejected(1));
    }

    /// The backoff stops growing once `backoff · base ≥ max + base`, so the ejection time is
    /// capped at `max_ejection_time`.
    #[test]
    fn ejection_time_is_capped() {
        let (mut d, t0) = detector(open(), 5);
        let mut t = t0 + secs(1);
        for _ in 0..15 {
            fail(&mut d, 0, 5, 500, t);
            assert!(d.is_ejected(0));
            // Wait in the ejected state for the un-ejecting sweep, then re-eject at once.
            while d.is_ejected(0) {
                t += secs(10);
                d.advance(t);
            }
            t += secs(1);
        }
        assert_eq!(d.hosts[0].backoff, 11, "11 · 30s ≥ 300s + 30s");
        let ejected_at = t;
        fail(&mut d, 0, 5, 500, ejected_at);
        d.advance(ejected_at + secs(299));
        assert!(d.is_ejected(0));
        d.advance(ejected_at + secs(309));
        assert!(!d.is_ejected(0), "capped at 300s");
    }

    /// Current Envoy: 5 endpoints at 10% eject nothing (20% after the ejection > 10%); with
    /// `always_eject_one_host` one is ejected but not two. 40% allows two, not three.
    #[test]
    fn max_ejection_percent() {
        let (mut d, t0) = detector(OutlierConfig::default(), 5);
        fail(&mut d, 0, 5, 500, t0);
        assert!(!d.is_ejected(0));
        fail(&mut d, 0, 4, 500, t0);
        assert!(!d.is_ejected(0), "the counter was reset after the overflow");

        let config = OutlierConfig {
            always_eject_one_host: true,
            ..OutlierConfig::default()
        };
        let (mut d, t0) = detector(config, 5);
        fail(&mut d, 0, 5, 500, t0);
        fail(&mut d, 1, 5, 500, t0);
        assert!(d.is_ejected(0));
        assert!(!d.is_ejected(1));

        let config = OutlierConfig {
            max_ejection_percent: 40,
            ..OutlierConfig::default()
        };
        let (mut d, t0) = detector(config, 5);
        for endpoint in 0..3 {
            fail(&mut d, endpoint, 5, 500, t0);
        }
        assert_eq!(d.healthy_mask(), [false, false, true, true, true]);
    }

    /// Gateway errors eject only when configured; a plain 5xx resets the gateway count.
    #[test]
    fn gateway_errors_only_when_configured() {
        let config = OutlierConfig {
            consecutive_5xx: None,
            ..open()
        };
        let (mut d, t0) = detector(config, 5);
        fail(&mut d, 0, 20, 503, t0);
        assert!(!d.is_ejected(0));

        let config = OutlierConfig {
            consecutive_5xx: None,
            consecutive_gateway: Some(3),
            ..open()
        };
        let (mut d, t0) = detector(config, 5);
        fail(&mut d, 0, 2, 502, t0);
        d.report(0, UpstreamResult::Status(500), t0);
        fail(&mut d, 0, 2, 504, t0);
        assert!(!d.is_ejected(0), "the 500 reset the gateway count");
        d.report(0, UpstreamResult::LocalFailure, t0);
        assert!(d.is_ejected(0));
    }

    /// Split mode: local failures feed their own counter and leave the 5xx counter alone; any
    /// response means the connection succeeded and resets the local-origin counter.
    #[test]
    fn split_local_origin() {
        let config = OutlierConfig {
            split_external_local_origin_errors: true,
            consecutive_local_origin: Some(2),
            ..open()
        };
        let (mut d, t0) = detector(config, 5);
        fail(&mut d, 0, 4, 500, t0);
        d.report(0, UpstreamResult::LocalFailure, t0);
        assert!(!d.is_ejected(0));
        assert!(
            d.report(0, UpstreamResult::Status(500), t0),
            "fifth 5xx; the local failure did not reset"
        );
        d.report(1, UpstreamResult::LocalFailure, t0);
        d.report(1, UpstreamResult::Status(500), t0);
        d.report(1, UpstreamResult::LocalFailure, t0);
        assert!(
            !d.is_ejected(1),
            "the response reset the local-origin count"
        );
        assert!(d.report(1, UpstreamResult::LocalFailure, t0));
    }

    /// Panic: below `min_health_percent` Envoy uses all endpoints, unless 1.4 × healthy covers
    /// everything; 0 never panics.
    #[test]
    fn panic_threshold() {
        let (mut d, t0) = detector(open(), 4);
        fail(&mut d, 0, 5, 500, t0);
        fail(&mut d, 1, 5, 500, t0);
        fail(&mut d, 2, 5, 500, t0);
        assert!(!d.panic(), "threshold 0");
        let config = OutlierConfig {
            min_health_percent: 50,
            ..open()
        };
        let (mut d, t0) = detector(config.clone(), 4);
        fail(&mut d, 0, 5, 500, t0);
        fail(&mut d, 1, 5, 500, t0);
        assert!(!d.panic(), "50% is not below 50%");
        fail(&mut d, 2, 5, 500, t0);
        assert!(d.panic());
        let config = OutlierConfig {
            min_health_percent: 80,
            ..open()
        };
        let (mut d, t0) = detector(config, 4);
        fail(&mut d, 0, 5, 500, t0);
        assert!(!d.panic(), "75% < 80% but 1.4 × 75% ≥ 100%");
        fail(&mut d, 1, 5, 500, t0);
        assert!(d.panic());
    }

    /// Unknown endpoints are ignored; sweeps run at their scheduled times.
    #[test]
    fn robustness_and_schedule() {
        let (mut d, t0) = detector(open(), 2);
        assert!(!d.report(7, UpstreamResult::Status(500), t0));
        assert!(!d.is_ejected(7));
        d.advance(t0 + secs(35));
        assert_eq!(d.next_sweep(), Some(t0 + secs(40)));
        d.tick(t0 + secs(41));
        assert_eq!(d.next_sweep(), Some(t0 + secs(51)));
        // A zero interval (rejected by Envoy) cannot spin; a long idle gap is skipped at once.
        let config = OutlierConfig {
            interval: Duration::ZERO,
            ..open()
        };
        let (mut d, t0) = detector(config, 3);
        d.advance(t0 + secs(86_400));
        assert_eq!(
            d.next_sweep(),
            Some(t0 + secs(86_400) + Duration::from_millis(1))
        );
        fail(&mut d, 0, 5, 500, t0 + secs(86_400));
        assert!(d.is_ejected(0));
        d.advance(t0 + secs(86_430));
        assert!(!d.is_ejected(0));
        let (mut empty, t0) = detector(open(), 0);
        assert!(!empty.report(0, UpstreamResult::LocalFailure, t0));
        assert!(!empty.panic());
    }

    /// Five 5xx eject an endpoint; the sweep after the ejection time returns it.
    #[test]
    fn example_eject_and_return() {
        let start = Instant::now();
        let config = OutlierConfig {
            max_ejection_percent: 100,
            ..OutlierConfig::default()
        };
        let mut detector = OutlierDetector::new(config, 3, start);
        for _ in 0..5 {
            detector.report(
                1,
                UpstreamResult::Status(500),
                start + Duration::from_secs(1),
            );
        }
        assert!(detector.is_ejected(1));
        detector.advance(start + Duration::from_secs(40)); // sweeps at 10s, 20s, 30s, 40s
        assert!(!detector.is_ejected(1));
    }
}
