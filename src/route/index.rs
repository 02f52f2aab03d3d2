//! An index over a large route table: which entries can match a request at all.
//!
//! Envoy evaluates a virtual host's routes in order and takes the first that matches; so does
//! meshroute. With many routes most of them fail on one condition alone, so a table of at least
//! [`RouteIndex::MIN_ENTRIES`] entries is indexed at compile time, each entry under one
//! condition every match of it needs (its key):
//!
//! - an exact path, or a path prefix longer than `/` (or the literal text a path regex must
//!   start with), in one path table ([`PathTable`]);
//! - else an exact header value (not inverted), in a hash map per header name;
//! - else an exact query parameter value, in a hash map per parameter;
//! - else the prefix `/`;
//! - every other entry (no such condition, `ignoreUriCase` on the path) in a list of its own.
//!
//! The path table holds the exact paths and the prefixes of the most common lengths in one
//! open-addressing table of 64-bit hashes. A request's path is hashed once, eight bytes at a
//! time: the hash of its first `n` bytes, for each indexed prefix length `n` up to the path's
//! length, and of the whole path continue from the same running state, so each probe costs a
//! few instructions and a miss (almost always an empty bucket or a fingerprint mismatch) reads
//! no key. A hit compares the key's bytes with the path's, so a hash collision never makes a
//! candidate of an entry whose key does not hold. The probe sequences are fixed when the table
//! is built from the configuration; a request's path only picks which ones it reads.
//!
//! An entry whose only request condition is its exact path or prefix is known to match once the
//! table finds its key (the same byte comparison): the evaluator skips its conditions' check.
//!
//! A request's candidates are the entries under its path, its prefixes of indexed lengths, its
//! values of the indexed headers and parameters, and the others; the answer is the
//! lowest-positioned candidate whose remaining conditions hold, which is exactly the entry the
//! in-order scan finds (`tests/route/props.rs` checks it against `explain`, which scans in
//! order). A request repeating an indexed header is matched against the joined values by
//! Envoy; it is scanned instead.

use rustc_hash::FxHashMap;

use http::HeaderName;

use super::matcher::{MatchRequest, MatchString, RequestView};
use crate::util::query::QueryKey;

/// Positions (into the entry list) by path or prefix, ascending.
type Positions = FxHashMap<Box<str>, List>;

/// The positions of one key, ascending. Most keys of a large table have one entry: kept inline,
/// without an allocation of its own.
#[derive(Debug)]
enum List {
    One([u32; 1]),
    Many(Vec<u32>),
}

impl List {
    fn as_slice(&self) -> &[u32] {
        match self {
            List::One(one) => one,
            List::Many(many) => many,
        }
    }
}

/// Adds `position` (after every position already there) under `key`.
fn add(map: &mut Positions, key: &str, position: u32) {
    match map.get_mut(key) {
        Some(list) => match list {
            List::One([first]) => *list = List::Many(vec![*first, position]),
            List::Many(many) => many.push(position),
        },
        None => {
            map.insert(key.into(), List::One([position]));
        }
    }
}

/// The path index of one entry list (positions into it, ascending in each list).
#[derive(Debug, Default)]
pub(crate) struct RouteIndex {
    /// Exact paths and prefixes of the indexed lengths → positions.
    paths: PathTable,
    /// Header name → exact value → positions.
    headers: Vec<(HeaderName, Positions)>,
    /// Query parameter → exact value → positions.
    queries: Vec<(QueryKey, Positions)>,
    /// Entries no key rules out.
    others: Vec<u32>,
    /// No entry has a selector decided per caller (port, source labels or namespace): every
    /// caller sees every entry, so when no candidate matches, the scan would end on the last
    /// entry's VirtualService.
    all_static: bool,
}

/// The condition an entry is indexed under.
enum Key<'a> {
    Exact(&'a str),
    Prefix(&'a str),
    Header(&'a HeaderName, &'a str),
    Query(&'a QueryKey, &'a str),
    Other,
}

impl RouteIndex {
    /// Tables shorter than this are scanned: the scan is cheaper than the lookups. Measured
    /// (`benches/route.rs`, both ways in one run): the scan grows 2.7–6.6 ns an entry while
    /// the index costs the same at any size, so they cross at about 6 entries; at 8 the index
    /// takes 0.87–0.91× the scan's time, at 4 the scan 0.84–0.90× the index's (a miss is
    /// quicker through the index from 4 entries on).
    pub(crate) const MIN_ENTRIES: usize = 8;

    /// At most this many distinct prefix lengths are indexed (one hash probe each per request);
    /// prefixes of other lengths go with the unindexed entries.
    const MAX_PREFIX_LENGTHS: usize = 24;

    /// At most this many header names and query parameters each are indexed.
    const MAX_KEYS: usize = 8;

    /// The index of a table whose entries, in order, stand for `matches`: each entry's
    /// request conditions and whether it has a selector decided per caller (`None`: a route
    /// without matches). `None` when the table is small or its keys rule out too little to be
    /// worth it.
    pub(crate) fn build(matches: &[Option<(&MatchRequest, bool)>]) -> Option<Self> {
        if matches.len() < Self::MIN_ENTRIES {
            return None;
        }
        let keys: Vec<Key<'_>> = matches
            .iter()
            .map(|m| m.map_or(Key::Other, |(request, _)| key(request)))
            .collect();
        let all_static = matches
            .iter()
            .all(|m| m.is_none_or(|(_, selectors)| !selectors));
        // The prefix lengths worth a probe: the most common ones.
        let mut lengths: FxHashMap<usize, usize> = FxHashMap::default();
        for key in &keys {
            if let Key::Prefix(p) = key {
                *lengths.entry(p.len()).or_default() += 1;
            }
        }
        let mut by_count: Vec<(usize, usize)> = lengths.into_iter().collect();
        by_count.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        by_count.truncate(Self::MAX_PREFIX_LENGTHS);
        let mut index = Self {
            all_static,
            ..Self::default()
        };
        let mut lengths: Vec<usize> = by_count.into_iter().map(|(len, _)| len).collect();
        lengths.sort_unstable();
        let mut paths = PathTableBuilder::default();
        for (position, key) in keys.iter().enumerate() {
            let position = u32::try_from(position).ok()?;
            let unindexed = match key {
                Key::Exact(path) => {
                    paths.add(
                        true,
                        path,
                        position,
                        only_key(matches.get(position as usize)),
                    );
                    false
                }
                Key::Prefix(prefix) => {
                    if lengths.binary_search(&prefix.len()).is_ok() {
                        let proven = only_key(matches.get(position as usize));
                        paths.add(false, prefix, position, proven);
                        false
                    } else {
                        true
                    }
                }
                Key::Header(name, value) => {
                    let at = match index.headers.iter().position(|(n, _)| n == *name) {
                        Some(at) => Some(at),
                        None if index.headers.len() < Self::MAX_KEYS => {
                            index.headers.push(((*name).clone(), Positions::default()));
                            Some(index.headers.len() - 1)
                        }
                        None => None,
                    };
                    match at.and_then(|at| index.headers.get_mut(at)) {
                        Some((_, map)) => {
                            add(map, value, position);
                            false
                        }
                        None => true,
                    }
                }
                Key::Query(key, value) => {
                    let at = match index.queries.iter().position(|(k, _)| k == *key) {
                        Some(at) => Some(at),
                        None if index.queries.len() < Self::MAX_KEYS => {
                            index.queries.push(((*key).clone(), Positions::default()));
                            Some(index.queries.len() - 1)
                        }
                        None => None,
                    };
                    match at.and_then(|at| index.queries.get_mut(at)) {
                        Some((_, map)) => {
                            add(map, value, position);
                            false
                        }
                        None => true,
                    }
                }
                Key::Other => true,
            };
            if unindexed {
                index.others.push(position);
            }
        }
        index.paths = paths.finish(lengths)?;
        // Worth it only if the keys rule out a good share of the table.
        (index.others.len() * 2 <= matches.len()).then_some(index)
    }

    /// Whether no candidate matching means the scan's "no route" on the last entry's
    /// VirtualService, for every caller.
    pub(crate) fn all_static(&self) -> bool {
        self.all_static
    }

    /// Whether the index can answer for this request: not when it repeats an indexed header
    /// (Envoy matches the joined values; the scan does that).
    pub(crate) fn applies(&self, view: &RequestView<'_>) -> bool {
        self.headers
            .iter()
            .all(|(name, _)| view.headers.get_all(name).iter().nth(1).is_none())
    }

    /// Calls `visit` with each candidate list of a request: each ascending, together holding
    /// every entry whose key can hold for it; with `true` when the key is proven to hold and is
    /// every request condition of each entry in the list (an exact path or a path prefix, no
    /// other condition): the entry's conditions hold without a check. Allocates nothing.
    #[inline]
    pub(crate) fn candidates(&self, view: &RequestView<'_>, mut visit: impl FnMut(&[u32], bool)) {
        self.paths.candidates(view.path.as_bytes(), &mut visit);
        for (name, map) in &self.headers {
            // UTF-8 as the matchers read it (`to_str` is ASCII only: `é` would miss).
            let value = view
                .headers
                .get(name)
                .and_then(|v| std::str::from_utf8(v.as_bytes()).ok());
            if let Some(list) = value.and_then(|v| map.get(v)) {
                visit(list.as_slice(), false);
            }
        }
        for (key, map) in &self.queries {
            let value = key.first_value(view.query);
            if let Some(list) = value.and_then(|v| map.get(v)) {
                visit(list.as_slice(), false);
            }
        }
        if !self.others.is_empty() {
            visit(&self.others, false);
        }
    }
}

/// Whether an entry's only request condition is its path key, an exact path or a prefix
/// compared byte for byte (not `ignoreUriCase`, not a regex's literal start): when the path
/// table finds the key, the entry's [`MatchRequest::first_failure`] is `None`, since it makes
/// the same byte comparison (`MatchString::matches`).
fn only_key(m: Option<&Option<(&MatchRequest, bool)>>) -> bool {
    let Some(Some((request, _))) = m else {
        return false;
    };
    // Every field named: a new request condition must be considered here.
    let MatchRequest {
        uri,
        ignore_uri_case,
        method,
        scheme,
        authority,
        headers,
        pseudo,
        query,
    } = request;
    matches!(uri, Some(MatchString::Exact(_) | MatchString::Prefix(_)))
        && !ignore_uri_case
        && method.is_none()
        && scheme.is_none()
        && authority.is_none()
        && headers.is_empty()
        && pseudo.is_empty()
        && query.is_empty()
}

/// Exact paths and path prefixes (of the indexed lengths) → positions, in one open-addressing
/// table keyed by [`finish`]'s hash of the key's bytes, its length and its kind. Envoy compares
/// `path` and `prefix` byte for byte, case-sensitively (`ignoreUriCase` entries are not here):
/// so does a hit, after the hash.
#[derive(Debug, Default)]
struct PathTable {
    /// The indexed prefix lengths, ascending.
    lengths: Vec<usize>,
    /// Whether any key is an exact path.
    has_exact: bool,
    /// A power of two of buckets, at most a quarter of them full (a miss mostly reads one): 0
    /// when empty, else the key's hash's low 32 bits (a fingerprint) above its slot + 1.
    buckets: Box<[u64]>,
    /// A hash's top `64 - shift` bits are its first bucket.
    shift: u32,
    slots: Vec<Slot>,
    /// Every key's bytes, one after another.
    text: Box<[u8]>,
}

#[derive(Debug)]
struct Slot {
    /// The key: `text[start..end]`.
    start: u32,
    end: u32,
    exact: bool,
    /// The key is every request condition of each entry in `list`.
    proven: bool,
    list: List,
}

impl PathTable {
    /// Calls `visit` with the positions under each indexed prefix of `path` and under `path`
    /// itself (exact).
    #[inline]
    fn candidates(&self, path: &[u8], visit: &mut impl FnMut(&[u32], bool)) {
        if self.slots.is_empty() {
            return;
        }
        let head = head(path);
        // The running hash over the path's first `folded` bytes.
        let mut state = 0;
        let mut folded = 0;
        for &len in &self.lengths {
            // Lengths ascend: the rest are longer than the path.
            let Some(key) = path.get(..len) else {
                break;
            };
            while folded + 8 <= len {
                state = fold(state, word(path, folded));
                folded += 8;
            }
            if let Some(slot) = self.get(finish(state, head, path, len, false), key, false) {
                visit(slot.list.as_slice(), slot.proven);
            }
        }
        if self.has_exact {
            while folded + 8 <= path.len() {
                state = fold(state, word(path, folded));
                folded += 8;
            }
            if let Some(slot) = self.get(finish(state, head, path, path.len(), true), path, true) {
                visit(slot.list.as_slice(), slot.proven);
            }
        }
    }

    /// The positions under `key` (exact path or prefix) whose hash is `hash`. A miss mostly
    /// ends on the first bucket, empty: inlined, that costs a load and a branch.
    #[inline]
    fn get(&self, hash: u64, key: &[u8], exact: bool) -> Option<&Slot> {
        let at = usize::try_from(hash >> self.shift).ok()?;
        match self.buckets.get(at) {
            Some(0) | None => None,
            Some(_) => self.probe(at, hash, key, exact),
        }
    }

    /// [`PathTable::get`] from the bucket `at` on, the first bucket not empty.
    fn probe(&self, mut at: usize, hash: u64, key: &[u8], exact: bool) -> Option<&Slot> {
        let mask = self.buckets.len().wrapping_sub(1);
        let fingerprint = hash & 0xffff_ffff;
        // At most a quarter of the buckets are full: an empty one ends every probe sequence.
        for _ in 0..self.buckets.len() {
            let bucket = *self.buckets.get(at)?;
            if bucket == 0 {
                return None;
            }
            if bucket >> 32 == fingerprint {
                let slot = self
                    .slots
                    .get(usize::try_from((bucket & 0xffff_ffff) - 1).ok()?)?;
                let text = self.text.get(slot.start as usize..slot.end as usize)?;
                if slot.exact == exact && text == key {
                    return Some(slot);
                }
            }
            at = (at + 1) & mask;
        }
        None
    }
}

/// Collects a [`PathTable`]'s keys in order.
#[derive(Default)]
struct PathTableBuilder<'a> {
    keys: FxHashMap<(bool, &'a str), usize>,
    /// Exact, key, proven (see [`Slot`]), positions.
    slots: Vec<(bool, &'a str, bool, List)>,
}

impl<'a> PathTableBuilder<'a> {
    /// Adds `position` (after every position already there) under the exact path or prefix
    /// `key`; `proven`: the key is its entry's only request condition.
    fn add(&mut self, exact: bool, key: &'a str, position: u32, proven: bool) {
        match self
            .keys
            .get(&(exact, key))
            .and_then(|&at| self.slots.get_mut(at))
        {
            Some((_, _, all_proven, list)) => {
                *all_proven &= proven;
                match list {
                    List::One([first]) => *list = List::Many(vec![*first, position]),
                    List::Many(many) => many.push(position),
                }
            }
            None => {
                self.keys.insert((exact, key), self.slots.len());
                self.slots.push((exact, key, proven, List::One([position])));
            }
        }
    }

    /// The table of the keys added, probed at the prefix lengths `lengths` (ascending). `None`
    /// when the keys do not fit the table's 32-bit offsets.
    fn finish(self, lengths: Vec<usize>) -> Option<PathTable> {
        if self.slots.is_empty() {
            return Some(PathTable::default());
        }
        let buckets_len = (self.slots.len() * 4).next_power_of_two();
        let mut buckets = vec![0u64; buckets_len].into_boxed_slice();
        let shift = 64 - buckets_len.trailing_zeros();
        let mask = buckets_len - 1;
        let mut text = Vec::with_capacity(self.slots.iter().map(|(_, key, _, _)| key.len()).sum());
        let mut slots = Vec::with_capacity(self.slots.len());
        let mut has_exact = false;
        for (exact, key, proven, list) in self.slots {
            let bytes = key.as_bytes();
            let start = u32::try_from(text.len()).ok()?;
            text.extend_from_slice(bytes);
            let end = u32::try_from(text.len()).ok()?;
            let slot = u64::try_from(slots.len()).ok()?.checked_add(1)?;
            if slot > 0xffff_ffff {
                return None;
            }
            slots.push(Slot {
                start,
                end,
                exact,
                proven,
                list,
            });
            has_exact |= exact;
            let hash = hash(bytes, exact);
            let mut at = usize::try_from(hash >> shift).unwrap_or(0) & mask;
            // Most buckets are free: one comes.
            while let Some(bucket) = buckets.get_mut(at) {
                if *bucket == 0 {
                    *bucket = (hash << 32) | slot;
                    break;
                }
                at = (at + 1) & mask;
            }
        }
        Some(PathTable {
            lengths,
            has_exact,
            buckets,
            shift,
            slots,
            text: text.into_boxed_slice(),
        })
    }
}

/// FxHash's multiplier.
const K: u64 = 0xf135_7aea_2e62_a9c5;

/// Folds the 8 bytes `word` into the running state of a path hash.
fn fold(state: u64, word: u64) -> u64 {
    (state.rotate_left(26) ^ word).wrapping_mul(K)
}

/// The 8 bytes of `bytes` from `at`, little-endian; 0 past the end.
fn word(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at.wrapping_add(8))
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

/// The first 8 bytes of `bytes`, little-endian, zero-padded.
#[inline]
fn head(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let at = |i: usize| bytes.get(i).map_or(0, |&b| u64::from(b)) << (8 * i);
    let half = |i: usize| {
        bytes
            .get(i..i + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
            << (8 * i)
    };
    match n {
        0 => 0,
        // Three reads that may overlap: an overlapping byte is the same byte.
        1..=3 => at(0) | at(n / 2) | at(n - 1),
        4..=7 => half(0) | half(n - 4),
        _ => word(bytes, 0),
    }
}

/// The hash of `bytes[..len]` as an exact path or a prefix, from the running state over its
/// first `len / 8 * 8` bytes and `head`, the first 8 bytes ([`head`]). A function of those
/// `len` bytes, the length and the kind alone, whatever follows them.
#[inline]
fn finish(state: u64, head: u64, bytes: &[u8], len: usize, exact: bool) -> u64 {
    let rest = len % 8;
    let tail = if rest == 0 {
        0
    } else if len < 8 {
        // The first `rest` bytes.
        head & (u64::MAX >> (64 - 8 * rest))
    } else {
        // The 8 bytes that end at `len`, shifted down to the last `rest`.
        word(bytes, len - 8) >> (64 - 8 * rest)
    };
    let h = fold(state, tail) ^ ((len as u64) << 1 | u64::from(exact));
    // The top half folded into the bottom before a last multiplication: the top bits (the
    // bucket) and the low 32 (the fingerprint) depend on every bit.
    (h ^ (h >> 32)).wrapping_mul(K)
}

/// The hash of the whole key `bytes` (see [`finish`]).
fn hash(bytes: &[u8], exact: bool) -> u64 {
    let mut state = 0;
    let mut folded = 0;
    while folded + 8 <= bytes.len() {
        state = fold(state, word(bytes, folded));
        folded += 8;
    }
    finish(state, head(bytes), bytes, bytes.len(), exact)
}

/// The condition an entry with these request conditions is indexed under.
fn key(request: &MatchRequest) -> Key<'_> {
    let path = match &request.uri {
        Some(MatchString::Exact(path)) if !request.ignore_uri_case => Some(Key::Exact(path)),
        Some(MatchString::Prefix(prefix)) if !request.ignore_uri_case => Some(Key::Prefix(prefix)),
        // `ignoreUriCase` does not apply to regexes: their literal start is case-sensitive.
        Some(MatchString::Regex(regex)) if !regex.literal_prefix().is_empty() => {
            Some(Key::Prefix(regex.literal_prefix()))
        }
        _ => None,
    };
    let header = || {
        request.headers.iter().find_map(|h| match &h.matcher {
            MatchString::Exact(value) if !h.invert => Some(Key::Header(&h.name, value)),
            _ => None,
        })
    };
    let query = || {
        request.query.iter().find_map(|q| match &q.matcher {
            MatchString::Exact(value) => Some(Key::Query(&q.key, value)),
            _ => None,
        })
    };
    match path {
        // A prefix of one character (`/`) holds for every path: a header or parameter says more.
        Some(Key::Prefix(prefix)) if prefix.len() <= 1 => {
            header().or_else(query).unwrap_or(Key::Prefix(prefix))
        }
        Some(key) => key,
        None => header().or_else(query).unwrap_or(Key::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths of every length up to 40, ASCII and not (`é`, `ü`, a 4-byte `𝄞`).
    fn paths() -> Vec<String> {
        let ascii: String = (0..40).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let wide = "/é/ü/𝄞/api/v1/usérs/𝄞𝄞/0123456789abcdef";
        let mut paths: Vec<String> = (0..=40)
            .filter_map(|n| ascii.get(..n))
            .map(str::to_owned)
            .collect();
        paths.extend(
            (0..=wide.len())
                .filter_map(|n| wide.get(..n))
                .map(str::to_owned),
        );
        paths
    }

    /// The running hash of a path's first `len` bytes, as a request computes it, is the
    /// whole-key hash of those bytes, as the table was built with.
    #[test]
    fn the_running_hash_of_a_prefix_is_the_hash_of_the_key() {
        for path in paths() {
            let bytes = path.as_bytes();
            let head = head(bytes);
            let mut padded = [0u8; 8];
            for (to, from) in padded.iter_mut().zip(bytes) {
                *to = *from;
            }
            assert_eq!(head.to_le_bytes(), padded, "head of {path:?}");
            let mut state = 0;
            let mut folded = 0;
            for len in 0..=bytes.len() {
                while folded + 8 <= len {
                    state = fold(state, word(bytes, folded));
                    folded += 8;
                }
                let key = bytes.get(..len).unwrap_or_default();
                for exact in [false, true] {
                    assert_eq!(
                        finish(state, head, bytes, len, exact),
                        hash(key, exact),
                        "{path:?} at {len}, exact {exact}"
                    );
                }
            }
        }
    }

    /// Every key is found under its own kind and nothing else is: prefixes that are prefixes of
    /// each other, the same text as an exact path and as a prefix, keys that differ in one byte.
    #[test]
    fn the_table_finds_its_keys_and_nothing_else() {
        let keys = paths();
        let mut builder = PathTableBuilder::default();
        for (i, key) in keys.iter().enumerate() {
            let position = u32::try_from(i).unwrap_or_default();
            builder.add(i % 3 != 0, key, position, i % 2 == 0);
            builder.add(i % 3 == 0, key, position + 1000, true);
        }
        let lengths: Vec<usize> = (0..=60).collect();
        let Some(table) = builder.finish(lengths) else {
            panic!("the table builds");
        };
        for (i, key) in keys.iter().enumerate() {
            let position = u32::try_from(i).unwrap_or_default();
            let bytes = key.as_bytes();
            let exact = table.get(hash(bytes, true), bytes, true);
            let prefix = table.get(hash(bytes, false), bytes, false);
            let (as_exact, as_prefix) = if i % 3 != 0 {
                (position, position + 1000)
            } else {
                (position + 1000, position)
            };
            // The same text repeats (the empty path, the shared `/`): the first position is
            // the first key's.
            assert!(
                exact.is_some_and(|s| s.list.as_slice().contains(&as_exact)),
                "{key:?}"
            );
            assert!(
                prefix.is_some_and(|s| s.list.as_slice().contains(&as_prefix)),
                "{key:?}"
            );
            let other = [bytes, b"#"].concat();
            assert!(table.get(hash(&other, true), &other, true).is_none());
        }
        // A request path visits each distinct key it starts with (as a prefix) and itself (as an
        // exact path), nothing else.
        for path in &keys {
            let mut visited = 0;
            table.candidates(path.as_bytes(), &mut |list, _| {
                visited += 1;
                assert!(!list.is_empty());
            });
            let mut starts: Vec<&str> = keys
                .iter()
                .map(String::as_str)
                .filter(|k| path.starts_with(k))
                .collect();
            starts.sort_unstable();
            starts.dedup();
            assert_eq!(visited, starts.len() + 1, "{path:?}");
        }
    }
}
