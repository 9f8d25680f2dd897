//! Reductions over one axis: sum, mean, max.
