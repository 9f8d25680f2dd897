//! Test helpers shared by the engine's unit tests and, through the `testing` feature, by the
//! other crates' tests and the benches.
//!
//! - [`assert_close`]: |got − want| ≤ atol + rtol·|want| elementwise; on failure it reports the
//!   worst index, both values, and the context string (shape and parameters), llm.c style.
//! - [`isas_to_test`]: the ISAs to loop over; honours `ECGRAD_REQUIRE_ISA`.
//! - [`Rng`] re-exported for seeded inputs.

use crate::real::Real;
pub use crate::rng::Rng;
use crate::simd::Isa;

/// The instruction sets a kernel test should run on: [`Isa::available`].
///
/// When `ECGRAD_REQUIRE_ISA=<isa>` is set (CI does this), an ISA that is not in the list is a
/// test failure instead of a silent skip. A SIMD ISA that is absent is reported on stderr.
///
/// # Panics
/// If `ECGRAD_REQUIRE_ISA` names an ISA that is unknown or not available here.
pub fn isas_to_test() -> Vec<Isa> {
    let available = Isa::available();
    if let Ok(required) = std::env::var("ECGRAD_REQUIRE_ISA") {
        let isa = Isa::parse(&required)
            .unwrap_or_else(|| panic!("ECGRAD_REQUIRE_ISA={required:?} is not an ISA name"));
        assert!(
            available.contains(&isa),
            "ECGRAD_REQUIRE_ISA={required} but this run can only use {available:?} \
             (CPU support, ECGRAD_ISA={:?})",
            std::env::var("ECGRAD_ISA").ok()
        );
    }
    if available == [Isa::Scalar] {
        eprintln!(
            "note: only the scalar path is tested here (best ISA of this CPU: {}, ECGRAD_ISA={:?})",
            Isa::best_supported(),
            std::env::var("ECGRAD_ISA").ok()
        );
    }
    available
}

/// Thread counts the kernel tests run at: 1 and 2 (or more when the machine has them, up to 4).
pub fn threads_to_test() -> Vec<usize> {
    let n = std::thread::available_parallelism().map_or(2, |n| n.get());
    vec![1, n.clamp(2, 4)]
}

/// Default tolerance for comparing a fast kernel to its naive twin after a reduction of length
/// `reduction_len`: rtol is scaled by √len for f32 (rounding errors grow like a random walk).
pub fn tolerance<T: Real>(reduction_len: usize) -> (f64, f64) {
    let scale = (reduction_len.max(1) as f64).sqrt();
    (T::TEST_ATOL * scale, T::TEST_RTOL * scale)
}

/// Asserts `|got[i] − want[i]| ≤ atol + rtol·|want[i]|` for all i.
///
/// # Panics
/// On a length mismatch or the first failing comparison, naming the worst element, both values
/// and `context` (put the shape and the parameters there).
#[track_caller]
pub fn assert_close<T: Real>(got: &[T], want: &[T], atol: f64, rtol: f64, context: &str) {
    assert_eq!(
        got.len(),
        want.len(),
        "{context}: length {} vs expected {}",
        got.len(),
        want.len()
    );
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (g.to_f64(), w.to_f64());
        let err = (g - w).abs();
        let excess = err - (atol + rtol * w.abs());
        // NaN in either side is always a failure.
        if excess > 0.0 || g.is_nan() != w.is_nan() {
            let excess = if excess.is_nan() {
                f64::INFINITY
            } else {
                excess
            };
            if worst.is_none_or(|(_, e)| excess > e) {
                worst = Some((i, excess));
            }
        }
    }
    if let Some((i, _)) = worst {
        panic!(
            "{context}: mismatch at index {i}: got {}, want {} (|diff| {:.3e}, atol {atol:.1e}, \
             rtol {rtol:.1e}, {} elements)",
            got[i],
            want[i],
            (got[i].to_f64() - want[i].to_f64()).abs(),
            got.len()
        );
    }
}

/// Converts an f64 vector to `T` (test inputs are generated in f64 once, used for both types).
pub fn cast_vec<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::from_f64(x)).collect()
}
