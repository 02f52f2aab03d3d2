use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::chain::Chain;
use super::request::{InvalidRequest, SimRequest, known_gateway};
use crate::config::load::{LoadError, LoadOptions, Loaded, from_path, from_str};
use crate::diagnostic::Diagnostic;
use crate::route::connection::Connection;
use crate::route::decision::DestinationRef;
use crate::route::explain::Explanation;
use crate::route::mesh::Mesh;
use crate::route::report::DecisionReport;
use crate::util::rng::FastRng;

/// A simulated request ready to decide: an HTTP request, or a TCP or TLS connection.
pub(super) enum Prepared<'r> {
    Http(http::Request<()>),
    Connection(Connection<'r>),
}

impl<'r> Prepared<'r> {
    pub(super) fn of(request: &'r SimRequest) -> Result<Self, InvalidRequest> {
        match request.connection() {
            Some(connection) => Ok(Self::Connection(connection?)),
            None => Ok(Self::Http(request.build()?)),
        }
    }
}

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
    /// No routing test file among these paths ([`TestFiles::discover`](super::TestFiles::discover)).
    #[error("no test file found in {}: a test file is YAML or JSON whose top level has testCases (istio-config-validator) or tests (Envoy's router_check_tool)", .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoTestFiles(Vec<std::path::PathBuf>),
    /// Routing test files that cannot be run: every problem, each naming the file, the line, the
    /// case and the field.
    #[error("{}", .0.join("\n"))]
    Tests(Vec<String>),
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
            Self::Load(_) | Self::NoTestFiles(_) | Self::Tests(_) => &[],
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
            loaded.extend(from_path(path, options)?);
        }
        Self::from_loaded(loaded)
    }

    /// Loads and compiles YAML (or JSON) text, namespace `default` where none is named.
    pub fn from_yaml(text: &str) -> Result<Self, SimError> {
        Self::from_loaded(from_str(text, &LoadOptions::default()))
    }

    fn from_loaded(loaded: Loaded) -> Result<Self, SimError> {
        loaded
            .compile()
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
    /// the report `meshroute route --json` prints; an error when the request cannot be built
    /// (see [`SimRequest::build`]) or names a gateway the configuration does not define
    /// ([`Mesh::has_gateway`]). A `tcp://` or `tls://` URL is decided as a connection
    /// ([`Mesh::route_connection`]).
    pub fn decide(
        &self,
        request: &SimRequest,
        seed: u64,
    ) -> Result<DecisionReport, InvalidRequest> {
        let source = request.source();
        known_gateway(&self.mesh, &source)?;
        let mut rng = FastRng::from_seed(seed);
        Ok(match Prepared::of(request)? {
            Prepared::Http(http) => self.mesh.route_with(&http, &source, &mut rng).report(),
            Prepared::Connection(connection) => self
                .mesh
                .route_connection(&connection, &source, &mut rng)
                .report(),
        })
    }

    /// Why `request` goes where [`Simulation::decide`] says (same seed, same decision); an error
    /// as for [`Simulation::decide`].
    pub fn explain(&self, request: &SimRequest, seed: u64) -> Result<Explanation, InvalidRequest> {
        Ok(self.decide_explained(request, seed)?.1)
    }

    fn decide_explained(
        &self,
        request: &SimRequest,
        seed: u64,
    ) -> Result<(DecisionReport, Explanation), InvalidRequest> {
        let source = request.source();
        known_gateway(&self.mesh, &source)?;
        let mut rng = FastRng::from_seed(seed);
        Ok(match Prepared::of(request)? {
            Prepared::Http(http) => {
                let (decision, explanation) = self.mesh.explain(&http, &source, &mut rng);
                (decision.report(), explanation)
            }
            Prepared::Connection(connection) => {
                let (decision, explanation) =
                    self.mesh.explain_connection(&connection, &source, &mut rng);
                (decision.report(), explanation)
            }
        })
    }

    /// Decides `request` `n` times, drawing from one `FastRng::from_seed(seed)`, and counts
    /// the destinations and endpoints; an error as for [`Simulation::decide`].
    pub fn distribution(
        &self,
        request: &SimRequest,
        n: u64,
        seed: u64,
    ) -> Result<Distribution, InvalidRequest> {
        let mut destinations: BTreeMap<(String, Option<String>, Option<u16>), u64> =
            BTreeMap::new();
        let mut endpoints: BTreeMap<String, u64> = BTreeMap::new();
        let prepared = Prepared::of(request)?;
        let source = request.source();
        known_gateway(&self.mesh, &source)?;
        let mut rng = FastRng::from_seed(seed);
        let mut tally = |destination: Option<DestinationRef<'_>>, endpoint: Option<&str>| {
            if let Some(d) = destination {
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
            if let Some(address) = endpoint {
                match endpoints.get_mut(address) {
                    Some(count) => *count += 1,
                    None => {
                        endpoints.insert(address.to_owned(), 1);
                    }
                }
            }
        };
        for _ in 0..n {
            match &prepared {
                Prepared::Http(http) => {
                    let decision = self.mesh.route_with(http, &source, &mut rng);
                    tally(
                        decision.destination(),
                        decision.endpoint().map(|e| e.address.as_str()),
                    );
                }
                Prepared::Connection(connection) => {
                    let decision = self.mesh.route_connection(connection, &source, &mut rng);
                    tally(
                        decision.destination(),
                        decision.endpoint().map(|e| e.address.as_str()),
                    );
                }
            }
        }
        Ok(Distribution {
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
        })
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
        let (decision, explanation) = match self.decide_explained(request, 0) {
            Ok(pair) => pair,
            Err(error) => panic!("{request}: {error}"),
        };
        let destination = decision.destination.as_ref();
        let actual = if expected.contains('.') {
            destination.map(|d| d.host.as_str())
        } else {
            destination.and_then(|d| d.subset.as_deref())
        };
        if actual != Some(expected) {
            let actual = actual.map_or_else(|| "no destination".to_owned(), |a| format!("{a:?}"));
            let json = serde_json::to_string(&decision).unwrap_or_default();
            panic!(
                "expected {request} to be routed to {expected:?}, got {actual}\ndecision: {json}\n{explanation}"
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
        let (distribution, explanation) = match (
            self.distribution(request, 10_000, 0),
            self.explain(request, 0),
        ) {
            (Ok(distribution), Ok(explanation)) => (distribution, explanation),
            (Err(error), _) | (_, Err(error)) => panic!("{request}: {error}"),
        };
        let actual = distribution.share(expected);
        if (actual - share).abs() > tolerance {
            let json = serde_json::to_string(&distribution).unwrap_or_default();
            panic!(
                "expected {request} to reach {expected:?} in {share} ± {tolerance} of decisions, got {actual}\ndistribution: {json}\n{explanation}"
            );
        }
    }

    /// Starts a call chain with the request that enters the mesh (typically
    /// [`SimRequest::from_gateway`]).
    pub fn chain(&self, first: SimRequest) -> Chain<'_> {
        Chain::new(&self.mesh, first)
    }
}

/// Destination and endpoint counts over many decisions ([`Simulation::distribution`]); it
/// serializes as `meshroute simulate --repeat` prints it: `{"total", "destinations": [{"host",
/// "subset", "port", "count"}], "endpoints": [{"address", "count"}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}
