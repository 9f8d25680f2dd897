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

/// One convolution test shape: sizes plus stride, padding and dilation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvCase {
    /// What the case exercises (printed on failure).
    pub name: &'static str,
    /// Batch size N.
    pub n: usize,
    /// Input channels C_in.
    pub c_in: usize,
    /// Output channels C_out.
    pub c_out: usize,
    /// Input length L_in.
    pub l_in: usize,
    /// Kernel taps K.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Dilation.
    pub dilation: usize,
}

impl ConvCase {
    const fn new(
        name: &'static str,
        [n, c_in, c_out, l_in, k]: [usize; 5],
        [stride, padding, dilation]: [usize; 3],
    ) -> ConvCase {
        ConvCase {
            name,
            n,
            c_in,
            c_out,
            l_in,
            k,
            stride,
            padding,
            dilation,
        }
    }

    /// The kernel sizes of this case.
    pub fn dims(&self) -> crate::ops::conv1d::Conv1dDims {
        crate::ops::conv1d::Conv1dDims {
            n: self.n,
            c_in: self.c_in,
            c_out: self.c_out,
            l_in: self.l_in,
            k: self.k,
        }
    }

    /// Stride, padding and dilation of this case.
    pub fn params(&self) -> crate::ops::conv1d::Conv1dParams {
        crate::ops::conv1d::Conv1dParams {
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
        }
    }

    /// A random small case (for the seeded random tests): sizes 1–9 channels, lengths 1–80,
    /// K 1–9, stride 1–3, dilation 1–3, padding 0–K; retried until the output is non-empty.
    pub fn random(rng: &mut Rng) -> ConvCase {
        loop {
            let k = 1 + rng.below(9);
            let case = ConvCase::new(
                "random",
                [
                    1 + rng.below(5),
                    1 + rng.below(9),
                    1 + rng.below(20),
                    1 + rng.below(80),
                    k,
                ],
                [1 + rng.below(3), rng.below(k + 1), 1 + rng.below(3)],
            );
            if case.params().out_len(case.l_in, case.k).is_ok() {
                return case;
            }
        }
    }
}

/// The awkward convolution shapes of DESIGN.md §2.7 (the "above the grain" ones exceed the
/// conv kernels' threshold for going parallel, about 2²⁰ multiply-adds): `[n, c_in, c_out, l_in, k]` and
/// `[stride, padding, dilation]`. Cases where nothing fits (kernel longer than the unpadded
/// signal) are included on purpose: the tests expect an `EmptyOutput` error for them.
pub const AWKWARD_CONV_CASES: &[ConvCase] = &[
    ConvCase::new("batch 1", [1, 3, 4, 20, 3], [1, 1, 1]),
    ConvCase::new("channels 1", [2, 1, 1, 17, 5], [1, 2, 1]),
    ConvCase::new("length 1, K 1", [2, 2, 3, 1, 1], [1, 0, 1]),
    ConvCase::new("length 1, K 3, padding 1", [2, 2, 3, 1, 3], [1, 1, 1]),
    ConvCase::new("length 5 < 8", [3, 2, 5, 5, 3], [1, 0, 1]),
    ConvCase::new("length 7 < 8, even K", [2, 3, 2, 7, 2], [1, 1, 1]),
    ConvCase::new("length 37 (SIMD tail)", [2, 4, 7, 37, 5], [1, 2, 1]),
    ConvCase::new("length 19 (tile tail)", [2, 7, 13, 19, 3], [1, 1, 1]),
    ConvCase::new(
        "kernel longer than signal, no padding",
        [1, 1, 1, 3, 7],
        [1, 0, 1],
    ),
    ConvCase::new(
        "dilated kernel longer than signal",
        [1, 2, 2, 8, 5],
        [1, 0, 2],
    ),
    ConvCase::new(
        "kernel longer than signal, padding fits",
        [2, 2, 3, 4, 7],
        [1, 3, 1],
    ),
    ConvCase::new(
        "kernel longer than signal, output 1",
        [2, 2, 3, 3, 9],
        [1, 3, 1],
    ),
    ConvCase::new("stride 2 remainder", [2, 3, 5, 20, 3], [2, 0, 1]),
    ConvCase::new("stride 3 remainder", [2, 2, 4, 24, 4], [3, 1, 1]),
    ConvCase::new("dilation 2", [2, 3, 4, 30, 3], [1, 2, 2]),
    ConvCase::new("dilation 2, stride 2", [2, 2, 3, 31, 5], [2, 4, 2]),
    ConvCase::new("padding 0", [2, 3, 6, 16, 4], [1, 0, 1]),
    ConvCase::new("padding K-1", [2, 3, 4, 10, 5], [1, 4, 1]),
    ConvCase::new("padding > K-1", [1, 2, 3, 9, 3], [1, 3, 1]),
    ConvCase::new("K 1 pointwise", [2, 5, 7, 33, 1], [1, 0, 1]),
    ConvCase::new(
        "long kernel K 40 (full 16-tap runs)",
        [2, 3, 5, 120, 40],
        [1, 19, 1],
    ),
    ConvCase::new("K 1 stride 2 padding 1", [2, 3, 4, 9, 1], [2, 1, 1]),
    ConvCase::new(
        "above the grain, C_in·K = 660 > KC = 600 (two reduction blocks), L > 256",
        [3, 44, 13, 300, 15],
        [1, 7, 1],
    ),
    ConvCase::new("above the grain, batch 1", [1, 32, 40, 400, 9], [1, 4, 1]),
    ConvCase::new("above the grain, stride 2", [6, 16, 24, 500, 7], [2, 3, 1]),
    ConvCase::new(
        "above the grain, first layer",
        [40, 1, 32, 187, 5],
        [1, 2, 1],
    ),
    // The weight gradient cuts time into chunks of 1024 outputs for batches of ≤ 4 samples,
    // and must not cut (nor drop) time for larger batches.
    ConvCase::new(
        "above the grain, batch 1, L_out > 2048 (time chunks)",
        [1, 16, 16, 2600, 5],
        [1, 2, 1],
    ),
    ConvCase::new(
        "above the grain, batch 6, L_out > 1024",
        [6, 8, 8, 1300, 5],
        [1, 2, 1],
    ),
];
