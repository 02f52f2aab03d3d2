//! What the mesh decided for one request, and the policies that come with it.
//!
//! A [`Decision`] borrows from the `Mesh` and the request it was made for, so
//! making one allocates nothing. The parts that need new strings (a redirect's `Location`, a
//! rewritten path) are computed on demand by methods.

use std::time::Duration;

use http::StatusCode;

use super::cluster::{ClusterState, NoEndpoint, Snapshot};
use super::policy::{
    CorsPolicy, DirectResponse, FaultPolicy, HeaderOps, Mirror, Redirect, RetryPolicy, Rewrite,
    RoutePolicy,
};
use super::table::{Action, CompiledDestination, CompiledMatch, CompiledRoute};
use crate::balance::endpoint::Endpoint;

/// The kind of answer, as Envoy would give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Forward to [`Decision::destination`].
    Route,
    /// Answer with a redirect ([`Decision::redirect_location`]): a route's `redirect`, or a
    /// gateway's 301 to https for a plain-HTTP request (a server's `tls.httpsRedirect`; no
    /// VirtualService or route then).
    Redirect,
    /// Answer with a fixed response ([`Decision::direct_response`]).
    DirectResponse,
    /// A VirtualService claims the host but no route matched: Envoy answers 404 with response
    /// flag `NR`. A gateway answers the same when it has no virtual host for the request: no
    /// server on the request's port, or none serving its host there.
    NoRoute,
    /// No VirtualService applies to the host: the request goes to the host as it is (Istio's
    /// default route, all endpoints, no subset), or, for a host the caller has no service for,
    /// to its original address (`ALLOW_ANY`, Envoy's `PassthroughCluster`). For a connection: no
    /// `tcp` or `tls` rule applies, and the service's own filter chain carries it to the whole
    /// service.
    NoVirtualService,
    /// The caller's outbound traffic policy is `REGISTRY_ONLY` and the host is not a service it
    /// sees on that port: Envoy's `BlackHoleCluster` (the `block_all` virtual host answers 502).
    BlackHole,
    /// Connections only: the listener's passthrough chain carries the connection to its original
    /// destination, unrouted (Envoy's `PassthroughCluster`): a host or port no service of the
    /// mesh has, an SNI no `tls` rule covers, or non-HTTP bytes on a sidecar's HTTP port.
    Passthrough,
    /// Connections only: no filter chain of the gateway's listener matches, so Envoy closes the
    /// connection (gateways have no default chain).
    Closed,
    /// Connections only: the gateway serves the connection as HTTP (an HTTP server, or an HTTPS
    /// server terminating TLS): decide its requests with [`Mesh::route`](crate::Mesh::route).
    Http,
}

impl Outcome {
    /// The name used in JSON output (`route`, `redirect`, `directResponse`, `noRoute`,
    /// `noVirtualService`, `blackHole`, `passthrough`, `closed`, `http`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Route => "route",
            Outcome::Redirect => "redirect",
            Outcome::DirectResponse => "directResponse",
            Outcome::NoRoute => "noRoute",
            Outcome::NoVirtualService => "noVirtualService",
            Outcome::BlackHole => "blackHole",
            Outcome::Passthrough => "passthrough",
            Outcome::Closed => "closed",
            Outcome::Http => "http",
        }
    }
}

/// Which rule list of a VirtualService decided: `http` for requests, `tcp` or `tls` for
/// connections (`spec.http`, `spec.tcp`, `spec.tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteKind {
    /// `spec.http`: an `HTTPRoute`.
    Http,
    /// `spec.tcp`: a `TCPRoute`.
    Tcp,
    /// `spec.tls`: a `TLSRoute`.
    Tls,
}

impl RouteKind {
    /// The field name: `http`, `tcp` or `tls`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RouteKind::Http => "http",
            RouteKind::Tcp => "tcp",
            RouteKind::Tls => "tls",
        }
    }
}

/// Which route (or match) fired: its position in the VirtualService and its name, if any (TCP
/// and TLS rules and matches have no names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleRef<'a> {
    /// Zero-based index in `spec.http`, `spec.tcp` or `spec.tls` (for a route) or in `match`
    /// (for a match).
    pub index: usize,
    /// The `name` field, if set.
    pub name: Option<&'a str>,
}

/// Where the request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestinationRef<'a> {
    /// The fully qualified host (`svc-b.default.svc.cluster.local`), as Istio resolves it.
    pub host: &'a str,
    /// The subset, if the route names one.
    pub subset: Option<&'a str>,
    /// The port: the route's, else the service's only port, else the port the request was sent to.
    pub port: Option<u16>,
    /// Whether Envoy has this cluster for the caller; `false` means it answers 503 (`NC`, cluster
    /// not found): the subset is defined by no DestinationRule the caller sees, or the service
    /// is not visible to the caller (`exportTo`, `Sidecar` egress hosts). A host no resource of
    /// the configuration defines is taken to exist (partial configurations).
    pub cluster_exists: bool,
}

/// The request facts a decision keeps (borrowed from the request).
#[derive(Debug, Clone)]
pub(crate) struct RequestFacts<'a> {
    /// Normalized path (owned only when dot segments were removed).
    pub(crate) path: std::borrow::Cow<'a, str>,
    pub(crate) query: &'a str,
    pub(crate) scheme: &'a str,
    /// `:authority` as sent.
    pub(crate) authority: &'a str,
    /// The host part of the authority (as sent, not lowercased).
    pub(crate) host: &'a str,
    pub(crate) port: u16,
}

/// What the mesh decided for one request: the route that fired and everything Envoy would apply.
///
/// Borrowed from the `Mesh` and the request; producing it allocates nothing.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    pub(crate) outcome: Outcome,
    pub(crate) virtual_service: Option<&'a std::sync::Arc<str>>,
    /// The service's name when its own virtual host answered (no VirtualService).
    pub(crate) service_host: Option<&'a std::sync::Arc<str>>,
    pub(crate) route: Option<&'a CompiledRoute>,
    pub(crate) matched: Option<&'a CompiledMatch>,
    pub(crate) destination: Option<DestinationRef<'a>>,
    pub(crate) chosen: Option<&'a CompiledDestination>,
    /// The user's bucket, when a sticky choice picked the destination.
    pub(crate) sticky: Option<super::choice::StickyBucket>,
    pub(crate) request: RequestFacts<'a>,
    pub(crate) endpoint: Option<PickedEndpoint<'a>>,
    pub(crate) no_endpoint: Option<NoEndpoint>,
    pub(crate) set_cookie: Option<String>,
    /// The redirect is a gateway virtual host's `require_tls` (`tls.httpsRedirect`), not a
    /// route's `redirect`.
    pub(crate) https_redirect: bool,
}

/// Owned names of a decision, shared with the `Mesh` ([`Decision::shared_names`]).
#[cfg(feature = "tower")]
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedNames {
    pub(crate) virtual_service: Option<std::sync::Arc<str>>,
    pub(crate) host: Option<std::sync::Arc<str>>,
    pub(crate) subset: Option<std::sync::Arc<str>>,
}

/// The endpoint a decision picked: the cluster snapshot it was picked from and its index.
#[derive(Debug, Clone)]
pub(crate) struct PickedEndpoint<'a> {
    pub(crate) cluster: u32,
    pub(crate) state: StateRef<'a>,
    pub(crate) index: usize,
}

#[cfg(feature = "tower")]
impl PickedEndpoint<'_> {
    /// The same pick, holding its snapshot itself (for what outlives the decision).
    pub(crate) fn to_owned_pick(&self) -> PickedEndpoint<'static> {
        PickedEndpoint {
            cluster: self.cluster,
            state: StateRef::Loaded(arc_swap::Guard::from_inner(std::sync::Arc::clone(
                &self.state,
            ))),
            index: self.index,
        }
    }
}

/// The cluster snapshot a pick was made on: loaded for this pick (two atomic read-modify-write
/// operations, one now and one when dropped), or borrowed from a [`PickCache`](super::pick_cache::PickCache)
/// (none).
#[derive(Debug)]
pub(crate) enum StateRef<'a> {
    /// Loaded from the cluster.
    Loaded(Snapshot),
    /// Borrowed from the caller's cache.
    Cached(&'a std::sync::Arc<ClusterState>),
}

impl std::ops::Deref for StateRef<'_> {
    type Target = std::sync::Arc<ClusterState>;

    fn deref(&self) -> &Self::Target {
        match self {
            StateRef::Loaded(guard) => guard,
            StateRef::Cached(state) => state,
        }
    }
}

impl Clone for StateRef<'_> {
    fn clone(&self) -> Self {
        match self {
            StateRef::Loaded(guard) => {
                StateRef::Loaded(arc_swap::Guard::from_inner(std::sync::Arc::clone(guard)))
            }
            StateRef::Cached(state) => StateRef::Cached(state),
        }
    }
}

static EMPTY_OPS: HeaderOps = HeaderOps {
    remove: Vec::new(),
    ops: Vec::new(),
};

impl<'a> Decision<'a> {
    /// A decision with this outcome and nothing else decided yet.
    pub(crate) fn new(
        outcome: Outcome,
        virtual_service: Option<&'a std::sync::Arc<str>>,
        request: RequestFacts<'a>,
    ) -> Self {
        Self {
            outcome,
            virtual_service,
            service_host: None,
            route: None,
            matched: None,
            destination: None,
            chosen: None,
            sticky: None,
            request,
            endpoint: None,
            no_endpoint: None,
            set_cookie: None,
            https_redirect: false,
        }
    }

    /// The kind of answer.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The VirtualService that decided (`namespace/name`), if any.
    pub fn virtual_service(&self) -> Option<&'a str> {
        self.virtual_service.map(|name| &**name)
    }

    /// The names of [`Decision::virtual_service`] and of the destination's host and subset as
    /// shared strings of the `Mesh`: owned copies that allocate nothing (a host the mesh does
    /// not know, as a passthrough has, is copied).
    #[cfg(feature = "tower")]
    pub(crate) fn shared_names(&self) -> SharedNames {
        let (host, subset) = match (self.chosen, self.destination) {
            (Some(chosen), _) => (Some(chosen.host.clone()), chosen.subset.clone()),
            (None, Some(destination)) => (
                Some(
                    self.service_host
                        .filter(|name| ***name == *destination.host)
                        .map_or_else(|| destination.host.into(), std::sync::Arc::clone),
                ),
                destination.subset.map(Into::into),
            ),
            (None, None) => (None, None),
        };
        SharedNames {
            virtual_service: self.virtual_service.cloned(),
            host,
            subset,
        }
    }

    /// The rule list the route that fired comes from: always [`RouteKind::Http`] when a route
    /// fired (see [`ConnectionDecision::kind`](crate::ConnectionDecision::kind) for `tcp` and
    /// `tls`).
    pub fn kind(&self) -> Option<RouteKind> {
        self.route.map(|_| RouteKind::Http)
    }

    /// The route that fired.
    pub fn route(&self) -> Option<RuleRef<'a>> {
        self.route.map(|r| RuleRef {
            index: r.index,
            name: r.name.as_deref(),
        })
    }

    /// The match (within the route) that fired; `None` for a route without match conditions.
    pub fn matched(&self) -> Option<RuleRef<'a>> {
        self.matched.map(|m| RuleRef {
            index: m.index,
            name: m.name.as_deref(),
        })
    }

    /// Envoy's route name: the route's name, `route.match` when the match has a name too
    /// (`pilot/pkg/networking/core/route/route.go` `TranslateRoute` in istio/istio). Allocates.
    pub fn envoy_route_name(&self) -> Option<String> {
        let route = self.route?.name.as_deref()?;
        Some(match self.matched.and_then(|m| m.name.as_deref()) {
            Some(m) => format!("{route}.{m}"),
            None => route.to_owned(),
        })
    }

    /// Where the request goes (for [`Outcome::Route`] and [`Outcome::NoVirtualService`]).
    pub fn destination(&self) -> Option<DestinationRef<'a>> {
        self.destination
    }

    /// The sticky key of the route's weighted choice (`header:x-user-id`), when the
    /// VirtualService's `meshroute.dev/sticky-key` annotation gives it one, whether or not this
    /// request had the key.
    pub fn sticky_key(&self) -> Option<&'a str> {
        match &self.route?.action {
            super::table::Action::Route { choice, .. } => {
                choice.as_ref()?.sticky().map(|s| &*s.label)
            }
            _ => None,
        }
    }

    /// The user's bucket (of 2^20) that chose the destination, when the choice is sticky and the
    /// request had the key; `None` when the destination was chosen by weight alone.
    pub fn sticky_bucket(&self) -> Option<u32> {
        self.sticky.map(|b| b.0)
    }

    /// The endpoint the destination's load balancer picked, when the destination's endpoints are
    /// known (from manifests or [`Mesh::set_endpoints`](crate::Mesh::set_endpoints)).
    pub fn endpoint(&self) -> Option<&Endpoint> {
        let picked = self.endpoint.as_ref()?;
        picked.state.endpoints().get(picked.index)
    }

    /// The picked endpoint's address as a URI authority (parsed when its endpoints were set).
    #[cfg(feature = "tower")]
    pub(crate) fn endpoint_authority(&self) -> Option<&http::uri::Authority> {
        let picked = self.endpoint.as_ref()?;
        picked.state.authority(picked.index)
    }

    /// Why no endpoint was picked although the destination's endpoints are known: no healthy
    /// upstream (503 `UH`) or `PASSTHROUGH`.
    pub fn no_endpoint(&self) -> Option<NoEndpoint> {
        self.no_endpoint
    }

    /// The `Set-Cookie` value Envoy would add to the response when a `consistentHash.httpCookie`
    /// with a `ttl` generated the cookie.
    pub fn set_cookie(&self) -> Option<&str> {
        self.set_cookie.as_deref()
    }

    /// The status Envoy answers with itself, without forwarding: the redirect or direct response
    /// status, 404 for no route, 503 for a subset no DestinationRule defines (flag `NC`) or a
    /// cluster without a healthy endpoint (flag `UH`).
    pub fn local_status(&self) -> Option<StatusCode> {
        match self.outcome {
            Outcome::NoRoute => Some(StatusCode::NOT_FOUND),
            Outcome::Redirect => self
                .redirect_status()
                .map(|s| StatusCode::from_u16(s).unwrap_or(StatusCode::MOVED_PERMANENTLY)),
            Outcome::DirectResponse => self.direct_response().map(DirectResponse::status),
            Outcome::BlackHole => Some(StatusCode::BAD_GATEWAY),
            Outcome::Passthrough | Outcome::Closed | Outcome::Http => None,
            Outcome::Route | Outcome::NoVirtualService => {
                let missing_subset = self.destination.is_some_and(|d| !d.cluster_exists);
                let unhealthy = self.no_endpoint == Some(NoEndpoint::NoHealthyUpstream);
                (missing_subset || unhealthy).then_some(StatusCode::SERVICE_UNAVAILABLE)
            }
        }
    }

    /// The traffic split of the decision: each destination the route can choose with its
    /// weight and the weights' total (`(destination, 1, 1)` for a single destination, the
    /// service's own route included); empty without a destination. What `diff` compares, so
    /// that a weight change shows whatever the random draw.
    #[cfg(feature = "yaml")]
    pub(crate) fn split(&self) -> Vec<(DestinationRef<'a>, u64, u64)> {
        let Some(chosen) = self.destination else {
            return Vec::new();
        };
        let Some(Action::Route {
            destinations,
            choice: Some(choice),
            ..
        }) = self.action()
        else {
            return vec![(chosen, 1, 1)];
        };
        let (weights, total) = choice.weights();
        weights
            .into_iter()
            .filter_map(|(index, weight)| {
                let d = destinations.get(index)?;
                let destination = DestinationRef {
                    host: &d.host,
                    subset: d.subset.as_deref(),
                    port: d.port.or(d.service_port).or(Some(self.request.port)),
                    cluster_exists: chosen.cluster_exists,
                };
                Some((destination, weight, total))
            })
            .collect()
    }

    fn action(&self) -> Option<&'a Action> {
        self.route.map(|r| &r.action)
    }

    fn policy(&self) -> Option<&'a RoutePolicy> {
        self.shared_policy().map(|p| &**p)
    }

    /// The route's policies, shared: what the outbound client keeps for the request's
    /// lifetime (an `Arc` clone, no copy).
    pub(crate) fn shared_policy(&self) -> Option<&'a std::sync::Arc<RoutePolicy>> {
        match self.action()? {
            Action::Route { policy, .. } => Some(policy),
            _ => None,
        }
    }

    pub(crate) fn redirect(&self) -> Option<&'a Redirect> {
        match self.action()? {
            Action::Redirect { redirect, .. } => Some(redirect),
            _ => None,
        }
    }

    /// The direct response, for [`Outcome::DirectResponse`].
    pub fn direct_response(&self) -> Option<&'a DirectResponse> {
        match self.action()? {
            Action::DirectResponse { response, .. } => Some(response),
            _ => None,
        }
    }

    /// Request header operations for the chosen destination, in Envoy's order.
    pub fn request_headers(&self) -> &'a HeaderOps {
        self.chosen
            .and_then(CompiledDestination::request_headers)
            .unwrap_or(&EMPTY_OPS)
    }

    /// Response header operations (route and destination merged), in Envoy's order.
    pub fn response_headers(&self) -> &'a HeaderOps {
        match (self.chosen, self.action()) {
            (Some(d), _) => d.response_headers().unwrap_or(&EMPTY_OPS),
            (
                None,
                Some(Action::Redirect {
                    response_headers, ..
                }),
            )
            | (
                None,
                Some(Action::DirectResponse {
                    response_headers, ..
                }),
            )
            | (
                None,
                Some(Action::Route {
                    response_headers, ..
                }),
            ) => response_headers,
            (None, None) => &EMPTY_OPS,
        }
    }

    /// The authority the request is forwarded with, when rewritten (`rewrite.authority` beats a
    /// `:authority`/`host` header `set`, which beats `add`; route level beats destination level).
    pub fn authority_rewrite(&self) -> Option<&'a str> {
        self.chosen.and_then(|d| d.authority.as_deref())
    }

    /// The URI rewrite, if the route has one.
    pub fn rewrite(&self) -> Option<&'a Rewrite> {
        self.policy()?.rewrite.as_ref()
    }

    /// The path and query the request is forwarded with, when `rewrite.uri` or `uriRegexRewrite`
    /// changes them. The query string is kept (istio/istio
    /// `tests/integration/pilot/common/routing.go`, case "rewrite uri").
    pub fn rewritten_path_and_query(&self) -> Option<String> {
        let rewrite = self.rewrite()?;
        let path: &str = &self.request.path;
        let new_path = if let Some(uri) = &rewrite.uri {
            // Envoy prefix_rewrite: replaces the matched prefix (the whole path for exact and
            // regex matches; `/` for a route without a uri match).
            let matched = match self.matched.and_then(|m| m.request.uri.as_ref()) {
                Some(m) => m.prefix_len(path),
                None => usize::from(path.starts_with('/')),
            };
            format!("{uri}{}", path.get(matched..).unwrap_or(""))
        } else if let Some((regex, replacement)) = &rewrite.regex {
            regex.replace_all(path, replacement.as_str()).into_owned()
        } else {
            return None;
        };
        Some(if self.request.query.is_empty() {
            new_path
        } else {
            format!("{new_path}?{}", self.request.query)
        })
    }

    /// The route timeout; `None` means none (Istio disables Envoy's 15s default).
    pub fn timeout(&self) -> Option<Duration> {
        self.policy()?.timeout
    }

    /// The retry policy Envoy applies; `None` when retries are disabled (`attempts: 0`) or for
    /// non-forwarding outcomes.
    pub fn retries(&self) -> Option<&'a RetryPolicy> {
        self.policy()?.retries.as_ref()
    }

    /// Fault injection, if configured.
    pub fn fault(&self) -> Option<&'a FaultPolicy> {
        self.policy()?.fault.as_ref()
    }

    /// Mirrors (shadow traffic), with their percentages.
    pub fn mirrors(&self) -> &'a [Mirror] {
        self.policy().map_or(&[], |p| p.mirrors.as_slice())
    }

    /// The CORS policy, if configured.
    pub fn cors(&self) -> Option<&'a CorsPolicy> {
        self.policy()?.cors.as_ref()
    }

    /// The `Location` of a redirect, built as Envoy builds it (route.go `ApplyRedirect`):
    /// path replaced by `uri` (query kept unless `uri` has one) or its matched prefix by
    /// `prefixRewrite`; authority, scheme and port replaced when configured. A gateway's
    /// redirect to https (`tls.httpsRedirect`) keeps the authority as sent, port included, and
    /// the path with its query (Envoy `Http::Utility::createSslRedirectPath`). Allocates.
    pub fn redirect_location(&self) -> Option<String> {
        let request = &self.request;
        if self.https_redirect {
            let path = &request.path;
            return Some(if request.query.is_empty() {
                format!("https://{}{path}", request.authority)
            } else {
                format!("https://{}{path}?{}", request.authority, request.query)
            });
        }
        let r = self.redirect()?;
        let scheme = r.scheme.as_deref().unwrap_or(request.scheme);
        let default_port = if scheme == "https" { 443 } else { 80 };
        // route.go ApplyRedirect: `port_redirect` is the configured (or, for FROM_REQUEST_PORT,
        // the listener) port, cleared when it is the redirect scheme's default.
        let port = r
            .port
            .or(r.derive_from_request.then_some(request.port))
            .filter(|p| *p != default_port);
        let host = match (&r.authority, port) {
            (Some(a), _) => a.as_str(),
            // Envoy processRequestHost: a port redirect replaces the port sent.
            (None, Some(_)) => request.host,
            // Otherwise the Host is kept as sent (routing.go "redirect request port": Host `b:80`
            // gives `http://b:80/foo`), except that a scheme change drops the old scheme's default
            // port.
            (None, None) => {
                let old_default = if request.scheme.eq_ignore_ascii_case("https") {
                    ":443"
                } else {
                    ":80"
                };
                if scheme != request.scheme && request.authority.ends_with(old_default) {
                    request.host
                } else {
                    request.authority
                }
            }
        };
        let authority = match port {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let (path, query) = if let Some(uri) = &r.uri {
            match uri.split_once('?') {
                Some((p, q)) => (p.to_owned(), q.to_owned()),
                None => (uri.clone(), request.query.to_owned()),
            }
        } else if let Some(prefix) = &r.prefix_rewrite {
            let matched = match self.matched.and_then(|m| m.request.uri.as_ref()) {
                Some(m) => m.prefix_len(&request.path),
                None => usize::from(request.path.starts_with('/')),
            };
            (
                format!("{prefix}{}", request.path.get(matched..).unwrap_or("")),
                request.query.to_owned(),
            )
        } else {
            (request.path.to_string(), request.query.to_owned())
        };
        Some(if query.is_empty() {
            format!("{scheme}://{authority}{path}")
        } else {
            format!("{scheme}://{authority}{path}?{query}")
        })
    }

    /// The redirect status (301 unless configured; always 301 for a gateway's redirect to https,
    /// Envoy's `SslRedirector`).
    pub fn redirect_status(&self) -> Option<u16> {
        if self.https_redirect {
            return Some(301);
        }
        self.redirect().map(|r| r.status)
    }
}
