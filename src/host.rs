//! Host names as Istio treats them: short-name resolution and wildcard matching.
//!
//! Per Istio's `ResolveShortnameToFQDN` (pilot/pkg/model/config.go): a name with no dot that is not
//! `*` or an IP becomes `name.<namespace of the rule>.svc.cluster.local`; anything with a dot is
//! taken literally. Per `host.Name.Matches` (pkg/config/host/name.go): `*.foo.com` matches any name
//! ending in `.foo.com` but not `foo.com`; `*` matches everything. Hosts are compared lowercased.

/// The Kubernetes cluster domain suffix Istio assumes by default.
pub const DOMAIN_SUFFIX: &str = "cluster.local";

/// Resolves `name` (as written in a rule in `namespace`) to the name Istio uses.
pub fn resolve(name: &str, namespace: &str) -> String {
    let name = name.to_ascii_lowercase();
    if name == "*" || name.contains('.') || name.contains(':') || name.is_empty() {
        return name;
    }
    format!("{name}.{namespace}.svc.{DOMAIN_SUFFIX}")
}

/// Istio's `Name.Matches`: whether the two (already lowercased) names can refer to the same host.
/// Symmetric; wildcards on either side.
pub fn matches(a: &str, b: &str) -> bool {
    match (a.strip_prefix('*'), b.strip_prefix('*')) {
        (None, None) => a == b,
        (Some(sa), None) => b.len() > sa.len() && b.ends_with(sa),
        (None, Some(sb)) => a.len() > sb.len() && a.ends_with(sb),
        (Some(sa), Some(sb)) => sa.ends_with(sb) || sb.ends_with(sa),
    }
}

/// Istio's `Name.SubsetOf`: whether every host `a` matches is also matched by `b`.
pub fn subset_of(a: &str, b: &str) -> bool {
    match (a.strip_prefix('*'), b.strip_prefix('*')) {
        (_, Some(sb)) => {
            let sa = a.strip_prefix('*').unwrap_or(a);
            sb.is_empty() || (sa.ends_with(sb) && (a.starts_with('*') || a.len() > sb.len()))
        }
        (Some(_), None) => false,
        (None, None) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// config.go ResolveShortnameToFQDN: the rule's namespace, not the service's.
    #[test]
    fn short_names_resolve_in_the_rule_namespace() {
        assert_eq!(resolve("reviews", "foo"), "reviews.foo.svc.cluster.local");
        assert_eq!(resolve("Reviews", "foo"), "reviews.foo.svc.cluster.local");
        assert_eq!(resolve("reviews.default", "foo"), "reviews.default");
        assert_eq!(resolve("*", "foo"), "*");
        assert_eq!(resolve("10.0.0.1", "foo"), "10.0.0.1");
        assert_eq!(resolve("::1", "foo"), "::1");
    }

    /// name.go Matches: `*.foo.com` does not match `foo.com`.
    #[test]
    fn wildcard_matching_as_istio() {
        assert!(matches("a.foo.com", "a.foo.com"));
        assert!(matches("*.foo.com", "a.b.foo.com"));
        assert!(!matches("*.foo.com", "foo.com"));
        assert!(matches("*", "anything"));
        assert!(matches("*.bar", "*.foo.bar"));
        assert!(!matches("a.com", "b.com"));
        assert!(subset_of("a.foo.com", "*.foo.com"));
        assert!(subset_of("*.a.foo.com", "*.foo.com"));
        assert!(!subset_of("*.foo.com", "*.a.foo.com"));
        assert!(subset_of("x", "*"));
        assert!(!subset_of("*.foo.com", "a.foo.com"));
    }
}
