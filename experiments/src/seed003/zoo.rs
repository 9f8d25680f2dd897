//! # The model zoo of seed 003: the four networks by name
//!
//! | name | network | Grad-CAM layer | dropout (MC dropout) |
//! |---|---|---|---|
//! | `cnn` | [`BeatCnn`] (3 conv blocks, GAP, 2 linear) | `relu3` (last conv block) | yes (head, p 0.2) |
//! | `cnn_lstm` | [`CnnLstm`] (BeatCnn front end → LSTM(128 → 64) → linear) | `relu3` | none: MC dropout n/a |
//! | `cnn_lstm_attention` | [`CnnLstmAttention`] (front end → LSTM → additive attention pooling → linear) | `relu3` | none: MC dropout n/a |
//! | `resnet1d` | [`ResNet1d`] (stem, 3 stages × 2 residual blocks, GAP, linear) | `layer3.1.relu2` | none: MC dropout n/a |
//!
//! [`Net`] wraps whichever network was built, so the experiment code trains, saves, loads,
//! explains and evaluates all four through one type ([`Module`] by delegation).
//!
//! **MC dropout** (Gal & Ghahramani 2016) needs dropout *on* while batch norm stays in
//! evaluation mode (running statistics), which `set_training` cannot express for a whole
//! model: [`Net::set_mc_dropout`] sets the whole model to training and then puts the
//! batch-norm part back into evaluation mode, network by network.

use ecgrad_models::autograd::{Buffer, Param, Parameters, Tape, Var};
use ecgrad_models::module::SummaryRow;
use ecgrad_models::nets::{
    BeatCnn, CnnLstm, CnnLstmAttention, CnnLstmAttentionConfig, ResNet1d, ResNet1dConfig,
};
use ecgrad_models::{Module, Result as ModelResult};
use serde::Serialize;

/// Which network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ModelKind {
    /// The beat CNN.
    Cnn,
    /// CNN front end → LSTM → linear head.
    CnnLstm,
    /// CNN front end → LSTM → additive attention pooling → linear head.
    CnnLstmAttention,
    /// 1D residual network.
    ResNet1d,
}

impl ModelKind {
    /// The four networks, in table order.
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Cnn,
        ModelKind::CnnLstm,
        ModelKind::CnnLstmAttention,
        ModelKind::ResNet1d,
    ];

    /// Name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Cnn => "cnn",
            ModelKind::CnnLstm => "cnn_lstm",
            ModelKind::CnnLstmAttention => "cnn_lstm_attention",
            ModelKind::ResNet1d => "resnet1d",
        }
    }

    /// Name in tables and figures.
    pub fn display(self) -> &'static str {
        match self {
            ModelKind::Cnn => "CNN",
            ModelKind::CnnLstm => "CNN-LSTM",
            ModelKind::CnnLstmAttention => "CNN-LSTM-Attention",
            ModelKind::ResNet1d => "ResNet-1D",
        }
    }

    /// Parses a [`ModelKind::name`].
    ///
    /// # Errors
    /// For an unknown name (the message lists the known ones).
    pub fn parse(s: &str) -> anyhow::Result<ModelKind> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = ModelKind::ALL.iter().map(|k| k.name()).collect();
                anyhow::anyhow!("unknown model `{s}` (known: {names:?})")
            })
    }

    /// The dotted path of the layer Grad-CAM reads (the last convolutional feature map).
    pub fn gradcam_layer(self) -> &'static str {
        match self {
            ModelKind::Cnn | ModelKind::CnnLstm | ModelKind::CnnLstmAttention => "relu3",
            ModelKind::ResNet1d => "layer3.1.relu2",
        }
    }
}

/// One trained or trainable network of the zoo.
#[derive(Clone, Debug)]
pub enum Net {
    /// [`BeatCnn`].
    Cnn(BeatCnn),
    /// [`CnnLstm`] (LSTM 128 → 64, last hidden state).
    CnnLstm(CnnLstm),
    /// [`CnnLstmAttention`] in its default configuration (H 64, unidirectional, A 64).
    CnnLstmAttention(CnnLstmAttention),
    /// [`ResNet1d`] in its AAMI configuration ([`ResNet1dConfig::aami`]).
    ResNet1d(ResNet1d),
}

impl Net {
    /// A freshly initialised network of `kind` for `classes` classes; weights from `seed`.
    ///
    /// # Errors
    /// If `kind` has no implementation in `ecgrad-models` yet, or the constructor refuses.
    pub fn new(kind: ModelKind, seed: u64, classes: usize) -> anyhow::Result<Net> {
        Ok(match kind {
            ModelKind::Cnn => Net::Cnn(BeatCnn::new(seed, classes)?),
            ModelKind::ResNet1d => Net::ResNet1d(ResNet1d::new(
                seed,
                ResNet1dConfig {
                    classes,
                    ..ResNet1dConfig::aami()
                },
            )?),
            ModelKind::CnnLstm => Net::CnnLstm(CnnLstm::new(seed, classes)?),
            ModelKind::CnnLstmAttention => Net::CnnLstmAttention(CnnLstmAttention::new(
                seed,
                CnnLstmAttentionConfig {
                    classes,
                    ..CnnLstmAttentionConfig::default()
                },
            )?),
        })
    }

    /// Which network this is.
    pub fn kind(&self) -> ModelKind {
        match self {
            Net::Cnn(_) => ModelKind::Cnn,
            Net::CnnLstm(_) => ModelKind::CnnLstm,
            Net::CnnLstmAttention(_) => ModelKind::CnnLstmAttention,
            Net::ResNet1d(_) => ModelKind::ResNet1d,
        }
    }

    fn inner(&self) -> &dyn Module {
        match self {
            Net::Cnn(m) => m,
            Net::CnnLstm(m) => m,
            Net::CnnLstmAttention(m) => m,
            Net::ResNet1d(m) => m,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Module {
        match self {
            Net::Cnn(m) => m,
            Net::CnnLstm(m) => m,
            Net::CnnLstmAttention(m) => m,
            Net::ResNet1d(m) => m,
        }
    }

    /// MC-dropout mode: dropout active, batch norm on running statistics. Returns false (and
    /// leaves the model in evaluation mode) if the network has no dropout layer.
    pub fn set_mc_dropout(&mut self) -> bool {
        match self {
            Net::Cnn(m) => {
                m.set_training(true);
                m.features.set_training(false);
                true
            }
            // No dropout layer: MC dropout does not apply.
            Net::CnnLstm(_) | Net::CnnLstmAttention(_) | Net::ResNet1d(_) => {
                self.set_training(false);
                false
            }
        }
    }
}

impl Parameters<f32> for Net {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.inner_mut().visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.inner_mut().visit_buffers(f);
    }
}

impl Module for Net {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> ModelResult<Var<f32>> {
        self.inner().forward(tape, x)
    }
    fn set_training(&mut self, training: bool) {
        self.inner_mut().set_training(training);
    }
    fn describe(&self) -> String {
        self.inner().describe()
    }
    fn trace(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
        path: &str,
        rows: &mut Vec<SummaryRow>,
    ) -> ModelResult<Var<f32>> {
        self.inner().trace(tape, x, path, rows)
    }
}
