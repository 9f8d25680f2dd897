//! # What one trained model is: protocol, network, loss, augmentation, hyper-parameters — and
//! where its checkpoint lives
//!
//! The five binaries of seed 003 share trained models through a **checkpoint cache** under the
//! output root (default `results/table_03_models/models/`): one
//! `<protocol>_<model>_<loss>_<gan>_s<seed>[_quick]_<hash>.safetensors` per trained model, with
//! a `.json` beside it (hyper-parameters, training history, training time). The hash
//! ([`TrainSpec::key`]) covers everything that changes the weights — protocol, network, loss
//! with its parameters, GAN ratio, seed, quick, hyper-parameters and the data description — so
//! a changed setting never silently reuses an old model. A binary trains only the models whose
//! checkpoint is missing; delete the folder to retrain everything.
//!
//! Losses (the class-imbalance ablation):
//! - `ce`: plain softmax cross-entropy;
//! - `wce`: cross-entropy with class weights w_c = n / (k·n_c) from the training counts
//!   (scikit-learn's "balanced");
//! - `focal`: focal loss −α_y (1 − p_y)^γ log p_y with α = 1 for every class and γ = 2
//!   (Lin et al.'s γ; α all ones so that the loss variant isolates the focusing term).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::protocol::Protocol;
use super::zoo::ModelKind;
use crate::data::batch::fnv1a64;

/// The training loss of a model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum LossKind {
    /// Plain cross-entropy.
    Ce,
    /// Class-weighted cross-entropy (weights n / (k·n_c)).
    WeightedCe,
    /// Focal loss with α = 1 and this γ.
    Focal {
        /// Focusing parameter γ.
        gamma: f64,
    },
}

impl LossKind {
    /// The default focal γ.
    pub const FOCAL_GAMMA: f64 = 2.0;

    /// Name in files and tables (`"ce"`, `"wce"`, `"focal"`).
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Ce => "ce",
            LossKind::WeightedCe => "wce",
            LossKind::Focal { .. } => "focal",
        }
    }

    /// Parses a name; focal gets γ = [`LossKind::FOCAL_GAMMA`].
    ///
    /// # Errors
    /// For an unknown name.
    pub fn parse(s: &str) -> anyhow::Result<LossKind> {
        match s {
            "ce" => Ok(LossKind::Ce),
            "wce" => Ok(LossKind::WeightedCe),
            "focal" => Ok(LossKind::Focal {
                gamma: LossKind::FOCAL_GAMMA,
            }),
            _ => anyhow::bail!("unknown loss `{s}` (expected ce, wce or focal)"),
        }
    }

    /// A description for tables: `"CE"`, `"weighted CE (n/(k·n_c))"`, `"focal (α=1, γ=2)"`.
    pub fn display(self) -> String {
        match self {
            LossKind::Ce => "CE".into(),
            LossKind::WeightedCe => "weighted CE (w=n/(k·n_c))".into(),
            LossKind::Focal { gamma } => format!("focal (α=1, γ={gamma})"),
        }
    }
}

/// Optimisation settings of one training run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hyper {
    /// Maximum epochs.
    pub epochs: usize,
    /// Early-stopping patience in epochs (on validation macro-F1).
    pub patience: Option<usize>,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Adam learning rate (β = (0.9, 0.999), ε = 1e-8, no weight decay).
    pub lr: f64,
    /// Cap on training beats per epoch (a seeded random subset each run; `None` = all).
    pub max_train: Option<usize>,
    /// Cosine annealing of the rate from `lr` to `lr · f` over `epochs` (`None`: constant).
    pub cosine_floor: Option<f64>,
}

impl Hyper {
    /// The full configuration: 12 epochs, batch 128, Adam lr 1e-3 annealed by a cosine to
    /// 1e-5, no early stopping (the best validation epoch is kept).
    ///
    /// The paper states none of these. 12 epochs of ~590 steps (75 598 intra-patient training
    /// beats) is ~7 000 Adam steps, and the grid then fits in about an hour per core on 2
    /// cores. At a constant rate the validation macro-F1 of the CNN swung between 0.73 and 0.86
    /// from epoch to epoch (a first run); the annealing lets the last epochs settle.
    pub fn full() -> Hyper {
        Hyper {
            epochs: 12,
            patience: None,
            batch_size: 128,
            lr: 1e-3,
            max_train: None,
            cosine_floor: Some(0.01),
        }
    }

    /// The `--quick` configuration: 2 epochs, batch 32, lr 2e-3.
    pub fn quick() -> Hyper {
        Hyper {
            epochs: 2,
            patience: None,
            batch_size: 32,
            lr: 2e-3,
            max_train: None,
            cosine_floor: None,
        }
    }
}

/// Everything that determines one trained model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainSpec {
    /// Train/test protocol.
    pub protocol: Protocol,
    /// Network.
    pub model: ModelKind,
    /// Loss.
    pub loss: LossKind,
    /// GAN augmentation of the minority classes (`None`: no augmentation).
    pub gan: Option<GanConfig>,
    /// Seed of initialisation, batches and GAN.
    pub seed: u64,
    /// `--quick` run.
    pub quick: bool,
    /// Hyper-parameters.
    pub hyper: Hyper,
    /// Description of the data and split (part of the cache key).
    pub data: String,
}

impl TrainSpec {
    /// The readable part of the file name.
    pub fn stem(&self) -> String {
        let gan = match &self.gan {
            Some(g) => format!("gan{}", (g.ratio * 100.0).round() as u64),
            None => "nogan".into(),
        };
        format!(
            "{}_{}_{}_{}_s{}{}",
            self.protocol.name(),
            self.model.name(),
            self.loss.name(),
            gan,
            self.seed,
            if self.quick { "_quick" } else { "" }
        )
    }

    /// The cache key: the stem and an FNV-1a hash of the whole spec (JSON).
    pub fn key(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| format!("{self:?}"));
        format!("{}_{:08x}", self.stem(), fnv1a64(json.as_bytes()) as u32)
    }

    /// `(checkpoint, sidecar json)` paths in the cache folder `dir`.
    pub fn paths(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let k = self.key();
        (
            dir.join(format!("{k}.safetensors")),
            dir.join(format!("{k}.json")),
        )
    }

    /// A label for logs and tables: `"CNN-LSTM / focal / GAN"`.
    pub fn label(&self) -> String {
        format!(
            "{} {} / {}{}",
            self.protocol.name(),
            self.model.display(),
            self.loss.name(),
            if self.gan.is_some() { " / GAN" } else { "" }
        )
    }
}

/// Settings of the per-class GANs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GanConfig {
    /// Target: each minority class is raised to `ratio` × the N count.
    pub ratio: f64,
    /// Training steps per class.
    pub steps: usize,
    /// Real beats per step.
    pub batch: usize,
    /// Adam learning rate of both nets.
    pub lr: f64,
    /// Latent dimension.
    pub latent: usize,
}

impl GanConfig {
    /// Full runs: ratio 0.15, 1500 steps of 64 beats, lr 2e-4, latent 32.
    pub fn full(ratio: f64) -> GanConfig {
        GanConfig {
            ratio,
            steps: 1500,
            batch: 64,
            lr: 2e-4,
            latent: 32,
        }
    }

    /// `--quick`: 10 steps of 16 beats.
    pub fn quick(ratio: f64) -> GanConfig {
        GanConfig {
            steps: 10,
            batch: 16,
            ..GanConfig::full(ratio)
        }
    }
}

/// Class weights n / (k·n_c) over the classes present (k of them); absent classes get 0.
pub fn balanced_class_weights(counts: &[usize]) -> Vec<f32> {
    let n: usize = counts.iter().sum();
    let k = counts.iter().filter(|&&c| c > 0).count().max(1);
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (n as f64 / (k as f64 * c as f64)) as f32
            }
        })
        .collect()
}
