//! Elementwise ops: add, sub, mul, div, scale, axpy, and the channel-broadcast bias add.
//!
//! # What it computes
//! For two tensors of the **same shape** (no general broadcasting; the one broadcast the ECG
//! models need, a per-channel bias, has its own op):
//! - `add`:   yᵢ = aᵢ + bᵢ          `sub`: yᵢ = aᵢ − bᵢ
//! - `mul`:   yᵢ = aᵢ · bᵢ          `div`: yᵢ = aᵢ / bᵢ
//! - `scale`: yᵢ = α · xᵢ           `axpy`: yᵢ = α · xᵢ + zᵢ
//! - `bias_add_ncl`: y\[n,c,t\] = x\[n,c,t\] + b\[c\]  (x is NCL `[N, C, L]`, b is `[C]`)
//!
//! # Cost
//! One FLOP per element (two for `axpy`), so these ops are bound by memory bandwidth, not
//! arithmetic: a whole pass reads and writes every element once.
//!
//! # Gradients (every backward kernel **accumulates**: `d· += …`)
//! - add:   da += dy,        db += dy
//! - sub:   da += dy,        db −= dy
//! - mul:   da += dy ⊙ b,    db += dy ⊙ a
//! - div:   da += dy / b,    db −= dy ⊙ a / b²   (∂(a/b)/∂b = −a/b²)
//! - scale: dx += α · dy
//! - axpy:  dx += α · dy,    dz += dy
//! - bias:  dx += dy,        db\[c\] += Σ_{n,t} dy\[n,c,t\]
//!
//! # How the fast version differs from the naive twins
//! The `_naive` functions are one plain loop per formula. The fast kernels call the [`Real`]
//! vector primitives (`T::vec_add`, `T::vec_mul`, `T::vec_axpy`, …), which run AVX2/NEON code
//! for f32 and plain loops for f64, and split buffers longer than [`GRAIN`] into fixed chunks
//! processed by rayon (`for_each_chunk`). Each output element is still computed by exactly one
//! formula, so the result does not depend on the thread count. The one reduction here, the bias
//! gradient, sums per-sample partials in a fixed block order ([`block_reduce`]), so it is
//! bit-identical at 1 and N threads.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::parallel::{GRAIN, block_reduce, current_threads};
use crate::real::Real;
use crate::shape::Shape;

mod naive;
#[cfg(test)]
pub(crate) mod testkit;
pub use naive::*;

mod tensor_layer;
pub use tensor_layer::*;

#[cfg(test)]
mod tests;

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by activation.rs, dropout.rs, softmax.rs)
// ---------------------------------------------------------------------------------------------

/// Runs `f(inputs_chunk, out_chunk)` over matching chunks of `K` input slices and one output.
///
/// Below [`GRAIN`] elements (or on one thread) `f` sees the whole buffers at once; above it the
/// buffers are cut into chunks of `GRAIN` elements handed to rayon. Chunk boundaries depend only
/// on the length, and `f` must compute each output element from the same-index inputs only, so
/// the result is identical whatever the thread count.
///
/// # Panics
/// If an input is shorter than `out`.
pub(crate) fn for_each_chunk<const K: usize, T: Real>(
    inputs: [&[T]; K],
    out: &mut [T],
    f: impl Fn([&[T]; K], &mut [T]) + Sync,
) {
    let n = out.len();
    for x in &inputs {
        assert!(x.len() >= n, "for_each_chunk: input shorter than output");
    }
    if n <= GRAIN || current_threads() == 1 {
        f(inputs.map(|x| &x[..n]), out);
    } else {
        out.par_chunks_mut(GRAIN).enumerate().for_each(|(i, o)| {
            let start = i * GRAIN;
            f(inputs.map(|x| &x[start..start + o.len()]), o);
        });
    }
}

/// dst ← dst + a ⊙ b, built from the SIMD primitives (`vec_mul` into a small stack buffer,
/// then `vec_axpy` with α = 1, which adds exactly because 1·t is exact under FMA).
pub(crate) fn mul_accumulate<T: Real>(a: &[T], b: &[T], dst: &mut [T]) {
    const TILE: usize = 256;
    let mut tmp = [T::ZERO; TILE];
    for ((d, a), b) in dst.chunks_mut(TILE).zip(a.chunks(TILE)).zip(b.chunks(TILE)) {
        let t = &mut tmp[..d.len()];
        T::vec_mul(a, b, t);
        T::vec_axpy(T::ONE, t, d);
    }
}

/// [`Error::EmptyOutput`] if `shape` has no elements: ecgrad never makes zero-length tensors,
/// so an empty input is a caller bug reported here, by name, rather than deep in a kernel.
pub(crate) fn check_nonempty(op: &'static str, arg: &str, shape: Shape) -> Result<()> {
    if shape.numel() == 0 {
        return Err(Error::EmptyOutput {
            op,
            detail: format!("{arg} {shape} has no elements"),
        });
    }
    Ok(())
}

/// [`Error::ShapeMismatch`] unless `a` and `b` have exactly the same shape.
pub(crate) fn check_same_shape(
    op: &'static str,
    (a_name, a): (&'static str, Shape),
    (b_name, b): (&'static str, Shape),
) -> Result<()> {
    if a != b {
        return Err(Error::ShapeMismatch {
            op,
            detail: format!("{a_name} and {b_name} must have the same shape (no broadcasting)"),
            lhs_name: a_name,
            lhs: a,
            rhs_name: b_name,
            rhs: b,
        });
    }
    Ok(())
}

/// Which same-shape binary op (used by the naive twins and the tensor layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// a + b
    Add,
    /// a − b
    Sub,
    /// a · b
    Mul,
    /// a / b
    Div,
}

impl BinaryOp {
    /// The op name, for messages (`"add"`, …).
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fast kernels on slices
// ---------------------------------------------------------------------------------------------

/// out ← a ∘ b elementwise, SIMD for f32 and chunked over threads above [`GRAIN`].
///
/// `sub` is computed as out = a, then out ← out + (−1)·b (one `vec_axpy`): with or without FMA,
/// a + (−1)·b rounds exactly like a − b. `div` has no vector primitive and is a plain loop
/// (the compiler vectorises it for the baseline ISA).
///
/// # Panics
/// If the three lengths differ.
pub fn binary_forward<T: Real>(op: BinaryOp, a: &[T], b: &[T], out: &mut [T]) {
    assert!(
        a.len() == out.len() && b.len() == out.len(),
        "{}: lengths differ",
        op.name()
    );
    for_each_chunk([a, b], out, |[a, b], out| match op {
        BinaryOp::Add => T::vec_add(a, b, out),
        BinaryOp::Mul => T::vec_mul(a, b, out),
        BinaryOp::Sub => {
            out.copy_from_slice(a);
            T::vec_axpy(-T::ONE, b, out);
        }
        BinaryOp::Div => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = x / y;
            }
        }
    });
}

/// Accumulates `da += ∂y/∂a ⊙ dy` and `db += ∂y/∂b ⊙ dy` for y = a ∘ b (formulas in the module
/// doc). Pass `None` for a gradient nobody needs: it is then not computed at all.
///
/// # Panics
/// If the lengths of `a`, `b`, `dy` and the given gradients differ.
pub fn binary_backward<T: Real>(
    op: BinaryOp,
    a: &[T],
    b: &[T],
    dy: &[T],
    da: Option<&mut [T]>,
    db: Option<&mut [T]>,
) {
    let n = dy.len();
    assert!(
        a.len() == n && b.len() == n,
        "{}_backward: lengths differ",
        op.name()
    );
    if let Some(da) = da {
        assert_eq!(da.len(), n, "{}_backward: da length", op.name());
        // The gradient of a needs dy and (for mul/div) b.
        for_each_chunk([dy, b], da, |[dy, b], da| match op {
            BinaryOp::Add | BinaryOp::Sub => T::vec_axpy(T::ONE, dy, da),
            BinaryOp::Mul => mul_accumulate(dy, b, da),
            BinaryOp::Div => {
                for ((d, &g), &bv) in da.iter_mut().zip(dy).zip(b) {
                    *d += g / bv;
                }
            }
        });
    }
    if let Some(db) = db {
        assert_eq!(db.len(), n, "{}_backward: db length", op.name());
        for_each_chunk([dy, a, b], db, |[dy, a, b], db| match op {
            BinaryOp::Add => T::vec_axpy(T::ONE, dy, db),
            BinaryOp::Sub => T::vec_axpy(-T::ONE, dy, db),
            BinaryOp::Mul => mul_accumulate(dy, a, db),
            BinaryOp::Div => {
                for (((d, &g), &av), &bv) in db.iter_mut().zip(dy).zip(a).zip(b) {
                    *d -= g * av / (bv * bv);
                }
            }
        });
    }
}

/// out ← α·x (copy, then `vec_scale`). The backward, dx += α·dy, is [`axpy_accumulate`].
///
/// # Panics
/// If the lengths differ.
pub fn scale_forward<T: Real>(alpha: T, x: &[T], out: &mut [T]) {
    assert_eq!(x.len(), out.len(), "scale: lengths differ");
    for_each_chunk([x], out, |[x], out| {
        out.copy_from_slice(x);
        T::vec_scale(alpha, out);
    });
}

/// Accumulates y ← y + α·x: the `axpy` forward (applied to a copy of z) and the backward of
/// `scale`, `axpy` and every "dx += dy" (α = 1).
///
/// # Panics
/// If the lengths differ.
pub fn axpy_accumulate<T: Real>(alpha: T, x: &[T], y: &mut [T]) {
    assert_eq!(x.len(), y.len(), "axpy: lengths differ");
    for_each_chunk([x], y, |[x], y| T::vec_axpy(alpha, x, y));
}

/// y\[n,c,t\] ← x\[n,c,t\] + b\[c\] on an NCL buffer: each (n, c) row of length `l` gets one
/// constant added. Rows are handed to threads in blocks of about [`GRAIN`] elements.
///
/// # Panics
/// If `x.len() != y.len() != n·c·l` or `b.len() != c`.
pub fn bias_add_ncl_forward<T: Real>(x: &[T], b: &[T], y: &mut [T], n: usize, c: usize, l: usize) {
    assert!(
        x.len() == n * c * l && y.len() == x.len() && b.len() == c,
        "bias_add_ncl: sizes"
    );
    let rows_per_task = (GRAIN / l.max(1)).max(1);
    let run = |first_row: usize, x: &[T], y: &mut [T]| {
        for (r, (yr, xr)) in y.chunks_mut(l).zip(x.chunks(l)).enumerate() {
            let bias = b[(first_row + r) % c];
            for (o, &v) in yr.iter_mut().zip(xr) {
                *o = v + bias;
            }
        }
    };
    if y.len() <= GRAIN || current_threads() == 1 {
        run(0, x, y);
    } else {
        y.par_chunks_mut(rows_per_task * l)
            .zip(x.par_chunks(rows_per_task * l))
            .enumerate()
            .for_each(|(i, (y, x))| run(i * rows_per_task, x, y));
    }
}

/// Accumulates db\[c\] += Σ_{n,t} dy\[n,c,t\], **bit-identical at any thread count**.
///
/// Samples are cut into blocks whose size depends only on the shape ([`block_reduce`]); each
/// block sums its rows with `vec_sum` into a private partial, and the partials are added in
/// block order. (The input gradient of the bias add is simply dx += dy: [`axpy_accumulate`].)
///
/// # Panics
/// If `dy.len() != n·c·l` or `db.len() != c`.
pub fn bias_add_ncl_backward_bias<T: Real>(dy: &[T], db: &mut [T], n: usize, c: usize, l: usize) {
    assert!(
        dy.len() == n * c * l && db.len() == c,
        "bias_add_ncl_backward_bias: sizes"
    );
    let samples_per_block = (GRAIN / (c * l).max(1)).max(1);
    block_reduce(n, samples_per_block, db, |ni, partial| {
        for (ci, p) in partial.iter_mut().enumerate() {
            let row = &dy[(ni * c + ci) * l..(ni * c + ci + 1) * l];
            *p += T::vec_sum(row);
        }
    });
}
