//! Seed 004 (arXiv 2012.00493, "Problems of representation of electrocardiograms in
//! convolutional neural networks"): the experiment logic behind the `fig_04_*` binaries.
//!
//! | module | what |
//! |---|---|
//! | [`data`] | lead V6 of LUDB (or the synthetic stand-in), patient-wise split, windows, cycles |
//! | [`train`] | training an autoencoder, reconstructing, encoding, decoding, latent lines |
//! | [`measure`] | wave counts, centres of mass, trajectory continuity, masked errors |
//! | [`interp`] | measuring decoded interpolation paths; choosing close/far T-wave pairs |
//! | [`unpunished`] | the masked-loss ("unpunished region") fitting protocol |
//!
//! The binaries (`fig_04_ae_training`, `fig_04_interpolation`, `fig_04_cycle_interpolation`,
//! `fig_04_unpunished`, `fig_04_coordconv`) only parse arguments, call these, and write
//! figures, tables and `metrics.json`.

pub mod data;
pub mod interp;
pub mod measure;
pub mod train;
pub mod unpunished;
