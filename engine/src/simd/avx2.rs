//! AVX2 + FMA bodies (x86_64): 256-bit vectors of 8 f32 lanes.
//!
//! Every function is a *safe* `#[target_feature(enable = "avx2,fma")]` fn over slices; calling
//! it is `unsafe` only because the CPU must have the features, which the dispatcher in
//! [`super`] guarantees. Inside, only raw-pointer loads and stores need `unsafe`, each tied by a
//! `// SAFETY:` line to an index bound. Each body does full vectors first, then a scalar tail.

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
