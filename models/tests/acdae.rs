//! `Acdae`: shapes and PyTorch-style names, the optional head, and an overfit test — denoising 8
//! synthetic noisy two-lead segments must bring the error far below the input noise.

use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::loss::{CrossEntropy, Reduction, cross_entropy, mse};
use ecgrad_models::autograd::optim::{Adam, AdamConfig};
use ecgrad_models::autograd::{Optimizer, Parameters, Tape};
use ecgrad_models::nets::{Acdae, AcdaeConfig};
use ecgrad_models::{Module, module};

/// 8 clean two-lead "ECG-like" segments of length `l` (a sharp Gaussian spike plus a broad
/// wave, lead 2 a scaled copy) and their noisy versions (white noise, std 0.3).
fn data(l: usize) -> (Tensor<f32>, Tensor<f32>) {
    let mut rng = Rng::stream(7, "data");
    let (mut clean, mut noisy) = (Vec::new(), Vec::new());
    for _ in 0..8 {
        let c = rng.uniform_range(0.2, 0.8) * l as f64;
        let amp = rng.uniform_range(0.8, 1.2);
        for lead in 0..2 {
            let gain = if lead == 0 { 1.0 } else { 0.6 };
            for t in 0..l {
                let d = t as f64 - c;
                let v =
                    gain * amp * ((-d * d / 8.0).exp() + 0.3 * (-(d - 12.0).powi(2) / 60.0).exp());
                clean.push(v as f32);
                noisy.push((v + 0.3 * rng.normal()) as f32);
            }
        }
    }
    let s = Shape::d3(8, 2, l);
    (
        Tensor::from_vec(s, clean).expect("clean"),
        Tensor::from_vec(s, noisy).expect("noisy"),
    )
}

fn mse_of(a: &Tensor<f32>, b: &Tensor<f32>) -> f64 {
    let n = a.numel() as f64;
    a.data()
        .iter()
        .zip(b.data())
        .map(|(x, y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        / n
}

#[test]
fn names_shapes_and_head() {
    let mut rng = Rng::stream(1, "init");
    let cfg = AcdaeConfig {
        classes: Some(5),
        ..AcdaeConfig::default()
    };
    let mut net = Acdae::new(cfg, &mut rng).expect("acdae");
    let names = module::named_shapes(&mut net);
    let find = |n: &str| names.iter().find(|(k, _)| k == n).map(|(_, s)| *s);
    assert_eq!(find("enc1.weight"), Some(Shape::d3(16, 2, 13)));
    assert_eq!(find("enc4.weight"), Some(Shape::d3(128, 64, 7)));
    assert_eq!(find("dec1.weight"), Some(Shape::d3(128, 64, 7)));
    assert_eq!(find("dec4.weight"), Some(Shape::d3(16, 16, 13)));
    assert_eq!(find("eca1.conv.weight"), Some(Shape::d3(1, 1, 3)));
    assert_eq!(find("gate3.w_x.weight"), Some(Shape::d3(32, 64, 1)));
    assert_eq!(find("out.weight"), Some(Shape::d3(2, 16, 1)));
    assert_eq!(find("head.weight"), Some(Shape::d2(5, 128)));
    let mut tape = Tape::no_grad();
    let x = tape.input(Tensor::zeros(Shape::d3(3, 2, 600)));
    let out = net.forward_full(&mut tape, &x).expect("forward");
    assert_eq!(out.denoised.shape(), Shape::d3(3, 2, 600));
    assert_eq!(out.bottleneck.shape(), Shape::d3(3, 128, 75));
    assert_eq!(
        out.logits.as_ref().map(|l| l.shape()),
        Some(Shape::d2(3, 5))
    );
    let maps = net
        .attention_maps(&Tensor::zeros(Shape::d3(1, 2, 600)))
        .expect("maps");
    let lens: Vec<usize> = maps.iter().map(|m| m.dims()[2]).collect();
    assert_eq!(lens, vec![150, 300, 600]);
    // L not a multiple of 8, wrong lead count: named errors.
    let bad = tape.input(Tensor::zeros(Shape::d3(1, 2, 100)));
    let e = net.forward(&mut tape, &bad).expect_err("L = 100");
    assert!(e.to_string().contains("Acdae"), "{e}");
    let bad = tape.input(Tensor::zeros(Shape::d3(1, 1, 64)));
    assert!(net.forward(&mut tape, &bad).is_err());
    println!(
        "{}",
        module::summary(&mut net, Shape::d3(1, 2, 600)).expect("summary")
    );
}

#[test]
fn acdae_overfits_8_noisy_segments() {
    let l = 64;
    let (clean, noisy) = data(l);
    let input_mse = mse_of(&noisy, &clean);
    let mut rng = Rng::stream(2, "init");
    let cfg = AcdaeConfig {
        classes: Some(2),
        ..AcdaeConfig::default()
    };
    let mut net = Acdae::new(cfg, &mut rng).expect("acdae");
    let labels: Vec<usize> = (0..8).map(|i| i % 2).collect();
    let mut opt = Adam::new(AdamConfig {
        lr: 3e-3,
        ..AdamConfig::adam()
    })
    .expect("adam");
    let mut first = None;
    for _ in 0..200 {
        let grads = {
            let mut tape = Tape::new();
            let x = tape.input(noisy.clone());
            let out = net.forward_full(&mut tape, &x).expect("forward");
            let rec = mse(&mut tape, &out.denoised, &clean, Reduction::Mean).expect("mse");
            let logits = out.logits.expect("head");
            let ce =
                cross_entropy(&mut tape, &logits, &labels, &CrossEntropy::default()).expect("ce");
            first.get_or_insert(rec.value().data()[0]);
            let loss = ecgrad_models::autograd::ops::add(&mut tape, &rec, &ce).expect("sum");
            tape.backward(&loss).expect("backward")
        };
        net.zero_grad();
        grads.accumulate_into(&mut net).expect("grads");
        opt.step(&mut net).expect("step");
    }
    let mut tape = Tape::no_grad();
    let x = tape.input(noisy.clone());
    let out = net.forward_full(&mut tape, &x).expect("forward");
    let out_mse = mse_of(out.denoised.value(), &clean);
    let logits = out.logits.expect("head");
    let correct = (0..8)
        .filter(|&i| {
            let r = &logits.value().data()[i * 2..i * 2 + 2];
            usize::from(r[1] > r[0]) == labels[i]
        })
        .count();
    println!(
        "input mse {input_mse:.4}, first output mse {:?}, final output mse {out_mse:.4}, head {correct}/8",
        first
    );
    // Denoising: the output error is at most a tenth of the input noise (≥ 10 dB gain).
    assert!(out_mse < 0.1 * input_mse, "{out_mse} vs {input_mse}");
    assert_eq!(correct, 8);
}
