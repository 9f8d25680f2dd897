//! [`Shape`]: the dimensions of a tensor, rank 0 to 4, stored inline (no heap allocation).
//!
//! Tensors are always contiguous and row-major, so the shape alone fixes where every element is:
//! element `[i0, i1, i2]` of a `[d0, d1, d2]` tensor lives at `(i0·d1 + i1)·d2 + i2`.

use crate::error::{Error, Result};
use std::fmt;

/// The largest rank a tensor can have. NCL conv tensors are rank 3, NCHW and conv2d weights 4.
pub const MAX_RANK: usize = 4;

/// The dimensions of a tensor: a small `Copy` value, rank 0 (a scalar) to [`MAX_RANK`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: u8,
}

impl Shape {
    /// A shape from its dimensions.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if more than [`MAX_RANK`] dimensions are given.
    ///
    /// ```
    /// use ecgrad_engine::Shape;
    /// let s = Shape::new(&[32, 12, 3600]).unwrap();
    /// assert_eq!(s.numel(), 32 * 12 * 3600);
    /// assert_eq!(s.to_string(), "[32, 12, 3600]");
    /// ```
    pub fn new(dims: &[usize]) -> Result<Shape> {
        if dims.len() > MAX_RANK {
            return Err(Error::InvalidParam {
                op: "Shape::new",
                name: "rank",
                value: dims.len().to_string(),
                why: format!("at most {MAX_RANK} dimensions are supported (got {dims:?})"),
            });
        }
        let mut d = [0usize; MAX_RANK];
        d[..dims.len()].copy_from_slice(dims);
        Ok(Shape {
            dims: d,
            rank: dims.len() as u8,
        })
    }

    /// A rank-0 shape (one element).
    pub fn scalar() -> Shape {
        Shape {
            dims: [0; MAX_RANK],
            rank: 0,
        }
    }

    /// Shorthand constructors for the common ranks; they cannot fail.
    pub fn d1(a: usize) -> Shape {
        Shape {
            dims: [a, 0, 0, 0],
            rank: 1,
        }
    }
    /// Rank-2 shape `[a, b]` (e.g. a matrix, rows × columns).
    pub fn d2(a: usize, b: usize) -> Shape {
        Shape {
            dims: [a, b, 0, 0],
            rank: 2,
        }
    }
    /// Rank-3 shape `[a, b, c]` (e.g. NCL or NTF).
    pub fn d3(a: usize, b: usize, c: usize) -> Shape {
        Shape {
            dims: [a, b, c, 0],
            rank: 3,
        }
    }
    /// Rank-4 shape `[a, b, c, d]` (e.g. NCHW).
    pub fn d4(a: usize, b: usize, c: usize, d: usize) -> Shape {
        Shape {
            dims: [a, b, c, d],
            rank: 4,
        }
    }

    /// The dimensions as a slice of length `rank()`.
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank as usize]
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    /// Number of elements: the product of the dimensions (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.dims().iter().product()
    }

    /// Row-major strides: `strides[i]` is the distance between neighbours along axis `i`.
    pub fn strides(&self) -> [usize; MAX_RANK] {
        let mut s = [0usize; MAX_RANK];
        let mut acc = 1;
        for i in (0..self.rank()).rev() {
            s[i] = acc;
            acc *= self.dims[i];
        }
        s
    }

    /// The dimensions of a rank-2 shape, or a [`Error::BadRank`] naming `op` and `arg`.
    ///
    /// # Errors
    /// [`Error::BadRank`] when the rank is not 2.
    pub fn dims2(&self, op: &'static str, arg: &'static str) -> Result<(usize, usize)> {
        self.expect_rank(op, arg, 2, "rows, columns")?;
        Ok((self.dims[0], self.dims[1]))
    }

    /// The dimensions of a rank-3 shape (conv tensors are `N, C, L`).
    ///
    /// # Errors
    /// [`Error::BadRank`] when the rank is not 3.
    pub fn dims3(&self, op: &'static str, arg: &'static str) -> Result<(usize, usize, usize)> {
        self.expect_rank(op, arg, 3, "N, C, L")?;
        Ok((self.dims[0], self.dims[1], self.dims[2]))
    }

    /// The dimensions of a rank-4 shape (2D conv tensors are `N, C, H, W`).
    ///
    /// # Errors
    /// [`Error::BadRank`] when the rank is not 4.
    pub fn dims4(
        &self,
        op: &'static str,
        arg: &'static str,
    ) -> Result<(usize, usize, usize, usize)> {
        self.expect_rank(op, arg, 4, "N, C, H, W")?;
        Ok((self.dims[0], self.dims[1], self.dims[2], self.dims[3]))
    }

    fn expect_rank(
        &self,
        op: &'static str,
        arg: &'static str,
        expected: usize,
        layout: &'static str,
    ) -> Result<()> {
        if self.rank() == expected {
            Ok(())
        } else {
            Err(Error::BadRank {
                op,
                arg,
                expected,
                layout,
                got: *self,
            })
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_are_row_major() {
        let s = Shape::d3(2, 3, 4);
        assert_eq!(&s.strides()[..3], &[12, 4, 1]);
        assert_eq!(s.numel(), 24);
        assert_eq!(Shape::scalar().numel(), 1);
    }

    #[test]
    fn rank_errors_name_the_op_and_shape() {
        let e = Shape::d2(3, 4).dims3("conv1d", "input").unwrap_err();
        assert_eq!(
            e.to_string(),
            "conv1d: input must have rank 3 (N, C, L), got shape [3, 4]"
        );
        assert!(Shape::new(&[1, 2, 3, 4, 5]).is_err());
    }
}
