//! Per-request overhead of the tower layers, without network: the inner service is an in-memory
//! `tower::service_fn` answering a fixed response, driven with `ServiceExt::oneshot` on a tokio
//! current-thread runtime. Each layered service is measured next to its baseline in the same
//! run; the added cost per request is the difference (target: under 1 µs).
//!
//! - `bare`: the inner service alone (baseline of `dispatch` and `outbound`);
//! - `dispatch`: `Dispatch` routing the request as `svc-b:8080` (header match to v2) and calling
//!   the subset's service;
//! - `outbound`: `OutboundLayer` routing the request, picking one of 4 endpoints (round robin),
//!   rewriting the URI to it and setting `Host`, with the policy machinery (Istio's default
//!   retry policy: the request's parts are kept for a retry that never comes);
//! - `outbound (no policy)`: the same with `retries: {attempts: 0}` on the route — the
//!   machinery with nothing to do;
//! - `route+forward (baseline)`: what the layer did before it applied policies, written out:
//!   load the mesh, route, pick, rewrite the URI, call the inner service. `outbound (no
//!   policy)` against it is the cost of the policy machinery itself;
//! - `hop`: a handler that receives an inbound request and makes one outbound call to the inner
//!   service (baseline of `capture+outbound`);
//! - `capture`: the same handler under `CaptureLayer` (the routing flag and two trace headers
//!   captured), calling the inner service directly;
//! - `capture+outbound`: the same handler under `CaptureLayer` (the routing flag and two trace
//!   headers captured) calling through `OutboundLayer`, which injects them and routes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::{Empty, Full};
use meshroute::service::{CaptureLayer, Dispatch, OutboundLayer};
use meshroute::{Endpoint, Propagation, SharedMesh, Source};
use tokio::runtime::Runtime;
use tower::{Layer, Service, ServiceExt, service_fn};

const CONFIG: &str = "apiVersion: v1
kind: Service
metadata: {name: svc-b}
spec:
  ports: [{port: 8080, name: http}]
  selector: {app: svc-b}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-b}
spec:
  host: svc-b
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b}
spec:
  hosts: [svc-b]
  http:
  - match: [{headers: {x-canary: {exact: \"true\"}}}]
    route: [{destination: {host: svc-b, subset: v2}}]
  - match: [{queryParams: {name: {exact: xx}}}]
    route: [{destination: {host: svc-b, subset: v2}}]
  - route: [{destination: {host: svc-b, subset: v1}}]
";

/// `CONFIG` with retries off on every route: no policy at all.
fn no_policy_config() -> String {
    CONFIG.replace(
        "    route: [{destination: {host: svc-b, subset: v2}}]",
        "    route: [{destination: {host: svc-b, subset: v2}}]\n    retries: {attempts: 0}",
    )
}

fn shared(config: &str) -> SharedMesh {
    let loaded = meshroute::from_str(config, &meshroute::LoadOptions::default());
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    let mesh = SharedMesh::new(meshroute::compile(loaded.resources).unwrap());
    let endpoints = (1..=4u8)
        .map(|i| {
            let version = if i % 2 == 0 { "v2" } else { "v1" };
            Endpoint::new([10, 0, 0, i].into(), 8080).with_labels([("version", version)])
        })
        .collect();
    mesh.set_endpoints("svc-b.default.svc.cluster.local", 8080, endpoints)
        .unwrap();
    mesh
}

/// The in-memory upstream: a fixed response, no I/O.
fn inner<B: Send + 'static>()
-> impl Service<Request<B>, Response = Response<Full<Bytes>>, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    service_fn(|_request: Request<B>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    })
}

type Body = Empty<Bytes>;

/// The outbound layer's job before it applied policies, written out: route, pick, rewrite the
/// URI to the endpoint, set `Host`, call.
fn route_and_forward(
    mesh: SharedMesh,
) -> impl Service<Request<Body>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone {
    let source = Source::default();
    let upstream = inner::<Body>();
    service_fn(move |mut request: Request<Body>| {
        let snapshot = mesh.load();
        let address = snapshot
            .route(&request, &source)
            .endpoint()
            .map(|e| e.address.clone());
        if let Some(address) = address {
            let path = request.uri().path_and_query().cloned().unwrap();
            *request.uri_mut() = http::Uri::builder()
                .scheme("http")
                .authority(address.as_str())
                .path_and_query(path)
                .build()
                .unwrap();
            let host = http::HeaderValue::from_static("svc-b:8080");
            request.headers_mut().insert(http::header::HOST, host);
        }
        upstream.clone().oneshot(request)
    })
}

/// The outgoing request: to the service, with the canary flag (v2 is chosen).
fn outgoing() -> Request<Body> {
    Request::get("http://svc-b:8080/api/items?page=2")
        .header("x-canary", "true")
        .header("accept", "application/json")
        .body(Empty::new())
        .unwrap()
}

/// The inbound request of the `hop` handler: the flag and two trace headers, which
/// `CaptureLayer` captures; the handler's own outgoing request carries none of them.
fn inbound() -> Request<Body> {
    Request::get("http://edge:8080/start?page=2")
        .header("x-canary", "true")
        .header("x-request-id", "6d1e4d7a-9a6f-4a4e-9df4-1b0f0b7c2a11")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header("accept", "application/json")
        .body(Empty::new())
        .unwrap()
}

fn bare_outgoing() -> Request<Body> {
    Request::get("http://svc-b:8080/api/items?page=2")
        .header("accept", "application/json")
        .body(Empty::new())
        .unwrap()
}

/// Runs `iters` requests through `service` one after another and returns the elapsed time.
fn drive<S, R>(
    runtime: &Runtime,
    service: &S,
    request: fn() -> Request<Body>,
    iters: u64,
) -> Duration
where
    S: Service<Request<Body>, Response = R> + Clone,
    S::Error: std::fmt::Debug,
{
    runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let response = service.clone().oneshot(request()).await.unwrap();
            black_box(response);
        }
        start.elapsed()
    })
}

fn layers(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mesh = shared(CONFIG);
    let quiet = shared(&no_policy_config());

    let bare = inner::<Body>();
    let dispatch = Dispatch::builder(mesh.clone(), "svc-b:8080")
        .subset("v1", inner::<Body>())
        .subset("v2", inner::<Body>())
        .build();
    let outbound = OutboundLayer::new(mesh.clone(), Source::default()).layer(inner());
    let no_policy = OutboundLayer::new(quiet.clone(), Source::default()).layer(inner());
    let forward = route_and_forward(quiet.clone());

    // A handler making one outbound call per inbound request: plain, and under CaptureLayer
    // through OutboundLayer (the captured flag and trace headers are injected).
    let hop = service_fn(|_inbound: Request<Body>| inner::<Body>().oneshot(bare_outgoing()));
    let captured = CaptureLayer::new(Propagation::from_mesh(&mesh.load())).layer(hop);
    let propagated = {
        let outbound = outbound.clone();
        CaptureLayer::new(Propagation::from_mesh(&mesh.load())).layer(service_fn(
            move |_inbound: Request<Body>| outbound.clone().oneshot(bare_outgoing()),
        ))
    };

    // Sanity: the layered services decide as intended.
    runtime.block_on(async {
        let response = outbound.clone().oneshot(outgoing()).await.unwrap();
        assert_eq!(response.status(), 200);
        let response = no_policy.clone().oneshot(outgoing()).await.unwrap();
        assert_eq!(response.status(), 200);
        let response = forward.clone().oneshot(outgoing()).await.unwrap();
        assert_eq!(response.status(), 200);
        let response = dispatch.clone().oneshot(outgoing()).await.unwrap();
        assert_eq!(response.status(), 200);
        let response = propagated.clone().oneshot(inbound()).await.unwrap();
        assert_eq!(response.status(), 200);
    });

    let mut group = c.benchmark_group("layer");
    group.bench_function("bare (baseline)", |b| {
        b.iter_custom(|iters| drive(&runtime, &bare, outgoing, iters));
    });
    group.bench_function("dispatch", |b| {
        b.iter_custom(|iters| drive(&runtime, &dispatch, outgoing, iters));
    });
    group.bench_function("outbound", |b| {
        b.iter_custom(|iters| drive(&runtime, &outbound, outgoing, iters));
    });
    group.bench_function("route+forward (baseline)", |b| {
        b.iter_custom(|iters| drive(&runtime, &forward, outgoing, iters));
    });
    group.bench_function("outbound (no policy)", |b| {
        b.iter_custom(|iters| drive(&runtime, &no_policy, outgoing, iters));
    });
    group.bench_function("hop (baseline)", |b| {
        b.iter_custom(|iters| drive(&runtime, &hop, inbound, iters));
    });
    group.bench_function("capture", |b| {
        b.iter_custom(|iters| drive(&runtime, &captured, inbound, iters));
    });
    group.bench_function("capture+outbound", |b| {
        b.iter_custom(|iters| drive(&runtime, &propagated, inbound, iters));
    });
    group.finish();
}

criterion_group!(benches, layers);
criterion_main!(benches);
