//! `CnnLstm`: the CNN-LSTM variant of `PERFORMANCE.md` (seed 003's best stand-alone model), with
//! PyTorch's parameter names, so a PyTorch model of the same architecture loads into it (and
//! back).
//!
//! ```text
//! x [N, 1, 187]
//! conv1 … bn3 → ReLU (BeatCnn's front end, no global pool)                   [N, 128, 46]
//! NCL → NTF: the 46 remaining positions become time steps                    [N, 46, 128]
//! lstm LSTM(128 → 64, one layer, batch-first), last hidden state h_n          [N, 64]
//! fc Linear(64 → classes)                                                     [N, classes]
//! ```
//! The output is logits. state_dict: BeatCnn's `conv1.*`, `bn1.*`, …, `bn3.*` (see
//! [`BeatCnnFeatures`]), then `lstm.weight_ih_l0 [256, 128]`, `lstm.weight_hh_l0 [256, 64]`,
//! `lstm.bias_ih_l0 [256]`, `lstm.bias_hh_l0 [256]` (gate order i, f, g, o), `fc.weight
//! [classes, 64]`, `fc.bias [classes]` — 85 637 parameters for 5 classes. The PyTorch module:
//! ```text
//! h = features(x).permute(0, 2, 1)            # [N, 46, 128]
//! _, (h_n, _) = self.lstm(h)                  # nn.LSTM(128, 64, batch_first=True)
//! return self.fc(h_n[-1])
//! ```
//! For a one-layer unidirectional LSTM, h_n is the output at the last time step, which is what
//! the forward takes (a `narrow` of the output: its gradient enters BPTT at step T − 1 only).
//!
//! Cost per beat: the front end's ≈ 4.25 MFLOP plus the LSTM's 2·46·4·64·(128 + 64) ≈
//! 4.52 MFLOP forward (≈ 8.8 MFLOP); a training step is ≈ 3× the forward. The LSTM runs on the
//! engine's fused sequence kernels (one autograd node, see `Lstm`).

use ecgrad_autograd::engine::{Rng, Shape};
use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::layers::{Linear, Lstm, NclToNtf};
use crate::module::{Module, SummaryRow};
use crate::nets::cnn_classifier::{BeatCnnFeatures, FEATURE_CHANNELS};
use crate::nets::stage::{Stages, named};

/// Hidden units of the LSTM (PERFORMANCE.md).
pub const LSTM_HIDDEN: usize = 64;

/// Forward FLOPs of one 187-sample beat through [`CnnLstm`] (convolutions 2·C_out·C_in·K·L_out,
/// the LSTM's GEMMs 2·T·4H·(F + H), the head 2·64·classes; elementwise work not counted).
pub fn cnn_lstm_flops_per_beat(classes: usize) -> u64 {
    let conv = |co: u64, ci: u64, k: u64, l: u64| 2 * co * ci * k * l;
    let (t, h, f) = (46u64, LSTM_HIDDEN as u64, FEATURE_CHANNELS as u64);
    conv(32, 1, 5, 187)
        + conv(64, 32, 5, 93)
        + conv(128, 64, 3, 46)
        + 2 * t * 4 * h * (f + h)
        + 2 * h * classes as u64
}

/// The CNN-LSTM (see the module docs).
#[derive(Clone, Debug)]
pub struct CnnLstm {
    /// conv1 … bn3 (+ ReLU and pooling), names at the top level.
    pub features: BeatCnnFeatures,
    /// LSTM(128 → 64), names `lstm.weight_ih_l0` ….
    pub lstm: Lstm,
    /// Linear(64 → classes).
    pub fc: Linear,
}

impl CnnLstm {
    /// A network for `classes` classes (5 for AAMI), initialised as PyTorch would, drawn from
    /// `Rng::stream(seed, "init")` in the order conv1, conv2, conv3, lstm, fc; in training mode.
    ///
    /// # Errors
    /// An invalid-parameter error for `classes = 0`.
    pub fn new(seed: u64, classes: usize) -> Result<CnnLstm> {
        if classes == 0 {
            return Err(invalid("CnnLstm", "classes", 0, "must be ≥ 1"));
        }
        let mut rng = Rng::stream(seed, "init");
        let features = BeatCnnFeatures::new(&mut rng)?;
        Ok(CnnLstm {
            features,
            lstm: named(
                "lstm",
                Lstm::new(FEATURE_CHANNELS, LSTM_HIDDEN, 1, false, &mut rng)?,
            ),
            fc: named("fc", Linear::new(LSTM_HIDDEN, classes, true, &mut rng)?),
        })
    }

    /// Number of output classes.
    pub fn classes(&self) -> usize {
        self.fc.out_features()
    }

    fn run(&self, s: &mut Stages<'_>, x: &Var<f32>) -> Result<Var<f32>> {
        let h = s.inline(&self.features, x)?;
        let h = s.call("transpose", &NclToNtf, &h)?;
        let h = s.call("lstm", &self.lstm, &h)?;
        let h_n = last_step(s.tape(), &h)?;
        s.call("fc", &self.fc, &h_n)
    }
}

/// The last time step of a sequence `[N, T, H]` as `[N, H]` (h_n of a one-layer unidirectional
/// LSTM).
pub(crate) fn last_step(tape: &mut Tape<f32>, h: &Var<f32>) -> Result<Var<f32>> {
    let (n, steps, hidden) = h.shape().dims3("CnnLstm", "lstm output")?;
    let last = ops::narrow(tape, h, 1, steps - 1, 1)?;
    Ok(ops::reshape(tape, &last, Shape::d2(n, hidden))?)
}

impl Parameters<f32> for CnnLstm {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.features.visit_params(f);
        self.lstm.visit_params(f);
        self.fc.visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.features.visit_buffers(f);
    }
}

impl Module for CnnLstm {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.run(&mut Stages::forward(tape), x)
    }
    fn set_training(&mut self, training: bool) {
        self.features.set_training(training);
    }
    fn describe(&self) -> String {
        format!("CnnLstm({} classes)", self.classes())
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
