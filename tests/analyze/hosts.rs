//! IST0101 for destination hosts and IST0112, as istioctl's `DestinationHostAnalyzer` reports
//! them (istio/istio `pkg/config/analysis/analyzers/virtualservice/destinationhosts.go`, with
//! `util.GetDestinationHost` and `util.InitServiceEntryHostMap` in
//! `pkg/config/analysis/analyzers/util/service_lookup.go`; messages and levels from
//! `pkg/config/analysis/msg/messages.yaml`: both errors).

use crate::common::manifests::{ROUTE, docs, http, named_vs, service, services, vs};
use crate::common::{assert_analysis, assert_clean_yaml, diagnostics, fixture, mesh, render};
use meshroute::{Code, Diagnostic, Severity};

/// The findings of the destination host analyzer: IST0101 about hosts (not subsets or
/// gateways) and IST0112, as `(code, resource)`, sorted.
fn host_findings(diags: &[Diagnostic]) -> Vec<(&'static str, String)> {
    let mut found: Vec<(&'static str, String)> = diags
        .iter()
        .filter(|d| match d.code {
            Some(Code::ReferencedResourceNotFound) => {
                d.message.starts_with("Referenced host not found")
                    || d.message.starts_with("Referenced mirror host not found")
                    || d.message.starts_with("Referenced host:port not found")
            }
            Some(Code::VirtualServiceDestinationPortSelectorRequired) => true,
            _ => false,
        })
        .inspect(|d| assert_eq!(d.severity, Severity::Error, "{d}"))
        .map(|d| {
            (
                d.code.map_or("", Code::as_str),
                d.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    found.sort();
    found
}

/// analyzers_test.go "virtualServiceDestinationHosts" over its own test data
/// (`testdata/virtualservice_destinationhosts.yaml`, copied to `tests/fixtures/istioctl/`):
/// exactly the eight findings istioctl expects, among them a route entry without a destination
/// (the empty host), a ServiceEntry exported to its own namespace only, a Service exported to
/// `banana` only, and a VirtualService exported to `bogus` (istioctl then looks for the host in
/// `bogus`, not in the VirtualService's own namespace).
#[test]
fn istioctl_destination_hosts_test_data() {
    let diags = diagnostics(&fixture("istioctl/virtualservice_destinationhosts"));
    let mut expected: Vec<(&str, String)> = [
        ("IST0101", "default/reviews-bogushost"),
        ("IST0101", "default/reviews-bogushost"),
        ("IST0101", "default/reviews-bookinfo-other"),
        ("IST0101", "default/reviews-mirror-bogushost"),
        ("IST0101", "default/reviews-bogusport"),
        ("IST0112", "default/reviews-2port-missing"),
        ("IST0101", "istio-system/cross-namespace-details"),
        ("IST0101", "hello/hello-export-to-bogus"),
    ]
    .into_iter()
    .map(|(c, n)| (c, n.to_owned()))
    .collect();
    expected.sort();
    assert_eq!(host_findings(&diags), expected, "{}", render(&diags));

    // The messages, as messages.yaml's templates render them.
    let messages: Vec<(&str, &str)> = diags
        .iter()
        .filter(|d| {
            d.code.is_some()
                && !d
                    .message
                    .starts_with("Referenced host+subset in destinationrule")
        })
        .map(|d| (d.path.as_str(), d.message.as_str()))
        .collect();
    for expected in [
        (
            "spec.http[0].route[0].destination",
            "Referenced host not found: \"\"",
        ),
        (
            "spec.http[0].route[1].destination.host",
            "Referenced host not found: \"reviews-bogus\"",
        ),
        (
            "spec.http[0].mirror.host",
            "Referenced mirror host not found: \"reviews-bogus\"",
        ),
        (
            "spec.http[0].route[0].destination.port.number",
            "Referenced host:port not found: \"reviews:999\"",
        ),
        (
            "spec.http[0].route[0].destination.host",
            "This VirtualService routes to a service \"reviews-2port\" that exposes multiple ports [80 443]. Specifying a port in the destination is required to disambiguate.",
        ),
        (
            "spec.http[0].route[0].destination.host",
            "Referenced host not found: \"details.default.svc.cluster.local\"",
        ),
    ] {
        assert!(
            messages.contains(&expected),
            "{expected:?} not in\n{}",
            render(&diags)
        );
    }
}

/// util.go `getRouteDestinations`: `tcp` and `tls` route destinations are looked up too, with
/// their paths.
#[test]
fn tcp_and_tls_destinations_are_looked_up() {
    let yaml = vs("hosts: [svc-b]
tcp:
- route: [{destination: {host: nowhere, port: {number: 8080}}}]
tls:
- match: [{port: 443, sniHosts: [svc-b]}]
  route: [{destination: {host: elsewhere}}]");
    assert_analysis(
        &yaml,
        "IST0101",
        "spec.tcp[0].route[0].destination.host",
        "Referenced host not found: \"nowhere\"",
    );
    assert_analysis(
        &yaml,
        "IST0101",
        "spec.tls[0].route[0].destination.host",
        "Referenced host not found: \"elsewhere\"",
    );
}

/// destinationhosts.go: `mirror` and `mirrors` destinations are "mirror host"s; a `host:port`
/// whose port the service does not have is reported for mirrors too (`checkServiceEntryPorts`).
#[test]
fn mirrors_are_mirror_hosts() {
    let yaml = docs(&[
        &http(&format!(
            "- {ROUTE}\n  mirror: {{host: shadow}}\n  mirrors: [{{destination: {{host: svc-c, port: {{number: 9}}}}}}]"
        )),
        &services(),
    ]);
    assert_analysis(
        &yaml,
        "IST0101",
        "spec.http[0].mirror.host",
        "Referenced mirror host not found: \"shadow\"",
    );
    assert_analysis(
        &yaml,
        "IST0101",
        "spec.http[0].mirrors[0].destination.port.number",
        "Referenced host:port not found: \"svc-c:9\"",
    );
}

/// `checkServiceEntryPorts`: no port is fine on a one-port service and required on a service
/// with several (IST0112, an error); a port the service has is fine.
#[test]
fn ist0112_port_selector_required_on_multi_port_services() {
    let two_ports = service("default", "svc-b", &[8080, 9090]);
    let without = docs(&[&http(&format!("- {ROUTE}")), &two_ports]);
    assert_analysis(
        &without,
        "IST0112",
        "spec.http[0].route[0].destination.host",
        "This VirtualService routes to a service \"svc-b\" that exposes multiple ports [8080 9090]. Specifying a port in the destination is required to disambiguate.",
    );
    let with = docs(&[
        &http("- route: [{destination: {host: svc-b, port: {number: 9090}}}]"),
        &two_ports,
    ]);
    assert_clean_yaml(&with);
}

/// service_lookup.go `InitServiceEntryHostMap`: a ServiceEntry's hosts are visible where its
/// `exportTo` says; a Kubernetes Service's where its `networking.istio.io/exportTo` annotation
/// says, `.` being its own namespace.
#[test]
fn export_to_decides_which_namespaces_find_a_host() {
    let entry = |export: &str| {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: api, namespace: ext}}\nspec:\n  hosts: [api.example.com]\n  exportTo: {export}\n  ports: [{{number: 443, name: https, protocol: HTTPS}}]\n  resolution: DNS\n"
        )
    };
    let caller = named_vs(
        "shop",
        "r",
        "hosts: [front.example.com]\nhttp:\n- route: [{destination: {host: api.example.com}}]",
    );
    for visible in ["[\"*\"]", "[shop]", "[., shop]"] {
        assert_clean_yaml(&docs(&[&caller, &entry(visible)]));
    }
    for hidden in ["[.]", "[other]"] {
        assert_analysis(
            &docs(&[&caller, &entry(hidden)]),
            "IST0101",
            "spec.http[0].route[0].destination.host",
            "Referenced host not found: \"api.example.com\"",
        );
    }
    let annotated = "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-b\n  namespace: default\n  annotations: {networking.istio.io/exportTo: \".,shop\"}\nspec:\n  ports: [{port: 8080, name: http}]\n";
    let from = |ns: &str| {
        named_vs(
            ns,
            "r",
            "hosts: [front.example.com]\nhttp:\n- route: [{destination: {host: svc-b.default.svc.cluster.local}}]",
        )
    };
    assert_clean_yaml(&docs(&[&from("shop"), annotated]));
    assert_clean_yaml(&docs(&[&from("default"), annotated]));
    assert_analysis(
        &docs(&[&from("other"), annotated]),
        "IST0101",
        "spec.http[0].route[0].destination.host",
        "Referenced host not found: \"svc-b.default.svc.cluster.local\"",
    );
}

/// `GetDestinationHost` resolves a short destination host in the VirtualService's namespace:
/// `svc-b` from namespace `other` is `svc-b.other.svc.cluster.local`, which does not exist.
#[test]
fn short_names_resolve_in_the_virtual_service_namespace() {
    let from_other = named_vs(
        "other",
        "r",
        "hosts: [front.example.com]\nhttp:\n- route: [{destination: {host: svc-b}}]",
    );
    assert_analysis(
        &docs(&[&from_other, &services()]),
        "IST0101",
        "spec.http[0].route[0].destination.host",
        "Referenced host not found: \"svc-b\"",
    );
    let fqdn = from_other.replace("host: svc-b}", "host: svc-b.default.svc.cluster.local}");
    assert_clean_yaml(&docs(&[&fqdn, &services()]));
}

/// istioctl reads the services' own `exportTo` only, not MeshConfig's `defaultServiceExportTo`
/// (`InitServiceEntryHostMap` treats an empty `exportTo` as `*`), so a service the mesh default
/// makes private is still found from other namespaces, although the sidecars there cannot
/// reach it.
#[test]
fn mesh_config_default_export_is_not_read() {
    let mesh_config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    defaultServiceExportTo: [\".\"]\n";
    let from_other = named_vs(
        "other",
        "r",
        "hosts: [front.example.com]\nhttp:\n- route: [{destination: {host: svc-b.default.svc.cluster.local}}]",
    );
    let diags = diagnostics(&docs(&[&from_other, &services(), mesh_config]));
    assert!(
        !diags
            .iter()
            .any(|d| d.code == Some(Code::ReferencedResourceNotFound)),
        "{}",
        render(&diags)
    );
}

/// A partial configuration (a destination without its Service) still compiles: analysis
/// findings never refuse a configuration, and the IST0101 error is on `Mesh::diagnostics`.
#[test]
fn partial_configuration_compiles_with_the_finding() {
    let mesh = mesh(&http(&format!("- {ROUTE}")));
    let found: Vec<&Diagnostic> = mesh
        .diagnostics()
        .iter()
        .filter(|d| d.code == Some(Code::ReferencedResourceNotFound))
        .collect();
    assert_eq!(found.len(), 1, "{}", render(mesh.diagnostics()));
    assert_eq!(found[0].message, "Referenced host not found: \"svc-b\"");
    assert!(!found[0].rejects());
}
