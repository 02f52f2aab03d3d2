//! The seed scenario, for real, on loopback: `cargo run --example canary`.
//!
//! ```text
//!  client ──▶ gateway ──▶ svc-a (v1) ──▶ svc-b v1
//!                                    └─▶ svc-b v2
//! ```
//!
//! Four axum servers on `127.0.0.1` (ephemeral ports) stand in for the ingress gateway and the
//! three pods. There are no sidecars: the gateway and svc-a make the routing decisions Istio's
//! Envoys would make, in-process, with meshroute's tower layers, configured from the seed YAML
//! files in `examples/seed/` exactly as they would be `kubectl apply`-ed.
//!
//! 1. Canary by query parameter (`destination-rule-svc-b-canary.yaml`): `?name=xx` always reaches
//!    svc-b v2, every other request v1. svc-a never copies `name` onto its call of svc-b; the
//!    propagation layers carry it, which is what makes the second hop route correctly.
//! 2. Weighted canary (`destination-rule-svc-b-weighted.yaml`), swapped in live: 5% v1, 95% v2.
//!
//! Exits 0 when every check held, 1 otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use meshroute::config::Resource;
use meshroute::service::{CaptureLayer, Outbound, OutboundLayer, RequestBody};
use meshroute::{Endpoint, LoadOptions, Propagation, SharedMesh, Source};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::{Layer, ServiceExt};

/// A plain HTTP/1 client (hyper-util's pooled legacy client).
type HttpClient = Client<HttpConnector, Body>;
/// The same client behind meshroute's outbound layer: what a sidecar does to outgoing calls.
/// The layer hands it the request body wrapped so that a retry or a mirror can send it again.
type MeshClient = Outbound<Client<HttpConnector, RequestBody<Body>>>;

const SVC_A: &str = "svc-a.default.svc.cluster.local";
const SVC_B: &str = "svc-b.default.svc.cluster.local";
const SERVICE_PORT: u16 = 8080;

const CANARY: [&str; 3] = [
    "demo.yaml",
    "demo-gateway.yaml",
    "destination-rule-svc-b-canary.yaml",
];
const WEIGHTED: [&str; 3] = [
    "demo.yaml",
    "demo-gateway.yaml",
    "destination-rule-svc-b-weighted.yaml",
];

#[tokio::main]
async fn main() {
    let started = Instant::now();

    // ── Configuration: the seed YAML, unchanged, compiled into one live mesh. ──────────────────
    let shared = SharedMesh::new(meshroute::compile(load(&CANARY)).expect("seed configuration"));

    // ── The "pods": one listener each, on ephemeral loopback ports. ────────────────────────────
    let gateway_listener = bind().await;
    let svc_a_listener = bind().await;
    let svc_b_v1_listener = bind().await;
    let svc_b_v2_listener = bind().await;
    let gateway_addr = gateway_listener.local_addr().unwrap();

    // The manifests' Deployments give the pods synthetic 10.x addresses; the application
    // supplies where they really listen. The subsets (v1, v2) select them by their `version`
    // label, as Istio selects pods. SharedMesh re-applies these on every reload.
    shared
        .set_endpoints(
            SVC_A,
            SERVICE_PORT,
            vec![pod(&svc_a_listener, "demo-a", "v1", "demo-a-v1-0")],
        )
        .expect("svc-a is a known service");
    shared
        .set_endpoints(
            SVC_B,
            SERVICE_PORT,
            vec![
                pod(&svc_b_v1_listener, "demo-b", "v1", "demo-b-v1-0"),
                pod(&svc_b_v2_listener, "demo-b", "v2", "demo-b-v2-0"),
            ],
        )
        .expect("svc-b is a known service");

    let http: Client<HttpConnector, RequestBody<Body>> =
        Client::builder(TokioExecutor::new()).build_http();

    // ── gateway: routes every request as the ingress gateway `demo-gateway` would. ─────────────
    // `demo-gateway.yaml` binds VirtualService `demo` to it: `exact: /greet` → svc-a:8080. The
    // outbound layer decides, picks svc-a's endpoint, rewrites the URI to it (keeping
    // `Host: localhost`, as Envoy does) and forwards with the plain client.
    let gateway_client =
        OutboundLayer::new(shared.clone(), Source::gateway("default/demo-gateway"))
            .layer(http.clone());
    let gateway = Router::new().fallback(forward).with_state(gateway_client);

    // ── svc-a: calls svc-b for every request, as the seed's demo-a does. ───────────────────────
    // Its outbound calls are routed as svc-a's sidecar would route them (namespace `default`,
    // labels app=demo-a, version=v1). The CaptureLayer records, for each inbound request, the
    // flags the mesh routes on — here the `name` query parameter, found in the VirtualServices
    // by `Propagation::from_mesh` — and the outbound layer puts them on every call the handler
    // makes. Without it, svc-b would never see `name=xx` and would always answer from v1.
    let svc_a_client = OutboundLayer::new(
        shared.clone(),
        Source::sidecar("default").with_labels([("app", "demo-a"), ("version", "v1")]),
    )
    .layer(http.clone());
    let svc_a = Router::new()
        .route("/greet", get(greet_a))
        .with_state(svc_a_client)
        .layer(CaptureLayer::new(Propagation::from_mesh(&shared.load())));

    // ── svc-b v1 and v2: answer like the seed's demo-b images. ─────────────────────────────────
    let svc_b_v1 = Router::new().route("/greet", get(greet_b)).with_state(Pod {
        version: "v1",
        name: "demo-b-v1-0",
    });
    let svc_b_v2 = Router::new().route("/greet", get(greet_b)).with_state(Pod {
        version: "v2",
        name: "demo-b-v2-0",
    });

    let (shutdown, stop) = watch::channel(false);
    let servers = vec![
        serve(gateway_listener, gateway, stop.clone()),
        serve(svc_a_listener, svc_a, stop.clone()),
        serve(svc_b_v1_listener, svc_b_v1, stop.clone()),
        serve(svc_b_v2_listener, svc_b_v2, stop),
    ];

    // ── The client: plain HTTP to the gateway, `Host: localhost` (no mesh on this side). ───────
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let mut checks = Checks::default();

    println!("meshroute canary demo: client -> gateway {gateway_addr} -> svc-a -> svc-b v1|v2\n");
    println!("1. canary by query parameter ({})", CANARY[2]);
    for path in ["/greet?name=xx", "/greet?name=yy", "/greet", "/other"] {
        match send(&client, gateway_addr, path).await {
            Ok((status, body)) if body.is_empty() => {
                println!("   GET {path:<16} -> {} (empty body)", status.as_u16());
            }
            Ok((status, body)) => println!("   GET {path:<16} -> {} {body}", status.as_u16()),
            Err(error) => println!("   GET {path:<16} -> error: {error}"),
        }
    }
    for (path, name, version) in [
        ("/greet?name=xx", "xx", "v2"),
        ("/greet?name=yy", "yy", "v1"),
        ("/greet", "", "v1"),
    ] {
        let mut hits = 0;
        let mut echoed = 0;
        for _ in 0..20 {
            if let Ok((StatusCode::OK, body)) = send(&client, gateway_addr, path).await {
                hits += usize::from(version_of(&body) == Some(version));
                // svc-b saw the name svc-a never copied: propagation carried it.
                echoed += usize::from(body.ends_with(&format!("name is: {name}-{version}")));
            }
        }
        checks.check(
            hits == 20 && echoed == 20,
            format!("{path:<16} reached {version} {hits}/20 times, name echoed {echoed}/20"),
        );
    }
    // Only `exact: /greet` is routed; the gateway answers anything else itself (Envoy's 404 NR).
    let other = send(&client, gateway_addr, "/other").await;
    checks.check(
        matches!(other, Ok((StatusCode::NOT_FOUND, _))),
        "/other           answered 404 by the gateway (no route)".to_owned(),
    );

    // ── Live reload: the weighted VirtualService replaces the canary one, atomically. ──────────
    println!("\n2. weighted canary, swapped in live ({})", WEIGHTED[2]);
    let reloaded = shared.store_resources(load(&WEIGHTED));
    checks.check(
        reloaded.is_ok(),
        "weighted configuration compiled and stored".to_owned(),
    );

    const REQUESTS: usize = 1000;
    let (mut v1, mut v2, mut other) = (0usize, 0usize, 0usize);
    for i in 0..REQUESTS {
        // Any name: the weighted VirtualService has no match, only a 5/95 split.
        let path = format!("/greet?name=user{i}");
        match send(&client, gateway_addr, &path).await {
            Ok((StatusCode::OK, body)) if version_of(&body) == Some("v1") => v1 += 1,
            Ok((StatusCode::OK, body)) if version_of(&body) == Some("v2") => v2 += 1,
            _ => other += 1,
        }
    }
    let percent = |n: usize| n as f64 * 100.0 / REQUESTS as f64;
    println!(
        "   {REQUESTS} requests: v1 {v1} ({:.1}%), v2 {v2} ({:.1}%), failed {other}",
        percent(v1),
        percent(v2),
    );
    // Binomial spread at p = 0.05, n = 1000: σ ≈ 0.7 points; ±3 points is over 4σ.
    checks.check(
        other == 0 && (percent(v1) - 5.0).abs() <= 3.0,
        format!(
            "split {:.1}/{:.1} within 3 points of 5/95",
            percent(v1),
            percent(v2)
        ),
    );

    // ── Shut down: stop accepting, let open connections close, then wait (bounded). ─────────────
    drop(client);
    drop(http);
    let _ = shutdown.send(true);
    for server in servers {
        let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    }

    let elapsed = started.elapsed().as_secs_f64();
    if checks.failures == 0 {
        println!("\nPASS: {} checks held ({elapsed:.2}s)", checks.passed);
    } else {
        println!(
            "\nFAIL: {} of {} checks failed ({elapsed:.2}s)",
            checks.failures,
            checks.passed + checks.failures
        );
        std::process::exit(1);
    }
}

/// The gateway's handler: every request, whatever its path, goes through the outbound layer.
/// It arrives in origin form (`/greet?name=xx`) with `Host: localhost`; the layer routes on
/// that host as the ingress gateway would, and answers locally (404 for anything but
/// `/greet`, as Envoy's "no route") when the VirtualService says so.
async fn forward(State(client): State<MeshClient>, request: Request) -> Response {
    match client.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

/// svc-a's `/greet`: calls svc-b and returns its answer. Note what is *not* here: the inbound
/// `name` is not read or copied. The outbound layer injects it from the captured context.
async fn greet_a(State(client): State<MeshClient>) -> Response {
    let request = Request::get("http://svc-b:8080/greet")
        .body(Body::empty())
        .unwrap();
    match client.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

/// Which svc-b pod this server is.
#[derive(Clone, Copy)]
struct Pod {
    version: &'static str,
    name: &'static str,
}

/// svc-b's `/greet`, answering as the seed's demo-b images do.
async fn greet_b(State(pod): State<Pod>, Query(query): Query<HashMap<String, String>>) -> String {
    let name = query.get("name").map_or("", String::as_str);
    format!(
        "response from [svc-b] [{v}] HostName: {pod} HostAddress: 127.0.0.1 name is: {name}-{v}",
        v = pod.version,
        pod = pod.name,
    )
}

/// `[svc-b] [v2]` → `v2`.
fn version_of(body: &str) -> Option<&str> {
    let rest = body.strip_prefix("response from [svc-b] [")?;
    rest.split_once(']').map(|(version, _)| version)
}

/// Loads seed files from `examples/seed/` (any load error or warning is fatal here).
fn load(files: &[&str]) -> Vec<Resource> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed");
    let mut resources = Vec::new();
    for file in files {
        let loaded = meshroute::from_path(dir.join(file), &LoadOptions::default())
            .unwrap_or_else(|error| panic!("{error}"));
        for diagnostic in &loaded.diagnostics {
            eprintln!("{file}: {diagnostic}");
        }
        assert!(!loaded.has_errors(), "{file} did not load");
        resources.extend(loaded.resources);
    }
    resources
}

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// The endpoint of a pod listening on `listener`, with its Deployment's labels.
fn pod(listener: &TcpListener, app: &str, version: &str, name: &str) -> Endpoint {
    let port = listener.local_addr().unwrap().port();
    Endpoint::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
        .with_labels([("app", app), ("version", version)])
        .with_name(name)
}

fn serve(listener: TcpListener, app: Router, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await
            .unwrap();
    })
}

/// `GET http://{gateway}{path}` with `Host: localhost`, as `curl http://localhost/greet` would.
async fn send(
    client: &HttpClient,
    gateway: SocketAddr,
    path: &str,
) -> Result<(StatusCode, String), String> {
    let request = Request::get(format!("http://{gateway}{path}"))
        .header(header::HOST, "localhost")
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = axum::body::to_bytes(Body::new(response.into_body()), 64 * 1024)
        .await
        .map_err(|e| e.to_string())?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[derive(Default)]
struct Checks {
    passed: usize,
    failures: usize,
}

impl Checks {
    fn check(&mut self, ok: bool, what: String) {
        if ok {
            self.passed += 1;
            println!("   [ok]   {what}");
        } else {
            self.failures += 1;
            println!("   [FAIL] {what}");
        }
    }
}
