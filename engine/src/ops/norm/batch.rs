//! Batch norm kernels (on slices) and the tensor-level functions. See the parent module for the
//! math. A sample `n` is the slab `x[n, :, :]` of `C·L` values; channel c of it is the row
//! `x[n, c, :]` of L values.

use crate::error::{Error, Result};
use crate::ops::pool1d::for_each_row;
use crate::parallel::{GRAIN, block_reduce};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::{BatchNormParams, BnMode, NormGrads, NormOutput, RunningStats};

/// Samples per reduction block: about [`GRAIN`] elements, fixed by the shape alone so that the
/// block boundaries (and so the rounding) never depend on the thread count.
fn sample_block(c: usize, l: usize) -> usize {
    (GRAIN / (c * l).max(1)).max(1)
}

/// Per-channel batch mean and **biased** variance of `x` (`[N, C, L]` flat); overwrites both.
/// Two passes (mean, then Σ(x − μ)²) so a large mean cannot cancel the variance away.
///
/// # Panics
/// If `x.len() != n·c·l`, `mean`/`var` are not `c` long, or `n·l == 0`.
pub fn batch_norm_stats<T: Real>(
    x: &[T],
    n: usize,
    c: usize,
    l: usize,
    mean: &mut [T],
    var: &mut [T],
) {
    assert!(x.len() == n * c * l && mean.len() == c && var.len() == c && n * l > 0);
    let count = T::from_usize(n * l);
    let block = sample_block(c, l);
    mean.fill(T::ZERO);
    block_reduce(n, block, mean, |b, part| {
        let xs = &x[b * c * l..(b + 1) * c * l];
        if l == 1 {
            T::vec_axpy(T::ONE, xs, part); // [N, F]: one value per channel and sample
        } else {
            for (p, row) in part.iter_mut().zip(xs.chunks_exact(l)) {
                *p += T::vec_sum(row);
            }
        }
    });
    for m in mean.iter_mut() {
        *m /= count;
    }
    let mean: &[T] = mean;
    var.fill(T::ZERO);
    block_reduce(n, block, var, |b, part| {
        let xs = &x[b * c * l..(b + 1) * c * l];
        let mut centred = vec![T::ZERO; l];
        for ((p, row), &mu) in part.iter_mut().zip(xs.chunks_exact(l)).zip(mean) {
            for (d, &v) in centred.iter_mut().zip(row) {
                *d = v - mu;
            }
            *p += T::vec_dot(&centred, &centred);
        }
    });
    for v in var.iter_mut() {
        *v /= count;
    }
}

/// Normalises with given statistics: `y = γ·(x − μ)·r + β`, computed as `y = a·x + b` with
/// `a = γ·r`, `b = β − μ·a` per channel; overwrites `y`.
///
/// # Panics
/// If the slices do not match `[N, C, L]` and `[C]`.
pub fn batch_norm_forward<T: Real>(
    x: &[T],
    n: usize,
    c: usize,
    l: usize,
    gamma: &[T],
    beta: &[T],
    mean: &[T],
    inv_std: &[T],
    y: &mut [T],
) {
    assert!(x.len() == n * c * l && y.len() == x.len() && n * c * l > 0);
    assert!(gamma.len() == c && beta.len() == c && mean.len() == c && inv_std.len() == c);
    let coeffs: Vec<(T, T)> = (0..c)
        .map(|ch| {
            let a = gamma[ch] * inv_std[ch];
            (a, beta[ch] - mean[ch] * a)
        })
        .collect();
    for_each_row(y, c * l, y.len(), |b, y_s, _| {
        let xs = &x[b * c * l..(b + 1) * c * l];
        for ((y_row, x_row), &(a, shift)) in y_s.chunks_mut(l).zip(xs.chunks(l)).zip(&coeffs) {
            // Elementwise, no reduction: LLVM vectorises this loop for both types.
            for (o, &v) in y_row.iter_mut().zip(x_row) {
                *o = v * a + shift;
            }
        }
    });
}

/// Batch norm backward; **accumulates** into `dx`, `dgamma` and `dbeta`. `mean` and `inv_std`
/// are the statistics the forward used (batch ones in [`BnMode::Train`], running ones in
/// [`BnMode::Eval`]).
///
/// # Panics
/// If the slices do not match `[N, C, L]` and `[C]`.
pub fn batch_norm_backward_kernel<T: Real>(
    dy: &[T],
    x: &[T],
    n: usize,
    c: usize,
    l: usize,
    gamma: &[T],
    mean: &[T],
    inv_std: &[T],
    mode: BnMode,
    dx: &mut [T],
    dgamma: &mut [T],
    dbeta: &mut [T],
) {
    assert!(x.len() == n * c * l && dy.len() == x.len() && dx.len() == x.len() && !x.is_empty());
    assert!(gamma.len() == c && mean.len() == c && inv_std.len() == c);
    assert!(dgamma.len() == c && dbeta.len() == c);
    // sums[ch] = Σ dy, sums[c + ch] = Σ dy·(x − μ), per channel, in fixed block order.
    let mut sums = vec![T::ZERO; 2 * c];
    block_reduce(n, sample_block(c, l), &mut sums, |b, part| {
        let (xs, dys) = (
            &x[b * c * l..(b + 1) * c * l],
            &dy[b * c * l..(b + 1) * c * l],
        );
        let mut centred = vec![T::ZERO; l];
        for ch in 0..c {
            let (x_row, dy_row) = (&xs[ch * l..(ch + 1) * l], &dys[ch * l..(ch + 1) * l]);
            for (d, &v) in centred.iter_mut().zip(x_row) {
                *d = v - mean[ch];
            }
            part[ch] += T::vec_sum(dy_row);
            part[c + ch] += T::vec_dot(dy_row, &centred);
        }
    });
    let count = T::from_usize(n * l);
    // dx = k1·dy + k2·(x − μ) + k0 per channel (see the module doc for the formula):
    // k1 = γr, k0 = −γr·Σdy/M, k2 = −γr³·Σdy(x−μ)/M   (training; k0 = k2 = 0 in evaluation).
    let coeffs: Vec<(T, T, T)> = (0..c)
        .map(|ch| {
            let (g, r) = (gamma[ch], inv_std[ch]);
            dbeta[ch] += sums[ch];
            dgamma[ch] += sums[c + ch] * r;
            let k1 = g * r;
            match mode {
                BnMode::Train => (
                    k1,
                    -k1 * r * r * sums[c + ch] / count,
                    -k1 * sums[ch] / count,
                ),
                BnMode::Eval => (k1, T::ZERO, T::ZERO),
            }
        })
        .collect();
    for_each_row(dx, c * l, dx.len(), |b, dx_s, _| {
        let (xs, dys) = (
            &x[b * c * l..(b + 1) * c * l],
            &dy[b * c * l..(b + 1) * c * l],
        );
        for ch in 0..c {
            let (k1, k2, k0) = coeffs[ch];
            let mu = mean[ch];
            let rows = (
                &mut dx_s[ch * l..(ch + 1) * l],
                &xs[ch * l..(ch + 1) * l],
                &dys[ch * l..(ch + 1) * l],
            );
            for ((d, &v), &g) in rows.0.iter_mut().zip(rows.1).zip(rows.2) {
                *d += k1 * g + k2 * (v - mu) + k0;
            }
        }
    });
}

// ---- tensor level -----------------------------------------------------------------------------

/// (N, C, L) of a batch-norm input: `[N, F]` → L = 1, `[N, C, L]`, `[N, C, H, W]` → L = H·W.
pub(crate) fn bn_dims(op: &'static str, x: Shape) -> Result<(usize, usize, usize)> {
    let d = x.dims();
    let (n, c, l) = match d.len() {
        2 => (d[0], d[1], 1),
        3 => (d[0], d[1], d[2]),
        4 => (d[0], d[1], d[2] * d[3]),
        _ => {
            return Err(Error::BadRank {
                op,
                arg: "input",
                expected: 3,
                layout: "N, C, L (or N, F or N, C, H, W)",
                got: x,
            });
        }
    };
    if n * c * l == 0 {
        return Err(Error::EmptyOutput {
            op,
            detail: format!("input {x} has no elements"),
        });
    }
    Ok((n, c, l))
}

/// Checks that a per-channel tensor has shape `[c]`.
pub(crate) fn check_vec<T: Real>(
    op: &'static str,
    name: &'static str,
    t: &Tensor<T>,
    x: Shape,
    c: usize,
) -> Result<()> {
    if t.dims() != [c] {
        return Err(Error::ShapeMismatch {
            op,
            detail: format!("{name} must have shape [{c}] to match the input's {c} channels"),
            lhs_name: name,
            lhs: t.shape(),
            rhs_name: "input",
            rhs: x,
        });
    }
    Ok(())
}

fn check_params(op: &'static str, p: &BatchNormParams) -> Result<()> {
    if !(p.eps >= 0.0 && p.eps.is_finite()) {
        return Err(Error::InvalidParam {
            op,
            name: "eps",
            value: p.eps.to_string(),
            why: "eps must be finite and ≥ 0".into(),
        });
    }
    if !(0.0..=1.0).contains(&p.momentum) {
        return Err(Error::InvalidParam {
            op,
            name: "momentum",
            value: p.momentum.to_string(),
            why: "momentum must lie in [0, 1]".into(),
        });
    }
    Ok(())
}

/// r = 1/√(σ² + ε): ε inside the square root (see the module doc).
fn inv_std_of<T: Real>(var: &[T], eps: f64) -> Vec<T> {
    let eps = T::from_f64(eps);
    var.iter().map(|&v| T::ONE / (v + eps).sqrt()).collect()
}

/// Batch norm in training mode: normalises with the batch statistics, updates `running` (if
/// given) with PyTorch's momentum rule, and returns y with the saved mean and inv_std.
///
/// # Errors
/// [`Error::BadRank`] unless x is `[N, F]`, `[N, C, L]` or `[N, C, H, W]`;
/// [`Error::ShapeMismatch`] if γ, β or the running stats are not `[C]`;
/// [`Error::InvalidParam`] for a bad eps/momentum or a single value per channel (N·L = 1);
/// [`Error::EmptyOutput`] if x has no elements.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::norm::{batch_norm_train, BatchNormParams, RunningStats};
/// let x = Tensor::from_vec(Shape::d3(2, 1, 1), vec![1.0f64, 3.0]).unwrap();
/// let (g, b) = (Tensor::full(Shape::d1(1), 1.0), Tensor::zeros(Shape::d1(1)));
/// let mut running = RunningStats::new(1);
/// let p = BatchNormParams { eps: 0.0, momentum: 0.1 };
/// let out = batch_norm_train(&x, &g, &b, Some(&mut running), &p).unwrap();
/// assert_eq!(out.y.data(), &[-1.0, 1.0]);
/// assert_eq!(running.mean.data(), &[0.2]); // 0.9·0 + 0.1·2
/// ```
pub fn batch_norm_train<T: Real>(
    x: &Tensor<T>,
    gamma: &Tensor<T>,
    beta: &Tensor<T>,
    running: Option<&mut RunningStats<T>>,
    params: &BatchNormParams,
) -> Result<NormOutput<T>> {
    crate::simd::try_isa()?;
    let op = "batch_norm_train";
    let (n, c, l) = bn_dims(op, x.shape())?;
    check_vec(op, "gamma", gamma, x.shape(), c)?;
    check_vec(op, "beta", beta, x.shape(), c)?;
    check_params(op, params)?;
    if let Some(r) = &running {
        check_vec(op, "running_mean", &r.mean, x.shape(), c)?;
        check_vec(op, "running_var", &r.var, x.shape(), c)?;
    }
    let count = n * l;
    if count < 2 {
        return Err(Error::InvalidParam {
            op,
            name: "input",
            value: x.shape().to_string(),
            why: "training needs more than one value per channel (N·L = 1)".into(),
        });
    }
    let (mut mean, mut var) = (vec![T::ZERO; c], vec![T::ZERO; c]);
    batch_norm_stats(x.data(), n, c, l, &mut mean, &mut var);
    let inv_std = inv_std_of(&var, params.eps);
    // batch_norm_forward writes every element.
    let mut y = crate::pool::take_for_overwrite(x.numel());
    batch_norm_forward(
        x.data(),
        n,
        c,
        l,
        gamma.data(),
        beta.data(),
        &mean,
        &inv_std,
        &mut y,
    );
    if let Some(r) = running {
        let m = T::from_f64(params.momentum);
        let keep = T::ONE - m;
        // Unbiased variance for the running estimate: σ²·M/(M − 1).
        let unbias = T::from_usize(count) / T::from_usize(count - 1);
        for (rm, &bm) in r.mean.data_mut().iter_mut().zip(&mean) {
            *rm = keep * *rm + m * bm;
        }
        for (rv, &bv) in r.var.data_mut().iter_mut().zip(&var) {
            *rv = keep * *rv + m * bv * unbias;
        }
    }
    Ok(NormOutput {
        y: Tensor::from_vec(x.shape(), y)?,
        mean: Tensor::from_vec(Shape::d1(c), mean)?,
        inv_std: Tensor::from_vec(Shape::d1(c), inv_std)?,
    })
}

/// Batch norm in evaluation mode: normalises with the running statistics (nothing is updated).
/// The returned mean and inv_std are the running ones, for [`batch_norm_backward`] in
/// [`BnMode::Eval`].
///
/// # Errors
/// As [`batch_norm_train`], except that one value per channel is allowed.
pub fn batch_norm_eval<T: Real>(
    x: &Tensor<T>,
    gamma: &Tensor<T>,
    beta: &Tensor<T>,
    running: &RunningStats<T>,
    params: &BatchNormParams,
) -> Result<NormOutput<T>> {
    crate::simd::try_isa()?;
    let op = "batch_norm_eval";
    let (n, c, l) = bn_dims(op, x.shape())?;
    check_vec(op, "gamma", gamma, x.shape(), c)?;
    check_vec(op, "beta", beta, x.shape(), c)?;
    check_vec(op, "running_mean", &running.mean, x.shape(), c)?;
    check_vec(op, "running_var", &running.var, x.shape(), c)?;
    check_params(op, params)?;
    let inv_std = inv_std_of(running.var.data(), params.eps);
    // batch_norm_forward writes every element.
    let mut y = crate::pool::take_for_overwrite(x.numel());
    let mean = running.mean.data();
    batch_norm_forward(
        x.data(),
        n,
        c,
        l,
        gamma.data(),
        beta.data(),
        mean,
        &inv_std,
        &mut y,
    );
    Ok(NormOutput {
        y: Tensor::from_vec(x.shape(), y)?,
        mean: running.mean.clone(),
        inv_std: Tensor::from_vec(Shape::d1(c), inv_std)?,
    })
}

/// Gradients of batch norm from the upstream `dy`, the input `x`, γ and the saved statistics.
///
/// # Errors
/// [`Error::BadRank`]/[`Error::EmptyOutput`] as [`batch_norm_train`]; [`Error::ShapeMismatch`] if
/// `dy` differs from x in shape or γ, mean, inv_std are not `[C]`.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::norm::{batch_norm_backward, batch_norm_train, BatchNormParams, BnMode};
/// let x = Tensor::from_vec(Shape::d2(4, 1), vec![1.0f64, 2.0, 4.0, 9.0]).unwrap();
/// let (g, b) = (Tensor::full(Shape::d1(1), 1.0), Tensor::zeros(Shape::d1(1)));
/// let out = batch_norm_train(&x, &g, &b, None, &BatchNormParams::default()).unwrap();
/// // A constant upstream gradient shifts every output alike, which normalisation undoes.
/// let dy = Tensor::full(x.shape(), 1.0);
/// let grads = batch_norm_backward(&dy, &x, &g, &out.mean, &out.inv_std, BnMode::Train).unwrap();
/// assert!(grads.dx.data().iter().all(|v| v.abs() < 1e-12));
/// assert_eq!(grads.dbeta.data(), &[4.0]);
/// ```
pub fn batch_norm_backward<T: Real>(
    dy: &Tensor<T>,
    x: &Tensor<T>,
    gamma: &Tensor<T>,
    mean: &Tensor<T>,
    inv_std: &Tensor<T>,
    mode: BnMode,
) -> Result<NormGrads<T>> {
    crate::simd::try_isa()?;
    let op = "batch_norm_backward";
    let (n, c, l) = bn_dims(op, x.shape())?;
    if dy.shape() != x.shape() {
        return Err(Error::ShapeMismatch {
            op,
            detail: "dy must have the shape of the input".into(),
            lhs_name: "dy",
            lhs: dy.shape(),
            rhs_name: "input",
            rhs: x.shape(),
        });
    }
    check_vec(op, "gamma", gamma, x.shape(), c)?;
    check_vec(op, "mean", mean, x.shape(), c)?;
    check_vec(op, "inv_std", inv_std, x.shape(), c)?;
    let mut dx = crate::pool::take_filled(x.numel(), T::ZERO);
    let (mut dgamma, mut dbeta) = (vec![T::ZERO; c], vec![T::ZERO; c]);
    batch_norm_backward_kernel(
        dy.data(),
        x.data(),
        n,
        c,
        l,
        gamma.data(),
        mean.data(),
        inv_std.data(),
        mode,
        &mut dx,
        &mut dgamma,
        &mut dbeta,
    );
    Ok(NormGrads {
        dx: Tensor::from_vec(x.shape(), dx)?,
        dgamma: Tensor::from_vec(Shape::d1(c), dgamma)?,
        dbeta: Tensor::from_vec(Shape::d1(c), dbeta)?,
    })
}
