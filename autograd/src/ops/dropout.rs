//! Inverted dropout, recorded on the tape; mask drawing and both kernels are the engine's
//! (`engine/src/ops/dropout/`).
//!
//! Forward in training mode: y = x ⊙ m, with the scaled mask mᵢ = 1/(1 − p) (kept, probability
//! 1 − p) or 0 (dropped), drawn from the caller's [`Rng`] (one uniform per element, in order).
//! In evaluation mode the op is the identity: it returns `x` itself, records nothing and does not
//! advance the generator (PyTorch's `model.eval()`). The grad mode does not change this: a
//! training-mode call on a `no_grad` tape still applies a mask (as PyTorch under `no_grad`), it
//! only records nothing — which is also what lets gradcheck re-evaluate it with a re-seeded
//! generator.
//!
//! Shapes: any; y and m have x's shape.   Cost: one draw and one multiply per element.
//! Gradient: dx = dy ⊙ m (a dropped element passes no gradient). The rule saves only m, never x.

use ecgrad_engine::ops::dropout as ed;
use ecgrad_engine::{Real, Rng, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `dropout`: saves the scaled mask.
struct DropoutBackward<T: Real> {
    mask: Tensor<T>,
}

impl<T: Real> Backward<T> for DropoutBackward<T> {
    fn name(&self) -> &'static str {
        "dropout"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![if needs[0] {
            Some(ed::dropout_grad(&self.mask, dy)?)
        } else {
            None
        }])
    }
}

/// Dropout with drop probability `p` (PyTorch semantics, 0 ≤ p ≤ 1) when `training`, else the
/// identity (then `x` is returned as is and `rng` is untouched).
///
/// # Errors
/// `InvalidParam` unless 0 ≤ p ≤ 1 (checked in both modes, so a bad config fails early);
/// `EmptyOutput` for an empty tensor in training mode.
pub fn dropout<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    p: f64,
    rng: &mut Rng,
    training: bool,
) -> Result<Var<T>> {
    ed::check_p(p)?;
    if !training {
        return Ok(x.clone());
    }
    let (y, mask) = ed::dropout(x.value(), p, rng)?;
    tape.record("dropout", &[x], y, || Box::new(DropoutBackward { mask }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn dropout_gradcheck_x_every_p() {
        // Each evaluation re-seeds the generator, so all passes see one mask.
        for p in [0.0, 0.3, 0.7, 1.0] {
            for dims in [&[1usize][..], &[2, 3, 7], &[1, 1, 33]] {
                let x = random_tensor(dims, -2.0, 2.0, 61);
                assert_gradcheck(
                    "dropout",
                    |t, v| dropout(t, &v[0], p, &mut Rng::stream(62, "dropout"), true),
                    &[x],
                    63,
                );
            }
        }
    }

    #[test]
    fn gradient_is_the_saved_mask_times_dy() {
        let x = random_tensor(&[4, 25], -2.0, 2.0, 64);
        let mut t = Tape::<f64>::new();
        let xv = t.leaf(x.clone(), true);
        let y = dropout(&mut t, &xv, 0.4, &mut Rng::stream(65, "dropout"), true).unwrap();
        let dy = random_tensor(&[4, 25], -1.0, 1.0, 66);
        let g = t.backward_from(&y, dy.clone(), &[]).unwrap();
        let dx = g.get(xv.id()).unwrap();
        let mut kept = 0;
        for i in 0..x.numel() {
            let (xi, yi) = (x.data()[i], y.value().data()[i]);
            if yi == 0.0 {
                assert_eq!(dx.data()[i], 0.0);
            } else {
                kept += 1;
                // Kept: y = x/(1 − p) and dx = dy/(1 − p).
                assert!((yi - xi / 0.6).abs() < 1e-15);
                assert!((dx.data()[i] - dy.data()[i] / 0.6).abs() < 1e-15);
            }
        }
        assert!((30..90).contains(&kept), "{kept} of 100 kept at p = 0.4");
    }

    #[test]
    fn eval_is_the_identity_and_leaves_the_generator_alone() {
        let x = random_tensor(&[3, 5], -1.0, 1.0, 67);
        let mut t = Tape::<f64>::new();
        let xv = t.leaf(x.clone(), true);
        let mut rng = Rng::stream(68, "dropout");
        let before = rng.clone().next_u64();
        let y = dropout(&mut t, &xv, 0.5, &mut rng, false).unwrap();
        assert_eq!(y.id(), xv.id());
        assert!(y.value().shares_buffer_with(&x));
        assert_eq!(rng.next_u64(), before);
        assert_eq!(t.len(), 1, "eval dropout records no node");
        let e = dropout(&mut t, &xv, 1.5, &mut rng, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dropout") && e.contains("1.5"), "{e}");
    }

    #[test]
    fn no_grad_training_applies_the_same_mask_without_recording() {
        let x = random_tensor(&[2, 40], -1.0, 1.0, 69);
        let mut rec = Tape::<f64>::new();
        let xr = rec.leaf(x.clone(), true);
        let yr = dropout(&mut rec, &xr, 0.5, &mut Rng::stream(70, "dropout"), true).unwrap();
        let mut ng = Tape::<f64>::no_grad();
        let xn = ng.leaf(x, false);
        let yn = dropout(&mut ng, &xn, 0.5, &mut Rng::stream(70, "dropout"), true).unwrap();
        assert_eq!(yr.value(), yn.value());
        assert!(ng.is_empty());
    }
}
