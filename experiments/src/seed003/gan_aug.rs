//! # GAN augmentation of the minority classes (S, V, F)
//!
//! For each minority class c, one [`Generator`]/[`Discriminator`] pair (`ecgrad_models`'s
//! DCGAN-style `Gan1d`, non-saturating BCE loss, Adam lr 2·10⁻⁴, β = (0.5, 0.999) for both
//! nets) is trained on **the training beats of class c only** — never on validation or test
//! beats — for a fixed number of steps of mini-batches drawn with replacement. Then
//!
//! ```text
//! generated_c = max(0, ⌈ratio · n_N⌉ − n_c)
//! ```
//! beats are sampled and added to the training set with label c (record `"gan"`), so that each
//! minority class reaches `ratio` × the number of N beats (nothing is added to a class already
//! above it). Beats are stored in \[0, 1\] (min–max); the GAN works on 2x − 1 (its tanh output
//! range) and its samples are mapped back with (y + 1)/2 and min–max normalised like the real
//! beats.
//!
//! Cost per step: ≈ 3 · (1.5 + 2·1.3) MFLOP per beat of the batch (G forward/backward twice,
//! D on real and fake).

use std::time::Instant;

use anyhow::Result;
use ecgrad_engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::optim::{Adam, AdamConfig};
use ecgrad_models::nets::gan::{Discriminator, Gan1dConfig, GanLoss, Generator, gan_step};
use serde::Serialize;

use super::protocol::{BEAT_LEN, Part};
use super::spec::GanConfig;
use crate::data::windows::{Normalisation, normalise};

/// Minority classes augmented (S, V, F).
pub const MINORITY: [usize; 3] = [1, 2, 3];

/// How many beats to generate per class: `max(0, ⌈ratio·n_N⌉ − n_c)` for the minority classes
/// present in training, 0 for the others.
pub fn beats_to_generate(counts: &[usize], ratio: f64) -> Vec<usize> {
    let n_normal = counts.first().copied().unwrap_or(0) as f64;
    let target = (ratio * n_normal).ceil().max(0.0) as usize;
    counts
        .iter()
        .enumerate()
        .map(|(c, &n)| {
            if MINORITY.contains(&c) && n > 0 {
                target.saturating_sub(n)
            } else {
                0
            }
        })
        .collect()
}

/// What the GAN of one class did.
#[derive(Clone, Debug, Serialize)]
pub struct GanClassReport {
    /// Class name.
    pub class: String,
    /// Real training beats of the class.
    pub real: usize,
    /// Beats generated and added.
    pub generated: usize,
    /// Training steps.
    pub steps: usize,
    /// Mean discriminator and generator losses over the last 10 % of steps.
    pub final_d_loss: f64,
    /// See `final_d_loss`.
    pub final_g_loss: f64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Real and generated example beats of one class, for the figure.
#[derive(Clone, Debug)]
pub struct GanExamples {
    /// Class index.
    pub class: usize,
    /// A few real training beats, each `BEAT_LEN` long.
    pub real: Vec<Vec<f32>>,
    /// A few generated beats.
    pub generated: Vec<Vec<f32>>,
}

/// Trains the GAN of one class on `beats` (each `BEAT_LEN` values in \[0, 1\]) and returns
/// `n_out` generated beats in \[0, 1\].
///
/// # Errors
/// If `beats` is empty; errors of the networks.
pub fn train_and_sample(
    beats: &[&[f32]],
    n_out: usize,
    cfg: &GanConfig,
    seed: u64,
) -> Result<(Vec<Vec<f32>>, f64, f64)> {
    anyhow::ensure!(!beats.is_empty(), "GAN: no real beats to learn from");
    let mut rng = Rng::stream(seed, "seed003_gan");
    let mut generator = Generator::new(Gan1dConfig { latent: cfg.latent }, &mut rng)?;
    let mut disc = Discriminator::new(&mut rng)?;
    let adam = AdamConfig {
        lr: cfg.lr,
        betas: (0.5, 0.999),
        ..AdamConfig::adam()
    };
    let (mut opt_g, mut opt_d) = (Adam::new(adam.clone())?, Adam::new(adam)?);
    let tail = (cfg.steps / 10).max(1);
    let (mut d_sum, mut g_sum) = (0.0f64, 0.0f64);
    for step in 0..cfg.steps {
        let mut x = Vec::with_capacity(cfg.batch * BEAT_LEN);
        for _ in 0..cfg.batch {
            let b = beats[rng.below(beats.len())];
            x.extend(b.iter().map(|&v| 2.0 * v - 1.0));
        }
        let real = Tensor::from_vec(Shape::d3(cfg.batch, 1, BEAT_LEN), x)?;
        let s = gan_step(
            &mut generator,
            &mut disc,
            &mut opt_g,
            &mut opt_d,
            &real,
            GanLoss::Bce,
            &mut rng,
        )?;
        anyhow::ensure!(
            s.d_loss.is_finite() && s.g_loss.is_finite(),
            "GAN step {}: non-finite loss (D {}, G {})",
            step + 1,
            s.d_loss,
            s.g_loss
        );
        if step + tail >= cfg.steps {
            d_sum += f64::from(s.d_loss);
            g_sum += f64::from(s.g_loss);
        }
    }
    let mut out = Vec::with_capacity(n_out);
    let chunk = 256;
    while out.len() < n_out {
        let n = chunk.min(n_out - out.len());
        let y = generator.generate(n, &mut rng)?;
        for w in y.data().chunks_exact(BEAT_LEN) {
            let mut beat: Vec<f32> = w.iter().map(|&v| (v + 1.0) / 2.0).collect();
            normalise(&mut beat, Normalisation::MinMax);
            out.push(beat);
        }
    }
    let steps_in_tail = tail.min(cfg.steps).max(1) as f64;
    Ok((out, d_sum / steps_in_tail, g_sum / steps_in_tail))
}

/// The training part with GAN beats added (see the module docs), a report per class and a
/// few example beats per class (`examples` real and generated).
///
/// # Errors
/// Errors of the GAN training.
pub fn augment(
    train: &Part,
    cfg: &GanConfig,
    seed: u64,
    examples: usize,
) -> Result<(Part, Vec<GanClassReport>, Vec<GanExamples>)> {
    let counts = train.data.class_counts();
    let extra = beats_to_generate(&counts, cfg.ratio);
    let mut out = train.clone();
    let gan_group = train.data.groups.iter().copied().max().map_or(0, |g| g + 1);
    let (mut reports, mut figs) = (Vec::new(), Vec::new());
    for &c in MINORITY.iter().filter(|&&c| c < counts.len()) {
        let beats: Vec<&[f32]> = (0..train.len())
            .filter(|&i| train.data.labels[i] == c)
            .map(|i| train.data.window(i))
            .collect();
        if beats.is_empty() {
            continue;
        }
        let start = Instant::now();
        let n_gen = extra[c].max(examples);
        let (generated, d, g) = train_and_sample(&beats, n_gen, cfg, seed ^ (c as u64 * 7_919))?;
        for (k, beat) in generated.iter().take(extra[c]).enumerate() {
            out.data.samples.extend_from_slice(beat);
            out.data.labels.push(c);
            out.data.groups.push(gan_group);
            out.record.push("gan".into());
            out.sample.push(k);
        }
        figs.push(GanExamples {
            class: c,
            real: beats.iter().take(examples).map(|b| b.to_vec()).collect(),
            generated: generated.into_iter().take(examples).collect(),
        });
        reports.push(GanClassReport {
            class: train.data.class_names[c].clone(),
            real: beats.len(),
            generated: extra[c],
            steps: cfg.steps,
            final_d_loss: d,
            final_g_loss: g,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    out.data.source = format!(
        "{} + GAN beats (minority classes to {} × N)",
        train.data.source, cfg.ratio
    );
    Ok((out, reports, figs))
}
