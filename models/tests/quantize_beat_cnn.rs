//! int8 BeatCnn and SeparableBeatCnn on synthetic beats: the step lists reproduce the eval-mode
//! networks, the int8 predictions agree with f32 on ≥ 95 % of fresh beats with close logits,
//! the int8 models are about 4× smaller; and SeparableBeatCnn overfits 8 beats.

use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::loss::{CrossEntropy, cross_entropy};
use ecgrad_models::autograd::optim::{Adam, AdamConfig};
use ecgrad_models::autograd::{Optimizer, Tape};
use ecgrad_models::nets::{BeatCnn, SeparableBeatCnn};
use ecgrad_models::quantize::{
    Calibration, beat_cnn_steps, float_forward, quantize_beat_cnn, quantize_beat_cnn_with,
    quantize_separable_beat_cnn, separable_beat_cnn_steps,
};
use ecgrad_models::{Module, module};

const LEN: usize = 187;

/// `n` synthetic beats `[n, 1, 187]`, 5 classes: a Gaussian bump whose position and width
/// depend on the class, with jitter in position, width and amplitude, a small baseline wander
/// and white noise.
fn beats(n: usize, seed: u64) -> (Tensor<f32>, Vec<usize>) {
    let mut rng = Rng::stream(seed, "beats");
    let mut data = Vec::with_capacity(n * LEN);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let k = i % 5;
        let centre = LEN as f64 * (0.25 + 0.1 * k as f64 + rng.uniform_range(-0.02, 0.02));
        let width = LEN as f64 * (0.02 + 0.015 * k as f64) * rng.uniform_range(0.85, 1.15);
        let amp = rng.uniform_range(0.8, 1.2);
        let wander = rng.uniform_range(-0.1, 0.1);
        for t in 0..LEN {
            let z = (t as f64 - centre) / width;
            let v =
                amp * (-0.5 * z * z).exp() + wander * (t as f64 / LEN as f64) + 0.05 * rng.normal();
            data.push(v as f32);
        }
        labels.push(k);
    }
    (
        Tensor::from_vec(Shape::d3(n, 1, LEN), data).unwrap(),
        labels,
    )
}

fn train(
    model: &mut dyn Module,
    x: &Tensor<f32>,
    y: &[usize],
    steps: usize,
    lr: f64,
) -> (f32, f32) {
    let mut opt = Adam::new(AdamConfig {
        lr,
        ..AdamConfig::adam()
    })
    .unwrap();
    let (mut first, mut last) = (f32::NAN, f32::NAN);
    for i in 0..steps {
        model.zero_grad();
        let mut tape = Tape::new();
        let xv = tape.input(x.clone());
        let logits = model.forward(&mut tape, &xv).unwrap();
        let loss = cross_entropy(&mut tape, &logits, y, &CrossEntropy::default()).unwrap();
        last = loss.value().data()[0];
        assert!(last.is_finite(), "loss {last} at step {i}");
        if i == 0 {
            first = last;
        }
        let grads = tape.backward(&loss).unwrap();
        grads.accumulate_into(model).unwrap();
        opt.step(model).unwrap();
    }
    (first, last)
}

/// Training-mode passes without gradients so BN's running statistics match the data.
fn settle(model: &mut dyn Module, x: &Tensor<f32>) {
    for _ in 0..30 {
        let mut tape = Tape::no_grad();
        let xv = tape.input(x.clone());
        model.forward(&mut tape, &xv).unwrap();
    }
    model.set_training(false);
}

fn eval(model: &dyn Module, x: &Tensor<f32>) -> Tensor<f32> {
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    model.forward(&mut tape, &xv).unwrap().value().clone()
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len())
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap()
}

/// Compares int8 logits with f32 ones: (fraction of equal argmaxes, worst |Δ| / max |logit|,
/// mean |Δ| / max |logit|).
fn compare(int8: &Tensor<f32>, f32_logits: &Tensor<f32>) -> (f64, f32, f32) {
    let c = f32_logits.dims()[1];
    let rows = f32_logits.dims()[0];
    let agree = int8
        .data()
        .chunks(c)
        .zip(f32_logits.data().chunks(c))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    let scale = f32_logits.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = int8
        .data()
        .iter()
        .zip(f32_logits.data())
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    let mean = int8
        .data()
        .iter()
        .zip(f32_logits.data())
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / int8.numel() as f32;
    (agree as f64 / rows as f64, worst / scale, mean / scale)
}

fn check_quantised(
    model: &mut dyn Module,
    int8_fwd: impl Fn(&Tensor<f32>) -> Tensor<f32>,
    what: &str,
) {
    let (test, labels) = beats(200, 99);
    let want = eval(model, &test);
    let got = int8_fwd(&test);
    let (agree, rel, mean) = compare(&got, &want);
    let acc = |t: &Tensor<f32>| {
        t.data()
            .chunks(5)
            .zip(&labels)
            .filter(|(r, l)| argmax(r) == **l)
            .count() as f64
            / 200.0
    };
    println!(
        "{what}: int8 agrees with f32 on {:.1} % of 200 beats, worst |Δlogit| = {:.2} % of max \
         |logit| (mean {:.2} %); accuracy f32 {:.3}, int8 {:.3}",
        100.0 * agree,
        100.0 * rel,
        100.0 * mean,
        acc(&want),
        acc(&got)
    );
    assert!(agree >= 0.95, "{what}: agreement {agree}");
    assert!(rel <= 0.1, "{what}: worst relative logit error {rel}");
    assert!(mean <= 0.02, "{what}: mean relative logit error {mean}");
}

#[test]
fn int8_beat_cnn_agrees_with_f32() {
    let (x, y) = beats(80, 1);
    let mut model = BeatCnn::new(7, 5).unwrap();
    let (first, last) = train(&mut model, &x, &y, 60, 3e-3);
    assert!(
        last < first,
        "training did not reduce the loss ({first} → {last})"
    );
    settle(&mut model, &x);

    // The step list is the eval-mode network.
    let (probe, _) = beats(16, 5);
    let steps = beat_cnn_steps(&model);
    let a = float_forward(&steps, &probe).unwrap();
    let b = eval(&model, &probe);
    for (p, q) in a.data().iter().zip(b.data()) {
        assert!((p - q).abs() <= 1e-4 * (1.0 + q.abs()), "{p} vs {q}");
    }

    let calib: Vec<Tensor<f32>> = (0..3).map(|i| beats(32, 10 + i).0).collect();
    let q = quantize_beat_cnn(&model, &calib).unwrap();
    assert_eq!(q.net.int8_layers(), 5);
    check_quantised(
        &mut model,
        |t| q.forward(t).unwrap(),
        "BeatCnn (max calibration)",
    );
    let qp = quantize_beat_cnn_with(&model, &calib, Calibration::Percentile(99.99)).unwrap();
    check_quantised(
        &mut model,
        |t| qp.forward(t).unwrap(),
        "BeatCnn (99.99th percentile)",
    );

    // Sizes: 44 229 parameters + 448 running statistics in f32; int8 ≈ a quarter.
    assert_eq!(q.f32_size_bytes, 4 * (44_229 + 2 * (32 + 64 + 128)));
    let ratio = q.size_bytes() as f64 / q.f32_size_bytes as f64;
    println!(
        "BeatCnn: f32 {} B, int8 {} B ({:.3})",
        q.f32_size_bytes,
        q.size_bytes(),
        ratio
    );
    assert!(ratio < 0.3, "{ratio}");
}

#[test]
fn int8_separable_beat_cnn_agrees_with_f32() {
    let (x, y) = beats(80, 2);
    let mut model = SeparableBeatCnn::new(8, 5).unwrap();
    let (first, last) = train(&mut model, &x, &y, 100, 3e-3);
    assert!(
        last < first,
        "training did not reduce the loss ({first} → {last})"
    );
    settle(&mut model, &x);
    let (probe, _) = beats(16, 6);
    let a = float_forward(&separable_beat_cnn_steps(&model), &probe).unwrap();
    let b = eval(&model, &probe);
    for (p, q) in a.data().iter().zip(b.data()) {
        assert!((p - q).abs() <= 1e-4 * (1.0 + q.abs()), "{p} vs {q}");
    }
    let calib: Vec<Tensor<f32>> = (0..3).map(|i| beats(32, 20 + i).0).collect();
    let q = quantize_separable_beat_cnn(&model, &calib).unwrap();
    assert_eq!(
        q.net.int8_layers(),
        5,
        "conv1, two pointwise convs, fc1, fc2"
    );
    check_quantised(&mut model, |t| q.forward(t).unwrap(), "SeparableBeatCnn");
    println!(
        "SeparableBeatCnn: f32 {} B, int8 {} B",
        q.f32_size_bytes,
        q.size_bytes()
    );
    assert!(q.size_bytes() < q.f32_size_bytes / 3);
}

#[test]
fn separable_beat_cnn_names_and_overfit() {
    let mut model = SeparableBeatCnn::new(3, 5).unwrap();
    let names: Vec<String> = module::named_shapes(&mut model)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for want in [
        "conv1.weight",
        "conv2.depthwise.weight",
        "conv2.depthwise.bias",
        "conv2.pointwise.weight",
        "conv2.pointwise.bias",
        "bn2.running_var",
        "conv3.pointwise.weight",
        "fc2.bias",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    assert_eq!(module::count_params(&mut model).total, 20_101);
    let (x, y) = beats(8, 4);
    let (first, last) = train(&mut model, &x, &y, 200, 3e-3);
    println!("SeparableBeatCnn overfit: loss {first} → {last}");
    assert!(last < 0.05, "loss {first} → {last}");
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    model.set_training(false);
    assert_eq!(
        model.forward(&mut tape, &xv).unwrap().shape(),
        Shape::d2(8, 5)
    );
}
