//! 2D max and average pooling over NCHW tensors.
