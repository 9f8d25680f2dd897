//! BLIS-style blocked GEMM: pack A and B into cache-sized panels, then run the micro-kernel.
