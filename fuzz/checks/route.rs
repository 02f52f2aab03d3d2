//! `route`: a structured VirtualService (HTTP routes whose matches use uri exact/prefix/regex,
//! `ignoreUriCase`, headers, `withoutHeaders`, query parameters, method and authority; weighted
//! destinations; a DestinationRule with subsets) and structured requests. The YAML is generated
//! from the input and loaded through the public loader; each request's decision is compared with
//! a naive evaluator: the first route, in order, one of whose matches fully holds (a route
//! without matches always holds). Both `Mesh::route` (which uses the path index on tables of 16
//! entries or more; filler routes push the table over that size) and `Mesh::explain` (the
//! in-order scan) are compared. The chosen destination must be one a weighted choice can pick.
//!
//! Semantics modelled (`/work/shared/ISTIO-SEMANTICS.md` §1.3–2.7): a regex is a full match;
//! header names are case-insensitive, values case-sensitive, repeated headers joined with `,`; a
//! missing header fails every matcher but `withoutHeaders` ones, which treat it as empty (or,
//! for a presence matcher, match); `ignoreUriCase` applies to exact and prefix only; the path
//! is matched without its query; a query parameter's first occurrence counts, raw; `?k` has
//! the value `""`. Paths are plain segments (no dot segments or escapes), so normalisation does
//! not change them.

use arbitrary::{Arbitrary, Unstructured};
use meshroute::{FastRng, LoadOptions, Mesh, Outcome, Source};
use serde_json::{Map, Value, json};

const HOST: &str = "svc.example.com";
const MAX_ROUTES: usize = 40;
const MAX_MATCHES: usize = 3;
const MAX_CONDITIONS: usize = 3;
const MAX_REQUESTS: usize = 6;
/// Filler routes (an exact path no request has) before and after the generated ones: at most
/// this many each, so that the table often reaches the path index's 8 entries.
const MAX_FILLERS: u8 = 20;

const SEGMENTS: [&str; 7] = ["a", "b", "A", "ab", "api", "v1", "B"];
/// Header and query values, in configurations and requests.
const VALUES: [&str; 10] = ["", "a", "b", "ab", "A", "a,b", "é", "1", "a b", "Ab"];
const HEADER_NAMES: [&str; 5] = ["x-a", "X-A", "x-b", "x-c", "end-user"];
const QUERY_KEYS: [&str; 4] = ["a", "b", "A", "c"];
const METHODS: [&str; 6] = ["GET", "POST", "get", "PUT", "DELETE", "PATCH"];
const AUTHORITIES: [&str; 4] = [
    HOST,
    "svc.example.com:80",
    "SVC.example.com",
    "Svc.Example.COM:80",
];

super::counted_list!(routes, RouteSpec, 0, MAX_ROUTES);
super::counted_list!(requests, RequestSpec, 1, MAX_REQUESTS);
super::counted_list!(matches, MatchSpec, 0, MAX_MATCHES);
super::counted_list!(destinations, DestinationSpec, 1, 3);
super::counted_list!(conditions_of, (u8, ValueMatch), 0, MAX_CONDITIONS);
super::counted_list!(segments, u8, 0, 3);
super::counted_list!(pieces, PathPiece, 1, 4);
super::counted_list!(request_headers, (u8, HeaderValueSpec), 0, 4);
super::counted_list!(request_query, (u8, Option<u8>), 0, 4);

#[derive(Debug, Arbitrary)]
pub struct Input {
    fillers_front: u8,
    fillers_back: u8,
    #[arbitrary(with = routes)]
    routes: Vec<RouteSpec>,
    subsets: bool,
    #[arbitrary(with = requests)]
    requests: Vec<RequestSpec>,
    seed: u64,
}

#[derive(Debug, Arbitrary)]
struct RouteSpec {
    #[arbitrary(with = matches)]
    matches: Vec<MatchSpec>,
    #[arbitrary(with = destinations)]
    destinations: Vec<DestinationSpec>,
}

#[derive(Debug, Arbitrary)]
struct DestinationSpec {
    weight: Weight,
    subset: Option<bool>,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Weight {
    Absent,
    Small(u8),
    Large(u32),
}

impl Weight {
    fn value(self) -> Option<u64> {
        match self {
            Weight::Absent => None,
            Weight::Small(w) => Some(u64::from(w % 101)),
            // `weight` is an int32.
            Weight::Large(w) => Some(u64::from(w >> 1)),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct MatchSpec {
    uri: Option<UriSpec>,
    ignore_uri_case: bool,
    #[arbitrary(with = conditions_of)]
    headers: Vec<(u8, ValueMatch)>,
    #[arbitrary(with = conditions_of)]
    without_headers: Vec<(u8, ValueMatch)>,
    #[arbitrary(with = conditions_of)]
    query: Vec<(u8, ValueMatch)>,
    method: Option<MethodMatch>,
    authority: Option<AuthorityMatch>,
}

#[derive(Debug, Arbitrary)]
enum UriSpec {
    Exact(PathSpec),
    Prefix(PathSpec, bool),
    /// `prefix: ""`, `prefix: "/"`, `regex: ".*"`.
    Special(u8),
    Regex(PathRegex),
}

#[derive(Debug, Arbitrary)]
struct PathSpec {
    #[arbitrary(with = segments)]
    segments: Vec<u8>,
    trailing: bool,
}

impl PathSpec {
    fn render(&self) -> String {
        let mut path = String::new();
        for s in self.segments.iter().take(3) {
            path.push('/');
            path.push_str(pick(&SEGMENTS, *s));
        }
        if self.trailing || path.is_empty() {
            path.push('/');
        }
        path
    }
}

/// A path regex: optional inline flags, pieces, optional top-level alternative.
#[derive(Debug, Arbitrary)]
struct PathRegex {
    case_insensitive: bool,
    #[arbitrary(with = pieces)]
    pieces: Vec<PathPiece>,
    alternative: Option<Vec<PathPiece>>,
}

#[derive(Debug, Arbitrary)]
enum PathPiece {
    /// `/seg`
    Literal(u8),
    /// `/seg` followed by a quantifier on its last character.
    Quantified(u8, Quantifier),
    /// `/[a-z]+`
    Class,
    /// `/.*`
    Any,
    /// `(/a|/b)`
    Group(u8, u8),
    /// `(?:/seg)?`
    Optional(u8),
    /// `\/seg` (escaped slash)
    Escaped(u8),
    /// `/?`
    OptionalSlash,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Quantifier {
    Star,
    Plus,
    Question,
    Lazy,
    Counted(u8, u8),
}

impl Quantifier {
    fn render(self) -> String {
        match self {
            Quantifier::Star => "*".into(),
            Quantifier::Plus => "+".into(),
            Quantifier::Question => "?".into(),
            Quantifier::Lazy => "*?".into(),
            Quantifier::Counted(a, b) => {
                let (a, b) = (a % 3, b % 3);
                format!("{{{},{}}}", a.min(b), a.max(b))
            }
        }
    }
}

fn render_pieces(pieces: &[PathPiece]) -> String {
    let mut out = String::new();
    for piece in pieces.iter().take(4) {
        match piece {
            PathPiece::Literal(s) => {
                out.push('/');
                out.push_str(pick(&SEGMENTS, *s));
            }
            PathPiece::Quantified(s, q) => {
                out.push('/');
                out.push_str(pick(&SEGMENTS, *s));
                out.push_str(&q.render());
            }
            PathPiece::Class => out.push_str("/[a-z]+"),
            PathPiece::Any => out.push_str("/.*"),
            PathPiece::Group(a, b) => {
                out.push_str(&format!(
                    "(/{}|/{})",
                    pick(&SEGMENTS, *a),
                    pick(&SEGMENTS, *b)
                ));
            }
            PathPiece::Optional(s) => out.push_str(&format!("(?:/{})?", pick(&SEGMENTS, *s))),
            PathPiece::Escaped(s) => {
                out.push_str("\\/");
                out.push_str(pick(&SEGMENTS, *s));
            }
            PathPiece::OptionalSlash => out.push_str("/?"),
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

impl PathRegex {
    fn render(&self) -> String {
        let mut out = String::new();
        if self.case_insensitive {
            out.push_str("(?i)");
        }
        out.push_str(&render_pieces(&self.pieces));
        if let Some(alternative) = &self.alternative {
            out.push('|');
            out.push_str(&render_pieces(alternative));
        }
        out
    }
}

#[derive(Debug, Arbitrary)]
enum ValueMatch {
    Exact(u8),
    Prefix(u8),
    Regex(ValueRegex),
    /// `{}`
    Present,
}

#[derive(Debug, Arbitrary)]
enum ValueRegex {
    /// `.*`
    Any,
    /// `.+`
    NonEmpty,
    /// The value, escaped, then `.*`.
    StartsWith(u8),
    /// `(?i)` and the value, escaped.
    CaseInsensitive(u8),
    /// `v1|v2`
    Either(u8, u8),
    /// `[a-z]*`
    Lower,
    /// `\d+`
    Digits,
    /// `.` (one character: `é` is one)
    One,
}

impl ValueRegex {
    fn render(&self) -> String {
        match self {
            ValueRegex::Any => ".*".into(),
            ValueRegex::NonEmpty => ".+".into(),
            ValueRegex::StartsWith(v) => format!("{}.*", regex::escape(pick(&VALUES, *v))),
            ValueRegex::CaseInsensitive(v) => format!("(?i){}", regex::escape(pick(&VALUES, *v))),
            ValueRegex::Either(a, b) => format!(
                "{}|{}",
                regex::escape(pick(&VALUES, *a)),
                regex::escape(pick(&VALUES, *b))
            ),
            ValueRegex::Lower => "[a-z]*".into(),
            ValueRegex::Digits => "\\d+".into(),
            ValueRegex::One => ".".into(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum MethodMatch {
    Exact(u8),
    Prefix(bool),
    Regex(u8),
}

#[derive(Debug, Arbitrary)]
enum AuthorityMatch {
    Exact(u8),
    Prefix,
    Regex,
}

#[derive(Debug, Arbitrary)]
struct RequestSpec {
    method: u8,
    authority: u8,
    path: PathSpec,
    upper: bool,
    #[arbitrary(with = request_headers)]
    headers: Vec<(u8, HeaderValueSpec)>,
    #[arbitrary(with = request_query)]
    query: Vec<(u8, Option<u8>)>,
}

#[derive(Debug, Arbitrary)]
enum HeaderValueSpec {
    Text(u8),
    /// Not UTF-8 (obs-text).
    Bytes(u8),
}

fn pick<T: Copy>(items: &[T], i: u8) -> T {
    items[usize::from(i) % items.len()]
}

/// A StringMatch as JSON.
fn string_match(kind: &str, value: &str) -> Value {
    json!({ kind: value })
}

fn value_match_json(m: &ValueMatch) -> Value {
    match m {
        ValueMatch::Exact(v) => string_match("exact", pick(&VALUES, *v)),
        ValueMatch::Prefix(v) => {
            let v = pick(&VALUES, *v);
            // An empty prefix fails validation for headers and query parameters.
            if v.is_empty() {
                string_match("exact", v)
            } else {
                string_match("prefix", v)
            }
        }
        ValueMatch::Regex(r) => string_match("regex", &r.render()),
        ValueMatch::Present => json!({}),
    }
}

fn uri_json(uri: &UriSpec) -> Value {
    match uri {
        UriSpec::Exact(p) => string_match("exact", &p.render()),
        UriSpec::Prefix(p, slash) => {
            let mut path = p.render();
            if !slash && path.len() > 1 {
                path.pop();
                if path.ends_with('/') && path.len() > 1 {
                    path.pop();
                }
            }
            string_match("prefix", &path)
        }
        UriSpec::Special(i) => match i % 3 {
            0 => string_match("prefix", ""),
            1 => string_match("prefix", "/"),
            _ => string_match("regex", ".*"),
        },
        UriSpec::Regex(r) => string_match("regex", &r.render()),
    }
}

fn method_json(m: &MethodMatch) -> Value {
    match m {
        MethodMatch::Exact(i) => string_match("exact", pick(&METHODS, *i)),
        MethodMatch::Prefix(p) => string_match("prefix", if *p { "P" } else { "G" }),
        MethodMatch::Regex(i) => string_match(
            "regex",
            ["GET|POST", "P.*", "(?i)get", "[A-Z]+"][usize::from(*i) % 4],
        ),
    }
}

fn authority_json(m: &AuthorityMatch) -> Value {
    match m {
        AuthorityMatch::Exact(i) => string_match("exact", pick(&AUTHORITIES, *i)),
        AuthorityMatch::Prefix => string_match("prefix", HOST),
        AuthorityMatch::Regex => string_match("regex", "svc\\.example\\.com(:80)?"),
    }
}

fn conditions(list: &[(u8, ValueMatch)], names: &[&str]) -> Map<String, Value> {
    list.iter()
        .take(MAX_CONDITIONS)
        .map(|(n, m)| (pick(names, *n).to_owned(), value_match_json(m)))
        .collect()
}

fn match_json(m: &MatchSpec) -> Value {
    let mut out = Map::new();
    if let Some(uri) = &m.uri {
        out.insert("uri".into(), uri_json(uri));
    }
    if m.ignore_uri_case {
        out.insert("ignoreUriCase".into(), Value::Bool(true));
    }
    let headers = conditions(&m.headers, &HEADER_NAMES);
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Object(headers));
    }
    let without = conditions(&m.without_headers, &HEADER_NAMES);
    if !without.is_empty() {
        out.insert("withoutHeaders".into(), Value::Object(without));
    }
    let query = conditions(&m.query, &QUERY_KEYS);
    if !query.is_empty() {
        out.insert("queryParams".into(), Value::Object(query));
    }
    if let Some(method) = &m.method {
        out.insert("method".into(), method_json(method));
    }
    if let Some(authority) = &m.authority {
        out.insert("authority".into(), authority_json(authority));
    }
    Value::Object(out)
}

/// The configuration (a JSON array of documents, which the loader reads) and the `http` routes
/// as JSON (for the model).
fn configuration(input: &Input) -> (String, Vec<Value>) {
    let mut http = Vec::new();
    let fillers_front = input.fillers_front % (MAX_FILLERS + 1);
    let fillers_back = input.fillers_back % (MAX_FILLERS + 1);
    let filler = |i: u8| {
        json!({
            "name": format!("filler{i}"),
            "match": [{"uri": {"exact": format!("/filler/{i}")}}],
            "route": [{"destination": {"host": "d0.example.com"}}],
        })
    };
    for i in 0..fillers_front {
        http.push(filler(i));
    }
    for route in input.routes.iter().take(MAX_ROUTES) {
        let mut r = Map::new();
        if !route.matches.is_empty() {
            r.insert(
                "match".into(),
                Value::Array(
                    route
                        .matches
                        .iter()
                        .take(MAX_MATCHES)
                        .map(match_json)
                        .collect(),
                ),
            );
        }
        let mut destinations = Vec::new();
        for (k, d) in route.destinations.iter().take(3).enumerate() {
            let mut destination = json!({ "host": format!("d{k}.example.com") });
            if let Some(v2) = d.subset {
                destination["subset"] = json!(if v2 { "v2" } else { "v1" });
            }
            let mut entry = json!({ "destination": destination });
            if let Some(w) = d.weight.value() {
                entry["weight"] = json!(w);
            }
            destinations.push(entry);
        }
        if destinations.is_empty() {
            destinations.push(json!({"destination": {"host": "d0.example.com"}}));
        }
        r.insert("route".into(), Value::Array(destinations));
        http.push(Value::Object(r));
    }
    for i in 0..fillers_back {
        http.push(filler(100 + i));
    }
    let mut docs = vec![
        json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": {"name": "svc", "namespace": "default"},
            "spec": {
                "hosts": [HOST, "d0.example.com", "d1.example.com", "d2.example.com"],
                "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
                "resolution": "STATIC",
                "endpoints": [{"address": "10.0.0.1", "labels": {"version": "v1"}}],
            }
        }),
        json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "vs", "namespace": "default"},
            "spec": {"hosts": [HOST], "http": http},
        }),
    ];
    if input.subsets {
        for k in 0..3 {
            docs.push(json!({
                "apiVersion": "networking.istio.io/v1",
                "kind": "DestinationRule",
                "metadata": {"name": format!("d{k}"), "namespace": "default"},
                "spec": {
                    "host": format!("d{k}.example.com"),
                    "subsets": [
                        {"name": "v1", "labels": {"version": "v1"}},
                        {"name": "v2", "labels": {"version": "v2"}},
                    ],
                }
            }));
        }
    }
    // A JSON array of documents: the loader reads JSON with serde_json, much faster than YAML.
    let text = Value::Array(docs).to_string();
    (text, http)
}

/// Whether Istio's validation accepts the routes' weights: with several destinations, the sum
/// must be positive and fit in `u32` (Envoy).
fn weights_valid(http: &[Value]) -> bool {
    http.iter().all(|r| {
        let destinations = r["route"].as_array().unwrap();
        if destinations.len() < 2 {
            return true;
        }
        let sum: u64 = destinations
            .iter()
            .map(|d| d["weight"].as_u64().unwrap_or(0))
            .sum();
        sum > 0 && sum <= u64::from(u32::MAX)
    })
}

/// A request as the model sees it.
struct Facts {
    method: String,
    authority: String,
    path: String,
    query: String,
    headers: http::HeaderMap,
}

fn request(spec: &RequestSpec) -> (http::Request<()>, Facts) {
    let method = pick(&METHODS, spec.method);
    let authority = pick(&AUTHORITIES, spec.authority);
    let mut path = spec.path.render();
    if spec.upper {
        path = path.to_ascii_uppercase();
    }
    let query: Vec<String> = spec
        .query
        .iter()
        .take(4)
        .map(|(k, v)| {
            let k = pick(&QUERY_KEYS, *k);
            match v {
                // Values as sent on the wire: percent-encoded.
                Some(v) => format!("{k}={}", encode(pick(&VALUES, *v))),
                None => k.to_owned(),
            }
        })
        .collect();
    let query = query.join("&");
    let uri = if query.is_empty() {
        format!("http://{authority}{path}")
    } else {
        format!("http://{authority}{path}?{query}")
    };
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (n, v) in spec.headers.iter().take(4) {
        let name = pick(&HEADER_NAMES, *n);
        builder = match v {
            HeaderValueSpec::Text(v) => builder.header(name, pick(&VALUES, *v)),
            HeaderValueSpec::Bytes(b) => builder.header(
                name,
                http::HeaderValue::from_bytes(&[b'a', 0x80 | b]).unwrap(),
            ),
        };
    }
    let request = builder.body(()).unwrap();
    let facts = Facts {
        method: method.to_owned(),
        authority: authority.to_owned(),
        path,
        query,
        headers: request.headers().clone(),
    };
    (request, facts)
}

fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

thread_local! {
    /// The model's compiled regexes (compiling them per evaluation would dominate the run).
    static REGEXES: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> =
        std::cell::RefCell::default();
}

/// Full-match regex (Envoy `safe_regex`).
fn regex_matches(pattern: &str, value: &str) -> bool {
    REGEXES.with_borrow_mut(|cache| {
        if cache.len() > 4096 {
            cache.clear();
        }
        cache
            .entry(pattern.to_owned())
            .or_insert_with(|| regex::Regex::new(&format!("^(?:{pattern})$")).unwrap())
            .is_match(value)
    })
}

/// A StringMatch (not presence) against bytes: exact and prefix compare bytes; a regex runs
/// on UTF-8 text (RE2 in Envoy reads the bytes as UTF-8) and fails on anything else.
fn string_matches(m: &Value, value: &[u8], ignore_case: bool) -> bool {
    let fold = |s: &[u8]| {
        if ignore_case {
            s.to_ascii_lowercase()
        } else {
            s.to_vec()
        }
    };
    if let Some(e) = m["exact"].as_str() {
        fold(value) == fold(e.as_bytes())
    } else if let Some(p) = m["prefix"].as_str() {
        fold(value).starts_with(&fold(p.as_bytes()))
    } else if let Some(r) = m["regex"].as_str() {
        std::str::from_utf8(value).is_ok_and(|v| regex_matches(r, v))
    } else {
        unreachable!("presence is decided by the callers: {m}")
    }
}

fn is_presence(m: &Value) -> bool {
    m.as_object().is_none_or(Map::is_empty)
}

/// All values of a header joined with `,` (Envoy), `None` when absent.
fn header_value(f: &Facts, name: &str) -> Option<Vec<u8>> {
    let values: Vec<&[u8]> = f
        .headers
        .get_all(name.to_ascii_lowercase().as_str())
        .iter()
        .map(http::HeaderValue::as_bytes)
        .collect();
    (!values.is_empty()).then(|| values.join(&b","[..]))
}

fn query_value<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Whether one HTTPMatchRequest holds for the request.
fn match_holds(m: &Value, f: &Facts) -> bool {
    let ignore_case = m["ignoreUriCase"].as_bool().unwrap_or(false);
    if let Some(uri) = m.get("uri") {
        let fold = ignore_case && uri.get("regex").is_none();
        if !string_matches(uri, f.path.as_bytes(), fold) {
            return false;
        }
    }
    for (name, sm) in m["headers"].as_object().into_iter().flatten() {
        let holds = match header_value(f, name) {
            None => false,
            Some(_) if is_presence(sm) => true,
            Some(v) => string_matches(sm, &v, false),
        };
        if !holds {
            return false;
        }
    }
    for (name, sm) in m["withoutHeaders"].as_object().into_iter().flatten() {
        let value = header_value(f, name);
        let holds = if is_presence(sm) {
            value.is_none()
        } else {
            !string_matches(sm, value.as_deref().unwrap_or(b""), false)
        };
        if !holds {
            return false;
        }
    }
    for (key, sm) in m["queryParams"].as_object().into_iter().flatten() {
        let holds = match query_value(&f.query, key) {
            None => false,
            Some(_) if is_presence(sm) => true,
            Some(v) => string_matches(sm, v.as_bytes(), false),
        };
        if !holds {
            return false;
        }
    }
    if let Some(sm) = m.get("method") {
        if !string_matches(sm, f.method.as_bytes(), false) {
            return false;
        }
    }
    if let Some(sm) = m.get("authority") {
        if !string_matches(sm, f.authority.as_bytes(), false) {
            return false;
        }
    }
    true
}

/// The naive answer: the first route (and its first match) that holds, in order.
fn naive(http: &[Value], f: &Facts) -> Option<(usize, Option<usize>)> {
    for (i, route) in http.iter().enumerate() {
        match route["match"].as_array() {
            None => return Some((i, None)),
            Some(matches) => {
                if let Some(j) = matches.iter().position(|m| match_holds(m, f)) {
                    return Some((i, Some(j)));
                }
            }
        }
    }
    None
}

pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    super::show(&input);
    check(&input);
}

pub fn check(input: &Input) {
    let (text, http) = configuration(input);
    let loaded = meshroute::from_str(&text, &LoadOptions::default());
    let compiled = loaded.compile();
    let mesh: Mesh = match compiled {
        Ok(mesh) => mesh,
        Err(error) => {
            assert!(
                http.is_empty() || !weights_valid(&http),
                "a valid configuration was refused: {error}\n{text}"
            );
            return;
        }
    };
    let source = Source::sidecar("default");
    for (n, spec) in input.requests.iter().take(MAX_REQUESTS).enumerate() {
        let (request, facts) = request(spec);
        let expected = naive(&http, &facts);
        if std::env::var_os("FUZZ_SHOW").is_some() {
            eprintln!(
                "{} {} routes, request {} {:?} -> {expected:?}",
                http.len(),
                if http
                    .iter()
                    .map(|r| r["match"].as_array().map_or(1, Vec::len))
                    .sum::<usize>()
                    >= 16
                {
                    "indexed"
                } else {
                    "scanned"
                },
                request.method(),
                request.uri(),
            );
        }
        let seed = input.seed.wrapping_add(n as u64);
        let routed = mesh.route_with(&request, &source, &mut FastRng::from_seed(seed));
        let (explained, explanation) =
            mesh.explain(&request, &source, &mut FastRng::from_seed(seed));
        for (how, decision) in [("route", &routed), ("explain", &explained)] {
            let got = match decision.outcome() {
                Outcome::Route => Some((
                    decision.route().unwrap().index,
                    decision.matched().map(|m| m.index),
                )),
                Outcome::NoRoute => None,
                other => panic!("{how}: unexpected outcome {other:?} for {request:?}\n{text}"),
            };
            assert_eq!(
                got, expected,
                "{how} disagrees with the naive evaluator for {request:?}\nconfiguration:\n{text}\nexplanation:\n{explanation}"
            );
            assert_eq!(decision.virtual_service(), Some("default/vs"));
            if let Some((route, _)) = got {
                chosen_destination_possible(&http[route], decision, &text);
            }
        }
        assert_eq!(routed.destination(), explained.destination());
    }
}

/// The destination is one of the route's, and one with a positive weight when there are several.
fn chosen_destination_possible(route: &Value, decision: &meshroute::Decision<'_>, text: &str) {
    let destination = decision.destination().expect("a route has a destination");
    let destinations = route["route"].as_array().unwrap();
    let at = destinations
        .iter()
        .position(|d| d["destination"]["host"] == destination.host)
        .unwrap_or_else(|| panic!("{} is not a destination of {route}", destination.host));
    let entry = &destinations[at];
    assert_eq!(
        destination.subset,
        entry["destination"]["subset"].as_str(),
        "{route}"
    );
    if destinations.len() > 1 {
        assert!(
            entry["weight"].as_u64().unwrap_or(0) > 0,
            "weight 0 destination chosen: {route}\n{text}"
        );
    }
}
