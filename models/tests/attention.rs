//! TemporalAttention tests: names and shapes, the forward and the weights α against an f64
//! reference written from the formulas, tape gradients (input and every parameter) against
//! central finite differences of that reference, and input validation.

use ecgrad_models::autograd::engine::{Rng, Shape, Tensor};
use ecgrad_models::autograd::{Parameters, Tape};
use ecgrad_models::layers::TemporalAttention;
use ecgrad_models::{Module, module};

/// The f64 reference: (context `[n, F]`, α `[n, T]`) from W `[A, F]`, b, v `[A]`, x `[n, T, F]`.
fn reference(
    w: &[f64],
    b: &[f64],
    v: &[f64],
    x: &[f64],
    (n, t_len, f): (usize, usize, usize),
) -> (Vec<f64>, Vec<f64>) {
    let a = b.len();
    let mut ctx = vec![0.0; n * f];
    let mut alpha = vec![0.0; n * t_len];
    for s in 0..n {
        let e: Vec<f64> = (0..t_len)
            .map(|t| {
                let h = &x[(s * t_len + t) * f..][..f];
                (0..a)
                    .map(|k| {
                        let z: f64 = b[k] + (0..f).map(|j| w[k * f + j] * h[j]).sum::<f64>();
                        v[k] * z.tanh()
                    })
                    .sum()
            })
            .collect();
        let m = e.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = e.iter().map(|&ei| (ei - m).exp()).sum();
        for t in 0..t_len {
            alpha[s * t_len + t] = (e[t] - m).exp() / z;
            for j in 0..f {
                ctx[s * f + j] += alpha[s * t_len + t] * x[(s * t_len + t) * f + j];
            }
        }
    }
    (ctx, alpha)
}

fn f64s(t: &Tensor<f32>) -> Vec<f64> {
    t.data().iter().map(|&v| v as f64).collect()
}

#[test]
fn names_shapes_and_validation() {
    let mut rng = Rng::stream(1, "init");
    let mut att = TemporalAttention::new(6, 4, &mut rng).unwrap();
    module::prefix_names(&mut att, "attention");
    let got: Vec<(String, Vec<usize>)> = module::named_shapes(&mut att)
        .into_iter()
        .map(|(n, s)| (n, s.dims().to_vec()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("attention.weight".to_string(), vec![4, 6]),
            ("attention.bias".to_string(), vec![4]),
            ("attention.context".to_string(), vec![4]),
        ]
    );
    // Linear default U(±1/√F) for W and b, U(±1/√A) for v.
    let (bf, ba) = (1.0 / 6f32.sqrt(), 1.0 / 4f32.sqrt());
    assert!(att.weight.value.data().iter().all(|v| v.abs() <= bf));
    assert!(att.context.value.data().iter().all(|v| v.abs() <= ba));
    let mut tape = Tape::no_grad();
    let x = tape.input(Tensor::zeros(Shape::d3(2, 5, 6)));
    assert_eq!(att.forward(&mut tape, &x).unwrap().shape(), Shape::d2(2, 6));
    let bad = tape.input(Tensor::zeros(Shape::d3(2, 5, 7)));
    let e = att.forward(&mut tape, &bad).unwrap_err().to_string();
    assert!(e.contains("TemporalAttention"), "{e}");
    assert!(TemporalAttention::new(0, 4, &mut rng).is_err());
}

#[test]
fn forward_and_weights_match_the_f64_reference() {
    let (n, t_len, f, a) = (3, 46, 5, 7);
    let mut rng = Rng::stream(2, "init");
    let att = TemporalAttention::new(f, a, &mut rng).unwrap();
    let x = Tensor::from_vec(Shape::d3(n, t_len, f), rng.vec_f32(n * t_len * f)).unwrap();
    let mut tape = Tape::no_grad();
    let xv = tape.input(x.clone());
    let (ctx, alpha) = att.forward_with_weights(&mut tape, &xv).unwrap();
    let (want_ctx, want_alpha) = reference(
        &f64s(&att.weight.value),
        &f64s(&att.bias.value),
        &f64s(&att.context.value),
        &f64s(&x),
        (n, t_len, f),
    );
    assert_eq!(alpha.shape(), Shape::d2(n, t_len));
    for (k, (g, w)) in alpha.data().iter().zip(&want_alpha).enumerate() {
        assert!((*g as f64 - w).abs() < 1e-6, "alpha[{k}] {g} vs {w}");
    }
    for (k, (g, w)) in ctx.value().data().iter().zip(&want_ctx).enumerate() {
        assert!((*g as f64 - w).abs() < 1e-5, "context[{k}] {g} vs {w}");
    }
    for s in 0..n {
        let total: f32 = alpha.data()[s * t_len..(s + 1) * t_len].iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
    }
}

#[test]
fn tape_gradients_match_finite_differences_of_the_reference() {
    let (n, t_len, f, a) = (2, 5, 3, 4);
    let mut rng = Rng::stream(3, "init");
    let mut att = TemporalAttention::new(f, a, &mut rng).unwrap();
    // Larger v than the default so the scores vary and every path carries weight.
    att.context
        .value
        .data_mut()
        .iter_mut()
        .for_each(|v| *v *= 3.0);
    let x = Tensor::from_vec(Shape::d3(n, t_len, f), rng.vec_f32(n * t_len * f)).unwrap();
    let r = Tensor::from_vec(Shape::d2(n, f), rng.vec_f32(n * f)).unwrap();
    let mut tape = Tape::new();
    let xv = tape.leaf(x.clone(), true);
    let y = att.forward(&mut tape, &xv).unwrap();
    let grads = tape.backward_from(&y, r.clone(), &[]).unwrap();

    let mut inputs = vec![
        f64s(&att.weight.value),
        f64s(&att.bias.value),
        f64s(&att.context.value),
        f64s(&x),
    ];
    let rd = f64s(&r);
    let loss = |p: &[Vec<f64>]| -> f64 {
        let (ctx, _) = reference(&p[0], &p[1], &p[2], &p[3], (n, t_len, f));
        ctx.iter().zip(&rd).map(|(a, b)| a * b).sum()
    };
    let mut analytic: Vec<Vec<f64>> = ["weight", "bias", "context"]
        .iter()
        .map(|name| f64s(&grads.param(name).unwrap().expect("gradient")))
        .collect();
    analytic.push(f64s(grads.get(xv.id()).expect("dx")));
    let names = ["weight", "bias", "context", "x"];
    let eps = 1e-6;
    for i in 0..4 {
        for k in 0..inputs[i].len() {
            let x0 = inputs[i][k];
            inputs[i][k] = x0 + eps;
            let lp = loss(&inputs);
            inputs[i][k] = x0 - eps;
            let lm = loss(&inputs);
            inputs[i][k] = x0;
            let fd = (lp - lm) / (2.0 * eps);
            let got = analytic[i][k];
            assert!(
                (got - fd).abs() <= 1e-5 + 1e-3 * fd.abs(),
                "d{}[{k}]: tape {got} vs finite difference {fd}",
                names[i]
            );
        }
    }
    // Every parameter of the layer got a gradient (no path silently dropped).
    let mut count = 0;
    att.visit_params(&mut |p| {
        assert!(grads.param(&p.name).unwrap().is_some(), "{}", p.name);
        count += 1;
    });
    assert_eq!(count, 3);
}
