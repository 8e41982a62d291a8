//! Counting, merging and printing results.
//!
//! Each connection owns its [`ConnStats`] (counters plus an HDR histogram of latencies
//! in microseconds, 3 significant figures), so recording costs no synchronisation; the
//! main thread merges them once the run is over and prints a [`Report`], as text or as
//! one JSON line.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::cli::Args;
use crate::procstat::Sample;
use crate::resp::ReplyKind;
use crate::workload::Kind;

/// Highest latency the histogram resolves, in µs (larger values saturate).
const MAX_LATENCY_US: u64 = 60_000_000;

/// Counters of one connection, or of the whole run once merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Replies received (errors included).
    pub ops: u64,
    /// Replies to SETs.
    pub sets: u64,
    /// Replies to GETs.
    pub gets: u64,
    /// GETs answered with a bulk string.
    pub hits: u64,
    /// GETs answered with a null.
    pub misses: u64,
    /// Error replies (`-...`).
    pub errors: u64,
    /// Connections that failed: could not connect, closed by the server, I/O or
    /// protocol error.
    pub conn_errors: u64,
    /// Requests sent that never got a reply (connection lost, or still in flight at
    /// the hard stop).
    pub unanswered: u64,
}

impl Counters {
    fn merge(&mut self, o: &Counters) {
        self.ops += o.ops;
        self.sets += o.sets;
        self.gets += o.gets;
        self.hits += o.hits;
        self.misses += o.misses;
        self.errors += o.errors;
        self.conn_errors += o.conn_errors;
        self.unanswered += o.unanswered;
    }
}

/// What one connection measured.
#[derive(Debug)]
pub struct ConnStats {
    /// Its counters.
    pub counters: Counters,
    /// Request latencies in µs.
    pub latency_us: Histogram<u64>,
    /// The first error reply's text, as an example.
    pub first_error_reply: Option<String>,
    /// Why the connection ended early, if it did.
    pub conn_error: Option<String>,
    /// With `--marks`: the window replies are filed under now, and each window's
    /// latencies in µs.
    pub window: usize,
    /// Latencies per window (empty without `--marks`).
    pub windows: Vec<Histogram<u64>>,
}

impl Default for ConnStats {
    fn default() -> Self {
        ConnStats {
            counters: Counters::default(),
            latency_us: new_histogram(),
            first_error_reply: None,
            conn_error: None,
            window: 0,
            windows: Vec::new(),
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

impl ConnStats {
    /// Counts one reply of type `reply` to a request of kind `kind`, `latency_us` after
    /// its batch was sent. `text` is the reply's bytes, looked at only for errors.
    #[inline]
    pub fn record(&mut self, kind: Kind, reply: ReplyKind, latency_us: u64, text: &[u8]) {
        let c = &mut self.counters;
        c.ops += 1;
        match kind {
            Kind::Set => c.sets += 1,
            Kind::Get => {
                c.gets += 1;
                match reply {
                    ReplyKind::Bulk => c.hits += 1,
                    ReplyKind::Null => c.misses += 1,
                    _ => {}
                }
            }
            Kind::Other => {}
        }
        if reply == ReplyKind::Error {
            c.errors += 1;
            if self.first_error_reply.is_none() {
                let text = String::from_utf8_lossy(text);
                self.first_error_reply = Some(text.trim_end().chars().take(200).collect());
            }
        }
        self.latency_us.saturating_record(latency_us.max(1));
        if let Some(w) = self.windows.get_mut(self.window) {
            w.saturating_record(latency_us.max(1));
        }
    }

    /// Files the next replies under window `w` (`--marks`).
    #[inline]
    pub fn set_window(&mut self, w: usize) {
        while self.windows.len() <= w {
            self.windows.push(new_histogram());
        }
        self.window = w;
    }

    /// Notes that the connection ended on an error, with `unanswered` requests lost.
    pub fn fail(&mut self, why: String, unanswered: u64) {
        self.counters.conn_errors += 1;
        self.counters.unanswered += unanswered;
        self.conn_error.get_or_insert(why);
    }

    /// Adds another connection's figures to these.
    pub fn merge(&mut self, o: &ConnStats) {
        self.counters.merge(&o.counters);
        self.latency_us
            .add(&o.latency_us)
            .expect("histograms share their bounds");
        for (i, w) in o.windows.iter().enumerate() {
            if i == self.windows.len() {
                self.windows.push(new_histogram());
            }
            self.windows[i]
                .add(w)
                .expect("histograms share their bounds");
        }
        if self.first_error_reply.is_none() {
            self.first_error_reply.clone_from(&o.first_error_reply);
        }
        if self.conn_error.is_none() {
            self.conn_error.clone_from(&o.conn_error);
        }
    }
}

/// Server figures over the measured phase.
#[derive(Clone, Copy, Debug)]
pub struct ServerUsage {
    /// Server PID.
    pub pid: u32,
    /// CPU seconds (user + system) the server used during the phase.
    pub cpu_s: f64,
    /// VmRSS at the start of the phase, KiB.
    pub rss_before_kib: Option<u64>,
    /// VmRSS at the end, KiB.
    pub rss_after_kib: Option<u64>,
}

impl ServerUsage {
    /// Usage between two samples.
    pub fn between(pid: u32, before: Sample, after: Sample, clk_tck: u64) -> ServerUsage {
        ServerUsage {
            pid,
            cpu_s: after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / clk_tck as f64,
            rss_before_kib: before.rss_kib,
            rss_after_kib: after.rss_kib,
        }
    }
}

/// The whole run's results.
#[derive(Debug)]
pub struct Report<'a> {
    /// The flags the run was made with.
    pub args: &'a Args,
    /// Merged connection figures.
    pub stats: ConnStats,
    /// Length of the measured phase.
    pub elapsed: Duration,
    /// Prefill: keys written and time taken, if there was one.
    pub prefill: Option<(u64, Duration)>,
    /// Server usage, with --server-pid.
    pub server: Option<ServerUsage>,
    /// With --marks: the windows' labels, in the order of `stats.windows`.
    pub windows: Vec<String>,
    /// With --bgsave-at: what the driver saw.
    pub bgsave: Option<crate::bgsave::Outcome>,
}

impl Report<'_> {
    /// Server memory sampled in window `i` (with --bgsave-at and --server-pid).
    fn window_memory(&self, i: usize) -> Option<crate::bgsave::WindowMemory> {
        self.bgsave.as_ref()?.memory.get(i).copied()
    }

    fn ops_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.stats.counters.ops as f64 / s
        } else {
            0.0
        }
    }

    fn ops_per_cpu_sec(&self) -> Option<f64> {
        let s = self.server?;
        (s.cpu_s > 0.0).then(|| self.stats.counters.ops as f64 / s.cpu_s)
    }

    /// Latency at quantile `q`, in ms.
    fn ms(&self, q: f64) -> f64 {
        self.stats.latency_us.value_at_quantile(q) as f64 / 1000.0
    }

    fn max_ms(&self) -> f64 {
        self.stats.latency_us.max() as f64 / 1000.0
    }

    /// The human-readable report.
    pub fn text(&self) -> String {
        let a = self.args;
        let c = &self.stats.counters;
        let mut s = String::new();
        let workload = match &a.command {
            Some(cmd) => format!("command {cmd:?}"),
            None => format!("SET:GET {}", a.ratio),
        };
        let _ = writeln!(
            s,
            "shoal-load {}: {} connections, pipeline {}, {}, {} keys ({:?}), {}-byte values, {} thread(s)",
            a.addr(),
            a.connections,
            a.pipeline,
            workload,
            a.keyspace,
            a.key_pattern,
            a.value_size,
            a.threads,
        );
        if let Some((keys, t)) = self.prefill {
            let _ = writeln!(s, "prefill     {keys} keys in {:.2} s", t.as_secs_f64());
        }
        let _ = writeln!(s, "duration    {:.2} s", self.elapsed.as_secs_f64());
        let _ = writeln!(
            s,
            "ops         {}  ({:.0} ops/s)",
            c.ops,
            self.ops_per_sec()
        );
        let _ = writeln!(s, "  SET       {}", c.sets);
        let _ = writeln!(
            s,
            "  GET       {}  (hits {}, misses {})",
            c.gets, c.hits, c.misses
        );
        let _ = write!(s, "errors      {}", c.errors);
        if let Some(e) = &self.stats.first_error_reply {
            let _ = write!(s, "  (first: {e})");
        }
        let _ = writeln!(s);
        if c.conn_errors > 0 || c.unanswered > 0 {
            let _ = write!(
                s,
                "conn errors {}  (requests unanswered: {})",
                c.conn_errors, c.unanswered
            );
            if let Some(e) = &self.stats.conn_error {
                let _ = write!(s, "  (first: {e})");
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(
            s,
            "latency ms  p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
            self.ms(0.50),
            self.ms(0.99),
            self.ms(0.999),
            self.max_ms()
        );
        if let Some(b) = &self.bgsave {
            let _ = writeln!(
                s,
                "BGSAVE: {:.3} s, status {}",
                b.save_secs.unwrap_or(f64::NAN),
                b.status.as_deref().unwrap_or("?")
            );
        }
        for (i, (label, h)) in self.windows.iter().zip(&self.stats.windows).enumerate() {
            let _ = write!(
                s,
                "  window {label:?}: {} ops, p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
                h.len(),
                h.value_at_quantile(0.50) as f64 / 1000.0,
                h.value_at_quantile(0.99) as f64 / 1000.0,
                h.value_at_quantile(0.999) as f64 / 1000.0,
                h.max() as f64 / 1000.0
            );
            if let Some(m) = self.window_memory(i) {
                let _ = write!(
                    s,
                    "; RSS last {} peak {} MiB, physical last {} peak {} MiB",
                    m.rss_last / 1024,
                    m.rss_peak / 1024,
                    m.phys_last / 1024,
                    m.phys_peak / 1024
                );
            }
            let _ = writeln!(s);
        }
        if let Some(srv) = self.server {
            let _ = write!(s, "server      pid {}, CPU {:.2} s", srv.pid, srv.cpu_s);
            if let Some(r) = self.ops_per_cpu_sec() {
                let _ = write!(s, ", {r:.0} ops per server CPU-second");
            }
            if let (Some(b), Some(e)) = (srv.rss_before_kib, srv.rss_after_kib) {
                let _ = write!(
                    s,
                    ", VmRSS {:.1} -> {:.1} MiB",
                    b as f64 / 1024.0,
                    e as f64 / 1024.0
                );
            }
            let _ = writeln!(s);
        }
        s
    }

    /// The report as one line of JSON.
    pub fn json(&self) -> String {
        let a = self.args;
        let c = &self.stats.counters;
        let mut s = String::from("{");
        let mut field = |k: &str, v: String| {
            if s.len() > 1 {
                s.push(',');
            }
            let _ = write!(s, "\"{k}\":{v}");
        };
        let opt = |v: Option<String>| v.unwrap_or_else(|| "null".into());
        field("host", json_str(&a.host));
        field("port", a.port.to_string());
        field("connections", a.connections.to_string());
        field("pipeline", a.pipeline.to_string());
        field("ratio", json_str(&a.ratio.to_string()));
        field("command", opt(a.command.as_deref().map(json_str)));
        field("keyspace", a.keyspace.to_string());
        field("value_size", a.value_size.to_string());
        field("threads", a.threads.to_string());
        field("prefill_keys", opt(self.prefill.map(|p| p.0.to_string())));
        field(
            "prefill_s",
            opt(self.prefill.map(|p| num(p.1.as_secs_f64()))),
        );
        field("duration_s", num(self.elapsed.as_secs_f64()));
        field("ops", c.ops.to_string());
        field("ops_per_sec", num(self.ops_per_sec()));
        field("sets", c.sets.to_string());
        field("gets", c.gets.to_string());
        field("hits", c.hits.to_string());
        field("misses", c.misses.to_string());
        field("errors", c.errors.to_string());
        field("conn_errors", c.conn_errors.to_string());
        field("unanswered", c.unanswered.to_string());
        field(
            "first_error",
            opt(self.stats.first_error_reply.as_deref().map(json_str)),
        );
        field(
            "first_conn_error",
            opt(self.stats.conn_error.as_deref().map(json_str)),
        );
        field("p50_ms", num(self.ms(0.50)));
        field("p99_ms", num(self.ms(0.99)));
        field("p999_ms", num(self.ms(0.999)));
        field("max_ms", num(self.max_ms()));
        field("server_pid", opt(self.server.map(|v| v.pid.to_string())));
        field("server_cpu_s", opt(self.server.map(|v| num(v.cpu_s))));
        field("ops_per_server_cpu_s", opt(self.ops_per_cpu_sec().map(num)));
        field(
            "server_rss_kib_before",
            opt(self
                .server
                .and_then(|v| v.rss_before_kib)
                .map(|v| v.to_string())),
        );
        field(
            "server_rss_kib_after",
            opt(self
                .server
                .and_then(|v| v.rss_after_kib)
                .map(|v| v.to_string())),
        );
        let windows: Vec<String> = self
            .windows
            .iter()
            .zip(&self.stats.windows)
            .enumerate()
            .map(|(i, (label, h))| {
                let memory = self.window_memory(i).map_or(String::new(), |m| {
                    format!(
                        ",\"rss_last_kib\":{},\"rss_peak_kib\":{},\"phys_last_kib\":{},\"phys_peak_kib\":{}",
                        m.rss_last, m.rss_peak, m.phys_last, m.phys_peak
                    )
                });
                format!(
                    "{{\"label\":{},\"ops\":{},\"p50_ms\":{},\"p99_ms\":{},\"p999_ms\":{},\"max_ms\":{}{memory}}}",
                    json_str(label),
                    h.len(),
                    num(h.value_at_quantile(0.50) as f64 / 1000.0),
                    num(h.value_at_quantile(0.99) as f64 / 1000.0),
                    num(h.value_at_quantile(0.999) as f64 / 1000.0),
                    num(h.max() as f64 / 1000.0)
                )
            })
            .collect();
        if let Some(b) = &self.bgsave {
            let _ = write!(
                s,
                ",\"bgsave_s\":{},\"bgsave_status\":{}",
                opt(b.save_secs.map(num)),
                opt(b.status.as_deref().map(json_str))
            );
        }
        s.push_str(",\"windows\":[");
        s.push_str(&windows.join(","));
        s.push_str("]}");
        s
    }
}

/// A JSON number (finite; 3 decimals are plenty here).
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "null".into()
    }
}

/// A JSON string literal.
fn json_str(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for ch in v.chars() {
        match ch {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_merge() {
        let mut a = ConnStats::default();
        a.record(Kind::Get, ReplyKind::Bulk, 100, b"");
        a.record(Kind::Get, ReplyKind::Null, 200, b"");
        a.record(Kind::Set, ReplyKind::Error, 0, b"-ERR oom\r\n");
        let mut b = ConnStats::default();
        b.record(Kind::Set, ReplyKind::Simple, 300, b"");
        b.fail("closed".into(), 4);
        a.merge(&b);
        let c = &a.counters;
        assert_eq!((c.ops, c.sets, c.gets, c.hits, c.misses), (4, 2, 2, 1, 1));
        assert_eq!((c.errors, c.conn_errors, c.unanswered), (1, 1, 4));
        assert_eq!(a.first_error_reply.as_deref(), Some("-ERR oom"));
        assert_eq!(a.conn_error.as_deref(), Some("closed"));
        assert_eq!(a.latency_us.len(), 4);
        assert_eq!(a.latency_us.min(), 1);
    }

    #[test]
    fn json_escaping() {
        assert_eq!(json_str("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(num(f64::NAN), "null");
        assert_eq!(num(1.5), "1.500");
    }
}
