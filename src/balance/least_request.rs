//! Envoy's least request load balancer (`simple: LEAST_REQUEST`, Istio's default) for one host
//! set.
//!
//! Envoy picks one of two algorithms per host list, decided when the list is (re)built:
//!
//! * **N choices (P2C)** when all weights are equal and `active_request_bias` was not explicitly
//!   configured (or there is at most one host): draw `choice_count` (default 2) host indices
//!   uniformly *with replacement*, `idx = random() % n`; the first sample is the candidate and a
//!   later sample replaces it only if it has **strictly fewer** active requests, so ties keep the
//!   earlier sample. This is "the power of two choices" (Mitzenmacher, *The Power of Two Choices
//!   in Randomized Load Balancing*, 2001). With `FULL_SCAN` every host is scanned instead and
//!   ties are broken by reservoir sampling: on the k-th host tied for least, `random() % k == 0`
//!   makes it the candidate.
//! * **Weighted** otherwise: the EDF scheduler ([`EdfScheduler`]) with the dynamic weight
//!   `weight / (active + 1)^bias` (`bias` 1.0 → `weight / (active + 1)`, 0.0 → `weight`),
//!   evaluated for every host when the scheduler is built (with [`EdfScheduler::create_with_picks`]
//!   and `picks = seed as u32`) and afterwards only for the picked host at the moment it is
//!   re-inserted. Hosts are never fully drained; they are just picked less often.
//!
//! Random draws per pick, in order: one for priority (and locality) selection, which does not
//! influence the choice within the host list, then `choice_count` for N choices (or one per tie
//! for full scan; none for the weighted path). Newest Envoy forces the weighted path whenever
//! `active_request_bias` is set explicitly (runtime guard
//! `least_request_lb_active_request_bias_forces_weighted`, on by default); a negative or NaN bias
//! logs a warning and becomes 1.0. Istio sets neither `choice_count` nor `active_request_bias`,
//! so Istio always gets P2C for equal weights and EDF with `weight / (active + 1)` otherwise.
//! Slow start (`warmup`) is not modelled: while a host warms up Envoy forces EDF with scaled
//! weights.
//!
//! Sources: `source/extensions/load_balancing_policies/least_request/least_request_lb.{h,cc}`,
//! `source/extensions/load_balancing_policies/common/load_balancer_impl.cc`
//! (`EdfLoadBalancerBase::refresh`, `chooseHostOnce`), `source/common/upstream/edf_scheduler.h`.

use super::edf::EdfScheduler;
use crate::util::rng::Rng;

/// Envoy's `LeastRequest` policy settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LeastRequestConfig {
    /// Hosts sampled per pick on the N-choices path (Envoy default 2; its validation requires at
    /// least 2). Here 0 means "unset" (2) and 1 samples a single host.
    pub(crate) choice_count: u32,
    /// `active_request_bias`: `None` when not configured (1.0 and no forced weighted path).
    /// `Some(bias)` forces the weighted path, as newest Envoy does; a negative or NaN bias is
    /// replaced by 1.0 with a warning.
    pub(crate) active_request_bias: Option<f64>,
}

impl Default for LeastRequestConfig {
    fn default() -> Self {
        Self {
            choice_count: 2,
            active_request_bias: None,
        }
    }
}

/// The two algorithms.
#[derive(Debug, Clone)]
enum Mode {
    /// Equal weights: N choices or full scan.
    Unweighted,
    /// Unequal weights or explicit bias: EDF over host indices.
    Weighted {
        scheduler: EdfScheduler<usize>,
        weights: Box<[f64]>,
    },
}

/// Least request over one host list, picking exactly the host Envoy picks given the same active
/// request counts and random numbers.
#[derive(Debug, Clone)]
pub(crate) struct LeastRequest {
    len: usize,
    seed: u64,
    choice_count: u32,
    /// `active_request_bias` was configured: always use the weighted path (newest Envoy).
    forced_weighted: bool,
    bias: f64,
    mode: Mode,
}

impl LeastRequest {
    /// A balancer over hosts with these weights and no active requests, with Envoy's LB seed
    /// (the first `random()` the LB draws). A weight of 0, which Envoy's config validation
    /// rejects, is treated as 1.
    pub(crate) fn new(weights: &[u32], config: LeastRequestConfig, seed: u64) -> Self {
        Self::with_active(weights, &[], config, seed)
    }

    /// Like [`LeastRequest::new`], building the weighted schedule with the active request counts
    /// of the moment (`active[i]` for host `i`; missing entries count as 0), as Envoy does when it
    /// rebuilds after a host-set change.
    pub(crate) fn with_active(
        weights: &[u32],
        active: &[u32],
        config: LeastRequestConfig,
        seed: u64,
    ) -> Self {
        let bias = match config.active_request_bias {
            None => 1.0,
            Some(bias) if bias < 0.0 || bias.is_nan() => {
                tracing::warn!(
                    bias,
                    "upstream: invalid active request bias supplied, using 1.0"
                );
                1.0
            }
            Some(bias) => bias,
        };
        let choice_count = if config.choice_count == 0 {
            2
        } else {
            config.choice_count
        };
        let mut lr = Self {
            len: 0,
            seed,
            choice_count,
            bias,
            forced_weighted: config.active_request_bias.is_some(),
            mode: Mode::Unweighted,
        };
        lr.update(weights, active);
        lr
    }

    /// Replaces the host list after a membership or health change, rebuilding the weighted
    /// schedule from the seed with the active request counts of the moment, as Envoy's
    /// `refresh` does.
    pub(crate) fn update(&mut self, weights: &[u32], active: &[u32]) {
        let len = weights.len();
        let all_equal = weights.windows(2).all(|pair| match pair {
            [a, b] => a.max(&1) == b.max(&1),
            _ => true,
        });
        self.len = len;
        self.mode = if (all_equal && !self.forced_weighted) || len <= 1 {
            Mode::Unweighted
        } else {
            let weights: Box<[f64]> = weights.iter().map(|&w| f64::from(w.max(1))).collect();
            let items: Vec<usize> = (0..len).collect();
            let bias = self.bias;
            // Envoy passes its u64 seed to a `uint32_t picks` parameter: truncation.
            #[allow(clippy::cast_possible_truncation)]
            let picks = self.seed as u32;
            let scheduler = EdfScheduler::create_with_picks(
                &items,
                |&i| host_weight(&weights, active, bias, i),
                picks,
            );
            Mode::Weighted { scheduler, weights }
        };
    }

    /// Whether the weighted (EDF) path is used.
    #[cfg(test)]
    pub(crate) fn is_weighted(&self) -> bool {
        matches!(self.mode, Mode::Weighted { .. })
    }

    /// The active request bias in effect (after replacing an invalid value by 1.0).
    #[cfg(test)]
    pub(crate) fn active_request_bias(&self) -> f64 {
        self.bias
    }

    /// Picks a host index given the current active request counts (`active[i]` for host `i`;
    /// missing entries count as 0). Draws one random number for priority selection, then
    /// `choice_count` numbers on the N-choices path, one per tie on the full-scan path and none on
    /// the weighted path. `None` (after the priority draw) when there are no hosts. Does not
    /// allocate.
    pub(crate) fn pick(&mut self, active: &[u32], rng: &mut impl Rng) -> Option<usize> {
        let _priority = rng.next_u64();
        if self.len == 0 {
            return None;
        }
        let bias = self.bias;
        match &mut self.mode {
            Mode::Weighted { scheduler, weights } => {
                scheduler.pick_and_add(|&i| host_weight(weights, active, bias, i))
            }
            // Envoy's other unweighted selection method, FULL_SCAN, is not reachable from
            // Istio (it never sets `selection_method`).
            Mode::Unweighted => n_choices(self.len, self.choice_count, active, rng),
        }
    }
}

/// The active request count of host `i` (0 when not given).
fn active_of(active: &[u32], i: usize) -> u64 {
    active.get(i).copied().map_or(0, u64::from)
}

/// `hostWeight`: `weight / (active + 1)^bias`, with Envoy's special cases for bias 1 and 0.
fn host_weight(weights: &[f64], active: &[u32], bias: f64, i: usize) -> f64 {
    let weight = weights.get(i).copied().unwrap_or(1.0);
    let active = active_of(active, i);
    // `active + 1`, except that u64::MAX stays (it cannot be reached from a u32 count).
    let requests = active.saturating_add(1);
    #[allow(clippy::cast_precision_loss)]
    let requests = requests as f64;
    if bias == 1.0 {
        weight / requests
    } else if bias != 0.0 {
        weight / requests.powf(bias)
    } else {
        weight
    }
}

/// `unweightedHostPickNChoices`.
fn n_choices(len: usize, choice_count: u32, active: &[u32], rng: &mut impl Rng) -> Option<usize> {
    let n = u64::try_from(len).ok().filter(|&n| n > 0)?;
    let mut candidate: Option<usize> = None;
    for _ in 0..choice_count {
        let sampled = usize::try_from(rng.next_u64() % n).ok()?;
        candidate = match candidate {
            Some(current) if active_of(active, sampled) >= active_of(active, current) => {
                Some(current)
            }
            _ => Some(sampled),
        };
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rng::FastRng;

    /// Envoy's mocked `random()`: returns the scripted values in order (cycling) and counts draws.
    struct Script(Vec<u64>, usize);

    impl Rng for Script {
        fn next_u64(&mut self) -> u64 {
            let value = self.0[self.1 % self.0.len()];
            self.1 += 1;
            value
        }
    }

    fn config(choice_count: u32) -> LeastRequestConfig {
        LeastRequestConfig {
            choice_count,
            ..LeastRequestConfig::default()
        }
    }

    fn picks(lr: &mut LeastRequest, active: &[u32], rng: &mut Script, n: usize) -> Vec<usize> {
        (0..n).map(|_| lr.pick(active, rng).unwrap()).collect()
    }

    /// Envoy `LeastRequestLoadBalancerTest.Normal`: randoms [0 (priority), 2, 3] sample hosts 0
    /// then 1; rq [1,2] keeps host 0, rq [2,1] switches to host 1.
    #[test]
    fn normal() {
        let mut lr = LeastRequest::new(&[1, 1], LeastRequestConfig::default(), 0);
        assert!(!lr.is_weighted());
        let mut rng = Script(vec![0, 2, 3], 0);
        assert_eq!(lr.pick(&[1, 2], &mut rng), Some(0));
        assert_eq!(rng.1, 3);
        let mut rng = Script(vec![0, 2, 3], 0);
        assert_eq!(lr.pick(&[2, 1], &mut rng), Some(1));
        assert_eq!(rng.1, 3);
    }

    /// Envoy `LeastRequestLoadBalancerTest.PNC`: 4 hosts with rq [4,3,2,1]; all-zero randoms give
    /// host 0 with 3 draws (default and P2C) and 6 draws (P5C); P5C with randoms
    /// [0,3,0,3,2,1] gives host 3.
    #[test]
    fn pnc() {
        let active = [4, 3, 2, 1];
        for (count, draws) in [(0, 3), (2, 3), (5, 6)] {
            let mut lr = LeastRequest::new(&[1; 4], config(count), 0);
            let mut rng = Script(vec![0], 0);
            assert_eq!(lr.pick(&active, &mut rng), Some(0));
            assert_eq!(rng.1, draws, "choice_count {count}");
        }
        let mut lr = LeastRequest::new(&[1; 4], config(5), 0);
        let mut rng = Script(vec![0, 3, 0, 3, 2, 1], 0);
        assert_eq!(lr.pick(&active, &mut rng), Some(3));
        assert_eq!(rng.1, 6);
    }

    /// Envoy `SingleHost`: one host is always picked, still drawing 1 + 2 randoms; no hosts
    /// draws only the priority random.
    #[test]
    fn single_and_no_hosts() {
        let mut lr = LeastRequest::new(&[100], LeastRequestConfig::default(), 0);
        let mut rng = Script(vec![0, 2, 3], 0);
        assert_eq!(lr.pick(&[], &mut rng), Some(0));
        assert_eq!(rng.1, 3);
        let mut lr = LeastRequest::new(&[], LeastRequestConfig::default(), 0);
        let mut rng = Script(vec![0], 0);
        assert_eq!(lr.pick(&[], &mut rng), None);
        assert_eq!(rng.1, 1);
    }

    /// Envoy `WeightImbalance`: weights [1,2], random 0 (seed 0). rq [0,0] → 1,0,1,1,0,1; then
    /// rq[1]=1 → 1,0,1,0,1; then rq [1,0] → 0,1,1,1,0,1,1,1,1,0, continuing the same scheduler.
    /// The weighted path draws only the priority random.
    #[test]
    fn weight_imbalance() {
        let mut lr = LeastRequest::new(&[1, 2], LeastRequestConfig::default(), 0);
        assert!(lr.is_weighted());
        let mut rng = Script(vec![0], 0);
        assert_eq!(picks(&mut lr, &[0, 0], &mut rng, 6), [1, 0, 1, 1, 0, 1]);
        assert_eq!(picks(&mut lr, &[0, 1], &mut rng, 5), [1, 0, 1, 0, 1]);
        assert_eq!(
            picks(&mut lr, &[1, 0], &mut rng, 10),
            [0, 1, 1, 1, 0, 1, 1, 1, 1, 0]
        );
        assert_eq!(rng.1, 21);
    }

    /// Envoy `WeightImbalanceCallbacks`: weights [1,2] pick 1,0; after host 1 is removed the
    /// rebuilt balancer picks host 0.
    #[test]
    fn update_rebuilds() {
        let mut lr = LeastRequest::new(&[1, 2], LeastRequestConfig::default(), 0);
        let mut rng = Script(vec![0], 0);
        assert_eq!(picks(&mut lr, &[], &mut rng, 2), [1, 0]);
        lr.update(&[1], &[]);
        assert!(!lr.is_weighted());
        assert_eq!(lr.pick(&[], &mut rng), Some(0));
        lr.update(&[1, 2], &[0, 0]);
        assert_eq!(picks(&mut lr, &[0, 0], &mut rng, 6), [1, 0, 1, 1, 0, 1]);
    }

    /// Envoy `WeightImbalanceWithInvalidActiveRequestBias`: bias −1 falls back to 1.0 and gives the
    /// same sequences as the default.
    #[test]
    fn invalid_bias_is_one() {
        for bias in [-1.0, f64::NAN] {
            let cfg = LeastRequestConfig {
                active_request_bias: Some(bias),
                ..LeastRequestConfig::default()
            };
            let mut lr = LeastRequest::new(&[1, 2], cfg, 0);
            assert_eq!(lr.active_request_bias(), 1.0);
            let mut rng = Script(vec![0], 0);
            assert_eq!(picks(&mut lr, &[0, 0], &mut rng, 6), [1, 0, 1, 1, 0, 1]);
            assert_eq!(picks(&mut lr, &[0, 1], &mut rng, 5), [1, 0, 1, 0, 1]);
            assert_eq!(
                picks(&mut lr, &[1, 0], &mut rng, 10),
                [0, 1, 1, 1, 0, 1, 1, 1, 1, 0]
            );
        }
    }

    /// Envoy `WeightImbalanceWithCustomActiveRequestBias`: bias 0 ignores active requests.
    #[test]
    fn zero_bias_ignores_active() {
        let cfg = LeastRequestConfig {
            active_request_bias: Some(0.0),
            ..LeastRequestConfig::default()
        };
        let mut lr = LeastRequest::new(&[1, 2], cfg, 0);
        let mut rng = Script(vec![0], 0);
        assert_eq!(picks(&mut lr, &[0, 1], &mut rng, 6), [1, 0, 1, 1, 0, 1]);
    }

    /// Envoy `EqualWeightsWithActiveRequestBias`: an explicit bias forces EDF even for equal
    /// weights; rq [1,0] gives host 1 about 200 of 300 picks (P2C with random 0 would always
    /// pick host 0).
    #[test]
    fn explicit_bias_forces_weighted() {
        let cfg = LeastRequestConfig {
            active_request_bias: Some(1.0),
            ..LeastRequestConfig::default()
        };
        let mut lr = LeastRequest::new(&[1, 1], cfg, 0);
        assert!(lr.is_weighted());
        let mut rng = Script(vec![0], 0);
        let host1 = (0..300)
            .filter(|_| lr.pick(&[1, 0], &mut rng) == Some(1))
            .count();
        assert!((198..=202).contains(&host1), "{host1}");

        // Without the explicit bias: P2C, host 0 sampled twice.
        let mut lr = LeastRequest::new(&[1, 1], LeastRequestConfig::default(), 0);
        let mut rng = Script(vec![0], 0);
        assert!((0..10).all(|_| lr.pick(&[1, 0], &mut rng) == Some(0)));
    }

    /// Weighted least request with no active requests converges to the weights (fixed seeds,
    /// several weight vectors and LB seeds).
    #[test]
    fn weighted_converges_to_weights() {
        let mut source = crate::util::rng::FastRng::from_seed(2024);
        for _case in 0..20 {
            let n = 2 + (source.next_u64() % 6) as usize;
            let weights: Vec<u32> = (0..n)
                .map(|_| 1 + (source.next_u64() % 10) as u32)
                .collect();
            let total: u32 = weights.iter().sum();
            let seed = source.next_u64();
            let mut lr = LeastRequest::new(&weights, LeastRequestConfig::default(), seed);
            let mut counts = vec![0_u32; n];
            let rounds = 100;
            for _ in 0..rounds * total {
                counts[lr.pick(&[], &mut source).unwrap()] += 1;
            }
            if lr.is_weighted() {
                for (i, &w) in weights.iter().enumerate() {
                    let expected = w * rounds;
                    assert!(counts[i].abs_diff(expected) <= 1, "{weights:?}: {counts:?}");
                }
            }
        }
    }

    /// Unweighted P2C spreads load towards idle hosts.
    #[test]
    fn p2c_prefers_idle() {
        let mut lr = LeastRequest::new(&[1; 4], LeastRequestConfig::default(), 0);
        let mut rng = crate::util::rng::FastRng::from_seed(11);
        let active = [0, 10, 10, 10];
        let idle = (0..10_000)
            .filter(|_| lr.pick(&active, &mut rng) == Some(0))
            .count();
        // P(host 0 sampled at least once in 2 draws) = 1 − (3/4)² = 7/16.
        assert!((4_100..=4_650).contains(&idle), "{idle}");
    }

    /// The example of the module documentation.
    #[test]
    fn example_idle_host_wins() {
        let mut rng = FastRng::from_seed(9);
        let mut lr = LeastRequest::new(&[1, 1, 1], LeastRequestConfig::default(), 0);
        // Host 1 is idle, the others are busy: it wins whenever it is sampled.
        let host = lr.pick(&[10, 0, 10], &mut rng);
        assert!(host.is_some());
    }
}
