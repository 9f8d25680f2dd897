//! The GEMM specification: C\[i,j\] ← α·Σₚ A\[i,p\]·B\[p,j\] + β·C\[i,j\], as three plain loops.
//! No blocking, no SIMD, no threads; every fast path is tested against this.

use super::{MatMut, MatRef};
use crate::real::Real;

/// C ← α·A·B + β·C. β = 0 overwrites C without reading it. Dimensions were checked by
/// [`super::gemm_with`].
pub fn gemm<T: Real>(alpha: T, a: MatRef<'_, T>, b: MatRef<'_, T>, beta: T, mut c: MatMut<'_, T>) {
    for i in 0..a.rows() {
        for j in 0..b.cols() {
            let mut acc = T::ZERO;
            for p in 0..a.cols() {
                acc += a.at(i, p) * b.at(p, j);
            }
            let cij = c.at_mut(i, j);
            *cij = if beta == T::ZERO {
                alpha * acc
            } else {
                alpha * acc + beta * *cij
            };
        }
    }
}
