//! Does denoising rescue a beat classifier? A `BeatCnn` trained on clean MIT-BIH beats
//! (`[N, 1, 187]`, 125 Hz, from [`crate::seed012::data::load_beat_split`], trained with the
//! shared [`crate::train::classifier::fit_classifier`]) classifies test beats that were
//!
//! - corrupted by white Gaussian noise at an exact power-ratio SNR per beat
//!   (σ² = Σx² / (n·10^(SNR/10))),
//! - then left noisy, or denoised by the trained ACDAE, or by each classical baseline.
//!
//! The ACDAE was trained on two-lead 360 Hz windows, so each beat is resampled 125 → 360 Hz
//! ([`crate::data::resample::resample`]), edge-padded to a multiple of 8, fed as both leads,
//! and lead 1 of the output is resampled back and cropped to 187 samples. That is a domain
//! shift (single beats instead of 1.67-s windows, z-scored amplitude), stated in the table.
//! Cost: one network forward per beat and level, O(levels · beats · L).

use anyhow::Result;

use super::baselines::Baseline;
use super::run::denoise_with;
use crate::data::batch::WindowDataset;
use crate::data::resample::resample;
use crate::metrics::{ConfusionMatrix, argmax_rows};
use crate::models::Module;
use crate::models::autograd::engine::Rng;
use crate::models::nets::Acdae;
use crate::train::predict;

/// Sampling rate of the beats, Hz.
pub const BEAT_FS: f64 = 125.0;
/// Sampling rate the ACDAE was trained at, Hz.
pub const ACDAE_FS: f64 = 360.0;

/// The input variants, in column order.
pub const VARIANTS: [&str; 4] = ["noisy", "ACDAE", "bandpass+median", "wavelet-db4-soft"];

/// `x` plus white Gaussian noise at `snr_db` (power ratio over the beat).
pub fn add_white(x: &[f32], snr_db: f64, rng: &mut Rng) -> Vec<f32> {
    let p = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64;
    let sigma = (p / 10f64.powf(snr_db / 10.0)).sqrt();
    x.iter()
        .map(|&v| v + (sigma * rng.normal()) as f32)
        .collect()
}

/// Denoises single-lead 125 Hz beats with the ACDAE (see the module docs); same lengths out.
///
/// # Errors
/// Resampling or model errors.
pub fn acdae_beats(net: &Acdae, beats: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
    let mut segs = Vec::with_capacity(beats.len());
    let mut up_len = 0;
    let mut padded = 0;
    for b in beats {
        let up = resample(b, BEAT_FS, ACDAE_FS)?;
        up_len = up.len();
        padded = up_len.div_ceil(8) * 8;
        let last = up.last().copied().unwrap_or(0.0);
        let mut lead = up;
        lead.resize(padded, last);
        let mut two = lead.clone();
        two.extend_from_slice(&lead);
        segs.push(two);
    }
    if segs.is_empty() {
        return Ok(Vec::new());
    }
    let den = denoise_with(net, &segs, padded)?;
    den.iter()
        .zip(beats)
        .map(|(d, b)| {
            let mut back = resample(&d[..up_len], ACDAE_FS, BEAT_FS)?;
            let last = back.last().copied().unwrap_or(0.0);
            back.resize(b.len(), last);
            Ok(back)
        })
        .collect()
}

/// `test` with its samples replaced by `beats` (same order and labels).
fn with_beats(test: &WindowDataset, beats: &[Vec<f32>]) -> WindowDataset {
    let mut d = test.clone();
    d.samples = beats.concat();
    d
}

/// Accuracy of `model` on `data`.
///
/// # Errors
/// Model or shape errors.
pub fn accuracy<M: Module>(model: &mut M, data: &WindowDataset) -> Result<f64> {
    let logits = predict(model, data, 256)?;
    let k = data.class_names.len();
    Ok(ConfusionMatrix::new(&data.labels, &argmax_rows(&logits)?, k)?.accuracy())
}

/// Accuracy per input SNR (rows) and variant ([`VARIANTS`] order), test beats corrupted with
/// white noise from a seeded stream per level.
///
/// # Errors
/// Denoising, filter or model errors.
pub fn accuracy_vs_snr<M: Module>(
    model: &mut M,
    net: &Acdae,
    test: &WindowDataset,
    levels: &[f64],
    seed: u64,
) -> Result<Vec<[f64; 4]>> {
    let w = test.channels * test.length;
    let clean: Vec<Vec<f32>> = test.samples.chunks(w).map(<[f32]>::to_vec).collect();
    let mut out = Vec::with_capacity(levels.len());
    for &snr in levels {
        let mut rng = Rng::stream(seed, &format!("beat-noise-{snr}"));
        let noisy: Vec<Vec<f32>> = clean.iter().map(|b| add_white(b, snr, &mut rng)).collect();
        let mut row = [0.0; 4];
        row[0] = accuracy(model, &with_beats(test, &noisy))?;
        row[1] = accuracy(model, &with_beats(test, &acdae_beats(net, &noisy)?))?;
        for (j, b) in Baseline::ALL.iter().enumerate() {
            let den = noisy
                .iter()
                .map(|x| b.apply(x, BEAT_FS))
                .collect::<Result<Vec<_>>>()?;
            row[2 + j] = accuracy(model, &with_beats(test, &den))?;
        }
        out.push(row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_noise_hits_the_requested_snr() {
        let x: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin()).collect();
        let mut rng = Rng::new(3);
        let y = add_white(&x, 5.0, &mut rng);
        let snr = crate::metrics::snr_db(&x, &y).expect("snr");
        assert!((snr - 5.0).abs() < 0.3, "{snr}");
    }
}
