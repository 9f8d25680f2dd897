//! `Conv1d`: a 1D convolution layer over NCL tensors, with PyTorch's layout, names and default
//! initialisation (`nn.Conv1d`, groups = 1).
//!
//! y\[n,o,t\] = b\[o\] + Σ_c Σ_j W\[o,c,j\]·x\[n,c, t·s + j·d − p\]   (zero outside the signal)
//!
//! Shapes: weight W `[C_out, C_in, K]` (`"weight"`), bias b `[C_out]` (`"bias"`); input
//! `[N, C_in, L_in]`, output `[N, C_out, L_out]` with
//! L_out = ⌊(L_in + 2p − d·(K − 1) − 1)/s⌋ + 1 (s stride, p padding, d dilation).
//! Cost: 2·N·C_out·C_in·K·L_out FLOPs forward, about the same again for each of dx and dW.
//! Gradients (autograd's conv1d rule, engine kernels): dx is a transposed convolution of dy
//! with W; dW\[o,c,j\] = Σ_n Σ_t dy\[n,o,t\]·x\[n,c,t·s + j·d − p\]; db\[o\] = Σ_n Σ_t dy\[n,o,t\].
//! A first layer, whose input is data, never forms dx (the tape does not ask for it).
//!
//! The forward is one recorded op, `ops::conv1d` (bias included), so nothing is copied.

use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::ops::Conv1dParams;
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::module::Module;

/// 1D convolution layer (PyTorch `nn.Conv1d` with `groups = 1`).
#[derive(Clone, Debug)]
pub struct Conv1d {
    /// W `[C_out, C_in, K]`.
    pub weight: Param<f32>,
    /// b `[C_out]`, if the layer has a bias.
    pub bias: Option<Param<f32>>,
    /// Stride, padding and dilation.
    pub params: Conv1dParams,
}

impl Conv1d {
    /// A layer with PyTorch's default initialisation (W and b from U(±1/√(C_in·K))), drawn
    /// from `rng` (derive it with `Rng::stream(seed, "init")`), weight first, then bias.
    /// `params` holds stride, padding and dilation (`Conv1dParams::default()` is 1, 0, 1).
    ///
    /// # Errors
    /// An invalid-parameter error if a size, the stride or the dilation is zero.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        params: Conv1dParams,
        bias: bool,
        rng: &mut Rng,
    ) -> Result<Conv1d> {
        let (w, b) =
            init::pytorch_default(Shape::d3(out_channels, in_channels, kernel), bias, rng)?;
        Conv1d::from_tensors(w, b, params)
    }

    /// A layer with the given weight `[C_out, C_in, K]`, optional bias `[C_out]` and params.
    ///
    /// # Errors
    /// A rank error if the weight is not rank 3; an invalid-parameter error if the bias is not
    /// `[C_out]`, a size is zero, or the stride or dilation is zero.
    pub fn from_tensors(
        weight: Tensor<f32>,
        bias: Option<Tensor<f32>>,
        params: Conv1dParams,
    ) -> Result<Conv1d> {
        let (out, inp, k) = weight.shape().dims3("Conv1d", "weight")?;
        if out == 0 || inp == 0 || k == 0 {
            return Err(invalid(
                "Conv1d",
                "weight",
                weight.shape(),
                "sizes must be ≥ 1",
            ));
        }
        params.validate("Conv1d")?;
        if let Some(b) = &bias {
            if b.shape() != Shape::d1(out) {
                return Err(invalid(
                    "Conv1d",
                    "bias",
                    b.shape(),
                    format!("must be [{out}] (one per output channel)"),
                ));
            }
        }
        Ok(Conv1d {
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
    /// Kernel taps K.
    pub fn kernel(&self) -> usize {
        self.weight.value.dims()[2]
    }
}

impl Parameters<f32> for Conv1d {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}

impl Module for Conv1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let w = tape.param(&self.weight);
        let b = self.bias.as_ref().map(|b| tape.param(b));
        Ok(ops::conv1d(tape, x, &w, b.as_ref(), self.params)?)
    }
    fn describe(&self) -> String {
        let p = &self.params;
        let mut s = format!(
            "Conv1d({} → {}, k{}",
            self.in_channels(),
            self.out_channels(),
            self.kernel()
        );
        if p.stride != 1 {
            s += &format!(", stride {}", p.stride);
        }
        if p.padding != 0 {
            s += &format!(", pad {}", p.padding);
        }
        if p.dilation != 1 {
            s += &format!(", dilation {}", p.dilation);
        }
        if self.bias.is_none() {
            s += ", no bias";
        }
        s + ")"
    }
}
