//! Shared pieces of the criterion benchmarks: ECG-realistic shape tables, FLOP formulas and
//! input builders.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
