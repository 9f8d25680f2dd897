//! `CnnLstm` and `CnnLstmAttention`: state_dict names and shapes exactly as PERFORMANCE.md
//! lists them (PyTorch's), the forward against the same pipeline built by hand on the composed
//! reference LSTM, overfitting 8 synthetic beats, bit-identical checkpoint round trips, the
//! attention weights, and named errors.

use ecgrad_models::autograd::engine::{Shape, Tensor};
use ecgrad_models::autograd::{Tape, ops};
use ecgrad_models::nets::{CnnLstm, CnnLstmAttention, CnnLstmAttentionConfig};
use ecgrad_models::{Module, checkpoint, gradcam, module};

mod common;
use common::{argmax_rows, eval_logits, settle_running_stats, synthetic_beats};

/// The overfitting loop of `common` at this file's learning rate, 3e-3.
fn overfit(
    model: &mut dyn Module,
    x: &Tensor<f32>,
    y: &[usize],
    target: f32,
    max_steps: usize,
) -> (f32, f32, usize) {
    common::overfit(model, x, y, 3e-3, target, max_steps)
}

/// BeatCnn's front-end parameters and buffers, in visiting order.
fn front_end(params: &mut Vec<(String, Vec<usize>)>, buffers: &mut Vec<(String, Vec<usize>)>) {
    for (conv, c_out, c_in, k) in [
        ("conv1", 32, 1, 5),
        ("conv2", 64, 32, 5),
        ("conv3", 128, 64, 3),
    ] {
        params.push((format!("{conv}.weight"), vec![c_out, c_in, k]));
        params.push((format!("{conv}.bias"), vec![c_out]));
        let bn = conv.replace("conv", "bn");
        params.push((format!("{bn}.weight"), vec![c_out]));
        params.push((format!("{bn}.bias"), vec![c_out]));
        buffers.push((format!("{bn}.running_mean"), vec![c_out]));
        buffers.push((format!("{bn}.running_var"), vec![c_out]));
        buffers.push((format!("{bn}.num_batches_tracked"), vec![]));
    }
}

fn shapes(m: &mut dyn Module) -> Vec<(String, Vec<usize>)> {
    module::named_shapes(m)
        .into_iter()
        .map(|(n, s)| (n, s.dims().to_vec()))
        .collect()
}

fn lstm_names(want: &mut Vec<(String, Vec<usize>)>, f: usize, h: usize, suffix: &str) {
    want.push((format!("lstm.weight_ih_l0{suffix}"), vec![4 * h, f]));
    want.push((format!("lstm.weight_hh_l0{suffix}"), vec![4 * h, h]));
    want.push((format!("lstm.bias_ih_l0{suffix}"), vec![4 * h]));
    want.push((format!("lstm.bias_hh_l0{suffix}"), vec![4 * h]));
}

// ---------------------------------------------------------------- CnnLstm

#[test]
fn cnn_lstm_state_dict_names_and_shapes_as_pytorch() {
    let mut m = CnnLstm::new(0, 5).unwrap();
    let (mut want, mut buffers) = (Vec::new(), Vec::new());
    front_end(&mut want, &mut buffers);
    lstm_names(&mut want, 128, 64, "");
    want.push(("fc.weight".into(), vec![5, 64]));
    want.push(("fc.bias".into(), vec![5]));
    want.extend(buffers);
    assert_eq!(shapes(&mut m), want);
    assert_eq!(module::count_params(&mut m).total, 85_637);

    let s = module::summary(&mut m, Shape::d3(2, 1, 187)).unwrap();
    for row in [
        "lstm (LSTM(128 → 64",
        "[2, 46, 64]",
        "fc (Linear(64 → 5)",
        "[2, 5]",
    ] {
        assert!(s.contains(row), "{row} missing from\n{s}");
    }
    let mut tape = Tape::no_grad();
    let bad = tape.input(Tensor::zeros(Shape::d3(2, 2, 187)));
    let e = m.forward(&mut tape, &bad).unwrap_err().to_string();
    assert!(e.contains("[2, 2, 187]"), "{e}");
    assert!(CnnLstm::new(0, 0).is_err());
}

#[test]
fn cnn_lstm_forward_is_features_then_the_last_hidden_state_then_fc() {
    // The same pipeline by hand, with the *composed* reference LSTM: equal logits means the
    // net takes h_n (not another step), and the fused path agrees inside a whole network.
    let (x, _) = synthetic_beats(187, 1);
    let m = CnnLstm::new(3, 5).unwrap();
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let got = m.forward(&mut tape, &xv).unwrap();
    let f = m.features.forward(&mut tape, &xv).unwrap();
    let seq = ops::ncl_to_ntf(&mut tape, &f).unwrap();
    let out = m.lstm.forward_reference(&mut tape, &seq).unwrap();
    let want = m.fc.forward(&mut tape, &out.h_n[0]).unwrap();
    assert_eq!(got.shape(), Shape::d2(8, 5));
    for (a, b) in got.value().data().iter().zip(want.value().data()) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn cnn_lstm_overfits_8_beats() {
    let (x, y) = synthetic_beats(187, 2);
    let mut m = CnnLstm::new(7, 5).unwrap();
    let (first, last, steps) = overfit(&mut m, &x, &y, 0.02, 400);
    println!("CnnLstm: loss {first} → {last} in {steps} steps");
    assert!(last < 0.02, "loss {first} → {last} after {steps} steps");
    settle_running_stats(&m, &x, 60);
    assert_eq!(argmax_rows(&eval_logits(&mut m, &x)), y);
    // Grad-CAM at conv3 by its PyTorch name, through the LSTM.
    m.set_training(false);
    let cam = gradcam::grad_cam(&m, &x, "conv3", 1).unwrap();
    assert_eq!(cam.shape(), Shape::d2(8, 187));
}

#[test]
fn cnn_lstm_checkpoint_round_trip_is_bit_identical() {
    let (x, y) = synthetic_beats(187, 3);
    let mut m = CnnLstm::new(11, 5).unwrap();
    overfit(&mut m, &x, &y, 0.0, 5);
    let dir = std::env::temp_dir().join(format!("ecgrad-cnn-lstm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cnn_lstm.safetensors");
    checkpoint::save(&mut m, &path).unwrap();
    let mut m2 = CnnLstm::new(12, 5).unwrap();
    assert_ne!(eval_logits(&mut m, &x), eval_logits(&mut m2, &x));
    checkpoint::load(&mut m2, &path).unwrap();
    assert_eq!(eval_logits(&mut m, &x), eval_logits(&mut m2, &x));
    let e = checkpoint::load(&mut CnnLstm::new(0, 3).unwrap(), &path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("fc.weight"), "{e}");
    // A CNN-LSTM checkpoint is not a CNN-LSTM-attention one: the missing tensor is named.
    let e = checkpoint::load(
        &mut CnnLstmAttention::new(0, CnnLstmAttentionConfig::default()).unwrap(),
        &path,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("attention."), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- CnnLstmAttention

#[test]
fn cnn_lstm_attention_names_and_shapes() {
    for bidirectional in [false, true] {
        let config = CnnLstmAttentionConfig {
            bidirectional,
            attention_dim: 32,
            ..CnnLstmAttentionConfig::default()
        };
        let mut m = CnnLstmAttention::new(0, config).unwrap();
        let (mut want, mut buffers) = (Vec::new(), Vec::new());
        front_end(&mut want, &mut buffers);
        lstm_names(&mut want, 128, 64, "");
        if bidirectional {
            lstm_names(&mut want, 128, 64, "_reverse");
        }
        let width = if bidirectional { 128 } else { 64 };
        want.push(("attention.weight".into(), vec![32, width]));
        want.push(("attention.bias".into(), vec![32]));
        want.push(("attention.context".into(), vec![32]));
        want.push(("fc.weight".into(), vec![5, width]));
        want.push(("fc.bias".into(), vec![5]));
        want.extend(buffers);
        assert_eq!(shapes(&mut m), want, "bidirectional {bidirectional}");
        let s = module::summary(&mut m, Shape::d3(2, 1, 187)).unwrap();
        assert!(s.contains("attention (TemporalAttention"), "{s}");
        assert!(s.contains(&format!("[2, 46, {width}]")), "{s}");
    }
    let zero = CnnLstmAttentionConfig {
        hidden: 0,
        ..CnnLstmAttentionConfig::default()
    };
    assert!(CnnLstmAttention::new(0, zero).is_err());
}

#[test]
fn cnn_lstm_attention_overfits_8_beats_both_directions() {
    for bidirectional in [false, true] {
        let (x, y) = synthetic_beats(187, 4);
        let config = CnnLstmAttentionConfig {
            bidirectional,
            ..CnnLstmAttentionConfig::default()
        };
        let mut m = CnnLstmAttention::new(8, config).unwrap();
        let (first, last, steps) = overfit(&mut m, &x, &y, 0.02, 400);
        println!("CnnLstmAttention (bi {bidirectional}): loss {first} → {last} in {steps} steps");
        assert!(
            last < 0.02,
            "bi {bidirectional}: loss {first} → {last} after {steps}"
        );
        settle_running_stats(&m, &x, 60);
        assert_eq!(argmax_rows(&eval_logits(&mut m, &x)), y);
        // The attention weights: one distribution over the 46 steps per beat.
        m.set_training(false);
        let mut tape = Tape::no_grad();
        let xv = tape.input(x.clone());
        let (logits, alpha) = m.forward_with_attention(&mut tape, &xv).unwrap();
        assert_eq!(logits.value(), &eval_logits(&mut m, &x));
        assert_eq!(alpha.shape(), Shape::d2(8, 46));
        for row in alpha.data().chunks(46) {
            assert!(row.iter().all(|&a| a > 0.0));
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }
}

#[test]
fn cnn_lstm_attention_checkpoint_round_trip_is_bit_identical() {
    let (x, y) = synthetic_beats(187, 5);
    let config = CnnLstmAttentionConfig {
        bidirectional: true,
        ..CnnLstmAttentionConfig::default()
    };
    let mut m = CnnLstmAttention::new(13, config).unwrap();
    overfit(&mut m, &x, &y, 0.0, 5);
    let dir = std::env::temp_dir().join(format!("ecgrad-cnn-lstm-att-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cnn_lstm_attention.safetensors");
    checkpoint::save(&mut m, &path).unwrap();
    let mut m2 = CnnLstmAttention::new(14, config).unwrap();
    assert_ne!(eval_logits(&mut m, &x), eval_logits(&mut m2, &x));
    checkpoint::load(&mut m2, &path).unwrap();
    assert_eq!(eval_logits(&mut m, &x), eval_logits(&mut m2, &x));
    // The unidirectional net lacks nothing but has the wrong attention width: named error.
    let e = checkpoint::load(
        &mut CnnLstmAttention::new(0, CnnLstmAttentionConfig::default()).unwrap(),
        &path,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("attention.weight") || e.contains("fc.weight"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
