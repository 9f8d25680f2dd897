//! The "unpunished region" protocol of the public code (`gaussian_experiment/main.py`, PAPERS.md
//! §C.1): a fresh "good" (middle pool 3) or "bad" (middle pool 7) network is fitted to **one**
//! signal for a number of steps with
//!
//! loss = mean_t(m(t)·(ŷ(t) − x(t))²) + λ·Σ_θ θ²,  m = 0 on the hole [lo, hi), 1 elsewhere,
//!
//! λ = 0.5 (TF's `1.0·Σ l2_loss(v)` with `l2_loss(v) = Σv²/2`, over every trainable variable),
//! Adagrad(lr 0.01), weights and biases from truncated normal(0.1); then error_inside and
//! error_outside are measured (`measure::mask_errors`). Amplitudes are the raw units of the
//! signal (the public code: µV with std ≈ 190; here mV, so the signals are scaled to µV first,
//! see [`MaskedFit::scale`], to keep the L2 term's relative weight the same).

use anyhow::{Result, bail};
use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::loss::{MaskNorm, l2_penalty, masked_mse};
use ecgrad_autograd::optim::{Adagrad, AdagradConfig};
use ecgrad_autograd::{Optimizer, Parameters, Tape, Var, ops};
use ecgrad_models::Module;
use ecgrad_models::nets::{AeConfig, ConvAutoencoder};
use serde::Serialize;

use super::measure::mask_errors;

/// One fit's settings (all go to `metrics.json`).
#[derive(Clone, Debug, Serialize)]
pub struct MaskedFit {
    /// Middle pool (3 = good, 7 = bad).
    pub pool: usize,
    /// Optimisation steps.
    pub steps: usize,
    /// Hole `[lo, hi)`.
    pub hole: (usize, usize),
    /// Adagrad learning rate (0.01).
    pub lr: f64,
    /// L2 coefficient λ on Σθ² (0.5).
    pub l2: f64,
    /// Factor applied to the signal before fitting (1000: mV → µV); errors are reported in the
    /// scaled units.
    pub scale: f32,
}

/// What one fit produced.
#[derive(Clone, Debug, Serialize)]
pub struct FitResult {
    /// Σ_{hole}(ŷ − x)²/L.
    pub inside: f64,
    /// Σ_{outside}(ŷ − x)²/L.
    pub outside: f64,
    /// The final training loss (masked MSE + penalty).
    pub final_loss: f64,
    /// The reconstruction (scaled units).
    #[serde(skip)]
    pub recon: Vec<f32>,
}

/// Fits a fresh network to `signal` (weights from `seed`); see the module docs.
///
/// # Errors
/// Model errors, a hole outside the signal, or a non-finite loss (naming the step and lr).
pub fn fit_masked(fit: &MaskedFit, signal: &[f32], seed: u64) -> Result<FitResult> {
    let l = signal.len();
    let (lo, hi) = fit.hole;
    if lo >= hi || hi > l {
        bail!("fit_masked: hole [{lo}, {hi}) must lie inside the {l}-sample signal");
    }
    let cfg = AeConfig::masked(fit.pool).with_input_len(l);
    let mut ae = ConvAutoencoder::new(cfg, &mut Rng::stream(seed, "seed004-masked-init"))?;
    let x = Tensor::from_vec(
        Shape::d3(1, 1, l),
        signal.iter().map(|&v| v * fit.scale).collect(),
    )?;
    let mask = Tensor::from_vec(
        Shape::d1(l),
        (0..l)
            .map(|t| if (lo..hi).contains(&t) { 0.0 } else { 1.0 })
            .collect(),
    )?;
    let mut opt = Adagrad::new(AdagradConfig {
        lr: fit.lr,
        ..AdagradConfig::default()
    })?;
    let mut final_loss = f64::NAN;
    for step in 0..fit.steps {
        let mut tape = Tape::new();
        let xv = tape.input(x.clone());
        let y = ae.forward(&mut tape, &xv)?;
        let data = masked_mse(&mut tape, &y, &x, &mask, MaskNorm::AllElements)?;
        let mut params: Vec<Var<f32>> = Vec::new();
        ae.visit_params(&mut |p| params.push(tape.param(p)));
        let refs: Vec<&Var<f32>> = params.iter().collect();
        let pen = l2_penalty(&mut tape, &refs, fit.l2)?;
        let loss = ops::add(&mut tape, &data, &pen)?;
        final_loss = f64::from(loss.value().data()[0]);
        if !final_loss.is_finite() {
            bail!(
                "non-finite masked loss {final_loss} at step {step} (pool {}, lr {})",
                fit.pool,
                fit.lr
            );
        }
        let grads = tape.backward(&loss)?;
        ae.zero_grad();
        grads.accumulate_into(&mut ae)?;
        opt.step(&mut ae)?;
    }
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let recon = ae.forward(&mut tape, &xv)?.value().data().to_vec();
    let (inside, outside) = mask_errors(&recon, x.data(), lo, hi);
    Ok(FitResult {
        inside,
        outside,
        final_loss,
        recon,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A periodic signal, short net, few steps: the loss falls and both errors are finite;
    /// refusing a hole outside the signal.
    #[test]
    fn masked_fit_runs_and_reduces_the_loss() {
        let sig: Vec<f32> = (0..400)
            .map(|t| (t as f32 * 2.0 * std::f32::consts::PI / 50.0).sin() * 0.2)
            .collect();
        let mut fit = MaskedFit {
            pool: 3,
            steps: 1,
            hole: (100, 200),
            lr: 0.01,
            l2: 0.5,
            scale: 1000.0,
        };
        let first = fit_masked(&fit, &sig, 1).expect("fit");
        fit.steps = 30;
        let later = fit_masked(&fit, &sig, 1).expect("fit");
        assert!(
            later.final_loss < first.final_loss,
            "{} → {}",
            first.final_loss,
            later.final_loss
        );
        assert!(later.inside.is_finite() && later.outside.is_finite());
        fit.hole = (300, 500);
        assert!(fit_masked(&fit, &sig, 1).is_err());
    }
}
