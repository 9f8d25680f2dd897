//! Tensor-level depthwise conv1d: validate everything, allocate, call the slice kernels.
//!
//! The gradients come back in conv1d's [`Conv1dGrads`] (same three optional tensors), and the
//! caller says which it needs with conv1d's [`Conv1dNeeds`].

use super::{DepthwiseConv1dImpl, DepthwiseDims};
use crate::error::{Error, Result};
use crate::ops::conv1d::{Conv1dGrads, Conv1dNeeds, Conv1dParams};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

const OP: &str = "depthwise_conv1d";

/// Validates `x [N, C, L_in]`, `w [C, 1, K]`, the optional bias `[C]` and the parameters;
/// returns the sizes and `L_out`.
fn validate(
    x: Shape,
    w: Shape,
    b: Option<Shape>,
    params: &Conv1dParams,
) -> Result<(DepthwiseDims, usize)> {
    params.validate(OP)?;
    let (n, c, l_in) = x.dims3(OP, "input")?;
    let (w_c, one, k) = w.dims3(OP, "weight")?;
    for (arg, shape) in [("input", x), ("weight", w)] {
        if shape.numel() == 0 {
            return Err(Error::InvalidParam {
                op: OP,
                name: arg,
                value: shape.to_string(),
                why: "every dimension must be at least 1".into(),
            });
        }
    }
    if w_c != c || one != 1 {
        return Err(Error::shape_mismatch(
            OP,
            format!("weight must be [{c}, 1, K] (one kernel per input channel, groups = {c})"),
            ("input", x),
            ("weight", w),
        ));
    }
    if let Some(b) = b {
        if b.rank() != 1 || b.dims()[0] != c {
            return Err(Error::shape_mismatch(
                OP,
                format!("bias must be [{c}], one value per channel"),
                ("bias", b),
                ("weight", w),
            ));
        }
    }
    let l_out = params.out_len(l_in, k)?;
    Ok((DepthwiseDims { n, c, l_in, k }, l_out))
}

/// Depthwise convolution `y[n,c,t] = b[c] + Σ_j w[c,0,j]·x[n,c,t·s + j·d − p]`.
///
/// `x [N, C, L_in]`, `w [C, 1, K]`, `b [C]` → `y [N, C, L_out]` (PyTorch's
/// `Conv1d(C, C, K, groups=C)`).
///
/// # Errors
/// - [`Error::BadRank`] if `x` or `w` is not rank 3;
/// - [`Error::ShapeMismatch`] if `w` is not `[C, 1, K]` or the bias is not `[C]`;
/// - [`Error::InvalidParam`] for a zero stride/dilation or an empty tensor;
/// - [`Error::EmptyOutput`] if the kernel does not fit in the padded signal;
/// - [`Error::Isa`] if `ECGRAD_ISA` is invalid.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::conv1d::Conv1dParams;
/// use ecgrad_engine::ops::depthwise_conv1d::depthwise_conv1d;
/// // Two channels, each with its own 2-tap kernel: a difference and a sum.
/// let x = Tensor::from_vec(Shape::d3(1, 2, 3), vec![1.0f32, 2.0, 4.0, 1.0, 2.0, 4.0]).unwrap();
/// let w = Tensor::from_vec(Shape::d3(2, 1, 2), vec![-1.0f32, 1.0, 1.0, 1.0]).unwrap();
/// let y = depthwise_conv1d(&x, &w, None, Conv1dParams::default()).unwrap();
/// assert_eq!(y.data(), &[1.0, 2.0, 3.0, 6.0]);
/// ```
pub fn depthwise_conv1d<T: Real>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    b: Option<&Tensor<T>>,
    params: Conv1dParams,
) -> Result<Tensor<T>> {
    depthwise_conv1d_with(DepthwiseConv1dImpl::Auto, x, w, b, params)
}

/// [`depthwise_conv1d`] with a chosen implementation (tests and benches compare them).
///
/// # Errors
/// As [`depthwise_conv1d`].
pub fn depthwise_conv1d_with<T: Real>(
    imp: DepthwiseConv1dImpl,
    x: &Tensor<T>,
    w: &Tensor<T>,
    b: Option<&Tensor<T>>,
    params: Conv1dParams,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let (dims, l_out) = validate(x.shape(), w.shape(), b.map(|b| b.shape()), &params)?;
    let mut y = Tensor::zeros(Shape::d3(dims.n, dims.c, l_out));
    imp.forward(
        x.data(),
        w.data(),
        b.map(|b| b.data()),
        y.data_mut(),
        dims,
        &params,
    );
    Ok(y)
}

/// Gradients of [`depthwise_conv1d`] with respect to the requested inputs, given the upstream
/// gradient `dy [N, C, L_out]`.
///
/// # Errors
/// As [`depthwise_conv1d`], plus [`Error::ShapeMismatch`] if `dy` is not `[N, C, L_out]`.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::conv1d::{Conv1dNeeds, Conv1dParams};
/// use ecgrad_engine::ops::depthwise_conv1d::depthwise_conv1d_backward;
/// let x = Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0f32, 2.0, 3.0]).unwrap();
/// let w = Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0f32, 10.0]).unwrap();
/// let dy = Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0f32, 1.0]).unwrap();
/// let g = depthwise_conv1d_backward(&x, &w, &dy, Conv1dParams::default(), Conv1dNeeds::all())
///     .unwrap();
/// assert_eq!(g.dx.unwrap().data(), &[1.0, 11.0, 10.0]);
/// assert_eq!(g.dw.unwrap().data(), &[3.0, 5.0]);
/// assert_eq!(g.db.unwrap().data(), &[2.0]);
/// ```
pub fn depthwise_conv1d_backward<T: Real>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    dy: &Tensor<T>,
    params: Conv1dParams,
    needs: Conv1dNeeds,
) -> Result<Conv1dGrads<T>> {
    depthwise_conv1d_backward_with(DepthwiseConv1dImpl::Auto, x, w, dy, params, needs)
}

/// [`depthwise_conv1d_backward`] with a chosen implementation.
///
/// # Errors
/// As [`depthwise_conv1d_backward`].
pub fn depthwise_conv1d_backward_with<T: Real>(
    imp: DepthwiseConv1dImpl,
    x: &Tensor<T>,
    w: &Tensor<T>,
    dy: &Tensor<T>,
    params: Conv1dParams,
    needs: Conv1dNeeds,
) -> Result<Conv1dGrads<T>> {
    crate::simd::try_isa()?;
    let (dims, l_out) = validate(x.shape(), w.shape(), None, &params)?;
    let want = Shape::d3(dims.n, dims.c, l_out);
    if dy.shape() != want {
        return Err(Error::shape_mismatch(
            OP,
            format!("upstream gradient must be {want} (N, C, L_out)"),
            ("dy", dy.shape()),
            ("input", x.shape()),
        ));
    }
    let dx = needs.input.then(|| {
        let mut dx = Tensor::zeros(x.shape());
        imp.backward_input(dy.data(), w.data(), dx.data_mut(), dims, &params);
        dx
    });
    let dw = needs.weight.then(|| {
        let mut dw = Tensor::zeros(w.shape());
        imp.backward_weight(x.data(), dy.data(), dw.data_mut(), dims, &params);
        dw
    });
    let db = needs.bias.then(|| {
        let mut db = Tensor::zeros(Shape::d1(dims.c));
        imp.backward_bias(dy.data(), db.data_mut(), dims.n, dims.c, l_out);
        db
    });
    Ok(Conv1dGrads { dx, dw, db })
}
