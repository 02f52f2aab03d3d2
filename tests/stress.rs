//! 10,000 concurrent requests through `OutboundLayer` against endpoints that answer, fail, hang
//! and are gone, a tenth of them cancelled by their caller mid-flight: every request that is
//! awaited gets an answer, no place in the circuit breaker is left held, and the memory the
//! process holds returns to what it held before. Its own binary: a counting global allocator
//! measures live bytes for the whole process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use meshroute::service::{LocalReply, OutboundLayer, RequestBody};
use meshroute::{Endpoint, FastRng, LoadOptions, SharedMesh, Source};
use tokio::net::TcpListener;
use tower::{Layer, Service, ServiceExt};

#[path = "common/live_bytes.rs"]
mod live_bytes;

use live_bytes::{Counting, LIVE, PEAK};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const YAML: &str = "apiVersion: v1
kind: Service
metadata: {name: svc, namespace: default}
spec:
  ports: [{port: 8080, name: http}]
  selector: {app: svc}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc, namespace: default}
spec:
  host: svc
  trafficPolicy:
    connectionPool: {http: {http2MaxRequests: 500}}
    outlierDetection: {consecutive5xxErrors: 50, interval: 100ms, baseEjectionTime: 100ms}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc, namespace: default}
spec:
  hosts: [svc]
  http:
  - route: [{destination: {host: svc}}]
    timeout: 300ms
    retries: {attempts: 1, retryOn: 5xx, perTryTimeout: 100ms}
";

/// A loopback server: 200, 503, or an answer after `delay`.
async fn backend(status: StatusCode, delay: Duration) -> Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(move || async move {
        tokio::time::sleep(delay).await;
        (status, "answer")
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Endpoint::new(addr.ip(), addr.port())
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

fn request() -> http::Request<Full<Bytes>> {
    http::Request::get("http://svc:8080/")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// Sends one request and reads its whole body: (status, flag of a local reply).
async fn send<S>(client: S) -> (StatusCode, Option<&'static str>)
where
    S: Service<
            http::Request<Full<Bytes>>,
            Response = http::Response<meshroute::service::ResponseBody<hyper::body::Incoming>>,
        >,
    S::Error: std::fmt::Debug,
{
    let response = client.oneshot(request()).await.unwrap();
    let flag = response.extensions().get::<LocalReply>().map(|r| r.flag);
    let status = response.status();
    let _ = response.into_body().collect().await;
    (status, flag)
}

async fn settle() -> isize {
    // Idle pooled connections close after 200 ms; give them, the servers and the timers time.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    LIVE.load(Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_requests_all_answered_nothing_leaks() {
    let test = async {
        let loaded = meshroute::from_str(YAML, &LoadOptions::default());
        let mesh = SharedMesh::new(loaded.compile().unwrap());
        let slow = backend(StatusCode::OK, Duration::from_millis(400)).await;
        let (dead, _reserved) = dead_endpoint();
        let endpoints = vec![
            backend(StatusCode::OK, Duration::ZERO).await,
            backend(StatusCode::SERVICE_UNAVAILABLE, Duration::ZERO).await,
            slow.clone(),
            dead,
        ];
        mesh.set_endpoints("svc", 8080, endpoints).unwrap();
        let http: Client<HttpConnector, RequestBody<Full<Bytes>>> =
            Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .pool_idle_timeout(Duration::from_millis(200))
                .build_http();
        let client = OutboundLayer::new(mesh.clone(), Source::default())
            .with_rng(FastRng::from_seed(3))
            .layer(http);

        // Warm up (thread-local caches, the outlier clock, the runtime's own structures).
        for _ in 0..200 {
            send(client.clone()).await;
        }
        let baseline = settle().await;
        PEAK.store(baseline, Ordering::Relaxed);

        let mut tasks = Vec::new();
        for i in 0..10_000u32 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let call = send(client);
                if i % 10 == 0 {
                    // A caller that gives up early: its future is dropped mid-flight.
                    tokio::time::timeout(Duration::from_millis(20), call)
                        .await
                        .ok()
                } else {
                    Some(call.await)
                }
            }));
        }
        let mut outcomes: HashMap<(u16, Option<&'static str>), usize> = HashMap::new();
        let mut answered = 0;
        let mut cancelled = 0;
        for task in tasks {
            match task.await.unwrap() {
                Some((status, flag)) => {
                    *outcomes.entry((status.as_u16(), flag)).or_default() += 1;
                    answered += 1;
                }
                None => cancelled += 1,
            }
        }
        assert_eq!(answered + cancelled, 10_000);
        assert!(answered >= 9_000, "{answered}: {outcomes:?}");
        assert!(outcomes.contains_key(&(200, None)), "{outcomes:?}");
        assert!(outcomes.contains_key(&(503, Some("UO"))), "{outcomes:?}");

        // Nothing held: with only the slow endpoint left, as many requests as
        // http2MaxRequests allows are all in flight at once, and all admitted (each times out,
        // none is refused 503 UO).
        mesh.set_endpoints("svc", 8080, vec![slow]).unwrap();
        let mut probes = Vec::new();
        for _ in 0..500 {
            let client = client.clone();
            probes.push(tokio::spawn(send(client)));
        }
        for probe in probes {
            let (status, flag) = probe.await.unwrap();
            assert_ne!(
                flag,
                Some("UO"),
                "a place in the circuit breaker was leaked"
            );
            assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        }

        let after = settle().await;
        let grown = after - baseline;
        let peak = PEAK.load(Ordering::Relaxed);
        eprintln!(
            "live bytes: baseline {baseline}, peak {peak}, after {after}; outcomes {outcomes:?}"
        );
        assert!(peak - baseline > 4 * 1024 * 1024, "the load was measured");
        assert!(
            grown < 2 * 1024 * 1024,
            "live memory grew by {grown} bytes (baseline {baseline})"
        );
    };
    tokio::time::timeout(Duration::from_secs(120), test)
        .await
        .expect("the test did not finish within its time limit");
}
