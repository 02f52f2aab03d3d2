//! tower middleware (feature `tower`): in-process canary dispatch, outbound routing the way a
//! sidecar routes, context propagation, and the live configuration they share.
//!
//! - [`SharedMesh`]: the current [`Mesh`](crate::Mesh), swapped atomically on reload; a
//!   configuration that fails to compile is refused and the old one keeps serving.
//! - [`Dispatch`]: routes each request as the service's own host and calls the handler of the
//!   chosen subset (v1, v2, ...).
//! - [`OutboundLayer`]: around an HTTP client; routes each outgoing request, picks the
//!   endpoint, rewrites the URI to it, applies header operations and rewrites, answers
//!   redirects, direct responses and failures locally with Envoy's status codes.
//! - [`CaptureLayer`] / [`InjectLayer`]: the routing flag that arrived on the inbound request
//!   travels to every outbound call (see [`propagation`]).
//!
//! Each decision opens a `tracing` span named `meshroute` with the fields `direction`
//! (`dispatch` or `outbound`), `meshroute.outcome`, `meshroute.virtual_service`,
//! `meshroute.route`, `meshroute.match`, `meshroute.destination`, `meshroute.subset` and
//! `meshroute.endpoint`.

mod body;
mod dispatch;
pub mod future;
mod local;
mod outbound;
pub mod propagation;
mod shared;
#[cfg(feature = "watch")]
mod watch;

pub use body::ResponseBody;
pub use dispatch::{Dispatch, DispatchBuilder};
pub use local::RouteInfo;
pub use outbound::{Outbound, OutboundLayer};
pub use propagation::{Capture, CaptureLayer, Inject, InjectLayer, Propagation, RoutingContext};
pub use shared::SharedMesh;
#[cfg(feature = "watch")]
pub use watch::Watcher;
