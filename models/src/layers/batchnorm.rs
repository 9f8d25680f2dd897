//! `BatchNorm1d` and `BatchNorm2d`: batch normalisation with PyTorch's parameters, buffers,
//! names and defaults (momentum 0.1, ε = 1e-5, affine, running statistics tracked).
//!
//! Per channel c, over the M values of that channel in the batch (M = N·L for `[N, C, L]`,
//! N for `[N, C]`, N·H·W for NCHW):
//! - training: μ = mean, σ² = biased variance of the batch; y = γ·(x − μ)/√(σ² + ε) + β; then
//!   running_mean ← (1 − m)·running_mean + m·μ and
//!   running_var ← (1 − m)·running_var + m·σ²·M/(M − 1) (the **unbiased** variance, as PyTorch),
//!   and num_batches_tracked += 1;
//! - evaluation: the same with μ = running_mean, σ² = running_var; nothing is updated.
//!
//! Names and shapes: `weight` γ `[C]` (ones), `bias` β `[C]` (zeros) — parameters;
//! `running_mean` `[C]` (zeros), `running_var` `[C]` (ones), `num_batches_tracked` `[]` (0) —
//! buffers (saved in checkpoints, never touched by optimizers). PyTorch stores the counter as
//! int64; here it is an f32 scalar, exact up to 2²⁴ steps, and checkpoints read either.
//! Cost: ≈ 7 FLOPs per element forward, ≈ 8 backward.
//! Gradients (autograd's batch_norm rule): dβ = Σ dy, dγ = Σ dy·x̂, and in training
//! dx = (γ·r/M)·(M·dy − Σdy − x̂·Σ(dy·x̂)) with r = 1/√(σ² + ε) (in evaluation dx = γ·r·dy).
//!
//! Why a lock: [`Module::forward`] takes `&self` (a model is shared by reference while a tape
//! records it), but a training-mode pass must update the running statistics. They live behind
//! a `Mutex` (uncontended, one lock per forward), so the layer stays `Send + Sync`.

use std::sync::{Mutex, MutexGuard};

use ecgrad_autograd::engine::{Shape, Tensor};
use ecgrad_autograd::ops::{BatchNormParams, RunningStats};
use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var, ops};

use crate::error::{Result, invalid};
use crate::module::Module;

/// The three buffers of a batch-norm layer.
#[derive(Clone, Debug)]
struct BnBuffers {
    running_mean: Buffer<f32>,
    running_var: Buffer<f32>,
    num_batches_tracked: Buffer<f32>,
}

/// What [`BatchNorm1d`] and [`BatchNorm2d`] share: parameters, buffers, mode.
#[derive(Debug)]
struct BatchNormCore {
    weight: Param<f32>,
    bias: Param<f32>,
    buffers: Mutex<BnBuffers>,
    params: BatchNormParams,
    training: bool,
}

impl Clone for BatchNormCore {
    fn clone(&self) -> Self {
        BatchNormCore {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            buffers: Mutex::new(self.lock().clone()),
            params: self.params,
            training: self.training,
        }
    }
}

impl BatchNormCore {
    fn new(op: &'static str, channels: usize, params: BatchNormParams) -> Result<BatchNormCore> {
        if channels == 0 {
            return Err(invalid(op, "channels", 0, "must be ≥ 1"));
        }
        if !(params.eps > 0.0 && params.eps.is_finite()) {
            return Err(invalid(op, "eps", params.eps, "must be finite and > 0"));
        }
        if !(0.0..=1.0).contains(&params.momentum) {
            return Err(invalid(
                op,
                "momentum",
                params.momentum,
                "must be in [0, 1]",
            ));
        }
        let c = Shape::d1(channels);
        Ok(BatchNormCore {
            weight: Param::new("weight", Tensor::full(c, 1.0)),
            bias: Param::new("bias", Tensor::zeros(c)),
            buffers: Mutex::new(BnBuffers {
                running_mean: Buffer {
                    name: "running_mean".into(),
                    value: Tensor::zeros(c),
                },
                running_var: Buffer {
                    name: "running_var".into(),
                    value: Tensor::full(c, 1.0),
                },
                num_batches_tracked: Buffer {
                    name: "num_batches_tracked".into(),
                    value: Tensor::scalar(0.0),
                },
            }),
            params,
            training: true,
        })
    }

    /// The buffers; a poisoned lock (a panic in another forward) still holds valid tensors,
    /// because they are only replaced whole after a successful kernel call.
    fn lock(&self) -> MutexGuard<'_, BnBuffers> {
        self.buffers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn channels(&self) -> usize {
        self.weight.value.numel()
    }

    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let gamma = tape.param(&self.weight);
        let beta = tape.param(&self.bias);
        let mut buf = self.lock();
        // Arc clones: the engine copies on write only the [C] vectors it updates.
        let mut running = RunningStats {
            mean: buf.running_mean.value.clone(),
            var: buf.running_var.value.clone(),
        };
        let y = ops::batch_norm(
            tape,
            x,
            &gamma,
            &beta,
            &mut running,
            &self.params,
            self.training,
        )?;
        if self.training {
            buf.running_mean.value = running.mean;
            buf.running_var.value = running.var;
            for v in buf.num_batches_tracked.value.data_mut() {
                *v += 1.0;
            }
        }
        Ok(y)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        f(&mut self.weight);
        f(&mut self.bias);
    }

    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        let b = self.buffers.get_mut().unwrap_or_else(|e| e.into_inner());
        f(&mut b.running_mean);
        f(&mut b.running_var);
        f(&mut b.num_batches_tracked);
    }

    fn running(&self) -> (Tensor<f32>, Tensor<f32>, f32) {
        let b = self.lock();
        (
            b.running_mean.value.clone(),
            b.running_var.value.clone(),
            b.num_batches_tracked.value.data()[0],
        )
    }

    fn describe(&self, kind: &str) -> String {
        let p = &self.params;
        let mut s = format!("{kind}({}", self.channels());
        if p.eps != 1e-5 {
            s += &format!(", eps {}", p.eps);
        }
        if p.momentum != 0.1 {
            s += &format!(", momentum {}", p.momentum);
        }
        s + ")"
    }
}

macro_rules! batch_norm_layer {
    ($(#[$doc:meta])* $name:ident, $label:literal, $ranks:pat, $expect:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            core: BatchNormCore,
        }

        impl $name {
            /// A layer over `channels` channels with PyTorch's defaults (momentum 0.1,
            /// ε = 1e-5, γ = 1, β = 0, running mean 0 and variance 1), in training mode.
            ///
            /// # Errors
            /// An invalid-parameter error for zero channels.
            pub fn new(channels: usize) -> Result<$name> {
                $name::with_params(channels, BatchNormParams::default())
            }

            /// A layer with the given ε and momentum.
            ///
            /// # Errors
            /// An invalid-parameter error for zero channels, ε ≤ 0 or momentum outside [0, 1].
            pub fn with_params(channels: usize, params: BatchNormParams) -> Result<$name> {
                Ok($name {
                    core: BatchNormCore::new($label, channels, params)?,
                })
            }

            /// Number of channels C.
            pub fn channels(&self) -> usize {
                self.core.channels()
            }

            /// γ `[C]` (`"weight"`).
            pub fn weight(&self) -> &Param<f32> {
                &self.core.weight
            }

            /// β `[C]` (`"bias"`).
            pub fn bias(&self) -> &Param<f32> {
                &self.core.bias
            }

            /// Copies of (running_mean, running_var, num_batches_tracked).
            pub fn running_stats(&self) -> (Tensor<f32>, Tensor<f32>, f32) {
                self.core.running()
            }

            /// ε and momentum.
            pub fn params(&self) -> BatchNormParams {
                self.core.params
            }

            /// True in training mode (batch statistics, running stats updated).
            pub fn is_training(&self) -> bool {
                self.core.training
            }
        }

        impl Parameters<f32> for $name {
            fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
                self.core.visit_params(f);
            }
            fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
                self.core.visit_buffers(f);
            }
        }

        impl Module for $name {
            fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
                let c = self.channels();
                let ok = matches!(x.shape().dims(), $ranks if x.shape().dims()[1] == c);
                if !ok {
                    return Err(invalid(
                        $label,
                        "input",
                        x.shape(),
                        format!("must be {} with C = {c}", $expect),
                    ));
                }
                self.core.forward(tape, x)
            }
            fn set_training(&mut self, training: bool) {
                self.core.training = training;
            }
            fn describe(&self) -> String {
                self.core.describe($label)
            }
        }
    };
}

batch_norm_layer!(
    /// Batch normalisation over `[N, C, L]` or `[N, C]` (PyTorch `nn.BatchNorm1d`).
    BatchNorm1d,
    "BatchNorm1d",
    [_, _] | [_, _, _],
    "[N, C] or [N, C, L]"
);

batch_norm_layer!(
    /// Batch normalisation over NCHW `[N, C, H, W]` (PyTorch `nn.BatchNorm2d`).
    BatchNorm2d,
    "BatchNorm2d",
    [_, _, _, _],
    "[N, C, H, W]"
);
