//! A table of lowercase names looked up by a name as a request sends it, eight bytes at a time
//! ([`bytes::words_hash`], [`bytes::words_eq`]). [`HostNames`] ignores ASCII case without
//! lowercasing the name first (host names are case-insensitive, RFC 4343, and Envoy lowercases
//! the `:authority` before it matches virtual host domains: `source/common/router/config_impl.cc`
//! in envoyproxy/envoy, "hostnames are case insensitive"); an [`ExactNames`] lookup is
//! cheaper and finds only a name in lowercase, for a fast path whose misses take the general
//! one.

use super::bytes;

/// Lowercase names → values (`u32`), looked up ignoring ASCII case (`FOLD`) or byte for byte.
#[derive(Debug, Default, Clone)]
pub(crate) struct HostTable<const FOLD: bool> {
    /// A power of two of buckets, at most a quarter of them full: 0 when empty, else the
    /// name's hash's low 32 bits above its slot + 1.
    buckets: Box<[u64]>,
    /// A hash's top `64 - shift` bits are its first bucket.
    shift: u32,
    /// Each name's place in `text` and its value.
    slots: Box<[Slot]>,
    /// Every name's bytes, one after another.
    text: Box<[u8]>,
}

/// Lowercase names looked up in any case.
pub(crate) type HostNames = HostTable<true>;

/// Lowercase names looked up byte for byte.
pub(crate) type ExactNames = HostTable<false>;

#[derive(Debug, Clone, Copy)]
struct Slot {
    start: u32,
    len: u32,
    value: u32,
}

impl<const FOLD: bool> HostTable<FOLD> {
    /// The table of `entries`, the first of equal names kept. A name with an ASCII uppercase
    /// letter is left out (no lookup could find it), and so are the empty name and names of
    /// more than `max_len` bytes.
    pub(crate) fn new<'n>(
        entries: impl IntoIterator<Item = (&'n str, u32)>,
        max_len: usize,
    ) -> Self {
        let mut names: Vec<(&str, u32)> = entries
            .into_iter()
            .filter(|(name, _)| {
                !name.is_empty()
                    && name.len() <= max_len
                    && !name.bytes().any(|b| b.is_ascii_uppercase())
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        names.retain(|(name, _)| seen.insert(*name));
        let Ok(count) = u32::try_from(names.len()) else {
            return Self::default();
        };
        if count == 0 || names.iter().map(|(n, _)| n.len()).sum::<usize>() > u32::MAX as usize {
            return Self::default();
        }
        // At least four buckets per name: a miss mostly reads one empty bucket.
        let buckets_len = (names.len() * 4).next_power_of_two();
        let shift = 64 - buckets_len.trailing_zeros();
        let mut table = Self {
            buckets: vec![0; buckets_len].into_boxed_slice(),
            shift,
            slots: Box::default(),
            text: Box::default(),
        };
        let mut slots = Vec::with_capacity(names.len());
        let mut text = Vec::new();
        for (slot, (name, value)) in (1_u64..).zip(&names) {
            let hash = bytes::words_hash::<FOLD>(name.as_bytes());
            let mut at = table.first_bucket(hash);
            while table.buckets.get(at).is_some_and(|b| *b != 0) {
                at = (at + 1) & (buckets_len - 1);
            }
            if let Some(bucket) = table.buckets.get_mut(at) {
                *bucket = (hash & 0xffff_ffff) | slot << 32;
            }
            slots.push(Slot {
                start: u32::try_from(text.len()).unwrap_or(u32::MAX),
                len: u32::try_from(name.len()).unwrap_or(u32::MAX),
                value: *value,
            });
            text.extend_from_slice(name.as_bytes());
        }
        table.slots = slots.into_boxed_slice();
        table.text = text.into_boxed_slice();
        table
    }

    fn first_bucket(&self, hash: u64) -> usize {
        usize::try_from(hash.checked_shr(self.shift).unwrap_or(0)).unwrap_or(0)
    }

    /// The value of `name` (ASCII case ignored with `FOLD`).
    #[cfg(test)]
    pub(crate) fn get(&self, name: &[u8]) -> Option<u32> {
        if self.buckets.is_empty() {
            return None;
        }
        self.get_hashed(Self::hash(name), name)
    }

    /// The hash [`HostTable::get_hashed`] takes: the same for every table of this kind, so
    /// that one hash serves several lookups of a name.
    #[inline]
    pub(crate) fn hash(name: &[u8]) -> u64 {
        bytes::words_hash::<FOLD>(name)
    }

    /// [`HostTable::get`] of `name`, whose [`HostTable::hash`] is `hash`.
    #[inline]
    pub(crate) fn get_hashed(&self, hash: u64, name: &[u8]) -> Option<u32> {
        if self.buckets.is_empty() {
            return None;
        }
        let mask = self.buckets.len() - 1;
        let mut at = self.first_bucket(hash);
        loop {
            let bucket = *self.buckets.get(at)?;
            if bucket == 0 {
                return None;
            }
            if bucket & 0xffff_ffff == hash & 0xffff_ffff {
                let slot = self.slots.get(usize::try_from((bucket >> 32) - 1).ok()?)?;
                let start = usize::try_from(slot.start).ok()?;
                let end = start + usize::try_from(slot.len).ok()?;
                if bytes::words_eq::<FOLD>(name, self.text.get(start..end)?) {
                    return Some(slot.value);
                }
            }
            at = (at + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_name_in_any_case_and_nothing_else() {
        let names: Vec<String> = (0..300)
            .map(|i| format!("svc-{i}.ns-{}.svc.cluster.local", i % 7))
            .collect();
        let table = HostNames::new(names.iter().map(String::as_str).zip(0..), 256);
        let exact = ExactNames::new(names.iter().map(String::as_str).zip(0..), 256);
        for (i, name) in (0_u32..).zip(&names) {
            assert_eq!(table.get(name.as_bytes()), Some(i));
            assert_eq!(table.get(name.to_ascii_uppercase().as_bytes()), Some(i));
            assert_eq!(exact.get(name.as_bytes()), Some(i));
            assert_eq!(exact.get(name.to_ascii_uppercase().as_bytes()), None);
            assert_eq!(table.get(format!("{name}.").as_bytes()), None);
            assert_eq!(table.get(&name.as_bytes()[1..]), None);
        }
        assert_eq!(table.get(b""), None);
        assert_eq!(table.get(b"svc-1.ns-1.svc.cluster.locaL"), Some(1));
        assert_eq!(HostNames::default().get(b"svc-1"), None);
    }

    /// The first of equal names wins; names no lookup could find are left out.
    #[test]
    fn keeps_the_first_and_leaves_out_what_cannot_be_found() {
        let long = "a".repeat(300);
        let table = HostNames::new(
            [
                ("a", 1),
                ("a", 2),
                ("Upper", 3),
                (long.as_str(), 4),
                ("", 5),
            ],
            256,
        );
        assert_eq!(table.get(b"a"), Some(1));
        assert_eq!(table.get(b"A"), Some(1));
        assert_eq!(table.get(b"upper"), None);
        assert_eq!(table.get(long.as_bytes()), None);
        assert_eq!(table.get(b""), None);
    }
}
