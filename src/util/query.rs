//! Raw query strings, parsed once and the same way everywhere: route matching, hash policies,
//! context propagation.
//!
//! Envoy's `Http::Utility::QueryParamsMulti::parseQueryString` (`source/common/http/utility.cc`
//! in envoyproxy/envoy), which both the router's query parameter matchers and the
//! `query_parameter` hash policy use: pieces split at `&`, each at its first `=` (no `=` means
//! the value `""`), **no percent-decoding**. An empty piece after the last `&` (or an empty query)
//! is not a parameter; an empty piece between two `&` is the parameter `""`.

/// The parameters of a raw query string (without the `?`), in order, as written (`key=value`).
pub(crate) fn pieces(query: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(query).filter(|q| !q.is_empty());
    std::iter::from_fn(move || {
        let current = rest?;
        let (piece, next) = match split_at(current, b'&') {
            Some((piece, next)) => (piece, Some(next).filter(|n| !n.is_empty())),
            None => (current, None),
        };
        rest = next;
        Some(piece)
    })
}

/// The key and value of one parameter as written.
pub(crate) fn split(piece: &str) -> (&str, &str) {
    split_at(piece, b'=').unwrap_or((piece, ""))
}

/// `s.split_once(byte)` for an ASCII byte, as a plain byte scan: the one separator search of the
/// route path (a `char` pattern compiles to a searcher the optimizer does not always inline).
#[inline]
fn split_at(s: &str, byte: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == byte)?;
    // An ASCII byte is a character boundary on both sides.
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// The parameters of a raw query string (without the `?`), in order, as `(key, value)`: the
/// definition [`first_value`] is tested against.
#[cfg(test)]
pub(crate) fn params(query: &str) -> impl Iterator<Item = (&str, &str)> {
    pieces(query).map(split)
}

/// The first value of `key` in a raw query string (without the `?`), not decoded; `""` for a
/// bare `key`. For a key known when the configuration compiles, [`QueryKey::first_value`] does
/// the key's check once.
pub(crate) fn first_value<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    // A key with `&` or `=` never equals a piece's key, which ends at its first `=`.
    if has_separator(key.as_bytes()) {
        return None;
    }
    plain_first_value(query, key.as_bytes())
}

/// A query parameter name of the configuration (a `queryParams` key), with whether it can
/// equal a parameter's key at all, worked out once instead of per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryKey {
    name: Box<str>,
    /// No `&` or `=`: a key with one never equals a piece's key.
    plain: bool,
}

impl QueryKey {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            plain: !has_separator(name.as_bytes()),
        }
    }

    /// [`first_value`] of this key.
    #[inline]
    pub(crate) fn first_value<'q>(&self, query: &'q str) -> Option<&'q str> {
        if !self.plain {
            return None;
        }
        plain_first_value(query, self.name.as_bytes())
    }
}

impl std::fmt::Display for QueryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// [`first_value`] for a key without `&` or `=`.
///
/// One pass over the pieces without splitting each (the same answer as
/// `params(query).find_map(..)`, checked by `first_value_agrees_with_params`): a piece is
/// compared with `key` only at its start, inline ([`bytes::eq`](super::bytes::eq)). Inlined:
/// the call and its register saves cost a fifth of a lookup.
#[inline(always)]
fn plain_first_value<'q>(query: &'q str, wanted: &[u8]) -> Option<&'q str> {
    let bytes = query.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let mut start = 0;
    loop {
        // The piece's head is compared with the key before the piece's end is looked for: a
        // matching piece is then scanned over its value only.
        let value_at = start + wanted.len();
        let head_matches = bytes
            .get(start..value_at)
            .is_some_and(|head| super::bytes::bytes_eq(head, wanted));
        let mut end = if head_matches { value_at } else { start };
        while let Some(&byte) = bytes.get(end) {
            if byte == b'&' {
                break;
            }
            end += 1;
        }
        if head_matches {
            match bytes.get(value_at) {
                None | Some(b'&') => return Some(""),
                Some(b'=') => return query.get(value_at + 1..end),
                _ => {}
            }
        }
        // An empty piece after the last `&` is not a parameter.
        start = end + 1;
        if start >= bytes.len() {
            return None;
        }
    }
}

/// Whether a key has `&` or `=` (eight bytes at a time).
#[inline]
fn has_separator(key: &[u8]) -> bool {
    super::bytes::contains_either(key, b'&', b'=')
}

/// The query part of a `:path` (after its first `?`), if it has one.
pub(crate) fn of_path(path_and_query: &str) -> Option<&str> {
    path_and_query.split_once('?').map(|(_, query)| query)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `test/common/http/utility_test.cc` `parseQueryString`: `/hello?` has no parameters; `a&&b`
    /// has `""`.
    #[test]
    fn pieces_follow_envoy() {
        assert_eq!(params("").count(), 0);
        assert_eq!(params("a=1&b").collect::<Vec<_>>(), [("a", "1"), ("b", "")]);
        assert_eq!(params("a&").collect::<Vec<_>>(), [("a", "")]);
        assert_eq!(
            params("a&&b").collect::<Vec<_>>(),
            [("a", ""), ("", ""), ("b", "")]
        );
        assert_eq!(first_value("name=xx&name=yy", "name"), Some("xx"));
        assert_eq!(first_value("x=%41", "x"), Some("%41"));
        assert_eq!(first_value("a=b=c", "a"), Some("b=c"));
        assert_eq!(first_value("", ""), None);
        assert_eq!(of_path("/p?a=1?b"), Some("a=1?b"));
        assert_eq!(of_path("/p"), None);
    }

    /// `first_value` against the piece-by-piece definition, over every query and key made of
    /// `a`, `=`, `&` up to five bytes (and the key `""`).
    #[test]
    fn first_value_agrees_with_params() {
        let alphabet = ["a", "b", "=", "&"];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = strings
                .iter()
                .filter(|s| s.len() == strings.last().map_or(0, String::len))
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
        }
        for query in &strings {
            for key in strings.iter().filter(|k| k.len() <= 3) {
                let expected = params(query).find_map(|(k, v)| (k == key).then_some(v));
                assert_eq!(
                    first_value(query, key),
                    expected,
                    "query {query:?}, key {key:?}"
                );
                assert_eq!(
                    QueryKey::new(key).first_value(query),
                    expected,
                    "query {query:?}, compiled key {key:?}"
                );
            }
        }
    }
}
