//! The hash functions Envoy's hashing load balancers use, bit for bit.
//!
//! Consistent hashing only keeps a request on "its" endpoint across proxies if every proxy
//! computes the same numbers. Envoy uses two functions (`source/common/common/hash.h` and
//! `hash.cc`):
//!
//! - **xxHash64** (`HashUtil::xxHash64(value, seed = 0)`): plain `XXH64(data, len, seed)`. It
//!   hashes request keys (header, cookie, source IP, query parameter; see
//!   [`hash_policy`](super::hash_policy)), ring entries (`"<host key>_<i>"`, see
//!   [`ring_hash`](super::ring_hash)) and Maglev's per-host offset (seed 0) and skip (seed 1,
//!   see [`maglev`](super::maglev)).
//! - **xxHash64 over a list** (`HashUtil::xxHash64(absl::Span<absl::string_view>, seed)`): the
//!   seed is *chained* through the values, `h = XXH64(v, h)` for each value in turn. It is not
//!   the hash of the concatenation: `{"foo", "bar"}` gives 17745830980996999794 while
//!   `XXH64("foobar")` is 11721187498075204345. The header hash policy uses it for a header sent
//!   on several lines.
//! - **MurmurHash2, 64-bit** (`MurmurHash::murmurHash2(key, seed = 0xc70f6907)`): a copy of
//!   libstdc++'s `std::_Hash_bytes`, i.e. `std::hash<std::string>` on 64-bit Linux. Ring hash
//!   uses it when `hash_function: MURMUR_HASH_2`.
//!
//! ```
//! use meshroute::balance::hash::{MURMUR_SEED, murmur2_64, xxhash64, xxhash64_chain};
//!
//! assert_eq!(xxhash64(b"foo", 0), 3728699739546630719);
//! assert_eq!(xxhash64_chain([b"foo".as_slice(), b"bar"], 0), 17745830980996999794);
//! assert_eq!(murmur2_64(b"foo", MURMUR_SEED), 9631199822919835226);
//! ```

use xxhash_rust::xxh64::xxh64;

/// The seed Envoy passes to [`murmur2_64`]: `MurmurHash::STD_HASH_SEED`, the seed libstdc++'s
/// `std::hash<std::string>` uses.
pub const MURMUR_SEED: u64 = 0xc70f_6907;

/// `XXH64(bytes, seed)`, Envoy's `HashUtil::xxHash64(absl::string_view, seed)`.
///
/// Envoy's default seed is 0; Maglev also uses seed 1.
#[inline]
pub fn xxhash64(bytes: &[u8], seed: u64) -> u64 {
    xxh64(bytes, seed)
}

/// Envoy's list form `HashUtil::xxHash64(absl::Span<absl::string_view>, seed)`: the hash of
/// each value seeds the next one (`h = seed; for v in values { h = XXH64(v, h) }`).
///
/// This is **not** the hash of the concatenated values. An empty list returns `seed`; a single
/// value gives the same result as [`xxhash64`].
#[inline]
pub fn xxhash64_chain<'a>(values: impl IntoIterator<Item = &'a [u8]>, seed: u64) -> u64 {
    values
        .into_iter()
        .fold(seed, |hash, value| xxh64(value, hash))
}

/// 64-bit MurmurHash2 as libstdc++'s `_Hash_bytes` computes it, Envoy's
/// `MurmurHash::murmurHash2(key, seed)`. Envoy's seed is [`MURMUR_SEED`].
///
/// Words are read little-endian (Envoy byte-swaps on big-endian hosts, so the value does not
/// depend on the platform). The 1 to 7 trailing bytes form one little-endian word.
pub fn murmur2_64(bytes: &[u8], seed: u64) -> u64 {
    const MUL: u64 = 0xc6a4_a793_5bd1_e995;
    // `usize` is at most 64 bits on every supported target, so this is lossless.
    let len = bytes.len() as u64;
    let mut hash = seed ^ len.wrapping_mul(MUL);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let data = shift_mix(load_le(word).wrapping_mul(MUL)).wrapping_mul(MUL);
        hash ^= data;
        hash = hash.wrapping_mul(MUL);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        hash ^= load_le(tail);
        hash = hash.wrapping_mul(MUL);
    }
    hash = shift_mix(hash).wrapping_mul(MUL);
    shift_mix(hash)
}

/// Up to 8 bytes as a little-endian integer (the last byte is the most significant), like
/// libstdc++'s `unaligned_load` (8 bytes) and `load_bytes` (1 to 7 bytes, unsigned).
#[inline]
fn load_le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |acc, &byte| (acc << 8) | u64::from(byte))
}

#[inline]
fn shift_mix(v: u64) -> u64 {
    v ^ (v >> 47)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// hash_test.cc `xxHash`: Envoy's known answers for XXH64 with seed 0.
    #[test]
    fn xxhash64_matches_envoy_known_answers() {
        assert_eq!(xxhash64(b"", 0), 17241709254077376921);
        assert_eq!(xxhash64(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxhash64(b"foo", 0), 3728699739546630719);
        assert_eq!(xxhash64(b"foo", 0), 0x33BF_00A8_59C4_BA3F);
        assert_eq!(xxhash64(b"bar", 0), 5234164152756840025);
        assert_eq!(xxhash64(b"bar", 0), 0x48A3_7C90_AD27_A659);
        assert_eq!(xxhash64(b"foo\nbar", 0), 8917841378505826757);
        assert_eq!(xxhash64(b"lyft", 0), 4400747396090729504);
    }

    /// Standard xxHash sanity values (xxHash's own test suite) and the seed-1 value Maglev
    /// needs.
    #[test]
    fn xxhash64_matches_reference_values_with_seeds() {
        assert_eq!(xxhash64(b"abc", 0), 4952883123889572249);
        assert_eq!(xxhash64(b"abc", 0), 0x44BC_2CF5_AD77_0999);
        assert_eq!(xxhash64(b"", 2654435761), 0xAC75_FDA2_929B_17EF);
        assert_eq!(xxhash64(b"", 1), 15397730242686860875);
        assert_eq!(xxhash64(b"", 1), 0xD5AF_BA13_36A3_BE4B);
    }

    /// hash_test.cc `xxHashWithVector`/span form: the seed is chained, not the bytes
    /// concatenated.
    #[test]
    fn list_form_chains_the_seed_instead_of_concatenating() {
        let list = xxhash64_chain([b"foo".as_slice(), b"bar".as_slice()], 0);
        assert_eq!(list, 17745830980996999794);
        assert_eq!(list, xxhash64(b"bar", xxhash64(b"foo", 0)));
        assert_eq!(xxhash64(b"foobar", 0), 11721187498075204345);
        assert_ne!(list, xxhash64(b"foobar", 0));
    }

    /// A one-element list is the plain hash; an empty list is the seed.
    #[test]
    fn list_form_of_one_value_is_the_plain_hash() {
        assert_eq!(xxhash64_chain([b"foo".as_slice()], 0), xxhash64(b"foo", 0));
        assert_eq!(xxhash64_chain(std::iter::empty(), 7), 7);
    }

    /// hash_test.cc `murmurHash2`: Envoy's known answers with `STD_HASH_SEED`.
    #[test]
    fn murmur2_matches_envoy_known_answers() {
        assert_eq!(murmur2_64(b"foo", MURMUR_SEED), 9631199822919835226);
        assert_eq!(murmur2_64(b"bar", MURMUR_SEED), 11474628671133349555);
        assert_eq!(murmur2_64(b"foo\nbar", MURMUR_SEED), 16306510975912980159);
        assert_eq!(murmur2_64(b"lyft", MURMUR_SEED), 12847078931730529320);
        assert_eq!(murmur2_64(b"", MURMUR_SEED), 6142509188972423790);
    }

    /// Keys longer than one word go through the 8-byte loop and then the tail; bytes above
    /// 0x7f are read unsigned (libstdc++ casts to `unsigned char`).
    #[test]
    fn murmur2_reads_full_words_then_the_tail_unsigned() {
        // Recomputed by hand from the `_Hash_bytes` pseudo-code in ENVOY-LB.md §0.
        fn reference(key: &[u8], seed: u64) -> u64 {
            const MUL: u64 = 0xc6a4_a793_5bd1_e995;
            let mut hash = seed ^ (key.len() as u64).wrapping_mul(MUL);
            let aligned = key.len() & !7;
            for i in (0..aligned).step_by(8) {
                let w = u64::from_le_bytes(key[i..i + 8].try_into().unwrap());
                hash ^= shift_mix(w.wrapping_mul(MUL)).wrapping_mul(MUL);
                hash = hash.wrapping_mul(MUL);
            }
            if key.len() & 7 != 0 {
                let mut t = 0u64;
                for &b in key[aligned..].iter().rev() {
                    t = (t << 8) + u64::from(b);
                }
                hash ^= t;
                hash = hash.wrapping_mul(MUL);
            }
            hash = shift_mix(hash).wrapping_mul(MUL);
            shift_mix(hash)
        }
        for key in [
            b"127.0.0.1:90_0".as_slice(),
            b"12345678",
            b"123456789",
            &[0xff, 0x80, 0x01, 0xfe, 0x00, 0x7f, 0x81, 0xc3, 0xa9, 0x90],
        ] {
            assert_eq!(murmur2_64(key, MURMUR_SEED), reference(key, MURMUR_SEED));
        }
    }
}
