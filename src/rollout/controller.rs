//! The rollout itself: its state, its transitions and their events.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::clock::Clock;
use super::spec::{RolloutSpec, StepStats, Verdict};
use super::window::{Target, Window};
use crate::live::{ObserverId, SharedMesh};
use crate::route::mesh::SetWeightsError;

/// Where a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// At a step, judging it at each tick.
    Progressing,
    /// Every step passed: the canary keeps the last step's percent.
    Succeeded,
    /// A gate failed: the canary is at 0%.
    RolledBack,
}

/// A rollout's state, small and serializable: what an application persists so that a restart
/// continues the rollout ([`Rollout::resume`]) instead of starting it over at 0%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutState {
    /// The current step, an index into the spec's steps.
    pub step: usize,
    /// Progressing, succeeded or rolled back.
    pub phase: Phase,
    /// When the current step started, in milliseconds since the Unix epoch (the rollout's
    /// clock).
    pub step_started_ms: u64,
}

/// A rollout's transition, sent on its watch channel ([`Rollout::events`]) and logged with
/// `tracing`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RolloutEvent {
    /// The rollout started, or resumed from a saved state, at step `step` (an index).
    Started {
        /// The step's index.
        step: usize,
        /// The canary's percent.
        percent: u32,
        /// The phase it is in (a resumed rollout may have ended).
        phase: Phase,
    },
    /// The previous step passed its gates: the canary moved to the next step.
    Promoted {
        /// The new step's index.
        step: usize,
        /// The canary's new percent.
        percent: u32,
    },
    /// The step stays, for `reason` (too few requests, its interval not over, the custom
    /// check, or weights that could not be applied). Sent once per reason and step.
    Paused {
        /// The step's index.
        step: usize,
        /// The canary's percent.
        percent: u32,
        /// Why.
        reason: String,
    },
    /// The last step passed: the rollout is over.
    Succeeded {
        /// The canary's final percent.
        percent: u32,
    },
    /// A gate failed: the canary is back at 0%.
    RolledBack {
        /// The canary's percent before.
        from: u32,
        /// The gate that failed, with the measured value and the limit.
        reason: String,
    },
}

impl std::fmt::Display for RolloutEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RolloutEvent::Started {
                step,
                percent,
                phase,
            } => match phase {
                Phase::Progressing => {
                    write!(f, "started at step {}: canary at {percent}%", step + 1)
                }
                Phase::Succeeded => write!(f, "resumed, already succeeded: canary at {percent}%"),
                Phase::RolledBack => write!(f, "resumed, already rolled back: canary at 0%"),
            },
            RolloutEvent::Promoted { step, percent } => {
                write!(f, "promoted to step {}: canary at {percent}%", step + 1)
            }
            RolloutEvent::Paused {
                step,
                percent,
                reason,
            } => write!(
                f,
                "paused at step {} (canary at {percent}%): {reason}",
                step + 1
            ),
            RolloutEvent::Succeeded { percent } => {
                write!(f, "succeeded: canary at {percent}%")
            }
            RolloutEvent::RolledBack { from, reason } => {
                write!(f, "rolled back from {from}% to 0%: {reason}")
            }
        }
    }
}

/// Why a rollout cannot start or resume.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RolloutError {
    /// The spec is inconsistent.
    #[error("invalid rollout: {0}")]
    Spec(String),
    /// The route cannot have its weights set (no such VirtualService or route, a single
    /// destination, a subset it does not route to).
    #[error(transparent)]
    Weights(#[from] SetWeightsError),
    /// The route has no destination with this subset.
    #[error(
        "route {route} of VirtualService {virtual_service} has no destination with subset {subset}"
    )]
    Subset {
        /// `namespace/name`.
        virtual_service: String,
        /// The route as given.
        route: String,
        /// The subset.
        subset: String,
    },
    /// The saved state names a step the spec does not have.
    #[error("the saved state is at step {step}, the spec has {steps} steps")]
    State {
        /// The saved step.
        step: usize,
        /// The spec's number of steps.
        steps: usize,
    },
    /// [`Rollout::spawn`] was called outside a tokio runtime.
    #[error("Rollout::spawn needs a tokio runtime")]
    NoRuntime,
}

/// A progressive delivery of one route: owns the route's weights in a [`SharedMesh`], moves
/// the canary through the spec's steps, and judges each step on the outcomes the tower layers
/// publish. Cloning is cheap (clones share the rollout); the last clone dropped stops
/// observing the mesh (the weights it set stay until the application releases them with
/// [`SharedMesh::release_weights`]).
///
/// Each [`Rollout::tick`] judges the current step: with fewer than the spec's canary requests
/// it pauses; if the canary's error rate or latency percentile is above its limit, or the
/// custom check says so, it rolls back to 0% (Flagger rolls back when its analysis fails);
/// if the custom check holds, or the step's interval is not over, it pauses; else it promotes
/// to the next step, or succeeds after the last.
#[derive(Clone)]
pub struct Rollout {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Rollout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rollout")
            .field("spec", &self.shared.spec)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

struct Shared {
    mesh: SharedMesh,
    spec: RolloutSpec,
    clock: Box<dyn Clock>,
    progress: Mutex<Progress>,
    window: Arc<Mutex<Window>>,
    observer: ObserverId,
    events: watch::Sender<RolloutEvent>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.mesh.unobserve(self.observer);
    }
}

/// The state and the pause last reported in it (reported once per reason and step).
struct Progress {
    state: RolloutState,
    paused: Option<Pause>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pause {
    Traffic,
    Interval,
    Check,
    Weights,
}

/// A step's judgement.
enum Judged {
    Promote,
    Hold(Pause, String),
    RollBack(String),
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Rollout {
    /// Starts a rollout at the spec's first step: sets the route's weights (the canary at the
    /// first step's percent, the stable subset at the rest, any other destination at 0) and
    /// starts observing the mesh.
    pub fn start(
        mesh: &SharedMesh,
        spec: RolloutSpec,
        clock: impl Clock,
    ) -> Result<Self, RolloutError> {
        let state = RolloutState {
            step: 0,
            phase: Phase::Progressing,
            step_started_ms: millis(clock.now()),
        };
        Self::resume(mesh, spec, clock, state)
    }

    /// Continues a rollout from a saved state ([`Rollout::state`]): the step's weights are set
    /// again and its interval counts from the saved start; the step's outcome counts start
    /// over. A rollout that had succeeded keeps its last step, one rolled back stays at 0%.
    pub fn resume(
        mesh: &SharedMesh,
        spec: RolloutSpec,
        clock: impl Clock,
        state: RolloutState,
    ) -> Result<Self, RolloutError> {
        if let Some(problem) = spec.problem() {
            return Err(RolloutError::Spec(problem));
        }
        if state.step >= spec.steps.len() {
            return Err(RolloutError::State {
                step: state.step,
                steps: spec.steps.len(),
            });
        }
        let destinations = mesh
            .load()
            .weighted_destinations(&spec.virtual_service, &spec.route)?;
        let target = |subset: &str| {
            destinations
                .iter()
                .find(|(_, s)| s.as_deref() == Some(subset))
                .and_then(|(host, s)| {
                    Some(Target {
                        host: host.clone(),
                        subset: s.clone()?,
                    })
                })
                .ok_or_else(|| RolloutError::Subset {
                    virtual_service: spec.virtual_service.clone(),
                    route: spec.route.clone(),
                    subset: subset.to_owned(),
                })
        };
        let window = Window::new(
            target(&spec.canary)?,
            target(&spec.stable)?,
            if spec.records_latency() {
                spec.max_samples
            } else {
                0
            },
        );
        let percent = percent_of(&spec, &state);
        set_weights(mesh, &spec, percent)?;
        let window = Arc::new(Mutex::new(window));
        if state.phase != Phase::Progressing {
            if let Ok(mut window) = window.lock() {
                window.close();
            }
        }
        let feed = Arc::clone(&window);
        let observer = mesh.observe(move |outcome| {
            if let Ok(mut window) = feed.lock() {
                window.record(outcome);
            }
        });
        let started = RolloutEvent::Started {
            step: state.step,
            percent,
            phase: state.phase,
        };
        log(&spec, &started);
        let (events, _) = watch::channel(started);
        Ok(Self {
            shared: Arc::new(Shared {
                mesh: mesh.clone(),
                spec,
                clock: Box::new(clock),
                progress: Mutex::new(Progress {
                    state,
                    paused: None,
                }),
                window,
                observer,
                events,
            }),
        })
    }

    /// The state to persist.
    pub fn state(&self) -> RolloutState {
        match self.shared.progress.lock() {
            Ok(progress) => progress.state,
            Err(poisoned) => poisoned.into_inner().state,
        }
    }

    /// The canary's current percent of the route's traffic.
    pub fn percent(&self) -> u32 {
        percent_of(&self.shared.spec, &self.state())
    }

    /// The latest transition, and every later one: a `tokio` watch channel.
    pub fn events(&self) -> watch::Receiver<RolloutEvent> {
        self.shared.events.subscribe()
    }

    /// The current step's statistics (what the next tick judges).
    pub fn stats(&self) -> StepStats {
        let state = self.state();
        let (canary, stable) = self
            .shared
            .window
            .lock()
            .map(|w| w.stats())
            .unwrap_or_default();
        StepStats {
            percent: percent_of(&self.shared.spec, &state),
            elapsed: self.elapsed(&state),
            canary,
            stable,
        }
    }

    fn elapsed(&self, state: &RolloutState) -> Duration {
        Duration::from_millis(millis(self.shared.clock.now()).saturating_sub(state.step_started_ms))
    }

    /// Judges the current step at the clock's time and makes the transition it calls for:
    /// returns it, or `None` when nothing changed (the rollout has ended, or it stays paused
    /// for the reason already reported).
    pub fn tick(&self) -> Option<RolloutEvent> {
        let shared = &*self.shared;
        let spec = &shared.spec;
        let mut progress = match shared.progress.lock() {
            Ok(progress) => progress,
            Err(poisoned) => poisoned.into_inner(),
        };
        if progress.state.phase != Phase::Progressing {
            return None;
        }
        let state = progress.state;
        let percent = percent_of(spec, &state);
        let (canary, stable) = shared.window.lock().map(|w| w.stats()).unwrap_or_default();
        let stats = StepStats {
            percent,
            elapsed: self.elapsed(&state),
            canary,
            stable,
        };
        let (event, paused) = match judge(spec, &stats) {
            Judged::Hold(pause, reason) => (
                RolloutEvent::Paused {
                    step: state.step,
                    percent,
                    reason,
                },
                Some(pause),
            ),
            Judged::RollBack(reason) => match set_weights(&shared.mesh, spec, 0) {
                Ok(()) => {
                    progress.state.phase = Phase::RolledBack;
                    self.close_window();
                    (
                        RolloutEvent::RolledBack {
                            from: percent,
                            reason,
                        },
                        None,
                    )
                }
                Err(error) => self.weights_failed(state, percent, &error),
            },
            Judged::Promote => match spec.steps.get(state.step + 1) {
                Some(&next) => match set_weights(&shared.mesh, spec, next) {
                    Ok(()) => {
                        progress.state.step = state.step + 1;
                        progress.state.step_started_ms = millis(shared.clock.now());
                        if let Ok(mut window) = shared.window.lock() {
                            window.reset();
                        }
                        (
                            RolloutEvent::Promoted {
                                step: state.step + 1,
                                percent: next,
                            },
                            None,
                        )
                    }
                    Err(error) => self.weights_failed(state, percent, &error),
                },
                None => {
                    progress.state.phase = Phase::Succeeded;
                    self.close_window();
                    (RolloutEvent::Succeeded { percent }, None)
                }
            },
        };
        if paused.is_some() && paused == progress.paused {
            return None;
        }
        progress.paused = paused;
        drop(progress);
        log(spec, &event);
        shared.events.send_replace(event.clone());
        Some(event)
    }

    fn weights_failed(
        &self,
        state: RolloutState,
        percent: u32,
        error: &RolloutError,
    ) -> (RolloutEvent, Option<Pause>) {
        (
            RolloutEvent::Paused {
                step: state.step,
                percent,
                reason: error.to_string(),
            },
            Some(Pause::Weights),
        )
    }

    fn close_window(&self) {
        if let Ok(mut window) = self.shared.window.lock() {
            window.close();
        }
    }

    /// Ticks every `every` on the current tokio runtime until the rollout ends (or every
    /// clone of it is dropped but the task's).
    pub fn spawn(&self, every: Duration) -> Result<tokio::task::JoinHandle<()>, RolloutError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| RolloutError::NoRuntime)?;
        let rollout = self.clone();
        Ok(runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                rollout.tick();
                if rollout.state().phase != Phase::Progressing {
                    break;
                }
            }
        }))
    }
}

/// The canary's percent in `state`.
fn percent_of(spec: &RolloutSpec, state: &RolloutState) -> u32 {
    match state.phase {
        Phase::RolledBack => 0,
        Phase::Progressing | Phase::Succeeded => spec.steps.get(state.step).copied().unwrap_or(0),
    }
}

/// Gives the canary `percent` and the stable subset the rest.
fn set_weights(mesh: &SharedMesh, spec: &RolloutSpec, percent: u32) -> Result<(), RolloutError> {
    let percent = percent.min(100);
    mesh.set_weights(
        &spec.virtual_service,
        &spec.route,
        &[(&spec.stable, 100 - percent), (&spec.canary, percent)],
    )?;
    Ok(())
}

/// The gates, in order: enough traffic, the error rate, the latency, the custom check, the
/// step's interval.
fn judge(spec: &RolloutSpec, stats: &StepStats) -> Judged {
    let canary = &stats.canary;
    if canary.requests < spec.min_requests {
        return Judged::Hold(
            Pause::Traffic,
            format!(
                "{} canary requests of the {} a step needs",
                canary.requests, spec.min_requests
            ),
        );
    }
    if let Some(rate) = canary.error_rate() {
        if rate > spec.max_error_rate {
            return Judged::RollBack(format!(
                "canary error rate {:.1}% ({} of {} requests) is above {:.1}%",
                rate * 100.0,
                canary.errors,
                canary.requests,
                spec.max_error_rate * 100.0
            ));
        }
    }
    if let Some(gate) = &spec.latency {
        if let Some(latency) = canary.latency(gate.percentile) {
            if latency > gate.max {
                return Judged::RollBack(format!(
                    "canary p{} latency {latency:?} is above {:?}",
                    gate.percentile, gate.max
                ));
            }
        }
    }
    if let Some(check) = &spec.check {
        match check(stats) {
            Verdict::Promote => {}
            Verdict::Hold(reason) => return Judged::Hold(Pause::Check, reason),
            Verdict::RollBack(reason) => return Judged::RollBack(reason),
        }
    }
    if stats.elapsed < spec.step_interval {
        return Judged::Hold(
            Pause::Interval,
            format!(
                "the step has lasted {:?} of {:?}",
                stats.elapsed, spec.step_interval
            ),
        );
    }
    Judged::Promote
}

fn log(spec: &RolloutSpec, event: &RolloutEvent) {
    let (vs, route) = (&*spec.virtual_service, &*spec.route);
    match event {
        RolloutEvent::RolledBack { .. } => {
            tracing::warn!(virtual_service = vs, route, canary = %spec.canary, %event, "rollout");
        }
        RolloutEvent::Paused { .. } => {
            tracing::debug!(virtual_service = vs, route, canary = %spec.canary, %event, "rollout");
        }
        _ => tracing::info!(virtual_service = vs, route, canary = %spec.canary, %event, "rollout"),
    }
}
