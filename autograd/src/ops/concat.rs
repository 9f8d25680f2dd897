//! `concat` along an axis, and its inverse `narrow`/`split` (U-Net-style skip connections,
//! multi-lead branches joined on the channel axis, windows cut along time).
//!
//! View any shape as `[outer, axis, inner]` (outer = product of the dims before the axis,
//! inner = product of those after). Then
//! - concat: y[o, offₖ + j, i] = xₖ[o, j, i], with offₖ = Σ_{m<k} lenₘ;
//! - narrow(start, len): y[o, j, i] = x[o, start + j, i].
//!
//! Cost: one copy of the output. Gradients: concat and narrow are each other's adjoint,
//! - concat: dxₖ = dy[:, offₖ .. offₖ + lenₖ, :] (a narrow of dy);
//! - narrow: dx = zeros with dy written at [start, start + len) (the other elements did not
//!   reach the output, so their gradient is 0).
//!
//! `split` is several `narrow`s; when all its pieces are used their gradients add up in the
//! input's slot, exactly tiling it. Pure data movement; stays in autograd.

use ecgrad_engine::{Real, Shape, Tensor};

use super::tensor;
use crate::backward::Backward;
use crate::error::{Result, invalid, mismatch};
use crate::tape::{Tape, Var};

/// `(outer, axis_len, inner)` for viewing `shape` around `axis`.
fn split_dims(shape: Shape, axis: usize) -> (usize, usize, usize) {
    let d = shape.dims();
    (
        d[..axis].iter().product(),
        d[axis],
        d[axis + 1..].iter().product(),
    )
}

/// Copies `x` viewed as `[outer, len_x, inner]` into `y` viewed as `[outer, len_y, inner]`
/// at offset `off_y` along the axis, reading from `off_x` (`len` rows of each).
fn copy_rows<T: Real>(
    x: &[T],
    len_x: usize,
    off_x: usize,
    y: &mut [T],
    len_y: usize,
    off_y: usize,
    outer: usize,
    len: usize,
    inner: usize,
) {
    for o in 0..outer {
        let src = &x[(o * len_x + off_x) * inner..][..len * inner];
        y[(o * len_y + off_y) * inner..][..len * inner].copy_from_slice(src);
    }
}

fn check_axis(op: &'static str, shape: Shape, axis: usize) -> Result<()> {
    if axis >= shape.rank() {
        return Err(invalid(
            op,
            "axis",
            axis,
            format!("must be < rank {} of {shape}", shape.rank()),
        ));
    }
    Ok(())
}

/// The rule of `concat`: remembers the piece lengths along the axis.
struct ConcatBackward {
    lens: Vec<usize>,
    shapes: Vec<Shape>,
    outer: usize,
    inner: usize,
}

impl<T: Real> Backward<T> for ConcatBackward {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        let total: usize = self.lens.iter().sum();
        let mut off = 0;
        let mut out = Vec::with_capacity(self.lens.len());
        for (k, (&len, &shape)) in self.lens.iter().zip(&self.shapes).enumerate() {
            out.push(needs[k].then(|| {
                let mut dx = vec![T::ZERO; shape.numel()];
                copy_rows(
                    dy.data(),
                    total,
                    off,
                    &mut dx,
                    len,
                    0,
                    self.outer,
                    len,
                    self.inner,
                );
                tensor(shape, dx)
            }));
            off += len;
        }
        Ok(out)
    }
}

/// Concatenates `xs` along `axis`; all other dims must agree.
///
/// # Errors
/// An invalid-parameter error for an empty list or a bad axis; a shape mismatch naming the
/// first piece that disagrees.
pub fn concat<T: Real>(tape: &mut Tape<T>, xs: &[&Var<T>], axis: usize) -> Result<Var<T>> {
    let first = xs
        .first()
        .ok_or_else(|| invalid("concat", "inputs", 0, "need at least one tensor"))?;
    check_axis("concat", first.shape(), axis)?;
    let (outer, _, inner) = split_dims(first.shape(), axis);
    let mut lens = Vec::with_capacity(xs.len());
    for x in xs {
        let s = x.shape();
        let same_rest = s.rank() == first.shape().rank()
            && s.dims()
                .iter()
                .zip(first.shape().dims())
                .enumerate()
                .all(|(i, (a, b))| i == axis || a == b);
        if !same_rest {
            return Err(mismatch(
                "concat",
                format!("all dims except axis {axis} must agree"),
                "first",
                first.shape(),
                "other",
                s,
            ));
        }
        lens.push(s.dims()[axis]);
    }
    let total: usize = lens.iter().sum();
    let mut dims = first.shape().dims().to_vec();
    dims[axis] = total;
    let out_shape = Shape::new(&dims)?;
    let mut y = vec![T::ZERO; out_shape.numel()];
    let mut off = 0;
    for (x, &len) in xs.iter().zip(&lens) {
        copy_rows(
            x.value().data(),
            len,
            0,
            &mut y,
            total,
            off,
            outer,
            len,
            inner,
        );
        off += len;
    }
    let shapes: Vec<Shape> = xs.iter().map(|x| x.shape()).collect();
    tape.record("concat", xs, tensor(out_shape, y), || {
        Box::new(ConcatBackward {
            lens,
            shapes,
            outer,
            inner,
        })
    })
}

/// The rule of `narrow`.
struct NarrowBackward {
    input_shape: Shape,
    start: usize,
    len: usize,
    outer: usize,
    inner: usize,
}

impl<T: Real> Backward<T> for NarrowBackward {
    fn name(&self) -> &'static str {
        "narrow"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![needs[0].then(|| {
            let axis_len = self.input_shape.numel() / (self.outer * self.inner);
            let mut dx = vec![T::ZERO; self.input_shape.numel()];
            copy_rows(
                dy.data(),
                self.len,
                0,
                &mut dx,
                axis_len,
                self.start,
                self.outer,
                self.len,
                self.inner,
            );
            tensor(self.input_shape, dx)
        })])
    }
}

/// y = x[.., start .. start + len, ..] along `axis` (a copy).
///
/// # Errors
/// An invalid-parameter error for a bad axis, `len == 0` or a range past the end.
pub fn narrow<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    axis: usize,
    start: usize,
    len: usize,
) -> Result<Var<T>> {
    check_axis("narrow", x.shape(), axis)?;
    let (outer, axis_len, inner) = split_dims(x.shape(), axis);
    if len == 0 || start + len > axis_len {
        return Err(invalid(
            "narrow",
            "range",
            format!("{start}..{}", start + len),
            format!(
                "must be non-empty and within 0..{axis_len} on axis {axis} of {}",
                x.shape()
            ),
        ));
    }
    let mut dims = x.shape().dims().to_vec();
    dims[axis] = len;
    let out_shape = Shape::new(&dims)?;
    let mut y = vec![T::ZERO; out_shape.numel()];
    copy_rows(
        x.value().data(),
        axis_len,
        start,
        &mut y,
        len,
        0,
        outer,
        len,
        inner,
    );
    let input_shape = x.shape();
    tape.record("narrow", &[x], tensor(out_shape, y), || {
        Box::new(NarrowBackward {
            input_shape,
            start,
            len,
            outer,
            inner,
        })
    })
}

/// Splits `x` along `axis` into consecutive pieces of the given sizes (they must sum to the
/// axis length).
///
/// # Errors
/// An invalid-parameter error if the sizes do not tile the axis (or one is 0).
pub fn split<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    axis: usize,
    sizes: &[usize],
) -> Result<Vec<Var<T>>> {
    check_axis("split", x.shape(), axis)?;
    let axis_len = x.shape().dims()[axis];
    if sizes.iter().sum::<usize>() != axis_len {
        return Err(invalid(
            "split",
            "sizes",
            format!("{sizes:?}"),
            format!(
                "must sum to {axis_len}, the length of axis {axis} of {}",
                x.shape()
            ),
        ));
    }
    let mut start = 0;
    let mut out = Vec::with_capacity(sizes.len());
    for &len in sizes {
        out.push(narrow(tape, x, axis, start, len)?);
        start += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};
    use crate::ops::mul;

    #[test]
    fn concat_gradcheck_every_input_every_axis() {
        let a = random_tensor(&[2, 3, 4], -1.0, 1.0, 61);
        for axis in 0..3 {
            let mut dims = vec![2, 3, 4];
            dims[axis] = 1;
            let b = random_tensor(&dims, -1.0, 1.0, 62);
            dims[axis] = 2;
            let c = random_tensor(&dims, -1.0, 1.0, 63);
            assert_gradcheck(
                "concat",
                |t, v| concat(t, &[&v[0], &v[1], &v[2]], axis),
                &[a.clone(), b, c],
                64,
            );
        }
    }

    #[test]
    fn narrow_gradcheck_x() {
        let x = random_tensor(&[2, 5, 3], -1.0, 1.0, 65);
        assert_gradcheck(
            "narrow time",
            |t, v| narrow(t, &v[0], 2, 1, 2),
            std::slice::from_ref(&x),
            66,
        );
        assert_gradcheck("narrow channel", |t, v| narrow(t, &v[0], 1, 4, 1), &[x], 67);
    }

    #[test]
    fn split_gradcheck_x_with_pieces_reused() {
        // Pieces combined non-trivially: y = concat(b ⊙ b, a) so each piece's gradient differs.
        let x = random_tensor(&[2, 6, 3], -1.0, 1.0, 68);
        assert_gradcheck(
            "split",
            |t, v| {
                let p = split(t, &v[0], 1, &[2, 4])?;
                let bb = mul(t, &p[1], &p[1])?;
                concat(t, &[&bb, &p[0]], 1)
            },
            &[x],
            69,
        );
    }

    #[test]
    fn concat_places_elements_and_validates() {
        let mut t = Tape::<f64>::new();
        let a = t.input(tensor(Shape::d2(2, 1), vec![1., 2.]));
        let b = t.input(tensor(Shape::d2(2, 2), vec![3., 4., 5., 6.]));
        let y = concat(&mut t, &[&a, &b], 1).unwrap();
        assert_eq!(y.value().data(), &[1., 3., 4., 2., 5., 6.]);
        assert!(concat(&mut t, &[&a, &b], 0).is_err());
        assert!(concat::<f64>(&mut t, &[], 0).is_err());
        assert!(split(&mut t, &b, 1, &[1, 2]).is_err());
        assert!(narrow(&mut t, &b, 2, 0, 1).is_err());
    }
}
