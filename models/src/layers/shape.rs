//! Parameter-free layers that only move data, so shape changes can sit in a
//! [`Sequential`](crate::layers::Sequential) as named, visible steps:
//!
//! - `Flatten`: `[n, d₁, …]` → `[n, d₁·…]` (PyTorch `nn.Flatten()`, start_dim 1): conv
//!   features `[n, c, l]` become the `[n, c·l]` input of a Linear head. No copy; dx = dy
//!   viewed as x's shape.
//! - `NclToNtf` / `NtfToNcl`: the explicit transpose between conv layout `[n, c, l]` and
//!   sequence layout `[n, t, f]` at the CNN → LSTM boundary (one copy each way; dx is the
//!   opposite transpose of dy). PyTorch code writes `x.permute(0, 2, 1)` here.

use ecgrad_autograd::engine::Shape;
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::module::Module;

/// `[n, d₁, …]` → `[n, ∏dᵢ]` (PyTorch `nn.Flatten()`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl Parameters<f32> for Flatten {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for Flatten {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let shape = x.shape();
        let dims = shape.dims();
        if dims.is_empty() {
            return Err(invalid(
                "Flatten",
                "input",
                x.shape(),
                "needs a batch dimension (rank ≥ 1)",
            ));
        }
        let n = dims[0];
        let rest = dims[1..].iter().product();
        Ok(ops::reshape(tape, x, Shape::d2(n, rest))?)
    }
    fn describe(&self) -> String {
        "Flatten".to_string()
    }
}

/// `[n, c, l]` → `[n, l, c]`: conv features become a sequence (time = length, features =
/// channels).
#[derive(Clone, Copy, Debug, Default)]
pub struct NclToNtf;

impl Parameters<f32> for NclToNtf {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for NclToNtf {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::ncl_to_ntf(tape, x)?)
    }
    fn describe(&self) -> String {
        "NclToNtf".to_string()
    }
}

/// `[n, t, f]` → `[n, f, t]`: a sequence back to conv layout.
#[derive(Clone, Copy, Debug, Default)]
pub struct NtfToNcl;

impl Parameters<f32> for NtfToNcl {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for NtfToNcl {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::ntf_to_ncl(tape, x)?)
    }
    fn describe(&self) -> String {
        "NtfToNcl".to_string()
    }
}
