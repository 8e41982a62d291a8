//! Prometheus metrics (`GET /metrics`) and the health check (`GET /healthz`).
//!
//! [`render`] writes the Prometheus text exposition format (version 0.0.4). Names
//! follow oliver006/redis_exporter (`redis_commands_total{cmd="get"}`,
//! `redis_memory_used_bytes`, `redis_db_keys{db="db0"}`...), so the Grafana
//! dashboards built for that exporter work against Shoal directly; Shoal's own
//! figures carry the `shoal_` prefix (named snapshots, saves, save pacing, a latency
//! histogram per command). Every value is read where INFO reads it (the per-thread
//! counters, `Stats`, persistence, jemalloc), so `/metrics` and INFO never disagree.
//!
//! [`health`] is the `/healthz` answer: 200 while serving, 503 while the dump is
//! loading or the server is shutting down.
//!
//! The HTTP side (recognising a request, answering it) is `http.rs`; this module only
//! renders.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::access::Shards;
use crate::command::CommandTable;
use crate::counters::{latency_bucket_bound_us, LATENCY_BUCKETS};
use crate::info::{self, REDIS_VERSION};
use crate::process::{cpu_times, memory_figures};
use crate::pubsub::Kind;
use crate::state::Shared;

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What `/healthz` answers: the HTTP status and a one-word body.
pub fn health(shared: &Shared) -> (u16, &'static str) {
    if shared.shutting_down() || shared.stopping() {
        (503, "shutting down")
    } else if shared.persistence.loading() {
        (503, "loading")
    } else {
        (200, "ok")
    }
}

/// Writes one metric family's `# HELP` and `# TYPE` lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
}

/// A family with one unlabelled sample.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl Value) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {}", value.text());
}

/// A sample value as the exposition format writes it.
trait Value {
    fn text(&self) -> String;
}

impl Value for u64 {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl Value for usize {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl Value for i64 {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl Value for f64 {
    fn text(&self) -> String {
        if self.is_nan() {
            "NaN".into()
        } else if self.is_infinite() {
            if *self > 0.0 { "+Inf" } else { "-Inf" }.into()
        } else {
            format!("{self}")
        }
    }
}

/// A label value escaped as the format requires (`\\`, `\"`, `\n`).
fn label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// The whole `/metrics` text.
pub fn render(shared: &Shared, table: &CommandTable) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let o = &mut out;
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let s = &shared.stats;
    let t = shared.counters.totals();
    let p = shared.persistence.info();
    let m = memory_figures(shared.evict.used_memory());
    let (maxmemory, policy, maxclients) = {
        let c = shared.config.read();
        (c.maxmemory, c.maxmemory_policy.clone(), c.maxclients)
    };
    let mut no_group = None;
    let mut shards = Shards::of(&mut no_group);

    // Server.
    single(
        o,
        "redis_up",
        "gauge",
        "Information about the Redis instance",
        1u64,
    );
    family(
        o,
        "redis_instance_info",
        "gauge",
        "Information about the Redis instance",
    );
    let _ = writeln!(
        o,
        "redis_instance_info{{role=\"master\",redis_version=\"{REDIS_VERSION}\",redis_build_id=\"0\",redis_mode=\"standalone\",os=\"{}\",maxmemory_policy=\"{}\",tcp_port=\"{}\",run_id=\"{}\",process_id=\"{}\",shoal_version=\"{}\"}} 1",
        label(&crate::process::os_name()),
        label(&policy),
        shared.addrs.first().map_or(0, |a| a.port()),
        shared.run_id,
        std::process::id(),
        env!("CARGO_PKG_VERSION"),
    );
    single(
        o,
        "redis_uptime_in_seconds",
        "gauge",
        "uptime_in_seconds metric",
        shared.uptime().as_secs(),
    );
    single(
        o,
        "redis_start_time_seconds",
        "gauge",
        "Start time of the Redis instance since unix epoch in seconds.",
        shared.started_ms / 1000,
    );
    single(
        o,
        "redis_process_id",
        "gauge",
        "process_id metric",
        u64::from(std::process::id()),
    );

    // Clients.
    single(
        o,
        "redis_connected_clients",
        "gauge",
        "connected_clients metric",
        shared.clients.connected(),
    );
    single(
        o,
        "redis_blocked_clients",
        "gauge",
        "blocked_clients metric",
        shared.blocking.parked(),
    );
    single(
        o,
        "redis_config_maxclients",
        "gauge",
        "config_maxclients metric",
        maxclients,
    );

    // Memory.
    single(
        o,
        "redis_memory_used_bytes",
        "gauge",
        "used_memory metric",
        m.used,
    );
    single(
        o,
        "redis_memory_used_rss_bytes",
        "gauge",
        "used_memory_rss metric",
        m.rss,
    );
    single(
        o,
        "redis_memory_used_peak_bytes",
        "gauge",
        "used_memory_peak metric",
        m.peak,
    );
    single(
        o,
        "redis_memory_max_bytes",
        "gauge",
        "maxmemory metric",
        maxmemory,
    );
    single(
        o,
        "redis_allocator_active_bytes",
        "gauge",
        "allocator_active metric",
        m.active,
    );
    single(
        o,
        "redis_allocator_resident_bytes",
        "gauge",
        "allocator_resident metric",
        m.resident,
    );
    single(
        o,
        "redis_mem_fragmentation_ratio",
        "gauge",
        "mem_fragmentation_ratio metric",
        if m.used == 0 {
            0.0
        } else {
            m.rss as f64 / m.used as f64
        },
    );

    // Persistence.
    single(
        o,
        "redis_loading_dump_file",
        "gauge",
        "loading metric",
        u64::from(p.loading),
    );
    single(
        o,
        "redis_rdb_changes_since_last_save",
        "gauge",
        "rdb_changes_since_last_save metric",
        p.changes_since_last_save,
    );
    single(
        o,
        "redis_rdb_bgsave_in_progress",
        "gauge",
        "rdb_bgsave_in_progress metric",
        u64::from(p.bgsave_in_progress),
    );
    single(
        o,
        "redis_rdb_last_save_timestamp_seconds",
        "gauge",
        "rdb_last_save_time metric",
        p.last_save_time,
    );
    single(
        o,
        "redis_rdb_last_bgsave_status",
        "gauge",
        "rdb_last_bgsave_status metric",
        u64::from(p.last_bgsave_ok),
    );
    single(
        o,
        "redis_rdb_last_bgsave_duration_sec",
        "gauge",
        "rdb_last_bgsave_time_sec metric",
        p.last_bgsave_time_sec,
    );
    single(
        o,
        "redis_rdb_current_bgsave_duration_sec",
        "gauge",
        "rdb_current_bgsave_time_sec metric",
        p.current_bgsave_time_sec,
    );

    // Stats.
    single(
        o,
        "redis_connections_received_total",
        "counter",
        "total_connections_received metric",
        get(&s.connections_received),
    );
    single(
        o,
        "redis_commands_processed_total",
        "counter",
        "total_commands_processed metric",
        t.commands,
    );
    single(
        o,
        "redis_rejected_connections_total",
        "counter",
        "rejected_connections metric",
        get(&s.rejected_connections),
    );
    single(
        o,
        "redis_net_input_bytes_total",
        "counter",
        "total_net_input_bytes metric",
        t.net_input_bytes,
    );
    single(
        o,
        "redis_net_output_bytes_total",
        "counter",
        "total_net_output_bytes metric",
        t.net_output_bytes,
    );
    single(
        o,
        "redis_expired_keys_total",
        "counter",
        "expired_keys metric",
        shared.keyspace.expired_keys_with(&mut shards),
    );
    single(
        o,
        "redis_evicted_keys_total",
        "counter",
        "evicted_keys metric",
        info::evicted_keys(shared),
    );
    single(
        o,
        "redis_keyspace_hits_total",
        "counter",
        "keyspace_hits metric",
        t.keyspace_hits,
    );
    single(
        o,
        "redis_keyspace_misses_total",
        "counter",
        "keyspace_misses metric",
        t.keyspace_misses,
    );
    single(
        o,
        "redis_expired_time_cap_reached_total",
        "counter",
        "expired_time_cap_reached_count metric",
        get(&s.expire_cycle_timeouts),
    );
    single(
        o,
        "redis_pubsub_channels",
        "gauge",
        "pubsub_channels metric",
        shared.pubsub.count(Kind::Channel),
    );
    single(
        o,
        "redis_pubsub_patterns",
        "gauge",
        "pubsub_patterns metric",
        shared.pubsub.count(Kind::Pattern),
    );
    single(
        o,
        "redis_slowlog_length",
        "gauge",
        "Total slowlog",
        shared.slowlog.len(),
    );
    single(
        o,
        "redis_connected_slaves",
        "gauge",
        "connected_slaves metric",
        0u64,
    );

    // CPU.
    let (sys, user) = cpu_times();
    single(
        o,
        "redis_cpu_sys_seconds_total",
        "counter",
        "used_cpu_sys metric",
        sys,
    );
    single(
        o,
        "redis_cpu_user_seconds_total",
        "counter",
        "used_cpu_user metric",
        user,
    );

    // Keyspace: one sample per database holding keys, as the exporter does.
    let mut dbs = Vec::new();
    for i in 0..shared.keyspace.num_dbs() {
        let db = shared.keyspace.db(i);
        let keys = db.len_with(&mut shards);
        if keys > 0 {
            dbs.push((i, keys, db.expires_with(&mut shards)));
        }
    }
    family(o, "redis_db_keys", "gauge", "Total number of keys by DB");
    for (i, keys, _) in &dbs {
        let _ = writeln!(o, "redis_db_keys{{db=\"db{i}\"}} {keys}");
    }
    family(
        o,
        "redis_db_keys_expiring",
        "gauge",
        "Total number of expiring keys by DB",
    );
    for (i, _, expiring) in &dbs {
        let _ = writeln!(o, "redis_db_keys_expiring{{db=\"db{i}\"}} {expiring}");
    }

    // Commandstats, then Shoal's latency histograms.
    let stats = shared.counters.commands();
    let latency = shared.counters.latency();
    let used: Vec<usize> = (0..stats.len())
        .filter(|&i| stats[i].calls + stats[i].rejected + stats[i].failed > 0)
        .collect();
    let name = |i: usize| label(table.commands[i].name);
    family(
        o,
        "redis_commands_total",
        "counter",
        "Total number of calls per command",
    );
    for &i in &used {
        let _ = writeln!(
            o,
            "redis_commands_total{{cmd=\"{}\"}} {}",
            name(i),
            stats[i].calls
        );
    }
    family(
        o,
        "redis_commands_duration_seconds_total",
        "counter",
        "Total amount of time in seconds spent per command",
    );
    for &i in &used {
        let _ = writeln!(
            o,
            "redis_commands_duration_seconds_total{{cmd=\"{}\"}} {}",
            name(i),
            (stats[i].usec as f64 / 1e6).text()
        );
    }
    family(
        o,
        "redis_commands_rejected_calls_total",
        "counter",
        "Total number of errors prior command execution per command",
    );
    for &i in &used {
        let _ = writeln!(
            o,
            "redis_commands_rejected_calls_total{{cmd=\"{}\"}} {}",
            name(i),
            stats[i].rejected
        );
    }
    family(
        o,
        "redis_commands_failed_calls_total",
        "counter",
        "Total number of errors within command execution per command",
    );
    for &i in &used {
        let _ = writeln!(
            o,
            "redis_commands_failed_calls_total{{cmd=\"{}\"}} {}",
            name(i),
            stats[i].failed
        );
    }
    family(
        o,
        "shoal_command_latency_seconds",
        "histogram",
        "Time each command took to run, by command (power-of-two microsecond buckets)",
    );
    for &i in &used {
        let cmd = name(i);
        let mut cumulative = 0u64;
        for (b, n) in latency[i].iter().enumerate().take(LATENCY_BUCKETS) {
            cumulative += n;
            let le = match latency_bucket_bound_us(b) {
                Some(us) => (us as f64 / 1e6).text(),
                None => "+Inf".to_string(),
            };
            let _ = writeln!(
                o,
                "shoal_command_latency_seconds_bucket{{cmd=\"{cmd}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            o,
            "shoal_command_latency_seconds_sum{{cmd=\"{cmd}\"}} {}",
            (stats[i].usec as f64 / 1e6).text()
        );
        let _ = writeln!(
            o,
            "shoal_command_latency_seconds_count{{cmd=\"{cmd}\"}} {cumulative}"
        );
    }

    // Shoal's own: snapshots, saves and their pacing.
    single(
        o,
        "shoal_snapshots",
        "gauge",
        "Named snapshots alive (SNAPSHOT CREATE)",
        shared.snapshots.len(),
    );
    single(
        o,
        "shoal_rdb_saves_total",
        "counter",
        "Successful RDB saves since start (INFO rdb_saves)",
        p.saves,
    );
    single(
        o,
        "shoal_save_keys_processed",
        "gauge",
        "Keys written so far by the save in progress (INFO current_save_keys_processed)",
        p.keys_processed,
    );
    single(
        o,
        "shoal_save_keys_total",
        "gauge",
        "Keys the save in progress will write (INFO current_save_keys_total)",
        p.keys_total,
    );
    let (paced_secs, pauses) = crate::pacer::paced_totals();
    single(
        o,
        "shoal_save_paced_seconds_total",
        "counter",
        "Time background saves spent yielding the CPU to clients (process-wide)",
        paced_secs,
    );
    single(
        o,
        "shoal_save_pauses_total",
        "counter",
        "Times background saves yielded the CPU to clients (process-wide)",
        pauses,
    );
    let (status, _) = health(shared);
    single(
        o,
        "shoal_healthy",
        "gauge",
        "1 when /healthz answers 200 (serving), 0 while loading or shutting down",
        u64::from(status == 200),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_labels_are_written_as_the_format_wants() {
        assert_eq!(0.5f64.text(), "0.5");
        assert_eq!(1e-6f64.text(), "0.000001");
        assert_eq!(f64::INFINITY.text(), "+Inf");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
