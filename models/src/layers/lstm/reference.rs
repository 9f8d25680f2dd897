//! The composed reference of [`Lstm`](super::Lstm): one direction of one layer built from
//! autograd's elementary recorded ops (matmul, bias_add, narrow, tanh, scale, add, mul, concat),
//! so backpropagation through time is nothing but the tape walked backwards. It is slow (about
//! 25 nodes per time step) but every step of it reads like the textbook equations, and it is the
//! second, independent reference that the fused path ([`ops::lstm()`]) is tested against (values
//! and every gradient, `models/tests/lstm.rs`).
//!
//! How it is computed: x·W_ihᵀ + b_ih + b_hh is one matmul for all time steps (`[n·T, f]` times
//! `[f, 4H]`); each step then adds h·W_hhᵀ (skipped at t = 0, where h = 0). σ(z) is written as
//! ½·tanh(z/2) + ½ (an identity), so the reference shares no activation kernel with the fused
//! path's sigmoid.

use ecgrad_autograd::engine::{Shape, Tensor};
use ecgrad_autograd::{Tape, Var, ops};

use super::LstmWeights;
use crate::error::Result;

/// One direction of one layer, composed from recorded ops: returns (output `[n, T, H]`,
/// h_last, c_last).
pub(super) fn direction(
    hidden: usize,
    tape: &mut Tape<f32>,
    x: &Var<f32>,
    w: &LstmWeights,
    reverse: bool,
) -> Result<(Var<f32>, Var<f32>, Var<f32>)> {
    let (n, t_len, f) = x.shape().dims3("Lstm", "x")?;
    let h4 = 4 * hidden;
    let hs = hidden;
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
