//! Delegate VirtualServices: a root route that names a delegate is replaced by the delegate's
//! routes merged into it, as Istio merges them: `pilot/pkg/model/virtualservice_controller.go`
//! (`mergeVirtualServices`) and `pilot/pkg/model/virtualservice.go` (`MergeHTTPRoutes`,
//! `mergeHTTPMatchRequests`, `hasConflict`) in istio/istio.

use std::borrow::Cow;

use crate::config::{HttpMatchRequest, HttpRoute, Resource, StringMatch, VirtualService};

/// Replaces each root route that names a delegate with the delegate's routes merged into it
/// (virtualservice_controller.go `mergeVirtualServices`, virtualservice.go `MergeHTTPRoutes`).
/// Returns `(root route index, route)` pairs, a route that delegates nothing borrowed as it is. A
/// missing or invisible delegate drops only that root route.
pub(crate) fn expand_delegates<'v>(
    resource: &Resource,
    vs: &'v VirtualService,
    all: &[(&Resource, &VirtualService)],
) -> Vec<(usize, Cow<'v, HttpRoute>)> {
    let mut out = Vec::with_capacity(vs.http.len());
    for (index, root) in vs.http.iter().enumerate() {
        let Some(delegate) = &root.delegate else {
            out.push((index, Cow::Borrowed(root)));
            continue;
        };
        let namespace = if delegate.namespace.is_empty() {
            resource.namespace()
        } else {
            &delegate.namespace
        };
        let found = all.iter().find(|(r, d)| {
            r.name() == delegate.name
                && r.namespace() == namespace
                && d.hosts.is_empty()
                && (d.export_to.is_empty()
                    || d.export_to.iter().any(|e| {
                        e == "*"
                            || e == resource.namespace()
                            || (e == "." && namespace == resource.namespace())
                    }))
        });
        let Some((_, delegate_vs)) = found else {
            tracing::debug!(root = %resource.key(), delegate = %delegate.name, "delegate VirtualService not found: route skipped");
            continue;
        };
        for leaf in &delegate_vs.http {
            if leaf.delegate.is_some() {
                continue;
            }
            if let Some(merged) = merge_route(root, leaf) {
                out.push((index, Cow::Owned(merged)));
            }
        }
    }
    out
}

fn merge_route(root: &HttpRoute, leaf: &HttpRoute) -> Option<HttpRoute> {
    let mut merged = leaf.clone();
    merged.name = match (root.name.is_empty(), leaf.name.is_empty()) {
        (false, false) => format!("{}-{}", root.name, leaf.name),
        (false, true) => root.name.clone(),
        _ => leaf.name.clone(),
    };
    merged.delegate = None;
    let root_matches: Vec<&HttpMatchRequest> = root.matches.iter().flatten().collect();
    let leaf_matches: Vec<&HttpMatchRequest> = leaf.matches.iter().flatten().collect();
    if root_matches.is_empty() {
        // Nothing to inherit.
    } else if leaf_matches.is_empty() {
        merged.matches = root.matches.clone();
    } else {
        // virtualservice.go mergeHTTPMatchRequests: every leaf match must be compatible with some
        // root match, otherwise the whole leaf route is dropped.
        let mut matches = Vec::new();
        for l in &leaf_matches {
            let before = matches.len();
            for r in &root_matches {
                if !has_conflict(r, l) {
                    matches.push(Some(merge_match(r, l)));
                }
            }
            if matches.len() == before {
                return None;
            }
        }
        merged.matches = matches;
    }
    macro_rules! inherit {
        ($($field:ident),*) => { $( if merged.$field.is_none() { merged.$field = root.$field.clone(); } )* };
    }
    inherit!(
        rewrite,
        timeout,
        retries,
        fault,
        mirror,
        mirror_percentage,
        mirror_percent,
        cors_policy,
        headers
    );
    if merged.mirrors.is_empty() {
        merged.mirrors = root.mirrors.clone();
    }
    Some(merged)
}

/// virtualservice.go `mergeHTTPMatchRequest`.
fn merge_match(root: &HttpMatchRequest, leaf: &HttpMatchRequest) -> HttpMatchRequest {
    let mut m = leaf.clone();
    if m.name.is_empty() {
        m.name = root.name.clone();
    } else if !root.name.is_empty() {
        m.name = format!("{}-{}", root.name, leaf.name);
    }
    if m.uri.is_none() {
        m.uri = root.uri.clone();
    }
    if m.scheme.is_none() {
        m.scheme = root.scheme.clone();
    }
    if m.method.is_none() {
        m.method = root.method.clone();
    }
    if m.authority.is_none() {
        m.authority = root.authority.clone();
    }
    for (to, from) in [
        (&mut m.headers, &root.headers),
        (&mut m.without_headers, &root.without_headers),
        (&mut m.query_params, &root.query_params),
    ] {
        for (k, v) in from {
            to.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    for (k, v) in &root.source_labels {
        m.source_labels
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    if m.port.is_none_or(|p| p == 0) {
        m.port = root.port;
    }
    if m.source_namespace.is_empty() {
        m.source_namespace = root.source_namespace.clone();
    }
    if m.gateways.is_empty() {
        m.gateways = root.gateways.clone();
    }
    if !m.ignore_uri_case {
        m.ignore_uri_case = root.ignore_uri_case;
    }
    m
}

/// virtualservice.go `stringMatchConflict` (with Go's getters, where an empty string is unset).
fn string_match_conflict(root: Option<&StringMatch>, leaf: Option<&StringMatch>) -> bool {
    let (Some(root), Some(leaf)) = (root, leaf) else {
        return false;
    };
    fn get(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("")
    }
    let any = |m: &StringMatch| {
        !get(&m.regex).is_empty() || !get(&m.prefix).is_empty() || !get(&m.exact).is_empty()
    };
    if (!get(&root.regex).is_empty() && any(leaf)) || (!get(&leaf.regex).is_empty() && any(root)) {
        return true;
    }
    let exact = get(&root.exact);
    if !exact.is_empty() {
        return !get(&leaf.prefix).is_empty() || get(&leaf.exact) != exact;
    }
    let prefix = get(&root.prefix);
    if !prefix.is_empty() {
        let leaf_prefix = get(&leaf.prefix);
        if !leaf_prefix.is_empty() {
            return !leaf_prefix.starts_with(prefix);
        }
        let leaf_exact = get(&leaf.exact);
        if !leaf_exact.is_empty() {
            return !leaf_exact.starts_with(prefix);
        }
    }
    true
}

/// virtualservice.go `hasConflict`.
fn has_conflict(root: &HttpMatchRequest, leaf: &HttpMatchRequest) -> bool {
    if string_match_conflict(root.uri.as_ref(), leaf.uri.as_ref())
        || string_match_conflict(root.scheme.as_ref(), leaf.scheme.as_ref())
        || string_match_conflict(root.method.as_ref(), leaf.method.as_ref())
        || string_match_conflict(root.authority.as_ref(), leaf.authority.as_ref())
    {
        return true;
    }
    for (r, l) in [
        (&root.headers, &leaf.headers),
        (&root.without_headers, &leaf.without_headers),
        (&root.query_params, &leaf.query_params),
    ] {
        let conflict = l
            .iter()
            .any(|(k, lv)| string_match_conflict(r.get(k).and_then(Option::as_ref), lv.as_ref()));
        if conflict {
            return true;
        }
    }
    if root.ignore_uri_case != leaf.ignore_uri_case {
        return true;
    }
    if let (Some(rp), Some(lp)) = (root.port.filter(|p| *p != 0), leaf.port.filter(|p| *p != 0)) {
        if rp != lp {
            return true;
        }
    }
    if !root.source_namespace.is_empty() && leaf.source_namespace != root.source_namespace {
        return true;
    }
    if root
        .source_labels
        .iter()
        .any(|(k, v)| leaf.source_labels.get(k).is_some_and(|lv| lv != v))
    {
        return true;
    }
    if !leaf.gateways.is_empty()
        && !root.gateways.is_empty()
        && (root.gateways.len() < leaf.gateways.len()
            || !leaf.gateways.iter().all(|g| root.gateways.contains(g)))
    {
        return true;
    }
    false
}
