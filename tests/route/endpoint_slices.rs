//! Kubernetes `discovery.k8s.io/v1` `EndpointSlice`s as a Service's endpoints, read as Istio's
//! Kubernetes registry reads them (istio/istio
//! `pilot/pkg/serviceregistry/kube/controller/endpointslice.go` `updateEndpointCacheForSlice`,
//! `endpointHealthStatus`, `getPod`; `pilot/pkg/xds/endpoints/endpoint_builder.go`
//! `BuildClusterLoadAssignment`), through `Mesh::route` to the endpoint Envoy's balancer picks.

use meshroute::{FastRng, LoadOptions, Mesh, Outcome, Source};

use crate::common::{get, mesh};

/// The Service `reviews` (port 80 → 9080), its pods v1 and v2, and the DestinationRule with
/// subsets v1 and v2.
const REVIEWS: &str = "apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 80, targetPort: 9080}]
---
apiVersion: v1
kind: Pod
metadata:
  name: reviews-v1-6f8c9
  namespace: default
  labels: {app: reviews, version: v1}
spec:
  containers: [{name: reviews, image: 'reviews:v1', ports: [{containerPort: 9080, name: http}]}]
status:
  phase: Running
  podIP: 10.244.1.11
  conditions: [{type: Ready, status: 'True'}]
---
apiVersion: v1
kind: Pod
metadata:
  name: reviews-v2-7d4b1
  namespace: default
  labels: {app: reviews, version: v2}
spec:
  containers: [{name: reviews, image: 'reviews:v2', ports: [{containerPort: 9080, name: http}]}]
status:
  phase: Running
  podIP: 10.244.2.12
  conditions: [{type: Ready, status: 'True'}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
";

/// The VirtualService sending every request for `reviews` to `subset`.
fn to_subset(subset: &str) -> String {
    format!(
        "---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews, namespace: default}}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {{host: reviews, subset: {subset}}}
"
    )
}

/// The EndpointSlice of `reviews` (as the EndpointSlice controller writes it) listing both pods
/// with these `ready` conditions, on slice port `port`.
fn slice(v1_ready: bool, v2_ready: bool, port: u16) -> String {
    format!(
        "---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: reviews-x7k2p
  namespace: default
  labels:
    kubernetes.io/service-name: reviews
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
addressType: IPv4
ports: [{{name: http, port: {port}, protocol: TCP}}]
endpoints:
- addresses: [10.244.1.11]
  conditions: {{ready: {v1_ready}, serving: {v1_ready}, terminating: false}}
  nodeName: node-a
  targetRef: {{kind: Pod, namespace: default, name: reviews-v1-6f8c9}}
- addresses: [10.244.2.12]
  conditions: {{ready: {v2_ready}, serving: {v2_ready}, terminating: false}}
  nodeName: node-b
  targetRef: {{kind: Pod, namespace: default, name: reviews-v2-7d4b1}}
"
    )
}

/// The address of the endpoint picked for each of `n` requests to `http://reviews/`.
fn picks(mesh: &Mesh, n: usize) -> Vec<Option<String>> {
    let source = Source::sidecar("default");
    let mut rng = FastRng::from_seed(3);
    (0..n)
        .map(|_| {
            let request = get("http://reviews/");
            let d = mesh.route_with(&request, &source, &mut rng);
            assert!(matches!(
                d.outcome(),
                Outcome::Route | Outcome::NoVirtualService
            ));
            d.endpoint().map(|e| {
                assert!(!e.is_synthetic(), "{e:?}");
                e.address.clone()
            })
        })
        .collect()
}

/// The subset's endpoint is the slice's address of the pod whose labels (from the pod the
/// slice's `targetRef` names) the subset selects, on the slice's port.
#[test]
fn subset_v2_picks_the_v2_pods_slice_address() {
    let m = mesh(&format!(
        "{REVIEWS}{}{}",
        to_subset("v2"),
        slice(true, true, 9080)
    ));
    let request = get("http://reviews/");
    let d = m.route(&request, &Source::sidecar("default"));
    let dest = d.destination().unwrap();
    assert_eq!(
        (dest.host, dest.subset),
        ("reviews.default.svc.cluster.local", Some("v2"))
    );
    let endpoint = d.endpoint().unwrap();
    assert_eq!(endpoint.address, "10.244.2.12:9080");
    assert_eq!(endpoint.port, 9080);
    assert_eq!(endpoint.name.as_deref(), Some("reviews-v2-7d4b1"));
    assert_eq!(
        endpoint.labels.get("version").map(String::as_str),
        Some("v2")
    );
    assert!(!endpoint.is_synthetic());
    assert!(
        picks(&m, 50)
            .iter()
            .all(|a| a.as_deref() == Some("10.244.2.12:9080"))
    );
    let v1 = mesh(&format!(
        "{REVIEWS}{}{}",
        to_subset("v1"),
        slice(true, true, 9080)
    ));
    assert!(
        picks(&v1, 50)
            .iter()
            .all(|a| a.as_deref() == Some("10.244.1.11:9080"))
    );
}

/// `endpointHealthStatus`: a not-ready endpoint is unhealthy, which Envoy never balances to
/// (Istio sends it with the panic threshold off, or not at all). The v2 subset with its only pod
/// not ready has no endpoint: 503 `UH`. Without the subset, every pick is the ready pod.
#[test]
fn a_not_ready_endpoint_is_never_picked() {
    let m = mesh(&format!(
        "{REVIEWS}{}{}",
        to_subset("v2"),
        slice(true, false, 9080)
    ));
    let request = get("http://reviews/");
    let d = m.route(&request, &Source::sidecar("default"));
    assert_eq!(d.endpoint(), None);
    assert_eq!(
        d.no_endpoint(),
        Some(meshroute::NoEndpoint::NoHealthyUpstream)
    );
    assert_eq!(
        d.local_status(),
        Some(http::StatusCode::SERVICE_UNAVAILABLE)
    );
    let all = mesh(&format!("{REVIEWS}{}", slice(true, false, 9080)));
    let picked = picks(&all, 200);
    assert!(
        picked
            .iter()
            .all(|a| a.as_deref() == Some("10.244.1.11:9080")),
        "{picked:?}"
    );
}

/// The slice's port, not the Service's `targetPort`, is the endpoint's port (the slice is what
/// Kubernetes resolved the target port to); and the selector's pods are not added beside the
/// slice's endpoints: each pod is one endpoint.
#[test]
fn the_slice_port_is_the_endpoint_port_and_pods_are_not_counted_twice() {
    let m = mesh(&format!("{REVIEWS}{}", slice(true, true, 9443)));
    let endpoints = m
        .endpoints("reviews.default.svc.cluster.local", None, 80)
        .unwrap();
    let addresses: Vec<&str> = endpoints.iter().map(|e| e.address.as_str()).collect();
    assert_eq!(addresses, ["10.244.1.11:9443", "10.244.2.12:9443"]);
}

/// A multi-port Service: each slice port serves the Service port of its name
/// (`ServicePortName`), whatever the order or numbers.
#[test]
fn slice_ports_map_to_service_ports_by_name() {
    let yaml = "apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  selector: {app: ratings}
  ports:
  - {name: http, port: 80, targetPort: web}
  - {name: grpc-api, port: 7070, targetPort: 7070}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ratings-1
  namespace: default
  labels: {kubernetes.io/service-name: ratings}
addressType: IPv4
ports:
- {name: grpc-api, port: 17070, protocol: TCP}
- {name: http, port: 8080, protocol: TCP}
endpoints:
- addresses: [10.244.3.3]
";
    let m = mesh(yaml);
    let host = "ratings.default.svc.cluster.local";
    let address = |port: u16| -> Vec<String> {
        m.endpoints(host, None, port)
            .unwrap()
            .iter()
            .map(|e| e.address.clone())
            .collect()
    };
    assert_eq!(address(80), ["10.244.3.3:8080"]);
    assert_eq!(address(7070), ["10.244.3.3:17070"]);
    let request = get("http://ratings/");
    let d = m.route(&request, &Source::sidecar("default"));
    assert_eq!(d.endpoint().unwrap().address, "10.244.3.3:8080");
}

/// A Service without a selector: its endpoints are unknown without a slice (they are managed by
/// hand), and exactly its slices' with one; a pod with matching labels is not one of them.
#[test]
fn a_selector_less_service_gets_endpoints_only_from_slices() {
    let service = "apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  ports: [{name: tcp-pg, port: 5432}]
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: default, labels: {app: db}}
status: {podIP: 10.244.4.4, phase: Running, conditions: [{type: Ready, status: 'True'}]}
";
    let host = "db.default.svc.cluster.local";
    assert!(mesh(service).endpoints(host, None, 5432).is_none());
    let with_slice = format!(
        "{service}---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-external
  namespace: default
  labels: {{kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{{name: tcp-pg, port: 6432}}]
endpoints:
- addresses: [192.168.50.10]
- addresses: [192.168.50.11]
  conditions: {{ready: false}}
"
    );
    let m = mesh(&with_slice);
    let endpoints = m.endpoints(host, None, 5432).unwrap();
    let addresses: Vec<&str> = endpoints.iter().map(|e| e.address.as_str()).collect();
    assert_eq!(addresses, ["192.168.50.10:6432"]);
    assert!(endpoints[0].labels.is_empty());
    assert!(!endpoints[0].is_synthetic());
}

/// An EndpointSlice as the API server returns it (`kubectl get endpointslice -o json`, what a
/// kube-rs watcher receives): server-set metadata (managedFields, ownerReferences, generation,
/// uid, resourceVersion) and top-level fields meshroute does not model load without a
/// diagnostic, and its endpoints are the Service's.
#[test]
fn an_endpoint_slice_from_the_api_server_loads_without_diagnostics() {
    let json = r#"{
  "kind": "EndpointSlice",
  "apiVersion": "discovery.k8s.io/v1",
  "metadata": {
    "name": "reviews-x7k2p",
    "generateName": "reviews-",
    "namespace": "default",
    "uid": "4f1c2d7e-8a9b-4c3d-9e0f-1a2b3c4d5e6f",
    "resourceVersion": "184467",
    "generation": 7,
    "creationTimestamp": "2025-03-01T10:00:00Z",
    "labels": {
      "app": "reviews",
      "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
      "kubernetes.io/service-name": "reviews"
    },
    "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2025-03-01T10:05:00Z"},
    "ownerReferences": [{
      "apiVersion": "v1", "kind": "Service", "name": "reviews",
      "uid": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", "controller": true, "blockOwnerDeletion": true
    }],
    "managedFields": [{
      "manager": "kube-controller-manager", "operation": "Update", "apiVersion": "discovery.k8s.io/v1",
      "time": "2025-03-01T10:05:00Z", "fieldsType": "FieldsV1",
      "fieldsV1": {"f:addressType": {}, "f:endpoints": {}, "f:metadata": {"f:labels": {".": {}}}, "f:ports": {}}
    }]
  },
  "addressType": "IPv4",
  "endpoints": [
    {
      "addresses": ["10.244.1.11"],
      "conditions": {"ready": true, "serving": true, "terminating": false},
      "targetRef": {"kind": "Pod", "namespace": "default", "name": "reviews-v1-6f8c9", "uid": "9d8c7b6a-5f4e-3d2c-1b0a-f9e8d7c6b5a4"},
      "nodeName": "node-a",
      "zone": "eu-west-1a",
      "hints": {"forZones": [{"name": "eu-west-1a"}]}
    },
    {
      "addresses": ["10.244.2.12"],
      "conditions": {"ready": true, "serving": true, "terminating": false},
      "targetRef": {"kind": "Pod", "namespace": "default", "name": "reviews-v2-7d4b1", "uid": "1a2b3c4d-5e6f-7a8b-9c0d-e1f2a3b4c5d6"},
      "nodeName": "node-b",
      "zone": "eu-west-1b",
      "deprecatedTopology": {"kubernetes.io/hostname": "node-b"}
    }
  ],
  "ports": [{"name": "http", "protocol": "TCP", "port": 9080, "appProtocol": "http"}],
  "status": {"futureField": true},
  "someFutureField": [1, 2]
}"#;
    let options = LoadOptions::default();
    let mut loaded = meshroute::from_str(&format!("{REVIEWS}{}", to_subset("v2")), &options);
    let slice = meshroute::from_str(json, &options);
    assert!(slice.diagnostics.is_empty(), "{:#?}", slice.diagnostics);
    let [resource] = slice.resources.as_slice() else {
        panic!("one resource expected: {:?}", slice.resources)
    };
    assert_eq!(resource.kind(), "EndpointSlice");
    assert_eq!(resource.key(), "default/reviews-x7k2p");
    let meshroute::config::Body::EndpointSlice(body) = &resource.body else {
        panic!("an EndpointSlice expected: {resource:?}")
    };
    assert_eq!(body.endpoints.len(), 2);
    assert!(body.other.contains_key("status"));
    loaded.extend(slice);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let m = loaded.compile().unwrap();
    let request = get("http://reviews/");
    let d = m.route(&request, &Source::sidecar("default"));
    assert_eq!(d.endpoint().unwrap().address, "10.244.2.12:9080");
    assert!(meshroute::check(&loaded_resources(json)).is_empty());
}

/// The resources of `text`, loaded with the default options.
fn loaded_resources(text: &str) -> Vec<meshroute::config::Resource> {
    meshroute::from_str(text, &LoadOptions::default()).resources
}
