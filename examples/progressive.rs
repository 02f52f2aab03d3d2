//! In-process progressive delivery: `cargo run --features rollout --example progressive`.
//!
//! reviews v1 is stable. A `Rollout` moves v2 through 10, 25, 50 and 100% of the route's traffic,
//! one step a (simulated) minute, judging each step on what the `Dispatch` layer observed of
//! v2's and v1's responses. Then v3, which answers 500, starts its own rollout against v2 and is
//! rolled back to 0% at its first step. The handlers are in-process tower services and the
//! clock is a `ManualClock`, so the whole story runs in well under a second.
//!
//! Exits 0 when everything happened as told, 1 otherwise.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use meshroute::rollout::{ManualClock, Phase, Rollout, RolloutSpec};
use meshroute::service::Dispatch;
use meshroute::{FastRng, LoadOptions, SharedMesh};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

const CONFIG: &str = "apiVersion: v1
kind: Service
metadata: {name: reviews}
spec: {ports: [{port: 8080, name: http}], selector: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}, {name: v3, labels: {version: v3}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - name: main
    route:
    - {destination: {host: reviews, subset: v1}, weight: 100}
    - {destination: {host: reviews, subset: v2}, weight: 0}
    - {destination: {host: reviews, subset: v3}, weight: 0}
";

type Handler = BoxCloneSyncService<Request<()>, Response<String>, Infallible>;

/// A workload answering `status`, its version in the body.
fn workload(version: &'static str, status: StatusCode) -> Handler {
    BoxCloneSyncService::new(tower::service_fn(move |_: Request<()>| async move {
        let mut response = Response::new(version.to_owned());
        *response.status_mut() = status;
        Ok::<_, Infallible>(response)
    }))
}

/// Sends `n` requests to reviews; who answered how often.
async fn traffic(app: &Dispatch<Handler>, n: usize) -> BTreeMap<String, usize> {
    let mut served = BTreeMap::new();
    for _ in 0..n {
        let request = Request::get("http://reviews:8080/")
            .body(())
            .unwrap_or_default();
        let Ok(response) = app.clone().oneshot(request).await;
        let version = http_body_util::BodyExt::collect(response.into_body())
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        *served.entry(version).or_insert(0) += 1;
    }
    served
}

fn describe(served: &BTreeMap<String, usize>) -> String {
    served
        .iter()
        .map(|(version, n)| format!("{version} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `rollout` to its end: each simulated minute, 1,000 requests, then a tick.
/// Runs one rollout to its end; whether it ended in `expected` and v2 then serves everything
/// (the promoted v2, or v2 kept after v3's rollback).
async fn rolls(
    mesh: &SharedMesh,
    spec: RolloutSpec,
    clock: &ManualClock,
    app: &Dispatch<Handler>,
    expected: Phase,
) -> bool {
    let mut ok = match Rollout::start(mesh, spec, clock.clone()) {
        Ok(rollout) => {
            run(&rollout, clock, app).await;
            rollout.state().phase == expected
        }
        Err(error) => {
            println!("  {error}");
            false
        }
    };
    let served = traffic(app, 1000).await;
    println!("  now: {}", describe(&served));
    ok &= served.get("v2") == Some(&1000);
    ok
}

async fn run(rollout: &Rollout, clock: &ManualClock, app: &Dispatch<Handler>) {
    println!("  {}", *rollout.events().borrow());
    while rollout.state().phase == Phase::Progressing {
        let served = traffic(app, 1000).await;
        println!(
            "    1000 requests at {}%: {}",
            rollout.percent(),
            describe(&served)
        );
        clock.advance(Duration::from_secs(60));
        if let Some(event) = rollout.tick() {
            println!("  {event}");
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let loaded = meshroute::from_str(CONFIG, &LoadOptions::default());
    let mesh = match loaded.compile() {
        Ok(mesh) => SharedMesh::new(mesh),
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    let app = Dispatch::builder(mesh.clone(), "reviews:8080")
        .subset("v1", workload("v1", StatusCode::OK))
        .subset("v2", workload("v2", StatusCode::OK))
        .subset("v3", workload("v3", StatusCode::INTERNAL_SERVER_ERROR))
        .with_rng(FastRng::from_seed(7))
        .build();
    let clock = ManualClock::new();
    let spec = |stable: &str, canary: &str| {
        RolloutSpec::new("default/reviews", "main", stable, canary)
            .steps([10, 25, 50, 100])
            .step_interval(Duration::from_secs(60))
            .min_requests(50)
            .max_error_rate(0.01)
    };
    println!("v2, healthy, against v1:");
    let mut ok = rolls(&mesh, spec("v1", "v2"), &clock, &app, Phase::Succeeded).await;
    println!("v3, answering 500, against v2:");
    ok &= rolls(&mesh, spec("v2", "v3"), &clock, &app, Phase::RolledBack).await;

    std::process::exit(if ok { 0 } else { 1 });
}
