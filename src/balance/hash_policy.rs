//! The request hash of Istio's `consistentHash`, computed the way Envoy's router does.
//!
//! Ring hash and Maglev place *hashes*, so sticky sessions need the same 64-bit hash for the
//! same request as Envoy computes. Istio turns a DestinationRule's `consistentHash` into one
//! route hash policy: `httpHeaderName` → header, `httpCookie` → cookie, `useSourceIp` →
//! connection source IP, `httpQueryParameterName` → query parameter (Istio sets no `terminal`
//! flag). Envoy evaluates them in `source/common/http/hash_policy.cc` (`HashPolicyImpl`):
//!
//! - **Header** (`HeaderHashMethod`): every entry of the header (a header sent on two lines is
//!   two entries; values are not split at commas), sorted bytewise, hashed with the chained
//!   list form of XXH64 ([`xxhash64_chain`]). One entry hashes as `XXH64(value)`; an empty
//!   value is still present (`XXH64("")`). No entry: no hash.
//! - **Cookie** (`CookieHashMethod`, `Utility::parseCookieValue`): the first cookie named
//!   `name` across all `cookie` headers, pieces split at `;`, the name running from the first
//!   non-space character to the first `=`, pieces without `=` skipped, one pair of surrounding
//!   double quotes stripped. A non-empty value hashes as `XXH64(value)`. When it is absent or
//!   empty and a `ttl` is set, Envoy generates a cookie (`Router::Filter::addDownstreamSetCookie`
//!   in `source/common/router/router.h`): the value is the 16 lower-case hex digits of
//!   `XXH64(remote.asString() + local.asString())` over the downstream connection's addresses
//!   (with ports), the hash is `XXH64(value)`, and the response gets
//!   `Set-Cookie: name="value"; Max-Age=ttl; Path=path; HttpOnly`
//!   (`Utility::makeSetCookieValue`: no `Max-Age` for a ttl of 0 s, no `Path` for an empty
//!   path). Without the addresses there is no hash, as in Envoy's `MaglevLbWithHashPolicy`
//!   test. Without a ttl: no hash.
//! - **Source IP** (`IpHashMethod`): `XXH64` of the downstream IP without the port
//!   (`addressAsString()`: `1.2.3.4`, IPv6 as `inet_ntop` prints it, no brackets).
//! - **Query parameter** (`QueryParameterHashMethod`, `QueryParamsMulti::parseQueryString`):
//!   the query starts after the first `?`; pieces split at `&`, each at its first `=` (no `=`
//!   means an empty value); **no percent-decoding**; the first occurrence wins.
//!
//! Several policies combine in order (`HashPolicyImpl::generateHash`): the first hash is taken
//! as is and each later one is mixed in as `hash = rotl64(hash, 1) ^ new`. If none produces a
//! hash the balancer uses a random number instead (`LoadBalancerImpl::chooseHost` of
//! `ThreadAwareLoadBalancerBase` in
//! `source/extensions/load_balancing_policies/common/thread_aware_lb_impl.cc`), which is the
//! caller's job.
//!
//! The normal path allocates nothing: header values are hashed in place (up to
//! [`INLINE_HEADER_VALUES`] entries of one header are sorted on the stack; more are sorted in a
//! heap buffer), cookie and query values are slices of the request, and the source IP is
//! formatted into a stack buffer. Only a generated cookie allocates, for its `Set-Cookie` text.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::hash::{xxhash64, xxhash64_chain};
use crate::util::query;

/// How many entries of one header are sorted on the stack; more go to a heap buffer.
pub(crate) const INLINE_HEADER_VALUES: usize = 8;

/// One hash policy of a route, as Istio's `consistentHash` produces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HashPolicy {
    /// `httpHeaderName`: the header's values (all entries, sorted).
    Header {
        /// The header name (lower case, as `http::HeaderName` stores it).
        name: http::HeaderName,
    },
    /// `httpCookie`: the cookie's value, or a generated cookie when absent and `ttl` is set.
    Cookie {
        /// The cookie name, compared byte for byte.
        name: String,
        /// `Path=` of a generated cookie (`None` or empty: no `Path`).
        path: Option<String>,
        /// Lifetime of a generated cookie (whole seconds, as Envoy truncates); `None`: never
        /// generate.
        ttl: Option<Duration>,
    },
    /// `useSourceIp`: the downstream IP address, without the port.
    SourceIp,
    /// `httpQueryParameterName`: the raw (not percent-decoded) value of the first occurrence.
    QueryParameter {
        /// The parameter name, compared byte for byte with the raw query.
        name: String,
    },
}

/// What a request offers to the hash policies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HashInput<'a> {
    /// The request headers (`cookie` and the policy's header are read).
    pub(crate) headers: &'a http::HeaderMap,
    /// The `:path` pseudo-header: path and query, e.g. `/cart?user=7`.
    pub(crate) path_and_query: &'a str,
    /// The client address for `useSourceIp` (Envoy's downstream remote address, which may be
    /// XFF-derived). When `None`, the IP of the downstream remote address is used. A dual-stack socket's
    /// IPv4-mapped peer (`::ffff:1.2.3.4`) hashes as IPv6 text; Envoy reports such peers as
    /// IPv4 unless the listener is IPv6-only, so pass `ip.to_canonical()` to match it.
    pub(crate) source_ip: Option<&'a IpAddr>,
    /// The downstream connection's `(remote, local)` addresses (for generated cookies).
    /// Borrowed, as `source_ip`: the input is built per pick and the addresses are 64 bytes.
    pub(crate) downstream: Option<&'a (SocketAddr, SocketAddr)>,
}

/// The request's hash and the cookie a cookie policy asks to set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HashResult {
    /// The combined hash; `None` when no policy produced one (Envoy then uses a random number).
    pub(crate) hash: Option<u64>,
    /// A `Set-Cookie` header value for the response when a cookie was generated
    /// (`name="0123456789abcdef"; Max-Age=60; Path=/; HttpOnly`). With several generating
    /// cookie policies (Istio has at most one) only the first is kept.
    pub(crate) set_cookie: Option<String>,
}

/// Evaluates `policies` in order and combines their hashes like Envoy's
/// `HashPolicyImpl::generateHash` (`rotl64(hash, 1) ^ new`; no terminal policies).
#[inline]
pub(crate) fn hash(policies: &[HashPolicy], input: &HashInput<'_>) -> HashResult {
    // The common policy alone (`httpHeaderName`): its hash as is, no cookie to carry.
    if let [HashPolicy::Header { name }] = policies {
        return HashResult {
            hash: header_hash(input.headers, name),
            set_cookie: None,
        };
    }
    combined_hash(policies, input)
}

/// [`hash`] for any list of policies.
fn combined_hash(policies: &[HashPolicy], input: &HashInput<'_>) -> HashResult {
    let mut result = HashResult::default();
    for policy in policies {
        let new = match policy {
            HashPolicy::Header { name } => header_hash(input.headers, name),
            HashPolicy::Cookie { name, path, ttl } => {
                cookie_hash(input, name, path.as_deref(), *ttl, &mut result.set_cookie)
            }
            HashPolicy::SourceIp => source_ip_hash(input),
            HashPolicy::QueryParameter { name } => {
                query_parameter(input.path_and_query, name).map(|v| xxhash64(v.as_bytes(), 0))
            }
        };
        if let Some(new) = new {
            let old = result.hash.map_or(0, |h| h.rotate_left(1));
            result.hash = Some(old ^ new);
        }
    }
    result
}

/// Up to this many header entries, [`header_hash`] finds its header by comparing names in
/// order instead of hashing the name (`HeaderMap::get_all` hashes it byte by byte, then
/// probes: 170 instructions in callgrind; a comparison that fails on the length or on a
/// standard header's tag costs a few).
pub(crate) const SCAN_HEADERS: usize = 8;

/// `HeaderHashMethod::evaluate`: all entries, sorted bytewise, list-hashed.
fn header_hash(headers: &http::HeaderMap, name: &http::HeaderName) -> Option<u64> {
    if headers.len() <= SCAN_HEADERS {
        scanned_header_hash(headers, name)
    } else {
        looked_up_header_hash(headers, name)
    }
}

/// [`header_hash`] comparing each entry's name.
fn scanned_header_hash(headers: &http::HeaderMap, name: &http::HeaderName) -> Option<u64> {
    // A plain loop for the common single entry (an iterator chain's `find` was left out of
    // line); a second entry hands over to the sorting path.
    let mut found = None;
    for (entry, value) in headers {
        if entry == name {
            if found.is_some() {
                return scanned_values_hash(headers, name);
            }
            found = Some(value.as_bytes());
        }
    }
    found.map(|value| xxhash64(value, 0))
}

/// [`scanned_header_hash`] with all the entries of `name`, however many.
fn scanned_values_hash(headers: &http::HeaderMap, name: &http::HeaderName) -> Option<u64> {
    let mut iter = headers
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.as_bytes());
    let first = iter.next()?;
    match iter.next() {
        None => Some(xxhash64(first, 0)),
        Some(second) => Some(sorted_values_hash(first, second, iter)),
    }
}

/// [`header_hash`] through the header map's own lookup.
fn looked_up_header_hash(headers: &http::HeaderMap, name: &http::HeaderName) -> Option<u64> {
    let values = headers.get_all(name);
    let mut iter = values.iter();
    let first = iter.next()?.as_bytes();
    let Some(second) = iter.next() else {
        return Some(xxhash64(first, 0));
    };
    Some(sorted_values_hash(
        first,
        second.as_bytes(),
        iter.map(http::HeaderValue::as_bytes),
    ))
}

/// The list hash of two or more entries of one header, sorted bytewise.
fn sorted_values_hash<'v>(
    first: &'v [u8],
    second: &'v [u8],
    rest: impl Iterator<Item = &'v [u8]>,
) -> u64 {
    let mut inline: [&[u8]; INLINE_HEADER_VALUES] = [&[]; INLINE_HEADER_VALUES];
    let mut count = 0_usize;
    let all = [first, second].into_iter().chain(rest);
    let mut heap: Vec<&[u8]> = Vec::new();
    for value in all {
        if let Some(slot) = inline.get_mut(count) {
            *slot = value;
            count += 1;
        } else {
            if heap.is_empty() {
                heap.reserve(INLINE_HEADER_VALUES * 2);
                heap.extend_from_slice(&inline);
            }
            heap.push(value);
        }
    }
    let sorted: &mut [&[u8]] = if heap.is_empty() {
        inline.get_mut(..count).unwrap_or_default()
    } else {
        &mut heap
    };
    sorted.sort_unstable();
    xxhash64_chain(sorted.iter().copied(), 0)
}

/// `CookieHashMethod::evaluate` with the router's `addDownstreamSetCookie`.
fn cookie_hash(
    input: &HashInput<'_>,
    name: &str,
    path: Option<&str>,
    ttl: Option<Duration>,
    set_cookie: &mut Option<String>,
) -> Option<u64> {
    if let Some(value) = cookie_value(input.headers, name.as_bytes()) {
        if !value.is_empty() {
            return Some(xxhash64(value, 0));
        }
    }
    let ttl = ttl?;
    let &(remote, local) = input.downstream?;
    let mut addresses = StackText::<160>::new();
    write_socket_addr(&mut addresses, remote).ok()?;
    write_socket_addr(&mut addresses, local).ok()?;
    let mut value = StackText::<16>::new();
    write!(value, "{:016x}", xxhash64(addresses.as_bytes(), 0)).ok()?;
    if set_cookie.is_none() {
        *set_cookie = Some(set_cookie_value(name, value.as_str(), path, ttl));
    }
    Some(xxhash64(value.as_bytes(), 0))
}

/// `Utility::parseCookieValue`: the first cookie named `name` in any `cookie` header.
fn cookie_value<'h>(headers: &'h http::HeaderMap, name: &[u8]) -> Option<&'h [u8]> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .flat_map(|header| header.as_bytes().split(|&b| b == b';'))
        .find_map(|piece| {
            let equals = piece.iter().position(|&b| b == b'=')?;
            let (key, rest) = piece.split_at(equals);
            let start = key.iter().position(|&b| b != b' ').unwrap_or(key.len());
            let key = key.get(start..)?;
            if key != name {
                return None;
            }
            let value = rest.get(1..)?;
            Some(match value {
                [b'"', inner @ .., b'"'] => inner,
                _ => value,
            })
        })
}

/// `Utility::makeSetCookieValue(key, value, path, max_age, httponly = true)` without
/// attributes.
fn set_cookie_value(name: &str, value: &str, path: Option<&str>, ttl: Duration) -> String {
    let mut cookie = String::with_capacity(name.len() + value.len() + 48);
    // Writing to a `String` cannot fail.
    let _ = write!(cookie, "{name}=\"{value}\"");
    let seconds = ttl.as_secs();
    if seconds != 0 {
        let _ = write!(cookie, "; Max-Age={seconds}");
    }
    if let Some(path) = path.filter(|p| !p.is_empty()) {
        let _ = write!(cookie, "; Path={path}");
    }
    cookie.push_str("; HttpOnly");
    cookie
}

/// `IpHashMethod::evaluate`: `XXH64(ip()->addressAsString())`.
fn source_ip_hash(input: &HashInput<'_>) -> Option<u64> {
    let mut text = StackText::<64>::new();
    match (input.source_ip, input.downstream.map(|(remote, _)| remote)) {
        (Some(ip), _) => write_ip(&mut text, *ip),
        (None, Some(SocketAddr::V6(remote))) => write_ip(&mut text, IpAddr::V6(*remote.ip()))
            .and_then(|()| write_scope(&mut text, remote.scope_id())),
        (None, Some(SocketAddr::V4(remote))) => write_ip(&mut text, IpAddr::V4(*remote.ip())),
        (None, None) => return None,
    }
    .ok()?;
    Some(xxhash64(text.as_bytes(), 0))
}

/// `QueryParamsMulti::parseQueryString(path).getFirstValue(name)`, without decoding.
fn query_parameter<'p>(path: &'p str, name: &str) -> Option<&'p str> {
    query::first_value(query::of_path(path)?, name)
}

/// An IP as Envoy's `addressAsString()` prints it: dotted quad for IPv4; for IPv6 glibc's
/// `inet_ntop`, which is RFC 5952 (Rust's `Display`) except that IPv4-compatible addresses
/// (`::a.b.c.d` with `a.b` not `0.0`) keep the dotted quad.
fn write_ip(out: &mut impl fmt::Write, ip: IpAddr) -> fmt::Result {
    match ip {
        IpAddr::V4(v4) => write!(out, "{v4}"),
        IpAddr::V6(v6) => write_ipv6(out, &v6),
    }
}

fn write_ipv6(out: &mut impl fmt::Write, ip: &Ipv6Addr) -> fmt::Result {
    match ip.octets() {
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, a, b, c, d] if (a, b) != (0, 0) => {
            write!(out, "::{a}.{b}.{c}.{d}")
        }
        _ => write!(out, "{ip}"),
    }
}

/// Newest Envoy appends `%<scope id>` to a scoped IPv6 address.
fn write_scope(out: &mut impl fmt::Write, scope_id: u32) -> fmt::Result {
    if scope_id == 0 {
        Ok(())
    } else {
        write!(out, "%{scope_id}")
    }
}

/// `asString()`: `1.2.3.4:5`, `[::1]:5` (`[fe80::1%2]:5` with a scope id).
fn write_socket_addr(out: &mut impl fmt::Write, addr: SocketAddr) -> fmt::Result {
    match addr {
        SocketAddr::V4(v4) => write!(out, "{v4}"),
        SocketAddr::V6(v6) => {
            out.write_char('[')?;
            write_ipv6(out, v6.ip())?;
            write_scope(out, v6.scope_id())?;
            write!(out, "]:{}", v6.port())
        }
    }
}

/// A fixed-capacity text buffer on the stack; writing past the end is an error.
struct StackText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    fn new() -> Self {
        StackText {
            bytes: [0; N],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever written.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV6};

    const EMPTY_XXH64: u64 = 0xEF46_DB37_51D8_E999;

    fn input<'a>(headers: &'a http::HeaderMap, path: &'a str) -> HashInput<'a> {
        HashInput {
            headers,
            path_and_query: path,
            source_ip: None,
            downstream: None,
        }
    }

    fn header(name: &'static str) -> HashPolicy {
        HashPolicy::Header {
            name: http::HeaderName::from_static(name),
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for &(name, value) in pairs {
            map.append(name, http::HeaderValue::from_static(value));
        }
        map
    }

    fn query(name: &str) -> HashPolicy {
        HashPolicy::QueryParameter { name: name.into() }
    }

    fn cookie(name: &str, ttl: Option<u64>, path: Option<&str>) -> HashPolicy {
        HashPolicy::Cookie {
            name: name.into(),
            path: path.map(Into::into),
            ttl: ttl.map(Duration::from_secs),
        }
    }

    fn hash_of(policy: HashPolicy, headers: &http::HeaderMap, path: &str) -> Option<u64> {
        hash(&[policy], &input(headers, path)).hash
    }

    fn x(s: &str) -> u64 {
        xxhash64(s.as_bytes(), 0)
    }

    /// hash_policy.cc `HeaderHashMethod`: a missing header gives no hash.
    #[test]
    fn absent_header_gives_no_hash() {
        let map = headers(&[("x-other", "foo")]);
        assert_eq!(hash_of(header("x-user"), &map, "/"), None);
        assert_eq!(
            hash(&[header("x-user")], &input(&map, "/")),
            HashResult::default()
        );
    }

    /// `test/common/http/hash_policy_test.cc` `HeaderHashForSingleHeaderValue`: one value hashes as
    /// `XXH64(value)`.
    #[test]
    fn single_header_value_is_plain_xxhash() {
        let map = headers(&[("x-user", "foo")]);
        assert_eq!(
            hash_of(header("x-user"), &map, "/"),
            Some(3728699739546630719)
        );
    }

    /// An empty header value is present: it hashes "" (0xEF46DB3751D8E999).
    #[test]
    fn empty_header_value_hashes_the_empty_string() {
        let map = headers(&[("x-user", "")]);
        assert_eq!(hash_of(header("x-user"), &map, "/"), Some(EMPTY_XXH64));
    }

    /// hash_policy_test.cc `MultipleHeaderValues` and
    /// `HeaderHashMethodSameHashForDifferentHeaderOrder`: entries are sorted, so the order of the
    /// lines does not matter, and the list form chains the seed.
    #[test]
    fn header_lines_are_sorted_then_list_hashed() {
        let expected = xxhash64_chain([b"bar".as_slice(), b"foo"], 0);
        assert_eq!(expected, xxhash64(b"foo", xxhash64(b"bar", 0)));
        let foo_bar = headers(&[("x-user", "foo"), ("x-user", "bar")]);
        let bar_foo = headers(&[("x-user", "bar"), ("x-user", "foo")]);
        assert_eq!(hash_of(header("x-user"), &foo_bar, "/"), Some(expected));
        assert_eq!(hash_of(header("x-user"), &bar_foo, "/"), Some(expected));
        // One line with a comma is one value, not split.
        let joined = headers(&[("x-user", "bar,foo")]);
        assert_eq!(hash_of(header("x-user"), &joined, "/"), Some(x("bar,foo")));
    }

    /// The scan over a small map and the map's own lookup find the same entries: every map of
    /// up to 6 entries drawn from standard and custom names (one of them the policy's, a
    /// name of the same length, a standard header), in every order of insertion, the
    /// policy's header absent, once or repeated.
    #[test]
    fn scanning_and_looking_up_agree() {
        let name = http::HeaderName::from_static("x-user");
        let pool: [(&'static str, &'static str); 6] = [
            ("x-user", "b"),
            ("x-usez", "a"),
            ("host", "svc"),
            ("x-user", "a"),
            ("cookie", "x-user=c"),
            ("x-user", ""),
        ];
        // Each entry of the pool in or out, then the chosen ones rotated.
        for mask in 0..(1_u32 << pool.len()) {
            let chosen: Vec<_> = (0..pool.len())
                .filter(|i| mask & (1 << i) != 0)
                .filter_map(|i| pool.get(i).copied())
                .collect();
            for shift in 0..chosen.len().max(1) {
                let mut order = chosen.clone();
                let shift = shift.min(order.len());
                order.rotate_left(shift);
                let map = headers(&order);
                assert!(map.len() <= SCAN_HEADERS);
                assert_eq!(
                    scanned_header_hash(&map, &name),
                    looked_up_header_hash(&map, &name),
                    "{order:?}"
                );
                assert_eq!(header_hash(&map, &name), scanned_header_hash(&map, &name));
            }
        }
        // Past SCAN_HEADERS the lookup answers, with the same result as the scan.
        let many: Vec<(&'static str, &'static str)> = std::iter::repeat_n(("x-usez", "z"), 9)
            .chain([("x-user", "b"), ("x-user", "a")])
            .collect();
        let map = headers(&many);
        assert!(map.len() > SCAN_HEADERS);
        let expected = xxhash64_chain([b"a".as_slice(), b"b"], 0);
        assert_eq!(header_hash(&map, &name), Some(expected));
        assert_eq!(scanned_header_hash(&map, &name), Some(expected));
    }

    /// More entries than fit on the stack sort the same way (heap path).
    #[test]
    fn many_header_lines_sort_like_few() {
        let values: Vec<String> = (0..20).rev().map(|i| format!("v{i:02}")).collect();
        let mut map = http::HeaderMap::new();
        for v in &values {
            map.append("x-user", http::HeaderValue::from_str(v).unwrap());
        }
        let mut sorted = values.clone();
        sorted.sort();
        let expected = xxhash64_chain(sorted.iter().map(|s| s.as_bytes()), 0);
        assert_eq!(hash_of(header("x-user"), &map, "/"), Some(expected));
        // Exactly the inline capacity, with a duplicate.
        let eight = headers(&[
            ("x-user", "h"),
            ("x-user", "b"),
            ("x-user", "g"),
            ("x-user", "b"),
            ("x-user", "e"),
            ("x-user", "d"),
            ("x-user", "c"),
            ("x-user", "a"),
        ]);
        let expected = xxhash64_chain(
            ["a", "b", "b", "c", "d", "e", "g", "h"].map(str::as_bytes),
            0,
        );
        assert_eq!(hash_of(header("x-user"), &eight, "/"), Some(expected));
    }

    /// hash_policy.cc `HashPolicyImpl::generateHash`: two policies combine as `rotl(h, 1) ^ new`.
    #[test]
    fn policies_combine_with_rotate_and_xor() {
        let map = headers(&[("x-a", "foo"), ("x-b", "foo"), ("x-c", "bar")]);
        let both_foo = hash(&[header("x-a"), header("x-b")], &input(&map, "/")).hash;
        assert_eq!(both_foo, Some(6107164738285588033));
        assert_eq!(both_foo, Some(x("foo").rotate_left(1) ^ x("foo")));
        let foo_bar = hash(&[header("x-a"), header("x-c")], &input(&map, "/")).hash;
        assert_eq!(foo_bar, Some(3449051153737634343));
        // A policy without a hash is skipped; the first hash is taken as is.
        let skip = hash(&[header("x-none"), header("x-a")], &input(&map, "/")).hash;
        assert_eq!(skip, Some(x("foo")));
    }

    /// hash_policy_test / route_test `HashPolicyCookie`: cookie parsing rules of
    /// `Utility::parseCookieValue`.
    #[test]
    fn cookie_value_is_parsed_like_envoy() {
        let policy = || cookie("session", None, None);
        let quoted = headers(&[("cookie", "a=1; session=\"abc\"; b=2")]);
        assert_eq!(hash_of(policy(), &quoted, "/"), Some(x("abc")));
        let first = headers(&[("cookie", "session=one"), ("cookie", "session=two")]);
        assert_eq!(hash_of(policy(), &first, "/"), Some(x("one")));
        let spaces = headers(&[("cookie", "x;   session=a b ;c")]);
        assert_eq!(hash_of(policy(), &spaces, "/"), Some(x("a b ")));
        let equals = headers(&[("cookie", "session=a=b")]);
        assert_eq!(hash_of(policy(), &equals, "/"), Some(x("a=b")));
        let exact = headers(&[("cookie", "Session=1; sessionx=2; session =3")]);
        assert_eq!(hash_of(policy(), &exact, "/"), None);
        let one_quote = headers(&[("cookie", "session=\"")]);
        assert_eq!(hash_of(policy(), &one_quote, "/"), Some(x("\"")));
    }

    /// An absent or empty cookie without a ttl gives no hash; an empty first match hides a
    /// later one.
    #[test]
    fn missing_or_empty_cookie_without_ttl_gives_no_hash() {
        let policy = || cookie("session", None, Some("/"));
        assert_eq!(hash_of(policy(), &headers(&[]), "/"), None);
        let empty = headers(&[("cookie", "session=; session=x")]);
        assert_eq!(hash_of(policy(), &empty, "/"), None);
        let quotes = headers(&[("cookie", "session=\"\"")]);
        assert_eq!(hash_of(policy(), &quotes, "/"), None);
    }

    /// router.h `addDownstreamSetCookie`: a missing cookie with a ttl is generated from the
    /// connection's addresses, hashed, and set on the response.
    #[test]
    fn missing_cookie_with_ttl_is_generated_from_addresses() {
        let map = headers(&[]);
        let remote: SocketAddr = "10.0.0.1:5555".parse().unwrap();
        let local: SocketAddr = "10.0.0.2:8080".parse().unwrap();
        let mut req = input(&map, "/");
        let addresses = (remote, local);
        req.downstream = Some(&addresses);
        let value = format!("{:016x}", x("10.0.0.1:555510.0.0.2:8080"));
        assert_eq!(value.len(), 16);
        let result = hash(&[cookie("session", Some(60), Some("/cart"))], &req);
        assert_eq!(result.hash, Some(x(&value)));
        assert_eq!(
            result.set_cookie.as_deref(),
            Some(format!("session=\"{value}\"; Max-Age=60; Path=/cart; HttpOnly").as_str())
        );
        // No path: no `Path=`; ttl 0: no `Max-Age` (makeSetCookieValue), still hashed.
        let no_path = hash(&[cookie("session", Some(0), None)], &req);
        assert_eq!(no_path.hash, Some(x(&value)));
        assert_eq!(
            no_path.set_cookie.as_deref(),
            Some(format!("session=\"{value}\"; HttpOnly").as_str())
        );
        // Without the addresses nothing is generated (maglev_lb_test `MaglevLbWithHashPolicy`).
        req.downstream = None;
        assert_eq!(
            hash(&[cookie("session", Some(60), None)], &req),
            HashResult::default()
        );
    }

    /// Generated cookies over IPv6 hash Envoy's `[ip]:port` text.
    #[test]
    fn generated_cookie_uses_bracketed_ipv6_addresses() {
        let map = headers(&[]);
        let mut req = input(&map, "/");
        let addresses = (
            "[2001:db8::1]:40000".parse().unwrap(),
            SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 443, 0, 3)),
        );
        req.downstream = Some(&addresses);
        let value = format!("{:016x}", x("[2001:db8::1]:40000[fe80::1%3]:443"));
        let result = hash(&[cookie("s", Some(5), None)], &req);
        assert_eq!(result.hash, Some(x(&value)));
    }

    /// A present cookie wins over generation and sets nothing.
    #[test]
    fn present_cookie_is_not_regenerated() {
        let map = headers(&[("cookie", "session=abc")]);
        let mut req = input(&map, "/");
        let addresses = (
            "10.0.0.1:5555".parse().unwrap(),
            "10.0.0.2:8080".parse().unwrap(),
        );
        req.downstream = Some(&addresses);
        let result = hash(&[cookie("session", Some(60), None)], &req);
        assert_eq!(
            result,
            HashResult {
                hash: Some(x("abc")),
                set_cookie: None
            }
        );
    }

    /// `QueryParamsMulti::parseQueryString`: first occurrence, raw value, `?key` is "".
    #[test]
    fn query_parameter_is_first_occurrence_and_raw() {
        let map = headers(&[]);
        assert_eq!(
            hash_of(query("user"), &map, "/p?user=a&user=b"),
            Some(x("a"))
        );
        assert_eq!(
            hash_of(query("user"), &map, "/p?x=1&user=a%20b"),
            Some(x("a%20b"))
        );
        assert_eq!(hash_of(query("user"), &map, "/p?user"), Some(EMPTY_XXH64));
        assert_eq!(hash_of(query("user"), &map, "/p?user="), Some(EMPTY_XXH64));
        assert_eq!(hash_of(query("user"), &map, "/p?user=a=b"), Some(x("a=b")));
        assert_eq!(hash_of(query("user"), &map, "/p?users=1"), None);
        assert_eq!(hash_of(query("user"), &map, "/p"), None);
        assert_eq!(hash_of(query("user"), &map, "/p?a=1?user=2"), None);
        assert_eq!(hash_of(query("b"), &map, "/p?a=1?user=2&b=3"), Some(x("3")));
        assert_eq!(hash_of(query("user"), &map, "/user=1"), None);
    }

    /// `parseParameters` skips the empty piece at the very end but keeps empty pieces between
    /// two `&`.
    #[test]
    fn empty_query_pieces_follow_envoy() {
        let map = headers(&[]);
        assert_eq!(hash_of(query(""), &map, "/p?"), None);
        assert_eq!(hash_of(query(""), &map, "/p?a=1&"), None);
        assert_eq!(hash_of(query(""), &map, "/p?a=1&&b"), Some(EMPTY_XXH64));
        assert_eq!(hash_of(query(""), &map, "/p?=v"), Some(x("v")));
    }

    /// `IpHashMethod`: the IPv4 text without the port.
    #[test]
    fn source_ipv4_hashes_the_address_text() {
        let map = headers(&[]);
        let mut req = input(&map, "/");
        assert_eq!(hash(&[HashPolicy::SourceIp], &req).hash, None);
        let ip = IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4));
        req.source_ip = Some(&ip);
        assert_eq!(hash(&[HashPolicy::SourceIp], &req).hash, Some(x("1.2.3.4")));
        req.source_ip = None;
        let addresses = (
            "10.1.2.3:4567".parse().unwrap(),
            "10.0.0.2:8080".parse().unwrap(),
        );
        req.downstream = Some(&addresses);
        assert_eq!(
            hash(&[HashPolicy::SourceIp], &req).hash,
            Some(x("10.1.2.3"))
        );
    }

    /// `IpHashMethod`: IPv6 as `inet_ntop` prints it, without brackets or port.
    #[test]
    fn source_ipv6_hashes_inet_ntop_text() {
        let map = headers(&[]);
        for (ip, text) in [
            ("::1", "::1"),
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8::1:0:1", "2001:db8::1:0:1"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::", "::"),
            ("fe80::abcd", "fe80::abcd"),
            ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
        ] {
            let mut req = input(&map, "/");
            let ip = ip.parse().unwrap();
            req.source_ip = Some(&ip);
            assert_eq!(
                hash(&[HashPolicy::SourceIp], &req).hash,
                Some(x(text)),
                "{ip}"
            );
        }
        let mut req = input(&map, "/");
        let local: SocketAddr = "[::1]:8080".parse().unwrap();
        let addresses = ("[2001:db8::7]:443".parse().unwrap(), local);
        req.downstream = Some(&addresses);
        assert_eq!(
            hash(&[HashPolicy::SourceIp], &req).hash,
            Some(x("2001:db8::7"))
        );
        let scoped = (
            SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 443, 0, 2)),
            local,
        );
        req.downstream = Some(&scoped);
        assert_eq!(
            hash(&[HashPolicy::SourceIp], &req).hash,
            Some(x("fe80::1%2"))
        );
    }

    /// The longest IPv6 texts fit the stack buffers.
    #[test]
    fn longest_addresses_fit_the_stack_buffers() {
        let ip: Ipv6Addr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
        let addr = SocketAddr::V6(SocketAddrV6::new(ip, 65535, 0, u32::MAX));
        let mut text = StackText::<160>::new();
        write_socket_addr(&mut text, addr).unwrap();
        write_socket_addr(&mut text, addr).unwrap();
        assert_eq!(
            text.as_str().len(),
            2 * "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535".len()
        );
        let mut small = StackText::<4>::new();
        assert!(write_ip(&mut small, IpAddr::V6(ip)).is_err());
    }

    /// The example of the module documentation.
    #[test]
    fn example_header_policy() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-user", http::HeaderValue::from_static("foo"));
        let input = HashInput {
            headers: &headers,
            path_and_query: "/",
            source_ip: None,
            downstream: None,
        };
        let policy = [HashPolicy::Header {
            name: http::HeaderName::from_static("x-user"),
        }];
        assert_eq!(hash(&policy, &input).hash, Some(3728699739546630719)); // XXH64("foo")
    }
}
