//! LSTM kernel tests. [`kernels`]: fast vs naive (every ISA × thread count, f32 and f64), the
//! sequence helpers vs stepping the fast cell by hand, bit-identical results across threads.
//! [`checks`]: finite differences in f64 for every input of the cell, a hand-computed one-unit
//! example, the fused cell vs the cell composed from separate ops, the tensor layer and its
//! errors.

use super::*;
use crate::ops::elementwise::testkit::random;
use crate::testing::{Rng, assert_close};

mod checks;
mod kernels;

/// Owned weights and inputs of one test case.
struct Case<T> {
    d: LstmDims,
    x: Vec<T>,
    h0: Vec<T>,
    c0: Vec<T>,
    w_ih: Vec<T>,
    w_hh: Vec<T>,
    b_ih: Vec<T>,
    b_hh: Vec<T>,
}

impl<T: Real> Case<T> {
    fn new(seed: u64, n: usize, f: usize, h: usize, steps: usize) -> Case<T> {
        let mut rng = Rng::new(seed);
        let g4 = 4 * h;
        Case {
            d: LstmDims { n, f, h },
            x: random(&mut rng, n * steps * f),
            h0: random(&mut rng, n * h),
            c0: random(&mut rng, n * h),
            w_ih: random(&mut rng, g4 * f),
            w_hh: random(&mut rng, g4 * h),
            b_ih: random(&mut rng, g4),
            b_hh: random(&mut rng, g4),
        }
    }
    fn w(&self) -> LstmWeights<'_, T> {
        LstmWeights {
            w_ih: &self.w_ih,
            w_hh: &self.w_hh,
            b_ih: &self.b_ih,
            b_hh: &self.b_hh,
        }
    }
    /// The first step's inputs (x of step 0 when steps = 1).
    fn cell(&self) -> LstmCellInputs<'_, T> {
        LstmCellInputs {
            x: &self.x,
            h_prev: &self.h0,
            c_prev: &self.c0,
        }
    }
    fn seq(&self) -> LstmSeqInputs<'_, T> {
        LstmSeqInputs {
            x: &self.x,
            h0: &self.h0,
            c0: &self.c0,
        }
    }
}

/// Gradient buffers, pre-filled with random values so that "accumulate" is tested too.
#[derive(Clone, Debug, PartialEq)]
struct Grads<T> {
    dx: Vec<T>,
    dh0: Vec<T>,
    dc0: Vec<T>,
    dw_ih: Vec<T>,
    dw_hh: Vec<T>,
    db: Vec<T>,
}

impl<T: Real> Grads<T> {
    fn new(rng: &mut Rng, d: LstmDims, steps: usize) -> Grads<T> {
        Grads {
            dx: random(rng, d.n * steps * d.f),
            dh0: random(rng, d.n * d.h),
            dc0: random(rng, d.n * d.h),
            dw_ih: random(rng, 4 * d.h * d.f),
            dw_hh: random(rng, 4 * d.h * d.h),
            db: random(rng, 4 * d.h),
        }
    }
    fn cell(&mut self) -> LstmCellGrads<'_, T> {
        LstmCellGrads {
            dx: &mut self.dx,
            dh_prev: &mut self.dh0,
            dc_prev: &mut self.dc0,
            dw_ih: &mut self.dw_ih,
            dw_hh: &mut self.dw_hh,
            db: &mut self.db,
        }
    }
    fn seq(&mut self) -> LstmSeqGrads<'_, T> {
        LstmSeqGrads {
            dx: &mut self.dx,
            dh0: &mut self.dh0,
            dc0: &mut self.dc0,
            dw_ih: &mut self.dw_ih,
            dw_hh: &mut self.dw_hh,
            db: &mut self.db,
        }
    }
    fn assert_close(&self, want: &Grads<T>, atol: f64, rtol: f64, ctx: &str) {
        assert_close(&self.dx, &want.dx, atol, rtol, &format!("{ctx} dx"));
        assert_close(&self.dh0, &want.dh0, atol, rtol, &format!("{ctx} dh0"));
        assert_close(&self.dc0, &want.dc0, atol, rtol, &format!("{ctx} dc0"));
        assert_close(
            &self.dw_ih,
            &want.dw_ih,
            atol,
            rtol,
            &format!("{ctx} dw_ih"),
        );
        assert_close(
            &self.dw_hh,
            &want.dw_hh,
            atol,
            rtol,
            &format!("{ctx} dw_hh"),
        );
        assert_close(&self.db, &want.db, atol, rtol, &format!("{ctx} db"));
    }
}
