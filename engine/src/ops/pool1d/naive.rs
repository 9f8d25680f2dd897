//! Naive twins of the 1D pooling kernels: the specification, written as the formulas of the
//! module doc with ndarray indexing and one padding test per tap. No SIMD, no threads.

use ndarray::{Array3, ArrayView3};

use super::window::Axis;
use crate::real::Real;

/// Max pool: `y[n,c,t] = max over valid taps`, first index on ties. Returns (y, argmax).
pub fn max_pool1d_naive<T: Real>(x: ArrayView3<'_, T>, axis: &Axis) -> (Array3<T>, Array3<usize>) {
    let (n, c, _) = x.dim();
    let mut y = Array3::from_elem((n, c, axis.out_len), T::ZERO);
    let mut argmax = Array3::from_elem((n, c, axis.out_len), 0usize);
    for b in 0..n {
        for ch in 0..c {
            for t in 0..axis.out_len {
                let mut best: Option<(T, usize)> = None;
                for j in 0..axis.kernel {
                    if let Some(pos) = axis.input_pos(t, j) {
                        let v = x[[b, ch, pos]];
                        // Strictly greater: an equal later value never replaces the first.
                        if best.is_none_or(|(m, _)| v > m) {
                            best = Some((v, pos));
                        }
                    }
                }
                let (v, pos) = best.expect("invariant: every window holds an input sample");
                y[[b, ch, t]] = v;
                argmax[[b, ch, t]] = pos;
            }
        }
    }
    (y, argmax)
}

/// Max pool backward: `dx[n,c,argmax] += dy[n,c,t]` (returns a fresh dx).
pub fn max_pool1d_backward_naive<T: Real>(
    dy: ArrayView3<'_, T>,
    argmax: ArrayView3<'_, usize>,
    l_in: usize,
) -> Array3<T> {
    let (n, c, l_out) = dy.dim();
    let mut dx = Array3::from_elem((n, c, l_in), T::ZERO);
    for b in 0..n {
        for ch in 0..c {
            for t in 0..l_out {
                dx[[b, ch, argmax[[b, ch, t]]]] += dy[[b, ch, t]];
            }
        }
    }
    dx
}

/// The divisor D_t of an average pool.
fn divisor(axis: &Axis, t: usize, count_include_pad: bool) -> usize {
    if count_include_pad {
        axis.kernel
    } else {
        (0..axis.kernel)
            .filter(|&j| axis.input_pos(t, j).is_some())
            .count()
    }
}

/// Average pool: `y[n,c,t] = Σ_valid x / D_t`.
pub fn avg_pool1d_naive<T: Real>(
    x: ArrayView3<'_, T>,
    axis: &Axis,
    count_include_pad: bool,
) -> Array3<T> {
    let (n, c, _) = x.dim();
    let mut y = Array3::from_elem((n, c, axis.out_len), T::ZERO);
    for b in 0..n {
        for ch in 0..c {
            for t in 0..axis.out_len {
                let mut sum = T::ZERO;
                for j in 0..axis.kernel {
                    if let Some(pos) = axis.input_pos(t, j) {
                        sum += x[[b, ch, pos]];
                    }
                }
                y[[b, ch, t]] = sum / T::from_usize(divisor(axis, t, count_include_pad));
            }
        }
    }
    y
}

/// Average pool backward: `dx[n,c,pos(t,j)] += dy[n,c,t] / D_t`.
pub fn avg_pool1d_backward_naive<T: Real>(
    dy: ArrayView3<'_, T>,
    axis: &Axis,
    count_include_pad: bool,
) -> Array3<T> {
    let (n, c, _) = dy.dim();
    let mut dx = Array3::from_elem((n, c, axis.in_len), T::ZERO);
    for b in 0..n {
        for ch in 0..c {
            for t in 0..axis.out_len {
                let g = dy[[b, ch, t]] / T::from_usize(divisor(axis, t, count_include_pad));
                for j in 0..axis.kernel {
                    if let Some(pos) = axis.input_pos(t, j) {
                        dx[[b, ch, pos]] += g;
                    }
                }
            }
        }
    }
    dx
}

/// Global average pool: `y[n,c] = Σ_t x[n,c,t] / L`, returned as `[N, C]` in a flat vector.
pub fn global_avg_pool1d_naive<T: Real>(x: ArrayView3<'_, T>) -> Vec<T> {
    let (n, c, l) = x.dim();
    let mut y = Vec::with_capacity(n * c);
    for b in 0..n {
        for ch in 0..c {
            let mut sum = T::ZERO;
            for t in 0..l {
                sum += x[[b, ch, t]];
            }
            y.push(sum / T::from_usize(l));
        }
    }
    y
}

/// Global average pool backward: `dx[n,c,t] = dy[n,c] / L` (dy flat `[N, C]`).
pub fn global_avg_pool1d_backward_naive<T: Real>(
    dy: &[T],
    n: usize,
    c: usize,
    l: usize,
) -> Array3<T> {
    Array3::from_shape_fn((n, c, l), |(b, ch, _)| dy[b * c + ch] / T::from_usize(l))
}
