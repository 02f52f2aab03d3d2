//! Context propagation: the routing flag that arrived on an inbound request travels to every
//! outbound call the handler makes.
//!
//! Header-based canaries break on the second hop when a service does not copy the flag onto its
//! own calls: the sidecar of the next hop never sees `x-canary` (or `?name=xx`) and routes to the
//! stable version. [`CaptureLayer`] takes the flags from each inbound request (into a request
//! extension and a task-local for the handler's future); the [`Outbound`](super::Outbound)
//! layer, or the standalone [`InjectLayer`], puts them on every outgoing request the handler
//! sends. What travels is decided by [`Propagation`](crate::Propagation) (see [`Propagation::from_mesh`](crate::Propagation::from_mesh)).
//!
//! What travels is an allowlist ([`Propagation`](crate::Propagation)):
//! - the trace headers Istio asks applications to forward: `x-request-id`, `traceparent`,
//!   `tracestate`, the B3 headers, `x-ot-span-context`, `x-cloud-trace-context`, `baggage`;
//! - every header and query parameter a VirtualService match refers to (from the mesh:
//!   [`Propagation::from_mesh`](crate::Propagation::from_mesh); in the seed scenario, the `name` query parameter);
//! - names the application adds.
//!
//! Nothing else travels. Injection never overwrites what the outgoing request already carries,
//! can be limited to hosts the mesh knows ([`Propagation::in_mesh_only`](crate::Propagation::in_mesh_only)), and at the edge
//! [`CaptureLayer::strip_untrusted`] removes client-supplied routing flags unless the client is
//! trusted.
mod capture;
mod context;
mod inject;

pub use capture::{Capture, CaptureLayer};
pub use inject::{Inject, InjectLayer};
