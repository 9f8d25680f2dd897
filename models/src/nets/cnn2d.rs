//! `Cnn2d`: seed 000's 2D convolutional block, stacked, with a replaceable head — for the
//! transfer-learning demo (train, freeze the backbone, put a new head on, fine-tune) and the
//! "residual vs plain" lesson of seed 002.
//!
//! One block (plain):
//! ```text
//! conv1 Conv2d(C_in→C, 3×3, same) → bn1 BatchNorm2d(C) → ReLU → MaxPool2d(2×2) → Dropout(p)
//! ```
//! One block (residual): the same, but the conv part is a basic residual unit,
//! ```text
//! u = ReLU( bn2(conv2(ReLU(bn1(conv1(x))))) + S(x) ),  S(x) = x, or shortcut.1(shortcut.0(x))
//!     (1×1 Conv2d + BatchNorm2d) when C_in ≠ C
//! ```
//! then MaxPool2d(2×2) → Dropout(p). Each block halves H and W (floor).
//!
//! The network is `backbone` (blocks `backbone.0`, `backbone.1`, …) then `head`, by default
//! `head.gap` GlobalAvgPool2d → `head.fc` Linear(C_last → classes), giving logits `[N, classes]`.
//! Names: `backbone.{i}.conv1.weight [C, C_in, 3, 3]`, `backbone.{i}.conv1.bias`,
//! `backbone.{i}.bn1.*` (and `conv2`, `bn2`, `shortcut.0`, `shortcut.1` in the residual
//! variant), `head.fc.weight`, `head.fc.bias`.
//!
//! Transfer learning: [`Cnn2d::freeze_backbone`] turns off `requires_grad` for every backbone
//! parameter (through [`set_requires_grad`]) **and** keeps the backbone in evaluation mode from
//! then on (batch norm uses and keeps its running statistics, dropout is off) — Keras'
//! `trainable = False` semantics, the usual choice when fine-tuning on a small data set. With
//! the backbone frozen and the input being data, the tape records no gradient need for any
//! backbone op, so backward runs through the head only. [`Cnn2d::replace_head`] swaps the head.
//! Cost per block: 2·N·C·C_in·9·H·W FLOPs for conv1 (+ 2·N·C²·9·H·W for conv2 when residual).

use ecgrad_autograd::engine::Rng;
use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::layers::{
    BatchNorm2d, Conv2d, Dropout, GlobalAvgPool2d, Linear, MaxPool2d, Relu, Sequential,
};
use crate::module::{Module, SummaryRow, prefix_names, set_requires_grad};
use crate::nets::stage::{Stages, named};

/// The architecture of a [`Cnn2d`].
#[derive(Clone, Debug, PartialEq)]
pub struct Cnn2dConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels of each block (the depth is `widths.len()`).
    pub widths: Vec<usize>,
    /// Dropout probability after each block (seed 000: 0.2).
    pub dropout: f64,
    /// Residual blocks instead of plain ones.
    pub residual: bool,
    /// Classes of the default head.
    pub classes: usize,
}

impl Cnn2dConfig {
    /// Seed 000's block with 64 channels, stacked twice, one input channel, plain, dropout 0.2.
    pub fn seed000(classes: usize) -> Cnn2dConfig {
        Cnn2dConfig {
            in_channels: 1,
            widths: vec![64, 64],
            dropout: 0.2,
            residual: false,
            classes,
        }
    }
}

/// The 1×1 conv + BN shortcut of a residual block whose channel count changes.
#[derive(Clone, Debug)]
struct Shortcut2d {
    conv: Conv2d,
    bn: BatchNorm2d,
}

/// One block of the backbone (see the module docs).
#[derive(Clone, Debug)]
pub struct ConvBlock2d {
    /// 3×3 same conv, C_in → C.
    pub conv1: Conv2d,
    /// BN after conv1.
    pub bn1: BatchNorm2d,
    /// Residual variant: the second conv and BN.
    pub conv2: Option<(Conv2d, BatchNorm2d)>,
    shortcut: Option<Shortcut2d>,
    pool: MaxPool2d,
    dropout: Dropout,
}

impl ConvBlock2d {
    /// A block C_in → C, plain or residual, convs initialised from `rng` (PyTorch defaults),
    /// dropout masks from `Rng::stream(dropout_seed, "dropout")`.
    ///
    /// # Errors
    /// An invalid-parameter error for zero channels or a dropout probability outside [0, 1].
    pub fn new(
        in_channels: usize,
        channels: usize,
        residual: bool,
        dropout: f64,
        dropout_seed: u64,
        rng: &mut Rng,
    ) -> Result<ConvBlock2d> {
        let conv1 = named("conv1", Conv2d::same(in_channels, channels, 3, true, rng)?);
        let bn1 = named("bn1", BatchNorm2d::new(channels)?);
        let (conv2, shortcut) = if residual {
            let c2 = named("conv2", Conv2d::same(channels, channels, 3, true, rng)?);
            let b2 = named("bn2", BatchNorm2d::new(channels)?);
            let sc = if in_channels != channels {
                Some(Shortcut2d {
                    conv: named(
                        "shortcut.0",
                        Conv2d::same(in_channels, channels, 1, false, rng)?,
                    ),
                    bn: named("shortcut.1", BatchNorm2d::new(channels)?),
                })
            } else {
                None
            };
            (Some((c2, b2)), sc)
        } else {
            (None, None)
        };
        Ok(ConvBlock2d {
            conv1,
            bn1,
            conv2,
            shortcut,
            pool: MaxPool2d::new(2, 2)?,
            dropout: Dropout::new(dropout, dropout_seed)?,
        })
    }

    /// True for the residual variant.
    pub fn is_residual(&self) -> bool {
        self.conv2.is_some()
    }

    fn run(&self, s: &mut Stages<'_>, x: &Var<f32>) -> Result<Var<f32>> {
        let h = s.call("conv1", &self.conv1, x)?;
        let h = s.call("bn1", &self.bn1, &h)?;
        let mut h = s.call("relu1", &Relu, &h)?;
        if let Some((conv2, bn2)) = &self.conv2 {
            let f = s.call("conv2", conv2, &h)?;
            let f = s.call("bn2", bn2, &f)?;
            let sc = match &self.shortcut {
                Some(p) => {
                    let t = s.call("shortcut.0", &p.conv, x)?;
                    s.call("shortcut.1", &p.bn, &t)?
                }
                None => x.clone(),
            };
            let sum = ops::add(s.tape(), &f, &sc)?;
            h = s.call("relu2", &Relu, &sum)?;
        }
        let h = s.call("pool", &self.pool, &h)?;
        s.call("dropout", &self.dropout, &h)
    }
}

impl Parameters<f32> for ConvBlock2d {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.conv1.visit_params(f);
        self.bn1.visit_params(f);
        if let Some((c, b)) = &mut self.conv2 {
            c.visit_params(f);
            b.visit_params(f);
        }
        if let Some(p) = &mut self.shortcut {
            p.conv.visit_params(f);
            p.bn.visit_params(f);
        }
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.bn1.visit_buffers(f);
        if let Some((_, b)) = &mut self.conv2 {
            b.visit_buffers(f);
        }
        if let Some(p) = &mut self.shortcut {
            p.bn.visit_buffers(f);
        }
    }
}

impl Module for ConvBlock2d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.run(&mut Stages::forward(tape), x)
    }
    fn set_training(&mut self, training: bool) {
        self.bn1.set_training(training);
        if let Some((_, b)) = &mut self.conv2 {
            b.set_training(training);
        }
        if let Some(p) = &mut self.shortcut {
            p.bn.set_training(training);
        }
        self.dropout.set_training(training);
    }
    fn describe(&self) -> String {
        format!(
            "ConvBlock2d({} → {}{})",
            self.conv1.in_channels(),
            self.conv1.out_channels(),
            if self.is_residual() { ", residual" } else { "" }
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

/// The stacked blocks of a [`Cnn2d`]: `[N, C_in, H, W]` → `[N, C_last, H/2ᵏ, W/2ᵏ]`.
#[derive(Clone, Debug)]
pub struct Cnn2dBackbone {
    /// The blocks, `backbone.0`, `backbone.1`, …
    pub blocks: Vec<ConvBlock2d>,
}

impl Parameters<f32> for Cnn2dBackbone {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        for b in &mut self.blocks {
            b.visit_params(f);
        }
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        for b in &mut self.blocks {
            b.visit_buffers(f);
        }
    }
}

impl Cnn2dBackbone {
    fn run(&self, s: &mut Stages<'_>, x: &Var<f32>) -> Result<Var<f32>> {
        let mut h = x.clone();
        for (i, b) in self.blocks.iter().enumerate() {
            h = s.call(&i.to_string(), b, &h)?;
        }
        Ok(h)
    }
}

impl Module for Cnn2dBackbone {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.run(&mut Stages::forward(tape), x)
    }
    fn set_training(&mut self, training: bool) {
        for b in &mut self.blocks {
            b.set_training(training);
        }
    }
    fn describe(&self) -> String {
        format!("Cnn2dBackbone({} blocks)", self.blocks.len())
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

/// Seed 000's 2D CNN with a replaceable head (see the module docs).
pub struct Cnn2d {
    /// The convolutional blocks (names `backbone.*`).
    pub backbone: Cnn2dBackbone,
    head: Box<dyn Module>,
    backbone_frozen: bool,
    training: bool,
}

impl Cnn2d {
    /// A network with the default head, weights from `Rng::stream(seed, "init")` (blocks in
    /// order, then the head), dropout masks from per-block streams of `seed`.
    ///
    /// # Errors
    /// An invalid-parameter error for no blocks, zero channels or classes, or a bad dropout
    /// probability.
    pub fn new(seed: u64, config: &Cnn2dConfig) -> Result<Cnn2d> {
        if config.widths.is_empty() {
            return Err(invalid("Cnn2d", "widths", "[]", "need at least one block"));
        }
        let mut rng = Rng::stream(seed, "init");
        let mut blocks = Vec::with_capacity(config.widths.len());
        let mut c = config.in_channels;
        for (i, &w) in config.widths.iter().enumerate() {
            let drop_seed = seed.wrapping_add(i as u64);
            let block =
                ConvBlock2d::new(c, w, config.residual, config.dropout, drop_seed, &mut rng)?;
            blocks.push(named(&format!("backbone.{i}"), block));
            c = w;
        }
        let head = Cnn2d::linear_head(c, config.classes, &mut rng)?;
        let mut net = Cnn2d {
            backbone: Cnn2dBackbone { blocks },
            head: Box::new(Sequential::new()),
            backbone_frozen: false,
            training: true,
        };
        net.replace_head(Box::new(head));
        Ok(net)
    }

    /// The default head for `channels` backbone channels: `gap` GlobalAvgPool2d → `fc`
    /// Linear(channels → classes), names local to the head (`fc.weight`).
    ///
    /// # Errors
    /// An invalid-parameter error for zero channels or classes.
    pub fn linear_head(channels: usize, classes: usize, rng: &mut Rng) -> Result<Sequential> {
        Sequential::new()
            .with_named("gap", GlobalAvgPool2d)?
            .with_named("fc", Linear::new(channels, classes, true, rng)?)
    }

    /// Output channels of the backbone (the input width of a head).
    pub fn backbone_channels(&self) -> usize {
        self.backbone
            .blocks
            .last()
            .map_or(0, |b| b.conv1.out_channels())
    }

    /// Replaces the head by `head` (built with local names; they are prefixed with `"head."`)
    /// and puts it in the network's current mode. Returns the old head.
    pub fn replace_head(&mut self, mut head: Box<dyn Module>) -> Box<dyn Module> {
        prefix_names(head.as_mut(), "head");
        head.set_training(self.training);
        std::mem::replace(&mut self.head, head)
    }

    /// The head.
    pub fn head(&self) -> &dyn Module {
        self.head.as_ref()
    }

    /// The head, mutably.
    pub fn head_mut(&mut self) -> &mut dyn Module {
        self.head.as_mut()
    }

    /// Freezes the backbone: no parameter of it requires a gradient, and it stays in evaluation
    /// mode (running statistics used and kept, no dropout) whatever `set_training` says.
    pub fn freeze_backbone(&mut self) {
        set_requires_grad(&mut self.backbone, false);
        self.backbone.set_training(false);
        self.backbone_frozen = true;
    }

    /// Undoes [`Cnn2d::freeze_backbone`] (for fine-tuning everything afterwards).
    pub fn unfreeze_backbone(&mut self) {
        set_requires_grad(&mut self.backbone, true);
        self.backbone_frozen = false;
        self.backbone.set_training(self.training);
    }

    /// True after [`Cnn2d::freeze_backbone`].
    pub fn is_backbone_frozen(&self) -> bool {
        self.backbone_frozen
    }

    /// The backbone's output, `[N, C_last, H′, W′]` (for Grad-CAM or another head).
    ///
    /// # Errors
    /// Shape errors when x is not `[N, in_channels, H, W]` or too small for the poolings.
    pub fn forward_features(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.backbone.forward(tape, x)
    }

    fn run(&self, s: &mut Stages<'_>, x: &Var<f32>) -> Result<Var<f32>> {
        let h = s.call("backbone", &self.backbone, x)?;
        s.call("head", self.head.as_ref(), &h)
    }
}

impl Parameters<f32> for Cnn2d {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.backbone.visit_params(f);
        self.head.visit_params(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.backbone.visit_buffers(f);
        self.head.visit_buffers(f);
    }
}

impl Module for Cnn2d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.run(&mut Stages::forward(tape), x)
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
        if !self.backbone_frozen {
            self.backbone.set_training(training);
        }
        self.head.set_training(training);
    }
    fn describe(&self) -> String {
        format!(
            "Cnn2d({} blocks{})",
            self.backbone.blocks.len(),
            if self.backbone_frozen {
                ", backbone frozen"
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
        self.run(&mut Stages::trace(tape, path, rows), x)
    }
}
