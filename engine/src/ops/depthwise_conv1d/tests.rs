//! Depthwise conv1d tests: a hand-computed example anchoring the naive twin, the fast kernels
//! against naive on random and awkward shapes (every ISA × thread count, f32 and f64),
//! bit-identical results across thread counts, agreement with a dense conv1d whose off-diagonal
//! weights are zero, and named errors.

use super::*;
use crate::error::Error;
use crate::ops::conv1d::{Conv1dNeeds, conv1d};
use crate::parallel::with_isa_threads;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::testing::{
    AWKWARD_CONV_CASES, ConvCase, Rng, assert_close, cast_vec, isas_to_test, threads_to_test,
    tolerance,
};

/// Random inputs for a case (C = the case's `c_in`; its `c_out` is ignored), in f64.
struct Inputs {
    x: Vec<f64>,
    w: Vec<f64>,
    b: Vec<f64>,
    dy: Vec<f64>,
}

fn dims(case: &ConvCase) -> DepthwiseDims {
    DepthwiseDims {
        n: case.n,
        c: case.c_in,
        l_in: case.l_in,
        k: case.k,
    }
}

fn inputs(case: &ConvCase, seed: u64) -> Inputs {
    let l_out = case
        .params()
        .out_len(case.l_in, case.k)
        .expect("valid case");
    let mut rng = Rng::new(seed);
    let mut v = |len: usize| (0..len).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    Inputs {
        x: v(case.n * case.c_in * case.l_in),
        w: v(case.c_in * case.k),
        b: v(case.c_in),
        dy: v(case.n * case.c_in * l_out),
    }
}

/// y, dx, dw, db of one implementation; the gradients start from non-zero values so the
/// accumulate contract is checked too.
fn run_all<T: Real>(imp: DepthwiseConv1dImpl, case: &ConvCase, inp: &Inputs) -> [Vec<T>; 4] {
    let (d, params) = (dims(case), case.params());
    let l_out = params.out_len(case.l_in, case.k).expect("valid case");
    let (x, w, b, dy) = (
        cast_vec::<T>(&inp.x),
        cast_vec::<T>(&inp.w),
        cast_vec::<T>(&inp.b),
        cast_vec::<T>(&inp.dy),
    );
    let mut y = vec![T::from_f64(f64::NAN); d.n * d.c * l_out];
    imp.forward(&x, &w, Some(&b), &mut y, d, &params);
    let mut dx = vec![T::from_f64(0.5); x.len()];
    imp.backward_input(&dy, &w, &mut dx, d, &params);
    let mut dw = vec![T::from_f64(-0.25); w.len()];
    imp.backward_weight(&x, &dy, &mut dw, d, &params);
    let mut db = vec![T::from_f64(1.5); b.len()];
    imp.backward_bias(&dy, &mut db, d.n, d.c, l_out);
    [y, dx, dw, db]
}

fn check_case<T: Real>(case: &ConvCase, seed: u64) {
    let params = case.params();
    if params.out_len(case.l_in, case.k).is_err() {
        let x = Tensor::<T>::zeros(Shape::d3(case.n, case.c_in, case.l_in));
        let w = Tensor::<T>::zeros(Shape::d3(case.c_in, 1, case.k));
        let err = depthwise_conv1d(&x, &w, None, params).expect_err("nothing fits");
        assert!(matches!(err, Error::EmptyOutput { .. }), "{case:?}: {err}");
        return;
    }
    let inp = inputs(case, seed);
    let want = run_all::<T>(DepthwiseConv1dImpl::Naive, case, &inp);
    let l_out = params.out_len(case.l_in, case.k).expect("valid");
    let reductions = [case.k, case.k, case.n * l_out, case.n * l_out];
    for isa in isas_to_test() {
        for threads in threads_to_test() {
            with_isa_threads(isa, threads, || {
                let got = run_all::<T>(DepthwiseConv1dImpl::Auto, case, &inp);
                for (i, name) in ["forward", "dx", "dw", "db"].iter().enumerate() {
                    let (atol, rtol) = tolerance::<T>(reductions[i]);
                    let ctx = format!(
                        "{name} {} isa {isa} threads {threads} seed {seed} {case:?}",
                        T::NAME
                    );
                    assert_close(&got[i], &want[i], atol, rtol, &ctx);
                }
            })
            .expect("ISA listed as available");
        }
    }
}

/// x = [1, 2, 3, 4, 5] (channel 0) and [5, 4, 3, 2, 1] (channel 1), stride 2, padding 1,
/// kernels [1, 0, −1] and [1, 1, 1], biases 0.5 and 0: output t reads 2t − 1, 2t, 2t + 1, so
/// channel 0: [0 − 2, 2 − 4, 4 − 0] + 0.5 = [−1.5, −1.5, 4.5];
/// channel 1: [0 + 5 + 4, 4 + 3 + 2, 2 + 1 + 0] = [9, 9, 3].
#[test]
fn naive_matches_hand_computed_example() {
    let x = Tensor::from_vec(
        Shape::d3(1, 2, 5),
        vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 5.0, 4.0, 3.0, 2.0, 1.0],
    )
    .unwrap();
    let w = Tensor::from_vec(Shape::d3(2, 1, 3), vec![1.0f64, 0.0, -1.0, 1.0, 1.0, 1.0]).unwrap();
    let b = Tensor::from_vec(Shape::d1(2), vec![0.5f64, 0.0]).unwrap();
    let params = Conv1dParams {
        stride: 2,
        padding: 1,
        dilation: 1,
    };
    let y = depthwise_conv1d_with(DepthwiseConv1dImpl::Naive, &x, &w, Some(&b), params).unwrap();
    assert_eq!(y.data(), &[-1.5, -1.5, 4.5, 9.0, 9.0, 3.0]);
    // dy = [1, 2, 3] on both channels. Channel 0 as in conv1d's example: dx = [0, 1, 0, 1, 0],
    // dw = [16, 22, 10]. Channel 1 (all-ones kernel): dx[i] = Σ dy[t] over the t that read i:
    // i=0: t=0 → 1; i=1: t=0,1 → 3; i=2: t=1 → 2; i=3: t=1,2 → 5; i=4: t=2 → 3.
    // dw[j] = Σ_t dy[t]·x[2t − 1 + j]: j=0: 0 + 2·4 + 3·2 = 14; j=1: 5 + 2·3 + 3·1 = 14;
    // j=2: 4 + 2·2 + 0 = 8.
    let dy = Tensor::from_vec(Shape::d3(1, 2, 3), vec![1.0f64, 2.0, 3.0, 1.0, 2.0, 3.0]).unwrap();
    let g = depthwise_conv1d_backward_with(
        DepthwiseConv1dImpl::Naive,
        &x,
        &w,
        &dy,
        params,
        Conv1dNeeds::all(),
    )
    .unwrap();
    assert_eq!(
        g.dx.unwrap().data(),
        &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 3.0, 2.0, 5.0, 3.0]
    );
    assert_eq!(g.dw.unwrap().data(), &[16.0, 22.0, 10.0, 14.0, 14.0, 8.0]);
    assert_eq!(g.db.unwrap().data(), &[6.0, 6.0]);
}

#[test]
fn depthwise_conv1d_matches_naive_awkward() {
    for (i, case) in AWKWARD_CONV_CASES.iter().enumerate() {
        check_case::<f32>(case, 300 + i as u64);
        check_case::<f64>(case, 300 + i as u64);
    }
}

#[test]
fn depthwise_conv1d_matches_naive_random() {
    let mut rng = Rng::new(4242);
    for i in 0..40 {
        let case = ConvCase::random(&mut rng);
        check_case::<f32>(&case, 3000 + i);
        check_case::<f64>(&case, 3000 + i);
    }
}

/// A depthwise conv is a dense conv whose weight is zero off the channel diagonal: a second,
/// independent reference (the composition check of DESIGN.md §2.6).
#[test]
fn depthwise_equals_dense_conv_with_diagonal_weight() {
    let mut rng = Rng::new(17);
    for _ in 0..10 {
        let case = ConvCase::random(&mut rng);
        let (c, k) = (case.c_in, case.k);
        let inp = inputs(&case, 77);
        let x = Tensor::from_vec(Shape::d3(case.n, c, case.l_in), inp.x.clone()).unwrap();
        let w = Tensor::from_vec(Shape::d3(c, 1, k), inp.w.clone()).unwrap();
        let mut dense = vec![0.0f64; c * c * k];
        for ch in 0..c {
            dense[(ch * c + ch) * k..][..k].copy_from_slice(&inp.w[ch * k..][..k]);
        }
        let wd = Tensor::from_vec(Shape::d3(c, c, k), dense).unwrap();
        let y = depthwise_conv1d(&x, &w, None, case.params()).unwrap();
        let yd = conv1d(&x, &wd, None, case.params()).unwrap();
        assert_close(y.data(), yd.data(), 1e-12, 1e-12, &format!("{case:?}"));
    }
}

#[test]
fn depthwise_conv1d_bit_identical_across_thread_counts() {
    // Large enough to cross the parallel threshold: 8·64·9·500 ≈ 2.3 M multiply-adds.
    let cases = [
        ConvCase {
            name: "above the grain",
            n: 8,
            c_in: 64,
            c_out: 64,
            l_in: 500,
            k: 9,
            stride: 1,
            padding: 4,
            dilation: 1,
        },
        ConvCase {
            name: "above the grain, batch 1, stride 2",
            n: 1,
            c_in: 128,
            c_out: 128,
            l_in: 3000,
            k: 7,
            stride: 2,
            padding: 3,
            dilation: 2,
        },
    ];
    for case in &cases {
        let inp = inputs(case, 5);
        for isa in isas_to_test() {
            let run = |threads| {
                with_isa_threads(isa, threads, || {
                    run_all::<f32>(DepthwiseConv1dImpl::Auto, case, &inp)
                })
                .unwrap()
            };
            let one = run(1);
            for threads in threads_to_test() {
                let other = run(threads);
                for (what, (a, b)) in ["y", "dx", "dw", "db"].iter().zip(one.iter().zip(&other)) {
                    let first = a
                        .iter()
                        .zip(b)
                        .position(|(p, q)| p.to_bits() != q.to_bits());
                    assert_eq!(
                        first, None,
                        "{what} differs: {case:?} isa {isa} threads {threads}"
                    );
                }
            }
        }
    }
}

#[test]
fn depthwise_conv1d_errors_name_the_problem() {
    let x = Tensor::<f32>::zeros(Shape::d3(2, 4, 10));
    let w = Tensor::<f32>::zeros(Shape::d3(3, 1, 3));
    let err = depthwise_conv1d(&x, &w, None, Conv1dParams::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "depthwise_conv1d: weight must be [4, 1, K] (one kernel per input channel, groups = 4) \
         (input [2, 4, 10], weight [3, 1, 3])"
    );
    let w2 = Tensor::<f32>::zeros(Shape::d3(4, 2, 3));
    assert!(matches!(
        depthwise_conv1d(&x, &w2, None, Conv1dParams::default()),
        Err(Error::ShapeMismatch { .. })
    ));
    let w = Tensor::<f32>::zeros(Shape::d3(4, 1, 3));
    let b = Tensor::<f32>::zeros(Shape::d1(3));
    let err = depthwise_conv1d(&x, &w, Some(&b), Conv1dParams::default()).unwrap_err();
    assert!(err.to_string().contains("bias must be [4]"), "{err}");
    let params = Conv1dParams {
        stride: 0,
        ..Default::default()
    };
    assert!(matches!(
        depthwise_conv1d(&x, &w, None, params),
        Err(Error::InvalidParam { name: "stride", .. })
    ));
    let dy = Tensor::<f32>::zeros(Shape::d3(2, 4, 7));
    let err = depthwise_conv1d_backward(&x, &w, &dy, Conv1dParams::default(), Conv1dNeeds::all())
        .unwrap_err();
    assert!(
        matches!(err, Error::ShapeMismatch { lhs_name: "dy", .. }),
        "{err}"
    );
    let long = Tensor::<f32>::zeros(Shape::d3(4, 1, 11));
    assert!(matches!(
        depthwise_conv1d(&x, &long, None, Conv1dParams::default()),
        Err(Error::EmptyOutput { .. })
    ));
}
