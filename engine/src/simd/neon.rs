//! NEON bodies (aarch64): 128-bit vectors of 4 f32 lanes. NEON is part of the aarch64 baseline,
//! so these need no run-time detection; they still go through [`super::Isa`] so tests can force
//! the scalar path on ARM too.
