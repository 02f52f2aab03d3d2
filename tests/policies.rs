//! The route's policies applied by `OutboundLayer`, against loopback servers that answer, fail,
//! hang or are gone on command: timeouts, retries, fault injection, mirrors, circuit breaking,
//! outlier detection and gRPC local replies, with Envoy's answers (status, body, response
//! flags). Timing assertions have tolerances; nothing sleeps to an exact instant.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use meshroute::service::{LocalReply, OutboundLayer, RequestBody, UpstreamReply};
use meshroute::{Endpoint, FastRng, LoadOptions, SharedMesh, Source};
use tokio::net::TcpListener;
use tower::{Layer, Service, ServiceExt};

const LIMIT: Duration = Duration::from_secs(60);

async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("the test did not finish within its time limit")
}

type Body = Full<Bytes>;
type Upstream = Client<HttpConnector, RequestBody<Body>>;

fn upstream_client() -> Upstream {
    Client::builder(TokioExecutor::new()).build_http()
}

/// `svc` (namespace `default`, port 8080) with `policy` on its only route and `rule` as its
/// DestinationRule's `trafficPolicy`.
fn config(route_policy: &str, traffic_policy: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata: {{name: svc, namespace: default}}
spec:
  ports: [{{port: 8080, name: http}}]
  selector: {{app: svc}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc, namespace: default}}
spec:
  host: svc
  trafficPolicy: {traffic_policy}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc, namespace: default}}
spec:
  hosts: [svc]
  http:
  - match: [{{uri: {{prefix: /}}}}]
    route: [{{destination: {{host: svc}}}}]
{route_policy}
"
    )
}

fn shared(yaml: &str) -> SharedMesh {
    let loaded = meshroute::from_str(yaml, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    SharedMesh::new(loaded.compile().unwrap())
}

const HOST: &str = "svc.default.svc.cluster.local";

/// A DestinationRule traffic policy that changes nothing but the balancer: round robin.
const RR: &str = "{loadBalancer: {simple: ROUND_ROBIN}}";

/// What a test server does with each request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Ok,
    Fail(u16),
    Hang,
}

/// A loopback server counting the requests it gets and the bodies they carry; its behaviour
/// can change while it runs.
#[derive(Clone)]
struct Backend {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl Backend {
    async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let backend = Self {
            addr,
            hits: Arc::default(),
            bodies: Arc::default(),
            behaviour: Arc::new(Mutex::new(behaviour)),
        };
        let state = backend.clone();
        let app = Router::new().fallback(move |request: Request| {
            let state = state.clone();
            async move {
                state.hits.fetch_add(1, Ordering::SeqCst);
                let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                    .await
                    .unwrap_or_default();
                state.bodies.lock().unwrap().push(body.to_vec());
                let behaviour = *state.behaviour.lock().unwrap();
                match behaviour {
                    Behaviour::Ok => (StatusCode::OK, format!("ok from {}", state.addr)),
                    Behaviour::Fail(code) => {
                        (StatusCode::from_u16(code).unwrap(), "failed".to_owned())
                    }
                    Behaviour::Hang => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        (StatusCode::OK, "late".to_owned())
                    }
                }
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        backend
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint::new(self.addr.ip(), self.addr.port())
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }
}

/// An address nothing listens on while the returned socket lives: bound, never listening, so
/// connections are refused (a dropped listener's port could be taken by another test's server
/// meanwhile).
fn dead_endpoint() -> (Endpoint, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    (Endpoint::new(addr.ip(), addr.port()), socket)
}

fn request(path: &str) -> http::Request<Body> {
    http::Request::get(format!("http://svc:8080{path}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn grpc_request() -> http::Request<Body> {
    http::Request::post("http://svc:8080/pkg.Service/Method")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    flag: Option<&'static str>,
    upstream: Option<UpstreamReply>,
    body: Vec<u8>,
}

async fn send<S, B>(service: &S, request: http::Request<Body>) -> Reply
where
    S: Service<http::Request<Body>, Response = http::Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = service.clone().oneshot(request).await.unwrap();
    let flag = response.extensions().get::<LocalReply>().map(|r| r.flag);
    let upstream = response.extensions().get::<UpstreamReply>().cloned();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        flag,
        upstream,
        body: body.to_vec(),
    }
}

/// The route `timeout` covers the whole exchange: a hanging upstream is answered 504 `UT`
/// "upstream request timeout" at the configured time (router.cc `onResponseTimeout`).
#[tokio::test]
async fn route_timeout_answers_504_ut_on_time() {
    bounded(async {
        let mesh = shared(&config("    timeout: 300ms", RR));
        let hang = Backend::start(Behaviour::Hang).await;
        mesh.set_endpoints(HOST, 8080, vec![hang.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        let start = Instant::now();
        let reply = send(&client, request("/slow")).await;
        let elapsed = start.elapsed();
        assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(reply.flag, Some("UT"));
        assert_eq!(reply.body, b"upstream request timeout");
        assert!(
            elapsed >= Duration::from_millis(290) && elapsed < Duration::from_millis(1500),
            "{elapsed:?}"
        );
    })
    .await;
}

/// `perTryTimeout` cuts each attempt; under `5xx` a per-try timeout is retried (Envoy counts a
/// reset as a 5xx), so the hanging upstream sees 1 + attempts requests, and the last timeout
/// answers 504 `UT`.
#[tokio::test]
async fn per_try_timeout_is_retried_under_5xx() {
    bounded(async {
        let policy = "    retries: {attempts: 2, perTryTimeout: 150ms, retryOn: 5xx}";
        let mesh = shared(&config(policy, RR));
        let hang = Backend::start(Behaviour::Hang).await;
        mesh.set_endpoints(HOST, 8080, vec![hang.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        let start = Instant::now();
        let reply = send(&client, request("/")).await;
        let elapsed = start.elapsed();
        assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(reply.flag, Some("UT"));
        assert_eq!(hang.hits(), 3);
        // Three tries of 150 ms plus two back-offs under 25 ms and 50 ms.
        assert!(
            elapsed >= Duration::from_millis(440) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
    })
    .await;
}

/// `attempts: 2, retryOn: 5xx` against an upstream that always answers 503: three requests
/// reach it, and its last 503 is the answer (not a local reply), flagged `URX`.
#[tokio::test]
async fn retries_count_at_the_server_and_the_last_response_is_returned() {
    bounded(async {
        let policy = "    retries: {attempts: 2, retryOn: 5xx}";
        let mesh = shared(&config(policy, RR));
        let failing = Backend::start(Behaviour::Fail(503)).await;
        mesh.set_endpoints(HOST, 8080, vec![failing.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        let reply = send(&client, request("/")).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.flag, None, "the upstream's own 503");
        assert_eq!(reply.body, b"failed");
        let upstream = reply.upstream.unwrap();
        assert_eq!(upstream.attempts, 3);
        assert_eq!(upstream.flags, "URX");
        assert_eq!(failing.hits(), 3);
    })
    .await;
}

/// Istio's default policy (no `retries`) does not retry a plain 503: retry.go `DefaultPolicy`
/// has no retriable status codes.
#[tokio::test]
async fn istio_default_policy_does_not_retry_a_503() {
    bounded(async {
        let mesh = shared(&config("", RR));
        let failing = Backend::start(Behaviour::Fail(503)).await;
        mesh.set_endpoints(HOST, 8080, vec![failing.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        let reply = send(&client, request("/")).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(reply.upstream.is_none());
        assert_eq!(failing.hits(), 1);
    })
    .await;
}

/// A retry goes to another endpoint (`previous_hosts`): with one failing and one healthy
/// endpoint and one retry on 5xx, every request succeeds, and the failing one is tried at
/// most once per request.
#[tokio::test]
async fn retries_move_to_another_endpoint() {
    bounded(async {
        let policy = "    retries: {attempts: 1, retryOn: 5xx}";
        let mesh = shared(&config(policy, RR));
        let bad = Backend::start(Behaviour::Fail(500)).await;
        let good = Backend::start(Behaviour::Ok).await;
        mesh.set_endpoints(HOST, 8080, vec![bad.endpoint(), good.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        for _ in 0..40 {
            let reply = send(&client, request("/")).await;
            assert_eq!(reply.status, StatusCode::OK);
        }
        // Round robin starts anywhere; after that each request's first attempt alternates,
        // and every retry lands on the healthy endpoint.
        assert_eq!(good.hits(), 40);
        assert!(bad.hits() >= 39, "{}", bad.hits());
    })
    .await;
}

/// The default policy retries connect failures on another host: with one endpoint gone, no
/// request fails; a failed connection answers 503 `UF` with Envoy's text when nothing else is
/// left.
#[tokio::test]
async fn connect_failures_are_retried_and_answered_uf() {
    bounded(async {
        let mesh = shared(&config("", "{loadBalancer: {simple: ROUND_ROBIN}}"));
        let good = Backend::start(Behaviour::Ok).await;
        let (dead, _reserved) = dead_endpoint();
        mesh.set_endpoints(HOST, 8080, vec![dead.clone(), good.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh.clone(), Source::default()).layer(upstream_client());
        for _ in 0..10 {
            let reply = send(&client, request("/")).await;
            assert_eq!(reply.status, StatusCode::OK);
        }
        assert_eq!(good.hits(), 10);

        mesh.set_endpoints(HOST, 8080, vec![dead]).unwrap();
        let reply = send(&client, request("/")).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.flag, Some("UF,URX"));
        let body = String::from_utf8(reply.body).unwrap();
        assert!(
            body.starts_with(
                "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure"
            ),
            "{body}"
        );
    })
    .await;
}

/// A request body is sent again on a retry (it is kept while the first attempt streams it).
#[tokio::test]
async fn retried_requests_carry_their_body() {
    bounded(async {
        let policy = "    retries: {attempts: 1, retryOn: 5xx}";
        let mesh = shared(&config(policy, RR));
        let failing = Backend::start(Behaviour::Fail(502)).await;
        mesh.set_endpoints(HOST, 8080, vec![failing.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        let request = http::Request::post("http://svc:8080/upload")
            .body(Full::new(Bytes::from_static(b"payload")))
            .unwrap();
        let reply = send(&client, request).await;
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
        let bodies = failing.bodies.lock().unwrap().clone();
        assert_eq!(bodies, vec![b"payload".to_vec(), b"payload".to_vec()]);

        // Past the replay limit, the body streams once and is not retried (Envoy's buffer
        // limit).
        let mesh = shared(&config(policy, RR));
        mesh.set_endpoints(HOST, 8080, vec![failing.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default())
            .retry_buffer_limit(4)
            .layer(upstream_client());
        let request = http::Request::post("http://svc:8080/upload")
            .body(Full::new(Bytes::from_static(b"payload")))
            .unwrap();
        let reply = send(&client, request).await;
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
        assert_eq!(failing.hits(), 3, "one attempt only past the limit");
    })
    .await;
}

/// Fault injection: a 100% delay holds the request (flag `DI`), a 30% abort answers its status
/// with "fault filter abort" (flag `FI`) to about 30% of requests, drawn from the seeded source.
#[tokio::test]
async fn fault_delay_and_abort_shares() {
    bounded(async {
        let policy = "    fault: {delay: {fixedDelay: 200ms, percentage: {value: 100}}}";
        let mesh = shared(&config(policy, RR));
        let ok = Backend::start(Behaviour::Ok).await;
        mesh.set_endpoints(HOST, 8080, vec![ok.endpoint()]).unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        let start = Instant::now();
        let reply = send(&client, request("/")).await;
        assert!(start.elapsed() >= Duration::from_millis(190));
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.upstream.unwrap().flags, "DI");

        let policy = "    fault: {abort: {httpStatus: 418, percentage: {value: 30}}}";
        let mesh = shared(&config(policy, RR));
        mesh.set_endpoints(HOST, 8080, vec![ok.endpoint()]).unwrap();
        let client = OutboundLayer::new(mesh, Source::default())
            .with_rng(FastRng::from_seed(11))
            .layer(upstream_client());
        let before = ok.hits();
        let mut aborted = 0;
        for _ in 0..1000 {
            let reply = send(&client, request("/")).await;
            if reply.status == StatusCode::IM_A_TEAPOT {
                assert_eq!(reply.flag, Some("FI"));
                assert_eq!(reply.body, b"fault filter abort");
                aborted += 1;
            }
        }
        assert!((250..350).contains(&aborted), "{aborted} of 1000 aborted");
        assert_eq!(ok.hits() - before, 1000 - aborted);
    })
    .await;
}

/// `svc` mirrored to the Service `shadow`: the main endpoint answers at once, the mirror's
/// hangs. Returns the mesh and the mirror's backend.
async fn mirrored() -> (SharedMesh, Backend) {
    let yaml = format!(
        "{}---
apiVersion: v1
kind: Service
metadata: {{name: shadow, namespace: default}}
spec:
  ports: [{{port: 8080, name: http}}]
  selector: {{app: shadow}}
",
        config("    mirror: {host: shadow}", RR)
    );
    let mesh = shared(&yaml);
    let main = Backend::start(Behaviour::Ok).await;
    let shadow = Backend::start(Behaviour::Hang).await;
    mesh.set_endpoints(HOST, 8080, vec![main.endpoint()])
        .unwrap();
    mesh.set_endpoints(
        "shadow.default.svc.cluster.local",
        8080,
        vec![shadow.endpoint()],
    )
    .unwrap();
    (mesh, shadow)
}

/// Mirrors: the copy reaches the mirror's endpoint with the same body, and a mirror that
/// hangs never slows the main request.
#[tokio::test]
async fn mirrors_arrive_and_never_slow_the_main_path() {
    bounded(async {
        let (mesh, shadow) = mirrored().await;
        let layer = OutboundLayer::new(mesh, Source::default());
        let client = layer.clone().layer(upstream_client());
        for i in 0..5 {
            let start = Instant::now();
            let request = http::Request::post("http://svc:8080/write")
                .body(Full::new(Bytes::from(format!("body {i}"))))
                .unwrap();
            let reply = send(&client, request).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "{:?}",
                start.elapsed()
            );
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while shadow.hits() < 5 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(shadow.hits(), 5);
        let mut bodies = shadow.bodies.lock().unwrap().clone();
        bodies.sort();
        let expected: Vec<Vec<u8>> = (0..5).map(|i| format!("body {i}").into_bytes()).collect();
        assert_eq!(bodies, expected);
        assert_eq!(layer.stats().mirrors_in_flight, 5);
        assert_eq!(layer.stats().mirrors_dropped, 0);
    })
    .await;
}

/// Mirrors over the in-flight bound are dropped and counted.
#[tokio::test]
async fn mirrors_over_the_bound_are_dropped_and_counted() {
    bounded(async {
        let (mesh, _shadow) = mirrored().await;
        let layer = OutboundLayer::new(mesh, Source::default()).max_mirrors_in_flight(2);
        let client = layer.clone().layer(upstream_client());
        for _ in 0..5 {
            assert_eq!(send(&client, request("/")).await.status, StatusCode::OK);
        }
        let stats = layer.stats();
        assert_eq!(stats.mirrors_dropped, 3);
        assert_eq!(stats.mirrors_in_flight, 2);
    })
    .await;
}

/// `http2MaxRequests: 1`: while one request is in flight, the next is answered 503 `UO` at
/// once with `x-envoy-overloaded: true`; once the first is done, requests pass again (the
/// place is given back).
#[tokio::test]
async fn overflow_is_answered_503_uo_at_once() {
    bounded(async {
        let pool = "{connectionPool: {http: {http2MaxRequests: 1}}}";
        let mesh = shared(&config("    timeout: 500ms", pool));
        let backend = Backend::start(Behaviour::Hang).await;
        mesh.set_endpoints(HOST, 8080, vec![backend.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        let first = tokio::spawn({
            let client = client.clone();
            async move { send(&client, request("/")).await.status }
        });
        while backend.hits() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let start = Instant::now();
        let reply = send(&client, request("/")).await;
        assert!(start.elapsed() < Duration::from_millis(200));
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.flag, Some("UO"));
        assert_eq!(reply.headers["x-envoy-overloaded"], "true");
        assert_eq!(first.await.unwrap(), StatusCode::GATEWAY_TIMEOUT);
        backend.set(Behaviour::Ok);
        assert_eq!(send(&client, request("/")).await.status, StatusCode::OK);
    })
    .await;
}

/// Outlier detection fed by the layer: an endpoint that fails 5 times in a row is ejected for
/// the base ejection time (traffic moves to the healthy one), then comes back.
#[tokio::test]
async fn a_failing_endpoint_is_ejected_and_comes_back() {
    bounded(async {
        let rule = "{loadBalancer: {simple: ROUND_ROBIN}, outlierDetection: {consecutive5xxErrors: 5, interval: 50ms, baseEjectionTime: 1s, maxEjectionPercent: 100}}";
        let mesh = shared(&config("    retries: {attempts: 0}", rule));
        let bad = Backend::start(Behaviour::Fail(500)).await;
        let good = Backend::start(Behaviour::Ok).await;
        mesh.set_endpoints(HOST, 8080, vec![bad.endpoint(), good.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        // Round robin alternates: 10 requests give the bad endpoint its 5 failures.
        for _ in 0..10 {
            send(&client, request("/")).await;
        }
        assert_eq!(bad.hits(), 5);
        // Ejected at the next sweep (every 50 ms).
        tokio::time::sleep(Duration::from_millis(120)).await;
        let before = bad.hits();
        for _ in 0..10 {
            assert_eq!(send(&client, request("/")).await.status, StatusCode::OK);
        }
        assert_eq!(bad.hits(), before, "an ejected endpoint gets no traffic");
        // Back after the base ejection time (1 s × 1 ejection), at a sweep.
        bad.set(Behaviour::Ok);
        tokio::time::sleep(Duration::from_millis(1300)).await;
        for _ in 0..10 {
            send(&client, request("/")).await;
        }
        assert!(bad.hits() > before, "the endpoint came back");
    })
    .await;
}

/// The killed-backend case: the default retry policy moves connect failures to the healthy
/// endpoint, and after 5 consecutive failures outlier detection ejects the dead one, so later
/// requests need a single attempt.
#[tokio::test]
async fn a_killed_backend_is_ejected() {
    bounded(async {
        // maxEjectionPercent stays at Istio's default 10% here would never eject one of two
        // endpoints (Envoy ejects only while (ejected + 1) / hosts <= max).
        let rule = "{loadBalancer: {simple: ROUND_ROBIN}, outlierDetection: {consecutive5xxErrors: 5, interval: 50ms, baseEjectionTime: 30s, maxEjectionPercent: 50}}";
        let mesh = shared(&config("", rule));
        let good = Backend::start(Behaviour::Ok).await;
        let (dead, _reserved) = dead_endpoint();
        mesh.set_endpoints(HOST, 8080, vec![dead, good.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        let mut retried = 0;
        for _ in 0..20 {
            let reply = send(&client, request("/")).await;
            assert_eq!(reply.status, StatusCode::OK);
            retried += usize::from(reply.upstream.is_some());
        }
        assert!(retried >= 5, "{retried}");
        tokio::time::sleep(Duration::from_millis(120)).await;
        for i in 0..20 {
            let reply = send(&client, request("/")).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert!(
                reply.upstream.is_none(),
                "request {i}: no retry once the dead endpoint is ejected: {:?}",
                reply.upstream
            );
        }
    })
    .await;
}

/// gRPC requests get trailers-only local replies with Envoy's `grpc-status` mapping
/// (status.cc `httpToGrpcStatus`): 404 → 12, 504 → 14, a fault's `grpcStatus` as is.
#[tokio::test]
async fn grpc_local_replies_carry_grpc_status() {
    bounded(async {
        let check = |reply: &Reply, code: &str| {
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(reply.headers["content-type"], "application/grpc");
            assert_eq!(reply.headers["grpc-status"], code);
            assert!(reply.body.is_empty());
        };
        let no_route = shared(&config("", RR).replace("prefix: /", "prefix: /only"));
        let client = OutboundLayer::new(no_route, Source::default()).layer(upstream_client());
        let reply = send(&client, grpc_request()).await;
        check(&reply, "12");
        assert_eq!(reply.flag, Some("NR"));

        let mesh = shared(&config("    timeout: 200ms", RR));
        let hang = Backend::start(Behaviour::Hang).await;
        mesh.set_endpoints(HOST, 8080, vec![hang.endpoint()])
            .unwrap();
        let client = OutboundLayer::new(mesh, Source::default()).layer(upstream_client());
        let reply = send(&client, grpc_request()).await;
        check(&reply, "14");
        assert_eq!(reply.headers["grpc-message"], "upstream request timeout");

        let policy =
            "    fault: {abort: {grpcStatus: RESOURCE_EXHAUSTED, percentage: {value: 100}}}";
        let client = OutboundLayer::new(shared(&config(policy, RR)), Source::default())
            .layer(upstream_client());
        let reply = send(&client, grpc_request()).await;
        check(&reply, "8");
        assert_eq!(reply.flag, Some("FI"));
    })
    .await;
}

/// The request type the inner client receives is the layer's replayable body; a plain
/// `service_fn` works as the inner client too.
#[tokio::test]
async fn any_clone_service_is_an_inner_client() {
    bounded(async {
        let mesh = shared(&config("    retries: {attempts: 2, retryOn: 5xx}", RR));
        let ok = Backend::start(Behaviour::Ok).await;
        mesh.set_endpoints(HOST, 8080, vec![ok.endpoint()]).unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let inner = {
            let calls = Arc::clone(&calls);
            tower::service_fn(move |_request: http::Request<RequestBody<Body>>| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    let status = if n == 0 { 503 } else { 200 };
                    let mut response = http::Response::new(Full::new(Bytes::new()));
                    *response.status_mut() = StatusCode::from_u16(status).unwrap();
                    Ok::<_, Infallible>(response)
                }
            })
        };
        let client = OutboundLayer::new(mesh, Source::default()).layer(inner);
        let reply = send(&client, request("/")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.upstream.unwrap().attempts, 2);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    })
    .await;
}

/// A route with nothing to apply (`retries: {attempts: 0}`, no timeout, fault or mirror, no
/// `connectionPool` or outlier detection) is one call; a connection failure is still answered
/// as Envoy answers it, 503 `UF` without "retried".
#[tokio::test]
async fn a_route_without_policies_is_one_call() {
    bounded(async {
        let mesh = shared(&config("    retries: {attempts: 0}", RR));
        let (dead, _reserved) = dead_endpoint();
        mesh.set_endpoints(HOST, 8080, vec![dead]).unwrap();
        let client = OutboundLayer::new(mesh.clone(), Source::default()).layer(upstream_client());
        let reply = send(&client, request("/")).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.flag, Some("UF"));
        let body = String::from_utf8(reply.body).unwrap();
        assert!(
            body.starts_with(
                "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure"
            ),
            "{body}"
        );
        let ok = Backend::start(Behaviour::Ok).await;
        mesh.set_endpoints(HOST, 8080, vec![ok.endpoint()]).unwrap();
        let reply = send(&client, request("/")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.upstream.is_none());
        assert_eq!(ok.hits(), 1);
    })
    .await;
}
