//! What a configuration change does to requests: each request decided on both sides, and the
//! ones whose route, destinations, traffic shares, rewrite, redirect or policies changed.
//!
//! Weighted destinations are compared as shares (the route's weights), not as one random draw,
//! so that "v2: 5% → 25%" shows whatever the seed. Without a request file, [`generate`] writes
//! the requests from both configurations' match conditions: one that meets each match of each
//! route, one that misses each condition of it, and the host's default request.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use serde::Serialize;

use super::request::{InvalidRequest, SimRequest, known_gateway};
use super::simulation::{Prepared, Simulation};
use crate::config::{Body, HttpMatchRequest, Resource, StringMatch};
use crate::route::report::DecisionReport;
use crate::util::gateways::bound_gateways;
use crate::util::rng::FastRng;

/// One destination of a decision's traffic split.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub struct Share {
    /// The fully qualified host.
    pub host: String,
    /// The subset.
    pub subset: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// Its weight.
    pub weight: u64,
    /// The total of the route's weights.
    pub total: u64,
}

impl Share {
    /// The share as a percentage (`5`, `33.3`).
    pub fn percent(&self) -> String {
        let tenths = (self.weight * 1000 + self.total / 2)
            .checked_div(self.total)
            .unwrap_or(0);
        if tenths % 10 == 0 {
            format!("{}%", tenths / 10)
        } else {
            format!("{}.{}%", tenths / 10, tenths % 10)
        }
    }

    fn name(&self) -> String {
        let mut name = self.host.clone();
        if let Some(port) = self.port {
            let _ = write!(name, ":{port}");
        }
        if let Some(subset) = &self.subset {
            let _ = write!(name, " {subset}");
        }
        name
    }
}

/// What one side decided for a request, as `diff` compares it: the decision without the
/// endpoint the balancer drew, and the traffic split instead of the destination drawn.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Behaviour {
    /// The decision (its `endpoint` and `destination` left out: see `split`).
    pub decision: DecisionReport,
    /// Every destination the route can send the request to, with its weight.
    pub split: Vec<Share>,
}

impl Behaviour {
    /// `VirtualService default/svc-b http[1].match[0]` (with route and match names when set),
    /// or what answered without a route.
    pub fn route_name(&self) -> String {
        self.decision.route_name()
    }

    /// What Envoy answers itself, in words: a redirect, a direct response, a local status.
    fn answer(&self) -> String {
        let d = &self.decision;
        if let Some(r) = &d.redirect {
            return format!("redirect {} {}", r.status.unwrap_or(301), r.location);
        }
        if let Some(r) = &d.direct_response {
            return format!("direct response {}", r.status);
        }
        match d.local_status {
            Some(status) => format!("{} ({status})", d.action),
            None => d.action.clone(),
        }
    }

    fn split_text(&self) -> String {
        if self.split.is_empty() {
            return match self.decision.local_status {
                Some(status) => format!("{} ({status})", self.decision.action),
                None => self.decision.action.clone(),
            };
        }
        // `host:port v1 5%, v2 95%`: the host once for consecutive shares of one host.
        let mut text = String::new();
        let mut previous: Option<(&str, Option<u16>)> = None;
        for share in &self.split {
            let place = (share.host.as_str(), share.port);
            if previous == Some(place) {
                text.push_str(", ");
            } else {
                if previous.is_some() {
                    text.push_str("; ");
                }
                text.push_str(&share.host);
                if let Some(port) = share.port {
                    let _ = write!(text, ":{port}");
                }
                text.push(' ');
            }
            if let Some(subset) = &share.subset {
                let _ = write!(text, "{subset} ");
            }
            text.push_str(&share.percent());
            previous = Some(place);
        }
        text
    }
}

/// A change of behaviour, with the first request that showed it and how many did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// The first request that showed it, in words
    /// (`GET http://svc-b:8080/greet?name=xx (sidecar in default)`).
    pub request: String,
    /// How many requests showed exactly this change (a replayed log repeats requests).
    pub count: u64,
    /// What changed: `route`, `destination`, `weights`, `rewrite`, `redirect`, `policy`.
    pub changed: Vec<&'static str>,
    /// The old side's behaviour.
    pub old: Behaviour,
    /// The new side's behaviour.
    pub new: Behaviour,
}

impl Change {
    /// The lines that say what changed, one per aspect.
    pub fn details(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for aspect in &self.changed {
            match *aspect {
                "route" => lines.push(format!(
                    "route: {} → {}",
                    self.old.route_name(),
                    self.new.route_name()
                )),
                "destination" => lines.push(format!(
                    "destination: {} → {}",
                    self.old.split_text(),
                    self.new.split_text()
                )),
                "weights" => {
                    for (old, new) in self.old.split.iter().zip(&self.new.split) {
                        if old.percent() != new.percent() {
                            lines.push(format!(
                                "{}: {} → {}",
                                old.name(),
                                old.percent(),
                                new.percent()
                            ));
                        }
                    }
                }
                "rewrite" => lines.push(format!(
                    "rewrite: {} → {}",
                    value(&self.old.decision.rewrite),
                    value(&self.new.decision.rewrite)
                )),
                "redirect" => lines.push(format!(
                    "answer: {} → {}",
                    self.old.answer(),
                    self.new.answer()
                )),
                "policy" => {
                    let (o, n) = (&self.old.decision, &self.new.decision);
                    for (name, old, new) in [
                        ("headers", value(&o.headers), value(&n.headers)),
                        ("timeout", value(&o.timeout), value(&n.timeout)),
                        ("retries", value(&o.retries), value(&n.retries)),
                        ("fault", value(&o.fault), value(&n.fault)),
                        ("mirrors", value(&o.mirrors), value(&n.mirrors)),
                    ] {
                        if old != new {
                            lines.push(format!("{name}: {old} → {new}"));
                        }
                    }
                }
                other => lines.push(format!("{other} changed")),
            }
        }
        lines
    }
}

/// The result of comparing two configurations over a set of requests.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Diff {
    /// How many requests were decided on both sides.
    pub requests: usize,
    /// The requests whose behaviour changed, grouped by the old side's route (in order).
    pub changes: Vec<Change>,
    /// Requests that could not be decided (`(request, why)`), on either side.
    pub skipped: Vec<(String, String)>,
    /// What the change does to the users of sticky routes, when asked for
    /// ([`sticky_users`](super::sticky_users); `meshroute diff --sticky-users N`).
    #[serde(rename = "stickyUsers", skip_serializing_if = "Vec::is_empty")]
    pub sticky_users: Vec<super::sticky::StickyUsers>,
}

impl Diff {
    /// How many requests changed behaviour.
    pub fn changed(&self) -> u64 {
        self.changes.iter().map(|c| c.count).sum()
    }

    /// The changes grouped by the route that answered on the old side, in order.
    pub fn groups(&self) -> BTreeMap<String, Vec<&Change>> {
        let mut groups: BTreeMap<String, Vec<&Change>> = BTreeMap::new();
        for change in &self.changes {
            groups
                .entry(change.old.route_name())
                .or_default()
                .push(change);
        }
        groups
    }

    /// The report as Markdown, for a pull-request comment.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "**meshroute diff**: {} request(s) compared, {} changed.\n",
            self.requests,
            self.changed()
        );
        for (route, changes) in self.groups() {
            let _ = writeln!(out, "#### {route}\n");
            let _ = writeln!(out, "| request | requests | change |\n|---|---|---|");
            for change in changes {
                let details = change.details().join("<br>");
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} |",
                    change.request.replace('|', "\\|"),
                    change.count,
                    details.replace('|', "\\|")
                );
            }
            out.push('\n');
        }
        for users in &self.sticky_users {
            let _ = writeln!(
                out,
                "#### Sticky users of {} (`{}`)\n\n{} of {} users move.\n\n| from | to | users |\n|---|---|---|",
                users.route,
                users.key,
                users.moved(),
                users.users
            );
            for (from, to, n) in &users.moves {
                let _ = writeln!(out, "| {from} | {to} | {n} |");
            }
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (route, changes) in self.groups() {
            writeln!(f, "{route}:")?;
            for change in changes {
                let more = match change.count {
                    1 => String::new(),
                    n => format!(" (and {} more request(s) alike)", n - 1),
                };
                writeln!(f, "  {}{more}", change.request)?;
                for line in change.details() {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        for (request, why) in &self.skipped {
            writeln!(f, "skipped {request}: {why}")?;
        }
        for users in &self.sticky_users {
            writeln!(f, "{users}")?;
        }
        write!(
            f,
            "{} request(s) compared, {} changed",
            self.requests,
            self.changed()
        )
    }
}

/// Decides every request on both sides (seed 0 for both: the same draw) and reports the
/// changes of behaviour, each once with the first request that showed it and a count: memory
/// grows with the distinct changes, not with the requests, so a long log streams through.
///
/// ```
/// use meshroute::sim::{SimRequest, Simulation, diff};
///
/// let rules = |v2: u32| format!("apiVersion: networking.istio.io/v1
/// kind: VirtualService
/// metadata: {{name: svc-b, namespace: default}}
/// spec:
///   hosts: [svc-b.default.svc.cluster.local]
///   http:
///   - route:
///     - {{destination: {{host: svc-b.default.svc.cluster.local, subset: v1}}, weight: {}}}
///     - {{destination: {{host: svc-b.default.svc.cluster.local, subset: v2}}, weight: {v2}}}
/// ", 100 - v2);
/// let old = Simulation::from_yaml(&rules(5)).unwrap();
/// let new = Simulation::from_yaml(&rules(25)).unwrap();
/// let request = SimRequest::get("http://svc-b.default.svc.cluster.local/");
/// let report = diff(&old, &new, [request]);
/// assert_eq!(report.changed(), 1);
/// assert_eq!(report.changes[0].changed, ["weights"]);
/// assert_eq!(report.changes[0].details()[0], "svc-b.default.svc.cluster.local:80 v1: 95% → 75%");
/// ```
pub fn diff(
    old: &Simulation,
    new: &Simulation,
    requests: impl IntoIterator<Item = SimRequest>,
) -> Diff {
    let mut result = Diff::default();
    let mut known: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for request in requests {
        let described = describe(&request);
        let sides = behaviour(old, &request).and_then(|o| Ok((o, behaviour(new, &request)?)));
        let (old, new) = match sides {
            Ok(sides) => sides,
            Err(error) => {
                result.skipped.push((described, error.to_string()));
                continue;
            }
        };
        result.requests += 1;
        let changed = compare(&old, &new);
        if changed.is_empty() {
            continue;
        }
        let key = serde_json::to_string(&(&old, &new)).unwrap_or_default();
        if let Some(change) = known.get(&key).and_then(|&i| result.changes.get_mut(i)) {
            change.count += 1;
            continue;
        }
        known.insert(key, result.changes.len());
        result.changes.push(Change {
            request: described,
            count: 1,
            changed,
            old,
            new,
        });
    }
    result
}

/// What `sim` decides for `request`, as compared.
fn behaviour(sim: &Simulation, request: &SimRequest) -> Result<Behaviour, InvalidRequest> {
    let source = request.source();
    known_gateway(sim.mesh(), &source)?;
    let mut rng = FastRng::from_seed(0);
    let (mut decision, split) = match Prepared::of(request)? {
        Prepared::Http(http) => {
            let decision = sim.mesh().route_with(&http, &source, &mut rng);
            let split = decision
                .split()
                .into_iter()
                .map(|(d, weight, total)| Share {
                    host: d.host.to_owned(),
                    subset: d.subset.map(str::to_owned),
                    port: d.port,
                    weight,
                    total,
                })
                .collect();
            (decision.report(), split)
        }
        Prepared::Connection(connection) => {
            let report = sim
                .mesh()
                .route_connection(&connection, &source, &mut rng)
                .report();
            let split = report
                .destination
                .iter()
                .map(|d| Share {
                    host: d.host.clone(),
                    subset: d.subset.clone(),
                    port: d.port,
                    weight: 1,
                    total: 1,
                })
                .collect();
            (report, split)
        }
    };
    decision.endpoint = None;
    decision.destination = None;
    Ok(Behaviour { decision, split })
}

/// The aspects in which `new` differs from `old`.
fn compare(old: &Behaviour, new: &Behaviour) -> Vec<&'static str> {
    let (o, n) = (&old.decision, &new.decision);
    let mut changed = Vec::new();
    if (&o.virtual_service, &o.route, &o.matched) != (&n.virtual_service, &n.route, &n.matched) {
        changed.push("route");
    }
    let targets = |b: &Behaviour| -> BTreeSet<(String, Option<String>, Option<u16>)> {
        b.split
            .iter()
            .map(|s| (s.host.clone(), s.subset.clone(), s.port))
            .collect()
    };
    if o.action != n.action || targets(old) != targets(new) {
        changed.push("destination");
    } else if old
        .split
        .iter()
        .zip(&new.split)
        .any(|(a, b)| a.percent() != b.percent())
    {
        changed.push("weights");
    }
    if o.rewrite != n.rewrite {
        changed.push("rewrite");
    }
    if (&o.redirect, &o.direct_response, o.local_status)
        != (&n.redirect, &n.direct_response, n.local_status)
        && !changed.contains(&"destination")
    {
        changed.push("redirect");
    }
    if (&o.headers, &o.timeout, &o.retries, &o.fault, &o.mirrors)
        != (&n.headers, &n.timeout, &n.retries, &n.fault, &n.mirrors)
    {
        changed.push("policy");
    }
    changed
}

/// A part of a decision as compact JSON (a string without its quotes), `none` when absent.
fn value(part: &impl Serialize) -> String {
    match serde_json::to_string(part).unwrap_or_default() {
        text if text == "null" || text == "[]" => "none".to_owned(),
        text if text.starts_with('"') => text.trim_matches('"').to_owned(),
        text => text,
    }
}

/// A request in words: method, URL, headers and who sends it.
fn describe(request: &SimRequest) -> String {
    let mut text = format!("{} {}", request.method(), request.url());
    for (name, value) in request.headers() {
        let _ = write!(text, " -H '{name}: {value}'");
    }
    let source = request.source();
    match source.gateway_name() {
        Some(gateway) => {
            let _ = write!(text, " (gateway {gateway})");
        }
        None => {
            let _ = write!(text, " (sidecar in {})", source.namespace());
        }
    }
    text
}

/// Representative requests for the VirtualServices of both configurations: for each host
/// and each match of each HTTP route, a request that meets the match and one that misses each
/// of its conditions, plus the host's default request (`GET /`). Sent by the VirtualService's
/// gateway when it is bound to gateways only, else by a sidecar in its namespace; to each port
/// its host's Service or ServiceEntry declares (80 otherwise). Deduplicated, in order.
pub fn generate(old: &[Resource], new: &[Resource]) -> Vec<SimRequest> {
    let mut out: Vec<SimRequest> = Vec::new();
    let mut seen = BTreeSet::new();
    let all: Vec<&Resource> = old.iter().chain(new).collect();
    for resource in &all {
        let Body::VirtualService(vs) = &resource.body else {
            continue;
        };
        let namespace = resource.namespace();
        // Istio's binding rules (`resolveGatewayName`): `mesh` when none is named; a request
        // from the first gateway when the VirtualService is bound to gateways only.
        let bound = bound_gateways(&vs.gateways, namespace);
        let gateway = (!bound.iter().any(|g| g == "mesh"))
            .then(|| bound.into_iter().next())
            .flatten();
        for host in &vs.hosts {
            let name = concrete(host);
            let ports = match &gateway {
                Some(gateway) => gateway_ports(&all, gateway),
                None => service_ports(&all, &name, namespace),
            };
            let base = |port: u16| Template {
                method: "GET".to_owned(),
                authority: if port == 80 {
                    name.clone()
                } else {
                    format!("{name}:{port}")
                },
                path: "/".to_owned(),
                query: Vec::new(),
                headers: Vec::new(),
                labels: Vec::new(),
                namespace: namespace.to_owned(),
                gateway: gateway.clone(),
            };
            for &port in &ports {
                let mut add = |t: Template| {
                    let request = t.request();
                    if seen.insert(describe(&request)) {
                        out.push(request);
                    }
                };
                add(base(port));
                for route in &vs.http {
                    for m in route.matches.iter().flatten() {
                        if m.port.is_some_and(|p| p != u32::from(port)) {
                            continue;
                        }
                        let hit = meet(base(port), m);
                        for miss in misses(&hit, m) {
                            add(miss);
                        }
                        add(hit);
                    }
                }
            }
        }
    }
    out
}

/// A request under construction.
#[derive(Debug, Clone)]
struct Template {
    method: String,
    authority: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    labels: Vec<(String, String)>,
    namespace: String,
    gateway: Option<String>,
}

impl Template {
    fn request(&self) -> SimRequest {
        let mut url = format!("http://{}{}", self.authority, self.path);
        for (i, (key, value)) in self.query.iter().enumerate() {
            let _ = write!(url, "{}{key}={value}", if i == 0 { '?' } else { '&' });
        }
        let mut request = SimRequest::new(self.method.clone(), url);
        for (name, value) in &self.headers {
            request = request.header(name.clone(), value.clone());
        }
        request = match &self.gateway {
            Some(gateway) => request.from_gateway(gateway),
            None => request.from_sidecar(self.namespace.clone()),
        };
        if !self.labels.is_empty() {
            request = request.with_labels(self.labels.clone());
        }
        request
    }
}

/// `template` changed to meet the conditions of `m` that a request can be written for.
fn meet(mut t: Template, m: &HttpMatchRequest) -> Template {
    if let Some(path) = m.uri.as_ref().and_then(example) {
        t.path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
    }
    if let Some(method) = m.method.as_ref().and_then(example) {
        t.method = method;
    }
    if let Some(authority) = m.authority.as_ref().and_then(example) {
        t.authority = authority;
    }
    for (name, condition) in &m.headers {
        let value = condition.as_ref().map_or(Some("x".to_owned()), example);
        if let Some(value) = value {
            t.headers.push((name.to_ascii_lowercase(), value));
        }
    }
    for (key, condition) in &m.query_params {
        let value = condition.as_ref().map_or(Some(String::new()), example);
        if let Some(value) = value {
            t.query.push((key.clone(), value));
        }
    }
    t.labels = m
        .source_labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !m.source_namespace.is_empty() {
        m.source_namespace.clone_into(&mut t.namespace);
    }
    t
}

/// For each condition `hit` meets, `hit` with that condition missed.
fn misses(hit: &Template, m: &HttpMatchRequest) -> Vec<Template> {
    let mut out = Vec::new();
    if m.uri.is_some() {
        let mut t = hit.clone();
        t.path = "/meshroute-diff-miss".to_owned();
        out.push(t);
    }
    if m.method.is_some() {
        let mut t = hit.clone();
        t.method = if t.method == "GET" { "POST" } else { "GET" }.to_owned();
        out.push(t);
    }
    for name in m.headers.keys() {
        let mut t = hit.clone();
        t.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        out.push(t);
    }
    for key in m.query_params.keys() {
        let mut t = hit.clone();
        t.query.retain(|(k, _)| k != key);
        out.push(t);
    }
    out
}

/// A value a string match accepts, when one is easy to write: the exact value, the prefix, a
/// regex that is a literal (anchors and `.*` aside).
fn example(m: &StringMatch) -> Option<String> {
    if let Some(exact) = &m.exact {
        return Some(exact.clone());
    }
    if let Some(prefix) = &m.prefix {
        return Some(prefix.clone());
    }
    let regex = m.regex.as_deref()?;
    let literal = regex
        .trim_start_matches('^')
        .trim_end_matches('$')
        .replace(".*", "")
        .replace(".+", "x");
    (!literal.contains(|c: char| "\\.+*?()[]{}|^$".contains(c))).then_some(literal)
}

/// A concrete name for a host: `*.example.com` → `any.example.com`, `*` → `any.host`.
fn concrete(host: &str) -> String {
    match host.strip_prefix('*') {
        Some("") => "any.host".to_owned(),
        Some(rest) => format!("any{rest}"),
        None => host.to_owned(),
    }
}

/// The HTTP ports of a gateway's servers (80 when none is found).
fn gateway_ports(all: &[&Resource], gateway: &str) -> Vec<u16> {
    let mut ports: Vec<u16> = all
        .iter()
        .filter(|r| r.key() == gateway)
        .filter_map(|r| match &r.body {
            Body::Gateway(g) => Some(g),
            _ => None,
        })
        .flat_map(|g| g.servers.iter())
        .filter_map(|s| s.port.as_ref())
        .filter_map(|p| u16::try_from(p.number).ok())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports.truncate(1);
    if ports.is_empty() {
        ports.push(80);
    }
    ports
}

/// The ports a Kubernetes Service or ServiceEntry declares for `host` as seen from
/// `namespace` (80 when none does).
fn service_ports(all: &[&Resource], host: &str, namespace: &str) -> Vec<u16> {
    let short = host.split('.').next().unwrap_or(host);
    let service_namespace = host.split('.').nth(1).unwrap_or(namespace);
    let mut ports: Vec<u16> = Vec::new();
    for r in all {
        match &r.body {
            Body::Service(s) if r.name() == short && r.namespace() == service_namespace => {
                ports.extend(s.ports.iter().filter_map(|p| u16::try_from(p.port).ok()));
            }
            Body::ServiceEntry(se) if se.hosts.iter().any(|h| h == host) => {
                ports.extend(se.ports.iter().filter_map(|p| u16::try_from(p.number).ok()));
            }
            _ => {}
        }
    }
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        ports.push(80);
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VirtualService bound to gateways only is asked through its first gateway, its
    /// reference resolved as Istio does (`./gw` is in the VirtualService's namespace), on the
    /// port of that gateway's server.
    #[test]
    fn generated_requests_come_from_the_bound_gateway() {
        let yaml = "apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8443, name: http, protocol: HTTP}, hosts: ['*']}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.example.com]
  gateways: [./edge]
  http:
  - route: [{destination: {host: web.shop.svc.cluster.local}}]
";
        let loaded =
            crate::config::load::from_str(yaml, &crate::config::load::LoadOptions::default());
        let requests = generate(&loaded.resources, &loaded.resources);
        assert_eq!(requests.len(), 1, "{requests:?}");
        assert_eq!(requests[0].url(), "http://web.example.com:8443/");
        assert_eq!(requests[0].source().gateway_name(), Some("shop/edge"));
    }

    /// A policy change names the policy and both values; a redirect change both answers.
    #[test]
    fn policy_and_redirect_changes_in_words() {
        let rules = |extra: &str| {
            format!(
                "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: a, namespace: default}}
spec:
  hosts: [a.example.com]
  http:
  - match: [{{uri: {{prefix: /old}}}}]
{extra}
  - route: [{{destination: {{host: a.example.com}}}}]
    timeout: 1s
"
            )
        };
        let old = Simulation::from_yaml(&rules("    redirect: {uri: /new}")).unwrap();
        let new = Simulation::from_yaml(
            &rules("    redirect: {uri: /newer, redirectCode: 308}")
                .replace("timeout: 1s", "timeout: 2.5s"),
        )
        .unwrap();
        let report = diff(
            &old,
            &new,
            [
                SimRequest::get("http://a.example.com/old"),
                SimRequest::get("http://a.example.com/x"),
            ],
        );
        let details: Vec<String> = report.changes.iter().flat_map(Change::details).collect();
        assert_eq!(
            details,
            [
                "answer: redirect 301 http://a.example.com/new → redirect 308 http://a.example.com/newer",
                "timeout: 1s → 2.5s",
            ],
            "{report}"
        );
    }
}
