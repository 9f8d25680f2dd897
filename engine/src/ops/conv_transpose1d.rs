//! Transposed 1D convolution (the decoder's learned upsampling).
