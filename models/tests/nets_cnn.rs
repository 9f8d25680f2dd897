//! Convolutional networks: `BeatCnn` (names and shapes exactly as PERFORMANCE.md lists them,
//! overfitting 8 synthetic beats, a bit-identical checkpoint round trip, the feature map),
//! `ResNet1d` and `Cnn2d` (overfitting, transfer learning with a frozen backbone).

use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::loss::{CrossEntropy, cross_entropy};
use ecgrad_models::autograd::optim::{Adam, AdamConfig};
use ecgrad_models::autograd::{Optimizer, Tape};
use ecgrad_models::nets::BeatCnn;
use ecgrad_models::{Module, checkpoint, gradcam, module};

/// 8 synthetic single-lead beats `[8, 1, len]` with labels 0..5: class k is a Gaussian bump at a
/// class-dependent position and width, plus a little noise — separable, but only through the
/// shape of the signal.
fn synthetic_beats(len: usize, seed: u64) -> (Tensor<f32>, Vec<usize>) {
    let labels = vec![0, 1, 2, 3, 4, 0, 1, 2];
    let mut rng = Rng::stream(seed, "beats");
    let mut data = Vec::with_capacity(8 * len);
    for &k in &labels {
        let centre = len as f64 * (0.25 + 0.1 * k as f64);
        let width = len as f64 * (0.02 + 0.015 * k as f64);
        for t in 0..len {
            let z = (t as f64 - centre) / width;
            data.push(((-0.5 * z * z).exp() + 0.05 * rng.normal()) as f32);
        }
    }
    (
        Tensor::from_vec(Shape::d3(8, 1, len), data).unwrap(),
        labels,
    )
}

/// One training step (zero grads, forward in training mode, cross-entropy, backward, Adam);
/// returns the loss.
fn step(model: &mut dyn Module, opt: &mut Adam<f32>, x: &Tensor<f32>, y: &[usize]) -> f32 {
    model.zero_grad();
    let mut tape = Tape::new();
    let xv = tape.input(x.clone());
    let logits = model.forward(&mut tape, &xv).unwrap();
    let loss = cross_entropy(&mut tape, &logits, y, &CrossEntropy::default()).unwrap();
    let value = loss.value().data()[0];
    let grads = tape.backward(&loss).unwrap();
    grads.accumulate_into(model).unwrap();
    opt.step(model).unwrap();
    value
}

/// Trains until the loss is below `target` (or `max_steps`); returns (first loss, final loss,
/// steps taken).
fn overfit(
    model: &mut dyn Module,
    x: &Tensor<f32>,
    y: &[usize],
    lr: f64,
    target: f32,
    max_steps: usize,
) -> (f32, f32, usize) {
    let mut opt = Adam::new(AdamConfig {
        lr,
        ..AdamConfig::adam()
    })
    .unwrap();
    let first = step(model, &mut opt, x, y);
    let mut last = first;
    for i in 1..max_steps {
        last = step(model, &mut opt, x, y);
        assert!(last.is_finite(), "loss is {last} at step {i}");
        if last < target {
            return (first, last, i + 1);
        }
    }
    (first, last, max_steps)
}

/// Training-mode forwards on a no_grad tape: the weights stay, the running statistics converge
/// to the batch's (geometrically, factor 1 − momentum per pass), so evaluation mode then sees
/// what training saw. Needed when a net overfits in fewer steps than the running averages need.
fn settle_running_stats(model: &dyn Module, x: &Tensor<f32>, passes: usize) {
    for _ in 0..passes {
        let mut tape = Tape::no_grad();
        let xv = tape.input(x.clone());
        model.forward(&mut tape, &xv).unwrap();
    }
}

fn eval_logits(model: &mut dyn Module, x: &Tensor<f32>) -> Tensor<f32> {
    model.set_training(false);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let y = model.forward(&mut tape, &xv).unwrap().value().clone();
    model.set_training(true);
    y
}

fn argmax_rows(t: &Tensor<f32>) -> Vec<usize> {
    let c = t.dims()[1];
    t.data()
        .chunks(c)
        .map(|r| (0..c).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap())
        .collect()
}

// ---------------------------------------------------------------- BeatCnn

#[test]
fn beat_cnn_state_dict_names_and_shapes_as_pytorch() {
    let mut m = BeatCnn::new(0, 5).unwrap();
    let got: Vec<(String, Vec<usize>)> = module::named_shapes(&mut m)
        .into_iter()
        .map(|(n, s)| (n, s.dims().to_vec()))
        .collect();
    let mut want: Vec<(String, Vec<usize>)> = Vec::new();
    let mut p = |n: &str, d: &[usize]| want.push((n.to_string(), d.to_vec()));
    // Parameters first (visiting order), then buffers.
    for (conv, c_out, c_in, k) in [
        ("conv1", 32, 1, 5),
        ("conv2", 64, 32, 5),
        ("conv3", 128, 64, 3),
    ] {
        p(&format!("{conv}.weight"), &[c_out, c_in, k]);
        p(&format!("{conv}.bias"), &[c_out]);
        let bn = conv.replace("conv", "bn");
        p(&format!("{bn}.weight"), &[c_out]);
        p(&format!("{bn}.bias"), &[c_out]);
    }
    p("fc1.weight", &[64, 128]);
    p("fc1.bias", &[64]);
    p("fc2.weight", &[5, 64]);
    p("fc2.bias", &[5]);
    for (bn, c) in [("bn1", 32), ("bn2", 64), ("bn3", 128)] {
        p(&format!("{bn}.running_mean"), &[c]);
        p(&format!("{bn}.running_var"), &[c]);
        p(&format!("{bn}.num_batches_tracked"), &[]);
    }
    assert_eq!(got, want);
    let count = module::count_params(&mut m);
    assert_eq!(count.total, 44_229);
    assert_eq!(count.trainable, 44_229);
    assert_eq!(count.buffers, 2 * (32 + 64 + 128) + 3);

    // Shapes through the network, and the feature map for CNN-LSTM / Grad-CAM.
    let (x, _) = synthetic_beats(187, 1);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let f = m.forward_features(&mut tape, &xv).unwrap();
    assert_eq!(f.shape(), Shape::d3(8, 128, 46));
    assert_eq!(m.forward(&mut tape, &xv).unwrap().shape(), Shape::d2(8, 5));
    let s = module::summary(&mut m, Shape::d3(2, 1, 187)).unwrap();
    for row in [
        "conv1 (Conv1d(1 → 32, k5, pad 2))",
        "bn3 (BatchNorm1d(128))",
        "[2, 128, 46]",
    ] {
        assert!(s.contains(row), "{row} missing from\n{s}");
    }
    assert!(s.contains("Total params: 44229"), "{s}");
    // Grad-CAM at conv3 by its PyTorch name.
    m.set_training(false);
    let cam = gradcam::grad_cam(&m, &x, "conv3", 2).unwrap();
    assert_eq!(cam.shape(), Shape::d2(8, 187));
    // A wrong input is a named error.
    let bad = tape.input(Tensor::zeros(Shape::d3(2, 2, 187)));
    let e = m.forward(&mut tape, &bad).unwrap_err().to_string();
    assert!(e.contains("BeatCnn") && e.contains("[2, 2, 187]"), "{e}");
    assert!(BeatCnn::new(0, 0).is_err());
}

#[test]
fn beat_cnn_init_is_seeded() {
    let w = |seed| {
        BeatCnn::new(seed, 5)
            .unwrap()
            .features
            .conv2
            .weight
            .value
            .clone()
    };
    assert_eq!(w(3), w(3));
    assert_ne!(w(3), w(4));
}

#[test]
fn beat_cnn_overfits_8_beats() {
    let (x, y) = synthetic_beats(187, 2);
    let mut m = BeatCnn::new(7, 5).unwrap();
    let (first, last, steps) = overfit(&mut m, &x, &y, 1e-3, 0.02, 400);
    println!("BeatCnn: loss {first} → {last} in {steps} steps");
    assert!(last < 0.02, "loss {first} → {last} after {steps} steps");
    assert_eq!(
        argmax_rows(&eval_logits(&mut m, &x)),
        y,
        "eval mode classifies them too"
    );
    let (_, _, nbt) = m.features.bn1.running_stats();
    assert_eq!(
        nbt, steps as f32,
        "one running-stat update per training forward"
    );
}

#[test]
fn beat_cnn_checkpoint_round_trip_is_bit_identical() {
    let (x, y) = synthetic_beats(187, 3);
    let mut m = BeatCnn::new(11, 5).unwrap();
    // A few steps so running statistics and weights are not at their initial values.
    overfit(&mut m, &x, &y, 1e-3, 0.0, 5);
    let dir = std::env::temp_dir().join(format!("ecgrad-nets-cnn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("beat_cnn.safetensors");
    checkpoint::save(&mut m, &path).unwrap();
    let mut m2 = BeatCnn::new(12, 5).unwrap();
    assert_ne!(eval_logits(&mut m, &x), eval_logits(&mut m2, &x));
    checkpoint::load(&mut m2, &path).unwrap();
    assert_eq!(eval_logits(&mut m, &x), eval_logits(&mut m2, &x));
    // A model for another number of classes does not load: the error names the tensor.
    let e = checkpoint::load(&mut BeatCnn::new(0, 3).unwrap(), &path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("fc2.weight"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- ResNet1d

#[test]
fn resnet1d_names_shapes_and_overfit() {
    use ecgrad_models::nets::{ResNet1d, ResNet1dConfig};
    let mut m = ResNet1d::new(5, ResNet1dConfig::aami()).unwrap();
    let shapes = module::named_shapes(&mut m);
    let find = |n: &str| {
        shapes
            .iter()
            .find(|(k, _)| k == n)
            .unwrap_or_else(|| panic!("{n} missing"))
            .1
            .dims()
            .to_vec()
    };
    assert_eq!(find("conv1.weight"), [32, 1, 7]);
    assert_eq!(find("layer1.0.conv1.weight"), [32, 32, 5]);
    assert_eq!(find("layer2.0.conv1.weight"), [64, 32, 5]);
    assert_eq!(find("layer2.0.downsample.0.weight"), [64, 32, 1]);
    assert_eq!(find("layer2.0.downsample.1.running_var"), [64]);
    assert_eq!(
        find("layer3.1.bn2.num_batches_tracked"),
        Vec::<usize>::new()
    );
    assert_eq!(find("fc.weight"), [5, 128]);
    assert!(
        !shapes
            .iter()
            .any(|(k, _)| k.starts_with("layer1.0.downsample"))
    );
    assert!(
        !shapes.iter().any(|(k, _)| k == "conv1.bias"),
        "convs before BN have no bias"
    );
    assert_eq!(module::count_params(&mut m).total, 392_229);

    let (x, y) = synthetic_beats(187, 4);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let f = m.forward_features(&mut tape, &xv).unwrap();
    assert_eq!(f.shape(), Shape::d3(8, 128, 47));
    let s = module::summary(&mut m, Shape::d3(2, 1, 187)).unwrap();
    assert!(s.contains("layer3.1.relu2"), "{s}");

    let (first, last, steps) = overfit(&mut m, &x, &y, 1e-3, 0.02, 300);
    println!("ResNet1d: loss {first} → {last} in {steps} steps");
    assert!(last < 0.02, "loss {first} → {last} after {steps} steps");
    settle_running_stats(&m, &x, 60);
    assert_eq!(argmax_rows(&eval_logits(&mut m, &x)), y);
    m.set_training(false);
    let cam = gradcam::grad_cam(&m, &x, "layer3.1.relu2", 1).unwrap();
    assert_eq!(cam.shape(), Shape::d2(8, 187));
}

#[test]
fn residual_block_identity_and_projection() {
    use ecgrad_models::layers::ResidualBlock1d;
    let mut rng = Rng::stream(1, "init");
    let same = ResidualBlock1d::new(4, 4, 3, 1, &mut rng).unwrap();
    assert!(same.downsample.is_none());
    let down = ResidualBlock1d::new(4, 8, 3, 2, &mut rng).unwrap();
    assert!(down.downsample.is_some());
    let strided = ResidualBlock1d::new(4, 4, 3, 2, &mut rng).unwrap();
    assert!(
        strided.downsample.is_some(),
        "a stride alone needs a projection"
    );
    assert!(ResidualBlock1d::new(4, 4, 4, 1, &mut rng).is_err());
    let mut tape = Tape::no_grad();
    let x = tape.input(Tensor::full(Shape::d3(2, 4, 11), 0.5));
    assert_eq!(
        down.forward(&mut tape, &x).unwrap().shape(),
        Shape::d3(2, 8, 6)
    );
    // With conv2's weights at zero, F(x) = β₂ = 0, so an identity block computes ReLU(x).
    let mut zero = same.clone();
    zero.conv2.weight.value = Tensor::zeros(zero.conv2.weight.value.shape());
    let xs = Tensor::from_vec(
        Shape::d3(1, 4, 3),
        (0..12).map(|i| i as f32 - 5.5).collect(),
    )
    .unwrap();
    let xv = tape.input(xs.clone());
    let y = zero.forward(&mut tape, &xv).unwrap();
    let want: Vec<f32> = xs.data().iter().map(|v| v.max(0.0)).collect();
    assert_eq!(y.value().data(), &want[..]);
}
