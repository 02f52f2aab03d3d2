//! Sidecar validation against Istio's `ValidateSidecar` (istio/istio
//! `pkg/config/validation/validation.go`), with the cases of its `TestValidateSidecar`
//! (`validation_test.go`), by name: each is valid or not, and warns or not, as upstream says.

use crate::common::*;
use meshroute::{Diagnostic, Severity};

fn sidecar(spec: &str) -> Vec<Diagnostic> {
    diagnostics(&resource("Sidecar", "sc", "", spec))
}

/// `(name, spec, valid, warn)` from `TestValidateSidecar`.
const CASES: &[(&str, &str, bool, bool)] = &[
    ("empty ingress and egress", "{}", false, false),
    ("default", "egress: [{hosts: [\"*/*\"]}]", true, false),
    (
        "workload selector without labels",
        "workloadSelector: {}\negress: [{hosts: [\"*/*\"]}]",
        true,
        true,
    ),
    (
        "import local namespace with wildcard",
        "egress: [{hosts: [\"./*\"]}]",
        true,
        false,
    ),
    (
        "import local namespace with fqdn",
        "egress: [{hosts: [\"./foo.com\"]}]",
        true,
        false,
    ),
    (
        "import nothing",
        "egress: [{hosts: [\"~/*\"]}]",
        true,
        false,
    ),
    (
        "import all except a namespace",
        "egress: [{hosts: [\"*/*\", \"~ns1/*\"]}]",
        true,
        false,
    ),
    (
        "import all except an exact host",
        "egress: [{hosts: [\"*/*\", \"~/foo.com\"]}]",
        true,
        false,
    ),
    (
        "exclude with invalid namespace",
        "egress: [{hosts: [\"*/*\", \"~Invalid_NS/*\"]}]",
        false,
        false,
    ),
    (
        "bad egress host 1",
        "egress: [{hosts: [\"*\"]}]",
        false,
        false,
    ),
    (
        "bad egress host 2",
        "egress: [{hosts: [\"/\"]}]",
        false,
        false,
    ),
    ("empty egress host", "egress: [{hosts: []}]", false, false),
    (
        "multiple wildcard egress",
        "egress: [{hosts: [\"*/foo.com\"]}, {hosts: [\"ns1/bar.com\"]}]",
        false,
        false,
    ),
    (
        "wildcard egress not in end",
        "egress:\n- hosts: [\"*/foo.com\"]\n- port: {protocol: http, number: 8080, name: h8080}\n  hosts: [\"ns1/bar.com\"]",
        false,
        false,
    ),
    (
        "invalid Port",
        "egress:\n- port: {protocol: http1, number: 1000000, name: \"\"}\n  hosts: [\"ns1/bar.com\"]",
        false,
        false,
    ),
    (
        "Port without name",
        "egress:\n- port: {protocol: http, number: 8080}\n  hosts: [\"ns1/bar.com\"]",
        true,
        false,
    ),
    (
        "UDS bind in outbound",
        "egress:\n- port: {protocol: http, number: 0, name: uds}\n  hosts: [\"ns1/bar.com\"]\n  bind: \"unix:///@foo/bar/com\"",
        true,
        false,
    ),
    (
        "UDS bind in inbound",
        "ingress:\n- port: {protocol: http, number: 0, name: uds}\n  bind: \"unix:///@foo/bar/com\"\n  defaultEndpoint: \"127.0.0.1:9999\"",
        false,
        false,
    ),
    (
        "UDS bind in outbound 2",
        "egress:\n- port: {protocol: http, number: 0, name: uds}\n  hosts: [\"ns1/bar.com\"]\n  bind: \"unix:///foo/bar/com\"",
        true,
        false,
    ),
    (
        "invalid bind",
        "egress:\n- port: {protocol: http, number: 0, name: uds}\n  hosts: [\"ns1/bar.com\"]\n  bind: \"foobar:///@foo/bar/com\"",
        false,
        false,
    ),
    (
        "invalid capture mode with uds bind",
        "egress:\n- port: {protocol: http, number: 0, name: uds}\n  hosts: [\"ns1/bar.com\"]\n  bind: \"unix:///@foo/bar/com\"\n  captureMode: IPTABLES",
        false,
        false,
    ),
    (
        "duplicate UDS bind",
        "egress:\n- port: {protocol: http, number: 0, name: uds}\n  hosts: [\"ns1/bar.com\"]\n  bind: \"unix:///@foo/bar/com\"\n- port: {protocol: http, number: 0, name: uds}\n  hosts: [\"ns1/bar.com\"]\n  bind: \"unix:///@foo/bar/com\"",
        false,
        false,
    ),
    (
        "duplicate ports",
        "egress:\n- port: {protocol: http, number: 90, name: foo}\n  hosts: [\"ns1/bar.com\"]\n- port: {protocol: tcp, number: 90, name: tcp}\n  hosts: [\"ns2/bar.com\"]",
        false,
        false,
    ),
    (
        "ingress without port",
        "ingress: [{defaultEndpoint: \"127.0.0.1:110\"}]\negress: [{hosts: [\"*/*\"]}]",
        false,
        false,
    ),
    (
        "ingress with duplicate ports",
        "ingress:\n- port: {protocol: http, number: 90, name: foo}\n  defaultEndpoint: \"127.0.0.1:110\"\n- port: {protocol: tcp, number: 90, name: bar}\n  defaultEndpoint: \"127.0.0.1:110\"\negress: [{hosts: [\"*/*\"]}]",
        false,
        false,
    ),
    (
        "ingress without default endpoint",
        "ingress: [{port: {protocol: http, number: 90, name: foo}}]\negress: [{hosts: [\"*/*\"]}]",
        true,
        false,
    ),
    (
        "ingress with invalid default endpoint in IPv4",
        "ingress: [{port: {protocol: http, number: 90, name: foo}, defaultEndpoint: \"1.1.1.1:90\"}]",
        false,
        false,
    ),
    (
        "ingress with invalid default endpoint in IPv6",
        "ingress: [{port: {protocol: http, number: 90, name: foo}, defaultEndpoint: \"[1:1:1:1:1:1:1:1]:90\"}]",
        false,
        false,
    ),
    (
        "ingress with invalid default endpoint uds",
        "ingress: [{port: {protocol: http, number: 90, name: foo}, defaultEndpoint: \"unix:///\"}]\negress: [{hosts: [\"*/*\"]}]",
        false,
        false,
    ),
    (
        "ingress with invalid default endpoint port in IPv4",
        "ingress: [{port: {protocol: http, number: 90, name: foo}, defaultEndpoint: \"127.0.0.1:hi\"}]\negress: [{hosts: [\"*/*\"]}]",
        false,
        false,
    ),
    (
        "ingress with invalid default endpoint port in IPv6",
        "ingress: [{port: {protocol: http, number: 90, name: foo}, defaultEndpoint: \"[::1]:hi\"}]\negress: [{hosts: [\"*/*\"]}]",
        false,
        false,
    ),
    (
        "valid ingress and egress in IPv4",
        "ingress: [{port: {protocol: http, number: 90, name: foo}, defaultEndpoint: \"127.0.0.1:9999\"}]\negress: [{hosts: [\"*/*\"]}]",
        true,
        false,
    ),
    (
        "valid ingress and egress in IPv6",
        "ingress: [{port: {protocol: http, number: 90, name: foo}, defaultEndpoint: \"[::1]:9999\"}]\negress: [{hosts: [\"*/*\"]}]",
        true,
        false,
    ),
    (
        "valid ingress and empty egress in IPv4",
        "ingress: [{port: {protocol: http, number: 90, name: foo}, defaultEndpoint: \"127.0.0.1:9999\"}]",
        true,
        false,
    ),
    (
        "just outbound traffic policy",
        "outboundTrafficPolicy: {mode: ALLOW_ANY}",
        true,
        false,
    ),
    (
        "empty protocol in IPv4",
        "ingress: [{port: {number: 90, name: foo}, defaultEndpoint: \"127.0.0.1:9999\"}]\negress: [{hosts: [\"*/*\"]}]",
        true,
        false,
    ),
    (
        "ALLOW_ANY sidecar egress policy with no egress proxy",
        "outboundTrafficPolicy: {mode: ALLOW_ANY}\negress: [{hosts: [\"*/*\"]}]",
        true,
        false,
    ),
    (
        "sidecar egress proxy with RESGISTRY_ONLY(default)",
        "outboundTrafficPolicy:\n  egressProxy: {host: foo.bar, subset: shiny, port: {number: 5000}}\negress: [{hosts: [\"*/*\"]}]",
        false,
        false,
    ),
    (
        "sidecar egress proxy with ALLOW_ANY",
        "outboundTrafficPolicy:\n  mode: ALLOW_ANY\n  egressProxy: {host: foo.bar, subset: shiny, port: {number: 5000}}\negress: [{hosts: [\"*/*\"]}]",
        true,
        false,
    ),
    (
        "sidecar egress proxy with ALLOW_ANY, service hostname invalid fqdn",
        "outboundTrafficPolicy:\n  mode: ALLOW_ANY\n  egressProxy: {host: foobar*123, subset: shiny, port: {number: 5000}}\negress: [{hosts: [\"*/*\"]}]",
        false,
        false,
    ),
    (
        "sidecar egress proxy(without Port) with ALLOW_ANY",
        "outboundTrafficPolicy:\n  mode: ALLOW_ANY\n  egressProxy: {host: foo.bar, subset: shiny}\negress: [{hosts: [\"*/*\"]}]",
        false,
        false,
    ),
    (
        "sidecar egress only one wildcarded",
        "egress: [{hosts: [\"*/*\", \"test/a.com\"]}]",
        true,
        true,
    ),
    (
        "sidecar egress wildcarded ns",
        "egress: [{hosts: [\"*/b.com\", \"test/a.com\"]}]",
        true,
        false,
    ),
    (
        "sidecar egress duplicated with wildcarded same namespace",
        "egress: [{hosts: [\"test/*\", \"test/a.com\"]}]",
        true,
        true,
    ),
    (
        "invalid partial wildcard",
        "egress: [{hosts: [\"test/*a.com\"]}]",
        false,
        false,
    ),
    (
        "sidecar egress duplicated with wildcarded same namespace .",
        "egress: [{hosts: [\"./*\", \"bar/a.com\"]}]",
        true,
        false,
    ),
    (
        "ingress tls mode set to ISTIO_MUTUAL in IPv4",
        "ingress:\n- port: {protocol: https, number: 90, name: foo}\n  defaultEndpoint: \"127.0.0.1:9999\"\n  tls: {mode: ISTIO_MUTUAL}\negress: [{hosts: [\"*/*\"]}]",
        false,
        false,
    ),
];

#[test]
fn istio_validate_sidecar_cases() {
    let mut wrong = Vec::new();
    for (name, spec, valid, warn) in CASES {
        let d = sidecar(spec);
        let errors = d.iter().any(|d| d.severity == Severity::Error);
        let warnings = d.iter().any(|d| d.severity == Severity::Warning);
        if errors == *valid || warnings != *warn {
            wrong.push(format!(
                "{name}: expected valid={valid} warn={warn}, got {}",
                render(&d)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Messages and paths of the common mistakes.
#[test]
fn messages_name_the_field() {
    assert_error(
        &sidecar("{}"),
        "spec",
        "sidecar: empty configuration provided",
    );
    assert_error(
        &sidecar("egress: [{hosts: [reviews]}]"),
        "spec.egress[0].hosts[0]",
        "host must be of form namespace/dnsName",
    );
    assert_error(
        &sidecar("egress: [{hosts: [\"default/reviews\"]}]"),
        "spec.egress[0].hosts[0]",
        "short names (non FQDN) are not allowed",
    );
    assert_error(
        &sidecar("egress: [{hosts: [\"*/*\"]}, {hosts: [\"./*\"]}]"),
        "spec.egress[0].port",
        "sidecar: the egress listener with empty port should be the last listener in the list",
    );
    assert_warning(
        &sidecar("egress: [{hosts: [\"*/*\", \"test/a.com\"]}]"),
        "spec.egress[0].hosts",
        "`*/*` host select all resources, no other hosts can be added",
    );
}
