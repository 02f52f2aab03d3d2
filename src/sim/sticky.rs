//! What a weight change does to the users of a sticky route (`meshroute.dev/sticky-key`): the
//! same simulated users are sent through both configurations, and those whose destination
//! changes are counted, by where they were and where they go.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use super::request::SimRequest;
use super::simulation::Simulation;
use crate::route::report::DecisionReport;
use crate::util::rng::FastRng;

/// The users of one sticky route, before and after a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StickyUsers {
    /// The route, as the old configuration names it (the new one's when the old one has none).
    pub route: String,
    /// The request the users sent (with their key added).
    pub request: String,
    /// The sticky key (`header:x-user-id`), of the new configuration when it has one.
    pub key: String,
    /// How many users were simulated.
    pub users: u32,
    /// Users per destination (`host subset`) before.
    pub before: BTreeMap<String, u32>,
    /// Users per destination after.
    pub after: BTreeMap<String, u32>,
    /// The users whose destination changed: `(from, to, users)`, most first.
    pub moves: Vec<(String, String, u32)>,
}

impl StickyUsers {
    /// How many users changed destination.
    pub fn moved(&self) -> u32 {
        self.moves.iter().map(|(_, _, n)| n).sum()
    }
}

/// For each sticky route that `requests` reach on either side (each route once, with the first
/// request that reaches it), sends `users` simulated users (keys `user-0`, `user-1`, ...; for
/// `source-ip`, addresses from `10.0.0.0/8`) through `old` and `new` and counts who moves.
///
/// ```
/// use meshroute::sim::{SimRequest, Simulation, sticky_users};
///
/// let config = |v2: u32| format!("apiVersion: networking.istio.io/v1
/// kind: VirtualService
/// metadata: {{name: svc-b, annotations: {{meshroute.dev/sticky-key: 'header:x-user-id'}}}}
/// spec:
///   hosts: [svc-b]
///   http:
///   - route:
///     - {{destination: {{host: svc-b, subset: v1}}, weight: {}}}
///     - {{destination: {{host: svc-b, subset: v2}}, weight: {v2}}}
/// ", 100 - v2);
/// let old = Simulation::from_yaml(&config(5)).unwrap();
/// let new = Simulation::from_yaml(&config(25)).unwrap();
/// let found = sticky_users(&old, &new, [SimRequest::get("http://svc-b/")], 10_000);
/// let moves = &found[0].moves;
/// assert_eq!(moves.len(), 1, "only v1 → v2");
/// assert!(moves[0].0.ends_with(" v1") && moves[0].1.ends_with(" v2"));
/// assert!((1_900..2_100).contains(&moves[0].2), "about 20% of the users");
/// ```
pub fn sticky_users(
    old: &Simulation,
    new: &Simulation,
    requests: impl IntoIterator<Item = SimRequest>,
    users: u32,
) -> Vec<StickyUsers> {
    let mut found: Vec<StickyUsers> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for request in requests {
        let (Some(before), Some(after)) = (decide(old, &request), decide(new, &request)) else {
            continue;
        };
        let key = match after.sticky.as_ref().or(before.sticky.as_ref()) {
            Some(sticky) => sticky.key.clone(),
            None => continue,
        };
        let route = before.route_name();
        if !seen.insert((route.clone(), after.route_name())) {
            continue;
        }
        let mut result = StickyUsers {
            route,
            request: format!("{} {}", request.method(), request.url()),
            key: key.clone(),
            users,
            ..StickyUsers::default()
        };
        let mut moves: BTreeMap<(String, String), u32> = BTreeMap::new();
        for i in 0..users {
            let user = with_user(&request, &key, i);
            let (Some(b), Some(a)) = (decide(old, &user), decide(new, &user)) else {
                continue;
            };
            let (b, a) = (destination(&b), destination(&a));
            *result.before.entry(b.clone()).or_default() += 1;
            *result.after.entry(a.clone()).or_default() += 1;
            if a != b {
                *moves.entry((b, a)).or_default() += 1;
            }
        }
        result.moves = moves.into_iter().map(|((b, a), n)| (b, a, n)).collect();
        result.moves.sort_by_key(|m| std::cmp::Reverse(m.2));
        found.push(result);
    }
    found
}

/// The decision for `request` (seed 0), or `None` for a request that cannot be decided.
fn decide(sim: &Simulation, request: &SimRequest) -> Option<DecisionReport> {
    let http = request.build().ok()?;
    let decision = sim
        .mesh()
        .route_with(&http, &request.source(), &mut FastRng::from_seed(0));
    Some(decision.report())
}

fn destination(report: &DecisionReport) -> String {
    match &report.destination {
        Some(d) => match &d.subset {
            Some(subset) => format!("{} {subset}", d.host),
            None => d.host.clone(),
        },
        None => format!("({})", report.action),
    }
}

/// `request` sent by user `i`: the key set as the sticky key reads it, replacing any value of
/// that key the request had (a `cookie` key replaces the request's cookies).
fn with_user(request: &SimRequest, key: &str, i: u32) -> SimRequest {
    let id = format!("user-{i}");
    let (kind, name) = key.split_once(':').unwrap_or((key, ""));
    let replaced = match kind {
        "header" => name,
        "cookie" => "cookie",
        _ => "",
    };
    let url = match kind {
        "query" => {
            let url = request.url();
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}{name}={id}")
        }
        _ => request.url().to_owned(),
    };
    let mut user = SimRequest::new(request.method(), url).with_source_of(request);
    for (k, v) in request.headers() {
        if !k.eq_ignore_ascii_case(replaced) {
            user = user.header(k.clone(), v.clone());
        }
    }
    match kind {
        "header" => user.header(name, id),
        "cookie" => user.header("cookie", format!("{name}={id}")),
        "query" => user,
        _ => {
            let [_, a, b, c] = i.to_be_bytes();
            user.source_ip(IpAddr::V4(Ipv4Addr::new(10, a, b, c)))
        }
    }
}

impl fmt::Display for StickyUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spread = |counts: &BTreeMap<String, u32>| {
            counts
                .iter()
                .map(|(d, n)| format!("{d} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            f,
            "{} (sticky on {}, {} users of {}):",
            self.route, self.key, self.users, self.request
        )?;
        writeln!(f, "  before: {}", spread(&self.before))?;
        writeln!(f, "  after:  {}", spread(&self.after))?;
        if self.moves.is_empty() {
            return write!(f, "  nobody moves");
        }
        for (from, to, n) in &self.moves {
            writeln!(f, "  {n} move {from} → {to}")?;
        }
        write!(f, "  {} of {} users move", self.moved(), self.users)
    }
}
