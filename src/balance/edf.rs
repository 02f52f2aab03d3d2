//! Earliest-deadline-first scheduling: Envoy's weighted round robin, pick for pick.
//!
//! Every entry carries a *deadline*. A pick pops the entry with the earliest deadline, moves the
//! scheduler's clock to that deadline and re-inserts the entry at `clock + 1 / weight`, where the
//! weight is asked for again at that moment (so weighted least request sees the active request
//! count of the moment a host is re-inserted). Over time an entry of weight `w` is picked in
//! proportion to `w`, and ties on the deadline go to the entry inserted first (FIFO), which makes
//! equal weights plain round robin.
//!
//! This is `source/common/upstream/edf_scheduler.h` in Envoy, including
//! [`EdfScheduler::create_with_picks`]: current Envoy does not start every load balancer at the
//! same point of the rotation but emulates `picks` (the LB's random seed, truncated to `u32`, taken
//! modulo 429496729) picks in closed form, with an epsilon of `1e-13` added to every weight during
//! that emulation only, then performs the few remaining picks one by one. Floating point
//! operations are done in the same order as Envoy's so that the resulting schedule is identical.
//!
//! Envoy's scheduler holds weak references and skips expired hosts; here entries are plain values
//! (host indices) and the owner rebuilds the scheduler when the host set changes, which is what
//! Envoy's load balancers do on every membership update anyway.
//!
//! Picks never allocate: the heap pops one entry before pushing it back.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Envoy limits the emulated picks to `u32::MAX / 10`.
const MAX_PICKS: u32 = 429_496_729;

/// Added to every weight while emulating the initial picks (Envoy PR #31592), so that weights
/// that are multiples of each other do not produce deadlines that differ in the last bit.
const CONSTRUCTION_EPSILON: f64 = 1e-13;

/// One scheduled entry.
#[derive(Debug, Clone)]
struct Entry<T> {
    deadline: f64,
    /// Tie breaker: among equal deadlines the smaller offset (inserted earlier) goes first.
    order_offset: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest deadline, then the smallest
    /// order offset.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .deadline
            .total_cmp(&self.deadline)
            .then_with(|| other.order_offset.cmp(&self.order_offset))
    }
}

/// Envoy's EDF scheduler (`EdfScheduler<C>`), generic over the scheduled value (a host index in
/// the balancers).
#[derive(Debug, Clone)]
pub(crate) struct EdfScheduler<T> {
    current_time: f64,
    order_offset: u64,
    queue: BinaryHeap<Entry<T>>,
    /// Entries returned by [`EdfScheduler::peek_again`] and not picked yet (already re-added).
    prepicked: VecDeque<T>,
}

impl<T> Default for EdfScheduler<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> EdfScheduler<T> {
    /// An empty scheduler with its clock at 0.
    pub(crate) fn new() -> Self {
        Self {
            current_time: 0.0,
            order_offset: 0,
            queue: BinaryHeap::new(),
            prepicked: VecDeque::new(),
        }
    }

    /// Inserts `item` with deadline `now + 1 / weight`.
    ///
    /// Envoy asserts `weight > 0`; a weight that is not positive (or NaN) is replaced here by the
    /// smallest positive `f64`, which schedules the item (practically) never.
    pub(crate) fn add(&mut self, weight: f64, item: T) {
        let weight = if weight > 0.0 {
            weight
        } else {
            f64::MIN_POSITIVE
        };
        let deadline = self.current_time + 1.0 / weight;
        self.queue.push(Entry {
            deadline,
            order_offset: self.order_offset,
            item,
        });
        self.order_offset = self.order_offset.wrapping_add(1);
    }

    /// The number of scheduled entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Pops the earliest entry and moves the clock to its deadline.
    fn pop(&mut self) -> Option<T> {
        let entry = self.queue.pop()?;
        self.current_time = entry.deadline;
        Some(entry.item)
    }
}

impl<T: Clone> EdfScheduler<T> {
    /// Picks the entry with the earliest deadline and re-inserts it with the weight
    /// `weight_of(&item)` has *now* (`pickAndAdd`). Entries already handed out by
    /// [`EdfScheduler::peek_again`] are returned first, in peek order, without being re-added a
    /// second time. `None` when nothing is scheduled.
    pub(crate) fn pick_and_add(&mut self, mut weight_of: impl FnMut(&T) -> f64) -> Option<T> {
        if let Some(item) = self.prepicked.pop_front() {
            return Some(item);
        }
        let item = self.pop()?;
        let weight = weight_of(&item);
        self.add(weight, item.clone());
        Some(item)
    }

    /// The entry the next not-yet-peeked pick will return (`peekAgain`, used by Envoy for
    /// preconnecting): the first call returns the first pick, the second call the second pick,
    /// and so on. The entry is popped and re-added as if picked and remembered, so that
    /// [`EdfScheduler::pick_and_add`] returns it later. Unlike picks, peeks may allocate.
    #[cfg(test)]
    pub(crate) fn peek_again(&mut self, mut weight_of: impl FnMut(&T) -> f64) -> Option<T> {
        let item = self.pop()?;
        self.prepicked.push_back(item.clone());
        let weight = weight_of(&item);
        self.add(weight, item.clone());
        Some(item)
    }

    /// Builds a scheduler as if `items` had been added in order and then `picks` picks had been
    /// made (`EdfScheduler::createWithPicks`), without doing all those picks.
    ///
    /// `picks` is first reduced modulo 429496729. With `W = Σ (w_i + 1e-13)` each entry gets
    /// `p_i = ⌊(w_i + 1e-13) · picks / W⌋` emulated picks (one less if floating point puts
    /// `p_i / w_i` at or past `picks / W`), a deadline of `(p_i + 1) / (w_i + 1e-13)` and the
    /// order offset `i`; the clock starts at the largest `p_i / (w_i + 1e-13)`. The remaining
    /// `picks − Σ p_i` picks (fewer than the number of items) are then made one by one with the
    /// real weights.
    pub(crate) fn create_with_picks(
        items: &[T],
        mut weight_of: impl FnMut(&T) -> f64,
        picks: u32,
    ) -> Self {
        let picks = picks % MAX_PICKS;
        if items.is_empty() {
            return Self::new();
        }
        let mut augmented = |item: &T| weight_of(item) + CONSTRUCTION_EPSILON;
        let weights_sum = items
            .iter()
            .fold(0.0_f64, |sum, item| sum + augmented(item));
        let picks_f = f64::from(picks);
        let mut entries = Vec::with_capacity(items.len());
        let mut picks_so_far: u32 = 0;
        let mut max_pick_time = 0.0_f64;
        for (index, item) in items.iter().enumerate() {
            let weight = augmented(item);
            // `static_cast<uint32_t>(double)`: truncation (the value is in range).
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let mut floor_picks = (weight * picks_f / weights_sum) as u32;
            if floor_picks > 0 && f64::from(floor_picks) / weight >= picks_f / weights_sum {
                floor_picks -= 1;
            }
            let pick_time = f64::from(floor_picks) / weight;
            let deadline = f64::from(floor_picks + 1) / weight;
            entries.push(Entry {
                deadline,
                order_offset: index as u64,
                item: item.clone(),
            });
            // `std::max(a, b)` keeps `a` unless `a < b`.
            if max_pick_time < pick_time {
                max_pick_time = pick_time;
            }
            picks_so_far = picks_so_far.saturating_add(floor_picks);
        }
        let mut scheduler = Self {
            current_time: max_pick_time,
            order_offset: items.len() as u64,
            queue: BinaryHeap::from(entries),
            prepicked: VecDeque::new(),
        };
        while picks_so_far < picks {
            if scheduler.pick_and_add(&mut weight_of).is_none() {
                break;
            }
            picks_so_far += 1;
        }
        scheduler
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drains a copy of the queue in pick order as `(deadline, item)`.
    fn contents<T: Clone>(scheduler: &EdfScheduler<T>) -> Vec<(f64, T)> {
        let mut queue = scheduler.queue.clone();
        let mut out = Vec::new();
        while let Some(entry) = queue.pop() {
            out.push((entry.deadline, entry.item));
        }
        out
    }

    /// Envoy `EdfSchedulerTest.Empty`: nothing to pick or peek.
    #[test]
    fn empty() {
        let mut edf: EdfScheduler<u32> = EdfScheduler::new();
        assert_eq!(edf.peek_again(|_| 0.0), None);
        assert_eq!(edf.pick_and_add(|_| 0.0), None);
        let mut edf = EdfScheduler::<f64>::create_with_picks(&[], |w| *w, 123);
        assert_eq!(edf.peek_again(|_| 0.0), None);
        assert_eq!(edf.pick_and_add(|_| 0.0), None);
    }

    /// Envoy `EdfSchedulerTest.Unweighted`: 128 equal weights pick 0..127 repeatedly (FIFO ties),
    /// and a peek always announces the following pick.
    #[test]
    fn unweighted_is_fifo_round_robin() {
        let mut edf = EdfScheduler::new();
        for i in 0..128_u32 {
            edf.add(1.0, i);
        }
        for _round in 0..128 {
            for i in 0..128_u32 {
                let peek = edf.peek_again(|_| 1.0);
                let pick = edf.pick_and_add(|_| 1.0);
                assert_eq!(pick, Some(i));
                assert_eq!(peek, pick);
            }
        }
    }

    /// Envoy `EdfSchedulerTest.Weighted`: weights i+1 over 128·129/2 = 8256 picks give exactly
    /// i+1 picks each.
    #[test]
    fn weighted_counts_are_exact() {
        let mut edf = EdfScheduler::new();
        for i in 0..128_usize {
            edf.add((i + 1) as f64, i);
        }
        let mut counts = [0_u32; 128];
        for _ in 0..(128 * 129 / 2) {
            let peek = edf.peek_again(|&i| (i + 1) as f64);
            let pick = edf.pick_and_add(|&i| (i + 1) as f64).unwrap();
            assert_eq!(peek, Some(pick));
            counts[pick] += 1;
        }
        for (i, count) in counts.iter().enumerate() {
            assert_eq!(*count as usize, i + 1);
        }
    }

    /// Envoy `EdfSchedulerTest.ManyPeekahead`: ten peeks announce the next ten picks.
    #[test]
    fn many_peekahead() {
        let mut peeked = EdfScheduler::new();
        let mut plain = EdfScheduler::new();
        for i in 0..128_u32 {
            peeked.add(1.0, i);
            plain.add(1.0, i);
        }
        let peeks: Vec<u32> = (0..10).filter_map(|_| peeked.peek_again(|_| 1.0)).collect();
        for expected in peeks {
            let a = peeked.pick_and_add(|_| 1.0);
            let b = plain.pick_and_add(|_| 1.0);
            assert_eq!(a, Some(expected));
            assert_eq!(a, b);
        }
    }

    /// Envoy `SchedulerWithZeroPicksEqualToEmptyWithAddedEntries`.
    #[test]
    fn zero_picks_equals_adding() {
        let items: Vec<u32> = (1..=128).collect();
        let mut added = EdfScheduler::new();
        for &w in &items {
            added.add(f64::from(w), w);
        }
        let created = EdfScheduler::create_with_picks(&items, |&w| f64::from(w), 0);
        let (a, b) = (contents(&added), contents(&created));
        assert_eq!(a.len(), b.len());
        for ((da, ia), (db, ib)) in a.iter().zip(&b) {
            assert!((da - db).abs() <= 1e-5, "{da} vs {db}");
            assert_eq!(ia, ib);
        }
    }

    /// Envoy `SchedulerWithSomePicksEqualToEmptyWithAddedEntries`: `create_with_picks(P)` equals
    /// "add all, then P picks" (deadlines within 1e-5, same entry order) for weights
    /// `(100.5 − 0.01)/128·i + 0.01`; the following picks agree too.
    #[test]
    fn create_with_picks_equals_picking() {
        let items: Vec<f64> = (0..128)
            .map(|i| (100.5 - 0.01) / 128.0 * f64::from(i) + 0.01)
            .collect();
        for picks in [5_u32, 140, 501, 123_456, 894_571] {
            let mut picked = EdfScheduler::new();
            for &w in &items {
                picked.add(w, w);
            }
            for _ in 0..picks {
                picked.pick_and_add(|w| *w);
            }
            let mut created = EdfScheduler::create_with_picks(&items, |w| *w, picks);
            let (a, b) = (contents(&picked), contents(&created));
            assert_eq!(a.len(), b.len());
            for (n, ((da, ia), (db, ib))) in a.iter().zip(&b).enumerate() {
                assert!(
                    (da - db).abs() <= 1e-5,
                    "P={picks} element {n}: {da} vs {db}"
                );
                assert_eq!(ia, ib, "P={picks} element {n}");
            }
            for _ in 0..1000 {
                assert_eq!(picked.pick_and_add(|w| *w), created.pick_and_add(|w| *w));
            }
        }
    }

    /// Envoy `SchedulerWithRandomPicksFirstPickDistribution`: the first pick after
    /// `create_with_picks(random)` follows the weights (±1 percentage point).
    #[test]
    fn first_pick_distribution_follows_weights() {
        use crate::util::rng::{FastRng, Rng};
        let cases: [&[f64]; 4] = [
            &[25.0, 75.0],
            &[1.0, 99.0],
            &[50.0, 50.0],
            &[1.0, 20.0, 79.0],
        ];
        let mut rng = FastRng::from_seed(7);
        for weights in cases {
            let items: Vec<usize> = (0..weights.len()).collect();
            let mut counts = vec![0_u32; weights.len()];
            let iterations = 40_000;
            for _ in 0..iterations {
                let seed = rng.next_u64() as u32;
                let mut edf = EdfScheduler::create_with_picks(&items, |&i| weights[i], seed);
                counts[edf.pick_and_add(|&i| weights[i]).unwrap()] += 1;
            }
            for (i, &count) in counts.iter().enumerate() {
                let observed = 100.0 * f64::from(count) / f64::from(iterations);
                assert!(
                    (observed - weights[i]).abs() < 1.0,
                    "{weights:?}: {i} got {observed}"
                );
            }
        }
    }

    /// The example in `createWithPicks`'s epsilon comment (weights 25 and 75, 23 picks, floor
    /// picks {5, 17}): the next picks agree with 23 real picks. At later exact ties the two
    /// schedulers may order equal deadlines differently (P = 19 does, in Envoy too); Envoy only
    /// promises equal entries with deadlines within 1e-5.
    #[test]
    fn multiples_of_each_other() {
        let items = [25.0_f64, 75.0];
        let mut picked = EdfScheduler::new();
        for &w in &items {
            picked.add(w, w);
        }
        for _ in 0..23 {
            picked.pick_and_add(|w| *w);
        }
        let mut created = EdfScheduler::create_with_picks(&items, |w| *w, 23);
        for _ in 0..3 {
            assert_eq!(picked.pick_and_add(|w| *w), created.pick_and_add(|w| *w));
        }
    }

    /// Non-positive and NaN weights do not panic or poison the heap.
    #[test]
    fn degenerate_weights() {
        let mut edf = EdfScheduler::new();
        edf.add(0.0, 0_u8);
        edf.add(f64::NAN, 1);
        edf.add(-3.0, 2);
        edf.add(1.0, 3);
        assert_eq!(edf.pick_and_add(|_| 1.0), Some(3));
        assert_eq!(edf.len(), 4);
    }

    /// The example of the module documentation.
    #[test]
    fn example_weighted_picks() {
        let weights = [1.0, 2.0];
        let mut edf = EdfScheduler::new();
        edf.add(weights[0], 0_usize);
        edf.add(weights[1], 1_usize);
        let picks: Vec<usize> = (0..6)
            .filter_map(|_| edf.pick_and_add(|&i| weights[i]))
            .collect();
        assert_eq!(picks, [1, 0, 1, 1, 0, 1]);
    }
}
