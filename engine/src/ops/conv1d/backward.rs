//! The fast gradients, built from the same pieces as the packed forward (`packed.rs`).
//!
//! **Weight gradient.** `dW (C_out × C_in·K) += dY_n (C_out × L_out) · cols_nᵀ`, a GEMM whose
//! reduction runs over time. A holds `dY_n` packed in MR-row panels; B holds `cols_nᵀ`
//! (`b[t·NR + jj] = x[c, input_pos(t, j)]` for the 16 taps `p0 + jj`), gathered straight from the
//! signal through the [`Tap`] plan. When `C_in·K < NR` (a first layer with one lead and K = 5) a
//! tile would be mostly padding, and plain dot products over the valid range of each tap are
//! cheaper. The batch sum uses fixed blocks of [`SAMPLE_BLOCK`] samples, each with its own
//! partial `dW`, added in block order: bit-identical at any thread count.
//!
//! **Input gradient, col2im fused into the epilogue.** `dcols = Wᵀ·dY_n` is computed one MR×NR
//! tile at a time and each tile row `p = (c, j)` is added straight onto the input positions it
//! came from, `dx[c, t·s + j·d − p]`; `dcols` is never stored. (The other input-gradient path,
//! the flipped-kernel convolution, is the packed forward itself, see `mod.rs`.)

use rayon::prelude::*;

use super::SAMPLE_BLOCK;
use super::im2col::Geom;
use super::packed::{Tap, pack_a, panels, plan_taps, row_blocks};
use super::scratch::with_scratch;
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

/// One sample, weight-gradient rows `dw_rows` (the same rows of `dy_rows`), output positions
/// `times` only: `dw_rows += dy_rows[:, times] · cols_n[:, times]ᵀ`.
fn weight_rows<T: Real>(
    g: &Geom,
    taps: &[Tap],
    x_n: &[T],
    dy_rows: &[T],
    dw_rows: &mut [T],
    times: std::ops::Range<usize>,
) {
    let (kdim, l_out) = (g.kdim(), g.l_out);
    let rows = dy_rows.len() / l_out;
    with_scratch::<T, _>(panels(rows) * KT * MR, |a| {
        with_scratch::<T, _>(KT * NR, |bbuf| {
            with_scratch::<T, _>(MR * NR, |tile| {
                for t0 in times.clone().step_by(KT) {
                    let kt = KT.min(times.end - t0);
                    // A = this time block of dY in MR-row panels: a[(panel·kt + tt)·MR + i] =
                    // dY[panel·MR + i, t0 + tt]; rows past `rows` are zero. Packing per block
                    // keeps it in L2 however long the signal is.
                    for (panel, a_panel) in
                        a.chunks_exact_mut(kt * MR).take(panels(rows)).enumerate()
                    {
                        for i in 0..MR {
                            let r = panel * MR + i;
                            let dst = a_panel[i..].iter_mut().step_by(MR);
                            if r < rows {
                                let src = &dy_rows[r * l_out + t0..][..kt];
                                dst.zip(src).for_each(|(d, &v)| *d = v);
                            } else {
                                dst.for_each(|d| *d = T::ZERO);
                            }
                        }
                    }
                    for p0 in (0..kdim).step_by(NR) {
                        let np = NR.min(kdim - p0);
                        pack_b_cols_t(g, x_n, &taps[p0..p0 + np], t0, kt, bbuf);
                        for r0 in (0..rows).step_by(MR) {
                            let a_blk = &a[r0 / MR * kt * MR..][..kt * MR];
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
/// output positions. Each item owns a partial
/// `dW`, and the partials are added to `dw` in item order. The cut depends only on the shape,
/// never on the thread count, so the bits are the same at any thread count. Cutting time too
/// matters for a batch of one long signal (S7: N = 1, L = 4096): it gives the second core a
/// quarter of the signal instead of a duplicate of every im2col panel (which is what splitting
/// the rows of `dW` would cost; that split is kept only for shapes with fewer items than threads).
pub(crate) fn backward_weight<T: Real>(g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    let (x_len, y_len, w_len) = (g.c_in * g.l_in, g.c_out * g.l_out, g.c_out * g.kdim());
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
    let dots = g.stride == 1 && g.kdim() < NR;
    let threads = parallel::current_threads();
    let serial = threads == 1 || g.macs() < super::PARALLEL_MIN_MACS;
    let per_block = panels(g.c_out).div_ceil(row_blocks(n_items, g.c_out, threads));
    let rows_chunk = per_block * MR;
    let item_job = |item: usize, partial: &mut [T]| {
        let (blk, tc) = (item / t_chunks, item % t_chunks);
        let times = tc * chunk_len..((tc + 1) * chunk_len).min(g.l_out);
        let rows_job = |ri: usize, dw_rows: &mut [T]| {
            let r0 = ri * rows_chunk;
            let rows = dw_rows.len() / g.kdim();
            for n in blk * SAMPLE_BLOCK..((blk + 1) * SAMPLE_BLOCK).min(g.n) {
                let dy_rows = &dy[n * y_len + r0 * g.l_out..][..rows * g.l_out];
                let x_n = &x[n * x_len..][..x_len];
                if dots {
                    weight_dots(g, taps, x_n, dy_rows, dw_rows, times.clone());
                } else {
                    weight_rows(g, taps, x_n, dy_rows, dw_rows, times.clone());
                }
            }
        };
        if serial || n_items >= threads {
            rows_job(0, partial);
        } else {
            partial
                .par_chunks_mut(rows_chunk * g.kdim())
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
        if parallel::current_threads() == 1 || g.macs() < super::PARALLEL_MIN_MACS {
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
