//! AVX2 + FMA bodies (x86_64): 256-bit vectors of 8 f32 lanes.
//!
//! Every function is a *safe* `#[target_feature(enable = "avx2,fma")]` fn over slices; calling
//! it is `unsafe` only because the CPU must have the features, which the dispatcher in
//! [`super`] guarantees. Inside, only raw-pointer loads and stores need `unsafe`, each tied by a
//! `// SAFETY:` line to an index bound. Each body does full vectors first, then a scalar tail.
//! The bodies never trust the caller for memory safety: loop bounds come from the slice
//! lengths themselves (the dispatcher's length checks only make the results meaningful).
//!
//! **Why FMA.** `_mm256_fmadd_ps(a, b, c)` computes a·b + c for 8 lanes with a *single*
//! rounding: one instruction instead of two, and a more accurate result. A dot product or a
//! GEMM is nothing but multiply-adds, so FMA doubles the peak arithmetic rate.
//!
//! **Why several accumulators.** An FMA takes ~4 cycles before its result can feed the next
//! one, but a core can *start* two per cycle. A reduction with one accumulator chains every FMA
//! on the previous one and runs at 1/8 of peak; four independent accumulators (summed at the
//! end) keep four chains in flight. This reorders the additions, so `dot` and `sum` differ from
//! the scalar loop by rounding (the tests allow for it); the elementwise ops are bit-identical.
//!
//! exp, sigmoid and tanh live in `avx2_math.rs` (see `vmath.rs` for the math).

use std::arch::x86_64::*;

/// Adds the 8 lanes of a vector.
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    // (lanes 0-3) + (lanes 4-7), then pairwise within the 128-bit half.
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0b01));
    _mm_cvtss_f32(s)
}

/// Σᵢ aᵢ·bᵢ with four independent accumulators (hides the 4-cycle FMA latency).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (u, acc_u) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8·u + 8 <= i + 32 <= n, within both slices.
            let (x, y) = unsafe {
                (
                    _mm256_loadu_ps(pa.add(i + 8 * u)),
                    _mm256_loadu_ps(pb.add(i + 8 * u)),
                )
            };
            *acc_u = _mm256_fmadd_ps(x, y, *acc_u);
        }
        i += 32;
    }
    while i + 8 <= n {
        // SAFETY: i + 8 <= n.
        let (x, y) = unsafe { (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i))) };
        acc[0] = _mm256_fmadd_ps(x, y, acc[0]);
        i += 8;
    }
    let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut s = hsum(v);
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

/// y ← y + α·x.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let va = _mm256_set1_ps(alpha);
    let (px, py) = (x.as_ptr(), y.as_mut_ptr());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within both slices; x and y cannot overlap (& vs &mut).
        unsafe {
            let v = _mm256_fmadd_ps(va, _mm256_loadu_ps(px.add(i)), _mm256_loadu_ps(py.add(i)));
            _mm256_storeu_ps(py.add(i), v);
        }
        i += 8;
    }
    while i < n {
        y[i] += alpha * x[i];
        i += 1;
    }
}

/// Σᵢ aᵢ, with four accumulators like [`dot`].
#[target_feature(enable = "avx2,fma")]
pub(crate) fn sum(a: &[f32]) -> f32 {
    let n = a.len();
    let pa = a.as_ptr();
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (u, acc_u) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8·u + 8 <= i + 32 <= n.
            *acc_u = _mm256_add_ps(*acc_u, unsafe { _mm256_loadu_ps(pa.add(i + 8 * u)) });
        }
        i += 32;
    }
    while i + 8 <= n {
        // SAFETY: i + 8 <= n.
        acc[0] = _mm256_add_ps(acc[0], unsafe { _mm256_loadu_ps(pa.add(i)) });
        i += 8;
    }
    let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut s = hsum(v);
    for &x in &a[i..] {
        s += x;
    }
    s
}

/// x ← α·x.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn scale(alpha: f32, x: &mut [f32]) {
    let n = x.len();
    let va = _mm256_set1_ps(alpha);
    let px = x.as_mut_ptr();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n = x.len().
        unsafe { _mm256_storeu_ps(px.add(i), _mm256_mul_ps(va, _mm256_loadu_ps(px.add(i)))) };
        i += 8;
    }
    for v in &mut x[i..] {
        *v *= alpha;
    }
}

/// Applies `op` lane-wise: out\[i\] ← op(a\[i\], b\[i\]) for vectors, `op_s` for the tail.
#[target_feature(enable = "avx2,fma")]
fn binary(
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    op: impl Fn(__m256, __m256) -> __m256,
    op_s: impl Fn(f32, f32) -> f32,
) {
    let n = a.len().min(b.len()).min(out.len());
    let (pa, pb, po) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within all three slices; `out` is &mut so it aliases neither input.
        unsafe {
            let v = op(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            _mm256_storeu_ps(po.add(i), v);
        }
        i += 8;
    }
    while i < n {
        out[i] = op_s(a[i], b[i]);
        i += 1;
    }
}

/// out ← a + b.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    binary(a, b, out, |x, y| _mm256_add_ps(x, y), |x, y| x + y)
}

/// out ← a ⊙ b.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn mul(a: &[f32], b: &[f32], out: &mut [f32]) {
    binary(a, b, out, |x, y| _mm256_mul_ps(x, y), |x, y| x * y)
}

/// maxᵢ aᵢ (−∞ when empty). Like the scalar loop it **skips NaNs**: `_mm256_max_ps(x, m)`
/// returns its second operand m when x is NaN, and m starts at −∞ so it is never NaN.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn max(a: &[f32]) -> f32 {
    let n = a.len();
    let pa = a.as_ptr();
    let mut acc = [_mm256_set1_ps(f32::NEG_INFINITY); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (u, acc_u) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8·u + 8 <= i + 32 <= n.
            *acc_u = _mm256_max_ps(unsafe { _mm256_loadu_ps(pa.add(i + 8 * u)) }, *acc_u);
        }
        i += 32;
    }
    while i + 8 <= n {
        // SAFETY: i + 8 <= n.
        acc[0] = _mm256_max_ps(unsafe { _mm256_loadu_ps(pa.add(i)) }, acc[0]);
        i += 8;
    }
    let v = _mm256_max_ps(_mm256_max_ps(acc[0], acc[1]), _mm256_max_ps(acc[2], acc[3]));
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` has exactly 8 elements.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), v) };
    let mut m = f32::NEG_INFINITY;
    for &x in lanes.iter().chain(&a[i..]) {
        if x > m {
            m = x;
        }
    }
    m
}

/// out ← max(x, 0), as `x & (x > 0)`: NaN and −0 give +0, exactly like the scalar loop.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn relu(x: &[f32], out: &mut [f32]) {
    let n = x.len().min(out.len());
    let (px, po) = (x.as_ptr(), out.as_mut_ptr());
    let zero = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within both slices.
        unsafe {
            let v = _mm256_loadu_ps(px.add(i));
            let positive = _mm256_cmp_ps::<_CMP_GT_OQ>(v, zero);
            _mm256_storeu_ps(po.add(i), _mm256_and_ps(v, positive));
        }
        i += 8;
    }
    while i < n {
        out[i] = if x[i] > 0.0 { x[i] } else { 0.0 };
        i += 1;
    }
}

/// dx ← dx + dy ⊙ \[y > 0\]. A blend (not `dx + (dy & mask)`) leaves dx bit-for-bit untouched
/// where y ≤ 0, as the scalar loop does (−0 + 0 would turn −0 into +0).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn relu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let n = y.len().min(dy.len()).min(dx.len());
    let (py, pg, pd) = (y.as_ptr(), dy.as_ptr(), dx.as_mut_ptr());
    let zero = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within all three slices.
        unsafe {
            let positive = _mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_loadu_ps(py.add(i)), zero);
            let d = _mm256_loadu_ps(pd.add(i));
            let sum = _mm256_add_ps(d, _mm256_loadu_ps(pg.add(i)));
            _mm256_storeu_ps(pd.add(i), _mm256_blendv_ps(d, sum, positive));
        }
        i += 8;
    }
    while i < n {
        if y[i] > 0.0 {
            dx[i] += dy[i];
        }
        i += 1;
    }
}

/// dst\[i\] ← src\[start + i·step\] (one im2col row).
///
/// - step 1 is a plain copy (`copy_from_slice` is already a vectorised memcpy);
/// - step 2 (stride-2 convs) loads 16 contiguous floats and keeps the even ones with two
///   shuffles: no wasted memory traffic beyond the cache lines we need anyway;
/// - any other step uses the AVX2 gather instruction with lane offsets 0, s, 2s, … 7s.
///
/// # Panics
/// If an index read would be outside `src`.
#[target_feature(enable = "avx2,fma")]
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
    if step == 2 {
        // Reads src[base .. base + 16).
        while i + 8 <= n && start + 2 * i + 16 <= src.len() {
            // SAFETY: start + 2i + 16 <= src.len() (loop condition) and i + 8 <= n = dst.len().
            unsafe {
                let lo = _mm256_loadu_ps(ps.add(start + 2 * i));
                let hi = _mm256_loadu_ps(ps.add(start + 2 * i + 8));
                // Even lanes per 128-bit half: [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6] ...
                let even = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
                // ... then reorder the 64-bit pairs (0, 2, 1, 3) to get lo0 lo2 lo4 lo6 hi0 ….
                let even = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(
                    _mm256_castps_pd(even),
                ));
                _mm256_storeu_ps(pd.add(i), even);
            }
            i += 8;
        }
    } else if step <= (i32::MAX as usize) / 8 {
        let s = step as i32;
        let offsets = _mm256_setr_epi32(0, s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, 7 * s);
        while i + 8 <= n {
            // SAFETY: lane l reads src[start + (i + l)·step] with i + l < n, and the largest such
            // index, start + (n − 1)·step, was checked < src.len() above; the offsets l·step
            // fit in i32 by the branch condition. i + 8 <= n = dst.len() for the store.
            unsafe {
                let v = _mm256_i32gather_ps::<4>(ps.add(start + i * step), offsets);
                _mm256_storeu_ps(pd.add(i), v);
            }
            i += 8;
        }
    }
    while i < n {
        dst[i] = src[start + i * step];
        i += 1;
    }
}

/// dst\[start + i·step\] += src\[i\] (one col2im row). Step 1 is a vector add in place; AVX2
/// has no scatter instruction, so other steps use the scalar loop.
///
/// # Panics
/// If an index written would be outside `dst`.
#[target_feature(enable = "avx2,fma")]
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
    while i + 8 <= n {
        // SAFETY: i + 8 <= n = src.len() = d.len().
        unsafe {
            let v = _mm256_add_ps(_mm256_loadu_ps(pd.add(i)), _mm256_loadu_ps(ps.add(i)));
            _mm256_storeu_ps(pd.add(i), v);
        }
        i += 8;
    }
    while i < n {
        d[i] += src[i];
        i += 1;
    }
}
