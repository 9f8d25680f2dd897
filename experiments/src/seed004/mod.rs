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
//! | [`fig_training`], [`fig_interp`], [`fig_cycle`], [`fig_unpunished`] | each binary's run (settings for `--quick` and full) and its figures/tables |
//! | [`output`] | tables (CSV + Markdown), `metrics.json`, the start/finish of every binary |
//!
//! The binaries (`fig_04_ae_training`, `fig_04_interpolation`, `fig_04_cycle_interpolation`,
//! `fig_04_unpunished`, `fig_04_coordconv`) only parse arguments, call these, and write
//! figures, tables and `metrics.json`.

pub mod data;
pub mod fig_cycle;
pub mod fig_interp;
pub mod fig_training;
pub mod fig_unpunished;
pub mod interp;
pub mod measure;
pub mod output;
pub mod train;
pub mod unpunished;
