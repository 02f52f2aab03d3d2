//! The seed scenario's svc-b as the API server returns it, and the decision a sidecar makes.
#![allow(unreachable_pub, dead_code)]

use meshroute::{FastRng, Outcome, SharedMesh, Source};
use serde_json::{Value, json};

pub const ISTIO: &str = "networking.istio.io/v1";

pub fn service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "svc-b", "namespace": "default", "labels": {"app": "demo-b"}},
           "spec": {"selector": {"app": "demo-b"}, "clusterIP": "10.96.0.12",
                    "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}],
                    "sessionAffinity": "None", "type": "ClusterIP"}})
}

pub fn pod(name: &str, version: &str, ip: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "default",
                        "labels": {"app": "demo-b", "version": version},
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                             "name": format!("demo-b-{version}-5d9f"), "uid": "x",
                                             "controller": true}]},
           "spec": {"containers": [{"name": "app", "image": "demo-b:1",
                                    "ports": [{"containerPort": 8080, "protocol": "TCP"}]}],
                    "nodeName": "node-1"},
           "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                      "conditions": [{"type": "Ready", "status": "True"}]}})
}

/// The EndpointSlice the Kubernetes controller keeps for svc-b, listing `pods` (name, IP).
pub fn endpoint_slice(pods: &[(&str, &str)]) -> Value {
    let endpoints: Vec<Value> = pods
        .iter()
        .map(|(name, ip)| {
            json!({"addresses": [ip], "conditions": {"ready": true, "serving": true, "terminating": false},
                   "nodeName": "node-1",
                   "targetRef": {"kind": "Pod", "namespace": "default", "name": name, "uid": "y"}})
        })
        .collect();
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "svc-b-abcde", "namespace": "default",
                        "labels": {"kubernetes.io/service-name": "svc-b",
                                   "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
           "addressType": "IPv4",
           "endpoints": endpoints,
           "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
}

pub fn destination_rule() -> Value {
    json!({"apiVersion": ISTIO, "kind": "DestinationRule",
           "metadata": {"name": "svc-b", "namespace": "default"},
           "spec": {"host": "svc-b", "trafficPolicy": {"loadBalancer": {"simple": "RANDOM"}},
                    "subsets": [{"name": "v1", "labels": {"version": "v1"}},
                                {"name": "v2", "labels": {"version": "v2"}}]}})
}

/// The seed's canary: `name=xx` to v2, everything else to v1.
pub fn canary() -> Value {
    json!({"apiVersion": ISTIO, "kind": "VirtualService",
           "metadata": {"name": "svc-b", "namespace": "default"},
           "spec": {"hosts": ["svc-b"], "http": [
               {"match": [{"queryParams": {"name": {"exact": "xx"}}}],
                "route": [{"destination": {"host": "svc-b", "subset": "v2"}}]},
               {"route": [{"destination": {"host": "svc-b", "subset": "v1"}}]}]}})
}

pub fn weighted(v1: u32, v2: u32) -> Value {
    json!({"apiVersion": ISTIO, "kind": "VirtualService",
           "metadata": {"name": "svc-b", "namespace": "default"},
           "spec": {"hosts": ["svc-b"], "http": [{"route": [
               {"destination": {"host": "svc-b", "subset": "v1"}, "weight": v1},
               {"destination": {"host": "svc-b", "subset": "v2"}, "weight": v2}]}]}})
}

/// The decision for `uri` from a sidecar in `default`: the subset and the endpoint's address.
pub fn decide(mesh: &SharedMesh, uri: &str, seed: u64) -> (Option<String>, Option<String>) {
    let mesh = mesh.load();
    let request = http::Request::get(uri).body(()).unwrap();
    let decision = mesh.route_with(
        &request,
        &Source::sidecar("default"),
        &mut FastRng::from_seed(seed),
    );
    assert!(
        matches!(
            decision.outcome(),
            Outcome::Route | Outcome::NoVirtualService
        ),
        "{uri}: {:?}",
        decision.outcome()
    );
    (
        decision
            .destination()
            .and_then(|d| d.subset.map(str::to_owned)),
        decision.endpoint().map(|e| e.address.clone()),
    )
}

/// Share of `n` decisions for a plain request that go to subset v2.
pub fn v2_share(mesh: &SharedMesh, n: u64) -> f64 {
    let v2 = (0..n)
        .filter(|seed| decide(mesh, "http://svc-b:8080/greet", *seed).0.as_deref() == Some("v2"))
        .count();
    v2 as f64 / n as f64
}
