//! The small layers of the seed-004 autoencoders that follow Keras/TensorFlow conventions the
//! general layers of `crate::layers` do not (batch norm, dropout and LeakyReLU come from there):
//!
//! - [`SameConv1d`]: conv1d with Keras/TF "same" padding (⌊P/2⌋ left, ⌈P/2⌉ right), weight
//!   `[C_out, C_in, K]`, bias `[C_out]` (PyTorch names); see `layers::coordconv::conv1d_padded`.
//! - [`MaxPool`]: max pooling with Keras' "valid" (floor) or TF's "SAME" (ceil) output length;
//!   SAME pads (−∞) ⌊P/2⌋ left and ⌈P/2⌉ right with P = (⌈L/p⌉ − 1)·p + p − L; the pool op pads
//!   symmetrically, so an odd P first appends one `f32::MIN` sample on the right.
//! - [`Unflatten`] (`[N, C·L]` → `[N, C, L]`).
//!
//! Gradients all come from the ops' rules (gradchecked in autograd).

use ecgrad_autograd::engine::ops::pool1d::Pool1dParams;
use ecgrad_autograd::engine::{Shape, Tensor};
use ecgrad_autograd::{Param, Parameters, Tape, Var, ops};

use crate::error::Result;
use crate::layers::coordconv::{ConvPadding, conv1d_padded};
use crate::module::Module;

/// conv1d with "same" padding (stride 1).
#[derive(Clone, Debug)]
pub struct SameConv1d {
    /// w `[C_out, C_in, K]`.
    pub weight: Param<f32>,
    /// b `[C_out]`.
    pub bias: Option<Param<f32>>,
}

impl Parameters<f32> for SameConv1d {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}

impl Module for SameConv1d {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let w = tape.param(&self.weight);
        let b = self.bias.as_ref().map(|b| tape.param(b));
        conv1d_padded(tape, x, &w, b.as_ref(), 1, 1, ConvPadding::Same)
    }
    fn describe(&self) -> String {
        let d = self.weight.value.dims();
        format!("Conv1d({} → {}, k={}, same)", d[1], d[0], d[2])
    }
}

/// Output length rule of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolMode {
    /// ⌊L/p⌋ (Keras `MaxPooling1D` default, PyTorch `MaxPool1d(p)`).
    Valid,
    /// ⌈L/p⌉ (TF `max_pool1d(padding = "SAME")`).
    Same,
}

/// Max pooling with window = stride = `size`.
#[derive(Clone, Copy, Debug)]
pub struct MaxPool {
    /// Window and stride.
    pub size: usize,
    /// Length rule.
    pub mode: PoolMode,
}

impl MaxPool {
    /// Output length for input length `l`.
    pub fn out_len(&self, l: usize) -> usize {
        match self.mode {
            PoolMode::Valid => l / self.size,
            PoolMode::Same => l.div_ceil(self.size),
        }
    }
}

impl Parameters<f32> for MaxPool {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for MaxPool {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let (n, c, l) = x.shape().dims3("MaxPool", "input")?;
        let mut p = Pool1dParams::new(self.size);
        if self.mode == PoolMode::Valid {
            return Ok(ops::max_pool1d(tape, x, &p)?);
        }
        let total = (self.out_len(l) - 1) * self.size + self.size - l;
        let mut h = x.clone();
        if total % 2 == 1 {
            // One extra "−∞" sample on the right makes the rest symmetric: ⌊P/2⌋ each side.
            let pad = tape.input(Tensor::full(Shape::d3(n, c, 1), f32::MIN));
            h = ops::concat(tape, &[x, &pad], 2)?;
        }
        p = p.with_padding(total / 2);
        Ok(ops::max_pool1d(tape, &h, &p)?)
    }
    fn describe(&self) -> String {
        format!("MaxPool1d({}, {:?})", self.size, self.mode)
    }
}

/// `[N, C·L]` → `[N, C, L]` (Keras `Reshape((L, C))` in channels-first order).
#[derive(Clone, Copy, Debug)]
pub struct Unflatten {
    /// Channels.
    pub c: usize,
    /// Length.
    pub l: usize,
}

impl Parameters<f32> for Unflatten {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for Unflatten {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let n = x.shape().dims().first().copied().unwrap_or(0);
        Ok(ops::reshape(tape, x, Shape::d3(n, self.c, self.l))?)
    }
    fn describe(&self) -> String {
        format!("Unflatten({}, {})", self.c, self.l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_pool_lengths_of_the_masked_nets() {
        let mut tape = Tape::no_grad();
        for (l, p, out) in [(2500, 3, 834), (2500, 7, 358), (834, 2, 417), (358, 2, 179)] {
            let pool = MaxPool {
                size: p,
                mode: PoolMode::Same,
            };
            let x = tape.input(Tensor::zeros(Shape::d3(1, 1, l)));
            let y = pool.forward(&mut tape, &x).expect("pool");
            assert_eq!(y.shape().dims()[2], out, "{l}/{p}");
        }
        // odd P: 11 / 3 → 4 windows, P = (4 − 1)·3 + 3 − 11 = 1
        let x = tape.input(
            Tensor::from_vec(Shape::d3(1, 1, 11), (0..11).map(|v| v as f32).collect()).expect("x"),
        );
        let pool = MaxPool {
            size: 3,
            mode: PoolMode::Same,
        };
        // left 0, right 1: windows [0,1,2] [3,4,5] [6,7,8] [9,10,−∞]
        assert_eq!(
            pool.forward(&mut tape, &x).expect("pool").value().data(),
            &[2.0, 5.0, 8.0, 10.0]
        );
        // 10 / 4 → 3 windows, P = 2: [−∞, x0, x1, x2 | x3 … x6 | x7, x8, x9, −∞]
        let x = tape.input(
            Tensor::from_vec(Shape::d3(1, 1, 10), (0..10).map(|v| v as f32).collect()).expect("x"),
        );
        let pool = MaxPool {
            size: 4,
            mode: PoolMode::Same,
        };
        assert_eq!(
            pool.forward(&mut tape, &x).expect("pool").value().data(),
            &[2.0, 6.0, 9.0]
        );
    }
}
