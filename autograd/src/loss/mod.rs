//! Losses: each one op with a fused, numerically stable forward and backward, returning a
//! rank-0 tensor. Targets, masks and class weights are constants (plain tensors/slices): no
//! gradient flows into them.
//!
//! | loss | file | gradcheck tests |
//! |---|---|---|
//! | softmax cross-entropy (weights, label smoothing) | `cross_entropy.rs` | `cross_entropy::tests::*gradcheck*` |
//! | focal loss (α per class, γ) | `focal.rs` | `focal::tests::*gradcheck*` |
//! | MSE, masked MSE, L1 | `regression.rs` | `regression::tests::*gradcheck*` |
//! | BCE with logits | `bce.rs` | `bce::tests::*gradcheck*` |
//! | L2 penalty on chosen parameters | `penalty.rs` | `penalty::tests::*gradcheck*` |
//!
//! Kernels are plain loops here; `engine/src/ops/loss.rs` may later take the fused kernels.

pub mod bce;
pub mod cross_entropy;
pub mod focal;
pub mod penalty;
pub mod regression;

pub use bce::bce_with_logits;
pub use cross_entropy::{CrossEntropy, cross_entropy};
pub use focal::{Focal, FocalReduction, focal};
pub use penalty::l2_penalty;
pub use regression::{MaskNorm, l1, masked_mse, mse};

use ecgrad_engine::{Real, Tensor};

use crate::backward::Backward;
use crate::error::Result;

/// How per-element (or per-sample) losses are combined, as PyTorch's `reduction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Divide the sum by the count (for weighted cross-entropy: by the sum of the targets'
    /// weights, PyTorch's convention).
    #[default]
    Mean,
    /// The plain sum.
    Sum,
}

/// The shared rule of every loss: the forward pass already computed ∂loss/∂input (`grad`, for
/// a unit upstream gradient), so backward only scales it by the scalar dy. Fusing the two is
/// what makes the losses stable (e.g. softmax − one-hot instead of dividing by a tiny p).
pub(crate) struct ScaledGradBackward<T: Real> {
    pub(crate) name: &'static str,
    /// ∂loss/∂xₖ for each input k (None for inputs that need no gradient).
    pub(crate) grads: Vec<Option<Tensor<T>>>,
}

impl<T: Real> Backward<T> for ScaledGradBackward<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let s = dy.data()[0];
        Ok(self
            .grads
            .iter()
            .zip(needs)
            .map(|(g, &need)| match (g, need) {
                (Some(g), true) => Some(crate::ops::map(g, |v| s * v)),
                _ => None,
            })
            .collect())
    }
}

/// log-softmax of one row, max-subtracted so exp never overflows: log pᶜ = zᶜ − m − ln Σₖ e^{zₖ−m}.
pub(crate) fn log_softmax_row<T: Real>(z: &[T], out: &mut [T]) {
    let m = z.iter().copied().fold(z[0], T::max);
    let s: T = z.iter().map(|&v| (v - m).exp()).sum();
    let lse = m + s.ln();
    for (o, &v) in out.iter_mut().zip(z) {
        *o = v - lse;
    }
}
