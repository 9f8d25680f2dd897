//! 2D max and average pooling over NCHW tensors (the 2D CNN of the seeds).
//!
//! # What it computes
//! With the one index function of [`crate::ops::pool1d::window`] per axis,
//! `ih = pos_h(oh, i)`, `iw = pos_w(ow, j)`:
//!
//! ```text
//! max: y[n,c,oh,ow] = max_{i,j valid} x[n,c,ih,iw]; argmax = ih·W + iw, ties → first in
//!      row-major order (smallest ih, then smallest iw), as PyTorch's return_indices
//! avg: y[n,c,oh,ow] = (1/D) · Σ_{i,j valid} x[n,c,ih,iw]
//!      D = KH·KW (count_include_pad, PyTorch default) or (#valid i)·(#valid j)
//! ```
//! `OH = ⌊(H + 2·ph − dh·(KH−1) − 1)/sh⌋ + 1`, likewise `OW`. Padding ≤ half the span per axis.
//!
//! # Shapes
//! x `[N, C, H, W]` → y `[N, C, OH, OW]`; argmax has `N·C·OH·OW` entries in `0..H·W`.
//!
//! # Cost
//! `N·C·OH·OW·KH·KW` comparisons or adds (memory-bound).
//!
//! # Gradients (accumulate into dx)
//! - max: `dx[n,c,argmax] += dy[n,c,oh,ow]`
//! - avg: `dx[n,c,ih,iw] += dy[n,c,oh,ow] / D` for every valid tap
//!
//! # How the fast version differs from [`naive`]
//! A 2D window is KH 1D windows stacked: for each output row `oh` and kernel row `i` whose input
//! row `ih` is valid, the 1D row helpers of `pool1d` run along W (tap-major `axpy` strips, SIMD
//! for f32, for the average; branch-free interior window scans for the max). Planes `(n, c)` run
//! in parallel above [`crate::parallel::GRAIN`]. The max backward is exactly the 1D one with each
//! plane flattened to a row of `H·W`.

pub mod naive;
#[cfg(test)]
mod tests;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ops::pool1d::window::Axis;
use crate::ops::pool1d::{
    self, MaxPoolOutput, NO_INDEX, avg_inv_divisors, for_each_row, max_row_update, scatter_row_add,
    sum_row_add,
};
use crate::parallel::{GRAIN, current_threads};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Parameters of a 2D pool, per axis `(h, w)`. [`Pool2dParams::new`] gives PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dParams {
    /// Window taps `(KH, KW)`.
    pub kernel: (usize, usize),
    /// Steps `(sh, sw)`; PyTorch's default is the kernel.
    pub stride: (usize, usize),
    /// Padding `(ph, pw)` on both ends of each axis (−∞ for max, 0 for avg).
    pub padding: (usize, usize),
    /// Tap spacing `(dh, dw)`.
    pub dilation: (usize, usize),
    /// Average pool only: whether padded taps count in the divisor (PyTorch default `true`).
    pub count_include_pad: bool,
}

impl Pool2dParams {
    /// Kernel `(kh, kw)`, stride = kernel, no padding, dilation 1, `count_include_pad = true`.
    pub fn new(kh: usize, kw: usize) -> Pool2dParams {
        Pool2dParams {
            kernel: (kh, kw),
            stride: (kh, kw),
            padding: (0, 0),
            dilation: (1, 1),
            count_include_pad: true,
        }
    }
    /// Sets the strides.
    pub fn with_stride(mut self, sh: usize, sw: usize) -> Self {
        self.stride = (sh, sw);
        self
    }
    /// Sets the paddings.
    pub fn with_padding(mut self, ph: usize, pw: usize) -> Self {
        self.padding = (ph, pw);
        self
    }
    /// Sets the dilations.
    pub fn with_dilation(mut self, dh: usize, dw: usize) -> Self {
        self.dilation = (dh, dw);
        self
    }
    /// Sets `count_include_pad` (average pool).
    pub fn with_count_include_pad(mut self, include: bool) -> Self {
        self.count_include_pad = include;
        self
    }

    /// The validated geometry of both axes for an `h × w` input.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a zero kernel/stride/dilation or too much padding;
    /// [`Error::EmptyOutput`] if the window does not fit along an axis.
    pub fn axes(&self, op: &'static str, h: usize, w: usize) -> Result<(Axis, Axis)> {
        let ah = Axis::new(
            op,
            h,
            self.kernel.0,
            self.stride.0,
            self.padding.0,
            self.dilation.0,
        )?;
        let aw = Axis::new(
            op,
            w,
            self.kernel.1,
            self.stride.1,
            self.padding.1,
            self.dilation.1,
        )?;
        ah.check_pooling(op)?;
        aw.check_pooling(op)?;
        Ok((ah, aw))
    }

    /// Output size `(OH, OW)` for an `h × w` input.
    ///
    /// # Errors
    /// As [`Pool2dParams::axes`].
    pub fn out_size(&self, h: usize, w: usize) -> Result<(usize, usize)> {
        let (ah, aw) = self.axes("pool2d", h, w)?;
        Ok((ah.out_len, aw.out_len))
    }
}

// ---- fast kernels -----------------------------------------------------------------------------

/// Max pool forward over `planes` independent `H × W` planes.
///
/// # Panics
/// If `x.len() != planes·H·W` or `y`/`argmax` are not `planes·OH·OW` long.
pub fn max_pool2d_forward<T: Real>(
    x: &[T],
    planes: usize,
    ah: &Axis,
    aw: &Axis,
    y: &mut [T],
    argmax: &mut [usize],
) {
    let (w, ow) = (aw.in_len, aw.out_len);
    let (plane_in, plane_out) = (ah.in_len * w, ah.out_len * ow);
    assert!(x.len() == planes * plane_in && y.len() == planes * plane_out);
    assert_eq!(argmax.len(), y.len());
    let plane = |(p, (y_p, a_p)): (usize, (&mut [T], &mut [usize]))| {
        a_p.fill(NO_INDEX);
        let x_p = &x[p * plane_in..(p + 1) * plane_in];
        for oh in 0..ah.out_len {
            let (y_row, a_row) = (
                &mut y_p[oh * ow..(oh + 1) * ow],
                &mut a_p[oh * ow..(oh + 1) * ow],
            );
            // Kernel rows in increasing order, taps in increasing order inside each: with the
            // strict comparison the first maximum in row-major order wins.
            let mut fresh = true;
            for i in 0..ah.kernel {
                if let Some(ih) = ah.input_pos(oh, i) {
                    let x_row = &x_p[ih * w..(ih + 1) * w];
                    max_row_update(x_row, aw, y_row, a_row, ih * w, fresh);
                    fresh = false;
                }
            }
        }
    };
    if planes * plane_out * ah.kernel * aw.kernel >= GRAIN && current_threads() > 1 && planes > 1 {
        y.par_chunks_mut(plane_out)
            .zip(argmax.par_chunks_mut(plane_out))
            .enumerate()
            .for_each(plane);
    } else {
        y.chunks_mut(plane_out)
            .zip(argmax.chunks_mut(plane_out))
            .enumerate()
            .for_each(plane);
    }
}

/// Average pool forward over `planes` planes.
///
/// # Panics
/// If `x.len() != planes·H·W` or `y.len() != planes·OH·OW`.
pub fn avg_pool2d_forward<T: Real>(
    x: &[T],
    planes: usize,
    ah: &Axis,
    aw: &Axis,
    count_include_pad: bool,
    y: &mut [T],
) {
    let (w, ow) = (aw.in_len, aw.out_len);
    let (plane_in, plane_out) = (ah.in_len * w, ah.out_len * ow);
    assert!(x.len() == planes * plane_in && y.len() == planes * plane_out);
    // D = D_h(oh)·D_w(ow), so 1/D factors into a row and a column weight.
    let (inv_h, inv_w) = (
        avg_inv_divisors::<T>(ah, count_include_pad),
        avg_inv_divisors::<T>(aw, count_include_pad),
    );
    let work = planes * plane_out * ah.kernel * aw.kernel;
    for_each_row(y, plane_out, work, |p, y_p, scratch| {
        y_p.fill(T::ZERO);
        let x_p = &x[p * plane_in..(p + 1) * plane_in];
        for (oh, y_row) in y_p.chunks_mut(ow).enumerate() {
            for i in 0..ah.kernel {
                if let Some(ih) = ah.input_pos(oh, i) {
                    sum_row_add(&x_p[ih * w..(ih + 1) * w], aw, T::ONE, y_row, scratch);
                }
            }
            for (v, &s) in y_row.iter_mut().zip(&inv_w) {
                *v *= s * inv_h[oh];
            }
        }
    });
}

/// Average pool backward; **accumulates** `dx[ih, iw] += dy[oh, ow] / D` over valid taps.
///
/// # Panics
/// If `dy.len() != planes·OH·OW` or `dx.len() != planes·H·W`.
pub fn avg_pool2d_backward_input<T: Real>(
    dy: &[T],
    planes: usize,
    ah: &Axis,
    aw: &Axis,
    count_include_pad: bool,
    dx: &mut [T],
) {
    let (w, ow) = (aw.in_len, aw.out_len);
    let (plane_in, plane_out) = (ah.in_len * w, ah.out_len * ow);
    assert!(dy.len() == planes * plane_out && dx.len() == planes * plane_in);
    let (inv_h, inv_w) = (
        avg_inv_divisors::<T>(ah, count_include_pad),
        avg_inv_divisors::<T>(aw, count_include_pad),
    );
    let work = planes * plane_out * ah.kernel * aw.kernel;
    for_each_row(dx, plane_in, work, |p, dx_p, g| {
        for oh in 0..ah.out_len {
            let dy_row = &dy[p * plane_out + oh * ow..p * plane_out + (oh + 1) * ow];
            g.clear();
            g.extend(
                dy_row
                    .iter()
                    .zip(&inv_w)
                    .map(|(&d, &s)| d * (s * inv_h[oh])),
            );
            for i in 0..ah.kernel {
                if let Some(ih) = ah.input_pos(oh, i) {
                    scatter_row_add(g, aw, &mut dx_p[ih * w..(ih + 1) * w]);
                }
            }
        }
    });
}

// ---- tensor level -----------------------------------------------------------------------------

fn nchw<T: Real>(op: &'static str, x: &Tensor<T>) -> Result<(usize, usize, usize, usize)> {
    let (n, c, h, w) = x.shape().dims4(op, "input")?;
    if n * c == 0 {
        return Err(Error::EmptyOutput {
            op,
            detail: format!("input {} has no planes", x.shape()),
        });
    }
    Ok((n, c, h, w))
}

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

/// 2D max pool of an NCHW tensor; returns the pooled tensor and the argmax positions `ih·W + iw`.
///
/// # Errors
/// [`Error::BadRank`] unless x is `[N, C, H, W]`; [`Error::InvalidParam`] for a zero
/// kernel/stride/dilation or too much padding; [`Error::EmptyOutput`] if a window does not fit.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor, ops::pool2d::{max_pool2d, Pool2dParams}};
/// let x = Tensor::from_vec(Shape::d4(1, 1, 2, 2), vec![1.0f32, 4., 3., 2.]).unwrap();
/// let out = max_pool2d(&x, &Pool2dParams::new(2, 2)).unwrap();
/// assert_eq!((out.y.data(), out.argmax.as_slice()), (&[4.0f32][..], &[1usize][..]));
/// ```
pub fn max_pool2d<T: Real>(x: &Tensor<T>, params: &Pool2dParams) -> Result<MaxPoolOutput<T>> {
    crate::simd::try_isa()?;
    let (n, c, h, w) = nchw("max_pool2d", x)?;
    let (ah, aw) = params.axes("max_pool2d", h, w)?;
    let mut y = vec![T::ZERO; n * c * ah.out_len * aw.out_len];
    let mut argmax = vec![0usize; y.len()];
    max_pool2d_forward(x.data(), n * c, &ah, &aw, &mut y, &mut argmax);
    Ok(MaxPoolOutput {
        y: Tensor::from_vec(Shape::d4(n, c, ah.out_len, aw.out_len), y)?,
        argmax,
    })
}

/// Gradient of [`max_pool2d`] with respect to its input.
///
/// # Errors
/// [`Error::BadRank`]/[`Error::ShapeMismatch`] if `dy` is not `[N, C, OH, OW]` matching
/// `argmax.len()`; [`Error::InvalidParam`] if an argmax position is outside `0..H·W`.
pub fn max_pool2d_backward<T: Real>(
    dy: &Tensor<T>,
    argmax: &[usize],
    x_shape: Shape,
) -> Result<Tensor<T>> {
    let op = "max_pool2d_backward";
    let (n, c, h, w) = x_shape.dims4(op, "input")?;
    let (dn, dc, oh, ow) = dy.shape().dims4(op, "dy")?;
    if (dn, dc) != (n, c) || argmax.len() != dy.numel() || oh * ow == 0 {
        return Err(Error::ShapeMismatch {
            op,
            detail: format!(
                "dy must be [N, C, OH, OW] with {} argmax entries",
                argmax.len()
            ),
            lhs_name: "dy",
            lhs: dy.shape(),
            rhs_name: "input",
            rhs: x_shape,
        });
    }
    // Each plane flattened is a row of H·W: the 1D backward does exactly this scatter.
    let flat = |s: Shape| Shape::d3(n, c, s.numel() / (n * c).max(1));
    let dx = pool1d::max_pool1d_backward(
        &dy.reshape(flat(dy.shape()))?,
        argmax,
        Shape::d3(n, c, h * w),
    )
    .map_err(|e| match e {
        Error::InvalidParam { name, value, .. } => Error::InvalidParam {
            op,
            name,
            value,
            why: format!("positions must be below H·W = {}", h * w),
        },
        other => other,
    })?;
    dx.reshape(x_shape)
}

/// 2D average pool of an NCHW tensor (`params.count_include_pad` selects the divisor).
///
/// # Errors
/// As [`max_pool2d`].
///
/// ```
/// use ecgrad_engine::{Shape, Tensor, ops::pool2d::{avg_pool2d, avg_pool2d_backward, Pool2dParams}};
/// let x = Tensor::from_vec(Shape::d4(1, 1, 2, 2), vec![1.0f64, 2., 3., 6.]).unwrap();
/// let p = Pool2dParams::new(2, 2);
/// assert_eq!(avg_pool2d(&x, &p).unwrap().data(), &[3.0]);
/// let dy = Tensor::from_vec(Shape::d4(1, 1, 1, 1), vec![4.0]).unwrap();
/// assert_eq!(avg_pool2d_backward(&dy, x.shape(), &p).unwrap().data(), &[1.0; 4]);
/// ```
pub fn avg_pool2d<T: Real>(x: &Tensor<T>, params: &Pool2dParams) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let (n, c, h, w) = nchw("avg_pool2d", x)?;
    let (ah, aw) = params.axes("avg_pool2d", h, w)?;
    let mut y = vec![T::ZERO; n * c * ah.out_len * aw.out_len];
    avg_pool2d_forward(x.data(), n * c, &ah, &aw, params.count_include_pad, &mut y);
    Tensor::from_vec(Shape::d4(n, c, ah.out_len, aw.out_len), y)
}

/// Gradient of [`avg_pool2d`] with respect to its input.
///
/// # Errors
/// As [`avg_pool2d`] for `x_shape`, and [`Error::ShapeMismatch`] if `dy` is not
/// `[N, C, OH, OW]`.
pub fn avg_pool2d_backward<T: Real>(
    dy: &Tensor<T>,
    x_shape: Shape,
    params: &Pool2dParams,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let op = "avg_pool2d_backward";
    let (n, c, h, w) = x_shape.dims4(op, "input")?;
    let (ah, aw) = params.axes(op, h, w)?;
    check_dy(op, dy, x_shape, Shape::d4(n, c, ah.out_len, aw.out_len))?;
    let mut dx = vec![T::ZERO; x_shape.numel()];
    avg_pool2d_backward_input(
        dy.data(),
        n * c,
        &ah,
        &aw,
        params.count_include_pad,
        &mut dx,
    );
    Tensor::from_vec(x_shape, dx)
}
