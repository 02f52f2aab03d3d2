//! Maglev consistent hashing, as Envoy's `MAGLEV` load balancer builds and reads its table.
//!
//! Maglev (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer",
//! NSDI 2016, pseudo-code listing 1) fills a lookup table of prime size `M` (default 65537).
//! Every host has its own permutation of the slots, `(offset + skip * j) % M`, and the hosts
//! take turns claiming the next free slot of their permutation until the table is full. A
//! request goes to `table[hash % M]`: one array read, and when a host leaves, only its slots
//! (plus a few others) change owner.
//!
//! Source: `source/extensions/load_balancing_policies/maglev/maglev_lb.cc`
//! (`MaglevTable::constructMaglevTableInternal`,
//! `OriginalMaglevTable::constructImplementationInternals`, `chooseHost`, `permutation`):
//!
//! 1. Weights are normalized like ring hash (`w = weight * 1.0 / Σ weight`, see
//!    [`ring_hash`](super::ring_hash)); `max_w` is the largest.
//! 2. Hosts are **sorted by hash key** (bytes; ties by host-set index here, by host pointer in
//!    Envoy). Per host: `offset = XXH64(key, 0) % M`, `skip = XXH64(key, 1) % (M - 1) + 1`.
//! 3. For `iteration = 1, 2, ...` while the table has free slots, each host in sorted order
//!    takes a turn unless `iteration * w < target`; taking a turn adds `max_w` to its `target`
//!    and claims the first free slot of its permutation. A host of weight `max_w / 3` therefore
//!    claims a slot every third iteration, and every host gets a slot in the first iteration.
//! 4. `pick(hash, attempt)`: for a retry (`attempt > 0`) `hash ^= 2^64 - attempt` (Envoy's
//!    `~0ULL - attempt + 1`), then `table[hash % M]`.
//!
//! **Version caveat.** Envoy sorts by key since the `BasicStability` change (the sort is in
//! `constructMaglevTableInternal`); older Envoy (`source/common/upstream/maglev_lb.cc`, before
//! the load-balancing-policy extensions) iterated in host-set order, so the same hosts listed
//! in another order built another table. This module follows current Envoy. Newest Envoy also
//! uses a `DegenerateMaglevTable` for exactly one host (always that host, gauges min = max = 1);
//! this module does the same.
//!
//! **Work.** Envoy's fill loop visits every host in every iteration, so one host weighing
//! 100000 times each of 1000 others costs about `M * 1000` checks; the fill here visits only
//! the hosts whose turn it is (same turns, same order, same table: `queue_fill_equals_envoys_loop`
//! checks it against the loop as Envoy writes it), about one step per slot.
//!
//! **Memory.** Envoy's `OriginalMaglevTable` stores a host pointer per slot (8 to 16 bytes);
//! its `CompactMaglevTable` stores `bit_width(#hosts)` bits per slot. Here a slot is a host
//! index of 1 byte (up to 256 hosts), 2 bytes (up to 65536) or 4 bytes: 64 KiB for the default
//! table with up to 256 endpoints. One host, or none, needs no table at all.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::hash::xxhash64;
use super::host_indices::{HostIndices, index_bytes};
use super::ring_hash::NormalizedWeights;

/// A Maglev configuration Envoy would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum InvalidMaglev {
    /// The table size is not a prime number (Envoy's constructor message, verbatim).
    ///
    /// Envoy's `Primes::isPrime` also accepts 1, and then divides by `M - 1 = 0` when it builds
    /// the table; meshroute rejects 1.
    #[error("The table size of maglev must be prime number")]
    NotPrime {
        /// The configured table size.
        table_size: u64,
    },
    /// The table size is above 5000011, the limit of Envoy's proto validation
    /// (`table_size` is `lte: 5000011`).
    #[error("maglev table size ({table_size}) > 5000011; use a prime of at most 5000011")]
    TableSizeTooLarge {
        /// The configured table size.
        table_size: u64,
    },
    /// The host weights add up to more than `u32::MAX` (Envoy's `normalizeHostWeights`).
    #[error("the sum of weights of all upstream hosts in a locality exceeds 4294967295")]
    WeightSumTooLarge,
}

/// Envoy's Maglev gauges (`maglev_lb.min_entries_per_host`, `.max_entries_per_host`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct MaglevStats {
    /// The fewest slots any host got (1 for a single-host table, like newest Envoy).
    pub(crate) min_entries_per_host: u64,
    /// The most slots any host got (1 for a single-host table, like newest Envoy).
    pub(crate) max_entries_per_host: u64,
}

/// A built Maglev lookup table over a host list; [`Maglev::pick`] returns an index into that
/// list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Maglev {
    table_size: u64,
    slots: HostIndices,
    counts: Vec<u32>,
    stats: MaglevStats,
}

/// One host's state while the table is filled (Envoy's `TableBuildEntry`).
struct BuildEntry {
    host: u32,
    offset: u64,
    skip: u64,
    weight: f64,
    target: f64,
    next: u64,
    count: u32,
}

/// Marks a free slot during the build (host indices are below `u32::MAX`).
const FREE: u32 = u32::MAX;

impl Maglev {
    /// Envoy's (and Istio's) default table size, a prime.
    #[cfg(test)]
    pub(crate) const DEFAULT_TABLE_SIZE: u64 = 65537;
    /// The largest table size Envoy's proto validation accepts, a prime.
    pub(crate) const MAX_TABLE_SIZE: u64 = 5_000_011;

    /// Builds the table for `hosts`, each `(hash key, weight)` in host-set order, the way
    /// Envoy does (see the module docs). The order of `hosts` does not change which host owns
    /// a slot, only the indices reported.
    ///
    /// No hosts give an empty table whose picks are `None`.
    ///
    /// # Errors
    ///
    /// [`InvalidMaglev`] when `table_size` is not prime or above 5000011, or the weights add up
    /// to more than `u32::MAX`.
    pub(crate) fn build(hosts: &[(&str, u32)], table_size: u64) -> Result<Maglev, InvalidMaglev> {
        if table_size > Self::MAX_TABLE_SIZE {
            return Err(InvalidMaglev::TableSizeTooLarge { table_size });
        }
        if !is_prime(table_size) {
            return Err(InvalidMaglev::NotPrime { table_size });
        }
        let weights = NormalizedWeights::new(hosts.iter().map(|&(_, weight)| weight))
            .ok_or(InvalidMaglev::WeightSumTooLarge)?;
        // At most 5000011 (checked above).
        let size = u32::try_from(table_size).unwrap_or(u32::MAX);
        match hosts.len() {
            0 => {
                return Ok(Maglev {
                    table_size,
                    slots: HostIndices::One(0),
                    counts: Vec::new(),
                    stats: MaglevStats::default(),
                });
            }
            1 => {
                return Ok(Maglev {
                    table_size,
                    slots: HostIndices::One(size as usize),
                    counts: vec![size],
                    stats: MaglevStats {
                        min_entries_per_host: 1,
                        max_entries_per_host: 1,
                    },
                });
            }
            _ => {}
        }

        let mut order: Vec<u32> = (0..u32::try_from(hosts.len()).unwrap_or(u32::MAX)).collect();
        order.sort_by(|&a, &b| key_of(hosts, a).cmp(key_of(hosts, b)).then(a.cmp(&b)));
        let mut entries: Vec<BuildEntry> = order
            .iter()
            .map(|&host| {
                let (offset, skip) = offset_and_skip(key_of(hosts, host), table_size);
                BuildEntry {
                    host,
                    offset,
                    skip,
                    weight: weights.values.get(host as usize).copied().unwrap_or(0.0),
                    target: 0.0,
                    next: 0,
                    count: 0,
                }
            })
            .collect();

        let mut table = vec![FREE; size as usize];
        // Envoy's loop visits every host in every iteration and skips those whose turn has not
        // come (`iteration * weight < target`): with one heavy host and many light ones that is
        // `M * hosts` checks (5e10 for 10000 hosts and the largest table). Here a host whose
        // next turn is the next iteration stays in the list of the next iteration, and a host
        // whose turn is further away waits in a queue keyed by that iteration; each iteration
        // takes its hosts from both in key order. Same turns, same order, and the work is one
        // step per slot (plus a queue operation per late turn).
        let mut due: Vec<usize> = (0..entries.len()).collect();
        let mut next: Vec<usize> = Vec::with_capacity(entries.len());
        let mut woken: Vec<usize> = Vec::new();
        let mut merged: Vec<usize> = Vec::with_capacity(entries.len());
        let mut later: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
        let mut filled = 0_u64;
        let mut iteration = 1_u64;
        'fill: while filled < table_size {
            woken.clear();
            while let Some(&Reverse((turn, position))) = later.peek() {
                if turn != iteration {
                    break;
                }
                later.pop();
                woken.push(position);
            }
            merge(&due, &woken, &mut merged);
            for &position in &merged {
                if filled >= table_size {
                    break 'fill;
                }
                let Some(entry) = entries.get_mut(position) else {
                    continue;
                };
                entry.target += weights.max;
                claim(entry, &mut table, table_size);
                filled += 1;
                let turn = next_turn(iteration, entry.weight, entry.target);
                if turn == iteration + 1 {
                    next.push(position);
                } else {
                    later.push(Reverse((turn, position)));
                }
            }
            std::mem::swap(&mut due, &mut next);
            next.clear();
            iteration += 1;
            if due.is_empty() {
                match later.peek() {
                    Some(&Reverse((turn, _))) => iteration = iteration.max(turn),
                    None => break,
                }
            }
        }

        let mut counts = vec![0_u32; hosts.len()];
        let mut stats = MaglevStats {
            min_entries_per_host: table_size,
            max_entries_per_host: 0,
        };
        for entry in &entries {
            if let Some(count) = counts.get_mut(entry.host as usize) {
                *count = entry.count;
            }
            stats.min_entries_per_host = stats.min_entries_per_host.min(u64::from(entry.count));
            stats.max_entries_per_host = stats.max_entries_per_host.max(u64::from(entry.count));
        }
        Ok(Maglev {
            table_size,
            slots: HostIndices::narrow(table, hosts.len()),
            counts,
            stats,
        })
    }

    /// The bytes a table of `table_size` slots over `hosts` hosts keeps once built (see
    /// [`HostIndices`]: 1, 2 or 4 bytes per slot, nothing for no host or one). At most 20 MB, for
    /// 5000011 slots over more than 65536 hosts.
    pub(crate) fn bytes(hosts: usize, table_size: u64) -> u64 {
        table_size.saturating_mul(index_bytes(hosts))
    }

    /// The host (index into the list given to [`Maglev::build`]) for `hash`, or `None` when
    /// there are no hosts.
    ///
    /// `attempt` is the host-selection retry (Envoy's retry host predicate): attempt `n > 0`
    /// looks up `hash ^ (2^64 - n)` instead, a far-away slot that may still be the same host.
    /// Allocates nothing.
    pub(crate) fn pick(&self, hash: u64, attempt: u32) -> Option<usize> {
        let hash = if attempt > 0 {
            hash ^ 0_u64.wrapping_sub(u64::from(attempt))
        } else {
            hash
        };
        let slot = usize::try_from(hash.checked_rem(self.table_size)?).ok()?;
        self.slots.get(slot)
    }

    /// The table size `M`.
    #[cfg(test)]
    pub(crate) fn table_size(&self) -> u64 {
        self.table_size
    }

    /// How many slots each host owns, indexed like the host list (a single host owns all
    /// `M`; the counts add up to `M` whenever there are hosts).
    #[cfg(test)]
    pub(crate) fn entry_counts(&self) -> &[u32] {
        &self.counts
    }

    /// Envoy's Maglev gauges for this table.
    #[cfg(test)]
    pub(crate) fn stats(&self) -> MaglevStats {
        self.stats
    }

    /// Bytes per table slot: 1, 2 or 4 depending on the host count; 0 when no table is stored
    /// (no hosts, or one).
    #[cfg(test)]
    pub(crate) fn bytes_per_slot(&self) -> usize {
        self.slots.bytes_per_index() as usize
    }
}

/// Merges two ascending lists of positions into `out`.
fn merge(a: &[usize], b: &[usize], out: &mut Vec<usize>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        if x <= y {
            out.push(x);
            i += 1;
        } else {
            out.push(y);
            j += 1;
        }
    }
    out.extend(a.get(i..).unwrap_or_default());
    out.extend(b.get(j..).unwrap_or_default());
}

/// Gives `entry` the next free slot of its permutation (`(offset + skip * next) % M`).
fn claim(entry: &mut BuildEntry, table: &mut [u32], table_size: u64) {
    loop {
        let c = entry
            .offset
            .wrapping_add(entry.skip.wrapping_mul(entry.next))
            % table_size;
        entry.next += 1;
        match table.get_mut(usize::try_from(c).unwrap_or(usize::MAX)) {
            Some(slot) if *slot == FREE => {
                *slot = entry.host;
                break;
            }
            Some(_) => {}
            // `c < table_size == table.len()`: cannot happen.
            None => return,
        }
    }
    entry.count += 1;
}

/// The iteration after `iteration` in which a host of normalized `weight` whose `target` it is
/// takes its next turn: the first `j > iteration` with `j * weight >= target` in `f64`, the
/// negation of Envoy's skip condition `iteration * weight < target`. Iterations stay far below
/// 2^32 (the heaviest host takes a turn in about every iteration), where Envoy's `uint32_t`
/// and this `u64` agree.
fn next_turn(iteration: u64, weight: f64, target: f64) -> u64 {
    let turn = |j: u64| j as f64 * weight >= target;
    let first = iteration.saturating_add(1);
    if turn(first) {
        // The usual case: equal weights take a turn every iteration.
        return first;
    }
    let estimate = (target / weight).ceil();
    // At most `M * max_w / min_w` (5000011 * 2^32), so within a few steps of the exact answer,
    // which the two loops find.
    let mut j = if estimate.is_finite() && estimate > first as f64 {
        (estimate as u64).min(u64::MAX >> 1)
    } else {
        first
    };
    while j > first && turn(j - 1) {
        j -= 1;
    }
    while !turn(j) && j < u64::MAX >> 1 {
        j += 1;
    }
    j
}

fn key_of<'a>(hosts: &[(&'a str, u32)], host: u32) -> &'a [u8] {
    hosts
        .get(host as usize)
        .map_or(&[][..], |&(key, _)| key.as_bytes())
}

/// A host's permutation: `offset = XXH64(key, 0) % M`, `skip = XXH64(key, 1) % (M - 1) + 1`.
/// `table_size` is a prime, so at least 2.
fn offset_and_skip(key: &[u8], table_size: u64) -> (u64, u64) {
    let offset = xxhash64(key, 0).checked_rem(table_size).unwrap_or(0);
    let skip = xxhash64(key, 1)
        .checked_rem(table_size.saturating_sub(1))
        .unwrap_or(0)
        + 1;
    (offset, skip)
}

/// Trial division; `table_size` is at most 5000011 here, so at most ~1100 divisions.
fn is_prime(n: u64) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n % 2 == 0 {
        return false;
    }
    let mut factor = 3_u64;
    while factor.saturating_mul(factor) <= n {
        if n % factor == 0 {
            return false;
        }
        factor += 2;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASIC: [(&str, u32); 6] = [
        ("127.0.0.1:90", 1),
        ("127.0.0.1:91", 1),
        ("127.0.0.1:92", 1),
        ("127.0.0.1:93", 1),
        ("127.0.0.1:94", 1),
        ("127.0.0.1:95", 1),
    ];

    fn table(maglev: &Maglev) -> Vec<usize> {
        (0..maglev.table_size())
            .map(|slot| maglev.pick(slot, 0).unwrap())
            .collect()
    }

    /// Envoy's fill loop as written (`MaglevTable::constructMaglevTableInternal`): every host
    /// visited in every iteration. The reference the queue-driven build must equal.
    fn envoy_fill(hosts: &[(&str, u32)], table_size: u64) -> Vec<u32> {
        let weights = NormalizedWeights::new(hosts.iter().map(|&(_, w)| w)).unwrap();
        let mut order: Vec<u32> = (0..hosts.len() as u32).collect();
        order.sort_by(|&a, &b| key_of(hosts, a).cmp(key_of(hosts, b)).then(a.cmp(&b)));
        let mut entries: Vec<BuildEntry> = order
            .iter()
            .map(|&host| {
                let (offset, skip) = offset_and_skip(key_of(hosts, host), table_size);
                BuildEntry {
                    host,
                    offset,
                    skip,
                    weight: weights.values[host as usize],
                    target: 0.0,
                    next: 0,
                    count: 0,
                }
            })
            .collect();
        let mut table = vec![FREE; table_size as usize];
        let mut filled = 0_u64;
        let mut iteration = 1_u32;
        while filled < table_size {
            for entry in entries.iter_mut() {
                if filled >= table_size {
                    break;
                }
                if f64::from(iteration) * entry.weight < entry.target {
                    continue;
                }
                entry.target += weights.max;
                claim(entry, &mut table, table_size);
                filled += 1;
            }
            iteration += 1;
        }
        table
    }

    /// The queue-driven fill gives exactly the table of Envoy's loop, for weights from equal to
    /// wildly unequal and table sizes from 7 to 65537.
    #[test]
    fn queue_fill_equals_envoys_loop() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let keys: Vec<String> = (0..40).map(|i| format!("10.1.0.{i}:8080")).collect();
        for round in 0..60 {
            let n = 2 + (next() % 38) as usize;
            let table_size = [7_u64, 17, 101, 1009, 65537][round % 5];
            let hosts: Vec<(&str, u32)> = keys[..n]
                .iter()
                .map(|k| {
                    let w = match next() % 4 {
                        0 => 1,
                        1 => 1 + (next() % 10) as u32,
                        2 => 1 + (next() % 100_000) as u32,
                        _ => 1 + (next() % (u32::MAX as u64 / 64)) as u32,
                    };
                    (k.as_str(), w)
                })
                .collect();
            let built = Maglev::build(&hosts, table_size).unwrap();
            let expected: Vec<usize> = envoy_fill(&hosts, table_size)
                .into_iter()
                .map(|h| h as usize)
                .collect();
            assert_eq!(
                table(&built),
                expected,
                "round {round}: {hosts:?} M={table_size}"
            );
        }
    }

    /// One heavy host among 3000 light ones: Envoy's loop makes about `M * hosts` checks;
    /// the queue makes one step per slot.
    #[test]
    fn skewed_weights_fill_in_one_step_per_slot() {
        let keys: Vec<String> = (0..3000)
            .map(|i| format!("10.2.{}.{}:80", i / 256, i % 256))
            .collect();
        let hosts: Vec<(&str, u32)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), if i == 0 { u32::MAX - 3000 } else { 1 }))
            .collect();
        let started = std::time::Instant::now();
        let maglev = Maglev::build(&hosts, Maglev::DEFAULT_TABLE_SIZE).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(maglev.entry_counts()[0], 65537 - 2999);
        assert!(maglev.entry_counts()[1..].iter().all(|&c| c == 1));
    }

    /// maglev_lb.cc `MaglevTable::constructMaglevTableInternal`: per-host offset and skip at M = 7
    /// and M = 17, from XXH64 seeds 0 and 1.
    #[test]
    fn offset_and_skip_come_from_xxhash_seeds_0_and_1() {
        let expected = [
            (
                "127.0.0.1:90",
                13180206916909469397_u64,
                1521841302816948213_u64,
                (2, 4),
                (1, 6),
            ),
            (
                "127.0.0.1:91",
                14287957416708962143,
                17357142112957331357,
                (3, 6),
                (9, 14),
            ),
            (
                "127.0.0.1:92",
                8423055348948895690,
                17793378079088142613,
                (0, 2),
                (9, 6),
            ),
            (
                "127.0.0.1:93",
                9686654070074522551,
                2659385765327237744,
                (3, 3),
                (10, 1),
            ),
            (
                "127.0.0.1:94",
                7799375222174194912,
                2739684680390772584,
                (1, 3),
                (15, 9),
            ),
            (
                "127.0.0.1:95",
                2722563676200318021,
                10218045428051726404,
                (1, 5),
                (5, 5),
            ),
        ];
        for (key, seed0, seed1, m7, m17) in expected {
            assert_eq!(xxhash64(key.as_bytes(), 0), seed0, "{key}");
            assert_eq!(xxhash64(key.as_bytes(), 1), seed1, "{key}");
            assert_eq!(offset_and_skip(key.as_bytes(), 7), m7, "{key}");
            assert_eq!(offset_and_skip(key.as_bytes(), 17), m17, "{key}");
        }
    }

    /// `test/extensions/load_balancing_policies/maglev/maglev_lb_test.cc` `Basic`: six hosts
    /// at M = 7.
    #[test]
    fn basic_table_matches_envoy() {
        let maglev = Maglev::build(&BASIC, 7).unwrap();
        assert_eq!(table(&maglev), [2, 4, 0, 1, 5, 0, 3]);
        assert_eq!(
            maglev.stats(),
            MaglevStats {
                min_entries_per_host: 1,
                max_entries_per_host: 2
            }
        );
        assert_eq!(maglev.entry_counts(), &[2, 1, 1, 1, 1, 1]);
        // chooseHost uses `hash % M`.
        for hash in 0..21 {
            assert_eq!(maglev.pick(hash, 0), maglev.pick(hash % 7, 0));
        }
        assert_eq!(maglev.bytes_per_slot(), 1);
    }

    /// maglev_lb_test.cc `BasicWithHostName`: keys "90".."95" give another table.
    #[test]
    fn hostname_keys_build_envoys_table() {
        let hosts = [
            ("90", 1),
            ("91", 1),
            ("92", 1),
            ("93", 1),
            ("94", 1),
            ("95", 1),
        ];
        let maglev = Maglev::build(&hosts, 7).unwrap();
        assert_eq!(table(&maglev), [2, 5, 0, 3, 4, 1, 0]);
    }

    /// maglev_lb_test.cc `BasicStability`: shuffling the host list gives the same host per
    /// slot (hosts are sorted by key before the build).
    #[test]
    fn host_order_does_not_change_the_table() {
        let shuffled_order = [4_usize, 1, 5, 0, 3, 2];
        let shuffled: Vec<(&str, u32)> = shuffled_order.iter().map(|&i| BASIC[i]).collect();
        let maglev = Maglev::build(&shuffled, 7).unwrap();
        let mapped: Vec<usize> = table(&maglev)
            .into_iter()
            .map(|i| shuffled_order[i])
            .collect();
        assert_eq!(mapped, [2, 4, 0, 1, 5, 0, 3]);
    }

    /// maglev_lb_test.cc `BasicWithRetryHostPredicate`: hash 10, attempts 0, 1, 2 give hosts
    /// 1, 0, 5 (`hash ^= 2^64 - attempt`).
    #[test]
    fn retry_attempt_xors_the_hash() {
        let maglev = Maglev::build(&BASIC, 7).unwrap();
        assert_eq!(maglev.pick(10, 0), Some(1));
        assert_eq!(maglev.pick(10, 1), Some(0));
        assert_eq!(maglev.pick(10, 2), Some(5));
        assert_eq!(
            maglev.pick(10, 2),
            maglev.pick((10 ^ (u64::MAX - 1)) % 7, 0)
        );
        assert!(maglev.pick(10, u32::MAX).is_some());
    }

    /// maglev_lb_test.cc `Weighted`: weights 1 and 2 at M = 17.
    #[test]
    fn weighted_table_matches_envoy() {
        let maglev = Maglev::build(&[("127.0.0.1:90", 1), ("127.0.0.1:91", 2)], 17).unwrap();
        assert_eq!(
            table(&maglev),
            [1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1]
        );
        assert_eq!(
            maglev.stats(),
            MaglevStats {
                min_entries_per_host: 6,
                max_entries_per_host: 11
            }
        );
        assert_eq!(maglev.entry_counts(), &[6, 11]);
    }

    /// maglev_lb_test.cc `WeightedSingleHost`: one host gets every hash; newest Envoy's
    /// degenerate table reports min = max = 1.
    #[test]
    fn single_host_gets_every_hash() {
        let maglev = Maglev::build(&[("127.0.0.1:90", 7)], 17).unwrap();
        for hash in (0..17).chain([u64::MAX]) {
            assert_eq!(maglev.pick(hash, 0), Some(0));
            assert_eq!(maglev.pick(hash, 3), Some(0));
        }
        assert_eq!(
            maglev.stats(),
            MaglevStats {
                min_entries_per_host: 1,
                max_entries_per_host: 1
            }
        );
        assert_eq!(maglev.entry_counts(), &[17]);
        assert_eq!(maglev.bytes_per_slot(), 0);
    }

    /// maglev_lb_test.cc `NoPrimeNumber`: M = 8 is rejected with Envoy's message; so are 0, 1
    /// and sizes above the proto limit.
    #[test]
    fn table_size_must_be_prime() {
        let err = Maglev::build(&BASIC, 8).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The table size of maglev must be prime number"
        );
        assert_eq!(err, InvalidMaglev::NotPrime { table_size: 8 });
        for m in [0, 1, 4, 9, 65535, 5_000_009] {
            assert!(Maglev::build(&BASIC, m).is_err(), "{m}");
        }
        for m in [2, 3, 5, 7, 17, 65537, 5_000_011] {
            assert!(is_prime(m), "{m}");
        }
        assert_eq!(
            Maglev::build(&BASIC, 5_000_077).unwrap_err(),
            InvalidMaglev::TableSizeTooLarge {
                table_size: 5_000_077
            }
        );
    }

    /// maglev_lb_test.cc `NoHost`: no hosts build an empty table that picks nothing.
    #[test]
    fn no_hosts_pick_nothing() {
        let maglev = Maglev::build(&[], 7).unwrap();
        assert_eq!(maglev.pick(3, 0), None);
        assert_eq!(maglev.pick(3, 1), None);
        assert!(maglev.entry_counts().is_empty());
    }

    /// Envoy's Maglev docs: weights 1:2 at M = 65537 give 21846 and 43691 slots.
    #[test]
    fn docs_weights_one_to_two_at_default_size() {
        let maglev = Maglev::build(
            &[("127.0.0.1:90", 1), ("127.0.0.1:91", 2)],
            Maglev::DEFAULT_TABLE_SIZE,
        )
        .unwrap();
        assert_eq!(maglev.entry_counts(), &[21846, 43691]);
        let owned = table(&maglev).iter().filter(|&&h| h == 1).count();
        assert_eq!(owned, 43691);
    }

    /// Many hosts: every slot is owned, counts add up to M and stay balanced; host indices
    /// beyond 255 switch the table to 2-byte slots.
    #[test]
    fn large_tables_fill_every_slot_with_narrow_indices() {
        let keys: Vec<String> = (0..300)
            .map(|i| format!("10.0.{}.{}:8080", i / 256, i % 256))
            .collect();
        let hosts: Vec<(&str, u32)> = keys.iter().map(|k| (k.as_str(), 1)).collect();
        let maglev = Maglev::build(&hosts, 65537).unwrap();
        assert_eq!(maglev.bytes_per_slot(), 2);
        let total: u64 = maglev.entry_counts().iter().map(|&c| u64::from(c)).sum();
        assert_eq!(total, 65537);
        let stats = maglev.stats();
        assert!(stats.min_entries_per_host >= 218 && stats.max_entries_per_host <= 219);
        let small = Maglev::build(&hosts[..256], 65537).unwrap();
        assert_eq!(small.bytes_per_slot(), 1);
        // The size the memory budget predicts is the size built.
        for (n, built) in [(300, &maglev), (256, &small)] {
            assert_eq!(
                Maglev::bytes(n, 65537),
                built.bytes_per_slot() as u64 * 65537
            );
        }
        assert_eq!(Maglev::bytes(1, 65537), 0);
        assert_eq!(Maglev::bytes(70_000, Maglev::MAX_TABLE_SIZE), 4 * 5_000_011);
    }

    /// The example of the module documentation.
    #[test]
    fn example_weighted_table() {
        let hosts = [("127.0.0.1:90", 1), ("127.0.0.1:91", 2)];
        let maglev = Maglev::build(&hosts, 65537).unwrap();
        assert_eq!(maglev.entry_counts(), &[21846, 43691]);
        assert_eq!(
            maglev.pick(0xdead_beef, 0),
            maglev.pick(0xdead_beef % 65537, 0)
        );
    }
}
