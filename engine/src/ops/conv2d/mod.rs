//! 2D convolution over NCHW tensors (the 2D CNN of the seeds), by per-sample im2col + GEMM.
//!
//! # What it computes
//! ```text
//! y[n,o,oh,ow] = b[o] + Σ_c Σ_i Σ_j w[o,c,i,j] · x[n, c, ih, iw]
//!     ih = oh·sh + i·dh − ph,  iw = ow·sw + j·dw − pw     (terms outside the image are 0)
//! OH = ⌊(H + 2·ph − dh·(KH−1) − 1)/sh⌋ + 1,  OW likewise        (Conv2dParams::out_size)
//! ```
//! The index arithmetic per axis is the one function of [`crate::ops::pool1d::window::Axis`]
//! (`input_pos` / `valid_range`), used by the naive twin, im2col and col2im alike.
//!
//! # Shapes
//! x `[N, C_in, H, W]`, weight `[C_out, C_in, KH, KW]`, bias `[C_out]` → y `[N, C_out, OH, OW]`.
//!
//! # Cost
//! `2·N·C_out·C_in·KH·KW·OH·OW` FLOPs forward; each of dX and dW costs the same again.
//!
//! # Gradients (all accumulate)
//! - `dx[n,c,ih,iw] += Σ_{o,i,j} w[o,c,i,j] · dy[n,o,oh,ow]` over the (oh, ow) that read (ih, iw)
//! - `dw[o,c,i,j] += Σ_{n,oh,ow} dy[n,o,oh,ow] · x[n,c,ih,iw]`
//! - `db[o] += Σ_{n,oh,ow} dy[n,o,oh,ow]`
//!
//! # Why im2col turns the convolution into a GEMM
//! For one sample, copy every input value that output (oh, ow) reads through tap (c, i, j) into
//! row `(c·KH + i)·KW + j`, column `oh·OW + ow` of a matrix `cols` (`C_in·KH·KW × OH·OW`, zeros
//! where the tap falls into the padding). The whole convolution is then one matrix product,
//! `Y_n (C_out × OH·OW) = W (C_out × C_in·KH·KW) · cols`, which the tuned GEMM runs near peak;
//! the weight tensor is already that matrix in memory. The output lands directly in NCHW, with the
//! bias pre-filled and β = 1, so there is no bias pass and no transpose. Backward:
//! `dW += dY_n · cols_nᵀ` (cols recomputed per sample, never stored for the batch) and
//! `dX_n = col2im(Wᵀ · dY_n)`, where col2im scatter-adds each row of `dcols` back through the same
//! index function. A 1×1 kernel with stride 1 and no padding needs no im2col at all: `cols` *is*
//! the input sample. Samples run in parallel (each thread reuses one `cols` buffer); dW and db are
//! summed per fixed block of samples and the partials added in block order, so they are
//! bit-identical at any thread count. The naive twins are in [`naive`].

mod fast;
pub mod im2col;
pub mod naive;
#[cfg(test)]
mod tests;

pub use fast::{
    conv2d_backward_bias_kernel, conv2d_backward_input_kernel, conv2d_backward_weight_kernel,
    conv2d_forward,
};

use crate::error::{Error, Result};
use crate::ops::pool1d::window::Axis;
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Stride, padding and dilation per axis `(h, w)`. [`Default`]: stride 1, padding 0, dilation 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    /// Step between output positions `(sh, sw)`.
    pub stride: (usize, usize),
    /// Zero padding on both ends `(ph, pw)`.
    pub padding: (usize, usize),
    /// Step between kernel taps `(dh, dw)`.
    pub dilation: (usize, usize),
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
        }
    }
}

impl Conv2dParams {
    /// Output size `(OH, OW)` for an `h × w` input and a `kh × kw` kernel.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a zero stride, dilation or kernel size; [`Error::EmptyOutput`]
    /// if the kernel span is longer than the padded input along an axis.
    ///
    /// ```
    /// use ecgrad_engine::ops::conv2d::Conv2dParams;
    /// let p = Conv2dParams { stride: (2, 2), padding: (1, 1), dilation: (1, 1) };
    /// assert_eq!(p.out_size(32, 31, 3, 3).unwrap(), (16, 16));
    /// ```
    pub fn out_size(&self, h: usize, w: usize, kh: usize, kw: usize) -> Result<(usize, usize)> {
        let (ah, aw) = self.axes("conv2d", h, w, kh, kw)?;
        Ok((ah.out_len, aw.out_len))
    }

    fn axes(
        &self,
        op: &'static str,
        h: usize,
        w: usize,
        kh: usize,
        kw: usize,
    ) -> Result<(Axis, Axis)> {
        Ok((
            Axis::new(op, h, kh, self.stride.0, self.padding.0, self.dilation.0)?,
            Axis::new(op, w, kw, self.stride.1, self.padding.1, self.dilation.1)?,
        ))
    }
}

/// Every size of one convolution, validated once: the kernels take this instead of a dozen
/// positional `usize`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Geometry along H (input H, kernel KH, stride, padding, dilation, output OH).
    pub ah: Axis,
    /// Geometry along W.
    pub aw: Axis,
}

impl Conv2dGeometry {
    /// Validates an input shape, a weight shape and the parameters.
    ///
    /// # Errors
    /// [`Error::BadRank`] unless both are rank 4; [`Error::ShapeMismatch`] if the channels
    /// disagree; [`Error::EmptyOutput`] for an empty batch or channel axis or a kernel that does
    /// not fit; [`Error::InvalidParam`] for a zero stride, dilation or kernel size.
    pub fn new(op: &'static str, x: Shape, weight: Shape, p: &Conv2dParams) -> Result<Self> {
        let (n, c_in, h, w) = x.dims4(op, "input")?;
        if weight.rank() != 4 {
            return Err(Error::BadRank {
                op,
                arg: "weight",
                expected: 4,
                layout: "C_out, C_in, KH, KW",
                got: weight,
            });
        }
        let wd = weight.dims();
        let (c_out, wc, kh, kw) = (wd[0], wd[1], wd[2], wd[3]);
        if wc != c_in {
            return Err(Error::ShapeMismatch {
                op,
                detail: format!("input has {c_in} channels but weight expects {wc}"),
                lhs_name: "input",
                lhs: x,
                rhs_name: "weight",
                rhs: weight,
            });
        }
        if n * c_in * c_out == 0 {
            return Err(Error::EmptyOutput {
                op,
                detail: format!("input {x} or weight {weight} has an empty batch or channel axis"),
            });
        }
        let (ah, aw) = p.axes(op, h, w, kh, kw)?;
        Ok(Conv2dGeometry {
            n,
            c_in,
            c_out,
            ah,
            aw,
        })
    }

    /// Input shape `[N, C_in, H, W]`.
    pub fn x_shape(&self) -> Shape {
        Shape::d4(self.n, self.c_in, self.ah.in_len, self.aw.in_len)
    }
    /// Weight shape `[C_out, C_in, KH, KW]`.
    pub fn w_shape(&self) -> Shape {
        Shape::d4(self.c_out, self.c_in, self.ah.kernel, self.aw.kernel)
    }
    /// Output shape `[N, C_out, OH, OW]`.
    pub fn y_shape(&self) -> Shape {
        Shape::d4(self.n, self.c_out, self.ah.out_len, self.aw.out_len)
    }
    /// Rows of the im2col matrix: `C_in·KH·KW` (the GEMM's inner dimension).
    pub fn taps(&self) -> usize {
        self.c_in * self.ah.kernel * self.aw.kernel
    }
    /// Output pixels per channel: `OH·OW` (columns of the im2col matrix).
    pub fn out_pixels(&self) -> usize {
        self.ah.out_len * self.aw.out_len
    }
    /// Input pixels per channel: `H·W`.
    pub fn in_pixels(&self) -> usize {
        self.ah.in_len * self.aw.in_len
    }
    /// Forward FLOPs `2·N·C_out·C_in·KH·KW·OH·OW`.
    pub fn flops(&self) -> usize {
        2 * self.n * self.c_out * self.taps() * self.out_pixels()
    }
    /// Whether `cols` is the input itself (1×1 kernel, stride 1, no padding).
    pub fn is_pointwise(&self) -> bool {
        let unit = |a: &Axis| a.kernel == 1 && a.stride == 1 && a.padding == 0;
        unit(&self.ah) && unit(&self.aw)
    }
}

fn check_shape<T: Real>(
    op: &'static str,
    name: &'static str,
    t: &Tensor<T>,
    want: Shape,
    other: (&'static str, Shape),
) -> Result<()> {
    if t.shape() != want {
        return Err(Error::ShapeMismatch {
            op,
            detail: format!("{name} must have shape {want}"),
            lhs_name: name,
            lhs: t.shape(),
            rhs_name: other.0,
            rhs: other.1,
        });
    }
    Ok(())
}

/// 2D convolution `y = conv2d(x, weight) + bias`.
///
/// # Errors
/// See [`Conv2dGeometry::new`]; also [`Error::ShapeMismatch`] if the bias is not `[C_out]`.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor, ops::conv2d::{conv2d, Conv2dParams}};
/// let x = Tensor::from_vec(Shape::d4(1, 1, 2, 2), vec![1.0f32, 2., 3., 4.]).unwrap();
/// let w = Tensor::from_vec(Shape::d4(1, 1, 2, 2), vec![1.0f32, 0., 0., 1.]).unwrap();
/// let y = conv2d(&x, &w, None, &Conv2dParams::default()).unwrap();
/// assert_eq!(y.data(), &[5.0]);
/// let e = conv2d(&Tensor::<f32>::zeros(Shape::d4(8, 3, 32, 32)),
///                &Tensor::zeros(Shape::d4(16, 1, 3, 3)), None, &Conv2dParams::default());
/// assert_eq!(e.unwrap_err().to_string(), "conv2d: input has 3 channels but weight expects 1 \
///            (input [8, 3, 32, 32], weight [16, 1, 3, 3])");
/// ```
pub fn conv2d<T: Real>(
    x: &Tensor<T>,
    weight: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    params: &Conv2dParams,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let op = "conv2d";
    let g = Conv2dGeometry::new(op, x.shape(), weight.shape(), params)?;
    if let Some(b) = bias {
        check_shape(
            op,
            "bias",
            b,
            Shape::d1(g.c_out),
            ("weight", weight.shape()),
        )?;
    }
    let mut y = vec![T::ZERO; g.y_shape().numel()];
    conv2d_forward(x.data(), weight.data(), bias.map(|b| b.data()), &g, &mut y);
    Tensor::from_vec(g.y_shape(), y)
}

/// Gradient of [`conv2d`] with respect to its input.
///
/// # Errors
/// As [`conv2d`] for `x_shape` and `weight`, and [`Error::ShapeMismatch`] if `dy` is not
/// `[N, C_out, OH, OW]`.
pub fn conv2d_backward_input<T: Real>(
    dy: &Tensor<T>,
    weight: &Tensor<T>,
    x_shape: Shape,
    params: &Conv2dParams,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let op = "conv2d_backward_input";
    let g = Conv2dGeometry::new(op, x_shape, weight.shape(), params)?;
    check_shape(op, "dy", dy, g.y_shape(), ("input", x_shape))?;
    let mut dx = vec![T::ZERO; x_shape.numel()];
    conv2d_backward_input_kernel(dy.data(), weight.data(), &g, &mut dx);
    Tensor::from_vec(x_shape, dx)
}

/// Gradient of [`conv2d`] with respect to its weight.
///
/// # Errors
/// As [`conv2d`] for `x` and `w_shape`, and [`Error::ShapeMismatch`] if `dy` is not
/// `[N, C_out, OH, OW]`.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor, ops::conv2d::{conv2d_backward_weight, Conv2dParams}};
/// // 1×1 kernel: dW[o, c] = Σ_pixels dy[o]·x[c].
/// let x = Tensor::from_vec(Shape::d4(1, 2, 1, 2), vec![1.0f32, 2., 3., 4.]).unwrap();
/// let dy = Tensor::from_vec(Shape::d4(1, 1, 1, 2), vec![1.0f32, 10.]).unwrap();
/// let dw = conv2d_backward_weight(&dy, &x, Shape::d4(1, 2, 1, 1), &Conv2dParams::default());
/// assert_eq!(dw.unwrap().data(), &[21.0, 43.0]);
/// ```
pub fn conv2d_backward_weight<T: Real>(
    dy: &Tensor<T>,
    x: &Tensor<T>,
    w_shape: Shape,
    params: &Conv2dParams,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let op = "conv2d_backward_weight";
    let g = Conv2dGeometry::new(op, x.shape(), w_shape, params)?;
    check_shape(op, "dy", dy, g.y_shape(), ("input", x.shape()))?;
    let mut dw = vec![T::ZERO; w_shape.numel()];
    conv2d_backward_weight_kernel(dy.data(), x.data(), &g, &mut dw);
    Tensor::from_vec(w_shape, dw)
}

/// Gradient of [`conv2d`] with respect to its bias: `db[o] = Σ_{n,oh,ow} dy[n,o,oh,ow]`.
///
/// # Errors
/// [`Error::BadRank`] unless `dy` is rank 4; [`Error::EmptyOutput`] if it has no elements.
pub fn conv2d_backward_bias<T: Real>(dy: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let (n, c_out, oh, ow) = dy.shape().dims4("conv2d_backward_bias", "dy")?;
    if dy.numel() == 0 {
        return Err(Error::EmptyOutput {
            op: "conv2d_backward_bias",
            detail: format!("dy {} has no elements", dy.shape()),
        });
    }
    let mut db = vec![T::ZERO; c_out];
    conv2d_backward_bias_kernel(dy.data(), n, c_out, oh * ow, &mut db);
    Tensor::from_vec(Shape::d1(c_out), db)
}
