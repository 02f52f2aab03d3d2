//! The seed scenario (`examples/seed`): gateway → svc-a → svc-b v1/v2, through `Mesh::route`.

use meshroute::{FastRng, Outcome, Source};

use crate::common::{CANARY, WEIGHTED, get, seed_mesh};

/// demo-gateway.yaml: through the gateway, `exact: /greet` goes to svc-a:8080.
#[test]
fn gateway_greet_goes_to_svc_a() {
    let mesh = seed_mesh(&CANARY);
    let req = get("http://localhost/greet?name=xx");
    let d = mesh.route(&req, &Source::gateway("default/demo-gateway"));
    assert_eq!(d.outcome(), Outcome::Route);
    assert_eq!(d.virtual_service(), Some("default/demo"));
    let dest = d.destination().unwrap();
    assert_eq!(dest.host, "svc-a.default.svc.cluster.local");
    assert_eq!(dest.port, Some(8080));
    assert_eq!(dest.subset, None);
    // Any other path: the gateway has a virtual host but no route: 404 NR.
    let req = get("http://localhost/other");
    let d = mesh.route(&req, &Source::gateway("default/demo-gateway"));
    assert_eq!(d.outcome(), Outcome::NoRoute);
    assert_eq!(d.local_status(), Some(http::StatusCode::NOT_FOUND));
}

/// destination-rule-svc-b-canary.yaml: `name=xx` goes 0/100 to v1/v2, everything else to v1.
#[test]
fn sidecar_name_xx_goes_to_v2_else_v1() {
    let mesh = seed_mesh(&CANARY);
    let source = Source::sidecar("default").with_labels([("app", "demo-a"), ("version", "v1")]);
    let mut rng = FastRng::from_seed(1);
    for _ in 0..1000 {
        let req = get("http://svc-b:8080/greet?name=xx");
        let d = mesh.route_with(&req, &source, &mut rng);
        let dest = d.destination().unwrap();
        assert_eq!(
            (dest.host, dest.subset, dest.port),
            ("svc-b.default.svc.cluster.local", Some("v2"), Some(8080))
        );
        assert_eq!(d.route().unwrap().index, 0);
        assert!(dest.cluster_exists);
    }
    for url in [
        "http://svc-b:8080/greet?name=yy",
        "http://svc-b:8080/greet",
        "http://svc-b:8080/greet?name=XX",
        "http://svc-b:8080/greet?other=1&name=xx",
    ] {
        let req = get(url);
        let d = mesh.route(&req, &source);
        let dest = d.destination().unwrap();
        let expected = if url.ends_with("other=1&name=xx") {
            "v2"
        } else {
            "v1"
        };
        assert_eq!(dest.subset, Some(expected), "{url}");
    }
}

/// destination-rule-svc-b-weighted.yaml: 5/95 over 100,000 seeded picks within ±0.5 points.
#[test]
fn weighted_file_splits_5_95() {
    let mesh = seed_mesh(&WEIGHTED);
    let source = Source::sidecar("default");
    let mut rng = FastRng::from_seed(7);
    let req = get("http://svc-b:8080/greet?name=xx");
    let mut v1 = 0u32;
    let n = 100_000;
    for _ in 0..n {
        if mesh
            .route_with(&req, &source, &mut rng)
            .destination()
            .unwrap()
            .subset
            == Some("v1")
        {
            v1 += 1;
        }
    }
    let share = f64::from(v1) / f64::from(n) * 100.0;
    assert!((share - 5.0).abs() < 0.5, "v1 share {share}%");
}
