//! Packing for the blocked GEMM: copies strided views of A and B into the unit-stride panel
//! layouts the micro-kernel reads, zero-padding the edges.
//!
//! - A block rows [i0, i0+MR) × depth [p0, p0+kc) → `panel[p·MR + i] = A[i0+i, p0+p]`
//!   (one column of the panel per k step: the MR values the kernel broadcasts);
//! - B block depth [p0, p0+kc) × columns [j0, j0+NR) → `panel[p·NR + j] = B[p0+p, j0+j]`
//!   (one row of the panel per k step: the two vectors the kernel loads).
//!
//! Cost: one read and one write per element, m·k + k·n per KC×NC block pass; what matters is
//! the memory access order, which each fast path below chooses to read the source
//! contiguously.

use super::MatRef;
use crate::real::Real;
use crate::simd::{MR, NR};

// pack_a_panel reads the MR rows of a panel as six named slices.
const _: () = assert!(MR == 6, "pack_a_panel is written for MR = 6");

/// B panels packed together by one call (and one parallel task): 8·16 = 128 columns, so that a
/// row-major B is read in 512-byte contiguous runs, which the hardware prefetcher streams.
pub(crate) const PACK_GROUP: usize = 8;

/// Packs rows [i0, i0+MR) × columns [p0, p0+kc) of A column by column:
/// `panel[p·MR + i] = A[i0+i, p0+p]`, rows at or past `m` as zeros.
pub(crate) fn pack_a_panel<T: Real>(
    a: &MatRef<'_, T>,
    i0: usize,
    m: usize,
    p0: usize,
    kc: usize,
    panel: &mut [T],
) {
    let rows = MR.min(m - i0);
    let (data, rs, cs) = (a.data, a.row_stride, a.col_stride);
    if rows < MR {
        panel.fill(T::ZERO);
    }
    if rs == 1 && rows == MR {
        // Aᵀ stored row-major (A column-major): each column of the panel is contiguous.
        for (p, dst) in panel.chunks_exact_mut(MR).enumerate() {
            let at = i0 + (p0 + p) * cs;
            dst.copy_from_slice(&data[at..at + MR]);
        }
        return;
    }
    if cs == 1 && rows == MR {
        // Row-major A: read the MR rows side by side, write one panel column per step.
        let row = |i: usize| &data[(i0 + i) * rs + p0..(i0 + i) * rs + p0 + kc];
        let (r0, r1, r2, r3, r4, r5) = (row(0), row(1), row(2), row(3), row(4), row(5));
        for (p, dst) in panel.chunks_exact_mut(MR).take(kc).enumerate() {
            dst.copy_from_slice(&[r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]]);
        }
        return;
    }
    for i in 0..rows {
        let at = (i0 + i) * rs + p0 * cs;
        for p in 0..kc {
            panel[p * MR + i] = data[at + p * cs];
        }
    }
}

/// Packs rows [p0, p0+kc) × columns [j0, j0+NR) of B row by row:
/// `panel[p·NR + j] = B[p0+p, j0+j]`, columns at or past `n` as zeros.
fn pack_b_panel<T: Real>(
    b: &MatRef<'_, T>,
    p0: usize,
    kc: usize,
    j0: usize,
    n: usize,
    panel: &mut [T],
) {
    let cols = NR.min(n - j0);
    let (data, rs, cs) = (b.data, b.row_stride, b.col_stride);
    if cs == 1 {
        // Row-major B: each panel row is a contiguous copy.
        for (p, dst) in panel.chunks_exact_mut(NR).enumerate() {
            let at = (p0 + p) * rs + j0;
            if cols == NR {
                // Constant length: compiled to two vector moves, not a memcpy call.
                dst.copy_from_slice(&data[at..at + NR]);
            } else {
                dst[..cols].copy_from_slice(&data[at..at + cols]);
                dst[cols..].fill(T::ZERO);
            }
        }
        return;
    }
    if cols < NR {
        panel.fill(T::ZERO);
    }
    for j in 0..cols {
        let at = p0 * rs + (j0 + j) * cs;
        if rs == 1 {
            // Bᵀ stored row-major: walk each column of B contiguously.
            for (p, &v) in data[at..at + kc].iter().enumerate() {
                panel[p * NR + j] = v;
            }
        } else {
            for p in 0..kc {
                panel[p * NR + j] = data[at + p * rs];
            }
        }
    }
}

/// Packs consecutive B panels (`panels` holds a whole number of NR·kc panels, the first one
/// starting at column `j0`). For a row-major B the loop runs row by row across all the panels,
/// reading each row of the group contiguously; otherwise panel by panel.
pub(crate) fn pack_b_panels<T: Real>(
    b: &MatRef<'_, T>,
    p0: usize,
    kc: usize,
    j0: usize,
    n: usize,
    panels: &mut [T],
) {
    let count = panels.len() / (NR * kc);
    let full = count * NR <= n - j0;
    if b.col_stride == 1 && full {
        let (data, rs) = (b.data, b.row_stride);
        for p in 0..kc {
            let row = &data[(p0 + p) * rs + j0..(p0 + p) * rs + j0 + count * NR];
            for (src, panel) in row.chunks_exact(NR).zip(panels.chunks_exact_mut(NR * kc)) {
                panel[p * NR..p * NR + NR].copy_from_slice(src);
            }
        }
        return;
    }
    for (t, panel) in panels.chunks_exact_mut(NR * kc).enumerate() {
        pack_b_panel(b, p0, kc, j0 + t * NR, n, panel);
    }
}
