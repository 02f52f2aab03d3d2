//! In-process progressive delivery (feature `rollout`): a [`Rollout`] owns the weights of one
//! route of a [`SharedMesh`](crate::SharedMesh) and moves traffic from a stable subset to a
//! canary step by step, promoting, pausing or rolling back on gates computed from the outcome
//! feed the tower layers publish ([`SharedMesh::observe`](crate::SharedMesh::observe)).
//!
//! It follows the model of Flagger's canary analysis (`stepWeights`, `interval`, a request
//! success rate and a latency threshold, rollback to 0% when a check fails; docs.flagger.app,
//! "Canary analysis") and Argo Rollouts' `setWeight` steps, in process: the weights are
//! replaced in the compiled route ([`Mesh::set_weights`](crate::Mesh::set_weights)) instead of
//! rewritten in the VirtualService, and survive a configuration reload.
//!
//! ```
//! use std::time::Duration;
//! use meshroute::rollout::{ManualClock, Rollout, RolloutSpec};
//! # fn demo(mesh: meshroute::SharedMesh) -> Result<(), meshroute::rollout::RolloutError> {
//! let clock = ManualClock::new();
//! let spec = RolloutSpec::new("default/reviews", "main", "v1", "v2")
//!     .steps([5, 10, 25, 50, 100])
//!     .step_interval(Duration::from_secs(60))
//!     .min_requests(100)
//!     .max_error_rate(0.01);
//! let rollout = Rollout::start(&mesh, spec, clock.clone())?;
//! // Each minute (or `rollout.spawn(...)` on tokio):
//! clock.advance(Duration::from_secs(60));
//! let event = rollout.tick();
//! # let _ = event; Ok(()) }
//! ```

mod clock;
mod controller;
mod spec;
mod window;

pub use clock::{Clock, ManualClock, SystemClock};
pub use controller::{Phase, Rollout, RolloutError, RolloutEvent, RolloutState};
pub use spec::{LatencyGate, RolloutSpec, StepStats, SubsetStats, Verdict};
