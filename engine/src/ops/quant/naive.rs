//! Quantised conv1d and linear as their formulas: the specification of the fast paths.
//!
//! `y[n,o,t] = s_x·s_w[o] · Σ_c Σ_j q_w[o,c,j]·q_x[n,c,pos(t,j)] + b[o]` with the integer sum in
//! i32 (exact), and `y[n,o] = s_x·s_w[o] · Σ_i q_w[o,i]·q_x[n,i] + b[o]`. The input is quantised
//! by the same [`quantize_slice`] and the sum scaled by the same [`dequantize_acc`] as in the
//! fast paths, so the two must agree **bit for bit**: only the integer sum is computed
//! differently (plain loops here, im2col + int8 GEMM there).

use super::{QuantizedWeights, quantize_slice};
use crate::ops::conv1d::Geom;
use crate::ops::conv1d::im2col::input_pos;

/// The epilogue shared by every path: `(s_x·s_w[o])·acc + b[o]` in f32, written as one
/// multiply and one add (no fused multiply-add, so every ISA rounds the same way).
#[inline]
pub(crate) fn dequantize_acc(acc: i32, multiplier: f32, bias: f32) -> f32 {
    multiplier * acc as f32 + bias
}

/// Quantised conv1d, overwriting `y` `[N, C_out, L_out]`.
pub(crate) fn qconv1d(
    g: &Geom,
    x: &[f32],
    x_scale: f32,
    w: &QuantizedWeights,
    b: Option<&[f32]>,
    y: &mut [f32],
) {
    let mut xq = vec![0i8; x.len()];
    quantize_slice(x, x_scale, &mut xq);
    for n in 0..g.n {
        for o in 0..g.c_out {
            let multiplier = x_scale * w.scales[o];
            let bias = b.map_or(0.0, |b| b[o]);
            for t in 0..g.l_out {
                let mut acc = 0i32;
                for c in 0..g.c_in {
                    for j in 0..g.k {
                        if let Some(pos) = input_pos(g, t, j) {
                            let qw = w.q[o * w.cols_padded + c * g.k + j];
                            let qx = xq[(n * g.c_in + c) * g.l_in + pos];
                            acc += i32::from(qw) * i32::from(qx);
                        }
                    }
                }
                y[(n * g.c_out + o) * g.l_out + t] = dequantize_acc(acc, multiplier, bias);
            }
        }
    }
}

/// Quantised linear layer, overwriting `y` `[N, out]` from `x` `[N, in]`.
pub(crate) fn qlinear(
    n: usize,
    x: &[f32],
    x_scale: f32,
    w: &QuantizedWeights,
    b: Option<&[f32]>,
    y: &mut [f32],
) {
    let (inp, out) = (w.cols, w.rows);
    let mut xq = vec![0i8; x.len()];
    quantize_slice(x, x_scale, &mut xq);
    for s in 0..n {
        for o in 0..out {
            let mut acc = 0i32;
            for i in 0..inp {
                acc += i32::from(w.q[o * w.cols_padded + i]) * i32::from(xq[s * inp + i]);
            }
            let bias = b.map_or(0.0, |b| b[o]);
            y[s * out + o] = dequantize_acc(acc, x_scale * w.scales[o], bias);
        }
    }
}
