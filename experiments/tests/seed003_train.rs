//! Seed-003 training through the checkpoint cache: a quick model trains, is saved, and loads
//! back with identical predictions; scores carry bootstrap intervals.

use std::time::Instant;

use ecgrad_experiments::cli::{DataSource, Options};
use ecgrad_experiments::seed003::common::Config;
use ecgrad_experiments::seed003::evaluate::score;
use ecgrad_experiments::seed003::protocol::Protocol;
use ecgrad_experiments::seed003::run::{probabilities, train_or_load};
use ecgrad_experiments::seed003::spec::LossKind;
use ecgrad_experiments::seed003::zoo::ModelKind;

#[test]
fn quick_model_trains_caches_and_reloads_identically() {
    let dir = std::env::temp_dir().join(format!("ecgrad-seed003-train-{}", std::process::id()));
    let out = dir.join("table_03_models");
    let cfg = Config::defaults(true, 17, &out, &Options::default()).unwrap();
    assert_eq!(cfg.cache, dir.join("table_03_models").join("models"));
    let source = DataSource::Synthetic("test".into());
    let splits = cfg.splits(Protocol::InterPatient, &source).unwrap();
    for (model, loss) in [
        (ModelKind::Cnn, LossKind::WeightedCe),
        (ModelKind::ResNet1d, LossKind::Ce),
    ] {
        let spec = cfg.spec(&splits, model, loss, false);
        let t0 = Instant::now();
        let mut a = train_or_load(&spec, &splits, &cfg.cache, true).unwrap();
        println!(
            "{}: trained in {:.1} s",
            spec.label(),
            t0.elapsed().as_secs_f64()
        );
        assert!(!a.from_cache);
        let mut b = train_or_load(&spec, &splits, &cfg.cache, true).unwrap();
        assert!(b.from_cache, "second call loads the checkpoint");
        let pa = probabilities(&mut a.net, &splits.test).unwrap();
        let pb = probabilities(&mut b.net, &splits.test).unwrap();
        assert_eq!(pa.data(), pb.data(), "identical predictions after reload");
        let hist = &b.sidecar["history"]["epochs"];
        assert_eq!(hist.as_array().map(Vec::len), Some(cfg.hyper.epochs));
        let k = splits.test.data.class_names.len();
        let groups = splits.test.data.groups.clone();
        let s = score(
            pa.data(),
            k,
            &splits.test.data.class_names,
            &splits.test.data.labels,
            Some(&groups),
            200,
            1,
        )
        .unwrap();
        assert_eq!(s.resampled, "patients");
        assert!(s.accuracy.low <= s.accuracy.estimate && s.accuracy.estimate <= s.accuracy.high);
        assert_eq!(s.per_class.len(), k);
        let n: u64 = s.confusion.iter().flatten().sum();
        assert_eq!(n as usize, splits.test.len());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn set_options_reach_the_config_and_unknown_keys_are_refused() {
    let out = std::env::temp_dir().join("ecgrad-seed003-options/table_03_models");
    let o = Options::from_pairs(&[
        ("epochs", "7"),
        ("models", "cnn, resnet1d"),
        ("ablation_models", "none"),
        ("protocols", "inter"),
        ("cache", "/tmp/somewhere"),
    ]);
    let cfg = Config::defaults(false, 1, &out, &o).unwrap();
    assert_eq!(cfg.hyper.epochs, 7);
    assert_eq!(cfg.models, [ModelKind::Cnn, ModelKind::ResNet1d]);
    assert!(cfg.ablation_models.is_empty());
    assert_eq!(cfg.protocols, [Protocol::InterPatient]);
    assert_eq!(cfg.cache, std::path::PathBuf::from("/tmp/somewhere"));
    // Full defaults: ablations on the CNN only, cosine-annealed rate.
    let full = Config::defaults(false, 1, &out, &Options::default()).unwrap();
    assert_eq!(full.ablation_models, [ModelKind::Cnn]);
    assert!(full.hyper.cosine_floor.is_some());
    let bad = Config::defaults(
        false,
        1,
        &out,
        &Options::from_pairs(&[("models", "cnn,lstm")]),
    );
    assert!(format!("{:#}", bad.unwrap_err()).contains("lstm"));
    let exp = ecgrad_experiments::exp::find("table_03_models").unwrap();
    let e = exp
        .check_options(&Options::from_pairs(&[("epoch", "7")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown option `epoch`"), "{e}");
    let demo = ecgrad_experiments::exp::find("demo_engine").unwrap();
    assert!(
        demo.check_options(&Options::from_pairs(&[("epochs", "7")]))
            .is_err()
    );
}
