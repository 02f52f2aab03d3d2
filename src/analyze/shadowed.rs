//! MR001: matches and rules that never fire because an earlier match of the same
//! VirtualService accepts every request they accept.
//!
//! **A proof, never a guess.** Per Istio's route translation
//! (`pilot/pkg/networking/core/route/route.go` `BuildHTTPRoutesForVirtualService` in
//! istio/istio) every match becomes one Envoy route, in order, and the first that matches wins.
//! A later match is reported only when, field by field, the earlier match is absent or at least
//! as broad:
//!
//! - `uri`: exact `X` covers exact `X`; prefix `P` covers exact and prefix values starting
//!   with `P` (no `uri` is prefix `/`, as Istio translates it); prefix `""` and regex `.*`
//!   cover everything; another regex covers only the identical regex. With `ignoreUriCase`
//!   the earlier match compares case-insensitively; a case-insensitive later match is covered
//!   only by a case-insensitive earlier one.
//! - `scheme`, `method`, `authority`, each `headers` and `queryParams` entry: the same rules,
//!   plus presence (`{}`, regex `*` or `.*`) covering any value matcher (all of them need the
//!   value present). Header names compare case-insensitively, query keys exactly.
//! - each `withoutHeaders` entry of the earlier match must be implied by a `withoutHeaders`
//!   entry of the later one on the same header (Istio ≥ 1.22 semantics: an absent header is
//!   an empty value unless the entry is a presence test).
//! - `port` equal or absent; `sourceLabels` a subset; `sourceNamespace` equal or absent;
//!   `gateways` (a match's own list, else the VirtualService's, `mesh` by default) a superset.
//!   Where a match lists `gateways`, its `sourceLabels` and `sourceNamespace` are ignored, as
//!   Istio's `sourceMatchHTTP` ignores them.
//!
//! Rules that delegate never shadow (requests their delegate does not match fall through).
//! Pairs that IST0130 / IST0131 already report are not repeated.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{HttpMatchRequest, HttpRoute, Resource, StringMatch, VirtualService};
use crate::diagnostic::Code;
use crate::util::gateways::gateway_ref;
use crate::util::regex::may_match_empty;
use crate::validate::sink::Sink;
use crate::validate::unreachable::unreachable_rules;

/// A condition of a match, reduced to what the coverage proofs need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond<'a> {
    Exact(&'a str),
    Prefix(&'a str),
    Regex(&'a str),
    /// `{}` or `regex: "*"`: the value is present.
    Present,
    /// `null`, or several match kinds at once: nothing is claimed about it.
    Unknown,
}

impl<'a> Cond<'a> {
    fn of(m: Option<&'a StringMatch>) -> Self {
        let Some(m) = m else {
            return Cond::Unknown;
        };
        match (m.exact.as_deref(), m.prefix.as_deref(), m.regex.as_deref()) {
            (None, None, None) | (None, None, Some("*")) => Cond::Present,
            (Some(e), None, None) => Cond::Exact(e),
            (None, Some(p), None) => Cond::Prefix(p),
            (None, None, Some(r)) => Cond::Regex(r),
            _ => Cond::Unknown,
        }
    }

    /// A `uri` condition: presence means nothing there.
    fn of_uri(m: &'a StringMatch) -> Self {
        match Cond::of(Some(m)) {
            Cond::Present => Cond::Unknown,
            c => c,
        }
    }
}

/// Whether every present value `later` accepts is accepted by `earlier` (headers, query
/// parameters, scheme, method, authority: each needs its value present).
fn value_covers(earlier: Cond<'_>, later: Cond<'_>) -> bool {
    match (earlier, later) {
        (Cond::Unknown, _) | (_, Cond::Unknown) => false,
        (Cond::Present | Cond::Regex(".*"), _) => true,
        (Cond::Exact(a), Cond::Exact(b)) => a == b,
        (Cond::Prefix(p), Cond::Exact(b) | Cond::Prefix(b)) => b.starts_with(p),
        (Cond::Regex(a), Cond::Regex(b)) => a == b,
        _ => false,
    }
}

/// Whether a `withoutHeaders` entry `earlier` rejects only requests that the entry `later` on
/// the same header rejects too, so `later`'s condition implies `earlier`'s. Istio ≥ 1.22:
/// an absent header counts as `""` unless the entry is a presence test.
fn rejects_within(earlier: Cond<'_>, later: Cond<'_>) -> bool {
    match (earlier, later) {
        (Cond::Unknown, _) | (_, Cond::Unknown) => false,
        (_, Cond::Regex(".*")) => true,
        _ if earlier == later => true,
        // Present rejects every present value and never an absent header.
        (Cond::Exact(x), Cond::Present) => !x.is_empty(),
        (Cond::Prefix(p), Cond::Present) => !p.is_empty(),
        (Cond::Regex(r), Cond::Present) => !regex_matches_empty(r),
        (Cond::Exact(x) | Cond::Prefix(x), Cond::Prefix(q)) => !q.is_empty() && x.starts_with(q),
        _ => false,
    }
}

/// Whether `regex` may full-match the empty string (an unparsable regex is assumed to). Read
/// from the syntax tree, never compiled: this runs for pairs of matches, so compiling would
/// cost a regex compile per pair.
fn regex_matches_empty(regex: &str) -> bool {
    may_match_empty(regex)
}

/// Whether `earlier` (a prefix when `prefix`) accepts every path `later` names.
fn text_covers(
    earlier: &str,
    later: &str,
    earlier_icase: bool,
    later_icase: bool,
    prefix: bool,
) -> bool {
    if later_icase && !earlier_icase {
        return false;
    }
    let (earlier, later) = if earlier_icase {
        (earlier.to_ascii_lowercase(), later.to_ascii_lowercase())
    } else {
        (earlier.to_owned(), later.to_owned())
    };
    if prefix {
        later.starts_with(&earlier)
    } else {
        later == earlier
    }
}

fn uri_covers(earlier: &HttpMatchRequest, later: &HttpMatchRequest) -> bool {
    let Some(e) = earlier.uri.as_ref() else {
        return true;
    };
    // No `uri` translates to prefix `/` (route.go `TranslateRouteMatch`).
    let (l, later_icase) = match later.uri.as_ref() {
        Some(u) => (Cond::of_uri(u), later.ignore_uri_case),
        None => (Cond::Prefix("/"), false),
    };
    let icase = earlier.ignore_uri_case;
    match (Cond::of_uri(e), l) {
        (Cond::Unknown, _) | (_, Cond::Unknown) => false,
        (Cond::Regex(".*") | Cond::Prefix(""), _) => true,
        (Cond::Regex(a), Cond::Regex(b)) => a == b,
        (Cond::Exact(a), Cond::Exact(b)) => text_covers(a, b, icase, later_icase, false),
        (Cond::Prefix(p), Cond::Exact(b) | Cond::Prefix(b)) => {
            text_covers(p, b, icase, later_icase, true)
        }
        _ => false,
    }
}

fn field_covers(earlier: Option<&StringMatch>, later: Option<&StringMatch>) -> bool {
    match (earlier, later) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(e), Some(l)) => value_covers(Cond::of(Some(e)), Cond::of(Some(l))),
    }
}

/// Each entry of `earlier` is implied by some entry of `later` with the same name.
fn entries_cover(
    earlier: &BTreeMap<String, Option<StringMatch>>,
    later: &BTreeMap<String, Option<StringMatch>>,
    names_ignore_case: bool,
    implies: fn(Cond<'_>, Cond<'_>) -> bool,
) -> bool {
    earlier.iter().all(|(name, e)| {
        let e = Cond::of(e.as_ref());
        later.iter().any(|(other, l)| {
            let same = if names_ignore_case {
                name.eq_ignore_ascii_case(other)
            } else {
                name == other
            };
            same && implies(e, Cond::of(l.as_ref()))
        })
    })
}

/// Where the VirtualService applies: its gateways (`mesh` by default), or `None` for a
/// delegate, whose root decides.
#[derive(Debug)]
struct Scope {
    namespace: String,
    gateways: Option<BTreeSet<String>>,
}

impl Scope {
    fn of(vs: &VirtualService, namespace: &str) -> Self {
        let gateways = (!vs.hosts.is_empty()).then(|| {
            if vs.gateways.is_empty() {
                BTreeSet::from(["mesh".to_owned()])
            } else {
                gateway_set(&vs.gateways, namespace)
            }
        });
        Self {
            namespace: namespace.to_owned(),
            gateways,
        }
    }

    /// The proxies `m` is kept on; `None` when that is wherever the (delegate) VirtualService
    /// applies.
    fn gateways_of(&self, m: &HttpMatchRequest) -> Option<BTreeSet<String>> {
        let own = gateway_set(&m.gateways, &self.namespace);
        match &self.gateways {
            Some(all) if own.is_empty() => Some(all.clone()),
            Some(all) => Some(own.intersection(all).cloned().collect()),
            None => (!own.is_empty()).then_some(own),
        }
    }

    /// A match that no proxy keeps (its gateways are not the VirtualService's).
    fn never_applies(&self, m: &HttpMatchRequest) -> bool {
        self.gateways_of(m).is_some_and(|g| g.is_empty())
    }

    /// Whether `earlier` accepts every request `later` accepts, on every proxy `later` is kept
    /// on (see the module docs for the rules).
    fn covers(&self, earlier: &HttpMatchRequest, later: &HttpMatchRequest) -> bool {
        let gateways = match (self.gateways_of(earlier), self.gateways_of(later)) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(e), Some(l)) => l.is_subset(&e),
        };
        gateways
            && sources_cover(earlier, later)
            && (earlier.port.is_none() || earlier.port == later.port)
            && uri_covers(earlier, later)
            && field_covers(earlier.scheme.as_ref(), later.scheme.as_ref())
            && field_covers(earlier.method.as_ref(), later.method.as_ref())
            && field_covers(earlier.authority.as_ref(), later.authority.as_ref())
            && entries_cover(&earlier.headers, &later.headers, true, value_covers)
            && entries_cover(
                &earlier.query_params,
                &later.query_params,
                false,
                value_covers,
            )
            && entries_cover(
                &earlier.without_headers,
                &later.without_headers,
                true,
                rejects_within,
            )
    }
}

fn gateway_set(names: &[String], namespace: &str) -> BTreeSet<String> {
    names
        .iter()
        .map(|g| {
            if g == "mesh" {
                g.clone()
            } else {
                let (ns, name) = gateway_ref(g, namespace);
                format!("{ns}/{name}")
            }
        })
        .collect()
}

/// `sourceLabels` and `sourceNamespace`, which Istio ignores on a match that lists gateways.
fn sources_cover(earlier: &HttpMatchRequest, later: &HttpMatchRequest) -> bool {
    if !earlier.gateways.is_empty() {
        return true;
    }
    let later_labels = later.gateways.is_empty().then_some(&later.source_labels);
    let later_namespace = if later.gateways.is_empty() {
        later.source_namespace.as_str()
    } else {
        ""
    };
    earlier
        .source_labels
        .iter()
        .all(|(k, v)| later_labels.and_then(|l| l.get(k)) == Some(v))
        && (earlier.source_namespace.is_empty() || earlier.source_namespace == later_namespace)
}

/// A match already seen, in order, with what shadows it.
#[derive(Debug)]
struct Seen<'a> {
    rule: usize,
    /// `None` for a rule without matches.
    index: Option<usize>,
    m: &'a HttpMatchRequest,
    /// The earlier entry that accepts everything this one accepts.
    by: Option<usize>,
}

fn rule_name(routes: &[HttpRoute], i: usize) -> String {
    match routes.get(i) {
        Some(route) if !route.name.is_empty() => format!("{:?}", route.name),
        _ => format!("#{i}"),
    }
}

fn match_name(m: &HttpMatchRequest, j: usize) -> String {
    if m.name.is_empty() {
        format!("#{j}")
    } else {
        format!("{:?}", m.name)
    }
}

/// The paths of the IST0130 / IST0131 findings on this VirtualService, which MR001 does not
/// repeat.
fn istio_unreachable(resource: &Resource, vs: &VirtualService) -> BTreeSet<String> {
    let mut scratch = Vec::new();
    unreachable_rules(&mut Sink::new(resource, &mut scratch), &vs.http);
    scratch.into_iter().map(|d| d.path).collect()
}

/// The matches seen so far, indexed by their `uri` condition so that a later match meets only
/// the earlier ones whose `uri` can cover its own ([`uri_covers`]): those without a `uri` or
/// with one that covers everything, the same exact value, the same regex, and the prefixes its
/// value starts with (a byte trie, lowercased for `ignoreUriCase`). A match whose `uri` cannot
/// be reasoned about covers nothing and is not indexed.
#[derive(Debug, Default)]
struct UriIndex {
    /// Positions in `seen` of the matches whose `uri` covers every `uri`.
    broad: Vec<usize>,
    /// Exact values, as written and lowercased (`ignoreUriCase`).
    exact: BTreeMap<String, Vec<usize>>,
    exact_icase: BTreeMap<String, Vec<usize>>,
    regex: BTreeMap<String, Vec<usize>>,
    prefixes: Trie,
    prefixes_icase: Trie,
}

/// A byte trie of prefixes with the positions that end at each node; node 0 is the root.
#[derive(Debug, Default)]
struct Trie {
    children: rustc_hash::FxHashMap<(usize, u8), usize>,
    ends: Vec<Vec<usize>>,
}

impl Trie {
    fn insert(&mut self, key: impl Iterator<Item = u8>, position: usize) {
        if self.ends.is_empty() {
            self.ends.push(Vec::new());
        }
        let mut node = 0;
        for byte in key {
            node = match self.children.get(&(node, byte)) {
                Some(&child) => child,
                None => {
                    self.ends.push(Vec::new());
                    let child = self.ends.len() - 1;
                    self.children.insert((node, byte), child);
                    child
                }
            };
        }
        if let Some(ends) = self.ends.get_mut(node) {
            ends.push(position);
        }
    }

    /// The positions of the prefixes `key` starts with (the empty one included).
    fn prefixes_of(&self, key: impl Iterator<Item = u8>, out: &mut Vec<usize>) {
        let mut node = 0;
        out.extend(self.ends.first().into_iter().flatten());
        for byte in key {
            let Some(&child) = self.children.get(&(node, byte)) else {
                return;
            };
            node = child;
            out.extend(self.ends.get(node).into_iter().flatten());
        }
    }
}

impl UriIndex {
    fn insert(&mut self, m: &HttpMatchRequest, position: usize) {
        let Some(uri) = m.uri.as_ref() else {
            self.broad.push(position);
            return;
        };
        let icase = m.ignore_uri_case;
        let lower = |text: &str| text.to_ascii_lowercase();
        match Cond::of_uri(uri) {
            Cond::Unknown => {}
            Cond::Regex(".*") | Cond::Prefix("") => self.broad.push(position),
            Cond::Regex(r) => self.regex.entry(r.to_owned()).or_default().push(position),
            Cond::Exact(e) if icase => self.exact_icase.entry(lower(e)).or_default().push(position),
            Cond::Exact(e) => self.exact.entry(e.to_owned()).or_default().push(position),
            Cond::Prefix(p) if icase => self
                .prefixes_icase
                .insert(p.bytes().map(|b| b.to_ascii_lowercase()), position),
            Cond::Prefix(p) => self.prefixes.insert(p.bytes(), position),
            Cond::Present => {}
        }
    }

    /// The positions, in order, of the earlier matches whose `uri` may cover `later`'s: every
    /// match whose `uri` covers it is among them.
    fn candidates(&self, later: &HttpMatchRequest) -> Vec<usize> {
        let mut out = self.broad.clone();
        // No `uri` translates to prefix `/` (route.go `TranslateRouteMatch`).
        let (cond, icase) = match later.uri.as_ref() {
            Some(u) => (Cond::of_uri(u), later.ignore_uri_case),
            None => (Cond::Prefix("/"), false),
        };
        match cond {
            Cond::Regex(r) => out.extend(self.regex.get(r).into_iter().flatten()),
            Cond::Exact(value) | Cond::Prefix(value) => {
                // A case-insensitive later match is covered only by a case-insensitive one.
                if !icase {
                    self.prefixes.prefixes_of(value.bytes(), &mut out);
                }
                self.prefixes_icase
                    .prefixes_of(value.bytes().map(|b| b.to_ascii_lowercase()), &mut out);
                if let Cond::Exact(_) = cond {
                    if !icase {
                        out.extend(self.exact.get(value).into_iter().flatten());
                    }
                    let key = value.to_ascii_lowercase();
                    out.extend(self.exact_icase.get(&key).into_iter().flatten());
                }
            }
            Cond::Present | Cond::Unknown => {}
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The first earlier match (a position in `seen`) that covers `m`: the candidates of `index`,
/// tried in order.
fn first_covering(
    scope: &Scope,
    seen: &[Seen<'_>],
    index: &UriIndex,
    m: &HttpMatchRequest,
) -> Option<usize> {
    index
        .candidates(m)
        .into_iter()
        .find(|&k| seen.get(k).is_some_and(|s| scope.covers(s.m, m)))
}

/// How [`shadowed`] finds the first earlier match that covers a later one.
type FirstCovering = fn(&Scope, &[Seen<'_>], &UriIndex, &HttpMatchRequest) -> Option<usize>;

/// MR001: matches and rules that never fire because an earlier match accepts every request
/// they accept.
pub(crate) fn shadowed(sink: &mut Sink<'_>, vs: &VirtualService) {
    shadowed_with(sink, vs, first_covering);
}

fn shadowed_with(sink: &mut Sink<'_>, vs: &VirtualService, first: FirstCovering) {
    let resource = sink.resource();
    let reported = istio_unreachable(resource, vs);
    let scope = Scope::of(vs, resource.namespace());
    let catch_all = HttpMatchRequest::default();
    let routes = vs.http.as_slice();
    let mut seen: Vec<Seen<'_>> = Vec::new();
    let mut index = UriIndex::default();
    for (i, route) in routes.iter().enumerate() {
        let p = format!("spec.http[{i}]");
        if reported.contains(&p) {
            continue;
        }
        let matches: Vec<(Option<usize>, &HttpMatchRequest)> = if route.matches.is_empty() {
            vec![(None, &catch_all)]
        } else {
            route
                .matches
                .iter()
                .enumerate()
                .map(|(j, m)| (Some(j), m.as_ref().unwrap_or(&catch_all)))
                .collect()
        };
        // (match index, the match that fires instead, whether it is in this rule)
        let mut findings: Vec<(Option<usize>, usize, bool)> = Vec::new();
        let mut all_dead = true;
        for (j, m) in matches {
            if let Some(j) = j {
                if reported.contains(&format!("{p}.match[{j}]")) {
                    continue;
                }
            }
            if scope.never_applies(m) {
                all_dead = false;
                continue;
            }
            let by = first(&scope, &seen, &index, m);
            let root = by.map(|k| root_of(&seen, k));
            let same_rule = root.and_then(|r| seen.get(r)).is_some_and(|s| s.rule == i);
            match root {
                Some(r) => findings.push((j, r, same_rule)),
                None => all_dead = false,
            }
            if same_rule {
                all_dead = false;
            }
            if route.delegate.is_none() {
                index.insert(m, seen.len());
                seen.push(Seen {
                    rule: i,
                    index: j,
                    m,
                    by,
                });
            }
        }
        report_shadowed(sink, routes, i, &seen, &findings, all_dead);
    }
}

/// The first match of the chain that shadows `seen[k]`: the one that fires.
fn root_of(seen: &[Seen<'_>], mut k: usize) -> usize {
    // `by` always points to an earlier entry, so this ends.
    while let Some(by) = seen.get(k).and_then(|s| s.by) {
        if by >= k {
            break;
        }
        k = by;
    }
    k
}

fn describe_seen(routes: &[HttpRoute], s: &Seen<'_>) -> String {
    match s.index {
        Some(l) => format!(
            "match {} of rule {} (spec.http[{}].match[{l}])",
            match_name(s.m, l),
            rule_name(routes, s.rule),
            s.rule
        ),
        None => format!(
            "rule {} (spec.http[{}]), which has no match",
            rule_name(routes, s.rule),
            s.rule
        ),
    }
}

fn report_shadowed(
    sink: &mut Sink<'_>,
    routes: &[HttpRoute],
    i: usize,
    seen: &[Seen<'_>],
    findings: &[(Option<usize>, usize, bool)],
    all_dead: bool,
) {
    let p = format!("spec.http[{i}]");
    let name = rule_name(routes, i);
    let matches = routes.get(i).map_or(&[][..], |r| r.matches.as_slice());
    let this_match = |j: usize| {
        let m = matches.get(j).and_then(Option::as_ref);
        m.map_or(format!("#{j}"), |m| match_name(m, j))
    };
    if all_dead && !findings.is_empty() {
        let message = match findings {
            [(None, by, _)] => {
                let Some(by) = seen.get(*by) else { return };
                format!(
                    "rule {name} has no match but never fires: {} accepts every request first; remove this rule, or narrow the earlier match so that some requests reach it",
                    describe_seen(routes, by)
                )
            }
            [(Some(_), by, _)] if matches.len() == 1 => {
                let Some(by) = seen.get(*by) else { return };
                format!(
                    "rule {name} never fires: {} comes first and accepts every request its match accepts; move rule {name} above rule {}, narrow that match, or remove this rule",
                    describe_seen(routes, by),
                    rule_name(routes, by.rule)
                )
            }
            _ => {
                let causes: Vec<String> = findings
                    .iter()
                    .filter_map(|(j, by, _)| {
                        let by = seen.get(*by)?;
                        let j = j.map_or("its catch-all".to_owned(), |j| {
                            format!("match {}", this_match(j))
                        });
                        Some(format!("{j} is covered by {}", describe_seen(routes, by)))
                    })
                    .collect();
                let reported = if findings.len() < matches.len() {
                    " (its other matches are reported as IST0131)"
                } else {
                    ""
                };
                format!(
                    "rule {name} never fires: earlier matches accept every request it accepts ({}){reported}; move it above those rules, narrow those matches, or remove it",
                    causes.join("; ")
                )
            }
        };
        sink.analysis(Code::ShadowedMatch, p, message);
        return;
    }
    for (j, by, same_rule) in findings {
        let (Some(j), Some(by)) = (j, seen.get(*by)) else {
            continue;
        };
        let message = if *same_rule {
            format!(
                "match {} of rule {name} never fires: {} of the same rule accepts every request it accepts; remove it",
                this_match(*j),
                by.index.map_or(String::from("a match"), |l| format!(
                    "match {}",
                    match_name(by.m, l)
                ))
            )
        } else {
            format!(
                "match {} of rule {name} never fires: {} comes first and accepts every request it accepts; move rule {name} above rule {}, narrow that match, or remove this one",
                this_match(*j),
                describe_seen(routes, by),
                rule_name(routes, by.rule)
            )
        };
        sink.analysis(Code::ShadowedMatch, format!("{p}.match[{j}]"), message);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn m(json: &str) -> HttpMatchRequest {
        serde_json::from_str(json).unwrap()
    }

    fn mesh_scope() -> Scope {
        Scope {
            namespace: "default".to_owned(),
            gateways: Some(BTreeSet::from(["mesh".to_owned()])),
        }
    }

    /// A presence test covers any value matcher on the same header, not the reverse.
    #[test]
    fn presence_covers_values() {
        let s = mesh_scope();
        let any = m(r#"{"headers": {"X-Canary": {}}}"#);
        let exact = m(r#"{"headers": {"x-canary": {"exact": "1"}}}"#);
        assert!(s.covers(&any, &exact));
        assert!(!s.covers(&exact, &any));
    }

    /// No `uri` is prefix `/`: it covers every path, and a prefix `/` covers it back.
    #[test]
    fn no_uri_is_prefix_slash() {
        let s = mesh_scope();
        let none = m("{}");
        let slash = m(r#"{"uri": {"prefix": "/"}}"#);
        let regex = m(r#"{"uri": {"regex": "/a.*"}}"#);
        assert!(s.covers(&slash, &none));
        assert!(s.covers(&none, &regex));
        assert!(!s.covers(&slash, &regex));
    }

    /// `ignoreUriCase` widens the earlier match only.
    #[test]
    fn ignore_case_widens_only_the_earlier_match() {
        let s = mesh_scope();
        let icase = m(r#"{"uri": {"prefix": "/API"}, "ignoreUriCase": true}"#);
        let exact = m(r#"{"uri": {"exact": "/api/x"}}"#);
        assert!(s.covers(&icase, &exact));
        let exact_icase = m(r#"{"uri": {"exact": "/api/x"}, "ignoreUriCase": true}"#);
        let plain = m(r#"{"uri": {"prefix": "/api"}}"#);
        assert!(!s.covers(&plain, &exact_icase));
    }

    /// `withoutHeaders: {h: {exact: a}}` is implied by `withoutHeaders: {h: {}}` (no `h` at
    /// all), but not by `{h: {exact: b}}`.
    #[test]
    fn without_headers_are_implied_by_broader_rejections() {
        let s = mesh_scope();
        let not_a = m(r#"{"withoutHeaders": {"h": {"exact": "a"}}}"#);
        let absent = m(r#"{"withoutHeaders": {"h": {}}}"#);
        let not_b = m(r#"{"withoutHeaders": {"h": {"exact": "b"}}}"#);
        assert!(s.covers(&not_a, &absent));
        assert!(!s.covers(&absent, &not_a));
        assert!(!s.covers(&not_a, &not_b));
    }

    /// A match on one gateway does not cover a match that also applies on the mesh.
    #[test]
    fn gateways_must_be_a_superset() {
        let s = Scope {
            namespace: "default".to_owned(),
            gateways: Some(BTreeSet::from(["mesh".to_owned(), "default/gw".to_owned()])),
        };
        let gw = m(r#"{"gateways": ["gw"]}"#);
        let any = m(r#"{"uri": {"exact": "/x"}}"#);
        let gw_x = m(r#"{"gateways": ["default/gw"], "uri": {"exact": "/x"}}"#);
        assert!(!s.covers(&gw, &any));
        assert!(s.covers(&gw, &gw_x));
    }

    /// Source labels: fewer labels are broader; a listed gateway makes Istio ignore them.
    #[test]
    fn source_labels_subset() {
        let s = mesh_scope();
        let a = m(r#"{"sourceLabels": {"app": "a"}}"#);
        let ab = m(r#"{"sourceLabels": {"app": "a", "v": "1"}}"#);
        assert!(s.covers(&a, &ab));
        assert!(!s.covers(&ab, &a));
    }

    /// The index finds the same first covering match as trying every earlier match in order,
    /// so MR001 reports the same findings, on random rule lists rich in shared prefixes, case
    /// variants, catch-alls, regexes, header conditions, per-match gateways and delegates.
    #[test]
    fn the_uri_index_finds_what_a_scan_finds() {
        use crate::config::{Body, Delegate, ObjectMeta};
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

        fn scan(
            scope: &Scope,
            seen: &[Seen<'_>],
            _: &UriIndex,
            m: &HttpMatchRequest,
        ) -> Option<usize> {
            seen.iter().position(|s| scope.covers(s.m, m))
        }
        let text = |alphabet: &'static str, max: usize| {
            proptest::collection::vec(
                proptest::sample::select(alphabet.as_bytes().to_vec()),
                0..max,
            )
            .prop_map(|b| b.into_iter().map(char::from).collect::<String>())
        };
        let string_match = move |values: &'static str| {
            prop_oneof![
                4 => text(values, 4).prop_map(|p| StringMatch { prefix: Some(format!("/{p}")), ..StringMatch::default() }),
                2 => text(values, 3).prop_map(|e| StringMatch { exact: Some(format!("/{e}")), ..StringMatch::default() }),
                1 => Just(StringMatch { prefix: Some(String::new()), ..StringMatch::default() }),
                1 => proptest::sample::select(vec![".*", "/a.*", "*"]).prop_map(|r| StringMatch { regex: Some(r.to_owned()), ..StringMatch::default() }),
                1 => Just(StringMatch::default()),
            ]
        };
        let one_match = (
            proptest::option::weighted(0.8, string_match("/aAb")),
            any::<bool>(),
            proptest::option::of(string_match("xy")),
            proptest::sample::select(vec![vec![], vec![], vec!["mesh"], vec!["gw"]]),
        )
            .prop_map(
                |(uri, ignore_uri_case, header, gateways)| HttpMatchRequest {
                    uri,
                    ignore_uri_case,
                    headers: header
                        .map(|h| [("x-h".to_owned(), Some(h))].into_iter().collect())
                        .unwrap_or_default(),
                    gateways: gateways.into_iter().map(str::to_owned).collect(),
                    ..HttpMatchRequest::default()
                },
            );
        let route = (
            prop_oneof![
                1 => Just(Vec::new()),
                12 => proptest::collection::vec(proptest::option::weighted(0.95, one_match), 1..3),
            ],
            proptest::bool::weighted(0.05),
        )
            .prop_map(|(matches, delegate)| HttpRoute {
                matches,
                delegate: delegate.then(Delegate::default),
                ..HttpRoute::default()
            });
        let cases = (
            proptest::collection::vec(route, 0..16),
            proptest::sample::select(vec![vec![], vec!["mesh", "gw"]]),
        );
        let config = Config {
            cases: 2_000,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]));
        let found = std::cell::Cell::new(0);
        runner
            .run(&cases, |(http, gateways)| {
                let vs = VirtualService {
                    hosts: vec!["a".to_owned()],
                    gateways: gateways.into_iter().map(str::to_owned).collect(),
                    http,
                    ..VirtualService::default()
                };
                let resource = Resource {
                    api_version: "networking.istio.io/v1".to_owned(),
                    metadata: ObjectMeta {
                        name: "r".to_owned(),
                        namespace: Some("default".to_owned()),
                        ..ObjectMeta::default()
                    },
                    origin: Default::default(),
                    body: Body::VirtualService(Box::new(vs.clone())),
                };
                let run = |first: FirstCovering| {
                    let mut out = Vec::new();
                    shadowed_with(&mut Sink::new(&resource, &mut out), &vs, first);
                    out
                };
                let indexed = run(first_covering);
                if !indexed.is_empty() {
                    found.set(found.get() + 1);
                }
                prop_assert_eq!(indexed, run(scan));
                Ok(())
            })
            .unwrap();
        assert!(found.get() > 500, "{} cases with findings", found.get());
    }

    /// 10,000 rules with distinct prefixes: each meets only the prefixes its own starts with.
    #[test]
    fn many_prefix_rules_are_linted_quickly() {
        use crate::config::{Body, ObjectMeta};
        let http: Vec<HttpRoute> = (0..10_000)
            .map(|i| HttpRoute {
                matches: vec![Some(m(&format!(r#"{{"uri": {{"prefix": "/p{i}/"}}}}"#)))],
                ..HttpRoute::default()
            })
            .collect();
        let vs = VirtualService {
            hosts: vec!["big".to_owned()],
            http,
            ..VirtualService::default()
        };
        let resource = Resource {
            api_version: "networking.istio.io/v1".to_owned(),
            metadata: ObjectMeta {
                name: "big".to_owned(),
                namespace: Some("default".to_owned()),
                ..ObjectMeta::default()
            },
            origin: Default::default(),
            body: Body::VirtualService(Box::new(vs.clone())),
        };
        let start = std::time::Instant::now();
        let mut out = Vec::new();
        shadowed(&mut Sink::new(&resource, &mut out), &vs);
        assert!(out.is_empty(), "{:?}", out.first());
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    }
}
