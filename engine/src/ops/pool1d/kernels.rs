//! The fast pooling kernels on slices: tap-major row helpers (shared with `pool2d`) and the
//! 1D forward/backward kernels built from them. See the parent module for the math.

use rayon::prelude::*;

use super::NO_INDEX;
use super::window::Axis;
use crate::parallel::{GRAIN, current_threads};
use crate::real::Real;

// ---- row helpers (also used by pool2d) ------------------------------------------------------

/// The strip of `x_row` read by tap `j` for outputs `lo..hi`: a subslice when stride is 1,
/// otherwise gathered (SIMD-dispatched for f32) into `scratch`. Returns it and its first position.
#[inline]
fn tap_strip<'a, T: Real>(
    x_row: &'a [T],
    axis: &Axis,
    j: usize,
    lo: usize,
    hi: usize,
    scratch: &'a mut Vec<T>,
) -> (&'a [T], usize) {
    let start = lo * axis.stride + j * axis.dilation - axis.padding;
    if axis.stride == 1 {
        (&x_row[start..start + (hi - lo)], start)
    } else {
        scratch.clear();
        scratch.resize(hi - lo, T::ZERO);
        T::vec_gather_strided(x_row, start, axis.stride, scratch);
        (scratch.as_slice(), start)
    }
}

/// Updates a running max over one input row: output t takes a valid tap's value if no index is
/// set yet or the value is strictly greater. Indices written are `index_offset + position`.
/// Taps are visited in increasing position, so with the strict `>` the first maximum wins ties.
///
/// Interior outputs (every tap inside the row: `t ∈ [lo of tap 0, hi of the last tap)`) scan
/// their window directly with no padding test; the few border outputs go tap by tap through the
/// index function. `fresh` says that no earlier row has written the interior outputs yet (always
/// in 1D; the first valid kernel row in 2D): their results are then stored, not merged.
///
/// The comparisons are written so that LLVM emits `maxss`/`cmov`/masks, not branches: on real
/// signals `v > m` is a coin flip, and an earlier version with one mispredicted branch per window
/// measured about 3× slower.
pub(crate) fn max_row_update<T: Real>(
    x_row: &[T],
    axis: &Axis,
    best: &mut [T],
    arg: &mut [usize],
    index_offset: usize,
    fresh: bool,
) {
    let (k, s, d) = (axis.kernel, axis.stride, axis.dilation);
    if fresh && k == 2 && s == 2 && d == 1 && axis.padding == 0 {
        // MaxPool1d(2), the pooling of every beat CNN: windows [2t, 2t + 1] tile the row, so
        // there is no border and each output is one compare. Written without branches so LLVM
        // vectorises it across t (the generic loop below measured ~4× slower on this shape).
        let n = best.len().min(x_row.len() / 2);
        let (best, arg) = (&mut best[..n], &mut arg[..n]);
        // Blocks of 8 outputs with fixed sizes, so the compiler sees no bounds checks and
        // vectorises the compare/select/index lanes; then the < 8 left over.
        let blocks = n / 8;
        for (blk, ((w, b), a)) in x_row[..16 * blocks]
            .chunks_exact(16)
            .zip(best.chunks_exact_mut(8))
            .zip(arg.chunks_exact_mut(8))
            .enumerate()
        {
            let w: &[T; 16] = w.try_into().expect("invariant: chunks of 16");
            let b: &mut [T; 8] = b.try_into().expect("invariant: chunks of 8");
            let a: &mut [usize; 8] = a.try_into().expect("invariant: chunks of 8");
            let base = index_offset + 16 * blk;
            for i in 0..8 {
                let (l, r) = (w[2 * i], w[2 * i + 1]);
                let second = r > l;
                b[i] = if second { r } else { l };
                a[i] = base + 2 * i + usize::from(second);
            }
        }
        for t in 8 * blocks..n {
            let (l, r) = (x_row[2 * t], x_row[2 * t + 1]);
            let second = r > l;
            best[t] = if second { r } else { l };
            arg[t] = index_offset + 2 * t + usize::from(second);
        }
        return;
    }
    let (lo, _) = axis.valid_range(0);
    let (_, hi) = axis.valid_range(k - 1);
    for t in lo..hi {
        // Tap 0 is valid, so t·s ≥ padding; the window ends inside the row.
        let base = t * s - axis.padding;
        let window = &x_row[base..base + axis.span()];
        let (mut m, mut at) = (window[0], 0);
        for j in 1..k {
            let v = window[j * d];
            let better = v > m;
            m = if better { v } else { m }; // maxss
            at = if better { j * d } else { at }; // cmov
        }
        let pos = index_offset + base + at;
        if fresh {
            (best[t], arg[t]) = (m, pos);
        } else {
            // A pure max pattern (maxss) for the value, a bit mask for the index: a select
            // whose operand is a load would be turned back into a branch.
            let old = best[t];
            let better = m > old;
            best[t] = if m > old { m } else { old };
            let mask = (better as usize).wrapping_neg();
            arg[t] = (pos & mask) | (arg[t] & !mask);
        }
    }
    let border = (0..lo.min(axis.out_len)).chain(hi.max(lo)..axis.out_len);
    for t in border {
        for j in 0..k {
            if let Some(pos) = axis.input_pos(t, j) {
                let v = x_row[pos];
                if arg[t] == NO_INDEX || v > best[t] {
                    (best[t], arg[t]) = (v, index_offset + pos);
                }
            }
        }
    }
}

/// acc\[t\] += Σ_{valid j} x_row\[pos(t, j)\] · weight, tap-major with `axpy` (SIMD for f32).
pub(crate) fn sum_row_add<T: Real>(
    x_row: &[T],
    axis: &Axis,
    weight: T,
    acc: &mut [T],
    scratch: &mut Vec<T>,
) {
    for j in 0..axis.kernel {
        let (lo, hi) = axis.valid_range(j);
        if lo < hi {
            let (strip, _) = tap_strip(x_row, axis, j, lo, hi, scratch);
            T::vec_axpy(weight, strip, &mut acc[lo..hi]);
        }
    }
}

/// dx_row\[pos(t, j)\] += g\[t\] for every valid tap: the transpose of [`sum_row_add`].
pub(crate) fn scatter_row_add<T: Real>(g: &[T], axis: &Axis, dx_row: &mut [T]) {
    for j in 0..axis.kernel {
        let (lo, hi) = axis.valid_range(j);
        if lo == hi {
            continue;
        }
        let start = lo * axis.stride + j * axis.dilation - axis.padding;
        if axis.stride == 1 {
            T::vec_axpy(T::ONE, &g[lo..hi], &mut dx_row[start..start + (hi - lo)]);
        } else {
            T::vec_scatter_add_strided(&g[lo..hi], dx_row, start, axis.stride);
        }
    }
}

/// 1 / D_t for every output position of an average pool (see the module doc).
pub(crate) fn avg_inv_divisors<T: Real>(axis: &Axis, count_include_pad: bool) -> Vec<T> {
    (0..axis.out_len)
        .map(|t| {
            let d = if count_include_pad {
                axis.kernel
            } else {
                axis.valid_taps(t)
            };
            T::ONE / T::from_usize(d)
        })
        .collect()
}

/// Runs `f(row_index, out_chunk, scratch)` over consecutive `chunk`-sized pieces of `out`, in
/// parallel when `work ≥ GRAIN` and the pool has more than one thread. Rows are independent, so
/// the result does not depend on the thread count.
pub(crate) fn for_each_row<T: Real, F>(out: &mut [T], chunk: usize, work: usize, f: F)
where
    F: Fn(usize, &mut [T], &mut Vec<T>) + Sync,
{
    if work >= GRAIN && current_threads() > 1 && out.len() > chunk {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each_init(Vec::new, |scratch, (r, o)| f(r, o, scratch));
    } else {
        let mut scratch = Vec::new();
        for (r, o) in out.chunks_mut(chunk).enumerate() {
            f(r, o, &mut scratch);
        }
    }
}

// ---- fast kernels -----------------------------------------------------------------------------

/// Max pool forward over `rows` independent rows of `axis.in_len` samples; writes `y` and the
/// per-row argmax positions.
///
/// # Panics
/// If `x.len() != rows·in_len` or `y.len()`/`argmax.len()` differ from `rows·out_len`.
pub fn max_pool1d_forward<T: Real>(
    x: &[T],
    rows: usize,
    axis: &Axis,
    y: &mut [T],
    argmax: &mut [usize],
) {
    let (l_in, l_out) = (axis.in_len, axis.out_len);
    assert!(x.len() == rows * l_in && y.len() == rows * l_out && argmax.len() == y.len());
    let work = rows * l_out * axis.kernel;
    let row = |(r, (y_row, a_row)): (usize, (&mut [T], &mut [usize]))| {
        a_row.fill(NO_INDEX);
        max_row_update(&x[r * l_in..(r + 1) * l_in], axis, y_row, a_row, 0, true);
    };
    if work >= GRAIN && current_threads() > 1 && rows > 1 {
        y.par_chunks_mut(l_out)
            .zip(argmax.par_chunks_mut(l_out))
            .enumerate()
            .for_each(row);
    } else {
        y.chunks_mut(l_out)
            .zip(argmax.chunks_mut(l_out))
            .enumerate()
            .for_each(row);
    }
}

/// Max pool backward; **accumulates** `dx[row, argmax[row, t]] += dy[row, t]`.
///
/// # Panics
/// If the lengths disagree or an argmax position is `≥ l_in`.
pub fn max_pool1d_backward_input<T: Real>(
    dy: &[T],
    argmax: &[usize],
    l_out: usize,
    l_in: usize,
    dx: &mut [T],
) {
    assert!(dy.len() == argmax.len() && dy.len().is_multiple_of(l_out));
    assert_eq!(dx.len(), dy.len() / l_out * l_in);
    for_each_row(dx, l_in, dy.len(), |r, dx_row, _| {
        let range = r * l_out..(r + 1) * l_out;
        for (&g, &a) in dy[range.clone()].iter().zip(&argmax[range]) {
            dx_row[a] += g;
        }
    });
}

/// Average pool forward over `rows` rows.
///
/// # Panics
/// If `x.len() != rows·in_len` or `y.len() != rows·out_len`.
pub fn avg_pool1d_forward<T: Real>(
    x: &[T],
    rows: usize,
    axis: &Axis,
    count_include_pad: bool,
    y: &mut [T],
) {
    let (l_in, l_out) = (axis.in_len, axis.out_len);
    assert!(x.len() == rows * l_in && y.len() == rows * l_out);
    let inv: Vec<T> = avg_inv_divisors(axis, count_include_pad);
    for_each_row(y, l_out, rows * l_out * axis.kernel, |r, y_row, scratch| {
        y_row.fill(T::ZERO);
        sum_row_add(&x[r * l_in..(r + 1) * l_in], axis, T::ONE, y_row, scratch);
        for (v, &s) in y_row.iter_mut().zip(&inv) {
            *v *= s;
        }
    });
}

/// Average pool backward; **accumulates** `dx[row, pos(t,j)] += dy[row, t] / D_t`.
///
/// # Panics
/// If `dy.len() != rows·out_len` or `dx.len() != rows·in_len`.
pub fn avg_pool1d_backward_input<T: Real>(
    dy: &[T],
    rows: usize,
    axis: &Axis,
    count_include_pad: bool,
    dx: &mut [T],
) {
    let (l_in, l_out) = (axis.in_len, axis.out_len);
    assert!(dy.len() == rows * l_out && dx.len() == rows * l_in);
    let inv: Vec<T> = avg_inv_divisors(axis, count_include_pad);
    for_each_row(dx, l_in, rows * l_out * axis.kernel, |r, dx_row, g| {
        g.clear();
        g.extend(
            dy[r * l_out..(r + 1) * l_out]
                .iter()
                .zip(&inv)
                .map(|(&d, &s)| d * s),
        );
        scatter_row_add(g, axis, dx_row);
    });
}

/// Global average pool forward: `y[r] = (Σ_t x[r, t]) / l` for each of `y.len()` rows.
///
/// # Panics
/// If `x.len() != y.len()·l` or `l == 0`.
pub fn global_avg_pool1d_forward<T: Real>(x: &[T], l: usize, y: &mut [T]) {
    assert!(l > 0 && x.len() == y.len() * l);
    let inv = T::ONE / T::from_usize(l);
    let row = |(r, v): (usize, &mut T)| *v = T::vec_sum(&x[r * l..(r + 1) * l]) * inv;
    if x.len() >= GRAIN && current_threads() > 1 {
        y.par_iter_mut().enumerate().for_each(row);
    } else {
        y.iter_mut().enumerate().for_each(row);
    }
}

/// Global average pool backward; **accumulates** `dx[r, t] += dy[r] / l`.
///
/// # Panics
/// If `dx.len() != dy.len()·l` or `l == 0`.
pub fn global_avg_pool1d_backward_input<T: Real>(dy: &[T], l: usize, dx: &mut [T]) {
    assert!(l > 0 && dx.len() == dy.len() * l);
    let inv = T::ONE / T::from_usize(l);
    for_each_row(dx, l, dx.len(), |r, dx_row, _| {
        let g = dy[r] * inv;
        for v in dx_row {
            *v += g;
        }
    });
}
