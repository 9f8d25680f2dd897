//! Activation kernels vs their naive twins (every ISA × thread count, f32 and f64), hand-computed
//! anchors, a finite-difference check of each derivative, saturation, and the named errors.

use super::*;
use crate::ops::elementwise::testkit::{AWKWARD_LENS, for_each_isa_threads, random, random_range};
use crate::shape::Shape;
use crate::testing::{Rng, assert_close, tolerance};

const SLOPE: f64 = 0.07;

type Pair<T> = (fn(&[T], &mut [T]), fn(&[T], &[T], &mut [T]));

/// (name, fast forward, fast backward, naive forward, naive backward, backward uses input).
fn kernels<T: Real>() -> Vec<(&'static str, Pair<T>, Pair<T>, bool)> {
    vec![
        (
            "relu",
            (relu_forward::<T>, relu_backward::<T>),
            (relu_naive::<T>, relu_backward_naive::<T>),
            false,
        ),
        (
            "leaky_relu",
            (
                |x, y| leaky_relu_forward(T::from_f64(SLOPE), x, y),
                |x, dy, dx| leaky_relu_backward(T::from_f64(SLOPE), x, dy, dx),
            ),
            (
                |x, y| leaky_relu_naive(T::from_f64(SLOPE), x, y),
                |x, dy, dx| leaky_relu_backward_naive(T::from_f64(SLOPE), x, dy, dx),
            ),
            true,
        ),
        (
            "sigmoid",
            (sigmoid_forward::<T>, sigmoid_backward::<T>),
            (sigmoid_naive::<T>, sigmoid_backward_naive::<T>),
            false,
        ),
        (
            "tanh",
            (tanh_forward::<T>, tanh_backward::<T>),
            (tanh_naive::<T>, tanh_backward_naive::<T>),
            false,
        ),
        (
            "gelu_tanh",
            (gelu_forward::<T>, gelu_backward::<T>),
            (gelu_naive::<T>, gelu_backward_naive::<T>),
            true,
        ),
    ]
}

fn activation_case<T: Real>(seed: u64) {
    let mut rng = Rng::new(seed);
    let mut lens = AWKWARD_LENS.to_vec();
    lens.extend((0..3).map(|_| 1 + rng.below(4000)));
    let (atol, rtol) = tolerance::<T>(1);
    for len in lens {
        // [−6, 6) reaches the saturated ends of σ and tanh; a few exact zeros test the kink.
        let mut x: Vec<T> = random_range(&mut rng, len, -6.0, 6.0);
        for i in (0..len).step_by(13) {
            x[i] = T::ZERO;
        }
        let dy: Vec<T> = random(&mut rng, len);
        let dx0: Vec<T> = random(&mut rng, len);
        for (name, (fwd, bwd), (fwd_naive, bwd_naive), uses_input) in kernels::<T>() {
            let mut want_y = vec![T::ZERO; len];
            fwd_naive(&x, &mut want_y);
            let saved = if uses_input { &x } else { &want_y };
            let mut want_dx = dx0.clone();
            bwd_naive(saved, &dy, &mut want_dx);
            for_each_isa_threads(|ctx| {
                let ctx = format!("{name} {} len {len} seed {seed} ({ctx})", T::NAME);
                let mut y = vec![T::ZERO; len];
                fwd(&x, &mut y);
                assert_close(&y, &want_y, atol, rtol, &format!("{ctx}: forward"));
                let mut dx = dx0.clone();
                bwd(saved, &dy, &mut dx);
                assert_close(&dx, &want_dx, atol, rtol, &format!("{ctx}: backward"));
            });
        }
    }
}

#[test]
fn activations_match_naive_awkward_and_random() {
    activation_case::<f32>(41);
    activation_case::<f64>(42);
}

#[test]
fn activations_hand_computed_anchor() {
    let x = [-1.0f64, 0.0, 2.0];
    let ones = [1.0f64; 3];
    type Fwd = dyn Fn(&[f64], &mut [f64]);
    type Bwd = dyn Fn(&[f64], &[f64], &mut [f64]);
    let run = |fwd: &Fwd, bwd: &Bwd, from_x| {
        let mut y = [0.0; 3];
        fwd(&x, &mut y);
        let mut dx = [10.0; 3]; // the backward must add onto this
        bwd(if from_x { &x } else { &y }, &ones, &mut dx);
        (y, dx.map(|d| d - 10.0))
    };
    let (y, dx) = run(&relu_naive, &relu_backward_naive, false);
    assert_eq!((y, dx), ([0.0, 0.0, 2.0], [0.0, 0.0, 1.0]));
    let (y, dx) = run(
        &|x, y| leaky_relu_naive(0.5, x, y),
        &|x, g, d| leaky_relu_backward_naive(0.5, x, g, d),
        true,
    );
    assert_eq!((y, dx), ([-0.5, 0.0, 2.0], [0.5, 0.5, 1.0]));
    // σ(ln 3) = 1 / (1 + 1/3) = 3/4, σ′ = 3/4 · 1/4 = 3/16; σ(0) = 1/2, σ′(0) = 1/4.
    let mut y = [0.0; 2];
    sigmoid_naive(&[3.0f64.ln(), 0.0], &mut y);
    assert!((y[0] - 0.75).abs() < 1e-15 && y[1] == 0.5, "{y:?}");
    let mut dx = [0.0; 2];
    sigmoid_backward_naive(&y, &[1.0, 1.0], &mut dx);
    assert!((dx[0] - 0.1875).abs() < 1e-15 && dx[1] == 0.25, "{dx:?}");
    // tanh(atanh ½) = ½, tanh′ = 1 − ¼ = ¾.
    let mut y = [0.0; 1];
    tanh_naive(&[0.5f64.atanh()], &mut y);
    assert!((y[0] - 0.5).abs() < 1e-15);
    let mut dx = [0.0; 1];
    tanh_backward_naive(&[0.5], &[2.0], &mut dx);
    assert_eq!(dx, [1.5]);
    // GELU(0) = 0 with slope ½; GELU(x) → x for large x and → 0 for very negative x.
    let mut y = [0.0; 3];
    gelu_naive(&[0.0, 10.0, -10.0], &mut y);
    assert_eq!(y[0], 0.0);
    assert!((y[1] - 10.0).abs() < 1e-12 && y[2].abs() < 1e-12, "{y:?}");
    let mut dx = [0.0; 1];
    gelu_backward_naive(&[0.0], &[1.0], &mut dx);
    assert_eq!(dx, [0.5]);
    // At x = 1: u = √(2/π)·1.044715 = 0.833562…, tanh u = 0.682384…, so
    // GELU(1) = ½·(1 + 0.682384) = 0.841192 (the exact erf form gives 1·Φ(1) = 0.841345).
    gelu_naive(&[1.0], &mut y[..1]);
    assert!((y[0] - 0.841_192).abs() < 1e-6, "{}", y[0]);
}

#[test]
fn naive_backward_matches_finite_differences() {
    let x: Vec<f64> = random_range(&mut Rng::new(43), 50, -4.0, 4.0);
    let h = 1e-6;
    for (name, _, (fwd, bwd), uses_input) in kernels::<f64>() {
        for &xi in &x {
            let (mut yp, mut ym, mut y) = ([0.0], [0.0], [0.0]);
            fwd(&[xi + h], &mut yp);
            fwd(&[xi - h], &mut ym);
            fwd(&[xi], &mut y);
            let numeric = (yp[0] - ym[0]) / (2.0 * h);
            let mut dx = [0.0];
            let x_saved = [xi];
            bwd(if uses_input { &x_saved } else { &y }, &[1.0], &mut dx);
            assert!(
                (dx[0] - numeric).abs() < 1e-7,
                "{name} at {xi}: {} vs {numeric}",
                dx[0]
            );
        }
    }
}

#[test]
fn saturation_gives_no_nan() {
    let x = [-100.0f32, -30.0, 30.0, 100.0, -1e30, 1e30];
    for_each_isa_threads(|ctx| {
        let mut s = [0.0f32; 6];
        sigmoid_forward(&x, &mut s);
        let mut t = [0.0f32; 6];
        tanh_forward(&x, &mut t);
        for i in 0..6 {
            let side = if x[i] > 0.0 { 1.0 } else { 0.0 };
            assert!((s[i] - side).abs() < 1e-6, "{ctx}: σ({}) = {}", x[i], s[i]);
            assert!(
                (t[i] - x[i].signum()).abs() < 1e-6,
                "{ctx}: tanh({}) = {}",
                x[i],
                t[i]
            );
        }
    });
}

#[test]
fn tensor_layer_validates() {
    let x = Tensor::from_vec(Shape::d2(1, 3), vec![-1.0f64, 0.5, 2.0]).unwrap();
    let y = activation(&x, Activation::Relu).unwrap();
    assert_eq!(y.data(), &[0.0, 0.5, 2.0]);
    let dy = Tensor::from_vec(Shape::d2(1, 3), vec![1.0, 2.0, 3.0]).unwrap();
    assert_eq!(
        activation_grad(Activation::Relu, &y, &dy).unwrap().data(),
        &[0.0, 2.0, 3.0]
    );
    let leaky = Activation::LeakyRelu { slope: 0.1 };
    let g = activation_grad(leaky, &x, &dy).unwrap();
    assert_close(g.data(), &[0.1, 2.0, 3.0], 1e-15, 0.0, "leaky grad");
    let bad = Activation::LeakyRelu { slope: f64::NAN };
    assert!(matches!(
        activation(&x, bad),
        Err(Error::InvalidParam { .. })
    ));
    let e = activation_grad(Activation::Tanh, &x, &Tensor::zeros(Shape::d1(3)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("y [1, 3], dy [3]"), "{e}");
    let empty = Tensor::<f32>::zeros(Shape::d1(0));
    assert!(matches!(
        activation(&empty, Activation::Sigmoid),
        Err(Error::EmptyOutput { .. })
    ));
}
