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

//!
//! **Run-time weights.** A rollout replaces a route's weights while requests are decided
//! ([`WeightedChoice::set_weights`]): the cumulative bounds are atomics guarded by a sequence
//! number (a seqlock), so a pick reads either the old weights or the new ones, never a mix,
//! without a lock or an allocation. Readers only retry while a write is under way, which is rare.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering, fence};

use crate::balance::hash_policy::{HashInput, HashPolicy, hash};
use crate::util::rng::Rng;

/// The fixed space sticky keys are hashed into.
pub(crate) const BUCKETS: u32 = 1 << BUCKET_BITS;
const BUCKET_BITS: u32 = 20;

/// Cumulative weights of a multi-destination route, compiled once, replaceable at run time.
#[derive(Debug)]
pub(crate) struct WeightedChoice {
    /// The cumulative upper bound of each destination's interval, in list order. A weight-0
    /// destination's interval is empty (its bound is its predecessor's), so no draw lands in it.
    /// The last bound is the total, never 0.
    bounds: Box<[AtomicU64]>,
    /// The seqlock's sequence number: even while the bounds are settled, odd while
    /// [`WeightedChoice::set_weights`] writes them.
    sequence: AtomicU64,
    /// The index of the only destination with a weight above 0, or [`NOT_SOLE`]: written with
    /// the bounds, under the seqlock. Such a choice needs no draw (see [`WeightedChoice::pick`]).
    sole: AtomicU64,
    /// The user key of a sticky choice.
    sticky: Option<Box<Sticky>>,
}

impl Clone for WeightedChoice {
    fn clone(&self) -> Self {
        let (bounds, _) = self.read(|bounds, total| {
            (
                bounds
                    .iter()
                    .map(|b| b.load(Ordering::Relaxed))
                    .collect::<Vec<_>>(),
                total,
            )
        });
        Self {
            sole: AtomicU64::new(sole(&bounds)),
            bounds: bounds.into_iter().map(AtomicU64::new).collect(),
            sequence: AtomicU64::new(0),
            sticky: self.sticky.clone(),
        }
    }
}

/// Why [`WeightedChoice::set_weights`] refused new weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadWeights {
    /// Not one weight per destination.
    Count,
    /// Every weight is 0.
    AllZero,
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

/// [`WeightedChoice::sole`] when more than one destination has a weight (or none: weights
/// that are all zero are refused before a choice is made).
const NOT_SOLE: u64 = u64::MAX;

/// The index of the only interval of `bounds` (cumulative) that is not empty, or [`NOT_SOLE`].
fn sole(bounds: &[u64]) -> u64 {
    let mut previous = 0;
    let mut found = NOT_SOLE;
    for (index, &bound) in bounds.iter().enumerate() {
        if bound > previous {
            if found != NOT_SOLE {
                return NOT_SOLE;
            }
            found = u64::try_from(index).unwrap_or(NOT_SOLE);
        }
        previous = bound;
    }
    found
}

/// The cumulative bounds of `weights`; `None` when they are all zero.
fn cumulative(weights: &[u32]) -> Option<Vec<u64>> {
    let mut total = 0u64;
    let bounds: Vec<u64> = weights
        .iter()
        .map(|&weight| {
            total += u64::from(weight);
            total
        })
        .collect();
    (total > 0).then_some(bounds)
}

impl WeightedChoice {
    /// From the configured weights in list order. `None` when there is nothing to choose:
    /// a single destination, or weights that are all zero (validation rejects the latter).
    pub(crate) fn new(weights: &[u32]) -> Option<Self> {
        if weights.len() < 2 {
            return None;
        }
        let bounds = cumulative(weights)?;
        Some(Self {
            sole: AtomicU64::new(sole(&bounds)),
            bounds: bounds.into_iter().map(AtomicU64::new).collect(),
            sequence: AtomicU64::new(0),
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

    /// The number of destinations (weight 0 included).
    pub(crate) fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Replaces the weights (one per destination, in list order) atomically: a pick made
    /// meanwhile sees the old weights or the new ones. Writers are serialized by the sequence
    /// number itself.
    pub(crate) fn set_weights(&self, weights: &[u32]) -> Result<(), BadWeights> {
        if weights.len() != self.bounds.len() {
            return Err(BadWeights::Count);
        }
        let bounds = cumulative(weights).ok_or(BadWeights::AllZero)?;
        // Take the write side: from an even sequence number to the odd one after it.
        let mut current = self.sequence.load(Ordering::Relaxed);
        loop {
            if current & 1 == 1 {
                std::hint::spin_loop();
                current = self.sequence.load(Ordering::Relaxed);
                continue;
            }
            match self.sequence.compare_exchange_weak(
                current,
                current.wrapping_add(1),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(seen) => current = seen,
            }
        }
        // Pairs with the readers' acquire fence: a reader that sees a bound written below also
        // sees the odd sequence number, and retries.
        fence(Ordering::Release);
        self.sole.store(sole(&bounds), Ordering::Relaxed);
        for (slot, bound) in self.bounds.iter().zip(bounds) {
            slot.store(bound, Ordering::Relaxed);
        }
        self.sequence
            .store(current.wrapping_add(2), Ordering::Release);
        Ok(())
    }

    /// Runs `f` on a consistent view of the bounds and their total (the seqlock's read side).
    #[inline(always)]
    fn read<T>(&self, f: impl Fn(&[AtomicU64], u64) -> T) -> T {
        loop {
            let before = self.sequence.load(Ordering::Acquire);
            let total = self.bounds.last().map_or(0, |b| b.load(Ordering::Relaxed));
            let result = f(&self.bounds, total);
            fence(Ordering::Acquire);
            if before & 1 == 0 && self.sequence.load(Ordering::Relaxed) == before {
                return result;
            }
            std::hint::spin_loop();
        }
    }

    /// Each destination with a weight above 0, in list order, `(index, weight)`, and the sum of
    /// the weights, read together.
    #[cfg(any(feature = "yaml", test))]
    pub(crate) fn weights(&self) -> (Vec<(usize, u64)>, u64) {
        self.read(|bounds, total| {
            let mut previous = 0;
            let weights = bounds
                .iter()
                .enumerate()
                .filter_map(|(index, bound)| {
                    let bound = bound.load(Ordering::Relaxed);
                    let weight = bound.saturating_sub(previous);
                    previous = bound;
                    (weight > 0).then_some((index, weight))
                })
                .collect();
            (weights, total)
        })
    }

    /// Envoy's interval rule for the random number `random`.
    pub(crate) fn pick_with(&self, random: u64) -> usize {
        self.read(|bounds, total| interval(bounds, random.checked_rem(total).unwrap_or(0)))
    }

    /// Draws once from `rng` and picks; no draw when one destination has all the weight (the
    /// seed's `weight: 0` / `weight: 100`, a canary before or after its rollout), which every
    /// draw would pick. Istio sends Envoy such a route as `weighted_clusters` with the one
    /// non-zero entry (route.go omits weight-0 destinations), and Envoy's interval rule
    /// (`weighted_cluster_specifier.cc`: `random % total` below that entry's bound) cannot land
    /// anywhere else, so the draw is not observable. The draw and its 64-bit division were 42
    /// of the seed decision's 1,146 instructions (52 → 48–50 ns on a driver loop).
    pub(crate) fn pick(&self, rng: &mut impl Rng) -> usize {
        let sole = self.read(|_, _| self.sole.load(Ordering::Relaxed));
        match usize::try_from(sole) {
            Ok(index) if sole != NOT_SOLE => index,
            _ => self.pick_with(rng.next_u64()),
        }
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
        self.read(|bounds, total| interval(bounds, (u64::from(bucket.0) * total) >> BUCKET_BITS))
    }
}

/// The destination whose interval holds `v` (below the total).
#[inline(always)]
fn interval(bounds: &[AtomicU64], v: u64) -> usize {
    // Few destinations: a linear scan beats a binary search.
    bounds
        .iter()
        .position(|bound| v < bound.load(Ordering::Relaxed))
        .unwrap_or(0)
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

    /// An `Rng` that counts its draws.
    struct Counting(u64);

    impl Rng for Counting {
        fn next_u64(&mut self) -> u64 {
            self.0 += 1;
            self.0
        }
    }

    /// One destination with all the weight is every draw's answer (the `random % total`
    /// interval rule of weighted_cluster_specifier.cc cannot land elsewhere), so no draw is
    /// made; two with weight draw once per pick, whatever the weights were before.
    #[test]
    fn a_choice_with_one_weighted_destination_draws_nothing() {
        let mut rng = Counting(0);
        let choice = WeightedChoice::new(&[0, 100, 0]).unwrap();
        assert_eq!(choice.pick(&mut rng), 1);
        assert_eq!(choice.pick(&mut rng), 1);
        assert_eq!(rng.0, 0);
        choice.set_weights(&[50, 50, 0]).unwrap();
        // Draws 1 and 2: `1 % 100` and `2 % 100` fall in the first interval.
        assert_eq!(choice.pick(&mut rng), 0);
        assert_eq!(choice.pick(&mut rng), 0);
        assert_eq!(rng.0, 2);
        choice.set_weights(&[0, 0, 7]).unwrap();
        assert_eq!(choice.pick(&mut rng), 2);
        assert_eq!(rng.0, 2);
        assert_eq!(choice.clone().pick(&mut rng), 2);
        assert_eq!(rng.0, 2);
        let two = WeightedChoice::new(&[1, 1]).unwrap();
        two.pick(&mut rng);
        assert_eq!(rng.0, 3);
    }

    /// Run-time weights follow the same interval rule, weight-0 destinations included.
    #[test]
    fn set_weights_replaces_the_intervals() {
        let choice = WeightedChoice::new(&[100, 0]).unwrap();
        assert_eq!(choice.pick_with(99), 0);
        choice.set_weights(&[90, 10]).unwrap();
        assert_eq!(choice.pick_with(89), 0);
        assert_eq!(choice.pick_with(90), 1);
        assert_eq!(choice.pick_with(99), 1);
        choice.set_weights(&[0, 100]).unwrap();
        for r in 0..1000 {
            assert_eq!(choice.pick_with(r), 1);
        }
        assert_eq!(choice.pick_bucket(StickyBucket(0)), 1);
        assert_eq!(choice.set_weights(&[0, 0]), Err(BadWeights::AllZero));
        assert_eq!(choice.set_weights(&[1, 2, 3]), Err(BadWeights::Count));
        // A refused change keeps the weights.
        assert_eq!(choice.pick_with(0), 1);
        let copy = choice.clone();
        assert_eq!(copy.pick_with(0), 1);
    }

    /// Sticky buckets move only between the old and the new boundary.
    #[test]
    fn set_weights_moves_only_the_buckets_between_the_boundaries() {
        let choice = WeightedChoice::new(&[95, 5]).unwrap();
        let before: Vec<usize> = (0..BUCKETS)
            .step_by(97)
            .map(|b| choice.pick_bucket(StickyBucket(b)))
            .collect();
        choice.set_weights(&[75, 25]).unwrap();
        let after: Vec<usize> = (0..BUCKETS)
            .step_by(97)
            .map(|b| choice.pick_bucket(StickyBucket(b)))
            .collect();
        for (old, new) in before.iter().zip(&after) {
            assert!(*old == *new || (*old == 0 && *new == 1), "{old} -> {new}");
        }
        let canary = after.iter().filter(|d| **d == 1).count() as f64 / after.len() as f64;
        assert!((canary - 0.25).abs() < 0.01, "{canary}");
    }

    /// Readers never see a mix of two weight sets while a writer replaces them.
    #[test]
    fn concurrent_readers_see_whole_weight_sets() {
        let choice = std::sync::Arc::new(WeightedChoice::new(&[1, 0, 0]).unwrap());
        let writer = {
            let choice = std::sync::Arc::clone(&choice);
            std::thread::spawn(move || {
                for i in 0..20_000u32 {
                    // Always exactly one destination with all the weight.
                    let mut weights = [0u32; 3];
                    weights[(i % 3) as usize] = 1 + i;
                    choice.set_weights(&weights).unwrap();
                }
            })
        };
        let mut rng = Counting(0);
        while !writer.is_finished() {
            // A mix would put some draws on a weight-0 destination or out of range; a whole set
            // picks its one destination whatever the draw, so two draws agree when no write
            // came between them: check the weights' invariant instead.
            let (weights, total) = choice.weights();
            assert_eq!(weights.len(), 1, "{weights:?}");
            assert_eq!(weights[0].1, total);
            // The pick reads the sole destination under the seqlock too: never a draw here.
            assert!(choice.pick(&mut rng) < 3);
            assert_eq!(rng.0, 0);
        }
        writer.join().unwrap();
    }

    #[test]
    fn single_or_all_zero_has_no_choice() {
        assert!(WeightedChoice::new(&[7]).is_none());
        assert!(WeightedChoice::new(&[0, 0]).is_none());
    }
}
