//! An index over a large route table: which entries can match a request at all.
//!
//! Envoy evaluates a virtual host's routes in order and takes the first that matches; so does
//! meshroute. With many routes most of them fail on one condition alone, so a table of at least
//! [`RouteIndex::MIN_ENTRIES`] entries is indexed at compile time, each entry under one
//! condition every match of it needs (its key):
//!
//! - an exact path, in a hash map;
//! - a path prefix longer than `/` (or the literal text a path regex must start with), in a
//!   hash map per distinct prefix length;
//! - else an exact header value (not inverted), in a hash map per header name;
//! - else an exact query parameter value, in a hash map per parameter;
//! - else the prefix `/`;
//! - every other entry (no such condition, `ignoreUriCase` on the path) in a list of its own.
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
use crate::util::query;

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
    exact: Positions,
    /// Prefix length → prefix → positions.
    prefixes: Vec<(usize, Positions)>,
    /// Header name → exact value → positions.
    headers: Vec<(HeaderName, Positions)>,
    /// Query parameter → exact value → positions.
    queries: Vec<(Box<str>, Positions)>,
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
    Query(&'a str, &'a str),
    Other,
}

impl RouteIndex {
    /// Tables shorter than this are scanned: the scan is cheaper than the lookups.
    pub(crate) const MIN_ENTRIES: usize = 16;

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
        // Sized for every prefix of the length (growing would hash every key again).
        let mut lengths: Vec<(usize, usize)> = by_count;
        lengths.sort_unstable();
        index.prefixes = lengths
            .iter()
            .map(|&(len, count)| {
                let map = FxHashMap::with_capacity_and_hasher(count, Default::default());
                (len, map)
            })
            .collect();
        for (position, key) in keys.iter().enumerate() {
            let position = u32::try_from(position).ok()?;
            let unindexed = match key {
                Key::Exact(path) => {
                    add(&mut index.exact, path, position);
                    false
                }
                Key::Prefix(prefix) => {
                    match index
                        .prefixes
                        .iter_mut()
                        .find(|(len, _)| *len == prefix.len())
                    {
                        Some((_, map)) => {
                            add(map, prefix, position);
                            false
                        }
                        None => true,
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
                    let at = match index.queries.iter().position(|(k, _)| &**k == *key) {
                        Some(at) => Some(at),
                        None if index.queries.len() < Self::MAX_KEYS => {
                            index.queries.push(((*key).into(), Positions::default()));
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

    /// The candidate lists for a request: each ascending, together holding every entry whose
    /// key can hold for it. Allocates nothing.
    pub(crate) fn candidates<'s>(&'s self, view: &'s RequestView<'s>) -> Candidates<'s> {
        Candidates {
            index: self,
            view,
            step: Step::Exact,
        }
    }
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

#[derive(Debug, Clone, Copy)]
enum Step {
    Exact,
    Prefix(usize),
    Header(usize),
    Query(usize),
    Others,
    Done,
}

/// The candidate lists of one path (see [`RouteIndex::candidates`]).
#[derive(Debug)]
pub(crate) struct Candidates<'s> {
    index: &'s RouteIndex,
    view: &'s RequestView<'s>,
    step: Step,
}

impl<'s> Iterator for Candidates<'s> {
    type Item = &'s [u32];

    fn next(&mut self) -> Option<&'s [u32]> {
        loop {
            match self.step {
                Step::Exact => {
                    self.step = Step::Prefix(0);
                    if let Some(list) = self.index.exact.get(self.view.path) {
                        return Some(list.as_slice());
                    }
                }
                Step::Prefix(i) => {
                    let Some((len, map)) = self.index.prefixes.get(i) else {
                        self.step = Step::Header(0);
                        continue;
                    };
                    self.step = Step::Prefix(i + 1);
                    if let Some(list) = self.view.path.get(..*len).and_then(|head| map.get(head)) {
                        return Some(list.as_slice());
                    }
                }
                Step::Header(i) => {
                    let Some((name, map)) = self.index.headers.get(i) else {
                        self.step = Step::Query(0);
                        continue;
                    };
                    self.step = Step::Header(i + 1);
                    // UTF-8 as the matchers read it (`to_str` is ASCII only: `é` would miss).
                    let value = self
                        .view
                        .headers
                        .get(name)
                        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok());
                    if let Some(list) = value.and_then(|v| map.get(v)) {
                        return Some(list.as_slice());
                    }
                }
                Step::Query(i) => {
                    let Some((key, map)) = self.index.queries.get(i) else {
                        self.step = Step::Others;
                        continue;
                    };
                    self.step = Step::Query(i + 1);
                    let value = query::first_value(self.view.query, key);
                    if let Some(list) = value.and_then(|v| map.get(v)) {
                        return Some(list.as_slice());
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
