//! Envoy's cluster statistics on the `metrics` facade (feature `metrics`): counted per attempt,
//! retry and failure, labelled with Envoy's cluster name.
#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use axum::Router;
use axum::http::StatusCode;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use meshroute::service::{OutboundLayer, RequestBody};
use meshroute::{Endpoint, LoadOptions, SharedMesh, Source};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::{Layer, ServiceExt};

const YAML: &str = "apiVersion: v1
kind: Service
metadata: {name: svc, namespace: default}
spec:
  ports: [{port: 8080, name: http}]
  selector: {app: svc}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc, namespace: default}
spec:
  hosts: [svc]
  http:
  - route: [{destination: {host: svc}}]
    retries: {attempts: 2, retryOn: 5xx}
";

#[tokio::test]
async fn retries_are_counted_per_cluster() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") });
    tokio::spawn(async move { axum::serve(listener, app).await });

    let loaded = meshroute::from_str(YAML, &LoadOptions::default());
    let mesh = SharedMesh::new(loaded.compile().unwrap());
    mesh.set_endpoints("svc", 8080, vec![Endpoint::new(addr.ip(), addr.port())])
        .unwrap();
    let client: Client<HttpConnector, RequestBody<Full<Bytes>>> =
        Client::builder(TokioExecutor::new()).build_http();
    let outbound = OutboundLayer::new(mesh, Source::default()).layer(client);
    let request = http::Request::get("http://svc:8080/")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = outbound.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

    let counters: HashMap<String, u64> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let key = key.key();
            let cluster = key
                .labels()
                .find(|l| l.key() == "cluster_name")
                .map(|l| l.value().to_owned())?;
            assert_eq!(cluster, "outbound|8080||svc.default.svc.cluster.local");
            match value {
                DebugValue::Counter(n) => Some((key.name().to_owned(), n)),
                _ => None,
            }
        })
        .collect();
    assert_eq!(counters.get("upstream_rq_total"), Some(&3), "{counters:?}");
    assert_eq!(counters.get("upstream_rq_retry"), Some(&2), "{counters:?}");
    assert_eq!(
        counters.get("upstream_rq_retry_limit_exceeded"),
        Some(&1),
        "{counters:?}"
    );
}
