//! Elementwise ops on equal shapes, and the channel-broadcast bias add, recorded on the tape.
//!
//! Forward (all O(n) for n elements), computed by `engine/src/ops/elementwise/`:
//! - `add`: y = a + b;  `sub`: y = a − b;  `mul`: y = a ⊙ b;  `div`: y = a ⊘ b;
//! - `scale`: y = α·x;  `axpy`: y = α·x + z (a residual with a gain, in one pass);
//! - `bias_add`: y\[n, c, l\] = x\[n, c, l\] + b\[c\] (x is NCL, b is \[C\]).
//!
//! Gradients:
//! - add: da = dy, db = dy;  sub: da = dy, db = −dy (no saved state);
//! - mul: da = dy ⊙ b, db = dy ⊙ a (saves both inputs);
//! - div: da = dy ⊘ b, db = −dy ⊙ a ⊘ b² (∂(a/b)/∂b = −a/b²; saves both inputs);
//! - scale: dx = α·dy;  axpy: dx = α·dy, dz = dy;
//! - bias_add: dx = dy, db\[c\] = Σₙ Σₗ dy\[n, c, l\] (saves nothing).
//!
//! Where a gradient *is* dy it is passed on as an `Arc` clone (no copy, no kernel); every other
//! gradient is one engine call (`binary_grad`, `scale`, `bias_add_ncl_grad_bias`), whose f32
//! path is SIMD and whose bias reduction is bit-identical at any thread count.

use ecgrad_engine::ops::elementwise as ew;
use ecgrad_engine::ops::elementwise::BinaryOp;
use ecgrad_engine::{Real, Tensor};

use super::same_shape;
use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `add` (`negate_b = false`) and `sub` (`negate_b = true`): no saved state.
struct AddBackward {
    negate_b: bool,
    name: &'static str,
}

impl<T: Real> Backward<T> for AddBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let da = needs[0].then(|| dy.clone());
        let db = if !needs[1] {
            None
        } else if self.negate_b {
            Some(ew::scale(dy, -T::ONE)?)
        } else {
            Some(dy.clone())
        };
        Ok(vec![da, db])
    }
}

/// y = a + b (equal shapes).
///
/// # Errors
/// A shape mismatch if the shapes differ; `EmptyOutput` for empty tensors.
pub fn add<T: Real>(tape: &mut Tape<T>, a: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    same_shape("add", a.shape(), b.shape())?;
    let y = ew::add(a.value(), b.value())?;
    tape.record("add", &[a, b], y, || {
        Box::new(AddBackward {
            negate_b: false,
            name: "add",
        })
    })
}

/// y = a − b (equal shapes).
///
/// # Errors
/// As [`add`].
pub fn sub<T: Real>(tape: &mut Tape<T>, a: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    same_shape("sub", a.shape(), b.shape())?;
    let y = ew::sub(a.value(), b.value())?;
    tape.record("sub", &[a, b], y, || {
        Box::new(AddBackward {
            negate_b: true,
            name: "sub",
        })
    })
}

/// The rule of `mul` and `div`: saves both inputs (Arc clones); the engine's `binary_grad`
/// computes only the gradients asked for.
struct BinaryBackward<T: Real> {
    op: BinaryOp,
    a: Tensor<T>,
    b: Tensor<T>,
}

impl<T: Real> Backward<T> for BinaryBackward<T> {
    fn name(&self) -> &'static str {
        self.op.name()
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        // mul: ∂(a⊙b)/∂a = diag(b) → da = dy ⊙ b, db = dy ⊙ a.
        // div: ∂(a/b)/∂a = diag(1/b), ∂(a/b)/∂b = diag(−a/b²).
        let (da, db) = ew::binary_grad(self.op, &self.a, &self.b, dy, (needs[0], needs[1]))?;
        Ok(vec![da, db])
    }
}

fn binary<T: Real>(tape: &mut Tape<T>, op: BinaryOp, a: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    same_shape(op.name(), a.shape(), b.shape())?;
    let y = match op {
        BinaryOp::Mul => ew::mul(a.value(), b.value())?,
        BinaryOp::Div => ew::div(a.value(), b.value())?,
        BinaryOp::Add => ew::add(a.value(), b.value())?,
        BinaryOp::Sub => ew::sub(a.value(), b.value())?,
    };
    tape.record(op.name(), &[a, b], y, || {
        Box::new(BinaryBackward {
            op,
            a: a.value().clone(),
            b: b.value().clone(),
        })
    })
}

/// y = a ⊙ b (elementwise product, equal shapes).
///
/// # Errors
/// As [`add`].
pub fn mul<T: Real>(tape: &mut Tape<T>, a: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    binary(tape, BinaryOp::Mul, a, b)
}

/// y = a ⊘ b (elementwise quotient, equal shapes). Division by zero follows IEEE (±∞/NaN), as
/// in PyTorch; a resulting non-finite loss or gradient is then reported by `backward`.
///
/// # Errors
/// As [`add`].
pub fn div<T: Real>(tape: &mut Tape<T>, a: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    binary(tape, BinaryOp::Div, a, b)
}

/// The rule of `scale`: dx = α·dy.
struct ScaleBackward<T> {
    alpha: T,
}

impl<T: Real> Backward<T> for ScaleBackward<T> {
    fn name(&self) -> &'static str {
        "scale"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![if needs[0] {
            Some(ew::scale(dy, self.alpha)?)
        } else {
            None
        }])
    }
}

/// y = α·x.
///
/// # Errors
/// `InvalidParam` if α is not finite; `EmptyOutput` for an empty tensor.
pub fn scale<T: Real>(tape: &mut Tape<T>, x: &Var<T>, alpha: T) -> Result<Var<T>> {
    let y = ew::scale(x.value(), alpha)?;
    tape.record("scale", &[x], y, || Box::new(ScaleBackward { alpha }))
}

/// The rule of `axpy`: dx = α·dy, dz = dy.
struct AxpyBackward<T> {
    alpha: T,
}

impl<T: Real> Backward<T> for AxpyBackward<T> {
    fn name(&self) -> &'static str {
        "axpy"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let dx = if needs[0] {
            Some(ew::scale(dy, self.alpha)?)
        } else {
            None
        };
        Ok(vec![dx, needs[1].then(|| dy.clone())])
    }
}

/// y = α·x + z (equal shapes): a scaled residual connection in one pass.
///
/// # Errors
/// A shape mismatch if the shapes differ; `InvalidParam` if α is not finite; `EmptyOutput`.
pub fn axpy<T: Real>(tape: &mut Tape<T>, alpha: T, x: &Var<T>, z: &Var<T>) -> Result<Var<T>> {
    same_shape("axpy", x.shape(), z.shape())?;
    let y = ew::axpy(alpha, x.value(), z.value())?;
    tape.record("axpy", &[x, z], y, || Box::new(AxpyBackward { alpha }))
}

/// The rule of `bias_add`: saves nothing (dy alone determines both gradients).
struct BiasAddBackward;

impl<T: Real> Backward<T> for BiasAddBackward {
    fn name(&self) -> &'static str {
        "bias_add"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let dx = needs[0].then(|| dy.clone());
        // db[c] = Σₙ Σₗ dy[n, c, l]: the bias touches every position of its channel.
        let db = if needs[1] {
            Some(ew::bias_add_ncl_grad_bias(dy)?)
        } else {
            None
        };
        Ok(vec![dx, db])
    }
}

/// y\[n, c, l\] = x\[n, c, l\] + b\[c\] for NCL `x` and `b` of shape \[C\].
///
/// # Errors
/// Rank errors if `x` is not rank 3; a shape mismatch if `b` is not `[C]`; `EmptyOutput`.
pub fn bias_add<T: Real>(tape: &mut Tape<T>, x: &Var<T>, b: &Var<T>) -> Result<Var<T>> {
    let y = ew::bias_add_ncl(x.value(), b.value())?;
    tape.record("bias_add", &[x, b], y, || Box::new(BiasAddBackward))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use crate::ops::tensor;

    /// Shapes with odd lengths (SIMD tails for f32; f64 runs the same chunking code).
    const SHAPES: [&[usize]; 4] = [&[1], &[3, 5], &[2, 3, 7], &[1, 1, 9]];

    #[test]
    fn add_sub_mul_gradcheck_both_inputs() {
        for dims in SHAPES {
            let a = random_tensor(dims, -2.0, 2.0, 1);
            let b = random_tensor(dims, -2.0, 2.0, 2);
            let ins = [a, b];
            assert_gradcheck("add", |t, v| add(t, &v[0], &v[1]), &ins, 3);
            assert_gradcheck("sub", |t, v| sub(t, &v[0], &v[1]), &ins, 4);
            assert_gradcheck("mul", |t, v| mul(t, &v[0], &v[1]), &ins, 5);
        }
    }

    #[test]
    fn div_gradcheck_both_inputs() {
        for dims in SHAPES {
            let a = random_tensor(dims, -2.0, 2.0, 6);
            // Keep |b| ≥ 0.5, both signs, away from the pole at 0.
            let mut b = random_tensor(dims, 0.5, 2.0, 7);
            let signs = random_tensor(dims, -1.0, 1.0, 8);
            for (v, s) in b.data_mut().iter_mut().zip(signs.data()) {
                if *s < 0.0 {
                    *v = -*v;
                }
            }
            assert_gradcheck("div", |t, v| div(t, &v[0], &v[1]), &[a, b], 9);
        }
    }

    #[test]
    fn mul_and_div_gradcheck_same_var_twice() {
        // y = x ⊙ x: both inputs are one node, so the two contributions must add (dx = 2x·dy);
        // y = x ⊘ x = 1 has gradient 1/x − x/x² = 0.
        let x = random_tensor(&[4, 3], 0.5, 2.0, 9);
        assert_gradcheck(
            "mul(x, x)",
            |t, v| mul(t, &v[0], &v[0]),
            std::slice::from_ref(&x),
            10,
        );
        assert_gradcheck("div(x, x)", |t, v| div(t, &v[0], &v[0]), &[x], 10);
    }

    #[test]
    fn scale_and_axpy_gradcheck_every_input() {
        for dims in SHAPES {
            let x = random_tensor(dims, -1.0, 1.0, 11);
            let z = random_tensor(dims, -1.0, 1.0, 16);
            assert_gradcheck(
                "scale",
                |t, v| scale(t, &v[0], -1.7),
                std::slice::from_ref(&x),
                12,
            );
            assert_gradcheck("axpy", |t, v| axpy(t, 0.3, &v[0], &v[1]), &[x, z], 17);
        }
    }

    #[test]
    fn bias_add_gradcheck_input_and_bias() {
        for (n, c, l) in [(1, 1, 1), (2, 3, 5), (3, 2, 9), (1, 4, 17)] {
            let x = random_tensor(&[n, c, l], -1.0, 1.0, 13);
            let b = random_tensor(&[c], -1.0, 1.0, 14);
            assert_gradcheck("bias_add", |t, v| bias_add(t, &v[0], &v[1]), &[x, b], 15);
        }
    }

    #[test]
    fn hand_computed_mul_and_div_gradients() {
        // y = a ⊙ b, L = Σ y: ∂L/∂a = b, ∂L/∂b = a.
        let mut t = Tape::<f64>::new();
        let a = t.leaf(tensor(ecgrad_engine::Shape::d1(2), vec![2.0, 3.0]), true);
        let b = t.leaf(tensor(ecgrad_engine::Shape::d1(2), vec![5.0, 7.0]), true);
        let y = mul(&mut t, &a, &b).unwrap();
        let l = crate::ops::sum(&mut t, &y).unwrap();
        assert_eq!(l.value().data(), &[2.0 * 5.0 + 3.0 * 7.0]);
        let g = t.backward(&l).unwrap();
        assert_eq!(g.get(a.id()).unwrap().data(), &[5.0, 7.0]);
        assert_eq!(g.get(b.id()).unwrap().data(), &[2.0, 3.0]);
        // y = a / b with a = 3, b = 2: ∂y/∂a = 1/2, ∂y/∂b = −3/4.
        let mut t = Tape::<f64>::new();
        let a = t.leaf(Tensor::scalar(3.0), true);
        let b = t.leaf(Tensor::scalar(2.0), true);
        let y = div(&mut t, &a, &b).unwrap();
        assert_eq!(y.value().data(), &[1.5]);
        let g = t.backward(&y).unwrap();
        assert_eq!(g.get(a.id()).unwrap().data(), &[0.5]);
        assert_eq!(g.get(b.id()).unwrap().data(), &[-0.75]);
    }

    #[test]
    fn shape_mismatch_is_an_error_naming_the_op() {
        let mut t = Tape::<f64>::new();
        let a = t.input(Tensor::zeros(ecgrad_engine::Shape::d1(2)));
        let b = t.input(Tensor::zeros(ecgrad_engine::Shape::d1(3)));
        let e = add(&mut t, &a, &b).unwrap_err().to_string();
        assert!(e.starts_with("add:"), "{e}");
        let e = div(&mut t, &a, &b).unwrap_err().to_string();
        assert!(e.starts_with("div:"), "{e}");
    }
}
