//! Same seed → bit-identical results at 1 and 2 threads, across crates.

#![forbid(unsafe_code)]
