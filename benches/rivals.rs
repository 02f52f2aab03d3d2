//! meshroute next to the crates a Rust service would otherwise reach for, each rival measured in
//! the same run as the meshroute figure it is compared with (read the ratios; the machine is
//! noisy). `benches/README.md` keeps the latest table and the command that produced it.
//!
//! - `rivals/paths`: path tables of 10 and 1,000 routes (alternately `uri: {exact: /r{i}}` and
//!   `uri: {prefix: /p{i}/}`) against `matchit` with the same paths (`/p{i}/{*rest}` for a
//!   prefix): the last exact route, the last prefix route, a path nothing matches. meshroute's
//!   figure is its whole decision (host lookup, VirtualService, route); matchit's is
//!   `Router::at` on the request's path. A one-route table measures the decision's fixed cost,
//!   so that a table's own cost can be read as the difference. A third row puts `matchit` behind
//!   a `HashMap<String, Router>` of 16 hosts probed with the request's host, what a service
//!   routing by host and path writes with it: the whole decision's like-for-like rival, as
//!   fetching the header is in `rivals/headers`. A fourth row does the same with an
//!   `FxHashMap` (`rustc-hash`, meshroute's own map), the quickest such rival.
//! - `rivals/headers`: 100 routes `headers: {x-tenant: {exact: t{i}}}` against one
//!   `HashMap<String, usize>` probe on the header value (with and without fetching the header).
//! - `rivals/maglev`, `rivals/ring`: a header-keyed pick (`consistentHash: {httpHeaderName:
//!   x-user}`) over 100 endpoints, against the `maglev` crate (65,537 slots, same 100 node names
//!   `10.0.0.i:8080`) and `pingora-ketama` (nginx's ketama ring, 160 points per node). meshroute's
//!   pick is its decision minus the same decision once the host's endpoints were set to none
//!   (`no endpoints`: same host, cluster, snapshot and balancer, stopped before the hash), each
//!   with `route_with` and with `route_cached` (a `PickCache`: no atomic read-modify-write to
//!   hold the cluster snapshot). The rivals fetch the header by name (`headers().get("x-user")`,
//!   which parses the name each time) and, in a second row, by a `HeaderName` parsed once, as
//!   meshroute does.
//! - `rivals/build`: the tables' builds: meshroute's `set_endpoints` + first pick (which builds
//!   the table) minus the same under `RANDOM`, against `maglev::Maglev::with_capacity` and
//!   `pingora_ketama::Continuum::new`.
//! - `rivals/least_request`: meshroute's `LEAST_REQUEST` (P2C) decision plus the in-flight count
//!   (`start_request`, dropped at once) against `tower::balance::p2c::Balance` over the same
//!   number of `PendingRequests`-wrapped in-memory services: `poll_ready` (the P2C choice) +
//!   `call` + polling the ready response once.
//! - `rivals/dispatch`: `Dispatch` against `tower::steer::Steer` whose picker does the same
//!   header / query check by hand, both in front of the same in-memory `service_fn`, driven on
//!   a tokio current-thread runtime (`ready` + `call` + `await`, no clone per request).
//! - `rivals/compile`: 1,000 and 10,000 routes shaped like a real VirtualService's (a URI prefix
//!   and an exact header, a 90/10 split between two subsets; the DestinationRule and the
//!   Kubernetes Service exist, so the configuration has no finding): `meshroute::compile` of
//!   resources already loaded, and load and compile from YAML. `benches/memory.rs` measures the
//!   memory the same tables retain.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::{Empty, Full};
use maglev::ConsistentHasher;
use meshroute::service::Dispatch;
use meshroute::{Endpoint, FastRng, LoadOptions, Mesh, PickCache, SharedMesh, Source};
use tokio::runtime::Runtime;
use tower::{Service, ServiceExt, service_fn};

fn compile(yaml: &str) -> Mesh {
    let loaded = meshroute::from_str(yaml, &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    meshroute::compile(loaded.resources).unwrap()
}

fn vs_header(routes: impl Iterator<Item = String>) -> String {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big}\nspec:\n  hosts: [big]\n  http:\n",
    );
    for (i, matcher) in routes.enumerate() {
        text.push_str(&format!(
            "  - name: r{i}\n    match:\n    - {matcher}\n    route:\n    - destination: {{host: big}}\n"
        ));
    }
    text
}

/// The same table as `route/paths` in `benches/route.rs`: alternately exact (`/r{i}`) and
/// prefix (`/p{i}/`).
fn path_table(routes: usize) -> String {
    vs_header((0..routes).map(|i| {
        if i % 2 == 0 {
            format!("uri: {{exact: /r{i}}}")
        } else {
            format!("uri: {{prefix: /p{i}/}}")
        }
    }))
}

fn matchit_table(routes: usize) -> matchit::Router<usize> {
    let mut router = matchit::Router::new();
    for i in 0..routes {
        if i % 2 == 0 {
            router.insert(format!("/r{i}"), i).unwrap();
        } else {
            router.insert(format!("/p{i}/{{*rest}}"), i).unwrap();
        }
    }
    router
}

/// `big` among 15 other hosts, each with a `matchit` table of `routes` routes, in a map hashed
/// by `S`.
fn host_map<S: BuildHasher + Default>(routes: usize) -> HashMap<String, matchit::Router<usize>, S> {
    std::iter::once("big".to_owned())
        .chain((1..16).map(|i| format!("svc-{i}")))
        .map(|host| (host, matchit_table(routes)))
        .collect()
}

/// The route of `req` in its host's `matchit` table.
fn route_by_host<S: BuildHasher>(
    hosts: &HashMap<String, matchit::Router<usize>, S>,
    req: &Request<()>,
) -> Option<usize> {
    let uri = req.uri();
    hosts
        .get(uri.host().unwrap_or(""))
        .and_then(|router| router.at(uri.path()).ok())
        .map(|m| *m.value)
}

fn paths(c: &mut Criterion) {
    let mut group = c.benchmark_group("rivals/paths");
    let source = Source::sidecar("default");
    let mut rng = FastRng::from_seed(1);
    // The fixed cost of a decision (authority, host, VirtualService, decision) around the table:
    // a one-route table whose route matches. A table's own cost is a figure minus this one.
    let one = compile(&path_table(1));
    let first = Request::get("http://big/r0").body(()).unwrap();
    assert_eq!(
        one.route_with(&first, &source, &mut rng)
            .route()
            .map(|r| r.index),
        Some(0)
    );
    group.bench_function("meshroute 1-route table (fixed cost)", |b| {
        b.iter(|| {
            black_box(
                one.route_with(black_box(&first), &source, &mut rng)
                    .outcome(),
            )
        })
    });
    for n in [10usize, 1000] {
        let mesh = compile(&path_table(n));
        let router = matchit_table(n);
        let hosts: HashMap<String, matchit::Router<usize>> = host_map(n);
        let fx_hosts: rustc_hash::FxHashMap<String, matchit::Router<usize>> = host_map(n);
        let by_host = |req: &Request<()>| route_by_host(&hosts, req);
        let by_host_fx = |req: &Request<()>| route_by_host(&fx_hosts, req);
        for (name, uri, expected) in [
            ("last exact", format!("http://big/r{}", n - 2), Some(n - 2)),
            (
                "last prefix",
                format!("http://big/p{}/x", n - 1),
                Some(n - 1),
            ),
            ("no match", "http://big/none".to_owned(), None),
        ] {
            let req = Request::get(uri).body(()).unwrap();
            assert_eq!(
                mesh.route_with(&req, &source, &mut rng)
                    .route()
                    .map(|r| r.index),
                expected
            );
            assert_eq!(router.at(req.uri().path()).ok().map(|m| *m.value), expected);
            assert_eq!(by_host(&req), expected);
            assert_eq!(by_host_fx(&req), expected);
            group.bench_with_input(
                BenchmarkId::new(format!("meshroute {name}"), n),
                &req,
                |b, req| {
                    b.iter(|| {
                        black_box(mesh.route_with(black_box(req), &source, &mut rng).outcome())
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new(format!("matchit {name}"), n),
                &req,
                |b, req| b.iter(|| black_box(router.at(black_box(req).uri().path()).ok())),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("matchit behind a host map {name}"), n),
                &req,
                |b, req| b.iter(|| black_box(by_host(black_box(req)))),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("matchit behind an FxHash host map {name}"), n),
                &req,
                |b, req| b.iter(|| black_box(by_host_fx(black_box(req)))),
            );
        }
    }
    group.finish();
}

fn headers(c: &mut Criterion) {
    const N: usize = 100;
    let mut group = c.benchmark_group("rivals/headers");
    let source = Source::sidecar("default");
    let mut rng = FastRng::from_seed(1);
    let mesh = compile(&vs_header(
        (0..N).map(|i| format!("headers: {{x-tenant: {{exact: t{i}}}}}")),
    ));
    let map: HashMap<String, usize> = (0..N).map(|i| (format!("t{i}"), i)).collect();
    for (name, tenant, expected) in [
        ("last", format!("t{}", N - 1), Some(N - 1)),
        ("no match", "t-none".to_owned(), None),
    ] {
        let req = Request::get("http://big/x")
            .header("x-tenant", tenant.as_str())
            .body(())
            .unwrap();
        assert_eq!(
            mesh.route_with(&req, &source, &mut rng)
                .route()
                .map(|r| r.index),
            expected
        );
        group.bench_function(format!("meshroute 100 routes, {name}"), |b| {
            b.iter(|| {
                black_box(
                    mesh.route_with(black_box(&req), &source, &mut rng)
                        .outcome(),
                )
            })
        });
        group.bench_function(format!("HashMap fetch header + probe, {name}"), |b| {
            b.iter(|| {
                let value = black_box(&req).headers().get("x-tenant");
                black_box(value.and_then(|v| map.get(v.to_str().ok()?)).copied())
            })
        });
        group.bench_function(format!("HashMap probe, {name}"), |b| {
            b.iter(|| black_box(map.get(black_box(tenant.as_str())).copied()))
        });
    }
    group.finish();
}

const HOST: &str = "svc.example.com";
const ENDPOINTS: usize = 100;
const MAGLEV: &str =
    "{loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 65537}}}}";
const RING: &str =
    "{loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 1024}}}}";
/// The ring pingora-ketama builds for 100 nodes: 160 points each.
const RING_16000: &str = "{loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 16000}}}}";

/// As in `benches/balance.rs`: a ServiceEntry for [`HOST`] with a DestinationRule.
fn balanced(traffic_policy: &str) -> Mesh {
    let yaml = format!(
        r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: svc, namespace: default}}
spec:
  hosts: [{HOST}]
  ports: [{{number: 8080, name: http, protocol: HTTP}}]
  resolution: STATIC
  endpoints: [{{address: 10.0.0.1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc, namespace: default}}
spec:
  host: {HOST}
  trafficPolicy: {traffic_policy}
"#
    );
    compile(&yaml)
}

fn address(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250 + 1) as u8))
}

fn endpoints(n: usize) -> Vec<Endpoint> {
    (0..n).map(|i| Endpoint::new(address(i), 8080)).collect()
}

/// The rivals' node names: the endpoints' `ip:port`, which is also meshroute's hash key.
fn node_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{}:8080", address(i))).collect()
}

fn buckets(n: usize) -> Vec<pingora_ketama::Bucket> {
    (0..n)
        .map(|i| pingora_ketama::Bucket::new(SocketAddr::new(address(i), 8080), 1))
        .collect()
}

fn keyed_request(host: &str) -> Request<()> {
    Request::get(format!("http://{host}:8080/"))
        .header("x-user", "alice")
        .body(())
        .unwrap()
}

/// meshroute's header-keyed pick over [`ENDPOINTS`] endpoints under each policy, and the
/// baseline it is read against: the same decision (same host, cluster and balancer) after the
/// host's endpoints were set to none, which stops before the hash and the table.
fn meshroute_picks(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    policies: &[(&str, &str)],
) {
    let source = Source::sidecar("default");
    let mut rng = FastRng::from_seed(1);
    let request = keyed_request(HOST);
    for (name, policy) in policies {
        let empty = balanced(policy);
        empty.set_endpoints(HOST, 8080, &[]).unwrap();
        let none = empty.route_with(&request, &source, &mut rng);
        assert!(none.endpoint().is_none() && none.no_endpoint().is_some());
        drop(none);
        group.bench_function(
            format!("meshroute decision, no endpoints (baseline), {name}"),
            |b| {
                b.iter(|| {
                    let decision = empty.route_with(black_box(&request), &source, &mut rng);
                    black_box(decision.endpoint().map(|e| e.port))
                })
            },
        );
        let mesh = balanced(policy);
        mesh.set_endpoints(HOST, 8080, &endpoints(ENDPOINTS))
            .unwrap();
        assert!(
            mesh.route_with(&request, &source, &mut rng)
                .endpoint()
                .is_some()
        );
        group.bench_function(format!("meshroute decision + pick, {name}"), |b| {
            b.iter(|| {
                let decision = mesh.route_with(black_box(&request), &source, &mut rng);
                black_box(decision.endpoint().map(|e| e.port))
            })
        });
        let mut cache = PickCache::new();
        group.bench_function(
            format!("meshroute decision + pick, {name}, PickCache"),
            |b| {
                b.iter(|| {
                    let decision =
                        mesh.route_cached(black_box(&request), &source, &mut rng, &mut cache);
                    black_box(decision.endpoint().map(|e| e.port))
                })
            },
        );
        let mut cache = PickCache::new();
        group.bench_function(
            format!("meshroute decision, no endpoints (baseline), {name}, PickCache"),
            |b| {
                b.iter(|| {
                    let decision =
                        empty.route_cached(black_box(&request), &source, &mut rng, &mut cache);
                    black_box(decision.endpoint().map(|e| e.port))
                })
            },
        );
    }
}

fn maglev_picks(c: &mut Criterion) {
    let mut group = c.benchmark_group("rivals/maglev");
    meshroute_picks(&mut group, &[("maglev 65537", MAGLEV)]);
    let names = node_names(ENDPOINTS);
    let request = keyed_request(HOST);
    let sip = maglev::Maglev::with_capacity(names.iter().map(String::as_str), 65537);
    let xxh = maglev::Maglev::with_capacity_and_hasher(
        names.iter().map(String::as_str),
        65537,
        xxhash_rust::xxh64::Xxh64Builder::new(0),
    );
    assert_eq!(sip.capacity(), 65537);
    group.bench_function("maglev crate, fetch header + get", |b| {
        b.iter(|| {
            let key = black_box(&request).headers().get("x-user");
            black_box(key.and_then(|k| sip.get(k.to_str().ok()?)).copied())
        })
    });
    let x_user = http::HeaderName::from_static("x-user");
    group.bench_function("maglev crate, fetch header by HeaderName + get", |b| {
        b.iter(|| {
            let key = black_box(&request).headers().get(&x_user);
            black_box(key.and_then(|k| sip.get(k.to_str().ok()?)).copied())
        })
    });
    group.bench_function("maglev crate, get", |b| {
        b.iter(|| black_box(sip.get(black_box("alice")).copied()))
    });
    group.bench_function("maglev crate (xxh64 hasher), fetch header + get", |b| {
        b.iter(|| {
            let key = black_box(&request).headers().get("x-user");
            black_box(key.and_then(|k| xxh.get(k.to_str().ok()?)).copied())
        })
    });
    group.finish();
}

fn ring_picks(c: &mut Criterion) {
    let mut group = c.benchmark_group("rivals/ring");
    meshroute_picks(
        &mut group,
        &[("ring 1024", RING), ("ring 16000", RING_16000)],
    );
    let request = keyed_request(HOST);
    let ring = pingora_ketama::Continuum::new(&buckets(ENDPOINTS));
    group.bench_function("pingora-ketama, fetch header + node", |b| {
        b.iter(|| {
            let key = black_box(&request).headers().get("x-user");
            black_box(key.and_then(|k| ring.node(k.as_bytes())))
        })
    });
    let x_user = http::HeaderName::from_static("x-user");
    group.bench_function("pingora-ketama, fetch header by HeaderName + node", |b| {
        b.iter(|| {
            let key = black_box(&request).headers().get(&x_user);
            black_box(key.and_then(|k| ring.node(k.as_bytes())))
        })
    });
    group.bench_function("pingora-ketama, node", |b| {
        b.iter(|| black_box(ring.node(black_box(b"alice"))))
    });
    group.finish();
}

fn builds(c: &mut Criterion) {
    let mut group = c.benchmark_group("rivals/build");
    group.sample_size(10);
    let source = Source::sidecar("default");
    let request = keyed_request(HOST);
    let mut rng = FastRng::from_seed(1);
    let hundred = endpoints(ENDPOINTS);
    for (name, policy) in [
        ("RANDOM (baseline)", "{loadBalancer: {simple: RANDOM}}"),
        ("maglev 65537", MAGLEV),
        ("ring 1024", RING),
        ("ring 16000", RING_16000),
    ] {
        let mesh = balanced(policy);
        group.bench_function(
            format!("meshroute set 100 endpoints + first pick, {name}"),
            |b| {
                b.iter(|| {
                    mesh.set_endpoints(HOST, 8080, black_box(&hundred)).unwrap();
                    let decision = mesh.route_with(&request, &source, &mut rng);
                    black_box(decision.endpoint().map(|e| e.port))
                })
            },
        );
    }
    let names = node_names(ENDPOINTS);
    group.bench_function("maglev crate, with_capacity 65537", |b| {
        b.iter(|| {
            let table =
                maglev::Maglev::with_capacity(black_box(&names).iter().map(String::as_str), 65537);
            black_box(table.get("alice").copied())
        })
    });
    let buckets = buckets(ENDPOINTS);
    group.bench_function("pingora-ketama, Continuum::new (16000 points)", |b| {
        b.iter(|| {
            let ring = pingora_ketama::Continuum::new(black_box(&buckets));
            black_box(ring.node(b"alice"))
        })
    });
    group.finish();
}

/// Polls `future` once with a no-op waker; the in-memory services here are always ready.
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory service was not ready"),
    }
}

fn least_request(c: &mut Criterion) {
    use tower::balance::p2c::Balance;
    use tower::discover::ServiceList;
    use tower::load::{CompleteOnResponse, PendingRequests};

    let mut group = c.benchmark_group("rivals/least_request");
    let source = Source::sidecar("default");
    let mut rng = FastRng::from_seed(1);
    let unknown = balanced("{loadBalancer: {simple: RANDOM}}");
    let no_pick = keyed_request("unknown.example.com");
    group.bench_function("meshroute decision, no pick (baseline)", |b| {
        b.iter(|| {
            black_box(
                unknown
                    .route_with(black_box(&no_pick), &source, &mut rng)
                    .outcome(),
            )
        })
    });
    let answer = || service_fn(|_: ()| std::future::ready(Ok::<_, Infallible>(7u32)));
    let mut bare = answer();
    group.bench_function("in-memory service alone (baseline)", |b| {
        b.iter(|| {
            poll_once(std::future::poll_fn(|cx| bare.poll_ready(cx))).unwrap();
            black_box(poll_once(bare.call(())))
        })
    });
    let request = keyed_request(HOST);
    for n in [10usize, 100] {
        let mesh = balanced("{loadBalancer: {simple: LEAST_REQUEST}}");
        mesh.set_endpoints(HOST, 8080, &endpoints(n)).unwrap();
        group.bench_with_input(
            BenchmarkId::new("meshroute decision + pick + in-flight count", n),
            &n,
            |b, _| {
                b.iter(|| {
                    let decision = mesh.route_with(black_box(&request), &source, &mut rng);
                    let active = mesh.start_request(&decision);
                    black_box(decision.endpoint().map(|e| e.port));
                    drop(black_box(active));
                })
            },
        );
        let services: Vec<_> = (0..n)
            .map(|_| PendingRequests::new(answer(), CompleteOnResponse::default()))
            .collect();
        let mut balance = Balance::new(ServiceList::new::<()>(services));
        group.bench_with_input(
            BenchmarkId::new("tower p2c Balance poll_ready + call", n),
            &n,
            |b, _| {
                b.iter(|| {
                    poll_once(std::future::poll_fn(|cx| balance.poll_ready(cx))).unwrap();
                    black_box(poll_once(balance.call(())).unwrap())
                })
            },
        );
    }
    group.finish();
}

const DISPATCH_CONFIG: &str = "apiVersion: v1
kind: Service
metadata: {name: svc-b}
spec:
  ports: [{port: 8080, name: http}]
  selector: {app: svc-b}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-b}
spec:
  host: svc-b
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-b}
spec:
  hosts: [svc-b]
  http:
  - match: [{headers: {x-canary: {exact: \"true\"}}}]
    route: [{destination: {host: svc-b, subset: v2}}]
  - match: [{queryParams: {name: {exact: xx}}}]
    route: [{destination: {host: svc-b, subset: v2}}]
  - route: [{destination: {host: svc-b, subset: v1}}]
";

type Body = Empty<Bytes>;

/// The in-memory workload: a fixed response, no I/O.
fn workload() -> impl Service<
    Request<Body>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    service_fn(|_request: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    })
}

/// The hand-written picker: the VirtualService's two matches, in order.
fn steer_pick<S>(request: &Request<Body>, _services: &[S]) -> usize {
    let canary = request
        .headers()
        .get("x-canary")
        .is_some_and(|v| v == "true")
        || request.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|pair| pair.split_once('=') == Some(("name", "xx")))
        });
    usize::from(canary)
}

fn canary_request() -> Request<Body> {
    Request::get("http://svc-b:8080/api/items?page=2")
        .header("x-canary", "true")
        .header("accept", "application/json")
        .body(Empty::new())
        .unwrap()
}

fn default_request() -> Request<Body> {
    Request::get("http://svc-b:8080/api/items?page=2")
        .header("accept", "application/json")
        .body(Empty::new())
        .unwrap()
}

/// `iters` requests through `service` (`ready` + `call` + `await`), without cloning it.
fn drive<S>(
    runtime: &Runtime,
    service: &mut S,
    request: fn() -> Request<Body>,
    iters: u64,
) -> Duration
where
    S: Service<Request<Body>>,
    S::Error: std::fmt::Debug,
{
    runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let response = service.ready().await.unwrap().call(request()).await;
            black_box(response.unwrap());
        }
        start.elapsed()
    })
}

fn dispatch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let loaded = meshroute::from_str(DISPATCH_CONFIG, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    let mesh = SharedMesh::new(meshroute::compile(loaded.resources).unwrap());
    let mut bare = workload();
    let mut dispatch = Dispatch::builder(mesh, "svc-b:8080")
        .subset("v1", workload())
        .subset("v2", workload())
        .with_rng(FastRng::from_seed(1))
        .build();
    let mut steer = tower::steer::Steer::new([workload(), workload()], steer_pick);
    runtime.block_on(async {
        for request in [canary_request(), default_request()] {
            let response = dispatch.ready().await.unwrap().call(request).await;
            assert_eq!(response.unwrap().status(), 200);
        }
    });
    let mut group = c.benchmark_group("rivals/dispatch");
    for (name, request) in [
        ("header -> v2", canary_request as fn() -> Request<Body>),
        ("default -> v1", default_request),
    ] {
        group.bench_function(format!("bare service (baseline), {name}"), |b| {
            b.iter_custom(|iters| drive(&runtime, &mut bare, request, iters));
        });
        group.bench_function(format!("meshroute Dispatch, {name}"), |b| {
            b.iter_custom(|iters| drive(&runtime, &mut dispatch, request, iters));
        });
        group.bench_function(format!("tower Steer, {name}"), |b| {
            b.iter_custom(|iters| drive(&runtime, &mut steer, request, iters));
        });
    }
    group.finish();
}

/// A VirtualService of `routes` routes shaped like a real one's — a URI prefix and an exact
/// header, split 90/10 between two subsets — a default route, the DestinationRule defining the
/// subsets and the Service (without it every destination is an analysis finding, which costs
/// compile time of its own). The same shape as `benches/memory.rs`.
fn real_routes(routes: usize) -> String {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big, namespace: default}\nspec:\n  hosts: [big]\n  http:\n",
    );
    for i in 0..routes {
        text.push_str(&format!(
            "  - name: r{i}\n    match:\n    - uri: {{prefix: /api/r{i}/}}\n      headers: {{x-tenant: {{exact: t{i}}}}}\n    route:\n    - destination: {{host: big, subset: v1}}\n      weight: 90\n    - destination: {{host: big, subset: v2}}\n      weight: 10\n"
        ));
    }
    text.push_str("  - route:\n    - destination: {host: big, subset: v1}\n");
    text.push_str("---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: big, namespace: default}\nspec:\n  host: big\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}\n");
    text.push_str("---\napiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: default}\nspec:\n  ports: [{port: 8080, name: http}]\n  selector: {app: big}\n");
    text
}

fn compile_routes(c: &mut Criterion) {
    let mut group = c.benchmark_group("rivals/compile");
    group.sample_size(10);
    let options = LoadOptions::default();
    for n in [1_000usize, 10_000] {
        let text = real_routes(n);
        let loaded = meshroute::from_str(&text, &options);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        group.bench_with_input(BenchmarkId::new("compile (loaded)", n), &n, |b, _| {
            b.iter_batched(
                || loaded.resources.clone(),
                |resources| meshroute::compile(black_box(resources)).unwrap(),
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("load + compile", n), &n, |b, _| {
            b.iter_with_large_drop(|| {
                let loaded = meshroute::from_str(black_box(&text), &options);
                meshroute::compile(loaded.resources).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    paths,
    headers,
    maglev_picks,
    ring_picks,
    builds,
    least_request,
    dispatch,
    compile_routes
);
criterion_main!(benches);
