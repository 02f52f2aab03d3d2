//! Simulation: ask a configuration where requests go, with seeds, in tests and in CI.
//!
//! A [`Simulation`] owns a compiled [`Mesh`](crate::Mesh). Describe a request with [`SimRequest`] (URL,
//! headers, and who sends it: a sidecar with its labels, or a gateway), then
//!
//! - [`Simulation::decide`] gives the decision as a [`DecisionReport`](crate::DecisionReport)
//!   (what `meshroute route --json` prints), and [`Simulation::explain`] the trace of why;
//! - [`Simulation::distribution`] counts destinations and endpoints over many seeded
//!   decisions (weighted splits, load balancing);
//! - [`Simulation::assert_routes_to`] and [`Simulation::assert_share`] are test assertions that
//!   panic with the explain trace, so a failing test says *why* the request went elsewhere;
//! - [`diff`] compares two configurations over requests ([`generate`] writes them from the
//!   match conditions) and reports the changes of route, destinations, shares and policies;
//! - [`RequestLines`] reads request files and Envoy access logs as a stream;
//! - [`Simulation::chain`] follows a call through several services (gateway → svc-a → svc-b),
//!   carrying the routing flags from each inbound request to the next outbound one with the
//!   same [`RoutingContext`](crate::RoutingContext) code the tower layers use — or not, to show what happens when a
//!   service forgets to forward them.
//!
//! - [`TestFiles`] runs routing test files written for istio-config-validator (`testCases`) or
//!   Envoy's `router_check_tool` (`tests`) against Istio's semantics (what `meshroute test`
//!   does; see [`test_files`]).
//!
//! Everything is seeded ([`FastRng::from_seed`](crate::FastRng::from_seed)): the same seed gives the same answer.
//!
//! ```
//! use meshroute::Source;
//! use meshroute::sim::{SimRequest, Simulation};
//!
//! let sim = Simulation::from_yaml(r#"
//! apiVersion: networking.istio.io/v1
//! kind: Gateway
//! metadata: {name: demo-gateway, namespace: default}
//! spec:
//!   selector: {istio: ingressgateway}
//!   servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
//! ---
//! apiVersion: networking.istio.io/v1
//! kind: VirtualService
//! metadata: {name: demo, namespace: default}
//! spec:
//!   hosts: ["*"]
//!   gateways: [demo-gateway]
//!   http:
//!   - route: [{destination: {host: svc-a, port: {number: 8080}}}]
//! ---
//! apiVersion: networking.istio.io/v1
//! kind: VirtualService
//! metadata: {name: svc-b, namespace: default}
//! spec:
//!   hosts: [svc-b]
//!   http:
//!   - match: [{queryParams: {name: {exact: xx}}}]
//!     route: [{destination: {host: svc-b, subset: v2}}]
//!   - route:
//!     - {destination: {host: svc-b, subset: v1}, weight: 90}
//!     - {destination: {host: svc-b, subset: v2}, weight: 10}
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
//!   subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
//! "#)?;
//!
//! // One request, one decision.
//! let flagged = SimRequest::get("http://svc-b:8080/greet?name=xx").from_sidecar("default");
//! sim.assert_routes_to(&flagged, "v2");
//! let decision = sim.decide(&flagged, 0)?;
//! assert_eq!(decision.destination.unwrap().subset.as_deref(), Some("v2"));
//!
//! // The weighted split, over 10,000 seeded decisions.
//! let plain = SimRequest::get("http://svc-b:8080/greet");
//! sim.assert_share(&plain, "v1", 0.90, 0.02);
//!
//! // A call chain: the flag sent to the gateway reaches svc-b only if svc-a forwards it.
//! let svc_a = Source::sidecar("default").with_labels([("app", "demo-a")]);
//! let entry = SimRequest::get("http://demo.example.com/greet?name=xx")
//!     .from_gateway("default/demo-gateway");
//! let hops = sim.chain(entry.clone())
//!     .then("http://svc-b:8080/greet", svc_a.clone())
//!     .run(0)?;
//! assert_eq!(hops[1].url, "http://svc-b:8080/greet?name=xx");
//! assert_eq!(hops[1].decision.destination.as_ref().unwrap().subset.as_deref(), Some("v2"));
//!
//! let lost = sim.chain(entry)
//!     .then("http://svc-b:8080/greet", svc_a)
//!     .without_propagation()
//!     .run(0)?;
//! assert!(lost[1].explanation.to_string().contains("queryParams.name: absent"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Limits: a hop's outbound request is built from the URL given to [`Chain::then`] plus the
//! propagated flags; the previous hop's rewrites and header operations are not applied to it.

mod chain;
mod diff;
mod request;
mod requests;
mod simulation;
mod sticky;
pub mod test_files;

pub use chain::{Chain, Hop};
pub use diff::{Behaviour, Change, Diff, Share, diff, generate};
pub use request::{InvalidRequest, SimRequest};
pub use requests::{LineFormat, MAX_LINE, RequestLine, RequestLines};
pub use simulation::{DestinationCount, Distribution, EndpointCount, SimError, Simulation};
pub use sticky::{StickyUsers, sticky_users};
pub use test_files::{TestFiles, TestReport};
