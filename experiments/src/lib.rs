//! # ecgrad-experiments: ECG data, metrics, plots, and one binary per paper figure or table
//!
//! ## One ECG from file to figure
//! 1. [`data::wfdb::read_record`] reads a PhysioNet record (ndarray `[leads, samples]`, mV);
//!    [`data::mitbih`] / [`data::ludb`] cut beats or windows with labels ([`data::windows`]);
//!    without data, [`data::synthetic`] generates ECGs (the [`cli::CommonArgs`] decide which).
//! 2. [`data::batch::WindowDataset`] holds the windows (NCL) with labels and patient ids;
//!    [`train::Windows`] / [`train::Pairs`] turn it into seeded mini-batches.
//! 3. [`train::fit`] (or [`train::classifier::fit_classifier`]) trains a
//!    [`models::Module`] with early stopping and returns a
//!    [`train::History`]; [`train::predict`] gives the logits of a dataset.
//! 4. [`metrics`] scores them (confusion matrix, F1, ROC/AUC, bootstrap CIs by beat or by
//!    patient, SNR/PRD); [`calibration`] (temperature scaling, ECE, risk–coverage) and
//!    [`cluster`] (K-means, DBSCAN, ARI/NMI, PCA) go beyond accuracy.
//! 5. [`plot`] draws the figure (PNG + SVG), [`table`] writes the table (CSV + Markdown), and
//!    [`exp::Run`] records both, with `metrics.json` ([`report`]: atomic writes, provenance).
//!
//! ## Experiments
//! Every figure or table is a function `exp::<name>::run(&mut Run)` listed in [`exp::ALL`];
//! its binary `src/bin/<name>.rs` is one line (`exp::main_for("<name>")`) and `reproduce`
//! calls all of them in one process. The [`exp`] module docs spell out the pattern.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use ecgrad_models as models;

pub mod calibration;
pub mod cli;
pub mod cluster;
pub mod data;
pub mod denoise;
pub mod exp;
pub mod metrics;
pub mod npy;
pub mod plot;
pub mod report;
pub mod seed003;
pub mod seed004;
pub mod seed012;
pub mod table;
pub mod train;
