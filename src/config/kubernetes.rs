//! The few Kubernetes kinds meshroute reads to find endpoints: `Service`, `Deployment`, `Pod` and
//! `EndpointSlice`.
//!
//! Only the fields that matter for routing are typed. Every other field is kept, untyped, in the
//! `other` map of the struct that holds it, so a real manifest (with resources, probes, volumes,
//! ...) loads without a warning. A pod's own labels are in the resource's metadata, not here.

use std::collections::BTreeMap;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

/// Deserializes `null` as the type's default, so that `status:` with no value still loads.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A Kubernetes `int-or-string` (`targetPort: 8080` or `targetPort: http`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// A number.
    Int(i64),
    /// A name.
    String(String),
}

/// The `spec` of a Kubernetes `v1` `Service`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// Labels of the pods backing the service.
    #[serde(default, deserialize_with = "null_as_default")]
    pub selector: BTreeMap<String, String>,
    /// The service's ports.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ports: Vec<ServiceSpecPort>,
    /// The cluster IP (`None` for a headless service).
    #[serde(default, rename = "clusterIP")]
    pub cluster_ip: Option<String>,
    /// All cluster IPs (dual stack).
    #[serde(default, rename = "clusterIPs", deserialize_with = "null_as_default")]
    pub cluster_ips: Vec<String>,
    /// `ClusterIP` (default), `NodePort`, `LoadBalancer` or `ExternalName`.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// The DNS name an `ExternalName` service aliases.
    #[serde(default)]
    pub external_name: Option<String>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A port of a Kubernetes `Service` (`ServicePort` in the Kubernetes API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpecPort {
    /// Port name (Istio derives the protocol from a `http-`, `grpc-`, ... prefix).
    #[serde(default)]
    pub name: String,
    /// The service port.
    #[serde(default)]
    pub port: u32,
    /// The pod port, by number or by container port name (default: `port`).
    #[serde(default)]
    pub target_port: Option<IntOrString>,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Application protocol (`http`, `grpc`, `kubernetes.io/h2c`, ...), preferred by Istio over
    /// the name prefix.
    #[serde(default)]
    pub app_protocol: Option<String>,
    /// Node port for `NodePort` and `LoadBalancer` services.
    #[serde(default)]
    pub node_port: Option<u32>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The `spec` of an `apps/v1` `Deployment`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    /// Number of pods (Kubernetes default 1).
    #[serde(default)]
    pub replicas: Option<u32>,
    /// The pods the deployment owns.
    #[serde(default)]
    pub selector: Option<LabelSelector>,
    /// The template each pod is created from.
    #[serde(default, deserialize_with = "null_as_default")]
    pub template: PodTemplateSpec,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A Kubernetes label selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must all be present with these values.
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements, all of which must hold.
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One set-based requirement of a [`LabelSelector`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// The label key.
    #[serde(default)]
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[serde(default)]
    pub operator: String,
    /// Values for `In` and `NotIn`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<String>,
}

/// A pod template (`spec.template` of a `Deployment`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateSpec {
    /// The pods' labels and annotations.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: PodTemplateMetadata,
    /// The pods' spec.
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: PodSpec,
}

/// The metadata of a pod template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateMetadata {
    /// Labels every pod gets.
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// Annotations every pod gets.
    #[serde(default, deserialize_with = "null_as_default")]
    pub annotations: BTreeMap<String, String>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A pod's spec: its containers (for their ports).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// The containers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub containers: Vec<Container>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A container of a pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Container name.
    #[serde(default)]
    pub name: String,
    /// Image reference.
    #[serde(default)]
    pub image: String,
    /// Declared ports (named ports are what a Service `targetPort` name refers to).
    #[serde(default, deserialize_with = "null_as_default")]
    pub ports: Vec<ContainerPort>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A port a container declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    /// The port number in the pod.
    #[serde(default)]
    pub container_port: u32,
    /// Optional name.
    #[serde(default)]
    pub name: Option<String>,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A Kubernetes `v1` `Pod`: its spec and status (labels are in the resource's metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    /// The pod's spec.
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: PodSpec,
    /// The pod's status (its IPs and phase), when the manifest has one.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: PodStatus,
}

/// The status of a pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    /// The pod's primary IP.
    #[serde(default, rename = "podIP")]
    pub pod_ip: Option<String>,
    /// All the pod's IPs (dual stack).
    #[serde(default, rename = "podIPs", deserialize_with = "null_as_default")]
    pub pod_ips: Vec<PodIp>,
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    #[serde(default)]
    pub phase: Option<String>,
    /// The pod's conditions (`Ready` says whether it receives traffic).
    #[serde(default, deserialize_with = "null_as_default")]
    pub conditions: Vec<PodCondition>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl PodStatus {
    /// Whether the pod's `Ready` condition is `True` (Kubernetes `podutil.IsPodReady`).
    pub fn is_ready(&self) -> bool {
        self.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    }
}

/// One entry of `status.conditions` of a pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodCondition {
    /// `Ready`, `PodScheduled`, `ContainersReady`, `Initialized`, ...
    #[serde(default, rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Every other field (`lastTransitionTime`, `reason`, ...), kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// One entry of `status.podIPs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodIp {
    /// The IP address.
    #[serde(default)]
    pub ip: String,
}

/// The label that names the Service an `EndpointSlice` belongs to (`discovery.k8s.io/v1`
/// `LabelServiceName`).
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";

/// A `discovery.k8s.io/v1` `EndpointSlice`: some of the endpoints of the Service its
/// `kubernetes.io/service-name` label names ([`LABEL_SERVICE_NAME`]; labels are in the
/// resource's metadata). Kubernetes builds them from a Service's selector; a Service without a
/// selector has only the slices written for it. Unlike most kinds it has no `spec`: these fields
/// are at the top level of the object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSlice {
    /// `IPv4`, `IPv6` or `FQDN`: what kind of address every endpoint of the slice has.
    #[serde(default)]
    pub address_type: String,
    /// The endpoints.
    #[serde(default, deserialize_with = "null_as_default")]
    pub endpoints: Vec<EndpointSliceEndpoint>,
    /// The ports every endpoint of the slice serves (none: no port is served).
    #[serde(default, deserialize_with = "null_as_default")]
    pub ports: Vec<EndpointSlicePort>,
    /// Every other top-level field, kept as written (`apiVersion`, `kind` and `metadata` are
    /// the resource's).
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// One endpoint of an [`EndpointSlice`] (`Endpoint` in the Kubernetes API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSliceEndpoint {
    /// The endpoint's addresses, of the slice's `addressType`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub addresses: Vec<String>,
    /// Whether it is ready, serving, terminating.
    #[serde(default, deserialize_with = "null_as_default")]
    pub conditions: EndpointConditions,
    /// The endpoint's host name (DNS of headless services).
    #[serde(default)]
    pub hostname: Option<String>,
    /// The node the endpoint runs on.
    #[serde(default)]
    pub node_name: Option<String>,
    /// The zone the endpoint runs in.
    #[serde(default)]
    pub zone: Option<String>,
    /// The object the endpoint stands for (usually a `Pod`).
    #[serde(default)]
    pub target_ref: Option<ObjectReference>,
    /// Every other field (`hints`, `deprecatedTopology`, ...), kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The conditions of an [`EndpointSliceEndpoint`]; an unset condition is unknown (Kubernetes
/// reads an unset `ready` as ready).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConditions {
    /// Whether the endpoint is ready for traffic (for a pod: ready and not terminating).
    #[serde(default)]
    pub ready: Option<bool>,
    /// Whether the endpoint is ready, terminating or not.
    #[serde(default)]
    pub serving: Option<bool>,
    /// Whether the endpoint is shutting down.
    #[serde(default)]
    pub terminating: Option<bool>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A port of an [`EndpointSlice`] (`EndpointPort` in the Kubernetes API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSlicePort {
    /// The name of the Service port it serves (`None`: the Service's one unnamed port).
    #[serde(default)]
    pub name: Option<String>,
    /// The port number on the endpoints (the Service port's target port).
    #[serde(default)]
    pub port: Option<u32>,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Application protocol, as the Service port's.
    #[serde(default)]
    pub app_protocol: Option<String>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A reference to another object (`ObjectReference` in the Kubernetes API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// The object's kind (`Pod`).
    #[serde(default)]
    pub kind: String,
    /// The object's namespace.
    #[serde(default)]
    pub namespace: String,
    /// The object's name.
    #[serde(default)]
    pub name: String,
    /// The object's UID.
    #[serde(default)]
    pub uid: String,
    /// Every other field (`apiVersion`, `resourceVersion`, `fieldPath`), kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real-world Service loads, unknown fields land in `other`, and `targetPort` may be a
    /// number or a name.
    #[test]
    fn service_spec_keeps_unknown_fields_and_int_or_string() {
        let spec: ServiceSpec = serde_json::from_value(serde_json::json!({
            "selector": {"app": "reviews"},
            "clusterIP": "10.0.0.7",
            "clusterIPs": ["10.0.0.7"],
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "ports": [
                {"name": "http", "port": 9080, "targetPort": 8080, "protocol": "TCP"},
                {"name": "grpc", "port": 9090, "targetPort": "grpc", "appProtocol": "grpc"}
            ]
        }))
        .unwrap();
        assert_eq!(spec.cluster_ip.as_deref(), Some("10.0.0.7"));
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(spec.ports[0].target_port, Some(IntOrString::Int(8080)));
        assert_eq!(
            spec.ports[1].target_port,
            Some(IntOrString::String("grpc".into()))
        );
        assert_eq!(spec.ports[1].app_protocol.as_deref(), Some("grpc"));
        assert!(spec.other.contains_key("sessionAffinity"));
    }

    /// A Deployment's template labels and container ports are read; everything else is kept.
    #[test]
    fn deployment_spec_reads_template() {
        let spec: DeploymentSpec = serde_json::from_value(serde_json::json!({
            "replicas": 3,
            "selector": {"matchLabels": {"app": "reviews"}},
            "strategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"app": "reviews", "version": "v2"}},
                "spec": {
                    "serviceAccountName": "reviews",
                    "containers": [{
                        "name": "reviews",
                        "image": "reviews:v2",
                        "resources": {"limits": {"cpu": "1"}},
                        "ports": [{"containerPort": 9080, "name": "http"}]
                    }]
                }
            }
        }))
        .unwrap();
        assert_eq!(spec.replicas, Some(3));
        assert_eq!(
            spec.template
                .metadata
                .labels
                .get("version")
                .map(String::as_str),
            Some("v2")
        );
        assert_eq!(
            spec.template.spec.containers[0].ports[0].container_port,
            9080
        );
        assert!(spec.template.spec.other.contains_key("serviceAccountName"));
        assert!(spec.other.contains_key("strategy"));
    }

    /// A pod without a status (`status: null`) loads with an empty status.
    #[test]
    fn pod_status_may_be_null() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "spec": {"containers": [{"name": "app", "image": "app:1"}]},
            "status": null
        }))
        .unwrap();
        assert_eq!(pod.status, PodStatus::default());
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "spec": null,
            "status": {"podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}], "phase": "Running"}
        }))
        .unwrap();
        assert_eq!(pod.status.pod_ip.as_deref(), Some("10.1.0.5"));
        assert_eq!(pod.status.pod_ips[0].ip, "10.1.0.5");
        assert!(!pod.status.is_ready(), "no Ready condition");
    }

    /// `podutil.IsPodReady`: ready when the `Ready` condition is `True`, whatever the others.
    #[test]
    fn pod_ready_is_the_ready_condition() {
        let status: PodStatus = serde_json::from_value(serde_json::json!({
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}
            ]
        }))
        .unwrap();
        assert!(!status.is_ready());
        assert_eq!(status.conditions[1].other["reason"], "ContainersNotReady");
        let status: PodStatus = serde_json::from_value(serde_json::json!({
            "conditions": [{"type": "Ready", "status": "True"}]
        }))
        .unwrap();
        assert!(status.is_ready());
    }

    /// An EndpointSlice as the API server returns it: conditions, targetRef, ports; fields
    /// meshroute does not read are kept; an unset condition stays unknown.
    #[test]
    fn endpoint_slice_reads_endpoints_and_ports() {
        let slice: EndpointSlice = serde_json::from_value(serde_json::json!({
            "addressType": "IPv4",
            "endpoints": [{
                "addresses": ["10.244.1.7"],
                "conditions": {"ready": true, "serving": true, "terminating": false},
                "hostname": "reviews-0",
                "nodeName": "node-a",
                "zone": "us-east-1a",
                "targetRef": {
                    "kind": "Pod", "namespace": "default", "name": "reviews-v1-7d9f",
                    "uid": "a-b", "resourceVersion": "7"
                },
                "hints": {"forZones": [{"name": "us-east-1a"}]}
            }, {
                "addresses": ["10.244.1.8"],
                "conditions": null
            }],
            "ports": [
                {"name": "http", "port": 9080, "protocol": "TCP", "appProtocol": "http"},
                {"port": null}
            ],
            "somethingNew": 1
        }))
        .unwrap();
        assert_eq!(slice.address_type, "IPv4");
        let [first, second] = slice.endpoints.as_slice() else {
            panic!("two endpoints expected: {:?}", slice.endpoints)
        };
        assert_eq!(first.conditions.ready, Some(true));
        assert_eq!(first.conditions.terminating, Some(false));
        let target = first.target_ref.as_ref().unwrap();
        assert_eq!(
            (
                target.kind.as_str(),
                target.namespace.as_str(),
                target.name.as_str()
            ),
            ("Pod", "default", "reviews-v1-7d9f")
        );
        assert!(target.other.contains_key("resourceVersion"));
        assert_eq!(first.node_name.as_deref(), Some("node-a"));
        assert!(first.other.contains_key("hints"));
        assert_eq!(second.conditions, EndpointConditions::default());
        assert_eq!(slice.ports[0].name.as_deref(), Some("http"));
        assert_eq!(slice.ports[0].port, Some(9080));
        assert_eq!(slice.ports[1], EndpointSlicePort::default());
        assert!(slice.other.contains_key("somethingNew"));
    }
}
