//! conv1d tests: the index function, a hand-computed example anchoring the naive twin, every
//! implementation against naive on random and awkward shapes (every ISA × thread count, f32 and
//! f64), determinism across thread counts, named errors, and regressions.

use super::im2col::{Geom, input_pos, valid_outputs};
use super::*;
use crate::parallel::with_isa_threads;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::testing::{
    AWKWARD_CONV_CASES, ConvCase, Rng, assert_close, cast_vec, isas_to_test, threads_to_test,
    tolerance,
};

const FAST_IMPLS: [Conv1dImpl; 5] = [
    Conv1dImpl::Auto,
    Conv1dImpl::Im2col,
    Conv1dImpl::Packed,
    Conv1dImpl::InPlace,
    Conv1dImpl::Direct,
];

/// Random inputs for a case, generated once in f64: x, w, b, dy.
struct Inputs {
    x: Vec<f64>,
    w: Vec<f64>,
    b: Vec<f64>,
    dy: Vec<f64>,
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
        w: v(case.c_out * case.c_in * case.k),
        b: v(case.c_out),
        dy: v(case.n * case.c_out * l_out),
    }
}

/// Forward, dx, dw, db of one implementation (dx/dw/db start from a non-zero value so the
/// accumulate contract is checked too).
fn run_all<T: Real>(imp: Conv1dImpl, case: &ConvCase, inp: &Inputs) -> [Vec<T>; 4] {
    let (dims, params) = (case.dims(), case.params());
    let g = dims.geom(&params);
    let (x, w, b, dy) = (
        cast_vec::<T>(&inp.x),
        cast_vec::<T>(&inp.w),
        cast_vec::<T>(&inp.b),
        cast_vec::<T>(&inp.dy),
    );
    let mut y = vec![T::from_f64(f64::NAN); g.n * g.c_out * g.l_out];
    imp.forward(&x, &w, Some(&b), &mut y, dims, &params);
    let mut dx = vec![T::from_f64(0.5); x.len()];
    imp.backward_input(&dy, &w, &mut dx, dims, &params);
    let mut dw = vec![T::from_f64(-0.25); w.len()];
    imp.backward_weight(&x, &dy, &mut dw, dims, &params);
    let mut db = vec![T::from_f64(1.5); b.len()];
    imp.backward_bias(&dy, &mut db, g.n, g.c_out, g.l_out);
    [y, dx, dw, db]
}

/// Checks every fast implementation against naive on `case`, for every ISA × thread count.
fn check_case<T: Real>(case: &ConvCase, seed: u64) {
    let params = case.params();
    if let Err(e) = params.out_len(case.l_in, case.k) {
        assert!(matches!(e, Error::EmptyOutput { .. }), "{case:?}: {e}");
        let x = Tensor::<T>::zeros(Shape::d3(case.n, case.c_in, case.l_in));
        let w = Tensor::<T>::zeros(Shape::d3(case.c_out, case.c_in, case.k));
        let err = conv1d(&x, &w, None, params).expect_err("nothing fits");
        assert!(matches!(err, Error::EmptyOutput { .. }), "{case:?}: {err}");
        return;
    }
    let inp = inputs(case, seed);
    let want = run_all::<T>(Conv1dImpl::Naive, case, &inp);
    let g = case.dims().geom(&params);
    let reductions = [g.kdim(), g.c_out * g.k, g.n * g.l_out, g.n * g.l_out];
    let names = ["forward", "dx", "dw", "db"];
    for isa in isas_to_test() {
        for threads in threads_to_test() {
            with_isa_threads(isa, threads, || {
                for imp in FAST_IMPLS {
                    let got = run_all::<T>(imp, case, &inp);
                    for i in 0..4 {
                        let (atol, rtol) = tolerance::<T>(reductions[i]);
                        let ctx = format!(
                            "{} {imp:?} {} isa {isa} threads {threads} seed {seed} {case:?}",
                            names[i],
                            T::NAME
                        );
                        assert_close(&got[i], &want[i], atol, rtol, &ctx);
                    }
                }
            })
            .expect("ISA listed as available");
        }
    }
}

#[test]
fn index_function_and_its_inverse_agree() {
    let mut rng = Rng::new(7);
    for _ in 0..500 {
        let case = ConvCase::random(&mut rng);
        let mut g = case.dims().geom(&case.params());
        // Also exercise negative padding (the flipped geometry of the input gradient).
        if rng.below(3) == 0 {
            g.padding = -(rng.below(4) as isize);
        }
        for j in 0..g.k {
            let r = valid_outputs(&g, j);
            for t in 0..g.l_out {
                assert_eq!(
                    input_pos(&g, t, j).is_some(),
                    r.contains(&t),
                    "{g:?} t {t} j {j}"
                );
            }
        }
    }
}

#[test]
fn out_len_formula() {
    let p = |stride, padding, dilation| Conv1dParams {
        stride,
        padding,
        dilation,
    };
    assert_eq!(p(1, 0, 1).out_len(10, 3).unwrap(), 8);
    assert_eq!(p(2, 0, 1).out_len(10, 3).unwrap(), 4); // positions 0,2,4,6 (+8 would need 10)
    assert_eq!(p(1, 2, 1).out_len(187, 5).unwrap(), 187);
    assert_eq!(p(1, 0, 2).out_len(10, 3).unwrap(), 6);
    assert_eq!(p(3, 1, 1).out_len(24, 4).unwrap(), 8);
    assert_eq!(p(1, 3, 1).out_len(3, 9).unwrap(), 1);
}

/// Anchors the naive twin itself: x = [1, 2, 3, 4, 5], w = [1, 0, −1], b = 0.5, stride 2,
/// padding 1: output t reads positions 2t − 1, 2t, 2t + 1, so
/// y = [0 − 2, 2 − 4, 4 − 0] + 0.5 = [−1.5, −1.5, 4.5] (positions −1 and 5 are padding).
#[test]
fn naive_matches_hand_computed_example() {
    let x = Tensor::from_vec(Shape::d3(1, 1, 5), vec![1.0f64, 2.0, 3.0, 4.0, 5.0]).unwrap();
    let w = Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0f64, 0.0, -1.0]).unwrap();
    let b = Tensor::from_vec(Shape::d1(1), vec![0.5f64]).unwrap();
    let params = Conv1dParams {
        stride: 2,
        padding: 1,
        dilation: 1,
    };
    let y = conv1d_with(Conv1dImpl::Naive, &x, &w, Some(&b), params).unwrap();
    assert_eq!(y.data(), &[-1.5, -1.5, 4.5]);
    // dy = [1, 2, 3]; dx[i] = Σ w[j]·dy[t] over 2t − 1 + j = i: i=0: (t=0, j=1) → 0;
    // i=1: (0, 2) −1 + (1, 0) 2 = 1; i=2: (1, 1) → 0; i=3: (1, 2) −2 + (2, 0) 3 = 1; i=4: 0.
    let dy = Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0f64, 2.0, 3.0]).unwrap();
    let g =
        conv1d_backward_with(Conv1dImpl::Naive, &x, &w, &dy, params, Conv1dNeeds::all()).unwrap();
    assert_eq!(g.dx.unwrap().data(), &[0.0, 1.0, 0.0, 1.0, 0.0]);
    // dw[j] = Σ_t dy[t]·x[2t − 1 + j]: j=0: 1·0 + 2·2 + 3·4 = 16; j=1: 1·1 + 2·3 + 3·5 = 22;
    // j=2: 1·2 + 2·4 + 3·0 = 10 (x[5] is padding).
    assert_eq!(g.dw.unwrap().data(), &[16.0, 22.0, 10.0]);
    assert_eq!(g.db.unwrap().data(), &[6.0]);
}

#[test]
fn conv1d_matches_naive_awkward() {
    for (i, case) in AWKWARD_CONV_CASES.iter().enumerate() {
        check_case::<f32>(case, 100 + i as u64);
        check_case::<f64>(case, 100 + i as u64);
    }
}

#[test]
fn conv1d_matches_naive_random() {
    let mut rng = Rng::new(2024);
    for i in 0..40 {
        let case = ConvCase::random(&mut rng);
        let seed = 1000 + i;
        check_case::<f32>(&case, seed);
        check_case::<f64>(&case, seed);
    }
}

#[test]
fn conv1d_results_bit_identical_across_thread_counts() {
    let cases = AWKWARD_CONV_CASES
        .iter()
        .filter(|c| c.name.starts_with("above the grain"));
    for case in cases {
        let inp = inputs(case, 5);
        for isa in isas_to_test() {
            let run = |threads| {
                with_isa_threads(isa, threads, || {
                    run_all::<f32>(Conv1dImpl::Auto, case, &inp)
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

/// Burn and candle once derived the input-gradient length from the output length and lost the
/// trailing input positions a strided kernel never reads. dx must keep the input's shape, with
/// zeros where no output looked.
#[test]
fn conv1d_backward_shape_when_stride_leaves_remainder() {
    // L_in = 10, K = 3, stride 2: outputs read 0..3, 2..5, 4..7, 6..9; position 9 is never read.
    let x = Tensor::from_vec(Shape::d3(1, 2, 10), (0..20).map(|v| v as f32).collect()).unwrap();
    let w = Tensor::from_vec(Shape::d3(3, 2, 3), vec![1.0f32; 18]).unwrap();
    let params = Conv1dParams {
        stride: 2,
        ..Default::default()
    };
    let y = conv1d(&x, &w, None, params).unwrap();
    assert_eq!(y.dims(), &[1, 3, 4]);
    let dy = Tensor::from_vec(y.shape(), vec![1.0f32; 12]).unwrap();
    for imp in [
        Conv1dImpl::Naive,
        Conv1dImpl::Im2col,
        Conv1dImpl::Packed,
        Conv1dImpl::InPlace,
        Conv1dImpl::Auto,
    ] {
        let g = conv1d_backward_with(imp, &x, &w, &dy, params, Conv1dNeeds::all()).unwrap();
        let dx = g.dx.unwrap();
        assert_eq!(dx.dims(), x.dims(), "{imp:?}");
        // Each channel: positions 0, 1 read once (t=0); 2 read twice (t=0 j=2, t=1 j=0); …;
        // 8 read by t=3 only; 9 never. Three output channels of weight 1 each.
        let per_channel = [3.0, 3.0, 6.0, 3.0, 6.0, 3.0, 6.0, 3.0, 3.0, 0.0];
        assert_eq!(&dx.data()[..10], &per_channel, "{imp:?}");
        assert_eq!(&dx.data()[10..], &per_channel, "{imp:?}");
        assert_eq!(g.dw.unwrap().dims(), w.dims());
    }
}

#[test]
fn conv1d_errors_name_the_problem() {
    let x = Tensor::<f32>::zeros(Shape::d3(32, 12, 3600));
    let w = Tensor::<f32>::zeros(Shape::d3(16, 1, 7));
    let err = conv1d(&x, &w, None, Conv1dParams::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "conv1d: input has 12 channels but weight expects 1 (input [32, 12, 3600], weight [16, 1, 7])"
    );

    let x = Tensor::<f32>::zeros(Shape::d3(2, 3, 10));
    let w = Tensor::<f32>::zeros(Shape::d3(4, 3, 3));
    for (name, params) in [
        (
            "stride",
            Conv1dParams {
                stride: 0,
                ..Default::default()
            },
        ),
        (
            "dilation",
            Conv1dParams {
                dilation: 0,
                ..Default::default()
            },
        ),
    ] {
        let err = conv1d(&x, &w, None, params).unwrap_err();
        assert!(
            matches!(err, Error::InvalidParam { name: n, .. } if n == name),
            "{err}"
        );
        assert!(err.to_string().contains(&format!("{name} = 0")), "{err}");
    }

    let b = Tensor::<f32>::zeros(Shape::d1(5));
    let err = conv1d(&x, &w, Some(&b), Conv1dParams::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ShapeMismatch {
                lhs_name: "bias",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("bias must be [4]"), "{err}");

    let x2 = Tensor::<f32>::zeros(Shape::d2(3, 10));
    let err = conv1d(&x2, &w, None, Conv1dParams::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadRank {
                arg: "input",
                expected: 3,
                ..
            }
        ),
        "{err}"
    );
    let w2 = Tensor::<f32>::zeros(Shape::d4(4, 3, 3, 1));
    let err = conv1d(&x, &w2, None, Conv1dParams::default()).unwrap_err();
    assert!(matches!(err, Error::BadRank { arg: "weight", .. }), "{err}");

    let short = Tensor::<f32>::zeros(Shape::d3(2, 3, 2));
    let err = conv1d(&short, &w, None, Conv1dParams::default()).unwrap_err();
    assert!(matches!(err, Error::EmptyOutput { .. }), "{err}");
    assert!(err.to_string().contains("kernel spans 3 samples"), "{err}");

    let empty = Tensor::<f32>::zeros(Shape::d3(0, 3, 10));
    let err = conv1d(&empty, &w, None, Conv1dParams::default()).unwrap_err();
    assert!(
        matches!(err, Error::InvalidParam { name: "input", .. }),
        "{err}"
    );

    let dy = Tensor::<f32>::zeros(Shape::d3(2, 4, 7)); // should be L_out = 8
    let err =
        conv1d_backward(&x, &w, &dy, Conv1dParams::default(), Conv1dNeeds::all()).unwrap_err();
    assert!(
        matches!(err, Error::ShapeMismatch { lhs_name: "dy", .. }),
        "{err}"
    );
}

#[test]
fn conv1d_backward_computes_only_what_is_needed() {
    let x = Tensor::<f64>::zeros(Shape::d3(2, 3, 10));
    let w = Tensor::<f64>::zeros(Shape::d3(4, 3, 3));
    let dy = Tensor::<f64>::zeros(Shape::d3(2, 4, 8));
    let needs = Conv1dNeeds {
        weight: true,
        ..Default::default()
    };
    let g = conv1d_backward(&x, &w, &dy, Conv1dParams::default(), needs).unwrap();
    assert!(g.dx.is_none() && g.db.is_none());
    assert_eq!(g.dw.unwrap().dims(), &[4, 3, 3]);
}

#[test]
fn geometry_of_flipped_padding_is_signed() {
    // padding > d·(K−1) makes the flipped input-gradient conv use negative padding.
    let g = Geom {
        n: 1,
        c_in: 1,
        c_out: 1,
        l_in: 5,
        l_out: 9,
        k: 3,
        stride: 1,
        dilation: 1,
        padding: -1,
    };
    assert_eq!(input_pos(&g, 0, 0), Some(1));
    assert_eq!(input_pos(&g, 4, 0), None);
    assert_eq!(valid_outputs(&g, 0), 0..4);
    assert_eq!(valid_outputs(&g, 2), 0..2);
}

/// The packers' precomputed plan must agree with the index function at every valid position.
#[test]
fn tap_plan_matches_index_function() {
    let mut rng = Rng::new(8);
    for _ in 0..300 {
        let case = ConvCase::random(&mut rng);
        let g = case.dims().geom(&case.params());
        for (p, tap) in super::packed::plan_taps(&g).iter().enumerate() {
            let (c, j) = (p / g.k, p % g.k);
            assert_eq!(tap.lo..tap.hi, valid_outputs(&g, j), "{g:?} p {p}");
            for t in tap.lo..tap.hi {
                let pos = input_pos(&g, t, j).expect("valid");
                assert_eq!(
                    tap.off + (t * g.stride) as isize,
                    (c * g.l_in + pos) as isize
                );
            }
        }
    }
}
