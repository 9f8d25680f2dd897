//! Memory stays bounded (autograd issue, item 7; DESIGN.md §2.12): a counting global allocator
//! shows no growth of live heap bytes over 1 000 training steps of the two-conv network, and
//! each tape is consumed by `backward`.
//!
//! This file is the one place outside the engine with `unsafe`: a `GlobalAlloc` must be an
//! `unsafe impl`. It only forwards to the system allocator and counts bytes.

#![deny(unsafe_code)]

#[path = "two_conv.rs"]
mod two_conv;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use ecgrad_autograd::optim::{Adam, AdamConfig};

/// Forwards to `System` and keeps the number of live heap bytes.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// GlobalAlloc contract; the counter updates have no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's (non-zero size layout).
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: ptr was allocated by System with this layout (through alloc above).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: ptr/layout come from this allocator; new_size is the caller's, unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn no_growth_of_live_allocations_over_1000_steps() {
    // One thread: the global rayon pool's own start-up allocations would otherwise land
    // somewhere in the middle of the measurement.
    ecgrad_engine::parallel::with_threads(1, || {
        let (x, y) = two_conv::dataset(3);
        let mut store = two_conv::init(3);
        let mut opt = Adam::new(AdamConfig {
            lr: 0.01,
            ..AdamConfig::adam()
        })
        .expect("valid config");
        // Preallocated: a growing Vec here would itself show up as growth.
        let mut live_after = Vec::with_capacity(1000);
        for step in 0..1000 {
            let (loss, _, tape_len) =
                two_conv::step(&mut store, &mut opt, &x, &y).expect("training step");
            assert!(loss.is_finite(), "step {step}: loss {loss}");
            assert!(tape_len > 10, "the forward pass recorded {tape_len} nodes");
            live_after.push(LIVE_BYTES.load(Ordering::Relaxed));
        }
        // After warm-up (optimizer state, scratch buffers, thread-locals) the live heap must be
        // flat: compare step 100 with step 999.
        let (warm, end) = (live_after[100], live_after[999]);
        let trace: Vec<isize> = live_after.iter().step_by(50).copied().collect();
        println!("live heap bytes every 50 steps: {trace:?}");
        assert!(
            end <= warm,
            "live heap grew from {warm} bytes (step 100) to {end} bytes (step 1000)"
        );
    });
}
