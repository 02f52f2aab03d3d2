//! The `meshroute` command line, run as a user runs it: `check`, `route`, `simulate` and
//! `proxy`, their output and their exit status (0 done, 1 the configuration has errors or a
//! finding reaches the failure threshold, 2 unreadable input, a bad request or bad arguments),
//! as the binary's own documentation (`src/bin/meshroute.rs`), `docs/ci.md` and `docs/proxy.md`
//! describe them. `check`'s levels and
//! thresholds are `istioctl analyze`'s
//! (<https://istio.io/latest/docs/reference/commands/istioctl/#istioctl-analyze>).
//!
//! `meshroute check --lint` is tested with the lints, in `tests/analyze/`.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../common/mod.rs"]
mod common;

mod check;
#[cfg(feature = "kube")]
mod cluster;
mod diff;
mod output;
mod proxy;
mod route;
mod simulate;
mod test;
