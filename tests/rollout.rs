//! Progressive delivery (feature `rollout`, issue #15 item 2) with a manual clock: the outcomes
//! come from a real `Dispatch` calling in-process handlers (and from an `OutboundLayer` for
//! the attempt feed), as an application's layers would publish them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use meshroute::rollout::{
    ManualClock, Phase, Rollout, RolloutEvent, RolloutSpec, RolloutState, Verdict,
};
use meshroute::service::{Dispatch, OutboundLayer};
use meshroute::{Endpoint, FastRng, Mesh, RequestOutcome, SharedMesh, Source, UpstreamResult};
use tower::{BoxError, Layer, ServiceExt};

const VS: &str = "default/reviews";
const MINUTE: Duration = Duration::from_secs(60);

/// reviews: v1 takes everything, v2 and v3 are listed at weight 0 (what a rollout starts from);
/// `annotations` for the sticky variant.
fn config(annotations: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata: {{name: reviews}}
spec: {{ports: [{{port: 8080, name: http}}], selector: {{app: reviews}}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: reviews}}
spec:
  host: reviews
  subsets: [{{name: v1, labels: {{version: v1}}}}, {{name: v2, labels: {{version: v2}}}}, {{name: v3, labels: {{version: v3}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews{annotations}}}
spec:
  hosts: [reviews]
  http:
  - name: main
    route:
    - {{destination: {{host: reviews, subset: v1}}, weight: 100}}
    - {{destination: {{host: reviews, subset: v2}}, weight: 0}}
    - {{destination: {{host: reviews, subset: v3}}, weight: 0}}
"
    )
}

fn compile(annotations: &str) -> Mesh {
    meshroute::from_str(&config(annotations), &meshroute::LoadOptions::default())
        .compile()
        .unwrap()
}

type Handler = tower::util::BoxCloneSyncService<Request<()>, Response<String>, Infallible>;

/// A handler answering `status` (after `delay`), its subset in the body.
fn handler(subset: &'static str, status: StatusCode, delay: Duration) -> Handler {
    tower::util::BoxCloneSyncService::new(tower::service_fn(move |_: Request<()>| async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut response = Response::new(subset.to_owned());
        *response.status_mut() = status;
        Ok::<_, Infallible>(response)
    }))
}

/// v1 and v2 healthy, v3 answering 500.
fn app(mesh: &SharedMesh, seed: u64) -> Dispatch<Handler> {
    Dispatch::builder(mesh.clone(), "reviews:8080")
        .subset("v1", handler("v1", StatusCode::OK, Duration::ZERO))
        .subset("v2", handler("v2", StatusCode::OK, Duration::ZERO))
        .subset(
            "v3",
            handler("v3", StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO),
        )
        .with_rng(FastRng::from_seed(seed))
        .build()
}

/// Sends `n` requests through `app`; how many each subset answered.
async fn drive(app: &Dispatch<Handler>, n: usize) -> BTreeMap<String, usize> {
    let mut served = BTreeMap::new();
    for _ in 0..n {
        let request = Request::get("http://reviews:8080/").body(()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        *served
            .entry(String::from_utf8(body.to_vec()).unwrap())
            .or_insert(0) += 1;
    }
    served
}

fn share(served: &BTreeMap<String, usize>, subset: &str) -> f64 {
    let total: usize = served.values().sum();
    100.0 * *served.get(subset).unwrap_or(&0) as f64 / total as f64
}

fn spec(canary: &str, stable: &str) -> RolloutSpec {
    RolloutSpec::new(VS, "main", stable, canary)
        .steps([5, 10, 25, 50, 100])
        .step_interval(MINUTE)
        .min_requests(20)
        .max_error_rate(0.05)
}

/// The healthy canary: each step holds until its interval is over, then is promoted; the
/// traffic follows each step's weights; after 100% the rollout succeeds and v2 takes it all.
#[tokio::test]
async fn a_healthy_canary_is_promoted_through_every_step() {
    let mesh = SharedMesh::new(compile(""));
    let clock = ManualClock::new();
    let spec = spec("v2", "v1").max_latency(99.0, Duration::from_secs(1));
    let rollout = Rollout::start(&mesh, spec, clock.clone()).unwrap();
    let mut events = rollout.events();
    assert_eq!(
        *events.borrow_and_update(),
        RolloutEvent::Started {
            step: 0,
            percent: 5,
            phase: Phase::Progressing
        }
    );
    let app = app(&mesh, 1);
    for (step, percent) in [5u32, 10, 25, 50, 100].into_iter().enumerate() {
        assert_eq!(rollout.percent(), percent);
        let served = drive(&app, 1000).await;
        let v2 = share(&served, "v2");
        assert!(
            (v2 - f64::from(percent)).abs() < 3.0,
            "step {step}: v2 got {v2}% for {percent}%"
        );
        assert!(!served.contains_key("v3"));
        // Enough traffic, the gates pass, but the interval is not over: paused, once.
        clock.advance(Duration::from_secs(30));
        assert!(matches!(
            rollout.tick(),
            Some(RolloutEvent::Paused { reason, .. }) if reason.contains("lasted 30s of 60s")
        ));
        assert_eq!(rollout.tick(), None);
        clock.advance(Duration::from_secs(30));
        let expected = match [5u32, 10, 25, 50, 100].get(step + 1) {
            Some(&next) => RolloutEvent::Promoted {
                step: step + 1,
                percent: next,
            },
            None => RolloutEvent::Succeeded { percent: 100 },
        };
        assert_eq!(rollout.tick(), Some(expected.clone()));
        assert!(events.has_changed().unwrap());
        assert_eq!(*events.borrow_and_update(), expected);
    }
    assert_eq!(rollout.state().phase, Phase::Succeeded);
    assert_eq!(rollout.tick(), None);
    let served = drive(&app, 200).await;
    assert_eq!(served.get("v2"), Some(&200));
}

/// A canary answering 500s fails the error-rate gate at its first step: the weights go back to
/// 100/0 and every request then reaches the stable subset.
#[tokio::test]
async fn a_failing_canary_is_rolled_back_to_zero() {
    let mesh = SharedMesh::new(compile(""));
    let clock = ManualClock::new();
    let rollout = Rollout::start(&mesh, spec("v3", "v1"), clock.clone()).unwrap();
    let app = app(&mesh, 2);
    let served = drive(&app, 1000).await;
    assert!(served["v3"] >= 20, "{served:?}");
    clock.advance(Duration::from_secs(10));
    let event = rollout.tick().unwrap();
    let RolloutEvent::RolledBack { from, reason } = &event else {
        panic!("{event:?}");
    };
    assert_eq!(*from, 5);
    assert!(reason.starts_with("canary error rate 100.0%"), "{reason}");
    assert!(reason.ends_with("is above 5.0%"), "{reason}");
    assert_eq!(rollout.state().phase, Phase::RolledBack);
    assert_eq!(rollout.percent(), 0);
    assert_eq!(*rollout.events().borrow(), event);
    let served = drive(&app, 500).await;
    assert_eq!(served.get("v1"), Some(&500), "{served:?}");
    // Over: no more transitions, whatever the clock.
    clock.advance(MINUTE);
    assert_eq!(rollout.tick(), None);
}

/// Too little canary traffic pauses the step whatever the time, and says so once; traffic
/// then lets it through.
#[tokio::test]
async fn too_few_requests_pause_the_step() {
    let mesh = SharedMesh::new(compile(""));
    let clock = ManualClock::new();
    let rollout = Rollout::start(&mesh, spec("v2", "v1").min_requests(100), clock.clone()).unwrap();
    let app = app(&mesh, 3);
    drive(&app, 100).await;
    clock.advance(MINUTE * 10);
    let event = rollout.tick().unwrap();
    assert!(
        matches!(&event, RolloutEvent::Paused { step: 0, percent: 5, reason } if reason.ends_with("canary requests of the 100 a step needs")),
        "{event}"
    );
    assert_eq!(rollout.tick(), None);
    assert_eq!(rollout.state().step, 0);
    let canary = rollout.stats().canary.requests;
    assert!(canary < 100, "{canary}");
    drive(&app, 3000).await;
    assert!(rollout.stats().canary.requests >= 100);
    assert_eq!(
        rollout.tick(),
        Some(RolloutEvent::Promoted {
            step: 1,
            percent: 10
        })
    );
}

/// The latency gate reads the canary's percentile from the handler calls `Dispatch` times.
#[tokio::test]
async fn a_slow_canary_fails_the_latency_gate() {
    let mesh = SharedMesh::new(compile(""));
    let clock = ManualClock::new();
    let spec = spec("v2", "v1")
        .steps([50, 100])
        .min_requests(5)
        .max_latency(90.0, Duration::from_millis(10));
    let rollout = Rollout::start(&mesh, spec, clock.clone()).unwrap();
    let app = Dispatch::builder(mesh.clone(), "reviews:8080")
        .subset("v1", handler("v1", StatusCode::OK, Duration::ZERO))
        .subset(
            "v2",
            handler("v2", StatusCode::OK, Duration::from_millis(30)),
        )
        .with_rng(FastRng::from_seed(4))
        .build();
    drive(&app, 20).await;
    let stats = rollout.stats();
    assert!(stats.canary.latency(90.0).unwrap() >= Duration::from_millis(30));
    assert!(stats.stable.latency(90.0).unwrap() < Duration::from_millis(10));
    let event = rollout.tick().unwrap();
    assert!(
        matches!(&event, RolloutEvent::RolledBack { from: 50, reason } if reason.starts_with("canary p90 latency") && reason.ends_with("is above 10ms")),
        "{event}"
    );
}

/// The custom check sees both subsets' statistics; it holds the step until approved, and its
/// roll-back verdict rolls back.
#[tokio::test]
async fn the_custom_check_holds_promotes_and_rolls_back() {
    let mesh = SharedMesh::new(compile(""));
    let clock = ManualClock::new();
    let approved = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let spec = spec("v2", "v1").check({
        let approved = Arc::clone(&approved);
        let seen = Arc::clone(&seen);
        move |stats| {
            seen.lock().unwrap().push((
                stats.percent,
                stats.canary.requests,
                stats.stable.requests,
            ));
            if stats.percent >= 25 {
                Verdict::RollBack("the canary's conversion dropped".to_owned())
            } else if approved.load(Ordering::SeqCst) {
                Verdict::Promote
            } else {
                Verdict::Hold("waiting for approval".to_owned())
            }
        }
    });
    let rollout = Rollout::start(&mesh, spec, clock.clone()).unwrap();
    let app = app(&mesh, 5);
    drive(&app, 1000).await;
    clock.advance(MINUTE);
    assert_eq!(
        rollout.tick(),
        Some(RolloutEvent::Paused {
            step: 0,
            percent: 5,
            reason: "waiting for approval".to_owned()
        })
    );
    approved.store(true, Ordering::SeqCst);
    assert_eq!(
        rollout.tick(),
        Some(RolloutEvent::Promoted {
            step: 1,
            percent: 10
        })
    );
    let (percent, canary, stable) = seen.lock().unwrap()[1];
    assert_eq!(percent, 5);
    assert_eq!(canary + stable, 1000);
    drive(&app, 1000).await;
    clock.advance(MINUTE);
    rollout.tick().unwrap();
    drive(&app, 1000).await;
    clock.advance(MINUTE);
    assert_eq!(
        rollout.tick(),
        Some(RolloutEvent::RolledBack {
            from: 25,
            reason: "the canary's conversion dropped".to_owned()
        })
    );
}

/// A configuration reload (a freshly compiled mesh, weights 100/0/0 again) keeps the rollout's
/// step: `SharedMesh::store` re-applies the weights it owns.
#[tokio::test]
async fn a_reload_keeps_the_rollout_weights() {
    let mesh = SharedMesh::new(compile(""));
    let clock = ManualClock::new();
    let rollout = Rollout::start(&mesh, spec("v2", "v1"), clock.clone()).unwrap();
    let app = app(&mesh, 6);
    for _ in 0..3 {
        drive(&app, 1000).await;
        clock.advance(MINUTE);
        assert!(matches!(
            rollout.tick(),
            Some(RolloutEvent::Promoted { .. })
        ));
    }
    assert_eq!(rollout.percent(), 50);
    mesh.store(compile(""));
    let served = drive(&app, 2000).await;
    let v2 = share(&served, "v2");
    assert!((v2 - 50.0).abs() < 4.0, "{served:?}");
    // The rollout keeps observing the new mesh's traffic and keeps going.
    clock.advance(MINUTE);
    assert_eq!(
        rollout.tick(),
        Some(RolloutEvent::Promoted {
            step: 4,
            percent: 100
        })
    );
    // Released, the next reload has the configured weights.
    assert!(mesh.release_weights(VS, "main"));
    mesh.store(compile(""));
    assert_eq!(drive(&app, 100).await.get("v1"), Some(&100));
}

/// A restart: the state is persisted as JSON, the process "restarts" with a new mesh, and the
/// rollout resumes at its step with the step's interval counted from the saved start.
#[tokio::test]
async fn a_rollout_resumes_from_its_saved_state() {
    let clock = ManualClock::new();
    let saved = {
        let mesh = SharedMesh::new(compile(""));
        let rollout = Rollout::start(&mesh, spec("v2", "v1"), clock.clone()).unwrap();
        let app = app(&mesh, 7);
        drive(&app, 1000).await;
        clock.advance(MINUTE);
        rollout.tick().unwrap();
        drive(&app, 1000).await;
        clock.advance(MINUTE);
        rollout.tick().unwrap();
        assert_eq!(rollout.percent(), 25);
        clock.advance(Duration::from_secs(40));
        serde_json::to_string(&rollout.state()).unwrap()
    };
    let state: RolloutState = serde_json::from_str(&saved).unwrap();
    assert_eq!(state.step, 2);
    assert_eq!(state.phase, Phase::Progressing);
    assert!(saved.contains("\"stepStartedMs\":"), "{saved}");

    let mesh = SharedMesh::new(compile(""));
    let rollout = Rollout::resume(&mesh, spec("v2", "v1"), clock.clone(), state).unwrap();
    assert_eq!(rollout.percent(), 25);
    assert_eq!(rollout.state(), state);
    let app = app(&mesh, 8);
    let v2 = share(&drive(&app, 2000).await, "v2");
    assert!((v2 - 25.0).abs() < 3.0, "{v2}");
    // 40 s of the step had passed before the restart: 20 more finish it.
    assert!(matches!(rollout.tick(), Some(RolloutEvent::Paused { .. })));
    clock.advance(Duration::from_secs(20));
    assert_eq!(
        rollout.tick(),
        Some(RolloutEvent::Promoted {
            step: 3,
            percent: 50
        })
    );
    // A state the spec cannot have is refused.
    let beyond = RolloutState {
        step: 9,
        ..rollout.state()
    };
    assert!(Rollout::resume(&mesh, spec("v2", "v1"), clock, beyond).is_err());
}

/// Under rollout-set weights a sticky route still sends each user to one subset, and a
/// promotion only moves users from the stable subset to the canary.
#[test]
fn sticky_users_stay_under_rollout_weights() {
    let mesh = SharedMesh::new(compile(
        ", annotations: {meshroute.dev/sticky-key: 'header:x-user-id'}",
    ));
    let clock = ManualClock::new();
    let rollout = Rollout::start(&mesh, spec("v2", "v1"), clock.clone()).unwrap();
    let subset = |user: u32, seed: u64| {
        let request = Request::get("http://reviews:8080/")
            .header("x-user-id", format!("user-{user}"))
            .body(())
            .unwrap();
        mesh.load()
            .route_with(
                &request,
                &Source::sidecar("default"),
                &mut FastRng::from_seed(seed),
            )
            .destination()
            .and_then(|d| d.subset)
            .unwrap()
            .to_owned()
    };
    let before: Vec<String> = (0..5000).map(|u| subset(u, 1)).collect();
    let again: Vec<String> = (0..5000).map(|u| subset(u, 99)).collect();
    assert_eq!(before, again);
    let in_v2 = before.iter().filter(|s| *s == "v2").count();
    assert!((200..300).contains(&in_v2), "{in_v2}");
    // Promote to 10% by publishing the outcomes directly (the feed an application without
    // the tower layers uses).
    for _ in 0..20 {
        mesh.publish(&RequestOutcome::new(
            "reviews.default.svc.cluster.local",
            Some("v2"),
            UpstreamResult::Status(200),
            Duration::from_millis(1),
        ));
    }
    clock.advance(MINUTE);
    assert!(matches!(
        rollout.tick(),
        Some(RolloutEvent::Promoted { percent: 10, .. })
    ));
    let after: Vec<String> = (0..5000).map(|u| subset(u, 2)).collect();
    for (old, new) in before.iter().zip(&after) {
        assert!(old == new || (old == "v1" && new == "v2"), "{old} -> {new}");
    }
    let moved = before.iter().zip(&after).filter(|(o, n)| o != n).count();
    assert!((150..350).contains(&moved), "{moved}");
}

/// The outbound layer publishes each attempt's outcome, with the destination's host and
/// subset, to the mesh's observers; nothing is published once they unsubscribe.
#[tokio::test]
async fn the_outbound_layer_feeds_the_observers() {
    let mesh = SharedMesh::new(compile(""));
    mesh.set_weights(VS, "main", &[("v1", 50), ("v2", 50)])
        .unwrap();
    let endpoint = |port: u16, version: &str| {
        Endpoint::new("127.0.0.1".parse().unwrap(), port)
            .with_labels([("app", "reviews"), ("version", version)])
    };
    mesh.set_endpoints(
        "reviews",
        8080,
        vec![endpoint(10001, "v1"), endpoint(10002, "v2")],
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let id = mesh.observe({
        let seen = Arc::clone(&seen);
        move |outcome: &RequestOutcome<'_>| {
            seen.lock().unwrap().push((
                outcome.host.to_owned(),
                outcome.subset.map(str::to_owned),
                outcome.result,
            ));
        }
    });
    assert!(mesh.is_observed());
    // The "network": port 10002 (v2) answers 503.
    let client = tower::service_fn(
        |request: Request<meshroute::service::RequestBody<String>>| async move {
            let status = if request.uri().port_u16() == Some(10002) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            let mut response = Response::new(String::new());
            *response.status_mut() = status;
            Ok::<_, BoxError>(response)
        },
    );
    let outbound = OutboundLayer::new(mesh.clone(), Source::sidecar("default")).layer(client);
    for _ in 0..50 {
        let request = Request::get("http://reviews:8080/")
            .body(String::new())
            .unwrap();
        outbound.clone().oneshot(request).await.unwrap();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), 50);
    for (host, subset, result) in &seen {
        assert_eq!(host, "reviews.default.svc.cluster.local");
        match subset.as_deref() {
            Some("v1") => assert_eq!(*result, UpstreamResult::Status(200)),
            Some("v2") => assert_eq!(*result, UpstreamResult::Status(503)),
            other => panic!("{other:?}"),
        }
    }
    assert!(seen.iter().any(|(_, s, _)| s.as_deref() == Some("v2")));
    assert!(mesh.unobserve(id));
    assert!(!mesh.is_observed());
}

/// What cannot be set is refused, and changes nothing.
#[test]
fn weights_that_cannot_be_set_are_refused() {
    let mesh = SharedMesh::new(compile(""));
    let refused = |vs: &str, route: &str, weights: &[(&str, u32)]| {
        mesh.set_weights(vs, route, weights)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refused("default/nope", "main", &[("v1", 1)]),
        "weights of route main of VirtualService default/nope not replaced: the configuration has no such VirtualService"
    );
    assert!(
        refused(VS, "other", &[("v1", 1)])
            .ends_with("the VirtualService has no HTTP route of that name or index")
    );
    assert!(
        refused(VS, "main", &[("v9", 1)])
            .ends_with("no destination of the route has subset \"v9\"")
    );
    assert!(refused(VS, "main", &[("v1", 0)]).ends_with("every destination would get weight 0"));
    // By index, as the route has a name too.
    mesh.set_weights(VS, "0", &[("v3", 1)]).unwrap();
    let request = Request::get("http://reviews:8080/").body(()).unwrap();
    let current = mesh.load();
    let decision = current.route(&request, &Source::sidecar("default"));
    assert_eq!(decision.destination().and_then(|d| d.subset), Some("v3"));
    assert!(matches!(
        Rollout::start(&mesh, spec("v4", "v1"), ManualClock::new()),
        Err(meshroute::rollout::RolloutError::Subset { .. })
    ));
    assert!(Rollout::start(&mesh, spec("v2", "v1").steps([10, 5]), ManualClock::new()).is_err());
}
