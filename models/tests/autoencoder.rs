//! The seed-004 convolutional autoencoders: shapes of every configuration, parameter counts and
//! stable names, encode/decode = forward, the CoordConv variant, and an overfit test of the
//! paper's table network on 8 synthetic signals.

use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::loss::{Reduction, mse};
use ecgrad_models::autograd::optim::{Adam, AdamConfig};
use ecgrad_models::autograd::{Optimizer, Parameters, Tape};
use ecgrad_models::nets::{AeConfig, ConvAutoencoder};
use ecgrad_models::{Module, module};

fn build(cfg: AeConfig, seed: u64) -> ConvAutoencoder {
    ConvAutoencoder::new(cfg, &mut Rng::stream(seed, "init")).expect("builds")
}

fn shapes(ae: &mut ConvAutoencoder, n: usize) -> (Vec<usize>, Vec<usize>) {
    ae.set_training(false);
    let l = ae.config.input_len;
    let mut tape = Tape::no_grad();
    let x = tape.input(Tensor::zeros(Shape::d3(n, 1, l)));
    let z = ae.encode(&mut tape, &x).expect("encode");
    let y = ae.decode(&mut tape, &z).expect("decode");
    (z.shape().dims().to_vec(), y.shape().dims().to_vec())
}

#[test]
fn every_seed_004_configuration_has_the_documented_shapes() {
    let cases: [(AeConfig, Vec<usize>); 5] = [
        (AeConfig::table512(), vec![2, 30]),
        (AeConfig::keras2000(), vec![2, 200]),
        (AeConfig::qrs560(), vec![2, 30]),
        (AeConfig::masked(3), vec![2, 5, 417]),
        (AeConfig::masked(7), vec![2, 5, 179]),
    ];
    for (cfg, code) in cases {
        let name = cfg.name.clone();
        let l = cfg.input_len;
        let mut ae = build(cfg, 1);
        let (z, y) = shapes(&mut ae, 2);
        assert_eq!(z, code, "{name} code");
        assert_eq!(y, vec![2, 1, l], "{name} output");
        assert_eq!(ae.code_dims(), code[1..].to_vec(), "{name} code_dims");
    }
    assert_eq!(
        AeConfig::masked(3).encoder_lengths(),
        vec![5000, 2500, 834, 417]
    );
    assert_eq!(
        AeConfig::masked(7).encoder_lengths(),
        vec![5000, 2500, 358, 179]
    );
}

#[test]
fn masked_nets_have_the_tf_parameter_count() {
    // PAPERS.md §C.1: 23,050 trainable scalars including 25 deconv biases that the TF code
    // never uses (left out here).
    for p in [3, 7] {
        let mut ae = build(AeConfig::masked(p), 2);
        assert_eq!(module::count_params(&mut ae).total, 23_050 - 25, "p = {p}");
    }
    // Table net: convs 1·100·30+30, 30·100·15+15, 15·30·15+15, 15·20·5+5, BN 2·(30+15+15+5),
    // dense 160·30+30; decoder dense 30·160+160, convs 5·20·5+5, 5·30·15+15, 15·100·15+15,
    // 15·100·1+1, BN 2·(5+15+15).
    let enc = 3030 + 45015 + 6765 + 1505 + 130 + 4830;
    let dec = 4960 + 505 + 2265 + 22515 + 1501 + 70;
    let mut ae = build(AeConfig::table512(), 2);
    assert_eq!(module::count_params(&mut ae).total, enc + dec);
}

#[test]
fn parameter_names_are_stable() {
    let mut ae = build(AeConfig::qrs560(), 3);
    let names: Vec<String> = module::named_shapes(&mut ae)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let expected = [
        "encoder.conv0.weight",
        "encoder.conv0.bias",
        "encoder.bn0.weight",
        "encoder.bn0.bias",
        "encoder.conv1.weight",
        "encoder.conv1.bias",
        "encoder.bn1.weight",
        "encoder.bn1.bias",
        "encoder.conv2.weight",
        "encoder.conv2.bias",
        "encoder.conv3.weight",
        "encoder.conv3.bias",
        "encoder.fc.weight",
        "encoder.fc.bias",
        "decoder.fc.weight",
        "decoder.fc.bias",
        "decoder.conv0.weight",
        "decoder.conv0.bias",
        "decoder.bn0.weight",
        "decoder.bn0.bias",
        "decoder.conv1.weight",
        "decoder.conv1.bias",
        "decoder.bn1.weight",
        "decoder.bn1.bias",
        "decoder.conv2.weight",
        "decoder.conv2.bias",
        "decoder.conv3.weight",
        "decoder.conv3.bias",
        "encoder.bn0.running_mean",
        "encoder.bn0.running_var",
        "encoder.bn0.num_batches_tracked",
        "encoder.bn1.running_mean",
        "encoder.bn1.running_var",
        "encoder.bn1.num_batches_tracked",
        "decoder.bn0.running_mean",
        "decoder.bn0.running_var",
        "decoder.bn0.num_batches_tracked",
        "decoder.bn1.running_mean",
        "decoder.bn1.running_var",
        "decoder.bn1.num_batches_tracked",
    ];
    assert_eq!(names, expected);
    let mut good = build(AeConfig::masked(3), 3);
    let names: Vec<String> = module::named_shapes(&mut good)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "encoder.conv0.weight",
            "encoder.conv0.bias",
            "encoder.conv1.weight",
            "encoder.conv1.bias",
            "encoder.conv2.weight",
            "encoder.conv2.bias",
            "decoder.deconv0.weight",
            "decoder.deconv1.weight",
            "decoder.deconv2.weight",
        ]
    );
    // The summary runs and lists the encoder's first conv.
    good.set_training(false);
    let s = module::summary(&mut good, Shape::d3(1, 1, 5000)).expect("summary");
    assert!(s.contains("encoder.conv0"), "{s}");
}

#[test]
fn encode_then_decode_is_forward_and_coordconv_adds_one_channel() {
    let mut ae = build(AeConfig::table512(), 4);
    ae.set_training(false);
    let mut rng = Rng::new(5);
    let x = Tensor::from_vec(Shape::d3(3, 1, 512), rng.vec_f32(3 * 512)).expect("x");
    let mut tape = Tape::no_grad();
    let xv = tape.input(x);
    let y = ae.forward(&mut tape, &xv).expect("forward");
    let z = ae.encode(&mut tape, &xv).expect("encode");
    let y2 = ae.decode(&mut tape, &z).expect("decode");
    assert_eq!(y.value().data(), y2.value().data());

    let plain = module::count_params(&mut build(AeConfig::table512(), 4)).total;
    let mut coord = build(AeConfig::table512().with_coordconv(true), 4);
    // One extra input channel per conv: Σ c_out·k over the 8 convs.
    let extra = 30 * 100 + 15 * 100 + 15 * 30 + 5 * 20 + 5 * 20 + 15 * 30 + 15 * 100 + 100;
    assert_eq!(module::count_params(&mut coord).total, plain + extra);
    let (zc, yc) = shapes(&mut coord, 1);
    assert_eq!((zc, yc), (vec![1, 30], vec![1, 1, 512]));
    // Wrong input lengths are refused by name.
    let bad = tape.input(Tensor::zeros(Shape::d3(1, 1, 500)));
    let e = ae.encode(&mut tape, &bad).expect_err("wrong length");
    assert!(e.to_string().contains("ConvAutoencoder::encode"), "{e}");
    assert!(
        ConvAutoencoder::new(AeConfig::table512().with_input_len(500), &mut Rng::new(1)).is_err()
    );
}

/// 8 synthetic "beats": a baseline plus Gaussian bumps (P, R, T) at signal-dependent places.
fn synthetic_signals(n: usize, l: usize) -> Tensor<f32> {
    let mut rng = Rng::new(11);
    let mut data = Vec::with_capacity(n * l);
    for _ in 0..n {
        let shift = rng.uniform_range(-0.1, 0.1);
        let amp = rng.uniform_range(0.8, 1.2);
        let waves = [
            (0.2 + shift, 0.02, 0.2),
            (0.4 + shift, 0.015, amp),
            (0.7 + shift, 0.04, 0.35),
        ];
        for t in 0..l {
            let u = t as f64 / l as f64;
            let v: f64 = waves
                .iter()
                .map(|&(c, w, a)| a * (-(u - c) * (u - c) / (2.0 * w * w)).exp())
                .sum();
            data.push(v as f32);
        }
    }
    Tensor::from_vec(Shape::d3(n, 1, l), data).expect("signals")
}

#[test]
fn table_autoencoder_overfits_eight_synthetic_signals() {
    let mut ae = build(AeConfig::table512(), 6);
    let x = synthetic_signals(8, 512);
    let mean = x.data().iter().map(|&v| f64::from(v)).sum::<f64>() / x.numel() as f64;
    let var = x
        .data()
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / x.numel() as f64;
    let mut opt = Adam::new(AdamConfig {
        lr: 3e-3,
        ..AdamConfig::adam()
    })
    .expect("adam");
    let mut last = f64::INFINITY;
    for step in 0..250 {
        let mut tape = Tape::new();
        let xv = tape.input(x.clone());
        let y = ae.forward(&mut tape, &xv).expect("forward");
        let loss = mse(&mut tape, &y, &x, Reduction::Mean).expect("loss");
        last = f64::from(loss.value().data()[0]);
        if step % 25 == 0 {
            println!("step {step}: MSE {last:.5}");
        }
        let grads = tape.backward(&loss).expect("backward");
        ae.zero_grad();
        grads.accumulate_into(&mut ae).expect("grads");
        opt.step(&mut ae).expect("step");
    }
    // Evaluation mode (running BN statistics) must also reconstruct.
    ae.set_training(false);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let y = ae.forward(&mut tape, &xv).expect("eval");
    let eval = y
        .value()
        .data()
        .iter()
        .zip(x.data())
        .map(|(&a, &b)| f64::from(a - b).powi(2))
        .sum::<f64>()
        / x.numel() as f64;
    // The best signal-independent output: the mean signal over the 8.
    let (n, l) = (8, 512);
    let mut base = 0.0;
    for t in 0..l {
        let m: f64 = (0..n).map(|i| f64::from(x.data()[i * l + t])).sum::<f64>() / n as f64;
        base += (0..n)
            .map(|i| (f64::from(x.data()[i * l + t]) - m).powi(2))
            .sum::<f64>();
    }
    base /= x.numel() as f64;
    println!("mean-signal MSE {base:.5}");
    println!("signal variance {var:.4}, train MSE {last:.5}, eval MSE {eval:.5}");
    // Overfitting = far better than any output that ignores the input (measured: 0.00115 vs
    // 0.0222 at 250 steps).
    assert!(
        last < 0.15 * base,
        "train MSE {last} vs mean-signal MSE {base}"
    );
    assert!(
        eval < 0.15 * base,
        "eval MSE {eval} vs mean-signal MSE {base}"
    );
}
