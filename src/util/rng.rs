//! Random sources. Every random choice meshroute makes (weighted destinations, load balancer
//! picks, random hashes) draws from an injected [`Rng`], so a decision can be replayed exactly
//! from a seed.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// SplitMix64's increment.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function for the state after an increment.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng for FastRng {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }
}

/// A [`FastRng`] shared by every clone of a tower layer: lock-free (SplitMix64 advances its state
/// by a constant, so one atomic addition takes the next number), and the sequence it hands out is
/// exactly `FastRng::from_seed(seed)`'s, in the order the calls take them.
#[derive(Debug, Clone)]
pub(crate) struct SharedRng {
    state: Arc<AtomicU64>,
}

impl SharedRng {
    /// Seeded from `rng` (one draw), as tower's `Balance::from_rng` seeds its own generator.
    #[cfg(feature = "tower")]
    pub(crate) fn from_rng(rng: &mut impl Rng) -> Self {
        Self {
            state: Arc::new(AtomicU64::new(rng.next_u64())),
        }
    }
}

impl SharedRng {
    fn take(&self) -> u64 {
        let previous = self.state.fetch_add(GAMMA, Ordering::Relaxed);
        mix(previous.wrapping_add(GAMMA))
    }
}

impl Rng for SharedRng {
    fn next_u64(&mut self) -> u64 {
        self.take()
    }
}

impl Rng for &SharedRng {
    fn next_u64(&mut self) -> u64 {
        self.take()
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Clones share one sequence, and it is `FastRng`'s for the same seed.
    #[cfg(feature = "tower")]
    #[test]
    fn shared_rng_hands_out_fast_rng_sequence() {
        let mut seed = FastRng::from_seed(3);
        let mut shared = SharedRng::from_rng(&mut seed);
        let mut clone = shared.clone();
        let mut expected = FastRng::from_seed(FastRng::from_seed(3).next_u64());
        assert_eq!(shared.next_u64(), expected.next_u64());
        assert_eq!(clone.next_u64(), expected.next_u64());
        assert_eq!(shared.next_u64(), expected.next_u64());
    }
}
