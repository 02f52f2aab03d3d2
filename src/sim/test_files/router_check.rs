//! Envoy's `router_check_tool` test files (envoyproxy/envoy
//! `test/tools/router_check/validation.proto`, `docs/root/configuration/operations/tools/
//! router_check.rst`), run against the routes Istio builds from the configuration.
//!
//! ```yaml
//! tests:
//! - test_name: testers reach v2
//!   input:
//!     authority: svc-b:8080
//!     path: /greet?name=xx
//!     method: GET
//!     random_value: 0          # the draw that picks among weighted clusters
//!     ssl: false               # x-forwarded-proto: https
//!     internal: false          # x-envoy-internal: "true"
//!     additional_request_headers: [{key: x-user, value: a}]
//!     additional_response_headers: [{key: x-b, value: c}]
//!   validate:
//!     cluster_name: outbound|8080|v2|svc-b.default.svc.cluster.local
//!     virtual_host_name: svc-b.default.svc.cluster.local:8080
//!     path_rewrite: /greet?name=xx
//! ```
//!
//! Every `validate` field is a wrapped value in the proto: present means compared, and `""`
//! means "nothing" (`{cluster_name: ""}`: no route to a cluster), as the tool compares them
//! (`router.cc` `compareCluster` and friends: a route without a route entry gives `""`). Header
//! checks see the headers after the route's rewrites and header operations, as the tool checks
//! them "after all other test cases".

use base64::Engine as _;
use serde_json::Value;

use super::fields::{Object, Sink, kind};
use super::observe::{Asked, Observed};
use super::report::Check;
use crate::route::policy::HeaderOps;

/// The key that makes a document a file of this format.
pub(super) const KEY: &str = "tests";

/// One test of a `tests` list.
#[derive(Debug, Clone)]
pub(super) struct RouterCase {
    /// `tests[3]`.
    pub(super) label: String,
    pub(super) name: String,
    pub(super) asked: Asked,
    /// `input.ssl`: `x-forwarded-proto: https`; through a gateway, the request also arrives on
    /// its HTTPS servers.
    pub(super) ssl: bool,
    /// `input.random_value`.
    pub(super) random: u64,
    /// `input.additional_response_headers`.
    pub(super) response_headers: Vec<(String, String)>,
    pub(super) asserts: Vec<Assert>,
}

impl RouterCase {
    /// `tests[3] "test name"`.
    pub(super) fn title(&self) -> String {
        format!("{} {:?}", self.label, self.name)
    }
}

/// One thing a test validates.
#[derive(Debug, Clone)]
pub(super) enum Assert {
    /// A named string of the route: `cluster_name`, `virtual_cluster_name`,
    /// `virtual_host_name`, `host_rewrite`, `path_rewrite`, `path_redirect`.
    Name(&'static str, String),
    /// `code_redirect`.
    Code(u64),
    /// `request_header_fields` / `response_header_fields` (deprecated): a header's value.
    Field {
        response: bool,
        key: String,
        value: String,
    },
    /// `request_header_matches` / `response_header_matches`.
    Matches {
        response: bool,
        matcher: HeaderMatcher,
    },
}

/// Envoy's `HeaderMatcher` (`envoy/config/route/v3/route_components.proto`).
#[derive(Debug, Clone)]
pub(super) struct HeaderMatcher {
    name: String,
    rule: Rule,
    invert: bool,
    treat_missing_as_empty: bool,
    /// How it was written, for messages.
    text: String,
}

#[derive(Debug, Clone)]
enum Rule {
    /// `present_match` (also the default when no rule is given).
    Present(bool),
    Exact(String, bool),
    Prefix(String, bool),
    Suffix(String, bool),
    Contains(String, bool),
    /// A full match (Envoy `safe_regex`, RE2 semantics).
    Regex(regex::Regex),
    /// `[start, end)` on the value read as an integer.
    Range(i64, i64),
}

/// Reads the tests of a document (its top level has `tests`).
pub(super) fn parse(document: &Value, sink: &mut Sink<'_>) -> Vec<RouterCase> {
    let Some(mut top) = Object::of(document, "", sink) else {
        return Vec::new();
    };
    let mut cases = Vec::new();
    let items = top.list(KEY, sink);
    if items.as_ref().is_none_or(Vec::is_empty) {
        sink.error(
            KEY,
            "empty: validation.proto wants at least one test (min_items 1)",
        );
    }
    if let Some(items) = items {
        for (index, (path, item)) in items.into_iter().enumerate() {
            let label = format!("{KEY}[{index}]");
            let name = item
                .get("test_name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            sink.case(Some(if name.is_empty() {
                label.clone()
            } else {
                format!("{label} {name:?}")
            }));
            if let Some(case) = parse_case(item, &path, label, sink) {
                cases.push(case);
            }
            sink.case(None);
        }
    }
    top.finish(
        &[(
            "runtime",
            "Envoy runtime settings do not change the routes Istio builds",
        )],
        sink,
    );
    cases
}

fn parse_case(item: &Value, path: &str, label: String, sink: &mut Sink<'_>) -> Option<RouterCase> {
    let errors = sink.error_count();
    let mut case = Object::of(item, path, sink)?;
    let name = case.string("test_name", sink).unwrap_or_default();
    if name.is_empty() {
        sink.error(
            &case.path_of("test_name"),
            "missing or empty: validation.proto wants a name (min_len 1)",
        );
    }
    let input = match case.take("input") {
        Some(input) => parse_input(input, &case.path_of("input"), sink),
        None => {
            sink.error(
                &case.path_of("input"),
                "missing: validation.proto requires it",
            );
            None
        }
    };
    let asserts = match case.take("validate") {
        Some(validate) => parse_validate(validate, &case.path_of("validate"), sink),
        None => {
            sink.error(
                &case.path_of("validate"),
                "missing: validation.proto requires it",
            );
            Vec::new()
        }
    };
    case.finish(&[], sink);
    let (asked, ssl, random, response_headers) = input?;
    if asserts.is_empty() && sink.error_count() == errors {
        sink.warn(
            &format!("{path}.validate"),
            "validates nothing: the test passes whatever the decision",
        );
    }
    (sink.error_count() == errors).then_some(RouterCase {
        label,
        name,
        asked,
        ssl,
        random,
        response_headers,
        asserts,
    })
}

type Input = (Asked, bool, u64, Vec<(String, String)>);

fn parse_input(input: &Value, path: &str, sink: &mut Sink<'_>) -> Option<Input> {
    let errors = sink.error_count();
    let mut object = Object::of(input, path, sink)?;
    let required = |object: &mut Object<'_>, key: &'static str, min: usize, sink: &mut Sink<'_>| {
        let value = object.string(key, sink).unwrap_or_default();
        if value.len() < min {
            sink.error(
                &object.path_of(key),
                format!("missing or too short: validation.proto wants at least {min} character(s)"),
            );
        }
        value
    };
    let authority = required(&mut object, "authority", 1, sink);
    let request_path = required(&mut object, "path", 1, sink);
    let method = required(&mut object, "method", 3, sink);
    let random = object.unsigned("random_value", sink).unwrap_or(0);
    let ssl = object.boolean("ssl", sink).unwrap_or(false);
    let internal = object.boolean("internal", sink).unwrap_or(false);
    let mut headers = vec![(
        "x-forwarded-proto".to_owned(),
        if ssl { "https" } else { "http" }.to_owned(),
    )];
    if internal {
        headers.push(("x-envoy-internal".to_owned(), "true".to_owned()));
    }
    headers.extend(header_values(
        &mut object,
        "additional_request_headers",
        sink,
    ));
    let response_headers = header_values(&mut object, "additional_response_headers", sink);
    object.finish(
        &[
            (
                "runtime",
                "Istio's routes have no runtime fraction, so a runtime key changes nothing",
            ),
            (
                "dynamic_metadata",
                "Istio's routes do not match on dynamic metadata",
            ),
        ],
        sink,
    );
    if !authority.is_empty() && authority.parse::<http::uri::Authority>().is_err() {
        sink.error(
            &format!("{path}.authority"),
            format!("{authority:?} is not a valid authority (host or host:port)"),
        );
    }
    if !request_path.is_empty()
        && (!request_path.starts_with('/')
            || request_path.parse::<http::uri::PathAndQuery>().is_err())
    {
        sink.error(
            &format!("{path}.path"),
            format!("{request_path:?} is not a path (it must start with /)"),
        );
    }
    if !method.is_empty() && http::Method::from_bytes(method.as_bytes()).is_err() {
        sink.error(
            &format!("{path}.method"),
            format!("{method:?} is not a valid HTTP method"),
        );
    }
    let asked = Asked {
        method,
        authority,
        path: request_path,
        headers,
        tls: false,
    };
    (sink.error_count() == errors).then_some((asked, ssl, random, response_headers))
}

/// A list of `envoy.config.core.v3.HeaderValue` (`key`, `value` or base64 `raw_value`).
fn header_values(
    object: &mut Object<'_>,
    key: &'static str,
    sink: &mut Sink<'_>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in object.list(key, sink).unwrap_or_default() {
        let Some(mut header) = Object::of(item, &path, sink) else {
            continue;
        };
        let name = header.string("key", sink).unwrap_or_default();
        let value = header.string("value", sink);
        let raw = header.string("raw_value", sink).and_then(|raw| {
            let bytes = base64::engine::general_purpose::STANDARD.decode(raw.trim());
            match bytes.ok().and_then(|b| String::from_utf8(b).ok()) {
                Some(text) => Some(text),
                None => {
                    sink.error(&header.path_of("raw_value"), "not base64 of UTF-8 text");
                    None
                }
            }
        });
        header.finish(&[], sink);
        if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            sink.error(
                &format!("{path}.key"),
                format!("{name:?} is not a header name"),
            );
            continue;
        }
        let value = raw.or(value).unwrap_or_default();
        if http::HeaderValue::from_str(&value).is_err() {
            sink.error(&format!("{path}.value"), "not a valid header value");
            continue;
        }
        out.push((name.to_ascii_lowercase(), value));
    }
    out
}

/// The names `validate` compares as strings, in the proto's order.
const NAMES: [&str; 6] = [
    "cluster_name",
    "virtual_cluster_name",
    "virtual_host_name",
    "host_rewrite",
    "path_rewrite",
    "path_redirect",
];

fn parse_validate(validate: &Value, path: &str, sink: &mut Sink<'_>) -> Vec<Assert> {
    let Some(mut object) = Object::of(validate, path, sink) else {
        return Vec::new();
    };
    let mut asserts = Vec::new();
    for name in NAMES {
        if let Some(value) = wrapped_string(&mut object, name, sink) {
            asserts.push(Assert::Name(name, value));
        }
    }
    if let Some(code) = object.unsigned("code_redirect", sink) {
        asserts.push(Assert::Code(code));
    }
    for (key, response) in [
        ("request_header_fields", false),
        ("response_header_fields", true),
    ] {
        for (key, value) in header_values(&mut object, key, sink) {
            asserts.push(Assert::Field {
                response,
                key,
                value,
            });
        }
    }
    for (key, response) in [
        ("request_header_matches", false),
        ("response_header_matches", true),
    ] {
        for (path, item) in object.list(key, sink).unwrap_or_default() {
            if let Some(matcher) = header_matcher(item, &path, sink) {
                asserts.push(Assert::Matches { response, matcher });
            }
        }
    }
    object.finish(&[], sink);
    asserts
}

/// A `google.protobuf.StringValue`: the string itself in JSON (or `{value: ...}`).
fn wrapped_string(
    object: &mut Object<'_>,
    key: &'static str,
    sink: &mut Sink<'_>,
) -> Option<String> {
    let path = object.path_of(key);
    match object.take(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) if map.len() == 1 && map.get("value").is_some_and(Value::is_string) => {
            map.get("value").and_then(Value::as_str).map(str::to_owned)
        }
        other => {
            sink.error(&path, format!("expected a string, found {}", kind(other)));
            None
        }
    }
}

/// A `StringMatcher` (`envoy/type/matcher/v3/string.proto`): `exact`, `prefix`, `suffix`,
/// `contains`, `safe_regex` with `ignore_case`.
fn string_matcher(value: &Value, path: &str, sink: &mut Sink<'_>) -> Option<Rule> {
    let mut object = Object::of(value, path, sink)?;
    let ignore_case = object.boolean("ignore_case", sink).unwrap_or(false);
    let mut rules = Vec::new();
    for key in ["exact", "prefix", "suffix", "contains"] {
        if let Some(text) = object.string(key, sink) {
            rules.push(match key {
                "exact" => Rule::Exact(text, ignore_case),
                "prefix" => Rule::Prefix(text, ignore_case),
                "suffix" => Rule::Suffix(text, ignore_case),
                _ => Rule::Contains(text, ignore_case),
            });
        }
    }
    if let Some(regex) = object.take("safe_regex") {
        rules.extend(regex_matcher(regex, &object.path_of("safe_regex"), sink));
    }
    object.finish(
        &[(
            "custom",
            "custom string matcher extensions are not part of Istio's routes",
        )],
        sink,
    );
    one_rule(rules, path, sink)
}

/// A `RegexMatcher`: its `regex`, matched against the whole value.
fn regex_matcher(value: &Value, path: &str, sink: &mut Sink<'_>) -> Option<Rule> {
    let mut object = Object::of(value, path, sink)?;
    let regex = object.string("regex", sink);
    // `google_re2` only tunes the engine (max_program_size).
    let _ = object.take("google_re2");
    object.finish(&[], sink);
    let regex = regex?;
    sink.full_match_regex(&format!("{path}.regex"), &regex)
        .map(Rule::Regex)
}

fn one_rule(mut rules: Vec<Rule>, path: &str, sink: &mut Sink<'_>) -> Option<Rule> {
    if rules.len() > 1 {
        sink.error(path, "sets more than one match rule (a oneof)");
        return None;
    }
    rules.pop()
}

fn header_matcher(value: &Value, path: &str, sink: &mut Sink<'_>) -> Option<HeaderMatcher> {
    let errors = sink.error_count();
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut object = Object::of(value, path, sink)?;
    let name = object.string("name", sink).unwrap_or_default();
    if name.is_empty() {
        sink.error(
            &object.path_of("name"),
            "missing: a header matcher needs the header name",
        );
    }
    let invert = object.boolean("invert_match", sink).unwrap_or(false);
    let treat_missing_as_empty = object
        .boolean("treat_missing_header_as_empty", sink)
        .unwrap_or(false);
    let mut rules = Vec::new();
    if let Some(exact) = object.string("exact_match", sink) {
        rules.push(Rule::Exact(exact, false));
    }
    for key in ["prefix_match", "suffix_match", "contains_match"] {
        if let Some(text) = object.string(key, sink) {
            rules.push(match key {
                "prefix_match" => Rule::Prefix(text, false),
                "suffix_match" => Rule::Suffix(text, false),
                _ => Rule::Contains(text, false),
            });
        }
    }
    if let Some(present) = object.boolean("present_match", sink) {
        rules.push(Rule::Present(present));
    }
    if let Some(regex) = object.take("safe_regex_match") {
        rules.extend(regex_matcher(
            regex,
            &object.path_of("safe_regex_match"),
            sink,
        ));
    }
    if let Some(range) = object.take("range_match") {
        let range_path = object.path_of("range_match");
        if let Some(mut range) = Object::of(range, &range_path, sink) {
            let mut bound = |key: &'static str, sink: &mut Sink<'_>| {
                let path = range.path_of(key);
                match range.take(key) {
                    None => Some(0),
                    Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
                    Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                        s.trim().parse().ok()
                    }
                    Some(other) => {
                        sink.error(&path, format!("expected an integer, found {other}"));
                        None
                    }
                }
            };
            let start = bound("start", sink);
            let end = bound("end", sink);
            range.finish(&[], sink);
            if let (Some(start), Some(end)) = (start, end) {
                rules.push(Rule::Range(start, end));
            }
        }
    }
    if let Some(matcher) = object.take("string_match") {
        rules.extend(string_matcher(
            matcher,
            &object.path_of("string_match"),
            sink,
        ));
    }
    object.finish(&[], sink);
    let rule = one_rule(rules, path, sink).unwrap_or(Rule::Present(true));
    (sink.error_count() == errors).then(|| HeaderMatcher {
        name: name.to_ascii_lowercase(),
        rule,
        invert,
        treat_missing_as_empty,
        text,
    })
}

impl HeaderMatcher {
    /// Envoy's `HeaderUtility::matchHeaders` for one matcher: every value of the header joined
    /// with `,`; a missing header matches only a `present_match: false` (or, inverted, a
    /// `present_match: true`) unless `treat_missing_header_as_empty`.
    fn matches(&self, headers: &[(String, String)]) -> bool {
        let values: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| *n == self.name)
            .map(|(_, v)| v.as_str())
            .collect();
        let value = if values.is_empty() {
            if !self.treat_missing_as_empty {
                return match self.rule {
                    Rule::Present(present) => present == self.invert,
                    _ => false,
                };
            }
            String::new()
        } else {
            values.join(",")
        };
        let fold = |a: &str, ignore: bool| {
            if ignore {
                a.to_lowercase()
            } else {
                a.to_owned()
            }
        };
        let matched = match &self.rule {
            Rule::Present(present) => *present,
            Rule::Exact(e, i) => fold(&value, *i) == fold(e, *i),
            Rule::Prefix(p, i) => fold(&value, *i).starts_with(&fold(p, *i)),
            Rule::Suffix(s, i) => fold(&value, *i).ends_with(&fold(s, *i)),
            Rule::Contains(c, i) => fold(&value, *i).contains(&fold(c, *i)),
            Rule::Regex(regex) => regex.is_match(&value),
            Rule::Range(start, end) => value
                .trim()
                .parse::<i64>()
                .is_ok_and(|v| *start <= v && v < *end),
        };
        matched != self.invert
    }
}

/// The request headers the tool checks: the input's, with the route's rewrites and request
/// header operations applied when the route forwards (`finalizeRequestHeaders`).
fn request_headers(case: &RouterCase, observed: &Observed) -> Vec<(String, String)> {
    let (path, authority) = observed
        .forwarded
        .clone()
        .unwrap_or_else(|| (case.asked.path.clone(), case.asked.authority.clone()));
    let mut headers = vec![
        (":authority".to_owned(), authority),
        (":path".to_owned(), path),
        (":method".to_owned(), case.asked.method.clone()),
    ];
    headers.extend(case.asked.headers.iter().cloned());
    if observed.forwarded.is_some() {
        apply(&observed.request_ops, &mut headers);
    }
    headers
}

/// The response headers the tool checks: the input's with the route's response header
/// operations applied (`finalizeResponseHeaders`).
fn response_headers(case: &RouterCase, observed: &Observed) -> Vec<(String, String)> {
    let mut headers = case.response_headers.clone();
    apply(&observed.response_ops, &mut headers);
    headers
}

/// Envoy's order: removals, then sets (replacing) and adds (appending).
fn apply(ops: &HeaderOps, headers: &mut Vec<(String, String)>) {
    headers.retain(|(name, _)| !ops.remove.iter().any(|r| r.as_str() == name));
    for op in &ops.ops {
        let value = String::from_utf8_lossy(op.value.as_bytes()).into_owned();
        if !op.append {
            headers.retain(|(name, _)| name != op.name.as_str());
        }
        headers.push((op.name.as_str().to_owned(), value));
    }
}

/// Compares every assertion of `case` with what was decided.
pub(super) fn check(case: &RouterCase, observed: &Observed) -> Vec<Check> {
    let mut checks = Vec::new();
    for assert in &case.asserts {
        let (field, expected, actual, passed, quoted) = match assert {
            Assert::Name(name, expected) => {
                let actual = match *name {
                    "cluster_name" => observed.cluster_name.clone(),
                    "virtual_host_name" => observed.virtual_host_name.clone(),
                    "host_rewrite" => observed
                        .forwarded
                        .as_ref()
                        .map(|(_, a)| a.clone())
                        .unwrap_or_default(),
                    "path_rewrite" => observed
                        .forwarded
                        .as_ref()
                        .map(|(p, _)| p.clone())
                        .unwrap_or_default(),
                    "path_redirect" => observed
                        .redirect
                        .as_ref()
                        .map(|r| r.location.clone())
                        .unwrap_or_default(),
                    // Istio configures no virtual clusters on its routes.
                    _ => String::new(),
                };
                let passed = actual == *expected;
                ((*name).to_owned(), expected.clone(), actual, passed, true)
            }
            Assert::Code(code) => {
                let actual = observed.direct_status.map_or(0, u64::from);
                (
                    "code_redirect".to_owned(),
                    code.to_string(),
                    actual.to_string(),
                    actual == *code,
                    false,
                )
            }
            Assert::Field {
                response,
                key,
                value,
            } => {
                let headers = if *response {
                    response_headers(case, observed)
                } else {
                    request_headers(case, observed)
                };
                let actual: Vec<&str> = headers
                    .iter()
                    .filter(|(n, _)| n == key)
                    .map(|(_, v)| v.as_str())
                    .collect();
                let actual = actual.join(",");
                let side = if *response { "response" } else { "request" };
                let passed = actual == *value;
                (
                    format!("{side}_header_fields {key}"),
                    value.clone(),
                    actual,
                    passed,
                    true,
                )
            }
            Assert::Matches { response, matcher } => {
                let headers = if *response {
                    response_headers(case, observed)
                } else {
                    request_headers(case, observed)
                };
                let seen: Vec<&str> = headers
                    .iter()
                    .filter(|(n, _)| *n == matcher.name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                let side = if *response { "response" } else { "request" };
                (
                    format!("{side}_header_matches {}", matcher.name),
                    matcher.text.clone(),
                    if seen.is_empty() {
                        "absent".to_owned()
                    } else {
                        format!("{:?}", seen.join(","))
                    },
                    matcher.matches(&headers),
                    false,
                )
            }
        };
        checks.push(Check {
            field,
            expected,
            actual,
            passed,
            quoted,
        });
    }
    checks
}

/// Why a failing test may expect what Istio does not build.
pub(super) fn differences(case: &RouterCase, observed: &Observed) -> Vec<String> {
    let mut notes = Vec::new();
    for assert in &case.asserts {
        let Assert::Name(name, expected) = assert else {
            continue;
        };
        match *name {
            "cluster_name" if *expected != observed.cluster_name => {
                let istio_form = expected.is_empty()
                    || expected == "PassthroughCluster"
                    || expected == "BlackHoleCluster"
                    || expected.split('|').count() == 4 && expected.starts_with("outbound|");
                if !istio_form {
                    notes.push(format!(
                        "{expected:?} is not a cluster name Istio builds: Istio names them outbound|PORT|SUBSET|FQDN (pilot/pkg/model/service.go BuildSubsetKey), PassthroughCluster or BlackHoleCluster"
                    ));
                } else if expected.starts_with("outbound|")
                    && expected
                        .rsplit('|')
                        .next()
                        .is_some_and(|h| !h.contains('.'))
                {
                    notes.push(
                        "Istio's cluster names carry the host's fully qualified name (svc-b.default.svc.cluster.local), not its short name".to_owned(),
                    );
                }
                if observed.split.len() > 1 {
                    let shares: Vec<String> = observed
                        .split
                        .iter()
                        .map(|s| {
                            format!(
                                "{} {}/{}",
                                s.destination
                                    .subset
                                    .as_deref()
                                    .unwrap_or(&s.destination.host),
                                s.count,
                                observed.split_total
                            )
                        })
                        .collect();
                    notes.push(format!(
                        "the route splits traffic by weight ({}): random_value {} is the draw Envoy picks with (random_value % total weight, over the destinations in order)",
                        shares.join(", "),
                        case.random
                    ));
                }
            }
            "virtual_host_name"
                if *expected != observed.virtual_host_name && !istio_virtual_host(expected) =>
            {
                notes.push(
                    format!("{expected:?} is not a virtual host name Istio builds: it names a sidecar's virtual host HOST:PORT after the service's FQDN (or the VirtualService host outside the registry), a gateway's HOST:PORT per server host and port, and the catch-all allow_any"),
                );
            }
            "virtual_cluster_name" if !expected.is_empty() => notes.push(
                "Istio configures no virtual clusters on its routes: Envoy reports none (\"\")"
                    .to_owned(),
            ),
            _ => {}
        }
    }
    notes
}

/// Whether `name` has the shape of a virtual host Istio builds: `HOST:PORT`, `allow_any`,
/// `block_all`, or `""` (no route entry).
fn istio_virtual_host(name: &str) -> bool {
    name.is_empty()
        || matches!(name, "allow_any" | "block_all")
        || name
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(yaml: serde_json::Value) -> HeaderMatcher {
        let origin = crate::config::Origin::default();
        let mut budget = crate::util::regex::RegexBudget::default();
        let mut sink = Sink::new("t.yaml", &origin, &mut budget);
        let matcher = header_matcher(&yaml, "m", &mut sink);
        let (errors, _) = sink.finish();
        assert!(errors.is_empty(), "{errors:?}");
        matcher.unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// router_check.rst: "Matchers are specified as HeaderMatchers, and behave the same way"
    /// (header_utility.cc `matchHeaders`): the TestRoutes examples of the tool's own tests.
    #[test]
    fn header_matchers_behave_as_envoy_s() {
        let seen = headers(&[("x-ping-response", "yes"), ("content-length", "42")]);
        let m = |v| matcher(v).matches(&seen);
        assert!(m(
            serde_json::json!({"name": "x-ping-response", "string_match": {"exact": "yes"}})
        ));
        assert!(m(
            serde_json::json!({"name": "x-ping-response", "present_match": true})
        ));
        assert!(m(
            serde_json::json!({"name": "x-pong-response", "present_match": true, "invert_match": true})
        ));
        assert!(m(
            serde_json::json!({"name": ":cookie", "invert_match": true})
        ));
        assert!(!m(serde_json::json!({"name": ":cookie"})));
        assert!(m(
            serde_json::json!({"name": "x-pong-response", "present_match": false})
        ));
        assert!(m(
            serde_json::json!({"name": "content-length", "range_match": {"start": 0, "end": 100}})
        ));
        assert!(!m(
            serde_json::json!({"name": "content-length", "range_match": {"start": 0, "end": 42}})
        ));
        assert!(m(
            serde_json::json!({"name": "X-Ping-Response", "string_match": {"exact": "YES", "ignore_case": true}})
        ));
        // safe_regex is a full match.
        assert!(!m(
            serde_json::json!({"name": "x-ping-response", "safe_regex_match": {"regex": "y"}})
        ));
        assert!(m(
            serde_json::json!({"name": "x-ping-response", "safe_regex_match": {"regex": "y.*"}})
        ));
        assert!(m(
            serde_json::json!({"name": "absent", "string_match": {"exact": ""}, "treat_missing_header_as_empty": true})
        ));
    }

    /// Malformed tests are errors naming the case and the field; unknown keys are warnings.
    #[test]
    fn malformed_tests_are_errors_with_their_field() {
        let origin = crate::config::Origin::default();
        let mut budget = crate::util::regex::RegexBudget::default();
        let mut sink = Sink::new("t.yaml", &origin, &mut budget);
        let document = serde_json::json!({
            "tests": [
                {"test_name": "a", "input": {"authority": "x", "path": "nopath", "method": "GET"}, "validate": {"cluster_name": 3}},
                {"input": {"authority": "x", "path": "/", "method": "GE"}, "validate": {}, "extra": 1},
                {"test_name": "c", "input": {"authority": "x", "path": "/", "method": "GET", "random_value": -1,
                  "dynamic_metadata": []}, "validate": {"request_header_matches": [{"name": "a", "exact_match": "b", "prefix_match": "c"},
                                                      {"name": "b", "safe_regex_match": {"regex": "("}}]}},
            ]
        });
        let cases = parse(&document, &mut sink);
        let (errors, warnings) = sink.finish();
        assert!(cases.is_empty(), "{cases:?}");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "tests[0].input.path",
                "tests[0].validate.cluster_name",
                "tests[1].test_name",
                "tests[1].input.method",
                "tests[2].input.random_value",
                "tests[2].validate.request_header_matches[0]",
                "tests[2].validate.request_header_matches[1].safe_regex_match.regex",
            ]
        );
        assert_eq!(errors[2].case.as_deref(), Some("tests[1]"));
        let warned: Vec<&str> = warnings.iter().map(|w| w.field.as_str()).collect();
        assert_eq!(
            warned,
            ["tests[1].extra", "tests[2].input.dynamic_metadata"]
        );
        assert!(warnings[1].message.starts_with("not supported"));
    }
}
