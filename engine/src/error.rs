//! The engine's error type.
//!
//! Every message names the op, the shapes involved and the offending value, so that a user who
//! passed a wrong tensor can see at once which argument was wrong and why, e.g.
//! `conv1d: input has 12 channels but weight expects 1 (input [32, 12, 3600], weight [16, 1, 7])`.

use crate::shape::Shape;

/// Errors returned by tensor-level ops. Kernels below the tensor layer never return errors: the
/// tensor layer validates everything first (DESIGN.md §2.8).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Two arguments whose shapes must agree do not.
    #[error("{op}: {detail} ({lhs_name} {lhs}, {rhs_name} {rhs})")]
    ShapeMismatch {
        /// The op that was called, e.g. `"conv1d"`.
        op: &'static str,
        /// What disagrees, in words, e.g. "input has 12 channels but weight expects 1".
        detail: String,
        /// Name of the first argument, e.g. `"input"`.
        lhs_name: &'static str,
        /// Shape of the first argument.
        lhs: Shape,
        /// Name of the second argument, e.g. `"weight"`.
        rhs_name: &'static str,
        /// Shape of the second argument.
        rhs: Shape,
    },
    /// An argument has the wrong number of dimensions.
    #[error("{op}: {arg} must have rank {expected} ({layout}), got shape {got}")]
    BadRank {
        /// The op that was called.
        op: &'static str,
        /// Which argument, e.g. `"input"`.
        arg: &'static str,
        /// The rank the op needs.
        expected: usize,
        /// The layout the op expects, e.g. `"N, C, L"`.
        layout: &'static str,
        /// The shape that was passed.
        got: Shape,
    },
    /// A scalar parameter is out of its valid range.
    #[error("{op}: invalid {name} = {value}: {why}")]
    InvalidParam {
        /// The op that was called.
        op: &'static str,
        /// Parameter name, e.g. `"stride"`.
        name: &'static str,
        /// The value passed, formatted.
        value: String,
        /// Why it is invalid.
        why: String,
    },
    /// The op would produce an empty tensor (e.g. a kernel longer than the padded signal).
    #[error("{op}: output would be empty: {detail}")]
    EmptyOutput {
        /// The op that was called.
        op: &'static str,
        /// The arithmetic that led to zero, with the numbers.
        detail: String,
    },
    /// A buffer's length does not match the element count of the shape given with it.
    #[error("{op}: data has {got} elements but shape {shape} needs {expected}")]
    DataLength {
        /// The op that was called, e.g. `"Tensor::from_vec"`.
        op: &'static str,
        /// Element count implied by the shape.
        expected: usize,
        /// Length of the buffer passed.
        got: usize,
        /// The shape passed.
        shape: Shape,
    },
    /// An instruction set was requested (e.g. through `ECGRAD_ISA`) that cannot be used here.
    #[error("instruction set: {0}")]
    Isa(String),
}

impl Error {
    /// A [`Error::ShapeMismatch`] from `(name, shape)` pairs, for ops that check several
    /// arguments against each other.
    pub fn shape_mismatch(
        op: &'static str,
        detail: String,
        lhs: (&'static str, Shape),
        rhs: (&'static str, Shape),
    ) -> Error {
        Error::ShapeMismatch {
            op,
            detail,
            lhs_name: lhs.0,
            lhs: lhs.1,
            rhs_name: rhs.0,
            rhs: rhs.1,
        }
    }
}

/// Shorthand used throughout the engine.
pub type Result<T> = std::result::Result<T, Error>;
