//! istio-config-validator's own matcher (`internal/pkg/unit/unit.go` `GetRoute`,
//! `internal/pkg/unit/match_request.go` `matchRequest`), modelled to say, when a case fails,
//! where its expectation is what that matcher concludes and Istio does not: a route it picks
//! and Istio does not (conditions it ignores, regexes it anchors differently, hosts it compares
//! literally), delegates it evaluates alone, ports it ignores.

use super::istio_config_validator::ValidatorCase;
use super::manifests::Manifests;
use super::observe::{Asked, Observed};
use crate::config::{HttpMatchRequest, StringMatch};
use crate::route::explain::Step;
use crate::util::regex::build as build_regex;

/// The conditions istio-config-validator's matcher does not evaluate
/// (`internal/pkg/unit/match_request.go` `matchRequest`: authority, uri, method and headers
/// only), by the field an explanation names first.
const NOT_EVALUATED: [&str; 7] = [
    "queryParams",
    "withoutHeaders",
    "scheme",
    "port",
    "sourceLabels",
    "sourceNamespace",
    "gateways",
];

/// istio-config-validator's `ExtendedStringMatch.Match`: unset matches anything; otherwise the
/// first non-empty of exact, prefix and regex (tested as `^` + regex + `$`, no group); a set
/// match with all three empty matches nothing, and so does a regex that does not compile.
fn their_string_match(m: Option<&StringMatch>, value: &str) -> bool {
    let Some(m) = m else {
        return true;
    };
    fn set(v: &Option<String>) -> Option<&str> {
        v.as_deref().filter(|s| !s.is_empty())
    }
    if let Some(exact) = set(&m.exact) {
        return value == exact;
    }
    if let Some(prefix) = set(&m.prefix) {
        return value.starts_with(prefix);
    }
    if let Some(regex) = set(&m.regex) {
        return build_regex(&format!("^{regex}$")).is_ok_and(|r| r.is_match(value));
    }
    false
}

/// The first condition of `matched` that istio-config-validator's `matchRequest` finds false
/// for `asked`, described; `None` when it matches.
fn their_failure(matched: &HttpMatchRequest, asked: &Asked) -> Option<String> {
    for (name, string_match) in &matched.headers {
        // Looked up by the name as written, in the test's header map (Go map lookup).
        let Some((_, value)) = asked.headers.iter().find(|(n, _)| n == name) else {
            let other_case = asked
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name));
            return Some(if other_case {
                format!(
                    "headers.{name}: absent for it (it looks the name up with its case as written; Istio ignores the case of header names)"
                )
            } else {
                format!("headers.{name}: absent")
            });
        };
        if !their_string_match(string_match.as_ref(), value) {
            return Some(format!("headers.{name}: {value:?} does not match"));
        }
    }
    let path = asked.path.split('?').next().unwrap_or_default();
    for (field, m, value) in [
        ("uri", matched.uri.as_ref(), path),
        (
            "authority",
            matched.authority.as_ref(),
            asked.authority.as_str(),
        ),
        ("method", matched.method.as_ref(), asked.method.as_str()),
    ] {
        if !their_string_match(m, value) {
            return Some(format!("{field}: {value:?} does not match"));
        }
    }
    None
}

/// The route istio-config-validator's `unit.GetRoute` picks for `asked`: the first
/// VirtualService whose `hosts` list `request.authority` as written, then its first HTTP route
/// without matches or with a match `matchRequest` accepts. (It reads VirtualServices in file
/// order; meshroute's order is Istio's, which differs only when several list the authority.)
fn their_route<'m>(manifests: &'m Manifests<'_>, asked: &Asked) -> Option<(&'m str, usize)> {
    for vs in &manifests.virtual_services {
        if !vs.spec.hosts.contains(&asked.authority) {
            continue;
        }
        for (index, route) in vs.spec.http.iter().enumerate() {
            let matches: Vec<&HttpMatchRequest> = route.matches.iter().flatten().collect();
            if matches.is_empty() || matches.iter().any(|m| their_failure(m, asked).is_none()) {
                return Some((&vs.key, index));
            }
        }
    }
    None
}

/// Why a failing request may be one where the test expects what istio-config-validator's own
/// matcher does and Istio does not: each difference that applies to it, plainly.
pub(super) fn differences(
    case: &ValidatorCase,
    asked: &Asked,
    observed: &Observed,
    manifests: &Manifests<'_>,
) -> Vec<String> {
    let mut notes = Vec::new();
    if case.want_match.is_none() {
        notes.push(
            "wantMatch is absent, which istio-config-validator reads as false: the case expects the decision to differ from what it names".to_owned(),
        );
    }
    let istio = observed
        .report
        .virtual_service
        .as_deref()
        .zip(observed.report.route.as_ref().map(|r| r.index));
    let theirs = their_route(manifests, asked);
    if let Some((vs, index)) = theirs.filter(|t| Some(*t) != istio) {
        let picked = match istio {
            Some((key, route)) => format!("Istio picks {key} http[{route}]"),
            None => format!("Istio picks no route ({})", observed.report.action),
        };
        notes.push(format!(
            "istio-config-validator's own matcher picks {vs} http[{index}] for this request; {picked}"
        ));
        notes.extend(why_not_theirs(vs, index, asked, observed, manifests));
        if let Some((key, route)) = istio {
            notes.extend(why_not_istio(key, route, asked, manifests));
        }
    }
    if let Some((name, namespace)) = &observed.delegate {
        notes.push(format!(
            "the route is delegated to {namespace}/{name}: Istio merges the root route's match into every delegate route and drops the delegate routes that conflict with it (pilot/pkg/model/virtualservice.go mergeHTTPRoutes); istio-config-validator evaluates the delegate on its own"
        ));
    }
    let (host, port) = asked.host_port();
    if !asked.authority.contains(':')
        && observed.explanation.steps.iter().any(|s| match s {
            Step::Visibility { verdict, .. } => verdict.contains("no port"),
            Step::VirtualService { verdict, .. } => verdict.contains("on this port"),
            _ => false,
        })
    {
        notes.push(format!(
            "the authority {host:?} names no port, so the request goes to port {port}; istio-config-validator ignores ports, Istio builds routes per port"
        ));
    }
    notes
}

/// Why Istio did not take the route istio-config-validator picks: the failure of each of its
/// matches in the explanation, with the difference behind it.
fn why_not_theirs(
    vs: &str,
    index: usize,
    asked: &Asked,
    observed: &Observed,
    manifests: &Manifests<'_>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for step in &observed.explanation.steps {
        let Step::Match {
            virtual_service,
            route,
            matched,
            fired: false,
            reason: Some(reason),
        } = step
        else {
            continue;
        };
        if virtual_service != vs || route.index != index {
            continue;
        }
        let at = matched
            .as_ref()
            .map_or_else(String::new, |m| format!(" match #{}", m.index));
        let field = reason.split(['.', ':', ' ']).next().unwrap_or_default();
        if NOT_EVALUATED.contains(&field) {
            let query = if field == "queryParams" {
                " (it keeps only the path of request.uri)"
            } else {
                ""
            };
            notes.push(format!(
                "istio-config-validator does not evaluate {field}{query}; Istio does: {vs} http[{index}]{at}: {reason}"
            ));
        } else if reason.starts_with("dropped for this caller") {
            notes.push(format!(
                "istio-config-validator ignores who sends the request; Istio does not: {vs} http[{index}]{at}: {reason}"
            ));
        } else {
            notes.push(format!(
                "in Istio, {vs} http[{index}]{at} does not match: {reason}"
            ));
        }
    }
    notes.extend(regex_differences(vs, index, asked, manifests));
    notes
}

/// Why istio-config-validator does not take the route Istio fired (when it comes first): the
/// first condition its matcher finds false in each match, with the difference behind it.
fn why_not_istio(vs: &str, index: usize, asked: &Asked, manifests: &Manifests<'_>) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(spec) = manifests.virtual_service(vs) else {
        return notes;
    };
    if !spec.spec.hosts.contains(&asked.authority) {
        notes.push(format!(
            "istio-config-validator finds {vs} only for an authority written as one of its hosts ({:?} is not in {:?}); Istio matches the authority as Envoy matches virtual host domains (Kubernetes short names, ports, wildcards)",
            asked.authority, spec.spec.hosts
        ));
        return notes;
    }
    if let Some(route) = spec.spec.http.get(index) {
        for (m, matched) in route.matches.iter().enumerate() {
            if let Some(failure) = matched.as_ref().and_then(|m| their_failure(m, asked)) {
                notes.push(format!(
                    "istio-config-validator: {vs} http[{index}] match #{m}: {failure}"
                ));
            }
        }
    }
    notes.extend(regex_differences(vs, index, asked, manifests));
    notes
}

/// The regex matches of route `index` of `vs` whose result differs between
/// istio-config-validator (which tests `^` + regex + `$`, no group: an alternation `a|b` matches
/// a value that starts with `a` or ends with `b`) and Istio (a full match of the whole value,
/// Envoy's `safe_regex`, RE2).
fn regex_differences(
    vs: &str,
    index: usize,
    asked: &Asked,
    manifests: &Manifests<'_>,
) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(route) = manifests
        .virtual_service(vs)
        .and_then(|v| v.spec.http.get(index))
    else {
        return notes;
    };
    let path = asked.path.split('?').next().unwrap_or_default();
    for (m, matched) in route.matches.iter().enumerate() {
        let Some(matched) = matched else {
            continue;
        };
        let regex_of = |s: Option<&StringMatch>| s.and_then(|s| s.regex.clone());
        let mut fields: Vec<(String, String, Option<String>)> = vec![
            (
                "uri".to_owned(),
                path.to_owned(),
                regex_of(matched.uri.as_ref()),
            ),
            (
                "authority".to_owned(),
                asked.authority.clone(),
                regex_of(matched.authority.as_ref()),
            ),
            (
                "method".to_owned(),
                asked.method.clone(),
                regex_of(matched.method.as_ref()),
            ),
        ];
        for (name, string_match) in &matched.headers {
            let value = asked
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map_or_else(String::new, |(_, v)| v.clone());
            fields.push((
                format!("headers.{name}"),
                value,
                regex_of(string_match.as_ref()),
            ));
        }
        for (field, value, regex) in fields {
            let Some(regex) = regex else {
                continue;
            };
            let (Ok(theirs), Ok(istio)) = (
                build_regex(&format!("^{regex}$")),
                build_regex(&format!("^(?:{regex})$")),
            ) else {
                continue;
            };
            let (theirs, istio) = (theirs.is_match(&value), istio.is_match(&value));
            if theirs != istio {
                let verdict = |m: bool| if m { "matches" } else { "does not match" };
                notes.push(format!(
                    "{vs} http[{index}] match #{m} {field} regex {regex:?} {} {value:?} for istio-config-validator, which tests ^{regex}$ without a group; in Istio a regex must match the whole value (Envoy safe_regex, RE2), and it {}",
                    verdict(theirs),
                    verdict(istio)
                ));
            }
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_match(json: serde_json::Value) -> StringMatch {
        serde_json::from_value(json).unwrap()
    }

    /// match_request.go `ExtendedStringMatch.Match`: unset matches anything, then exact,
    /// prefix, and a regex wrapped in `^…$` without a group; a set match with nothing in it
    /// matches nothing.
    #[test]
    fn string_matches_as_istio_config_validator_does() {
        let m = |json, value| their_string_match(Some(&string_match(json)), value);
        assert!(their_string_match(None, "anything"));
        assert!(m(serde_json::json!({"exact": "/a"}), "/a"));
        assert!(!m(serde_json::json!({"exact": "/a"}), "/a/b"));
        assert!(m(serde_json::json!({"prefix": "/a"}), "/a/b"));
        assert!(!m(serde_json::json!({"exact": ""}), ""));
        assert!(!m(serde_json::json!({}), "/a"));
        // `^/v1|/v2$`: "starts with /v1" or "ends with /v2".
        assert!(m(serde_json::json!({"regex": "/v1|/v2"}), "/v1/orders"));
        assert!(m(serde_json::json!({"regex": "/v1|/v2"}), "/x/v2"));
        assert!(!m(serde_json::json!({"regex": "/v1|/v2"}), "/x/v1"));
        assert!(!m(serde_json::json!({"regex": "("}), "("));
    }
}
