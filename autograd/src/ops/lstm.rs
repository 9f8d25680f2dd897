//! A whole LSTM layer (one direction) over a batch-first sequence, recorded on the tape as
//! **one node**; forward and backpropagation through time are the engine's fused sequence
//! kernels (`engine/src/ops/lstm_cell/`: one GEMM for the input projection of all steps, one
//! recurrent GEMM plus a SIMD pointwise pass per step, naive twins beside them).
//!
//! Forward, for t = 0 … T−1 (or T−1 … 0 when `reverse`), from (h₋₁, c₋₁) = (h0, c0) or zeros:
//! - aₜ = xₜ·W_ihᵀ + b_ih + hₜ₋₁·W_hhᵀ + b_hh, split in PyTorch's gate order i, f, g, o;
//! - cₜ = σ(aᶠ) ⊙ cₜ₋₁ + σ(aⁱ) ⊙ tanh(aᵍ),   hₜ = σ(aᵒ) ⊙ tanh(cₜ).
//!
//! Shapes: x `[N, T, F]`, W_ih `[4H, F]`, W_hh `[4H, H]`, b_ih, b_hh `[4H]`, h0, c0 `[N, H]` →
//! output `[N, T, H]` (every hₜ at its own position t, in either direction, as PyTorch's
//! bidirectional output is), h_n and c_n `[N, H]` (the state after the last step processed:
//! t = T−1 forward, t = 0 reverse). Cost: 2·N·T·4H·(F + H) FLOPs forward, about twice that
//! backward.
//!
//! Gradients (the engine's `lstm_backward`, derivation in `engine/src/ops/lstm_cell/mod.rs`):
//! - back through time, per step: dc̃ = dcₜ + dhₜ ⊙ o ⊙ (1 − tanh²cₜ), then the four gate
//!   gradients daₜ from the saved activated gates, dhₜ₋₁ = daₜ·W_hh, dcₜ₋₁ = dc̃ ⊙ f;
//! - after the loop: dx = da·W_ih, dW_ih = daᵀ·x, dW_hh = daᵀ·h₋₁, db_ih = db_hh = Σ da;
//! - dh0, dc0 are the carries left at t = −1. The upstream gradient of c_n seeds the first
//!   cell carry; that of h_n adds to dh at the last step.
//!
//! # Three outputs on a one-output tape
//! A tape node has one output, but an LSTM has three that a loss may use. The main node's value
//! is `output` itself (the kernels' buffer, no copy); `h_n` is a `narrow` of it (the last step
//! processed), so its gradient lands in `output`'s slot and costs nothing extra. `c_n` is a
//! second node over the same inputs whose rule runs BPTT seeded with dc_n alone; it shares the
//! saved state with the main rule (an `Arc`), and is only ever walked when a loss uses c_n
//! (then gradients of both nodes add up in the inputs' slots: two BPTT passes, correct by
//! linearity). The saved state (activated gates, cₜ, tanh cₜ, hₜ of every step) lives in the
//! rule, so backward needs no exp and no recomputation.
//!
//! The reverse direction runs the same kernels on the time-flipped input and flips the output
//! back (and dy, dx in backward): two copies of x-sized data, far below the GEMM cost.

use std::sync::Arc;

use ecgrad_engine::ops::lstm_cell::{LstmSequence, LstmTensors, lstm as lstm_fwd, lstm_backward};
use ecgrad_engine::{Real, Shape, Tensor};

use super::{narrow, reshape, tensor};
use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The four parameters of one LSTM layer and direction (PyTorch's `weight_ih_l0`,
/// `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, gate order i, f, g, o).
#[derive(Clone, Copy, Debug)]
pub struct LstmParams<'a, T: Real> {
    /// W_ih `[4H, F]`.
    pub w_ih: &'a Var<T>,
    /// W_hh `[4H, H]`.
    pub w_hh: &'a Var<T>,
    /// b_ih `[4H]`.
    pub b_ih: &'a Var<T>,
    /// b_hh `[4H]`.
    pub b_hh: &'a Var<T>,
}

/// What [`lstm`] returns; each is differentiable.
#[derive(Clone, Debug)]
pub struct LstmVars<T: Real> {
    /// Every hₜ at its position t, `[N, T, H]`.
    pub output: Var<T>,
    /// The hidden state after the last step processed, `[N, H]` (t = T−1, or t = 0 when
    /// running in reverse).
    pub h_n: Var<T>,
    /// The cell state after the last step processed, `[N, H]`.
    pub c_n: Var<T>,
}

/// `[N, T, W]` data with the time axis reversed (its own inverse).
fn flip_time<T: Real>(x: &[T], n: usize, steps: usize, width: usize) -> Vec<T> {
    let mut y = Vec::with_capacity(x.len());
    for s in 0..n {
        for t in (0..steps).rev() {
            y.extend_from_slice(&x[(s * steps + t) * width..][..width]);
        }
    }
    y
}

/// What both rules of `lstm` share: the (possibly flipped) input, the parameters, the initial
/// state and every step's gates and states; `Arc` clones or moved buffers, no copies.
struct LstmSaved<T: Real> {
    /// x as the kernels saw it (time-flipped when `reverse`).
    x_run: Tensor<T>,
    w_ih: Tensor<T>,
    w_hh: Tensor<T>,
    b_ih: Tensor<T>,
    b_hh: Tensor<T>,
    state: Option<(Tensor<T>, Tensor<T>)>,
    saved: LstmSequence<T>,
    reverse: bool,
}

/// The rule of `lstm` (`of_cell = false`: dy is d_output `[N, T, H]`) and of its `c_n` node
/// (`of_cell = true`: dy is d_c_n `[N, H]`).
struct LstmBackward<T: Real> {
    s: Arc<LstmSaved<T>>,
    of_cell: bool,
}

impl<T: Real> Backward<T> for LstmBackward<T> {
    fn name(&self) -> &'static str {
        if self.of_cell { "lstm_c_n" } else { "lstm" }
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let s = &*self.s;
        let (n, steps, f) = s.x_run.shape().dims3("lstm", "input")?;
        let h = s.w_hh.dims()[1];
        let (d_out, d_c_n) = if self.of_cell {
            (Tensor::zeros(Shape::d3(n, steps, h)), Some(dy))
        } else if s.reverse {
            // Back into the kernels' time order.
            (tensor(dy.shape(), flip_time(dy.data(), n, steps, h)), None)
        } else {
            (dy.clone(), None)
        };
        let w = LstmTensors {
            w_ih: &s.w_ih,
            w_hh: &s.w_hh,
            b_ih: &s.b_ih,
            b_hh: &s.b_hh,
        };
        let state = s.state.as_ref().map(|(h0, c0)| (h0, c0));
        let g = lstm_backward(&s.x_run, state, w, &s.saved, &d_out, d_c_n)?;
        let dx = if s.reverse {
            tensor(s.x_run.shape(), flip_time(g.dx.data(), n, steps, f))
        } else {
            g.dx
        };
        // b_ih and b_hh enter aₜ alike, so they share one gradient.
        let mut out = vec![
            needs[0].then_some(dx),
            needs[1].then_some(g.dw_ih),
            needs[2].then_some(g.dw_hh),
            needs[3].then(|| g.db.clone()),
            needs[4].then_some(g.db),
        ];
        if s.state.is_some() {
            out.push(needs[5].then_some(g.dh0));
            out.push(needs[6].then_some(g.dc0));
        }
        Ok(out)
    }
}

/// One LSTM layer in one direction over x `[N, T, F]` (batch-first), from `state` = (h0, c0)
/// `[N, H]` or zeros; `reverse` runs from t = T−1 down to 0 (the `_reverse` half of a
/// bidirectional PyTorch LSTM). See the module docs for the math and the packed node.
///
/// # Errors
/// The engine's named errors: rank (x not `[N, T, F]`), empty input, `weight_ih` rows not a
/// positive multiple of 4, or the first parameter/state whose shape disagrees.
///
/// ```
/// use ecgrad_autograd::{Tape, ops::{self, LstmParams}, engine::{Shape, Tensor}};
/// let mut tape = Tape::<f64>::new();
/// let x = tape.leaf(Tensor::full(Shape::d3(2, 3, 1), 1.0), true);
/// let w_ih = tape.leaf(Tensor::full(Shape::d2(4, 1), 0.5), true);
/// let w_hh = tape.leaf(Tensor::zeros(Shape::d2(4, 1)), true);
/// let b = tape.leaf(Tensor::zeros(Shape::d1(4)), true);
/// let p = LstmParams { w_ih: &w_ih, w_hh: &w_hh, b_ih: &b, b_hh: &b };
/// let y = ops::lstm(&mut tape, &x, p, None, false)?;
/// assert_eq!(y.output.shape(), Shape::d3(2, 3, 1));
/// assert_eq!(y.h_n.shape(), Shape::d2(2, 1));
/// let loss = ops::sum(&mut tape, &y.h_n)?;
/// let grads = tape.backward(&loss)?;
/// assert_eq!(grads.get(w_ih.id()).map(|g| g.shape()), Some(Shape::d2(4, 1)));
/// # Ok::<(), ecgrad_autograd::Error>(())
/// ```
pub fn lstm<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    w: LstmParams<'_, T>,
    state: Option<(&Var<T>, &Var<T>)>,
    reverse: bool,
) -> Result<LstmVars<T>> {
    let (n, steps, f) = x.shape().dims3("lstm", "input")?;
    let x_run = if reverse {
        tensor(x.shape(), flip_time(x.value().data(), n, steps, f))
    } else {
        x.value().clone()
    };
    let wt = LstmTensors {
        w_ih: w.w_ih.value(),
        w_hh: w.w_hh.value(),
        b_ih: w.b_ih.value(),
        b_hh: w.b_hh.value(),
    };
    let out = lstm_fwd(&x_run, state.map(|(h, c)| (h.value(), c.value())), wt)?;
    let h = out.h_n.dims()[1];
    let output = if reverse {
        tensor(
            out.output.shape(),
            flip_time(out.output.data(), n, steps, h),
        )
    } else {
        out.output
    };
    let mut inputs = vec![x, w.w_ih, w.w_hh, w.b_ih, w.b_hh];
    if let Some((h0, c0)) = state {
        inputs.push(h0);
        inputs.push(c0);
    }
    // Built only when some input requires grad (the tape calls `make` lazily), then shared.
    let mut shared: Option<Arc<LstmSaved<T>>> = None;
    let mut saved = Some(out.saved);
    let mut share = || {
        Arc::clone(shared.get_or_insert_with(|| {
            Arc::new(LstmSaved {
                x_run: x_run.clone(), // an Arc clone
                w_ih: w.w_ih.value().clone(),
                w_hh: w.w_hh.value().clone(),
                b_ih: w.b_ih.value().clone(),
                b_hh: w.b_hh.value().clone(),
                state: state.map(|(h0, c0)| (h0.value().clone(), c0.value().clone())),
                saved: saved
                    .take()
                    .expect("invariant: the shared state is built once"),
                reverse,
            })
        }))
    };
    let output = tape.record("lstm", &inputs, output, || {
        Box::new(LstmBackward {
            s: share(),
            of_cell: false,
        })
    })?;
    let c_n = tape.record("lstm_c_n", &inputs, out.c_n, || {
        Box::new(LstmBackward {
            s: share(),
            of_cell: true,
        })
    })?;
    let last = if reverse { 0 } else { steps - 1 };
    let h_n = narrow(tape, &output, 1, last, 1)?;
    let h_n = reshape(tape, &h_n, Shape::d2(n, h))?;
    Ok(LstmVars { output, h_n, c_n })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use crate::ops::concat;

    /// (N, T, F, H): batch 1, one step, one feature, one unit; odd sizes; a longer sequence.
    const CASES: [(usize, usize, usize, usize); 5] = [
        (1, 1, 1, 1),
        (2, 3, 4, 5),
        (3, 5, 2, 3),
        (1, 7, 3, 2),
        (2, 2, 9, 4),
    ];

    /// All three outputs flattened side by side `[N, T·H + 2H]`, so one random projection
    /// checks the gradient paths through output, h_n and c_n at once.
    fn all_outputs(t: &mut Tape<f64>, y: &LstmVars<f64>) -> Result<Var<f64>> {
        let (n, steps, h) = y.output.shape().dims3("test", "output")?;
        let out = reshape(t, &y.output, Shape::d2(n, steps * h))?;
        concat(t, &[&out, &y.h_n, &y.c_n], 1)
    }

    fn inputs(case: (usize, usize, usize, usize), seed: u64) -> Vec<Tensor<f64>> {
        let (n, steps, f, h) = case;
        vec![
            random_tensor(&[n, steps, f], -1.0, 1.0, seed),
            random_tensor(&[4 * h, f], -0.8, 0.8, seed + 1),
            random_tensor(&[4 * h, h], -0.8, 0.8, seed + 2),
            random_tensor(&[4 * h], -0.5, 0.5, seed + 3),
            random_tensor(&[4 * h], -0.5, 0.5, seed + 4),
            random_tensor(&[n, h], -1.0, 1.0, seed + 5),
            random_tensor(&[n, h], -1.0, 1.0, seed + 6),
        ]
    }

    fn params(v: &[Var<f64>]) -> LstmParams<'_, f64> {
        LstmParams {
            w_ih: &v[1],
            w_hh: &v[2],
            b_ih: &v[3],
            b_hh: &v[4],
        }
    }

    #[test]
    fn lstm_gradcheck_every_input_both_directions() {
        for (i, &case) in CASES.iter().enumerate() {
            for reverse in [false, true] {
                let s = 500 + 20 * i as u64 + u64::from(reverse);
                let xs = inputs(case, s);
                assert_gradcheck(
                    &format!("lstm {case:?} reverse {reverse}, with state"),
                    |t, v| {
                        let y = lstm(t, &v[0], params(v), Some((&v[5], &v[6])), reverse)?;
                        all_outputs(t, &y)
                    },
                    &xs,
                    s + 7,
                );
                assert_gradcheck(
                    &format!("lstm {case:?} reverse {reverse}, zero state"),
                    |t, v| {
                        let y = lstm(t, &v[0], params(v), None, reverse)?;
                        all_outputs(t, &y)
                    },
                    &xs[..5],
                    s + 8,
                );
            }
        }
    }

    #[test]
    fn lstm_gradcheck_each_output_alone() {
        // Only h_n (the CNN-LSTM head), only c_n, only the sequence: each path on its own.
        let case = (2, 4, 3, 3);
        let xs = inputs(case, 700);
        for (k, which) in ["h_n", "c_n", "output"].iter().enumerate() {
            assert_gradcheck(
                &format!("lstm, {which} only"),
                |t, v| {
                    let y = lstm(t, &v[0], params(v), Some((&v[5], &v[6])), k == 1)?;
                    Ok(match k {
                        0 => y.h_n,
                        1 => y.c_n,
                        _ => y.output,
                    })
                },
                &xs,
                710 + k as u64,
            );
        }
    }

    #[test]
    fn reverse_equals_forward_on_the_flipped_sequence() {
        let (n, steps, f, h) = (2, 5, 3, 4);
        let xs = inputs((n, steps, f, h), 800);
        let mut t = Tape::<f64>::no_grad();
        let v: Vec<Var<f64>> = xs.iter().map(|x| t.leaf(x.clone(), false)).collect();
        let rev = lstm(&mut t, &v[0], params(&v), None, true).unwrap();
        let flipped = t.leaf(
            tensor(xs[0].shape(), flip_time(xs[0].data(), n, steps, f)),
            false,
        );
        let fwd = lstm(&mut t, &flipped, params(&v), None, false).unwrap();
        let back = flip_time(fwd.output.value().data(), n, steps, h);
        assert_eq!(rev.output.value().data(), &back[..]);
        assert_eq!(rev.h_n.value().data(), fwd.h_n.value().data());
        assert_eq!(rev.c_n.value().data(), fwd.c_n.value().data());
        // h_n of the reverse direction sits at position 0 of its output.
        assert_eq!(
            rev.h_n.value().data()[..h],
            rev.output.value().data()[..h],
            "reverse h_n is the state after t = 0"
        );
    }

    #[test]
    fn lstm_shape_errors_are_named() {
        let mut t = Tape::<f64>::new();
        let xs = inputs((2, 3, 4, 5), 900);
        let v: Vec<Var<f64>> = xs.iter().map(|x| t.leaf(x.clone(), true)).collect();
        let flat = t.input(Tensor::zeros(Shape::d2(2, 4)));
        let e = lstm(&mut t, &flat, params(&v), None, false).unwrap_err();
        assert!(e.to_string().contains("lstm"), "{e}");
        let wrong_f = t.input(Tensor::zeros(Shape::d3(2, 3, 5)));
        let e = lstm(&mut t, &wrong_f, params(&v), None, false).unwrap_err();
        assert!(e.to_string().contains("weight_ih expects 4"), "{e}");
        let e = lstm(&mut t, &v[0], params(&v), Some((&v[5], &v[0])), false).unwrap_err();
        assert!(e.to_string().contains("c0"), "{e}");
    }
}
