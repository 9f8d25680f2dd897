//! Layer-level tests that need only what autograd records today: Linear shapes and names,
//! Sequential naming, freezing, the summary table, a small MLP overfitting synthetic points with
//! the autograd optimizers, and a checkpoint round trip of that MLP.

use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::loss::{CrossEntropy, cross_entropy};
use ecgrad_models::autograd::optim::{Adam, AdamConfig, Sgd, SgdConfig};
use ecgrad_models::autograd::{Optimizer, Parameters, Tape, Var};
use ecgrad_models::layers::{Linear, Relu, Sequential, Tanh};
use ecgrad_models::{Module, checkpoint, module};

fn mlp(seed: u64) -> Sequential {
    let mut rng = Rng::stream(seed, "init");
    Sequential::new()
        .with_named("fc1", Linear::new(4, 16, true, &mut rng).unwrap())
        .unwrap()
        .with_named("act", Tanh)
        .unwrap()
        .with_named("fc2", Linear::new(16, 3, true, &mut rng).unwrap())
        .unwrap()
}

fn names(m: &mut dyn Parameters<f32>) -> Vec<String> {
    module::named_shapes(m)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn linear_forward_shapes_and_values() {
    let w = Tensor::from_vec(Shape::d2(2, 3), vec![1.0, 0.0, -1.0, 0.5, 0.5, 0.5]).unwrap();
    let b = Tensor::from_vec(Shape::d1(2), vec![0.25, -1.0]).unwrap();
    let lin = Linear::from_tensors(w, Some(b)).unwrap();
    let mut tape = Tape::new();
    let x =
        tape.input(Tensor::from_vec(Shape::d2(2, 3), vec![1.0, 2.0, 3.0, -1.0, 0.0, 1.0]).unwrap());
    let y = lin.forward(&mut tape, &x).unwrap();
    // Row 0: [1 − 3 + 0.25, 3 − 1] ; row 1: [−1 − 1 + 0.25, 0 − 1].
    assert_eq!(y.value().data(), &[-1.75, 2.0, -1.75, -1.0]);
    // NTF input: the same weights at every time step.
    let x3 = tape.input(Tensor::zeros(Shape::d3(5, 7, 3)));
    assert_eq!(
        lin.forward(&mut tape, &x3).unwrap().shape(),
        Shape::d3(5, 7, 2)
    );
    // A wrong feature count is a named error.
    let bad = tape.input(Tensor::zeros(Shape::d2(5, 4)));
    let e = lin.forward(&mut tape, &bad).unwrap_err().to_string();
    assert!(e.contains("Linear") && e.contains("[5, 4]"), "{e}");
    // Without bias.
    let mut rng = Rng::new(0);
    let nb = Linear::new(3, 6, false, &mut rng).unwrap();
    assert_eq!(nb.forward(&mut tape, &x).unwrap().shape(), Shape::d2(2, 6));
    assert!(
        Linear::from_tensors(
            Tensor::zeros(Shape::d2(2, 3)),
            Some(Tensor::zeros(Shape::d1(3)))
        )
        .is_err()
    );
}

#[test]
fn parameter_names_follow_pytorch() {
    let mut m = mlp(1);
    assert_eq!(
        names(&mut m),
        ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    );
    let shapes = module::named_shapes(&mut m);
    assert_eq!(
        shapes[0].1,
        Shape::d2(16, 4),
        "PyTorch Linear weight is [out, in]"
    );
    // Positional names count parameter-free layers, as nn.Sequential(Linear, ReLU, Linear) does.
    let mut rng = Rng::new(1);
    let mut seq = Sequential::new()
        .with(Linear::new(2, 3, true, &mut rng).unwrap())
        .with(Relu)
        .with(Linear::new(3, 1, true, &mut rng).unwrap());
    assert_eq!(
        names(&mut seq),
        ["0.weight", "0.bias", "2.weight", "2.bias"]
    );
    // Nesting joins paths with dots.
    let mut outer = Sequential::new().with_named("encoder", seq).unwrap();
    assert_eq!(names(&mut outer)[0], "encoder.0.weight");
    // Bad names are refused.
    for bad in ["", "a.b", "7", "encoder"] {
        assert!(
            Sequential::new()
                .with_named("encoder", Relu)
                .unwrap()
                .with_named(bad, Tanh)
                .is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn counting_and_freezing_a_subtree() {
    let mut m = mlp(2);
    let c = module::count_params(&mut m);
    assert_eq!(c.total, 4 * 16 + 16 + 16 * 3 + 3);
    assert_eq!(c.trainable, c.total);
    module::set_requires_grad(m.get_mut("fc1").unwrap(), false);
    let c = module::count_params(&mut m);
    assert_eq!(c.trainable, 16 * 3 + 3);
    // A frozen layer gets no gradient from the tape.
    let mut tape = Tape::new();
    let x = tape.input(Tensor::from_vec(Shape::d2(1, 4), vec![1.0, -1.0, 0.5, 2.0]).unwrap());
    let y = m.forward(&mut tape, &x).unwrap();
    let loss = ecgrad_models::autograd::ops::sum(&mut tape, &y).unwrap();
    let grads = tape.backward(&loss).unwrap();
    assert!(grads.param("fc1.weight").unwrap().is_none());
    assert!(grads.param("fc2.weight").unwrap().is_some());
    // By path; "fc" matches nothing (paths match whole dotted components).
    assert_eq!(module::set_requires_grad_under(&mut m, "fc", true), 0);
    assert_eq!(module::set_requires_grad_under(&mut m, "fc1", true), 2);
    assert_eq!(
        module::count_params(&mut m).trainable,
        module::count_params(&mut m).total
    );
}

#[test]
fn summary_lists_layers_shapes_and_params() {
    let mut m = mlp(3);
    module::set_requires_grad(m.get_mut("fc2").unwrap(), false);
    let s = module::summary(&mut m, Shape::d2(1, 4)).unwrap();
    println!("{s}");
    let lines: Vec<&str> = s.lines().collect();
    let row = |name: &str| *lines.iter().find(|l| l.starts_with(name)).unwrap();
    assert!(
        row("fc1 (Linear(4 → 16))").contains("[1, 16]") && row("fc1").trim_end().ends_with(" 80")
    );
    assert!(row("act (Tanh)").contains("[1, 16]") && row("act").trim_end().ends_with(" 0"));
    assert!(row("fc2").contains("[1, 3]") && row("fc2").trim_end().ends_with(" 51"));
    assert!(s.contains("Total params: 131"));
    assert!(s.contains("Trainable params: 80"));
    assert!(s.contains("Non-trainable params: 51"));
    // A summary records nothing and an input that does not fit is a named error.
    assert!(
        module::summary(&mut m, Shape::d2(1, 5))
            .unwrap_err()
            .to_string()
            .contains("Linear")
    );
}

/// 24 points in 3 Gaussian-ish clusters on a ring in 4-D, labels 0..3.
fn points() -> (Tensor<f32>, Vec<usize>) {
    let mut rng = Rng::stream(11, "data");
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..24 {
        let c = i % 3;
        let angle = c as f64 * std::f64::consts::TAU / 3.0;
        for f in 0..4 {
            let centre =
                if f % 2 == 0 { angle.cos() } else { angle.sin() } * (1.0 + f as f64 * 0.1);
            x.push((centre + 0.3 * rng.normal()) as f32);
        }
        y.push(c);
    }
    (Tensor::from_vec(Shape::d2(24, 4), x).unwrap(), y)
}

fn train(m: &mut Sequential, opt: &mut dyn Optimizer<f32>, steps: usize) -> (f32, f32) {
    let (x, y) = points();
    let (mut first, mut last) = (0.0, 0.0);
    for i in 0..steps {
        let grads = {
            let mut tape = Tape::new();
            let xv: Var<f32> = tape.input(x.clone());
            let logits = m.forward(&mut tape, &xv).unwrap();
            let loss = cross_entropy(&mut tape, &logits, &y, &CrossEntropy::default()).unwrap();
            last = loss.value().data()[0];
            if i == 0 {
                first = last;
            }
            tape.backward(&loss).unwrap()
        };
        m.zero_grad();
        grads.accumulate_into(m).unwrap();
        opt.step(m).unwrap();
    }
    (first, last)
}

#[test]
fn mlp_overfits_synthetic_points_with_adam_and_sgd() {
    let mut adam = Adam::new(AdamConfig {
        lr: 0.05,
        ..AdamConfig::adam()
    })
    .unwrap();
    let mut sgd = Sgd::new(SgdConfig {
        momentum: 0.9,
        ..SgdConfig::new(0.1)
    })
    .unwrap();
    for (name, opt) in [
        ("adam", &mut adam as &mut dyn Optimizer<f32>),
        ("sgd", &mut sgd),
    ] {
        let mut m = mlp(4);
        let (first, last) = train(&mut m, opt, 300);
        println!("{name}: loss {first:.4} → {last:.5}");
        assert!(
            first > 0.5,
            "{name}: the untrained loss is near ln 3 ({first})"
        );
        assert!(last < 0.02, "{name}: loss {first} → {last}");
        // Every training point classified correctly.
        let (x, y) = points();
        let mut tape = Tape::no_grad();
        let xv = tape.input(x);
        let z = m.forward(&mut tape, &xv).unwrap();
        assert!(tape.is_empty());
        for (i, &c) in y.iter().enumerate() {
            let row = &z.value().data()[3 * i..3 * i + 3];
            let arg = (0..3).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            assert_eq!(arg, c, "{name}: point {i}");
        }
    }
}

#[test]
fn trained_mlp_checkpoint_round_trip_gives_bit_identical_outputs() {
    let mut m = mlp(5);
    let mut opt = Adam::new(AdamConfig {
        lr: 0.05,
        ..AdamConfig::adam()
    })
    .unwrap();
    train(&mut m, &mut opt, 20);
    let dir = std::env::temp_dir().join(format!("ecgrad-mlp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mlp.safetensors");
    checkpoint::save(&mut m, &path).unwrap();
    let mut fresh = mlp(6);
    checkpoint::load(&mut fresh, &path).unwrap();
    let (x, _) = points();
    let out = |m: &Sequential| {
        let mut tape = Tape::no_grad();
        let xv = tape.input(x.clone());
        m.forward(&mut tape, &xv)
            .unwrap()
            .value()
            .data()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(out(&m), out(&fresh));
    // A model of another shape refuses the file, naming the tensor.
    let mut rng = Rng::new(0);
    let mut other = Sequential::new()
        .with_named("fc1", Linear::new(4, 8, true, &mut rng).unwrap())
        .unwrap();
    let e = checkpoint::load(&mut other, &path).unwrap_err().to_string();
    assert!(
        e.contains("\"fc1.weight\"") && e.contains("[8, 4]") && e.contains("[16, 4]"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Linear's gradients against the formulas, under a random projection loss Σ r ⊙ y:
/// dx = r·W, dW = rᵀ·x, db = Σ_rows r (the ops are gradchecked in autograd; this checks the
/// layer wires them with the right transposes and names).
#[test]
fn linear_gradients_match_the_formulas() {
    let mut rng = Rng::stream(21, "grad");
    let lin = Linear::new(5, 3, true, &mut rng).unwrap();
    let (n, fi, fo) = (4, 5, 3);
    let x = Tensor::from_vec(Shape::d2(n, fi), rng.vec_f32(n * fi)).unwrap();
    let r = Tensor::from_vec(Shape::d2(n, fo), rng.vec_f32(n * fo)).unwrap();
    let mut tape = Tape::new();
    let xv = tape.leaf(x.clone(), true);
    let y = lin.forward(&mut tape, &xv).unwrap();
    let grads = tape.backward_from(&y, r.clone(), &[]).unwrap();
    let (w, xd, rd) = (lin.weight.value.data(), x.data(), r.data());
    let dx = grads.get(xv.id()).unwrap();
    let dw = grads.param("weight").unwrap().unwrap();
    let db = grads.param("bias").unwrap().unwrap();
    for i in 0..n {
        for k in 0..fi {
            let e: f32 = (0..fo).map(|j| rd[i * fo + j] * w[j * fi + k]).sum();
            assert!((dx.data()[i * fi + k] - e).abs() < 1e-5);
        }
    }
    for j in 0..fo {
        for k in 0..fi {
            let e: f32 = (0..n).map(|i| rd[i * fo + j] * xd[i * fi + k]).sum();
            assert!((dw.data()[j * fi + k] - e).abs() < 1e-5);
        }
        let e: f32 = (0..n).map(|i| rd[i * fo + j]).sum();
        assert!((db.data()[j] - e).abs() < 1e-5);
    }
}

/// A test layer whose output shows its mode: identity when training, ×2 in evaluation.
struct ModeProbe {
    training: bool,
}

impl Parameters<f32> for ModeProbe {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&mut ecgrad_models::autograd::Param<f32>)) {}
}

impl Module for ModeProbe {
    fn forward(&self, tape: &mut Tape<f32>, x: &Var<f32>) -> ecgrad_models::Result<Var<f32>> {
        let s = if self.training { 1.0 } else { 2.0 };
        Ok(ecgrad_models::autograd::ops::scale(tape, x, s)?)
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn describe(&self) -> String {
        "ModeProbe".into()
    }
}

#[test]
fn set_training_reaches_nested_children() {
    let inner = Sequential::new().with(ModeProbe { training: true });
    let mut m = Sequential::new()
        .with_named("block", inner)
        .unwrap()
        .with(ModeProbe { training: true });
    let run = |m: &Sequential| {
        let mut tape = Tape::no_grad();
        let x = tape.input(Tensor::full(Shape::d1(1), 1.0));
        m.forward(&mut tape, &x).unwrap().value().data()[0]
    };
    assert_eq!(run(&m), 1.0);
    m.set_training(false);
    assert_eq!(run(&m), 4.0, "both probes switched to evaluation");
    m.set_training(true);
    assert_eq!(run(&m), 1.0);
}

#[test]
fn shape_layers_flatten_and_transpose() {
    use ecgrad_models::layers::{Flatten, NclToNtf, NtfToNcl};
    let data: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let x = Tensor::from_vec(Shape::d3(2, 2, 3), data).unwrap();
    let mut tape = Tape::new();
    let xv = tape.leaf(x, true);
    let f = Flatten.forward(&mut tape, &xv).unwrap();
    assert_eq!(f.shape(), Shape::d2(2, 6));
    let t = NclToNtf.forward(&mut tape, &xv).unwrap();
    assert_eq!(t.shape(), Shape::d3(2, 3, 2));
    // y[n, l, c] = x[n, c, l]: x[0, 1, 0] = 3 lands at y[0, 0, 1].
    assert_eq!(t.value().data()[1], 3.0);
    let back = NtfToNcl.forward(&mut tape, &t).unwrap();
    assert_eq!(back.value().data(), xv.value().data());
    // In a Sequential, a summary shows each shape change as a named row.
    let mut rng = Rng::new(3);
    let mut seq = Sequential::new()
        .with_named("to_ntf", NclToNtf)
        .unwrap()
        .with_named("proj", Linear::new(2, 4, true, &mut rng).unwrap())
        .unwrap()
        .with_named("flat", Flatten)
        .unwrap();
    let s = module::summary(&mut seq, Shape::d3(1, 2, 3)).unwrap();
    assert!(s.contains("[1, 3, 4]") && s.contains("[1, 12]"), "{s}");
}
