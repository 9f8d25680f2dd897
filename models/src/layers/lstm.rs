//! `Lstm`: a long short-term memory layer over batch-first sequences (NTF), uni- or
//! bidirectional, stacked, with PyTorch's parameter names, shapes and gate order — **composed
//! from autograd's existing ops** (matmul, add, mul, tanh, scale, narrow, concat). It is the
//! readable reference; the fused SIMD cell kernel of the issue will replace the per-step ops and
//! must match this layer.
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
//! PyTorch. Cost per step and direction: 2·n·4H·(f + H) FLOPs for the two matmuls, plus O(n·H).
//!
//! How it is computed: x·W_ihᵀ + b_ih + b_hh is one matmul for all time steps (`[n·T, f]` times
//! `[f, 4H]`); each step then adds h·W_hhᵀ (skipped at t = 0, where h = 0). σ(z) is written as
//! ½·tanh(z/2) + ½ (an identity), because autograd records tanh but not yet sigmoid.
//! Gradients come from the tape (backpropagation through time): each op's rule, in reverse.

use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::init;
use crate::module::Module;

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

    /// The output sequence and the final states.
    ///
    /// # Errors
    /// An invalid-parameter error unless `x` is `[n, T, input_size]` with n, T ≥ 1.
    pub fn forward_with_state(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<LstmOutput> {
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
                let (out, h, c) = self.direction(tape, &input, w, d == 1)?;
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

    /// One direction of one layer: returns (output `[n, T, H]`, h_last, c_last).
    fn direction(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
        w: &LstmWeights,
        reverse: bool,
    ) -> Result<(Var<f32>, Var<f32>, Var<f32>)> {
        let (n, t_len, f) = x.shape().dims3("Lstm", "x")?;
        let h4 = 4 * self.hidden;
        let hs = self.hidden;
        let (w_ih, w_hh) = (tape.param(&w.weight_ih), tape.param(&w.weight_hh));
        let (b_ih, b_hh) = (tape.param(&w.bias_ih), tape.param(&w.bias_hh));
        // x·W_ihᵀ + b_ih + b_hh for all steps at once: [n·T, 4H], viewed as [n, T, 4H].
        let x2 = ops::reshape(tape, x, Shape::d2(n * t_len, f))?;
        let xw = ops::matmul(tape, &x2, &w_ih, false, true)?;
        let xw = ops::reshape(tape, &xw, Shape::d3(n * t_len, h4, 1))?;
        let xw = ops::bias_add(tape, &xw, &b_ih)?;
        let xw = ops::bias_add(tape, &xw, &b_hh)?;
        let xw = ops::reshape(tape, &xw, Shape::d3(n, t_len, h4))?;
        let half = Var::constant(Tensor::full(Shape::d2(n, hs), 0.5));
        let sigmoid = |tape: &mut Tape<f32>, z: &Var<f32>| -> Result<Var<f32>> {
            let z = ops::scale(tape, z, 0.5)?;
            let z = ops::tanh(tape, &z)?;
            let z = ops::scale(tape, &z, 0.5)?;
            Ok(ops::add(tape, &z, &half)?)
        };
        let mut state: Option<(Var<f32>, Var<f32>)> = None;
        let mut hs_out: Vec<Option<Var<f32>>> = vec![None; t_len];
        let steps: Vec<usize> = if reverse {
            (0..t_len).rev().collect()
        } else {
            (0..t_len).collect()
        };
        for t in steps {
            let z = ops::narrow(tape, &xw, 1, t, 1)?;
            let mut z = ops::reshape(tape, &z, Shape::d2(n, h4))?;
            if let Some((h, _)) = &state {
                let hw = ops::matmul(tape, h, &w_hh, false, true)?;
                z = ops::add(tape, &z, &hw)?;
            }
            let gate = |tape: &mut Tape<f32>, k: usize| ops::narrow(tape, &z, 1, k * hs, hs);
            let (zi, zf, zg, zo) = (
                gate(tape, 0)?,
                gate(tape, 1)?,
                gate(tape, 2)?,
                gate(tape, 3)?,
            );
            let i = sigmoid(tape, &zi)?;
            let g = ops::tanh(tape, &zg)?;
            let o = sigmoid(tape, &zo)?;
            let ig = ops::mul(tape, &i, &g)?;
            let c = match &state {
                Some((_, c_prev)) => {
                    let f_gate = sigmoid(tape, &zf)?;
                    let fc = ops::mul(tape, &f_gate, c_prev)?;
                    ops::add(tape, &fc, &ig)?
                }
                None => ig, // c₋₁ = 0, so f ⊙ c₋₁ vanishes
            };
            let tc = ops::tanh(tape, &c)?;
            let h = ops::mul(tape, &o, &tc)?;
            hs_out[t] = Some(ops::reshape(tape, &h, Shape::d3(n, 1, hs))?);
            state = Some((h, c));
        }
        let pieces: Vec<Var<f32>> = hs_out
            .into_iter()
            .map(|h| h.expect("invariant: every step ran"))
            .collect();
        let refs: Vec<&Var<f32>> = pieces.iter().collect();
        let out = if refs.len() == 1 {
            pieces[0].clone()
        } else {
            ops::concat(tape, &refs, 1)?
        };
        let (h, c) = state.expect("invariant: T ≥ 1");
        Ok((out, h, c))
    }
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
