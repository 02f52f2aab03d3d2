//! meshroute's tower layers in a plain axum app: `cargo run --example axum_layers`.
//!
//! One process holds both versions of a service. `Dispatch` routes each request per the
//! VirtualService below (header `x-canary: "true"` → v2, anything else → v1) and calls the
//! Router of the chosen subset. `CaptureLayer` records each request's routing flags (the headers
//! and query parameters the mesh matches on), so that calls the handler makes through
//! `OutboundLayer` / `InjectLayer` carry them on to the next hop.

use axum::{Router, body::Body, extract::Request, routing::get};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use meshroute::service::{CaptureLayer, Dispatch};
use meshroute::{Propagation, RoutingContext, SharedMesh};

const CONFIG: &str = r#"
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: greeter}
spec:
  hosts: [greeter]
  http:
  - match: [{headers: {x-canary: {exact: "true"}}}]
    route: [{destination: {host: greeter, subset: v2}}]
  - route: [{destination: {host: greeter, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: greeter}
spec: {host: greeter, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}
"#;

async fn v2() -> String {
    // The flags CaptureLayer took from this request: an outbound call would carry them on.
    let flags = RoutingContext::current().map(|c| format!("{:?}", c.headers()));
    format!("hello from v2, propagating {}", flags.unwrap_or_default())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mesh = SharedMesh::new(meshroute::from_str(CONFIG, &Default::default()).compile()?);
    let v1 = Router::new().route("/hello", get(async || "hello from v1"));
    let dispatch = Dispatch::builder(mesh.clone(), "greeter")
        .subset("v1", v1)
        .subset("v2", Router::new().route("/hello", get(v2)))
        .build();
    let capture = CaptureLayer::new(Propagation::from_mesh(&mesh.load()));
    let app = Router::new().fallback_service(dispatch).layer(capture);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(axum::serve(listener, app).into_future());

    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
    for canary in [None, Some("true")] {
        let mut request = Request::get(format!("http://{addr}/hello"));
        if let Some(value) = canary {
            request = request.header("x-canary", value);
        }
        let response = client.request(request.body(Body::empty())?).await?;
        let body = axum::body::to_bytes(Body::new(response.into_body()), 1 << 16).await?;
        println!("x-canary: {canary:?} -> {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}
