//! LSTM tests: PyTorch names and shapes, both forward paths (fused, composed reference) against
//! an independent f64 reference written with plain loops and the textbook sigmoid, the gate
//! order i, f, g, o by hand, tape gradients against finite differences of the f64 reference,
//! the fused path against the composed one (values and every gradient, including through h_n
//! and c_n), and a tiny overfit.

use std::collections::HashMap;

use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::loss::{CrossEntropy, cross_entropy};
use ecgrad_models::autograd::optim::{Adam, AdamConfig};
use ecgrad_models::autograd::{Optimizer, Parameters, Tape};
use ecgrad_models::layers::{Linear, Lstm};
use ecgrad_models::{Module, module};

type Weights = HashMap<String, Vec<f64>>;

fn weights(m: &mut Lstm) -> Weights {
    let mut w = HashMap::new();
    m.visit_params(&mut |p| {
        w.insert(
            p.name.to_string(),
            p.value.data().iter().map(|&v| v as f64).collect(),
        );
    });
    w
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// PyTorch's LSTM equations, plainly: returns the output `[n, T, D·H]` flattened.
fn reference(
    w: &Weights,
    x: &[f64],
    (n, t_len, f0): (usize, usize, usize),
    h: usize,
    layers: usize,
    bi: bool,
) -> Vec<f64> {
    let dirs = if bi { 2 } else { 1 };
    let mut input = x.to_vec();
    let mut f = f0;
    for l in 0..layers {
        let mut out = vec![0.0; n * t_len * dirs * h];
        for d in 0..dirs {
            let sfx = format!("l{l}{}", if d == 1 { "_reverse" } else { "" });
            let (wih, whh) = (
                &w[&format!("weight_ih_{sfx}")],
                &w[&format!("weight_hh_{sfx}")],
            );
            let (bih, bhh) = (&w[&format!("bias_ih_{sfx}")], &w[&format!("bias_hh_{sfx}")]);
            for s in 0..n {
                let (mut hv, mut cv) = (vec![0.0; h], vec![0.0; h]);
                let order: Vec<usize> = if d == 1 {
                    (0..t_len).rev().collect()
                } else {
                    (0..t_len).collect()
                };
                for t in order {
                    let xt = &input[(s * t_len + t) * f..][..f];
                    let z: Vec<f64> = (0..4 * h)
                        .map(|r| {
                            bih[r]
                                + bhh[r]
                                + (0..f).map(|k| wih[r * f + k] * xt[k]).sum::<f64>()
                                + (0..h).map(|k| whh[r * h + k] * hv[k]).sum::<f64>()
                        })
                        .collect();
                    for j in 0..h {
                        let (i, fg) = (sigmoid(z[j]), sigmoid(z[h + j]));
                        let (g, o) = (z[2 * h + j].tanh(), sigmoid(z[3 * h + j]));
                        cv[j] = fg * cv[j] + i * g;
                        hv[j] = o * cv[j].tanh();
                    }
                    for j in 0..h {
                        out[((s * t_len + t) * dirs + d) * h + j] = hv[j];
                    }
                }
            }
        }
        input = out;
        f = dirs * h;
    }
    input
}

fn run(m: &Lstm, x: &Tensor<f32>) -> Vec<f64> {
    run_path(m, x, false)
}

/// The output of the fused path, or of the composed reference when `reference`.
fn run_path(m: &Lstm, x: &Tensor<f32>, reference: bool) -> Vec<f64> {
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let out = if reference {
        m.forward_reference(&mut tape, &xv).unwrap().output
    } else {
        m.forward(&mut tape, &xv).unwrap()
    };
    out.value().data().iter().map(|&v| v as f64).collect()
}

#[test]
fn names_and_shapes_follow_pytorch() {
    let mut rng = Rng::stream(1, "init");
    let mut m = Lstm::new(3, 5, 2, true, &mut rng).unwrap();
    let got: Vec<(String, Vec<usize>)> = module::named_shapes(&mut m)
        .into_iter()
        .map(|(n, s)| (n, s.dims().to_vec()))
        .collect();
    let want = [
        ("weight_ih_l0", vec![20, 3]),
        ("weight_hh_l0", vec![20, 5]),
        ("bias_ih_l0", vec![20]),
        ("bias_hh_l0", vec![20]),
        ("weight_ih_l0_reverse", vec![20, 3]),
        ("weight_hh_l0_reverse", vec![20, 5]),
        ("bias_ih_l0_reverse", vec![20]),
        ("bias_hh_l0_reverse", vec![20]),
        ("weight_ih_l1", vec![20, 10]),
        ("weight_hh_l1", vec![20, 5]),
        ("bias_ih_l1", vec![20]),
        ("bias_hh_l1", vec![20]),
        ("weight_ih_l1_reverse", vec![20, 10]),
        ("weight_hh_l1_reverse", vec![20, 5]),
        ("bias_ih_l1_reverse", vec![20]),
        ("bias_hh_l1_reverse", vec![20]),
    ];
    assert_eq!(got.len(), want.len());
    for ((gn, gs), (wn, ws)) in got.iter().zip(&want) {
        assert_eq!((gn.as_str(), gs), (*wn, ws));
    }
    // U(±1/√H) initialisation.
    let bound = 1.0 / 5f32.sqrt();
    m.visit_params(&mut |p| assert!(p.value.data().iter().all(|v| v.abs() <= bound)));
    let mut tape = Tape::no_grad();
    let x = tape.input(Tensor::zeros(Shape::d3(2, 7, 3)));
    assert_eq!(
        m.forward(&mut tape, &x).unwrap().shape(),
        Shape::d3(2, 7, 10)
    );
    let bad = tape.input(Tensor::zeros(Shape::d3(2, 7, 4)));
    assert!(
        m.forward(&mut tape, &bad)
            .unwrap_err()
            .to_string()
            .contains("Lstm")
    );
}

#[test]
fn forward_matches_the_f64_reference() {
    for (layers, bi, t_len) in [(1, false, 6), (1, true, 5), (2, true, 4), (2, false, 1)] {
        let mut rng = Rng::stream(2, "init");
        let (n, f, h) = (3, 4, 5);
        let mut m = Lstm::new(f, h, layers, bi, &mut rng).unwrap();
        let x = Tensor::from_vec(Shape::d3(n, t_len, f), rng.vec_f32(n * t_len * f)).unwrap();
        let xd: Vec<f64> = x.data().iter().map(|&v| v as f64).collect();
        let want = reference(&weights(&mut m), &xd, (n, t_len, f), h, layers, bi);
        for composed in [false, true] {
            let got = run_path(&m, &x, composed);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 1e-5,
                "layers {layers} bi {bi} composed {composed}: worst {worst}"
            );
        }
    }
}

#[test]
fn gate_order_is_i_f_g_o() {
    // Zero weights, one step, zero input: z = b_ih + b_hh. Make i ≈ 1 (z = +20), f = anything,
    // g = tanh(0.5), o = σ(1). Then c = i·g = tanh(0.5) and h = σ(1)·tanh(tanh(0.5)).
    // Any other gate order gives a different h.
    let mut rng = Rng::new(0);
    let mut m = Lstm::new(1, 1, 1, false, &mut rng).unwrap();
    m.visit_params(&mut |p| p.value.data_mut().iter_mut().for_each(|v| *v = 0.0));
    m.weights[0]
        .bias_ih
        .value
        .data_mut()
        .copy_from_slice(&[20.0, -7.0, 0.5, 1.0]);
    let y = run(&m, &Tensor::zeros(Shape::d3(1, 1, 1)))[0];
    let want = sigmoid(1.0) * 0.5f64.tanh().tanh();
    assert!((y - want).abs() < 1e-6, "{y} vs {want}");
}

#[test]
fn tape_gradients_match_finite_differences_of_the_reference() {
    let (n, t_len, f, h) = (2, 3, 2, 3);
    let mut rng = Rng::stream(3, "init");
    let mut m = Lstm::new(f, h, 1, true, &mut rng).unwrap();
    let x = Tensor::from_vec(Shape::d3(n, t_len, f), rng.vec_f32(n * t_len * f)).unwrap();
    let r = Tensor::from_vec(Shape::d3(n, t_len, 2 * h), rng.vec_f32(n * t_len * 2 * h)).unwrap();
    let mut tape = Tape::new();
    let xv = tape.leaf(x.clone(), true);
    let y = m.forward(&mut tape, &xv).unwrap();
    let grads = tape.backward_from(&y, r.clone(), &[]).unwrap();
    let xd: Vec<f64> = x.data().iter().map(|&v| v as f64).collect();
    let rd: Vec<f64> = r.data().iter().map(|&v| v as f64).collect();
    let w0 = weights(&mut m);
    let loss = |w: &Weights, x: &[f64]| -> f64 {
        reference(w, x, (n, t_len, f), h, 1, true)
            .iter()
            .zip(&rd)
            .map(|(a, b)| a * b)
            .sum()
    };
    let eps = 1e-6;
    let mut worst = 0f64;
    for name in [
        "weight_ih_l0",
        "weight_hh_l0_reverse",
        "bias_hh_l0",
        "bias_ih_l0_reverse",
    ] {
        let g = grads.param(name).unwrap().expect("gradient");
        for k in 0..w0[name].len() {
            let mut wp = w0.clone();
            wp.get_mut(name).unwrap()[k] += eps;
            let mut wm = w0.clone();
            wm.get_mut(name).unwrap()[k] -= eps;
            let fd = (loss(&wp, &xd) - loss(&wm, &xd)) / (2.0 * eps);
            let err = (g.data()[k] as f64 - fd).abs() / (1.0 + fd.abs());
            worst = worst.max(err);
            assert!(err < 1e-4, "{name}[{k}]: tape {} vs fd {fd}", g.data()[k]);
        }
    }
    let dx = grads.get(xv.id()).unwrap();
    for k in 0..xd.len() {
        let (mut xp, mut xm) = (xd.clone(), xd.clone());
        xp[k] += eps;
        xm[k] -= eps;
        let fd = (loss(&w0, &xp) - loss(&w0, &xm)) / (2.0 * eps);
        assert!(
            (dx.data()[k] as f64 - fd).abs() / (1.0 + fd.abs()) < 1e-4,
            "x[{k}]"
        );
    }
    println!("worst relative parameter-gradient error {worst:.2e}");
}

/// Everything the tape gives back for one path: the output and final states, then the
/// gradient of every parameter (by name) and of x, for the loss
/// L = Σ r ⊙ output + Σₖ Σ rₖ ⊙ h_n[k] + Σₖ Σ sₖ ⊙ c_n[k] with fixed random r, rₖ, sₖ.
fn values_and_grads(m: &mut Lstm, x: &Tensor<f32>, composed: bool) -> (Vec<f32>, Weights) {
    use ecgrad_models::autograd::ops;
    let mut tape = Tape::new();
    let xv = tape.leaf(x.clone(), true);
    let out = if composed {
        m.forward_reference(&mut tape, &xv).unwrap()
    } else {
        m.forward_with_state(&mut tape, &xv).unwrap()
    };
    let mut rng = Rng::new(77);
    let mut project = |tape: &mut Tape<f32>, v: &ecgrad_models::autograd::Var<f32>| {
        let r = Tensor::from_vec(v.shape(), rng.vec_f32(v.shape().numel())).unwrap();
        let r = tape.input(r);
        let p = ops::mul(tape, v, &r).unwrap();
        ops::sum(tape, &p).unwrap()
    };
    let mut values: Vec<f32> = out.output.value().data().to_vec();
    let mut loss = project(&mut tape, &out.output);
    for s in out.h_n.iter().chain(&out.c_n) {
        values.extend_from_slice(s.value().data());
        let term = project(&mut tape, s);
        loss = ops::add(&mut tape, &loss, &term).unwrap();
    }
    let grads = tape.backward(&loss).unwrap();
    let mut g = Weights::new();
    m.visit_params(&mut |p| {
        // The composed path skips h·W_hhᵀ at t = 0 (h = 0), so with T = 1 W_hh is not on its
        // tape at all: its gradient is zero.
        let v: Vec<f64> = match grads.param(&p.name).unwrap() {
            Some(v) => v.data().iter().map(|&a| a as f64).collect(),
            None => vec![0.0; p.value.numel()],
        };
        g.insert(p.name.to_string(), v);
    });
    let dx = grads.get(xv.id()).unwrap();
    g.insert("x".into(), dx.data().iter().map(|&a| a as f64).collect());
    (values, g)
}

#[test]
fn fused_matches_composed_values_and_every_gradient() {
    for (layers, bi, t_len) in [(1, false, 7), (1, true, 5), (2, true, 4), (2, false, 1)] {
        let mut rng = Rng::stream(6, "init");
        let (n, f, h) = (3, 4, 6);
        let mut m = Lstm::new(f, h, layers, bi, &mut rng).unwrap();
        let x = Tensor::from_vec(Shape::d3(n, t_len, f), rng.vec_f32(n * t_len * f)).unwrap();
        let (v_fused, g_fused) = values_and_grads(&mut m, &x, false);
        let (v_comp, g_comp) = values_and_grads(&mut m, &x, true);
        let ctx = format!("layers {layers} bi {bi} T {t_len}");
        assert_eq!(v_fused.len(), v_comp.len());
        for (k, (a, b)) in v_fused.iter().zip(&v_comp).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5,
                "{ctx}: value {k}: fused {a} vs composed {b}"
            );
        }
        assert_eq!(g_fused.len(), 4 * layers * if bi { 2 } else { 1 } + 1);
        for (name, gf) in &g_fused {
            let gc = &g_comp[name];
            for (k, (a, b)) in gf.iter().zip(gc).enumerate() {
                assert!(
                    (a - b).abs() <= 2e-5 + 1e-3 * b.abs(),
                    "{ctx}: d{name}[{k}]: fused {a} vs composed {b}"
                );
            }
        }
    }
}

#[test]
fn lstm_with_linear_head_overfits_8_sequences() {
    // Class 1: rising sequences; class 0: falling; random offsets and slopes.
    let (n, t_len) = (8, 6);
    let mut rng = Rng::stream(4, "data");
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in 0..n {
        let slope = if i % 2 == 0 { 1.0 } else { -1.0 } * rng.uniform_range(0.1, 0.3);
        let off = rng.uniform_range(-0.5, 0.5);
        for t in 0..t_len {
            xs.push((off + slope * t as f64) as f32);
        }
        ys.push(i % 2);
    }
    let x = Tensor::from_vec(Shape::d3(n, t_len, 1), xs).unwrap();
    let mut init = Rng::stream(4, "init");
    let mut lstm = Lstm::new(1, 8, 1, false, &mut init).unwrap();
    let mut head = Linear::new(8, 2, true, &mut init).unwrap();
    module::prefix_names(&mut lstm, "lstm");
    module::prefix_names(&mut head, "fc");
    let mut opt = Adam::new(AdamConfig {
        lr: 0.03,
        ..AdamConfig::adam()
    })
    .unwrap();
    let mut last = f32::MAX;
    for _ in 0..150 {
        let grads = {
            let mut tape = Tape::new();
            let xv = tape.input(x.clone());
            let out = lstm.forward_with_state(&mut tape, &xv).unwrap();
            let logits = head.forward(&mut tape, &out.h_n[0]).unwrap();
            let loss = cross_entropy(&mut tape, &logits, &ys, &CrossEntropy::default()).unwrap();
            last = loss.value().data()[0];
            tape.backward(&loss).unwrap()
        };
        for p in [&mut lstm as &mut dyn Parameters<f32>, &mut head] {
            p.zero_grad();
            grads.accumulate_into(p).unwrap();
            opt.step(p).unwrap();
        }
    }
    assert!(last < 0.05, "final loss {last}");
}
