//! The [`Module`] trait — what every layer and network implements — and the tools that work on
//! any module: parameter counting, freezing a sub-tree, dotted-name prefixing, and a Keras-like
//! [`summary`].
//!
//! # Names
//! Every parameter and buffer carries its full dotted PyTorch `state_dict` name in
//! `Param::name` (`"fc1.weight"`, `"encoder.0.bias"`). A layer is built with local names
//! (`"weight"`, `"bias"`); a container that adopts a child calls [`prefix_names`] on it with the
//! child's name, so names grow from the leaves up exactly as PyTorch's `named_parameters()`
//! joins module paths with dots. Because the name lives in the parameter, the tape, the
//! gradients, the optimizers' state and the checkpoints all key on the same string.
//!
//! # Modes
//! `set_training(true)` (the default) makes dropout drop and batch norm use batch statistics;
//! `set_training(false)` is PyTorch's `model.eval()`. Evaluation additionally uses
//! [`Tape::no_grad`], so one `forward` serves both and evaluation cannot build a graph.
//!
//! # Summary
//! [`summary`] runs one forward pass on a `no_grad` tape with a zero input of the given shape.
//! Each module's [`Module::trace`] records its output (containers recurse into their children
//! instead), and the parameter count of a row is the number of elements of every
//! parameter whose name lies under the row's dotted path. Cost: one forward pass.

use std::fmt::Write as _;
use std::sync::Arc;

use ecgrad_autograd::engine::{Shape, Tensor};
use ecgrad_autograd::{Parameters, Tape, Var};

use crate::error::Result;

/// A layer or a network: a forward function plus named parameters (through the
/// [`Parameters`] supertrait, whose `visit_params`/`visit_buffers` show every parameter and
/// buffer with its dotted name). Written by hand for every layer; there are no derive macros.
pub trait Module: Parameters<f32> {
    /// The forward pass. Ops are recorded on `tape` (nothing is recorded on a
    /// [`Tape::no_grad`] tape). Layers read their parameters with `tape.param(&self.weight)`.
    ///
    /// # Errors
    /// Shape errors naming the layer's op when `x` does not fit the layer.
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>>;

    /// Switches between training (`true`) and evaluation (`false`) behaviour. Layers without
    /// mode-dependent behaviour keep the default, which does nothing; containers must forward
    /// the call to every child.
    fn set_training(&mut self, _training: bool) {}

    /// A short description for summaries, e.g. `"Linear(16 → 8)"`.
    fn describe(&self) -> String;

    /// Forward pass that also appends one [`SummaryRow`] per leaf layer to `rows`; `path` is the
    /// module's dotted path in the model (`""` for the root). The default records this module as
    /// one row; containers override it to recurse into their children.
    ///
    /// # Errors
    /// As [`Module::forward`].
    fn trace(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
        path: &str,
        rows: &mut Vec<SummaryRow>,
    ) -> Result<Var<f32>> {
        let y = self.forward(tape, x)?;
        rows.push(SummaryRow {
            path: path.to_string(),
            layer: self.describe(),
            output: y.clone(),
        });
        Ok(y)
    }
}

/// One leaf layer seen by [`Module::trace`]: where it sits, what it is, and its output. A
/// [`summary`] prints the output's shape; Grad-CAM takes the output's node id to keep its
/// gradient.
#[derive(Clone, Debug)]
pub struct SummaryRow {
    /// Dotted path of the layer (`"fc1"`, `"encoder.0"`); parameters under it are counted.
    pub path: String,
    /// The layer's [`Module::describe`].
    pub layer: String,
    /// Its output for the traced input (an `Arc` clone of the value, plus its node id).
    pub output: Var<f32>,
}

/// `"a.b"` from `("a", "b")`, and `"b"` from `("", "b")`.
pub fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// True when the dotted `name` lies under `path` (`"fc1.weight"` is under `"fc1"`, not under
/// `"fc"`; everything is under `""`).
pub fn is_under(name: &str, path: &str) -> bool {
    path.is_empty()
        || name == path
        || (name.len() > path.len()
            && name.starts_with(path)
            && name.as_bytes()[path.len()] == b'.')
}

/// Prepends `prefix.` to the name of every parameter and buffer of `m` (containers call it when
/// they adopt a child named `prefix`).
pub fn prefix_names(m: &mut dyn Parameters<f32>, prefix: &str) {
    m.visit_params(&mut |p| p.name = Arc::from(join_path(prefix, &p.name)));
    m.visit_buffers(&mut |b| b.name = Arc::from(join_path(prefix, &b.name)));
}

/// Element counts of a module's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParamCount {
    /// Elements of all parameters.
    pub total: usize,
    /// Elements of parameters with `requires_grad` (the rest are frozen).
    pub trainable: usize,
    /// Elements of buffers (running statistics; never trained, but saved).
    pub buffers: usize,
}

/// Counts the elements of every parameter (and of the trainable ones) and of every buffer —
/// PyTorch's `sum(p.numel() for p in model.parameters())`.
pub fn count_params(m: &mut dyn Parameters<f32>) -> ParamCount {
    let mut c = ParamCount::default();
    m.visit_params(&mut |p| {
        c.total += p.value.numel();
        if p.requires_grad {
            c.trainable += p.value.numel();
        }
    });
    m.visit_buffers(&mut |b| c.buffers += b.value.numel());
    c
}

/// The dotted names and shapes of every parameter, then every buffer, in visiting order
/// (PyTorch's `[(k, v.shape) for k, v in model.state_dict().items()]`, up to order).
pub fn named_shapes(m: &mut dyn Parameters<f32>) -> Vec<(String, Shape)> {
    let mut v = Vec::new();
    m.visit_params(&mut |p| v.push((p.name.to_string(), p.value.shape())));
    m.visit_buffers(&mut |b| v.push((b.name.to_string(), b.value.shape())));
    v
}

/// Sets `requires_grad` on every parameter of `m`: pass a child module (e.g.
/// `seq.get_mut("backbone")`) to freeze (`false`) or unfreeze (`true`) a sub-tree. A frozen
/// parameter gets no gradient from the tape, so optimizers leave it alone.
pub fn set_requires_grad(m: &mut dyn Parameters<f32>, requires_grad: bool) {
    m.visit_params(&mut |p| p.requires_grad = requires_grad);
}

/// Sets `requires_grad` on the parameters whose dotted name lies under `path` (see
/// [`is_under`]); returns how many parameters were changed (0 means the path matched nothing).
pub fn set_requires_grad_under(
    m: &mut dyn Parameters<f32>,
    path: &str,
    requires_grad: bool,
) -> usize {
    let mut n = 0;
    m.visit_params(&mut |p| {
        if is_under(&p.name, path) {
            p.requires_grad = requires_grad;
            n += 1;
        }
    });
    n
}

/// A Keras-like table of the model: one row per layer with its output shape and parameter
/// count, then totals. `input` is the full input shape including a batch dimension (e.g.
/// `[1, 1, 187]` for one single-lead beat); the model runs once on zeros on a `no_grad` tape, in
/// whatever mode it is in (call `set_training(false)` first if batch statistics of a batch of one
/// would be a problem).
///
/// # Errors
/// The forward pass's shape errors, when `input` does not fit the model.
pub fn summary(model: &mut dyn Module, input: Shape) -> Result<String> {
    let mut tape = Tape::no_grad();
    let x = tape.input(Tensor::zeros(input));
    let mut rows = Vec::new();
    model.trace(&mut tape, &x, "", &mut rows)?;
    let mut params: Vec<(String, usize)> = Vec::new();
    model.visit_params(&mut |p| params.push((p.name.to_string(), p.value.numel())));
    let count = count_params(model);

    let cells: Vec<[String; 3]> = rows
        .iter()
        .map(|r| {
            let n: usize = params
                .iter()
                .filter(|(name, _)| is_under(name, &r.path))
                .map(|(_, n)| n)
                .sum();
            let label = if r.path.is_empty() {
                r.layer.clone()
            } else {
                format!("{} ({})", r.path, r.layer)
            };
            [label, r.output.shape().to_string(), n.to_string()]
        })
        .collect();
    let headers = ["Layer (type)", "Output shape", "Param #"];
    let mut widths = headers.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let total_width = widths.iter().sum::<usize>() + 4;
    let mut s = String::new();
    let line = |s: &mut String, cols: [&str; 3]| {
        // Pad by characters, not bytes: descriptions contain "→".
        let pad = |c: &str, w: usize| format!("{c}{}", " ".repeat(w - c.chars().count()));
        let _ = writeln!(
            s,
            "{}  {}  {}{}",
            pad(cols[0], widths[0]),
            pad(cols[1], widths[1]),
            " ".repeat(widths[2] - cols[2].chars().count()),
            cols[2]
        );
    };
    let _ = writeln!(s, "Input shape: {input}");
    line(&mut s, headers);
    let _ = writeln!(s, "{}", "=".repeat(total_width));
    for row in &cells {
        line(&mut s, [&row[0], &row[1], &row[2]]);
    }
    let _ = writeln!(s, "{}", "=".repeat(total_width));
    let _ = writeln!(s, "Total params: {}", count.total);
    let _ = writeln!(s, "Trainable params: {}", count.trainable);
    let _ = writeln!(s, "Non-trainable params: {}", count.total - count.trainable);
    let _ = writeln!(s, "Buffer elements: {}", count.buffers);
    Ok(s)
}
