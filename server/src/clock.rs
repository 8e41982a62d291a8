//! The wall clock as the server reads it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current time in unix milliseconds.
#[inline]
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
