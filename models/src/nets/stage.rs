//! [`Stages`]: lets a network write its forward pass once and get both [`Module::forward`] and
//! [`Module::trace`] from it. Each named child is called through [`Stages::call`], which either
//! runs the child's `forward` or, when tracing, the child's `trace` with the child's dotted path
//! (so summaries and Grad-CAM see every leaf layer by its PyTorch name). Ops applied between
//! children (a residual add, a reshape) use [`Stages::tape`].

use ecgrad_autograd::{Tape, Var};

use crate::error::Result;
use crate::module::{Module, SummaryRow, join_path, prefix_names};

/// A layer built with local names (`"weight"`), then prefixed with `name` (`"conv1.weight"`).
pub(crate) fn named<M: Module>(name: &str, mut m: M) -> M {
    prefix_names(&mut m, name);
    m
}

/// A forward pass in progress: the tape, and the trace context if one was asked for.
pub(crate) struct Stages<'a> {
    tape: &'a mut Tape<f32>,
    trace: Option<(&'a str, &'a mut Vec<SummaryRow>)>,
}

impl<'a> Stages<'a> {
    /// A plain forward pass.
    pub(crate) fn forward(tape: &'a mut Tape<f32>) -> Stages<'a> {
        Stages { tape, trace: None }
    }

    /// A traced pass: rows are appended for every leaf under `path`.
    pub(crate) fn trace(
        tape: &'a mut Tape<f32>,
        path: &'a str,
        rows: &'a mut Vec<SummaryRow>,
    ) -> Stages<'a> {
        Stages {
            tape,
            trace: Some((path, rows)),
        }
    }

    /// Runs child `m`, named `name` in the network, on `x`.
    ///
    /// # Errors
    /// The child's errors.
    pub(crate) fn call(&mut self, name: &str, m: &dyn Module, x: &Var<f32>) -> Result<Var<f32>> {
        match &mut self.trace {
            None => m.forward(self.tape, x),
            Some((path, rows)) => m.trace(self.tape, x, &join_path(path, name), rows),
        }
    }

    /// Runs a sub-network whose parameters are *not* prefixed (their names already sit at this
    /// level, e.g. a shared feature extractor): its leaves are traced at this network's path.
    ///
    /// # Errors
    /// The child's errors.
    pub(crate) fn inline(&mut self, m: &dyn Module, x: &Var<f32>) -> Result<Var<f32>> {
        match &mut self.trace {
            None => m.forward(self.tape, x),
            Some((path, rows)) => m.trace(self.tape, x, path, rows),
        }
    }

    /// The tape, for ops between children.
    pub(crate) fn tape(&mut self) -> &mut Tape<f32> {
        self.tape
    }
}
