//! `fig_04_interpolation`: encode two test ECGs (4-s V6 windows of different test patients),
//! decode the straight line between their codes, and count R peaks and waves along the path.
//!
//! Measured per path (`interp::whole_path`): R peaks (Pan–Tompkins at the window's rate),
//! significant waves, P/T-like waves; the claim "the number of peaks changes during
//! interpolation" becomes the fraction of paths whose count leaves the range spanned by its two
//! end points. The end points are decoded codes (the reconstructions), so a count change is a
//! property of the path, not of reconstruction error.

use anyhow::Result;
use ecgrad_engine::Rng;
use ecgrad_models::nets::{AeConfig, ConvAutoencoder};
use serde::Serialize;

use super::data::{V6Data, patient_split, standardise, windows};
use super::interp::{WholePath, whole_path};
use super::output::Table;
use super::train::{Opt, TrainConfig, TrainLog, decode, encode, lerp_codes, train_ae};
use crate::exp::Run;
use crate::plot::{HeatMap, LinePlot, Series, StackedSignals};

/// Every setting of the run.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Patients loaded.
    pub patients: usize,
    /// Held-out fraction.
    pub test_fraction: f64,
    /// Network ("table512", the paper's table, or "keras2000", the public code's).
    pub config: String,
    /// Training epochs / batch / optimizer.
    pub train: (usize, usize, Opt),
    /// Pairs interpolated.
    pub pairs: usize,
    /// Steps per path (points = steps + 1).
    pub steps: usize,
    /// Wave prominence threshold, fraction of the signal's range.
    pub wave_fraction: f32,
    /// Sampling rate of the windows (input length / 4 s: 128 Hz for 512, 500 Hz for 2000).
    pub fs: f64,
}

impl Settings {
    /// `--quick`.
    pub fn quick() -> Settings {
        Settings {
            patients: 24,
            test_fraction: 0.25,
            config: "table512".into(),
            train: (4, 16, Opt::Adam(2e-3)),
            pairs: 6,
            steps: 20,
            wave_fraction: 0.1,
            fs: 128.0,
        }
    }
    /// The full run: the public code's whole-ECG network (`Keras_ae.py`: 2000 samples = 4 s at
    /// 500 Hz, code 200), which reconstructs test windows about twice as well as the paper's
    /// 512-sample table network (test MSE / variance 0.12 vs 0.24 in `fig_04_ae_training`), so
    /// the path's end points look like the ECGs they encode.
    pub fn full() -> Settings {
        Settings {
            patients: 200,
            test_fraction: 0.2,
            config: "keras2000".into(),
            train: (10, 50, Opt::Adam(1e-3)),
            pairs: 60,
            steps: 20,
            wave_fraction: 0.1,
            fs: 500.0,
        }
    }
}

/// One interpolated pair.
#[derive(Clone, Debug, Serialize)]
pub struct PairResult {
    /// Patient ids of the two ends.
    pub ids: (u32, u32),
    /// Counts along the path.
    pub path: WholePath,
    /// R peaks of the two original (not reconstructed) windows.
    pub original_r: (usize, usize),
    /// The decoded path (for figures).
    #[serde(skip)]
    pub signals: Vec<Vec<f32>>,
}

/// Summary numbers.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Training curves of the network.
    pub log: TrainLog,
    /// Every pair.
    pub pairs: Vec<PairResult>,
    /// Fraction of paths whose R count is not preserved.
    pub r_not_preserved: f64,
    /// Fraction whose significant-wave count is not preserved.
    pub waves_not_preserved: f64,
    /// Fraction whose P/T-like count is not preserved.
    pub other_not_preserved: f64,
    /// Fraction of end points where the reconstruction has the original's R count.
    pub endpoint_r_agreement: f64,
}

/// Trains the network and interpolates `s.pairs` random test pairs.
///
/// # Errors
/// Data, model or training errors.
pub fn run(
    s: &Settings,
    data: &V6Data,
    seed: u64,
    progress: impl FnMut(usize, &TrainLog),
) -> Result<Outcome> {
    let (tr, te) = patient_split(data.patients.len(), s.test_fraction, seed);
    let train_p: Vec<_> = tr.iter().map(|&i| &data.patients[i]).collect();
    let test_p: Vec<_> = te.iter().map(|&i| &data.patients[i]).collect();
    let cfg = super::fig_training::config_by_name(&s.config)?;
    let len = cfg.input_len;
    let (mut train, _) = windows(&train_p, 4.0, 1.0, len)?;
    let (mut test, owner) = windows(&test_p, 4.0, 1.0, len)?;
    // Standardised as in `fig_04_ae_training`: on raw millivolts the network learns nothing.
    standardise(&mut train);
    standardise(&mut test);
    let mut ae = ConvAutoencoder::new(cfg, &mut Rng::stream(seed, "init"))?;
    let tc = TrainConfig {
        epochs: s.train.0,
        batch: s.train.1,
        opt: s.train.2,
        seed,
    };
    let log = train_ae(&mut ae, &train, &test, &tc, progress)?;
    let pairs = interpolate_pairs(&mut ae, s, &test, &owner, &test_p, seed)?;
    let n = pairs.len().max(1) as f64;
    let frac = |f: &dyn Fn(&PairResult) -> bool| pairs.iter().filter(|p| f(p)).count() as f64 / n;
    let agree = pairs
        .iter()
        .map(|p| {
            let r = &p.path.r_counts;
            usize::from(r.first() == Some(&p.original_r.0))
                + usize::from(r.last() == Some(&p.original_r.1))
        })
        .sum::<usize>() as f64
        / (2.0 * n);
    Ok(Outcome {
        log,
        r_not_preserved: frac(&|p| !p.path.r_preserved),
        waves_not_preserved: frac(&|p| !p.path.waves_preserved),
        other_not_preserved: frac(&|p| !p.path.other_preserved),
        endpoint_r_agreement: agree,
        pairs,
    })
}

fn interpolate_pairs(
    ae: &mut ConvAutoencoder,
    s: &Settings,
    test: &[Vec<f32>],
    owner: &[usize],
    test_p: &[&super::data::Patient],
    seed: u64,
) -> Result<Vec<PairResult>> {
    let mut rng = Rng::stream(seed, "seed004-interp-pairs");
    let mut out = Vec::new();
    let mut tries = 0;
    while out.len() < s.pairs && tries < 100 * s.pairs && test.len() > 1 {
        tries += 1;
        let (a, b) = (rng.below(test.len()), rng.below(test.len()));
        if owner[a] == owner[b] {
            continue;
        }
        let codes = encode(ae, &[&test[a], &test[b]])?;
        let path = decode(ae, &lerp_codes(&codes[0], &codes[1], s.steps))?;
        out.push(PairResult {
            ids: (test_p[owner[a]].id, test_p[owner[b]].id),
            path: whole_path(&path, s.fs, s.wave_fraction),
            original_r: (
                super::measure::r_peak_count(&test[a], s.fs),
                super::measure::r_peak_count(&test[b], s.fs),
            ),
            signals: path,
        });
    }
    Ok(out)
}

/// Figures (heat map and stack of the first paths, R counts along every path) and tables.
///
/// # Errors
/// Plotting or write errors.
pub fn write(o: &Outcome, s: &Settings, run: &mut Run) -> Result<()> {
    for (k, p) in o.pairs.iter().take(2).enumerate() {
        let rows: Vec<Vec<f64>> = p
            .signals
            .iter()
            .map(|x| x.iter().map(|&v| f64::from(v)).collect())
            .collect();
        let mut heat = HeatMap::new(
            &format!(
                "Latent path, patient {} → {} (rows: steps)",
                p.ids.0, p.ids.1
            ),
            rows,
            "time (s)",
            "interpolation step",
        );
        heat.x_scale = 1.0 / s.fs;
        heat.value_label = "mV".into();
        heat.diverging = true;
        let stem = format!("path_heatmap_{k}");
        run.figure(
            &heat,
            &stem,
            "decoded latent path as a heat map (rows: steps)",
        )?;
        let mut stack = StackedSignals::new(
            &format!("Decoded path, patient {} → {}", p.ids.0, p.ids.1),
            Some(s.fs),
            p.signals.clone(),
        );
        stack.ends = (
            format!("patient {}", p.ids.0),
            format!("patient {}", p.ids.1),
        );
        let stem = format!("path_stack_{k}");
        run.figure(&stack, &stem, "decoded latent path, stacked")?;
    }
    let mut counts = LinePlot::new(
        "R peaks along each latent path",
        "step",
        "R peaks (Pan–Tompkins)",
    );
    for (k, p) in o.pairs.iter().take(12).enumerate() {
        let pts = p
            .path
            .r_counts
            .iter()
            .enumerate()
            .map(|(i, &c)| (i as f64, c as f64))
            .collect();
        counts = counts.with(Series::line(&format!("{}→{}", p.ids.0, p.ids.1), pts).color(k));
    }
    run.figure(
        &counts,
        "r_counts_along_paths",
        "R peaks (Pan–Tompkins) along each latent path",
    )?;

    let mut t = Table::new(&[
        "pair",
        "R counts along path",
        "wave counts along path",
        "R preserved",
        "waves preserved",
        "P/T preserved",
    ]);
    for p in &o.pairs {
        let join = |v: &[usize]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        t.row(vec![
            format!("{}→{}", p.ids.0, p.ids.1),
            join(&p.path.r_counts),
            join(&p.path.wave_counts),
            p.path.r_preserved.to_string(),
            p.path.waves_preserved.to_string(),
            p.path.other_preserved.to_string(),
        ]);
    }
    run.table(&t.titled("Counts along every latent path")?, "paths")?;
    let mut sum = Table::new(&["measure", "value"]);
    sum.row(vec!["pairs".into(), o.pairs.len().to_string()]);
    sum.row(vec![
        "paths with R count not preserved".into(),
        format!("{:.3}", o.r_not_preserved),
    ]);
    sum.row(vec![
        "paths with wave count not preserved".into(),
        format!("{:.3}", o.waves_not_preserved),
    ]);
    sum.row(vec![
        "paths with P/T count not preserved".into(),
        format!("{:.3}", o.other_not_preserved),
    ]);
    sum.row(vec![
        "end points with the original's R count".into(),
        format!("{:.3}", o.endpoint_r_agreement),
    ]);
    sum.row(vec![
        "final test MSE ((window std)²)".into(),
        format!(
            "{:.4e}",
            o.log.test_loss.last().copied().unwrap_or(f64::NAN)
        ),
    ]);
    run.table(
        &sum.titled("Wave-count preservation along latent paths")?,
        "summary",
    )?;
    Ok(())
}

/// Unused-import guard: [`AeConfig`] names the networks this module trains.
pub fn network(s: &Settings) -> Result<AeConfig> {
    super::fig_training::config_by_name(&s.config)
}
