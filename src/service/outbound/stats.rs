//! Envoy's per-cluster statistics, on the `metrics` facade (feature `metrics`): the names of
//! Envoy's cluster stats (`envoy/upstream/upstream.h`, `ALL_CLUSTER_TRAFFIC_STATS`), labelled
//! `cluster_name` with Envoy's cluster name (`outbound|8080|v1|svc-b.default.svc.cluster.local`).
//! Without the feature every function here is empty and compiles away.
//!
//! | counter | counts |
//! |---|---|
//! | `upstream_rq_total` | attempts sent |
//! | `upstream_rq_retry` | retries made |
//! | `upstream_rq_retry_limit_exceeded` | failures not retried: no retry left |
//! | `upstream_rq_retry_overflow` | retries refused by `maxRetries` |
//! | `upstream_rq_timeout` | requests answered 504 by the route timeout |
//! | `upstream_rq_per_try_timeout` | attempts cut by `perTryTimeout` |
//! | `upstream_rq_pending_overflow` | requests refused by `connectionPool` (503 `UO`) |
//! | `upstream_cx_connect_fail` | attempts whose connection failed |
//!
//! Gauges: `upstream_rq_active` (requests in flight), `outlier_detection_ejections_active`
//! (endpoints ejected now).

use crate::route::upstream::Upstream;

/// Adds one to counter `name` of `upstream`'s cluster.
#[cfg(feature = "metrics")]
pub(super) fn count(name: &'static str, upstream: Option<&Upstream>) {
    if let Some(upstream) = upstream {
        metrics::counter!(name, "cluster_name" => upstream.name()).increment(1);
    }
}

/// Sets the cluster's gauges from its current state.
#[cfg(feature = "metrics")]
pub(super) fn gauges(upstream: Option<&Upstream>) {
    if let Some(upstream) = upstream {
        let name = upstream.name();
        let (requests, _) = upstream.in_flight();
        metrics::gauge!("upstream_rq_active", "cluster_name" => name.clone())
            .set(f64::from(requests));
        if upstream.detects_outliers() {
            // Endpoint counts are far below 2^52: exact as f64.
            #[allow(clippy::cast_precision_loss)]
            let ejected = upstream.ejected() as f64;
            metrics::gauge!("outlier_detection_ejections_active", "cluster_name" => name)
                .set(ejected);
        }
    }
}

#[cfg(not(feature = "metrics"))]
#[inline(always)]
pub(super) fn count(_: &'static str, _: Option<&Upstream>) {}

#[cfg(not(feature = "metrics"))]
#[inline(always)]
pub(super) fn gauges(_: Option<&Upstream>) {}
