//! `BeatCnn`: the reference beat classifier of `PERFORMANCE.md`, with PyTorch's parameter names,
//! so a PyTorch model of the same architecture loads into it (and back).
//!
//! ```text
//! x [N, 1, 187]
//! conv1 Conv1d(1→32, k5, pad 2)   → bn1 BatchNorm1d(32)  → ReLU → MaxPool1d(2)   [N, 32, 93]
//! conv2 Conv1d(32→64, k5, pad 2)  → bn2 BatchNorm1d(64)  → ReLU → MaxPool1d(2)   [N, 64, 46]
//! conv3 Conv1d(64→128, k3, pad 1) → bn3 BatchNorm1d(128) → ReLU                  [N, 128, 46]
//!       global average pool over time                                            [N, 128]
//! fc1 Linear(128→64) → ReLU → Dropout(0.2) → fc2 Linear(64→classes)             [N, classes]
//! ```
//! The output is logits (no softmax): train with cross-entropy, which applies log-softmax.
//! state_dict: `conv1.weight [32, 1, 5]`, `conv1.bias [32]`, `bn1.weight/bias/running_mean/
//! running_var [32]`, `bn1.num_batches_tracked []`, likewise conv2/bn2 (64, `[64, 32, 5]`),
//! conv3/bn3 (128, `[128, 64, 3]`), `fc1.weight [64, 128]`, `fc1.bias [64]`,
//! `fc2.weight [classes, 64]`, `fc2.bias [classes]` — 44 229 parameters for 5 classes.
//!
//! ReLU and max pooling commute exactly (both are monotone: max(relu(a), relu(b)) =
//! relu(max(a, b)), with the same argmax wherever the maximum is positive and a zero gradient
//! otherwise), so the forward pools first and applies ReLU to half as many values: the outputs
//! and gradients are those of PyTorch's ReLU → MaxPool order, bit for bit.
//!
//! The convolution stack up to bn3 → ReLU is its own module, [`BeatCnnFeatures`], whose
//! parameter names sit at the top level (`conv1.weight`, not `features.conv1.weight`), so the
//! CNN-LSTM of the same paper reuses it with the same names, and Grad-CAM reads its layers by
//! path (`"conv3"`, `"relu3"`).
//!
//! Cost per 187-sample beat: conv1 0.06, conv2 1.90, conv3 2.26 MFLOP forward (2·C_out·C_in·K·L),
//! the rest small: ≈ 4.25 MFLOP forward; a training step (forward + dx + dW) is ≈ 3× that,
//! ≈ 815 MFLOP for a batch of 64.

use ecgrad_autograd::engine::Rng;
use ecgrad_autograd::ops::Conv1dParams;
use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var};

use crate::error::{Result, invalid};
use crate::layers::{BatchNorm1d, Conv1d, Dropout, GlobalAvgPool1d, Linear, MaxPool1d, Relu};
use crate::module::{Module, SummaryRow};
use crate::nets::stage::{Stages, named};

/// Input length of a beat window (samples).
pub const BEAT_LEN: usize = 187;
/// Channels of the feature map after conv3.
pub const FEATURE_CHANNELS: usize = 128;
/// Time steps of the feature map for a 187-sample beat (187 → 93 → 46).
pub const FEATURE_STEPS: usize = 46;

/// The convolutional front end of [`BeatCnn`]: `[N, 1, L]` → `[N, 128, ⌊⌊L/2⌋/2⌋]`
/// (conv1 → bn1 → ReLU → pool → conv2 → bn2 → ReLU → pool → conv3 → bn3 → ReLU; each
/// ReLU → pool pair runs as pool → ReLU, which is the same function, see the module docs).
#[derive(Clone, Debug)]
pub struct BeatCnnFeatures {
    /// Conv1d(1→32, k5, pad 2).
    pub conv1: Conv1d,
    /// BatchNorm1d(32).
    pub bn1: BatchNorm1d,
    /// Conv1d(32→64, k5, pad 2).
    pub conv2: Conv1d,
    /// BatchNorm1d(64).
    pub bn2: BatchNorm1d,
    /// Conv1d(64→128, k3, pad 1).
    pub conv3: Conv1d,
    /// BatchNorm1d(128).
    pub bn3: BatchNorm1d,
    pool: MaxPool1d,
}

impl BeatCnnFeatures {
    /// The stack with PyTorch's default initialisation, convs drawn in order from `rng`
    /// (BatchNorm starts at γ = 1, β = 0).
    ///
    /// # Errors
    /// None in practice (the sizes are fixed and valid); layer constructors return `Result`.
    pub fn new(rng: &mut Rng) -> Result<BeatCnnFeatures> {
        let pad = |padding| Conv1dParams {
            padding,
            ..Default::default()
        };
        Ok(BeatCnnFeatures {
            conv1: named("conv1", Conv1d::new(1, 32, 5, pad(2), true, rng)?),
            bn1: named("bn1", BatchNorm1d::new(32)?),
            conv2: named("conv2", Conv1d::new(32, 64, 5, pad(2), true, rng)?),
            bn2: named("bn2", BatchNorm1d::new(64)?),
            conv3: named("conv3", Conv1d::new(64, 128, 3, pad(1), true, rng)?),
            bn3: named("bn3", BatchNorm1d::new(128)?),
            pool: MaxPool1d::new(2)?,
        })
    }

    fn run(&self, s: &mut Stages<'_>, x: &Var<f32>) -> Result<Var<f32>> {
        let convs: [&dyn Module; 3] = [&self.conv1, &self.conv2, &self.conv3];
        front_end(
            s,
            "BeatCnn",
            x,
            convs,
            [&self.bn1, &self.bn2, &self.bn3],
            &self.pool,
        )
    }
}

/// The front end shared by the beat networks (`BeatCnn`, `SeparableBeatCnn`, and through
/// [`BeatCnnFeatures`] the CNN-LSTMs): three stages conv → BN (→ max pool 2 after the first
/// two) → ReLU, with the stage names PyTorch's `state_dict` and our summaries use. `net` names
/// the network in the error for an input that is not `[N, 1, L ≥ 4]`.
pub(crate) fn front_end(
    s: &mut Stages<'_>,
    net: &'static str,
    x: &Var<f32>,
    convs: [&dyn Module; 3],
    bns: [&BatchNorm1d; 3],
    pool: &MaxPool1d,
) -> Result<Var<f32>> {
    let dims = x.shape().dims().to_vec();
    if dims.len() != 3 || dims[1] != 1 || dims[2] < 4 {
        return Err(invalid(
            net,
            "input",
            x.shape(),
            "must be [N, 1, L] with L ≥ 4 (NCL, one lead; L = 187 for a beat)",
        ));
    }
    let names = [
        ("conv1", "bn1", "pool1", "relu1"),
        ("conv2", "bn2", "pool2", "relu2"),
        ("conv3", "bn3", "", "relu3"),
    ];
    let mut h = x.clone();
    for ((conv, bn), (cn, bn_name, pool_name, relu)) in convs.into_iter().zip(bns).zip(names) {
        h = s.call(cn, conv, &h)?;
        h = s.call(bn_name, bn, &h)?;
        if !pool_name.is_empty() {
            h = s.call(pool_name, pool, &h)?;
        }
        h = s.call(relu, &Relu, &h)?;
    }
    Ok(h)
}

impl Parameters<f32> for BeatCnnFeatures {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.conv1.visit_params(f);
        self.bn1.visit_params(f);
        self.conv2.visit_params(f);
        self.bn2.visit_params(f);
        self.conv3.visit_params(f);
        self.bn3.visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.bn1.visit_buffers(f);
        self.bn2.visit_buffers(f);
        self.bn3.visit_buffers(f);
    }
}

impl Module for BeatCnnFeatures {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.run(&mut Stages::forward(tape), x)
    }
    fn set_training(&mut self, training: bool) {
        self.bn1.set_training(training);
        self.bn2.set_training(training);
        self.bn3.set_training(training);
    }
    fn describe(&self) -> String {
        "BeatCnnFeatures(conv1…bn3)".to_string()
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

/// The reference beat CNN (see the module docs).
#[derive(Clone, Debug)]
pub struct BeatCnn {
    /// conv1 … bn3 (+ ReLU and pooling), names at the top level.
    pub features: BeatCnnFeatures,
    /// Linear(128→64).
    pub fc1: Linear,
    /// Linear(64→classes).
    pub fc2: Linear,
    dropout: Dropout,
}

impl BeatCnn {
    /// A network for `classes` classes (5 for AAMI), initialised as PyTorch would (weights from
    /// `Rng::stream(seed, "init")` in the order conv1, conv2, conv3, fc1, fc2; dropout masks from
    /// `Rng::stream(seed, "dropout")`), in training mode.
    ///
    /// # Errors
    /// An invalid-parameter error for `classes = 0`.
    pub fn new(seed: u64, classes: usize) -> Result<BeatCnn> {
        if classes == 0 {
            return Err(invalid("BeatCnn", "classes", 0, "must be ≥ 1"));
        }
        let mut rng = Rng::stream(seed, "init");
        let features = BeatCnnFeatures::new(&mut rng)?;
        Ok(BeatCnn {
            features,
            fc1: named("fc1", Linear::new(FEATURE_CHANNELS, 64, true, &mut rng)?),
            fc2: named("fc2", Linear::new(64, classes, true, &mut rng)?),
            dropout: Dropout::new(0.2, seed)?,
        })
    }

    /// Number of output classes.
    pub fn classes(&self) -> usize {
        self.fc2.out_features()
    }

    /// The feature map after conv3 → bn3 → ReLU, `[N, 128, 46]` for `[N, 1, 187]` beats (the
    /// input of the CNN-LSTM's transpose, and the usual Grad-CAM layer).
    ///
    /// # Errors
    /// An invalid-parameter error unless x is `[N, 1, L]` with L ≥ 4.
    pub fn forward_features(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.features.forward(tape, x)
    }

    fn run(&self, s: &mut Stages<'_>, x: &Var<f32>) -> Result<Var<f32>> {
        let h = s.inline(&self.features, x)?;
        let h = s.call("gap", &GlobalAvgPool1d, &h)?;
        let h = s.call("fc1", &self.fc1, &h)?;
        let h = s.call("relu4", &Relu, &h)?;
        let h = s.call("dropout", &self.dropout, &h)?;
        s.call("fc2", &self.fc2, &h)
    }
}

impl Parameters<f32> for BeatCnn {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.features.visit_params(f);
        self.fc1.visit_params(f);
        self.fc2.visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.features.visit_buffers(f);
    }
}

impl Module for BeatCnn {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.run(&mut Stages::forward(tape), x)
    }
    fn set_training(&mut self, training: bool) {
        self.features.set_training(training);
        self.dropout.set_training(training);
    }
    fn describe(&self) -> String {
        format!("BeatCnn({} classes)", self.classes())
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
