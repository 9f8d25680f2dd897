//! The training loop on a tiny MLP: it learns, stops early, keeps the best weights, and names
//! epoch, step and learning rate when the loss goes non-finite.

use super::classifier::{ClassLoss, ClassMetric, ClassifierOptions, fit_classifier};
use super::*;
use crate::data::batch::WindowDataset;
use ecgrad_engine::{Rng, Shape};
use ecgrad_models::autograd::optim::{Sgd, SgdConfig};
use ecgrad_models::layers::{Flatten, Linear, Relu, Sequential};

/// Two Gaussian blobs in 4-D (one channel × length 4), classes 0 and 1, well separated.
fn blobs(n: usize, seed: u64) -> WindowDataset {
    let mut rng = Rng::new(seed);
    let mut samples = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let c = i % 2;
        let centre = if c == 0 { -1.0 } else { 1.0 };
        for _ in 0..4 {
            samples.push((centre + 0.5 * rng.normal()) as f32);
        }
        labels.push(c);
    }
    WindowDataset {
        samples,
        labels,
        groups: (0..n).collect(),
        channels: 1,
        length: 4,
        class_names: vec!["a".into(), "b".into()],
        source: "blobs".into(),
    }
}

fn mlp(seed: u64) -> Sequential {
    let mut rng = Rng::stream(seed, "init");
    Sequential::new()
        .with_named("flat", Flatten)
        .and_then(|s| s.with_named("fc1", Linear::new(4, 8, true, &mut rng)?))
        .and_then(|s| s.with_named("act", Relu))
        .and_then(|s| s.with_named("fc2", Linear::new(8, 2, true, &mut rng)?))
        .expect("mlp")
}

#[test]
fn fit_classifier_learns_blobs_and_records_history() {
    let (train, val) = (blobs(200, 1), blobs(100, 2));
    let mut model = mlp(3);
    let mut opt = Sgd::new(SgdConfig::new(0.1)).unwrap();
    let mut config = TrainConfig::new(5, "", Goal::Maximize);
    config.quiet = true;
    let options = ClassifierOptions::new(16, ClassLoss::CrossEntropy, ClassMetric::Accuracy);
    let h = fit_classifier(&mut model, &mut opt, &train, &val, &mut config, &options, 7).unwrap();
    assert_eq!(h.epochs.len(), 5);
    assert_eq!(h.monitor, "accuracy");
    let best = h.best_metric.unwrap();
    assert!(best > 0.9, "validation accuracy {best}");
    assert!(h.epochs[4].train_loss < h.epochs[0].train_loss);
    assert!(h.epochs.iter().all(|e| e.lr == 0.1 && e.seconds >= 0.0));
    // The curves figure has both panels and renders (when a font is installed).
    let fig = h.plot("blobs");
    assert_eq!(fig.panels.len(), 2);
    if crate::plot::ensure_font().is_ok() {
        let dir = std::env::temp_dir().join(format!("ecgrad-train-plot-{}", std::process::id()));
        let files = crate::plot::save(&fig, &dir, "curves").unwrap();
        assert!(std::fs::metadata(&files.png).unwrap().len() > 1000);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // The JSON form names the fields.
    let json = serde_json::to_string(&h).unwrap();
    assert!(json.contains("\"train_loss\"") && json.contains("\"best_epoch\""));
    // The same seed gives the same history (losses) again.
    let mut model2 = mlp(3);
    let mut opt2 = Sgd::new(SgdConfig::new(0.1)).unwrap();
    let h2 = fit_classifier(
        &mut model2,
        &mut opt2,
        &train,
        &val,
        &mut config,
        &options,
        7,
    )
    .unwrap();
    assert_eq!(h.train_losses(), h2.train_losses());
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    let train = blobs(64, 4);
    let mut model = mlp(5);
    let mut opt = Sgd::new(SgdConfig::new(0.05)).unwrap();
    let mut config = TrainConfig::new(20, "scripted", Goal::Maximize);
    config.patience = Some(2);
    config.quiet = true;
    // A scripted metric that peaks at epoch 3; remember the weights seen there.
    let script = [0.1, 0.5, 0.9, 0.8, 0.7, 0.6, 0.5];
    let mut epoch = 0;
    let mut at_best: Option<Snapshot> = None;
    let source = Windows::shuffled(&train, 16, 1);
    let h = fit(
        &mut model,
        &mut opt,
        &source,
        &mut config,
        |m, tape, b| {
            let x = tape.input(b.x.clone());
            let z = m.forward(tape, &x)?;
            ClassLoss::CrossEntropy.apply(tape, &z, &b.y)
        },
        |m| {
            epoch += 1;
            if epoch == 3 {
                at_best = Some(snapshot(m));
            }
            Ok(Some(Evaluation {
                loss: None,
                metric: script[epoch - 1],
            }))
        },
    )
    .unwrap();
    // Best at 3, then 2 epochs without improvement → stop after epoch 5.
    assert_eq!(h.best_epoch, Some(3));
    assert_eq!(h.epochs.len(), 5);
    assert!(h.stopped_early);
    let improved: Vec<bool> = h.epochs.iter().map(|e| e.improved).collect();
    assert_eq!(improved, [true, true, true, false, false]);
    // The model holds epoch 3's weights, not epoch 5's.
    let now = snapshot(&mut model);
    let then = at_best.unwrap();
    for (name, t) in &then.params {
        assert_eq!(t.data(), now.params[name].data(), "{name}");
    }
}

#[test]
fn non_finite_loss_names_epoch_step_and_lr() {
    let train = blobs(32, 6);
    let mut model = mlp(7);
    let mut opt = Sgd::new(SgdConfig::new(0.25)).unwrap();
    let mut config = TrainConfig::new(3, "none", Goal::Minimize);
    config.quiet = true;
    let source = Windows::shuffled(&train, 8, 1);
    let mut calls = 0;
    let err = fit(
        &mut model,
        &mut opt,
        &source,
        &mut config,
        |m, tape, b| {
            calls += 1;
            // Poison the input of the 6th batch (epoch 2, step 2: 4 batches per epoch).
            let mut x = b.x.clone();
            if calls == 6 {
                x.data_mut()[0] = f32::NAN;
            }
            let x = tape.input(x);
            let z = m.forward(tape, &x)?;
            ClassLoss::CrossEntropy.apply(tape, &z, &b.y)
        },
        |_| Ok(None),
    )
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("epoch 2") && msg.contains("step 2") && msg.contains("2.5e-1"),
        "{msg}"
    );
    // The loss op itself may refuse NaN logits (autograd names it), or the loop sees a NaN
    // value; either way the context names the place. A loss that *returns* NaN is caught by
    // the loop as TrainError::NonFiniteLoss:
    let mut config = TrainConfig::new(2, "none", Goal::Minimize);
    config.quiet = true;
    let mut calls = 0;
    let err = fit(
        &mut model,
        &mut opt,
        &source,
        &mut config,
        |_, _, _| {
            calls += 1;
            let v = if calls == 3 { f32::INFINITY } else { 1.0 };
            Ok(Var::constant(Tensor::from_vec(Shape::d1(1), vec![v])?))
        },
        |_| Ok(None),
    )
    .unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<TrainError>(),
            Some(TrainError::NonFiniteLoss {
                epoch: 1,
                step: 3,
                ..
            })
        ),
        "{err:#}"
    );
    assert!(format!("{err}").contains("learning rate 2.5e-1"), "{err}");
}

#[test]
fn pairs_source_yields_matching_targets_and_predict_stacks_rows() {
    let inputs = blobs(10, 8);
    let mut targets = inputs.clone();
    targets.samples.iter_mut().for_each(|v| *v *= 2.0);
    let src = Pairs {
        inputs: &inputs,
        targets: &targets,
        options: crate::data::batch::BatchOptions {
            batch_size: 4,
            shuffle: true,
            balanced: false,
            drop_last: false,
        },
        seed: 3,
    };
    assert_eq!(src.batches_per_epoch(), 3);
    let batches: Vec<PairBatch> = src.epoch(0).unwrap().map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 3);
    for b in &batches {
        for (x, t) in b.x.data().iter().zip(b.target.data()) {
            assert_eq!(2.0 * x, *t);
        }
    }
    let mut model = mlp(9);
    let logits = predict(&mut model, &inputs, 3).unwrap();
    assert_eq!(logits.shape(), Shape::d2(10, 2));
}
