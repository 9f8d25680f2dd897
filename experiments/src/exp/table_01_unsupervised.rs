//! `table_01_unsupervised` — seed 001's "features without labels" on MIT-BIH beats:
//!
//! - **Representations** of each beat: the raw z-scored signal (187 values), its first 16
//!   principal components (PCA fitted on the unlabelled pool), the code of a convolutional
//!   autoencoder (32 values, `seed012::unsup`), and the 128-d representation of a SimCLR-style
//!   contrastive encoder (`seed012::encoder`, NT-Xent on two augmented views per beat with the
//!   seed-000 augmentations). Both networks learn from an **unlabelled pool** of DS1 beats in
//!   their natural class mix (mostly N); every representation is standardised with the pool's
//!   statistics.
//! - **Clustering** of the DS2 test beats (K-means with k = number of classes present, 10
//!   restarts; DBSCAN with min_samples = 5 and ε = the median 4-distance of the test points),
//!   scored with ARI and NMI against the AAMI labels.
//! - **Anomaly detection** (abnormal = S, V, F vs N) on the test beats: AUROC of the
//!   autoencoder's reconstruction error, and of the distance to the nearest of 8 K-means
//!   centres fitted on the unlabelled pool (for every representation).
//! - **Semi-supervised**: a linear probe on the frozen representation trained with 1 %, 10 %,
//!   100 % of the labelled DS1 beats (stratified, nested budgets), vs a fully supervised
//!   `BeatCnn` trained on 100 %; accuracy and macro-F1 on DS2. The `BeatCnn` keeps its best
//!   epoch on DS1 records held out by patient (`seed012::data`); the probes have no other
//!   labels at their budgets, so their labelled subset is their own validation set (said in
//!   the table note and `metrics.json`). DS2 never steers training.
//! - **Figure**: 2-D PCA of the test representations, coloured by class.
//!
//! Outputs: `table_01_clustering`, `table_01_anomaly`, `table_01_semisupervised` (CSV + MD),
//! `fig_01_embedding.{png,svg}`, `fig_01_training.{png,svg}`, `metrics.json`.

use serde::Serialize;

use super::Run;
use crate::cluster::{ari, dbscan, kmeans, nmi, noise_as_label, pca};
use crate::data::batch::BatchOptions;
use crate::data::batch::WindowDataset;
use crate::data::signal::AugmentConfig;
use crate::metrics::roc::auc;
use crate::metrics::{ConfusionMatrix, argmax_rows};
use crate::models::Module;
use crate::models::autograd::engine::Rng;
use crate::models::autograd::loss;
use crate::models::autograd::optim::{Adam, AdamConfig};
use crate::models::nets::{BeatCnn, ConvAutoencoder};
use crate::plot::{Grid, LinePlot, Panel, ScatterPlot, Series};
use crate::seed012::budget::stratified_fraction;
use crate::seed012::data::{BeatCaps, cap_per_class, load_beat_split, permutation, select};
use crate::seed012::encoder::{ContrastiveEncoder, contrastive_step_loss};
use crate::seed012::unsup::{
    AE_LEN, beat_ae_config, crop, feature_dataset, features, k_distances, linear_probe,
    nearest_centre_distance, quantile, reconstruction_errors, standardise,
};
use crate::table::{Cell, Table};
use crate::train::classifier::{ClassLoss, ClassMetric, ClassifierOptions, fit_classifier};
use crate::train::{BatchSource, Goal, Pairs, TrainConfig, Windows, fit, predict};

#[derive(Clone, Debug, Serialize)]
struct Hyper {
    unlabelled: usize,
    train_per_class: usize,
    test_per_class: usize,
    ae_epochs: usize,
    contrastive_epochs: usize,
    supervised_epochs: usize,
    probe_epochs: usize,
    batch_size: usize,
    lr: f64,
    temperature: f64,
    projection_dim: usize,
    augment: String,
    pca_components: usize,
    kmeans_restarts: usize,
    anomaly_centres: usize,
    dbscan_min_samples: usize,
    dbscan_eps_quantile: f64,
    label_fractions: Vec<f64>,
}

#[derive(Clone, Debug, Serialize)]
struct ClusterRow {
    representation: String,
    dim: usize,
    kmeans_ari: f64,
    kmeans_nmi: f64,
    dbscan_ari: f64,
    dbscan_nmi: f64,
    dbscan_clusters: usize,
    dbscan_noise: f64,
    dbscan_eps: f64,
}

/// A representation: pool, labelled-train and test features (standardised), and its size.
struct Rep {
    name: String,
    d: usize,
    pool: Vec<f64>,
    train: Vec<f32>,
    test: Vec<f32>,
}

fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

fn adam(lr: f64) -> anyhow::Result<Adam<f32>> {
    Ok(Adam::new(AdamConfig {
        lr,
        ..AdamConfig::adam()
    })?)
}

/// Runs the experiment (see the module docs).
///
/// # Errors
/// Data, training, clustering, plotting and writing errors.
pub fn run(run: &mut Run) -> anyhow::Result<()> {
    let (quick, seed) = (run.quick(), run.seed());
    let source = run.source().clone();
    let augment = AugmentConfig::default();
    let hp = Hyper {
        unlabelled: if quick { 768 } else { 6000 },
        train_per_class: if quick { 150 } else { 2000 },
        test_per_class: if quick { 100 } else { 1000 },
        ae_epochs: if quick { 3 } else { 15 },
        contrastive_epochs: if quick { 2 } else { 10 },
        supervised_epochs: if quick { 3 } else { 12 },
        probe_epochs: if quick { 30 } else { 100 },
        batch_size: 64,
        lr: 1e-3,
        temperature: 0.2,
        projection_dim: 32,
        augment: format!("{augment:?}"),
        pca_components: 16,
        kmeans_restarts: if quick { 3 } else { 10 },
        anomaly_centres: 8,
        dbscan_min_samples: 5,
        dbscan_eps_quantile: 0.5,
        label_fractions: vec![0.01, 0.1, 1.0],
    };
    // Uncapped DS1/DS2, then: a natural-mix unlabelled pool, capped labelled train and test.
    let all = load_beat_split(
        &source,
        BeatCaps {
            train_per_class: usize::MAX,
            test_per_class: usize::MAX,
        },
        quick,
        seed,
    )?;
    let perm = permutation(all.train.len(), seed, "unlabelled_pool");
    let mut pool_idx: Vec<usize> = perm.into_iter().take(hp.unlabelled).collect();
    pool_idx.sort_unstable();
    let pool = select(&all.train, &pool_idx);
    for f in &all.inputs {
        run.record_input(f)?;
    }
    let train = cap_per_class(&all.train, hp.train_per_class, seed);
    // Held-out DS1 records (patient-disjoint): best-epoch selection of the supervised BeatCnn.
    let val = cap_per_class(&all.val, hp.test_per_class, seed ^ 2);
    let test = cap_per_class(&all.test, hp.test_per_class, seed ^ 1);
    let k_classes = test.class_names.len();
    let present: Vec<usize> = (0..k_classes)
        .filter(|&c| test.labels.contains(&c))
        .collect();
    run.summary(format!(
        "{}; unlabelled pool {} beats (natural mix {:?}), labelled train {}, test {} (classes {:?})",
        all.source,
        pool.len(),
        pool.class_counts(),
        train.len(),
        test.len(),
        test.class_counts()
    ));

    // Autoencoder on the unlabelled pool.
    let (pool_c, train_c, test_c) = (
        crop(&pool, AE_LEN)?,
        crop(&train, AE_LEN)?,
        crop(&test, AE_LEN)?,
    );
    let mut ae = ConvAutoencoder::new(beat_ae_config(), &mut Rng::stream(seed, "ae_init"))?;
    let mut cfg = TrainConfig::new(hp.ae_epochs, "loss", Goal::Minimize);
    cfg.quiet = true;
    let opts = BatchOptions {
        batch_size: hp.batch_size,
        shuffle: true,
        balanced: false,
        drop_last: false,
    };
    let ae_hist = fit(
        &mut ae,
        &mut adam(hp.lr)?,
        &Pairs {
            inputs: &pool_c,
            targets: &pool_c,
            options: opts,
            seed,
        },
        &mut cfg,
        |m, tape, b| {
            let x = tape.input(b.x.clone());
            let y = m.forward(tape, &x)?;
            Ok(loss::mse(tape, &y, &b.target, Default::default())?)
        },
        |_| Ok(None),
    )?;

    // Contrastive encoder on the unlabelled pool.
    let mut enc = ContrastiveEncoder::new(seed, hp.projection_dim)?;
    let mut cfg = TrainConfig::new(hp.contrastive_epochs, "loss", Goal::Minimize);
    cfg.quiet = true;
    let mut rng = Rng::stream(seed, "views");
    let src = Windows {
        data: &pool,
        options: BatchOptions {
            drop_last: true,
            ..opts
        },
        seed,
    };
    anyhow::ensure!(
        src.batches_per_epoch() > 0,
        "unlabelled pool smaller than one batch"
    );
    let con_hist = fit(
        &mut enc,
        &mut adam(hp.lr)?,
        &src,
        &mut cfg,
        |m, tape, b| contrastive_step_loss(m, tape, &b.x, &augment, hp.temperature, &mut rng),
        |_| Ok(None),
    )?;
    run.summary(format!(
        "autoencoder MSE {:.4} → {:.4}; NT-Xent {:.3} → {:.3}",
        ae_hist.train_losses().first().copied().unwrap_or(f64::NAN),
        ae_hist.train_losses().last().copied().unwrap_or(f64::NAN),
        con_hist.train_losses().first().copied().unwrap_or(f64::NAN),
        con_hist.train_losses().last().copied().unwrap_or(f64::NAN)
    ));

    // Representations.
    ae.set_training(false);
    enc.set_training(false);
    let ae_feat = |ds: &WindowDataset| {
        features(ds, |t, x| {
            let xv = t.input(x);
            Ok(ae.encode(t, &xv)?.value().clone())
        })
    };
    let con_feat = |ds: &WindowDataset| {
        features(ds, |t, x| {
            let xv = t.input(x);
            Ok(enc.embed(t, &xv)?.value().clone())
        })
    };
    let mut reps: Vec<Rep> = Vec::new();
    let mut add = |name: &str,
                   (mut p, d): (Vec<f32>, usize),
                   (mut tr, _): (Vec<f32>, usize),
                   (mut te, _): (Vec<f32>, usize)| {
        // Train and test are standardised with the pool's statistics (computed on a copy of
        // the raw pool features, since `standardise` rewrites its first argument too).
        let mut p_copy = p.clone();
        standardise(&mut p, &mut tr, d);
        standardise(&mut p_copy, &mut te, d);
        reps.push(Rep {
            name: name.into(),
            d,
            pool: to_f64(&p),
            train: tr,
            test: te,
        });
    };
    let raw = |ds: &WindowDataset| (ds.samples.clone(), ds.length);
    add("raw signal", raw(&pool), raw(&train), raw(&test));
    {
        let fit_pca = pca(&to_f64(&pool.samples), pool.length, hp.pca_components)?;
        let proj = |ds: &WindowDataset| -> anyhow::Result<(Vec<f32>, usize)> {
            Ok((
                fit_pca
                    .transform(&to_f64(&ds.samples))?
                    .iter()
                    .map(|&v| v as f32)
                    .collect(),
                hp.pca_components,
            ))
        };
        add(
            &format!("PCA({}) of raw", hp.pca_components),
            proj(&pool)?,
            proj(&train)?,
            proj(&test)?,
        );
    }
    add(
        "conv autoencoder code",
        ae_feat(&pool_c)?,
        ae_feat(&train_c)?,
        ae_feat(&test_c)?,
    );
    add(
        "contrastive (NT-Xent) encoder",
        con_feat(&pool)?,
        con_feat(&train)?,
        con_feat(&test)?,
    );

    // Clustering.
    let truth = &test.labels;
    let mut cl_rows = Vec::new();
    for r in &reps {
        let x = to_f64(&r.test);
        let km = kmeans(&x, r.d, present.len(), hp.kmeans_restarts, seed)?;
        let kd = k_distances(&x, r.d, hp.dbscan_min_samples - 1)?;
        let eps = quantile(&kd, hp.dbscan_eps_quantile).max(1e-9);
        let db = dbscan(&x, r.d, eps, hp.dbscan_min_samples)?;
        let noise = db.iter().filter(|l| l.is_none()).count() as f64 / db.len() as f64;
        let clusters = db.iter().flatten().max().map_or(0, |m| m + 1);
        let dbl = noise_as_label(&db);
        cl_rows.push(ClusterRow {
            representation: r.name.clone(),
            dim: r.d,
            kmeans_ari: ari(truth, &km.labels)?,
            kmeans_nmi: nmi(truth, &km.labels)?,
            dbscan_ari: ari(truth, &dbl)?,
            dbscan_nmi: nmi(truth, &dbl)?,
            dbscan_clusters: clusters,
            dbscan_noise: noise,
            dbscan_eps: eps,
        });
    }
    let mut t = Table::new(
        "Clustering MIT-BIH DS2 beats: agreement with AAMI labels",
        &[
            "representation",
            "dim",
            "K-means ARI",
            "K-means NMI",
            "DBSCAN ARI",
            "DBSCAN NMI",
            "DBSCAN clusters",
            "noise fraction",
        ],
    );
    for c in &cl_rows {
        t.push(vec![
            Cell::text(c.representation.clone()),
            Cell::int(c.dim),
            Cell::num(c.kmeans_ari, 3),
            Cell::num(c.kmeans_nmi, 3),
            Cell::num(c.dbscan_ari, 3),
            Cell::num(c.dbscan_nmi, 3),
            Cell::int(c.dbscan_clusters),
            Cell::num(c.dbscan_noise, 2),
        ])?;
        run.summary(format!(
            "{}: K-means ARI {:.3} NMI {:.3}; DBSCAN ARI {:.3} NMI {:.3} ({} clusters, {:.0} % noise)",
            c.representation,
            c.kmeans_ari,
            c.kmeans_nmi,
            c.dbscan_ari,
            c.dbscan_nmi,
            c.dbscan_clusters,
            100.0 * c.dbscan_noise
        ));
    }
    t.note(format!(
        "K-means with k = {} (classes present in the test set), {} restarts; DBSCAN min_samples {} and ε = the {:.0}th percentile of the {}-distances. Features standardised with the unlabelled pool's statistics.",
        present.len(),
        hp.kmeans_restarts,
        hp.dbscan_min_samples,
        100.0 * hp.dbscan_eps_quantile,
        hp.dbscan_min_samples - 1
    ));
    run.table(&t, "table_01_clustering")?;

    // Anomaly detection.
    let abnormal: Vec<bool> = truth.iter().map(|&y| y != 0).collect();
    let recon = reconstruction_errors(&mut ae, &test_c)?;
    let mut an_rows = vec![(
        "conv autoencoder".to_string(),
        "reconstruction error".to_string(),
        auc(&recon, &abnormal),
    )];
    for r in &reps {
        let km = kmeans(&r.pool, r.d, hp.anomaly_centres, hp.kmeans_restarts, seed)?;
        let dist = nearest_centre_distance(&to_f64(&r.test), &km.centres, r.d);
        an_rows.push((
            r.name.clone(),
            format!("distance to nearest of {} centres", hp.anomaly_centres),
            auc(&dist, &abnormal),
        ));
    }
    let mut t = Table::new(
        "Anomaly detection on DS2 beats (abnormal = S, V, F vs N): AUROC",
        &["representation", "score", "AUROC"],
    );
    for (r, s, a) in &an_rows {
        t.push(vec![
            Cell::text(r.clone()),
            Cell::text(s.clone()),
            Cell::num(*a, 3),
        ])?;
        run.summary(format!("anomaly AUROC {r} ({s}): {a:.3}"));
    }
    t.note(format!(
        "Centres and autoencoder fitted on the unlabelled pool ({} beats, natural class mix {:?}); no labels used. {} abnormal of {} test beats.",
        pool.len(),
        pool.class_counts(),
        abnormal.iter().filter(|&&a| a).count(),
        abnormal.len()
    ));
    run.table(&t, "table_01_anomaly")?;

    // Semi-supervised linear probes vs a fully supervised BeatCnn.
    let scores = |truth: &[usize],
                  logits: &crate::models::autograd::engine::Tensor<f32>|
     -> anyhow::Result<(f64, f64)> {
        let cm = ConfusionMatrix::new(truth, &argmax_rows(logits)?, k_classes)?;
        Ok((cm.accuracy(), cm.macro_f1()))
    };
    let options = |b| ClassifierOptions {
        balanced: true,
        ..ClassifierOptions::new(b, ClassLoss::CrossEntropy, ClassMetric::MacroF1)
    };
    let mut semi = Vec::new();
    for r in reps.iter().skip(1) {
        let tr_all = feature_dataset(&r.train, r.d, &train);
        let te = feature_dataset(&r.test, r.d, &test);
        for &f in &hp.label_fractions {
            let idx = stratified_fraction(&tr_all.labels, f, seed)?;
            let tr = select(&tr_all, &idx);
            let mut probe = linear_probe(r.d, k_classes, seed)?;
            let mut cfg = TrainConfig::new(hp.probe_epochs, "macro_f1", Goal::Maximize);
            cfg.quiet = true;
            // Validation = the labelled subset itself (no other labels exist at this budget).
            fit_classifier(
                &mut probe,
                &mut adam(1e-2)?,
                &tr,
                &tr,
                &mut cfg,
                &options(32),
                seed,
            )?;
            let (acc, f1) = scores(&te.labels, &predict(&mut probe, &te, 512)?)?;
            semi.push((r.name.clone(), f, tr.len(), acc, f1));
        }
    }
    let mut sup = BeatCnn::new(seed, k_classes)?;
    let mut cfg = TrainConfig::new(hp.supervised_epochs, "macro_f1", Goal::Maximize);
    cfg.quiet = true;
    fit_classifier(
        &mut sup,
        &mut adam(hp.lr)?,
        &train,
        &val,
        &mut cfg,
        &options(hp.batch_size),
        seed,
    )?;
    let (acc, f1) = scores(&test.labels, &predict(&mut sup, &test, 256)?)?;
    semi.push((
        "BeatCnn, fully supervised".into(),
        1.0,
        train.len(),
        acc,
        f1,
    ));
    let mut t = Table::new(
        "Semi-supervised: linear probe on frozen features vs a fully supervised BeatCnn (DS2)",
        &[
            "features",
            "labels used",
            "labelled beats",
            "accuracy",
            "macro-F1",
        ],
    );
    for (n, f, m, a, f1) in &semi {
        t.push(vec![
            Cell::text(n.clone()),
            Cell::text(format!("{:.0} %", 100.0 * f)),
            Cell::int(*m),
            Cell::num(*a, 3),
            Cell::num(*f1, 3),
        ])?;
        run.summary(format!(
            "{n} @ {:.0} % labels ({m} beats): acc {a:.3}, macro-F1 {f1:.3}",
            100.0 * f
        ));
    }
    t.note(format!(
        "Model selection: the BeatCnn keeps its best epoch by macro-F1 on {} beats of DS1 records {:?} held out by patient; each linear probe uses its labelled subset as its own validation set (no other labels exist at that budget). DS2 is scored once and never used for selection.",
        val.len(),
        all.val_records
    ));
    run.table(&t, "table_01_semisupervised")?;

    // Figures.
    let mut grid = Grid::new(
        "2-D PCA of the test-beat representations, coloured by AAMI class",
        2,
        (560, 460),
    );
    for r in &reps {
        let x = to_f64(&r.test);
        let p2 = pca(&x, r.d, 2)?;
        let z = p2.transform(&x)?;
        grid = grid.with(Panel::Scatter(ScatterPlot {
            title: format!("{} ({} d)", r.name, r.d),
            x_label: "PC 1".into(),
            y_label: "PC 2".into(),
            points: z.chunks(2).map(|c| (c[0], c[1])).collect(),
            classes: test.labels.clone(),
            class_names: test.class_names.clone(),
            size: (560, 460),
        }));
    }
    run.figure(
        &grid,
        "fig_01_embedding",
        "2-D PCA embeddings of four beat representations, coloured by class",
    )?;
    let curve = |h: &crate::train::History| -> Vec<(f64, f64)> {
        h.train_losses()
            .iter()
            .enumerate()
            .map(|(e, &l)| ((e + 1) as f64, l))
            .collect()
    };
    let tr_fig = Grid::new("Unsupervised training", 2, (520, 380))
        .with(Panel::Line(
            LinePlot::new("autoencoder", "epoch", "MSE")
                .with(Series::line("train", curve(&ae_hist))),
        ))
        .with(Panel::Line(
            LinePlot::new("contrastive encoder", "epoch", "NT-Xent")
                .with(Series::line("train", curve(&con_hist))),
        ));
    run.figure(
        &tr_fig,
        "fig_01_training",
        "training losses of the autoencoder and the contrastive encoder",
    )?;

    run.write_metrics(&serde_json::json!({
        "hyper_parameters": hp,
        "data": all.source,
        "pool_class_counts": pool.class_counts(),
        "train_class_counts": train.class_counts(),
        "val_class_counts": val.class_counts(),
        "val_records": all.val_records,
        "model_selection": {
            "beat_cnn": "best epoch by validation macro-F1 on DS1 records held out by patient (never DS2)",
            "linear_probes": "the labelled subset is its own validation set (no other labels exist at these budgets); DS2 never used for selection",
        },
        "test_class_counts": test.class_counts(),
        "clustering": cl_rows,
        "anomaly_auroc": an_rows,
        "semi_supervised": semi,
        "autoencoder_history": ae_hist,
        "contrastive_history": con_hist,
    }))?;
    Ok(())
}
