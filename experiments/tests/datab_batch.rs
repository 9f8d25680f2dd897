//! Mini-batch iterator and dataset cache (data-b).

use ecgrad_experiments::data::batch::*;
use std::collections::HashSet;

fn toy(n: usize, channels: usize, length: usize, labels: Vec<usize>) -> WindowDataset {
    // Window i holds the value i + 0.001·(channel·length + t), so contents identify the window.
    let samples = (0..n)
        .flat_map(|i| (0..channels * length).map(move |j| i as f32 + 0.001 * j as f32))
        .collect();
    WindowDataset {
        samples,
        groups: (0..n).map(|i| i / 3).collect(),
        labels,
        channels,
        length,
        class_names: vec!["N".into(), "S".into(), "V".into()],
        source: "toy".into(),
    }
}

fn options(batch_size: usize, shuffle: bool, balanced: bool, drop_last: bool) -> BatchOptions {
    BatchOptions {
        batch_size,
        shuffle,
        balanced,
        drop_last,
    }
}

#[test]
fn batches_are_ncl_tensors_with_matching_labels_and_cover_the_epoch_once() {
    let n = 23;
    let d = toy(n, 2, 5, (0..n).map(|i| i % 3).collect());
    let it = BatchIter::new(&d, options(4, true, false, false), 7, 0).expect("valid");
    assert_eq!(it.n_batches(), 6);
    let mut seen = Vec::new();
    for (k, b) in it.enumerate() {
        let size = if k < 5 { 4 } else { 3 };
        assert_eq!(b.x.dims(), &[size, 2, 5]);
        for (row, &i) in b.indices.iter().enumerate() {
            assert_eq!(b.y[row], d.labels[i]);
            assert_eq!(&b.x.data()[row * 10..(row + 1) * 10], d.window(i));
        }
        seen.extend(b.indices);
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..n).collect::<Vec<_>>(),
        "each window exactly once"
    );
    assert_ne!(seen, (0..n).collect::<Vec<_>>(), "shuffled");
    // Same seed and epoch ⇒ same order; another epoch ⇒ another order; no shuffle ⇒ identity.
    let order = |seed, epoch, shuffle| {
        BatchIter::new(&d, options(4, shuffle, false, true), seed, epoch)
            .expect("valid")
            .flat_map(|b| b.indices)
            .collect::<Vec<_>>()
    };
    assert_eq!(order(7, 0, true), order(7, 0, true));
    assert_ne!(order(7, 0, true), order(7, 1, true));
    assert_eq!(
        order(7, 0, false),
        (0..20).collect::<Vec<_>>(),
        "drop_last drops the 3 leftovers"
    );
}

#[test]
fn balanced_sampling_equalises_classes() {
    // 90 % class 0, 8 % class 1, 2 % class 2.
    let n = 1000;
    let labels: Vec<usize> = (0..n)
        .map(|i| {
            if i < 900 {
                0
            } else if i < 980 {
                1
            } else {
                2
            }
        })
        .collect();
    let d = toy(n, 1, 3, labels);
    let mut counts = [0usize; 3];
    let mut distinct_minority = HashSet::new();
    for epoch in 0..10 {
        for b in BatchIter::new(&d, options(64, true, true, false), 3, epoch).expect("valid") {
            for (&y, &i) in b.y.iter().zip(&b.indices) {
                counts[y] += 1;
                if y == 2 {
                    distinct_minority.insert(i);
                }
            }
        }
    }
    let total: usize = counts.iter().sum();
    assert_eq!(total, 10 * n);
    for c in counts {
        let share = c as f64 / total as f64;
        assert!((share - 1.0 / 3.0).abs() < 0.02, "{counts:?}");
    }
    assert_eq!(
        distinct_minority.len(),
        20,
        "all minority windows get drawn"
    );
}

#[test]
fn invalid_inputs_are_rejected() {
    let d = toy(4, 1, 3, vec![0, 1, 2, 0]);
    assert!(BatchIter::new(&d, options(0, true, false, false), 0, 0).is_err());
    let mut broken = d.clone();
    broken.labels[1] = 7;
    assert!(BatchIter::new(&broken, options(2, true, false, false), 0, 0).is_err());
    let mut broken = d.clone();
    broken.samples.pop();
    assert!(broken.validate().is_err());
}

#[test]
fn cache_round_trips_rebuilds_on_key_change_and_names_corruption() {
    let dir = std::env::temp_dir().join(format!("datab_cache_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = toy(10, 2, 7, (0..10).map(|i| i % 3).collect());
    let mut builds = 0;
    let (a, hit) = cached(&dir, "mitdb lead0 360Hz [-90,162)", || {
        builds += 1;
        Ok(d.clone())
    })
    .expect("build");
    assert!(!hit);
    let (b, hit) = cached(&dir, "mitdb lead0 360Hz [-90,162)", || {
        builds += 1;
        Ok(d.clone())
    })
    .expect("load");
    assert!(hit && builds == 1);
    assert_eq!(a, b);
    assert_eq!(b, d, "bit-identical round trip");
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("dataset-") && names[0].ends_with(".bin"));
    // A different key is a different file; a same-file key mismatch returns None.
    let path = cache_path(&dir, "mitdb lead0 360Hz [-90,162)");
    assert!(
        load_cache(&path, "another key")
            .expect("readable")
            .is_none()
    );
    // Truncation is reported with the path and a byte offset.
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() - 5]).expect("write");
    let e = load_cache(&path, "mitdb lead0 360Hz [-90,162)")
        .expect_err("truncated")
        .to_string();
    assert!(e.contains("byte") && e.contains("dataset-"), "{e}");
    std::fs::write(&path, b"garbage!garbage!").expect("write");
    let e = load_cache(&path, "k").expect_err("bad magic").to_string();
    assert!(e.contains("bad magic"), "{e}");
    // An absurd count does not allocate: the header claims 2^60 windows.
    let mut evil = bytes.clone();
    let key_len = 8 + 8 + "mitdb lead0 360Hz [-90,162)".len();
    let n_at = key_len + 8 + "toy".len() + 16;
    evil[n_at..n_at + 8].copy_from_slice(&(1u64 << 60).to_le_bytes());
    std::fs::write(&path, &evil).expect("write");
    let e = load_cache(&path, "mitdb lead0 360Hz [-90,162)")
        .expect_err("absurd")
        .to_string();
    assert!(e.contains("exceeds the file size"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn real_mitdb_beats_become_batches_and_are_cached() {
    use ecgrad_experiments::data::mitbih::{BeatConfig, load_beats};
    use ecgrad_experiments::data::wfdb::locate_data;
    let Some(data) = locate_data() else {
        println!("skipping: no PhysioNet data (../shared/data or $ECGRAD_DATA)");
        return;
    };
    let cfg = BeatConfig {
        records: vec!["100".into(), "119".into()],
        ..BeatConfig::default()
    };
    let key = format!("{cfg:?}");
    let dir = std::env::temp_dir().join(format!("datab_cache_real_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let build = || -> anyhow::Result<WindowDataset> {
        Ok(WindowDataset::from(&load_beats(&data.join("mitdb"), &cfg)?))
    };
    let (first, hit) = cached(&dir, &key, build).expect("build");
    assert!(!hit);
    let (second, hit) = cached(&dir, &key, build).expect("load");
    assert!(hit, "second run reads the cache");
    assert_eq!(first, second);
    // Record 100: 2 273 beats (all N/S/V/F/Q-mappable), record 119: 1 987; 62 + 125 samples.
    assert_eq!(first.length, 187);
    assert_eq!(
        first.groups.iter().filter(|&&g| g == 0).count()
            + first.groups.iter().filter(|&&g| g == 1).count(),
        first.len()
    );
    let counts = first.class_counts();
    println!(
        "records 100+119: {} beats, classes {:?} = {counts:?}",
        first.len(),
        first.class_names
    );
    assert!(counts[2] > 400, "119 has ~444 V beats: {counts:?}");
    let balanced = BatchIter::new(&first, options(128, true, true, true), 1, 0).expect("valid");
    let mut seen = [0usize; 5];
    for b in balanced {
        assert_eq!(b.x.dims(), &[128, 1, 187]);
        for y in b.y {
            seen[y] += 1;
        }
    }
    let present: Vec<usize> = seen.iter().copied().filter(|&c| c > 0).collect();
    let (lo, hi) = (
        *present.iter().min().expect("some"),
        *present.iter().max().expect("some"),
    );
    assert!(hi < 2 * lo, "balanced draws per present class: {seen:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
