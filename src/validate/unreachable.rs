//! Rules and matches that can never fire: Istio's `analyzeUnreachableHTTPRules`,
//! `analyzeUnreachableTCPRules` and `analyzeUnreachableTLSRules`
//! (`pkg/config/validation/validation.go` in istio/istio), which `istioctl analyze` reports as
//! IST0130 `VirtualServiceUnreachableRule` and IST0131 `VirtualServiceIneffectiveMatch`.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};

use super::sink::Sink;
use crate::config::{
    HttpMatchRequest, HttpRoute, L4MatchAttributes, StringMatch, TcpRoute, TlsMatchAttributes,
    TlsRoute,
};
use crate::diagnostic::Code;

/// validation.go `analyzeUnreachableHTTPRules`: warnings for rules and matches that can never
/// fire (istioctl analyze IST0130 `VirtualServiceUnreachableRule` and IST0131
/// `VirtualServiceIneffectiveMatch`).
///
/// As in Istio, a rule is reported unused when it follows a rule without matches, or when every
/// one of its matches repeats an earlier one; a URI prefix match that a shorter earlier prefix with
/// the same other conditions covers is reported ineffective, without making its rule unused.
/// Unlike Istio, a rule that delegates is skipped: it adds the delegate's matches, not a catch-all.
pub(crate) fn unreachable_rules(sink: &mut Sink<'_>, routes: &[HttpRoute]) {
    analyze_http_rules(sink, routes, covered_prefixes);
}

/// A URI prefix match, for the overlap check.
struct PrefixMatch<'a> {
    rule: usize,
    index: usize,
    prefix: &'a str,
    ignore_case: bool,
    /// The match's other conditions ([`MatchKey`] without the URI), with their hash.
    rest: Hashed<MatchKey<'a>>,
}

/// A key with its hash, computed once: a [`MatchKey`] hashes its header maps whole, and the
/// maps below would hash it again for each lookup, and again whenever they grow.
#[derive(PartialEq, Eq)]
struct Hashed<K> {
    hash: u64,
    key: K,
}

impl<K: Hash> Hashed<K> {
    fn new(key: K) -> Self {
        Self {
            hash: fx_hash(&key),
            key,
        }
    }
}

impl<K> Hash for Hashed<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Prefix matches by their other conditions (and `ignoreUriCase`): each group's first member
/// and the others.
type Groups<'a> = rustc_hash::FxHashMap<Hashed<(MatchKey<'a>, bool)>, (usize, Vec<usize>)>;

fn fx_hash(value: &impl Hash) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(value)
}

/// Every pair `(a, b)` of indices into `prefixes` where `a` comes first and its prefix covers
/// `b`'s longer (or differently cased) one with the same other conditions, in the order
/// validation.go reports them: by `a`, then by `b`.
type CoveredPrefixes = fn(&[PrefixMatch<'_>]) -> Vec<(usize, usize)>;

fn analyze_http_rules(sink: &mut Sink<'_>, routes: &[HttpRoute], covered: CoveredPrefixes) {
    let name = |route: &HttpRoute, i: usize| {
        if route.name.is_empty() {
            format!("#{i}")
        } else {
            format!("{:?}", route.name)
        }
    };
    let match_name = |route: &HttpRoute, j: usize| match route.matches.get(j) {
        Some(Some(m)) if !m.name.is_empty() => format!("{:?}", m.name),
        _ => format!("#{j}"),
    };
    // FxHash: the keys are the configuration's own, hashed once per match (`Hashed`). Sized
    // for a match per rule.
    let mut seen: rustc_hash::FxHashMap<Hashed<Option<MatchKey<'_>>>, usize> =
        rustc_hash::FxHashMap::with_capacity_and_hasher(routes.len(), Default::default());
    let mut prefixes: Vec<PrefixMatch<'_>> = Vec::with_capacity(routes.len());
    let mut empty_match_seen = false;
    for (i, route) in routes.iter().enumerate() {
        if route.delegate.is_some() {
            continue;
        }
        let p = || format!("spec.http[{i}]");
        if route.matches.is_empty() {
            if empty_match_seen {
                sink.analysis(
                    Code::VirtualServiceUnreachableRule,
                    p(),
                    format!(
                        "virtualService rule {} not used (only the last rule can have no matches)",
                        name(route, i)
                    ),
                );
            }
            empty_match_seen = true;
            continue;
        }
        if empty_match_seen {
            sink.analysis(
                Code::VirtualServiceUnreachableRule,
                p(),
                format!(
                    "virtualService rule {} not used (route without matches defined before)",
                    name(route, i)
                ),
            );
            continue;
        }
        let mut duplicates = 0;
        for (j, m) in route.matches.iter().enumerate() {
            // The key's hash from the hash of its conditions other than the URI (kept for
            // the prefix groups below) and of the URI.
            let rest = m.as_ref().map(|m| Hashed::new(MatchKey::of(m, false)));
            let key = Hashed {
                hash: rest
                    .as_ref()
                    .map_or(0, |rest| fx_hash(&(rest.hash, m.as_ref().map(|m| &m.uri)))),
                key: m.as_ref().map(|m| MatchKey::of(m, true)),
            };
            let earlier = match seen.entry(key) {
                Entry::Occupied(first) => Some(*first.get()),
                Entry::Vacant(slot) => {
                    slot.insert(i);
                    None
                }
            };
            if let Some(earlier) = earlier {
                let match_name = match_name(route, j);
                let p = p();
                duplicates += 1;
                sink.analysis(
                    Code::VirtualServiceIneffectiveMatch,
                    format!("{p}.match[{j}]"),
                    format!(
                        "virtualService rule {} match {match_name} is not used (duplicate/overlapping match in rule {})",
                        name(route, i),
                        routes.get(earlier).map_or(format!("#{earlier}"), |r| name(r, earlier))
                    ),
                );
                continue;
            }
            if let (Some(m), Some(rest)) = (m, rest) {
                if let Some(prefix) = m
                    .uri
                    .as_ref()
                    .and_then(|u| u.prefix.as_ref())
                    .filter(|p| !p.is_empty())
                {
                    prefixes.push(PrefixMatch {
                        rule: i,
                        index: j,
                        prefix,
                        ignore_case: m.ignore_uri_case,
                        rest,
                    });
                }
            }
        }
        if duplicates == route.matches.len() {
            sink.analysis(
                Code::VirtualServiceUnreachableRule,
                p(),
                format!(
                    "virtualService rule {} not used (all matches used by prior rules)",
                    name(route, i)
                ),
            );
        }
    }
    // A longer URI prefix after a shorter one with otherwise identical conditions.
    for (a, b) in covered(&prefixes) {
        let (Some(a), Some(b)) = (prefixes.get(a), prefixes.get(b)) else {
            continue;
        };
        let (Some(rule_a), Some(rule_b)) = (routes.get(a.rule), routes.get(b.rule)) else {
            continue;
        };
        sink.analysis(
            Code::VirtualServiceIneffectiveMatch,
            format!("spec.http[{}].match[{}]", b.rule, b.index),
            format!(
                "virtualService rule {} match {} of prefix {} is not used (duplicate/overlapping match in rule {} of prefix {} on {})",
                name(rule_b, b.rule),
                match_name(rule_b, b.index),
                b.prefix,
                match_name(rule_a, a.index),
                a.prefix,
                name(rule_a, a.rule)
            ),
        );
    }
}

/// validation.go's `coveredValidation` pairs without comparing every pair: the matches are
/// grouped by their other conditions (which include `ignoreUriCase`), and within a group each
/// prefix (lowercased under `ignoreUriCase`) walks a byte trie of the earlier ones, meeting
/// exactly the earlier prefixes it starts with. The cost is the length of the prefixes plus the
/// pairs found.
fn covered_prefixes(prefixes: &[PrefixMatch<'_>]) -> Vec<(usize, usize)> {
    // Each group's first member, and the others (no allocation for a group of one).
    let mut groups: Groups<'_> =
        rustc_hash::FxHashMap::with_capacity_and_hasher(prefixes.len(), Default::default());
    for (k, p) in prefixes.iter().enumerate() {
        let group = Hashed {
            hash: fx_hash(&(p.rest.hash, p.ignore_case)),
            key: (p.rest.key, p.ignore_case),
        };
        match groups.entry(group) {
            Entry::Occupied(mut group) => group.get_mut().1.push(k),
            Entry::Vacant(slot) => {
                slot.insert((k, Vec::new()));
            }
        }
    }
    let mut pairs = Vec::new();
    for (
        Hashed {
            key: (_, ignore_case),
            ..
        },
        (first, others),
    ) in groups
    {
        // A prefix alone in its group covers nothing and is covered by nothing: most are, in a
        // large table whose routes differ by more than the URI.
        if others.is_empty() {
            continue;
        }
        let members = std::iter::once(first).chain(others);
        // Node 0 is the root; `ends[n]` are the matches whose prefix ends at node `n`.
        let mut children: rustc_hash::FxHashMap<(usize, u8), usize> =
            rustc_hash::FxHashMap::default();
        let mut ends: Vec<Vec<usize>> = vec![Vec::new()];
        for b in members {
            let Some(prefix) = prefixes.get(b).map(|p| p.prefix) else {
                continue;
            };
            let mut node = 0;
            for byte in prefix.bytes() {
                let byte = if ignore_case {
                    byte.to_ascii_lowercase()
                } else {
                    byte
                };
                node = match children.get(&(node, byte)) {
                    Some(&child) => child,
                    None => {
                        ends.push(Vec::new());
                        let child = ends.len() - 1;
                        children.insert((node, byte), child);
                        child
                    }
                };
                for &a in ends.get(node).into_iter().flatten() {
                    if prefixes.get(a).is_some_and(|a| a.prefix != prefix) {
                        pairs.push((a, b));
                    }
                }
            }
            if let Some(here) = ends.get_mut(node) {
                here.push(b);
            }
        }
    }
    pairs.sort_unstable();
    pairs
}
/// A match's conditions without its name, compared and hashed as they are (no text is made):
/// two matches with equal keys match the same requests. `with_uri` false leaves the URI out,
/// for prefix-overlap checks. A reference and a flag: the maps that hold one per match stay
/// small (the conditions are read through it when compared or hashed).
#[derive(Clone, Copy)]
struct MatchKey<'a> {
    m: &'a HttpMatchRequest,
    with_uri: bool,
}

/// What a [`MatchKey`] compares and hashes.
type Conditions<'a> = (
    Option<&'a StringMatch>,
    Option<&'a StringMatch>,
    Option<&'a StringMatch>,
    Option<&'a StringMatch>,
    &'a BTreeMap<String, Option<StringMatch>>,
    &'a BTreeMap<String, Option<StringMatch>>,
    &'a BTreeMap<String, Option<StringMatch>>,
    Option<u32>,
    &'a BTreeMap<String, String>,
    &'a [String],
    bool,
    &'a str,
);

impl<'a> MatchKey<'a> {
    fn of(m: &'a HttpMatchRequest, with_uri: bool) -> Self {
        Self { m, with_uri }
    }

    fn conditions(&self) -> Conditions<'a> {
        let m = self.m;
        (
            m.uri.as_ref().filter(|_| self.with_uri),
            m.scheme.as_ref(),
            m.method.as_ref(),
            m.authority.as_ref(),
            &m.headers,
            &m.without_headers,
            &m.query_params,
            m.port,
            &m.source_labels,
            &m.gateways,
            m.ignore_uri_case,
            &m.source_namespace,
        )
    }
}

impl PartialEq for MatchKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.conditions() == other.conditions()
    }
}

impl Eq for MatchKey<'_> {}

impl Hash for MatchKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.conditions().hash(state);
    }
}

/// validation.go `analyzeUnreachableTCPRules`: the HTTP analysis without the prefix overlap
/// check; TCP rules and matches have no names (`#i`).
pub(crate) fn unreachable_tcp_rules(sink: &mut Sink<'_>, routes: &[TcpRoute]) {
    let keys: Vec<Vec<String>> = routes
        .iter()
        .map(|r| r.matches.iter().map(l4_key).collect())
        .collect();
    unreachable_l4_rules(sink, "tcp", &keys);
}

/// validation.go `analyzeUnreachableTLSRules`, as for TCP.
pub(crate) fn unreachable_tls_rules(sink: &mut Sink<'_>, routes: &[TlsRoute]) {
    let keys: Vec<Vec<String>> = routes
        .iter()
        .map(|r| r.matches.iter().map(tls_key).collect())
        .collect();
    unreachable_l4_rules(sink, "tls", &keys);
}

/// The rules of `spec.<field>`, each given by the canonical text of its matches (validation.go
/// `asJSON`): a rule after one without matches is unused, a match repeating an earlier one is
/// ineffective, a rule whose matches all repeat earlier ones is unused.
fn unreachable_l4_rules(sink: &mut Sink<'_>, field: &str, rules: &[Vec<String>]) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut empty_match_seen = false;
    for (i, keys) in rules.iter().enumerate() {
        let p = format!("spec.{field}[{i}]");
        if keys.is_empty() {
            if empty_match_seen {
                sink.analysis(
                    Code::VirtualServiceUnreachableRule,
                    &p,
                    format!(
                        "virtualService rule #{i} not used (only the last rule can have no matches)"
                    ),
                );
            }
            empty_match_seen = true;
            continue;
        }
        if empty_match_seen {
            sink.analysis(
                Code::VirtualServiceUnreachableRule,
                &p,
                format!("virtualService rule #{i} not used (route without matches defined before)"),
            );
            continue;
        }
        let mut duplicates = 0;
        for (j, key) in keys.iter().enumerate() {
            match seen.get(key.as_str()) {
                Some(&earlier) => {
                    duplicates += 1;
                    sink.analysis(
                        Code::VirtualServiceIneffectiveMatch,
                        format!("{p}.match[{j}]"),
                        format!(
                            "virtualService rule #{i} match #{j} is not used (duplicate/overlapping match in rule #{earlier})"
                        ),
                    );
                }
                None => {
                    seen.insert(key, i);
                }
            }
        }
        if duplicates == keys.len() {
            sink.analysis(
                Code::VirtualServiceUnreachableRule,
                &p,
                format!("virtualService rule #{i} not used (all matches used by prior rules)"),
            );
        }
    }
}

/// A canonical text of an `L4MatchAttributes` (a `port` of 0 is unset, as in protobuf).
fn l4_key(m: &L4MatchAttributes) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        m.destination_subnets,
        m.port.filter(|p| *p != 0),
        m.source_subnet,
        m.source_labels,
        m.gateways,
        m.source_namespace
    )
}

/// A canonical text of a `TLSMatchAttributes`.
fn tls_key(m: &TlsMatchAttributes) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        m.sni_hosts,
        m.destination_subnets,
        m.port.filter(|p| *p != 0),
        m.source_labels,
        m.gateways,
        m.source_namespace
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    use super::*;
    use crate::config::{Body, Delegate, ObjectMeta, Resource};
    use crate::diagnostic::Diagnostic;

    /// The pairwise comparison validation.go makes (and meshroute made before the trie): the
    /// oracle for [`covered_prefixes`].
    fn covered_prefixes_pairwise(prefixes: &[PrefixMatch<'_>]) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for (k, a) in prefixes.iter().enumerate() {
            for (l, b) in prefixes.iter().enumerate().skip(k + 1) {
                let covered = if a.ignore_case {
                    b.prefix
                        .to_ascii_lowercase()
                        .starts_with(&a.prefix.to_ascii_lowercase())
                } else {
                    b.prefix.starts_with(a.prefix)
                };
                if b.prefix != a.prefix && covered && a.rest == b.rest {
                    pairs.push((k, l));
                }
            }
        }
        pairs
    }

    fn findings(routes: &[HttpRoute], covered: CoveredPrefixes) -> Vec<Diagnostic> {
        let resource = Resource {
            api_version: "networking.istio.io/v1".to_owned(),
            metadata: ObjectMeta {
                name: "r".to_owned(),
                namespace: Some("default".to_owned()),
                ..ObjectMeta::default()
            },
            origin: Default::default(),
            body: Body::VirtualService(Box::default()),
        };
        let mut out = Vec::new();
        analyze_http_rules(&mut Sink::new(&resource, &mut out), routes, covered);
        out
    }

    /// A short string over a small alphabet, so that prefixes, case variants and repeats are
    /// frequent.
    fn text(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(alphabet.as_bytes().to_vec()),
            0..max,
        )
        .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
    }

    fn string_match() -> impl Strategy<Value = Option<StringMatch>> {
        prop_oneof![
            1 => Just(None),
            6 => text("/aAb", 5).prop_map(|p| Some(StringMatch {
                prefix: Some(format!("/{p}")),
                ..StringMatch::default()
            })),
            1 => Just(Some(StringMatch {
                prefix: Some(String::new()),
                ..StringMatch::default()
            })),
            2 => text("/aA", 3).prop_map(|e| Some(StringMatch {
                exact: Some(format!("/{e}")),
                ..StringMatch::default()
            })),
        ]
    }

    fn http_match() -> impl Strategy<Value = Option<HttpMatchRequest>> {
        let m = (
            string_match(),
            any::<bool>(),
            text("ab", 2),
            proptest::option::of(text("xy", 2)),
        )
            .prop_map(|(uri, ignore_uri_case, name, header)| HttpMatchRequest {
                uri,
                ignore_uri_case,
                name,
                headers: header
                    .map(|h| {
                        let value = StringMatch {
                            exact: Some(h),
                            ..StringMatch::default()
                        };
                        [("x-h".to_owned(), Some(value))].into_iter().collect()
                    })
                    .unwrap_or_default(),
                ..HttpMatchRequest::default()
            });
        prop_oneof![1 => Just(None), 12 => m.prop_map(Some)]
    }

    fn http_route() -> impl Strategy<Value = HttpRoute> {
        (
            prop_oneof![
                1 => Just(Vec::new()),
                20 => proptest::collection::vec(http_match(), 1..4),
            ],
            text("rs", 2),
            proptest::bool::weighted(0.05),
        )
            .prop_map(|(matches, name, delegate)| HttpRoute {
                matches,
                name,
                delegate: delegate.then(Delegate::default),
                ..HttpRoute::default()
            })
    }

    /// The trie finds exactly the covered prefixes the pairwise comparison finds, and the
    /// whole analysis reports the same findings in the same order, on random rule lists rich
    /// in shared prefixes, case variants, repeats, rules without matches and delegates.
    #[test]
    fn covered_prefixes_agree_with_the_pairwise_comparison() {
        let config = Config {
            cases: 2_000,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
        let routes = proptest::collection::vec(http_route(), 0..24);
        let with_overlaps = std::cell::Cell::new(0);
        runner
            .run(&routes, |routes| {
                let new = findings(&routes, covered_prefixes);
                let old = findings(&routes, covered_prefixes_pairwise);
                if new.iter().any(|d| d.message.contains(" of prefix ")) {
                    with_overlaps.set(with_overlaps.get() + 1);
                }
                prop_assert_eq!(new, old);
                Ok(())
            })
            .unwrap();
        assert!(with_overlaps.get() > 500, "{} cases", with_overlaps.get());
    }

    /// 10,000 rules with distinct prefixes, and as many with case variants under
    /// `ignoreUriCase`, are analyzed without comparing every pair (pairwise, this was 50 million
    /// comparisons: seconds even in a release build).
    #[test]
    fn many_prefix_rules_are_analyzed_quickly() {
        for ignore_uri_case in [false, true] {
            let routes: Vec<HttpRoute> = (0..10_000)
                .map(|i| HttpRoute {
                    matches: vec![Some(HttpMatchRequest {
                        uri: Some(StringMatch {
                            prefix: Some(format!("/p{i}/")),
                            ..StringMatch::default()
                        }),
                        ignore_uri_case,
                        ..HttpMatchRequest::default()
                    })],
                    ..HttpRoute::default()
                })
                .collect();
            let start = std::time::Instant::now();
            let found = findings(&routes, covered_prefixes);
            assert!(found.is_empty(), "{:?}", found.first());
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "{:?}",
                start.elapsed()
            );
        }
    }
}
