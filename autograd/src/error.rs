//! The autograd error type: engine errors plus the failures only a tape can have (a gradient of
//! the wrong shape, a non-finite value found during backward, a variable from another tape).

use ecgrad_engine::Shape;

/// Errors returned by the tape, the recorded ops, the losses and the optimizers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A shape or parameter error from the engine (or raised here in the engine's style).
    #[error(transparent)]
    Engine(#[from] ecgrad_engine::Error),
    /// A loss or a gradient contains NaN or ±∞. Raised during `backward` so that the first bad
    /// op is named instead of NaNs spreading silently into every parameter.
    #[error(
        "{what} of {op} (node {node}) is not finite: element {index} = {value} \
         (check the learning rate, the inputs and the op's domain)"
    )]
    NonFinite {
        /// Name of the op whose output or gradient went bad.
        op: &'static str,
        /// Index of its node on the tape.
        node: usize,
        /// `"loss"`, `"upstream gradient"` or `"gradient for input k"`.
        what: String,
        /// First offending element (flat index).
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A backward rule returned a gradient whose shape differs from its input's shape (a bug in
    /// that rule; gradchecks catch it first).
    #[error(
        "backward of {op} (node {node}): gradient for input {input} has shape {got}, input has shape {expected}"
    )]
    GradShape {
        /// The op whose rule misbehaved.
        op: &'static str,
        /// Its node index.
        node: usize,
        /// Which input.
        input: usize,
        /// The shape of the returned gradient.
        got: Shape,
        /// The input's shape.
        expected: Shape,
    },
    /// A variable was used with a tape that did not create it.
    #[error(
        "{op}: variable refers to node {node} but this tape has only {len} nodes (a Var from another tape?)"
    )]
    ForeignVar {
        /// The function that received the variable.
        op: &'static str,
        /// The node id carried by the variable.
        node: usize,
        /// The number of nodes on this tape.
        len: usize,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// An [`ecgrad_engine::Error::InvalidParam`] wrapped as an autograd error (for validation code).
pub(crate) fn invalid(
    op: &'static str,
    name: &'static str,
    value: impl ToString,
    why: impl Into<String>,
) -> Error {
    Error::Engine(ecgrad_engine::Error::InvalidParam {
        op,
        name,
        value: value.to_string(),
        why: why.into(),
    })
}

/// A shape mismatch between two named arguments, in the engine's wording.
pub(crate) fn mismatch(
    op: &'static str,
    detail: impl Into<String>,
    lhs_name: &'static str,
    lhs: Shape,
    rhs_name: &'static str,
    rhs: Shape,
) -> Error {
    Error::Engine(ecgrad_engine::Error::ShapeMismatch {
        op,
        detail: detail.into(),
        lhs_name,
        lhs,
        rhs_name,
        rhs,
    })
}
