//! In-process dispatch: route each request as the service's own host and call the handler
//! registered for the chosen subset (e.g. the v1 and v2 versions of an axum app).

mod service;

pub use service::{Dispatch, DispatchBuilder};
