//! Every ISA body against the scalar reference, on lengths that exercise the vector tails.

use super::*;
use crate::testing::{Rng, isas_to_test};

#[test]
fn env_request_can_only_lower() {
    assert_eq!(choose(None).unwrap(), Isa::best_supported());
    assert_eq!(choose(Some("scalar")).unwrap(), Isa::Scalar);
    let e = choose(Some("sse9")).unwrap_err().to_string();
    assert!(e.contains("sse9"), "{e}");
    let missing = if Isa::best_supported() == Isa::Neon {
        "avx2"
    } else {
        "neon"
    };
    let e = choose(Some(missing)).unwrap_err().to_string();
    assert!(e.contains("cannot run"), "{e}");
}

#[test]
fn gemm_kernel_matches_scalar() {
    let mut rng = Rng::new(7);
    for isa in isas_to_test() {
        for &k in &[0usize, 1, 2, 3, 7, 8, 64, 257] {
            for &ldc in &[NR, NR + 3, 40] {
                for &(alpha, beta) in &[(1.0f32, 0.0f32), (1.0, 1.0), (0.5, -2.0)] {
                    let a = rng.vec_f32(k * MR);
                    let b = rng.vec_f32(k * NR);
                    let c0 = rng.vec_f32((MR - 1) * ldc + NR);
                    let mut want = c0.clone();
                    scalar::gemm_kernel(k, alpha, &a, &b, beta, &mut want, ldc);
                    let mut got = c0.clone();
                    with_isa(isa, || gemm_kernel(k, alpha, &a, &b, beta, &mut got, ldc)).unwrap();
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        let tol = 1e-5 * (1.0 + k as f32).sqrt() * (1.0 + w.abs());
                        assert!(
                            (g - w).abs() <= tol,
                            "{isa}: k={k} ldc={ldc} alpha={alpha} beta={beta}: c[{i}] = {g}, want {w}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn gemm_kernel_beta_zero_ignores_nan_in_c() {
    for isa in isas_to_test() {
        let a = vec![1.0f32; 2 * MR];
        let b = vec![1.0f32; 2 * NR];
        let mut c = vec![f32::NAN; (MR - 1) * NR + NR];
        with_isa(isa, || gemm_kernel(2, 1.0, &a, &b, 0.0, &mut c, NR)).unwrap();
        assert!(c.iter().all(|&v| v == 2.0), "{isa}: {c:?}");
    }
}

#[test]
fn dot_and_axpy_match_scalar_on_tails() {
    let mut rng = Rng::new(11);
    for isa in isas_to_test() {
        for n in [0usize, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1023] {
            let a = rng.vec_f32(n);
            let b = rng.vec_f32(n);
            let want = scalar::dot(&a, &b);
            let got = with_isa(isa, || dot(&a, &b)).unwrap();
            assert!(
                (got - want).abs() <= 1e-5 * (1.0 + n as f32).sqrt() * (1.0 + want.abs()),
                "{isa} dot n={n}: {got} vs {want}"
            );
            let mut y_want = b.clone();
            scalar::axpy(0.7, &a, &mut y_want);
            let mut y_got = b.clone();
            with_isa(isa, || axpy(0.7, &a, &mut y_got)).unwrap();
            for i in 0..n {
                assert!(
                    (y_got[i] - y_want[i]).abs() <= 1e-6 * (1.0 + y_want[i].abs()),
                    "{isa} axpy n={n} i={i}"
                );
            }
        }
    }
}
