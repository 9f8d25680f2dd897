//! `table_02_transfer` — seed 002's 2D lessons on the ECG data we have:
//!
//! 1. **Images.** Every beat becomes a log-power STFT spectrogram (17 bins × 39 frames, see
//!    `seed012::transfer`), classified by `Cnn2d` (seed 000's block: conv 3×3 → BN → ReLU →
//!    max-pool 2×2 → dropout) on MIT-BIH (DS1 train, DS2 test, AAMI N/S/V/F): the pretraining
//!    task, reported as accuracy and macro-F1. The best epoch is chosen on DS1 records held out
//!    by patient (`seed012::data`), never on DS2; DS2 is scored once at the end.
//! 2. **Residual vs plain** at equal depth (the same number of blocks and widths; a residual
//!    block adds a second 3×3 conv and the skip): training-loss curves per epoch, same data,
//!    seed and optimiser.
//! 3. **Transfer.** LUDB, label = any conduction abnormality (record level, `ludb.csv`); the
//!    records are split once, stratified, into a labelled pool and a test half. For k labelled
//!    records per class (the label budget, nested), three ways to train on their beats:
//!    *scratch* (random init), *frozen* (the MIT-BIH backbone frozen, a new linear head) and
//!    *fine-tune* (the MIT-BIH backbone, a new head, everything trained at a lower rate).
//!    Evaluation on the test records (record probability = mean of its beats'): AUC, accuracy,
//!    ECE (10 bins) and a reliability diagram, and AUC per subgroup (sex, age band).
//!    **Caveat:** at these budgets no other labels exist, so the labelled beats are their own
//!    validation set (the "best" epoch is the one that fits them best); the LUDB test records
//!    are never used for selection. Stated in the table note and `metrics.json`.
//!
//! Outputs: `table_02_transfer.{csv,md}`, `table_02_subgroups.{csv,md}`,
//! `fig_02_residual_vs_plain`, `fig_02_transfer_auc`, `fig_02_reliability`, `metrics.json`.

use serde::Serialize;

use super::Run;
use crate::calibration::{ece_of_bins, reliability_bins};
use crate::data::batch::WindowDataset;
use crate::data::signal::stft::StftConfig;
use crate::metrics::roc::auc;
use crate::metrics::softmax_rows;
use crate::models::autograd::engine::Rng;
use crate::models::autograd::optim::{Adam, AdamConfig};
use crate::models::nets::{Cnn2d, Cnn2dConfig};
use crate::plot::{LinePlot, ReliabilityPlot, Series};
use crate::seed012::budget::stratified_count;
use crate::seed012::data::{BeatCaps, load_beat_split, select};
use crate::seed012::transfer::{
    Image2d, RecordMeta, load_ludb_beats, record_probabilities, spectrogram_dataset,
};
use crate::table::{Cell, Table};
use crate::train::classifier::{
    ClassLoss, ClassMetric, ClassifierOptions, evaluate_classifier, fit_classifier,
};
use crate::train::{Goal, History, TrainConfig, predict, restore, snapshot};

#[derive(Clone, Debug, Serialize)]
struct Hyper {
    stft: String,
    widths_pretrain: Vec<usize>,
    widths_depth: Vec<usize>,
    dropout: f64,
    pretrain_epochs: usize,
    depth_epochs: usize,
    transfer_epochs: usize,
    batch_size: usize,
    lr: f64,
    finetune_lr: f64,
    budgets_per_class: Vec<usize>,
    train_per_class: usize,
    test_per_class: usize,
    ece_bins: usize,
}

#[derive(Clone, Debug, Serialize)]
struct TransferRow {
    budget_per_class: usize,
    labelled_records: usize,
    method: String,
    auc: f64,
    accuracy: f64,
    ece: f64,
    subgroup_auc: Vec<(String, f64, usize)>,
}

/// How a subgroup is read from a record.
type SubgroupKey = fn(&RecordMeta) -> String;

fn sex_of(r: &RecordMeta) -> String {
    r.sex.clone()
}

fn age_band_of(r: &RecordMeta) -> String {
    r.age_band().to_string()
}

fn train_cfg(epochs: usize, label: &str) -> TrainConfig {
    let mut c = TrainConfig::new(epochs, "macro_f1", Goal::Maximize);
    c.quiet = true;
    c.label = label.into();
    c
}

fn adam(lr: f64) -> anyhow::Result<Adam<f32>> {
    Ok(Adam::new(AdamConfig {
        lr,
        ..AdamConfig::adam()
    })?)
}

/// Trains `model` on `train` (validation on `val`, best epoch kept), returning the history.
fn train(
    model: &mut Image2d<Cnn2d>,
    train: &WindowDataset,
    val: &WindowDataset,
    epochs: usize,
    lr: f64,
    batch: usize,
    seed: u64,
    label: &str,
) -> anyhow::Result<History> {
    let mut opt = adam(lr)?;
    let mut cfg = train_cfg(epochs, label);
    let options = ClassifierOptions {
        balanced: true,
        ..ClassifierOptions::new(batch, ClassLoss::CrossEntropy, ClassMetric::MacroF1)
    };
    fit_classifier(model, &mut opt, train, val, &mut cfg, &options, seed)
}

/// Record-level (probabilities, labels) of `model` on the test beats.
fn record_scores(
    model: &mut Image2d<Cnn2d>,
    test: &WindowDataset,
    test_records: &[RecordMeta],
) -> anyhow::Result<Vec<f64>> {
    let logits = predict(model, test, 256)?;
    let p = softmax_rows(&logits)?;
    let p1: Vec<f64> = p.data().chunks(2).map(|r| f64::from(r[1])).collect();
    Ok(record_probabilities(&p1, &test.groups, test_records.len()))
}

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training, plotting and writing errors.
pub fn run(run: &mut Run) -> anyhow::Result<()> {
    let (quick, seed) = (run.quick(), run.seed());
    let source = run.source().clone();
    let stft = StftConfig::default();
    let hp = Hyper {
        stft: format!(
            "Hann n_fft {} hop {} log-power, z-scored per image",
            stft.n_fft, stft.hop
        ),
        widths_pretrain: vec![16, 32],
        widths_depth: vec![16, 16, 16, 16],
        dropout: 0.1,
        pretrain_epochs: if quick { 3 } else { 12 },
        depth_epochs: if quick { 3 } else { 12 },
        transfer_epochs: if quick { 4 } else { 25 },
        batch_size: 32,
        lr: 2e-3,
        finetune_lr: 5e-4,
        budgets_per_class: if quick {
            vec![3, 10]
        } else {
            vec![2, 5, 10, 20, 40]
        },
        train_per_class: if quick { 120 } else { 1500 },
        test_per_class: if quick { 80 } else { 1000 },
        ece_bins: 10,
    };

    // 1. MIT-BIH beats as spectrogram images; pretrain a plain Cnn2d.
    let split = load_beat_split(
        &source,
        BeatCaps {
            train_per_class: hp.train_per_class,
            test_per_class: hp.test_per_class,
        },
        quick,
        seed,
    )?;
    // Keep N, S, V, F (no Q beats exist after loading, but the class list has 5 names).
    for f in &split.inputs {
        run.record_input(f)?;
    }
    let (train_img, (h, w)) = spectrogram_dataset(&split.train, &stft)?;
    let (val_img, _) = spectrogram_dataset(&split.val, &stft)?;
    let (test_img, _) = spectrogram_dataset(&split.test, &stft)?;
    let classes = train_img.class_names.len();
    let cfg = |widths: &Vec<usize>, residual: bool, classes: usize| Cnn2dConfig {
        in_channels: 1,
        widths: widths.clone(),
        dropout: hp.dropout,
        residual,
        classes,
    };
    let mut pre = Image2d {
        h,
        w,
        inner: Cnn2d::new(seed, &cfg(&hp.widths_pretrain, false, classes))?,
    };
    let pre_hist = train(
        &mut pre,
        &train_img,
        &val_img,
        hp.pretrain_epochs,
        hp.lr,
        hp.batch_size,
        seed,
        "pretrain",
    )?;
    let (pre_eval, pre_logits) = evaluate_classifier(
        &mut pre,
        &test_img,
        256,
        &ClassLoss::CrossEntropy,
        ClassMetric::MacroF1,
    )?;
    let pre_pred = crate::metrics::argmax_rows(&pre_logits)?;
    let pre_acc = pre_pred
        .iter()
        .zip(&test_img.labels)
        .filter(|(a, b)| a == b)
        .count() as f64
        / test_img.len() as f64;
    run.summary(format!(
        "MIT-BIH spectrogram Cnn2d ({h}×{w} images, {} train / {} validation / {} test beats; best epoch by validation macro-F1 on held-out DS1 records {:?}): test accuracy {pre_acc:.3}, macro-F1 {:.3}",
        train_img.len(),
        val_img.len(),
        test_img.len(),
        split.val_records,
        pre_eval.metric
    ));
    let pretrained = snapshot(&mut pre);

    // 2. Residual vs plain at equal depth.
    let mut curves = Vec::new();
    let mut depth_rows = Vec::new();
    for residual in [false, true] {
        let mut m = Image2d {
            h,
            w,
            inner: Cnn2d::new(seed, &cfg(&hp.widths_depth, residual, classes))?,
        };
        let hist = train(
            &mut m,
            &train_img,
            &val_img,
            hp.depth_epochs,
            hp.lr,
            hp.batch_size,
            seed,
            if residual { "residual" } else { "plain" },
        )?;
        let name = if residual { "residual" } else { "plain" };
        let losses = hist.train_losses();
        run.summary(format!(
            "{} blocks {name}: train loss {:.3} → {:.3}, best val macro-F1 {:.3}",
            hp.widths_depth.len(),
            losses.first().copied().unwrap_or(f64::NAN),
            losses.last().copied().unwrap_or(f64::NAN),
            hist.best_metric.unwrap_or(f64::NAN)
        ));
        curves.push(Series::line(
            &format!("{name} ({} blocks)", hp.widths_depth.len()),
            losses
                .iter()
                .enumerate()
                .map(|(e, &l)| ((e + 1) as f64, l))
                .collect(),
        ));
        depth_rows.push((name.to_string(), hist));
    }
    let mut depth_fig = LinePlot::new(
        "Residual vs plain Cnn2d at equal depth (MIT-BIH spectrograms)",
        "epoch",
        "training loss (cross-entropy)",
    );
    for c in curves {
        depth_fig = depth_fig.with(c);
    }
    run.figure(
        &depth_fig,
        "fig_02_residual_vs_plain",
        "training loss per epoch, residual vs plain Cnn2d with the same blocks and widths",
    )?;

    // 3. Transfer to LUDB diagnoses with few labelled records.
    let ludb = load_ludb_beats(&source, quick, seed)?;
    if let crate::cli::DataSource::Real(dir) = &source {
        run.record_input(&dir.join("ludb").join("ludb.csv"))?;
    }
    run.summary(format!(
        "{}: {} beats, {} positive of {} records",
        ludb.source,
        ludb.beats.len(),
        ludb.records.iter().filter(|r| r.label == 1).count(),
        ludb.records.len()
    ));
    let (images, _) = spectrogram_dataset(&ludb.beats, &stft)?;
    let rec_labels: Vec<usize> = ludb.records.iter().map(|r| r.label).collect();
    // Test half: a stratified half of each class, the rest is the labelled pool.
    let half: Vec<usize> = {
        let pos = rec_labels.iter().filter(|&&y| y == 1).count();
        let neg = rec_labels.len() - pos;
        let mut idx = stratified_count(&rec_labels, pos.max(neg), seed);
        let mut rng = Rng::stream(seed, "ludb_test_half");
        rng.shuffle(&mut idx);
        let mut test = Vec::new();
        let mut taken = [0usize; 2];
        let want = [neg / 2, pos / 2];
        for i in idx {
            let y = rec_labels[i];
            if taken[y] < want[y] {
                taken[y] += 1;
                test.push(i);
            }
        }
        test.sort_unstable();
        test
    };
    let pool: Vec<usize> = (0..rec_labels.len())
        .filter(|i| !half.contains(i))
        .collect();
    let test_records: Vec<RecordMeta> = half.iter().map(|&i| ludb.records[i].clone()).collect();
    let beats_of = |recs: &[usize]| -> WindowDataset {
        let idx: Vec<usize> = (0..images.len())
            .filter(|&b| recs.contains(&images.groups[b]))
            .collect();
        let mut d = select(&images, &idx);
        // Re-index groups to positions in `recs`.
        d.groups = d
            .groups
            .iter()
            .map(|g| recs.iter().position(|r| r == g).unwrap_or(0))
            .collect();
        d
    };
    let test = beats_of(&half);
    let test_y: Vec<bool> = test_records.iter().map(|r| r.label == 1).collect();
    let pool_labels: Vec<usize> = pool.iter().map(|&i| rec_labels[i]).collect();
    let mut rows: Vec<TransferRow> = Vec::new();
    let mut reliability = Vec::new();
    for &k in &hp.budgets_per_class {
        let chosen: Vec<usize> = stratified_count(&pool_labels, k, seed)
            .iter()
            .map(|&j| pool[j])
            .collect();
        let labelled = beats_of(&chosen);
        for method in ["scratch", "frozen", "fine-tune"] {
            let mut rng = Rng::stream(seed, &format!("head/{k}/{method}"));
            let mut m = Image2d {
                h,
                w,
                inner: Cnn2d::new(seed ^ 0x5eed, &cfg(&hp.widths_pretrain, false, classes))?,
            };
            let lr = match method {
                "scratch" => {
                    m.inner.replace_head(Box::new(Cnn2d::linear_head(
                        m.inner.backbone_channels(),
                        2,
                        &mut rng,
                    )?));
                    hp.lr
                }
                _ => {
                    restore(&mut m, &pretrained)?;
                    m.inner.replace_head(Box::new(Cnn2d::linear_head(
                        m.inner.backbone_channels(),
                        2,
                        &mut rng,
                    )?));
                    if method == "frozen" {
                        m.inner.freeze_backbone();
                        hp.lr
                    } else {
                        hp.finetune_lr
                    }
                }
            };
            // Validation = the labelled beats themselves (no extra labels exist at this budget;
            // stated in the table note and metrics.json). The test records never steer training.
            train(
                &mut m,
                &labelled,
                &labelled,
                hp.transfer_epochs,
                lr,
                hp.batch_size,
                seed,
                method,
            )?;
            let p = record_scores(&mut m, &test, &test_records)?;
            let a = auc(&p, &test_y);
            let correct: Vec<bool> = p
                .iter()
                .zip(&test_y)
                .map(|(&q, &y)| (q >= 0.5) == y)
                .collect();
            let accuracy = correct.iter().filter(|&&c| c).count() as f64 / correct.len() as f64;
            let conf: Vec<f64> = p.iter().map(|&q| q.max(1.0 - q)).collect();
            let bins = reliability_bins(&conf, &correct, hp.ece_bins)?;
            let ece = ece_of_bins(&bins);
            let mut subgroup_auc = Vec::new();
            let groups: [(&str, SubgroupKey); 2] = [("sex", sex_of), ("age", age_band_of)];
            for (kind, key) in &groups {
                let mut values: Vec<String> = test_records.iter().map(key).collect();
                values.sort();
                values.dedup();
                for v in values {
                    let idx: Vec<usize> = (0..test_records.len())
                        .filter(|&i| key(&test_records[i]) == v)
                        .collect();
                    let s: Vec<f64> = idx.iter().map(|&i| p[i]).collect();
                    let y: Vec<bool> = idx.iter().map(|&i| test_y[i]).collect();
                    subgroup_auc.push((format!("{kind} {v}"), auc(&s, &y), idx.len()));
                }
            }
            if Some(&k) == hp.budgets_per_class.last() {
                reliability.push((method.to_string(), bins, ece));
            }
            rows.push(TransferRow {
                budget_per_class: k,
                labelled_records: chosen.len(),
                method: method.into(),
                auc: a,
                accuracy,
                ece,
                subgroup_auc,
            });
        }
    }
    let mut t = Table::new(
        "Transfer to LUDB (any conduction abnormality, record level): scratch vs frozen vs fine-tune",
        &[
            "labelled records per class",
            "records",
            "method",
            "AUC",
            "accuracy",
            "ECE",
        ],
    );
    for r in &rows {
        t.push(vec![
            Cell::int(r.budget_per_class),
            Cell::int(r.labelled_records),
            Cell::text(r.method.clone()),
            Cell::num(r.auc, 3),
            Cell::num(r.accuracy, 3),
            Cell::num(r.ece, 3),
        ])?;
    }
    t.note(format!(
        "{} test records ({} positive); backbone pretrained on MIT-BIH spectrograms (DS2 macro-F1 {:.3}; best epoch chosen on held-out DS1 records). Model selection at each budget: the labelled beats are their own validation set (no other labels exist at these budgets), so the kept epoch is the one that fits them best; the test records are never used for selection. AUC is NaN (—) when a test subgroup has one class only.",
        test_records.len(),
        test_y.iter().filter(|&&y| y).count(),
        pre_eval.metric
    ));
    run.table(&t, "table_02_transfer")?;
    let mut sg = Table::new(
        "Subgroup AUC on the LUDB test records (largest label budget)",
        &["method", "subgroup", "records", "AUC"],
    );
    for r in rows
        .iter()
        .filter(|r| Some(&r.budget_per_class) == hp.budgets_per_class.last())
    {
        for (g, a, n) in &r.subgroup_auc {
            sg.push(vec![
                Cell::text(r.method.clone()),
                Cell::text(g.clone()),
                Cell::int(*n),
                Cell::num(*a, 3),
            ])?;
        }
    }
    run.table(&sg, "table_02_subgroups")?;
    let mut auc_fig = LinePlot::new(
        "Transfer learning on LUDB: AUC vs labelled records per class",
        "labelled records per class",
        "record-level AUC",
    );
    for method in ["scratch", "frozen", "fine-tune"] {
        auc_fig = auc_fig.with(Series::line(
            method,
            rows.iter()
                .filter(|r| r.method == method)
                .map(|r| (r.budget_per_class as f64, r.auc))
                .collect(),
        ));
    }
    run.figure(
        &auc_fig,
        "fig_02_transfer_auc",
        "record-level AUC vs label budget",
    )?;
    run.figure(
        &ReliabilityPlot {
            title: "Reliability on LUDB test records (largest budget)".into(),
            models: reliability,
            size: (800, 500),
        },
        "fig_02_reliability",
        "reliability diagram and ECE of the three training methods",
    )?;
    for r in &rows {
        run.summary(format!(
            "LUDB k={} {}: AUC {:.3}, acc {:.3}, ECE {:.3}",
            r.budget_per_class, r.method, r.auc, r.accuracy, r.ece
        ));
    }
    run.write_metrics(&serde_json::json!({
        "hyper_parameters": hp,
        "image_size": [h, w],
        "mitbih": { "data": split.source, "train": train_img.len(), "val": val_img.len(),
            "val_records": split.val_records, "test": test_img.len(),
            "model_selection": "best epoch by validation macro-F1 on DS1 records held out by patient (never DS2); DS2 scored once after training",
            "accuracy": pre_acc, "macro_f1": pre_eval.metric, "history": pre_hist },
        "residual_vs_plain": depth_rows.iter().map(|(n, h)| serde_json::json!({"model": n, "history": h})).collect::<Vec<_>>(),
        "ludb": { "source": ludb.source, "test_records": test_records, "pool": pool.len(),
            "model_selection": "labelled beats are their own validation set (no other labels exist at these budgets): the kept epoch is the one that fits the labelled records best; test records never used for selection" },
        "transfer": rows,
    }))?;
    Ok(())
}
