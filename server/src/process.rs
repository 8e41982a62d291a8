//! Facts about the running process that several modules report: allocator
//! statistics (INFO memory, MEMORY STATS, the RDB `used-mem` aux field), CPU time,
//! the operating system's name. No server state here.

use std::sync::atomic::{AtomicU64, Ordering};

/// Allocator and process memory figures, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryFigures {
    /// `used_memory`: Shoal's own count of the bytes it allocated, less client
    /// buffers (see [`crate::evict::Evictor::used_memory`]).
    pub used: u64,
    /// Bytes allocated by the program (jemalloc `stats.allocated`).
    pub allocated: u64,
    /// Bytes in active pages (jemalloc `stats.active`).
    pub active: u64,
    /// Bytes in physically resident allocator pages (jemalloc `stats.resident`).
    pub resident: u64,
    /// Resident set size of the process (`/proc/self/status` VmRSS, else `resident`).
    pub rss: u64,
    /// Highest `used` seen so far (readings and the eviction thread's ticks).
    pub peak: u64,
}

/// The peak of `used_memory` over every reading, for the process (the count is
/// process-wide, so the peak is too).
static PEAK: AtomicU64 = AtomicU64::new(0);

/// Notes `used_memory` (`used`) for the peak; returns the peak.
pub fn note_peak(used: u64) -> u64 {
    PEAK.fetch_max(used, Ordering::Relaxed).max(used)
}

/// Reads the allocator statistics now (advancing jemalloc's epoch so they are fresh)
/// and updates the peak with `used` (`used_memory`).
pub fn memory_figures(used: u64) -> MemoryFigures {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    let allocated = stats::allocated::read().unwrap_or(0) as u64;
    let active = stats::active::read().unwrap_or(0) as u64;
    let resident = stats::resident::read().unwrap_or(0) as u64;
    let rss = proc_status_kb("VmRSS:").map_or(resident, |kb| kb * 1024);
    let peak = note_peak(used);
    MemoryFigures {
        used,
        allocated,
        active,
        resident,
        rss,
        peak,
    }
}

/// The jemalloc version, as Redis's `mem_allocator` shows it (`jemalloc-5.3.0`).
pub fn allocator_name() -> String {
    let version = tikv_jemalloc_ctl::version::read().unwrap_or("5");
    let short = version.split('-').next().unwrap_or(version);
    format!("jemalloc-{short}")
}

/// (system, user) CPU seconds used by the process.
pub fn cpu_times() -> (f64, f64) {
    // /proc/<pid>/stat counts in USER_HZ ticks, which the kernel ABI fixes at 100.
    const TICKS: f64 = 100.0;
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0) as f64
            / TICKS
    };
    (tick(12), tick(11))
}

/// `Linux 6.1.0 x86_64`, as Redis prints uname's sysname, release and machine.
pub fn os_name() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .ok()
    };
    match (
        read("/proc/sys/kernel/ostype"),
        read("/proc/sys/kernel/osrelease"),
    ) {
        (Some(os), Some(release)) => format!("{os} {release} {}", std::env::consts::ARCH),
        _ => format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    }
}

/// A `Name:   123 kB` line of a `/proc` key-value file, in kB.
fn kb_field(path: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

pub fn proc_status_kb(name: &str) -> Option<u64> {
    kb_field("/proc/self/status", name)
}

pub fn meminfo_kb(name: &str) -> Option<u64> {
    kb_field("/proc/meminfo", name)
}
