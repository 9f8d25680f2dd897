//! Nearest and linear upsampling of NCL tensors by an integer factor (autoencoder decoders).
//!
//! # What it computes
//! For an integer scale `s`, `L_out = s·L_in`, and for each output position `t`:
//!
//! ```text
//! nearest: y[n,c,t] = x[n,c,⌊t/s⌋]
//! linear:  src = max(0, (t + ½)/s − ½)            (PyTorch, align_corners = false)
//!          i0 = ⌊src⌋,  i1 = min(i0 + 1, L−1),  λ = src − i0
//!          y[n,c,t] = (1−λ)·x[n,c,i0] + λ·x[n,c,i1]
//! ```
//! At the left edge `src` is clamped to 0 (y = x\[0\]); at the right edge `i1 = i0 = L−1`.
//! PyTorch computes `src` in the input's float type from `1/s`; here λ is the exact fraction
//! rounded once, so results can differ from PyTorch in the last bit only.
//!
//! # Shapes
//! x `[N, C, L]` → y `[N, C, s·L]`.
//!
//! # Cost
//! nearest: a copy of `N·C·s·L` values; linear: `3·N·C·s·L` FLOPs.
//!
//! # Gradients (accumulate into dx)
//! - nearest: `dx[i] += Σ_{r<s} dy[i·s + r]`
//! - linear:  `dx[i0(t)] += (1−λ(t))·dy[t]`,  `dx[i1(t)] += λ(t)·dy[t]`
//!
//! # How the fast version differs from the naive twins
//! The naive twins evaluate the formulas per output element. The fast kernels use that, for an
//! integer scale, λ depends only on the **phase** `r = t mod s`: writing `t = i·s + r`, the
//! phase has `δ_r = (2r + 1 − s)/(2s)` and, away from the two edges,
//! `y[i·s + r] = (1−λ_r)·x[i'] + λ_r·x[i'+1]` with `λ_r = δ_r` (δ_r ≥ 0, `i' = i`) or
//! `λ_r = 1 + δ_r` (δ_r < 0, `i' = i − 1`). So each phase is two `axpy`s over contiguous `x`
//! (SIMD for f32) and one strided scatter; the backward is a strided gather and two `axpy`s. The
//! single edge element of each phase is computed on its own. Rows run in parallel above
//! [`crate::parallel::GRAIN`].

use ndarray::{Array3, ArrayView3};

use crate::error::{Error, Result};
use crate::ops::pool1d::for_each_row;
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// How new samples are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsampleMode {
    /// Repeat each sample `scale` times.
    Nearest,
    /// Linear interpolation, PyTorch `align_corners = false`.
    Linear,
}

/// Parameters of [`upsample1d`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upsample1dParams {
    /// Integer scale factor (≥ 1).
    pub scale: usize,
    /// Nearest or linear.
    pub mode: UpsampleMode,
}

/// Phase `r` of a linear upsample by `s`: (λ, first output index of the interior run).
/// Interior outputs `start + k·s`, `k < L−1`, read `x[k]` and `x[k+1]`.
fn linear_phase<T: Real>(r: usize, s: usize) -> (T, usize) {
    let num = (2 * r + 1) as f64 - s as f64;
    if num >= 0.0 {
        (T::from_f64(num / (2 * s) as f64), r)
    } else {
        (T::from_f64(1.0 + num / (2 * s) as f64), s + r)
    }
}

/// Upsampling forward over `rows` rows of `l_in` samples; overwrites `y`.
///
/// # Panics
/// If `scale == 0`, `x.len() != rows·l_in` or `y.len() != x.len()·scale`.
pub fn upsample1d_forward<T: Real>(x: &[T], l_in: usize, params: &Upsample1dParams, y: &mut [T]) {
    let s = params.scale;
    assert!(s > 0 && l_in > 0 && x.len().is_multiple_of(l_in) && y.len() == x.len() * s);
    let l_out = l_in * s;
    let work = y.len() * 3;
    match params.mode {
        UpsampleMode::Nearest => for_each_row(y, l_out, work, |row, y_row, _| {
            for (&v, out) in x[row * l_in..(row + 1) * l_in]
                .iter()
                .zip(y_row.chunks_mut(s))
            {
                out.fill(v);
            }
        }),
        UpsampleMode::Linear => for_each_row(y, l_out, work, |row, y_row, tmp| {
            let x_row = &x[row * l_in..(row + 1) * l_in];
            let m = l_in - 1; // interior run length of every phase
            y_row.fill(T::ZERO);
            for r in 0..s {
                let (lambda, start) = linear_phase::<T>(r, s);
                tmp.clear();
                tmp.resize(m, T::ZERO);
                T::vec_axpy(T::ONE - lambda, &x_row[..m], tmp);
                T::vec_axpy(lambda, &x_row[1..], tmp);
                T::vec_scatter_add_strided(tmp, y_row, start, s);
                // The one edge element of this phase.
                if start == r {
                    let last = x_row[m];
                    y_row[m * s + r] = (T::ONE - lambda) * last + lambda * last;
                } else {
                    y_row[r] = x_row[0];
                }
            }
        }),
    }
}

/// Upsampling backward; **accumulates** into `dx` (see the module doc for the formulas).
///
/// # Panics
/// If `scale == 0`, `dx.len() != rows·l_in` or `dy.len() != dx.len()·scale`.
pub fn upsample1d_backward_input<T: Real>(
    dy: &[T],
    l_in: usize,
    params: &Upsample1dParams,
    dx: &mut [T],
) {
    let s = params.scale;
    assert!(s > 0 && l_in > 0 && dx.len().is_multiple_of(l_in) && dy.len() == dx.len() * s);
    let l_out = l_in * s;
    let linear = params.mode == UpsampleMode::Linear;
    for_each_row(dx, l_in, dy.len() * 3, |row, dx_row, tmp| {
        let dy_row = &dy[row * l_out..(row + 1) * l_out];
        for r in 0..s {
            if !linear {
                // dx[i] += dy[i·s + r] for every i: one strided gather and an add.
                tmp.clear();
                tmp.resize(l_in, T::ZERO);
                T::vec_gather_strided(dy_row, r, s, tmp);
                T::vec_axpy(T::ONE, tmp, dx_row);
                continue;
            }
            let (lambda, start) = linear_phase::<T>(r, s);
            let m = l_in - 1;
            tmp.clear();
            tmp.resize(m, T::ZERO);
            T::vec_gather_strided(dy_row, start, s, tmp);
            T::vec_axpy(T::ONE - lambda, tmp, &mut dx_row[..m]);
            T::vec_axpy(lambda, tmp, &mut dx_row[1..]);
            if start == r {
                let g = dy_row[m * s + r];
                dx_row[m] += (T::ONE - lambda) * g + lambda * g;
            } else {
                dx_row[0] += dy_row[r];
            }
        }
    });
}

/// Source of output `t` for linear upsampling, as PyTorch defines it: (i0, i1, λ0, λ1).
fn linear_source(t: usize, s: usize, l_in: usize) -> (usize, usize, f64, f64) {
    let src = ((t as f64 + 0.5) / s as f64 - 0.5).max(0.0);
    let i0 = src.floor() as usize;
    let i1 = if i0 < l_in - 1 { i0 + 1 } else { i0 };
    let l1 = src - i0 as f64;
    (i0, i1, 1.0 - l1, l1)
}

/// Naive twin of [`upsample1d_forward`]: the formulas per output element.
pub fn upsample1d_naive<T: Real>(x: ArrayView3<'_, T>, params: &Upsample1dParams) -> Array3<T> {
    let (n, c, l) = x.dim();
    let s = params.scale;
    Array3::from_shape_fn((n, c, l * s), |(b, ch, t)| match params.mode {
        UpsampleMode::Nearest => x[[b, ch, t / s]],
        UpsampleMode::Linear => {
            let (i0, i1, l0, l1) = linear_source(t, s, l);
            T::from_f64(l0) * x[[b, ch, i0]] + T::from_f64(l1) * x[[b, ch, i1]]
        }
    })
}

/// Naive twin of [`upsample1d_backward_input`] (returns a fresh dx).
pub fn upsample1d_backward_naive<T: Real>(
    dy: ArrayView3<'_, T>,
    params: &Upsample1dParams,
) -> Array3<T> {
    let (n, c, l_out) = dy.dim();
    let s = params.scale;
    let l = l_out / s;
    let mut dx = Array3::from_elem((n, c, l), T::ZERO);
    for ((b, ch, t), &g) in dy.indexed_iter() {
        match params.mode {
            UpsampleMode::Nearest => dx[[b, ch, t / s]] += g,
            UpsampleMode::Linear => {
                let (i0, i1, l0, l1) = linear_source(t, s, l);
                dx[[b, ch, i0]] += T::from_f64(l0) * g;
                dx[[b, ch, i1]] += T::from_f64(l1) * g;
            }
        }
    }
    dx
}

fn check_scale(op: &'static str, params: &Upsample1dParams) -> Result<()> {
    if params.scale == 0 {
        return Err(Error::InvalidParam {
            op,
            name: "scale",
            value: "0".into(),
            why: "the scale factor must be at least 1".into(),
        });
    }
    Ok(())
}

/// Upsamples an NCL tensor by an integer factor along L.
///
/// # Errors
/// [`Error::BadRank`] unless x is `[N, C, L]`; [`Error::InvalidParam`] if the scale is 0;
/// [`Error::EmptyOutput`] if x has no elements.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::upsample1d::{upsample1d, Upsample1dParams, UpsampleMode};
/// let x = Tensor::from_vec(Shape::d3(1, 1, 2), vec![0.0f32, 4.0]).unwrap();
/// let p = Upsample1dParams { scale: 2, mode: UpsampleMode::Linear };
/// assert_eq!(upsample1d(&x, &p).unwrap().data(), &[0.0, 1.0, 3.0, 4.0]);
/// ```
pub fn upsample1d<T: Real>(x: &Tensor<T>, params: &Upsample1dParams) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let op = "upsample1d";
    let (n, c, l) = x.shape().dims3(op, "input")?;
    check_scale(op, params)?;
    if x.numel() == 0 {
        return Err(Error::EmptyOutput {
            op,
            detail: format!("input {} has no elements", x.shape()),
        });
    }
    let mut y = vec![T::ZERO; x.numel() * params.scale];
    upsample1d_forward(x.data(), l, params, &mut y);
    Tensor::from_vec(Shape::d3(n, c, l * params.scale), y)
}

/// Gradient of [`upsample1d`] with respect to its input.
///
/// # Errors
/// As [`upsample1d`] for `x_shape`, and [`Error::ShapeMismatch`] if `dy` is not
/// `[N, C, scale·L]`.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::upsample1d::{upsample1d_backward, Upsample1dParams, UpsampleMode};
/// let dy = Tensor::from_vec(Shape::d3(1, 1, 4), vec![1.0f32, 2., 3., 4.]).unwrap();
/// let p = Upsample1dParams { scale: 2, mode: UpsampleMode::Nearest };
/// assert_eq!(upsample1d_backward(&dy, Shape::d3(1, 1, 2), &p).unwrap().data(), &[3.0, 7.0]);
/// ```
pub fn upsample1d_backward<T: Real>(
    dy: &Tensor<T>,
    x_shape: Shape,
    params: &Upsample1dParams,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let op = "upsample1d_backward";
    let (n, c, l) = x_shape.dims3(op, "input")?;
    check_scale(op, params)?;
    if x_shape.numel() == 0 {
        return Err(Error::EmptyOutput {
            op,
            detail: format!("input shape {x_shape} has no elements"),
        });
    }
    let want = Shape::d3(n, c, l * params.scale);
    if dy.shape() != want {
        return Err(Error::ShapeMismatch {
            op,
            detail: format!("dy must have shape {want}"),
            lhs_name: "dy",
            lhs: dy.shape(),
            rhs_name: "input",
            rhs: x_shape,
        });
    }
    let mut dx = vec![T::ZERO; x_shape.numel()];
    upsample1d_backward_input(dy.data(), l, params, &mut dx);
    Tensor::from_vec(x_shape, dx)
}

#[cfg(test)]
mod tests;
