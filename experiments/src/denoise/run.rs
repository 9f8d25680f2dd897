//! Training `Acdae` on noisy/clean segment pairs and evaluating it, with the classical
//! baselines, per noise type and input SNR.
//!
//! **Training data.** Every epoch each training segment is corrupted afresh: a noise type drawn
//! uniformly from {white, bw, em, ma}, an SNR drawn uniformly from that type's range (white
//! −20…+20 dB, NSTDB −6…+24 dB), noise from the *training* half of the noise record. Input and
//! target are normalised with the noisy segment's parameters ([`super::segments::normalise`]).
//! Loss: MSE on the normalised scale; Adam.
//!
//! **Evaluation.** For each noise type and each SNR level of [`NoiseType::snr_levels`], every
//! test segment (from test patients) is corrupted with noise from the *test* half, denoised by
//! the network (output mapped back to mV) and by each baseline, and scored with
//! [`crate::metrics::denoise_scores`] over both leads. Seeds are derived from (type, level,
//! segment), so every method sees the very same noisy input.

use anyhow::{Result, bail};
use ecgrad_engine::rng::Rng;
use ecgrad_engine::{Shape, Tensor};
use ecgrad_models::autograd::loss::{Reduction, mse};
use ecgrad_models::autograd::optim::{Adam, AdamConfig};
use ecgrad_models::autograd::{Optimizer, Parameters, Tape};
use ecgrad_models::nets::Acdae;

use super::baselines::Baseline;
use super::noise::{NoiseRecord, NoiseType, Part, corrupt};
use super::segments::{Segments, apply_norm, denormalise, normalise};
use crate::metrics::{DenoiseScores, denoise_scores};

/// Training hyper-parameters (all written to `metrics.json`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainConfig {
    /// Passes over the training segments.
    pub epochs: usize,
    /// Segments per mini-batch.
    pub batch: usize,
    /// Adam learning rate (betas 0.9/0.999, eps 1e-8, no weight decay).
    pub lr: f64,
    /// Seed of the noise draws and the shuffling.
    pub seed: u64,
}

/// The noise records by type (`None` for white noise).
pub type NoiseBank = Vec<(NoiseType, Option<NoiseRecord>)>;

fn record_of(bank: &NoiseBank, kind: NoiseType) -> Option<&NoiseRecord> {
    bank.iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, r)| r.as_ref())
}

/// Uniform SNR range of a noise type for training.
fn train_range(kind: NoiseType) -> (f64, f64) {
    match kind {
        NoiseType::White => (-20.0, 20.0),
        _ => (-6.0, 24.0),
    }
}

/// Trains `net` in place; returns the mean training loss of each epoch.
///
/// # Errors
/// Noise or model errors; a non-finite loss, named with its epoch and step.
pub fn train_acdae(
    net: &mut Acdae,
    train: &Segments,
    bank: &NoiseBank,
    cfg: &TrainConfig,
    mut on_epoch: impl FnMut(usize, f64),
) -> Result<Vec<f64>> {
    let mut opt = Adam::new(AdamConfig {
        lr: cfg.lr,
        ..AdamConfig::adam()
    })?;
    let mut rng = Rng::stream(cfg.seed, "denoise-train");
    let l = train.len;
    let mut curve = Vec::new();
    for epoch in 0..cfg.epochs {
        let mut order: Vec<usize> = (0..train.count()).collect();
        rng.shuffle(&mut order);
        let (mut sum, mut steps) = (0.0, 0usize);
        for chunk in order.chunks(cfg.batch.max(1)) {
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for &i in chunk {
                let kind = NoiseType::ALL[rng.below(4)];
                let (lo, hi) = train_range(kind);
                let snr = rng.uniform_range(lo, hi);
                let clean = &train.x[i];
                let mut noisy = corrupt(
                    clean,
                    kind,
                    record_of(bank, kind),
                    Part::Train,
                    snr,
                    &mut rng,
                )?;
                let norm = normalise(&mut noisy);
                let mut target = clean.clone();
                apply_norm(&mut target, norm);
                xs.extend(noisy);
                ys.extend(target);
            }
            let shape = Shape::d3(chunk.len(), 2, l);
            let (x, y) = (Tensor::from_vec(shape, xs)?, Tensor::from_vec(shape, ys)?);
            let grads = {
                let mut tape = Tape::new();
                let xv = tape.input(x);
                let out = ecgrad_models::Module::forward(net, &mut tape, &xv)?;
                let loss = mse(&mut tape, &out, &y, Reduction::Mean)?;
                let v = loss.value().data()[0] as f64;
                if !v.is_finite() {
                    bail!(
                        "table_00_denoising: non-finite training loss {v} at epoch {epoch}, step {steps}"
                    );
                }
                sum += v;
                tape.backward(&loss)?
            };
            net.zero_grad();
            grads.accumulate_into(net)?;
            opt.step(net)?;
            steps += 1;
        }
        let mean = sum / steps.max(1) as f64;
        on_epoch(epoch, mean);
        curve.push(mean);
    }
    Ok(curve)
}

/// Denoises noisy two-lead segments (each 2·L values, mV) with the network, in batches, on a
/// `no_grad` tape; outputs in mV.
///
/// # Errors
/// Model shape errors.
pub fn denoise_with(net: &Acdae, noisy: &[Vec<f32>], len: usize) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(noisy.len());
    for chunk in noisy.chunks(32) {
        let mut xs = Vec::with_capacity(chunk.len() * 2 * len);
        let mut norms = Vec::with_capacity(chunk.len());
        for seg in chunk {
            let mut v = seg.clone();
            norms.push(normalise(&mut v));
            xs.extend(v);
        }
        let mut tape = Tape::no_grad();
        let x = tape.input(Tensor::from_vec(Shape::d3(chunk.len(), 2, len), xs)?);
        let y = ecgrad_models::Module::forward(net, &mut tape, &x)?;
        for (seg, norm) in y.value().data().chunks(2 * len).zip(norms) {
            let mut v = seg.to_vec();
            denormalise(&mut v, norm);
            out.push(v);
        }
    }
    Ok(out)
}

/// Denoises one two-lead segment with a classical method (lead by lead).
///
/// # Errors
/// Filter design errors.
pub fn denoise_classical(method: Baseline, noisy: &[f32], fs: f64) -> Result<Vec<f32>> {
    let l = noisy.len() / 2;
    let mut out = Vec::with_capacity(noisy.len());
    for lead in noisy.chunks(l.max(1)) {
        out.extend(method.apply(lead, fs)?);
    }
    Ok(out)
}

/// The denoisers compared.
pub const METHODS: [&str; 4] = [
    "noisy input",
    "ACDAE",
    "bandpass+median",
    "wavelet-db4-soft",
];

/// Per-segment metrics of one (noise type, input SNR) condition, per method in [`METHODS`]
/// order.
#[derive(Clone, Debug)]
pub struct Condition {
    /// Noise type.
    pub kind: NoiseType,
    /// Nominal input SNR (dB).
    pub snr_db: f64,
    /// `metrics[m][s]`: method m, segment s.
    pub metrics: Vec<Vec<DenoiseScores>>,
}

/// Deterministic seed of one (type, level, segment) corruption.
pub fn corruption_seed(seed: u64, kind: NoiseType, snr_db: f64, segment: usize) -> Rng {
    Rng::stream(
        seed ^ (segment as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        &format!("denoise-test-{}-{snr_db}", kind.name()),
    )
}

/// Corrupts every test segment for one condition (test half of the noise).
///
/// # Errors
/// As [`corrupt`].
pub fn corrupt_test(
    test: &Segments,
    bank: &NoiseBank,
    kind: NoiseType,
    snr_db: f64,
    seed: u64,
) -> Result<Vec<Vec<f32>>> {
    test.x
        .iter()
        .enumerate()
        .map(|(i, clean)| {
            let mut rng = corruption_seed(seed, kind, snr_db, i);
            corrupt(
                clean,
                kind,
                record_of(bank, kind),
                Part::Test,
                snr_db,
                &mut rng,
            )
        })
        .collect()
}

/// Evaluates the network and the baselines on every condition.
///
/// # Errors
/// Noise, filter or model errors.
pub fn evaluate(
    net: &Acdae,
    test: &Segments,
    bank: &NoiseBank,
    seed: u64,
) -> Result<Vec<Condition>> {
    let mut out = Vec::new();
    for kind in NoiseType::ALL {
        for snr_db in kind.snr_levels() {
            let noisy = corrupt_test(test, bank, kind, snr_db, seed)?;
            let net_out = denoise_with(net, &noisy, test.len)?;
            let mut metrics = vec![Vec::new(); METHODS.len()];
            for (i, clean) in test.x.iter().enumerate() {
                let y = &noisy[i];
                metrics[0].push(denoise_scores(clean, y, y)?);
                metrics[1].push(denoise_scores(clean, y, &net_out[i])?);
                for (m, b) in Baseline::ALL.iter().enumerate() {
                    let d = denoise_classical(*b, y, test.fs)?;
                    metrics[2 + m].push(denoise_scores(clean, y, &d)?);
                }
            }
            out.push(Condition {
                kind,
                snr_db,
                metrics,
            });
        }
    }
    Ok(out)
}

/// Mean and (population) standard deviation; `(NaN, NaN)` for an empty slice.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    (m, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_by_hand() {
        assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 1.0));
        assert_eq!(mean_std(&[5.0]), (5.0, 0.0));
        assert!(mean_std(&[]).0.is_nan());
    }
}
