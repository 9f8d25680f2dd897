//! General matrix multiply, C ← α·A·B + β·C, over strided matrix views: A is m×k, B is k×n,
//! C is m×n, and the cost is 2·m·k·n FLOPs.
//!
//! Three implementations, one contract:
//! - [`naive`]: the triple loop, the specification every other path is tested against;
//! - [`mm`]: the single place that calls the `matrixmultiply` crate (`sgemm`/`dgemm`);
//! - [`blocked`]: our own BLIS-style packed GEMM over the [`crate::simd::gemm_kernel`]
//!   micro-kernel, the teaching version, benchmarked against `matrixmultiply`; the only one
//!   that uses the rayon pool.
//!
//! [`gemm`] validates the views, then picks the faster implementation for the shape. Transposes
//! cost nothing: [`MatRef::t`] swaps the strides. β = 0 overwrites C without reading it; β = 1
//! accumulates (backward kernels use it for `+=`).

use crate::error::{Error, Result};
use crate::real::Real;
use crate::shape::Shape;

pub mod blocked;
pub mod mm;
pub mod naive;
mod pack;

#[cfg(test)]
mod tests;

/// A read-only matrix view: element (i, j) is `data[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// A mutable matrix view with the same addressing as [`MatRef`]; its strides never alias.
#[derive(Debug)]
pub struct MatMut<'a, T> {
    data: &'a mut [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// The offset one past the largest element a view can reach, or an error if it exceeds `len`.
fn check_extent(
    op: &'static str,
    len: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let last = (rows - 1).checked_mul(row_stride).and_then(|r| {
        (cols - 1)
            .checked_mul(col_stride)
            .and_then(|c| r.checked_add(c))
    });
    match last {
        Some(last) if last < len => Ok(()),
        _ => Err(Error::InvalidParam {
            op,
            name: "strides",
            value: format!("({row_stride}, {col_stride})"),
            why: format!("a {rows}×{cols} view with these strides reaches past a buffer of {len}"),
        }),
    }
}

impl<'a, T: Real> MatRef<'a, T> {
    /// A strided view.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if the view reaches outside `data`.
    pub fn new(
        data: &'a [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self> {
        check_extent(
            "MatRef::new",
            data.len(),
            rows,
            cols,
            row_stride,
            col_stride,
        )?;
        Ok(MatRef {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// A dense row-major `rows × cols` view.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if `data` is shorter than `rows·cols`.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, rows, cols, cols, 1)
    }

    /// The transpose, as a view (no copy): rows and columns swap, and so do the strides.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Element (i, j).
    ///
    /// # Panics
    /// If (i, j) is out of range.
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> T {
        assert!(
            i < self.rows && j < self.cols,
            "MatRef::at({i}, {j}) out of range"
        );
        self.data[i * self.row_stride + j * self.col_stride]
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Distance between vertically adjacent elements.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }
    /// Distance between horizontally adjacent elements.
    pub fn col_stride(&self) -> usize {
        self.col_stride
    }
    /// The underlying buffer.
    pub fn data(&self) -> &'a [T] {
        self.data
    }
    /// Shape `[rows, cols]`, for messages.
    pub fn shape(&self) -> Shape {
        Shape::d2(self.rows, self.cols)
    }
}

impl<'a, T: Real> MatMut<'a, T> {
    /// A strided mutable view.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if the view reaches outside `data`, or if two different elements
    /// would share one memory location (the strides alias).
    pub fn new(
        data: &'a mut [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self> {
        check_extent(
            "MatMut::new",
            data.len(),
            rows,
            cols,
            row_stride,
            col_stride,
        )?;
        // No aliasing: one stride must step over a whole line of the other.
        let disjoint = rows <= 1 && (cols <= 1 || col_stride >= 1)
            || cols <= 1 && row_stride >= 1
            || (col_stride >= 1 && row_stride >= cols * col_stride)
            || (row_stride >= 1 && col_stride >= rows * row_stride);
        if !disjoint {
            return Err(Error::InvalidParam {
                op: "MatMut::new",
                name: "strides",
                value: format!("({row_stride}, {col_stride})"),
                why: format!("elements of a {rows}×{cols} output would overlap"),
            });
        }
        Ok(MatMut {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// A dense row-major `rows × cols` mutable view.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] if `data` is shorter than `rows·cols`.
    pub fn row_major(data: &'a mut [T], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, rows, cols, cols, 1)
    }

    /// Reborrows as a read-only view.
    pub fn as_ref(&self) -> MatRef<'_, T> {
        MatRef {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }

    /// Reborrows mutably (so a view can be passed on and used again afterwards).
    pub fn rb(&mut self) -> MatMut<'_, T> {
        MatMut {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }

    /// Mutable element (i, j).
    ///
    /// # Panics
    /// If (i, j) is out of range.
    #[inline]
    pub fn at_mut(&mut self, i: usize, j: usize) -> &mut T {
        assert!(
            i < self.rows && j < self.cols,
            "MatMut::at_mut({i}, {j}) out of range"
        );
        &mut self.data[i * self.row_stride + j * self.col_stride]
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Distance between vertically adjacent elements.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }
    /// Distance between horizontally adjacent elements.
    pub fn col_stride(&self) -> usize {
        self.col_stride
    }
    /// The underlying buffer.
    pub fn data_mut(&mut self) -> &mut [T] {
        self.data
    }
    /// Shape `[rows, cols]`, for messages.
    pub fn shape(&self) -> Shape {
        Shape::d2(self.rows, self.cols)
    }
}

/// Which implementation computes a GEMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmImpl {
    /// The triple loop ([`naive`]).
    Naive,
    /// The `matrixmultiply` crate ([`mm`]).
    MatrixMultiply,
    /// Our BLIS-style packed GEMM over the SIMD micro-kernel ([`blocked`]).
    Blocked,
}

/// Checks that A (m×k), B (k×n) and C (m×n) agree.
fn check_dims<T: Real>(a: &MatRef<'_, T>, b: &MatRef<'_, T>, c: &MatMut<'_, T>) -> Result<()> {
    if a.cols != b.rows {
        return Err(Error::ShapeMismatch {
            op: "gemm",
            detail: format!("A has {} columns but B has {} rows", a.cols, b.rows),
            lhs_name: "A",
            lhs: a.shape(),
            rhs_name: "B",
            rhs: b.shape(),
        });
    }
    if c.rows != a.rows || c.cols != b.cols {
        return Err(Error::ShapeMismatch {
            op: "gemm",
            detail: format!("C must be {}×{} (rows of A × columns of B)", a.rows, b.cols),
            lhs_name: "C",
            lhs: c.shape(),
            rhs_name: "A·B",
            rhs: Shape::d2(a.rows, b.cols),
        });
    }
    Ok(())
}

/// C ← α·A·B + β·C with the implementation chosen for this shape (see [`choose_impl`]).
///
/// # Errors
/// [`Error::ShapeMismatch`] if the inner or outer dimensions disagree; [`Error::Isa`] if
/// `ECGRAD_ISA` is invalid.
///
/// ```
/// use ecgrad_engine::gemm::{gemm, MatMut, MatRef};
/// let a = [1.0f32, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [1.0f32, 0.0, 0.0, 1.0]; // identity
/// let mut c = [0.0f32; 4];
/// // C = Aᵀ·B via the transposed view, no copy.
/// let a = MatRef::row_major(&a, 2, 2).unwrap().t();
/// gemm(1.0, a, MatRef::row_major(&b, 2, 2).unwrap(), 0.0,
///      MatMut::row_major(&mut c, 2, 2).unwrap()).unwrap();
/// assert_eq!(c, [1.0, 3.0, 2.0, 4.0]);
/// ```
pub fn gemm<T: Real>(
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: MatMut<'_, T>,
) -> Result<()> {
    check_dims(&a, &b, &c)?;
    let which = choose_impl::<T>(a.rows, a.cols, b.cols);
    gemm_with(which, alpha, a, b, beta, c)
}

/// The implementation [`gemm`] uses for an m×k by k×n product in type `T`, on this thread's ISA
/// and rayon pool.
///
/// The rule, and the measurements behind it: GFLOP/s of one thread, f32, AVX2, computed from
/// the thread's CPU time (`/proc/thread-self/schedstat`) over repeated calls, two runs each, on
/// the shared 2-vCPU Zen 4 machine while ~8 other jobs loaded it (so ±10 %; peak 116):
///
/// | m×k×n | blocked | matrixmultiply |
/// |---|---|---|
/// | 16³ | 21 | 29–48 |
/// | 32³ | 55–62 | 59–67 |
/// | 32×5×187 (conv, small k) | 23–29 | 41–43 |
/// | 32×32×187 | 65–66 | 74–78 |
/// | 256×256×8 (thin n) | 33–36 | 41–42 |
/// | 64³ | 80–83 | 74–79 |
/// | 96³ | 92–102 | 78–91 |
/// | 128³ | 99–102 | 89–93 |
/// | 128×9×4096 (small k) | 38–39 | 37–38 |
/// | 128×16×1024 | 59–61 | 62–63 |
/// | 128×32×1024 | 75 | 72–75 |
/// | 128×64×1024 | 82–90 | 75–84 |
/// | 64×160×187 | 87–89 | 80–93 |
/// | 256³ | 100–101 | 83–97 |
/// | 1024³ | 94–99 | 88–89 |
/// | 64×320×5984 | 64–67 | 64–75 |
///
/// - Not f32 on AVX2 → `matrixmultiply`: our f64 (and scalar/NEON f32) micro-kernel is the
///   portable loop, while `matrixmultiply` has its own SIMD kernels. (NEON: not measured yet.)
/// - Thin products (m < 8 or n < 16) → `matrixmultiply`: most of each 6×16 tile would be padding.
/// - Small products (m·k·n < 64³) → `matrixmultiply`: its fixed per-call cost is lower.
/// - Small k (< 32) on one thread → `matrixmultiply`: our kernel's per-call cost (C tile
///   prefetch, load and store) is paid every k < 32 steps.
/// - Everything else → `blocked`: as fast or faster on one thread from 64³ up, and it is the
///   one that uses the rayon pool (`matrixmultiply`'s own threading is off, DESIGN.md §2.11),
///   so with more threads and m·k·n ≥ [`blocked::PAR_MIN_MACS`] it splits the rows of C over
///   them (small k included).
pub fn choose_impl<T: Real>(m: usize, k: usize, n: usize) -> GemmImpl {
    let f32_simd = std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>()
        && crate::simd::try_isa() == Ok(crate::simd::Isa::Avx2Fma);
    let macs = m.saturating_mul(k).saturating_mul(n);
    let threaded = crate::parallel::current_threads() > 1 && macs >= blocked::PAR_MIN_MACS;
    if f32_simd && m >= 8 && n >= 16 && macs >= 64 * 64 * 64 && (k >= 32 || threaded) {
        GemmImpl::Blocked
    } else {
        GemmImpl::MatrixMultiply
    }
}

/// C ← α·A·B + β·C with a chosen implementation (tests and benches compare them).
///
/// # Errors
/// [`Error::ShapeMismatch`] if the inner or outer dimensions disagree; [`Error::Isa`] if
/// `ECGRAD_ISA` is invalid.
pub fn gemm_with<T: Real>(
    which: GemmImpl,
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: MatMut<'_, T>,
) -> Result<()> {
    check_dims(&a, &b, &c)?;
    // The blocked f32 path runs the SIMD kernel, which needs a valid ECGRAD_ISA.
    crate::simd::try_isa()?;
    match which {
        GemmImpl::Naive => naive::gemm(alpha, a, b, beta, c),
        GemmImpl::MatrixMultiply => T::mm_gemm(alpha, a, b, beta, c),
        GemmImpl::Blocked => blocked::gemm(alpha, a, b, beta, c),
    }
    Ok(())
}
