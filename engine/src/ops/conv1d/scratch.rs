//! Per-thread reusable scratch buffers, so the convolution's hot path does not allocate.
//!
//! Each thread keeps a small pool of vectors. [`with_scratch`] *takes* a buffer out of the pool
//! (or makes one the first time), zero-fills the requested length, runs the closure, and puts the
//! buffer back. Taking instead of borrowing matters with rayon: while a thread waits for a
//! parallel loop it may run another task that also wants scratch space; that task simply finds
//! another (or a new) buffer instead of hitting a `RefCell` double borrow. A buffer keeps its
//! capacity, so after the first call of a given size no memory is mapped or freed (PERFORMANCE.md:
//! glibc maps and unmaps large blocks on every allocation otherwise).
//!
//! The pool is type-erased (`Box<dyn Any>`) because a `thread_local!` cannot be generic over the
//! element type; `downcast` picks the buffers of the right type, safely.

use std::any::Any;
use std::cell::RefCell;

use crate::real::Real;

thread_local! {
    static POOL: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a zero-filled scratch slice of `len` elements borrowed from this thread's pool.
pub(crate) fn with_scratch<T: Real, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    scratch(len, true, f)
}

/// [`with_scratch`] without the zero fill: the slice holds whatever the buffer held before
/// (stale values, never uninitialised memory), for callers that overwrite all of it.
pub(crate) fn with_scratch_for_overwrite<T: Real, R>(
    len: usize,
    f: impl FnOnce(&mut [T]) -> R,
) -> R {
    scratch(len, false, f)
}

fn scratch<T: Real, R>(len: usize, zero: bool, f: impl FnOnce(&mut [T]) -> R) -> R {
    let taken = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let i = pool.iter().position(|b| b.is::<Vec<T>>())?;
        Some(pool.swap_remove(i))
    });
    let mut buf: Vec<T> = match taken.map(|b| b.downcast::<Vec<T>>()) {
        Some(Ok(b)) => *b,
        _ => Vec::new(),
    };
    if zero {
        buf.clear();
    }
    buf.resize(len, T::ZERO);
    let out = f(&mut buf);
    POOL.with(|pool| pool.borrow_mut().push(Box::new(buf)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_is_zeroed_reused_and_nestable() {
        with_scratch::<f32, _>(8, |a| {
            a.fill(3.0);
            // A nested request gets a different buffer, not a double borrow.
            with_scratch::<f32, _>(4, |b| {
                assert!(b.iter().all(|&v| v == 0.0));
                b.fill(1.0);
            });
        });
        with_scratch::<f32, _>(16, |a| assert!(a.iter().all(|&v| v == 0.0)));
        with_scratch::<f64, _>(2, |a| assert_eq!(a, &[0.0, 0.0]));
    }

    #[test]
    fn scratch_for_overwrite_has_the_asked_length() {
        with_scratch_for_overwrite::<f32, _>(8, |a| a.fill(5.0));
        with_scratch_for_overwrite::<f32, _>(3, |a| assert_eq!(a.len(), 3));
        with_scratch_for_overwrite::<f32, _>(20, |a| assert_eq!(a.len(), 20));
    }
}
