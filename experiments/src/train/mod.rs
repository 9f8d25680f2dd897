//! A generic, readable training loop: epochs of seeded mini-batches, one optimizer step per
//! batch, an evaluation after every epoch, early stopping on a validation metric, and the best
//! weights kept.
//!
//! # One epoch
//! ```text
//! for batch in source.epoch(e):                 // seeded order: same on every machine
//!     tape  = Tape::new()
//!     loss  = loss_fn(model, tape, batch)       // the caller's forward + loss (a scalar Var)
//!     check loss is finite                      // else TrainError::NonFiniteLoss{epoch, step, lr}
//!     grads = tape.backward(loss)
//!     model.zero_grad(); grads.accumulate_into(model)
//!     clip_grad_norm(model, c)                  // optional
//!     optimizer.step(model)
//! model.set_training(false); evaluation = evaluate(model); model.set_training(true)
//! if evaluation.metric improved by more than min_delta: best ← snapshot(model)
//! else if no improvement for `patience` epochs: stop
//! ```
//! At the end the best snapshot is restored (when `restore_best`), so the model returned is the
//! one that scored best on validation — never the last one by accident.
//!
//! # What callers write
//! Only the two closures: the loss of one batch (`|model, tape, batch| -> Var`) and the
//! evaluation (`|model| -> Evaluation`). For classifiers over a [`WindowDataset`],
//! [`classifier`] has both ready-made ([`classifier::fit_classifier`]).
//!
//! Epochs and steps count from 1 in the history, the progress bar and the error messages.
//! The history serialises to JSON (`report::write_json(&path, &history)`), one
//! [`EpochRecord`] per epoch: training loss, validation loss and metric, learning rate, seconds.
//!
//! The progress bar (indicatif, on stderr) is hidden when `quiet` or when stderr is not a
//! terminal (CI logs); one summary line per epoch is printed to stdout unless `quiet`.

pub mod classifier;
pub mod source;

#[cfg(test)]
mod tests;

pub use source::{BatchSource, FnSource, PairBatch, Pairs, Windows};

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use ecgrad_engine::Tensor;
use ecgrad_models::Module;
use ecgrad_models::autograd::optim::{LrSchedule, ReduceLrOnPlateau, clip_grad_norm};
use ecgrad_models::autograd::{Optimizer, Parameters, Tape, Var};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::data::batch::WindowDataset;

/// Whether a larger or a smaller validation metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Goal {
    /// Larger is better (accuracy, F1, AUC).
    Maximize,
    /// Smaller is better (loss, RMSE).
    Minimize,
}

/// The learning-rate policy applied between epochs.
pub enum Schedule {
    /// Keep the optimizer's rate.
    Constant,
    /// `optimizer.set_lr(schedule.lr_at(epoch))` before each epoch (epoch 0 first).
    PerEpoch(Box<dyn LrSchedule>),
    /// PyTorch's `ReduceLROnPlateau`, fed the monitored validation metric after each epoch
    /// (its mode must match the [`Goal`]).
    Plateau(ReduceLrOnPlateau),
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Constant => write!(f, "Constant"),
            Schedule::PerEpoch(_) => write!(f, "PerEpoch(..)"),
            Schedule::Plateau(p) => write!(f, "Plateau({p:?})"),
        }
    }
}

/// Settings of [`fit`].
#[derive(Debug)]
pub struct TrainConfig {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Stop after this many epochs without improvement of the monitored metric (`None`: never
    /// stop early).
    pub patience: Option<usize>,
    /// An epoch improves only if it beats the best by more than this (absolute).
    pub min_delta: f64,
    /// Name of the monitored validation metric (for logs and the history), e.g. `"macro_f1"`.
    pub monitor: String,
    /// Whether the monitored metric should go up or down.
    pub goal: Goal,
    /// Clip the global gradient L2 norm to this value before each step.
    pub clip_grad_norm: Option<f64>,
    /// Learning-rate policy.
    pub schedule: Schedule,
    /// Restore the weights of the best epoch at the end.
    pub restore_best: bool,
    /// No progress bar and no per-epoch lines.
    pub quiet: bool,
    /// Prefix of the progress bar and the epoch lines (e.g. the model's name).
    pub label: String,
}

impl TrainConfig {
    /// `epochs` epochs monitoring `monitor` with `goal`; no early stopping, no clipping,
    /// constant rate, best weights restored, progress shown.
    pub fn new(epochs: usize, monitor: &str, goal: Goal) -> TrainConfig {
        TrainConfig {
            epochs,
            patience: None,
            min_delta: 0.0,
            monitor: monitor.to_string(),
            goal,
            clip_grad_norm: None,
            schedule: Schedule::Constant,
            restore_best: true,
            quiet: false,
            label: "train".into(),
        }
    }
}

/// What the caller's evaluation reports after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Validation loss, when computed.
    pub loss: Option<f64>,
    /// The monitored metric (see [`TrainConfig::monitor`]). NaN never counts as an improvement.
    pub metric: f64,
}

/// One epoch of the history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Validation loss (if the evaluation computed one).
    pub val_loss: Option<f64>,
    /// The monitored validation metric (None when there was no evaluation).
    pub metric: Option<f64>,
    /// Learning rate used during the epoch.
    pub lr: f64,
    /// Wall time of the epoch (training and evaluation), seconds.
    pub seconds: f64,
    /// Whether this epoch became the best so far.
    pub improved: bool,
}

/// The training history: one record per epoch, plus the best epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct History {
    /// Name of the monitored metric.
    pub monitor: String,
    /// Its direction.
    pub goal: Goal,
    /// Per-epoch records.
    pub epochs: Vec<EpochRecord>,
    /// The epoch (from 1) whose weights were kept, if any evaluation happened.
    pub best_epoch: Option<usize>,
    /// The monitored metric at the best epoch.
    pub best_metric: Option<f64>,
    /// True when early stopping ended training before `epochs`.
    pub stopped_early: bool,
    /// Total wall time, seconds.
    pub seconds: f64,
}

impl History {
    /// The training losses, one per epoch (for loss-curve plots).
    pub fn train_losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.train_loss).collect()
    }
    /// The validation losses (NaN where none was computed).
    pub fn val_losses(&self) -> Vec<f64> {
        self.epochs
            .iter()
            .map(|e| e.val_loss.unwrap_or(f64::NAN))
            .collect()
    }
    /// The monitored metric per epoch (NaN where none was computed).
    pub fn metrics(&self) -> Vec<f64> {
        self.epochs
            .iter()
            .map(|e| e.metric.unwrap_or(f64::NAN))
            .collect()
    }

    /// Training curves as a [`Grid`](crate::plot::Grid) of two panels: training and
    /// validation loss per epoch, and the monitored validation metric (the best epoch marked
    /// by a dashed line at its value). Save it with `plot::save` or `Run::figure`.
    pub fn plot(&self, title: &str) -> crate::plot::Grid {
        use crate::plot::{Grid, LinePlot, Panel, Series};
        let mut loss = LinePlot::new("loss", "epoch", "loss")
            .with(Series::from_y("training", &self.train_losses()));
        if self.epochs.iter().any(|e| e.val_loss.is_some()) {
            loss = loss.with(Series::from_y("validation", &self.val_losses()));
        }
        let mut grid = Grid::new(title, 2, (560, 380)).with(Panel::Line(loss));
        if self.epochs.iter().any(|e| e.metric.is_some()) {
            let mut metric = LinePlot::new(
                &format!("validation {}", self.monitor),
                "epoch",
                &self.monitor,
            )
            .with(Series::from_y(&self.monitor, &self.metrics()).color(2));
            if let (Some(e), Some(m)) = (self.best_epoch, self.best_metric) {
                metric.h_lines.push((m, format!("best: epoch {e}")));
            }
            grid = grid.with(Panel::Line(metric));
        }
        grid
    }
}

/// Errors the loop raises itself (others come from the closures, the tape or the optimizer,
/// wrapped with the epoch, step and learning rate).
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The loss of a batch was NaN or ±∞.
    #[error(
        "non-finite training loss {value} at epoch {epoch}, step {step} (learning rate {lr:e}); \
         lower the learning rate, clip gradients, or check the inputs"
    )]
    NonFiniteLoss {
        /// Epoch, from 1.
        epoch: usize,
        /// Step within the epoch, from 1.
        step: usize,
        /// Learning rate in use.
        lr: f64,
        /// The loss value.
        value: f64,
    },
    /// The loss closure returned something that is not a single number.
    #[error("the loss at epoch {epoch}, step {step} has shape {shape}; it must be a scalar")]
    NotScalar {
        /// Epoch, from 1.
        epoch: usize,
        /// Step within the epoch, from 1.
        step: usize,
        /// Its shape.
        shape: String,
    },
}

/// A copy of a model's parameters and buffers by dotted name (cheap: tensors share their
/// buffers until the optimizer writes, which then copies).
#[derive(Clone, Debug)]
pub struct Snapshot {
    params: HashMap<Arc<str>, Tensor<f32>>,
    buffers: HashMap<Arc<str>, Tensor<f32>>,
}

/// Takes a [`Snapshot`] of `model`.
pub fn snapshot(model: &mut dyn Parameters<f32>) -> Snapshot {
    let mut params = HashMap::new();
    let mut buffers = HashMap::new();
    model.visit_params(&mut |p| {
        params.insert(Arc::clone(&p.name), p.value.clone());
    });
    model.visit_buffers(&mut |b| {
        buffers.insert(Arc::clone(&b.name), b.value.clone());
    });
    Snapshot { params, buffers }
}

/// Puts the values of `snap` back into `model` (gradients are cleared).
///
/// # Errors
/// If a parameter or buffer of `model` is missing from the snapshot or has another shape (the
/// snapshot came from a different model); the message names it.
pub fn restore(model: &mut dyn Parameters<f32>, snap: &Snapshot) -> anyhow::Result<()> {
    let mut problem: Option<String> = None;
    let mut put = |name: &Arc<str>,
                   value: &mut Tensor<f32>,
                   from: &HashMap<Arc<str>, Tensor<f32>>| {
        match from.get(name) {
            Some(t) if t.shape() == value.shape() => *value = t.clone(),
            Some(t) => {
                problem.get_or_insert(format!(
                    "{name}: snapshot has shape {}, model has {}",
                    t.shape(),
                    value.shape()
                ));
            }
            None => {
                problem.get_or_insert(format!("{name} is not in the snapshot"));
            }
        }
    };
    model.visit_params(&mut |p| {
        put(&p.name, &mut p.value, &snap.params);
        p.grad = None;
    });
    model.visit_buffers(&mut |b| put(&b.name, &mut b.value, &snap.buffers));
    match problem {
        Some(p) => anyhow::bail!("cannot restore the snapshot: {p}"),
        None => Ok(()),
    }
}

/// A progress bar on stderr, hidden when `quiet` or when stderr is not a terminal.
pub fn progress_bar(len: u64, label: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta} {msg}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.set_prefix(label.to_string());
    pb
}

fn improves(goal: Goal, metric: f64, best: Option<f64>, min_delta: f64) -> bool {
    if !metric.is_finite() {
        return false;
    }
    match (best, goal) {
        (None, _) => true,
        (Some(b), Goal::Maximize) => metric > b + min_delta,
        (Some(b), Goal::Minimize) => metric < b - min_delta,
    }
}

/// Trains `model` with `optimizer` on the batches of `source` (see the module docs).
///
/// `loss_fn(model, tape, batch)` records the forward pass and returns a scalar loss;
/// `evaluate(model)` is called in evaluation mode after each epoch and returns the monitored
/// metric, or `None` to skip evaluation (then the last epoch's weights are kept).
///
/// # Errors
/// [`TrainError::NonFiniteLoss`] naming epoch, step and learning rate; errors of the closures,
/// of backward (which names the first non-finite gradient) and of the optimizer, with the
/// epoch, step and learning rate as context.
pub fn fit<M, O, S, L, E>(
    model: &mut M,
    optimizer: &mut O,
    source: &S,
    config: &mut TrainConfig,
    mut loss_fn: L,
    mut evaluate: E,
) -> anyhow::Result<History>
where
    M: Module,
    O: Optimizer<f32>,
    S: BatchSource + ?Sized,
    L: FnMut(&M, &mut Tape<f32>, &S::Batch) -> anyhow::Result<Var<f32>>,
    E: FnMut(&mut M) -> anyhow::Result<Option<Evaluation>>,
{
    anyhow::ensure!(config.epochs >= 1, "TrainConfig.epochs must be ≥ 1");
    let start = Instant::now();
    let mut history = History {
        monitor: config.monitor.clone(),
        goal: config.goal,
        epochs: Vec::new(),
        best_epoch: None,
        best_metric: None,
        stopped_early: false,
        seconds: 0.0,
    };
    let mut best: Option<Snapshot> = None;
    let mut since_best = 0usize;
    for epoch in 1..=config.epochs {
        let epoch_start = Instant::now();
        if let Schedule::PerEpoch(s) = &config.schedule {
            optimizer.set_lr(s.lr_at(epoch - 1));
        }
        let lr = optimizer.lr();
        model.set_training(true);
        let pb = progress_bar(
            source.batches_per_epoch() as u64,
            &format!("{} epoch {epoch}/{}", config.label, config.epochs),
            config.quiet,
        );
        let (mut loss_sum, mut steps) = (0.0f64, 0usize);
        for batch in source.epoch(epoch - 1)? {
            let batch = batch?;
            steps += 1;
            let step = steps;
            let context = || format!("epoch {epoch}, step {step}, learning rate {lr:e}");
            let mut tape = Tape::new();
            let loss = loss_fn(model, &mut tape, &batch).with_context(context)?;
            let value = match loss.value().data() {
                [v] => f64::from(*v),
                _ => {
                    return Err(TrainError::NotScalar {
                        epoch,
                        step,
                        shape: loss.shape().to_string(),
                    }
                    .into());
                }
            };
            if !value.is_finite() {
                return Err(TrainError::NonFiniteLoss {
                    epoch,
                    step,
                    lr,
                    value,
                }
                .into());
            }
            let grads = tape.backward(&loss).with_context(context)?;
            model.zero_grad();
            grads.accumulate_into(model).with_context(context)?;
            if let Some(c) = config.clip_grad_norm {
                clip_grad_norm(model, c).with_context(context)?;
            }
            optimizer.step(model).with_context(context)?;
            loss_sum += value;
            pb.inc(1);
            pb.set_message(format!("loss {:.4}", loss_sum / steps as f64));
        }
        pb.finish_and_clear();
        anyhow::ensure!(steps > 0, "epoch {epoch} had no batches");
        model.set_training(false);
        let evaluation = evaluate(model).with_context(|| format!("evaluating epoch {epoch}"))?;
        model.set_training(true);

        let metric = evaluation.map(|e| e.metric);
        let improved = match metric {
            Some(m) => improves(config.goal, m, history.best_metric, config.min_delta),
            None => false,
        };
        if improved {
            history.best_epoch = Some(epoch);
            history.best_metric = metric;
            best = Some(snapshot(model));
            since_best = 0;
        } else {
            since_best += 1;
        }
        if let (Schedule::Plateau(p), Some(m)) = (&mut config.schedule, metric) {
            p.step(m, optimizer);
        }
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / steps as f64,
            val_loss: evaluation.and_then(|e| e.loss),
            metric,
            lr,
            seconds: epoch_start.elapsed().as_secs_f64(),
            improved,
        };
        if !config.quiet {
            println!("{}", describe_epoch(&config.label, config, &record));
        }
        history.epochs.push(record);
        if let Some(patience) = config.patience {
            if metric.is_some() && since_best >= patience {
                history.stopped_early = epoch < config.epochs;
                break;
            }
        }
    }
    if config.restore_best {
        if let Some(snap) = &best {
            restore(model, snap)?;
        }
    }
    model.set_training(false);
    history.seconds = start.elapsed().as_secs_f64();
    Ok(history)
}

fn describe_epoch(label: &str, config: &TrainConfig, r: &EpochRecord) -> String {
    let mut s = format!(
        "{label} epoch {}/{}: loss {:.4}",
        r.epoch, config.epochs, r.train_loss
    );
    if let Some(v) = r.val_loss {
        s.push_str(&format!("  val loss {v:.4}"));
    }
    if let Some(m) = r.metric {
        s.push_str(&format!("  val {} {m:.4}", config.monitor));
    }
    s.push_str(&format!("  lr {:.2e}  {:.1} s", r.lr, r.seconds));
    if r.improved {
        s.push_str("  *");
    }
    s
}

/// The class-probability-free predictions of a model over a dataset: runs `model` in
/// evaluation mode on a no-grad tape, batch by batch in order, and stacks the outputs
/// (`[n, …]`, e.g. logits `[n, classes]`).
///
/// # Errors
/// The forward pass's errors; an empty dataset.
pub fn predict<M: Module + ?Sized>(
    model: &mut M,
    data: &WindowDataset,
    batch_size: usize,
) -> anyhow::Result<Tensor<f32>> {
    anyhow::ensure!(!data.is_empty(), "predict: the dataset is empty");
    anyhow::ensure!(batch_size >= 1, "predict: batch_size must be ≥ 1");
    model.set_training(false);
    let w = data.channels * data.length;
    let mut out: Vec<f32> = Vec::new();
    let mut row_dims: Option<Vec<usize>> = None;
    for start in (0..data.len()).step_by(batch_size) {
        let b = batch_size.min(data.len() - start);
        let x = Tensor::from_vec(
            ecgrad_engine::Shape::d3(b, data.channels, data.length),
            data.samples[start * w..(start + b) * w].to_vec(),
        )?;
        let mut tape = Tape::no_grad();
        let xv = tape.input(x);
        let y = model.forward(&mut tape, &xv)?;
        let dims = y.value().dims().to_vec();
        anyhow::ensure!(
            dims.first() == Some(&b),
            "predict: the model returned shape {:?} for a batch of {b}",
            dims
        );
        row_dims.get_or_insert_with(|| dims[1..].to_vec());
        out.extend_from_slice(y.value().data());
    }
    let mut dims = vec![data.len()];
    dims.extend(row_dims.unwrap_or_default());
    Ok(Tensor::from_vec(ecgrad_engine::Shape::new(&dims)?, out)?)
}
