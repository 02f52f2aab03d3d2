//! Deciding one request of a case with the `Mesh` (the same decision as `Mesh::route`, traced
//! by `Mesh::explain`) and keeping, owned, everything either format compares.

use super::caller::Caller;
use super::envoy_names::{Sent, cluster_name, virtual_host_name};
use super::manifests::Manifests;
use crate::route::decision::{Decision, Outcome};
use crate::route::explain::Explanation;
use crate::route::mesh::Mesh;
use crate::route::policy::{FaultPolicy, HeaderOps};
use crate::route::report::{DecisionReport, DestinationReport};
use crate::route::table::Action;
use crate::sim::request::{InvalidRequest, SimRequest};
use crate::util::host::split_host_port;
use crate::util::rng::Rng;

/// A request as a test file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Asked {
    pub(super) method: String,
    /// `host[:port]`, as sent.
    pub(super) authority: String,
    /// The path and query.
    pub(super) path: String,
    pub(super) headers: Vec<(String, String)>,
    /// Arrived over TLS (a gateway's HTTPS servers; default port 443).
    pub(super) tls: bool,
}

impl Asked {
    /// The absolute URL the simulated request is built from.
    pub(super) fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.authority, self.path)
    }

    /// `GET http://svc-b:8080/greet`.
    pub(super) fn line(&self) -> String {
        format!("{} {}", self.method, self.url())
    }

    /// The authority's host (lowercased, without the port) and the port the request goes to
    /// (the authority's, else 80, or 443 over TLS).
    pub(super) fn host_port(&self) -> (String, u16) {
        let (host, port) = split_host_port(&self.authority);
        let default = if self.tls { 443 } else { 80 };
        (host.to_ascii_lowercase(), port.unwrap_or(default))
    }

    /// The HTTP request, or why it cannot be built.
    pub(super) fn build(&self) -> Result<http::Request<()>, InvalidRequest> {
        let mut request = SimRequest::new(self.method.clone(), self.url());
        for (name, value) in &self.headers {
            request = request.header(name.clone(), value.clone());
        }
        request.build()
    }
}

/// A random source that draws the same number every time: Envoy's `router_check_tool` `random_value`, the
/// number its router picks weighted clusters with (`weighted_cluster_specifier.cc`:
/// `random_value % total_weight` over the clusters' intervals in list order), which
/// `route/choice.rs` draws the same way.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fixed(pub(super) u64);

impl Rng for Fixed {
    fn next_u64(&mut self) -> u64 {
        self.0
    }
}

/// A redirect as the route configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RedirectSeen {
    pub(super) status: u16,
    pub(super) uri: Option<String>,
    pub(super) prefix_rewrite: Option<String>,
    pub(super) authority: Option<String>,
    pub(super) scheme: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) derive_from_request: bool,
    /// The `Location` Envoy answers with.
    pub(super) location: String,
}

/// One destination of the route's traffic split.
#[derive(Debug, Clone)]
pub(super) struct Share {
    pub(super) destination: DestinationReport,
    /// Of the [`Observed::split_total`] draws, how many pick it.
    pub(super) count: u64,
    /// Its request header operations.
    pub(super) request_ops: HeaderOps,
    /// Its response header operations.
    pub(super) response_ops: HeaderOps,
}

/// What one decision says, owned.
#[derive(Debug, Clone)]
pub(super) struct Observed {
    pub(super) report: DecisionReport,
    pub(super) explanation: Explanation,
    /// The cluster and virtual host names Envoy's `router_check_tool` sees.
    pub(super) cluster_name: String,
    pub(super) virtual_host_name: String,
    /// `:path` and `:authority` as forwarded; `None` without a route entry.
    pub(super) forwarded: Option<(String, String)>,
    pub(super) redirect: Option<RedirectSeen>,
    /// The status of a direct response (redirects included).
    pub(super) direct_status: Option<u16>,
    /// `rewrite.uri`, and `uriRegexRewrite` as `(pattern, replacement)` (regex crate syntax).
    pub(super) rewrite_uri: Option<String>,
    pub(super) rewrite_regex: Option<(String, String)>,
    /// The authority the request is forwarded with, when rewritten.
    pub(super) authority_rewrite: Option<String>,
    pub(super) fault: Option<FaultPolicy>,
    pub(super) request_ops: HeaderOps,
    pub(super) response_ops: HeaderOps,
    /// The delegate (`name`, `namespace`) the root route that fired hands the request to.
    pub(super) delegate: Option<(String, String)>,
    /// The namespace short destination hosts of an expectation resolve in: the delegate's that
    /// holds the route, else the deciding VirtualService's, else the caller's.
    pub(super) namespace: String,
    /// The route's destinations with their shares (when asked for): every draw of the weighted
    /// choice over one period of its total weight.
    pub(super) split: Vec<Share>,
    /// The number of draws `split` counts.
    pub(super) split_total: u64,
    /// Whether `split` covers a whole period (exact shares), rather than a prefix of one.
    pub(super) split_exact: bool,
}

/// The most draws of a weighted choice the split counts: beyond, shares are approximate.
const SPLIT_DRAWS: u64 = 1 << 20;

/// Decides `request` sent by `caller`, weighted choices drawn as `random`.
pub(super) fn observe(
    mesh: &Mesh,
    manifests: &Manifests<'_>,
    asked: &Asked,
    request: &http::Request<()>,
    caller: &Caller,
    random: u64,
    with_split: bool,
) -> Observed {
    let (decision, explanation) = mesh.explain(request, &caller.source, &mut Fixed(random));
    let (host, port) = asked.host_port();
    let sent = Sent {
        host: &host,
        port,
        tls: asked.tls,
    };
    let route_entry = matches!(
        decision.outcome(),
        Outcome::Route | Outcome::NoVirtualService
    ) && decision.destination().is_some();
    let forwarded = route_entry.then(|| {
        let path = decision
            .rewritten_path_and_query()
            .unwrap_or_else(|| asked.path.clone());
        let authority = decision
            .authority_rewrite()
            .map_or_else(|| asked.authority.clone(), str::to_owned);
        (path, authority)
    });
    let redirect = decision.redirect().map(|r| RedirectSeen {
        status: r.status,
        uri: r.uri.clone(),
        prefix_rewrite: r.prefix_rewrite.clone(),
        authority: r.authority.clone(),
        scheme: r.scheme.clone(),
        port: r.port,
        derive_from_request: r.derive_from_request,
        location: decision.redirect_location().unwrap_or_default(),
    });
    let direct_status = match decision.outcome() {
        Outcome::Redirect => decision.redirect_status(),
        Outcome::DirectResponse => decision.direct_response().map(|r| r.status().as_u16()),
        _ => None,
    };
    let vs_namespace = decision
        .virtual_service()
        .and_then(|key| key.split_once('/'))
        .map(|(ns, _)| ns.to_owned());
    let delegate = decision
        .virtual_service()
        .zip(decision.route())
        .and_then(|(key, route)| {
            let vs = manifests.virtual_service(key)?;
            let delegate = vs.spec.http.get(route.index)?.delegate.as_ref()?;
            let namespace = if delegate.namespace.is_empty() {
                vs.namespace
            } else {
                &delegate.namespace
            };
            Some((delegate.name.clone(), namespace.to_owned()))
        });
    let namespace = delegate
        .as_ref()
        .map(|(_, ns)| ns.clone())
        .or(vs_namespace)
        .unwrap_or_else(|| caller.source.namespace().to_owned());
    let (split, split_total, split_exact) = if with_split {
        split(mesh, request, caller, &decision)
    } else {
        (Vec::new(), 0, true)
    };
    Observed {
        report: decision.report(),
        cluster_name: cluster_name(&decision, port),
        virtual_host_name: virtual_host_name(&decision, manifests, &caller.source, sent),
        forwarded,
        redirect,
        direct_status,
        rewrite_uri: decision.rewrite().and_then(|r| r.uri()).map(str::to_owned),
        rewrite_regex: decision
            .rewrite()
            .and_then(|r| r.regex())
            .map(|(p, s)| (p.to_owned(), s.to_owned())),
        authority_rewrite: decision.authority_rewrite().map(str::to_owned),
        fault: decision.fault().cloned(),
        request_ops: decision.request_headers().clone(),
        response_ops: decision.response_headers().clone(),
        namespace,
        delegate,
        split,
        split_total,
        split_exact,
        explanation,
    }
}

/// The route's destinations and how many draws of one period of its weighted choice pick each
/// (`route/choice.rs`: Envoy's `random % total` over intervals in list order, weight-0
/// destinations left out, a single destination taking everything). Each destination is
/// resolved by deciding again with a draw that picks it, so its host, subset, port and header
/// operations are the decision's own.
fn split(
    mesh: &Mesh,
    request: &http::Request<()>,
    caller: &Caller,
    decision: &Decision<'_>,
) -> (Vec<Share>, u64, bool) {
    let one = |decision: &Decision<'_>| Share {
        destination: DestinationReport {
            host: decision
                .destination()
                .map(|d| d.host.to_owned())
                .unwrap_or_default(),
            subset: decision
                .destination()
                .and_then(|d| d.subset.map(str::to_owned)),
            port: decision.destination().and_then(|d| d.port),
        },
        count: 0,
        request_ops: decision.request_headers().clone(),
        response_ops: decision.response_headers().clone(),
    };
    let choice = match decision.route.map(|r| &r.action) {
        Some(Action::Route { choice, .. }) => choice.as_ref(),
        _ => return (Vec::new(), 0, true),
    };
    if decision.destination().is_none() {
        return (Vec::new(), 0, true);
    }
    let Some(choice) = choice else {
        return (
            vec![Share {
                count: 1,
                ..one(decision)
            }],
            1,
            true,
        );
    };
    // Runs of equal picks, in draw order: (index, first draw, count). A period ends where the
    // first index comes back after another.
    let mut runs: Vec<(usize, u64, u64)> = Vec::new();
    let mut draws = 0u64;
    let mut exact = false;
    while draws < SPLIT_DRAWS {
        let index = choice.pick_with(draws);
        let first = runs.first().map(|run| run.0);
        match runs.last_mut() {
            Some(run) if run.0 == index => run.2 += 1,
            Some(_) if first == Some(index) => {
                exact = true;
                break;
            }
            _ => runs.push((index, draws, 1)),
        }
        draws += 1;
    }
    if runs.len() <= 1 {
        exact = true;
    }
    let shares = runs
        .iter()
        .map(|&(_, first, count)| {
            let again = mesh.route_with(request, &caller.source, &mut Fixed(first));
            Share {
                count,
                ..one(&again)
            }
        })
        .collect();
    (shares, draws, exact)
}
