//! `Mesh::route_cached`: the same decisions as `Mesh::route_with`, picked through a worker's
//! `PickCache`, which follows endpoint changes and meshes.

use std::net::{IpAddr, Ipv4Addr};

use meshroute::{Endpoint, FastRng, Mesh, PickCache, Source};

use crate::common::{CANARY, WEIGHTED, get, seed_mesh};

const POOL: &str = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: pool, namespace: default}
spec:
  hosts: [pool.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
";

fn pool(policy: &str) -> Mesh {
    let yaml = format!(
        "{POOL}---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: pool, namespace: default}}\nspec:\n  host: pool.example.com\n  trafficPolicy: {policy}\n"
    );
    let loaded = meshroute::from_str(&yaml, &Default::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.compile().unwrap()
}

fn loopback(last: u8) -> Endpoint {
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), 80)
}

fn address(mesh: &Mesh, cache: &mut PickCache, rng: &mut FastRng) -> Option<String> {
    let request = get("http://pool.example.com/");
    let source = Source::sidecar("default");
    mesh.route_cached(&request, &source, rng, cache)
        .endpoint()
        .map(|e| e.address.trim_end_matches(":80").to_owned())
}

/// Same seed, same requests: the cached and the plain path decide and pick alike, for the seed's
/// canary and weighted files (svc-b's RANDOM picks, the gateway's svc-a decision).
#[test]
fn cached_decisions_are_route_with_decisions() {
    for files in [&CANARY[..], &WEIGHTED[..]] {
        let mesh = seed_mesh(files);
        let sidecar = Source::sidecar("default").with_labels([("app", "demo-a")]);
        let gateway = Source::gateway("default/demo-gateway");
        let requests = [
            (get("http://svc-b:8080/greet?name=xx"), &sidecar),
            (get("http://svc-b:8080/greet?name=yy"), &sidecar),
            (get("http://localhost/greet?name=xx"), &gateway),
        ];
        let (mut plain_rng, mut cached_rng) = (FastRng::from_seed(9), FastRng::from_seed(9));
        let mut cache = PickCache::new();
        let mut picked = 0;
        for round in 0..300 {
            let (request, source) = &requests[round % requests.len()];
            let plain = mesh.route_with(request, source, &mut plain_rng);
            let cached = mesh.route_cached(request, source, &mut cached_rng, &mut cache);
            assert_eq!(plain.outcome(), cached.outcome());
            assert_eq!(plain.destination(), cached.destination());
            assert_eq!(plain.endpoint(), cached.endpoint(), "round {round}");
            if source.gateway_name().is_none() {
                assert!(cached.endpoint().is_some(), "svc-b has endpoints");
                picked += 1;
            }
        }
        assert_eq!(picked, 200);
    }
}

/// Endpoints set after the cache saw the cluster are picked at once: the cache checks its
/// snapshot against the cluster's current one on every pick.
#[test]
fn cache_follows_set_endpoints() {
    let mesh = pool("{loadBalancer: {simple: ROUND_ROBIN}}");
    let (mut cache, mut rng) = (PickCache::new(), FastRng::from_seed(1));
    assert_eq!(
        address(&mesh, &mut cache, &mut rng).as_deref(),
        Some("127.0.0.1")
    );
    mesh.set_endpoints("pool.example.com", 80, &[loopback(9)])
        .unwrap();
    assert_eq!(
        address(&mesh, &mut cache, &mut rng).as_deref(),
        Some("127.0.0.9")
    );
    mesh.set_endpoints("pool.example.com", 80, &[]).unwrap();
    assert_eq!(address(&mesh, &mut cache, &mut rng), None);
}

/// One cache used with two meshes (a `SharedMesh` swap, say) picks from each mesh's own
/// clusters, though their cluster indices are the same.
#[test]
fn cache_follows_the_mesh() {
    let (old, new) = (
        pool("{loadBalancer: {simple: RANDOM}}"),
        pool("{loadBalancer: {simple: RANDOM}}"),
    );
    new.set_endpoints("pool.example.com", 80, &[loopback(2)])
        .unwrap();
    let (mut cache, mut rng) = (PickCache::new(), FastRng::from_seed(1));
    for _ in 0..3 {
        assert_eq!(
            address(&old, &mut cache, &mut rng).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            address(&new, &mut cache, &mut rng).as_deref(),
            Some("127.0.0.2")
        );
    }
    cache.clear();
    assert_eq!(
        address(&new, &mut cache, &mut rng).as_deref(),
        Some("127.0.0.2")
    );
}

/// A writer swaps the endpoint set back and forth while a reader picks through its cache: every
/// pick is an endpoint of one of the sets, and once the writer is done the cache picks from its
/// last set only.
#[test]
fn cached_picks_follow_concurrent_swaps() {
    let mesh = pool("{loadBalancer: {simple: ROUND_ROBIN}}");
    let first = [loopback(1), loopback(2)];
    let second = [loopback(3), loopback(4)];
    let done = std::sync::atomic::AtomicBool::new(false);
    let (mut cache, mut rng) = (PickCache::new(), FastRng::from_seed(1));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..2_000 {
                let set = if i % 2 == 0 { &second } else { &first };
                mesh.set_endpoints("pool.example.com", 80, set).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Release);
        });
        while !done.load(std::sync::atomic::Ordering::Acquire) {
            let address = address(&mesh, &mut cache, &mut rng).unwrap();
            assert!(
                ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"].contains(&address.as_str()),
                "{address}"
            );
        }
    });
    // The writer's last set (i = 1999) is the first one.
    for _ in 0..4 {
        let address = address(&mesh, &mut cache, &mut rng).unwrap();
        assert!(
            ["127.0.0.1", "127.0.0.2"].contains(&address.as_str()),
            "{address}"
        );
    }
}

/// A request no VirtualService routes takes the service's default route: its cluster per port
/// is resolved at compile time (Envoy's `outbound|PORT||HOST`, one per service port), so each
/// port picks from its own endpoints, through `route_with` and through a `PickCache`, and a
/// port the service does not have passes through.
#[test]
fn default_route_picks_from_the_port_cluster() {
    let yaml = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: two, namespace: default}
spec:
  hosts: [two.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 9090, name: http-admin, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: two, namespace: default}
spec:
  host: two.example.com
  trafficPolicy:
    portLevelSettings:
    - port: {number: 9090}
      loadBalancer: {consistentHash: {httpHeaderName: x-user}}
";
    let loaded = meshroute::from_str(yaml, &Default::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let mesh = loaded.compile().unwrap();
    let on = |last: u8, port: u16| Endpoint::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), port);
    mesh.set_endpoints("two.example.com", 80, &[on(10, 80), on(11, 80)])
        .unwrap();
    mesh.set_endpoints("two.example.com", 9090, &[on(20, 9090), on(21, 9090)])
        .unwrap();
    let source = Source::sidecar("default");
    let mut rng = FastRng::from_seed(3);
    let mut cache = PickCache::new();
    for (uri, expected) in [
        (
            "http://two.example.com/",
            ["127.0.0.10:80", "127.0.0.11:80"],
        ),
        (
            "http://two.example.com:9090/",
            ["127.0.0.20:9090", "127.0.0.21:9090"],
        ),
    ] {
        for user in ["alice", "bob", "carol", "dave"] {
            let mut request = get(uri);
            request
                .headers_mut()
                .insert("x-user", user.parse().unwrap());
            let plain = mesh.route_with(&request, &source, &mut rng);
            let cached = mesh.route_cached(&request, &source, &mut rng, &mut cache);
            assert!(plain.route().is_none(), "{uri}: the default route");
            for decision in [&plain, &cached] {
                let endpoint = decision.endpoint().map(|e| e.address.as_str());
                assert!(
                    endpoint.is_some_and(|e| expected.contains(&e)),
                    "{uri} {user}: {endpoint:?}"
                );
            }
            if uri.contains(":9090") {
                // The port's consistent hash: the same user, the same endpoint.
                assert_eq!(
                    plain.endpoint().map(|e| e.address.clone()),
                    cached.endpoint().map(|e| e.address.clone())
                );
            }
        }
    }
    let other_port = get("http://two.example.com:7070/");
    let elsewhere = mesh.route_with(&other_port, &source, &mut rng);
    assert!(elsewhere.endpoint().is_none());
}
