//! NEON bodies (aarch64): 128-bit vectors of 4 f32 lanes.
//!
//! NEON (Advanced SIMD) is part of the aarch64 baseline. Like the AVX2 bodies, these are
//! *safe* `#[target_feature(enable = "neon")]` fns over slices: Rust still makes the call site
//! `unsafe` (the baseline does not lift that requirement), and the dispatcher's `// SAFETY:`
//! says why it holds. Inside, only the pointer loads and stores need `unsafe` blocks, each with
//! a `// SAFETY:` line tying the index to a slice length. They still go through
//! [`super::Isa`] so tests can force the scalar path on ARM too. Each body does full vectors first, then a scalar tail; loop bounds come from the
//! slice lengths themselves, so the bodies are sound for any input.
//!
//! The design mirrors `avx2.rs` (read that first for why FMA and why four accumulators). Two
//! NEON-specific points: `vfmaq_f32(acc, a, b)` is acc + a·b with one rounding, and the
//! horizontal reductions `vaddvq_f32` exist as single instructions. Where AVX2 uses a gather
//! for strided loads, NEON has *structure loads*: `vld2q_f32` / `vld3q_f32` de-interleave 8/12
//! consecutive floats into 2/3 vectors, and we keep the first, which is exactly a stride-2/3
//! gather. exp, sigmoid and tanh are in `neon_math.rs`.

use std::arch::aarch64::*;

/// Σᵢ aᵢ·bᵢ with four independent accumulators (16 floats per step).
#[target_feature(enable = "neon")]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [vdupq_n_f32(0.0); 4];
    let mut i = 0;
    while i + 16 <= n {
        for (u, acc_u) in acc.iter_mut().enumerate() {
            // SAFETY: i + 4·u + 4 <= i + 16 <= n, within both slices.
            let (x, y) = unsafe { (vld1q_f32(pa.add(i + 4 * u)), vld1q_f32(pb.add(i + 4 * u))) };
            *acc_u = vfmaq_f32(*acc_u, x, y);
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: i + 4 <= n.
        let (x, y) = unsafe { (vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i))) };
        acc[0] = vfmaq_f32(acc[0], x, y);
        i += 4;
    }
    let mut s = vaddvq_f32(vaddq_f32(
        vaddq_f32(acc[0], acc[1]),
        vaddq_f32(acc[2], acc[3]),
    ));
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

/// Σᵢ aᵢ with four accumulators.
#[target_feature(enable = "neon")]
pub(crate) fn sum(a: &[f32]) -> f32 {
    let n = a.len();
    let pa = a.as_ptr();
    let mut acc = [vdupq_n_f32(0.0); 4];
    let mut i = 0;
    while i + 16 <= n {
        for (u, acc_u) in acc.iter_mut().enumerate() {
            // SAFETY: i + 4·u + 4 <= i + 16 <= n.
            *acc_u = vaddq_f32(*acc_u, unsafe { vld1q_f32(pa.add(i + 4 * u)) });
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: i + 4 <= n.
        acc[0] = vaddq_f32(acc[0], unsafe { vld1q_f32(pa.add(i)) });
        i += 4;
    }
    let mut s = vaddvq_f32(vaddq_f32(
        vaddq_f32(acc[0], acc[1]),
        vaddq_f32(acc[2], acc[3]),
    ));
    for &x in &a[i..] {
        s += x;
    }
    s
}

/// y ← y + α·x (one fused multiply-add per lane).
#[target_feature(enable = "neon")]
pub(crate) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let va = vdupq_n_f32(alpha);
    let (px, py) = (x.as_ptr(), y.as_mut_ptr());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n, within both slices; x and y cannot overlap (& vs &mut).
        unsafe {
            vst1q_f32(
                py.add(i),
                vfmaq_f32(vld1q_f32(py.add(i)), va, vld1q_f32(px.add(i))),
            )
        };
        i += 4;
    }
    while i < n {
        y[i] += alpha * x[i];
        i += 1;
    }
}

/// x ← α·x.
#[target_feature(enable = "neon")]
pub(crate) fn scale(alpha: f32, x: &mut [f32]) {
    let n = x.len();
    let va = vdupq_n_f32(alpha);
    let px = x.as_mut_ptr();
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n = x.len().
        unsafe { vst1q_f32(px.add(i), vmulq_f32(va, vld1q_f32(px.add(i)))) };
        i += 4;
    }
    for v in &mut x[i..] {
        *v *= alpha;
    }
}

/// out\[i\] ← op(a\[i\], b\[i\]): vectors with `op`, the tail with `op_s`.
#[target_feature(enable = "neon")]
fn binary(
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    op: impl Fn(float32x4_t, float32x4_t) -> float32x4_t,
    op_s: impl Fn(f32, f32) -> f32,
) {
    let n = a.len().min(b.len()).min(out.len());
    let (pa, pb, po) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n, within all three slices; `out` is &mut so it aliases no input.
        unsafe { vst1q_f32(po.add(i), op(vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)))) };
        i += 4;
    }
    while i < n {
        out[i] = op_s(a[i], b[i]);
        i += 1;
    }
}

/// out ← a + b.
#[target_feature(enable = "neon")]
pub(crate) fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    binary(a, b, out, |x, y| vaddq_f32(x, y), |x, y| x + y)
}

/// out ← a ⊙ b.
#[target_feature(enable = "neon")]
pub(crate) fn mul(a: &[f32], b: &[f32], out: &mut [f32]) {
    binary(a, b, out, |x, y| vmulq_f32(x, y), |x, y| x * y)
}

/// m ← (x > m) ? x : m per lane: the scalar loop's rule, so NaNs are skipped exactly as there
/// (`vmaxq_f32` would propagate them instead).
#[target_feature(enable = "neon")]
fn max_step(x: float32x4_t, m: float32x4_t) -> float32x4_t {
    vbslq_f32(vcgtq_f32(x, m), x, m)
}

/// maxᵢ aᵢ (−∞ when empty), skipping NaNs like the scalar loop.
#[target_feature(enable = "neon")]
pub(crate) fn max(a: &[f32]) -> f32 {
    let n = a.len();
    let pa = a.as_ptr();
    let mut acc = [vdupq_n_f32(f32::NEG_INFINITY); 4];
    let mut i = 0;
    while i + 16 <= n {
        for (u, acc_u) in acc.iter_mut().enumerate() {
            // SAFETY: i + 4·u + 4 <= i + 16 <= n.
            *acc_u = max_step(unsafe { vld1q_f32(pa.add(i + 4 * u)) }, *acc_u);
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: i + 4 <= n.
        acc[0] = max_step(unsafe { vld1q_f32(pa.add(i)) }, acc[0]);
        i += 4;
    }
    let v = max_step(max_step(acc[0], acc[1]), max_step(acc[2], acc[3]));
    let mut lanes = [0.0f32; 4];
    // SAFETY: `lanes` has exactly 4 elements.
    unsafe { vst1q_f32(lanes.as_mut_ptr(), v) };
    let mut m = f32::NEG_INFINITY;
    for &x in lanes.iter().chain(&a[i..]) {
        if x > m {
            m = x;
        }
    }
    m
}

/// out ← max(x, 0) as `x & (x > 0)`: NaN and −0 give +0, exactly like the scalar loop.
#[target_feature(enable = "neon")]
pub(crate) fn relu(x: &[f32], out: &mut [f32]) {
    let n = x.len().min(out.len());
    let (px, po) = (x.as_ptr(), out.as_mut_ptr());
    let zero = vdupq_n_f32(0.0);
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n, within both slices.
        unsafe {
            let v = vld1q_f32(px.add(i));
            let kept = vandq_u32(vreinterpretq_u32_f32(v), vcgtq_f32(v, zero));
            vst1q_f32(po.add(i), vreinterpretq_f32_u32(kept));
        }
        i += 4;
    }
    while i < n {
        out[i] = if x[i] > 0.0 { x[i] } else { 0.0 };
        i += 1;
    }
}

/// dx ← dx + dy ⊙ \[y > 0\], by a bit-select so dx is untouched where y ≤ 0 (as in scalar).
#[target_feature(enable = "neon")]
pub(crate) fn relu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let n = y.len().min(dy.len()).min(dx.len());
    let (py, pg, pd) = (y.as_ptr(), dy.as_ptr(), dx.as_mut_ptr());
    let zero = vdupq_n_f32(0.0);
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n, within all three slices.
        unsafe {
            let positive = vcgtq_f32(vld1q_f32(py.add(i)), zero);
            let d = vld1q_f32(pd.add(i));
            let sum = vaddq_f32(d, vld1q_f32(pg.add(i)));
            vst1q_f32(pd.add(i), vbslq_f32(positive, sum, d));
        }
        i += 4;
    }
    while i < n {
        if y[i] > 0.0 {
            dx[i] += dy[i];
        }
        i += 1;
    }
}

/// dst\[i\] ← src\[start + i·step\] (one im2col row): step 1 copies, steps 2 and 3 use the
/// de-interleaving loads `vld2q_f32`/`vld3q_f32`, other steps a scalar loop.
///
/// # Panics
/// If an index read would be outside `src`.
#[target_feature(enable = "neon")]
pub(crate) fn gather_strided(src: &[f32], start: usize, step: usize, dst: &mut [f32]) {
    let n = dst.len();
    if n == 0 {
        return;
    }
    let last = (n - 1)
        .checked_mul(step)
        .and_then(|o| o.checked_add(start))
        .filter(|&l| l < src.len());
    assert!(last.is_some(), "gather_strided: index out of range");
    if step == 1 {
        dst.copy_from_slice(&src[start..start + n]);
        return;
    }
    let (ps, pd) = (src.as_ptr(), dst.as_mut_ptr());
    let mut i = 0;
    // A structure load of 4 elements reads src[base .. base + 4·step); start < src.len() and
    // (i + 4)·step is small, so the sum cannot overflow.
    let fits = |i: usize| start + (i + 4) * step <= src.len();
    if step == 2 {
        while i + 4 <= n && fits(i) {
            // SAFETY: reads src[start + 2i .. start + 2i + 8), inside src by `fits`; writes
            // dst[i .. i + 4) with i + 4 <= n.
            unsafe { vst1q_f32(pd.add(i), vld2q_f32(ps.add(start + 2 * i)).0) };
            i += 4;
        }
    } else if step == 3 {
        while i + 4 <= n && fits(i) {
            // SAFETY: reads src[start + 3i .. start + 3i + 12), inside src by `fits`; writes
            // dst[i .. i + 4) with i + 4 <= n.
            unsafe { vst1q_f32(pd.add(i), vld3q_f32(ps.add(start + 3 * i)).0) };
            i += 4;
        }
    }
    while i < n {
        dst[i] = src[start + i * step];
        i += 1;
    }
}

/// dst\[start + i·step\] += src\[i\] (one col2im row): a vector add in place for step 1, the
/// scalar loop otherwise.
///
/// # Panics
/// If an index written would be outside `dst`.
#[target_feature(enable = "neon")]
pub(crate) fn scatter_add_strided(src: &[f32], dst: &mut [f32], start: usize, step: usize) {
    let n = src.len();
    if step != 1 {
        for (i, &s) in src.iter().enumerate() {
            dst[start + i * step] += s;
        }
        return;
    }
    let d = &mut dst[start..start + n];
    let (ps, pd) = (src.as_ptr(), d.as_mut_ptr());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n = src.len() = d.len().
        unsafe {
            vst1q_f32(
                pd.add(i),
                vaddq_f32(vld1q_f32(pd.add(i)), vld1q_f32(ps.add(i))),
            )
        };
        i += 4;
    }
    while i < n {
        d[i] += src[i];
        i += 1;
    }
}
