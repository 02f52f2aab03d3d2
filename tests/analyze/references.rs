//! The cross-resource `istioctl analyze` findings meshroute shares with Istio, at istioctl's
//! levels (`pkg/config/analysis/msg/messages.yaml` in istio/istio): IST0101
//! ReferencedResourceNotFound (a subset or gateway no resource defines) and IST0109
//! ConflictingMeshGatewayVirtualServiceHosts are errors, IST0132
//! VirtualServiceHostNotFoundInGateway a warning.

use crate::common::manifests::{
    ROUTE, destination_rule, docs, gateway, http, named_vs, services, vs,
};
use crate::common::{
    assert_analysis, assert_clean_yaml, assert_no_code, assert_no_errors, diagnostics, render,
};
use meshroute::{Diagnostic, Severity};

/// istioctl analyze IST0101 ReferencedResourceNotFound: "Referenced host+subset in destinationrule
/// not found" when no DestinationRule for the host defines the subset.
#[test]
fn ist0101_subset_not_defined() {
    let vs = http("- route: [{destination: {host: svc-b, subset: v3}}]");
    let yaml = docs(&[&vs, &destination_rule("default", "svc-b", "svc-b")]);
    assert_no_errors(&yaml);
    assert_analysis(
        &yaml,
        "IST0101",
        "spec.http[0].route[0].destination.subset",
        "Referenced host+subset in destinationrule not found: \"svc-b+v3\"",
    );
    assert_analysis(
        &vs,
        "IST0101",
        "spec.http[0].route[0].destination.subset",
        "Referenced host+subset in destinationrule not found",
    );
}

/// IST0101 also covers mirror subsets.
#[test]
fn ist0101_mirror_subset_not_defined() {
    let yaml = docs(&[
        &http(&format!("- {ROUTE}\n  mirror: {{host: svc-b, subset: v9}}")),
        &destination_rule("default", "svc-b", "svc-b"),
    ]);
    assert_analysis(
        &yaml,
        "IST0101",
        "spec.http[0].mirror.subset",
        "Referenced host+subset in destinationrule not found",
    );
}

/// IST0101 is not reported when a DestinationRule for the host defines the subset.
#[test]
fn ist0101_cluster_exists_no_warning() {
    assert_clean_yaml(&docs(&[
        &http(
            "- route: [{destination: {host: svc-b, subset: v1}, weight: 90}, {destination: {host: svc-b, subset: v2}, weight: 10}]",
        ),
        &destination_rule("default", "svc-b", "svc-b"),
        &services(),
    ]));
}

/// config.go ResolveShortnameToFQDN: a short destination host resolves in the VirtualService's
/// namespace, so it matches a DestinationRule written with the FQDN; a short DestinationRule host
/// in another namespace names another service.
#[test]
fn ist0101_short_host_resolved_in_virtual_service_namespace() {
    let vs = http("- route: [{destination: {host: svc-b, subset: v1}}]");
    assert_clean_yaml(&docs(&[
        &vs,
        &destination_rule("default", "svc-b", "svc-b.default.svc.cluster.local"),
        &services(),
    ]));
    assert_clean_yaml(&docs(&[
        &vs,
        &destination_rule("other", "svc-b", "svc-b.default.svc.cluster.local"),
        &services(),
    ]));
    let elsewhere = docs(&[&vs, &destination_rule("other", "svc-b", "svc-b")]);
    assert_analysis(
        &elsewhere,
        "IST0101",
        "spec.http[0].route[0].destination.subset",
        "Referenced host+subset in destinationrule not found",
    );
}

/// istioctl analyze IST0109 ConflictingMeshGatewayVirtualServiceHosts: two mesh VirtualServices for
/// the same host ("associated with mesh gateway define the same host").
#[test]
fn ist0109_two_mesh_virtual_services_same_host() {
    let a = named_vs("default", "a", &format!("hosts: [svc-b]\nhttp:\n- {ROUTE}"));
    let b = named_vs(
        "default",
        "b",
        &format!("hosts: [svc-b.default.svc.cluster.local]\nhttp:\n- {ROUTE}"),
    );
    let yaml = docs(&[&a, &b]);
    assert_no_errors(&yaml);
    let diags = diagnostics(&yaml);
    let ist0109: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.code.map(meshroute::Code::as_str) == Some("IST0109"))
        .collect();
    assert_eq!(ist0109.len(), 2, "{}", render(&diags));
    for d in &ist0109 {
        // messages.yaml: ConflictingMeshGatewayVirtualServiceHosts is an Error; the host is the
        // scoped name the analyzer grouped by (conflictingmeshgatewayhosts.go passes
        // `string(scopedFqdn)`: `*/` for VirtualServices exported everywhere).
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(d.path, "spec.hosts[0]");
        assert_eq!(
            d.message,
            "The VirtualServices default/a,default/b associated with mesh gateway define the same host */svc-b.default.svc.cluster.local which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource."
        );
    }
    // Bound to a gateway only, the second one no longer conflicts on sidecars.
    let b_gateway = named_vs(
        "default",
        "b",
        &format!("hosts: [svc-b]\ngateways: [gw]\nhttp:\n- {ROUTE}"),
    );
    assert_clean_yaml(&docs(&[
        &a,
        &b_gateway,
        &gateway("default", "gw", "[\"*\"]"),
        &services(),
    ]));
}

/// The VirtualServices reported IST0109 for `fixture` (each once), sorted.
fn ist0109_reported(fixture: &str) -> Vec<String> {
    let diags = diagnostics(&crate::common::fixture(fixture));
    let mut names: Vec<String> = diags
        .iter()
        .filter(|d| d.code.map(meshroute::Code::as_str) == Some("IST0109"))
        .map(|d| d.name.clone().unwrap_or_default())
        .collect();
    names.sort();
    names
}

/// analyzers_test.go "virtualServiceConflictingMeshGatewayHosts" over its test data
/// (`testdata/virtualservice_conflictingmeshgatewayhosts.yaml`): VirtualServices bound only to a
/// gateway do not conflict, `exportTo: ["."]` keeps a host private to its namespace, and a
/// private claim conflicts with a public one for the same host (team2/ratings and bar/ratings on
/// `google.com`).
#[test]
fn ist0109_istioctl_test_data() {
    assert_eq!(
        ist0109_reported("istioctl/virtualservice_conflictingmeshgatewayhosts"),
        [
            "bar/ratings",
            "foo/bogus-productpage",
            "foo/productpage",
            "foo/ratings",
            "team2/ratings",
            "team3/ratings",
            "team4/ratings",
        ]
    );
}

/// analyzers_test.go "virtualServiceConflictingMeshGatewayHostsWithExportTo"
/// (`testdata/virtualservice_conflictingmeshgatewayhosts_with_exportto.yaml`): claims exported to
/// different namespaces do not conflict (productpage-b); a namespace's claim conflicts with a
/// public claim whose host matches it, wildcards included (productpage-c; productpage-d, where
/// `*.d` covers `*.productpage.d`).
#[test]
fn ist0109_istioctl_test_data_with_export_to() {
    assert_eq!(
        ist0109_reported("istioctl/virtualservice_conflictingmeshgatewayhosts_with_exportto"),
        [
            "bar/productpage",
            "bar/productpage-c",
            "bar/productpage-d",
            "foo/productpage",
            "foo/productpage-c",
            "foo/productpage-d",
        ]
    );
}

/// conflictingmeshgatewayhosts.go groups public claims by exact host only: two VirtualServices
/// exported everywhere, one for `*.example.com` and one for `api.example.com`, do not conflict;
/// the message names the scoped host of the group.
#[test]
fn ist0109_public_wildcards_group_by_exact_host() {
    let wide = named_vs(
        "default",
        "wide",
        &format!("hosts: [\"*.example.com\"]\nhttp:\n- {ROUTE}"),
    );
    let narrow = named_vs(
        "default",
        "narrow",
        &format!("hosts: [api.example.com]\nhttp:\n- {ROUTE}"),
    );
    assert_no_code(&docs(&[&wide, &narrow]), "IST0109");
    let private = named_vs(
        "default",
        "private",
        &format!("hosts: [api.example.com]\nexportTo: [.]\nhttp:\n- {ROUTE}"),
    );
    assert_analysis(
        &docs(&[&wide, &private]),
        "IST0109",
        "spec.hosts[0]",
        "The VirtualServices default/private,default/wide associated with mesh gateway define the same host default/api.example.com",
    );
}

/// istioctl analyze IST0132 VirtualServiceHostNotFoundInGateway (analyzers/virtualservice/
/// gateways.go `analyzeVirtualService`): reported at the gateway reference, listing the
/// VirtualService's hosts, when none of them is exposed by the Gateway.
#[test]
fn ist0132_host_not_exposed_by_gateway() {
    let vs = vs(&format!(
        "hosts: [shop.example.com]\ngateways: [gw]\nhttp:\n- {ROUTE}"
    ));
    let yaml = docs(&[&vs, &gateway("default", "gw", "[\"*.other.com\"]")]);
    assert_no_errors(&yaml);
    assert_analysis(
        &yaml,
        "IST0132",
        "spec.gateways[0]",
        "host [shop.example.com] defined in VirtualService default/r not found in Gateway default/gw",
    );
    assert_clean_yaml(&docs(&[
        &vs,
        &gateway("default", "gw", "[\"*.example.com\"]"),
        &services(),
    ]));
    assert_clean_yaml(&docs(&[
        &vs,
        &gateway("default", "gw", "[\"default/shop.example.com\"]"),
        &services(),
    ]));
}

/// The IST0132 findings of istioctl's own test data: one finding per gateway reference whose
/// Gateway exposes none of the hosts (analyzers_test.go "host defined in virtualservice not
/// found in the gateway", testdata/virtualservice_host_not_found_gateway.yaml).
#[test]
fn ist0132_per_gateway_reference_when_no_host_is_exposed() {
    let gateways = docs(&[
        &gateway("istio-system", "api", "[\"*.api.testing-03.com\"]"),
        &gateway("istio-system", "home", "[\"*.homepage.testing-03.com\"]"),
    ]);
    let both = named_vs(
        "default",
        "both",
        &format!(
            "hosts: [user.api.testing-03.com, profile.homepage.testing-03.com]\ngateways: [istio-system/api, istio-system/home]\nhttp:\n- {ROUTE}"
        ),
    );
    assert_clean_yaml(&docs(&[&gateways, &both, &services()]));
    let one = named_vs(
        "default",
        "one",
        &format!(
            "hosts: [user.api.testing-03.com]\ngateways: [istio-system/api, istio-system/home]\nhttp:\n- {ROUTE}"
        ),
    );
    let yaml = docs(&[&gateways, &one, &services()]);
    let found: Vec<Diagnostic> = diagnostics(&yaml);
    assert_eq!(found.len(), 1, "{}", render(&found));
    assert_analysis(
        &yaml,
        "IST0132",
        "spec.gateways[1]",
        "one or more host [user.api.testing-03.com] defined in VirtualService default/one not found in Gateway istio-system/home",
    );
    // Several hosts, none exposed: one finding listing them all (testing-service-03-test-04).
    let none = named_vs(
        "default",
        "none",
        &format!(
            "hosts: [user.testing-02-04.com, users.testing-02-04.com]\ngateways: [istio-system/api]\nhttp:\n- {ROUTE}"
        ),
    );
    assert_analysis(
        &docs(&[&gateways, &none]),
        "IST0132",
        "spec.gateways[0]",
        "host [user.testing-02-04.com users.testing-02-04.com] defined",
    );
}

/// IST0132 with namespaced server hosts (testdata/virtualservice_host_not_found_gateway_with_ns_
/// prefix.yaml): `./host` exposes the host to the Gateway's namespace only, `*/host`, `*/*` and
/// a bare host to every namespace (names.go `NamesForNamespace`, gateway.go
/// `sanitizeServerHostNamespace`).
#[test]
fn ist0132_server_host_namespaces() {
    let bound = |namespace: &str| {
        named_vs(
            namespace,
            "r",
            &format!("hosts: [testing-01.com]\ngateways: [istio-system/gw]\nhttp:\n- {ROUTE}"),
        )
    };
    for hosts in ["[./testing-01.com]", "[istio-system/testing-01.com]"] {
        let gw = gateway("istio-system", "gw", hosts);
        let in_istio_system = crate::common::manifests::service("istio-system", "svc-b", &[8080]);
        assert_clean_yaml(&docs(&[&gw, &bound("istio-system"), &in_istio_system]));
        assert_analysis(
            &docs(&[&gw, &bound("default")]),
            "IST0132",
            "spec.gateways[0]",
            "not found in Gateway istio-system/gw",
        );
    }
    for hosts in ["[\"*/testing-01.com\"]", "[\"*/*\"]", "[testing-01.com]"] {
        let gw = gateway("istio-system", "gw", hosts);
        let in_istio_system = crate::common::manifests::service("istio-system", "svc-b", &[8080]);
        assert_clean_yaml(&docs(&[&gw, &bound("istio-system"), &in_istio_system]));
        assert_clean_yaml(&docs(&[&gw, &bound("default"), &services()]));
    }
}

/// istioctl analyze IST0101 for gateways: "Referenced gateway not found".
#[test]
fn gateway_not_found() {
    let vs = vs(&format!(
        "hosts: [shop.example.com]\ngateways: [ns1/gw]\nhttp:\n- {ROUTE}"
    ));
    assert_no_errors(&vs);
    assert_analysis(
        &vs,
        "IST0101",
        "spec.gateways[0]",
        "Referenced gateway not found: \"ns1/gw\"",
    );
    // gateways.go reports the missing Gateway's hosts too: it exposes none (analyzers_test.go
    // "virtualServiceGateways": httpbin-bogus gets both findings).
    assert_analysis(
        &vs,
        "IST0132",
        "spec.gateways[0]",
        "not found in Gateway ns1/gw",
    );
    // A bare name is looked up in the VirtualService's namespace.
    let wrong_namespace = docs(&[
        &vs.replace("ns1/gw", "gw"),
        &gateway("ns1", "gw", "[\"*\"]"),
    ]);
    assert_analysis(
        &wrong_namespace,
        "IST0101",
        "spec.gateways[0]",
        "Referenced gateway not found: \"default/gw\"",
    );
    assert_clean_yaml(&docs(&[&vs, &gateway("ns1", "gw", "[\"*\"]"), &services()]));
}
