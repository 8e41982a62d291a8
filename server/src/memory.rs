//! Shoal's own count of the memory it has allocated: `used_memory`.
//!
//! The global allocator is jemalloc wrapped in [`Counting`], which adds the size
//! class of every allocation (what jemalloc really hands out: [`size_class`]) to a
//! per-thread counter and subtracts it on free. A thread's counter is folded into
//! one process-wide atomic whenever it has moved by [`FLUSH_AT`] bytes either way,
//! so reading `used_memory` is one relaxed load ([`used`]) and the hot path never
//! writes a shared cache line per allocation. The figure lags the truth by less than
//! `FLUSH_AT` per thread (a few hundred KiB with Shoal's threads): that is the
//! accuracy `maxmemory` is enforced with. Threads Shoal starts fold their counter in
//! when they end ([`flush_thread`]), so none leaves its share behind.
//!
//! Allocator statistics (jemalloc's `stats.*`, RSS) remain what INFO reports as
//! `allocator_*` and `used_memory_rss`; they are read on demand, never per command.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Bytes a thread's counter may drift before it is folded into [`USED`].
pub const FLUSH_AT: isize = 32 * 1024;

/// Bytes allocated, as folded in by every thread.
static USED: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// This thread's allocations not yet folded into [`USED`] (const-initialised and
    /// without a destructor: usable at any time, even while the thread exits), offset
    /// by [`UNREGISTERED`] until the thread's first fold registers [`FOLD_AT_EXIT`].
    static LOCAL: Cell<isize> = const { Cell::new(UNREGISTERED) };
    /// Folds the thread's counter in when the thread ends, whoever started it (an
    /// embedder's thread pool, a test harness): no thread leaves its share behind.
    static FOLD_AT_EXIT: FoldAtExit = const { FoldAtExit };
}

struct FoldAtExit;

/// [`LOCAL`]'s offset on a thread that has not registered [`FOLD_AT_EXIT`] yet: far
/// below `-FLUSH_AT`, so the thread's first allocation takes the fold path, which
/// registers. The hot path stays one add and one range check.
const UNREGISTERED: isize = isize::MIN / 2;

/// A [`LOCAL`] value without the [`UNREGISTERED`] offset.
#[inline]
fn unoffset(v: isize) -> isize {
    if v < UNREGISTERED / 2 {
        v - UNREGISTERED
    } else {
        v
    }
}

impl Drop for FoldAtExit {
    fn drop(&mut self) {
        flush_thread();
    }
}

/// The global allocator: jemalloc, counted.
pub struct Counting;

/// The size class jemalloc (5.x, 16-byte quantum, 4 KiB pages) rounds a request of
/// `size` bytes up to: 8, then multiples of 16 up to 128, then four classes per
/// doubling (160, 192, 224, 256, 320, ...), small and large alike.
#[inline(always)]
pub const fn size_class(size: usize) -> usize {
    if size <= 8 {
        8
    } else if size <= 128 {
        (size + 15) & !15
    } else {
        // size is in (2^(lg-1), 2^lg]: steps of 2^(lg-3) there.
        let lg = usize::BITS - (size - 1).leading_zeros();
        let delta = 1usize << (lg - 3);
        (size + delta - 1) & !(delta - 1)
    }
}

#[inline(always)]
fn class_of(layout: Layout) -> isize {
    size_class(layout.size().max(layout.align())) as isize
}

#[cfg(test)]
thread_local! {
    /// Everything this thread allocated less what it freed (tests only).
    static MINE: Cell<isize> = const { Cell::new(0) };
}

#[inline(always)]
fn add(delta: isize) {
    #[cfg(test)]
    MINE.with(|m| m.set(m.get() + delta));
    LOCAL.with(|local| {
        let v = local.get() + delta;
        if v >= FLUSH_AT || v <= -FLUSH_AT {
            fold(local, v);
        } else {
            local.set(v);
        }
    });
}

/// Folds `v` (this thread's counter, the allocation just made included) into
/// [`USED`]; on the thread's first call, registers its [`FOLD_AT_EXIT`] too.
/// Registering may allocate (through jemalloc's unprefixed `calloc`, which is not
/// this allocator, or through this one): the counter is reset first, so that an
/// allocation made meanwhile counts normally and nothing recurses.
#[cold]
#[inline(never)]
fn fold(local: &Cell<isize>, v: isize) {
    let mut v = v;
    if v < UNREGISTERED / 2 {
        local.set(0);
        // Touching the thread-local registers its destructor; it is unusable only
        // while the thread is already exiting, and then there is nothing to register.
        let _ = FOLD_AT_EXIT.try_with(|_| ());
        v = v - UNREGISTERED + local.get();
    }
    USED.fetch_add(v, Ordering::Relaxed);
    local.set(0);
}

// SAFETY: every method forwards to jemalloc's own GlobalAlloc implementation with the
// caller's arguments unchanged, so the caller's obligations carry over as they are;
// the only addition is arithmetic on a thread-local counter, which allocates nothing.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract for `layout`.
        let p = unsafe { tikv_jemallocator::Jemalloc.alloc(layout) };
        if !p.is_null() {
            add(class_of(layout));
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { tikv_jemallocator::Jemalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            add(class_of(layout));
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator with `layout` (the caller's
        // contract), i.e. by jemalloc with the same layout.
        unsafe { tikv_jemallocator::Jemalloc.dealloc(ptr, layout) };
        add(-class_of(layout));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc` for `ptr`/`layout`; `new_size` is valid per the caller.
        let p = unsafe { tikv_jemallocator::Jemalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let new = size_class(new_size.max(layout.align())) as isize;
            add(new - class_of(layout));
        }
        p
    }
}

/// Bytes allocated by the process as counted (`used_memory`): one relaxed load.
#[inline]
pub fn used() -> u64 {
    USED.load(Ordering::Relaxed).max(0) as u64
}

/// [`used`] with this thread's own unfolded share added (exact for what this thread
/// did: eviction reads it to see what it has just freed).
#[inline]
pub fn used_here() -> u64 {
    let local = unoffset(LOCAL.with(Cell::get));
    (USED.load(Ordering::Relaxed) + local).max(0) as u64
}

/// Folds this thread's counter into the shared one: threads call it as they end
/// (the runtime's `on_thread_stop`, Shoal's own background threads).
pub fn flush_thread() {
    LOCAL.with(|local| {
        let v = unoffset(local.replace(0));
        if v != 0 {
            USED.fetch_add(v, Ordering::Relaxed);
        }
    });
}

/// The share of a cgroup memory limit `maxmemory` defaults to: the rest is left to
/// what eviction does not count (client buffers, allocator fragmentation, the
/// binary itself).
pub const CGROUP_SHARE_PERCENT: u64 = 80;

/// The memory limit of the cgroup this process runs in, if it has one: cgroup v2's
/// `memory.max`, else v1's `memory.limit_in_bytes` (a limit at or above the
/// machine's memory is none).
pub fn cgroup_limit() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let physical = crate::process::meminfo_kb("MemTotal:").map(|kb| kb * 1024);
    cgroup_limit_in(&cgroup, std::path::Path::new("/sys/fs/cgroup"))
        .filter(|&limit| physical.is_none_or(|p| limit < p))
}

/// [`cgroup_limit`] from a `/proc/self/cgroup` text and the cgroup file system's
/// mount point. Inside a container the process's own cgroup is often mounted at the
/// root, so the root is tried after the named path.
pub fn cgroup_limit_in(proc_cgroup: &str, root: &std::path::Path) -> Option<u64> {
    let read = |p: std::path::PathBuf| -> Option<u64> {
        let text = std::fs::read_to_string(p).ok()?;
        let text = text.trim();
        if text == "max" {
            return None;
        }
        text.parse().ok()
    };
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_start_matches('/');
        let (dir, file) = if id == "0" && controllers.is_empty() {
            (root.to_path_buf(), "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            (root.join("memory"), "memory.limit_in_bytes")
        } else {
            continue;
        };
        let limit = read(dir.join(path).join(file)).or_else(|| read(dir.join(file)));
        if limit.is_some() {
            return limit;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_limits_are_read_from_v2_then_v1_files() {
        let dir = std::env::temp_dir().join(format!("shoal-cgroup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // v2: the process's own cgroup directory.
        std::fs::create_dir_all(dir.join("app.slice")).unwrap();
        std::fs::write(dir.join("app.slice/memory.max"), "536870912\n").unwrap();
        assert_eq!(cgroup_limit_in("0::/app.slice\n", &dir), Some(512 << 20));
        // "max" is no limit.
        std::fs::write(dir.join("app.slice/memory.max"), "max\n").unwrap();
        assert_eq!(cgroup_limit_in("0::/app.slice\n", &dir), None);
        // Inside a container: the named path is not mounted, the root holds it.
        std::fs::write(dir.join("memory.max"), "1073741824").unwrap();
        assert_eq!(cgroup_limit_in("0::/kubepods/pod1\n", &dir), Some(1 << 30));
        // v1: the memory controller's line.
        std::fs::create_dir_all(dir.join("memory/docker/abc")).unwrap();
        std::fs::write(
            dir.join("memory/docker/abc/memory.limit_in_bytes"),
            "268435456\n",
        )
        .unwrap();
        let v1 = "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n";
        assert_eq!(cgroup_limit_in(v1, &dir), Some(256 << 20));
        assert_eq!(cgroup_limit_in("4:cpu:/x\n", &dir), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn size_classes_are_jemallocs() {
        for size in (1..70_000).chain((1..64).map(|s| s << 16)) {
            // SAFETY: nallocx only computes a size; it allocates nothing.
            let theirs = unsafe { tikv_jemalloc_sys::nallocx(size, 0) };
            assert_eq!(size_class(size), theirs, "size {size}");
        }
    }

    #[test]
    fn the_count_follows_allocations_reallocations_and_frees() {
        // Other test threads allocate too: this thread's own tally is exact.
        let mine = || MINE.with(Cell::get);
        let before = mine();
        let mut v: Vec<u8> = Vec::with_capacity(1_000_000);
        assert_eq!(mine() - before, size_class(1_000_000) as isize);
        v.reserve_exact(3_000_000);
        assert_eq!(mine() - before, size_class(3_000_000) as isize);
        v.shrink_to(100);
        assert_eq!(mine() - before, size_class(100) as isize);
        drop(v);
        assert_eq!(mine(), before);
        let boxed = std::hint::black_box(Box::new([0u64; 3]));
        assert_eq!(mine() - before, 32);
        drop(boxed);
        assert_eq!(mine(), before);
    }
}
