//! Criterion benchmarks: gemm (filled in by the engine issue).

fn main() {}
