//! Signal utilities for ECG: our own FFT, Butterworth and median filters (baseline-wander
//! removal, band-pass), the Pan–Tompkins R-peak detector with beat-by-beat scoring, and
//! augmentation (time-warp, amplitude scaling, noise; no flips).
//!
//! STFT spectrograms (time–frequency images for 2D CNNs) are in [`stft`].
//!
//! Reading order: [`fft`] → [`filter`] → [`pan_tompkins`](mod@pan_tompkins) → [`augment`]. Resampling lives in
//! `data::resample`. Filters work in f64 (long IIR recursions in f32 lose digits near DC).

pub mod augment;
pub mod fft;
pub mod filter;
pub mod pan_tompkins;
pub mod stft;

pub use augment::{AugmentConfig, augment_window};
pub use filter::{
    Biquad, Pass, butterworth, butterworth_bandpass, filtfilt, median_filter, remove_baseline,
    sosfilt,
};
pub use pan_tompkins::{DetectionScore, pan_tompkins, score_detections};
