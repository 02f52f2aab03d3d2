//! A tonic gRPC client whose calls are routed by meshroute: the `x-canary` metadata picks the
//! v2 subset, a fault-injected method answers `UNAVAILABLE` without reaching a server, and a
//! method no route matches answers `UNIMPLEMENTED` — the trailers-only replies Envoy sends a
//! gRPC client.
//!
//! ```text
//! cargo run --example grpc
//! ```
//!
//! Two loopback HTTP/2 servers play greeter v1 and v2 (hand-framed gRPC, so that the example
//! needs no code generation); the client is tonic's `Grpc` over `OutboundLayer` around
//! hyper-util's HTTP/2 client.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use meshroute::service::{OutboundLayer, RequestBody};
use meshroute::{Endpoint, LoadOptions, SharedMesh, Source};
use tokio::net::TcpListener;
use tonic::codegen::http::uri::PathAndQuery;
use tonic_prost::ProstCodec;
use tower::Layer;

/// `message HelloRequest { string name = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
struct HelloRequest {
    #[prost(string, tag = "1")]
    name: String,
}

/// `message HelloReply { string message = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
struct HelloReply {
    #[prost(string, tag = "1")]
    message: String,
}

const CONFIG: &str = "apiVersion: v1
kind: Service
metadata: {name: greeter, namespace: default}
spec:
  ports: [{name: grpc, port: 50051}]
  selector: {app: greeter}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: greeter, namespace: default}
spec:
  host: greeter
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: greeter, namespace: default}
spec:
  hosts: [greeter]
  http:
  - name: flaky
    match: [{uri: {exact: /greeter.Greeter/SayHelloFlaky}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}
    route: [{destination: {host: greeter, subset: v1}}]
  - name: canary
    match: [{uri: {prefix: /greeter.Greeter/}, headers: {x-canary: {exact: \"true\"}}}]
    route: [{destination: {host: greeter, subset: v2}}]
  - name: stable
    match: [{uri: {prefix: /greeter.Greeter/}}]
    route: [{destination: {host: greeter, subset: v1}}]
";

/// A gRPC greeter on a loopback port answering every call with `hello <name> from <version>`.
async fn greeter(version: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = hyper::service::service_fn(move |request| answer(request, version));
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    addr
}

/// One unary call, framed by hand: a 5-byte prefix (not compressed, big-endian length) and
/// the protobuf message, then the `grpc-status: 0` trailers.
async fn answer(
    request: http::Request<Incoming>,
    version: &'static str,
) -> Result<http::Response<BoxBody<Bytes, Infallible>>, Infallible> {
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let name = body
        .get(5..)
        .and_then(|m| <HelloRequest as prost::Message>::decode(m).ok())
        .map_or_else(String::new, |r| r.name);
    let reply = HelloReply {
        message: format!("hello {name} from {version}"),
    };
    let message = prost::Message::encode_to_vec(&reply);
    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.put_u8(0);
    framed.put_u32(u32::try_from(message.len()).unwrap());
    framed.put_slice(&message);
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let body = Full::new(framed.freeze())
        .with_trailers(async move { Some(Ok(trailers)) })
        .boxed();
    Ok(http::Response::builder()
        .header("content-type", "application/grpc")
        .body(body)
        .unwrap())
}

#[tokio::main]
async fn main() {
    let v1 = greeter("v1").await;
    let v2 = greeter("v2").await;

    let loaded = meshroute::from_str(CONFIG, &LoadOptions::default());
    let mesh = SharedMesh::new(
        loaded
            .compile()
            .expect("the example's configuration is valid"),
    );
    let endpoint = |addr: SocketAddr, version: &str| {
        Endpoint::new(addr.ip(), addr.port()).with_labels([("version", version)])
    };
    mesh.set_endpoints(
        "greeter",
        50051,
        vec![endpoint(v1, "v1"), endpoint(v2, "v2")],
    )
    .expect("greeter is a known service");

    // hyper-util's HTTP/2 client behind the outbound layer, as tonic's transport.
    let http: Client<HttpConnector, RequestBody<tonic::body::Body>> =
        Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build_http();
    let channel = OutboundLayer::new(mesh, Source::sidecar("default")).layer(http);
    let mut client = tonic::client::Grpc::with_origin(
        channel,
        "http://greeter:50051".parse().expect("a valid origin"),
    );

    for (method, canary) in [
        ("SayHello", false),
        ("SayHello", true),
        ("SayHelloFlaky", false),
    ] {
        let mut request = tonic::Request::new(HelloRequest {
            name: "meshroute".into(),
        });
        if canary {
            request
                .metadata_mut()
                .insert("x-canary", "true".parse().expect("ascii"));
        }
        client.ready().await.expect("the channel is ready");
        let path = PathAndQuery::from_maybe_shared(format!("/greeter.Greeter/{method}"))
            .expect("a valid path");
        let reply = client
            .unary(
                request,
                path,
                ProstCodec::<HelloRequest, HelloReply>::default(),
            )
            .await;
        let shown = match reply {
            Ok(reply) => reply.into_inner().message,
            Err(status) => format!("{:?}: {}", status.code(), status.message()),
        };
        println!("{method:<14} x-canary: {canary:<5} -> {shown}");
    }

    // No route for another service's method: Envoy's 404, as gRPC UNIMPLEMENTED.
    client.ready().await.expect("the channel is ready");
    let path = PathAndQuery::from_static("/other.Service/Call");
    let request = tonic::Request::new(HelloRequest::default());
    let reply = client
        .unary(
            request,
            path,
            ProstCodec::<HelloRequest, HelloReply>::default(),
        )
        .await;
    match reply {
        Ok(_) => println!("/other.Service/Call -> unexpected answer"),
        Err(status) => println!("/other.Service/Call      -> {:?}", status.code()),
    }
}
