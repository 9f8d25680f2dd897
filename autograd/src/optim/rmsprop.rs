//! RMSprop, exactly as PyTorch's `torch.optim.RMSprop` (defaults lr 1e-2, α 0.99, ε 1e-8):
//!
//!   g ← ∇ + wd·θ
//!   v ← α·v + (1 − α)·g²
//!   centered: ḡ ← ḡ + (1 − α)(g − ḡ);  d = √(v − ḡ²) + ε      else d = √v + ε
//!   momentum μ > 0: b ← μ·b + g/d;  θ ← θ − lr·b               else θ ← θ − lr·g/d
//!
//! Note ε is added outside the square root (TensorFlow/Keras add it inside).

use std::collections::HashMap;
use std::sync::Arc;

use ecgrad_engine::Real;

use super::{Optimizer, for_each_grad, non_negative, state_for, unit_interval};
use crate::error::Result;
use crate::param::Parameters;

/// RMSprop hyper-parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Smoothing constant α (default 0.99).
    pub alpha: f64,
    /// ε (default 1e-8).
    pub eps: f64,
    /// L2 weight decay (default 0).
    pub weight_decay: f64,
    /// Momentum μ (default 0).
    pub momentum: f64,
    /// Normalise by the estimated variance instead of the raw second moment (default false).
    pub centered: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

/// Per-parameter state: v, ḡ (centered) and the momentum buffer.
#[derive(Debug)]
struct RmsState<T> {
    square_avg: Vec<T>,
    grad_avg: Vec<T>,
    buf: Vec<T>,
}

/// The RMSprop optimizer.
#[derive(Debug)]
pub struct RmsProp<T: Real> {
    config: RmsPropConfig,
    states: HashMap<Arc<str>, RmsState<T>>,
}

impl<T: Real> RmsProp<T> {
    /// A new optimizer.
    ///
    /// # Errors
    /// Negative lr/eps/weight decay/momentum, or α outside [0, 1).
    pub fn new(config: RmsPropConfig) -> Result<RmsProp<T>> {
        for (name, v) in [
            ("lr", config.lr),
            ("eps", config.eps),
            ("weight_decay", config.weight_decay),
            ("momentum", config.momentum),
        ] {
            non_negative("RmsProp", name, v)?;
        }
        unit_interval("RmsProp", "alpha", config.alpha)?;
        Ok(RmsProp {
            config,
            states: HashMap::new(),
        })
    }
}

impl<T: Real> Optimizer<T> for RmsProp<T> {
    fn step(&mut self, params: &mut dyn Parameters<T>) -> Result<()> {
        let c = &self.config;
        let (lr, alpha, one_minus_alpha) = (
            T::from_f64(c.lr),
            T::from_f64(c.alpha),
            T::from_f64(1.0 - c.alpha),
        );
        let (eps, wd, mu) = (
            T::from_f64(c.eps),
            T::from_f64(c.weight_decay),
            T::from_f64(c.momentum),
        );
        let states = &mut self.states;
        for_each_grad(params, |name, theta, grad| {
            let n = theta.len();
            let s = state_for(
                "RmsProp",
                states,
                name,
                n,
                || RmsState {
                    square_avg: vec![T::ZERO; n],
                    grad_avg: vec![T::ZERO; n],
                    buf: vec![T::ZERO; n],
                },
                |s| s.square_avg.len(),
            )?;
            for i in 0..n {
                let g = grad[i] + wd * theta[i];
                s.square_avg[i] = alpha * s.square_avg[i] + one_minus_alpha * g * g;
                let d = if c.centered {
                    let ga = s.grad_avg[i];
                    s.grad_avg[i] = ga + one_minus_alpha * (g - ga);
                    (s.square_avg[i] - s.grad_avg[i] * s.grad_avg[i]).sqrt() + eps
                } else {
                    s.square_avg[i].sqrt() + eps
                };
                if c.momentum > 0.0 {
                    s.buf[i] = mu * s.buf[i] + g / d;
                    theta[i] -= lr * s.buf[i];
                } else {
                    theta[i] -= lr * g / d;
                }
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
