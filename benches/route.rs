//! Route decision time: the seed scenario, and tables of 10/100/1,000 routes where the request
//! matches the last route, each next to a naive baseline in the same run.
//!
//! The baseline is a straightforward linear evaluator over the config structs (regexes compiled
//! up front, everything else done per request the obvious way: query parsed into a map, header
//! names lowercased). Read meshroute's figures as a ratio to it. The seed group also has the
//! decision written by hand (`HandWritten`): what the seed VirtualService and DestinationRule
//! do, as a service would code it without a mesh. Its decision with an endpoint pick is
//! measured with `route_with` and with `route_cached` (a `PickCache`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use meshroute::LoadOptions;
use meshroute::config::{Body, HttpRoute, StringMatch, VirtualService};
use meshroute::{Endpoint, FastRng, Mesh, Rng, Source};
use regex::Regex;

fn compile(yaml: &str) -> (Mesh, VirtualService) {
    let loaded = meshroute::from_str(yaml, &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let vs = loaded
        .resources
        .iter()
        .rev()
        .find_map(|r| match &r.body {
            Body::VirtualService(vs) if r.name() != "demo" => Some((**vs).clone()),
            _ => None,
        })
        .unwrap();
    (meshroute::compile(loaded.resources).unwrap(), vs)
}

fn table(routes: usize) -> String {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big}\nspec:\n  hosts: [big]\n  http:\n",
    );
    for i in 0..routes {
        let kind = if i + 1 == routes { 3 } else { i % 4 };
        let matcher = match kind {
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

/// A VirtualService of `routes` path routes, alternately exact (`/r{i}`) and prefix
/// (`/p{i}/`), the kind of table a gateway or API front has.
fn path_table(routes: usize) -> String {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big}\nspec:\n  hosts: [big]\n  http:\n",
    );
    for i in 0..routes {
        let matcher = if i % 2 == 0 {
            format!("uri: {{exact: /r{i}}}")
        } else {
            format!("uri: {{prefix: /p{i}/}}")
        };
        text.push_str(&format!(
            "  - name: r{i}\n    match:\n    - {matcher}\n    route:\n    - destination: {{host: big}}\n"
        ));
    }
    text
}

/// The baseline: walk the config routes in order, the obvious way.
struct Naive {
    vs: VirtualService,
    regexes: HashMap<String, Regex>,
}

impl Naive {
    fn new(vs: VirtualService) -> Self {
        let mut regexes = HashMap::new();
        for route in &vs.http {
            for m in route.matches.iter().flatten() {
                let all = m
                    .uri
                    .iter()
                    .chain(m.headers.values().flatten())
                    .chain(m.query_params.values().flatten());
                for sm in all {
                    if let Some(r) = &sm.regex {
                        regexes.insert(r.clone(), Regex::new(&format!("^(?:{r})$")).unwrap());
                    }
                }
            }
        }
        Self { vs, regexes }
    }

    fn string_match(&self, m: &StringMatch, value: &str) -> bool {
        if let Some(e) = &m.exact {
            value == e
        } else if let Some(p) = &m.prefix {
            value.starts_with(p.as_str())
        } else if let Some(r) = &m.regex {
            self.regexes[r].is_match(value)
        } else {
            true
        }
    }

    fn route<B>(&self, req: &http::Request<B>) -> Option<(&HttpRoute, String)> {
        let query: HashMap<String, String> = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let headers: HashMap<String, String> = req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_lowercase(),
                    v.to_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let path = req.uri().path();
        for route in &self.vs.http {
            let hit = route.matches.is_empty()
                || route.matches.iter().flatten().any(|m| {
                    m.uri.as_ref().is_none_or(|u| self.string_match(u, path))
                        && m.headers.iter().all(|(k, v)| {
                            headers
                                .get(&k.to_lowercase())
                                .is_some_and(|h| v.as_ref().is_none_or(|v| self.string_match(v, h)))
                        })
                        && m.query_params.iter().all(|(k, v)| {
                            query
                                .get(k)
                                .is_some_and(|q| v.as_ref().is_none_or(|v| self.string_match(v, q)))
                        })
                });
            if hit {
                let dest = route.route.first()?.destination.as_ref()?;
                return Some((route, format!("{}.default.svc.cluster.local", dest.host)));
            }
        }
        None
    }
}

/// The seed scenario written by hand over `http::Request`: a request to `svc-b` whose query has
/// `name=xx` goes to v2, any other to v1, and the endpoint is a random one of the subset's.
struct HandWritten {
    v1: Vec<Endpoint>,
    v2: Vec<Endpoint>,
}

impl HandWritten {
    fn route<'a, B>(&'a self, req: &http::Request<B>, rng: &mut FastRng) -> Option<&'a Endpoint> {
        if req.uri().host() != Some("svc-b") {
            return None;
        }
        let canary = req.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|pair| pair.split_once('=') == Some(("name", "xx")))
        });
        let pool = if canary { &self.v2 } else { &self.v1 };
        let index = rng.next_u64().checked_rem(pool.len() as u64)?;
        pool.get(index as usize)
    }
}

fn seed_yaml(files: &[&str]) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed");
    files
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

fn seed(c: &mut Criterion) {
    // The routing resources and the Services, without the Deployments: the same decision with
    // no endpoint known, so no pick. (Without the Services, svc-b is no service of the mesh and
    // a sidecar passes its requests through: another decision altogether.)
    let services: Vec<String> = seed_yaml(&["demo.yaml"])
        .split("\n---\n")
        .filter(|doc| doc.contains("\nkind: Service\n"))
        .map(str::to_owned)
        .collect();
    let (mesh, vs) = compile(&format!(
        "{}\n---\n{}",
        services.join("\n---\n"),
        seed_yaml(&["demo-gateway.yaml", "destination-rule-svc-b-canary.yaml"])
    ));
    // With the Kubernetes manifests: the decision includes the endpoint pick (RANDOM for svc-b,
    // LEAST_REQUEST for svc-a).
    let (full, _) = compile(&seed_yaml(&[
        "demo.yaml",
        "demo-gateway.yaml",
        "destination-rule-svc-b-canary.yaml",
    ]));
    let naive = Naive::new(vs);
    let svc_b = "svc-b.default.svc.cluster.local";
    let hand = HandWritten {
        v1: full.endpoints(svc_b, Some("v1"), 8080).unwrap(),
        v2: full.endpoints(svc_b, Some("v2"), 8080).unwrap(),
    };
    let sidecar = Source::sidecar("default");
    let gateway = Source::gateway("default/demo-gateway");
    let xx = http::Request::get("http://svc-b:8080/greet?name=xx")
        .body(())
        .unwrap();
    let other = http::Request::get("http://svc-b:8080/greet?name=yy")
        .body(())
        .unwrap();
    let greet = http::Request::get("http://localhost/greet?name=xx")
        .body(())
        .unwrap();
    assert!(mesh.route(&xx, &sidecar).endpoint().is_none());
    let subset = |m: &meshroute::Mesh, r: &http::Request<()>| {
        m.route(r, &sidecar)
            .destination()
            .and_then(|d| d.subset.map(str::to_owned))
    };
    assert_eq!(subset(&mesh, &xx).as_deref(), Some("v2"));
    assert_eq!(subset(&mesh, &other).as_deref(), Some("v1"));
    assert_eq!(subset(&full, &xx).as_deref(), Some("v2"));
    assert!(full.route(&xx, &sidecar).endpoint().is_some());
    let mut rng = FastRng::from_seed(1);
    assert_eq!(
        hand.route(&xx, &mut rng).map(|e| &e.labels),
        full.route(&xx, &sidecar).endpoint().map(|e| &e.labels)
    );
    let mut group = c.benchmark_group("route/seed");
    group.bench_function(
        "hand-written match + endpoint pick (baseline, name=xx)",
        |b| b.iter(|| black_box(hand.route(black_box(&xx), &mut rng).is_some())),
    );
    group.bench_function("naive baseline (name=xx)", |b| {
        b.iter(|| black_box(naive.route(black_box(&xx))))
    });
    group.bench_function("sidecar name=xx -> v2", |b| {
        b.iter(|| {
            black_box(
                mesh.route_with(black_box(&xx), &sidecar, &mut rng)
                    .destination(),
            )
        })
    });
    group.bench_function("sidecar name=yy -> v1", |b| {
        b.iter(|| {
            black_box(
                mesh.route_with(black_box(&other), &sidecar, &mut rng)
                    .destination(),
            )
        })
    });
    group.bench_function("gateway /greet -> svc-a", |b| {
        b.iter(|| {
            black_box(
                mesh.route_with(black_box(&greet), &gateway, &mut rng)
                    .destination(),
            )
        })
    });
    group.bench_function("sidecar name=xx -> v2 + endpoint pick (RANDOM)", |b| {
        b.iter(|| {
            black_box(
                full.route_with(black_box(&xx), &sidecar, &mut rng)
                    .endpoint()
                    .is_some(),
            )
        })
    });
    let mut cache = meshroute::PickCache::new();
    group.bench_function(
        "sidecar name=xx -> v2 + endpoint pick (RANDOM), PickCache",
        |b| {
            b.iter(|| {
                black_box(
                    full.route_cached(black_box(&xx), &sidecar, &mut rng, &mut cache)
                        .endpoint()
                        .is_some(),
                )
            })
        },
    );
    group.bench_function(
        "gateway /greet -> svc-a + endpoint pick (LEAST_REQUEST)",
        |b| {
            b.iter(|| {
                black_box(
                    full.route_with(black_box(&greet), &gateway, &mut rng)
                        .endpoint()
                        .is_some(),
                )
            })
        },
    );
    group.finish();
}

fn linear(c: &mut Criterion) {
    let mut group = c.benchmark_group("route/last_of_n");
    let source = Source::sidecar("default");
    for n in [10usize, 100, 1000] {
        let (mesh, vs) = compile(&table(n));
        let naive = Naive::new(vs);
        // The last route is a query match.
        let req = http::Request::get(format!("http://big/x?name=n{}", n - 1))
            .body(())
            .unwrap();
        assert!(naive.route(&req).is_some());
        let mut rng = FastRng::from_seed(1);
        assert_eq!(
            mesh.route_with(&req, &source, &mut rng)
                .route()
                .map(|r| r.index),
            Some(n - 1)
        );
        group.bench_with_input(BenchmarkId::new("naive baseline", n), &req, |b, req| {
            b.iter(|| black_box(naive.route(black_box(req)).is_some()))
        });
        group.bench_with_input(BenchmarkId::new("meshroute", n), &req, |b, req| {
            b.iter(|| {
                black_box(
                    mesh.route_with(black_box(req), &source, &mut rng)
                        .destination(),
                )
            })
        });
    }
    group.finish();
}

/// Path tables of 10 and 1,000 routes: the last exact route, the last prefix route, and a path
/// no route matches (404). Large tables answer through their path index.
fn paths(c: &mut Criterion) {
    let mut group = c.benchmark_group("route/paths");
    let source = Source::sidecar("default");
    for n in [10usize, 1000] {
        let (mesh, _) = compile(&path_table(n));
        let last_exact = format!("http://big/r{}", n - 2);
        let last_prefix = format!("http://big/p{}/x", n - 1);
        for (name, uri, expected) in [
            ("last exact", last_exact, Some(n - 2)),
            ("last prefix", last_prefix, Some(n - 1)),
            ("no match", "http://big/none".to_owned(), None),
        ] {
            let req = http::Request::get(uri).body(()).unwrap();
            let mut rng = FastRng::from_seed(1);
            assert_eq!(
                mesh.route_with(&req, &source, &mut rng)
                    .route()
                    .map(|r| r.index),
                expected
            );
            group.bench_with_input(BenchmarkId::new(name, n), &req, |b, req| {
                b.iter(|| black_box(mesh.route_with(black_box(req), &source, &mut rng).outcome()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, seed, linear, paths);
criterion_main!(benches);
