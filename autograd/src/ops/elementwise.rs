//! Elementwise ops on equal shapes, and the channel-broadcast bias add.
//!
//! Forward (all O(n) for n elements):
//! - `add`: y = a + b;  `sub`: y = a − b;  `mul`: y = a ⊙ b;  `scale`: y = α·x;
//! - `bias_add`: y\[n, c, l\] = x\[n, c, l\] + b\[c\] (x is NCL, b is \[C\]).
//!
//! Gradients:
//! - add: da = dy, db = dy;  sub: da = dy, db = −dy;
//! - mul: da = dy ⊙ b, db = dy ⊙ a (saves both inputs);  scale: dx = α·dy;
//! - bias_add: dx = dy, db\[c\] = Σₙ Σₗ dy\[n, c, l\].
//!
//! Kernels: plain loops for now; they will move to `engine/src/ops/elementwise.rs` when the
//! engine's elementwise kernels land.

use ecgrad_engine::{Real, Tensor};

use super::{map, same_shape, tensor, zip};
use crate::backward::Backward;
use crate::error::{Result, mismatch};
use crate::tape::{Tape, Var};

/// The rule of `add` (`sign = 1`) and `sub` (`sign = −1`): no saved state.
struct AddBackward<T> {
    sign: T,
    name: &'static str,
}

impl<T: Real> Backward<T> for AddBackward<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let da = needs[0].then(|| dy.clone());
        let db = needs[1].then(|| {
            if self.sign == T::ONE {
                dy.clone()
            } else {
                map(dy, |g| -g)
            }
        });
        Ok(vec![da, db])
    }
}

/// y = a + b (equal shapes).
///
/// # Errors
/// A shape mismatch if the shapes differ.
pub fn add<T: Real>(tape: &mut Tape<T>, a: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    same_shape("add", a.shape(), b.shape())?;
    let y = zip(a.value(), b.value(), |x, z| x + z);
    tape.record("add", &[a, b], y, || {
        Box::new(AddBackward {
            sign: T::ONE,
            name: "add",
        })
    })
}

/// y = a − b (equal shapes).
///
/// # Errors
/// A shape mismatch if the shapes differ.
pub fn sub<T: Real>(tape: &mut Tape<T>, a: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    same_shape("sub", a.shape(), b.shape())?;
    let y = zip(a.value(), b.value(), |x, z| x - z);
    tape.record("sub", &[a, b], y, || {
        Box::new(AddBackward {
            sign: -T::ONE,
            name: "sub",
        })
    })
}

/// The rule of `mul`: saves both inputs (Arc clones).
struct MulBackward<T: Real> {
    a: Tensor<T>,
    b: Tensor<T>,
}

impl<T: Real> Backward<T> for MulBackward<T> {
    fn name(&self) -> &'static str {
        "mul"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        // ∂(a⊙b)/∂a = diag(b), so da = dy ⊙ b; symmetrically db = dy ⊙ a.
        let da = needs[0].then(|| zip(dy, &self.b, |g, b| g * b));
        let db = needs[1].then(|| zip(dy, &self.a, |g, a| g * a));
        Ok(vec![da, db])
    }
}

/// y = a ⊙ b (elementwise product, equal shapes).
///
/// # Errors
/// A shape mismatch if the shapes differ.
pub fn mul<T: Real>(tape: &mut Tape<T>, a: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    same_shape("mul", a.shape(), b.shape())?;
    let y = zip(a.value(), b.value(), |x, z| x * z);
    tape.record("mul", &[a, b], y, || {
        Box::new(MulBackward {
            a: a.value().clone(),
            b: b.value().clone(),
        })
    })
}

/// The rule of `scale`.
struct ScaleBackward<T> {
    alpha: T,
}

impl<T: Real> Backward<T> for ScaleBackward<T> {
    fn name(&self) -> &'static str {
        "scale"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![needs[0].then(|| map(dy, |g| self.alpha * g))])
    }
}

/// y = α·x.
///
/// # Errors
/// Only if `x` comes from another tape.
pub fn scale<T: Real>(tape: &mut Tape<T>, x: &Var<T>, alpha: T) -> Result<Var<T>> {
    let y = map(x.value(), |v| alpha * v);
    tape.record("scale", &[x], y, || Box::new(ScaleBackward { alpha }))
}

/// The rule of `bias_add`: remembers only the dimensions.
struct BiasAddBackward {
    n: usize,
    c: usize,
    l: usize,
}

impl<T: Real> Backward<T> for BiasAddBackward {
    fn name(&self) -> &'static str {
        "bias_add"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let dx = needs[0].then(|| dy.clone());
        let db = needs[1].then(|| {
            // db[c] = Σₙ Σₗ dy[n, c, l]: the bias touches every position of its channel.
            let mut db = vec![T::ZERO; self.c];
            for n in 0..self.n {
                for c in 0..self.c {
                    let row = &dy.data()[(n * self.c + c) * self.l..][..self.l];
                    db[c] += row.iter().copied().sum::<T>();
                }
            }
            tensor(ecgrad_engine::Shape::d1(self.c), db)
        });
        Ok(vec![dx, db])
    }
}

/// y\[n, c, l\] = x\[n, c, l\] + b\[c\] for NCL `x` and `b` of shape \[C\].
///
/// # Errors
/// Rank errors if `x` is not rank 3; a shape mismatch if `b` is not `[C]`.
pub fn bias_add<T: Real>(tape: &mut Tape<T>, x: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    let (n, c, l) = x.shape().dims3("bias_add", "input")?;
    if b.shape().dims() != [c] {
        return Err(mismatch(
            "bias_add",
            format!("bias must have shape [{c}]"),
            "input",
            x.shape(),
            "bias",
            b.shape(),
        ));
    }
    let mut y = x.value().data().to_vec();
    for (i, row) in y.chunks_mut(l).enumerate() {
        let bc = b.value().data()[i % c];
        row.iter_mut().for_each(|v| *v += bc);
    }
    let y = tensor(x.shape(), y);
    tape.record("bias_add", &[x, b], y, || {
        Box::new(BiasAddBackward { n, c, l })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    #[test]
    fn add_sub_mul_gradcheck_both_inputs() {
        for dims in [&[1usize][..], &[3, 5], &[2, 3, 7]] {
            let a = random_tensor(dims, -2.0, 2.0, 1);
            let b = random_tensor(dims, -2.0, 2.0, 2);
            let ins = [a, b];
            assert_gradcheck("add", |t, v| add(t, &v[0], &v[1]), &ins, 3);
            assert_gradcheck("sub", |t, v| sub(t, &v[0], &v[1]), &ins, 4);
            assert_gradcheck("mul", |t, v| mul(t, &v[0], &v[1]), &ins, 5);
        }
    }

    #[test]
    fn mul_gradcheck_same_var_twice() {
        // y = x ⊙ x: both inputs are one node, so the two contributions must add (dx = 2x·dy).
        let x = random_tensor(&[4, 3], -2.0, 2.0, 9);
        assert_gradcheck("mul(x, x)", |t, v| mul(t, &v[0], &v[0]), &[x], 10);
    }

    #[test]
    fn scale_gradcheck_x() {
        let x = random_tensor(&[2, 4], -1.0, 1.0, 11);
        assert_gradcheck("scale", |t, v| scale(t, &v[0], -1.7), &[x], 12);
    }

    #[test]
    fn bias_add_gradcheck_input_and_bias() {
        for (n, c, l) in [(1, 1, 1), (2, 3, 5), (3, 2, 9)] {
            let x = random_tensor(&[n, c, l], -1.0, 1.0, 13);
            let b = random_tensor(&[c], -1.0, 1.0, 14);
            assert_gradcheck("bias_add", |t, v| bias_add(t, &v[0], &v[1]), &[x, b], 15);
        }
    }

    #[test]
    fn hand_computed_mul_gradient() {
        // y = a ⊙ b, L = y₀ + y₁ (a one-element loss by a sum): ∂L/∂a = b, ∂L/∂b = a.
        let mut t = Tape::<f64>::new();
        let a = t.leaf(tensor(ecgrad_engine::Shape::d1(2), vec![2.0, 3.0]), true);
        let b = t.leaf(tensor(ecgrad_engine::Shape::d1(2), vec![5.0, 7.0]), true);
        let y = mul(&mut t, &a, &b).unwrap();
        let l = crate::ops::sum(&mut t, &y).unwrap();
        assert_eq!(l.value().data(), &[2.0 * 5.0 + 3.0 * 7.0]);
        let g = t.backward(&l).unwrap();
        assert_eq!(g.get(a.id()).unwrap().data(), &[5.0, 7.0]);
        assert_eq!(g.get(b.id()).unwrap().data(), &[2.0, 3.0]);
    }

    #[test]
    fn shape_mismatch_is_an_error_naming_the_op() {
        let mut t = Tape::<f64>::new();
        let a = t.input(Tensor::zeros(ecgrad_engine::Shape::d1(2)));
        let b = t.input(Tensor::zeros(ecgrad_engine::Shape::d1(3)));
        let e = add(&mut t, &a, &b).unwrap_err().to_string();
        assert!(e.starts_with("add:"), "{e}");
    }
}
