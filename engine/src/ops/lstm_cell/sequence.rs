//! A whole LSTM layer over a batch-first sequence x `[N, T, F]` (NTF): the cell of the
//! [module doc](super) stepped over t = 0 … T−1 forward and back-propagated through time.
//!
//! # What it computes
//! (hₜ, cₜ) = cell(xₜ, hₜ₋₁, cₜ₋₁) for t = 0 … T−1 from (h₋₁, c₋₁) = (h0, c0); the output is all
//! hₜ `[N, T, H]` (PyTorch's `output` of a batch-first `nn.LSTM`); the last step is h_n, c_n.
//!
//! # Cost
//! 2·N·T·4H·(F + H) FLOPs forward, twice that backward.
//!
//! # How it is fast
//! - The input projection xₜ·W_ihᵀ does not depend on the recurrence, so it is done for all
//!   time steps at once as **one GEMM** `[N·T, F]·[F, 4H]` before the loop (the standard trick;
//!   cuDNN does the same). Inside the loop only hₜ₋₁·W_hhᵀ remains, accumulated (β = 1) straight
//!   into time step t of the gate buffer through a strided view (row stride T·4H), no copy.
//! - Backward mirrors it: the loop computes the gate gradients of every step (needing only the
//!   recurrent product daₜ·W_hh for dhₜ₋₁), and after the loop dx, dW_ih and dW_hh are each one
//!   GEMM over all N·T rows. One GEMM per weight gradient also makes them deterministic.
//! - The pointwise work of a step runs per sample, over rayon above [`crate::parallel::GRAIN`];
//!   time stays sequential (DESIGN.md §2.11).
//!
//! The naive twins ([`lstm_forward_sequence_naive`], [`lstm_backward_sequence_naive`]) step the
//! naive cell, gathering xₜ from the NTF buffer each step.

use rayon::prelude::*;

use super::naive::{gather_step, scatter_step};
use super::{
    LstmCellGrads, LstmCellInputs, LstmDims, LstmStep, LstmWeights, add_column_sums, backward_row,
    check_weights, combined_bias, forward_row, gemm_ab_acc, gemm_abt, gemm_atb_acc,
    lstm_cell_backward_naive, lstm_cell_forward_naive, rows_per_task,
};
use crate::gemm::{self, MatMut, MatRef};
use crate::real::Real;

/// The inputs of a sequence: x `[N, T, F]`, initial state h0 and c0 `[N, H]`.
#[derive(Clone, Copy, Debug)]
pub struct LstmSeqInputs<'a, T> {
    /// x `[N, T, F]` (batch-first).
    pub x: &'a [T],
    /// h0 `[N, H]`.
    pub h0: &'a [T],
    /// c0 `[N, H]`.
    pub c0: &'a [T],
}

/// Every step's output and saved state, each NTF.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmSequence<T> {
    /// Activated gates (i, f, g, o) `[N, T, 4H]`.
    pub gates: Vec<T>,
    /// cₜ `[N, T, H]`.
    pub c: Vec<T>,
    /// tanh(cₜ) `[N, T, H]`.
    pub tanh_c: Vec<T>,
    /// hₜ `[N, T, H]`: the layer's output.
    pub h: Vec<T>,
}

/// The upstream gradients a sequence backward starts from.
#[derive(Clone, Copy, Debug)]
pub struct LstmSeqUpstream<'a, T> {
    /// dh `[N, T, H]`: the gradient of every output hₜ (zeros except the last step when only
    /// h_n is used).
    pub dh: &'a [T],
    /// dc_n `[N, H]`: the gradient of the last cell state c_n, when the caller uses it
    /// (`None` means zero, the common case: c_n only feeds a next segment).
    pub dc_n: Option<&'a [T]>,
}

impl<'a, T> LstmSeqUpstream<'a, T> {
    /// Upstream gradient of the outputs only (dc_n = 0).
    pub fn outputs(dh: &'a [T]) -> LstmSeqUpstream<'a, T> {
        LstmSeqUpstream { dh, dc_n: None }
    }
}

/// Gradient outputs of a sequence backward; every one is **accumulated into** (`+=`).
#[derive(Debug)]
pub struct LstmSeqGrads<'a, T> {
    /// dx `[N, T, F]`.
    pub dx: &'a mut [T],
    /// dh0 `[N, H]`.
    pub dh0: &'a mut [T],
    /// dc0 `[N, H]`.
    pub dc0: &'a mut [T],
    /// dW_ih `[4H, F]`.
    pub dw_ih: &'a mut [T],
    /// dW_hh `[4H, H]`.
    pub dw_hh: &'a mut [T],
    /// db `[4H]`: the gradient of b_ih and of b_hh (they are equal).
    pub db: &'a mut [T],
}

#[track_caller]
fn check_inputs<T>(d: LstmDims, steps: usize, inp: &LstmSeqInputs<'_, T>) {
    assert!(
        steps > 0
            && inp.x.len() == d.n * steps * d.f
            && inp.h0.len() == d.n * d.h
            && inp.c0.len() == d.n * d.h,
        "lstm sequence: x {}, h0 {}, c0 {} but N = {}, T = {steps}, F = {}, H = {}",
        inp.x.len(),
        inp.h0.len(),
        inp.c0.len(),
        d.n,
        d.f,
        d.h
    );
}

/// The whole sequence forward (fast): one GEMM for the input projection of all steps, then per
/// step one recurrent GEMM and the fused pointwise pass.
///
/// # Panics
/// If `steps == 0` or a slice length disagrees with `d` and `steps`, or if `ECGRAD_ISA` is
/// invalid.
pub fn lstm_forward_sequence<T: Real>(
    d: LstmDims,
    steps: usize,
    inp: LstmSeqInputs<'_, T>,
    w: &LstmWeights<'_, T>,
) -> LstmSequence<T> {
    check_weights(d, w);
    check_inputs(d, steps, &inp);
    let (n, hs, g4) = (d.n, d.h, 4 * d.h);
    let mut gates = vec![T::ZERO; n * steps * g4];
    // All input projections at once: rows n·T + t of [N·T, 4H].
    gemm_abt(inp.x, w.w_ih, &mut gates, (n * steps, d.f, g4), T::ZERO);
    let bias = combined_bias(w);
    let mut c = vec![T::ZERO; n * steps * hs];
    let mut tanh_c = vec![T::ZERO; n * steps * hs];
    let mut h = vec![T::ZERO; n * steps * hs];
    let w_hh_t = MatRef::row_major(w.w_hh, g4, hs)
        .expect("invariant: W_hh is 4H×H")
        .t();
    for t in 0..steps {
        // Step t of every sample is a strided [N, ·] view: row stride T·width.
        let h_prev = if t == 0 {
            MatRef::row_major(inp.h0, n, hs)
        } else {
            MatRef::new(&h[(t - 1) * hs..], n, hs, steps * hs, 1)
        }
        .expect("invariant: step t−1 of h is an N×H view");
        let a_t = MatMut::new(&mut gates[t * g4..], n, g4, steps * g4, 1)
            .expect("invariant: step t of the gates is an N×4H view");
        gemm::gemm(T::ONE, h_prev, w_hh_t, T::ONE, a_t).expect("invariant: gemm shapes agree");
        // Pointwise, one task per block of samples; each sample owns its [T, ·] slabs.
        gates
            .par_chunks_mut(steps * g4)
            .zip(c.par_chunks_mut(steps * hs))
            .zip(tanh_c.par_chunks_mut(steps * hs))
            .zip(h.par_chunks_mut(steps * hs))
            .zip(inp.c0.par_chunks(hs))
            .with_min_len(rows_per_task(2 * g4))
            .for_each_init(
                || vec![T::ZERO; g4],
                |scratch, ((((g, c), tc), h), c0)| {
                    let (c_before, c_now) = c.split_at_mut(t * hs);
                    let c_prev = if t == 0 {
                        c0
                    } else {
                        &c_before[(t - 1) * hs..]
                    };
                    forward_row(
                        &mut g[t * g4..(t + 1) * g4],
                        &bias,
                        c_prev,
                        (
                            &mut c_now[..hs],
                            &mut tc[t * hs..(t + 1) * hs],
                            &mut h[t * hs..(t + 1) * hs],
                        ),
                        scratch,
                    );
                },
            );
    }
    LstmSequence {
        gates,
        c,
        tanh_c,
        h,
    }
}

/// The whole sequence backward (fast, back-propagation through time); **accumulates** into
/// every gradient in `grads`. `up` holds the upstream gradients: dh `[N, T, H]` of every
/// output hₜ and, optionally, dc_n `[N, H]` of the last cell state (it seeds the cell-state
/// carry of the last step).
///
/// # Panics
/// If `steps == 0` or a slice length disagrees with `d` and `steps`, or if `ECGRAD_ISA` is
/// invalid.
pub fn lstm_backward_sequence<T: Real>(
    d: LstmDims,
    steps: usize,
    inp: LstmSeqInputs<'_, T>,
    w: &LstmWeights<'_, T>,
    saved: &LstmSequence<T>,
    up: LstmSeqUpstream<'_, T>,
    grads: LstmSeqGrads<'_, T>,
) {
    check_weights(d, w);
    check_inputs(d, steps, &inp);
    let (n, f, hs, g4) = (d.n, d.f, d.h, 4 * d.h);
    let nt = n * steps;
    let dh = up.dh;
    assert!(
        saved.gates.len() == nt * g4
            && saved.c.len() == nt * hs
            && saved.tanh_c.len() == nt * hs
            && saved.h.len() == nt * hs
            && dh.len() == nt * hs
            && up.dc_n.is_none_or(|dc| dc.len() == n * hs)
            && grads.dx.len() == nt * f
            && grads.dh0.len() == n * hs
            && grads.dc0.len() == n * hs
            && grads.dw_ih.len() == g4 * f
            && grads.dw_hh.len() == g4 * hs
            && grads.db.len() == g4,
        "lstm_backward_sequence: a buffer length disagrees with N = {n}, T = {steps}, F = {f}, \
         H = {hs}"
    );
    let mut dgates = vec![T::ZERO; nt * g4];
    // Carries from step t+1: dhₜ gets daₜ₊₁·W_hh, dcₜ gets dc̃ₜ₊₁ ⊙ fₜ₊₁. The last step's cell
    // carry is the caller's dc_n (c_n reaches the loss only directly).
    let mut dh_carry = vec![T::ZERO; n * hs];
    let mut dc_carry = up.dc_n.map_or_else(|| vec![T::ZERO; n * hs], <[T]>::to_vec);
    let w_hh = MatRef::row_major(w.w_hh, g4, hs).expect("invariant: W_hh is 4H×H");
    for t in (0..steps).rev() {
        dgates
            .par_chunks_mut(steps * g4)
            .zip(dc_carry.par_chunks_mut(hs))
            .zip(dh_carry.par_chunks(hs))
            .enumerate()
            .with_min_len(rows_per_task(2 * g4))
            .for_each_init(
                || vec![T::ZERO; hs],
                |dh_total, (s, ((dg, dc), dh_next))| {
                    let row = s * steps + t;
                    let dh_row = &dh[row * hs..(row + 1) * hs];
                    for ((v, &a), &b) in dh_total.iter_mut().zip(dh_row).zip(dh_next) {
                        *v = a + b;
                    }
                    let c_prev = if t == 0 {
                        &inp.c0[s * hs..(s + 1) * hs]
                    } else {
                        &saved.c[(row - 1) * hs..row * hs]
                    };
                    backward_row(
                        &saved.gates[row * g4..(row + 1) * g4],
                        c_prev,
                        &saved.tanh_c[row * hs..(row + 1) * hs],
                        dh_total,
                        dc,
                        &mut dg[t * g4..(t + 1) * g4],
                    );
                },
            );
        // dhₜ₋₁ (recurrent part) = daₜ·W_hh, overwriting the carry (β = 0).
        let da_t = MatRef::new(&dgates[t * g4..], n, g4, steps * g4, 1)
            .expect("invariant: step t of dgates is an N×4H view");
        let carry = MatMut::row_major(&mut dh_carry, n, hs).expect("invariant: carry is N×H");
        gemm::gemm(T::ONE, da_t, w_hh, T::ZERO, carry).expect("invariant: gemm shapes agree");
    }
    for (o, &v) in grads.dh0.iter_mut().zip(&dh_carry) {
        *o += v;
    }
    for (o, &v) in grads.dc0.iter_mut().zip(&dc_carry) {
        *o += v;
    }
    // The non-recurrent products, each one GEMM over all N·T rows.
    gemm_ab_acc(&dgates, w.w_ih, grads.dx, (nt, g4, f));
    gemm_atb_acc(&dgates, inp.x, grads.dw_ih, (g4, nt, f));
    // hₜ₋₁ for every row (h0 at t = 0), so dW_hh is one GEMM too.
    let mut h_prev = vec![T::ZERO; nt * hs];
    for s in 0..n {
        let dst = &mut h_prev[s * steps * hs..(s + 1) * steps * hs];
        dst[..hs].copy_from_slice(&inp.h0[s * hs..(s + 1) * hs]);
        dst[hs..].copy_from_slice(&saved.h[s * steps * hs..((s + 1) * steps - 1) * hs]);
    }
    gemm_atb_acc(&dgates, &h_prev, grads.dw_hh, (g4, nt, hs));
    add_column_sums(&dgates, grads.db);
}

/// Naive twin of [`lstm_forward_sequence`]: the naive cell stepped over t.
///
/// # Panics
/// If `steps == 0` or a slice length disagrees with `d` and `steps`.
pub fn lstm_forward_sequence_naive<T: Real>(
    d: LstmDims,
    steps: usize,
    inp: LstmSeqInputs<'_, T>,
    w: &LstmWeights<'_, T>,
) -> LstmSequence<T> {
    check_inputs(d, steps, &inp);
    let (n, hs, g4) = (d.n, d.h, 4 * d.h);
    let mut out = LstmSequence {
        gates: vec![T::ZERO; n * steps * g4],
        c: vec![T::ZERO; n * steps * hs],
        tanh_c: vec![T::ZERO; n * steps * hs],
        h: vec![T::ZERO; n * steps * hs],
    };
    let (mut h, mut c) = (inp.h0.to_vec(), inp.c0.to_vec());
    for t in 0..steps {
        let x = gather_step(inp.x, n, steps, t, d.f);
        let cell_in = LstmCellInputs {
            x: &x,
            h_prev: &h,
            c_prev: &c,
        };
        let st = lstm_cell_forward_naive(d, cell_in, w);
        scatter_step(&st.gates, &mut out.gates, steps, t, g4);
        scatter_step(&st.c, &mut out.c, steps, t, hs);
        scatter_step(&st.tanh_c, &mut out.tanh_c, steps, t, hs);
        scatter_step(&st.h, &mut out.h, steps, t, hs);
        (h, c) = (st.h, st.c);
    }
    out
}

/// Naive twin of [`lstm_backward_sequence`]: the naive cell backward stepped from t = T−1 down
/// to 0; **accumulates** into `grads`.
///
/// # Panics
/// If `steps == 0` or a slice length disagrees with `d` and `steps`.
pub fn lstm_backward_sequence_naive<T: Real>(
    d: LstmDims,
    steps: usize,
    inp: LstmSeqInputs<'_, T>,
    w: &LstmWeights<'_, T>,
    saved: &LstmSequence<T>,
    up: LstmSeqUpstream<'_, T>,
    grads: LstmSeqGrads<'_, T>,
) {
    check_inputs(d, steps, &inp);
    let (n, f, hs, g4) = (d.n, d.f, d.h, 4 * d.h);
    let dh = up.dh;
    assert!(
        dh.len() == n * steps * hs && up.dc_n.is_none_or(|dc| dc.len() == n * hs),
        "lstm_backward_sequence_naive: dh {} or dc_n disagrees with N = {n}, T = {steps}, H = {hs}",
        dh.len()
    );
    let mut dh_next = vec![T::ZERO; n * hs];
    let mut dc_next = up.dc_n.map_or_else(|| vec![T::ZERO; n * hs], <[T]>::to_vec);
    for t in (0..steps).rev() {
        let x = gather_step(inp.x, n, steps, t, f);
        let (h_prev, c_prev) = if t == 0 {
            (inp.h0.to_vec(), inp.c0.to_vec())
        } else {
            (
                gather_step(&saved.h, n, steps, t - 1, hs),
                gather_step(&saved.c, n, steps, t - 1, hs),
            )
        };
        let step = LstmStep {
            gates: gather_step(&saved.gates, n, steps, t, g4),
            c: gather_step(&saved.c, n, steps, t, hs),
            tanh_c: gather_step(&saved.tanh_c, n, steps, t, hs),
            h: gather_step(&saved.h, n, steps, t, hs),
        };
        let mut dh_t = gather_step(dh, n, steps, t, hs);
        for (a, &b) in dh_t.iter_mut().zip(&dh_next) {
            *a += b;
        }
        let mut dx_t = vec![T::ZERO; n * f];
        let (mut dh_prev, mut dc_prev) = (vec![T::ZERO; n * hs], vec![T::ZERO; n * hs]);
        lstm_cell_backward_naive(
            d,
            LstmCellInputs {
                x: &x,
                h_prev: &h_prev,
                c_prev: &c_prev,
            },
            w,
            &step,
            &dh_t,
            &dc_next,
            LstmCellGrads {
                dx: &mut dx_t,
                dh_prev: &mut dh_prev,
                dc_prev: &mut dc_prev,
                dw_ih: &mut *grads.dw_ih,
                dw_hh: &mut *grads.dw_hh,
                db: &mut *grads.db,
            },
        );
        for s in 0..n {
            for k in 0..f {
                grads.dx[(s * steps + t) * f + k] += dx_t[s * f + k];
            }
        }
        (dh_next, dc_next) = (dh_prev, dc_prev);
    }
    for (o, &v) in grads.dh0.iter_mut().zip(&dh_next) {
        *o += v;
    }
    for (o, &v) in grads.dc0.iter_mut().zip(&dc_next) {
        *o += v;
    }
}
