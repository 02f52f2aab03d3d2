//! meshroute: Istio-grade traffic decisions inside a Rust process.

pub mod compile;
pub mod config;
pub mod host;
mod mesh;

#[cfg(feature = "yaml")]
pub use config::load::{from_path, from_str, from_str_named};
pub use compile::{CompileError, Diagnostic, Severity, check, compile};
pub use mesh::Mesh;
