//! Rules and matches that can never fire: Istio's `analyzeUnreachableHTTPRules`,
//! `analyzeUnreachableTCPRules` and `analyzeUnreachableTLSRules`
//! (`pkg/config/validation/validation.go` in istio/istio), which `istioctl analyze` reports as
//! IST0130 `VirtualServiceUnreachableRule` and IST0131 `VirtualServiceIneffectiveMatch`.

use std::collections::{BTreeMap, HashMap};

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
    /// A URI prefix match, for the overlap check.
    struct PrefixMatch {
        rule: usize,
        index: usize,
        rule_name: String,
        match_name: String,
        prefix: String,
        ignore_case: bool,
        rest: String,
    }
    let name = |route: &HttpRoute, i: usize| {
        if route.name.is_empty() {
            format!("#{i}")
        } else {
            format!("{:?}", route.name)
        }
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut prefixes: Vec<PrefixMatch> = Vec::new();
    let mut empty_match_seen = false;
    for (i, route) in routes.iter().enumerate() {
        if route.delegate.is_some() {
            continue;
        }
        let p = format!("spec.http[{i}]");
        if route.matches.is_empty() {
            if empty_match_seen {
                sink.analysis(
                    Code::VirtualServiceUnreachableRule,
                    &p,
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
                &p,
                format!(
                    "virtualService rule {} not used (route without matches defined before)",
                    name(route, i)
                ),
            );
            continue;
        }
        let mut duplicates = 0;
        for (j, m) in route.matches.iter().enumerate() {
            let key = m
                .as_ref()
                .map_or_else(|| "null".to_owned(), |m| match_key(m, true));
            let match_name = match m {
                Some(m) if !m.name.is_empty() => format!("{:?}", m.name),
                _ => format!("#{j}"),
            };
            if let Some(&earlier) = seen.get(&key) {
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
            seen.insert(key, i);
            if let Some(m) = m {
                if let Some(prefix) = m
                    .uri
                    .as_ref()
                    .and_then(|u| u.prefix.as_ref())
                    .filter(|p| !p.is_empty())
                {
                    prefixes.push(PrefixMatch {
                        rule: i,
                        index: j,
                        rule_name: name(route, i),
                        match_name,
                        prefix: prefix.clone(),
                        ignore_case: m.ignore_uri_case,
                        rest: match_key(m, false),
                    });
                }
            }
        }
        if duplicates == route.matches.len() {
            sink.analysis(
                Code::VirtualServiceUnreachableRule,
                &p,
                format!(
                    "virtualService rule {} not used (all matches used by prior rules)",
                    name(route, i)
                ),
            );
        }
    }
    // A longer URI prefix after a shorter one with otherwise identical conditions.
    for (k, a) in prefixes.iter().enumerate() {
        for b in prefixes.iter().skip(k + 1) {
            let covered = if a.ignore_case {
                b.prefix
                    .to_ascii_lowercase()
                    .starts_with(&a.prefix.to_ascii_lowercase())
            } else {
                b.prefix.starts_with(&a.prefix)
            };
            if b.prefix != a.prefix && covered && a.rest == b.rest {
                sink.analysis(
                    Code::VirtualServiceIneffectiveMatch,
                    format!("spec.http[{}].match[{}]", b.rule, b.index),
                    format!(
                        "virtualService rule {} match {} of prefix {} is not used (duplicate/overlapping match in rule {} of prefix {} on {})",
                        b.rule_name, b.match_name, b.prefix, a.match_name, a.prefix, a.rule_name
                    ),
                );
            }
        }
    }
}

/// A canonical text of a match's conditions (without its name); `with_uri` false leaves the URI
/// out, for prefix-overlap checks.
fn match_key(m: &HttpMatchRequest, with_uri: bool) -> String {
    let mut m = m.clone();
    m.name.clear();
    if !with_uri {
        m.uri = None;
    }
    let sorted = |map: &BTreeMap<String, Option<StringMatch>>| format!("{map:?}");
    format!(
        "{:?}|{:?}|{:?}|{:?}|{}|{}|{}|{:?}|{:?}|{:?}|{}|{}",
        m.uri,
        m.scheme,
        m.method,
        m.authority,
        sorted(&m.headers),
        sorted(&m.without_headers),
        sorted(&m.query_params),
        m.port,
        m.source_labels,
        m.gateways,
        m.ignore_uri_case,
        m.source_namespace
    )
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
