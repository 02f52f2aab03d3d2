//! Validation: Istio's admission rules for every kind meshroute reads (`pkg/config/validation` in
//! istio/istio), with Istio's messages, one file per kind. Each rule has a bad configuration
//! (asserting the diagnostic's path, severity and a distinctive part of the message) and its
//! closest valid neighbour (asserting no diagnostic).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../common/mod.rs"]
mod common;

mod destination_rule;
mod gateway;
mod service_entry;
mod sidecar;
mod virtual_service;
mod workload_entry;
