//! VirtualService validation, rule by rule, against Istio's `ValidateVirtualService`
//! (`pkg/config/validation/validation.go`, `virtualservice.go`, `agent/validation.go`), with the
//! unreachable-rule findings validation produces (IST0130, IST0131); the cross-resource
//! `istioctl analyze` findings are in `tests/analyze/references.rs`.
//!
//! Every rule has a bad configuration (asserting the diagnostic's path, severity and a distinctive
//! part of Istio's message) and its closest valid neighbour (asserting no diagnostic at all).

use crate::common;
use crate::common::manifests::{
    ROUTE, destination_rule, docs, gateway, http, named_vs, services, vs,
};
use crate::common::{
    assert_analysis, assert_diag, assert_no_code, assert_no_errors, diagnostics, render,
};
use meshroute::{Diagnostic, Severity};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The validation errors at exactly `path` (analysis findings, which never reject, aside).
fn errors_at<'a>(diags: &'a [Diagnostic], path: &str) -> Vec<&'a Diagnostic> {
    diags
        .iter()
        .filter(|d| d.rejects() && d.path == path)
        .collect()
}

/// Asserts an error at `path` containing `needle`.
#[track_caller]
fn assert_error(yaml: &str, path: &str, needle: &str) {
    assert_diag(yaml, Severity::Error, None, path, needle);
}

/// Asserts that the only validation error (analysis findings aside) is at `path` and contains
/// `needle`.
#[track_caller]
fn assert_only_error(yaml: &str, path: &str, needle: &str) {
    assert_error(yaml, path, needle);
    let diags = diagnostics(yaml);
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.rejects()).collect();
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one error; got:\n{}",
        render(&diags)
    );
    assert_eq!(errors_at(&diags, path).len(), 1, "{}", render(&diags));
}

/// Asserts a warning (with no analysis code) at `path` containing `needle`.
#[track_caller]
fn assert_warning(yaml: &str, path: &str, needle: &str) {
    assert_diag(yaml, Severity::Warning, None, path, needle);
}

/// The diagnostics of `yaml` (which must load cleanly) after `edit` changed the first HTTP route
/// of its VirtualService: for the nil values only a resource built in Rust can hold.
fn with_first_route(
    yaml: &str,
    edit: impl FnOnce(&mut meshroute::config::HttpRoute),
) -> Vec<Diagnostic> {
    let yaml = docs(&[yaml, &services()]);
    let mut loaded = meshroute::from_str(&yaml, &meshroute::LoadOptions::default());
    assert!(
        loaded.diagnostics.is_empty(),
        "{}",
        render(&loaded.diagnostics)
    );
    let route = loaded.resources.iter_mut().find_map(|r| match &mut r.body {
        meshroute::config::Body::VirtualService(vs) => vs.http.first_mut(),
        _ => None,
    });
    edit(route.expect("a VirtualService with an HTTP route"));
    meshroute::check(&loaded.resources)
}

/// Asserts that `yaml`, beside the Services its destinations name (`svc-b`, `svc-c`, `svc-d`:
/// [`services`]), gets no diagnostic at all, from validation or `istioctl analyze`.
#[track_caller]
fn assert_clean_yaml(yaml: &str) {
    common::assert_clean_yaml(&format!("{yaml}\n---\n{}", services()));
}

/// A route on `svc-b` with one match `m` (a YAML flow mapping).
fn with_match(m: &str) -> String {
    http(&format!("- match: [{m}]\n  {ROUTE}"))
}

// ---------------------------------------------------------------------------------------------
// VirtualService: top level
// ---------------------------------------------------------------------------------------------

/// validation.go ValidateVirtualService: "http, tcp or tls must be provided in virtual service".
#[test]
fn http_tcp_or_tls_required() {
    assert_only_error(
        &vs("hosts: [svc-b]"),
        "spec",
        "http, tcp or tls must be provided in virtual service",
    );
    assert_clean_yaml(&http(&format!("- {ROUTE}")));
}

/// agent.ValidateWildcardDomain: a host is a DNS name whose first label may be a wildcard.
#[test]
fn host_must_be_valid_wildcard_domain() {
    for bad in ["foo.*", "*.*.foo", "foo_bar.com", "default/baz"] {
        let yaml = vs(&format!("hosts: [\"{bad}\"]\nhttp:\n- {ROUTE}"));
        assert_only_error(&yaml, "spec.hosts[0]", "domain name");
    }
    for good in [
        "*.foo.com",
        "*foo.com",
        "*-foo.com",
        "svc-b.default.svc.cluster.local",
        "svc-b",
    ] {
        assert_clean_yaml(&vs(&format!("hosts: [\"{good}\"]\nhttp:\n- {ROUTE}")));
    }
}

/// agent.ValidateDNS1123Labels: the top-level domain cannot be all-numeric; an IP address is
/// accepted as a VirtualService host instead (netutil.IsValidIPAddress).
#[test]
fn host_top_level_domain_not_numeric_but_ip_accepted() {
    let yaml = vs(&format!("hosts: [foo.123]\nhttp:\n- {ROUTE}"));
    assert_only_error(&yaml, "spec.hosts[0]", "cannot be all-numeric");
    assert_clean_yaml(&vs(&format!("hosts: [10.0.0.1]\nhttp:\n- {ROUTE}")));
}

/// validation.go ValidateVirtualService: "wildcard host * is not allowed for virtual services
/// bound to the mesh gateway" — whether `gateways` is omitted or lists `mesh`.
#[test]
fn wildcard_host_rejected_when_bound_to_mesh() {
    let need = "wildcard host * is not allowed for virtual services bound to the mesh gateway";
    assert_only_error(
        &vs(&format!("hosts: [\"*\"]\nhttp:\n- {ROUTE}")),
        "spec.hosts[0]",
        need,
    );
    let both = docs(&[
        &vs(&format!(
            "hosts: [\"*\"]\ngateways: [mesh, gw]\nhttp:\n- {ROUTE}"
        )),
        &gateway("default", "gw", "[\"*\"]"),
    ]);
    assert_only_error(&both, "spec.hosts[0]", need);
}

/// validation.go ValidateVirtualService: `*` is accepted when the VirtualService is bound only to
/// gateways (`isGateway`).
#[test]
fn wildcard_host_accepted_when_bound_only_to_gateway() {
    assert_clean_yaml(&docs(&[
        &vs(&format!("hosts: [\"*\"]\ngateways: [gw]\nhttp:\n- {ROUTE}")),
        &gateway("default", "gw", "[\"*\"]"),
    ]));
}

/// validation.go ValidateVirtualService: "duplicate hosts in virtual service: %s & %s".
#[test]
fn duplicate_hosts_rejected() {
    let yaml = vs(&format!("hosts: [a.com, b.com, a.com]\nhttp:\n- {ROUTE}"));
    assert_only_error(
        &yaml,
        "spec.hosts[2]",
        "duplicate hosts in virtual service: a.com & a.com",
    );
    assert_clean_yaml(&vs(&format!("hosts: [a.com, b.com]\nhttp:\n- {ROUTE}")));
}

/// validation.go ValidateVirtualService: duplicates include wildcard overlaps (`host.Name.Matches`):
/// `*.foo.bar` and `*.bar` overlap, `*.foo.bar` and `foo.bar` do not.
#[test]
fn duplicate_hosts_include_wildcard_overlap() {
    let yaml = vs(&format!(
        "hosts: [\"*.foo.bar\", \"*.bar\"]\nhttp:\n- {ROUTE}"
    ));
    assert_only_error(
        &yaml,
        "spec.hosts[1]",
        "duplicate hosts in virtual service: *.foo.bar & *.bar",
    );
    let yaml = vs(&format!(
        "hosts: [\"*.foo.bar\", \"a.foo.bar\"]\nhttp:\n- {ROUTE}"
    ));
    assert_only_error(
        &yaml,
        "spec.hosts[1]",
        "duplicate hosts in virtual service: *.foo.bar & a.foo.bar",
    );
    assert_clean_yaml(&vs(&format!(
        "hosts: [\"*.foo.bar\", foo.bar]\nhttp:\n- {ROUTE}"
    )));
}

/// validation.go ValidateVirtualService: hosts are compared as written (`host.Name`), so a short
/// name and its FQDN are not duplicates for validation. istioctl's
/// `ConflictingMeshGatewayHostsAnalyzer` (conflictingmeshgatewayhosts.go `initMeshGatewayHosts`)
/// makes both fully qualified and appends the VirtualService once per host, so it reports the
/// VirtualService as conflicting with itself (IST0109).
#[test]
fn duplicate_hosts_compare_names_as_written() {
    let yaml = vs(&format!(
        "hosts: [svc-b, svc-b.default.svc.cluster.local]\nhttp:\n- {ROUTE}"
    ));
    let yaml = docs(&[&yaml, &services()]);
    let diags = diagnostics(&yaml);
    assert!(diags.iter().all(|d| d.code.is_some()), "{}", render(&diags));
    assert_eq!(diags.len(), 1, "{}", render(&diags));
    assert_analysis(
        &yaml,
        "IST0109",
        "spec.hosts[0]",
        "The VirtualServices default/r,default/r associated with mesh gateway define the same host */svc-b.default.svc.cluster.local",
    );
}

/// validation.go ValidateVirtualService: a delegate (no hosts) "must have no gateways specified".
#[test]
fn delegate_virtual_service_with_gateways_rejected() {
    let yaml = vs(&format!("gateways: [gw]\nhttp:\n- {ROUTE}"));
    assert_error(
        &yaml,
        "spec.gateways",
        "delegate virtual service must have no gateways specified",
    );
    // The gateway is not defined either: an IST0101 error, which does not reject.
    assert_eq!(diagnostics(&yaml).iter().filter(|d| d.rejects()).count(), 1);
    assert_clean_yaml(&vs(&format!("http:\n- {ROUTE}")));
}

/// validation.go ValidateVirtualService: a delegate "must have no tcp route specified".
#[test]
fn delegate_virtual_service_with_tcp_rejected() {
    let yaml = vs("tcp:\n- route: [{destination: {host: svc-b, port: {number: 8080}}}]");
    assert_only_error(
        &yaml,
        "spec.tcp",
        "delegate virtual service must have no tcp route specified",
    );
    assert_clean_yaml(&vs(
        "hosts: [svc-b]\ntcp:\n- route: [{destination: {host: svc-b, port: {number: 8080}}}]",
    ));
}

/// validation.go ValidateVirtualService: a delegate "must have no tls route specified".
#[test]
fn delegate_virtual_service_with_tls_rejected() {
    let yaml = vs("tls:\n- match: [{sniHosts: [a.com]}]\n  route: [{destination: {host: svc-b}}]");
    assert_error(
        &yaml,
        "spec.tls",
        "delegate virtual service must have no tls route specified",
    );
}

/// validation.go validateGatewayNames: `ns/name` with both parts DNS-1123 labels; `ns1/*` and
/// `*/gw` are invalid.
#[test]
fn gateway_names_must_be_namespace_slash_name() {
    let with_gw = |gw: &str| {
        vs(&format!(
            "hosts: [svc-b]\ngateways: [\"{gw}\"]\nhttp:\n- {ROUTE}"
        ))
    };
    assert_error(
        &with_gw("ns1/*"),
        "spec.gateways[0]",
        "invalid value for gateway name: \"*\"",
    );
    assert_error(
        &with_gw("*/gw"),
        "spec.gateways[0]",
        "invalid value for namespace: \"*\"",
    );
    assert_error(
        &with_gw("/gw"),
        "spec.gateways[0]",
        "config namespace and gateway name cannot be empty",
    );
    assert_error(&with_gw("gw_1"), "spec.gateways[0]", "invalid gateway name");
    for bad in ["ns1/*", "*/gw", "/gw", "gw_1"] {
        let diags = diagnostics(&with_gw(bad));
        assert_eq!(
            diags.iter().filter(|d| d.rejects()).count(),
            1,
            "{bad}: {}",
            render(&diags)
        );
    }
    assert_clean_yaml(&docs(&[
        &with_gw("ns1/gw"),
        &gateway("ns1", "gw", "[\"*\"]"),
    ]));
}

/// validation.go validateGatewayNames: the legacy FQDN form gives the warning "using legacy
/// gatewayName format ...; prefer the <namespace>/<name> format".
#[test]
fn legacy_gateway_name_format_warns() {
    let yaml = docs(&[
        &vs(&format!(
            "hosts: [svc-b]\ngateways: [gw.ns1.svc.cluster.local]\nhttp:\n- {ROUTE}"
        )),
        &gateway("ns1", "gw", "[\"*\"]"),
    ]);
    assert_no_errors(&yaml);
    assert_warning(
        &yaml,
        "spec.gateways[0]",
        "using legacy gatewayName format \"gw.ns1.svc.cluster.local\"; prefer the <namespace>/<name> format: \"ns1/gw\"",
    );
    assert_clean_yaml(&docs(&[
        &vs(&format!(
            "hosts: [svc-b]\ngateways: [ns1/gw]\nhttp:\n- {ROUTE}"
        )),
        &gateway("ns1", "gw", "[\"*\"]"),
    ]));
}

/// validation.go ValidateVirtualService validateJWTClaimRoute: "JWT claim based routing (key: %s)
/// is only supported for gateway, found no gateways", for `headers`.
#[test]
fn jwt_claim_header_rejected_on_mesh() {
    let yaml = with_match("{headers: {\"@request.auth.claims.group\": {exact: admin}}}");
    assert_only_error(
        &yaml,
        "spec.http[0].match[0].headers.@request.auth.claims.group",
        "JWT claim based routing (key: @request.auth.claims.group) is only supported for gateway, found no gateways",
    );
    let mesh_too = docs(&[
        &vs(&format!(
            "hosts: [svc-b]\ngateways: [gw, mesh]\nhttp:\n- match: [{{headers: {{\"@request.auth.claims[group]\": {{exact: admin}}}}}}]\n  {ROUTE}"
        )),
        &gateway("default", "gw", "[\"*\"]"),
    ]);
    assert_only_error(
        &mesh_too,
        "spec.http[0].match[0].headers.@request.auth.claims[group]",
        "only supported for gateway",
    );
}

/// validation.go ValidateVirtualService validateJWTClaimRoute: `withoutHeaders` claims are
/// checked the same way.
#[test]
fn jwt_claim_without_header_rejected_on_mesh() {
    let yaml = with_match("{withoutHeaders: {\"@request.auth.claims.group\": {exact: admin}}}");
    assert_only_error(
        &yaml,
        "spec.http[0].match[0].withoutHeaders.@request.auth.claims.group",
        "JWT claim based routing (key: @request.auth.claims.group) is only supported for gateway",
    );
}

/// validation.go ValidateHTTPHeaderNameOrJwtClaimRoute: JWT claim routing is accepted on a
/// VirtualService bound only to gateways.
#[test]
fn jwt_claim_header_accepted_on_gateway() {
    assert_clean_yaml(&docs(&[
        &vs(&format!(
            "hosts: [svc-b]\ngateways: [gw]\nhttp:\n- match: [{{headers: {{\"@request.auth.claims.group\": {{exact: admin}}}}, withoutHeaders: {{\"@request.auth.claims[a][b]\": {{exact: x}}}}}}]\n  {ROUTE}"
        )),
        &gateway("default", "gw", "[\"*\"]"),
    ]));
}

/// pkg/jwt ToRoutingClaim: `@request.auth.claims` without `.claim` or `[claim]` is not a claim,
/// and `@` is not a token character: "header name %s is not a valid header name".
#[test]
fn bare_jwt_claim_prefix_is_invalid_header_name() {
    let yaml = docs(&[
        &vs(&format!(
            "hosts: [svc-b]\ngateways: [gw]\nhttp:\n- match: [{{headers: {{\"@request.auth.claims\": {{exact: a}}}}}}]\n  {ROUTE}"
        )),
        &gateway("default", "gw", "[\"*\"]"),
    ]);
    assert_only_error(
        &yaml,
        "spec.http[0].match[0].headers.@request.auth.claims",
        "header name @request.auth.claims is not a valid header name",
    );
}

// ---------------------------------------------------------------------------------------------
// HTTPRoute: conflicts
// ---------------------------------------------------------------------------------------------

/// virtualservice.go validateHTTPRouteConflict: "HTTP route, redirect or direct_response is
/// required".
#[test]
fn route_redirect_or_direct_response_required() {
    let yaml = http("- match: [{uri: {prefix: /a}}]");
    assert_only_error(
        &yaml,
        "spec.http[0]",
        "HTTP route, redirect or direct_response is required",
    );
    assert_clean_yaml(&http(&format!(
        "- match: [{{uri: {{prefix: /a}}}}]\n  {ROUTE}"
    )));
}

/// virtualservice.go validateHTTPRouteConflict: "HTTP route cannot contain both route and
/// redirect".
#[test]
fn route_and_redirect_conflict() {
    let yaml = http(&format!("- redirect: {{uri: /b}}\n  {ROUTE}"));
    assert_only_error(
        &yaml,
        "spec.http[0]",
        "HTTP route cannot contain both route and redirect",
    );
    assert_clean_yaml(&http("- redirect: {uri: /b}"));
}

/// virtualservice.go validateHTTPRouteConflict: "HTTP route cannot contain both fault and
/// redirect".
#[test]
fn fault_and_redirect_conflict() {
    let yaml =
        http("- redirect: {uri: /b}\n  fault: {abort: {httpStatus: 500, percentage: {value: 1}}}");
    assert_only_error(
        &yaml,
        "spec.http[0]",
        "HTTP route cannot contain both fault and redirect",
    );
    assert_clean_yaml(&http(&format!(
        "- fault: {{abort: {{httpStatus: 500, percentage: {{value: 1}}}}}}\n  {ROUTE}"
    )));
}

/// virtualservice.go validateHTTPRouteConflict: "HTTP route rule cannot contain both rewrite and
/// redirect".
#[test]
fn rewrite_and_redirect_conflict() {
    let yaml = http("- redirect: {uri: /b}\n  rewrite: {uri: /c}");
    assert_only_error(
        &yaml,
        "spec.http[0]",
        "HTTP route rule cannot contain both rewrite and redirect",
    );
    assert_clean_yaml(&http(&format!("- rewrite: {{uri: /c}}\n  {ROUTE}")));
}

/// virtualservice.go validateHTTPRouteConflict: "HTTP route rule cannot contain both
/// direct_response and redirect".
#[test]
fn direct_response_and_redirect_conflict() {
    let yaml = http("- redirect: {uri: /b}\n  directResponse: {status: 200}");
    assert_only_error(
        &yaml,
        "spec.http[0]",
        "HTTP route rule cannot contain both direct_response and redirect",
    );
    assert_clean_yaml(&http("- directResponse: {status: 200}"));
}

/// virtualservice.go validateHTTPRouteConflict: "HTTP route cannot contain both route and
/// direct_response".
#[test]
fn route_and_direct_response_conflict() {
    let yaml = http(&format!("- directResponse: {{status: 200}}\n  {ROUTE}"));
    assert_only_error(
        &yaml,
        "spec.http[0]",
        "HTTP route cannot contain both route and direct_response",
    );
    assert_clean_yaml(&http(
        "- directResponse: {status: 503, body: {string: unavailable}}",
    ));
}

/// virtualservice.go validateHTTPRouteConflict: "HTTP route cannot contain both fault and
/// direct_response".
#[test]
fn fault_and_direct_response_conflict() {
    let yaml = http(
        "- directResponse: {status: 200}\n  fault: {delay: {fixedDelay: 1s, percentage: {value: 1}}}",
    );
    assert_only_error(
        &yaml,
        "spec.http[0]",
        "HTTP route cannot contain both fault and direct_response",
    );
}

/// virtualservice.go validateHTTPRouteConflict: "HTTP route rule cannot contain both rewrite and
/// direct_response".
#[test]
fn rewrite_and_direct_response_conflict() {
    let yaml = http("- directResponse: {status: 200}\n  rewrite: {uri: /c}");
    assert_only_error(
        &yaml,
        "spec.http[0]",
        "HTTP route rule cannot contain both rewrite and direct_response",
    );
}

/// virtualservice.go validateHTTPRouteConflict: "HTTP route cannot contain both mirror and
/// mirrors".
#[test]
fn mirror_and_mirrors_conflict() {
    let yaml = http(&format!(
        "- {ROUTE}\n  mirror: {{host: svc-c}}\n  mirrors: [{{destination: {{host: svc-d}}}}]"
    ));
    assert_only_error(
        &yaml,
        "spec.http[0]",
        "HTTP route cannot contain both mirror and mirrors",
    );
    assert_clean_yaml(&http(&format!(
        "- {ROUTE}\n  mirrors: [{{destination: {{host: svc-c}}}}, {{destination: {{host: svc-d}}, percentage: {{value: 50}}}}]"
    )));
}

/// virtualservice.go validateHTTPRouteConflict: a root route (with `delegate`) "must not specify
/// route".
#[test]
fn root_route_with_delegate_and_route_rejected() {
    let yaml = http(&format!(
        "- name: root\n  delegate: {{name: leaf}}\n  {ROUTE}"
    ));
    assert_only_error(
        &yaml,
        "spec.http[0].route",
        "root HTTP route root must not specify route",
    );
    let leaf = named_vs("default", "leaf", &format!("http:\n- {ROUTE}"));
    assert_clean_yaml(&docs(&[
        &http("- name: root\n  delegate: {name: leaf}"),
        &leaf,
    ]));
}

/// virtualservice.go validateHTTPRouteConflict: a root route "must not specify redirect".
#[test]
fn root_route_with_delegate_and_redirect_rejected() {
    let yaml = http("- name: root\n  delegate: {name: leaf}\n  redirect: {uri: /b}");
    assert_only_error(
        &yaml,
        "spec.http[0].redirect",
        "root HTTP route root must not specify redirect",
    );
}

/// virtualservice.go validateHTTPRouteConflict: a route of a delegate VirtualService "cannot
/// contain delegate".
#[test]
fn delegate_route_cannot_delegate() {
    let yaml = vs(&format!("http:\n- delegate: {{name: other}}\n  {ROUTE}"));
    assert_only_error(
        &yaml,
        "spec.http[0].delegate",
        "delegate HTTP route cannot contain delegate",
    );
    assert_clean_yaml(&vs(&format!("http:\n- {ROUTE}")));
}

// ---------------------------------------------------------------------------------------------
// Mirrors
// ---------------------------------------------------------------------------------------------

/// virtualservice.go validateHTTPRoute: "mirror_percentage must have a max value of 100" and
/// "... a min value of 0".
#[test]
fn mirror_percentage_in_range() {
    let with = |v: &str| {
        http(&format!(
            "- {ROUTE}\n  mirror: {{host: svc-c}}\n  mirrorPercentage: {{value: {v}}}"
        ))
    };
    assert_only_error(
        &with("101"),
        "spec.http[0].mirrorPercentage.value",
        "mirror_percentage must have a max value of 100",
    );
    assert_only_error(
        &with("-1"),
        "spec.http[0].mirrorPercentage.value",
        "mirror_percentage must have a min value of 0",
    );
    assert_clean_yaml(&with("0"));
    assert_clean_yaml(&with("100"));
}

/// validation.go validateHTTPMirrors: "mirror percentage must have a max value of 100",
/// "destination is required for mirrors", "mirror cannot be null".
#[test]
fn mirrors_entries_validated() {
    let with = |m: &str| http(&format!("- {ROUTE}\n  mirrors: [{m}]"));
    assert_only_error(
        &with("{destination: {host: svc-c}, percentage: {value: 150}}"),
        "spec.http[0].mirrors[0].percentage.value",
        "mirror percentage must have a max value of 100",
    );
    assert_only_error(
        &with("{percentage: {value: 10}}"),
        "spec.http[0].mirrors[0].destination",
        "destination is required for mirrors",
    );
    // A null `mirrors` item: YAML cannot produce one (a null list item is a load error, as the
    // Kubernetes API server rejects it), a resource built or edited in Rust can.
    let diags = with_first_route(&with("{destination: {host: svc-c}}"), |route| {
        route.mirrors = vec![None]
    });
    assert!(
        diags.iter().any(|d| d.path == "spec.http[0].mirrors[0]"
            && d.rejects()
            && d.message == "mirror cannot be null"),
        "{}",
        render(&diags)
    );
    assert_clean_yaml(&with(
        "{destination: {host: svc-c}, percentage: {value: 100}}",
    ));
}

/// virtualservice.go validateHTTPRoute: the deprecated `mirrorPercent` warns, and above 100
/// "mirror_percent must have a max value of 100".
#[test]
fn deprecated_mirror_percent() {
    let with = |v: u32| {
        http(&format!(
            "- {ROUTE}\n  mirror: {{host: svc-c}}\n  mirrorPercent: {v}"
        ))
    };
    assert_error(
        &with(101),
        "spec.http[0].mirrorPercent",
        "mirror_percent must have a max value of 100",
    );
    assert_no_errors(&with(50));
    assert_warning(
        &with(50),
        "spec.http[0].mirrorPercent",
        "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead",
    );
}

/// validation.go validateDestination for `mirror`: host `*` is invalid.
#[test]
fn mirror_destination_validated() {
    let yaml = http(&format!("- {ROUTE}\n  mirror: {{host: \"*\"}}"));
    assert_only_error(
        &yaml,
        "spec.http[0].mirror.host",
        "invalid destination host *",
    );
}

// ---------------------------------------------------------------------------------------------
// Durations and timeout
// ---------------------------------------------------------------------------------------------

/// agent.ValidateDuration: "duration must be greater than 1ms", so `timeout: 0s` is rejected
/// even though an absent timeout means "no timeout".
#[test]
fn timeout_zero_rejected() {
    let with = |t: &str| http(&format!("- {ROUTE}\n  timeout: {t}"));
    assert_only_error(
        &with("0s"),
        "spec.http[0].timeout",
        "duration must be greater than 1ms",
    );
    assert_only_error(
        &with("0.5ms"),
        "spec.http[0].timeout",
        "duration must be greater than 1ms",
    );
    assert_clean_yaml(&with("1ms"));
    assert_clean_yaml(&with("10s"));
}

/// agent.ValidateDuration: "only durations to ms precision are supported" (`1.5ms` fails).
#[test]
fn duration_millisecond_precision() {
    let with = |t: &str| http(&format!("- {ROUTE}\n  timeout: {t}"));
    assert_only_error(
        &with("1.5ms"),
        "spec.http[0].timeout",
        "only durations to ms precision are supported",
    );
    assert_only_error(
        &with("0.0015s"),
        "spec.http[0].timeout",
        "only durations to ms precision are supported",
    );
    assert_clean_yaml(&with("1.5s"));
    assert_clean_yaml(&with("2ms"));
}

// ---------------------------------------------------------------------------------------------
// Header operations
// ---------------------------------------------------------------------------------------------

/// virtualservice.go validateAuthorityRewrite: "authority header cannot be set multiple times"
/// (rewrite.authority and a `host`/`:authority` set or add).
#[test]
fn authority_set_only_once() {
    let yaml = http(&format!(
        "- {ROUTE}\n  rewrite: {{authority: a.com}}\n  headers: {{request: {{set: {{host: b.com}}}}}}"
    ));
    assert_only_error(
        &yaml,
        "spec.http[0].headers.request.set.host",
        "authority header cannot be set multiple times: have \"a.com\", attempting to set \"b.com\"",
    );
    let yaml = http(&format!(
        "- {ROUTE}\n  headers: {{request: {{set: {{\":authority\": a.com}}, add: {{host: b.com}}}}}}"
    ));
    assert_only_error(
        &yaml,
        "spec.http[0].headers.request.add.host",
        "authority header cannot be set multiple times",
    );
    assert_clean_yaml(&http(&format!(
        "- {ROUTE}\n  rewrite: {{authority: a.com}}"
    )));
    assert_clean_yaml(&http(&format!(
        "- {ROUTE}\n  headers: {{request: {{set: {{\":authority\": a.com}}}}}}"
    )));
}

/// validation.go ValidateHTTPHeaderWithAuthorityOperationName: request set/add names may not start
/// with `:` (except `:authority`) and may not be empty.
#[test]
fn request_header_operation_names() {
    let with = |ops: &str| http(&format!("- {ROUTE}\n  headers: {{request: {ops}}}"));
    assert_only_error(
        &with("{set: {\":path\": /x}}"),
        "spec.http[0].headers.request.set.:path",
        "invalid header \":path\": header cannot have \":\" prefix",
    );
    assert_only_error(
        &with("{add: {\"\": x}}"),
        "spec.http[0].headers.request.add.",
        "header name cannot be empty",
    );
    assert_clean_yaml(&with("{set: {host: a.com}}"));
    assert_clean_yaml(&with("{set: {x-foo: bar}, add: {x-bar: baz}}"));
}

/// validation.go ValidateHTTPHeaderOperationName: request remove and all response operations
/// cannot touch `host` ("cannot set Host header") or `:`-prefixed names.
#[test]
fn remove_and_response_header_operation_names() {
    let with = |ops: &str| http(&format!("- {ROUTE}\n  headers: {ops}"));
    assert_only_error(
        &with("{request: {remove: [Host]}}"),
        "spec.http[0].headers.request.remove[0]",
        "invalid header \"Host\": cannot set Host header",
    );
    assert_only_error(
        &with("{response: {set: {host: a}}}"),
        "spec.http[0].headers.response.set.host",
        "cannot set Host header",
    );
    assert_only_error(
        &with("{response: {add: {\":authority\": a}}}"),
        "spec.http[0].headers.response.add.:authority",
        "header cannot have \":\" prefix",
    );
    assert_only_error(
        &with("{response: {remove: [\":status\"]}}"),
        "spec.http[0].headers.response.remove[0]",
        "header cannot have \":\" prefix",
    );
    assert_clean_yaml(&with(
        "{request: {remove: [x-foo]}, response: {set: {x-a: b}, add: {x-c: d}, remove: [x-e]}}",
    ));
}

/// validation.go validateHTTPRouteDestinations: per-destination header operations follow the same
/// rules.
#[test]
fn destination_header_operations_validated() {
    let yaml =
        http("- route: [{destination: {host: svc-b}, headers: {request: {set: {\":path\": /x}}}}]");
    assert_only_error(
        &yaml,
        "spec.http[0].route[0].headers.request.set.:path",
        "header cannot have \":\" prefix",
    );
    assert_clean_yaml(&http(
        "- route: [{destination: {host: svc-b}, headers: {request: {set: {x-a: b}}}}]",
    ));
}

/// validation.go ValidateHTTPHeaderValue / header_value_validator.go: a `%` must be doubled or open
/// a `%VAR%`; `abcd%oijasodifj` is invalid, `100%%` and `%HOSTNAME%` are valid.
#[test]
fn header_values_escape_percent() {
    let with = |v: &str| {
        http(&format!(
            "- {ROUTE}\n  headers: {{request: {{set: {{x-foo: \"{v}\"}}}}}}"
        ))
    };
    assert_only_error(
        &with("abcd%oijasodifj"),
        "spec.http[0].headers.request.set.x-foo",
        "header value configuration",
    );
    assert_only_error(
        &with("%START_TIME%%"),
        "spec.http[0].headers.request.set.x-foo",
        "header value configuration",
    );
    assert_clean_yaml(&with("100%%"));
    assert_clean_yaml(&with("%HOSTNAME%"));
    assert_clean_yaml(&with("prefix %REQ(x-id)% suffix"));
}

/// validation.go ValidateHTTPHeaderValue: control characters are rejected ("header value
/// configuration %s is invalid").
#[test]
fn header_values_no_control_characters() {
    let yaml = http(&format!(
        "- {ROUTE}\n  headers: {{response: {{add: {{x-foo: \"a\\u0001b\"}}}}}}"
    ));
    assert_only_error(
        &yaml,
        "spec.http[0].headers.response.add.x-foo",
        "header value configuration",
    );
    assert_clean_yaml(&http(&format!(
        "- {ROUTE}\n  headers: {{response: {{add: {{x-foo: \"a\\tb\"}}}}}}"
    )));
}

// ---------------------------------------------------------------------------------------------
// Match
// ---------------------------------------------------------------------------------------------

/// vs.proto says a match "CANNOT be empty", but validation_test "match with nil element" is valid:
/// an empty match `{}` and a nil element pass. In YAML a null list item is a load error (the
/// Kubernetes API server rejects it before Istio sees it); a resource built or edited in Rust can
/// hold one.
#[test]
fn empty_and_null_matches_valid() {
    assert_clean_yaml(&with_match("{}"));
    let diags = with_first_route(&with_match("{}"), |route| route.matches = vec![None]);
    assert!(diags.is_empty(), "{}", render(&diags));
}

/// virtualservice.go validateHTTPRouteMatchRequest: "header match %v cannot be null"; `{}` is the
/// presence match. YAML cannot produce the null entry: the Kubernetes API server prunes null map
/// values (`PruneNonNullableNullsWithoutDefaults`), so `x-foo: null` loads as no header condition.
#[test]
fn header_match_cannot_be_null() {
    let diags = with_first_route(&with_match("{}"), |route| {
        if let Some(Some(m)) = route.matches.first_mut() {
            m.headers.insert("x-foo".into(), None);
        }
    });
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.rejects()).collect();
    assert_eq!(errors.len(), 1, "{}", render(&diags));
    assert_eq!(errors[0].path, "spec.http[0].match[0].headers.x-foo");
    assert_eq!(errors[0].message, "header match x-foo cannot be null");
    assert_clean_yaml(&with_match("{headers: {x-foo: {}}}"));
    assert_clean_yaml(&with_match("{headers: {x-foo: null}}"));
}

/// virtualservice.go validateHTTPRouteMatchRequest: a nil `withoutHeaders` or `queryParams` entry
/// is not checked (it translates to a presence match).
#[test]
fn null_without_header_and_query_param_accepted() {
    let diags = with_first_route(&with_match("{}"), |route| {
        if let Some(Some(m)) = route.matches.first_mut() {
            m.without_headers.insert("x-foo".into(), None);
            m.query_params.insert("q".into(), None);
        }
    });
    assert!(diags.is_empty(), "{}", render(&diags));
}

/// validation.go ValidateHTTPHeaderNameOrJwtClaimRoute: an RFC 7230 token or a pseudo-header
/// (`:method :scheme :authority :path :status`); otherwise "header name %s is not a valid header
/// name".
#[test]
fn match_header_names() {
    assert_only_error(
        &with_match("{headers: {\"x foo\": {exact: a}}}"),
        "spec.http[0].match[0].headers.x foo",
        "header name x foo is not a valid header name",
    );
    assert_only_error(
        &with_match("{headers: {\":foo\": {exact: a}}}"),
        "spec.http[0].match[0].headers.:foo",
        "header name :foo is not a valid header name",
    );
    assert_only_error(
        &with_match("{withoutHeaders: {\"x/y\": {exact: a}}}"),
        "spec.http[0].match[0].withoutHeaders.x/y",
        "header name x/y is not a valid header name",
    );
    assert_clean_yaml(&with_match(
        "{headers: {\":method\": {exact: GET}, \":authority\": {prefix: a}, X-Upper_case.1: {exact: a}}}",
    ));
}

/// validation.go validateStringMatch / virtualservice.go: `prefix: ""` is valid for `uri` only.
#[test]
fn empty_prefix_valid_for_uri_only() {
    assert_clean_yaml(&with_match("{uri: {prefix: \"\"}}"));
    for (field, m, path) in [
        (
            "headers",
            "{headers: {x-foo: {prefix: \"\"}}}",
            "headers.x-foo.prefix",
        ),
        (
            "withoutHeaders",
            "{withoutHeaders: {x-foo: {prefix: \"\"}}}",
            "withoutHeaders.x-foo.prefix",
        ),
        (
            "queryParams",
            "{queryParams: {q: {prefix: \"\"}}}",
            "queryParams.q.prefix",
        ),
        ("scheme", "{scheme: {prefix: \"\"}}", "scheme.prefix"),
        ("method", "{method: {prefix: \"\"}}", "method.prefix"),
        (
            "authority",
            "{authority: {prefix: \"\"}}",
            "authority.prefix",
        ),
    ] {
        assert_only_error(
            &with_match(m),
            &format!("spec.http[0].match[0].{path}"),
            &format!("\"{field}\": prefix string match should not be empty"),
        );
    }
    assert_clean_yaml(&with_match(
        "{headers: {x-foo: {prefix: a}}, queryParams: {q: {prefix: b}}}",
    ));
    // `exact: ""` is valid (it matches a header present with an empty value).
    assert_clean_yaml(&with_match(
        "{headers: {x-foo: {exact: \"\"}}, queryParams: {q: {exact: \"\"}}}",
    ));
}

/// validation.go validateStringMatchRegexp: an empty regex is invalid everywhere, `uri` included.
#[test]
fn empty_regex_invalid_everywhere() {
    assert_only_error(
        &with_match("{uri: {regex: \"\"}}"),
        "spec.http[0].match[0].uri.regex",
        "\"uri\": regex string match should not be empty",
    );
    assert_only_error(
        &with_match("{headers: {x: {regex: \"\"}}}"),
        "spec.http[0].match[0].headers.x.regex",
        "\"headers\": regex string match should not be empty",
    );
    assert_clean_yaml(&with_match("{uri: {regex: \"/a/.*\"}}"));
}

/// validation.go validateStringRegexp: Go (RE2) syntax; `*` is not a regex, so
/// `headers: {x: {regex: "*"}}` and `queryParams` fail although translation would make them a
/// presence match.
#[test]
fn star_regex_invalid_in_headers_and_query_params() {
    let needle = "Istio uses RE2 style regex-based match";
    assert_only_error(
        &with_match("{headers: {x-foo: {regex: \"*\"}}}"),
        "spec.http[0].match[0].headers.x-foo.regex",
        needle,
    );
    assert_error(
        &with_match("{headers: {x-foo: {regex: \"*\"}}}"),
        "spec.http[0].match[0].headers.x-foo.regex",
        "\"headers\":",
    );
    assert_only_error(
        &with_match("{queryParams: {q: {regex: \"*\"}}}"),
        "spec.http[0].match[0].queryParams.q.regex",
        "\"queryParams\":",
    );
    assert_clean_yaml(&with_match(
        "{headers: {x-foo: {regex: \".*\"}}, queryParams: {q: {regex: \"\\\\d+\"}}}",
    ));
}

/// validation.go validateStringRegexp compiles with Go's RE2 `regexp`: look-arounds and
/// back-references are rejected.
#[test]
fn regex_must_be_re2() {
    let needle = "Istio uses RE2 style regex-based match";
    assert_only_error(
        &with_match("{uri: {regex: \"/a(?=b)\"}}"),
        "spec.http[0].match[0].uri.regex",
        needle,
    );
    assert_only_error(
        &with_match("{authority: {regex: \"(a)\\\\1\"}}"),
        "spec.http[0].match[0].authority.regex",
        "\"authority\":",
    );
    assert_clean_yaml(&with_match(
        "{uri: {regex: \"(?i)/A/[0-9]+\"}, method: {regex: \"GET|HEAD\"}}",
    ));
}

/// A match regex is a full match (Envoy's `safe_regex`): it is checked as it is compiled,
/// `^(?:…)$`. A pattern that compiles alone but not inside the anchors (here a `(?x)` comment
/// swallows the closing parenthesis; RE2 has no `x` flag, so Istio refuses it as well) is an
/// error, never a condition that silently disappears and matches every request.
#[test]
fn match_regex_is_checked_in_its_full_match_form() {
    assert_only_error(
        &with_match("{uri: {regex: \"(?x)/a #note\"}}"),
        "spec.http[0].match[0].uri.regex",
        "Istio uses RE2 style regex-based match",
    );
    assert_only_error(
        &with_match("{headers: {x-a: {regex: \"(?x)b #note\"}}}"),
        "spec.http[0].match[0].headers.x-a.regex",
        "\"headers\":",
    );
}

/// virtualservice.go validateHTTPRouteMatchRequest: `withoutHeaders` skips validation of `*`
/// (virtualservice_test "regex without headers match *" valid, "... match ?" invalid).
#[test]
fn star_regex_valid_in_without_headers() {
    assert_clean_yaml(&with_match("{withoutHeaders: {x-foo: {regex: \"*\"}}}"));
    assert_only_error(
        &with_match("{withoutHeaders: {x-foo: {regex: \"?\"}}}"),
        "spec.http[0].match[0].withoutHeaders.x-foo.regex",
        "\"withoutHeaders\":",
    );
}

/// validation.go validateStringRegexp: "regex is too large, max length allowed is 1024".
#[test]
fn regex_max_length() {
    let long = "a".repeat(1025);
    assert_only_error(
        &with_match(&format!("{{uri: {{regex: {long}}}}}")),
        "spec.http[0].match[0].uri.regex",
        "\"uri\": regex is too large, max length allowed is 1024",
    );
    assert_clean_yaml(&with_match(&format!(
        "{{uri: {{regex: {}}}}}",
        "a".repeat(1024)
    )));
}

/// virtualservice.go validateHTTPRouteMatchRequest: a match `port` must be in 1..65535 (0 means
/// unset).
#[test]
fn match_port_in_range() {
    assert_only_error(
        &with_match("{port: 65536}"),
        "spec.http[0].match[0].port",
        "port number 65536 must be in the range 1..65535",
    );
    assert_clean_yaml(&with_match("{port: 8080}"));
    assert_clean_yaml(&with_match("{port: 0}"));
}

/// virtualservice.go validateHTTPRouteMatchRequest: `sourceLabels` must be valid labels.
#[test]
fn match_source_labels_valid() {
    assert_only_error(
        &with_match("{sourceLabels: {app: \"-bad\"}}"),
        "spec.http[0].match[0].sourceLabels.app",
        "invalid tag value",
    );
    assert_clean_yaml(&with_match(
        "{sourceLabels: {app: reviews, version: v1.2_3}}",
    ));
}

/// virtualservice.go validateHTTPRouteMatchRequest: "sourceNamespace match %s is invalid".
#[test]
fn match_source_namespace_valid() {
    assert_only_error(
        &with_match("{sourceNamespace: bad_ns}"),
        "spec.http[0].match[0].sourceNamespace",
        "sourceNamespace match bad_ns is invalid",
    );
    assert_clean_yaml(&with_match("{sourceNamespace: prod}"));
}

/// virtualservice.go validateHTTPRouteMatchRequest: match `gateways` follow validateGatewayNames.
#[test]
fn match_gateway_names_valid() {
    assert_only_error(
        &with_match("{gateways: [\"ns1/*\"]}"),
        "spec.http[0].match[0].gateways[0]",
        "invalid value for gateway name",
    );
    assert_clean_yaml(&with_match("{gateways: [mesh]}"));
}

// ---------------------------------------------------------------------------------------------
// Destinations and weights
// ---------------------------------------------------------------------------------------------

/// validation.go validateHTTPRouteDestinations: "destination is required".
#[test]
fn destination_required() {
    assert_only_error(
        &http("- route: [{weight: 100}]"),
        "spec.http[0].route[0].destination",
        "destination is required",
    );
    assert_clean_yaml(&http(
        "- route: [{destination: {host: svc-b}, weight: 100}]",
    ));
}

/// validation.go validateDestination: "invalid destination host *".
#[test]
fn destination_host_not_star() {
    assert_only_error(
        &http("- route: [{destination: {host: \"*\"}}]"),
        "spec.http[0].route[0].destination.host",
        "invalid destination host *",
    );
}

/// validation.go validateDestination: other hosts must be valid wildcard domains (`foo.*` and
/// `default/baz` invalid, `*foo.baz` and `*-foo.baz` valid); an IP address is not accepted (its
/// top-level domain is all-numeric).
#[test]
fn destination_host_valid_wildcard_domain() {
    let with = |h: &str| http(&format!("- route: [{{destination: {{host: \"{h}\"}}}}]"));
    for bad in ["foo.*", "default/baz"] {
        assert_only_error(
            &with(bad),
            "spec.http[0].route[0].destination.host",
            "domain name",
        );
    }
    assert_only_error(
        &with("10.0.0.1"),
        "spec.http[0].route[0].destination.host",
        "cannot be all-numeric",
    );
    assert_only_error(
        &with(""),
        "spec.http[0].route[0].destination.host",
        "empty domain name not allowed",
    );
    for good in [
        "*foo.baz",
        "*-foo.baz",
        "svc-b.default.svc.cluster.local",
        "reviews",
    ] {
        // A ServiceEntry defines the hosts, so that istioctl finds them (IST0101 otherwise).
        let entry = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: entry, namespace: default}\nspec:\n  hosts: [\"*.baz\", reviews]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: NONE\n";
        assert_clean_yaml(&docs(&[&with(good), entry]));
    }
}

/// validation.go validateSubsetName: "subset name is invalid: %s" (DNS-1123 label: no dots or
/// underscores; upper case accepted).
#[test]
fn destination_subset_name_valid() {
    let with = |s: &str| {
        docs(&[
            &http(&format!(
                "- route: [{{destination: {{host: svc-b, subset: \"{s}\"}}}}]"
            )),
            &destination_rule("default", "svc-b", "svc-b"),
        ])
    };
    assert_error(
        &with("v1.0"),
        "spec.http[0].route[0].destination.subset",
        "subset name is invalid: v1.0",
    );
    assert_error(
        &with("v_1"),
        "spec.http[0].route[0].destination.subset",
        "subset name is invalid: v_1",
    );
    assert_clean_yaml(&with("v1"));
    assert_no_errors(&with("V1"));
}

/// validation.go validatePortSelector: "port number 0 must be in the range 1..65535".
#[test]
fn destination_port_in_range() {
    let with = |n: u32| {
        http(&format!(
            "- route: [{{destination: {{host: svc-b, port: {{number: {n}}}}}}}]"
        ))
    };
    assert_only_error(
        &with(0),
        "spec.http[0].route[0].destination.port.number",
        "port number 0 must be in the range 1..65535",
    );
    assert_only_error(
        &with(65536),
        "spec.http[0].route[0].destination.port.number",
        "must be in the range 1..65535",
    );
    assert_clean_yaml(&with(8080));
}

/// validation.go validateWeight: "weight %d < 0".
#[test]
fn weight_not_negative() {
    let yaml = http(
        "- route: [{destination: {host: svc-b}, weight: 10}, {destination: {host: svc-c}, weight: -1}]",
    );
    assert_only_error(&yaml, "spec.http[0].route[1].weight", "weight -1 < 0");
}

/// validation.go validateHTTPRouteDestinations: with more than one destination the weights must not
/// all be 0 ("total destination weight = 0"); omitted weights count as 0.
#[test]
fn weights_not_all_zero_with_several_destinations() {
    let yaml = http(
        "- route: [{destination: {host: svc-b}, weight: 0}, {destination: {host: svc-c}, weight: 0}]",
    );
    assert_only_error(&yaml, "spec.http[0].route", "total destination weight = 0");
    let yaml = http("- route: [{destination: {host: svc-b}}, {destination: {host: svc-c}}]");
    assert_only_error(&yaml, "spec.http[0].route", "total destination weight = 0");
    assert_clean_yaml(&http(
        "- route: [{destination: {host: svc-b}, weight: 0}, {destination: {host: svc-c}, weight: 1}]",
    ));
}

/// validation.go validateHTTPRouteDestinations: a single destination with weight 0 is valid (the
/// weight is ignored).
#[test]
fn single_destination_weight_zero_valid() {
    assert_clean_yaml(&http("- route: [{destination: {host: svc-b}, weight: 0}]"));
}

/// Istio 1.15 (PR #39544) loosened the weights: they need not sum to 100 and have no upper bound.
#[test]
fn weights_need_not_sum_to_100() {
    assert_clean_yaml(&http(
        "- route: [{destination: {host: svc-b}, weight: 1}, {destination: {host: svc-c}, weight: 2}]",
    ));
    assert_clean_yaml(&http(
        "- route: [{destination: {host: svc-b}, weight: 300}, {destination: {host: svc-c}, weight: 700}]",
    ));
}

// ---------------------------------------------------------------------------------------------
// Redirect and direct response
// ---------------------------------------------------------------------------------------------

/// validation.go validateHTTPRedirect: "redirect may only specify one of uri or prefix_rewrite".
#[test]
fn redirect_uri_or_prefix_rewrite() {
    let yaml = http("- match: [{uri: {prefix: /a}}]\n  redirect: {uri: /b, prefixRewrite: /c}");
    assert_only_error(
        &yaml,
        "spec.http[0].redirect",
        "redirect may only specify one of uri or prefix_rewrite",
    );
    assert_clean_yaml(&http(
        "- match: [{uri: {prefix: /a}}]\n  redirect: {prefixRewrite: /c}",
    ));
}

/// validation.go validateHTTPRedirect: "redirect prefix_rewrite requires all URI matches to use
/// prefix match type" (matches without a uri are fine).
#[test]
fn redirect_prefix_rewrite_needs_prefix_matches() {
    let yaml =
        http("- match: [{uri: {prefix: /a}}, {uri: {exact: /b}}]\n  redirect: {prefixRewrite: /c}");
    assert_only_error(
        &yaml,
        "spec.http[0].redirect.prefixRewrite",
        "redirect prefix_rewrite requires all URI matches to use prefix match type",
    );
    assert_clean_yaml(&http(
        "- match: [{uri: {prefix: /a}}, {headers: {x: {exact: v}}}]\n  redirect: {prefixRewrite: /c}",
    ));
}

/// validation.go validateHTTPRedirect: "redirect must specify URI, authority, scheme, or port".
#[test]
fn redirect_must_specify_something() {
    assert_only_error(
        &http("- redirect: {redirectCode: 302}"),
        "spec.http[0].redirect",
        "redirect must specify URI, authority, scheme, or port",
    );
    assert_clean_yaml(&http("- redirect: {authority: b.com}"));
    assert_clean_yaml(&http("- redirect: {scheme: https}"));
    assert_clean_yaml(&http("- redirect: {port: 8443}"));
}

/// validation.go validateHTTPRedirect: "%d is not a valid redirect code, must be 3xx".
#[test]
fn redirect_code_must_be_3xx() {
    let with = |c: u32| http(&format!("- redirect: {{uri: /b, redirectCode: {c}}}"));
    assert_only_error(
        &with(400),
        "spec.http[0].redirect.redirectCode",
        "400 is not a valid redirect code, must be 3xx",
    );
    assert_only_error(
        &with(299),
        "spec.http[0].redirect.redirectCode",
        "299 is not a valid redirect code, must be 3xx",
    );
    for good in [301, 302, 303, 307, 308] {
        assert_clean_yaml(&with(good));
    }
}

/// validation.go validateHTTPRedirect accepts 300..399; route.go ApplyRedirect only translates
/// 301/302/303/307/308, so meshroute warns for the others (the route would have no action).
#[test]
fn redirect_code_other_3xx_accepted_with_warning() {
    let with = |c: u32| http(&format!("- redirect: {{uri: /b, redirectCode: {c}}}"));
    for code in [300, 304, 399] {
        assert_no_errors(&with(code));
        assert_warning(
            &with(code),
            "spec.http[0].redirect.redirectCode",
            "Envoy only redirects with 301, 302, 303, 307 or 308",
        );
    }
}

/// validation.go validateHTTPRedirect: "invalid redirect scheme, must be \"http\" or \"https\"".
#[test]
fn redirect_scheme_http_or_https() {
    assert_only_error(
        &http("- redirect: {scheme: ftp}"),
        "spec.http[0].redirect.scheme",
        "invalid redirect scheme, must be \"http\" or \"https\"",
    );
    assert_clean_yaml(&http("- redirect: {scheme: http}"));
}

/// validation.go validateHTTPRedirect: a redirect port must be in 1..65535.
#[test]
fn redirect_port_in_range() {
    assert_only_error(
        &http("- redirect: {port: 70000}"),
        "spec.http[0].redirect.port",
        "port number 70000 must be in the range 1..65535",
    );
}

/// validation.go validateHTTPStatus: 200 <= status <= 600; the message says 599 but 600 is
/// accepted and 601 rejected.
#[test]
fn direct_response_status_range() {
    let with = |s: u32| http(&format!("- directResponse: {{status: {s}}}"));
    assert_only_error(
        &with(601),
        "spec.http[0].directResponse.status",
        "HTTP status 601 is not in range 200-599",
    );
    assert_only_error(
        &with(199),
        "spec.http[0].directResponse.status",
        "HTTP status 199 is not in range 200-599",
    );
    assert_clean_yaml(&with(600));
    assert_clean_yaml(&with(200));
}

/// validation.go validateHTTPDirectResponse: bodies over 1 MiB are rejected ("must be less than
/// 1MB"), over 100 KiB warned ("large direct_responses may impact control plane performance").
#[test]
fn direct_response_body_size() {
    let with = |n: usize| {
        http(&format!(
            "- directResponse: {{status: 200, body: {{string: {}}}}}",
            "a".repeat(n)
        ))
    };
    assert_only_error(
        &with((1 << 20) + 1),
        "spec.http[0].directResponse.body",
        "must be less than 1MB",
    );
    let large = with((100 << 10) + 1);
    assert_no_errors(&large);
    assert_warning(
        &large,
        "spec.http[0].directResponse.body",
        "large direct_responses may impact control plane performance",
    );
    assert_clean_yaml(&with(100 << 10));
}

// ---------------------------------------------------------------------------------------------
// Rewrite
// ---------------------------------------------------------------------------------------------

/// validation.go validateHTTPRewrite: "rewrite may only contain one of URI or UriRegexRewrite".
#[test]
fn rewrite_uri_or_regex_rewrite() {
    let yaml = http(&format!(
        "- rewrite: {{uri: /a, uriRegexRewrite: {{match: \"^/b\", rewrite: /c}}}}\n  {ROUTE}"
    ));
    assert_only_error(
        &yaml,
        "spec.http[0].rewrite",
        "rewrite may only contain one of URI or UriRegexRewrite",
    );
    assert_clean_yaml(&http(&format!(
        "- rewrite: {{uriRegexRewrite: {{match: \"^/b(.*)\", rewrite: \"/c\\\\1\"}}}}\n  {ROUTE}"
    )));
}

/// validation.go validateHTTPRewrite: "rewrite must specify at least one of URI, UriRegexRewrite,
/// or authority".
#[test]
fn rewrite_must_specify_something() {
    let yaml = http(&format!("- rewrite: {{}}\n  {ROUTE}"));
    assert_only_error(
        &yaml,
        "spec.http[0].rewrite",
        "rewrite must specify at least one of URI, UriRegexRewrite, or authority",
    );
    assert_clean_yaml(&http(&format!(
        "- rewrite: {{authority: a.com}}\n  {ROUTE}"
    )));
}

/// validation.go validateURIRegexRewrite: "UriRegexRewrite requires both Rewrite and Match fields
/// to be specified", and the match is an RE2 regex.
#[test]
fn rewrite_regex_rewrite_complete_and_valid() {
    let yaml = http(&format!(
        "- rewrite: {{uriRegexRewrite: {{match: \"^/b\"}}}}\n  {ROUTE}"
    ));
    assert_only_error(
        &yaml,
        "spec.http[0].rewrite.uriRegexRewrite",
        "UriRegexRewrite requires both Rewrite and Match fields to be specified",
    );
    let yaml = http(&format!(
        "- rewrite: {{uriRegexRewrite: {{match: \"(\", rewrite: /c}}}}\n  {ROUTE}"
    ));
    assert_only_error(
        &yaml,
        "spec.http[0].rewrite.uriRegexRewrite.match",
        "\"HTTPRewrite.UriRegexRewrite.Match\":",
    );
    assert_clean_yaml(&http(&format!(
        "- rewrite: {{uriRegexRewrite: {{match: \"^/service/([^/]+)(/.*)$\", rewrite: \"/p/\\\\2/\\\\1\"}}}}\n  {ROUTE}"
    )));
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

fn retries(body: &str) -> String {
    http(&format!("- {ROUTE}\n  retries: {body}"))
}

/// validation.go validateHTTPRetry: "attempts cannot be negative".
#[test]
fn retry_attempts_not_negative() {
    assert_only_error(
        &retries("{attempts: -1}"),
        "spec.http[0].retries.attempts",
        "attempts cannot be negative",
    );
    assert_clean_yaml(&retries("{attempts: 3}"));
}

/// validation.go validateHTTPRetry: "http retry policy configured when attempts are set to 0
/// (disabled)"; `attempts: 0` alone is the way to disable retries.
#[test]
fn retry_policy_with_zero_attempts_rejected() {
    let need = "http retry policy configured when attempts are set to 0 (disabled)";
    assert_only_error(
        &retries("{attempts: 0, retryOn: 5xx}"),
        "spec.http[0].retries",
        need,
    );
    assert_only_error(
        &retries("{attempts: 0, perTryTimeout: 1s}"),
        "spec.http[0].retries",
        need,
    );
    assert_only_error(
        &retries("{attempts: 0, retryRemoteLocalities: true}"),
        "spec.http[0].retries",
        need,
    );
    assert_clean_yaml(&retries("{attempts: 0}"));
}

/// validation.go validateHTTPRetry: perTryTimeout and backoff follow agent.ValidateDuration.
#[test]
fn retry_durations_validated() {
    assert_only_error(
        &retries("{attempts: 2, perTryTimeout: 0s}"),
        "spec.http[0].retries.perTryTimeout",
        "duration must be greater than 1ms",
    );
    assert_only_error(
        &retries("{attempts: 2, backoff: 1.5ms}"),
        "spec.http[0].retries.backoff",
        "only durations to ms precision are supported",
    );
    assert_clean_yaml(&retries("{attempts: 2, perTryTimeout: 2s, backoff: 25ms}"));
}

/// validation.go validateHTTPRetry: retryOn tokens are split on `,` and not trimmed, so
/// `"5xx, gateway-error"` fails on `" gateway-error"`.
#[test]
fn retry_on_tokens_not_trimmed() {
    assert_only_error(
        &retries("{attempts: 2, retryOn: \"5xx, gateway-error\"}"),
        "spec.http[0].retries.retryOn",
        "\" gateway-error\" is not a valid retryOn policy",
    );
    assert_clean_yaml(&retries(
        "{attempts: 2, retryOn: \"5xx,gateway-error,connect-failure,refused-stream,reset,unavailable\"}",
    ));
}

/// validation.go validateHTTPRetry: a numeric token must have a Go `http.StatusText` (`503` yes,
/// `600` and `1000` no).
#[test]
fn retry_on_status_codes() {
    assert_clean_yaml(&retries("{attempts: 2, retryOn: \"503\"}"));
    assert_clean_yaml(&retries(
        "{attempts: 2, retryOn: \"retriable-status-codes,404,503\"}",
    ));
    assert_only_error(
        &retries("{attempts: 2, retryOn: \"600\"}"),
        "spec.http[0].retries.retryOn",
        "\"600\" is not a valid retryOn policy",
    );
    assert_only_error(
        &retries("{attempts: 2, retryOn: \"1000\"}"),
        "spec.http[0].retries.retryOn",
        "\"1000\" is not a valid retryOn policy",
    );
    assert_only_error(
        &retries("{attempts: 2, retryOn: \"5xx,bogus\"}"),
        "spec.http[0].retries.retryOn",
        "\"bogus\" is not a valid retryOn policy",
    );
}

// ---------------------------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------------------------

fn fault(body: &str) -> String {
    http(&format!("- {ROUTE}\n  fault: {body}"))
}

/// validation.go validateHTTPFaultInjection: "HTTP fault injection must have an abort and/or a
/// delay".
#[test]
fn fault_needs_abort_or_delay() {
    assert_only_error(
        &fault("{}"),
        "spec.http[0].fault",
        "HTTP fault injection must have an abort and/or a delay",
    );
    assert_clean_yaml(&fault("{delay: {fixedDelay: 5s, percentage: {value: 10}}}"));
}

/// validation.go validatePercentage: "percentage %v is neither 0.0, nor in range [0.0001,
/// 100.0]"; 0 is allowed, 0.00001 is not.
#[test]
fn fault_percentage_zero_or_in_range() {
    let need = "is neither 0.0, nor in range [0.0001, 100.0]";
    let abort = |v: &str| {
        fault(&format!(
            "{{abort: {{httpStatus: 500, percentage: {{value: {v}}}}}}}"
        ))
    };
    assert_only_error(
        &abort("0.00001"),
        "spec.http[0].fault.abort.percentage.value",
        need,
    );
    assert_only_error(
        &abort("100.5"),
        "spec.http[0].fault.abort.percentage.value",
        need,
    );
    assert_only_error(
        &abort("-1"),
        "spec.http[0].fault.abort.percentage.value",
        need,
    );
    let delay = |v: &str| {
        fault(&format!(
            "{{delay: {{fixedDelay: 1s, percentage: {{value: {v}}}}}}}"
        ))
    };
    assert_only_error(
        &delay("0.00001"),
        "spec.http[0].fault.delay.percentage.value",
        need,
    );
    for good in ["0", "0.0001", "100"] {
        assert_clean_yaml(&abort(good));
        assert_clean_yaml(&delay(good));
    }
}

/// validation.go validateHTTPStatus for abort.httpStatus: 200..600 ("HTTP status %d is not in
/// range 200-599").
#[test]
fn fault_abort_http_status_range() {
    let with = |s: i32| {
        fault(&format!(
            "{{abort: {{httpStatus: {s}, percentage: {{value: 1}}}}}}"
        ))
    };
    assert_only_error(
        &with(601),
        "spec.http[0].fault.abort.httpStatus",
        "HTTP status 601 is not in range 200-599",
    );
    assert_only_error(
        &with(100),
        "spec.http[0].fault.abort.httpStatus",
        "HTTP status 100 is not in range 200-599",
    );
    assert_clean_yaml(&with(600));
    assert_clean_yaml(&with(418));
}

/// validation.go validateGRPCStatus: "gRPC status %q is not supported".
#[test]
fn fault_abort_grpc_status_known() {
    let with = |s: &str| {
        fault(&format!(
            "{{abort: {{grpcStatus: {s}, percentage: {{value: 1}}}}}}"
        ))
    };
    assert_only_error(
        &with("BOGUS"),
        "spec.http[0].fault.abort.grpcStatus",
        "gRPC status \"BOGUS\" is not supported",
    );
    assert_clean_yaml(&with("UNAVAILABLE"));
}

/// validation.go validateHTTPFaultInjectionAbort: "HTTP/2 abort fault injection not supported
/// yet".
#[test]
fn fault_abort_http2_error_unsupported() {
    let yaml = fault("{abort: {http2Error: REFUSED_STREAM, percentage: {value: 1}}}");
    assert_only_error(
        &yaml,
        "spec.http[0].fault.abort.http2Error",
        "HTTP/2 abort fault injection not supported yet",
    );
}

/// validation.go validateHTTPFaultInjectionAbort: an abort without an error type is a warning
/// ("abort configured, but error type not set").
#[test]
fn fault_abort_without_error_type_warns() {
    let yaml = fault("{abort: {percentage: {value: 1}}}");
    assert_no_errors(&yaml);
    assert_warning(
        &yaml,
        "spec.http[0].fault.abort",
        "abort configured, but error type not set",
    );
}

/// validation.go validateHTTPFaultInjectionDelay: "exponentialDelay not supported yet"; fixedDelay
/// follows agent.ValidateDuration.
#[test]
fn fault_delay_kinds() {
    assert_only_error(
        &fault("{delay: {exponentialDelay: 1s, percentage: {value: 1}}}"),
        "spec.http[0].fault.delay.exponentialDelay",
        "exponentialDelay not supported yet",
    );
    assert_only_error(
        &fault("{delay: {fixedDelay: 0s, percentage: {value: 1}}}"),
        "spec.http[0].fault.delay.fixedDelay",
        "duration must be greater than 1ms",
    );
    assert_clean_yaml(&fault("{delay: {fixedDelay: 7s, percent: 50}}"));
}

// ---------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------

fn cors(body: &str) -> String {
    http(&format!("- {ROUTE}\n  corsPolicy: {body}"))
}

/// validation.go validateAllowOrigins: "'' is not a valid match type for CORS allow origins"; a
/// regex must compile.
#[test]
fn cors_allow_origins() {
    let need = "'' is not a valid match type for CORS allow origins";
    assert_only_error(
        &cors("{allowOrigins: [{exact: \"\"}]}"),
        "spec.http[0].corsPolicy.allowOrigins[0]",
        need,
    );
    assert_only_error(
        &cors("{allowOrigins: [{prefix: \"\"}]}"),
        "spec.http[0].corsPolicy.allowOrigins[0]",
        need,
    );
    assert_only_error(
        &cors("{allowOrigins: [{}]}"),
        "spec.http[0].corsPolicy.allowOrigins[0]",
        need,
    );
    assert_only_error(
        &cors("{allowOrigins: [{regex: \"(\"}]}"),
        "spec.http[0].corsPolicy.allowOrigins[0].regex",
        "\"corsPolicy.allowOrigins\":",
    );
    assert_clean_yaml(&cors(
        "{allowOrigins: [{exact: \"https://a.com\"}, {prefix: \"https://b\"}, {regex: \"https://.*\\\\.c\\\\.com\"}]}",
    ));
}

/// validation.go validateCORSHTTPMethod: "%q is not a supported HTTP method" (Go's methods and
/// `*`).
#[test]
fn cors_allow_methods() {
    assert_only_error(
        &cors("{allowMethods: [GET, FOO]}"),
        "spec.http[0].corsPolicy.allowMethods[1]",
        "\"FOO\" is not a supported HTTP method",
    );
    assert_only_error(
        &cors("{allowMethods: [get]}"),
        "spec.http[0].corsPolicy.allowMethods[0]",
        "\"get\" is not a supported HTTP method",
    );
    assert_clean_yaml(&cors("{allowMethods: [GET, POST, PATCH, \"*\"]}"));
}

/// validation.go ValidateCORSHTTPHeaderName: header names are tokens or `*` ("header name %s is
/// not a valid header name").
#[test]
fn cors_header_names() {
    assert_only_error(
        &cors("{allowHeaders: [\"x foo\"]}"),
        "spec.http[0].corsPolicy.allowHeaders[0]",
        "header name x foo is not a valid header name",
    );
    assert_only_error(
        &cors("{exposeHeaders: [\"a,b\"]}"),
        "spec.http[0].corsPolicy.exposeHeaders[0]",
        "header name a,b is not a valid header name",
    );
    assert_clean_yaml(&cors(
        "{allowHeaders: [\"*\", x-custom], exposeHeaders: [x-id]}",
    ));
}

/// validation.go validateCORSPolicy: maxAge follows agent.ValidateDuration and "max_age duration
/// is accurate only to seconds precision".
#[test]
fn cors_max_age() {
    assert_only_error(
        &cors("{maxAge: 1.5s}"),
        "spec.http[0].corsPolicy.maxAge",
        "max_age duration is accurate only to seconds precision",
    );
    assert_only_error(
        &cors("{maxAge: 0s}"),
        "spec.http[0].corsPolicy.maxAge",
        "duration must be greater than 1ms",
    );
    assert_clean_yaml(&cors("{maxAge: 24h}"));
}

// ---------------------------------------------------------------------------------------------
// Unreachable rules (IST0130, IST0131)
// ---------------------------------------------------------------------------------------------

/// validation.go analyzeUnreachableHTTPRules: IST0130 "only the last rule can have no matches".
#[test]
fn ist0130_second_rule_without_matches() {
    let yaml = http(&format!("- {ROUTE}\n- {ROUTE}"));
    assert_no_errors(&yaml);
    assert_analysis(
        &yaml,
        "IST0130",
        "spec.http[1]",
        "virtualService rule #1 not used (only the last rule can have no matches)",
    );
    assert_clean_yaml(&http(&format!(
        "- match: [{{uri: {{prefix: /a}}}}]\n  {ROUTE}\n- {ROUTE}"
    )));
}

/// validation.go analyzeUnreachableHTTPRules: IST0130 "route without matches defined before".
#[test]
fn ist0130_rule_after_catch_all() {
    let yaml = http(&format!(
        "- {ROUTE}\n- name: late\n  match: [{{uri: {{prefix: /a}}}}]\n  {ROUTE}"
    ));
    assert_no_errors(&yaml);
    assert_analysis(
        &yaml,
        "IST0130",
        "spec.http[1]",
        "virtualService rule \"late\" not used (route without matches defined before)",
    );
}

/// validation.go analyzeUnreachableHTTPRules: a repeated match is IST0131 "is not used
/// (duplicate/overlapping match in rule ...)", and a rule whose matches all repeat earlier ones is
/// IST0130 "all matches used by prior rules". The match name does not count.
#[test]
fn ist0131_duplicate_match_and_ist0130_all_matches_used() {
    let yaml = http(&format!(
        "- match: [{{uri: {{exact: /a}}}}]\n  {ROUTE}\n- match: [{{name: again, uri: {{exact: /a}}}}]\n  {ROUTE}"
    ));
    assert_no_errors(&yaml);
    assert_analysis(
        &yaml,
        "IST0131",
        "spec.http[1].match[0]",
        "virtualService rule #1 match \"again\" is not used (duplicate/overlapping match in rule #0)",
    );
    assert_analysis(
        &yaml,
        "IST0130",
        "spec.http[1]",
        "virtualService rule #1 not used (all matches used by prior rules)",
    );
    assert_clean_yaml(&http(&format!(
        "- match: [{{uri: {{exact: /a}}}}]\n  {ROUTE}\n- match: [{{uri: {{exact: /a}}, method: {{exact: POST}}}}]\n  {ROUTE}"
    )));
}

/// validation.go analyzeUnreachableHTTPRules: one duplicate among several matches is IST0131 only;
/// the rule stays in use.
#[test]
fn ist0131_partial_duplicate_keeps_rule() {
    let yaml = http(&format!(
        "- match: [{{uri: {{exact: /a}}}}]\n  {ROUTE}\n- match: [{{uri: {{exact: /a}}}}, {{uri: {{exact: /b}}}}]\n  {ROUTE}"
    ));
    assert_analysis(&yaml, "IST0131", "spec.http[1].match[0]", "is not used");
    assert_no_code(&yaml, "IST0130");
}

/// validation.go analyzeUnreachableHTTPRules/coveredValidation: a longer URI prefix after a shorter
/// one with the same other conditions is IST0131 ("... of prefix /foo/bar is not used
/// (duplicate/overlapping match in rule #0 of prefix /foo on #0)"); it does not make the rule
/// unused.
#[test]
fn ist0131_longer_prefix_after_shorter_prefix() {
    let yaml = http(&format!(
        "- match: [{{uri: {{prefix: /foo}}}}]\n  {ROUTE}\n- match: [{{uri: {{prefix: /foo/bar}}}}]\n  {ROUTE}"
    ));
    assert_no_errors(&yaml);
    assert_analysis(
        &yaml,
        "IST0131",
        "spec.http[1].match[0]",
        "virtualService rule #1 match #0 of prefix /foo/bar is not used (duplicate/overlapping match in rule #0 of prefix /foo on #0)",
    );
    assert_no_code(&yaml, "IST0130");
    // The other order is the right one, and a different header makes them independent.
    assert_clean_yaml(&http(&format!(
        "- match: [{{uri: {{prefix: /foo/bar}}}}]\n  {ROUTE}\n- match: [{{uri: {{prefix: /foo}}}}]\n  {ROUTE}"
    )));
    assert_clean_yaml(&http(&format!(
        "- match: [{{uri: {{prefix: /foo}}, headers: {{x: {{exact: a}}}}}}]\n  {ROUTE}\n- match: [{{uri: {{prefix: /foo/bar}}}}]\n  {ROUTE}"
    )));
}

// ---------------------------------------------------------------------------------------------
// TCP and TLS routes
// ---------------------------------------------------------------------------------------------

/// A VirtualService for host `db.example.com` with these `tcp` rules.
fn tcp(rules: &str) -> String {
    vs(&format!("hosts: [db.example.com]\ntcp:\n{rules}"))
}

/// A VirtualService for hosts `*.example.com` with these `tls` rules.
fn tls(rules: &str) -> String {
    vs(&format!("hosts: ['*.example.com']\ntls:\n{rules}"))
}

const L4: &str = "route: [{destination: {host: db.example.com}}]";

/// validation.go `validateTCPRoute` / `validateTLSRoute`: "TCP route is required", "TLS route
/// is required" (validation_test.go "missing tcp route", "missing tls route").
#[test]
fn tcp_and_tls_rules_need_a_route() {
    assert_only_error(
        &tcp("- match: [{port: 999}]"),
        "spec.tcp[0].route",
        "TCP route is required",
    );
    assert_only_error(
        &tls("- match: [{sniHosts: [a.example.com], port: 999}]"),
        "spec.tls[0].route",
        "TLS route is required",
    );
    assert_clean_yaml(&tcp(&format!("- match: [{{port: 999}}]\n  {L4}")));
}

/// validation.go `validateSniHost`: an SNI host must be a subset of a VirtualService host as
/// written (host/name.go `SubsetOf`: `*.example.com` covers `a.example.com`, not
/// `example.com`); an IP address is a warning.
#[test]
fn tls_sni_hosts_must_be_covered_by_the_hosts() {
    assert_only_error(
        &tls(&format!("- match: [{{sniHosts: [example.com]}}]\n  {L4}")),
        "spec.tls[0].match[0].sniHosts[0]",
        "SNI host \"example.com\" is not a compatible subset of any of the virtual service hosts: [*.example.com]",
    );
    assert_diag(
        &tls(&format!("- match: [{{sniHosts: [10.0.0.1]}}]\n  {L4}")),
        Severity::Warning,
        None,
        "spec.tls[0].match[0].sniHosts[0]",
        "goes against SNI spec",
    );
    assert_clean_yaml(&tls(&format!(
        "- match: [{{sniHosts: [a.example.com, '*.b.example.com']}}]\n  {L4}"
    )));
}

/// validation.go `validateTCPMatch` / `validateTLSMatch`: `destinationSubnets` are IPs or CIDR
/// blocks (agent `ValidateIPSubnet`), `port` is 1..65535.
#[test]
fn l4_match_subnets_and_ports_are_checked() {
    assert_error(
        &tcp(&format!(
            "- match: [{{destinationSubnets: [10.0.0.0/33]}}]\n  {L4}"
        )),
        "spec.tcp[0].match[0].destinationSubnets[0]",
        "",
    );
    assert_error(
        &tcp(&format!("- match: [{{port: 70000}}]\n  {L4}")),
        "spec.tcp[0].match[0].port",
        "",
    );
    assert_clean_yaml(&tcp(&format!(
        "- match: [{{destinationSubnets: [10.0.0.0/8, 192.168.1.1]}}]\n  {L4}"
    )));
}

/// validation.go `analyzeUnreachableTCPRules`: IST0130 for a rule after one without matches,
/// IST0131 for a repeated match and IST0130 when all of a rule's matches repeat earlier ones.
/// TCP rules have no names: `#i`.
#[test]
fn ist0130_ist0131_for_tcp_rules() {
    let yaml = tcp(&format!("- {L4}\n- {L4}"));
    assert_no_errors(&yaml);
    assert_analysis(
        &yaml,
        "IST0130",
        "spec.tcp[1]",
        "virtualService rule #1 not used (only the last rule can have no matches)",
    );
    let yaml = tcp(&format!("- {L4}\n- match: [{{port: 5432}}]\n  {L4}"));
    assert_analysis(
        &yaml,
        "IST0130",
        "spec.tcp[1]",
        "virtualService rule #1 not used (route without matches defined before)",
    );
    let yaml = tcp(&format!(
        "- match: [{{port: 5432}}]\n  {L4}\n- match: [{{port: 5432}}]\n  {L4}"
    ));
    assert_analysis(
        &yaml,
        "IST0131",
        "spec.tcp[1].match[0]",
        "virtualService rule #1 match #0 is not used (duplicate/overlapping match in rule #0)",
    );
    assert_analysis(
        &yaml,
        "IST0130",
        "spec.tcp[1]",
        "virtualService rule #1 not used (all matches used by prior rules)",
    );
    assert_clean_yaml(&tcp(&format!(
        "- match: [{{port: 5432}}]\n  {L4}\n- match: [{{port: 5433}}]\n  {L4}\n- {L4}"
    )));
}

/// validation.go `analyzeUnreachableTLSRules`: the same for TLS rules; the SNI hosts are part
/// of the match.
#[test]
fn ist0130_ist0131_for_tls_rules() {
    let yaml = tls(&format!(
        "- match: [{{sniHosts: [a.example.com]}}, {{sniHosts: [b.example.com]}}]\n  {L4}\n- match: [{{sniHosts: [b.example.com]}}]\n  {L4}"
    ));
    assert_no_errors(&yaml);
    assert_analysis(
        &yaml,
        "IST0131",
        "spec.tls[1].match[0]",
        "virtualService rule #1 match #0 is not used (duplicate/overlapping match in rule #0)",
    );
    assert_analysis(
        &yaml,
        "IST0130",
        "spec.tls[1]",
        "virtualService rule #1 not used (all matches used by prior rules)",
    );
    assert_clean_yaml(&tls(&format!(
        "- match: [{{sniHosts: [a.example.com]}}]\n  {L4}\n- match: [{{sniHosts: [b.example.com]}}]\n  {L4}"
    )));
}
