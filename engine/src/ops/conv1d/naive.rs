//! conv1d as its formula: the specification every fast path is tested against.
//!
//! Plain loops with ndarray indexing, no SIMD, no threads, no tricks. Each function is one line
//! of math from the module docs of `conv1d/mod.rs`, written out:
//!
//! - forward:          `y[n,o,t] = b[o] + Σ_c Σ_j w[o,c,j]·x[n,c,pos(t,j)]`
//! - input gradient:   `dx[n,c,pos(t,j)] += Σ_o w[o,c,j]·dy[n,o,t]`
//! - weight gradient:  `dw[o,c,j] += Σ_n Σ_t dy[n,o,t]·x[n,c,pos(t,j)]`
//! - bias gradient:    `db[o] += Σ_n Σ_t dy[n,o,t]`
//!
//! where `pos(t, j) = t·stride + j·dilation − padding` is [`input_pos`], skipped when it falls
//! into the padding.

use ndarray::{ArrayView3, ArrayViewMut3};

use super::im2col::{Geom, input_pos};
use crate::real::Real;

fn view3<T>(data: &[T], d0: usize, d1: usize, d2: usize) -> ArrayView3<'_, T> {
    ArrayView3::from_shape((d0, d1, d2), data).expect("invariant: conv buffers have checked sizes")
}

fn view3_mut<T>(data: &mut [T], d0: usize, d1: usize, d2: usize) -> ArrayViewMut3<'_, T> {
    ArrayViewMut3::from_shape((d0, d1, d2), data)
        .expect("invariant: conv buffers have checked sizes")
}

/// Forward: overwrites `y` `[N, C_out, L_out]` with `b + w ⋆ x`.
pub(crate) fn forward<T: Real>(g: &Geom, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
    let x = view3(x, g.n, g.c_in, g.l_in);
    let w = view3(w, g.c_out, g.c_in, g.k);
    let mut y = view3_mut(y, g.n, g.c_out, g.l_out);
    for n in 0..g.n {
        for o in 0..g.c_out {
            for t in 0..g.l_out {
                let mut acc = b.map_or(T::ZERO, |b| b[o]);
                for c in 0..g.c_in {
                    for j in 0..g.k {
                        if let Some(pos) = input_pos(g, t, j) {
                            acc += w[[o, c, j]] * x[[n, c, pos]];
                        }
                    }
                }
                y[[n, o, t]] = acc;
            }
        }
    }
}

/// Input gradient, accumulating into `dx` `[N, C_in, L_in]`: each output's gradient flows back
/// to every input it read, weighted by the tap that read it.
pub(crate) fn backward_input<T: Real>(g: &Geom, dy: &[T], w: &[T], dx: &mut [T]) {
    let dy = view3(dy, g.n, g.c_out, g.l_out);
    let w = view3(w, g.c_out, g.c_in, g.k);
    let mut dx = view3_mut(dx, g.n, g.c_in, g.l_in);
    for n in 0..g.n {
        for o in 0..g.c_out {
            for t in 0..g.l_out {
                for c in 0..g.c_in {
                    for j in 0..g.k {
                        if let Some(pos) = input_pos(g, t, j) {
                            dx[[n, c, pos]] += w[[o, c, j]] * dy[[n, o, t]];
                        }
                    }
                }
            }
        }
    }
}

/// Weight gradient, accumulating into `dw` `[C_out, C_in, K]`: the correlation of the upstream
/// gradient with the input, summed over the batch.
pub(crate) fn backward_weight<T: Real>(g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    let x = view3(x, g.n, g.c_in, g.l_in);
    let dy = view3(dy, g.n, g.c_out, g.l_out);
    let mut dw = view3_mut(dw, g.c_out, g.c_in, g.k);
    for o in 0..g.c_out {
        for c in 0..g.c_in {
            for j in 0..g.k {
                let mut acc = T::ZERO;
                for n in 0..g.n {
                    for t in 0..g.l_out {
                        if let Some(pos) = input_pos(g, t, j) {
                            acc += dy[[n, o, t]] * x[[n, c, pos]];
                        }
                    }
                }
                dw[[o, c, j]] += acc;
            }
        }
    }
}

/// Bias gradient, accumulating into `db` `[C_out]`: the upstream gradient summed over batch and
/// time (each bias is added to every output of its channel).
pub(crate) fn backward_bias<T: Real>(n: usize, c_out: usize, l_out: usize, dy: &[T], db: &mut [T]) {
    let dy = view3(dy, n, c_out, l_out);
    for o in 0..c_out {
        let mut acc = T::ZERO;
        for n in 0..n {
            for t in 0..l_out {
                acc += dy[[n, o, t]];
            }
        }
        db[o] += acc;
    }
}
