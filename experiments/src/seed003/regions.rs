//! # Where the attribution lies: Grad-CAM mass in the P, QRS and T windows of a beat
//!
//! A beat window has its R peak at sample [`R_INDEX`] (62) and 125 samples per second. The
//! waves are marked by fixed windows relative to the R peak (typical adult timings at rest;
//! the beats are not delineated one by one, so a long PR interval or a wide ventricular QRS
//! spills over the edges, and a V beat has no P wave in its "P" window at all):
//!
//! | region | from R | samples (125 Hz) |
//! |---|---|---|
//! | P wave | −250 ms … −80 ms | 31 … 51 |
//! | QRS complex | −60 ms … +60 ms | 54 … 69 |
//! | T wave | +100 ms … +450 ms | 75 … 118 |
//! | other | everything else (PR and ST segments, the next beat's onset) | |
//!
//! For a non-negative map m (Grad-CAM after its ReLU) the mass of region W is
//! `Σ_{t∈W} m[t] / Σ_t m[t]`; the four masses sum to 1. A map that is zero everywhere has no
//! mass and is skipped (counted separately). Because the regions differ in width, the summary
//! also gives each region's mass per sample relative to a flat map (its *enrichment*): the
//! region where the attribution concentrates is the one with the largest enrichment.

use serde::Serialize;

use super::protocol::{FS, R_INDEX};

/// A half-open sample range `[start, end)` of a beat window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    /// First sample.
    pub start: usize,
    /// One past the last sample.
    pub end: usize,
}

/// The sample window `[R + from_s, R + to_s)` (seconds relative to the R peak, rounded to
/// samples at [`FS`] and clamped to `[0, len)`).
pub fn window_at(from_s: f64, to_s: f64, len: usize) -> Window {
    let at = |s: f64| ((R_INDEX as f64 + s * FS).round().max(0.0) as usize).min(len);
    Window {
        start: at(from_s),
        end: at(to_s),
    }
}

/// The P, QRS and T windows of a beat of `len` samples (see the module docs).
pub fn wave_windows(len: usize) -> [Window; 3] {
    [
        window_at(-0.25, -0.08, len),
        window_at(-0.06, 0.06, len),
        window_at(0.10, 0.45, len),
    ]
}

/// Fractions of a map's mass in each region; they sum to 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RegionMass {
    /// P window.
    pub p: f64,
    /// QRS window.
    pub qrs: f64,
    /// T window.
    pub t: f64,
    /// The rest of the window.
    pub other: f64,
}

impl RegionMass {
    /// The four fractions in the order P, QRS, T, other.
    pub fn as_array(&self) -> [f64; 4] {
        [self.p, self.qrs, self.t, self.other]
    }
}

/// The fraction of `map`'s mass in the P, QRS, T windows and elsewhere; `None` if the map has
/// no positive mass (negative values, which Grad-CAM's ReLU never produces, count as 0).
pub fn region_mass(map: &[f32]) -> Option<RegionMass> {
    let m: Vec<f64> = map.iter().map(|&v| f64::from(v.max(0.0))).collect();
    let total: f64 = m.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    let [p, q, t] = wave_windows(map.len()).map(|w| m[w.start..w.end].iter().sum::<f64>() / total);
    Some(RegionMass {
        p,
        qrs: q,
        t,
        other: (1.0 - p - q - t).max(0.0),
    })
}

/// Running means of [`RegionMass`] over many maps.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MassSummary {
    /// Maps with mass that were averaged.
    pub n: usize,
    /// Maps skipped because they were zero everywhere.
    pub empty: usize,
    /// Mean fractions.
    pub mean: RegionMass,
    /// Length of the maps (set by the first [`MassSummary::add`]).
    pub len: usize,
}

impl MassSummary {
    /// Adds one map.
    pub fn add(&mut self, map: &[f32]) {
        self.len = map.len();
        match region_mass(map) {
            None => self.empty += 1,
            Some(r) => {
                self.n += 1;
                let k = self.n as f64;
                let upd = |mean: &mut f64, v: f64| *mean += (v - *mean) / k;
                upd(&mut self.mean.p, r.p);
                upd(&mut self.mean.qrs, r.qrs);
                upd(&mut self.mean.t, r.t);
                upd(&mut self.mean.other, r.other);
            }
        }
    }

    /// Mass per sample of each region relative to a flat map (P, QRS, T, other): the mean
    /// mass divided by the region's share of the samples. 1 means "no more than its width";
    /// the windows differ in width (QRS 15 samples, "other" 109 of 187), so the raw masses
    /// favour the wide regions and this ratio is what says where the attribution concentrates.
    pub fn enrichment(&self) -> Option<[f64; 4]> {
        if self.n == 0 || self.len == 0 {
            return None;
        }
        let len = self.len as f64;
        let widths = wave_windows(self.len).map(|w| (w.end - w.start) as f64);
        let other = len - widths.iter().sum::<f64>();
        let shares = [
            widths[0] / len,
            widths[1] / len,
            widths[2] / len,
            other / len,
        ];
        let m = self.mean.as_array();
        Some(std::array::from_fn(|i| {
            if shares[i] > 0.0 {
                m[i] / shares[i]
            } else {
                0.0
            }
        }))
    }

    /// The region with the largest mass per sample ([`MassSummary::enrichment`]) and its
    /// ratio, e.g. `"QRS 2.9×"`, or `"-"` without maps.
    pub fn dominant(&self) -> String {
        let Some(e) = self.enrichment() else {
            return "-".into();
        };
        let names = ["P", "QRS", "T", "other"];
        let mut best = 0;
        for i in 1..4 {
            if e[i] > e[best] {
                best = i;
            }
        }
        format!("{} {:.1}×", names[best], e[best])
    }
}
