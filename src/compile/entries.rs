//! One VirtualService's route table entries as a sidecar or a gateway sees them: matches for
//! other gateways dropped, config-time selectors decided for gateways, catch-all truncation
//! (istio/istio `pilot/pkg/networking/core/route/route.go` `BuildHTTPRoutesForVirtualService`).

use crate::route::index::RouteIndex;
use crate::route::matcher::MatchRequest;
use crate::route::table::{CompiledVs, Entry, NO_MATCH};

/// What a gateway is as a caller: its workload labels (the Gateway's `selector`), its namespace
/// and the listener port the routes are built for.
pub(super) struct GatewayCaller<'a> {
    pub(super) labels: &'a [(Box<str>, Box<str>)],
    pub(super) namespace: &'a str,
    pub(super) port: Option<u16>,
}

pub(super) fn index(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

/// The route table entries of one VirtualService as seen by `gateway` (`mesh` for sidecars):
/// one entry per match (or per route without matches), matches whose `gateways` exclude this
/// gateway dropped, and everything after an unconditional catch-all truncated (route.go
/// `BuildHTTPRoutesForVirtualService`). For a gateway, `caller` decides the config-time selectors
/// (`port`, `sourceLabels`, `sourceNamespace`) here, so that truncation sees them as Istio does;
/// for sidecars they are checked per request.
pub(super) fn entries_for(
    vs: u32,
    compiled: &CompiledVs,
    gateway: &str,
    caller: Option<&GatewayCaller<'_>>,
) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (r, route) in compiled.routes.iter().enumerate() {
        let route_idx = u32::try_from(r).unwrap_or(u32::MAX);
        if route.matches.is_empty() {
            entries.push(Entry {
                vs,
                route: route_idx,
                matcher: NO_MATCH,
            });
            return entries;
        }
        for (m, matcher) in route.matches.iter().enumerate() {
            if !matcher.gateways.is_empty() && !matcher.gateways.iter().any(|g| &**g == gateway) {
                continue;
            }
            if let Some(caller) = caller {
                // route.go `TranslateRoute` / `sourceMatchHTTP`, for this gateway and port.
                let dropped =
                    matcher.selector_failure(caller.port, caller.namespace, caller.labels);
                if dropped.is_some() {
                    continue;
                }
            }
            entries.push(Entry {
                vs,
                route: route_idx,
                matcher: u32::try_from(m).unwrap_or(u32::MAX),
            });
            // With `gateways` set the source selectors are already gone; a `port` is still
            // checked per request, so such a match only truncates on its own port.
            let unconditional = caller.is_some() || !matcher.has_runtime_selectors();
            if matcher.request.is_catch_all() && unconditional {
                return entries;
            }
        }
    }
    entries
}

/// The index of a large route table (`RouteIndex`), from what each entry stands for.
pub(super) fn route_index(entries: &[Entry], vses: &[CompiledVs]) -> Option<RouteIndex> {
    if entries.len() < RouteIndex::MIN_ENTRIES {
        return None;
    }
    let matches: Vec<Option<(&MatchRequest, bool)>> = entries
        .iter()
        .map(|e| {
            if e.matcher == NO_MATCH {
                return None;
            }
            vses.get(index(e.vs))
                .and_then(|vs| vs.routes.get(index(e.route)))
                .and_then(|route| route.matches.get(index(e.matcher)))
                .map(|m| (&m.request, m.has_runtime_selectors()))
        })
        .collect();
    RouteIndex::build(&matches)
}
