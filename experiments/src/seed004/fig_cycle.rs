//! `fig_04_cycle_interpolation` (and, with CoordConv, `fig_04_coordconv`): single cardiac
//! cycles cropped around R peaks, an autoencoder trained on them, and latent paths between
//! pairs of test cycles whose T waves are **close** (centre distance < `close`·w) or **far**
//! (> `far`·w) apart, w = the mean T-wave width of the test cycles.
//!
//! Measured per path (`interp::cycle_path`): the T-wave centre of mass and height at each
//! step; a path **jumps** (vanishes here and grows there) when its largest centre step exceeds
//! 4× the mean step or its T height dips below half of the smaller end height; otherwise it
//! **drifts**. The paper's claim: close pairs drift, far pairs jump.

use anyhow::Result;
use ecgrad_engine::Rng;
use ecgrad_models::nets::ConvAutoencoder;
use serde::Serialize;

use super::data::{V6Data, cycles, patient_split, standardise};
use super::interp::{CyclePath, cycle_path, pick_pairs};
use super::measure::t_wave;
use super::output::Table;
use super::train::{Opt, TrainConfig, TrainLog, decode, encode, lerp_codes, train_ae};
use crate::exp::Run;
use crate::plot::{LinePlot, Series, StackedSignals};

/// Every setting of the run.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Patients loaded.
    pub patients: usize,
    /// Held-out fraction.
    pub test_fraction: f64,
    /// Network (`qrs560`: R ± 280 samples, the public code's single-cycle net).
    pub config: String,
    /// CoordConv layers instead of plain convolutions.
    pub coordconv: bool,
    /// Epochs / batch / optimizer.
    pub train: (usize, usize, Opt),
    /// Half crop, samples (280 → 560 samples).
    pub half: usize,
    /// "Close" threshold in T widths.
    pub close: f64,
    /// "Far" threshold in T widths.
    pub far: f64,
    /// Pairs per group.
    pub pairs: usize,
    /// Steps per path.
    pub steps: usize,
    /// Sampling rate.
    pub fs: f64,
}

impl Settings {
    /// `--quick`.
    pub fn quick(coordconv: bool) -> Settings {
        Settings {
            patients: 24,
            test_fraction: 0.25,
            config: "qrs560".into(),
            coordconv,
            train: (3, 16, Opt::Adam(2e-3)),
            half: 280,
            close: 0.3,
            far: 1.0,
            pairs: 8,
            steps: 20,
            fs: 500.0,
        }
    }
    /// The full run.
    pub fn full(coordconv: bool) -> Settings {
        Settings {
            patients: 200,
            test_fraction: 0.2,
            config: "qrs560".into(),
            coordconv,
            train: (20, 32, Opt::Adam(1e-3)),
            half: 280,
            close: 0.3,
            far: 1.0,
            pairs: 40,
            steps: 20,
            fs: 500.0,
        }
    }
}

/// One interpolated pair.
#[derive(Clone, Debug, Serialize)]
pub struct PairResult {
    /// "close" or "far".
    pub group: String,
    /// Patient ids.
    pub ids: (u32, u32),
    /// T-centre distance of the originals, in T widths.
    pub distance_widths: f64,
    /// The T track along the decoded path.
    pub path: CyclePath,
    /// The decoded path.
    #[serde(skip)]
    pub signals: Vec<Vec<f32>>,
}

/// Group summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupStats {
    /// Pairs.
    pub n: usize,
    /// Fraction of paths classified as jumps.
    pub jump_rate: f64,
    /// Median jump ratio.
    pub median_jump_ratio: f64,
    /// Median amplitude dip.
    pub median_amplitude_dip: f64,
}

/// What the run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Training curves.
    pub log: TrainLog,
    /// Mean T width of the test cycles (samples).
    pub t_width: f64,
    /// Close pairs.
    pub close: GroupStats,
    /// Far pairs.
    pub far: GroupStats,
    /// Every pair.
    pub pairs: Vec<PairResult>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn stats(pairs: &[PairResult], group: &str) -> GroupStats {
    let g: Vec<&PairResult> = pairs.iter().filter(|p| p.group == group).collect();
    let n = g.len();
    GroupStats {
        n,
        jump_rate: g.iter().filter(|p| p.path.trajectory.jumps).count() as f64 / n.max(1) as f64,
        median_jump_ratio: median(g.iter().map(|p| p.path.trajectory.jump_ratio).collect()),
        median_amplitude_dip: median(g.iter().map(|p| p.path.trajectory.amplitude_dip).collect()),
    }
}

/// Trains the cycle autoencoder and measures close and far paths.
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
    let (mut train, _) = cycles(&train_p, s.half);
    let (mut test, owner) = cycles(&test_p, s.half);
    // Standardised as in `fig_04_ae_training`: on raw millivolts the network learns nothing.
    standardise(&mut train);
    standardise(&mut test);
    let cfg = super::fig_training::config_by_name(&s.config)?
        .with_input_len(2 * s.half)
        .with_coordconv(s.coordconv);
    let mut ae = ConvAutoencoder::new(cfg, &mut Rng::stream(seed, "init"))?;
    let tc = TrainConfig {
        epochs: s.train.0,
        batch: s.train.1,
        opt: s.train.2,
        seed,
    };
    let log = train_ae(&mut ae, &train, &test, &tc, progress)?;
    let waves: Vec<_> = test.iter().map(|x| t_wave(x, s.half, s.fs)).collect();
    let (close, far, w) = pick_pairs(&waves, s.close, s.far, s.pairs, seed);
    let mut pairs = Vec::new();
    for (group, list) in [("close", close), ("far", far)] {
        for (a, b) in list {
            let codes = encode(&mut ae, &[&test[a], &test[b]])?;
            let path = decode(&mut ae, &lerp_codes(&codes[0], &codes[1], s.steps))?;
            let d = match (waves[a], waves[b]) {
                (Some(x), Some(y)) => (x.com - y.com).abs() / w.max(1e-9),
                _ => f64::NAN,
            };
            pairs.push(PairResult {
                group: group.into(),
                ids: (test_p[owner[a]].id, test_p[owner[b]].id),
                distance_widths: d,
                path: cycle_path(&path, s.half, s.fs),
                signals: path,
            });
        }
    }
    Ok(Outcome {
        log,
        t_width: w,
        close: stats(&pairs, "close"),
        far: stats(&pairs, "far"),
        pairs,
    })
}

/// Figures (T-centre trajectories, example paths) and tables; `tag` prefixes file names.
///
/// # Errors
/// Plotting or write errors.
pub fn write(o: &Outcome, s: &Settings, run: &mut Run, tag: &str) -> Result<()> {
    let net = if s.coordconv { "CoordConv AE" } else { "AE" };
    let mut traj = LinePlot::new(
        &format!(
            "{net}: T-wave centre of mass along latent paths (solid colours: close 0–5, far 6+)"
        ),
        "step",
        "T centre (ms from crop start)",
    );
    let mut close_k = 0;
    let mut far_k = 0;
    for p in &o.pairs {
        let (k, color) = if p.group == "close" {
            close_k += 1;
            (close_k, close_k - 1)
        } else {
            far_k += 1;
            (far_k, 5 + far_k)
        };
        if k > 5 {
            continue;
        }
        let pts = p
            .path
            .coms
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_finite())
            .map(|(i, c)| (i as f64, c / s.fs * 1000.0))
            .collect();
        traj = traj
            .with(Series::line(&format!("{} {}→{}", p.group, p.ids.0, p.ids.1), pts).color(color));
    }
    let stem = format!("{tag}t_centre_trajectories");
    run.figure(
        &traj,
        &stem,
        "T-wave centre of mass along latent paths, close vs far pairs",
    )?;
    for group in ["close", "far"] {
        if let Some(p) = o.pairs.iter().find(|p| p.group == group) {
            let mut stack = StackedSignals::new(
                &format!(
                    "{net}, {group} T waves ({:.2} widths): patient {} → {}",
                    p.distance_widths, p.ids.0, p.ids.1
                ),
                Some(s.fs),
                p.signals.clone(),
            );
            stack.ends = ("A".into(), "B".into());
            let stem = format!("{tag}path_{group}");
            run.figure(
                &stack,
                &stem,
                &format!("decoded latent path between two cycles, {group} T waves"),
            )?;
        }
    }
    let mut t = Table::new(&[
        "group",
        "pair",
        "distance (T widths)",
        "jump ratio",
        "amplitude dip",
        "classified",
    ]);
    for p in &o.pairs {
        t.row(vec![
            p.group.clone(),
            format!("{}→{}", p.ids.0, p.ids.1),
            format!("{:.2}", p.distance_widths),
            format!("{:.2}", p.path.trajectory.jump_ratio),
            format!("{:.2}", p.path.trajectory.amplitude_dip),
            if p.path.trajectory.jumps {
                "jump"
            } else {
                "drift"
            }
            .into(),
        ]);
    }
    let stem = format!("{tag}pairs");
    run.table(
        &t.titled(&format!("{net}: every interpolated pair (drift vs jump)"))?,
        &stem,
    )?;
    let mut sum = group_table();
    add_group_rows(&mut sum, net, o);
    let stem = format!("{tag}summary");
    run.table(
        &sum.titled(&format!("{net}: jump rates of close and far T-wave pairs"))?,
        &stem,
    )?;
    Ok(())
}

/// The header of the per-group summary table.
pub fn group_table() -> Table {
    Table::new(&[
        "network",
        "group",
        "pairs",
        "jump rate",
        "median jump ratio",
        "median amplitude dip",
        "test MSE ((window std)²)",
    ])
}

/// Appends the close and far rows of `o` for network `net`.
pub fn add_group_rows(t: &mut Table, net: &str, o: &Outcome) {
    for (g, st) in [("close", &o.close), ("far", &o.far)] {
        t.row(vec![
            net.into(),
            g.into(),
            st.n.to_string(),
            format!("{:.3}", st.jump_rate),
            format!("{:.2}", st.median_jump_ratio),
            format!("{:.2}", st.median_amplitude_dip),
            format!(
                "{:.4e}",
                o.log.test_loss.last().copied().unwrap_or(f64::NAN)
            ),
        ]);
    }
}
