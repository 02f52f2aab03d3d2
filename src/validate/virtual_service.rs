//! Validation of `VirtualService`s: Istio's `ValidateVirtualService`
//! (`pkg/config/validation/virtualservice.go`, `pkg/config/validation/validation.go` and
//! `pkg/config/validation/agent/validation.go` in istio/istio) rule by rule, plus its
//! unreachable-rule warnings. Where a rule follows from Istio's route translation, the source is
//! `pilot/pkg/networking/core/route/route.go`.

use std::fmt::Display;

use rustc_hash::FxHashMap;

use super::common;
use super::sink::{Path, Sink};
use super::unreachable::{unreachable_rules, unreachable_tcp_rules, unreachable_tls_rules};
use crate::config::{
    CorsPolicy, Destination, HeaderOperations, Headers, HttpDirectResponse, HttpFaultInjection,
    HttpMatchRequest, HttpRedirect, HttpRetry, HttpRewrite, HttpRoute, Percent, StringMatch,
    VirtualService,
};
use crate::util::host;
use crate::util::regex::{MEMORY_BUDGET, OVERSIZED_BUDGET, Refused, SIZE_LIMIT};
use crate::util::status::{go_status_text_known, grpc_code};

/// Regexes longer than this are rejected (validation.go `validateStringRegexp`).
const MAX_REGEX_LEN: usize = 1024;
/// Direct response bodies up to this size are accepted (route.go
/// `DefaultMaxDirectResponseBodySizeBytes`); above 100 KiB a warning is given.
const MAX_DIRECT_RESPONSE_BODY: usize = 1 << 20;
const WARN_DIRECT_RESPONSE_BODY: usize = 100 << 10;

pub(crate) fn validate(sink: &mut Sink<'_>, vs: &VirtualService) {
    let is_delegate = vs.hosts.is_empty();
    if vs.http.is_empty() && vs.tcp.is_empty() && vs.tls.is_empty() {
        sink.error(
            "spec",
            "http, tcp or tls must be provided in virtual service",
        );
    }
    if is_delegate {
        if !vs.gateways.is_empty() {
            sink.error(
                "spec.gateways",
                "delegate virtual service must have no gateways specified",
            );
        }
        if !vs.tls.is_empty() {
            sink.error(
                "spec.tls",
                "delegate virtual service must have no tls route specified",
            );
        }
        if !vs.tcp.is_empty() {
            sink.error(
                "spec.tcp",
                "delegate virtual service must have no tcp route specified",
            );
        }
    }
    let applies_to_mesh = vs.gateways.is_empty() || vs.gateways.iter().any(|g| g == "mesh");
    validate_hosts(sink, vs, applies_to_mesh);
    for (i, gateway) in vs.gateways.iter().enumerate() {
        gateway_name(sink, &format_args!("spec.gateways[{i}]"), gateway);
    }
    export_to(sink, &vs.export_to);
    let mesh_gateways = applies_to_mesh.then_some(vs.gateways.as_slice());
    let mut hosts = FxHashMap::default();
    for (i, route) in vs.http.iter().enumerate() {
        validate_http_route(
            sink,
            &format_args!("spec.http[{i}]"),
            route,
            is_delegate,
            mesh_gateways,
            &mut hosts,
        );
    }
    for (i, route) in vs.tls.iter().enumerate() {
        let p = Path::index(&"spec", "tls", i);
        if route.matches.is_empty() {
            sink.error(
                format!("{p}.match"),
                "TLS route must have at least one match condition",
            );
        }
        for (j, m) in route.matches.iter().enumerate() {
            let mp = Path::index(&p, "match", j);
            if m.sni_hosts.is_empty() {
                sink.error(
                    format!("{mp}.sniHosts"),
                    "TLS match must have at least one SNI host",
                );
            }
            for (k, sni) in m.sni_hosts.iter().enumerate() {
                sni_host(sink, &format_args!("{mp}.sniHosts[{k}]"), sni, vs);
            }
            l4_match(
                sink,
                &mp,
                &m.destination_subnets,
                m.port,
                &m.source_labels,
                &m.gateways,
            );
        }
        if route.route.is_empty() {
            sink.error(format!("{p}.route"), "TLS route is required");
        }
        l4_destinations(
            sink,
            &p,
            route
                .route
                .iter()
                .map(|r| (r.destination.as_ref(), r.weight)),
        );
    }
    for (i, route) in vs.tcp.iter().enumerate() {
        let p = Path::index(&"spec", "tcp", i);
        for (j, m) in route.matches.iter().enumerate() {
            l4_match(
                sink,
                &format_args!("{p}.match[{j}]"),
                &m.destination_subnets,
                m.port,
                &m.source_labels,
                &m.gateways,
            );
        }
        if route.route.is_empty() {
            sink.error(format!("{p}.route"), "TCP route is required");
        }
        l4_destinations(
            sink,
            &p,
            route
                .route
                .iter()
                .map(|r| (r.destination.as_ref(), r.weight)),
        );
    }
    unreachable_rules(sink, &vs.http);
    unreachable_tcp_rules(sink, &vs.tcp);
    unreachable_tls_rules(sink, &vs.tls);
}

fn validate_hosts(sink: &mut Sink<'_>, vs: &VirtualService, applies_to_mesh: bool) {
    let mut all_valid = true;
    for (i, host) in vs.hosts.iter().enumerate() {
        let p = format!("spec.hosts[{i}]");
        // agent.ValidateWildcardDomain (first label may be a wildcard, the top-level domain may not
        // be all digits); an IP address is accepted instead.
        let valid =
            common::wildcard_domain(host).and_then(|()| common::numeric_top_level_domain(host));
        if let Err(why) = valid {
            if !common::is_ip_address(host) {
                sink.error(&p, why);
                all_valid = false;
            }
        } else if applies_to_mesh && host == "*" {
            sink.error(
                &p,
                "wildcard host * is not allowed for virtual services bound to the mesh gateway: name the hosts, or bind the VirtualService to a gateway only",
            );
            all_valid = false;
        }
    }
    // validation.go: "duplicate hosts in virtual service", including wildcard overlaps. Istio
    // compares the hosts as written (`host.Name.Matches`, no short-name expansion), and only when
    // every host is valid.
    if !all_valid {
        return;
    }
    for (i, a) in vs.hosts.iter().enumerate() {
        for (j, b) in vs.hosts.iter().enumerate().skip(i + 1) {
            if host::matches(a, b) {
                sink.error(
                    format!("spec.hosts[{j}]"),
                    format!("duplicate hosts in virtual service: {a} & {b}"),
                );
            }
        }
    }
}

/// validation.go `validateGatewayNames`: `mesh`, `name`, `namespace/name`, or the legacy FQDN form.
pub(crate) fn gateway_name(sink: &mut Sink<'_>, path: &dyn Display, name: &str) {
    if name == "mesh" {
        return;
    }
    match name.split_once('/') {
        None => {
            if name.contains('.') {
                let mut parts = name.split('.');
                let (gw, ns) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                sink.warn(
                    path.to_string(),
                    format!("using legacy gatewayName format {name:?}; prefer the <namespace>/<name> format: \"{ns}/{gw}\""),
                );
            }
            // A name without a namespace is checked as an FQDN (agent.ValidateFQDN).
            if let Err(why) = common::fqdn(name) {
                sink.error(path.to_string(), format!("invalid gateway name: {why}"));
            }
        }
        Some((ns, gw)) => {
            if ns.is_empty() || gw.is_empty() {
                sink.error(
                    path.to_string(),
                    "config namespace and gateway name cannot be empty",
                );
                return;
            }
            if !common::is_dns1123_label(ns) {
                sink.error(
                    path.to_string(),
                    format!("invalid value for namespace: {ns:?}"),
                );
            }
            if !common::is_dns1123_label(gw) {
                sink.error(
                    path.to_string(),
                    format!("invalid value for gateway name: {gw:?}"),
                );
            }
        }
    }
}

/// `exportTo`: `.`, `*`, `~` or namespace names; `*` cannot be mixed with others.
pub(crate) fn export_to(sink: &mut Sink<'_>, values: &[String]) {
    for (i, value) in values.iter().enumerate() {
        if !matches!(value.as_str(), "." | "*" | "~") && !common::is_dns1123_label(value) {
            sink.error(
                format!("spec.exportTo[{i}]"),
                format!("invalid exportTo value {value:?}: use \".\", \"*\" or a namespace name"),
            );
        }
        if values.iter().take(i).any(|v| v == value) {
            sink.error(
                format!("spec.exportTo[{i}]"),
                format!("duplicate entries in exportTo: {value}"),
            );
        }
    }
    if values.len() > 1 && values.iter().any(|v| v == "*") {
        sink.error(
            "spec.exportTo",
            "cannot have both public (*) and non-public exportTo values for a resource",
        );
    }
}

fn validate_http_route<'v>(
    sink: &mut Sink<'_>,
    p: &dyn Display,
    route: &'v HttpRoute,
    in_delegate: bool,
    mesh_gateways: Option<&[String]>,
    hosts: &mut FxHashMap<&'v str, Result<(), String>>,
) {
    let has_route = !route.route.is_empty();
    let has_redirect = route.redirect.is_some();
    // virtualservice.go validateHTTPRouteConflict: a root route (one that delegates, in a
    // VirtualService with hosts) is only checked for route and redirect.
    match &route.delegate {
        Some(delegate) if !in_delegate => {
            let name = route.name.as_str();
            if has_route {
                sink.error(
                    format!("{p}.route"),
                    format!("root HTTP route {name} must not specify route"),
                );
            }
            if has_redirect {
                sink.error(
                    format!("{p}.redirect"),
                    format!("root HTTP route {name} must not specify redirect"),
                );
            }
            if delegate.name.is_empty() {
                sink.error(format!("{p}.delegate.name"), "delegate name is required");
            } else if !delegate.name.split('.').all(common::is_dns1123_label) {
                sink.error(
                    format!("{p}.delegate.name"),
                    format!("invalid delegate name {:?}", delegate.name),
                );
            }
            if !delegate.namespace.is_empty() && !common::is_dns1123_label(&delegate.namespace) {
                sink.error(
                    format!("{p}.delegate.namespace"),
                    format!("invalid delegate namespace {:?}", delegate.namespace),
                );
            }
        }
        _ => route_conflicts(sink, p, route, in_delegate),
    }

    for (i, m) in route.matches.iter().enumerate() {
        if let Some(m) = m {
            validate_match(sink, &format_args!("{p}.match[{i}]"), m, mesh_gateways);
        }
    }
    destinations(sink, p, route, hosts);
    if let Some(redirect) = &route.redirect {
        validate_redirect(sink, &format_args!("{p}.redirect"), redirect, route);
    }
    if let Some(direct) = &route.direct_response {
        validate_direct_response(sink, &format_args!("{p}.directResponse"), direct);
    }
    if let Some(rewrite) = &route.rewrite {
        validate_rewrite(sink, &format_args!("{p}.rewrite"), rewrite);
    }
    if let Some(timeout) = &route.timeout {
        common::duration(sink, &format_args!("{p}.timeout"), timeout);
    }
    if let Some(retries) = &route.retries {
        validate_retries(sink, &format_args!("{p}.retries"), retries);
    }
    if let Some(fault) = &route.fault {
        validate_fault(sink, &format_args!("{p}.fault"), fault);
    }
    if let Some(cors) = &route.cors_policy {
        validate_cors(sink, &format_args!("{p}.corsPolicy"), cors);
    }
    if let Some(headers) = &route.headers {
        header_operations(sink, &format_args!("{p}.headers"), headers);
    }
    authority_set_once(sink, p, route);
    mirrors(sink, p, route);
}

/// The independent (or delegate) route half of virtualservice.go `validateHTTPRouteConflict`.
fn route_conflicts(sink: &mut Sink<'_>, p: &dyn Display, route: &HttpRoute, in_delegate: bool) {
    let has_route = !route.route.is_empty();
    if in_delegate && route.delegate.is_some() {
        sink.error(
            format!("{p}.delegate"),
            "delegate HTTP route cannot contain delegate",
        );
    }
    if route.redirect.is_some() {
        if has_route {
            sink.error(
                p.to_string(),
                "HTTP route cannot contain both route and redirect",
            );
        }
        if route.fault.is_some() {
            sink.error(
                p.to_string(),
                "HTTP route cannot contain both fault and redirect",
            );
        }
        if route.rewrite.is_some() {
            sink.error(
                p.to_string(),
                "HTTP route rule cannot contain both rewrite and redirect",
            );
        }
        if route.direct_response.is_some() {
            sink.error(
                p.to_string(),
                "HTTP route rule cannot contain both direct_response and redirect",
            );
        }
    } else if route.direct_response.is_some() {
        if has_route {
            sink.error(
                p.to_string(),
                "HTTP route cannot contain both route and direct_response",
            );
        }
        if route.fault.is_some() {
            sink.error(
                p.to_string(),
                "HTTP route cannot contain both fault and direct_response",
            );
        }
        if route.rewrite.is_some() {
            sink.error(
                p.to_string(),
                "HTTP route rule cannot contain both rewrite and direct_response",
            );
        }
    } else if !has_route {
        sink.error(
            p.to_string(),
            "HTTP route, redirect or direct_response is required",
        );
    }
    if route.mirror.is_some() && !route.mirrors.is_empty() {
        sink.error(
            p.to_string(),
            "HTTP route cannot contain both mirror and mirrors",
        );
    }
}

/// `mesh_gateways` is the VirtualService's `gateways` when it applies to sidecars (JWT claim
/// routing is then rejected), `None` when it is bound to gateways only.
fn validate_match(
    sink: &mut Sink<'_>,
    p: &dyn Display,
    m: &HttpMatchRequest,
    mesh_gateways: Option<&[String]>,
) {
    if let Some(uri) = &m.uri {
        string_match(sink, &format_args!("{p}.uri"), "uri", uri, true);
    }
    for (field, value) in [
        ("scheme", &m.scheme),
        ("method", &m.method),
        ("authority", &m.authority),
    ] {
        if let Some(value) = value {
            string_match(sink, &format_args!("{p}.{field}"), field, value, false);
        }
    }
    // virtualservice.go validateHTTPRouteMatchRequest and ValidateVirtualService's JWT check.
    let jwt_claim = |sink: &mut Sink<'_>, path: &dyn Display, name: &str| {
        if let Some(gateways) = mesh_gateways {
            if is_routing_claim(name) {
                sink.error(
                    path.to_string(),
                    format!("JWT claim based routing (key: {name}) is only supported for gateway, found no gateways: [{}]: bind the VirtualService to a gateway (not mesh)", gateways.join(" ")),
                );
            }
        }
    };
    for (name, value) in &m.headers {
        let hp = Path::key(p, "headers", name);
        if let Err(why) = match_header_name(name) {
            sink.error(hp, why);
        }
        jwt_claim(sink, &hp, name);
        match value {
            Some(value) => string_match(sink, &hp, "headers", value, false),
            None => sink.error(hp, format!("header match {name} cannot be null")),
        }
    }
    for (name, value) in &m.without_headers {
        let hp = Path::key(p, "withoutHeaders", name);
        if let Err(why) = match_header_name(name) {
            sink.error(hp, why);
        }
        jwt_claim(sink, &hp, name);
        // `*` is not a regex but the presence marker (virtualservice_test "regex without headers
        // match *" is valid); a null entry is accepted too and also means presence.
        if let Some(value) = value {
            if value.regex.as_deref() != Some("*") {
                string_match(sink, &hp, "withoutHeaders", value, false);
            }
        }
    }
    // A null query parameter is accepted by Istio (and translated to a presence match).
    for (name, value) in &m.query_params {
        if let Some(value) = value {
            string_match(
                sink,
                &format_args!("{p}.queryParams.{name}"),
                "queryParams",
                value,
                false,
            );
        }
    }
    if let Some(port) = m.port {
        if port != 0 {
            common::port(sink, &format_args!("{p}.port"), port);
        }
    }
    common::labels(sink, &format_args!("{p}.sourceLabels"), &m.source_labels);
    if !m.source_namespace.is_empty() && !common::is_dns1123_label(&m.source_namespace) {
        sink.error(
            format!("{p}.sourceNamespace"),
            format!("sourceNamespace match {} is invalid", m.source_namespace),
        );
    }
    for (i, gateway) in m.gateways.iter().enumerate() {
        gateway_name(sink, &format_args!("{p}.gateways[{i}]"), gateway);
    }
}

/// `ValidateHTTPHeaderNameOrJwtClaimRoute`: an RFC 7230 token, one of the pseudo-headers Envoy
/// matches, or a JWT claim (`@request.auth.claims.x`, `@request.auth.claims[x][y]`).
fn match_header_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("header name cannot be empty".into());
    }
    if is_routing_claim(name)
        || matches!(
            name,
            ":method" | ":scheme" | ":authority" | ":path" | ":status"
        )
        || is_token(name)
    {
        return Ok(());
    }
    Err(format!("header name {name} is not a valid header name"))
}

/// `jwt.ToRoutingClaim(name).Match`: the (case-insensitive) prefix `@request.auth.claims`
/// followed by `.claim` or `[claim]`.
fn is_routing_claim(name: &str) -> bool {
    const PREFIX: &str = "@request.auth.claims";
    let Some(rest) = name.get(PREFIX.len()..) else {
        return false;
    };
    if !name
        .get(..PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
    {
        return false;
    }
    (rest.starts_with('.') && rest.len() > 1)
        || (rest.starts_with('[') && rest.ends_with(']') && rest.len() > 2)
}

/// An RFC 7230 token (`^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$`).
pub(crate) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// `StringMatch` validity. `empty_prefix_ok` holds for `uri` only.
fn string_match(
    sink: &mut Sink<'_>,
    path: &dyn Display,
    what: &str,
    m: &StringMatch,
    empty_prefix_ok: bool,
) {
    let set = [m.exact.is_some(), m.prefix.is_some(), m.regex.is_some()]
        .iter()
        .filter(|s| **s)
        .count();
    if set > 1 {
        sink.error(
            path.to_string(),
            format!("\"{what}\": only one of exact, prefix or regex may be set"),
        );
    }
    if let Some(prefix) = &m.prefix {
        if prefix.is_empty() && !empty_prefix_ok {
            sink.error(
                format!("{path}.prefix"),
                format!("\"{what}\": prefix string match should not be empty"),
            );
        }
    }
    if let Some(regex) = &m.regex {
        regex_valid(sink, &format_args!("{path}.regex"), what, regex, true);
    }
}

/// validation.go `validateStringRegexp`: non-empty, at most 1024 characters, RE2 syntax; and
/// meshroute's limits (`util/regex.rs`): at most 4 MiB compiled, within the configuration's
/// regex budget. A match regex (`full`) is checked in the form it is compiled in, `^(?:…)$`
/// (Envoy's full match), so that a pattern valid alone but not inside the anchors (a `(?x)`
/// comment swallowing the closing parenthesis) is refused instead of compiled into nothing.
pub(crate) fn regex_valid(
    sink: &mut Sink<'_>,
    path: &dyn Display,
    what: &str,
    regex: &str,
    full: bool,
) {
    if regex.is_empty() {
        sink.error(
            path.to_string(),
            format!("\"{what}\": regex string match should not be empty"),
        );
    } else if regex.len() > MAX_REGEX_LEN {
        sink.error(
            path.to_string(),
            format!("\"{what}\": regex is too large, max length allowed is {MAX_REGEX_LEN}"),
        );
    } else {
        let checked = if full {
            sink.check_regex(&format!("^(?:{regex})$"))
        } else {
            sink.check_regex(regex)
        };
        match checked {
            Ok(()) => {}
            Err(Refused::Invalid(error)) => {
                let detail = error.to_string();
                let detail = detail.lines().last().unwrap_or(&detail).trim().to_owned();
                sink.error(
                    path.to_string(),
                    format!("\"{what}\": {detail}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"),
                );
            }
            Err(Refused::TooManyOversized) => sink.error(
                path.to_string(),
                format!("\"{what}\": regex not compiled: {OVERSIZED_BUDGET} regexes before it in this configuration exceed the size limit of {SIZE_LIMIT} bytes, and meshroute compiles no more regexes after that many; shorten or remove the oversized regexes"),
            ),
            Err(Refused::MemorySpent) => sink.error(
                path.to_string(),
                format!("\"{what}\": regex not compiled: the regexes before it in this configuration already take {} MiB compiled, meshroute's budget for one configuration; use exact or prefix matches, or simpler regexes", MEMORY_BUDGET >> 20),
            ),
        }
    }
}

/// The route destinations of one route; `hosts` holds what [`destination_host`] says of each host
/// checked before in the VirtualService (a large table names the same few in every route).
fn destinations<'v>(
    sink: &mut Sink<'_>,
    p: &dyn Display,
    route: &'v HttpRoute,
    hosts: &mut FxHashMap<&'v str, Result<(), String>>,
) {
    let mut total: i64 = 0;
    for (i, dest) in route.route.iter().enumerate() {
        let dp = Path::index(p, "route", i);
        match &dest.destination {
            None => sink.error(format!("{dp}.destination"), "destination is required"),
            Some(d) => {
                let host = hosts
                    .entry(&d.host)
                    .or_insert_with(|| destination_host(&d.host));
                destination_with(sink, &format_args!("{dp}.destination"), d, host);
            }
        }
        let weight = dest.weight.unwrap_or(0);
        if weight < 0 {
            sink.error(format!("{dp}.weight"), format!("weight {weight} < 0"));
        }
        // validation.go sums the raw weights: a negative weight is reported once, above.
        total += i64::from(weight);
        if let Some(headers) = &dest.headers {
            header_operations(sink, &format_args!("{dp}.headers"), headers);
        }
    }
    if route.route.len() > 1 && total == 0 {
        sink.error(
            format!("{p}.route"),
            "total destination weight = 0: give at least one destination a positive weight",
        );
    }
    if total > i64::from(u32::MAX) {
        sink.error(
            format!("{p}.route"),
            format!(
                "total destination weight {total} is larger than Envoy accepts ({})",
                u32::MAX
            ),
        );
    }
}

/// validation.go `validateDestination`.
pub(crate) fn destination(sink: &mut Sink<'_>, p: &dyn Display, d: &Destination) {
    destination_with(sink, p, d, &destination_host(&d.host));
}

/// What is wrong with a destination host, if anything: agent.ValidateWildcardDomain, with no
/// exception for IP addresses (`10.0.0.1` fails on its all-numeric top-level domain).
fn destination_host(host: &str) -> Result<(), String> {
    if host == "*" {
        Err("invalid destination host *".to_owned())
    } else if host.is_empty() {
        Err("empty domain name not allowed: the destination host is required".to_owned())
    } else {
        common::wildcard_domain(host).and_then(|()| common::numeric_top_level_domain(host))
    }
}

/// [`destination`], its host already checked (`host`: what [`destination_host`] says).
fn destination_with(
    sink: &mut Sink<'_>,
    p: &dyn Display,
    d: &Destination,
    host: &Result<(), String>,
) {
    if let Err(why) = host {
        sink.error(format!("{p}.host"), why.as_str());
    }
    if !d.subset.is_empty() && !common::is_dns1123_label(&d.subset) {
        sink.error(
            format!("{p}.subset"),
            format!(
                "subset name is invalid: {} (letters, digits and '-', at most 63)",
                d.subset
            ),
        );
    }
    if let Some(port) = &d.port {
        common::port(sink, &format_args!("{p}.port.number"), port.number);
    }
}

fn header_operations(sink: &mut Sink<'_>, p: &dyn Display, headers: &Headers) {
    if let Some(request) = &headers.request {
        operations(sink, &format_args!("{p}.request"), request, true);
    }
    if let Some(response) = &headers.response {
        operations(sink, &format_args!("{p}.response"), response, false);
    }
}

fn operations(sink: &mut Sink<'_>, p: &dyn Display, ops: &HeaderOperations, request: bool) {
    for (op, map) in [("set", &ops.set), ("add", &ops.add)] {
        for (name, value) in map {
            let hp = Path::key(p, op, name);
            if name.is_empty() {
                sink.error(hp, "header name cannot be empty");
            } else if request
                && (name.eq_ignore_ascii_case(":authority") || name.eq_ignore_ascii_case("host"))
            {
                // Allowed: becomes a host rewrite (route.go TranslateHeadersOperations).
            } else if name.starts_with(':') {
                sink.error(
                    hp,
                    format!("invalid header {name:?}: header cannot have \":\" prefix"),
                );
            } else if !request && name.eq_ignore_ascii_case("host") {
                sink.error(
                    hp,
                    format!("invalid header {name:?}: cannot set Host header"),
                );
            } else if !is_token(name) {
                sink.error(hp, format!("header name {name} is not a valid header name"));
            }
            if let Err(why) = header_value(value) {
                sink.error(hp, why);
            }
        }
    }
    for (i, name) in ops.remove.iter().enumerate() {
        let hp = Path::index(p, "remove", i);
        if name.is_empty() {
            sink.error(hp, "header name cannot be empty");
        } else if name.eq_ignore_ascii_case("host") {
            sink.error(
                hp,
                format!("invalid header {name:?}: cannot set Host header"),
            );
        } else if name.starts_with(':') {
            sink.error(
                hp,
                format!("invalid header {name:?}: header cannot have \":\" prefix"),
            );
        } else if !is_token(name) {
            sink.error(hp, format!("header name {name} is not a valid header name"));
        }
    }
}

/// Envoy header value syntax (validation.go `ValidateHTTPHeaderValue`): no control characters, and
/// `%` either doubled (`%%`) or opening a `%COMMAND%` / `%COMMAND(arg)%` operator.
fn header_value(value: &str) -> Result<(), String> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "header value configuration {value:?} is invalid: control characters are not allowed"
        ));
    }
    let bytes = value.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'%') {
            i += 2;
            continue;
        }
        let rest = bytes.get(i + 1..).unwrap_or_default();
        let Some(end) = rest.iter().position(|&c| c == b'%') else {
            return Err(format!(
                "header value configuration {value:?} is invalid: write a literal % as %%"
            ));
        };
        let operator = rest.get(..end).unwrap_or_default();
        let name_len = operator
            .iter()
            .position(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_'))
            .unwrap_or(operator.len());
        let tail = operator.get(name_len..).unwrap_or_default();
        let valid_tail = tail.is_empty() || (tail.first() == Some(&b'(') && tail.contains(&b')'));
        if name_len == 0 || !operator.first().is_some_and(u8::is_ascii_uppercase) || !valid_tail {
            return Err(format!(
                "header value configuration {value:?} is invalid: write a literal % as %%"
            ));
        }
        i += end + 2;
    }
    Ok(())
}

/// validation.go: "authority header cannot be set multiple times".
fn authority_set_once(sink: &mut Sink<'_>, p: &dyn Display, route: &HttpRoute) {
    let mut have: Option<String> = None;
    let mut check = |sink: &mut Sink<'_>, path: String, value: &str| {
        if let Some(previous) = &have {
            sink.error(
                path.to_string(),
                format!("authority header cannot be set multiple times: have {previous:?}, attempting to set {value:?}"),
            );
        } else {
            have = Some(value.to_owned());
        }
    };
    if let Some(rewrite) = &route.rewrite {
        if !rewrite.authority.is_empty() {
            check(sink, format!("{p}.rewrite.authority"), &rewrite.authority);
        }
    }
    if let Some(request) = route.headers.as_ref().and_then(|h| h.request.as_ref()) {
        for (op, map) in [("set", &request.set), ("add", &request.add)] {
            for (name, value) in map {
                if name.eq_ignore_ascii_case(":authority") || name.eq_ignore_ascii_case("host") {
                    check(sink, format!("{p}.headers.request.{op}.{name}"), value);
                }
            }
        }
    }
}

fn mirrors(sink: &mut Sink<'_>, p: &dyn Display, route: &HttpRoute) {
    if let Some(mirror) = &route.mirror {
        destination(sink, &format_args!("{p}.mirror"), mirror);
    }
    if let Some(Percent { value }) = route.mirror_percentage {
        if value > 100.0 {
            sink.error(
                format!("{p}.mirrorPercentage.value"),
                format!("mirror_percentage must have a max value of 100 (it has {value})"),
            );
        } else if value < 0.0 {
            sink.error(
                format!("{p}.mirrorPercentage.value"),
                format!("mirror_percentage must have a min value of 0 (it has {value})"),
            );
        }
    }
    if let Some(percent) = route.mirror_percent {
        sink.warn(
            format!("{p}.mirrorPercent"),
            "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead",
        );
        if percent > 100 {
            sink.error(
                format!("{p}.mirrorPercent"),
                format!("mirror_percent must have a max value of 100 (it has {percent})"),
            );
        }
    }
    for (i, mirror) in route.mirrors.iter().enumerate() {
        let mp = Path::index(p, "mirrors", i);
        let Some(mirror) = mirror else {
            sink.error(mp, "mirror cannot be null");
            continue;
        };
        match &mirror.destination {
            None => sink.error(
                format!("{mp}.destination"),
                "destination is required for mirrors",
            ),
            Some(d) => destination(sink, &format_args!("{mp}.destination"), d),
        }
        if let Some(Percent { value }) = mirror.percentage {
            if value > 100.0 {
                sink.error(
                    format!("{mp}.percentage.value"),
                    format!("mirror percentage must have a max value of 100 (it has {value})"),
                );
            } else if value < 0.0 {
                sink.error(
                    format!("{mp}.percentage.value"),
                    format!("mirror percentage must have a min value of 0 (it has {value})"),
                );
            }
        }
    }
}

fn validate_redirect(sink: &mut Sink<'_>, p: &dyn Display, r: &HttpRedirect, route: &HttpRoute) {
    if !r.uri.is_empty() && !r.prefix_rewrite.is_empty() {
        sink.error(
            p.to_string(),
            "redirect may only specify one of uri or prefix_rewrite",
        );
    }
    if !r.prefix_rewrite.is_empty() {
        let all_prefix = route
            .matches
            .iter()
            .flatten()
            .all(|m| m.uri.as_ref().is_none_or(|u| u.prefix.is_some()));
        if !all_prefix {
            sink.error(
                format!("{p}.prefixRewrite"),
                "redirect prefix_rewrite requires all URI matches to use prefix match type",
            );
        }
    }
    if r.uri.is_empty()
        && r.prefix_rewrite.is_empty()
        && r.authority.is_empty()
        && r.scheme.is_empty()
        && r.port.is_none_or(|p| p == 0)
        && r.derive_port.is_none()
    {
        sink.error(
            p.to_string(),
            "redirect must specify URI, authority, scheme, or port",
        );
    }
    if let Some(code) = r.redirect_code {
        if code != 0 && !(300..=399).contains(&code) {
            sink.error(
                format!("{p}.redirectCode"),
                format!("{code} is not a valid redirect code, must be 3xx"),
            );
        } else if code != 0 && !matches!(code, 301 | 302 | 303 | 307 | 308) {
            // route.go ApplyRedirect: other 3xx codes pass validation but the route gets no action.
            sink.warn(
                format!("{p}.redirectCode"),
                format!("redirect code {code} passes Istio's validation but Envoy only redirects with 301, 302, 303, 307 or 308: the route is left without an action"),
            );
        }
    }
    if !r.scheme.is_empty() && r.scheme != "http" && r.scheme != "https" {
        sink.error(
            format!("{p}.scheme"),
            "invalid redirect scheme, must be \"http\" or \"https\"",
        );
    }
    if let Some(port) = r.port {
        if port > 65535 {
            common::port(sink, &format_args!("{p}.port"), port);
        }
    }
}

fn validate_direct_response(sink: &mut Sink<'_>, p: &dyn Display, d: &HttpDirectResponse) {
    // validation.go: 200 <= status <= 600 (the message says 599, 600 is accepted).
    if !(200..=600).contains(&d.status) {
        sink.error(
            format!("{p}.status"),
            format!("HTTP status {} is not in range 200-599", d.status),
        );
    }
    if let Some(body) = &d.body {
        if body.string.is_some() && body.bytes.is_some() {
            sink.error(
                format!("{p}.body"),
                "only one of string or bytes may be set",
            );
        }
        let size = body.string.as_ref().map_or(0, String::len)
            + body.bytes.as_ref().map_or(0, |b| b.0.len() / 4 * 3);
        if size > MAX_DIRECT_RESPONSE_BODY {
            sink.error(
                format!("{p}.body"),
                format!("large direct_responses may impact control plane performance, must be less than 1MB (the body is {size} bytes)"),
            );
        } else if size > WARN_DIRECT_RESPONSE_BODY {
            sink.warn(
                format!("{p}.body"),
                "large direct_responses may impact control plane performance",
            );
        }
    }
}

fn validate_rewrite(sink: &mut Sink<'_>, p: &dyn Display, r: &HttpRewrite) {
    if !r.uri.is_empty() && r.uri_regex_rewrite.is_some() {
        sink.error(
            p.to_string(),
            "rewrite may only contain one of URI or UriRegexRewrite",
        );
    }
    if r.uri.is_empty() && r.uri_regex_rewrite.is_none() && r.authority.is_empty() {
        sink.error(p.to_string(), "rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or UriRegexRewrite may be specified");
    }
    if let Some(regex) = &r.uri_regex_rewrite {
        if regex.pattern.is_empty() || regex.rewrite.is_empty() {
            sink.error(
                format!("{p}.uriRegexRewrite"),
                "UriRegexRewrite requires both Rewrite and Match fields to be specified",
            );
        } else {
            regex_valid(
                sink,
                &format_args!("{p}.uriRegexRewrite.match"),
                "HTTPRewrite.UriRegexRewrite.Match",
                &regex.pattern,
                false,
            );
        }
    }
}

/// Envoy retry policies Istio accepts (agent/validation.go `supportedRetryOnPolicies`).
const RETRY_ON: [&str; 16] = [
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "envoy-ratelimited",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

fn validate_retries(sink: &mut Sink<'_>, p: &dyn Display, r: &HttpRetry) {
    if r.attempts < 0 {
        sink.error(format!("{p}.attempts"), "attempts cannot be negative");
    }
    if r.attempts == 0
        && (r.per_try_timeout.is_some()
            || !r.retry_on.is_empty()
            || r.retry_remote_localities.is_some())
    {
        sink.error(p.to_string(), "http retry policy configured when attempts are set to 0 (disabled): set attempts, or remove the policy");
    }
    if let Some(timeout) = &r.per_try_timeout {
        common::duration(sink, &format_args!("{p}.perTryTimeout"), timeout);
    }
    if let Some(backoff) = &r.backoff {
        common::duration(sink, &format_args!("{p}.backoff"), backoff);
    }
    if !r.retry_on.is_empty() {
        // Tokens are not trimmed at validation time (agent/validation.go).
        for token in r.retry_on.split(',') {
            let known =
                RETRY_ON.contains(&token) || token.parse::<u32>().is_ok_and(go_status_text_known);
            if !known {
                sink.error(
                    format!("{p}.retryOn"),
                    format!("{token:?} is not a valid retryOn policy"),
                );
            }
        }
    }
}

fn fault_percentage(sink: &mut Sink<'_>, path: String, percentage: Option<Percent>) {
    if let Some(Percent { value }) = percentage {
        if value != 0.0 && !(0.0001..=100.0).contains(&value) {
            sink.error(
                path.to_string(),
                format!("percentage {value} is neither 0.0, nor in range [0.0001, 100.0]"),
            );
        }
    }
}

fn validate_fault(sink: &mut Sink<'_>, p: &dyn Display, f: &HttpFaultInjection) {
    if f.abort.is_none() && f.delay.is_none() {
        sink.error(
            p.to_string(),
            "HTTP fault injection must have an abort and/or a delay",
        );
    }
    if let Some(abort) = &f.abort {
        let ap = Path::field(p, "abort");
        fault_percentage(sink, format!("{ap}.percentage.value"), abort.percentage);
        if let Some(status) = abort.http_status {
            if !(200..=600).contains(&status) {
                sink.error(
                    format!("{ap}.httpStatus"),
                    format!("HTTP status {status} is not in range 200-599"),
                );
            }
        }
        if let Some(grpc) = &abort.grpc_status {
            if grpc_code(grpc).is_none() {
                sink.error(
                    format!("{ap}.grpcStatus"),
                    format!("gRPC status {grpc:?} is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md"),
                );
            }
        }
        if abort.http2_error.is_some() {
            sink.error(
                format!("{ap}.http2Error"),
                "HTTP/2 abort fault injection not supported yet",
            );
        }
        if abort.http_status.is_none() && abort.grpc_status.is_none() && abort.http2_error.is_none()
        {
            sink.warn(
                ap,
                "abort configured, but error type not set: set httpStatus or grpcStatus",
            );
        }
    }
    if let Some(delay) = &f.delay {
        let dp = Path::field(p, "delay");
        fault_percentage(sink, format!("{dp}.percentage.value"), delay.percentage);
        // Istio does not validate the deprecated integer `percent`; Envoy treats values above 100
        // as 100%.
        if let Some(percent) = delay.percent {
            if !(0..=100).contains(&percent) {
                sink.warn(
                    format!("{dp}.percent"),
                    format!("percentage {percent} is not in range 0..100"),
                );
            }
        }
        if let Some(exponential) = &delay.exponential_delay {
            common::duration(sink, &format_args!("{dp}.exponentialDelay"), exponential);
            sink.error(
                format!("{dp}.exponentialDelay"),
                "exponentialDelay not supported yet",
            );
        }
        if let Some(fixed) = &delay.fixed_delay {
            common::duration(sink, &format_args!("{dp}.fixedDelay"), fixed);
        }
    }
}

/// validation.go `supportedCORSMethods`: Go's method names, and `*`.
const HTTP_METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*",
];

fn validate_cors(sink: &mut Sink<'_>, p: &dyn Display, c: &CorsPolicy) {
    for (i, origin) in c.allow_origins.iter().enumerate() {
        let op = Path::index(p, "allowOrigins", i);
        // validation.go validateAllowOrigins: the value must be non-empty; a regex must compile.
        let value = origin
            .as_ref()
            .and_then(|m| m.exact.as_ref().or(m.prefix.as_ref()).or(m.regex.as_ref()));
        match value {
            Some(value) if !value.is_empty() => {
                if let Some(regex) = origin.as_ref().and_then(|m| m.regex.as_ref()) {
                    regex_valid(
                        sink,
                        &format_args!("{op}.regex"),
                        "corsPolicy.allowOrigins",
                        regex,
                        true,
                    );
                }
            }
            _ => sink.error(op, "'' is not a valid match type for CORS allow origins"),
        }
    }
    for (i, method) in c.allow_methods.iter().enumerate() {
        if !HTTP_METHODS.contains(&method.as_str()) {
            sink.error(
                format!("{p}.allowMethods[{i}]"),
                format!("{method:?} is not a supported HTTP method"),
            );
        }
    }
    for (field, list) in [
        ("allowHeaders", &c.allow_headers),
        ("exposeHeaders", &c.expose_headers),
    ] {
        for (i, name) in list.iter().enumerate() {
            if name.is_empty() {
                sink.error(format!("{p}.{field}[{i}]"), "header name cannot be empty");
            } else if name != "*" && !is_token(name) {
                sink.error(
                    format!("{p}.{field}[{i}]"),
                    format!("header name {name} is not a valid header name"),
                );
            }
        }
    }
    if let Some(max_age) = &c.max_age {
        common::duration(sink, &format_args!("{p}.maxAge"), max_age);
        if max_age.as_nanos() % 1_000_000_000 != 0 {
            sink.error(
                format!("{p}.maxAge"),
                "max_age duration is accurate only to seconds precision",
            );
        }
    }
}

/// validation.go `validateTLSMatch` / `validateTCPMatch`: subnets, port, source labels and
/// gateway names of an L4 match.
fn l4_match(
    sink: &mut Sink<'_>,
    p: &dyn Display,
    subnets: &[String],
    port: Option<u32>,
    labels: &std::collections::BTreeMap<String, String>,
    gateways: &[String],
) {
    for (k, subnet) in subnets.iter().enumerate() {
        if let Err(why) = common::ip_subnet(subnet) {
            sink.error(format!("{p}.destinationSubnets[{k}]"), why);
        }
    }
    if let Some(port) = port.filter(|p| *p != 0) {
        common::port(sink, &format_args!("{p}.port"), port);
    }
    common::labels(sink, &format_args!("{p}.sourceLabels"), labels);
    for (k, gateway) in gateways.iter().enumerate() {
        gateway_name(sink, &format_args!("{p}.gateways[{k}]"), gateway);
    }
}

/// validation.go `validateSniHost`: a (wildcard) domain — an IP is only warned about — that is a
/// subset of one of the VirtualService's hosts as written (host/name.go `SubsetOf`). A
/// VirtualService not bound to `mesh` also accepts `AUTO_PASSTHROUGH` cluster names
/// (`outbound_.PORT_.SUBSET_.HOST`, agent `ValidateWildcardDomainForVirtualServiceBoundToGateway`).
fn sni_host(sink: &mut Sink<'_>, p: &dyn Display, sni: &str, vs: &VirtualService) {
    let is_gateway = !vs.gateways.iter().any(|g| g == "mesh");
    if is_gateway && sni.starts_with("outbound_") {
        return;
    }
    let valid = common::wildcard_domain(sni).and_then(|()| common::numeric_top_level_domain(sni));
    if let Err(why) = valid {
        if common::is_ip_address(sni) {
            sink.warn(
                p.to_string(),
                format!(
                    "using an IP address ({sni:?}) goes against SNI spec and most clients do not support this"
                ),
            );
        } else {
            sink.error(p.to_string(), why);
        }
        return;
    }
    if !vs.hosts.iter().any(|h| sni_subset_of(sni, h)) {
        sink.error(
            p.to_string(),
            format!(
                "SNI host {sni:?} is not a compatible subset of any of the virtual service hosts: [{}]",
                vs.hosts.join(", ")
            ),
        );
    }
}

/// host/name.go `SubsetOf`: every name `sni` matches is matched by `host`.
fn sni_subset_of(sni: &str, host: &str) -> bool {
    match (sni.strip_prefix('*'), host.strip_prefix('*')) {
        (Some(s), Some(h)) => sni.len() >= host.len() && s.ends_with(h),
        (Some(_), None) => false,
        (None, Some(h)) => sni.ends_with(h),
        (None, None) => sni == host,
    }
}

fn l4_destinations<'a>(
    sink: &mut Sink<'_>,
    p: &dyn Display,
    routes: impl Iterator<Item = (Option<&'a Destination>, Option<i32>)>,
) {
    let mut total = 0i64;
    let mut count = 0;
    for (i, (dest, weight)) in routes.enumerate() {
        count += 1;
        let dp = Path::index(p, "route", i);
        match dest {
            None => sink.error(format!("{dp}.destination"), "destination is required"),
            Some(d) => destination(sink, &format_args!("{dp}.destination"), d),
        }
        let weight = weight.unwrap_or(0);
        if weight < 0 {
            sink.error(format!("{dp}.weight"), format!("weight {weight} < 0"));
        }
        total += i64::from(weight.max(0));
    }
    if count > 1 && total == 0 {
        sink.error(format!("{p}.route"), "total destination weight = 0");
    }
}
