//! `Mesh::route` allocates nothing: a counting global allocator watches every allocation this
//! thread makes while routing (after one warm-up call, which lets the regex engine create its
//! per-thread match cache).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
// A global allocator is unsafe to implement; this one only counts and forwards to `System`.
// The library itself forbids unsafe code.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use meshroute::{FastRng, Mesh, Outcome, PickCache, Source};

use common::{CANARY, mesh, seed_mesh};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: forwards to the system allocator with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: as for `alloc`/`dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

/// 100 routes mixing uri prefix, exact header, regex and query matches, each split 90/10.
fn hundred_routes() -> String {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big}\nspec:\n  hosts: [big]\n  http:\n",
    );
    for i in 0..100 {
        let matcher = match i % 4 {
            0 => format!("uri: {{prefix: /api/v{i}/}}"),
            1 => format!("headers: {{x-user: {{exact: user-{i}}}}}"),
            2 => format!("uri: {{regex: \"/items/[0-9]+/r{i}\"}}"),
            _ => format!("queryParams: {{name: {{exact: n{i}}}}}"),
        };
        text.push_str(&format!(
            "  - name: r{i}\n    match:\n    - {matcher}\n    route:\n    - destination: {{host: big, subset: v1}}\n      weight: 90\n    - destination: {{host: big, subset: v2}}\n      weight: 10\n"
        ));
    }
    text.push_str("---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: big}\nspec:\n  host: big\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}\n");
    text
}

fn assert_no_allocations(
    mesh: &Mesh,
    request: &http::Request<()>,
    source: &Source,
    expect: Outcome,
) {
    let mut rng = FastRng::from_seed(3);
    let warm = mesh.route_with(request, source, &mut rng);
    assert_eq!(warm.outcome(), expect, "{}", request.uri());
    let count = allocations(|| {
        for _ in 0..100 {
            let decision = mesh.route_with(request, source, &mut rng);
            std::hint::black_box(decision.destination());
        }
    });
    assert_eq!(
        count,
        0,
        "{} allocated {count} times in 100 decisions",
        request.uri()
    );
}

#[test]
fn seed_decisions_allocate_nothing() {
    let mesh = seed_mesh(&CANARY);
    let sidecar = Source::sidecar("default").with_labels([("app", "demo-a")]);
    for url in [
        "http://svc-b:8080/greet?name=xx",
        "http://svc-b:8080/greet?name=yy",
        "http://svc-b.default.svc.cluster.local/",
    ] {
        let req = http::Request::get(url).body(()).unwrap();
        assert_no_allocations(&mesh, &req, &sidecar, Outcome::Route);
    }
    let req = http::Request::get("http://unknown.example.com/")
        .body(())
        .unwrap();
    assert_no_allocations(&mesh, &req, &sidecar, Outcome::NoVirtualService);
    let gateway = Source::gateway("default/demo-gateway");
    let req = http::Request::get("/greet?name=xx")
        .header("host", "localhost")
        .body(())
        .unwrap();
    assert_no_allocations(&mesh, &req, &gateway, Outcome::Route);
    let req = http::Request::get("http://localhost/nothing")
        .body(())
        .unwrap();
    assert_no_allocations(&mesh, &req, &gateway, Outcome::NoRoute);
}

/// Gateway decisions that end before any route allocate nothing either: no server on the port,
/// no TLS server for the name, no virtual host for the host, and the redirect to https.
#[test]
fn gateway_listener_decisions_allocate_nothing() {
    let mesh = mesh(
        "apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [example.org]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [example.org]
    tls: {mode: SIMPLE, credentialName: example-cert}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: site, namespace: default}
spec:
  hosts: [example.org]
  gateways: [gw]
  http:
  - route: [{destination: {host: site.example.org}}]
",
    );
    let gateway = Source::gateway("default/gw");
    for (url, outcome) in [
        ("http://example.org/a?b=c", Outcome::Redirect),
        ("https://example.org/a", Outcome::Route),
        ("http://example.org:8080/", Outcome::NoRoute),
        ("https://other.org/", Outcome::NoRoute),
        ("http://other.org/", Outcome::NoRoute),
    ] {
        let req = http::Request::get(url).body(()).unwrap();
        assert_no_allocations(&mesh, &req, &gateway, outcome);
    }
}

#[test]
fn hundred_route_decisions_allocate_nothing() {
    let mesh = mesh(&hundred_routes());
    let source = Source::sidecar("default");
    for req in [
        // Matches the last route: every matcher kind is evaluated on the way.
        http::Request::get("http://big/x?name=n99")
            .body(())
            .unwrap(),
        http::Request::get("http://big/items/42/r98")
            .body(())
            .unwrap(),
        http::Request::get("http://big/x")
            .header("x-user", "user-97")
            .header("x-user", "again")
            .body(())
            .unwrap(),
        http::Request::get("http://big/api/v96/y").body(()).unwrap(),
    ] {
        let expect = if req.headers().contains_key("x-user") {
            Outcome::NoRoute
        } else {
            Outcome::Route
        };
        assert_no_allocations(&mesh, &req, &source, expect);
    }
}

/// The counter itself works: an allocation inside the window is seen.
#[test]
fn the_counter_sees_allocations() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 16]))) >= 1);
}

/// A ServiceEntry with `n` endpoints, a DestinationRule with one subset per load balancer and a
/// VirtualService routing by the `x-lb` header to them.
fn balanced(n: usize) -> String {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: pool}\nspec:\n  hosts: [pool.example.com]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  endpoints:\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "  - {{address: 10.0.{}.{}, labels: {{app: pool}}, weight: {}}}\n",
            i / 250,
            i % 250 + 1,
            i % 3 + 1
        ));
    }
    text.push_str(
        "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: pool}\nspec:\n  host: pool.example.com\n  subsets:\n",
    );
    for (name, lb) in [
        ("rr", "{simple: ROUND_ROBIN}"),
        ("lr", "{simple: LEAST_REQUEST}"),
        ("random", "{simple: RANDOM}"),
        ("ring", "{consistentHash: {httpHeaderName: x-user}}"),
        (
            "maglev",
            "{consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 65537}}}",
        ),
        ("source", "{consistentHash: {useSourceIp: true}}"),
    ] {
        text.push_str(&format!(
            "  - name: {name}\n    labels: {{app: pool}}\n    trafficPolicy: {{loadBalancer: {lb}}}\n"
        ));
    }
    text.push_str("---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: pool}\nspec:\n  hosts: [pool.example.com]\n  http:\n");
    for name in ["rr", "lr", "random", "ring", "maglev", "source"] {
        text.push_str(&format!(
            "  - match: [{{headers: {{x-lb: {{exact: {name}}}}}}}]\n    route: [{{destination: {{host: pool.example.com, subset: {name}}}}}]\n"
        ));
    }
    text
}

/// Picking the endpoint (every load balancer) allocates nothing either.
#[test]
fn endpoint_picks_allocate_nothing() {
    let mesh = mesh(&balanced(100));
    let source = Source::sidecar("default").with_ip("192.0.2.7".parse().unwrap());
    for lb in ["rr", "lr", "random", "ring", "maglev", "source"] {
        let req = http::Request::get("http://pool.example.com/")
            .header("x-lb", lb)
            .header("x-user", "alice")
            .body(())
            .unwrap();
        let mut rng = FastRng::from_seed(3);
        let warm = mesh.route_with(&req, &source, &mut rng);
        assert!(warm.endpoint().is_some(), "{lb}: no endpoint");
        let count = allocations(|| {
            for _ in 0..100 {
                let d = mesh.route_with(&req, &source, &mut rng);
                std::hint::black_box(d.endpoint());
            }
        });
        assert_eq!(count, 0, "{lb} allocated {count} times in 100 picks");
        // Through a `PickCache`: its slot is made by the first pick, none after.
        let mut cache = PickCache::new();
        let warm = mesh.route_cached(&req, &source, &mut rng, &mut cache);
        assert!(
            warm.endpoint().is_some(),
            "{lb}: no endpoint through the cache"
        );
        drop(warm);
        let count = allocations(|| {
            for _ in 0..100 {
                let d = mesh.route_cached(&req, &source, &mut rng, &mut cache);
                std::hint::black_box(d.endpoint());
            }
        });
        assert_eq!(count, 0, "{lb} allocated {count} times in 100 cached picks");
    }
}

/// TCP and TLS rules over a ServiceEntry with endpoints: weighted tcp destinations with subnets,
/// tls rules with exact and wildcard SNI hosts, and a TLS passthrough gateway.
const STREAMS: &str = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db}
spec:
  hosts: [db.internal]
  addresses: [192.168.7.7]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  endpoints: [{address: 10.0.0.1}, {address: 10.0.0.2}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: example}
spec:
  hosts: ['*.example.com']
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db.internal]
  tcp:
  - match: [{sourceLabels: {app: nobody}}, {destinationSubnets: [10.0.0.0/8]}]
    route: [{destination: {host: db.internal}}]
  - route:
    - {destination: {host: db.internal}, weight: 90}
    - {destination: {host: db.internal, port: {number: 5432}}, weight: 10}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: example}
spec:
  hosts: ['*.example.com']
  gateways: [mesh, edge]
  tls:
  - match: [{sniHosts: ['*.example.com']}]
    route: [{destination: {host: db.internal}}]
  - match: [{sniHosts: [api.example.com]}, {sniHosts: [api.example.com]}]
    route: [{destination: {host: db.internal}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: tls, protocol: TLS}
    tls: {mode: PASSTHROUGH}
    hosts: ['*.example.com']
";

/// `Mesh::route_connection` allocates nothing either: sidecar tcp and tls rules, a gateway,
/// and the endpoint pick.
#[test]
fn connection_decisions_allocate_nothing() {
    let mesh = mesh(STREAMS);
    let sidecar = Source::sidecar("default").with_labels([("app", "client")]);
    let gateway = Source::gateway("default/edge");
    let cases = [
        (meshroute::Connection::tcp("db.internal", 5432), &sidecar),
        (meshroute::Connection::tcp("192.168.7.7", 5432), &sidecar),
        (meshroute::Connection::tls("api.example.com", 443), &sidecar),
        (meshroute::Connection::tls("www.example.com", 443), &sidecar),
        (meshroute::Connection::tls("API.Example.com", 443), &gateway),
        (meshroute::Connection::tcp("unknown", 1), &sidecar),
    ];
    for (connection, source) in cases {
        let mut rng = FastRng::from_seed(3);
        let warm = mesh.route_connection(&connection, source, &mut rng);
        if connection.port() != 1 {
            assert_eq!(warm.outcome(), Outcome::Route, "{connection}");
        }
        let count = allocations(|| {
            for _ in 0..100 {
                let d = mesh.route_connection(&connection, source, &mut rng);
                std::hint::black_box(d.endpoint());
            }
        });
        assert_eq!(
            count, 0,
            "{connection} allocated {count} times in 100 decisions"
        );
    }
}

/// The tower layers' own allocations per request, after a warm-up: requests are built and
/// responses dropped outside the count, the inner service allocates nothing and answers at once,
/// and each call is polled to completion by hand (no runtime in the count).
#[cfg(feature = "tower")]
mod layers {
    use std::convert::Infallible;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use http::{Request, Response};
    use meshroute::service::{Dispatch, OutboundLayer};
    use meshroute::{Endpoint, SharedMesh, Source};
    use tower::{Layer, Service, service_fn};

    use super::allocations;

    type Body = http_body_util::Empty<bytes::Bytes>;

    const CONFIG: &str = "apiVersion: v1
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
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
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
    retries: {attempts: 0}
  - route: [{destination: {host: svc-b, subset: v1}}]
";

    /// The mesh of `CONFIG`; with `endpoints`, four pods known for svc-b (two per subset).
    fn shared(endpoints: bool) -> SharedMesh {
        let loaded = meshroute::from_str(CONFIG, &meshroute::LoadOptions::default());
        let mesh = SharedMesh::new(meshroute::compile(loaded.resources).unwrap());
        if endpoints {
            let endpoints = (1..=4u8)
                .map(|i| {
                    let version = if i % 2 == 0 { "v2" } else { "v1" };
                    Endpoint::new([127, 0, 0, i].into(), 8080).with_labels([("version", version)])
                })
                .collect();
            mesh.set_endpoints("svc-b.default.svc.cluster.local", 8080, endpoints)
                .unwrap();
        }
        mesh
    }

    /// An upstream that answers at once and allocates nothing.
    fn inner<B>() -> impl Service<
        Request<B>,
        Response = Response<Body>,
        Error = Infallible,
        Future = std::future::Ready<Result<Response<Body>, Infallible>>,
    > + Clone {
        service_fn(|_: Request<B>| std::future::ready(Ok(Response::new(Body::new()))))
    }

    /// An extension a server or router put on the request before (axum's `Router` puts
    /// several), so that the request's extension map exists already.
    #[derive(Clone)]
    struct Earlier;

    /// `n` requests to svc-b, with the canary header or not, with an extension map or bare.
    fn requests(n: usize, canary: bool, extensions: bool) -> Vec<Request<Body>> {
        (0..n)
            .map(|_| {
                let mut builder =
                    Request::get("http://svc-b:8080/api/items?page=2").header("accept", "*/*");
                if canary {
                    builder = builder.header("x-canary", "true");
                }
                if extensions {
                    builder = builder.extension(Earlier);
                }
                builder.body(Body::new()).unwrap()
            })
            .collect()
    }

    /// Allocations of `service` per request over 100 requests (after 10 warm-up calls).
    fn per_request<S>(mut service: S, canary: bool, extensions: bool) -> usize
    where
        S: Service<Request<Body>>,
        S::Future: Unpin,
    {
        let mut cx = Context::from_waker(Waker::noop());
        let mut run = |requests: Vec<Request<Body>>| {
            let mut responses = Vec::with_capacity(requests.len());
            let count = allocations(|| {
                for request in requests {
                    let mut future = service.call(request);
                    match std::pin::Pin::new(&mut future).poll(&mut cx) {
                        Poll::Ready(response) => responses.push(response.ok()),
                        Poll::Pending => panic!("the in-memory upstream answers at once"),
                    }
                }
            });
            assert!(responses.iter().all(Option::is_some));
            count
        };
        run(requests(10, canary, extensions));
        run(requests(100, canary, extensions)).div_ceil(100)
    }

    /// `Dispatch` allocates one thing of its own: the `RouteInfo` it puts in the request's
    /// extensions (its names are the mesh's shared strings). A bare request also gets http's
    /// extension map (two allocations); a picked endpoint's address is one more.
    #[test]
    fn dispatch_allocates_the_route_info_and_nothing_else() {
        for (endpoints, extensions, expected) in [
            (false, true, 1),
            (false, false, 3),
            (true, true, 2),
            (true, false, 4),
        ] {
            let dispatch = Dispatch::builder(shared(endpoints), "svc-b:8080")
                .subset("v1", inner())
                .subset("v2", inner())
                .build();
            for canary in [false, true] {
                let count = per_request(dispatch.clone(), canary, extensions);
                assert_eq!(
                    count, expected,
                    "Dispatch per request (endpoints {endpoints}, extension map {extensions})"
                );
            }
        }
    }

    /// `Outbound` on a route without policies (`retries: {attempts: 0}`, the canary route)
    /// allocates once: the `Host` header's value (the request's authority; the URI to the
    /// endpoint shares the endpoint's parsed authority and the request's path). On a route
    /// that can retry (Istio's default policy, the other route) it also boxes the exchange and
    /// keeps a copy of the request's head for the retry, as Envoy keeps the headers: the
    /// header map (three allocations for this one header), the extension map (two) and the
    /// URI's shared bytes (one).
    #[test]
    fn outbound_allocates_once_without_policies() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        let outbound = OutboundLayer::new(shared(true), Source::default()).layer(inner());
        let plain = per_request(outbound.clone(), true, true);
        let retrying = per_request(outbound, false, true);
        // The `metrics` feature counts each attempt under labelled keys (the cluster name is
        // made once per cluster and shared; each key's label list is one allocation).
        let statistics = if cfg!(feature = "metrics") { 2 } else { 0 };
        assert_eq!(plain, 1, "without policies");
        assert!(
            retrying <= 1 + 1 + 3 + 2 + 1 + statistics,
            "with a retry policy: {retrying}"
        );
    }
}
