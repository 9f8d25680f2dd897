//! Distribution tests for the initialisers: bounds, mean and standard deviation within a
//! tolerance a few standard errors wide (so the tests can fail on a wrong formula but do not
//! flake), and orthogonality to 1e-5.

use super::*;

fn stats(t: &Tensor<f32>) -> (f64, f64, f64) {
    let n = t.numel() as f64;
    let mean = t.data().iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = t
        .data()
        .iter()
        .map(|&x| (x as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    let max_abs = t
        .data()
        .iter()
        .map(|&x| (x as f64).abs())
        .fold(0.0, f64::max);
    (mean, var.sqrt(), max_abs)
}

/// Checks mean ≈ 0 (within 5 standard errors) and std within 3 % of `std`.
fn check(name: &str, t: &Tensor<f32>, std: f64) {
    let (mean, s, _) = stats(t);
    let n = t.numel() as f64;
    assert!(mean.abs() < 5.0 * std / n.sqrt(), "{name}: mean {mean}");
    assert!(
        (s / std - 1.0).abs() < 0.03,
        "{name}: std {s}, expected {std}"
    );
}

#[test]
fn fans_follow_pytorch() {
    assert_eq!(fans(Shape::d2(8, 16)).unwrap(), (16, 8));
    assert_eq!(fans(Shape::d3(32, 12, 7)).unwrap(), (12 * 7, 32 * 7));
    assert_eq!(fans(Shape::d4(16, 3, 3, 3)).unwrap(), (27, 144));
    assert!(fans(Shape::d1(8)).is_err());
    assert!(fans(Shape::d2(0, 3)).is_err());
}

#[test]
fn gains_follow_pytorch() {
    assert_eq!(gain(Nonlinearity::Linear), 1.0);
    assert_eq!(gain(Nonlinearity::Tanh), 5.0 / 3.0);
    assert_eq!(gain(Nonlinearity::Relu), 2f64.sqrt());
    assert!((gain(Nonlinearity::LeakyRelu(0.01)) - (2.0 / 1.0001f64).sqrt()).abs() < 1e-15);
}

#[test]
fn kaiming_uniform_bounds_mean_std() {
    let mut rng = Rng::stream(1, "init");
    let shape = Shape::d3(64, 32, 7); // fan_in 224, fan_out 448
    for (a, mode, fan) in [
        (0.0, FanMode::FanIn, 224.0f64),
        (5f64.sqrt(), FanMode::FanIn, 224.0),
        (0.0, FanMode::FanOut, 448.0),
    ] {
        let t = kaiming_uniform(shape, a, mode, &mut rng).unwrap();
        let bound = (2.0 / (1.0 + a * a)).sqrt() * (3.0 / fan).sqrt();
        let (_, _, max_abs) = stats(&t);
        assert!(
            max_abs <= bound,
            "kaiming_uniform a={a}: {max_abs} > {bound}"
        );
        assert!(
            max_abs > 0.99 * bound,
            "the bound is nearly reached in 14336 draws"
        );
        check("kaiming_uniform", &t, bound / 3f64.sqrt());
    }
}

#[test]
fn kaiming_normal_mean_std() {
    let mut rng = Rng::stream(2, "init");
    let t = kaiming_normal(Shape::d2(128, 256), 0.0, FanMode::FanIn, &mut rng).unwrap();
    check("kaiming_normal", &t, (2.0f64 / 256.0).sqrt());
}

#[test]
fn xavier_uniform_and_normal() {
    let mut rng = Rng::stream(3, "init");
    let shape = Shape::d2(100, 300);
    let g = gain(Nonlinearity::Tanh);
    let t = xavier_uniform(shape, g, &mut rng).unwrap();
    let bound = g * (6.0f64 / 400.0).sqrt();
    let (_, _, max_abs) = stats(&t);
    assert!(max_abs <= bound && max_abs > 0.99 * bound);
    check("xavier_uniform", &t, bound / 3f64.sqrt());
    let t = xavier_normal(shape, 1.0, &mut rng).unwrap();
    check("xavier_normal", &t, (2.0f64 / 400.0).sqrt());
}

#[test]
fn pytorch_default_linear_and_conv() {
    let mut rng = Rng::stream(4, "init");
    for shape in [Shape::d2(200, 50), Shape::d3(64, 8, 5)] {
        let (w, b) = pytorch_default(shape, true, &mut rng).unwrap();
        let (fan_in, _) = fans(shape).unwrap();
        let bound = 1.0 / (fan_in as f64).sqrt();
        let (_, _, w_max) = stats(&w);
        assert!(
            w_max <= bound * (1.0 + 1e-7),
            "{shape}: weight {w_max} > {bound}"
        );
        check("pytorch_default weight", &w, bound / 3f64.sqrt());
        let b = b.expect("bias requested");
        assert_eq!(b.shape(), Shape::d1(shape.dims()[0]));
        assert!(b.data().iter().all(|&x| (x as f64).abs() <= bound));
    }
    let (_, b) = pytorch_default(Shape::d2(4, 3), false, &mut rng).unwrap();
    assert!(b.is_none());
}

#[test]
fn lstm_default_bounds() {
    let mut rng = Rng::stream(5, "init");
    let t = lstm_default(Shape::d2(4 * 64, 32), 64, &mut rng).unwrap();
    let (_, _, max_abs) = stats(&t);
    assert!(max_abs <= 0.125 && max_abs > 0.124);
    check("lstm_default", &t, 0.125 / 3f64.sqrt());
    assert!(lstm_default(Shape::d1(4), 0, &mut rng).is_err());
}

/// Max |(W Wᵀ)ᵢⱼ − g²δᵢⱼ| for rows ≤ cols, or of Wᵀ W for rows > cols.
fn orthogonality_error(t: &Tensor<f32>, g: f64) -> f64 {
    let rows = t.dims()[0];
    let cols = t.numel() / rows;
    let w = |r: usize, c: usize| t.data()[r * cols + c] as f64;
    let wide = rows <= cols;
    let (k, m) = if wide { (rows, cols) } else { (cols, rows) };
    let at = |i: usize, p: usize| if wide { w(i, p) } else { w(p, i) };
    let mut worst = 0f64;
    for i in 0..k {
        for j in 0..k {
            let dot: f64 = (0..m).map(|p| at(i, p) * at(j, p)).sum();
            let target = if i == j { g * g } else { 0.0 };
            worst = worst.max((dot - target).abs());
        }
    }
    worst
}

#[test]
fn orthogonal_is_orthogonal_to_1e5() {
    let mut rng = Rng::stream(6, "init");
    for (shape, g) in [
        (Shape::d2(64, 128), 1.0),
        (Shape::d2(128, 64), 1.0),
        (Shape::d2(50, 50), 1.0),
        (Shape::d3(16, 4, 5), 1.0),
        (Shape::d2(1, 7), 1.0),
        (Shape::d2(7, 1), 1.0),
        (Shape::d2(4 * 32, 32), gain(Nonlinearity::Tanh)),
    ] {
        let t = orthogonal(shape, g, &mut rng).unwrap();
        assert_eq!(t.shape(), shape);
        let err = orthogonality_error(&t, g);
        assert!(err < 1e-5, "{shape} gain {g}: orthogonality error {err}");
    }
}

#[test]
fn orthogonal_entries_look_haar() {
    // An n×n Haar-orthogonal matrix has entries of mean 0 and variance 1/n.
    let mut rng = Rng::stream(7, "init");
    let t = orthogonal(Shape::d2(100, 100), 1.0, &mut rng).unwrap();
    check("orthogonal", &t, 0.1);
}

#[test]
fn same_stream_same_weights_different_name_different_weights() {
    let s = Shape::d2(3, 4);
    let a = xavier_uniform(s, 1.0, &mut Rng::stream(9, "init")).unwrap();
    let b = xavier_uniform(s, 1.0, &mut Rng::stream(9, "init")).unwrap();
    let c = xavier_uniform(s, 1.0, &mut Rng::stream(9, "other")).unwrap();
    assert_eq!(a.data(), b.data());
    assert_ne!(a.data(), c.data());
}

#[test]
fn bad_arguments_are_named_errors() {
    let mut rng = Rng::new(0);
    assert!(uniform(Shape::d1(2), 1.0, 1.0, &mut rng).is_err());
    assert!(normal(Shape::d1(2), 0.0, 0.0, &mut rng).is_err());
    let e = orthogonal(Shape::d1(5), 1.0, &mut rng)
        .unwrap_err()
        .to_string();
    assert!(e.contains("init::fans"), "{e}");
}
