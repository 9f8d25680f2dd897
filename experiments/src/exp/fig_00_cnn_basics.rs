//! `fig_00_cnn_basics` — CNN basics for educators (seeds 000 and 002), every number computed:
//!
//! 1. A hand-set QRS detector (a Ricker wavelet ≈ 30 ms wide) and an edge detector
//!    ([−½, 0, ½]) slid over 10 s of a real ECG (MIT-BIH record 100, MLII), with their feature
//!    maps; the QRS feature map's peaks are scored against the annotated R peaks (±50 ms).
//! 2. The first-layer filters (conv1, 32 × 5 taps) of a `BeatCnn` trained on MIT-BIH beats
//!    (DS1, AAMI N/S/V/F), and their feature maps on one beat of each class.
//! 3. The receptive field of every layer of `BeatCnn`, from the layer list (r_l = r_{l−1} +
//!    (k_l − 1)·j_{l−1}), checked against the span of non-zero input gradients (autograd).
//! 4. Dense-on-flattened vs convolution parameter counts: a 256×256×3 image (196 608 inputs)
//!    into 32 dense units vs 32 3×3 filters, and the 1D analogue (1000 samples, 32 units vs
//!    32 filters of 3 taps), from the formulas and from real layers' parameter counts.
//!
//! Outputs (`<out>/`): `fig_00_kernel_on_ecg.{png,svg}`,
//! `fig_00_learned_filters.{png,svg}`, `fig_00_receptive_field.{png,svg}`,
//! `table_receptive_field.{csv,md}`, `table_param_counts.{csv,md}`, `metrics.json`.
//! `--quick`: 3 epochs on ≤ 150 training beats per class from 12 records.

use super::Run;
use crate::models::Module;
use crate::models::autograd::Tape;
use crate::models::autograd::engine::{Rng, Shape, Tensor};
use crate::models::autograd::ops::Conv1dParams;
use crate::models::autograd::optim::{Adam, AdamConfig};
use crate::models::layers::{Conv1d, Conv2d, Linear};
use crate::models::module::{count_params, summary};
use crate::models::nets::BeatCnn;
use crate::plot::{Grid, HeatMap, LinePlot, Panel, Series, SignalPlot, Trace};
use crate::seed012::basics::{
    beat_cnn_geometry, conv2d_params, dense_params, detect_peaks, edge_kernel, match_peaks,
    measured_receptive_field, qrs_kernel, receptive_field_naive, receptive_fields, slide,
};
use crate::seed012::data::{BeatCaps, ecg_strip, load_beat_split};
use crate::table::{Cell, Table};
use crate::train::classifier::{
    ClassLoss, ClassMetric, ClassifierOptions, evaluate_classifier, fit_classifier,
};
use crate::train::{Goal, TrainConfig};
use serde::Serialize;

#[derive(Serialize)]
struct Hyper {
    strip_record: &'static str,
    strip_seconds: f64,
    qrs_sigma_s: f64,
    detector_threshold_frac: f32,
    detector_refractory_s: f64,
    match_tolerance_s: f64,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    train_per_class: usize,
    test_per_class: usize,
}

#[derive(Serialize)]
struct RfRow {
    layer: String,
    kernel: usize,
    stride: usize,
    field_samples: usize,
    field_ms_at_125hz: f64,
    jump: usize,
}

#[derive(Serialize)]
struct ParamRow {
    what: String,
    formula: String,
    by_formula: usize,
    by_layer: Option<usize>,
}

/// (time of each tap relative to the kernel's centre in ms, weight) for plotting.
fn centred_ms(kernel: &[f32], fs: f64) -> Vec<(f64, f64)> {
    let half = (kernel.len() / 2) as f64;
    kernel
        .iter()
        .enumerate()
        .map(|(j, &w)| ((j as f64 - half) / fs * 1000.0, f64::from(w)))
        .collect()
}

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data reading, training, plotting and writing errors; a parameter formula disagreeing with a
/// real layer's count.
pub fn run(run: &mut Run) -> anyhow::Result<()> {
    let (quick, seed) = (run.quick(), run.seed());
    let source = run.source().clone();
    let hp = Hyper {
        strip_record: "100",
        strip_seconds: 10.0,
        qrs_sigma_s: 0.015,
        detector_threshold_frac: 0.3,
        detector_refractory_s: 0.25,
        match_tolerance_s: 0.05,
        epochs: if quick { 3 } else { 15 },
        batch_size: 64,
        lr: 1e-3,
        train_per_class: if quick { 150 } else { 2000 },
        test_per_class: if quick { 100 } else { 1000 },
    };

    // 1. Hand-set kernels slid over a real ECG.
    let strip = ecg_strip(&source, hp.strip_record, hp.strip_seconds, seed)?;
    let qrs = qrs_kernel(strip.fs, hp.qrs_sigma_s)?;
    let edge = edge_kernel();
    let y_qrs = slide(&strip.x, &qrs)?;
    let y_edge = slide(&strip.x, &edge)?;
    let refractory = (hp.detector_refractory_s * strip.fs).round() as usize;
    let tol = (hp.match_tolerance_s * strip.fs).round() as usize;
    let peaks = detect_peaks(&y_qrs, hp.detector_threshold_frac, refractory);
    let (tp, fp, fn_) = match_peaks(&peaks, &strip.r_peaks, tol);
    run.summary(format!(
        "hand-set QRS kernel ({} taps) on {}: {} detections, {} annotated beats: TP {tp}, FP {fp}, FN {fn_}",
        qrs.len(),
        strip.source,
        peaks.len(),
        strip.r_peaks.len()
    ));
    let mut kernel_fig = Grid::new(
        "A kernel slid over an ECG gives a feature map",
        1,
        (1000, 260),
    );
    let mut ecg_plot = SignalPlot::new(&strip.source, Some(strip.fs), "mV")
        .with(Trace::new("ECG", strip.x.clone()).color(0));
    for &r in &strip.r_peaks {
        ecg_plot = ecg_plot.region(r.saturating_sub(2), r + 2, "annotated R", 5);
    }
    kernel_fig = kernel_fig
        .with(Panel::Signal(ecg_plot))
        .with(Panel::Signal(
            SignalPlot::new(
                &format!(
                    "QRS kernel (Ricker, σ = {} ms, {} taps) feature map: {tp}/{} beats found, {fp} false",
                    hp.qrs_sigma_s * 1000.0,
                    qrs.len(),
                    strip.r_peaks.len()
                ),
                Some(strip.fs),
                "response",
            )
            .with(Trace::new("QRS feature map", y_qrs.clone()).color(1)),
        ))
        .with(Panel::Signal(
            SignalPlot::new("edge kernel [−½, 0, ½] feature map (slope)", Some(strip.fs), "mV/sample")
                .with(Trace::new("edge feature map", y_edge).color(2)),
        ))
        .with(Panel::Line(
            LinePlot::new("the two kernels (tap offset from the centre)", "ms", "weight")
                .with(Series::line("QRS (Ricker)", centred_ms(&qrs, strip.fs)))
                .with(Series::line("edge", centred_ms(&edge, strip.fs))),
        ));
    run.figure(
        &kernel_fig,
        "fig_00_kernel_on_ecg",
        "a hand-set QRS kernel and an edge kernel slid over 10 s of ECG, with their feature maps",
    )?;

    // 3. Receptive fields: formula, brute force, autograd.
    let geometry = beat_cnn_geometry();
    let rf = receptive_fields(&geometry)?;
    let rf_naive = receptive_field_naive(&geometry)?;
    let mut probe = BeatCnn::new(seed, 4)?;
    probe.set_training(false);
    let (first, last) = measured_receptive_field(&probe, 23, seed)?;
    let rows: Vec<RfRow> = geometry
        .iter()
        .zip(&rf)
        .map(|(g, r)| RfRow {
            layer: g.name.clone(),
            kernel: g.kernel,
            stride: g.stride,
            field_samples: r.field,
            field_ms_at_125hz: r.field as f64 / 125.0 * 1000.0,
            jump: r.jump,
        })
        .collect();
    let last_rf = rf.last().map_or(0, |r| r.field);
    run.summary(format!(
        "receptive field of conv3: {last_rf} samples by formula, {rf_naive} by brute force, {} by autograd (inputs {first}..={last})",
        last - first + 1
    ));
    let mut rf_table = Table::new(
        "Receptive field of BeatCnn per layer (r_l = r_{l-1} + (k_l - 1)·j_{l-1})",
        &[
            "layer",
            "kernel",
            "stride",
            "receptive field (samples)",
            "ms at 125 Hz",
            "jump",
        ],
    );
    for r in &rows {
        rf_table.push(vec![
            Cell::text(r.layer.clone()),
            Cell::int(r.kernel),
            Cell::int(r.stride),
            Cell::int(r.field_samples),
            Cell::num(r.field_ms_at_125hz, 0),
            Cell::int(r.jump),
        ])?;
    }
    rf_table.note(format!(
        "Checked: brute force over input positions gives {rf_naive}; the span of non-zero input gradients of one conv3 output (autograd, trained-free BeatCnn in eval mode) is {} samples (inputs {first}..={last}).",
        last - first + 1
    ));
    run.table(&rf_table, "table_receptive_field")?;
    let rf_fig = LinePlot::new(
        "BeatCnn receptive field grows with depth (pools double the jump)",
        "layer (1 = conv1 … 5 = conv3)",
        "receptive field (samples at 125 Hz)",
    )
    .with(Series::line(
        "r_l = r_{l-1} + (k_l - 1) j_{l-1}",
        rows.iter()
            .enumerate()
            .map(|(i, r)| ((i + 1) as f64, r.field_samples as f64))
            .collect(),
    ));
    run.figure(
        &rf_fig,
        "fig_00_receptive_field",
        "receptive field of BeatCnn per layer, from the layer list",
    )?;

    // 4. Parameter counts: formulas vs real layers.
    let image_inputs = 256 * 256 * 3;
    let mut rng = Rng::stream(seed, "param_count_layers");
    let mut dense_img = Linear::new(image_inputs, 32, true, &mut rng)?;
    let mut dense_1d = Linear::new(1000, 32, true, &mut rng)?;
    let mut conv_1d = Conv1d::new(1, 32, 3, Conv1dParams::default(), true, &mut rng)?;
    let mut conv_2d = Conv2d::same(3, 32, 3, true, &mut rng)?;
    let params = vec![
        ParamRow {
            what: "dense: flattened 256×256×3 image → 32 units".into(),
            formula: "H·W·C·U + U".into(),
            by_formula: dense_params(image_inputs, 32),
            by_layer: Some(count_params(&mut dense_img).total),
        },
        ParamRow {
            what: "conv: 32 filters 3×3 over 3 channels (any image size)".into(),
            formula: "k·k·C·F + F".into(),
            by_formula: conv2d_params(3, 3, 32),
            by_layer: Some(count_params(&mut conv_2d).total),
        },
        ParamRow {
            what: "dense: 1000-sample ECG → 32 units".into(),
            formula: "L·U + U".into(),
            by_formula: dense_params(1000, 32),
            by_layer: Some(count_params(&mut dense_1d).total),
        },
        ParamRow {
            what: "Conv1D(32, 3) on a 1-lead ECG (any length)".into(),
            formula: "k·C·F + F".into(),
            by_formula: 3 * 32 + 32,
            by_layer: Some(count_params(&mut conv_1d).total),
        },
    ];
    drop(dense_img);
    for p in &params {
        if let Some(n) = p.by_layer {
            anyhow::ensure!(
                n == p.by_formula,
                "{}: formula {} vs layer {n}",
                p.what,
                p.by_formula
            );
        }
    }
    let ratio = params[0].by_formula as f64 / params[1].by_formula as f64;
    run.summary(format!(
        "dense on {image_inputs} inputs → 32 units: {} parameters; 3×3 conv → 32 filters: {} ({ratio:.0}× fewer)",
        params[0].by_formula, params[1].by_formula
    ));
    let mut p_table = Table::new(
        "Parameters: a dense layer on a flattened input vs a convolution",
        &[
            "layer",
            "formula",
            "parameters (formula)",
            "parameters (real layer)",
        ],
    );
    for p in &params {
        p_table.push(vec![
            Cell::text(p.what.clone()),
            Cell::text(p.formula.clone()),
            Cell::int(p.by_formula),
            p.by_layer.map_or(Cell::Empty, Cell::int),
        ])?;
    }
    p_table.note(format!(
        "256·256·3 = {image_inputs} inputs. The dense layer needs {ratio:.0}× the parameters of the 3×3 convolution, and the convolution's count does not grow with the image."
    ));
    run.table(&p_table, "table_param_counts")?;

    // 2. Learned first-layer filters of a trained BeatCnn and their feature maps on one beat.
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
    println!(
        "beats: {} ({} train, {} validation, {} test)",
        split.source,
        split.train.len(),
        split.val.len(),
        split.test.len()
    );
    let classes = split.train.class_names.len();
    let mut model = BeatCnn::new(seed, classes)?;
    let mut opt = Adam::new(AdamConfig {
        lr: hp.lr,
        ..AdamConfig::adam()
    })?;
    let mut cfg = TrainConfig::new(hp.epochs, "macro_f1", Goal::Maximize);
    cfg.quiet = quick;
    cfg.label = "BeatCnn".into();
    let options = ClassifierOptions {
        balanced: true,
        ..ClassifierOptions::new(hp.batch_size, ClassLoss::CrossEntropy, ClassMetric::MacroF1)
    };
    let history = fit_classifier(
        &mut model,
        &mut opt,
        &split.train,
        &split.val,
        &mut cfg,
        &options,
        seed,
    )?;
    let (eval, _) = evaluate_classifier(
        &mut model,
        &split.test,
        256,
        &ClassLoss::CrossEntropy,
        ClassMetric::MacroF1,
    )?;
    println!(
        "BeatCnn test macro-F1 {:.3} after {} epochs",
        eval.metric,
        history.epochs.len()
    );
    println!("{}", summary(&mut model, Shape::d3(1, 1, 187))?);

    let w = model.features.conv1.weight.value.clone();
    let filters: Vec<Vec<f64>> = w
        .data()
        .chunks(5)
        .map(|c| c.iter().map(|&v| f64::from(v)).collect())
        .collect();
    let mut heat = HeatMap::new(
        "learned conv1 filters (32 × 5 taps)",
        filters,
        "tap",
        "filter",
    );
    heat.diverging = true;
    heat.value_label = "weight".into();
    // One test beat per class, its conv1 → bn1 → ReLU maps (first 8 filters).
    let mut grid = Grid::new(
        "What the first layer of a trained BeatCnn sees",
        2,
        (640, 360),
    )
    .with(Panel::Heat(heat));
    model.set_training(false);
    for c in 0..classes {
        let Some(i) = split.test.labels.iter().position(|&y| y == c) else {
            continue;
        };
        let beat = split.test.window(i).to_vec();
        let mut tape = Tape::no_grad();
        let x = tape.input(Tensor::from_vec(Shape::d3(1, 1, beat.len()), beat.clone())?);
        let mut rows = Vec::new();
        model.trace(&mut tape, &x, "", &mut rows)?;
        // conv1 → bn1 at full resolution; ReLU applied here (the network pools first, and
        // ReLU commutes with max pooling, so this is the map the pool sees, before pooling).
        let maps = rows
            .iter()
            .find(|r| r.path == "bn1")
            .map(|r| r.output.value().clone())
            .ok_or_else(|| anyhow::anyhow!("BeatCnn trace has no bn1 row"))?;
        let steps = maps.dims()[2];
        let mut sp = SignalPlot::new(
            &format!(
                "class {}: beat and conv1→BN→ReLU maps of filters 0–3",
                split.test.class_names[c]
            ),
            Some(125.0),
            "z-score / activation",
        )
        .with(Trace::new("beat", beat).color(0));
        for f in 0..4 {
            sp = sp.with(
                Trace::new(
                    &format!("filter {f}"),
                    maps.data()[f * steps..(f + 1) * steps]
                        .iter()
                        .map(|&v| v.max(0.0))
                        .collect(),
                )
                .color(f + 1),
            );
        }
        grid = grid.with(Panel::Signal(sp));
    }
    run.figure(
        &grid,
        "fig_00_learned_filters",
        "learned conv1 filters of a trained BeatCnn and their feature maps on one beat per class",
    )?;

    run.write_metrics(&serde_json::json!({
        "hyper_parameters": hp,
        "qrs_kernel": { "taps": qrs.len(), "fs": strip.fs, "detections": peaks.len(),
            "annotated": strip.r_peaks.len(), "tp": tp, "fp": fp, "fn": fn_, "strip": strip.source },
        "receptive_field": { "layers": rows, "brute_force": rf_naive,
            "autograd_span": [first, last], "autograd_field": last - first + 1 },
        "param_counts": params,
        "dense_over_conv_ratio": ratio,
        "beat_cnn": { "data": split.source, "train": split.train.len(), "val": split.val.len(),
            "val_records": split.val_records, "test": split.test.len(),
            "model_selection": "best epoch by validation macro-F1 on training-side records held out by patient (never the test set); test scored once after training",
            "test_macro_f1": eval.metric, "history": history },
    }))?;
    Ok(())
}
