//! Routing test files in two public formats, run unchanged against Istio's semantics:
//! istio-config-validator's `testCases` and Envoy's `router_check_tool` `tests`. What
//! `meshroute test` runs; [`TestFiles`] runs them from `cargo test` too.
//!
//! ```
//! use meshroute::sim::TestFiles;
//!
//! // The seed scenario's test files, against its canary variant.
//! let report = TestFiles::discover(["examples/seed/tests/"])?
//!     .config([
//!         "examples/seed/demo.yaml",
//!         "examples/seed/demo-gateway.yaml",
//!         "examples/seed/destination-rule-svc-b-canary.yaml",
//!     ])
//!     .run()?;
//! assert!(report.passed(), "{report}");
//! # Ok::<(), meshroute::sim::SimError>(())
//! ```
//!
//! # Finding the files
//!
//! Among the paths given (files, or folders searched recursively for `*.yaml`, `*.yml` and
//! `*.json`), a test document is a mapping without `apiVersion` and `kind` whose top level has
//! `testCases` (istio-config-validator) or `tests` (`router_check_tool`); a file may hold several
//! documents. The configuration under test is every Istio and Kubernetes resource among the same
//! paths (the loader skips test documents), or the paths of [`TestFiles::config`].
//!
//! # Who sends the request
//!
//! Neither format says. Each request is decided as the proxy whose routes the test is about: a
//! sidecar in the namespace of the VirtualService that serves the request's authority (the most
//! specific host that names it: the host itself or a Kubernetes name of it, then wildcards), or,
//! when that VirtualService is bound only to gateways, its gateway; a sidecar in `default` when
//! no VirtualService serves it. [`TestFiles::namespace`] and [`TestFiles::gateway`] pick one
//! proxy for every case. A failing request says who sent it and why.
//!
//! # istio-config-validator (`testCases`)
//!
//! Every key of `TestCase` and `Request` (`internal/pkg/parser/testcase.go`) is read:
//! `description`, `wantMatch`, `request` (`authority`, `method`, `uri`, `headers`), `route`,
//! `redirect`, `rewrite`, `fault`, `headers`, `delegate`. A request unfolds into one request per
//! `uri` × `authority` × `method`, each decided by meshroute; a case passes when every one does.
//! Each part the case names is compared on the fields it names:
//!
//! | part | compared with |
//! |---|---|
//! | `route` | the route's traffic split: each destination's `host` (a short name resolved in the deciding VirtualService's namespace), `subset`, `port.number`, per-destination `headers`, in order; the shares when the case names weights. Weight-0 destinations get no traffic and a single destination gets all of it, as Istio configures Envoy |
//! | `redirect` | the redirect of the route: `uri`, `prefixRewrite`, `authority`, `scheme`, `port`, `derivePort`, `redirectCode` |
//! | `rewrite` | `uri`, `authority` (the authority the request is forwarded with), `uriRegexRewrite` |
//! | `fault` | `delay.fixedDelay`, `delay.percentage` (or `percent`), `abort.httpStatus`, `abort.grpcStatus`, `abort.percentage` |
//! | `headers` | every operation named (`request`/`response` `set`, `add`, `remove`) is one Envoy applies |
//! | `delegate` | the delegate the root route that fired names: `name`, `namespace` |
//!
//! `wantMatch: false` inverts each comparison, as istio-config-validator does (`unit.Run`): the
//! case fails when any part it names is what Istio does. A missing `wantMatch` is `false`, as Go
//! reads it; meshroute warns. Not supported, reported as warnings: `fault.delay.exponentialDelay`
//! and `fault.abort.http2Error` (Istio implements neither), and any unknown key (`request.port`,
//! `request.queryParams`: give them in the authority and the uri).
//!
//! Where the expectation contradicts Istio, the failure says so: istio-config-validator keeps only
//! the path of `uri` and ignores `queryParams`, `withoutHeaders`, `scheme`, `port`, source
//! selectors and ports; it finds VirtualServices by literal host; it tests a regex as `^re$`
//! where Istio matches the whole value (an alternation `a|b` differs); it evaluates a delegate on
//! its own where Istio merges the root route's match into it.
//!
//! # Envoy's `router_check_tool` (`tests`)
//!
//! Every field of `validation.proto` is read. `input`: `authority`, `path`, `method`,
//! `random_value`, `ssl` (`x-forwarded-proto: https`; through a gateway, the request arrives on
//! its HTTPS servers, port 443 unless the authority names one), `internal`
//! (`x-envoy-internal: true`), `additional_request_headers`, `additional_response_headers`.
//! `validate`: `cluster_name` (Istio's `outbound|PORT|SUBSET|FQDN`, `PassthroughCluster`),
//! `virtual_cluster_name` (always `""`: Istio configures none), `virtual_host_name` (Istio's
//! `HOST:PORT`, `allow_any`), `host_rewrite`, `path_rewrite`, `path_redirect` (the `Location`),
//! `code_redirect`, `request_header_fields`, `response_header_fields`, `request_header_matches`,
//! `response_header_matches` (Envoy's `HeaderMatcher`: exact, prefix, suffix, contains, full-match
//! regex, range, present, `string_match` with `ignore_case`, `invert_match`,
//! `treat_missing_header_as_empty`). A field absent is not compared; `""` expects nothing (no
//! route entry). Header checks see the headers after the route's rewrites and header operations;
//! Envoy's `%VARIABLE%` values are compared as written.
//!
//! `random_value` is the random draw of the decision: meshroute's weighted choice takes
//! `random_value % total weight` over the destinations' intervals in list order, as Envoy's
//! (`weighted_cluster_specifier.cc`), so the same destination is picked; the endpoint's load
//! balancer draws it too. Not supported, reported as warnings: `input.runtime` and the top-level
//! `runtime` (Istio's routes have no runtime fraction), `input.dynamic_metadata` (Istio's routes
//! do not match on it), `string_match.custom`.
//!
//! # Results
//!
//! [`TestReport`] prints one line per case and a summary, with each failing request's expected
//! and actual values, its caller, the differences from Istio and the decision's explanation;
//! [`TestReport::to_json`] and [`TestReport::to_junit`] are the machine-readable forms.

mod caller;
mod envoy_names;
mod fields;
mod istio_config_validator;
mod manifests;
mod observe;
mod report;
mod router_check;
mod run;
mod their_matcher;

pub use report::TestReport;
pub use run::TestFiles;
