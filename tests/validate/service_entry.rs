//! ServiceEntry validation, rule by rule, against Istio's `ValidateServiceEntry` (`pkg/config/validation` in
//! istio/istio).

use crate::common::*;
use meshroute::Diagnostic;

/// Loads a ServiceEntry in namespace `default` whose spec is `spec` (unindented), with the
/// given extra metadata lines.
fn se_with(metadata: &str, spec: &str) -> Vec<Diagnostic> {
    diagnostics(&resource("ServiceEntry", "ext", metadata, spec))
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
