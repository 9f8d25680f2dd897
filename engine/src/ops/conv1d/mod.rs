//! 1D convolution over NCL tensors (the layer every ECG CNN is built from).
//!
//! # What it computes
//! ```text
//! y[n,o,t] = b[o] + Σ_c Σ_j w[o,c,j] · x[n, c, t·s + j·d − p]
//! ```
//! with stride `s`, dilation `d`, zero padding `p` on both sides, and terms whose input position
//! falls outside `0..L_in` dropped (they read the padding's zeros).
//!
//! # Shapes
//! `x [N, C_in, L_in]`, `w [C_out, C_in, K]`, `b [C_out]`, `y [N, C_out, L_out]` with
//! `L_out = ⌊(L_in + 2p − d·(K−1) − 1) / s⌋ + 1` (an [`crate::Error::EmptyOutput`] when the
//! dilated kernel, `d·(K−1) + 1` samples, is longer than the padded signal).
//!
//! # Cost
//! `2·N·C_out·C_in·K·L_out` FLOPs forward (one multiply and one add per term); the benches use
//! this number as their throughput. Forward + both gradients costs three times that.
//!
//! # Gradients (one line each; all accumulate, `+=`)
//! - input:  `dx[n,c,t·s + j·d − p] += Σ_o w[o,c,j]·dy[n,o,t]` (a *transposed* convolution of `dy`);
//! - weight: `dw[o,c,j] += Σ_n Σ_t dy[n,o,t]·x[n,c,t·s + j·d − p]` (correlate `dy` with `x`);
//! - bias:   `db[o] += Σ_n Σ_t dy[n,o,t]`.
//!
//! # Why im2col turns the convolution into a GEMM
//! Write the receptive field of output `t` as a column: `cols[(c,j), t] = x[c, t·s + j·d − p]`,
//! a `(C_in·K) × L_out` matrix (`im2col`). The weight, viewed as `C_out × (C_in·K)`, then meets
//! each column in one dot product per output channel, so `Y_n = W · cols_n` for each sample: one
//! matrix multiply, the operation CPUs run closest to their peak (register-blocked FMAs, data
//! reused from cache). The two gradients are GEMMs too: `dW += dY_n · cols_nᵀ` and
//! `dcols = Wᵀ · dY_n` followed by `col2im`, which scatter-adds each column back onto the input
//! positions it came from. The price of im2col is memory: `cols` is K times larger than `x`,
//! which is why it is built one sample at a time, or, in the fast path, never built at all.
//!
//! # Which path runs ([`Conv1dImpl::Auto`])
//! - **K = 1, stride 1, padding 0** (pointwise): `cols` *is* `x`, so the conv is a plain GEMM on
//!   the input through [`crate::gemm`], no im2col (`im2col.rs`);
//! - **forward, short reductions** (`C_in·K ≤ 12`, stride 1: the one- or two-lead first layer):
//!   the direct path (`direct.rs`), register tiles computed straight from views of the
//!   zero-padded signal by [`crate::simd::direct_conv`], with nothing packed;
//! - **forward, stride 1:** the micro-kernel reads B in place (`packed.rs`, `InPlace`): each
//!   sample is copied once into a zero-padded buffer, and row `(c, j)` of `cols` at output `t0`
//!   *is* the slice `x_pad[c·L_pad + j·d + t0 ..]`, so [`crate::simd::conv_kernel`] loads it
//!   from there; nothing is packed, and the kernel's B working set is a window of the signal
//!   instead of a K-times-larger panel (1 thread: S5 5.6 → 3.9 ms, S6 9.8 → 8.8 ms, S2
//!   1.38 → 1.22 ms). Output straight into NCL, the bias folded in as one more column of W met
//!   by a row of ones;
//! - **forward, other strides:** the packed path (`packed.rs`): im2col fused into the packing of
//!   the GEMM micro-kernel's B panels, otherwise the same;
//! - **weight gradient:** the same machine with the reduction over time (`weight.rs`); for
//!   stride 1 its B panels are contiguous runs of the once-transposed signal (taps ordered
//!   `j·C_in + c`), plain dot products when `C_in·K < 16` (the 1-lead first layer), where a tile
//!   would be mostly zeros, and taps gathered one by one for other strides and dilations;
//! - **input gradient:** a convolution of `dy` with the flipped weight (`w'[c,o,j] =
//!   w[o,c,K−1−j]`, padding `d·(K−1) − p`) through the forward core, B read in place, which also
//!   splits time (or rows) over threads for N = 1; but `Wᵀ·dY_n` tile by tile with col2im fused
//!   into the tile epilogue (`backward.rs`) for stride > 1, and when `C_in < MR` (the flipped
//!   conv's output rows would leave its row panels mostly empty) with `C_out > C_in` and N > 1.
//!   (A negative flipped padding, `p > d·(K−1)`, packs B.) The choice depends on the shape
//!   only, so results never depend on the thread count.
//!
//! Threads (above about a million multiply-adds): rayon over samples, and over stretches of time
//! (or blocks of output channels, for short signals) when the batch is smaller than twice the
//! thread count (so N = 1 uses both cores). Results are bit-identical at any
//! thread count ([`crate::parallel`]). The specification is `naive.rs`; `tests.rs` checks every
//! path against it.

mod api;
mod backward;
mod direct;
pub(crate) mod im2col;
pub(crate) mod naive;
mod packed;
pub(crate) mod scratch;
#[cfg(test)]
mod tests;
mod weight;

pub use api::{
    Conv1dGrads, Conv1dNeeds, conv1d, conv1d_backward, conv1d_backward_with, conv1d_with,
};
pub(crate) use im2col::Geom;

use crate::error::{Error, Result};
use crate::parallel::block_reduce;
use crate::real::Real;
use crate::simd::MR;
use scratch::with_scratch;

/// Multiply-adds below which a convolution runs on the calling thread: about 10–20 µs of work at
/// the micro-kernel's speed, comparable to waking a second rayon thread. This is larger than
/// [`crate::parallel::GRAIN`] (tuned for memory-bound elementwise ops) because each
/// multiply-add here is far cheaper than an elementwise op's memory traffic.
pub(crate) const PARALLEL_MIN_MACS: usize = 1 << 20;

/// Samples per block of the deterministic batch reductions (dW, db): block boundaries depend only
/// on N, so the bits of the sum do not depend on the thread count.
pub(crate) const SAMPLE_BLOCK: usize = 4;

/// Stride, zero padding (each side) and dilation of a convolution. `Default` is PyTorch's:
/// stride 1, padding 0, dilation 1.
///
/// ```
/// use ecgrad_engine::ops::conv1d::Conv1dParams;
/// let p = Conv1dParams { padding: 2, ..Default::default() };
/// assert_eq!(p.out_len(187, 5).unwrap(), 187); // "same" for K = 5
/// assert!(Conv1dParams::default().out_len(3, 7).is_err()); // kernel longer than the signal
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1dParams {
    /// Step between consecutive output positions, in input samples (≥ 1).
    pub stride: usize,
    /// Zeros added at each end of the signal.
    pub padding: usize,
    /// Spacing between kernel taps (≥ 1; 1 is a dense kernel).
    pub dilation: usize,
}

impl Default for Conv1dParams {
    fn default() -> Self {
        Conv1dParams {
            stride: 1,
            padding: 0,
            dilation: 1,
        }
    }
}

impl Conv1dParams {
    /// Checks stride and dilation (both ≥ 1); `op` names the caller in the error.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming the zero parameter.
    pub fn validate(&self, op: &'static str) -> Result<()> {
        for (name, value) in [("stride", self.stride), ("dilation", self.dilation)] {
            if value == 0 {
                return Err(Error::InvalidParam {
                    op,
                    name,
                    value: "0".into(),
                    why: "must be at least 1".into(),
                });
            }
        }
        Ok(())
    }

    /// Output length `⌊(l_in + 2·padding − dilation·(k−1) − 1) / stride⌋ + 1`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a zero stride, dilation or `k`; [`Error::EmptyOutput`] when
    /// the dilated kernel does not fit in the padded signal.
    pub fn out_len(&self, l_in: usize, k: usize) -> Result<usize> {
        self.validate("conv1d")?;
        if k == 0 {
            return Err(Error::InvalidParam {
                op: "conv1d",
                name: "kernel size",
                value: "0".into(),
                why: "a kernel needs at least one tap".into(),
            });
        }
        let span = self.dilation * (k - 1) + 1;
        let padded = l_in + 2 * self.padding;
        if padded < span {
            return Err(Error::EmptyOutput {
                op: "conv1d",
                detail: format!(
                    "the kernel spans {span} samples (K = {k}, dilation {}) but the padded \
                     input has only {padded} (L_in = {l_in}, padding {})",
                    self.dilation, self.padding
                ),
            });
        }
        Ok((padded - span) / self.stride + 1)
    }
}

/// The sizes of one convolution call, for the slice-level kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1dDims {
    /// Batch size N.
    pub n: usize,
    /// Input channels C_in.
    pub c_in: usize,
    /// Output channels C_out.
    pub c_out: usize,
    /// Input length L_in.
    pub l_in: usize,
    /// Kernel taps K.
    pub k: usize,
}

impl Conv1dDims {
    /// The full geometry; the output length comes from [`Conv1dParams::out_len`].
    ///
    /// # Panics
    /// If the parameters are invalid or nothing fits (the tensor layer checked this first).
    pub(crate) fn geom(&self, params: &Conv1dParams) -> Geom {
        let l_out = params
            .out_len(self.l_in, self.k)
            .unwrap_or_else(|e| panic!("conv1d kernel called with unchecked parameters: {e}"));
        Geom {
            n: self.n,
            c_in: self.c_in,
            c_out: self.c_out,
            l_in: self.l_in,
            l_out,
            k: self.k,
            stride: params.stride,
            dilation: params.dilation,
            padding: params.padding as isize,
        }
    }
}

/// Which implementation computes a convolution (tests and benches compare them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv1dImpl {
    /// The production choice by shape (see the module docs).
    Auto,
    /// Direct loops: the specification (`naive.rs`).
    Naive,
    /// Explicit im2col per sample + GEMM through [`crate::gemm`], col2im for the input gradient.
    Im2col,
    /// im2col fused into the micro-kernel's packed panels (`packed.rs`) for every stride; input
    /// gradient by the flipped-weight convolution for stride 1 when `C_out ≤ C_in` or N = 1,
    /// col2im otherwise. (The production path before B was read in place; kept for comparison.)
    Packed,
    /// [`Conv1dImpl::Packed`], except that where a row of `cols` is a contiguous slice of the
    /// zero-padded signal (stride 1, padding ≥ 0) the micro-kernel reads B there instead of
    /// from a packed panel (`packed.rs`, `InPlace`). The production choice for those shapes.
    InPlace,
    /// Forward straight from views of the zero-padded signal, no packing (`direct.rs`; stride
    /// 1, any `C_in·K`, though it pays off only for short reductions). Other strides and both
    /// gradients fall back to [`Conv1dImpl::Packed`].
    Direct,
}

#[cold]
#[track_caller]
fn slice_len_panic(what: &str, got: usize, want: usize, g: &Geom) -> ! {
    panic!("conv1d kernel: {what} has {got} elements, expected {want} for {g:?}")
}

#[track_caller]
fn check_len(what: &str, got: usize, want: usize, g: &Geom) {
    if got != want {
        slice_len_panic(what, got, want, g)
    }
}

impl Conv1dImpl {
    /// Resolves `Auto` for the given geometry.
    fn resolve(self, g: &Geom) -> Conv1dImpl {
        match self {
            Conv1dImpl::Auto if g.k == 1 && g.stride == 1 && g.padding == 0 => Conv1dImpl::Im2col,
            Conv1dImpl::Auto => Conv1dImpl::InPlace,
            Conv1dImpl::Direct => Conv1dImpl::Packed,
            other => other,
        }
    }

    /// Resolves `Auto` and `Direct` for a forward pass (the direct path has no gradients).
    fn resolve_forward(self, g: &Geom) -> Conv1dImpl {
        let direct_ok = g.reads_padded_views();
        match self {
            Conv1dImpl::Auto if direct_ok && g.kdim() <= direct::MAX_KDIM && !g.is_pointwise() => {
                Conv1dImpl::Direct
            }
            Conv1dImpl::Direct if direct_ok => Conv1dImpl::Direct,
            other => other.resolve(g),
        }
    }

    /// Forward on slices: overwrites `y` `[N, C_out, L_out]` with `b + w ⋆ x`.
    ///
    /// # Panics
    /// If the parameters are invalid, nothing fits, or a slice length disagrees with `dims`.
    pub fn forward<T: Real>(
        self,
        x: &[T],
        w: &[T],
        b: Option<&[T]>,
        y: &mut [T],
        dims: Conv1dDims,
        params: &Conv1dParams,
    ) {
        let g = dims.geom(params);
        check_len("x", x.len(), g.n * g.c_in * g.l_in, &g);
        check_len("w", w.len(), g.c_out * g.kdim(), &g);
        check_len("y", y.len(), g.n * g.c_out * g.l_out, &g);
        if let Some(b) = b {
            check_len("b", b.len(), g.c_out, &g);
        }
        self.forward_geom(&g, x, w, b, y);
    }

    pub(crate) fn forward_geom<T: Real>(
        self,
        g: &Geom,
        x: &[T],
        w: &[T],
        b: Option<&[T]>,
        y: &mut [T],
    ) {
        match self.resolve_forward(g) {
            Conv1dImpl::Naive => naive::forward(g, x, w, b, y),
            Conv1dImpl::Im2col => im2col::forward(g, x, w, b, y),
            Conv1dImpl::Direct => direct::forward(g, x, w, b, y),
            imp => {
                // A = [W | b]: the bias is one more column of the weight matrix, met by a row of
                // ones in every B panel.
                let kdim = g.kdim();
                let kall = kdim + usize::from(b.is_some());
                with_scratch::<T, _>(packed::panels(g.c_out) * kall * MR, |a| {
                    packed::pack_a(
                        g.c_out,
                        kall,
                        |o, p| match b {
                            Some(b) if p == kdim => b[o],
                            _ => w[o * kdim + p],
                        },
                        a,
                    );
                    let mode = packed::Mode::Overwrite { bias: b.is_some() };
                    packed::forward_core(g, x, a, y, mode, imp == Conv1dImpl::InPlace);
                })
            }
        }
    }

    /// Input gradient on slices, **accumulating** into `dx` `[N, C_in, L_in]`.
    ///
    /// # Panics
    /// If the parameters are invalid, nothing fits, or a slice length disagrees with `dims`.
    pub fn backward_input<T: Real>(
        self,
        dy: &[T],
        w: &[T],
        dx: &mut [T],
        dims: Conv1dDims,
        params: &Conv1dParams,
    ) {
        let g = dims.geom(params);
        check_len("dy", dy.len(), g.n * g.c_out * g.l_out, &g);
        check_len("w", w.len(), g.c_out * g.kdim(), &g);
        check_len("dx", dx.len(), g.n * g.c_in * g.l_in, &g);
        self.backward_input_geom(&g, dy, w, dx);
    }

    pub(crate) fn backward_input_geom<T: Real>(self, g: &Geom, dy: &[T], w: &[T], dx: &mut [T]) {
        match self.resolve(g) {
            Conv1dImpl::Naive => naive::backward_input(g, dy, w, dx),
            // The flipped conv packs C_out·K rows per tile for panels(C_in) row panels; the
            // fused col2im packs C_out rows for panels(C_in·K) panels and pays a C_in·K-row
            // epilogue. Its efficiency grows with C_out, the flipped one's with C_in; the flipped
            // one also splits rows across threads when the batch is a single sample. Reading B in
            // place removes the flipped conv's packing, which makes it the faster one as soon as
            // C_in fills a row panel (1 thread: S2 1.35 vs 1.63 ms, S3 1.55 vs 1.64, S6 9.8 vs
            // 13.0; with C_in = 1, S1 and S4, col2im stays 2–3× faster). The choice depends on
            // the shape only, never on the thread count (bit-identical results).
            Conv1dImpl::Packed | Conv1dImpl::InPlace if g.stride != 1 => {
                backward::backward_input_col2im(g, dy, w, dx)
            }
            imp @ (Conv1dImpl::Packed | Conv1dImpl::InPlace) => {
                // dx = dy ⋆ flip(w): output i reads dy[t] with t = i − j·d + p, i.e. tap
                // j' = K−1−j at position i + j'·d − (d·(K−1) − p). The padding may be negative
                // (p > d·(K−1)); the signed index function handles it.
                let k = g.k;
                let flipped = Geom {
                    n: g.n,
                    c_in: g.c_out,
                    c_out: g.c_in,
                    l_in: g.l_out,
                    l_out: g.l_in,
                    k,
                    stride: 1,
                    dilation: g.dilation,
                    padding: (g.dilation * (k - 1)) as isize - g.padding,
                };
                let in_place = imp == Conv1dImpl::InPlace && flipped.reads_padded_views();
                if g.c_out > g.c_in && g.n > 1 && !(in_place && g.c_in >= MR) {
                    return backward::backward_input_col2im(g, dy, w, dx);
                }
                let kdim = flipped.kdim();
                with_scratch::<T, _>(packed::panels(g.c_in) * kdim * MR, |a| {
                    packed::pack_a(
                        g.c_in,
                        kdim,
                        |c, p| w[((p / k) * g.c_in + c) * k + (k - 1 - p % k)],
                        a,
                    );
                    packed::forward_core(&flipped, dy, a, dx, packed::Mode::Accumulate, in_place);
                });
            }
            _ => im2col::backward_input(g, dy, w, dx),
        }
    }

    /// Weight gradient on slices, **accumulating** into `dw` `[C_out, C_in, K]`; bit-identical
    /// at any thread count.
    ///
    /// # Panics
    /// If the parameters are invalid, nothing fits, or a slice length disagrees with `dims`.
    pub fn backward_weight<T: Real>(
        self,
        x: &[T],
        dy: &[T],
        dw: &mut [T],
        dims: Conv1dDims,
        params: &Conv1dParams,
    ) {
        let g = dims.geom(params);
        check_len("x", x.len(), g.n * g.c_in * g.l_in, &g);
        check_len("dy", dy.len(), g.n * g.c_out * g.l_out, &g);
        check_len("dw", dw.len(), g.c_out * g.kdim(), &g);
        self.backward_weight_geom(&g, x, dy, dw);
    }

    pub(crate) fn backward_weight_geom<T: Real>(self, g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
        match self.resolve(g) {
            Conv1dImpl::Naive => naive::backward_weight(g, x, dy, dw),
            Conv1dImpl::Im2col => im2col::backward_weight(g, x, dy, dw),
            _ => weight::backward_weight(g, x, dy, dw),
        }
    }

    /// Bias gradient on slices, **accumulating** into `db` `[C_out]`: Σ over batch and time of
    /// `dy` `[N, C_out, L_out]`; bit-identical at any thread count.
    ///
    /// # Panics
    /// If `dy.len() != n·c_out·l_out` or `db.len() != c_out`.
    pub fn backward_bias<T: Real>(
        self,
        dy: &[T],
        db: &mut [T],
        n: usize,
        c_out: usize,
        l_out: usize,
    ) {
        assert!(
            dy.len() == n * c_out * l_out && db.len() == c_out,
            "conv1d backward_bias: dy has {} elements (want {n}·{c_out}·{l_out}), db {} (want {c_out})",
            dy.len(),
            db.len()
        );
        match self {
            Conv1dImpl::Naive => naive::backward_bias(n, c_out, l_out, dy, db),
            _ => block_reduce(n, SAMPLE_BLOCK, db, |i, partial| {
                let dy_n = &dy[i * c_out * l_out..][..c_out * l_out];
                for (p, row) in partial.iter_mut().zip(dy_n.chunks_exact(l_out)) {
                    *p += T::vec_sum(row);
                }
            }),
        }
    }
}

/// Forward kernel on slices with the production dispatch ([`Conv1dImpl::Auto`]): overwrites `y`.
///
/// # Panics
/// See [`Conv1dImpl::forward`].
pub fn conv1d_forward<T: Real>(
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
    y: &mut [T],
    dims: Conv1dDims,
    params: &Conv1dParams,
) {
    Conv1dImpl::Auto.forward(x, w, b, y, dims, params)
}

/// Input-gradient kernel on slices: accumulates into `dx`.
///
/// # Panics
/// See [`Conv1dImpl::backward_input`].
pub fn conv1d_backward_input<T: Real>(
    dy: &[T],
    w: &[T],
    dx: &mut [T],
    dims: Conv1dDims,
    params: &Conv1dParams,
) {
    Conv1dImpl::Auto.backward_input(dy, w, dx, dims, params)
}

/// Weight-gradient kernel on slices: accumulates into `dw`.
///
/// # Panics
/// See [`Conv1dImpl::backward_weight`].
pub fn conv1d_backward_weight<T: Real>(
    x: &[T],
    dy: &[T],
    dw: &mut [T],
    dims: Conv1dDims,
    params: &Conv1dParams,
) {
    Conv1dImpl::Auto.backward_weight(x, dy, dw, dims, params)
}

/// Bias-gradient kernel on slices: accumulates into `db`.
///
/// # Panics
/// See [`Conv1dImpl::backward_bias`].
pub fn conv1d_backward_bias<T: Real>(dy: &[T], db: &mut [T], n: usize, c_out: usize, l_out: usize) {
    Conv1dImpl::Auto.backward_bias(dy, db, n, c_out, l_out)
}
