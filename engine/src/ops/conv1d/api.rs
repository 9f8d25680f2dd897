//! Tensor-level conv1d: validate everything, allocate, call the slice kernels.
//!
//! The autograd node saves `x` and `w` (Arc clones) and calls [`conv1d_backward`] with a
//! [`Conv1dNeeds`] built from its `needs` flags; gradients nobody asked for are never computed.

use super::{Conv1dDims, Conv1dImpl, Conv1dParams, Geom};
use crate::error::{Error, Result};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

const OP: &str = "conv1d";

fn non_empty(arg: &'static str, shape: Shape) -> Result<()> {
    if shape.numel() == 0 {
        return Err(Error::InvalidParam {
            op: OP,
            name: arg,
            value: shape.to_string(),
            why: "every dimension must be at least 1".into(),
        });
    }
    Ok(())
}

/// Validates `x [N, C_in, L_in]`, `w [C_out, C_in, K]`, the optional bias `[C_out]` and the
/// parameters, and returns the full geometry.
pub(crate) fn validate(
    x: Shape,
    w: Shape,
    b: Option<Shape>,
    params: &Conv1dParams,
) -> Result<Geom> {
    params.validate(OP)?;
    let (n, c_in, l_in) = x.dims3(OP, "input")?;
    let (c_out, w_c_in, k) = w.dims3(OP, "weight")?;
    non_empty("input", x)?;
    non_empty("weight", w)?;
    if c_in != w_c_in {
        return Err(Error::ShapeMismatch {
            op: OP,
            detail: format!("input has {c_in} channels but weight expects {w_c_in}"),
            lhs_name: "input",
            lhs: x,
            rhs_name: "weight",
            rhs: w,
        });
    }
    if let Some(b) = b {
        if b.rank() != 1 || b.dims()[0] != c_out {
            return Err(Error::ShapeMismatch {
                op: OP,
                detail: format!("bias must be [{c_out}], one value per output channel"),
                lhs_name: "bias",
                lhs: b,
                rhs_name: "weight",
                rhs: w,
            });
        }
    }
    let dims = Conv1dDims {
        n,
        c_in,
        c_out,
        l_in,
        k,
    };
    params.out_len(l_in, k)?;
    Ok(dims.geom(params))
}

/// 1D convolution `y = b + w ⋆ x` with the production dispatch.
///
/// `x [N, C_in, L_in]`, `w [C_out, C_in, K]`, `b [C_out]` → `y [N, C_out, L_out]`, see the
/// module docs for the formula and [`Conv1dParams::out_len`] for `L_out`.
///
/// # Errors
/// - [`Error::BadRank`] if `x` or `w` is not rank 3;
/// - [`Error::ShapeMismatch`] if the channel counts or the bias length disagree;
/// - [`Error::InvalidParam`] for a zero stride/dilation or an empty tensor;
/// - [`Error::EmptyOutput`] if the kernel does not fit in the padded signal;
/// - [`Error::Isa`] if `ECGRAD_ISA` is invalid.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::conv1d::{conv1d, Conv1dParams};
/// let x = Tensor::from_vec(Shape::d3(1, 1, 4), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
/// let w = Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0f32, -1.0]).unwrap();
/// let y = conv1d(&x, &w, None, Conv1dParams::default()).unwrap();
/// assert_eq!(y.data(), &[-1.0, -1.0, -1.0]); // x[t] − x[t+1]
/// ```
pub fn conv1d<T: Real>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    b: Option<&Tensor<T>>,
    params: Conv1dParams,
) -> Result<Tensor<T>> {
    conv1d_with(Conv1dImpl::Auto, x, w, b, params)
}

/// [`conv1d`] with a chosen implementation (tests and benches compare them).
///
/// # Errors
/// As [`conv1d`].
pub fn conv1d_with<T: Real>(
    imp: Conv1dImpl,
    x: &Tensor<T>,
    w: &Tensor<T>,
    b: Option<&Tensor<T>>,
    params: Conv1dParams,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let g = validate(x.shape(), w.shape(), b.map(|b| b.shape()), &params)?;
    // Every path writes every output element (β = 0 or an explicit start value).
    let mut y = Tensor::for_overwrite(Shape::d3(g.n, g.c_out, g.l_out));
    imp.forward_geom(&g, x.data(), w.data(), b.map(|b| b.data()), y.data_mut());
    Ok(y)
}

/// Which gradients [`conv1d_backward`] should compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Conv1dNeeds {
    /// The input gradient `dx` (not needed for a first layer).
    pub input: bool,
    /// The weight gradient `dw`.
    pub weight: bool,
    /// The bias gradient `db`.
    pub bias: bool,
}

impl Conv1dNeeds {
    /// All three gradients.
    pub fn all() -> Self {
        Conv1dNeeds {
            input: true,
            weight: true,
            bias: true,
        }
    }
}

/// The gradients of a convolution; `None` where not requested.
#[derive(Clone, Debug)]
pub struct Conv1dGrads<T: Real> {
    /// `dx`, shaped like the input.
    pub dx: Option<Tensor<T>>,
    /// `dw`, shaped like the weight.
    pub dw: Option<Tensor<T>>,
    /// `db` `[C_out]`.
    pub db: Option<Tensor<T>>,
}

/// Gradients of [`conv1d`] with respect to the requested inputs, given the upstream gradient
/// `dy [N, C_out, L_out]`. The bias value itself is not needed (its gradient does not depend on
/// it).
///
/// # Errors
/// As [`conv1d`], plus [`Error::ShapeMismatch`] if `dy` is not `[N, C_out, L_out]`.
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::conv1d::{conv1d_backward, Conv1dNeeds, Conv1dParams};
/// let x = Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0f32, 2.0, 3.0]).unwrap();
/// let w = Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0f32, 10.0]).unwrap();
/// let dy = Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0f32, 1.0]).unwrap();
/// let g = conv1d_backward(&x, &w, &dy, Conv1dParams::default(), Conv1dNeeds::all()).unwrap();
/// assert_eq!(g.dx.unwrap().data(), &[1.0, 11.0, 10.0]);
/// assert_eq!(g.dw.unwrap().data(), &[3.0, 5.0]);
/// assert_eq!(g.db.unwrap().data(), &[2.0]);
/// ```
pub fn conv1d_backward<T: Real>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    dy: &Tensor<T>,
    params: Conv1dParams,
    needs: Conv1dNeeds,
) -> Result<Conv1dGrads<T>> {
    conv1d_backward_with(Conv1dImpl::Auto, x, w, dy, params, needs)
}

/// [`conv1d_backward`] with a chosen implementation.
///
/// # Errors
/// As [`conv1d_backward`].
pub fn conv1d_backward_with<T: Real>(
    imp: Conv1dImpl,
    x: &Tensor<T>,
    w: &Tensor<T>,
    dy: &Tensor<T>,
    params: Conv1dParams,
    needs: Conv1dNeeds,
) -> Result<Conv1dGrads<T>> {
    crate::simd::try_isa()?;
    let g = validate(x.shape(), w.shape(), None, &params)?;
    let want = Shape::d3(g.n, g.c_out, g.l_out);
    if dy.shape() != want {
        return Err(Error::ShapeMismatch {
            op: OP,
            detail: format!("upstream gradient must be {want} (N, C_out, L_out)"),
            lhs_name: "dy",
            lhs: dy.shape(),
            rhs_name: "input",
            rhs: x.shape(),
        });
    }
    let dx = needs.input.then(|| {
        let mut dx = Tensor::zeros(x.shape());
        imp.backward_input_geom(&g, dy.data(), w.data(), dx.data_mut());
        dx
    });
    let dw = needs.weight.then(|| {
        let mut dw = Tensor::zeros(w.shape());
        imp.backward_weight_geom(&g, x.data(), dy.data(), dw.data_mut());
        dw
    });
    let db = needs.bias.then(|| {
        let mut db = Tensor::zeros(Shape::d1(g.c_out));
        imp.backward_bias(dy.data(), db.data_mut(), g.n, g.c_out, g.l_out);
        db
    });
    Ok(Conv1dGrads { dx, dw, db })
}
