//! Weighted destination choice, exactly as Envoy's weighted clusters choose.
//!
//! Envoy (`source/common/router/weighted_cluster_specifier.cc` in envoyproxy/envoy) draws
//! `v = random() % total` and walks the clusters in list order over consecutive half-open
//! intervals `[0, w1)`, `[w1, w1 + w2)`, ...; the cluster whose interval holds `v` is chosen.
//! Istio omits weight-0 destinations from multi-destination routes and emits a single destination
//! as a plain cluster whatever its weight (`pilot/pkg/networking/core/route/route.go`
//! `applyHTTPRouteDestination` in istio/istio), so it always gets the traffic.

//!
//! **Sticky choice** (meshroute's extension, annotation `meshroute.dev/sticky-key`): the user's
//! key is hashed to one of [`BUCKETS`] buckets, and the bucket's place in the same intervals,
//! scaled to the total weight, picks the destination. The same key gets the same destination
//! while the weights stay; each destination's share of the buckets is its share of the weight
//! (to 1/2^20); and when weights move between two destinations, only the buckets between the
//! old and the new interval boundary change hands, so a growing canary only gains users. A
//! request without the key is chosen at random, as Envoy does.

use std::sync::Arc;

use crate::balance::hash_policy::{HashInput, HashPolicy, hash};
use crate::util::rng::Rng;

/// The fixed space sticky keys are hashed into.
pub(crate) const BUCKETS: u32 = 1 << BUCKET_BITS;
const BUCKET_BITS: u32 = 20;

/// Cumulative weights of a multi-destination route, compiled once.
#[derive(Debug, Clone)]
pub(crate) struct WeightedChoice {
    /// `(cumulative upper bound, destination index)` for every destination with weight > 0.
    bounds: Box<[(u64, usize)]>,
    total: u64,
    /// The user key of a sticky choice.
    sticky: Option<Box<Sticky>>,
}

/// What identifies a user for a sticky choice.
#[derive(Debug, Clone)]
pub(crate) struct Sticky {
    /// How the key is read from a request (and hashed, as Envoy's hash policies hash it).
    pub(crate) key: HashPolicy,
    /// The key as the annotation writes it (`header:x-user-id`), for explanations.
    pub(crate) label: Arc<str>,
}

/// A sticky choice's bucket for a request that has the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StickyBucket(pub(crate) u32);

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
            sticky: None,
        })
    }

    /// Makes the choice sticky to `sticky`'s key.
    pub(crate) fn with_sticky(mut self, sticky: Option<Sticky>) -> Self {
        self.sticky = sticky.map(Box::new);
        self
    }

    /// The sticky key, if the choice is sticky.
    pub(crate) fn sticky(&self) -> Option<&Sticky> {
        self.sticky.as_deref()
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

    /// Picks for a request: by the user's bucket when the choice is sticky and the request has
    /// the key, else at random.
    pub(crate) fn pick_for(
        &self,
        input: &HashInput<'_>,
        rng: &mut impl Rng,
    ) -> (usize, Option<StickyBucket>) {
        match self.sticky.as_deref().and_then(|s| s.bucket(input)) {
            Some(bucket) => (self.pick_bucket(bucket), Some(bucket)),
            None => (self.pick(rng), None),
        }
    }

    /// The destination of bucket `bucket` (below [`BUCKETS`]).
    pub(crate) fn pick_bucket(&self, bucket: StickyBucket) -> usize {
        let v = (u64::from(bucket.0) * self.total) >> BUCKET_BITS;
        self.pick_with(v)
    }
}

/// The bucket of a user key's hash. The hash policies' hashes are xxHash64 of the value, which
/// the consistent-hash load balancers also use: the hash is mixed (splitmix64's finalizer, a
/// bijection) so that the users of one destination do not all land on one arc of its ring.
pub(crate) fn bucket_of(hash: u64) -> StickyBucket {
    let mut z = hash.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    StickyBucket(u32::try_from(z >> (64 - BUCKET_BITS)).unwrap_or(0))
}

impl Sticky {
    /// The request's bucket, when it has the key.
    pub(crate) fn bucket(&self, input: &HashInput<'_>) -> Option<StickyBucket> {
        hash(std::slice::from_ref(&self.key), input)
            .hash
            .map(bucket_of)
    }
}

impl WeightedChoice {}

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
