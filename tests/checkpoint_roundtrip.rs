//! Every network survives a safetensors round trip bit for bit, and a checkpoint that does not
//! fit is refused with the name of the offending tensor.
//!
//! For each network of `models::nets`: train it for two Adam steps (so weights and batch-norm
//! running statistics differ from their initial values), save it, load the file into a network
//! built with a *different* seed, and compare the evaluation-mode outputs bit for bit. Then
//! corrupt the file's content in two ways — a tensor with a wrong shape, a missing tensor — and
//! check that loading fails with an error naming that tensor and leaves the model usable.

#![forbid(unsafe_code)]

use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::optim::{Adam, AdamConfig};
use ecgrad_autograd::{Optimizer, Tape, ops};
use ecgrad_models::nets::{
    Acdae, AcdaeConfig, AeConfig, BeatCnn, Cnn2d, Cnn2dConfig, CnnLstm, CnnLstmAttention,
    CnnLstmAttentionConfig, ConvAutoencoder, ResNet1d, ResNet1dConfig, SeparableBeatCnn,
};
use ecgrad_models::{Module, checkpoint};

/// A fresh temporary directory for one test.
fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ecgrad-ckpt-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Two Adam steps on the loss mean(y²), so every parameter and running statistic moves.
fn train_two_steps(model: &mut dyn Module, x: &Tensor<f32>) {
    let mut opt = Adam::new(AdamConfig {
        lr: 1e-2,
        ..AdamConfig::adam()
    })
    .expect("valid Adam");
    for _ in 0..2 {
        model.zero_grad();
        let mut tape = Tape::new();
        let xv = tape.input(x.clone());
        let y = model.forward(&mut tape, &xv).expect("forward");
        let sq = ops::mul(&mut tape, &y, &y).expect("mul");
        let loss = ops::mean(&mut tape, &sq).expect("mean");
        let grads = tape.backward(&loss).expect("backward");
        grads.accumulate_into(model).expect("accumulate");
        opt.step(model).expect("step");
    }
}

/// Evaluation-mode output bits.
fn eval_bits(model: &mut dyn Module, x: &Tensor<f32>) -> Vec<u32> {
    model.set_training(false);
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let y = model.forward(&mut tape, &xv).expect("forward");
    model.set_training(true);
    y.value().data().iter().map(|v| v.to_bits()).collect()
}

/// Every stored tensor (parameters and buffers) by name, in file order.
fn stored(path: &std::path::Path) -> Vec<(String, Tensor<f32>)> {
    checkpoint::read_tensors(path)
        .expect("readable checkpoint")
        .into_iter()
        .map(|t| (t.name, t.value))
        .collect()
}

/// The round trip and the two refusals for one network; `make(seed)` builds it.
fn check(net: &str, make: &dyn Fn(u64) -> Box<dyn Module>, input: Shape) {
    let dir = temp_dir(net);
    let path = dir.join("model.safetensors");
    let mut rng = Rng::new(5);
    let x = Tensor::from_vec(input, rng.vec_f32(input.numel())).expect("shape");

    let mut trained = make(1);
    train_two_steps(trained.as_mut(), &x);
    checkpoint::save(trained.as_mut(), &path).expect("save");
    let mut loaded = make(2);
    assert_ne!(
        eval_bits(loaded.as_mut(), &x),
        eval_bits(trained.as_mut(), &x),
        "{net}: two seeds gave the same network, the round trip would prove nothing"
    );
    checkpoint::load(loaded.as_mut(), &path).expect("load");
    assert_eq!(
        eval_bits(loaded.as_mut(), &x),
        eval_bits(trained.as_mut(), &x),
        "{net}: outputs differ after the round trip"
    );

    // A wrong shape: the first tensor gets one extra element along its last axis.
    let tensors = stored(&path);
    let (victim, t) = &tensors[0];
    let dims = t.shape().dims().to_vec();
    let mut grown = dims.clone();
    *grown.last_mut().expect("rank ≥ 1") += 1;
    let bad = Tensor::from_vec(
        Shape::new(&grown).expect("rank ≤ 4"),
        vec![0.0; grown.iter().product()],
    )
    .expect("shape");
    let mut wrong = tensors.clone();
    wrong[0].1 = bad;
    let wrong_path = dir.join("wrong_shape.safetensors");
    checkpoint::save_tensors(&wrong, &wrong_path).expect("save");
    let err = checkpoint::load(loaded.as_mut(), &wrong_path)
        .expect_err("a wrong shape must be refused")
        .to_string();
    assert!(
        err.contains(victim.as_str()),
        "{net}: error {err:?} does not name {victim}"
    );

    // A missing tensor: the last one is dropped.
    let mut missing = tensors.clone();
    let (gone, _) = missing.pop().expect("at least one tensor");
    let missing_path = dir.join("missing.safetensors");
    checkpoint::save_tensors(&missing, &missing_path).expect("save");
    let err = checkpoint::load(loaded.as_mut(), &missing_path)
        .expect_err("a missing tensor must be refused")
        .to_string();
    assert!(
        err.contains(gone.as_str()),
        "{net}: error {err:?} does not name {gone}"
    );

    // The refused loads left the loaded model as it was.
    assert_eq!(
        eval_bits(loaded.as_mut(), &x),
        eval_bits(trained.as_mut(), &x),
        "{net}: a refused load changed the model"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn beat_cnn() {
    check(
        "BeatCnn",
        &|seed| Box::new(BeatCnn::new(seed, 5).expect("valid")),
        Shape::d3(4, 1, 187),
    );
}

#[test]
fn resnet1d() {
    check(
        "ResNet1d",
        &|seed| Box::new(ResNet1d::new(seed, ResNet1dConfig::aami()).expect("valid")),
        Shape::d3(3, 1, 187),
    );
}

#[test]
fn cnn2d() {
    check(
        "Cnn2d",
        &|seed| Box::new(Cnn2d::new(seed, &Cnn2dConfig::seed000(4)).expect("valid")),
        Shape::d4(2, 1, 16, 20),
    );
}

#[test]
fn conv_autoencoder() {
    check(
        "ConvAutoencoder",
        &|seed| {
            Box::new(ConvAutoencoder::new(AeConfig::table512(), &mut Rng::new(seed)).expect("ok"))
        },
        Shape::d3(2, 1, 512),
    );
}

#[test]
fn acdae() {
    check(
        "Acdae",
        &|seed| Box::new(Acdae::new(AcdaeConfig::default(), &mut Rng::new(seed)).expect("ok")),
        Shape::d3(2, 2, 256),
    );
}

#[test]
fn cnn_lstm() {
    check(
        "CnnLstm",
        &|seed| Box::new(CnnLstm::new(seed, 5).expect("valid")),
        Shape::d3(3, 1, 187),
    );
}

#[test]
fn cnn_lstm_attention() {
    check(
        "CnnLstmAttention",
        &|seed| {
            Box::new(CnnLstmAttention::new(seed, CnnLstmAttentionConfig::default()).expect("valid"))
        },
        Shape::d3(3, 1, 187),
    );
}

#[test]
fn separable_beat_cnn() {
    check(
        "SeparableBeatCnn",
        &|seed| Box::new(SeparableBeatCnn::new(seed, 5).expect("valid")),
        Shape::d3(3, 1, 187),
    );
}
