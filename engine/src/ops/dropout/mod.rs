//! Inverted dropout with a mask drawn from a seeded [`Rng`].
//!
//! # What it computes
//! During training each element is kept with probability 1 − p and scaled by 1/(1 − p), or
//! zeroed with probability p:
//! yᵢ = xᵢ · mᵢ,   mᵢ = 1/(1 − p) if uᵢ ≥ p else 0,   uᵢ uniform in \[0, 1).
//! The scaling makes E\[yᵢ\] = xᵢ, so evaluation (where the layer is the identity) needs no
//! rescaling: that is what "inverted" means. The op stores the *scaled* mask m (values 0 and
//! 1/(1 − p)) so that forward and backward are a single multiply each.
//!
//! **Semantics of p (PyTorch's).** p must lie in \[0, 1\]. p = 0 is the identity (mask of ones);
//! p = 1 drops everything: the output and the gradient are all zeros (PyTorch returns zeros for
//! p = 1 rather than dividing by 1 − p = 0). Anything else (p < 0, p > 1, NaN) is an
//! [`Error::InvalidParam`].
//!
//! **The random stream.** Element i (in row-major order) consumes exactly one
//! [`Rng::uniform`] draw, uᵢ, in order i = 0, 1, 2, …, and is kept iff uᵢ ≥ p. For p = 0 and
//! p = 1 the mask is known without drawing and the generator is **not advanced**. Models give
//! dropout its own named stream (`Rng::stream(seed, "dropout")`), so adding a dropout layer never
//! changes the data order or the initial weights. The mask is drawn serially, on the calling
//! thread, so it cannot depend on the thread count.
//!
//! # Shapes and cost
//! Any shape; y and the mask have the shape of x. One draw and one multiply per element.
//!
//! # Gradient (the backward kernel **accumulates**)
//! - dx += dy ⊙ m   (the same scaled mask; a dropped element passes no gradient)
//!
//! # How the fast version differs from the naive twin
//! [`dropout_naive`] draws, tests and scales each element in one loop. The fast path splits the
//! work: [`dropout_mask`] draws the whole mask (serial: the generator is a sequential stream),
//! then [`dropout_forward`] and [`dropout_backward`] are SIMD multiplies (`T::vec_mul`) chunked
//! over threads. Both consume the stream identically, so their masks are bit-identical.

use crate::error::{Error, Result};
use crate::ops::elementwise::{check_nonempty, check_same_shape, for_each_chunk, mul_accumulate};
use crate::real::Real;
use crate::rng::Rng;
use crate::tensor::Tensor;

#[cfg(test)]
mod tests;

/// Checks 0 ≤ p ≤ 1 (finite).
///
/// # Errors
/// [`Error::InvalidParam`] naming p otherwise.
pub fn check_p(p: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::InvalidParam {
            op: "dropout",
            name: "p",
            value: p.to_string(),
            why: "the drop probability must lie in [0, 1]".into(),
        });
    }
    Ok(())
}

/// The factor kept elements are multiplied by: 1/(1 − p), and 0 for p = 1 (nothing is kept).
fn keep_scale(p: f64) -> f64 {
    if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 }
}

/// y = x ⊙ m and the scaled mask m, drawing, testing and scaling each element in one loop: the
/// specification of [`dropout_mask`] + [`dropout_forward`].
///
/// # Panics
/// If p is outside \[0, 1\] or the lengths differ.
pub fn dropout_naive<T: Real>(p: f64, rng: &mut Rng, x: &[T], y: &mut [T], mask: &mut [T]) {
    assert!((0.0..=1.0).contains(&p) && x.len() == y.len() && y.len() == mask.len());
    let scale = T::from_f64(keep_scale(p));
    for i in 0..x.len() {
        let keep = if p == 0.0 {
            true
        } else if p == 1.0 {
            false
        } else {
            rng.uniform() >= p
        };
        mask[i] = if keep { scale } else { T::ZERO };
        y[i] = x[i] * mask[i];
    }
}

/// Fills `mask` with the scaled keep mask (values 1/(1 − p) and 0), one draw per element in
/// order; for p = 0 (all 1) and p = 1 (all 0) nothing is drawn.
///
/// # Panics
/// If p is outside \[0, 1\] (the tensor layer checks it first, see [`check_p`]).
pub fn dropout_mask<T: Real>(p: f64, rng: &mut Rng, mask: &mut [T]) {
    assert!(
        (0.0..=1.0).contains(&p),
        "dropout_mask: p = {p} outside [0, 1]"
    );
    if p == 0.0 || p == 1.0 {
        mask.fill(if p == 0.0 { T::ONE } else { T::ZERO });
        return;
    }
    let scale = T::from_f64(keep_scale(p));
    for m in mask.iter_mut() {
        *m = if rng.uniform() >= p { scale } else { T::ZERO };
    }
}

/// y = x ⊙ m with `vec_mul`, chunked over threads.
///
/// # Panics
/// If the lengths differ.
pub fn dropout_forward<T: Real>(x: &[T], mask: &[T], y: &mut [T]) {
    assert!(
        x.len() == y.len() && mask.len() == y.len(),
        "dropout: lengths differ"
    );
    for_each_chunk([x, mask], y, |[x, m], y| T::vec_mul(x, m, y));
}

/// Accumulates dx += dy ⊙ m (m the scaled mask of the forward).
///
/// # Panics
/// If the lengths differ.
pub fn dropout_backward<T: Real>(dy: &[T], mask: &[T], dx: &mut [T]) {
    assert!(
        dy.len() == dx.len() && mask.len() == dx.len(),
        "dropout_backward: lengths differ"
    );
    for_each_chunk([dy, mask], dx, |[dy, m], dx| mul_accumulate(dy, m, dx));
}

/// Training-mode dropout: returns `(y, mask)`, where the scaled mask (0 or 1/(1 − p)) is what
/// the backward needs. Evaluation mode is the identity and does not call this.
///
/// # Errors
/// [`Error::InvalidParam`] unless 0 ≤ p ≤ 1; [`Error::EmptyOutput`] for an empty tensor.
///
/// ```
/// use ecgrad_engine::{ops::dropout::dropout, Rng, Shape, Tensor};
/// let x = Tensor::full(Shape::d1(1000), 1.0f32);
/// let (y, mask) = dropout(&x, 0.25, &mut Rng::stream(7, "dropout")).unwrap();
/// // Kept elements are scaled by 1/(1 − 0.25); about a quarter are zero.
/// assert!(y.data().iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
/// let zeros = y.data().iter().filter(|&&v| v == 0.0).count();
/// assert!((200..300).contains(&zeros));
/// assert_eq!(y, mask); // x is all ones
/// ```
pub fn dropout<T: Real>(x: &Tensor<T>, p: f64, rng: &mut Rng) -> Result<(Tensor<T>, Tensor<T>)> {
    crate::simd::try_isa()?;
    check_p(p)?;
    check_nonempty("dropout", "x", x.shape())?;
    let mut mask = vec![T::ZERO; x.numel()];
    dropout_mask(p, rng, &mut mask);
    let mut y = vec![T::ZERO; x.numel()];
    dropout_forward(x.data(), &mask, &mut y);
    Ok((
        Tensor::from_vec(x.shape(), y)?,
        Tensor::from_vec(x.shape(), mask)?,
    ))
}

/// The input gradient dx = dy ⊙ mask as a fresh tensor.
///
/// # Errors
/// [`Error::ShapeMismatch`] naming both shapes if `mask` and `dy` differ.
pub fn dropout_grad<T: Real>(mask: &Tensor<T>, dy: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    check_same_shape("dropout_grad", ("mask", mask.shape()), ("dy", dy.shape()))?;
    let mut dx = vec![T::ZERO; dy.numel()];
    dropout_backward(dy.data(), mask.data(), &mut dx);
    Tensor::from_vec(dy.shape(), dx)
}
