//! Memory a compiled `Mesh` retains per route, for 1,000 and 10,000 routes shaped like a real
//! VirtualService's (a URI prefix and an exact header, split 90/10 between two subsets, with the
//! DestinationRule and the Service; the same shape as `rivals/compile` in `benches/rivals.rs`). Criterion measures time only, so this is a
//! plain program (`harness = false`) under a counting global allocator: it loads and compiles
//! the YAML, drops the text and the loaded resources, routes a few requests (anything built
//! lazily is counted), and prints the bytes still allocated as a Markdown table.
//!
//! Bytes are the sizes asked of the allocator; the allocator's own overhead (about 8 to 16 bytes
//! per block with glibc) comes on top, so the live block count is printed too.
//!
//! ```sh
//! cargo bench --bench memory
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use meshroute::{FastRng, LoadOptions, Source};

/// The system allocator, counting the bytes and blocks live and the peak bytes.
struct Counting;

static BYTES: AtomicUsize = AtomicUsize::new(0);
static BLOCKS: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = BYTES.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// The only unsafe code in the crate's targets: a global allocator cannot be written without it,
// and this one only forwards to `System`.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
            BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
            BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as `alloc`; `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            grew(new_size);
            BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> (usize, usize) {
    (
        BYTES.load(Ordering::Relaxed),
        BLOCKS.load(Ordering::Relaxed),
    )
}

/// The same as `real_routes` in `benches/rivals.rs`.
fn real_routes(routes: usize) -> String {
    let mut text = String::from(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big, namespace: default}\nspec:\n  hosts: [big]\n  http:\n",
    );
    for i in 0..routes {
        text.push_str(&format!(
            "  - name: r{i}\n    match:\n    - uri: {{prefix: /api/r{i}/}}\n      headers: {{x-tenant: {{exact: t{i}}}}}\n    route:\n    - destination: {{host: big, subset: v1}}\n      weight: 90\n    - destination: {{host: big, subset: v2}}\n      weight: 10\n"
        ));
    }
    text.push_str("  - route:\n    - destination: {host: big, subset: v1}\n");
    text.push_str("---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: big, namespace: default}\nspec:\n  host: big\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}\n");
    text.push_str("---\napiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: default}\nspec:\n  ports: [{port: 8080, name: http}]\n  selector: {app: big}\n");
    text
}

struct Row {
    routes: usize,
    yaml: usize,
    loaded: usize,
    peak: usize,
    retained: usize,
    blocks: usize,
    millis: f64,
}

fn measure(routes: usize) -> Row {
    let source = Source::sidecar("default");
    let mut rng = FastRng::from_seed(1);
    let (base, base_blocks) = live();
    let text = real_routes(routes);
    let yaml = text.len();
    PEAK.store(BYTES.load(Ordering::Relaxed), Ordering::Relaxed);
    let start = Instant::now();
    let loaded = meshroute::from_str(&text, &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let loaded_bytes = live().0 - base - yaml;
    let mesh = meshroute::compile(loaded.resources).unwrap();
    let millis = start.elapsed().as_secs_f64() * 1e3;
    let peak = PEAK.load(Ordering::Relaxed) - base;
    drop(text);
    for (path, tenant, expected) in [
        ("/api/r0/x", "t0".to_owned(), Some(0)),
        (
            &*format!("/api/r{}/x", routes - 1),
            format!("t{}", routes - 1),
            Some(routes - 1),
        ),
        ("/none", "t-none".to_owned(), Some(routes)),
    ] {
        let request = http::Request::get(format!("http://big{path}"))
            .header("x-tenant", tenant)
            .body(())
            .unwrap();
        let decision = mesh.route_with(&request, &source, &mut rng);
        assert_eq!(decision.route().map(|r| r.index), expected);
    }
    let (now, now_blocks) = live();
    let row = Row {
        routes,
        yaml,
        loaded: loaded_bytes,
        peak,
        retained: now - base,
        blocks: now_blocks - base_blocks,
        millis,
    };
    black_box(mesh);
    row
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn main() {
    // Warm up anything allocated once per process (thread-locals, lazily built statics).
    black_box(measure(10));
    let rows: Vec<Row> = [1_000, 10_000].into_iter().map(measure).collect();
    println!(
        "| routes | YAML | loaded resources | peak while loading + compiling | retained by the Mesh | per route | live blocks per route | load + compile (one run, under the counting allocator) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} B | {:.1} | {:.1} ms |",
            row.routes,
            kib(row.yaml),
            kib(row.loaded),
            kib(row.peak),
            kib(row.retained),
            row.retained / row.routes,
            row.blocks as f64 / row.routes as f64,
            row.millis,
        );
    }
    if let [small, large] = rows.as_slice() {
        let bytes = (large.retained - small.retained) / (large.routes - small.routes);
        println!(
            "\nMarginal cost per route (10,000 minus 1,000, divided by 9,000): {bytes} B retained."
        );
    }
}
