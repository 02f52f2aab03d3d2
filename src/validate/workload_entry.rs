//! Validation of `WorkloadEntry` resources (and of `ServiceEntry` endpoints, which share the
//! type).
//!
//! Follows Istio's `ValidateWorkloadEntry` / `validateWorkloadEntry`
//! (`pkg/config/validation/validation.go`), with Istio's messages.

use std::collections::BTreeSet;

use super::common;
use super::sink::Sink;
use crate::config::*;

pub(crate) fn validate(sink: &mut Sink<'_>, spec: &WorkloadEntry) {
    // A standalone WorkloadEntry is not tied to a ServiceEntry: any port name is allowed and the
    // address may be a DNS name.
    endpoint(sink, "spec", spec, None, true);
}

/// validation.go `validateWorkloadEntry`: the endpoint at `path`. `service_ports` are the port
/// names of the enclosing ServiceEntry (if any); `allow_fqdn` is false for STATIC resolution,
/// where the address must be an IP or a unix socket.
pub(crate) fn endpoint(
    sink: &mut Sink<'_>,
    path: &str,
    entry: &WorkloadEntry,
    service_ports: Option<&BTreeSet<&str>>,
    allow_fqdn: bool,
) {
    let address = entry.address.as_str();
    if address.is_empty() {
        if entry.network.is_empty() {
            sink.error(
                format!("{path}.address"),
                "address is required (or set network for an endpoint reached through a network gateway)",
            );
            return;
        }
        sink.warn(
            format!("{path}.address"),
            format!("address is unset with network {:?}", entry.network),
        );
    }
    let unix = address.strip_prefix("unix://");
    if let Some(socket) = unix {
        if let Err(why) = common::unix_address(socket) {
            sink.error(format!("{path}.address"), why);
        }
        if !entry.ports.is_empty() {
            sink.error(
                format!("{path}.ports"),
                format!("unix endpoint {address} must not include ports"),
            );
        }
    } else if !address.is_empty() && !common::is_ip_address(address) {
        if !allow_fqdn {
            sink.error(
                format!("{path}.address"),
                format!("endpoint address {address:?} is not a valid IP address"),
            );
        } else if common::fqdn(address).is_err() {
            sink.error(
                format!("{path}.address"),
                format!("endpoint address {address:?} is not a valid FQDN or an IP address"),
            );
        }
    }
    for (name, port) in &entry.ports {
        let here = format!("{path}.ports.{name}");
        if service_ports.is_some_and(|ports| !ports.contains(name.as_str())) {
            sink.error(
                here.clone(),
                format!("endpoint port {port} is not defined by the service entry"),
            );
        }
        common::port_name(sink, &here, name);
        common::port(sink, &here, *port);
    }
    common::labels(sink, &format!("{path}.labels"), &entry.labels);
    if unix.is_some() && service_ports.is_some_and(|ports| ports.len() != 1) {
        sink.error(
            format!("{path}.address"),
            "exactly 1 service port required for unix endpoints",
        );
    }
}
