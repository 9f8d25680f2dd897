//! Naive twins of the reductions, indexing `x[[o, l, i]]` through ndarray exactly as the
//! formulas of [`super`] read.

use super::{AxisDims, beats};
use crate::real::Real;

fn view3<T: Real>(x: &[T], d: AxisDims) -> ndarray::ArrayView3<'_, T> {
    ndarray::ArrayView3::from_shape((d.outer, d.len, d.inner), x).expect("naive: x matches dims")
}

/// y\[o,i\] = Σ_l x\[o,l,i\] (then / len if `mean`), looping l in order.
pub fn sum_axis_naive<T: Real>(x: &[T], d: AxisDims, mean: bool, y: &mut [T]) {
    let xv = view3(x, d);
    for o in 0..d.outer {
        for i in 0..d.inner {
            let mut acc = T::ZERO;
            for l in 0..d.len {
                acc += xv[[o, l, i]];
            }
            y[o * d.inner + i] = if mean {
                acc / T::from_usize(d.len)
            } else {
                acc
            };
        }
    }
}

/// y\[o,i\] = max_l x\[o,l,i\] and the first l attaining it.
pub fn max_axis_naive<T: Real>(x: &[T], d: AxisDims, y: &mut [T], argmax: &mut [usize]) {
    let xv = view3(x, d);
    for o in 0..d.outer {
        for i in 0..d.inner {
            let (mut best, mut at) = (xv[[o, 0, i]], 0);
            for l in 1..d.len {
                if beats(xv[[o, l, i]], best) {
                    (best, at) = (xv[[o, l, i]], l);
                }
            }
            y[o * d.inner + i] = best;
            argmax[o * d.inner + i] = at;
        }
    }
}

/// Accumulates dx\[o,l,i\] += dy\[o,i\] (/ len if `mean`).
pub fn sum_axis_backward_naive<T: Real>(dy: &[T], d: AxisDims, mean: bool, dx: &mut [T]) {
    let mut dxv = ndarray::ArrayViewMut3::from_shape((d.outer, d.len, d.inner), dx)
        .expect("naive: dx matches dims");
    for o in 0..d.outer {
        for l in 0..d.len {
            for i in 0..d.inner {
                let g = dy[o * d.inner + i];
                dxv[[o, l, i]] += if mean { g / T::from_usize(d.len) } else { g };
            }
        }
    }
}
