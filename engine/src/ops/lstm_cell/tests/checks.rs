//! Finite differences, the hand-computed example, fused vs composed, the tensor layer.

use super::*;

/// Loss = Σ r ⊙ hₜ + Σ q ⊙ cₜ of one cell step, in f64.
fn cell_loss(case: &Case<f64>, r: &[f64], q: &[f64]) -> f64 {
    let st = lstm_cell_forward_naive(case.d, case.cell(), &case.w());
    let a: f64 = st.h.iter().zip(r).map(|(h, r)| h * r).sum();
    let b: f64 = st.c.iter().zip(q).map(|(c, q)| c * q).sum();
    a + b
}

/// Central differences for every input of the cell (x, h, c, W_ih, W_hh, b_ih, b_hh).
#[test]
fn lstm_cell_gradcheck_every_input() {
    let (n, f, h) = (3, 4, 5);
    let case = Case::<f64>::new(7, n, f, h, 1);
    let mut rng = Rng::new(8);
    let r: Vec<f64> = random(&mut rng, n * h);
    let q: Vec<f64> = random(&mut rng, n * h);
    let saved = lstm_cell_forward(case.d, case.cell(), &case.w());
    let mut g = Grads::<f64> {
        dx: vec![0.0; n * f],
        dh0: vec![0.0; n * h],
        dc0: vec![0.0; n * h],
        dw_ih: vec![0.0; 4 * h * f],
        dw_hh: vec![0.0; 4 * h * h],
        db: vec![0.0; 4 * h],
    };
    lstm_cell_backward(case.d, case.cell(), &case.w(), &saved, &r, &q, g.cell());
    type Field = fn(&mut Case<f64>) -> &mut Vec<f64>;
    let inputs: [(&str, Field, &[f64]); 7] = [
        ("x", |c| &mut c.x, &g.dx),
        ("h_prev", |c| &mut c.h0, &g.dh0),
        ("c_prev", |c| &mut c.c0, &g.dc0),
        ("w_ih", |c| &mut c.w_ih, &g.dw_ih),
        ("w_hh", |c| &mut c.w_hh, &g.dw_hh),
        ("b_ih", |c| &mut c.b_ih, &g.db),
        ("b_hh", |c| &mut c.b_hh, &g.db),
    ];
    for (name, field, analytic) in inputs {
        let mut probe = Case::<f64>::new(7, n, f, h, 1);
        let len = field(&mut probe).len();
        let mut numeric = vec![0.0; len];
        for (i, num) in numeric.iter_mut().enumerate() {
            let x0 = field(&mut probe)[i];
            let eps = 1e-6 * x0.abs().max(1.0);
            field(&mut probe)[i] = x0 + eps;
            let up = cell_loss(&probe, &r, &q);
            field(&mut probe)[i] = x0 - eps;
            let down = cell_loss(&probe, &r, &q);
            field(&mut probe)[i] = x0;
            *num = (up - down) / (2.0 * eps);
        }
        assert_close(analytic, &numeric, 1e-8, 1e-5, &format!("gradcheck {name}"));
    }
}

/// One unit, one sample, numbers chosen so every gate is exact: σ(0) = 1/2, σ(ln 3) = 3/4,
/// tanh(ln 2) = 3/5. Biases carry part of the pre-activations, to check both are added.
#[test]
fn lstm_cell_hand_computed_one_unit() {
    let (l2, l3) = (2f64.ln(), 3f64.ln());
    let d = LstmDims { n: 1, f: 1, h: 1 };
    let w = LstmWeights {
        w_ih: &[0.0, l3, 0.0, 0.0], // aⁱ = 0, aᶠ = ln 3 (times x = 1)
        w_hh: &[0.0; 4],
        b_ih: &[0.0, 0.0, l2, 0.0], // aᵍ = ln 2
        b_hh: &[0.0, 0.0, 0.0, l3], // aᵒ = ln 3
    };
    let inp = LstmCellInputs {
        x: &[1.0],
        h_prev: &[0.5],
        c_prev: &[0.4],
    };
    for st in [
        lstm_cell_forward_naive(d, inp, &w),
        lstm_cell_forward(d, inp, &w),
    ] {
        assert_close(&st.gates, &[0.5, 0.75, 0.6, 0.75], 1e-15, 1e-14, "gates");
        // c = f·c₋₁ + i·g = 0.75·0.4 + 0.5·0.6 = 0.6
        assert_close(&st.c, &[0.6], 1e-15, 1e-14, "c");
        // h = o·tanh(0.6) = 0.75 · 0.537049566998035…
        assert_close(&st.h, &[0.75 * 0.537_049_566_998_035_3], 1e-15, 1e-14, "h");
        // Backward with dh = 1, dc = 0: dc̃ = o(1 − tanh²c) = 0.75·(1 − 0.2884222…) = 0.5336833…
        let tc2 = 0.537_049_566_998_035_3f64 * 0.537_049_566_998_035_3;
        let dct = 0.75 * (1.0 - tc2);
        let mut g = Grads::<f64> {
            dx: vec![0.0],
            dh0: vec![0.0],
            dc0: vec![0.0],
            dw_ih: vec![0.0; 4],
            dw_hh: vec![0.0; 4],
            db: vec![0.0; 4],
        };
        let da = lstm_cell_backward(d, inp, &w, &st, &[1.0], &[0.0], g.cell());
        let want = [
            dct * 0.6 * 0.25,                 // daⁱ = dc̃·g·i(1−i)
            dct * 0.4 * 0.1875,               // daᶠ = dc̃·c₋₁·f(1−f)
            dct * 0.5 * 0.64,                 // daᵍ = dc̃·i·(1−g²)
            0.537_049_566_998_035_3 * 0.1875, // daᵒ = tanh(c)·o(1−o)
        ];
        assert_close(&da, &want, 1e-15, 1e-13, "dgates");
        assert_close(&g.dc0, &[dct * 0.75], 1e-15, 1e-13, "dc_prev = dc̃·f");
        // dW_ih = da·x with x = 1; dW_hh = da·h₋₁ with h₋₁ = 0.5; db = da.
        assert_close(&g.dw_ih, &want, 1e-15, 1e-13, "dw_ih");
        let half: Vec<f64> = want.iter().map(|v| v * 0.5).collect();
        assert_close(&g.dw_hh, &half, 1e-15, 1e-13, "dw_hh");
        assert_close(&g.db, &want, 1e-15, 1e-13, "db");
        // dx = Σⱼ daⱼ·W_ih[j] = daᶠ·ln 3.
        assert_close(&g.dx, &[want[1] * l3], 1e-15, 1e-13, "dx");
    }
}

/// The tensor layer matches the kernels (h_n, c_n are the last steps) and names the wrong
/// tensor in its errors.
#[test]
fn lstm_tensor_layer_and_errors() {
    use crate::shape::Shape;
    use crate::tensor::Tensor;
    let (n, f, h, steps) = (2, 3, 4, 5);
    let case = Case::<f64>::new(61, n, f, h, steps);
    let t = |shape: Shape, v: &[f64]| Tensor::from_vec(shape, v.to_vec()).unwrap();
    let x = t(Shape::d3(n, steps, f), &case.x);
    let h0 = t(Shape::d2(n, h), &case.h0);
    let c0 = t(Shape::d2(n, h), &case.c0);
    let w_ih = t(Shape::d2(4 * h, f), &case.w_ih);
    let w_hh = t(Shape::d2(4 * h, h), &case.w_hh);
    let b_ih = t(Shape::d1(4 * h), &case.b_ih);
    let b_hh = t(Shape::d1(4 * h), &case.b_hh);
    let w = LstmTensors {
        w_ih: &w_ih,
        w_hh: &w_hh,
        b_ih: &b_ih,
        b_hh: &b_hh,
    };
    let out = lstm(&x, Some((&h0, &c0)), w).unwrap();
    let want = lstm_forward_sequence_naive(case.d, steps, case.seq(), &case.w());
    assert_close(out.output.data(), &want.h, 1e-12, 1e-12, "output");
    let last = naive::gather_step(&want.h, n, steps, steps - 1, h);
    assert_close(out.h_n.data(), &last, 1e-12, 1e-12, "h_n");
    let last_c = naive::gather_step(&want.c, n, steps, steps - 1, h);
    assert_close(out.c_n.data(), &last_c, 1e-12, 1e-12, "c_n");
    // The inference path returns the same three tensors.
    let inf = lstm_inference(&x, Some((&h0, &c0)), w).unwrap();
    assert_close(inf.output.data(), &want.h, 1e-12, 1e-12, "inference output");
    assert_close(inf.h_n.data(), &last, 1e-12, 1e-12, "inference h_n");
    assert_close(inf.c_n.data(), &last_c, 1e-12, 1e-12, "inference c_n");
    let dout = t(
        Shape::d3(n, steps, h),
        &random::<f64>(&mut Rng::new(62), n * steps * h),
    );
    let g = lstm_backward(&x, Some((&h0, &c0)), w, &out.saved, &dout, None).unwrap();
    let mut want_g = Grads::<f64> {
        dx: vec![0.0; n * steps * f],
        dh0: vec![0.0; n * h],
        dc0: vec![0.0; n * h],
        dw_ih: vec![0.0; 4 * h * f],
        dw_hh: vec![0.0; 4 * h * h],
        db: vec![0.0; 4 * h],
    };
    lstm_backward_sequence_naive(
        case.d,
        steps,
        case.seq(),
        &case.w(),
        &want,
        LstmSeqUpstream::outputs(dout.data()),
        want_g.seq(),
    );
    assert_close(g.dx.data(), &want_g.dx, 1e-12, 1e-12, "dx");
    assert_close(g.dw_hh.data(), &want_g.dw_hh, 1e-12, 1e-12, "dw_hh");
    assert_close(g.db.data(), &want_g.db, 1e-12, 1e-12, "db");
    // Zero initial state when None.
    let zero = Tensor::<f64>::zeros(Shape::d2(n, h));
    let a = lstm(&x, None, w).unwrap();
    let b = lstm(&x, Some((&zero, &zero)), w).unwrap();
    assert_eq!(a.output.data(), b.output.data());

    let err = |r: crate::Result<LstmOutput<f64>>| r.unwrap_err().to_string();
    let bad_x = Tensor::<f64>::zeros(Shape::d3(n, steps, f + 1));
    assert!(err(lstm(&bad_x, None, w)).contains("weight_ih expects 3"));
    let bad_hh = Tensor::<f64>::zeros(Shape::d2(4 * h, h + 1));
    let w_bad = LstmTensors { w_hh: &bad_hh, ..w };
    assert!(err(lstm(&x, None, w_bad)).contains("weight_hh must be [16, 4]"));
    let odd = Tensor::<f64>::zeros(Shape::d2(6, f));
    let w_odd = LstmTensors { w_ih: &odd, ..w };
    assert!(err(lstm(&x, None, w_odd)).contains("weight_ih rows"));
    let bad_h0 = Tensor::<f64>::zeros(Shape::d2(n + 1, h));
    assert!(err(lstm(&x, Some((&bad_h0, &c0)), w)).contains("h0 must be [N, H]"));
    let flat = Tensor::<f64>::zeros(Shape::d2(n, f));
    assert!(err(lstm(&flat, None, w)).contains("N, T, F"));
}

/// The fused cell matches the cell composed from the engine's separate ops (matmul with a
/// transposed weight, sigmoid/tanh and their backward kernels, elementwise products), in value
/// and in every gradient (DESIGN.md §2.6 point 5: composition is a free second reference).
#[test]
fn lstm_cell_fused_matches_composed_ops() {
    use crate::ops::activation::{sigmoid_backward, sigmoid_forward, tanh_backward, tanh_forward};
    use crate::ops::matmul::{
        MatmulDims, MatmulParams, matmul_backward_a, matmul_backward_b, matmul_forward,
    };
    let (n, f, h) = (5, 6, 7);
    let case = Case::<f64>::new(77, n, f, h, 1);
    let mut rng = Rng::new(78);
    let r: Vec<f64> = random(&mut rng, n * h);
    let q: Vec<f64> = random(&mut rng, n * h);
    let g4 = 4 * h;
    let tb = MatmulParams {
        trans_a: false,
        trans_b: true,
    };
    let dims = |k| MatmulDims {
        batch: 1,
        m: n,
        k,
        n: g4,
        b_batched: false,
    };
    // a = x·W_ihᵀ + h·W_hhᵀ + b_ih + b_hh
    let mut a = vec![0.0; n * g4];
    let mut a2 = vec![0.0; n * g4];
    matmul_forward(&case.x, &case.w_ih, &mut a, dims(f), tb);
    matmul_forward(&case.h0, &case.w_hh, &mut a2, dims(h), tb);
    for s in 0..n {
        for j in 0..g4 {
            a[s * g4 + j] += a2[s * g4 + j] + case.b_ih[j] + case.b_hh[j];
        }
    }
    // Gate blocks as separate [N, H] tensors, each through its activation.
    let block = |src: &[f64], b: usize| -> Vec<f64> {
        (0..n)
            .flat_map(|s| src[s * g4 + b * h..s * g4 + (b + 1) * h].to_vec())
            .collect()
    };
    let act = |b: usize| {
        let pre = block(&a, b);
        let mut y = vec![0.0; n * h];
        if b == 2 {
            tanh_forward(&pre, &mut y);
        } else {
            sigmoid_forward(&pre, &mut y);
        }
        y
    };
    let (i, fg, g, o) = (act(0), act(1), act(2), act(3));
    let mul = |u: &[f64], v: &[f64]| -> Vec<f64> { u.iter().zip(v).map(|(a, b)| a * b).collect() };
    let c: Vec<f64> = mul(&fg, &case.c0)
        .iter()
        .zip(mul(&i, &g))
        .map(|(a, b)| a + b)
        .collect();
    let mut tc = vec![0.0; n * h];
    tanh_forward(&c, &mut tc);
    let hout = mul(&o, &tc);
    let fused = lstm_cell_forward(case.d, case.cell(), &case.w());
    assert_close(&fused.h, &hout, 1e-14, 1e-12, "composed h");
    assert_close(&fused.c, &c, 1e-14, 1e-12, "composed c");

    // Backward of Σ r⊙h + Σ q⊙c through the same ops.
    let mut dc = q.clone();
    tanh_backward(&tc, &mul(&r, &o), &mut dc); // dc += r⊙o⊙(1 − tc²)
    let d_pre = |y: &[f64], dy: &[f64], tanh: bool| {
        let mut dx = vec![0.0; n * h];
        if tanh {
            tanh_backward(y, dy, &mut dx);
        } else {
            sigmoid_backward(y, dy, &mut dx);
        }
        dx
    };
    let blocks = [
        d_pre(&i, &mul(&dc, &g), false),
        d_pre(&fg, &mul(&dc, &case.c0), false),
        d_pre(&g, &mul(&dc, &i), true),
        d_pre(&o, &mul(&r, &tc), false),
    ];
    let mut da = vec![0.0; n * g4];
    for (b, blk) in blocks.iter().enumerate() {
        for s in 0..n {
            da[s * g4 + b * h..s * g4 + (b + 1) * h].copy_from_slice(&blk[s * h..(s + 1) * h]);
        }
    }
    let mut want = Grads::<f64> {
        dx: vec![0.0; n * f],
        dh0: vec![0.0; n * h],
        dc0: mul(&dc, &fg),
        dw_ih: vec![0.0; g4 * f],
        dw_hh: vec![0.0; g4 * h],
        db: vec![0.0; g4],
    };
    matmul_backward_a(&da, &case.w_ih, &mut want.dx, dims(f), tb);
    matmul_backward_a(&da, &case.w_hh, &mut want.dh0, dims(h), tb);
    matmul_backward_b(&case.x, &da, &mut want.dw_ih, dims(f), tb);
    matmul_backward_b(&case.h0, &da, &mut want.dw_hh, dims(h), tb);
    for s in 0..n {
        for j in 0..g4 {
            want.db[j] += da[s * g4 + j];
        }
    }
    let mut got = Grads::<f64> {
        dx: vec![0.0; n * f],
        dh0: vec![0.0; n * h],
        dc0: vec![0.0; n * h],
        dw_ih: vec![0.0; g4 * f],
        dw_hh: vec![0.0; g4 * h],
        db: vec![0.0; g4],
    };
    let got_da = lstm_cell_backward(case.d, case.cell(), &case.w(), &fused, &r, &q, got.cell());
    assert_close(&got_da, &da, 1e-14, 1e-12, "composed dgates");
    got.assert_close(&want, 1e-14, 1e-12, "composed");
}
