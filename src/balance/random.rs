//! Envoy's random load balancer (`simple: RANDOM`).
//!
//! Envoy draws **one** random number per pick and uses it twice: first as the "hash" that
//! chooses the priority (`r % 100 + 1` against the per-priority load), then to index the chosen
//! host list, `hosts[r % hosts.len()]`. Endpoint weights are ignored.
//! Source: `source/extensions/load_balancing_policies/random/random_lb.cc` (`peekOrChoose`).
//!
//! With a single priority the priority step always lands on priority 0, so the pick is simply
//! `r % n` for the one draw `r`.

use crate::util::rng::Rng;

/// Picks one of `n` hosts with a single draw from `rng`, as Envoy's random LB does.
/// `None` (after consuming the draw, as Envoy does) when there are no hosts.
pub(crate) fn pick(n: usize, rng: &mut impl Rng) -> Option<usize> {
    let r = rng.next_u64();
    let n = u64::try_from(n).ok().filter(|&n| n > 0)?;
    usize::try_from(r % n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rng::FastRng;

    struct Script(Vec<u64>, usize);

    impl Rng for Script {
        fn next_u64(&mut self) -> u64 {
            let value = self.0[self.1];
            self.1 += 1;
            value
        }
    }

    /// One draw per pick, used as `r % n`.
    #[test]
    fn one_draw_per_pick() {
        let mut rng = Script(vec![0, 4, 5, 7, u64::MAX], 0);
        let picks: Vec<_> = (0..5).map(|_| pick(3, &mut rng)).collect();
        assert_eq!(picks, [Some(0), Some(1), Some(2), Some(1), Some(0)]);
        assert_eq!(rng.1, 5);
    }

    /// No hosts: the draw is still consumed (Envoy draws before looking at the hosts).
    #[test]
    fn no_hosts() {
        let mut rng = Script(vec![9], 0);
        assert_eq!(pick(0, &mut rng), None);
        assert_eq!(rng.1, 1);
    }

    /// The example of the module documentation.
    #[test]
    fn example_pick() {
        let mut rng = FastRng::from_seed(1);
        let host = pick(3, &mut rng);
        assert!(matches!(host, Some(0..=2)));
        assert_eq!(pick(0, &mut rng), None);
    }
}
