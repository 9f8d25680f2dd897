//! A bounded cache of large tensor buffers, so the training loop does not map and unmap memory
//! every step.
//!
//! # Why
//! glibc's malloc serves buffers above its mmap threshold (128 KiB, adjusted at run time) with a
//! fresh `mmap` and gives them back with `munmap` (or trims the heap top) when they are freed.
//! A BeatCnn step allocates and frees the same few dozen activation and gradient buffers every
//! step, so each step paid for page faults on first touch plus the unmaps: about a third of the
//! step's CPU time (PERFORMANCE.md, "Allocation matters").
//!
//! # Design (like PyTorch's CPU/CUDA caching allocator, in two lines)
//! Freed buffers of at least [`MIN_BYTES`] go into a global free list keyed by (element type,
//! capacity); a request takes the smallest cached buffer whose capacity is in `[n, n + n/4]`.
//! The cache holds at most [`CAP_BYTES`]; beyond that the largest cached buffers are released.
//!
//! [`Tensor`](crate::Tensor) storage returns its buffer here when the last owner drops it, and
//! the tensor constructors take from here. The lock is held only to push or pop one entry
//! (a few dozen times per training step), so contention is negligible.
//!
//! # Contents of a reused buffer
//! [`take_for_overwrite`] returns a buffer holding *old values* (still initialised memory, so
//! this is safe Rust): it is for kernels that write every element. In debug and test builds the
//! buffer is filled with NaN instead, so a kernel that leaves an element unwritten fails its
//! comparison with the naive twin. [`take_filled`] returns a buffer with every element set.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::real::Real;

/// Buffers smaller than this (in bytes) are left to malloc, which handles them well.
pub const MIN_BYTES: usize = 64 * 1024;

/// Upper bound on the bytes held by the cache (the bound that keeps memory flat).
pub const CAP_BYTES: usize = 256 * 1024 * 1024;

/// A cached `Vec<T>`, type-erased so one cache serves f32 and f64 (and `usize` index buffers).
type Entry = Box<dyn Any + Send>;

struct Cache {
    /// (element type, capacity in elements) → buffers of exactly that capacity.
    lists: BTreeMap<(TypeId, usize), Vec<(Entry, usize)>>,
    /// Bytes held (sum of capacity × element size).
    bytes: usize,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    lists: BTreeMap::new(),
    bytes: 0,
});

fn lock() -> std::sync::MutexGuard<'static, Cache> {
    // A panic while holding the lock cannot leave the map inconsistent (every operation is a
    // single insert or remove), so a poisoned lock is still usable.
    CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a buffer of `cap` elements of `E` is large enough to be cached.
fn cacheable<E>(cap: usize) -> bool {
    cap.saturating_mul(std::mem::size_of::<E>()) >= MIN_BYTES
}

/// A cached buffer with capacity in `[n, n + n/4]`, if there is one (its length is arbitrary).
fn take_cached<E: Copy + Send + 'static>(n: usize) -> Option<Vec<E>> {
    if !cacheable::<E>(n) {
        return None;
    }
    let tid = TypeId::of::<E>();
    let mut cache = lock();
    let key = *cache
        .lists
        .range((tid, n)..=(tid, n + n / 4))
        .find(|(_, list)| !list.is_empty())?
        .0;
    let list = cache
        .lists
        .get_mut(&key)
        .expect("invariant: key was just found");
    let (entry, bytes) = list.pop().expect("invariant: list is non-empty");
    if list.is_empty() {
        cache.lists.remove(&key);
    }
    cache.bytes -= bytes;
    drop(cache);
    let vec = entry
        .downcast::<Vec<E>>()
        .expect("invariant: entries are keyed by their TypeId");
    Some(*vec)
}

/// Gives a buffer back to the cache (or to malloc if it is small or the cache is full).
pub fn give_back<E: Copy + Send + 'static>(vec: Vec<E>) {
    let cap = vec.capacity();
    if !cacheable::<E>(cap) {
        return;
    }
    let bytes = cap * std::mem::size_of::<E>();
    if bytes > CAP_BYTES / 4 {
        return;
    }
    let tid = TypeId::of::<E>();
    let mut evicted: Vec<Entry> = Vec::new();
    {
        let mut cache = lock();
        // Release the largest cached buffers until this one fits under the cap.
        while cache.bytes + bytes > CAP_BYTES {
            let Some(mut last) = cache.lists.last_entry() else {
                break;
            };
            let (entry, b) = last
                .get_mut()
                .pop()
                .expect("invariant: lists are non-empty");
            if last.get().is_empty() {
                last.remove();
            }
            cache.bytes -= b;
            evicted.push(entry);
        }
        cache
            .lists
            .entry((tid, cap))
            .or_default()
            .push((Box::new(vec), bytes));
        cache.bytes += bytes;
    }
    // Evicted buffers are freed here, outside the lock.
    drop(evicted);
}

/// A buffer of `n` elements, each equal to `value` (reused when possible).
pub fn take_filled<E: Copy + Send + 'static>(n: usize, value: E) -> Vec<E> {
    match take_cached::<E>(n) {
        Some(mut v) => {
            v.clear();
            v.resize(n, value);
            v
        }
        None => vec![value; n],
    }
}

/// A buffer of `n` elements whose values are unspecified (old contents of a reused buffer; NaN
/// in debug builds): only for callers that overwrite every element.
pub fn take_for_overwrite<T: Real>(n: usize) -> Vec<T> {
    take_unspecified(n, T::from_f64(f64::NAN), T::ZERO)
}

/// [`take_for_overwrite`] for other element types (such as argmax indices): debug builds fill
/// the buffer with `poison`, a value the caller would notice if it survived.
pub fn take_for_overwrite_poisoned<E: Copy + Default + Send + 'static>(
    n: usize,
    poison: E,
) -> Vec<E> {
    take_unspecified(n, poison, E::default())
}

fn take_unspecified<E: Copy + Send + 'static>(n: usize, poison: E, zero: E) -> Vec<E> {
    match take_cached::<E>(n) {
        Some(mut v) => {
            if cfg!(debug_assertions) {
                v.clear();
                v.resize(n, poison);
            } else {
                // Keep the old values; only a tail beyond the old length needs writing.
                v.resize(n, zero);
            }
            v
        }
        // A fresh zeroed allocation comes from calloc/mmap and costs no memset.
        None if !cfg!(debug_assertions) => vec![zero; n],
        None => vec![poison; n],
    }
}

/// Bytes currently held by the cache (for tests and diagnostics).
pub fn cached_bytes() -> usize {
    lock().bytes
}

/// Empties the cache, returning every buffer to malloc.
pub fn clear() {
    let lists = {
        let mut cache = lock();
        cache.bytes = 0;
        std::mem::take(&mut cache.lists)
    };
    drop(lists);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_a_buffer_of_the_same_size_and_respects_the_bounds() {
        let n = 1 << 16; // 256 KiB of f32
        let v: Vec<f32> = take_filled(n, 1.0);
        let ptr = v.as_ptr();
        give_back(v);
        // Another test may take it concurrently; when we get one back it must be usable.
        let w: Vec<f32> = take_filled(n, 2.0);
        assert_eq!(w.len(), n);
        assert!(w.iter().all(|&x| x == 2.0));
        let _ = ptr;
        give_back(w);
        let u: Vec<f32> = take_for_overwrite(n - 10);
        assert_eq!(u.len(), n - 10);
        if cfg!(debug_assertions) {
            assert!(
                u.iter().all(|x| x.is_nan()),
                "debug builds poison reused buffers"
            );
        }
        give_back(u);
        // Small buffers and f64 requests never receive an f32 buffer.
        let d: Vec<f64> = take_filled(n / 2, 0.5);
        assert!(d.iter().all(|&x| x == 0.5));
        give_back(vec![0.0f32; 16]);
        assert!(cached_bytes() <= CAP_BYTES);
    }

    #[test]
    fn cache_never_exceeds_its_cap() {
        for i in 0..40 {
            give_back(vec![0.0f64; (CAP_BYTES / 8) / 5 + i]);
            assert!(cached_bytes() <= CAP_BYTES);
        }
        // Oversized buffers are not cached at all.
        let before = cached_bytes();
        give_back(vec![0u8; CAP_BYTES / 2]);
        assert!(cached_bytes() <= before.max(CAP_BYTES));
        clear();
    }
}
