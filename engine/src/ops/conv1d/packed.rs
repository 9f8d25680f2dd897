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

/// Largest reduction block of the forward GEMM (rows of a B panel): 320·16 f32 = 20 KiB, so the
/// panel stays in a 32 KiB L1 while A streams past it. The reduction is cut into equal blocks of
/// at most this size (320 → 1 block, 576 → 2 × 288, 3000 → 10 × 300).
pub(crate) const KC: usize = 320;
/// Runs of at least this many taps are packed as slice copies; shorter ones tap by tap.
const MIN_RUN: usize = 8;
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

/// Where row `p = c·K + j` of `cols` comes from: `cols[p, t] = x_n[off + t·stride]` for
/// `t ∈ lo..hi`, zero outside. Computed once per call from the index function, so the panel
/// packers do no division per row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tap {
    off: isize,
    lo: usize,
    hi: usize,
}

/// The [`Tap`] of every row of `cols` (`g.kdim()` of them).
pub(crate) fn plan_taps(g: &Geom) -> Vec<Tap> {
    (0..g.kdim())
        .map(|p| {
            let (c, j) = (p / g.k, p % g.k);
            let r = valid_outputs(g, j);
            // off + lo·stride must be the index function's answer at t = lo.
            let off = match input_pos(g, r.start, j) {
                Some(pos) if !r.is_empty() => {
                    (c * g.l_in + pos) as isize - (r.start * g.stride) as isize
                }
                _ => 0,
            };
            Tap {
                off,
                lo: r.start,
                hi: r.end,
            }
        })
        .collect()
}

/// Forward B panel: `b[pp·NR + jj] = cols[p0 + pp, t0 + jj]` for `pp < kc`, `jj < nr`, zero
/// elsewhere; i.e. im2col of a 16-position slab, written where the micro-kernel reads it. For
/// stride 1 away from the edges a row is one fixed-size 16-element copy.
fn pack_b_cols<T: Real>(g: &Geom, x_n: &[T], taps: &[Tap], t0: usize, nr: usize, b: &mut [T]) {
    for (row, tap) in b.chunks_exact_mut(NR).zip(taps) {
        let row: &mut [T; NR] = row.try_into().expect("invariant: chunks of NR");
        if g.stride == 1 && tap.lo <= t0 && t0 + NR <= tap.hi {
            let start = (tap.off + t0 as isize) as usize;
            let src: &[T; NR] = x_n[start..start + NR]
                .try_into()
                .expect("invariant: NR elements");
            *row = *src;
        } else {
            for (jj, v) in row.iter_mut().enumerate() {
                let t = t0 + jj;
                *v = if jj < nr && tap.lo <= t && t < tap.hi {
                    x_n[(tap.off + (t * g.stride) as isize) as usize]
                } else {
                    T::ZERO
                };
            }
        }
    }
}

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
                dst.copy_from_slice(&x_n[start..start + len]);
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
    taps: &[Tap],
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
    let kc_step = kdim.div_ceil(kdim.div_ceil(KC));
    with_scratch::<T, _>(KC * NR, |bbuf| {
        with_scratch::<T, _>(MR * NR, |tile| {
            for t0 in (0..l_out).step_by(NR) {
                let nr = NR.min(l_out - t0);
                for p0 in (0..kdim).step_by(kc_step) {
                    let kc = kc_step.min(kdim - p0);
                    // β = 0 on the first block overwrites the output without reading it.
                    let first = p0 == 0 && !accumulate;
                    let beta = if first { T::ZERO } else { T::ONE };
                    pack_b_cols(g, x_n, &taps[p0..p0 + kc], t0, nr, &mut bbuf[..kc * NR]);
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
    let taps = plan_taps(g);
    let taps = &taps[..];
    let (x_len, y_len) = (g.c_in * g.l_in, g.c_out * g.l_out);
    let threads = parallel::current_threads();
    if threads == 1 || g.macs() < parallel::GRAIN {
        for (n, y_n) in y.chunks_exact_mut(y_len).enumerate() {
            conv_rows(g, taps, &x[n * x_len..][..x_len], a, 0, y_n, mode);
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
                .for_each(|(bi, y_rows)| conv_rows(g, taps, x_n, a, bi * per_block, y_rows, mode));
        });
}

/// One sample, weight-gradient rows `dw_rows` (the same rows of `dy_rows`):
/// `dw_rows += dy_rows · cols_nᵀ`.
fn weight_rows<T: Real>(g: &Geom, taps: &[Tap], x_n: &[T], dy_rows: &[T], dw_rows: &mut [T]) {
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
                        pack_b_cols_t(g, x_n, &taps[p0..p0 + np], t0, kt, bbuf);
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

/// One sample's weight gradient as plain dot products, for a reduction too short to fill a
/// micro-kernel tile (C_in·K < NR, the first layer): `dw[o, p] += ⟨dY[o, lo..hi], x[off + lo..]⟩`
/// over the valid output range of tap `p`. Stride 1 only (the input slice must be contiguous).
/// No packing at all, which is what dominates when C_in·K is this small.
fn weight_dots<T: Real>(g: &Geom, taps: &[Tap], x_n: &[T], dy_rows: &[T], dw_rows: &mut [T]) {
    let (kdim, l_out) = (g.kdim(), g.l_out);
    for (dy_o, dw_o) in dy_rows
        .chunks_exact(l_out)
        .zip(dw_rows.chunks_exact_mut(kdim))
    {
        for (d, tap) in dw_o.iter_mut().zip(taps) {
            if tap.hi > tap.lo {
                let start = (tap.off + tap.lo as isize) as usize;
                let xs = &x_n[start..start + (tap.hi - tap.lo)];
                *d += T::vec_dot(&dy_o[tap.lo..tap.hi], xs);
            }
        }
    }
}

/// Weight gradient, accumulating: `dw += Σ_n dY_n·cols_nᵀ`.
///
/// Samples are grouped in fixed blocks of [`SAMPLE_BLOCK`]; each block owns a partial `dW`
/// (split further into row blocks across threads when there are few sample blocks), and the
/// partials are added to `dw` in block order, so the bits do not depend on the thread count.
pub(crate) fn backward_weight<T: Real>(g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    let (x_len, y_len, w_len) = (g.c_in * g.l_in, g.c_out * g.l_out, g.c_out * g.kdim());
    let taps = plan_taps(g);
    let taps = &taps[..];
    let n_blocks = g.n.div_ceil(SAMPLE_BLOCK);
    let dots = g.stride == 1 && g.kdim() < NR;
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
                let x_n = &x[n * x_len..][..x_len];
                if dots {
                    weight_dots(g, taps, x_n, dy_rows, dw_rows);
                } else {
                    weight_rows(g, taps, x_n, dy_rows, dw_rows);
                }
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

/// One sample of the input gradient with col2im fused into the GEMM's epilogue:
/// `dcols = Wᵀ·dY_n` one MR×NR tile at a time (A = `Wᵀ` packed by the caller, `kdim` rows ×
/// `C_out`; B = 16 columns of `dY_n`), and each tile row `p = (c, j)` is added straight onto the
/// input positions it came from, `dx[c, t·s + j·d − p]`, through the same [`Tap`] plan as the
/// forward packing. `dcols` is never stored.
fn input_grad_sample<T: Real>(g: &Geom, taps: &[Tap], a: &[T], dy_n: &[T], dx_n: &mut [T]) {
    let (kdim, l_out, c_out) = (g.kdim(), g.l_out, g.c_out);
    with_scratch::<T, _>(c_out * NR, |bbuf| {
        with_scratch::<T, _>(MR * NR, |tile| {
            for t0 in (0..l_out).step_by(NR) {
                let nr = NR.min(l_out - t0);
                for (o, row) in bbuf.chunks_exact_mut(NR).enumerate() {
                    let src = &dy_n[o * l_out + t0..][..nr];
                    if let (Ok(dst), Ok(src)) = (
                        <&mut [T; NR]>::try_from(&mut *row),
                        <&[T; NR]>::try_from(src),
                    ) {
                        *dst = *src; // fixed-size copy: two vector moves, no memmove call
                    } else {
                        row[..nr].copy_from_slice(src);
                        row[nr..].fill(T::ZERO);
                    }
                }
                for (panel, a_panel) in a.chunks_exact(c_out * MR).enumerate() {
                    T::gemm_kernel(c_out, T::ONE, a_panel, bbuf, T::ZERO, tile, NR);
                    for (i, tap) in taps[panel * MR..kdim.min((panel + 1) * MR)]
                        .iter()
                        .enumerate()
                    {
                        let (lo, hi) = (tap.lo.max(t0), tap.hi.min(t0 + nr));
                        if hi <= lo {
                            continue;
                        }
                        let src = &tile[i * NR + lo - t0..i * NR + hi - t0];
                        let start = (tap.off + (lo * g.stride) as isize) as usize;
                        if g.stride == 1 && hi - lo == NR {
                            // The common interior case, with fixed sizes so it vectorises.
                            let dst: &mut [T; NR] = (&mut dx_n[start..start + NR])
                                .try_into()
                                .expect("invariant: NR elements");
                            let src: &[T; NR] = src.try_into().expect("invariant: NR elements");
                            let mut sum = *dst;
                            for (s, &v) in sum.iter_mut().zip(src) {
                                *s += v;
                            }
                            *dst = sum;
                        } else if g.stride == 1 {
                            let dst = &mut dx_n[start..start + (hi - lo)];
                            dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                        } else {
                            for (q, &s) in src.iter().enumerate() {
                                dx_n[start + q * g.stride] += s;
                            }
                        }
                    }
                }
            }
        })
    })
}

/// Input gradient, accumulating, by GEMM + fused col2im ([`input_grad_sample`]); rayon over
/// samples (each sample's `dx` is written by one task, in a fixed order).
pub(crate) fn backward_input_col2im<T: Real>(g: &Geom, dy: &[T], w: &[T], dx: &mut [T]) {
    let (kdim, x_len, y_len) = (g.kdim(), g.c_in * g.l_in, g.c_out * g.l_out);
    let taps = plan_taps(g);
    with_scratch::<T, _>(panels(kdim) * g.c_out * MR, |a| {
        // A = Wᵀ: row p, column o holds w[o, p].
        pack_a(kdim, g.c_out, |p, o| w[o * kdim + p], a);
        let a = &a[..];
        let one = |n: usize, dx_n: &mut [T]| {
            input_grad_sample(g, &taps, a, &dy[n * y_len..][..y_len], dx_n)
        };
        if parallel::current_threads() == 1 || g.macs() < parallel::GRAIN {
            dx.chunks_exact_mut(x_len)
                .enumerate()
                .for_each(|(n, d)| one(n, d));
        } else {
            dx.par_chunks_exact_mut(x_len)
                .enumerate()
                .for_each(|(n, d)| one(n, d));
        }
    })
}
