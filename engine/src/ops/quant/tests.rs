//! Quantisation tests: hand-computed anchors for the quantiser and the naive twin, the int8
//! fast paths against naive **bit for bit** (every ISA × thread count, awkward + random
//! shapes), the quantisation error against f32 within its bound, calibration, and errors.

use super::*;
use crate::ops::conv1d::{Conv1dParams, conv1d};
use crate::parallel::with_isa_threads;
use crate::testing::{AWKWARD_CONV_CASES, ConvCase, Rng, isas_to_test, threads_to_test};

fn random_tensor(shape: Shape, rng: &mut Rng) -> Tensor<f32> {
    let data = (0..shape.numel())
        .map(|_| rng.uniform_range(-1.0, 1.0) as f32)
        .collect();
    Tensor::from_vec(shape, data).unwrap()
}

fn bits(t: &Tensor<f32>) -> Vec<u32> {
    t.data().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn quantiser_rounds_clamps_and_keeps_zero() {
    let s = 0.5;
    assert_eq!(quantize_value(0.0, s), 0);
    assert_eq!(quantize_value(0.24, s), 0);
    assert_eq!(quantize_value(0.25, s), 1); // 0.5 rounds away from zero
    assert_eq!(quantize_value(-0.25, s), -1);
    assert_eq!(quantize_value(63.5, s), 127);
    assert_eq!(quantize_value(1e9, s), 127);
    assert_eq!(quantize_value(-1e9, s), -127); // never −128
    assert_eq!(quantize_value(f32::NAN, s), 0);
    assert_eq!(scale_for(0.0), 1.0);
    assert_eq!(scale_for(127.0), 1.0);
}

/// w = [[0.5, −1, 0.25], [0, 0, 0]]: row 0 has s = 1/127, codes [64 (63.5 rounds up), −127,
/// 32 (31.75)]; the all-zero row gets scale 1 and codes 0. The rounding error of every weight
/// is at most s/2.
#[test]
fn weights_are_quantised_per_row() {
    let w = Tensor::from_vec(Shape::d2(2, 3), vec![0.5f32, -1.0, 0.25, 0.0, 0.0, 0.0]).unwrap();
    let q = QuantizedWeights::from_tensor(&w).unwrap();
    assert_eq!((q.rows, q.cols, q.cols_padded), (2, 3, 32));
    assert_eq!(&q.q[..3], &[64, -127, 32]);
    assert!(q.q[3..32].iter().all(|&v| v == 0) && q.q[32..].iter().all(|&v| v == 0));
    assert_eq!(q.scales, vec![1.0 / 127.0, 1.0]);
    assert_eq!(q.size_bytes(), 6 + 8);
    let mut rng = Rng::new(3);
    let w = random_tensor(Shape::d3(16, 8, 5), &mut rng);
    let q = QuantizedWeights::from_tensor(&w).unwrap();
    let back = q.dequantize();
    for (o, (row, back_row)) in w.data().chunks(40).zip(back.data().chunks(40)).enumerate() {
        let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(row.iter().any(|v| v.abs() == max));
        for (a, b) in row.iter().zip(back_row) {
            assert!(
                (a - b).abs() <= q.scales[o] * 0.5 + 1e-7,
                "row {o}: {a} vs {b}"
            );
        }
    }
}

/// Anchors the naive twin: x = [1, 2, 3, 4] with s_x = 1/127·4 (codes 32, 64, 95, 127), w =
/// [1, −1] (codes 127, −127, s_w = 1/127), bias 0.5, stride 2: acc[t] = 127·(q[2t] − q[2t+1]),
/// so acc = [127·−32, 127·−32] and y = 4/127 · 1/127 · acc + 0.5 = −32·4/127 + 0.5.
#[test]
fn naive_qconv1d_matches_hand_computed_example() {
    let x = Tensor::from_vec(Shape::d3(1, 1, 4), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
    let w = QuantizedWeights::from_tensor(
        &Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0f32, -1.0]).unwrap(),
    )
    .unwrap();
    let b = Tensor::from_vec(Shape::d1(1), vec![0.5f32]).unwrap();
    let params = Conv1dParams {
        stride: 2,
        ..Default::default()
    };
    let s_x = 4.0f32 / 127.0;
    let y = qconv1d_with(QuantImpl::Naive, &x, s_x, &w, Some(&b), params).unwrap();
    let want = (s_x * (1.0 / 127.0)) * (127.0 * -32.0) + 0.5;
    assert_eq!(y.data(), &[want, want]);
}

/// Fast vs naive, bit for bit, on one conv case (C_out from the case).
fn check_conv_case(case: &ConvCase, seed: u64) {
    let params = case.params();
    let mut rng = Rng::new(seed);
    let x = random_tensor(Shape::d3(case.n, case.c_in, case.l_in), &mut rng);
    let wf = random_tensor(Shape::d3(case.c_out, case.c_in, case.k), &mut rng);
    let b = random_tensor(Shape::d1(case.c_out), &mut rng);
    let w = QuantizedWeights::from_tensor(&wf).unwrap();
    let s_x = 0.9 / 127.0; // clips the inputs above 0.9 on purpose
    if params.out_len(case.l_in, case.k).is_err() {
        let err = qconv1d(&x, s_x, &w, Some(&b), params).unwrap_err();
        assert!(matches!(err, Error::EmptyOutput { .. }), "{case:?}: {err}");
        return;
    }
    let want = qconv1d_with(QuantImpl::Naive, &x, s_x, &w, Some(&b), params).unwrap();
    for isa in isas_to_test() {
        for threads in threads_to_test() {
            let got = with_isa_threads(isa, threads, || {
                qconv1d(&x, s_x, &w, Some(&b), params).unwrap()
            })
            .unwrap();
            assert_eq!(
                bits(&got),
                bits(&want),
                "isa {isa} threads {threads} seed {seed} {case:?}"
            );
        }
    }
    let no_bias = qconv1d(&x, s_x, &w, None, params).unwrap();
    let no_bias_naive = qconv1d_with(QuantImpl::Naive, &x, s_x, &w, None, params).unwrap();
    assert_eq!(
        bits(&no_bias),
        bits(&no_bias_naive),
        "{case:?} without bias"
    );
}

#[test]
fn qconv1d_matches_naive_awkward() {
    for (i, case) in AWKWARD_CONV_CASES.iter().enumerate() {
        check_conv_case(case, 500 + i as u64);
    }
}

#[test]
fn qconv1d_matches_naive_random() {
    let mut rng = Rng::new(5150);
    for i in 0..40 {
        let case = ConvCase::random(&mut rng);
        check_conv_case(&case, 6000 + i);
    }
}

/// The quantisation error against the f32 conv is bounded by the rounding of both operands:
/// |Δy| ≤ Σ_p (|w|·s_x/2 + |x|·s_w/2 + s_x·s_w/4) per output (no clipping: s_x from max|x|).
#[test]
fn qconv1d_error_is_within_the_rounding_bound() {
    let mut rng = Rng::new(9);
    let (n, c_in, c_out, l, k) = (2, 8, 12, 50, 5);
    let x = random_tensor(Shape::d3(n, c_in, l), &mut rng);
    let wf = random_tensor(Shape::d3(c_out, c_in, k), &mut rng);
    let params = Conv1dParams {
        padding: 2,
        ..Default::default()
    };
    let w = QuantizedWeights::from_tensor(&wf).unwrap();
    let mut obs = AbsObserver::new();
    obs.observe(x.data());
    let s_x = obs.scale(Calibration::Max).unwrap();
    let y = qconv1d(&x, s_x, &w, None, params).unwrap();
    let y32 = conv1d(&x, &wf, None, params).unwrap();
    let terms = (c_in * k) as f32;
    for (i, (a, b)) in y.data().iter().zip(y32.data()).enumerate() {
        let o = (i / l) % c_out;
        let s_w = w.scales[o];
        let bound = terms * (1.0 * s_x / 2.0 + 1.0 * s_w / 2.0 + s_x * s_w / 4.0);
        assert!(
            (a - b).abs() <= bound,
            "index {i}: {a} vs {b}, bound {bound}"
        );
    }
}

#[test]
fn qlinear_matches_naive_and_f32() {
    let mut rng = Rng::new(11);
    for &(n, inp, out) in &[(1, 1, 1), (3, 5, 7), (4, 33, 9), (64, 128, 64), (2, 200, 5)] {
        let x = random_tensor(Shape::d2(n, inp), &mut rng);
        let wf = random_tensor(Shape::d2(out, inp), &mut rng);
        let b = random_tensor(Shape::d1(out), &mut rng);
        let w = QuantizedWeights::from_tensor(&wf).unwrap();
        let s_x = 1.0 / 127.0;
        let want = qlinear_with(QuantImpl::Naive, &x, s_x, &w, Some(&b)).unwrap();
        for isa in isas_to_test() {
            let got =
                crate::simd::with_isa(isa, || qlinear(&x, s_x, &w, Some(&b)).unwrap()).unwrap();
            assert_eq!(
                bits(&got),
                bits(&want),
                "isa {isa} n {n} in {inp} out {out}"
            );
        }
        for (i, q) in want.data().iter().enumerate() {
            let (s, o) = (i / out, i % out);
            let f: f32 = (0..inp)
                .map(|p| x.data()[s * inp + p] * wf.data()[o * inp + p])
                .sum::<f32>()
                + b.data()[o];
            let bound =
                inp as f32 * (s_x / 2.0 + w.scales[i % out] / 2.0 + s_x * w.scales[i % out] / 4.0);
            assert!((q - f).abs() <= bound, "{q} vs {f} (bound {bound})");
        }
    }
}

#[test]
fn calibration_max_and_percentile() {
    let mut obs = AbsObserver::new();
    assert!(obs.clip(Calibration::Max).is_err());
    let values: Vec<f32> = (1..=1000)
        .map(|v| v as f32 * if v % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    obs.observe(&values[..500]);
    obs.observe(&values[500..]);
    obs.observe(&[f32::NAN, f32::INFINITY]);
    assert_eq!(obs.count(), 1000);
    assert_eq!(obs.clip(Calibration::Max).unwrap(), 1000.0);
    assert_eq!(obs.clip(Calibration::Percentile(99.0)).unwrap(), 990.0);
    assert_eq!(obs.clip(Calibration::Percentile(100.0)).unwrap(), 1000.0);
    assert_eq!(obs.clip(Calibration::Percentile(0.05)).unwrap(), 1.0);
    assert_eq!(obs.scale(Calibration::Max).unwrap(), 1000.0 / 127.0);
    assert!(obs.clip(Calibration::Percentile(0.0)).is_err());
    assert!(obs.clip(Calibration::Percentile(101.0)).is_err());
}

#[test]
fn quant_errors_name_the_problem() {
    let w = QuantizedWeights::from_tensor(
        &Tensor::from_vec(Shape::d3(2, 3, 3), vec![0.1f32; 18]).unwrap(),
    )
    .unwrap();
    let x = Tensor::<f32>::zeros(Shape::d3(1, 4, 10));
    let err = qconv1d(&x, 0.1, &w, None, Conv1dParams::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("input has 4 channels but weight expects 3"),
        "{err}"
    );
    let x = Tensor::<f32>::zeros(Shape::d3(1, 3, 10));
    let err = qconv1d(&x, 0.0, &w, None, Conv1dParams::default()).unwrap_err();
    assert!(err.to_string().contains("activation scale"), "{err}");
    let b = Tensor::<f32>::zeros(Shape::d1(3));
    let err = qconv1d(&x, 0.1, &w, Some(&b), Conv1dParams::default()).unwrap_err();
    assert!(err.to_string().contains("bias"), "{err}");
    assert!(
        QuantizedWeights::from_tensor(&Tensor::from_vec(Shape::d1(2), vec![1.0f32, 2.0]).unwrap())
            .is_err()
    );
    let nan = Tensor::from_vec(Shape::d2(1, 2), vec![1.0f32, f32::NAN]).unwrap();
    assert!(QuantizedWeights::from_tensor(&nan).is_err());
    let wl = QuantizedWeights::from_tensor(
        &Tensor::<f32>::from_vec(Shape::d2(2, 3), vec![0.5; 6]).unwrap(),
    )
    .unwrap();
    let err = qlinear(&Tensor::zeros(Shape::d2(2, 4)), 0.1, &wl, None).unwrap_err();
    assert!(err.to_string().contains("4 features"), "{err}");
    // Hand-edited codes: −128 (outside the symmetric range) and a truncated code buffer are
    // named errors, not a panic in a SIMD kernel.
    let mut bad = w.clone();
    bad.q[5] = i8::MIN;
    let err = qconv1d(&x, 0.1, &bad, None, Conv1dParams::default()).unwrap_err();
    assert!(err.to_string().contains("-128 at row 0, column 5"), "{err}");
    let mut short = wl.clone();
    short.q.pop();
    let err = qlinear(&Tensor::zeros(Shape::d2(2, 3)), 0.1, &short, None).unwrap_err();
    assert!(err.to_string().contains("sizes disagree"), "{err}");
}
