//! Adadelta, exactly as PyTorch's `torch.optim.Adadelta` (defaults lr 1.0, ρ 0.9, ε 1e-6; the
//! seed-004 autoencoders use lr 0.1, ρ 0.01):
//!
//!   g ← ∇ + wd·θ
//!   E\[g²\] ← ρ·E\[g²\] + (1 − ρ)·g²
//!   Δ = √(E\[Δ²\] + ε) / √(E\[g²\] + ε) · g
//!   E\[Δ²\] ← ρ·E\[Δ²\] + (1 − ρ)·Δ²
//!   θ ← θ − lr·Δ

use std::collections::HashMap;
use std::sync::Arc;

use ecgrad_engine::Real;

use super::{Optimizer, for_each_grad, non_negative, state_for};
use crate::error::{Result, invalid};
use crate::param::Parameters;

/// Adadelta hyper-parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct AdadeltaConfig {
    /// Learning rate (default 1.0).
    pub lr: f64,
    /// Decay ρ of the running averages (default 0.9).
    pub rho: f64,
    /// ε (default 1e-6).
    pub eps: f64,
    /// L2 weight decay (default 0).
    pub weight_decay: f64,
}

impl Default for AdadeltaConfig {
    fn default() -> Self {
        AdadeltaConfig {
            lr: 1.0,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: 0.0,
        }
    }
}

/// Per-parameter running averages E[g²] and E[Δ²].
#[derive(Debug)]
struct AdadeltaState<T> {
    square_avg: Vec<T>,
    acc_delta: Vec<T>,
}

/// The Adadelta optimizer.
#[derive(Debug)]
pub struct Adadelta<T: Real> {
    config: AdadeltaConfig,
    states: HashMap<Arc<str>, AdadeltaState<T>>,
}

impl<T: Real> Adadelta<T> {
    /// A new optimizer.
    ///
    /// # Errors
    /// Negative lr/eps/weight decay, or ρ outside [0, 1] (PyTorch's range).
    pub fn new(config: AdadeltaConfig) -> Result<Adadelta<T>> {
        non_negative("Adadelta", "lr", config.lr)?;
        non_negative("Adadelta", "eps", config.eps)?;
        non_negative("Adadelta", "weight_decay", config.weight_decay)?;
        if !(0.0..=1.0).contains(&config.rho) {
            return Err(invalid("Adadelta", "rho", config.rho, "must be in [0, 1]"));
        }
        Ok(Adadelta {
            config,
            states: HashMap::new(),
        })
    }
}

impl<T: Real> Optimizer<T> for Adadelta<T> {
    fn step(&mut self, params: &mut dyn Parameters<T>) -> Result<()> {
        let c = &self.config;
        let (lr, rho, one_minus_rho) = (
            T::from_f64(c.lr),
            T::from_f64(c.rho),
            T::from_f64(1.0 - c.rho),
        );
        let (eps, wd) = (T::from_f64(c.eps), T::from_f64(c.weight_decay));
        let states = &mut self.states;
        for_each_grad(params, |name, theta, grad| {
            let n = theta.len();
            let s = state_for(
                "Adadelta",
                states,
                name,
                n,
                || AdadeltaState {
                    square_avg: vec![T::ZERO; n],
                    acc_delta: vec![T::ZERO; n],
                },
                |s| s.square_avg.len(),
            )?;
            for i in 0..n {
                let g = grad[i] + wd * theta[i];
                s.square_avg[i] = rho * s.square_avg[i] + one_minus_rho * g * g;
                let delta = (s.acc_delta[i] + eps).sqrt() / (s.square_avg[i] + eps).sqrt() * g;
                s.acc_delta[i] = rho * s.acc_delta[i] + one_minus_rho * delta * delta;
                theta[i] -= lr * delta;
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
