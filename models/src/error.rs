//! The models error type: autograd (and through it engine) errors, plus the failures only a
//! model can have — a checkpoint that does not match the model, or a file that cannot be read or
//! written. Every checkpoint error names the file and, where there is one, the tensor.

use std::path::PathBuf;

/// Errors returned by layers, initialisers, summaries and checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A shape, parameter or tape error from autograd or the engine.
    #[error(transparent)]
    Autograd(#[from] ecgrad_autograd::Error),
    /// Reading or writing a file failed.
    #[error("{op}: {path}: {source}")]
    Io {
        /// What we were doing (`"checkpoint::save"`, …).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A checkpoint file is malformed, or does not match the model.
    #[error("{op}: {path}: tensor \"{tensor}\": {why}")]
    Checkpoint {
        /// `"checkpoint::load"` or `"checkpoint::save"`.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The tensor's dotted name (`"fc1.weight"`), or `"<header>"` for file-level problems.
        tensor: String,
        /// What is wrong, with both shapes or dtypes where relevant.
        why: String,
    },
    /// A model-level misuse (duplicate layer names, an unknown layer, a bad hyper-parameter).
    #[error("{op}: invalid {name} = {value}: {why}")]
    InvalidParam {
        /// The function that refused.
        op: &'static str,
        /// The argument's name.
        name: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        why: String,
    },
}

impl From<ecgrad_autograd::engine::Error> for Error {
    fn from(e: ecgrad_autograd::engine::Error) -> Error {
        Error::Autograd(ecgrad_autograd::Error::Engine(e))
    }
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// An [`Error::InvalidParam`] (for validation code).
pub(crate) fn invalid(
    op: &'static str,
    name: &'static str,
    value: impl ToString,
    why: impl Into<String>,
) -> Error {
    Error::InvalidParam {
        op,
        name,
        value: value.to_string(),
        why: why.into(),
    }
}
