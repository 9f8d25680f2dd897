//! BLIS-style blocked GEMM: pack A and B into cache-sized panels, then run the micro-kernel.
//!
//! Computes C ← α·A·B + β·C for A (m×k), B (k×n), C (m×n), any strides, with exactly the
//! semantics of [`super::naive`] (β = 0 never reads C). Cost: 2·m·k·n FLOPs, plus one copy of A
//! per NC block of columns and one copy of B for packing.
//!
//! # The five loops (Goto & van de Geijn; BLIS "anatomy of high-performance GEMM")
//! ```text
//! for jc in 0..n step NC            B block  B[pc.., jc..]  (KC×NC) packed once → L3
//!   for pc in 0..k step KC          (k cut into equal blocks of at most KC)
//!     pack B[pc..pc+KC, jc..jc+NC] into NR-wide row panels
//!     for ic in 0..m step MC        A block  A[ic.., pc..]  (MC×KC) packed → L2
//!       pack A[ic..ic+MC, pc..pc+KC] into MR-tall column panels
//!       for jr in 0..NC step NR     one B micro-panel (KC×NR) stays in L1
//!         for ir in 0..MC step MR   one A micro-panel (KC×MR) streams from L2
//!           C[ir.., jr..] (MR×NR) ← α·Ã·B̃ + β'·C     (the micro-kernel, T::gemm_kernel)
//! ```
//! Packing turns any strided view (a transpose is just swapped strides) into the two unit-stride
//! layouts the micro-kernel wants: `a_panel[p·MR + i]` and `b_panel[p·NR + j]`. The edges are
//! padded with zeros, so the kernel always runs a full MR×NR tile; an edge tile is computed into a
//! small temporary tile and only its valid part is copied back. β is applied on the first KC
//! block only (β' = β); later blocks accumulate (β' = 1).
//!
//! # Threads and determinism
//! After packing B (in parallel over groups of panels), the rows of C are cut into chunks that are
//! multiples of MR and processed in parallel; each chunk packs its own A block into a
//! per-thread buffer. Every element of C is produced by the same kernel call on the same packed
//! values in the same k order (the pc loop stays sequential), whatever the chunking, so the
//! result is bit-identical at any thread count.
//!
//! # How it differs from the naive triple loop
//! Same sums, different order of the k-summation only inside a KC block (the kernel keeps MR×NR
//! partial sums in registers, one FMA per term), so f32 results differ from naive by rounding.

use super::pack::{self, PACK_GROUP, pack_b_panels};
use super::{MatMut, MatRef};
use crate::parallel;
use crate::real::Real;
use crate::simd::{MR, NR};
use rayon::prelude::*;
use std::any::Any;
use std::cell::RefCell;

/// Rows of the packed A block (MC×KC), a multiple of MR. Zen 4: 144·256·4 B = 144 KiB, a
/// seventh of the 1 MiB L2, leaving room for the B micro-panels and C tiles streaming
/// through without evicting A (BLIS' Haswell/Zen sgemm uses 144–168).
pub const MC: usize = 144;
/// Depth of one packed block (the k extent of every panel). Zen 4: a B micro-panel is
/// KC·NR·4 B = 16 KiB, half of the 32 KiB L1d, plus the A micro-panel KC·MR·4 B = 6 KiB: both
/// stay in L1 for the MC/MR kernel calls that reuse the B micro-panel. Each kernel call runs
/// KC = 256 FMA steps, which amortises its C tile load/store (12 vectors) well.
pub const KC: usize = 256;
/// Columns of the packed B block (KC×NC), a multiple of NR. 256·1024·4 B = 1 MiB: it lives in
/// L2/L3 and is reused by every MC block of A; the smaller-than-BLIS block (4080) keeps the
/// footprint modest when two threads share the L3.
///
/// Measured on this (loaded) machine, 1 thread: MC ∈ {72, 144}, KC ∈ {192, 256, 384} and
/// NC ∈ {512, 1024, 4080} all gave 256³, 1024³ and 64×320×5984 within the ±5 % noise, so the
/// sizes above follow the cache arithmetic rather than a measured optimum.
pub const NC: usize = 1024;

/// Below this many multiply-adds (m·k·n) the GEMM stays on the calling thread: forking the
/// rayon pool costs a few microseconds, as much as a 64³ product at peak.
pub const PAR_MIN_MACS: usize = 1 << 19;

/// The three cache block sizes; tests shrink them to exercise every loop boundary on small
/// matrices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Blocking {
    /// Rows of the A block, a positive multiple of MR.
    pub mc: usize,
    /// Depth of the blocks, positive.
    pub kc: usize,
    /// Columns of the B block, a positive multiple of NR.
    pub nc: usize,
}

impl Blocking {
    /// The Zen 4 tuned sizes [`MC`], [`KC`], [`NC`].
    pub const DEFAULT: Blocking = Blocking {
        mc: MC,
        kc: KC,
        nc: NC,
    };
}

/// C ← α·A·B + β·C by the blocked algorithm. β = 0 overwrites C without reading it.
/// Dimensions were checked by [`super::gemm_with`].
pub fn gemm<T: Real>(alpha: T, a: MatRef<'_, T>, b: MatRef<'_, T>, beta: T, c: MatMut<'_, T>) {
    gemm_blocking(Blocking::DEFAULT, alpha, a, b, beta, c)
}

/// [`gemm`] with explicit block sizes.
///
/// # Panics
/// If the block sizes are not positive multiples of MR (mc) and NR (nc).
pub(crate) fn gemm_blocking<T: Real>(
    bl: Blocking,
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: MatMut<'_, T>,
) {
    assert!(
        bl.mc > 0 && bl.mc.is_multiple_of(MR) && bl.kc > 0 && bl.nc > 0 && bl.nc.is_multiple_of(NR),
        "gemm blocking {bl:?}: mc must be a multiple of {MR}, nc of {NR}"
    );
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    // The parallel split hands each task a contiguous range of rows of C. That needs the rows
    // to be disjoint and increasing in memory; if instead the columns are (a column-major C),
    // compute Cᵀ = Bᵀ·Aᵀ, which is the same arithmetic on transposed views.
    let rows_disjoint = m <= 1 || c.row_stride > (n - 1) * c.col_stride;
    let (a, b, mut c) = if rows_disjoint {
        (a, b, c)
    } else {
        let ct = MatMut {
            data: c.data,
            rows: c.cols,
            cols: c.rows,
            row_stride: c.col_stride,
            col_stride: c.row_stride,
        };
        (b.t(), a.t(), ct)
    };
    let (m, n) = (c.rows, c.cols);
    if k == 0 {
        // No products: C ← β·C (and exactly 0 when β = 0, never reading C).
        for i in 0..m {
            for j in 0..n {
                let v = c.at_mut(i, j);
                *v = if beta == T::ZERO { T::ZERO } else { beta * *v };
            }
        }
        return;
    }

    let threads = parallel::current_threads();
    let par = threads > 1 && m.saturating_mul(k).saturating_mul(n) >= PAR_MIN_MACS;
    // Rows per task: one MC block serially. In parallel, every thread gets the same number of
    // equal tasks of at most MC rows, so that no thread is left with a short tail block
    // (1024 rows on 2 threads: 8 tasks of 132 rows, not 7 × 144 + 16), and even m = 64 gives
    // every thread work (36 + 28 rows).
    let panels = m.div_ceil(MR);
    let rows_per_task = if par {
        let blocks_per_thread = panels.div_ceil(threads).div_ceil(bl.mc / MR);
        panels.div_ceil(threads * blocks_per_thread) * MR
    } else {
        bl.mc
    };
    // Split k into equal blocks of at most KC (k = 320 → 2 × 160, not 256 + 64): a short last
    // block would run the kernel with little work per C tile load/store. The split depends on
    // k only, so the summation order is the same at every thread count.
    let kc = k.div_ceil(k.div_ceil(bl.kc));
    let rs = c.row_stride;
    let mut b_buf = take_buffer::<T>(Slot::B);
    for jc in (0..n).step_by(bl.nc) {
        let ncb = bl.nc.min(n - jc);
        for pc in (0..k).step_by(kc) {
            let kcb = kc.min(k - pc);
            let beta_eff = if pc == 0 { beta } else { T::ONE };
            let b_len = ncb.div_ceil(NR) * NR * kcb;
            let b_pack = aligned(&mut b_buf, b_len);
            // Pack B in groups of PACK_GROUP panels (in parallel if the product is large).
            let group = NR * kcb * PACK_GROUP;
            let pack_group = |(g, panels): (usize, &mut [T])| {
                pack_b_panels(&b, pc, kcb, jc + g * NR * PACK_GROUP, n, panels)
            };
            if par {
                b_pack
                    .par_chunks_mut(group)
                    .enumerate()
                    .for_each(pack_group);
            } else {
                b_pack.chunks_mut(group).enumerate().for_each(pack_group);
            }
            let b_pack = &*b_pack;
            let job = Job {
                a: &a,
                b_pack,
                alpha,
                beta: beta_eff,
                pc,
                kcb,
                jc,
                m,
                n,
                rs,
                cs: c.col_stride,
                mc: bl.mc,
            };
            // Task t owns rows [t·rows_per_task, (t+1)·rows_per_task) of C, i.e. the slice
            // starting at element (t·rows_per_task, 0); the rows are disjoint (see above).
            let chunk = rows_per_task * rs;
            let run = |(t, c_rows): (usize, &mut [T])| {
                let r0 = t * rows_per_task;
                if r0 < m {
                    job.run_rows(r0, (r0 + rows_per_task).min(m), c_rows);
                }
            };
            if m == 1 || chunk == 0 {
                run((0, &mut c.data[..]));
            } else if par {
                c.data.par_chunks_mut(chunk).enumerate().for_each(run);
            } else {
                c.data.chunks_mut(chunk).enumerate().for_each(run);
            }
        }
    }
    put_buffer(Slot::B, b_buf);
}

/// Everything one row task needs for one (jc, pc) block.
struct Job<'j, 'a, T> {
    a: &'j MatRef<'a, T>,
    b_pack: &'j [T],
    alpha: T,
    beta: T,
    pc: usize,
    kcb: usize,
    jc: usize,
    m: usize,
    n: usize,
    rs: usize,
    cs: usize,
    mc: usize,
}

impl<T: Real> Job<'_, '_, T> {
    /// Rows [r0, r1) of C (whose element (r0, 0) is `c[0]`), in MC blocks: pack A, then the
    /// jr/ir loops over micro-tiles.
    fn run_rows(&self, r0: usize, r1: usize, c: &mut [T]) {
        let kcb = self.kcb;
        let mut a_buf = take_buffer::<T>(Slot::A);
        for ic in (r0..r1).step_by(self.mc) {
            let mcb = self.mc.min(r1 - ic);
            let a_pack = aligned(&mut a_buf, mcb.div_ceil(MR) * MR * kcb);
            for (s, panel) in a_pack.chunks_mut(MR * kcb).enumerate() {
                pack::pack_a_panel(self.a, ic + s * MR, self.m, self.pc, kcb, panel);
            }
            for (t, b_panel) in self.b_pack.chunks(NR * kcb).enumerate() {
                let j = self.jc + t * NR;
                let cols = NR.min(self.n - j);
                for (s, a_panel) in a_pack.chunks(MR * kcb).enumerate() {
                    let i = ic + s * MR;
                    let rows = MR.min(self.m - i);
                    let at = (i - r0) * self.rs + j * self.cs;
                    self.tile(a_panel, b_panel, rows, cols, &mut c[at..]);
                }
            }
        }
        put_buffer(Slot::A, a_buf);
    }

    /// One MR×NR tile whose top-left element is `c[0]`; only `rows × cols` of it exist.
    #[inline]
    fn tile(&self, a_panel: &[T], b_panel: &[T], rows: usize, cols: usize, c: &mut [T]) {
        let (kcb, rs, cs) = (self.kcb, self.rs, self.cs);
        if rows == MR && cols == NR && cs == 1 {
            // The common case: the kernel works on C in place, row stride rs.
            T::gemm_kernel(kcb, self.alpha, a_panel, b_panel, self.beta, c, rs);
            return;
        }
        // Edge (or non-unit column stride): run the kernel on a full temporary tile holding
        // the existing C values, then copy the valid part back. β = 0 must not read C, and the
        // kernel does not read the temporary either in that case.
        let mut tmp = [T::ZERO; MR * NR];
        let read_c = self.beta != T::ZERO;
        if cs == 1 {
            // Whole row segments: memcpy-like copies.
            if read_c {
                for i in 0..rows {
                    tmp[i * NR..i * NR + cols].copy_from_slice(&c[i * rs..i * rs + cols]);
                }
            }
            T::gemm_kernel(kcb, self.alpha, a_panel, b_panel, self.beta, &mut tmp, NR);
            for i in 0..rows {
                c[i * rs..i * rs + cols].copy_from_slice(&tmp[i * NR..i * NR + cols]);
            }
            return;
        }
        if read_c {
            for i in 0..rows {
                for j in 0..cols {
                    tmp[i * NR + j] = c[i * rs + j * cs];
                }
            }
        }
        T::gemm_kernel(kcb, self.alpha, a_panel, b_panel, self.beta, &mut tmp, NR);
        for i in 0..rows {
            for j in 0..cols {
                c[i * rs + j * cs] = tmp[i * NR + j];
            }
        }
    }
}

// ---- per-thread packing buffers ------------------------------------------------------------
// Packing needs MC·KC (A) and KC·NC (B) scratch values per call. Allocating them each time
// costs an mmap/munmap pair for the larger sizes (PERFORMANCE.md, "Allocation matters"), so each
// thread keeps its buffers. They are *taken* out of the thread-local for the duration of a call
// and put back after, so a nested call on the same thread (rayon work stealing inside a
// parallel region) simply finds an empty slot and allocates, instead of panicking on a double
// borrow.

#[derive(Clone, Copy)]
enum Slot {
    A,
    B,
}

#[derive(Default)]
struct Buffers {
    a32: Vec<f32>,
    b32: Vec<f32>,
    a64: Vec<f64>,
    b64: Vec<f64>,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// The slot of type `Vec<T>` (T is f32 or f64; any other `Real` gets no slot and allocates).
fn slot_of<T: Real>(bufs: &mut Buffers, slot: Slot) -> Option<&mut Vec<T>> {
    let (s32, s64) = match slot {
        Slot::A => (&mut bufs.a32, &mut bufs.a64),
        Slot::B => (&mut bufs.b32, &mut bufs.b64),
    };
    let s32: &mut dyn Any = s32;
    if s32.is::<Vec<T>>() {
        return s32.downcast_mut::<Vec<T>>();
    }
    let s64: &mut dyn Any = s64;
    s64.downcast_mut::<Vec<T>>()
}

fn take_buffer<T: Real>(slot: Slot) -> Vec<T> {
    BUFFERS.with(|b| {
        b.try_borrow_mut()
            .ok()
            .and_then(|mut b| slot_of::<T>(&mut b, slot).map(std::mem::take))
            .unwrap_or_default()
    })
}

fn put_buffer<T: Real>(slot: Slot, buf: Vec<T>) {
    BUFFERS.with(|b| {
        if let Ok(mut b) = b.try_borrow_mut() {
            if let Some(s) = slot_of::<T>(&mut b, slot) {
                // Keep the larger buffer if a nested call put one back meanwhile.
                if s.capacity() < buf.capacity() {
                    *s = buf;
                }
            }
        }
    });
}

/// A `len`-element window of `buf` starting on a 64-byte boundary (one cache line), growing
/// `buf` if needed. Aligned B panels keep each 16-float row of a panel inside one cache line.
fn aligned<T: Real>(buf: &mut Vec<T>, len: usize) -> &mut [T] {
    let size = std::mem::size_of::<T>();
    let slack = 64 / size;
    if buf.len() < len + slack {
        buf.clear();
        buf.resize(len + slack, T::ZERO);
    }
    let misalign = (buf.as_ptr() as usize) % 64;
    let skip = if misalign == 0 {
        0
    } else {
        (64 - misalign) / size
    };
    &mut buf[skip..skip + len]
}
