//! Depthwise 1D convolution (`groups = C`): every channel convolved with its own kernel.
//!
//! # What it computes
//! ```text
//! y[n,c,t] = b[c] + Σ_j w[c,0,j] · x[n, c, t·s + j·d − p]
//! ```
//! with stride `s`, dilation `d` and zero padding `p`, exactly as [`crate::ops::conv1d`] but with
//! no sum over input channels: channel `c` of the output sees only channel `c` of the input
//! (PyTorch's `Conv1d(C, C, K, groups=C)`). Followed by a pointwise (K = 1) convolution that
//! mixes the channels, it is the **depthwise-separable** convolution of MobileNet: `C·K + C·C_out`
//! weights instead of `C·C_out·K`, and the same factor fewer multiply-adds.
//!
//! # Shapes
//! `x [N, C, L_in]`, `w [C, 1, K]` (PyTorch's layout for `groups = C`), `b [C]`,
//! `y [N, C, L_out]`, `L_out` as for conv1d ([`Conv1dParams::out_len`]).
//!
//! # Cost
//! `2·N·C·K·L_out` FLOPs forward; each gradient about the same again. That is `C_out`× less
//! arithmetic than a dense conv, but the same memory traffic per output: this op is
//! memory-bound, so it is vectorised along time and never packed into a GEMM.
//!
//! # Gradients (one line each; all accumulate, `+=`)
//! - input:  `dx[n,c,t·s + j·d − p] += w[c,0,j]·dy[n,c,t]`;
//! - weight: `dw[c,0,j] += Σ_n Σ_t dy[n,c,t]·x[n,c,t·s + j·d − p]`;
//! - bias:   `db[c] += Σ_n Σ_t dy[n,c,t]`.
//!
//! # How the fast version differs from the naive twin (`naive.rs`)
//! The naive loops visit `(n, c, t, j)` one multiply-add at a time. The fast kernels turn the
//! loop inside out: for each tap `j`, the outputs that read inside the signal form one contiguous
//! range (`valid_outputs`), and their inputs are one contiguous (stride 1) or strided run of the
//! input row. So each tap is a single vector primitive over the whole row:
//! - forward: `y[c, r] += w[c,j] · x[c, r·s + j·d − p]` — one [`Real::vec_axpy`] per tap
//!   (a [`Real::vec_gather_strided`] first when the stride is > 1);
//! - input gradient: the adjoint, `dx[c, r·s + j·d − p] += w[c,j] · dy[c, r]` — an axpy (stride
//!   1) or a scale then [`Real::vec_scatter_add_strided`];
//! - weight gradient: `dw[c,j] += ⟨dy[c, r], x[c, r·s + j·d − p]⟩` — one [`Real::vec_dot`].
//!
//! Threads: rayon over the rows `(n, c)` for the forward and the input gradient (independent
//! outputs), and over channels for the weight and bias gradients, each channel summing its
//! samples in order `n = 0, 1, …` — so every result is bit-identical at any thread count, and a
//! batch of one still uses every core.

mod api;
mod naive;
#[cfg(test)]
mod tests;

pub use api::{
    depthwise_conv1d, depthwise_conv1d_backward, depthwise_conv1d_backward_with,
    depthwise_conv1d_with,
};

use rayon::prelude::*;

use super::conv1d::Geom;
use super::conv1d::im2col::{input_pos, valid_outputs};
use super::conv1d::scratch::with_scratch;
use super::conv1d::{Conv1dDims, Conv1dParams};
use crate::parallel;
use crate::real::Real;

/// Multiply-adds below which a depthwise kernel stays on the calling thread. The op does about
/// one multiply-add per byte loaded, so the threshold is the elementwise [`parallel::GRAIN`]
/// rather than conv1d's much larger one.
const PARALLEL_MIN_MACS: usize = 4 * parallel::GRAIN;

/// Which implementation computes a depthwise convolution (tests and benches compare them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepthwiseConv1dImpl {
    /// The production kernels: vectorised along time, rayon over rows/channels.
    Auto,
    /// Direct loops: the specification (`naive.rs`).
    Naive,
}

/// The sizes of one depthwise call: `n` samples, `c` channels, `l_in` samples long, `k` taps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepthwiseDims {
    /// Batch size N.
    pub n: usize,
    /// Channels C (input = output).
    pub c: usize,
    /// Input length L_in.
    pub l_in: usize,
    /// Kernel taps K.
    pub k: usize,
}

impl DepthwiseDims {
    /// The conv1d geometry with `c_in = c_out = C` (only the index function and the sizes are
    /// used; `Geom::kdim` has no meaning here).
    ///
    /// # Panics
    /// If the parameters are invalid or nothing fits (the tensor layer checked this first).
    fn geom(&self, params: &Conv1dParams) -> Geom {
        Conv1dDims {
            n: self.n,
            c_in: self.c,
            c_out: self.c,
            l_in: self.l_in,
            k: self.k,
        }
        .geom(params)
    }
}

#[cold]
#[track_caller]
fn slice_len_panic(what: &str, got: usize, want: usize, g: &Geom) -> ! {
    panic!("depthwise_conv1d kernel: {what} has {got} elements, expected {want} for {g:?}")
}

#[track_caller]
fn check_len(what: &str, got: usize, want: usize, g: &Geom) {
    if got != want {
        slice_len_panic(what, got, want, g)
    }
}

/// Whether the work is big enough to be worth waking the rayon pool.
fn parallel_worth_it(g: &Geom) -> bool {
    parallel::current_threads() > 1 && g.n * g.c_out * g.k * g.l_out >= PARALLEL_MIN_MACS
}

/// The contiguous run of input positions that tap `j` reads for the outputs `r` (stride 1), or
/// the first one (stride > 1); `None` when the tap never lands inside the signal.
fn tap_start(g: &Geom, j: usize) -> Option<(std::ops::Range<usize>, usize)> {
    let r = valid_outputs(g, j);
    let start = input_pos(g, r.clone().next()?, j).expect("invariant: valid_outputs is valid");
    Some((r, start))
}

impl DepthwiseConv1dImpl {
    /// Forward on slices: overwrites `y` `[N, C, L_out]` with `b + w ⋆ x` channel by channel.
    ///
    /// # Panics
    /// If the parameters are invalid, nothing fits, or a slice length disagrees with `dims`.
    pub fn forward<T: Real>(
        self,
        x: &[T],
        w: &[T],
        b: Option<&[T]>,
        y: &mut [T],
        dims: DepthwiseDims,
        params: &Conv1dParams,
    ) {
        let g = dims.geom(params);
        check_len("x", x.len(), g.n * g.c_in * g.l_in, &g);
        check_len("w", w.len(), g.c_in * g.k, &g);
        check_len("y", y.len(), g.n * g.c_in * g.l_out, &g);
        if let Some(b) = b {
            check_len("b", b.len(), g.c_in, &g);
        }
        match self {
            DepthwiseConv1dImpl::Naive => naive::forward(&g, x, w, b, y),
            DepthwiseConv1dImpl::Auto => forward_fast(&g, x, w, b, y),
        }
    }

    /// Input gradient on slices, **accumulating** into `dx` `[N, C, L_in]`.
    ///
    /// # Panics
    /// If the parameters are invalid, nothing fits, or a slice length disagrees with `dims`.
    pub fn backward_input<T: Real>(
        self,
        dy: &[T],
        w: &[T],
        dx: &mut [T],
        dims: DepthwiseDims,
        params: &Conv1dParams,
    ) {
        let g = dims.geom(params);
        check_len("dy", dy.len(), g.n * g.c_in * g.l_out, &g);
        check_len("w", w.len(), g.c_in * g.k, &g);
        check_len("dx", dx.len(), g.n * g.c_in * g.l_in, &g);
        match self {
            DepthwiseConv1dImpl::Naive => naive::backward_input(&g, dy, w, dx),
            DepthwiseConv1dImpl::Auto => backward_input_fast(&g, dy, w, dx),
        }
    }

    /// Weight gradient on slices, **accumulating** into `dw` `[C, 1, K]`; bit-identical at any
    /// thread count.
    ///
    /// # Panics
    /// If the parameters are invalid, nothing fits, or a slice length disagrees with `dims`.
    pub fn backward_weight<T: Real>(
        self,
        x: &[T],
        dy: &[T],
        dw: &mut [T],
        dims: DepthwiseDims,
        params: &Conv1dParams,
    ) {
        let g = dims.geom(params);
        check_len("x", x.len(), g.n * g.c_in * g.l_in, &g);
        check_len("dy", dy.len(), g.n * g.c_in * g.l_out, &g);
        check_len("dw", dw.len(), g.c_in * g.k, &g);
        match self {
            DepthwiseConv1dImpl::Naive => naive::backward_weight(&g, x, dy, dw),
            DepthwiseConv1dImpl::Auto => backward_weight_fast(&g, x, dy, dw),
        }
    }

    /// Bias gradient on slices, **accumulating** into `db` `[C]`: Σ over batch and time of `dy`
    /// `[N, C, L_out]`; bit-identical at any thread count.
    ///
    /// # Panics
    /// If `dy.len() != n·c·l_out` or `db.len() != c`.
    pub fn backward_bias<T: Real>(self, dy: &[T], db: &mut [T], n: usize, c: usize, l_out: usize) {
        assert!(
            dy.len() == n * c * l_out && db.len() == c,
            "depthwise_conv1d backward_bias: dy has {} elements (want {n}·{c}·{l_out}), db {} \
             (want {c})",
            dy.len(),
            db.len()
        );
        match self {
            DepthwiseConv1dImpl::Naive => naive::backward_bias(n, c, l_out, dy, db),
            DepthwiseConv1dImpl::Auto => {
                // One task per channel; each sums its samples in order n = 0, 1, … .
                let per_channel = |ch: usize, d: &mut T| {
                    let mut acc = T::ZERO;
                    for s in 0..n {
                        acc += T::vec_sum(&dy[(s * c + ch) * l_out..][..l_out]);
                    }
                    *d += acc;
                };
                if parallel::current_threads() > 1 && n * c * l_out >= PARALLEL_MIN_MACS {
                    db.par_iter_mut()
                        .enumerate()
                        .for_each(|(ch, d)| per_channel(ch, d));
                } else {
                    db.iter_mut()
                        .enumerate()
                        .for_each(|(ch, d)| per_channel(ch, d));
                }
            }
        }
    }
}

/// One output row `y[n, c, :]`: bias, then one axpy per tap over its valid output range.
fn forward_row<T: Real>(g: &Geom, x_c: &[T], w_c: &[T], bias: T, y_row: &mut [T]) {
    y_row.fill(bias);
    with_scratch::<T, _>(if g.stride == 1 { 0 } else { g.l_out }, |gathered| {
        for (j, &wj) in w_c.iter().enumerate() {
            let Some((r, start)) = tap_start(g, j) else {
                continue;
            };
            let len = r.len();
            if g.stride == 1 {
                T::vec_axpy(wj, &x_c[start..start + len], &mut y_row[r]);
            } else {
                // Gather the strided inputs into a contiguous run first, so the axpy vectorises.
                let tmp = &mut gathered[..len];
                T::vec_gather_strided(x_c, start, g.stride, tmp);
                T::vec_axpy(wj, tmp, &mut y_row[r]);
            }
        }
    })
}

fn forward_fast<T: Real>(g: &Geom, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
    let c = g.c_in;
    let row = |i: usize, y_row: &mut [T]| {
        let ch = i % c;
        let x_c = &x[i * g.l_in..][..g.l_in];
        let bias = b.map_or(T::ZERO, |b| b[ch]);
        forward_row(g, x_c, &w[ch * g.k..][..g.k], bias, y_row);
    };
    if parallel_worth_it(g) {
        y.par_chunks_exact_mut(g.l_out)
            .enumerate()
            .for_each(|(i, r)| row(i, r));
    } else {
        y.chunks_exact_mut(g.l_out)
            .enumerate()
            .for_each(|(i, r)| row(i, r));
    }
}

/// One input-gradient row `dx[n, c, :]`: every tap sends `w[c,j]·dy[n,c,r]` back to the inputs
/// it read.
fn backward_input_row<T: Real>(g: &Geom, dy_row: &[T], w_c: &[T], dx_c: &mut [T]) {
    with_scratch::<T, _>(if g.stride == 1 { 0 } else { g.l_out }, |scaled| {
        for (j, &wj) in w_c.iter().enumerate() {
            let Some((r, start)) = tap_start(g, j) else {
                continue;
            };
            let len = r.len();
            if g.stride == 1 {
                T::vec_axpy(wj, &dy_row[r], &mut dx_c[start..start + len]);
            } else {
                let tmp = &mut scaled[..len];
                tmp.copy_from_slice(&dy_row[r]);
                T::vec_scale(wj, tmp);
                T::vec_scatter_add_strided(tmp, dx_c, start, g.stride);
            }
        }
    })
}

fn backward_input_fast<T: Real>(g: &Geom, dy: &[T], w: &[T], dx: &mut [T]) {
    let c = g.c_in;
    let row = |i: usize, dx_c: &mut [T]| {
        let ch = i % c;
        let dy_row = &dy[i * g.l_out..][..g.l_out];
        backward_input_row(g, dy_row, &w[ch * g.k..][..g.k], dx_c);
    };
    if parallel_worth_it(g) {
        dx.par_chunks_exact_mut(g.l_in)
            .enumerate()
            .for_each(|(i, r)| row(i, r));
    } else {
        dx.chunks_exact_mut(g.l_in)
            .enumerate()
            .for_each(|(i, r)| row(i, r));
    }
}

/// The weight gradient of one channel, accumulating into `dw_c` `[K]`: for each tap, the dot
/// product of the upstream gradient with the inputs that tap read, summed over the samples in
/// order (so the bits do not depend on how channels are spread over threads).
fn backward_weight_channel<T: Real>(g: &Geom, ch: usize, x: &[T], dy: &[T], dw_c: &mut [T]) {
    let c = g.c_in;
    with_scratch::<T, _>(if g.stride == 1 { 0 } else { g.l_out }, |gathered| {
        for (j, d) in dw_c.iter_mut().enumerate() {
            let Some((r, start)) = tap_start(g, j) else {
                continue;
            };
            let len = r.len();
            let mut acc = T::ZERO;
            for s in 0..g.n {
                let x_c = &x[(s * c + ch) * g.l_in..][..g.l_in];
                let dy_row = &dy[(s * c + ch) * g.l_out..][..g.l_out];
                acc += if g.stride == 1 {
                    T::vec_dot(&dy_row[r.clone()], &x_c[start..start + len])
                } else {
                    let tmp = &mut gathered[..len];
                    T::vec_gather_strided(x_c, start, g.stride, tmp);
                    T::vec_dot(&dy_row[r.clone()], tmp)
                };
            }
            *d += acc;
        }
    })
}

fn backward_weight_fast<T: Real>(g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    if parallel_worth_it(g) {
        dw.par_chunks_exact_mut(g.k)
            .enumerate()
            .for_each(|(ch, d)| backward_weight_channel(g, ch, x, dy, d));
    } else {
        dw.chunks_exact_mut(g.k)
            .enumerate()
            .for_each(|(ch, d)| backward_weight_channel(g, ch, x, dy, d));
    }
}

/// Forward kernel on slices with the production implementation: overwrites `y`.
///
/// # Panics
/// See [`DepthwiseConv1dImpl::forward`].
pub fn depthwise_conv1d_forward<T: Real>(
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
    y: &mut [T],
    dims: DepthwiseDims,
    params: &Conv1dParams,
) {
    DepthwiseConv1dImpl::Auto.forward(x, w, b, y, dims, params)
}

/// Input-gradient kernel on slices: accumulates into `dx`.
///
/// # Panics
/// See [`DepthwiseConv1dImpl::backward_input`].
pub fn depthwise_conv1d_backward_input<T: Real>(
    dy: &[T],
    w: &[T],
    dx: &mut [T],
    dims: DepthwiseDims,
    params: &Conv1dParams,
) {
    DepthwiseConv1dImpl::Auto.backward_input(dy, w, dx, dims, params)
}

/// Weight-gradient kernel on slices: accumulates into `dw`.
///
/// # Panics
/// See [`DepthwiseConv1dImpl::backward_weight`].
pub fn depthwise_conv1d_backward_weight<T: Real>(
    x: &[T],
    dy: &[T],
    dw: &mut [T],
    dims: DepthwiseDims,
    params: &Conv1dParams,
) {
    DepthwiseConv1dImpl::Auto.backward_weight(x, dy, dw, dims, params)
}

/// Bias-gradient kernel on slices: accumulates into `db`.
///
/// # Panics
/// See [`DepthwiseConv1dImpl::backward_bias`].
pub fn depthwise_conv1d_backward_bias<T: Real>(
    dy: &[T],
    db: &mut [T],
    n: usize,
    c: usize,
    l_out: usize,
) {
    DepthwiseConv1dImpl::Auto.backward_bias(dy, db, n, c, l_out)
}
