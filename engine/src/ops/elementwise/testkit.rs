//! Test helpers shared by the op tests of `ops/{elementwise, activation, reduce, softmax, matmul,
//! dropout}`: the ISA × thread-count loop, the awkward sizes, seeded inputs, bit comparisons.

use crate::parallel::{GRAIN, with_isa_threads};
use crate::real::Real;
use crate::testing::{Rng, cast_vec, isas_to_test, threads_to_test};

/// Flat lengths every elementwise-style kernel is tested on: a single element, less than one
/// SIMD vector, one vector plus a tail, a long odd length, and one element above the rayon grain.
pub(crate) const AWKWARD_LENS: &[usize] = &[1, 7, 9, 1023, GRAIN + 1];

/// Runs `f` once per (ISA, thread count) pair inside a pool pinned to that ISA; `f` receives a
/// context string (`"avx2, 2 threads"`) to put into assertion messages.
///
/// # Panics
/// If an ISA that [`isas_to_test`] listed cannot be pinned, or if `f` panics.
pub(crate) fn for_each_isa_threads(f: impl Fn(&str) + Sync) {
    for isa in isas_to_test() {
        for threads in threads_to_test() {
            let ctx = format!("{isa}, {threads} threads");
            with_isa_threads(isa, threads, || f(&ctx)).expect("isa listed as available");
        }
    }
}

/// `n` seeded values uniform in [−1, 1) (generated in f64, then cast, so f32 and f64 tests see
/// the same numbers).
pub(crate) fn random<T: Real>(rng: &mut Rng, n: usize) -> Vec<T> {
    cast_vec(&rng.vec_f64(n))
}

/// `n` seeded values uniform in [lo, hi).
pub(crate) fn random_range<T: Real>(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<T> {
    (0..n)
        .map(|_| T::from_f64(rng.uniform_range(lo, hi)))
        .collect()
}

/// The bit patterns of a buffer, for "bit-identical" assertions.
pub(crate) fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}
