//! WorkloadEntry validation, rule by rule, against Istio's `ValidateWorkloadEntry` (`pkg/config/validation` in
//! istio/istio).

use crate::common::*;
use meshroute::{Diagnostic, Severity};

/// Loads a WorkloadEntry `default/vm` whose spec is `spec` (unindented).
fn we(spec: &str) -> Vec<Diagnostic> {
    diagnostics(&resource("WorkloadEntry", "vm", "", spec))
}

/// A WorkloadEntry using every field loads without a warning.
#[test]
fn every_field_is_modelled() {
    assert_no_diagnostics(&we(r#"address: 10.0.0.5
ports: {http: 8080, grpc: 9090}
labels: {app: details, version: v1}
network: vm-network
locality: us-west/zone1/rack1
weight: 2
serviceAccount: details
"#));
    assert_no_diagnostics(&we("address: vm1.example.com"));
    assert_no_diagnostics(&we("address: \"2001:db8::5\""));
}

/// validation.go validateWorkloadEntry: an address is required unless a network is given
/// (then it only warns).
#[test]
fn address_required_without_network() {
    assert_error(
        &we("labels: {app: a}"),
        "spec.address",
        "address is required",
    );
    let d = we("network: remote");
    assert!(
        d.iter().any(|d| d.severity == Severity::Warning
            && d.path == "spec.address"
            && d.message
                .contains("address is unset with network \"remote\"")),
        "{d:#?}"
    );
    assert!(!d.iter().any(Diagnostic::is_error));
}

/// validation.go validateWorkloadEntry: a standalone entry's address is an IP, an FQDN or a
/// unix socket.
#[test]
fn address_ip_fqdn_or_unix() {
    assert_error(
        &we("address: \"*.example.com\""),
        "spec.address",
        "is not a valid FQDN or an IP address",
    );
    assert_error(
        &we("address: unix://relative"),
        "spec.address",
        "is not an absolute path to a file",
    );
    assert_clean(&we("address: unix:///var/run/app.sock"), "spec.address");
}

/// validation.go validateWorkloadEntry: unix endpoints take no ports.
#[test]
fn unix_endpoint_without_ports() {
    assert_error(
        &we("address: unix:///var/run/app.sock\nports: {http: 8080}"),
        "spec.ports",
        "unix endpoint unix:///var/run/app.sock must not include ports",
    );
}

/// validation.go validateWorkloadEntry: port names are DNS-1123 labels, numbers in 1..65535.
#[test]
fn ports_valid() {
    let d = we("address: 10.0.0.5\nports: {http_1: 8080, grpc: 0}");
    assert_error(&d, "spec.ports.http_1", "invalid port name: http_1");
    assert_error(
        &d,
        "spec.ports.grpc",
        "port number 0 must be in the range 1..65535",
    );
    assert_no_diagnostics(&we("address: 10.0.0.5\nports: {http-1: 65535}"));
}

/// validation.go validateWorkloadEntry: labels must be valid Kubernetes labels.
#[test]
fn labels_valid() {
    assert_error(
        &we("address: 10.0.0.5\nlabels: {app: \"a b\"}"),
        "spec.labels.app",
        "invalid tag value",
    );
}
