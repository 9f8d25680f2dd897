//! `table_01_edge` — seed 001's edge-device claim, measured: a standard `BeatCnn` and its
//! depthwise-separable variant (`SeparableBeatCnn`: conv2/conv3 depthwise + pointwise), each in
//! f32 and in int8 (post-training quantisation: BN folded, per-channel int8 weights, activation
//! scales calibrated on training beats), compared on
//!
//! - parameters (trainable, from the module) and model size in bytes (f32: 4 bytes per
//!   parameter and BN statistic; int8: what the quantised network stores),
//! - FLOPs per beat (2 per multiply–add of conv/linear layers, from a traced forward pass,
//!   `seed012::edge`; int8 does the same multiply–adds in integers),
//! - single-beat latency: median over repeated calls, one beat `[1, 1, 187]`, 1 thread,
//! - accuracy and macro-F1 on MIT-BIH DS2 beats (AAMI N/S/V/F, inter-patient).
//!
//! Both f32 models are trained identically (same data, seed, epochs, optimiser).
//! Outputs: `table_01_edge.{csv,md}`, `fig_01_edge_tradeoff.{png,svg}`, `metrics.json`.

use serde::Serialize;

use super::Run;
use crate::data::batch::WindowDataset;
use crate::metrics::{ConfusionMatrix, argmax_rows};
use crate::models::Module;
use crate::models::autograd::Tape;
use crate::models::autograd::engine::{Shape, Tensor, parallel};
use crate::models::autograd::optim::{Adam, AdamConfig};
use crate::models::module::count_params;
use crate::models::nets::{BeatCnn, SeparableBeatCnn};
use crate::models::quantize::{QuantizedBeatCnn, quantize_beat_cnn, quantize_separable_beat_cnn};
use crate::plot::{LinePlot, Series, SeriesStyle};
use crate::seed012::data::{BeatCaps, load_beat_split};
use crate::seed012::edge::{flops_per_example, median_seconds};
use crate::table::{Cell, Table};
use crate::train::classifier::{ClassLoss, ClassMetric, ClassifierOptions, fit_classifier};
use crate::train::{Goal, TrainConfig, predict};

#[derive(Clone, Debug, Serialize)]
struct Hyper {
    epochs: usize,
    batch_size: usize,
    lr: f64,
    train_per_class: usize,
    test_per_class: usize,
    calibration_batches: usize,
    latency_warmup: usize,
    latency_reps: usize,
}

#[derive(Clone, Debug, Serialize)]
struct EdgeRow {
    model: String,
    precision: String,
    parameters: usize,
    size_bytes: usize,
    flops: u64,
    latency_ms: f64,
    accuracy: f64,
    macro_f1: f64,
}

fn scores(truth: &[usize], logits: &Tensor<f32>, k: usize) -> anyhow::Result<(f64, f64)> {
    let cm = ConfusionMatrix::new(truth, &argmax_rows(logits)?, k)?;
    Ok((cm.accuracy(), cm.macro_f1()))
}

/// int8 logits over a dataset, in batches of 256.
fn predict_int8(q: &QuantizedBeatCnn, data: &WindowDataset) -> anyhow::Result<Tensor<f32>> {
    let w = data.length;
    let mut out = Vec::new();
    let mut k = 0;
    for start in (0..data.len()).step_by(256) {
        let b = 256.min(data.len() - start);
        let x = Tensor::from_vec(
            Shape::d3(b, 1, w),
            data.samples[start * w..(start + b) * w].to_vec(),
        )?;
        let y = q.forward(&x)?;
        k = y.dims()[1];
        out.extend_from_slice(y.data());
    }
    Ok(Tensor::from_vec(Shape::d2(data.len(), k), out)?)
}

/// The f32 and int8 rows of one trained model (see the module docs).
fn measure<M: Module + Send + Sync>(
    name: &str,
    model: &mut M,
    q: &QuantizedBeatCnn,
    test: &WindowDataset,
    beat: &Tensor<f32>,
    hp: &Hyper,
) -> anyhow::Result<Vec<EdgeRow>> {
    let k = test.class_names.len();
    let params = count_params(model).trainable;
    let flops: u64 = flops_per_example(model, Shape::d3(1, 1, test.length))?
        .iter()
        .map(|l| l.flops)
        .sum();
    let logits = predict(model, test, 256)?;
    let (acc, f1) = scores(&test.labels, &logits, k)?;
    model.set_training(false);
    let lat_f32 = parallel::with_threads(1, || {
        median_seconds(
            || {
                let mut tape = Tape::no_grad();
                let x = tape.input(beat.clone());
                model.forward(&mut tape, &x)?;
                Ok(())
            },
            hp.latency_warmup,
            hp.latency_reps,
        )
    })?;
    let q_logits = predict_int8(q, test)?;
    let (qacc, qf1) = scores(&test.labels, &q_logits, k)?;
    let lat_q = parallel::with_threads(1, || {
        median_seconds(
            || {
                q.forward(beat)?;
                Ok(())
            },
            hp.latency_warmup,
            hp.latency_reps,
        )
    })?;
    Ok(vec![
        EdgeRow {
            model: name.into(),
            precision: "f32".into(),
            parameters: params,
            size_bytes: q.f32_size_bytes,
            flops,
            latency_ms: lat_f32 * 1e3,
            accuracy: acc,
            macro_f1: f1,
        },
        EdgeRow {
            model: name.into(),
            precision: "int8".into(),
            parameters: params,
            size_bytes: q.size_bytes(),
            flops,
            latency_ms: lat_q * 1e3,
            accuracy: qacc,
            macro_f1: qf1,
        },
    ])
}

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training, quantisation and writing errors.
pub fn run(run: &mut Run) -> anyhow::Result<()> {
    let (quick, seed) = (run.quick(), run.seed());
    let source = run.source().clone();
    let hp = Hyper {
        epochs: if quick { 3 } else { 15 },
        batch_size: 64,
        lr: 1e-3,
        train_per_class: if quick { 150 } else { 2000 },
        test_per_class: if quick { 100 } else { 1000 },
        calibration_batches: 4,
        latency_warmup: if quick { 20 } else { 100 },
        latency_reps: if quick { 200 } else { 2000 },
    };
    let split = load_beat_split(
        &source,
        BeatCaps {
            train_per_class: hp.train_per_class,
            test_per_class: hp.test_per_class,
        },
        quick,
        seed,
    )?;
    for f in &split.inputs {
        run.record_input(f)?;
    }
    let k = split.train.class_names.len();
    run.summary(format!(
        "beats: {} ({} train, {} validation, {} test)",
        split.source,
        split.train.len(),
        split.val.len(),
        split.test.len()
    ));
    let options = ClassifierOptions {
        balanced: true,
        ..ClassifierOptions::new(hp.batch_size, ClassLoss::CrossEntropy, ClassMetric::MacroF1)
    };
    let mut calib = Vec::new();
    for c in 0..hp.calibration_batches {
        let start = c * hp.batch_size;
        if start + hp.batch_size > split.train.len() {
            break;
        }
        calib.push(Tensor::from_vec(
            Shape::d3(hp.batch_size, 1, split.train.length),
            split.train.samples
                [start * split.train.length..(start + hp.batch_size) * split.train.length]
                .to_vec(),
        )?);
    }
    let beat = Tensor::from_vec(
        Shape::d3(1, 1, split.test.length),
        split.test.window(0).to_vec(),
    )?;
    let train_one = |m: &mut dyn FnMut(&mut TrainConfig, &mut Adam<f32>) -> anyhow::Result<()>| -> anyhow::Result<()> {
        let mut opt = Adam::new(AdamConfig {
            lr: hp.lr,
            ..AdamConfig::adam()
        })?;
        let mut cfg = TrainConfig::new(hp.epochs, "macro_f1", Goal::Maximize);
        cfg.quiet = true;
        m(&mut cfg, &mut opt)
    };

    let mut rows = Vec::new();
    // Standard BeatCnn.
    let mut std_m = BeatCnn::new(seed, k)?;
    train_one(&mut |cfg, opt| {
        fit_classifier(
            &mut std_m,
            opt,
            &split.train,
            &split.val,
            cfg,
            &options,
            seed,
        )
        .map(|_| ())
    })?;
    let mut sep_m = SeparableBeatCnn::new(seed, k)?;
    train_one(&mut |cfg, opt| {
        fit_classifier(
            &mut sep_m,
            opt,
            &split.train,
            &split.val,
            cfg,
            &options,
            seed,
        )
        .map(|_| ())
    })?;
    std_m.set_training(false);
    sep_m.set_training(false);
    let q_std = quantize_beat_cnn(&std_m, &calib)?;
    let q_sep = quantize_separable_beat_cnn(&sep_m, &calib)?;

    rows.extend(measure(
        "BeatCnn",
        &mut std_m,
        &q_std,
        &split.test,
        &beat,
        &hp,
    )?);
    rows.extend(measure(
        "SeparableBeatCnn",
        &mut sep_m,
        &q_sep,
        &split.test,
        &beat,
        &hp,
    )?);

    let mut t = Table::new(
        "Edge models: standard vs depthwise-separable BeatCnn, f32 vs int8 (MIT-BIH DS2 beats)",
        &[
            "model",
            "precision",
            "parameters",
            "size (bytes)",
            "FLOPs / beat",
            "latency (ms, 1 thread, median)",
            "accuracy",
            "macro-F1",
        ],
    );
    for r in &rows {
        t.push(vec![
            Cell::text(r.model.clone()),
            Cell::text(r.precision.clone()),
            Cell::int(r.parameters),
            Cell::int(r.size_bytes),
            Cell::int(r.flops),
            Cell::num(r.latency_ms, 3),
            Cell::num(r.accuracy, 3),
            Cell::num(r.macro_f1, 3),
        ])?;
        run.summary(format!(
            "{} {}: {} params, {} B, {:.2} MFLOP, {:.3} ms, acc {:.3}, macro-F1 {:.3}",
            r.model,
            r.precision,
            r.parameters,
            r.size_bytes,
            r.flops as f64 / 1e6,
            r.latency_ms,
            r.accuracy,
            r.macro_f1
        ));
    }
    t.note(format!(
        "{} test beats, scored once; best epoch chosen on {} validation beats of held-out training records {:?} (patient-disjoint). Latency = median of {} single-beat forward passes after {} warm-up calls, 1 thread, on a shared machine (compare within this run only). FLOPs count 2 per multiply–add of conv/linear layers; int8 does the same multiply–adds in integers (depthwise convs of the separable net stay f32).",
        split.test.len(),
        split.val.len(),
        split.val_records,
        hp.latency_reps,
        hp.latency_warmup
    ));
    run.table(&t, "table_01_edge")?;
    let mut fig = LinePlot::new(
        "Model size vs macro-F1 (edge trade-off)",
        "model size (kB)",
        "macro-F1 on DS2 beats",
    );
    for (i, r) in rows.iter().enumerate() {
        fig = fig.with(
            Series::line(
                &format!("{} {}", r.model, r.precision),
                vec![(r.size_bytes as f64 / 1e3, r.macro_f1)],
            )
            .style(SeriesStyle::Points)
            .color(i),
        );
    }
    run.figure(
        &fig,
        "fig_01_edge_tradeoff",
        "model size vs macro-F1 of the four edge variants",
    )?;
    run.write_metrics(&serde_json::json!({
        "hyper_parameters": hp,
        "data": split.source,
        "train": split.train.len(),
        "val": split.val.len(),
        "val_records": split.val_records,
        "test": split.test.len(),
        "model_selection": "best epoch by validation macro-F1 on training-side records held out by patient (never the test set); test scored once after training",
        "rows": rows,
    }))?;
    Ok(())
}
