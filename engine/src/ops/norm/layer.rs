//! Layer norm over the last axis: kernels on slices and the tensor-level functions. See the
//! parent module for the math. A "row" is one vector of the last axis (F features).

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ops::pool1d::for_each_row;
use crate::parallel::{GRAIN, block_reduce, current_threads};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::{NormGrads, NormOutput};

/// One row: μ, r and `y = γ ⊙ (x − μ)·r + β`, using `y` as scratch for `x − μ`.
fn layer_norm_row<T: Real>(x: &[T], gamma: &[T], beta: &[T], eps: T, y: &mut [T]) -> (T, T) {
    let f = T::from_usize(x.len());
    let mu = T::vec_sum(x) / f;
    for (d, &v) in y.iter_mut().zip(x) {
        *d = v - mu;
    }
    // Biased variance of the row, ε inside the square root (as PyTorch).
    let r = T::ONE / (T::vec_dot(y, y) / f + eps).sqrt();
    for ((o, &g), &b) in y.iter_mut().zip(gamma).zip(beta) {
        *o = *o * r * g + b;
    }
    (mu, r)
}

/// Layer norm forward over `rows` rows of `f` features; overwrites `y`, `mean`, `inv_std`.
///
/// # Panics
/// If `x.len() != rows·f`, `y.len() != x.len()`, γ/β not `f` long or mean/inv_std not `rows`.
pub fn layer_norm_forward<T: Real>(
    x: &[T],
    rows: usize,
    f: usize,
    gamma: &[T],
    beta: &[T],
    eps: T,
    y: &mut [T],
    mean: &mut [T],
    inv_std: &mut [T],
) {
    assert!(f > 0 && x.len() == rows * f && y.len() == x.len());
    assert!(gamma.len() == f && beta.len() == f && mean.len() == rows && inv_std.len() == rows);
    let row = |(i, ((y_row, m), r)): (usize, ((&mut [T], &mut T), &mut T))| {
        (*m, *r) = layer_norm_row(&x[i * f..(i + 1) * f], gamma, beta, eps, y_row);
    };
    if x.len() >= GRAIN && current_threads() > 1 && rows > 1 {
        y.par_chunks_mut(f)
            .zip(mean.par_iter_mut())
            .zip(inv_std.par_iter_mut())
            .enumerate()
            .for_each(row);
    } else {
        y.chunks_mut(f)
            .zip(mean.iter_mut())
            .zip(inv_std.iter_mut())
            .enumerate()
            .for_each(row);
    }
}

/// Layer norm backward; **accumulates** into `dx`, `dgamma`, `dbeta`.
///
/// # Panics
/// If the slices do not match `rows × f`, `[f]` and `[rows]`.
pub fn layer_norm_backward_kernel<T: Real>(
    dy: &[T],
    x: &[T],
    rows: usize,
    f: usize,
    gamma: &[T],
    mean: &[T],
    inv_std: &[T],
    dx: &mut [T],
    dgamma: &mut [T],
    dbeta: &mut [T],
) {
    assert!(f > 0 && x.len() == rows * f && dy.len() == x.len() && dx.len() == x.len());
    assert!(gamma.len() == f && mean.len() == rows && inv_std.len() == rows);
    assert!(dgamma.len() == f && dbeta.len() == f);
    // dγ = Σ_rows dy ⊙ x̂ and dβ = Σ_rows dy: a reduction over rows, in fixed block order.
    let mut sums = vec![T::ZERO; 2 * f];
    block_reduce(rows, (GRAIN / f).max(1), &mut sums, |i, part| {
        let (x_row, dy_row) = (&x[i * f..(i + 1) * f], &dy[i * f..(i + 1) * f]);
        let (mu, r) = (mean[i], inv_std[i]);
        let (pg, pb) = part.split_at_mut(f);
        for ((p, &v), &g) in pg.iter_mut().zip(x_row).zip(dy_row) {
            *p += g * ((v - mu) * r);
        }
        T::vec_axpy(T::ONE, dy_row, pb);
    });
    for ((dg, db), (sg, sb)) in dgamma
        .iter_mut()
        .zip(dbeta.iter_mut())
        .zip(sums[..f].iter().zip(&sums[f..]))
    {
        *dg += *sg;
        *db += *sb;
    }
    let ff = T::from_usize(f);
    // dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), dx̂ = γ ⊙ dy; rows are independent.
    for_each_row(dx, f, dx.len(), |i, dx_row, scratch| {
        scratch.clear();
        scratch.resize(2 * f, T::ZERO);
        let (g, xh) = scratch.split_at_mut(f);
        let (x_row, dy_row) = (&x[i * f..(i + 1) * f], &dy[i * f..(i + 1) * f]);
        let (mu, r) = (mean[i], inv_std[i]);
        T::vec_mul(gamma, dy_row, g);
        for (h, &v) in xh.iter_mut().zip(x_row) {
            *h = (v - mu) * r;
        }
        let mean_g = T::vec_sum(g) / ff;
        let mean_gx = T::vec_dot(g, xh) / ff;
        T::vec_axpy(r, g, dx_row);
        T::vec_axpy(-r * mean_gx, xh, dx_row);
        let shift = r * mean_g;
        for d in dx_row.iter_mut() {
            *d -= shift;
        }
    });
}

/// `(rows, f)` of a layer-norm input and the shape of its per-row statistics.
fn ln_dims(op: &'static str, x: Shape) -> Result<(usize, usize, Shape)> {
    let d = x.dims();
    if d.is_empty() {
        return Err(Error::BadRank {
            op,
            arg: "input",
            expected: 1,
            layout: "…, F (at least one axis)",
            got: x,
        });
    }
    if x.numel() == 0 {
        return Err(Error::EmptyOutput {
            op,
            detail: format!("input {x} has no elements"),
        });
    }
    let f = d[d.len() - 1];
    Ok((x.numel() / f, f, Shape::new(&d[..d.len() - 1])?))
}

fn check_len<T: Real>(
    op: &'static str,
    name: &'static str,
    t: &Tensor<T>,
    want: Shape,
    x: Shape,
) -> Result<()> {
    if t.shape() != want {
        return Err(Error::ShapeMismatch {
            op,
            detail: format!("{name} must have shape {want}"),
            lhs_name: name,
            lhs: t.shape(),
            rhs_name: "input",
            rhs: x,
        });
    }
    Ok(())
}

/// Layer norm over the last axis: `y = γ ⊙ (x − μ)/√(σ² + ε) + β` per row.
///
/// # Errors
/// [`Error::BadRank`] for a rank-0 input; [`Error::EmptyOutput`] if x has no elements;
/// [`Error::ShapeMismatch`] if γ or β is not `[F]`; [`Error::InvalidParam`] for a negative or
/// non-finite eps.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor, ops::norm::layer_norm};
/// let x = Tensor::from_vec(Shape::d2(1, 2), vec![1.0f64, 3.0]).unwrap();
/// let (g, b) = (Tensor::full(Shape::d1(2), 1.0), Tensor::zeros(Shape::d1(2)));
/// assert_eq!(layer_norm(&x, &g, &b, 0.0).unwrap().y.data(), &[-1.0, 1.0]);
/// ```
pub fn layer_norm<T: Real>(
    x: &Tensor<T>,
    gamma: &Tensor<T>,
    beta: &Tensor<T>,
    eps: f64,
) -> Result<NormOutput<T>> {
    crate::simd::try_isa()?;
    let op = "layer_norm";
    let (rows, f, stat_shape) = ln_dims(op, x.shape())?;
    check_len(op, "gamma", gamma, Shape::d1(f), x.shape())?;
    check_len(op, "beta", beta, Shape::d1(f), x.shape())?;
    if !(eps >= 0.0 && eps.is_finite()) {
        return Err(Error::InvalidParam {
            op,
            name: "eps",
            value: eps.to_string(),
            why: "eps must be finite and ≥ 0".into(),
        });
    }
    let mut y = crate::pool::take_filled(x.numel(), T::ZERO);
    let (mut mean, mut inv_std) = (vec![T::ZERO; rows], vec![T::ZERO; rows]);
    let eps = T::from_f64(eps);
    layer_norm_forward(
        x.data(),
        rows,
        f,
        gamma.data(),
        beta.data(),
        eps,
        &mut y,
        &mut mean,
        &mut inv_std,
    );
    Ok(NormOutput {
        y: Tensor::from_vec(x.shape(), y)?,
        mean: Tensor::from_vec(stat_shape, mean)?,
        inv_std: Tensor::from_vec(stat_shape, inv_std)?,
    })
}

/// Gradients of [`layer_norm`] from `dy`, `x`, γ and the saved per-row mean and inv_std.
///
/// # Errors
/// As [`layer_norm`], plus [`Error::ShapeMismatch`] if `dy` differs from x or the statistics do
/// not have one entry per row.
pub fn layer_norm_backward<T: Real>(
    dy: &Tensor<T>,
    x: &Tensor<T>,
    gamma: &Tensor<T>,
    mean: &Tensor<T>,
    inv_std: &Tensor<T>,
) -> Result<NormGrads<T>> {
    crate::simd::try_isa()?;
    let op = "layer_norm_backward";
    let (rows, f, stat_shape) = ln_dims(op, x.shape())?;
    check_len(op, "dy", dy, x.shape(), x.shape())?;
    check_len(op, "gamma", gamma, Shape::d1(f), x.shape())?;
    check_len(op, "mean", mean, stat_shape, x.shape())?;
    check_len(op, "inv_std", inv_std, stat_shape, x.shape())?;
    let mut dx = crate::pool::take_filled(x.numel(), T::ZERO);
    let (mut dgamma, mut dbeta) = (vec![T::ZERO; f], vec![T::ZERO; f]);
    layer_norm_backward_kernel(
        dy.data(),
        x.data(),
        rows,
        f,
        gamma.data(),
        mean.data(),
        inv_std.data(),
        &mut dx,
        &mut dgamma,
        &mut dbeta,
    );
    Ok(NormGrads {
        dx: Tensor::from_vec(x.shape(), dx)?,
        dgamma: Tensor::from_vec(Shape::d1(f), dgamma)?,
        dbeta: Tensor::from_vec(Shape::d1(f), dbeta)?,
    })
}
