//! The vectorised transcendental functions: how `exp`, `sigmoid` and `tanh` are computed in
//! the SIMD bodies, their constants, their documented error bounds, and a plain scalar *model*
//! of the exact same arithmetic.
//!
//! The AVX2 (`avx2_math.rs`) and NEON (`neon_math.rs`) bodies perform the operations of the model
//! below lane by lane, in the same order, with fused multiply-adds in the same places, so their
//! results are **bit-identical to the model and to each other** (IEEE 754 makes +, ×, ÷ and fma
//! correctly rounded on every ISA). The tests check that, and check the model against f64.
//! The scalar f32 path ([`super::scalar`]) keeps the library `exp`/`tanh`, which are more
//! accurate but cannot be vectorised; f64 always uses the scalar path.
//!
//! # exp(x): range reduction, a polynomial, and the exponent bits
//!
//! 1. **Range reduction (Cody–Waite).** Write x = n·ln2 + r with n = round(x·log₂e), so that
//!    |r| ≤ ln2/2 ≈ 0.347 and eˣ = 2ⁿ·eʳ. The subtraction r = x − n·ln2 cancels most digits of x,
//!    so ln2 is split into a short head `LN2_HI` = 0.693359375 (9 significant bits, so n·LN2_HI
//!    is exact for |n| < 2¹⁵) and a tail `LN2_LO` = ln2 − LN2_HI; r = (x − n·LN2_HI) − n·LN2_LO,
//!    each step one fma.
//! 2. **Polynomial.** On that small interval eʳ ≈ 1 + r + r²·P(r) with a degree-5 P (Cephes
//!    `expf` minimax coefficients, evaluated by Horner's rule with fmas). The Taylor series would
//!    be P(r) = 1/2 + r/6 + r²/24 + …; minimax coefficients spread the error evenly over the
//!    interval instead of piling it up at the ends. The sum is formed as 1 + (r + r²·P): the
//!    small terms are added first, so only the final `+ 1` rounds at the scale of the result.
//! 3. **Scale by 2ⁿ through the exponent bits.** An f32 with bit pattern (n + 127) << 23 *is*
//!    2ⁿ for −126 ≤ n ≤ 127. We split n = n₁ + n₂ (n₁ = ⌊n/2⌋) and multiply by 2ⁿ¹ and then 2ⁿ²,
//!    so both factors are normal numbers even when the result is subnormal (gradual underflow
//!    rounds once, in the last multiply) or overflows.
//! 4. **Specials.** x is clamped to \[−104, 88.8\] first so n fits the exponent trick:
//!    every x > ln(f32::MAX) ≈ 88.72 gives 2¹²⁸·eʳ = **+∞**; every x < ln(2⁻¹⁵⁰) ≈ −103.97
//!    gives **0** (below half the smallest subnormal); a NaN input is put back at the end.
//!
//! Maximum relative error against f64 `exp` for x ∈ \[−87.3, 88.7\] (the normal-result range):
//! [`EXP_MAX_REL_ERR`] = 1.0e-7, asserted on a dense sweep by `tests_math.rs`; the measured
//! maximum over every f32 in that range is 8.46e-8, about 0.7 units in the last place.
//! For subnormal results (x < −87.34) only the absolute error ≤ 2⁻¹⁴⁹ (one subnormal step)
//! is meaningful.
//!
//! # sigmoid(x) = 1 / (1 + e⁻ˣ)
//! With e = exp(−|x|) ∈ (0, 1]: σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0. Only
//! exp of a non-positive number is ever taken, so nothing overflows and there is no ∞/∞ for
//! large |x| (σ(−∞) = 0, σ(+∞) = 1). One division. Bounds: [`SIGMOID_MAX_REL_ERR`] (for results
//! ≥ f32::MIN_POSITIVE, x ≥ −87.3) and [`SIGMOID_MAX_ABS_ERR`] (everywhere).
//!
//! # tanh(x)
//! tanh is odd, so compute t(|x|) and copy the sign of x back (this keeps tanh(−0) = −0).
//! - |x| < 0.625: tanh(a) = a + a·z·Q(z), z = a², degree-4 Q (Cephes `tanhf`). The formula
//!   below would lose digits here: 1 − e⁻²ᵃ cancels when a is small.
//! - |x| ≥ 0.625: tanh(a) = (1 − e)/(1 + e) with e = exp(−2a) ≤ 0.287, so there is no
//!   cancellation, and for large a, e underflows to 0 and the result is exactly 1 (no ∞/∞).
//!
//! Bounds: [`TANH_MAX_REL_ERR`] and [`TANH_MAX_ABS_ERR`].

/// log₂ e, to turn x into a count of powers of two.
pub(crate) const LOG2E: f32 = std::f32::consts::LOG2_E;
/// Head of ln 2 with 9 significant bits: n·LN2_HI is exact for every n we produce.
pub(crate) const LN2_HI: f32 = 0.693_359_4;
/// Tail: LN2_HI + LN2_LO = ln 2 within 1.7e-12 (2⁻³⁹), far below what r needs.
pub(crate) const LN2_LO: f32 = -2.121_944_4e-4;
/// Inputs are clamped to \[EXP_LO, EXP_HI\]: below, the result rounds to 0; above, to +∞.
pub(crate) const EXP_LO: f32 = -104.0;
/// See [`EXP_LO`]; ln(f32::MAX) ≈ 88.7228 < EXP_HI, so EXP_HI already overflows.
pub(crate) const EXP_HI: f32 = 88.8;
/// Cephes `expf` minimax coefficients of P in eʳ ≈ 1 + r + r²·P(r), highest degree first.
pub(crate) const EXP_P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5, // Cephes 5.0000001201e-1 rounds to exactly 0.5 in f32
];
/// Below this |x|, tanh uses its odd polynomial instead of the exp formula.
pub(crate) const TANH_SMALL: f32 = 0.625;
/// Cephes `tanhf` coefficients of Q in tanh(a) ≈ a + a·z·Q(z), z = a², highest degree first.
pub(crate) const TANH_Q: [f32; 5] = [
    -5.704_988_7e-3,
    2.063_908_8e-2,
    -5.373_971_6e-2,
    0.133_314_42,
    -0.333_332_8,
];

// The bounds below are what the tests assert. The SIMD results equal the scalar models in this
// file bit for bit, and a one-off exhaustive run of the models over *every* f32 with |x| ≤ 104
// measured: exp 8.46e-8 (on [−87.3, 88.7]), sigmoid 1.78e-7 relative (x ≥ −87.3) and
// 8.93e-8 absolute, tanh 1.50e-7 relative and 8.99e-8 absolute. (For scale: one unit in the
// last place of an f32 is a relative 6.0e-8 to 1.2e-7.) The bounds leave a small margin and
// also hold for the library functions of the scalar path (whose tanhf reaches 1.62e-7
// relative and 1.0e-7 absolute on the test sweep).

/// Documented bound on |exp_simd(x) − eˣ| / eˣ for x ∈ \[−87.3, 88.7\] (normal results).
pub const EXP_MAX_REL_ERR: f64 = 1.0e-7;
/// Documented bound on the relative error of the SIMD sigmoid for x ≥ −87.3.
pub const SIGMOID_MAX_REL_ERR: f64 = 2.0e-7;
/// Documented bound on the absolute error of the SIMD sigmoid for every x.
pub const SIGMOID_MAX_ABS_ERR: f64 = 1.0e-7;
/// Documented bound on the relative error of the SIMD tanh for every x with tanh(x) ≠ 0.
pub const TANH_MAX_REL_ERR: f64 = 2.0e-7;
/// Documented bound on the absolute error of the SIMD tanh for every x.
pub const TANH_MAX_ABS_ERR: f64 = 1.2e-7;

/// Scalar model of the SIMD exp: the same operations in the same order (see the module doc).
/// It is slow where the CPU lacks fma (`mul_add` then calls the C library), so kernels never
/// call it: it is the readable version of the vector code and the tests' bit-exact reference.
pub fn exp_model(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let xc = x.clamp(EXP_LO, EXP_HI);
    let n = (xc * LOG2E).round_ties_even();
    let r = (-n).mul_add(LN2_HI, xc);
    let r = (-n).mul_add(LN2_LO, r);
    let mut p = EXP_P[0];
    for &c in &EXP_P[1..] {
        p = p.mul_add(r, c);
    }
    let e = (r * r).mul_add(p, r) + 1.0;
    let n = n as i32;
    let n1 = n >> 1;
    let n2 = n - n1;
    let pow2 = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    e * pow2(n1) * pow2(n2)
}

/// Scalar model of the SIMD sigmoid (see the module doc).
pub fn sigmoid_model(x: f32) -> f32 {
    let e = exp_model(-x.abs());
    let num = if x < 0.0 { e } else { 1.0 };
    num / (1.0 + e)
}

/// Scalar model of the SIMD tanh (see the module doc).
pub fn tanh_model(x: f32) -> f32 {
    let a = x.abs();
    let t = if a < TANH_SMALL {
        let z = a * a;
        let mut q = TANH_Q[0];
        for &c in &TANH_Q[1..] {
            q = q.mul_add(z, c);
        }
        (q * z).mul_add(a, a)
    } else {
        let e = exp_model(-2.0 * a);
        (1.0 - e) / (1.0 + e)
    };
    t.copysign(x)
}
