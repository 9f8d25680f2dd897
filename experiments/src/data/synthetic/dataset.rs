//! Labelled datasets and database stand-ins built from the synthetic generator, so every
//! classifier and autoencoder experiment runs end to end without downloads:
//! - [`beat_dataset`]: fixed-length single-beat windows with AAMI labels (MIT-BIH beat task);
//! - [`mitbih_like_record`]: a two-lead (MLII, V1) 360 Hz record with mixed beat classes;
//! - [`ludb_like_record`]: a 12-lead 500 Hz 10-second record (LUDB layout: i ii iii avr avl avf
//!   v1 … v6), with P/QRS/T positions from the model.
//!
//! Variety between "patients": each record draws its own mean heart rate, HRV and per-beat
//! morphology jitter from the seed, so a split by record behaves like an inter-patient split.

use super::BeatClass;
use super::ode::{SynthConfig, SyntheticRecord, generate};
use super::rr::RrParams;
use crate::data::batch::WindowDataset;
use ecgrad_engine::{Error, Rng};
use ndarray::Array2;

/// Configuration of [`beat_dataset`].
#[derive(Clone, Debug, PartialEq)]
pub struct BeatDatasetConfig {
    /// Sampling rate of the windows, Hz (MIT-BIH: 360; the Kaggle benchmark: 125).
    pub fs: f64,
    /// Window start relative to the R peak, seconds (the window is [R − before, R + after)).
    pub before_s: f64,
    /// Window end relative to the R peak, seconds.
    pub after_s: f64,
    /// Number of beats wanted per class, in [`BeatClass::ALL`] order (0 = class absent).
    pub per_class: [usize; 5],
    /// Beats per synthetic "patient" record.
    pub beats_per_record: usize,
    /// Uniform measurement noise amplitude, mV.
    pub noise_mv: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for BeatDatasetConfig {
    /// 360 Hz, windows [R − 0.25 s, R + 0.45 s) (252 samples), 200 beats per class except Q.
    fn default() -> Self {
        BeatDatasetConfig {
            fs: 360.0,
            before_s: 0.25,
            after_s: 0.45,
            per_class: [200, 200, 200, 200, 0],
            beats_per_record: 120,
            noise_mv: 0.02,
            seed: 0,
        }
    }
}

/// Draws one "patient": mean heart rate, HRV and a class sequence where each beat is N with
/// probability p_N and otherwise one of the wanted ectopic classes; no two ectopics in a row
/// (so every ectopic has a normal predecessor to be premature against).
fn patient_config(
    rng: &mut Rng,
    fs: f64,
    n_beats: usize,
    wanted: &[BeatClass],
    p_normal: f64,
    seed: u64,
) -> SynthConfig {
    let hr_mean = rng.uniform_range(55.0, 95.0);
    let mut classes = Vec::with_capacity(n_beats);
    let ectopic: Vec<BeatClass> = wanted
        .iter()
        .copied()
        .filter(|&c| c != BeatClass::N)
        .collect();
    for k in 0..n_beats {
        let after_ectopic = classes.last().is_some_and(|&c| c != BeatClass::N);
        let class = if k == 0 || after_ectopic || ectopic.is_empty() || rng.uniform() < p_normal {
            BeatClass::N
        } else {
            ectopic[rng.below(ectopic.len())]
        };
        classes.push(class);
    }
    SynthConfig {
        fs,
        n_beats,
        rr: RrParams {
            hr_mean,
            hr_std: rng.uniform_range(0.5, 3.0),
            lf_hf_ratio: rng.uniform_range(0.3, 1.5),
            ..RrParams::default()
        },
        classes,
        morphology_jitter: 0.05,
        seed,
        ..SynthConfig::default()
    }
}

/// A labelled single-beat dataset: windows [R − before, R + after) from synthetic patients,
/// exactly `per_class[c]` beats of each class c, in generation order (shuffle with
/// [`crate::data::batch::BatchIter`]). Labels are AAMI ids (N 0, S 1, V 2, F 3, Q 4);
/// `groups` holds the patient (record) index of each beat for patient-wise splits.
///
/// # Errors
/// [`Error::InvalidParam`] if the window is empty or longer than 4 s, no beats are requested,
/// or `beats_per_record` < 10; generation errors from [`generate`].
pub fn beat_dataset(cfg: &BeatDatasetConfig) -> Result<WindowDataset, Error> {
    let before = (cfg.before_s * cfg.fs).round() as usize;
    let after = (cfg.after_s * cfg.fs).round() as usize;
    let length = before + after;
    let bad = |name: &'static str, value: String, why: &str| Error::InvalidParam {
        op: "synthetic::beat_dataset",
        name,
        value,
        why: why.into(),
    };
    if length == 0 || cfg.before_s < 0.0 || cfg.after_s < 0.0 || cfg.before_s + cfg.after_s > 4.0 {
        return Err(bad(
            "window",
            format!("[{}, {}) s", -cfg.before_s, cfg.after_s),
            "must be non-empty and ≤ 4 s",
        ));
    }
    let total: usize = cfg.per_class.iter().sum();
    if total == 0 {
        return Err(bad(
            "per_class",
            format!("{:?}", cfg.per_class),
            "asks for no beats",
        ));
    }
    if cfg.beats_per_record < 10 {
        return Err(bad(
            "beats_per_record",
            cfg.beats_per_record.to_string(),
            "must be ≥ 10",
        ));
    }
    let wanted: Vec<BeatClass> = BeatClass::ALL
        .iter()
        .copied()
        .filter(|c| cfg.per_class[c.id()] > 0)
        .collect();
    // Enough ectopics per record that rare classes fill up quickly.
    let p_normal = if cfg.per_class[0] > 0 { 0.5 } else { 0.0 };
    let mut rng = Rng::stream(cfg.seed, "beat_dataset");
    let mut counts = [0usize; 5];
    let mut samples = Vec::with_capacity(total * length);
    let (mut labels, mut groups) = (Vec::with_capacity(total), Vec::with_capacity(total));
    let mut patient = 0usize;
    while counts.iter().zip(&cfg.per_class).any(|(c, w)| c < w) {
        if patient > 10 * total + 100 {
            return Err(bad(
                "per_class",
                format!("{:?}", cfg.per_class),
                "could not be filled (internal)",
            ));
        }
        let mut pc = patient_config(
            &mut rng,
            cfg.fs,
            cfg.beats_per_record,
            &wanted,
            p_normal,
            cfg.seed.wrapping_add(patient as u64 * 7919),
        );
        pc.noise_mv = cfg.noise_mv;
        let record = generate(&pc)?;
        let signal = record.signals.row(0);
        for beat in &record.beats {
            let c = beat.class.id();
            if counts[c] >= cfg.per_class[c]
                || beat.r_sample < before
                || beat.r_sample + after > signal.len()
            {
                continue;
            }
            samples.extend((beat.r_sample - before..beat.r_sample + after).map(|t| signal[t]));
            labels.push(c);
            groups.push(patient);
            counts[c] += 1;
        }
        patient += 1;
    }
    Ok(WindowDataset {
        samples,
        labels,
        groups,
        channels: 1,
        length,
        class_names: BeatClass::ALL
            .iter()
            .map(|c| c.name().to_string())
            .collect(),
        source: format!(
            "synthetic ECGSYN beats ({} patients, {} Hz, window [R−{} s, R+{} s), seed {})",
            patient, cfg.fs, cfg.before_s, cfg.after_s, cfg.seed
        ),
    })
}

/// A MIT-BIH-like record: leads MLII and V1 at 360 Hz, `n_beats` beats whose classes are drawn
/// with probabilities `class_probs` (N, S, V, F, Q; ectopics never back to back), 0.02 mV noise.
/// The MLII/V1 gains mimic the usual shapes: V1 has a small r, deep S and a flat T.
///
/// # Errors
/// As [`generate`]; [`Error::InvalidParam`] if the probabilities are negative or sum to 0.
pub fn mitbih_like_record(
    n_beats: usize,
    class_probs: [f64; 5],
    seed: u64,
) -> Result<SyntheticRecord, Error> {
    let sum: f64 = class_probs.iter().sum();
    if class_probs.iter().any(|&p| p.is_nan() || p < 0.0) || sum.is_nan() || sum <= 0.0 {
        return Err(Error::InvalidParam {
            op: "synthetic::mitbih_like_record",
            name: "class_probs",
            value: format!("{class_probs:?}"),
            why: "must be ≥ 0 with a positive sum".into(),
        });
    }
    let mut rng = Rng::stream(seed, "mitbih_like");
    let mut classes = Vec::with_capacity(n_beats);
    for k in 0..n_beats {
        let after_ectopic = classes.last().is_some_and(|&c| c != BeatClass::N);
        let mut u = rng.uniform() * sum;
        let mut class = BeatClass::N;
        for c in BeatClass::ALL {
            if u < class_probs[c.id()] {
                class = c;
                break;
            }
            u -= class_probs[c.id()];
        }
        if k == 0 || (after_ectopic && class != BeatClass::Q) {
            class = BeatClass::N;
        }
        classes.push(class);
    }
    let hr_mean = rng.uniform_range(60.0, 90.0);
    generate(&SynthConfig {
        fs: 360.0,
        n_beats,
        rr: RrParams {
            hr_mean,
            hr_std: 2.0,
            ..RrParams::default()
        },
        classes,
        leads: vec![
            ("MLII".to_string(), [1.0; 5]),
            ("V1".to_string(), [0.5, 0.0, 0.25, 2.0, 0.2]),
        ],
        noise_mv: 0.02,
        morphology_jitter: 0.03,
        seed,
        ..SynthConfig::default()
    })
}

/// The 12 LUDB lead names in file order.
pub const LUDB_LEADS: [&str; 12] = [
    "i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6",
];

/// A LUDB-like record: 12 leads, 500 Hz, exactly 5 000 samples (10 s) of normal sinus rhythm at
/// `hr_mean` bpm. Leads I, II and V1–V6 are integrated with their own wave gains (V1: rS with a
/// deep S; R grows and S shrinks across V2–V5; V6: qR); III, aVR, aVL and aVF are computed from
/// I and II (Einthoven: III = II − I; Goldberger: aVR = −(I+II)/2, aVL = I − II/2,
/// aVF = II − I/2). Beats whose R falls beyond 10 s are dropped from `beats`.
///
/// # Errors
/// As [`generate`].
pub fn ludb_like_record(hr_mean: f64, seed: u64) -> Result<SyntheticRecord, Error> {
    const LEN: usize = 5000;
    // Integrated leads: I, II, V1..V6; gains for (P, Q, R, S, T).
    let integrated: [(&str, [f64; 5]); 8] = [
        ("i", [0.5, 0.6, 0.6, 0.4, 0.5]),
        ("ii", [1.0; 5]),
        ("v1", [0.5, 0.0, 0.25, 2.0, 0.3]),
        ("v2", [0.6, 0.0, 0.5, 2.2, 1.2]),
        ("v3", [0.6, 0.3, 0.9, 1.5, 1.3]),
        ("v4", [0.6, 0.6, 1.4, 1.0, 1.2]),
        ("v5", [0.6, 0.8, 1.3, 0.6, 1.0]),
        ("v6", [0.6, 1.0, 1.0, 0.4, 0.8]),
    ];
    let n_beats = (10.0 * hr_mean / 60.0 * 1.3).ceil() as usize + 2;
    let mut record = generate(&SynthConfig {
        fs: 500.0,
        n_beats,
        rr: RrParams {
            hr_mean,
            hr_std: 1.0,
            ..RrParams::default()
        },
        leads: integrated
            .iter()
            .map(|(n, g)| (n.to_string(), *g))
            .collect(),
        noise_mv: 0.01,
        morphology_jitter: 0.02,
        seed,
        ..SynthConfig::default()
    })?;
    let have = record.signals.ncols();
    if have < LEN {
        return Err(Error::InvalidParam {
            op: "synthetic::ludb_like_record",
            name: "hr_mean",
            value: hr_mean.to_string(),
            why: format!("generated only {have} samples (internal)"),
        });
    }
    let s = &record.signals;
    let lead = |name: &str| {
        integrated
            .iter()
            .position(|(n, _)| *n == name)
            .expect("invariant: lead listed")
    };
    let (i, ii) = (s.row(lead("i")), s.row(lead("ii")));
    let mut out = Array2::<f32>::zeros((12, LEN));
    for t in 0..LEN {
        let (a, b) = (i[t], ii[t]);
        let derived = [a, b, b - a, -(a + b) / 2.0, a - b / 2.0, b - a / 2.0];
        for (row, v) in derived.iter().enumerate() {
            out[[row, t]] = *v;
        }
        for (j, name) in LUDB_LEADS[6..].iter().enumerate() {
            out[[6 + j, t]] = s[[lead(name), t]];
        }
    }
    record.signals = out;
    record.lead_names = LUDB_LEADS.iter().map(|s| s.to_string()).collect();
    record.beats.retain(|b| b.r_sample < LEN);
    record.source = format!("{} (LUDB-like: 12 leads, 10 s)", record.source);
    Ok(record)
}
