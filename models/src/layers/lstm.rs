//! `Lstm`: a long short-term memory layer over batch-first sequences (NTF), uni- or
//! bidirectional, stacked, with PyTorch's parameter names, shapes and gate order.
//!
//! For each time step t, with x_t `[n, f]`, h_{t−1}, c_{t−1} `[n, H]` (both 0 at the start),
//! gates z = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh `[n, 4H]`, split in PyTorch's order
//! **i, f, g, o**:
//! ```text
//! i = σ(z[:, 0:H])    f = σ(z[:, H:2H])    g = tanh(z[:, 2H:3H])    o = σ(z[:, 3H:4H])
//! c_t = f ⊙ c_{t−1} + i ⊙ g                h_t = o ⊙ tanh(c_t)
//! ```
//! The output is h_t for every t, `[n, T, H]`; a bidirectional layer also runs from t = T−1 down
//! to 0 with its own weights (suffix `_reverse`) and concatenates features, `[n, T, 2H]`. Layer
//! l > 0 reads the output of layer l − 1.
//!
//! Parameters (per layer l and direction): `weight_ih_l{l}` `[4H, f]`, `weight_hh_l{l}`
//! `[4H, H]`, `bias_ih_l{l}` `[4H]`, `bias_hh_l{l}` `[4H]`, all initialised U(±1/√H) as in
//! PyTorch. Cost per step and direction: 2·n·4H·(f + H) FLOPs for the two matmuls, plus O(n·H);
//! backward about twice that.
//!
//! # Two forward paths
//! - [`Lstm::forward_with_state`] (and [`Module::forward`]) records **one node per layer and
//!   direction**: autograd's [`ops::lstm`] over the engine's fused sequence kernels (one GEMM for
//!   the input projection of all steps, one recurrent GEMM plus a SIMD pointwise pass per step;
//!   backpropagation through time in one rule that reuses the saved gates).
//! - [`Lstm::forward_reference`] composes each step from elementary recorded ops
//!   ([`reference`]): about 25 tape nodes per step, slow, but the equations above line by line.
//!   Tests check that both give the same values and the same gradients for every parameter and
//!   the input.

use ecgrad_autograd::engine::{Rng, Shape};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::module::Module;

pub mod reference;

/// The four weights of one layer and direction.
#[derive(Clone, Debug)]
pub struct LstmWeights {
    /// W_ih `[4H, f]` (`weight_ih_l{l}[_reverse]`).
    pub weight_ih: Param<f32>,
    /// W_hh `[4H, H]` (`weight_hh_l{l}[_reverse]`).
    pub weight_hh: Param<f32>,
    /// b_ih `[4H]` (`bias_ih_l{l}[_reverse]`).
    pub bias_ih: Param<f32>,
    /// b_hh `[4H]` (`bias_hh_l{l}[_reverse]`).
    pub bias_hh: Param<f32>,
}

/// LSTM over NTF input (PyTorch `nn.LSTM(batch_first=True)`).
#[derive(Clone, Debug)]
pub struct Lstm {
    input_size: usize,
    hidden: usize,
    num_layers: usize,
    bidirectional: bool,
    /// Weights in PyTorch's order: layer 0 forward, layer 0 reverse, layer 1 forward, …
    pub weights: Vec<LstmWeights>,
}

/// What [`Lstm::forward_with_state`] returns.
pub struct LstmOutput {
    /// h_t for every t, `[n, T, D·H]` (D = 2 if bidirectional).
    pub output: Var<f32>,
    /// Final hidden state per layer and direction (PyTorch's `h_n` order), each `[n, H]`. For a
    /// reverse direction this is its state after t = 0.
    pub h_n: Vec<Var<f32>>,
    /// Final cell state, same order and shapes.
    pub c_n: Vec<Var<f32>>,
}

impl Lstm {
    /// An LSTM with PyTorch's default initialisation U(±1/√H), drawn in PyTorch's parameter
    /// order from `rng`.
    ///
    /// # Errors
    /// An invalid-parameter error if a size or `num_layers` is zero.
    pub fn new(
        input_size: usize,
        hidden: usize,
        num_layers: usize,
        bidirectional: bool,
        rng: &mut Rng,
    ) -> Result<Lstm> {
        if input_size == 0 || hidden == 0 || num_layers == 0 {
            return Err(invalid(
                "Lstm",
                "sizes",
                format!("input {input_size}, hidden {hidden}, layers {num_layers}"),
                "must all be ≥ 1",
            ));
        }
        let dirs = if bidirectional { 2 } else { 1 };
        let mut weights = Vec::new();
        for l in 0..num_layers {
            let f = if l == 0 { input_size } else { dirs * hidden };
            for d in 0..dirs {
                let sfx = format!("l{l}{}", if d == 1 { "_reverse" } else { "" });
                let mut p = |name: &str, shape: Shape| -> Result<Param<f32>> {
                    Ok(Param::new(
                        format!("{name}_{sfx}"),
                        init::lstm_default(shape, hidden, rng)?,
                    ))
                };
                weights.push(LstmWeights {
                    weight_ih: p("weight_ih", Shape::d2(4 * hidden, f))?,
                    weight_hh: p("weight_hh", Shape::d2(4 * hidden, hidden))?,
                    bias_ih: p("bias_ih", Shape::d1(4 * hidden))?,
                    bias_hh: p("bias_hh", Shape::d1(4 * hidden))?,
                });
            }
        }
        Ok(Lstm {
            input_size,
            hidden,
            num_layers,
            bidirectional,
            weights,
        })
    }

    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        self.hidden
    }
    /// Whether the layer also runs backwards in time (output features 2·H).
    pub fn bidirectional(&self) -> bool {
        self.bidirectional
    }

    /// The output sequence and the final states, through the fused kernels (one tape node per
    /// layer and direction).
    ///
    /// # Errors
    /// An invalid-parameter error unless `x` is `[n, T, input_size]` with n, T ≥ 1.
    pub fn forward_with_state(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<LstmOutput> {
        self.run(tape, x, Path::Fused)
    }

    /// The same as [`Lstm::forward_with_state`], composed step by step from elementary recorded
    /// ops ([`reference`]): the slow, readable twin the fused path is tested against.
    ///
    /// # Errors
    /// As [`Lstm::forward_with_state`].
    pub fn forward_reference(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<LstmOutput> {
        self.run(tape, x, Path::Reference)
    }

    fn run(&self, tape: &mut Tape<f32>, x: &Var<f32>, path: Path) -> Result<LstmOutput> {
        let (n, t_len, f) = x.shape().dims3("Lstm", "x (N, T, F)")?;
        if f != self.input_size || n == 0 || t_len == 0 {
            return Err(invalid(
                "Lstm",
                "x",
                x.shape(),
                format!("must be [n ≥ 1, T ≥ 1, {}] (input_size)", self.input_size),
            ));
        }
        let dirs = if self.bidirectional { 2 } else { 1 };
        let (mut h_n, mut c_n) = (Vec::new(), Vec::new());
        let mut input = x.clone();
        for l in 0..self.num_layers {
            let mut outs = Vec::with_capacity(dirs);
            for d in 0..dirs {
                let w = &self.weights[l * dirs + d];
                let (out, h, c) = match path {
                    Path::Fused => fused_direction(tape, &input, w, d == 1)?,
                    Path::Reference => reference::direction(self.hidden, tape, &input, w, d == 1)?,
                };
                outs.push(out);
                h_n.push(h);
                c_n.push(c);
            }
            input = if dirs == 1 {
                outs.pop().expect("invariant: one direction")
            } else {
                ops::concat(tape, &[&outs[0], &outs[1]], 2)?
            };
        }
        Ok(LstmOutput {
            output: input,
            h_n,
            c_n,
        })
    }
}

/// Which implementation [`Lstm::run`] uses.
#[derive(Clone, Copy, Debug)]
enum Path {
    Fused,
    Reference,
}

/// One direction of one layer as one tape node (autograd's fused [`ops::lstm`]).
fn fused_direction(
    tape: &mut Tape<f32>,
    x: &Var<f32>,
    w: &LstmWeights,
    reverse: bool,
) -> Result<(Var<f32>, Var<f32>, Var<f32>)> {
    let (w_ih, w_hh) = (tape.param(&w.weight_ih), tape.param(&w.weight_hh));
    let (b_ih, b_hh) = (tape.param(&w.bias_ih), tape.param(&w.bias_hh));
    let p = ops::LstmParams {
        w_ih: &w_ih,
        w_hh: &w_hh,
        b_ih: &b_ih,
        b_hh: &b_hh,
    };
    let y = ops::lstm(tape, x, p, None, reverse)?;
    Ok((y.output, y.h_n, y.c_n))
}

impl Parameters<f32> for Lstm {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        for w in &mut self.weights {
            f(&mut w.weight_ih);
            f(&mut w.weight_hh);
            f(&mut w.bias_ih);
            f(&mut w.bias_hh);
        }
    }
}

impl Module for Lstm {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(self.forward_with_state(tape, x)?.output)
    }
    fn describe(&self) -> String {
        format!(
            "LSTM({} → {}, layers {}{})",
            self.input_size,
            self.hidden,
            self.num_layers,
            if self.bidirectional {
                ", bidirectional"
            } else {
                ""
            }
        )
    }
}
