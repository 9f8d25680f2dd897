//! Additive (Bahdanau-style) temporal attention pooling: a learned weighted average over the
//! time steps of a sequence, as in the CNN-LSTM-attention of seed 003.
//!
//! # What it computes
//! For each sample, with hₜ `[F]` the sequence's step t (e.g. an LSTM output):
//! - uₜ = tanh(W·hₜ + b)                    `[A]`   (the "attention MLP")
//! - eₜ = vᵀ·uₜ                             scalar  (score of step t against the learned v)
//! - αₜ = e^(eₜ − m) / Σₛ e^(eₛ − m), m = maxₛ eₛ   (softmax over time, max-subtracted)
//! - context = Σₜ αₜ·hₜ                    `[F]`
//!
//! # Shapes
//! h `[N, T, F]` (NTF), W `[A, F]`, b `[A]`, v `[A]` → context `[N, F]`. Saved for backward
//! ([`AttentionSaved`]): u `[N, T, A]` and α `[N, T]`.
//!
//! # Cost
//! 2·N·T·A·F (the projection) + 2·N·T·A (scores) + 2·N·T·F (weighted sum) FLOPs and N·T·A tanh
//! forward; backward ≈ 2× the projection (dh and dW GEMMs) plus O(N·T·(A + F)).
//!
//! # Gradients (backward kernels **accumulate**: dh += …), upstream dctx `[N, F]`
//! - dαₜ = ⟨dctx, hₜ⟩
//! - deₜ = αₜ·(dαₜ − Σₛ αₛ dαₛ)                 (softmax backward)
//! - dũₜ = deₜ·v ⊙ (1 − uₜ²)                   (gradient at the pre-activation W·hₜ + b)
//! - dhₜ = αₜ·dctx + Wᵀ·dũₜ                    (hₜ is used twice: in the sum and in the score)
//! - dW = Σₙ,ₜ dũₜ·hₜᵀ,  db = Σₙ,ₜ dũₜ,  dv = Σₙ,ₜ deₜ·uₜ
//!
//! Derivation sketch. The context is linear in α and in h, giving dα and the direct αₜ·dctx term.
//! Softmax has Jacobian ∂αₜ/∂eₛ = αₜ(δₜₛ − αₛ), so de = α ⊙ (dα − ⟨α, dα⟩). eₜ = vᵀuₜ gives
//! dv += deₜ uₜ and duₜ = deₜ v; tanh′ = 1 − u² (from the saved output); the rest is a linear
//! layer applied to every step.
//!
//! # How the fast version differs from the naive twins
//! [`attention_forward_naive`] / [`attention_backward_naive`] are loops over n, t, a and f.
//! The fast kernels do the projection W·hₜ for all N·T steps as one GEMM `[N·T, F]·[F, A]`, and
//! likewise dh (+= dŨ·W), dW (+= dŨᵀ·H) and dv (+= Uᵀ·de) as single GEMMs over all N·T rows,
//! which keeps the parameter gradients deterministic at any thread count. The per-sample work
//! (tanh, scores, softmax, weighted sum) uses the [`Real`] vector primitives (`vec_tanh`,
//! `vec_dot`, `vec_exp`, `vec_axpy`: AVX2/NEON in f32), samples spread over rayon above
//! [`crate::parallel::GRAIN`].
//!
//! Tensor level: [`attention_pool`] / [`attention_pool_backward`] validate every shape.

use rayon::prelude::*;

use crate::ops::lstm_cell::{add_column_sums, gemm_ab_acc, gemm_abt, gemm_atb_acc, rows_per_task};
use crate::real::Real;

mod naive;
mod tensor_layer;
pub use naive::*;
pub use tensor_layer::*;

#[cfg(test)]
mod tests;

/// Sizes: batch `n`, steps `t`, features `f`, attention width `a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionDims {
    /// Batch size N.
    pub n: usize,
    /// Time steps T.
    pub t: usize,
    /// Features per step F.
    pub f: usize,
    /// Attention width A (rows of W).
    pub a: usize,
}

/// The parameters: W `[A, F]`, b `[A]`, v `[A]`.
#[derive(Clone, Copy, Debug)]
pub struct AttentionWeights<'a, T> {
    /// W `[A, F]`.
    pub w: &'a [T],
    /// b `[A]`.
    pub b: &'a [T],
    /// v `[A]`, the learned context vector.
    pub v: &'a [T],
}

/// The forward's output and what backward needs.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionSaved<T> {
    /// uₜ = tanh(W·hₜ + b) `[N, T, A]`.
    pub u: Vec<T>,
    /// α `[N, T]` (each row sums to 1).
    pub alpha: Vec<T>,
    /// context `[N, F]`: the output.
    pub context: Vec<T>,
}

/// Gradient outputs; every one is **accumulated into** (`+=`).
#[derive(Debug)]
pub struct AttentionGrads<'a, T> {
    /// dh `[N, T, F]`.
    pub dh: &'a mut [T],
    /// dW `[A, F]`.
    pub dw: &'a mut [T],
    /// db `[A]`.
    pub db: &'a mut [T],
    /// dv `[A]`.
    pub dv: &'a mut [T],
}

/// Panics unless the buffers have the lengths `d` implies.
#[track_caller]
pub(crate) fn check_attention<T>(d: AttentionDims, h: &[T], w: &AttentionWeights<'_, T>) {
    assert!(
        d.t > 0
            && h.len() == d.n * d.t * d.f
            && w.w.len() == d.a * d.f
            && w.b.len() == d.a
            && w.v.len() == d.a,
        "attention: h {}, W {}, b {}, v {} disagree with {d:?}",
        h.len(),
        w.w.len(),
        w.b.len(),
        w.v.len()
    );
}

/// Attention pooling forward (fast).
///
/// # Panics
/// If a slice length disagrees with `d` or `d.t == 0`, or if `ECGRAD_ISA` is invalid (call
/// [`crate::simd::try_isa`] first).
pub fn attention_forward<T: Real>(
    d: AttentionDims,
    h: &[T],
    w: &AttentionWeights<'_, T>,
) -> AttentionSaved<T> {
    check_attention(d, h, w);
    let (n, steps, f, a) = (d.n, d.t, d.f, d.a);
    // W·hₜ for every (n, t) in one GEMM: [N·T, F]·[F, A].
    let mut pre = vec![T::ZERO; n * steps * a];
    gemm_abt(h, w.w, &mut pre, (n * steps, f, a), T::ZERO);
    let mut u = vec![T::ZERO; n * steps * a];
    let mut alpha = vec![T::ZERO; n * steps];
    let mut context = vec![T::ZERO; n * f];
    pre.par_chunks_mut(steps * a)
        .zip(u.par_chunks_mut(steps * a))
        .zip(alpha.par_chunks_mut(steps))
        .zip(context.par_chunks_mut(f))
        .zip(h.par_chunks(steps * f))
        .with_min_len(rows_per_task(steps * (2 * a + f)))
        .for_each_init(
            || vec![T::ZERO; steps],
            |scores, ((((pre, u), alpha), ctx), h)| {
                for t in 0..steps {
                    let p = &mut pre[t * a..(t + 1) * a];
                    for (x, &bias) in p.iter_mut().zip(w.b) {
                        *x += bias;
                    }
                    let ut = &mut u[t * a..(t + 1) * a];
                    T::vec_tanh(p, ut);
                    scores[t] = T::vec_dot(ut, w.v);
                }
                // Softmax over time; subtracting the max keeps every exponent ≤ 0 (no overflow).
                let m = T::vec_max(scores);
                for s in scores.iter_mut() {
                    *s -= m;
                }
                T::vec_exp(scores, alpha);
                let inv = T::ONE / T::vec_sum(alpha);
                T::vec_scale(inv, alpha);
                for t in 0..steps {
                    T::vec_axpy(alpha[t], &h[t * f..(t + 1) * f], ctx);
                }
            },
        );
    AttentionSaved { u, alpha, context }
}

/// Attention pooling backward (fast); **accumulates** into every gradient in `grads`.
///
/// `dctx` `[N, F]` is the upstream gradient of the context.
///
/// # Panics
/// If a slice length disagrees with `d`, or if `ECGRAD_ISA` is invalid.
pub fn attention_backward<T: Real>(
    d: AttentionDims,
    h: &[T],
    w: &AttentionWeights<'_, T>,
    saved: &AttentionSaved<T>,
    dctx: &[T],
    grads: AttentionGrads<'_, T>,
) {
    check_attention(d, h, w);
    let (n, steps, f, a) = (d.n, d.t, d.f, d.a);
    let nt = n * steps;
    assert!(
        saved.u.len() == nt * a
            && saved.alpha.len() == nt
            && dctx.len() == n * f
            && grads.dh.len() == nt * f
            && grads.dw.len() == a * f
            && grads.db.len() == a
            && grads.dv.len() == a,
        "attention_backward: a buffer length disagrees with {d:?}"
    );
    // dũ [N·T, A] and de [N·T], per sample; the direct term αₜ·dctx goes into dh here.
    let mut du = vec![T::ZERO; nt * a];
    let mut de = vec![T::ZERO; nt];
    du.par_chunks_mut(steps * a)
        .zip(de.par_chunks_mut(steps))
        .zip(grads.dh.par_chunks_mut(steps * f))
        .zip(h.par_chunks(steps * f))
        .zip(saved.u.par_chunks(steps * a))
        .zip(saved.alpha.par_chunks(steps))
        .zip(dctx.par_chunks(f))
        .with_min_len(rows_per_task(steps * (2 * a + 2 * f)))
        .for_each(|((((((du, de), dh), h), u), alpha), dc)| {
            // de temporarily holds dα, then becomes α ⊙ (dα − ⟨α, dα⟩).
            for t in 0..steps {
                de[t] = T::vec_dot(dc, &h[t * f..(t + 1) * f]);
            }
            let mean = T::vec_dot(alpha, de);
            for t in 0..steps {
                de[t] = alpha[t] * (de[t] - mean);
                T::vec_axpy(alpha[t], dc, &mut dh[t * f..(t + 1) * f]);
                let ut = &u[t * a..(t + 1) * a];
                for ((g, &uk), &vk) in du[t * a..(t + 1) * a].iter_mut().zip(ut).zip(w.v) {
                    *g = de[t] * vk * (T::ONE - uk * uk);
                }
            }
        });
    gemm_ab_acc(&du, w.w, grads.dh, (nt, a, f));
    gemm_atb_acc(&du, h, grads.dw, (a, nt, f));
    add_column_sums(&du, grads.db);
    gemm_atb_acc(&saved.u, &de, grads.dv, (a, nt, 1));
}
