//! Fast kernels vs their naive twins, the sequence helpers vs the stepped cell, determinism.

use super::*;
use crate::ops::elementwise::testkit::{bits, for_each_isa_threads};
use crate::testing::tolerance;

/// (N, F, H): the brief's grid, plus one batch whose pointwise work is above GRAIN.
fn cell_shapes() -> Vec<(usize, usize, usize)> {
    let mut v = Vec::new();
    for n in [1, 3, 8] {
        for f in [1, 5, 128] {
            for h in [1, 7, 64] {
                v.push((n, f, h));
            }
        }
    }
    v.push((130, 5, 64));
    v
}

fn cell_matches_naive<T: Real>() {
    for (idx, &(n, f, h)) in cell_shapes().iter().enumerate() {
        let seed = 100 + idx as u64;
        let case = Case::<T>::new(seed, n, f, h, 1);
        let d = case.d;
        let mut rng = Rng::new(seed + 7);
        let dh: Vec<T> = random(&mut rng, n * h);
        let dc: Vec<T> = random(&mut rng, n * h);
        let init = Grads::<T>::new(&mut rng, d, 1);
        let want = lstm_cell_forward_naive(d, case.cell(), &case.w());
        let mut want_g = init.clone();
        let want_da =
            lstm_cell_backward_naive(d, case.cell(), &case.w(), &want, &dh, &dc, want_g.cell());
        let (atol, rtol) = tolerance::<T>(f + h + n);
        for_each_isa_threads(|ctx| {
            let ctx = format!("{} N{n} F{f} H{h} seed {seed}, {ctx}", T::NAME);
            let got = lstm_cell_forward(d, case.cell(), &case.w());
            assert_close(&got.gates, &want.gates, atol, rtol, &format!("{ctx} gates"));
            assert_close(&got.c, &want.c, atol, rtol, &format!("{ctx} c"));
            assert_close(
                &got.tanh_c,
                &want.tanh_c,
                atol,
                rtol,
                &format!("{ctx} tanh_c"),
            );
            assert_close(&got.h, &want.h, atol, rtol, &format!("{ctx} h"));
            let mut g = init.clone();
            // Backward from the *naive* saved state, so only the backward is under test.
            let da = lstm_cell_backward(d, case.cell(), &case.w(), &want, &dh, &dc, g.cell());
            assert_close(&da, &want_da, atol, rtol, &format!("{ctx} dgates"));
            g.assert_close(&want_g, atol, rtol, &ctx);
        });
    }
}

#[test]
fn lstm_cell_matches_naive_random_f32() {
    cell_matches_naive::<f32>();
}

#[test]
fn lstm_cell_matches_naive_random_f64() {
    cell_matches_naive::<f64>();
}

fn sequence_matches_naive<T: Real>() {
    let mut idx = 0u64;
    for n in [1, 3, 8] {
        for f in [1, 5, 128] {
            for h in [1, 7, 64] {
                for steps in [1, 5, 46] {
                    idx += 1;
                    let seed = 1000 + idx;
                    let case = Case::<T>::new(seed, n, f, h, steps);
                    let d = case.d;
                    let mut rng = Rng::new(seed + 7);
                    let dh: Vec<T> = random(&mut rng, n * steps * h);
                    // Every other case also seeds the gradient of the last cell state c_n.
                    let dc_n: Vec<T> = random(&mut rng, n * h);
                    let up = LstmSeqUpstream {
                        dh: &dh,
                        dc_n: idx.is_multiple_of(2).then_some(&dc_n[..]),
                    };
                    let init = Grads::<T>::new(&mut rng, d, steps);
                    let want = lstm_forward_sequence_naive(d, steps, case.seq(), &case.w());
                    let mut want_g = init.clone();
                    lstm_backward_sequence_naive(
                        d,
                        steps,
                        case.seq(),
                        &case.w(),
                        &want,
                        up,
                        want_g.seq(),
                    );
                    // Errors compound over the steps of the recurrence.
                    let (atol, rtol) = tolerance::<T>((f + h + n) * steps);
                    for_each_isa_threads(|ctx| {
                        let ctx = format!("{} N{n} F{f} H{h} T{steps} seed {seed}, {ctx}", T::NAME);
                        let got = lstm_forward_sequence(d, steps, case.seq(), &case.w());
                        assert_close(&got.gates, &want.gates, atol, rtol, &format!("{ctx} gates"));
                        assert_close(&got.c, &want.c, atol, rtol, &format!("{ctx} c"));
                        assert_close(&got.tanh_c, &want.tanh_c, atol, rtol, &format!("{ctx} tc"));
                        assert_close(&got.h, &want.h, atol, rtol, &format!("{ctx} h"));
                        let mut g = init.clone();
                        lstm_backward_sequence(d, steps, case.seq(), &case.w(), &want, up, g.seq());
                        g.assert_close(&want_g, atol, rtol, &ctx);
                    });
                }
            }
        }
    }
}

#[test]
fn lstm_sequence_matches_naive_random_f32() {
    sequence_matches_naive::<f32>();
}

#[test]
fn lstm_sequence_matches_naive_random_f64() {
    sequence_matches_naive::<f64>();
}

/// The sequence helpers agree with stepping the fast cell by hand (forward and BPTT).
#[test]
fn lstm_sequence_matches_stepping_the_cell() {
    let (n, f, h, steps) = (3, 5, 7, 6);
    let case = Case::<f64>::new(42, n, f, h, steps);
    let d = case.d;
    let mut rng = Rng::new(43);
    let dh: Vec<f64> = random(&mut rng, n * steps * h);
    let seq = lstm_forward_sequence(d, steps, case.seq(), &case.w());
    let mut seq_g = Grads::<f64>::new(&mut Rng::new(44), d, steps);
    let mut step_g = seq_g.clone();
    lstm_backward_sequence(
        d,
        steps,
        case.seq(),
        &case.w(),
        &seq,
        LstmSeqUpstream::outputs(&dh),
        seq_g.seq(),
    );

    // Forward, one cell call per step.
    let mut states = Vec::new();
    let mut xs = Vec::new();
    let (mut hp, mut cp) = (case.h0.clone(), case.c0.clone());
    for t in 0..steps {
        let x = naive::gather_step(&case.x, n, steps, t, f);
        let cell_in = LstmCellInputs {
            x: &x,
            h_prev: &hp,
            c_prev: &cp,
        };
        let st = lstm_cell_forward(d, cell_in, &case.w());
        assert_close(
            &st.h,
            &naive::gather_step(&seq.h, n, steps, t, h),
            1e-13,
            1e-12,
            &format!("h at t = {t}"),
        );
        assert_close(
            &st.c,
            &naive::gather_step(&seq.c, n, steps, t, h),
            1e-13,
            1e-12,
            &format!("c at t = {t}"),
        );
        xs.push((x, hp, cp));
        (hp, cp) = (st.h.clone(), st.c.clone());
        states.push(st);
    }
    // Backward, one cell call per step from the last, carrying dh and dc.
    let (mut dh_next, mut dc_next) = (vec![0.0; n * h], vec![0.0; n * h]);
    for t in (0..steps).rev() {
        let (x, hp, cp) = &xs[t];
        let mut dh_t = naive::gather_step(&dh, n, steps, t, h);
        for (a, b) in dh_t.iter_mut().zip(&dh_next) {
            *a += b;
        }
        let mut dx = vec![0.0; n * f];
        let (mut dhp, mut dcp) = (vec![0.0; n * h], vec![0.0; n * h]);
        let cell_in = LstmCellInputs {
            x,
            h_prev: hp,
            c_prev: cp,
        };
        let grads = LstmCellGrads {
            dx: &mut dx,
            dh_prev: &mut dhp,
            dc_prev: &mut dcp,
            dw_ih: &mut step_g.dw_ih,
            dw_hh: &mut step_g.dw_hh,
            db: &mut step_g.db,
        };
        lstm_cell_backward(d, cell_in, &case.w(), &states[t], &dh_t, &dc_next, grads);
        for s in 0..n {
            for k in 0..f {
                step_g.dx[(s * steps + t) * f + k] += dx[s * f + k];
            }
        }
        (dh_next, dc_next) = (dhp, dcp);
    }
    for (a, b) in step_g.dh0.iter_mut().zip(&dh_next) {
        *a += b;
    }
    for (a, b) in step_g.dc0.iter_mut().zip(&dc_next) {
        *a += b;
    }
    seq_g.assert_close(&step_g, 1e-12, 1e-10, "sequence vs stepped cell");
}

/// Weight gradients and outputs are bit-identical at 1 and 2 threads, above the rayon grain.
#[test]
fn lstm_sequence_bit_identical_across_threads() {
    let (n, f, h, steps) = (130, 5, 64, 3);
    let case = Case::<f32>::new(5, n, f, h, steps);
    let d = case.d;
    let dh: Vec<f32> = random(&mut Rng::new(6), n * steps * h);
    let run = |threads| {
        crate::parallel::with_threads(threads, || {
            let seq = lstm_forward_sequence(d, steps, case.seq(), &case.w());
            let mut g = Grads::<f32>::new(&mut Rng::new(9), d, steps);
            lstm_backward_sequence(
                d,
                steps,
                case.seq(),
                &case.w(),
                &seq,
                LstmSeqUpstream::outputs(&dh),
                g.seq(),
            );
            (seq, g)
        })
    };
    let (s1, g1) = run(1);
    let (s2, g2) = run(2);
    assert_eq!(bits(&s1.h), bits(&s2.h));
    for (a, b) in [
        (&g1.dx, &g2.dx),
        (&g1.dh0, &g2.dh0),
        (&g1.dc0, &g2.dc0),
        (&g1.dw_ih, &g2.dw_ih),
        (&g1.dw_hh, &g2.dw_hh),
        (&g1.db, &g2.db),
    ] {
        assert_eq!(bits(a), bits(b));
    }
}

/// The inference forward gives the training forward's hₜ and last cₜ, for every ISA and
/// thread count, on shapes with awkward sizes and one batch above the rayon grain.
fn inference_matches_training_forward<T: Real>() {
    let shapes = [
        (1, 1, 1, 1),
        (3, 5, 7, 6),
        (2, 128, 64, 46),
        (130, 5, 64, 3),
        (8, 1, 7, 5),
    ];
    for (idx, &(n, f, h, steps)) in shapes.iter().enumerate() {
        let seed = 3000 + idx as u64;
        let case = Case::<T>::new(seed, n, f, h, steps);
        let d = case.d;
        let want = lstm_forward_sequence_naive(d, steps, case.seq(), &case.w());
        let (atol, rtol) = tolerance::<T>((f + h + n) * steps);
        for_each_isa_threads(|ctx| {
            let ctx = format!("{} N{n} F{f} H{h} T{steps} seed {seed}, {ctx}", T::NAME);
            let got = lstm_forward_sequence_inference(d, steps, case.seq(), &case.w());
            assert_close(&got.h, &want.h, atol, rtol, &format!("{ctx} h"));
            let last_c = naive::gather_step(&want.c, n, steps, steps - 1, h);
            assert_close(&got.c_n, &last_c, atol, rtol, &format!("{ctx} c_n"));
            let train = lstm_forward_sequence(d, steps, case.seq(), &case.w());
            assert_close(
                &got.h,
                &train.h,
                atol,
                rtol,
                &format!("{ctx} h vs training"),
            );
        });
    }
}

#[test]
fn lstm_inference_matches_forward_f32() {
    inference_matches_training_forward::<f32>();
}

#[test]
fn lstm_inference_matches_forward_f64() {
    inference_matches_training_forward::<f64>();
}
