//! A global allocator that counts the bytes live in the whole process and their peak, for the
//! test binaries that measure memory (each declares it as its `#[global_allocator]`).
// A global allocator is unsafe to implement; this one only counts and forwards to `System`.
#![allow(unsafe_code, unreachable_pub, dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts into [`LIVE`] and [`PEAK`], allocates with `System`.
pub struct Counting;

/// Bytes allocated and not freed.
pub static LIVE: AtomicIsize = AtomicIsize::new(0);
/// The most bytes live at once since it was last reset.
pub static PEAK: AtomicIsize = AtomicIsize::new(0);

fn size(layout: Layout) -> isize {
    isize::try_from(layout.size()).unwrap_or(isize::MAX)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(size(layout), Ordering::Relaxed) + size(layout);
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwards to the system allocator with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(size(layout), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let grown = isize::try_from(new_size).unwrap_or(isize::MAX) - size(layout);
        let live = LIVE.fetch_add(grown, Ordering::Relaxed) + grown;
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: as for `alloc`/`dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
