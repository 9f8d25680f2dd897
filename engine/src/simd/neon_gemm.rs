//! The NEON GEMM micro-kernel (aarch64): a 6×16 tile of C in twenty-four 4-lane registers.
