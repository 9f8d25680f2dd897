//! int8 primitives: every ISA (and, on aarch64, both NEON bodies) against the scalar reference,
//! **bit for bit**, on random and awkward lengths and on the extreme values that would expose a
//! saturating or wrapping instruction.

use super::int8::{MAX_K, dot_i8, gemm_i8_nt};
use super::{scalar_int8, with_isa};
use crate::testing::{Rng, isas_to_test};

/// Uniform in −127..=127 (the symmetric int8 range).
fn random_i8(rng: &mut Rng, len: usize) -> Vec<i8> {
    (0..len)
        .map(|_| (rng.below(255) as i32 - 127) as i8)
        .collect()
}

/// Lengths around every vector width (16, 32) and block (4 rows), plus ECG-sized reductions.
const LENGTHS: [usize; 20] = [
    0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 160, 192, 1001,
];

/// Value patterns: random, all +127, all −127, alternating ±127 (|pair sums| = 2·127² = the
/// saturation edge of `vpmaddubsw`), and zeros in A (the sign trick's a = 0 case).
fn patterns(rng: &mut Rng, len: usize) -> Vec<(Vec<i8>, Vec<i8>)> {
    let alt: Vec<i8> = (0..len)
        .map(|i| if i % 2 == 0 { 127 } else { -127 })
        .collect();
    let mut zeros_a = random_i8(rng, len);
    zeros_a.iter_mut().step_by(3).for_each(|v| *v = 0);
    vec![
        (random_i8(rng, len), random_i8(rng, len)),
        (vec![127; len], vec![127; len]),
        (vec![-127; len], vec![-127; len]),
        (vec![-127; len], vec![127; len]),
        (alt.clone(), alt.clone()),
        (zeros_a, random_i8(rng, len)),
    ]
}

#[test]
fn dot_i8_is_exact_on_every_isa() {
    let mut rng = Rng::new(81);
    for isa in isas_to_test() {
        for len in LENGTHS {
            for (a, b) in patterns(&mut rng, len) {
                let want = scalar_int8::dot_i8(&a, &b);
                let got = with_isa(isa, || dot_i8(&a, &b)).unwrap();
                assert_eq!(got, want, "isa {isa} len {len} a {:?}", &a[..len.min(4)]);
            }
        }
        // The extremes: 2·127² per pair, over the longest allowed reduction.
        let a = vec![-127i8; MAX_K];
        let want = 127 * 127 * MAX_K as i32;
        assert_eq!(with_isa(isa, || dot_i8(&a, &a)).unwrap(), want, "isa {isa}");
    }
}

/// `c` starts as garbage: the kernel must overwrite every element.
fn check_gemm(isa: crate::Isa, m: usize, n: usize, k: usize, a: &[i8], b: &[i8]) {
    let mut want = vec![0i32; m * n];
    scalar_int8::gemm_i8_nt(m, n, k, a, b, &mut want);
    let mut got = vec![i32::MIN; m * n];
    with_isa(isa, || gemm_i8_nt(m, n, k, a, b, &mut got)).unwrap();
    assert_eq!(got, want, "isa {isa} m {m} n {n} k {k}");
}

#[test]
fn gemm_i8_nt_is_exact_on_every_isa() {
    let mut rng = Rng::new(82);
    for isa in isas_to_test() {
        for &m in &[1, 2, 3, 5] {
            for &n in &[1, 3, 4, 5, 8, 9] {
                for &k in &[1, 5, 16, 31, 32, 33, 96, 161] {
                    let a = random_i8(&mut rng, m * k);
                    let b = random_i8(&mut rng, n * k);
                    check_gemm(isa, m, n, k, &a, &b);
                    check_gemm(isa, m, n, k, &vec![-127; m * k], &vec![-127; n * k]);
                    check_gemm(isa, m, n, k, &vec![127; m * k], &vec![-127; n * k]);
                }
            }
        }
        // Random sizes.
        for _ in 0..50 {
            let (m, n, k) = (1 + rng.below(20), 1 + rng.below(40), 1 + rng.below(300));
            let a = random_i8(&mut rng, m * k);
            let b = random_i8(&mut rng, n * k);
            check_gemm(isa, m, n, k, &a, &b);
        }
    }
}

/// A −128 in A is fine on every ISA (A goes through `vpabsb`, which gives 128 as unsigned);
/// −128 in B is refused.
#[test]
fn minus_128_is_exact_in_a_and_refused_in_b() {
    let a = vec![-128i8; 64];
    let b = vec![127i8; 64];
    for isa in isas_to_test() {
        assert_eq!(with_isa(isa, || dot_i8(&a, &b)).unwrap(), -128 * 127 * 64);
        let mut c = vec![0; 1];
        with_isa(isa, || gemm_i8_nt(1, 1, 64, &a, &b, &mut c)).unwrap();
        assert_eq!(c[0], -128 * 127 * 64);
    }
    let r = std::panic::catch_unwind(|| dot_i8(&b, &a));
    assert!(r.is_err(), "−128 in b must be refused");
}

/// On aarch64 both NEON bodies are checked directly, whichever the dispatcher picks.
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_bodies_are_exact() {
    use super::neon_int8;
    let mut rng = Rng::new(83);
    let dotprod = super::int8::has_dotprod();
    eprintln!("aarch64: dotprod (sdot) detected: {dotprod}");
    for _ in 0..100 {
        let (m, n, k) = (1 + rng.below(7), 1 + rng.below(11), rng.below(200));
        let a = random_i8(&mut rng, m * k);
        let b = random_i8(&mut rng, n * k);
        let mut want = vec![0i32; m * n];
        scalar_int8::gemm_i8_nt(m, n, k, &a, &b, &mut want);
        let mut got = vec![i32::MIN; m * n];
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { neon_int8::gemm_i8_nt(m, n, k, &a, &b, &mut got) };
        assert_eq!(got, want, "vmull body m {m} n {n} k {k}");
        if dotprod {
            let mut got = vec![i32::MIN; m * n];
            // SAFETY: dotprod was detected on this CPU just above.
            unsafe { neon_int8::gemm_i8_nt_sdot(m, n, k, &a, &b, &mut got) };
            assert_eq!(got, want, "sdot body m {m} n {n} k {k}");
        }
    }
}
