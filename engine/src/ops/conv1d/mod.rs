//! 1D convolution over NCL tensors.
