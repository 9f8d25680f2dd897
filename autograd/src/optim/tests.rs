//! Hand-computed optimizer steps. Each test sets gradients directly (no tape), so the numbers
//! follow from the update rule alone; the arithmetic is written in the comments. Tolerances are
//! a few f64 ulps of the values involved.

use ecgrad_engine::{Shape, Tensor};

use super::*;
use crate::param::ParamStore;

fn store(values: &[(&str, f64)]) -> ParamStore<f64> {
    let mut s = ParamStore::new();
    for (name, v) in values {
        s.add_param(name, Tensor::scalar(*v)).unwrap();
    }
    s
}

fn set_grad(s: &mut ParamStore<f64>, name: &str, g: f64) {
    s.get_mut(name).unwrap().grad = Some(Tensor::scalar(g));
}

fn value(s: &ParamStore<f64>, name: &str) -> f64 {
    s.get(name).unwrap().value.data()[0]
}

/// Runs the optimizer on one scalar parameter θ₀ = `theta0` with the given gradients and
/// returns θ after each step.
fn run(opt: &mut dyn Optimizer<f64>, theta0: f64, grads: &[f64]) -> Vec<f64> {
    let mut s = store(&[("w", theta0)]);
    grads
        .iter()
        .map(|&g| {
            set_grad(&mut s, "w", g);
            opt.step(&mut s).unwrap();
            value(&s, "w")
        })
        .collect()
}

#[track_caller]
fn close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-14 * w.abs().max(1.0),
            "step {}: got {g:.17}, want {w:.17}",
            i + 1
        );
    }
}

#[test]
fn sgd_plain_with_weight_decay() {
    // lr 0.1, wd 0.5, θ = 2. Step 1, ∇ = 1: g = 1 + 0.5·2 = 2, θ = 2 − 0.1·2 = 1.8.
    // Step 2, ∇ = 1: g = 1 + 0.5·1.8 = 1.9, θ = 1.8 − 0.19 = 1.61.
    let mut o = Sgd::new(SgdConfig {
        weight_decay: 0.5,
        ..SgdConfig::new(0.1)
    })
    .unwrap();
    close(&run(&mut o, 2.0, &[1.0, 1.0]), &[1.8, 1.61]);
}

#[test]
fn sgd_momentum_with_dampening() {
    // lr 0.1, μ 0.9, τ 0.1, θ = 1.
    // Step 1, ∇ = 1: b = g = 1 (no dampening on the first step), θ = 1 − 0.1 = 0.9.
    // Step 2, ∇ = 2: b = 0.9·1 + 0.9·2 = 2.7, θ = 0.9 − 0.27 = 0.63.
    // Step 3, ∇ = 0: b = 0.9·2.7 = 2.43, θ = 0.63 − 0.243 = 0.387.
    let mut o = Sgd::new(SgdConfig {
        momentum: 0.9,
        dampening: 0.1,
        ..SgdConfig::new(0.1)
    })
    .unwrap();
    close(&run(&mut o, 1.0, &[1.0, 2.0, 0.0]), &[0.9, 0.63, 0.387]);
}

#[test]
fn sgd_nesterov() {
    // lr 0.1, μ 0.9, θ = 1. Step 1, ∇ = 1: b = 1, g = 1 + 0.9·1 = 1.9, θ = 1 − 0.19 = 0.81.
    // Step 2, ∇ = 2: b = 0.9·1 + 2 = 2.9, g = 2 + 0.9·2.9 = 4.61, θ = 0.81 − 0.461 = 0.349.
    let mut o = Sgd::new(SgdConfig {
        momentum: 0.9,
        nesterov: true,
        ..SgdConfig::new(0.1)
    })
    .unwrap();
    close(&run(&mut o, 1.0, &[1.0, 2.0]), &[0.81, 0.349]);
    assert!(
        Sgd::<f64>::new(SgdConfig {
            nesterov: true,
            ..SgdConfig::new(0.1)
        })
        .is_err()
    );
}

#[test]
fn adam_two_steps() {
    // lr 0.1, β (0.9, 0.999), ε 1e-8, θ = 1.
    // Step 1, g = 2: m = 0.1·2 = 0.2, v = 0.001·4 = 0.004; 1 − β₁ = 0.1, 1 − β₂ = 0.001;
    //   θ = 1 − (0.1/0.1)·0.2/(√0.004/√0.001 + 1e-8) = 1 − 0.2/(2 + 1e-8).
    // Step 2, g = −1: m = 0.9·0.2 − 0.1 = 0.08, v = 0.999·0.004 + 0.001·1 = 0.004996;
    //   1 − β₁² = 0.19, 1 − β₂² = 0.001999; θ −= (0.1/0.19)·0.08/(√0.004996/√0.001999 + 1e-8).
    let mut o = Adam::new(AdamConfig {
        lr: 0.1,
        ..AdamConfig::adam()
    })
    .unwrap();
    let t1 = 1.0 - 0.2 / (2.0 + 1e-8);
    let t2 = t1 - (0.1 / 0.19) * 0.08 / ((0.004996f64).sqrt() / (0.001999f64).sqrt() + 1e-8);
    let got = run(&mut o, 1.0, &[2.0, -1.0]);
    // 0.19 and 0.001999 are 1 − 0.9² and 1 − 0.999², whose f64 evaluation differs in the last
    // bits from the decimal literals, hence a slightly looser tolerance here.
    assert!(
        (got[0] - t1).abs() < 1e-15 && (got[1] - t2).abs() < 1e-12,
        "{got:?} vs {t1}, {t2}"
    );
}

#[test]
fn adam_coupled_weight_decay_and_amsgrad() {
    // Adam wd 0.5, lr 0.1, θ = 1, ∇ = 1: g = 1 + 0.5 = 1.5, m = 0.15, v = 0.001·2.25;
    //   m̂ = 1.5, √v̂ = 1.5 → θ = 1 − 0.1·1.5/(1.5 + 1e-8).
    let mut o = Adam::new(AdamConfig {
        lr: 0.1,
        weight_decay: 0.5,
        ..AdamConfig::adam()
    })
    .unwrap();
    close(&run(&mut o, 1.0, &[1.0]), &[1.0 - 0.1 * 1.5 / (1.5 + 1e-8)]);
    // amsgrad, lr 0.1, θ = 1, g = 2 then 0: v₁ = 0.004, v₂ = 0.999·0.004 = 0.003996 < v₁, so
    // step 2 uses v_max = 0.004: θ₂ = θ₁ − (0.1/0.19)·0.18/(√0.004/√0.001999 + 1e-8)
    // (m₂ = 0.9·0.2 = 0.18); without amsgrad it would use √0.003996.
    let t1 = 1.0 - 0.2 / (2.0 + 1e-8);
    let ams = |v: f64| t1 - (0.1 / 0.19) * 0.18 / (v.sqrt() / (0.001999f64).sqrt() + 1e-8);
    let mut o = Adam::new(AdamConfig {
        lr: 0.1,
        amsgrad: true,
        ..AdamConfig::adam()
    })
    .unwrap();
    let got = run(&mut o, 1.0, &[2.0, 0.0]);
    assert!(
        (got[1] - ams(0.004)).abs() < 1e-12,
        "{} vs {}",
        got[1],
        ams(0.004)
    );
    let mut o = Adam::new(AdamConfig {
        lr: 0.1,
        ..AdamConfig::adam()
    })
    .unwrap();
    let got = run(&mut o, 1.0, &[2.0, 0.0]);
    assert!((got[1] - ams(0.003996)).abs() < 1e-12);
}

#[test]
fn adamw_decoupled_decay() {
    // lr 0.1, wd 0.01, θ = 1, g = 2: θ ← 1·(1 − 0.1·0.01) = 0.999, then the Adam step with the
    // raw gradient: θ = 0.999 − 0.2/(2 + 1e-8).
    let mut o = Adam::new(AdamConfig {
        lr: 0.1,
        ..AdamConfig::adamw()
    })
    .unwrap();
    close(&run(&mut o, 1.0, &[2.0]), &[0.999 - 0.2 / (2.0 + 1e-8)]);
    assert_eq!(AdamConfig::adamw().weight_decay, 1e-2);
    assert_eq!(AdamConfig::adam().eps, 1e-8);
}

#[test]
fn adagrad_with_lr_decay_and_initial_accumulator() {
    // lr 0.1, lr_decay 0.5, S₀ = 0.1, ε 1e-10, θ = 1.
    // Step 1, g = 2: lr₁ = 0.1/(1 + 0) = 0.1, S = 0.1 + 4 = 4.1, θ = 1 − 0.1·2/(√4.1 + 1e-10).
    // Step 2, g = 1: lr₂ = 0.1/(1 + 0.5) , S = 5.1, θ −= (0.1/1.5)·1/(√5.1 + 1e-10).
    let cfg = AdagradConfig {
        lr: 0.1,
        lr_decay: 0.5,
        initial_accumulator_value: 0.1,
        ..Default::default()
    };
    let mut o = Adagrad::new(cfg).unwrap();
    let t1 = 1.0 - 0.2 / (4.1f64.sqrt() + 1e-10);
    let t2 = t1 - (0.1 / 1.5) / (5.1f64.sqrt() + 1e-10);
    close(&run(&mut o, 1.0, &[2.0, 1.0]), &[t1, t2]);
    assert_eq!(AdagradConfig::default().lr, 0.01);
    assert_eq!(AdagradConfig::default().eps, 1e-10);
}

#[test]
fn adadelta_default_and_seed004_settings() {
    // Defaults lr 1, ρ 0.9, ε 1e-6, θ = 1, g = 2: E[g²] = 0.1·4 = 0.4,
    // Δ = √(0 + 1e-6)/√(0.4 + 1e-6)·2 = 1e-3·2/√0.400001, θ = 1 − Δ.
    let mut o = Adadelta::new(AdadeltaConfig::default()).unwrap();
    close(
        &run(&mut o, 1.0, &[2.0]),
        &[1.0 - 2e-3 / 0.400001f64.sqrt()],
    );
    // seed-004: lr 0.1, ρ 0.01. Step 1, g = 2: E[g²] = 0.99·4 = 3.96, Δ₁ = 1e-3·2/√3.960001,
    // E[Δ²] = 0.99·Δ₁², θ₁ = 1 − 0.1·Δ₁. Step 2, g = 1: E[g²] = 0.01·3.96 + 0.99 = 1.0296,
    // Δ₂ = √(0.99·Δ₁² + 1e-6)/√(1.0296 + 1e-6), θ₂ = θ₁ − 0.1·Δ₂.
    let mut o = Adadelta::new(AdadeltaConfig {
        lr: 0.1,
        rho: 0.01,
        ..Default::default()
    })
    .unwrap();
    let d1 = 2e-3 / 3.960001f64.sqrt();
    let d2 = (0.99 * d1 * d1 + 1e-6).sqrt() / 1.029601f64.sqrt();
    let got = run(&mut o, 1.0, &[2.0, 1.0]);
    assert!((got[0] - (1.0 - 0.1 * d1)).abs() < 1e-15);
    assert!(
        (got[1] - (1.0 - 0.1 * d1 - 0.1 * d2)).abs() < 1e-13,
        "{got:?}"
    );
}

#[test]
fn rmsprop_plain_centered_and_momentum() {
    // Plain: lr 0.01, α 0.99, ε 1e-8, θ = 1, g = 2: v = 0.01·4 = 0.04, θ = 1 − 0.01·2/(0.2 + 1e-8).
    let mut o = RmsProp::new(RmsPropConfig::default()).unwrap();
    close(&run(&mut o, 1.0, &[2.0]), &[1.0 - 0.02 / (0.2 + 1e-8)]);
    // Centered + momentum 0.9. Step 1, g = 2: v = 0.04, ḡ = 0.02, d₁ = √(0.04 − 0.0004) + 1e-8
    //   = √0.0396 + 1e-8, b₁ = 2/d₁, θ₁ = 1 − 0.01·b₁.
    // Step 2, g = 1: v = 0.99·0.04 + 0.01 = 0.0496, ḡ = 0.99·0.02 + 0.01 = 0.0298,
    //   d₂ = √(0.0496 − 0.0298²) + 1e-8 = √0.04871196 + 1e-8, b₂ = 0.9·b₁ + 1/d₂, θ₂ = θ₁ − 0.01·b₂.
    let mut o = RmsProp::new(RmsPropConfig {
        centered: true,
        momentum: 0.9,
        ..Default::default()
    })
    .unwrap();
    let b1 = 2.0 / (0.0396f64.sqrt() + 1e-8);
    let b2 = 0.9 * b1 + 1.0 / (0.04871196f64.sqrt() + 1e-8);
    let got = run(&mut o, 1.0, &[2.0, 1.0]);
    assert!((got[0] - (1.0 - 0.01 * b1)).abs() < 1e-14, "{got:?}");
    assert!(
        (got[1] - (1.0 - 0.01 * b1 - 0.01 * b2)).abs() < 1e-12,
        "{got:?}"
    );
}

#[test]
fn state_is_keyed_by_name_and_params_without_grad_are_skipped() {
    // Two parameters; only "a" has a gradient in step 1, both in step 2. With SGD momentum, "b"'s
    // first step must be treated as its first (b = g, not dampened), independent of "a".
    let mut s = store(&[("a", 1.0), ("b", 1.0)]);
    let mut o = Sgd::new(SgdConfig {
        momentum: 0.5,
        dampening: 0.5,
        ..SgdConfig::new(1.0)
    })
    .unwrap();
    set_grad(&mut s, "a", 1.0);
    o.step(&mut s).unwrap();
    assert_eq!((value(&s, "a"), value(&s, "b")), (0.0, 1.0));
    set_grad(&mut s, "b", 1.0);
    o.step(&mut s).unwrap();
    // a: buffer 0.5·1 + 0.5·1 = 1, θ = 0 − 1 = −1. b: first step, buffer 1, θ = 0.
    assert_eq!((value(&s, "a"), value(&s, "b")), (-1.0, 0.0));
    // Frozen parameters are skipped even with a gradient.
    s.get_mut("a").unwrap().requires_grad = false;
    o.step(&mut s).unwrap();
    assert_eq!(value(&s, "a"), -1.0);
    // A different tensor under a known name is an error, not silent corruption.
    let mut other = ParamStore::new();
    let p = other.add_param("b", Tensor::zeros(Shape::d1(3))).unwrap();
    p.grad = Some(Tensor::zeros(Shape::d1(3)));
    assert!(o.step(&mut other).is_err());
}

#[test]
fn clip_grad_norm_scales_and_returns_the_norm() {
    // Grads [3, 4] and [12]: ‖g‖ = √(9 + 16 + 144) = 13. max 6.5 → c = 6.5/(13 + 1e-6).
    let mut s = ParamStore::<f64>::new();
    s.add_param("a", Tensor::zeros(Shape::d1(2))).unwrap().grad =
        Some(Tensor::from_vec(Shape::d1(2), vec![3.0, 4.0]).unwrap());
    s.add_param("b", Tensor::zeros(Shape::d1(1))).unwrap().grad =
        Some(Tensor::from_vec(Shape::d1(1), vec![12.0]).unwrap());
    let norm = clip_grad_norm(&mut s, 6.5).unwrap();
    assert_eq!(norm, 13.0);
    let c = 6.5 / (13.0 + 1e-6);
    assert_eq!(
        s.get("a").unwrap().grad.as_ref().unwrap().data(),
        &[3.0 * c, 4.0 * c]
    );
    // Below the limit: untouched.
    let before = s.get("b").unwrap().grad.clone();
    clip_grad_norm(&mut s, 100.0).unwrap();
    assert_eq!(s.get("b").unwrap().grad, before);
    s.get_mut("b").unwrap().grad = Some(Tensor::from_vec(Shape::d1(1), vec![f64::NAN]).unwrap());
    let e = clip_grad_norm(&mut s, 1.0).unwrap_err().to_string();
    assert!(e.contains("parameter b"), "{e}");
}

#[test]
fn every_optimizer_minimises_a_quadratic_through_the_tape() {
    // L(w) = mse(w, target): each optimizer, a few hundred steps, must cut the loss ≥ 100×.
    let target = Tensor::from_vec(Shape::d1(3), vec![0.5, -1.0, 2.0]).unwrap();
    let opts: Vec<(&str, Box<dyn Optimizer<f64>>)> = vec![
        (
            "sgd",
            Box::new(
                Sgd::new(SgdConfig {
                    momentum: 0.9,
                    ..SgdConfig::new(0.05)
                })
                .unwrap(),
            ),
        ),
        (
            "adam",
            Box::new(
                Adam::new(AdamConfig {
                    lr: 0.05,
                    ..AdamConfig::adam()
                })
                .unwrap(),
            ),
        ),
        (
            "adamw",
            Box::new(
                Adam::new(AdamConfig {
                    lr: 0.05,
                    weight_decay: 1e-4,
                    ..AdamConfig::adamw()
                })
                .unwrap(),
            ),
        ),
        (
            "adagrad",
            Box::new(
                Adagrad::new(AdagradConfig {
                    lr: 0.5,
                    ..Default::default()
                })
                .unwrap(),
            ),
        ),
        (
            "adadelta",
            Box::new(Adadelta::new(AdadeltaConfig::default()).unwrap()),
        ),
        (
            "rmsprop",
            Box::new(RmsProp::new(RmsPropConfig::default()).unwrap()),
        ),
    ];
    for (name, mut opt) in opts {
        let mut s = ParamStore::new();
        s.add_param("w", Tensor::zeros(Shape::d1(3))).unwrap();
        let mut first = None;
        let mut last = 0.0;
        for _ in 0..2000 {
            let mut tape = crate::Tape::new();
            let w = tape.param(s.get("w").unwrap());
            let l = crate::loss::mse(&mut tape, &w, &target, crate::loss::Reduction::Mean).unwrap();
            last = l.value().data()[0];
            first.get_or_insert(last);
            let g = tape.backward(&l).unwrap();
            s.zero_grad();
            g.accumulate_into(&mut s).unwrap();
            opt.step(&mut s).unwrap();
        }
        let first = first.unwrap();
        assert!(last < first / 100.0, "{name}: loss {first} → {last}");
    }
}
