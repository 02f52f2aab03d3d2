//! The tower layers over real loopback HTTP: `Dispatch` picking the v1 or v2 handler, the
//! routing context travelling across hops (`CaptureLayer`, `OutboundLayer`, `InjectLayer`),
//! Envoy's local replies, outbound forwarding with header operations and rewrites, and
//! configuration swaps under concurrent load.
//!
//! Every server listens on `127.0.0.1` on an ephemeral port, every test body runs under a time
//! limit, and every server is shut down by the test that started it.
#![cfg(all(feature = "tower", feature = "yaml"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use meshroute::config::Resource;
use meshroute::service::{
    CaptureLayer, Dispatch, InjectLayer, Outbound, OutboundLayer, RequestBody, RouteInfo,
};
use meshroute::{Endpoint, LoadOptions, Mesh, Propagation, SharedMesh, Source};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::{Layer, Service, ServiceExt};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The time limit of one test body.
const LIMIT: Duration = Duration::from_secs(20);

/// Runs a test body under [`LIMIT`].
async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("the test did not finish within its time limit")
}

/// Loads `yaml`; any load error fails the test.
fn resources(yaml: &str) -> Vec<Resource> {
    let loaded = meshroute::from_str(yaml, &LoadOptions::default());
    assert!(
        !loaded.has_errors(),
        "load errors: {:#?}",
        loaded.diagnostics
    );
    loaded.resources
}

/// Loads and compiles `yaml` into a live mesh.
fn shared(yaml: &str) -> SharedMesh {
    match meshroute::compile(resources(yaml)) {
        Ok(mesh) => SharedMesh::new(mesh),
        Err(e) => panic!("compile errors: {e:#?}"),
    }
}

/// A Kubernetes Service `name` (namespace `default`) on port 8080.
fn service(name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  ports: [{{port: 8080, name: http}}]
  selector: {{app: {name}}}
---
"
    )
}

/// A DestinationRule with the subsets v1 and v2 (label `version`).
fn subsets(host: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {host}}}
spec:
  host: {host}
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
---
"
    )
}

/// The canary VirtualService: `x-canary: true` or `?name=xx` go to v2, the rest to v1.
fn canary(host: &str) -> String {
    format!(
        "{service}{subsets}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {host}}}
spec:
  hosts: [{host}]
  http:
  - name: canary-header
    match: [{{headers: {{x-canary: {{exact: \"true\"}}}}}}]
    route: [{{destination: {{host: {host}, subset: v2}}}}]
  - name: canary-query
    match: [{{queryParams: {{name: {{exact: xx}}}}}}]
    route: [{{destination: {{host: {host}, subset: v2}}}}]
  - name: stable
    route: [{{destination: {{host: {host}, subset: v1}}}}]
---
",
        service = service(host),
        subsets = subsets(host),
    )
}

fn fqdn(host: &str) -> String {
    format!("{host}.default.svc.cluster.local")
}

/// An HTTP server on a loopback ephemeral port, shut down by [`Server::stop`] (or aborted when
/// dropped, should the test fail first).
struct Server {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(app: Router) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = signal.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            shutdown: Some(shutdown),
            task,
        }
    }

    /// This server as an endpoint of subset `version`.
    fn endpoint(&self, version: &str) -> Endpoint {
        Endpoint::new(self.addr.ip(), self.addr.port()).with_labels([("version", version)])
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Graceful shutdown (idle pooled connections are closed), bounded; aborted if it hangs.
    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// The client an `Outbound` wraps: its request bodies are meshroute's replayable ones.
type UpstreamClient = Client<HttpConnector, RequestBody<Empty<Bytes>>>;

fn upstream_client() -> UpstreamClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// The outbound client of a sidecar in namespace `default`.
fn outbound(mesh: &SharedMesh) -> Outbound<UpstreamClient> {
    OutboundLayer::new(mesh.clone(), Source::default()).layer(upstream_client())
}

type Headers<'a> = &'a [(&'a str, &'a str)];

fn get(uri: &str, headers: Headers<'_>) -> http::Request<Empty<Bytes>> {
    let mut builder = http::Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Empty::new()).unwrap()
}

/// A collected response.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {e}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// Sends `request` through `service` and collects the response.
async fn try_send<S, ReqB, B>(service: S, request: http::Request<ReqB>) -> Result<Reply, String>
where
    S: Service<http::Request<ReqB>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = service
        .oneshot(request)
        .await
        .map_err(|e| format!("request failed: {e:?}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("body failed: {e:?}"))?
        .to_bytes();
    Ok(Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

async fn send<S, ReqB, B>(service: S, request: http::Request<ReqB>) -> Reply
where
    S: Service<http::Request<ReqB>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    try_send(service, request).await.unwrap()
}

/// What a handler saw: its name, the URI, the headers (the values of a repeated header joined
/// with `, `) and the [`RouteInfo`] extension, if any.
fn describe(name: &str, request: &Request) -> Value {
    let mut headers: BTreeMap<&str, String> = BTreeMap::new();
    for (name, value) in request.headers() {
        let value = value.to_str().unwrap_or("<binary>");
        headers
            .entry(name.as_str())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    let route = request.extensions().get::<RouteInfo>().map(|info| {
        json!({
            "outcome": info.outcome.as_str(),
            "virtual_service": info.virtual_service,
            "route": info.route,
            "host": info.host,
            "subset": info.subset,
        })
    });
    json!({"server": name, "uri": request.uri().to_string(), "headers": headers, "route": route})
}

/// A handler that answers with [`describe`] and the response header `x-server: name`.
fn echo(name: &'static str) -> Router {
    Router::new().fallback(move |request: Request| async move {
        ([("x-server", name)], axum::Json(describe(name, &request)))
    })
}

/// A service that captures the routing context of its inbound request and calls `next` with a
/// fresh request (nothing copied) through `client`; it answers with what it saw and what the
/// next hop answered.
fn hop<C, B>(name: &'static str, next: &'static str, client: C, capture: CaptureLayer) -> Router
where
    C: Service<http::Request<Empty<Bytes>>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    C::Error: std::fmt::Debug,
    C::Future: Send,
    B: http_body::Body + Send,
    B::Data: Send,
    B::Error: std::fmt::Debug,
{
    Router::new()
        .fallback(move |request: Request| {
            let client = client.clone();
            async move {
                let seen = describe(name, &request);
                let reply = send(client, get(next, &[])).await;
                let downstream =
                    serde_json::from_slice::<Value>(&reply.body).unwrap_or(Value::Null);
                axum::Json(json!({
                    "seen": seen,
                    "status": reply.status.as_u16(),
                    "next": downstream,
                }))
            }
        })
        .layer(capture)
}

// ---------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------

/// Dispatch routes each inbound request as a request to its own host: the header and query
/// matches of the VirtualService pick the v2 handler, everything else reaches v1, and the
/// handler sees the decision as a `RouteInfo` extension.
#[tokio::test]
async fn dispatch_picks_the_subset_handler_by_header_and_query() {
    bounded(async {
        let mesh = shared(&canary("svc-b"));
        let app = Dispatch::builder(mesh, "svc-b:8080")
            .subset("v1", echo("v1"))
            .subset("v2", echo("v2"))
            .build();
        let server = Server::start(Router::new().fallback_service(app)).await;
        let client = client();
        // (path and query, headers, the handler, the index of the route in `spec.http`)
        let cases: [(&str, Headers, &str, usize); 7] = [
            ("/", &[], "v1", 2),
            ("/", &[("x-canary", "true")], "v2", 0),
            ("/", &[("x-canary", "false")], "v1", 2),
            ("/", &[("X-Canary", "true")], "v2", 0),
            ("/page?name=xx", &[], "v2", 1),
            ("/page?name=yy", &[], "v1", 2),
            ("/page?other=1&name=xx", &[], "v2", 1),
        ];
        for (path, headers, version, route) in cases {
            let reply = send(&client, get(&server.url(path), headers)).await;
            assert_eq!(reply.status, StatusCode::OK, "{path} {headers:?}");
            let body = reply.json();
            assert_eq!(body["server"], version, "{path} {headers:?}");
            assert_eq!(body["uri"], path);
            assert_eq!(
                body["route"],
                json!({
                    "outcome": "route",
                    "virtual_service": "default/svc-b",
                    "route": route,
                    "host": "svc-b.default.svc.cluster.local",
                    "subset": version,
                }),
                "{path} {headers:?}"
            );
        }
        server.stop().await;
    })
    .await;
}

/// Dispatch answers redirects, direct responses, no route (404 NR) and a subset no
/// DestinationRule defines (503 NC) itself, without calling a handler; a defined subset's
/// handler is called even when the mesh knows no endpoints for it (in-process, the handler is
/// the workload, so 503 UH does not apply).
#[tokio::test]
async fn dispatch_answers_local_replies_without_calling_a_handler() {
    bounded(async {
        let yaml = format!("{}{}{LOCAL_REPLIES}", service("svc-d"), subsets("svc-d"));
        let mesh = shared(&yaml);
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = |name: &'static str| {
            let calls = Arc::clone(&calls);
            echo(name).layer(axum::middleware::from_fn(
                move |request: Request, next: axum::middleware::Next| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    next.run(request)
                },
            ))
        };
        let app = Dispatch::builder(mesh, "svc-d:8080")
            .subset("v1", counted("v1"))
            .subset("v2", counted("v2"))
            .subset("v9", counted("v9"))
            .build();
        let server = Server::start(Router::new().fallback_service(app)).await;
        let client = client();

        let reply = send(&client, get(&server.url("/old/page?x=1"), &[])).await;
        assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
        assert_eq!(reply.header("location"), Some("http://svc-d:8080/new?x=1"));
        let reply = send(&client, get(&server.url("/direct"), &[])).await;
        assert_eq!(reply.status, StatusCode::IM_A_TEAPOT);
        assert_eq!(reply.text(), "short and stout");
        let reply = send(&client, get(&server.url("/nowhere"), &[])).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        let reply = send(&client, get(&server.url("/missing"), &[])).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.text(), "");
        assert_eq!(calls.load(Ordering::SeqCst), 0, "a handler was called");

        let reply = send(&client, get(&server.url("/empty"), &[])).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json()["server"], "v2");
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        server.stop().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Propagation
// ---------------------------------------------------------------------------------------------

/// The two-hop canary: the edge service A captures `x-canary` (or `?name=xx`) and the trace
/// headers; its call to B carries them although A copies nothing, so B's v2 is chosen; B's call
/// to C carries them again, so C's v2 is chosen. A header outside the allowlist does not travel.
#[tokio::test]
async fn routing_flags_and_trace_headers_travel_two_hops() {
    bounded(async {
        let mut yaml = canary("svc-b");
        yaml.push_str(&canary("svc-c"));
        yaml.push_str(&service("svc-a"));
        let mesh = shared(&yaml);
        let capture = CaptureLayer::new(Propagation::from_mesh(&mesh.load()));

        let c1 = Server::start(echo("c-v1")).await;
        let c2 = Server::start(echo("c-v2")).await;
        let to_c = "http://svc-c:8080/c";
        let b1 = Server::start(hop("b-v1", to_c, outbound(&mesh), capture.clone())).await;
        let b2 = Server::start(hop("b-v2", to_c, outbound(&mesh), capture.clone())).await;
        let a = Server::start(hop(
            "a",
            "http://svc-b:8080/b",
            outbound(&mesh),
            capture.clone(),
        ))
        .await;
        mesh.set_endpoints(
            &fqdn("svc-c"),
            8080,
            vec![c1.endpoint("v1"), c2.endpoint("v2")],
        )
        .unwrap();
        mesh.set_endpoints(
            &fqdn("svc-b"),
            8080,
            vec![b1.endpoint("v1"), b2.endpoint("v2")],
        )
        .unwrap();

        let client = client();
        let trace = [
            ("x-request-id", "req-1"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("x-secret", "s3cr3t"),
        ];

        // The header flag.
        let mut headers = trace.to_vec();
        headers.push(("x-canary", "true"));
        let reply = send(&client, get(&a.url("/start"), &headers)).await;
        assert_eq!(reply.status, StatusCode::OK);
        let body = reply.json();
        let b = &body["next"];
        let c = &b["next"];
        assert_eq!(b["seen"]["server"], "b-v2", "{body:#}");
        assert_eq!(c["server"], "c-v2", "{body:#}");
        for seen in [&b["seen"], c] {
            let h = &seen["headers"];
            assert_eq!(h["x-canary"], "true", "{seen:#}");
            assert_eq!(h["x-request-id"], "req-1", "{seen:#}");
            assert_eq!(h["traceparent"], trace[1].1, "{seen:#}");
            assert!(h.get("x-secret").is_none(), "x-secret travelled: {seen:#}");
        }
        assert_eq!(c["headers"]["host"], "svc-c:8080");
        assert_eq!(c["uri"], "/c");

        // The query flag.
        let reply = send(&client, get(&a.url("/start?name=xx"), &trace)).await;
        let body = reply.json();
        let b = &body["next"];
        let c = &b["next"];
        assert_eq!(b["seen"]["server"], "b-v2", "{body:#}");
        assert_eq!(b["seen"]["uri"], "/b?name=xx");
        assert_eq!(c["server"], "c-v2", "{body:#}");
        assert_eq!(c["uri"], "/c?name=xx");
        assert!(c["headers"].get("x-canary").is_none());
        assert_eq!(c["headers"]["x-request-id"], "req-1");

        // No flag: stable all the way, and nothing invented.
        let reply = send(&client, get(&a.url("/start"), &[])).await;
        let body = reply.json();
        assert_eq!(body["next"]["seen"]["server"], "b-v1", "{body:#}");
        let c = &body["next"]["next"];
        assert_eq!(c["server"], "c-v1", "{body:#}");
        assert_eq!(c["uri"], "/c");
        for name in ["x-canary", "x-request-id", "traceparent"] {
            assert!(c["headers"].get(name).is_none(), "{name}: {c:#}");
        }

        for server in [a, b1, b2, c1, c2] {
            server.stop().await;
        }
    })
    .await;
}

/// `InjectLayer` on a plain hyper client (no meshroute routing) puts the captured context on
/// the outgoing request; `InjectLayer::in_mesh_only` does not inject into a host the mesh does
/// not know; what the outgoing request already carries is never overwritten.
#[tokio::test]
async fn inject_layer_on_a_plain_client() {
    bounded(async {
        let mesh = shared(&canary("svc-c"));
        let capture = CaptureLayer::new(Propagation::from_mesh(&mesh.load()));
        let target = Server::start(echo("plain")).await;
        let url: &'static str = Box::leak(target.url("/plain").into_boxed_str());

        let everywhere = InjectLayer::new().layer(client());
        let filtered = InjectLayer::in_mesh_only(mesh.load(), "default").layer(client());
        let edge_all = Server::start(hop("edge", url, everywhere.clone(), capture.clone())).await;
        let edge_filtered = Server::start(hop("edge", url, filtered, capture.clone())).await;

        let client = client();
        let headers = [
            ("x-canary", "true"),
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
            ("x-secret", "no"),
            ("baggage", "user=alice"),
            ("baggage", "tier=gold"),
        ];
        let reply = send(&client, get(&edge_all.url("/in?name=xx"), &headers)).await;
        let seen = &reply.json()["next"];
        assert_eq!(seen["server"], "plain");
        assert_eq!(seen["uri"], "/plain?name=xx");
        assert_eq!(seen["headers"]["x-canary"], "true");
        assert_eq!(seen["headers"]["traceparent"], headers[1].1);
        // Every value of a repeated header travels, in order.
        assert_eq!(seen["headers"]["baggage"], "user=alice, tier=gold");
        assert!(seen["headers"].get("x-secret").is_none());

        let reply = send(&client, get(&edge_filtered.url("/in?name=xx"), &headers)).await;
        let seen = &reply.json()["next"];
        assert_eq!(seen["server"], "plain");
        assert_eq!(seen["uri"], "/plain", "{seen:#}");
        for name in ["x-canary", "traceparent", "x-secret", "baggage"] {
            assert!(seen["headers"].get(name).is_none(), "{name}: {seen:#}");
        }

        // Injection never overwrites: the handler's own value wins.
        let context = Arc::new(meshroute::RoutingContext::capture(
            &Propagation::from_mesh(&mesh.load()),
            &get(
                "/?name=xx",
                &[
                    ("x-canary", "true"),
                    ("x-canary", "again"),
                    ("baggage", "a=1"),
                    ("baggage", "b=2"),
                ],
            ),
        ));
        let request = get(&target.url("/own?name=mine"), &[("x-canary", "own")]);
        let reply = meshroute::RoutingContext::scope(context, send(everywhere, request))
            .await
            .json();
        assert_eq!(reply["uri"], "/own?name=mine");
        assert_eq!(reply["headers"]["x-canary"], "own");
        assert_eq!(reply["headers"]["baggage"], "a=1, b=2");

        for server in [edge_all, edge_filtered, target] {
            server.stop().await;
        }
    })
    .await;
}

/// `Propagation::in_mesh_only(true)` on the outbound layer: a call to a host the mesh does not
/// know (a raw loopback address) gets nothing injected, a call to a mesh service does; without
/// the option both get the context.
#[tokio::test]
async fn in_mesh_only_propagation_skips_unknown_hosts() {
    bounded(async {
        let mesh = shared(&canary("svc-c"));
        let capture = CaptureLayer::new(Propagation::from_mesh(&mesh.load()));
        let c1 = Server::start(echo("c-v1")).await;
        let c2 = Server::start(echo("c-v2")).await;
        mesh.set_endpoints(
            &fqdn("svc-c"),
            8080,
            vec![c1.endpoint("v1"), c2.endpoint("v2")],
        )
        .unwrap();
        let outside = Server::start(echo("outside")).await;
        let outside_url: &'static str = Box::leak(outside.url("/out").into_boxed_str());

        let limited = OutboundLayer::new(mesh.clone(), Source::default())
            .propagation(Some(Propagation::default().in_mesh_only(true)))
            .layer(upstream_client());
        let edge_outside =
            Server::start(hop("edge", outside_url, limited.clone(), capture.clone())).await;
        let edge_inside = Server::start(hop(
            "edge",
            "http://svc-c:8080/in",
            limited,
            capture.clone(),
        ))
        .await;
        let edge_unlimited =
            Server::start(hop("edge", outside_url, outbound(&mesh), capture.clone())).await;

        let client = client();
        let headers = [("x-canary", "true"), ("x-request-id", "req-7")];

        let seen = send(&client, get(&edge_outside.url("/?name=xx"), &headers))
            .await
            .json();
        let seen = &seen["next"];
        assert_eq!(seen["server"], "outside");
        assert_eq!(seen["uri"], "/out", "{seen:#}");
        assert!(seen["headers"].get("x-canary").is_none(), "{seen:#}");
        assert!(seen["headers"].get("x-request-id").is_none(), "{seen:#}");

        let seen = send(&client, get(&edge_inside.url("/?name=xx"), &headers))
            .await
            .json();
        let seen = &seen["next"];
        assert_eq!(seen["server"], "c-v2", "{seen:#}");
        assert_eq!(seen["uri"], "/in?name=xx");
        assert_eq!(seen["headers"]["x-canary"], "true");
        assert_eq!(seen["headers"]["x-request-id"], "req-7");

        let seen = send(&client, get(&edge_unlimited.url("/?name=xx"), &headers))
            .await
            .json();
        let seen = &seen["next"];
        assert_eq!(seen["server"], "outside");
        assert_eq!(seen["uri"], "/out?name=xx");
        assert_eq!(seen["headers"]["x-canary"], "true");

        for server in [edge_outside, edge_inside, edge_unlimited, outside, c1, c2] {
            server.stop().await;
        }
    })
    .await;
}

/// At the edge, `CaptureLayer::strip_untrusted` removes client-supplied routing flags (header
/// and query parameter, other parameters kept) unless the trust predicate accepts the request;
/// trace headers are not routing flags and are kept.
#[tokio::test]
async fn edge_strips_untrusted_routing_flags() {
    bounded(async {
        let mesh = shared(&canary("svc-c"));
        let c1 = Server::start(echo("c-v1")).await;
        let c2 = Server::start(echo("c-v2")).await;
        mesh.set_endpoints(
            &fqdn("svc-c"),
            8080,
            vec![c1.endpoint("v1"), c2.endpoint("v2")],
        )
        .unwrap();
        let propagation = Propagation::from_mesh(&mesh.load());
        let capture = CaptureLayer::new(propagation.clone())
            .strip_untrusted(propagation, |parts| {
                parts.headers.get("x-internal") == Some(&HeaderValue::from_static("yes"))
            });
        let edge =
            Server::start(hop("edge", "http://svc-c:8080/c", outbound(&mesh), capture)).await;

        let client = client();
        let flags = [
            ("x-canary", "true"),
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
        ];

        let body = send(&client, get(&edge.url("/e?keep=1&name=xx"), &flags))
            .await
            .json();
        assert_eq!(body["seen"]["uri"], "/e?keep=1", "{body:#}");
        assert!(body["seen"]["headers"].get("x-canary").is_none());
        assert_eq!(body["next"]["server"], "c-v1", "{body:#}");
        assert!(body["next"]["headers"].get("x-canary").is_none());
        assert_eq!(body["next"]["headers"]["traceparent"], flags[1].1);
        assert_eq!(body["next"]["uri"], "/c");

        let mut trusted = flags.to_vec();
        trusted.push(("x-internal", "yes"));
        let body = send(&client, get(&edge.url("/e?keep=1&name=xx"), &trusted))
            .await
            .json();
        assert_eq!(body["seen"]["uri"], "/e?keep=1&name=xx");
        assert_eq!(body["seen"]["headers"]["x-canary"], "true");
        assert_eq!(body["next"]["server"], "c-v2", "{body:#}");
        assert_eq!(body["next"]["headers"]["x-canary"], "true");
        assert_eq!(body["next"]["uri"], "/c?name=xx");

        for server in [edge, c1, c2] {
            server.stop().await;
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Outbound
// ---------------------------------------------------------------------------------------------

const LOCAL_REPLIES: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-d}
spec:
  hosts: [svc-d]
  http:
  - name: moved
    match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, redirectCode: 301}
  - name: maintenance
    match: [{uri: {exact: /direct}}]
    directResponse: {status: 418, body: {string: short and stout}}
  - name: missing-subset
    match: [{uri: {exact: /missing}}]
    route: [{destination: {host: svc-d, subset: v9}}]
  - name: empty-subset
    match: [{uri: {exact: /empty}}]
    route: [{destination: {host: svc-d, subset: v2}}]
  - name: ok
    match: [{uri: {prefix: /ok}}]
    route: [{destination: {host: svc-d, subset: v1}}]
";

/// The outbound layer answers like Envoy without calling the client: a redirect (301 with
/// `Location`; istio/istio `pilot/pkg/networking/core/route/route.go` `ApplyRedirect`), a direct
/// response (status and body; `ApplyDirectResponse`), no matching route (404 NR; istio/istio
/// `tests/integration/pilot/common/routing.go` "weird header matches" / "no match"), a subset no
/// DestinationRule defines (503 NC, empty body: the route names a cluster that does not exist,
/// and Envoy's `RouteAction.cluster_not_found_response_code` defaults to 503) and a subset
/// without endpoints (503 UH, `no healthy upstream`). The response flags are Envoy's:
/// <https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#config-access-log-format-response-flags>.
#[tokio::test]
async fn outbound_answers_envoy_local_replies_without_calling_the_client() {
    bounded(async {
        let yaml = format!("{}{}{LOCAL_REPLIES}", service("svc-d"), subsets("svc-d"));
        let mesh = shared(&yaml);
        let upstream = Server::start(echo("d-v1")).await;
        mesh.set_endpoints(&fqdn("svc-d"), 8080, vec![upstream.endpoint("v1")])
            .unwrap();

        let calls = Arc::new(AtomicUsize::new(0));
        let http = upstream_client();
        let counted = {
            let calls = Arc::clone(&calls);
            tower::service_fn(move |request: http::Request<RequestBody<Empty<Bytes>>>| {
                calls.fetch_add(1, Ordering::SeqCst);
                http.request(request)
            })
        };
        let outbound = OutboundLayer::new(mesh.clone(), Source::default()).layer(counted);

        let reply = send(outbound.clone(), get("http://svc-d:8080/old/page?x=1", &[])).await;
        assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
        assert_eq!(reply.header("location"), Some("http://svc-d:8080/new?x=1"));

        let reply = send(outbound.clone(), get("http://svc-d:8080/direct", &[])).await;
        assert_eq!(reply.status, StatusCode::IM_A_TEAPOT);
        assert_eq!(reply.text(), "short and stout");

        let reply = send(outbound.clone(), get("http://svc-d:8080/nowhere", &[])).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.text(), "");

        let reply = send(outbound.clone(), get("http://svc-d:8080/missing", &[])).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.text(), "");

        let reply = send(outbound.clone(), get("http://svc-d:8080/empty", &[])).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.text(), "no healthy upstream");

        assert_eq!(calls.load(Ordering::SeqCst), 0, "the client was called");

        // The control: a forwarded request does call it.
        let reply = send(outbound, get("http://svc-d:8080/ok", &[])).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json()["server"], "d-v1");
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        upstream.stop().await;
    })
    .await;
}

const FORWARDING: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-f}
spec:
  hosts: [svc-f]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    rewrite: {uri: /v1api}
    headers:
      request:
        set: {x-route: api}
        add: {x-added: one}
        remove: [x-drop]
      response:
        set: {x-served-by: meshroute}
        remove: [x-server]
    route: [{destination: {host: svc-f, subset: v1}}]
  - name: rest
    route:
    - destination: {host: svc-f, subset: v2}
      headers:
        response: {add: {x-subset: v2}}
";

/// The outbound layer sends the request to the picked endpoint's address, keeps the service
/// name in `Host`, applies `headers.request`, `rewrite.uri` (query kept) and `headers.response`.
#[tokio::test]
async fn outbound_forwards_to_the_picked_endpoint_with_header_ops_and_rewrite() {
    bounded(async {
        let yaml = format!("{}{}{FORWARDING}", service("svc-f"), subsets("svc-f"));
        let mesh = shared(&yaml);
        let f1 = Server::start(echo("f-v1")).await;
        let f2 = Server::start(echo("f-v2")).await;
        mesh.set_endpoints(
            &fqdn("svc-f"),
            8080,
            vec![f1.endpoint("v1"), f2.endpoint("v2")],
        )
        .unwrap();
        let outbound = outbound(&mesh);

        let reply = send(
            outbound.clone(),
            get(
                "http://svc-f:8080/api/items?x=1",
                &[("x-drop", "1"), ("x-keep", "2")],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("x-served-by"), Some("meshroute"));
        assert_eq!(reply.header("x-server"), None);
        let body = reply.json();
        assert_eq!(body["server"], "f-v1");
        assert_eq!(body["uri"], "/v1api/items?x=1");
        let headers = &body["headers"];
        assert_eq!(headers["host"], "svc-f:8080");
        assert_eq!(headers["x-route"], "api");
        assert_eq!(headers["x-added"], "one");
        assert_eq!(headers["x-keep"], "2");
        assert!(headers.get("x-drop").is_none(), "{body:#}");

        let reply = send(outbound, get("http://svc-f:8080/other", &[])).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("x-server"), Some("f-v2"));
        assert_eq!(reply.header("x-subset"), Some("v2"));
        let body = reply.json();
        assert_eq!(body["server"], "f-v2");
        assert_eq!(body["uri"], "/other");
        assert_eq!(body["headers"]["host"], "svc-f:8080");

        for server in [f1, f2] {
            server.stop().await;
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Configuration swaps
// ---------------------------------------------------------------------------------------------

/// A configuration sending everything for `svc-s` to `subset`, through the VirtualService
/// `name`, with `x-config: tag` set on the request and on the response.
fn swap_config(name: &str, subset: &str, tag: &str) -> Vec<Resource> {
    resources(&format!(
        "{service}{subsets}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}}}
spec:
  hosts: [svc-s]
  http:
  - name: all
    headers:
      request: {{set: {{x-config: {tag}}}}}
      response: {{set: {{x-config: {tag}}}}}
    route: [{{destination: {{host: svc-s, subset: {subset}}}}}]
---
",
        service = service("svc-s"),
        subsets = subsets("svc-s"),
    ))
}

/// A configuration that fails to compile (an invalid regex).
fn invalid_config() -> Vec<Resource> {
    let yaml = format!(
        "{}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: broken}}
spec:
  hosts: [svc-s]
  http:
  - match: [{{uri: {{regex: \"(\"}}}}]
    route: [{{destination: {{host: svc-s, subset: v2}}}}]
",
        service("svc-s")
    );
    meshroute::from_str(&yaml, &LoadOptions::default()).resources
}

const TASKS: usize = 8;
const PER_TASK: usize = 250;
const TOTAL: usize = TASKS * PER_TASK;
const SWAPS: usize = 50;

#[derive(Debug, Default)]
struct Tally {
    v1: usize,
    v2: usize,
    problems: Vec<String>,
}

/// While 8 tasks send 2,000 requests over loopback (half through the outbound layer, half to a
/// server running Dispatch), the configuration flips 50 times between A (all to v1, `x-config: a`,
/// VirtualService `route-a`) and B (all to v2, `x-config: b`, `route-b`), and invalid
/// configurations are refused without changing the live one. No request fails and every
/// response is wholly A or wholly B.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn configuration_swaps_under_load_are_atomic() {
    bounded(async {
        let a = swap_config("route-a", "v1", "a");
        let b = swap_config("route-b", "v2", "b");
        let invalid = invalid_config();
        let mesh = SharedMesh::new(match meshroute::compile(a.clone()) {
            Ok(mesh) => mesh,
            Err(e) => panic!("{e:#?}"),
        });
        let s1 = Server::start(echo("v1")).await;
        let s2 = Server::start(echo("v2")).await;
        mesh.set_endpoints(
            &fqdn("svc-s"),
            8080,
            vec![s1.endpoint("v1"), s2.endpoint("v2")],
        )
        .unwrap();
        let dispatch = Dispatch::builder(mesh.clone(), "svc-s:8080")
            .subset("v1", echo("v1"))
            .subset("v2", echo("v2"))
            .build();
        let app = Server::start(Router::new().fallback_service(dispatch)).await;
        let app_url: &'static str = Box::leak(app.url("/load").into_boxed_str());
        let outbound = outbound(&mesh);
        let client = client();
        let done = Arc::new(AtomicUsize::new(0));

        let swapper = {
            let mesh = mesh.clone();
            let (a, b) = (a.clone(), b);
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut refused = 0;
                for i in 1..=SWAPS {
                    // Spread the swaps over the load.
                    while done.load(Ordering::SeqCst) < i * TOTAL / (SWAPS + 2) {
                        tokio::time::sleep(Duration::from_micros(200)).await;
                    }
                    let next = if i % 2 == 1 { &b } else { &a };
                    mesh.store_resources(next.clone()).unwrap();
                    if i % 10 == 0 {
                        let before = mesh.load();
                        assert!(mesh.store_resources(invalid.clone()).is_err());
                        assert!(
                            Arc::ptr_eq(&before, &mesh.load()),
                            "a refused config changed the mesh"
                        );
                        refused += 1;
                    }
                }
                refused
            })
        };

        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let outbound = outbound.clone();
            let client = client.clone();
            let done = Arc::clone(&done);
            tasks.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                for _ in 0..PER_TASK {
                    let (version, consistent) = if t % 2 == 0 {
                        match try_send(outbound.clone(), get("http://svc-s:8080/load", &[])).await {
                            Ok(reply) if reply.status == StatusCode::OK => {
                                let body = reply.json();
                                let version = body["server"].as_str().unwrap_or("").to_owned();
                                let seen = (
                                    version.as_str(),
                                    reply.header("x-server").unwrap_or(""),
                                    reply.header("x-config").unwrap_or(""),
                                    body["headers"]["x-config"].as_str().unwrap_or(""),
                                );
                                let ok =
                                    matches!(seen, ("v1", "v1", "a", "a") | ("v2", "v2", "b", "b"));
                                let problem = format!("outbound mix: {seen:?}");
                                (version, ok.then_some(()).ok_or(problem))
                            }
                            Ok(reply) => (
                                String::new(),
                                Err(format!("outbound {}: {}", reply.status, reply.text())),
                            ),
                            Err(e) => (String::new(), Err(e)),
                        }
                    } else {
                        match try_send(&client, get(app_url, &[])).await {
                            Ok(reply) if reply.status == StatusCode::OK => {
                                let body = reply.json();
                                let version = body["server"].as_str().unwrap_or("").to_owned();
                                let route = &body["route"];
                                let seen = (
                                    version.as_str(),
                                    route["subset"].as_str().unwrap_or(""),
                                    route["virtual_service"].as_str().unwrap_or(""),
                                );
                                let ok = matches!(
                                    seen,
                                    ("v1", "v1", "default/route-a")
                                        | ("v2", "v2", "default/route-b")
                                );
                                let problem = format!("dispatch mix: {seen:?}");
                                (version, ok.then_some(()).ok_or(problem))
                            }
                            Ok(reply) => (
                                String::new(),
                                Err(format!("dispatch {}: {}", reply.status, reply.text())),
                            ),
                            Err(e) => (String::new(), Err(e)),
                        }
                    };
                    match version.as_str() {
                        "v1" => tally.v1 += 1,
                        "v2" => tally.v2 += 1,
                        _ => {}
                    }
                    if let Err(problem) = consistent {
                        tally.problems.push(problem);
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                }
                (t, tally)
            }));
        }

        let mut outbound_tally = (0, 0);
        let mut dispatch_tally = (0, 0);
        let mut problems = Vec::new();
        for task in tasks {
            let (t, tally) = task.await.unwrap();
            let sum = if t % 2 == 0 {
                &mut outbound_tally
            } else {
                &mut dispatch_tally
            };
            sum.0 += tally.v1;
            sum.1 += tally.v2;
            problems.extend(tally.problems);
        }
        let refused = swapper.await.unwrap();

        assert!(
            problems.is_empty(),
            "{} problems: {:?}",
            problems.len(),
            &problems[..problems.len().min(10)]
        );
        assert_eq!(
            outbound_tally.0 + outbound_tally.1 + dispatch_tally.0 + dispatch_tally.1,
            TOTAL
        );
        assert!(
            outbound_tally.0 > 0 && outbound_tally.1 > 0,
            "outbound saw one config only: {outbound_tally:?}"
        );
        assert!(
            dispatch_tally.0 > 0 && dispatch_tally.1 > 0,
            "dispatch saw one config only: {dispatch_tally:?}"
        );
        assert_eq!(refused, SWAPS / 10);
        // 50 swaps starting from A end on A.
        let current = mesh.load();
        let probe = http::Request::get("http://svc-s:8080/").body(()).unwrap();
        assert_eq!(
            current
                .route(&probe, &Source::sidecar("default"))
                .virtual_service(),
            Some("default/route-a")
        );

        for server in [app, s1, s2] {
            server.stop().await;
        }
    })
    .await;
}

/// `Mesh` and the layers are usable from many threads.
#[test]
fn layers_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Mesh>();
    assert_send_sync::<SharedMesh>();
    assert_send_sync::<OutboundLayer>();
    assert_send_sync::<CaptureLayer>();
    assert_send_sync::<Outbound<HttpClient>>();
    assert_send_sync::<Dispatch<Router>>();
}

/// `SharedMesh::set_endpoints` racing `SharedMesh::store`: the endpoints set last are the ones
/// the live mesh has, whichever call finishes first (a set that lands between the store's
/// re-application of the remembered endpoints and its swap must not be lost).
#[test]
fn endpoints_set_during_a_store_are_not_lost() {
    let config = resources(&canary("svc-s"));
    let mesh = SharedMesh::new(meshroute::compile(config.clone()).unwrap());
    let host = fqdn("svc-s");
    let compiled: Vec<Mesh> = (0..300)
        .map(|_| meshroute::compile(config.clone()).unwrap())
        .collect();
    for (round, next) in compiled.into_iter().enumerate() {
        let port = u16::try_from(10_000 + round).unwrap();
        let list =
            vec![Endpoint::new([127, 0, 0, 1].into(), port).with_labels([("version", "v1")])];
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                barrier.wait();
                mesh.store(next);
            });
            scope.spawn(|| {
                barrier.wait();
                mesh.set_endpoints(&host, 8080, list.clone()).unwrap();
            });
        });
        let live = mesh.load().endpoints(&host, None, 8080).unwrap();
        assert_eq!(live, list, "round {round}: the endpoints set were lost");
    }
}

/// istio/istio `pilot/pkg/networking/core/route/route.go` (`TranslateHeadersOperations`,
/// `rewrite.uri` as Envoy's `prefix_rewrite`): the route's request header operations and
/// `rewrite.uri` are applied before the workload sees the request, its response header
/// operations on the way back; in-process dispatch does the same for the handler.
#[tokio::test]
async fn dispatch_applies_header_operations_and_rewrites() {
    let host = "svc-h";
    let yaml = format!(
        "{service}{subsets}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {host}}}
spec:
  hosts: [{host}]
  http:
  - match: [{{uri: {{prefix: /old}}}}]
    rewrite: {{uri: /new}}
    headers:
      request: {{set: {{x-route: r1}}, remove: [x-drop]}}
      response: {{set: {{x-served-by: mesh}}}}
    route: [{{destination: {{host: {host}, subset: v2}}}}]
---
",
        service = service(host),
        subsets = subsets(host),
    );
    let mesh = shared(&yaml);
    let handler = |version: &'static str| {
        Router::new().fallback(move |request: Request| async move {
            let headers = request.headers();
            format!(
                "{version} {} route={} drop={}",
                request.uri().path_and_query().map_or("", |p| p.as_str()),
                headers
                    .get("x-route")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-"),
                headers.contains_key("x-drop"),
            )
        })
    };
    let dispatch = meshroute::service::Dispatch::builder(mesh, format!("{host}:8080"))
        .subset("v1", handler("v1"))
        .subset("v2", handler("v2"))
        .build();
    let request = http::Request::get("/old/items?x=1")
        .header("x-drop", "1")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = bounded(dispatch.oneshot(request)).await.unwrap();
    assert_eq!(response.headers().get("x-served-by").unwrap(), "mesh");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "v2 /new/items?x=1 route=r1 drop=false");
}

/// Least request counts a request as active until its response is over — the body, not only
/// the headers: Envoy's `LeastRequestLoadBalancer::unweightedHostPickNChoices`
/// (envoyproxy/envoy `source/extensions/load_balancing_policies/least_request/least_request_lb.cc`)
/// compares the hosts' `rq_active`, which `ConnPoolImplBase` (`source/common/conn_pool/conn_pool_base.cc`)
/// raises when it attaches a stream and lowers in `onStreamClosed`. While one response body is
/// still open on an endpoint, P2C prefers the other endpoint whenever it samples both.
#[tokio::test]
async fn outbound_counts_a_request_active_until_its_body_ends() {
    let host = "svc-l";
    let yaml = format!("{}{}", service(host), subsets(host));
    let mesh = shared(&yaml);
    let a: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let b: std::net::IpAddr = "127.0.0.3".parse().unwrap();
    mesh.set_endpoints(
        &fqdn(host),
        8080,
        vec![Endpoint::new(a, 9000), Endpoint::new(b, 9000)],
    )
    .unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = Arc::clone(&seen);
    let inner = tower::service_fn(
        move |request: http::Request<RequestBody<axum::body::Body>>| {
            let record = Arc::clone(&record);
            async move {
                let authority = request
                    .uri()
                    .authority()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                record.lock().unwrap().push(authority);
                Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::from("ok")))
            }
        },
    );
    let client = OutboundLayer::new(mesh.clone(), Source::sidecar("default")).layer(inner);
    let request = || {
        http::Request::get(format!("http://{host}:8080/"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    // The first response stays open (its body is never read).
    let held = client.clone().oneshot(request()).await.unwrap();
    let busy = seen.lock().unwrap()[0].clone();
    for _ in 0..400 {
        let response = client.clone().oneshot(request()).await.unwrap();
        let _ = response.into_body().collect().await.unwrap();
    }
    let picks = seen.lock().unwrap().clone();
    let to_busy = picks[1..].iter().filter(|p| **p == busy).count();
    // Without the count: about 200 of 400. With it: only when both samples hit the busy one
    // (a quarter of the time).
    assert!(
        to_busy < 140,
        "{to_busy} of 400 went to the endpoint with an open response"
    );
    drop(held);
}

// ---------------------------------------------------------------------------------------------
// Real addresses only, one host-name rule, replayable randomness
// ---------------------------------------------------------------------------------------------

/// A client that records the URI and `Host` of every request it is asked to send, and sends
/// nothing: it answers 200 itself.
#[derive(Clone, Default)]
struct Recorder {
    sent: Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl Recorder {
    fn sent(&self) -> Vec<(String, String)> {
        self.sent.lock().unwrap().clone()
    }
}

impl Service<http::Request<RequestBody<Empty<Bytes>>>> for Recorder {
    type Response = http::Response<Empty<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<RequestBody<Empty<Bytes>>>) -> Self::Future {
        let host = request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_owned();
        self.sent
            .lock()
            .unwrap()
            .push((request.uri().to_string(), host));
        std::future::ready(Ok(http::Response::new(Empty::new())))
    }
}

/// A Deployment `name` of `app` in `default`: its one replica gets a simulated address.
fn deployment(name: &str, app: &str, version: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 1
  template:
    metadata: {{labels: {{app: {app}, version: {version}}}}}
    spec: {{containers: [{{name: app, image: x}}]}}
---
"
    )
}

/// The address meshroute made up for a Deployment's pod is never dialled: the outbound layer
/// answers 503 `UH` (Envoy's answer for a cluster without a healthy endpoint) with a
/// `LocalReply` saying how to supply endpoints, and never calls the client; with
/// `dns_fallback` it sends to the service's DNS name; once the application supplies a real
/// endpoint, that one is used.
#[tokio::test]
async fn outbound_never_dials_simulated_addresses() {
    let yaml = format!(
        "{}{}{}",
        service("svc-s"),
        deployment("svc-s-v1", "svc-s", "v1"),
        subsets("svc-s")
    );
    let mesh = shared(&yaml);
    let decision_mesh = mesh.load();
    let probe = http::Request::get("http://svc-s:8080/").body(()).unwrap();
    let picked = decision_mesh.route(&probe, &Source::default());
    let endpoint = picked
        .endpoint()
        .expect("the simulation still picks the pod");
    assert!(endpoint.is_synthetic(), "{endpoint:?}");

    let recorder = Recorder::default();
    let outbound = OutboundLayer::new(mesh.clone(), Source::default()).layer(recorder.clone());
    let response = outbound
        .clone()
        .oneshot(get("http://svc-s:8080/hello", &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let reply = response
        .extensions()
        .get::<meshroute::service::LocalReply>()
        .cloned()
        .expect("a local reply says why");
    assert_eq!(reply.flag, "UH");
    assert!(
        reply.detail.contains("SharedMesh::set_endpoints"),
        "{}",
        reply.detail
    );
    assert!(reply.detail.contains("dns_fallback"), "{}", reply.detail);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "no healthy upstream");
    assert!(recorder.sent().is_empty(), "{:?}", recorder.sent());

    // Opting into DNS: the service's name and port, the Host as the application wrote it.
    let dns = OutboundLayer::new(mesh.clone(), Source::default())
        .dns_fallback(true)
        .layer(recorder.clone());
    let response = dns
        .oneshot(get("http://svc-s:8080/hello", &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        recorder.sent(),
        [(
            "http://svc-s.default.svc.cluster.local:8080/hello".to_owned(),
            "svc-s:8080".to_owned()
        )]
    );

    // Real endpoints from the application (by the service's short name) are dialled.
    let real: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    mesh.set_endpoints(
        "svc-s",
        8080,
        vec![Endpoint::new(real, 18080).with_labels([("version", "v1")])],
    )
    .unwrap();
    let response = outbound
        .oneshot(get("http://svc-s:8080/hello", &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        recorder.sent().last().cloned(),
        Some((
            "http://127.0.0.1:18080/hello".to_owned(),
            "svc-s:8080".to_owned()
        ))
    );
}

/// One host-name rule for every API that takes a host: the FQDN, `name.ns.svc`, `name.ns` and,
/// where the name is not ambiguous, the short name reach the same service; a short name that
/// two namespaces share is refused with both candidates.
#[test]
fn set_endpoints_accepts_every_name_of_a_service() {
    let yaml = "apiVersion: v1
kind: Service
metadata: {name: svc-a, namespace: default}
spec: {ports: [{port: 8080}], selector: {app: a}}
---
apiVersion: v1
kind: Service
metadata: {name: svc-a, namespace: prod}
spec: {ports: [{port: 8080}], selector: {app: a}}
---
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: prod}
spec: {ports: [{port: 8080}], selector: {app: b}}
";
    let mesh = shared(yaml).load();
    let one = |port| vec![Endpoint::new("127.0.0.1".parse().unwrap(), port)];
    for (name, port) in [
        ("svc-b", 1),
        ("svc-b.prod", 2),
        ("svc-b.prod.svc", 3),
        ("svc-b.prod.svc.cluster.local", 4),
        ("SVC-B.Prod", 5),
    ] {
        mesh.set_endpoints(name, 8080, &one(port))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let endpoints = mesh
            .endpoints("svc-b.prod.svc.cluster.local", None, 8080)
            .unwrap();
        assert_eq!(endpoints[0].port, port, "{name}");
        assert_eq!(
            mesh.endpoints(name, None, 8080).unwrap()[0].port,
            port,
            "{name}"
        );
    }
    let ambiguous = mesh.set_endpoints("svc-a", 8080, &one(9)).unwrap_err();
    assert_eq!(
        ambiguous.candidates,
        [
            "svc-a.default.svc.cluster.local",
            "svc-a.prod.svc.cluster.local"
        ]
    );
    assert!(
        ambiguous.to_string().contains("name.namespace"),
        "{ambiguous}"
    );
    mesh.set_endpoints("svc-a.prod", 8080, &one(7)).unwrap();
    let unknown = mesh.set_endpoints("svc-c", 8080, &one(1)).unwrap_err();
    assert!(unknown.candidates.is_empty());
    assert!(
        mesh.set_endpoints("svc-b", 9090, &one(1)).is_err(),
        "no such port"
    );
}

/// `with_rng`: two layers seeded alike make the same weighted choices for the same sequence
/// of requests (the sequence FastRng gives for the seed), whatever the thread.
#[tokio::test]
async fn outbound_with_rng_replays_weighted_choices() {
    let yaml = format!(
        "{}{}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc-w}}
spec:
  hosts: [svc-w]
  http:
  - route:
    - {{destination: {{host: svc-w, subset: v1}}, weight: 50}}
    - {{destination: {{host: svc-w, subset: v2}}, weight: 50}}
",
        service("svc-w"),
        subsets("svc-w")
    );
    let mesh = shared(&yaml);
    mesh.set_endpoints(
        "svc-w",
        8080,
        vec![
            Endpoint::new("127.0.0.1".parse().unwrap(), 1).with_labels([("version", "v1")]),
            Endpoint::new("127.0.0.1".parse().unwrap(), 2).with_labels([("version", "v2")]),
        ],
    )
    .unwrap();
    let run = |seed: u64| {
        let recorder = Recorder::default();
        let layer = OutboundLayer::new(mesh.clone(), Source::default())
            .with_rng(meshroute::FastRng::from_seed(seed));
        let service = layer.layer(recorder.clone());
        async move {
            for _ in 0..40 {
                service
                    .clone()
                    .oneshot(get("http://svc-w:8080/", &[]))
                    .await
                    .unwrap();
            }
            recorder
                .sent()
                .into_iter()
                .map(|(uri, _)| uri)
                .collect::<Vec<_>>()
        }
    };
    let first = run(7).await;
    assert_eq!(first, run(7).await);
    assert_ne!(first, run(8).await, "another seed, another sequence");
    let ports: BTreeMap<&str, usize> = first.iter().fold(BTreeMap::new(), |mut counts, uri| {
        *counts.entry(uri.as_str()).or_default() += 1;
        counts
    });
    assert_eq!(ports.len(), 2, "both subsets chosen: {ports:?}");
}
