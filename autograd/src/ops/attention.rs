//! Additive temporal attention pooling (the CNN-LSTM-attention of seed 003), recorded on the
//! tape as one node; the arithmetic is the engine's (`engine/src/ops/attention/`: one GEMM for
//! the projection of all steps, SIMD per-sample softmax, naive twins beside them).
//!
//! Forward, per sample, with hₜ `[F]` the sequence's step t (an LSTM output):
//! - uₜ = tanh(W·hₜ + b) `[A]`,   eₜ = vᵀ·uₜ (the score of step t against the learned context
//!   vector v),
//! - αₜ = softmax over t of eₜ (max-subtracted), context = Σₜ αₜ·hₜ `[F]`.
//!
//! Shapes: h `[N, T, F]`, W `[A, F]`, b `[A]`, v `[A]` → context `[N, F]`, plus the weights α
//! `[N, T]` returned as a plain tensor for plotting (they are not a differentiable output).
//! Cost: ≈ 2·N·T·A·F + 2·N·T·(A + F) FLOPs forward, about twice that backward.
//!
//! Gradients (upstream dctx `[N, F]`; derivation in `engine/src/ops/attention/mod.rs`):
//! - dαₜ = ⟨dctx, hₜ⟩, deₜ = αₜ·(dαₜ − Σₛ αₛ dαₛ) (softmax backward);
//! - dũₜ = deₜ·v ⊙ (1 − uₜ²) (tanh′ from the saved u);
//! - dhₜ = αₜ·dctx + Wᵀ·dũₜ (hₜ is used twice: in the sum and in its score);
//! - dW = Σₙ,ₜ dũₜ·hₜᵀ,  db = Σₙ,ₜ dũₜ,  dv = Σₙ,ₜ deₜ·uₜ.
//!
//! The rule saves h, W, b, v (`Arc` clones) and the forward's u and α, so backward needs no
//! tanh and no exp.

use ecgrad_engine::ops::attention::{
    AttentionSaved, attention_pool as pool_fwd, attention_pool_backward,
};
use ecgrad_engine::{Real, Shape, Tensor};

use super::tensor;
use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// What [`attention_pool`] returns.
#[derive(Clone, Debug)]
pub struct AttentionPoolVars<T: Real> {
    /// The pooled sequence Σₜ αₜ·hₜ, `[N, F]` (differentiable).
    pub context: Var<T>,
    /// The attention weights α `[N, T]` (each row sums to 1), for plotting which time steps
    /// the model looked at. A plain tensor: no gradient flows through it.
    pub weights: Tensor<T>,
}

/// The rule of `attention_pool`.
struct AttentionPoolBackward<T: Real> {
    h: Tensor<T>,
    w: Tensor<T>,
    b: Tensor<T>,
    v: Tensor<T>,
    saved: AttentionSaved<T>,
}

impl<T: Real> Backward<T> for AttentionPoolBackward<T> {
    fn name(&self) -> &'static str {
        "attention_pool"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let g = attention_pool_backward(&self.h, &self.w, &self.b, &self.v, &self.saved, dy)?;
        Ok(vec![
            needs[0].then_some(g.dh),
            needs[1].then_some(g.dw),
            needs[2].then_some(g.db),
            needs[3].then_some(g.dv),
        ])
    }
}

/// Additive attention pooling of h `[N, T, F]` over time with W `[A, F]`, b `[A]` and the
/// context vector v `[A]`; see the module docs.
///
/// # Errors
/// The engine's named errors: rank (h not `[N, T, F]`, W not a matrix), a zero dimension, or
/// the first tensor whose shape disagrees.
///
/// ```
/// use ecgrad_autograd::{Tape, ops, engine::{Shape, Tensor}};
/// let mut tape = Tape::<f64>::no_grad();
/// let h = tape.input(Tensor::from_vec(Shape::d3(1, 2, 1), vec![1.0, 3.0])?);
/// let w = tape.input(Tensor::zeros(Shape::d2(4, 1)));
/// let b = tape.input(Tensor::zeros(Shape::d1(4)));
/// let v = tape.input(Tensor::full(Shape::d1(4), 1.0));
/// // W = 0: every step scores the same, α = ½ each, the context is the mean over time.
/// let pooled = ops::attention_pool(&mut tape, &h, &w, &b, &v)?;
/// assert_eq!(pooled.context.value().data(), &[2.0]);
/// assert_eq!(pooled.weights.data(), &[0.5, 0.5]);
/// # Ok::<(), ecgrad_autograd::Error>(())
/// ```
pub fn attention_pool<T: Real>(
    tape: &mut Tape<T>,
    h: &Var<T>,
    w: &Var<T>,
    b: &Var<T>,
    v: &Var<T>,
) -> Result<AttentionPoolVars<T>> {
    let (ctx, saved) = pool_fwd(h.value(), w.value(), b.value(), v.value())?;
    let (n, steps, _) = h.shape().dims3("attention_pool", "input")?;
    let weights = tensor(Shape::d2(n, steps), saved.alpha.clone());
    let context = tape.record("attention_pool", &[h, w, b, v], ctx, || {
        Box::new(AttentionPoolBackward {
            h: h.value().clone(),
            w: w.value().clone(),
            b: b.value().clone(),
            v: v.value().clone(),
            saved,
        })
    })?;
    Ok(AttentionPoolVars { context, weights })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    /// (N, T, F, A): one step (α = 1), single feature and unit, odd sizes, long sequence.
    const CASES: [(usize, usize, usize, usize); 5] = [
        (1, 1, 1, 1),
        (2, 3, 4, 5),
        (3, 7, 2, 3),
        (1, 46, 3, 2),
        (2, 5, 9, 1),
    ];

    #[test]
    fn attention_pool_gradcheck_h_w_b_v() {
        for (i, &(n, steps, f, a)) in CASES.iter().enumerate() {
            let s = 1000 + 10 * i as u64;
            let xs = [
                random_tensor(&[n, steps, f], -1.0, 1.0, s),
                random_tensor(&[a, f], -1.0, 1.0, s + 1),
                random_tensor(&[a], -0.5, 0.5, s + 2),
                random_tensor(&[a], -1.5, 1.5, s + 3),
            ];
            assert_gradcheck(
                &format!("attention_pool N{n} T{steps} F{f} A{a}"),
                |t, v| Ok(attention_pool(t, &v[0], &v[1], &v[2], &v[3])?.context),
                &xs,
                s + 4,
            );
        }
    }

    #[test]
    fn weights_are_a_softmax_over_time_and_the_context_their_average() {
        let (n, steps, f, a) = (2, 6, 3, 4);
        let h = random_tensor(&[n, steps, f], -1.0, 1.0, 1100);
        let w = random_tensor(&[a, f], -1.0, 1.0, 1101);
        let b = random_tensor(&[a], -1.0, 1.0, 1102);
        let v = random_tensor(&[a], -1.0, 1.0, 1103);
        let mut t = Tape::<f64>::no_grad();
        let vars: Vec<Var<f64>> = [&h, &w, &b, &v]
            .iter()
            .map(|x| t.input((*x).clone()))
            .collect();
        let out = attention_pool(&mut t, &vars[0], &vars[1], &vars[2], &vars[3]).unwrap();
        assert_eq!(out.weights.shape(), Shape::d2(n, steps));
        for s in 0..n {
            // α from the definition: e_t = vᵀ tanh(W h_t + b), softmax over t.
            let e: Vec<f64> = (0..steps)
                .map(|tt| {
                    (0..a)
                        .map(|k| {
                            let z: f64 = b.data()[k]
                                + (0..f)
                                    .map(|j| {
                                        w.data()[k * f + j] * h.data()[(s * steps + tt) * f + j]
                                    })
                                    .sum::<f64>();
                            v.data()[k] * z.tanh()
                        })
                        .sum()
                })
                .collect();
            let total: f64 = e.iter().map(|x| x.exp()).sum();
            for tt in 0..steps {
                let want = e[tt].exp() / total;
                let got = out.weights.data()[s * steps + tt];
                assert!((got - want).abs() < 1e-12, "α[{s}, {tt}] {got} vs {want}");
            }
            for j in 0..f {
                let want: f64 = (0..steps)
                    .map(|tt| {
                        out.weights.data()[s * steps + tt] * h.data()[(s * steps + tt) * f + j]
                    })
                    .sum();
                let got = out.context.value().data()[s * f + j];
                assert!((got - want).abs() < 1e-12, "context[{s}, {j}]");
            }
        }
    }

    #[test]
    fn attention_pool_shape_errors_are_named() {
        let mut t = Tape::<f64>::new();
        let h = t.leaf(Tensor::zeros(Shape::d3(2, 3, 4)), true);
        let w = t.leaf(Tensor::zeros(Shape::d2(5, 3)), true);
        let b = t.leaf(Tensor::zeros(Shape::d1(5)), true);
        let v = t.leaf(Tensor::zeros(Shape::d1(5)), true);
        let e = attention_pool(&mut t, &h, &w, &b, &v).unwrap_err();
        assert!(e.to_string().contains("attention_pool"), "{e}");
    }
}
