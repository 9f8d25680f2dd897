//! Normalisation: batch norm (BatchNorm1d over NCL or N×F, BatchNorm2d over NCHW) in training
//! and evaluation mode, and layer norm over the last axis; forward and backward.
//!
//! # Batch norm: what it computes
//! Per channel c, over the M = N·L values `x[n,c,l]` (L = 1 for `[N, F]`, L = H·W for NCHW):
//!
//! ```text
//! μ_c = (1/M) Σ x                 σ²_c = (1/M) Σ (x − μ_c)²        (biased: used to normalise)
//! r_c = 1 / √(σ²_c + ε)           x̂ = (x − μ_c)·r_c               y = γ_c·x̂ + β_c
//! running_mean ← (1−m)·running_mean + m·μ_c
//! running_var  ← (1−m)·running_var  + m·σ²_c·M/(M−1)              (unbiased, PyTorch semantics)
//! ```
//! **Epsilon placement:** ε is added to the variance *inside* the square root (PyTorch, cuDNN),
//! never to the standard deviation; the unbiased variance only feeds the running estimate.
//! Evaluation mode uses `μ = running_mean`, `r = 1/√(running_var + ε)`.
//!
//! # Batch norm: gradients (accumulate into dx, dγ, dβ)
//! - `dβ_c = Σ dy`, `dγ_c = Σ dy·x̂`
//! - training: `dx = (γ·r/M)·(M·dy − Σdy − x̂·Σ(dy·x̂))`. Derivation in three lines:
//!   `dx̂ = γ·dy`; `∂x̂_i/∂x_j = r·(δ_ij − 1/M − x̂_i·x̂_j/M)` (μ and σ² both depend on x_j);
//!   so `dx_j = Σ_i dx̂_i ∂x̂_i/∂x_j = r·(dx̂_j − mean(dx̂) − x̂_j·mean(dx̂·x̂))`.
//! - evaluation: μ and r are constants, so `dx = γ·r·dy`.
//!
//! # Layer norm
//! Per row of the last axis (F features): the same μ, σ², r, x̂ over the row, and
//! `y = γ ⊙ x̂ + β` with γ, β of length F. Gradients: `dβ = Σ_rows dy`, `dγ = Σ_rows dy ⊙ x̂`,
//! `dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂))` with `dx̂ = γ ⊙ dy` (the derivation above, per
//! row).
//!
//! # Shapes
//! batch norm: x `[N, F]`, `[N, C, L]` or `[N, C, H, W]`; γ, β, running stats, saved mean and
//! inv_std `[C]`. Layer norm: x of any rank ≥ 1 with last axis F; γ, β `[F]`; saved mean and
//! inv_std one per row.
//!
//! # Cost
//! Forward ≈ 7 FLOPs per element (two reduction passes, one affine pass); backward ≈ 8.
//!
//! # How the fast version differs from [`naive`]
//! The naive twins are the formulas with ndarray loops. The fast kernels reduce with `vec_sum` /
//! `vec_dot` (SIMD for f32) per `(n, c)` row, fold the affine map into `y = a·x + b` with
//! `a = γ·r`, `b = β − μ·a`, and write the backward as `dx += k₁·dy + k₂·(x − μ) + k₀`.
//! **Determinism:** every per-channel sum (μ, σ², Σdy, Σdy·x̂, dγ, dβ) goes through
//! [`crate::parallel::block_reduce`] over samples, whose block boundaries depend only on the shape,
//! so results are bit-identical at any thread count; the elementwise passes run per sample (or
//! row) in parallel above [`crate::parallel::GRAIN`].

mod batch;
mod layer;
pub mod naive;
#[cfg(test)]
mod tests;

pub use batch::{
    batch_norm_backward, batch_norm_backward_kernel, batch_norm_eval, batch_norm_forward,
    batch_norm_stats, batch_norm_train,
};
pub use layer::{layer_norm, layer_norm_backward, layer_norm_backward_kernel, layer_norm_forward};

use crate::real::Real;
use crate::tensor::Tensor;

/// Hyper-parameters of batch norm, PyTorch defaults via [`Default`] (ε = 1e-5, momentum 0.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormParams {
    /// Added to the variance inside the square root.
    pub eps: f64,
    /// Weight of the batch statistic in the running-average update (PyTorch convention:
    /// `running = (1 − momentum)·running + momentum·batch`).
    pub momentum: f64,
}

impl Default for BatchNormParams {
    fn default() -> Self {
        BatchNormParams {
            eps: 1e-5,
            momentum: 0.1,
        }
    }
}

/// Running statistics of a batch-norm layer (buffers, not parameters).
#[derive(Clone, Debug, PartialEq)]
pub struct RunningStats<T: Real> {
    /// Running mean `[C]`, initialised to 0.
    pub mean: Tensor<T>,
    /// Running (unbiased) variance `[C]`, initialised to 1.
    pub var: Tensor<T>,
}

impl<T: Real> RunningStats<T> {
    /// PyTorch's initial state for `channels` channels: mean 0, variance 1.
    pub fn new(channels: usize) -> RunningStats<T> {
        RunningStats {
            mean: Tensor::zeros(crate::Shape::d1(channels)),
            var: Tensor::full(crate::Shape::d1(channels), T::ONE),
        }
    }
}

/// Whether batch norm normalises with batch statistics (training) or running ones (evaluation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BnMode {
    /// Batch statistics; the backward includes their dependence on x.
    Train,
    /// Running statistics; the backward is a per-channel scale.
    Eval,
}

/// Output of a normalisation forward: y plus what the backward needs.
#[derive(Clone, Debug, PartialEq)]
pub struct NormOutput<T: Real> {
    /// Normalised, scaled and shifted output, same shape as x.
    pub y: Tensor<T>,
    /// The mean used: per channel `[C]` (batch norm) or per row (layer norm).
    pub mean: Tensor<T>,
    /// `1/√(σ² + ε)` used, same shape as `mean`.
    pub inv_std: Tensor<T>,
}

/// Gradients of a normalisation op.
#[derive(Clone, Debug, PartialEq)]
pub struct NormGrads<T: Real> {
    /// Gradient with respect to x.
    pub dx: Tensor<T>,
    /// Gradient with respect to γ.
    pub dgamma: Tensor<T>,
    /// Gradient with respect to β.
    pub dbeta: Tensor<T>,
}
