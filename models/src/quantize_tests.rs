//! Quantisation of a small conv-BN-ReLU-pool-linear network built from raw tensors: BN folding
//! is exact (up to f32 rounding), the int8 network tracks the f32 one, and the size shrinks.

use super::*;
use ecgrad_autograd::engine::Rng;

fn rand_t(shape: Shape, lo: f64, hi: f64, rng: &mut Rng) -> Tensor<f32> {
    let data = (0..shape.numel())
        .map(|_| rng.uniform_range(lo, hi) as f32)
        .collect();
    Tensor::from_vec(shape, data).unwrap()
}

fn bn(c: usize, rng: &mut Rng) -> FloatStep {
    FloatStep::BatchNorm {
        gamma: rand_t(Shape::d1(c), 0.5, 2.0, rng),
        beta: rand_t(Shape::d1(c), -0.5, 0.5, rng),
        mean: rand_t(Shape::d1(c), -0.3, 0.3, rng),
        var: rand_t(Shape::d1(c), 0.2, 3.0, rng),
        eps: 1e-5,
    }
}

/// conv(1→8, k5) BN ReLU pool2 → depthwise(8, k3) conv(8→16, k1) BN ReLU → GAP → linear(16→12)
/// ReLU → linear(12→3).
fn small_net(rng: &mut Rng) -> Vec<FloatStep> {
    let pad = |padding| Conv1dParams {
        padding,
        ..Default::default()
    };
    vec![
        FloatStep::Conv1d {
            weight: rand_t(Shape::d3(8, 1, 5), -0.5, 0.5, rng),
            bias: Some(rand_t(Shape::d1(8), -0.1, 0.1, rng)),
            params: pad(2),
        },
        bn(8, rng),
        FloatStep::Relu,
        FloatStep::MaxPool1d(Pool1dParams::new(2)),
        FloatStep::DepthwiseConv1d {
            weight: rand_t(Shape::d3(8, 1, 3), -0.6, 0.6, rng),
            bias: Some(rand_t(Shape::d1(8), -0.1, 0.1, rng)),
            params: pad(1),
        },
        FloatStep::Conv1d {
            weight: rand_t(Shape::d3(16, 8, 1), -0.4, 0.4, rng),
            bias: Some(rand_t(Shape::d1(16), -0.1, 0.1, rng)),
            params: Conv1dParams::default(),
        },
        bn(16, rng),
        FloatStep::Relu,
        FloatStep::GlobalAvgPool1d,
        FloatStep::Linear {
            weight: rand_t(Shape::d2(12, 16), -0.3, 0.3, rng),
            bias: Some(rand_t(Shape::d1(12), -0.1, 0.1, rng)),
        },
        FloatStep::Relu,
        FloatStep::Linear {
            weight: rand_t(Shape::d2(3, 12), -0.3, 0.3, rng),
            bias: None,
        },
    ]
}

fn signals(n: usize, l: usize, rng: &mut Rng) -> Tensor<f32> {
    // Smooth random signals (sums of two sines) plus noise, like beats in scale.
    let mut data = Vec::with_capacity(n * l);
    for _ in 0..n {
        let (f1, f2, p) = (
            rng.uniform_range(0.02, 0.1),
            rng.uniform_range(0.1, 0.3),
            rng.uniform_range(0.0, 6.0),
        );
        for t in 0..l {
            let t = t as f64;
            data.push(((f1 * t + p).sin() + 0.5 * (f2 * t).cos() + 0.1 * rng.normal()) as f32);
        }
    }
    Tensor::from_vec(Shape::d3(n, 1, l), data).unwrap()
}

/// BN(conv(x)) with γ = 2, β = 1, μ = 0.5, σ² = 3, ε = 1: a = 2/√4 = 1, so w' = w and
/// b' = 1·(b − 0.5) + 1 = b + 0.5.
#[test]
fn fold_batch_norm_hand_computed() {
    let w = Tensor::from_vec(Shape::d3(1, 1, 2), vec![3.0f32, -1.0]).unwrap();
    let b = Tensor::from_vec(Shape::d1(1), vec![0.25f32]).unwrap();
    let one = |v: f32| Tensor::from_vec(Shape::d1(1), vec![v]).unwrap();
    let (w2, b2) = fold_batch_norm(
        &w,
        Some(&b),
        &one(2.0),
        &one(1.0),
        &one(0.5),
        &one(3.0),
        1.0,
    )
    .unwrap();
    assert_eq!(w2.data(), &[3.0, -1.0]);
    assert_eq!(b2.data(), &[0.75]);
    // γ = 1, σ² = 0.25 − ε: a = 2 doubles the weights.
    let (w3, b3) =
        fold_batch_norm(&w, None, &one(1.0), &one(0.0), &one(0.0), &one(0.25), 0.0).unwrap();
    assert_eq!(w3.data(), &[6.0, -2.0]);
    assert_eq!(b3.data(), &[0.0]);
}

#[test]
fn folded_network_matches_the_unfolded_one() {
    let mut rng = Rng::new(1);
    let steps = small_net(&mut rng);
    let folded = fold_steps(&steps).unwrap();
    assert_eq!(folded.len(), steps.len() - 2, "both BNs folded");
    assert!(
        !folded
            .iter()
            .any(|s| matches!(s, FloatStep::BatchNorm { .. }))
    );
    let x = signals(4, 60, &mut rng);
    let a = float_forward(&steps, &x).unwrap();
    let b = float_forward(&folded, &x).unwrap();
    for (p, q) in a.data().iter().zip(b.data()) {
        assert!((p - q).abs() <= 1e-5 * (1.0 + q.abs()), "{p} vs {q}");
    }
    // A BN with nothing before it stays (as an f32 affine step).
    let lone = vec![bn(1, &mut rng), FloatStep::Relu];
    assert_eq!(fold_steps(&lone).unwrap().len(), 2);
}

#[test]
fn int8_network_tracks_the_f32_one_and_is_smaller() {
    let mut rng = Rng::new(2);
    let steps = small_net(&mut rng);
    let calib: Vec<Tensor<f32>> = (0..3).map(|_| signals(16, 60, &mut rng)).collect();
    for how in [Calibration::Max, Calibration::Percentile(99.99)] {
        let q = quantize_steps(&steps, &calib, how).unwrap();
        assert_eq!(q.int8_layers(), 4, "conv1, pointwise conv, fc1, fc2");
        let x = signals(64, 60, &mut rng);
        let want = float_forward(&steps, &x).unwrap();
        let got = q.forward(&x).unwrap();
        assert_eq!(got.shape(), want.shape());
        let scale = want.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = got
            .data()
            .iter()
            .zip(want.data())
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            worst <= 0.05 * scale,
            "{how:?}: worst |Δlogit| {worst} vs max |logit| {scale}"
        );
        let argmax = |r: &[f32]| {
            r.iter()
                .enumerate()
                .fold(0, |best, (i, &v)| if v > r[best] { i } else { best })
        };
        let agree = got
            .data()
            .chunks(3)
            .zip(want.data().chunks(3))
            .filter(|(a, b)| argmax(a) == argmax(b))
            .count();
        assert!(agree >= 60, "{how:?}: {agree}/64 predictions agree");
    }
    let q = quantize_steps(&steps, &calib, Calibration::Max).unwrap();
    let f32_bytes = float_size_bytes(&steps);
    // Parameters: conv1 40 + 8, bn1 4·8, dw 24 + 8, pw 128 + 16, bn2 4·16, fc1 192 + 12, fc2 36.
    assert_eq!(f32_bytes, 4 * (48 + 32 + 32 + 144 + 64 + 204 + 36));
    // int8: codes 40 + 128 + 192 + 36, scales 4·(8 + 16 + 12 + 3), folded biases 4·(8 + 16 + 12),
    // input scales 4·4, and the f32 depthwise conv 4·32.
    assert_eq!(q.size_bytes(), 396 + 4 * 39 + 4 * 36 + 16 + 128);
}

#[test]
fn quantize_errors_are_named() {
    let mut rng = Rng::new(3);
    let steps = small_net(&mut rng);
    let e = quantize_steps(&steps, &[], Calibration::Max).unwrap_err();
    assert!(e.to_string().contains("calibration"), "{e}");
    let bad = Tensor::<f32>::zeros(Shape::d3(1, 2, 30));
    assert!(quantize_steps(&steps, &[bad], Calibration::Max).is_err());
    let w = Tensor::<f32>::zeros(Shape::d3(2, 1, 3));
    let e = QuantizedConv1d::new(&w, None, Conv1dParams::default(), 0.0).unwrap_err();
    assert!(e.to_string().contains("input_scale"), "{e}");
}
