//! Adagrad, exactly as PyTorch's `torch.optim.Adagrad` (lr 0.01 by default, as the
//! unpunished-region experiment uses):
//!
//!   g ← ∇ + wd·θ;   lrₜ = lr / (1 + (t − 1)·lr_decay)
//!   S ← S + g²      (S starts at `initial_accumulator_value`)
//!   θ ← θ − lrₜ·g / (√S + ε)

use std::collections::HashMap;
use std::sync::Arc;

use ecgrad_engine::Real;

use super::{Optimizer, for_each_grad, non_negative, state_for};
use crate::error::Result;
use crate::param::Parameters;

/// Adagrad hyper-parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Learning-rate decay per step (default 0).
    pub lr_decay: f64,
    /// L2 weight decay (default 0).
    pub weight_decay: f64,
    /// Starting value of the squared-gradient sum (default 0).
    pub initial_accumulator_value: f64,
    /// ε (default 1e-10).
    pub eps: f64,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

/// The Adagrad optimizer.
#[derive(Debug)]
pub struct Adagrad<T: Real> {
    config: AdagradConfig,
    states: HashMap<Arc<str>, (u64, Vec<T>)>,
}

impl<T: Real> Adagrad<T> {
    /// A new optimizer.
    ///
    /// # Errors
    /// Negative or non-finite hyper-parameters.
    pub fn new(config: AdagradConfig) -> Result<Adagrad<T>> {
        for (name, v) in [
            ("lr", config.lr),
            ("lr_decay", config.lr_decay),
            ("weight_decay", config.weight_decay),
            (
                "initial_accumulator_value",
                config.initial_accumulator_value,
            ),
            ("eps", config.eps),
        ] {
            non_negative("Adagrad", name, v)?;
        }
        Ok(Adagrad {
            config,
            states: HashMap::new(),
        })
    }
}

impl<T: Real> Optimizer<T> for Adagrad<T> {
    fn step(&mut self, params: &mut dyn Parameters<T>) -> Result<()> {
        let c = &self.config;
        let (wd, eps, init) = (
            T::from_f64(c.weight_decay),
            T::from_f64(c.eps),
            T::from_f64(c.initial_accumulator_value),
        );
        let states = &mut self.states;
        for_each_grad(params, |name, theta, grad| {
            let n = theta.len();
            let (t, sum) = state_for(
                "Adagrad",
                states,
                name,
                n,
                || (0, vec![init; n]),
                |s| s.1.len(),
            )?;
            *t += 1;
            let clr = T::from_f64(c.lr / (1.0 + (*t - 1) as f64 * c.lr_decay));
            for i in 0..n {
                let g = grad[i] + wd * theta[i];
                sum[i] += g * g;
                theta[i] -= clr * g / (sum[i].sqrt() + eps);
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
