//! Validation of `ServiceEntry` resources.
//!
//! Follows Istio's `ValidateServiceEntry` (`pkg/config/validation/validation.go`), with Istio's
//! messages. Endpoints are checked with the WorkloadEntry rules (`validateWorkloadEntry`).
//! IP auto-allocation is taken as enabled (Istio's default since 1.25): it applies unless the
//! resolution is `NONE` or the label `networking.istio.io/enable-autoallocate-ip` is `false`.
//! For `DYNAMIC_DNS`, which Istio's webhook does not check yet, the constraints its API
//! documentation states are reported as warnings.

use std::collections::BTreeSet;

use crate::compile::diagnostics::Sink;
use crate::compile::rules::{self, Protocol};
use crate::compile::workload_entry;
use crate::config::*;

/// The label a ServiceEntry uses to opt out of IP auto-allocation.
const AUTOALLOCATE_LABEL: &str = "networking.istio.io/enable-autoallocate-ip";

pub(crate) fn validate(sink: &mut Sink<'_>, spec: &ServiceEntry) {
    let resource = sink.resource();
    let namespace = resource.namespace();

    if let Some(selector) = &spec.workload_selector {
        rules::selector_labels(sink, "spec.workloadSelector.labels", &selector.labels);
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
            rules::wildcard_domain(host).and_then(|()| rules::numeric_top_level_domain(host))
        {
            sink.error(here.clone(), why);
        }
        if let Err(why) = rules::partial_wildcard(host) {
            sink.warn(here, why);
        }
    }

    let mut cidr = false;
    for (i, address) in spec.addresses.iter().enumerate() {
        cidr |= address.contains('/');
        if let Err(why) = rules::ip_subnet(address) {
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
            rules::port(sink, &format!("{path}.targetPort"), target);
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
        rules::port_name(sink, &format!("{path}.name"), &port.name);
        rules::protocol(sink, &format!("{path}.protocol"), &port.protocol);
        rules::port(sink, &format!("{path}.number"), port.number);
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

    rules::export_to(
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
            if rules::fqdn(host).is_err() {
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
        if !rules::is_ip_address(address) && rules::fqdn(address).is_err() {
            sink.error(
                format!("{path}.address"),
                format!("endpoint address {address:?} is not a valid FQDN or an IP address"),
            );
        }
        rules::labels(sink, &format!("{path}.labels"), &endpoint.labels);
        for (name, port) in &endpoint.ports {
            let here = format!("{path}.ports.{name}");
            if !port_names.contains(name.as_str()) {
                sink.error(
                    here.clone(),
                    format!("endpoint port {port} is not defined by the service entry"),
                );
            }
            rules::port_name(sink, &here, name);
            rules::port(sink, &here, *port);
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

#[cfg(test)]
mod tests {
    use crate::compile::test_support::*;
    use crate::compile::{Diagnostic, check_yaml};

    /// Loads a ServiceEntry in namespace `default` whose spec is `spec` (unindented), with the
    /// given extra metadata lines.
    fn se_with(metadata: &str, spec: &str) -> Vec<Diagnostic> {
        let spec: String = spec.lines().map(|line| format!("  {line}\n")).collect();
        check_yaml(&format!(
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: ext\n  namespace: default\n{metadata}spec:\n{spec}"
        ))
    }

    fn se(spec: &str) -> Vec<Diagnostic> {
        se_with("", spec)
    }

    const HTTP_PORT: &str = "ports: [{number: 80, name: http, protocol: HTTP}]";

    /// ServiceEntries using every field load without a warning.
    #[test]
    fn every_field_is_modelled() {
        assert_no_diagnostics(&se(r#"hosts: [api.example.com]
addresses: [240.0.0.1]
ports:
- {number: 443, name: https, protocol: TLS, targetPort: 8443}
- {number: 80, name: http, protocol: HTTP}
location: MESH_EXTERNAL
resolution: DNS
endpoints:
- address: us.api.example.com
  ports: {https: 443}
  labels: {region: us}
  network: n1
  locality: us-east
  weight: 3
  serviceAccount: api
exportTo: ["*"]
subjectAltNames: [api.example.com]
"#));
        assert_no_diagnostics(&se(r#"hosts: [details.bookinfo.com]
location: MESH_INTERNAL
ports: [{number: 80, name: http, protocol: HTTP}]
resolution: STATIC
workloadSelector: {labels: {app: details}}
exportTo: [".", other]
"#));
        assert_no_diagnostics(&se(
            "hosts: [\"*.example.com\"]\nports: [{number: 443, name: tls, protocol: TLS}]\nresolution: DYNAMIC_DNS",
        ));
    }

    /// validation.go ValidateServiceEntry: at least one host.
    #[test]
    fn hosts_required() {
        assert_error(
            &se(HTTP_PORT),
            "spec.hosts",
            "service entry must have at least one host",
        );
    }

    /// validation.go ValidateServiceEntry: `*` is not a valid host; others are wildcard domains.
    #[test]
    fn hosts_valid() {
        let d = se(&format!(
            "hosts: [\"*\", \"foo.*\", \"*.ok.com\"]\n{HTTP_PORT}"
        ));
        assert_error(&d, "spec.hosts[0]", "invalid host *");
        assert_error(&d, "spec.hosts[1]", "invalid");
        assert_clean(&d, "spec.hosts[2]");
    }

    /// validation.go ValidateServiceEntry (`agent.ValidatePartialWildCard`): a partial wildcard
    /// only warns.
    #[test]
    fn partial_wildcard_warns() {
        let d = se(&format!("hosts: [\"*foo.com\"]\n{HTTP_PORT}"));
        assert_warning(
            &d,
            "spec.hosts[0]",
            "partial wildcard \"*foo.com\" not allowed",
        );
        assert!(!d.iter().any(Diagnostic::is_error), "{d:#?}");
    }

    /// validation.go ValidateServiceEntry (`agent.ValidateIPSubnet`): addresses are IPs or CIDRs.
    #[test]
    fn addresses_valid() {
        let d = se(&format!(
            "hosts: [a.com]\naddresses: [10.0.0.300, 10.0.0.0/33, \"2001:db8::/32\", 10.1.0.1]\n{HTTP_PORT}"
        ));
        assert_error(&d, "spec.addresses[0]", "10.0.0.300 is not a valid IP");
        assert_error(
            &d,
            "spec.addresses[1]",
            "10.0.0.0/33 is not a valid CIDR block",
        );
        assert_clean(&d, "spec.addresses[2]");
        assert_clean(&d, "spec.addresses[3]");
    }

    /// validation.go ValidateServiceEntry: CIDR addresses need NONE or STATIC resolution.
    #[test]
    fn cidr_needs_none_or_static() {
        assert_error(
            &se(&format!(
                "hosts: [a.com]\naddresses: [10.0.0.0/8]\nresolution: DNS\n{HTTP_PORT}"
            )),
            "spec.resolution",
            "CIDR addresses are allowed only for NONE/STATIC resolution types",
        );
        assert_clean(
            &se(&format!(
                "hosts: [a.com]\naddresses: [10.0.0.0/8]\nresolution: NONE\n{HTTP_PORT}"
            )),
            "spec.resolution",
        );
    }

    /// validation.go ValidateServiceEntry: port names and numbers are unique.
    #[test]
    fn ports_unique() {
        let d = se(
            "hosts: [a.com]\nports: [{number: 80, name: http, protocol: HTTP}, {number: 80, name: http, protocol: HTTP}]",
        );
        assert_error(
            &d,
            "spec.ports[1].name",
            "service entry port name \"http\" already defined",
        );
        assert_error(
            &d,
            "spec.ports[1].number",
            "service entry port 80 already defined",
        );
        assert_clean(&d, "spec.ports[0].name");
    }

    /// validation.go ValidateServiceEntry: port name, protocol and numbers are valid.
    #[test]
    fn ports_valid() {
        let d = se(
            "hosts: [a.com]\nresolution: DNS\nports: [{number: 0, name: http_1, protocol: HTTP3, targetPort: 70000}]",
        );
        assert_error(&d, "spec.ports[0].name", "invalid port name: http_1");
        assert_error(&d, "spec.ports[0].protocol", "unsupported protocol: HTTP3");
        assert_error(
            &d,
            "spec.ports[0].number",
            "port number 0 must be in the range 1..65535",
        );
        assert_error(
            &d,
            "spec.ports[0].targetPort",
            "port number 70000 must be in the range 1..65535",
        );
        assert_no_diagnostics(&se(
            "hosts: [a.com]\nresolution: DNS\nports: [{number: 9090, name: grpc, protocol: grpc, targetPort: 0}]",
        ));
    }

    /// validation.go ValidateServiceEntry: without addresses or IP auto-allocation (resolution
    /// NONE, or opted out by label), TCP ports warn.
    #[test]
    fn tcp_ports_without_addresses_warn() {
        let tcp = "hosts: [a.com]\nports: [{number: 3306, name: db, protocol: TCP}]";
        assert_warning(
            &se(tcp),
            "spec.ports[0]",
            "addresses are required for ports serving TCP",
        );
        let opted_out = se_with(
            "  labels: {networking.istio.io/enable-autoallocate-ip: \"false\"}\n",
            &format!("{tcp}\nresolution: DNS"),
        );
        assert_warning(
            &opted_out,
            "spec.ports[0]",
            "IP Autoallocation is not enabled",
        );
        assert_clean(&se(&format!("{tcp}\nresolution: DNS")), "spec.ports[0]");
        assert_clean(
            &se(&format!("{tcp}\naddresses: [10.0.0.1]")),
            "spec.ports[0]",
        );
    }

    /// validation.go ValidateServiceEntry: workloadSelector and endpoints are exclusive.
    #[test]
    fn selector_or_endpoints() {
        let d = se(&format!(
            "hosts: [a.com]\nresolution: STATIC\n{HTTP_PORT}\nworkloadSelector: {{labels: {{app: a}}}}\nendpoints: [{{address: 10.0.0.1}}]"
        ));
        assert_error(
            &d,
            "spec.workloadSelector",
            "only one of WorkloadSelector or Endpoints is allowed",
        );
    }

    /// validation.go ValidateAlphaWorkloadSelector: no wildcards; an empty selector warns.
    #[test]
    fn workload_selector_rules() {
        let d = se(&format!(
            "hosts: [a.com]\nresolution: STATIC\n{HTTP_PORT}\nworkloadSelector: {{labels: {{app: \"*\"}}}}"
        ));
        assert_error(
            &d,
            "spec.workloadSelector.labels.app",
            "wildcard is not supported in selector",
        );
        let empty = se(&format!(
            "hosts: [a.com]\nresolution: STATIC\n{HTTP_PORT}\nworkloadSelector: {{}}"
        ));
        assert_warning(
            &empty,
            "spec.workloadSelector",
            "workload selector specified without labels",
        );
    }

    /// validation.go ValidateServiceEntry: NONE takes no endpoints, and a selector only warns.
    #[test]
    fn resolution_none() {
        let d = se(&format!(
            "hosts: [a.com]\nresolution: NONE\n{HTTP_PORT}\nendpoints: [{{address: 10.0.0.1}}]"
        ));
        assert_error(
            &d,
            "spec.endpoints",
            "no endpoints should be provided for resolution type none",
        );
        let selector = se(&format!(
            "hosts: [a.com]\n{HTTP_PORT}\nworkloadSelector: {{labels: {{app: a}}}}"
        ));
        assert_warning(
            &selector,
            "spec.workloadSelector",
            "should not be set when resolution mode is NONE",
        );
    }

    /// validation.go ValidateServiceEntry (`validateWorkloadEntry`): STATIC endpoints are IPs
    /// or unix sockets, with ports named after the service's ports.
    #[test]
    fn resolution_static_endpoints() {
        let d = se(&format!(
            "hosts: [a.com]\nresolution: STATIC\n{HTTP_PORT}\nendpoints: [{{address: a.example.com}}, {{address: 10.0.0.1, ports: {{grpc: 9090}}}}, {{address: 10.0.0.2, ports: {{http: 8080}}}}]"
        ));
        assert_error(
            &d,
            "spec.endpoints[0].address",
            "endpoint address \"a.example.com\" is not a valid IP address",
        );
        assert_error(
            &d,
            "spec.endpoints[1].ports.grpc",
            "endpoint port 9090 is not defined by the service entry",
        );
        assert_clean(&d, "spec.endpoints[2].ports.http");
        assert_clean(&d, "spec.endpoints[2].address");
    }

    /// validation.go validateWorkloadEntry: a unix endpoint needs exactly one service port.
    #[test]
    fn unix_endpoint_needs_one_port() {
        let d = se(
            "hosts: [a.com]\nresolution: STATIC\nports: [{number: 80, name: http, protocol: HTTP}, {number: 81, name: http2, protocol: HTTP}]\nendpoints: [{address: \"unix:///sock\"}]",
        );
        assert_error(
            &d,
            "spec.endpoints[0].address",
            "exactly 1 service port required for unix endpoints",
        );
        let ok = se(&format!(
            "hosts: [a.com]\nresolution: STATIC\n{HTTP_PORT}\nendpoints: [{{address: \"unix:///sock\"}}]"
        ));
        assert_clean(&ok, "spec.endpoints[0].address");
    }

    /// validation.go ValidateServiceEntry: with DNS resolution and no endpoints, hosts must be
    /// FQDNs (no wildcards).
    #[test]
    fn dns_without_endpoints_needs_fqdn_hosts() {
        let d = se(&format!(
            "hosts: [\"*.a.com\"]\nresolution: DNS\n{HTTP_PORT}"
        ));
        assert_error(
            &d,
            "spec.hosts[0]",
            "hosts must be FQDN if no endpoints are provided for resolution mode DNS",
        );
        let with_endpoint = se(&format!(
            "hosts: [\"*.a.com\"]\nresolution: DNS\n{HTTP_PORT}\nendpoints: [{{address: a.com}}]"
        ));
        assert_clean(&with_endpoint, "spec.hosts[0]");
    }

    /// validation.go ValidateServiceEntry: DNS_ROUND_ROBIN takes at most one endpoint.
    #[test]
    fn dns_round_robin_single_endpoint() {
        let d = se(&format!(
            "hosts: [a.com]\nresolution: DNS_ROUND_ROBIN\n{HTTP_PORT}\nendpoints: [{{address: b.com}}, {{address: c.com}}]"
        ));
        assert_error(
            &d,
            "spec.endpoints",
            "there must only be 0 or 1 endpoint for resolution mode DNS_ROUND_ROBIN",
        );
        assert_no_diagnostics(&se(&format!(
            "hosts: [a.com]\nresolution: DNS_ROUND_ROBIN\n{HTTP_PORT}\nendpoints: [{{address: b.com}}]"
        )));
    }

    /// validation.go ValidateServiceEntry: DNS endpoints are IPs or FQDNs, with valid labels
    /// and ports named after the service's ports.
    #[test]
    fn dns_endpoints_valid() {
        let d = se(&format!(
            "hosts: [a.com]\nresolution: DNS\n{HTTP_PORT}\nendpoints: [{{address: \"*.b.com\", labels: {{v: \"-x\"}}, ports: {{tcp: 90}}}}]"
        ));
        assert_error(
            &d,
            "spec.endpoints[0].address",
            "is not a valid FQDN or an IP address",
        );
        assert_error(&d, "spec.endpoints[0].labels.v", "invalid tag value");
        assert_error(
            &d,
            "spec.endpoints[0].ports.tcp",
            "endpoint port 90 is not defined by the service entry",
        );
    }

    /// validation.go ValidateServiceEntry: with DNS, addresses and a TCP port, several hosts warn.
    #[test]
    fn dns_addresses_tcp_several_hosts_warn() {
        let d = se(
            "hosts: [a.com, b.com]\naddresses: [10.0.0.1]\nresolution: DNS\nports: [{number: 443, name: tls, protocol: TLS}]",
        );
        assert_warning(
            &d,
            "spec.hosts",
            "can not have more than one host specified simultaneously with address and tcp port",
        );
    }

    /// validation.go ValidateServiceEntry: several hosts need HTTP or TLS ports unless the
    /// resolution is NONE.
    #[test]
    fn several_hosts_need_http_or_tls() {
        let d = se(
            "hosts: [a.com, b.com]\nresolution: DNS\nports: [{number: 80, name: http, protocol: HTTP}, {number: 3306, name: db, protocol: TCP}]",
        );
        assert_error(
            &d,
            "spec.ports[1].protocol",
            "multiple hosts provided with non-HTTP, non-TLS ports",
        );
        let none = se(
            "hosts: [a.com, b.com]\naddresses: [10.0.0.1]\nports: [{number: 3306, name: db, protocol: TCP}]",
        );
        assert_clean(&none, "spec.ports[0].protocol");
    }

    /// service_entry.proto DYNAMIC_DNS: wildcard hosts, MESH_EXTERNAL, endpoints ignored
    /// (warnings).
    #[test]
    fn dynamic_dns_constraints_warn() {
        let d = se(&format!(
            "hosts: [a.com]\nlocation: MESH_INTERNAL\nresolution: DYNAMIC_DNS\n{HTTP_PORT}\nendpoints: [{{address: b.com}}]"
        ));
        assert_warning(&d, "spec.hosts[0]", "must be used with wildcard hosts");
        assert_warning(&d, "spec.location", "only supported for MESH_EXTERNAL");
        assert_warning(&d, "spec.endpoints", "endpoints are ignored");
        assert!(!d.iter().any(Diagnostic::is_error), "{d:#?}");
    }

    /// validation.go validateExportTo: a ServiceEntry may use `~`, but not with other entries.
    #[test]
    fn export_to_none() {
        assert_no_diagnostics(&se(&format!(
            "hosts: [a.com]\n{HTTP_PORT}\naddresses: [10.0.0.1]\nexportTo: [\"~\"]"
        )));
        assert_error(
            &se(&format!(
                "hosts: [a.com]\n{HTTP_PORT}\nexportTo: [\"~\", other]"
            )),
            "spec.exportTo",
            "cannot export service entry to no one (~) and someone",
        );
    }
}
