//! Envoy's round robin load balancer (`simple: ROUND_ROBIN`) for one host set.
//!
//! At construction Envoy draws one LB-wide `seed = random()`. Then, per host list:
//!
//! * **All weights equal** (or at most one host): plain round robin. The index starts at `seed`
//!   and a pick returns `hosts[index % n]`, then increments the index (a wrapping `u64`).
//! * **Otherwise**: weighted round robin with the EDF scheduler ([`EdfScheduler`]), built by
//!   [`EdfScheduler::create_with_picks`] with `picks = seed as u32` so that different Envoys start
//!   at different points of the rotation. A picked host is re-inserted with its weight at that
//!   moment ([`RoundRobin::set_weight`] models a weight change that arrives without a host-set
//!   refresh).
//!
//! Every pick first draws one random number for priority (and locality) selection, even with a
//! single priority, exactly as `EdfLoadBalancerBase::chooseHostOnce` does; that draw does not
//! influence the choice within the host list. Slow start (`warmup`) is not modelled: while a host
//! is in its warm-up window Envoy forces the EDF path with scaled weights.
//!
//! Sources: `source/extensions/load_balancing_policies/round_robin/round_robin_lb.h`,
//! `source/extensions/load_balancing_policies/common/load_balancer_impl.cc`
//! (`EdfLoadBalancerBase::refresh`, `chooseHostOnce`), `source/common/upstream/edf_scheduler.h`.

use super::edf::EdfScheduler;
use crate::util::rng::Rng;

/// The weighted path: EDF over host indices with the weights used on re-insertion.
#[derive(Debug, Clone)]
struct Weighted {
    scheduler: EdfScheduler<usize>,
    weights: Box<[f64]>,
}

/// Round robin over one host list, picking exactly the host Envoy picks.
#[derive(Debug, Clone)]
pub(crate) struct RoundRobin {
    len: usize,
    seed: u64,
    /// The unweighted index (`rr_indexes_`): starts at the seed and survives updates.
    index: u64,
    /// `Some` when the weights differ.
    weighted: Option<Weighted>,
}

impl RoundRobin {
    /// A balancer over hosts with these weights (host `i` has `weights[i]`), with Envoy's LB seed
    /// (the first `random()` the LB draws). A weight of 0, which Envoy's config validation
    /// rejects, is treated as 1.
    pub(crate) fn new(weights: &[u32], seed: u64) -> Self {
        let mut rr = Self {
            len: 0,
            seed,
            index: seed,
            weighted: None,
        };
        rr.update(weights);
        rr
    }

    /// Replaces the host list after a membership or health change, as Envoy's `refresh` does:
    /// the EDF schedule is rebuilt from the seed, while the unweighted index carries on where it
    /// was (Envoy keeps it in a map that is never reset).
    pub(crate) fn update(&mut self, weights: &[u32]) {
        let len = weights.len();
        let all_equal = weights.windows(2).all(|pair| match pair {
            [a, b] => a.max(&1) == b.max(&1),
            _ => true,
        });
        self.len = len;
        self.weighted = if all_equal || len <= 1 {
            None
        } else {
            let weights: Box<[f64]> = weights.iter().map(|&w| f64::from(w.max(1))).collect();
            let items: Vec<usize> = (0..len).collect();
            // Envoy passes its u64 seed to a `uint32_t picks` parameter: truncation.
            #[allow(clippy::cast_possible_truncation)]
            let picks = self.seed as u32;
            let scheduler = EdfScheduler::create_with_picks(
                &items,
                |&i| weights.get(i).copied().unwrap_or(1.0),
                picks,
            );
            Some(Weighted { scheduler, weights })
        };
    }

    /// Whether the weighted (EDF) path is used.
    #[cfg(test)]
    pub(crate) fn is_weighted(&self) -> bool {
        self.weighted.is_some()
    }

    /// Changes the weight of host `index` without rebuilding, as when Envoy sees a new weight
    /// before the next host-set refresh: the new weight applies when the host is next picked and
    /// re-inserted. Has no effect on the unweighted path (Envoy chooses the path at refresh time)
    /// or for an index out of range.
    #[cfg(test)]
    pub(crate) fn set_weight(&mut self, index: usize, weight: u32) {
        if let Some(slot) = self
            .weighted
            .as_mut()
            .and_then(|w| w.weights.get_mut(index))
        {
            *slot = f64::from(weight.max(1));
        }
    }

    /// Picks a host index. Draws exactly one random number (priority selection) per call, even
    /// when there are no hosts. Does not allocate.
    pub(crate) fn pick(&mut self, rng: &mut impl Rng) -> Option<usize> {
        let _priority = rng.next_u64();
        let n = u64::try_from(self.len).ok().filter(|&n| n > 0)?;
        match &mut self.weighted {
            None => {
                let host = self.index % n;
                self.index = self.index.wrapping_add(1);
                usize::try_from(host).ok()
            }
            Some(Weighted { scheduler, weights }) => {
                scheduler.pick_and_add(|&i| weights.get(i).copied().unwrap_or(1.0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rng::FastRng;

    /// Envoy's mocked `random()`: returns the scripted values in order and counts the draws.
    struct Script(Vec<u64>, usize);

    impl Rng for Script {
        fn next_u64(&mut self) -> u64 {
            let value = self.0[self.1 % self.0.len()];
            self.1 += 1;
            value
        }
    }

    fn picks(rr: &mut RoundRobin, rng: &mut Script, count: usize) -> Vec<usize> {
        (0..count).map(|_| rr.pick(rng).unwrap()).collect()
    }

    /// Envoy `RoundRobinLoadBalancerTest.Seed`: 3 equal hosts, `random()` always 1 (so seed 1)
    /// → 1, 2, 0, 1, one draw per pick.
    #[test]
    fn seed_sets_start() {
        let mut rng = Script(vec![1], 0);
        let mut rr = RoundRobin::new(&[1, 1, 1], 1);
        assert!(!rr.is_weighted());
        assert_eq!(picks(&mut rr, &mut rng, 4), [1, 2, 0, 1]);
        assert_eq!(rng.1, 4);
    }

    /// Envoy `RoundRobinLoadBalancerTest.Weighted`: weights [1,2], `random()` 0 → 1,0,1,1,0,1;
    /// after the weights change to [2,1] without a refresh → 1,0,0,1,0,0,1,0; a refresh adding a
    /// host of weight 3 → 2,0,2,1,0,2,2,0,2,1,0,2; a refresh to weights [1,4] → 1,1,1,0,1,1,1,1,0,1.
    #[test]
    fn weighted() {
        let mut rng = Script(vec![0], 0);
        let mut rr = RoundRobin::new(&[1, 2], 0);
        assert!(rr.is_weighted());
        assert_eq!(picks(&mut rr, &mut rng, 6), [1, 0, 1, 1, 0, 1]);
        assert_eq!(rng.1, 6);
        rr.set_weight(0, 2);
        rr.set_weight(1, 1);
        assert_eq!(picks(&mut rr, &mut rng, 8), [1, 0, 0, 1, 0, 0, 1, 0]);
        let mut rr = RoundRobin::new(&[2, 1, 3], 0);
        assert_eq!(
            picks(&mut rr, &mut rng, 12),
            [2, 0, 2, 1, 0, 2, 2, 0, 2, 1, 0, 2]
        );
        let mut rr = RoundRobin::new(&[1, 4], 0);
        assert_eq!(picks(&mut rr, &mut rng, 10), [1, 1, 1, 0, 1, 1, 1, 1, 0, 1]);
    }

    /// Envoy `RoundRobinLoadBalancerTest.WeightedSeed`: weights [1,2], seed 1 → 0,1,1,0,1,1.
    #[test]
    fn weighted_seed() {
        let mut rng = Script(vec![1], 0);
        let mut rr = RoundRobin::new(&[1, 2], 1);
        assert_eq!(picks(&mut rr, &mut rng, 6), [0, 1, 1, 0, 1, 1]);
    }

    /// Envoy `WeightedInitializationPicksAllHosts`: weights {6,3,1}; over seeds 0..10 the first
    /// pick lands 6, 3 and 1 times on the three hosts.
    #[test]
    fn weighted_initialization_picks_all_hosts() {
        let mut counts = [0; 3];
        for seed in 0..10 {
            let mut rng = Script(vec![seed], 0);
            let mut rr = RoundRobin::new(&[6, 3, 1], seed);
            counts[rr.pick(&mut rng).unwrap()] += 1;
        }
        assert_eq!(counts, [6, 3, 1]);
    }

    /// A single host and no hosts: one draw per pick either way.
    #[test]
    fn single_and_empty() {
        let mut rng = Script(vec![5], 0);
        let mut rr = RoundRobin::new(&[7], 12345);
        assert_eq!(picks(&mut rr, &mut rng, 3), [0, 0, 0]);
        let mut rr = RoundRobin::new(&[], 1);
        assert_eq!(rr.pick(&mut rng), None);
        assert_eq!(rng.1, 4);
    }

    /// Envoy `RoundRobinLoadBalancerTest.Normal` (without the peeks): 2 hosts pick 0,1,0,1,0;
    /// adding a third host continues the index (5 % 3) → 2,0,1,2 instead of restarting.
    #[test]
    fn index_survives_updates() {
        let mut rng = Script(vec![0], 0);
        let mut rr = RoundRobin::new(&[1, 1], 0);
        assert_eq!(picks(&mut rr, &mut rng, 5), [0, 1, 0, 1, 0]);
        rr.update(&[1, 1, 1]);
        assert_eq!(picks(&mut rr, &mut rng, 4), [2, 0, 1, 2]);
        // A weighted phase does not move the index; the EDF restarts from the seed.
        rr.update(&[1, 2]);
        assert_eq!(picks(&mut rr, &mut rng, 3), [1, 0, 1]);
        rr.update(&[1, 1]);
        assert_eq!(picks(&mut rr, &mut rng, 2), [1, 0]);
    }

    /// The index wraps instead of overflowing.
    #[test]
    fn index_wraps() {
        let mut rng = Script(vec![0], 0);
        let mut rr = RoundRobin::new(&[1, 1, 1], u64::MAX);
        // u64::MAX % 3 == 0, then 0 % 3 after wrapping.
        assert_eq!(picks(&mut rr, &mut rng, 2), [0, 0]);
    }

    /// Weighted picks converge to the weights.
    #[test]
    fn weighted_converges() {
        let weights = [1_u32, 3, 6];
        let mut rng = crate::util::rng::FastRng::from_seed(42);
        let mut rr = RoundRobin::new(&weights, 987_654_321);
        let mut counts = [0_u32; 3];
        for _ in 0..10_000 {
            counts[rr.pick(&mut rng).unwrap()] += 1;
        }
        assert_eq!(counts, [1000, 3000, 6000]);
    }

    /// The example of the module documentation.
    #[test]
    fn example_weighted_cycle() {
        let mut rng = FastRng::from_seed(3);
        // Envoy's seed is its first `random()`; here it is passed in (0).
        let mut rr = RoundRobin::new(&[1, 2], 0);
        let picks: Vec<usize> = (0..6).filter_map(|_| rr.pick(&mut rng)).collect();
        assert_eq!(picks, [1, 0, 1, 1, 0, 1]);
    }
}
