//! 1D pooling over NCL tensors, recorded on the tape: max pool (the rule saves the argmax, not
//! x), average pool and global average pool. Kernels: `engine/src/ops/pool1d/`.
//!
//! Forward, with pos(t, j) = t·stride + j·dilation − padding:
//! - max: y\[n,c,t\] = max_j x\[n,c,pos(t,j)\] (padding is −∞; ties → the first position);
//! - avg: y\[n,c,t\] = (1/D_t)·Σ_j x\[n,c,pos(t,j)\], D_t = kernel (`count_include_pad`) or the
//!   number of taps inside the signal;
//! - global average: y\[n,c\] = (1/L)·Σ_t x\[n,c,t\] (`[N, C, L]` → `[N, C]`).
//!
//! Cost: N·C·L_out·kernel comparisons or adds (N·C·L for the global pool).
//!
//! Gradients:
//! - max: dx\[n,c,argmax\[n,c,t\]\] += dy\[n,c,t\] (overlapping windows add up);
//! - avg: dx\[n,c,pos(t,j)\] += dy\[n,c,t\]/D_t for every tap inside the signal;
//! - global: dx\[n,c,t\] = dy\[n,c\]/L.
//!
//! Average pools save only the input shape (their Jacobian is constant).

use ecgrad_engine::ops::pool1d::{self as ep, Pool1dParams};
use ecgrad_engine::{Real, Shape, Tensor};

use crate::backward::Backward;
use crate::error::Result;
use crate::tape::{Tape, Var};

/// The rule of `max_pool1d`: saves the argmax positions and the input shape.
struct MaxPool1dBackward {
    argmax: Vec<usize>,
    x_shape: Shape,
}

impl Drop for MaxPool1dBackward {
    /// The argmax buffer is as large as the output: back to the engine's buffer pool, so the
    /// next step reuses it instead of mapping fresh memory.
    fn drop(&mut self) {
        ecgrad_engine::pool::give_back(std::mem::take(&mut self.argmax));
    }
}

impl<T: Real> Backward<T> for MaxPool1dBackward {
    fn name(&self) -> &'static str {
        "max_pool1d"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![if needs[0] {
            Some(ep::max_pool1d_backward(dy, &self.argmax, self.x_shape)?)
        } else {
            None
        }])
    }
}

/// Max pooling of NCL `x` (see the module docs; `Pool1dParams::new(k)` is PyTorch's default).
///
/// # Errors
/// Rank errors unless x is rank 3; `InvalidParam` for a zero kernel/stride/dilation or padding
/// over half the window span; `EmptyOutput` if the window does not fit.
pub fn max_pool1d<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    params: &Pool1dParams,
) -> Result<Var<T>> {
    let out = ep::max_pool1d(x.value(), params)?;
    let x_shape = x.shape();
    // Built before `record` so that, when nothing is recorded (no-grad), dropping the unused
    // rule still returns its argmax buffer to the pool.
    let rule = MaxPool1dBackward {
        argmax: out.argmax,
        x_shape,
    };
    tape.record("max_pool1d", &[x], out.y, || Box::new(rule))
}

/// The rule of `avg_pool1d`: saves the input shape and the parameters.
struct AvgPool1dBackward {
    x_shape: Shape,
    params: Pool1dParams,
}

impl<T: Real> Backward<T> for AvgPool1dBackward {
    fn name(&self) -> &'static str {
        "avg_pool1d"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![if needs[0] {
            Some(ep::avg_pool1d_backward(dy, self.x_shape, &self.params)?)
        } else {
            None
        }])
    }
}

/// Average pooling of NCL `x` (see the module docs).
///
/// # Errors
/// As [`max_pool1d`].
pub fn avg_pool1d<T: Real>(
    tape: &mut Tape<T>,
    x: &Var<T>,
    params: &Pool1dParams,
) -> Result<Var<T>> {
    let y = ep::avg_pool1d(x.value(), params)?;
    let (x_shape, params) = (x.shape(), *params);
    tape.record("avg_pool1d", &[x], y, || {
        Box::new(AvgPool1dBackward { x_shape, params })
    })
}

/// The rule of `global_avg_pool1d`: saves the input shape.
struct GlobalAvgPool1dBackward {
    x_shape: Shape,
}

impl<T: Real> Backward<T> for GlobalAvgPool1dBackward {
    fn name(&self) -> &'static str {
        "global_avg_pool1d"
    }
    fn backward(&self, dy: &Tensor<T>, needs: &[bool]) -> Result<Vec<Option<Tensor<T>>>> {
        Ok(vec![if needs[0] {
            Some(ep::global_avg_pool1d_backward(dy, self.x_shape)?)
        } else {
            None
        }])
    }
}

/// Global average pooling: `[N, C, L]` → `[N, C]`, the mean over time.
///
/// # Errors
/// Rank errors unless x is rank 3; `EmptyOutput` for an empty tensor.
pub fn global_avg_pool1d<T: Real>(tape: &mut Tape<T>, x: &Var<T>) -> Result<Var<T>> {
    let y = ep::global_avg_pool1d(x.value())?;
    let x_shape = x.shape();
    tape.record("global_avg_pool1d", &[x], y, || {
        Box::new(GlobalAvgPool1dBackward { x_shape })
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradcheck, random_tensor};

    /// Distinct values 0.1 apart in a seeded random order: no max-pool ties, so every max is
    /// differentiable at finite-difference scale.
    pub(crate) fn distinct(dims: &[usize], seed: u64) -> Tensor<f64> {
        let shape = Shape::new(dims).unwrap();
        let mut order: Vec<usize> = (0..shape.numel()).collect();
        ecgrad_engine::Rng::new(seed).shuffle(&mut order);
        let data = order.iter().map(|&k| 0.1 * k as f64 - 1.0).collect();
        Tensor::from_vec(shape, data).unwrap()
    }

    /// (n, c, l, kernel, stride, padding, dilation)
    const CASES: [(usize, usize, usize, usize, usize, usize, usize); 8] = [
        (1, 1, 1, 1, 1, 0, 1),  // length 1
        (2, 3, 8, 2, 2, 0, 1),  // the common k = s = 2
        (1, 2, 9, 3, 2, 1, 1),  // stride 2 leaving a remainder, padding 1
        (2, 1, 10, 3, 3, 0, 1), // stride 3 leaving a remainder
        (1, 2, 9, 3, 1, 0, 2),  // dilation 2 (overlapping windows)
        (1, 2, 7, 3, 1, 1, 1),  // overlapping windows, padding 1 = (K − 1)/2
        (2, 2, 3, 5, 1, 2, 1),  // kernel longer than the signal, fits with padding
        (1, 1, 1, 3, 1, 1, 1),  // length 1 with padding
    ];

    fn params(k: usize, s: usize, p: usize, d: usize) -> Pool1dParams {
        Pool1dParams::new(k)
            .with_stride(s)
            .with_padding(p)
            .with_dilation(d)
    }

    #[test]
    fn max_pool1d_gradcheck_x_awkward() {
        for (i, &(n, c, l, k, s, p, d)) in CASES.iter().enumerate() {
            let pp = params(k, s, p, d);
            let x = distinct(&[n, c, l], 500 + i as u64);
            assert_gradcheck(
                &format!("max_pool1d case {i}"),
                |t, v| max_pool1d(t, &v[0], &pp),
                &[x],
                510,
            );
        }
    }

    #[test]
    fn avg_pool1d_gradcheck_x_awkward_both_divisors() {
        for (i, &(n, c, l, k, s, p, d)) in CASES.iter().enumerate() {
            for include in [true, false] {
                let pp = params(k, s, p, d).with_count_include_pad(include);
                let x = random_tensor(&[n, c, l], -1.0, 1.0, 520 + i as u64);
                assert_gradcheck(
                    &format!("avg_pool1d case {i} include_pad {include}"),
                    |t, v| avg_pool1d(t, &v[0], &pp),
                    &[x],
                    530,
                );
            }
        }
    }

    #[test]
    fn global_avg_pool1d_gradcheck_x() {
        for dims in [[1, 1, 1], [2, 3, 7], [1, 4, 1]] {
            let x = random_tensor(&dims, -1.0, 1.0, 540);
            assert_gradcheck(
                "global_avg_pool1d",
                |t, v| global_avg_pool1d(t, &v[0]),
                &[x],
                541,
            );
        }
    }

    #[test]
    fn max_pool1d_ties_go_to_the_first_position_and_overlaps_add() {
        // x = [1, 3, 3, 0], kernel 2, stride 1: windows [1,3] [3,3] [3,0] pick positions 1, 1
        // (the tie goes to the first 3) and 2, so dx[1] = dy0 + dy1 and dx[2] = dy2.
        let mut t = Tape::<f64>::new();
        let x = t.leaf(
            Tensor::from_vec(Shape::d3(1, 1, 4), vec![1.0, 3.0, 3.0, 0.0]).unwrap(),
            true,
        );
        let y = max_pool1d(&mut t, &x, &params(2, 1, 0, 1)).unwrap();
        assert_eq!(y.value().data(), &[3.0, 3.0, 3.0]);
        let dy = Tensor::from_vec(Shape::d3(1, 1, 3), vec![1.0, 10.0, 100.0]).unwrap();
        let g = t.backward_from(&y, dy, &[]).unwrap();
        assert_eq!(g.get(x.id()).unwrap().data(), &[0.0, 11.0, 100.0, 0.0]);
    }
}
