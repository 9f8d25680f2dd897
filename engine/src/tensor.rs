//! [`Tensor`]: owned, contiguous, row-major storage plus a [`Shape`].
//!
//! # Invariants (for implementors of ops)
//! - The data is always contiguous, row-major, starting at offset 0: element `[n, c, t]` of an
//!   NCL tensor is `data[(n·C + c)·L + t]`. No strides, no views, no offsets, so every kernel can
//!   take a plain slice.
//! - `data.len() == shape.numel()`, always.
//! - Clones are cheap: the buffer is an `Arc<Vec<T>>`. The autograd tape saves inputs by cloning.
//! - Mutation goes through [`Tensor::data_mut`], which copies only if the buffer is shared
//!   (`Arc::make_mut`), so a saved tensor can never be changed behind the tape's back.
//! - [`Tensor::reshape`] shares the buffer; a transpose or permute is an explicit copying op.
//! - When the last owner drops a large buffer it goes back to [`crate::pool`] instead of to
//!   malloc, and constructors ([`Tensor::zeros`], [`Tensor::full`], [`Tensor::for_overwrite`])
//!   take from there: steady-state training reuses the same memory every step.

use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use crate::error::{Error, Result};
use crate::real::Real;
use crate::shape::Shape;

/// A dense tensor of `f32` (default) or `f64`. See the module docs for its invariants.
#[derive(Clone, PartialEq)]
pub struct Tensor<T: Real = f32> {
    data: Arc<Buffer<T>>,
    shape: Shape,
}

/// The storage of a tensor: a `Vec` that goes back to [`crate::pool`] when dropped.
#[derive(PartialEq)]
struct Buffer<T: Real>(Vec<T>);

impl<T: Real> Clone for Buffer<T> {
    /// A copy in a pooled buffer (used by `Arc::make_mut` when a shared buffer is mutated).
    fn clone(&self) -> Self {
        let mut v = crate::pool::take_for_overwrite(self.0.len());
        v.copy_from_slice(&self.0);
        Buffer(v)
    }
}

impl<T: Real> Drop for Buffer<T> {
    fn drop(&mut self) {
        crate::pool::give_back(std::mem::take(&mut self.0));
    }
}

impl<T: Real> Tensor<T> {
    /// A tensor from a shape and a row-major buffer.
    ///
    /// # Errors
    /// [`Error::DataLength`] if `data.len()` is not the shape's element count.
    ///
    /// ```
    /// use ecgrad_engine::{Shape, Tensor};
    /// let t = Tensor::from_vec(Shape::d2(2, 3), vec![1.0f32, 2., 3., 4., 5., 6.]).unwrap();
    /// assert_eq!(t.data()[4], 5.0);
    /// assert!(Tensor::from_vec(Shape::d2(2, 3), vec![1.0f32; 5]).is_err());
    /// ```
    pub fn from_vec(shape: Shape, data: Vec<T>) -> Result<Tensor<T>> {
        if data.len() != shape.numel() {
            return Err(Error::DataLength {
                op: "Tensor::from_vec",
                expected: shape.numel(),
                got: data.len(),
                shape,
            });
        }
        Ok(Tensor {
            data: Arc::new(Buffer(data)),
            shape,
        })
    }

    /// A tensor of zeros.
    pub fn zeros(shape: Shape) -> Tensor<T> {
        Tensor::full(shape, T::ZERO)
    }

    /// A tensor with every element equal to `value`.
    pub fn full(shape: Shape, value: T) -> Tensor<T> {
        Tensor {
            data: Arc::new(Buffer(crate::pool::take_filled(shape.numel(), value))),
            shape,
        }
    }

    /// A tensor whose elements are unspecified (a reused buffer's old values; NaN in debug
    /// builds), for kernels that overwrite every element: it skips the zero fill of
    /// [`Tensor::zeros`].
    pub fn for_overwrite(shape: Shape) -> Tensor<T> {
        Tensor {
            data: Arc::new(Buffer(crate::pool::take_for_overwrite(shape.numel()))),
            shape,
        }
    }

    /// A rank-0 tensor holding one value.
    pub fn scalar(value: T) -> Tensor<T> {
        Tensor::full(Shape::scalar(), value)
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The dimensions, as a slice.
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.data.0.len()
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[T] {
        &self.data.0
    }

    /// Mutable access to the elements; copies the buffer first if another tensor shares it.
    pub fn data_mut(&mut self) -> &mut [T] {
        Arc::make_mut(&mut self.data).0.as_mut_slice()
    }

    /// The buffer, without a copy when this tensor is its only owner.
    pub fn into_vec(self) -> Vec<T> {
        match Arc::try_unwrap(self.data) {
            // Taking the Vec leaves an empty one for `Buffer::drop` to ignore.
            Ok(mut buffer) => std::mem::take(&mut buffer.0),
            Err(shared) => shared.0.clone(),
        }
    }

    /// The same elements under a new shape with the same element count (no copy).
    ///
    /// # Errors
    /// [`Error::DataLength`] if the element counts differ.
    pub fn reshape(&self, shape: Shape) -> Result<Tensor<T>> {
        if shape.numel() != self.numel() {
            return Err(Error::DataLength {
                op: "Tensor::reshape",
                expected: shape.numel(),
                got: self.numel(),
                shape,
            });
        }
        Ok(Tensor {
            data: Arc::clone(&self.data),
            shape,
        })
    }

    /// Whether two tensors share one buffer (used by tests of the no-copy guarantees).
    pub fn shares_buffer_with(&self, other: &Tensor<T>) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }

    /// Copies into an ndarray array of the same shape (the data side works with ndarray).
    pub fn to_ndarray(&self) -> ArrayD<T> {
        ArrayD::from_shape_vec(IxDyn(self.dims()), self.data.0.to_vec())
            .expect("invariant: data.len() == shape.numel()")
    }

    /// Builds a tensor from any ndarray array (copied into row-major order).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if the array has more than [`crate::shape::MAX_RANK`] axes.
    ///
    /// ```
    /// use ecgrad_engine::Tensor;
    /// let a = ndarray::arr2(&[[1.0f32, 2.0], [3.0, 4.0]]);
    /// let t = Tensor::from_ndarray(&a.t()).unwrap(); // a transposed view is copied in order
    /// assert_eq!(t.data(), &[1.0, 3.0, 2.0, 4.0]);
    /// assert_eq!(t.to_ndarray().into_dimensionality::<ndarray::Ix2>().unwrap(), a.t());
    /// ```
    pub fn from_ndarray<S, D>(array: &ndarray::ArrayBase<S, D>) -> Result<Tensor<T>>
    where
        S: ndarray::Data<Elem = T>,
        D: ndarray::Dimension,
    {
        let shape = Shape::new(array.shape())?;
        // `iter()` walks in logical row-major order whatever the memory layout.
        Tensor::from_vec(shape, array.iter().copied().collect())
    }
}

impl<T: Real> std::fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 8;
        write!(f, "Tensor<{}>{} ", T::NAME, self.shape)?;
        let head: Vec<String> = self
            .data()
            .iter()
            .take(SHOWN)
            .map(|v| format!("{v:.4}"))
            .collect();
        let more = if self.numel() > SHOWN { ", …" } else { "" };
        write!(f, "[{}{more}]", head.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_shares_and_mutation_copies_when_shared() {
        let a = Tensor::from_vec(Shape::d2(2, 2), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let mut b = a.reshape(Shape::d1(4)).unwrap();
        assert!(a.shares_buffer_with(&b));
        b.data_mut()[0] = 9.0;
        assert_eq!(a.data()[0], 1.0, "a saved tensor must not change");
        assert!(a.reshape(Shape::d1(5)).is_err());
    }

    #[test]
    fn ndarray_round_trip_f64() {
        let arr = ndarray::Array3::<f64>::from_shape_fn((2, 3, 4), |(n, c, t)| {
            (n * 100 + c * 10 + t) as f64
        });
        let t = Tensor::from_ndarray(&arr).unwrap();
        assert_eq!(t.dims(), &[2, 3, 4]);
        assert_eq!(t.data()[(3 + 2) * 4 + 3], 123.0);
        assert_eq!(t.to_ndarray(), arr.into_dyn());
    }
}
