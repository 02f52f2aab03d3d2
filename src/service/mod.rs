//! tower middleware (feature `tower`): in-process canary dispatch, outbound routing the way a
//! sidecar routes, and context propagation, all reading one [`SharedMesh`](crate::SharedMesh).
//!
//! - [`Dispatch`]: routes each request as the service's own host and calls the handler of the
//!   chosen subset (v1, v2, ...).
//! - [`OutboundLayer`]: around an HTTP client; routes each outgoing request, picks the
//!   endpoint, rewrites the URI to it, applies header operations and rewrites, answers
//!   redirects, direct responses and failures locally with Envoy's status codes, and applies
//!   the route's timeout, retries, fault injection and mirrors, the DestinationRule's
//!   connection-pool limits and outlier detection (guide: `docs/resilience.md`).
//! - [`CaptureLayer`] / [`InjectLayer`]: the routing flag that arrived on the inbound request
//!   travels to every outbound call (see [`Propagation`](crate::Propagation)).
//!
//! Each decision opens a `tracing` span named `meshroute` with the fields `direction`
//! (`dispatch` or `outbound`), `meshroute.outcome`, `meshroute.virtual_service`,
//! `meshroute.route`, `meshroute.match`, `meshroute.destination`, `meshroute.subset` and
//! `meshroute.endpoint`. An outbound request's span lasts for its whole exchange and adds
//! OpenTelemetry's HTTP client attributes: `otel.kind` (`client`), `http.request.method`,
//! `server.address`, `server.port`, `url.full`, and when it ends `http.response.status_code`,
//! `http.request.resend_count` (retries made), `error.type` (Envoy's flag of a local reply, or
//! the status from 400 on) and `meshroute.flags`. Every reply meshroute makes itself carries a
//! [`LocalReply`] extension; a retried or delayed response an [`UpstreamReply`].
//!
//! Randomness can be injected ([`OutboundLayer::with_rng`], [`DispatchBuilder::with_rng`]) so
//! that a sequence of requests replays exactly, as tower's `Balance::from_rng`.

mod body;
mod dispatch;
pub mod future;
mod outbound;
mod propagation;
mod replay;
mod reply;

pub use body::ResponseBody;
pub use dispatch::{Dispatch, DispatchBuilder};
pub use outbound::{Outbound, OutboundLayer, OutboundStats};
pub use propagation::{Capture, CaptureLayer, Inject, InjectLayer};
pub use replay::RequestBody;
pub use reply::{LocalReply, RouteInfo, UpstreamReply};
