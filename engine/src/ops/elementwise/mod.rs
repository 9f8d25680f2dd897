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
//! processed by rayon ([`for_each_chunk`]). Each output element is still computed by exactly one
//! formula, so the result does not depend on the thread count. The one reduction here, the bias
//! gradient, sums per-sample partials in a fixed block order ([`block_reduce`]), so it is
//! bit-identical at 1 and N threads.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::parallel::{GRAIN, block_reduce, current_threads};
use crate::real::Real;
use crate::shape::Shape;
use crate::tensor::Tensor;

#[cfg(test)]
pub(crate) mod testkit;
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

// ---------------------------------------------------------------------------------------------
// Naive twins: the specification
// ---------------------------------------------------------------------------------------------

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
    fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
        }
    }
}

/// out\[i\] ← a\[i\] ∘ b\[i\] with one plain loop: the specification of [`binary_forward`].
pub fn binary_naive<T: Real>(op: BinaryOp, a: &[T], b: &[T], out: &mut [T]) {
    for i in 0..out.len() {
        out[i] = match op {
            BinaryOp::Add => a[i] + b[i],
            BinaryOp::Sub => a[i] - b[i],
            BinaryOp::Mul => a[i] * b[i],
            BinaryOp::Div => a[i] / b[i],
        };
    }
}

/// Accumulates the gradients of `a ∘ b` with plain loops (see the module doc for the formulas):
/// the specification of [`binary_backward`]. `da`/`db` are `None` when not needed.
pub fn binary_backward_naive<T: Real>(
    op: BinaryOp,
    a: &[T],
    b: &[T],
    dy: &[T],
    mut da: Option<&mut [T]>,
    mut db: Option<&mut [T]>,
) {
    for i in 0..dy.len() {
        let (ga, gb) = match op {
            BinaryOp::Add => (dy[i], dy[i]),
            BinaryOp::Sub => (dy[i], -dy[i]),
            BinaryOp::Mul => (dy[i] * b[i], dy[i] * a[i]),
            BinaryOp::Div => (dy[i] / b[i], -dy[i] * a[i] / (b[i] * b[i])),
        };
        if let Some(da) = da.as_deref_mut() {
            da[i] += ga;
        }
        if let Some(db) = db.as_deref_mut() {
            db[i] += gb;
        }
    }
}

/// y\[n,c,t\] ← x\[n,c,t\] + b\[c\], written with ndarray indexing exactly as the formula.
pub fn bias_add_ncl_naive<T: Real>(x: &[T], b: &[T], y: &mut [T], n: usize, c: usize, l: usize) {
    let xv = ndarray::ArrayView3::from_shape((n, c, l), x).expect("naive: x is [n, c, l]");
    let mut yv = ndarray::ArrayViewMut3::from_shape((n, c, l), y).expect("naive: y is [n, c, l]");
    for ni in 0..n {
        for ci in 0..c {
            for t in 0..l {
                yv[[ni, ci, t]] = xv[[ni, ci, t]] + b[ci];
            }
        }
    }
}

/// db\[c\] += Σ_{n,t} dy\[n,c,t\] in plain (n, t) order: the specification of
/// [`bias_add_ncl_backward_bias`].
pub fn bias_add_ncl_backward_bias_naive<T: Real>(
    dy: &[T],
    db: &mut [T],
    n: usize,
    c: usize,
    l: usize,
) {
    let dyv = ndarray::ArrayView3::from_shape((n, c, l), dy).expect("naive: dy is [n, c, l]");
    for ci in 0..c {
        for ni in 0..n {
            for t in 0..l {
                db[ci] += dyv[[ni, ci, t]];
            }
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

// ---------------------------------------------------------------------------------------------
// Tensor layer
// ---------------------------------------------------------------------------------------------

fn binary<T: Real>(op: BinaryOp, a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    check_same_shape(op.name(), ("a", a.shape()), ("b", b.shape()))?;
    check_nonempty(op.name(), "a", a.shape())?;
    let mut out = vec![T::ZERO; a.numel()];
    binary_forward(op, a.data(), b.data(), &mut out);
    Tensor::from_vec(a.shape(), out)
}

/// y = a + b elementwise (same shapes).
///
/// # Errors
/// [`Error::ShapeMismatch`] naming both shapes if they differ; [`Error::EmptyOutput`] for an
/// empty tensor; [`Error::Isa`] for a bad `ECGRAD_ISA`.
///
/// ```
/// use ecgrad_engine::{ops::elementwise::add, Shape, Tensor};
/// let a = Tensor::from_vec(Shape::d1(3), vec![1.0f32, 2.0, 3.0]).unwrap();
/// let b = Tensor::from_vec(Shape::d1(3), vec![10.0f32, 20.0, 30.0]).unwrap();
/// assert_eq!(add(&a, &b).unwrap().data(), &[11.0, 22.0, 33.0]);
/// let c = Tensor::<f32>::zeros(Shape::d2(3, 1));
/// assert!(add(&a, &c).unwrap_err().to_string().contains("a [3], b [3, 1]"));
/// ```
pub fn add<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    binary(BinaryOp::Add, a, b)
}

/// y = a − b elementwise (same shapes).
///
/// # Errors
/// As [`add`].
pub fn sub<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    binary(BinaryOp::Sub, a, b)
}

/// y = a ⊙ b elementwise (same shapes).
///
/// # Errors
/// As [`add`].
pub fn mul<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    binary(BinaryOp::Mul, a, b)
}

/// y = a / b elementwise (same shapes). Division by zero follows IEEE (±∞ or NaN), as in
/// PyTorch; it is not an error.
///
/// # Errors
/// As [`add`].
pub fn div<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    binary(BinaryOp::Div, a, b)
}

/// The gradients of y = a ∘ b as fresh tensors: `(da, db)`, each computed only if asked for.
///
/// # Errors
/// [`Error::ShapeMismatch`] if `a`, `b` and `dy` do not all have one shape.
pub fn binary_grad<T: Real>(
    op: BinaryOp,
    a: &Tensor<T>,
    b: &Tensor<T>,
    dy: &Tensor<T>,
    need: (bool, bool),
) -> Result<(Option<Tensor<T>>, Option<Tensor<T>>)> {
    crate::simd::try_isa()?;
    check_same_shape(op.name(), ("a", a.shape()), ("b", b.shape()))?;
    check_same_shape(op.name(), ("a", a.shape()), ("dy", dy.shape()))?;
    let mut da = need.0.then(|| vec![T::ZERO; a.numel()]);
    let mut db = need.1.then(|| vec![T::ZERO; b.numel()]);
    binary_backward(
        op,
        a.data(),
        b.data(),
        dy.data(),
        da.as_deref_mut(),
        db.as_deref_mut(),
    );
    let wrap = |v: Option<Vec<T>>| v.map(|v| Tensor::from_vec(a.shape(), v)).transpose();
    Ok((wrap(da)?, wrap(db)?))
}

/// y = α·x. Gradient: dx += α·dy ([`axpy_accumulate`]).
///
/// # Errors
/// [`Error::EmptyOutput`] for an empty tensor; [`Error::InvalidParam`] if α is not finite.
pub fn scale<T: Real>(x: &Tensor<T>, alpha: T) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    check_nonempty("scale", "x", x.shape())?;
    check_finite("scale", "alpha", alpha)?;
    let mut out = vec![T::ZERO; x.numel()];
    scale_forward(alpha, x.data(), &mut out);
    Tensor::from_vec(x.shape(), out)
}

/// y = α·x + z (same shapes). Gradients: dx += α·dy, dz += dy.
///
/// # Errors
/// [`Error::ShapeMismatch`] naming both shapes; [`Error::EmptyOutput`]; [`Error::InvalidParam`]
/// if α is not finite.
pub fn axpy<T: Real>(alpha: T, x: &Tensor<T>, z: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    check_same_shape("axpy", ("x", x.shape()), ("z", z.shape()))?;
    check_nonempty("axpy", "x", x.shape())?;
    check_finite("axpy", "alpha", alpha)?;
    let mut out = z.data().to_vec();
    axpy_accumulate(alpha, x.data(), &mut out);
    Tensor::from_vec(x.shape(), out)
}

fn check_finite<T: Real>(op: &'static str, name: &'static str, v: T) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::InvalidParam {
            op,
            name,
            value: v.to_string(),
            why: "must be finite".into(),
        });
    }
    Ok(())
}

/// Checks x `[N, C, L]` against b `[C]` and returns (N, C, L).
fn bias_dims<T: Real>(
    op: &'static str,
    x: &Tensor<T>,
    b: &Tensor<T>,
) -> Result<(usize, usize, usize)> {
    let (n, c, l) = x.shape().dims3(op, "x")?;
    if b.shape() != Shape::d1(c) {
        return Err(Error::ShapeMismatch {
            op,
            detail: format!("bias must be [{c}], one value per channel of x"),
            lhs_name: "x",
            lhs: x.shape(),
            rhs_name: "bias",
            rhs: b.shape(),
        });
    }
    check_nonempty(op, "x", x.shape())?;
    Ok((n, c, l))
}

/// y\[n,c,t\] = x\[n,c,t\] + b\[c\] for an NCL tensor x and a per-channel bias b of shape `[C]`.
///
/// # Errors
/// [`Error::BadRank`] if x is not rank 3; [`Error::ShapeMismatch`] naming both shapes if b is
/// not `[C]`; [`Error::EmptyOutput`] if x is empty.
///
/// ```
/// use ecgrad_engine::{ops::elementwise::bias_add_ncl, Shape, Tensor};
/// let x = Tensor::from_vec(Shape::d3(1, 2, 2), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
/// let b = Tensor::from_vec(Shape::d1(2), vec![10.0f32, 100.0]).unwrap();
/// assert_eq!(bias_add_ncl(&x, &b).unwrap().data(), &[11.0, 12.0, 103.0, 104.0]);
/// ```
pub fn bias_add_ncl<T: Real>(x: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let (n, c, l) = bias_dims("bias_add_ncl", x, b)?;
    let mut y = vec![T::ZERO; x.numel()];
    bias_add_ncl_forward(x.data(), b.data(), &mut y, n, c, l);
    Tensor::from_vec(x.shape(), y)
}

/// The bias gradient of [`bias_add_ncl`] as a fresh `[C]` tensor: db\[c\] = Σ_{n,t} dy\[n,c,t\]
/// (deterministic at any thread count). The input gradient is dy itself.
///
/// # Errors
/// [`Error::BadRank`] if dy is not rank 3; [`Error::EmptyOutput`] if it is empty.
pub fn bias_add_ncl_grad_bias<T: Real>(dy: &Tensor<T>) -> Result<Tensor<T>> {
    crate::simd::try_isa()?;
    let (n, c, l) = dy.shape().dims3("bias_add_ncl_grad_bias", "dy")?;
    check_nonempty("bias_add_ncl_grad_bias", "dy", dy.shape())?;
    let mut db = vec![T::ZERO; c];
    bias_add_ncl_backward_bias(dy.data(), &mut db, n, c, l);
    Tensor::from_vec(Shape::d1(c), db)
}
