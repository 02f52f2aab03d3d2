//! Compiled matchers: the request-time half of `HTTPMatchRequest`.
//!
//! Everything here is built once by `compile` from validated config, so matching cannot fail and
//! allocates nothing. One function decides whether a match holds
//! ([`MatchRequest::first_failure`]): routing asks whether it found a failure, `explain` renders
//! the failure it found, so the two can never disagree. Semantics follow Istio's translation to
//! Envoy (`pilot/pkg/networking/core/route/route.go` `TranslateRouteMatch` in istio/istio) and
//! Envoy's matchers:
//!
//! - `uri` is matched against the path **without** the query string (Envoy `PathMatcher` removes
//!   query and fragment first), after RFC 3986 dot-segment removal (Istio's default
//!   `pathNormalization: BASE`).
//! - A regex is RE2, matched against the **whole** value (`safe_regex` is a full match): patterns
//!   are compiled as `^(?:...)$`.
//! - `ignoreUriCase` applies to exact and prefix only; a regex stays case-sensitive unless it says
//!   `(?i)` (envoyproxy/envoy `api/envoy/config/route/v3/route_components.proto`
//!   `RouteMatch.case_sensitive`: "ignored for safe_regex matching").
//! - Header names are case-insensitive (Envoy lower-cases them); values are case-sensitive.
//!   Repeated headers are joined with `,` before matching.
//! - `{}` and `regex: "*"` mean "present" (route.go `canBeConvertedToPresentMatch`).
//! - `withoutHeaders` inverts the matcher and treats a missing header as empty (Istio ≥ 1.22):
//!   `withoutHeaders: {h: {exact: v}}` matches when `h` is absent.
//! - Query parameters: the first occurrence of the key, raw (still percent-encoded); `?key` has
//!   the value `""`; a missing parameter fails every matcher.

use http::HeaderMap;

use crate::util::{bytes, query};
use http::header::HeaderName;
use regex::Regex;

/// A compiled `StringMatch`.
#[derive(Debug, Clone)]
pub(crate) enum MatchString {
    /// The value equals this string.
    Exact(Box<str>),
    /// The value starts with this string.
    Prefix(Box<str>),
    /// The whole value matches (anchored at compile time).
    Regex(Box<MatchRegex>),
    /// The value exists (any content, including empty).
    Present,
}

impl MatchString {
    /// Whether `value` matches (case-sensitive).
    #[inline(always)]
    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            MatchString::Exact(s) => bytes::eq(value, s),
            MatchString::Prefix(s) => value
                .as_bytes()
                .get(..s.len())
                .is_some_and(|head| bytes::bytes_eq(head, s.as_bytes())),
            MatchString::Regex(r) => r.matches(value),
            MatchString::Present => true,
        }
    }

    /// Whether `value` matches, ignoring ASCII case for exact and prefix (not for regex).
    fn matches_ignore_case(&self, value: &str) -> bool {
        match self {
            MatchString::Exact(s) => value.eq_ignore_ascii_case(s),
            MatchString::Prefix(s) => value
                .get(..s.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(s)),
            MatchString::Regex(_) | MatchString::Present => self.matches(value),
        }
    }

    /// The matched prefix length for `prefix_rewrite`: the prefix for a prefix match, the whole
    /// value otherwise.
    pub(crate) fn prefix_len(&self, value: &str) -> usize {
        match self {
            MatchString::Prefix(s) => s.len().min(value.len()),
            _ => value.len(),
        }
    }
}

impl std::fmt::Display for MatchString {
    /// `exact "x"`, `prefix "x"`, `regex "x"` (as written), `present`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatchString::Exact(s) => write!(f, "exact {s:?}"),
            MatchString::Prefix(s) => write!(f, "prefix {s:?}"),
            MatchString::Regex(r) => {
                let pattern = r.as_str();
                let pattern = pattern
                    .strip_prefix("^(?:")
                    .and_then(|p| p.strip_suffix(")$"))
                    .unwrap_or(pattern);
                write!(f, "regex {pattern:?}")
            }
            MatchString::Present => f.write_str("present"),
        }
    }
}

/// A full-match regex with the literal text every match must start with, checked first: most
/// values a route table tries against a regex fail on their first bytes, and a prefix compare
/// is much cheaper than entering the regex engine.
#[derive(Debug, Clone)]
pub(crate) struct MatchRegex {
    regex: Regex,
    prefix: Box<str>,
}

impl MatchRegex {
    /// Compiles `pattern` (as written in the config) for full matching.
    pub(crate) fn new(pattern: &str) -> Result<Self, regex::Error> {
        Ok(Self {
            regex: full_match_regex(pattern)?,
            prefix: literal_prefix(pattern).into(),
        })
    }

    // Not inlined: the regex search would make every caller's frame large (callgrind: the
    // exact arm of `MatchString::matches` paid 20 instructions of register saves for it).
    #[inline(never)]
    fn matches(&self, value: &str) -> bool {
        value.starts_with(&*self.prefix) && self.regex.is_match(value)
    }

    /// The literal text every match starts with (empty when not fixed).
    pub(crate) fn literal_prefix(&self) -> &str {
        &self.prefix
    }
}

impl std::ops::Deref for MatchRegex {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        &self.regex
    }
}

/// The literal text a match of `pattern` must begin with: the characters before the first
/// regex operator, minus one made optional by a following quantifier. Empty (no prefilter)
/// for patterns with alternation or inline flags, where the first characters are not fixed.
fn literal_prefix(pattern: &str) -> String {
    if pattern.contains('|') || pattern.starts_with("(?") {
        return String::new();
    }
    let mut prefix = String::new();
    for c in pattern.chars() {
        match c {
            '*' | '?' | '{' => {
                prefix.pop();
                break;
            }
            '\\' | '.' | '[' | ']' | '(' | ')' | '}' | '+' | '^' | '$' => break,
            c => prefix.push(c),
        }
    }
    prefix
}

/// Compiles a full-match regex the way Envoy runs `safe_regex`.
pub(crate) fn full_match_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 22)
        .build()
}

/// A compiled header condition from `headers`, `withoutHeaders`, `method`, `scheme` or
/// `authority`.
#[derive(Debug, Clone)]
pub(crate) struct MatchHeader {
    pub(crate) name: HeaderName,
    pub(crate) matcher: MatchString,
    /// `withoutHeaders`: the result is inverted.
    pub(crate) invert: bool,
}

impl MatchHeader {
    fn matches(&self, headers: &HeaderMap) -> bool {
        let mut values = headers.get_all(&self.name).iter();
        let first = values.next();
        let result = match first {
            // Envoy: a missing header fails every matcher but presence; withoutHeaders sets
            // `treat_missing_header_as_empty` unless it is a presence matcher.
            None => {
                if self.invert && !matches!(self.matcher, MatchString::Present) {
                    self.matcher.matches("")
                } else {
                    false
                }
            }
            Some(first) => match values.next() {
                // UTF-8, not only ASCII (`to_str`): a regex sees `é` as Envoy's RE2 does.
                None => match std::str::from_utf8(first.as_bytes()) {
                    Ok(v) => self.matcher.matches(v),
                    Err(_) => self.matches_bytes(first.as_bytes()),
                },
                Some(_) => self.matches_joined(headers),
            },
        };
        result != self.invert
    }

    fn matches_bytes(&self, value: &[u8]) -> bool {
        // Non-UTF-8 header values: exact and prefix compare bytes; a regex sees no match.
        match &self.matcher {
            MatchString::Exact(s) => bytes::bytes_eq(value, s.as_bytes()),
            MatchString::Prefix(s) => value
                .get(..s.len())
                .is_some_and(|head| bytes::bytes_eq(head, s.as_bytes())),
            MatchString::Regex(_) => false,
            MatchString::Present => true,
        }
    }

    /// Repeated header: Envoy matches against all values joined with `,`. Joined into a stack
    /// buffer; only values longer than the buffer allocate.
    fn matches_joined(&self, headers: &HeaderMap) -> bool {
        let mut buffer = [0u8; 1024];
        let mut len = 0usize;
        let mut overflow: Option<Vec<u8>> = None;
        for (i, value) in headers.get_all(&self.name).iter().enumerate() {
            let piece = value.as_bytes();
            let sep: &[u8] = if i == 0 { b"" } else { b"," };
            if let Some(heap) = overflow.as_mut() {
                heap.extend_from_slice(sep);
                heap.extend_from_slice(piece);
                continue;
            }
            let needed = len + sep.len() + piece.len();
            if let Some(dst) = buffer.get_mut(len..needed) {
                let (a, b) = dst.split_at_mut(sep.len());
                a.copy_from_slice(sep);
                b.copy_from_slice(piece);
                len = needed;
            } else {
                let mut heap = buffer.get(..len).unwrap_or_default().to_vec();
                heap.extend_from_slice(sep);
                heap.extend_from_slice(piece);
                overflow = Some(heap);
            }
        }
        let joined: &[u8] = match &overflow {
            Some(heap) => heap,
            None => buffer.get(..len).unwrap_or_default(),
        };
        match std::str::from_utf8(joined) {
            Ok(text) => self.matcher.matches(text),
            Err(_) => self.matches_bytes(joined),
        }
    }
}

/// A compiled query parameter condition.
#[derive(Debug, Clone)]
pub(crate) struct MatchQuery {
    pub(crate) key: query::QueryKey,
    pub(crate) matcher: MatchString,
}

/// A pseudo-header (or otherwise special) condition written as a `headers` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pseudo {
    /// `:method`.
    Method,
    /// `:authority` (and `host`).
    Authority,
    /// `:scheme`.
    Scheme,
    /// `:path`: the raw path with its query string.
    Path,
    /// A value meshroute cannot see in-process (JWT claims, `:status`): always absent.
    Unavailable,
}

/// A condition on a [`Pseudo`] header.
#[derive(Debug, Clone)]
pub(crate) struct MatchPseudo {
    pub(crate) pseudo: Pseudo,
    pub(crate) matcher: MatchString,
    pub(crate) invert: bool,
}

impl MatchPseudo {
    fn matches(&self, request: &RequestView<'_>) -> bool {
        let value = match self.pseudo {
            Pseudo::Method => Some(request.method),
            Pseudo::Authority => Some(request.authority),
            Pseudo::Scheme => Some(request.scheme),
            Pseudo::Path => Some(request.path_and_query),
            Pseudo::Unavailable => None,
        };
        let result = match value {
            Some(v) => self.matcher.matches(v),
            None => {
                self.invert
                    && !matches!(self.matcher, MatchString::Present)
                    && self.matcher.matches("")
            }
        };
        result != self.invert
    }
}

/// The request as the matchers see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestView<'r> {
    /// Normalized path without query or fragment.
    pub(crate) path: &'r str,
    /// Raw query string (without `?`), empty when none.
    pub(crate) query: &'r str,
    /// The raw `:path` (path and query as sent).
    pub(crate) path_and_query: &'r str,
    pub(crate) method: &'r str,
    pub(crate) scheme: &'r str,
    /// `:authority` as sent, port included.
    pub(crate) authority: &'r str,
    pub(crate) headers: &'r HeaderMap,
}

/// A compiled `HTTPMatchRequest` (the request-time conditions only; config-time selectors are
/// applied when the route table is looked up).
#[derive(Debug, Clone, Default)]
pub(crate) struct MatchRequest {
    pub(crate) uri: Option<MatchString>,
    pub(crate) ignore_uri_case: bool,
    pub(crate) method: Option<MatchString>,
    pub(crate) scheme: Option<MatchString>,
    pub(crate) authority: Option<MatchString>,
    pub(crate) headers: Vec<MatchHeader>,
    pub(crate) pseudo: Vec<MatchPseudo>,
    pub(crate) query: Vec<MatchQuery>,
}

/// The first condition of a match that fails for a request, as found by
/// [`MatchRequest::first_failure`]: what routing skips the match for and `explain` renders.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure<'m> {
    Uri(&'m MatchString),
    Method(&'m MatchString),
    Scheme(&'m MatchString),
    Authority(&'m MatchString),
    Header(&'m MatchHeader),
    Pseudo(&'m MatchPseudo),
    Query(&'m MatchQuery),
}

impl MatchRequest {
    /// The first condition that fails for `request`, in the order Envoy evaluates a route's
    /// match (path, then headers, then query parameters); `None` when all hold. The one place a
    /// match is decided. Allocates nothing.
    pub(crate) fn first_failure(&self, request: &RequestView<'_>) -> Option<Failure<'_>> {
        if let Some(uri) = &self.uri {
            let ok = if self.ignore_uri_case {
                uri.matches_ignore_case(request.path)
            } else {
                uri.matches(request.path)
            };
            if !ok {
                return Some(Failure::Uri(uri));
            }
        }
        if let Some(method) = self.method.as_ref().filter(|m| !m.matches(request.method)) {
            return Some(Failure::Method(method));
        }
        if let Some(scheme) = self.scheme.as_ref().filter(|m| !m.matches(request.scheme)) {
            return Some(Failure::Scheme(scheme));
        }
        if let Some(authority) = self
            .authority
            .as_ref()
            .filter(|m| !m.matches(request.authority))
        {
            return Some(Failure::Authority(authority));
        }
        if let Some(header) = self.headers.iter().find(|h| !h.matches(request.headers)) {
            return Some(Failure::Header(header));
        }
        if let Some(pseudo) = self.pseudo.iter().find(|p| !p.matches(request)) {
            return Some(Failure::Pseudo(pseudo));
        }
        self.query
            .iter()
            .find(|q| {
                !q.key
                    .first_value(request.query)
                    .is_some_and(|v| q.matcher.matches(v))
            })
            .map(Failure::Query)
    }

    /// Istio's `IsCatchAllRoute`: the translation is path prefix `/` (or regex `.*`, or no path)
    /// with no header or query conditions.
    pub(crate) fn is_catch_all(&self) -> bool {
        let path_all = match &self.uri {
            None => true,
            Some(MatchString::Prefix(p)) => &**p == "/",
            Some(MatchString::Regex(r)) => r.as_str() == "^(?:.*)$",
            Some(_) => false,
        };
        path_all
            && self.method.is_none()
            && self.scheme.is_none()
            && self.authority.is_none()
            && self.headers.is_empty()
            && self.pseudo.is_empty()
            && self.query.is_empty()
    }
}

impl Failure<'_> {
    /// The failed condition and the value seen, for explanations
    /// (`queryParams.name: exact "xx" ≠ "yy"`). Allocates.
    pub(crate) fn describe(&self, request: &RequestView<'_>) -> String {
        let describe = |field: &str, matcher: &MatchString, seen: Option<&str>, invert: bool| {
            let wants = if invert {
                format!("not {matcher}")
            } else {
                matcher.to_string()
            };
            match seen {
                Some(v) => format!("{field}: {wants} ≠ {v:?}"),
                None => format!("{field}: absent (wants {wants})"),
            }
        };
        match *self {
            Failure::Uri(m) => describe("uri", m, Some(request.path), false),
            Failure::Method(m) => describe("method", m, Some(request.method), false),
            Failure::Scheme(m) => describe("scheme", m, Some(request.scheme), false),
            Failure::Authority(m) => describe("authority", m, Some(request.authority), false),
            Failure::Header(h) => {
                let values: Vec<&str> = request
                    .headers
                    .get_all(&h.name)
                    .iter()
                    .map(|v| std::str::from_utf8(v.as_bytes()).unwrap_or("<binary>"))
                    .collect();
                let seen = (!values.is_empty()).then(|| values.join(","));
                let field = if h.invert {
                    "withoutHeaders"
                } else {
                    "headers"
                };
                describe(
                    &format!("{field}.{}", h.name),
                    &h.matcher,
                    seen.as_deref(),
                    h.invert,
                )
            }
            Failure::Pseudo(p) => {
                let (field, seen) = match p.pseudo {
                    Pseudo::Method => (":method", Some(request.method)),
                    Pseudo::Authority => (":authority", Some(request.authority)),
                    Pseudo::Scheme => (":scheme", Some(request.scheme)),
                    Pseudo::Path => (":path", Some(request.path_and_query)),
                    Pseudo::Unavailable => {
                        ("(JWT claim / :status, not available in-process)", None)
                    }
                };
                describe(&format!("headers.{field}"), &p.matcher, seen, p.invert)
            }
            Failure::Query(q) => describe(
                &format!("queryParams.{}", q.key),
                &q.matcher,
                q.key.first_value(request.query),
                false,
            ),
        }
    }
}

/// Removes dot segments (RFC 3986 §5.2.4) when the path has any, as Envoy's `normalize_path`
/// does; percent-encoded dots (`%2e`, `%2E`) count as dots there (Envoy's canonicalizer decodes
/// them). Paths without `/.` or `/%2e` are returned as they are (no allocation).
#[inline]
pub(crate) fn normalize_path(path: &str) -> std::borrow::Cow<'_, str> {
    // Most paths have neither a dot nor a percent sign: one pass, eight bytes at a time.
    if !bytes::contains_either(path.as_bytes(), b'.', b'%') {
        return std::borrow::Cow::Borrowed(path);
    }
    remove_dot_segments(path)
}

/// [`normalize_path`] for a path with a dot or a percent sign.
#[cold]
#[inline(never)]
fn remove_dot_segments(path: &str) -> std::borrow::Cow<'_, str> {
    let has_dot_segment = path.contains("/.")
        || path.as_bytes().windows(4).any(|w| {
            w.first() == Some(&b'/') && w.get(1..).is_some_and(|r| r.eq_ignore_ascii_case(b"%2e"))
        });
    if !has_dot_segment {
        return std::borrow::Cow::Borrowed(path);
    }
    let is_dot = |s: &str| s == "." || s.eq_ignore_ascii_case("%2e");
    let is_dot_dot = |s: &str| {
        let lower = s.to_ascii_lowercase();
        matches!(lower.as_str(), ".." | "%2e." | ".%2e" | "%2e%2e")
    };
    let mut out: Vec<&str> = Vec::new();
    let last = path.rsplit('/').next().unwrap_or("");
    let trailing = path.ends_with('/') || is_dot(last) || is_dot_dot(last);
    for segment in path.split('/').skip(1) {
        if is_dot(segment) {
            continue;
        }
        if is_dot_dot(segment) {
            out.pop();
            continue;
        }
        out.push(segment);
    }
    let mut normalized = String::with_capacity(path.len());
    for segment in &out {
        normalized.push('/');
        normalized.push_str(segment);
    }
    if trailing && !normalized.ends_with('/') {
        normalized.push('/');
    }
    if normalized.is_empty() {
        normalized.push('/');
    }
    std::borrow::Cow::Owned(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prefilter never rejects a value the regex accepts.
    #[test]
    fn literal_prefixes_are_required_text_only() {
        assert_eq!(literal_prefix("/items/[0-9]+/r2"), "/items/");
        assert_eq!(literal_prefix("/ab?c"), "/a");
        assert_eq!(literal_prefix("/a+b"), "/a");
        assert_eq!(literal_prefix("/a|/b"), "");
        assert_eq!(literal_prefix("(?i)/api"), "");
        assert_eq!(literal_prefix(".*"), "");
        assert_eq!(literal_prefix("/v1/status"), "/v1/status");
        assert_eq!(literal_prefix("/x{2}"), "/");
        for (pattern, value) in [
            ("/ab?c", "/ac"),
            ("/a+b", "/aab"),
            ("/x{2}", "/xx"),
            ("/a|/b", "/b"),
        ] {
            let m = MatchRegex::new(pattern).unwrap();
            assert!(m.matches(value), "{pattern} {value}");
        }
    }

    /// A header value that is UTF-8 but not ASCII is text to every matcher, as to Envoy (found
    /// by the `route` fuzz target: a regex saw no match, unlike for the same value repeated).
    #[test]
    fn non_ascii_header_values_are_text() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-a",
            http::HeaderValue::from_bytes("é".as_bytes()).unwrap(),
        );
        let header = |matcher| MatchHeader {
            name: HeaderName::from_static("x-a"),
            matcher,
            invert: false,
        };
        assert!(header(MatchString::Exact("é".into())).matches(&headers));
        assert!(header(MatchString::Prefix("é".into())).matches(&headers));
        let regex = |p: &str| MatchString::Regex(Box::new(MatchRegex::new(p).unwrap()));
        assert!(header(regex("é")).matches(&headers));
        assert!(header(regex(".")).matches(&headers));
        headers.append("x-a", http::HeaderValue::from_static("b"));
        assert!(header(regex("é,b")).matches(&headers));
        // Not UTF-8: bytes for exact and prefix, no match for a regex.
        headers.insert("x-a", http::HeaderValue::from_bytes(&[b'a', 0xff]).unwrap());
        assert!(header(MatchString::Prefix("a".into())).matches(&headers));
        assert!(!header(regex(".*")).matches(&headers));
    }

    #[test]
    fn dot_segments_are_removed() {
        assert_eq!(normalize_path("/a/./b/../c"), "/a/c");
        assert_eq!(normalize_path("/a/b/.."), "/a/");
        assert_eq!(normalize_path("/.."), "/");
        assert_eq!(normalize_path("/plain/path"), "/plain/path");
        // Envoy path_utility_test: percent-encoded dots are dot segments too.
        assert_eq!(normalize_path("/a/b/%2E%2E/c"), "/a/c");
        assert_eq!(normalize_path("/a/%2e/c"), "/a/c");
        assert_eq!(normalize_path("/a/%2e%2E"), "/");
        assert_eq!(normalize_path("/a/%2ex/c"), "/a/%2ex/c");
        assert!(matches!(
            normalize_path("/x.y/z"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    /// envoyproxy/envoy `api/envoy/type/matcher/v3/regex.proto` `RegexMatcher.regex`: "The regex is
    /// matched against the full string, not as a partial match".
    #[test]
    fn regex_is_a_full_match() {
        let m = MatchString::Regex(Box::new(MatchRegex::new("/status").unwrap()));
        assert!(m.matches("/status"));
        assert!(!m.matches("/v1/status"));
        assert!(!m.matches("/status/x"));
        let alt = MatchString::Regex(Box::new(MatchRegex::new("a|b").unwrap()));
        assert!(alt.matches("a") && alt.matches("b") && !alt.matches("ab"));
    }
}
