//! `table_03_models`: seed 003's four networks (CNN, CNN-LSTM, CNN-LSTM-Attention, ResNet-1D)
//! on MIT-BIH beats under both protocols, with the class-imbalance ablation (CE, class-weighted
//! CE, focal) and the GAN-augmentation ablation; every score with a 95 % bootstrap interval.
//!
//! Outputs (in `results/table_03_models/`):
//! - `table_03_models_<protocol>.{md,csv}`: accuracy, macro and weighted P/R/F1, the F1 of
//!   macro P and R, mean AUC, training time; `table_03_per_class_<protocol>.{md,csv}`:
//!   sensitivity, PPV, F1, AUC per class;
//! - `fig_03_confusion_<protocol>.{png,svg}`, `fig_03_training_<protocol>.{png,svg}`
//!   (training loss, validation loss and macro-F1 per epoch), `fig_03_gan_<protocol>` (real vs
//!   generated beats per minority class);
//! - `predictions.csv` (every test prediction of every model, see `seed003::output`);
//! - `models/*.safetensors` + `.json`: the checkpoint cache the other seed-003 binaries read;
//! - `metrics.json`: configuration, data description, scores with intervals, times.
//!
//! The logic lives in `crate::seed003` (protocols, zoo, training cache, scores); this file
//! runs the grid and writes the files.

use anyhow::Result;
use serde_json::{Value, json};

use super::Run;
use crate::plot::{ConfusionPlot, Grid, LinePlot, Panel, Series, SignalPlot, Trace};
use crate::seed003::common::{Config, available};
use crate::seed003::evaluate::{PAPER_F1_NOTE, Scores, score};
use crate::seed003::output::{append_rows, header};
use crate::seed003::protocol::{FS, Protocol, Splits};
use crate::seed003::run::{Trained, probabilities, train_or_load};
use crate::table::{Cell, Table};

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training, checkpoint or write errors.
pub fn run(run: &mut Run) -> Result<()> {
    let cfg = Config::defaults(run.quick(), run.seed(), &run.out, &run.options)?;
    println!(
        "seed 003 models: protocols {:?}, models {:?}, ablations on {:?}, {} epochs max, cache {}",
        cfg.protocols,
        cfg.models,
        cfg.ablation_models,
        cfg.hyper.epochs,
        cfg.cache.display()
    );
    let mut csv = header();
    csv.push('\n');
    let mut results = Vec::new();
    let mut data = Vec::new();
    for &protocol in &cfg.protocols {
        let splits = cfg.splits(protocol, run.source())?;
        data.push(json!({
            "protocol": protocol.name(),
            "description": splits.description,
            "train_counts": splits.train.data.class_counts(),
            "val_counts": splits.val.data.class_counts(),
            "test_counts": splits.test.data.class_counts(),
            "val_records": splits.val.records(),
            "test_records": splits.test.records().len(),
        }));
        let out = protocol_run(run, &cfg, &splits, &mut csv)?;
        results.extend(out);
    }
    crate::report::write_atomic(&run.path("predictions.csv"), csv.as_bytes())?;
    run.file(
        "predictions.csv",
        "every test prediction (record, sample, true, predicted, class probabilities)",
    );
    run.summary(PAPER_F1_NOTE);
    run.write_metrics(&json!({
        "config": cfg,
        "data": data,
        "optimizer": "Adam (β 0.9, 0.999; ε 1e-8; no weight decay), monitor validation macro-F1, best epoch restored",
        "window": "187 samples at 125 Hz (R at 62), MLII, min–max per beat",
        "paper": {"top2_weighted_f1": 0.958, "precision": 0.986, "recall": 0.934, "cnn_lstm_accuracy": 0.982, "cnn_lstm_f1": 0.951},
        "results": results,
    }))?;
    Ok(())
}

fn ci_cells(s: &Scores) -> Vec<Cell> {
    [
        s.accuracy,
        s.macro_precision,
        s.macro_recall,
        s.macro_f1,
        s.f1_of_macro_pr,
        s.weighted_precision,
        s.weighted_recall,
        s.weighted_f1,
        s.macro_auc,
    ]
    .into_iter()
    .map(|c| Cell::ci(c, 3))
    .collect()
}

/// Training curves of one model from its sidecar history.
fn curves(t: &Trained) -> LinePlot {
    let epochs = t.sidecar["history"]["epochs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let get = |key: &str| -> Vec<f64> {
        epochs
            .iter()
            .map(|e| e[key].as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    LinePlot::new(&t.spec.label(), "epoch", "loss / macro-F1")
        .with(Series::from_y("train loss", &get("train_loss")))
        .with(Series::from_y("val loss", &get("val_loss")))
        .with(Series::from_y("val macro-F1", &get("metric")))
}

/// Real (colour 0) and generated (colour 1) example beats per minority class.
fn gan_figure(t: &Trained, classes: &[String]) -> Option<Grid> {
    let ex = t.sidecar["gan_examples"].as_array()?;
    let mut g = Grid::new(
        &format!(
            "{}: real (blue) vs GAN-generated (orange) beats",
            t.spec.label()
        ),
        ex.len().max(1),
        (420, 300),
    );
    for e in ex {
        let c = e["class"].as_u64().unwrap_or(0) as usize;
        let name = classes.get(c).cloned().unwrap_or_default();
        let mut p = SignalPlot::new(&format!("class {name}"), Some(FS), "normalised");
        let beats = |key: &str| -> Vec<Vec<f32>> {
            e[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|b| {
                            b.as_array()
                                .map(|v| {
                                    v.iter().map(|x| x.as_f64().unwrap_or(0.0) as f32).collect()
                                })
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        for (i, b) in beats("real").into_iter().take(3).enumerate() {
            p = p.with(Trace::new(if i == 0 { "real" } else { "" }, b).color(0));
        }
        for (i, b) in beats("generated").into_iter().take(3).enumerate() {
            p = p.with(Trace::new(if i == 0 { "generated" } else { "" }, b).color(1));
        }
        g = g.with(Panel::Signal(p));
    }
    Some(g)
}

fn protocol_run(
    run: &mut Run,
    cfg: &Config,
    splits: &Splits,
    csv: &mut String,
) -> Result<Vec<Value>> {
    let p = splits.protocol;
    let classes = splits.test.data.class_names.clone();
    let k = classes.len();
    let groups = splits.test.data.groups.clone();
    let by_patient = p == Protocol::InterPatient;
    let mut main = Table::new(
        &format!(
            "Table 03 — {} ({}): test scores with 95 % bootstrap CIs ({} resamples by {})",
            match p {
                Protocol::IntraPatient => "intra-patient",
                Protocol::InterPatient => "inter-patient",
            },
            if cfg.quick { "QUICK run" } else { "full run" },
            cfg.resamples,
            if by_patient { "patient" } else { "beat" }
        ),
        &[
            "model",
            "loss",
            "GAN",
            "accuracy",
            "macro P",
            "macro R",
            "macro F1",
            "F1(macro P,R)",
            "weighted P",
            "weighted R",
            "weighted F1",
            "mean AUC",
            "train s",
        ],
    );
    let mut per_class = Table::new(
        &format!("Table 03 — per class, {}", p.name()),
        &[
            "model",
            "loss",
            "GAN",
            "class",
            "support",
            "sensitivity",
            "PPV",
            "F1",
            "AUC",
        ],
    );
    let mut confusion = Grid::new(&format!("Confusion matrices, {}", p.name()), 4, (420, 390));
    let mut training = Grid::new(&format!("Training curves, {}", p.name()), 4, (460, 320));
    let mut gan_done = false;
    let mut results = Vec::new();
    for spec in cfg.table_specs(splits) {
        if !available(spec.model) {
            let msg = format!(
                "{} skipped: not implemented in ecgrad-models yet",
                spec.label()
            );
            main.note(msg.clone());
            run.summary(msg);
            continue;
        }
        let mut t = train_or_load(&spec, splits, &cfg.cache, false)?;
        let probs = probabilities(&mut t.net, &splits.test)?;
        let s = score(
            probs.data(),
            k,
            &classes,
            &splits.test.data.labels,
            by_patient.then_some(groups.as_slice()),
            cfg.resamples,
            cfg.seed,
        )?;
        let name = format!(
            "{}/{}{}",
            spec.model.name(),
            spec.loss.name(),
            if spec.gan.is_some() { "+gan" } else { "" }
        );
        append_rows(csv, p.name(), &name, &splits.test, probs.data())?;
        let gan = if spec.gan.is_some() { "yes" } else { "no" };
        let mut row = vec![
            Cell::text(spec.model.display()),
            Cell::text(spec.loss.display()),
            Cell::text(gan),
        ];
        row.extend(ci_cells(&s));
        row.push(Cell::num(t.train_seconds(), 1));
        main.push(row)?;
        for c in &s.per_class {
            per_class.push(vec![
                Cell::text(spec.model.display()),
                Cell::text(spec.loss.name()),
                Cell::text(gan),
                Cell::text(c.class.clone()),
                Cell::int(c.support as i64),
                Cell::ci(c.sensitivity, 3),
                Cell::ci(c.ppv, 3),
                Cell::ci(c.f1, 3),
                Cell::ci(c.auc, 3),
            ])?;
        }
        confusion = confusion.with(Panel::Confusion(ConfusionPlot::new(
            &name,
            &classes,
            &s.confusion,
        )));
        training = training.with(Panel::Line(curves(&t)));
        if spec.gan.is_some() && !gan_done {
            if let Some(g) = gan_figure(&t, &classes) {
                run.figure(
                    &g,
                    &format!("fig_03_gan_{}", p.name()),
                    "real vs GAN-generated minority beats",
                )?;
                gan_done = true;
            }
        }
        run.summary(format!(
            "{}: accuracy {}, macro F1 {}, weighted F1 {} ({:.0} s training{})",
            spec.label(),
            s.accuracy,
            s.macro_f1,
            s.weighted_f1,
            t.train_seconds(),
            if t.from_cache { ", cached" } else { "" }
        ));
        let (ckpt, _) = spec.paths(&cfg.cache);
        results.push(json!({
            "spec": spec,
            "checkpoint": ckpt,
            "scores": s,
            "train_seconds": t.train_seconds(),
            "from_cache": t.from_cache,
            "history": t.sidecar["history"],
            "gan": t.sidecar["gan"],
            "class_weights_or_loss": t.sidecar["loss"],
        }));
    }
    main.note(PAPER_F1_NOTE);
    main.note(format!("Data: {}", splits.description));
    main.note(format!(
        "Training: Adam lr {}{}, batch {}, ≤ {} epochs, weights of the best validation macro-F1 epoch (early-stopping patience {}); focal α = 1, γ = 2; weighted CE w = n/(k·n_c); GAN ratio {} × N ({} steps per class).",
        cfg.hyper.lr,
        cfg.hyper.cosine_floor.map_or(String::new(), |f| format!(
            " cosine-annealed to {:.0e}",
            cfg.hyper.lr * f
        )),
        cfg.hyper.batch_size,
        cfg.hyper.epochs,
        cfg.hyper.patience.map_or("none".to_string(), |p| p.to_string()),
        cfg.gan.ratio,
        cfg.gan.steps
    ));
    main.note("Paper (arXiv 2602.17701, protocol unstated): CNN-LSTM accuracy 0.982, F1 0.951; Top2-Weighted ensemble F1 0.958 (P 0.986, R 0.934).");
    run.table(&main, &format!("table_03_models_{}", p.name()))?;
    run.table(&per_class, &format!("table_03_per_class_{}", p.name()))?;
    if !confusion.panels.is_empty() {
        run.figure(
            &confusion,
            &format!("fig_03_confusion_{}", p.name()),
            "test confusion matrices",
        )?;
        run.figure(
            &training,
            &format!("fig_03_training_{}", p.name()),
            "training curves",
        )?;
    }
    Ok(results)
}
