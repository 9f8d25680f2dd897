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
///
/// The common case (everything finite) is a branch-free pass that vectorises: `v · 0` is 0 for
/// a finite `v` and NaN for NaN or ±∞, and NaN survives any sum, so 16 independent lane sums
/// stay finite exactly when every element is. Only when they are not does the (early-exit,
/// scalar) search for the first offending index run. This check runs on every gradient of
/// every backward pass, where the plain `position` loop cost about 10 % of a training step.
pub fn first_non_finite<T: Real>(data: &[T]) -> Option<(usize, f64)> {
    const LANES: usize = 16;
    let mut acc = [T::ZERO; LANES];
    let mut chunks = data.chunks_exact(LANES);
    for chunk in &mut chunks {
        for j in 0..LANES {
            acc[j] += chunk[j] * T::ZERO;
        }
    }
    for &v in chunks.remainder() {
        acc[0] += v * T::ZERO;
    }
    if acc.iter().all(|a| a.is_finite()) {
        return None;
    }
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

#[cfg(test)]
mod finite_tests {
    use super::first_non_finite;

    #[test]
    fn finds_the_first_non_finite_element_in_any_lane_or_the_tail() {
        for len in [1usize, 15, 16, 17, 40, 1000] {
            let clean: Vec<f32> = (0..len).map(|i| i as f32 * 1e30).collect();
            assert_eq!(first_non_finite(&clean), None, "len {len}");
            for at in [0, len / 2, len - 1] {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let mut v = clean.clone();
                    v[at] = bad;
                    let (i, x) = first_non_finite(&v).expect("must be found");
                    assert_eq!(i, at, "len {len}");
                    assert!(!x.is_finite());
                }
            }
        }
        // Two bad values: the first one is named. f64 uses the same code.
        let v = [1.0f64, f64::INFINITY, 2.0, f64::NAN];
        assert_eq!(first_non_finite(&v).map(|p| p.0), Some(1));
    }
}
