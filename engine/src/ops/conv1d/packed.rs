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
//! - the reduction `p` is cut into blocks of at most [`KC`] so one B panel (≤ 38 KiB in f32)
//!   stays near L1 while the MR-row panels of A stream past it, and C tiles are written straight
//!   into NCL output with the row stride `L_out`. The bias is one more column of A (`[W | b]`)
//!   met by a row of ones in B, so it costs one step of the reduction instead of a pass over y. Tiles at the edges (fewer than MR rows or NR
//!   columns) go through a small MR×NR scratch tile.
//!
//! **Stride 1: B read in place** ([`InPlace`]). When every row of `cols` is a contiguous slice
//! of the zero-padded signal, even that one copy is skipped: each sample is padded once, and
//! [`simd::conv_kernel`](crate::simd::conv_kernel) loads the rows of B from the signal at
//! precomputed offsets. The reduction then runs whole (no KC blocks): its B rows overlap, and
//! the window they cover, `C_in × (NR + d·(K−1))` values, stays in L1. This is the production
//! path for stride 1 ([`super::Conv1dImpl::InPlace`]); [`super::Conv1dImpl::Packed`] keeps the
//! packing for comparison.
//!
//! The gradients (`backward.rs`) reuse the same pieces: the panel packer, the [`Tap`] plan and
//! the micro-kernel.
//!
//! Cost beyond the GEMM itself: packing B touches `C_in·K·L_out` values per sample, once for
//! all `C_out` rows, i.e. one copy per `2·C_out` FLOPs; cheap for wide layers, and the reason
//! the input gradient of a narrow layer takes another route (`mod.rs`).
//!
//! Work splits over samples and, when there are few samples, over blocks of MR-row panels of the
//! output (so N = 1 uses every core). Each output element is always reduced in the same order,
//! whatever the split, so the result does not depend on the thread count; the batch sum of `dW`
//! uses fixed sample blocks added in block order (DESIGN.md §2.11).

use std::ops::Range;

use rayon::prelude::*;

use super::im2col::{Geom, input_pos, valid_outputs};
use super::scratch::{with_scratch, with_scratch_for_overwrite};
use crate::real::Real;
use crate::simd::{MR, NR, RowOffsets};
use crate::{parallel, pool};

/// Largest reduction block of the forward GEMM (rows of a B panel): 600·16 f32 = 37.5 KiB. A
/// panel that fits the 32 KiB L1 exactly (320 rows) measured 3–4 % slower on S5 and S7: each
/// extra block re-reads and re-writes every C tile, which costs more than B spilling to L2
/// (1024 was no better than 600). The reduction is cut into equal blocks of at most this size
/// (576 → 1 block, 3000 → 5 × 600).
pub(crate) const KC: usize = 600;

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
    pub(super) off: isize,
    pub(super) lo: usize,
    pub(super) hi: usize,
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

/// Forward B panel: `b[pp·NR + jj] = cols[p0 + pp, t0 + jj]` for the rows given by `taps`, then
/// `ones` rows of 1 (the bias row, see [`Mode::Overwrite`]); zero where a tap reads padding or
/// `jj ≥ nr`. I.e. im2col of a 16-position slab, written where the micro-kernel reads it. For
/// stride 1 a row is one fixed-size 16-element copy away from the edges, and one shorter copy
/// at an edge.
fn pack_b_cols<T: Real>(
    g: &Geom,
    x_n: &[T],
    (taps, ones): (&[Tap], usize),
    t0: usize,
    nr: usize,
    b: &mut [T],
) {
    let mut rows = b.chunks_exact_mut(NR);
    // `taps` drives the zip so that it stops without consuming an extra row of `rows`.
    for (tap, row) in taps.iter().zip(rows.by_ref()) {
        let row: &mut [T; NR] = row.try_into().expect("invariant: chunks of NR");
        if g.stride == 1 && tap.lo <= t0 && t0 + NR <= tap.hi {
            let start = (tap.off + t0 as isize) as usize;
            let src: &[T; NR] = x_n[start..start + NR]
                .try_into()
                .expect("invariant: NR elements");
            *row = *src;
        } else {
            // The valid outputs of this tap inside the slab: t ∈ [lo, hi).
            let lo = tap.lo.clamp(t0, t0 + nr);
            let hi = tap.hi.clamp(lo, t0 + nr);
            row.fill(T::ZERO);
            if hi == lo {
                continue; // the tap reads only padding here (and its offset may point anywhere)
            }
            let first = tap.off + (lo * g.stride) as isize;
            if g.stride == 1 {
                let first = first as usize;
                row[lo - t0..hi - t0].copy_from_slice(&x_n[first..first + (hi - lo)]);
            } else {
                for (q, v) in row[lo - t0..hi - t0].iter_mut().enumerate() {
                    *v = x_n[first as usize + q * g.stride];
                }
            }
        }
    }
    for row in rows.take(ones) {
        row.fill(T::ONE);
    }
}

/// Writes (or, with `add`, adds) the top-left `mr × nr` corner of an MR×NR scratch `tile` into
/// `y` (row stride `ldc`): the edge tiles the micro-kernel cannot store in place.
fn store_edge_tile<T: Real>(
    tile: &[T],
    y: &mut [T],
    (mr, nr, ldc): (usize, usize, usize),
    add: bool,
) {
    for i in 0..mr {
        let dst = &mut y[i * ldc..][..nr];
        let src = &tile[i * NR..][..nr];
        if add {
            dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
        } else {
            dst.copy_from_slice(src);
        }
    }
}

/// What the forward core does with the output buffer.
#[derive(Clone, Copy)]
pub(crate) enum Mode {
    /// y ← A·cols. With `bias`, A carries the bias as one extra last column (packed by the
    /// caller, `C_in·K + 1` columns) and the B panels get a matching row of ones, so the bias
    /// enters as one more step of the reduction: no separate pass that fills the output with it.
    Overwrite {
        /// A's last column is the bias.
        bias: bool,
    },
    /// y ← y + A·cols (the input gradient, which accumulates).
    Accumulate,
}

/// One sample, output rows `panel_lo·MR ..` (as many as `y_rows` holds), output positions
/// `times`: `y_rows (+)= A·cols_n[:, times]`. `y_rows` holds those rows with row stride `ldc`,
/// column 0 being position `times.start` (the whole row, `ldc = L_out`, in the common case).
#[allow(clippy::too_many_arguments)]
fn conv_rows_packed<T: Real>(
    g: &Geom,
    taps: &[Tap],
    x_n: &[T],
    a: &[T],
    panel_lo: usize,
    y_rows: &mut [T],
    (ldc, times): (usize, Range<usize>),
    mode: Mode,
) {
    let kdim = g.kdim();
    let rows = y_rows.len() / ldc;
    let accumulate = matches!(mode, Mode::Accumulate);
    // The reduction: the C_in·K taps, plus the bias's row of ones.
    let kall = kdim + usize::from(matches!(mode, Mode::Overwrite { bias: true }));
    let kc_step = kall.div_ceil(kall.div_ceil(KC));
    with_scratch::<T, _>(KC * NR, |bbuf| {
        with_scratch::<T, _>(MR * NR, |tile| {
            for t0 in times.clone().step_by(NR) {
                let nr = NR.min(times.end - t0);
                let col = t0 - times.start;
                for p0 in (0..kall).step_by(kc_step) {
                    let kc = kc_step.min(kall - p0);
                    // β = 0 on the first block overwrites the output without reading it.
                    let first = p0 == 0 && !accumulate;
                    let beta = if first { T::ZERO } else { T::ONE };
                    let block_taps = &taps[p0.min(kdim)..(p0 + kc).min(kdim)];
                    let ones = kc - block_taps.len();
                    pack_b_cols(g, x_n, (block_taps, ones), t0, nr, &mut bbuf[..kc * NR]);
                    for r0 in (0..rows).step_by(MR) {
                        let panel = panel_lo + r0 / MR;
                        let a_blk = &a[(panel * kall + p0) * MR..][..kc * MR];
                        let mr = MR.min(rows - r0);
                        if mr == MR && nr == NR {
                            let c = &mut y_rows[r0 * ldc + col..];
                            T::gemm_kernel(kc, T::ONE, a_blk, bbuf, beta, c, ldc);
                        } else {
                            T::gemm_kernel(kc, T::ONE, a_blk, bbuf, T::ZERO, tile, NR);
                            let y_tile = &mut y_rows[r0 * ldc + col..];
                            store_edge_tile(tile, y_tile, (mr, nr, ldc), !first);
                        }
                    }
                }
            }
        })
    })
}

/// The stride-1 plan: B read in place from a zero-padded copy of each sample.
///
/// Each sample's channels are copied once into `xp` (`L_pad = L_in + 2p` samples per channel,
/// zeros in the padding), followed, when the bias is folded into A, by one channel of ones; row
/// `p = c·K + j` of `cols` at output `t0` is then `xp[c·L_pad + j·d + t0 ..]`, and the bias row
/// is `xp[C_in·L_pad + t0 ..]`. [`simd::conv_kernel`](crate::simd::conv_kernel) reads those
/// slices directly: no B panel is packed, and the kernel's B working set shrinks from a
/// `C_in·K × NR` panel to the `C_in × (NR + d·(K−1))` window of the signal. `NR` trailing zeros
/// keep the reads of the last (partial) tile inside the buffer; the columns they feed are
/// dropped.
pub(crate) struct InPlace {
    l_pad: usize,
    pad: usize,
    offs: RowOffsets,
    ones: bool,
}

impl InPlace {
    /// The plan for `g` (with a bias channel of ones when `ones`), or `None` when B cannot be
    /// read in place (stride > 1: a row of `cols` is no longer a contiguous slice; negative
    /// padding, from the flipped-kernel gradient).
    pub(crate) fn plan(g: &Geom, ones: bool) -> Option<InPlace> {
        if !g.reads_padded_views() {
            return None;
        }
        let pad = g.padding as usize;
        let l_pad = g.l_in + 2 * pad;
        let mut offs: Vec<usize> = (0..g.kdim())
            .map(|p| (p / g.k) * l_pad + (p % g.k) * g.dilation)
            .collect();
        if ones {
            offs.push(g.c_in * l_pad);
        }
        Some(InPlace {
            l_pad,
            pad,
            offs: RowOffsets::new(offs),
            ones,
        })
    }

    /// The offset of every row of `cols` (then of the ones row) in the padded sample.
    pub(crate) fn offsets(&self) -> &RowOffsets {
        &self.offs
    }

    /// Length of the padded buffer of one sample.
    fn len(&self, g: &Geom) -> usize {
        (g.c_in + usize::from(self.ones)) * self.l_pad + NR
    }

    /// Runs `f` on the padded copy of sample `x_n` (a per-thread scratch buffer, every element
    /// written here: signal, padding zeros, ones, tail zeros).
    pub(crate) fn with_padded<T: Real, R>(
        &self,
        g: &Geom,
        x_n: &[T],
        f: impl FnOnce(&[T]) -> R,
    ) -> R {
        with_scratch_for_overwrite::<T, _>(self.len(g), |xp| {
            let (signal, rest) = xp.split_at_mut(g.c_in * self.l_pad);
            for (dst, src) in signal
                .chunks_exact_mut(self.l_pad)
                .zip(x_n.chunks_exact(g.l_in))
            {
                let (left, tail) = dst.split_at_mut(self.pad);
                let (mid, right) = tail.split_at_mut(g.l_in);
                left.fill(T::ZERO);
                mid.copy_from_slice(src);
                right.fill(T::ZERO);
            }
            let (ones, tail) = rest.split_at_mut(rest.len() - NR);
            ones.fill(T::ONE);
            tail.fill(T::ZERO);
            f(xp)
        })
    }
}

/// [`conv_rows_packed`] with B read in place from the padded sample `xp` (see [`InPlace`]):
/// `y_rows (+)= A·cols_n[:, times]`, one MR×NR tile at a time over the whole reduction (A's
/// panels hold `offs.len()` columns: the taps, then the bias if any).
#[allow(clippy::too_many_arguments)]
fn conv_rows_in_place<T: Real>(
    offs: &RowOffsets,
    xp: &[T],
    a: &[T],
    panel_lo: usize,
    y_rows: &mut [T],
    (ldc, times): (usize, Range<usize>),
    mode: Mode,
) {
    let kall = offs.len();
    let rows = y_rows.len() / ldc;
    let accumulate = matches!(mode, Mode::Accumulate);
    let beta = if accumulate { T::ONE } else { T::ZERO };
    with_scratch::<T, _>(MR * NR, |tile| {
        for t0 in times.clone().step_by(NR) {
            let nr = NR.min(times.end - t0);
            let col = t0 - times.start;
            let xs = &xp[t0..];
            for r0 in (0..rows).step_by(MR) {
                let a_blk = &a[(panel_lo + r0 / MR) * kall * MR..][..kall * MR];
                let mr = MR.min(rows - r0);
                if nr == NR {
                    T::conv_kernel(
                        mr,
                        a_blk,
                        xs,
                        offs,
                        beta,
                        &mut y_rows[r0 * ldc + col..],
                        ldc,
                    );
                } else {
                    T::conv_kernel(mr, a_blk, xs, offs, T::ZERO, tile, NR);
                    let y_tile = &mut y_rows[r0 * ldc + col..];
                    store_edge_tile(tile, y_tile, (mr, nr, ldc), accumulate);
                }
            }
        }
    })
}

/// Where one sample's B panels come from: packed from the signal through the [`Tap`] plan, or
/// read in place from its padded copy.
#[derive(Clone, Copy)]
enum Source<'a, T> {
    Packed { taps: &'a [Tap], x_n: &'a [T] },
    InPlace { offs: &'a RowOffsets, xp: &'a [T] },
}

/// Either plan, built once per call.
enum Plan {
    Packed(Vec<Tap>),
    InPlace(InPlace),
}

impl Plan {
    fn new(g: &Geom, mode: Mode, in_place: bool) -> Plan {
        let ones = matches!(mode, Mode::Overwrite { bias: true });
        match in_place.then(|| InPlace::plan(g, ones)).flatten() {
            Some(p) => Plan::InPlace(p),
            None => Plan::Packed(plan_taps(g)),
        }
    }

    /// Runs `f` with the B source of sample `x_n`.
    fn with_source<T: Real, R>(
        &self,
        g: &Geom,
        x_n: &[T],
        f: impl FnOnce(Source<'_, T>) -> R,
    ) -> R {
        match self {
            Plan::Packed(taps) => f(Source::Packed { taps, x_n }),
            Plan::InPlace(p) => {
                p.with_padded(g, x_n, |xp| f(Source::InPlace { offs: &p.offs, xp }))
            }
        }
    }
}

/// One job of the forward core: rows from `panel_lo·MR`, positions `times`, from `src`.
fn conv_rows<T: Real>(
    g: &Geom,
    src: Source<'_, T>,
    a: &[T],
    panel_lo: usize,
    y_rows: &mut [T],
    cols: (usize, Range<usize>),
    mode: Mode,
) {
    match src {
        Source::Packed { taps, x_n } => {
            conv_rows_packed(g, taps, x_n, a, panel_lo, y_rows, cols, mode)
        }
        Source::InPlace { offs, xp } => {
            conv_rows_in_place(offs, xp, a, panel_lo, y_rows, cols, mode)
        }
    }
}

/// How many MR-panel blocks to split each sample's rows into so that `n × blocks` jobs keep
/// `threads` busy (1 when the batch alone is enough).
pub(super) fn row_blocks(n: usize, rows: usize, threads: usize) -> usize {
    (2 * threads).div_ceil(n).clamp(1, panels(rows))
}

/// Output positions per job below which a single sample is split by rows rather than by time.
const MIN_TIME_JOB: usize = 4 * NR;

/// The forward core: `y_n (+)= A·cols(x_n)` for every sample, `A` packed by [`pack_a`] with
/// `g.c_out` rows and `g.kdim()` columns (one more, the bias, for `Mode::Overwrite { bias: true }`). `x` is `[N, C_in, L_in]`, `y` is `[N, C_out, L_out]`.
///
/// With fewer samples than threads a sample is split too: by time when the signal is long (each
/// job packs only its own stretch of `cols`, then its rows are copied into place), otherwise by
/// blocks of rows (each job packs every B panel again, which is what the time split avoids).
/// Either way every output element is reduced in the same order, so the bits do not change.
pub(crate) fn forward_core<T: Real>(
    g: &Geom,
    x: &[T],
    a: &[T],
    y: &mut [T],
    mode: Mode,
    in_place: bool,
) {
    let plan = Plan::new(g, mode, in_place);
    let (x_len, y_len, l_out) = (g.c_in * g.l_in, g.c_out * g.l_out, g.l_out);
    let x_n = |n: usize| &x[n * x_len..][..x_len];
    let threads = parallel::current_threads();
    if threads == 1 || g.macs() < super::PARALLEL_MIN_MACS {
        for (n, y_n) in y.chunks_exact_mut(y_len).enumerate() {
            plan.with_source(g, x_n(n), |src| {
                conv_rows(g, src, a, 0, y_n, (l_out, 0..l_out), mode)
            });
        }
        return;
    }
    let jobs = (2 * threads).div_ceil(g.n);
    if jobs > 1 && l_out >= jobs * MIN_TIME_JOB {
        // Time split: cut each sample into `jobs` stretches of whole NR tiles.
        let step = l_out.div_ceil(NR).div_ceil(jobs) * NR;
        for (n, y_n) in y.chunks_exact_mut(y_len).enumerate() {
            plan.with_source(g, x_n(n), |src| {
                let parts: Vec<(Range<usize>, Vec<T>)> = (0..l_out.div_ceil(step))
                    .into_par_iter()
                    .map(|j| {
                        let times = j * step..((j + 1) * step).min(l_out);
                        let len = times.len();
                        let mut part = pool::take_for_overwrite::<T>(g.c_out * len);
                        if matches!(mode, Mode::Accumulate) {
                            for (dst, src) in
                                part.chunks_exact_mut(len).zip(y_n.chunks_exact(l_out))
                            {
                                dst.copy_from_slice(&src[times.clone()]);
                            }
                        }
                        conv_rows(g, src, a, 0, &mut part, (len, times.clone()), mode);
                        (times, part)
                    })
                    .collect();
                for (times, part) in parts {
                    for (dst, src) in y_n
                        .chunks_exact_mut(l_out)
                        .zip(part.chunks_exact(times.len()))
                    {
                        dst[times.clone()].copy_from_slice(src);
                    }
                    pool::give_back(part);
                }
            });
        }
        return;
    }
    let per_block = panels(g.c_out).div_ceil(row_blocks(g.n, g.c_out, threads));
    y.par_chunks_exact_mut(y_len)
        .enumerate()
        .for_each(|(n, y_n)| {
            plan.with_source(g, x_n(n), |src| {
                y_n.par_chunks_mut(per_block * MR * l_out)
                    .enumerate()
                    .for_each(|(bi, y_rows)| {
                        conv_rows(g, src, a, bi * per_block, y_rows, (l_out, 0..l_out), mode)
                    });
            })
        });
}
