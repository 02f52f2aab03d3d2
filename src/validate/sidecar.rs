//! Validation of `Sidecar` resources.
//!
//! Follows Istio's `ValidateSidecar`, `validateSidecarOutboundTrafficPolicy`,
//! `validateSidecarEgressPortBindAndCaptureMode`, `validateSidecarIngressPortAndBind` and
//! `ValidateAlphaWorkloadSelector` (`pkg/config/validation/validation.go`) and
//! `agent.ValidateNamespaceSlashWildcardHostname` for sidecars
//! (`pkg/config/validation/agent/validation.go`), with Istio's messages.

use std::collections::{BTreeMap, BTreeSet};

use super::common::{self, Protocol};
use super::destination_rule::connection_pool;
use super::gateway::tls_options;
use super::sink::Sink;
use super::virtual_service::destination;
use crate::config::{
    CaptureMode, IstioEgressListener, IstioIngressListener, OutboundTrafficMode,
    OutboundTrafficPolicy, ServerTlsMode, Sidecar, SidecarPort,
};

pub(crate) fn validate(sink: &mut Sink<'_>, spec: &Sidecar) {
    if let Some(selector) = &spec.workload_selector {
        let before = sink.len();
        common::selector_labels(sink, "spec.workloadSelector.labels", &selector.labels);
        // Istio returns on a selector error, before anything else is checked.
        if sink.len() > before {
            return;
        }
        if selector.labels.is_empty() {
            sink.warn(
                "spec.workloadSelector",
                "sidecar: workload selector specified without labels, will be applied to all services in namespace",
            );
        }
    }
    if spec.egress.is_empty()
        && spec.ingress.is_empty()
        && spec.outbound_traffic_policy.is_none()
        && spec.inbound_connection_pool.is_none()
    {
        sink.error("spec", "sidecar: empty configuration provided");
        return;
    }
    let mut ports = BTreeSet::new();
    for (i, listener) in spec.ingress.iter().enumerate() {
        ingress(sink, &format!("spec.ingress[{i}]"), listener, &mut ports);
    }
    if let Some(pool) = &spec.inbound_connection_pool {
        connection_pool(sink, "spec.inboundConnectionPool", pool);
    }
    let mut ports = BTreeSet::new();
    let mut sockets = BTreeSet::new();
    let mut catch_all = false;
    let namespace = sink.resource().namespace().to_owned();
    for (i, listener) in spec.egress.iter().enumerate() {
        let path = format!("spec.egress[{i}]");
        match &listener.port {
            None => {
                if catch_all {
                    sink.error(
                        format!("{path}.port"),
                        "sidecar: egress can have only one listener with empty port",
                    );
                    continue;
                }
                if i + 1 == spec.egress.len() {
                    catch_all = true;
                } else {
                    sink.error(
                        format!("{path}.port"),
                        "sidecar: the egress listener with empty port should be the last listener in the list",
                    );
                }
            }
            Some(port) => {
                if port.target_port > 0 {
                    sink.error(
                        format!("{path}.port.targetPort"),
                        "targetPort has no impact on Sidecars",
                    );
                }
                egress_port(sink, &path, port, listener);
                if port.number == 0 {
                    if !sockets.insert(listener.bind.clone()) {
                        sink.error(
                            format!("{path}.bind"),
                            "sidecar: unix domain socket values for listeners must be unique",
                        );
                    }
                } else if !ports.insert(port.number) {
                    sink.error(
                        format!("{path}.port.number"),
                        "sidecar: ports on IP bound listeners must be unique",
                    );
                }
            }
        }
        egress_hosts(sink, &path, &listener.hosts, &namespace);
    }
    if let Some(policy) = &spec.outbound_traffic_policy {
        outbound_traffic_policy(sink, "spec.outboundTrafficPolicy", policy);
    }
}

fn ingress(
    sink: &mut Sink<'_>,
    path: &str,
    listener: &IstioIngressListener,
    ports: &mut BTreeSet<u32>,
) {
    let Some(port) = &listener.port else {
        sink.error(
            format!("{path}.port"),
            "sidecar: port is required for ingress listeners",
        );
        return;
    };
    if port.target_port > 0 {
        sink.error(
            format!("{path}.port.targetPort"),
            "targetPort has no impact on Sidecars",
        );
    }
    // validateSidecarIngressPortAndBind
    if !port.name.is_empty() {
        common::port_name(sink, &format!("{path}.port.name"), &port.name);
    }
    common::protocol(sink, &format!("{path}.port.protocol"), &port.protocol);
    common::port(sink, &format!("{path}.port.number"), port.number);
    if !listener.bind.is_empty() && !common::is_ip_address(&listener.bind) {
        sink.error(
            format!("{path}.bind"),
            format!("{} is not a valid IP", listener.bind),
        );
    }
    if !ports.insert(port.number) {
        sink.error(
            format!("{path}.port.number"),
            "sidecar: ports on IP bound listeners must be unique",
        );
    }
    if !listener.default_endpoint.is_empty() {
        default_endpoint(
            sink,
            &format!("{path}.defaultEndpoint"),
            &listener.default_endpoint,
        );
    }
    if let Some(tls) = &listener.tls {
        let here = format!("{path}.tls");
        if !tls.subject_alt_names.is_empty() {
            sink.error(
                here.clone(),
                "sidecar: subjectAltNames is not supported in ingress tls",
            );
        }
        if tls.https_redirect {
            sink.error(here.clone(), "sidecar: httpsRedirect is not supported");
        }
        if !tls.credential_name.is_empty() {
            sink.error(
                here.clone(),
                "sidecar: credentialName is not currently supported",
            );
        }
        if !tls.credential_names.is_empty() {
            sink.error(
                here.clone(),
                "sidecar: credentialNames is not currently supported",
            );
        }
        if !tls.tls_certificates.is_empty() {
            sink.error(
                here.clone(),
                "sidecar: tls_certificates is not currently supported",
            );
        }
        if matches!(
            tls.mode,
            ServerTlsMode::IstioMutual | ServerTlsMode::AutoPassthrough
        ) {
            sink.error(
                here.clone(),
                format!(
                    "configuration is invalid: cannot set mode to {} in sidecar ingress tls",
                    tls.mode
                ),
            );
        }
        if !Protocol::parse(&port.protocol).is_tls() {
            sink.error(
                here.clone(),
                "server cannot have TLS settings for non HTTPS/TLS ports",
            );
        }
        tls_options(sink, &here, tls);
    }
    if let Some(pool) = &listener.connection_pool {
        connection_pool(sink, &format!("{path}.connectionPool"), pool);
        if pool.http.is_some() && !Protocol::parse(&port.protocol).is_http() {
            sink.warn(
                format!("{path}.connectionPool.http"),
                format!(
                    "sidecar: HTTP connection pool settings are configured for port {} ({:?}) but its protocol is not HTTP ({}); only TCP settings will apply",
                    port.number, port.name, port.protocol
                ),
            );
        }
    }
}

/// `defaultEndpoint`: `127.0.0.1:PORT`, `0.0.0.0:PORT`, `[::1]:PORT`, `[::]:PORT`, `:PORT` or
/// `unix://path`.
fn default_endpoint(sink: &mut Sink<'_>, path: &str, endpoint: &str) {
    if let Some(socket) = endpoint.strip_prefix("unix://") {
        if let Err(why) = common::unix_address(socket) {
            sink.error(path, why);
        }
        return;
    }
    let Some((host, port)) = split_host_port(endpoint) else {
        sink.error(path, format!("address {endpoint}: missing port in address"));
        return;
    };
    if !host.is_empty() && !matches!(host, "127.0.0.1" | "0.0.0.0" | "::1" | "::") {
        sink.error(
            path,
            "sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset",
        );
    }
    match port.parse::<i64>() {
        Ok(number) => common::port(sink, &path, u32::try_from(number).unwrap_or(0)),
        Err(_) => sink.error(
            path,
            format!("sidecar: defaultEndpoint port ({port}) is not a number"),
        ),
    }
}

/// Go's `net.SplitHostPort` for the forms a default endpoint takes.
fn split_host_port(address: &str) -> Option<(&str, &str)> {
    if let Some(rest) = address.strip_prefix('[') {
        let (host, port) = rest.split_once("]:")?;
        return Some((host, port));
    }
    let (host, port) = address.rsplit_once(':')?;
    (!host.contains(':')).then_some((host, port))
}

/// `validateSidecarEgressPortBindAndCaptureMode`.
fn egress_port(
    sink: &mut Sink<'_>,
    path: &str,
    port: &SidecarPort,
    listener: &IstioEgressListener,
) {
    if !port.name.is_empty() {
        common::port_name(sink, &format!("{path}.port.name"), &port.name);
    }
    common::protocol(sink, &format!("{path}.port.protocol"), &port.protocol);
    let bind = &listener.bind;
    if port.number == 0 {
        match bind.strip_prefix("unix://") {
            Some(socket) => {
                if let Err(why) = common::unix_address(socket) {
                    sink.error(format!("{path}.bind"), why);
                }
            }
            None => sink.error(
                format!("{path}.bind"),
                "sidecar: ports with 0 value must have a unix domain socket bind address",
            ),
        }
        if !matches!(
            listener.capture_mode,
            CaptureMode::Default | CaptureMode::None
        ) {
            sink.error(
                format!("{path}.captureMode"),
                "sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners",
            );
        }
    } else {
        common::port(sink, &format!("{path}.port.number"), port.number);
        if !bind.is_empty() && !common::is_ip_address(bind) {
            sink.error(format!("{path}.bind"), format!("{bind} is not a valid IP"));
        }
    }
}

/// The egress `hosts`: at least one, each `namespace/dnsName`; duplicates and hosts next to
/// `*/*` are warnings.
fn egress_hosts(sink: &mut Sink<'_>, path: &str, hosts: &[String], namespace: &str) {
    if hosts.is_empty() {
        sink.error(
            format!("{path}.hosts"),
            "sidecar: egress listener must contain at least one host",
        );
        return;
    }
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, host) in hosts.iter().enumerate() {
        let here = format!("{path}.hosts[{i}]");
        if let Some((ns, name)) = host.split_once('/').filter(|(ns, _)| !ns.starts_with('~')) {
            let ns = if ns == "." { namespace } else { ns };
            let names = seen.entry(ns.to_owned()).or_default();
            let duplicate = if name == "*" {
                !names.is_empty()
            } else {
                names.contains(name) || names.contains("*")
            };
            if duplicate {
                sink.warn(here.clone(), format!("duplicated egress host: {host}"));
            }
            names.insert(name.to_owned());
        }
        for why in namespace_slash_hostname(host) {
            sink.error(here.clone(), why);
        }
    }
    if seen.get("*").is_some_and(|names| names.contains("*")) && seen.len() != 1 {
        sink.warn(
            format!("{path}.hosts"),
            "`*/*` host select all resources, no other hosts can be added",
        );
    }
}

/// agent/validation.go `ValidateNamespaceSlashWildcardHostname` for sidecars.
fn namespace_slash_hostname(host: &str) -> Vec<String> {
    let Some((namespace, name)) = host.split_once('/') else {
        return vec!["host must be of form namespace/dnsName".to_owned()];
    };
    let mut errors = Vec::new();
    if namespace.is_empty() || name.is_empty() {
        errors.push("config namespace and dnsName in host entry cannot be empty".to_owned());
    }
    let ns = namespace.strip_prefix('~').unwrap_or(namespace);
    if !ns.is_empty() && ns != "*" && ns != "." && !common::is_dns1123_label(ns) {
        errors.push(format!("invalid namespace value {namespace:?} in sidecar"));
    }
    // validateSidecarOrGatewayHostnamePart (not a gateway: no IP addresses).
    if name != "*" && !name.contains('.') {
        errors.push("short names (non FQDN) are not allowed".to_owned());
    }
    // Istio reports this error once for a sidecar, and a second time unless the name is an IP
    // address; meshroute reports it once.
    if let Err(why) = common::wildcard_domain(name) {
        errors.push(why);
    }
    if let Err(why) = common::partial_wildcard(name) {
        errors.push(why);
    }
    errors
}

/// `validateSidecarOutboundTrafficPolicy`.
fn outbound_traffic_policy(sink: &mut Sink<'_>, path: &str, policy: &OutboundTrafficPolicy) {
    let Some(proxy) = &policy.egress_proxy else {
        return;
    };
    let here = format!("{path}.egressProxy");
    if policy.mode != OutboundTrafficMode::AllowAny {
        sink.error(
            here,
            "sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode",
        );
        return;
    }
    if let Err(why) = common::fqdn(&proxy.host) {
        sink.error(format!("{here}.host"), why);
    }
    if proxy.port.is_none() {
        sink.error(
            format!("{here}.port"),
            "sidecar: egress_proxy port must be non-nil",
        );
        return;
    }
    destination(sink, &here, proxy);
}
