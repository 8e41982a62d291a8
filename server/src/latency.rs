//! The latency monitor (Redis's `latency.c`): with `latency-monitor-threshold` set,
//! every event that took at least that many milliseconds (`command`, `fast-command`
//! for commands flagged fast, `expire-cycle` for active expiry) keeps its last
//! [`SAMPLES`] samples (one per second: the worst of that second) and its all-time
//! worst, for LATENCY LATEST / HISTORY / RESET / DOCTOR.
//!
//! Recording costs one relaxed load per command while the threshold is 0 (off).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// Samples kept per event (Redis's `LATENCY_TS_LEN`).
pub const SAMPLES: usize = 160;

/// One event's samples.
#[derive(Default)]
struct Series {
    /// `(unix seconds, milliseconds)`, oldest first.
    samples: VecDeque<(i64, u64)>,
    /// The worst latency ever recorded, milliseconds.
    max: u64,
}

/// The latency monitor of one server.
#[derive(Default)]
pub struct LatencyMonitor {
    threshold_ms: AtomicU64,
    events: Mutex<BTreeMap<String, Series>>,
}

/// One event's latest sample (LATENCY LATEST).
pub struct Latest {
    pub event: String,
    pub time: i64,
    pub latency_ms: u64,
    pub max_ms: u64,
}

impl LatencyMonitor {
    /// Applies `latency-monitor-threshold` (milliseconds; 0 = off).
    pub fn configure(&self, threshold_ms: u64) {
        self.threshold_ms.store(threshold_ms, Ordering::Relaxed);
    }

    /// The threshold in force (0 = off).
    #[inline]
    pub fn threshold_ms(&self) -> u64 {
        self.threshold_ms.load(Ordering::Relaxed)
    }

    /// Records `event` taking `ms` milliseconds at `now_secs` if the monitor is on
    /// and `ms` reaches the threshold (Redis's `latencyAddSampleIfNeeded`).
    #[inline]
    pub fn maybe_record(&self, event: &str, now_secs: i64, ms: u64) {
        let threshold = self.threshold_ms();
        if threshold != 0 && ms >= threshold {
            self.record(event, now_secs, ms);
        }
    }

    #[cold]
    fn record(&self, event: &str, now_secs: i64, ms: u64) {
        let mut events = self.events.lock();
        let series = events.entry(event.to_string()).or_default();
        series.max = series.max.max(ms);
        if let Some(last) = series.samples.back_mut() {
            if last.0 == now_secs {
                last.1 = last.1.max(ms);
                return;
            }
        }
        if series.samples.len() == SAMPLES {
            series.samples.pop_front();
        }
        series.samples.push_back((now_secs, ms));
    }

    /// Every event's latest sample and all-time worst, by event name.
    pub fn latest(&self) -> Vec<Latest> {
        self.events
            .lock()
            .iter()
            .filter_map(|(event, s)| {
                let &(time, latency_ms) = s.samples.back()?;
                Some(Latest {
                    event: event.clone(),
                    time,
                    latency_ms,
                    max_ms: s.max,
                })
            })
            .collect()
    }

    /// `event`'s samples, oldest first (none for an unknown event).
    pub fn history(&self, event: &[u8]) -> Vec<(i64, u64)> {
        let events = self.events.lock();
        std::str::from_utf8(event)
            .ok()
            .and_then(|e| events.get(e))
            .map(|s| s.samples.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Forgets the named events (every event when `names` is empty); how many were
    /// forgotten.
    pub fn reset(&self, names: &[&[u8]]) -> usize {
        let mut events = self.events.lock();
        if names.is_empty() {
            let n = events.len();
            events.clear();
            return n;
        }
        names
            .iter()
            .filter(|n| {
                std::str::from_utf8(n)
                    .ok()
                    .and_then(|n| events.remove(n))
                    .is_some()
            })
            .count()
    }

    /// LATENCY DOCTOR's report: per event, its spikes, average, mean deviation,
    /// period and worst, then advice.
    pub fn report(&self) -> String {
        let events = self.events.lock();
        if events.is_empty() && self.threshold_ms() == 0 {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string();
        }
        if events.is_empty() {
            return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".to_string();
        }
        let mut out = String::from(
            "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
        );
        let mut commands = false;
        for (i, (event, s)) in events.iter().enumerate() {
            let n = s.samples.len().max(1) as f64;
            let avg = s.samples.iter().map(|x| x.1 as f64).sum::<f64>() / n;
            let mad = s
                .samples
                .iter()
                .map(|x| (x.1 as f64 - avg).abs())
                .sum::<f64>()
                / n;
            let period = match (s.samples.front(), s.samples.back()) {
                (Some(a), Some(b)) if s.samples.len() > 1 => (b.0 - a.0) as f64 / (n - 1.0),
                _ => 0.0,
            };
            let _ = writeln!(
                out,
                "{}. {event}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
                i + 1,
                s.samples.len(),
                avg.round() as u64,
                mad.round() as u64,
                period,
                s.max
            );
            commands |= event == "command" || event == "fast-command";
        }
        out.push_str("\nI have a few advices for you:\n\n");
        if commands {
            out.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
            out.push_str("- Avoid commands of O(N) complexity over large values (KEYS, SMEMBERS of a big set, LRANGE 0 -1 of a long list...): the slow log names them.\n");
        } else {
            out.push_str("- The spikes are not commands': check the host's CPU and memory pressure (swapping, noisy neighbours) and the expiry and save figures of INFO.\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_the_worst_of_each_second_and_are_bounded() {
        let m = LatencyMonitor::default();
        m.maybe_record("command", 100, 50);
        assert!(m.latest().is_empty(), "off while the threshold is 0");
        m.configure(10);
        m.maybe_record("command", 100, 5);
        assert!(m.latest().is_empty(), "below the threshold");
        m.maybe_record("command", 100, 20);
        m.maybe_record("command", 100, 15);
        m.maybe_record("command", 101, 12);
        assert_eq!(m.history(b"command"), vec![(100, 20), (101, 12)]);
        let l = &m.latest()[0];
        assert_eq!((l.time, l.latency_ms, l.max_ms), (101, 12, 20));
        for t in 0..500 {
            m.maybe_record("command", 1000 + t, 11);
        }
        assert_eq!(m.history(b"command").len(), SAMPLES);
        assert_eq!(m.latest()[0].max_ms, 20);
        assert!(m.report().contains("1. command: 160 latency spikes"));
        assert_eq!(m.reset(&[b"nope"]), 0);
        assert_eq!(m.reset(&[]), 1);
        assert!(m.history(b"command").is_empty());
    }
}
