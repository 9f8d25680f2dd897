//! Matrix multiply on tensors, with transpose flags instead of transposed copies.
//!
//! # What it computes
//! C = op(A) · op(B), where op(A) = Aᵀ if `trans_a` else A (likewise for B):
//! C\[i,j\] = Σₚ op(A)\[i,p\] · op(B)\[p,j\].
//!
//! # Shapes (m × k times k × n gives m × n)
//! - rank 2:         A `[m, k]` (`[k, m]` if trans_a), B `[k, n]` (`[n, k]` if trans_b) → C `[m, n]`
//! - batched:        A `[batch, m, k]`, B `[batch, k, n]` → C `[batch, m, n]`
//! - shared B:       A `[batch, m, k]`, B `[k, n]`        → C `[batch, m, n]` (one weight for
//!   every sample, as in a linear layer applied per time step)
//!
//! The flags never copy: a transposed operand is the same buffer read through a
//! [`MatRef::t`] view whose strides are swapped. This is how attention (Q·Kᵀ) and the LSTM
//! (x·Wᵀ) avoid materialising transposes.
//!
//! # Cost
//! 2·batch·m·n·k FLOPs forward; the same again for each of dA and dB.
//!
//! # Gradients (backward kernels **accumulate**, through GEMM's β = 1)
//! With C = op(A)·op(B) and upstream gradient dC (m × n):
//! - d op(A) = dC · op(B)ᵀ   (m × k); if trans_a, A = op(A)ᵀ so dA = (dC · op(B)ᵀ)ᵀ, which is the
//!   same product written into dA through a transposed (column-major) output view
//! - d op(B) = op(A)ᵀ · dC   (k × n); likewise transposed into dB if trans_b
//! - shared B: dB = Σ_batch op(A_b)ᵀ · dC_b, summed over the batch in a fixed order
//!
//! # How the fast version differs from the naive twins
//! The `_naive` functions are triple loops over explicit index formulas. The fast kernels call
//! [`gemm::gemm`] (matrixmultiply's packed, SIMD GEMM) on strided views. Shared-B products with
//! an untransposed A are a *single* GEMM on A flattened to `[batch·m, k]` (rows of consecutive
//! samples are contiguous), including the batch-summed dB, which is then one GEMM with inner
//! dimension batch·m instead of a loop of small ones. Batched products run one GEMM per sample,
//! spread over rayon threads when the work exceeds [`GRAIN`]; each output block is written by
//! one GEMM with a fixed order, so results never depend on the thread count.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::gemm::{self, MatMut, MatRef};
use crate::ops::elementwise::{GradPair, check_nonempty};
use crate::parallel::{GRAIN, current_threads};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

mod naive;
pub use naive::*;

#[cfg(test)]
mod tests;

/// Which operands are read transposed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatmulParams {
    /// Use Aᵀ: A is stored `[k, m]` (per batch).
    pub trans_a: bool,
    /// Use Bᵀ: B is stored `[n, k]` (per batch, or shared).
    pub trans_b: bool,
}

/// Validated sizes of a (batched) product: op(A_b) is m × k, op(B_b) is k × n.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulDims {
    /// Number of independent products (1 for rank-2 inputs).
    pub batch: usize,
    /// Rows of op(A) and of C.
    pub m: usize,
    /// Inner dimension.
    pub k: usize,
    /// Columns of op(B) and of C.
    pub n: usize,
    /// Whether B has one matrix per batch element (`false`: one B shared by all).
    pub b_batched: bool,
}

// ---------------------------------------------------------------------------------------------
// Views: the only place the flags turn into strides
// ---------------------------------------------------------------------------------------------

const VIEW: &str = "invariant: buffer sizes were checked against MatmulDims";

/// op(A) of batch element `bi` as an m × k view.
fn op_a<T: Real>(a: &[T], d: MatmulDims, p: MatmulParams, bi: usize) -> MatRef<'_, T> {
    let a = &a[bi * d.m * d.k..(bi + 1) * d.m * d.k];
    if p.trans_a {
        MatRef::row_major(a, d.k, d.m).expect(VIEW).t()
    } else {
        MatRef::row_major(a, d.m, d.k).expect(VIEW)
    }
}

/// op(B) of batch element `bi` (the shared B when not batched) as a k × n view.
fn op_b<T: Real>(b: &[T], d: MatmulDims, p: MatmulParams, bi: usize) -> MatRef<'_, T> {
    let bi = if d.b_batched { bi } else { 0 };
    let b = &b[bi * d.k * d.n..(bi + 1) * d.k * d.n];
    if p.trans_b {
        MatRef::row_major(b, d.n, d.k).expect(VIEW).t()
    } else {
        MatRef::row_major(b, d.k, d.n).expect(VIEW)
    }
}

/// A rows × cols output view over a buffer stored row-major, or (when `transposed`) over a
/// buffer stored as its cols × rows transpose: then element (i, j) is at j·rows + i.
fn out_view<T: Real>(buf: &mut [T], rows: usize, cols: usize, transposed: bool) -> MatMut<'_, T> {
    if transposed {
        MatMut::new(buf, rows, cols, 1, rows).expect(VIEW)
    } else {
        MatMut::row_major(buf, rows, cols).expect(VIEW)
    }
}

#[track_caller]
fn check_lens(op: &str, d: MatmulDims, a: usize, b: usize, c: usize) {
    let b_want = if d.b_batched { d.batch } else { 1 } * d.k * d.n;
    assert!(
        a == d.batch * d.m * d.k && b == b_want && c == d.batch * d.m * d.n,
        "{op}: buffer lengths (A {a}, B {b}, C {c}) do not match {d:?}"
    );
}

/// Whether the shared-B product can be one GEMM over A flattened to `[batch·m, k]`.
fn flattenable(d: MatmulDims, p: MatmulParams) -> bool {
    !d.b_batched && !p.trans_a
}

/// Runs `f(bi, block)` for each batch element's block of `out` (`block_len` values each), on
/// several threads when the total work is above GRAIN.
fn per_batch<T: Real>(
    out: &mut [T],
    block_len: usize,
    work: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    if work <= GRAIN || current_threads() == 1 || out.len() == block_len {
        out.chunks_mut(block_len)
            .enumerate()
            .for_each(|(bi, o)| f(bi, o));
    } else {
        out.par_chunks_mut(block_len)
            .enumerate()
            .for_each(|(bi, o)| f(bi, o));
    }
}

// ---------------------------------------------------------------------------------------------
// Fast kernels
// ---------------------------------------------------------------------------------------------

/// C ← op(A)·op(B) for every batch element through [`gemm::gemm`]; overwrites C (β = 0).
///
/// # Panics
/// If a buffer length does not match `d`.
pub fn matmul_forward<T: Real>(a: &[T], b: &[T], c: &mut [T], d: MatmulDims, p: MatmulParams) {
    check_lens("matmul", d, a.len(), b.len(), c.len());
    if flattenable(d, p) {
        // Samples' rows are consecutive in A and C: one (batch·m) × k by k × n product.
        let a = MatRef::row_major(a, d.batch * d.m, d.k).expect(VIEW);
        let c = MatMut::row_major(c, d.batch * d.m, d.n).expect(VIEW);
        gemm::gemm(T::ONE, a, op_b(b, d, p, 0), T::ZERO, c).expect(VIEW);
        return;
    }
    per_batch(c, d.m * d.n, d.batch * d.m * d.n * d.k, |bi, cb| {
        let cv = MatMut::row_major(cb, d.m, d.n).expect(VIEW);
        gemm::gemm(T::ONE, op_a(a, d, p, bi), op_b(b, d, p, bi), T::ZERO, cv).expect(VIEW);
    });
}

/// Accumulates dA: d op(A) += dC·op(B)ᵀ (β = 1), written through a transposed view when
/// `trans_a`, so dA has A's storage layout.
///
/// # Panics
/// If a buffer length does not match `d` (`dc` has C's length, `da` A's).
pub fn matmul_backward_a<T: Real>(dc: &[T], b: &[T], da: &mut [T], d: MatmulDims, p: MatmulParams) {
    check_lens("matmul_backward_a", d, da.len(), b.len(), dc.len());
    if flattenable(d, p) {
        let dc = MatRef::row_major(dc, d.batch * d.m, d.n).expect(VIEW);
        let da = MatMut::row_major(da, d.batch * d.m, d.k).expect(VIEW);
        gemm::gemm(T::ONE, dc, op_b(b, d, p, 0).t(), T::ONE, da).expect(VIEW);
        return;
    }
    per_batch(da, d.m * d.k, d.batch * d.m * d.n * d.k, |bi, dab| {
        let dcb = MatRef::row_major(&dc[bi * d.m * d.n..][..d.m * d.n], d.m, d.n).expect(VIEW);
        let dav = out_view(dab, d.m, d.k, p.trans_a);
        gemm::gemm(T::ONE, dcb, op_b(b, d, p, bi).t(), T::ONE, dav).expect(VIEW);
    });
}

/// Accumulates dB: d op(B) += op(A)ᵀ·dC (β = 1), written through a transposed view when
/// `trans_b`. For a shared B the batch is summed in a fixed order: one GEMM with inner dimension
/// batch·m when A is untransposed, else sample by sample in batch order.
///
/// # Panics
/// If a buffer length does not match `d` (`dc` has C's length, `db` B's).
pub fn matmul_backward_b<T: Real>(a: &[T], dc: &[T], db: &mut [T], d: MatmulDims, p: MatmulParams) {
    check_lens("matmul_backward_b", d, a.len(), db.len(), dc.len());
    if flattenable(d, p) {
        let a = MatRef::row_major(a, d.batch * d.m, d.k).expect(VIEW);
        let dc = MatRef::row_major(dc, d.batch * d.m, d.n).expect(VIEW);
        let dbv = out_view(db, d.k, d.n, p.trans_b);
        gemm::gemm(T::ONE, a.t(), dc, T::ONE, dbv).expect(VIEW);
        return;
    }
    let step = |bi: usize, dbb: &mut [T]| {
        let dcb = MatRef::row_major(&dc[bi * d.m * d.n..][..d.m * d.n], d.m, d.n).expect(VIEW);
        let dbv = out_view(dbb, d.k, d.n, p.trans_b);
        gemm::gemm(T::ONE, op_a(a, d, p, bi).t(), dcb, T::ONE, dbv).expect(VIEW);
    };
    if d.b_batched {
        per_batch(db, d.k * d.n, d.batch * d.m * d.n * d.k, step);
    } else {
        // Shared B with a transposed A: a reduction over the batch, kept sequential so that
        // the summation order (sample 0, 1, 2, …) is fixed.
        for bi in 0..d.batch {
            step(bi, db);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tensor layer
// ---------------------------------------------------------------------------------------------

/// Checks the shapes of A and B against the flags and returns the product's dimensions.
///
/// # Errors
/// [`Error::ShapeMismatch`] naming both shapes and both flags when the ranks are not
/// (2, 2), (3, 3) or (3, 2), the batch sizes differ, or the inner dimensions differ;
/// [`Error::EmptyOutput`] if A or B has no elements.
pub fn matmul_dims(a: Shape, b: Shape, p: MatmulParams) -> Result<MatmulDims> {
    let flags = format!("trans_a = {}, trans_b = {}", p.trans_a, p.trans_b);
    let mismatch = |detail: String| Error::ShapeMismatch {
        op: "matmul",
        detail: format!("{detail} ({flags})"),
        lhs_name: "A",
        lhs: a,
        rhs_name: "B",
        rhs: b,
    };
    let (batch, a_mat, b_mat, b_batched) = match (a.dims(), b.dims()) {
        (&[r, c], &[r2, c2]) => (1, (r, c), (r2, c2), false),
        (&[n, r, c], &[r2, c2]) => (n, (r, c), (r2, c2), false),
        (&[n, r, c], &[n2, r2, c2]) if n == n2 => (n, (r, c), (r2, c2), true),
        (&[n, _, _], &[n2, _, _]) => {
            return Err(mismatch(format!("batch sizes differ ({n} vs {n2})")));
        }
        _ => {
            return Err(mismatch(
                "A must be rank 2 or 3 and B rank 2 (shared) or the rank of A".into(),
            ));
        }
    };
    let (m, k) = if p.trans_a { (a_mat.1, a_mat.0) } else { a_mat };
    let (k2, n) = if p.trans_b { (b_mat.1, b_mat.0) } else { b_mat };
    if k != k2 {
        return Err(mismatch(format!(
            "op(A) is {m}×{k} but op(B) is {k2}×{n}: inner dimensions {k} and {k2} differ"
        )));
    }
    check_nonempty("matmul", "A", a)?;
    check_nonempty("matmul", "B", b)?;
    Ok(MatmulDims {
        batch,
        m,
        k,
        n,
        b_batched,
    })
}

/// The shape of C for validated dimensions (rank 3 when A was rank 3).
fn c_shape(a: Shape, d: MatmulDims) -> Shape {
    if a.rank() == 3 {
        Shape::d3(d.batch, d.m, d.n)
    } else {
        Shape::d2(d.m, d.n)
    }
}

/// C = op(A)·op(B) (see the module doc for the accepted shapes).
///
/// # Errors
/// The errors of [`matmul_dims`]; [`Error::Isa`] for a bad `ECGRAD_ISA`.
///
/// ```
/// use ecgrad_engine::{ops::matmul::{matmul, MatmulParams}, Shape, Tensor};
/// let a = Tensor::from_vec(Shape::d2(2, 2), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
/// let id = Tensor::from_vec(Shape::d2(2, 2), vec![1.0f32, 0.0, 0.0, 1.0]).unwrap();
/// let p = MatmulParams { trans_a: true, trans_b: false };
/// assert_eq!(matmul(&a, &id, p).unwrap().data(), &[1.0, 3.0, 2.0, 4.0]); // Aᵀ, no copy made
/// ```
pub fn matmul<T: Real>(a: &Tensor<T>, b: &Tensor<T>, p: MatmulParams) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let d = matmul_dims(a.shape(), b.shape(), p)?;
    let mut c = vec![T::ZERO; d.batch * d.m * d.n];
    matmul_forward(a.data(), b.data(), &mut c, d, p);
    Tensor::from_vec(c_shape(a.shape(), d), c)
}

/// The gradients `(dA, dB)` of C = op(A)·op(B) for an upstream gradient `dc`, each computed only
/// if `need` asks for it; they have the shapes of A and B.
///
/// # Errors
/// The errors of [`matmul_dims`]; [`Error::ShapeMismatch`] if `dc` does not have C's shape.
pub fn matmul_grad<T: Real>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    dc: &Tensor<T>,
    p: MatmulParams,
    need: (bool, bool),
) -> Result<GradPair<T>> {
    crate::simd::try_isa()?;
    let d = matmul_dims(a.shape(), b.shape(), p)?;
    let want = c_shape(a.shape(), d);
    if dc.shape() != want {
        return Err(Error::ShapeMismatch {
            op: "matmul_grad",
            detail: format!(
                "dC must have the shape of C = op(A)·op(B), {want} (trans_a = {}, trans_b = {})",
                p.trans_a, p.trans_b
            ),
            lhs_name: "C",
            lhs: want,
            rhs_name: "dC",
            rhs: dc.shape(),
        });
    }
    let da = if need.0 {
        let mut da = vec![T::ZERO; a.numel()];
        matmul_backward_a(dc.data(), b.data(), &mut da, d, p);
        Some(Tensor::from_vec(a.shape(), da)?)
    } else {
        None
    };
    let db = if need.1 {
        let mut db = vec![T::ZERO; b.numel()];
        matmul_backward_b(a.data(), dc.data(), &mut db, d, p);
        Some(Tensor::from_vec(b.shape(), db)?)
    } else {
        None
    };
    Ok((da, db))
}
