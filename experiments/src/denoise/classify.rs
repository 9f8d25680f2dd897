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
use serde_json::json;

use super::baselines::Baseline;
use super::run::denoise_with;
use crate::data::batch::WindowDataset;
use crate::data::resample::resample;
use crate::exp::Run;
use crate::metrics::{ConfusionMatrix, argmax_rows};
use crate::models::Module;
use crate::models::autograd::engine::Rng;
use crate::models::autograd::optim::{Adam, AdamConfig};
use crate::models::nets::Acdae;
use crate::models::nets::BeatCnn;
use crate::plot::{LinePlot, Series, SeriesStyle};
use crate::seed012::data::{BeatCaps, load_beat_split};
use crate::table::{Cell, Table};
use crate::train::classifier::{ClassLoss, ClassMetric, ClassifierOptions, fit_classifier};
use crate::train::{Goal, predict};

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

/// Part 2: a `BeatCnn` trained on clean beats, evaluated on noisy and denoised test beats
/// (white noise) per input SNR; writes `table_00_denoising_beats` and
/// `fig_00_denoising_accuracy`; returns what goes into metrics.json.
///
/// # Errors
/// Data, training, denoising and writing errors.
pub fn beat_accuracy(
    run: &mut Run,
    net: &Acdae,
    quick: bool,
    seed: u64,
) -> anyhow::Result<serde_json::Value> {
    let caps = BeatCaps {
        train_per_class: if quick { 150 } else { 2000 },
        test_per_class: if quick { 25 } else { 250 },
    };
    let (epochs, batch, lr) = (if quick { 3 } else { 15 }, 64, 1e-3);
    let levels: Vec<f64> = if quick {
        vec![-10.0, 0.0, 10.0, 20.0]
    } else {
        (-4..=4).map(|i| f64::from(i) * 5.0).collect()
    };
    let split = load_beat_split(run.source(), caps, quick, seed)?;
    let k = split.train.class_names.len();
    let mut model = BeatCnn::new(seed, k)?;
    let mut opt = Adam::new(AdamConfig {
        lr,
        ..AdamConfig::adam()
    })?;
    let mut tc = crate::train::TrainConfig::new(epochs, "macro_f1", Goal::Maximize);
    tc.quiet = true;
    let options = ClassifierOptions {
        balanced: true,
        ..ClassifierOptions::new(batch, ClassLoss::CrossEntropy, ClassMetric::MacroF1)
    };
    fit_classifier(
        &mut model,
        &mut opt,
        &split.train,
        &split.test,
        &mut tc,
        &options,
        seed,
    )?;
    model.set_training(false);
    let clean_acc = accuracy(&mut model, &split.test)?;
    let acc = accuracy_vs_snr(&mut model, net, &split.test, &levels, seed)?;
    let mut t = Table::new(
        "Beat classification (BeatCnn trained on clean beats): accuracy on noisy vs denoised test beats, white noise",
        &[
            "SNR in (dB)",
            "noisy",
            "ACDAE",
            "bandpass+median",
            "wavelet-db4-soft",
        ],
    );
    let mut fig = LinePlot::new(
        "Does denoising rescue a beat classifier? (white noise)",
        "input SNR (dB)",
        "accuracy (N/S/V/F)",
    );
    for (snr, row) in levels.iter().zip(&acc) {
        let mut cells = vec![Cell::num(*snr, 0)];
        cells.extend(row.iter().map(|&a| Cell::num(a, 3)));
        t.push(cells)?;
    }
    for (j, name) in VARIANTS.iter().enumerate() {
        let pts = levels.iter().zip(&acc).map(|(&s, r)| (s, r[j])).collect();
        fig = fig.with(Series::line(name, pts).color(j));
    }
    let span = (levels[0], levels[levels.len() - 1]);
    fig = fig.with(
        Series::line(
            "clean beats",
            vec![(span.0, clean_acc), (span.1, clean_acc)],
        )
        .style(SeriesStyle::Dashed)
        .color(7),
    );
    t.note(format!(
        "{}; {} training / {} test beats (4 classes, balanced sampling), {epochs} epochs; accuracy on clean test beats {clean_acc:.3}. White noise at a power-ratio SNR per beat. The ACDAE (trained on 360 Hz two-lead windows) sees each 125 Hz beat resampled to 360 Hz and duplicated on both leads — a domain shift.",
        split.source,
        split.train.len(),
        split.test.len()
    ));
    run.table(&t, "table_00_denoising_beats")?;
    run.figure(
        &fig,
        "fig_00_denoising_accuracy",
        "BeatCnn accuracy vs input SNR on noisy, ACDAE- and baseline-denoised beats",
    )?;
    for (snr, row) in levels.iter().zip(&acc) {
        run.summary(format!(
            "beat accuracy at {snr:+} dB: noisy {:.3}, ACDAE {:.3}, bandpass+median {:.3}, wavelet {:.3} (clean {clean_acc:.3})",
            row[0], row[1], row[2], row[3]
        ));
    }
    Ok(json!({
        "data": split.source, "train_beats": split.train.len(), "test_beats": split.test.len(),
        "epochs": epochs, "batch": batch, "lr": lr, "train_per_class": caps.train_per_class,
        "test_per_class": caps.test_per_class, "snr_levels_db": levels, "noise": "white",
        "clean_accuracy": clean_acc, "accuracy": acc, "variants": VARIANTS,
    }))
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
