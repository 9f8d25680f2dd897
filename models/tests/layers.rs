//! Layer tests: Conv1d, BatchNorm1d/2d, pooling, Dropout and the activations.
//!
//! Gradients are checked at the layer level in f32 as DESIGN.md §2.7 allows: the loss
//! L = Σ r ⊙ layer(x) with a fixed random r is accumulated in f64, central differences use
//! ε = 1e-2·max(1, |v|) (the layers are linear or smooth there, and the inputs are kept away
//! from kinks and ties by more than ε), and the tolerance is atol 2e-3 + rtol 2e-2. Every input
//! is checked: x and every parameter. PyTorch semantics are checked against hand formulas
//! (running statistics with the unbiased variance, initialisation bounds, names).

use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::ops::{BatchNormParams, Conv1dParams, Conv2dParams, Pool1dParams};
use ecgrad_models::autograd::{Parameters, Tape};
use ecgrad_models::layers::{
    AvgPool1d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Dropout, Gelu, GlobalAvgPool1d,
    GlobalAvgPool2d, LeakyRelu, MaxPool1d, MaxPool2d, Sigmoid,
};
use ecgrad_models::{Module, module};

fn random(dims: &[usize], lo: f64, hi: f64, seed: u64) -> Tensor<f32> {
    let shape = Shape::new(dims).unwrap();
    let mut rng = Rng::stream(seed, "test-data");
    let data = (0..shape.numel())
        .map(|_| rng.uniform_range(lo, hi) as f32)
        .collect();
    Tensor::from_vec(shape, data).unwrap()
}

/// Values spaced by `gap` (shuffled), so no two are within a finite-difference step: max-pool
/// ties and ReLU kinks cannot be crossed.
fn spaced(dims: &[usize], gap: f64, seed: u64) -> Tensor<f32> {
    let shape = Shape::new(dims).unwrap();
    let n = shape.numel();
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::stream(seed, "spaced").shuffle(&mut idx);
    let data = idx
        .iter()
        .map(|&i| ((i as f64 - n as f64 / 2.0 + 0.5) * gap) as f32)
        .collect();
    Tensor::from_vec(shape, data).unwrap()
}

/// L = Σ r ⊙ layer(x), accumulated in f64, on a no_grad tape.
fn loss(layer: &dyn Module, x: &Tensor<f32>, r: &[f64]) -> f64 {
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let y = layer.forward(&mut tape, &xv).unwrap();
    y.value()
        .data()
        .iter()
        .zip(r)
        .map(|(&a, &b)| a as f64 * b)
        .sum()
}

fn check(what: &str, analytic: &[f32], numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: lengths");
    let mut worst = (0.0, 0usize);
    for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        let excess = (a as f64 - n).abs() - (2e-3 + 2e-2 * n.abs());
        if excess.is_nan() || excess > worst.0 {
            worst = (
                if excess.is_nan() {
                    f64::INFINITY
                } else {
                    excess
                },
                i,
            );
        }
    }
    let i = worst.1;
    assert!(
        worst.0 <= 0.0,
        "{what}: index {i}: analytic {} vs numeric {} (tolerance 2e-3 + 2e-2·|n|)",
        analytic[i],
        numeric[i]
    );
}

/// Checks the tape's gradients of x and of every parameter of `layer` against central
/// differences of the f64-accumulated loss (see the module docs).
fn gradcheck_layer(what: &str, layer: &mut dyn Module, x: &Tensor<f32>, seed: u64) {
    let mut tape = Tape::new();
    let xv = tape.leaf(x.clone(), true);
    let y = layer.forward(&mut tape, &xv).unwrap();
    let mut rng = Rng::stream(seed, "gradcheck-r");
    let r: Vec<f64> = (0..y.value().numel())
        .map(|_| rng.uniform_range(-1.0, 1.0))
        .collect();
    let r32 = Tensor::from_vec(y.shape(), r.iter().map(|&v| v as f32).collect()).unwrap();
    // The loss uses the same r rounded to f32, so analytic and numeric see one function.
    let r: Vec<f64> = r32.data().iter().map(|&v| v as f64).collect();
    let grads = tape.backward_from(&y, r32, &[]).unwrap();

    let eps_of = |v: f32| 1e-2 * (v.abs() as f64).max(1.0);
    // Input gradient.
    let dx = grads.get(xv.id()).unwrap().clone();
    let mut xs = x.clone();
    let mut num = Vec::with_capacity(x.numel());
    for j in 0..x.numel() {
        let x0 = x.data()[j];
        let eps = eps_of(x0);
        xs.data_mut()[j] = (x0 as f64 + eps) as f32;
        let lp = loss(layer, &xs, &r);
        let hi = xs.data()[j] as f64;
        xs.data_mut()[j] = (x0 as f64 - eps) as f32;
        let lm = loss(layer, &xs, &r);
        let lo = xs.data()[j] as f64;
        xs.data_mut()[j] = x0;
        num.push((lp - lm) / (hi - lo));
    }
    check(&format!("{what}: dx"), dx.data(), &num);

    // Parameter gradients, one parameter at a time by name.
    let mut names = Vec::new();
    layer.visit_params(&mut |p| names.push((p.name.to_string(), p.value.numel())));
    for (name, numel) in names {
        let analytic = grads
            .param(&name)
            .unwrap()
            .unwrap_or_else(|| panic!("{what}: no gradient for {name}"));
        let mut num = Vec::with_capacity(numel);
        for j in 0..numel {
            let set = |layer: &mut dyn Module, delta: f64| -> (f32, f64) {
                let mut out = (0.0, 0.0);
                layer.visit_params(&mut |p| {
                    if *p.name == *name {
                        let v0 = p.value.data()[j];
                        let v = (v0 as f64 + delta * eps_of(v0)) as f32;
                        p.value.data_mut()[j] = v;
                        out = (v0, v as f64);
                    }
                });
                out
            };
            let (v0, hi) = set(layer, 1.0);
            let lp = loss(layer, x, &r);
            layer.visit_params(&mut |p| {
                if *p.name == *name {
                    p.value.data_mut()[j] = v0;
                }
            });
            let (_, lo) = set(layer, -1.0);
            let lm = loss(layer, x, &r);
            layer.visit_params(&mut |p| {
                if *p.name == *name {
                    p.value.data_mut()[j] = v0;
                }
            });
            num.push((lp - lm) / (hi - lo));
        }
        check(&format!("{what}: d{name}"), analytic.data(), &num);
    }
}

fn names(m: &mut dyn Parameters<f32>) -> Vec<String> {
    module::named_shapes(m)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

// ---------------------------------------------------------------- Conv1d

#[test]
fn conv1d_gradcheck_input_weight_bias() {
    let cases = [
        // (c_in, c_out, k, stride, padding, dilation, bias, n, l)
        (1, 3, 5, 1, 2, 1, true, 2, 11),
        (3, 2, 3, 2, 1, 1, true, 1, 10),
        (2, 4, 3, 1, 0, 2, false, 2, 9),
        (2, 2, 4, 3, 3, 1, true, 1, 7),
    ];
    for (i, &(ci, co, k, s, p, d, b, n, l)) in cases.iter().enumerate() {
        let params = Conv1dParams {
            stride: s,
            padding: p,
            dilation: d,
        };
        let mut conv =
            Conv1d::new(ci, co, k, params, b, &mut Rng::stream(i as u64, "init")).unwrap();
        let x = random(&[n, ci, l], -1.0, 1.0, 10 + i as u64);
        gradcheck_layer(&format!("conv1d case {i}"), &mut conv, &x, 20 + i as u64);
    }
}

#[test]
fn conv1d_forward_by_hand_names_and_init() {
    // y[t] = b + Σ_j w[j]·x[t + j − 1] with one channel, k3, pad 1.
    let w = Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0, 2.0, -1.0]).unwrap();
    let b = Tensor::from_vec(Shape::d1(1), vec![0.5]).unwrap();
    let padded = Conv1dParams {
        padding: 1,
        ..Default::default()
    };
    let conv = Conv1d::from_tensors(w, Some(b), padded).unwrap();
    let mut tape = Tape::no_grad();
    let x = tape.input(Tensor::from_vec(Shape::d3(1, 1, 4), vec![1.0, 2.0, 3.0, 4.0]).unwrap());
    let y = conv.forward(&mut tape, &x).unwrap();
    // t0: 0·1 + 1·2 + 2·(−1) + 0.5 = 0.5; t1: 1 + 4 − 3 + 0.5 = 2.5; t2: 2 + 6 − 4 + 0.5 = 4.5;
    // t3: 3 + 8 + 0 + 0.5 = 11.5.
    assert_eq!(y.value().data(), &[0.5, 2.5, 4.5, 11.5]);

    // PyTorch names, shapes and default init bound 1/√(C_in·K).
    let mut c = Conv1d::new(4, 8, 5, padded, true, &mut Rng::stream(3, "init")).unwrap();
    assert_eq!(names(&mut c), ["weight", "bias"]);
    assert_eq!(c.weight.value.shape(), Shape::d3(8, 4, 5));
    let bound = 1.0 / (20f32).sqrt();
    for p in [&c.weight, c.bias.as_ref().unwrap()] {
        let max = p.value.data().iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(max <= bound && max > 0.5 * bound, "{}: max {max}", p.name);
    }
    assert_eq!(c.describe(), "Conv1d(4 → 8, k5, pad 1)");
    // Shape errors name the op.
    let bad = tape.input(Tensor::zeros(Shape::d3(2, 3, 10)));
    let e = c.forward(&mut tape, &bad).unwrap_err().to_string();
    assert!(e.contains("conv1d"), "{e}");
    let stride0 = Conv1dParams {
        stride: 0,
        ..Default::default()
    };
    assert!(Conv1d::new(1, 1, 3, stride0, true, &mut Rng::new(0)).is_err());
    assert!(
        Conv1d::from_tensors(
            Tensor::zeros(Shape::d3(2, 1, 3)),
            Some(Tensor::zeros(Shape::d1(3))),
            Conv1dParams::default()
        )
        .is_err()
    );
}

#[test]
fn conv2d_gradcheck_and_same_padding() {
    let strided = Conv2dParams {
        stride: (2, 1),
        padding: (1, 0),
        dilation: (1, 2),
    };
    let mut rng = Rng::stream(4, "init");
    let mut a = Conv2d::new(2, 3, (3, 2), strided, true, &mut rng).unwrap();
    gradcheck_layer(
        "conv2d strided",
        &mut a,
        &random(&[2, 2, 5, 6], -1.0, 1.0, 13),
        23,
    );
    let mut same = Conv2d::same(2, 2, 3, false, &mut rng).unwrap();
    gradcheck_layer(
        "conv2d same",
        &mut same,
        &random(&[1, 2, 4, 5], -1.0, 1.0, 14),
        24,
    );
    let mut tape = Tape::no_grad();
    let x = tape.input(Tensor::zeros(Shape::d4(2, 2, 7, 9)));
    assert_eq!(
        same.forward(&mut tape, &x).unwrap().shape(),
        Shape::d4(2, 2, 7, 9),
        "same padding keeps H and W"
    );
    assert_eq!(names(&mut same), ["weight"]);
    assert_eq!(a.weight.value.shape(), Shape::d4(3, 2, 3, 2));
    let bound = 1.0 / (12f32).sqrt();
    assert!(a.weight.value.data().iter().all(|v| v.abs() <= bound));
    assert!(Conv2d::same(1, 1, 2, true, &mut rng).is_err());
    // By hand: a 1×1 kernel of 2 with bias 1 maps x to 2x + 1.
    let one = Conv2d::from_tensors(
        Tensor::full(Shape::d4(1, 1, 1, 1), 2.0),
        Some(Tensor::full(Shape::d1(1), 1.0)),
        Conv2dParams::default(),
    )
    .unwrap();
    let x = tape.input(Tensor::from_vec(Shape::d4(1, 1, 1, 3), vec![0.0, 1.0, -2.0]).unwrap());
    assert_eq!(
        one.forward(&mut tape, &x).unwrap().value().data(),
        &[1.0, 3.0, -3.0]
    );
}

// ---------------------------------------------------------------- BatchNorm

/// A BN layer with non-trivial γ, β (so their gradients and x's are not special).
fn bn1d(c: usize, seed: u64) -> BatchNorm1d {
    let mut bn = BatchNorm1d::new(c).unwrap();
    let g = random(&[c], 0.5, 1.5, seed);
    let b = random(&[c], -0.5, 0.5, seed + 1);
    bn.visit_params(&mut |p| {
        p.value = if &*p.name == "weight" {
            g.clone()
        } else {
            b.clone()
        }
    });
    bn
}

#[test]
fn batchnorm1d_gradcheck_train_and_eval() {
    for (i, dims) in [[4usize, 3, 5], [5, 2, 1], [1, 2, 6]].iter().enumerate() {
        let x = random(dims, -2.0, 2.0, 30 + i as u64);
        let mut bn = bn1d(dims[1], 40 + i as u64);
        gradcheck_layer(&format!("bn1d train {dims:?}"), &mut bn, &x, 50);
        bn.set_training(false);
        gradcheck_layer(&format!("bn1d eval {dims:?}"), &mut bn, &x, 51);
    }
    // [N, C] input (after a Linear).
    let x = random(&[6, 3], -2.0, 2.0, 33);
    gradcheck_layer("bn1d [N, C]", &mut bn1d(3, 34), &x, 52);
}

#[test]
fn batchnorm2d_gradcheck_train() {
    let x = random(&[2, 3, 3, 4], -2.0, 2.0, 35);
    let mut bn = BatchNorm2d::new(3).unwrap();
    gradcheck_layer("bn2d train", &mut bn, &x, 53);
    bn.set_training(false);
    gradcheck_layer("bn2d eval", &mut bn, &x, 54);
}

#[test]
fn batchnorm_running_stats_follow_pytorch() {
    let (n, c, l) = (3, 2, 5);
    let x = random(&[n, c, l], -1.0, 3.0, 60);
    let mut bn = BatchNorm1d::new(c).unwrap();
    assert_eq!(
        names(&mut bn),
        [
            "weight",
            "bias",
            "running_mean",
            "running_var",
            "num_batches_tracked"
        ]
    );
    let shapes = module::named_shapes(&mut bn);
    assert_eq!(shapes[4].1, Shape::scalar());
    let mut tape = Tape::new();
    let xv = tape.input(x.clone());
    let y = bn.forward(&mut tape, &xv).unwrap();

    // Hand formulas in f64.
    let m = (n * l) as f64;
    let (mut mean, mut var) = (vec![0.0; c], vec![0.0; c]);
    for ch in 0..c {
        let vals: Vec<f64> = (0..n)
            .flat_map(|s| (0..l).map(move |t| (s, t)))
            .map(|(s, t)| x.data()[(s * c + ch) * l + t] as f64)
            .collect();
        mean[ch] = vals.iter().sum::<f64>() / m;
        var[ch] = vals.iter().map(|v| (v - mean[ch]).powi(2)).sum::<f64>() / m;
        // Batch statistics normalise the output: y = (x − μ)/√(σ² + ε) with γ = 1, β = 0.
        for s in 0..n {
            for t in 0..l {
                let i = (s * c + ch) * l + t;
                let want = (x.data()[i] as f64 - mean[ch]) / (var[ch] + 1e-5).sqrt();
                assert!((y.value().data()[i] as f64 - want).abs() < 1e-5);
            }
        }
    }
    let (rm, rv, nbt) = bn.running_stats();
    for ch in 0..c {
        let want_m = 0.9 * 0.0 + 0.1 * mean[ch];
        let want_v = 0.9 * 1.0 + 0.1 * var[ch] * m / (m - 1.0); // unbiased
        assert!((rm.data()[ch] as f64 - want_m).abs() < 1e-6, "running_mean");
        assert!((rv.data()[ch] as f64 - want_v).abs() < 1e-6, "running_var");
    }
    assert_eq!(nbt, 1.0);

    // Evaluation: running statistics, nothing updated, output differs from training.
    bn.set_training(false);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let ye = bn.forward(&mut tape, &xv).unwrap();
    for ch in 0..c {
        let i = ch * l; // sample 0, t = 0
        let want =
            (x.data()[i] as f64 - rm.data()[ch] as f64) / (rv.data()[ch] as f64 + 1e-5).sqrt();
        assert!((ye.value().data()[i] as f64 - want).abs() < 1e-5);
    }
    assert_ne!(ye.value().data(), y.value().data());
    assert_eq!(bn.running_stats(), (rm.clone(), rv.clone(), 1.0));

    // A second training step, with a different momentum, compounds the rule.
    let bn2 = BatchNorm1d::with_params(
        c,
        BatchNormParams {
            eps: 1e-3,
            momentum: 0.5,
        },
    )
    .unwrap();
    for _ in 0..2 {
        let mut tape = Tape::no_grad(); // running stats update under no_grad too, as PyTorch
        let xv = tape.input(x.clone());
        bn2.forward(&mut tape, &xv).unwrap();
    }
    let (rm2, _, nbt2) = bn2.running_stats();
    assert!((rm2.data()[0] as f64 - 0.75 * mean[0]).abs() < 1e-6);
    assert_eq!(nbt2, 2.0);

    // Errors: wrong channel count, bad hyper-parameters.
    let mut tape = Tape::no_grad();
    let bad = tape.input(Tensor::zeros(Shape::d3(2, 3, 4)));
    let e = bn.forward(&mut tape, &bad).unwrap_err().to_string();
    assert!(e.contains("BatchNorm1d") && e.contains("[2, 3, 4]"), "{e}");
    assert!(BatchNorm1d::new(0).is_err());
    let bad_m = BatchNormParams {
        eps: 1e-5,
        momentum: 1.5,
    };
    assert!(BatchNorm1d::with_params(2, bad_m).is_err());
    let e2 = BatchNorm2d::new(2)
        .unwrap()
        .forward(&mut tape, &bad)
        .unwrap_err()
        .to_string();
    assert!(e2.contains("BatchNorm2d"), "{e2}");
}

// ---------------------------------------------------------------- Pooling

#[test]
fn pool1d_gradcheck_and_shapes() {
    let x = spaced(&[2, 3, 11], 0.1, 70);
    gradcheck_layer("maxpool k2", &mut MaxPool1d::new(2).unwrap(), &x, 71);
    let overlapping = MaxPool1d::with_params(Pool1dParams::new(3).with_stride(2).with_padding(1));
    gradcheck_layer("maxpool k3 s2 p1", &mut overlapping.unwrap(), &x, 72);
    gradcheck_layer("avgpool k2", &mut AvgPool1d::new(2).unwrap(), &x, 73);
    let avg = AvgPool1d::with_params(
        Pool1dParams::new(3)
            .with_stride(2)
            .with_padding(1)
            .with_count_include_pad(false),
    );
    gradcheck_layer("avgpool k3 s2 p1", &mut avg.unwrap(), &x, 74);
    gradcheck_layer("global avg", &mut GlobalAvgPool1d, &x, 75);

    let mut tape = Tape::no_grad();
    let xv =
        tape.input(Tensor::from_vec(Shape::d3(1, 1, 5), vec![1.0, 3.0, 2.0, 0.0, 9.0]).unwrap());
    let m = MaxPool1d::new(2).unwrap().forward(&mut tape, &xv).unwrap();
    assert_eq!(
        m.value().data(),
        &[3.0, 2.0],
        "floor: the last sample is dropped"
    );
    let a = AvgPool1d::new(2).unwrap().forward(&mut tape, &xv).unwrap();
    assert_eq!(a.value().data(), &[2.0, 1.0]);
    let g = GlobalAvgPool1d.forward(&mut tape, &xv).unwrap();
    assert_eq!(g.shape(), Shape::d2(1, 1));
    assert_eq!(g.value().data(), &[3.0]);
    assert!(MaxPool1d::new(0).is_err());
    assert!(MaxPool1d::with_params(Pool1dParams::new(2).with_padding(2)).is_err());
    assert_eq!(MaxPool1d::new(2).unwrap().describe(), "MaxPool1d(k2)");
}

#[test]
fn pool2d_gradcheck_and_shapes() {
    let x = spaced(&[2, 2, 5, 6], 0.1, 80);
    gradcheck_layer("maxpool2d", &mut MaxPool2d::new(2, 2).unwrap(), &x, 81);
    gradcheck_layer("avgpool2d", &mut AvgPool2d::new(2, 3).unwrap(), &x, 82);
    gradcheck_layer("global avg 2d", &mut GlobalAvgPool2d, &x, 83);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let y = MaxPool2d::new(2, 2)
        .unwrap()
        .forward(&mut tape, &xv)
        .unwrap();
    assert_eq!(y.shape(), Shape::d4(2, 2, 2, 3));
    let g = GlobalAvgPool2d.forward(&mut tape, &xv).unwrap();
    assert_eq!(g.shape(), Shape::d2(2, 2));
    let plane0: f64 = x.data()[..30].iter().map(|&v| v as f64).sum::<f64>() / 30.0;
    assert!((g.value().data()[0] as f64 - plane0).abs() < 1e-6);
}

// ---------------------------------------------------------------- Dropout

#[test]
fn dropout_is_seeded_scaled_and_identity_in_eval() {
    let x = random(&[4, 8, 50], 1.0, 2.0, 90);
    let p = 0.25;
    let run = |seed: u64| {
        let d = Dropout::new(p, seed).unwrap();
        let mut tape = Tape::new();
        let xv = tape.leaf(x.clone(), true);
        let y = d.forward(&mut tape, &xv).unwrap();
        let r = random(&[4, 8, 50], -1.0, 1.0, 91);
        let g = tape.backward_from(&y, r.clone(), &[]).unwrap();
        (y.value().clone(), g.get(xv.id()).unwrap().clone(), r)
    };
    let (y, dx, r) = run(5);
    let mut dropped = 0;
    for i in 0..x.numel() {
        let (xi, yi) = (x.data()[i], y.data()[i]);
        if yi == 0.0 {
            dropped += 1;
            assert_eq!(dx.data()[i], 0.0, "a dropped element passes no gradient");
        } else {
            assert!(
                (yi - xi / 0.75).abs() < 1e-6,
                "kept elements are scaled by 1/(1 − p)"
            );
            assert!((dx.data()[i] - r.data()[i] / 0.75).abs() < 1e-6);
        }
    }
    let frac = dropped as f64 / x.numel() as f64;
    assert!((frac - p).abs() < 0.05, "dropped fraction {frac}");
    assert_eq!(run(5).0, y, "same seed, same mask");
    assert_ne!(run(6).0, y, "another seed, another mask");

    // Two training passes of one layer draw different masks.
    let d = Dropout::new(p, 5).unwrap();
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let a = d.forward(&mut tape, &xv).unwrap();
    let b = d.forward(&mut tape, &xv).unwrap();
    assert_ne!(a.value(), b.value());

    // Evaluation: the identity, nothing recorded.
    let mut d = Dropout::new(p, 5).unwrap();
    d.set_training(false);
    let mut tape = Tape::new();
    let xv = tape.input(x.clone());
    let n = tape.len();
    let y = d.forward(&mut tape, &xv).unwrap();
    assert_eq!(y.id(), xv.id());
    assert_eq!(tape.len(), n);
    assert!(Dropout::new(1.5, 0).is_err());
}

// ---------------------------------------------------------------- Activations

#[test]
fn activations_gradcheck_and_values() {
    let x = spaced(&[2, 3, 7], 0.07, 100); // no value within 0.035 of 0
    gradcheck_layer("leaky default", &mut LeakyRelu::default(), &x, 101);
    gradcheck_layer("leaky 0.2", &mut LeakyRelu::new(0.2).unwrap(), &x, 102);
    gradcheck_layer("sigmoid", &mut Sigmoid, &x, 103);
    gradcheck_layer("gelu", &mut Gelu, &x, 104);

    let mut tape = Tape::no_grad();
    let xv = tape.input(Tensor::from_vec(Shape::d1(3), vec![-2.0, 0.0, 3.0]).unwrap());
    let l = LeakyRelu::default().forward(&mut tape, &xv).unwrap();
    assert_eq!(l.value().data(), &[-0.02, 0.0, 3.0]);
    let s = Sigmoid.forward(&mut tape, &xv).unwrap();
    for (&v, &x0) in s.value().data().iter().zip(&[-2.0f64, 0.0, 3.0]) {
        assert!((v as f64 - 1.0 / (1.0 + (-x0).exp())).abs() < 1e-6);
    }
    assert!(LeakyRelu::new(f64::NAN).is_err());
}

#[test]
fn buffers_are_prefixed_and_saved_in_checkpoints() {
    use ecgrad_models::checkpoint;
    use ecgrad_models::layers::{Relu, Sequential};
    let mut rng = Rng::stream(7, "init");
    let build = |rng: &mut Rng| {
        Sequential::new()
            .with_named(
                "conv1",
                Conv1d::new(1, 4, 3, Conv1dParams::default(), true, rng).unwrap(),
            )
            .unwrap()
            .with_named("bn1", BatchNorm1d::new(4).unwrap())
            .unwrap()
            .with_named("act", Relu)
            .unwrap()
    };
    let mut m = build(&mut rng);
    assert_eq!(
        names(&mut m),
        [
            "conv1.weight",
            "conv1.bias",
            "bn1.weight",
            "bn1.bias",
            "bn1.running_mean",
            "bn1.running_var",
            "bn1.num_batches_tracked"
        ]
    );
    // One training pass moves the running stats; a checkpoint carries them.
    let x = random(&[3, 1, 9], -1.0, 1.0, 110);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    m.forward(&mut tape, &xv).unwrap();
    m.set_training(false);
    let dir = std::env::temp_dir().join(format!("ecgrad-layers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bn.safetensors");
    checkpoint::save(&mut m, &path).unwrap();
    let mut m2 = build(&mut Rng::stream(8, "init"));
    checkpoint::load(&mut m2, &path).unwrap();
    m2.set_training(false);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x);
    let a = m.forward(&mut tape, &xv).unwrap();
    let b = m2.forward(&mut tape, &xv).unwrap();
    assert_eq!(
        a.value(),
        b.value(),
        "eval outputs are bit-identical after a reload"
    );
    let mut nbt = Vec::new();
    m2.visit_buffers(&mut |b| nbt.push((b.name.to_string(), b.value.data()[0])));
    assert_eq!(nbt[2], ("bn1.num_batches_tracked".to_string(), 1.0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn relu_then_maxpool_equals_maxpool_then_relu_bit_for_bit() {
    // BeatCnn pools before its ReLU (half the ReLU work); forward and input gradient must be
    // exactly those of PyTorch's ReLU → MaxPool order, ties and all-negative windows included.
    use ecgrad_models::layers::Relu;
    let mut x = random(&[4, 8, 51], -1.0, 1.0, 120);
    for (i, v) in x.data_mut().iter_mut().enumerate() {
        match i % 13 {
            0 | 1 => *v = 0.0,     // ties at zero
            5 => *v = -(*v).abs(), // more negative windows
            _ => {}
        }
    }
    let pool = MaxPool1d::new(2).unwrap();
    let r = random(&[4, 8, 25], -1.0, 1.0, 121);
    let run = |relu_first: bool| {
        let mut tape = Tape::new();
        let xv = tape.leaf(x.clone(), true);
        let y = if relu_first {
            let h = Relu.forward(&mut tape, &xv).unwrap();
            pool.forward(&mut tape, &h).unwrap()
        } else {
            let h = pool.forward(&mut tape, &xv).unwrap();
            Relu.forward(&mut tape, &h).unwrap()
        };
        let yv = y.value().clone();
        let g = tape.backward_from(&y, r.clone(), &[]).unwrap();
        (yv, g.get(xv.id()).unwrap().clone())
    };
    let (ya, ga) = run(true);
    let (yb, gb) = run(false);
    assert_eq!(ya, yb);
    assert_eq!(ga, gb);
}
