//! The fast conv2d kernels: per-sample im2col into a reused buffer + GEMM, rayon over samples,
//! fixed-block reductions for dW and db. See the parent module for the math.

use rayon::prelude::*;

use super::Conv2dGeometry;
use super::im2col::{col2im, im2col};
use crate::gemm::{MatMut, MatRef, gemm};
use crate::parallel::{GRAIN, block_reduce, current_threads};
use crate::real::Real;

/// Number of sample blocks the weight gradient is cut into (fewer if the batch is smaller). The
/// block boundaries depend only on N, so the summation order never depends on the threads.
const WEIGHT_BLOCKS: usize = 8;

/// Whether to spread `g.n` samples over the pool.
fn parallel_over_samples(g: &Conv2dGeometry) -> bool {
    g.n > 1 && current_threads() > 1 && g.flops() >= GRAIN
}

fn view<T: Real>(data: &[T], rows: usize, cols: usize) -> MatRef<'_, T> {
    MatRef::row_major(data, rows, cols)
        .expect("invariant: conv2d buffer sizes come from Conv2dGeometry")
}

fn view_mut<T: Real>(data: &mut [T], rows: usize, cols: usize) -> MatMut<'_, T> {
    MatMut::row_major(data, rows, cols)
        .expect("invariant: conv2d buffer sizes come from Conv2dGeometry")
}

/// Forward: `y[n] = W · im2col(x[n]) + b`; overwrites `y`.
///
/// # Panics
/// If a slice length disagrees with `g` (the tensor layer guarantees they agree).
pub fn conv2d_forward<T: Real>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    g: &Conv2dGeometry,
    y: &mut [T],
) {
    let (taps, pix, hw) = (g.taps(), g.out_pixels(), g.in_pixels());
    assert!(
        x.len() == g.n * g.c_in * hw && w.len() == g.c_out * taps && y.len() == g.n * g.c_out * pix
    );
    assert!(bias.is_none_or(|b| b.len() == g.c_out));
    let sample = |n: usize, y_n: &mut [T], cols: &mut Vec<T>| {
        // Bias pre-filled, then the GEMM accumulates onto it (β = 1): no separate bias pass.
        let beta = match bias {
            Some(b) => {
                for (row, &bo) in y_n.chunks_exact_mut(pix).zip(b) {
                    row.fill(bo);
                }
                T::ONE
            }
            None => T::ZERO,
        };
        let x_n = &x[n * g.c_in * hw..(n + 1) * g.c_in * hw];
        let b_mat = if g.is_pointwise() {
            view(x_n, taps, pix) // a 1×1 conv is a plain GEMM on the input
        } else {
            cols.resize(taps * pix, T::ZERO);
            im2col(x_n, g, cols);
            view(cols, taps, pix)
        };
        gemm(
            T::ONE,
            view(w, g.c_out, taps),
            b_mat,
            beta,
            view_mut(y_n, g.c_out, pix),
        )
        .expect("invariant: GEMM dimensions come from Conv2dGeometry");
    };
    let chunk = g.c_out * pix;
    if parallel_over_samples(g) {
        y.par_chunks_mut(chunk)
            .enumerate()
            .for_each_init(Vec::new, |cols, (n, y_n)| sample(n, y_n, cols));
    } else {
        let mut cols = Vec::new();
        for (n, y_n) in y.chunks_mut(chunk).enumerate() {
            sample(n, y_n, &mut cols);
        }
    }
}

/// Input gradient; **accumulates** `dx[n] += col2im(Wᵀ · dy[n])`.
///
/// # Panics
/// If a slice length disagrees with `g`.
pub fn conv2d_backward_input_kernel<T: Real>(dy: &[T], w: &[T], g: &Conv2dGeometry, dx: &mut [T]) {
    let (taps, pix, hw) = (g.taps(), g.out_pixels(), g.in_pixels());
    assert!(
        dx.len() == g.n * g.c_in * hw
            && w.len() == g.c_out * taps
            && dy.len() == g.n * g.c_out * pix
    );
    let w_t = view(w, g.c_out, taps).t(); // Wᵀ as a view: no copy
    let sample = |n: usize, dx_n: &mut [T], dcols: &mut Vec<T>| {
        let dy_n = view(
            &dy[n * g.c_out * pix..(n + 1) * g.c_out * pix],
            g.c_out,
            pix,
        );
        const DIMS: &str = "invariant: GEMM dimensions come from Conv2dGeometry";
        if g.is_pointwise() {
            // dcols is dx_n itself: accumulate straight into it (β = 1).
            gemm(T::ONE, w_t, dy_n, T::ONE, view_mut(dx_n, taps, pix)).expect(DIMS);
        } else {
            dcols.resize(taps * pix, T::ZERO);
            gemm(T::ONE, w_t, dy_n, T::ZERO, view_mut(dcols, taps, pix)).expect(DIMS);
            col2im(dcols, g, dx_n);
        }
    };
    let chunk = g.c_in * hw;
    if parallel_over_samples(g) {
        dx.par_chunks_mut(chunk)
            .enumerate()
            .for_each_init(Vec::new, |s, (n, dx_n)| sample(n, dx_n, s));
    } else {
        let mut dcols = Vec::new();
        for (n, dx_n) in dx.chunks_mut(chunk).enumerate() {
            sample(n, dx_n, &mut dcols);
        }
    }
}

/// Weight gradient; **accumulates** `dw += Σ_n dy[n] · im2col(x[n])ᵀ`, summed per fixed block of
/// samples and then over blocks in order (bit-identical at any thread count).
///
/// # Panics
/// If a slice length disagrees with `g`.
pub fn conv2d_backward_weight_kernel<T: Real>(dy: &[T], x: &[T], g: &Conv2dGeometry, dw: &mut [T]) {
    let (taps, pix, hw) = (g.taps(), g.out_pixels(), g.in_pixels());
    assert!(
        x.len() == g.n * g.c_in * hw
            && dw.len() == g.c_out * taps
            && dy.len() == g.n * g.c_out * pix
    );
    let block = g.n.div_ceil(WEIGHT_BLOCKS);
    let n_blocks = g.n.div_ceil(block);
    let run_block = |b: usize| {
        let mut partial = vec![T::ZERO; dw.len()];
        let mut cols = Vec::new();
        for n in b * block..((b + 1) * block).min(g.n) {
            let x_n = &x[n * g.c_in * hw..(n + 1) * g.c_in * hw];
            let cols_t = if g.is_pointwise() {
                view(x_n, taps, pix).t()
            } else {
                cols.resize(taps * pix, T::ZERO);
                im2col(x_n, g, &mut cols);
                view(&cols, taps, pix).t()
            };
            let dy_n = view(
                &dy[n * g.c_out * pix..(n + 1) * g.c_out * pix],
                g.c_out,
                pix,
            );
            gemm(
                T::ONE,
                dy_n,
                cols_t,
                T::ONE,
                view_mut(&mut partial, g.c_out, taps),
            )
            .expect("invariant: GEMM dimensions come from Conv2dGeometry");
        }
        partial
    };
    let partials: Vec<Vec<T>> = if n_blocks > 1 && parallel_over_samples(g) {
        (0..n_blocks).into_par_iter().map(run_block).collect()
    } else {
        (0..n_blocks).map(run_block).collect()
    };
    for p in &partials {
        T::vec_axpy(T::ONE, p, dw);
    }
}

/// Bias gradient; **accumulates** `db[o] += Σ_{n,p} dy[n, o, p]` over `pix` pixels per channel,
/// in fixed block order.
///
/// # Panics
/// If `dy.len() != n·c_out·pix` or `db.len() != c_out`.
pub fn conv2d_backward_bias_kernel<T: Real>(
    dy: &[T],
    n: usize,
    c_out: usize,
    pix: usize,
    db: &mut [T],
) {
    assert!(dy.len() == n * c_out * pix && db.len() == c_out);
    let block = (GRAIN / (c_out * pix).max(1)).max(1);
    block_reduce(n, block, db, |s, part| {
        let dy_n = &dy[s * c_out * pix..(s + 1) * c_out * pix];
        for (p, row) in part.iter_mut().zip(dy_n.chunks_exact(pix)) {
            *p += T::vec_sum(row);
        }
    });
}
