//! `Mesh::explain` on the seed scenario, pinned as text snapshots: a change in the trace is a
//! change in behaviour or wording and must be looked at.

use meshroute::{FastRng, Mesh, Source};

use crate::common::{CANARY, get, seed_mesh};

fn explain(mesh: &Mesh, url: &str, source: &Source) -> String {
    let request = get(url);
    let (decision, explanation) = mesh.explain(&request, source, &mut FastRng::from_seed(1));
    // The trace and the plain decision agree.
    let plain = mesh.route_with(&request, source, &mut FastRng::from_seed(1));
    assert_eq!(
        serde_json::to_value(decision.report()).unwrap(),
        serde_json::to_value(plain.report()).unwrap()
    );
    explanation.to_string()
}

#[test]
fn gateway_greet_to_svc_a() {
    let text = explain(
        &seed_mesh(&CANARY),
        "http://localhost/greet?name=xx",
        &Source::gateway("default/demo-gateway"),
    );
    assert_eq!(
        text,
        "gateway default/demo-gateway calls localhost
  VirtualService default/demo: routes tried
    default/demo http[0] match #0: MATCHED
  => route to svc-a.default.svc.cluster.local port 8080, endpoint 10.253.250.78:8080"
    );
}

#[test]
fn sidecar_name_xx_to_v2() {
    let text = explain(
        &seed_mesh(&CANARY),
        "http://svc-b:8080/greet?name=xx",
        &Source::sidecar("default"),
    );
    assert_eq!(
        text,
        "sidecar in namespace default calls svc-b:8080
  VirtualService default/svc-b: applies
    default/svc-b http[0] match #0: MATCHED
  => route to svc-b.default.svc.cluster.local subset v2 port 8080, endpoint 10.190.121.17:8080"
    );
}

#[test]
fn sidecar_name_yy_falls_through_to_v1() {
    let text = explain(
        &seed_mesh(&CANARY),
        "http://svc-b:8080/greet?name=yy",
        &Source::sidecar("default"),
    );
    assert_eq!(
        text,
        "sidecar in namespace default calls svc-b:8080
  VirtualService default/svc-b: applies
    default/svc-b http[0] match #0: queryParams.name: exact \"xx\" ≠ \"yy\"
    default/svc-b http[1] no match conditions: MATCHED
  => route to svc-b.default.svc.cluster.local subset v1 port 8080, endpoint 10.102.55.239:8080"
    );
}

/// The flag lost on the way (svc-a did not propagate it): the trace says so.
#[test]
fn sidecar_without_name_shows_the_missing_flag() {
    let text = explain(
        &seed_mesh(&CANARY),
        "http://svc-b:8080/greet",
        &Source::sidecar("default"),
    );
    assert!(
        text.contains(
            "default/svc-b http[0] match #0: queryParams.name: absent (wants exact \"xx\")"
        ),
        "{text}"
    );
}

#[test]
fn gateway_unknown_path_is_404() {
    let text = explain(
        &seed_mesh(&CANARY),
        "http://localhost/nothing",
        &Source::gateway("default/demo-gateway"),
    );
    assert_eq!(
        text,
        "gateway default/demo-gateway calls localhost
  VirtualService default/demo: routes tried
    default/demo http[0] match #0: uri: exact \"/greet\" ≠ \"/nothing\"
  => no route matched: Envoy answers 404 (NR)"
    );
}

#[test]
fn host_without_virtual_service_is_default_routing() {
    let text = explain(
        &seed_mesh(&CANARY),
        "http://svc-a:8080/greet",
        &Source::sidecar("default"),
    );
    assert_eq!(
        text,
        "sidecar in namespace default calls svc-a:8080
  => no VirtualService applies: default routing to svc-a.default.svc.cluster.local port 8080, endpoint 10.253.250.78:8080"
    );
}
