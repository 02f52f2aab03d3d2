//! The current step's outcomes, fed by the mesh's observer.

use std::sync::Arc;
use std::time::Duration;

use super::spec::SubsetStats;
use crate::live::RequestOutcome;

/// The destination a rollout counts outcomes for.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) host: Arc<str>,
    pub(super) subset: Arc<str>,
}

impl Target {
    fn is(&self, outcome: &RequestOutcome<'_>) -> bool {
        outcome.subset == Some(&*self.subset) && outcome.host == &*self.host
    }
}

/// One subset's counts during a step.
#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    errors: u64,
    /// A ring of the latest latencies (capacity reserved when the step starts).
    latencies: Vec<Duration>,
    /// Where the next latency goes once the ring is full.
    next: usize,
}

impl Counts {
    fn record(&mut self, outcome: &RequestOutcome<'_>, samples: usize) {
        self.requests += 1;
        if outcome.is_error() {
            self.errors += 1;
        }
        if samples == 0 {
            return;
        }
        if self.latencies.len() < samples {
            self.latencies.push(outcome.latency);
        } else if let Some(slot) = self.latencies.get_mut(self.next) {
            *slot = outcome.latency;
            self.next = (self.next + 1) % samples;
        }
    }

    fn stats(&self) -> SubsetStats {
        let mut latencies = self.latencies.clone();
        latencies.sort_unstable();
        SubsetStats {
            requests: self.requests,
            errors: self.errors,
            latencies,
        }
    }
}

/// The canary's and the stable subset's outcomes since the step started.
#[derive(Debug)]
pub(super) struct Window {
    pub(super) canary: Target,
    pub(super) stable: Target,
    /// Latencies kept per subset (0: none recorded).
    samples: usize,
    /// Whether outcomes count (not after the rollout ended).
    open: bool,
    canary_counts: Counts,
    stable_counts: Counts,
}

impl Window {
    pub(super) fn new(canary: Target, stable: Target, samples: usize) -> Self {
        let mut window = Self {
            canary,
            stable,
            samples,
            open: true,
            canary_counts: Counts::default(),
            stable_counts: Counts::default(),
        };
        window.reset();
        window
    }

    /// Starts a new step: counts at zero, room for the latencies reserved.
    pub(super) fn reset(&mut self) {
        for counts in [&mut self.canary_counts, &mut self.stable_counts] {
            *counts = Counts {
                latencies: Vec::with_capacity(self.samples),
                ..Counts::default()
            };
        }
    }

    /// Stops counting (the rollout has ended) and frees the samples.
    pub(super) fn close(&mut self) {
        self.open = false;
        self.samples = 0;
        self.reset();
    }

    pub(super) fn record(&mut self, outcome: &RequestOutcome<'_>) {
        if !self.open {
            return;
        }
        if self.canary.is(outcome) {
            self.canary_counts.record(outcome, self.samples);
        } else if self.stable.is(outcome) {
            self.stable_counts.record(outcome, self.samples);
        }
    }

    /// `(canary, stable)`.
    pub(super) fn stats(&self) -> (SubsetStats, SubsetStats) {
        (self.canary_counts.stats(), self.stable_counts.stats())
    }
}
