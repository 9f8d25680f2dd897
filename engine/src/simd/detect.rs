//! The [`Isa`] enum and how the process (or one thread) chooses its instruction set.
//!
//! Detection runs once ([`detected`]): AVX2+FMA on x86_64 when the CPU has both, NEON on
//! aarch64 (part of its baseline), otherwise [`Isa::Scalar`]. `ECGRAD_ISA=scalar|avx2|neon` can
//! only *lower* that choice; asking for an instruction set this CPU lacks is an [`Error::Isa`],
//! never a crash. A per-thread override ([`with_isa`]) lets tests and benches compare ISAs.

use crate::error::{Error, Result};
use std::cell::Cell;
use std::sync::OnceLock;

/// An instruction set the kernels can run on. Ordered: a later variant is "more" than `Scalar`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust loops; always available, and the f64 path.
    Scalar,
    /// x86_64 AVX2 with fused multiply-add (256-bit vectors, 8 f32 lanes).
    Avx2Fma,
    /// aarch64 Advanced SIMD (128-bit vectors, 4 f32 lanes).
    Neon,
}

impl Isa {
    /// The short name used by `ECGRAD_ISA` and in reports: `scalar`, `avx2`, `neon`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2Fma => "avx2",
            Isa::Neon => "neon",
        }
    }

    /// Parses a short name (`scalar`, `avx2`, `neon`; case-insensitive).
    pub fn parse(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Some(Isa::Scalar),
            "avx2" | "avx2fma" | "avx2+fma" => Some(Isa::Avx2Fma),
            "neon" => Some(Isa::Neon),
            _ => None,
        }
    }

    /// Whether this CPU can execute the instruction set.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            // NEON is part of the aarch64 baseline: every aarch64 CPU has it.
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The best instruction set this CPU supports, ignoring `ECGRAD_ISA`.
    pub fn best_supported() -> Isa {
        [Isa::Avx2Fma, Isa::Neon]
            .into_iter()
            .find(|isa| isa.is_supported())
            .unwrap_or(Isa::Scalar)
    }

    /// Every instruction set the kernels may use here: the scalar path plus the detected SIMD one,
    /// unless `ECGRAD_ISA` lowered the choice to scalar. Tests loop over this list.
    pub fn available() -> Vec<Isa> {
        match detected() {
            Ok(Isa::Scalar) | Err(_) => vec![Isa::Scalar],
            Ok(best) => vec![Isa::Scalar, best],
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Applies the `ECGRAD_ISA` request (if any) to the best supported ISA.
pub(crate) fn choose(request: Option<&str>) -> Result<Isa> {
    let best = Isa::best_supported();
    let Some(request) = request else {
        return Ok(best);
    };
    let Some(wanted) = Isa::parse(request) else {
        return Err(Error::Isa(format!(
            "ECGRAD_ISA={request:?} is not one of scalar, avx2, neon"
        )));
    };
    if wanted == Isa::Scalar || wanted == best {
        Ok(wanted)
    } else {
        Err(Error::Isa(format!(
            "ECGRAD_ISA={request} asks for {wanted}, which this CPU cannot run \
             (best available: {best}); ECGRAD_ISA can only lower the choice"
        )))
    }
}

/// The process-wide instruction set: detected once, lowered by `ECGRAD_ISA` if set.
///
/// # Errors
/// [`Error::Isa`] if `ECGRAD_ISA` names an unknown ISA or one this CPU cannot run.
pub fn detected() -> Result<Isa> {
    static DETECTED: OnceLock<Result<Isa>> = OnceLock::new();
    DETECTED
        .get_or_init(|| choose(std::env::var("ECGRAD_ISA").ok().as_deref()))
        .clone()
}

thread_local! {
    /// A per-thread override set by [`with_isa`] (tests, benches comparing ISAs).
    static OVERRIDE: Cell<Option<Isa>> = const { Cell::new(None) };
}

/// The instruction set the kernels use on this thread: the [`with_isa`] override if one is set,
/// otherwise [`detected`].
///
/// # Panics
/// If `ECGRAD_ISA` is invalid. Every tensor-level op calls [`try_isa`] first and returns that
/// error instead, so the panic is only reachable by calling a raw kernel directly.
pub fn isa() -> Isa {
    match OVERRIDE.with(Cell::get) {
        Some(isa) => isa,
        None => detected().unwrap_or_else(|e| panic!("{e}")),
    }
}

/// Like [`isa`], but returns the `ECGRAD_ISA` error instead of panicking.
///
/// # Errors
/// [`Error::Isa`] if `ECGRAD_ISA` is invalid.
pub fn try_isa() -> Result<Isa> {
    match OVERRIDE.with(Cell::get) {
        Some(isa) => Ok(isa),
        None => detected(),
    }
}

/// Runs `f` with this thread's kernels pinned to `isa`, restoring the previous choice after.
///
/// # Errors
/// [`Error::Isa`] if this CPU cannot run `isa`.
pub fn with_isa<R>(isa: Isa, f: impl FnOnce() -> R) -> Result<R> {
    if !isa.is_supported() {
        return Err(Error::Isa(format!("{isa} is not supported by this CPU")));
    }
    let previous = OVERRIDE.with(|o| o.replace(Some(isa)));
    // Restore even if `f` panics, so one failing test cannot pin the ISA of the next.
    struct Restore(Option<Isa>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(previous);
    Ok(f())
}

/// Sets this thread's override without a scope; used by rayon pool start handlers.
pub(crate) fn set_thread_isa(isa: Option<Isa>) {
    OVERRIDE.with(|o| o.set(isa));
}
