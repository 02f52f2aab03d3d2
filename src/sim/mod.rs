//! Simulation: ask a configuration where requests go, with seeds, in tests and in CI.
//!
//! A [`Simulation`] owns a compiled [`Mesh`]. Describe a request with [`SimRequest`] (URL,
//! headers, and who sends it: a sidecar with its labels, or a gateway), then
//!
//! - [`Simulation::decide`] gives the decision JSON of DESIGN.md (the same as
//!   `meshroute route --json`), and [`Simulation::explain`] the trace of why;
//! - [`Simulation::distribution`] counts destinations and endpoints over many seeded
//!   decisions (weighted splits, load balancing);
//! - [`Simulation::assert_routes_to`] and [`Simulation::assert_share`] are test assertions that
//!   panic with the explain trace, so a failing test says *why* the request went elsewhere;
//! - [`Simulation::chain`] follows a call through several services (gateway → svc-a → svc-b),
//!   carrying the routing flags from each inbound request to the next outbound one with the
//!   same [`RoutingContext`] code the tower layers use — or not, to show what happens when a
//!   service forgets to forward them.
//!
//! Everything is seeded ([`FastRng::from_seed`]): the same seed gives the same answer.
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
//! assert_eq!(sim.decide(&flagged, 0)["destination"]["subset"], "v2");
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
//!     .run(0);
//! assert_eq!(hops[1].url, "http://svc-b:8080/greet?name=xx");
//! assert_eq!(hops[1].decision["destination"]["subset"], "v2");
//!
//! let lost = sim.chain(entry)
//!     .then("http://svc-b:8080/greet", svc_a)
//!     .without_propagation()
//!     .run(0);
//! assert!(lost[1].explanation.to_string().contains("queryParams.name: absent"));
//! # Ok::<(), meshroute::sim::SimError>(())
//! ```
//!
//! Limits: a hop's outbound request is built from the URL given to [`Chain::then`] plus the
//! propagated flags; the previous hop's rewrites and header operations are not applied to it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use http::Request;

use crate::config::{LoadError, LoadOptions, Loaded};
use crate::propagation::{Propagation, RoutingContext};
use crate::{Diagnostic, Explanation, FastRng, Mesh, Source};

/// Why a [`Simulation`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A file or folder could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The configuration has errors (every one of them, loading and compiling).
    #[error("the configuration has {} error(s):\n{}", .0.len(), list(.0))]
    Invalid(Vec<Diagnostic>),
}

fn list(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl SimError {
    /// The configuration's errors (empty for an I/O error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Invalid(diagnostics) => diagnostics,
            Self::Load(_) => &[],
        }
    }
}

/// A compiled configuration to ask questions of. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Simulation {
    mesh: Mesh,
}

impl Simulation {
    /// Loads files or folders (`-` for stdin, see [`from_path`](crate::from_path)) with
    /// namespace `default` for resources that name none, and compiles them.
    pub fn load(paths: impl IntoIterator<Item = impl AsRef<Path>>) -> Result<Self, SimError> {
        Self::load_with(paths, &LoadOptions::default())
    }

    /// [`Simulation::load`] with explicit load options (e.g. another default namespace).
    pub fn load_with(
        paths: impl IntoIterator<Item = impl AsRef<Path>>,
        options: &LoadOptions,
    ) -> Result<Self, SimError> {
        let mut loaded = Loaded::default();
        for path in paths {
            loaded.extend(crate::from_path(path, options)?);
        }
        Self::from_loaded(loaded)
    }

    /// Loads and compiles YAML (or JSON) text, namespace `default` where none is named.
    pub fn from_yaml(text: &str) -> Result<Self, SimError> {
        Self::from_loaded(crate::from_str(text, &LoadOptions::default()))
    }

    fn from_loaded(loaded: Loaded) -> Result<Self, SimError> {
        let errors: Vec<Diagnostic> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        if !errors.is_empty() {
            return Err(SimError::Invalid(errors));
        }
        crate::compile(loaded.resources)
            .map(Self::from_mesh)
            .map_err(|error| SimError::Invalid(error.errors().cloned().collect()))
    }

    /// Simulates an already compiled mesh.
    pub fn from_mesh(mesh: Mesh) -> Self {
        Self { mesh }
    }

    /// The mesh.
    pub fn mesh(&self) -> &Mesh {
        &self.mesh
    }

    /// The decision for `request`, weighted choices drawn from `FastRng::from_seed(seed)`, as
    /// the decision JSON of DESIGN.md. A request that cannot be built (see
    /// [`SimRequest::build`]) gives `{"error": message}`.
    pub fn decide(&self, request: &SimRequest, seed: u64) -> serde_json::Value {
        match request.build() {
            Ok(http) => self
                .mesh
                .route_with(&http, &request.source(), &mut FastRng::from_seed(seed))
                .to_json(),
            Err(message) => serde_json::json!({ "error": message }),
        }
    }

    /// Why `request` goes where [`Simulation::decide`] says (same seed, same decision). A
    /// request that cannot be built gives an explanation whose outcome is the error.
    pub fn explain(&self, request: &SimRequest, seed: u64) -> Explanation {
        self.decide_explained(request, seed).1
    }

    fn decide_explained(
        &self,
        request: &SimRequest,
        seed: u64,
    ) -> (serde_json::Value, Explanation) {
        match request.build() {
            Ok(http) => {
                let (decision, explanation) =
                    self.mesh
                        .explain(&http, &request.source(), &mut FastRng::from_seed(seed));
                (decision.to_json(), explanation)
            }
            Err(message) => (
                serde_json::json!({ "error": message }),
                Explanation {
                    outcome: format!("invalid request: {message}"),
                    ..Explanation::default()
                },
            ),
        }
    }

    /// Decides `request` `n` times, drawing from one `FastRng::from_seed(seed)`, and counts
    /// the destinations and endpoints. An invalid request gives an empty distribution.
    pub fn distribution(&self, request: &SimRequest, n: u64, seed: u64) -> Distribution {
        let mut destinations: BTreeMap<(String, Option<String>, Option<u16>), u64> =
            BTreeMap::new();
        let mut endpoints: BTreeMap<String, u64> = BTreeMap::new();
        let Ok(http) = request.build() else {
            return Distribution::default();
        };
        let source = request.source();
        let mut rng = FastRng::from_seed(seed);
        for _ in 0..n {
            let decision = self.mesh.route_with(&http, &source, &mut rng);
            if let Some(d) = decision.destination() {
                // Look up before allocating a key: most decisions hit an existing entry.
                let hit = destinations.iter_mut().find(|((host, subset, port), _)| {
                    host == d.host && subset.as_deref() == d.subset && *port == d.port
                });
                match hit {
                    Some((_, count)) => *count += 1,
                    None => {
                        destinations
                            .insert((d.host.to_owned(), d.subset.map(str::to_owned), d.port), 1);
                    }
                }
            }
            if let Some(endpoint) = decision.endpoint() {
                match endpoints.get_mut(&endpoint.address) {
                    Some(count) => *count += 1,
                    None => {
                        endpoints.insert(endpoint.address.clone(), 1);
                    }
                }
            }
        }
        Distribution {
            total: n,
            destinations: destinations
                .into_iter()
                .map(|((host, subset, port), count)| DestinationCount {
                    host,
                    subset,
                    port,
                    count,
                })
                .collect(),
            endpoints: endpoints
                .into_iter()
                .map(|(address, count)| EndpointCount { address, count })
                .collect(),
        }
    }

    /// Asserts that `request` (seed 0) is routed to `expected`: a subset name, or a host when
    /// `expected` contains a dot (`svc-b.default.svc.cluster.local`).
    ///
    /// # Panics
    ///
    /// This is a test assertion: it panics when the request goes elsewhere, with the decision
    /// JSON and the explain trace in the message.
    #[allow(clippy::panic)]
    #[track_caller]
    pub fn assert_routes_to(&self, request: &SimRequest, expected: &str) {
        let (decision, explanation) = self.decide_explained(request, 0);
        let field = if expected.contains('.') {
            "host"
        } else {
            "subset"
        };
        let actual = decision
            .get("destination")
            .and_then(|d| d.get(field))
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        if actual.as_str() != Some(expected) {
            panic!(
                "expected {} {} to be routed to {expected:?}, got {actual}\ndecision: {decision}\n{explanation}",
                request.method, request.url
            );
        }
    }

    /// Asserts that over 10,000 seeded decisions (seed 0) the share of `expected` (a subset,
    /// or a host when it contains a dot) is `share ± tolerance` (fractions: `0.95`, `0.01`).
    ///
    /// # Panics
    ///
    /// This is a test assertion: it panics when the share is out of range, with the
    /// distribution JSON and the explain trace of one decision in the message.
    #[allow(clippy::panic)]
    #[track_caller]
    pub fn assert_share(&self, request: &SimRequest, expected: &str, share: f64, tolerance: f64) {
        let distribution = self.distribution(request, 10_000, 0);
        let actual = distribution.share(expected);
        if (actual - share).abs() > tolerance {
            panic!(
                "expected {} {} to reach {expected:?} in {share} ± {tolerance} of decisions, got {actual}\ndistribution: {}\n{}",
                request.method,
                request.url,
                distribution.to_json(),
                self.explain(request, 0)
            );
        }
    }

    /// Starts a call chain with the request that enters the mesh (typically
    /// [`SimRequest::from_gateway`]).
    pub fn chain(&self, first: SimRequest) -> Chain<'_> {
        Chain {
            sim: self,
            first,
            hops: Vec::new(),
        }
    }
}

/// Destination and endpoint counts over many decisions ([`Simulation::distribution`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Distribution {
    /// How many decisions were made.
    pub total: u64,
    /// Per destination, sorted by host, then subset (none first), then port.
    pub destinations: Vec<DestinationCount>,
    /// Per endpoint, sorted by address.
    pub endpoints: Vec<EndpointCount>,
}

/// How often one destination was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DestinationCount {
    /// The fully qualified host.
    pub host: String,
    /// The subset, if any.
    pub subset: Option<String>,
    /// The port, if the route names one.
    pub port: Option<u16>,
    /// How many decisions chose it.
    pub count: u64,
}

/// How often one endpoint was picked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointCount {
    /// `ip:port`.
    pub address: String,
    /// How many decisions picked it.
    pub count: u64,
}

impl Distribution {
    /// The fraction of decisions (0 to 1) whose destination is `what`: a subset name, or a
    /// host when it contains a dot. 0 when there were no decisions.
    pub fn share(&self, what: &str) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let by_host = what.contains('.');
        let count: u64 = self
            .destinations
            .iter()
            .filter(|d| {
                if by_host {
                    d.host == what
                } else {
                    d.subset.as_deref() == Some(what)
                }
            })
            .map(|d| d.count)
            .sum();
        #[allow(clippy::cast_precision_loss)]
        let share = count as f64 / self.total as f64;
        share
    }

    /// The distribution JSON of DESIGN.md: `{"total", "destinations": [{"host", "subset",
    /// "port", "count"}], "endpoints": [{"address", "count"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        json!({
            "total": self.total,
            "destinations": self.destinations.iter().map(|d| json!({
                "host": d.host, "subset": d.subset, "port": d.port, "count": d.count,
            })).collect::<Vec<_>>(),
            "endpoints": self.endpoints.iter().map(|e| json!({
                "address": e.address, "count": e.count,
            })).collect::<Vec<_>>(),
        })
    }
}

/// A request to simulate and who sends it (by default a sidecar in namespace `default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    namespace: String,
    gateway: Option<String>,
    labels: BTreeMap<String, String>,
    ip: Option<IpAddr>,
}

impl SimRequest {
    /// A `GET` of `url`, which must be absolute (`http://svc-b:8080/greet?name=xx`): its
    /// authority is the host being called.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A request with any method. The URL must be absolute.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            namespace: "default".to_owned(),
            gateway: None,
            labels: BTreeMap::new(),
            ip: None,
        }
    }

    /// Adds a header (repeatable; repeated names are all sent).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a header written `Name: value` (as `meshroute route -H` takes it).
    pub fn header_line(self, line: &str) -> Result<Self, String> {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("invalid header {line:?}: expected 'Name: value'"))?;
        Ok(self.header(name.trim(), value.trim()))
    }

    /// Sent by a sidecar in `namespace` (the default: a sidecar in `default`).
    pub fn from_sidecar(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self.gateway = None;
        self
    }

    /// The calling workload's labels (for `sourceLabels` matches).
    pub fn with_labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Sent by the gateway `namespace/name` (a bare `name` is in namespace `default`).
    pub fn from_gateway(mut self, name: &str) -> Self {
        let name = if name.contains('/') {
            name.to_owned()
        } else {
            format!("default/{name}")
        };
        if let Some((namespace, _)) = name.split_once('/') {
            namespace.clone_into(&mut self.namespace);
        }
        self.gateway = Some(name);
        self
    }

    /// The caller's IP address (source-IP hashing, sticky choices).
    pub fn source_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Parses a request line of DESIGN.md: `{"method":"GET","url":"http://svc-b:8080/greet",
    /// "headers":{"x-user":"a"},"gateway":null,"sourceLabels":{},"sourceNamespace":"default",
    /// "sourceIp":null}`; all but `url` optional (`null` = absent), unknown keys rejected. A
    /// bare gateway name is in namespace `default`. The request is checked with
    /// [`SimRequest::build`].
    pub fn from_json_line(line: &str) -> Result<Self, String> {
        Self::from_json_line_in(line, "default")
    }

    /// [`SimRequest::from_json_line`] with a bare gateway name in `namespace`.
    pub fn from_json_line_in(line: &str, namespace: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
        let object = value
            .as_object()
            .ok_or("a request line must be a JSON object")?;
        let string = |key: &str| -> Result<Option<String>, String> {
            match object.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(format!("{key:?} must be a string, not {other}")),
            }
        };
        let map = |key: &str| -> Result<Vec<(String, String)>, String> {
            match object.get(key) {
                None | Some(serde_json::Value::Null) => Ok(Vec::new()),
                Some(serde_json::Value::Object(entries)) => entries
                    .iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
                        other => Err(format!("{key}.{k} must be a string, not {other}")),
                    })
                    .collect(),
                Some(other) => Err(format!("{key:?} must be an object, not {other}")),
            }
        };
        const KEYS: [&str; 7] = [
            "method",
            "url",
            "headers",
            "gateway",
            "sourceLabels",
            "sourceNamespace",
            "sourceIp",
        ];
        if let Some(unknown) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "unknown key {unknown:?} (expected one of {})",
                KEYS.join(", ")
            ));
        }
        let url = string("url")?.ok_or("missing \"url\"")?;
        let method = string("method")?.unwrap_or_else(|| "GET".to_owned());
        let mut request = Self::new(method, url);
        for (name, value) in map("headers")? {
            request = request.header(name, value);
        }
        if let Some(ns) = string("sourceNamespace")? {
            request = request.from_sidecar(ns);
        }
        if let Some(gateway) = string("gateway")? {
            let name = if gateway.contains('/') {
                gateway
            } else {
                format!("{namespace}/{gateway}")
            };
            request = request.from_gateway(&name);
        }
        request = request.with_labels(map("sourceLabels")?);
        if let Some(ip) = string("sourceIp")? {
            let ip = ip
                .parse()
                .map_err(|e| format!("invalid \"sourceIp\" {ip:?}: {e}"))?;
            request = request.source_ip(ip);
        }
        request.build()?;
        Ok(request)
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The headers, in the order added.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Who sends the request.
    pub fn source(&self) -> Source {
        let source = match &self.gateway {
            Some(name) => Source::gateway(name),
            None => Source::sidecar(self.namespace.clone()),
        }
        .with_labels(self.labels.clone());
        match self.ip {
            Some(ip) => source.with_ip(ip),
            None => source,
        }
    }

    /// The HTTP request, or why it cannot be built (a URL that is not absolute, an invalid
    /// method or header).
    pub fn build(&self) -> Result<Request<()>, String> {
        let uri: http::Uri = self
            .url
            .trim()
            .parse()
            .map_err(|e| format!("invalid URL {:?}: {e}", self.url))?;
        if uri.authority().is_none() {
            return Err(format!(
                "the URL {:?} must be absolute (http://host[:port]/path): its authority is the host being called",
                self.url
            ));
        }
        let mut builder = Request::builder().method(self.method.as_str()).uri(uri);
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(())
            .map_err(|e| format!("invalid request: {e}"))
    }
}

impl fmt::Display for SimRequest {
    /// `METHOD URL` and who sends it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)?;
        match &self.gateway {
            Some(gateway) => write!(f, " via gateway {gateway}"),
            None => write!(f, " from a sidecar in {}", self.namespace),
        }
    }
}

/// A call through several services, built by [`Simulation::chain`].
#[derive(Debug, Clone)]
pub struct Chain<'a> {
    sim: &'a Simulation,
    first: SimRequest,
    hops: Vec<NextHop>,
}

#[derive(Debug, Clone)]
struct NextHop {
    url: String,
    caller: Source,
    propagate: bool,
}

impl Chain<'_> {
    /// The next hop: the service that received the previous hop's request, `caller` (usually
    /// a sidecar with that service's labels), sends `GET url`. The routing flags of the
    /// request it received are propagated onto it unless [`Chain::without_propagation`].
    pub fn then(mut self, url: impl Into<String>, caller: Source) -> Self {
        self.hops.push(NextHop {
            url: url.into(),
            caller,
            propagate: true,
        });
        self
    }

    /// The last hop added with [`Chain::then`] is sent by a service that does not forward the
    /// routing flags. (No effect before the first `then`.)
    pub fn without_propagation(mut self) -> Self {
        if let Some(hop) = self.hops.last_mut() {
            hop.propagate = false;
        }
        self
    }

    /// Decides every hop, drawing weighted choices from one `FastRng::from_seed(seed)`. Each
    /// hop's outbound request gets the flags of the previous hop's request with
    /// [`RoutingContext::capture`] / [`RoutingContext::inject`] and
    /// [`Propagation::from_mesh`], as the tower layers do. Stops after a hop whose request
    /// cannot be built (its decision is `{"error": ..}`).
    pub fn run(&self, seed: u64) -> Vec<Hop> {
        let mesh = &self.sim.mesh;
        let propagation = Propagation::from_mesh(mesh);
        let mut rng = FastRng::from_seed(seed);
        let mut hops = Vec::with_capacity(self.hops.len() + 1);
        let first = self.first.build().map(|r| (r, self.first.source()));
        let mut current = first;
        let mut next = self.hops.iter();
        loop {
            let (request, source) = match current {
                Ok(pair) => pair,
                Err(message) => {
                    hops.push(Hop {
                        url: String::new(),
                        headers: Vec::new(),
                        decision: serde_json::json!({ "error": message }),
                        explanation: Explanation {
                            outcome: format!("invalid request: {message}"),
                            ..Explanation::default()
                        },
                    });
                    return hops;
                }
            };
            let (decision, explanation) = mesh.explain(&request, &source, &mut rng);
            hops.push(Hop {
                url: request.uri().to_string(),
                headers: request
                    .headers()
                    .iter()
                    .map(|(n, v)| {
                        (
                            n.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect(),
                decision: decision.to_json(),
                explanation,
            });
            let Some(hop) = next.next() else {
                return hops;
            };
            current = SimRequest::get(hop.url.clone())
                .build()
                .map(|mut outbound| {
                    if hop.propagate {
                        RoutingContext::capture(&propagation, &request).inject(&mut outbound);
                    }
                    (outbound, hop.caller.clone())
                });
        }
    }
}

/// One hop of a [`Chain`]: what was sent and what the mesh decided.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Hop {
    /// The URL actually sent (with propagated query parameters).
    pub url: String,
    /// The headers actually sent (with propagated headers), lowercase names.
    pub headers: Vec<(String, String)>,
    /// The decision JSON.
    pub decision: serde_json::Value,
    /// Why.
    pub explanation: Explanation,
}
