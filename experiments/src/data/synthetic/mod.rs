//! The built-in synthetic ECG: McSharry et al.'s ECGSYN dynamical model (IEEE TBME 50(3), 2003),
//! the default data source wherever the PhysioNet databases are absent.
//!
//! # The model
//! A point (x, y, z) circles the unit limit cycle in the (x, y) plane once per RR interval; its
//! height z is pushed up or down by five Gaussian "events" P, Q, R, S, T placed at angles θᵢ:
//!
//! ẋ = α·x − ω·y,  ẏ = α·y + ω·x,  α = 1 − √(x² + y²)
//! ż = −Σᵢ aᵢ·Δθᵢ·exp(−Δθᵢ²/(2bᵢ²)) − (z − z₀(t)),  Δθᵢ = (θ − θᵢ) mod 2π,  θ = atan2(y, x)
//!
//! with ω = 2π/RR (RR from the LF/HF spectral process in [`rr`]) and the respiratory baseline
//! z₀(t) = A·sin(2π·f_HF·t). Integrating the Gaussian term over one pass gives a bump of height
//! ≈ aᵢ·bᵢ²/ω centred at θᵢ, so aᵢ sets polarity and size, bᵢ the width (in radians; in time
//! bᵢ/ω), θᵢ the position (time θᵢ/ω from R). The parameter table ([`WaveTable::paper`]):
//!
//! | | P | Q | R | S | T |
//! |---|---|---|---|---|---|
//! | θᵢ (rad) | −π/3 | −π/12 | 0 | π/12 | π/2 |
//! | aᵢ | 1.2 | −5 | 30 | −7.5 | 0.75 |
//! | bᵢ | 0.25 | 0.1 | 0.1 | 0.1 | 0.4 |
//!
//! As in `ecgsyn.m`, θᵢ and bᵢ are scaled with the mean heart rate (bᵢ·√(hr/60); θ_Q, θ_S by
//! √(hr/60), θ_P, θ_T by (hr/60)^¼) so waves narrow at higher rates; integration is fixed-step
//! RK4 at an internal rate that is a multiple of the output rate, and the output keeps every
//! q-th sample. Any output rate works (e.g. 360 Hz like MIT-BIH, 500 Hz like LUDB).
//!
//! # Our extensions (not in ECGSYN), each said where it is made
//! - **Output in mV:** z is multiplied by one gain making the normal beats of the reference lead
//!   1.6 mV peak to peak — ECGSYN's [−0.4, 1.2] mV range width — and each lead's median (its
//!   most common, isoelectric level; the z relaxation leaves it slightly below 0) is subtracted,
//!   so the baseline sits near 0 mV. A gain rather than ECGSYN's min/max fit, so abnormal beats
//!   keep their true size relative to normal ones and all leads share one scale.
//! - **Beat classes mimicking AAMI** ([`BeatClass`]): S = premature beat with narrow QRS and an
//!   abnormal (ectopic atrial) P wave; V = premature wide QRS without P, discordant T,
//!   compensatory pause; F = fusion, a half-way blend of N and V; Q = paced beat (pacing spike,
//!   wide QRS). The tables are in [`WaveTable::for_class`].
//! - **Premature timing** via a non-uniform phase speed: ECGSYN holds ω = 2π/RR per beat. Here
//!   each beat's *active* arc (from the start of its P wave, or QRS, to the end of its T wave) is
//!   traversed at ω = 2π/RR_sinus, and the *diastolic* arc between the previous T and the next P
//!   absorbs the change of timing (faster for a premature beat, slower for a pause). For normal
//!   beats this reduces to ECGSYN's per-beat constant ω.
//! - **Several leads** integrate one z per lead over the same (x, y) trajectory, each with its
//!   own amplitudes; III, aVR, aVL, aVF follow from I and II by Einthoven's and Goldberger's
//!   laws, which hold exactly because ż is linear in (aᵢ, z, z₀).
//!
//! Everything is seeded: equal [`SynthConfig`] ⇒ bit-identical record. Files: [`rr`] (RR
//! process), [`ode`] (integration), [`dataset`] (labelled beats and MIT-BIH / LUDB stand-ins).

pub mod dataset;
pub mod ode;
pub mod rr;
#[cfg(test)]
mod tests;

pub use dataset::{BeatDatasetConfig, beat_dataset, ludb_like_record, mitbih_like_record};
pub use ode::{SynthConfig, SyntheticBeat, SyntheticRecord, generate};
pub use rr::RrParams;

use std::f64::consts::PI;

/// One Gaussian event of the model: angle θ (rad, R at 0), amplitude a, width b (rad).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wave {
    /// Angle θᵢ on the limit cycle, radians.
    pub theta: f64,
    /// Amplitude aᵢ (sign = polarity).
    pub a: f64,
    /// Width bᵢ, radians.
    pub b: f64,
}

/// Index of each wave in a [`WaveTable`] and in [`SyntheticBeat::waves`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaveKind {
    /// P wave (atrial depolarisation).
    P = 0,
    /// Q wave.
    Q = 1,
    /// R wave.
    R = 2,
    /// S wave.
    S = 3,
    /// T wave (ventricular repolarisation).
    T = 4,
    /// Pacemaker spike (paced beats only).
    Spike = 5,
}

/// The six events P, Q, R, S, T, pacing spike (a = 0 means "absent").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WaveTable {
    /// Indexed by [`WaveKind`] as usize.
    pub waves: [Wave; 6],
}

/// AAMI EC57 heartbeat classes (ids as in the Kaggle/Kachuee convention: N 0, S 1, V 2, F 3, Q 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BeatClass {
    /// Normal / non-ectopic.
    N = 0,
    /// Supraventricular ectopic (premature, narrow QRS).
    S = 1,
    /// Ventricular ectopic (premature, wide QRS, no P).
    V = 2,
    /// Fusion of ventricular and normal.
    F = 3,
    /// Unknown / paced.
    Q = 4,
}

impl BeatClass {
    /// All five classes in id order.
    pub const ALL: [BeatClass; 5] = [
        BeatClass::N,
        BeatClass::S,
        BeatClass::V,
        BeatClass::F,
        BeatClass::Q,
    ];

    /// The class id 0..4.
    pub fn id(self) -> usize {
        self as usize
    }

    /// The single-letter AAMI name.
    pub fn name(self) -> &'static str {
        ["N", "S", "V", "F", "Q"][self as usize]
    }
}

const ABSENT: Wave = Wave {
    theta: 0.0,
    a: 0.0,
    b: 0.1,
};

impl WaveTable {
    /// The paper's Table 1 (McSharry et al. 2003), the default.
    pub fn paper() -> WaveTable {
        WaveTable::from_rows(
            [-PI / 3.0, -PI / 12.0, 0.0, PI / 12.0, PI / 2.0],
            [1.2, -5.0, 30.0, -7.5, 0.75],
            [0.25, 0.1, 0.1, 0.1, 0.4],
        )
    }

    /// The defaults of PhysioNet's `ecgsyn.m`: θ = [−70, −15, 0, 15, 100]°, same a and b.
    pub fn ecgsyn_m() -> WaveTable {
        let deg = PI / 180.0;
        WaveTable::from_rows(
            [-70.0 * deg, -15.0 * deg, 0.0, 15.0 * deg, 100.0 * deg],
            [1.2, -5.0, 30.0, -7.5, 0.75],
            [0.25, 0.1, 0.1, 0.1, 0.4],
        )
    }

    /// A table from the θ, a, b rows (P, Q, R, S, T), with no pacing spike.
    pub fn from_rows(theta: [f64; 5], a: [f64; 5], b: [f64; 5]) -> WaveTable {
        let mut waves = [ABSENT; 6];
        for i in 0..5 {
            waves[i] = Wave {
                theta: theta[i],
                a: a[i],
                b: b[i],
            };
        }
        WaveTable { waves }
    }

    /// The wave of one kind.
    pub fn wave(&self, kind: WaveKind) -> Wave {
        self.waves[kind as usize]
    }

    /// The morphology of a beat class, derived from the normal table `normal` (already
    /// heart-rate scaled). Remember a bump's height is ≈ a·b²/ω, so widening a wave by a factor
    /// w while keeping its height divides a by w².
    pub fn for_class(normal: &WaveTable, class: BeatClass) -> WaveTable {
        let n = normal.waves;
        let mut t = *normal;
        match class {
            BeatClass::N => {}
            BeatClass::S => {
                // Ectopic atrial focus: small inverted P, closer to the QRS (short PR); the
                // ventricles conduct normally, so QRS and T are unchanged.
                t.waves[0] = Wave {
                    theta: n[0].theta * 0.75,
                    a: -0.5 * n[0].a,
                    b: 0.8 * n[0].b,
                };
            }
            BeatClass::V | BeatClass::Q => {
                // Ventricular origin: no P; QRS ≈ 2.6× wider (≈ 150–180 ms at 60 bpm), taller R
                // and deeper S; T discordant (opposite to the main QRS deflection) and larger.
                let w = 2.6;
                t.waves[0].a = 0.0;
                t.waves[1] = Wave {
                    theta: n[1].theta * w * 0.8,
                    a: 0.3 * n[1].a / (w * w),
                    b: n[1].b * w,
                };
                t.waves[2] = Wave {
                    theta: n[2].theta,
                    a: 1.3 * n[2].a / (w * w),
                    b: n[2].b * w,
                };
                t.waves[3] = Wave {
                    theta: n[3].theta * w,
                    a: 1.5 * n[3].a / (w * w * 1.44),
                    b: n[3].b * w * 1.2,
                };
                t.waves[4] = Wave {
                    theta: n[4].theta * 1.05,
                    a: -1.2 * n[4].a,
                    b: n[4].b * 1.1,
                };
                if class == BeatClass::Q {
                    // Pacemaker spike ≈ 40 ms before R: very narrow (b = 0.015 rad ≈ 2.4 ms at
                    // 60 bpm) and about half the R height (a·b² ≈ 0.5·30·0.1²).
                    let b = 0.015;
                    t.waves[5] = Wave {
                        theta: -0.25,
                        a: 0.5 * n[2].a * n[2].b * n[2].b / (b * b),
                        b,
                    };
                }
            }
            BeatClass::F => {
                // Fusion: the ventricles are activated partly by the normal wavefront and partly
                // by the ectopic focus — halfway between N and V, with a reduced P.
                let v = WaveTable::for_class(normal, BeatClass::V).waves;
                // Blend positions, widths and bump heights a·b² (blending a itself would make
                // the mid-width wave far taller than either parent).
                for i in 0..5 {
                    let b = 0.5 * (n[i].b + v[i].b);
                    let height = 0.5 * (n[i].a * n[i].b * n[i].b + v[i].a * v[i].b * v[i].b);
                    t.waves[i] = Wave {
                        theta: 0.5 * (n[i].theta + v[i].theta),
                        a: height / (b * b),
                        b,
                    };
                }
                t.waves[0].a = 0.5 * n[0].a;
                t.waves[0].theta = n[0].theta;
                t.waves[0].b = n[0].b;
            }
        }
        t
    }

    /// This table with θ and b scaled for the mean heart rate, as `ecgsyn.m` does:
    /// b·√(hr/60); θ_Q, θ_S ·√(hr/60); θ_P, θ_T ·(hr/60)^¼; R and the spike unchanged.
    pub fn scaled_for_heart_rate(&self, hr_mean: f64) -> WaveTable {
        let hrfact = (hr_mean / 60.0).sqrt();
        let hrfact2 = hrfact.sqrt();
        let theta_scale = [hrfact2, hrfact, 1.0, hrfact, hrfact2, 1.0];
        let mut t = *self;
        for (i, w) in t.waves.iter_mut().enumerate() {
            w.theta *= theta_scale[i];
            if i < 5 {
                w.b *= hrfact;
            }
        }
        t
    }

    /// The first angle where this beat's activity starts (2 widths before its earliest event)
    /// and the last where it ends (2 widths after its latest), clamped to (−0.9π, −0.05π) and
    /// (0.05π, 0.9π). The arc between one beat's end and the next one's start is diastole.
    pub fn active_arc(&self) -> (f64, f64) {
        let mut start = -0.05 * PI;
        let mut end = 0.05 * PI;
        for w in self.waves.iter().filter(|w| w.a != 0.0) {
            start = start.min(w.theta - 2.0 * w.b);
            end = end.max(w.theta + 2.0 * w.b);
        }
        (start.max(-0.9 * PI), end.min(0.9 * PI))
    }

    /// The table with each wave's amplitude multiplied by `gains` (P, Q, R, S, T; spike kept).
    pub fn with_gains(&self, gains: [f64; 5]) -> WaveTable {
        let mut t = *self;
        for i in 0..5 {
            t.waves[i].a *= gains[i];
        }
        t
    }
}
