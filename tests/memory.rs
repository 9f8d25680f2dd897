//! Memory stays bounded (autograd issue, item 7; DESIGN.md §2.12): a counting global allocator
//! shows no growth of live heap bytes over 1 000 training steps of the two-conv network, and
//! each tape is consumed by `backward`.
//!
//! The allocator is the engine's `simd::counting_alloc` (its `GlobalAlloc` impl lives in the
//! engine's SIMD module, the one place raw memory code is allowed); installing it here is an
//! ordinary declaration, and this file forbids anything else.

#![forbid(unsafe_code)]

#[path = "two_conv.rs"]
mod two_conv;

use ecgrad_autograd::optim::{Adam, AdamConfig};
use ecgrad_engine::simd::counting_alloc::{CountingAllocator, live_bytes};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

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
            live_after.push(live_bytes());
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
