//! `Sequential`: layers applied one after another, y = fₖ(… f₂(f₁(x))), named like PyTorch's
//! `nn.Sequential` — by position (`"0"`, `"1"`, … counting parameter-free layers too, so
//! `Sequential(Linear, ReLU, Linear)` has `"0.weight"` and `"2.weight"`) or by a chosen name
//! (`"fc1"`, as with an `OrderedDict`).
//!
//! Adopting a layer prefixes its parameter names with the layer's name (see
//! [`prefix_names`]); a Sequential inside a Sequential therefore gives `"encoder.0.weight"`.

use ecgrad_autograd::{Buffer, Param, Parameters, Tape, Var};

use crate::error::{Result, invalid};
use crate::module::{Module, SummaryRow, join_path, prefix_names};

/// An ordered container of named layers (PyTorch `nn.Sequential`).
#[derive(Default)]
pub struct Sequential {
    layers: Vec<(String, Box<dyn Module>)>,
}

impl Sequential {
    /// An empty container.
    pub fn new() -> Sequential {
        Sequential { layers: Vec::new() }
    }

    /// Appends a layer named by its position (`"0"`, `"1"`, …), builder style.
    pub fn with(mut self, layer: impl Module + 'static) -> Sequential {
        self.push(Box::new(layer));
        self
    }

    /// Appends a layer named by its position.
    pub fn push(&mut self, mut layer: Box<dyn Module>) {
        let name = self.layers.len().to_string();
        // A positional name cannot collide: named layers may not be all digits.
        prefix_names(layer.as_mut(), &name);
        self.layers.push((name, layer));
    }

    /// Appends a layer under `name` (e.g. `"fc1"`), builder style.
    ///
    /// # Errors
    /// An invalid-parameter error if the name is empty, contains a dot, is all digits (reserved
    /// for positions) or is already used.
    pub fn with_named(mut self, name: &str, layer: impl Module + 'static) -> Result<Sequential> {
        self.push_named(name, Box::new(layer))?;
        Ok(self)
    }

    /// Appends a layer under `name`.
    ///
    /// # Errors
    /// As [`Sequential::with_named`].
    pub fn push_named(&mut self, name: &str, mut layer: Box<dyn Module>) -> Result<()> {
        let why = if name.is_empty() {
            Some("must not be empty")
        } else if name.contains('.') {
            Some("must not contain '.' (dots separate levels of the dotted path)")
        } else if name.bytes().all(|b| b.is_ascii_digit()) {
            Some("all-digit names are reserved for positional layers")
        } else if self.layers.iter().any(|(n, _)| n == name) {
            Some("is already used by another layer")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(invalid("Sequential::push_named", "name", name, why));
        }
        prefix_names(layer.as_mut(), name);
        self.layers.push((name.to_string(), layer));
        Ok(())
    }

    /// The layer named `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Module> {
        self.layers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.as_ref())
    }

    /// The layer named `name`, mutably (to freeze or replace part of a model).
    pub fn get_mut(&mut self, name: &str) -> Option<&mut (dyn Module + 'static)> {
        self.layers
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.as_mut())
    }

    /// The layer names in order.
    pub fn names(&self) -> Vec<&str> {
        self.layers.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True when there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Parameters<f32> for Sequential {
    fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        for (_, l) in &mut self.layers {
            l.visit_params(f);
        }
    }
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&mut Buffer<f32>)) {
        for (_, l) in &mut self.layers {
            l.visit_buffers(f);
        }
    }
}

impl Module for Sequential {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> Result<Var<f32>> {
        let mut h = x.clone();
        for (_, l) in &self.layers {
            h = l.forward(tape, &h)?;
        }
        Ok(h)
    }
    fn set_training(&mut self, training: bool) {
        for (_, l) in &mut self.layers {
            l.set_training(training);
        }
    }
    fn describe(&self) -> String {
        format!("Sequential({} layers)", self.layers.len())
    }
    fn trace(
        &self,
        tape: &mut Tape<f32>,
        x: &Var<f32>,
        path: &str,
        rows: &mut Vec<SummaryRow>,
    ) -> Result<Var<f32>> {
        let mut h = x.clone();
        for (name, l) in &self.layers {
            h = l.trace(tape, &h, &join_path(path, name), rows)?;
        }
        Ok(h)
    }
}
