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
