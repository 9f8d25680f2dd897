//! `ResidualBlock1d`: the basic residual block of ResNet (He et al., 2016) over NCL signals,
//! with torchvision's `BasicBlock` names.
//!
//! ```text
//! F(x) = bn2(conv2(ReLU(bn1(conv1(x)))))         conv1: C_in→C_out, k, stride s, pad k/2
//!                                                conv2: C_out→C_out, k, stride 1, pad k/2
//! S(x) = x                                       when C_in = C_out and s = 1
//!      = bn(conv1x1(x)), stride s               otherwise (the projection shortcut)
//! y    = ReLU(F(x) + S(x))
//! ```
//! The residual form y = F(x) + x lets a deep stack start near the identity, and gives the
//! gradient a path that skips the convolutions: dL/dx = dL/dy′ + (∂F/∂x)ᵀ·dL/dy′ with y′ the
//! pre-ReLU sum. Convolutions have no bias (the following BN's β plays that role), as in
//! torchvision. The kernel must be odd so that "same" padding k/2 keeps
//! L_out = ⌊(L − 1)/s⌋ + 1 on both paths.
//!
//! Names: `conv1.weight [C_out, C_in, k]`, `bn1.*`, `conv2.weight [C_out, C_out, k]`, `bn2.*`
//! and, with a projection, `downsample.0.weight [C_out, C_in, 1]`, `downsample.1.*`.
//! Cost: 2·N·L_out·C_out·k·(C_in + C_out) FLOPs for the two convs (+ 2·N·L_out·C_out·C_in for
//! the projection), plus BN and ReLU; backward ≈ 2× forward. Gradients come from the tape (each
//! op's rule; the addition passes dy to both paths).

use ecgrad_autograd::engine::Rng;
use ecgrad_autograd::ops::Conv1dParams;
use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::layers::{BatchNorm1d, Conv1d, Relu};
use crate::module::{Module, SummaryRow};
use crate::nets::stage::{Stages, named};

/// The 1×1 convolution and batch norm of a projection shortcut.
#[derive(Clone, Debug)]
pub struct Projection1d {
    /// Conv1d(C_in→C_out, k1, stride s, no bias) (`downsample.0`).
    pub conv: Conv1d,
    /// BatchNorm1d(C_out) (`downsample.1`).
    pub bn: BatchNorm1d,
}

/// Basic residual block over NCL (see the module docs).
#[derive(Clone, Debug)]
pub struct ResidualBlock1d {
    /// First conv (carries the stride).
    pub conv1: Conv1d,
    /// BN after conv1.
    pub bn1: BatchNorm1d,
    /// Second conv.
    pub conv2: Conv1d,
    /// BN after conv2.
    pub bn2: BatchNorm1d,
    /// The projection shortcut, present when channels or stride change.
    pub downsample: Option<Projection1d>,
}

impl ResidualBlock1d {
    /// A block from `in_channels` to `out_channels` with an odd `kernel` and `stride`, convs
    /// initialised as PyTorch's defaults from `rng` (conv1, conv2, then the projection's conv).
    ///
    /// # Errors
    /// An invalid-parameter error for an even kernel, a zero size or a zero stride.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        rng: &mut Rng,
    ) -> Result<ResidualBlock1d> {
        if kernel.is_multiple_of(2) {
            return Err(invalid(
                "ResidualBlock1d",
                "kernel",
                kernel,
                "must be odd (same padding k/2 on both paths)",
            ));
        }
        if stride == 0 {
            return Err(invalid("ResidualBlock1d", "stride", 0, "must be ≥ 1"));
        }
        let p = |stride, padding| Conv1dParams {
            stride,
            padding,
            dilation: 1,
        };
        let conv1 = Conv1d::new(
            in_channels,
            out_channels,
            kernel,
            p(stride, kernel / 2),
            false,
            rng,
        )?;
        let conv2 = Conv1d::new(
            out_channels,
            out_channels,
            kernel,
            p(1, kernel / 2),
            false,
            rng,
        )?;
        let downsample = if in_channels != out_channels || stride != 1 {
            Some(Projection1d {
                conv: named(
                    "downsample.0",
                    Conv1d::new(in_channels, out_channels, 1, p(stride, 0), false, rng)?,
                ),
                bn: named("downsample.1", BatchNorm1d::new(out_channels)?),
            })
        } else {
            None
        };
        Ok(ResidualBlock1d {
            conv1: named("conv1", conv1),
            bn1: named("bn1", BatchNorm1d::new(out_channels)?),
            conv2: named("conv2", conv2),
            bn2: named("bn2", BatchNorm1d::new(out_channels)?),
            downsample,
        })
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.conv1.in_channels()
    }
    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.conv1.out_channels()
    }
    /// Stride of the block (of conv1 and the shortcut).
    pub fn stride(&self) -> usize {
        self.conv1.params.stride
    }

    fn run(&self, s: &mut Stages<'_>, x: &Var<f32>) -> Result<Var<f32>> {
        let h = s.call("conv1", &self.conv1, x)?;
        let h = s.call("bn1", &self.bn1, &h)?;
        let h = s.call("relu1", &Relu, &h)?;
        let h = s.call("conv2", &self.conv2, &h)?;
        let h = s.call("bn2", &self.bn2, &h)?;
        let shortcut = match &self.downsample {
            Some(p) => {
                let sc = s.call("downsample.0", &p.conv, x)?;
                s.call("downsample.1", &p.bn, &sc)?
            }
            None => x.clone(),
        };
        let sum = ops::add(s.tape(), &h, &shortcut)?;
        s.call("relu2", &Relu, &sum)
    }
}

impl Parameters<f32> for ResidualBlock1d {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.conv1.visit_params(f);
        self.bn1.visit_params(f);
        self.conv2.visit_params(f);
        self.bn2.visit_params(f);
        if let Some(p) = &mut self.downsample {
            p.conv.visit_params(f);
            p.bn.visit_params(f);
        }
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        self.bn1.visit_buffers(f);
        self.bn2.visit_buffers(f);
        if let Some(p) = &mut self.downsample {
            p.bn.visit_buffers(f);
        }
    }
}

impl Module for ResidualBlock1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        self.run(&mut Stages::forward(tape), x)
    }
    fn set_training(&mut self, training: bool) {
        self.bn1.set_training(training);
        self.bn2.set_training(training);
        if let Some(p) = &mut self.downsample {
            p.bn.set_training(training);
        }
    }
    fn describe(&self) -> String {
        format!(
            "ResidualBlock1d({} → {}, k{}, stride {}{})",
            self.in_channels(),
            self.out_channels(),
            self.conv1.kernel(),
            self.stride(),
            if self.downsample.is_some() {
                ", projection"
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
