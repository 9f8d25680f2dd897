//! # Train a model of the zoo, or load it from the checkpoint cache
//!
//! [`train_or_load`] is the one place where seed-003 models are trained. For a [`TrainSpec`]
//! it looks for `<cache>/<key>.safetensors` and its `.json` sidecar; if both exist the weights
//! are loaded (strictly: every tensor, same shapes) and nothing is trained. Otherwise:
//!
//! 1. optional GAN augmentation of the training part ([`super::gan_aug`], training beats only);
//! 2. the loss: CE, class-weighted CE with w = n/(k·n_c) from the (augmented) training counts,
//!    or focal (α = 1, γ);
//! 3. Adam (lr from the spec, β = (0.9, 0.999); cosine annealing if the spec asks for it),
//!    shuffled mini-batches, infra's training loop
//!    (`train::fit_classifier`): validation macro-F1 after every epoch, early stopping with the
//!    spec's patience, best-epoch weights restored;
//! 4. the checkpoint (safetensors, atomic) and the sidecar JSON: spec, history (per-epoch
//!    training/validation loss, validation macro-F1, seconds), training time, class counts,
//!    class weights, GAN reports and a few real/generated example beats.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use ecgrad_engine::{Rng, Tensor};
use ecgrad_models::autograd::optim::{Adam, AdamConfig, CosineAnnealingLr};
use ecgrad_models::{Module, checkpoint};
use serde_json::{Value, json};

use super::gan_aug;
use super::protocol::{Part, Splits};
use super::spec::{LossKind, TrainSpec, balanced_class_weights};
use super::zoo::Net;
use crate::metrics::softmax_rows;
use crate::report::write_json;
use crate::train::classifier::{ClassLoss, ClassMetric, ClassifierOptions, fit_classifier};
use crate::train::{Goal, Schedule, TrainConfig, predict};

/// A model ready for evaluation.
#[derive(Debug)]
pub struct Trained {
    /// What it is.
    pub spec: TrainSpec,
    /// The network, in evaluation mode.
    pub net: Net,
    /// The sidecar JSON (history, timing, GAN reports…).
    pub sidecar: Value,
    /// True if it was loaded from the cache rather than trained now.
    pub from_cache: bool,
}

impl Trained {
    /// Training time in seconds (as recorded when it was trained).
    pub fn train_seconds(&self) -> f64 {
        self.sidecar["seconds"].as_f64().unwrap_or(f64::NAN)
    }
}

/// The loss of `spec` for training counts `counts`.
pub fn class_loss(loss: LossKind, counts: &[usize]) -> ClassLoss {
    match loss {
        LossKind::Ce => ClassLoss::CrossEntropy,
        LossKind::WeightedCe => ClassLoss::WeightedCrossEntropy(balanced_class_weights(counts)),
        LossKind::Focal { gamma } => ClassLoss::Focal { alpha: None, gamma },
    }
}

/// A seeded random subset of at most `max` beats (stratification is not needed: it only caps
/// the epoch cost of very large training sets).
fn cap(part: &Part, max: Option<usize>, seed: u64) -> Part {
    match max {
        Some(m) if part.len() > m => {
            let mut idx: Vec<usize> = (0..part.len()).collect();
            Rng::stream(seed, "seed003_max_train").shuffle(&mut idx);
            idx.truncate(m);
            idx.sort_unstable();
            part.subset(&idx)
        }
        _ => part.clone(),
    }
}

/// Loads the model of `spec` from `cache_dir`, or trains and caches it (see the module docs).
///
/// # Errors
/// Training errors (non-finite loss with epoch and step), checkpoint errors naming the file.
pub fn train_or_load(
    spec: &TrainSpec,
    splits: &Splits,
    cache_dir: &Path,
    quiet: bool,
) -> Result<Trained> {
    let classes = splits.protocol.classes();
    let (ckpt, side) = spec.paths(cache_dir);
    let mut net = Net::new(spec.model, spec.seed, classes)?;
    if ckpt.is_file() && side.is_file() {
        checkpoint::load(&mut net, &ckpt)?;
        net.set_training(false);
        let text = std::fs::read_to_string(&side)
            .with_context(|| format!("reading {}", side.display()))?;
        let sidecar: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", side.display()))?;
        return Ok(Trained {
            spec: spec.clone(),
            net,
            sidecar,
            from_cache: true,
        });
    }
    let start = Instant::now();
    let (train, gan_reports, gan_examples) = match &spec.gan {
        Some(cfg) => {
            let (aug, reports, ex) = gan_aug::augment(&splits.train, cfg, spec.seed, 6)?;
            let ex: Vec<Value> = ex
                .iter()
                .map(|e| json!({"class": e.class, "real": e.real, "generated": e.generated}))
                .collect();
            (aug, json!(reports), json!(ex))
        }
        None => (splits.train.clone(), Value::Null, Value::Null),
    };
    let train = cap(&train, spec.hyper.max_train, spec.seed);
    let counts = train.data.class_counts();
    let loss = class_loss(spec.loss, &counts);
    let mut opt = Adam::new(AdamConfig {
        lr: spec.hyper.lr,
        ..AdamConfig::adam()
    })?;
    let mut config = TrainConfig::new(spec.hyper.epochs, "macro_f1", Goal::Maximize);
    config.patience = spec.hyper.patience;
    if let Some(floor) = spec.hyper.cosine_floor {
        // T_max = epochs − 1, so the last epoch runs at exactly lr · floor.
        config.schedule = Schedule::PerEpoch(Box::new(CosineAnnealingLr {
            base_lr: spec.hyper.lr,
            t_max: spec.hyper.epochs.saturating_sub(1).max(1),
            eta_min: spec.hyper.lr * floor,
        }));
    }
    config.quiet = quiet;
    config.label = spec.label();
    let options = ClassifierOptions::new(spec.hyper.batch_size, loss.clone(), ClassMetric::MacroF1);
    let history = fit_classifier(
        &mut net,
        &mut opt,
        &train.data,
        &splits.val.data,
        &mut config,
        &options,
        spec.seed,
    )
    .with_context(|| format!("training {}", spec.label()))?;
    net.set_training(false);
    let seconds = start.elapsed().as_secs_f64();
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("cannot create the model cache {}", cache_dir.display()))?;
    checkpoint::save(&mut net, &ckpt)?;
    let sidecar = json!({
        "spec": spec,
        "key": spec.key(),
        "seconds": seconds,
        "train_counts": counts,
        "loss": loss,
        "history": history,
        "gan": gan_reports,
        "gan_examples": gan_examples,
    });
    write_json(&side, &sidecar)?;
    Ok(Trained {
        spec: spec.clone(),
        net,
        sidecar,
        from_cache: false,
    })
}

/// Softmax probabilities `[n, classes]` of `net` on `part` (evaluation mode, batches of 256).
///
/// # Errors
/// Forward errors.
pub fn probabilities(net: &mut Net, part: &Part) -> Result<Tensor<f32>> {
    net.set_training(false);
    let logits = predict(net, &part.data, 256)?;
    softmax_rows(&logits)
}
