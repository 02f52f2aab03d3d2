//! Validation of `ServiceEntry` resources.
//!
//! Follows Istio's `ValidateServiceEntry` (`pkg/config/validation/validation.go`), with Istio's
//! messages. Endpoints are checked with the WorkloadEntry rules (`validateWorkloadEntry`).
//! IP auto-allocation is taken as enabled (Istio's default since 1.25): it applies unless the
//! resolution is `NONE` or the label `networking.istio.io/enable-autoallocate-ip` is `false`.
//! For `DYNAMIC_DNS`, which Istio's webhook does not check yet, the constraints its API
//! documentation states are reported as warnings.

use std::collections::BTreeSet;

use super::common;
use super::sink::Sink;
use super::workload_entry;
use crate::config::*;
use crate::util::protocol::Protocol;

/// The label a ServiceEntry uses to opt out of IP auto-allocation.
const AUTOALLOCATE_LABEL: &str = "networking.istio.io/enable-autoallocate-ip";

pub(crate) fn validate(sink: &mut Sink<'_>, spec: &ServiceEntry) {
    let resource = sink.resource();
    let namespace = resource.namespace();

    if let Some(selector) = &spec.workload_selector {
        common::selector_labels(sink, "spec.workloadSelector.labels", &selector.labels);
        if selector.labels.is_empty() {
            sink.warn(
                "spec.workloadSelector",
                "service entry: workload selector specified without labels, will be applied to all services in namespace",
            );
        }
        if !spec.endpoints.is_empty() {
            sink.error(
                "spec.workloadSelector",
                "only one of WorkloadSelector or Endpoints is allowed in Service Entry",
            );
        }
    }

    if spec.hosts.is_empty() {
        sink.error("spec.hosts", "service entry must have at least one host");
    }
    for (i, host) in spec.hosts.iter().enumerate() {
        let here = format!("spec.hosts[{i}]");
        if host == "*" {
            sink.error(
                here,
                "invalid host *: a ServiceEntry cannot claim every host; use a wildcard such as *.example.com",
            );
            continue;
        }
        if let Err(why) =
            common::wildcard_domain(host).and_then(|()| common::numeric_top_level_domain(host))
        {
            sink.error(here.clone(), why);
        }
        if let Err(why) = common::partial_wildcard(host) {
            sink.warn(here, why);
        }
    }

    let mut cidr = false;
    for (i, address) in spec.addresses.iter().enumerate() {
        cidr |= address.contains('/');
        if let Err(why) = common::ip_subnet(address) {
            sink.error(format!("spec.addresses[{i}]"), why);
        }
    }
    if cidr && !matches!(spec.resolution, Resolution::None | Resolution::Static) {
        sink.error(
            "spec.resolution",
            "CIDR addresses are allowed only for NONE/STATIC resolution types",
        );
    }

    let opted_out = resource
        .metadata
        .labels
        .get(AUTOALLOCATE_LABEL)
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let auto_allocation =
        spec.resolution != Resolution::None && !opted_out && spec.addresses.is_empty();
    let mut port_names = BTreeSet::new();
    let mut port_numbers = BTreeSet::new();
    for (i, port) in spec.ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        if !port_names.insert(port.name.as_str()) {
            sink.error(
                format!("{path}.name"),
                format!("service entry port name {:?} already defined", port.name),
            );
        }
        if !port_numbers.insert(port.number) {
            sink.error(
                format!("{path}.number"),
                format!("service entry port {} already defined", port.number),
            );
        }
        if let Some(target) = port.target_port.filter(|p| *p != 0) {
            common::port(sink, &format!("{path}.targetPort"), target);
        }
        if spec.addresses.is_empty()
            && !auto_allocation
            && (port.protocol.is_empty() || port.protocol == "TCP")
        {
            sink.warn(
                path.clone(),
                "addresses are required for ports serving TCP (or unset) protocol when IP Autoallocation is not enabled",
            );
        }
        common::port_name(sink, &format!("{path}.name"), &port.name);
        common::protocol(sink, &format!("{path}.protocol"), &port.protocol);
        common::port(sink, &format!("{path}.number"), port.number);
    }

    match spec.resolution {
        Resolution::None => {
            if !spec.endpoints.is_empty() {
                sink.error(
                    "spec.endpoints",
                    "no endpoints should be provided for resolution type none",
                );
            }
            if spec.workload_selector.is_some() {
                sink.warn(
                    "spec.workloadSelector",
                    "workloadSelector should not be set when resolution mode is NONE",
                );
            }
        }
        Resolution::Static => {
            for (i, endpoint) in spec.endpoints.iter().enumerate() {
                workload_entry::endpoint(
                    sink,
                    &format!("spec.endpoints[{i}]"),
                    endpoint,
                    Some(&port_names),
                    false,
                );
            }
        }
        Resolution::Dns | Resolution::DnsRoundRobin => {
            dns_endpoints(sink, spec, &port_names);
        }
        Resolution::DynamicDns => {
            if spec.location != Location::MeshExternal {
                sink.warn(
                    "spec.location",
                    "DYNAMIC_DNS resolution is only supported for MESH_EXTERNAL service entries",
                );
            }
            if !spec.endpoints.is_empty() {
                sink.warn(
                    "spec.endpoints",
                    "endpoints are ignored with DYNAMIC_DNS resolution",
                );
            }
            for (i, host) in spec.hosts.iter().enumerate() {
                if !host.starts_with('*') {
                    sink.warn(
                        format!("spec.hosts[{i}]"),
                        "DYNAMIC_DNS resolution must be used with wildcard hosts",
                    );
                }
            }
        }
    }

    // Plain TCP cannot tell several hosts apart (HTTP has the Host header, TLS the SNI), unless
    // the resolution is NONE and the hosts are ignored.
    if spec.resolution != Resolution::None && spec.hosts.len() > 1 {
        if let Some(i) = spec.ports.iter().position(|port| {
            let protocol = Protocol::parse(&port.protocol);
            !protocol.is_http() && !protocol.is_tls()
        }) {
            sink.error(
                format!("spec.ports[{i}].protocol"),
                "multiple hosts provided with non-HTTP, non-TLS ports",
            );
        }
    }

    common::export_to(
        sink,
        "spec.exportTo",
        namespace,
        &spec.export_to,
        true,
        false,
    );
}

/// validation.go `ValidateServiceEntry`, DNS and DNS_ROUND_ROBIN resolution.
fn dns_endpoints(sink: &mut Sink<'_>, spec: &ServiceEntry, port_names: &BTreeSet<&str>) {
    let resolution = spec.resolution;
    if spec.endpoints.is_empty() {
        for (i, host) in spec.hosts.iter().enumerate() {
            if common::fqdn(host).is_err() {
                sink.error(
                    format!("spec.hosts[{i}]"),
                    format!(
                        "hosts must be FQDN if no endpoints are provided for resolution mode {resolution} (use resolution NONE for wildcard hosts)"
                    ),
                );
            }
        }
    }
    if resolution == Resolution::DnsRoundRobin && spec.endpoints.len() > 1 {
        sink.error(
            "spec.endpoints",
            format!("there must only be 0 or 1 endpoint for resolution mode {resolution}"),
        );
    }
    for (i, endpoint) in spec.endpoints.iter().enumerate() {
        let path = format!("spec.endpoints[{i}]");
        let address = &endpoint.address;
        if !common::is_ip_address(address) && common::fqdn(address).is_err() {
            sink.error(
                format!("{path}.address"),
                format!("endpoint address {address:?} is not a valid FQDN or an IP address"),
            );
        }
        common::labels(sink, &format!("{path}.labels"), &endpoint.labels);
        for (name, port) in &endpoint.ports {
            let here = format!("{path}.ports.{name}");
            if !port_names.contains(name.as_str()) {
                sink.error(
                    here.clone(),
                    format!("endpoint port {port} is not defined by the service entry"),
                );
            }
            common::port_name(sink, &here, name);
            common::port(sink, &here, *port);
        }
    }
    if !spec.addresses.is_empty()
        && spec.hosts.len() > 1
        && spec
            .ports
            .iter()
            .any(|port| Protocol::parse(&port.protocol).is_tcp())
    {
        sink.warn(
            "spec.hosts",
            "service entry can not have more than one host specified simultaneously with address and tcp port",
        );
    }
}
