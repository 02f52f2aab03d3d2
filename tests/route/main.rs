//! Routing decisions (`Mesh::route`, `Mesh::explain`): golden rules, one test per Istio routing
//! rule (`rules.rs`), gateway servers, hosts and redirects (`gateways.rs`); the seed scenario (`seed.rs`) and its explanations pinned as text
//! (`explain.rs`); invariants over generated configurations, checked against an independent model
//! of Istio's route building (`props.rs`); connections decided with `tcp` and `tls` rules
//! (`tcp_tls.rs`, which lists its own sources); Kubernetes EndpointSlices as a Service's endpoints,
//! through to the endpoint picked (`endpoint_slices.rs`, which lists its own sources).
//!
//! The tests cite the upstream source of each rule by file name and function (or test case):
//!
//! - `vs.proto`: istio/api `networking/v1alpha3/virtual_service.proto`, whose comments are the
//!   reference at <https://istio.io/latest/docs/reference/config/networking/virtual-service/>.
//! - `route.go`, `route_test.go`: istio/istio `pilot/pkg/networking/core/route/` (how pilot
//!   translates a VirtualService into Envoy routes); `retry.go`, `retry_test.go`: its `retry/`
//!   folder.
//! - `httproute.go` (sidecar virtual hosts), `gateway.go` (gateway virtual hosts): istio/istio
//!   `pilot/pkg/networking/core/`.
//! - `config.go` (short names, most specific host, creation-time order), `push_context.go`,
//!   `virtualservice.go` (delegate merging), `virtualservice_controller.go` (delegate
//!   resolution): istio/istio `pilot/pkg/model/`.
//! - `host/name.go`: istio/istio `pkg/config/host/name.go`.
//! - `routing.go`: istio/istio `tests/integration/pilot/common/routing.go`, the end-to-end
//!   routing cases (request and expected result), cited by case name.
//! - `rc.proto`: envoyproxy/envoy `api/envoy/config/route/v3/route_components.proto`, i.e.
//!   <https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto>;
//!   `regex.proto`: `api/envoy/type/matcher/v3/regex.proto`.
//! - `config_impl.cc`, `weighted_cluster_specifier.cc`: envoyproxy/envoy `source/common/router/`.
//! - Envoy's response flags (`NR`, `NC`, `UH`):
//!   <https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#config-access-log-format-response-flags>.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../common/mod.rs"]
mod common;

mod endpoint_slices;
mod explain;
mod gateways;
mod pick_cache;
mod props;
mod rules;
mod seed;
mod sticky;
mod tcp_tls;
mod visibility;
