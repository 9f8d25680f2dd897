//! The small layers the seed-004 autoencoders are built from that have no public layer of
//! their own in this crate yet (written here while the general `Conv1d`/`BatchNorm1d`/pool
//! layers were being built in parallel; each is a thin wrapper over one autograd op):
//!
//! - [`SameConv1d`]: conv1d with Keras/TF "same" padding (⌊P/2⌋ left, ⌈P/2⌉ right), weight
//!   `[C_out, C_in, K]`, bias `[C_out]` (PyTorch names); see `layers::coordconv::conv1d_padded`.
//! - [`MaxPool`]: max pooling with Keras' "valid" (floor) or TF's "SAME" (ceil) output length;
//!   SAME pads (−∞) ⌊P/2⌋ left and ⌈P/2⌉ right with P = (⌈L/p⌉ − 1)·p + p − L; the pool op pads
//!   symmetrically, so an odd P first appends one `f32::MIN` sample on the right.
//! - [`BatchNorm`]: batch norm over channels with PyTorch's running statistics and buffer names
//!   (`running_mean`, `running_var`, `num_batches_tracked`).
//! - [`LeakyRelu`], [`Dropout`], [`Unflatten`] (`[N, C·L]` → `[N, C, L]`).
//!
//! Gradients all come from the ops' rules (gradchecked in autograd).

use std::sync::Mutex;

use ecgrad_autograd::engine::ops::norm::{BatchNormParams, RunningStats};
use ecgrad_autograd::engine::ops::pool1d::Pool1dParams;
use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var, ops};

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

/// Leaky ReLU, y = max(x, αx).
#[derive(Clone, Copy, Debug)]
pub struct LeakyRelu(pub f64);

impl Parameters<f32> for LeakyRelu {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for LeakyRelu {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        Ok(ops::leaky_relu(tape, x, self.0)?)
    }
    fn describe(&self) -> String {
        format!("LeakyReLU({})", self.0)
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

/// Dropout with its own random stream (behind a mutex, as `forward` takes `&self`).
#[derive(Debug)]
pub struct Dropout {
    /// Drop probability.
    pub p: f64,
    rng: Mutex<Rng>,
    training: bool,
}

impl Dropout {
    /// Dropout with probability `p` drawing from `rng`.
    pub fn new(p: f64, rng: Rng) -> Dropout {
        Dropout {
            p,
            rng: Mutex::new(rng),
            training: true,
        }
    }
}

impl Parameters<f32> for Dropout {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut Param<f32>)) {}
}

impl Module for Dropout {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let mut rng = self
            .rng
            .lock()
            .expect("invariant: no panic while the dropout stream is held");
        Ok(ops::dropout(tape, x, self.p, &mut rng, self.training)?)
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn describe(&self) -> String {
        format!("Dropout({})", self.p)
    }
}

/// Batch norm over the channels of `[N, C, L]` (PyTorch `BatchNorm1d(C)` defaults: ε 1e-5,
/// momentum 0.1, γ = 1, β = 0).
#[derive(Debug)]
pub struct BatchNorm {
    /// γ `[C]` (`"weight"`).
    pub weight: Param<f32>,
    /// β `[C]` (`"bias"`).
    pub bias: Param<f32>,
    /// `running_mean`, `running_var`, `num_batches_tracked` (a mutex: `forward` takes `&self`
    /// but updates them in training mode).
    stats: Mutex<[Buffer<f32>; 3]>,
    training: bool,
}

impl BatchNorm {
    /// A fresh batch norm over `c` channels.
    pub fn new(c: usize) -> BatchNorm {
        let buf = |name: &str, value: Tensor<f32>| Buffer {
            name: name.into(),
            value,
        };
        BatchNorm {
            weight: Param::new("weight", Tensor::full(Shape::d1(c), 1.0)),
            bias: Param::new("bias", Tensor::zeros(Shape::d1(c))),
            stats: Mutex::new([
                buf("running_mean", Tensor::zeros(Shape::d1(c))),
                buf("running_var", Tensor::full(Shape::d1(c), 1.0)),
                buf("num_batches_tracked", Tensor::scalar(0.0)),
            ]),
            training: true,
        }
    }
}

impl Parameters<f32> for BatchNorm {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.weight);
        f(&mut self.bias);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        let stats = self
            .stats
            .get_mut()
            .expect("invariant: no panic while batch-norm statistics are held");
        for b in stats.iter_mut() {
            f(b);
        }
    }
}

impl Module for BatchNorm {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let g = tape.param(&self.weight);
        let b = tape.param(&self.bias);
        let mut stats = self
            .stats
            .lock()
            .expect("invariant: no panic while batch-norm statistics are held");
        // Move the tensors out so the in-place update does not copy a shared buffer.
        let mut running = RunningStats {
            mean: std::mem::replace(&mut stats[0].value, Tensor::scalar(0.0)),
            var: std::mem::replace(&mut stats[1].value, Tensor::scalar(0.0)),
        };
        let y = ops::batch_norm(
            tape,
            x,
            &g,
            &b,
            &mut running,
            &BatchNormParams::default(),
            self.training,
        );
        stats[0].value = running.mean;
        stats[1].value = running.var;
        if self.training && y.is_ok() {
            stats[2].value.data_mut()[0] += 1.0;
        }
        Ok(y?)
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn describe(&self) -> String {
        format!("BatchNorm1d({})", self.weight.value.numel())
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

    #[test]
    fn batch_norm_updates_running_stats_only_in_training() {
        let mut bn = BatchNorm::new(1);
        let mut tape = Tape::no_grad();
        let x =
            tape.input(Tensor::from_vec(Shape::d3(2, 1, 2), vec![1.0, 3.0, 5.0, 7.0]).expect("x"));
        bn.forward(&mut tape, &x).expect("bn");
        let mut seen = Vec::new();
        bn.visit_buffers(&mut |b| seen.push((b.name.to_string(), b.value.data()[0])));
        // mean 4, unbiased var 20/3; momentum 0.1
        assert_eq!(seen[0].0, "running_mean");
        assert!((seen[0].1 - 0.4).abs() < 1e-6);
        assert!((seen[1].1 - (0.9 + 0.1 * 20.0 / 3.0)).abs() < 1e-5);
        assert_eq!(seen[2], ("num_batches_tracked".to_string(), 1.0));
        bn.set_training(false);
        bn.forward(&mut tape, &x).expect("bn eval");
        let mut after = Vec::new();
        bn.visit_buffers(&mut |b| after.push(b.value.data()[0]));
        assert_eq!(after[2], 1.0);
    }
}
