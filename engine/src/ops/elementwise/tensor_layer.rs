//! The tensor layer of the elementwise ops: validate shapes and parameters, allocate, call the
//! kernels of [`super`].

use super::*;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

fn binary<T: Real>(op: BinaryOp, a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    check_same_shape(op.name(), ("a", a.shape()), ("b", b.shape()))?;
    check_nonempty(op.name(), "a", a.shape())?;
    let mut out = crate::pool::take_for_overwrite(a.numel());
    binary_forward(op, a.data(), b.data(), &mut out);
    Tensor::from_vec(a.shape(), out)
}

/// y = a + b elementwise (same shapes).
///
/// # Errors
/// [`Error::ShapeMismatch`] naming both shapes if they differ; [`Error::EmptyOutput`] for an
/// empty tensor; [`Error::Isa`] for a bad `ECGRAD_ISA`.
///
/// ```
/// use ecgrad_engine::{ops::elementwise::add, Shape, Tensor};
/// let a = Tensor::from_vec(Shape::d1(3), vec![1.0f32, 2.0, 3.0]).unwrap();
/// let b = Tensor::from_vec(Shape::d1(3), vec![10.0f32, 20.0, 30.0]).unwrap();
/// assert_eq!(add(&a, &b).unwrap().data(), &[11.0, 22.0, 33.0]);
/// let c = Tensor::<f32>::zeros(Shape::d2(3, 1));
/// assert!(add(&a, &c).unwrap_err().to_string().contains("a [3], b [3, 1]"));
/// ```
pub fn add<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    binary(BinaryOp::Add, a, b)
}

/// y = a − b elementwise (same shapes).
///
/// # Errors
/// As [`add`].
pub fn sub<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    binary(BinaryOp::Sub, a, b)
}

/// y = a ⊙ b elementwise (same shapes).
///
/// # Errors
/// As [`add`].
pub fn mul<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    binary(BinaryOp::Mul, a, b)
}

/// y = a / b elementwise (same shapes). Division by zero follows IEEE (±∞ or NaN), as in
/// PyTorch; it is not an error.
///
/// # Errors
/// As [`add`].
pub fn div<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    binary(BinaryOp::Div, a, b)
}

/// Two optional gradients, one per input of a binary op (`None` where none was asked for).
pub type GradPair<T> = (Option<Tensor<T>>, Option<Tensor<T>>);

/// The gradients of y = a ∘ b as fresh tensors: `(da, db)`, each computed only if asked for.
///
/// # Errors
/// [`Error::ShapeMismatch`] if `a`, `b` and `dy` do not all have one shape.
pub fn binary_grad<T: Real>(
    op: BinaryOp,
    a: &Tensor<T>,
    b: &Tensor<T>,
    dy: &Tensor<T>,
    need: (bool, bool),
) -> Result<GradPair<T>> {
    crate::simd::try_isa()?;
    check_same_shape(op.name(), ("a", a.shape()), ("b", b.shape()))?;
    check_same_shape(op.name(), ("a", a.shape()), ("dy", dy.shape()))?;
    let mut da = need.0.then(|| vec![T::ZERO; a.numel()]);
    let mut db = need.1.then(|| vec![T::ZERO; b.numel()]);
    binary_backward(
        op,
        a.data(),
        b.data(),
        dy.data(),
        da.as_deref_mut(),
        db.as_deref_mut(),
    );
    let wrap = |v: Option<Vec<T>>| v.map(|v| Tensor::from_vec(a.shape(), v)).transpose();
    Ok((wrap(da)?, wrap(db)?))
}

/// y = α·x. Gradient: dx += α·dy ([`axpy_accumulate`]).
///
/// # Errors
/// [`Error::EmptyOutput`] for an empty tensor; [`Error::InvalidParam`] if α is not finite.
pub fn scale<T: Real>(x: &Tensor<T>, alpha: T) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    check_nonempty("scale", "x", x.shape())?;
    check_finite("scale", "alpha", alpha)?;
    let mut out = crate::pool::take_for_overwrite(x.numel());
    scale_forward(alpha, x.data(), &mut out);
    Tensor::from_vec(x.shape(), out)
}

/// y = α·x + z (same shapes). Gradients: dx += α·dy, dz += dy.
///
/// # Errors
/// [`Error::ShapeMismatch`] naming both shapes; [`Error::EmptyOutput`]; [`Error::InvalidParam`]
/// if α is not finite.
pub fn axpy<T: Real>(alpha: T, x: &Tensor<T>, z: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    check_same_shape("axpy", ("x", x.shape()), ("z", z.shape()))?;
    check_nonempty("axpy", "x", x.shape())?;
    check_finite("axpy", "alpha", alpha)?;
    let mut out = z.data().to_vec();
    axpy_accumulate(alpha, x.data(), &mut out);
    Tensor::from_vec(x.shape(), out)
}

fn check_finite<T: Real>(op: &'static str, name: &'static str, v: T) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::InvalidParam {
            op,
            name,
            value: v.to_string(),
            why: "must be finite".into(),
        });
    }
    Ok(())
}

/// Checks x `[N, C, L]` against b `[C]` and returns (N, C, L).
fn bias_dims<T: Real>(
    op: &'static str,
    x: &Tensor<T>,
    b: &Tensor<T>,
) -> Result<(usize, usize, usize)> {
    let (n, c, l) = x.shape().dims3(op, "x")?;
    if b.shape() != Shape::d1(c) {
        return Err(Error::ShapeMismatch {
            op,
            detail: format!("bias must be [{c}], one value per channel of x"),
            lhs_name: "x",
            lhs: x.shape(),
            rhs_name: "bias",
            rhs: b.shape(),
        });
    }
    check_nonempty(op, "x", x.shape())?;
    Ok((n, c, l))
}

/// y\[n,c,t\] = x\[n,c,t\] + b\[c\] for an NCL tensor x and a per-channel bias b of shape `[C]`.
///
/// # Errors
/// [`Error::BadRank`] if x is not rank 3; [`Error::ShapeMismatch`] naming both shapes if b is
/// not `[C]`; [`Error::EmptyOutput`] if x is empty.
///
/// ```
/// use ecgrad_engine::{ops::elementwise::bias_add_ncl, Shape, Tensor};
/// let x = Tensor::from_vec(Shape::d3(1, 2, 2), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
/// let b = Tensor::from_vec(Shape::d1(2), vec![10.0f32, 100.0]).unwrap();
/// assert_eq!(bias_add_ncl(&x, &b).unwrap().data(), &[11.0, 12.0, 103.0, 104.0]);
/// ```
pub fn bias_add_ncl<T: Real>(x: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let (n, c, l) = bias_dims("bias_add_ncl", x, b)?;
    let mut y = crate::pool::take_for_overwrite(x.numel());
    bias_add_ncl_forward(x.data(), b.data(), &mut y, n, c, l);
    Tensor::from_vec(x.shape(), y)
}

/// The bias gradient of [`bias_add_ncl`] as a fresh `[C]` tensor: db\[c\] = Σ_{n,t} dy\[n,c,t\]
/// (deterministic at any thread count). The input gradient is dy itself.
///
/// # Errors
/// [`Error::BadRank`] if dy is not rank 3; [`Error::EmptyOutput`] if it is empty.
pub fn bias_add_ncl_grad_bias<T: Real>(dy: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let (n, c, l) = dy.shape().dims3("bias_add_ncl_grad_bias", "dy")?;
    check_nonempty("bias_add_ncl_grad_bias", "dy", dy.shape())?;
    let mut db = vec![T::ZERO; c];
    bias_add_ncl_backward_bias(dy.data(), &mut db, n, c, l);
    Tensor::from_vec(Shape::d1(c), db)
}
