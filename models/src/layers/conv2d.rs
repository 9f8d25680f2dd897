//! `Conv2d`: a 2D convolution layer over NCHW tensors, with PyTorch's layout, names and default
//! initialisation (`nn.Conv2d`, groups = 1) — for spectrogram- or image-like inputs (seed 000's
//! 2D block, seed 002's lessons).
//!
//! y\[n,o,i,j\] = b\[o\] + Σ_c Σ_u Σ_v W\[o,c,u,v\]·x\[n,c, i·s_h + u·d_h − p_h, j·s_w + v·d_w − p_w\]
//!
//! Shapes: weight W `[C_out, C_in, KH, KW]` (`"weight"`), bias b `[C_out]` (`"bias"`); input
//! `[N, C_in, H, W]`, output `[N, C_out, OH, OW]` with OH = ⌊(H + 2p_h − d_h(KH − 1) − 1)/s_h⌋ + 1
//! (likewise OW). "Same" padding for an odd kernel and stride 1 is p = (K − 1)/2
//! ([`Conv2d::same`]).
//! Cost: 2·N·C_out·C_in·KH·KW·OH·OW FLOPs forward, about the same again for each of dx and dW.
//! Gradients (autograd's conv2d rule): dx is the transposed convolution of dy with W,
//! dW\[o,c,u,v\] = Σ_{n,i,j} dy\[n,o,i,j\]·x\[n,c,…\], db\[o\] = Σ_{n,i,j} dy\[n,o,i,j\].

use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::ops::Conv2dParams;
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::module::Module;

/// 2D convolution layer (PyTorch `nn.Conv2d` with `groups = 1`).
#[derive(Clone, Debug)]
pub struct Conv2d {
    /// W `[C_out, C_in, KH, KW]`.
    pub weight: Param<f32>,
    /// b `[C_out]`, if the layer has a bias.
    pub bias: Option<Param<f32>>,
    /// Stride, padding and dilation per axis (H, W).
    pub params: Conv2dParams,
}

impl Conv2d {
    /// A layer with PyTorch's default initialisation (W and b from U(±1/√(C_in·KH·KW))), drawn
    /// from `rng`, weight first, then bias.
    ///
    /// # Errors
    /// An invalid-parameter error if a size, a stride or a dilation is zero.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        params: Conv2dParams,
        bias: bool,
        rng: &mut Rng,
    ) -> Result<Conv2d> {
        let shape = Shape::d4(out_channels, in_channels, kernel.0, kernel.1);
        let (w, b) = init::pytorch_default(shape, bias, rng)?;
        Conv2d::from_tensors(w, b, params)
    }

    /// A k×k layer (k odd) with stride 1 and "same" padding (k − 1)/2, so H and W are kept.
    ///
    /// # Errors
    /// An invalid-parameter error for an even or zero kernel or a zero channel count.
    pub fn same(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        bias: bool,
        rng: &mut Rng,
    ) -> Result<Conv2d> {
        if kernel.is_multiple_of(2) {
            return Err(invalid(
                "Conv2d::same",
                "kernel",
                kernel,
                "must be odd for symmetric same padding",
            ));
        }
        let p = (kernel - 1) / 2;
        let params = Conv2dParams {
            padding: (p, p),
            ..Default::default()
        };
        Conv2d::new(
            in_channels,
            out_channels,
            (kernel, kernel),
            params,
            bias,
            rng,
        )
    }

    /// A layer with the given weight `[C_out, C_in, KH, KW]`, optional bias `[C_out]` and
    /// params.
    ///
    /// # Errors
    /// A rank error if the weight is not rank 4; an invalid-parameter error if the bias is not
    /// `[C_out]`, a size is zero, or a stride or dilation is zero.
    pub fn from_tensors(
        weight: Tensor<f32>,
        bias: Option<Tensor<f32>>,
        params: Conv2dParams,
    ) -> Result<Conv2d> {
        let (out, inp, kh, kw) = weight.shape().dims4("Conv2d", "weight")?;
        if out == 0 || inp == 0 || kh == 0 || kw == 0 {
            return Err(invalid(
                "Conv2d",
                "weight",
                weight.shape(),
                "sizes must be ≥ 1",
            ));
        }
        let p = &params;
        for (name, v) in [
            ("stride", p.stride.0.min(p.stride.1)),
            ("dilation", p.dilation.0.min(p.dilation.1)),
        ] {
            if v == 0 {
                return Err(invalid("Conv2d", name, 0, "must be ≥ 1 on both axes"));
            }
        }
        if let Some(b) = &bias {
            if b.shape() != Shape::d1(out) {
                return Err(invalid(
                    "Conv2d",
                    "bias",
                    b.shape(),
                    format!("must be [{out}] (one per output channel)"),
                ));
            }
        }
        Ok(Conv2d {
            weight: Param::new("weight", weight),
            bias: bias.map(|b| Param::new("bias", b)),
            params,
        })
    }

    /// Input channels C_in.
    pub fn in_channels(&self) -> usize {
        self.weight.value.dims()[1]
    }
    /// Output channels C_out.
    pub fn out_channels(&self) -> usize {
        self.weight.value.dims()[0]
    }
    /// Kernel (KH, KW).
    pub fn kernel(&self) -> (usize, usize) {
        let d = self.weight.value.dims();
        (d[2], d[3])
    }
}

impl Parameters<f32> for Conv2d {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}

impl Module for Conv2d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let w = tape.param(&self.weight);
        let b = self.bias.as_ref().map(|b| tape.param(b));
        Ok(ops::conv2d(tape, x, &w, b.as_ref(), &self.params)?)
    }
    fn describe(&self) -> String {
        let p = &self.params;
        let (kh, kw) = self.kernel();
        let mut s = format!(
            "Conv2d({} → {}, {kh}×{kw}",
            self.in_channels(),
            self.out_channels()
        );
        if p.stride != (1, 1) {
            s += &format!(", stride {:?}", p.stride);
        }
        if p.padding != (0, 0) {
            s += &format!(", pad {:?}", p.padding);
        }
        if p.dilation != (1, 1) {
            s += &format!(", dilation {:?}", p.dilation);
        }
        if self.bias.is_none() {
            s += ", no bias";
        }
        s + ")"
    }
}
