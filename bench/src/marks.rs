//! Windows of the measured phase, named from outside (`--marks FILE`).
//!
//! A script that wants the latency *during* some event (a BGSAVE, a snapshot, a
//! failover) writes a label to FILE when the event starts and another when it ends;
//! shoal-load reads the file every [`POLL`] and files each reply's latency under the
//! label current when its batch was sent, then reports every window separately. The
//! label `stop` ends the run (in-flight batches finish first).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the file is read.
pub const POLL: Duration = Duration::from_millis(10);

/// The label that ends the run.
pub const STOP: &str = "stop";

/// The window labels seen so far and the current one.
#[derive(Debug, Default)]
pub struct Marks {
    current: AtomicUsize,
    stop: AtomicBool,
    labels: Mutex<Vec<String>>,
}

impl Marks {
    /// Index of the current window (into [`Marks::labels`]).
    #[inline]
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// Whether `stop` was written.
    #[inline]
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Every window's label, in order of first appearance.
    pub fn labels(&self) -> Vec<String> {
        self.labels.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Makes `label` (first line of the file, trimmed; `start` when empty or missing)
    /// the current window.
    pub fn set(&self, label: &str) {
        let label = match label.trim() {
            "" => "start",
            l => l,
        };
        if label == STOP {
            self.stop.store(true, Ordering::Relaxed);
            return;
        }
        let Ok(mut labels) = self.labels.lock() else {
            return;
        };
        let idx = match labels.iter().position(|l| l == label) {
            Some(i) => i,
            None => {
                labels.push(label.to_string());
                labels.len() - 1
            }
        };
        self.current.store(idx, Ordering::Relaxed);
    }

    /// Reads `path` now, then every [`POLL`] on a thread, until `stop` is written or
    /// `done` is set.
    pub fn watch(path: PathBuf, done: Arc<AtomicBool>) -> std::io::Result<Arc<Marks>> {
        let marks = Arc::new(Marks::default());
        let read = move |m: &Marks| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            m.set(text.lines().next().unwrap_or(""));
        };
        read(&marks);
        let m = Arc::clone(&marks);
        std::thread::Builder::new()
            .name("shoal-load-marks".into())
            .spawn(move || {
                while !m.stopped() && !done.load(Ordering::Relaxed) {
                    std::thread::sleep(POLL);
                    read(&m);
                }
            })?;
        Ok(marks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_windows_in_order() {
        let m = Marks::default();
        m.set("");
        assert_eq!(m.current(), 0);
        m.set("save\n");
        assert_eq!(m.current(), 1);
        m.set("after");
        m.set("save");
        assert_eq!(m.current(), 1, "a label seen before reuses its window");
        assert_eq!(m.labels(), ["start", "save", "after"]);
        assert!(!m.stopped());
        m.set("stop");
        assert!(m.stopped());
        assert_eq!(m.current(), 1, "stop is not a window");
    }
}
