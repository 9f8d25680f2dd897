//! ECG data: reading the PhysioNet databases (WFDB format), the built-in synthetic generator,
//! signal utilities, datasets and mini-batches.

pub mod batch;
pub mod fetch;
pub mod gp;
pub mod ludb;
pub mod mitbih;
pub mod nstdb;
pub mod resample;
pub mod signal;
pub mod synthetic;
pub mod wfdb;
pub mod windows;
