//! The fast input gradient, built from the same pieces as the packed forward (`packed.rs`).
//! (The weight gradient is in `weight.rs`.)
//!
//! **col2im fused into the epilogue.** `dcols = Wᵀ·dY_n` is computed one MR×NR tile at a time and
//! each tile row `p = (c, j)` is added straight onto the input positions it came from,
//! `dx[c, t·s + j·d − p]`; `dcols` is never stored. (The other input-gradient path, the
//! flipped-kernel convolution, is the packed forward itself, see `mod.rs`.)

use rayon::prelude::*;

use super::im2col::Geom;
use super::packed::{Tap, pack_a, panels, plan_taps};
use super::scratch::with_scratch;
use crate::parallel;
use crate::real::Real;
use crate::simd::{MR, NR};

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
