//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, exactly as
//! PyTorch's `torch.optim.SGD`:
//!
//!   g ← ∇ + wd·θ
//!   b ← g (first step)  or  b ← μ·b + (1 − τ)·g          (μ momentum, τ dampening)
//!   g ← g + μ·b (Nesterov)  or  g ← b                    (only when μ ≠ 0)
//!   θ ← θ − lr·g
//!
//! Note the first momentum step copies g without dampening (PyTorch's behaviour).

use std::collections::HashMap;
use std::sync::Arc;

use ecgrad_engine::Real;

use super::{Optimizer, for_each_grad, non_negative, state_for};
use crate::error::{Result, invalid};
use crate::param::Parameters;

/// SGD hyper-parameters; `lr` has no default in PyTorch, the others default to 0/false.
#[derive(Clone, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum μ.
    pub momentum: f64,
    /// Dampening τ.
    pub dampening: f64,
    /// L2 weight decay added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum (needs μ > 0 and τ = 0).
    pub nesterov: bool,
}

impl SgdConfig {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f64) -> SgdConfig {
        SgdConfig {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

/// The SGD optimizer; momentum buffers are keyed by parameter name.
#[derive(Debug)]
pub struct Sgd<T: Real> {
    config: SgdConfig,
    buffers: HashMap<Arc<str>, Vec<T>>,
}

impl<T: Real> Sgd<T> {
    /// A new optimizer.
    ///
    /// # Errors
    /// Negative or non-finite hyper-parameters; Nesterov without momentum or with dampening
    /// (PyTorch raises the same).
    pub fn new(config: SgdConfig) -> Result<Sgd<T>> {
        for (name, v) in [
            ("lr", config.lr),
            ("momentum", config.momentum),
            ("dampening", config.dampening),
            ("weight_decay", config.weight_decay),
        ] {
            non_negative("Sgd", name, v)?;
        }
        if config.nesterov && (config.momentum <= 0.0 || config.dampening != 0.0) {
            return Err(invalid(
                "Sgd",
                "nesterov",
                true,
                "requires momentum > 0 and zero dampening",
            ));
        }
        Ok(Sgd {
            config,
            buffers: HashMap::new(),
        })
    }
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    fn step(&mut self, params: &mut dyn Parameters<T>) -> Result<()> {
        let c = &self.config;
        let (lr, mu, wd) = (
            T::from_f64(c.lr),
            T::from_f64(c.momentum),
            T::from_f64(c.weight_decay),
        );
        let one_minus_damp = T::from_f64(1.0 - c.dampening);
        let buffers = &mut self.buffers;
        for_each_grad(params, |name, theta, grad| {
            // PyTorch creates the momentum buffer lazily, as a copy of the first gradient.
            let first = !buffers.contains_key(name);
            let mut buf = if c.momentum != 0.0 {
                Some(state_for(
                    "Sgd",
                    buffers,
                    name,
                    theta.len(),
                    || vec![T::ZERO; theta.len()],
                    Vec::len,
                )?)
            } else {
                None
            };
            for i in 0..theta.len() {
                let mut g = grad[i];
                if c.weight_decay != 0.0 {
                    g += wd * theta[i];
                }
                if let Some(b) = buf.as_deref_mut() {
                    b[i] = if first {
                        g
                    } else {
                        mu * b[i] + one_minus_damp * g
                    };
                    g = if c.nesterov { g + mu * b[i] } else { b[i] };
                }
                theta[i] -= lr * g;
            }
            Ok(())
        })
    }
    fn lr(&self) -> f64 {
        self.config.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}
