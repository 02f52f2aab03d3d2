//! Golden balance rules: from Istio YAML to the endpoint address Envoy would pick, through the
//! whole pipeline (`compile` → `Mesh::route_with` → `Decision::endpoint`). Every test names the
//! rule it checks and cites where the rule comes from (Envoy's load balancer sources and tests,
//! Istio's DestinationRule translation). Where a pick is deterministic, the expected endpoint is
//! computed with the algorithm types of `balance` (`RingHash`, `Maglev`, `RoundRobin`,
//! `LeastRequest`, `random::pick`, each checked against Envoy's own test vectors in its module)
//! over the endpoints written in the test, fed the same random numbers through a mirror
//! `FastRng`: these tests check that compilation wires each DestinationRule to the right
//! algorithm, endpoints and random draws.
//!
//! The upstream files cited by short name below are, in full: envoyproxy/envoy
//! `source/common/http/hash_policy.cc`, `source/common/router/router.h`,
//! `source/extensions/load_balancing_policies/common/thread_aware_lb_impl.cc`,
//! `source/extensions/load_balancing_policies/common/load_balancer_impl.cc`,
//! `source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.h`,
//! `source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.cc`,
//! `source/extensions/load_balancing_policies/maglev/maglev_lb.cc`,
//! `source/extensions/load_balancing_policies/round_robin/round_robin_lb.h`,
//! `source/extensions/load_balancing_policies/least_request/least_request_lb.cc`,
//! `source/extensions/load_balancing_policies/random/random_lb.cc`,
//! `source/common/upstream/edf_scheduler.h` and `source/common/upstream/outlier_detection_impl.cc`;
//! istio/istio `pilot/pkg/networking/core/cluster_traffic_policy.go`,
//! `pilot/pkg/networking/core/cluster_builder.go`, `pilot/pkg/networking/util/util.go`,
//! `pilot/pkg/serviceregistry/serviceentry/conversion.go` and
//! `pilot/pkg/serviceregistry/kube/controller/controller.go`; istio/api
//! `networking/v1alpha3/destination_rule.proto` and `networking/v1alpha3/service_entry.proto`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::balance::endpoint::Endpoint;
use crate::balance::hash::xxhash64;
use crate::balance::least_request::{LeastRequest, LeastRequestConfig};
use crate::balance::maglev::Maglev;
use crate::balance::outlier::UpstreamResult as Reported;
use crate::balance::random;
use crate::balance::ring_hash::RingHash;
use crate::balance::round_robin::RoundRobin;
use crate::config::load::{LoadOptions, from_str};
use crate::registry::endpoints::synthetic_ip;
use crate::route::cluster::NoEndpoint;
use crate::route::decision::{Decision, Outcome};
use crate::route::mesh::Mesh;
use crate::route::source::Source;
use crate::util::rng::{FastRng, Rng};
use http::{Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The ServiceEntry host of the main fixture.
const HOST: &str = "svc.example.com";
/// Envoy's `maximum_ring_size` default (ring_hash_lb.h `DefaultMaxRingSize`).
const MAX_RING: u64 = 8_388_608;
/// Subset v1's endpoints, in ServiceEntry order.
const V1: [&str; 3] = ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"];
/// Subset v2's endpoints, in ServiceEntry order.
const V2: [&str; 3] = ["10.0.0.4:8080", "10.0.0.5:8080", "10.0.0.6:8080"];
/// Every endpoint of the host, in ServiceEntry order.
const ALL: [&str; 6] = [
    "10.0.0.1:8080",
    "10.0.0.2:8080",
    "10.0.0.3:8080",
    "10.0.0.4:8080",
    "10.0.0.5:8080",
    "10.0.0.6:8080",
];

/// Loads and compiles `yaml`; any load diagnostic or compile error fails the test.
fn mesh(yaml: &str) -> Mesh {
    let loaded = from_str(yaml, &LoadOptions::default());
    assert!(
        loaded.diagnostics.is_empty(),
        "load diagnostics: {:#?}",
        loaded.diagnostics
    );
    match super::compile(loaded.resources) {
        Ok(mesh) => mesh,
        Err(e) => panic!("compile errors: {:#?}", e.diagnostics),
    }
}

/// The main fixture: a STATIC ServiceEntry for [`HOST`] on port 8080 whose endpoints are
/// [`V1`] (`version: v1`) and [`V2`] (`version: v2`); a DestinationRule with the top-level
/// `trafficPolicy` `top` and subsets v1, v2 (with `trafficPolicy` `v2`) and v3 (selects nothing);
/// a VirtualService sending `/v1` to v1, `/v3` to v3, `/v4` to the undefined subset v4, `/all`
/// to the host without a subset and everything else to v2. `top` and `v2` are YAML flow
/// mappings; empty means "not set".
fn fixture_with(top: &str, v2: &str) -> Mesh {
    let top = if top.is_empty() {
        String::new()
    } else {
        format!("  trafficPolicy: {top}\n")
    };
    let v2 = if v2.is_empty() {
        String::new()
    } else {
        format!(", trafficPolicy: {v2}")
    };
    mesh(&format!(
        r"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: svc}}
spec:
  hosts: [{HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{{number: 8080, name: http, protocol: HTTP}}]
  endpoints:
  - {{address: 10.0.0.1, labels: {{version: v1}}}}
  - {{address: 10.0.0.2, labels: {{version: v1}}}}
  - {{address: 10.0.0.3, labels: {{version: v1}}}}
  - {{address: 10.0.0.4, labels: {{version: v2}}}}
  - {{address: 10.0.0.5, labels: {{version: v2}}}}
  - {{address: 10.0.0.6, labels: {{version: v2}}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc}}
spec:
  host: {HOST}
{top}  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}{v2}}}
  - {{name: v3, labels: {{version: v3}}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc}}
spec:
  hosts: [{HOST}]
  http:
  - match: [{{uri: {{prefix: /v1}}}}]
    route: [{{destination: {{host: {HOST}, subset: v1}}}}]
  - match: [{{uri: {{prefix: /v3}}}}]
    route: [{{destination: {{host: {HOST}, subset: v3}}}}]
  - match: [{{uri: {{prefix: /v4}}}}]
    route: [{{destination: {{host: {HOST}, subset: v4}}}}]
  - match: [{{uri: {{prefix: /all}}}}]
    route: [{{destination: {{host: {HOST}}}}}]
  - route: [{{destination: {{host: {HOST}, subset: v2}}}}]
"
    ))
}

/// [`fixture_with`] without a subset policy.
fn fixture(top: &str) -> Mesh {
    fixture_with(top, "")
}

/// A GET of `path` on [`HOST`]:8080 with `headers`.
fn req(path: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::get(format!("http://{HOST}:8080{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

fn sidecar() -> Source {
    Source::sidecar("default")
}

/// The address the decision picked, if any.
fn addr(d: &Decision<'_>) -> Option<String> {
    d.endpoint().map(|e| e.address.clone())
}

/// The address picked for `request` from a sidecar in `default`, drawing from `rng`.
fn pick(mesh: &Mesh, request: &Request<()>, rng: &mut FastRng) -> Option<String> {
    addr(&mesh.route_with(request, &sidecar(), rng))
}

/// `(hash key, weight 1)` for each address, as the balancer builds its ring or table.
fn keys<'a>(addresses: &[&'a str]) -> Vec<(&'a str, u32)> {
    addresses.iter().map(|a| (*a, 1)).collect()
}

/// A decision for `request` whose endpoint is `address` (tries seeds until the balancer picks it).
fn decision_on<'a>(mesh: &'a Mesh, request: &'a Request<()>, address: &str) -> Decision<'a> {
    for seed in 0..10_000 {
        let d = mesh.route_with(request, &sidecar(), &mut FastRng::from_seed(seed));
        if addr(&d).as_deref() == Some(address) {
            return d;
        }
    }
    panic!("{address} is never picked");
}

/// How often each address is picked in `n` routes of `request` drawing from `rng`.
fn counts(
    mesh: &Mesh,
    request: &Request<()>,
    n: usize,
    rng: &mut FastRng,
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for _ in 0..n {
        let address = pick(mesh, request, rng).expect("an endpoint is picked");
        *out.entry(address).or_default() += 1;
    }
    out
}

/// The set of addresses of a cluster, as `Mesh::endpoints` reports it.
fn endpoint_addresses(mesh: &Mesh, host: &str, subset: Option<&str>, port: u16) -> Vec<String> {
    mesh.endpoints(host, subset, port)
        .unwrap_or_else(|| panic!("no cluster {host}/{subset:?}/{port}"))
        .into_iter()
        .map(|e| e.address)
        .collect()
}

/// The seed a cluster's round robin starts from (`clusters::seed_of`).
fn rr_seed(host: &str, subset: Option<&str>, port: u16) -> u64 {
    xxhash64(
        format!("{host}|{}|{port}", subset.unwrap_or("")).as_bytes(),
        0,
    )
}

/// A proptest runner with a fixed seed, as tests/robustness.rs builds it.
fn runner(cases: u32, seed: u8) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

// ---------------------------------------------------------------------------------------------
// Consistent hashing
// ---------------------------------------------------------------------------------------------

/// hash_policy.cc `HeaderHashMethod` (`XXH64(value, 0)` for a single value), ring_hash_lb.cc
/// `RingHashLoadBalancer::Ring::Ring` (ring built from the cluster's endpoints in host-set order,
/// keys `ip:port`) and `Ring::chooseHost` (`lower_bound` lookup); destination_rule.proto
/// `LoadBalancerSettings.ConsistentHashLB` (`httpHeaderName`, `ringHash.minimumRingSize`) and
/// cluster_builder.go `buildSubsetCluster` (each subset is its own cluster, so hashing happens
/// among that subset's endpoints).
#[test]
fn consistent_hash_header_ring_hash_picks_the_envoy_ring_entry() {
    let m = fixture(
        "{loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 64}}}}",
    );
    let ring_v2 = RingHash::build(&keys(&V2), 64, MAX_RING).unwrap();
    let ring_all = RingHash::build(&keys(&ALL), 64, MAX_RING).unwrap();

    let alice = V2[ring_v2.pick(xxhash64(b"alice", 0), 0).unwrap()];
    let request = req("/", &[("x-user", "alice")]);
    let d = m.route_with(&request, &sidecar(), &mut FastRng::from_seed(1));
    assert_eq!(d.destination().unwrap().subset, Some("v2"));
    assert_eq!(d.endpoint().unwrap().address, alice);
    assert_eq!(d.endpoint().unwrap().labels["version"], "v2");

    for i in 0..100 {
        let user = format!("user-{i}");
        let hash = xxhash64(user.as_bytes(), 0);
        let mut rng = FastRng::from_seed(i);
        assert_eq!(
            pick(&m, &req("/", &[("x-user", &user)]), &mut rng).as_deref(),
            Some(V2[ring_v2.pick(hash, 0).unwrap()]),
            "{user} on subset v2"
        );
        assert_eq!(
            pick(&m, &req("/all", &[("x-user", &user)]), &mut rng).as_deref(),
            Some(ALL[ring_all.pick(hash, 0).unwrap()]),
            "{user} on the whole host"
        );
    }
}

/// maglev_lb.cc `MaglevTable::constructMaglevTableInternal` (weighted Maglev table, keys sorted)
/// and `OriginalMaglevTable::chooseHost` (`table[hash % M]`); destination_rule.proto
/// `LoadBalancerSettings.ConsistentHashLB.MagLev.table_size` (`maglev.tableSize`, Envoy default
/// 65537).
#[test]
fn consistent_hash_header_maglev_picks_the_envoy_table_slot() {
    for (policy, table_size) in [
        ("maglev: {tableSize: 7}", 7),
        ("maglev: {tableSize: 65537}", 65537),
    ] {
        let m = fixture(&format!(
            "{{loadBalancer: {{consistentHash: {{httpHeaderName: x-user, {policy}}}}}}}"
        ));
        let v2 = Maglev::build(&keys(&V2), table_size).unwrap();
        let all = Maglev::build(&keys(&ALL), table_size).unwrap();
        for i in 0..60 {
            let user = if i == 0 {
                "alice".to_owned()
            } else {
                format!("user-{i}")
            };
            let hash = xxhash64(user.as_bytes(), 0);
            let mut rng = FastRng::from_seed(i);
            assert_eq!(
                pick(&m, &req("/", &[("x-user", &user)]), &mut rng).as_deref(),
                Some(V2[v2.pick(hash, 0).unwrap()]),
                "{policy}: {user} on subset v2"
            );
            assert_eq!(
                pick(&m, &req("/all", &[("x-user", &user)]), &mut rng).as_deref(),
                Some(ALL[all.pick(hash, 0).unwrap()]),
                "{policy}: {user} on the whole host"
            );
        }
    }
}

/// thread_aware_lb_impl.cc `ThreadAwareLoadBalancerBase::LoadBalancerImpl::chooseHost`: the hash
/// depends on the request only, so the same user always lands on the same endpoint whatever the
/// random source does.
#[test]
fn consistent_hash_same_user_is_sticky() {
    for policy in ["ringHash: {minimumRingSize: 64}", "maglev: {tableSize: 7}"] {
        let m = fixture(&format!(
            "{{loadBalancer: {{consistentHash: {{httpHeaderName: x-user, {policy}}}}}}}"
        ));
        let request = req("/", &[("x-user", "alice")]);
        let mut rng = FastRng::from_seed(42);
        let first = pick(&m, &request, &mut rng).unwrap();
        for _ in 0..1000 {
            assert_eq!(pick(&m, &request, &mut rng).unwrap(), first, "{policy}");
        }
    }
}

/// ring_hash_lb.cc `RingHashLoadBalancer::Ring::Ring` / maglev_lb.cc
/// `MaglevTable::constructMaglevTableInternal`: different keys spread over the ring or table, so
/// different users reach every endpoint of the subset (and only endpoints of the subset).
#[test]
fn consistent_hash_different_users_spread_over_endpoints() {
    for policy in [
        "ringHash: {minimumRingSize: 64}",
        "maglev: {tableSize: 7}",
        "{}",
    ] {
        let policy = if policy == "{}" {
            String::new()
        } else {
            format!(", {policy}")
        };
        let m = fixture(&format!(
            "{{loadBalancer: {{consistentHash: {{httpHeaderName: x-user{policy}}}}}}}"
        ));
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut rng = FastRng::from_seed(5);
        for i in 0..300 {
            let user = format!("user-{i}");
            let address = pick(&m, &req("/", &[("x-user", &user)]), &mut rng).unwrap();
            *seen.entry(address).or_default() += 1;
        }
        let keys: Vec<&str> = seen.keys().map(String::as_str).collect();
        assert_eq!(keys, V2, "{policy}: every v2 endpoint and nothing else");
        for (address, n) in &seen {
            assert!(*n >= 30, "{policy}: {address} got only {n} of 300 users");
        }
    }
}

/// thread_aware_lb_impl.cc `ThreadAwareLoadBalancerBase::LoadBalancerImpl::chooseHost`: when no
/// policy yields a hash (header absent) the LB uses `random()` as the hash, so a seeded random
/// source replays the same picks and different seeds pick differently. `Mesh::route_with` draws
/// nothing else for a single-destination route, so the hash is the first draw.
#[test]
fn consistent_hash_without_the_header_uses_a_random_hash() {
    let m = fixture(
        "{loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 64}}}}",
    );
    let ring = RingHash::build(&keys(&V2), 64, MAX_RING).unwrap();
    let request = req("/", &[("x-other", "alice")]);
    let run = |seed: u64| -> Vec<String> {
        let mut rng = FastRng::from_seed(seed);
        (0..200)
            .map(|_| pick(&m, &request, &mut rng).unwrap())
            .collect()
    };
    for seed in [1, 2] {
        let mut mirror = FastRng::from_seed(seed);
        let expected: Vec<String> = (0..200)
            .map(|_| V2[ring.pick(mirror.next_u64(), 0).unwrap()].to_owned())
            .collect();
        let picks = run(seed);
        assert_eq!(picks, expected, "seed {seed}");
        assert_eq!(picks, run(seed), "seed {seed} replays");
        let distinct: BTreeSet<&String> = picks.iter().collect();
        assert_eq!(distinct.len(), 3, "a random hash reaches every endpoint");
    }
    assert_ne!(run(1), run(2), "different seeds pick differently");
}

/// hash_policy.cc `IpHashMethod` (`connection_properties {source_ip}`: `XXH64` of the IP text
/// without the port, IPv6 without brackets); destination_rule.proto
/// `LoadBalancerSettings.ConsistentHashLB.use_source_ip` (`useSourceIp`). The caller's IP comes
/// from `Source::with_ip`; without one there is no hash and the pick is random
/// (thread_aware_lb_impl.cc `chooseHost`).
#[test]
fn consistent_hash_use_source_ip() {
    let m = fixture(
        "{loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 64}}}}",
    );
    let ring = RingHash::build(&keys(&V2), 64, MAX_RING).unwrap();
    let request = req("/", &[]);
    let ips = [
        "192.168.7.9",
        "10.1.2.3",
        "172.16.0.1",
        "2001:db8::7",
        "fe80::1",
        "::1",
    ];
    let mut spread = BTreeSet::new();
    for ip in ips {
        let source = sidecar().with_ip(ip.parse::<IpAddr>().unwrap());
        let expected = V2[ring.pick(xxhash64(ip.as_bytes(), 0), 0).unwrap()];
        for seed in 0..20 {
            let d = m.route_with(&request, &source, &mut FastRng::from_seed(seed));
            assert_eq!(addr(&d).as_deref(), Some(expected), "source {ip}");
        }
        spread.insert(expected);
    }
    assert!(
        spread.len() > 1,
        "different callers reach different endpoints"
    );

    let mut rng = FastRng::from_seed(9);
    let mut mirror = FastRng::from_seed(9);
    for _ in 0..50 {
        let expected = V2[ring.pick(mirror.next_u64(), 0).unwrap()];
        assert_eq!(pick(&m, &request, &mut rng).as_deref(), Some(expected));
    }
}

/// hash_policy.cc `QueryParameterHashMethod` (`query_parameter`: the raw value of the first
/// occurrence, an empty value hashes "", a missing parameter gives no hash); destination_rule.proto
/// `LoadBalancerSettings.ConsistentHashLB.http_query_parameter_name` (`httpQueryParameterName`).
#[test]
fn consistent_hash_query_parameter() {
    let m = fixture(
        "{loadBalancer: {consistentHash: {httpQueryParameterName: user, maglev: {tableSize: 7}}}}",
    );
    let table = Maglev::build(&keys(&V2), 7).unwrap();
    let expect = |value: &str| V2[table.pick(xxhash64(value.as_bytes(), 0), 0).unwrap()];
    for (path, value) in [
        ("/?user=alice", "alice"),
        ("/?a=1&user=alice&user=bob", "alice"),
        ("/?user=bob", "bob"),
        ("/?user=a%20b", "a%20b"),
        ("/?x=1&user=", ""),
        ("/?user", ""),
    ] {
        for seed in 0..10 {
            assert_eq!(
                pick(&m, &req(path, &[]), &mut FastRng::from_seed(seed)).as_deref(),
                Some(expect(value)),
                "{path}"
            );
        }
    }
    let mut rng = FastRng::from_seed(3);
    let mut mirror = FastRng::from_seed(3);
    for _ in 0..50 {
        let expected = V2[table.pick(mirror.next_u64(), 0).unwrap()];
        assert_eq!(
            pick(&m, &req("/?username=alice", &[]), &mut rng).as_deref(),
            Some(expected),
            "a missing parameter falls back to a random hash"
        );
    }
}

/// hash_policy.cc `CookieHashMethod` (cookie policy: `XXH64` of the value of the first cookie with
/// that name, surrounding double quotes stripped); destination_rule.proto
/// `LoadBalancerSettings.ConsistentHashLB.http_cookie` (`httpCookie`).
#[test]
fn consistent_hash_cookie_present_hashes_its_value() {
    let m = fixture(
        "{loadBalancer: {consistentHash: {httpCookie: {name: session, ttl: 60s}, ringHash: {minimumRingSize: 64}}}}",
    );
    let ring = RingHash::build(&keys(&V2), 64, MAX_RING).unwrap();
    for (cookie, value) in [
        ("session=abc123", "abc123"),
        ("theme=dark; session=abc123", "abc123"),
        ("session=\"abc123\"", "abc123"),
        ("session=zzz; session=abc123", "zzz"),
        ("xsession=1; session=q9", "q9"),
    ] {
        let expected = V2[ring.pick(xxhash64(value.as_bytes(), 0), 0).unwrap()];
        for seed in 0..10 {
            let request = req("/", &[("cookie", cookie)]);
            let d = m.route_with(&request, &sidecar(), &mut FastRng::from_seed(seed));
            assert_eq!(addr(&d).as_deref(), Some(expected), "{cookie}");
            assert_eq!(d.set_cookie(), None, "a present cookie is not set again");
        }
    }
}

/// hash_policy.cc `CookieHashMethod` (generated cookie) and thread_aware_lb_impl.cc
/// `generateCookie` / `chooseHost`: with the cookie absent and a `ttl`, Envoy generates the value
/// from the downstream remote and local addresses. Without them (a `Source` with no
/// `with_downstream`), like current Envoy without addresses, no hash is produced, the pick uses a
/// random hash, and no `Set-Cookie` is asked for.
#[test]
fn consistent_hash_cookie_absent_with_ttl_falls_back_to_random_without_set_cookie() {
    let m = fixture(
        "{loadBalancer: {consistentHash: {httpCookie: {name: session, path: /, ttl: 60s}, ringHash: {minimumRingSize: 64}}}}",
    );
    let ring = RingHash::build(&keys(&V2), 64, MAX_RING).unwrap();
    let request = req("/", &[("cookie", "other=1")]);
    let mut rng = FastRng::from_seed(11);
    let mut mirror = FastRng::from_seed(11);
    for _ in 0..100 {
        let d = m.route_with(&request, &sidecar(), &mut rng);
        let expected = V2[ring.pick(mirror.next_u64(), 0).unwrap()];
        assert_eq!(addr(&d).as_deref(), Some(expected));
        assert_eq!(
            d.set_cookie(),
            None,
            "no downstream addresses: nothing generated"
        );
    }
}

/// router.h `Router::Filter::addDownstreamSetCookie` (generated cookie): value = 16 lower-case hex
/// digits of `XXH64(remote.asString() + local.asString())`, hashed again with XXH64; Envoy asks for
/// `Set-Cookie: name="value"; Max-Age=ttl; Path=path; HttpOnly`.
#[test]
fn consistent_hash_cookie_absent_with_ttl_generates_it_from_the_connection() {
    let m = fixture(
        "{loadBalancer: {consistentHash: {httpCookie: {name: session, path: /, ttl: 60s}, ringHash: {minimumRingSize: 64}}}}",
    );
    let ring = RingHash::build(&keys(&V2), 64, MAX_RING).unwrap();
    let remote: std::net::SocketAddr = "10.0.0.1:5555".parse().unwrap();
    let local: std::net::SocketAddr = "10.0.0.2:8080".parse().unwrap();
    let value = format!(
        "{:016x}",
        xxhash64(format!("{remote}{local}").as_bytes(), 0)
    );
    let expected = V2[ring.pick(xxhash64(value.as_bytes(), 0), 0).unwrap()];
    let source = sidecar().with_downstream(remote, local);
    let request = req("/", &[]);
    for seed in 0..20 {
        let d = m.route_with(&request, &source, &mut FastRng::from_seed(seed));
        assert_eq!(addr(&d).as_deref(), Some(expected));
        assert_eq!(
            d.set_cookie(),
            Some(format!("session=\"{value}\"; Max-Age=60; Path=/; HttpOnly").as_str())
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Subsets and endpoint discovery
// ---------------------------------------------------------------------------------------------

/// destination_rule.proto `Subset.labels`: a subset's `labels` select the endpoints whose labels
/// are a superset; the host's own cluster (no subset) has every endpoint. Order is ServiceEntry
/// order.
#[test]
fn subset_endpoints_are_those_whose_labels_include_the_subset_labels() {
    let m = mesh(
        r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc}
spec:
  hosts: [labels.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  endpoints:
  - {address: 10.0.1.1, labels: {version: v1, zone: a}}
  - {address: 10.0.1.2, labels: {version: v1, zone: b}}
  - {address: 10.0.1.3, labels: {version: v2, zone: a}}
  - {address: 10.0.1.4, labels: {version: v2, zone: b, canary: "true"}}
  - {address: 10.0.1.5}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc}
spec:
  host: labels.example.com
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: zone-a, labels: {zone: a}}
  - {name: v1-b, labels: {version: v1, zone: b}}
  - {name: canary, labels: {version: v2, canary: "true"}}
  - {name: none, labels: {version: v9}}
"#,
    );
    let host = "labels.example.com";
    let cases: [(Option<&str>, &[&str]); 7] = [
        (
            None,
            &[
                "10.0.1.1:8080",
                "10.0.1.2:8080",
                "10.0.1.3:8080",
                "10.0.1.4:8080",
                "10.0.1.5:8080",
            ],
        ),
        (Some("v1"), &["10.0.1.1:8080", "10.0.1.2:8080"]),
        (Some("v2"), &["10.0.1.3:8080", "10.0.1.4:8080"]),
        (Some("zone-a"), &["10.0.1.1:8080", "10.0.1.3:8080"]),
        (Some("v1-b"), &["10.0.1.2:8080"]),
        (Some("canary"), &["10.0.1.4:8080"]),
        (Some("none"), &[]),
    ];
    for (subset, expected) in cases {
        assert_eq!(
            endpoint_addresses(&m, host, subset, 8080),
            expected,
            "subset {subset:?}"
        );
    }
    let canary = m.endpoints(host, Some("canary"), 8080).unwrap();
    assert_eq!(
        canary[0].labels,
        BTreeMap::from([
            ("canary".to_owned(), "true".to_owned()),
            ("version".to_owned(), "v2".to_owned()),
            ("zone".to_owned(), "b".to_owned()),
        ])
    );
    assert_eq!(m.endpoints(host, Some("v7"), 8080), None, "no such cluster");
}

/// destination_rule.proto `Subset` and cluster_builder.go `buildSubsetCluster`: each subset is its
/// own Envoy cluster, so a route to subset v2 only ever reaches v2 endpoints (and reaches all of
/// them).
#[test]
fn route_to_a_subset_only_picks_that_subsets_endpoints() {
    let m = fixture("{loadBalancer: {simple: RANDOM}}");
    let mut rng = FastRng::from_seed(8);
    let v2 = counts(&m, &req("/", &[]), 1000, &mut rng);
    assert_eq!(v2.keys().collect::<Vec<_>>(), V2);
    let v1 = counts(&m, &req("/v1", &[]), 1000, &mut rng);
    assert_eq!(v1.keys().collect::<Vec<_>>(), V1);
    let all = counts(&m, &req("/all", &[]), 1000, &mut rng);
    assert_eq!(all.keys().collect::<Vec<_>>(), ALL);
}

const K8S_WEB: &str = r"apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 8080, targetPort: 9090}
  - {name: grpc, port: 7070, targetPort: grpc-alt}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v1, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: web, version: v1}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      containers:
      - name: web
        image: web:1
        ports:
        - {containerPort: 9090, name: http}
        - {containerPort: 7171, name: grpc-alt}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v1, namespace: other}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      containers: [{name: web, image: web:1}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: api:1}]
";

/// meshroute's `registry::endpoints` (the Kubernetes registry as meshroute models it): a Deployment
/// with `replicas: 3` selected by a Service gives three pods named `<deployment>-0..2`, each at a
/// stable synthetic `10.x.y.z` address on the Service port's `targetPort`; only pods in the
/// Service's namespace whose labels match its selector count (Kubernetes Service semantics).
#[test]
fn kubernetes_deployment_replicas_are_stable_synthetic_endpoints() {
    let host = "web.default.svc.cluster.local";
    let first = mesh(K8S_WEB);
    let endpoints = first.endpoints(host, None, 8080).unwrap();
    let names: Vec<&str> = endpoints
        .iter()
        .map(|e| e.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["web-v1-0", "web-v1-1", "web-v1-2"]);
    let mut ips = BTreeSet::new();
    for e in &endpoints {
        let ip = synthetic_ip("default", e.name.as_deref().unwrap());
        assert_eq!(e.ip, Some(ip));
        assert_eq!(e.address, format!("{ip}:9090"));
        assert_eq!(e.port, 9090);
        assert!(matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 10), "{ip}");
        assert_eq!(e.labels["version"], "v1");
        ips.insert(ip);
    }
    assert_eq!(ips.len(), 3, "distinct addresses");
    let again = mesh(K8S_WEB);
    assert_eq!(
        again.endpoints(host, None, 8080).unwrap(),
        endpoints,
        "stable"
    );

    // The sidecar resolves the short name and the balancer picks among the three.
    let request = Request::get("http://web:8080/").body(()).unwrap();
    let mut rng = FastRng::from_seed(1);
    let mut seen = BTreeSet::new();
    for _ in 0..300 {
        let d = first.route_with(&request, &sidecar(), &mut rng);
        assert_eq!(d.outcome(), Outcome::NoVirtualService);
        seen.insert(addr(&d).unwrap());
    }
    let expected: BTreeSet<String> = endpoints.iter().map(|e| e.address.clone()).collect();
    assert_eq!(seen, expected);
}

/// Kubernetes Service `targetPort` by name: the number is the container port with that name in
/// the pod (Kubernetes `FindPort`; Istio kube controller `findServiceTargetPort`).
#[test]
fn kubernetes_named_target_port_resolves_via_container_port_names() {
    let m = mesh(K8S_WEB);
    let endpoints = m
        .endpoints("web.default.svc.cluster.local", None, 7070)
        .unwrap();
    assert_eq!(endpoints.len(), 3);
    for (i, e) in endpoints.iter().enumerate() {
        let ip = synthetic_ip("default", &format!("web-v1-{i}"));
        assert_eq!(e.address, format!("{ip}:7171"));
    }
}

/// Kubernetes Service semantics (EndpointSlice controller, `FindPort`): a pod without a
/// container port of the named `targetPort` is not an endpoint of that Service port; it still
/// is one of the Service's numeric ports.
#[test]
fn kubernetes_named_target_port_missing_on_the_pod_excludes_it() {
    let m = mesh(&format!(
        "{K8S_WEB}---
apiVersion: v1
kind: Pod
metadata: {{name: web-bare, namespace: default, labels: {{app: web}}}}
spec:
  containers: [{{name: web, image: web:1}}]
status: {{podIP: 192.168.3.9}}
"
    ));
    let host = "web.default.svc.cluster.local";
    let grpc = endpoint_addresses(&m, host, None, 7070);
    assert_eq!(grpc.len(), 3, "{grpc:?}");
    assert!(
        !grpc.iter().any(|a| a.starts_with("192.168.3.9")),
        "{grpc:?}"
    );
    let http = endpoint_addresses(&m, host, None, 8080);
    assert!(http.contains(&"192.168.3.9:9090".to_owned()), "{http:?}");
}

/// A Pod's `status.podIP` is its endpoint address (Kubernetes EndpointSlices carry pod IPs);
/// a Pod without one gets the stable synthetic address of `namespace/name`.
#[test]
fn kubernetes_pod_status_pod_ip_is_used() {
    let m = mesh(
        r"apiVersion: v1
kind: Service
metadata: {name: pods, namespace: default}
spec:
  selector: {app: pods}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: pods-a, namespace: default, labels: {app: pods, version: v1}}
spec:
  containers: [{name: c, image: i, ports: [{containerPort: 8081, name: http}]}]
status: {podIP: 192.168.3.4, phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: pods-b, namespace: default, labels: {app: pods, version: v2}}
spec:
  containers: [{name: c, image: i, ports: [{containerPort: 8082, name: http}]}]
",
    );
    let endpoints = m
        .endpoints("pods.default.svc.cluster.local", None, 80)
        .unwrap();
    let got: Vec<(String, Option<String>)> = endpoints
        .iter()
        .map(|e| (e.address.clone(), e.name.clone()))
        .collect();
    let synthetic = synthetic_ip("default", "pods-b");
    assert_eq!(
        got,
        [
            ("192.168.3.4:8081".to_owned(), Some("pods-a".to_owned())),
            (format!("{synthetic}:8082"), Some("pods-b".to_owned())),
        ]
    );
    assert_eq!(endpoints[0].labels["version"], "v1");
}

const WORKLOAD_ENTRIES: &str = r"apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: default}
spec:
  address: 172.16.0.5
  labels: {app: vm-app, version: v1}
  ports: {http: 9080}
  weight: 3
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-2, namespace: default}
spec:
  address: 172.16.0.6
  labels: {app: vm-app, version: v2}
  ports: {db: 15432}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-other, namespace: default}
spec:
  address: 172.16.0.7
  labels: {app: other}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-elsewhere, namespace: other}
spec:
  address: 172.16.0.8
  labels: {app: vm-app}
";

/// service_entry.proto `ServiceEntry.workload_selector` and conversion.go
/// `convertWorkloadInstanceToServiceInstance` (ServiceEntry `workloadSelector`): WorkloadEntries in
/// the ServiceEntry's namespace whose labels match are its endpoints; a WorkloadEntry's `ports`
/// entry named like the ServiceEntry port gives the endpoint port, otherwise the port (or
/// `targetPort`) is used; its `weight` and name carry over.
#[test]
fn workload_entry_selected_by_a_service_entry_workload_selector() {
    let m = mesh(&format!(
        "{WORKLOAD_ENTRIES}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: vm, namespace: default}}
spec:
  hosts: [vm.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{{number: 8080, name: http, protocol: HTTP}}]
  workloadSelector: {{labels: {{app: vm-app}}}}
"
    ));
    let endpoints = m.endpoints("vm.example.com", None, 8080).unwrap();
    let got: Vec<(&str, u32, Option<&str>)> = endpoints
        .iter()
        .map(|e| (e.address.as_str(), e.weight, e.name.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("172.16.0.5:9080", 3, Some("vm-1")),
            ("172.16.0.6:8080", 1, Some("vm-2")),
        ]
    );
    let request = Request::get("http://vm.example.com:8080/")
        .body(())
        .unwrap();
    let mut rng = FastRng::from_seed(2);
    let seen: BTreeSet<String> = (0..200)
        .map(|_| pick(&m, &request, &mut rng).unwrap())
        .collect();
    assert_eq!(
        seen,
        BTreeSet::from(["172.16.0.5:9080".to_owned(), "172.16.0.6:8080".to_owned()])
    );
}

/// Istio kube controller (controller.go `serviceInstancesFromWorkloadInstances`,
/// `serviceInstanceFromWorkloadInstance`, `findServiceTargetPort`): a Kubernetes Service's selector
/// also selects WorkloadEntries in its namespace. With a numeric `targetPort` the endpoint port is
/// the WorkloadEntry's `ports` entry named like the Service port when there is one, else the
/// `targetPort`; with a named `targetPort` it is the `ports` entry of that name, and a
/// WorkloadEntry without one is skipped.
#[test]
fn workload_entry_selected_by_a_kubernetes_service_selector() {
    let m = mesh(&format!(
        "{WORKLOAD_ENTRIES}---
apiVersion: v1
kind: Service
metadata: {{name: vm-svc, namespace: default}}
spec:
  selector: {{app: vm-app}}
  ports:
  - {{name: http, port: 80, targetPort: 8080}}
  - {{name: tcp-db, port: 5432, targetPort: db}}
"
    ));
    let host = "vm-svc.default.svc.cluster.local";
    let endpoints = m.endpoints(host, None, 80).unwrap();
    let got: Vec<(&str, u32, Option<&str>)> = endpoints
        .iter()
        .map(|e| (e.address.as_str(), e.weight, e.name.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("172.16.0.5:9080", 3, Some("vm-1")),
            ("172.16.0.6:8080", 1, Some("vm-2")),
        ]
    );
    assert_eq!(
        endpoint_addresses(&m, host, None, 5432),
        ["172.16.0.6:15432"]
    );
    let request = Request::get("http://vm-svc/").body(()).unwrap();
    let d = m.route_with(&request, &sidecar(), &mut FastRng::from_seed(1));
    assert!(addr(&d).unwrap().starts_with("172.16.0."));
}

// ---------------------------------------------------------------------------------------------
// No endpoint
// ---------------------------------------------------------------------------------------------

/// Envoy: a cluster without a healthy host answers 503 with flag `UH`; a subset whose labels select
/// no endpoint is such a cluster (destination_rule.proto `Subset.labels`).
#[test]
fn subset_selecting_no_endpoints_is_503_no_healthy_upstream() {
    let m = fixture("{loadBalancer: {simple: ROUND_ROBIN}}");
    let request = req("/v3", &[]);
    let d = m.route_with(&request, &sidecar(), &mut FastRng::from_seed(1));
    assert_eq!(d.outcome(), Outcome::Route);
    let dest = d.destination().unwrap();
    assert_eq!(dest.subset, Some("v3"));
    assert!(dest.cluster_exists);
    assert!(d.endpoint().is_none());
    assert_eq!(d.no_endpoint(), Some(NoEndpoint::NoHealthyUpstream));
    assert_eq!(d.local_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(m.endpoints(HOST, Some("v3"), 8080), Some(Vec::new()));
}

/// cluster_builder.go `buildSubsetCluster` (clusters exist only for the subsets a DestinationRule
/// defines): a subset no DestinationRule defines has no cluster; Envoy answers 503 with flag `NC`
/// (no cluster). There is no balancer, hence no endpoint and no `no_endpoint`.
#[test]
fn subset_missing_from_every_destination_rule_is_503_no_cluster() {
    let m = fixture("");
    let request = req("/v4", &[]);
    let d = m.route_with(&request, &sidecar(), &mut FastRng::from_seed(1));
    assert_eq!(d.outcome(), Outcome::Route);
    let dest = d.destination().unwrap();
    assert_eq!(dest.subset, Some("v4"));
    assert!(!dest.cluster_exists);
    assert!(d.endpoint().is_none());
    assert_eq!(d.no_endpoint(), None);
    assert_eq!(d.local_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
}

/// cluster_traffic_policy.go `applyLoadBalancer`: `PASSTHROUGH` makes an ORIGINAL_DST cluster;
/// nothing is picked, the request goes to the caller's original destination (not a local reply).
#[test]
fn passthrough_picks_no_endpoint() {
    let m = fixture("{loadBalancer: {simple: PASSTHROUGH}}");
    for path in ["/", "/v1", "/all"] {
        let request = req(path, &[]);
        let d = m.route_with(&request, &sidecar(), &mut FastRng::from_seed(1));
        assert_eq!(d.outcome(), Outcome::Route);
        assert!(d.endpoint().is_none(), "{path}");
        assert_eq!(d.no_endpoint(), Some(NoEndpoint::Passthrough), "{path}");
        assert_eq!(d.local_status(), None, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Policy precedence
// ---------------------------------------------------------------------------------------------

/// util.go `MergeSubsetTrafficPolicy`: a subset's `loadBalancer` replaces the top-level one for
/// routes to that subset only. Top-level RANDOM (random_lb.cc `peekOrChoose`: one draw, `r % n`),
/// subset v2 ROUND_ROBIN (one priority draw per pick, then the index; clusters start at the seed
/// `xxhash64("<host>|<subset>|<port>")`).
#[test]
fn subset_load_balancer_overrides_the_top_level_one() {
    let m = fixture_with(
        "{loadBalancer: {simple: RANDOM}}",
        "{loadBalancer: {simple: ROUND_ROBIN}}",
    );
    let mut rng = FastRng::from_seed(77);
    let mut mirror = FastRng::from_seed(77);
    let mut rr = RoundRobin::new(&[1, 1, 1], rr_seed(HOST, Some("v2"), 8080));
    let v2: Vec<String> = (0..30)
        .map(|_| pick(&m, &req("/", &[]), &mut rng).unwrap())
        .collect();
    let expected: Vec<String> = (0..30)
        .map(|_| V2[rr.pick(&mut mirror).unwrap()].to_owned())
        .collect();
    assert_eq!(v2, expected);
    // Round robin: each pick is the endpoint after the previous one.
    for pair in v2.windows(2) {
        let a = V2.iter().position(|e| *e == pair[0]).unwrap();
        let b = V2.iter().position(|e| *e == pair[1]).unwrap();
        assert_eq!(b, (a + 1) % 3, "{v2:?}");
    }

    // v1 and the whole host keep the top-level RANDOM.
    for (path, endpoints) in [("/v1", &V1[..]), ("/all", &ALL[..])] {
        for _ in 0..50 {
            let expected = endpoints[random::pick(endpoints.len(), &mut mirror).unwrap()];
            assert_eq!(
                pick(&m, &req(path, &[]), &mut rng).as_deref(),
                Some(expected),
                "{path}"
            );
        }
    }
}

/// The port fixture: two ports; top-level RANDOM with outlier detection (one 5xx ejects) and a
/// port-level ROUND_ROBIN for 9090; subset v2's policy is only a port-level ROUND_ROBIN for 8080.
const PORTS: &str = r"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ports}
spec:
  hosts: [ports.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 8080, name: http, protocol: HTTP}
  - {number: 9090, name: http-admin, protocol: HTTP}
  endpoints:
  - {address: 10.0.3.1, labels: {version: v2}}
  - {address: 10.0.3.2, labels: {version: v2}}
  - {address: 10.0.3.3, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ports}
spec:
  host: ports.example.com
  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    outlierDetection: {consecutive5xxErrors: 1, maxEjectionPercent: 100}
    portLevelSettings:
    - port: {number: 9090}
      loadBalancer: {simple: ROUND_ROBIN}
  subsets:
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 8080}
        loadBalancer: {simple: ROUND_ROBIN}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ports}
spec:
  hosts: [ports.example.com]
  http:
  - match: [{uri: {prefix: /v2}}]
    route: [{destination: {host: ports.example.com, subset: v2}}]
  - route: [{destination: {host: ports.example.com}}]
";

/// util.go `GetPortLevelTrafficPolicy` and `MergeSubsetTrafficPolicy`, destination_rule.proto
/// `TrafficPolicy.port_level_settings`: a `portLevelSettings` entry for the port replaces
/// loadBalancer, connectionPool, outlierDetection and tls as a whole, so the top-level outlier
/// detection does not apply on that port; a subset's port-level entry replaces all four too; a
/// subset policy that sets nothing for a port inherits the (port-level) top-level components.
#[test]
fn port_level_settings_replace_components_as_a_whole() {
    let m = mesh(PORTS);
    let host = "ports.example.com";
    let addresses =
        |port: u16| -> Vec<String> { (1..=3).map(|i| format!("10.0.3.{i}:{port}")).collect() };
    // (path, port, subset, round robin?, outlier detection?)
    let cases = [
        ("/", 8080, None, false, true),
        ("/", 9090, None, true, false),
        ("/v2", 8080, Some("v2"), true, false),
        ("/v2", 9090, Some("v2"), true, false),
    ];
    for (path, port, subset, round_robin, outlier) in cases {
        let label = format!("{path} on {port}");
        let endpoints = addresses(port);
        let request = Request::get(format!("http://{host}:{port}{path}"))
            .body(())
            .unwrap();
        let mut rng = FastRng::from_seed(21);
        let mut mirror = FastRng::from_seed(21);
        let mut rr = RoundRobin::new(&[1, 1, 1], rr_seed(host, subset, port));
        for _ in 0..30 {
            let d = m.route_with(&request, &sidecar(), &mut rng);
            assert_eq!(d.destination().unwrap().subset, subset, "{label}");
            assert_eq!(d.destination().unwrap().port, Some(port), "{label}");
            let index = if round_robin {
                rr.pick(&mut mirror).unwrap()
            } else {
                random::pick(3, &mut mirror).unwrap()
            };
            assert_eq!(addr(&d).unwrap(), endpoints[index], "{label}");
        }

        // Outlier detection: one 5xx ejects where it applies; ten do nothing elsewhere.
        let t0 = Instant::now();
        let target = endpoints[0].clone();
        let d = decision_on(&m, &request, &target);
        for _ in 0..10 {
            m.report(&d, Reported::Status(503), t0);
        }
        let mut rng = FastRng::from_seed(5);
        let seen: BTreeSet<String> = (0..200)
            .map(|_| pick(&m, &request, &mut rng).unwrap())
            .collect();
        assert_eq!(seen.contains(&target), !outlier, "{label}: {seen:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Round robin and least request
// ---------------------------------------------------------------------------------------------

/// Envoy round robin, unweighted path (round_robin_lb.h `unweightedHostPick`): with equal weights
/// each pick takes the next endpoint, so every window of `n` picks visits each endpoint exactly
/// once.
#[test]
fn round_robin_equal_weights_visits_every_endpoint_once_per_cycle() {
    let m = fixture("{loadBalancer: {simple: ROUND_ROBIN}}");
    let mut rng = FastRng::from_seed(4);
    let picks: Vec<String> = (0..60)
        .map(|_| pick(&m, &req("/all", &[]), &mut rng).unwrap())
        .collect();
    for window in picks.windows(6) {
        let distinct: BTreeSet<&String> = window.iter().collect();
        assert_eq!(distinct.len(), 6, "{window:?}");
    }
    let start = ALL.iter().position(|e| *e == picks[0]).unwrap();
    let expected_start = usize::try_from(rr_seed(HOST, None, 8080) % 6).unwrap();
    assert_eq!(start, expected_start, "the cluster's seed picks the start");
    for (i, p) in picks.iter().enumerate() {
        assert_eq!(p, ALL[(start + i) % 6], "list order");
    }
}

/// The weights fixture: a ServiceEntry selecting three WorkloadEntries of weights `weights`.
fn weighted_workloads(weights: &[u32], traffic_policy: &str) -> Mesh {
    let mut yaml = String::new();
    for (i, w) in weights.iter().enumerate() {
        yaml.push_str(&format!(
            "apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{name: we-{i}, namespace: default}}
spec: {{address: 10.0.4.{}, labels: {{app: weighted}}, weight: {w}}}
---
",
            i + 1
        ));
    }
    yaml.push_str(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: weighted, namespace: default}
spec:
  hosts: [weighted.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: weighted}}
",
    );
    if !traffic_policy.is_empty() {
        yaml.push_str(&format!(
            "---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: weighted, namespace: default}}
spec:
  host: weighted.example.com
  trafficPolicy: {traffic_policy}
"
        ));
    }
    mesh(&yaml)
}

/// The weights fixture with ServiceEntry endpoint `weight`s instead of WorkloadEntries.
fn weighted_endpoints(weights: &[u32], traffic_policy: &str) -> Mesh {
    let mut yaml = String::from(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: weighted, namespace: default}
spec:
  hosts: [weighted.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  endpoints:
",
    );
    for (i, w) in weights.iter().enumerate() {
        yaml.push_str(&format!("  - {{address: 10.0.4.{}, weight: {w}}}\n", i + 1));
    }
    if !traffic_policy.is_empty() {
        yaml.push_str(&format!(
            "---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: weighted, namespace: default}}
spec:
  host: weighted.example.com
  trafficPolicy: {traffic_policy}
"
        ));
    }
    mesh(&yaml)
}

/// Per-endpoint share (in [0, 1]) of `n` picks on the weights fixture, in endpoint order.
fn shares(mesh: &Mesh, endpoints: usize, n: usize, seed: u64) -> Vec<f64> {
    let request = Request::get("http://weighted.example.com:8080/")
        .body(())
        .unwrap();
    let counts = counts(mesh, &request, n, &mut FastRng::from_seed(seed));
    (1..=endpoints)
        .map(|i| {
            let c = counts
                .get(&format!("10.0.4.{i}:8080"))
                .copied()
                .unwrap_or(0);
            c as f64 / n as f64
        })
        .collect()
}

/// Asserts that `got[i]` is within `points` percentage points of `weights[i] / total`.
fn assert_converges(got: &[f64], weights: &[u32], points: f64) {
    let total: u32 = weights.iter().sum();
    for (share, weight) in got.iter().zip(weights) {
        let want = f64::from(*weight) / f64::from(total);
        assert!(
            (share - want).abs() * 100.0 <= points,
            "shares {got:?} for weights {weights:?}"
        );
    }
}

/// Envoy round robin, weighted path (EDF scheduler, edf_scheduler.h `EdfScheduler`): with unequal
/// WorkloadEntry `weight`s each endpoint's share of picks converges to weight / total.
#[test]
fn weighted_round_robin_converges_to_workload_entry_weights() {
    let weights = [1, 2, 5];
    let m = weighted_workloads(&weights, "{loadBalancer: {simple: ROUND_ROBIN}}");
    let endpoints = m.endpoints("weighted.example.com", None, 8080).unwrap();
    let got: Vec<u32> = endpoints.iter().map(|e| e.weight).collect();
    assert_eq!(got, weights);
    assert_converges(&shares(&m, 3, 8000, 1), &weights, 0.1);
}

/// cluster_traffic_policy.go `defaultLBAlgorithm`: with no DestinationRule the algorithm is
/// LEAST_REQUEST (Istio ≥ 1.14); least_request_lb.cc `unweightedHostPickNChoices`, the P2C path
/// (equal weights): two samples with replacement, the one with strictly fewer active requests wins,
/// so an idle endpoint wins whenever it is sampled. Requests are counted active from
/// `Mesh::start_request` until the guard drops.
#[test]
fn default_least_request_avoids_busy_endpoints() {
    let m = mesh(
        r"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: lr}
spec:
  hosts: [lr.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.5.1}, {address: 10.0.5.2}, {address: 10.0.5.3}]
",
    );
    let endpoints = ["10.0.5.1:8080", "10.0.5.2:8080", "10.0.5.3:8080"];
    let request = Request::get("http://lr.example.com:8080/")
        .body(())
        .unwrap();

    // A random source that records what it hands out, to see what P2C sampled.
    struct Recording(FastRng, Vec<u64>);
    impl Rng for Recording {
        fn next_u64(&mut self) -> u64 {
            let v = self.0.next_u64();
            self.1.push(v);
            v
        }
    }

    // Idle: the pick is exactly Envoy's P2C over zero active requests.
    let mut rng = FastRng::from_seed(13);
    let mut mirror = FastRng::from_seed(13);
    let mut model = LeastRequest::new(&[1, 1, 1], LeastRequestConfig::default(), 0);
    for _ in 0..200 {
        let expected = endpoints[model.pick(&[0, 0, 0], &mut mirror).unwrap()];
        assert_eq!(pick(&m, &request, &mut rng).as_deref(), Some(expected));
    }

    // Two requests in flight on .1, one on .2; .3 idle.
    let on_1 = decision_on(&m, &request, endpoints[0]);
    let on_2 = decision_on(&m, &request, endpoints[1]);
    let guards = vec![
        m.start_request(&on_1).unwrap(),
        m.start_request(&on_1).unwrap(),
        m.start_request(&on_2).unwrap(),
    ];
    let mut recording = Recording(FastRng::from_seed(17), Vec::new());
    let mut mirror = FastRng::from_seed(17);
    let mut idle_wins = 0;
    for _ in 0..1000 {
        recording.1.clear();
        let d = m.route_with(&request, &sidecar(), &mut recording);
        let picked = addr(&d).unwrap();
        // Draws: priority, then two samples.
        assert_eq!(recording.1.len(), 3);
        let sampled: Vec<usize> = recording.1[1..]
            .iter()
            .map(|r| usize::try_from(r % 3).unwrap())
            .collect();
        if sampled.contains(&2) {
            assert_eq!(picked, endpoints[2], "the idle endpoint wins when sampled");
            idle_wins += 1;
        } else if sampled.contains(&1) {
            assert_eq!(picked, endpoints[1], "fewer active requests win");
        } else {
            assert_eq!(picked, endpoints[0]);
        }
        let expected = endpoints[model.pick(&[2, 1, 0], &mut mirror).unwrap()];
        assert_eq!(picked, expected);
    }
    // P(.3 sampled at least once) = 1 - (2/3)^2 = 5/9.
    assert!((500..610).contains(&idle_wins), "{idle_wins}");

    // Requests end: counts return to zero and picks are uniform again.
    drop(guards);
    let mut rng = FastRng::from_seed(19);
    let mut mirror = FastRng::from_seed(19);
    for _ in 0..200 {
        let expected = endpoints[model.pick(&[0, 0, 0], &mut mirror).unwrap()];
        assert_eq!(pick(&m, &request, &mut rng).as_deref(), Some(expected));
    }
}

/// least_request_lb.cc `unweightedHostPickNChoices` with two endpoints, one busy: P2C keeps the
/// busy one only when both samples hit it (probability 1/4).
#[test]
fn least_request_idle_endpoint_wins_whenever_sampled() {
    let m = mesh(
        r"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: lr2}
spec:
  hosts: [lr2.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.6.1}, {address: 10.0.6.2}]
",
    );
    let request = Request::get("http://lr2.example.com:8080/")
        .body(())
        .unwrap();
    let busy = decision_on(&m, &request, "10.0.6.1:8080");
    let _guard = m.start_request(&busy).unwrap();
    let counts = counts(&m, &request, 4000, &mut FastRng::from_seed(23));
    let idle = counts["10.0.6.2:8080"];
    assert!((2850..3150).contains(&idle), "{counts:?}");
}

// ---------------------------------------------------------------------------------------------
// Outlier detection
// ---------------------------------------------------------------------------------------------

/// cluster_traffic_policy.go `applyOutlierDetection` and outlier_detection_impl.cc
/// (`DetectorImpl::ejectHost`, `checkHostForUneject`): `consecutive5xxErrors: 5` ejects the
/// endpoint on the fifth consecutive 5xx (a success resets the count); it is not picked until an
/// interval sweep finds `baseEjectionTime` elapsed (sweeps every 10s from the first report: at +30s
/// only 29s have passed, at +40s it is back). Each subset is its own cluster with its own detector,
/// so the host's cluster still uses the endpoint.
#[test]
fn outlier_detection_ejects_after_consecutive_5xx_and_returns_after_base_ejection_time() {
    let m = fixture(
        "{outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 100}}",
    );
    let target = V2[1];
    let request = req("/", &[]);
    let seen = |rng_seed: u64, request: &Request<()>| -> BTreeSet<String> {
        let mut rng = FastRng::from_seed(rng_seed);
        (0..1000)
            .map(|_| pick(&m, request, &mut rng).unwrap())
            .collect()
    };
    let all_v2: BTreeSet<String> = V2.iter().map(|s| (*s).to_owned()).collect();
    let t0 = Instant::now();
    let d = decision_on(&m, &request, target);

    // Four 5xx, a success, four more: never five in a row.
    for _ in 0..4 {
        m.report(&d, Reported::Status(503), t0);
    }
    m.report(&d, Reported::Success, t0);
    for _ in 0..4 {
        m.report(&d, Reported::Status(500), t0);
    }
    assert_eq!(seen(1, &request), all_v2);

    // The fifth in a row ejects.
    m.report(&d, Reported::Status(502), t0 + Duration::from_secs(1));
    let without: BTreeSet<String> = [V2[0], V2[2]].iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(seen(2, &request), without);
    assert!(
        seen(3, &req("/all", &[])).contains(target),
        "other clusters unaffected"
    );

    m.tick(t0 + Duration::from_secs(30));
    assert_eq!(seen(4, &request), without, "29s after the ejection");
    m.tick(t0 + Duration::from_secs(40));
    assert_eq!(seen(5, &request), all_v2, "back after baseEjectionTime");
}

/// The `minHealthPercent` fixture: v2 (three endpoints) with one 5xx ejecting.
fn panic_fixture(min_health_percent: &str) -> Mesh {
    fixture(&format!(
        "{{loadBalancer: {{simple: RANDOM}}, outlierDetection: {{consecutive5xxErrors: 1, maxEjectionPercent: 100{min_health_percent}}}}}"
    ))
}

/// cluster_traffic_policy.go `applyOutlierDetection` (`minHealthPercent` becomes Envoy's
/// `healthy_panic_threshold`) and load_balancer_impl.cc `LoadBalancerBase::isHostSetInPanic`
/// (panic: when the healthy share is under the threshold, balance over all endpoints). Three
/// endpoints at 60%: one ejected leaves 67% healthy (the ejected one is avoided); two ejected leave
/// 33%, so every endpoint is used again.
#[test]
fn min_health_percent_panic_uses_every_endpoint() {
    let m = panic_fixture(", minHealthPercent: 60");
    let request = req("/", &[]);
    let t0 = Instant::now();
    let all_v2: BTreeSet<String> = V2.iter().map(|s| (*s).to_owned()).collect();
    let seen = |seed: u64| -> BTreeSet<String> {
        let mut rng = FastRng::from_seed(seed);
        (0..500)
            .map(|_| pick(&m, &request, &mut rng).unwrap())
            .collect()
    };

    let d = decision_on(&m, &request, V2[0]);
    m.report(&d, Reported::Status(500), t0);
    let two: BTreeSet<String> = [V2[1], V2[2]].iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(seen(1), two, "67% healthy is not panic");

    let d = decision_on(&m, &request, V2[1]);
    m.report(&d, Reported::Status(500), t0);
    assert_eq!(
        seen(2),
        all_v2,
        "33% healthy < 60%: panic uses every endpoint"
    );
}

/// cluster_traffic_policy.go `applyOutlierDetection`: without `minHealthPercent` the threshold is 0
/// (panic disabled), so ejected endpoints stay out even when few remain, and with every endpoint
/// ejected there is no healthy upstream (503 `UH`).
#[test]
fn without_min_health_percent_there_is_no_panic() {
    let m = panic_fixture("");
    let request = req("/", &[]);
    let t0 = Instant::now();
    for target in [V2[0], V2[1]] {
        let d = decision_on(&m, &request, target);
        m.report(&d, Reported::Status(500), t0);
    }
    let mut rng = FastRng::from_seed(1);
    for _ in 0..500 {
        assert_eq!(pick(&m, &request, &mut rng).as_deref(), Some(V2[2]));
    }
    let d = decision_on(&m, &request, V2[2]);
    m.report(&d, Reported::Status(500), t0);
    let d = m.route_with(&request, &sidecar(), &mut rng);
    assert!(d.endpoint().is_none());
    assert_eq!(d.no_endpoint(), Some(NoEndpoint::NoHealthyUpstream));
    assert_eq!(d.local_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
}

// ---------------------------------------------------------------------------------------------
// Endpoint updates
// ---------------------------------------------------------------------------------------------

const K8S_SVC: &str = r"apiVersion: v1
kind: Service
metadata: {name: svc, namespace: default}
spec:
  selector: {app: svc}
  ports: [{name: http, port: 8080, targetPort: 8080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc, namespace: default}
spec:
  host: svc
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc, namespace: default}
spec:
  hosts: [svc]
  http:
  - match: [{uri: {prefix: /v1}}]
    route: [{destination: {host: svc, subset: v1}}]
  - match: [{uri: {prefix: /v2}}]
    route: [{destination: {host: svc, subset: v2}}]
  - route: [{destination: {host: svc}}]
";

const SVC_FQDN: &str = "svc.default.svc.cluster.local";

fn versioned(address: &str, version: &str) -> Endpoint {
    Endpoint::new(address.parse().unwrap(), 8080).with_labels([("version", version)])
}

/// `Mesh::set_endpoints` replaces a host's endpoints on a port for every cluster of it; each
/// subset refilters by its labels (as EDS pushes do in Istio). An unknown host or port is an
/// error.
#[test]
fn set_endpoints_replaces_endpoints_and_subsets_refilter() {
    let m = mesh(K8S_SVC);
    let svc_request = |path: &str| {
        Request::get(format!("http://svc:8080{path}"))
            .body(())
            .unwrap()
    };

    // No pods: known and empty, so no healthy upstream.
    let request = svc_request("/");
    let d = m.route_with(&request, &sidecar(), &mut FastRng::from_seed(1));
    assert_eq!(d.no_endpoint(), Some(NoEndpoint::NoHealthyUpstream));

    m.set_endpoints(
        SVC_FQDN,
        8080,
        &[
            versioned("10.9.0.1", "v1"),
            versioned("10.9.0.2", "v2"),
            versioned("10.9.0.3", "v1"),
            versioned("10.9.0.4", "v2"),
        ],
    )
    .unwrap();
    assert_eq!(
        endpoint_addresses(&m, SVC_FQDN, None, 8080),
        [
            "10.9.0.1:8080",
            "10.9.0.2:8080",
            "10.9.0.3:8080",
            "10.9.0.4:8080"
        ]
    );
    assert_eq!(
        endpoint_addresses(&m, SVC_FQDN, Some("v1"), 8080),
        ["10.9.0.1:8080", "10.9.0.3:8080"]
    );
    assert_eq!(
        endpoint_addresses(&m, SVC_FQDN, Some("v2"), 8080),
        ["10.9.0.2:8080", "10.9.0.4:8080"]
    );
    let mut rng = FastRng::from_seed(2);
    let v1 = counts(&m, &svc_request("/v1"), 300, &mut rng);
    assert_eq!(
        v1.keys().collect::<Vec<_>>(),
        ["10.9.0.1:8080", "10.9.0.3:8080"]
    );
    let all = counts(&m, &svc_request("/"), 300, &mut rng);
    assert_eq!(all.len(), 4);

    // A second replacement: v2 now has nothing, v1 one new endpoint.
    m.set_endpoints(SVC_FQDN, 8080, &[versioned("10.9.1.1", "v1")])
        .unwrap();
    assert_eq!(
        endpoint_addresses(&m, SVC_FQDN, Some("v1"), 8080),
        ["10.9.1.1:8080"]
    );
    assert_eq!(
        endpoint_addresses(&m, SVC_FQDN, Some("v2"), 8080),
        Vec::<String>::new()
    );
    let request = svc_request("/v2");
    let d = m.route_with(&request, &sidecar(), &mut rng);
    assert_eq!(d.no_endpoint(), Some(NoEndpoint::NoHealthyUpstream));
    assert_eq!(d.local_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(
        pick(&m, &svc_request("/v1"), &mut rng).as_deref(),
        Some("10.9.1.1:8080")
    );

    // Host names are case-insensitive; unknown hosts and ports are errors.
    m.set_endpoints(
        "SVC.default.svc.cluster.local",
        8080,
        &[versioned("10.9.2.1", "v2")],
    )
    .unwrap();
    assert_eq!(
        endpoint_addresses(&m, SVC_FQDN, Some("v2"), 8080),
        ["10.9.2.1:8080"]
    );
    let err = m
        .set_endpoints("nope.default.svc.cluster.local", 8080, &[])
        .unwrap_err();
    assert_eq!(
        (err.host.as_str(), err.port),
        ("nope.default.svc.cluster.local", 8080)
    );
    assert!(
        err.to_string()
            .starts_with("no cluster for nope.default.svc.cluster.local:8080")
    );
    let err = m.set_endpoints(SVC_FQDN, 9999, &[]).unwrap_err();
    assert_eq!(err.port, 9999);
}

/// `Mesh::set_endpoints` swaps atomically (an `ArcSwap` per cluster): while one thread
/// alternates between two endpoint sets, concurrent picks always see one whole set, never fail,
/// and a subset's pick always carries the subset's labels.
#[test]
fn set_endpoints_swaps_atomically_under_concurrent_routing() {
    let m = mesh(K8S_SVC);
    let a = [versioned("10.8.0.1", "v1"), versioned("10.8.0.2", "v2")];
    let b = [
        versioned("10.8.1.1", "v1"),
        versioned("10.8.1.2", "v2"),
        versioned("10.8.1.3", "v1"),
    ];
    m.set_endpoints(SVC_FQDN, 8080, &a).unwrap();
    let allowed: BTreeSet<String> = a.iter().chain(&b).map(|e| e.address.clone()).collect();

    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..1000 {
                let set: &[Endpoint] = if i % 2 == 0 { &b } else { &a };
                m.set_endpoints(SVC_FQDN, 8080, set).unwrap();
            }
        });
        for t in 0..4_u64 {
            let m = &m;
            let allowed = &allowed;
            scope.spawn(move || {
                let requests = [
                    Request::get("http://svc:8080/").body(()).unwrap(),
                    Request::get("http://svc:8080/v1").body(()).unwrap(),
                ];
                let mut rng = FastRng::from_seed(t);
                for i in 0..10_000 {
                    let request = &requests[i % 2];
                    let d = m.route_with(request, &sidecar(), &mut rng);
                    let endpoint = d.endpoint().expect("every pick succeeds");
                    assert!(allowed.contains(&endpoint.address), "{}", endpoint.address);
                    if i % 2 == 1 {
                        assert_eq!(endpoint.labels["version"], "v1");
                    }
                    // Exercise the least-request counters against swapped snapshots.
                    drop(m.start_request(&d));
                }
            });
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Convergence properties
// ---------------------------------------------------------------------------------------------

/// Envoy weighted round robin (edf_scheduler.h `EdfScheduler`): over random weights (2-6 endpoints,
/// weights 1-20 as ServiceEntry endpoint `weight`s), 5,000 picks give every endpoint weight / total
/// of the picks within 2 percentage points.
#[test]
fn prop_weighted_round_robin_converges_to_the_weights() {
    runner(24, 31)
        .run(&prop::collection::vec(1_u32..=20, 2..=6), |weights| {
            let m = weighted_endpoints(&weights, "{loadBalancer: {simple: ROUND_ROBIN}}");
            assert_converges(&shares(&m, weights.len(), 5000, 7), &weights, 2.0);
            Ok(())
        })
        .unwrap();
}

/// Envoy weighted least request (least_request_lb.cc `hostWeight`: EDF with `weight / (active +
/// 1)`), Istio's default: with no request in flight the dynamic weight is the weight, so over
/// random WorkloadEntry weights (2-6 endpoints, 1-20) 5,000 picks converge to weight / total within
/// 2 percentage points.
#[test]
fn prop_weighted_least_request_converges_to_the_weights() {
    runner(24, 32)
        .run(&prop::collection::vec(1_u32..=20, 2..=6), |weights| {
            let m = weighted_workloads(&weights, "");
            assert_converges(&shares(&m, weights.len(), 5000, 8), &weights, 2.0);
            Ok(())
        })
        .unwrap();
}

/// A report for a decision made before `Mesh::set_endpoints` replaced the endpoint set concerns
/// an endpoint that may no longer exist; it must not count against whichever new endpoint has
/// the same index.
#[test]
fn stale_reports_after_set_endpoints_are_dropped() {
    let m = mesh(&format!(
        "{K8S_SVC}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc-od, namespace: default}}
spec:
  host: svc
  trafficPolicy:
    outlierDetection: {{consecutive5xxErrors: 1, maxEjectionPercent: 100}}
"
    ));
    m.set_endpoints(
        SVC_FQDN,
        8080,
        &[versioned("10.7.0.1", "v1"), versioned("10.7.0.2", "v1")],
    )
    .unwrap();
    let request = Request::get("http://svc:8080/").body(()).unwrap();
    let before = decision_on(&m, &request, "10.7.0.1:8080");
    m.set_endpoints(
        SVC_FQDN,
        8080,
        &[versioned("10.7.1.1", "v1"), versioned("10.7.1.2", "v1")],
    )
    .unwrap();
    m.report(&before, Reported::Status(503), Instant::now());
    let seen = counts(&m, &request, 200, &mut FastRng::from_seed(1));
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        ["10.7.1.1:8080", "10.7.1.2:8080"]
    );
}
