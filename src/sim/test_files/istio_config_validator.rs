//! istio-config-validator's test cases (github.com/getyourguide/istio-config-validator,
//! `internal/pkg/parser/testcase.go` `TestCase` and `Request`, `docs/test-cases.md`), run
//! against Istio's semantics.
//!
//! ```yaml
//! testCases:
//! - description: testers reach v2
//!   wantMatch: true
//!   request: {authority: [svc-b:8080], method: [GET], uri: [/greet?name=xx], headers: {x-a: b}}
//!   route: [{destination: {host: svc-b, subset: v2}}]
//!   redirect: {...}     # HTTPRedirect
//!   rewrite: {...}      # HTTPRewrite
//!   fault: {...}        # HTTPFaultInjection
//!   headers: {...}      # Headers (the route's header operations)
//!   delegate: {name: ..., namespace: ...}
//! ```
//!
//! A request unfolds into one request per `uri` × `authority` × `method` (`Request.Unfold`, in
//! that order); each is decided and compared with every part the case names. `wantMatch`
//! (false when absent, as Go reads a missing bool) inverts each comparison, as `unit.Run`
//! does: with `wantMatch: false` the case fails when any part it names is what Istio does.

use serde_json::Value;

use super::fields::{Object, Sink};
use super::observe::{Asked, Observed, Share};
use super::report::Check;
use crate::config::load::read_istio;
use crate::config::{
    Delegate, HeaderOperations, Headers, HttpFaultInjection, HttpRedirect, HttpRewrite,
    HttpRouteDestination, RedirectPortSelection,
};
use crate::route::policy::{Abort, HeaderOps};
use crate::util::host;
use crate::util::regex::envoy_replacement;

/// The key that makes a document a file of this format.
pub(super) const KEY: &str = "testCases";

/// The most requests one case unfolds into: `uri` × `authority` × `method` grows fast, and
/// each request is a decision.
const MAX_REQUESTS: usize = 10_000;

/// One test case.
#[derive(Debug, Clone)]
pub(super) struct ValidatorCase {
    /// `testCases[2]`.
    pub(super) label: String,
    pub(super) description: String,
    /// `None` when absent (read as `false`).
    pub(super) want_match: Option<bool>,
    /// The unfolded requests.
    pub(super) requests: Vec<Asked>,
    pub(super) route: Option<Vec<HttpRouteDestination>>,
    pub(super) redirect: Option<HttpRedirect>,
    pub(super) rewrite: Option<HttpRewrite>,
    pub(super) fault: Option<HttpFaultInjection>,
    pub(super) headers: Option<Headers>,
    pub(super) delegate: Option<Delegate>,
}

impl ValidatorCase {
    /// `testCases[2] "description"`.
    pub(super) fn title(&self) -> String {
        if self.description.is_empty() {
            self.label.clone()
        } else {
            format!("{} {:?}", self.label, self.description)
        }
    }

    fn wants(&self) -> bool {
        self.want_match.unwrap_or(false)
    }

    /// Whether the case compares anything.
    pub(super) fn names_anything(&self) -> bool {
        self.route.is_some()
            || self.redirect.is_some()
            || self.rewrite.is_some()
            || self.fault.is_some()
            || self.headers.is_some()
            || self.delegate.is_some()
    }
}

/// Reads the cases of a document (its top level has `testCases`).
pub(super) fn parse(document: &Value, sink: &mut Sink<'_>) -> Vec<ValidatorCase> {
    let Some(mut top) = Object::of(document, "", sink) else {
        return Vec::new();
    };
    let mut cases = Vec::new();
    let items = top.list(KEY, sink);
    if items.as_ref().is_none_or(Vec::is_empty) {
        sink.warn(KEY, "no test case: the document checks nothing");
    }
    if let Some(items) = items {
        for (index, (path, item)) in items.into_iter().enumerate() {
            let label = format!("{KEY}[{index}]");
            let description = item
                .get("description")
                .and_then(Value::as_str)
                .filter(|d| !d.is_empty());
            sink.case(Some(match description {
                Some(d) => format!("{label} {d:?}"),
                None => label.clone(),
            }));
            if let Some(case) = parse_case(item, &path, label, sink) {
                cases.push(case);
            }
            sink.case(None);
        }
    }
    top.finish(&[], sink);
    cases
}

fn parse_case(
    item: &Value,
    path: &str,
    label: String,
    sink: &mut Sink<'_>,
) -> Option<ValidatorCase> {
    let errors = sink.error_count();
    let mut case = Object::of(item, path, sink)?;
    let description = case.string("description", sink).unwrap_or_default();
    let want_match = case.boolean("wantMatch", sink);
    if want_match.is_none() && !case.has("wantMatch") {
        sink.warn(
            &case.path_of("wantMatch"),
            "absent: read as false, as istio-config-validator reads it, so the case passes only when the decision differs from what it names (write wantMatch: true to expect it)",
        );
    }
    let requests = match case.take("request") {
        Some(request) => unfold(request, &case.path_of("request"), sink),
        None => {
            sink.error(
                &case.path_of("request"),
                "missing: a case needs the request to decide",
            );
            Vec::new()
        }
    };
    let route = typed::<Vec<HttpRouteDestination>>(&mut case, "route", sink);
    let redirect = typed::<HttpRedirect>(&mut case, "redirect", sink);
    let rewrite = typed::<HttpRewrite>(&mut case, "rewrite", sink);
    let fault = typed::<HttpFaultInjection>(&mut case, "fault", sink);
    for (key, why) in [
        (
            "exponentialDelay",
            "Istio does not support exponential delays",
        ),
        ("http2Error", "Istio does not support HTTP/2 error aborts"),
    ] {
        let part = if key == "exponentialDelay" {
            "delay"
        } else {
            "abort"
        };
        if item
            .get("fault")
            .and_then(|f| f.get(part))
            .and_then(|p| p.get(key))
            .is_some_and(|v| !v.is_null())
        {
            sink.warn(
                &format!("{}.{part}.{key}", case.path_of("fault")),
                format!("not supported, not checked: {why}"),
            );
        }
    }
    let headers = typed::<Headers>(&mut case, "headers", sink);
    let delegate = typed::<Delegate>(&mut case, "delegate", sink);
    case.finish(&[], sink);
    let case = ValidatorCase {
        label,
        description,
        want_match,
        requests,
        route,
        redirect,
        rewrite,
        fault,
        headers,
        delegate,
    };
    if !case.names_anything() && sink.error_count() == errors {
        sink.warn(
            path,
            "names nothing to compare (route, redirect, rewrite, fault, headers or delegate): it passes whatever the decision",
        );
    }
    (sink.error_count() == errors).then_some(case)
}

/// Reads `key` as the Istio type `T` (as a VirtualService field is read): wrong values are
/// errors, unknown fields warnings.
fn typed<T: serde::de::DeserializeOwned>(
    object: &mut Object<'_>,
    key: &'static str,
    sink: &mut Sink<'_>,
) -> Option<T> {
    let path = object.path_of(key);
    let value = object.take(key)?;
    let (typed, errors, unknown) = read_istio::<T>(value, &path);
    for (field, message) in errors {
        sink.error(&field, message);
    }
    for field in unknown {
        sink.warn(
            &field,
            "unknown field, not read (Istio's API has no such field here)",
        );
    }
    typed
}

/// `Request.Unfold`: one request per uri × authority × method.
fn unfold(request: &Value, path: &str, sink: &mut Sink<'_>) -> Vec<Asked> {
    let Some(mut object) = Object::of(request, path, sink) else {
        return Vec::new();
    };
    let list = |object: &mut Object<'_>, key: &'static str, sink: &mut Sink<'_>| {
        let present = object.has(key);
        let values = object.strings(key, sink);
        if values.as_ref().is_some_and(Vec::is_empty) || !present {
            sink.error(
                &object.path_of(key),
                "empty or missing: the request needs at least one (istio-config-validator refuses an empty list too)",
            );
        }
        values.unwrap_or_default()
    };
    let authorities = list(&mut object, "authority", sink);
    let methods = list(&mut object, "method", sink);
    let uris = list(&mut object, "uri", sink);
    let headers = object.string_map("headers", sink).unwrap_or_default();
    object.finish(
        &[
            (
                "scheme",
                "istio-config-validator's request has no scheme: requests are plain HTTP",
            ),
            ("port", "give the port in the authority (svc-b:8080)"),
            ("queryParams", "give the query in the uri (/greet?name=xx)"),
        ],
        sink,
    );
    for (i, authority) in authorities.iter().enumerate() {
        if authority.is_empty() || authority.parse::<http::uri::Authority>().is_err() {
            sink.error(
                &format!("{path}.authority[{i}]"),
                format!("{authority:?} is not a valid authority (host or host:port)"),
            );
        }
    }
    for (i, method) in methods.iter().enumerate() {
        if http::Method::from_bytes(method.as_bytes()).is_err() {
            sink.error(
                &format!("{path}.method[{i}]"),
                format!("{method:?} is not a valid HTTP method"),
            );
        }
    }
    let mut paths = Vec::with_capacity(uris.len());
    for (i, uri) in uris.iter().enumerate() {
        match request_path(uri) {
            Some(p) => paths.push(p),
            None => sink.error(
                &format!("{path}.uri[{i}]"),
                format!("{uri:?} is not a path (/greet?name=xx) or an absolute URL"),
            ),
        }
    }
    for (name, value) in &headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value).is_err()
        {
            sink.error(
                &format!("{path}.headers.{name}"),
                format!("not a valid header ({name}: {value:?})"),
            );
        }
    }
    let count = paths
        .len()
        .saturating_mul(authorities.len())
        .saturating_mul(methods.len());
    if count > MAX_REQUESTS {
        sink.error(
            path,
            format!("unfolds into {count} requests (uri × authority × method), more than the {MAX_REQUESTS} meshroute runs for one case: split the case"),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for uri in &paths {
        for authority in &authorities {
            for method in &methods {
                out.push(Asked {
                    method: method.clone(),
                    authority: authority.clone(),
                    path: uri.clone(),
                    headers: headers.clone(),
                    tls: false,
                });
            }
        }
    }
    out
}

/// The path and query of a request `uri`: a path, or the path and query of an absolute URL.
fn request_path(uri: &str) -> Option<String> {
    if uri.starts_with('/') {
        return uri
            .parse::<http::uri::PathAndQuery>()
            .ok()
            .map(|p| p.as_str().to_owned());
    }
    let parsed: http::Uri = uri.parse().ok()?;
    parsed.scheme()?;
    parsed.authority()?;
    Some(
        parsed
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned(),
    )
}

/// Compares every part `case` names with what was decided for one of its requests.
pub(super) fn check(case: &ValidatorCase, observed: &Observed) -> Vec<Check> {
    let mut checks = Vec::new();
    let want = case.wants();
    let mut push = |field: &str, expected: String, (same, actual): (bool, String)| {
        checks.push(Check {
            field: field.to_owned(),
            expected: if want {
                expected
            } else {
                format!("not {expected}")
            },
            actual,
            passed: same == want,
            quoted: false,
        });
    };
    if let Some(route) = &case.route {
        push(
            "route",
            describe_route(route),
            compare_route(route, observed),
        );
    }
    if let Some(redirect) = &case.redirect {
        push(
            "redirect",
            describe_redirect(redirect),
            compare_redirect(redirect, observed),
        );
    }
    if let Some(rewrite) = &case.rewrite {
        push(
            "rewrite",
            describe_rewrite(rewrite),
            compare_rewrite(rewrite, observed),
        );
    }
    if let Some(fault) = &case.fault {
        push(
            "fault",
            describe_fault(fault),
            compare_fault(fault, observed),
        );
    }
    if let Some(headers) = &case.headers {
        push(
            "headers",
            describe_headers(headers),
            compare_headers(headers, &observed.request_ops, &observed.response_ops),
        );
    }
    if let Some(delegate) = &case.delegate {
        push(
            "delegate",
            describe_delegate(delegate),
            compare_delegate(delegate, observed),
        );
    }
    checks
}

// ---------------------------------------------------------------------------------------------
// route
// ---------------------------------------------------------------------------------------------

/// The destinations of an expected route that get traffic, and the weights it names: with
/// several destinations and some weight named, a destination without one has weight 0, and
/// weight-0 destinations get no traffic (Istio leaves them out of Envoy's weighted clusters:
/// `pilot/pkg/networking/core/route/route.go`); a single destination gets all of it, whatever
/// its weight.
fn expected_shares(route: &[HttpRouteDestination]) -> (Vec<&HttpRouteDestination>, bool) {
    let weighted = route.len() > 1 && route.iter().any(|d| d.weight.is_some());
    if !weighted {
        return (route.iter().collect(), false);
    }
    (
        route
            .iter()
            .filter(|d| d.weight.is_some_and(|w| w > 0))
            .collect(),
        true,
    )
}

fn describe_destination(d: &HttpRouteDestination) -> String {
    let mut text = d
        .destination
        .as_ref()
        .map_or_else(|| "(no destination)".to_owned(), |d| d.host.clone());
    if let Some(dest) = &d.destination {
        if !dest.subset.is_empty() {
            text.push_str(&format!(" subset {}", dest.subset));
        }
        if let Some(port) = dest.port.as_ref().filter(|p| p.number != 0) {
            text.push_str(&format!(" port {}", port.number));
        }
    }
    if let Some(weight) = d.weight {
        text.push_str(&format!(" weight {weight}"));
    }
    if let Some(headers) = &d.headers {
        text.push_str(&format!(" with {}", describe_headers(headers)));
    }
    text
}

fn describe_route(route: &[HttpRouteDestination]) -> String {
    match route {
        [] => "no destination".to_owned(),
        [one] => describe_destination(one),
        many => format!(
            "[{}]",
            many.iter()
                .map(describe_destination)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `svc-b.default.svc.cluster.local subset v2 port 8080 (95%)`.
fn describe_share(share: &Share, total: u64) -> String {
    let d = &share.destination;
    let mut text = d.host.clone();
    if let Some(subset) = &d.subset {
        text.push_str(&format!(" subset {subset}"));
    }
    if let Some(port) = d.port {
        text.push_str(&format!(" port {port}"));
    }
    #[allow(clippy::cast_precision_loss)]
    let percent = if total == 0 {
        0.0
    } else {
        share.count as f64 * 100.0 / total as f64
    };
    text.push_str(&format!(" ({})", trim_percent(percent)));
    text
}

fn trim_percent(percent: f64) -> String {
    let text = format!("{percent:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// What the decision did instead of routing (`redirect`, `noRoute`, ...).
fn no_destination(observed: &Observed) -> String {
    let report = &observed.report;
    match &report.redirect {
        Some(redirect) => format!(
            "no destination: a redirect ({} {})",
            redirect.status.unwrap_or(301),
            redirect.location
        ),
        None => match report.action.as_str() {
            "noRoute" => "no destination: no route (Envoy answers 404)".to_owned(),
            "directResponse" => format!(
                "no destination: a direct response ({})",
                report.direct_response.as_ref().map_or(0, |d| d.status)
            ),
            other => format!("no destination ({other})"),
        },
    }
}

fn compare_route(route: &[HttpRouteDestination], observed: &Observed) -> (bool, String) {
    if observed.split.is_empty() {
        return (route.is_empty(), no_destination(observed));
    }
    let total = observed.split_total;
    let actual = match observed.split.as_slice() {
        [one] => describe_share(one, total),
        many => format!(
            "[{}]",
            many.iter()
                .map(|s| describe_share(s, total))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let (expected, weighted) = expected_shares(route);
    if expected.len() != observed.split.len() {
        return (false, actual);
    }
    let weight_sum: i64 = expected
        .iter()
        .map(|d| i64::from(d.weight.unwrap_or(0)))
        .sum();
    let same = expected.iter().zip(&observed.split).all(|(e, share)| {
        let destination = match &e.destination {
            Some(d) => {
                let host_ok = host::resolve(&d.host, &observed.namespace) == share.destination.host;
                let subset_ok =
                    d.subset.is_empty() || share.destination.subset.as_deref() == Some(&d.subset);
                let port_ok = d.port.as_ref().is_none_or(|p| {
                    p.number == 0 || share.destination.port.map(u32::from) == Some(p.number)
                });
                host_ok && subset_ok && port_ok
            }
            None => true,
        };
        let weight = !weighted
            || shares_equal(
                share.count,
                total,
                i64::from(e.weight.unwrap_or(0)),
                weight_sum,
                observed.split_exact,
            );
        let headers = e
            .headers
            .as_ref()
            .is_none_or(|h| compare_headers(h, &share.request_ops, &share.response_ops).0);
        destination && weight && headers
    });
    (same, actual)
}

/// Whether `count` of `total` draws is the share `weight` of `sum` (exactly over a whole period,
/// else within a thousandth).
fn shares_equal(count: u64, total: u64, weight: i64, sum: i64, exact: bool) -> bool {
    if sum <= 0 || total == 0 {
        return false;
    }
    if exact {
        return i128::from(count) * i128::from(sum) == i128::from(weight) * i128::from(total);
    }
    #[allow(clippy::cast_precision_loss)]
    let (actual, expected) = (count as f64 / total as f64, weight as f64 / sum as f64);
    (actual - expected).abs() <= 0.001
}

// ---------------------------------------------------------------------------------------------
// redirect, rewrite, fault, headers, delegate
// ---------------------------------------------------------------------------------------------

fn describe_redirect(r: &HttpRedirect) -> String {
    let mut parts = Vec::new();
    for (name, value) in [
        ("uri", &r.uri),
        ("prefixRewrite", &r.prefix_rewrite),
        ("authority", &r.authority),
        ("scheme", &r.scheme),
    ] {
        if !value.is_empty() {
            parts.push(format!("{name} {value}"));
        }
    }
    if let Some(port) = r.port {
        parts.push(format!("port {port}"));
    }
    if let Some(derive) = r.derive_port {
        parts.push(format!("derivePort {}", derive.as_str()));
    }
    if let Some(code) = r.redirect_code {
        parts.push(format!("redirectCode {code}"));
    }
    format!("a redirect ({})", parts.join(", "))
}

fn compare_redirect(expected: &HttpRedirect, observed: &Observed) -> (bool, String) {
    let Some(seen) = &observed.redirect else {
        return (false, format!("not a redirect: {}", observed.report.action));
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let same = (expected.uri.is_empty() || text(&seen.uri) == expected.uri)
        && (expected.prefix_rewrite.is_empty()
            || text(&seen.prefix_rewrite) == expected.prefix_rewrite)
        && (expected.authority.is_empty() || text(&seen.authority) == expected.authority)
        && (expected.scheme.is_empty() || text(&seen.scheme) == expected.scheme)
        && expected
            .port
            .is_none_or(|p| seen.port.map(u32::from) == Some(p))
        && expected.derive_port.is_none_or(|d| {
            seen.derive_from_request == (d == RedirectPortSelection::FromRequestPort)
        })
        && expected
            .redirect_code
            .is_none_or(|c| u32::from(seen.status) == c);
    let mut parts = Vec::new();
    for (name, value) in [
        ("uri", &seen.uri),
        ("prefixRewrite", &seen.prefix_rewrite),
        ("authority", &seen.authority),
        ("scheme", &seen.scheme),
    ] {
        if let Some(value) = value {
            parts.push(format!("{name} {value}"));
        }
    }
    if let Some(port) = seen.port {
        parts.push(format!("port {port}"));
    }
    if seen.derive_from_request {
        parts.push("derivePort FROM_REQUEST_PORT".to_owned());
    }
    parts.push(format!("redirectCode {}", seen.status));
    (
        same,
        format!("a redirect ({}) to {}", parts.join(", "), seen.location),
    )
}

fn describe_rewrite(r: &HttpRewrite) -> String {
    let mut parts = Vec::new();
    if !r.uri.is_empty() {
        parts.push(format!("uri {}", r.uri));
    }
    if !r.authority.is_empty() {
        parts.push(format!("authority {}", r.authority));
    }
    if let Some(regex) = &r.uri_regex_rewrite {
        parts.push(format!(
            "uriRegexRewrite {:?} -> {:?}",
            regex.pattern, regex.rewrite
        ));
    }
    format!("a rewrite ({})", parts.join(", "))
}

fn compare_rewrite(expected: &HttpRewrite, observed: &Observed) -> (bool, String) {
    let same = (expected.uri.is_empty()
        || observed.rewrite_uri.as_deref() == Some(expected.uri.as_str()))
        && (expected.authority.is_empty()
            || observed.authority_rewrite.as_deref() == Some(expected.authority.as_str()))
        && expected.uri_regex_rewrite.as_ref().is_none_or(|r| {
            observed
                .rewrite_regex
                .as_ref()
                .is_some_and(|(pattern, replacement)| {
                    *pattern == r.pattern && *replacement == envoy_replacement(&r.rewrite)
                })
        });
    let mut parts = Vec::new();
    if let Some(uri) = &observed.rewrite_uri {
        parts.push(format!("uri {uri}"));
    }
    if let Some(authority) = &observed.authority_rewrite {
        parts.push(format!("authority {authority}"));
    }
    if let Some((pattern, replacement)) = &observed.rewrite_regex {
        parts.push(format!("uriRegexRewrite {pattern:?} -> {replacement:?}"));
    }
    let actual = if parts.is_empty() {
        "no rewrite".to_owned()
    } else {
        format!("a rewrite ({})", parts.join(", "))
    };
    (same, actual)
}

fn describe_fault(f: &HttpFaultInjection) -> String {
    let mut parts = Vec::new();
    if let Some(delay) = &f.delay {
        let mut text = "delay".to_owned();
        if let Some(d) = delay.fixed_delay.and_then(|d| d.to_std()) {
            text.push_str(&format!(" {}", crate::util::duration::seconds(d)));
        }
        if let Some(p) = delay.percentage {
            text.push_str(&format!(" to {}", trim_percent(p.value)));
        } else if let Some(p) = delay.percent {
            text.push_str(&format!(" to {p}%"));
        }
        parts.push(text);
    }
    if let Some(abort) = &f.abort {
        let mut text = "abort".to_owned();
        if let Some(status) = abort.http_status {
            text.push_str(&format!(" {status}"));
        }
        if let Some(status) = &abort.grpc_status {
            text.push_str(&format!(" grpc {status}"));
        }
        if let Some(p) = abort.percentage {
            text.push_str(&format!(" to {}", trim_percent(p.value)));
        }
        parts.push(text);
    }
    format!("a fault ({})", parts.join("; "))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn compare_fault(expected: &HttpFaultInjection, observed: &Observed) -> (bool, String) {
    let Some(fault) = &observed.fault else {
        return (false, "no fault".to_owned());
    };
    let delay_ok = expected.delay.as_ref().is_none_or(|e| {
        fault.delay.is_some_and(|(duration, percent)| {
            e.fixed_delay.is_none_or(|d| d.to_std() == Some(duration))
                && match (e.percentage, e.percent) {
                    (Some(p), _) => close(p.value, percent),
                    (None, Some(p)) => close(f64::from(p), percent),
                    (None, None) => true,
                }
        })
    });
    let abort_ok = expected.abort.as_ref().is_none_or(|e| {
        fault.abort.as_ref().is_some_and(|(abort, percent)| {
            let kind = match abort {
                Abort::Http(status) => {
                    e.http_status.is_none_or(|s| i32::from(*status) == s) && e.grpc_status.is_none()
                }
                Abort::Grpc(status) => {
                    e.grpc_status.as_ref().is_none_or(|s| s == status) && e.http_status.is_none()
                }
            };
            kind && e.percentage.is_none_or(|p| close(p.value, *percent))
        })
    });
    let mut parts = Vec::new();
    if let Some((duration, percent)) = fault.delay {
        parts.push(format!(
            "delay {} to {}",
            crate::util::duration::seconds(duration),
            trim_percent(percent)
        ));
    }
    if let Some((abort, percent)) = &fault.abort {
        let what = match abort {
            Abort::Http(status) => status.to_string(),
            Abort::Grpc(status) => format!("grpc {status}"),
        };
        parts.push(format!("abort {what} to {}", trim_percent(*percent)));
    }
    (
        delay_ok && abort_ok,
        format!("a fault ({})", parts.join("; ")),
    )
}

fn describe_operations(direction: &str, ops: &HeaderOperations) -> Vec<String> {
    let mut parts = Vec::new();
    for (name, value) in &ops.set {
        parts.push(format!("{direction} set {name}: {value}"));
    }
    for (name, value) in &ops.add {
        parts.push(format!("{direction} add {name}: {value}"));
    }
    for name in &ops.remove {
        parts.push(format!("{direction} remove {name}"));
    }
    parts
}

fn describe_headers(h: &Headers) -> String {
    let mut parts = Vec::new();
    if let Some(request) = &h.request {
        parts.extend(describe_operations("request", request));
    }
    if let Some(response) = &h.response {
        parts.extend(describe_operations("response", response));
    }
    format!("headers ({})", parts.join(", "))
}

/// Whether every operation `expected` names is one Envoy applies (`ops`): set, add and remove
/// by header name (any case) and value.
fn applied(expected: &HeaderOperations, ops: &HeaderOps) -> bool {
    let has = |name: &str, value: &str, append: bool| {
        ops.ops.iter().any(|op| {
            op.append == append
                && op.name.as_str().eq_ignore_ascii_case(name)
                && op.value.as_bytes() == value.as_bytes()
        })
    };
    expected.set.iter().all(|(n, v)| has(n, v, false))
        && expected.add.iter().all(|(n, v)| has(n, v, true))
        && expected.remove.iter().all(|n| {
            ops.remove
                .iter()
                .any(|r| r.as_str().eq_ignore_ascii_case(n))
        })
}

fn describe_ops(direction: &str, ops: &HeaderOps) -> Vec<String> {
    let mut parts: Vec<String> = ops
        .remove
        .iter()
        .map(|n| format!("{direction} remove {n}"))
        .collect();
    parts.extend(ops.ops.iter().map(|op| {
        format!(
            "{direction} {} {}: {}",
            if op.append { "add" } else { "set" },
            op.name,
            String::from_utf8_lossy(op.value.as_bytes())
        )
    }));
    parts
}

fn compare_headers(
    expected: &Headers,
    request: &HeaderOps,
    response: &HeaderOps,
) -> (bool, String) {
    let same = expected
        .request
        .as_ref()
        .is_none_or(|e| applied(e, request))
        && expected
            .response
            .as_ref()
            .is_none_or(|e| applied(e, response));
    let mut parts = describe_ops("request", request);
    parts.extend(describe_ops("response", response));
    let actual = if parts.is_empty() {
        "no header operations".to_owned()
    } else {
        format!("headers ({})", parts.join(", "))
    };
    (same, actual)
}

fn describe_delegate(d: &Delegate) -> String {
    if d.namespace.is_empty() {
        format!("delegated to {}", d.name)
    } else {
        format!("delegated to {}/{}", d.namespace, d.name)
    }
}

fn compare_delegate(expected: &Delegate, observed: &Observed) -> (bool, String) {
    match &observed.delegate {
        Some((name, namespace)) => (
            *name == expected.name
                && (expected.namespace.is_empty() || *namespace == expected.namespace),
            format!("delegated to {namespace}/{name}"),
        ),
        None => (false, "not delegated".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(document: serde_json::Value) -> (Vec<ValidatorCase>, Vec<String>, Vec<String>) {
        let origin = crate::config::Origin::default();
        let mut budget = crate::util::regex::RegexBudget::default();
        let mut sink = Sink::new("t.yaml", &origin, &mut budget);
        let cases = parse(&document, &mut sink);
        let (errors, warnings) = sink.finish();
        let show = |p: &super::super::fields::Problem| {
            format!(
                "{} | {} | {}",
                p.case.clone().unwrap_or_default(),
                p.field,
                p.message
            )
        };
        (
            cases,
            errors.iter().map(show).collect(),
            warnings.iter().map(show).collect(),
        )
    }

    /// testcase.go `Request.Unfold`: one input per uri × authority × method, in that order;
    /// `uri` keeps its query (Istio routes on it).
    #[test]
    fn requests_unfold_uri_then_authority_then_method() {
        let (cases, errors, warnings) = read(serde_json::json!({"testCases": [{
            "description": "d", "wantMatch": true,
            "request": {"authority": ["a", "b:8080"], "method": ["GET", "POST"], "uri": ["/x?q=1", "/y"],
                        "headers": {"x-a": "1", "x-b": true}},
            "route": [{"destination": {"host": "svc"}}]
        }]}));
        assert!(
            errors.is_empty() && warnings.is_empty(),
            "{errors:?} {warnings:?}"
        );
        let lines: Vec<String> = cases[0].requests.iter().map(Asked::line).collect();
        assert_eq!(
            lines,
            [
                "GET http://a/x?q=1",
                "POST http://a/x?q=1",
                "GET http://b:8080/x?q=1",
                "POST http://b:8080/x?q=1",
                "GET http://a/y",
                "POST http://a/y",
                "GET http://b:8080/y",
                "POST http://b:8080/y",
            ]
        );
        assert_eq!(
            cases[0].requests[0].headers,
            [
                ("x-a".to_owned(), "1".to_owned()),
                ("x-b".to_owned(), "true".to_owned())
            ]
        );
    }

    /// A case unfolds into at most 10,000 requests: beyond, it is an error, not a long run.
    #[test]
    fn unfolding_is_bounded() {
        let many: Vec<String> = (0..30).map(|i| format!("/{i}")).collect();
        let hosts: Vec<String> = (0..30).map(|i| format!("h{i}")).collect();
        let (cases, errors, _) = read(serde_json::json!({"testCases": [{
            "wantMatch": true,
            "request": {"authority": hosts, "method": many.iter().map(|_| "GET").collect::<Vec<_>>(), "uri": many},
            "route": [{"destination": {"host": "svc"}}]
        }]}));
        assert!(cases.is_empty());
        assert_eq!(
            errors,
            [
                "testCases[0] | testCases[0].request | unfolds into 27000 requests (uri × authority × method), more than the 10000 meshroute runs for one case: split the case"
            ]
        );
    }

    /// Malformed cases are errors that name the case and the field, and a case with an error is
    /// not run; keys that are not read are warnings (unknown, or not supported), never dropped
    /// silently.
    #[test]
    fn malformed_cases_are_errors_with_their_field() {
        let (cases, errors, warnings) = read(serde_json::json!({"testCases": [
            {"description": "no request", "wantMatch": true, "route": [{"destination": {"host": "a"}}]},
            {"description": "bad lists", "wantMatch": "yes",
             "request": {"authority": [], "method": ["G E T"], "uri": ["relative", 3]},
             "route": [{"destination": {"host": "a"}, "weight": "x"}]},
            {"description": "unknown keys", "wantMatch": true, "mirror": {"host": "m"},
             "request": {"authority": ["a"], "method": ["GET"], "uri": ["/"], "port": 80},
             "route": [{"destination": {"host": "a", "subsets": "v1"}}],
             "fault": {"delay": {"exponentialDelay": "1s", "fixedDelay": "1s"}}},
            {"description": "no want", "request": {"authority": ["a"], "method": ["GET"], "uri": ["/"]}},
        ], "extra": 1}));
        assert_eq!(
            errors,
            [
                "testCases[0] \"no request\" | testCases[0].request | missing: a case needs the request to decide",
                "testCases[1] \"bad lists\" | testCases[1].wantMatch | expected true or false, found a string",
                "testCases[1] \"bad lists\" | testCases[1].request.authority | empty or missing: the request needs at least one (istio-config-validator refuses an empty list too)",
                "testCases[1] \"bad lists\" | testCases[1].request.uri[1] | expected a string, found a number",
                "testCases[1] \"bad lists\" | testCases[1].request.method[0] | \"G E T\" is not a valid HTTP method",
                "testCases[1] \"bad lists\" | testCases[1].request.uri[0] | \"relative\" is not a path (/greet?name=xx) or an absolute URL",
                "testCases[1] \"bad lists\" | testCases[1].route[0].weight | invalid type: string \"x\", expected i32",
            ]
        );
        let fields: Vec<&str> = warnings
            .iter()
            .map(|w| w.split(" | ").nth(1).unwrap_or_default())
            .collect();
        assert_eq!(
            fields,
            [
                "testCases[2].request.port",
                "testCases[2].route[0].destination.subsets",
                "testCases[2].fault.delay.exponentialDelay",
                "testCases[2].mirror",
                "testCases[3].wantMatch",
                "testCases[3]",
                "extra",
            ],
            "{warnings:#?}"
        );
        assert!(warnings[0].contains("not supported"), "{}", warnings[0]);
        assert!(warnings[3].contains("unknown key"), "{}", warnings[3]);
        // Only the cases without errors are run.
        let run: Vec<&str> = cases.iter().map(|c| c.description.as_str()).collect();
        assert_eq!(run, ["unknown keys", "no want"]);
    }
}
