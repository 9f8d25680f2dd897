//! Corrupting clean two-lead segments at a target SNR: white Gaussian noise, or the NSTDB noise
//! records bw (baseline wander), em (electrode motion) and ma (muscle artifact).
//!
//! **SNR definition: the power ratio** (PAPERS.md §F.3), per lead over the segment:
//! SNR = 10·log10(mean(x²)/mean((a·n)²)), the gain a solved exactly
//! ([`crate::data::nstdb::mix`]; white noise is scaled by its realised power too). Its counterpart,
//! WFDB `nst`'s QRS-amplitude definition, would put a few dB *more* noise in at the same
//! nominal value; ACDAE's own definition is not known.
//!
//! **Train/test separation of the noise.** Each NSTDB record (2 channels × 650 000 samples,
//! 30 min at 360 Hz) is cut in two halves: training segments draw their noise from the first
//! 15 minutes, test segments from the last 15. Noise channel 0 goes to lead 1, channel 1 to
//! lead 2, at the same random offset (the two channels were recorded together).
//!
//! **Without NSTDB** (CI, `--quick` without data) the three records are replaced by clearly
//! labelled synthetic stand-ins ([`NoiseRecord::synthetic`]): bw = sum of 0.05–0.5 Hz
//! sinusoids; ma = white noise high-passed at 10 Hz with a slowly varying envelope; em =
//! band-limited (1–10 Hz) bursts. They exercise the code path, nothing more.

use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result, ensure};
use ecgrad_engine::rng::Rng;

use crate::data::nstdb::{self, NoiseKind, SnrDefinition};
use crate::data::signal::filter::{Pass, butterworth, butterworth_bandpass, filtfilt};

/// The noise types of the experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoiseType {
    /// White Gaussian noise (−20…+20 dB, step 5).
    White,
    /// NSTDB baseline wander (−6…+24 dB, step 6).
    Bw,
    /// NSTDB electrode motion.
    Em,
    /// NSTDB muscle artifact.
    Ma,
}

impl NoiseType {
    /// All four, in table order.
    pub const ALL: [NoiseType; 4] = [
        NoiseType::White,
        NoiseType::Bw,
        NoiseType::Em,
        NoiseType::Ma,
    ];

    /// Name in tables (`"white"`, `"bw"`, `"em"`, `"ma"`).
    pub fn name(self) -> &'static str {
        match self {
            NoiseType::White => "white",
            NoiseType::Bw => "bw",
            NoiseType::Em => "em",
            NoiseType::Ma => "ma",
        }
    }

    /// The evaluated input SNRs in dB: −20…+20 step 5 for white noise (ACDAE's AWGN range),
    /// −6…+24 step 6 for the NSTDB types (the levels of the NSTDB test records).
    pub fn snr_levels(self) -> Vec<f64> {
        match self {
            NoiseType::White => (-4..=4).map(|k| 5.0 * k as f64).collect(),
            _ => (-1..=4).map(|k| 6.0 * k as f64).collect(),
        }
    }

    /// The NSTDB record kind (None for white noise).
    pub fn nstdb(self) -> Option<NoiseKind> {
        match self {
            NoiseType::White => None,
            NoiseType::Bw => Some(NoiseKind::Bw),
            NoiseType::Em => Some(NoiseKind::Em),
            NoiseType::Ma => Some(NoiseKind::Ma),
        }
    }
}

/// Training or test side of a split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// First half of each noise record.
    Train,
    /// Second half.
    Test,
}

/// A two-channel noise record.
#[derive(Clone, Debug)]
pub struct NoiseRecord {
    /// Which noise.
    pub kind: NoiseType,
    /// Channel 0 and channel 1, equal lengths.
    pub channels: [Vec<f32>; 2],
    /// True for the synthetic stand-in.
    pub synthetic: bool,
}

impl NoiseRecord {
    /// Reads NSTDB's `bw`, `em` or `ma` from `nstdb_dir`.
    ///
    /// # Errors
    /// For white noise (no record), WFDB read errors naming the file, fewer than 2 channels.
    pub fn load(nstdb_dir: &Path, kind: NoiseType) -> Result<NoiseRecord> {
        let k = kind
            .nstdb()
            .with_context(|| "white noise has no NSTDB record".to_string())?;
        let rec = nstdb::load_noise(nstdb_dir, k).with_context(|| {
            format!("reading NSTDB {} from {}", k.record(), nstdb_dir.display())
        })?;
        ensure!(
            rec.physical.nrows() >= 2,
            "NSTDB {} has < 2 channels",
            k.record()
        );
        Ok(NoiseRecord {
            kind,
            channels: [rec.physical.row(0).to_vec(), rec.physical.row(1).to_vec()],
            synthetic: false,
        })
    }

    /// A synthetic stand-in of `len` samples at `fs` (see the module docs).
    ///
    /// # Errors
    /// For white noise, or filter design errors for `fs` ≤ 20 Hz.
    pub fn synthetic(kind: NoiseType, len: usize, fs: f64, seed: u64) -> Result<NoiseRecord> {
        let mut rng = Rng::stream(seed, kind.name());
        let channel = |rng: &mut Rng| -> Result<Vec<f32>> {
            let t = |i: usize| i as f64 / fs;
            let v: Vec<f64> = match kind {
                NoiseType::White => anyhow::bail!("white noise needs no record"),
                NoiseType::Bw => {
                    let waves: Vec<(f64, f64, f64)> = (0..3)
                        .map(|_| {
                            (
                                rng.uniform_range(0.05, 0.5),
                                rng.uniform_range(0.0, std::f64::consts::TAU),
                                rng.uniform_range(0.3, 1.0),
                            )
                        })
                        .collect();
                    (0..len)
                        .map(|i| {
                            waves
                                .iter()
                                .map(|(f, p, a)| a * (std::f64::consts::TAU * f * t(i) + p).sin())
                                .sum()
                        })
                        .collect()
                }
                NoiseType::Ma => {
                    let w: Vec<f64> = (0..len).map(|_| rng.normal()).collect();
                    let hp = filtfilt(&butterworth(2, 10.0, fs, Pass::High)?, &w);
                    let f = rng.uniform_range(0.1, 0.4);
                    hp.iter()
                        .enumerate()
                        .map(|(i, v)| v * (1.0 + 0.5 * (std::f64::consts::TAU * f * t(i)).sin()))
                        .collect()
                }
                NoiseType::Em => {
                    let w: Vec<f64> = (0..len).map(|_| rng.normal()).collect();
                    let bl = filtfilt(&butterworth_bandpass(2, 1.0, 10.0, fs)?, &w);
                    // Bursts: on for ~2 s, off for ~2 s.
                    bl.iter()
                        .enumerate()
                        .map(|(i, v)| {
                            if ((t(i) / 2.0) as usize).is_multiple_of(2) {
                                *v
                            } else {
                                0.1 * v
                            }
                        })
                        .collect()
                }
            };
            Ok(v.into_iter().map(|s| s as f32).collect())
        };
        let c0 = channel(&mut rng)?;
        let c1 = channel(&mut rng)?;
        Ok(NoiseRecord {
            kind,
            channels: [c0, c1],
            synthetic: true,
        })
    }

    /// Sample range of a part: the first or the second half.
    pub fn part_range(&self, part: Part) -> Range<usize> {
        let n = self.channels[0].len();
        match part {
            Part::Train => 0..n / 2,
            Part::Test => n / 2..n,
        }
    }

    /// A uniformly random start of a `len`-sample excerpt lying wholly inside `part`.
    ///
    /// # Errors
    /// If the part is shorter than `len`.
    pub fn draw_start(&self, part: Part, len: usize, rng: &mut Rng) -> Result<usize> {
        let r = self.part_range(part);
        ensure!(
            r.len() >= len,
            "noise {} part {part:?} has {} samples < {len}",
            self.kind.name(),
            r.len()
        );
        Ok(r.start + rng.below(r.len() - len + 1))
    }

    /// A random `len`-sample excerpt of both channels from `part`.
    ///
    /// # Errors
    /// If the part is shorter than `len`.
    pub fn draw(&self, part: Part, len: usize, rng: &mut Rng) -> Result<[&[f32]; 2]> {
        let start = self.draw_start(part, len, rng)?;
        Ok([
            &self.channels[0][start..start + len],
            &self.channels[1][start..start + len],
        ])
    }
}

/// Corrupts a two-lead segment (lead-major, `2·l` samples) at `snr_db` per lead; `noise` is
/// needed for every type but white.
///
/// # Errors
/// A missing noise record, a zero-power lead, or a too-short noise part.
pub fn corrupt(
    clean: &[f32],
    kind: NoiseType,
    noise: Option<&NoiseRecord>,
    part: Part,
    snr_db: f64,
    rng: &mut Rng,
) -> Result<Vec<f32>> {
    let l = clean.len() / 2;
    ensure!(
        l > 0 && clean.len() == 2 * l,
        "segment length {} must be 2·L",
        clean.len()
    );
    let mut out = Vec::with_capacity(clean.len());
    match kind {
        NoiseType::White => {
            // Draw N(0, 1) and scale by its *realised* power, so the SNR is exact (MATLAB's
            // awgn(x, snr, 'measured') does the same).
            for lead in clean.chunks(l) {
                let n: Vec<f32> = (0..l).map(|_| rng.normal() as f32).collect();
                out.extend(nstdb::mix(lead, &n, snr_db, &SnrDefinition::PowerRatio)?.0);
            }
        }
        _ => {
            let rec = noise.with_context(|| format!("noise {} needs its record", kind.name()))?;
            let n = rec.draw(part, l, rng)?;
            for (lead, nl) in clean.chunks(l).zip(n) {
                out.extend(nstdb::mix(lead, nl, snr_db, &SnrDefinition::PowerRatio)?.0);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snr(clean: &[f32], noisy: &[f32]) -> f64 {
        let s: f64 = clean.iter().map(|&v| (v as f64).powi(2)).sum();
        let n: f64 = clean
            .iter()
            .zip(noisy)
            .map(|(&c, &y)| (y as f64 - c as f64).powi(2))
            .sum();
        10.0 * (s / n).log10()
    }

    #[test]
    fn corrupting_at_a_target_snr_gives_that_snr_per_lead() {
        let l = 600;
        let clean: Vec<f32> = (0..2 * l)
            .map(|i| ((i as f32) * 0.05).sin() + 0.2)
            .collect();
        for kind in NoiseType::ALL {
            let rec = match kind {
                NoiseType::White => None,
                _ => Some(NoiseRecord::synthetic(kind, 20_000, 360.0, 1).expect("noise")),
            };
            for snr_db in kind.snr_levels() {
                let mut rng = Rng::new(2);
                let noisy = corrupt(&clean, kind, rec.as_ref(), Part::Test, snr_db, &mut rng)
                    .expect("corrupt");
                for (c, y) in clean.chunks(l).zip(noisy.chunks(l)) {
                    let got = snr(c, y);
                    // The gain is solved on the segment itself: exact up to f32 rounding.
                    assert!(
                        (got - snr_db).abs() < 1e-3,
                        "{kind:?} {snr_db} dB: got {got}"
                    );
                }
            }
        }
    }

    #[test]
    fn train_and_test_noise_come_from_disjoint_halves() {
        let rec = NoiseRecord::synthetic(NoiseType::Em, 10_000, 360.0, 3).expect("noise");
        let mut rng = Rng::new(4);
        for _ in 0..200 {
            let a = rec.draw_start(Part::Train, 600, &mut rng).expect("draw");
            assert!(a + 600 <= 5_000, "train start {a}");
            let b = rec.draw_start(Part::Test, 600, &mut rng).expect("draw");
            assert!((5_000..=9_400).contains(&b), "test start {b}");
        }
        assert!(rec.draw_start(Part::Test, 6_000, &mut rng).is_err());
    }
}
