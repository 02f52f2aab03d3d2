//! Weighted destination choice, exactly as Envoy's weighted clusters choose.
//!
//! Envoy (`weighted_cluster_specifier.cc`) draws `v = random() % total` and walks the clusters in
//! list order over consecutive half-open intervals `[0, w1)`, `[w1, w1 + w2)`, ...; the cluster
//! whose interval holds `v` is chosen. Istio omits weight-0 destinations from multi-destination
//! routes and emits a single destination as a plain cluster whatever its weight (route.go
//! `applyHTTPRouteDestination`), so it always gets the traffic.
//!
//! Randomness is injected through [`Rng`], so a decision can be replayed exactly from a seed.

use std::cell::Cell;

/// A source of random 64-bit numbers for weighted choices.
pub trait Rng {
    /// The next random number.
    fn next_u64(&mut self) -> u64;
}

impl<R: Rng + ?Sized> Rng for &mut R {
    fn next_u64(&mut self) -> u64 {
        (**self).next_u64()
    }
}

/// A small, fast, seedable generator (SplitMix64): not cryptographic, statistically good enough
/// for traffic splitting, and identical across platforms so `--seed N` replays everywhere.
#[derive(Debug, Clone)]
pub struct FastRng {
    state: u64,
}

impl FastRng {
    /// A generator that always produces the same sequence for `seed`.
    pub const fn from_seed(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator seeded from the process's random hash keys (no system call per use).
    pub fn from_entropy() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x6d65_7368_726f_7574);
        Self {
            state: hasher.finish(),
        }
    }
}

impl Rng for FastRng {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

thread_local! {
    static THREAD_STATE: Cell<u64> = Cell::new(FastRng::from_entropy().state);
}

/// The default random source for normal use: a [`FastRng`] per thread, seeded from entropy.
/// Use a seeded [`FastRng`] instead where decisions must be replayable.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRng;

impl Rng for ThreadRng {
    fn next_u64(&mut self) -> u64 {
        THREAD_STATE.with(|state| {
            let mut rng = FastRng { state: state.get() };
            let value = rng.next_u64();
            state.set(rng.state);
            value
        })
    }
}

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

    #[test]
    fn seeded_generator_replays() {
        let a: Vec<u64> = (0..5)
            .scan(FastRng::from_seed(7), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..5)
            .scan(FastRng::from_seed(7), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
        let mut t = ThreadRng;
        assert_ne!(t.next_u64(), t.next_u64());
    }
}
