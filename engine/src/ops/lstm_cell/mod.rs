//! The LSTM cell: fused gate math for one time step over a batch, forward and backward, with
//! PyTorch's semantics and gate order (i, f, g, o), plus whole-sequence helpers ([`sequence`]).
//!
//! # What it computes
//! For a batch of N samples, input xₜ `[N, F]`, previous state hₜ₋₁, cₜ₋₁ `[N, H]`:
//! - aₜ = xₜ·W_ihᵀ + hₜ₋₁·W_hhᵀ + b_ih + b_hh  `[N, 4H]`, split into four `[N, H]` blocks
//!   aⁱ, aᶠ, aᵍ, aᵒ (in that order, as PyTorch's `weight_ih_l0` rows are);
//! - i = σ(aⁱ), f = σ(aᶠ), g = tanh(aᵍ), o = σ(aᵒ);
//! - cₜ = f ⊙ cₜ₋₁ + i ⊙ g;
//! - hₜ = o ⊙ tanh(cₜ).
//!
//! # Shapes
//! W_ih `[4H, F]`, W_hh `[4H, H]`, b_ih and b_hh `[4H]` (PyTorch's `weight_ih_l0`,
//! `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`). Saved for backward ([`LstmStep`]): the
//! *activated* gates (i, f, g, o) `[N, 4H]`, cₜ and tanh(cₜ) `[N, H]`, and hₜ.
//!
//! # Cost
//! Forward 2·N·4H·(F + H) FLOPs in the two GEMMs, plus ≈ 10·N·H pointwise FLOPs and 5·N·H
//! transcendentals. Backward ≈ 2× the forward GEMMs for the inputs (dx, dhₜ₋₁) and the same
//! again for the weights (dW_ih, dW_hh).
//!
//! # Gradients (backward kernels **accumulate**: dx += …)
//! Upstream: dhₜ and dcₜ (the latter from step t+1, zero at the last step).
//! - dc̃ = dcₜ + dhₜ ⊙ o ⊙ (1 − tanh²cₜ)           (cₜ reaches the loss directly and through hₜ)
//! - daᵒ = dhₜ ⊙ tanh(cₜ) ⊙ o(1 − o)
//! - daⁱ = dc̃ ⊙ g ⊙ i(1 − i),   daᶠ = dc̃ ⊙ cₜ₋₁ ⊙ f(1 − f),   daᵍ = dc̃ ⊙ i ⊙ (1 − g²)
//! - dcₜ₋₁ = dc̃ ⊙ f
//! - dxₜ = da·W_ih,  dhₜ₋₁ = da·W_hh,  dW_ih = daᵀ·xₜ,  dW_hh = daᵀ·hₜ₋₁,  db = Σₙ da
//!   (db is the gradient of b_ih and of b_hh alike: both enter aₜ with coefficient 1).
//!
//! Derivation sketch. hₜ = o ⊙ tanh(cₜ) gives ∂hₜ/∂o = tanh cₜ and ∂hₜ/∂cₜ = o(1 − tanh²cₜ), so
//! the total gradient at cₜ is dc̃ above. cₜ = f ⊙ cₜ₋₁ + i ⊙ g is bilinear, so each factor's
//! gradient is dc̃ times the other factor; then each gate goes back through its activation,
//! using σ′ = σ(1 − σ) and tanh′ = 1 − tanh², both computed from the *saved outputs*, so
//! backward needs no exp. aₜ is affine in xₜ, hₜ₋₁, W and b: the usual linear-layer gradients.
//!
//! # How the fast version differs from the naive twins ([`naive`])
//! The naive twins compute every gate pre-activation as an explicit dot product and every
//! gradient with loops over n, gate and h. The fast kernels do the affine part as GEMMs
//! ([`gemm::gemm`], transposes as free [`MatRef::t`] views, β = 1 to accumulate), the pointwise
//! part row by row with the [`Real`] vector primitives (`vec_sigmoid`, `vec_tanh`, `vec_mul`:
//! AVX2/NEON in f32), rows spread over rayon above [`GRAIN`]. Weight gradients are single GEMMs
//! over the whole batch, so they are deterministic at any thread count. The sequence helpers
//! ([`sequence`]) also do the input projection of all time steps as one GEMM.
//!
//! # API levels
//! - slices: [`lstm_cell_forward`] / [`lstm_cell_backward`] (one step),
//!   [`lstm_forward_sequence`] / [`lstm_backward_sequence`] (NTF, all steps), and the `_naive`
//!   twins of each; [`lstm_forward_sequence_inference`] (forward only, nothing saved);
//! - tensors: [`lstm`] / [`lstm_backward`] and [`lstm_inference`], which validate every shape
//!   and return named errors.

use rayon::prelude::*;

use crate::gemm::{self, MatMut, MatRef};
use crate::parallel::GRAIN;
use crate::real::Real;

pub mod inference;
pub mod naive;
pub mod sequence;
mod tensor_layer;
pub use inference::*;
pub use naive::*;
pub use sequence::*;
pub use tensor_layer::*;

#[cfg(test)]
mod tests;

/// Sizes of one LSTM step: batch `n`, input features `f`, hidden size `h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LstmDims {
    /// Batch size N.
    pub n: usize,
    /// Input features F.
    pub f: usize,
    /// Hidden size H (the gates are 4H wide).
    pub h: usize,
}

/// The parameters of one LSTM layer (PyTorch layout and gate order i, f, g, o).
#[derive(Clone, Copy, Debug)]
pub struct LstmWeights<'a, T> {
    /// W_ih `[4H, F]` (`weight_ih_l0`).
    pub w_ih: &'a [T],
    /// W_hh `[4H, H]` (`weight_hh_l0`).
    pub w_hh: &'a [T],
    /// b_ih `[4H]` (`bias_ih_l0`).
    pub b_ih: &'a [T],
    /// b_hh `[4H]` (`bias_hh_l0`).
    pub b_hh: &'a [T],
}

/// The inputs of one step: xₜ `[N, F]`, hₜ₋₁ and cₜ₋₁ `[N, H]`.
#[derive(Clone, Copy, Debug)]
pub struct LstmCellInputs<'a, T> {
    /// xₜ `[N, F]`.
    pub x: &'a [T],
    /// hₜ₋₁ `[N, H]`.
    pub h_prev: &'a [T],
    /// cₜ₋₁ `[N, H]`.
    pub c_prev: &'a [T],
}

/// Output of one forward step, and everything its backward needs.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmStep<T> {
    /// Activated gates (i, f, g, o) `[N, 4H]`.
    pub gates: Vec<T>,
    /// cₜ `[N, H]`.
    pub c: Vec<T>,
    /// tanh(cₜ) `[N, H]`.
    pub tanh_c: Vec<T>,
    /// hₜ `[N, H]`.
    pub h: Vec<T>,
}

/// Gradient outputs of one backward step; every one is **accumulated into** (`+=`).
#[derive(Debug)]
pub struct LstmCellGrads<'a, T> {
    /// dxₜ `[N, F]`.
    pub dx: &'a mut [T],
    /// dhₜ₋₁ `[N, H]`.
    pub dh_prev: &'a mut [T],
    /// dcₜ₋₁ `[N, H]`.
    pub dc_prev: &'a mut [T],
    /// dW_ih `[4H, F]`.
    pub dw_ih: &'a mut [T],
    /// dW_hh `[4H, H]`.
    pub dw_hh: &'a mut [T],
    /// db `[4H]`: the gradient of b_ih and of b_hh (they are equal).
    pub db: &'a mut [T],
}

/// Panics unless the weights have the shapes `d` implies.
#[track_caller]
pub(crate) fn check_weights<T>(d: LstmDims, w: &LstmWeights<'_, T>) {
    let g = 4 * d.h;
    assert!(
        w.w_ih.len() == g * d.f
            && w.w_hh.len() == g * d.h
            && w.b_ih.len() == g
            && w.b_hh.len() == g,
        "lstm: weights have lengths (w_ih {}, w_hh {}, b_ih {}, b_hh {}) but F = {}, H = {} needs \
         ({}, {}, {g}, {g})",
        w.w_ih.len(),
        w.w_hh.len(),
        w.b_ih.len(),
        w.b_hh.len(),
        d.f,
        d.h,
        g * d.f,
        g * d.h
    );
}

/// Rows per rayon task so that one task holds about [`GRAIN`] elements of pointwise work
/// (≥ all rows when the whole batch is below the grain: then it runs on the calling thread).
pub(crate) fn rows_per_task(row_work: usize) -> usize {
    (GRAIN / row_work.max(1)).max(1)
}

/// The pointwise forward of one sample's row.
///
/// On entry `gates` holds the 4H pre-activations *without* bias; on exit the activated gates.
/// `bias` is b_ih + b_hh; `scratch` is 4H long. Writes cₜ, tanh(cₜ), hₜ.
pub(crate) fn forward_row<T: Real>(
    gates: &mut [T],
    bias: &[T],
    c_prev: &[T],
    out: (&mut [T], &mut [T], &mut [T]),
    scratch: &mut [T],
) {
    let (c, tanh_c, h) = out;
    let hs = c.len();
    for (s, (&a, &b)) in scratch.iter_mut().zip(gates.iter().zip(bias)) {
        *s = a + b;
    }
    // i and f are adjacent, so one sigmoid call covers both.
    T::vec_sigmoid(&scratch[..2 * hs], &mut gates[..2 * hs]);
    T::vec_tanh(&scratch[2 * hs..3 * hs], &mut gates[2 * hs..3 * hs]);
    T::vec_sigmoid(&scratch[3 * hs..4 * hs], &mut gates[3 * hs..4 * hs]);
    let (i, rest) = gates.split_at(hs);
    let (f, rest) = rest.split_at(hs);
    let (g, _) = rest.split_at(hs);
    let c_prev = &c_prev[..hs];
    for k in 0..hs {
        c[k] = f[k] * c_prev[k] + i[k] * g[k];
    }
    let o = &gates[3 * hs..4 * hs];
    T::vec_tanh(c, tanh_c);
    T::vec_mul(o, tanh_c, h);
}

/// The pointwise backward of one sample's row: writes the pre-activation gradients `dgates`
/// (4H) and replaces `dc` (on entry dcₜ) by dcₜ₋₁ = dc̃ ⊙ f.
pub(crate) fn backward_row<T: Real>(
    gates: &[T],
    c_prev: &[T],
    tanh_c: &[T],
    dh: &[T],
    dc: &mut [T],
    dgates: &mut [T],
) {
    let hs = dc.len();
    let one = T::ONE;
    // Re-slice everything to exactly H so the compiler can drop the bounds checks and
    // vectorise the loop (it is ~8 % of an LSTM training step otherwise).
    let (gi, rest) = gates[..4 * hs].split_at(hs);
    let (gf, rest) = rest.split_at(hs);
    let (gg, go) = rest.split_at(hs);
    let (di, rest) = dgates[..4 * hs].split_at_mut(hs);
    let (df, rest) = rest.split_at_mut(hs);
    let (dg, d_o) = rest.split_at_mut(hs);
    let (c_prev, tanh_c, dh) = (&c_prev[..hs], &tanh_c[..hs], &dh[..hs]);
    for k in 0..hs {
        let (i, f, g, o) = (gi[k], gf[k], gg[k], go[k]);
        let tc = tanh_c[k];
        let dct = dc[k] + dh[k] * o * (one - tc * tc);
        di[k] = dct * g * i * (one - i);
        df[k] = dct * c_prev[k] * f * (one - f);
        dg[k] = dct * i * (one - g * g);
        d_o[k] = dh[k] * tc * o * (one - o);
        dc[k] = dct * f;
    }
}

/// b_ih + b_hh, added once per row in the pointwise pass.
pub(crate) fn combined_bias<T: Real>(w: &LstmWeights<'_, T>) -> Vec<T> {
    w.b_ih.iter().zip(w.b_hh).map(|(&a, &b)| a + b).collect()
}

/// db += Σ over the rows of `dgates` (`[rows, 4H]`), in row order (deterministic).
pub(crate) fn add_column_sums<T: Real>(dgates: &[T], db: &mut [T]) {
    for row in dgates.chunks_exact(db.len()) {
        for (b, &v) in db.iter_mut().zip(row) {
            *b += v;
        }
    }
}

/// C (+)= A·Bᵀ for dense row-major A `[m, k]` and B `[n, k]`; the invariant shapes are the
/// caller's.
pub(crate) fn gemm_abt<T: Real>(
    a: &[T],
    b: &[T],
    c: &mut [T],
    mkn: (usize, usize, usize),
    beta: T,
) {
    let (m, k, n) = mkn;
    let a = MatRef::row_major(a, m, k).expect("invariant: A is m×k");
    let b = MatRef::row_major(b, n, k).expect("invariant: B is n×k").t();
    let c = MatMut::row_major(c, m, n).expect("invariant: C is m×n");
    gemm::gemm(T::ONE, a, b, beta, c).expect("invariant: gemm shapes agree");
}

/// C += A·B for dense row-major A `[m, k]`, B `[k, n]`.
pub(crate) fn gemm_ab_acc<T: Real>(a: &[T], b: &[T], c: &mut [T], mkn: (usize, usize, usize)) {
    let (m, k, n) = mkn;
    let a = MatRef::row_major(a, m, k).expect("invariant: A is m×k");
    let b = MatRef::row_major(b, k, n).expect("invariant: B is k×n");
    let c = MatMut::row_major(c, m, n).expect("invariant: C is m×n");
    gemm::gemm(T::ONE, a, b, T::ONE, c).expect("invariant: gemm shapes agree");
}

/// C += Aᵀ·B for dense row-major A `[k, m]`, B `[k, n]` (the weight-gradient product, reduced
/// over the k = batch rows inside one GEMM).
pub(crate) fn gemm_atb_acc<T: Real>(a: &[T], b: &[T], c: &mut [T], mkn: (usize, usize, usize)) {
    let (m, k, n) = mkn;
    let a = MatRef::row_major(a, k, m).expect("invariant: A is k×m").t();
    let b = MatRef::row_major(b, k, n).expect("invariant: B is k×n");
    let c = MatMut::row_major(c, m, n).expect("invariant: C is m×n");
    gemm::gemm(T::ONE, a, b, T::ONE, c).expect("invariant: gemm shapes agree");
}

/// One LSTM step forward (fast): two GEMMs for the gate pre-activations, then the fused
/// pointwise pass per sample (rayon over the batch above [`GRAIN`]).
///
/// # Panics
/// If a slice length disagrees with `d` (the tensor layer checks this first), or if
/// `ECGRAD_ISA` is invalid (call [`crate::simd::try_isa`] first).
pub fn lstm_cell_forward<T: Real>(
    d: LstmDims,
    inp: LstmCellInputs<'_, T>,
    w: &LstmWeights<'_, T>,
) -> LstmStep<T> {
    check_weights(d, w);
    let (n, hs, g4) = (d.n, d.h, 4 * d.h);
    assert!(
        inp.x.len() == n * d.f && inp.h_prev.len() == n * hs && inp.c_prev.len() == n * hs,
        "lstm_cell_forward: x {}, h_prev {}, c_prev {} but N = {n}, F = {}, H = {hs}",
        inp.x.len(),
        inp.h_prev.len(),
        inp.c_prev.len(),
        d.f
    );
    let mut gates = vec![T::ZERO; n * g4];
    // a = x·W_ihᵀ (β = 0 overwrites) + h·W_hhᵀ (β = 1 accumulates).
    gemm_abt(inp.x, w.w_ih, &mut gates, (n, d.f, g4), T::ZERO);
    gemm_abt(inp.h_prev, w.w_hh, &mut gates, (n, hs, g4), T::ONE);
    let bias = combined_bias(w);
    let mut c = vec![T::ZERO; n * hs];
    let mut tanh_c = vec![T::ZERO; n * hs];
    let mut h = vec![T::ZERO; n * hs];
    gates
        .par_chunks_mut(g4)
        .zip(c.par_chunks_mut(hs))
        .zip(tanh_c.par_chunks_mut(hs))
        .zip(h.par_chunks_mut(hs))
        .zip(inp.c_prev.par_chunks(hs))
        .with_min_len(rows_per_task(2 * g4))
        .for_each_init(
            || vec![T::ZERO; g4],
            |scratch, ((((g, c), tc), h), cp)| forward_row(g, &bias, cp, (c, tc, h), scratch),
        );
    LstmStep {
        gates,
        c,
        tanh_c,
        h,
    }
}

/// One LSTM step backward (fast); **accumulates** into every gradient in `grads` and returns
/// the pre-activation gate gradients da `[N, 4H]`.
///
/// `dh` and `dc` are the upstream gradients of hₜ and cₜ `[N, H]`.
///
/// # Panics
/// If a slice length disagrees with `d`, or if `ECGRAD_ISA` is invalid.
pub fn lstm_cell_backward<T: Real>(
    d: LstmDims,
    inp: LstmCellInputs<'_, T>,
    w: &LstmWeights<'_, T>,
    saved: &LstmStep<T>,
    dh: &[T],
    dc: &[T],
    grads: LstmCellGrads<'_, T>,
) -> Vec<T> {
    check_weights(d, w);
    let (n, f, hs, g4) = (d.n, d.f, d.h, 4 * d.h);
    assert!(
        inp.x.len() == n * f
            && inp.h_prev.len() == n * hs
            && inp.c_prev.len() == n * hs
            && saved.gates.len() == n * g4
            && saved.tanh_c.len() == n * hs
            && dh.len() == n * hs
            && dc.len() == n * hs
            && grads.dx.len() == n * f
            && grads.dh_prev.len() == n * hs
            && grads.dc_prev.len() == n * hs
            && grads.dw_ih.len() == g4 * f
            && grads.dw_hh.len() == g4 * hs
            && grads.db.len() == g4,
        "lstm_cell_backward: a buffer length disagrees with N = {n}, F = {f}, H = {hs}"
    );
    let mut dgates = vec![T::ZERO; n * g4];
    // dc is copied so that `backward_row` can turn it into dcₜ₋₁ in place.
    let mut dc_work = dc.to_vec();
    dgates
        .par_chunks_mut(g4)
        .zip(dc_work.par_chunks_mut(hs))
        .zip(saved.gates.par_chunks(g4))
        .zip(saved.tanh_c.par_chunks(hs))
        .zip(inp.c_prev.par_chunks(hs))
        .zip(dh.par_chunks(hs))
        .with_min_len(rows_per_task(2 * g4))
        .for_each(|(((((dg, dcw), g), tc), cp), dh)| backward_row(g, cp, tc, dh, dcw, dg));
    for (o, &v) in grads.dc_prev.iter_mut().zip(&dc_work) {
        *o += v;
    }
    gemm_ab_acc(&dgates, w.w_ih, grads.dx, (n, g4, f));
    gemm_ab_acc(&dgates, w.w_hh, grads.dh_prev, (n, g4, hs));
    gemm_atb_acc(&dgates, inp.x, grads.dw_ih, (g4, n, f));
    gemm_atb_acc(&dgates, inp.h_prev, grads.dw_hh, (g4, n, hs));
    add_column_sums(&dgates, grads.db);
    dgates
}
