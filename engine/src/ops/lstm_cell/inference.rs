//! The LSTM layer forward for **inference**: the same hₜ as [`super::lstm_forward_sequence`],
//! but nothing is saved for a backward pass.
//!
//! # Why a separate kernel
//! Training must keep every step's activated gates `[N, T, 4H]`, cₜ and tanh cₜ for BPTT: at the
//! inference batch of PERFORMANCE.md (N = 256, T = 46, H = 64) that is ≈ 21 MB written once and
//! thrown away, and fresh pages cost page faults. Here the working set is one step:
//! - aₜ = xₜ·W_ihᵀ (one GEMM on a strided `[N, F]` view of x, row stride T·F) + hₜ₋₁·W_hhᵀ
//!   (β = 1) into a reused `[N, 4H]` buffer;
//! - the fused pointwise pass (the same `forward_row` as training) writes cₜ into the other of
//!   two `[N, H]` buffers and hₜ straight into the output `[N, T, H]`.
//!
//! Per step the input GEMM is `[N, F]·[F, 4H]` (16.8 MFLOP at N = 256): large enough to run at
//! GEMM speed, so splitting the input projection per step costs little, while the memory
//! touched falls from ≈ 24 MB to ≈ 3 MB (the output).
//!
//! Cost: 2·N·T·4H·(F + H) FLOPs, as the training forward. Tested against
//! [`super::lstm_forward_sequence`] (which is tested against the naive twin).

use rayon::prelude::*;

use super::{
    LstmDims, LstmSeqInputs, LstmWeights, check_weights, combined_bias, forward_row, rows_per_task,
};
use crate::gemm::{self, MatMut, MatRef};
use crate::real::Real;

/// The inference forward's results.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmInference<T> {
    /// Every hₜ `[N, T, H]`.
    pub h: Vec<T>,
    /// The last cell state c_n `[N, H]`.
    pub c_n: Vec<T>,
}

/// The whole sequence forward without saved state (see the module docs).
///
/// # Panics
/// If `steps == 0` or a slice length disagrees with `d` and `steps`, or if `ECGRAD_ISA` is
/// invalid.
pub fn lstm_forward_sequence_inference<T: Real>(
    d: LstmDims,
    steps: usize,
    inp: LstmSeqInputs<'_, T>,
    w: &LstmWeights<'_, T>,
) -> LstmInference<T> {
    check_weights(d, w);
    let (n, f, hs, g4) = (d.n, d.f, d.h, 4 * d.h);
    assert!(
        steps > 0
            && inp.x.len() == n * steps * f
            && inp.h0.len() == n * hs
            && inp.c0.len() == n * hs,
        "lstm_forward_sequence_inference: x {}, h0 {}, c0 {} but N = {n}, T = {steps}, F = {f}, \
         H = {hs}",
        inp.x.len(),
        inp.h0.len(),
        inp.c0.len()
    );
    let bias = combined_bias(w);
    let w_ih_t = MatRef::row_major(w.w_ih, g4, f)
        .expect("invariant: W_ih is 4H×F")
        .t();
    let w_hh_t = MatRef::row_major(w.w_hh, g4, hs)
        .expect("invariant: W_hh is 4H×H")
        .t();
    let mut h = vec![T::ZERO; n * steps * hs];
    let mut gates = vec![T::ZERO; n * g4];
    let mut c_prev = inp.c0.to_vec();
    let mut c_next = vec![T::ZERO; n * hs];
    // tanh(cₜ) is needed only inside the step (hₜ = o ⊙ tanh cₜ): one reused buffer.
    let mut tanh_c = vec![T::ZERO; n * hs];
    for t in 0..steps {
        // aₜ = xₜ·W_ihᵀ (β = 0 overwrites last step's gates) + hₜ₋₁·W_hhᵀ (β = 1).
        let x_t = MatRef::new(&inp.x[t * f..], n, f, steps * f, 1)
            .expect("invariant: step t of x is an N×F view");
        let a = MatMut::row_major(&mut gates, n, g4).expect("invariant: gates are N×4H");
        gemm::gemm(T::ONE, x_t, w_ih_t, T::ZERO, a).expect("invariant: gemm shapes agree");
        let h_prev = if t == 0 {
            MatRef::row_major(inp.h0, n, hs)
        } else {
            MatRef::new(&h[(t - 1) * hs..], n, hs, steps * hs, 1)
        }
        .expect("invariant: h_{t-1} is an N×H view");
        let a = MatMut::row_major(&mut gates, n, g4).expect("invariant: gates are N×4H");
        gemm::gemm(T::ONE, h_prev, w_hh_t, T::ONE, a).expect("invariant: gemm shapes agree");
        gates
            .par_chunks_mut(g4)
            .zip(c_next.par_chunks_mut(hs))
            .zip(tanh_c.par_chunks_mut(hs))
            .zip(h.par_chunks_mut(steps * hs))
            .zip(c_prev.par_chunks(hs))
            .with_min_len(rows_per_task(2 * g4))
            .for_each_init(
                || vec![T::ZERO; g4],
                |scratch, ((((g, c), tc), h_s), cp)| {
                    forward_row(
                        g,
                        &bias,
                        cp,
                        (c, tc, &mut h_s[t * hs..(t + 1) * hs]),
                        scratch,
                    );
                },
            );
        std::mem::swap(&mut c_prev, &mut c_next);
    }
    LstmInference { h, c_n: c_prev }
}
