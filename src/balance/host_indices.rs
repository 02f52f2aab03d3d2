//! Host indices in the narrowest unsigned integer that holds every one of them: a Maglev
//! table's slots and a ring's entries each name a host by its index in the host list, and a
//! table over at most 256 hosts needs one byte per slot or entry, not four.

/// Each slot's (or entry's) host index, stored as narrowly as the host count allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostIndices {
    /// A table of this many slots over one host (every slot is host 0), or of none (no hosts):
    /// nothing stored.
    One(usize),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl HostIndices {
    /// The host of slot `at`; `None` past the end.
    #[inline]
    pub(crate) fn get(&self, at: usize) -> Option<usize> {
        match self {
            HostIndices::One(len) => (at < *len).then_some(0),
            HostIndices::U8(hosts) => hosts.get(at).map(|&host| usize::from(host)),
            HostIndices::U16(hosts) => hosts.get(at).map(|&host| usize::from(host)),
            HostIndices::U32(hosts) => hosts.get(at).map(|&host| host as usize),
        }
    }

    /// `table` (each slot's host, below `hosts`) stored as narrowly as `hosts` allows.
    pub(crate) fn narrow(table: Vec<u32>, hosts: usize) -> Self {
        match index_bytes(hosts) {
            0 => HostIndices::One(if hosts == 0 { 0 } else { table.len() }),
            1 => match table.iter().map(|&h| u8::try_from(h)).collect() {
                Ok(narrow) => HostIndices::U8(narrow),
                Err(_) => HostIndices::U32(table),
            },
            2 => match table.iter().map(|&h| u16::try_from(h)).collect() {
                Ok(narrow) => HostIndices::U16(narrow),
                Err(_) => HostIndices::U32(table),
            },
            _ => HostIndices::U32(table),
        }
    }

    /// Bytes stored per slot: [`index_bytes`] of the host count.
    #[cfg(test)]
    pub(crate) fn bytes_per_index(&self) -> u64 {
        match self {
            HostIndices::One(_) => 0,
            HostIndices::U8(_) => 1,
            HostIndices::U16(_) => 2,
            HostIndices::U32(_) => 4,
        }
    }
}

/// Bytes per host index in a table over `hosts` hosts: none for one host (every pick chooses
/// it) or none, 1 up to 256 hosts, 2 up to 65,536, else 4.
pub(crate) fn index_bytes(hosts: usize) -> u64 {
    match hosts {
        0 | 1 => 0,
        n if n <= usize::from(u8::MAX) + 1 => 1,
        n if n <= usize::from(u16::MAX) + 1 => 2,
        _ => 4,
    }
}

/// A host index as a table built in place stores it (see [`HostIndices`]); `()` for a table
/// over one host, which stores none.
pub(crate) trait HostIndex: Copy + Ord {
    /// Host `host`, below the type's bound (the caller chose the type by the host count).
    fn of(host: u32) -> Self;
}

impl HostIndex for () {
    fn of(_: u32) -> Self {}
}

impl HostIndex for u8 {
    fn of(host: u32) -> Self {
        u8::try_from(host).unwrap_or(u8::MAX)
    }
}

impl HostIndex for u16 {
    fn of(host: u32) -> Self {
        u16::try_from(host).unwrap_or(u16::MAX)
    }
}

impl HostIndex for u32 {
    fn of(host: u32) -> Self {
        host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The width follows the host count, and every index reads back.
    #[test]
    fn narrow_keeps_every_index_in_the_fewest_bytes() {
        for hosts in [2_usize, 256, 257, 65_536, 65_537] {
            let table: Vec<u32> = (0..hosts as u32).rev().collect();
            let stored = HostIndices::narrow(table.clone(), hosts);
            assert_eq!(
                stored.bytes_per_index(),
                index_bytes(hosts),
                "{hosts} hosts"
            );
            for (at, &host) in table.iter().enumerate() {
                assert_eq!(stored.get(at), Some(host as usize));
            }
            assert_eq!(stored.get(table.len()), None);
        }
        assert_eq!(HostIndices::narrow(vec![0; 7], 1), HostIndices::One(7));
        assert_eq!(HostIndices::narrow(vec![0; 7], 1).get(6), Some(0));
        assert_eq!(HostIndices::narrow(Vec::new(), 0).get(0), None);
        assert_eq!(index_bytes(0), 0);
        assert_eq!(index_bytes(1), 0);
    }
}
