//! conv_transpose1d tests: a hand-computed example, the adjoint identity with conv1d, every
//! implementation against the naive scatter loops on awkward and random shapes (every ISA ×
//! thread count, f32 and f64), and named errors.

use super::*;
use crate::ops::conv1d::conv1d_with;
use crate::parallel::with_isa_threads;
use crate::testing::{
    AWKWARD_CONV_CASES, ConvCase, Rng, assert_close, isas_to_test, threads_to_test, tolerance,
};

fn tensor<T: Real>(rng: &mut Rng, shape: Shape) -> Tensor<T> {
    let data = (0..shape.numel())
        .map(|_| T::from_f64(rng.uniform_range(-1.0, 1.0)))
        .collect();
    Tensor::from_vec(shape, data).expect("sizes match")
}

/// The transposed-conv parameters a conv case stands for, with an output padding.
fn params_of(case: &ConvCase, output_padding: usize) -> ConvTranspose1dParams {
    ConvTranspose1dParams {
        stride: case.stride,
        padding: case.padding,
        output_padding,
        dilation: case.dilation,
    }
}

fn check<T: Real>(case: &ConvCase, params: ConvTranspose1dParams, seed: u64) {
    let x_shape = Shape::d3(case.n, case.c_in, case.l_in);
    let w_shape = Shape::d3(case.c_in, case.c_out, case.k);
    let l_out = match params.out_len(case.l_in, case.k) {
        Ok(l) => l,
        Err(e) => {
            let x = Tensor::<T>::zeros(x_shape);
            let w = Tensor::<T>::zeros(w_shape);
            let err = conv_transpose1d(&x, &w, None, params).expect_err("invalid case");
            assert_eq!(err, e);
            return;
        }
    };
    let mut rng = Rng::new(seed);
    let x = tensor::<T>(&mut rng, x_shape);
    let w = tensor::<T>(&mut rng, w_shape);
    let b = tensor::<T>(&mut rng, Shape::d1(case.c_out));
    let dy = tensor::<T>(&mut rng, Shape::d3(case.n, case.c_out, l_out));
    let run = |imp| {
        let y = conv_transpose1d_with(imp, &x, &w, Some(&b), params).expect("valid");
        let g = conv_transpose1d_backward_with(imp, &x, &w, &dy, params, Conv1dNeeds::all())
            .expect("valid");
        [
            y,
            g.dx.expect("asked"),
            g.dw.expect("asked"),
            g.db.expect("asked"),
        ]
    };
    let want = run(Conv1dImpl::Naive);
    let red = [
        case.c_in * case.k,
        case.c_out * case.k,
        case.n * case.l_in,
        case.n * l_out,
    ];
    for isa in isas_to_test() {
        for threads in threads_to_test() {
            with_isa_threads(isa, threads, || {
                for imp in [Conv1dImpl::Auto, Conv1dImpl::Im2col, Conv1dImpl::Packed] {
                    let got = run(imp);
                    for (i, name) in ["forward", "dx", "dw", "db"].iter().enumerate() {
                        let (atol, rtol) = tolerance::<T>(red[i]);
                        let ctx = format!(
                            "conv_transpose1d {name} {imp:?} {} isa {isa} threads {threads} \
                             {case:?} {params:?}",
                            T::NAME
                        );
                        assert_eq!(got[i].dims(), want[i].dims(), "{ctx}");
                        assert_close(got[i].data(), want[i].data(), atol, rtol, &ctx);
                    }
                }
            })
            .expect("ISA listed as available");
        }
    }
}

#[test]
fn conv_transpose1d_hand_computed_example() {
    // x = [1, 2], w = [1, 2, 3], stride 2, padding 1, output_padding 1: x[i] lands on
    // 2i + j − 1. x[0]: y[0] += 2, y[1] += 3 (position −1 cut); x[1]: y[1] += 2, y[2] += 4,
    // y[3] += 6. Length (2 − 1)·2 − 2 + 2 + 1 + 1 = 4.
    let x = Tensor::from_vec(Shape::d3(1, 1, 2), vec![1.0f64, 2.0]).unwrap();
    let w = Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0f64, 2.0, 3.0]).unwrap();
    let p = ConvTranspose1dParams {
        stride: 2,
        padding: 1,
        output_padding: 1,
        dilation: 1,
    };
    for imp in [Conv1dImpl::Naive, Conv1dImpl::Auto] {
        let y = conv_transpose1d_with(imp, &x, &w, None, p).unwrap();
        assert_eq!(y.data(), &[2.0, 5.0, 4.0, 6.0], "{imp:?}");
    }
}

/// ⟨conv1d(x), v⟩ = ⟨x, conv_transpose1d(v)⟩ with the same weight buffer: the two naive twins
/// agree with each other, derived independently.
#[test]
fn conv_transpose1d_is_the_adjoint_of_conv1d() {
    let mut rng = Rng::new(11);
    for _ in 0..30 {
        let case = ConvCase::random(&mut rng);
        let cp = case.params();
        let l_out = cp.out_len(case.l_in, case.k).unwrap();
        let x = tensor::<f64>(&mut rng, Shape::d3(case.n, case.c_in, case.l_in));
        let w = tensor::<f64>(&mut rng, Shape::d3(case.c_out, case.c_in, case.k));
        let v = tensor::<f64>(&mut rng, Shape::d3(case.n, case.c_out, l_out));
        let y = conv1d_with(Conv1dImpl::Naive, &x, &w, None, cp).unwrap();
        // Output padding so the transposed output is exactly L_in long.
        let tp = params_of(&case, 0);
        let full = tp.out_len(l_out, case.k).unwrap();
        let tp = ConvTranspose1dParams {
            output_padding: case.l_in - full,
            ..tp
        };
        if tp.out_len(l_out, case.k).is_err() {
            continue; // remainder larger than PyTorch's output_padding rule allows
        }
        let xt = conv_transpose1d_with(Conv1dImpl::Naive, &v, &w, None, tp).unwrap();
        assert_eq!(xt.dims(), x.dims());
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
        let (lhs, rhs) = (dot(y.data(), v.data()), dot(x.data(), xt.data()));
        assert!(
            (lhs - rhs).abs() <= 1e-10 * (1.0 + lhs.abs()),
            "{case:?}: {lhs} vs {rhs}"
        );
    }
}

#[test]
fn conv_transpose1d_matches_naive_awkward() {
    for (i, case) in AWKWARD_CONV_CASES.iter().enumerate() {
        for op in [0, case.stride - 1] {
            check::<f32>(case, params_of(case, op), 300 + i as u64);
            check::<f64>(case, params_of(case, op), 300 + i as u64);
        }
    }
}

#[test]
fn conv_transpose1d_matches_naive_random() {
    let mut rng = Rng::new(77);
    for i in 0..30 {
        let case = ConvCase::random(&mut rng);
        let op = rng.below(case.stride.max(case.dilation));
        check::<f32>(&case, params_of(&case, op), 500 + i);
        check::<f64>(&case, params_of(&case, op), 500 + i);
    }
}

#[test]
fn conv_transpose1d_errors_name_the_problem() {
    let x = Tensor::<f32>::zeros(Shape::d3(2, 3, 10));
    let w = Tensor::<f32>::zeros(Shape::d3(4, 5, 3));
    let err = conv_transpose1d(&x, &w, None, ConvTranspose1dParams::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "conv_transpose1d: input has 3 channels but weight expects 4 (input [2, 3, 10], weight [4, 5, 3])"
    );
    let w = Tensor::<f32>::zeros(Shape::d3(3, 5, 3));
    let p = ConvTranspose1dParams {
        stride: 2,
        output_padding: 2,
        ..Default::default()
    };
    let err = conv_transpose1d(&x, &w, None, p).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParam {
                name: "output_padding",
                ..
            }
        ),
        "{err}"
    );
    let p = ConvTranspose1dParams {
        padding: 6,
        ..Default::default()
    };
    let err = conv_transpose1d(&x, &w, None, p).unwrap_err();
    assert!(matches!(err, Error::EmptyOutput { .. }), "{err}");
}
