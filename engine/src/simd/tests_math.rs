//! exp, sigmoid and tanh: every ISA, and the scalar model of the SIMD arithmetic
//! ([`vmath::exp_model`] …), against f64 on a dense sweep, asserting the bounds documented in
//! `vmath.rs`; plus the special values, and the tails/misaligned slices.
//!
//! The sweep for a range \[lo, hi\] is 2²⁰ evenly spaced points, plus every f32 whose bit
//! pattern is a multiple of 4093 (≈ 2000 per binade, so tiny magnitudes are covered as densely
//! as large ones), plus 4000 consecutive f32 around each delicate point (0, the places where the
//! exp reduction's n changes, tanh's switch at 0.625, the ends of the range). Each run prints
//! the measured maxima, so the documented bounds can be compared with what was observed.

use super::vmath::{
    EXP_MAX_REL_ERR, SIGMOID_MAX_ABS_ERR, SIGMOID_MAX_REL_ERR, TANH_MAX_ABS_ERR, TANH_MAX_REL_ERR,
    exp_model, sigmoid_model, tanh_model,
};
use super::*;
use crate::testing::isas_to_test;

/// The dense sweep described in the module doc, restricted to \[lo, hi\].
fn sweep(lo: f32, hi: f32) -> Vec<f32> {
    let mut xs = Vec::new();
    let n = 1usize << 20;
    for i in 0..=n {
        xs.push((lo as f64 + (hi as f64 - lo as f64) * i as f64 / n as f64) as f32);
    }
    let mut bits = 0u32;
    while bits < 0x7f80_0000 {
        let x = f32::from_bits(bits);
        for v in [x, -x] {
            if (lo..=hi).contains(&v) {
                xs.push(v);
            }
        }
        bits += 4093;
    }
    let ln2 = std::f32::consts::LN_2;
    let mut centres = vec![0.0f32, 0.625, -0.625, lo, hi];
    for k in [-100i32, -20, -3, -1, 0, 1, 2, 5, 50, 126] {
        centres.push((k as f32 + 0.5) * ln2);
    }
    for c in centres {
        let (mut up, mut down) = (c, c);
        for _ in 0..2000 {
            up = up.next_up();
            down = down.next_down();
            for v in [up, down] {
                if (lo..=hi).contains(&v) {
                    xs.push(v);
                }
            }
        }
    }
    xs
}

/// Max relative error (where `rel_ok(x)` and the true value is non-zero) and max absolute
/// error of `got` against the f64 function `want`, with the x attaining each.
fn measure(
    xs: &[f32],
    got: &[f32],
    want: impl Fn(f64) -> f64,
    rel_ok: impl Fn(f32) -> bool,
) -> ((f64, f32), (f64, f32)) {
    let (mut rel, mut abs) = ((0.0f64, 0.0f32), (0.0f64, 0.0f32));
    for (&x, &g) in xs.iter().zip(got) {
        let w = want(x as f64);
        let err = (g as f64 - w).abs();
        assert!(!err.is_nan(), "x = {x:e}: got {g:e}, want {w:e}");
        if err > abs.0 {
            abs = (err, x);
        }
        if rel_ok(x) && w != 0.0 && err / w.abs() > rel.0 {
            rel = (err / w.abs(), x);
        }
    }
    (rel, abs)
}

/// The implementations to check: the model (scalar loop over `exp_model` …) and every ISA.
fn implementations() -> Vec<(String, Option<Isa>)> {
    let mut v = vec![("model".to_string(), None)];
    v.extend(
        isas_to_test()
            .into_iter()
            .map(|isa| (isa.to_string(), Some(isa))),
    );
    v
}

/// Runs the dispatched `op` under `isa`, or the model when `isa` is None.
fn run(
    isa: Option<Isa>,
    xs: &[f32],
    op: fn(&[f32], &mut [f32]),
    model: fn(f32) -> f32,
) -> Vec<f32> {
    let mut out = vec![0.0f32; xs.len()];
    match isa {
        Some(isa) => with_isa(isa, || op(xs, &mut out)).unwrap(),
        None => out.iter_mut().zip(xs).for_each(|(o, &x)| *o = model(x)),
    }
    out
}

/// On SIMD ISAs the result must be the model's, bit for bit (same operations, same order).
fn assert_simd_equals_model(
    name: &str,
    isa: Option<Isa>,
    xs: &[f32],
    got: &[f32],
    model: fn(f32) -> f32,
) {
    if matches!(isa, Some(Isa::Avx2Fma | Isa::Neon)) {
        for (&x, &g) in xs.iter().zip(got) {
            let m = model(x);
            assert!(
                g.to_bits() == m.to_bits() || (g.is_nan() && m.is_nan()),
                "{name} {isa:?}: x = {x:e}: {g:e} differs from the model's {m:e}"
            );
        }
    }
}

fn sigmoid_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

#[test]
fn exp_sweep_within_documented_bound() {
    let xs = sweep(-87.3, 88.7);
    for (name, isa) in implementations() {
        let got = run(isa, &xs, exp, exp_model);
        let ((rel, at), _) = measure(&xs, &got, f64::exp, |_| true);
        eprintln!(
            "exp {name}: max rel err {rel:.3e} at x = {at:e} ({} points)",
            xs.len()
        );
        assert!(
            rel <= EXP_MAX_REL_ERR,
            "exp {name}: rel err {rel:e} at x = {at:e}"
        );
        assert_simd_equals_model("exp", isa, &xs, &got, exp_model);
    }
}

#[test]
fn exp_special_values() {
    let cases: [(f32, f32); 12] = [
        (0.0, 1.0),
        (-0.0, 1.0),
        (f32::INFINITY, f32::INFINITY),
        (f32::NEG_INFINITY, 0.0),
        (88.73, f32::INFINITY),
        (88.8, f32::INFINITY),
        (1000.0, f32::INFINITY),
        (f32::MAX, f32::INFINITY),
        (-104.0, 0.0),
        (-1000.0, 0.0),
        (f32::MIN, 0.0),
        (-1e-30, 1.0),
    ];
    let xs: Vec<f32> = cases
        .iter()
        .map(|c| c.0)
        .chain([f32::NAN, 88.72, -87.3])
        .collect();
    for (name, isa) in implementations() {
        let got = run(isa, &xs, exp, exp_model);
        for (&(x, want), &g) in cases.iter().zip(&got) {
            assert_eq!(g, want, "exp {name}: x = {x:e}");
        }
        assert!(got[12].is_nan(), "exp {name}: NaN gave {}", got[12]);
        assert!(
            got[13].is_finite() && got[13] > 3.3e38,
            "exp {name}: e^88.72 = {}",
            got[13]
        );
        assert!(got[14].is_normal(), "exp {name}: e^-87.3 = {}", got[14]);
        // Subnormal results (gradual underflow): within one subnormal step of the truth.
        let sub = sweep(-103.9, -87.34);
        let got = run(isa, &sub, exp, exp_model);
        let (_, (abs, at)) = measure(&sub, &got, f64::exp, |_| false);
        let step = f32::from_bits(1) as f64;
        assert!(
            abs <= step,
            "exp {name}: subnormal abs err {abs:e} at x = {at:e}"
        );
    }
}

#[test]
fn sigmoid_sweep_within_documented_bounds() {
    let xs = sweep(-120.0, 120.0);
    for (name, isa) in implementations() {
        let got = run(isa, &xs, sigmoid, sigmoid_model);
        let ((rel, at_r), (abs, at_a)) = measure(&xs, &got, sigmoid_f64, |x| x >= -87.3);
        eprintln!("sigmoid {name}: max rel err {rel:.3e} at {at_r:e}, abs {abs:.3e} at {at_a:e}");
        assert!(
            rel <= SIGMOID_MAX_REL_ERR,
            "sigmoid {name}: rel {rel:e} at {at_r:e}"
        );
        assert!(
            abs <= SIGMOID_MAX_ABS_ERR,
            "sigmoid {name}: abs {abs:e} at {at_a:e}"
        );
        assert_simd_equals_model("sigmoid", isa, &xs, &got, sigmoid_model);
    }
}

#[test]
fn sigmoid_special_values() {
    let xs = [
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e30,
        -1e30,
        f32::MAX,
        f32::MIN,
        0.0,
        -0.0,
    ];
    let want = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.5, 0.5];
    for (name, isa) in implementations() {
        let got = run(isa, &xs, sigmoid, sigmoid_model);
        assert_eq!(got, want, "sigmoid {name}");
        let nan = run(isa, &[f32::NAN], sigmoid, sigmoid_model);
        assert!(nan[0].is_nan(), "sigmoid {name}: NaN gave {}", nan[0]);
    }
}

#[test]
fn tanh_sweep_within_documented_bounds() {
    let xs = sweep(-12.0, 12.0);
    for (name, isa) in implementations() {
        let got = run(isa, &xs, tanh, tanh_model);
        let ((rel, at_r), (abs, at_a)) = measure(&xs, &got, f64::tanh, |_| true);
        eprintln!("tanh {name}: max rel err {rel:.3e} at {at_r:e}, abs {abs:.3e} at {at_a:e}");
        assert!(
            rel <= TANH_MAX_REL_ERR,
            "tanh {name}: rel {rel:e} at {at_r:e}"
        );
        assert!(
            abs <= TANH_MAX_ABS_ERR,
            "tanh {name}: abs {abs:e} at {at_a:e}"
        );
        assert_simd_equals_model("tanh", isa, &xs, &got, tanh_model);
    }
}

#[test]
fn tanh_special_values() {
    let tiny = f32::from_bits(1); // smallest subnormal: tanh(x) = x
    let xs = [
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e30,
        -1e30,
        20.0,
        1e-30,
        tiny,
        -tiny,
    ];
    let want = [1.0, -1.0, 1.0, -1.0, 1.0, 1e-30, tiny, -tiny];
    for (name, isa) in implementations() {
        let got = run(isa, &xs, tanh, tanh_model);
        assert_eq!(got, want, "tanh {name}");
        let zeros = run(isa, &[0.0, -0.0, f32::NAN], tanh, tanh_model);
        assert_eq!(zeros[0].to_bits(), 0.0f32.to_bits(), "tanh {name}(+0)");
        assert_eq!(
            zeros[1].to_bits(),
            (-0.0f32).to_bits(),
            "tanh {name}(-0) keeps the sign"
        );
        assert!(zeros[2].is_nan(), "tanh {name}: NaN gave {}", zeros[2]);
    }
}

#[test]
fn transcendental_tails_and_offsets_match_per_element() {
    // Every element must get the same value as when computed alone (scalar: the library
    // function; SIMD: the model), whatever its position in the slice: this checks the padded
    // tail and misaligned starts.
    let mut rng = crate::testing::Rng::new(21);
    type Op = (&'static str, fn(&[f32], &mut [f32]), fn(f32) -> f32);
    let ops: [Op; 3] = [
        ("exp", exp, exp_model),
        ("sigmoid", sigmoid, sigmoid_model),
        ("tanh", tanh, tanh_model),
    ];
    for isa in isas_to_test() {
        for n in [0usize, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1023] {
            for off in 0..8 {
                let buf: Vec<f32> = (0..n + off)
                    .map(|_| rng.uniform_range(-30.0, 30.0) as f32)
                    .collect();
                let x = &buf[off..];
                for (name, op, model) in ops {
                    let mut out = vec![f32::NAN; n + 3];
                    with_isa(isa, || op(x, &mut out[3..])).unwrap();
                    for (i, &xi) in x.iter().enumerate() {
                        let want = if isa == Isa::Scalar {
                            let mut one = [0.0f32];
                            scalar_op(name)(&[xi], &mut one);
                            one[0]
                        } else {
                            model(xi)
                        };
                        assert_eq!(
                            out[3 + i].to_bits(),
                            want.to_bits(),
                            "{name} {isa} n={n} off={off} i={i} x={xi}"
                        );
                    }
                }
            }
        }
    }
}

fn scalar_op(name: &str) -> fn(&[f32], &mut [f32]) {
    match name {
        "exp" => scalar::exp::<f32>,
        "sigmoid" => scalar::sigmoid::<f32>,
        _ => scalar::tanh::<f32>,
    }
}
