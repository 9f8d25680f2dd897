//! Activation layers: parameter-free wrappers of autograd's activation ops, so they can sit in a
//! [`Sequential`](crate::layers::Sequential) (PyTorch's `nn.ReLU()`, `nn.Tanh()`).
//!
//! - `Relu`: y = max(x, 0), dx = dy ⊙ \[y > 0\];
//! - `Tanh`: y = tanh(x), dx = dy ⊙ (1 − y²).
//!
//! Any shape; cost O(n). LeakyReLU and Sigmoid follow when autograd records them.

use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::Result;
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
