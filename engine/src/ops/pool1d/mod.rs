//! 1D pooling over NCL tensors: max pool (saving argmax), average pool, global average pool.
//!
//! # What it computes
//! With `pos(t, j) = t·stride + j·dilation − padding` (the one index function, [`window::Axis`]):
//!
//! ```text
//! max:    y[n,c,t] = max_{j : pos valid} x[n,c,pos(t,j)]        (padding acts as −∞)
//!         argmax[n,c,t] = that pos; ties → the FIRST (smallest) position
//! avg:    y[n,c,t] = (1/D_t) · Σ_{j : pos valid} x[n,c,pos(t,j)]
//!         D_t = kernel (count_include_pad = true, PyTorch's default: padding counts as zeros)
//!         D_t = number of valid taps (count_include_pad = false)
//! global: y[n,c] = (1/L) · Σ_t x[n,c,t]                          (NCL → NC)
//! ```
//!
//! `l_out = ⌊(l_in + 2·padding − dilation·(kernel−1) − 1) / stride⌋ + 1` (PyTorch's floor mode).
//! Pooling requires `padding ≤ span/2` (as PyTorch) and rejects windows that lie entirely in the
//! padding. `dilation` is honoured by the average pool too (PyTorch's `AvgPool1d` has none).
//! NaN inputs are not specially propagated: a NaN wins only if it is the first valid tap.
//!
//! # Shapes
//! x `[N, C, L_in]` → y `[N, C, L_out]`; argmax `N·C·L_out` positions within each row
//! (`0..L_in`, as PyTorch's `return_indices`); global: `[N, C, L]` → `[N, C]`.
//!
//! # Cost
//! `N·C·L_out·kernel` comparisons or adds (memory-bound: one read of x, one write of y).
//!
//! # Gradients (all accumulate into dx)
//! - max:    `dx[n,c,argmax[n,c,t]] += dy[n,c,t]` (overlapping windows add up)
//! - avg:    `dx[n,c,pos(t,j)] += dy[n,c,t] / D_t` for every valid tap
//! - global: `dx[n,c,t] += dy[n,c] / L`
//!
//! # How the fast version differs from [`naive`]
//! The naive twin loops `(n, c, t, j)` and tests every tap for padding. The fast kernels never
//! test padding inside a hot loop:
//! - **average** pools loop **tap-major**: for each tap j, the outputs whose tap lands in the
//!   input form one contiguous range ([`window::Axis::valid_range`]) read with one stride, so the
//!   inner loop is one `axpy` (SIMD for f32) over a contiguous or gathered strip; the backward is
//!   the transposed scatter-add;
//! - **max** pools scan each *interior* window (all taps inside the row) directly and handle the
//!   few border windows through the index function, with the comparisons written branch-free
//!   (see `max_row_update`: a mispredicted branch per window cost about 3×).
//!
//! Rows `(n, c)` are independent and run in parallel above [`crate::parallel::GRAIN`] (no
//! reduction, so the thread count cannot change any bit). The same row helpers serve `pool2d`,
//! one kernel row at a time.

mod kernels;
pub mod naive;
#[cfg(test)]
pub(crate) mod tests;
pub mod window;

use crate::error::{Error, Result};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;
pub(crate) use kernels::{
    avg_inv_divisors, for_each_row, max_row_update, scatter_row_add, sum_row_add,
};
pub use kernels::{
    avg_pool1d_backward_input, avg_pool1d_forward, global_avg_pool1d_backward_input,
    global_avg_pool1d_forward, max_pool1d_backward_input, max_pool1d_forward,
};
use window::Axis;

/// Marker for "no tap seen yet" in an argmax buffer while a max pool runs.
pub(crate) const NO_INDEX: usize = usize::MAX;

/// Parameters of a 1D pool. Build with [`Pool1dParams::new`] (PyTorch defaults) and the `with_*`
/// methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool1dParams {
    /// Window taps.
    pub kernel: usize,
    /// Step between windows; PyTorch's default is `kernel`.
    pub stride: usize,
    /// Implicit padding on both ends (−∞ for max, 0 for avg); at most half the span.
    pub padding: usize,
    /// Step between taps (1 = contiguous window).
    pub dilation: usize,
    /// Average pool only: whether padded taps count in the divisor (PyTorch default `true`).
    pub count_include_pad: bool,
}

impl Pool1dParams {
    /// Kernel `kernel`, stride = kernel, no padding, dilation 1, `count_include_pad = true`.
    pub fn new(kernel: usize) -> Pool1dParams {
        Pool1dParams {
            kernel,
            stride: kernel,
            padding: 0,
            dilation: 1,
            count_include_pad: true,
        }
    }
    /// Sets the stride.
    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }
    /// Sets the padding.
    pub fn with_padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }
    /// Sets the dilation.
    pub fn with_dilation(mut self, dilation: usize) -> Self {
        self.dilation = dilation;
        self
    }
    /// Sets `count_include_pad` (average pool).
    pub fn with_count_include_pad(mut self, include: bool) -> Self {
        self.count_include_pad = include;
        self
    }

    /// The validated window geometry for an input of length `l_in`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a zero kernel/stride/dilation or too much padding;
    /// [`Error::EmptyOutput`] if the window does not fit the padded input.
    pub fn axis(&self, op: &'static str, l_in: usize) -> Result<Axis> {
        let axis = Axis::new(
            op,
            l_in,
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
        )?;
        axis.check_pooling(op)?;
        Ok(axis)
    }

    /// Output length for an input of length `l_in`.
    ///
    /// # Errors
    /// As [`Pool1dParams::axis`].
    pub fn out_len(&self, l_in: usize) -> Result<usize> {
        Ok(self.axis("pool1d", l_in)?.out_len)
    }
}

/// The result of a max pool: the pooled tensor and, for the backward pass, the input position
/// of each maximum (within its row for 1D, `h·W + w` within its plane for 2D, as PyTorch).
#[derive(Clone, Debug, PartialEq)]
pub struct MaxPoolOutput<T: Real> {
    /// Pooled values.
    pub y: Tensor<T>,
    /// One input position per output element.
    pub argmax: Vec<usize>,
}

// ---- tensor level -----------------------------------------------------------------------------

/// Checks that `x` is a non-empty NCL tensor; returns (n, c, l).
fn ncl<T: Real>(
    op: &'static str,
    arg: &'static str,
    x: &Tensor<T>,
) -> Result<(usize, usize, usize)> {
    let (n, c, l) = x.shape().dims3(op, arg)?;
    if n * c == 0 {
        return Err(Error::EmptyOutput {
            op,
            detail: format!("{arg} {} has no rows", x.shape()),
        });
    }
    Ok((n, c, l))
}

/// Checks that `dy` is `[n, c, l_out]` for the geometry of `x_shape`.
fn check_dy<T: Real>(op: &'static str, dy: &Tensor<T>, x_shape: Shape, want: Shape) -> Result<()> {
    if dy.shape() != want {
        return Err(Error::ShapeMismatch {
            op,
            detail: format!("dy must have shape {want} for this input and these parameters"),
            lhs_name: "dy",
            lhs: dy.shape(),
            rhs_name: "input",
            rhs: x_shape,
        });
    }
    Ok(())
}

/// 1D max pool of an NCL tensor; returns the pooled tensor and the argmax positions.
///
/// # Errors
/// [`Error::BadRank`] unless x is `[N, C, L]`; [`Error::InvalidParam`] for zero kernel, stride or
/// dilation, or padding above half the span; [`Error::EmptyOutput`] if the window does not fit.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor, ops::pool1d::{max_pool1d, Pool1dParams}};
/// let x = Tensor::from_vec(Shape::d3(1, 1, 5), vec![1.0f32, 3., 2., 5., 4.]).unwrap();
/// let out = max_pool1d(&x, &Pool1dParams::new(2)).unwrap();
/// assert_eq!(out.y.data(), &[3.0, 5.0]);
/// assert_eq!(out.argmax, vec![1, 3]);
/// ```
pub fn max_pool1d<T: Real>(x: &Tensor<T>, params: &Pool1dParams) -> Result<MaxPoolOutput<T>> {
    crate::simd::try_isa()?;
    let (n, c, l) = ncl("max_pool1d", "input", x)?;
    let axis = params.axis("max_pool1d", l)?;
    // The kernel writes every y (and argmax) element.
    let mut y = crate::pool::take_for_overwrite(n * c * axis.out_len);
    // From the buffer pool too (a fresh `vec!` this large is mapped and unmapped every call),
    // without a fill: the kernel writes every position (debug builds poison it with NO_INDEX).
    let mut argmax = crate::pool::take_for_overwrite_poisoned(y.len(), NO_INDEX);
    max_pool1d_forward(x.data(), n * c, &axis, &mut y, &mut argmax);
    Ok(MaxPoolOutput {
        y: Tensor::from_vec(Shape::d3(n, c, axis.out_len), y)?,
        argmax,
    })
}

/// Gradient of [`max_pool1d`] with respect to its input, from the saved argmax positions.
///
/// # Errors
/// [`Error::BadRank`]/[`Error::ShapeMismatch`] if `dy` is not `[N, C, L_out]` matching
/// `argmax.len()`; [`Error::InvalidParam`] if an argmax position is outside `0..L_in`.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor, ops::pool1d::{max_pool1d, max_pool1d_backward, Pool1dParams}};
/// let x = Tensor::from_vec(Shape::d3(1, 1, 4), vec![1.0f32, 3., 5., 2.]).unwrap();
/// let out = max_pool1d(&x, &Pool1dParams::new(2)).unwrap();
/// let dy = Tensor::from_vec(Shape::d3(1, 1, 2), vec![10.0f32, 20.0]).unwrap();
/// let dx = max_pool1d_backward(&dy, &out.argmax, x.shape()).unwrap();
/// assert_eq!(dx.data(), &[0.0, 10.0, 20.0, 0.0]); // each dy goes to its window's maximum
/// ```
pub fn max_pool1d_backward<T: Real>(
    dy: &Tensor<T>,
    argmax: &[usize],
    x_shape: Shape,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let op = "max_pool1d_backward";
    let (n, c, l_in) = x_shape.dims3(op, "input")?;
    let (dn, dc, l_out) = dy.shape().dims3(op, "dy")?;
    if (dn, dc) != (n, c) || argmax.len() != dy.numel() || l_out == 0 {
        return Err(Error::ShapeMismatch {
            op,
            detail: format!(
                "dy must be [N, C, L_out] with N·C·L_out = {} argmax entries",
                argmax.len()
            ),
            lhs_name: "dy",
            lhs: dy.shape(),
            rhs_name: "input",
            rhs: x_shape,
        });
    }
    if let Some(&bad) = argmax.iter().find(|&&a| a >= l_in) {
        return Err(Error::InvalidParam {
            op,
            name: "argmax",
            value: bad.to_string(),
            why: format!("positions must be below the input length {l_in}"),
        });
    }
    let mut dx = crate::pool::take_filled(x_shape.numel(), T::ZERO);
    max_pool1d_backward_input(dy.data(), argmax, l_out, l_in, &mut dx);
    Tensor::from_vec(x_shape, dx)
}

/// 1D average pool of an NCL tensor (`params.count_include_pad` selects the divisor).
///
/// # Errors
/// As [`max_pool1d`].
///
/// ```
/// use ecgrad_engine::{Shape, Tensor, ops::pool1d::{avg_pool1d, Pool1dParams}};
/// let x = Tensor::from_vec(Shape::d3(1, 1, 4), vec![1.0f32, 3., 2., 6.]).unwrap();
/// assert_eq!(avg_pool1d(&x, &Pool1dParams::new(2)).unwrap().data(), &[2.0, 4.0]);
/// ```
pub fn avg_pool1d<T: Real>(x: &Tensor<T>, params: &Pool1dParams) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let (n, c, l) = ncl("avg_pool1d", "input", x)?;
    let axis = params.axis("avg_pool1d", l)?;
    let mut y = vec![T::ZERO; n * c * axis.out_len];
    avg_pool1d_forward(x.data(), n * c, &axis, params.count_include_pad, &mut y);
    Tensor::from_vec(Shape::d3(n, c, axis.out_len), y)
}

/// Gradient of [`avg_pool1d`] with respect to its input.
///
/// # Errors
/// As [`avg_pool1d`] for `x_shape`, and [`Error::ShapeMismatch`] if `dy` is not `[N, C, L_out]`.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor, ops::pool1d::{avg_pool1d_backward, Pool1dParams}};
/// let dy = Tensor::from_vec(Shape::d3(1, 1, 2), vec![2.0f64, 4.0]).unwrap();
/// let dx = avg_pool1d_backward(&dy, Shape::d3(1, 1, 4), &Pool1dParams::new(2)).unwrap();
/// assert_eq!(dx.data(), &[1.0, 1.0, 2.0, 2.0]);
/// ```
pub fn avg_pool1d_backward<T: Real>(
    dy: &Tensor<T>,
    x_shape: Shape,
    params: &Pool1dParams,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let op = "avg_pool1d_backward";
    let (n, c, l) = x_shape.dims3(op, "input")?;
    let axis = params.axis(op, l)?;
    check_dy(op, dy, x_shape, Shape::d3(n, c, axis.out_len))?;
    let mut dx = crate::pool::take_filled(x_shape.numel(), T::ZERO);
    avg_pool1d_backward_input(dy.data(), n * c, &axis, params.count_include_pad, &mut dx);
    Tensor::from_vec(x_shape, dx)
}

/// Global average pool: `[N, C, L]` → `[N, C]`, the mean over time of each channel.
///
/// # Errors
/// [`Error::BadRank`] unless x is `[N, C, L]`; [`Error::EmptyOutput`] if N, C or L is 0.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor, ops::pool1d::global_avg_pool1d};
/// let x = Tensor::from_vec(Shape::d3(1, 2, 2), vec![1.0f32, 3., -2., 2.]).unwrap();
/// assert_eq!(global_avg_pool1d(&x).unwrap().data(), &[2.0, 0.0]);
/// ```
pub fn global_avg_pool1d<T: Real>(x: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let (n, c, l) = ncl("global_avg_pool1d", "input", x)?;
    if l == 0 {
        return Err(Error::EmptyOutput {
            op: "global_avg_pool1d",
            detail: format!(
                "input {} has length 0: there is nothing to average",
                x.shape()
            ),
        });
    }
    let mut y = vec![T::ZERO; n * c];
    global_avg_pool1d_forward(x.data(), l, &mut y);
    Tensor::from_vec(Shape::d2(n, c), y)
}

/// Gradient of [`global_avg_pool1d`]: dy `[N, C]` → dx `[N, C, L]`.
///
/// # Errors
/// [`Error::BadRank`] or [`Error::ShapeMismatch`] if `dy` is not `[N, C]` for `x_shape`;
/// [`Error::EmptyOutput`] if `x_shape` has length 0.
pub fn global_avg_pool1d_backward<T: Real>(dy: &Tensor<T>, x_shape: Shape) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let op = "global_avg_pool1d_backward";
    let (n, c, l) = x_shape.dims3(op, "input")?;
    dy.shape().dims2(op, "dy")?;
    check_dy(op, dy, x_shape, Shape::d2(n, c))?;
    if l == 0 || n * c == 0 {
        return Err(Error::EmptyOutput {
            op,
            detail: format!("input shape {x_shape} has no elements"),
        });
    }
    let mut dx = crate::pool::take_filled(x_shape.numel(), T::ZERO);
    global_avg_pool1d_backward_input(dy.data(), l, &mut dx);
    Tensor::from_vec(x_shape, dx)
}
