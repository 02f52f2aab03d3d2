use super::request::{InvalidRequest, SimRequest, known_gateway};
use crate::propagation::{Propagation, RoutingContext};
use crate::route::explain::Explanation;
use crate::route::mesh::Mesh;
use crate::route::report::DecisionReport;
use crate::route::source::Source;
use crate::util::rng::FastRng;

/// A call through several services, built by [`Simulation::chain`](super::Simulation::chain).
#[derive(Debug, Clone)]
pub struct Chain<'a> {
    mesh: &'a Mesh,
    first: SimRequest,
    hops: Vec<NextHop>,
}

#[derive(Debug, Clone)]
struct NextHop {
    url: String,
    caller: Source,
    propagate: bool,
}

impl<'a> Chain<'a> {
    pub(super) fn new(mesh: &'a Mesh, first: SimRequest) -> Self {
        Self {
            mesh,
            first,
            hops: Vec::new(),
        }
    }

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
    /// [`Propagation::from_mesh`], as the tower layers do. Fails on the first request that
    /// cannot be built, and before deciding anything when a hop is sent by a gateway the
    /// configuration does not define.
    pub fn run(&self, seed: u64) -> Result<Vec<Hop>, InvalidRequest> {
        known_gateway(self.mesh, &self.first.source())?;
        for hop in &self.hops {
            known_gateway(self.mesh, &hop.caller)?;
        }
        let propagation = Propagation::from_mesh(self.mesh);
        let mut rng = FastRng::from_seed(seed);
        let mut hops = Vec::with_capacity(self.hops.len() + 1);
        let mut request = self.first.build()?;
        let mut source = self.first.source();
        let mut next = self.hops.iter();
        loop {
            let (decision, explanation) = self.mesh.explain(&request, &source, &mut rng);
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
                decision: decision.report(),
                explanation,
            });
            let Some(hop) = next.next() else {
                return Ok(hops);
            };
            let mut outbound = SimRequest::get(hop.url.clone()).build()?;
            if hop.propagate {
                RoutingContext::capture(&propagation, &request).inject(&mut outbound);
            }
            request = outbound;
            source = hop.caller.clone();
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
    /// The decision.
    pub decision: DecisionReport,
    /// Why.
    pub explanation: Explanation,
}
