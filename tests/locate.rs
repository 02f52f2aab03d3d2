//! Hostile documents cost time and memory in proportion to their size and diagnostics: finding
//! the line of a diagnostic follows only the way to the fields diagnostics name (a 100 KB
//! document with one deeply nested unknown field once took 1.2 GB to locate), and nesting too
//! deep for the parser is a clear error, not a stack overflow. Its own binary: a counting global
//! allocator measures the peak of live bytes for the whole process.
#![cfg(feature = "yaml")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use meshroute::{LoadOptions, Loaded, Severity};

#[path = "common/live_bytes.rs"]
mod live_bytes;

use live_bytes::{Counting, LIVE, PEAK};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are for the whole process.
static MEASURING: Mutex<()> = Mutex::new(());

/// Loads `text`, returning the result, the time it took and the most memory it held at once
/// beyond what was live before.
fn measured_load(text: &str) -> (Loaded, Duration, usize) {
    let _one = MEASURING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let start = Instant::now();
    let loaded = meshroute::from_str(text, &LoadOptions::default());
    let took = start.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    eprintln!(
        "{} bytes loaded in {took:?}, peak {} KB",
        text.len(),
        peak / 1024
    );
    (loaded, took, usize::try_from(peak).unwrap_or(0))
}

const MB: usize = 1 << 20;

/// A VirtualService whose `spec` holds `x` (a field Istio does not have) and `tail` under it.
fn with_unknown_field(tail: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: deep}}\nspec:\n  hosts: [deep]\n  x:\n{tail}"
    )
}

/// 100 KB: an unknown field holding 50 levels of 1,000-character keys and, at the bottom, a list
/// of 25,000 items. Mapping every node's path cost 25,000 paths of 50 KB each (1.2 GB).
#[test]
fn a_deep_unknown_field_with_long_keys_is_located_in_little_memory() {
    let mut tail = String::new();
    let mut indent = 4;
    for level in 0..50 {
        let key = format!("k{level:02}").repeat(250);
        tail.push_str(&format!("{:indent$}{key}:\n", ""));
        indent += 2;
    }
    let items = vec!["1"; 25_000].join(",");
    tail.push_str(&format!("{:indent$}[{items}]\n", ""));
    let text = with_unknown_field(&tail);
    assert!(text.len() < 110_000, "{} bytes", text.len());

    let (loaded, took, peak) = measured_load(&text);
    let [diagnostic] = loaded.diagnostics.as_slice() else {
        panic!("one diagnostic expected: {:?}", loaded.diagnostics)
    };
    assert_eq!(diagnostic.severity, Severity::Error);
    assert_eq!(diagnostic.path, "spec.x");
    assert_eq!(diagnostic.line, Some(6));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(peak < 32 * MB, "peak {} MB", peak / MB);
}

/// Unknown fields deep in a document, each with its own long path, are located together: the
/// cost follows the diagnostics.
#[test]
fn many_deep_unknown_fields_are_located_in_little_memory() {
    let mut tail = String::new();
    let mut indent = 4;
    for level in 0..40 {
        tail.push_str(&format!(
            "{:indent$}level-{level}-{}:\n",
            "",
            "k".repeat(100)
        ));
        indent += 2;
    }
    for i in 0..2_000 {
        tail.push_str(&format!("{:indent$}leaf-{i}: [1, 2, 3]\n", ""));
    }
    let text = with_unknown_field(&tail);
    let (loaded, took, peak) = measured_load(&text);
    assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(peak < 32 * MB, "peak {} MB", peak / MB);

    // 2,000 unknown fields in the `http` route, each a diagnostic with its line.
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: many}\nspec:\n  hosts: [many]\n  http:\n  - route: [{destination: {host: many}}]\n",
    );
    for i in 0..2_000 {
        text.push_str(&format!("    unknown{i}: {{a: [1, 2]}}\n"));
    }
    let (loaded, took, peak) = measured_load(&text);
    assert_eq!(loaded.diagnostics.len(), 2_000);
    for (i, diagnostic) in loaded.diagnostics.iter().enumerate() {
        assert_eq!(diagnostic.line, u32::try_from(i + 8).ok(), "{diagnostic}");
    }
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(peak < 32 * MB, "peak {} MB", peak / MB);
}

/// 10,000 levels of block sequences, flow mappings and flow sequences, 100 of block mappings: the parser stops at its
/// depth budget (64 levels) with an error that says so, quickly and without deep recursion.
#[test]
fn nesting_too_deep_is_a_clear_error() {
    let block_sequences = with_unknown_field(&format!("    {}1\n", "- ".repeat(10_000)));
    // 100 levels of block mappings (10,000 would be 50 MB of indentation).
    let mut block_mappings = String::new();
    for level in 0..100 {
        block_mappings.push_str(&format!("{:indent$}a{level}:\n", "", indent = 4 + level));
    }
    let block_mappings = with_unknown_field(&block_mappings);
    let flow = with_unknown_field(&format!(
        "    {}1{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    ));
    let flow_sequences = with_unknown_field(&format!(
        "    {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    ));
    for text in [block_sequences, block_mappings, flow, flow_sequences] {
        let (loaded, took, peak) = measured_load(&text);
        let [diagnostic] = loaded.diagnostics.as_slice() else {
            panic!("one diagnostic expected: {:?}", loaded.diagnostics)
        };
        assert_eq!(diagnostic.severity, Severity::Error);
        assert!(
            diagnostic.message.contains("nested deeper than 64 levels"),
            "{diagnostic}"
        );
        assert!(took < Duration::from_secs(1), "took {took:?}");
        assert!(peak < 16 * MB, "peak {} MB", peak / MB);
    }
}
