//! `fig_03_selective`: a classifier that says when it does not know (the seed's closing
//! argument), on the base models of each protocol.
//!
//! 1. **Calibration**: temperature scaling of each model on its *validation* logits
//!    (`calibration::fit_temperature`); ECE (15 bins) on test before and after; reliability
//!    diagram of the best model (by validation macro-F1).
//! 2. **Uncertainty** (certainty scores, higher = surer): the calibrated max-probability of the
//!    best model; the soft-average ensemble's max-probability; ensemble **agreement** (fraction
//!    of models voting for the ensemble's class, ties broken by that max-probability); and **MC
//!    dropout** (20 passes of the CNN with dropout on and batch norm on running statistics;
//!    certainty = 1 − entropy of the mean probabilities / ln k). Only the CNN has dropout.
//! 3. **Selective prediction**: risk–coverage curves, AURC, accuracy at 90 % and 80 % coverage.
//! 4. **Out of distribution**: the test beats with noise at decreasing SNR (NSTDB muscle
//!    artifact `ma`, resampled to 125 Hz, power ratio against the mean-removed beat; white
//!    Gaussian noise when NSTDB is absent), beats re-normalised to \[0, 1\]: accuracy and mean
//!    normalised entropy of the soft-average ensemble per SNR — does uncertainty rise as
//!    accuracy falls?

use anyhow::Result;
use ecgrad_engine::{Rng, Tensor};
use ecgrad_models::Module;
use serde_json::json;

use super::Run;
use crate::calibration::{
    accuracy_at_coverage, aurc, confidence_and_correct, ece, ece_of_bins, entropy_rows,
    fit_temperature, reliability_bins, risk_coverage, softmax_with_temperature,
};
use crate::cli::DataSource;
use crate::data::nstdb::{NoiseKind, load_noise};
use crate::data::resample::resample;
use crate::data::windows::{Normalisation, normalise};
use crate::plot::{Grid, LinePlot, Panel, ReliabilityPlot, Series, risk_coverage_plot};
use crate::seed003::common::Config;
use crate::seed003::ensembles::{BaseSet, base_set};
use crate::seed003::evaluate::predicted;
use crate::seed003::protocol::{BEAT_LEN, FS, Part};
use crate::seed003::zoo::ModelKind;
use crate::table::{Cell, Table};
use crate::train::predict;

/// SNRs of the out-of-distribution check, dB.
const SNRS: [f64; 6] = [24.0, 12.0, 6.0, 0.0, -6.0, -12.0];
/// MC-dropout passes.
const MC_PASSES: usize = 20;

fn to_f64(t: &Tensor<f32>) -> Vec<f64> {
    t.data().iter().map(|&v| f64::from(v)).collect()
}

fn max_rows(p: &[f64], k: usize) -> Vec<f64> {
    p.chunks_exact(k)
        .map(|r| r.iter().copied().fold(0.0, f64::max))
        .collect()
}

/// Mean of `probs` over models, `[n·k]`.
fn mean_probs(probs: &[Vec<f64>]) -> Vec<f64> {
    let m = probs.len().max(1) as f64;
    let mut out = vec![0.0; probs.first().map_or(0, Vec::len)];
    for p in probs {
        out.iter_mut().zip(p).for_each(|(o, v)| *o += v / m);
    }
    out
}

/// The test part with noise at `snr` dB added to every beat, re-normalised (see module docs).
fn noisy(part: &Part, noise: &[f32], snr: f64, seed: u64) -> Part {
    let mut out = part.clone();
    let mut rng = Rng::stream(seed, "seed003_ood");
    for w in out.data.samples.chunks_exact_mut(BEAT_LEN) {
        let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / BEAT_LEN as f64;
        let ps = w
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / BEAT_LEN as f64;
        let start = rng.below(noise.len().saturating_sub(BEAT_LEN).max(1));
        let seg: Vec<f64> = (0..BEAT_LEN)
            .map(|t| f64::from(noise[(start + t) % noise.len()]))
            .collect();
        let nm = seg.iter().sum::<f64>() / BEAT_LEN as f64;
        let pn = seg.iter().map(|v| (v - nm).powi(2)).sum::<f64>() / BEAT_LEN as f64;
        let gain = if pn > 0.0 {
            (ps / (pn * 10f64.powf(snr / 10.0))).sqrt()
        } else {
            0.0
        };
        for (v, s) in w.iter_mut().zip(&seg) {
            *v = (f64::from(*v) + gain * (s - nm)) as f32;
        }
        normalise(w, Normalisation::MinMax);
    }
    out
}

/// Muscle-artifact noise at 125 Hz, or white noise when NSTDB is absent; and its description.
fn noise_source(source: &DataSource, seed: u64) -> Result<(Vec<f32>, String)> {
    if let DataSource::Real(dir) = source {
        let nst = dir.join("nstdb");
        if nst.is_dir() {
            let rec = load_noise(&nst, NoiseKind::Ma)?;
            let x = rec.physical.row(0).to_vec();
            return Ok((
                resample(&x, rec.fs(), FS)?,
                "NSTDB ma (muscle artifact), lead 0, 360 → 125 Hz".into(),
            ));
        }
    }
    let mut rng = Rng::stream(seed, "seed003_white");
    Ok((
        (0..100_000).map(|_| rng.normal() as f32).collect(),
        "white Gaussian noise (no NSTDB)".into(),
    ))
}

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training, checkpoint or write errors.
pub fn run(run: &mut Run) -> Result<()> {
    let cfg = Config::defaults(run.quick(), run.seed(), &run.out, &run.options)?;
    let (noise, noise_desc) = noise_source(run.source(), cfg.seed)?;
    let mut cal = Table::new(
        &format!(
            "Calibration: ECE (15 bins) on test before / after temperature scaling ({})",
            if cfg.quick { "QUICK run" } else { "full run" }
        ),
        &[
            "protocol",
            "model",
            "T (validation)",
            "ECE before",
            "ECE after",
            "accuracy",
        ],
    );
    let mut sel = Table::new(
        "Selective prediction on test: accuracy at 90 % / 80 % coverage and AURC",
        &[
            "protocol",
            "certainty score",
            "accuracy (100 %)",
            "accuracy @90 %",
            "accuracy @80 %",
            "AURC",
        ],
    );
    let mut ood = Table::new(
        &format!("Out of distribution: soft-average ensemble on noisy test beats ({noise_desc})"),
        &["protocol", "SNR dB", "accuracy", "mean normalised entropy"],
    );
    let mut grid = Grid::new("Knowing what it does not know", 3, (520, 420));
    let mut results = Vec::new();
    for &p in &cfg.protocols {
        let splits = cfg.splits(p, run.source())?;
        let mut set: BaseSet = base_set(&cfg, &splits)?;
        let k = p.classes();
        let labels = splits.test.data.labels.clone();
        let best = (0..set.models.len())
            .max_by(|&a, &b| set.val_f1[a].total_cmp(&set.val_f1[b]))
            .unwrap_or(0);
        // 1. Temperature scaling per model.
        let mut calibrated: Vec<Vec<f64>> = Vec::new();
        let mut rel_models = Vec::new();
        for (i, t) in set.models.iter().enumerate() {
            let temp = fit_temperature(set.val_logits[i].data(), k, &splits.val.data.labels)?;
            let before = to_f64(&set.test_probs[i]);
            let after = softmax_with_temperature(set.test_logits[i].data(), k, temp)?;
            let (e0, e1) = (ece(&before, k, &labels)?, ece(&after, k, &labels)?);
            let (_, ok) = confidence_and_correct(&before, k, &labels)?;
            let acc = ok.iter().filter(|&&b| b).count() as f64 / ok.len() as f64;
            cal.push(vec![
                Cell::text(p.name()),
                Cell::text(t.spec.model.display()),
                Cell::num(temp, 3),
                Cell::num(e0, 4),
                Cell::num(e1, 4),
                Cell::num(acc, 4),
            ])?;
            if i == best {
                for (name, probs) in [("before", &before), ("after T", &after)] {
                    let (c, ok) = confidence_and_correct(probs, k, &labels)?;
                    let bins = reliability_bins(&c, &ok, 15)?;
                    let e = ece_of_bins(&bins);
                    rel_models.push((format!("{} {name}", t.spec.model.display()), bins, e));
                }
            }
            results.push(json!({"protocol": p.name(), "model": t.spec.model.name(), "temperature": temp, "ece_before": e0, "ece_after": e1}));
            calibrated.push(after);
        }
        grid = grid.with(Panel::Reliability(ReliabilityPlot {
            title: format!("{}: reliability", p.name()),
            models: rel_models,
            size: (520, 420),
        }));
        // 2. Certainty scores.
        let mut scores: Vec<(String, Vec<f64>, Vec<usize>)> = Vec::new();
        let best_name = set.models[best].spec.model.display().to_string();
        scores.push((
            format!("{best_name}: calibrated max-probability"),
            max_rows(&calibrated[best], k),
            predicted_f64(&calibrated[best], k),
        ));
        let soft = mean_probs(&calibrated);
        let soft_pred = predicted_f64(&soft, k);
        scores.push((
            "ensemble: soft-average max-probability".into(),
            max_rows(&soft, k),
            soft_pred.clone(),
        ));
        if set.models.len() >= 2 {
            let preds: Vec<Vec<usize>> = calibrated.iter().map(|c| predicted_f64(c, k)).collect();
            let soft_max = max_rows(&soft, k);
            let agree: Vec<f64> = (0..labels.len())
                .map(|i| {
                    let votes = preds.iter().filter(|p| p[i] == soft_pred[i]).count() as f64;
                    votes / preds.len() as f64 + 1e-3 * soft_max[i]
                })
                .collect();
            scores.push((
                "ensemble: agreement of the models".into(),
                agree,
                soft_pred.clone(),
            ));
        }
        if let Some(ci) = set
            .models
            .iter()
            .position(|m| m.spec.model == ModelKind::Cnn)
        {
            let net = &mut set.models[ci].net;
            if net.set_mc_dropout() {
                let mut passes = Vec::with_capacity(MC_PASSES);
                for _ in 0..MC_PASSES {
                    // Not train::predict: it would switch the model to evaluation mode.
                    passes.push(forward_probs(net, &splits.test)?);
                }
                net.set_training(false);
                let mean = mean_probs(&passes);
                let h = entropy_rows(&mean, k);
                let cert: Vec<f64> = h.iter().map(|e| 1.0 - e / (k as f64).ln()).collect();
                scores.push((
                    format!("CNN: MC dropout ({MC_PASSES} passes), 1 − entropy"),
                    cert,
                    predicted_f64(&mean, k),
                ));
            }
        }
        let mut curves = Vec::new();
        for (name, cert, pred) in &scores {
            let correct: Vec<bool> = pred.iter().zip(&labels).map(|(a, b)| a == b).collect();
            let full = correct.iter().filter(|&&b| b).count() as f64 / correct.len() as f64;
            let (a90, _) = accuracy_at_coverage(cert, &correct, 0.9)?;
            let (a80, _) = accuracy_at_coverage(cert, &correct, 0.8)?;
            let area = aurc(cert, &correct)?;
            sel.push(vec![
                Cell::text(p.name()),
                Cell::text(name.clone()),
                Cell::num(full, 4),
                Cell::num(a90, 4),
                Cell::num(a80, 4),
                Cell::num(area, 4),
            ])?;
            run.summary(format!(
                "{} {name}: accuracy {full:.4} → {a90:.4} at 90 % coverage, {a80:.4} at 80 %",
                p.name()
            ));
            results.push(json!({"protocol": p.name(), "score": name, "accuracy": full, "accuracy_at_90": a90, "accuracy_at_80": a80, "aurc": area}));
            curves.push((name.clone(), risk_coverage(cert, &correct)?));
        }
        grid = grid.with(Panel::Line(risk_coverage_plot(
            &format!("{}: risk–coverage", p.name()),
            &curves,
        )));
        // 4. OOD: noise at decreasing SNR.
        let (mut acc_pts, mut unc_pts) = (Vec::new(), Vec::new());
        let mut rows = vec![(f64::INFINITY, splits.test.clone())];
        for &snr in &SNRS {
            rows.push((snr, noisy(&splits.test, &noise, snr, cfg.seed)));
        }
        for (snr, part) in rows {
            let mut probs = Vec::new();
            for t in set.models.iter_mut() {
                probs.push(to_f64(&crate::metrics::softmax_rows(&predict(
                    &mut t.net, &part.data, 256,
                )?)?));
            }
            let mean = mean_probs(&probs);
            let pred = predicted_f64(&mean, k);
            let acc = pred.iter().zip(&labels).filter(|(a, b)| a == b).count() as f64
                / labels.len() as f64;
            let h = entropy_rows(&mean, k);
            let unc = h.iter().sum::<f64>() / h.len() as f64 / (k as f64).ln();
            let x = if snr.is_finite() { snr } else { 36.0 };
            acc_pts.push((x, acc));
            unc_pts.push((x, unc));
            ood.push(vec![
                Cell::text(p.name()),
                Cell::text(if snr.is_finite() {
                    format!("{snr}")
                } else {
                    "clean".into()
                }),
                Cell::num(acc, 4),
                Cell::num(unc, 4),
            ])?;
            results.push(json!({"protocol": p.name(), "snr_db": if snr.is_finite() { json!(snr) } else { json!("clean") }, "accuracy": acc, "mean_normalised_entropy": unc}));
        }
        grid = grid.with(Panel::Line(
            LinePlot::new(
                &format!("{}: noise (clean plotted at 36 dB)", p.name()),
                "SNR (dB)",
                "value",
            )
            .with(Series::line("accuracy", acc_pts))
            .with(Series::line("mean normalised entropy", unc_pts)),
        ));
    }
    cal.note("T fitted on validation logits only; T never changes the predicted class.");
    ood.note("Noise added to each min–max beat at the power ratio against the mean-removed beat, then re-normalised to [0, 1] as the pipeline does; entropy divided by ln k.");
    run.table(&cal, "table_03_calibration")?;
    run.table(&sel, "table_03_selective")?;
    run.table(&ood, "table_03_ood")?;
    run.figure(
        &grid,
        "fig_03_selective",
        "reliability, risk–coverage, and uncertainty under noise",
    )?;
    run.write_metrics(&json!({"config": cfg, "noise": noise_desc, "snrs_db": SNRS, "mc_passes": MC_PASSES, "results": results}))?;
    Ok(())
}

/// Softmax probabilities of `net` on `part` in whatever mode it is in (batches of 256).
fn forward_probs(net: &crate::seed003::zoo::Net, part: &Part) -> Result<Vec<f64>> {
    use ecgrad_models::autograd::Tape;
    let mut out = Vec::new();
    let n = part.len();
    for start in (0..n).step_by(256) {
        let b = 256.min(n - start);
        let x = Tensor::from_vec(
            ecgrad_engine::Shape::d3(b, 1, BEAT_LEN),
            part.data.samples[start * BEAT_LEN..(start + b) * BEAT_LEN].to_vec(),
        )?;
        let mut tape = Tape::no_grad();
        let xv = tape.input(x);
        let z = net.forward(&mut tape, &xv)?;
        out.extend(to_f64(&crate::metrics::softmax_rows(z.value())?));
    }
    Ok(out)
}

fn predicted_f64(p: &[f64], k: usize) -> Vec<usize> {
    let f: Vec<f32> = p.iter().map(|&v| v as f32).collect();
    predicted(&f, k)
}
