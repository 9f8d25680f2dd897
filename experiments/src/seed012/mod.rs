//! Library code of the seed 000/001/002 experiments (issue 8, items 2–5): CNN basics for
//! educators, unsupervised and contrastive ECG features, edge-size models, and the 2D / residual
//! / transfer-learning lessons.
//!
//! - [`basics`]: a hand-set QRS kernel slid over an ECG, receptive fields, parameter counts.
//! - [`contrastive`]: the SimCLR loss NT-Xent from recorded autograd ops.
//! - [`encoder`]: the SimCLR-style beat encoder (BeatCnn stack + projection head), views.
//! - [`transfer`]: STFT images for 2D CNNs, LUDB beats with a diagnosis label and metadata.
//! - [`unsup`]: the beat autoencoder, batched feature extraction, reconstruction errors, probes.
//! - [`budget`]: stratified, seeded, nested label budgets (1 %, 10 %, 100 %; k per class).
//! - [`edge`]: FLOPs per example from a traced forward pass, median latency.
//! - [`data`]: `BeatCnn`-sized MIT-BIH beats with the inter-patient split (or synthetic beats).
//!
//! The binaries are `fig_00_cnn_basics`, `table_01_unsupervised`, `table_01_edge` and
//! `table_02_transfer`.

pub mod basics;
pub mod budget;
pub mod contrastive;
pub mod data;
pub mod edge;
pub mod encoder;
pub mod transfer;
pub mod unsup;
