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
use crate::registry::gateways::gateway_ref;
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

/// MR001: matches and rules that never fire because an earlier match accepts every request
/// they accept.
pub(crate) fn shadowed(sink: &mut Sink<'_>, vs: &VirtualService) {
    let resource = sink.resource();
    let reported = istio_unreachable(resource, vs);
    let scope = Scope::of(vs, resource.namespace());
    let catch_all = HttpMatchRequest::default();
    let routes = vs.http.as_slice();
    let mut seen: Vec<Seen<'_>> = Vec::new();
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
            let by = seen.iter().position(|s| scope.covers(s.m, m));
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
}
