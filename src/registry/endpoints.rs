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

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::balance::endpoint::Endpoint;
use crate::config::{Body, Container, IntOrString, Resolution, Resource, ServiceSpecPort};
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
    labels: BTreeMap<String, String>,
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
                    labels: resource.metadata.labels.clone(),
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
                        labels: deployment.template.metadata.labels.clone(),
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
                    resource.metadata.labels.clone()
                } else {
                    we.labels.clone()
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
    let mut out: BTreeMap<(String, u16), Vec<Endpoint>> = BTreeMap::new();
    for resource in resources {
        let namespace = resource.namespace();
        match &resource.body {
            // A Service without a selector has its endpoints managed by hand (EndpointSlices
            // meshroute does not read): unknown rather than none.
            Body::Service(svc) if !svc.selector.is_empty() => {
                let fqdn = host::resolve(resource.name(), namespace);
                for port in &svc.ports {
                    let Ok(service_port) = u16::try_from(port.port) else {
                        continue;
                    };
                    let list = out.entry((fqdn.clone(), service_port)).or_default();
                    for w in workloads
                        .iter()
                        .filter(|w| w.namespace == namespace && selects(&svc.selector, &w.labels))
                    {
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
                                w.namespace == namespace && selects(&selector.labels, &w.labels)
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
}
