//! An index over a large route table by path: which entries can match a request's path at all.
//!
//! Envoy evaluates a virtual host's routes in order and takes the first that matches; so does
//! meshroute. With many routes most of them fail on the path alone, so a table of at least
//! [`PathIndex::MIN_ENTRIES`] entries is indexed at compile time by its path condition:
//! exact paths in a hash map, prefixes in a hash map per distinct prefix length, and every
//! other entry (no path condition, regex, `ignoreUriCase`) in a list of its own. A request's
//! candidates are the entries under its path, under each of its prefixes of an indexed length,
//! and the others; the answer is the lowest-positioned candidate whose remaining conditions
//! hold, which is exactly the entry the in-order scan finds (`tests/route/props.rs` checks it
//! against `explain`, which scans in order).

use rustc_hash::FxHashMap;

use super::matcher::MatchString;
use super::table::{CompiledMatch, CompiledVs, Entry, NO_MATCH};

/// Positions (into the entry list) by path or prefix, ascending.
type Positions = FxHashMap<Box<str>, Vec<u32>>;

/// The path index of one entry list (positions into it, ascending in each list).
#[derive(Debug, Default)]
pub(crate) struct PathIndex {
    exact: Positions,
    /// Prefix length → prefix → positions.
    prefixes: Vec<(usize, Positions)>,
    /// Entries the path cannot rule out.
    others: Vec<u32>,
    /// No entry has a selector decided per caller (port, source labels or namespace): every
    /// caller sees every entry, so when no candidate matches, the scan would end on the last
    /// entry's VirtualService.
    all_static: bool,
}

/// What an entry's path condition lets the index use.
enum Key<'a> {
    Exact(&'a str),
    Prefix(&'a str),
    Other,
}

impl PathIndex {
    /// Tables shorter than this are scanned: the scan is cheaper than the lookups.
    pub(crate) const MIN_ENTRIES: usize = 16;

    /// At most this many distinct prefix lengths are indexed (one hash probe each per request);
    /// prefixes of other lengths go with the unindexed entries.
    const MAX_PREFIX_LENGTHS: usize = 24;

    /// The index of `entries` (over the VirtualServices `vses`), or `None` when the table is
    /// small or the path rules out too little to be worth it.
    pub(crate) fn build(entries: &[Entry], vses: &[CompiledVs]) -> Option<Self> {
        if entries.len() < Self::MIN_ENTRIES {
            return None;
        }
        let keys: Vec<Key<'_>> = entries.iter().map(|e| key(e, vses)).collect();
        let all_static = entries
            .iter()
            .all(|e| compiled_match(e, vses).is_none_or(|m| !m.has_runtime_selectors()));
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
        index.prefixes = lengths
            .iter()
            .map(|&len| (len, FxHashMap::default()))
            .collect();
        for (position, key) in keys.iter().enumerate() {
            let position = u32::try_from(position).ok()?;
            match key {
                Key::Exact(path) => index
                    .exact
                    .entry((*path).into())
                    .or_default()
                    .push(position),
                Key::Prefix(prefix) => {
                    match index
                        .prefixes
                        .iter_mut()
                        .find(|(len, _)| *len == prefix.len())
                    {
                        Some((_, map)) => map.entry((*prefix).into()).or_default().push(position),
                        None => index.others.push(position),
                    }
                }
                Key::Other => index.others.push(position),
            }
        }
        // Worth it only if the path rules out a good share of the table.
        (index.others.len() * 2 <= entries.len()).then_some(index)
    }

    /// Whether no candidate matching means the scan's "no route" on the last entry's
    /// VirtualService, for every caller.
    pub(crate) fn all_static(&self) -> bool {
        self.all_static
    }

    /// The candidate lists for a request path: each ascending, together holding every entry
    /// whose path condition can hold for `path`. Allocates nothing.
    pub(crate) fn candidates<'s>(&'s self, path: &'s str) -> Candidates<'s> {
        Candidates {
            index: self,
            path,
            step: Step::Exact,
        }
    }
}

/// The match an entry stands for (`None` for a route without matches).
fn compiled_match<'a>(entry: &Entry, vses: &'a [CompiledVs]) -> Option<&'a CompiledMatch> {
    if entry.matcher == NO_MATCH {
        return None;
    }
    vses.get(usize::try_from(entry.vs).unwrap_or(usize::MAX))
        .and_then(|vs| {
            vs.routes
                .get(usize::try_from(entry.route).unwrap_or(usize::MAX))
        })
        .and_then(|route| {
            route
                .matches
                .get(usize::try_from(entry.matcher).unwrap_or(usize::MAX))
        })
}

/// The index key of an entry: its match's `uri` when exact or prefix and case-sensitive.
fn key<'a>(entry: &Entry, vses: &'a [CompiledVs]) -> Key<'a> {
    let request = compiled_match(entry, vses).map(|m| &m.request);
    match request {
        Some(r) if !r.ignore_uri_case => match &r.uri {
            Some(MatchString::Exact(path)) => Key::Exact(path),
            Some(MatchString::Prefix(prefix)) => Key::Prefix(prefix),
            _ => Key::Other,
        },
        _ => Key::Other,
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Exact,
    Prefix(usize),
    Others,
    Done,
}

/// The candidate lists of one path (see [`PathIndex::candidates`]).
#[derive(Debug)]
pub(crate) struct Candidates<'s> {
    index: &'s PathIndex,
    path: &'s str,
    step: Step,
}

impl<'s> Iterator for Candidates<'s> {
    type Item = &'s [u32];

    fn next(&mut self) -> Option<&'s [u32]> {
        loop {
            match self.step {
                Step::Exact => {
                    self.step = Step::Prefix(0);
                    if let Some(list) = self.index.exact.get(self.path) {
                        return Some(list);
                    }
                }
                Step::Prefix(i) => {
                    let Some((len, map)) = self.index.prefixes.get(i) else {
                        self.step = Step::Others;
                        continue;
                    };
                    self.step = Step::Prefix(i + 1);
                    if let Some(list) = self.path.get(..*len).and_then(|head| map.get(head)) {
                        return Some(list);
                    }
                }
                Step::Others => {
                    self.step = Step::Done;
                    return Some(&self.index.others);
                }
                Step::Done => return None,
            }
        }
    }
}
