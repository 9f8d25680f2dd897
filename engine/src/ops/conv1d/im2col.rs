//! The one index function of the convolution, and the textbook im2col + GEMM path built on it.
//!
//! **Index function.** Output position `t` reads, through tap `j`, the input position
//! `t·stride + j·dilation − padding` (signed arithmetic; outside `0..l_in` it reads a zero of the
//! padding). [`input_pos`] is that formula, and [`valid_outputs`] is its inverse: the range of
//! output positions whose tap `j` lands inside the signal. The naive loops, im2col, col2im, the
//! packed fast path and every backward kernel use these two functions, so the padding, stride and
//! remainder arithmetic exists exactly once (DESIGN.md §2.5).
//!
//! **im2col.** `cols[c·K + j, t] = x[c, input_pos(t, j)]` (0 for padding): a `(C_in·K) × L_out`
//! matrix whose column `t` is the receptive field of output `t`. Then `Y = W · cols` with `W`
//! viewed as `C_out × (C_in·K)`. **col2im** is its adjoint: it scatter-adds a `(C_in·K) × L_out`
//! matrix back onto the input positions, which is how `dX = col2im(Wᵀ·dY)`.
//!
//! The GEMMs here go through [`crate::gemm::gemm`] (matrixmultiply). This path is the readable
//! middle step between `naive.rs` and the fused `packed.rs`/`backward.rs`, a third reference in
//! the tests, and the production path for pointwise (K = 1) convolutions, where `cols` is the
//! input itself and no copy is made.

use std::ops::Range;

use rayon::prelude::*;

use super::scratch::with_scratch;
use crate::gemm::{MatMut, MatRef, gemm};
use crate::parallel::{self, block_reduce};
use crate::real::Real;

/// The full geometry of one convolution call: sizes plus stride, dilation and a *signed*
/// padding. Public entry points build it from [`super::Conv1dParams`]; the input-gradient and
/// transposed-convolution paths build "flipped" geometries whose padding may be negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geom {
    pub n: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub l_in: usize,
    pub l_out: usize,
    pub k: usize,
    pub stride: usize,
    pub dilation: usize,
    pub padding: isize,
}

impl Geom {
    /// Rows of the im2col matrix = the GEMM's reduction length: C_in·K.
    pub fn kdim(&self) -> usize {
        self.c_in * self.k
    }
    /// Multiply-adds of the forward pass: N·C_out·C_in·K·L_out.
    pub fn macs(&self) -> usize {
        self.n * self.c_out * self.kdim() * self.l_out
    }
    /// Stride 1 and padding ≥ 0: every row `(c, j)` of `cols` is a contiguous slice of the
    /// zero-padded signal (`c·L_pad + j·d + t`), which the direct and in-place paths read.
    pub fn reads_padded_views(&self) -> bool {
        self.stride == 1 && self.padding >= 0
    }
    /// K = 1, stride 1, padding 0: `cols` is the input itself (a pointwise conv is a plain GEMM).
    pub fn is_pointwise(&self) -> bool {
        self.k == 1 && self.stride == 1 && self.padding == 0 && self.l_out == self.l_in
    }
}

/// **The index function.** The input position that output `t` reads through tap `j`:
/// `t·stride + j·dilation − padding`, or `None` when that falls in the padding (outside
/// `0..l_in`).
#[inline(always)]
pub(crate) fn input_pos(g: &Geom, t: usize, j: usize) -> Option<usize> {
    let pos = (t * g.stride + j * g.dilation) as isize - g.padding;
    if pos >= 0 && (pos as usize) < g.l_in {
        Some(pos as usize)
    } else {
        None
    }
}

/// The output positions `t < l_out` for which [`input_pos`]`(t, j)` is `Some`: a contiguous
/// range, because the position grows with `t`. Solving `0 ≤ t·s + off < l_in` with
/// `off = j·d − p` gives `⌈−off/s⌉ ≤ t ≤ ⌊(l_in − 1 − off)/s⌋`. The tests check it against
/// [`input_pos`] at every `t`.
#[inline]
pub(crate) fn valid_outputs(g: &Geom, j: usize) -> Range<usize> {
    let off = (j * g.dilation) as isize - g.padding;
    let last_num = g.l_in as isize - 1 - off;
    if last_num < 0 {
        return 0..0;
    }
    let lo = if off >= 0 {
        0
    } else {
        ((-off) as usize).div_ceil(g.stride)
    };
    let hi = (last_num as usize / g.stride + 1).min(g.l_out);
    lo.min(hi)..hi
}

/// Fills `cols` (`(C_in·K) × L_out`, row-major) from one sample `x_n` (`C_in × L_in`).
pub(crate) fn im2col<T: Real>(g: &Geom, x_n: &[T], cols: &mut [T]) {
    for c in 0..g.c_in {
        let x_c = &x_n[c * g.l_in..(c + 1) * g.l_in];
        for j in 0..g.k {
            let row = &mut cols[(c * g.k + j) * g.l_out..][..g.l_out];
            let r = valid_outputs(g, j);
            row[..r.start].fill(T::ZERO);
            row[r.end..].fill(T::ZERO);
            if let Some(start) = r.clone().next().and_then(|t| input_pos(g, t, j)) {
                if g.stride == 1 {
                    row[r.clone()].copy_from_slice(&x_c[start..start + r.len()]);
                } else {
                    T::vec_gather_strided(x_c, start, g.stride, &mut row[r]);
                }
            }
        }
    }
}

/// Scatter-adds `cols` (`(C_in·K) × L_out`) onto one sample `dx_n` (`C_in × L_in`): the adjoint
/// of [`im2col`], accumulating (`+=`).
pub(crate) fn col2im<T: Real>(g: &Geom, cols: &[T], dx_n: &mut [T]) {
    for c in 0..g.c_in {
        let dx_c = &mut dx_n[c * g.l_in..(c + 1) * g.l_in];
        for j in 0..g.k {
            let row = &cols[(c * g.k + j) * g.l_out..][..g.l_out];
            let r = valid_outputs(g, j);
            if let Some(start) = r.clone().next().and_then(|t| input_pos(g, t, j)) {
                if g.stride == 1 {
                    T::vec_axpy(T::ONE, &row[r.clone()], &mut dx_c[start..start + r.len()]);
                } else {
                    T::vec_scatter_add_strided(&row[r], dx_c, start, g.stride);
                }
            }
        }
    }
}

/// Runs `f` on `cols_n`: the input itself for a pointwise conv, else im2col into scratch.
fn with_cols<T: Real, R>(g: &Geom, x_n: &[T], f: impl FnOnce(&[T]) -> R) -> R {
    if g.is_pointwise() {
        f(x_n)
    } else {
        with_scratch::<T, _>(g.kdim() * g.l_out, |cols| {
            im2col(g, x_n, cols);
            f(cols)
        })
    }
}

/// Views a dense row-major block as a matrix; the extents were checked by the tensor layer.
fn mat<T: Real>(data: &[T], rows: usize, cols: usize) -> MatRef<'_, T> {
    MatRef::row_major(data, rows, cols).expect("invariant: conv buffers have checked extents")
}

fn mat_mut<T: Real>(data: &mut [T], rows: usize, cols: usize) -> MatMut<'_, T> {
    MatMut::row_major(data, rows, cols).expect("invariant: conv buffers have checked extents")
}

/// Whether the work is worth rayon at all (DESIGN.md §2.11).
fn parallel_worth_it(g: &Geom) -> bool {
    g.n > 1 && g.macs() >= super::PARALLEL_MIN_MACS && parallel::current_threads() > 1
}

/// Forward through explicit im2col: per sample, `cols_n = im2col(x_n)` then
/// `Y_n = W·cols_n` (+ bias pre-filled, β = 1). Overwrites `y`.
pub(crate) fn forward<T: Real>(g: &Geom, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
    let one_sample = |n: usize, y_n: &mut [T]| {
        with_cols(g, &x[n * g.c_in * g.l_in..][..g.c_in * g.l_in], |cols| {
            let beta = match b {
                Some(b) => {
                    for (row, &bo) in y_n.chunks_exact_mut(g.l_out).zip(b) {
                        row.fill(bo);
                    }
                    T::ONE
                }
                None => T::ZERO,
            };
            gemm(
                T::ONE,
                mat(w, g.c_out, g.kdim()),
                mat(cols, g.kdim(), g.l_out),
                beta,
                mat_mut(y_n, g.c_out, g.l_out),
            )
            .expect("invariant: conv GEMM dimensions agree");
        })
    };
    let per_sample = g.c_out * g.l_out;
    if parallel_worth_it(g) {
        y.par_chunks_mut(per_sample)
            .enumerate()
            .for_each(|(n, y_n)| one_sample(n, y_n));
    } else {
        y.chunks_mut(per_sample)
            .enumerate()
            .for_each(|(n, y_n)| one_sample(n, y_n));
    }
}

/// Input gradient through col2im, accumulating: `dX_n += col2im(Wᵀ·dY_n)`.
pub(crate) fn backward_input<T: Real>(g: &Geom, dy: &[T], w: &[T], dx: &mut [T]) {
    let one_sample = |n: usize, dx_n: &mut [T]| {
        let w_t = mat(w, g.c_out, g.kdim()).t();
        let dy_n = mat(
            &dy[n * g.c_out * g.l_out..][..g.c_out * g.l_out],
            g.c_out,
            g.l_out,
        );
        if g.is_pointwise() {
            // col2im is the identity: accumulate Wᵀ·dY_n straight into dX_n (β = 1).
            gemm(T::ONE, w_t, dy_n, T::ONE, mat_mut(dx_n, g.c_in, g.l_in))
                .expect("invariant: conv GEMM dimensions agree");
            return;
        }
        with_scratch::<T, _>(g.kdim() * g.l_out, |dcols| {
            gemm(
                T::ONE,
                w_t,
                dy_n,
                T::ZERO,
                mat_mut(dcols, g.kdim(), g.l_out),
            )
            .expect("invariant: conv GEMM dimensions agree");
            col2im(g, dcols, dx_n);
        })
    };
    let per_sample = g.c_in * g.l_in;
    if parallel_worth_it(g) {
        dx.par_chunks_mut(per_sample)
            .enumerate()
            .for_each(|(n, dx_n)| one_sample(n, dx_n));
    } else {
        dx.chunks_mut(per_sample)
            .enumerate()
            .for_each(|(n, dx_n)| one_sample(n, dx_n));
    }
}

/// Weight gradient, accumulating: `dW += Σ_n dY_n·cols_nᵀ`, with `cols_n` recomputed per sample
/// and the batch sum done by [`block_reduce`] (fixed sample blocks, bit-identical at any thread
/// count).
pub(crate) fn backward_weight<T: Real>(g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    block_reduce(g.n, super::SAMPLE_BLOCK, dw, |n, partial| {
        with_cols(g, &x[n * g.c_in * g.l_in..][..g.c_in * g.l_in], |cols| {
            gemm(
                T::ONE,
                mat(
                    &dy[n * g.c_out * g.l_out..][..g.c_out * g.l_out],
                    g.c_out,
                    g.l_out,
                ),
                mat(cols, g.kdim(), g.l_out).t(),
                T::ONE,
                mat_mut(partial, g.c_out, g.kdim()),
            )
            .expect("invariant: conv GEMM dimensions agree");
        })
    });
}
