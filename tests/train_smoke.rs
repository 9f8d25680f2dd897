//! Proof that it trains (autograd issue, item 7): the two-conv network of `two_conv.rs` reaches
//! ≥ 95 % training accuracy with every optimizer, and the same seed gives a bit-identical loss
//! curve at 1 and 2 threads.

#![forbid(unsafe_code)]

#[path = "two_conv.rs"]
mod two_conv;

use ecgrad_autograd::Optimizer;
use ecgrad_autograd::optim::{
    Adadelta, AdadeltaConfig, Adagrad, AdagradConfig, Adam, AdamConfig, RmsProp, RmsPropConfig,
    Sgd, SgdConfig,
};
use ecgrad_engine::parallel::with_threads;

/// Every optimizer with a learning rate suited to this problem (the rest are PyTorch defaults).
fn optimizers() -> Vec<(&'static str, Box<dyn Optimizer<f32>>)> {
    vec![
        (
            "sgd+momentum",
            Box::new(
                Sgd::new(SgdConfig {
                    momentum: 0.9,
                    ..SgdConfig::new(0.05)
                })
                .expect("valid config"),
            ),
        ),
        (
            "adam",
            Box::new(
                Adam::new(AdamConfig {
                    lr: 0.01,
                    ..AdamConfig::adam()
                })
                .expect("valid config"),
            ),
        ),
        (
            "adamw",
            Box::new(
                Adam::new(AdamConfig {
                    lr: 0.01,
                    ..AdamConfig::adamw()
                })
                .expect("valid config"),
            ),
        ),
        (
            "adagrad",
            Box::new(
                Adagrad::new(AdagradConfig {
                    lr: 0.05,
                    ..Default::default()
                })
                .expect("valid config"),
            ),
        ),
        (
            "adadelta",
            Box::new(Adadelta::new(AdadeltaConfig::default()).expect("valid config")),
        ),
        (
            "rmsprop",
            Box::new(
                RmsProp::new(RmsPropConfig {
                    lr: 0.003,
                    ..RmsPropConfig::default()
                })
                .expect("valid config"),
            ),
        ),
    ]
}

/// Trains for `steps` full-batch steps; returns the loss curve and the final training accuracy.
fn train(name: &str, opt: &mut dyn Optimizer<f32>, steps: usize) -> (Vec<f32>, f64) {
    let (x, y) = two_conv::dataset(11);
    let mut store = two_conv::init(11);
    let mut losses = Vec::with_capacity(steps);
    let mut acc = 0.0;
    for _ in 0..steps {
        let (loss, a, _) = two_conv::step(&mut store, opt, &x, &y)
            .unwrap_or_else(|e| panic!("{name}: training step failed: {e}"));
        losses.push(loss);
        acc = a;
    }
    (losses, acc)
}

#[test]
fn two_conv_net_reaches_95_percent_with_every_optimizer() {
    for (name, mut opt) in optimizers() {
        let (losses, acc) = train(name, opt.as_mut(), 200);
        let (first, last) = (losses[0], losses[losses.len() - 1]);
        println!("{name}: loss {first:.4} → {last:.4}, training accuracy {acc:.3}");
        assert!(
            acc >= 0.95,
            "{name}: training accuracy {acc} < 0.95 (loss {first} → {last})"
        );
        assert!(
            last < first,
            "{name}: loss did not decrease ({first} → {last})"
        );
    }
}

#[test]
fn loss_curve_is_bit_identical_at_1_and_2_threads() {
    for (name, _) in optimizers() {
        let curve = |threads| {
            with_threads(threads, || {
                let mut opt = optimizers()
                    .into_iter()
                    .find(|(n, _)| *n == name)
                    .expect("same list")
                    .1;
                train(name, opt.as_mut(), 30).0
            })
        };
        let (one, two) = (curve(1), curve(2));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one), bits(&two), "{name}: loss curves differ");
    }
}
