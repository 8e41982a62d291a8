//! Building a large string entry allocates its final block once and nothing else of
//! its size: SETRANGE far past the end (padding) and APPEND of large values must peak
//! at one value's worth of memory, not two.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use shoal_storage::Entry;

/// Counts, per thread, allocations of at least [`BIG`] bytes and their peak live total.
struct Counting;

const BIG: usize = 1 << 20;

thread_local! {
    static BIG_ALLOCS: Cell<usize> = const { Cell::new(0) };
    static BIG_LIVE: Cell<usize> = const { Cell::new(0) };
    static BIG_PEAK: Cell<usize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    if size >= BIG {
        let _ = BIG_ALLOCS.try_with(|c| c.set(c.get() + 1));
        let _ = BIG_LIVE.try_with(|live| {
            live.set(live.get() + size);
            let _ = BIG_PEAK.try_with(|p| p.set(p.get().max(live.get())));
        });
    }
}

fn on_dealloc(size: usize) {
    if size >= BIG {
        let _ = BIG_LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
    }
}

// SAFETY: every call is forwarded to `System` with the same arguments; the counters
// are const-initialized thread-locals that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_dealloc(layout.size());
        // SAFETY: `ptr` came from `System` (every allocation above is `System`'s).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_dealloc(layout.size());
        on_alloc(new_size);
        // SAFETY: as for `dealloc`, and the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` on this thread and returns its result, the large allocations it made and
/// the peak of live bytes in large allocations above what was live before.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    let base = BIG_LIVE.with(Cell::get);
    BIG_ALLOCS.with(|c| c.set(0));
    BIG_PEAK.with(|p| p.set(base));
    let r = f();
    let allocs = BIG_ALLOCS.with(Cell::get);
    let peak = BIG_PEAK.with(Cell::get) - base;
    (r, allocs, peak)
}

#[test]
fn zero_padded_value_is_built_in_its_final_allocation() {
    const PAD: usize = 64 << 20;
    let (e, allocs, peak) =
        measure(|| Entry::new_str_zero_padded(b"key", b"ab", PAD, b"xyz", Some(7)));
    assert_eq!(allocs, 1, "one allocation for the whole entry");
    assert!(
        peak < PAD + 4096,
        "peak {peak} bytes for a {PAD}-byte value"
    );
    let v = e.as_str().expect("a string");
    assert_eq!(v.len(), 2 + PAD + 3);
    assert_eq!(&v[..2], b"ab");
    assert!(v[2..2 + PAD].iter().all(|&b| b == 0));
    assert_eq!(&v[2 + PAD..], b"xyz");
    assert_eq!(e.key(), b"key");
    assert_eq!(e.expire_at(), Some(7));
}

#[test]
fn large_parts_and_copies_allocate_once() {
    let big = vec![7u8; 8 << 20];
    let (e, allocs, peak) = measure(|| Entry::new_str_parts(b"k", &[&big, b"tail"], None));
    assert_eq!(allocs, 1);
    assert!(peak < big.len() + 4096, "peak {peak}");
    let v = e.as_str().expect("a string");
    assert_eq!(v.len(), big.len() + 4);
    assert!(v.ends_with(b"\x07tail"));
    let (copy, allocs, _) = measure(|| e.with_key_and_expire(b"other", Some(9)));
    assert_eq!(allocs, 1);
    assert_eq!(copy.as_str(), e.as_str());
    assert_eq!((copy.key(), copy.expire_at()), (&b"other"[..], Some(9)));
    // Small entries keep their stack fast path.
    let small = Entry::new_str_zero_padded(b"s", b"a", 3, b"b", None);
    assert_eq!(small.as_str(), Some(&b"a\0\0\0b"[..]));
}
