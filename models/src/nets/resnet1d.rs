//! `ResNet1d`: a 1D residual network for beat classification (the ResNet-1D of seed 003; the
//! paper gives no layer-by-layer architecture, so this is a small torchvision-style ResNet
//! sized for 187-sample beats, configurable through [`ResNet1dConfig`]).
//!
//! ```text
//! x [N, C_in, L]
//! conv1 Conv1d(C_in→stem, k_stem, pad k_stem/2, no bias) → bn1 → ReLU          [N, stem, L]
//! layer1 … layerS: `blocks` ResidualBlock1d each; the first block of stage i goes to
//!        widths[i] with stride strides[i] (projection shortcut when that changes the shape)
//! global average pool over time                                                [N, widths[S−1]]
//! fc Linear(widths[S−1] → classes)                                             [N, classes]
//! ```
//! Default ([`ResNet1dConfig::aami`]): stem 32 channels with k7, three stages of two blocks
//! with widths 32, 64, 128, strides 1, 2, 2, kernel 5, 5 classes: 187 → 187 → 94 → 47 samples,
//! 13 convolutions (+ 2 projections) and one linear layer, 392 229 parameters,
//! ≈ 49 MFLOP forward per beat (about 12× `BeatCnn`).
//!
//! Names follow torchvision's ResNet: `conv1.weight`, `bn1.*`, `layer2.0.conv1.weight`,
//! `layer2.0.downsample.0.weight`, `layer2.0.downsample.1.running_mean`, …, `fc.weight`,
//! `fc.bias`. Traces (summaries, Grad-CAM) see the blocks' leaves: Grad-CAM's usual layer is the
//! last block's output, `"layer3.1.relu2"` by default.

use ecgrad_autograd::engine::Rng;
use ecgrad_autograd::ops::Conv1dParams;
use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var};

use crate::error::{Result, invalid};
use crate::layers::{BatchNorm1d, Conv1d, GlobalAvgPool1d, Linear, Relu, ResidualBlock1d};
use crate::module::{Module, SummaryRow};
use crate::nets::stage::{Stages, named};

/// The architecture of a [`ResNet1d`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResNet1dConfig {
    /// Input channels (leads).
    pub in_channels: usize,
    /// Channels of the stem convolution.
    pub stem_channels: usize,
    /// Kernel of the stem convolution (odd).
    pub stem_kernel: usize,
    /// Output channels of each stage.
    pub widths: Vec<usize>,
    /// Stride of the first block of each stage (same length as `widths`).
    pub strides: Vec<usize>,
    /// Residual blocks per stage (≥ 1).
    pub blocks: usize,
    /// Kernel of the block convolutions (odd).
    pub kernel: usize,
    /// Output classes.
    pub classes: usize,
}

impl ResNet1dConfig {
    /// The default for single-lead 187-sample beats and the 5 AAMI classes (see the module
    /// docs).
    pub fn aami() -> ResNet1dConfig {
        ResNet1dConfig {
            in_channels: 1,
            stem_channels: 32,
            stem_kernel: 7,
            widths: vec![32, 64, 128],
            strides: vec![1, 2, 2],
            blocks: 2,
            kernel: 5,
            classes: 5,
        }
    }
}

/// A 1D ResNet classifier (see the module docs).
#[derive(Clone, Debug)]
pub struct ResNet1d {
    /// Stem convolution.
    pub conv1: Conv1d,
    /// Stem batch norm.
    pub bn1: BatchNorm1d,
    /// Stages: `stages[i][j]` is `layer{i+1}.{j}`.
    pub stages: Vec<Vec<ResidualBlock1d>>,
    /// Classifier.
    pub fc: Linear,
    config: ResNet1dConfig,
}

impl ResNet1d {
    /// A network with PyTorch's default initialisation from `Rng::stream(seed, "init")`
    /// (stem, then each block in order, then fc).
    ///
    /// # Errors
    /// An invalid-parameter error for an empty or mismatched `widths`/`strides`, zero blocks,
    /// zero classes, or an even kernel.
    pub fn new(seed: u64, config: ResNet1dConfig) -> Result<ResNet1d> {
        let op = "ResNet1d";
        if config.widths.is_empty() || config.widths.len() != config.strides.len() {
            return Err(invalid(
                op,
                "widths/strides",
                format!("{:?}/{:?}", config.widths, config.strides),
                "need one stride per stage and at least one stage",
            ));
        }
        if config.blocks == 0 || config.classes == 0 {
            return Err(invalid(
                op,
                "blocks/classes",
                format!("{}/{}", config.blocks, config.classes),
                "must be ≥ 1",
            ));
        }
        if config.stem_kernel.is_multiple_of(2) {
            return Err(invalid(
                op,
                "stem_kernel",
                config.stem_kernel,
                "must be odd",
            ));
        }
        let mut rng = Rng::stream(seed, "init");
        let stem = Conv1dParams {
            padding: config.stem_kernel / 2,
            ..Default::default()
        };
        let conv1 = named(
            "conv1",
            Conv1d::new(
                config.in_channels,
                config.stem_channels,
                config.stem_kernel,
                stem,
                false,
                &mut rng,
            )?,
        );
        let bn1 = named("bn1", BatchNorm1d::new(config.stem_channels)?);
        let mut stages = Vec::with_capacity(config.widths.len());
        let mut c = config.stem_channels;
        for (i, (&w, &s)) in config.widths.iter().zip(&config.strides).enumerate() {
            let mut blocks = Vec::with_capacity(config.blocks);
            for j in 0..config.blocks {
                let stride = if j == 0 { s } else { 1 };
                let block = ResidualBlock1d::new(c, w, config.kernel, stride, &mut rng)?;
                blocks.push(named(&format!("layer{}.{j}", i + 1), block));
                c = w;
            }
            stages.push(blocks);
        }
        let fc = named("fc", Linear::new(c, config.classes, true, &mut rng)?);
        Ok(ResNet1d {
            conv1,
            bn1,
            stages,
            fc,
            config,
        })
    }

    /// The architecture.
    pub fn config(&self) -> &ResNet1dConfig {
        &self.config
    }

    /// The output of the last stage, `[N, widths.last(), L′]` (before the global pool).
    ///
    /// # Errors
    /// Shape errors when x is not `[N, in_channels, L]`.
    pub fn forward_features(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.features(&mut Stages::forward(tape), x)
    }

    fn features(&self, s: &mut Stages<'_>, x: &Var<f32>) -> Result<Var<f32>> {
        let h = s.call("conv1", &self.conv1, x)?;
        let h = s.call("bn1", &self.bn1, &h)?;
        let mut h = s.call("relu", &Relu, &h)?;
        for (i, stage) in self.stages.iter().enumerate() {
            for (j, block) in stage.iter().enumerate() {
                h = s.call(&format!("layer{}.{j}", i + 1), block, &h)?;
            }
        }
        Ok(h)
    }

    fn run(&self, s: &mut Stages<'_>, x: &Var<f32>) -> Result<Var<f32>> {
        let h = self.features(s, x)?;
        let h = s.call("gap", &GlobalAvgPool1d, &h)?;
        s.call("fc", &self.fc, &h)
    }
}

impl Parameters<f32> for ResNet1d {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.conv1.visit_params(f);
        self.bn1.visit_params(f);
        for b in self.stages.iter_mut().flatten() {
            b.visit_params(f);
        }
        self.fc.visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.bn1.visit_buffers(f);
        for b in self.stages.iter_mut().flatten() {
            b.visit_buffers(f);
        }
    }
}

impl Module for ResNet1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.run(&mut Stages::forward(tape), x)
    }
    fn set_training(&mut self, training: bool) {
        self.bn1.set_training(training);
        for b in self.stages.iter_mut().flatten() {
            b.set_training(training);
        }
    }
    fn describe(&self) -> String {
        format!(
            "ResNet1d(widths {:?}, {} blocks/stage, {} classes)",
            self.config.widths, self.config.blocks, self.config.classes
        )
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
