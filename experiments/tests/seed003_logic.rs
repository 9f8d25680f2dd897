//! Seed-003 experiment logic: protocol splits, class weights, cache keys, Grad-CAM regions,
//! the model zoo.

use std::collections::HashSet;
use std::path::Path;

use ecgrad_experiments::cli::DataSource;
use ecgrad_experiments::models::Module;
use ecgrad_experiments::models::autograd::Tape;
use ecgrad_experiments::models::autograd::engine::{Shape, Tensor};
use ecgrad_experiments::seed003::protocol::{
    BEAT_LEN, Protocol, QuickCaps, R_INDEX, choose_val_records, prepare,
};
use ecgrad_experiments::seed003::regions::{MassSummary, region_mass, wave_windows};
use ecgrad_experiments::seed003::spec::{
    GanConfig, Hyper, LossKind, TrainSpec, balanced_class_weights,
};
use ecgrad_experiments::seed003::zoo::{ModelKind, Net};

fn synthetic() -> DataSource {
    DataSource::Synthetic("test".into())
}

fn real() -> Option<DataSource> {
    let dir = Path::new("../../shared/data");
    if dir.join("mitdb").is_dir() {
        Some(DataSource::Real(dir.to_path_buf()))
    } else {
        println!("skipping the real-data part: ../../shared/data/mitdb is absent");
        None
    }
}

fn records(p: &ecgrad_experiments::seed003::protocol::Part) -> HashSet<String> {
    p.record.iter().cloned().collect()
}

#[test]
fn inter_patient_parts_are_patient_disjoint() {
    let mut sources = vec![synthetic()];
    sources.extend(real());
    for src in sources {
        let s = prepare(Protocol::InterPatient, &src, Some(QuickCaps::quick()), 3).unwrap();
        let (tr, va, te) = (records(&s.train), records(&s.val), records(&s.test));
        assert!(tr.is_disjoint(&va), "{:?}: train ∩ val", src);
        assert!(
            tr.is_disjoint(&te) && va.is_disjoint(&te),
            "{src:?}: test shares a patient"
        );
        assert_eq!(s.train.data.class_names, ["N", "S", "V", "F"]);
        assert!(s.train.data.labels.iter().all(|&l| l < 4));
        if let DataSource::Real(_) = src {
            let ds2: HashSet<&str> = ecgrad_experiments::data::mitbih::DS2.into_iter().collect();
            assert!(te.iter().all(|r| ds2.contains(r.as_str())), "{te:?}");
            assert!(tr.iter().chain(&va).all(|r| !ds2.contains(r.as_str())));
        }
    }
}

#[test]
fn intra_patient_parts_are_beat_disjoint_and_stratified() {
    let s = prepare(
        Protocol::IntraPatient,
        &synthetic(),
        Some(QuickCaps::quick()),
        5,
    )
    .unwrap();
    let key = |p: &ecgrad_experiments::seed003::protocol::Part| -> HashSet<(String, usize)> {
        p.record
            .iter()
            .cloned()
            .zip(p.sample.iter().copied())
            .collect()
    };
    let (a, b, c) = (key(&s.train), key(&s.val), key(&s.test));
    assert!(a.is_disjoint(&b) && a.is_disjoint(&c) && b.is_disjoint(&c));
    for p in [&s.train, &s.val, &s.test] {
        assert_eq!(p.data.length, BEAT_LEN);
        let counts = p.data.class_counts();
        assert_eq!(counts.len(), 5);
        assert!(
            counts.iter().all(|&n| n > 0),
            "every class in every part: {counts:?}"
        );
        // min–max per beat
        for w in p.data.samples.chunks_exact(BEAT_LEN).take(20) {
            let lo = w.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = w.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert!(lo.abs() < 1e-6 && (hi - 1.0).abs() < 1e-6, "{lo} {hi}");
        }
    }
    // The same seed gives the same split; another seed another one.
    let again = prepare(
        Protocol::IntraPatient,
        &synthetic(),
        Some(QuickCaps::quick()),
        5,
    )
    .unwrap();
    assert_eq!(again.test.sample, s.test.sample);
    let other = prepare(
        Protocol::IntraPatient,
        &synthetic(),
        Some(QuickCaps::quick()),
        6,
    )
    .unwrap();
    assert_ne!(other.test.data.samples, s.test.data.samples);
}

#[test]
fn validation_records_hold_every_class() {
    let s = prepare(
        Protocol::InterPatient,
        &synthetic(),
        Some(QuickCaps::quick()),
        11,
    )
    .unwrap();
    let k = s.train.records().len() / 5;
    let (chosen, ok) = choose_val_records(&s.train, k, 1);
    assert!(ok, "a qualifying draw exists among many synthetic patients");
    assert_eq!(chosen.len(), k);
    let mut counts = [0usize; 4];
    for (r, &l) in s.train.record.iter().zip(&s.train.data.labels) {
        if chosen.contains(r) {
            counts[l] += 1;
        }
    }
    assert!(counts.iter().all(|&c| c >= 5), "{counts:?}");
    // A draw that cannot qualify (one record) still returns the best one and says so.
    let (one, ok) = choose_val_records(&s.train, 1, 1);
    assert_eq!(one.len(), 1);
    assert!(!ok);
}

#[test]
fn class_weights_equalise_class_totals() {
    let counts = [900, 50, 40, 10, 0];
    let w = balanced_class_weights(&counts);
    // n / (k·n_c) with k = 4 present classes, so w_c·n_c = n/k for each present class.
    for c in 0..4 {
        assert!(
            (w[c] as f64 * counts[c] as f64 - 1000.0 / 4.0).abs() < 1e-3,
            "{w:?}"
        );
    }
    assert_eq!(w[4], 0.0);
    assert_eq!(balanced_class_weights(&[5, 5]), vec![1.0, 1.0]);
}

#[test]
fn region_masses_sum_to_one() {
    let [p, q, t] = wave_windows(BEAT_LEN);
    assert!(p.end <= q.start && q.end <= t.start && t.end <= BEAT_LEN);
    assert!(
        q.start < R_INDEX && R_INDEX < q.end,
        "the R peak is in the QRS window"
    );
    // A spike at the R peak is all QRS.
    let mut m = vec![0f32; BEAT_LEN];
    m[R_INDEX] = 3.0;
    let r = region_mass(&m).unwrap();
    assert_eq!((r.p, r.qrs, r.t, r.other), (0.0, 1.0, 0.0, 0.0));
    // A flat map: each region gets its share of the samples.
    let r = region_mass(&vec![1.0; BEAT_LEN]).unwrap();
    assert!((r.p - (p.end - p.start) as f64 / BEAT_LEN as f64).abs() < 1e-12);
    assert!((r.t - (t.end - t.start) as f64 / BEAT_LEN as f64).abs() < 1e-12);
    // Random non-negative maps: the four fractions sum to 1.
    let mut rng = ecgrad_experiments::models::autograd::engine::Rng::new(9);
    let mut summary = MassSummary::default();
    for _ in 0..50 {
        let m: Vec<f32> = (0..BEAT_LEN).map(|_| rng.uniform() as f32).collect();
        let r = region_mass(&m).unwrap();
        assert!((r.as_array().iter().sum::<f64>() - 1.0).abs() < 1e-9);
        summary.add(&m);
    }
    summary.add(&[0.0; BEAT_LEN]);
    assert_eq!((summary.n, summary.empty), (50, 1));
    assert!((summary.mean.as_array().iter().sum::<f64>() - 1.0).abs() < 1e-9);
    // Random uniform maps: every region carries about its width's share (enrichment ≈ 1).
    for e in summary.enrichment().unwrap() {
        assert!((e - 1.0).abs() < 0.15, "{e}");
    }
    // Maps peaked at the R peak concentrate on the QRS window, though "other" is far wider.
    let mut peaked = MassSummary::default();
    let mut m = vec![0.1f32; BEAT_LEN];
    m[R_INDEX] = 3.0;
    peaked.add(&m);
    assert!(
        peaked.dominant().starts_with("QRS"),
        "{}",
        peaked.dominant()
    );
    assert_eq!(MassSummary::default().dominant(), "-");
    assert!(region_mass(&[0.0; 10]).is_none());
}

#[test]
fn cache_keys_change_with_every_setting() {
    let base = TrainSpec {
        protocol: Protocol::IntraPatient,
        model: ModelKind::Cnn,
        loss: LossKind::Ce,
        gan: None,
        seed: 1,
        quick: true,
        hyper: Hyper::quick(),
        data: "synthetic".into(),
    };
    assert_eq!(base.stem(), "intra_cnn_ce_nogan_s1_quick");
    let mut keys = HashSet::new();
    keys.insert(base.key());
    let mut v = base.clone();
    v.loss = LossKind::Focal { gamma: 2.0 };
    keys.insert(v.key());
    let mut v = base.clone();
    v.loss = LossKind::Focal { gamma: 1.0 };
    keys.insert(v.key());
    let mut v = base.clone();
    v.gan = Some(GanConfig::quick(0.15));
    assert!(v.stem().contains("gan15"));
    keys.insert(v.key());
    let mut v = base.clone();
    v.gan = Some(GanConfig::full(0.15));
    keys.insert(v.key());
    let mut v = base.clone();
    v.hyper.epochs += 1;
    keys.insert(v.key());
    let mut v = base.clone();
    v.data.push('!');
    keys.insert(v.key());
    let mut v = base.clone();
    v.protocol = Protocol::InterPatient;
    keys.insert(v.key());
    assert_eq!(keys.len(), 8, "{keys:?}");
    assert_eq!(base.key(), base.clone().key(), "deterministic");
}

#[test]
fn zoo_builds_by_name_and_mc_dropout_varies_only_in_mc_mode() {
    for k in ModelKind::ALL {
        assert_eq!(ModelKind::parse(k.name()).unwrap(), k);
    }
    assert!(ModelKind::parse("transformer").is_err());
    let mut net = Net::new(ModelKind::Cnn, 7, 5).unwrap();
    let mut rng = ecgrad_experiments::models::autograd::engine::Rng::new(1);
    let x = Tensor::from_vec(
        Shape::d3(4, 1, BEAT_LEN),
        (0..4 * BEAT_LEN).map(|_| rng.uniform() as f32).collect(),
    )
    .unwrap();
    let run = |net: &Net| {
        let mut tape = Tape::no_grad();
        let xv = tape.input(x.clone());
        net.forward(&mut tape, &xv).unwrap().value().data().to_vec()
    };
    net.set_training(false);
    let (a, b) = (run(&net), run(&net));
    assert_eq!(a.len(), 4 * 5);
    assert_eq!(a, b, "evaluation is deterministic");
    assert!(net.set_mc_dropout());
    let (c, d) = (run(&net), run(&net));
    assert_ne!(c, d, "MC dropout draws a new mask each pass");
    // Batch norm stays on running statistics in MC mode.
    let Net::Cnn(m) = &net else {
        panic!("built a CNN")
    };
    assert!(!m.features.bn1.is_training() && !m.features.bn3.is_training());
    net.set_training(false);
    assert_eq!(run(&net), a);
}

#[test]
fn predictions_csv_rows_round_trip() {
    use ecgrad_experiments::seed003::output::{append_rows, header};
    let s = prepare(
        Protocol::InterPatient,
        &synthetic(),
        Some(QuickCaps::quick()),
        2,
    )
    .unwrap();
    let part = s.test.subset(&[0, 1, 2]);
    let probs = [
        0.7, 0.1, 0.1, 0.1, //
        0.1, 0.2, 0.6, 0.1, //
        0.25, 0.25, 0.25, 0.25,
    ];
    let mut csv = header();
    csv.push('\n');
    append_rows(&mut csv, "inter", "cnn/ce", &part, &probs).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4);
    let cols: Vec<Vec<&str>> = lines.iter().map(|l| l.split(',').collect()).collect();
    assert!(cols.iter().all(|c| c.len() == 11), "{csv}");
    assert_eq!(cols[0][6..], ["p_N", "p_S", "p_V", "p_F", "p_Q"]);
    assert_eq!(
        (cols[1][5], cols[2][5], cols[3][5]),
        ("N", "V", "N"),
        "argmax, ties → first"
    );
    assert_eq!(cols[1][10], "", "no Q column inter-patient");
    assert_eq!(cols[2][2], part.record[1]);
    assert_eq!(cols[2][3], part.sample[1].to_string());
    assert!(append_rows(&mut csv, "inter", "x", &part, &probs[..8]).is_err());
}

#[test]
fn gan_augmentation_reaches_the_stated_ratio_from_training_beats() {
    use ecgrad_experiments::seed003::gan_aug::{augment, beats_to_generate};
    // ⌈0.15·1000⌉ = 150: S (20) gets 130, V (200) none, F (0, absent) none, N and Q never.
    assert_eq!(
        beats_to_generate(&[1000, 20, 200, 0, 7], 0.15),
        vec![0, 130, 0, 0, 0]
    );
    let s = prepare(
        Protocol::InterPatient,
        &synthetic(),
        Some(QuickCaps::quick()),
        4,
    )
    .unwrap();
    let before = s.train.data.class_counts();
    let cfg = GanConfig {
        steps: 3,
        batch: 8,
        ..GanConfig::quick(2.0)
    };
    let (aug, reports, examples) = augment(&s.train, &cfg, 4, 3).unwrap();
    let after = aug.data.class_counts();
    let target = (2.0 * before[0] as f64).ceil() as usize;
    assert_eq!(after[0], before[0]);
    for c in 1..4 {
        assert_eq!(
            after[c],
            target.max(before[c]),
            "class {c}: {before:?} → {after:?}"
        );
    }
    assert_eq!(reports.len(), 3);
    assert_eq!(examples[0].generated.len(), 3);
    // Generated beats are labelled, stored as record "gan", min–max normalised; the real
    // beats are untouched and come first.
    assert_eq!(
        aug.data.samples[..s.train.data.samples.len()],
        s.train.data.samples[..]
    );
    for i in s.train.len()..aug.len() {
        assert_eq!(aug.record[i], "gan");
        let w = aug.data.window(i);
        let hi = w.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert!((hi - 1.0).abs() < 1e-6 && w.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn resnet_and_cnn_expose_their_gradcam_layer() {
    use ecgrad_experiments::models::gradcam::grad_cam;
    let mut rng = ecgrad_experiments::models::autograd::engine::Rng::new(3);
    let x = Tensor::from_vec(
        Shape::d3(2, 1, BEAT_LEN),
        (0..2 * BEAT_LEN).map(|_| rng.uniform() as f32).collect(),
    )
    .unwrap();
    for kind in ModelKind::ALL {
        let mut net = Net::new(kind, 1, 4).unwrap();
        net.set_training(false);
        let cam = grad_cam(&net, &x, kind.gradcam_layer(), 1).unwrap();
        assert_eq!(cam.dims(), &[2, BEAT_LEN], "{kind:?}");
    }
}
