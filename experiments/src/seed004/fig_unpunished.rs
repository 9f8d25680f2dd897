//! `fig_04_unpunished`: the masked-loss study of seed 004 §III with the public code's protocol
//! (`unpunished::fit_masked`): for each patient, its V6 signal and a Gaussian-process trajectory
//! with the same mean and std (`data::gp::gp_trajectory`, RBF kernel on a grid scaled so the
//! correlation length stays ≈ 18 samples), each fitted by a fresh "good" (pool 3) and "bad"
//! (pool 7) network; errors inside and outside the hole.
//!
//! The paper's claims, as numbers: (1) a bad network's inside error is about the same on ECG and
//! GP; (2) a good network's inside error is lower on ECG than on GP (fraction of patients where
//! it is, and the ratio of means); (3) outside errors barely differ; (4) the sweep over hole sizes:
//! the good net's inside error on ECG drops sharply once at least one full cycle stays punished.
//! The sweep reports the mean squared error **per hole sample** (inside·L/|hole|), which makes
//! holes of different sizes comparable.

use std::path::Path;

use anyhow::Result;
use ecgrad_engine::Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::data::V6Data;
use super::output::{Table, sci};
use super::unpunished::{FitResult, MaskedFit, fit_masked};
use crate::data::gp::{GpConfig, gp_trajectory};
use crate::plot::{self, BoxPlot, LinePlot, Series, SignalPlot, Trace};

/// Every setting of the run.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Patients (the public code: 34).
    pub patients: usize,
    /// Samples per signal (the first L samples of the 10-s record; 5000 = all).
    pub len: usize,
    /// Main comparison: steps and hole.
    pub main: (usize, (usize, usize)),
    /// Hole-size sweep: (steps, hole) per point.
    pub sweep: Vec<(usize, (usize, usize))>,
    /// Patients used in the sweep (the first ones).
    pub sweep_patients: usize,
    /// Adagrad lr.
    pub lr: f64,
    /// L2 λ.
    pub l2: f64,
    /// mV → fitting units.
    pub scale: f32,
}

impl Settings {
    /// `--quick`: 2-s signals, 3 patients, 100 steps.
    pub fn quick() -> Settings {
        Settings {
            patients: 3,
            len: 1000,
            main: (100, (100, 400)),
            sweep: vec![(100, (120, 980)), (100, (500, 980))],
            sweep_patients: 1,
            lr: 0.01,
            l2: 0.5,
            scale: 1000.0,
        }
    }
    /// The public code's protocol: 34 patients, 5000 samples, 1000 steps on [500, 2000); the
    /// sweep over its long holes with 2000 steps on 8 patients.
    pub fn full() -> Settings {
        Settings {
            patients: 34,
            len: 5000,
            main: (1000, (500, 2000)),
            sweep: vec![
                (2000, (200, 4900)),
                (2000, (400, 4900)),
                (2000, (600, 4900)),
                (2000, (1000, 4900)),
                (2000, (2000, 4900)),
                (2000, (3000, 4900)),
            ],
            sweep_patients: 8,
            lr: 0.01,
            l2: 0.5,
            scale: 1000.0,
        }
    }
}

/// One fit's numbers.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Patient id.
    pub id: u32,
    /// "good" / "bad".
    pub net: String,
    /// "ECG" / "GP".
    pub kind: String,
    /// Steps and hole.
    pub steps: usize,
    /// Hole.
    pub hole: (usize, usize),
    /// Errors and final loss.
    pub fit: FitResult,
}

/// Mean and sd of inside/outside errors of one (net, kind) cell.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// "good"/"bad".
    pub net: String,
    /// "ECG"/"GP".
    pub kind: String,
    /// Mean, sd of error_inside.
    pub inside: (f64, f64),
    /// Mean, sd of error_outside.
    pub outside: (f64, f64),
}

/// What the run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Main comparison, every fit.
    pub main: Vec<Row>,
    /// Its four cells.
    pub cells: Vec<Cell>,
    /// Fraction of patients where the good net's inside error is lower on ECG than on GP.
    pub good_ecg_below_gp: f64,
    /// Same for the bad net.
    pub bad_ecg_below_gp: f64,
    /// Sweep fits.
    pub sweep: Vec<Row>,
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    (
        m,
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt(),
    )
}

/// Runs every fit (in parallel over fits; each fit is deterministic on its own seed).
///
/// # Errors
/// GP sampling or fitting errors.
pub fn run(
    s: &Settings,
    data: &V6Data,
    seed: u64,
    progress: impl Fn(usize, usize) + Sync,
) -> Result<Outcome> {
    let patients: Vec<_> = data.patients.iter().take(s.patients).collect();
    let gp_cfg = GpConfig {
        n: s.len,
        x_min: -140.0 * s.len as f64 / 5000.0,
        x_max: 140.0 * s.len as f64 / 5000.0,
        ..GpConfig::default()
    };
    // (id, ecg, gp) per patient.
    let mut signals = Vec::new();
    for p in &patients {
        let ecg: Vec<f32> = p.v6.iter().take(s.len).copied().collect();
        let n = ecg.len() as f64;
        let mean = ecg.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let std = (ecg
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let mut rng = Rng::stream(seed ^ u64::from(p.id), "seed004-gp");
        let gp: Vec<f32> = gp_trajectory(&gp_cfg, mean, std, &mut rng)?
            .into_iter()
            .map(|v| v as f32)
            .collect();
        signals.push((p.id, ecg, gp));
    }
    let mut jobs = Vec::new();
    for (pi, (id, ecg, gp)) in signals.iter().enumerate() {
        for (net, pool) in [("good", 3), ("bad", 7)] {
            for (kind, sig) in [("ECG", ecg), ("GP", gp)] {
                jobs.push((false, *id, net, pool, kind, sig, s.main));
                if pi < s.sweep_patients {
                    for &sw in &s.sweep {
                        jobs.push((true, *id, net, pool, kind, sig, sw));
                    }
                }
            }
        }
    }
    let total = jobs.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<(bool, Row)>> = jobs
        .par_iter()
        .map(|&(is_sweep, id, net, pool, kind, sig, (steps, hole))| {
            let fit = MaskedFit {
                pool,
                steps,
                hole,
                lr: s.lr,
                l2: s.l2,
                scale: s.scale,
            };
            let r = fit_masked(&fit, sig, seed.wrapping_add(u64::from(id)))?;
            progress(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                total,
            );
            Ok((
                is_sweep,
                Row {
                    id,
                    net: net.into(),
                    kind: kind.into(),
                    steps,
                    hole,
                    fit: r,
                },
            ))
        })
        .collect();
    let mut main = Vec::new();
    let mut sweep = Vec::new();
    for r in results {
        let (is_sweep, row) = r?;
        if is_sweep {
            sweep.push(row)
        } else {
            main.push(row)
        }
    }
    let mut cells = Vec::new();
    for net in ["good", "bad"] {
        for kind in ["ECG", "GP"] {
            let sel: Vec<&Row> = main
                .iter()
                .filter(|r| r.net == net && r.kind == kind)
                .collect();
            cells.push(Cell {
                net: net.into(),
                kind: kind.into(),
                inside: mean_sd(&sel.iter().map(|r| r.fit.inside).collect::<Vec<_>>()),
                outside: mean_sd(&sel.iter().map(|r| r.fit.outside).collect::<Vec<_>>()),
            });
        }
    }
    let below = |net: &str| {
        let ids: Vec<u32> = signals.iter().map(|s| s.0).collect();
        let get = |id: u32, kind: &str| {
            main.iter()
                .find(|r| r.id == id && r.net == net && r.kind == kind)
                .map(|r| r.fit.inside)
        };
        let hits = ids
            .iter()
            .filter(|&&id| matches!((get(id, "ECG"), get(id, "GP")), (Some(e), Some(g)) if e < g))
            .count();
        hits as f64 / ids.len().max(1) as f64
    };
    Ok(Outcome {
        good_ecg_below_gp: below("good"),
        bad_ecg_below_gp: below("bad"),
        cells,
        main,
        sweep,
    })
}

/// Figures and tables.
///
/// # Errors
/// Plotting or write errors.
pub fn write(o: &Outcome, s: &Settings, dir: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for (what, pick) in [("inside", true), ("outside", false)] {
        let mut b = BoxPlot::new(
            &format!(
                "error {what} the unpunished region [{}, {}) (µV², ÷ L)",
                s.main.1.0, s.main.1.1
            ),
            "error",
        );
        for (k, c) in o.cells.iter().enumerate() {
            let v: Vec<f64> = o
                .main
                .iter()
                .filter(|r| r.net == c.net && r.kind == c.kind)
                .map(|r| if pick { r.fit.inside } else { r.fit.outside })
                .collect();
            b = b.with(&format!("{} / {}", c.net, c.kind), v, k);
        }
        let stem = format!("errors_{what}");
        plot::save(&b, dir, &stem)?;
        files.push(format!("{stem}.png"));
    }
    if let Some(first) = o.main.first().map(|r| r.id) {
        for kind in ["ECG", "GP"] {
            let rows: Vec<&Row> = o
                .main
                .iter()
                .filter(|r| r.id == first && r.kind == kind)
                .collect();
            let mut fig = SignalPlot::new(
                &format!("patient {first}, {kind}: fits with the hole unpunished"),
                Some(500.0),
                "µV",
            )
            .region(s.main.1.0, s.main.1.1, "unpunished", 7);
            for (k, r) in rows.iter().enumerate() {
                fig = fig
                    .with(Trace::new(&format!("{} net", r.net), r.fit.recon.clone()).color(k + 1));
            }
            let stem = format!("example_{}", kind.to_lowercase());
            plot::save(&fig, dir, &stem)?;
            files.push(format!("{stem}.png"));
        }
    }
    if !o.sweep.is_empty() {
        let mut lp = LinePlot::new(
            "hole-size sweep: mean squared error per hole sample",
            "punished samples (L − |hole|)",
            "inside error per hole sample (µV²)",
        );
        let mut k = 0;
        for net in ["good", "bad"] {
            for kind in ["ECG", "GP"] {
                let mut pts: Vec<(f64, f64)> = Vec::new();
                for &(_, hole) in &s.sweep {
                    let v: Vec<f64> = o
                        .sweep
                        .iter()
                        .filter(|r| r.net == net && r.kind == kind && r.hole == hole)
                        .map(|r| r.fit.inside * s.len as f64 / (hole.1 - hole.0) as f64)
                        .collect();
                    pts.push(((s.len - (hole.1 - hole.0)) as f64, mean_sd(&v).0));
                }
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                lp = lp.with(Series::line(&format!("{net} / {kind}"), pts).color(k));
                k += 1;
            }
        }
        plot::save(&lp, dir, "hole_size_sweep")?;
        files.push("hole_size_sweep.png".into());
    }
    let mut t = Table::new(&[
        "network",
        "signal",
        "inside mean",
        "inside sd",
        "outside mean",
        "outside sd",
    ]);
    for c in &o.cells {
        t.row(vec![
            c.net.clone(),
            c.kind.clone(),
            sci(c.inside.0),
            sci(c.inside.1),
            sci(c.outside.0),
            sci(c.outside.1),
        ]);
    }
    t.save(dir, "errors_summary")?;
    let mut all = Table::new(&[
        "patient",
        "network",
        "signal",
        "steps",
        "hole",
        "inside",
        "outside",
        "final loss",
    ]);
    for r in o.main.iter().chain(&o.sweep) {
        all.row(vec![
            r.id.to_string(),
            r.net.clone(),
            r.kind.clone(),
            r.steps.to_string(),
            format!("[{}, {})", r.hole.0, r.hole.1),
            sci(r.fit.inside),
            sci(r.fit.outside),
            sci(r.fit.final_loss),
        ]);
    }
    all.save(dir, "fits")?;
    files.extend(
        [
            "errors_summary.csv",
            "errors_summary.md",
            "fits.csv",
            "fits.md",
        ]
        .map(String::from),
    );
    Ok(files)
}
