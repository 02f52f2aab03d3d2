//! What a rollout does: the route it owns, its steps and its gates.

use std::sync::Arc;
use std::time::Duration;

/// A rollout's configuration: the route it owns, the stable and canary subsets, the steps
/// (the canary's percent of the traffic), how long and how much traffic each step needs, and
/// the gates that decide between promoting, pausing and rolling back.
#[derive(Clone)]
pub struct RolloutSpec {
    pub(super) virtual_service: String,
    pub(super) route: String,
    pub(super) stable: String,
    pub(super) canary: String,
    pub(super) steps: Vec<u32>,
    pub(super) step_interval: Duration,
    pub(super) min_requests: u64,
    pub(super) max_error_rate: f64,
    pub(super) latency: Option<LatencyGate>,
    pub(super) check: Option<Check>,
    pub(super) max_samples: usize,
}

/// A custom check of a step's statistics.
pub(super) type Check = Arc<dyn Fn(&StepStats) -> Verdict + Send + Sync>;

impl std::fmt::Debug for RolloutSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RolloutSpec")
            .field("virtual_service", &self.virtual_service)
            .field("route", &self.route)
            .field("stable", &self.stable)
            .field("canary", &self.canary)
            .field("steps", &self.steps)
            .field("step_interval", &self.step_interval)
            .field("min_requests", &self.min_requests)
            .field("max_error_rate", &self.max_error_rate)
            .field("latency", &self.latency)
            .field("check", &self.check.is_some())
            .finish_non_exhaustive()
    }
}

/// The latency gate: the canary's `percentile` latency must stay at or below `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyGate {
    /// In (0, 100]: 99 is the 99th percentile.
    pub percentile: f64,
    /// The highest latency allowed at that percentile.
    pub max: Duration,
}

/// A custom check's verdict on a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The step may be promoted (once the other gates pass and the interval is over).
    Promote,
    /// Stay at this step and check again at the next tick, for this reason.
    Hold(String),
    /// Roll back to 0%, for this reason.
    RollBack(String),
}

/// What the outcome feed reported of one subset during the current step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubsetStats {
    /// Requests that ended (attempts, for the outbound layer).
    pub requests: u64,
    /// Of them, 5xx responses and local failures.
    pub errors: u64,
    /// Latencies recorded, sorted (at most the spec's sample limit, the latest kept).
    pub(super) latencies: Vec<Duration>,
}

impl SubsetStats {
    /// `errors / requests`; `None` without requests.
    pub fn error_rate(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    /// The `percentile` (in (0, 100]) of the latencies recorded, nearest-rank; `None` without
    /// samples. Latencies are recorded only when the spec has a latency gate or a custom check.
    pub fn latency(&self, percentile: f64) -> Option<Duration> {
        if self.latencies.is_empty() || !(percentile > 0.0 && percentile <= 100.0) {
            return None;
        }
        // Nearest rank: ceil(p/100 × n), 1-based.
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let rank = ((percentile / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies
            .get(rank.saturating_sub(1).min(self.latencies.len() - 1))
            .copied()
    }
}

/// A step's statistics, as the gates and a custom check see them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepStats {
    /// The canary's percent of the traffic at this step.
    pub percent: u32,
    /// How long the step has lasted.
    pub elapsed: Duration,
    /// The canary subset's outcomes during the step.
    pub canary: SubsetStats,
    /// The stable subset's outcomes during the step.
    pub stable: SubsetStats,
}

impl RolloutSpec {
    /// A rollout of `canary` against `stable` (subsets of the destinations of route `route` of
    /// VirtualService `virtual_service`, `namespace/name`; the route by name, or by index in
    /// `spec.http`). Defaults: steps 5, 10, 25, 50, 100; one minute and 100 canary requests per
    /// step; a canary error rate of at most 1% (Flagger's usual `request-success-rate` of
    /// 99%); no latency gate, no custom check.
    pub fn new(
        virtual_service: impl Into<String>,
        route: impl Into<String>,
        stable: impl Into<String>,
        canary: impl Into<String>,
    ) -> Self {
        Self {
            virtual_service: virtual_service.into(),
            route: route.into(),
            stable: stable.into(),
            canary: canary.into(),
            steps: vec![5, 10, 25, 50, 100],
            step_interval: Duration::from_secs(60),
            min_requests: 100,
            max_error_rate: 0.01,
            latency: None,
            check: None,
            max_samples: 10_000,
        }
    }

    /// The canary's percent at each step, increasing, each in 1..=100 (the last is usually
    /// 100: promoting past the last step finishes the rollout with the canary at that percent).
    pub fn steps(mut self, steps: impl IntoIterator<Item = u32>) -> Self {
        self.steps = steps.into_iter().collect();
        self
    }

    /// The least time a step lasts before it is promoted (Flagger's `interval`).
    pub fn step_interval(mut self, interval: Duration) -> Self {
        self.step_interval = interval;
        self
    }

    /// The least number of canary requests a step needs before its gates are judged (Flagger's
    /// metric checks wait for traffic likewise); with fewer, the rollout pauses.
    pub fn min_requests(mut self, requests: u64) -> Self {
        self.min_requests = requests;
        self
    }

    /// The highest canary error rate (5xx and local failures over requests, in [0, 1]) a step
    /// passes with; above it the rollout rolls back.
    pub fn max_error_rate(mut self, rate: f64) -> Self {
        self.max_error_rate = rate;
        self
    }

    /// The latency gate: the canary's `percentile` latency must stay at or below `max`, else
    /// the rollout rolls back.
    pub fn max_latency(mut self, percentile: f64, max: Duration) -> Self {
        self.latency = Some(LatencyGate { percentile, max });
        self
    }

    /// A custom check, judged after the built-in gates pass: promote, hold or roll back.
    pub fn check(mut self, check: impl Fn(&StepStats) -> Verdict + Send + Sync + 'static) -> Self {
        self.check = Some(Arc::new(check));
        self
    }

    /// How many latencies a step keeps per subset (the latest; 10,000 by default): the memory
    /// of the latency percentile, allocated when a step starts, not per request.
    pub fn max_latency_samples(mut self, samples: usize) -> Self {
        self.max_samples = samples;
        self
    }

    /// Why the spec cannot run, if it cannot.
    pub(super) fn problem(&self) -> Option<String> {
        if self.steps.is_empty() {
            return Some("the rollout has no steps".to_owned());
        }
        if let Some(step) = self.steps.iter().find(|s| **s == 0 || **s > 100) {
            return Some(format!("step {step}% is not in 1..=100"));
        }
        if self.steps.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
            return Some(format!("the steps {:?} do not increase", self.steps));
        }
        if self.stable == self.canary {
            return Some(format!(
                "the stable and the canary subset are both {}",
                self.stable
            ));
        }
        if !(0.0..=1.0).contains(&self.max_error_rate) {
            return Some(format!(
                "the error rate limit {} is not in [0, 1]",
                self.max_error_rate
            ));
        }
        if let Some(gate) = &self.latency {
            if !(gate.percentile > 0.0 && gate.percentile <= 100.0) {
                return Some(format!(
                    "the latency percentile {} is not in (0, 100]",
                    gate.percentile
                ));
            }
        }
        None
    }

    /// Whether latencies need recording.
    pub(super) fn records_latency(&self) -> bool {
        self.latency.is_some() || self.check.is_some()
    }
}
