//! Parameters (trainable, with gradients) and buffers (non-trainable state such as batch-norm
//! running statistics), both named with dotted PyTorch `state_dict` names
//! (`block2.conv1.weight`, `bn1.running_mean`) so that checkpoints line up with paper code.
//!
//! Buffers are a separate type so an optimizer can never touch them (it only visits
//! [`Param`]s), while checkpoints visit both.

use std::collections::HashMap;
use std::sync::Arc;

use ecgrad_engine::{Real, Tensor};

use crate::error::{Result, invalid, mismatch};

/// A trainable tensor: name, value, accumulated gradient.
#[derive(Clone, Debug)]
pub struct Param<T: Real = f32> {
    /// Dotted name, e.g. `"block2.conv1.weight"` (an `Arc` so the tape can tag leaves cheaply).
    pub name: Arc<str>,
    /// The current value.
    pub value: Tensor<T>,
    /// The accumulated gradient, `None` after `zero_grad` (PyTorch's `set_to_none=True`).
    pub grad: Option<Tensor<T>>,
    /// When false the parameter is frozen: the tape gives it no gradient.
    pub requires_grad: bool,
}

impl<T: Real> Param<T> {
    /// A trainable parameter with no gradient yet.
    pub fn new(name: impl Into<Arc<str>>, value: Tensor<T>) -> Param<T> {
        Param {
            name: name.into(),
            value,
            grad: None,
            requires_grad: true,
        }
    }
    /// `grad ← grad + g` (or `g` when there is none yet).
    ///
    /// # Errors
    /// A shape error if `g` does not have the value's shape.
    pub fn accumulate_grad(&mut self, g: &Tensor<T>) -> Result<()> {
        if g.shape() != self.value.shape() {
            return Err(mismatch(
                "Param::accumulate_grad",
                format!("gradient for {} has the wrong shape", self.name),
                "value",
                self.value.shape(),
                "grad",
                g.shape(),
            ));
        }
        match &mut self.grad {
            None => self.grad = Some(g.clone()),
            Some(acc) => {
                for (a, &b) in acc.data_mut().iter_mut().zip(g.data()) {
                    *a += b;
                }
            }
        }
        Ok(())
    }
}

/// A non-trainable named tensor (BN running mean/var, counters): saved in checkpoints, never
/// touched by optimizers.
#[derive(Clone, Debug)]
pub struct Buffer<T: Real = f32> {
    /// Dotted name, e.g. `"bn1.running_mean"`.
    pub name: Arc<str>,
    /// The value.
    pub value: Tensor<T>,
}

/// Anything that owns parameters and buffers and can show them one by one (a model, a layer,
/// a [`ParamStore`]). Optimizers, `zero_grad`, `clip_grad_norm` and checkpoints use this.
pub trait Parameters<T: Real> {
    /// Calls `f` on every parameter, in a fixed order.
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<T>));
    /// Calls `f` on every buffer, in a fixed order (none by default).
    fn visit_buffers(&mut self, _f: &mut dyn FnMut(&mut Buffer<T>)) {}
    /// Clears every parameter's gradient (sets it to `None`).
    fn zero_grad(&mut self) {
        self.visit_params(&mut |p| p.grad = None);
    }
}

/// A flat, ordered collection of parameters and buffers with unique names.
#[derive(Clone, Debug, Default)]
pub struct ParamStore<T: Real = f32> {
    params: Vec<Param<T>>,
    buffers: Vec<Buffer<T>>,
    index: HashMap<Arc<str>, usize>,
}

impl<T: Real> ParamStore<T> {
    /// An empty store.
    pub fn new() -> ParamStore<T> {
        ParamStore {
            params: Vec::new(),
            buffers: Vec::new(),
            index: HashMap::new(),
        }
    }
    /// Adds a trainable parameter.
    ///
    /// # Errors
    /// An invalid-parameter error if the name is already used by a parameter or a buffer.
    pub fn add_param(&mut self, name: &str, value: Tensor<T>) -> Result<&mut Param<T>> {
        self.check_new(name)?;
        let p = Param::new(name, value);
        self.index.insert(Arc::clone(&p.name), self.params.len());
        self.params.push(p);
        Ok(self.params.last_mut().expect("invariant: just pushed"))
    }
    /// Adds a buffer.
    ///
    /// # Errors
    /// An invalid-parameter error if the name is already used.
    pub fn add_buffer(&mut self, name: &str, value: Tensor<T>) -> Result<()> {
        self.check_new(name)?;
        self.buffers.push(Buffer {
            name: name.into(),
            value,
        });
        Ok(())
    }
    fn check_new(&self, name: &str) -> Result<()> {
        if self.index.contains_key(name) || self.buffers.iter().any(|b| &*b.name == name) {
            return Err(invalid("ParamStore", "name", name, "names must be unique"));
        }
        Ok(())
    }
    /// The parameter named `name`.
    pub fn get(&self, name: &str) -> Option<&Param<T>> {
        self.index.get(name).map(|&i| &self.params[i])
    }
    /// The parameter named `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Param<T>> {
        self.index.get(name).map(|&i| &mut self.params[i])
    }
    /// The buffer named `name`.
    pub fn buffer(&self, name: &str) -> Option<&Buffer<T>> {
        self.buffers.iter().find(|b| &*b.name == name)
    }
    /// All parameters in insertion order.
    pub fn params(&self) -> &[Param<T>] {
        &self.params
    }
    /// All buffers in insertion order.
    pub fn buffers(&self) -> &[Buffer<T>] {
        &self.buffers
    }
}

impl<T: Real> Parameters<T> for ParamStore<T> {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        self.params.iter_mut().for_each(f);
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<T>)) {
        self.buffers.iter_mut().for_each(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgrad_engine::Shape;

    #[test]
    fn store_rejects_duplicate_names_and_keeps_buffers_apart() {
        let mut s = ParamStore::<f64>::new();
        s.add_param("conv1.weight", Tensor::zeros(Shape::d1(3)))
            .unwrap();
        s.add_buffer("bn1.running_mean", Tensor::zeros(Shape::d1(2)))
            .unwrap();
        assert!(
            s.add_param("conv1.weight", Tensor::zeros(Shape::d1(1)))
                .is_err()
        );
        assert!(
            s.add_param("bn1.running_mean", Tensor::zeros(Shape::d1(1)))
                .is_err()
        );
        let mut n = 0;
        s.visit_params(&mut |_| n += 1);
        assert_eq!(n, 1, "buffers are not visited as parameters");
        assert!(s.buffer("bn1.running_mean").is_some());
    }

    #[test]
    fn grads_accumulate_and_zero_grad_clears() {
        let mut s = ParamStore::<f64>::new();
        let p = s.add_param("w", Tensor::zeros(Shape::d1(2))).unwrap();
        let g = Tensor::from_vec(Shape::d1(2), vec![1.0, 2.0]).unwrap();
        p.accumulate_grad(&g).unwrap();
        p.accumulate_grad(&g).unwrap();
        assert_eq!(
            s.get("w").unwrap().grad.as_ref().unwrap().data(),
            &[2.0, 4.0]
        );
        assert!(
            s.get_mut("w")
                .unwrap()
                .accumulate_grad(&Tensor::zeros(Shape::d1(3)))
                .is_err()
        );
        s.zero_grad();
        assert!(s.get("w").unwrap().grad.is_none());
    }
}
