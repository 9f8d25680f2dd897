//! Cross-crate integration tests of ecgrad (the test files are listed in `tests/Cargo.toml`).

#![forbid(unsafe_code)]
