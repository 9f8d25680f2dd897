//! Finite-difference gradient checking (DESIGN.md §2.7): the proof behind every backward rule.
//!
//! For a function f of inputs x₁…xₘ (built with recorded ops on a tape) we take the scalar
//! L(x) = Σ r ⊙ f(x) with a **fixed random** r of f's output shape. A plain `sum` would send an
//! all-ones upstream gradient, which hides transposed or misindexed `dy`; a random r does not.
//! The analytic gradient is one backward pass seeded with r ([`Tape::backward_from`]); the
//! numeric gradient of every element of every input is the central difference
//!
//!   ∂L/∂xⱼ ≈ (L(x + εeⱼ) − L(x − εeⱼ)) / 2ε,   ε = 1e-6·max(1, |xⱼ|),
//!
//! evaluated on `no_grad` tapes. With f64 its truncation error is O(ε²) and its rounding error
//! about 1e-16·|L|/ε, both far below the tolerance |analytic − numeric| ≤ 1e-8 + 1e-5·|numeric|.
//! On failure the report names the worst element (input, flat index, both values).
//!
//! Cost: 2·numel(x) forward passes, so checks use small shapes.

use std::fmt;

use ecgrad_engine::{Rng, Tensor};

use crate::error::Result;
use crate::tape::{Tape, Var};

/// Absolute tolerance of the check.
pub const ATOL: f64 = 1e-8;
/// Relative tolerance of the check.
pub const RTOL: f64 = 1e-5;

/// The worst mismatch found by [`gradcheck`].
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckFailure {
    /// Which input (position in the slice passed to `gradcheck`).
    pub input: usize,
    /// Flat (row-major) index of the element within that input.
    pub index: usize,
    /// The input's dimensions, to turn `index` back into coordinates.
    pub dims: Vec<usize>,
    /// Backward's value.
    pub analytic: f64,
    /// The central difference.
    pub numeric: f64,
    /// How many elements failed in total.
    pub failures: usize,
}

impl fmt::Display for GradcheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut coords = Vec::with_capacity(self.dims.len());
        let mut rest = self.index;
        for &d in self.dims.iter().rev() {
            coords.push(rest % d.max(1));
            rest /= d.max(1);
        }
        coords.reverse();
        write!(
            f,
            "gradcheck: {} element(s) fail; worst: input {} {:?} element {:?} (flat {}): analytic {:.10e}, numeric {:.10e}, |diff| {:.3e} > {ATOL:e} + {RTOL:e}·|numeric|",
            self.failures,
            self.input,
            self.dims,
            coords,
            self.index,
            self.analytic,
            self.numeric,
            (self.analytic - self.numeric).abs()
        )
    }
}

/// Checks every input's gradient of `f` by central differences; see the module docs.
///
/// `f` receives a tape and one variable per input (all requiring grad) and returns the output.
/// Constants (targets, masks) are captured by the closure. `seed` fixes the projection r.
///
/// # Errors
/// The outer `Result` carries errors of `f` or of backward; the inner one the failure report.
pub fn gradcheck<F>(
    f: F,
    inputs: &[Tensor<f64>],
    seed: u64,
) -> Result<std::result::Result<(), GradcheckFailure>>
where
    F: Fn(&mut Tape<f64>, &[Var<f64>]) -> Result<Var<f64>>,
{
    // Analytic: one backward pass seeded with r.
    let mut tape = Tape::new();
    let vars: Vec<Var<f64>> = inputs.iter().map(|x| tape.leaf(x.clone(), true)).collect();
    let out = f(&mut tape, &vars)?;
    let mut rng = Rng::stream(seed, "gradcheck");
    let r_data: Vec<f64> = (0..out.value().numel())
        .map(|_| rng.uniform_range(-1.0, 1.0))
        .collect();
    let r = Tensor::from_vec(out.shape(), r_data)?;
    let grads = tape.backward_from(&out, r.clone(), &[])?;

    // L(x) = Σ r ⊙ f(x) on a no_grad tape.
    let loss = |xs: &[Tensor<f64>]| -> Result<f64> {
        let mut t = Tape::no_grad();
        let vs: Vec<Var<f64>> = xs.iter().map(|x| t.leaf(x.clone(), false)).collect();
        let y = f(&mut t, &vs)?;
        Ok(y.value()
            .data()
            .iter()
            .zip(r.data())
            .map(|(a, b)| a * b)
            .sum())
    };

    let mut worst: Option<(f64, GradcheckFailure)> = None;
    let mut failures = 0;
    let mut xs: Vec<Tensor<f64>> = inputs.to_vec();
    for (i, v) in vars.iter().enumerate() {
        // An input with no path to the output has gradient zero.
        let zeros = Tensor::zeros(inputs[i].shape());
        let analytic = grads.get(v.id()).unwrap_or(&zeros).clone();
        for j in 0..inputs[i].numel() {
            let x0 = inputs[i].data()[j];
            let eps = 1e-6 * x0.abs().max(1.0);
            xs[i].data_mut()[j] = x0 + eps;
            let lp = loss(&xs)?;
            xs[i].data_mut()[j] = x0 - eps;
            let lm = loss(&xs)?;
            xs[i].data_mut()[j] = x0;
            let numeric = (lp - lm) / (2.0 * eps);
            let a = analytic.data()[j];
            let excess = (a - numeric).abs() - (ATOL + RTOL * numeric.abs());
            let excess = if excess.is_nan() {
                f64::INFINITY
            } else {
                excess
            };
            if excess > 0.0 {
                failures += 1;
                if worst.as_ref().is_none_or(|(e, _)| excess > *e) {
                    let report = GradcheckFailure {
                        input: i,
                        index: j,
                        dims: inputs[i].dims().to_vec(),
                        analytic: a,
                        numeric,
                        failures: 0,
                    };
                    worst = Some((excess, report));
                }
            }
        }
    }
    Ok(match worst {
        None => Ok(()),
        Some((_, mut report)) => {
            report.failures = failures;
            Err(report)
        }
    })
}

/// Test helper: runs [`gradcheck`] and panics with the report on failure.
///
/// # Panics
/// If `f` errors or any gradient element fails the tolerance.
#[track_caller]
pub fn assert_gradcheck<F>(what: &str, f: F, inputs: &[Tensor<f64>], seed: u64)
where
    F: Fn(&mut Tape<f64>, &[Var<f64>]) -> Result<Var<f64>>,
{
    match gradcheck(f, inputs, seed) {
        Err(e) => panic!("{what}: error during gradcheck: {e}"),
        Ok(Err(report)) => panic!("{what}: {report}"),
        Ok(Ok(())) => {}
    }
}

/// A seeded random f64 tensor with values uniform in [lo, hi) (gradcheck inputs).
///
/// # Panics
/// Never for valid dims (the element count matches by construction).
pub fn random_tensor(dims: &[usize], lo: f64, hi: f64, seed: u64) -> Tensor<f64> {
    let shape = ecgrad_engine::Shape::new(dims).expect("invariant: test shapes have rank <= 4");
    let mut rng = Rng::new(seed);
    let data = (0..shape.numel())
        .map(|_| rng.uniform_range(lo, hi))
        .collect();
    Tensor::from_vec(shape, data).expect("invariant: length equals numel")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backward::Backward;

    /// y = x² with a deliberately wrong rule (dx = dy·x instead of 2x·dy): must be caught.
    struct WrongSquare(Tensor<f64>);
    impl Backward<f64> for WrongSquare {
        fn name(&self) -> &'static str {
            "wrong_square"
        }
        fn backward(&self, dy: &Tensor<f64>, _needs: &[bool]) -> Result<Vec<Option<Tensor<f64>>>> {
            let d = dy
                .data()
                .iter()
                .zip(self.0.data())
                .map(|(g, x)| g * x)
                .collect();
            Ok(vec![Some(Tensor::from_vec(dy.shape(), d)?)])
        }
    }

    #[test]
    fn gradcheck_catches_a_wrong_rule_and_names_the_element() {
        let x = random_tensor(&[2, 3], 0.5, 1.5, 7);
        let res = gradcheck(
            |t, v| {
                let y: Vec<f64> = v[0].value().data().iter().map(|a| a * a).collect();
                let y = Tensor::from_vec(v[0].shape(), y)?;
                let saved = v[0].value().clone();
                t.record("wrong_square", &[&v[0]], y, || Box::new(WrongSquare(saved)))
            },
            &[x],
            1,
        )
        .unwrap();
        let report = res.unwrap_err();
        assert_eq!(report.failures, 6);
        assert_eq!(report.input, 0);
        let msg = report.to_string();
        assert!(msg.contains("worst: input 0 [2, 3]"), "{msg}");
    }
}
