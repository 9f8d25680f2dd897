//! Tests of the synthetic generator: wave positions against the model's θ table, RR statistics,
//! beat-class morphology, multi-lead laws, datasets, determinism and validation.

use super::*;
use ndarray::ArrayView1;

fn record(fs: f64, n_beats: usize, hr: f64, classes: Vec<BeatClass>, seed: u64) -> SyntheticRecord {
    generate(&SynthConfig {
        fs,
        n_beats,
        rr: RrParams {
            hr_mean: hr,
            ..RrParams::default()
        },
        classes,
        seed,
        ..SynthConfig::default()
    })
    .expect("valid config")
}

/// Position of the max (or min) of `s` within ±`half` samples of `centre`.
fn extremum(s: ArrayView1<f32>, centre: f64, half: usize, max: bool) -> usize {
    let c = centre.round() as usize;
    let range = c.saturating_sub(half)..(c + half + 1).min(s.len());
    let key = |i: &usize| if max { s[*i] } else { -s[*i] };
    range
        .max_by(|a, b| key(a).total_cmp(&key(b)))
        .expect("invariant: non-empty")
}

#[test]
fn normal_beats_put_p_qrs_t_peaks_at_the_model_angles() {
    // P, R, T are local maxima and Q, S local minima of the trace, each close to where θ
    // crosses its θᵢ; and each crossing sits θᵢ/ω after the R crossing, ω = 2π/RR.
    for (fs, hr) in [(500.0, 60.0), (360.0, 80.0)] {
        let r = record(fs, 12, hr, Vec::new(), 1);
        let s = r.signals.row(0);
        let table = WaveTable::paper().scaled_for_heart_rate(hr);
        let ms = |x: f64| (x * fs / 1000.0).round() as usize;
        // (kind, is a maximum, search half-window, tolerance) — wide waves get wider windows.
        let checks = [
            (WaveKind::P, true, ms(60.0), ms(12.0)),
            (WaveKind::Q, false, ms(20.0), ms(6.0)),
            (WaveKind::R, true, ms(20.0), ms(4.0)),
            (WaveKind::S, false, ms(20.0), ms(6.0)),
            (WaveKind::T, true, ms(100.0), ms(20.0)),
        ];
        for beat in &r.beats[1..11] {
            let rr = beat.rr.expect("not the first beat");
            let r_pos = beat.waves[WaveKind::R as usize].expect("R always present");
            let mut previous = 0usize;
            for (kind, is_max, half, tol) in checks {
                let pos = beat.waves[kind as usize].expect("normal beats have all five waves");
                let found = extremum(s, pos, half, is_max);
                assert!(
                    (found as f64 - pos).abs() <= tol as f64,
                    "fs {fs} hr {hr} beat at {}: {kind:?} extremum at {found}, θ crossing at {pos:.1}",
                    beat.r_sample
                );
                // Strictly inside the window: a genuine local extremum, not a slope.
                assert!((found as f64 - pos).abs() < half as f64);
                assert!(found > previous, "{kind:?} out of order");
                previous = found;
                let expected_s = table.wave(kind).theta / (2.0 * std::f64::consts::PI) * rr;
                let got_s = (pos - r_pos) / fs;
                assert!(
                    (got_s - expected_s).abs() < 0.01 * rr,
                    "{kind:?}: {got_s:.3} s from R, model {expected_s:.3} s"
                );
            }
            // Polarities relative to the isoelectric level (≈ 0 mV after the median shift).
            let at = |k: WaveKind| {
                s[extremum(
                    s,
                    beat.waves[k as usize].expect("present"),
                    3,
                    matches!(k, WaveKind::P | WaveKind::R | WaveKind::T),
                )]
            };
            assert!(
                at(WaveKind::R) > 0.7 && at(WaveKind::P) > 0.05 && at(WaveKind::T) > 0.1,
                "R {} P {} T {}",
                at(WaveKind::R),
                at(WaveKind::P),
                at(WaveKind::T)
            );
            assert!(at(WaveKind::Q) < 0.0 && at(WaveKind::S) < -0.1);
        }
    }
}

#[test]
fn rr_intervals_match_the_heart_rate() {
    for (hr, hr_std) in [(60.0, 1.0), (75.0, 3.0), (110.0, 2.0)] {
        let r = generate(&SynthConfig {
            fs: 360.0,
            n_beats: 400,
            rr: RrParams {
                hr_mean: hr,
                hr_std,
                ..RrParams::default()
            },
            seed: 2,
            ..SynthConfig::default()
        })
        .expect("valid");
        let rr: Vec<f64> = r.beats.iter().filter_map(|b| b.rr).collect();
        let mean = rr.iter().sum::<f64>() / rr.len() as f64;
        let std = (rr.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / rr.len() as f64).sqrt();
        let (want_mean, want_std) = (60.0 / hr, 60.0 * hr_std / (hr * hr));
        assert!(
            (mean - want_mean).abs() < 0.01 * want_mean,
            "hr {hr}: mean RR {mean} vs {want_mean}"
        );
        // RR quantised to 1/360 s adds ≈ 0.8 ms of noise; the process is random: ±35 %.
        assert!(
            (std - want_std).abs() < 0.35 * want_std + 0.002,
            "hr {hr}: RR std {std} vs {want_std}"
        );
        assert!(r.signals.ncols() as f64 / 360.0 > rr.iter().sum::<f64>());
    }
}

/// Full width at half maximum (samples) of the positive lobe containing the R sample.
fn r_lobe_width(s: ArrayView1<f32>, r: usize) -> usize {
    let peak = extremum(s, r as f64, 5, true);
    let half = s[peak] / 2.0;
    let mut lo = peak;
    while lo > 0 && s[lo - 1] > half {
        lo -= 1;
    }
    let mut hi = peak;
    while hi + 1 < s.len() && s[hi + 1] > half {
        hi += 1;
    }
    hi - lo + 1
}

#[test]
fn beat_classes_differ_as_intended() {
    use BeatClass::*;
    let classes = vec![N, N, N, V, N, N, S, N, N, F, N, N, Q, N, N];
    let fs = 500.0;
    let r = record(fs, classes.len(), 70.0, classes.clone(), 3);
    let s = r.signals.row(0);
    let ms = |x: f64| (x * fs / 1000.0).round() as usize;
    let width = |i: usize| r_lobe_width(s, r.beats[i].r_sample);
    // P-wave region: 300 … 100 ms before R, largest deviation from 0 mV of either sign.
    let p_max = |i: usize| {
        (r.beats[i].r_sample - ms(300.0)..r.beats[i].r_sample - ms(100.0))
            .map(|t| s[t])
            .fold(f32::MIN, f32::max)
    };
    let p_min = |i: usize| {
        (r.beats[i].r_sample - ms(300.0)..r.beats[i].r_sample - ms(100.0))
            .map(|t| s[t])
            .fold(f32::MAX, f32::min)
    };
    let rr = |i: usize| r.beats[i].rr.expect("not first");
    let (n_width, n_p) = (width(2), p_max(2));
    assert!(n_p > 0.1, "normal P {n_p}");
    // V: QRS at least twice as wide, no P, premature, then a compensatory pause (RR_V + RR_next ≈ 2 RR).
    assert!(
        width(3) >= 2 * n_width,
        "V width {} vs N {}",
        width(3),
        n_width
    );
    assert!(r.beats[3].waves[0].is_none());
    assert!(
        p_max(3) < 0.5 * n_p,
        "V has a P-like bump {} (N {n_p})",
        p_max(3)
    );
    assert!(rr(3) < 0.85 * rr(2));
    assert!(
        ((rr(3) + rr(4)) / (2.0 * rr(2)) - 1.0).abs() < 0.06,
        "compensatory pause {} + {} vs 2·{}",
        rr(3),
        rr(4),
        rr(2)
    );
    // S: premature, narrow (same QRS as N), inverted P.
    assert!(rr(6) < 0.9 * rr(5));
    assert!(
        (width(6) as f64 - n_width as f64).abs() <= 0.2 * n_width as f64 + 1.0,
        "S width {} vs {}",
        width(6),
        n_width
    );
    assert!(
        p_min(6) < -0.03 && p_max(6) < 0.5 * n_p,
        "S P wave min {} max {}",
        p_min(6),
        p_max(6)
    );
    // F: width between N and V.
    assert!(
        width(9) > n_width && width(9) < width(3),
        "F width {} (N {n_width}, V {})",
        width(9),
        width(3)
    );
    // Q (paced): a pacing spike, a steep jump just before the wide QRS, and no P.
    let spike = r.beats[12].waves[WaveKind::Spike as usize]
        .expect("paced beat has a spike")
        .round() as usize;
    let jump = (spike - 3..spike + 3)
        .map(|t| (s[t + 1] - s[t]).abs())
        .fold(0.0f32, f32::max);
    let normal_jump = (r.beats[2].r_sample - ms(60.0)..r.beats[2].r_sample + ms(60.0))
        .map(|t| (s[t + 1] - s[t]).abs())
        .fold(0.0f32, f32::max);
    assert!(
        jump > normal_jump,
        "pacing spike slope {jump} vs steepest normal QRS slope {normal_jump}"
    );
    assert!(width(12) >= 2 * n_width);
    for (b, c) in r.beats.iter().zip(&classes) {
        assert_eq!(b.class, *c);
    }
}

#[test]
fn generation_is_seeded_and_deterministic() {
    let a = record(
        360.0,
        20,
        70.0,
        vec![BeatClass::N, BeatClass::N, BeatClass::V],
        5,
    );
    let b = record(
        360.0,
        20,
        70.0,
        vec![BeatClass::N, BeatClass::N, BeatClass::V],
        5,
    );
    let c = record(
        360.0,
        20,
        70.0,
        vec![BeatClass::N, BeatClass::N, BeatClass::V],
        6,
    );
    assert_eq!(a.signals, b.signals);
    assert_eq!(a.beats, b.beats);
    assert_ne!(a.signals, c.signals);
    assert!(a.source.contains("seed 5"));
}

#[test]
fn twelve_lead_record_obeys_einthoven_and_goldberger() {
    let r = ludb_like_record(72.0, 8).expect("valid");
    assert_eq!(r.signals.dim(), (12, 5000));
    assert_eq!(r.fs, 500.0);
    assert_eq!(
        r.lead_names,
        dataset::LUDB_LEADS
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    let l = |name: &str| {
        r.signals
            .row(r.lead_names.iter().position(|n| n == name).expect("lead"))
    };
    let (i, ii, iii, avr, avl, avf) = (l("i"), l("ii"), l("iii"), l("avr"), l("avl"), l("avf"));
    for t in 0..5000 {
        assert!((iii[t] - (ii[t] - i[t])).abs() < 1e-6);
        assert!((avr[t] + (i[t] + ii[t]) / 2.0).abs() < 1e-6);
        assert!((avl[t] - (i[t] - ii[t] / 2.0)).abs() < 1e-6);
        assert!((avf[t] - (ii[t] - i[t] / 2.0)).abs() < 1e-6);
    }
    // 72 bpm for 10 s: about 12 beats, all R peaks inside; aVR's QRS points down, V1 is rS.
    assert!(
        (10..=14).contains(&r.beats.len()),
        "{} beats",
        r.beats.len()
    );
    let beat = &r.beats[3];
    assert!(avr[beat.r_sample] < -0.3 && ii[beat.r_sample] > 0.7);
    let v1 = l("v1");
    let v1_min = (beat.r_sample - 5..beat.r_sample + 40)
        .map(|t| v1[t])
        .fold(f32::MAX, f32::min);
    assert!(
        v1_min < -0.5 && v1[beat.r_sample] < 0.5,
        "V1 should be rS: r {} S {v1_min}",
        v1[beat.r_sample]
    );
}

#[test]
fn mitbih_like_record_and_beat_dataset() {
    let r = mitbih_like_record(300, [0.8, 0.07, 0.08, 0.03, 0.02], 4).expect("valid");
    assert_eq!(r.fs, 360.0);
    assert_eq!(r.lead_names, vec!["MLII".to_string(), "V1".to_string()]);
    let mut counts = [0usize; 5];
    for b in &r.beats {
        counts[b.class.id()] += 1;
    }
    assert!(
        counts.iter().all(|&c| c > 0),
        "every class present: {counts:?}"
    );
    assert!(mitbih_like_record(10, [0.0; 5], 1).is_err());

    let cfg = BeatDatasetConfig {
        per_class: [30, 20, 20, 10, 5],
        ..BeatDatasetConfig::default()
    };
    let d = beat_dataset(&cfg).expect("valid");
    assert_eq!(d.class_counts(), vec![30, 20, 20, 10, 5]);
    assert_eq!(d.length, 90 + 162);
    assert_eq!(d.samples.len(), 85 * 252);
    d.validate().expect("consistent");
    assert!(d.groups.iter().any(|&g| g > 0), "several patients");
    // The R peak sits at sample `before` of every window (largest value for N beats).
    for i in (0..d.len()).filter(|&i| d.labels[i] == 0) {
        let w = d.window(i);
        let argmax = (0..w.len())
            .max_by(|&a, &b| w[a].total_cmp(&w[b]))
            .expect("non-empty");
        assert!(argmax.abs_diff(90) <= 3, "window {i}: max at {argmax}");
    }
    assert_eq!(d, beat_dataset(&cfg).expect("valid"));
}

#[test]
fn invalid_configs_are_named_errors() {
    let bad = [
        SynthConfig {
            fs: 10.0,
            ..SynthConfig::default()
        },
        SynthConfig {
            n_beats: 0,
            ..SynthConfig::default()
        },
        SynthConfig {
            rr: RrParams {
                hr_mean: 400.0,
                ..RrParams::default()
            },
            ..SynthConfig::default()
        },
        SynthConfig {
            leads: Vec::new(),
            ..SynthConfig::default()
        },
        SynthConfig {
            noise_mv: -1.0,
            ..SynthConfig::default()
        },
        SynthConfig {
            n_beats: 2,
            classes: vec![BeatClass::N; 3],
            ..SynthConfig::default()
        },
    ];
    for cfg in bad {
        let e = generate(&cfg).expect_err("must be rejected").to_string();
        assert!(e.starts_with("synthetic::generate: invalid"), "{e}");
    }
    let e = beat_dataset(&BeatDatasetConfig {
        per_class: [0; 5],
        ..BeatDatasetConfig::default()
    })
    .expect_err("no beats");
    assert!(e.to_string().contains("per_class"));
}

#[test]
fn any_rate_and_heart_rate_in_range_generates_sane_beats() {
    use BeatClass::*;
    for fs in [100.0, 128.0, 250.0, 360.0, 1000.0] {
        for hr in [30.0, 60.0, 120.0, 180.0, 240.0] {
            let classes = vec![N, N, V, N, S, N, F, N, Q, N];
            let r = record(fs, 10, hr, classes, 9);
            assert_eq!(r.beats.len(), 10);
            let s = r.signals.row(0);
            assert!(
                s.iter().all(|v| v.is_finite()),
                "fs {fs} hr {hr}: non-finite sample"
            );
            for w in r.beats.windows(2) {
                assert!(
                    w[1].r_sample > w[0].r_sample,
                    "fs {fs} hr {hr}: R peaks out of order"
                );
            }
            // Normal beats of the reference lead span 1.6 mV peak to peak by construction.
            let ptp = s.iter().fold(f32::MIN, |m, &v| m.max(v))
                - s.iter().fold(f32::MAX, |m, &v| m.min(v));
            assert!(ptp >= 1.59, "fs {fs} hr {hr}: peak to peak {ptp}");
            let normal_rr: Vec<f64> = r
                .beats
                .iter()
                .zip(&r.beats[1..])
                .filter(|(a, b)| a.class == N && b.class == N)
                .filter_map(|(_, b)| b.rr)
                .collect();
            let mean = normal_rr.iter().sum::<f64>() / normal_rr.len().max(1) as f64;
            assert!(
                normal_rr.is_empty() || (mean - 60.0 / hr).abs() < 0.25 * 60.0 / hr + 2.0 / fs,
                "fs {fs} hr {hr}: N–N RR {mean}"
            );
        }
    }
}
