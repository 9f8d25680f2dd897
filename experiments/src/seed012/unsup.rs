//! Helpers of the unsupervised-features experiment (seed 001): a beat-sized convolutional
//! autoencoder, feature extraction in batches, reconstruction errors, and the linear probe.
//!
//! **Autoencoder for beats.** `ConvAutoencoder` in Keras style on beats cropped to 184
//! samples (187 → 184 so three 2× poolings divide it: 184 → 92 → 46 → 23):
//! conv 16/k9 → BN → pool 2, conv 32/k7 → BN → pool 2, conv 32/k5 → BN → pool 2 → dense code
//! of 32; the decoder mirrors it. Trained with the mean squared reconstruction error
//! (1/(N·L))·Σ (x − x̂)², no labels.
//!
//! **Reconstruction error** of one beat: e = (1/L)·Σₜ (xₜ − x̂ₜ)² — the anomaly score "this beat
//! does not look like the beats the autoencoder learned from".
//!
//! **Linear probe.** Flatten → Linear(d → classes) on frozen features `[N, 1, d]`: the accuracy
//! a linear classifier reaches on the representation measures how linearly separable the
//! classes are in it.

use crate::data::batch::WindowDataset;
use crate::models::Module;
use crate::models::autograd::Tape;
use crate::models::autograd::engine::{Rng, Shape, Tensor};
use crate::models::layers::{Flatten, Linear, Sequential};
use crate::models::nets::conv_autoencoder::{DecoderBlock, EncoderBlock};
use crate::models::nets::{AeConfig, AeStyle};

/// Beat length the autoencoder uses (a multiple of 8).
pub const AE_LEN: usize = 184;

/// The beat autoencoder's configuration (see the module docs).
pub fn beat_ae_config() -> AeConfig {
    let enc = |channels, kernel| EncoderBlock {
        channels,
        kernel,
        pool: 2,
        batch_norm: true,
        dropout: 0.0,
    };
    let dec = |channels, kernel, batch_norm| DecoderBlock {
        channels,
        kernel,
        upsample: 2,
        batch_norm,
        dropout: 0.0,
    };
    AeConfig {
        name: "beat184".into(),
        input_len: AE_LEN,
        encoder: vec![enc(16, 9), enc(32, 7), enc(32, 5)],
        decoder: vec![dec(32, 5, true), dec(16, 7, true), dec(1, 9, false)],
        latent: Some(32),
        style: AeStyle::Keras,
        coordconv: false,
    }
}

/// The first `len` samples of every window (one channel).
///
/// # Errors
/// If the windows are shorter than `len` or have several channels.
pub fn crop(ds: &WindowDataset, len: usize) -> anyhow::Result<WindowDataset> {
    anyhow::ensure!(
        ds.channels == 1 && ds.length >= len,
        "crop: {} channels × {} samples, need 1 × ≥ {len}",
        ds.channels,
        ds.length
    );
    let mut samples = Vec::with_capacity(ds.len() * len);
    for i in 0..ds.len() {
        samples.extend_from_slice(&ds.window(i)[..len]);
    }
    Ok(WindowDataset {
        samples,
        length: len,
        source: format!("{} (first {len} samples)", ds.source),
        ..ds.clone()
    })
}

/// Runs `f` (an encoder on a no-grad tape, in evaluation mode) over `ds` in batches of 256 and
/// stacks the outputs, flattened per example: `(features [n·d], d)`.
///
/// # Errors
/// The encoder's errors; an empty dataset.
pub fn features<F>(ds: &WindowDataset, mut f: F) -> anyhow::Result<(Vec<f32>, usize)>
where
    F: FnMut(&mut Tape<f32>, Tensor<f32>) -> anyhow::Result<Tensor<f32>>,
{
    anyhow::ensure!(!ds.is_empty(), "features: empty dataset");
    let w = ds.channels * ds.length;
    let (mut out, mut d) = (Vec::new(), 0);
    for start in (0..ds.len()).step_by(256) {
        let b = 256.min(ds.len() - start);
        let x = Tensor::from_vec(
            Shape::d3(b, ds.channels, ds.length),
            ds.samples[start * w..(start + b) * w].to_vec(),
        )?;
        let mut tape = Tape::no_grad();
        let y = f(&mut tape, x)?;
        d = y.numel() / b;
        out.extend_from_slice(y.data());
    }
    Ok((out, d))
}

/// Per-window mean squared reconstruction error of `model` (an autoencoder, put in evaluation
/// mode here) on `ds`.
///
/// # Errors
/// Forward errors.
pub fn reconstruction_errors<M: Module>(
    model: &mut M,
    ds: &WindowDataset,
) -> anyhow::Result<Vec<f64>> {
    model.set_training(false);
    let (recon, d) = features(ds, |tape, x| {
        let xv = tape.input(x);
        Ok(model.forward(tape, &xv)?.value().clone())
    })?;
    anyhow::ensure!(
        d == ds.length,
        "reconstruction has {d} samples per window, input {}",
        ds.length
    );
    Ok(recon
        .chunks(d)
        .enumerate()
        .map(|(i, r)| {
            r.iter()
                .zip(ds.window(i))
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                / d as f64
        })
        .collect())
}

/// Features `[n·d]` as a dataset of `[1, d]` windows with the labels of `like`.
pub fn feature_dataset(feats: &[f32], d: usize, like: &WindowDataset) -> WindowDataset {
    WindowDataset {
        samples: feats.to_vec(),
        labels: like.labels.clone(),
        groups: like.groups.clone(),
        channels: 1,
        length: d,
        class_names: like.class_names.clone(),
        source: format!("{} → features ({d})", like.source),
    }
}

/// Standardises each feature column to zero mean and unit variance with the statistics of
/// `fit` (applied to `fit` and `other`), so no feature dominates distances by its scale.
pub fn standardise(fit: &mut [f32], other: &mut [f32], d: usize) {
    let n = (fit.len() / d.max(1)).max(1);
    for j in 0..d {
        let mean = fit
            .iter()
            .skip(j)
            .step_by(d)
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / n as f64;
        let var = fit
            .iter()
            .skip(j)
            .step_by(d)
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        let inv = 1.0 / var.sqrt().max(1e-8);
        for v in fit
            .iter_mut()
            .skip(j)
            .step_by(d)
            .chain(other.iter_mut().skip(j).step_by(d))
        {
            *v = ((f64::from(*v) - mean) * inv) as f32;
        }
    }
}

/// A linear probe: Flatten → `fc` Linear(d → classes), weights from `Rng::stream(seed, "probe")`.
///
/// # Errors
/// Zero sizes.
pub fn linear_probe(d: usize, classes: usize, seed: u64) -> anyhow::Result<Sequential> {
    let mut rng = Rng::stream(seed, "probe");
    Ok(Sequential::new()
        .with_named("flatten", Flatten)?
        .with_named("fc", Linear::new(d, classes, true, &mut rng)?)?)
}

/// Distance from every point to its `k`-th nearest other point (rows of `d` features): the
/// "k-distance" whose sorted curve's knee is the usual DBSCAN ε heuristic (Ester et al. 1996),
/// with `min_samples = k + 1` (the point itself counts). Brute force, O(n²·d).
///
/// # Errors
/// Fewer than k + 1 points, d = 0, or a length that is not a multiple of d.
pub fn k_distances(points: &[f64], d: usize, k: usize) -> anyhow::Result<Vec<f64>> {
    anyhow::ensure!(
        d > 0 && k > 0 && points.len().is_multiple_of(d) && points.len() / d > k,
        "k_distances: {} values, d = {d}, k = {k}",
        points.len()
    );
    let n = points.len() / d;
    Ok((0..n)
        .map(|i| {
            let pi = &points[i * d..(i + 1) * d];
            let mut dist: Vec<f64> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    pi.iter()
                        .zip(&points[j * d..(j + 1) * d])
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        .sqrt()
                })
                .collect();
            dist.select_nth_unstable_by(k - 1, f64::total_cmp);
            dist[k - 1]
        })
        .collect())
}

/// The `q`-quantile (0 ≤ q ≤ 1, nearest rank on the sorted values) of `v`; NaN when empty.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((q.clamp(0.0, 1.0) * (s.len() - 1) as f64).round() as usize).min(s.len() - 1);
    s[i]
}

/// Distance of each point to the nearest of `centres` (`[k, d]` row-major).
pub fn nearest_centre_distance(points: &[f64], centres: &[f64], d: usize) -> Vec<f64> {
    points
        .chunks(d)
        .map(|p| {
            centres
                .chunks(d)
                .map(|c| p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
                .fold(f64::INFINITY, f64::min)
                .sqrt()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::nets::ConvAutoencoder;

    fn toy(n: usize, len: usize) -> WindowDataset {
        WindowDataset {
            samples: (0..n * len).map(|t| (t as f32 * 0.05).sin()).collect(),
            labels: (0..n).map(|i| i % 2).collect(),
            groups: vec![0; n],
            channels: 1,
            length: len,
            class_names: vec!["a".into(), "b".into()],
            source: "toy".into(),
        }
    }

    #[test]
    fn autoencoder_shapes_and_errors() {
        let mut rng = Rng::new(1);
        let mut ae = ConvAutoencoder::new(beat_ae_config(), &mut rng).unwrap();
        let ds = crop(&toy(3, 187), AE_LEN).unwrap();
        assert_eq!(ds.length, 184);
        assert_eq!(ds.window(1), &toy(3, 187).window(1)[..184]);
        let e = reconstruction_errors(&mut ae, &ds).unwrap();
        assert_eq!(e.len(), 3);
        assert!(e.iter().all(|v| v.is_finite() && *v > 0.0));
        let (z, d) = features(&ds, |t, x| {
            let xv = t.input(x);
            Ok(ae.encode(t, &xv)?.value().clone())
        })
        .unwrap();
        assert_eq!((z.len(), d), (3 * 32, 32));
        assert!(crop(&ds, 200).is_err());
    }

    #[test]
    fn standardise_uses_fit_statistics() {
        let mut a = vec![1.0, 10.0, 3.0, 30.0];
        let mut b = vec![2.0, 20.0];
        standardise(&mut a, &mut b, 2);
        assert!((a[0] + 1.0).abs() < 1e-6 && (a[2] - 1.0).abs() < 1e-6);
        assert!(b[0].abs() < 1e-6 && b[1].abs() < 1e-6);
    }

    #[test]
    fn probe_maps_features_to_logits() {
        let mut p = linear_probe(5, 3, 1).unwrap();
        let mut tape = Tape::no_grad();
        let x = tape.input(Tensor::zeros(Shape::d3(4, 1, 5)));
        assert_eq!(p.forward(&mut tape, &x).unwrap().shape(), Shape::d2(4, 3));
        assert_eq!(crate::models::module::count_params(&mut p).total, 18);
    }

    #[test]
    fn k_distances_quantiles_and_centres_by_hand() {
        // Points on a line at 0, 1, 3, 7.
        let p = [0.0, 1.0, 3.0, 7.0];
        assert_eq!(k_distances(&p, 1, 1).unwrap(), vec![1.0, 1.0, 2.0, 4.0]);
        assert_eq!(k_distances(&p, 1, 2).unwrap(), vec![3.0, 2.0, 3.0, 6.0]);
        assert!(k_distances(&p, 1, 4).is_err());
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), 2.0);
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 1.0), 3.0);
        assert!(quantile(&[], 0.5).is_nan());
        let d = nearest_centre_distance(&[0.0, 0.0, 3.0, 4.0], &[0.0, 1.0, 3.0, 0.0], 2);
        assert_eq!(d, vec![1.0, 4.0]);
    }
}
