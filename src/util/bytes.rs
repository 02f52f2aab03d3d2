//! Byte comparisons for the request path.
//!
//! The strings a decision compares are short: host names, namespaces, query keys and values,
//! header values. `==` on them calls `memcmp` (callgrind: about 20 instructions per call for a
//! five-byte name, plus the call); [`eq`] compares up to 16 bytes inline with at most two
//! fixed-size loads per side. [`contains`] and [`has_uppercase`] scan eight bytes per step
//! (SWAR: bit tricks on a `u64`), where a byte loop over a 15-byte host name cost 100 and more
//! instructions per scan.

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

/// `0x01` in every byte.
const ONES: u64 = u64::from_le_bytes([0x01; 8]);
/// The high bit of every byte.
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// Whether `test` holds for some word of eight bytes of `bytes` (little-endian). The words
/// cover every byte, some twice (the last word overlaps the one before, and a short string
/// is read as two overlapping halves): right for tests that ask whether any byte qualifies.
/// Strings under four bytes are padded with zero bytes. Every load has a fixed size, so none
/// is a `memcpy` call.
#[inline]
fn any_word(bytes: &[u8], mut test: impl FnMut(u64) -> bool) -> bool {
    any_word_pair(bytes, bytes, |word, _| test(word))
}

/// [`any_word`] over two strings of the same length in step: `test` gets the words of `a` and
/// `b` at the same offsets (a shorter `b` reads as zero bytes).
#[inline]
fn any_word_pair(a: &[u8], b: &[u8], mut test: impl FnMut(u64, u64) -> bool) -> bool {
    let len = a.len();
    if len < 8 {
        return test(short_word(a), short_word(b));
    }
    // Whole words from the start, then the last eight bytes (overlapping the word before
    // unless the length is a multiple of eight).
    let mut at = 0;
    while at + 8 < len {
        if test(word_at(a, at), word_at(b, at)) {
            return true;
        }
        at += 8;
    }
    test(word_at(a, len - 8), word_at(b, len - 8))
}

/// The eight bytes of `bytes` from `at` as a little-endian word (zero past the end).
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk::<8>)
        .map_or(0, |word| u64::from_le_bytes(*word))
}

/// A string of up to seven bytes as one word: from four bytes up, its first and last four
/// (overlapping); below, its bytes padded with zero bytes (one load per byte, no loop).
#[inline]
fn short_word(bytes: &[u8]) -> u64 {
    if let (Some(low), Some(high)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        return u64::from(u32::from_le_bytes(*low)) | u64::from(u32::from_le_bytes(*high)) << 32;
    }
    match *bytes {
        [a, b, c] => u64::from(a) | u64::from(b) << 8 | u64::from(c) << 16,
        [a, b] => u64::from(a) | u64::from(b) << 8,
        [a] => u64::from(a),
        _ => 0,
    }
}

/// `word` with its ASCII uppercase letters in lowercase.
#[inline]
fn lowercase_word(word: u64) -> u64 {
    // 0x80 >> 2 is 0x20, the case bit.
    word | uppercase_bytes(word) >> 2
}

/// Whether `bytes` equals `lower`, a string without uppercase letters: with `FOLD`, ASCII
/// case ignored; without, byte for byte.
#[inline]
pub(crate) fn words_eq<const FOLD: bool>(bytes: &[u8], lower: &[u8]) -> bool {
    bytes.len() == lower.len()
        && !any_word_pair(bytes, lower, |word, other| {
            (if FOLD { lowercase_word(word) } else { word }) != other
        })
}

/// A hash of `bytes`, eight bytes per step, with (`FOLD`) or without its ASCII uppercase
/// letters lowercased: the same for two strings [`words_eq`] finds equal. It has no seed, so a
/// configuration can choose names that collide: the tables keyed with it hold at most
/// `MAX_INDEXED_NAMES` names (`route/table.rs`), which bounds the probes a build makes.
#[inline]
pub(crate) fn words_hash<const FOLD: bool>(bytes: &[u8]) -> u64 {
    // FxHash's multiplier; the length is mixed in first (the padding of short strings).
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut hash = (bytes.len() as u64).wrapping_mul(K);
    any_word(bytes, |word| {
        let word = if FOLD { lowercase_word(word) } else { word };
        hash = (hash.rotate_left(26) ^ word).wrapping_mul(K);
        false
    });
    hash ^ hash >> 32
}

/// The high bit of each zero byte of `word`, and maybe of bytes above one (a borrow only
/// crosses above a zero byte): exact as a yes/no answer.
#[inline]
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// Whether some byte of `word` is zero.
#[inline]
fn has_zero_byte(word: u64) -> bool {
    zero_bytes(word) != 0
}

/// The high bit of each ASCII uppercase letter of `word`.
#[inline]
fn uppercase_bytes(word: u64) -> u64 {
    // Each byte's low seven bits plus 0x3f reaches 0x80 from `A` up, plus 0x25 from `[` up;
    // neither sum carries into the next byte. A byte with its high bit set is no letter.
    let low = word & !HIGHS;
    let from_a = low.wrapping_add(ONES.wrapping_mul(0x3f));
    let past_z = low.wrapping_add(ONES.wrapping_mul(0x25));
    from_a & !past_z & !word & HIGHS
}

/// Whether `bytes` contains `needle`. Not for `needle` zero: the padding of the last word
/// would match it.
#[inline]
pub(crate) fn contains(bytes: &[u8], needle: u8) -> bool {
    let spread = ONES.wrapping_mul(u64::from(needle));
    any_word(bytes, |word| has_zero_byte(word ^ spread))
}

/// Whether `bytes` contains `a` or `b`, in one pass. Neither may be zero (see [`contains`]).
#[inline]
pub(crate) fn contains_either(bytes: &[u8], a: u8, b: u8) -> bool {
    let (spread_a, spread_b) = (
        ONES.wrapping_mul(u64::from(a)),
        ONES.wrapping_mul(u64::from(b)),
    );
    any_word(bytes, |word| {
        has_zero_byte(word ^ spread_a) || has_zero_byte(word ^ spread_b)
    })
}

/// Whether `bytes` contains an ASCII uppercase letter.
#[inline]
pub(crate) fn has_uppercase(bytes: &[u8]) -> bool {
    any_word(bytes, |word| uppercase_bytes(word) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position of every length up to 20, against the byte loops.
    #[test]
    fn scans_agree_with_byte_loops() {
        for n in 0..=20_usize {
            for at in 0..n {
                for value in 0..=255_u8 {
                    let mut bytes: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                    if let Some(byte) = bytes.get_mut(at) {
                        *byte = value;
                    }
                    assert_eq!(
                        has_uppercase(&bytes),
                        bytes.iter().any(u8::is_ascii_uppercase),
                        "{bytes:?}"
                    );
                    for needle in [b':', b'.', 0xff, 0x80, 0x01] {
                        assert_eq!(
                            contains(&bytes, needle),
                            bytes.contains(&needle),
                            "{needle} in {bytes:?}"
                        );
                    }
                    let lower = bytes.to_ascii_lowercase();
                    assert!(words_eq::<true>(&bytes, &lower), "{bytes:?}");
                    assert_eq!(words_hash::<true>(&bytes), words_hash::<true>(&lower));
                    assert_eq!(words_eq::<false>(&bytes, &lower), bytes == lower);
                    for other in [b'a', b'#', 0, value ^ 0x20, value] {
                        if other.is_ascii_uppercase() {
                            continue;
                        }
                        let mut changed = lower.clone();
                        if let Some(byte) = changed.get_mut(at) {
                            *byte = other;
                        }
                        assert_eq!(
                            words_eq::<true>(&bytes, &changed),
                            bytes.eq_ignore_ascii_case(&changed),
                            "{bytes:?} and {changed:?}"
                        );
                        assert_eq!(words_eq::<false>(&bytes, &changed), bytes == changed);
                    }
                    assert!(!words_eq::<true>(
                        &bytes,
                        &[lower.as_slice(), b"a"].concat()
                    ));
                    assert_eq!(
                        contains_either(&bytes, b'.', b'%'),
                        bytes.iter().any(|b| *b == b'.' || *b == b'%'),
                        "{bytes:?}"
                    );
                }
            }
        }
        assert!(!contains(b"", b':'));
        assert!(!has_uppercase(b""));
        assert!(has_uppercase(b"svc.Example.com"));
        assert!(contains(b"[::1]", b':'));
    }

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
