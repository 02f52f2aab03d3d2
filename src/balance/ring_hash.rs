//! Ring hash (ketama), as Envoy's `RING_HASH` load balancer builds and searches it.
//!
//! Each host is placed on a 64-bit ring many times, at the hashes of `"<host key>_0"`,
//! `"<host key>_1"`, ... A request hash picks the first ring entry at or after it, wrapping
//! past the end to the first entry, so adding or removing a host only moves the requests whose
//! hashes land next to that host's entries. Weights scale the number of entries per host.
//!
//! Source: `source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.cc`
//! (`RingHashLoadBalancer::Ring::Ring` builds, `Ring::chooseHost` looks up) and
//! `source/extensions/load_balancing_policies/common/thread_aware_lb_impl.cc`
//! (`normalizeHostWeights`). The rules, in Envoy's words and operation order:
//!
//! 1. **Normalized weights** (no locality weighting): `w_i = weight_i * 1.0 / Σ weight` in
//!    `f64`, in host-set order; `min_w` starts at 1.0 and `max_w` at 0.0. A weight of 0 counts
//!    as 1 (Envoy's `HostDescriptionImpl::weight` clamps to at least 1); a total above
//!    `u32::MAX` is rejected.
//! 2. **Scale**: `scale = min(ceil(min_w * min_ring_size) / min_w, max_ring_size)`, so the
//!    lightest host gets a whole number of entries unless the ring is capped.
//! 3. **Entries**: running sums `cur` and `target` carried *across* hosts:
//!    `target += scale * w_i; while cur < target { push(hash("<key>_<i>"), host); i += 1;
//!    cur += 1.0 }`. With 4 equal hosts and scale 6 the hosts get 2, 1, 2, 1 entries, so the
//!    host order matters.
//! 4. **Sort** by hash. Envoy uses `std::sort`, which is not stable: the order of entries with
//!    *equal* hashes is whatever libstdc++'s introsort leaves. Here the sort is stable, so equal
//!    hashes keep construction order (host-set order, then `i`). Equal 64-bit hashes only
//!    happen when two hosts share a key (the same address listed twice); then Envoy may send
//!    that hash to either duplicate, meshroute to the first.
//! 5. **Lookup** (`chooseHost`): Envoy ports ketama's signed binary search; it is exactly
//!    `lower_bound` with wrap-around: the first entry whose hash is `>= h`, or entry 0 when `h`
//!    is above the last entry. A retry (`attempt > 0`) moves to `(index + attempt) % len`.

use super::hash::xxhash64;
use super::host_indices::{HostIndex, HostIndices, index_bytes};

/// A ring-hash configuration Envoy would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum InvalidRingHash {
    /// `minimum_ring_size` is above `maximum_ring_size` (Envoy's constructor message).
    #[error("ring hash: minimum_ring_size ({minimum}) > maximum_ring_size ({maximum})")]
    MinimumAboveMaximum {
        /// The configured minimum ring size.
        minimum: u64,
        /// The configured (or default) maximum ring size.
        maximum: u64,
    },
    /// A ring size above 8388608 (8M), the limit of Envoy's proto validation
    /// (`minimum_ring_size`/`maximum_ring_size` are `lte: 8388608`).
    #[error("ring hash: {field} ({value}) > 8388608; lower it to at most 8388608")]
    RingSizeTooLarge {
        /// `"minimum_ring_size"` or `"maximum_ring_size"`.
        field: &'static str,
        /// The configured value.
        value: u64,
    },
    /// The host weights add up to more than `u32::MAX` (Envoy's `normalizeHostWeights`).
    #[error("the sum of weights of all upstream hosts in a locality exceeds 4294967295")]
    WeightSumTooLarge,
}

/// Envoy's ring-hash gauges (`ring_hash_lb.size`, `.min_hashes_per_host`,
/// `.max_hashes_per_host`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RingHashStats {
    /// `ceil(scale)`: the ring size Envoy reports (the real entry count can differ by one
    /// through floating-point rounding of the running sums).
    pub(crate) size: u64,
    /// The fewest entries any host got.
    pub(crate) min_hashes_per_host: u64,
    /// The most entries any host got.
    pub(crate) max_hashes_per_host: u64,
}

/// A built ketama ring over a host list; [`RingHash::pick`] returns an index into that list.
///
/// Entries are stored as two parallel arrays, the hashes and the host indices in the narrowest
/// integer that holds them (9 bytes per entry for up to 256 hosts, 8 for one host, see
/// [`RingHash::bytes`]): the binary search only touches the hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RingHash {
    hashes: Vec<u64>,
    hosts: HostIndices,
    per_host: Vec<u32>,
    stats: RingHashStats,
    /// Where the search starts: `starts[b]` is the first entry whose hash's top
    /// [`RingHash::bits`] bits are `b` or more (one past the last, the entry count), so that a
    /// pick searches only the entries of its hash's bucket (about one for a ring of up to
    /// 4,096 entries). Empty for small rings, which are searched whole.
    starts: Box<[u32]>,
    /// The bits of a hash that pick its bucket in `starts`; 0 without `starts`.
    bits: u32,
}

impl RingHash {
    /// Envoy's default (and largest accepted) `maximum_ring_size`, 8M entries.
    pub(crate) const DEFAULT_MAX_RING_SIZE: u64 = 8 * 1024 * 1024;

    /// Bytes a ring of `entries` entries over `hosts` hosts keeps: a `u64` hash and a host index
    /// (see [`index_bytes`]) per entry. A ring at [`RingHash::DEFAULT_MAX_RING_SIZE`]
    /// over 2 hosts keeps 72 MiB, and takes a few KiB more while it is built.
    pub(crate) fn bytes(hosts: usize, entries: u64) -> u64 {
        entries.saturating_mul(8 + index_bytes(hosts))
    }

    /// Builds the ring for `hosts`, each `(hash key, weight)` in host-set order, the way
    /// Envoy's `Ring` constructor does (see the module docs).
    ///
    /// The hash key is what Envoy hashes: the `envoy.lb` `hash_key` metadata if set, else the
    /// address as `ip:port` (`127.0.0.1:90`, `[::1]:90`). No hosts give an empty ring whose
    /// picks are `None`.
    ///
    /// # Errors
    ///
    /// [`InvalidRingHash`] when a size is above 8388608, `min_ring_size > max_ring_size`, or the
    /// weights add up to more than `u32::MAX`.
    pub(crate) fn build(
        hosts: &[(&str, u32)],
        min_ring_size: u64,
        max_ring_size: u64,
    ) -> Result<RingHash, InvalidRingHash> {
        for (field, value) in [
            ("minimum_ring_size", min_ring_size),
            ("maximum_ring_size", max_ring_size),
        ] {
            if value > Self::DEFAULT_MAX_RING_SIZE {
                return Err(InvalidRingHash::RingSizeTooLarge { field, value });
            }
        }
        if min_ring_size > max_ring_size {
            return Err(InvalidRingHash::MinimumAboveMaximum {
                minimum: min_ring_size,
                maximum: max_ring_size,
            });
        }
        let weights = NormalizedWeights::new(hosts.iter().map(|&(_, weight)| weight))
            .ok_or(InvalidRingHash::WeightSumTooLarge)?;
        let mut ring = RingHash {
            hashes: Vec::new(),
            hosts: HostIndices::One(0),
            per_host: Vec::with_capacity(hosts.len()),
            stats: RingHashStats::default(),
            starts: Box::default(),
            bits: 0,
        };
        if hosts.is_empty() {
            return Ok(ring);
        }

        let RingScale {
            scale,
            size: ring_size,
            ..
        } = RingScale::new(&weights, min_ring_size, max_ring_size);

        // How many entries each host gets: Envoy's running sums, carried across hosts.
        let mut current = 0.0_f64;
        let mut target = 0.0_f64;
        let mut counts = Vec::with_capacity(hosts.len());
        for &w in &weights.values {
            target += scale * w;
            let mut count = 0_u64;
            while current < target {
                count += 1;
                current += 1.0;
            }
            counts.push(count);
        }
        ring.per_host = counts
            .iter()
            .map(|&count| u32::try_from(count).unwrap_or(u32::MAX))
            .collect();
        let (hashes, indices) = match hosts.len() {
            1 => {
                let (hashes, _) = sorted_entries::<()>(hosts, &counts);
                let len = hashes.len();
                (hashes, HostIndices::One(len))
            }
            n if n <= usize::from(u8::MAX) + 1 => {
                let (hashes, indices) = sorted_entries::<u8>(hosts, &counts);
                (hashes, HostIndices::U8(indices))
            }
            n if n <= usize::from(u16::MAX) + 1 => {
                let (hashes, indices) = sorted_entries::<u16>(hosts, &counts);
                (hashes, HostIndices::U16(indices))
            }
            _ => {
                let (hashes, indices) = sorted_entries::<u32>(hosts, &counts);
                (hashes, HostIndices::U32(indices))
            }
        };
        ring.hashes = hashes;
        ring.hosts = indices;
        (ring.starts, ring.bits) = bucket_starts(&ring.hashes);
        ring.stats = RingHashStats {
            size: ring_size,
            // Envoy starts the minimum at the ring size.
            min_hashes_per_host: counts.iter().copied().fold(ring_size, u64::min),
            max_hashes_per_host: counts.iter().copied().fold(0, u64::max),
        };
        Ok(ring)
    }

    /// The host (index into the list given to [`RingHash::build`]) for `hash`, or `None` when
    /// the ring is empty.
    ///
    /// `attempt` is the host-selection retry (Envoy's retry host predicate): attempt `n > 0`
    /// takes the entry `n` places after the first choice, wrapping. It may be the same host.
    /// Allocates nothing.
    pub(crate) fn pick(&self, hash: u64, attempt: u32) -> Option<usize> {
        let len = self.hashes.len();
        if len == 0 {
            return None;
        }
        // Envoy's `RingHashLoadBalancer::Ring::chooseHost` (ring_hash_lb.cc): the first entry
        // at or above `hash`, wrapping to the first (a lower bound), searched over the entries
        // of the hash's bucket only: every entry of an earlier bucket is below `hash`, every entry of a
        // later one above it.
        let (low, high) = match self.bits {
            0 => (0, len),
            bits => {
                let bucket = usize::try_from(hash >> (64 - bits)).ok()?;
                let low = *self.starts.get(bucket)? as usize;
                let high = *self.starts.get(bucket + 1)? as usize;
                (low, high)
            }
        };
        let mut index = low
            + self
                .hashes
                .get(low..high)?
                .partition_point(|&entry| entry < hash);
        if index == len {
            index = 0;
        }
        if attempt > 0 {
            // `len` is non-zero (checked above).
            index = index
                .checked_add(usize::try_from(attempt).ok()?)?
                .checked_rem(len)?;
        }
        self.hosts.get(index)
    }

    /// A ring of `hashes` (sorted) for `hosts`, as [`RingHash::build`] leaves it; for tests
    /// that build rings by hand.
    #[cfg(test)]
    fn from_sorted(hashes: Vec<u64>, hosts: Vec<u32>) -> RingHash {
        let (starts, bits) = bucket_starts(&hashes);
        RingHash {
            per_host: vec![1; hosts.len()],
            hosts: HostIndices::U32(hosts),
            hashes,
            stats: RingHashStats::default(),
            starts,
            bits,
        }
    }

    /// The number of ring entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the ring has no entries (no hosts, or `minimum_ring_size` 0).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The ring entries in ring order: `(hash, host index)`.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> impl ExactSizeIterator<Item = (u64, usize)> + '_ {
        self.hashes
            .iter()
            .enumerate()
            .map(|(at, &hash)| (hash, self.hosts.get(at).unwrap_or(usize::MAX)))
    }

    /// How many entries each host got, indexed like the host list.
    #[cfg(test)]
    pub(crate) fn hashes_per_host(&self) -> &[u32] {
        &self.per_host
    }

    /// Envoy's ring-hash gauges for this ring.
    #[cfg(test)]
    pub(crate) fn stats(&self) -> RingHashStats {
        self.stats
    }
}

/// How big Envoy makes a ring before it builds it: `scale = min(ceil(min_w * min_ring_size) /
/// min_w, max_ring_size)` (`Ring::Ring` in `ring_hash_lb.cc`). The one place this formula lives:
/// [`RingHash::build`] uses it, and so do the compile-time memory budget and lint MR005, which
/// need the size without building the ring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RingScale {
    /// The scale the entries are placed with (`scale` above).
    pub(crate) scale: f64,
    /// `ceil(min_w * min_ring_size) / min_w`: the size the weights ask for, before the cap.
    pub(crate) wanted: f64,
    /// `ceil(scale)`: Envoy's `ring_hash_lb.size` gauge, the number of entries built (up to
    /// one off through rounding of the running sums).
    pub(crate) size: u64,
}

impl RingScale {
    /// The scale for `weights` (non-empty) with these sizes (each at most 8388608).
    pub(crate) fn new(weights: &NormalizedWeights, min_ring_size: u64, max_ring_size: u64) -> Self {
        let min_w = weights.min;
        let wanted = (min_w * min_ring_size as f64).ceil() / min_w;
        let cap = max_ring_size as f64;
        // `std::min(a, b)` is `b < a ? b : a`.
        let scale = if cap < wanted { cap } else { wanted };
        // At most `max_ring_size` (8388608), so the conversion is exact; NaN (no weights)
        // converts to 0.
        let size = scale.ceil() as u64;
        Self {
            scale,
            wanted,
            size,
        }
    }

    /// Whether `maximum_ring_size` cut the ring down: the lightest host gets fewer than
    /// `minimum_ring_size * min_w` entries and the weights are no longer kept exactly.
    pub(crate) fn capped(&self) -> bool {
        self.scale < self.wanted
    }

    /// For endpoints of `weights` (in host-set order, 0 counting as 1): the ring's scale, or
    /// `None` for no endpoints, weights adding up to more than `u32::MAX`, or a size above
    /// 8388608 (all cases in which no ring is built).
    pub(crate) fn of(
        weights: impl ExactSizeIterator<Item = u32> + Clone,
        min_ring_size: u64,
        max_ring_size: u64,
    ) -> Option<Self> {
        if weights.len() == 0
            || min_ring_size > max_ring_size
            || max_ring_size > RingHash::DEFAULT_MAX_RING_SIZE
        {
            return None;
        }
        let weights = NormalizedWeights::new(weights)?;
        Some(Self::new(&weights, min_ring_size, max_ring_size))
    }
}

/// Envoy's normalized host weights without locality weighting (`normalizeHostWeights` with
/// `normalized_locality_weight = 1.0`): `weight * 1.0 / sum`, with the running `min` (from 1.0)
/// and `max` (from 0.0). Shared by ring hash and Maglev.
#[derive(Debug, Clone)]
pub(crate) struct NormalizedWeights {
    pub(crate) values: Vec<f64>,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl NormalizedWeights {
    /// `None` when the weights (each at least 1) add up to more than `u32::MAX`.
    pub(crate) fn new(weights: impl ExactSizeIterator<Item = u32> + Clone) -> Option<Self> {
        let mut sum = 0_u64;
        for weight in weights.clone() {
            sum += u64::from(weight.max(1));
            if sum > u64::from(u32::MAX) {
                return None;
            }
        }
        let mut normalized = NormalizedWeights {
            values: Vec::with_capacity(weights.len()),
            min: 1.0,
            max: 0.0,
        };
        for weight in weights {
            let w = f64::from(weight.max(1)) * 1.0 / sum as f64;
            normalized.values.push(w);
            // `std::min`/`std::max` keep the first argument on ties; NaN cannot occur.
            if w < normalized.min {
                normalized.min = w;
            }
            if normalized.max < w {
                normalized.max = w;
            }
        }
        Some(normalized)
    }
}

/// Calls `visit(host, hash)` for each ring entry in Envoy's construction order: host by host,
/// `counts[host]` entries each, hashing `"<key>_0"`, `"<key>_1"`, ...
fn for_each_entry(hosts: &[(&str, u32)], counts: &[u64], mut visit: impl FnMut(u32, u64)) {
    let mut key = Vec::new();
    for ((host, &(host_key, _)), &count) in (0_u32..).zip(hosts).zip(counts) {
        key.clear();
        key.extend_from_slice(host_key.as_bytes());
        key.push(b'_');
        let prefix = key.len();
        for i in 0..count {
            key.truncate(prefix);
            push_decimal(&mut key, i);
            visit(host, xxhash64(&key, 0));
        }
    }
}

/// Appends `n` in decimal, as `format!("{n}")` writes it: the digits pushed from the last,
/// then turned around (a copy from a digit buffer went through `memcpy`, and cost more than
/// the hash).
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let start = out.len();
    loop {
        // A digit, below 10.
        out.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if let Some(digits) = out.get_mut(start..) {
        digits.reverse();
    }
}

/// The ring's entries for hosts getting `counts` entries each, sorted by hash and, for equal
/// hashes, by host (construction order; the order of Envoy's `std::sort` on them is
/// unspecified, see the module docs): the hashes, and the host index of each.
///
/// Made in place: the hashes and the host indices are the ring's two arrays from the start,
/// sorted together by [`sort_entries`], so that the build takes the ring's own memory and a
/// few KiB (6 KiB of stack per radix level, at most 8 levels). A `Vec<(u64, u32)>` sorted and
/// then split took 16 bytes an entry, and 4 more while split: at Envoy's maximum of 8388608
/// entries over two hosts, 160 MiB at the peak for a ring of 72 MiB.
fn sorted_entries<T: HostIndex>(hosts: &[(&str, u32)], counts: &[u64]) -> (Vec<u64>, Vec<T>) {
    let total = usize::try_from(counts.iter().sum::<u64>()).unwrap_or(0);
    let mut hashes = Vec::with_capacity(total);
    let mut indices = Vec::with_capacity(total);
    for_each_entry(hosts, counts, |host, hash| {
        hashes.push(hash);
        indices.push(T::of(host));
    });
    sort_entries(&mut hashes, &mut indices, 56, &mut Vec::new());
    (hashes, indices)
}

/// Ranges of at most this many entries are sorted by comparison.
const RADIX_SORTED_FROM: usize = 256;

/// Sorts `hashes` and `indices` (as long) together by `(hash, index)`, where the hashes agree
/// above bit `shift + 8`: an in-place most-significant-digit radix sort on the byte at `shift`
/// (each entry swapped straight into its byte's range; 256 write positions, so the swaps stay
/// in cache), then each byte's range by the next byte, down to ranges of
/// [`RADIX_SORTED_FROM`] entries, sorted by comparison in `scratch`.
fn sort_entries<T: HostIndex>(
    hashes: &mut [u64],
    indices: &mut [T],
    shift: u32,
    scratch: &mut Vec<(u64, T)>,
) {
    if hashes.len() <= RADIX_SORTED_FROM || shift == 0 {
        scratch.clear();
        scratch.extend(hashes.iter().copied().zip(indices.iter().copied()));
        scratch.sort_unstable();
        for ((hash, index), &(sorted, host)) in hashes
            .iter_mut()
            .zip(indices.iter_mut())
            .zip(scratch.iter())
        {
            *hash = sorted;
            *index = host;
        }
        return;
    }
    let digit = |hash: u64| (hash >> shift) as usize & 0xff;
    let mut counts = [0_usize; 256];
    for &hash in hashes.iter() {
        if let Some(count) = counts.get_mut(digit(hash)) {
            *count += 1;
        }
    }
    // `heads[d]`: where the next entry of byte `d` goes; `ends[d]`: where byte `d`'s range ends.
    let mut heads = [0_usize; 256];
    let mut ends = [0_usize; 256];
    let mut at = 0;
    for ((count, head), end) in counts.iter().zip(&mut heads).zip(&mut ends) {
        *head = at;
        at += count;
        *end = at;
    }
    for (d, &end) in ends.iter().enumerate() {
        while let Some(head) = heads.get(d).copied().filter(|&head| head < end) {
            let Some(belongs) = hashes.get(head).map(|&hash| digit(hash)) else {
                break;
            };
            let Some(to) = heads.get_mut(belongs) else {
                break;
            };
            if belongs != d {
                // The entry goes to its byte's range; whatever was there comes here next.
                hashes.swap(head, *to);
                indices.swap(head, *to);
            }
            *to += 1;
        }
    }
    let mut start = 0;
    for &end in &ends {
        if let (Some(hashes), Some(indices)) =
            (hashes.get_mut(start..end), indices.get_mut(start..end))
        {
            if hashes.len() > 1 {
                sort_entries(hashes, indices, shift.saturating_sub(8), scratch);
            }
        }
        start = end;
    }
}

/// Fewer entries than this are searched whole.
const BUCKETED_FROM: usize = 16;
/// At most 2^12 buckets: 16 KiB of `starts` however large the ring.
const MAX_BUCKET_BITS: u32 = 12;

/// The search starts of sorted `hashes` (see `RingHash::starts`) and the bits that pick a
/// bucket: as many buckets as entries, rounded down to a power of two, at most 2^12.
fn bucket_starts(hashes: &[u64]) -> (Box<[u32]>, u32) {
    let len = hashes.len();
    if len < BUCKETED_FROM || u32::try_from(len).is_err() {
        return (Box::default(), 0);
    }
    let bits = len.ilog2().min(MAX_BUCKET_BITS);
    let shift = 64 - bits;
    let mut starts = Vec::with_capacity((1 << bits) + 1);
    let mut entries = hashes.iter().map(|hash| hash >> shift).peekable();
    let mut at = 0_u32;
    for bucket in 0..(1_u64 << bits) {
        while entries.next_if(|&top| top < bucket).is_some() {
            at += 1;
        }
        starts.push(at);
    }
    starts.push(u32::try_from(len).unwrap_or(u32::MAX));
    (starts.into_boxed_slice(), bits)
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

    fn basic() -> RingHash {
        RingHash::build(&BASIC, 12, RingHash::DEFAULT_MAX_RING_SIZE).unwrap()
    }

    /// Envoy's `Ring::chooseHost`, line by line (ketama's signed binary search).
    fn ketama(hashes: &[u64], h: u64) -> usize {
        let size = hashes.len() as i64;
        let (mut lowp, mut highp) = (0_i64, size);
        loop {
            let midp = (lowp + highp) / 2;
            if midp == size {
                return 0;
            }
            let midval = hashes[midp as usize];
            let midval1 = if midp == 0 {
                0
            } else {
                hashes[midp as usize - 1]
            };
            if h <= midval && h > midval1 {
                return midp as usize;
            }
            if midval < h {
                lowp = midp + 1;
            } else {
                highp = midp - 1;
            }
            if lowp > highp {
                return 0;
            }
        }
    }

    /// `test/extensions/load_balancing_policies/ring_hash/ring_hash_lb_test.cc` `Basic`: the 12
    /// sorted entries of 6 hosts at minimum_ring_size 12.
    #[test]
    fn basic_ring_has_envoys_sorted_entries() {
        let ring = basic();
        let expected: [(u64, u16); 12] = [
            (833437586790550860, 94),
            (928266305478181108, 92),
            (1033482794131418490, 90),
            (3551244743356806947, 95),
            (3851675632748031481, 93),
            (5583722120771150861, 91),
            (6311230543546372928, 91),
            (7700377290971790572, 93),
            (13144177310400110813, 95),
            (13444792449719432967, 92),
            (15516499411664133160, 94),
            (16117243373044804889, 90),
        ];
        let got: Vec<(u64, u16)> = ring
            .entries()
            .map(|(hash, host)| (hash, 90 + host as u16))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(ring.len(), 12);
        assert_eq!(ring.hashes_per_host(), &[2, 2, 2, 2, 2, 2]);
        assert_eq!(
            ring.stats(),
            RingHashStats {
                size: 12,
                min_hashes_per_host: 2,
                max_hashes_per_host: 2
            }
        );
    }

    /// ring_hash_lb_test.cc `Basic`: lookups pick the first entry at or after the hash and
    /// wrap past the last entry.
    #[test]
    fn lookup_is_lower_bound_with_wrap() {
        let ring = basic();
        assert_eq!(ring.pick(0, 0), Some(4));
        assert_eq!(ring.pick(u64::MAX, 0), Some(4));
        assert_eq!(ring.pick(3551244743356806947, 0), Some(5));
        assert_eq!(ring.pick(3551244743356806948, 0), Some(3));
        // `random()` returning this value with no hash context.
        assert_eq!(ring.pick(16117243373044804880, 0), Some(0));
        assert_eq!(ring.pick(16117243373044804889, 0), Some(0));
        assert_eq!(ring.pick(16117243373044804890, 0), Some(4));
    }

    /// ring_hash_lb_test.cc `BasicWithRetryHostPredicate`: attempt n takes the entry n places
    /// further, wrapping; attempt 13 on a 12-entry ring is one place further.
    #[test]
    fn retry_attempt_moves_along_the_ring() {
        let ring = basic();
        assert_eq!(ring.pick(0, 0), Some(4));
        assert_eq!(ring.pick(0, 1), Some(2));
        assert_eq!(ring.pick(0, 2), Some(0));
        assert_eq!(ring.pick(0, 13), Some(2));
        assert_eq!(ring.pick(0, 12), Some(4));
        assert_eq!(ring.pick(0, u32::MAX), ring.pick(0, u32::MAX % 12));
    }

    /// The binary search equals Envoy's ketama loop on random hashes, including rings with
    /// duplicate hashes, tiny rings, rings searched by bucket (16 entries and more: one bucket
    /// per entry up to 4,096, several above), and hashes crowded into the low buckets (the
    /// top three bits zero) with probes everywhere.
    #[test]
    fn lookup_equals_envoys_ketama_search() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (size, crowd) in [1_usize, 2, 3, 5, 12, 15, 16, 17, 64, 1024, 5000]
            .into_iter()
            .flat_map(|size| [(size, 3), (size, 0)])
        {
            for dup in [false, true] {
                let mut hashes: Vec<u64> = (0..size).map(|_| next() >> crowd).collect();
                if dup && size > 1 {
                    hashes[1] = hashes[0];
                }
                hashes.sort_unstable();
                let ring = RingHash::from_sorted(hashes.clone(), (0..size as u32).collect());
                let mut probes: Vec<u64> = (0..2000).map(|_| next()).collect();
                probes.extend(hashes.iter().flat_map(|&h| [h, h.wrapping_sub(1), h + 1]));
                probes.extend([0, u64::MAX]);
                for h in probes {
                    let ours = ring.pick(h, 0).unwrap();
                    let envoy = ketama(&hashes, h);
                    // With duplicate hashes the host differs only if the hashes differ.
                    assert_eq!(hashes[ours], hashes[envoy], "h={h} size={size}");
                    assert_eq!(ours, envoy, "h={h} size={size}");
                }
            }
        }
    }

    /// ring_hash_lb_test.cc `SmallFractionalScale`: running sums carry fractions across hosts
    /// (4 equal hosts, ring of 2: entries 1, 0, 1, 0).
    #[test]
    fn fractional_scale_carries_across_hosts() {
        let hosts = [("a:1", 1), ("b:1", 1), ("c:1", 1), ("d:1", 1)];
        let ring = RingHash::build(&hosts, 2, 2).unwrap();
        assert_eq!(ring.hashes_per_host(), &[1, 0, 1, 0]);
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.stats().size, 2);
        assert_eq!(ring.stats().min_hashes_per_host, 0);
        assert_eq!(ring.stats().max_hashes_per_host, 1);
        let six = RingHash::build(&hosts, 6, 6).unwrap();
        assert_eq!(six.hashes_per_host(), &[2, 1, 2, 1]);
    }

    /// ring_hash_lb_test.cc `UnevenHosts`-style weighting: a host of weight 2 gets twice the
    /// entries of a host of weight 1; the lightest host gets `ceil(min_w * min_ring_size)`
    /// entries (`ceil(1024 / 3)` = 342), not `min_ring_size`.
    #[test]
    fn weight_scales_entries_per_host() {
        let hosts = [("127.0.0.1:90", 1), ("127.0.0.1:91", 2)];
        let ring = RingHash::build(&hosts, 1024, RingHash::DEFAULT_MAX_RING_SIZE).unwrap();
        assert_eq!(ring.hashes_per_host(), &[342, 684]);
        assert_eq!(ring.len(), 1026);
        assert_eq!(ring.stats().size, 1026);
        assert!(ring.entries().map(|(h, _)| h).is_sorted());
        let picks = (0..3000_u64)
            .filter(|i| ring.pick(i.wrapping_mul(0x9e37_79b9_7f4a_7c15), 0) == Some(1))
            .count();
        assert!((1800..2200).contains(&picks), "{picks}");
    }

    /// The cap wins over the minimum-derived scale: `scale = min(..., max_ring_size)`.
    #[test]
    fn maximum_ring_size_caps_the_ring() {
        let hosts = [("127.0.0.1:90", 1), ("127.0.0.1:91", 1000)];
        // ceil(1000 / 1001) / (1 / 1001) = 1001 > 1000: capped at scale 1000. The running
        // target ends at 1000.0000000000001 in f64, so Envoy's loop (and this one) makes 1001
        // entries while the `size` gauge says 1000.
        let ring = RingHash::build(&hosts, 1000, 1000).unwrap();
        assert_eq!(ring.hashes_per_host(), &[1, 1000]);
        assert_eq!(ring.len(), 1001);
        assert_eq!(ring.stats().size, 1000);
        let scale = 1000.0_f64;
        assert!(scale * (1.0 / 1001.0) + scale * (1000.0 / 1001.0) > 1000.0);
        let uncapped = RingHash::build(&hosts, 1000, 2000).unwrap();
        assert_eq!(uncapped.hashes_per_host(), &[1, 1000]);
        assert_eq!(uncapped.stats().size, 1001);
    }

    /// `RingScale::of` predicts the ring `build` makes, without building it; weights 1 and
    /// 4294967294 ask for 2^32 - 1 entries and get Envoy's cap of 8388608.
    #[test]
    fn ring_scale_predicts_the_built_ring() {
        let hosts = [("127.0.0.1:90", 1), ("127.0.0.1:91", 2)];
        let scale = RingScale::of([1, 2].into_iter(), 1024, RingHash::DEFAULT_MAX_RING_SIZE);
        let ring = RingHash::build(&hosts, 1024, RingHash::DEFAULT_MAX_RING_SIZE).unwrap();
        assert_eq!(scale.map(|s| s.size), Some(ring.stats().size));
        assert!(!scale.is_some_and(|s| s.capped()));
        let capped = RingScale::of([1, 1000].into_iter(), 1000, 1000).unwrap();
        assert!(capped.capped());
        assert_eq!(capped.size, 1000);
        let hostile = RingScale::of(
            [1, u32::MAX - 1].into_iter(),
            1024,
            RingHash::DEFAULT_MAX_RING_SIZE,
        )
        .unwrap();
        assert!(hostile.capped());
        assert_eq!(hostile.size, RingHash::DEFAULT_MAX_RING_SIZE);
        assert_eq!(hostile.wanted, f64::from(u32::MAX));
        assert_eq!(RingScale::of([].into_iter(), 1024, 2048), None);
        assert_eq!(RingScale::of([u32::MAX, 1].into_iter(), 1024, 2048), None);
        assert_eq!(RingScale::of([1].into_iter(), 2049, 2048), None);
    }

    /// No hosts (or a zero minimum) give an empty ring whose picks are `None`.
    #[test]
    fn empty_ring_picks_nothing() {
        let ring = RingHash::build(&[], 1024, 2048).unwrap();
        assert!(ring.is_empty());
        assert_eq!(ring.pick(42, 0), None);
        assert_eq!(ring.pick(42, 3), None);
        let zero = RingHash::build(&BASIC, 0, 2048).unwrap();
        assert!(zero.is_empty());
        assert_eq!(zero.pick(42, 0), None);
    }

    /// ring_hash_lb_test.cc `MinRingSizeGreaterThanMax`-style config errors use Envoy's message.
    #[test]
    fn minimum_above_maximum_is_rejected_with_envoys_message() {
        let err = RingHash::build(&BASIC, 1025, 1024).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ring hash: minimum_ring_size (1025) > maximum_ring_size (1024)"
        );
        let too_big = RingHash::build(&BASIC, 1024, 8388609).unwrap_err();
        assert_eq!(
            too_big,
            InvalidRingHash::RingSizeTooLarge {
                field: "maximum_ring_size",
                value: 8388609
            }
        );
    }

    /// Zero weights count as 1; weights adding up past `u32::MAX` are rejected.
    #[test]
    fn weights_are_clamped_and_bounded() {
        let zero = RingHash::build(&[("a:1", 0), ("b:1", 1)], 4, 4).unwrap();
        assert_eq!(zero.hashes_per_host(), &[2, 2]);
        let err = RingHash::build(&[("a:1", u32::MAX), ("b:1", 1)], 4, 4).unwrap_err();
        assert_eq!(err, InvalidRingHash::WeightSumTooLarge);
    }

    /// The ring as Envoy's constructor makes it, spelled out: every entry formatted, hashed and
    /// kept as `(hash, host)`, then sorted (equal hashes in host order).
    fn reference_entries(hosts: &[(&str, u32)], counts: &[u32]) -> Vec<(u64, usize)> {
        let mut entries = Vec::new();
        for (host, (&(key, _), &count)) in hosts.iter().zip(counts).enumerate() {
            for i in 0..count {
                entries.push((xxhash64(format!("{key}_{i}").as_bytes(), 0), host));
            }
        }
        entries.sort_unstable();
        entries
    }

    /// The in-place radix sort (small ranges by comparison) and the narrow host indices give
    /// the entries of the plain build (format, hash, sort): one host to 70,000 (host indices of
    /// 0, 1, 2 and 4 bytes), rings below and above the radix threshold, unequal weights, and a
    /// host listed twice (equal hashes: the first listed comes first).
    #[test]
    fn build_equals_the_plain_build() {
        let addresses: Vec<String> = (0..70_000)
            .map(|i| format!("10.{}.{}.{}:8080", i / 65536, i / 256 % 256, i % 256))
            .collect();
        let cases: [(usize, u64, &[u32]); 9] = [
            (1, 1024, &[1]),
            (1, 5, &[7]),
            (2, 8, &[1, 3]),
            (3, 60, &[1, 1, 1]),
            (6, 5000, &[1, 2, 3, 4, 5, 6]),
            (2, 100_000, &[1, 1_000_000]),
            (300, 4096, &[1]),
            (300, 1024, &[2, 1, 7]),
            (70_000, 70_000, &[1]),
        ];
        for (count, minimum, weights) in cases {
            let mut hosts: Vec<(&str, u32)> = addresses
                .iter()
                .take(count)
                .zip(weights.iter().cycle())
                .map(|(address, &weight)| (address.as_str(), weight))
                .collect();
            for duplicate in [false, true] {
                if duplicate {
                    if count < 2 {
                        continue;
                    }
                    hosts[count - 1].0 = hosts[0].0;
                }
                let ring =
                    RingHash::build(&hosts, minimum, RingHash::DEFAULT_MAX_RING_SIZE).unwrap();
                let expected = reference_entries(&hosts, ring.hashes_per_host());
                assert_eq!(
                    ring.len(),
                    expected.len(),
                    "{count} hosts, minimum {minimum}"
                );
                assert!(
                    ring.entries().eq(expected.iter().copied()),
                    "{count} hosts, minimum {minimum}, duplicate {duplicate}"
                );
                // The budget's figure is what the ring stores.
                assert_eq!(
                    RingHash::bytes(count, ring.len() as u64),
                    ring.len() as u64 * (8 + ring.hosts.bytes_per_index())
                );
            }
        }
    }

    #[test]
    fn push_decimal_writes_what_format_writes() {
        for n in [0, 7, 9, 10, 99, 100, 12345, u64::from(u32::MAX), u64::MAX] {
            let mut out = b"key_".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("key_{n}").into_bytes());
        }
    }

    /// The example of the module documentation.
    #[test]
    fn example_ring() {
        let hosts = [
            ("127.0.0.1:90", 1),
            ("127.0.0.1:91", 1),
            ("127.0.0.1:92", 1),
        ];
        let ring = RingHash::build(&hosts, 1024, RingHash::DEFAULT_MAX_RING_SIZE).unwrap();
        assert_eq!(ring.len(), 1026); // ceil(1024 / 3) = 342 entries per host
        let host = ring.pick(0x1234_5678_9abc_def0, 0);
        assert!(host.is_some_and(|h| h < hosts.len()));
    }
}
