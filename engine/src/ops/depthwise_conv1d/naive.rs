//! Depthwise conv1d as its formula: the specification the fast kernels are tested against.
//!
//! - forward:          `y[n,c,t] = b[c] + Σ_j w[c,0,j]·x[n,c,pos(t,j)]`
//! - input gradient:   `dx[n,c,pos(t,j)] += w[c,0,j]·dy[n,c,t]`
//! - weight gradient:  `dw[c,0,j] += Σ_n Σ_t dy[n,c,t]·x[n,c,pos(t,j)]`
//! - bias gradient:    `db[c] += Σ_n Σ_t dy[n,c,t]`
//!
//! `pos(t, j) = t·stride + j·dilation − padding` is conv1d's one index function
//! ([`input_pos`]), skipped when it falls into the padding. `g.c_in` is the channel count C.

use ndarray::{ArrayView3, ArrayViewMut3};

use crate::ops::conv1d::Geom;
use crate::ops::conv1d::im2col::input_pos;
use crate::real::Real;

fn view3<T>(data: &[T], d0: usize, d1: usize, d2: usize) -> ArrayView3<'_, T> {
    ArrayView3::from_shape((d0, d1, d2), data).expect("invariant: buffers have checked sizes")
}

fn view3_mut<T>(data: &mut [T], d0: usize, d1: usize, d2: usize) -> ArrayViewMut3<'_, T> {
    ArrayViewMut3::from_shape((d0, d1, d2), data).expect("invariant: buffers have checked sizes")
}

/// Forward: overwrites `y` `[N, C, L_out]`.
pub(super) fn forward<T: Real>(g: &Geom, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
    let x = view3(x, g.n, g.c_in, g.l_in);
    let w = view3(w, g.c_in, 1, g.k);
    let mut y = view3_mut(y, g.n, g.c_in, g.l_out);
    for n in 0..g.n {
        for c in 0..g.c_in {
            for t in 0..g.l_out {
                let mut acc = b.map_or(T::ZERO, |b| b[c]);
                for j in 0..g.k {
                    if let Some(pos) = input_pos(g, t, j) {
                        acc += w[[c, 0, j]] * x[[n, c, pos]];
                    }
                }
                y[[n, c, t]] = acc;
            }
        }
    }
}

/// Input gradient, accumulating into `dx` `[N, C, L_in]`.
pub(super) fn backward_input<T: Real>(g: &Geom, dy: &[T], w: &[T], dx: &mut [T]) {
    let dy = view3(dy, g.n, g.c_in, g.l_out);
    let w = view3(w, g.c_in, 1, g.k);
    let mut dx = view3_mut(dx, g.n, g.c_in, g.l_in);
    for n in 0..g.n {
        for c in 0..g.c_in {
            for t in 0..g.l_out {
                for j in 0..g.k {
                    if let Some(pos) = input_pos(g, t, j) {
                        dx[[n, c, pos]] += w[[c, 0, j]] * dy[[n, c, t]];
                    }
                }
            }
        }
    }
}

/// Weight gradient, accumulating into `dw` `[C, 1, K]`.
pub(super) fn backward_weight<T: Real>(g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    let x = view3(x, g.n, g.c_in, g.l_in);
    let dy = view3(dy, g.n, g.c_in, g.l_out);
    let mut dw = view3_mut(dw, g.c_in, 1, g.k);
    for c in 0..g.c_in {
        for j in 0..g.k {
            let mut acc = T::ZERO;
            for n in 0..g.n {
                for t in 0..g.l_out {
                    if let Some(pos) = input_pos(g, t, j) {
                        acc += dy[[n, c, t]] * x[[n, c, pos]];
                    }
                }
            }
            dw[[c, 0, j]] += acc;
        }
    }
}

/// Bias gradient, accumulating into `db` `[C]`.
pub(super) fn backward_bias<T: Real>(n: usize, c: usize, l_out: usize, dy: &[T], db: &mut [T]) {
    let dy = view3(dy, n, c, l_out);
    for ch in 0..c {
        let mut acc = T::ZERO;
        for s in 0..n {
            for t in 0..l_out {
                acc += dy[[s, ch, t]];
            }
        }
        db[ch] += acc;
    }
}
