//! Endpoints from the manifests, as Istio's service registry would see them:
//!
//! - `ServiceEntry.spec.endpoints`, and `WorkloadEntry`s selected by a ServiceEntry's
//!   `workloadSelector` (same namespace). A DNS ServiceEntry without endpoints has one endpoint
//!   per host, named `host:port` (Envoy resolves it).
//! - Kubernetes `Service`s: the pods its `selector` selects — from `Pod` manifests and from the
//!   replicas of `Deployment`s — and `WorkloadEntry`s in the same namespace whose labels match.
//!   The endpoint port is the Service port's `targetPort`; a named target port is looked up in
//!   the pod's container ports (or the WorkloadEntry's `ports`), and a workload without it is
//!   not an endpoint of that port. A WorkloadEntry's `ports` entry named like the Service port
//!   overrides a numeric `targetPort`, as Istio's kube controller does.
//!
//! Pods without a `status.podIP` get a **stable synthetic address** in `10.0.0.0/8`, derived
//! from xxHash64 of `namespace/pod-name` (Deployment replicas are named `<deployment>-<i>`), so a
//! simulation names the same endpoint every run. Such endpoints are marked synthetic
//! ([`Endpoint::is_synthetic`]): the outbound layer never dials them.
//!
//! ## EndpointSlices
//!
//! When `EndpointSlice`s labelled `kubernetes.io/service-name: <service>` exist in a Service's
//! namespace, the Service's pod endpoints are those of its slices, as Istio's Kubernetes registry
//! reads them (istio/istio `pilot/pkg/serviceregistry/kube/controller/endpointslice.go`
//! `buildIstioEndpointsWithService`, `updateEndpointCacheForSlice`), and not the pods its selector
//! selects (Kubernetes builds the slices from the selector: counting both would count each pod
//! twice). A Service without a selector gets endpoints this way only. WorkloadEntries its
//! selector selects are added to the slices' endpoints, as Istio adds them
//! (`pushEDS`, `PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES`, on by default). Without a slice, the
//! Service's endpoints are derived as above (manifests in git seldom hold slices).
//!
//! - Slices labelled `multicluster.kubernetes.io/service-name` (Multi-Cluster Services) are not
//!   read, nor are `FQDN` slices (Istio issue 34995); `IPv4` and `IPv6` slices are.
//! - Every address of a slice endpoint (not only the first) is an endpoint on every slice port;
//!   an address that is not an IP is dropped, as Istio's EDS builder drops it
//!   (`pilot/pkg/xds/endpoints/endpoint_builder.go` `BuildClusterLoadAssignment`). The same
//!   address with the same port name in several slices is one endpoint (`endpointSliceCache.get`;
//!   the first slice in resource order keeps it).
//! - A slice port serves the Service port of the same name (`ServicePortName`; an unnamed slice
//!   port serves the Service's unnamed port); its `port` is the endpoint's port (the target
//!   port). A slice port without a port number is left out (Istio would read port 0 as a Unix
//!   socket address).
//! - Only endpoints Envoy load-balances to are endpoints: `ready` unset or `true` (Istio's
//!   `Healthy`). A not-ready endpoint is `UnHealthy` (sent to Envoy, which with Istio's panic
//!   threshold never picks it, or not sent at all), `Terminating` when `terminating` is unset or
//!   true (never sent) or `Draining` for a Service with a persistent-session label (sent only for
//!   session affinity, never load-balanced): see `Health`.
//! - An endpoint's labels (what DestinationRule subsets select on) and name are its pod's: the
//!   Pod its `targetRef` names (by its `namespace` and `name` as written), else (a slice managed by hand) the first ready, running Pod with
//!   that `status.podIP` in the slice's namespace (Istio `getPod`). When the `targetRef` names a
//!   Pod the configuration does not have, or a `Failed` one, the endpoint is left out until the
//!   Pod is known, as Istio defers it (`registerEndpointResync`; `pod.go`
//!   `queueEndpointEventOnPodArrival` replays the slice when the pod arrives). An address with no
//!   `targetRef` and no such Pod is an endpoint without labels.
//! - Slice addresses are real: such endpoints are never synthetic.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use crate::balance::endpoint::Endpoint;
use crate::config::{
    Body, Container, EndpointConditions, EndpointSlice, IntOrString, LABEL_SERVICE_NAME,
    ObjectReference, Resolution, Resource, ServiceSpecPort,
};
use crate::util::host;

/// The stable synthetic pod address for `namespace/name`: `10.a.b.c` from xxHash64.
pub(crate) fn synthetic_ip(namespace: &str, name: &str) -> IpAddr {
    let h = xxhash_rust::xxh64::xxh64(format!("{namespace}/{name}").as_bytes(), 0);
    let [_, _, _, _, _, a, b, c] = h.to_be_bytes();
    IpAddr::V4(Ipv4Addr::new(10, a, b, c.clamp(1, 254)))
}

/// A workload: a pod (from a Pod or a Deployment replica) or a WorkloadEntry.
struct Workload<'a> {
    namespace: &'a str,
    name: String,
    ip: Option<IpAddr>,
    hostname: Option<&'a str>,
    labels: &'a BTreeMap<String, String>,
    /// Container (or WorkloadEntry) port names → numbers.
    named_ports: BTreeMap<String, u32>,
    weight: u32,
    locality: Option<String>,
    /// A WorkloadEntry (its `ports` are keyed by service port name), not a pod.
    workload_entry: bool,
    /// The address was made up (see [`synthetic_ip`]).
    synthetic: bool,
}

fn workloads<'a>(resources: &[&'a Resource]) -> Vec<Workload<'a>> {
    let mut out = Vec::new();
    for resource in resources {
        let namespace = resource.namespace();
        match &resource.body {
            Body::Pod(pod) => {
                let real: Option<IpAddr> =
                    pod.status.pod_ip.as_deref().and_then(|ip| ip.parse().ok());
                out.push(Workload {
                    namespace,
                    name: resource.name().to_owned(),
                    synthetic: real.is_none(),
                    ip: Some(real.unwrap_or_else(|| synthetic_ip(namespace, resource.name()))),
                    hostname: None,
                    labels: &resource.metadata.labels,
                    named_ports: container_ports(&pod.spec.containers),
                    weight: 1,
                    locality: None,
                    workload_entry: false,
                });
            }
            Body::Deployment(deployment) => {
                for i in 0..deployment.replicas.unwrap_or(1) {
                    let name = format!("{}-{i}", resource.name());
                    out.push(Workload {
                        namespace,
                        synthetic: true,
                        ip: Some(synthetic_ip(namespace, &name)),
                        name,
                        hostname: None,
                        labels: &deployment.template.metadata.labels,
                        named_ports: container_ports(&deployment.template.spec.containers),
                        weight: 1,
                        locality: None,
                        workload_entry: false,
                    });
                }
            }
            Body::WorkloadEntry(we) => out.push(Workload {
                namespace,
                synthetic: false,
                name: resource.name().to_owned(),
                ip: we.address.parse().ok(),
                hostname: (!we.address.is_empty() && we.address.parse::<IpAddr>().is_err())
                    .then_some(we.address.as_str()),
                labels: if we.labels.is_empty() {
                    &resource.metadata.labels
                } else {
                    &we.labels
                },
                named_ports: we.ports.clone(),
                weight: we.weight.unwrap_or(1).max(1),
                locality: (!we.locality.is_empty()).then(|| we.locality.clone()),
                workload_entry: true,
            }),
            _ => {}
        }
    }
    out
}

fn container_ports(containers: &[Container]) -> BTreeMap<String, u32> {
    containers
        .iter()
        .flat_map(|c| c.ports.iter())
        .filter_map(|p| Some((p.name.clone()?, p.container_port)))
        .collect()
}

fn endpoint_of(w: &Workload<'_>, port: u16) -> Option<Endpoint> {
    let endpoint = match (w.ip, w.hostname) {
        (Some(ip), _) => Endpoint::new(ip, port),
        (None, Some(h)) => Endpoint::hostname(h, port),
        (None, None) => return None,
    };
    let mut endpoint = endpoint.with_weight(w.weight).with_name(w.name.clone());
    endpoint.labels = w.labels.clone();
    endpoint.locality = w.locality.clone();
    Some(if w.synthetic {
        endpoint.synthetic()
    } else {
        endpoint
    })
}

fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The port a Kubernetes Service port sends to on workload `w`; `None` when `w` has no such
/// port and is therefore not an endpoint of this Service port.
///
/// * A named `targetPort` is looked up in the pod's container ports (Kubernetes `FindPort`:
///   the EndpointSlice controller skips a pod without it) or in a WorkloadEntry's `ports` (Istio
///   kube controller `serviceInstanceFromWorkloadInstance`: `explicitName`, skipped when
///   missing). A numeric string is read as the number.
/// * A numeric (or unset, which Kubernetes defaults to `port`) `targetPort` is used as is for a
///   pod; for a WorkloadEntry, its `ports` entry named like the Service port wins when present
///   (`findServiceTargetPort` returns the Service port's name with `explicitName: false`).
fn service_target_port(port: &ServiceSpecPort, service_port: u16, w: &Workload<'_>) -> Option<u16> {
    let numeric = match &port.target_port {
        Some(IntOrString::String(name)) => {
            return match name.parse::<u16>() {
                Ok(n) => Some(n),
                Err(_) => w.named_ports.get(name).and_then(|n| u16::try_from(*n).ok()),
            };
        }
        Some(IntOrString::Int(n)) => u16::try_from(*n)
            .ok()
            .filter(|n| *n != 0)
            .unwrap_or(service_port),
        None => service_port,
    };
    let by_service_port_name = w
        .workload_entry
        .then(|| w.named_ports.get(&port.name))
        .flatten()
        .and_then(|n| u16::try_from(*n).ok())
        .filter(|n| *n != 0);
    Some(by_service_port_name.unwrap_or(numeric))
}

/// Endpoints per `(FQDN, service port)`, discovered from the manifests.
pub(crate) fn discover(resources: &[&Resource]) -> BTreeMap<(String, u16), Vec<Endpoint>> {
    let workloads = workloads(resources);
    // With slices, the selector adds WorkloadEntries only: without any, that scan is skipped
    // (it would cost services × pods in a cluster).
    let workload_entries = workloads.iter().any(|w| w.workload_entry);
    let slices = Slices::new(resources);
    let mut out: BTreeMap<(String, u16), Vec<Endpoint>> = BTreeMap::new();
    for &resource in resources {
        let namespace = resource.namespace();
        match &resource.body {
            Body::Service(svc) => {
                let own = slices.of(namespace, resource.name());
                // A Service without a selector and without a slice has its endpoints managed
                // elsewhere: unknown rather than none.
                if own.is_empty() && svc.selector.is_empty() {
                    continue;
                }
                let from_slices = (!own.is_empty()).then(|| slices.endpoints(resource, own));
                let fqdn = host::resolve(resource.name(), namespace);
                for port in &svc.ports {
                    let Ok(service_port) = u16::try_from(port.port) else {
                        continue;
                    };
                    let list = out.entry((fqdn.clone(), service_port)).or_default();
                    if let Some(from_slices) = &from_slices {
                        list.extend(
                            from_slices
                                .iter()
                                .filter(|(name, _)| *name == port.name)
                                .map(|(_, endpoint)| endpoint.clone()),
                        );
                    }
                    // With slices, the pods are theirs: the selector adds WorkloadEntries only.
                    if from_slices.is_some() && !workload_entries {
                        continue;
                    }
                    for w in workloads.iter().filter(|w| {
                        w.namespace == namespace
                            && (from_slices.is_none() || w.workload_entry)
                            && selects(&svc.selector, w.labels)
                    }) {
                        let Some(target) = service_target_port(port, service_port, w) else {
                            continue;
                        };
                        list.extend(endpoint_of(w, target));
                    }
                }
            }
            Body::ServiceEntry(se) => {
                for h in &se.hosts {
                    let fqdn = h.to_ascii_lowercase();
                    for port in &se.ports {
                        let Ok(service_port) = u16::try_from(port.number) else {
                            continue;
                        };
                        let target = port
                            .target_port
                            .and_then(|t| u16::try_from(t).ok())
                            .filter(|t| *t != 0)
                            .unwrap_or(service_port);
                        let list = out.entry((fqdn.clone(), service_port)).or_default();
                        for we in &se.endpoints {
                            let port_for = we
                                .ports
                                .get(&port.name)
                                .and_then(|p| u16::try_from(*p).ok())
                                .unwrap_or(target);
                            let mut endpoint = match we.address.parse::<IpAddr>() {
                                Ok(ip) => Endpoint::new(ip, port_for),
                                Err(_) if !we.address.is_empty() => {
                                    Endpoint::hostname(&we.address, port_for)
                                }
                                Err(_) => continue,
                            };
                            endpoint.labels = we.labels.clone();
                            endpoint.weight = we.weight.unwrap_or(1).max(1);
                            endpoint.locality =
                                (!we.locality.is_empty()).then(|| we.locality.clone());
                            list.push(endpoint);
                        }
                        if let Some(selector) = &se.workload_selector {
                            for w in workloads.iter().filter(|w| {
                                w.namespace == namespace && selects(&selector.labels, w.labels)
                            }) {
                                let port_for = w
                                    .named_ports
                                    .get(&port.name)
                                    .and_then(|p| u16::try_from(*p).ok())
                                    .unwrap_or(target);
                                list.extend(endpoint_of(w, port_for));
                            }
                        }
                        if se.endpoints.is_empty()
                            && se.workload_selector.is_none()
                            && matches!(se.resolution, Resolution::Dns | Resolution::DnsRoundRobin)
                            && !fqdn.starts_with('*')
                        {
                            list.push(Endpoint::hostname(&fqdn, target));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The label of a Multi-Cluster Services slice (sigs.k8s.io/mcs-api `LabelServiceName`): Istio's
/// Kubernetes registry reads only slices without it (`endpointslice.go` `endpointSliceSelector`).
const MCS_SERVICE_NAME_LABEL: &str = "multicluster.kubernetes.io/service-name";

/// The Service labels that give it persistent sessions (istio/istio `pilot/pkg/features`
/// `PILOT_PERSISTENT_SESSION_LABEL`, `PILOT_PERSISTENT_SESSION_HEADER_LABEL`, their defaults):
/// its not-ready, still serving endpoints are draining rather than unhealthy.
const PERSISTENT_SESSION_LABELS: [&str; 2] = [
    "istio.io/persistent-session",
    "istio.io/persistent-session-header",
];

/// Istio's `HealthStatus` of a slice endpoint (istio/istio `pilot/pkg/model/service.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    /// Ready: Envoy load-balances to it.
    Healthy,
    /// Not ready. Istio sends it to Envoy marked unhealthy and turns Envoy's panic threshold
    /// off (`PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS`, on by default since Istio 1.31;
    /// `pilot/pkg/networking/core/cluster_traffic_policy.go` `applyLoadBalancer`), or leaves it
    /// out (the default before, and still with an `outlierDetection.minHealthPercent` above 0;
    /// `pilot/pkg/xds/endpoints/endpoint_builder.go` `supportsUnhealthyEndpoints`,
    /// `filterIstioEndpoint`): Envoy never picks it either way.
    Unhealthy,
    /// Not ready but still serving while it shuts down, for a Service with persistent sessions:
    /// sent to Envoy only for such a Service (`filterIstioEndpoint`), as `DRAINING`, a host
    /// Envoy counts unhealthy and excludes from load balancing (envoyproxy/envoy
    /// `source/common/upstream/upstream_impl.h` `coarseHealth`, `EDS_STATUS_DRAINING`); only a
    /// persistent session may still be sent to it.
    Draining,
    /// Shutting down: never sent to Envoy (`filterIstioEndpoint`).
    Terminating,
}

/// Istio's health of a slice endpoint (istio/istio
/// `pilot/pkg/serviceregistry/kube/controller/endpointslice.go` `endpointHealthStatus`): ready
/// unless `ready` is `false` (unset is ready, as Kubernetes reads it); then draining (persistent
/// sessions, `serving` and `terminating` unset or true), terminating (`terminating` unset or
/// true), else unhealthy.
fn health(conditions: &EndpointConditions, persistent_sessions: bool) -> Health {
    let unset_or_true = |condition: Option<bool>| condition.unwrap_or(true);
    if unset_or_true(conditions.ready) {
        Health::Healthy
    } else if persistent_sessions
        && unset_or_true(conditions.serving)
        && unset_or_true(conditions.terminating)
    {
        Health::Draining
    } else if unset_or_true(conditions.terminating) {
        Health::Terminating
    } else {
        Health::Unhealthy
    }
}

/// The EndpointSlices of the configuration by the Service they belong to, and the Pods their
/// endpoints refer to, as Istio's pod cache finds them.
struct Slices<'a> {
    /// `(namespace, service name)` → the slices, in resource order.
    by_service: HashMap<(&'a str, &'a str), Vec<&'a EndpointSlice>>,
    /// `(namespace, name)` → the Pod, unless `Failed` (Istio's pod informer watches
    /// `status.phase!=Failed`; `controller.go` `NewController`).
    pods: HashMap<(&'a str, &'a str), &'a Resource>,
    /// `status.podIP` → the Pods that would be in a Service's endpoints and are ready, in
    /// resource order (`pod.go` `PodCache.podsByIP`, filled by `onEvent` with
    /// `shouldPodBeInEndpoints && IsPodReady`).
    by_ip: HashMap<IpAddr, Vec<&'a Resource>>,
}

impl<'a> Slices<'a> {
    fn new(resources: &[&'a Resource]) -> Self {
        let mut slices = Self {
            by_service: HashMap::new(),
            pods: HashMap::new(),
            by_ip: HashMap::new(),
        };
        for &resource in resources {
            match &resource.body {
                Body::EndpointSlice(slice) => {
                    let labels = &resource.metadata.labels;
                    let service = labels.get(LABEL_SERVICE_NAME).map_or("", String::as_str);
                    if service.is_empty() || labels.contains_key(MCS_SERVICE_NAME_LABEL) {
                        continue;
                    }
                    slices
                        .by_service
                        .entry((resource.namespace(), service))
                        .or_default()
                        .push(slice);
                }
                Body::Pod(pod) => {
                    let phase = pod.status.phase.as_deref();
                    if phase == Some("Failed") {
                        continue;
                    }
                    slices
                        .pods
                        .insert((resource.namespace(), resource.name()), resource);
                    // `shouldPodBeInEndpoints`: not terminal, an IP, not being deleted.
                    let deleting = resource
                        .metadata
                        .other
                        .get("deletionTimestamp")
                        .is_some_and(|t| !t.is_null());
                    let ip = pod.status.pod_ip.as_deref().and_then(|ip| ip.parse().ok());
                    let cached = phase != Some("Succeeded") && !deleting && pod.status.is_ready();
                    if let Some(ip) = ip.filter(|_| cached) {
                        slices.by_ip.entry(ip).or_default().push(resource);
                    }
                }
                _ => {}
            }
        }
        slices
    }

    /// The slices of Service `namespace/name`.
    fn of(&self, namespace: &'a str, name: &'a str) -> &[&'a EndpointSlice] {
        self.by_service
            .get(&(namespace, name))
            .map_or(&[], Vec::as_slice)
    }

    /// The Pod a slice endpoint's address refers to (istio/istio `endpointslice.go` `getPod`):
    /// `Err` when its `targetRef` names a Pod that is not known (Istio defers the endpoint until
    /// the Pod arrives), `Ok(None)` when the address is no known Pod's.
    fn pod(
        &self,
        target: Option<&'a ObjectReference>,
        ip: IpAddr,
        namespace: &str,
    ) -> Result<Option<&'a Resource>, ()> {
        match target.filter(|t| t.kind == "Pod") {
            Some(target) => self
                .pods
                .get(&(target.namespace.as_str(), target.name.as_str()))
                .map(|pod| Some(*pod))
                .ok_or(()),
            // A slice managed by hand: Istio guesses the first Pod with that IP.
            None => Ok(self
                .by_ip
                .get(&ip)
                .and_then(|pods| pods.iter().find(|p| p.namespace() == namespace).copied())),
        }
    }

    /// The endpoints Envoy would load-balance to of `service`'s slices `own`, each with the
    /// name of the Service port it serves (`endpointslice.go` `updateEndpointCacheForSlice`,
    /// `endpointSliceCache.get`).
    fn endpoints(&self, service: &Resource, own: &[&'a EndpointSlice]) -> Vec<(&'a str, Endpoint)> {
        let namespace = service.namespace();
        let persistent_sessions = PERSISTENT_SESSION_LABELS.iter().any(|label| {
            service
                .metadata
                .labels
                .get(*label)
                .is_some_and(|v| !v.is_empty())
        });
        let mut seen: HashSet<(IpAddr, &str)> = HashSet::new();
        let mut out = Vec::new();
        for slice in own.iter().filter(|s| s.address_type != "FQDN") {
            for e in &slice.endpoints {
                if health(&e.conditions, persistent_sessions) != Health::Healthy {
                    continue;
                }
                for ip in e.addresses.iter().filter_map(|a| a.parse::<IpAddr>().ok()) {
                    let Ok(pod) = self.pod(e.target_ref.as_ref(), ip, namespace) else {
                        continue;
                    };
                    for port in &slice.ports {
                        let Some(number) = port
                            .port
                            .and_then(|p| u16::try_from(p).ok())
                            .filter(|p| *p != 0)
                        else {
                            continue;
                        };
                        let name = port.name.as_deref().unwrap_or("");
                        if !seen.insert((ip, name)) {
                            continue;
                        }
                        let mut endpoint = Endpoint::new(ip, number);
                        if let Some(pod) = pod {
                            endpoint = endpoint.with_name(pod.name());
                            endpoint.labels = pod.metadata.labels.clone();
                        }
                        out.push((name, endpoint));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_addresses_are_stable_and_distinct() {
        let a = synthetic_ip("default", "demo-b-v1-0");
        assert_eq!(a, synthetic_ip("default", "demo-b-v1-0"));
        assert_ne!(a, synthetic_ip("default", "demo-b-v2-0"));
        assert!(matches!(a, IpAddr::V4(v4) if v4.octets()[0] == 10));
    }

    use serde_json::{Value, json};

    use crate::config::{ObjectMeta, Pod, ServiceSpec, WorkloadEntry};

    const HOST: &str = "reviews.default.svc.cluster.local";

    /// A resource of `body` named `default/name` with `labels`.
    fn resource(name: &str, labels: Value, body: Body) -> Resource {
        Resource {
            api_version: String::new(),
            metadata: ObjectMeta {
                name: name.to_owned(),
                namespace: Some("default".to_owned()),
                labels: serde_json::from_value(labels).unwrap(),
                ..ObjectMeta::default()
            },
            origin: crate::config::Origin::default(),
            body,
        }
    }

    fn service(name: &str, spec: Value) -> Resource {
        let spec: ServiceSpec = serde_json::from_value(spec).unwrap();
        resource(name, json!({}), Body::Service(Box::new(spec)))
    }

    /// The Service `reviews`: selector `app: reviews`, port `http` 9080 → 8080.
    fn reviews() -> Resource {
        let port = json!({"name": "http", "port": 9080, "targetPort": 8080});
        service(
            "reviews",
            json!({"selector": {"app": "reviews"}, "ports": [port]}),
        )
    }

    /// A Pod of `reviews` at `ip`, running and ready, with these `status` fields replaced.
    fn pod(name: &str, version: &str, ip: &str, status: Value) -> Resource {
        let ready = json!([{"type": "Ready", "status": "True"}]);
        let mut fields = json!({"podIP": ip, "phase": "Running", "conditions": ready});
        if let (Value::Object(fields), Value::Object(replaced)) = (&mut fields, status) {
            fields.extend(replaced);
        }
        let pod: Pod = serde_json::from_value(json!({ "status": fields })).unwrap();
        let labels = json!({"app": "reviews", "version": version});
        resource(name, labels, Body::Pod(Box::new(pod)))
    }

    /// An EndpointSlice of Service `service` with `addressType` `kind`.
    fn slice(name: &str, service: &str, kind: &str, ports: Value, endpoints: Value) -> Resource {
        let body = json!({"addressType": kind, "ports": ports, "endpoints": endpoints});
        let slice: EndpointSlice = serde_json::from_value(body).unwrap();
        let labels = json!({ LABEL_SERVICE_NAME: service });
        resource(name, labels, Body::EndpointSlice(Box::new(slice)))
    }

    /// The one port of the slices of `reviews()`: `http` at 8080.
    fn http() -> Value {
        json!([{"name": "http", "port": 8080}])
    }

    /// A slice endpoint at `ip` for pod `pod` (no targetRef when `None`) with `conditions`.
    fn at(ip: &str, pod: Option<&str>, conditions: Value) -> Value {
        let mut endpoint = json!({"addresses": [ip], "conditions": conditions});
        if let Some(pod) = pod {
            endpoint["targetRef"] = json!({"kind": "Pod", "namespace": "default", "name": pod});
        }
        endpoint
    }

    /// A slice endpoint with `addresses` and no targetRef or condition.
    fn addresses(addresses: &[&str]) -> Value {
        json!({ "addresses": addresses })
    }

    type Found = (String, Option<String>, Option<String>);

    /// `(address, pod name, version label)` of each endpoint of `HOST:port`, `None` when they
    /// are unknown.
    fn found(resources: &[Resource], port: u16) -> Option<Vec<Found>> {
        let refs: Vec<&Resource> = resources.iter().collect();
        let all = discover(&refs);
        let list = all.get(&(HOST.to_owned(), port))?;
        assert!(list.iter().all(|e| !e.is_synthetic()), "{list:?}");
        let version = |e: &Endpoint| e.labels.get("version").cloned();
        Some(
            list.iter()
                .map(|e| (e.address.clone(), e.name.clone(), version(e)))
                .collect(),
        )
    }

    fn endpoint(address: &str, pod: Option<&str>, version: Option<&str>) -> Found {
        let owned = |s: Option<&str>| s.map(String::from);
        (address.to_owned(), owned(pod), owned(version))
    }

    /// istio/istio `pilot/pkg/serviceregistry/kube/controller/endpointslice.go`
    /// `endpointHealthStatus`: unset `ready` is ready; a not-ready endpoint is draining (only
    /// with persistent sessions, while serving and terminating are unset or true), else
    /// terminating (terminating unset or true), else unhealthy.
    #[test]
    fn endpoint_health_status_as_istio_endpoint_health_status() {
        use Health::{Draining, Healthy, Terminating, Unhealthy};
        let (t, f) = (Some(true), Some(false));
        let cases = [
            // ((ready, serving, terminating), persistent sessions, health)
            ((None, None, None), false, Healthy),
            ((t, None, t), true, Healthy),
            ((f, None, None), false, Terminating),
            ((f, None, None), true, Draining),
            ((f, t, t), true, Draining),
            ((f, f, t), true, Terminating),
            ((f, t, t), false, Terminating),
            ((f, f, f), false, Unhealthy),
            ((f, None, f), true, Unhealthy),
        ];
        for ((ready, serving, terminating), persistent, expected) in cases {
            let conditions = EndpointConditions {
                ready,
                serving,
                terminating,
                ..EndpointConditions::default()
            };
            assert_eq!(
                health(&conditions, persistent),
                expected,
                "{conditions:?} {persistent}"
            );
        }
    }

    /// With a slice, a Service's pod endpoints are the slice's (addresses, target ports, the
    /// referenced pods' labels), not the pods its selector selects: a selected pod the slice
    /// does not list is no endpoint, and none is counted twice.
    #[test]
    fn slices_replace_the_selector_pods() {
        let mut resources = vec![
            reviews(),
            pod("reviews-v1", "v1", "10.1.0.1", json!(null)),
            pod("reviews-v2", "v2", "10.1.0.2", json!(null)),
        ];
        assert_eq!(
            found(&resources, 9080).unwrap(),
            [
                endpoint("10.1.0.1:8080", Some("reviews-v1"), Some("v1")),
                endpoint("10.1.0.2:8080", Some("reviews-v2"), Some("v2")),
            ],
            "without a slice: the selector's pods"
        );
        let v2 = at("10.1.0.2", Some("reviews-v2"), json!({"ready": true}));
        resources.push(slice("reviews-abc", "reviews", "IPv4", http(), json!([v2])));
        assert_eq!(
            found(&resources, 9080).unwrap(),
            [endpoint("10.1.0.2:8080", Some("reviews-v2"), Some("v2"))]
        );
    }

    /// `updateEndpointCacheForSlice` builds one endpoint per slice port with that port's name
    /// (`ServicePortName`) and number; the EDS builder gives a Service port the endpoints of
    /// its name (`pilot/pkg/xds/endpoints/endpoint_builder.go` `BuildClusterLoadAssignment`).
    /// A slice port without a number, or whose name no Service port has, serves nothing.
    #[test]
    fn slice_ports_serve_the_service_port_of_their_name() {
        let ports = json!([
            {"name": "grpc", "port": 9090, "targetPort": 7070},
            {"name": "http", "port": 9080, "targetPort": 8080},
            {"name": "admin", "port": 9901}
        ]);
        let slice_ports = json!([
            {"name": "http", "port": 8181},
            {"name": "grpc", "port": 7171},
            {"name": "admin"},
            {"name": "other", "port": 1}
        ]);
        let v1 = at("10.1.0.1", Some("reviews-v1"), json!({}));
        let resources = vec![
            service(
                "reviews",
                json!({"selector": {"app": "reviews"}, "ports": ports}),
            ),
            pod("reviews-v1", "v1", "10.1.0.1", json!(null)),
            slice("reviews-abc", "reviews", "IPv4", slice_ports, json!([v1])),
        ];
        assert_eq!(
            found(&resources, 9080).unwrap(),
            [endpoint("10.1.0.1:8181", Some("reviews-v1"), Some("v1"))]
        );
        assert_eq!(
            found(&resources, 9090).unwrap(),
            [endpoint("10.1.0.1:7171", Some("reviews-v1"), Some("v1"))]
        );
        assert_eq!(found(&resources, 9901).unwrap(), [], "known, and empty");
        // An unnamed slice port serves the Service's unnamed port.
        let resources = vec![
            service("reviews", json!({"ports": [{"port": 80}]})),
            slice(
                "reviews-abc",
                "reviews",
                "IPv4",
                json!([{"port": 8080}]),
                json!([addresses(&["10.9.0.1"])]),
            ),
        ];
        assert_eq!(
            found(&resources, 80).unwrap(),
            [endpoint("10.9.0.1:8080", None, None)]
        );
    }

    /// Only endpoints Envoy load-balances to: not-ready endpoints (unhealthy, terminating,
    /// draining) are left out; a slice whose only endpoint is not ready leaves the Service
    /// port's endpoints known and empty (503 UH), not unknown.
    #[test]
    fn not_ready_endpoints_are_left_out() {
        let endpoints = json!([
            at(
                "10.1.0.1",
                Some("reviews-v1"),
                json!({"ready": false, "serving": false, "terminating": false})
            ),
            at(
                "10.1.0.2",
                Some("reviews-v2"),
                json!({"ready": false, "serving": true, "terminating": true})
            ),
            at("10.1.0.3", Some("reviews-v3"), json!({"serving": true})),
        ]);
        let mut resources = vec![
            reviews(),
            pod("reviews-v1", "v1", "10.1.0.1", json!(null)),
            pod("reviews-v2", "v2", "10.1.0.2", json!(null)),
            pod("reviews-v3", "v3", "10.1.0.3", json!(null)),
            slice("reviews-abc", "reviews", "IPv4", http(), endpoints),
        ];
        let v3 = [endpoint("10.1.0.3:8080", Some("reviews-v3"), Some("v3"))];
        assert_eq!(found(&resources, 9080).unwrap(), v3);
        // A persistent-session Service's draining endpoint is not load-balanced to either.
        let labels = &mut resources[0].metadata.labels;
        labels.insert("istio.io/persistent-session".into(), "SESSION".into());
        assert_eq!(found(&resources, 9080).unwrap(), v3);
        let v1 = at("10.1.0.1", Some("reviews-v1"), json!({"ready": false}));
        resources[4] = slice("reviews-abc", "reviews", "IPv4", http(), json!([v1]));
        assert_eq!(found(&resources, 9080).unwrap(), []);
    }

    /// istio/istio `endpointslice.go` `getPod`: a `targetRef` Pod is looked up by name (a
    /// `Failed` pod is not watched); when it is not known the endpoint waits for it
    /// (`registerEndpointResync`). Without a `targetRef`, the first ready, running pod with
    /// that IP in the slice's namespace lends its labels (`pod.go` `podsByIP`); with none, the
    /// address is an endpoint without labels.
    #[test]
    fn endpoint_labels_come_from_the_referenced_pod() {
        let unready = json!({"conditions": [{"type": "Ready", "status": "False"}]});
        let endpoints = json!([
            // The targetRef names the pod; the pod's own podIP does not matter.
            at("10.1.0.9", Some("reviews-v1"), json!({})),
            at("10.1.0.2", Some("reviews-failed"), json!({})),
            at("10.1.0.5", Some("reviews-not-yet"), json!({})),
            at("10.1.0.3", None, json!({})),
            at("10.1.0.4", None, json!({})),
            at("10.1.0.6", None, json!({})),
        ]);
        let resources = vec![
            reviews(),
            pod("reviews-v1", "v1", "10.1.0.1", json!(null)),
            pod(
                "reviews-failed",
                "v2",
                "10.1.0.2",
                json!({"phase": "Failed"}),
            ),
            pod("reviews-v3", "v3", "10.1.0.3", json!(null)),
            pod("reviews-unready", "v4", "10.1.0.4", unready),
            slice("reviews-abc", "reviews", "IPv4", http(), endpoints),
        ];
        assert_eq!(
            found(&resources, 9080).unwrap(),
            [
                endpoint("10.1.0.9:8080", Some("reviews-v1"), Some("v1")),
                endpoint("10.1.0.3:8080", Some("reviews-v3"), Some("v3")),
                endpoint("10.1.0.4:8080", None, None),
                endpoint("10.1.0.6:8080", None, None),
            ]
        );
    }

    /// A Service without a selector: no endpoints known without a slice (they are managed by
    /// hand), exactly its slices' with them. Slices of another Service, of another namespace,
    /// of Multi-Cluster Services (`endpointSliceSelector`) add nothing, nor do FQDN slices
    /// (`updateEndpointCacheForSlice`, Istio issue 34995); a non-IP address is dropped, and an
    /// address listed in two slices (an endpoint moving between them) is one endpoint
    /// (`endpointSliceCache.get`).
    #[test]
    fn selector_less_service_endpoints_are_its_slices() {
        let mut resources = vec![service(
            "reviews",
            json!({"ports": [{"name": "http", "port": 9080}]}),
        )];
        assert_eq!(found(&resources, 9080), None, "unknown without a slice");
        let one = |ip: &str| json!([addresses(&[ip])]);
        let mut mcs = slice("mcs", "reviews", "IPv4", http(), one("10.7.0.1"));
        let labels = &mut mcs.metadata.labels;
        labels.insert(MCS_SERVICE_NAME_LABEL.into(), "reviews".into());
        let mut elsewhere = slice("elsewhere", "reviews", "IPv4", http(), one("10.7.0.2"));
        elsewhere.metadata.namespace = Some("other".into());
        let ratings = slice("ratings", "ratings", "IPv4", http(), one("10.7.0.3"));
        resources.extend([mcs, elsewhere, ratings]);
        assert_eq!(found(&resources, 9080), None, "no slice of the Service");
        // An FQDN slice is a slice of the Service, with no endpoint Istio reads.
        let fqdn = slice("fqdn", "reviews", "FQDN", http(), one("db.example.com"));
        resources.push(fqdn);
        assert_eq!(found(&resources, 9080).unwrap(), []);
        let two = json!([
            addresses(&["10.8.0.1", "not-an-ip"]),
            addresses(&["10.8.0.2"])
        ]);
        let moved_port = json!([{"name": "http", "port": 8181}]);
        resources.extend([
            slice("a", "reviews", "IPv4", http(), two),
            slice("b", "reviews", "IPv6", http(), one("fd00::1")),
            slice("c", "reviews", "IPv4", moved_port, one("10.8.0.2")),
        ]);
        assert_eq!(
            found(&resources, 9080).unwrap(),
            [
                endpoint("10.8.0.1:8080", None, None),
                endpoint("10.8.0.2:8080", None, None),
                endpoint("[fd00::1]:8080", None, None),
            ]
        );
    }

    /// Istio adds the WorkloadEntries a Service's selector selects to its slices' endpoints
    /// (`endpointslice.go` `pushEDS`, `controller.go` `collectWorkloadInstanceEndpoints`).
    #[test]
    fn workload_entries_still_join_the_slices() {
        let labels = json!({"app": "reviews", "version": "vm"});
        let we = json!({"address": "192.168.9.9", "labels": labels});
        let we: WorkloadEntry = serde_json::from_value(we).unwrap();
        let v1 = at("10.1.0.1", Some("reviews-v1"), json!({}));
        let resources = vec![
            reviews(),
            pod("reviews-v1", "v1", "10.1.0.1", json!(null)),
            pod("reviews-v2", "v2", "10.1.0.2", json!(null)),
            resource("vm", json!({}), Body::WorkloadEntry(Box::new(we))),
            slice("reviews-abc", "reviews", "IPv4", http(), json!([v1])),
        ];
        assert_eq!(
            found(&resources, 9080).unwrap(),
            [
                endpoint("10.1.0.1:8080", Some("reviews-v1"), Some("v1")),
                endpoint("192.168.9.9:8080", Some("vm"), Some("vm")),
            ]
        );
    }
}
