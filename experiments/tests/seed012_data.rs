//! Real-data checks of the seed 000–002 data preparation (skipped with a message when
//! ../shared/data is absent): inter-patient beats, LUDB beats with diagnoses, the ECG strip and
//! the hand-set QRS kernel on it.

use std::path::PathBuf;

use ecgrad_experiments::cli::DataSource;
use ecgrad_experiments::seed012::basics::{detect_peaks, match_peaks, qrs_kernel, slide};
use ecgrad_experiments::seed012::data::{BeatCaps, ecg_strip, load_beat_split};
use ecgrad_experiments::seed012::transfer::load_ludb_beats;

fn real() -> Option<DataSource> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if dir.join("mitdb").is_dir() && dir.join("ludb").is_dir() {
        Some(DataSource::Real(dir))
    } else {
        eprintln!("skipped: {} has no mitdb/ludb", dir.display());
        None
    }
}

#[test]
fn quick_beats_are_inter_patient_capped_and_beat_sized() {
    let Some(src) = real() else { return };
    let caps = BeatCaps {
        train_per_class: 50,
        test_per_class: 30,
    };
    let s = load_beat_split(&src, caps, true, 1).unwrap();
    assert!(!s.synthetic);
    assert_eq!(s.train.length, 187);
    assert_eq!(s.train.class_names, ["N", "S", "V", "F"]);
    for (d, cap) in [(&s.train, 50), (&s.test, 30)] {
        let mut c = vec![0; 4];
        d.labels.iter().for_each(|&y| c[y] += 1);
        assert!(c.iter().all(|&k| k <= cap), "{c:?}");
        assert!(c[0] == cap && c[2] == cap, "N and V fill their caps: {c:?}");
    }
    // Different patients: no training beat equals a test beat.
    let a = s.train.window(0);
    assert!((0..s.test.len()).all(|i| s.test.window(i) != a));
    // Validation: whole records held out of the quick DS1 list (never DS2), capped like test,
    // and no validation beat is a training beat.
    let ds1 = ["101", "106", "108", "109", "118", "207"];
    assert!(!s.val_records.is_empty() && s.val_records.len() < ds1.len());
    assert!(
        s.val_records.iter().all(|r| ds1.contains(&r.as_str())),
        "{:?}",
        s.val_records
    );
    assert!(!s.val.is_empty() && s.val.labels.iter().all(|&y| y < 4));
    let v = s.val.window(0);
    assert!((0..s.train.len()).all(|i| s.train.window(i) != v));
    assert_eq!(s.inputs.len(), 36, "hea, dat, atr of 12 records");
}

#[test]
fn ludb_quick_has_both_labels_and_metadata() {
    let Some(src) = real() else { return };
    let l = load_ludb_beats(&src, true, 1).unwrap();
    assert!(l.records.len() >= 55, "{}", l.records.len());
    let pos = l.records.iter().filter(|r| r.label == 1).count();
    assert!(pos > 5 && pos < l.records.len() - 5, "{pos}");
    assert!(l.records.iter().all(|r| r.sex == "M" || r.sex == "F"));
    assert_eq!(l.beats.length, 187);
    // About 10 beats per 10-s record.
    let per = l.beats.len() as f64 / l.records.len() as f64;
    assert!((5.0..25.0).contains(&per), "{per}");
}

#[test]
fn hand_set_qrs_kernel_finds_the_beats_of_record_100() {
    let Some(src) = real() else { return };
    let s = ecg_strip(&src, "100", 10.0, 1).unwrap();
    assert_eq!(s.x.len(), 3600);
    assert!(s.r_peaks.len() >= 10);
    let y = slide(&s.x, &qrs_kernel(s.fs, 0.015).unwrap()).unwrap();
    let peaks = detect_peaks(&y, 0.3, 90);
    let (tp, fp, fn_) = match_peaks(&peaks, &s.r_peaks, 18);
    assert!(fn_ == 0 && fp <= 1, "TP {tp} FP {fp} FN {fn_}");
}
