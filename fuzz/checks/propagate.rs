//! `propagate`: an allowlist (`Propagation`: extra header names and query parameters, any bytes),
//! an inbound request (any header names and values, including non-UTF-8 values, and a query
//! string) and an outbound request that may already carry some of the flags. Properties:
//! `RoutingContext::capture` takes exactly the allowlisted headers (every value, in order) and
//! the first value of each allowlisted query parameter; `inject` adds exactly what the outbound
//! request lacks and changes nothing it has; capturing the injected request gives the context
//! back; `Propagation::strip_routing_flags` leaves no routing flag (header other than a trace
//! header, or query parameter of the allowlist).

use arbitrary::{Arbitrary, Unstructured};
use http::{HeaderName, HeaderValue};
use meshroute::{Propagation, RoutingContext};

/// Names the allowlist and the requests draw from, so that they meet often.
const NAMES: [&str; 8] = [
    "x-user",
    "end-user",
    "x-request-id",
    "traceparent",
    "baggage",
    "X-Canary",
    "b3",
    "user",
];

const TRACE: [&str; 12] = [
    "x-request-id",
    "traceparent",
    "tracestate",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "b3",
    "x-ot-span-context",
    "x-cloud-trace-context",
    "baggage",
];

#[derive(Debug, Arbitrary)]
pub struct Input {
    headers: Vec<Name>,
    query: Vec<Name>,
    inbound: RequestSpec,
    outbound: RequestSpec,
}

#[derive(Debug, Arbitrary)]
enum Name {
    Known(u8),
    Any(String),
}

impl Name {
    fn text(&self) -> &str {
        match self {
            Name::Known(i) => NAMES[usize::from(*i) % NAMES.len()],
            Name::Any(s) => s,
        }
    }
}

#[derive(Debug, Arbitrary)]
struct RequestSpec {
    absolute: bool,
    path: String,
    query: Option<QuerySpec>,
    headers: Vec<(Name, Vec<u8>)>,
}

#[derive(Debug, Arbitrary)]
enum QuerySpec {
    /// Pieces `name=value` / `name`, joined with `&`.
    Pieces(Vec<(Name, Option<String>)>),
    Raw(String),
}

fn build(spec: &RequestSpec) -> http::Request<()> {
    let query = match &spec.query {
        None => None,
        Some(QuerySpec::Raw(raw)) => Some(raw.clone()),
        Some(QuerySpec::Pieces(pieces)) => Some(
            pieces
                .iter()
                .map(|(n, v)| match v {
                    Some(v) => format!("{}={v}", n.text()),
                    None => n.text().to_owned(),
                })
                .collect::<Vec<_>>()
                .join("&"),
        ),
    };
    let path = if spec.path.starts_with('/') {
        spec.path.clone()
    } else {
        format!("/{}", spec.path)
    };
    let target = match &query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let uri = if spec.absolute {
        format!("http://svc.example.com{target}")
    } else {
        target
    };
    let uri: http::Uri = uri.parse().unwrap_or_else(|_| {
        let fallback = match &query {
            Some(q) => format!("/p?{q}"),
            None => "/p".to_owned(),
        };
        fallback
            .parse()
            .unwrap_or_else(|_| http::Uri::from_static("/p"))
    });
    let mut request = http::Request::new(());
    *request.uri_mut() = uri;
    for (name, value) in &spec.headers {
        let Ok(name) = HeaderName::from_bytes(name.text().as_bytes()) else {
            continue;
        };
        let Ok(value) = HeaderValue::from_bytes(value) else {
            continue;
        };
        request.headers_mut().append(name, value);
    }
    request
}

/// The first value of `key` in a raw query string, Envoy's way (`a&b=1`: `a` is `""`).
fn first_value<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    super::show(&input);
    check(&input);
}

pub fn check(input: &Input) {
    let mut propagation = Propagation::default();
    for name in &input.headers {
        propagation = propagation.with_header(name.text());
    }
    for name in &input.query {
        propagation = propagation.with_query_param(name.text());
    }
    let inbound = build(&input.inbound);
    let context = RoutingContext::capture(&propagation, &inbound);

    // Headers: exactly the allowlisted ones, every value in order.
    for name in propagation.headers() {
        let expected: Vec<&HeaderValue> = inbound.headers().get_all(name).iter().collect();
        let captured: Vec<&HeaderValue> = context
            .headers()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(captured, expected, "header {name}");
    }
    for (name, _) in context.headers() {
        assert!(
            propagation.headers().contains(name),
            "{name} not allowlisted"
        );
    }
    // Query parameters: the first value of each allowlisted one, raw.
    let query = inbound.uri().query().unwrap_or("");
    // The empty name is left out: where an empty piece (`a&&b`) counts is a parser detail.
    for name in propagation.query_params().iter().filter(|n| !n.is_empty()) {
        let captured: Vec<&str> = context
            .query_params()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        let expected: Vec<&str> = first_value(query, name).into_iter().collect();
        assert_eq!(captured, expected, "query parameter {name:?} of {query:?}");
    }
    assert_eq!(
        context.is_empty(),
        context.headers().is_empty() && context.query_params().is_empty()
    );

    // Inject into the outbound request: what it lacks is added, nothing it has changes.
    let before = build(&input.outbound);
    let mut outbound = build(&input.outbound);
    context.inject(&mut outbound);
    for name in propagation.headers() {
        let had: Vec<&HeaderValue> = before.headers().get_all(name).iter().collect();
        let has: Vec<&HeaderValue> = outbound.headers().get_all(name).iter().collect();
        if had.is_empty() {
            let captured: Vec<&HeaderValue> = context
                .headers()
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v)
                .collect();
            assert_eq!(has, captured, "injected header {name}");
        } else {
            assert_eq!(has, had, "header {name} the request had was changed");
        }
    }
    for (name, _) in before.headers() {
        assert_eq!(
            before.headers().get_all(name).iter().collect::<Vec<_>>(),
            outbound.headers().get_all(name).iter().collect::<Vec<_>>(),
        );
    }
    assert_eq!(before.uri().path(), outbound.uri().path());
    assert_eq!(before.uri().authority(), outbound.uri().authority());
    let before_query = before.uri().query().unwrap_or("");
    let after_query = outbound.uri().query().unwrap_or("");
    assert!(
        after_query.starts_with(before_query),
        "query {before_query:?} became {after_query:?}"
    );
    for (name, value) in context.query_params().iter().filter(|(n, _)| !n.is_empty()) {
        match first_value(before_query, name) {
            Some(had) => assert_eq!(first_value(after_query, name), Some(had)),
            None => assert_eq!(
                first_value(after_query, name),
                Some(value.as_str()),
                "query parameter {name:?} not injected into {after_query:?}"
            ),
        }
    }
    // Injected into a request without flags, the context comes back whole.
    if before.headers().is_empty() && before_query.is_empty() {
        let recaptured = RoutingContext::capture(&propagation, &outbound);
        assert_eq!(recaptured.headers(), context.headers());
        let mut a = recaptured.query_params().to_vec();
        let mut b = context.query_params().to_vec();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    // Stripping leaves no routing flag; trace headers and everything else stay.
    let (mut parts, ()) = build(&input.inbound).into_parts();
    propagation.strip_routing_flags(&mut parts);
    for name in propagation.headers() {
        if TRACE.contains(&name.as_str()) {
            assert_eq!(
                parts.headers.get_all(name).iter().count(),
                inbound.headers().get_all(name).iter().count()
            );
        } else {
            assert!(!parts.headers.contains_key(name), "{name} not stripped");
        }
    }
    for (name, _) in inbound.headers() {
        if !propagation.headers().contains(name) {
            assert!(parts.headers.contains_key(name), "{name} stripped");
        }
    }
    let stripped = parts.uri.query().unwrap_or("");
    for name in propagation.query_params().iter().filter(|n| !n.is_empty()) {
        assert!(
            first_value(stripped, name).is_none(),
            "query parameter {name:?} left in {stripped:?} (was {query:?})"
        );
    }
    assert_eq!(parts.uri.path(), inbound.uri().path());
}
