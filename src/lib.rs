//! # meshroute
//!
//! Istio-grade traffic decisions inside a Rust process. meshroute reads the `VirtualService` and
//! `DestinationRule` YAML you already `kubectl apply`, validates it the way Istio's admission
//! webhook does (and warns like `istioctl analyze`), and compiles it into an immutable [`Mesh`].
//!
//! It is **not** a proxy, and it needs no cluster (with feature `kube`, [`cluster`] follows one
//! when there is one): it makes the same decisions offline and
//! in-process, so you can test routing in `cargo test`, check configuration in CI, and make canary
//! decisions in a service without a sidecar.
//!
//! ## The pipeline
//!
//! ```text
//!  YAML / JSON ──load──▶ Vec<Resource> ──compile──▶ Mesh ──route──▶ Decision ──balance──▶ Endpoint
//!               config                  validation,                  first match   Envoy's load
//!               (serde models,          every problem at once;       wins, then    balancers over
//!                field names as in      lowering into route          the weighted  the subset's
//!                istio/api)             tables and clusters          pick          endpoints
//! ```
//!
//! - **Load** ([`from_str`], [`from_path`] → [`Loaded`]): multi-document YAML and JSON into the
//!   serde models of [`config`] (field names exactly as in istio/api), every problem kept as a
//!   [`Diagnostic`] with its file, line and field path.
//! - **Check** ([`check`], [`lint`]): Istio's admission rules with Istio's messages, then the
//!   `istioctl analyze` findings meshroute shares with Istio ([`Code`], at istioctl's
//!   [`Severity`] levels) and meshroute's own lints.
//! - **Compile** ([`Loaded::compile`], [`compile()`]): a configuration Istio would accept
//!   becomes an immutable [`Mesh`]; one it would reject never does ([`CompileError`] lists every
//!   reason).
//! - **Route** ([`Mesh::route`]): which VirtualService applies to the host, which route and
//!   match fire, which destination the weighted choice picks, and everything Envoy would apply
//!   (header operations, rewrite, redirect, direct response, timeout, retries, fault, mirrors),
//!   as a [`Decision`] — without allocating; random choices draw from an injected [`Rng`].
//!   [`Mesh::explain`] records why; [`Decision::report`] is the owned [`DecisionReport`].
//!   [`Mesh::route_connection`] decides a TCP or TLS [`Connection`] with the `tcp` and `tls`
//!   rules ([`ConnectionDecision`]).
//! - **Balance**: the destination's [`Endpoint`]s (from ServiceEntries, WorkloadEntries,
//!   Kubernetes Services with their EndpointSlices, Pods and Deployments, or
//!   [`Mesh::set_endpoints`]) and the one
//!   Envoy's load balancer would pick — round robin, random, least request, ring hash and Maglev
//!   with Envoy's hash policies, bit for bit — with outlier detection fed by [`Mesh::report`].
//!   A thread making many decisions picks through its own [`PickCache`]
//!   ([`Mesh::route_cached`]), which spares each pick two atomic read-modify-write operations.
//!
//! On top of the core: [`SharedMesh`] (the live configuration, swapped atomically; [`Watcher`]
//! reloads it from files with feature `watch`), [`service`] (feature `tower`: canary dispatch,
//! outbound routing, and the [`Propagation`] of routing flags from each inbound request to
//! every outbound call), and [`sim`] (simulations and call chains for tests and CI, behind the
//! `meshroute` command-line tool).
//!
//! ## Example
//!
//! ```
//! use meshroute::LoadOptions;
//!
//! let yaml = r#"
//! apiVersion: networking.istio.io/v1
//! kind: VirtualService
//! metadata: {name: svc-b, namespace: default}
//! spec:
//!   hosts: [svc-b]
//!   http:
//!   - match:
//!     - queryParams: {name: {exact: xx}}
//!     route:
//!     - destination: {host: svc-b, subset: v2}
//!   - route:
//!     - destination: {host: svc-b, subset: v1}
//! ---
//! apiVersion: v1
//! kind: Service
//! metadata: {name: svc-b, namespace: default}
//! spec:
//!   ports: [{name: http, port: 8080}]
//! ---
//! apiVersion: networking.istio.io/v1
//! kind: DestinationRule
//! metadata: {name: svc-b, namespace: default}
//! spec:
//!   host: svc-b
//!   subsets:
//!   - {name: v1, labels: {version: v1}}
//!   - {name: v2, labels: {version: v2}}
//! "#;
//! let mesh = meshroute::from_str(yaml, &LoadOptions::default())
//!     .compile()
//!     .expect("valid configuration");
//! assert!(mesh.diagnostics().is_empty());
//!
//! // Where does a call from a sidecar in `default` go?
//! let request = http::Request::get("http://svc-b:8080/greet?name=xx").body(()).unwrap();
//! let decision = mesh.route(&request, &meshroute::Source::sidecar("default"));
//! assert_eq!(decision.outcome(), meshroute::Outcome::Route);
//! let destination = decision.destination().unwrap();
//! assert_eq!(destination.host, "svc-b.default.svc.cluster.local");
//! assert_eq!(destination.subset, Some("v2"));
//! // The Service (a sidecar applies a VirtualService on a port other than 80 only for a
//! // service with that port) selects no pods here: its endpoints are unknown.
//! assert!(decision.endpoint().is_none());
//!
//! // A mistake is reported with the resource, the field path and Istio's message.
//! let bad = yaml.replace("subset: v2}", "subset: v2}\n      weight: -1");
//! let error = meshroute::from_str(&bad, &LoadOptions::default()).compile().unwrap_err();
//! let first = error.errors().next().unwrap();
//! assert_eq!(first.path, "spec.http[0].route[0].weight");
//! assert_eq!(first.to_string(),
//!     "line 12: error: VirtualService default/svc-b: spec.http[0].route[0].weight: weight -1 < 0");
//! ```
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `yaml` | yes | loading YAML and JSON manifests ([`from_str`], [`from_path`]) and [`sim`] |
//! | `tower` | yes | tower middleware: [`service::Dispatch`], [`service::OutboundLayer`], [`service::CaptureLayer`], [`service::InjectLayer`] |
//! | `watch` | no | [`SharedMesh::watch`]: reload the configuration when its files change (implies `yaml`) |
//! | `metrics` | no | Envoy's per-cluster statistics from [`service::OutboundLayer`] on the `metrics` facade (implies `tower`) |
//! | `cli` | no | the `meshroute` command-line tool (`check`, `route`, `simulate`, `proxy`, `test`, `diff`; implies `yaml` and `tower`; with `kube` also `--cluster` and `dump`) |
//! | `rollout` | no | [`rollout`]: in-process progressive delivery, a [`rollout::Rollout`] that owns one route's weights in a [`SharedMesh`] and promotes, pauses or rolls back a canary on the outcomes the tower layers observe (implies `tower`) |
//! | `kube` | no | [`cluster`]: keep a [`SharedMesh`] in sync with a Kubernetes cluster's Istio resources, Services, EndpointSlices and Pods through kube-rs watchers, or read them once (implies `yaml`; Rust 1.89+, and a Kubernetes version chosen for `k8s-openapi`, see the module) |
//!
//! Without default features the crate still compiles configurations built from [`config`]
//! values and decides with them.
//!
//! ## Compatibility with Istio
//!
//! | area | status |
//! |---|---|
//! | `networking.istio.io` `v1alpha3`, `v1beta1`, `v1` | all accepted; one schema |
//! | VirtualService, DestinationRule, Gateway, ServiceEntry, WorkloadEntry, Sidecar | every field modelled; an unknown field is an error, as `kubectl apply` (`--validate=strict`) rejects it (a warning with [`LoadOptions::allow_unknown_fields`]); `null` is unset, as in protobuf's JSON mapping; a null list item is an error |
//! | MeshConfig | `rootNamespace`, `defaultServiceExportTo`, `defaultVirtualServiceExportTo`, `defaultDestinationRuleExportTo`, `outboundTrafficPolicy`, `defaultHttpRetryPolicy` (replaces Istio's default retry policy on routes without `retries`), from the `istio` ConfigMap among the manifests or [`mesh_config_from_str`] (`meshroute --mesh-config`); other fields are read and ignored (`enableAutoMtls` changes transport security, no routing decision); absent: Istio's defaults |
//! | Validation (`pkg/config/validation`) | VirtualService, HTTP, TCP and TLS routes (SNI hosts within the hosts, subnets, ports), matches, destinations, weights (relative, no 100-sum since Istio 1.15), redirects, direct responses, rewrites, retries, faults, mirrors, CORS, headers, durations (Go syntax, ≥ 1ms, ms precision); DestinationRule, Gateway, ServiceEntry, WorkloadEntry, Sidecar |
//! | Regex syntax | Rust's `regex` crate stands in for Go's RE2 `regexp`: the same family (no backreferences, no look-around); rare syntax differences are possible |
//! | `istioctl analyze` | as errors: IST0101 (route or mirror destination host, `host:port`, subset or gateway not found; hosts looked up among Services and ServiceEntries with istioctl's `exportTo` rules), IST0109 (mesh VirtualServices visible to each other sharing a host, grouped by `exportTo` as istioctl groups them) and IST0112 (no port on a multi-port destination); as warnings IST0130 (unreachable rule, for `http`, `tcp` and `tls` rules) and IST0132 (host not in gateway); IST0131 (ineffective match) as info — istioctl's messages and levels; analysis findings never refuse a configuration, as Istio applies it. Other analyzers (e.g. IST0140 ingress route rules not affected, IST0173 subset selecting no pods: see lint MR002) are not run |
//! | Duplicate resources | the later definition of the same kind/namespace/name replaces the earlier, as `kubectl apply` does |
//! | `exportTo` and namespaces | VirtualServices: the caller's namespace's private ones, then those exported to it, then public ones, oldest first (`SelectVirtualServices`); DestinationRules: the caller's namespace, then the service's (exported), then the root namespace, one rule used whole; services: ServiceEntry `exportTo` and the Service annotation `networking.istio.io/exportTo` (an invisible service is 503 `NC` through a route, unknown when called); MeshConfig defaults; `explain` says what visibility hid or chose |
//! | `Sidecar` | workload selector, namespace default, root-namespace default (`./` is the caller's namespace); egress hosts `ns/host`, `*/`, `./`, `~` exclusions, compared as full names; egress listeners per port; destinations of imported VirtualServices get clusters; `outboundTrafficPolicy` `REGISTRY_ONLY` answers hosts outside the caller's registry with 502 (BlackHole), `ALLOW_ANY` passes them through; validation as `ValidateSidecar` |
//! | Sidecar ports | on a port other than 80 only VirtualServices whose hosts are services with that port apply, and a service is served only on its ports (`BuildSidecarOutboundVirtualHosts`); port 80 takes VirtualServices of any host. A destination host no resource defines is taken to exist (partial configurations; Istio would answer 503 `NC` without a Service or ServiceEntry) |
//! | Host selection | authority lowercased, port ignored; short names in the VirtualService's namespace; `name`, `name.ns`, `name.ns.svc` and the FQDN reach a Kubernetes service (the short name only from its own namespace); wildcard hosts, most specific first; oldest VirtualService wins on sidecars, routes merged (catch-alls last) on gateways; delegates merged |
//! | Matching | path without query, RFC 3986 dot segments removed (Istio's default `BASE` normalization; percent-decoding is not applied); regex full match (RE2 semantics via the `regex` crate); `ignoreUriCase` for exact/prefix only; header names case-insensitive, repeated headers joined with `,`; `withoutHeaders` as Istio ≥ 1.22; raw first query value |
//! | Not evaluated in-process | JWT claim matches (`@request.auth.claims.*`) never match (their `withoutHeaders` form always does); Envoy `%VARIABLE%` header values are passed through as written |
//! | Load balancing | `ROUND_ROBIN` (weighted via Envoy's EDF scheduler with its random start), `RANDOM`, `LEAST_REQUEST` (default; P2C, weighted with active-request bias), `PASSTHROUGH` (reported), `consistentHash` ring hash (default 1024) and Maglev (65537), hash on header / cookie / source IP / query parameter, random hash when the key is absent; subset and port-level policy precedence as Istio; one priority, no locality weighting |
//! | Outlier detection | consecutive 5xx and gateway errors, ejection time base × times ejected (capped), `maxEjectionPercent` as current Envoy checks it, interval sweeps, `minHealthPercent` panic; success-rate ejection is disabled, as Istio configures it |
//! | Request policies (tower) | [`service::OutboundLayer`] applies them as Envoy's router does: route timeout (504 `UT`), `perTryTimeout`, retries on Envoy's `retryOn` conditions with Istio's default policy, jittered back-off and `previous_hosts`, fault delay and abort (`grpcStatus` for gRPC), mirrors (no `-shadow` suffix, as Istio), `connectionPool` limits (503 `UO`) and `maxRetries`, outlier detection fed by every attempt, gRPC local replies trailers-only with Envoy's status mapping; the route timeout starts when the layer is called, not at the end of the request body (see `docs/resilience.md`) |
//! | Endpoints | ServiceEntry endpoints, WorkloadEntries, Kubernetes Services with Pods (their `podIP`) and Deployments (stable synthetic `10.x.y.z` addresses from the pod name, for simulation only: never dialled). A Service with `discovery.k8s.io/v1` EndpointSlices (label `kubernetes.io/service-name`; a Service without a selector has only these) takes its pod endpoints from them instead, as Istio's Kubernetes registry does: every IPv4/IPv6 address (FQDN and multi-cluster slices ignored), each slice port serving the Service port of its name at the slice's port number, only ready endpoints (`ready` unset or true: Envoy never balances to not-ready, terminating or draining ones), labels from the Pod the `targetRef` names (or, without one, a ready Pod with that IP), an endpoint whose `targetRef` Pod is unknown left out until it is known; WorkloadEntries the selector selects still join. The application can replace endpoints at run time |
//! | Gateways | a Gateway's servers grouped by port: plain-text HTTP servers share one route configuration, each HTTPS server terminating TLS has its own, picked by server name (the request's host); the request's port is its authority's, else 80 (`http`) or 443 (`https`); no virtual host for the host on that port: 404 `NR`. Where Envoy would have no listener or filter chain at all (no server on the port, a plain-HTTP request on a port whose servers all expect TLS, a server name no HTTPS server takes), the connection fails without an HTTP answer: meshroute reports 404 and `explain` says so. Server hosts `host`, `ns/host`, `./host`, `*/host` select VirtualServices by namespace, and a virtual host's domains are the server hosts intersected with the VirtualService's (the narrower name kept, compared as written). VirtualServices exported to the Gateway's namespace apply: private ones, then those exported to it, then public ones, each oldest first. `tls.httpsRedirect` answers a plain-HTTP request (an `http` URI: a gateway sets `x-forwarded-proto` from the connection, ignoring the client's) with 301 to `https://` + the Host as sent + the path, before any route. One Gateway resource is one gateway workload (Istio merges every Gateway selecting the workload); `bind` and the gateway Service's target ports are not modelled |
//! | TCP and TLS routes | [`Mesh::route_connection`] decides a [`Connection`] as Istio's filter chains do: the service port's protocol picks `tls` (TLS, HTTPS) or `tcp` rules (TCP, Mongo, Redis, MySQL, unnamed ports), HTTP ports pass other bytes through; `port`, `sourceLabels`, `sourceNamespace`, `gateways` decided per caller; `tcp` first holding rule wins, `destinationSubnets` by the longest prefix; `tls` by SNI (literal, exact before the longest wildcard), an uncovered SNI passes through; the rules of every VirtualService matching the service, oldest first; weighted destinations chosen once per connection; gateways: `TCP` servers, `TLS` `PASSTHROUGH` by SNI, `AUTO_PASSTHROUGH` cluster names, no chain closes the connection. Caller visibility as for HTTP (`exportTo`, `Sidecar` egress hosts). Not modelled: `sourceSubnet`, `Sidecar` egress listeners per port and `REGISTRY_ONLY` for connections, listeners shared by several address-less services on one port |
//!
//! ## Bounded cost
//!
//! Compiling a configuration and deciding with it cost little whatever the configuration says;
//! where a configuration asks for a lot, it is reported with the resource and field to change.
//!
//! | what | bound |
//! |---|---|
//! | Consistent-hash tables | built on a cluster's first pick, not when compiling or when endpoints change (the pick allocates once, then never); one ring holds at most Envoy's `maximum_ring_size`, 8388608 entries (72 MiB over up to 256 endpoints, built in place in about half a second), one Maglev table at most 5000011 slots. Picks are Envoy's. When the tables of every cluster would take more than 512 MiB together, compiling warns at the `consistentHash` fields that take the most (an unequal weight ratio forces every ring of a host to the maximum size); lint `MR005` ([`lint`]) names each ring the weights force to the maximum size, with the weights and the size asked for |
//! | Regexes | one compiled regex at most 4 MiB (as before); per configuration (one [`check`], one compile), at most 8 regexes above that limit and 128 MiB of compiled regexes are compiled: every later regex is refused without compiling, with an error at its field (`spec.http[3].match[0].uri.regex`) naming the budget spent. A pattern used several times is compiled once (in validation, and again once when compiling). 200 regexes like `(a{1000}){1000}` load and check in 0.07 s instead of 0.8 s (7 s in a debug build) |

#![forbid(unsafe_code)]

mod analyze;
mod balance;
#[cfg(feature = "kube")]
pub mod cluster;
mod compile;
pub mod config;
mod diagnostic;
mod live;
mod propagation;
mod registry;
#[cfg(feature = "rollout")]
pub mod rollout;
mod route;
#[cfg(feature = "tower")]
pub mod service;
#[cfg(feature = "yaml")]
pub mod sim;
mod util;
mod validate;

/// A decision as owned data: the parts of a [`DecisionReport`], what `meshroute route --json`
/// prints.
pub mod report {
    pub use crate::route::report::{
        AbortReport, DecisionReport, DelayReport, DestinationReport, DirectResponseReport,
        EndpointReport, FaultReport, HeaderOpReport, HeadersReport, MirrorReport, RedirectReport,
        RetriesReport, RewriteReport, RouteReport, RuleReport, StickyReport,
    };
}

pub use analyze::{check, lint};
pub use balance::endpoint::Endpoint;
pub use balance::outlier::UpstreamResult;
pub use compile::compile;
#[cfg(feature = "yaml")]
pub use config::load::{
    LoadError, LoadOptions, Loaded, from_path, from_str, from_str_named, mesh_config_from_str,
};
pub use diagnostic::{Code, CompileError, Diagnostic, InvalidSeverity, Severity};
#[cfg(feature = "watch")]
pub use live::Watcher;
pub use live::{ObserverId, RequestOutcome, SharedMesh};
pub use propagation::{Propagation, RoutingContext};
pub use route::cluster::NoEndpoint;
pub use route::connection::{Connection, ConnectionDecision};
pub use route::decision::{Decision, DestinationRef, Outcome, RouteKind, RuleRef};
pub use route::explain::{Explanation, Step};
pub use route::mesh::{ActiveRequest, Mesh, SetWeightsError, UnknownCluster, WeightsRefused};
pub use route::pick_cache::PickCache;
pub use route::policy::{
    Abort, CorsPolicy, DirectResponse, FaultPolicy, HeaderOp, HeaderOps, Mirror, RetryPolicy,
    Rewrite,
};
pub use route::report::DecisionReport;
pub use route::source::Source;
pub use util::rng::{FastRng, Rng, ThreadRng};

#[cfg(all(doctest, feature = "yaml", feature = "tower"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
