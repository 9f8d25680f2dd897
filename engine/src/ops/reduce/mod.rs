//! Reductions: sum, mean and max over one axis, or over all elements.
//!
//! # What it computes
//! Any tensor (rank 1 to 4) reduced along `axis` is viewed as `[outer, len, inner]`, where
//! `len` is the size of the reduced axis, `outer` the product of the dimensions before it and
//! `inner` the product of those after it (row-major, so no copy is needed):
//! - sum:  y\[o,i\] = Σ_l x\[o,l,i\]
//! - mean: y\[o,i\] = (1/len) · Σ_l x\[o,l,i\]
//! - max:  y\[o,i\] = max_l x\[o,l,i\],  argmax\[o,i\] = the **first** l attaining it
//!
//! The output shape is the input shape with `axis` removed (PyTorch's `keepdim = false`; a
//! `reshape`, which is free, puts a size-1 axis back). Reducing over all elements
//! ([`ReduceOver::All`]) is the case outer = inner = 1 and gives a rank-0 tensor.
//!
//! Ties and NaN in `max`: the first maximal index wins (so the gradient goes to exactly one
//! element, as PyTorch's `max(dim)` documents for its CPU kernel); a NaN counts as larger than
//! every number, so the first NaN of a row is the result, as in PyTorch.
//!
//! # Cost
//! One FLOP (or comparison) per input element.
//!
//! # Gradients (backward kernels **accumulate**: dx += …)
//! - sum:  dx\[o,l,i\] += dy\[o,i\]
//! - mean: dx\[o,l,i\] += dy\[o,i\] / len
//! - max:  dx\[o, argmax\[o,i\], i\] += dy\[o,i\]   (only the saved winner receives the gradient)
//!
//! # How the fast version differs from the naive twins
//! The `_naive` functions index `x[[o, l, i]]` through ndarray, exactly as the formulas read.
//! The fast kernels work on contiguous runs: a row (inner = 1) is summed with `T::vec_sum`
//! (SIMD for f32), and for inner > 1 whole `inner`-long slices are added with `T::vec_axpy`.
//! Output elements are split among threads in fixed chunks, and **each output element is always
//! summed by one thread in the same order**, so results are bit-identical at any thread count.
//! The full sum splits the input into fixed blocks of [`GRAIN`] elements and adds the block sums
//! in block order ([`block_reduce`]) for the same reason.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ops::elementwise::check_nonempty;
use crate::parallel::{GRAIN, block_reduce, current_threads};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

mod naive;
pub use naive::*;

#[cfg(test)]
mod tests;

/// A reduced tensor seen as `[outer, len, inner]` (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisDims {
    /// Product of the dimensions before the reduced axis.
    pub outer: usize,
    /// Size of the reduced axis.
    pub len: usize,
    /// Product of the dimensions after the reduced axis.
    pub inner: usize,
}

impl AxisDims {
    /// Number of input elements.
    pub fn numel(&self) -> usize {
        self.outer * self.len * self.inner
    }
    /// Number of output elements.
    pub fn out_len(&self) -> usize {
        self.outer * self.inner
    }
}

/// What to reduce over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOver {
    /// One axis (0-based); it disappears from the output shape.
    Axis(usize),
    /// Every element; the output is a rank-0 tensor.
    All,
}

/// Which reduction (for messages, and for autograd to record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// Σ
    Sum,
    /// Σ / len
    Mean,
    /// max, saving the argmax
    Max,
}

/// NaN is "larger than everything": the first NaN wins a max (PyTorch propagates NaN too).
#[inline]
fn beats<T: Real>(candidate: T, best: T) -> bool {
    let is_nan = |v: T| v.partial_cmp(&v).is_none();
    candidate > best || (is_nan(candidate) && !is_nan(best))
}

// ---------------------------------------------------------------------------------------------
// Fast kernels
// ---------------------------------------------------------------------------------------------

/// Splits `out` into chunks of about `GRAIN / len` outputs (so each task does ~GRAIN work) and
/// runs `f(first_output_index, chunk)` on them, in parallel when the whole job exceeds GRAIN.
fn for_output_chunks<T: Real>(d: AxisDims, out: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    let per_task = (GRAIN / d.len.max(1)).max(1);
    if d.numel() <= GRAIN || current_threads() == 1 {
        f(0, out);
    } else {
        out.par_chunks_mut(per_task)
            .enumerate()
            .for_each(|(k, chunk)| f(k * per_task, chunk));
    }
}

/// Calls `f(o, i0, n)` for the runs of consecutive outputs `[start, start + count)` that share
/// one `o` (so `x[o, l, i0..i0 + n]` is contiguous for every l).
fn for_runs(
    d: AxisDims,
    start: usize,
    count: usize,
    mut f: impl FnMut(usize, usize, usize, usize),
) {
    let mut pos = 0;
    while pos < count {
        let (o, i0) = ((start + pos) / d.inner, (start + pos) % d.inner);
        let n = (d.inner - i0).min(count - pos);
        f(pos, o, i0, n);
        pos += n;
    }
}

/// y\[o,i\] = Σ_l x\[o,l,i\] (then / len if `mean`); overwrites y. Deterministic at any thread
/// count (see the module doc).
///
/// # Panics
/// If `x.len() != d.numel()` or `y.len() != d.out_len()`.
pub fn sum_axis_forward<T: Real>(x: &[T], d: AxisDims, mean: bool, y: &mut [T]) {
    assert!(
        x.len() == d.numel() && y.len() == d.out_len(),
        "sum_axis: sizes"
    );
    if d.out_len() == 1 {
        // The full sum: fixed GRAIN-element blocks, block sums added in block order.
        y[0] = T::ZERO;
        block_reduce(d.len.div_ceil(GRAIN), 1, &mut y[..1], |b, acc| {
            acc[0] += T::vec_sum(&x[b * GRAIN..((b + 1) * GRAIN).min(d.len)]);
        });
    } else {
        for_output_chunks(d, y, |start, out| {
            if d.inner == 1 {
                for (k, o) in out.iter_mut().enumerate() {
                    let r = start + k;
                    *o = T::vec_sum(&x[r * d.len..(r + 1) * d.len]);
                }
            } else {
                out.fill(T::ZERO);
                for_runs(d, start, out.len(), |pos, o, i0, n| {
                    let dst = &mut out[pos..pos + n];
                    for l in 0..d.len {
                        let base = (o * d.len + l) * d.inner + i0;
                        // 1·x is exact, so this adds rows in l order, like the naive loop.
                        T::vec_axpy(T::ONE, &x[base..base + n], dst);
                    }
                });
            }
        });
    }
    if mean {
        let len = T::from_usize(d.len);
        y.iter_mut().for_each(|v| *v /= len);
    }
}

/// y\[o,i\] = max_l x\[o,l,i\] with the first maximal l in `argmax`; overwrites both.
///
/// # Panics
/// If the lengths disagree with `d`, or `d.len == 0`.
pub fn max_axis_forward<T: Real>(x: &[T], d: AxisDims, y: &mut [T], argmax: &mut [usize]) {
    assert!(x.len() == d.numel() && y.len() == d.out_len() && argmax.len() == y.len());
    assert!(d.len > 0, "max_axis: empty axis");
    // Values and indices are produced together; pair them so one chunked pass fills both.
    let mut pairs = vec![(T::ZERO, 0usize); d.out_len()];
    let per_task = (GRAIN / d.len).max(1);
    let run = |start: usize, out: &mut [(T, usize)]| {
        for_runs(d, start, out.len(), |pos, o, i0, n| {
            let dst = &mut out[pos..pos + n];
            let first = (o * d.len) * d.inner + i0;
            for (k, p) in dst.iter_mut().enumerate() {
                *p = (x[first + k], 0);
            }
            for l in 1..d.len {
                let row = &x[(o * d.len + l) * d.inner + i0..][..n];
                for (p, &v) in dst.iter_mut().zip(row) {
                    if beats(v, p.0) {
                        *p = (v, l);
                    }
                }
            }
        });
    };
    if d.numel() <= GRAIN || current_threads() == 1 {
        run(0, &mut pairs);
    } else {
        pairs
            .par_chunks_mut(per_task)
            .enumerate()
            .for_each(|(k, c)| run(k * per_task, c));
    }
    for ((v, a), (pv, pa)) in y.iter_mut().zip(argmax.iter_mut()).zip(pairs) {
        (*v, *a) = (pv, pa);
    }
}

/// Accumulates dx\[o,l,i\] += dy\[o,i\] (× 1/len if `mean`): the backward of sum and mean.
///
/// # Panics
/// If `dy.len() != d.out_len()` or `dx.len() != d.numel()`.
pub fn sum_axis_backward<T: Real>(dy: &[T], d: AxisDims, mean: bool, dx: &mut [T]) {
    assert!(
        dy.len() == d.out_len() && dx.len() == d.numel(),
        "sum_axis_backward: sizes"
    );
    let scale = if mean {
        T::ONE / T::from_usize(d.len)
    } else {
        T::ONE
    };
    // dx is a list of `outer·len` rows of `inner` elements; row r belongs to o = r / len.
    let rows_per_task = (GRAIN / d.inner).max(1);
    let run = |first_row: usize, dx: &mut [T]| {
        for (k, row) in dx.chunks_mut(d.inner).enumerate() {
            let o = (first_row + k) / d.len;
            T::vec_axpy(scale, &dy[o * d.inner..(o + 1) * d.inner], row);
        }
    };
    if d.numel() <= GRAIN || current_threads() == 1 {
        run(0, dx);
    } else {
        dx.par_chunks_mut(rows_per_task * d.inner)
            .enumerate()
            .for_each(|(k, c)| run(k * rows_per_task, c));
    }
}

/// Accumulates dx\[o, argmax\[o,i\], i\] += dy\[o,i\]: the backward of max. A scatter of
/// `outer·inner` values, far less work than the forward, so it stays serial.
///
/// # Panics
/// If the lengths disagree with `d`, or an index in `argmax` is ≥ `d.len`.
pub fn max_axis_backward<T: Real>(dy: &[T], argmax: &[usize], d: AxisDims, dx: &mut [T]) {
    assert!(dy.len() == d.out_len() && argmax.len() == dy.len() && dx.len() == d.numel());
    for (j, (&g, &l)) in dy.iter().zip(argmax).enumerate() {
        assert!(
            l < d.len,
            "max_axis_backward: argmax {l} out of range 0..{}",
            d.len
        );
        let (o, i) = (j / d.inner, j % d.inner);
        dx[(o * d.len + l) * d.inner + i] += g;
    }
}

// ---------------------------------------------------------------------------------------------
// Tensor layer
// ---------------------------------------------------------------------------------------------

/// The `[outer, len, inner]` view and the output shape of reducing `shape` over `over`.
///
/// # Errors
/// [`Error::InvalidParam`] if the axis is out of range; [`Error::EmptyOutput`] if the tensor
/// has no elements (a sum of nothing would be a silent 0 and a max has no meaning).
pub fn axis_dims(op: &'static str, shape: Shape, over: ReduceOver) -> Result<(AxisDims, Shape)> {
    check_nonempty(op, "x", shape)?;
    match over {
        ReduceOver::All => Ok((
            AxisDims {
                outer: 1,
                len: shape.numel(),
                inner: 1,
            },
            Shape::scalar(),
        )),
        ReduceOver::Axis(axis) => {
            let dims = shape.dims();
            if axis >= dims.len() {
                return Err(Error::InvalidParam {
                    op,
                    name: "axis",
                    value: axis.to_string(),
                    why: format!("x has shape {shape}, so the axis must be < {}", dims.len()),
                });
            }
            let d = AxisDims {
                outer: dims[..axis].iter().product(),
                len: dims[axis],
                inner: dims[axis + 1..].iter().product(),
            };
            let mut kept = [0usize; crate::shape::MAX_RANK];
            let mut r = 0;
            for (_, &v) in dims.iter().enumerate().filter(|&(k, _)| k != axis) {
                kept[r] = v;
                r += 1;
            }
            Ok((d, Shape::new(&kept[..r])?))
        }
    }
}

/// Sum (`Reduction::Sum`) or mean (`Reduction::Mean`) over an axis or all elements.
///
/// # Errors
/// [`Error::InvalidParam`] for an axis out of range or `Reduction::Max` (use [`max`]);
/// [`Error::EmptyOutput`] for an empty tensor.
///
/// ```
/// use ecgrad_engine::{ops::reduce::{reduce, Reduction, ReduceOver}, Shape, Tensor};
/// let x = Tensor::from_vec(Shape::d2(2, 3), vec![1.0f32, 2., 3., 4., 5., 6.]).unwrap();
/// assert_eq!(reduce(&x, Reduction::Sum, ReduceOver::Axis(0)).unwrap().data(), &[5.0, 7.0, 9.0]);
/// assert_eq!(reduce(&x, Reduction::Mean, ReduceOver::Axis(1)).unwrap().data(), &[2.0, 5.0]);
/// assert_eq!(reduce(&x, Reduction::Sum, ReduceOver::All).unwrap().data(), &[21.0]);
/// ```
pub fn reduce<T: Real>(x: &Tensor<T>, how: Reduction, over: ReduceOver) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let op = if how == Reduction::Mean {
        "mean"
    } else {
        "sum"
    };
    if how == Reduction::Max {
        return Err(Error::InvalidParam {
            op: "reduce",
            name: "how",
            value: "Max".into(),
            why: "max also returns indices: call ops::reduce::max".into(),
        });
    }
    let (d, out_shape) = axis_dims(op, x.shape(), over)?;
    let mut y = vec![T::ZERO; d.out_len()];
    sum_axis_forward(x.data(), d, how == Reduction::Mean, &mut y);
    Tensor::from_vec(out_shape, y)
}

/// Maximum over an axis or all elements, with the index (along the axis; a flat index for
/// `All`) of the first maximal element, which the backward needs.
///
/// # Errors
/// [`Error::InvalidParam`] for an axis out of range; [`Error::EmptyOutput`] for an empty tensor.
pub fn max<T: Real>(x: &Tensor<T>, over: ReduceOver) -> Result<(Tensor<T>, Vec<usize>)> {
    crate::simd::try_isa()?;
    let (d, out_shape) = axis_dims("max", x.shape(), over)?;
    let mut y = vec![T::ZERO; d.out_len()];
    let mut argmax = vec![0; d.out_len()];
    max_axis_forward(x.data(), d, &mut y, &mut argmax);
    Ok((Tensor::from_vec(out_shape, y)?, argmax))
}

/// The input gradient of a reduction of a tensor of shape `x_shape`, as a fresh tensor.
/// `argmax` is required for `Reduction::Max` (the indices [`max`] returned) and ignored
/// otherwise.
///
/// # Errors
/// [`Error::ShapeMismatch`] if `dy` does not have the reduced shape; [`Error::InvalidParam`] if
/// `argmax` is missing, has the wrong length or an index out of range; the errors of
/// [`axis_dims`].
pub fn reduce_grad<T: Real>(
    how: Reduction,
    x_shape: Shape,
    over: ReduceOver,
    dy: &Tensor<T>,
    argmax: Option<&[usize]>,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let (d, out_shape) = axis_dims("reduce_grad", x_shape, over)?;
    if dy.shape() != out_shape {
        return Err(Error::ShapeMismatch {
            op: "reduce_grad",
            detail: format!("dy must have the reduced shape {out_shape}"),
            lhs_name: "x",
            lhs: x_shape,
            rhs_name: "dy",
            rhs: dy.shape(),
        });
    }
    let mut dx = vec![T::ZERO; d.numel()];
    match how {
        Reduction::Sum | Reduction::Mean => {
            sum_axis_backward(dy.data(), d, how == Reduction::Mean, &mut dx)
        }
        Reduction::Max => {
            let bad = |why: String| Error::InvalidParam {
                op: "reduce_grad",
                name: "argmax",
                value: argmax.map_or("None".into(), |a| format!("{} indices", a.len())),
                why,
            };
            let am = argmax.ok_or_else(|| bad("max needs the indices saved by max()".into()))?;
            if am.len() != d.out_len() {
                return Err(bad(format!("expected {} indices", d.out_len())));
            }
            if let Some(&l) = am.iter().find(|&&l| l >= d.len) {
                return Err(bad(format!(
                    "index {l} is outside the axis of length {}",
                    d.len
                )));
            }
            max_axis_backward(dy.data(), am, d, &mut dx);
        }
    }
    Tensor::from_vec(x_shape, dx)
}
