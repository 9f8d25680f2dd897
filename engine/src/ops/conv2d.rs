//! 2D convolution over NCHW tensors by im2col + GEMM.
