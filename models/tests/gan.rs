//! `Gan1d`: shapes, `detach` keeping D's loss out of G, and a measurable training criterion —
//! after a short training on one synthetic beat class, generated beats are much closer to the
//! class mean than before (for both the BCE GAN and the weight-clipped WGAN).

use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::optim::{Adam, AdamConfig, Sgd, SgdConfig};
use ecgrad_models::autograd::{Parameters, Tape};
use ecgrad_models::nets::{BEAT_LEN, Discriminator, Gan1dConfig, GanLoss, Generator, gan_step};
use ecgrad_models::{Module, module};

/// One synthetic beat class: a QRS-like spike, P and T waves, with random jitter of timing and
/// amplitude; values in about [−0.3, 0.9].
fn beat(rng: &mut Rng) -> Vec<f32> {
    let shift = rng.uniform_range(-3.0, 3.0);
    let amp = rng.uniform_range(0.85, 1.15);
    (0..BEAT_LEN)
        .map(|t| {
            let t = t as f64 - shift;
            let g = |c: f64, w: f64, a: f64| a * (-(t - c) * (t - c) / (2.0 * w * w)).exp();
            (amp * (g(90.0, 4.0, 0.9) + g(60.0, 6.0, 0.15) + g(135.0, 10.0, 0.3)
                - g(98.0, 3.0, 0.3))) as f32
        })
        .collect()
}

fn batch(n: usize, rng: &mut Rng) -> Tensor<f32> {
    let data = (0..n).flat_map(|_| beat(rng)).collect();
    Tensor::from_vec(Shape::d3(n, 1, BEAT_LEN), data).expect("batch")
}

/// Mean over generated beats of the mean squared distance to the class mean.
fn distance_to_mean(g: &Generator, mean: &[f32], rng: &mut Rng) -> f64 {
    let x = g.generate(64, rng).expect("generate");
    x.data()
        .chunks(BEAT_LEN)
        .map(|b| {
            b.iter()
                .zip(mean)
                .map(|(a, m)| ((a - m) as f64).powi(2))
                .sum::<f64>()
                / BEAT_LEN as f64
        })
        .sum::<f64>()
        / 64.0
}

#[test]
fn shapes_and_names() {
    let mut rng = Rng::stream(1, "init");
    let mut g = Generator::new(Gan1dConfig::default(), &mut rng).expect("g");
    let mut d = Discriminator::new(&mut rng).expect("d");
    let x = g.generate(3, &mut rng).expect("gen");
    assert_eq!(x.shape(), Shape::d3(3, 1, BEAT_LEN));
    assert!(x.data().iter().all(|v| v.abs() < 1.0));
    let mut tape = Tape::no_grad();
    let xv = tape.input(x);
    assert_eq!(
        d.forward(&mut tape, &xv).expect("d").shape(),
        Shape::d2(3, 1)
    );
    let bad = tape.input(Tensor::zeros(Shape::d3(1, 1, 100)));
    assert!(d.forward(&mut tape, &bad).is_err());
    let names: Vec<String> = module::named_shapes(&mut g)
        .into_iter()
        .chain(module::named_shapes(&mut d))
        .map(|(n, _)| n)
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("gen.") || n.starts_with("disc."))
    );
    assert!(names.contains(&"gen.up1.weight".to_string()));
    assert!(names.contains(&"disc.fc.weight".to_string()));
}

#[test]
fn detach_keeps_the_discriminator_loss_out_of_the_generator() {
    let mut rng = Rng::stream(2, "init");
    let g = Generator::new(Gan1dConfig::default(), &mut rng).expect("g");
    let d = Discriminator::new(&mut rng).expect("d");
    let grads_with = |detach: bool| {
        let mut tape = Tape::new();
        let z = tape.input(g.sample_latent(2, &mut Rng::new(3)).expect("z"));
        let fake = g.forward(&mut tape, &z).expect("g");
        let fake = if detach { tape.detach(&fake) } else { fake };
        let s = d.forward(&mut tape, &fake).expect("d");
        let l = ecgrad_models::autograd::ops::mean(&mut tape, &s).expect("mean");
        tape.backward(&l).expect("backward")
    };
    let name = "gen.up1.weight";
    assert!(grads_with(false).param(name).expect("lookup").is_some());
    assert!(grads_with(true).param(name).expect("lookup").is_none());
    assert!(
        grads_with(true)
            .param("disc.fc.weight")
            .expect("lookup")
            .is_some()
    );
}

/// (distance before training, after training, spread of real beats around their mean).
fn train(loss: GanLoss, steps: usize, lr_g: f64, seed: u64) -> (f64, f64, f64) {
    let mut rng = Rng::stream(seed, "init");
    let mut g = Generator::new(Gan1dConfig::default(), &mut rng).expect("g");
    let mut d = Discriminator::new(&mut rng).expect("d");
    let mut data_rng = Rng::stream(seed, "data");
    // The class mean from many samples.
    let many = batch(512, &mut data_rng);
    let mut mean = vec![0f32; BEAT_LEN];
    for b in many.data().chunks(BEAT_LEN) {
        for (m, v) in mean.iter_mut().zip(b) {
            *m += v / 512.0;
        }
    }
    let mut eval_rng = Rng::stream(seed, "eval");
    let before = distance_to_mean(&g, &mean, &mut eval_rng);
    let adam = |lr: f64| {
        Adam::new(AdamConfig {
            lr,
            betas: (0.5, 0.999),
            ..AdamConfig::adam()
        })
        .expect("adam")
    };
    let mut opt_g = adam(lr_g);
    let mut opt_d = adam(lr_g);
    let mut latent_rng = Rng::stream(seed, "latent");
    for _ in 0..steps {
        let real = batch(16, &mut data_rng);
        let s = gan_step(
            &mut g,
            &mut d,
            &mut opt_g,
            &mut opt_d,
            &real,
            loss,
            &mut latent_rng,
        )
        .expect("step");
        assert!(s.d_loss.is_finite() && s.g_loss.is_finite());
    }
    let after = distance_to_mean(&g, &mean, &mut eval_rng);
    let spread = many
        .data()
        .chunks(BEAT_LEN)
        .map(|b| {
            b.iter()
                .zip(&mean)
                .map(|(a, m)| ((a - m) as f64).powi(2))
                .sum::<f64>()
                / BEAT_LEN as f64
        })
        .sum::<f64>()
        / 512.0;
    (before, after, spread)
}

#[test]
fn bce_gan_moves_generated_beats_towards_the_class_mean() {
    let (before, after, spread) = train(GanLoss::Bce, 150, 2e-3, 5);
    println!(
        "BCE GAN: mean squared distance to the class mean {before:.4} -> {after:.4} (real beats: {spread:.4})"
    );
    // At least 70 % of the initial distance removed, and within 3× the real beats' own spread.
    assert!(after < 0.3 * before, "{before} -> {after}");
    assert!(after < 3.0 * spread, "{after} vs real spread {spread}");
}

#[test]
fn wgan_clip_moves_generated_beats_towards_the_class_mean() {
    let (before, after, spread) = train(
        GanLoss::WganClip {
            clip: 0.05,
            n_critic: 3,
        },
        150,
        2e-3,
        6,
    );
    println!(
        "WGAN-clip: mean squared distance to the class mean {before:.4} -> {after:.4} (real beats: {spread:.4})"
    );
    // At least 70 % of the initial distance removed, and within 3× the real beats' own spread.
    assert!(after < 0.3 * before, "{before} -> {after}");
    assert!(after < 3.0 * spread, "{after} vs real spread {spread}");
}

#[test]
fn one_step_updates_both_nets_with_their_own_optimizers() {
    // Two optimizers of another kind behind the same `&mut dyn Optimizer`.
    let mut rng = Rng::stream(7, "init");
    let mut g = Generator::new(Gan1dConfig::default(), &mut rng).expect("g");
    let mut d = Discriminator::new(&mut rng).expect("d");
    let mut og = Sgd::new(SgdConfig::new(0.05)).expect("sgd");
    let mut od = Sgd::new(SgdConfig::new(0.05)).expect("sgd");
    let snapshot = |m: &mut dyn Parameters<f32>| {
        let mut v = Vec::new();
        m.visit_params(&mut |p| v.push(p.value.data().to_vec()));
        v
    };
    let (g0, d0) = (snapshot(&mut g), snapshot(&mut d));
    let real = batch(4, &mut rng);
    gan_step(
        &mut g,
        &mut d,
        &mut og,
        &mut od,
        &real,
        GanLoss::Bce,
        &mut rng,
    )
    .expect("step");
    assert_ne!(snapshot(&mut g), g0, "G did not move");
    assert_ne!(snapshot(&mut d), d0, "D did not move");
    // D was unfrozen again after the G step.
    d.visit_params(&mut |p| assert!(p.requires_grad, "{} left frozen", p.name));
}
