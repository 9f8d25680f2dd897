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
    let (Some(nst), Some(mit)) = (data("nstdb"), data("mitdb")) else { return };
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
                let d: Vec<f64> = y.iter().zip(&x).map(|(&a, &b)| a as f64 - b as f64).collect();
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
                    let off = (0..108_000).map(|i| (y[i] - x[i] + 5.12).abs()).fold(0.0f32, f32::max);
                    assert!(off < 1e-4, "{name} ch{ch}: clean part differs by {off}");
                    let (_, pr) = nstdb::mix(&x, &n, target, &SnrDefinition::PowerRatio).expect("mix");
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
