//! Tensor-level attention pooling: validates shapes (named errors), then calls the kernels.

use super::{
    AttentionDims, AttentionGrads, AttentionSaved, AttentionWeights, attention_backward,
    attention_forward,
};
use crate::error::{Error, Result};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// The gradients [`attention_pool_backward`] returns (fresh tensors).
#[derive(Clone, Debug)]
pub struct AttentionGradients<T: Real> {
    /// dh `[N, T, F]`.
    pub dh: Tensor<T>,
    /// dW `[A, F]`.
    pub dw: Tensor<T>,
    /// db `[A]`.
    pub db: Tensor<T>,
    /// dv `[A]`.
    pub dv: Tensor<T>,
}

fn mismatch(detail: String, lhs: (&'static str, Shape), rhs: (&'static str, Shape)) -> Error {
    Error::shape_mismatch("attention_pool", detail, lhs, rhs)
}

fn validate<T: Real>(
    h: &Tensor<T>,
    w: &Tensor<T>,
    b: &Tensor<T>,
    v: &Tensor<T>,
) -> Result<AttentionDims> {
    crate::simd::try_isa()?;
    let hs = h.shape();
    if hs.rank() != 3 {
        return Err(Error::BadRank {
            op: "attention_pool",
            arg: "input",
            expected: 3,
            layout: "N, T, F",
            got: hs,
        });
    }
    let (n, t, f) = (hs.dims()[0], hs.dims()[1], hs.dims()[2]);
    let (a, wf) = w.shape().dims2("attention_pool", "weight")?;
    if n == 0 || t == 0 || f == 0 || a == 0 {
        return Err(Error::EmptyOutput {
            op: "attention_pool",
            detail: format!("input {hs} or weight {} has a zero dimension", w.shape()),
        });
    }
    if wf != f {
        return Err(mismatch(
            format!("input has {f} features but weight expects {wf}"),
            ("input", hs),
            ("weight", w.shape()),
        ));
    }
    for (name, x) in [("bias", b), ("v", v)] {
        if x.shape() != Shape::d1(a) {
            return Err(mismatch(
                format!("{name} must be [{a}] (rows of weight)"),
                (name, x.shape()),
                ("weight", w.shape()),
            ));
        }
    }
    Ok(AttentionDims { n, t, f, a })
}

/// Additive temporal attention pooling of h `[N, T, F]` with W `[A, F]`, b `[A]`, v `[A]`:
/// returns the context `[N, F]` and the saved state (u, α) for backward.
///
/// # Errors
/// [`Error::BadRank`] if h is not rank 3 or W not rank 2; [`Error::EmptyOutput`] for a zero
/// dimension; [`Error::ShapeMismatch`] naming the first tensor whose shape disagrees;
/// [`Error::Isa`] if `ECGRAD_ISA` is invalid.
///
/// ```
/// use ecgrad_engine::ops::attention::attention_pool;
/// use ecgrad_engine::{Shape, Tensor};
/// // With W = 0 every step scores the same, so the context is the mean over time.
/// let h = Tensor::<f32>::from_vec(Shape::d3(1, 2, 1), vec![1.0, 3.0]).unwrap();
/// let w = Tensor::zeros(Shape::d2(4, 1));
/// let (b, v) = (Tensor::zeros(Shape::d1(4)), Tensor::full(Shape::d1(4), 1.0));
/// let (ctx, _) = attention_pool(&h, &w, &b, &v).unwrap();
/// assert_eq!(ctx.data(), &[2.0]);
/// ```
pub fn attention_pool<T: Real>(
    h: &Tensor<T>,
    w: &Tensor<T>,
    b: &Tensor<T>,
    v: &Tensor<T>,
) -> Result<(Tensor<T>, AttentionSaved<T>)> {
    let d = validate(h, w, b, v)?;
    let weights = AttentionWeights {
        w: w.data(),
        b: b.data(),
        v: v.data(),
    };
    let saved = attention_forward(d, h.data(), &weights);
    let ctx = Tensor::from_vec(Shape::d2(d.n, d.f), saved.context.clone())?;
    Ok((ctx, saved))
}

/// Gradients of [`attention_pool`] given the upstream gradient `d_context` `[N, F]`.
///
/// # Errors
/// As [`attention_pool`], plus [`Error::ShapeMismatch`] if `d_context` is not `[N, F]` or
/// `saved` does not belong to these shapes.
pub fn attention_pool_backward<T: Real>(
    h: &Tensor<T>,
    w: &Tensor<T>,
    b: &Tensor<T>,
    v: &Tensor<T>,
    saved: &AttentionSaved<T>,
    d_context: &Tensor<T>,
) -> Result<AttentionGradients<T>> {
    let d = validate(h, w, b, v)?;
    if d_context.shape() != Shape::d2(d.n, d.f) {
        return Err(mismatch(
            format!("d_context must be [N, F] = [{}, {}]", d.n, d.f),
            ("d_context", d_context.shape()),
            ("input", h.shape()),
        ));
    }
    if saved.u.len() != d.n * d.t * d.a || saved.alpha.len() != d.n * d.t {
        return Err(mismatch(
            format!(
                "saved state has {} attention weights, expected {}",
                saved.alpha.len(),
                d.n * d.t
            ),
            ("saved alpha", Shape::d1(saved.alpha.len())),
            ("input", h.shape()),
        ));
    }
    let weights = AttentionWeights {
        w: w.data(),
        b: b.data(),
        v: v.data(),
    };
    let mut dh = vec![T::ZERO; d.n * d.t * d.f];
    let mut dw = vec![T::ZERO; d.a * d.f];
    let mut db = vec![T::ZERO; d.a];
    let mut dv = vec![T::ZERO; d.a];
    let grads = AttentionGrads {
        dh: &mut dh,
        dw: &mut dw,
        db: &mut db,
        dv: &mut dv,
    };
    attention_backward(d, h.data(), &weights, saved, d_context.data(), grads);
    Ok(AttentionGradients {
        dh: Tensor::from_vec(h.shape(), dh)?,
        dw: Tensor::from_vec(w.shape(), dw)?,
        db: Tensor::from_vec(b.shape(), db)?,
        dv: Tensor::from_vec(v.shape(), dv)?,
    })
}
