//! Elementwise ops: add, sub, mul, scale, axpy and the channel-broadcast bias add.
