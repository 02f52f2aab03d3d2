//! The hash functions Envoy's hashing load balancers use, bit for bit.
//!
//! Consistent hashing only keeps a request on "its" endpoint across proxies if every proxy
//! computes the same numbers. Envoy uses two forms of xxHash64 (`source/common/common/hash.h`
//! and `source/common/common/hash.cc`):
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
//!
//! Envoy's ring hash can also place entries with MurmurHash2 (`hash_function: MURMUR_HASH_2`);
//! Istio never sets that field, so only xxHash64 is here.

use xxhash_rust::xxh64::xxh64;

/// `XXH64(bytes, seed)`, Envoy's `HashUtil::xxHash64(absl::string_view, seed)`.
///
/// Envoy's default seed is 0; Maglev also uses seed 1.
#[inline]
pub(crate) fn xxhash64(bytes: &[u8], seed: u64) -> u64 {
    xxh64(bytes, seed)
}

/// Envoy's list form `HashUtil::xxHash64(absl::Span<absl::string_view>, seed)`: the hash of
/// each value seeds the next one (`h = seed; for v in values { h = XXH64(v, h) }`).
///
/// This is **not** the hash of the concatenated values. An empty list returns `seed`; a single
/// value gives the same result as [`xxhash64`].
#[inline]
pub(crate) fn xxhash64_chain<'a>(values: impl IntoIterator<Item = &'a [u8]>, seed: u64) -> u64 {
    values
        .into_iter()
        .fold(seed, |hash, value| xxh64(value, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `test/common/common/hash_test.cc` `xxHash`: Envoy's known answers for XXH64 with seed 0.
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

    /// The example of the module documentation.
    #[test]
    fn example_known_hashes() {
        assert_eq!(xxhash64(b"foo", 0), 3728699739546630719);
        assert_eq!(
            xxhash64_chain([b"foo".as_slice(), b"bar"], 0),
            17745830980996999794
        );
    }
}
