//! The fast path: im2col fused into the packing of the GEMM micro-kernel's panels.
//!
//! The explicit im2col path (`im2col.rs`) writes a `(C_in·K) × L_out` matrix to memory and hands
//! it to a GEMM, which copies it *again* into its packed panels. Here the two copies are one:
//!
//! - **A = W**, packed once per call into MR-row panels, `a[panel][p·MR + i] = W[panel·MR + i, p]`
//!   with `p = c·K + j` (shared read-only by all samples and threads);
//! - **B = cols_n**, never materialised: for each tile of NR = 16 output positions, the
//!   micro-kernel's panel `b[p·NR + jj] = x[c, input_pos(t0 + jj, j)]` is filled straight from
//!   the signal. For stride 1 each row is a contiguous 16-element copy of `x[c]` (zeros where it
//!   falls into the padding), so building a panel costs about as much as reading it once;
//! - the reduction `p` is cut into blocks of [`KC`] so one B panel (KC·NR values, 16 KiB in f32)
//!   stays in L1 while the MR-row panels of A stream past it, and C tiles are written straight
//!   into NCL output with the row stride `L_out`. Tiles at the edges (fewer than MR rows or NR
//!   columns) go through a small MR×NR scratch tile.
//!
//! The **weight gradient** is the same machine with the roles turned: `dW (C_out × C_in·K) +=
//! dY_n (C_out × L_out) · cols_nᵀ`, reduction over `t`. A holds `dY_n` packed in MR-row panels;
//! B holds `cols_nᵀ` (`b[t·NR + jj] = x[c, input_pos(t, j)]` for the 16 taps `p0 + jj`), again
//! gathered straight from the signal.
//!
//! Work splits over samples and, when there are few samples, over blocks of MR-row panels of the
//! output (so N = 1 uses every core). Each output element is always reduced in the same order,
//! whatever the split, so the result does not depend on the thread count; the batch sum of `dW`
//! uses fixed sample blocks added in block order (DESIGN.md §2.11).

use rayon::prelude::*;

use super::SAMPLE_BLOCK;
use super::im2col::{Geom, input_pos, valid_outputs};
use super::scratch::with_scratch;
use crate::parallel;
use crate::real::Real;
use crate::simd::{MR, NR};

/// Reduction block of the forward GEMM (rows of a B panel): 256·16 f32 = 16 KiB, half of L1.
pub(crate) const KC: usize = 256;
/// Time block of the weight-gradient GEMM (its reduction runs over output positions).
const KT: usize = 256;

/// Number of MR-row panels needed for `rows` rows.
pub(crate) fn panels(rows: usize) -> usize {
    rows.div_ceil(MR)
}

/// Packs the `rows × kdim` matrix `get(r, p)` into MR-row panels: `out[panel·kdim·MR + p·MR + i]
/// = get(panel·MR + i, p)`. Rows past `rows` stay zero (the caller zeroed `out`), so the
/// micro-kernel can always compute full MR-row tiles.
pub(crate) fn pack_a<T: Real>(
    rows: usize,
    kdim: usize,
    get: impl Fn(usize, usize) -> T,
    out: &mut [T],
) {
    for (panel, chunk) in out.chunks_exact_mut(kdim * MR).enumerate() {
        for i in 0..MR.min(rows - panel * MR) {
            let r = panel * MR + i;
            for p in 0..kdim {
                chunk[p * MR + i] = get(r, p);
            }
        }
    }
}

/// Forward B panel: `b[pp·NR + jj] = cols[p0 + pp, t0 + jj]` for `pp < kc`, `jj < nr`, zero
/// elsewhere; i.e. im2col of a 16-position slab, written where the micro-kernel reads it.
fn pack_b_cols<T: Real>(
    g: &Geom,
    x_n: &[T],
    p0: usize,
    kc: usize,
    t0: usize,
    nr: usize,
    b: &mut [T],
) {
    for pp in 0..kc {
        let (c, j) = ((p0 + pp) / g.k, (p0 + pp) % g.k);
        let row = &mut b[pp * NR..(pp + 1) * NR];
        let r = valid_outputs(g, j);
        let lo = r.start.clamp(t0, t0 + nr);
        let hi = r.end.clamp(lo, t0 + nr);
        row[..lo - t0].fill(T::ZERO);
        row[hi - t0..].fill(T::ZERO);
        if hi > lo {
            let x_c = &x_n[c * g.l_in..(c + 1) * g.l_in];
            let start = input_pos(g, lo, j).expect("invariant: lo is inside valid_outputs");
            let dst = &mut row[lo - t0..hi - t0];
            if g.stride == 1 {
                dst.copy_from_slice(&x_c[start..start + (hi - lo)]);
            } else {
                T::vec_gather_strided(x_c, start, g.stride, dst);
            }
        }
    }
}

/// Weight-gradient B panel: `b[tt·NR + jj] = cols[p0 + jj, t0 + tt]` for `tt < kt`, `jj < np`,
/// zero elsewhere (the transpose of a slab of `cols`).
fn pack_b_cols_t<T: Real>(
    g: &Geom,
    x_n: &[T],
    p0: usize,
    np: usize,
    t0: usize,
    kt: usize,
    b: &mut [T],
) {
    b[..kt * NR].fill(T::ZERO);
    for jj in 0..np {
        let (c, j) = ((p0 + jj) / g.k, (p0 + jj) % g.k);
        let r = valid_outputs(g, j);
        let lo = r.start.clamp(t0, t0 + kt);
        let hi = r.end.clamp(lo, t0 + kt);
        if hi > lo {
            let x_c = &x_n[c * g.l_in..(c + 1) * g.l_in];
            let start = input_pos(g, lo, j).expect("invariant: lo is inside valid_outputs");
            let src = x_c[start..].iter().step_by(g.stride).take(hi - lo);
            for (dst, &v) in b[(lo - t0) * NR + jj..].iter_mut().step_by(NR).zip(src) {
                *dst = v;
            }
        }
    }
}

/// What the forward core does with the output buffer.
#[derive(Clone, Copy)]
pub(crate) enum Mode<'a, T> {
    /// y ← b + W·cols (`None`: no bias).
    Overwrite(Option<&'a [T]>),
    /// y ← y + W·cols (the input gradient, which accumulates).
    Accumulate,
}

/// One sample, output rows `panel_lo·MR ..` (as many as `y_rows` holds): `y_rows (+)= A·cols_n`.
fn conv_rows<T: Real>(
    g: &Geom,
    x_n: &[T],
    a: &[T],
    panel_lo: usize,
    y_rows: &mut [T],
    mode: Mode<'_, T>,
) {
    let (kdim, l_out) = (g.kdim(), g.l_out);
    let rows = y_rows.len() / l_out;
    let mut accumulate = matches!(mode, Mode::Accumulate);
    if let Mode::Overwrite(Some(b)) = mode {
        // The bias is the tile's starting value; the GEMM then accumulates onto it (β = 1),
        // so there is no separate bias pass over the output.
        for (i, row) in y_rows.chunks_exact_mut(l_out).enumerate() {
            row.fill(b[panel_lo * MR + i]);
        }
        accumulate = true;
    }
    with_scratch::<T, _>(KC * NR, |bbuf| {
        with_scratch::<T, _>(MR * NR, |tile| {
            for t0 in (0..l_out).step_by(NR) {
                let nr = NR.min(l_out - t0);
                for p0 in (0..kdim).step_by(KC) {
                    let kc = KC.min(kdim - p0);
                    // β = 0 on the first block overwrites the output without reading it.
                    let first = p0 == 0 && !accumulate;
                    let beta = if first { T::ZERO } else { T::ONE };
                    pack_b_cols(g, x_n, p0, kc, t0, nr, bbuf);
                    for r0 in (0..rows).step_by(MR) {
                        let panel = panel_lo + r0 / MR;
                        let a_blk = &a[(panel * kdim + p0) * MR..][..kc * MR];
                        let mr = MR.min(rows - r0);
                        if mr == MR && nr == NR {
                            let c = &mut y_rows[r0 * l_out + t0..];
                            T::gemm_kernel(kc, T::ONE, a_blk, bbuf, beta, c, l_out);
                        } else {
                            T::gemm_kernel(kc, T::ONE, a_blk, bbuf, T::ZERO, tile, NR);
                            for i in 0..mr {
                                let dst = &mut y_rows[(r0 + i) * l_out + t0..][..nr];
                                let src = &tile[i * NR..][..nr];
                                if first {
                                    dst.copy_from_slice(src);
                                } else {
                                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                                }
                            }
                        }
                    }
                }
            }
        })
    })
}

/// How many MR-panel blocks to split each sample's rows into so that `n × blocks` jobs keep
/// `threads` busy (1 when the batch alone is enough).
fn row_blocks(n: usize, rows: usize, threads: usize) -> usize {
    (2 * threads).div_ceil(n).clamp(1, panels(rows))
}

/// The forward core: `y_n (+)= A·cols(x_n)` for every sample, `A` packed by [`pack_a`] with
/// `g.c_out` rows and `g.kdim()` columns. `x` is `[N, C_in, L_in]`, `y` is `[N, C_out, L_out]`.
pub(crate) fn forward_core<T: Real>(g: &Geom, x: &[T], a: &[T], y: &mut [T], mode: Mode<'_, T>) {
    let (x_len, y_len) = (g.c_in * g.l_in, g.c_out * g.l_out);
    let threads = parallel::current_threads();
    if threads == 1 || g.macs() < parallel::GRAIN {
        for (n, y_n) in y.chunks_exact_mut(y_len).enumerate() {
            conv_rows(g, &x[n * x_len..][..x_len], a, 0, y_n, mode);
        }
        return;
    }
    let per_block = panels(g.c_out).div_ceil(row_blocks(g.n, g.c_out, threads));
    y.par_chunks_exact_mut(y_len)
        .enumerate()
        .for_each(|(n, y_n)| {
            let x_n = &x[n * x_len..][..x_len];
            y_n.par_chunks_mut(per_block * MR * g.l_out)
                .enumerate()
                .for_each(|(bi, y_rows)| conv_rows(g, x_n, a, bi * per_block, y_rows, mode));
        });
}

/// One sample, weight-gradient rows `dw_rows` (the same rows of `dy_rows`):
/// `dw_rows += dy_rows · cols_nᵀ`.
fn weight_rows<T: Real>(g: &Geom, x_n: &[T], dy_rows: &[T], dw_rows: &mut [T]) {
    let (kdim, l_out) = (g.kdim(), g.l_out);
    let rows = dy_rows.len() / l_out;
    with_scratch::<T, _>(panels(rows) * l_out * MR, |a| {
        pack_a(rows, l_out, |o, t| dy_rows[o * l_out + t], a);
        with_scratch::<T, _>(KT * NR, |bbuf| {
            with_scratch::<T, _>(MR * NR, |tile| {
                for t0 in (0..l_out).step_by(KT) {
                    let kt = KT.min(l_out - t0);
                    for p0 in (0..kdim).step_by(NR) {
                        let np = NR.min(kdim - p0);
                        pack_b_cols_t(g, x_n, p0, np, t0, kt, bbuf);
                        for r0 in (0..rows).step_by(MR) {
                            let a_blk = &a[(r0 / MR * l_out + t0) * MR..][..kt * MR];
                            let mr = MR.min(rows - r0);
                            if mr == MR && np == NR {
                                let c = &mut dw_rows[r0 * kdim + p0..];
                                T::gemm_kernel(kt, T::ONE, a_blk, bbuf, T::ONE, c, kdim);
                            } else {
                                T::gemm_kernel(kt, T::ONE, a_blk, bbuf, T::ZERO, tile, NR);
                                for i in 0..mr {
                                    let dst = &mut dw_rows[(r0 + i) * kdim + p0..][..np];
                                    let src = &tile[i * NR..][..np];
                                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                                }
                            }
                        }
                    }
                }
            })
        })
    })
}

/// Weight gradient, accumulating: `dw += Σ_n dY_n·cols_nᵀ`.
///
/// Samples are grouped in fixed blocks of [`SAMPLE_BLOCK`]; each block owns a partial `dW`
/// (split further into row blocks across threads when there are few sample blocks), and the
/// partials are added to `dw` in block order, so the bits do not depend on the thread count.
pub(crate) fn backward_weight<T: Real>(g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    let (x_len, y_len, w_len) = (g.c_in * g.l_in, g.c_out * g.l_out, g.c_out * g.kdim());
    let n_blocks = g.n.div_ceil(SAMPLE_BLOCK);
    let threads = parallel::current_threads();
    let serial = threads == 1 || g.macs() < parallel::GRAIN;
    let per_block = panels(g.c_out).div_ceil(row_blocks(n_blocks, g.c_out, threads));
    let rows_chunk = per_block * MR;
    let block_job = |blk: usize, partial: &mut [T]| {
        let rows_job = |ri: usize, dw_rows: &mut [T]| {
            let r0 = ri * rows_chunk;
            let rows = dw_rows.len() / g.kdim();
            for n in blk * SAMPLE_BLOCK..((blk + 1) * SAMPLE_BLOCK).min(g.n) {
                let dy_rows = &dy[n * y_len + r0 * g.l_out..][..rows * g.l_out];
                weight_rows(g, &x[n * x_len..][..x_len], dy_rows, dw_rows);
            }
        };
        if serial {
            rows_job(0, partial);
        } else {
            partial
                .par_chunks_mut(rows_chunk * g.kdim())
                .enumerate()
                .for_each(|(ri, rows)| rows_job(ri, rows));
        }
    };
    with_scratch::<T, _>(n_blocks * w_len, |partials| {
        if serial {
            partials
                .chunks_exact_mut(w_len)
                .enumerate()
                .for_each(|(blk, p)| block_job(blk, p));
        } else {
            partials
                .par_chunks_exact_mut(w_len)
                .enumerate()
                .for_each(|(blk, p)| block_job(blk, p));
        }
        for p in partials.chunks_exact(w_len) {
            dw.iter_mut().zip(p).for_each(|(d, &v)| *d += v);
        }
    });
}
