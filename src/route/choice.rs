//! Weighted destination choice, exactly as Envoy's weighted clusters choose.
//!
//! Envoy (`source/common/router/weighted_cluster_specifier.cc` in envoyproxy/envoy) draws
//! `v = random() % total` and walks the clusters in list order over consecutive half-open
//! intervals `[0, w1)`, `[w1, w1 + w2)`, ...; the cluster whose interval holds `v` is chosen.
//! Istio omits weight-0 destinations from multi-destination routes and emits a single destination
//! as a plain cluster whatever its weight (`pilot/pkg/networking/core/route/route.go`
//! `applyHTTPRouteDestination` in istio/istio), so it always gets the traffic.

use crate::util::rng::Rng;

/// Cumulative weights of a multi-destination route, compiled once.
#[derive(Debug, Clone)]
pub(crate) struct WeightedChoice {
    /// `(cumulative upper bound, destination index)` for every destination with weight > 0.
    bounds: Box<[(u64, usize)]>,
    total: u64,
}

impl WeightedChoice {
    /// From the configured weights in list order. `None` when there is nothing to choose:
    /// a single destination, or weights that are all zero (validation rejects the latter).
    pub(crate) fn new(weights: &[u32]) -> Option<Self> {
        if weights.len() < 2 {
            return None;
        }
        let mut total = 0u64;
        let mut bounds = Vec::new();
        for (index, &weight) in weights.iter().enumerate() {
            if weight == 0 {
                continue;
            }
            total += u64::from(weight);
            bounds.push((total, index));
        }
        (total > 0).then(|| Self {
            bounds: bounds.into_boxed_slice(),
            total,
        })
    }

    /// Each destination with a weight above 0, in list order: `(index, weight)`.
    #[cfg(feature = "yaml")]
    pub(crate) fn weights(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.bounds.iter().scan(0, |previous, &(bound, index)| {
            let weight = bound.saturating_sub(*previous);
            *previous = bound;
            Some((index, weight))
        })
    }

    /// The sum of the weights.
    #[cfg(feature = "yaml")]
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Envoy's interval rule for the random number `random`.
    pub(crate) fn pick_with(&self, random: u64) -> usize {
        let v = random % self.total;
        // Few destinations: a linear scan beats a binary search.
        self.bounds
            .iter()
            .find(|(bound, _)| v < *bound)
            .map_or(0, |(_, index)| *index)
    }

    /// Draws once from `rng` and picks.
    pub(crate) fn pick(&self, rng: &mut impl Rng) -> usize {
        self.pick_with(rng.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// weighted_cluster_specifier.cc: `random % total` over half-open intervals in list order.
    #[test]
    fn envoy_interval_rule() {
        let choice = WeightedChoice::new(&[5, 95]).unwrap();
        assert_eq!(choice.pick_with(0), 0);
        assert_eq!(choice.pick_with(4), 0);
        assert_eq!(choice.pick_with(5), 1);
        assert_eq!(choice.pick_with(99), 1);
        assert_eq!(choice.pick_with(100), 0);
    }

    /// route.go: weight-0 destinations are omitted from weighted clusters.
    #[test]
    fn zero_weights_are_skipped() {
        let choice = WeightedChoice::new(&[0, 100]).unwrap();
        for r in 0..1000 {
            assert_eq!(choice.pick_with(r), 1);
        }
        let choice = WeightedChoice::new(&[3, 0, 1]).unwrap();
        assert_eq!(choice.pick_with(2), 0);
        assert_eq!(choice.pick_with(3), 2);
    }

    #[test]
    fn single_or_all_zero_has_no_choice() {
        assert!(WeightedChoice::new(&[7]).is_none());
        assert!(WeightedChoice::new(&[0, 0]).is_none());
    }
}
