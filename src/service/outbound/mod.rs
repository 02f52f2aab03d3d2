//! The outbound client layer: route each outgoing request the way the caller's sidecar would,
//! pick the endpoint, and send the request there.

mod layer;
mod service;

pub use layer::OutboundLayer;
pub use service::Outbound;
