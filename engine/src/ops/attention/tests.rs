//! Attention kernels: fast vs naive (every ISA × thread count, f32 and f64), finite differences
//! in f64 for every input (h, W, b, v), a hand-computed example, bit-identical across threads.

use super::*;
use crate::ops::elementwise::testkit::{bits, for_each_isa_threads, random};
use crate::testing::{Rng, assert_close, tolerance};

struct Case<T> {
    d: AttentionDims,
    h: Vec<T>,
    w: Vec<T>,
    b: Vec<T>,
    v: Vec<T>,
}

impl<T: Real> Case<T> {
    fn new(seed: u64, d: AttentionDims) -> Case<T> {
        let mut rng = Rng::new(seed);
        Case {
            d,
            h: random(&mut rng, d.n * d.t * d.f),
            w: random(&mut rng, d.a * d.f),
            b: random(&mut rng, d.a),
            v: random(&mut rng, d.a),
        }
    }
    fn weights(&self) -> AttentionWeights<'_, T> {
        AttentionWeights {
            w: &self.w,
            b: &self.b,
            v: &self.v,
        }
    }
}

#[derive(Clone, Debug)]
struct Grads<T> {
    dh: Vec<T>,
    dw: Vec<T>,
    db: Vec<T>,
    dv: Vec<T>,
}

impl<T: Real> Grads<T> {
    /// Random initial values, so that accumulation is tested too.
    fn new(rng: &mut Rng, d: AttentionDims) -> Grads<T> {
        Grads {
            dh: random(rng, d.n * d.t * d.f),
            dw: random(rng, d.a * d.f),
            db: random(rng, d.a),
            dv: random(rng, d.a),
        }
    }
    fn zeros(d: AttentionDims) -> Grads<T> {
        Grads {
            dh: vec![T::ZERO; d.n * d.t * d.f],
            dw: vec![T::ZERO; d.a * d.f],
            db: vec![T::ZERO; d.a],
            dv: vec![T::ZERO; d.a],
        }
    }
    fn view(&mut self) -> AttentionGrads<'_, T> {
        AttentionGrads {
            dh: &mut self.dh,
            dw: &mut self.dw,
            db: &mut self.db,
            dv: &mut self.dv,
        }
    }
}

fn attention_matches_naive<T: Real>() {
    let mut idx = 0u64;
    let mut dims = Vec::new();
    for n in [1, 3, 8] {
        for t in [1, 5, 46] {
            for f in [1, 5, 128] {
                for a in [1, 7, 64] {
                    dims.push(AttentionDims { n, t, f, a });
                }
            }
        }
    }
    // One batch whose per-sample work is above the rayon grain in total.
    dims.push(AttentionDims {
        n: 64,
        t: 46,
        f: 64,
        a: 32,
    });
    for d in dims {
        idx += 1;
        let seed = 500 + idx;
        let case = Case::<T>::new(seed, d);
        let mut rng = Rng::new(seed + 3);
        let dctx: Vec<T> = random(&mut rng, d.n * d.f);
        let init = Grads::<T>::new(&mut rng, d);
        let want = attention_forward_naive(d, &case.h, &case.weights());
        let mut want_g = init.clone();
        attention_backward_naive(d, &case.h, &case.weights(), &want, &dctx, want_g.view());
        let (atol, rtol) = tolerance::<T>(d.f + d.a + d.n * d.t);
        for_each_isa_threads(|ctx| {
            let ctx = format!("{} {d:?} seed {seed}, {ctx}", T::NAME);
            let got = attention_forward(d, &case.h, &case.weights());
            assert_close(&got.u, &want.u, atol, rtol, &format!("{ctx} u"));
            assert_close(&got.alpha, &want.alpha, atol, rtol, &format!("{ctx} alpha"));
            assert_close(
                &got.context,
                &want.context,
                atol,
                rtol,
                &format!("{ctx} ctx"),
            );
            let mut g = init.clone();
            attention_backward(d, &case.h, &case.weights(), &want, &dctx, g.view());
            assert_close(&g.dh, &want_g.dh, atol, rtol, &format!("{ctx} dh"));
            assert_close(&g.dw, &want_g.dw, atol, rtol, &format!("{ctx} dw"));
            assert_close(&g.db, &want_g.db, atol, rtol, &format!("{ctx} db"));
            assert_close(&g.dv, &want_g.dv, atol, rtol, &format!("{ctx} dv"));
        });
    }
}

#[test]
fn attention_matches_naive_random_f32() {
    attention_matches_naive::<f32>();
}

#[test]
fn attention_matches_naive_random_f64() {
    attention_matches_naive::<f64>();
}

fn loss(case: &Case<f64>, r: &[f64]) -> f64 {
    let s = attention_forward_naive(case.d, &case.h, &case.weights());
    s.context.iter().zip(r).map(|(c, r)| c * r).sum()
}

fn field_h(c: &mut Case<f64>) -> &mut Vec<f64> {
    &mut c.h
}
fn field_w(c: &mut Case<f64>) -> &mut Vec<f64> {
    &mut c.w
}
fn field_b(c: &mut Case<f64>) -> &mut Vec<f64> {
    &mut c.b
}
fn field_v(c: &mut Case<f64>) -> &mut Vec<f64> {
    &mut c.v
}

/// Central differences of Σ r ⊙ context for every input (h, W, b, v), f64.
#[test]
fn attention_gradcheck_every_input() {
    let d = AttentionDims {
        n: 2,
        t: 4,
        f: 3,
        a: 5,
    };
    let case = Case::<f64>::new(11, d);
    let r: Vec<f64> = random(&mut Rng::new(12), d.n * d.f);
    let saved = attention_forward(d, &case.h, &case.weights());
    let mut g = Grads::<f64>::zeros(d);
    attention_backward(d, &case.h, &case.weights(), &saved, &r, g.view());
    type Field = fn(&mut Case<f64>) -> &mut Vec<f64>;
    let inputs: [(&str, Field, &[f64]); 4] = [
        ("h", field_h, &g.dh),
        ("w", field_w, &g.dw),
        ("b", field_b, &g.db),
        ("v", field_v, &g.dv),
    ];
    for (name, field, analytic) in inputs {
        let mut probe = Case::<f64>::new(11, d);
        let len = field(&mut probe).len();
        let mut numeric = vec![0.0; len];
        for (i, num) in numeric.iter_mut().enumerate() {
            let x0 = field(&mut probe)[i];
            let eps = 1e-6 * x0.abs().max(1.0);
            field(&mut probe)[i] = x0 + eps;
            let up = loss(&probe, &r);
            field(&mut probe)[i] = x0 - eps;
            let down = loss(&probe, &r);
            field(&mut probe)[i] = x0;
            *num = (up - down) / (2.0 * eps);
        }
        assert_close(analytic, &numeric, 1e-8, 1e-5, &format!("gradcheck {name}"));
    }
}

/// One sample, two steps, one feature, one attention unit: W = 1, b = 0, v = 1, h = (0, ln 3).
/// u = (tanh 0, tanh ln 3) = (0, 0.8), so e = (0, 0.8), α₂ = 1/(1 + e^−0.8), context = α₂·ln 3.
#[test]
fn attention_hand_computed_two_steps() {
    let d = AttentionDims {
        n: 1,
        t: 2,
        f: 1,
        a: 1,
    };
    let l3 = 3f64.ln();
    let h = [0.0, l3];
    let w = AttentionWeights {
        w: &[1.0],
        b: &[0.0],
        v: &[1.0],
    };
    let a2 = 1.0 / (1.0 + (-0.8f64).exp()); // 0.689974481127612…
    for s in [
        attention_forward_naive(d, &h, &w),
        attention_forward(d, &h, &w),
    ] {
        assert_close(&s.u, &[0.0, 0.8], 1e-15, 1e-14, "u");
        assert_close(&s.alpha, &[1.0 - a2, a2], 1e-15, 1e-14, "alpha");
        assert_close(&s.context, &[a2 * l3], 1e-15, 1e-14, "context");
        // With dctx = 1: dα = h = (0, ln 3); de = α ⊙ (dα − ⟨α, dα⟩) = (−α₁α₂ ln 3, α₁α₂ ln 3).
        let de2 = (1.0 - a2) * a2 * l3;
        let mut g = Grads::<f64>::zeros(d);
        attention_backward(d, &h, &w, &s, &[1.0], g.view());
        // dv = Σ deₜ uₜ = de₂·0.8; dũₜ = deₜ·v·(1 − uₜ²) = (−de₂, 0.36·de₂); db = Σ dũ.
        assert_close(&g.dv, &[de2 * 0.8], 1e-15, 1e-13, "dv");
        assert_close(&g.db, &[-de2 + 0.36 * de2], 1e-15, 1e-13, "db");
        // dW = Σ dũₜ hₜ = 0.36·de₂·ln 3; dhₜ = αₜ + W·dũₜ.
        assert_close(&g.dw, &[0.36 * de2 * l3], 1e-15, 1e-13, "dw");
        assert_close(
            &g.dh,
            &[1.0 - a2 - de2, a2 + 0.36 * de2],
            1e-15,
            1e-13,
            "dh",
        );
    }
}

/// Outputs and gradients are bit-identical at 1 and 2 threads, above the rayon grain.
#[test]
fn attention_bit_identical_across_threads() {
    let d = AttentionDims {
        n: 64,
        t: 46,
        f: 64,
        a: 32,
    };
    let case = Case::<f32>::new(21, d);
    let dctx: Vec<f32> = random(&mut Rng::new(22), d.n * d.f);
    let run = |threads| {
        crate::parallel::with_threads(threads, || {
            let s = attention_forward(d, &case.h, &case.weights());
            let mut g = Grads::<f32>::new(&mut Rng::new(23), d);
            attention_backward(d, &case.h, &case.weights(), &s, &dctx, g.view());
            (s, g)
        })
    };
    let (s1, g1) = run(1);
    let (s2, g2) = run(2);
    assert_eq!(bits(&s1.context), bits(&s2.context));
    assert_eq!(bits(&g1.dh), bits(&g2.dh));
    assert_eq!(bits(&g1.dw), bits(&g2.dw));
    assert_eq!(bits(&g1.db), bits(&g2.db));
    assert_eq!(bits(&g1.dv), bits(&g2.dv));
}

/// The tensor layer matches the kernels and names the wrong tensor in its errors.
#[test]
fn attention_pool_tensor_layer_and_errors() {
    use crate::shape::Shape;
    use crate::tensor::Tensor;
    let d = AttentionDims {
        n: 2,
        t: 3,
        f: 4,
        a: 5,
    };
    let case = Case::<f64>::new(31, d);
    let t = |shape: Shape, v: &[f64]| Tensor::from_vec(shape, v.to_vec()).unwrap();
    let h = t(Shape::d3(2, 3, 4), &case.h);
    let w = t(Shape::d2(5, 4), &case.w);
    let b = t(Shape::d1(5), &case.b);
    let v = t(Shape::d1(5), &case.v);
    let (ctx, saved) = attention_pool(&h, &w, &b, &v).unwrap();
    let want = attention_forward_naive(d, &case.h, &case.weights());
    assert_close(ctx.data(), &want.context, 1e-12, 1e-12, "tensor context");
    let dctx = t(Shape::d2(2, 4), &random::<f64>(&mut Rng::new(32), 8));
    let g = attention_pool_backward(&h, &w, &b, &v, &saved, &dctx).unwrap();
    let mut want_g = Grads::<f64>::zeros(d);
    attention_backward_naive(
        d,
        &case.h,
        &case.weights(),
        &want,
        dctx.data(),
        want_g.view(),
    );
    assert_close(g.dh.data(), &want_g.dh, 1e-12, 1e-12, "tensor dh");
    assert_close(g.dv.data(), &want_g.dv, 1e-12, 1e-12, "tensor dv");

    let msg = |r: crate::Result<(Tensor<f64>, AttentionSaved<f64>)>| r.unwrap_err().to_string();
    let bad_w = Tensor::<f64>::zeros(Shape::d2(5, 3));
    assert!(msg(attention_pool(&h, &bad_w, &b, &v)).contains("weight expects 3"));
    let bad_v = Tensor::<f64>::zeros(Shape::d1(4));
    assert!(msg(attention_pool(&h, &w, &b, &bad_v)).contains("v must be [5]"));
    let flat = Tensor::<f64>::zeros(Shape::d2(6, 4));
    assert!(msg(attention_pool(&flat, &w, &b, &v)).contains("N, T, F"));
    let bad_d = Tensor::<f64>::zeros(Shape::d2(2, 5));
    let err = attention_pool_backward(&h, &w, &b, &v, &saved, &bad_d).unwrap_err();
    assert!(err.to_string().contains("d_context"), "{err}");
}
