#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;

#[path = "../checks/mod.rs"]
mod checks;

/// One input (a mesh, its tables, two dozen picks) must not take longer than this: consistent
/// hash tables are bounded (`src/compile/hash_tables.rs`), so a slow input is a finding. The
/// largest table a cluster can have, a ring at Envoy's maximum of 8,388,608 entries (asked for
/// once the total weight is more than 8,388,608 times the smallest, e.g. weights 1 and
/// 10,000,000), takes about 0.5 s to build uninstrumented (1.2 s before the ring was sorted in
/// place) and seconds in this instrumented build on a busy machine. The deadline catches a return of the unbounded builds the issue reported
/// (minutes).
const DEADLINE: Duration = Duration::from_secs(30);

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    checks::balance::run(data);
    let took = start.elapsed();
    assert!(took < DEADLINE, "one input took {took:?}");
});
