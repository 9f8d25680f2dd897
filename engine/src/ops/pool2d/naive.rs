//! Naive twins of the 2D pooling kernels: four nested loops and a padding test per tap, with
//! ndarray indexing so they read like the formulas. No SIMD, no threads.

use ndarray::{Array4, ArrayView4};

use crate::ops::pool1d::window::Axis;
use crate::real::Real;

/// Max pool: returns (y, argmax) with argmax = `ih·W + iw`, first maximum in row-major order.
pub fn max_pool2d_naive<T: Real>(
    x: ArrayView4<'_, T>,
    ah: &Axis,
    aw: &Axis,
) -> (Array4<T>, Array4<usize>) {
    let (n, c, _, w) = x.dim();
    let dims = (n, c, ah.out_len, aw.out_len);
    let mut y = Array4::from_elem(dims, T::ZERO);
    let mut argmax = Array4::from_elem(dims, 0usize);
    for ((b, ch, oh, ow), out) in y.indexed_iter_mut() {
        let mut best: Option<(T, usize)> = None;
        for i in 0..ah.kernel {
            for j in 0..aw.kernel {
                if let (Some(ih), Some(iw)) = (ah.input_pos(oh, i), aw.input_pos(ow, j)) {
                    let v = x[[b, ch, ih, iw]];
                    if best.is_none_or(|(m, _)| v > m) {
                        best = Some((v, ih * w + iw));
                    }
                }
            }
        }
        let (v, pos) = best.expect("invariant: every window holds an input sample");
        *out = v;
        argmax[[b, ch, oh, ow]] = pos;
    }
    (y, argmax)
}

/// The divisor D of an average pool at (oh, ow).
fn divisor(ah: &Axis, aw: &Axis, oh: usize, ow: usize, count_include_pad: bool) -> usize {
    if count_include_pad {
        ah.kernel * aw.kernel
    } else {
        let valid_h = (0..ah.kernel)
            .filter(|&i| ah.input_pos(oh, i).is_some())
            .count();
        let valid_w = (0..aw.kernel)
            .filter(|&j| aw.input_pos(ow, j).is_some())
            .count();
        valid_h * valid_w
    }
}

/// Average pool: `y = Σ_valid x / D`.
pub fn avg_pool2d_naive<T: Real>(
    x: ArrayView4<'_, T>,
    ah: &Axis,
    aw: &Axis,
    count_include_pad: bool,
) -> Array4<T> {
    let (n, c, _, _) = x.dim();
    Array4::from_shape_fn((n, c, ah.out_len, aw.out_len), |(b, ch, oh, ow)| {
        let mut sum = T::ZERO;
        for i in 0..ah.kernel {
            for j in 0..aw.kernel {
                if let (Some(ih), Some(iw)) = (ah.input_pos(oh, i), aw.input_pos(ow, j)) {
                    sum += x[[b, ch, ih, iw]];
                }
            }
        }
        sum / T::from_usize(divisor(ah, aw, oh, ow, count_include_pad))
    })
}

/// Average pool backward: `dx[ih, iw] += dy[oh, ow] / D` over valid taps.
pub fn avg_pool2d_backward_naive<T: Real>(
    dy: ArrayView4<'_, T>,
    ah: &Axis,
    aw: &Axis,
    count_include_pad: bool,
) -> Array4<T> {
    let (n, c, _, _) = dy.dim();
    let mut dx = Array4::from_elem((n, c, ah.in_len, aw.in_len), T::ZERO);
    for ((b, ch, oh, ow), &g) in dy.indexed_iter() {
        let g = g / T::from_usize(divisor(ah, aw, oh, ow, count_include_pad));
        for i in 0..ah.kernel {
            for j in 0..aw.kernel {
                if let (Some(ih), Some(iw)) = (ah.input_pos(oh, i), aw.input_pos(ow, j)) {
                    dx[[b, ch, ih, iw]] += g;
                }
            }
        }
    }
    dx
}

/// Max pool backward: `dx[n, c, argmax / W, argmax % W] += dy[n, c, oh, ow]`.
pub fn max_pool2d_backward_naive<T: Real>(
    dy: ArrayView4<'_, T>,
    argmax: ArrayView4<'_, usize>,
    h: usize,
    w: usize,
) -> Array4<T> {
    let (n, c, _, _) = dy.dim();
    let mut dx = Array4::from_elem((n, c, h, w), T::ZERO);
    for ((b, ch, oh, ow), &g) in dy.indexed_iter() {
        let pos = argmax[[b, ch, oh, ow]];
        dx[[b, ch, pos / w, pos % w]] += g;
    }
    dx
}
