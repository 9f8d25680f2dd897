//! The tape: a per-step record of every op, walked backwards to compute gradients.
//!
//! # How it works
//! Every recorded op appends one `Node` to a `Vec`: its name, the ids of its inputs, its output
//! shape, whether it depends on anything that needs a gradient, and a boxed [`Backward`] rule that
//! owns the tensors saved for the backward pass. An op can only use variables that already exist,
//! so **creation order is a topological order**: `backward` walks the vector from the end, with no
//! graph search (micrograd needs a DFS because its graph is a web of objects).
//!
//! For node i (from last to first) the walk takes its gradient slot `dy = ∂L/∂yᵢ`, calls the rule
//! with `needs[k]` = "input k depends on a leaf that requires grad", adds each returned `dxₖ` into
//! the input's slot, then drops the rule (and with it the saved tensors) and the slot. Peak memory
//! therefore falls as the walk proceeds (DESIGN.md §2.12). Leaf slots are kept and returned in
//! [`Gradients`]; [`Tape::backward_keep`] also keeps chosen intermediate slots (Grad-CAM).
//!
//! `backward` takes the tape **by value**: after it nothing of the graph survives, so a training
//! loop cannot leak a graph from one step into the next. A [`Tape::no_grad`] tape records nothing
//! at all (every variable it returns is a detached constant): evaluation uses the same forward
//! code and cannot build a graph.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use ecgrad_engine::{Real, Shape, Tensor};

use crate::backward::{Backward, accumulate, check_finite};
use crate::error::{Error, Result, invalid};
use crate::gradients::Gradients;
use crate::param::Param;

/// The index of a node on its tape. Variables that were never recorded (from a `no_grad` tape
/// or [`Var::detach`]) carry [`NodeId::NONE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(usize);

impl NodeId {
    /// The id of an unrecorded constant.
    pub const NONE: NodeId = NodeId(usize::MAX);

    /// The position on the tape (`usize::MAX` for [`NodeId::NONE`]).
    pub fn index(self) -> usize {
        self.0
    }
}

/// A value flowing through the graph: a node id plus the value tensor (an `Arc` clone, cheap).
///
/// A `Var` made by [`Tape::param`] shares its buffer with the parameter. Drop such variables
/// (end the forward/backward scope) before `Optimizer::step`: the in-place update would
/// otherwise have to copy the buffer (`Arc::make_mut`), which is correct but wastes a copy per
/// parameter per step (`autograd/tests/train_mlp.rs` checks that a well-scoped loop never copies).
#[derive(Clone, Debug)]
pub struct Var<T: Real = f32> {
    id: NodeId,
    value: Tensor<T>,
}

impl<T: Real> Var<T> {
    /// A constant that is not on any tape (no gradient ever flows into it).
    pub fn constant(value: Tensor<T>) -> Var<T> {
        Var {
            id: NodeId::NONE,
            value,
        }
    }
    /// The node id ([`NodeId::NONE`] for constants).
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The value.
    pub fn value(&self) -> &Tensor<T> {
        &self.value
    }
    /// The shape of the value.
    pub fn shape(&self) -> Shape {
        self.value.shape()
    }
    /// The same value as a constant cut off from the graph: gradients stop here (the GAN's
    /// generator output fed to the discriminator step, PyTorch's `.detach()`). No copy.
    pub fn detach(&self) -> Var<T> {
        Var::constant(self.value.clone())
    }
}

/// One recorded op (or leaf).
struct Node<T: Real> {
    op: &'static str,
    inputs: Vec<NodeId>,
    shape: Shape,
    /// True when some leaf that requires grad lies upstream (so this node needs a gradient).
    requires_grad: bool,
    /// The rule and its saved tensors; `None` for leaves and for nodes needing no gradient.
    backward: Option<Box<dyn Backward<T>>>,
    /// For parameter leaves, the dotted parameter name.
    param: Option<Arc<str>>,
}

/// A per-step tape of recorded ops. See the module docs.
pub struct Tape<T: Real = f32> {
    nodes: Vec<Node<T>>,
    recording: bool,
}

impl<T: Real> Default for Tape<T> {
    fn default() -> Self {
        Tape::new()
    }
}

impl<T: Real> Tape<T> {
    /// An empty recording tape (training).
    pub fn new() -> Tape<T> {
        Tape {
            nodes: Vec::new(),
            recording: true,
        }
    }
    /// A tape that records nothing (evaluation): every op returns a constant.
    pub fn no_grad() -> Tape<T> {
        Tape {
            nodes: Vec::new(),
            recording: false,
        }
    }
    /// Whether ops are being recorded.
    pub fn is_recording(&self) -> bool {
        self.recording
    }
    /// Number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    /// True when nothing is recorded (always, for a `no_grad` tape).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn push_leaf(
        &mut self,
        op: &'static str,
        value: Tensor<T>,
        requires_grad: bool,
        param: Option<Arc<str>>,
    ) -> Var<T> {
        if !self.recording {
            return Var::constant(value);
        }
        let id = NodeId(self.nodes.len());
        self.nodes.push(Node {
            op,
            inputs: Vec::new(),
            shape: value.shape(),
            requires_grad,
            backward: None,
            param,
        });
        Var { id, value }
    }

    /// A data input: a leaf that needs no gradient (recorded only so `dump` shows it).
    pub fn input(&mut self, value: Tensor<T>) -> Var<T> {
        self.push_leaf("input", value, false, None)
    }
    /// A leaf that may require a gradient (gradient checks, saliency maps w.r.t. the input).
    pub fn leaf(&mut self, value: Tensor<T>, requires_grad: bool) -> Var<T> {
        self.push_leaf("leaf", value, requires_grad, None)
    }
    /// A parameter leaf: its gradient is returned under the parameter's dotted name.
    pub fn param(&mut self, p: &Param<T>) -> Var<T> {
        self.push_leaf(
            "param",
            p.value.clone(),
            p.requires_grad,
            Some(Arc::clone(&p.name)),
        )
    }
    /// Like [`Var::detach`], but records a leaf so that `dump` shows where the graph was cut.
    pub fn detach(&mut self, v: &Var<T>) -> Var<T> {
        self.push_leaf("detach", v.value.clone(), false, None)
    }

    /// Whether `v` depends on a leaf that requires grad (false for constants).
    pub fn requires_grad(&self, v: &Var<T>) -> bool {
        self.nodes.get(v.id.0).is_some_and(|n| n.requires_grad)
    }

    /// Records an op: `value` is its output, `make` builds its backward rule. `make` is called
    /// only when the tape is recording and some input requires grad, so ops whose inputs are all
    /// constants save nothing.
    ///
    /// # Errors
    /// [`Error::ForeignVar`] if an input's id is beyond this tape.
    pub fn record<F>(
        &mut self,
        op: &'static str,
        inputs: &[&Var<T>],
        value: Tensor<T>,
        make: F,
    ) -> Result<Var<T>>
    where
        F: FnOnce() -> Box<dyn Backward<T>>,
    {
        for v in inputs {
            if v.id != NodeId::NONE && v.id.0 >= self.nodes.len() {
                return Err(Error::ForeignVar {
                    op,
                    node: v.id.0,
                    len: self.nodes.len(),
                });
            }
        }
        if !self.recording {
            return Ok(Var::constant(value));
        }
        let requires_grad = inputs.iter().any(|v| self.requires_grad(v));
        let id = NodeId(self.nodes.len());
        self.nodes.push(Node {
            op,
            inputs: inputs.iter().map(|v| v.id).collect(),
            shape: value.shape(),
            requires_grad,
            backward: if requires_grad { Some(make()) } else { None },
            param: None,
        });
        Ok(Var { id, value })
    }

    /// The graph as text, one node per line: id, op, output shape, inputs, and whether it needs
    /// a gradient, e.g. `%3 = mul(%1, %2) [4, 2] grad`.
    pub fn dump(&self) -> String {
        if !self.recording {
            return "(no_grad tape: nothing recorded)\n".to_string();
        }
        let mut s = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let args: Vec<String> = n
                .inputs
                .iter()
                .map(|id| {
                    if *id == NodeId::NONE {
                        "const".to_string()
                    } else {
                        format!("%{}", id.0)
                    }
                })
                .collect();
            let _ = write!(s, "%{i} = {}({}) {}", n.op, args.join(", "), n.shape);
            if let Some(name) = &n.param {
                let _ = write!(s, " \"{name}\"");
            }
            s.push_str(if n.requires_grad { " grad\n" } else { "\n" });
        }
        s
    }

    /// Backward from a one-element loss (seed ∂L/∂L = 1); consumes the tape.
    ///
    /// # Errors
    /// [`Error::Engine`] if `loss` has more than one element; [`Error::NonFinite`] if the loss
    /// or any gradient is NaN/∞ (naming the op and node); errors of the rules.
    pub fn backward(self, loss: &Var<T>) -> Result<Gradients<T>> {
        self.backward_keep(loss, &[])
    }

    /// [`Tape::backward`], also keeping the gradients of the `keep` nodes (Grad-CAM).
    ///
    /// # Errors
    /// As [`Tape::backward`].
    pub fn backward_keep(self, loss: &Var<T>, keep: &[NodeId]) -> Result<Gradients<T>> {
        if loss.value.numel() != 1 {
            return Err(invalid(
                "backward",
                "loss",
                loss.shape(),
                "the loss must have exactly one element; use backward_from for a seeded backward",
            ));
        }
        let seed = Tensor::full(loss.shape(), T::ONE);
        self.backward_from(loss, seed, keep)
    }

    /// General backward: seeds `out`'s gradient with `seed` (same shape as `out`), e.g. the
    /// random projection `r` of a gradient check, for which the result is ∇ₓ Σ r ⊙ out.
    ///
    /// # Errors
    /// As [`Tape::backward`], plus a shape error if `seed` does not match `out`.
    pub fn backward_from(
        mut self,
        out: &Var<T>,
        seed: Tensor<T>,
        keep: &[NodeId],
    ) -> Result<Gradients<T>> {
        if seed.shape() != out.shape() {
            return Err(crate::error::mismatch(
                "backward",
                "seed must have the output's shape",
                "out",
                out.shape(),
                "seed",
                seed.shape(),
            ));
        }
        let mut grads = Gradients {
            leaves: BTreeMap::new(),
            params: Vec::new(),
            kept: BTreeMap::new(),
        };
        if out.id == NodeId::NONE {
            // Nothing recorded (no_grad tape or a constant): no gradients at all.
            return Ok(grads);
        }
        let out_index = out.id.0;
        if out_index >= self.nodes.len() {
            return Err(Error::ForeignVar {
                op: "backward",
                node: out_index,
                len: self.nodes.len(),
            });
        }
        let out_node = &self.nodes[out_index];
        check_finite(out.value(), out_node.op, out_index, || {
            "output (loss)".to_string()
        })?;
        // Nodes recorded after `out` cannot influence it: drop them (and their saved state) now.
        self.nodes.truncate(out_index + 1);
        let requires: Vec<bool> = self.nodes.iter().map(|n| n.requires_grad).collect();
        let mut slots: Vec<Option<Tensor<T>>> = Vec::new();
        slots.resize_with(self.nodes.len(), || None);
        slots[out_index] = Some(seed);

        // Reverse creation order is a reverse topological order.
        while let Some(node) = self.nodes.pop() {
            let i = self.nodes.len();
            let Some(dy) = slots[i].take() else { continue };
            if keep.contains(&NodeId(i)) {
                grads.kept.insert(NodeId(i), dy.clone());
            }
            let Some(rule) = node.backward else {
                // A leaf (or a node needing no gradient, which never receives one).
                if node.requires_grad && node.inputs.is_empty() {
                    if let Some(name) = node.param {
                        grads.params.push((name, NodeId(i)));
                    }
                    grads.leaves.insert(NodeId(i), dy);
                }
                continue;
            };
            let needs: Vec<bool> = node
                .inputs
                .iter()
                .map(|id| *id != NodeId::NONE && requires[id.0])
                .collect();
            let dxs = rule.backward(&dy, &needs)?;
            if dxs.len() != node.inputs.len() {
                return Err(invalid(
                    node.op,
                    "backward",
                    format!("{} gradients", dxs.len()),
                    format!(
                        "the rule must return one entry per input ({})",
                        node.inputs.len()
                    ),
                ));
            }
            // Free the saved tensors and the upstream gradient before touching the next node.
            drop(rule);
            drop(dy);
            for (k, (id, dx)) in node.inputs.iter().zip(dxs).enumerate() {
                let Some(dx) = dx else { continue };
                if !needs[k] {
                    continue;
                }
                // Inputs were created before node i, so they are still on the (popped) tape.
                let expected = self.nodes[id.0].shape;
                if dx.shape() != expected {
                    return Err(Error::GradShape {
                        op: node.op,
                        node: i,
                        input: k,
                        got: dx.shape(),
                        expected,
                    });
                }
                check_finite(&dx, node.op, i, || format!("gradient for input {k}"))?;
                accumulate(&mut slots[id.0], dx)?;
            }
        }
        Ok(grads)
    }
}

#[cfg(test)]
#[path = "tape_tests.rs"]
mod tests;
