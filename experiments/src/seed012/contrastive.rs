//! The SimCLR contrastive loss NT-Xent (normalised temperature-scaled cross-entropy), composed
//! from recorded autograd ops, for learning ECG beat features without labels (seed 001).
//!
//! Two augmented views of the same N beats give embeddings z¹, z² `[N, D]`. Stack them,
//! z = [z¹; z²] `[2N, D]`, normalise each row, uᵢ = zᵢ/‖zᵢ‖, and form the cosine-similarity
//! logits sᵢⱼ = uᵢ·uⱼ/τ `[2N, 2N]`. Row i's positive is its other view, p(i) = i ± N; every
//! other row is a negative; a row never competes with itself (sᵢᵢ gets −10⁹, i.e. weight 0
//! after the softmax). Then
//!
//!   L = (1/2N)·Σᵢ −log( exp(s_{i,p(i)}) / Σ_{j≠i} exp(sᵢⱼ) ),
//!
//! which is exactly softmax cross-entropy of the masked logits with target p(i).
//!
//! Composition (every piece has its own backward rule on the tape): `concat` → [`l2_normalize`]
//! → `matmul(u, uᵀ)` → `scale(1/τ)` → `add(mask)` → `cross_entropy`. Only the row
//! normalisation is a new recorded op here (the engine has no square root op); its rule:
//!
//!   y = x/‖x‖  ⇒  ∂L/∂x = (dy − y·(y·dy))/‖x‖   (per row; ‖x‖ clamped below at 1e-12).
//!
//! Cost: the similarity matmul, 2·(2N)²·D FLOPs forward and twice that backward.
//! The tests gradcheck [`l2_normalize`] and the whole loss in f64, and compare the loss with a
//! direct evaluation of the formula.

use ecgrad_autograd::engine::{Real, Shape, Tensor};
use ecgrad_autograd::loss::CrossEntropy;
use ecgrad_autograd::{Backward, Result, Tape, Var, loss, ops};

/// Rows with a norm below this are divided by it instead (PyTorch `F.normalize`'s eps).
pub const NORM_EPS: f64 = 1e-12;

/// Logit given to a row's similarity with itself (removed from the softmax).
pub const SELF_MASK: f64 = -1e9;

struct L2NormalizeBackward<T: Real> {
    y: Tensor<T>,
    norms: Vec<T>,
}

impl<T: Real> Backward<T> for L2NormalizeBackward<T> {
    fn name(&self) -> &'static str {
        "l2_normalize"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        if !needs.first().copied().unwrap_or(false) {
            return Ok(vec![None]);
        }
        let d = self.y.dims().last().copied().unwrap_or(1);
        let mut dx = Tensor::zeros(self.y.shape());
        let eps = T::from_f64(NORM_EPS);
        for (r, ((dxr, yr), dyr)) in dx
            .data_mut()
            .chunks_mut(d)
            .zip(self.y.data().chunks(d))
            .zip(dy.data().chunks(d))
            .enumerate()
        {
            let n = self.norms[r];
            if n > eps {
                let dot = T::vec_dot(yr, dyr);
                for ((o, &yv), &g) in dxr.iter_mut().zip(yr).zip(dyr) {
                    *o = (g - yv * dot) / n;
                }
            } else {
                // y = x/eps is linear in x here.
                for (o, &g) in dxr.iter_mut().zip(dyr) {
                    *o = g / eps;
                }
            }
        }
        Ok(vec![Some(dx)])
    }
}

/// Row-wise L2 normalisation of a rank-2 `[R, D]` variable: yᵣ = xᵣ / max(‖xᵣ‖, 1e-12).
///
/// # Errors
/// An engine `BadRank` error unless x has rank 2.
pub fn l2_normalize<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    let dims = x.shape().dims().to_vec();
    if dims.len() != 2 {
        return Err(ecgrad_autograd::engine::Error::InvalidParam {
            op: "l2_normalize",
            name: "x",
            value: format!("{dims:?}"),
            why: "must be rank 2 [rows, features]".into(),
        }
        .into());
    }
    let d = dims[1];
    let mut y = x.value().as_ref_clone();
    let mut norms = Vec::with_capacity(dims[0]);
    let eps = T::from_f64(NORM_EPS);
    for row in y.data_mut().chunks_mut(d) {
        let n = T::vec_dot(row, row).sqrt();
        norms.push(n);
        let inv = T::ONE / n.max(eps);
        T::vec_scale(inv, row);
    }
    let saved = y.clone();
    tape.record("l2_normalize", &[x], y, || {
        Box::new(L2NormalizeBackward { y: saved, norms })
    })
}

/// A private helper so a tensor can be deep-copied for in-place editing.
trait CloneData<T: Real> {
    fn as_ref_clone(&self) -> Tensor<T>;
}

impl<T: Real> CloneData<T> for Tensor<T> {
    fn as_ref_clone(&self) -> Tensor<T> {
        Tensor::from_vec(self.shape(), self.data().to_vec())
            .expect("invariant: same shape and length")
    }
}

/// NT-Xent of two views `z1`, `z2` `[N, D]` (N ≥ 1) at temperature τ > 0; a scalar (see the
/// module docs).
///
/// # Errors
/// An invalid-parameter error for τ ≤ 0 or non-finite; shape mismatches if the views differ
/// in shape or are not rank 2.
pub fn nt_xent<T: Real>(
    tape: &mut Tape<T>,
    z1: &Var<T>,
    z2: &Var<T>,
    temperature: f64,
) -> Result<Var<T>> {
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(ecgrad_autograd::engine::Error::InvalidParam {
            op: "nt_xent",
            name: "temperature",
            value: temperature.to_string(),
            why: "must be finite and > 0".into(),
        }
        .into());
    }
    if z1.shape() != z2.shape() || z1.shape().rank() != 2 {
        return Err(ecgrad_autograd::engine::Error::InvalidParam {
            op: "nt_xent",
            name: "z1 / z2",
            value: format!("{:?} / {:?}", z1.shape().dims(), z2.shape().dims()),
            why: "the two views must both be [N, D]".into(),
        }
        .into());
    }
    let n = z1.shape().dims()[0];
    let z = ops::concat(tape, &[z1, z2], 0)?;
    let u = l2_normalize(tape, &z)?;
    let sim = ops::matmul(tape, &u, &u, false, true)?;
    let logits = ops::scale(tape, &sim, T::from_f64(1.0 / temperature))?;
    let mut mask = Tensor::zeros(Shape::d2(2 * n, 2 * n));
    for i in 0..2 * n {
        mask.data_mut()[i * 2 * n + i] = T::from_f64(SELF_MASK);
    }
    let mask = tape.input(mask);
    let masked = ops::add(tape, &logits, &mask)?;
    let targets: Vec<usize> = (0..2 * n).map(|i| (i + n) % (2 * n)).collect();
    loss::cross_entropy(tape, &masked, &targets, &CrossEntropy::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgrad_autograd::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn l2_normalize_gradcheck_and_unit_rows() {
        let x = random_tensor(&[3, 5], -2.0, 2.0, 1);
        assert_gradcheck(
            "l2_normalize",
            |t, v| l2_normalize(t, &v[0]),
            std::slice::from_ref(&x),
            2,
        );
        let mut t = Tape::<f64>::no_grad();
        let v = t.input(x);
        let y = l2_normalize(&mut t, &v).unwrap();
        for row in y.value().data().chunks(5) {
            let n: f64 = row.iter().map(|a| a * a).sum();
            assert!((n - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn nt_xent_gradcheck_both_views() {
        for (n, d, tau, seed) in [(1, 3, 0.5, 10), (3, 4, 0.1, 20), (4, 2, 1.0, 30)] {
            let z1 = random_tensor(&[n, d], -1.0, 1.0, seed);
            let z2 = random_tensor(&[n, d], -1.0, 1.0, seed + 1);
            assert_gradcheck(
                "nt_xent",
                |t, v| nt_xent(t, &v[0], &v[1], tau),
                &[z1, z2],
                seed + 2,
            );
        }
    }

    /// The loss evaluated directly from its formula, in f64 loops.
    fn nt_xent_naive(z1: &[f64], z2: &[f64], n: usize, d: usize, tau: f64) -> f64 {
        let z: Vec<&[f64]> = z1.chunks(d).chain(z2.chunks(d)).collect();
        let unit = |v: &[f64]| {
            let s = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            v.iter().map(|a| a / s).collect::<Vec<f64>>()
        };
        let u: Vec<Vec<f64>> = z.iter().map(|v| unit(v)).collect();
        let sim =
            |i: usize, j: usize| u[i].iter().zip(&u[j]).map(|(a, b)| a * b).sum::<f64>() / tau;
        let mut total = 0.0;
        for i in 0..2 * n {
            let p = (i + n) % (2 * n);
            let denom: f64 = (0..2 * n)
                .filter(|&j| j != i)
                .map(|j| sim(i, j).exp())
                .sum();
            total += -(sim(i, p).exp() / denom).ln();
        }
        total / (2 * n) as f64
    }

    #[test]
    fn nt_xent_matches_the_formula_and_rewards_aligned_views() {
        let (n, d, tau) = (5, 6, 0.2);
        let z1 = random_tensor(&[n, d], -1.0, 1.0, 40);
        let z2 = random_tensor(&[n, d], -1.0, 1.0, 41);
        let mut t = Tape::<f64>::no_grad();
        let (a, b) = (t.input(z1.clone()), t.input(z2.clone()));
        let l = nt_xent(&mut t, &a, &b, tau).unwrap().value().data()[0];
        let want = nt_xent_naive(z1.data(), z2.data(), n, d, tau);
        assert!((l - want).abs() < 1e-10, "{l} vs {want}");
        // Identical views score lower than unrelated ones.
        let c = t.input(z1.clone());
        let same = nt_xent(&mut t, &a, &c, tau).unwrap().value().data()[0];
        assert!(same < l, "{same} !< {l}");
        assert!(nt_xent(&mut t, &a, &b, 0.0).is_err());
        let short = t.input(random_tensor(&[n - 1, d], -1.0, 1.0, 42));
        assert!(nt_xent(&mut t, &a, &short, tau).is_err());
    }
}
