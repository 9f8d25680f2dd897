//! `CnnLstmAttention`: seed 003's CNN-LSTM with attention — the [`CnnLstm`](super::CnnLstm)
//! front end and LSTM (optionally bidirectional), but instead of keeping only the last hidden
//! state it pools **every** step with additive temporal attention ("softmax over learned
//! alignment scores between LSTM hidden states and a context vector", [seed 003]).
//!
//! ```text
//! x [N, 1, 187]
//! conv1 … bn3 → ReLU (BeatCnn's front end)                                   [N, 128, 46]
//! NCL → NTF                                                                  [N, 46, 128]
//! lstm LSTM(128 → H, batch-first, D = 1 or 2 directions), all steps          [N, 46, D·H]
//! attention: uₜ = tanh(W·hₜ + b), αₜ = softmax_t(vᵀuₜ), Σₜ αₜ·hₜ              [N, D·H]
//! fc Linear(D·H → classes)                                                    [N, classes]
//! ```
//! The paper gives no sizes (PAPERS.md: "layer-by-layer architectures … not found"); the default
//! [`CnnLstmAttentionConfig`] reuses the CNN-LSTM's H = 64 and an attention width A = 64.
//! state_dict: `conv1.*` … `bn3.*`, `lstm.weight_ih_l0` … (plus `lstm.*_l0_reverse` when
//! bidirectional), `attention.weight [A, D·H]`, `attention.bias [A]`, `attention.context [A]`
//! (the PyTorch module is spelled out in `layers/attention.rs`), `fc.weight [classes, D·H]`,
//! `fc.bias [classes]`. [`CnnLstmAttention::forward_with_attention`] also returns α `[N, 46]`,
//! to plot which part of a beat the model looked at (step t covers input samples ≈ 4t … 4t + 3).
//!
//! Cost per beat: the front end's ≈ 4.25 MFLOP, D·2·46·4H·(128 + H) for the LSTM (4.52 MFLOP
//! for D = 1, H = 64), 2·46·A·D·H + O(46·(A + D·H)) for the attention (0.38 MFLOP), the head.

use ecgrad_autograd::engine::{Rng, Tensor};
use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var};

use crate::error::{Result, invalid};
use crate::layers::{Linear, Lstm, NclToNtf, TemporalAttention};
use crate::module::{Module, SummaryRow};
use crate::nets::cnn_classifier::{BeatCnnFeatures, FEATURE_CHANNELS};
use crate::nets::stage::{Stages, named};

/// Sizes of a [`CnnLstmAttention`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CnnLstmAttentionConfig {
    /// Output classes (5 for AAMI).
    pub classes: usize,
    /// LSTM hidden units H per direction.
    pub hidden: usize,
    /// Whether the LSTM also runs backwards in time (features D·H with D = 2).
    pub bidirectional: bool,
    /// Attention width A (rows of the attention's W).
    pub attention_dim: usize,
}

impl Default for CnnLstmAttentionConfig {
    /// 5 classes, H = 64, unidirectional, A = 64.
    fn default() -> Self {
        CnnLstmAttentionConfig {
            classes: 5,
            hidden: 64,
            bidirectional: false,
            attention_dim: 64,
        }
    }
}

/// The CNN-LSTM with temporal attention pooling (see the module docs).
#[derive(Clone, Debug)]
pub struct CnnLstmAttention {
    /// conv1 … bn3 (+ ReLU and pooling), names at the top level.
    pub features: BeatCnnFeatures,
    /// LSTM(128 → H), uni- or bidirectional.
    pub lstm: Lstm,
    /// Additive attention over the LSTM's D·H features per step.
    pub attention: TemporalAttention,
    /// Linear(D·H → classes).
    pub fc: Linear,
}

impl CnnLstmAttention {
    /// A network initialised as PyTorch would, drawn from `Rng::stream(seed, "init")` in the
    /// order conv1, conv2, conv3, lstm, attention, fc; in training mode.
    ///
    /// # Errors
    /// An invalid-parameter error if a size in `config` is zero.
    pub fn new(seed: u64, config: CnnLstmAttentionConfig) -> Result<CnnLstmAttention> {
        if config.classes == 0 || config.hidden == 0 || config.attention_dim == 0 {
            return Err(invalid(
                "CnnLstmAttention",
                "config",
                format!("{config:?}"),
                "classes, hidden and attention_dim must be ≥ 1",
            ));
        }
        let mut rng = Rng::stream(seed, "init");
        let features = BeatCnnFeatures::new(&mut rng)?;
        let dirs = if config.bidirectional { 2 } else { 1 };
        let width = dirs * config.hidden;
        let lstm = Lstm::new(
            FEATURE_CHANNELS,
            config.hidden,
            1,
            config.bidirectional,
            &mut rng,
        )?;
        let attention = TemporalAttention::new(width, config.attention_dim, &mut rng)?;
        Ok(CnnLstmAttention {
            features,
            lstm: named("lstm", lstm),
            attention: named("attention", attention),
            fc: named("fc", Linear::new(width, config.classes, true, &mut rng)?),
        })
    }

    /// Number of output classes.
    pub fn classes(&self) -> usize {
        self.fc.out_features()
    }

    /// The logits `[N, classes]` and the attention weights α `[N, T]` (T = 46 for 187-sample
    /// beats; each row sums to 1; a plain tensor for plotting, not on the tape).
    ///
    /// # Errors
    /// An invalid-parameter error unless x is `[N, 1, L]` with L ≥ 4.
    pub fn forward_with_attention(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
    ) -> Result<(Var<f32>, Tensor<f32>)> {
        let mut alpha = None;
        let y = self.run(&mut Stages::forward(tape), x, Some(&mut alpha))?;
        Ok((
            y,
            alpha.expect("invariant: run fills the weights when asked"),
        ))
    }

    fn run(
        &self,
        s: &mut Stages<'_>,
        x: &Var<f32>,
        alpha: Option<&mut Option<Tensor<f32>>>,
    ) -> Result<Var<f32>> {
        let h = s.inline(&self.features, x)?;
        let h = s.call("transpose", &NclToNtf, &h)?;
        let h = s.call("lstm", &self.lstm, &h)?;
        let context = match alpha {
            Some(slot) => {
                let (context, weights) = self.attention.forward_with_weights(s.tape(), &h)?;
                *slot = Some(weights);
                context
            }
            None => s.call("attention", &self.attention, &h)?,
        };
        s.call("fc", &self.fc, &context)
    }
}

impl Parameters<f32> for CnnLstmAttention {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.features.visit_params(f);
        self.lstm.visit_params(f);
        self.attention.visit_params(f);
        self.fc.visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.features.visit_buffers(f);
    }
}

impl Module for CnnLstmAttention {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.run(&mut Stages::forward(tape), x, None)
    }
    fn set_training(&mut self, training: bool) {
        self.features.set_training(training);
    }
    fn describe(&self) -> String {
        format!(
            "CnnLstmAttention({} classes{})",
            self.classes(),
            if self.lstm.bidirectional() {
                ", bidirectional"
            } else {
                ""
            }
        )
    }
    fn trace(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
        path: &str,
        rows: &mut Vec<SummaryRow>,
    ) -> Result<Var<f32>> {
        self.run(&mut Stages::trace(tape, path, rows), x, None)
    }
}
