//! # ecgrad-experiments: ECG data, metrics, plots, and one binary per paper figure or table
//!
//! Work in progress: the data readers and experiment binaries come with their issues.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use ecgrad_models as models;

pub mod calibration;
pub mod cli;
pub mod data;
pub mod metrics;
pub mod plot;
pub mod report;
pub mod seed003;
pub mod train;
