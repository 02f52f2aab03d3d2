//! What an [`OutboundLayer`](super::OutboundLayer) was built with, shared by its services,
//! and the clock that drives outlier detection.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use std::sync::atomic::{AtomicU64, AtomicUsize};

use crate::live::SharedMesh;
use crate::propagation::Propagation;
use crate::route::source::Source;
use crate::util::rng::SharedRng;

/// What an [`OutboundLayer`](super::OutboundLayer) was built with, shared by its services.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) mesh: SharedMesh,
    pub(super) source: Arc<Source>,
    pub(super) propagation: Option<Arc<Propagation>>,
    pub(super) rng: Option<SharedRng>,
    pub(super) dns_fallback: bool,
    /// Hosts already warned about (simulated endpoints only), to log once per host.
    pub(super) warned: Arc<Mutex<BTreeSet<String>>>,
    /// Bytes of a request body kept for retries and mirrors.
    pub(super) replay_limit: usize,
    /// Mirrors in flight at most.
    pub(super) max_mirrors: usize,
    /// Envoy's `-shadow` host suffix on mirrors (off, as Istio configures Envoy).
    pub(super) shadow_suffix: bool,
    pub(super) mirrors: Arc<MirrorCounters>,
    /// The outlier-detection clock task, started with the first request to a cluster that
    /// detects outliers; it stops when every clone of the layer is gone (`alive`).
    pub(super) clock: Arc<OnceLock<()>>,
    pub(super) alive: Arc<()>,
}

/// How often the outlier-detection clock runs the detectors' interval work (un-ejection is
/// due at the configured intervals; this is how late it may be seen).
const CLOCK_PERIOD: Duration = Duration::from_millis(20);

impl Settings {
    /// Starts the outlier-detection clock if it is not running (needs a tokio runtime).
    pub(super) fn start_clock(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.clock.get_or_init(|| {
            let mesh = self.mesh.clone();
            let alive: Weak<()> = Arc::downgrade(&self.alive);
            runtime.spawn(async move {
                let mut ticks = tokio::time::interval(CLOCK_PERIOD);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    if alive.upgrade().is_none() {
                        break;
                    }
                    mesh.load().tick(std::time::Instant::now());
                }
            });
        });
    }
}

/// Mirror counts shared by a layer and its services.
#[derive(Debug, Default)]
pub(super) struct MirrorCounters {
    pub(super) in_flight: AtomicUsize,
    pub(super) sent: AtomicU64,
    pub(super) dropped: AtomicU64,
}
