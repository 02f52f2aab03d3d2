//! Byte comparisons for the request path.
//!
//! The strings a decision compares are short: host names, namespaces, query keys and values,
//! header values. `==` on them calls `memcmp` (callgrind: about 20 instructions per call for a
//! five-byte name, plus the call); [`eq`] compares up to 16 bytes inline with at most two
//! fixed-size loads per side.

/// `a == b`, inline for up to 16 bytes.
#[inline]
pub(crate) fn eq(a: &str, b: &str) -> bool {
    bytes_eq(a.as_bytes(), b.as_bytes())
}

/// `a == b` on bytes, inline for up to 16 bytes.
#[inline]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match (a, b) {
        ([], []) => true,
        ([a0], [b0]) => a0 == b0,
        ([a0, a1], [b0, b1]) => a0 == b0 && a1 == b1,
        ([a0, a1, a2], [b0, b1, b2]) => a0 == b0 && a1 == b1 && a2 == b2,
        _ if a.len() <= 8 => word::<4>(a, b),
        _ if a.len() <= 16 => word::<8>(a, b),
        _ => a == b,
    }
}

/// The first and the last `N` bytes of two strings of the same length between `N` and `2N`
/// bytes: together they cover every byte.
#[inline]
fn word<const N: usize>(a: &[u8], b: &[u8]) -> bool {
    match (a.first_chunk::<N>(), b.first_chunk::<N>()) {
        (Some(a0), Some(b0)) if a0 == b0 => {}
        _ => return false,
    }
    matches!((a.last_chunk::<N>(), b.last_chunk::<N>()), (Some(a1), Some(b1)) if a1 == b1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length up to 20, every single-byte difference: `eq` agrees with `==`.
    #[test]
    fn agrees_with_eq_for_every_length_and_position() {
        for n in 0..=20_usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(bytes_eq(&a, &a.clone()));
            for at in 0..n {
                let mut b = a.clone();
                if let Some(byte) = b.get_mut(at) {
                    *byte = b'#';
                }
                assert!(!bytes_eq(&a, &b), "length {n}, difference at {at}");
            }
            let longer = [a.as_slice(), b"x"].concat();
            assert!(!bytes_eq(&a, &longer));
        }
        assert!(eq("svc-b", "svc-b"));
        assert!(!eq("svc-b", "svc-a"));
        assert!(!eq("", "a"));
    }
}
