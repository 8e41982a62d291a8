//! The slow log (SLOWLOG GET/LEN/RESET): commands that ran longer than
//! `slowlog-log-slower-than` microseconds, newest first, at most `slowlog-max-len`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use shoal_protocol::Args;

use crate::client::Client;

/// Arguments kept per entry, and bytes kept per argument (as Redis).
const MAX_ARGS: usize = 32;
const MAX_ARG_LEN: usize = 128;

/// One slow command.
#[derive(Clone, Debug)]
pub struct SlowEntry {
    /// Increasing id.
    pub id: u64,
    /// Unix seconds when it ran.
    pub time: i64,
    /// Duration, microseconds.
    pub usec: u64,
    /// Arguments (truncated as Redis does).
    pub args: Vec<Vec<u8>>,
    /// Client address.
    pub addr: String,
    /// Client name.
    pub name: String,
}

/// The log itself.
pub struct SlowLog {
    threshold: AtomicI64,
    max_len: AtomicUsize,
    next_id: AtomicU64,
    entries: Mutex<VecDeque<SlowEntry>>,
}

impl Default for SlowLog {
    fn default() -> Self {
        SlowLog {
            threshold: AtomicI64::new(10_000),
            max_len: AtomicUsize::new(128),
            next_id: AtomicU64::new(0),
            entries: Mutex::new(VecDeque::new()),
        }
    }
}

impl SlowLog {
    /// Applies `slowlog-log-slower-than` (negative disables) and `slowlog-max-len`.
    pub fn configure(&self, threshold_us: i64, max_len: u64) {
        self.threshold.store(threshold_us, Ordering::Relaxed);
        self.max_len.store(max_len as usize, Ordering::Relaxed);
        let mut e = self.entries.lock();
        while e.len() > max_len as usize {
            e.pop_back();
        }
    }

    /// Records the command if it was slow enough.
    #[inline]
    pub fn maybe_record(&self, client: &Client, now_ms: i64, args: &Args<'_>, usec: u64) {
        let t = self.threshold.load(Ordering::Relaxed);
        if t < 0 || (usec as i64) < t {
            return;
        }
        let argc = args.len();
        let mut kept: Vec<Vec<u8>> = args
            .iter()
            .take(if argc > MAX_ARGS { MAX_ARGS - 1 } else { argc })
            .map(|a| {
                if a.len() > MAX_ARG_LEN {
                    let mut v = a[..MAX_ARG_LEN].to_vec();
                    v.extend_from_slice(
                        format!("... ({} more bytes)", a.len() - MAX_ARG_LEN).as_bytes(),
                    );
                    v
                } else {
                    a.to_vec()
                }
            })
            .collect();
        if argc > MAX_ARGS {
            kept.push(format!("... ({} more arguments)", argc - MAX_ARGS + 1).into_bytes());
        }
        let entry = SlowEntry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            time: now_ms / 1000,
            usec,
            args: kept,
            addr: client.info.addr.to_string(),
            name: client.info.name_string(),
        };
        let max = self.max_len.load(Ordering::Relaxed);
        let mut e = self.entries.lock();
        e.push_front(entry);
        while e.len() > max {
            e.pop_back();
        }
    }

    /// The newest `count` entries.
    pub fn newest(&self, count: usize) -> Vec<SlowEntry> {
        self.entries.lock().iter().take(count).cloned().collect()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the log.
    pub fn reset(&self) {
        self.entries.lock().clear();
    }
}
