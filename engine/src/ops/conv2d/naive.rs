//! Naive twins of the conv2d kernels: the formulas as nested loops over every output, channel
//! and tap, with ndarray indexing and a padding test per tap. The specification the fast kernels
//! are tested against.

use ndarray::{Array1, Array4, ArrayView4};

use super::Conv2dGeometry;
use crate::real::Real;

/// `y[n,o,oh,ow] = b[o] + Σ_{c,i,j} w[o,c,i,j]·x[n,c,ih,iw]`.
pub fn conv2d_naive<T: Real>(
    x: ArrayView4<'_, T>,
    w: ArrayView4<'_, T>,
    bias: Option<&[T]>,
    g: &Conv2dGeometry,
) -> Array4<T> {
    let (ah, aw) = (&g.ah, &g.aw);
    Array4::from_shape_fn((g.n, g.c_out, ah.out_len, aw.out_len), |(n, o, oh, ow)| {
        let mut acc = bias.map_or(T::ZERO, |b| b[o]);
        for c in 0..g.c_in {
            for i in 0..ah.kernel {
                for j in 0..aw.kernel {
                    if let (Some(ih), Some(iw)) = (ah.input_pos(oh, i), aw.input_pos(ow, j)) {
                        acc += w[[o, c, i, j]] * x[[n, c, ih, iw]];
                    }
                }
            }
        }
        acc
    })
}

/// `dx[n,c,ih,iw] = Σ w[o,c,i,j]·dy[n,o,oh,ow]` over every (o, oh, ow, i, j) that reads it.
pub fn conv2d_backward_input_naive<T: Real>(
    dy: ArrayView4<'_, T>,
    w: ArrayView4<'_, T>,
    g: &Conv2dGeometry,
) -> Array4<T> {
    let (ah, aw) = (&g.ah, &g.aw);
    let mut dx = Array4::from_elem((g.n, g.c_in, ah.in_len, aw.in_len), T::ZERO);
    for ((n, o, oh, ow), &d) in dy.indexed_iter() {
        for c in 0..g.c_in {
            for i in 0..ah.kernel {
                for j in 0..aw.kernel {
                    if let (Some(ih), Some(iw)) = (ah.input_pos(oh, i), aw.input_pos(ow, j)) {
                        dx[[n, c, ih, iw]] += w[[o, c, i, j]] * d;
                    }
                }
            }
        }
    }
    dx
}

/// `dw[o,c,i,j] = Σ_{n,oh,ow} dy[n,o,oh,ow]·x[n,c,ih,iw]`.
pub fn conv2d_backward_weight_naive<T: Real>(
    dy: ArrayView4<'_, T>,
    x: ArrayView4<'_, T>,
    g: &Conv2dGeometry,
) -> Array4<T> {
    let (ah, aw) = (&g.ah, &g.aw);
    let mut dw = Array4::from_elem((g.c_out, g.c_in, ah.kernel, aw.kernel), T::ZERO);
    for ((n, o, oh, ow), &d) in dy.indexed_iter() {
        for c in 0..g.c_in {
            for i in 0..ah.kernel {
                for j in 0..aw.kernel {
                    if let (Some(ih), Some(iw)) = (ah.input_pos(oh, i), aw.input_pos(ow, j)) {
                        dw[[o, c, i, j]] += d * x[[n, c, ih, iw]];
                    }
                }
            }
        }
    }
    dw
}

/// `db[o] = Σ_{n,oh,ow} dy[n,o,oh,ow]`.
pub fn conv2d_backward_bias_naive<T: Real>(dy: ArrayView4<'_, T>) -> Array1<T> {
    let mut db = Array1::from_elem(dy.dim().1, T::ZERO);
    for ((_, o, _, _), &d) in dy.indexed_iter() {
        db[o] += d;
    }
    db
}
