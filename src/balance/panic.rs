//! Envoy's healthy panic threshold (`LoadBalancerBase::isHostSetInPanic` and the priority health
//! computation in `source/common/upstream/load_balancer_impl.cc` of envoyproxy/envoy): when too
//! few endpoints are healthy, Envoy balances over **all** of them.

/// Envoy's default overprovisioning factor, in percent.
const OVERPROVISIONING_FACTOR: u64 = 140;

/// Whether a host set of `total` endpoints, `healthy` of them healthy, is in panic for the
/// threshold `threshold` (percent, capped at 100): the healthy share is below the threshold,
/// unless the healthy hosts times the overprovisioning factor 1.4 cover 100% (then Envoy never
/// panics). A threshold of 0 (Istio's default once outlier detection is configured) never
/// panics; an empty set is not in panic (there is nothing to pick either way).
pub(crate) fn in_panic(healthy: usize, total: usize, threshold: u32) -> bool {
    let (healthy, total) = (healthy as u64, total as u64);
    if total == 0 {
        return false;
    }
    let scaled_health = (OVERPROVISIONING_FACTOR * healthy / total).min(100);
    scaled_health < 100 && healthy * 100 < u64::from(threshold.min(100)) * total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// load_balancer_impl.cc: 1.4 × healthy share ≥ 100% never panics; below it, the healthy
    /// share is compared with the threshold.
    #[test]
    fn overprovisioning_and_threshold() {
        assert!(!in_panic(8, 10, 50), "8/10 × 1.4 ≥ 100%");
        assert!(!in_panic(5, 10, 50), "50% is not below 50%");
        assert!(in_panic(4, 10, 50));
        assert!(!in_panic(0, 10, 0), "threshold 0 never panics");
        assert!(in_panic(0, 10, 1));
        assert!(!in_panic(0, 0, 50));
        assert!(in_panic(1, 10, 300), "threshold capped at 100");
    }
}
