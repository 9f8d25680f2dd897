//! Convolutional networks: `BeatCnn` (names and shapes exactly as PERFORMANCE.md lists them,
//! overfitting 8 synthetic beats, a bit-identical checkpoint round trip, the feature map),
//! `ResNet1d` and `Cnn2d` (overfitting, transfer learning with a frozen backbone).

use ecgrad_models::autograd::Tape;
use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::nets::BeatCnn;
use ecgrad_models::{Module, checkpoint, gradcam, module};

mod common;
use common::{argmax_rows, eval_logits, overfit, settle_running_stats, synthetic_beats};

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

// ---------------------------------------------------------------- Cnn2d

/// 8 synthetic one-channel 16×16 "images", labels `classes`-periodic: class k is a bright
/// square at a class-dependent corner/size, plus noise.
fn synthetic_images(classes: usize, seed: u64) -> (Tensor<f32>, Vec<usize>) {
    let labels: Vec<usize> = (0..8).map(|i| i % classes).collect();
    let mut rng = Rng::stream(seed, "images");
    let mut data = Vec::with_capacity(8 * 256);
    for &k in &labels {
        let (r0, c0, size) = [(1, 1, 5), (9, 9, 6), (1, 9, 4), (9, 1, 7), (5, 5, 6)][k % 5];
        for r in 0..16 {
            for c in 0..16 {
                let inside = r >= r0 && r < r0 + size && c >= c0 && c < c0 + size;
                data.push(if inside { 1.0 } else { 0.0 } + 0.1 * rng.normal() as f32);
            }
        }
    }
    (
        Tensor::from_vec(Shape::d4(8, 1, 16, 16), data).unwrap(),
        labels,
    )
}

fn small_2d(residual: bool, classes: usize) -> ecgrad_models::nets::Cnn2dConfig {
    ecgrad_models::nets::Cnn2dConfig {
        in_channels: 1,
        widths: vec![8, 16],
        dropout: 0.2,
        residual,
        classes,
    }
}

#[test]
fn cnn2d_names_and_overfit_plain_and_residual() {
    use ecgrad_models::nets::{Cnn2d, Cnn2dConfig};
    let (x, y) = synthetic_images(5, 1);
    for residual in [false, true] {
        let mut m = Cnn2d::new(3, &small_2d(residual, 5)).unwrap();
        let names: Vec<String> = module::named_shapes(&mut m)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        for n in [
            "backbone.0.conv1.weight",
            "backbone.1.bn1.running_mean",
            "head.fc.weight",
            "head.fc.bias",
        ] {
            assert!(names.iter().any(|k| k == n), "{n} missing from {names:?}");
        }
        assert_eq!(
            names.iter().any(|k| k == "backbone.1.shortcut.0.weight"),
            residual
        );
        let mut tape = Tape::no_grad();
        let xv = tape.input(x.clone());
        assert_eq!(
            m.forward_features(&mut tape, &xv).unwrap().shape(),
            Shape::d4(8, 16, 4, 4)
        );
        let (first, last, steps) = overfit(&mut m, &x, &y, 3e-3, 0.05, 400);
        println!("Cnn2d residual={residual}: loss {first} → {last} in {steps} steps");
        assert!(
            last < 0.05,
            "residual={residual}: {first} → {last} after {steps} steps"
        );
        settle_running_stats_eval_dropout_off(&mut m, &x);
        assert_eq!(argmax_rows(&eval_logits(&mut m, &x)), y);
        m.set_training(false);
        let cam = gradcam::grad_cam(&m, &x, "backbone.1.conv1", 0).unwrap();
        assert_eq!(cam.shape(), Shape::d3(8, 16, 16));
    }
    let seed000 = Cnn2d::new(0, &Cnn2dConfig::seed000(4)).unwrap();
    assert_eq!(seed000.backbone_channels(), 64);
    assert_eq!(
        seed000.backbone.blocks[0].conv1.describe(),
        "Conv2d(1 → 64, 3×3, pad (1, 1))"
    );
}

/// Settles the running statistics with dropout off (training-mode BN, eval-mode dropout), so
/// evaluation sees the statistics of the clean batch.
fn settle_running_stats_eval_dropout_off(m: &mut ecgrad_models::nets::Cnn2d, x: &Tensor<f32>) {
    // Dropout off while BN stays in training mode: all to eval, then BN back to training.
    for b in &mut m.backbone.blocks {
        b.set_training(false);
        b.bn1.set_training(true);
        if let Some((_, bn2)) = &mut b.conv2 {
            bn2.set_training(true);
        }
    }
    settle_running_stats(&*m, x, 60);
    m.set_training(true);
}

#[test]
fn cnn2d_transfer_freezes_backbone_and_trains_new_head() {
    use ecgrad_models::autograd::Parameters;
    use ecgrad_models::nets::Cnn2d;
    // Pre-train on task A (5 classes).
    let (xa, ya) = synthetic_images(5, 2);
    let mut m = Cnn2d::new(4, &small_2d(false, 5)).unwrap();
    overfit(&mut m, &xa, &ya, 3e-3, 0.0, 30);
    // Task B: 3 classes, a new head, backbone frozen.
    let (xb, yb) = synthetic_images(3, 5);
    let head = Cnn2d::linear_head(m.backbone_channels(), 3, &mut Rng::stream(9, "head")).unwrap();
    let old = m.replace_head(Box::new(head));
    assert!(old.describe().contains("Sequential"));
    m.freeze_backbone();
    let count = module::count_params(&mut m);
    assert_eq!(count.trainable, 16 * 3 + 3, "only the new head trains");

    let snapshot = |m: &mut Cnn2d| {
        let mut v = Vec::new();
        m.visit_params(&mut |p| v.push((p.name.to_string(), p.value.clone())));
        m.visit_buffers(&mut |b| v.push((b.name.to_string(), b.value.clone())));
        v
    };
    let before = snapshot(&mut m);
    let (first, last, steps) = overfit(&mut m, &xb, &yb, 1e-2, 0.0, 40);
    println!("transfer: head-only loss {first} → {last} in {steps} steps");
    assert!(last < first, "the new head learns: {first} → {last}");
    let after = snapshot(&mut m);
    assert_eq!(before.len(), after.len());
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        if name.starts_with("head.") {
            assert_ne!(a, b, "{name} should have changed");
        } else {
            assert_eq!(a, b, "{name} changed although the backbone is frozen");
        }
    }
    // Frozen parameters get no gradient at all.
    m.visit_params(&mut |p| {
        if p.name.starts_with("backbone.") {
            assert!(p.grad.is_none(), "{} has a gradient", p.name);
        }
    });
    assert!(m.describe().contains("frozen"));
    // Unfreezing makes everything trainable again.
    m.unfreeze_backbone();
    assert_eq!(
        module::count_params(&mut m).trainable,
        module::count_params(&mut m).total
    );
}

#[test]
fn beat_cnn_training_is_bit_identical_at_1_and_2_threads() {
    use ecgrad_models::autograd::Parameters;
    use ecgrad_models::autograd::engine::parallel;
    let (x, y) = synthetic_beats(187, 6);
    let run = |threads: usize| {
        parallel::with_threads(threads, || {
            let mut m = BeatCnn::new(21, 5).unwrap();
            overfit(&mut m, &x, &y, 1e-3, 0.0, 3);
            let mut state = Vec::new();
            m.visit_params(&mut |p| state.push(p.value.clone()));
            m.visit_buffers(&mut |b| state.push(b.value.clone()));
            (state, eval_logits(&mut m, &x))
        })
    };
    assert!(
        run(1) == run(2),
        "1 and 2 threads must give bit-identical weights and outputs"
    );
}
