//! Tensor-level matrix multiply with transpose flags.
