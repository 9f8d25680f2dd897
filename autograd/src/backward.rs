//! The [`Backward`] trait: one reverse-mode rule per op, plus the small helpers rules share.
//!
//! A rule receives `dy = ∂L/∂y` for its output `y` and returns `∂L/∂xᵢ = (∂y/∂xᵢ)ᵀ·dy` for each
//! input `xᵢ` (the vector–Jacobian product), or `None` where `needs[i]` is false, so gradients
//! nothing asked for are never computed. The struct implementing the trait holds exactly the
//! tensors the rule needs (saved at forward time, as `Arc` clones, never copies) and is dropped
//! by the tape right after the rule has run.

use ecgrad_engine::{Real, Tensor};

use crate::error::{Error, Result};

/// A reverse-mode rule for one recorded op. `Send`, so a tape can move between threads (saved
/// state is tensors, which are `Arc`s).
pub trait Backward<T: Real>: Send {
    /// The op name, shown by `Tape::dump` and in error messages (e.g. `"mul"`).
    fn name(&self) -> &'static str;

    /// Vector–Jacobian product: given `dy` (shape of the op's output), returns one entry per
    /// input, `Some(dx)` with the input's shape where `needs[i]`, else `None`.
    ///
    /// # Errors
    /// Whatever the engine kernels it calls return (shape errors cannot happen for a correct
    /// rule, since the forward pass validated the shapes).
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>>;
}

/// `acc ← acc + g`, moving `g` in when the slot is still empty (no copy for the first
/// contribution, which is the common case: most nodes feed exactly one consumer).
///
/// # Errors
/// [`Error::Engine`] (shape mismatch) if the shapes differ.
pub fn accumulate<T: Real>(slot: &mut Option<Tensor<T>>, g: Tensor<T>) -> Result<()> {
    match slot {
        None => *slot = Some(g),
        Some(acc) => {
            if acc.shape() != g.shape() {
                return Err(crate::error::mismatch(
                    "accumulate",
                    "gradients of one node must have one shape",
                    "accumulated",
                    acc.shape(),
                    "new",
                    g.shape(),
                ));
            }
            for (a, &b) in acc.data_mut().iter_mut().zip(g.data()) {
                *a += b;
            }
        }
    }
    Ok(())
}

/// The first non-finite element of `data`, if any, as `(index, value)`.
pub fn first_non_finite<T: Real>(data: &[T]) -> Option<(usize, f64)> {
    data.iter()
        .position(|v| !v.is_finite())
        .map(|i| (i, data[i].to_f64()))
}

/// Errors with [`Error::NonFinite`] if `t` holds NaN or ±∞.
///
/// # Errors
/// [`Error::NonFinite`] naming `op`, `node` and `what`.
pub fn check_finite<T: Real>(
    t: &Tensor<T>,
    op: &'static str,
    node: usize,
    what: impl FnOnce() -> String,
) -> Result<()> {
    match first_non_finite(t.data()) {
        None => Ok(()),
        Some((index, value)) => Err(Error::NonFinite {
            op,
            node,
            what: what(),
            index,
            value,
        }),
    }
}
