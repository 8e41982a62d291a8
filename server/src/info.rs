//! INFO: the server's state as Redis's plain-text sections (`# Server`, `# Memory`...).
//!
//! [`render`] builds the whole reply text for `INFO [section ...]`, with Redis 7.0's
//! section names, order and field names, so that clients, exporters and dashboards
//! written for Redis parse it unchanged. `redis_version` says 7.0.15 on purpose:
//! clients gate features (HELLO, CLIENT SETINFO, COMMAND DOCS...) on it.
//!
//! Memory figures come from jemalloc (the global allocator, see `lib.rs`): `used_memory`
//! is `stats.allocated` after advancing the statistics epoch, like Redis's
//! `zmalloc_used_memory()` with jemalloc. The other sources are `/proc` (RSS, CPU
//! time, total memory; zero elsewhere) and the server's own counters.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::access::Shards;
use crate::command::CommandTable;
use crate::process::{allocator_name, cpu_times, meminfo_kb, memory_figures, os_name};
use crate::pubsub::Kind;
use crate::state::Shared;

/// The Redis version Shoal reports (its commands and replies follow 7.0).
pub const REDIS_VERSION: &str = "7.0.15";

/// Sections in the order Redis prints them. `default` prints those marked `true`;
/// `all` and `everything` print every one.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// The INFO text for the requested section names (case-insensitive; none = `default`;
/// unknown names are ignored, so only unknown names give an empty text, as Redis).
/// Sections are separated by an empty line; every line ends with CRLF.
///
/// `shards` gives the databases' shards for the keyspace figures: locked as read, or
/// those of a group (INFO inside MULTI) that holds them all.
pub fn render(
    shared: &Shared,
    table: &CommandTable,
    names: &[&[u8]],
    shards: &mut Shards<'_, '_>,
) -> String {
    let wanted = selected(names);
    let mut out = String::with_capacity(4096);
    for (i, (name, _)) in SECTIONS.iter().enumerate() {
        if !wanted[i] {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match *name {
            "server" => server(shared, &mut out),
            "clients" => clients(shared, &mut out),
            "memory" => memory(shared, &mut out, shards),
            "persistence" => persistence(shared, &mut out),
            "stats" => stats(shared, &mut out, shards),
            "replication" => replication(shared, &mut out),
            "cpu" => cpu(&mut out),
            "modules" => out.push_str("# Modules\r\n"),
            "commandstats" => commandstats(&mut out, shared, table),
            "errorstats" => errorstats(&mut out, shared),
            "latencystats" => latencystats(&mut out, shared, table),
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => keyspace(shared, &mut out, shards),
            _ => {}
        }
    }
    out
}

/// Which of [`SECTIONS`] the arguments ask for.
fn selected(names: &[&[u8]]) -> [bool; SECTIONS.len()] {
    let mut wanted = [false; SECTIONS.len()];
    if names.is_empty() {
        for (w, (_, default)) in wanted.iter_mut().zip(SECTIONS) {
            *w = *default;
        }
        return wanted;
    }
    for name in names {
        if name.eq_ignore_ascii_case(b"all") || name.eq_ignore_ascii_case(b"everything") {
            wanted = [true; SECTIONS.len()];
        } else if name.eq_ignore_ascii_case(b"default") {
            for (w, (_, default)) in wanted.iter_mut().zip(SECTIONS) {
                *w |= *default;
            }
        } else if let Some(i) = SECTIONS
            .iter()
            .position(|(s, _)| s.as_bytes().eq_ignore_ascii_case(name))
        {
            wanted[i] = true;
        }
    }
    wanted
}

/// Appends `name:value\r\n`.
macro_rules! field {
    ($out:expr, $name:expr, $value:expr) => {{
        let _ = write!($out, "{}:{}\r\n", $name, $value);
    }};
}

fn server(shared: &Shared, out: &mut String) {
    let config = shared.config.read();
    let uptime = shared.uptime().as_secs();
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    out.push_str("# Server\r\n");
    field!(out, "redis_version", REDIS_VERSION);
    field!(out, "shoal_version", env!("CARGO_PKG_VERSION"));
    field!(out, "redis_git_sha1", "00000000");
    field!(out, "redis_git_dirty", 0);
    field!(out, "redis_build_id", "0");
    field!(out, "redis_mode", "standalone");
    field!(out, "os", os_name());
    field!(out, "arch_bits", usize::BITS);
    field!(out, "monotonic_clock", "POSIX clock_gettime");
    field!(
        out,
        "multiplexing_api",
        if cfg!(target_os = "linux") {
            "epoll"
        } else {
            "kqueue"
        }
    );
    // Rust's atomics are C11's memory model, as Redis's `c11-builtin`; no GCC built
    // Shoal, and Redis prints 0.0.0 when not built by GCC.
    field!(out, "atomicvar_api", "c11-builtin");
    field!(out, "gcc_version", "0.0.0");
    field!(out, "process_id", std::process::id());
    field!(out, "process_supervised", "no");
    field!(out, "run_id", shared.run_id);
    field!(
        out,
        "tcp_port",
        shared.addrs.first().map_or(0, |a| a.port())
    );
    field!(out, "server_time_usec", now_us);
    field!(out, "uptime_in_seconds", uptime);
    field!(out, "uptime_in_days", uptime / 86_400);
    field!(out, "hz", shared.live.hz.load(Ordering::Relaxed));
    field!(out, "configured_hz", config.hz);
    // Redis's LRU clock: seconds, 24 bits.
    field!(out, "lru_clock", (now_us / 1_000_000) & ((1 << 24) - 1));
    field!(
        out,
        "executable",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    field!(
        out,
        "config_file",
        config
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    field!(out, "io_threads_active", 0);
}

fn clients(shared: &Shared, out: &mut String) {
    out.push_str("# Clients\r\n");
    field!(out, "connected_clients", shared.clients.connected());
    field!(out, "cluster_connections", 0);
    field!(
        out,
        "maxclients",
        shared.live.maxclients.load(Ordering::Relaxed)
    );
    field!(
        out,
        "client_recent_max_input_buffer",
        shared
            .clients
            .stats
            .recent_input
            .get(crate::state::now_ms())
    );
    field!(
        out,
        "client_recent_max_output_buffer",
        shared
            .clients
            .stats
            .recent_output
            .get(crate::state::now_ms())
    );
    field!(out, "blocked_clients", shared.blocking.parked());
    field!(out, "tracking_clients", shared.tracking.stats().0);
    // Redis 7.2's fields (7.0 lacks them), in 7.2's order: clients subscribed,
    // clients watching, keys watched, keys clients are blocked on.
    let (watching, watched) = shared.watches.stats();
    field!(out, "pubsub_clients", shared.pubsub.clients());
    field!(out, "watching_clients", watching);
    field!(out, "clients_in_timeout_table", shared.blocking.timed());
    field!(out, "total_watched_keys", watched);
    field!(out, "total_blocking_keys", shared.blocking.blocking_keys());
}

/// Bytes held by the keyspace's hash tables (bucket arrays, not entries): the part of
/// memory that is overhead rather than data.
pub fn table_overhead(shared: &Shared, shards: &mut Shards<'_, '_>) -> u64 {
    (0..shared.keyspace.num_dbs())
        .map(|i| shared.keyspace.db(i).table_bytes_with(shards) as u64)
        .sum()
}

fn memory(shared: &Shared, out: &mut String, shards: &mut Shards<'_, '_>) {
    let m = memory_figures(shared.evict.used_memory());
    let (maxmemory, policy, source) = {
        let c = shared.config.read();
        (
            c.maxmemory,
            c.maxmemory_policy.clone(),
            c.maxmemory_source(),
        )
    };
    let clients = shared.evict.clients_memory();
    let overhead = table_overhead(shared, shards) + clients;
    let dataset = m.used.saturating_sub(overhead);
    let total_system = meminfo_kb("MemTotal:").map_or(0, |kb| kb * 1024);
    out.push_str("# Memory\r\n");
    field!(out, "used_memory", m.used);
    field!(out, "used_memory_human", bytes_to_human(m.used));
    field!(out, "used_memory_rss", m.rss);
    field!(out, "used_memory_rss_human", bytes_to_human(m.rss));
    field!(out, "used_memory_peak", m.peak);
    field!(out, "used_memory_peak_human", bytes_to_human(m.peak));
    field!(
        out,
        "used_memory_peak_perc",
        format!("{:.2}%", percent(m.used, m.peak))
    );
    field!(out, "used_memory_overhead", overhead);
    field!(out, "used_memory_startup", shared.used_memory_startup);
    field!(out, "used_memory_dataset", dataset);
    field!(
        out,
        "used_memory_dataset_perc",
        format!("{:.2}%", percent(dataset, m.used))
    );
    field!(out, "allocator_allocated", m.allocated);
    field!(out, "allocator_active", m.active);
    field!(out, "allocator_resident", m.resident);
    field!(out, "total_system_memory", total_system);
    field!(
        out,
        "total_system_memory_human",
        bytes_to_human(total_system)
    );
    // Scripts and functions, in Redis 7.0's order. One interpreter per worker thread
    // runs both: the functions' part is what their libraries' code took when it ran.
    let (vm_eval, vm_functions) = crate::scripting::vm_memory();
    let (cached_scripts, scripts_bytes) = shared.scripts.stats();
    let (libraries, functions) = shared.functions.counts();
    let functions_bytes = shared.functions.bytes();
    field!(out, "used_memory_lua", vm_eval);
    field!(out, "used_memory_vm_eval", vm_eval);
    field!(out, "used_memory_lua_human", bytes_to_human(vm_eval as u64));
    field!(out, "used_memory_scripts_eval", scripts_bytes);
    field!(out, "number_of_cached_scripts", cached_scripts);
    field!(out, "number_of_functions", functions);
    field!(out, "number_of_libraries", libraries);
    field!(out, "used_memory_vm_functions", vm_functions);
    field!(out, "used_memory_vm_total", vm_eval + vm_functions);
    field!(
        out,
        "used_memory_vm_total_human",
        bytes_to_human((vm_eval + vm_functions) as u64)
    );
    field!(out, "used_memory_functions", functions_bytes);
    field!(out, "used_memory_scripts", scripts_bytes + functions_bytes);
    field!(
        out,
        "used_memory_scripts_human",
        bytes_to_human((scripts_bytes + functions_bytes) as u64)
    );
    field!(out, "maxmemory", maxmemory);
    field!(out, "maxmemory_human", bytes_to_human(maxmemory));
    field!(out, "maxmemory_policy", policy);
    // Shoal's own: where maxmemory came from (config, cgroup or none).
    field!(out, "maxmemory_source", source);
    field!(
        out,
        "allocator_frag_ratio",
        format!("{:.2}", ratio(m.active, m.allocated))
    );
    field!(
        out,
        "allocator_frag_bytes",
        m.active.saturating_sub(m.allocated)
    );
    field!(
        out,
        "allocator_rss_ratio",
        format!("{:.2}", ratio(m.resident, m.active))
    );
    field!(
        out,
        "allocator_rss_bytes",
        m.resident.saturating_sub(m.active)
    );
    field!(
        out,
        "rss_overhead_ratio",
        format!("{:.2}", ratio(m.rss, m.resident))
    );
    field!(out, "rss_overhead_bytes", m.rss.saturating_sub(m.resident));
    field!(
        out,
        "mem_fragmentation_ratio",
        format!("{:.2}", ratio(m.rss, m.used))
    );
    field!(out, "mem_fragmentation_bytes", m.rss as i64 - m.used as i64);
    field!(out, "mem_not_counted_for_evict", shared.evict.not_counted());
    // No replication, no cluster: Redis's figures when it has neither.
    field!(out, "mem_replication_backlog", 0);
    field!(out, "mem_total_replication_buffers", 0);
    field!(out, "mem_clients_slaves", 0);
    field!(out, "mem_clients_normal", clients);
    field!(out, "mem_cluster_links", 0);
    field!(out, "mem_aof_buffer", 0);
    field!(out, "mem_allocator", allocator_name());
    field!(out, "active_defrag_running", 0);
    field!(
        out,
        "lazyfree_pending_objects",
        shared.evict.pending_objects()
    );
    field!(out, "lazyfreed_objects", 0);
    // Shoal's own: named snapshots alive (their memory is part of used_memory).
    field!(out, "snapshots", shared.snapshots.len());
}

fn persistence(shared: &Shared, out: &mut String) {
    let p = shared.persistence.info();
    out.push_str("# Persistence\r\n");
    field!(out, "loading", u8::from(p.loading));
    field!(out, "async_loading", 0);
    field!(out, "current_cow_peak", 0);
    field!(out, "current_cow_size", 0);
    field!(out, "current_cow_size_age", 0);
    field!(out, "current_fork_perc", format!("{:.2}", p.fork_perc));
    field!(out, "current_save_keys_processed", p.keys_processed);
    field!(out, "current_save_keys_total", p.keys_total);
    field!(
        out,
        "rdb_changes_since_last_save",
        p.changes_since_last_save
    );
    field!(
        out,
        "rdb_bgsave_in_progress",
        u8::from(p.bgsave_in_progress)
    );
    field!(out, "rdb_last_save_time", p.last_save_time);
    field!(
        out,
        "rdb_last_bgsave_status",
        if p.last_bgsave_ok { "ok" } else { "err" }
    );
    field!(out, "rdb_last_bgsave_time_sec", p.last_bgsave_time_sec);
    field!(
        out,
        "rdb_current_bgsave_time_sec",
        p.current_bgsave_time_sec
    );
    field!(out, "rdb_saves", p.saves);
    field!(out, "rdb_last_cow_size", 0);
    field!(out, "rdb_last_load_keys_expired", p.last_load_keys_expired);
    field!(out, "rdb_last_load_keys_loaded", p.last_load_keys_loaded);
    field!(out, "aof_enabled", 0);
    // Not a Redis field: Shoal has no append-only file (`appendonly` accepts only no).
    field!(out, "aof_supported", 0);
    field!(out, "aof_rewrite_in_progress", 0);
    field!(out, "aof_rewrite_scheduled", 0);
    field!(out, "aof_last_rewrite_time_sec", -1);
    field!(out, "aof_current_rewrite_time_sec", -1);
    field!(out, "aof_last_bgrewrite_status", "ok");
    field!(out, "aof_rewrites", 0);
    field!(out, "aof_rewrites_consecutive_failures", 0);
    field!(out, "aof_last_write_status", "ok");
    field!(out, "aof_last_cow_size", 0);
    field!(out, "module_fork_in_progress", 0);
    field!(out, "module_fork_last_cow_size", 0);
    if p.loading {
        field!(out, "loading_start_time", p.loading_start_time);
        field!(out, "loading_total_bytes", p.loading_total_bytes);
        field!(out, "loading_rdb_used_mem", 0);
        field!(out, "loading_loaded_bytes", p.loading_loaded_bytes);
        field!(
            out,
            "loading_loaded_perc",
            format!("{:.2}", p.loading_loaded_perc)
        );
        field!(out, "loading_eta_seconds", p.loading_eta_seconds);
    }
}

/// The previous reading of the throughput counters, per server (keyed by run id),
/// from which INFO derives the `instantaneous_*` rates: the rate over the interval
/// since the previous INFO (Redis samples in its cron; Shoal samples when asked).
#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    commands: u64,
    input: u64,
    output: u64,
    rates: (u64, f64, f64),
}

static SAMPLES: LazyLock<Mutex<HashMap<String, Sample>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Intervals shorter than this reuse the last rates (too short to measure).
const MIN_SAMPLE_SECS: f64 = 0.1;

/// (ops per second, input kbps, output kbps) since the previous call for this server.
fn rates(shared: &Shared) -> (u64, f64, f64) {
    let now = Instant::now();
    let t = shared.counters.totals();
    let (commands, input, output) = (t.commands, t.net_input_bytes, t.net_output_bytes);
    let mut samples = SAMPLES.lock();
    let fresh = Sample {
        at: now,
        commands,
        input,
        output,
        rates: (0, 0.0, 0.0),
    };
    let Some(prev) = samples.get(&shared.run_id).copied() else {
        // Servers come and go in tests and embedders: keep the map small.
        if samples.len() >= 64 {
            samples.clear();
        }
        samples.insert(shared.run_id.clone(), fresh);
        return fresh.rates;
    };
    let secs = now.duration_since(prev.at).as_secs_f64();
    if secs < MIN_SAMPLE_SECS {
        return prev.rates;
    }
    let per_sec = |now: u64, then: u64| now.saturating_sub(then) as f64 / secs;
    let rates = (
        per_sec(commands, prev.commands).round() as u64,
        per_sec(input, prev.input) / 1024.0,
        per_sec(output, prev.output) / 1024.0,
    );
    samples.insert(shared.run_id.clone(), Sample { rates, ..fresh });
    rates
}

fn stats(shared: &Shared, out: &mut String, shards: &mut Shards<'_, '_>) {
    let s = &shared.stats;
    let t = shared.counters.totals();
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let (ops, in_kbps, out_kbps) = rates(shared);
    out.push_str("# Stats\r\n");
    field!(
        out,
        "total_connections_received",
        get(&s.connections_received)
    );
    field!(out, "total_commands_processed", t.commands);
    field!(out, "instantaneous_ops_per_sec", ops);
    field!(out, "total_net_input_bytes", t.net_input_bytes);
    field!(out, "total_net_output_bytes", t.net_output_bytes);
    field!(out, "total_net_repl_input_bytes", 0);
    field!(out, "total_net_repl_output_bytes", 0);
    field!(out, "instantaneous_input_kbps", format!("{in_kbps:.2}"));
    field!(out, "instantaneous_output_kbps", format!("{out_kbps:.2}"));
    field!(out, "instantaneous_input_repl_kbps", "0.00");
    field!(out, "instantaneous_output_repl_kbps", "0.00");
    field!(out, "rejected_connections", get(&s.rejected_connections));
    field!(out, "sync_full", 0);
    field!(out, "sync_partial_ok", 0);
    field!(out, "sync_partial_err", 0);
    field!(
        out,
        "expired_keys",
        shared.keyspace.expired_keys_with(shards)
    );
    field!(out, "expired_stale_perc", "0.00");
    field!(
        out,
        "expired_time_cap_reached_count",
        get(&s.expire_cycle_timeouts)
    );
    field!(
        out,
        "expire_cycle_cpu_milliseconds",
        get(&s.expire_cycle_usec) / 1000
    );
    let ev = &shared.evict;
    field!(out, "evicted_keys", evicted_keys(shared));
    field!(
        out,
        "evicted_clients",
        ev.evicted_clients.load(Ordering::Relaxed)
    );
    let (total_exceeded, current_exceeded) = ev.exceeded_times(crate::state::now_ms());
    field!(out, "total_eviction_exceeded_time", total_exceeded);
    field!(out, "current_eviction_exceeded_time", current_exceeded);
    field!(out, "keyspace_hits", t.keyspace_hits);
    field!(out, "keyspace_misses", t.keyspace_misses);
    field!(out, "pubsub_channels", shared.pubsub.count(Kind::Channel));
    field!(out, "pubsub_patterns", shared.pubsub.count(Kind::Pattern));
    field!(
        out,
        "pubsubshard_channels",
        shared.pubsub.count(Kind::Shard)
    );
    field!(out, "latest_fork_usec", 0);
    field!(out, "total_forks", 0);
    field!(out, "migrate_cached_sockets", 0);
    field!(out, "slave_expires_tracked_keys", 0);
    field!(out, "active_defrag_hits", 0);
    field!(out, "active_defrag_misses", 0);
    field!(out, "active_defrag_key_hits", 0);
    field!(out, "active_defrag_key_misses", 0);
    field!(out, "total_active_defrag_time", 0);
    field!(out, "current_active_defrag_time", 0);
    let (_, keys, items, prefixes) = shared.tracking.stats();
    field!(out, "tracking_total_keys", keys);
    field!(out, "tracking_total_items", items);
    field!(out, "tracking_total_prefixes", prefixes);
    field!(out, "unexpected_error_replies", 0);
    field!(out, "total_error_replies", t.error_replies);
    field!(out, "dump_payload_sanitizations", 0);
    field!(out, "total_reads_processed", t.reads);
    field!(out, "total_writes_processed", t.writes);
    // Redis's io-threads: Shoal has no separate I/O threads (every worker reads,
    // runs and writes its own connections), so, as Redis with io-threads 1, none.
    field!(out, "io_threaded_reads_processed", 0);
    field!(out, "io_threaded_writes_processed", 0);
    // Redis 7.0 resizes a client's 16 KB static reply buffer; Shoal's reply buffers
    // grow and are reused without that step.
    field!(out, "reply_buffer_shrinks", 0);
    field!(out, "reply_buffer_expands", 0);
    // Redis 7.4's fields (7.0 lacks them), where 7.4 puts them: clients closed past
    // client-query-buffer-limit and client-output-buffer-limit.
    let cs = &shared.clients.stats;
    field!(
        out,
        "client_query_buffer_limit_disconnections",
        get(&cs.query_limit_closed)
    );
    field!(
        out,
        "client_output_buffer_limit_disconnections",
        get(&cs.output_limit_closed)
    );
    // No ACL users or rules yet: only failed AUTH attempts can be denied.
    field!(
        out,
        "acl_access_denied_auth",
        get(&s.acl_access_denied_auth)
    );
    field!(out, "acl_access_denied_cmd", 0);
    field!(out, "acl_access_denied_key", 0);
    field!(out, "acl_access_denied_channel", 0);
}

/// Keys evicted for maxmemory since start (INFO `evicted_keys`, metrics
/// `redis_evicted_keys_total`).
pub fn evicted_keys(shared: &Shared) -> u64 {
    shared.evict.evicted_keys.load(Ordering::Relaxed)
}

fn replication(shared: &Shared, out: &mut String) {
    out.push_str("# Replication\r\n");
    field!(out, "role", "master");
    field!(out, "connected_slaves", 0);
    field!(out, "master_failover_state", "no-failover");
    field!(out, "master_replid", shared.run_id);
    field!(out, "master_replid2", "0".repeat(40));
    field!(out, "master_repl_offset", 0);
    field!(out, "second_repl_offset", -1);
    field!(out, "repl_backlog_active", 0);
    field!(out, "repl_backlog_size", 1_048_576);
    field!(out, "repl_backlog_first_byte_offset", 0);
    field!(out, "repl_backlog_histlen", 0);
}

fn cpu(out: &mut String) {
    let (sys, user) = cpu_times();
    out.push_str("# CPU\r\n");
    field!(out, "used_cpu_sys", format!("{sys:.6}"));
    field!(out, "used_cpu_user", format!("{user:.6}"));
    field!(out, "used_cpu_sys_children", "0.000000");
    field!(out, "used_cpu_user_children", "0.000000");
    // Redis's main thread runs every command; Shoal's commands run on all the worker
    // threads, which together are the process less its background threads. The
    // process's figures are the closest: Redis's main thread is most of its process.
    field!(out, "used_cpu_sys_main_thread", format!("{sys:.6}"));
    field!(out, "used_cpu_user_main_thread", format!("{user:.6}"));
}

/// INFO errorstats: error replies by code, sorted by code (Redis's rax order).
fn errorstats(out: &mut String, shared: &Shared) {
    out.push_str("# Errorstats\r\n");
    for (code, count) in shared.counters.error_codes() {
        let _ = write!(
            out,
            "errorstat_{}:count={count}\r\n",
            String::from_utf8_lossy(&code)
        );
    }
}

fn commandstats(out: &mut String, shared: &Shared, table: &CommandTable) {
    out.push_str("# Commandstats\r\n");
    for (cmd, s) in table.commands.iter().zip(shared.counters.commands()) {
        let (calls, usec, rejected, failed) = (s.calls, s.usec, s.rejected, s.failed);
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        let per_call = if calls == 0 {
            0.0
        } else {
            usec as f64 / calls as f64
        };
        let _ = write!(
            out,
            "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
            cmd.name
        );
    }
}

/// `latency_percentiles_usec_<cmd>:p50=...,p99=...` per command called, with the
/// percentiles of `latency-tracking-info-percentiles` (none while `latency-tracking`
/// is off), from the commands' power-of-two histograms.
fn latencystats(out: &mut String, shared: &Shared, table: &CommandTable) {
    out.push_str("# Latencystats\r\n");
    let (tracking, percentiles) = {
        let c = shared.config.read();
        (
            c.latency_tracking,
            crate::config::percentile_list(&c.latency_tracking_info_percentiles),
        )
    };
    if !tracking {
        return;
    }
    for (cmd, hist) in table.commands.iter().zip(shared.counters.latency()) {
        if hist.iter().all(|&n| n == 0) {
            continue;
        }
        let _ = write!(out, "latency_percentiles_usec_{}:", cmd.name);
        for (i, p) in percentiles.iter().enumerate() {
            let v = crate::counters::latency_percentile_us(&hist, *p).unwrap_or(0.0);
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(out, "{sep}p{p}={v:.3}");
        }
        out.push_str("\r\n");
    }
}

fn keyspace(shared: &Shared, out: &mut String, shards: &mut Shards<'_, '_>) {
    out.push_str("# Keyspace\r\n");
    for i in 0..shared.keyspace.num_dbs() {
        let db = shared.keyspace.db(i);
        let keys = db.len_with(shards);
        if keys == 0 {
            continue;
        }
        let _ = write!(
            out,
            "db{i}:keys={keys},expires={},avg_ttl=0\r\n",
            db.expires_with(shards)
        );
    }
}

/// Redis's `bytesToHuman`: `512B`, `1.50K`, `3.00M`, `2.00G`...
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: &[(u64, &str)] = &[
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    if n >= 1 << 60 {
        return format!("{n}B");
    }
    for &(size, unit) in UNITS {
        if n >= size {
            return format!("{:.2}{unit}", n as f64 / size as f64);
        }
    }
    format!("{n}B")
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_like_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1_089_320), "1.04M");
        assert_eq!(bytes_to_human(25_276_510_208), "23.54G");
        assert_eq!(bytes_to_human(3 << 40), "3.00T");
    }

    #[test]
    fn section_selection() {
        let names = |w: [bool; SECTIONS.len()]| {
            SECTIONS
                .iter()
                .zip(w)
                .filter(|(_, on)| *on)
                .map(|((n, _), _)| *n)
                .collect::<Vec<_>>()
        };
        let default = names(selected(&[]));
        assert!(default.contains(&"keyspace") && !default.contains(&"commandstats"));
        assert_eq!(names(selected(&[b"default"])), default);
        assert_eq!(names(selected(&[b"ALL"])).len(), SECTIONS.len());
        assert_eq!(
            names(selected(&[b"keyspace", b"Server", b"nope"])),
            vec!["server", "keyspace"]
        );
        assert!(names(selected(&[b"nope"])).is_empty());
    }

    #[test]
    fn memory_is_measured() {
        let used = crate::memory::used();
        let m = memory_figures(used);
        assert!(m.allocated > 0 && used > 0 && m.peak >= used);
        assert!(allocator_name().starts_with("jemalloc-5"));
    }
}
