//! The few Kubernetes kinds meshroute reads to find endpoints: `Service`, `Deployment` and `Pod`.
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
    /// Every other field, kept as written.
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
    }
}
