//! Pan–Tompkins on all 48 MIT-BIH Arrhythmia records, scored beat by beat against the reference
//! `.atr` beat annotations within ±150 ms (gross Se and PPV over the database). Skips with a
//! printed reason when ../shared/data (or $ECGRAD_DATA) is absent.

use ecgrad_experiments::data::signal::{DetectionScore, pan_tompkins, score_detections};
use ecgrad_experiments::data::wfdb::{locate_data, read_annotations, read_record};

#[test]
fn pan_tompkins_on_all_48_mitdb_records() {
    let Some(data) = locate_data() else {
        println!("skipping: no PhysioNet data (../shared/data or $ECGRAD_DATA)");
        return;
    };
    let dir = data.join("mitdb");
    let Ok(list) = std::fs::read_to_string(dir.join("RECORDS")) else {
        println!("skipping: {} has no RECORDS file", dir.display());
        return;
    };
    let records: Vec<&str> = list.split_whitespace().collect();
    assert_eq!(records.len(), 48);
    let mut total = DetectionScore::default();
    let mut worst = (String::new(), 1.0f64);
    for name in &records {
        let record = read_record(&dir, name).expect("readable record");
        let fs = record.fs();
        // MLII where present (records 102 and 104 have none: use their first lead, V5).
        let lead = record.signal_index("MLII").unwrap_or(0);
        let x: Vec<f64> = record
            .physical
            .row(lead)
            .iter()
            .map(|&v| v as f64)
            .collect();
        let reference: Vec<usize> = read_annotations(&dir, name, "atr")
            .expect("readable annotations")
            .iter()
            .filter(|a| a.is_beat())
            .map(|a| a.sample as usize)
            .collect();
        let detected = pan_tompkins(&x, fs).expect("valid signal");
        let score = score_detections(&detected, &reference, (0.150 * fs).round() as usize);
        println!(
            "{name}: lead {} beats {} detected {} TP {} FP {} FN {} Se {:.4} PPV {:.4}",
            record.header.signals[lead].description,
            reference.len(),
            detected.len(),
            score.tp,
            score.fp,
            score.fn_,
            score.sensitivity(),
            score.ppv()
        );
        let f = score.sensitivity().min(score.ppv());
        if f < worst.1 {
            worst = (name.to_string(), f);
        }
        total.add(score);
    }
    println!(
        "ALL 48: beats {} TP {} FP {} FN {} Se {:.4} PPV {:.4} (worst record {} at {:.4})",
        total.tp + total.fn_,
        total.tp,
        total.fp,
        total.fn_,
        total.sensitivity(),
        total.ppv(),
        worst.0,
        worst.1
    );
    assert_eq!(total.tp + total.fn_, 109_494, "all reference beats counted");
    // Published Pan–Tompkins figures on mitdb are Se ≈ PPV ≈ 99.3–99.8 %; ours must be close.
    assert!(
        total.sensitivity() > 0.99 && total.ppv() > 0.99,
        "{total:?}"
    );
}
