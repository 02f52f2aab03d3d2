//! Cluster mode under an endpoint storm: 1,000 endpoint changes per second for 10 seconds from
//! the fake API server (`cluster/fake_api.rs`), while another thread decides continuously.
//! The changes are absorbed by a bounded number of applies (one per debounce window), no
//! decision ever sees a half-applied set, the last state is the one served, and memory returns
//! to where it was. Its own binary: a counting global allocator measures the whole process.
#![cfg(feature = "kube")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "cluster/fake_api.rs"]
mod fake_api;
#[path = "common/live_bytes.rs"]
mod live_bytes;
#[path = "cluster/objects.rs"]
mod objects;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fake_api::FakeApi;
use live_bytes::{Counting, LIVE};
use meshroute::cluster::{ClusterOptions, ClusterSync};
use meshroute::{FastRng, Source};
use objects::*;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The address of the v2 pod after change `i`: `10.2.x.y`, never the v1 pod's.
fn v2_ip(i: u32) -> String {
    format!("10.2.{}.{}", (i / 250) % 250, i % 250 + 1)
}

/// One endpoint change: the v2 pod is replaced by one at a new address, and the EndpointSlice
/// lists it (two writes, as the kubelet and the EndpointSlice controller make them).
fn change(api: &FakeApi, i: u32) {
    let ip = v2_ip(i);
    api.apply(pod("demo-b-v2-0", "v2", &ip));
    api.apply(endpoint_slice(&[
        ("demo-b-v1-0", "10.1.0.1"),
        ("demo-b-v2-0", &ip),
    ]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_endpoint_changes_a_second_for_ten_seconds_are_absorbed() {
    let api = FakeApi::default();
    api.apply(service());
    api.apply(pod("demo-b-v1-0", "v1", "10.1.0.1"));
    change(&api, 0);
    api.apply(destination_rule());
    api.apply(canary());
    let debounce = Duration::from_millis(100);
    let sync = ClusterSync::start(api.client(), ClusterOptions::default().debounce(debounce));
    tokio::time::timeout(Duration::from_secs(10), sync.ready())
        .await
        .unwrap()
        .unwrap();
    let mesh = sync.mesh().clone();
    // A warm-up change, applied, before the baseline.
    change(&api, 1);
    wait_for_v2(&mesh, &v2_ip(1)).await;
    api.compact();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = LIVE.load(Ordering::Relaxed);
    let before = sync.status();

    // Decisions on another thread the whole time: every one must find a complete endpoint set.
    let stop = Arc::new(AtomicBool::new(false));
    let decisions = Arc::new(AtomicU64::new(0));
    let reader = {
        let (mesh, stop, decisions) = (mesh.clone(), stop.clone(), decisions.clone());
        std::thread::spawn(move || {
            let canary = http::Request::get("http://svc-b:8080/?name=xx")
                .body(())
                .unwrap();
            let stable = http::Request::get("http://svc-b:8080/").body(()).unwrap();
            let source = Source::sidecar("default");
            let mut rng = FastRng::from_seed(7);
            while !stop.load(Ordering::Relaxed) {
                let current = mesh.load();
                let decision = current.route_with(&canary, &source, &mut rng);
                let endpoint = decision.endpoint().expect("v2 always has its endpoint");
                assert!(
                    endpoint.address.starts_with("10.2."),
                    "{}",
                    endpoint.address
                );
                assert_eq!(
                    endpoint.labels.get("version").map(String::as_str),
                    Some("v2")
                );
                let decision = current.route_with(&stable, &source, &mut rng);
                let endpoint = decision.endpoint().expect("v1 always has its endpoint");
                assert_eq!(endpoint.address, "10.1.0.1:8080");
                decisions.fetch_add(1, Ordering::Relaxed);
                // Leave the watchers the CPU they need on a two-core machine.
                std::thread::sleep(Duration::from_micros(50));
            }
        })
    };

    // 1,000 changes a second for 10 seconds, paced against the clock.
    let start = Instant::now();
    let total = 10_000;
    for i in 0..total {
        change(&api, 2 + i);
        let due = start + Duration::from_micros(u64::from(i + 1) * 1_000);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }
    let took = start.elapsed();
    let last = v2_ip(2 + total - 1);
    wait_for_v2(&mesh, &last).await;
    let served = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    reader.join().expect("no decision saw a half-applied set");

    let after = sync.status();
    let applies = (after.swaps - before.swaps) + (after.endpoint_updates - before.endpoint_updates);
    // Each apply closes a window of at least `debounce` opened by a change: no more applies
    // than windows fit between the first change and the last one served.
    let windows = served.as_millis() / debounce.as_millis() + 1;
    eprintln!(
        "{total} changes in {took:?} (the last served after {served:?}): {applies} applies ({} swaps), {} decisions meanwhile",
        after.swaps - before.swaps,
        decisions.load(Ordering::Relaxed)
    );
    assert!(
        u128::from(applies) <= windows + 2,
        "{applies} applies for {windows} debounce windows"
    );
    assert_eq!(
        after.swaps, before.swaps,
        "endpoint changes recompile nothing"
    );
    assert!(decisions.load(Ordering::Relaxed) > 0);

    // Memory returns to the baseline once the API server's history is compacted (its event log
    // is the fake's, not meshroute's).
    api.compact();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let grown = LIVE.load(Ordering::Relaxed) - baseline;
    eprintln!("live bytes: baseline {baseline}, after the storm {grown:+}");
    assert!(
        grown < 256 * 1024,
        "{grown} bytes more than before the storm"
    );
}

async fn wait_for_v2(mesh: &meshroute::SharedMesh, ip: &str) {
    let expected = format!("{ip}:8080");
    for _ in 0..500 {
        if decide(mesh, "http://svc-b:8080/?name=xx", 1).1.as_deref() == Some(&expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "v2 never moved to {expected}: {:?}",
        decide(mesh, "http://svc-b:8080/?name=xx", 1)
    );
}
