//! The clocks as the server reads them: wall-clock milliseconds, and a monotonic
//! nanosecond counter for timing commands.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current time in unix milliseconds.
#[inline]
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A monotonic clock in nanoseconds (`CLOCK_MONOTONIC`, read through the vDSO), for
/// timing commands (commandstats, the slow log). `std::time::Instant` reads the same
/// clock but normalizes a `Duration` on every subtraction; a command timed with two
/// reads of this costs a subtraction.
#[inline]
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call, and
    // CLOCK_MONOTONIC is always available on Linux (the call cannot fail with it).
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monotonic_clock_moves_forward_in_nanoseconds() {
        let a = mono_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = mono_ns();
        assert!(
            b > a && b - a >= 2_000_000 && b - a < 2_000_000_000,
            "{a} {b}"
        );
    }
}
