//! Lowering one VirtualService's HTTP routes: matches into matchers, destinations with their
//! merged header operations, and the route's policies, as Istio's route translation
//! (`pilot/pkg/networking/core/route/route.go` and
//! `pilot/pkg/networking/core/route/retry/retry.go` in istio/istio) builds them for Envoy.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use http::{HeaderName, HeaderValue, StatusCode};
use regex::Regex;
use rustc_hash::FxHashMap;

use super::known::Known;
use crate::balance::hash_policy::HashPolicy;
use crate::config::sticky::{self, StickyKey};
use crate::config::{
    CorsPolicy as IstioCors, Destination, HeaderOperations, HttpMatchRequest, HttpRetry, HttpRoute,
    RedirectPortSelection, Resource, StringMatch, UnmatchedPreflights, VirtualService,
};
use crate::route::choice::{Sticky, WeightedChoice};
use crate::route::matcher::{
    MatchHeader, MatchPseudo, MatchQuery, MatchRegex, MatchRequest, MatchString, Pseudo,
};
use crate::route::policy::{
    Abort, CorsPolicy, DirectResponse, FaultPolicy, HeaderOp, HeaderOps, Mirror, Redirect,
    RetryPolicy, Rewrite, RoutePolicy, bytes_like,
};
use crate::route::table::{
    Action, CompiledDestination, CompiledMatch, CompiledRoute, CompiledVs, DestinationHeaders,
};
use crate::util::gateways::gateway_key;
use crate::util::host;
use crate::util::query::QueryKey;
use crate::util::regex::build as build_regex;
use crate::util::regex::envoy_replacement;
use crate::util::status::go_status_text_known;

/// The regexes compiled for one configuration, by pattern: a pattern that several matches use
/// (or that delegation merges into several routes) is compiled once, and its matchers share the
/// compiled program (cloning a `Regex` shares it). Validation has already checked every
/// pattern within the configuration's regex budget (`util/regex.rs`), so compiling them here
/// costs at most that budget again.
#[derive(Debug, Default)]
pub(crate) struct Regexes {
    /// Full-match regexes (`regex` string matches).
    matches: HashMap<String, Option<MatchRegex>>,
    /// `uriRegexRewrite` patterns.
    rewrites: HashMap<String, Option<Regex>>,
    /// The policies of routes that set nothing but (at most) retries, shared: most routes of a
    /// large table have the same one (Istio's default retry policy), and one `Arc` per route
    /// was the largest part of a compiled route's memory.
    plain_policies: Vec<std::sync::Arc<RoutePolicy>>,
    /// The shared policy of a route that sets none of its own, without and with consistent
    /// hashing (which changes the default retry policy).
    default_policies: [Option<std::sync::Arc<RoutePolicy>>; 2],
    /// Destination hosts and subsets, one shared string per name.
    names: rustc_hash::FxHashSet<std::sync::Arc<str>>,
    /// Match header names (lowercase), one shared `HeaderName` per name.
    header_names: FxHashMap<String, Option<HeaderName>>,
    /// The number (`CompiledDestination::id`) of each distinct route destination, keyed by its
    /// interned host and subset strings' addresses (no string hashing: equal names are one
    /// string), its port and its service's port.
    destination_ids: FxHashMap<DestinationKey, u32>,
    /// The distinct route destinations, by number.
    numbered: Vec<NumberedDestination>,
}

/// A route destination's interned host and subset strings' addresses, port and service port.
type DestinationKey = (*const u8, Option<*const u8>, Option<u16>, Option<u16>);

/// A distinct route destination, as the per-scope tables (`Scope::destinations`,
/// `Scope::destination_clusters`) need it: route destinations that agree on these share a
/// number (`CompiledDestination::id`) and an entry, as what those tables hold depends on nothing
/// else. The routes of a large table name a few.
#[derive(Debug)]
pub(crate) struct NumberedDestination {
    pub(crate) host: Arc<str>,
    pub(crate) subset: Option<Arc<str>>,
    /// Its port, else its service's only port.
    pub(crate) port: Option<u16>,
}

impl Regexes {
    /// The full-match regex for `pattern`. Validation refuses a pattern that does not compile
    /// in this form; should one reach here, its condition fails closed (matches nothing)
    /// rather than disappearing and matching everything.
    fn full_match(&mut self, pattern: &str) -> Option<MatchRegex> {
        if let Some(compiled) = self.matches.get(pattern) {
            return compiled.clone();
        }
        let compiled = MatchRegex::new(pattern)
            .or_else(|_| MatchRegex::new(r"[^\s\S]"))
            .ok();
        self.matches.insert(pattern.to_owned(), compiled.clone());
        compiled
    }

    /// The header name `lower` (already lowercase), one shared per distinct name of the
    /// configuration (a custom name is an allocation of its own); `None` when it is not a valid
    /// header name.
    fn header_name(&mut self, lower: &str) -> Option<HeaderName> {
        if let Some(name) = self.header_names.get(lower) {
            return name.clone();
        }
        let name = HeaderName::from_bytes(lower.as_bytes()).ok();
        self.header_names.insert(lower.to_owned(), name.clone());
        name
    }

    /// The number of the route destination to `host` / `subset` (both interned) on `port`,
    /// whose service's only port is `service_port`.
    fn number(
        &mut self,
        host: &Arc<str>,
        subset: Option<&Arc<str>>,
        port: Option<u16>,
        service_port: Option<u16>,
    ) -> u32 {
        let key: DestinationKey = (
            Arc::as_ptr(host).cast::<u8>(),
            subset.map(|s| Arc::as_ptr(s).cast::<u8>()),
            port,
            service_port,
        );
        let next = u32::try_from(self.numbered.len()).unwrap_or(u32::MAX);
        let id = *self.destination_ids.entry(key).or_insert(next);
        if id == next {
            self.numbered.push(NumberedDestination {
                host: Arc::clone(host),
                subset: subset.cloned(),
                port: port.or(service_port),
            });
        }
        id
    }

    /// The distinct route destinations numbered so far, by number.
    pub(crate) fn numbered(&self) -> &[NumberedDestination] {
        &self.numbered
    }

    /// One shared string per distinct host or subset name of the configuration.
    fn intern(&mut self, name: &str) -> std::sync::Arc<str> {
        if let Some(shared) = self.names.get(name) {
            return std::sync::Arc::clone(shared);
        }
        let shared: std::sync::Arc<str> = name.into();
        self.names.insert(std::sync::Arc::clone(&shared));
        shared
    }

    /// `policy`, shared with an equal one compiled before when it sets nothing but retries.
    fn share(&mut self, policy: RoutePolicy) -> std::sync::Arc<RoutePolicy> {
        let plain = policy.rewrite.is_none()
            && policy.timeout.is_none()
            && policy.fault.is_none()
            && policy.mirrors.is_empty()
            && policy.cors.is_none();
        if !plain {
            return std::sync::Arc::new(policy);
        }
        if let Some(shared) = self
            .plain_policies
            .iter()
            .find(|p| p.retries == policy.retries)
        {
            return std::sync::Arc::clone(shared);
        }
        let shared = std::sync::Arc::new(policy);
        self.plain_policies.push(std::sync::Arc::clone(&shared));
        shared
    }

    /// The `uriRegexRewrite` regex for `pattern`, as Envoy's `regex_rewrite` applies it (not
    /// anchored).
    fn rewrite(&mut self, pattern: &str) -> Option<Regex> {
        if let Some(compiled) = self.rewrites.get(pattern) {
            return compiled.clone();
        }
        let compiled = build_regex(pattern).ok();
        self.rewrites.insert(pattern.to_owned(), compiled.clone());
        compiled
    }
}

/// Compiles the routes `http` of `vs` (its delegates merged), adding to `destination_hosts` the
/// host of every route, mirror and mirrors destination as written (once or more each).
pub(crate) fn compile_vs<'h>(
    resource: &Resource,
    vs: &VirtualService,
    http: &'h [(usize, Cow<'_, HttpRoute>)],
    known: &Known<'_>,
    regexes: &mut Regexes,
    destination_hosts: &mut Vec<&'h str>,
) -> CompiledVs {
    let namespace = resource.namespace();
    let export = known
        .settings
        .virtual_service_export(&vs.export_to, namespace);
    let export_to = (!export.is_public()).then(|| export.namespaces().to_vec());
    // A bad annotation is a warning of validation (`validate/virtual_service.rs`) and is
    // ignored here: the routes choose at random, as Istio's would.
    let sticky = resource
        .metadata
        .annotations
        .get(sticky::ANNOTATION)
        .and_then(|value| sticky::parse(value).ok())
        .unwrap_or_default();
    let mut hosts = FxHashMap::default();
    let routes = http
        .iter()
        .map(|(index, route)| {
            let key = sticky::for_route(&sticky, &route.name);
            let context = RouteContext {
                namespace,
                sticky: key,
                known,
            };
            // Read here, with the rest of the route, rather than in a pass of its own.
            destination_hosts.extend(
                route
                    .route
                    .iter()
                    .filter_map(|d| d.destination.as_ref())
                    .chain(route.mirror.as_ref())
                    .chain(
                        route
                            .mirrors
                            .iter()
                            .flatten()
                            .filter_map(|m| m.destination.as_ref()),
                    )
                    .map(|d| d.host.as_str()),
            );
            compile_route(*index, route, &context, &mut hosts, regexes)
        })
        .collect();
    CompiledVs {
        key: resource.key().into(),
        export_to,
        routes,
    }
}

/// The sticky choice of a key: read from the request as the equivalent hash policy reads it.
fn sticky_of(key: &StickyKey) -> Sticky {
    let key_policy = match key {
        StickyKey::Header(name) => match http::HeaderName::from_bytes(name.as_bytes()) {
            Ok(name) => HashPolicy::Header { name },
            // `sticky::parse` accepts valid header names only.
            Err(_) => HashPolicy::SourceIp,
        },
        StickyKey::Cookie(name) => HashPolicy::Cookie {
            name: name.clone(),
            path: None,
            ttl: None,
        },
        StickyKey::Query(name) => HashPolicy::QueryParameter { name: name.clone() },
        StickyKey::SourceIp => HashPolicy::SourceIp,
    };
    Sticky {
        key: key_policy,
        label: key.to_string().into(),
    }
}

/// `name` in ASCII lowercase, borrowed when it is already.
fn lowercase(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

fn non_empty(s: &str) -> Option<Box<str>> {
    (!s.is_empty()).then(|| s.into())
}

/// What lowering needs of a destination host as written in one VirtualService, worked out once
/// per host: a large table names the same few hosts in every route.
struct DestinationHost {
    /// The host made fully qualified, shared by every destination that names it.
    fqdn: Arc<str>,
    /// The only port of its service, if it has one.
    service_port: Option<u16>,
    /// Whether the DestinationRule that applies to it hashes consistently.
    hashing: bool,
}

/// What every route of a VirtualService is compiled with.
struct RouteContext<'a, 'k> {
    namespace: &'a str,
    sticky: Option<&'a StickyKey>,
    known: &'a Known<'k>,
}

fn compile_route<'r>(
    index: usize,
    route: &'r HttpRoute,
    context: &RouteContext<'_, '_>,
    hosts: &mut FxHashMap<&'r str, DestinationHost>,
    regexes: &mut Regexes,
) -> CompiledRoute {
    let RouteContext {
        namespace,
        sticky,
        known,
    } = *context;
    let matches = route
        .matches
        .iter()
        .enumerate()
        .map(|(i, m)| compile_match(i, m.as_ref(), namespace, regexes))
        .collect();
    let route_response = route.headers.as_ref().and_then(|h| h.response.as_ref());
    let action = if let Some(redirect) = &route.redirect {
        Action::Redirect {
            redirect: Box::new(Redirect {
                status: redirect
                    .redirect_code
                    .filter(|c| *c != 0)
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or(301),
                uri: non_empty(&redirect.uri).map(String::from),
                prefix_rewrite: non_empty(&redirect.prefix_rewrite).map(String::from),
                authority: non_empty(&redirect.authority).map(String::from),
                scheme: non_empty(&redirect.scheme).map(String::from),
                port: redirect
                    .port
                    .filter(|p| *p != 0)
                    .and_then(|p| u16::try_from(p).ok()),
                derive_from_request: redirect.derive_port
                    == Some(RedirectPortSelection::FromRequestPort),
            }),
            response_headers: header_ops(&[route_response]),
        }
    } else if let Some(direct) = &route.direct_response {
        let body = direct
            .body
            .as_ref()
            .and_then(|b| match (&b.string, &b.bytes) {
                (Some(s), _) => Some(s.as_bytes().to_vec()),
                (None, Some(bytes)) => Some(bytes.0.clone()),
                (None, None) => None,
            });
        Action::DirectResponse {
            response: DirectResponse {
                status: u16::try_from(direct.status)
                    .ok()
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                body: body.map(bytes_like::Body),
            },
            response_headers: header_ops(&[route_response]),
        }
    } else {
        let single = route.route.len() == 1;
        let route_request = route.headers.as_ref().and_then(|h| h.request.as_ref());
        let rewrite_authority = route.rewrite.as_ref().and_then(|r| non_empty(&r.authority));
        let unset = Destination::default();
        let mut hashing = false;
        let destinations: Vec<CompiledDestination> = route
            .route
            .iter()
            .map(|d| {
                let dest = d.destination.as_ref().unwrap_or(&unset);
                let written: &'r str = d.destination.as_ref().map_or("", |d| &d.host);
                let host = hosts.entry(written).or_insert_with(|| {
                    let fqdn = host::resolve(written, namespace);
                    DestinationHost {
                        service_port: known.service_port(&fqdn),
                        hashing: known.consistent_hash(&fqdn),
                        fqdn: regexes.intern(&fqdn),
                    }
                });
                hashing |= host.hashing;
                let dest_request = d.headers.as_ref().and_then(|h| h.request.as_ref());
                let dest_response = d.headers.as_ref().and_then(|h| h.response.as_ref());
                // route.go: a single destination's operations follow the route's; weighted
                // destinations' (cluster-level) operations are applied before the route's.
                let (request_order, response_order) = if single {
                    (
                        [route_request, dest_request],
                        [route_response, dest_response],
                    )
                } else {
                    (
                        [dest_request, route_request],
                        [dest_response, route_response],
                    )
                };
                let authority = rewrite_authority
                    .clone()
                    .or_else(|| authority_of(route_request))
                    .or_else(|| authority_of(dest_request));
                let port = dest
                    .port
                    .as_ref()
                    .and_then(|p| u16::try_from(p.number).ok())
                    .filter(|p| *p != 0);
                let subset = (!dest.subset.is_empty()).then(|| regexes.intern(&dest.subset));
                CompiledDestination {
                    id: regexes.number(&host.fqdn, subset.as_ref(), port, host.service_port),
                    service_port: host.service_port,
                    port,
                    subset,
                    host: Arc::clone(&host.fqdn),
                    headers: {
                        let request = header_ops(&request_order);
                        let response = header_ops(&response_order);
                        (!request.is_empty() || !response.is_empty())
                            .then(|| Box::new(DestinationHeaders { request, response }))
                    },
                    authority,
                }
            })
            .collect();
        let weights: Vec<u32> = route
            .route
            .iter()
            .map(|d| u32::try_from(d.weight.unwrap_or(0)).unwrap_or(0))
            .collect();
        Action::Route {
            choice: WeightedChoice::new(&weights)
                .map(|choice| choice.with_sticky(sticky.map(sticky_of))),
            destinations,
            policy: {
                // A route that sets no policy of its own gets the configuration's default one
                // (retries from MeshConfig or Istio), which depends only on `hashing`: built
                // once, as `share` would share it.
                let own = route.rewrite.is_some()
                    || route.timeout.is_some()
                    || route.retries.is_some()
                    || route.fault.is_some()
                    || route.mirror.is_some()
                    || !route.mirrors.is_empty()
                    || route.cors_policy.is_some();
                let slot = usize::from(hashing);
                let default = regexes.default_policies.get(slot).and_then(Option::clone);
                match default.filter(|_| !own) {
                    Some(shared) => shared,
                    None => {
                        let policy = route_policy(
                            route,
                            namespace,
                            hashing,
                            known.settings.default_http_retry_policy(),
                            regexes,
                        );
                        let shared = regexes.share(policy);
                        if let (false, Some(default)) =
                            (own, regexes.default_policies.get_mut(slot))
                        {
                            *default = Some(Arc::clone(&shared));
                        }
                        shared
                    }
                }
            },
            response_headers: header_ops(&[route_response]),
        }
    };
    CompiledRoute {
        index,
        name: non_empty(&route.name),
        matches,
        action,
    }
}

fn string_match(m: &StringMatch, regexes: &mut Regexes) -> Option<MatchString> {
    if let Some(exact) = &m.exact {
        Some(MatchString::Exact(exact.as_str().into()))
    } else if let Some(prefix) = &m.prefix {
        Some(MatchString::Prefix(prefix.as_str().into()))
    } else if let Some(regex) = &m.regex {
        if regex == "*" {
            // route.go canBeConvertedToPresentMatch
            return Some(MatchString::Present);
        }
        // Validated already; an uncompilable pattern cannot reach here.
        regexes
            .full_match(regex)
            .map(|r| MatchString::Regex(Box::new(r)))
    } else {
        None
    }
}

fn compile_match(
    index: usize,
    m: Option<&HttpMatchRequest>,
    namespace: &str,
    regexes: &mut Regexes,
) -> CompiledMatch {
    let Some(m) = m else {
        // `match: [null]` translates to prefix `/`: a catch-all.
        return CompiledMatch {
            index,
            name: None,
            request: MatchRequest {
                uri: Some(MatchString::Prefix("/".into())),
                ..MatchRequest::default()
            },
            port: None,
            source_labels: Vec::new(),
            source_namespace: None,
            gateways: Vec::new(),
        };
    };
    let mut request = MatchRequest {
        // Kept for the life of the mesh: no spare capacity (most headers are not pseudo-headers).
        headers: Vec::with_capacity(m.headers.len() + m.without_headers.len()),
        query: Vec::with_capacity(m.query_params.len()),
        // An unset uri translates to prefix `/` (route.go TranslateRouteMatch).
        uri: Some(
            m.uri
                .as_ref()
                .and_then(|m| string_match(m, regexes))
                .unwrap_or(MatchString::Prefix("/".into())),
        ),
        ignore_uri_case: m.ignore_uri_case,
        method: m.method.as_ref().and_then(|m| string_match(m, regexes)),
        scheme: m.scheme.as_ref().and_then(|m| string_match(m, regexes)),
        authority: m.authority.as_ref().and_then(|m| string_match(m, regexes)),
        ..MatchRequest::default()
    };
    for (headers, invert) in [(&m.headers, false), (&m.without_headers, true)] {
        for (name, value) in headers {
            let matcher = value
                .as_ref()
                .and_then(|m| string_match(m, regexes))
                .unwrap_or(MatchString::Present);
            let lower = lowercase(name);
            let pseudo = match &*lower {
                ":method" => Some(Pseudo::Method),
                ":authority" | "host" => Some(Pseudo::Authority),
                ":scheme" => Some(Pseudo::Scheme),
                ":path" => Some(Pseudo::Path),
                _ if lower.starts_with(':') || lower.starts_with("@request.auth.claims") => {
                    Some(Pseudo::Unavailable)
                }
                _ => None,
            };
            let header_name = match pseudo {
                Some(_) => None,
                None => regexes.header_name(&lower),
            };
            match (pseudo, header_name) {
                (Some(pseudo), _) => request.pseudo.push(MatchPseudo {
                    pseudo,
                    matcher,
                    invert,
                }),
                (None, Some(name)) => request.headers.push(MatchHeader {
                    name,
                    matcher,
                    invert,
                }),
                (None, None) => request.pseudo.push(MatchPseudo {
                    pseudo: Pseudo::Unavailable,
                    matcher,
                    invert,
                }),
            }
        }
    }
    for (key, value) in &m.query_params {
        let matcher = value
            .as_ref()
            .and_then(|m| string_match(m, regexes))
            .unwrap_or(MatchString::Present);
        request.query.push(MatchQuery {
            key: QueryKey::new(key),
            matcher,
        });
    }
    // Kept for the life of the mesh: no spare capacity.
    request.headers.shrink_to_fit();
    request.pseudo.shrink_to_fit();
    request.query.shrink_to_fit();
    CompiledMatch {
        index,
        name: non_empty(&m.name),
        request,
        port: m
            .port
            .filter(|p| *p != 0)
            .and_then(|p| u16::try_from(p).ok()),
        // route.go sourceMatchHTTP: with `gateways` set, source labels and namespace are ignored.
        source_labels: if m.gateways.is_empty() {
            m.source_labels
                .iter()
                .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                .collect()
        } else {
            Vec::new()
        },
        source_namespace: if m.gateways.is_empty() {
            non_empty(&m.source_namespace)
        } else {
            None
        },
        gateways: m
            .gateways
            .iter()
            .map(|g| gateway_key(g, namespace).into())
            .collect(),
    }
}

fn authority_of(ops: Option<&HeaderOperations>) -> Option<Box<str>> {
    let ops = ops?;
    let find = |map: &BTreeMap<String, String>| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(":authority") || k.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.as_str().into())
    };
    find(&ops.set).or_else(|| find(&ops.add))
}

/// Merges header operation blocks in the order given: all removals, then each block's sets and
/// adds (each sorted by name, as BTreeMap iteration is). Authority and pseudo-headers are left
/// out: Istio turns the former into a host rewrite and drops the latter.
fn header_ops(blocks: &[Option<&HeaderOperations>]) -> HeaderOps {
    let mut ops = HeaderOps::default();
    // Most routes and destinations have none: nothing to walk.
    if blocks.iter().all(Option::is_none) {
        return ops;
    }
    for block in blocks.iter().flatten() {
        for name in &block.remove {
            if let Ok(name) = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) {
                ops.remove.push(name);
            }
        }
    }
    for block in blocks.iter().flatten() {
        for (map, append) in [(&block.set, false), (&block.add, true)] {
            for (name, value) in map {
                let lower = name.to_ascii_lowercase();
                if lower.starts_with(':') || lower == "host" {
                    continue;
                }
                let value = value.replace("%%", "%");
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(lower.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    ops.ops.push(HeaderOp {
                        name,
                        value,
                        append,
                    });
                }
            }
        }
    }
    ops
}

const DEFAULT_RETRY_ON: &str =
    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

/// retry.go `ConvertPolicy`, applied to the route's `retries`, else to MeshConfig's
/// `defaultHttpRetryPolicy` (route.go `applyHTTPRouteDestination`: a route's own `retries`
/// replaces the mesh default whole), else Istio's default policy.
fn retry_policy(
    route: &HttpRoute,
    hashing: bool,
    mesh_default: Option<&HttpRetry>,
) -> Option<RetryPolicy> {
    let mut policy = RetryPolicy {
        attempts: 2,
        retry_on: DEFAULT_RETRY_ON.to_owned(),
        retriable_status_codes: Vec::new(),
        per_try_timeout: None,
        // The previous_hosts predicate is left out when the route hashes.
        retry_ignore_previous_hosts: !hashing,
        retry_remote_localities: false,
        backoff: None,
        host_selection_max_attempts: 5,
    };
    let Some(retries) = route.retries.as_ref().or(mesh_default) else {
        return Some(policy);
    };
    if retries.attempts <= 0 {
        return None;
    }
    policy.attempts = u32::try_from(retries.attempts).unwrap_or(0);
    let tokens: Vec<&str> = retries
        .retry_on
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if !tokens.is_empty() {
        let mut on = Vec::new();
        for token in tokens {
            match token.parse::<u32>() {
                Ok(code) if go_status_text_known(code) => {
                    policy
                        .retriable_status_codes
                        .push(u16::try_from(code).unwrap_or(0));
                }
                _ => on.push(token),
            }
        }
        if !policy.retriable_status_codes.is_empty() && !on.contains(&"retriable-status-codes") {
            on.push("retriable-status-codes");
        }
        policy.retry_on = on.join(",");
    }
    policy.per_try_timeout = retries.per_try_timeout.and_then(|d| d.to_std());
    if !hashing {
        policy.retry_ignore_previous_hosts = retries.retry_ignore_previous_hosts.unwrap_or(true);
    }
    policy.retry_remote_localities = retries.retry_remote_localities.unwrap_or(false);
    policy.backoff = retries.backoff.and_then(|d| d.to_std());
    Some(policy)
}

fn route_policy(
    route: &HttpRoute,
    namespace: &str,
    hashing: bool,
    mesh_retries: Option<&HttpRetry>,
    regexes: &mut Regexes,
) -> RoutePolicy {
    let rewrite = route.rewrite.as_ref().and_then(|r| {
        let regex = r.uri_regex_rewrite.as_ref().and_then(|rr| {
            let pattern = regexes.rewrite(&rr.pattern)?;
            Some((pattern, envoy_replacement(&rr.rewrite)))
        });
        let uri = non_empty(&r.uri).map(String::from);
        (uri.is_some() || regex.is_some()).then_some(Rewrite { uri, regex })
    });
    let fault = route.fault.as_ref().map(|f| FaultPolicy {
        delay: f.delay.as_ref().and_then(|d| {
            let duration = d.fixed_delay?.to_std()?;
            // route.go TranslateFault: without `percentage`, the deprecated `percent` (0).
            let percent = d
                .percentage
                .map_or(f64::from(d.percent.unwrap_or(0)), |p| p.value);
            Some((duration, percent))
        }),
        abort: f.abort.as_ref().and_then(|a| {
            let kind = if let Some(status) = a.http_status {
                Abort::Http(u16::try_from(status).ok()?)
            } else {
                Abort::Grpc(a.grpc_status.clone()?)
            };
            Some((kind, a.percentage.map_or(0.0, |p| p.value)))
        }),
    });
    let mut mirrors = Vec::new();
    let mirror_of = |d: &Destination, percentage: f64| Mirror {
        host: host::resolve(&d.host, namespace),
        subset: non_empty(&d.subset).map(String::from),
        port: d
            .port
            .as_ref()
            .and_then(|p| u16::try_from(p.number).ok())
            .filter(|p| *p != 0),
        percentage,
    };
    if let Some(mirror) = &route.mirror {
        let percentage = route
            .mirror_percentage
            .map(|p| p.value)
            .or(route.mirror_percent.map(f64::from))
            .unwrap_or(100.0);
        if percentage > 0.0 {
            mirrors.push(mirror_of(mirror, percentage));
        }
    }
    for policy in route.mirrors.iter().flatten() {
        if let Some(d) = &policy.destination {
            let percentage = policy.percentage.map_or(100.0, |p| p.value);
            if percentage > 0.0 {
                mirrors.push(mirror_of(d, percentage));
            }
        }
    }
    RoutePolicy {
        rewrite,
        timeout: route.timeout.and_then(|d| d.to_std()),
        retries: retry_policy(route, hashing, mesh_retries),
        fault,
        mirrors,
        cors: route
            .cors_policy
            .as_ref()
            .map(|cors| cors_policy(cors, regexes)),
    }
}

/// route.go `TranslateCORSPolicy`: `allowOrigins` as string matchers (entries that are not a
/// valid matcher left out, as `ConvertToEnvoyMatches` leaves them out), else the deprecated
/// `allowOrigin` as exact matches; lists joined with `,`; `maxAge` in whole seconds;
/// `forwardNotMatchingPreflights` unless `unmatchedPreflights: IGNORE`.
fn cors_policy(cors: &IstioCors, regexes: &mut Regexes) -> CorsPolicy {
    let allow_origins = if cors.allow_origins.is_empty() {
        cors.allow_origin
            .iter()
            .map(|o| MatchString::Exact(o.as_str().into()))
            .collect()
    } else {
        cors.allow_origins
            .iter()
            .flatten()
            .filter_map(|m| match (&m.exact, &m.prefix, &m.regex) {
                (Some(e), _, _) => Some(MatchString::Exact(e.as_str().into())),
                (None, Some(p), _) => Some(MatchString::Prefix(p.as_str().into())),
                (None, None, Some(r)) => regexes
                    .full_match(r)
                    .map(|r| MatchString::Regex(Box::new(r))),
                (None, None, None) => None,
            })
            .collect()
    };
    CorsPolicy {
        allow_origins,
        allow_methods: cors.allow_methods.join(","),
        allow_headers: cors.allow_headers.join(","),
        expose_headers: cors.expose_headers.join(","),
        max_age: cors
            .max_age
            .and_then(|d| u64::try_from(d.as_nanos() / 1_000_000_000).ok()),
        allow_credentials: cors.allow_credentials,
        forward_unmatched_preflights: cors.unmatched_preflights
            != Some(UnmatchedPreflights::Ignore),
    }
}
