//! Transposed 1D convolution (the decoder's learned upsampling), PyTorch's `ConvTranspose1d`.
//!
//! # What it computes
//! Every input sample scatters a weighted copy of the kernel into the output:
//! ```text
//! y[n, o, i·s + j·d − p] += x[n, c, i] · w[c, o, j]      (then y[n, o, ·] += b[o])
//! ```
//! It is exactly the input gradient of the [`conv1d`](super::conv1d) with the same stride `s`,
//! dilation `d`, padding `p` and weight, which is why it is also called a "fractionally strided"
//! convolution: the forward here *is* conv1d's `backward_input`, and the input gradient here is
//! conv1d's forward.
//!
//! # Shapes
//! `x [N, C_in, L_in]`, `w [C_in, C_out, K]` (PyTorch's layout: input channels first), `b [C_out]`,
//! `y [N, C_out, L_out]` with `L_out = (L_in − 1)·s − 2p + d·(K − 1) + output_padding + 1`.
//! `output_padding < max(s, d)` adds samples at the end that no input reaches through the
//! stride (PyTorch's rule), so that a decoder can hit an exact length.
//!
//! # Cost
//! `2·N·C_in·C_out·K·L_in` FLOPs forward (each input sample meets every tap once).
//!
//! # Gradients (all accumulate, `+=`)
//! - input:  `dx[n,c,i] += Σ_o Σ_j w[c,o,j]·dy[n,o,i·s + j·d − p]` (a conv1d of `dy` with `w`);
//! - weight: `dw[c,o,j] += Σ_n Σ_i x[n,c,i]·dy[n,o,i·s + j·d − p]` (conv1d's weight gradient with
//!   the roles of input and upstream gradient swapped);
//! - bias:   `db[o] += Σ_n Σ_t dy[n,o,t]`.
//!
//! # How the fast version differs
//! It reuses conv1d's kernels on the "mirror" geometry (conv input = this op's output): the
//! stride-1 forward is the packed flipped-kernel convolution, strided ones go through `Wᵀ·X` and
//! col2im; see `conv1d/mod.rs`. The naive twin below is written from the scatter formula above
//! with its own loops, so the tests compare two independent derivations.

use crate::error::{Error, Result};
use crate::ops::conv1d::im2col::{Geom, input_pos};
use crate::ops::conv1d::scratch::with_scratch;
use crate::ops::conv1d::{Conv1dImpl, Conv1dNeeds};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

const OP: &str = "conv_transpose1d";

/// Stride, padding (removed from each end of the full output), output padding (added at the end)
/// and dilation. `Default` is PyTorch's: 1, 0, 0, 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose1dParams {
    /// Step in the output between consecutive input samples (the upsampling factor).
    pub stride: usize,
    /// Samples cut from each end of the full scatter result.
    pub padding: usize,
    /// Extra samples at the end of the output (must be < max(stride, dilation)).
    pub output_padding: usize,
    /// Spacing between kernel taps.
    pub dilation: usize,
}

impl Default for ConvTranspose1dParams {
    fn default() -> Self {
        ConvTranspose1dParams {
            stride: 1,
            padding: 0,
            output_padding: 0,
            dilation: 1,
        }
    }
}

impl ConvTranspose1dParams {
    /// Output length `(l_in − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a zero stride, dilation or `k`, or `output_padding ≥
    /// max(stride, dilation)`; [`Error::EmptyOutput`] when the padding removes everything.
    pub fn out_len(&self, l_in: usize, k: usize) -> Result<usize> {
        for (name, value) in [
            ("stride", self.stride),
            ("dilation", self.dilation),
            ("kernel size", k),
        ] {
            if value == 0 {
                return Err(Error::InvalidParam {
                    op: OP,
                    name,
                    value: "0".into(),
                    why: "must be at least 1".into(),
                });
            }
        }
        if self.output_padding >= self.stride.max(self.dilation) {
            return Err(Error::InvalidParam {
                op: OP,
                name: "output_padding",
                value: self.output_padding.to_string(),
                why: format!(
                    "must be smaller than stride ({}) or dilation ({})",
                    self.stride, self.dilation
                ),
            });
        }
        let full =
            (l_in.max(1) - 1) * self.stride + self.dilation * (k - 1) + self.output_padding + 1;
        if full <= 2 * self.padding {
            return Err(Error::EmptyOutput {
                op: OP,
                detail: format!(
                    "the full output has {full} samples (L_in = {l_in}, K = {k}, stride {}, \
                     dilation {}, output_padding {}) and padding {} removes {} of them",
                    self.stride,
                    self.dilation,
                    self.output_padding,
                    self.padding,
                    2 * self.padding
                ),
            });
        }
        Ok(full - 2 * self.padding)
    }

    /// The conv1d geometry this op mirrors: conv input = our output, conv output = our input.
    fn mirror(
        &self,
        n: usize,
        c_in: usize,
        c_out: usize,
        l_in: usize,
        k: usize,
        l_out: usize,
    ) -> Geom {
        Geom {
            n,
            c_in: c_out,
            c_out: c_in,
            l_in: l_out,
            l_out: l_in,
            k,
            stride: self.stride,
            dilation: self.dilation,
            padding: self.padding as isize,
        }
    }
}

/// Validates `x [N, C_in, L_in]`, `w [C_in, C_out, K]`, the bias and the parameters; returns the
/// mirror conv1d geometry.
fn validate(x: Shape, w: Shape, b: Option<Shape>, params: &ConvTranspose1dParams) -> Result<Geom> {
    let (n, c_in, l_in) = x.dims3(OP, "input")?;
    let (w_c_in, c_out, k) = w.dims3(OP, "weight")?;
    for (arg, shape) in [("input", x), ("weight", w)] {
        if shape.numel() == 0 {
            return Err(Error::InvalidParam {
                op: OP,
                name: arg,
                value: shape.to_string(),
                why: "every dimension must be at least 1".into(),
            });
        }
    }
    if c_in != w_c_in {
        return Err(Error::ShapeMismatch {
            op: OP,
            detail: format!("input has {c_in} channels but weight expects {w_c_in}"),
            lhs_name: "input",
            lhs: x,
            rhs_name: "weight",
            rhs: w,
        });
    }
    if let Some(b) = b {
        if b.rank() != 1 || b.dims()[0] != c_out {
            return Err(Error::ShapeMismatch {
                op: OP,
                detail: format!("bias must be [{c_out}], one value per output channel"),
                lhs_name: "bias",
                lhs: b,
                rhs_name: "weight",
                rhs: w,
            });
        }
    }
    let l_out = params.out_len(l_in, k)?;
    Ok(params.mirror(n, c_in, c_out, l_in, k, l_out))
}

// ---- naive twin: the scatter formula, written out ------------------------------------------

/// Naive forward, accumulating the scatter into `y` (bias not included). `g` is the mirror.
fn forward_naive<T: Real>(g: &Geom, x: &[T], w: &[T], y: &mut [T]) {
    // Our input channel c is the mirror's output channel; our output channel o its input one.
    let (c_in, c_out, l_in, l_out) = (g.c_out, g.c_in, g.l_out, g.l_in);
    for n in 0..g.n {
        for c in 0..c_in {
            for i in 0..l_in {
                let xv = x[(n * c_in + c) * l_in + i];
                for o in 0..c_out {
                    for j in 0..g.k {
                        if let Some(pos) = input_pos(g, i, j) {
                            y[(n * c_out + o) * l_out + pos] += xv * w[(c * c_out + o) * g.k + j];
                        }
                    }
                }
            }
        }
    }
}

/// Naive input gradient (accumulates): `dx[n,c,i] += Σ_o Σ_j w[c,o,j]·dy[n,o,pos(i,j)]`.
fn backward_input_naive<T: Real>(g: &Geom, dy: &[T], w: &[T], dx: &mut [T]) {
    let (c_in, c_out, l_in, l_out) = (g.c_out, g.c_in, g.l_out, g.l_in);
    for n in 0..g.n {
        for c in 0..c_in {
            for i in 0..l_in {
                let mut acc = T::ZERO;
                for o in 0..c_out {
                    for j in 0..g.k {
                        if let Some(pos) = input_pos(g, i, j) {
                            acc += w[(c * c_out + o) * g.k + j] * dy[(n * c_out + o) * l_out + pos];
                        }
                    }
                }
                dx[(n * c_in + c) * l_in + i] += acc;
            }
        }
    }
}

/// Naive weight gradient (accumulates): `dw[c,o,j] += Σ_n Σ_i x[n,c,i]·dy[n,o,pos(i,j)]`.
fn backward_weight_naive<T: Real>(g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    let (c_in, c_out, l_in, l_out) = (g.c_out, g.c_in, g.l_out, g.l_in);
    for c in 0..c_in {
        for o in 0..c_out {
            for j in 0..g.k {
                let mut acc = T::ZERO;
                for n in 0..g.n {
                    for i in 0..l_in {
                        if let Some(pos) = input_pos(g, i, j) {
                            acc += x[(n * c_in + c) * l_in + i] * dy[(n * c_out + o) * l_out + pos];
                        }
                    }
                }
                dw[(c * c_out + o) * g.k + j] += acc;
            }
        }
    }
}

// ---- dispatch onto conv1d's kernels ----------------------------------------------------------

fn forward_geom<T: Real>(
    imp: Conv1dImpl,
    g: &Geom,
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
    y: &mut [T],
) {
    y.fill(T::ZERO);
    match imp {
        Conv1dImpl::Naive => forward_naive(g, x, w, y),
        _ => imp.backward_input_geom(g, x, w, y),
    }
    if let Some(b) = b {
        for (row, &bo) in y.chunks_exact_mut(g.l_in).zip(b.iter().cycle()) {
            row.iter_mut().for_each(|v| *v += bo);
        }
    }
}

fn backward_input_geom<T: Real>(imp: Conv1dImpl, g: &Geom, dy: &[T], w: &[T], dx: &mut [T]) {
    match imp {
        Conv1dImpl::Naive => backward_input_naive(g, dy, w, dx),
        _ => with_scratch::<T, _>(dx.len(), |tmp| {
            // conv1d's forward overwrites, the backward contract accumulates: add from scratch.
            imp.forward_geom(g, dy, w, None, tmp);
            dx.iter_mut().zip(tmp.iter()).for_each(|(d, &t)| *d += t);
        }),
    }
}

fn backward_weight_geom<T: Real>(imp: Conv1dImpl, g: &Geom, x: &[T], dy: &[T], dw: &mut [T]) {
    match imp {
        Conv1dImpl::Naive => backward_weight_naive(g, x, dy, dw),
        // The mirror conv's input is our dy and its upstream gradient is our x.
        _ => imp.backward_weight_geom(g, dy, x, dw),
    }
}

/// Transposed convolution with the production dispatch.
///
/// # Errors
/// [`Error::BadRank`], [`Error::ShapeMismatch`] (channels, bias), [`Error::InvalidParam`],
/// [`Error::EmptyOutput`], [`Error::Isa`], as for [`super::conv1d::conv1d`].
///
/// ```
/// use ecgrad_engine::{Shape, Tensor};
/// use ecgrad_engine::ops::conv_transpose1d::{conv_transpose1d, ConvTranspose1dParams};
/// // Upsample by 2 with the kernel [1, 1]: every sample is repeated.
/// let x = Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0f32, 2.0, 3.0]).unwrap();
/// let w = Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0f32, 1.0]).unwrap();
/// let p = ConvTranspose1dParams { stride: 2, ..Default::default() };
/// let y = conv_transpose1d(&x, &w, None, p).unwrap();
/// assert_eq!(y.data(), &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
/// ```
pub fn conv_transpose1d<T: Real>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    b: Option<&Tensor<T>>,
    params: ConvTranspose1dParams,
) -> Result<Tensor<T>> {
    conv_transpose1d_with(Conv1dImpl::Auto, x, w, b, params)
}

/// [`conv_transpose1d`] with a chosen implementation.
///
/// # Errors
/// As [`conv_transpose1d`].
pub fn conv_transpose1d_with<T: Real>(
    imp: Conv1dImpl,
    x: &Tensor<T>,
    w: &Tensor<T>,
    b: Option<&Tensor<T>>,
    params: ConvTranspose1dParams,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let g = validate(x.shape(), w.shape(), b.map(|b| b.shape()), &params)?;
    let mut y = Tensor::zeros(Shape::d3(g.n, g.c_in, g.l_in));
    forward_geom(
        imp,
        &g,
        x.data(),
        w.data(),
        b.map(|b| b.data()),
        y.data_mut(),
    );
    Ok(y)
}

/// The gradients of a transposed convolution; `None` where not requested. The same three
/// gradients as a convolution's, with `dw` shaped like this op's weight `[C_in, C_out, K]`.
pub type ConvTranspose1dGrads<T> = super::conv1d::Conv1dGrads<T>;

/// Gradients of [`conv_transpose1d`] given the upstream gradient `dy [N, C_out, L_out]`.
///
/// # Errors
/// As [`conv_transpose1d`], plus [`Error::ShapeMismatch`] if `dy` has the wrong shape.
pub fn conv_transpose1d_backward<T: Real>(
    x: &Tensor<T>,
    w: &Tensor<T>,
    dy: &Tensor<T>,
    params: ConvTranspose1dParams,
    needs: Conv1dNeeds,
) -> Result<ConvTranspose1dGrads<T>> {
    conv_transpose1d_backward_with(Conv1dImpl::Auto, x, w, dy, params, needs)
}

/// [`conv_transpose1d_backward`] with a chosen implementation.
///
/// # Errors
/// As [`conv_transpose1d_backward`].
pub fn conv_transpose1d_backward_with<T: Real>(
    imp: Conv1dImpl,
    x: &Tensor<T>,
    w: &Tensor<T>,
    dy: &Tensor<T>,
    params: ConvTranspose1dParams,
    needs: Conv1dNeeds,
) -> Result<ConvTranspose1dGrads<T>> {
    crate::simd::try_isa()?;
    let g = validate(x.shape(), w.shape(), None, &params)?;
    let want = Shape::d3(g.n, g.c_in, g.l_in);
    if dy.shape() != want {
        return Err(Error::ShapeMismatch {
            op: OP,
            detail: format!("upstream gradient must be {want} (N, C_out, L_out)"),
            lhs_name: "dy",
            lhs: dy.shape(),
            rhs_name: "input",
            rhs: x.shape(),
        });
    }
    let dx = needs.input.then(|| {
        let mut dx = Tensor::zeros(x.shape());
        backward_input_geom(imp, &g, dy.data(), w.data(), dx.data_mut());
        dx
    });
    let dw = needs.weight.then(|| {
        let mut dw = Tensor::zeros(w.shape());
        backward_weight_geom(imp, &g, x.data(), dy.data(), dw.data_mut());
        dw
    });
    let db = needs.bias.then(|| {
        let mut db = Tensor::zeros(Shape::d1(g.c_in));
        imp.backward_bias(dy.data(), db.data_mut(), g.n, g.c_in, g.l_in);
        db
    });
    Ok(ConvTranspose1dGrads { dx, dw, db })
}

#[cfg(test)]
mod tests;
