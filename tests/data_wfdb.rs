//! Real-data checks of the WFDB reader against the facts in `shared/data/README.md`.
//!
//! Every test locates the data with `wfdb::locate_data()` (`$ECGRAD_DATA` or `../shared/data`)
//! and returns early, printing why, when it is absent.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use ecgrad_experiments::data::wfdb;
use rayon::prelude::*;

fn data(sub: &str) -> Option<PathBuf> {
    match wfdb::locate_data() {
        Some(d) if d.join(sub).is_dir() => Some(d.join(sub)),
        _ => {
            println!(
                "SKIP: real data folder `{sub}` not found (set ECGRAD_DATA or provide ../shared/data)"
            );
            None
        }
    }
}

fn records(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("RECORDS"))
        .expect("RECORDS readable")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn mitdb_every_record_decodes_with_checksums() {
    let Some(dir) = data("mitdb") else { return };
    let recs = records(&dir);
    assert_eq!(recs.len(), 48);
    recs.par_iter().for_each(|r| {
        // read_record verifies INITVAL and CHECKSUM of both signals.
        let rec = wfdb::read_record(&dir, r).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rec.physical.dim(), (2, 650_000), "record {r}");
        assert_eq!(rec.fs(), 360.0, "record {r}");
    });
    let r114 = wfdb::read_record(&dir, "114").expect("114");
    assert_eq!(
        r114.signal_index("MLII"),
        Some(1),
        "114 has its signals swapped"
    );
}

#[test]
fn mitdb_annotation_counts() {
    let Some(dir) = data("mitdb") else { return };
    let counts: Vec<(String, usize, usize, BTreeMap<&'static str, usize>)> = records(&dir)
        .par_iter()
        .map(|r| {
            let a = wfdb::read_annotations(&dir, r, "atr").unwrap_or_else(|e| panic!("{e}"));
            let mut sym = BTreeMap::new();
            for x in a.iter().filter(|x| x.is_beat()) {
                *sym.entry(x.symbol()).or_insert(0) += 1;
            }
            let beats = a.iter().filter(|x| x.is_beat()).count();
            (r.clone(), a.len(), beats, sym)
        })
        .collect();
    let r100 = &counts[0];
    assert_eq!((r100.0.as_str(), r100.1, r100.2), ("100", 2274, 2273));
    let total: usize = counts.iter().map(|c| c.1).sum();
    let beats: usize = counts.iter().map(|c| c.2).sum();
    assert_eq!((total, beats), (112_647, 109_494));
    let mut sym = BTreeMap::new();
    for c in &counts {
        for (k, v) in &c.3 {
            *sym.entry(*k).or_insert(0) += v;
        }
    }
    let expect = [
        ("N", 75052),
        ("L", 8075),
        ("R", 7259),
        ("V", 7130),
        ("/", 7028),
        ("A", 2546),
        ("f", 982),
        ("F", 803),
        ("j", 229),
        ("a", 150),
        ("E", 106),
        ("J", 83),
        ("Q", 33),
        ("e", 16),
        ("S", 2),
    ];
    for (k, v) in expect {
        assert_eq!(sym.get(k).copied(), Some(v), "symbol {k}");
    }
    assert_eq!(sym.len(), expect.len(), "{sym:?}");
    // Rhythm labels live in AUX strings.
    let a = wfdb::read_annotations(&dir, "201", "atr").expect("201");
    assert!(a.iter().any(|x| x.aux.as_deref() == Some("(AFIB")));
}

/// Least-squares gain of `noise` inside `d`, with a free offset per segment: Σcov / Σvar.
fn fitted_gain(d: &[f64], noise: &[f32], segments: &[(usize, usize)]) -> f64 {
    let (mut cov, mut var) = (0.0, 0.0);
    for &(a, b) in segments {
        let n = (b - a) as f64;
        let md = d[a..b].iter().sum::<f64>() / n;
        let mn = noise[a..b].iter().map(|&v| v as f64).sum::<f64>() / n;
        for i in a..b {
            cov += (d[i] - md) * (noise[i] as f64 - mn);
            var += (noise[i] as f64 - mn).powi(2);
        }
    }
    cov / var
}

#[test]
fn nstdb_test_records_match_nst_calibration() {
    use ecgrad_experiments::data::nstdb::{self, NoiseKind, SnrDefinition};
    let (Some(nst), Some(mit)) = (data("nstdb"), data("mitdb")) else {
        return;
    };
    let em = nstdb::load_noise(&nst, NoiseKind::Em).expect("em");
    assert_eq!(em.physical.dim(), (2, 650_000));
    let fs = 360.0;
    // Noisy segments: from 5:00, 2 min on / 2 min off.
    let segs: Vec<(usize, usize)> = (0..)
        .map(|k| (108_000 + k * 86_400, 108_000 + k * 86_400 + 43_200))
        .take_while(|s| s.0 < 650_000)
        .map(|(a, b)| (a, b.min(650_000)))
        .collect();
    let mut worst: f64 = 0.0;
    for base in ["118", "119"] {
        let clean = wfdb::read_record(&mit, base).expect("clean");
        let ann = wfdb::read_annotations(&mit, base, "atr").expect("atr");
        let qrs: Vec<usize> = ann
            .iter()
            .filter(|a| nstdb::nst_is_normal(a.symbol()))
            .map(|a| a.sample as usize)
            .collect();
        for snr in ["24", "18", "12", "06", "00", "_6"] {
            let name = format!("{base}e{snr}");
            let target: f64 = snr.replace('_', "-").parse().expect("number");
            let noisy = wfdb::read_record(&nst, &name).unwrap_or_else(|e| panic!("{e}"));
            for ch in 0..2 {
                let x = clean.physical.row(ch).to_vec();
                let y = noisy.physical.row(ch);
                let d: Vec<f64> = y
                    .iter()
                    .zip(&x)
                    .map(|(&a, &b)| a as f64 - b as f64)
                    .collect();
                let n = em.physical.row(ch).to_vec();
                let theirs = fitted_gain(&d, &n, &segs);
                let def = SnrDefinition::Nst { qrs: &qrs, fs };
                let (_, rep) = nstdb::mix(&x, &n, target, &def).expect("mix");
                let diff_db = 20.0 * (theirs / rep.gain).log10();
                // The SNR the record really has under the nst definition.
                let real = 10.0 * (rep.signal_power / (theirs * theirs * rep.noise_power)).log10();
                println!(
                    "{name} ch{ch}: fitted gain {theirs:.5}, our nst gain {:.5}, diff {diff_db:+.3} dB, nst SNR {real:.2} dB (target {target})",
                    rep.gain
                );
                worst = worst.max(diff_db.abs());
                if snr == "24" {
                    // First 5 minutes: exactly the clean record minus 1024 adu = 5.12 mV.
                    let off = (0..108_000)
                        .map(|i| (y[i] - x[i] + 5.12).abs())
                        .fold(0.0f32, f32::max);
                    assert!(off < 1e-4, "{name} ch{ch}: clean part differs by {off}");
                    let (_, pr) =
                        nstdb::mix(&x, &n, target, &SnrDefinition::PowerRatio).expect("mix");
                    println!(
                        "{name} ch{ch}: power-ratio gain for {target} dB is {:.5}: nst adds {:+.2} dB more noise",
                        pr.gain,
                        20.0 * (rep.gain / pr.gain).log10()
                    );
                }
            }
        }
    }
    println!("worst |diff| = {worst:.3} dB");
    assert!(worst < 0.5, "nst calibration off by {worst} dB");
}

#[test]
fn ludb_records_waves_and_metadata() {
    use ecgrad_experiments::data::ludb::{self, WaveKind};
    let Some(dir) = data("ludb") else { return };
    assert_eq!(records(&dir).len(), 200);
    let recs: Vec<ludb::LudbRecord> = (1..=200u32)
        .into_par_iter()
        .map(|id| ludb::read_record(&dir, id).unwrap_or_else(|e| panic!("{e:#}")))
        .collect();
    let (mut qrs, mut t, mut p, mut onsets, mut offsets) = (0, 0, 0, 0, 0);
    for r in &recs {
        assert_eq!(r.record.physical.dim(), (12, 5000), "record {}", r.id);
        assert_eq!(r.record.fs(), 500.0);
        assert!(
            r.sex.is_some() && r.age.is_some() && !r.diagnoses.is_empty(),
            "record {}",
            r.id
        );
        for &(a, b) in &r.stray_markers {
            onsets += a;
            offsets += b;
        }
        for w in r.waves.iter().flatten() {
            match w.kind {
                WaveKind::Qrs => qrs += 1,
                WaveKind::T => t += 1,
                WaveKind::P => p += 1,
            }
            onsets += usize::from(w.onset.is_some());
            offsets += usize::from(w.offset.is_some());
            if let (Some(a), Some(b)) = (w.onset, w.offset) {
                assert!(a <= w.peak && w.peak <= b, "record {} {w:?}", r.id);
            }
        }
    }
    assert_eq!((qrs, t, p), (21_965, 19_661, 16_797));
    // README: 58 423 `)` and 58 321 `(` markers; every marker is either used or counted stray.
    assert_eq!((onsets, offsets), (58_321, 58_423));
    let strays: (usize, usize) = recs
        .iter()
        .flat_map(|r| r.stray_markers.iter())
        .fold((0, 0), |s, m| (s.0 + m.0, s.1 + m.1));
    println!("LUDB stray markers (onset, offset): {strays:?}");
    // Record 1, lead ii: ( 644 N 662 ) 682, ( 776 t 843 ) 878, ( 1250 p 1278 ) 1302.
    let ii = &recs[0].waves[1];
    let got: Vec<(WaveKind, Option<usize>, usize, Option<usize>)> = ii[..3]
        .iter()
        .map(|w| (w.kind, w.onset, w.peak, w.offset))
        .collect();
    assert_eq!(
        got,
        vec![
            (WaveKind::Qrs, Some(644), 662, Some(682)),
            (WaveKind::T, Some(776), 843, Some(878)),
            (WaveKind::P, Some(1250), 1278, Some(1302)),
        ]
    );
    assert_eq!(recs[0].diagnoses[0], "Rhythm: Sinus bradycardia");
    let (head, rows) = ludb::read_csv(&dir).expect("ludb.csv");
    assert_eq!((head.len(), rows.len()), (12, 200));
    assert_eq!(
        (
            rows[0][0].as_str(),
            rows[0][1].as_str(),
            rows[0][2].as_str()
        ),
        ("1", "F", "51")
    );
    // Crops: 4 s V6 windows (2 per 10 s record at a 4 s stride) and ±0.5 s cycles.
    let w = ludb::lead_windows(&recs[0], "v6", 2000, 2000).expect("windows");
    assert_eq!(w.dim(), (2, 2000));
    let (c, peaks) = ludb::cycle_crops(&recs[0], "v6", 250).expect("crops");
    assert_eq!(c.ncols(), 500);
    assert!(
        c.nrows() >= 5 && c.nrows() == peaks.len(),
        "{} crops",
        c.nrows()
    );
    assert_eq!(c[[0, 250]], recs[0].record.physical[[11, peaks[0]]]);
}

#[test]
fn mitbih_beat_dataset_and_splits() {
    use ecgrad_experiments::data::mitbih::{self, BeatConfig};
    use ecgrad_experiments::data::windows::SplitInfo;
    let Some(dir) = data("mitdb") else { return };
    let cfg = BeatConfig {
        rr_features: true,
        ..BeatConfig::default()
    };
    let ds = mitbih::load_beats(&dir, &cfg).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(ds.x.ncols(), 187);
    // Independent count from the annotations: AAMI N/S/V/F beats of the 44 non-paced records.
    let mut want = [0usize; 5];
    for r in mitbih::RECORDS
        .iter()
        .filter(|r| !mitbih::PACED.contains(r))
    {
        for a in wfdb::read_annotations(&dir, r, "atr").expect("atr") {
            if let Some(c) = mitbih::aami_class(a.symbol()) {
                want[c as usize] += 1;
            }
        }
    }
    let got = ds.class_counts();
    println!(
        "AAMI counts (44 records): annotations {want:?}, windows {got:?}, dropped at edges {}",
        ds.dropped_at_edges
    );
    assert_eq!(got[4], 0, "Q dropped by default");
    assert_eq!(
        got[..4].iter().sum::<usize>() + ds.dropped_at_edges,
        want[..4].iter().sum::<usize>()
    );
    assert!(
        ds.dropped_at_edges <= 2 * 44,
        "at most the first and last beat of a record"
    );
    assert!(ds.x.iter().all(|v| v.is_finite()));
    let rr = ds.rr.as_ref().expect("rr requested");
    let (lo, hi) = rr
        .iter()
        .fold((f32::MAX, 0.0f32), |(a, b), &v| (a.min(v), b.max(v)));
    println!("RR features range {lo} .. {hi} s");
    // Gaps without beat labels (e.g. ventricular flutter in 207) give RRs of up to ~100 s.
    assert!(lo > 0.1 && hi < 200.0);
    let (tr, te) = mitbih::inter_patient(&ds);
    assert_eq!(tr.len() + te.len(), ds.len());
    assert!(tr.record.iter().all(|r| mitbih::DS1.contains(&r.as_str())));
    assert!(matches!(
        te.split,
        SplitInfo::InterPatient { test: true, .. }
    ));
    println!("DS1 {:?}  DS2 {:?}", tr.class_counts(), te.class_counts());
    let (a, b) = mitbih::intra_patient(&ds, 0.2, 1);
    assert_eq!(a.len() + b.len(), ds.len());
    assert!(matches!(
        b.split,
        SplitInfo::IntraPatient {
            seed: 1,
            test: true,
            ..
        }
    ));
}
