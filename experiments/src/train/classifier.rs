//! Ready-made pieces for training a classifier on a [`WindowDataset`]: the loss of a batch
//! (cross-entropy, class-weighted cross-entropy, focal loss), the evaluation (validation loss
//! plus accuracy or macro F1), and [`fit_classifier`] which plugs both into [`super::fit`].
//!
//! ```text
//! let mut config = TrainConfig::new(30, "macro_f1", Goal::Maximize);
//! config.patience = Some(5);
//! let options = ClassifierOptions::new(64, ClassLoss::CrossEntropy, ClassMetric::MacroF1);
//! let history = fit_classifier(&mut model, &mut adam, &train, &val, &mut config, &options, seed)?;
//! let logits = train::predict(&mut model, &test, 256)?;   // [n, classes]
//! ```

use ecgrad_engine::Tensor;
use ecgrad_models::Module;
use ecgrad_models::autograd::loss::{CrossEntropy, Focal, cross_entropy, focal};
use ecgrad_models::autograd::{Optimizer, Tape, Var};
use serde::Serialize;

use super::{Evaluation, History, TrainConfig, Windows, fit, predict};
use crate::data::batch::{BatchOptions, WindowDataset};
use crate::metrics::{ConfusionMatrix, argmax_rows};

/// The classification loss.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ClassLoss {
    /// Softmax cross-entropy, mean over the batch.
    CrossEntropy,
    /// Cross-entropy with one weight per class (PyTorch's `weight=`; mean divides by the sum of
    /// the targets' weights).
    WeightedCrossEntropy(Vec<f32>),
    /// Focal loss −α_y (1 − p_y)^γ log p_y (α per class or all ones), mean over the batch.
    Focal {
        /// Per-class α, or `None` for all ones.
        alpha: Option<Vec<f32>>,
        /// Focusing parameter γ.
        gamma: f64,
    },
}

impl ClassLoss {
    /// Records the loss of `logits` `[n, classes]` against `targets` on `tape`.
    ///
    /// # Errors
    /// Shape errors, a class index out of range, bad weights (see the autograd losses).
    pub fn apply(
        &self,
        tape: &mut Tape<f32>,
        logits: &Var<f32>,
        targets: &[usize],
    ) -> anyhow::Result<Var<f32>> {
        Ok(match self {
            ClassLoss::CrossEntropy => {
                cross_entropy(tape, logits, targets, &CrossEntropy::default())?
            }
            ClassLoss::WeightedCrossEntropy(w) => cross_entropy(
                tape,
                logits,
                targets,
                &CrossEntropy {
                    weights: Some(w.clone()),
                    ..CrossEntropy::default()
                },
            )?,
            ClassLoss::Focal { alpha, gamma } => focal(
                tape,
                logits,
                targets,
                &Focal {
                    alpha: alpha.clone(),
                    gamma: *gamma,
                    ..Focal::default()
                },
            )?,
        })
    }
}

/// Class weights n / (k · n_c) — scikit-learn's `class_weight="balanced"`; a class with no
/// examples gets weight 0.
pub fn inverse_frequency_weights(counts: &[usize]) -> Vec<f32> {
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

/// The validation metric monitored for early stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ClassMetric {
    /// Fraction of correct predictions.
    Accuracy,
    /// Unweighted mean of the per-class F1 scores.
    MacroF1,
}

impl ClassMetric {
    /// The metric's name as written in histories and tables.
    pub fn name(self) -> &'static str {
        match self {
            ClassMetric::Accuracy => "accuracy",
            ClassMetric::MacroF1 => "macro_f1",
        }
    }
}

/// Settings of [`fit_classifier`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassifierOptions {
    /// Training batch size.
    pub batch_size: usize,
    /// Class-balanced sampling of training batches (with replacement).
    pub balanced: bool,
    /// The training (and validation) loss.
    pub loss: ClassLoss,
    /// The monitored validation metric.
    pub metric: ClassMetric,
    /// Batch size for evaluation.
    pub eval_batch_size: usize,
}

impl ClassifierOptions {
    /// Shuffled, unbalanced batches; evaluation in batches of 256.
    pub fn new(batch_size: usize, loss: ClassLoss, metric: ClassMetric) -> ClassifierOptions {
        ClassifierOptions {
            batch_size,
            balanced: false,
            loss,
            metric,
            eval_batch_size: 256,
        }
    }
}

/// Evaluates a classifier on `data`: its logits `[n, classes]` and an [`Evaluation`] (the loss
/// `loss` on the whole set, and `metric`).
///
/// # Errors
/// Forward and loss errors.
pub fn evaluate_classifier<M: Module + ?Sized>(
    model: &mut M,
    data: &WindowDataset,
    batch_size: usize,
    loss: &ClassLoss,
    metric: ClassMetric,
) -> anyhow::Result<(Evaluation, Tensor<f32>)> {
    let logits = predict(model, data, batch_size)?;
    let mut tape = Tape::no_grad();
    let z = tape.input(logits.clone());
    let l = loss.apply(&mut tape, &z, &data.labels)?;
    let k = data.class_names.len();
    let predicted = argmax_rows(&logits)?;
    let cm = ConfusionMatrix::new(&data.labels, &predicted, k)?;
    let value = match metric {
        ClassMetric::Accuracy => cm.accuracy(),
        ClassMetric::MacroF1 => cm.macro_f1(),
    };
    Ok((
        Evaluation {
            loss: Some(f64::from(l.value().data()[0])),
            metric: value,
        },
        logits,
    ))
}

/// Trains a classifier on `train`, monitoring `options.metric` on `val` (see [`super::fit`]).
/// `config.monitor` is set to the metric's name.
///
/// # Errors
/// As [`super::fit`].
pub fn fit_classifier<M: Module, O: Optimizer<f32>>(
    model: &mut M,
    optimizer: &mut O,
    train: &WindowDataset,
    val: &WindowDataset,
    config: &mut TrainConfig,
    options: &ClassifierOptions,
    seed: u64,
) -> anyhow::Result<History> {
    config.monitor = options.metric.name().to_string();
    let source = Windows {
        data: train,
        options: BatchOptions {
            batch_size: options.batch_size,
            shuffle: true,
            balanced: options.balanced,
            drop_last: false,
        },
        seed,
    };
    let loss = &options.loss;
    fit(
        model,
        optimizer,
        &source,
        config,
        |m, tape, batch| {
            let x = tape.input(batch.x.clone());
            let logits = m.forward(tape, &x)?;
            loss.apply(tape, &logits, &batch.y)
        },
        |m| {
            let (e, _) =
                evaluate_classifier(m, val, options.eval_batch_size, loss, options.metric)?;
            Ok(Some(e))
        },
    )
}
