//! Batch norm (train and eval) and layer norm, recorded on the tape. Kernels:
//! `engine/src/ops/norm/` (deterministic per-channel reductions).
//!
//! Batch norm, per channel c over the M = N·L values of x (`[N, F]`, `[N, C, L]` or NCHW):
//! - train: μ, σ² (biased) of the batch, r = 1/√(σ² + ε), x̂ = (x − μ)·r, y = γ·x̂ + β; the
//!   running buffers are updated with PyTorch's momentum rule (running_var with the unbiased
//!   σ²·M/(M − 1));
//! - eval: the same with μ = running_mean and r = 1/√(running_var + ε); nothing is updated.
//!
//! Layer norm: the same normalisation per row of the last axis (F features), γ, β of length F.
//! Cost: ≈ 7 FLOPs per element forward, ≈ 8 backward.
//!
//! Gradients (each rule saves x, γ and the mean and inv_std used, never x̂):
//! - dβ = Σ dy;  dγ = Σ dy·x̂ (sums over everything but the channel / feature);
//! - train: dx = (γ·r/M)·(M·dy − Σdy − x̂·Σ(dy·x̂)) (μ and σ² depend on x);
//! - eval:  dx = γ·r·dy (the statistics are constants);
//! - layer norm: dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), dx̂ = γ ⊙ dy, per row.
//!
//! The engine computes dx, dγ and dβ together (they share the reductions); gradients the tape did
//! not ask for are dropped.

use ecgrad_engine::ops::norm::{
    BatchNormParams, BnMode, NormGrads, RunningStats, batch_norm_backward, batch_norm_eval,
    batch_norm_train, layer_norm as ln_fwd, layer_norm_backward,
};
use ecgrad_engine::{Real, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// Keeps the gradients of (x, γ, β) that `needs` asks for.
fn select<T: Real>(g: NormGrads<T>, needs: &[bool]) -> Vec<Option<Tensor<T>>> {
    vec![
        needs[0].then_some(g.dx),
        needs[1].then_some(g.dgamma),
        needs[2].then_some(g.dbeta),
    ]
}

/// The rule of `batch_norm`: saves x, γ, and the statistics used (batch or running).
struct BatchNormBackward<T: Real> {
    x: Tensor<T>,
    gamma: Tensor<T>,
    mean: Tensor<T>,
    inv_std: Tensor<T>,
    mode: BnMode,
}

impl<T: Real> Backward<T> for BatchNormBackward<T> {
    fn name(&self) -> &'static str {
        match self.mode {
            BnMode::Train => "batch_norm_train",
            BnMode::Eval => "batch_norm_eval",
        }
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let g = batch_norm_backward(
            dy,
            &self.x,
            &self.gamma,
            &self.mean,
            &self.inv_std,
            self.mode,
        )?;
        Ok(select(g, needs))
    }
}

/// Batch norm of x with affine parameters γ, β (`[C]` each). With `training`, normalises with
/// the batch statistics and updates `running` in place (also on a `no_grad` tape, as PyTorch);
/// otherwise normalises with `running` and leaves it unchanged.
///
/// # Errors
/// Rank errors unless x is `[N, F]`, `[N, C, L]` or `[N, C, H, W]`; shape mismatches for γ, β
/// or the running statistics; `InvalidParam` for a bad ε/momentum or, in training, a single
/// value per channel (N·L = 1).
pub fn batch_norm<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    gamma: &Var<T>,
    beta: &Var<T>,
    running: &mut RunningStats<T>,
    params: &BatchNormParams,
    training: bool,
) -> Result<Var<T>> {
    let (out, mode, name) = if training {
        let out = batch_norm_train(
            x.value(),
            gamma.value(),
            beta.value(),
            Some(running),
            params,
        )?;
        (out, BnMode::Train, "batch_norm_train")
    } else {
        let out = batch_norm_eval(x.value(), gamma.value(), beta.value(), running, params)?;
        (out, BnMode::Eval, "batch_norm_eval")
    };
    let (mean, inv_std) = (out.mean, out.inv_std);
    tape.record(name, &[x, gamma, beta], out.y, || {
        Box::new(BatchNormBackward {
            x: x.value().clone(),
            gamma: gamma.value().clone(),
            mean,
            inv_std,
            mode,
        })
    })
}

/// The rule of `layer_norm`: saves x, γ and the per-row mean and inv_std.
struct LayerNormBackward<T: Real> {
    x: Tensor<T>,
    gamma: Tensor<T>,
    mean: Tensor<T>,
    inv_std: Tensor<T>,
}

impl<T: Real> Backward<T> for LayerNormBackward<T> {
    fn name(&self) -> &'static str {
        "layer_norm"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let g = layer_norm_backward(dy, &self.x, &self.gamma, &self.mean, &self.inv_std)?;
        Ok(select(g, needs))
    }
}

/// Layer norm over the last axis with γ, β of its length F.
///
/// # Errors
/// Shape mismatches for γ or β; `InvalidParam` for a negative or non-finite ε; `EmptyOutput`.
pub fn layer_norm<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    gamma: &Var<T>,
    beta: &Var<T>,
    eps: f64,
) -> Result<Var<T>> {
    let out = ln_fwd(x.value(), gamma.value(), beta.value(), eps)?;
    let (mean, inv_std) = (out.mean, out.inv_std);
    tape.record("layer_norm", &[x, gamma, beta], out.y, || {
        Box::new(LayerNormBackward {
            x: x.value().clone(),
            gamma: gamma.value().clone(),
            mean,
            inv_std,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use ecgrad_engine::Shape;

    const BN_SHAPES: [&[usize]; 5] = [&[2, 3], &[2, 1, 1], &[1, 2, 5], &[3, 2, 4], &[2, 2, 3, 2]];

    fn gb(c: usize, seed: u64) -> [Tensor<f64>; 2] {
        [
            random_tensor(&[c], 0.5, 1.5, seed),
            random_tensor(&[c], -0.5, 0.5, seed + 1),
        ]
    }

    #[test]
    fn batch_norm_train_gradcheck_x_gamma_beta() {
        for (i, dims) in BN_SHAPES.iter().enumerate() {
            let c = dims[1];
            let x = random_tensor(dims, -2.0, 2.0, 800 + i as u64);
            let [g, b] = gb(c, 810);
            let p = BatchNormParams::default();
            // Each evaluation starts from fresh running statistics (the update is a side effect
            // that does not feed the output).
            assert_gradcheck(
                &format!("batch_norm train {dims:?}"),
                |t, v| batch_norm(t, &v[0], &v[1], &v[2], &mut RunningStats::new(c), &p, true),
                &[x, g, b],
                820,
            );
        }
    }

    #[test]
    fn batch_norm_eval_gradcheck_x_gamma_beta() {
        for (i, dims) in BN_SHAPES.iter().enumerate() {
            let c = dims[1];
            let x = random_tensor(dims, -2.0, 2.0, 830 + i as u64);
            let [g, b] = gb(c, 840);
            let running = RunningStats {
                mean: random_tensor(&[c], -0.5, 0.5, 850),
                var: random_tensor(&[c], 0.5, 2.0, 851),
            };
            let p = BatchNormParams::default();
            assert_gradcheck(
                &format!("batch_norm eval {dims:?}"),
                |t, v| batch_norm(t, &v[0], &v[1], &v[2], &mut running.clone(), &p, false),
                &[x, g, b],
                860,
            );
        }
        // One value per channel is fine in eval mode (and an error in training).
        let mut t = Tape::<f64>::new();
        let x = t.leaf(random_tensor(&[1, 2, 1], -1.0, 1.0, 861), true);
        let [g, b] = gb(2, 862).map(|v| t.leaf(v, true));
        let mut r = RunningStats::new(2);
        assert!(
            batch_norm(
                &mut t,
                &x,
                &g,
                &b,
                &mut r,
                &BatchNormParams::default(),
                false
            )
            .is_ok()
        );
        assert!(
            batch_norm(
                &mut t,
                &x,
                &g,
                &b,
                &mut r,
                &BatchNormParams::default(),
                true
            )
            .is_err()
        );
    }

    #[test]
    fn train_uses_batch_stats_and_updates_running_eval_uses_running() {
        // x = [1, 3] on one channel: μ = 2, σ² = 1 (biased), unbiased 2.
        let x0 = Tensor::from_vec(Shape::d3(2, 1, 1), vec![1.0, 3.0]).unwrap();
        let p = BatchNormParams {
            eps: 0.0,
            momentum: 0.1,
        };
        let mut running = RunningStats::<f64>::new(1);
        let mut t = Tape::<f64>::new();
        let x = t.leaf(x0.clone(), true);
        let g = t.leaf(Tensor::full(Shape::d1(1), 2.0), true);
        let b = t.leaf(Tensor::full(Shape::d1(1), 0.5), true);
        let y = batch_norm(&mut t, &x, &g, &b, &mut running, &p, true).unwrap();
        assert_eq!(y.value().data(), &[-1.5, 2.5]); // 2·(∓1) + 0.5
        assert!((running.mean.data()[0] - 0.2).abs() < 1e-15); // 0.9·0 + 0.1·2
        assert!((running.var.data()[0] - 1.1).abs() < 1e-15); // 0.9·1 + 0.1·2
        // Eval with the updated running stats: (x − 0.2)/√1.1·2 + 0.5, running unchanged.
        let before = running.clone();
        let ye = batch_norm(&mut t, &x, &g, &b, &mut running, &p, false).unwrap();
        for (v, xv) in ye.value().data().iter().zip(x0.data()) {
            assert!((v - ((xv - 0.2) / 1.1f64.sqrt() * 2.0 + 0.5)).abs() < 1e-14);
        }
        assert_eq!(running, before);
        // Eval backward is a per-channel scale: dx = γ·r·dy.
        let dy = Tensor::from_vec(Shape::d3(2, 1, 1), vec![1.0, -3.0]).unwrap();
        let grads = t.backward_from(&ye, dy, &[]).unwrap();
        let dx = grads.get(x.id()).unwrap().data();
        let s = 2.0 / 1.1f64.sqrt();
        assert!(
            (dx[0] - s).abs() < 1e-14 && (dx[1] + 3.0 * s).abs() < 1e-14,
            "{dx:?}"
        );
    }

    #[test]
    fn training_on_a_no_grad_tape_still_updates_running_stats() {
        let x = random_tensor(&[4, 2, 3], -1.0, 1.0, 863);
        let [g, b] = gb(2, 864);
        let p = BatchNormParams::default();
        let (mut rec, mut ng) = (RunningStats::<f64>::new(2), RunningStats::<f64>::new(2));
        let mut t = Tape::<f64>::new();
        let (xv, gv, bv) = (
            t.leaf(x.clone(), true),
            t.input(g.clone()),
            t.input(b.clone()),
        );
        let y1 = batch_norm(&mut t, &xv, &gv, &bv, &mut rec, &p, true).unwrap();
        let mut t0 = Tape::<f64>::no_grad();
        let (xv, gv, bv) = (t0.input(x), t0.input(g), t0.input(b));
        let y0 = batch_norm(&mut t0, &xv, &gv, &bv, &mut ng, &p, true).unwrap();
        assert_eq!(y1.value(), y0.value());
        assert_eq!(rec, ng);
        assert_ne!(ng, RunningStats::new(2));
        assert!(t0.is_empty());
    }

    #[test]
    fn layer_norm_gradcheck_x_gamma_beta() {
        for dims in [&[1usize, 2][..], &[3, 5], &[2, 3, 4], &[1, 1, 2, 7]] {
            let f = *dims.last().unwrap();
            let x = random_tensor(dims, -2.0, 2.0, 870);
            let [g, b] = gb(f, 871);
            assert_gradcheck(
                &format!("layer_norm {dims:?}"),
                |t, v| layer_norm(t, &v[0], &v[1], &v[2], 1e-5),
                &[x, g, b],
                872,
            );
        }
    }
}
