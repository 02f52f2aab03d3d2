//! The live configuration: a [`SharedMesh`] that every request reads and a reload replaces
//! atomically, and (feature `watch`) a [`Watcher`] that reloads it when its files change.
//!
//! A request decides on the mesh it loaded when it started and finishes on it; requests that
//! start later see the new one. A configuration that fails to load or compile never replaces the
//! working one.

mod observe;
mod shared;
#[cfg(feature = "watch")]
mod watch;

pub use observe::{ObserverId, RequestOutcome};
#[cfg(feature = "tower")]
pub(crate) use shared::Observed;
pub use shared::SharedMesh;
#[cfg(feature = "watch")]
pub use watch::Watcher;
