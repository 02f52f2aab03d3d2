//! Host names as Istio treats them: short-name resolution, wildcard matching, and splitting an
//! authority into host and port.
//!
//! Per Istio's `ResolveShortnameToFQDN` (`pilot/pkg/model/config.go` in istio/istio): a name with
//! no dot that is not `*` or an IP becomes `name.<namespace of the rule>.svc.cluster.local`;
//! anything with a dot is taken literally. Per `host.Name.Matches` (`pkg/config/host/name.go`):
//! `*.foo.com` matches any name ending in `.foo.com` but not `foo.com`; `*` matches everything.
//! Hosts are compared lowercased.

use super::bytes::{contains, has_uppercase};

/// The Kubernetes cluster domain suffix Istio assumes by default.
pub(crate) const DOMAIN_SUFFIX: &str = "cluster.local";

/// Resolves `name` (as written in a rule in `namespace`) to the name Istio uses, lowercased.
pub(crate) fn resolve(name: &str, namespace: &str) -> String {
    if is_qualified(name) {
        return name.to_ascii_lowercase();
    }
    let mut fqdn = short_name_fqdn(name, namespace);
    // Only the name is lowercased: the namespace keeps its case, as `qualify` keeps it.
    if let Some(written) = fqdn.get_mut(..name.len()) {
        written.make_ascii_lowercase();
    }
    fqdn
}

/// Whether `qualify` takes `name` as written: `*`, a name with a dot or a colon, or nothing.
fn is_qualified(name: &str) -> bool {
    name == "*" || name.contains('.') || name.contains(':') || name.is_empty()
}

/// `name.<namespace>.svc.cluster.local`, in one allocation (this runs for every destination of
/// every route: `format!` was most of its cost).
fn short_name_fqdn(name: &str, namespace: &str) -> String {
    const SVC: &str = ".svc.";
    let mut fqdn =
        String::with_capacity(name.len() + 1 + namespace.len() + SVC.len() + DOMAIN_SUFFIX.len());
    fqdn.push_str(name);
    fqdn.push('.');
    fqdn.push_str(namespace);
    fqdn.push_str(SVC);
    fqdn.push_str(DOMAIN_SUFFIX);
    fqdn
}

/// `ResolveShortnameToFQDN` itself: `name` qualified with the rule's namespace when it is a short
/// name, its case kept. Istio compares a VirtualService's hosts with a gateway server's hosts
/// as written (`Names.Intersection` is case-sensitive) and lowercases only the result.
pub(crate) fn qualify(name: &str, namespace: &str) -> String {
    if is_qualified(name) {
        return name.to_owned();
    }
    short_name_fqdn(name, namespace)
}

/// Istio's `Name.SubsetOf` (`pkg/config/host/name.go`): whether every host `name` covers is also
/// covered by `of`. Case-sensitive, as Istio compares names. Unlike Envoy's domain match, a
/// wildcard suffix covers itself (`foo.com` is a subset of `*foo.com`).
pub(crate) fn subset_of(name: &str, of: &str) -> bool {
    match (name.strip_prefix('*'), of.strip_prefix('*')) {
        (None, None) => name == of,
        (Some(_), None) => false,
        (None, Some(suffix)) => name.ends_with(suffix),
        (Some(own), Some(suffix)) => name.len() >= of.len() && own.ends_with(suffix),
    }
}

/// Istio's `Names.Intersection` (`pkg/config/host/names.go`): the names covered by both lists,
/// each pair contributing the narrower of the two (`*.example.com` ∩ `api.example.com` =
/// `api.example.com`), without duplicates, in the order found (`hosts` outer, `other` inner).
pub(crate) fn intersection<'a>(hosts: &[&'a str], other: &[&'a str]) -> Vec<&'a str> {
    let mut result: Vec<&'a str> = Vec::new();
    for &h in hosts {
        for &o in other {
            let narrower = if subset_of(h, o) {
                h
            } else if subset_of(o, h) {
                o
            } else {
                continue;
            };
            if !result.contains(&narrower) {
                result.push(narrower);
            }
        }
    }
    result
}

/// The `(name, namespace)` of a Kubernetes service FQDN (`name.ns.svc.cluster.local`).
pub(crate) fn kubernetes_service(fqdn: &str) -> Option<(&str, &str)> {
    let base = fqdn
        .strip_suffix(DOMAIN_SUFFIX)?
        .strip_suffix('.')?
        .strip_suffix(".svc")?;
    let (name, namespace) = base.split_once('.')?;
    (!namespace.contains('.')).then_some((name, namespace))
}

/// Istio's `Name.Matches`: whether the two (already lowercased) names can refer to the same host.
/// Symmetric; wildcards on either side.
pub(crate) fn matches(a: &str, b: &str) -> bool {
    match (a.strip_prefix('*'), b.strip_prefix('*')) {
        (None, None) => a == b,
        (Some(sa), None) => wildcard_matches(sa, b),
        (None, Some(sb)) => wildcard_matches(sb, a),
        (Some(sa), Some(sb)) => sa.ends_with(sb) || sb.ends_with(sa),
    }
}

/// Whether the concrete `host` is matched by the wildcard host `*<suffix>`: the one wildcard
/// rule every lookup uses (`*.foo.com` has the suffix `.foo.com`, `*` the empty suffix). The
/// wildcard part matches at least one character.
pub(crate) fn wildcard_matches(suffix: &str, host: &str) -> bool {
    host.len() > suffix.len() && host.ends_with(suffix)
}

/// Wildcard hosts with their values, looked up most specific (longest suffix) first, as Envoy
/// orders virtual host domains and Istio's `MostSpecificHostMatch` chooses; `*` comes last.
#[derive(Debug, Clone)]
pub(crate) struct Wildcards<T> {
    /// `(suffix, value)`, longest suffix first; equal lengths keep their insertion order.
    list: Vec<(Box<str>, T)>,
}

impl<T> Default for Wildcards<T> {
    fn default() -> Self {
        Self { list: Vec::new() }
    }
}

impl<T> Wildcards<T> {
    /// Adds the wildcard host `*<suffix>`.
    pub(crate) fn insert(&mut self, suffix: &str, value: T) {
        let at = self
            .list
            .iter()
            .position(|(s, _)| s.len() < suffix.len())
            .unwrap_or(self.list.len());
        self.list.insert(at, (suffix.into(), value));
    }

    /// The values whose wildcard matches `host`, most specific first.
    pub(crate) fn matching<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a T> + 'a {
        self.list
            .iter()
            .filter(move |(suffix, _)| wildcard_matches(suffix, host))
            .map(|(_, value)| value)
    }

    /// Every `(suffix, value)`, most specific first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.list.iter().map(|(s, v)| (&**s, v))
    }
}

/// Splits `host:port` (and `[v6]:port`); the port is `None` when absent or not a number.
#[inline]
pub(crate) fn split_host_port(authority: &str) -> (&str, Option<u16>) {
    // `host:port`: the port is the digits after the last colon, and the host has no colon (an
    // IPv6 address without brackets has no port). Parsed by hand: this runs per request.
    let bytes = authority.as_bytes();
    // The common shape, `name:digits` with at most five digits and no leading `[`, in one
    // backward pass; every other shape in a function of its own, so that this one stays small.
    let mut port = 0_u32;
    let mut scale = 1_u32;
    let mut rest = bytes;
    while let [head @ .., digit @ b'0'..=b'9'] = rest {
        if scale > 10_000 {
            break;
        }
        port += u32::from(digit - b'0') * scale;
        scale *= 10;
        rest = head;
    }
    if let [host @ .., b':'] = rest {
        // Eight bytes per step: `memchr` is a call, a byte loop 5 instructions per byte.
        if scale > 1 && host.first() != Some(&b'[') && !contains(host, b':') {
            if let (Ok(port), Some(host)) = (u16::try_from(port), authority.get(..host.len())) {
                return (host, Some(port));
            }
        }
    }
    split_other_host_port(authority)
}

/// [`split_host_port`] for every shape but `name:digits`.
#[cold]
#[inline(never)]
fn split_other_host_port(authority: &str) -> (&str, Option<u16>) {
    if let Some(rest) = authority.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, tail)) => {
                let host = authority.get(..h.len() + 2).unwrap_or(authority);
                (host, tail.strip_prefix(':').and_then(|p| p.parse().ok()))
            }
            None => (authority, None),
        };
    }
    let bytes = authority.as_bytes();
    // No colon at all (`localhost`, a gateway's host): no port.
    if !contains(bytes, b':') {
        return (authority, None);
    }
    let Some(colon) = bytes.iter().rposition(|b| *b == b':') else {
        return (authority, None);
    };
    let (Some(host), Some(digits)) = (bytes.get(..colon), bytes.get(colon + 1..)) else {
        return (authority, None);
    };
    if host.contains(&b':') {
        return (authority, None);
    }
    let port = if !digits.is_empty() && digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit) {
        let value = digits
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        u16::try_from(value).ok()
    } else {
        // Anything else as Rust's integer parsing reads it (`+80`, leading zeros).
        authority.get(colon + 1..).and_then(|p| p.parse().ok())
    };
    match (port, authority.get(..colon)) {
        (Some(port), Some(host)) => (host, Some(port)),
        _ => (authority, None),
    }
}

/// The longest host a request is looked up by, in bytes (longer ones reach no host).
pub(crate) const MAX_HOST_LEN: usize = 256;

/// The host in ASCII lowercase, without allocating: itself when it has no uppercase letter,
/// else lowercased into `buffer`; `None` if it is empty or longer than [`MAX_HOST_LEN`] bytes.
pub(crate) fn lowercase<'b>(
    host: &'b str,
    buffer: &'b mut Option<[u8; MAX_HOST_LEN]>,
) -> Option<&'b str> {
    let bytes = host.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_HOST_LEN {
        return None;
    }
    // The common case, a host already in lowercase, is borrowed as it is: no copy.
    if !has_uppercase(bytes) {
        return Some(host);
    }
    lowercase_into(bytes, buffer)
}

/// `bytes` lowercased into `buffer` (at most [`MAX_HOST_LEN`] bytes).
#[cold]
fn lowercase_into<'b>(bytes: &[u8], buffer: &'b mut Option<[u8; MAX_HOST_LEN]>) -> Option<&'b str> {
    let buffer = buffer.insert([0; MAX_HOST_LEN]);
    let target = buffer.get_mut(..bytes.len())?;
    for (dst, src) in target.iter_mut().zip(bytes) {
        *dst = src.to_ascii_lowercase();
    }
    std::str::from_utf8(target).ok()
}

/// The authority a request is sent to: its URI's, else its `Host` header.
pub(crate) fn request_authority<B>(request: &http::Request<B>) -> Option<&str> {
    request
        .uri()
        .authority()
        .map(http::uri::Authority::as_str)
        .or_else(|| {
            request
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
}

/// Envoy's name of an outbound cluster as Istio builds it, `outbound|PORT|SUBSET|HOST`
/// (`BuildSubsetKey` in istio/istio `pilot/pkg/model/service.go`; an empty subset without one).
#[cfg(any(feature = "tower", feature = "yaml"))]
pub(crate) fn outbound_cluster_name(port: u16, subset: Option<&str>, host: &str) -> String {
    format!("outbound|{port}|{}|{host}", subset.unwrap_or(""))
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
        // The name is lowercased, the namespace kept as given; `qualify` keeps both.
        assert_eq!(resolve("ReViews", "Foo"), "reviews.Foo.svc.cluster.local");
        assert_eq!(resolve("Reviews.Default", "foo"), "reviews.default");
        assert_eq!(qualify("Reviews", "Foo"), "Reviews.Foo.svc.cluster.local");
        assert_eq!(qualify("", "foo"), "");
    }

    /// names.go `Intersection` doc examples, and name.go `SubsetOf`.
    #[test]
    fn intersection_keeps_the_narrower_name() {
        assert_eq!(
            intersection(&["foo.com", "bar.com"], &["*.com"]),
            ["foo.com", "bar.com"]
        );
        assert_eq!(
            intersection(&["foo.com", "*.net"], &["*.com", "bar.net"]),
            ["foo.com", "bar.net"]
        );
        assert_eq!(
            intersection(&["foo.com", "*.net"], &["*.bar.net"]),
            ["*.bar.net"]
        );
        assert!(intersection(&["foo.com"], &["bar.com"]).is_empty());
        assert!(intersection(&[], &["bar.com"]).is_empty());
        assert_eq!(
            intersection(&["*"], &["api.example.com"]),
            ["api.example.com"]
        );
        // Case-sensitive, as Istio compares names.
        assert!(intersection(&["Example.org"], &["example.org"]).is_empty());
        assert!(subset_of("*.a.com", "*.com") && !subset_of("*.com", "*.a.com"));
        assert!(subset_of("foo.com", "*foo.com") && !subset_of("foo.com", "*.foo.com"));
        assert!(!subset_of("*", "*.com") && subset_of("*.com", "*"));
        assert_eq!(qualify("Reviews", "ns"), "Reviews.ns.svc.cluster.local");
    }

    #[test]
    fn kubernetes_service_names_split() {
        assert_eq!(
            kubernetes_service("reviews.prod.svc.cluster.local"),
            Some(("reviews", "prod"))
        );
        assert_eq!(kubernetes_service("reviews.prod"), None);
        assert_eq!(kubernetes_service("a.b.c.svc.cluster.local"), None);
        assert_eq!(kubernetes_service("svc.cluster.local"), None);
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
    }

    /// Envoy's virtual host domain order: the longest wildcard suffix first, `*` last.
    #[test]
    fn wildcards_are_tried_most_specific_first() {
        let mut table = Wildcards::default();
        table.insert("", "star");
        table.insert(".com", "com");
        table.insert(".foo.com", "foo");
        table.insert(".bar.com", "bar");
        let found: Vec<_> = table.matching("a.foo.com").copied().collect();
        assert_eq!(found, ["foo", "com", "star"]);
        assert_eq!(
            table.matching("foo.com").copied().collect::<Vec<_>>(),
            ["com", "star"]
        );
        assert_eq!(table.matching("").count(), 0);
    }

    /// The fast path answers as the general one, which reads every shape: for every string of
    /// up to five bytes over an alphabet of the bytes that matter after six heads, for long
    /// ports, and for every ASCII byte in each of the last eight places; every port number of
    /// five digits or fewer parses to itself.
    #[test]
    fn the_common_shape_splits_as_every_shape_does() {
        let alphabet = [b'a', b'0', b'9', b'1', b':', b'[', b']', b'+', b'/', b';'];
        let mut strings: Vec<Vec<u8>> = vec![Vec::new()];
        let mut from = 0;
        for _ in 0..5 {
            let to = strings.len();
            for i in from..to {
                for byte in alphabet {
                    let mut longer = strings[i].clone();
                    longer.push(byte);
                    strings.push(longer);
                }
            }
            from = to;
        }
        strings.push(b"svc:12345678".to_vec());
        strings.push(b"svc:123456".to_vec());
        for tail in &strings {
            let tail = std::str::from_utf8(tail).unwrap_or_default();
            for head in ["", "a", "svc-b", "svc-b.default", "[::1]", "x:y"] {
                let authority = format!("{head}{tail}");
                assert_eq!(
                    split_host_port(&authority),
                    split_other_host_port(&authority),
                    "{authority:?}"
                );
            }
        }
        // Every ASCII byte and a two-byte character in each of the last eight places.
        let base = "svc-b.ns:12345";
        for at in base.len() - 8..base.len() {
            for byte in (0..0x80_u8).map(char::from).chain(['é']) {
                let mut authority = base.to_owned();
                authority.replace_range(at..=at, byte.encode_utf8(&mut [0; 4]));
                assert_eq!(
                    split_host_port(&authority),
                    split_other_host_port(&authority),
                    "{authority:?}"
                );
            }
        }
        for port in 0..=99_999_u32 {
            let authority = format!("svc-b.default:{port}");
            let expected = u16::try_from(port).ok().map(|p| ("svc-b.default", Some(p)));
            assert_eq!(
                split_host_port(&authority),
                expected.unwrap_or((&authority, None)),
                "{authority:?}"
            );
        }
    }

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(split_host_port("svc-b:8080"), ("svc-b", Some(8080)));
        assert_eq!(split_host_port("svc-b"), ("svc-b", None));
        assert_eq!(split_host_port("[::1]:80"), ("[::1]", Some(80)));
        assert_eq!(split_host_port("[::1]"), ("[::1]", None));
        assert_eq!(split_host_port("::1"), ("::1", None));
        assert_eq!(split_host_port("a:b"), ("a:b", None));
        assert_eq!(split_host_port("a:"), ("a:", None));
        assert_eq!(split_host_port("a:65535"), ("a", Some(65535)));
        assert_eq!(split_host_port("a:65536"), ("a:65536", None));
        assert_eq!(split_host_port("a:+80"), ("a", Some(80)));
        assert_eq!(split_host_port("a:000080"), ("a", Some(80)));
        assert_eq!(split_host_port("a:0080"), ("a", Some(80)));
        let mut buffer = None;
        assert_eq!(lowercase("Svc-B", &mut buffer), Some("svc-b"));
        let mut buffer = None;
        assert_eq!(lowercase("svc-b", &mut buffer), Some("svc-b"));
        assert!(buffer.is_none(), "a lowercase host is not copied");
        let mut buffer = None;
        assert_eq!(lowercase("", &mut buffer), None);
        let mut buffer = None;
        assert_eq!(lowercase(&"a".repeat(300), &mut buffer), None);
    }
}
