//! Edge-device measurements (seed 001's claim that depthwise-separable convolutions and
//! quantisation make 1D CNNs fit on portable ECG monitors): FLOPs per example from a traced
//! forward pass, model size in bytes, and single-example median latency.
//!
//! **FLOPs.** Counted as 2 per multiply–add of the layers that own a weight matrix or kernel
//! (convolutions of any kind, linear layers): a layer whose parameters of rank ≥ 2 hold W
//! elements and whose output has S positions per example (S = L_out for NCL, 1 for `[N, F]`)
//! costs 2·W·S. This is exact for dense, grouped, depthwise and pointwise convolutions at
//! stride 1 and for linear layers (W = C_out·(C_in/groups)·K, each weight used once per output
//! position). Batch norm, ReLU, pooling and bias additions are O(activations) and are left out
//! (at inference batch norm folds into the preceding convolution). `BeatCnn`: conv1 0.060,
//! conv2 1.905, conv3 2.261, fc1 0.016, fc2 0.0005 MFLOP, total 4 242 368 for 4 classes.
//!
//! **Latency.** The median of `reps` timed calls after `warmup` untimed ones, so one slow call
//! (a page fault, another process) does not move it; the caller pins the thread count.

use std::time::Instant;

use crate::models::Module;
use crate::models::autograd::Tape;
use crate::models::autograd::engine::{Shape, Tensor};
use crate::models::module::is_under;

/// FLOPs of one layer of a traced forward pass.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerFlops {
    /// Dotted path of the layer.
    pub path: String,
    /// Its description.
    pub layer: String,
    /// 2·W·S for one example (see the module docs).
    pub flops: u64,
}

/// FLOPs per example of `model` on input `input` (batch 1, e.g. `[1, 1, 187]`), layer by layer (see the module docs).
///
/// # Errors
/// The forward pass's shape errors.
pub fn flops_per_example(model: &mut dyn Module, input: Shape) -> anyhow::Result<Vec<LayerFlops>> {
    let mut tape = Tape::no_grad();
    let x = tape.input(Tensor::zeros(input));
    let mut rows = Vec::new();
    model.trace(&mut tape, &x, "", &mut rows)?;
    let mut weights: Vec<(String, usize)> = Vec::new();
    model.visit_params(&mut |p| {
        if p.value.shape().rank() >= 2 {
            weights.push((p.name.to_string(), p.value.numel()));
        }
    });
    Ok(rows
        .iter()
        .filter(|r| !r.path.is_empty())
        .filter_map(|r| {
            let w: usize = weights
                .iter()
                .filter(|(n, _)| is_under(n, &r.path))
                .map(|(_, k)| k)
                .sum();
            let dims = r.output.shape().dims().to_vec();
            let positions: usize = dims.iter().skip(2).product::<usize>().max(1);
            (w > 0).then(|| LayerFlops {
                path: r.path.clone(),
                layer: r.layer.clone(),
                flops: (2 * w * positions) as u64,
            })
        })
        .collect())
}

/// Median wall time in seconds of `reps` calls of `f` after `warmup` untimed calls.
///
/// # Errors
/// The first error `f` returns; `reps == 0`.
pub fn median_seconds<F>(mut f: F, warmup: usize, reps: usize) -> anyhow::Result<f64>
where
    F: FnMut() -> anyhow::Result<()>,
{
    anyhow::ensure!(reps > 0, "median_seconds: reps must be ≥ 1");
    for _ in 0..warmup {
        f()?;
    }
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(median(&mut times))
}

/// The median of `v` (mean of the two middle values for an even count; NaN for empty).
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::nets::BeatCnn;

    #[test]
    fn beat_cnn_flops_by_hand() {
        let mut m = BeatCnn::new(1, 4).unwrap();
        m.set_training(false);
        let f = flops_per_example(&mut m, Shape::d3(1, 1, 187)).unwrap();
        let get = |p: &str| f.iter().find(|l| l.path == p).unwrap().flops;
        assert_eq!(get("conv1"), 2 * 32 * 5 * 187);
        assert_eq!(get("conv2"), 2 * 64 * 32 * 5 * 93);
        assert_eq!(get("conv3"), 2 * 128 * 64 * 3 * 46);
        assert_eq!(get("fc1"), 2 * 128 * 64);
        assert_eq!(get("fc2"), 2 * 64 * 4);
        assert_eq!(f.iter().map(|l| l.flops).sum::<u64>(), 4_242_368);
        // Batch norm owns only rank-1 parameters: no row.
        assert!(f.iter().all(|l| !l.path.starts_with("bn")));
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&mut []).is_nan());
        let mut n = 0;
        let t = median_seconds(
            || {
                n += 1;
                Ok(())
            },
            2,
            5,
        )
        .unwrap();
        assert!(t >= 0.0);
        assert_eq!(n, 7);
        assert!(median_seconds(|| Ok(()), 0, 0).is_err());
    }
}
