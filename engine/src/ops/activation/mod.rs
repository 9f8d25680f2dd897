//! Activations: ReLU, leaky ReLU, sigmoid, tanh and GELU, as forward/backward kernel pairs.
//!
//! # What it computes (elementwise, any shape)
//! - ReLU:        y = max(x, 0)
//! - leaky ReLU:  y = x if x > 0, else s·x            (s = `slope`, PyTorch's `negative_slope`)
//! - sigmoid:     y = σ(x) = 1 / (1 + e⁻ˣ)
//! - tanh:        y = tanh(x)
//! - GELU (tanh approximation, PyTorch's `approximate = "tanh"`):
//!   y = ½·x·(1 + tanh u),  u = √(2/π)·(x + 0.044715·x³)
//!
//! # Cost
//! One comparison (ReLU), one multiply-select (leaky) or one exp plus a few FLOPs (σ, tanh) per
//! element; memory-bound like every elementwise op.
//!
//! # Gradients (backward kernels **accumulate**: dx += …)
//! - ReLU:    dx += dy · \[y > 0\]          from the *output* (y > 0 exactly where x > 0;
//!   at x = 0 the derivative is taken as 0, as in PyTorch)
//! - leaky:   dx += dy · (x > 0 ? 1 : s)   from the *input*: with s < 0 the sign of y no
//!   longer tells the side, and at s = 0 the output cannot either, so the input is saved
//! - sigmoid: dx += dy · y·(1 − y)         from the output: σ′ = σ(1 − σ)
//! - tanh:    dx += dy · (1 − y²)          from the output: tanh′ = 1 − tanh²
//! - GELU:    dx += dy · (½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)), t = tanh u,
//!   from the input (product rule on ½·x·(1 + t), chain rule through u(x))
//!
//! Saving the output instead of the input (autograd's choice, dfdx's `DF_USES_FX`) means the
//! backward needs no second exp.
//!
//! # How the fast version differs from the naive twins
//! The `_naive` functions are one scalar loop each, with the library `exp`/`tanh`. The fast
//! forward kernels call the [`Real`] vector primitives (`vec_relu`, `vec_sigmoid`, `vec_tanh`:
//! AVX2/NEON for f32, whose exp-based σ and tanh are vectorised approximations with the error
//! bound documented in [`crate::simd`]); all kernels cut buffers above [`crate::parallel::GRAIN`]
//! into fixed chunks for rayon. Every element is computed independently, so threads never change
//! the result.

use crate::error::{Error, Result};
use crate::ops::elementwise::{check_nonempty, check_same_shape, for_each_chunk};
use crate::real::Real;
use crate::tensor::Tensor;

#[cfg(test)]
mod tests;

// ---------------------------------------------------------------------------------------------
// Naive twins: the specification
// ---------------------------------------------------------------------------------------------

/// y = max(x, 0), one scalar loop.
pub fn relu_naive<T: Real>(x: &[T], y: &mut [T]) {
    for i in 0..x.len() {
        y[i] = if x[i] > T::ZERO { x[i] } else { T::ZERO };
    }
}

/// Accumulates dx += dy·\[y > 0\], one scalar loop.
pub fn relu_backward_naive<T: Real>(y: &[T], dy: &[T], dx: &mut [T]) {
    for i in 0..y.len() {
        if y[i] > T::ZERO {
            dx[i] += dy[i];
        }
    }
}

/// y = x if x > 0 else slope·x, one scalar loop.
pub fn leaky_relu_naive<T: Real>(slope: T, x: &[T], y: &mut [T]) {
    for i in 0..x.len() {
        y[i] = if x[i] > T::ZERO { x[i] } else { slope * x[i] };
    }
}

/// Accumulates dx += dy·(x > 0 ? 1 : slope), one scalar loop.
pub fn leaky_relu_backward_naive<T: Real>(slope: T, x: &[T], dy: &[T], dx: &mut [T]) {
    for i in 0..x.len() {
        dx[i] += if x[i] > T::ZERO { dy[i] } else { slope * dy[i] };
    }
}

/// y = 1 / (1 + e⁻ˣ), straight from the definition. (For x → −∞, e⁻ˣ overflows to +∞ and y
/// becomes exactly 0, which is the right limit, so the plain formula is safe here.)
pub fn sigmoid_naive<T: Real>(x: &[T], y: &mut [T]) {
    for i in 0..x.len() {
        y[i] = T::ONE / (T::ONE + (-x[i]).exp());
    }
}

/// Accumulates dx += dy·y·(1 − y), one scalar loop.
pub fn sigmoid_backward_naive<T: Real>(y: &[T], dy: &[T], dx: &mut [T]) {
    for i in 0..y.len() {
        dx[i] += dy[i] * y[i] * (T::ONE - y[i]);
    }
}

/// y = tanh(x) with the library tanh.
pub fn tanh_naive<T: Real>(x: &[T], y: &mut [T]) {
    for i in 0..x.len() {
        y[i] = x[i].tanh();
    }
}

/// Accumulates dx += dy·(1 − y²), one scalar loop.
pub fn tanh_backward_naive<T: Real>(y: &[T], dy: &[T], dx: &mut [T]) {
    for i in 0..y.len() {
        dx[i] += dy[i] * (T::ONE - y[i] * y[i]);
    }
}

/// √(2/π), the GELU tanh-approximation constant.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the GELU tanh approximation (Hendrycks & Gimpel).
const GELU_CUBIC: f64 = 0.044_715;

/// y = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), one scalar loop.
pub fn gelu_naive<T: Real>(x: &[T], y: &mut [T]) {
    let (c, a, half) = (
        T::from_f64(SQRT_2_OVER_PI),
        T::from_f64(GELU_CUBIC),
        T::from_f64(0.5),
    );
    for i in 0..x.len() {
        let t = (c * (x[i] + a * x[i] * x[i] * x[i])).tanh();
        y[i] = half * x[i] * (T::ONE + t);
    }
}

/// Accumulates dx += dy·GELU′(x) (formula in the module doc), one scalar loop.
pub fn gelu_backward_naive<T: Real>(x: &[T], dy: &[T], dx: &mut [T]) {
    let (c, a, half) = (
        T::from_f64(SQRT_2_OVER_PI),
        T::from_f64(GELU_CUBIC),
        T::from_f64(0.5),
    );
    let three = T::from_f64(3.0);
    for i in 0..x.len() {
        let v = x[i];
        let t = (c * (v + a * v * v * v)).tanh();
        let du = c * (T::ONE + three * a * v * v);
        dx[i] += dy[i] * (half * (T::ONE + t) + half * v * (T::ONE - t * t) * du);
    }
}

// ---------------------------------------------------------------------------------------------
// Fast kernels on slices
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn check_lens(op: &str, a: usize, b: usize, c: usize) {
    assert!(
        a == b && b == c,
        "{op}: slice lengths differ ({a}, {b}, {c})"
    );
}

/// y = max(x, 0) with `vec_relu`, chunked over threads.
///
/// # Panics
/// If the lengths differ.
pub fn relu_forward<T: Real>(x: &[T], y: &mut [T]) {
    check_lens("relu", x.len(), y.len(), y.len());
    for_each_chunk([x], y, |[x], y| T::vec_relu(x, y));
}

/// Accumulates dx += dy·\[y > 0\] from the saved output y, with `vec_relu_backward`.
///
/// # Panics
/// If the lengths differ.
pub fn relu_backward<T: Real>(y: &[T], dy: &[T], dx: &mut [T]) {
    check_lens("relu_backward", y.len(), dy.len(), dx.len());
    for_each_chunk([y, dy], dx, |[y, dy], dx| T::vec_relu_backward(y, dy, dx));
}

/// y = x if x > 0 else slope·x. A branch-free select the compiler vectorises; chunked over
/// threads.
///
/// # Panics
/// If the lengths differ.
pub fn leaky_relu_forward<T: Real>(slope: T, x: &[T], y: &mut [T]) {
    check_lens("leaky_relu", x.len(), y.len(), y.len());
    for_each_chunk([x], y, |[x], y| {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = if v > T::ZERO { v } else { slope * v };
        }
    });
}

/// Accumulates dx += dy·(x > 0 ? 1 : slope) from the saved *input* x.
///
/// # Panics
/// If the lengths differ.
pub fn leaky_relu_backward<T: Real>(slope: T, x: &[T], dy: &[T], dx: &mut [T]) {
    check_lens("leaky_relu_backward", x.len(), dy.len(), dx.len());
    for_each_chunk([x, dy], dx, |[x, dy], dx| {
        for ((d, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
            *d += if v > T::ZERO { g } else { slope * g };
        }
    });
}

/// y = σ(x) with `vec_sigmoid` (overflow-safe for large |x|), chunked over threads.
///
/// # Panics
/// If the lengths differ.
pub fn sigmoid_forward<T: Real>(x: &[T], y: &mut [T]) {
    check_lens("sigmoid", x.len(), y.len(), y.len());
    for_each_chunk([x], y, |[x], y| T::vec_sigmoid(x, y));
}

/// Accumulates dx += dy·y·(1 − y) from the saved output y.
///
/// # Panics
/// If the lengths differ.
pub fn sigmoid_backward<T: Real>(y: &[T], dy: &[T], dx: &mut [T]) {
    check_lens("sigmoid_backward", y.len(), dy.len(), dx.len());
    for_each_chunk([y, dy], dx, |[y, dy], dx| {
        for ((d, &s), &g) in dx.iter_mut().zip(y).zip(dy) {
            *d += g * s * (T::ONE - s);
        }
    });
}

/// y = tanh(x) with `vec_tanh`, chunked over threads.
///
/// # Panics
/// If the lengths differ.
pub fn tanh_forward<T: Real>(x: &[T], y: &mut [T]) {
    check_lens("tanh", x.len(), y.len(), y.len());
    for_each_chunk([x], y, |[x], y| T::vec_tanh(x, y));
}

/// Accumulates dx += dy·(1 − y²) from the saved output y.
///
/// # Panics
/// If the lengths differ.
pub fn tanh_backward<T: Real>(y: &[T], dy: &[T], dx: &mut [T]) {
    check_lens("tanh_backward", y.len(), dy.len(), dx.len());
    for_each_chunk([y, dy], dx, |[y, dy], dx| {
        for ((d, &t), &g) in dx.iter_mut().zip(y).zip(dy) {
            *d += g * (T::ONE - t * t);
        }
    });
}

/// Writes tanh(u(x)) for a tile of x into `t` (u computed in place, then `vec_tanh`).
fn gelu_tanh_tile<T: Real>(x: &[T], u: &mut [T], t: &mut [T]) {
    let (c, a) = (T::from_f64(SQRT_2_OVER_PI), T::from_f64(GELU_CUBIC));
    for (o, &v) in u.iter_mut().zip(x) {
        *o = c * (v + a * v * v * v);
    }
    T::vec_tanh(u, t);
}

/// GELU (tanh approximation): the argument u is formed for a tile of 256 elements, its tanh
/// taken with `vec_tanh` (SIMD for f32), then combined; chunked over threads.
///
/// # Panics
/// If the lengths differ.
pub fn gelu_forward<T: Real>(x: &[T], y: &mut [T]) {
    check_lens("gelu", x.len(), y.len(), y.len());
    for_each_chunk([x], y, |[x], y| {
        let (mut u, mut t) = ([T::ZERO; 256], [T::ZERO; 256]);
        for (xs, ys) in x.chunks(256).zip(y.chunks_mut(256)) {
            let n = xs.len();
            gelu_tanh_tile(xs, &mut u[..n], &mut t[..n]);
            for ((o, &v), &tv) in ys.iter_mut().zip(xs).zip(&t[..n]) {
                *o = T::from_f64(0.5) * v * (T::ONE + tv);
            }
        }
    });
}

/// Accumulates dx += dy·GELU′(x) from the saved *input* x (the derivative needs x and tanh u,
/// which the output alone does not give back).
///
/// # Panics
/// If the lengths differ.
pub fn gelu_backward<T: Real>(x: &[T], dy: &[T], dx: &mut [T]) {
    check_lens("gelu_backward", x.len(), dy.len(), dx.len());
    let (c, a, half) = (
        T::from_f64(SQRT_2_OVER_PI),
        T::from_f64(GELU_CUBIC),
        T::from_f64(0.5),
    );
    let three = T::from_f64(3.0);
    for_each_chunk([x, dy], dx, |[x, dy], dx| {
        let (mut u, mut t) = ([T::ZERO; 256], [T::ZERO; 256]);
        for ((xs, gs), ds) in x.chunks(256).zip(dy.chunks(256)).zip(dx.chunks_mut(256)) {
            let n = xs.len();
            gelu_tanh_tile(xs, &mut u[..n], &mut t[..n]);
            for (((d, &v), &g), &tv) in ds.iter_mut().zip(xs).zip(gs).zip(&t[..n]) {
                let du = c * (T::ONE + three * a * v * v);
                *d += g * (half * (T::ONE + tv) + half * v * (T::ONE - tv * tv) * du);
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Tensor layer
// ---------------------------------------------------------------------------------------------

/// An activation function, with its parameter: what autograd records and the layers name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// max(x, 0)
    Relu,
    /// x if x > 0, else `slope`·x
    LeakyRelu {
        /// Multiplier for negative inputs (PyTorch default 0.01).
        slope: f64,
    },
    /// 1 / (1 + e⁻ˣ)
    Sigmoid,
    /// tanh(x)
    Tanh,
    /// ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), PyTorch's `GELU(approximate = "tanh")`
    GeluTanh,
}

impl Activation {
    /// The op name used in error messages and tape dumps.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::GeluTanh => "gelu_tanh",
        }
    }

    /// Whether the backward needs the input x (`true`) or the output y (`false`).
    pub fn grad_uses_input(self) -> bool {
        matches!(self, Activation::LeakyRelu { .. } | Activation::GeluTanh)
    }

    fn validate(self) -> Result<()> {
        if let Activation::LeakyRelu { slope } = self
            && !slope.is_finite()
        {
            return Err(Error::InvalidParam {
                op: "leaky_relu",
                name: "slope",
                value: slope.to_string(),
                why: "must be finite".into(),
            });
        }
        Ok(())
    }
}

/// y = f(x) elementwise for the activation `act`.
///
/// # Errors
/// [`Error::EmptyOutput`] for an empty tensor; [`Error::InvalidParam`] for a non-finite leaky
/// slope; [`Error::Isa`] for a bad `ECGRAD_ISA`.
///
/// ```
/// use ecgrad_engine::{ops::activation::{activation, Activation}, Shape, Tensor};
/// let x = Tensor::from_vec(Shape::d1(3), vec![-2.0f32, 0.0, 3.0]).unwrap();
/// let y = activation(&x, Activation::LeakyRelu { slope: 0.5 }).unwrap();
/// assert_eq!(y.data(), &[-1.0, 0.0, 3.0]);
/// ```
pub fn activation<T: Real>(x: &Tensor<T>, act: Activation) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    act.validate()?;
    check_nonempty(act.name(), "x", x.shape())?;
    // Every kernel below writes every y element: skip the zero fill.
    let mut y = crate::pool::take_for_overwrite(x.numel());
    match act {
        Activation::Relu => relu_forward(x.data(), &mut y),
        Activation::LeakyRelu { slope } => leaky_relu_forward(T::from_f64(slope), x.data(), &mut y),
        Activation::Sigmoid => sigmoid_forward(x.data(), &mut y),
        Activation::Tanh => tanh_forward(x.data(), &mut y),
        Activation::GeluTanh => gelu_forward(x.data(), &mut y),
    }
    Tensor::from_vec(x.shape(), y)
}

/// The input gradient dx of `act` as a fresh tensor. `saved` is the **output** y for ReLU,
/// sigmoid and tanh, and the **input** x for leaky ReLU and GELU ([`Activation::grad_uses_input`]).
///
/// # Errors
/// [`Error::ShapeMismatch`] naming both shapes if `saved` and `dy` differ;
/// [`Error::InvalidParam`] for a non-finite leaky slope.
pub fn activation_grad<T: Real>(
    act: Activation,
    saved: &Tensor<T>,
    dy: &Tensor<T>,
) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    act.validate()?;
    let saved_name = if act.grad_uses_input() { "x" } else { "y" };
    check_same_shape(act.name(), (saved_name, saved.shape()), ("dy", dy.shape()))?;
    let mut dx = crate::pool::take_filled(dy.numel(), T::ZERO);
    let (s, g) = (saved.data(), dy.data());
    match act {
        Activation::Relu => relu_backward(s, g, &mut dx),
        Activation::LeakyRelu { slope } => leaky_relu_backward(T::from_f64(slope), s, g, &mut dx),
        Activation::Sigmoid => sigmoid_backward(s, g, &mut dx),
        Activation::Tanh => tanh_backward(s, g, &mut dx),
        Activation::GeluTanh => gelu_backward(s, g, &mut dx),
    }
    Tensor::from_vec(dy.shape(), dx)
}
