//! In-process canary routing that follows a cluster (feature `kube`): both versions of svc-b in
//! one process, v1 or v2 chosen per request by the VirtualService and DestinationRule the
//! cluster holds now, as a sidecar would choose.
//!
//! ```text
//! cargo run --features kube --example cluster                          # decide two requests, exit
//! cargo run --features kube --example cluster -- --serve 0.0.0.0:8080  # serve (deploy/)
//! ```
//!
//! It reads the cluster of the current kubeconfig context (or, in a pod, of its service
//! account) with `meshroute::cluster::ClusterSync`, waits until every kind is listed, then:
//!
//! - without arguments, sends `GET /greet` and `GET /greet?name=xx` to itself and prints which
//!   version answered (the seed's canary sends `name=xx` to v2);
//! - with `--serve ADDR`, serves `/greet` (dispatched to v1 or v2), `/readyz` (200 once the
//!   cluster's configuration is applied: the readiness probe of `deploy/deployment.yaml`) and
//!   `/status` (what the sync has done, as text), until stopped.
//!
//! Environment: `MESHROUTE_HOST` the host the versions serve (default `svc-b:8080`),
//! `MESHROUTE_NAMESPACE` the namespace to read (default: every namespace).

use std::time::Duration;

use axum::{Router, body::Body, extract::Request, routing::get};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use meshroute::cluster::{ClusterOptions, ClusterSync};
use meshroute::service::Dispatch;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = std::env::var("MESHROUTE_HOST").unwrap_or_else(|_| "svc-b:8080".to_owned());
    let mut options = ClusterOptions::default();
    if let Ok(namespace) = std::env::var("MESHROUTE_NAMESPACE") {
        options = options.namespace(namespace);
    }
    let client = kube::Client::try_default().await?;
    let sync = std::sync::Arc::new(ClusterSync::start(client, options));
    tokio::time::timeout(Duration::from_secs(30), sync.ready()).await??;
    let status = sync.status();
    println!(
        "cluster configuration applied: {} objects, {} diagnostics",
        status.objects,
        status.diagnostics.len()
    );

    let dispatch = Dispatch::builder(sync.mesh().clone(), host)
        .subset(
            "v1",
            Router::new().route("/greet", get(async || "hello from v1")),
        )
        .subset(
            "v2",
            Router::new().route("/greet", get(async || "hello from v2")),
        )
        .default_service(Router::new().route("/greet", get(async || "hello (no subset)")))
        .build();
    let ready = sync.clone();
    let status = sync.clone();
    let app = Router::new()
        .route(
            "/readyz",
            get(async move || {
                if ready.status().ready {
                    (http::StatusCode::OK, "ready")
                } else {
                    (
                        http::StatusCode::SERVICE_UNAVAILABLE,
                        "waiting for the cluster",
                    )
                }
            }),
        )
        .route(
            "/status",
            get(async move || format!("{:#?}\n", status.status())),
        )
        .fallback_service(dispatch);

    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, address] = args.as_slice()
        && flag == "--serve"
    {
        let listener = tokio::net::TcpListener::bind(address.as_str()).await?;
        println!("serving on {}", listener.local_addr()?);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        return Ok(());
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(axum::serve(listener, app).into_future());
    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
    for query in ["", "?name=xx"] {
        let request = Request::get(format!("http://{addr}/greet{query}")).body(Body::empty())?;
        let response = client.request(request).await?;
        let body = axum::body::to_bytes(Body::new(response.into_body()), 1 << 16).await?;
        println!("GET /greet{query} -> {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}
