//! Naive twins of the normalisation kernels: the formulas of the module doc, channel by channel
//! (batch norm) or row by row (layer norm), with ndarray indexing. No SIMD, no threads; every sum
//! runs in the obvious order.

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3};

use super::BnMode;
use crate::real::Real;

/// Batch statistics of `x[n, c, l]`: per-channel mean and biased variance (two passes).
pub fn batch_norm_stats_naive<T: Real>(x: ArrayView3<'_, T>) -> (Array1<T>, Array1<T>) {
    let (n, c, l) = x.dim();
    let count = T::from_usize(n * l);
    let mut mean = Array1::from_elem(c, T::ZERO);
    let mut var = Array1::from_elem(c, T::ZERO);
    for ch in 0..c {
        let mut sum = T::ZERO;
        for b in 0..n {
            for t in 0..l {
                sum += x[[b, ch, t]];
            }
        }
        mean[ch] = sum / count;
        let mut sq = T::ZERO;
        for b in 0..n {
            for t in 0..l {
                let d = x[[b, ch, t]] - mean[ch];
                sq += d * d;
            }
        }
        var[ch] = sq / count;
    }
    (mean, var)
}

/// `y = (x − μ_c)·r_c·γ_c + β_c` with the given per-channel μ and r.
pub fn batch_norm_forward_naive<T: Real>(
    x: ArrayView3<'_, T>,
    gamma: &[T],
    beta: &[T],
    mean: &[T],
    inv_std: &[T],
) -> Array3<T> {
    Array3::from_shape_fn(x.dim(), |(b, ch, t)| {
        (x[[b, ch, t]] - mean[ch]) * inv_std[ch] * gamma[ch] + beta[ch]
    })
}

/// Batch norm gradients (dx, dγ, dβ) written as `dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))`.
pub fn batch_norm_backward_naive<T: Real>(
    dy: ArrayView3<'_, T>,
    x: ArrayView3<'_, T>,
    gamma: &[T],
    mean: &[T],
    inv_std: &[T],
    mode: BnMode,
) -> (Array3<T>, Vec<T>, Vec<T>) {
    let (n, c, l) = x.dim();
    let count = T::from_usize(n * l);
    let mut dx = Array3::from_elem((n, c, l), T::ZERO);
    let (mut dgamma, mut dbeta) = (vec![T::ZERO; c], vec![T::ZERO; c]);
    for ch in 0..c {
        let xhat = |b: usize, t: usize| (x[[b, ch, t]] - mean[ch]) * inv_std[ch];
        let (mut mean_dxhat, mut mean_dxhat_xhat) = (T::ZERO, T::ZERO);
        for b in 0..n {
            for t in 0..l {
                let g = dy[[b, ch, t]];
                dbeta[ch] += g;
                dgamma[ch] += g * xhat(b, t);
                mean_dxhat += gamma[ch] * g;
                mean_dxhat_xhat += gamma[ch] * g * xhat(b, t);
            }
        }
        mean_dxhat /= count;
        mean_dxhat_xhat /= count;
        for b in 0..n {
            for t in 0..l {
                let dxhat = gamma[ch] * dy[[b, ch, t]];
                dx[[b, ch, t]] = match mode {
                    BnMode::Train => {
                        inv_std[ch] * (dxhat - mean_dxhat - xhat(b, t) * mean_dxhat_xhat)
                    }
                    BnMode::Eval => inv_std[ch] * dxhat,
                };
            }
        }
    }
    (dx, dgamma, dbeta)
}

/// Layer norm per row of `x[row, f]`: returns (y, mean, inv_std).
pub fn layer_norm_naive<T: Real>(
    x: ArrayView2<'_, T>,
    gamma: &[T],
    beta: &[T],
    eps: T,
) -> (Array2<T>, Vec<T>, Vec<T>) {
    let (rows, f) = x.dim();
    let ff = T::from_usize(f);
    let mut y = Array2::from_elem((rows, f), T::ZERO);
    let (mut mean, mut inv_std) = (vec![T::ZERO; rows], vec![T::ZERO; rows]);
    for i in 0..rows {
        let mut sum = T::ZERO;
        for k in 0..f {
            sum += x[[i, k]];
        }
        let mu = sum / ff;
        let mut sq = T::ZERO;
        for k in 0..f {
            sq += (x[[i, k]] - mu) * (x[[i, k]] - mu);
        }
        let r = T::ONE / (sq / ff + eps).sqrt();
        for k in 0..f {
            y[[i, k]] = (x[[i, k]] - mu) * r * gamma[k] + beta[k];
        }
        (mean[i], inv_std[i]) = (mu, r);
    }
    (y, mean, inv_std)
}

/// Layer norm gradients (dx, dγ, dβ), row by row.
pub fn layer_norm_backward_naive<T: Real>(
    dy: ArrayView2<'_, T>,
    x: ArrayView2<'_, T>,
    gamma: &[T],
    mean: &[T],
    inv_std: &[T],
) -> (Array2<T>, Vec<T>, Vec<T>) {
    let (rows, f) = x.dim();
    let ff = T::from_usize(f);
    let mut dx = Array2::from_elem((rows, f), T::ZERO);
    let (mut dgamma, mut dbeta) = (vec![T::ZERO; f], vec![T::ZERO; f]);
    for i in 0..rows {
        let xhat = |k: usize| (x[[i, k]] - mean[i]) * inv_std[i];
        let (mut mean_dxhat, mut mean_dxhat_xhat) = (T::ZERO, T::ZERO);
        for k in 0..f {
            dgamma[k] += dy[[i, k]] * xhat(k);
            dbeta[k] += dy[[i, k]];
            mean_dxhat += gamma[k] * dy[[i, k]];
            mean_dxhat_xhat += gamma[k] * dy[[i, k]] * xhat(k);
        }
        mean_dxhat /= ff;
        mean_dxhat_xhat /= ff;
        for k in 0..f {
            let dxhat = gamma[k] * dy[[i, k]];
            dx[[i, k]] = inv_std[i] * (dxhat - mean_dxhat - xhat(k) * mean_dxhat_xhat);
        }
    }
    (dx, dgamma, dbeta)
}
