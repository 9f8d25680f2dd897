//! The one place that calls the `matrixmultiply` crate.
//!
//! `matrixmultiply::sgemm`/`dgemm` take raw pointers and strides and trust them. Soundness rests
//! on the checks already made by the safe views and [`super::gemm_with`]:
//! - [`MatRef::new`]/[`MatMut::new`] proved that `(rows−1)·row_stride + (cols−1)·col_stride` is
//!   inside each buffer, so every element the routine can touch is in bounds;
//! - [`MatMut::new`] proved that C's strides do not alias two elements;
//! - `check_dims` proved A is m×k, B is k×n and C is m×n;
//! - C is a `&mut` borrow, so it cannot overlap A or B.
//!
//! The crate's own `threading` feature stays off: rayon is our single parallel level.

use super::{MatMut, MatRef};

/// C ← α·A·B + β·C in f32 through `matrixmultiply::sgemm`.
pub fn sgemm(
    alpha: f32,
    a: MatRef<'_, f32>,
    b: MatRef<'_, f32>,
    beta: f32,
    mut c: MatMut<'_, f32>,
) {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    if m == 0 || n == 0 {
        return;
    }
    let (rsc, csc) = (c.row_stride() as isize, c.col_stride() as isize);
    // SAFETY: see the module docs: extents, non-aliasing of C and m/k/n agreement were checked
    // by the views and by gemm_with before this call; strides fit in isize because the offsets
    // they produce index real slices.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.data().as_ptr(),
            a.row_stride() as isize,
            a.col_stride() as isize,
            b.data().as_ptr(),
            b.row_stride() as isize,
            b.col_stride() as isize,
            beta,
            c.data_mut().as_mut_ptr(),
            rsc,
            csc,
        )
    }
}

/// C ← α·A·B + β·C in f64 through `matrixmultiply::dgemm`.
pub fn dgemm(
    alpha: f64,
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    beta: f64,
    mut c: MatMut<'_, f64>,
) {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    if m == 0 || n == 0 {
        return;
    }
    let (rsc, csc) = (c.row_stride() as isize, c.col_stride() as isize);
    // SAFETY: as for sgemm above.
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            alpha,
            a.data().as_ptr(),
            a.row_stride() as isize,
            a.col_stride() as isize,
            b.data().as_ptr(),
            b.row_stride() as isize,
            b.col_stride() as isize,
            beta,
            c.data_mut().as_mut_ptr(),
            rsc,
            csc,
        )
    }
}
