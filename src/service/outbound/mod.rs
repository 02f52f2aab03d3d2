//! The outbound client layer: route each outgoing request the way the caller's sidecar would,
//! pick the endpoint, and send the request there.

mod layer;
mod mirror;
mod retry;
mod send;
mod service;
mod settings;
mod stats;

pub use layer::{OutboundLayer, OutboundStats};
pub use service::Outbound;
