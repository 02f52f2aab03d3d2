//! Who sees what (ISTIO-SEMANTICS.md §10.2, §10.4, §10.5): `exportTo` of VirtualServices,
//! DestinationRules and services with MeshConfig's defaults, the sidecar port-80 rule, `Sidecar`
//! resources and the outbound traffic policy, and how `explain` reports them.
//!
//! Upstream, istio/istio:
//! - `pilot/pkg/model/push_context.go`: `IsServiceVisible`, `initVirtualServices` (private,
//!   exported-to-namespace and public VirtualService indexes), `destinationRule` /
//!   `getExportedDestinationRuleFromNamespace` / `setDestinationRules` (the three-tier
//!   DestinationRule lookup), `getSidecarScope` / `initSidecarScopes` (which Sidecar a workload
//!   gets).
//! - `pilot/pkg/model/virtualservice.go` `SelectVirtualServices`: private, then exported, then
//!   public VirtualServices, each oldest first, kept when the egress hosts name one of their
//!   hosts for their namespace or `*`.
//! - `pilot/pkg/model/sidecar.go`: `convertToSidecarScope` (no egress: one listener `*/*`;
//!   `outboundTrafficPolicy` from the Sidecar, else MeshConfig), `convertIstioListenerToWrapper`
//!   (hosts `ns/dnsName`, `.` is the namespace the scope is built for, `~` excludes),
//!   `hostClassification.Matches` (exact names compared as written: `default/reviews` imports
//!   the host `reviews`, not `reviews.default.svc.cluster.local`), `selectServices` (one service
//!   per host, the caller's namespace first), `collectImportedServices` (the destinations of the
//!   imported VirtualServices get clusters too), `GetEgressListenerForRDS` (the listener for the
//!   port, else the catch-all).
//! - `pilot/pkg/networking/core/httproute.go` `BuildSidecarOutboundVirtualHosts`: on a port
//!   other than 80 only VirtualServices whose hosts name a service with that port;
//!   `buildCatchAllVirtualHost`: `allow_any` (PassthroughCluster) or `block_all` (502).
//! - `pkg/config/mesh/mesh.go` `DefaultMeshConfig`, `ApplyMeshConfig`; istio/api
//!   `mesh/v1alpha1/config.proto`.

use http::StatusCode;
use meshroute::{LoadOptions, Mesh, Outcome, Source};

use crate::common::get;

fn mesh(yaml: &str) -> Mesh {
    crate::common::mesh(yaml)
}

fn with_mesh_config(yaml: &str, mesh_config: &str) -> Mesh {
    let mut loaded = meshroute::from_str(yaml, &LoadOptions::default());
    loaded.extend(meshroute::mesh_config_from_str(mesh_config, None));
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    loaded.compile().unwrap()
}

/// A Service without a selector (endpoints unknown) on `ports`.
fn service(name: &str, namespace: &str, ports: &[u16], annotations: &str) -> String {
    let ports: Vec<String> = ports
        .iter()
        .map(|p| format!("{{name: http-{p}, port: {p}}}"))
        .collect();
    format!(
        "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {namespace}{annotations}}}\nspec:\n  ports: [{}]\n",
        ports.join(", ")
    )
}

fn virtual_service(name: &str, namespace: &str, body: &str) -> String {
    format!(
        "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}"
    )
}

fn destination_rule(name: &str, namespace: &str, body: &str) -> String {
    format!(
        "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}"
    )
}

fn sidecar(name: &str, namespace: &str, body: &str) -> String {
    format!(
        "---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}"
    )
}

fn from(namespace: &str) -> Source {
    Source::sidecar(namespace)
}

/// The VirtualService that decided, or the outcome when none did.
fn decided_by(mesh: &Mesh, url: &str, source: &Source) -> String {
    let request = get(url);
    let d = mesh.route(&request, source);
    d.virtual_service()
        .map_or_else(|| d.outcome().as_str().to_owned(), str::to_owned)
}

fn status(mesh: &Mesh, url: &str, source: &Source) -> Option<StatusCode> {
    let request = get(url);
    mesh.route(&request, source).local_status()
}

fn explain(mesh: &Mesh, url: &str, source: &Source) -> String {
    let request = get(url);
    mesh.explain(&request, source, &mut meshroute::FastRng::from_seed(1))
        .1
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// VirtualService exportTo (push_context.go initVirtualServices, virtualservice.go
// SelectVirtualServices)
// ---------------------------------------------------------------------------------------------

/// `exportTo: ["."]` keeps a VirtualService to its own namespace's sidecars.
#[test]
fn virtual_service_export_to_dot_is_private_to_its_namespace() {
    let yaml = service("reviews", "bookinfo", &[9080], "")
        + &virtual_service(
            "reviews",
            "bookinfo",
            "  hosts: [reviews]\n  exportTo: [\".\"]\n  http:\n  - route: [{destination: {host: reviews, port: {number: 9080}}}]\n",
        );
    let mesh = mesh(&yaml);
    let url = "http://reviews.bookinfo:9080/";
    assert_eq!(
        decided_by(&mesh, url, &from("bookinfo")),
        "bookinfo/reviews"
    );
    assert_eq!(decided_by(&mesh, url, &from("default")), "noVirtualService");
    let text = explain(&mesh, url, &from("default"));
    assert!(
        text.contains("VirtualService bookinfo/reviews: not exported to the caller's namespace"),
        "{text}"
    );
}

/// `exportTo: [ns]` exports to that namespace only.
#[test]
fn virtual_service_exported_to_a_named_namespace() {
    let yaml = service("reviews", "bookinfo", &[9080], "")
        + &virtual_service(
            "reviews",
            "bookinfo",
            "  hosts: [reviews]\n  exportTo: [frontend]\n  http:\n  - route: [{destination: {host: reviews}}]\n",
        );
    let mesh = mesh(&yaml);
    let url = "http://reviews.bookinfo:9080/";
    assert_eq!(
        decided_by(&mesh, url, &from("frontend")),
        "bookinfo/reviews"
    );
    // Not even its own namespace: `.` is not in the list (IsServiceVisible's rule for VSes).
    assert_eq!(
        decided_by(&mesh, url, &from("bookinfo")),
        "noVirtualService"
    );
    assert_eq!(decided_by(&mesh, url, &from("other")), "noVirtualService");
}

/// SelectVirtualServices: a namespace's private VirtualService comes before public ones, however
/// old they are, so it wins the host for callers in its namespace (httproute.go keeps the first
/// virtual host for a domain); other namespaces keep the public one.
#[test]
fn namespace_local_virtual_service_beats_an_older_public_one() {
    let yaml = service("reviews", "bookinfo", &[9080], "")
        + "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: public, namespace: bookinfo, creationTimestamp: \"2020-01-01T00:00:00Z\"}\nspec:\n  hosts: [reviews]\n  http:\n  - route: [{destination: {host: reviews, subset: public}}]\n"
        + "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: local, namespace: frontend, creationTimestamp: \"2024-01-01T00:00:00Z\"}\nspec:\n  hosts: [reviews.bookinfo.svc.cluster.local]\n  exportTo: [\".\"]\n  http:\n  - route: [{destination: {host: reviews.bookinfo.svc.cluster.local, subset: local}}]\n";
    let mesh = mesh(&yaml);
    let url = "http://reviews.bookinfo:9080/";
    assert_eq!(decided_by(&mesh, url, &from("frontend")), "frontend/local");
    assert_eq!(decided_by(&mesh, url, &from("bookinfo")), "bookinfo/public");
    assert_eq!(decided_by(&mesh, url, &from("other")), "bookinfo/public");
}

/// MeshConfig `defaultVirtualServiceExportTo: ["."]`: VirtualServices without `exportTo` are
/// private; one with `exportTo: ["*"]` stays public.
#[test]
fn mesh_config_default_virtual_service_export_to() {
    let yaml = service("reviews", "bookinfo", &[9080], "")
        + &service("ratings", "bookinfo", &[9080], "")
        + &virtual_service(
            "reviews",
            "bookinfo",
            "  hosts: [reviews]\n  http:\n  - route: [{destination: {host: reviews}}]\n",
        )
        + &virtual_service(
            "ratings",
            "bookinfo",
            "  hosts: [ratings]\n  exportTo: [\"*\"]\n  http:\n  - route: [{destination: {host: ratings}}]\n",
        );
    let mesh = with_mesh_config(&yaml, "defaultVirtualServiceExportTo: [\".\"]\n");
    assert_eq!(
        decided_by(&mesh, "http://reviews.bookinfo:9080/", &from("default")),
        "noVirtualService"
    );
    assert_eq!(
        decided_by(&mesh, "http://reviews.bookinfo:9080/", &from("bookinfo")),
        "bookinfo/reviews"
    );
    assert_eq!(
        decided_by(&mesh, "http://ratings.bookinfo:9080/", &from("default")),
        "bookinfo/ratings"
    );
}

// ---------------------------------------------------------------------------------------------
// DestinationRule lookup (push_context.go destinationRule)
// ---------------------------------------------------------------------------------------------

const REVIEWS_ROUTE: &str = "  hosts: [reviews.bookinfo.svc.cluster.local]\n  http:\n  - route: [{destination: {host: reviews.bookinfo.svc.cluster.local, subset: v2}}]\n";

fn rule(subset: &str, extra: &str) -> String {
    format!(
        "  host: reviews.bookinfo.svc.cluster.local\n{extra}  subsets: [{{name: {subset}, labels: {{version: {subset}}}}}]\n"
    )
}

/// The caller's namespace's rule is used whole and shadows the service's: a subset only the
/// service's rule defines does not exist for that caller (503 NC).
#[test]
fn caller_namespace_rule_shadows_the_service_namespace_rule() {
    let yaml = service("reviews", "bookinfo", &[9080], "")
        + &virtual_service("reviews", "bookinfo", REVIEWS_ROUTE)
        + &destination_rule("reviews", "bookinfo", &rule("v2", ""))
        + &destination_rule("reviews", "frontend", &rule("v1", ""));
    let mesh = mesh(&yaml);
    let url = "http://reviews.bookinfo:9080/";
    assert_eq!(status(&mesh, url, &from("bookinfo")), None);
    assert_eq!(status(&mesh, url, &from("other")), None);
    let d_status = status(&mesh, url, &from("frontend"));
    assert_eq!(d_status, Some(StatusCode::SERVICE_UNAVAILABLE));
    let text = explain(&mesh, url, &from("frontend"));
    assert!(
        text.contains(
            "DestinationRule frontend/reviews: applies (found in the caller's namespace)"
        ),
        "{text}"
    );
    assert!(
        text.contains("DestinationRule bookinfo/reviews: shadowed by frontend/reviews"),
        "{text}"
    );
}

/// A service-namespace rule with `exportTo: ["."]` is invisible to other namespaces: their
/// callers fall through to the root namespace's rule, else to none (and its subsets are 503 NC).
#[test]
fn private_service_rule_is_invisible_to_other_namespaces() {
    let yaml = service("reviews", "bookinfo", &[9080], "")
        + &virtual_service("reviews", "bookinfo", REVIEWS_ROUTE)
        + &destination_rule("reviews", "bookinfo", &rule("v2", "  exportTo: [\".\"]\n"));
    let mesh = mesh(&yaml);
    let url = "http://reviews.bookinfo:9080/";
    assert_eq!(status(&mesh, url, &from("bookinfo")), None);
    assert_eq!(
        status(&mesh, url, &from("default")),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    let text = explain(&mesh, url, &from("default"));
    assert!(
        text.contains(
            "DestinationRule bookinfo/reviews: not exported to the caller's namespace (exportTo)"
        ),
        "{text}"
    );
    // The root namespace's rule is the last resort.
    let with_root = yaml + &destination_rule("reviews-default", "istio-system", &rule("v2", ""));
    let mesh = crate::common::mesh(&with_root);
    assert_eq!(status(&mesh, url, &from("default")), None);
    let text = explain(&mesh, url, &from("default"));
    assert!(
        text.contains(
            "DestinationRule istio-system/reviews-default: applies (found in the root namespace)"
        ),
        "{text}"
    );
}

/// Scopes share a host's DestinationRule choice unless a rule names their namespace: by owning
/// it (a wildcard host too) or in its `exportTo`. Namespaces are compiled in order, so `alpha`
/// works out the shared answer that `frontend` and `zeta` must not take.
#[test]
fn rule_choices_follow_each_namespace_the_rules_name() {
    let yaml = service("reviews", "bookinfo", &[9080], "")
        + &service("app", "alpha", &[80], "")
        + &service("app", "frontend", &[80], "")
        + &service("app", "zeta", &[80], "")
        + &virtual_service("reviews", "bookinfo", REVIEWS_ROUTE)
        + &destination_rule(
            "reviews",
            "bookinfo",
            &rule("v2", "  exportTo: [\".\", frontend]\n"),
        )
        + &destination_rule(
            "any",
            "zeta",
            &rule("v2", "  exportTo: [\".\"]\n").replace(
                "reviews.bookinfo.svc.cluster.local",
                "\"*.bookinfo.svc.cluster.local\"",
            ),
        );
    let mesh = mesh(&yaml);
    let url = "http://reviews.bookinfo:9080/";
    for (namespace, expected) in [
        ("alpha", Some(StatusCode::SERVICE_UNAVAILABLE)),
        ("bookinfo", None),
        ("frontend", None),
        ("zeta", None),
    ] {
        assert_eq!(
            status(&mesh, url, &from(namespace)),
            expected,
            "{namespace}"
        );
    }
    let text = explain(&mesh, url, &from("alpha"));
    assert!(
        text.contains(
            "DestinationRule bookinfo/reviews: not exported to the caller's namespace (exportTo)"
        ),
        "{text}"
    );
    let text = explain(&mesh, url, &from("zeta"));
    assert!(
        text.contains("DestinationRule zeta/any: applies (found in the caller's namespace)"),
        "{text}"
    );
}

/// An explanation lists the DestinationRules that name a host in Istio's order (creation time,
/// then name, then namespace), exact and wildcard hosts alike.
#[test]
fn explained_rules_are_in_creation_order() {
    let dated = |name: &str, namespace: &str, created: &str, host: &str| {
        format!(
            "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: {name}, namespace: {namespace}, creationTimestamp: \"{created}\"}}\nspec:\n  host: \"{host}\"\n  subsets: [{{name: v2, labels: {{version: v2}}}}]\n"
        )
    };
    let yaml = service("reviews", "bookinfo", &[9080], "")
        + &virtual_service("reviews", "bookinfo", REVIEWS_ROUTE)
        + &dated(
            "exact",
            "bookinfo",
            "2025-01-01T00:00:00Z",
            "reviews.bookinfo.svc.cluster.local",
        )
        + &dated(
            "any",
            "istio-system",
            "2024-01-01T00:00:00Z",
            "*.bookinfo.svc.cluster.local",
        );
    let text = explain(
        &mesh(&yaml),
        "http://reviews.bookinfo:9080/",
        &from("default"),
    );
    let any = text.find("DestinationRule istio-system/any: shadowed by bookinfo/exact");
    let exact =
        text.find("DestinationRule bookinfo/exact: applies (found in the service's namespace)");
    assert!(any.zip(exact).is_some_and(|(a, e)| a < e), "{text}");
}

/// MeshConfig `rootNamespace` moves the last-resort namespace.
#[test]
fn mesh_config_root_namespace() {
    let yaml = service("reviews", "bookinfo", &[9080], "")
        + &virtual_service("reviews", "bookinfo", REVIEWS_ROUTE)
        + &destination_rule("reviews", "mesh-root", &rule("v2", ""));
    let url = "http://reviews.bookinfo:9080/";
    // With the default root (`istio-system`) a rule in `mesh-root` is nobody's concern.
    assert_eq!(
        status(&mesh(&yaml), url, &from("default")),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    let rooted = with_mesh_config(&yaml, "rootNamespace: mesh-root\n");
    assert_eq!(status(&rooted, url, &from("default")), None);
}

// ---------------------------------------------------------------------------------------------
// Service visibility (push_context.go IsServiceVisible; Service annotation
// networking.istio.io/exportTo)
// ---------------------------------------------------------------------------------------------

/// A service not exported to the caller: through a route, Envoy has no cluster (503 NC); called
/// directly, the host is unknown to the caller (no VirtualService, passed through).
#[test]
fn invisible_service_is_503_through_a_route_and_unknown_when_called() {
    let yaml = service(
        "reviews",
        "bookinfo",
        &[9080],
        ", annotations: {networking.istio.io/exportTo: \".\"}",
    ) + &service("front", "default", &[9080], "")
        + &virtual_service(
            "front",
            "default",
            "  hosts: [front]\n  http:\n  - route: [{destination: {host: reviews.bookinfo.svc.cluster.local, port: {number: 9080}}}]\n",
        )
        + &virtual_service(
            "reviews",
            "bookinfo",
            "  hosts: [reviews]\n  http:\n  - route: [{destination: {host: reviews, subset: v1}}]\n",
        );
    let mesh = mesh(&yaml);
    let request = get("http://front:9080/");
    let d = mesh.route(&request, &from("default"));
    assert_eq!(d.outcome(), Outcome::Route);
    assert!(!d.destination().unwrap().cluster_exists);
    assert_eq!(d.local_status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    let text = explain(&mesh, "http://front:9080/", &from("default"));
    assert!(
        text.contains(
            "service reviews.bookinfo.svc.cluster.local: not exported to default (exportTo)"
        ),
        "{text}"
    );
    // Called directly: on 9080 the caller has no service of that name, so its VirtualService
    // does not apply there either (only port 80 takes VirtualServices of unknown hosts).
    let direct = get("http://reviews.bookinfo:9080/");
    let d = mesh.route(&direct, &from("default"));
    assert_eq!(d.outcome(), Outcome::NoVirtualService);
    assert!(d.endpoint().is_none());
    // From its own namespace everything is there.
    assert_eq!(
        decided_by(&mesh, "http://reviews:9080/", &from("bookinfo")),
        "bookinfo/reviews"
    );
}

/// ServiceEntry `exportTo` and MeshConfig `defaultServiceExportTo`.
#[test]
fn service_entry_export_to_and_the_mesh_default() {
    let entry = "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: api, namespace: egress}\nspec:\n  hosts: [api.example.com]\n  ports: [{number: 443, name: https, protocol: HTTPS}]\n  resolution: DNS\n";
    let route = virtual_service(
        "api",
        "default",
        "  hosts: [api.example.com]\n  http:\n  - route: [{destination: {host: api.example.com, port: {number: 443}}}]\n",
    );
    let yaml = entry.to_owned() + &route;
    let url = "http://api.example.com:443/";
    assert_eq!(status(&mesh(&yaml), url, &from("default")), None);
    let private = with_mesh_config(&yaml, "defaultServiceExportTo: [\".\"]\n");
    assert_eq!(
        status(&private, url, &from("default")),
        None,
        "on 443 the VirtualService names no visible service, so it does not apply"
    );
    assert_eq!(
        decided_by(&private, url, &from("default")),
        "noVirtualService"
    );
    assert_eq!(
        decided_by(&private, "http://api.example.com/", &from("default")),
        "default/api"
    );
    assert_eq!(
        status(&private, "http://api.example.com/", &from("default")),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
}

// ---------------------------------------------------------------------------------------------
// The sidecar port-80 rule (httproute.go BuildSidecarOutboundVirtualHosts)
// ---------------------------------------------------------------------------------------------

/// A VirtualService for a host no Service or ServiceEntry defines applies on port 80 only; on
/// another port the call passes through as if it did not exist.
#[test]
fn virtual_service_without_service_applies_on_port_80_only() {
    let yaml = virtual_service(
        "external",
        "default",
        "  hosts: [external.example.com]\n  http:\n  - route: [{destination: {host: backend.example.com}}]\n",
    );
    let mesh = mesh(&yaml);
    assert_eq!(
        decided_by(&mesh, "http://external.example.com/", &from("default")),
        "default/external"
    );
    assert_eq!(
        decided_by(&mesh, "http://external.example.com:8080/", &from("default")),
        "noVirtualService"
    );
    let text = explain(&mesh, "http://external.example.com:8080/", &from("default"));
    assert!(
        text.contains(
            "VirtualService default/external: none of its hosts is a service on this port"
        ),
        "{text}"
    );
    // A Service with that port brings it back.
    let with_service = yaml
        + "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: external, namespace: default}\nspec:\n  hosts: [external.example.com]\n  ports: [{number: 8080, name: http, protocol: HTTP}]\n  resolution: DNS\n";
    let mesh = crate::common::mesh(&with_service);
    assert_eq!(
        decided_by(&mesh, "http://external.example.com:8080/", &from("default")),
        "default/external"
    );
}

// ---------------------------------------------------------------------------------------------
// MeshConfig defaultHttpRetryPolicy (route.go: mesh default when the route has no retries)
// ---------------------------------------------------------------------------------------------

#[test]
fn mesh_default_retry_policy_replaces_istios_default_unless_the_route_sets_one() {
    let yaml = service("reviews", "default", &[9080], "")
        + &virtual_service(
            "reviews",
            "default",
            "  hosts: [reviews]\n  http:\n  - match: [{uri: {prefix: /own}}]\n    retries: {attempts: 5}\n    route: [{destination: {host: reviews}}]\n  - route: [{destination: {host: reviews}}]\n",
        );
    let plain = mesh(&yaml);
    let request = get("http://reviews:9080/");
    let caller = from("default");
    assert_eq!(
        plain.route(&request, &caller).retries().unwrap().attempts,
        2
    );
    let tuned = with_mesh_config(
        &yaml,
        "defaultHttpRetryPolicy: {attempts: 7, retryOn: \"5xx\"}\n",
    );
    let d = tuned.route(&request, &caller);
    let retries = d.retries().unwrap();
    assert_eq!((retries.attempts, retries.retry_on.as_str()), (7, "5xx"));
    // The route's own policy replaces the default whole: retryOn back to Istio's default.
    let own = get("http://reviews:9080/own");
    let d = tuned.route(&own, &caller);
    let retries = d.retries().unwrap();
    assert_eq!(retries.attempts, 5);
    assert!(
        retries.retry_on.starts_with("connect-failure"),
        "{}",
        retries.retry_on
    );
    // `attempts: 0` in the mesh default disables retries on routes without their own.
    let off = with_mesh_config(&yaml, "defaultHttpRetryPolicy: {attempts: 0}\n");
    assert!(off.route(&request, &caller).retries().is_none());
}

// ---------------------------------------------------------------------------------------------
// Sidecar resources (sidecar.go, push_context.go getSidecarScope)
// ---------------------------------------------------------------------------------------------

fn two_services() -> String {
    service("reviews", "bookinfo", &[9080], "")
        + &service("ratings", "bookinfo", &[9080], "")
        + &virtual_service(
            "reviews",
            "bookinfo",
            "  hosts: [reviews]\n  http:\n  - route: [{destination: {host: reviews}}]\n",
        )
        + &virtual_service(
            "ratings",
            "bookinfo",
            "  hosts: [ratings]\n  http:\n  - route: [{destination: {host: ratings}}]\n",
        )
}

/// A namespace's Sidecar scopes what its workloads see: services and VirtualServices outside
/// its egress hosts are unknown (ALLOW_ANY: passed through, the VirtualService not applied).
#[test]
fn sidecar_egress_hosts_scope_services_and_virtual_services() {
    let yaml = two_services()
        + &sidecar(
            "default",
            "frontend",
            "  egress:\n  - hosts: [\"bookinfo/reviews.bookinfo.svc.cluster.local\"]\n",
        );
    let mesh = mesh(&yaml);
    let reviews = "http://reviews.bookinfo:9080/";
    let ratings = "http://ratings.bookinfo:9080/";
    assert_eq!(
        decided_by(&mesh, reviews, &from("frontend")),
        "bookinfo/reviews"
    );
    assert_eq!(
        decided_by(&mesh, ratings, &from("frontend")),
        "noVirtualService"
    );
    assert_eq!(
        decided_by(&mesh, ratings, &from("default")),
        "bookinfo/ratings"
    );
    let text = explain(&mesh, ratings, &from("frontend"));
    assert!(
        text.contains("Sidecar frontend/default: selects this caller"),
        "{text}"
    );
    assert!(
        text.contains("VirtualService bookinfo/ratings: not imported by the caller's Sidecar"),
        "{text}"
    );
}

/// sidecar.go `hostClassification.Matches`: egress hosts are compared with full names, so
/// `bookinfo/reviews.bookinfo` does not import `reviews.bookinfo.svc.cluster.local` (and the
/// short `bookinfo/reviews` is refused by validation: "short names (non FQDN) are not allowed").
#[test]
fn egress_hosts_are_full_names() {
    let yaml = two_services()
        + &sidecar(
            "default",
            "frontend",
            "  egress:\n  - hosts: [\"bookinfo/reviews.bookinfo\"]\n",
        );
    let mesh = mesh(&yaml);
    assert_eq!(
        decided_by(&mesh, "http://reviews.bookinfo:9080/", &from("frontend")),
        "noVirtualService"
    );
    let short = two_services()
        + &sidecar(
            "default",
            "frontend",
            "  egress:\n  - hosts: [\"bookinfo/reviews\"]\n",
        );
    let loaded = meshroute::from_str(&short, &LoadOptions::default());
    let error = loaded.compile().unwrap_err();
    assert!(
        error
            .errors()
            .any(|d| d.message == "short names (non FQDN) are not allowed"),
        "{:?}",
        error.diagnostics
    );
}

/// Precedence: a workload-selecting Sidecar of the namespace, then the namespace's, then the
/// root namespace's selector-less one; `./` in the root Sidecar is the caller's namespace.
#[test]
fn sidecar_selection_precedence() {
    let yaml = two_services()
        + &service("local", "frontend", &[9080], "")
        + &virtual_service(
            "local",
            "frontend",
            "  hosts: [local]\n  http:\n  - route: [{destination: {host: local}}]\n",
        )
        + &sidecar(
            "canary",
            "frontend",
            "  workloadSelector: {labels: {app: canary}}\n  egress:\n  - hosts: [\"bookinfo/ratings.bookinfo.svc.cluster.local\"]\n",
        )
        + &sidecar("root", "istio-system", "  egress:\n  - hosts: [\"./*\"]\n");
    let mesh = mesh(&yaml);
    let canary = Source::sidecar("frontend").with_labels([("app", "canary")]);
    let plain = Source::sidecar("frontend").with_labels([("app", "web")]);
    let ratings = "http://ratings.bookinfo:9080/";
    let local = "http://local:9080/";
    // The canary's own Sidecar imports ratings only.
    assert_eq!(decided_by(&mesh, ratings, &canary), "bookinfo/ratings");
    assert_eq!(decided_by(&mesh, local, &canary), "noVirtualService");
    // Other frontend workloads: no selector-less Sidecar in frontend, so the root's: `./*` is
    // their own namespace.
    assert_eq!(decided_by(&mesh, local, &plain), "frontend/local");
    assert_eq!(decided_by(&mesh, ratings, &plain), "noVirtualService");
    // In bookinfo the root Sidecar imports bookinfo's hosts.
    assert_eq!(
        decided_by(&mesh, ratings, &from("bookinfo")),
        "bookinfo/ratings"
    );
    // A namespace the configuration never names still gets the root Sidecar.
    assert_eq!(
        decided_by(&mesh, ratings, &from("elsewhere")),
        "noVirtualService"
    );
}

/// One `Source` kept across configurations (as `SharedMesh` users keep theirs) is seen through
/// each configuration's own scope: the scope a `Source` remembers is keyed by the `Mesh`, and a
/// clone with other labels chooses again.
#[test]
fn a_kept_source_follows_each_configuration() {
    let base = two_services()
        + &service("local", "frontend", &[9080], "")
        + &virtual_service(
            "local",
            "frontend",
            "  hosts: [local]\n  http:\n  - route: [{destination: {host: local}}]\n",
        );
    let locked = base.clone()
        + &sidecar(
            "default",
            "frontend",
            "  egress:\n  - hosts: [\"bookinfo/ratings.bookinfo.svc.cluster.local\"]\n",
        );
    let (open, locked) = (mesh(&base), mesh(&locked));
    let caller = from("frontend");
    let local = "http://local:9080/";
    for _ in 0..2 {
        assert_eq!(decided_by(&open, local, &caller), "frontend/local");
        assert_eq!(decided_by(&locked, local, &caller), "noVirtualService");
    }
    // A workload-selecting Sidecar: the same namespace, other labels, another scope.
    let selecting = base
        + &sidecar(
            "canary",
            "frontend",
            "  workloadSelector: {labels: {app: canary}}\n  egress:\n  - hosts: [\"bookinfo/*\"]\n",
        );
    let selecting = mesh(&selecting);
    assert_eq!(decided_by(&selecting, local, &caller), "frontend/local");
    let canary = caller.clone().with_labels([("app", "canary")]);
    assert_eq!(decided_by(&selecting, local, &canary), "noVirtualService");
    assert_eq!(decided_by(&selecting, local, &caller), "frontend/local");
}

/// push_context.go `initSidecarScopes`: a root-namespace Sidecar *with* a selector is not the
/// mesh default.
#[test]
fn root_sidecar_with_a_selector_is_not_the_mesh_default() {
    let yaml = two_services()
        + &sidecar(
            "root",
            "istio-system",
            "  workloadSelector: {labels: {app: x}}\n  egress:\n  - hosts: [\"./*\"]\n",
        );
    let mesh = mesh(&yaml);
    assert_eq!(
        decided_by(&mesh, "http://ratings.bookinfo:9080/", &from("frontend")),
        "bookinfo/ratings"
    );
}

/// `outboundTrafficPolicy: REGISTRY_ONLY`: a host outside the caller's registry goes to the
/// BlackHole (502); `ALLOW_ANY` passes it through. `outboundTrafficPolicy: {}` means
/// REGISTRY_ONLY (the enum's zero value); the Sidecar's policy overrides MeshConfig's.
#[test]
fn registry_only_sends_unknown_hosts_to_the_black_hole() {
    let yaml = two_services()
        + &sidecar(
            "default",
            "locked",
            "  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n",
        )
        + &sidecar("default", "zero", "  outboundTrafficPolicy: {}\n")
        + &sidecar(
            "default",
            "open",
            "  outboundTrafficPolicy: {mode: ALLOW_ANY}\n",
        );
    let plain = mesh(&yaml);
    let unknown = "http://www.example.com/";
    for ns in ["locked", "zero"] {
        let request = get(unknown);
        let caller = from(ns);
        let d = plain.route(&request, &caller);
        assert_eq!(d.outcome(), Outcome::BlackHole, "{ns}");
        assert_eq!(d.local_status(), Some(StatusCode::BAD_GATEWAY));
        // Known services still work.
        assert_eq!(
            decided_by(&plain, "http://ratings.bookinfo:9080/", &from(ns)),
            "bookinfo/ratings"
        );
    }
    assert_eq!(
        plain.route(&get(unknown), &from("open")).outcome(),
        Outcome::NoVirtualService
    );
    // MeshConfig REGISTRY_ONLY applies where no Sidecar says otherwise.
    let strict = with_mesh_config(&yaml, "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n");
    assert_eq!(
        strict.route(&get(unknown), &from("default")).outcome(),
        Outcome::BlackHole
    );
    assert_eq!(
        strict.route(&get(unknown), &from("open")).outcome(),
        Outcome::NoVirtualService
    );
    // A service called on a port it does not have is not in the registry either.
    assert_eq!(
        strict
            .route(&get("http://ratings.bookinfo:7777/"), &from("default"))
            .outcome(),
        Outcome::BlackHole
    );
}

/// sidecar.go `GetEgressListenerForRDS`: an egress listener with a port takes over that port;
/// other ports use the catch-all listener.
#[test]
fn egress_listener_with_a_port_takes_over_that_port() {
    let yaml = service("reviews", "bookinfo", &[9080, 9090], "")
        + &virtual_service(
            "reviews",
            "bookinfo",
            "  hosts: [reviews]\n  http:\n  - route: [{destination: {host: reviews}}]\n",
        )
        + &sidecar(
            "default",
            "frontend",
            "  egress:\n  - port: {number: 9090, protocol: HTTP, name: http}\n    hosts: [\"istio-system/*\"]\n  - hosts: [\"*/*\"]\n",
        );
    let mesh = mesh(&yaml);
    assert_eq!(
        decided_by(&mesh, "http://reviews.bookinfo:9080/", &from("frontend")),
        "bookinfo/reviews"
    );
    assert_eq!(
        decided_by(&mesh, "http://reviews.bookinfo:9090/", &from("frontend")),
        "noVirtualService"
    );
}

/// sidecar.go `collectImportedServices`: the destinations of an imported VirtualService get
/// clusters even when the egress hosts do not list them, so routing to them works (no 503),
/// while calling them by name does not (no virtual host).
#[test]
fn destinations_of_imported_virtual_services_have_clusters() {
    let yaml = service("front", "frontend", &[9080], "")
        + &service("backend", "bookinfo", &[9080], "")
        + &virtual_service(
            "front",
            "frontend",
            "  hosts: [front]\n  http:\n  - route: [{destination: {host: backend.bookinfo.svc.cluster.local, port: {number: 9080}}}]\n",
        )
        + &virtual_service(
            "backend",
            "bookinfo",
            "  hosts: [backend]\n  http:\n  - route: [{destination: {host: backend}}]\n",
        )
        + &sidecar("default", "frontend", "  egress:\n  - hosts: [\"./*\"]\n");
    let mesh = mesh(&yaml);
    assert_eq!(status(&mesh, "http://front:9080/", &from("frontend")), None);
    assert_eq!(
        decided_by(&mesh, "http://backend.bookinfo:9080/", &from("frontend")),
        "noVirtualService"
    );
}
