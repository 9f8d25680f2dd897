//! Activation layers: parameter-free wrappers of autograd's activation ops, so they can sit in a
//! [`Sequential`](crate::layers::Sequential) (PyTorch's `nn.ReLU()`, `nn.Tanh()`).
//!
//! - `Relu`: y = max(x, 0), dx = dy ⊙ \[y > 0\];
//! - `Tanh`: y = tanh(x), dx = dy ⊙ (1 − y²);
//! - `LeakyRelu`: y = x if x > 0 else s·x (s = 0.01 by default), dx = dy ⊙ (x > 0 ? 1 : s);
//! - `Sigmoid`: y = σ(x) = 1/(1 + e⁻ˣ), dx = dy ⊙ y(1 − y);
//! - `Gelu`: y = ½·x·(1 + tanh u), u = √(2/π)·(x + 0.044715·x³) (PyTorch's
//!   `GELU(approximate='tanh')`), dx = dy ⊙ (½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715·x²)).
//!
//! Any shape; cost O(n), one recorded op each (engine SIMD kernels for f32).

use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::module::Module;

/// ReLU layer: y = max(x, 0) elementwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu;

impl Parameters<f32> for Relu {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for Relu {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::relu(tape, x)?)
    }
    fn describe(&self) -> String {
        "ReLU".to_string()
    }
}

/// tanh layer: y = tanh(x) elementwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tanh;

impl Parameters<f32> for Tanh {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for Tanh {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::tanh(tape, x)?)
    }
    fn describe(&self) -> String {
        "Tanh".to_string()
    }
}

/// Leaky ReLU layer: y = x if x > 0 else slope·x (PyTorch `nn.LeakyReLU`).
#[derive(Clone, Copy, Debug)]
pub struct LeakyRelu {
    slope: f64,
}

impl Default for LeakyRelu {
    /// PyTorch's default negative slope, 0.01.
    fn default() -> Self {
        LeakyRelu { slope: 0.01 }
    }
}

impl LeakyRelu {
    /// A leaky ReLU with the given negative slope.
    ///
    /// # Errors
    /// An invalid-parameter error for a non-finite slope.
    pub fn new(slope: f64) -> Result<LeakyRelu> {
        if !slope.is_finite() {
            return Err(invalid("LeakyRelu", "slope", slope, "must be finite"));
        }
        Ok(LeakyRelu { slope })
    }
    /// The negative slope.
    pub fn slope(&self) -> f64 {
        self.slope
    }
}

impl Parameters<f32> for LeakyRelu {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for LeakyRelu {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::leaky_relu(tape, x, self.slope)?)
    }
    fn describe(&self) -> String {
        format!("LeakyReLU({})", self.slope)
    }
}

/// Sigmoid layer: y = 1/(1 + e⁻ˣ) elementwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigmoid;

impl Parameters<f32> for Sigmoid {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for Sigmoid {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::sigmoid(tape, x)?)
    }
    fn describe(&self) -> String {
        "Sigmoid".to_string()
    }
}

/// GELU layer, tanh approximation (PyTorch `nn.GELU(approximate='tanh')`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Gelu;

impl Parameters<f32> for Gelu {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for Gelu {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::gelu(tape, x)?)
    }
    fn describe(&self) -> String {
        "GELU(tanh)".to_string()
    }
}
