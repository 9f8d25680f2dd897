//! [`Gradients`]: what a backward pass returns — the gradients of the leaves that require
//! them (by node id, and summed by parameter name), plus any intermediate gradients kept with
//! [`crate::Tape::backward_keep`]. Everything else was freed during the walk.

use std::collections::BTreeMap;
use std::sync::Arc;

use ecgrad_engine::{Real, Tensor};

use crate::backward::accumulate;
use crate::error::Result;
use crate::param::Parameters;
use crate::tape::NodeId;

/// The result of a backward pass: leaf gradients, parameter names, and any kept gradients.
#[derive(Debug)]
pub struct Gradients<T: Real> {
    pub(crate) leaves: BTreeMap<NodeId, Tensor<T>>,
    pub(crate) params: Vec<(Arc<str>, NodeId)>,
    pub(crate) kept: BTreeMap<NodeId, Tensor<T>>,
}

impl<T: Real> Gradients<T> {
    /// The gradient of a leaf, or of a node passed to `backward_keep`; `None` when it received
    /// no gradient (not on a path to the loss, or not requiring grad).
    pub fn get(&self, id: NodeId) -> Option<&Tensor<T>> {
        self.leaves.get(&id).or_else(|| self.kept.get(&id))
    }
    /// The gradient of the parameter named `name`, summed over every leaf created for it.
    ///
    /// # Errors
    /// Only on internal shape disagreement between leaves of one parameter.
    pub fn param(&self, name: &str) -> Result<Option<Tensor<T>>> {
        let mut acc = None;
        for (n, id) in &self.params {
            if &**n == name {
                accumulate(&mut acc, self.leaves[id].clone())?;
            }
        }
        Ok(acc)
    }
    /// Adds each parameter gradient into the matching `Param::grad` (PyTorch accumulates into
    /// `.grad` the same way; call `zero_grad` between steps).
    ///
    /// # Errors
    /// A shape error if a parameter's value changed shape since it was put on the tape.
    pub fn accumulate_into(&self, params: &mut dyn Parameters<T>) -> Result<()> {
        let mut result = Ok(());
        params.visit_params(&mut |p| {
            if result.is_err() {
                return;
            }
            for (n, id) in &self.params {
                if **n == *p.name {
                    if let Err(e) = p.accumulate_grad(&self.leaves[id]) {
                        result = Err(e);
                        return;
                    }
                }
            }
        });
        result
    }
    /// Number of leaf gradients held.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }
    /// True when no leaf received a gradient.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }
}
