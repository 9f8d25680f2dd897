//! Training and running a seed-004 autoencoder on a list of equal-length signals.
//!
//! Loss: MSE between x̂ and x, in the units of the signals (the experiments standardise each
//! window, so (window std)²). Optimizer: Adam (default lr 1e-3) or the public code's Adadelta(lr
//! 0.1, ρ 0.01) (see [`Opt`]); mini-batches drawn by a seeded shuffle each epoch.
//! A non-finite loss stops training with an error naming epoch, step and learning rate.

use anyhow::{Result, bail};
use ecgrad_autograd::engine::{Rng, Shape, Tensor};
use ecgrad_autograd::loss::{Reduction, mse};
use ecgrad_autograd::optim::{Adadelta, AdadeltaConfig, Adam, AdamConfig};
use ecgrad_autograd::{Optimizer, Parameters, Tape};
use ecgrad_models::Module;
use ecgrad_models::nets::ConvAutoencoder;
use serde::Serialize;

/// Which optimizer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Opt {
    /// Adam with this learning rate (β = (0.9, 0.999), ε = 1e-8).
    Adam(f64),
    /// Adadelta with (lr, ρ) — the public code uses (0.1, 0.01).
    Adadelta(f64, f64),
}

/// Training hyper-parameters (all go to `metrics.json`).
#[derive(Clone, Debug, Serialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Optimizer.
    pub opt: Opt,
    /// Seed of the shuffling stream.
    pub seed: u64,
}

/// Per-epoch losses.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TrainLog {
    /// Mean training loss of each epoch (over its mini-batches, training mode).
    pub train_loss: Vec<f64>,
    /// Test MSE after each epoch (evaluation mode).
    pub test_loss: Vec<f64>,
    /// Wall-clock seconds of training.
    pub seconds: f64,
}

/// Stacks signals into `[n, 1, L]`.
///
/// # Errors
/// If the signals differ in length or the list is empty.
pub fn stack(xs: &[&[f32]]) -> Result<Tensor<f32>> {
    let l = xs.first().map_or(0, |x| x.len());
    if l == 0 || xs.iter().any(|x| x.len() != l) {
        bail!("stack: need a non-empty list of signals of one non-zero length");
    }
    let data: Vec<f32> = xs.iter().flat_map(|x| x.iter().copied()).collect();
    Ok(Tensor::from_vec(Shape::d3(xs.len(), 1, l), data)?)
}

/// Trains `ae` on `train`, evaluating on `test` after every epoch; `progress(epoch, log)` is
/// called after each epoch (for progress bars).
///
/// # Errors
/// Model errors, and a non-finite loss (naming epoch, step and learning rate).
pub fn train_ae(
    ae: &mut ConvAutoencoder,
    train: &[Vec<f32>],
    test: &[Vec<f32>],
    cfg: &TrainConfig,
    mut progress: impl FnMut(usize, &TrainLog),
) -> Result<TrainLog> {
    let start = std::time::Instant::now();
    let mut opt: Box<dyn Optimizer<f32>> = match cfg.opt {
        Opt::Adam(lr) => Box::new(Adam::new(AdamConfig {
            lr,
            ..AdamConfig::adam()
        })?),
        Opt::Adadelta(lr, rho) => Box::new(Adadelta::new(AdadeltaConfig {
            lr,
            rho,
            ..AdadeltaConfig::default()
        })?),
    };
    let mut rng = Rng::stream(cfg.seed, "seed004-batches");
    let mut log = TrainLog::default();
    let mut order: Vec<usize> = (0..train.len()).collect();
    for epoch in 0..cfg.epochs {
        ae.set_training(true);
        rng.shuffle(&mut order);
        let (mut sum, mut steps) = (0.0, 0usize);
        for (step, chunk) in order.chunks(cfg.batch.max(1)).enumerate() {
            // Batch norm needs two values per channel: skip a trailing batch of one.
            if chunk.len() < 2 && order.len() > 1 {
                continue;
            }
            let xs: Vec<&[f32]> = chunk.iter().map(|&i| train[i].as_slice()).collect();
            let x = stack(&xs)?;
            let loss = {
                let mut tape = Tape::new();
                let xv = tape.input(x.clone());
                let y = ae.forward(&mut tape, &xv)?;
                let loss = mse(&mut tape, &y, &x, Reduction::Mean)?;
                let value = f64::from(loss.value().data()[0]);
                if !value.is_finite() {
                    bail!(
                        "non-finite training loss {value} at epoch {epoch}, step {step}, lr {}",
                        opt.lr()
                    );
                }
                let grads = tape.backward(&loss)?;
                ae.zero_grad();
                grads.accumulate_into(ae)?;
                value
            };
            opt.step(ae)?;
            sum += loss;
            steps += 1;
        }
        log.train_loss.push(sum / steps.max(1) as f64);
        log.test_loss.push(if test.is_empty() {
            f64::NAN
        } else {
            eval_mse(ae, test)?
        });
        progress(epoch, &log);
    }
    log.seconds = start.elapsed().as_secs_f64();
    Ok(log)
}

/// Runs `f` over `xs` in evaluation mode in chunks of 32, returning one output per input.
fn run_chunks(
    ae: &mut ConvAutoencoder,
    xs: &[&[f32]],
    mut f: impl FnMut(&ConvAutoencoder, &mut Tape<f32>, Tensor<f32>) -> Result<Tensor<f32>>,
) -> Result<Vec<Vec<f32>>> {
    ae.set_training(false);
    let mut out = Vec::with_capacity(xs.len());
    for chunk in xs.chunks(32) {
        let mut tape = Tape::no_grad();
        let y = f(ae, &mut tape, stack(chunk)?)?;
        let per = y.numel() / chunk.len();
        out.extend(y.data().chunks(per).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// Reconstructions x̂ of `xs` (evaluation mode).
///
/// # Errors
/// Model errors.
pub fn reconstruct(ae: &mut ConvAutoencoder, xs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
    let refs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    run_chunks(ae, &refs, |ae, tape, x| {
        let xv = tape.input(x);
        Ok(ae.forward(tape, &xv)?.value().clone())
    })
}

/// Codes of `xs` (flattened per signal).
///
/// # Errors
/// Model errors.
pub fn encode(ae: &mut ConvAutoencoder, xs: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
    run_chunks(ae, xs, |ae, tape, x| {
        let xv = tape.input(x);
        Ok(ae.encode(tape, &xv)?.value().clone())
    })
}

/// Decodes flattened codes (each of the code's element count).
///
/// # Errors
/// Model errors or codes of the wrong size.
pub fn decode(ae: &mut ConvAutoencoder, codes: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
    let dims = ae.code_dims();
    let per: usize = dims.iter().product();
    if codes.iter().any(|c| c.len() != per) {
        bail!("decode: every code must have {per} values ({dims:?})");
    }
    ae.set_training(false);
    let mut out = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(32) {
        let mut shape = vec![chunk.len()];
        shape.extend(&dims);
        let data: Vec<f32> = chunk.iter().flat_map(|c| c.iter().copied()).collect();
        let z = Tensor::from_vec(Shape::new(&shape)?, data)?;
        let mut tape = Tape::no_grad();
        let zv = tape.input(z);
        let y = ae.decode(&mut tape, &zv)?;
        let l = y.value().numel() / chunk.len();
        out.extend(y.value().data().chunks(l).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// Mean squared error of the reconstructions of `xs` (evaluation mode).
///
/// # Errors
/// Model errors.
pub fn eval_mse(ae: &mut ConvAutoencoder, xs: &[Vec<f32>]) -> Result<f64> {
    let ys = reconstruct(ae, xs)?;
    let (mut s, mut n) = (0.0, 0usize);
    for (x, y) in xs.iter().zip(&ys) {
        for (a, b) in x.iter().zip(y) {
            s += f64::from(a - b).powi(2);
            n += 1;
        }
    }
    Ok(s / n.max(1) as f64)
}

/// Per-signal MSE of reconstructions.
pub fn per_signal_mse(xs: &[Vec<f32>], ys: &[Vec<f32>]) -> Vec<f64> {
    xs.iter()
        .zip(ys)
        .map(|(x, y)| {
            x.iter()
                .zip(y)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                / x.len().max(1) as f64
        })
        .collect()
}

/// The straight line between two codes: `steps + 1` points, a(1 − λ) + bλ, λ = k/steps.
pub fn lerp_codes(a: &[f32], b: &[f32], steps: usize) -> Vec<Vec<f32>> {
    let steps = steps.max(1);
    (0..=steps)
        .map(|k| {
            let t = k as f32 / steps as f32;
            a.iter()
                .zip(b)
                .map(|(x, y)| x * (1.0 - t) + y * t)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecgrad_models::nets::AeConfig;

    #[test]
    fn lerp_endpoints_and_midpoint() {
        let p = lerp_codes(&[0.0, 2.0], &[4.0, 2.0], 4);
        assert_eq!(p.len(), 5);
        assert_eq!(p[0], vec![0.0, 2.0]);
        assert_eq!(p[2], vec![2.0, 2.0]);
        assert_eq!(p[4], vec![4.0, 2.0]);
    }

    #[test]
    fn decode_of_encode_equals_reconstruct() {
        let cfg = AeConfig::masked(3).with_input_len(200);
        let mut ae = ConvAutoencoder::new(cfg, &mut Rng::new(1)).expect("ae");
        let xs: Vec<Vec<f32>> = (0..3)
            .map(|i| (0..200).map(|t| ((t + i) as f32 * 0.1).sin()).collect())
            .collect();
        let refs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
        let codes = encode(&mut ae, &refs).expect("codes");
        let a = decode(&mut ae, &codes).expect("decode");
        let b = reconstruct(&mut ae, &xs).expect("reconstruct");
        assert_eq!(a, b);
        assert!(decode(&mut ae, &[vec![0.0; 3]]).is_err());
    }
}
