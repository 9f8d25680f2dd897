//! `SeparableBeatCnn`: [`BeatCnn`](super::BeatCnn)'s topology with conv2 and conv3 replaced by
//! depthwise-separable convolutions — the edge-device variant of seed 001.
//!
//! ```text
//! x [N, 1, 187]
//! conv1 Conv1d(1→32, k5, pad 2)                        → bn1 → ReLU → MaxPool1d(2)   [N, 32, 93]
//! conv2 DepthwiseSeparableConv1d(32→64, k5, pad 2)     → bn2 → ReLU → MaxPool1d(2)   [N, 64, 46]
//! conv3 DepthwiseSeparableConv1d(64→128, k3, pad 1)    → bn3 → ReLU                  [N, 128, 46]
//!       global average pool → fc1 Linear(128→64) → ReLU → Dropout(0.2) → fc2 Linear(64→classes)
//! ```
//! state_dict: as BeatCnn, except `conv2.depthwise.weight [32, 1, 5]`, `conv2.depthwise.bias
//! [32]`, `conv2.pointwise.weight [64, 32, 1]`, `conv2.pointwise.bias [64]` (and likewise conv3
//! with `[64, 1, 3]`, `[128, 64, 1]`). Parameters for 5 classes: 20 101 instead of 44 229
//! (conv2: 2 304 instead of 10 304; conv3: 8 576 instead of 24 704).
//!
//! Cost per 187-sample beat: conv1 0.06, conv2 0.03 + 0.38, conv3 0.02 + 0.75 MFLOP forward
//! (depthwise + pointwise), ≈ 1.3 MFLOP in all against BeatCnn's ≈ 4.25.
//! ReLU and max pooling commute (both monotone), so, as in BeatCnn, each pool runs first.

use ecgrad_autograd::engine::Rng;
use ecgrad_autograd::ops::Conv1dParams;
use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var};

use crate::error::{Result, invalid};
use crate::layers::{
    BatchNorm1d, Conv1d, DepthwiseSeparableConv1d, Dropout, GlobalAvgPool1d, Linear, MaxPool1d,
    Relu,
};
use crate::module::{Module, SummaryRow};
use crate::nets::cnn_classifier::front_end;
use crate::nets::stage::{Stages, named};

/// BeatCnn with depthwise-separable conv2/conv3 (see the module docs).
#[derive(Clone, Debug)]
pub struct SeparableBeatCnn {
    /// Conv1d(1→32, k5, pad 2).
    pub conv1: Conv1d,
    /// BatchNorm1d(32).
    pub bn1: BatchNorm1d,
    /// DepthwiseSeparableConv1d(32→64, k5, pad 2).
    pub conv2: DepthwiseSeparableConv1d,
    /// BatchNorm1d(64).
    pub bn2: BatchNorm1d,
    /// DepthwiseSeparableConv1d(64→128, k3, pad 1).
    pub conv3: DepthwiseSeparableConv1d,
    /// BatchNorm1d(128).
    pub bn3: BatchNorm1d,
    /// Linear(128→64).
    pub fc1: Linear,
    /// Linear(64→classes).
    pub fc2: Linear,
    /// MaxPool1d(2), after bn1 and bn2.
    pub pool: MaxPool1d,
    dropout: Dropout,
}

impl SeparableBeatCnn {
    /// A network for `classes` classes, initialised as PyTorch would (weights from
    /// `Rng::stream(seed, "init")` in the order conv1, conv2 (depthwise, pointwise), conv3,
    /// fc1, fc2; dropout masks from `Rng::stream(seed, "dropout")`), in training mode.
    ///
    /// # Errors
    /// An invalid-parameter error for `classes = 0`.
    pub fn new(seed: u64, classes: usize) -> Result<SeparableBeatCnn> {
        if classes == 0 {
            return Err(invalid("SeparableBeatCnn", "classes", 0, "must be ≥ 1"));
        }
        let mut rng = Rng::stream(seed, "init");
        let pad = |padding| Conv1dParams {
            padding,
            ..Default::default()
        };
        Ok(SeparableBeatCnn {
            conv1: named("conv1", Conv1d::new(1, 32, 5, pad(2), true, &mut rng)?),
            bn1: named("bn1", BatchNorm1d::new(32)?),
            conv2: named(
                "conv2",
                DepthwiseSeparableConv1d::new(32, 64, 5, pad(2), true, &mut rng)?,
            ),
            bn2: named("bn2", BatchNorm1d::new(64)?),
            conv3: named(
                "conv3",
                DepthwiseSeparableConv1d::new(64, 128, 3, pad(1), true, &mut rng)?,
            ),
            bn3: named("bn3", BatchNorm1d::new(128)?),
            fc1: named("fc1", Linear::new(128, 64, true, &mut rng)?),
            fc2: named("fc2", Linear::new(64, classes, true, &mut rng)?),
            pool: MaxPool1d::new(2)?,
            dropout: Dropout::new(0.2, seed)?,
        })
    }

    /// Number of output classes.
    pub fn classes(&self) -> usize {
        self.fc2.out_features()
    }

    fn run(&self, s: &mut Stages<'_>, x: &Var<f32>) -> Result<Var<f32>> {
        let convs: [&dyn Module; 3] = [&self.conv1, &self.conv2, &self.conv3];
        let bns = [&self.bn1, &self.bn2, &self.bn3];
        let h = front_end(s, "SeparableBeatCnn", x, convs, bns, &self.pool)?;
        let h = s.call("gap", &GlobalAvgPool1d, &h)?;
        let h = s.call("fc1", &self.fc1, &h)?;
        let h = s.call("relu4", &Relu, &h)?;
        let h = s.call("dropout", &self.dropout, &h)?;
        s.call("fc2", &self.fc2, &h)
    }
}

impl Parameters<f32> for SeparableBeatCnn {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.conv1.visit_params(f);
        self.bn1.visit_params(f);
        self.conv2.visit_params(f);
        self.bn2.visit_params(f);
        self.conv3.visit_params(f);
        self.bn3.visit_params(f);
        self.fc1.visit_params(f);
        self.fc2.visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.bn1.visit_buffers(f);
        self.bn2.visit_buffers(f);
        self.bn3.visit_buffers(f);
    }
}

impl Module for SeparableBeatCnn {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.run(&mut Stages::forward(tape), x)
    }
    fn set_training(&mut self, training: bool) {
        self.bn1.set_training(training);
        self.bn2.set_training(training);
        self.bn3.set_training(training);
        self.dropout.set_training(training);
    }
    fn describe(&self) -> String {
        format!("SeparableBeatCnn({} classes)", self.classes())
    }
    fn trace(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
        path: &str,
        rows: &mut Vec<SummaryRow>,
    ) -> Result<Var<f32>> {
        self.run(&mut Stages::trace(tape, path, rows), x)
    }
}
