//! The outbound layer's `tracing` span: OpenTelemetry's HTTP client attributes, and at the end
//! the status, the resend count and Envoy's flags. Its own test binary, with the recording
//! subscriber as the global default: `tracing` caches each callsite's interest process-wide, so
//! a thread-local subscriber races with the other tests' threads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use meshroute::service::{OutboundLayer, RequestBody};
use meshroute::{Endpoint, LoadOptions, SharedMesh, Source};
use tower::{Layer, ServiceExt};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type Fields = Arc<Mutex<Vec<(String, String)>>>;

/// Keeps every field recorded on `meshroute` spans.
struct Recorder {
    fields: Fields,
    next: AtomicU64,
}

struct Visitor(Fields);

impl Visit for Visitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .lock()
            .unwrap()
            .push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .lock()
            .unwrap()
            .push((field.name().to_owned(), value.to_owned()));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.name() == "meshroute"
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        span.record(&mut Visitor(Arc::clone(&self.fields)));
        Id::from_u64(self.next.fetch_add(1, Ordering::SeqCst))
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Visitor(Arc::clone(&self.fields)));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

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
async fn the_outbound_span_follows_opentelemetry_http_conventions() {
    let fields = Fields::default();
    tracing::subscriber::set_global_default(Recorder {
        fields: Arc::clone(&fields),
        next: AtomicU64::new(1),
    })
    .unwrap();
    let loaded = meshroute::from_str(YAML, &LoadOptions::default());
    let mesh = SharedMesh::new(loaded.compile().unwrap());
    mesh.set_endpoints("svc", 8080, vec![Endpoint::new([127, 0, 0, 1].into(), 9)])
        .unwrap();
    // An upstream that always answers 503: three attempts.
    let upstream = tower::service_fn(|_request: http::Request<RequestBody<Full<Bytes>>>| async {
        let mut response = http::Response::new(Full::new(Bytes::new()));
        *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
        Ok::<_, Infallible>(response)
    });
    let client = OutboundLayer::new(mesh, Source::default()).layer(upstream);
    let request = http::Request::get("http://svc:8080/items?page=2")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 503);

    let fields: HashMap<String, String> = fields.lock().unwrap().iter().cloned().collect();
    let get = |name: &str| fields.get(name).map(String::as_str);
    assert_eq!(get("otel.kind"), Some("client"));
    assert_eq!(get("http.request.method"), Some("GET"));
    assert_eq!(get("server.address"), Some("svc"));
    assert_eq!(get("server.port"), Some("8080"));
    assert_eq!(get("url.full"), Some("http://svc:8080/items?page=2"));
    assert_eq!(get("http.response.status_code"), Some("503"));
    assert_eq!(get("http.request.resend_count"), Some("2"));
    assert_eq!(get("error.type"), Some("503"));
    assert_eq!(get("meshroute.flags"), Some("URX"));
    assert_eq!(
        get("meshroute.destination"),
        Some("svc.default.svc.cluster.local")
    );
}
