//! `TemporalAttention`: additive (Bahdanau-style) attention pooling over the time steps of a
//! sequence — the "softmax over learned alignment scores between LSTM hidden states and a
//! context vector" of the CNN-LSTM-attention in seed 003.
//!
//! For each sample, with hₜ `[F]` the sequence's step t:
//! ```text
//! uₜ = tanh(W·hₜ + b)        [A]    a one-layer MLP per step
//! eₜ = vᵀ·uₜ                 scalar the alignment score of step t against the learned v
//! αₜ = softmax over t of eₜ         (max-subtracted: no overflow)
//! context = Σₜ αₜ·hₜ         [F]
//! ```
//! Input `[n, T, F]` (NTF) → output `[n, F]`; the weights α `[n, T]` are available from
//! [`TemporalAttention::forward_with_weights`] for plotting which part of a beat the model
//! looked at.
//!
//! Parameters: `weight` W `[A, F]`, `bias` b `[A]` (PyTorch `nn.Linear(F, A)` default
//! initialisation U(±1/√F)) and `context` v `[A]` (U(±1/√A)). The PyTorch module with the same
//! `state_dict`:
//! ```text
//! class TemporalAttention(nn.Module):        # weight [A, F], bias [A], context [A]
//!     def forward(self, h):                  # h: [n, T, F]
//!         u = torch.tanh(h @ self.weight.T + self.bias)
//!         alpha = torch.softmax(u @ self.context, dim=1)          # [n, T]
//!         return (alpha.unsqueeze(-1) * h).sum(dim=1)             # [n, F]
//! ```
//! Cost: ≈ 2·n·T·A·F + 2·n·T·(A + F) FLOPs forward, about twice that backward. The forward is one
//! tape node (autograd's [`ops::attention_pool`] over the engine's kernels: one GEMM for the
//! projection of all steps, SIMD softmax per sample); gradients for h, W, b and v come from its
//! rule (dhₜ = αₜ·dctx + Wᵀ·(deₜ·v ⊙ (1 − uₜ²)), the rest in `autograd/src/ops/attention.rs`).

use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::module::Module;

/// Additive temporal attention pooling `[n, T, F]` → `[n, F]`.
#[derive(Clone, Debug)]
pub struct TemporalAttention {
    /// W `[A, F]`.
    pub weight: Param<f32>,
    /// b `[A]`.
    pub bias: Param<f32>,
    /// v `[A]`, the learned context vector each step is scored against.
    pub context: Param<f32>,
}

impl TemporalAttention {
    /// A layer over `features` F per step with attention width `attention_dim` A; W and b are
    /// drawn as PyTorch's `nn.Linear(F, A)` default, then v from U(±1/√A), all from `rng`.
    ///
    /// # Errors
    /// An invalid-parameter error if a size is zero.
    pub fn new(features: usize, attention_dim: usize, rng: &mut Rng) -> Result<TemporalAttention> {
        if features == 0 || attention_dim == 0 {
            return Err(invalid(
                "TemporalAttention",
                "sizes",
                format!("features {features}, attention_dim {attention_dim}"),
                "must both be ≥ 1",
            ));
        }
        let (w, b) = init::pytorch_default(Shape::d2(attention_dim, features), true, rng)?;
        let b = b.expect("invariant: pytorch_default was asked for a bias");
        let bound = 1.0 / (attention_dim as f64).sqrt();
        let v = init::uniform(Shape::d1(attention_dim), -bound, bound, rng)?;
        TemporalAttention::from_tensors(w, b, v)
    }

    /// A layer with the given W `[A, F]`, b `[A]` and v `[A]`.
    ///
    /// # Errors
    /// A rank error if W is not a matrix; an invalid-parameter error if b or v is not `[A]` or
    /// a size is zero.
    pub fn from_tensors(
        weight: Tensor<f32>,
        bias: Tensor<f32>,
        context: Tensor<f32>,
    ) -> Result<TemporalAttention> {
        let (a, f) = weight.shape().dims2("TemporalAttention", "weight")?;
        if a == 0 || f == 0 {
            return Err(invalid(
                "TemporalAttention",
                "weight",
                weight.shape(),
                "sizes must be ≥ 1",
            ));
        }
        for (name, t) in [("bias", &bias), ("context", &context)] {
            if t.shape() != Shape::d1(a) {
                return Err(invalid(
                    "TemporalAttention",
                    name,
                    t.shape(),
                    format!("must be [{a}] (rows of weight)"),
                ));
            }
        }
        Ok(TemporalAttention {
            weight: Param::new("weight", weight),
            bias: Param::new("bias", bias),
            context: Param::new("context", context),
        })
    }

    /// Features per step F.
    pub fn features(&self) -> usize {
        self.weight.value.dims()[1]
    }
    /// Attention width A.
    pub fn attention_dim(&self) -> usize {
        self.weight.value.dims()[0]
    }

    /// The pooled context `[n, F]` and the attention weights α `[n, T]` (rows sum to 1; a plain
    /// tensor for plotting, not on the tape).
    ///
    /// # Errors
    /// An invalid-parameter error unless `x` is `[n, T, F]` with F = [`Self::features`].
    pub fn forward_with_weights(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
    ) -> Result<(Var<f32>, Tensor<f32>)> {
        let dims = x.shape().dims().to_vec();
        if dims.len() != 3 || dims[2] != self.features() {
            return Err(invalid(
                "TemporalAttention",
                "input",
                x.shape(),
                format!("must be [n, T, {}] (NTF, F = features)", self.features()),
            ));
        }
        let w = tape.param(&self.weight);
        let b = tape.param(&self.bias);
        let v = tape.param(&self.context);
        let pooled = ops::attention_pool(tape, x, &w, &b, &v)?;
        Ok((pooled.context, pooled.weights))
    }
}

impl Parameters<f32> for TemporalAttention {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.weight);
        f(&mut self.bias);
        f(&mut self.context);
    }
}

impl Module for TemporalAttention {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(self.forward_with_weights(tape, x)?.0)
    }
    fn describe(&self) -> String {
        format!(
            "TemporalAttention({} features, width {})",
            self.features(),
            self.attention_dim()
        )
    }
}
