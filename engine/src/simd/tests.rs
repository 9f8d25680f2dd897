//! Every ISA body against the scalar reference, on lengths that exercise the vector tails
//! (0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1023) and on sub-slices starting 0..7 elements
//! into a buffer, so loads are misaligned and inputs and outputs are misaligned differently.
//!
//! What is compared how (honest tolerances):
//! - `scale`, `add`, `mul`, `relu`, `relu_backward`, `max`, `gather_strided`,
//!   `scatter_add_strided`: every ISA performs the same single IEEE operation per element, so
//!   the results must be **bit-identical** to scalar (including NaN/−0 handling).
//! - `dot`, `sum`: the SIMD paths add in a different order. With small-integer inputs every
//!   partial sum is exact, so the result must be exactly equal; with random reals both results
//!   must lie within the worst-case summation bound n·ε·Σ|terms| of the f64 sum.
//! - `axpy`: SIMD uses one fused multiply-add (one rounding, scalar has two): each element
//!   within ε·(|y| + |αx|) of scalar.
//! - exp/sigmoid/tanh: see `tests_math.rs`.

use super::*;
use crate::testing::{Rng, isas_to_test};

const LENS: [usize; 13] = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1023];
const OFFSETS: std::ops::Range<usize> = 0..8;

/// A buffer of `n + off` random values in \[−1, 1); the test uses `buf[off..]`.
fn padded(rng: &mut Rng, n: usize, off: usize) -> Vec<f32> {
    rng.vec_f32(n + off)
}

/// Small integers in −8..=8 as f32: sums and products of up to 2¹⁰ of them are exact.
fn small_ints(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.below(17) as f32 - 8.0).collect()
}

#[track_caller]
fn assert_bits(got: &[f32], want: &[f32], ctx: &str) {
    assert_eq!(got.len(), want.len(), "{ctx}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits(),
            "{ctx}: element {i}: got {g:e} ({:#010x}), want {w:e} ({:#010x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

/// Runs `f(isa, n, off)` for every ISA, length and offset.
fn for_all(mut f: impl FnMut(Isa, usize, usize)) {
    for isa in isas_to_test() {
        for n in LENS {
            for off in OFFSETS {
                f(isa, n, off);
            }
        }
    }
}

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
fn dot_and_sum_exact_on_small_integers() {
    let mut rng = Rng::new(11);
    for_all(|isa, n, off| {
        let a = small_ints(&mut rng, n + off);
        let b = small_ints(&mut rng, n + off);
        let (a, b) = (&a[off..], &b[off..]);
        let ctx = format!("{isa} n={n} off={off}");
        assert_eq!(
            with_isa(isa, || dot(a, b)).unwrap(),
            scalar::dot(a, b),
            "dot {ctx}"
        );
        assert_eq!(
            with_isa(isa, || sum(a)).unwrap(),
            scalar::sum(a),
            "sum {ctx}"
        );
    });
}

#[test]
fn dot_and_sum_within_summation_bound() {
    let mut rng = Rng::new(12);
    for_all(|isa, n, off| {
        let a = padded(&mut rng, n, off);
        let b = padded(&mut rng, n, off);
        let (a, b) = (&a[off..], &b[off..]);
        let ctx = format!("{isa} n={n} off={off}");
        // Any summation order of n terms has |error| ≤ n·ε·Σ|terms| (plus one ε per product).
        let exact: f64 = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
        let mass: f64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (x as f64 * y as f64).abs())
            .sum();
        let bound = (n as f64 + 1.0) * f32::EPSILON as f64 * mass;
        let got = with_isa(isa, || dot(a, b)).unwrap() as f64;
        assert!(
            (got - exact).abs() <= bound,
            "dot {ctx}: {got} vs {exact} (bound {bound:e})"
        );
        let exact: f64 = a.iter().map(|&x| x as f64).sum();
        let mass: f64 = a.iter().map(|&x| (x as f64).abs()).sum();
        let bound = n as f64 * f32::EPSILON as f64 * mass;
        let got = with_isa(isa, || sum(a)).unwrap() as f64;
        assert!(
            (got - exact).abs() <= bound,
            "sum {ctx}: {got} vs {exact} (bound {bound:e})"
        );
    });
}

#[test]
fn axpy_matches_scalar_within_one_rounding() {
    let mut rng = Rng::new(13);
    for_all(|isa, n, off| {
        let x = padded(&mut rng, n, off);
        let y0 = padded(&mut rng, n, (off + 3) % 8);
        let (x, y0) = (&x[off..], &y0[(off + 3) % 8..]);
        let alpha = 0.7f32;
        let mut want = y0.to_vec();
        scalar::axpy(alpha, x, &mut want);
        let mut got = y0.to_vec();
        with_isa(isa, || axpy(alpha, x, &mut got)).unwrap();
        for i in 0..n {
            let tol = f32::EPSILON * (y0[i].abs() + (alpha * x[i]).abs());
            assert!(
                (got[i] - want[i]).abs() <= tol,
                "axpy {isa} n={n} off={off} i={i}: {} vs {}",
                got[i],
                want[i]
            );
        }
    });
}

#[test]
fn elementwise_ops_are_bit_identical_to_scalar() {
    let mut rng = Rng::new(14);
    for_all(|isa, n, off| {
        let out_off = (off + 5) % 8;
        let mut a = padded(&mut rng, n, off);
        let b = padded(&mut rng, n, off);
        // Specials where there is room: relu must map NaN and −0 to +0 exactly like scalar,
        // and relu_backward must leave a −0 gradient untouched where y ≤ 0.
        if n >= 3 {
            a[off] = f32::NAN;
            a[off + 1] = -0.0;
            a[off + 2] = f32::INFINITY;
        }
        let (a, b) = (&a[off..], &b[off..]);
        let ctx = format!("{isa} n={n} off={off}");
        let out0 = padded(&mut rng, n, out_off);
        let run = |op: &dyn Fn(&mut [f32])| {
            let mut want = out0.clone();
            with_isa(Isa::Scalar, || op(&mut want[out_off..])).unwrap();
            let mut got = out0.clone();
            with_isa(isa, || op(&mut got[out_off..])).unwrap();
            (got, want)
        };
        let (g, w) = run(&|o| add(a, b, o));
        assert_bits(&g, &w, &format!("add {ctx}"));
        let (g, w) = run(&|o| mul(a, b, o));
        assert_bits(&g, &w, &format!("mul {ctx}"));
        let (g, w) = run(&|o| relu(a, o));
        assert_bits(&g, &w, &format!("relu {ctx}"));
        let (g, w) = run(&|o| scale(-1.5, o));
        assert_bits(&g, &w, &format!("scale {ctx}"));
        let (g, w) = run(&|o| {
            if o.len() >= 2 {
                o[1] = -0.0; // y = a[1] = −0 there, so it must stay −0
            }
            relu_backward(a, b, o)
        });
        assert_bits(&g, &w, &format!("relu_backward {ctx}"));
    });
}

#[test]
fn max_matches_scalar_and_skips_nans() {
    let mut rng = Rng::new(15);
    for_all(|isa, n, off| {
        let mut a = padded(&mut rng, n, off);
        let ctx = format!("{isa} n={n} off={off}");
        let want = scalar::max(&a[off..]);
        assert_bits(&[with_isa(isa, || max(&a[off..])).unwrap()], &[want], &ctx);
        // Put the maximum in every position in turn (tails included), and NaNs around it.
        for pos in 0..n {
            let saved = a[off + pos];
            a[off + pos] = 7.0;
            if pos > 0 {
                a[off + pos - 1] = f32::NAN;
            }
            let got = with_isa(isa, || max(&a[off..])).unwrap();
            assert_eq!(got, 7.0, "max {ctx} pos={pos}");
            a[off + pos] = saved;
        }
    });
    for isa in isas_to_test() {
        let empty = with_isa(isa, || max(&[])).unwrap();
        assert_eq!(empty, f32::NEG_INFINITY, "{isa}");
        let nans = with_isa(isa, || max(&[f32::NAN; 9])).unwrap();
        assert_eq!(nans, f32::NEG_INFINITY, "{isa}: all-NaN slice");
    }
}

#[test]
fn gather_strided_matches_scalar() {
    let mut rng = Rng::new(16);
    for isa in isas_to_test() {
        for n in LENS {
            for step in [0usize, 1, 2, 3, 5] {
                for start in OFFSETS {
                    // slack 0: the last element read is the last one of src, so a vector load
                    // that over-reads would be out of bounds; slack 20: room for full vectors.
                    for slack in [0usize, 20] {
                        let len = start + n.saturating_sub(1) * step + 1 + slack;
                        let src = rng.vec_f32(len);
                        let mut want = vec![0.0f32; n];
                        scalar::gather_strided(&src, start, step, &mut want);
                        let mut got = vec![0.0f32; n];
                        with_isa(isa, || gather_strided(&src, start, step, &mut got)).unwrap();
                        let ctx = format!("{isa} n={n} step={step} start={start} slack={slack}");
                        assert_bits(&got, &want, &ctx);
                    }
                }
            }
        }
    }
}

#[test]
fn scatter_add_strided_matches_scalar() {
    let mut rng = Rng::new(17);
    for isa in isas_to_test() {
        for n in LENS {
            for step in [0usize, 1, 2, 3, 5] {
                for start in OFFSETS {
                    for slack in [0usize, 9] {
                        let src_buf = rng.vec_f32(n + start);
                        let src = &src_buf[start..]; // misaligned source too
                        let len = start + n.saturating_sub(1) * step + 1 + slack;
                        let dst0 = rng.vec_f32(len);
                        let mut want = dst0.clone();
                        scalar::scatter_add_strided(src, &mut want, start, step);
                        let mut got = dst0.clone();
                        with_isa(isa, || scatter_add_strided(src, &mut got, start, step)).unwrap();
                        let ctx = format!("{isa} n={n} step={step} start={start} slack={slack}");
                        assert_bits(&got, &want, &ctx);
                    }
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "reach past")]
fn gather_strided_checks_the_last_index() {
    let src = vec![0.0f32; 10];
    let mut dst = vec![0.0f32; 4];
    gather_strided(&src, 1, 3, &mut dst); // reads index 1 + 3·3 = 10
}

#[test]
#[should_panic(expected = "reach past")]
fn scatter_add_strided_checks_the_last_index() {
    let src = vec![0.0f32; 4];
    let mut dst = vec![0.0f32; 9];
    scatter_add_strided(&src, &mut dst, 0, 3); // writes index 9
}

#[test]
#[should_panic(expected = "lengths differ")]
fn add_checks_lengths() {
    add(&[1.0; 3], &[1.0; 4], &mut [0.0; 3]);
}

#[test]
fn gemm_kernel_matches_scalar() {
    let mut rng = Rng::new(7);
    for isa in isas_to_test() {
        for &k in &[0usize, 1, 2, 3, 7, 8, 64, 257] {
            for &ldc in &[NR, NR + 3, 40] {
                for &(alpha, beta) in &[(1.0f32, 0.0f32), (1.0, 1.0), (0.5, -2.0)] {
                    // Panels and tile start at odd offsets: nothing may assume alignment.
                    let off = 1 + k % 3;
                    let a = rng.vec_f32(k * MR + off);
                    let b = rng.vec_f32(k * NR + off);
                    let c0 = rng.vec_f32((MR - 1) * ldc + NR + off);
                    let (a, b) = (&a[off..], &b[off..]);
                    let mut want = c0.clone();
                    scalar::gemm_kernel(k, alpha, a, b, beta, &mut want[off..], ldc);
                    let mut got = c0.clone();
                    with_isa(isa, || {
                        gemm_kernel(k, alpha, a, b, beta, &mut got[off..], ldc)
                    })
                    .unwrap();
                    let ctx = format!("{isa}: k={k} ldc={ldc} alpha={alpha} beta={beta}");
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        // Σ of k products of values in [−1, 1): reordering/FMA error ≤ k·ε·k.
                        let tol = 2.0 * (k as f32 + 2.0) * f32::EPSILON * (k as f32 + 2.0);
                        assert!((g - w).abs() <= tol, "{ctx}: c[{i}] = {g}, want {w}");
                    }
                    // Elements of c outside the tile (before it, between rows) stay untouched.
                    assert_eq!(got[..off], c0[..off], "{ctx}: written before the tile");
                    for i in 0..got.len() - off {
                        if i % ldc >= NR {
                            assert_eq!(got[off + i], c0[off + i], "{ctx}: gap c[{i}] written");
                        }
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
fn gemm_kernel_hand_example() {
    // k = 1: C[i, j] = α·A[i, 0]·B[0, j] + β·C[i, j] with A[i] = i + 1, B[j] = j, C = 1.
    for isa in isas_to_test() {
        let a: Vec<f32> = (0..MR).map(|i| (i + 1) as f32).collect();
        let b: Vec<f32> = (0..NR).map(|j| j as f32).collect();
        let mut c = vec![1.0f32; MR * NR];
        with_isa(isa, || gemm_kernel(1, 2.0, &a, &b, 3.0, &mut c, NR)).unwrap();
        for i in 0..MR {
            for j in 0..NR {
                let want = 2.0 * (i + 1) as f32 * j as f32 + 3.0;
                assert_eq!(c[i * NR + j], want, "{isa}: C[{i}, {j}]");
            }
        }
    }
}

#[test]
fn conv_kernel_matches_scalar_and_the_packed_kernel() {
    let mut rng = Rng::new(17);
    for isa in isas_to_test() {
        for (&k, rows) in [0usize, 1, 2, 5, 9, 64, 257].iter().zip((1..=MR).cycle()) {
            for &ldc in &[NR, NR + 3] {
                for &beta in &[0.0f32, 1.0, -0.5] {
                    // Rows of B at scattered, overlapping offsets (as a convolution's taps are),
                    // in a signal that starts at an odd address.
                    let offs: Vec<usize> = (0..k).map(|p| (p * 5 + 3 * (p % 3)) % 41).collect();
                    let offs = RowOffsets::new(offs);
                    let x = rng.vec_f32(offs.max() + NR + 1);
                    let x = &x[1..];
                    let a = rng.vec_f32(k * MR);
                    let c0 = rng.vec_f32((MR - 1) * ldc + NR);
                    let mut want = c0.clone();
                    scalar::conv_kernel(MR, &a, x, &offs, beta, &mut want, ldc);
                    // The same product through the packed kernel: B copied into a panel.
                    let b: Vec<f32> = offs
                        .as_slice()
                        .iter()
                        .flat_map(|&o| x[o..o + NR].to_vec())
                        .collect();
                    let mut packed = c0.clone();
                    scalar::gemm_kernel(k, 1.0, &a, &b, beta, &mut packed, ldc);
                    assert_eq!(want, packed, "scalar conv_kernel ≠ gemm_kernel on packed B");
                    // All MR rows, then only the first `rows` (the edge panel of a layer): the
                    // rows past them must stay untouched.
                    for r in [MR, rows] {
                        let mut got = c0.clone();
                        with_isa(isa, || conv_kernel(r, &a, x, &offs, beta, &mut got, ldc))
                            .unwrap();
                        let ctx = format!("{isa}: rows={r} k={k} ldc={ldc} beta={beta}");
                        let tol = 2.0 * (k as f32 + 2.0) * f32::EPSILON * (k as f32 + 2.0);
                        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                            if i % ldc >= NR || i / ldc >= r {
                                assert_eq!(g.to_bits(), c0[i].to_bits(), "{ctx}: c[{i}] written");
                            } else {
                                assert!((g - w).abs() <= tol, "{ctx}: c[{i}] = {g}, want {w}");
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn conv_kernel_beta_zero_ignores_nan_in_c() {
    for isa in isas_to_test() {
        let a = vec![1.0f32; 2 * MR];
        let x: Vec<f32> = (0..NR + 1).map(|j| j as f32).collect();
        let offs = RowOffsets::new(vec![0, 1]);
        let mut c = vec![f32::NAN; MR * NR];
        with_isa(isa, || conv_kernel(MR, &a, &x, &offs, 0.0, &mut c, NR)).unwrap();
        // C[i, j] = x[j] + x[j + 1] = 2j + 1.
        for (idx, &v) in c.iter().enumerate() {
            assert_eq!(v, (2 * (idx % NR) + 1) as f32, "{isa}: c[{idx}]");
        }
    }
}

#[test]
#[should_panic(expected = "conv_kernel")]
fn conv_kernel_checks_the_reach_of_the_last_row() {
    let mut c = vec![0.0f32; MR * NR];
    // The row at offset 4 would read x[4..20] from a 19-element signal.
    let offs = RowOffsets::new(vec![0, 4]);
    conv_kernel(MR, &[0.0; 2 * MR], &[0.0; NR + 3], &offs, 0.0, &mut c, NR);
}

#[test]
fn direct_conv_matches_scalar() {
    let mut rng = Rng::new(31);
    for isa in isas_to_test() {
        for &rows in &[1usize, 2, 3, 4, 5, 9] {
            for &len in &[1usize, 3, 7, 8, 9, 15, 16, 17, 40] {
                for &q in &[1usize, 2, 5, 10, 16] {
                    // Taps at scattered offsets of a buffer that starts at an odd address; the
                    // output has a row gap (ldy > len) that must stay untouched.
                    let offs: Vec<usize> = (0..q).map(|i| (i * 7 + 3 * (i % 2)) % 23).collect();
                    let reach = offs.iter().max().unwrap() + len;
                    let x = rng.vec_f32(reach + 1);
                    let w = rng.vec_f32(rows * q);
                    let bias = rng.vec_f32(rows);
                    let ldy = len + 3;
                    let y0 = rng.vec_f32((rows - 1) * ldy + len);
                    let mut want = y0.clone();
                    scalar::direct_conv(&x[1..], &offs, &w, &bias, &mut want, (rows, len, ldy));
                    let mut got = y0.clone();
                    with_isa(isa, || {
                        direct_conv(&x[1..], &offs, &w, &bias, &mut got, (rows, len, ldy))
                    })
                    .unwrap();
                    let ctx = format!("{isa}: rows {rows} len {len} taps {q}");
                    // |terms| < 1: the FMA and the order differ from the plain sum by ≤ (q+1)·ε each.
                    let tol = 2.0 * (q as f32 + 2.0) * f32::EPSILON * (q as f32 + 2.0);
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        if i % ldy >= len {
                            assert_eq!(g.to_bits(), y0[i].to_bits(), "{ctx}: gap y[{i}] written");
                        } else {
                            assert!((g - w).abs() <= tol, "{ctx}: y[{i}] = {g}, want {w}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn direct_conv_hand_example() {
    // Two taps at offsets 0 and 2 of x = [1, 2, 3, 4, 5]: y[t] = b + 10·x[t] + 1·x[t + 2].
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    for isa in isas_to_test() {
        let mut y = [0.0f32; 3];
        with_isa(isa, || {
            direct_conv(&x, &[0, 2], &[10.0, 1.0], &[0.5], &mut y, (1, 3, 3))
        })
        .unwrap();
        assert_eq!(y, [13.5, 24.5, 35.5], "{isa}");
    }
}

#[test]
#[should_panic(expected = "direct_conv")]
fn direct_conv_checks_the_reach_of_the_last_tap() {
    let mut y = [0.0f32; 4];
    direct_conv(&[0.0; 5], &[0, 2], &[1.0, 1.0], &[0.0], &mut y, (1, 4, 4));
}
