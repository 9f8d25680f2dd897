//! `table_00_denoising` (issue 8 item 1; seed 000's ACDAE, PAPERS.md §B and §F): train `Acdae`
//! on two-lead MIT-BIH segments corrupted by white Gaussian noise (−20…+20 dB, step 5) and by
//! NSTDB bw/em/ma (−6…+24 dB, step 6), then report, per noise type and input SNR, the output
//! SNR, SNR improvement, RMSE and PRD of the network, of two classical baselines (median
//! baseline removal + band-pass; db4 wavelet soft threshold) and of the untouched noisy input.
//!
//! Protocol (details in `ecgrad_experiments::denoise`):
//! - windows of L = 600 samples (1.67 s at 360 Hz), both leads, clean reference high-passed at
//!   0.5 Hz; patient-wise split: training windows from de Chazal's DS1 records, test windows
//!   from DS2 (no patient on both sides; paced records are in neither list);
//! - SNR = power ratio per lead, gain solved exactly on each segment; noise for training from
//!   the first half of each NSTDB record, for testing from the second half;
//! - paper anchor: SNR improvement 19.07 ± 1.67 dB on average, PRD 11.0 % at 0 dB.
//!
//! Outputs in `results/table_00_denoising/`: `table_00_denoising.csv` and `.md`,
//! `metrics.json` (every hyper-parameter, seed, ISA, threads, git revision, data source, run
//! time), `training_loss.csv`, `fig_00_denoising.png`/`.svg` (per noise type: overlays at −10,
//! 0, +10 dB and SNR improvement vs input SNR) and `fig_00_denoising_overlays.csv` (its data).
//! `--quick`: one training and one test record (or a few synthetic patients), few epochs.

#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;
use clap::Parser;
use ecgrad_experiments::cli::{CommonArgs, DataSource};
use ecgrad_experiments::data::mitbih::{DS1, DS2};
use ecgrad_experiments::denoise::metrics::mean_std;
use ecgrad_experiments::denoise::noise::{NoiseRecord, NoiseType};
use ecgrad_experiments::denoise::run::{
    Condition, METHODS, NoiseBank, TrainConfig, corrupt_test, denoise_with, evaluate, train_acdae,
};
use ecgrad_experiments::denoise::segments::{Segments, mitbih_segments, synthetic_segments};
use ecgrad_experiments::plot::{self, Grid, LinePlot, Panel, Series, SignalPlot, Trace};
use ecgrad_experiments::report::{Provenance, write_atomic, write_json};
use ecgrad_models::autograd::engine::Rng;
use ecgrad_models::module::count_params;
use ecgrad_models::nets::{Acdae, AcdaeConfig};
use serde_json::json;

const BINARY: &str = "table_00_denoising";

/// Denoising table: ACDAE vs classical baselines across noise types and input SNRs.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    /// Window length L in samples (a multiple of 8).
    #[arg(long, default_value_t = 600)]
    len: usize,
    /// Training epochs (default 6).
    #[arg(long)]
    epochs: Option<usize>,
    /// Training windows per DS1 record (default 70; 120 with --quick, from one record).
    #[arg(long)]
    train_per_record: Option<usize>,
    /// Test windows per DS2 record (default 12; 8 with --quick).
    #[arg(long)]
    test_per_record: Option<usize>,
}

/// Loads the clean segments and the noise records; returns (train, test, bank, description).
fn load(cli: &Cli, source: &DataSource) -> Result<(Segments, Segments, NoiseBank, String)> {
    let quick = cli.common.quick;
    let train_k = cli.train_per_record.unwrap_or(if quick { 120 } else { 70 });
    let test_k = cli.test_per_record.unwrap_or(if quick { 8 } else { 12 });
    match source {
        DataSource::Real(dir) => {
            let (tr, te): (&[&str], &[&str]) = if quick {
                (&DS1[..1], &DS2[..1])
            } else {
                (&DS1, &DS2)
            };
            let mitdb = dir.join("mitdb");
            let train = mitbih_segments(&mitdb, tr, cli.len, train_k)?;
            let test = mitbih_segments(&mitdb, te, cli.len, test_k)?;
            let nstdb = dir.join("nstdb");
            let mut bank: NoiseBank = vec![(NoiseType::White, None)];
            for kind in [NoiseType::Bw, NoiseType::Em, NoiseType::Ma] {
                bank.push((kind, Some(NoiseRecord::load(&nstdb, kind)?)));
            }
            let desc = format!(
                "MIT-BIH Arrhythmia (train DS1 {} records, test DS2 {} records) + NSTDB bw/em/ma, {}",
                tr.len(),
                te.len(),
                source.describe()
            );
            Ok((train, test, bank, desc))
        }
        DataSource::Synthetic(_) => {
            println!(
                "{BINARY}: no real data found — running on the synthetic ECG generator and synthetic noise stand-ins ({})",
                source.describe()
            );
            let (n_train, n_test, beats) = if quick { (3, 1, 60) } else { (12, 4, 200) };
            let train = synthetic_segments(n_train, beats, cli.len, cli.common.seed)?;
            let test = synthetic_segments(n_test, beats, cli.len, cli.common.seed + 1000)?;
            let mut bank: NoiseBank = vec![(NoiseType::White, None)];
            for kind in [NoiseType::Bw, NoiseType::Em, NoiseType::Ma] {
                bank.push((
                    kind,
                    Some(NoiseRecord::synthetic(
                        kind,
                        200_000,
                        360.0,
                        cli.common.seed,
                    )?),
                ));
            }
            let desc = format!(
                "synthetic ECGSYN-like two-lead records ({n_train} train / {n_test} test patients) + synthetic bw/em/ma stand-ins: {}",
                source.describe()
            );
            Ok((train, test, bank, desc))
        }
    }
}

/// One table row: method, type, level, and mean ± std of the four metrics.
fn rows(conds: &[Condition]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for c in conds {
        for (m, name) in METHODS.iter().enumerate() {
            let col = |f: fn(&ecgrad_experiments::denoise::metrics::SegmentMetrics) -> f64| {
                mean_std(&c.metrics[m].iter().map(f).collect::<Vec<_>>())
            };
            let (snr_in, _) = col(|s| s.snr_in);
            let (so, so_sd) = col(|s| s.snr_out);
            let (si, si_sd) = col(|s| s.snr_imp);
            let (rmse, rmse_sd) = col(|s| s.rmse);
            let (prd, prd_sd) = col(|s| s.prd);
            out.push(json!({
                "noise": c.kind.name(), "snr_in_nominal_db": c.snr_db, "snr_in_measured_db": snr_in,
                "method": name, "segments": c.metrics[m].len(),
                "snr_out_db": so, "snr_out_sd": so_sd, "snr_imp_db": si, "snr_imp_sd": si_sd,
                "rmse_mv": rmse, "rmse_sd": rmse_sd, "prd_pct": prd, "prd_sd": prd_sd,
            }));
        }
    }
    out
}

fn num(v: &serde_json::Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(f64::NAN)
}

/// CSV and Markdown renderings of the rows, plus the anchor comparison.
fn render(rows: &[serde_json::Value], anchor: &serde_json::Value) -> (String, String) {
    let mut csv = String::from(
        "noise,snr_in_db,method,segments,snr_out_db,snr_out_sd,snr_imp_db,snr_imp_sd,rmse_mv,rmse_sd,prd_pct,prd_sd\n",
    );
    let mut md = String::from(
        "# table_00_denoising\n\nMean ± std over test segments (both leads). SNR in dB, RMSE in mV, PRD in %.\n\n| noise | SNR in | method | SNR out | SNR imp | RMSE | PRD |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let method = r["method"].as_str().unwrap_or("?");
        let noise = r["noise"].as_str().unwrap_or("?");
        let _ = writeln!(
            csv,
            "{noise},{},{method},{},{:.4},{:.4},{:.4},{:.4},{:.5},{:.5},{:.3},{:.3}",
            num(r, "snr_in_nominal_db"),
            r["segments"],
            num(r, "snr_out_db"),
            num(r, "snr_out_sd"),
            num(r, "snr_imp_db"),
            num(r, "snr_imp_sd"),
            num(r, "rmse_mv"),
            num(r, "rmse_sd"),
            num(r, "prd_pct"),
            num(r, "prd_sd")
        );
        let _ = writeln!(
            md,
            "| {noise} | {:+} | {method} | {:.2} ± {:.2} | {:.2} ± {:.2} | {:.4} | {:.1} ± {:.1} |",
            num(r, "snr_in_nominal_db"),
            num(r, "snr_out_db"),
            num(r, "snr_out_sd"),
            num(r, "snr_imp_db"),
            num(r, "snr_imp_sd"),
            num(r, "rmse_mv"),
            num(r, "prd_pct"),
            num(r, "prd_sd")
        );
    }
    let _ = writeln!(
        md,
        "\n## Against the paper's anchor\n\n```\n{}\n```",
        serde_json::to_string_pretty(anchor).unwrap_or_default()
    );
    (csv, md)
}

/// Paper anchor vs ours: mean SNR improvement over all conditions (± std across conditions),
/// and PRD at 0 dB per noise type, for every method.
fn anchor(conds: &[Condition]) -> serde_json::Value {
    let mut per_method = serde_json::Map::new();
    for (m, name) in METHODS.iter().enumerate().skip(1) {
        let imps: Vec<f64> = conds
            .iter()
            .map(|c| mean_std(&c.metrics[m].iter().map(|s| s.snr_imp).collect::<Vec<_>>()).0)
            .collect();
        let (mi, sd) = mean_std(&imps);
        let prd0: serde_json::Map<String, serde_json::Value> = conds
            .iter()
            .filter(|c| c.snr_db == 0.0)
            .map(|c| {
                let p = mean_std(&c.metrics[m].iter().map(|s| s.prd).collect::<Vec<_>>()).0;
                (c.kind.name().to_string(), json!(p))
            })
            .collect();
        per_method.insert(
            name.to_string(),
            json!({"snr_imp_mean_over_conditions_db": mi, "snr_imp_sd_over_conditions_db": sd, "prd_at_0db_pct": prd0}),
        );
    }
    json!({"paper": {"snr_imp_db": "19.07 ± 1.67", "prd_at_0db_pct": 11.0}, "ours": per_method})
}

/// One overlay panel: lead 1 of the clean, noisy and denoised segment.
struct Overlay {
    kind: NoiseType,
    snr_db: f64,
    clean: Vec<f32>,
    noisy: Vec<f32>,
    denoised: Vec<f32>,
}

/// fig_00_denoising: per noise type (rows), overlays at −10, 0, +10 dB and the SNR-improvement
/// curve of every method against the input SNR.
fn figure(conds: &[Condition], overlays: &[Overlay], fs: f64) -> Grid {
    let mut grid = Grid::new(
        "ACDAE vs classical denoisers: lead 1 overlays (clean / noisy / ACDAE) and SNR improvement",
        4,
        (520, 300),
    );
    for kind in NoiseType::ALL {
        for o in overlays.iter().filter(|o| o.kind == kind) {
            let p = SignalPlot::new(
                &format!("{} noise, {:+} dB", kind.name(), o.snr_db),
                Some(fs),
                "mV",
            )
            .with(Trace::new("noisy", o.noisy.clone()).color(7))
            .with(Trace::new("clean", o.clean.clone()).color(0))
            .with(Trace::new("ACDAE", o.denoised.clone()).color(3));
            grid = grid.with(Panel::Signal(p));
        }
        let mut lp = LinePlot::new(
            &format!("{}: SNR improvement", kind.name()),
            "input SNR (dB)",
            "SNR improvement (dB)",
        );
        for (m, name) in METHODS.iter().enumerate().skip(1) {
            let pts: Vec<(f64, f64)> = conds
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| {
                    let v: Vec<f64> = c.metrics[m].iter().map(|s| s.snr_imp).collect();
                    (c.snr_db, mean_std(&v).0)
                })
                .collect();
            lp = lp.with(Series::line(name, pts).color(m));
        }
        grid = grid.with(Panel::Line(lp));
    }
    grid
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let t0 = Instant::now();
    let threads = cli.common.init_threads()?;
    let source = cli.common.data_source()?;
    let (train, test, bank, data_desc) = load(&cli, &source)?;
    println!(
        "{BINARY}: {} training / {} test windows of {} samples; {data_desc}",
        train.count(),
        test.count(),
        cli.len
    );
    anyhow::ensure!(train.count() > 0 && test.count() > 0, "no segments loaded");
    let seed = cli.common.seed;
    let cfg = TrainConfig {
        epochs: cli.epochs.unwrap_or(6),
        batch: 16,
        lr: 1e-3,
        seed,
    };
    let net_cfg = AcdaeConfig::default();
    let mut net = Acdae::new(net_cfg.clone(), &mut Rng::stream(seed, "init"))?;
    let params = count_params(&mut net).total;
    let t_train = Instant::now();
    let curve = train_acdae(&mut net, &train, &bank, &cfg, |e, l| {
        println!(
            "{BINARY}: epoch {} / {} mean loss {l:.5} ({:.0} s)",
            e + 1,
            cfg.epochs,
            t_train.elapsed().as_secs_f64()
        );
    })?;
    let train_s = t_train.elapsed().as_secs_f64();
    let t_eval = Instant::now();
    let conds = evaluate(&net, &test, &bank, seed)?;
    let eval_s = t_eval.elapsed().as_secs_f64();

    let out = cli.common.out_dir(BINARY);
    let rows = rows(&conds);
    let anchor = anchor(&conds);
    let (csv, md) = render(&rows, &anchor);
    write_atomic(&out.join(format!("{BINARY}.csv")), csv.as_bytes())?;
    write_atomic(&out.join(format!("{BINARY}.md")), md.as_bytes())?;
    let mut loss_csv = String::from("epoch,mean_train_loss\n");
    for (e, l) in curve.iter().enumerate() {
        let _ = writeln!(loss_csv, "{},{l}", e + 1);
    }
    write_atomic(&out.join("training_loss.csv"), loss_csv.as_bytes())?;

    // Overlay data for the figure: the first test segment at −10, 0, +10 dB per noise type.
    let mut overlay = String::from("noise,snr_db,lead,t,clean,noisy,acdae\n");
    let mut overlays = Vec::new();
    let one = Segments {
        x: vec![test.x[0].clone()],
        record: vec![test.record[0].clone()],
        ..test.clone()
    };
    for kind in NoiseType::ALL {
        for snr in [-10.0, 0.0, 10.0] {
            let noisy = corrupt_test(&one, &bank, kind, snr, seed)?;
            let den = denoise_with(&net, &noisy, test.len)?;
            for i in 0..2 * test.len {
                let _ = writeln!(
                    overlay,
                    "{},{snr},{},{},{},{},{}",
                    kind.name(),
                    i / test.len + 1,
                    i % test.len,
                    one.x[0][i],
                    noisy[0][i],
                    den[0][i]
                );
            }
            overlays.push(Overlay {
                kind,
                snr_db: snr,
                clean: one.x[0][..test.len].to_vec(),
                noisy: noisy[0][..test.len].to_vec(),
                denoised: den[0][..test.len].to_vec(),
            });
        }
    }
    write_atomic(
        &out.join("fig_00_denoising_overlays.csv"),
        overlay.as_bytes(),
    )?;
    let files = plot::save(
        &figure(&conds, &overlays, test.fs),
        &out,
        "fig_00_denoising",
    )?;
    println!(
        "{BINARY}: figure {} and {}",
        files.png.display(),
        files.svg.display()
    );

    let total_s = t0.elapsed().as_secs_f64();
    let metrics = json!({
        "provenance": Provenance::collect(BINARY, seed, &data_desc),
        "threads": threads,
        "quick": cli.common.quick,
        "window_samples": cli.len, "fs_hz": test.fs,
        "split": "patient-wise: training windows from de Chazal DS1 records, test windows from DS2 (synthetic: separate generated patients)",
        "train_windows": train.count(), "test_windows": test.count(),
        "snr_definition": "power ratio per lead, gain solved on the segment (PAPERS.md §F.3)",
        "noise_split": "training noise from the first half of each NSTDB record, test noise from the second half",
        "model": format!("{net_cfg:?}"), "parameters": params,
        "train": cfg, "optimizer": "Adam(betas 0.9/0.999, eps 1e-8, weight decay 0)", "loss": "MSE on per-segment normalised signals",
        "train_loss_curve": curve,
        "baselines": {"bandpass+median": "two-stage median baseline removal (200/600 ms) + zero-phase Butterworth band-pass 0.5–40 Hz order 2", "wavelet-db4-soft": "db4, 5 levels, VisuShrink soft threshold (σ from MAD of finest details)"},
        "anchor": anchor, "rows": rows,
        "seconds": {"train": train_s, "eval": eval_s, "total": total_s},
    });
    write_json(&out.join("metrics.json"), &metrics)?;
    println!(
        "{BINARY}: wrote {} (train {train_s:.1} s, eval {eval_s:.1} s, total {total_s:.1} s)",
        out.display()
    );
    println!("{}", serde_json::to_string_pretty(&anchor)?);
    Ok(())
}
