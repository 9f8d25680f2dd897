//! # Seed 003: arrhythmia classification on MIT-BIH (arXiv 2602.17701), the experiment logic
//!
//! The paper compares a CNN, a CNN-LSTM, a CNN-LSTM with attention and a ResNet-1D on MIT-BIH
//! beats (five AAMI classes), with GAN augmentation of the minority classes, focal loss,
//! ensembles (its best, "Top2-Weighted", F1 0.958) and Grad-CAM. Only its abstract is known
//! (`PAPERS.md` §A); what it leaves open is decided here and stated in every report.
//!
//! The binaries (`table_03_models`, `table_03_ensembles`, `fig_03_roc`, `fig_03_gradcam`,
//! `fig_03_selective`) are thin: they parse arguments and write files. The logic lives here:
//!
//! - [`protocol`]: the beats (187 samples at 125 Hz, min–max per beat) and the two protocols,
//!   intra-patient (stratified random beats) and inter-patient (de Chazal DS1 → DS2, validation
//!   by patient);
//! - [`zoo`]: the four networks by name, and MC-dropout mode;
//! - [`spec`]: what determines a trained model (protocol, network, loss, GAN ratio, seed,
//!   hyper-parameters) and the checkpoint cache shared by the binaries;
//! - [`regions`]: Grad-CAM mass in the P, QRS and T windows.
//!
//! Reading path of one beat: WFDB record → `data::mitbih::load_beats` (MLII, 360 → 125 Hz,
//! window R−62…R+125, min–max) → [`protocol::Part`] (`WindowDataset` + record + R sample) →
//! mini-batches `[b, 1, 187]` → a [`zoo::Net`] → logits `[b, classes]` → softmax →
//! metrics, ensembles, calibration, predictions.csv.

pub mod common;
pub mod ensembles;
pub mod evaluate;
pub mod gan_aug;
pub mod output;
pub mod protocol;
pub mod regions;
pub mod run;
pub mod spec;
pub mod zoo;
