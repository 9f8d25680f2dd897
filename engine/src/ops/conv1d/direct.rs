//! The direct path for few input channels (the one- or two-lead first layer of an ECG network).
//!
//! With `C_in·K` this small (5 for one lead and K = 5), the packed GEMM spends more on its
//! machinery than on arithmetic: each 6×16 tile does only `C_in·K` multiply-add steps between
//! packing a B panel and storing the tile, and `C_out = 32` rows leave a 2-row edge tile that goes
//! through scratch. Here each sample's channels are copied once into a zero-padded buffer
//! (`L_pad = L_in + 2·padding` per channel), and tap `(c, j)` *is* the view starting at
//! `c·L_pad + j·dilation`:
//! ```text
//! y[o, t] = b[o] + Σ_{c,j} w[o, c, j] · x_pad[c·L_pad + j·d + t]
//! ```
//! which [`crate::simd::direct_conv`] computes in 4-row × 16-position register tiles straight
//! from those views. Stride 1 only (a strided view is not contiguous); the gradients use the
//! other paths (`mod.rs`).

use rayon::prelude::*;

use super::im2col::Geom;
use super::packed::InPlace;
use crate::parallel;
use crate::real::Real;

/// The largest reduction `C_in·K` that [`super::Conv1dImpl::Auto`] sends here. Measured against
/// the packed path (1 thread, AVX2, batch 32 × 187 samples, 32 output channels): `C_in·K` = 5
/// (S1) 0.059 vs 0.081 ms; 10 0.092 vs 0.101 ms; 14–15 equal; 36 0.28 vs 0.23 ms.
pub(crate) const MAX_KDIM: usize = 12;

/// Forward on slices, overwriting `y` `[N, C_out, L_out]` with `b + w ⋆ x`. The caller checked
/// [`Geom::reads_padded_views`].
pub(crate) fn forward<T: Real>(g: &Geom, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
    // The padded copy and tap offsets of the in-place GEMM path (no ones row: the bias starts
    // the accumulators here): tap (c, j) reads x_pad[c·L_pad + j·d + t], in w's row order c·K + j.
    let plan = InPlace::plan(g, false).expect("invariant: the caller checked reads_padded_views");
    let offs = plan.offsets().as_slice();
    let zeros;
    let bias = match b {
        Some(b) => b,
        None => {
            zeros = vec![T::ZERO; g.c_out];
            &zeros[..]
        }
    };
    let (x_len, y_len) = (g.c_in * g.l_in, g.c_out * g.l_out);
    let one = |n: usize, y_n: &mut [T]| {
        plan.with_padded(g, &x[n * x_len..][..x_len], |x_pad| {
            T::direct_conv(x_pad, offs, w, bias, y_n, (g.c_out, g.l_out, g.l_out))
        })
    };
    if parallel::current_threads() == 1 || g.macs() < super::PARALLEL_MIN_MACS {
        y.chunks_exact_mut(y_len)
            .enumerate()
            .for_each(|(n, y_n)| one(n, y_n));
    } else {
        y.par_chunks_exact_mut(y_len)
            .enumerate()
            .for_each(|(n, y_n)| one(n, y_n));
    }
}
