//! The weight gradient of the convolution: `dW (C_out × C_in·K) += Σ_n dY_n · cols_nᵀ`, a GEMM
//! whose reduction runs over time (and the batch). A holds `dY_n` packed in MR-row panels; B holds
//! 16 columns of `cols_nᵀ` (one row per output position). Two ways to fill B:
//!
//! - **Transposed input** (stride 1, dilation 1: nearly every ECG layer). Order the columns of dW
//!   *tap-major*, `p' = j·C_in + c`, instead of `p = c·K + j`, and transpose the zero-padded
//!   signal once per sample, `xᵀ[r, c] = x[c, r − padding]`. Row `t` of `cols_nᵀ` in the new order
//!   is `xᵀ[t + j, c]` over consecutive `(j, c)`, which is the **contiguous** run
//!   `xᵀ_flat[t·C_in .. t·C_in + K·C_in]`: every row of a B panel is one 16-element copy. The price
//!   is one transposition of `x` (C_in·L values, K times fewer than `cols`) and a permutation of
//!   the finished `dW` (C_out·C_in·K values per call). In the last panel the copy runs past
//!   column K·C_in into neighbouring (finite) values of `xᵀ`; those tile columns are computed and
//!   thrown away.
//! - **Dot products** (stride 1, C_in·K < 16: the one-lead first layer): a tile would be mostly
//!   waste, so each `dW[o, p]` is one dot product over the valid range of its tap.
//! - **Gathered taps** (any stride or dilation): `b[t·NR + jj] = x[c, input_pos(t, j)]` for the
//!   16 taps `p0 + jj`, gathered through the [`Tap`] plan (a strided write per tap; runs of
//!   neighbouring taps copied as slices).
//!
//! The batch sum uses fixed work items (blocks of [`SAMPLE_BLOCK`] samples, and chunks of time
//! for a batch of one block), each with its own partial `dW`, added in item order: bit-identical
//! at any thread count.

use std::ops::Range;

use rayon::prelude::*;

use super::SAMPLE_BLOCK;
use super::im2col::Geom;
use super::packed::{Tap, panels, plan_taps, row_blocks};
use super::scratch::{with_scratch, with_scratch_for_overwrite};
use crate::parallel;
use crate::real::Real;
use crate::simd::{MR, NR};

/// Runs of at least this many taps are packed as slice copies (a fixed-size copy for a whole
/// panel row), shorter ones tap by tap. Measured on S6/S7 (K = 15, 9): copies of 8–15 taps beat
/// the strided tap-by-tap loop by 5–10 %; for K = 5 the tap-by-tap loop wins.
const MIN_RUN: usize = 8;
/// Time block of the weight-gradient GEMM (its reduction runs over output positions).
const KT: usize = 256;
/// Output positions per work item of the weight gradient's batch-and-time reduction (a multiple
/// of [`KT`], so the GEMM blocks inside an item are the same as without the cut).
const TIME_CHUNK: usize = 4 * KT;

/// Weight-gradient B panel: `b[tt·NR + jj] = cols[p0 + jj, t0 + tt]` for `tt < kt`, `jj <
/// taps.len()`, zero elsewhere (the transpose of a slab of `cols`). Neighbouring taps whose
/// inputs are neighbours in memory (stride 1, dilation 1: the taps of one channel) form runs,
/// copied as contiguous slices where every tap of the run is inside the signal.
fn pack_b_cols_t<T: Real>(g: &Geom, x_n: &[T], taps: &[Tap], t0: usize, kt: usize, b: &mut [T]) {
    b[..kt * NR].fill(T::ZERO);
    let mut jj0 = 0;
    while jj0 < taps.len() {
        let mut len = 1;
        while g.stride == 1
            && jj0 + len < taps.len()
            && taps[jj0 + len].off == taps[jj0].off + len as isize
        {
            len += 1;
        }
        let run = &taps[jj0..jj0 + len];
        if len < MIN_RUN {
            // Short runs (small K): one tap at a time, a contiguous read and a strided write.
            for (q, tap) in run.iter().enumerate() {
                let (lo, hi) = (tap.lo.max(t0), tap.hi.min(t0 + kt));
                for t in lo..hi {
                    b[(t - t0) * NR + jj0 + q] = x_n[(tap.off + (t * g.stride) as isize) as usize];
                }
            }
            jj0 += len;
            continue;
        }
        let lo_all = run.iter().map(|t| t.lo).max().unwrap_or(0);
        let hi_all = run.iter().map(|t| t.hi).min().unwrap_or(0);
        for tt in 0..kt {
            let t = t0 + tt;
            let dst = &mut b[tt * NR + jj0..][..len];
            if lo_all <= t && t < hi_all {
                let start = (run[0].off + (t * g.stride) as isize) as usize;
                if let Ok(dst) = <&mut [T; NR]>::try_from(&mut *dst) {
                    let src: &[T; NR] = x_n[start..start + NR]
                        .try_into()
                        .expect("invariant: NR elements");
                    *dst = *src;
                } else {
                    dst.copy_from_slice(&x_n[start..start + len]);
                }
            } else {
                for (v, tap) in dst.iter_mut().zip(run) {
                    if tap.lo <= t && t < tap.hi {
                        *v = x_n[(tap.off + (t * g.stride) as isize) as usize];
                    }
                }
            }
        }
        jj0 += len;
    }
}

/// A = one time block of dY in MR-row panels: `a[(panel·kt + tt)·MR + i] = dY[panel·MR + i, t0 +
/// tt]`, rows past `rows` zero. Packing per block keeps A in L2 however long the signal is.
fn pack_dy_block<T: Real>(
    dy_rows: &[T],
    rows: usize,
    l_out: usize,
    t0: usize,
    kt: usize,
    a: &mut [T],
) {
    for (panel, a_panel) in a.chunks_exact_mut(kt * MR).take(panels(rows)).enumerate() {
        let r0 = panel * MR;
        if r0 + MR <= rows {
            // A full panel: read the six rows side by side, write each step's MR values as one
            // contiguous group (a strided write per row measured 15 % of S6's weight gradient).
            let src: [&[T]; MR] = std::array::from_fn(|i| &dy_rows[(r0 + i) * l_out + t0..][..kt]);
            for (tt, dst) in a_panel.chunks_exact_mut(MR).enumerate() {
                let dst: &mut [T; MR] = dst.try_into().expect("invariant: chunks of MR");
                *dst = std::array::from_fn(|i| src[i][tt]);
            }
        } else {
            for i in 0..MR {
                let dst = a_panel[i..].iter_mut().step_by(MR);
                if r0 + i < rows {
                    let src = &dy_rows[(r0 + i) * l_out + t0..][..kt];
                    dst.zip(src).for_each(|(d, &v)| *d = v);
                } else {
                    dst.for_each(|d| *d = T::ZERO);
                }
            }
        }
    }
}

/// `dw_rows[:, p0..p0 + np] += A·B` for every MR-row panel of A (`kt` reduction steps): full
/// tiles accumulate in place (β = 1), edge tiles go through the `tile` scratch.
#[allow(clippy::too_many_arguments)]
fn dw_block<T: Real>(
    kt: usize,
    a: &[T],
    b: &[T],
    tile: &mut [T],
    dw_rows: &mut [T],
    kdim: usize,
    p0: usize,
    np: usize,
) {
    let rows = dw_rows.len() / kdim;
    for r0 in (0..rows).step_by(MR) {
        let a_blk = &a[r0 / MR * kt * MR..][..kt * MR];
        let mr = MR.min(rows - r0);
        if mr == MR && np == NR {
            let c = &mut dw_rows[r0 * kdim + p0..];
            T::gemm_kernel(kt, T::ONE, a_blk, b, T::ONE, c, kdim);
        } else {
            T::gemm_kernel(kt, T::ONE, a_blk, b, T::ZERO, tile, NR);
            for i in 0..mr {
                let dst = &mut dw_rows[(r0 + i) * kdim + p0..][..np];
                let src = &tile[i * NR..][..np];
                dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
            }
        }
    }
}

/// One sample's share of the weight-gradient GEMM: `dw_rows += dy_rows[:, times] · Bᵀ`, with the
/// reduction over `times` cut into blocks of [`KT`], A = each block of `dy_rows` packed by
/// [`pack_dy_block`], and `fill_b(t0, kt, p0, b)` writing the B panel of columns `p0 .. p0 + 16`
/// for output positions `t0 .. t0 + kt` (the two callers differ only in that).
fn weight_gemm<T: Real>(
    g: &Geom,
    dy_rows: &[T],
    dw_rows: &mut [T],
    times: Range<usize>,
    mut fill_b: impl FnMut(usize, usize, usize, &mut [T]),
) {
    let (kdim, l_out) = (g.kdim(), g.l_out);
    let rows = dy_rows.len() / l_out;
    // Both panels are rewritten before every use (A: all of its panels, B: the `kt` rows the
    // kernel reads), so they need no zero fill.
    with_scratch_for_overwrite::<T, _>(panels(rows) * KT * MR, |a| {
        with_scratch_for_overwrite::<T, _>(KT * NR, |bbuf| {
            with_scratch::<T, _>(MR * NR, |tile| {
                for t0 in times.clone().step_by(KT) {
                    let kt = KT.min(times.end - t0);
                    pack_dy_block(dy_rows, rows, l_out, t0, kt, a);
                    for p0 in (0..kdim).step_by(NR) {
                        fill_b(t0, kt, p0, bbuf);
                        dw_block(kt, a, bbuf, tile, dw_rows, kdim, p0, NR.min(kdim - p0));
                    }
                }
            })
        })
    })
}

/// One sample, gathered taps: `dw_rows += dy_rows[:, times] · cols_n[:, times]ᵀ` (rows of `dw`
/// are the same output channels as the rows of `dy_rows`; columns in the natural order `c·K + j`).
fn weight_rows<T: Real>(
    g: &Geom,
    taps: &[Tap],
    x_n: &[T],
    dy_rows: &[T],
    dw_rows: &mut [T],
    times: Range<usize>,
) {
    let kdim = g.kdim();
    weight_gemm(g, dy_rows, dw_rows, times, |t0, kt, p0, b| {
        pack_b_cols_t(g, x_n, &taps[p0..kdim.min(p0 + NR)], t0, kt, b)
    });
}

/// Rows of the transposed, zero-padded signal that output positions `times` read (stride 1,
/// dilation 1): `xt[r·C_in + c] = x[c, times.start + r − padding]` for `r < times.len() + K − 1`,
/// zero where that falls outside the signal. `xt` arrives zeroed and may be longer (the tail
/// stays zero).
///
/// Done in 8 × 8 blocks (8 channels × 8 positions): eight contiguous reads of 8, eight contiguous
/// writes of 8, the transposition in registers. Element by element, one side of the copy is
/// always strided and every access touches a different cache line (measured 5 % of S7's
/// forward + backward that way).
fn transpose_padded<T: Real>(g: &Geom, x_n: &[T], times: &Range<usize>, xt: &mut [T]) {
    const B: usize = 8;
    let (c_in, l_in) = (g.c_in, g.l_in);
    let rows = times.len() + g.k - 1;
    let shift = times.start as isize - g.padding; // input position of row 0
    let pos_lo = shift.max(0) as usize;
    let pos_hi = (shift + rows as isize).clamp(0, l_in as isize) as usize;
    if pos_hi <= pos_lo {
        return;
    }
    let row_of = |pos: usize| (pos as isize - shift) as usize;
    let (c_full, p_full) = (c_in / B * B, pos_lo + (pos_hi - pos_lo) / B * B);
    for c0 in (0..c_full).step_by(B) {
        for p0 in (pos_lo..p_full).step_by(B) {
            let mut blk = [[T::ZERO; B]; B];
            for (i, b) in blk.iter_mut().enumerate() {
                *b = x_n[(c0 + i) * l_in + p0..][..B]
                    .try_into()
                    .expect("invariant: B elements");
            }
            for j in 0..B {
                let dst: &mut [T; B] = (&mut xt[row_of(p0 + j) * c_in + c0..][..B])
                    .try_into()
                    .expect("invariant: B elements");
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = blk[i][j];
                }
            }
        }
    }
    // The ragged edges: channels past the last full block of 8, positions past the last block.
    for (c, x_c) in x_n.chunks_exact(l_in).enumerate() {
        let positions = if c < c_full {
            p_full..pos_hi
        } else {
            pos_lo..pos_hi
        };
        for pos in positions {
            xt[row_of(pos) * c_in + c] = x_c[pos];
        }
    }
}

/// One sample, transposed input (stride 1, dilation 1): `dw_rows += dy_rows[:, times] ·
/// cols'_n[:, times]ᵀ` with the columns of `dw_rows` in **tap-major** order `j·C_in + c` (the
/// caller permutes them back). Each B-panel row is the contiguous run `xt[tt·C_in + p0 ..][..16]`.
fn weight_rows_xt<T: Real>(
    g: &Geom,
    x_n: &[T],
    dy_rows: &[T],
    dw_rows: &mut [T],
    times: Range<usize>,
) {
    let c_in = g.c_in;
    // NR extra zeros: the last panel's rows may run past column K·C_in of the last row.
    let xt_len = (times.len() + g.k - 1) * c_in + NR;
    with_scratch::<T, _>(xt_len, |xt| {
        transpose_padded(g, x_n, &times, xt);
        let t_first = times.start;
        weight_gemm(g, dy_rows, dw_rows, times, |t0, kt, p0, b| {
            let base = (t0 - t_first) * c_in + p0;
            for (tt, row) in b.chunks_exact_mut(NR).take(kt).enumerate() {
                let row: &mut [T; NR] = row.try_into().expect("invariant: chunks of NR");
                let start = base + tt * c_in;
                // A fixed-size copy: two vector moves in f32.
                *row = xt[start..start + NR]
                    .try_into()
                    .expect("invariant: NR elements");
            }
        })
    })
}

/// How a weight gradient fills its B panels (chosen from the shape only).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Contiguous runs of the transposed signal; `dW` columns tap-major until the final sum.
    Transposed,
    /// Plain dot products (stride 1, C_in·K < NR).
    Dots,
    /// Taps gathered through the [`Tap`] plan.
    Gathered,
}

/// One sample's weight gradient as plain dot products, for a reduction too short to fill a
/// micro-kernel tile (C_in·K < NR, the first layer): `dw[o, p] += ⟨dY[o, lo..hi], x[off + lo..]⟩`
/// over the valid output range of tap `p`. Stride 1 only (the input slice must be contiguous).
/// No packing at all, which is what dominates when C_in·K is this small.
fn weight_dots<T: Real>(
    g: &Geom,
    taps: &[Tap],
    x_n: &[T],
    dy_rows: &[T],
    dw_rows: &mut [T],
    times: std::ops::Range<usize>,
) {
    let (kdim, l_out) = (g.kdim(), g.l_out);
    for (dy_o, dw_o) in dy_rows
        .chunks_exact(l_out)
        .zip(dw_rows.chunks_exact_mut(kdim))
    {
        for (d, tap) in dw_o.iter_mut().zip(taps) {
            let (lo, hi) = (tap.lo.max(times.start), tap.hi.min(times.end));
            if hi > lo {
                let start = (tap.off + lo as isize) as usize;
                let xs = &x_n[start..start + (hi - lo)];
                *d += T::vec_dot(&dy_o[lo..hi], xs);
            }
        }
    }
}

/// Weight gradient, accumulating: `dw += Σ_n dY_n·cols_nᵀ`.
///
/// The reduction runs over samples *and* time, so it is cut into fixed work items: blocks of
/// [`SAMPLE_BLOCK`] samples × (for a batch of at most one block) chunks of [`TIME_CHUNK`]
/// output positions. Each item owns a partial `dW`; the partials are summed in item order and
/// the sum is added to `dw` (permuted back from tap-major order on the transposed path). The cut
/// depends only on the shape, never on the thread count, so the bits are the same at any thread
/// count. Cutting time too matters for a batch of one long signal (S7: N = 1, L = 4096): it
/// gives the second core a quarter of the signal instead of a duplicate of every panel (which is
/// what splitting the rows of `dW` would cost; that split is kept only for shapes with fewer
/// items than threads).
pub(crate) fn backward_weight<T: Real>(g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    let (kdim, x_len, y_len) = (g.kdim(), g.c_in * g.l_in, g.c_out * g.l_out);
    let w_len = g.c_out * kdim;
    let taps = plan_taps(g);
    let taps = &taps[..];
    // Time is cut only when the batch fits in one sample block: with two or more blocks the
    // samples already feed two cores, and the extra partials measured slower (S6: 14 → 18 ms
    // at 1 thread). The rule looks at the shape only, so it cannot make results thread-dependent.
    let chunk_len = if g.n <= SAMPLE_BLOCK {
        TIME_CHUNK
    } else {
        g.l_out.max(1)
    };
    let t_chunks = g.l_out.div_ceil(chunk_len);
    let n_items = g.n.div_ceil(SAMPLE_BLOCK) * t_chunks;
    // A one-lead first layer (C_in·K < 16) measured faster as dot products than as tiles that
    // are mostly thrown away (S1: 0.22 vs 0.32 ms forward + backward).
    let path = if g.stride == 1 && kdim < NR {
        Path::Dots
    } else if g.stride == 1 && g.dilation == 1 {
        Path::Transposed
    } else {
        Path::Gathered
    };
    let threads = parallel::current_threads();
    let serial = threads == 1 || g.macs() < super::PARALLEL_MIN_MACS;
    let per_block = panels(g.c_out).div_ceil(row_blocks(n_items, g.c_out, threads));
    let rows_chunk = per_block * MR;
    let item_job = |item: usize, partial: &mut [T]| {
        let (blk, tc) = (item / t_chunks, item % t_chunks);
        let times = tc * chunk_len..((tc + 1) * chunk_len).min(g.l_out);
        let rows_job = |ri: usize, dw_rows: &mut [T]| {
            let r0 = ri * rows_chunk;
            let rows = dw_rows.len() / kdim;
            for n in blk * SAMPLE_BLOCK..((blk + 1) * SAMPLE_BLOCK).min(g.n) {
                let dy_rows = &dy[n * y_len + r0 * g.l_out..][..rows * g.l_out];
                let x_n = &x[n * x_len..][..x_len];
                let times = times.clone();
                match path {
                    Path::Transposed => weight_rows_xt(g, x_n, dy_rows, dw_rows, times),
                    Path::Dots => weight_dots(g, taps, x_n, dy_rows, dw_rows, times),
                    Path::Gathered => weight_rows(g, taps, x_n, dy_rows, dw_rows, times),
                }
            }
        };
        if serial || n_items >= threads {
            rows_job(0, partial);
        } else {
            partial
                .par_chunks_mut(rows_chunk * kdim)
                .enumerate()
                .for_each(|(ri, rows)| rows_job(ri, rows));
        }
    };
    with_scratch::<T, _>(n_items * w_len, |partials| {
        if serial {
            partials
                .chunks_exact_mut(w_len)
                .enumerate()
                .for_each(|(item, p)| item_job(item, p));
        } else {
            partials
                .par_chunks_exact_mut(w_len)
                .enumerate()
                .for_each(|(item, p)| item_job(item, p));
        }
        let (sum, rest) = partials.split_at_mut(w_len);
        for p in rest.chunks_exact(w_len) {
            sum.iter_mut().zip(p).for_each(|(s, &v)| *s += v);
        }
        if path == Path::Transposed {
            // Column j·C_in + c of the sum is column c·K + j of dW.
            for (dw_o, sum_o) in dw.chunks_exact_mut(kdim).zip(sum.chunks_exact(kdim)) {
                for (j, sum_j) in sum_o.chunks_exact(g.c_in).enumerate() {
                    for (c, &v) in sum_j.iter().enumerate() {
                        dw_o[c * g.k + j] += v;
                    }
                }
            }
        } else {
            dw.iter_mut().zip(&*sum).for_each(|(d, &v)| *d += v);
        }
    });
}
