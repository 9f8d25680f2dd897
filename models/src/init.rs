//! Weight initialisers, each drawing from an [`Rng`] the caller derives with
//! `Rng::stream(seed, "init")` (or a per-layer name), so a seed fixes every weight.
//!
//! Fans follow PyTorch's `_calculate_fan_in_and_fan_out` for a weight `[out, in, k…]`:
//! fan_in = in·∏k, fan_out = out·∏k (Linear `[out, in]`: fan_in = in).
//!
//! | initialiser | distribution |
//! |---|---|
//! | [`kaiming_uniform`] | U(−b, b), b = gain·√(3 / fan), gain = √(2 / (1 + a²)) |
//! | [`kaiming_normal`] | N(0, σ²), σ = gain / √fan |
//! | [`xavier_uniform`] | U(−b, b), b = gain·√(6 / (fan_in + fan_out)) |
//! | [`xavier_normal`] | N(0, σ²), σ = gain·√(2 / (fan_in + fan_out)) |
//! | [`orthogonal`] | gain·Q, Q with orthonormal rows (or columns) from the QR of a normal matrix |
//! | [`pytorch_default`] | Linear/Conv: kaiming_uniform(a = √5) → b = 1/√fan_in; bias U(±1/√fan_in) |
//! | [`lstm_default`] | every LSTM weight and bias U(±1/√H) |
//!
//! Why a = √5 gives 1/√fan_in: gain = √(2/6) = 1/√3 and b = (1/√3)·√(3/fan_in) = 1/√fan_in.
//!
//! Values are drawn in f64 in row-major order, one draw per element, and rounded to f32. The
//! draws cannot match PyTorch's generator; the *distributions* do (tested below).
//!
//! The orthogonal initialiser does its own QR by modified Gram–Schmidt, run twice
//! ("twice is enough", Giraud et al.) in f64 so the rows come out orthonormal to ~1e-15 before
//! rounding; the signs are fixed as PyTorch does (Q·sign(diag R)), making Q Haar-distributed.

use ecgrad_autograd::engine::{Rng, Shape, Tensor};

use crate::error::{Result, invalid};

/// Which fan a Kaiming initialiser divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Preserve the variance of activations in the forward pass (PyTorch's default).
    FanIn,
    /// Preserve the variance of gradients in the backward pass.
    FanOut,
}

/// The non-linearity that follows a layer, for [`gain`] (PyTorch's `calculate_gain`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// Identity, convolutions, sigmoid: gain 1.
    Linear,
    /// Sigmoid: gain 1.
    Sigmoid,
    /// tanh: gain 5/3.
    Tanh,
    /// ReLU: gain √2.
    Relu,
    /// Leaky ReLU with negative slope a: gain √(2 / (1 + a²)).
    LeakyRelu(f64),
}

/// The recommended gain for a non-linearity (PyTorch's `torch.nn.init.calculate_gain`).
pub fn gain(nonlinearity: Nonlinearity) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f64.sqrt(),
        Nonlinearity::LeakyRelu(a) => (2.0 / (1.0 + a * a)).sqrt(),
    }
}

/// (fan_in, fan_out) of a weight `[out, in, k…]`.
///
/// # Errors
/// An invalid-parameter error for rank < 2 (a bias has no fans) or a zero dimension.
pub fn fans(shape: Shape) -> Result<(usize, usize)> {
    let d = shape.dims();
    if d.len() < 2 || d.contains(&0) {
        return Err(invalid(
            "init::fans",
            "shape",
            shape,
            "fans need a weight of rank ≥ 2 ([out, in, k…]) with no zero dimension",
        ));
    }
    let receptive: usize = d[2..].iter().product();
    Ok((d[1] * receptive, d[0] * receptive))
}

fn draw(shape: Shape, mut f: impl FnMut() -> f64) -> Tensor<f32> {
    let data = (0..shape.numel()).map(|_| f() as f32).collect();
    Tensor::from_vec(shape, data).expect("invariant: one value per element")
}

/// U(lo, hi) for every element.
///
/// # Errors
/// An invalid-parameter error unless lo < hi and both are finite.
pub fn uniform(shape: Shape, lo: f64, hi: f64, rng: &mut Rng) -> Result<Tensor<f32>> {
    if !(lo < hi && lo.is_finite() && hi.is_finite()) {
        return Err(invalid(
            "init::uniform",
            "bounds",
            format!("({lo}, {hi})"),
            "need finite lo < hi",
        ));
    }
    Ok(draw(shape, || rng.uniform_range(lo, hi)))
}

/// N(mean, std²) for every element.
///
/// # Errors
/// An invalid-parameter error unless std > 0 and both are finite.
pub fn normal(shape: Shape, mean: f64, std: f64, rng: &mut Rng) -> Result<Tensor<f32>> {
    if !(std > 0.0 && std.is_finite() && mean.is_finite()) {
        return Err(invalid(
            "init::normal",
            "std",
            std,
            "need a finite std > 0 and a finite mean",
        ));
    }
    Ok(draw(shape, || mean + std * rng.normal()))
}

fn kaiming_fan(shape: Shape, mode: FanMode) -> Result<f64> {
    let (fan_in, fan_out) = fans(shape)?;
    Ok(match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    } as f64)
}

/// Kaiming (He) uniform: U(−b, b) with b = gain·√(3 / fan), gain = √(2 / (1 + a²)) (a = 0 for
/// ReLU; PyTorch's layer default uses a = √5).
///
/// # Errors
/// As [`fans`].
pub fn kaiming_uniform(shape: Shape, a: f64, mode: FanMode, rng: &mut Rng) -> Result<Tensor<f32>> {
    let bound = gain(Nonlinearity::LeakyRelu(a)) * (3.0 / kaiming_fan(shape, mode)?).sqrt();
    uniform(shape, -bound, bound, rng)
}

/// Kaiming (He) normal: N(0, σ²) with σ = gain / √fan, gain = √(2 / (1 + a²)).
///
/// # Errors
/// As [`fans`].
pub fn kaiming_normal(shape: Shape, a: f64, mode: FanMode, rng: &mut Rng) -> Result<Tensor<f32>> {
    let std = gain(Nonlinearity::LeakyRelu(a)) / kaiming_fan(shape, mode)?.sqrt();
    normal(shape, 0.0, std, rng)
}

/// Xavier (Glorot) uniform: U(−b, b) with b = gain·√(6 / (fan_in + fan_out)).
///
/// # Errors
/// As [`fans`]; an invalid-parameter error for a gain ≤ 0.
pub fn xavier_uniform(shape: Shape, gain: f64, rng: &mut Rng) -> Result<Tensor<f32>> {
    let (fan_in, fan_out) = fans(shape)?;
    let bound = gain * (6.0 / (fan_in + fan_out) as f64).sqrt();
    uniform(shape, -bound, bound, rng)
}

/// Xavier (Glorot) normal: N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)).
///
/// # Errors
/// As [`fans`]; an invalid-parameter error for a gain ≤ 0.
pub fn xavier_normal(shape: Shape, gain: f64, rng: &mut Rng) -> Result<Tensor<f32>> {
    let (fan_in, fan_out) = fans(shape)?;
    normal(
        shape,
        0.0,
        gain * (2.0 / (fan_in + fan_out) as f64).sqrt(),
        rng,
    )
}

/// Orthogonal: the weight viewed as a matrix `[rows = out, cols = in·∏k]` is gain·Q where Q has
/// orthonormal rows (rows ≤ cols) or orthonormal columns (rows > cols), from the QR
/// factorisation of a standard-normal matrix with the signs fixed as PyTorch does.
///
/// # Errors
/// An invalid-parameter error for rank < 2, a zero dimension, or a gain that is not finite.
pub fn orthogonal(shape: Shape, gain: f64, rng: &mut Rng) -> Result<Tensor<f32>> {
    fans(shape)?;
    if !gain.is_finite() {
        return Err(invalid("init::orthogonal", "gain", gain, "must be finite"));
    }
    let rows = shape.dims()[0];
    let cols = shape.numel() / rows;
    // Work on a tall matrix A [m, n] (m ≥ n), stored column by column: orthonormalise its n
    // columns of length m. For a wide weight, A is the transpose.
    let (m, n) = if rows >= cols {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let mut a: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..m).map(|_| rng.normal()).collect())
        .collect();
    for j in 0..n {
        let (done, rest) = a.split_at_mut(j);
        let v = &mut rest[0];
        // Modified Gram–Schmidt, two passes: v ← v − (qᵢ·v) qᵢ for every earlier qᵢ.
        for _pass in 0..2 {
            for q in done.iter() {
                let r: f64 = q.iter().zip(v.iter()).map(|(x, y)| x * y).sum();
                v.iter_mut().zip(q).for_each(|(x, qi)| *x -= r * qi);
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                return Err(invalid(
                    "init::orthogonal",
                    "draw",
                    j,
                    "a normal draw was linearly dependent (probability zero)",
                ));
            }
            // Dividing by the positive norm makes R's diagonal positive: this is the sign fix
            // PyTorch applies to LAPACK's QR (Q·sign(diag R)), which makes Q Haar-distributed.
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
    let mut data = vec![0f32; shape.numel()];
    for r in 0..rows {
        for c in 0..cols {
            // Tall: weight[r, c] = A[r, c] = column c, entry r. Wide: weight = Aᵀ.
            let v = if rows >= cols { a[c][r] } else { a[r][c] };
            data[r * cols + c] = (gain * v) as f32;
        }
    }
    Ok(Tensor::from_vec(shape, data)?)
}

/// PyTorch's default initialisation of a Linear or Conv weight `[out, in, k…]` and its bias
/// `[out]`: weight kaiming_uniform(a = √5) = U(±1/√fan_in), bias U(±1/√fan_in). The weight is
/// drawn first, then the bias, from the same stream.
///
/// # Errors
/// As [`fans`].
pub fn pytorch_default(
    weight_shape: Shape,
    bias: bool,
    rng: &mut Rng,
) -> Result<(Tensor<f32>, Option<Tensor<f32>>)> {
    let w = kaiming_uniform(weight_shape, 5f64.sqrt(), FanMode::FanIn, rng)?;
    let b = if bias {
        let (fan_in, _) = fans(weight_shape)?;
        let bound = 1.0 / (fan_in as f64).sqrt();
        Some(uniform(
            Shape::d1(weight_shape.dims()[0]),
            -bound,
            bound,
            rng,
        )?)
    } else {
        None
    };
    Ok((w, b))
}

/// PyTorch's default for every LSTM weight and bias of hidden size `hidden`: U(±1/√H).
///
/// # Errors
/// An invalid-parameter error for `hidden = 0`.
pub fn lstm_default(shape: Shape, hidden: usize, rng: &mut Rng) -> Result<Tensor<f32>> {
    if hidden == 0 {
        return Err(invalid("init::lstm_default", "hidden", 0, "must be ≥ 1"));
    }
    let bound = 1.0 / (hidden as f64).sqrt();
    uniform(shape, -bound, bound, rng)
}

#[cfg(test)]
#[path = "init_tests.rs"]
mod tests;
