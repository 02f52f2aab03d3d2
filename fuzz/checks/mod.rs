//! The checks of the fuzz targets, one plain function per target (`run(data: &[u8])`), shared by
//! the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and the replay test of the library
//! (`tests/fuzz_regressions.rs`), both through `#[path = ".../checks/mod.rs"] mod checks;`.
//! Each function decodes its input exactly as libFuzzer hands it over (bytes; the structured
//! targets through `arbitrary`), so a crash file replays the same way in both.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

/// Prints a decoded input when `FUZZ_SHOW` is set (to read a crash file or a seed).
fn show(input: &impl std::fmt::Debug) {
    if std::env::var_os("FUZZ_SHOW").is_some() {
        eprintln!("{input:#?}");
    }
}

/// A list of `min..=max` items, its length read first (one byte): `arbitrary`'s own `Vec`
/// encoding continues while a flag byte is odd, so long lists are rare in fuzzed inputs.
fn counted<'a, T: arbitrary::Arbitrary<'a>>(
    u: &mut arbitrary::Unstructured<'a>,
    min: usize,
    max: usize,
) -> arbitrary::Result<Vec<T>> {
    let n = u.int_in_range(min..=max)?;
    (0..n).map(|_| T::arbitrary(u)).collect()
}

/// Declares `fn $name(u) -> Result<Vec<$t>>`, a [`counted`] list for `#[arbitrary(with)]`.
macro_rules! counted_list {
    ($name:ident, $t:ty, $min:expr, $max:expr) => {
        fn $name(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Vec<$t>> {
            super::counted(u, $min, $max)
        }
    };
}
use counted_list;

pub mod balance;
pub mod load_compile;
pub mod propagate;
pub mod route;
