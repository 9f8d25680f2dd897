//! Criterion benchmarks: conv1d (filled in by the engine issue).

fn main() {}
