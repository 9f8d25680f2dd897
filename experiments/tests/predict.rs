//! The `predict` binary: a checkpoint saved by ecgrad and beats in a `.npy` give the same logits
//! as calling the model's forward in evaluation mode; bad inputs fail with named errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use ecgrad_engine::{Rng, Shape, Tensor};
use ecgrad_experiments::models::Module;
use ecgrad_experiments::models::autograd::{Parameters, Tape};
use ecgrad_experiments::models::checkpoint;
use ecgrad_experiments::models::nets::{
    BeatCnn, CnnLstm, CnnLstmAttention, CnnLstmAttentionConfig, ResNet1d, ResNet1dConfig,
};
use ecgrad_experiments::npy;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ecgrad-predict-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Gives every buffer (BN running mean/var) non-default values, so a predict that ignored the
/// checkpoint's buffers or ran in training mode would disagree.
fn perturb_buffers(m: &mut dyn Parameters<f32>, seed: u64) {
    let mut rng = Rng::new(seed);
    m.visit_buffers(&mut |b| {
        let name = b.name.to_string();
        for v in b.value.data_mut() {
            if name.ends_with("running_var") {
                *v = 0.5 + rng.uniform() as f32;
            } else if name.ends_with("running_mean") {
                *v = 0.2 * rng.normal() as f32;
            }
        }
    });
}

fn eval_logits(m: &mut dyn Module, x: &Tensor<f32>) -> Vec<f32> {
    m.set_training(false);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    m.forward(&mut tape, &xv).unwrap().value().data().to_vec()
}

fn run_predict(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_predict"))
        .args(args)
        .output()
        .expect("the predict binary runs")
}

fn check_same(model: &str, weights: &Path, x: &Tensor<f32>, want: &[f32], dir: &Path) {
    let input = dir.join("x.npy");
    let output = dir.join("y.npy");
    npy::write_f32(&input, x.dims(), x.data()).unwrap();
    let out = run_predict(&[
        "--model",
        model,
        "--weights",
        weights.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--batch-size",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("logits"));
    let y = npy::read_f32(&output).unwrap();
    assert_eq!(y.shape, vec![x.dims()[0], want.len() / x.dims()[0]]);
    for (i, (a, b)) in y.data.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "logit {i}: predict {a}, forward {b}"
        );
    }
}

#[test]
fn beat_cnn_predict_matches_forward_and_rejects_bad_shapes() {
    let dir = temp("beatcnn");
    let mut m = BeatCnn::new(7, 5).unwrap();
    perturb_buffers(&mut m, 1);
    let weights = dir.join("w.safetensors");
    checkpoint::save(&mut m, &weights).unwrap();
    let mut rng = Rng::new(3);
    let x = Tensor::from_vec(Shape::d3(5, 1, 187), rng.vec_f32(5 * 187)).unwrap();
    let want = eval_logits(&mut m, &x);
    check_same("beat-cnn", &weights, &x, &want, &dir);

    // Probabilities: rows sum to 1.
    let probs = dir.join("p.npy");
    let out = run_predict(&[
        "--model",
        "beat-cnn",
        "--weights",
        weights.to_str().unwrap(),
        "--input",
        dir.join("x.npy").to_str().unwrap(),
        "--output",
        probs.to_str().unwrap(),
        "--probabilities",
    ]);
    assert!(out.status.success());
    let p = npy::read_f32(&probs).unwrap();
    for row in p.data.chunks(5) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    // [N, L] instead of [N, 1, L]: a named error suggesting the fix.
    let flat = dir.join("flat.npy");
    npy::write_f32(&flat, &[5, 187], x.data()).unwrap();
    let out = run_predict(&[
        "--model",
        "beat-cnn",
        "--weights",
        weights.to_str().unwrap(),
        "--input",
        flat.to_str().unwrap(),
        "--output",
        dir.join("o.npy").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("flat.npy") && err.contains("x[:, None, :]"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resnet1d_config_is_read_from_the_checkpoint() {
    let dir = temp("resnet");
    let config = ResNet1dConfig {
        in_channels: 2,
        stem_channels: 8,
        stem_kernel: 5,
        widths: vec![8, 16],
        strides: vec![1, 2],
        blocks: 1,
        kernel: 3,
        classes: 3,
    };
    let mut m = ResNet1d::new(11, config).unwrap();
    perturb_buffers(&mut m, 2);
    let weights = dir.join("r.safetensors");
    checkpoint::save(&mut m, &weights).unwrap();
    let mut rng = Rng::new(4);
    let x = Tensor::from_vec(Shape::d3(3, 2, 64), rng.vec_f32(3 * 2 * 64)).unwrap();
    let want = eval_logits(&mut m, &x);
    check_same("resnet1d", &weights, &x, &want, &dir);

    // ResNet weights loaded as a BeatCnn: the error names a tensor.
    let out = run_predict(&[
        "--model",
        "beat-cnn",
        "--weights",
        weights.to_str().unwrap(),
        "--input",
        dir.join("x.npy").to_str().unwrap(),
        "--output",
        dir.join("o.npy").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fc2.weight") || err.contains("conv1"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cnn_lstm_models_predict_matches_forward() {
    let dir = temp("lstm");
    let mut rng = Rng::new(8);
    let x = Tensor::from_vec(Shape::d3(3, 1, 187), rng.vec_f32(3 * 187)).unwrap();

    let mut m = CnnLstm::new(5, 4).unwrap();
    perturb_buffers(&mut m, 3);
    let weights = dir.join("l.safetensors");
    checkpoint::save(&mut m, &weights).unwrap();
    let want = eval_logits(&mut m, &x);
    check_same("cnn-lstm", &weights, &x, &want, &dir);

    // A non-default attention model: bidirectional, H 16, A 8, 3 classes.
    let config = CnnLstmAttentionConfig {
        classes: 3,
        hidden: 16,
        bidirectional: true,
        attention_dim: 8,
    };
    let mut m = CnnLstmAttention::new(6, config).unwrap();
    perturb_buffers(&mut m, 4);
    let weights = dir.join("a.safetensors");
    checkpoint::save(&mut m, &weights).unwrap();
    let want = eval_logits(&mut m, &x);
    check_same("cnn-lstm-attention", &weights, &x, &want, &dir);
    std::fs::remove_dir_all(&dir).unwrap();
}
