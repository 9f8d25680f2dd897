//! Softmax and log-softmax over the last axis, max-subtracted, with their backward kernels.
//!
//! # What it computes
//! A tensor of any rank ≥ 1 is a list of `rows` rows of length `len` (the last axis, e.g. the
//! classes of a `[N, classes]` logit matrix). For each row x, with m = maxₖ xₖ:
//! - softmax:     yⱼ = e^(xⱼ − m) / Σₖ e^(xₖ − m)
//! - log_softmax: yⱼ = (xⱼ − m) − ln Σₖ e^(xₖ − m)
//!
//! **Why subtract the max.** Mathematically m cancels (multiply top and bottom by e⁻ᵐ), but
//! numerically it is what makes the op safe: every exponent xⱼ − m is ≤ 0, so no e^(…) can
//! overflow (e^89 is already +∞ in f32), and the largest term is e⁰ = 1, so the sum is ≥ 1 and
//! neither the division nor the logarithm can see a 0. The fused log_softmax never forms the
//! quotient at all: where a probability underflows to 0, `ln(softmax)` would give −∞, while
//! (xⱼ − m) − ln Σ stays finite (see the test `fused_log_softmax_is_finite_where_log_of_softmax_is_not`).
//! A row whose maximum is −∞ or NaN gives NaN, as in PyTorch.
//!
//! # Shapes and cost
//! y has the shape of x. About 4 FLOPs + 1 exp per element forward, 3 FLOPs (+ 1 exp for
//! log_softmax) per element backward.
//!
//! # Gradients (backward kernels **accumulate**: dx += …)
//! - softmax:     dx = y ⊙ (dy − ⟨dy, y⟩)        (⟨·,·⟩ the dot product over the row)
//! - log_softmax: dx = dy − softmax(x) · Σⱼ dyⱼ   (softmax(x) = e^y, recomputed from the output)
//!
//! Derivation. For softmax, ∂yᵢ/∂xⱼ = yᵢ(δᵢⱼ − yⱼ) (quotient rule on e^xᵢ / Σ). So
//! dxⱼ = Σᵢ dyᵢ · yᵢ(δᵢⱼ − yⱼ) = yⱼ dyⱼ − yⱼ Σᵢ dyᵢ yᵢ = yⱼ (dyⱼ − ⟨dy, y⟩): one dot product per
//! row, no `len × len` Jacobian. For log_softmax, yᵢ = xᵢ − ln Σ e^xₖ gives
//! ∂yᵢ/∂xⱼ = δᵢⱼ − sⱼ with s = softmax(x), so dxⱼ = dyⱼ − sⱼ Σᵢ dyᵢ. Both backward kernels need
//! only the saved *output* y.
//!
//! # How the fast version differs from the naive twins
//! The `_naive` functions are the formulas as scalar loops with the library `exp`/`ln`. The fast
//! kernels use the [`Real`] vector primitives per row (`vec_max`, `vec_exp`, `vec_sum`,
//! `vec_scale`, `vec_dot`: AVX2/NEON for f32) and hand blocks of rows (≈ [`GRAIN`] elements each)
//! to rayon. Rows are independent, so the thread count never changes a result.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ops::elementwise::{check_nonempty, check_same_shape};
use crate::parallel::{GRAIN, current_threads};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

#[cfg(test)]
mod tests;

// ---------------------------------------------------------------------------------------------
// Naive twins
// ---------------------------------------------------------------------------------------------

/// Softmax of each row of length `len`, straight from the formula (max-subtracted).
pub fn softmax_naive<T: Real>(x: &[T], len: usize, y: &mut [T]) {
    for (xr, yr) in x.chunks(len).zip(y.chunks_mut(len)) {
        let mut m = xr[0];
        for &v in xr {
            if v > m {
                m = v;
            }
        }
        let mut sum = T::ZERO;
        for j in 0..len {
            yr[j] = (xr[j] - m).exp();
            sum += yr[j];
        }
        for v in yr.iter_mut() {
            *v /= sum;
        }
    }
}

/// Log-softmax of each row: yⱼ = (xⱼ − m) − ln Σₖ e^(xₖ − m).
pub fn log_softmax_naive<T: Real>(x: &[T], len: usize, y: &mut [T]) {
    for (xr, yr) in x.chunks(len).zip(y.chunks_mut(len)) {
        let mut m = xr[0];
        for &v in xr {
            if v > m {
                m = v;
            }
        }
        let mut sum = T::ZERO;
        for &v in xr {
            sum += (v - m).exp();
        }
        let log_sum = sum.ln();
        for j in 0..len {
            yr[j] = (xr[j] - m) - log_sum;
        }
    }
}

/// Accumulates dx += y ⊙ (dy − ⟨dy, y⟩) row by row.
pub fn softmax_backward_naive<T: Real>(y: &[T], dy: &[T], len: usize, dx: &mut [T]) {
    for ((yr, gr), dr) in y.chunks(len).zip(dy.chunks(len)).zip(dx.chunks_mut(len)) {
        let mut dot = T::ZERO;
        for j in 0..len {
            dot += gr[j] * yr[j];
        }
        for j in 0..len {
            dr[j] += yr[j] * (gr[j] - dot);
        }
    }
}

/// Accumulates dx += dy − e^y · Σ dy row by row (y is the log-softmax output).
pub fn log_softmax_backward_naive<T: Real>(y: &[T], dy: &[T], len: usize, dx: &mut [T]) {
    for ((yr, gr), dr) in y.chunks(len).zip(dy.chunks(len)).zip(dx.chunks_mut(len)) {
        let mut total = T::ZERO;
        for &g in gr {
            total += g;
        }
        for j in 0..len {
            dr[j] += gr[j] - yr[j].exp() * total;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fast kernels
// ---------------------------------------------------------------------------------------------

/// Runs `f(in_rows_a, in_rows_b, out_rows, scratch)` over blocks of whole rows, in parallel
/// when the buffer exceeds GRAIN; `scratch` is one row long and private to the task.
fn for_row_blocks<T: Real>(
    a: &[T],
    b: &[T],
    out: &mut [T],
    len: usize,
    f: impl Fn(&[T], &[T], &mut [T], &mut [T]) + Sync,
) {
    if out.len() <= GRAIN || current_threads() == 1 {
        f(a, b, out, &mut vec![T::ZERO; len]);
    } else {
        let block = (GRAIN / len).max(1) * len;
        out.par_chunks_mut(block)
            .zip(a.par_chunks(block))
            .zip(b.par_chunks(block))
            .for_each(|((o, a), b)| f(a, b, o, &mut vec![T::ZERO; len]));
    }
}

#[track_caller]
fn check_rows(op: &str, len: usize, lens: &[usize]) {
    assert!(len > 0, "{op}: rows must be non-empty");
    assert!(
        lens.iter().all(|&l| l == lens[0] && l % len == 0),
        "{op}: buffer lengths {lens:?} are not equal multiples of the row length {len}"
    );
}

/// Softmax over rows of length `len`; overwrites y.
///
/// # Panics
/// If `len == 0` or the lengths of x and y differ or are not multiples of `len`.
pub fn softmax_forward<T: Real>(x: &[T], len: usize, y: &mut [T]) {
    check_rows("softmax", len, &[x.len(), y.len()]);
    for_row_blocks(x, x, y, len, |x, _, y, shifted| {
        for (xr, yr) in x.chunks(len).zip(y.chunks_mut(len)) {
            let m = T::vec_max(xr);
            for (s, &v) in shifted.iter_mut().zip(xr) {
                *s = v - m; // ≤ 0: e^s ∈ (0, 1], no overflow
            }
            T::vec_exp(shifted, yr);
            let sum = T::vec_sum(yr); // ≥ 1 (the max contributes e⁰ = 1)
            T::vec_scale(T::ONE / sum, yr);
        }
    });
}

/// Log-softmax over rows of length `len`; overwrites y.
///
/// # Panics
/// As [`softmax_forward`].
pub fn log_softmax_forward<T: Real>(x: &[T], len: usize, y: &mut [T]) {
    check_rows("log_softmax", len, &[x.len(), y.len()]);
    for_row_blocks(x, x, y, len, |x, _, y, shifted| {
        for (xr, yr) in x.chunks(len).zip(y.chunks_mut(len)) {
            let m = T::vec_max(xr);
            for (s, &v) in shifted.iter_mut().zip(xr) {
                *s = v - m;
            }
            T::vec_exp(shifted, yr); // yr holds e^(x − m) for a moment
            let log_sum = T::vec_sum(yr).ln(); // ln of a number ≥ 1: finite, ≥ 0
            for (o, &s) in yr.iter_mut().zip(shifted.iter()) {
                *o = s - log_sum;
            }
        }
    });
}

/// Accumulates dx += y ⊙ (dy − ⟨dy, y⟩) per row, from the saved softmax output y.
///
/// # Panics
/// If `len == 0` or the buffer lengths differ or are not multiples of `len`.
pub fn softmax_backward<T: Real>(y: &[T], dy: &[T], len: usize, dx: &mut [T]) {
    check_rows("softmax_backward", len, &[y.len(), dy.len(), dx.len()]);
    for_row_blocks(y, dy, dx, len, |y, dy, dx, _| {
        for ((yr, gr), dr) in y.chunks(len).zip(dy.chunks(len)).zip(dx.chunks_mut(len)) {
            let dot = T::vec_dot(gr, yr);
            for ((d, &s), &g) in dr.iter_mut().zip(yr).zip(gr) {
                *d += s * (g - dot);
            }
        }
    });
}

/// Accumulates dx += dy − e^y · Σ dy per row, from the saved log-softmax output y.
///
/// # Panics
/// As [`softmax_backward`].
pub fn log_softmax_backward<T: Real>(y: &[T], dy: &[T], len: usize, dx: &mut [T]) {
    check_rows("log_softmax_backward", len, &[y.len(), dy.len(), dx.len()]);
    for_row_blocks(y, dy, dx, len, |y, dy, dx, prob| {
        for ((yr, gr), dr) in y.chunks(len).zip(dy.chunks(len)).zip(dx.chunks_mut(len)) {
            let total = T::vec_sum(gr);
            T::vec_exp(yr, prob); // softmax = e^(log_softmax)
            for ((d, &p), &g) in dr.iter_mut().zip(prob.iter()).zip(gr) {
                *d += g - p * total;
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Tensor layer
// ---------------------------------------------------------------------------------------------

/// The row length (last axis) of `shape`, validated.
fn row_len(op: &'static str, shape: Shape) -> Result<usize> {
    let Some(&len) = shape.dims().last() else {
        return Err(Error::InvalidParam {
            op,
            name: "rank",
            value: "0".into(),
            why: "softmax runs over the last axis, so x needs rank ≥ 1".into(),
        });
    };
    check_nonempty(op, "x", shape)?;
    Ok(len)
}

/// Softmax over the last axis.
///
/// # Errors
/// [`Error::InvalidParam`] for a rank-0 tensor; [`Error::EmptyOutput`] for an empty one.
///
/// ```
/// use ecgrad_engine::{ops::softmax::softmax, Shape, Tensor};
/// let x = Tensor::from_vec(Shape::d2(1, 2), vec![0.0f64, 2.0_f64.ln()]).unwrap();
/// let y = softmax(&x).unwrap(); // e⁰ : e^(ln 2) = 1 : 2
/// assert!((y.data()[0] - 1.0 / 3.0).abs() < 1e-15 && (y.data()[1] - 2.0 / 3.0).abs() < 1e-15);
/// ```
pub fn softmax<T: Real>(x: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let len = row_len("softmax", x.shape())?;
    let mut y = vec![T::ZERO; x.numel()];
    softmax_forward(x.data(), len, &mut y);
    Tensor::from_vec(x.shape(), y)
}

/// Log-softmax over the last axis (fused: finite where `ln(softmax)` would be −∞).
///
/// # Errors
/// As [`softmax`].
pub fn log_softmax<T: Real>(x: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let len = row_len("log_softmax", x.shape())?;
    let mut y = vec![T::ZERO; x.numel()];
    log_softmax_forward(x.data(), len, &mut y);
    Tensor::from_vec(x.shape(), y)
}

fn grad<T: Real>(
    op: &'static str,
    y: &Tensor<T>,
    dy: &Tensor<T>,
    kernel: fn(&[T], &[T], usize, &mut [T]),
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    check_same_shape(op, ("y", y.shape()), ("dy", dy.shape()))?;
    let len = row_len(op, y.shape())?;
    let mut dx = vec![T::ZERO; y.numel()];
    kernel(y.data(), dy.data(), len, &mut dx);
    Tensor::from_vec(y.shape(), dx)
}

/// The input gradient of [`softmax`] from its output `y` and the upstream gradient `dy`.
///
/// # Errors
/// [`Error::ShapeMismatch`] naming both shapes if they differ; the errors of [`softmax`].
pub fn softmax_grad<T: Real>(y: &Tensor<T>, dy: &Tensor<T>) -> Result<Tensor<T>> {
    grad("softmax_grad", y, dy, softmax_backward)
}

/// The input gradient of [`log_softmax`] from its output `y` and the upstream gradient `dy`.
///
/// # Errors
/// As [`softmax_grad`].
pub fn log_softmax_grad<T: Real>(y: &Tensor<T>, dy: &Tensor<T>) -> Result<Tensor<T>> {
    grad("log_softmax_grad", y, dy, log_softmax_backward)
}
