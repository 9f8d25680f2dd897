//! `fig_04_ae_training`: train the seed-004 autoencoders on 4-second V6 windows with a
//! patient-wise split; loss curves, input-vs-reconstruction plots of test patients, and a
//! reconstruction-error table.
//!
//! Configurations: the paper's table (512 samples = 4 s resampled to 128 Hz, code 30) and the
//! public code's variant (2000 samples = 4 s at 500 Hz, code 200). Every window is standardised
//! (mean 0, std 1: raw V6 has std ≈ 0.1 mV, too small to train on). Errors are MSE in
//! (window std)²; the
//! "relative" column divides by the test windows' variance (the MSE of predicting each window's
//! mean), so 0 is perfect and 1 is no better than a flat line.

use anyhow::Result;
use ecgrad_engine::Rng;
use ecgrad_models::module;
use ecgrad_models::nets::{AeConfig, ConvAutoencoder};
use serde::Serialize;

use super::data::{V6Data, patient_split, standardise, windows};
use super::output::{Table, sci};
use super::train::{Opt, TrainConfig, TrainLog, per_signal_mse, reconstruct, train_ae};
use crate::exp::Run;
use crate::plot::{LinePlot, Series, SignalPlot, Trace};

/// One network to train.
#[derive(Clone, Debug, Serialize)]
pub struct RunSpec {
    /// `"table512"` or `"keras2000"`.
    pub config: String,
    /// Samples per 4-s window (512 or 2000).
    pub input_len: usize,
    /// Epochs.
    pub epochs: usize,
    /// Mini-batch.
    pub batch: usize,
    /// Optimizer.
    pub opt: Opt,
    /// Cap on training windows (quick runs), `None` = all.
    pub max_train_windows: Option<usize>,
}

/// Every setting of the run.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Patients loaded (records 1 …).
    pub patients: usize,
    /// Fraction of patients held out.
    pub test_fraction: f64,
    /// Window length, s.
    pub window_s: f64,
    /// Window stride, s.
    pub stride_s: f64,
    /// The networks.
    pub runs: Vec<RunSpec>,
    /// Test windows plotted per network.
    pub examples: usize,
}

impl Settings {
    /// `--quick`: all 200 patients (fewer cannot generalise), few epochs, capped keras2000 set.
    pub fn quick() -> Settings {
        Settings {
            patients: 200,
            test_fraction: 0.2,
            window_s: 4.0,
            stride_s: 1.0,
            runs: vec![
                RunSpec {
                    config: "table512".into(),
                    input_len: 512,
                    epochs: 8,
                    batch: 16,
                    opt: Opt::Adam(2e-3),
                    max_train_windows: None,
                },
                RunSpec {
                    config: "keras2000".into(),
                    input_len: 2000,
                    epochs: 1,
                    batch: 10,
                    opt: Opt::Adam(1e-3),
                    max_train_windows: Some(20),
                },
            ],
            examples: 3,
        }
    }

    /// The full run: all 200 patients, 80/20 split.
    pub fn full() -> Settings {
        Settings {
            patients: 200,
            test_fraction: 0.2,
            window_s: 4.0,
            stride_s: 1.0,
            runs: vec![
                RunSpec {
                    config: "table512".into(),
                    input_len: 512,
                    epochs: 30,
                    batch: 32,
                    opt: Opt::Adam(1e-3),
                    max_train_windows: None,
                },
                RunSpec {
                    config: "keras2000".into(),
                    input_len: 2000,
                    epochs: 8,
                    batch: 50,
                    opt: Opt::Adam(1e-3),
                    max_train_windows: None,
                },
            ],
            examples: 4,
        }
    }
}

/// The AE configuration named `name`.
///
/// # Errors
/// Unknown names.
pub fn config_by_name(name: &str) -> Result<AeConfig> {
    Ok(match name {
        "table512" => AeConfig::table512(),
        "keras2000" => AeConfig::keras2000(),
        "qrs560" => AeConfig::qrs560(),
        "good" => AeConfig::masked(3),
        "bad" => AeConfig::masked(7),
        other => anyhow::bail!("unknown autoencoder configuration `{other}`"),
    })
}

/// One trained network's numbers.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// Configuration name.
    pub config: String,
    /// Trainable parameters.
    pub params: usize,
    /// Training / test windows.
    pub windows: (usize, usize),
    /// Loss curves.
    pub log: TrainLog,
    /// Final training loss (mean of the last epoch).
    pub train_mse: f64,
    /// Test MSE (evaluation mode).
    pub test_mse: f64,
    /// Test MSE / variance of the test windows.
    pub test_relative: f64,
    /// Mean and standard deviation over test patients of their mean window MSE.
    pub per_patient: (f64, f64),
    /// Test examples (patient id, input, reconstruction) for the figures.
    #[serde(skip)]
    pub examples: Vec<(u32, Vec<f32>, Vec<f32>)>,
}

/// Everything the run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Train / test patient ids.
    pub split: (Vec<u32>, Vec<u32>),
    /// One entry per network.
    pub runs: Vec<RunResult>,
}

/// Trains every network of `s` on `data`; `progress(config, epoch, log)` after each epoch.
///
/// # Errors
/// Data, model or training errors.
pub fn run(
    s: &Settings,
    data: &V6Data,
    seed: u64,
    mut progress: impl FnMut(&str, usize, &TrainLog),
) -> Result<Outcome> {
    let (tr, te) = patient_split(data.patients.len(), s.test_fraction, seed);
    let train_p: Vec<_> = tr.iter().map(|&i| &data.patients[i]).collect();
    let test_p: Vec<_> = te.iter().map(|&i| &data.patients[i]).collect();
    let mut runs = Vec::new();
    for spec in &s.runs {
        let (mut train, _) = windows(&train_p, s.window_s, s.stride_s, spec.input_len)?;
        if let Some(cap) = spec.max_train_windows {
            Rng::stream(seed, "seed004-cap").shuffle(&mut train);
            train.truncate(cap);
        }
        let (mut test, owner) = windows(&test_p, s.window_s, s.stride_s, spec.input_len)?;
        standardise(&mut train);
        standardise(&mut test);
        let cfg = config_by_name(&spec.config)?;
        let mut ae = ConvAutoencoder::new(cfg, &mut Rng::stream(seed, "init"))?;
        let params = module::count_params(&mut ae).trainable;
        let tc = TrainConfig {
            epochs: spec.epochs,
            batch: spec.batch,
            opt: spec.opt,
            seed,
        };
        let log = train_ae(&mut ae, &train, &test, &tc, |e, l| {
            progress(&spec.config, e, l)
        })?;
        let recon = reconstruct(&mut ae, &test)?;
        let mses = per_signal_mse(&test, &recon);
        let test_mse = mses.iter().sum::<f64>() / mses.len().max(1) as f64;
        let var = test
            .iter()
            .map(|x| {
                let m = x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64;
                x.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / x.len() as f64
            })
            .sum::<f64>()
            / test.len().max(1) as f64;
        // Per test patient: the mean of its windows' MSEs.
        let mut pp = Vec::new();
        for p in 0..test_p.len() {
            let v: Vec<f64> = mses
                .iter()
                .zip(&owner)
                .filter(|(_, o)| **o == p)
                .map(|(m, _)| *m)
                .collect();
            if !v.is_empty() {
                pp.push(v.iter().sum::<f64>() / v.len() as f64);
            }
        }
        let mean = pp.iter().sum::<f64>() / pp.len().max(1) as f64;
        let sd =
            (pp.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / pp.len().max(1) as f64).sqrt();
        // One example per test patient, the first few patients.
        let mut examples = Vec::new();
        for p in 0..test_p.len() {
            if examples.len() >= s.examples {
                break;
            }
            if let Some(k) = owner.iter().position(|&o| o == p) {
                examples.push((test_p[p].id, test[k].clone(), recon[k].clone()));
            }
        }
        runs.push(RunResult {
            config: spec.config.clone(),
            params,
            windows: (train.len(), test.len()),
            train_mse: log.train_loss.last().copied().unwrap_or(f64::NAN),
            test_mse,
            test_relative: test_mse / var.max(f64::MIN_POSITIVE),
            per_patient: (mean, sd),
            log,
            examples,
        });
    }
    Ok(Outcome {
        split: (
            tr.iter().map(|&i| data.patients[i].id).collect(),
            te.iter().map(|&i| data.patients[i].id).collect(),
        ),
        runs,
    })
}

/// Writes the figures and the table; returns the file names.
///
/// # Errors
/// Plotting or write errors.
pub fn write(o: &Outcome, s: &Settings, run: &mut Run) -> Result<()> {
    let mut curves = LinePlot::new("Autoencoder training (MSE, (window std)²)", "epoch", "MSE");
    for (i, r) in o.runs.iter().enumerate() {
        let pts = |v: &[f64]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(e, &y)| (e as f64 + 1.0, y))
                .collect()
        };
        curves = curves
            .with(Series::line(&format!("{} train", r.config), pts(&r.log.train_loss)).color(2 * i))
            .with(
                Series::line(&format!("{} test", r.config), pts(&r.log.test_loss)).color(2 * i + 1),
            );
    }
    run.figure(&curves, "loss_curves", "training and test MSE per epoch")?;
    for r in &o.runs {
        let len = r.examples.first().map_or(0, |e| e.1.len());
        let fs = len as f64 / s.window_s;
        for (k, (id, x, y)) in r.examples.iter().enumerate() {
            let fig = SignalPlot::new(
                &format!("{}: test patient {id}, input vs reconstruction", r.config),
                Some(fs),
                "window std",
            )
            .with(Trace::new("input", x.clone()).color(0))
            .with(Trace::new("reconstruction", y.clone()).color(1));
            let stem = format!("recon_{}_{k}", r.config);
            run.figure(
                &fig,
                &stem,
                &format!("{}: test patient {id}, input vs reconstruction", r.config),
            )?;
        }
    }
    let mut t = Table::new(&[
        "network",
        "params",
        "train windows",
        "test windows",
        "epochs",
        "train MSE ((window std)²)",
        "test MSE ((window std)²)",
        "test MSE / variance",
        "per-patient test MSE mean",
        "per-patient test MSE sd",
        "train time (s)",
    ]);
    for r in &o.runs {
        t.row(vec![
            r.config.clone(),
            r.params.to_string(),
            r.windows.0.to_string(),
            r.windows.1.to_string(),
            r.log.train_loss.len().to_string(),
            sci(r.train_mse),
            sci(r.test_mse),
            format!("{:.4}", r.test_relative),
            sci(r.per_patient.0),
            sci(r.per_patient.1),
            format!("{:.1}", r.log.seconds),
        ]);
    }
    run.table(
        &t.titled("Reconstruction errors (patient-wise split)")?,
        "reconstruction_errors",
    )?;
    Ok(())
}
