//! Portable int8 bodies: the reference every SIMD int8 kernel must match **bit for bit**.
//!
//! Integer arithmetic is exact and associative, so unlike the f32 primitives there is no
//! rounding to tolerate: any summation order gives the same `i32`, and the tests compare with
//! `assert_eq!`. The only way to differ is a bug (or an overflow, excluded by the length limit
//! [`super::int8::MAX_K`]).

/// Σᵢ aᵢ·bᵢ in i32 (each product widened first, so −128·−128 = 16 384 is exact).
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// `c[i·n + j] = Σ_p a[i·k + p]·b[j·k + p]` for `i < m`, `j < n`: C = A·Bᵀ with A `[m, k]` and B
/// `[n, k]` both row-major (so every dot product reads two contiguous rows). Overwrites C.
pub fn gemm_i8_nt(m: usize, n: usize, k: usize, a: &[i8], b: &[i8], c: &mut [i32]) {
    for i in 0..m {
        let a_row = &a[i * k..][..k];
        for j in 0..n {
            c[i * n + j] = dot_i8(a_row, &b[j * k..][..k]);
        }
    }
}
