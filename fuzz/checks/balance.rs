//! `balance`: endpoints (1 to 64, weights from 0 to `u32::MAX`, two label sets), a
//! DestinationRule load-balancer policy (RANDOM, ROUND_ROBIN, LEAST_REQUEST, the default,
//! consistent hashing by header, cookie, query parameter or source IP over a ring or a Maglev
//! table of any size the validation accepts), optional outlier detection, and a sequence of
//! requests whose results are reported back (`Mesh::report`) while time moves on
//! (`Mesh::tick`). Properties: nothing panics; a picked endpoint is one of the endpoints set
//! (and of the subset's labels); with consistent hashing and the key present, the same request
//! picks the same endpoint twice in a row. The fuzz target also bounds the time of one input.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use meshroute::{Endpoint, FastRng, LoadOptions, Mesh, Outcome, Source, UpstreamResult};

const HOST: &str = "svc.example.com";
const PORT: u16 = 8080;
const MAX_ENDPOINTS: usize = 64;
const MAX_REQUESTS: usize = 24;

super::counted_list!(endpoints, EndpointSpec, 1, MAX_ENDPOINTS);
super::counted_list!(requests, RequestSpec, 1, MAX_REQUESTS);

#[derive(Debug, Arbitrary)]
pub struct Input {
    #[arbitrary(with = endpoints)]
    endpoints: Vec<EndpointSpec>,
    /// The endpoints are the ServiceEntry's (`STATIC`) rather than set with `set_endpoints`.
    in_service_entry: bool,
    policy: Policy,
    /// The policy is the subset's rather than the top-level one.
    subset_policy: bool,
    /// Requests go to subset `v1` (a VirtualService route) rather than the whole host.
    to_subset: bool,
    outlier: Option<Outlier>,
    #[arbitrary(with = requests)]
    requests: Vec<RequestSpec>,
}

#[derive(Debug, Arbitrary)]
struct EndpointSpec {
    weight: WeightSpec,
    v2: bool,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum WeightSpec {
    Default,
    Zero,
    Small(u8),
    Huge(u32),
    Max,
}

impl WeightSpec {
    fn value(self) -> Option<u32> {
        match self {
            WeightSpec::Default => None,
            WeightSpec::Zero => Some(0),
            WeightSpec::Small(w) => Some(u32::from(w)),
            WeightSpec::Huge(w) => Some(w | 0x1000_0000),
            WeightSpec::Max => Some(u32::MAX),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Policy {
    Unspecified,
    Random,
    RoundRobin,
    LeastRequest,
    LeastConn,
    RingHash(HashKey, Option<RingSize>),
    Maglev(HashKey, Option<u8>),
    /// The deprecated `minimumRingSize` of `consistentHash`.
    MinimumRingSize(HashKey, RingSize),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum RingSize {
    Small(u16),
    Any(u32),
}

impl RingSize {
    fn value(self) -> u64 {
        match self {
            RingSize::Small(n) => u64::from(n),
            RingSize::Any(n) => u64::from(n),
        }
    }
}

/// Maglev table sizes: primes (validation wants a prime below 5,000,011) and two non-primes.
const MAGLEV_SIZES: [u64; 8] = [2, 7, 251, 65_537, 131_071, 1_000_003, 65_536, 4_999_999];

#[derive(Debug, Clone, Copy, Arbitrary)]
enum HashKey {
    Header,
    Cookie { ttl: bool },
    Query,
    SourceIp,
}

#[derive(Debug, Arbitrary)]
struct Outlier {
    consecutive_5xx: u8,
    consecutive_gateway: Option<u8>,
    max_ejection_percent: u8,
    min_health_percent: Option<u8>,
}

#[derive(Debug, Arbitrary)]
struct RequestSpec {
    key: Option<u8>,
    seed: u64,
    result: ResultSpec,
    /// Milliseconds the clock moves on before this request.
    advance_ms: u16,
    tick: bool,
    /// Keep the request in flight (least-request counts) until the end.
    hold: bool,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum ResultSpec {
    None,
    Success,
    Status(u16),
    LocalFailure,
}

fn key_json(key: HashKey) -> String {
    match key {
        HashKey::Header => "httpHeaderName: x-user".into(),
        HashKey::Cookie { ttl: true } => "httpCookie: {name: user, ttl: 0s}".into(),
        HashKey::Cookie { ttl: false } => "httpCookie: {name: user}".into(),
        HashKey::Query => "httpQueryParameterName: user".into(),
        HashKey::SourceIp => "useSourceIp: true".into(),
    }
}

/// The `loadBalancer` of the policy (YAML flow mapping) and its hash key, if any.
fn load_balancer(policy: &Policy) -> (String, Option<HashKey>) {
    match policy {
        Policy::Unspecified => ("{simple: UNSPECIFIED}".into(), None),
        Policy::Random => ("{simple: RANDOM}".into(), None),
        Policy::RoundRobin => ("{simple: ROUND_ROBIN}".into(), None),
        Policy::LeastRequest => ("{simple: LEAST_REQUEST}".into(), None),
        Policy::LeastConn => ("{simple: LEAST_CONN}".into(), None),
        Policy::RingHash(key, size) => {
            let ring = match size {
                Some(size) => format!("ringHash: {{minimumRingSize: {}}}", size.value()),
                None => "ringHash: {}".into(),
            };
            (
                format!("{{consistentHash: {{{}, {ring}}}}}", key_json(*key)),
                Some(*key),
            )
        }
        Policy::Maglev(key, size) => {
            let maglev = match size {
                Some(i) => format!(
                    "maglev: {{tableSize: {}}}",
                    MAGLEV_SIZES[usize::from(*i) % MAGLEV_SIZES.len()]
                ),
                None => "maglev: {}".into(),
            };
            (
                format!("{{consistentHash: {{{}, {maglev}}}}}", key_json(*key)),
                Some(*key),
            )
        }
        Policy::MinimumRingSize(key, size) => (
            format!(
                "{{consistentHash: {{{}, minimumRingSize: {}}}}}",
                key_json(*key),
                size.value()
            ),
            Some(*key),
        ),
    }
}

fn endpoint_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, u8::try_from(i + 1).unwrap()))
}

fn configuration(input: &Input, endpoints: &[(u32, bool)]) -> String {
    let (lb, _) = load_balancer(&input.policy);
    let outlier = match &input.outlier {
        None => String::new(),
        Some(o) => {
            let mut fields = vec![
                format!("consecutive5xxErrors: {}", o.consecutive_5xx % 8),
                "interval: 1s".to_owned(),
                "baseEjectionTime: 2s".to_owned(),
                format!("maxEjectionPercent: {}", o.max_ejection_percent % 101),
            ];
            if let Some(g) = o.consecutive_gateway {
                fields.push(format!("consecutiveGatewayErrors: {}", g % 8));
            }
            if let Some(m) = o.min_health_percent {
                fields.push(format!("minHealthPercent: {}", m % 101));
            }
            format!(", outlierDetection: {{{}}}", fields.join(", "))
        }
    };
    let (top, subset) = if input.subset_policy {
        (
            String::new(),
            format!(", trafficPolicy: {{loadBalancer: {lb}{outlier}}}"),
        )
    } else {
        (
            format!("  trafficPolicy: {{loadBalancer: {lb}{outlier}}}\n"),
            String::new(),
        )
    };
    let static_endpoints = if input.in_service_entry {
        let list: Vec<String> = endpoints
            .iter()
            .enumerate()
            .map(|(i, (w, v2))| {
                let version = if *v2 { "v2" } else { "v1" };
                let weight = if *w == 0 {
                    String::new()
                } else {
                    format!(", weight: {w}")
                };
                format!(
                    "{{address: {}, labels: {{version: {version}}}{weight}}}",
                    endpoint_ip(i)
                )
            })
            .collect();
        format!("  endpoints: [{}]\n", list.join(", "))
    } else {
        "  endpoints: [{address: 10.0.0.1}]\n".to_owned()
    };
    let mut yaml = format!(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: svc, namespace: default}}
spec:
  hosts: [{HOST}]
  ports: [{{number: {PORT}, name: http, protocol: HTTP}}]
  resolution: STATIC
{static_endpoints}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc, namespace: default}}
spec:
  host: {HOST}
{top}  subsets:
  - {{name: v1, labels: {{version: v1}}{subset}}}
  - {{name: v2, labels: {{version: v2}}}}
"
    );
    if input.to_subset {
        yaml.push_str(&format!(
            "---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc, namespace: default}}
spec:
  hosts: [{HOST}]
  http:
  - route:
    - destination: {{host: {HOST}, subset: v1}}
"
        ));
    }
    yaml
}

fn request(key: Option<u8>) -> http::Request<()> {
    let mut builder = match key {
        Some(k) => http::Request::get(format!("http://{HOST}:{PORT}/p?user=u{k}"))
            .header("x-user", format!("u{k}"))
            .header("cookie", format!("a=b; user=u{k}")),
        None => http::Request::get(format!("http://{HOST}:{PORT}/p")),
    };
    builder = builder.header("x-other", "1");
    builder.body(()).unwrap()
}

pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    super::show(&input);
    check(&input);
}

pub fn check(input: &Input) {
    let endpoints: Vec<(u32, bool)> = input
        .endpoints
        .iter()
        .take(MAX_ENDPOINTS)
        .map(|e| (e.weight.value().unwrap_or(0), e.v2))
        .collect();
    if endpoints.is_empty() {
        return;
    }
    let text = configuration(input, &endpoints);
    let loaded = meshroute::from_str(&text, &LoadOptions::default());
    let Ok(mesh) = loaded.compile() else {
        return;
    };
    if !input.in_service_entry {
        let list: Vec<Endpoint> = input
            .endpoints
            .iter()
            .take(MAX_ENDPOINTS)
            .enumerate()
            .map(|(i, e)| {
                let version = if e.v2 { "v2" } else { "v1" };
                let mut endpoint =
                    Endpoint::new(endpoint_ip(i), PORT).with_labels([("version", version)]);
                if let Some(w) = e.weight.value() {
                    endpoint = endpoint.with_weight(w);
                }
                endpoint
            })
            .collect();
        mesh.set_endpoints(HOST, PORT, &list).unwrap();
    }
    // The policy applies to the cluster requests go to: the top-level one to the host and its
    // subsets, a subset's only to requests routed to that subset.
    let hash_key = if input.subset_policy && !input.to_subset {
        None
    } else {
        load_balancer(&input.policy).1
    };
    exercise(&mesh, input, &endpoints, hash_key);
}

fn exercise(mesh: &Mesh, input: &Input, endpoints: &[(u32, bool)], hash_key: Option<HashKey>) {
    let source = Source::sidecar("default").with_ip(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
    // No consistent-hash table, random picks (a warning in the log): the cluster's weights (0
    // counts as 1) add up to more than `u32::MAX`, a set Envoy refuses, or...
    let no_table = endpoints
        .iter()
        .filter(|(_, v2)| !(input.to_subset && *v2))
        .map(|(w, _)| u64::from((*w).max(1)))
        .sum::<u64>()
        > u64::from(u32::MAX)
        // A `minimumRingSize` above Envoy's `maximum_ring_size` (8388608): Envoy rejects the
        // such a cluster; meshroute builds no ring and picks at random.
        || matches!(
            input.policy,
            Policy::RingHash(_, Some(size)) | Policy::MinimumRingSize(_, size)
                if size.value() > 8_388_608
        );
    let mut now = Instant::now();
    let mut held = Vec::new();
    for spec in input.requests.iter().take(MAX_REQUESTS) {
        now += Duration::from_millis(u64::from(spec.advance_ms));
        if spec.tick {
            mesh.tick(now);
        }
        let request = request(spec.key);
        let decision = mesh.route_with(&request, &source, &mut FastRng::from_seed(spec.seed));
        // Through the VirtualService's route to the subset, or the service's default route.
        let expected = if input.to_subset {
            Outcome::Route
        } else {
            Outcome::NoVirtualService
        };
        assert_eq!(decision.outcome(), expected);
        let _ = decision.set_cookie();
        let picked = decision.endpoint().cloned();
        match &picked {
            Some(endpoint) => {
                let i = endpoints
                    .iter()
                    .enumerate()
                    .position(|(i, _)| Some(endpoint_ip(i)) == endpoint.ip)
                    .unwrap_or_else(|| panic!("picked an unknown endpoint {endpoint:?}"));
                assert_eq!(endpoint.port, PORT);
                if input.to_subset {
                    assert!(!endpoints[i].1, "the v1 subset picked a v2 endpoint");
                }
            }
            None => assert!(decision.no_endpoint().is_some()),
        }
        let repeat_same = match hash_key {
            Some(HashKey::SourceIp) => true,
            Some(HashKey::Cookie { .. } | HashKey::Header | HashKey::Query) => spec.key.is_some(),
            None => false,
        };
        if repeat_same && picked.is_some() && !no_table {
            let again = mesh.route_with(
                &request,
                &source,
                &mut FastRng::from_seed(spec.seed.wrapping_add(1)),
            );
            assert_eq!(
                again.endpoint().map(|e| e.ip),
                picked.as_ref().map(|e| e.ip),
                "consistent hashing picked another endpoint for the same key"
            );
        }
        if spec.hold {
            held.extend(mesh.start_request(&decision));
        }
        let result = match spec.result {
            ResultSpec::None => None,
            ResultSpec::Success => Some(UpstreamResult::Success),
            ResultSpec::Status(s) => Some(UpstreamResult::Status(s)),
            ResultSpec::LocalFailure => Some(UpstreamResult::LocalFailure),
        };
        if let Some(result) = result {
            mesh.report(&decision, result, now);
        }
    }
    drop(held);
    mesh.tick(now + Duration::from_secs(3600));
}
