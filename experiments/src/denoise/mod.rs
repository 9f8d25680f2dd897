//! # Denoising: noise at a target SNR, classical baselines, metrics (ACDAE, seed 000)
//!
//! The pieces of `table_00_denoising`, each testable alone:
//! - [`segments`]: clean two-lead MIT-BIH (or synthetic) windows and the per-segment
//!   normalisation the network sees;
//! - [`noise`]: white Gaussian or NSTDB bw/em/ma noise added at an exact power-ratio SNR, with
//!   training and test noise from disjoint halves of each noise record;
//! - [`baselines`]: median baseline removal + Butterworth band-pass, and wavelet soft
//!   thresholding on our own DWT ([`wavelet`]);
//! - metrics: SNR_in/out, SNR improvement, RMSE, PRD are the shared
//!   [`crate::metrics::denoise_scores`] (PAPERS.md §B);
//! - [`run`]: training `Acdae` on freshly corrupted segments and evaluating it with the baselines;
//! - [`classify`]: beat accuracy of a trained `BeatCnn` on noisy vs denoised beats.

pub mod baselines;
pub mod classify;
pub mod noise;
pub mod run;
pub mod segments;
pub mod wavelet;
