//! Sticky weighted choice: the annotation `meshroute.dev/sticky-key` on a VirtualService keeps
//! each user on one destination of a weighted route while the weights stay, and moves only the
//! users a weight change needs. Istio ignores the annotation, so the same file still applies to
//! a cluster.
//!
//! The value is a comma-separated list of entries, each `KEY` (every weighted route of the
//! VirtualService) or `ROUTE=KEY` (the route of that `name`, which wins over an entry without a
//! name). `KEY` is `header:NAME`, `cookie:NAME`, `query:NAME` or `source-ip`:
//!
//! ```yaml
//! metadata:
//!   annotations:
//!     meshroute.dev/sticky-key: header:x-user-id
//!     # or, per route: "canary=cookie:session,query:user"
//! ```

/// The annotation.
pub(crate) const ANNOTATION: &str = "meshroute.dev/sticky-key";

/// What identifies a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StickyKey {
    /// A request header (name lowercased).
    Header(String),
    /// A cookie (name as written).
    Cookie(String),
    /// A query parameter (name as written, raw value).
    Query(String),
    /// The caller's IP address.
    SourceIp,
}

impl std::fmt::Display for StickyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StickyKey::Header(name) => write!(f, "header:{name}"),
            StickyKey::Cookie(name) => write!(f, "cookie:{name}"),
            StickyKey::Query(name) => write!(f, "query:{name}"),
            StickyKey::SourceIp => f.write_str("source-ip"),
        }
    }
}

/// One entry: the route it is for (`None`: every weighted route) and the key.
pub(crate) type StickyEntry = (Option<String>, StickyKey);

/// Parses the annotation's value; the message says what is wrong with the first bad entry.
pub(crate) fn parse(value: &str) -> Result<Vec<StickyEntry>, String> {
    let mut entries = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (route, key) = match entry.split_once('=') {
            Some((route, key)) if !route.trim().is_empty() => {
                (Some(route.trim().to_owned()), key.trim())
            }
            Some(_) => return Err(format!("{entry:?}: the route name before '=' is empty")),
            None => (None, entry),
        };
        let key = match key.split_once(':') {
            _ if key == "source-ip" => StickyKey::SourceIp,
            Some(("header", name)) if valid_header(name) => {
                StickyKey::Header(name.to_ascii_lowercase())
            }
            Some(("cookie", name)) if !name.is_empty() => StickyKey::Cookie(name.to_owned()),
            Some(("query", name)) if !name.is_empty() => StickyKey::Query(name.to_owned()),
            _ => {
                return Err(format!(
                    "{entry:?}: expected header:NAME, cookie:NAME, query:NAME or source-ip"
                ));
            }
        };
        if entries.iter().any(|(r, _)| *r == route) {
            return Err(format!(
                "{entry:?}: {} has a key already",
                route.map_or("every route".to_owned(), |r| format!("route {r:?}"))
            ));
        }
        entries.push((route, key));
    }
    if entries.is_empty() {
        return Err("empty: expected header:NAME, cookie:NAME, query:NAME or source-ip".into());
    }
    Ok(entries)
}

fn valid_header(name: &str) -> bool {
    !name.is_empty() && http::HeaderName::from_bytes(name.as_bytes()).is_ok()
}

/// The key for the route named `route` (`""` for an unnamed one): its own entry, else the
/// entry without a name.
pub(crate) fn for_route<'e>(entries: &'e [StickyEntry], route: &str) -> Option<&'e StickyKey> {
    entries
        .iter()
        .find(|(r, _)| r.as_deref() == Some(route) && !route.is_empty())
        .or_else(|| entries.iter().find(|(r, _)| r.is_none()))
        .map(|(_, key)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_form_and_per_route_entries() {
        let entries = parse("header:X-User-Id, canary=cookie:session,other=query:u").unwrap();
        assert_eq!(entries[0], (None, StickyKey::Header("x-user-id".into())));
        assert_eq!(
            for_route(&entries, "canary"),
            Some(&StickyKey::Cookie("session".into()))
        );
        assert_eq!(
            for_route(&entries, "other"),
            Some(&StickyKey::Query("u".into()))
        );
        assert_eq!(
            for_route(&entries, ""),
            Some(&StickyKey::Header("x-user-id".into()))
        );
        assert_eq!(parse("source-ip").unwrap(), [(None, StickyKey::SourceIp)]);
        let only = parse("canary=source-ip").unwrap();
        assert_eq!(for_route(&only, "stable"), None);
        assert_eq!(
            StickyKey::Header("x-user-id".into()).to_string(),
            "header:x-user-id"
        );
    }

    #[test]
    fn a_bad_entry_says_what_is_expected() {
        for bad in [
            "",
            "header:",
            "head:x",
            "=header:x",
            "header:bad name",
            "header:a,header:b",
        ] {
            let message = parse(bad).unwrap_err();
            assert!(
                message.contains("expected")
                    || message.contains("already")
                    || message.contains("empty"),
                "{bad}: {message}"
            );
        }
    }
}
