//! Activations: ReLU, leaky ReLU, sigmoid, tanh and GELU (tanh approximation), recorded on the
//! tape; forward and backward kernels are the engine's (`engine/src/ops/activation/`).
//!
//! Forward (elementwise, any shape, O(n)):
//! relu(x) = max(x, 0);  leaky(x) = x if x > 0 else s·x;  σ(x) = 1/(1 + e⁻ˣ);  tanh(x);
//! gelu(x) = ½·x·(1 + tanh u), u = √(2/π)·(x + 0.044715·x³).
//!
//! Gradients, and what each rule saves (the output wherever the derivative is a function of it,
//! dfdx's `DF_USES_FX` idea, so the input can be freed):
//! - relu:    dx = dy ⊙ \[y > 0\]           saves y (subgradient 0 at x = 0, as PyTorch);
//! - leaky:   dx = dy ⊙ (x > 0 ? 1 : s)     saves y when s ≥ 0 (then y > 0 ⇔ x > 0), else x;
//! - sigmoid: dx = dy ⊙ y(1 − y)            saves y;
//! - tanh:    dx = dy ⊙ (1 − y²)            saves y;
//! - gelu:    dx = dy ⊙ (½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715·x²)), t = tanh u: saves x
//!   (GELU is not monotone, so y does not determine x).

use ecgrad_engine::ops::activation::{Activation, activation as act_forward, activation_grad};
use ecgrad_engine::{Real, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of every activation: the engine's `activation_grad` applied to the saved tensor.
struct ActivationBackward<T: Real> {
    act: Activation,
    /// y or x, as chosen by [`activation`] (see the module docs).
    saved: Tensor<T>,
}

impl<T: Real> Backward<T> for ActivationBackward<T> {
    fn name(&self) -> &'static str {
        self.act.name()
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![if needs[0] {
            Some(activation_grad(self.act, &self.saved, dy)?)
        } else {
            None
        }])
    }
}

/// What the rule of `act` keeps: the output `y` where the derivative is a function of it, else
/// the input `x` (an `Arc` clone either way).
fn saved_for<T: Real>(act: Activation, x: &Tensor<T>, y: &Tensor<T>) -> Tensor<T> {
    // The engine's leaky kernel tests `saved > 0`; for s ≥ 0 the output passes that test exactly
    // where the input does (s > 0: same sign; s = 0: y = 0 wherever x ≤ 0), so y can stand in.
    let save_output = match act {
        Activation::LeakyRelu { slope } => slope >= 0.0,
        _ => !act.grad_uses_input(),
    };
    if save_output { y.clone() } else { x.clone() }
}

/// y = act(x) elementwise, recorded with the smallest saved state the derivative allows.
///
/// # Errors
/// `EmptyOutput` for an empty tensor; `InvalidParam` for a non-finite leaky slope.
pub fn activation<T: Real>(tape: &mut Tape<T>, x: &Var<T>, act: Activation) -> Result<Var<T>> {
    let y = act_forward(x.value(), act)?;
    let saved = saved_for(act, x.value(), &y);
    tape.record(act.name(), &[x], y, || {
        Box::new(ActivationBackward { act, saved })
    })
}

/// y = max(x, 0).
///
/// # Errors
/// As [`activation`].
pub fn relu<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    activation(tape, x, Activation::Relu)
}

/// y = x if x > 0, else `slope`·x (PyTorch's default slope is 0.01).
///
/// # Errors
/// As [`activation`].
pub fn leaky_relu<T: Real>(tape: &mut Tape<T>, x: &Var<T>, slope: f64) -> Result<Var<T>> {
    activation(tape, x, Activation::LeakyRelu { slope })
}

/// y = σ(x) = 1/(1 + e⁻ˣ).
///
/// # Errors
/// As [`activation`].
pub fn sigmoid<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    activation(tape, x, Activation::Sigmoid)
}

/// y = tanh(x).
///
/// # Errors
/// As [`activation`].
pub fn tanh<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    activation(tape, x, Activation::Tanh)
}

/// GELU, tanh approximation (PyTorch's `GELU(approximate = "tanh")`).
///
/// # Errors
/// As [`activation`].
pub fn gelu<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    activation(tape, x, Activation::GeluTanh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    /// Values with |x| in [0.1, 2.5) and random signs: away from the kinks at 0.
    fn away_from_zero(dims: &[usize], seed: u64) -> Tensor<f64> {
        let mut x = random_tensor(dims, 0.1, 2.5, seed);
        let signs = random_tensor(dims, -1.0, 1.0, seed + 1000);
        for (v, s) in x.data_mut().iter_mut().zip(signs.data()) {
            if *s < 0.0 {
                *v = -*v;
            }
        }
        x
    }

    const SHAPES: [&[usize]; 3] = [&[1], &[2, 3, 5], &[1, 1, 13]];

    #[test]
    fn relu_gradcheck_x() {
        for dims in SHAPES {
            let x = away_from_zero(dims, 21);
            assert_gradcheck("relu", |t, v| relu(t, &v[0]), &[x], 23);
        }
    }

    #[test]
    fn leaky_relu_gradcheck_x_every_slope_sign() {
        // s > 0 and s = 0 save the output, s < 0 the input: all three paths are checked.
        for slope in [0.01, 0.3, 0.0, -0.2, 1.5] {
            for dims in SHAPES {
                let x = away_from_zero(dims, 26);
                assert_gradcheck("leaky_relu", |t, v| leaky_relu(t, &v[0], slope), &[x], 27);
            }
        }
    }

    #[test]
    fn sigmoid_tanh_gelu_gradcheck_x() {
        for dims in SHAPES {
            let x = random_tensor(dims, -3.0, 3.0, 24);
            assert_gradcheck(
                "sigmoid",
                |t, v| sigmoid(t, &v[0]),
                std::slice::from_ref(&x),
                28,
            );
            assert_gradcheck("tanh", |t, v| tanh(t, &v[0]), std::slice::from_ref(&x), 25);
            assert_gradcheck("gelu", |t, v| gelu(t, &v[0]), &[x], 29);
        }
    }

    #[test]
    fn relu_at_zero_uses_subgradient_zero() {
        let mut t = Tape::<f64>::new();
        let x = t.leaf(
            Tensor::from_vec(ecgrad_engine::Shape::d1(3), vec![-1.0, 0.0, 2.0]).unwrap(),
            true,
        );
        let y = relu(&mut t, &x).unwrap();
        let l = crate::ops::sum(&mut t, &y).unwrap();
        let g = t.backward(&l).unwrap();
        assert_eq!(g.get(x.id()).unwrap().data(), &[0.0, 0.0, 1.0]);
    }

    #[test]
    fn leaky_relu_hand_computed_including_negative_slope() {
        // s = −0.5: y = [1, 0.5]; dy/dx = [1, −0.5] (a negative-slope y > 0 must not read as x > 0).
        let mut t = Tape::<f64>::new();
        let x = t.leaf(
            Tensor::from_vec(ecgrad_engine::Shape::d1(2), vec![1.0, -1.0]).unwrap(),
            true,
        );
        let y = leaky_relu(&mut t, &x, -0.5).unwrap();
        assert_eq!(y.value().data(), &[1.0, 0.5]);
        let l = crate::ops::sum(&mut t, &y).unwrap();
        let g = t.backward(&l).unwrap();
        assert_eq!(g.get(x.id()).unwrap().data(), &[1.0, -0.5]);
    }

    #[test]
    fn rules_save_the_output_where_the_derivative_allows() {
        let x = random_tensor(&[4], -1.0, 1.0, 30);
        for (act, keeps_output) in [
            (Activation::Relu, true),
            (Activation::Sigmoid, true),
            (Activation::Tanh, true),
            (Activation::LeakyRelu { slope: 0.01 }, true),
            (Activation::LeakyRelu { slope: 0.0 }, true),
            (Activation::LeakyRelu { slope: -0.2 }, false),
            (Activation::GeluTanh, false),
        ] {
            let y = act_forward(&x, act).unwrap();
            let saved = saved_for(act, &x, &y);
            let (want, other) = if keeps_output { (&y, &x) } else { (&x, &y) };
            assert!(saved.shares_buffer_with(want), "{act:?}");
            assert!(!saved.shares_buffer_with(other), "{act:?}");
        }
    }
}
