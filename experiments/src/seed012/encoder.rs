//! A SimCLR-style contrastive encoder for single beats: `BeatCnn`'s convolution stack
//! (conv1 … bn3 → ReLU) with global average pooling gives the 128-d representation h; a
//! two-layer projection head g gives z = g(h) on which NT-Xent is computed
//! ([`super::contrastive::nt_xent`]). After training, h (not z) is the feature used for
//! clustering, anomaly scores and linear probes, as in SimCLR.
//!
//! ```text
//! x [N, 1, 187] → BeatCnnFeatures → [N, 128, 46] → mean over time → h [N, 128]
//! h → proj1 Linear(128→128) → ReLU → proj2 Linear(128→d) → z [N, d]
//! ```
//! Views: each beat is augmented twice with the seed-000 signal augmentations (time-warp,
//! amplitude scaling, additive noise; no flips) by [`augment_batch`].
//! Cost: two forward/backward passes of `BeatCnn`'s stack per step plus the (2N)²·d
//! similarity matrix.

use crate::data::signal::{AugmentConfig, augment_window};
use crate::models::autograd::engine::{Rng, Tensor};
use crate::models::autograd::{Buffer, Param, Parameters, Tape, Var, ops};
use crate::models::layers::{Linear, Relu};
use crate::models::module::{Module, prefix_names};
use crate::models::nets::BeatCnnFeatures;
use crate::models::nets::cnn_classifier::FEATURE_CHANNELS;

/// The encoder and its projection head (see the module docs).
#[derive(Clone, Debug)]
pub struct ContrastiveEncoder {
    /// conv1 … bn3 (names at the top level, as in `BeatCnn`).
    pub features: BeatCnnFeatures,
    /// Linear(128→128).
    pub proj1: Linear,
    /// Linear(128→d).
    pub proj2: Linear,
}

impl ContrastiveEncoder {
    /// A fresh encoder with a `proj_dim`-dimensional projection, weights from
    /// `Rng::stream(seed, "init")`.
    ///
    /// # Errors
    /// An invalid-parameter error for `proj_dim = 0`.
    pub fn new(seed: u64, proj_dim: usize) -> crate::models::Result<ContrastiveEncoder> {
        let mut rng = Rng::stream(seed, "init");
        let features = BeatCnnFeatures::new(&mut rng)?;
        let mut proj1 = Linear::new(FEATURE_CHANNELS, FEATURE_CHANNELS, true, &mut rng)?;
        prefix_names(&mut proj1, "proj1");
        let mut proj2 = Linear::new(FEATURE_CHANNELS, proj_dim, true, &mut rng)?;
        prefix_names(&mut proj2, "proj2");
        Ok(ContrastiveEncoder {
            features,
            proj1,
            proj2,
        })
    }

    /// The representation h `[N, 128]` (features, then the mean over time).
    ///
    /// # Errors
    /// Shape errors unless x is `[N, 1, L]`.
    pub fn embed(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> crate::models::Result<Var<f32>> {
        let f = self.features.forward(tape, x)?;
        Ok(ops::mean_axis(tape, &f, 2)?)
    }
}

impl Parameters<f32> for ContrastiveEncoder {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.features.visit_params(f);
        self.proj1.visit_params(f);
        self.proj2.visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.features.visit_buffers(f);
    }
}

impl Module for ContrastiveEncoder {
    /// The projection z `[N, d]`.
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> crate::models::Result<Var<f32>> {
        let h = self.embed(tape, x)?;
        let h = self.proj1.forward(tape, &h)?;
        let h = Relu.forward(tape, &h)?;
        self.proj2.forward(tape, &h)
    }
    fn set_training(&mut self, training: bool) {
        self.features.set_training(training);
    }
    fn describe(&self) -> String {
        format!(
            "ContrastiveEncoder(BeatCnnFeatures → GAP → 128 → {})",
            self.proj2.out_features()
        )
    }
}

/// Augments every window of an NCL batch `[N, C, L]` independently (see [`augment_window`]).
///
/// # Errors
/// Rank errors, or invalid augmentation strengths.
pub fn augment_batch(
    x: &Tensor<f32>,
    cfg: &AugmentConfig,
    rng: &mut Rng,
) -> anyhow::Result<Tensor<f32>> {
    let (n, c, l) = x.shape().dims3("augment_batch", "x")?;
    let mut out = Vec::with_capacity(n * c * l);
    for w in x.data().chunks(c * l) {
        out.extend(augment_window(w, c, l, cfg, rng)?);
    }
    Ok(Tensor::from_vec(x.shape(), out)?)
}

/// The NT-Xent loss of one batch: two augmented views through `model`, temperature τ.
///
/// # Errors
/// Augmentation, forward and loss errors.
pub fn contrastive_step_loss(
    model: &ContrastiveEncoder,
    tape: &mut Tape<f32>,
    x: &Tensor<f32>,
    cfg: &AugmentConfig,
    temperature: f64,
    rng: &mut Rng,
) -> anyhow::Result<Var<f32>> {
    let a = tape.input(augment_batch(x, cfg, rng)?);
    let b = tape.input(augment_batch(x, cfg, rng)?);
    let za = model.forward(tape, &a)?;
    let zb = model.forward(tape, &b)?;
    Ok(super::contrastive::nt_xent(tape, &za, &zb, temperature)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::autograd::Optimizer;
    use crate::models::autograd::engine::Shape;
    use crate::models::autograd::optim::{Adam, AdamConfig};

    #[test]
    fn shapes_names_and_a_few_steps_lower_the_loss() {
        let mut m = ContrastiveEncoder::new(3, 16).unwrap();
        let mut names = Vec::new();
        m.visit_params(&mut |p| names.push(p.name.to_string()));
        assert!(names.contains(&"conv1.weight".to_string()));
        assert!(names.contains(&"proj2.bias".to_string()));
        // 8 distinct "beats": sinusoids of different frequencies.
        let data: Vec<f32> = (0..8)
            .flat_map(|k| (0..64).map(move |t| ((k + 1) as f32 * 0.1 * t as f32).sin()))
            .collect();
        let x = Tensor::from_vec(Shape::d3(8, 1, 64), data).unwrap();
        let mut tape = Tape::no_grad();
        let xv = tape.input(x.clone());
        assert_eq!(m.embed(&mut tape, &xv).unwrap().shape(), Shape::d2(8, 128));
        assert_eq!(m.forward(&mut tape, &xv).unwrap().shape(), Shape::d2(8, 16));
        let cfg = AugmentConfig {
            noise_snr_db: Some(30.0),
            ..AugmentConfig::default()
        };
        let mut opt = Adam::new(AdamConfig {
            lr: 3e-3,
            ..AdamConfig::adam()
        })
        .unwrap();
        let mut rng = Rng::new(9);
        let mut losses = Vec::new();
        for _ in 0..25 {
            let mut tape = Tape::new();
            let l = contrastive_step_loss(&m, &mut tape, &x, &cfg, 0.5, &mut rng).unwrap();
            losses.push(l.value().data()[0]);
            let g = tape.backward(&l).unwrap();
            m.visit_params(&mut |p| p.grad = None);
            g.accumulate_into(&mut m).unwrap();
            opt.step(&mut m).unwrap();
        }
        let first: f32 = losses[..5].iter().sum::<f32>() / 5.0;
        let last: f32 = losses[20..].iter().sum::<f32>() / 5.0;
        assert!(last < first, "loss did not fall: {losses:?}");
    }
}
