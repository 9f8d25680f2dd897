//! Naive twins of the LSTM kernels: the equations of the [module doc](super) as plain loops
//! over the sample n, the gate row j and the hidden unit k, with no GEMM and no SIMD. They are
//! the specification the fast kernels are tested against.

use super::{LstmCellGrads, LstmCellInputs, LstmDims, LstmStep, LstmWeights, check_weights};
use crate::real::Real;

/// σ(a) = 1 / (1 + e⁻ᵃ), straight from the definition.
fn sigmoid<T: Real>(a: T) -> T {
    T::ONE / (T::ONE + (-a).exp())
}

/// One LSTM step forward, naive: every pre-activation is an explicit dot product.
///
/// # Panics
/// If a slice length disagrees with `d`.
pub fn lstm_cell_forward_naive<T: Real>(
    d: LstmDims,
    inp: LstmCellInputs<'_, T>,
    w: &LstmWeights<'_, T>,
) -> LstmStep<T> {
    check_weights(d, w);
    let (n, f, hs) = (d.n, d.f, d.h);
    assert_eq!(inp.x.len(), n * f, "lstm_cell_forward_naive: x");
    assert_eq!(inp.h_prev.len(), n * hs, "lstm_cell_forward_naive: h_prev");
    assert_eq!(inp.c_prev.len(), n * hs, "lstm_cell_forward_naive: c_prev");
    let mut gates = vec![T::ZERO; n * 4 * hs];
    let mut c = vec![T::ZERO; n * hs];
    let mut tanh_c = vec![T::ZERO; n * hs];
    let mut h = vec![T::ZERO; n * hs];
    for s in 0..n {
        for j in 0..4 * hs {
            let mut a = w.b_ih[j] + w.b_hh[j];
            for k in 0..f {
                a += inp.x[s * f + k] * w.w_ih[j * f + k];
            }
            for k in 0..hs {
                a += inp.h_prev[s * hs + k] * w.w_hh[j * hs + k];
            }
            // Gate block j / H: 0 = i, 1 = f, 2 = g (tanh), 3 = o.
            gates[s * 4 * hs + j] = if j / hs == 2 { a.tanh() } else { sigmoid(a) };
        }
        for k in 0..hs {
            let g = |b: usize| gates[s * 4 * hs + b * hs + k];
            let (ig, fg, gg, og) = (g(0), g(1), g(2), g(3));
            let ct = fg * inp.c_prev[s * hs + k] + ig * gg;
            c[s * hs + k] = ct;
            tanh_c[s * hs + k] = ct.tanh();
            h[s * hs + k] = og * ct.tanh();
        }
    }
    LstmStep {
        gates,
        c,
        tanh_c,
        h,
    }
}

/// One LSTM step backward, naive; **accumulates** into every gradient in `grads` and returns
/// the pre-activation gate gradients `[N, 4H]`.
///
/// # Panics
/// If a slice length disagrees with `d`.
pub fn lstm_cell_backward_naive<T: Real>(
    d: LstmDims,
    inp: LstmCellInputs<'_, T>,
    w: &LstmWeights<'_, T>,
    saved: &LstmStep<T>,
    dh: &[T],
    dc: &[T],
    grads: LstmCellGrads<'_, T>,
) -> Vec<T> {
    check_weights(d, w);
    let (n, f, hs) = (d.n, d.f, d.h);
    let g4 = 4 * hs;
    assert_eq!(saved.gates.len(), n * g4, "lstm_cell_backward_naive: gates");
    assert_eq!(dh.len(), n * hs, "lstm_cell_backward_naive: dh");
    assert_eq!(dc.len(), n * hs, "lstm_cell_backward_naive: dc");
    let one = T::ONE;
    let mut da = vec![T::ZERO; n * g4];
    for s in 0..n {
        for k in 0..hs {
            let g = |b: usize| saved.gates[s * g4 + b * hs + k];
            let (ig, fg, gg, og) = (g(0), g(1), g(2), g(3));
            let tc = saved.tanh_c[s * hs + k];
            let dhk = dh[s * hs + k];
            // cₜ reaches the loss directly (dc) and through hₜ = o ⊙ tanh(cₜ).
            let dct = dc[s * hs + k] + dhk * og * (one - tc * tc);
            da[s * g4 + k] = dct * gg * ig * (one - ig);
            da[s * g4 + hs + k] = dct * inp.c_prev[s * hs + k] * fg * (one - fg);
            da[s * g4 + 2 * hs + k] = dct * ig * (one - gg * gg);
            da[s * g4 + 3 * hs + k] = dhk * tc * og * (one - og);
            grads.dc_prev[s * hs + k] += dct * fg;
        }
    }
    // The affine part a = x·W_ihᵀ + h·W_hhᵀ + b, one loop per gradient.
    for s in 0..n {
        for j in 0..g4 {
            let a = da[s * g4 + j];
            for k in 0..f {
                grads.dx[s * f + k] += a * w.w_ih[j * f + k];
                grads.dw_ih[j * f + k] += a * inp.x[s * f + k];
            }
            for k in 0..hs {
                grads.dh_prev[s * hs + k] += a * w.w_hh[j * hs + k];
                grads.dw_hh[j * hs + k] += a * inp.h_prev[s * hs + k];
            }
            grads.db[j] += a;
        }
    }
    da
}

/// Copies time step `t` of an NTF buffer `[N, T, W]` into a dense `[N, W]` one.
pub(crate) fn gather_step<T: Real>(
    src: &[T],
    n: usize,
    steps: usize,
    t: usize,
    wid: usize,
) -> Vec<T> {
    let mut out = Vec::with_capacity(n * wid);
    for s in 0..n {
        let at = (s * steps + t) * wid;
        out.extend_from_slice(&src[at..at + wid]);
    }
    out
}

/// Writes a dense `[N, W]` buffer into time step `t` of an NTF buffer `[N, T, W]`.
pub(crate) fn scatter_step<T: Real>(src: &[T], dst: &mut [T], steps: usize, t: usize, wid: usize) {
    for (s, row) in src.chunks_exact(wid).enumerate() {
        let at = (s * steps + t) * wid;
        dst[at..at + wid].copy_from_slice(row);
    }
}
