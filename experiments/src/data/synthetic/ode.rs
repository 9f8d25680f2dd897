//! Integrating the ECGSYN ODE (see the [module docs](super) for the equations) with fixed-step
//! fourth-order Runge–Kutta, one z per lead over a shared (x, y) limit-cycle trajectory.
//!
//! RK4 step for u̇ = f(t, u) with step h:
//! k₁ = f(t, u), k₂ = f(t + h/2, u + h·k₁/2), k₃ = f(t + h/2, u + h·k₂/2), k₄ = f(t + h, u + h·k₃),
//! u ← u + h·(k₁ + 2k₂ + 2k₃ + k₄)/6. Local error O(h⁵).
//!
//! The internal rate is q·fs with q chosen so that q·fs ≥ 1024 Hz (ECGSYN: 512 Hz for 256 Hz
//! output): the narrowest normal event (the QRS, b/ω ≈ 16 ms) then spans ≥ 16 steps. The output
//! keeps every q-th state, like `ecgsyn.m`'s decimation. Cost: O(samples·q·leads·6).

use super::rr::{RrParams, rr_at, rr_process};
use super::{BeatClass, WaveKind, WaveTable};
use ecgrad_engine::{Error, Rng};
use ndarray::Array2;
use std::f64::consts::{FRAC_PI_2, PI};

/// Everything that defines one synthetic record. Equal configs give bit-identical records.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    /// Output sampling rate in Hz (any positive rate; 360 for MIT-BIH-like, 500 for LUDB-like).
    pub fs: f64,
    /// Number of beats (complete limit-cycle revolutions) to generate.
    pub n_beats: usize,
    /// The RR (heart-rate variability) process.
    pub rr: RrParams,
    /// The normal-beat wave table before heart-rate scaling ([`WaveTable::paper`] by default).
    pub table: WaveTable,
    /// Class of each beat; shorter than `n_beats` ⇒ the rest are N. Empty ⇒ pure ECGSYN.
    pub classes: Vec<BeatClass>,
    /// Leads to integrate: a name and per-wave amplitude gains (P, Q, R, S, T). Lead 0 is the
    /// reference whose normal beats are scaled to 1.6 mV peak to peak.
    pub leads: Vec<(String, [f64; 5])>,
    /// Respiratory baseline amplitude A in model units (`ecgsyn.m`: 0.005, ≈ 0.15 mV).
    pub baseline_amplitude: f64,
    /// Uniform measurement noise amplitude in mV (ECGSYN's Anoise; 0 by default).
    pub noise_mv: f64,
    /// Per-beat relative jitter of wave amplitudes (and half as much on widths); 0 = ECGSYN.
    pub morphology_jitter: f64,
    /// Internal oversampling factor q (0 = automatic: smallest q with q·fs ≥ 1024 Hz).
    pub oversample: usize,
    /// Seed; named streams "rr", "timing", "morphology", "noise" are derived from it.
    pub seed: u64,
}

impl Default for SynthConfig {
    /// ECGSYN's defaults (256 Hz, 256 beats, 60 ± 1 bpm, LF/HF 0.5, no noise), one lead.
    fn default() -> Self {
        SynthConfig {
            fs: 256.0,
            n_beats: 256,
            rr: RrParams::default(),
            table: WaveTable::paper(),
            classes: Vec::new(),
            leads: vec![("ecg".to_string(), [1.0; 5])],
            baseline_amplitude: 0.005,
            noise_mv: 0.0,
            morphology_jitter: 0.0,
            oversample: 0,
            seed: 0,
        }
    }
}

/// One generated beat and where its events landed.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticBeat {
    /// The beat's class.
    pub class: BeatClass,
    /// Sample index of the R event (θ crossing 0) — the annotation a cardiologist would place.
    pub r_sample: usize,
    /// Fractional sample positions where θ crossed each event angle θᵢ (P, Q, R, S, T, spike);
    /// `None` for absent events.
    pub waves: [Option<f64>; 6],
    /// Interval from the previous beat's R event, seconds (`None` for the first beat).
    pub rr: Option<f64>,
}

/// A generated multi-lead record.
#[derive(Clone, Debug)]
pub struct SyntheticRecord {
    /// Sampling rate in Hz.
    pub fs: f64,
    /// Lead names, one per row of `signals`.
    pub lead_names: Vec<String>,
    /// Signals in mV, shape [leads, samples].
    pub signals: Array2<f32>,
    /// The beats in time order.
    pub beats: Vec<SyntheticBeat>,
    /// The model-to-mV gain that was applied (after subtracting each lead's median).
    pub gain_mv: f64,
    /// Provenance text for reports ("synthetic ECGSYN …, seed …").
    pub source: String,
}

/// Per-beat plan: morphology per lead, active-arc speed ω, its arc, diastolic speed before it.
struct BeatPlan {
    class: BeatClass,
    base: WaveTable,
    leads: Vec<WaveTable>,
    omega: f64,
    arc: (f64, f64),
    omega_dia: f64,
}

fn invalid(name: &'static str, value: String, why: &str) -> Error {
    Error::InvalidParam {
        op: "synthetic::generate",
        name,
        value,
        why: why.to_string(),
    }
}

fn validate(cfg: &SynthConfig) -> Result<(), Error> {
    if !(cfg.fs.is_finite() && cfg.fs >= 50.0 && cfg.fs <= 20_000.0) {
        return Err(invalid(
            "fs",
            cfg.fs.to_string(),
            "must be in [50, 20000] Hz",
        ));
    }
    if cfg.n_beats == 0 || cfg.n_beats > 1_000_000 {
        return Err(invalid(
            "n_beats",
            cfg.n_beats.to_string(),
            "must be in 1..=1e6",
        ));
    }
    if !(cfg.rr.hr_mean >= 20.0 && cfg.rr.hr_mean <= 250.0) {
        return Err(invalid(
            "hr_mean",
            cfg.rr.hr_mean.to_string(),
            "must be in [20, 250] bpm",
        ));
    }
    if !(cfg.rr.hr_std >= 0.0 && cfg.rr.hr_std < cfg.rr.hr_mean / 4.0) {
        return Err(invalid(
            "hr_std",
            cfg.rr.hr_std.to_string(),
            "must be in [0, hr_mean/4)",
        ));
    }
    if cfg.leads.is_empty() {
        return Err(invalid("leads", "[]".into(), "need at least one lead"));
    }
    if cfg.classes.len() > cfg.n_beats {
        return Err(invalid(
            "classes",
            cfg.classes.len().to_string(),
            "longer than n_beats",
        ));
    }
    for (name, v) in [
        ("noise_mv", cfg.noise_mv),
        ("morphology_jitter", cfg.morphology_jitter),
        ("baseline_amplitude", cfg.baseline_amplitude),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(invalid(name, v.to_string(), "must be finite and ≥ 0"));
        }
    }
    Ok(())
}

/// Plans every beat: class, morphology, sinus RR from the RR process and the premature/pause
/// timing rules (our extension; see the module docs):
/// S: interval c·RR with c ~ U(0.65, 0.85), next beat resets the sinus node (no pause);
/// V: c ~ U(0.65, 0.8), next interval (2 − c)·RR (compensatory pause, R–R–R spans 2·RR);
/// F: c ~ U(0.9, 1.0); N and paced Q: RR.
fn plan_beats(cfg: &SynthConfig) -> Vec<BeatPlan> {
    let rr_mean = 60.0 / cfg.rr.hr_mean;
    let n_rr = ((cfg.n_beats as f64 * rr_mean * 1.5).ceil() as usize + 8).next_power_of_two();
    let series = rr_process(&cfg.rr, n_rr.max(16), &mut Rng::stream(cfg.seed, "rr"));
    let mut timing = Rng::stream(cfg.seed, "timing");
    let mut morph = Rng::stream(cfg.seed, "morphology");
    let normal = cfg.table.scaled_for_heart_rate(cfg.rr.hr_mean);
    let mut plans: Vec<BeatPlan> = Vec::with_capacity(cfg.n_beats);
    let mut t_r = 0.0; // time of the previous R event (s), approximately
    let mut previous_prematurity: Option<f64> = None;
    for k in 0..cfg.n_beats {
        let class = cfg.classes.get(k).copied().unwrap_or(BeatClass::N);
        let rr_sinus = rr_at(&series, t_r);
        let c = match class {
            BeatClass::S => timing.uniform_range(0.65, 0.85),
            BeatClass::V => timing.uniform_range(0.65, 0.8),
            BeatClass::F => timing.uniform_range(0.9, 1.0),
            BeatClass::N | BeatClass::Q => match previous_prematurity {
                Some(c_prev) => 2.0 - c_prev,
                None => 1.0,
            },
        };
        previous_prematurity = (class == BeatClass::V).then_some(c);
        let rr_target = if k == 0 { rr_sinus } else { c * rr_sinus };
        let mut base = WaveTable::for_class(&normal, class);
        if cfg.morphology_jitter > 0.0 {
            for w in base.waves.iter_mut() {
                w.a *= 1.0 + cfg.morphology_jitter * morph.normal();
                w.b *= (1.0 + 0.5 * cfg.morphology_jitter * morph.normal()).max(0.5);
            }
        }
        let leads = cfg.leads.iter().map(|(_, g)| base.with_gains(*g)).collect();
        let omega = 2.0 * PI / rr_sinus;
        let arc = base.active_arc();
        let omega_dia = match plans.last() {
            None => omega,
            Some(prev) => {
                // Time spent on the active arcs around the diastole, then solve for its speed.
                let t_active = prev.arc.1 / prev.omega + (-arc.0) / omega;
                let arc_dia = (PI - prev.arc.1) + (arc.0 + PI);
                let t_dia = (rr_target - t_active).max(0.05 * rr_sinus);
                arc_dia / t_dia
            }
        };
        plans.push(BeatPlan {
            class,
            base,
            leads,
            omega,
            arc,
            omega_dia,
        });
        t_r += rr_target;
    }
    plans
}

/// The phase speed ω at angle θ during revolution `k` (see "premature timing" in the module
/// docs): diastolic speed before the active arc and after it (the latter belongs to the
/// interval ending at the next beat), the beat's own ω on the arc.
fn omega_at(plans: &[BeatPlan], k: usize, theta: f64) -> f64 {
    let p = &plans[k];
    if theta < p.arc.0 {
        p.omega_dia
    } else if theta < p.arc.1 {
        p.omega
    } else {
        plans.get(k + 1).map_or(p.omega, |next| next.omega_dia)
    }
}

/// The right-hand side f(t, u) of the ODE; u = [x, y, z₀ … z_{L−1}].
fn derivative(
    plans: &[BeatPlan],
    k: usize,
    theta_start: f64,
    t: f64,
    u: &[f64],
    du: &mut [f64],
    cfg: &SynthConfig,
) {
    let (x, y) = (u[0], u[1]);
    let alpha = 1.0 - (x * x + y * y).sqrt();
    let theta = y.atan2(x);
    // A stage that has already wrapped past ±π belongs to the next revolution.
    let k = if theta_start > FRAC_PI_2 && theta < -FRAC_PI_2 {
        (k + 1).min(plans.len() - 1)
    } else {
        k
    };
    let omega = omega_at(plans, k, theta);
    du[0] = alpha * x - omega * y;
    du[1] = alpha * y + omega * x;
    let z0 = cfg.baseline_amplitude * (2.0 * PI * cfg.rr.hf_hz * t).sin();
    for (lead, table) in plans[k].leads.iter().enumerate() {
        let mut forcing = 0.0;
        for w in table.waves.iter().filter(|w| w.a != 0.0) {
            // rem(θ − θᵢ, 2π) with the sign of the dividend, exactly as ecgsyn's derivsecgsyn.m.
            let d = (theta - w.theta) % (2.0 * PI);
            forcing += w.a * d * (-d * d / (2.0 * w.b * w.b)).exp();
        }
        du[2 + lead] = -forcing - (u[2 + lead] - z0);
    }
}

/// Generates one synthetic record (see the module docs for the model and our extensions).
///
/// # Errors
/// [`Error::InvalidParam`] for a sampling rate outside [50, 20000] Hz, zero beats, a heart rate
/// outside [20, 250] bpm, hr_std ≥ hr_mean/4, no leads, more classes than beats, or a negative
/// or non-finite noise/jitter/baseline.
pub fn generate(cfg: &SynthConfig) -> Result<SyntheticRecord, Error> {
    validate(cfg)?;
    let plans = plan_beats(cfg);
    let q = if cfg.oversample > 0 {
        cfg.oversample
    } else {
        (1024.0 / cfg.fs).ceil().max(1.0) as usize
    };
    let h = 1.0 / (q as f64 * cfg.fs);
    let n_leads = cfg.leads.len();
    // Start at θ = −π (just below, so atan2 does not report +π): the first beat is complete.
    let mut u = vec![0.0; 2 + n_leads];
    u[0] = -1.0;
    u[1] = -1e-9;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n_leads];
    let mut revolution_start = vec![0usize];
    let mut beats: Vec<SyntheticBeat> = plans
        .iter()
        .map(|p| SyntheticBeat {
            class: p.class,
            r_sample: 0,
            waves: [None; 6],
            rr: None,
        })
        .collect();
    let (mut k1, mut k2, mut k3, mut k4) = (u.clone(), u.clone(), u.clone(), u.clone());
    let mut tmp = u.clone();
    let mut k = 0usize;
    let total_time: f64 = plans.iter().map(|p| 2.0 * PI / p.omega).sum::<f64>() * 3.0 + 2.0;
    let max_steps = (total_time / h) as usize;
    let mut step = 0usize;
    while k < plans.len() {
        if step >= max_steps {
            return Err(invalid(
                "n_beats",
                cfg.n_beats.to_string(),
                "integration did not finish (internal)",
            ));
        }
        if step.is_multiple_of(q) {
            for lead in 0..n_leads {
                samples[lead].push(u[2 + lead]);
            }
        }
        let t = step as f64 * h;
        let theta0 = u[1].atan2(u[0]);
        derivative(&plans, k, theta0, t, &u, &mut k1, cfg);
        for i in 0..u.len() {
            tmp[i] = u[i] + 0.5 * h * k1[i];
        }
        derivative(&plans, k, theta0, t + 0.5 * h, &tmp, &mut k2, cfg);
        for i in 0..u.len() {
            tmp[i] = u[i] + 0.5 * h * k2[i];
        }
        derivative(&plans, k, theta0, t + 0.5 * h, &tmp, &mut k3, cfg);
        for i in 0..u.len() {
            tmp[i] = u[i] + h * k3[i];
        }
        derivative(&plans, k, theta0, t + h, &tmp, &mut k4, cfg);
        for i in 0..u.len() {
            u[i] += h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0;
        }
        step += 1;
        let theta1 = u[1].atan2(u[0]);
        // Crossings of each event angle within this step (linear interpolation in θ).
        let (lo, hi, beat) = if theta0 > FRAC_PI_2 && theta1 < -FRAC_PI_2 {
            k += 1;
            revolution_start.push(step / q);
            (-PI, theta1, k)
        } else {
            (theta0, theta1, k)
        };
        if beat < plans.len() {
            for (i, w) in plans[beat].base.waves.iter().enumerate() {
                if w.a != 0.0 && lo < w.theta && w.theta <= hi {
                    let frac = (w.theta - lo) / (hi - lo);
                    beats[beat].waves[i] = Some((step as f64 - 1.0 + frac) / q as f64);
                }
            }
        }
    }
    // Beats whose R was never crossed cannot happen (R = 0 lies inside every revolution), but
    // fall back to the revolution's middle rather than panicking.
    for (i, b) in beats.iter_mut().enumerate() {
        let r = b.waves[WaveKind::R as usize]
            .unwrap_or((revolution_start[i] + revolution_start[i + 1]) as f64 / 2.0);
        b.r_sample = r.round() as usize;
    }
    for i in 1..beats.len() {
        beats[i].rr = Some((beats[i].r_sample as f64 - beats[i - 1].r_sample as f64) / cfg.fs);
    }
    // Gain: normal beats of lead 0 span 1.6 mV peak to peak (all samples if there are none).
    let reference = &samples[0];
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (i, b) in beats.iter().enumerate() {
        if b.class == BeatClass::N {
            for &v in &reference[revolution_start[i]..revolution_start[i + 1].min(reference.len())]
            {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if hi.is_nan() || lo.is_nan() || hi <= lo {
        lo = reference.iter().copied().fold(f64::INFINITY, f64::min);
        hi = reference.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    }
    let gain_mv = if hi > lo { 1.6 / (hi - lo) } else { 1.0 };
    let n_samples = reference.len();
    let mut noise = Rng::stream(cfg.seed, "noise");
    let mut signals = Array2::<f32>::zeros((n_leads, n_samples));
    for lead in 0..n_leads {
        let mut sorted = samples[lead].clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        for (t, &v) in samples[lead].iter().enumerate() {
            let e = if cfg.noise_mv > 0.0 {
                cfg.noise_mv * noise.uniform_range(-1.0, 1.0)
            } else {
                0.0
            };
            signals[[lead, t]] = ((v - median) * gain_mv + e) as f32;
        }
    }
    Ok(SyntheticRecord {
        fs: cfg.fs,
        lead_names: cfg.leads.iter().map(|(n, _)| n.clone()).collect(),
        signals,
        beats,
        gain_mv,
        source: format!(
            "synthetic ECGSYN (McSharry et al. 2003) at {} Hz, {} beats, {:.1} ± {:.1} bpm, seed {}",
            cfg.fs, cfg.n_beats, cfg.rr.hr_mean, cfg.rr.hr_std, cfg.seed
        ),
    })
}
