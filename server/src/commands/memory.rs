//! MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE. Allocator figures come from
//! [`crate::process`].

use shoal_storage::Entry;

use shoal_protocol::{Args, ReplyBuf};

use super::common::{container, help};
use crate::access::Lookup;
use crate::access::Shards;
use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::{CmdError, CmdResult};
use crate::num::parse_i64;

/// Bytes a table slot costs per key: the entry pointer plus hashbrown's control byte.
const SLOT_BYTES: usize = std::mem::size_of::<Entry>() + 1;

/// MEMORY USAGE key [SAMPLES count]: the entry's allocation plus its table slot.
/// Options are checked before the key is looked up, as Redis does; SAMPLES is
/// accepted and has nothing to sample (values are flat strings).
fn memory_usage(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let mut i = 3;
    while i < args.len() {
        if args[i].eq_ignore_ascii_case(b"samples") && i + 1 < args.len() {
            match parse_i64(&args[i + 1]) {
                None => return Err(CmdError::NotInteger),
                Some(n) if n < 0 => return Err(CmdError::Syntax),
                Some(_) => {}
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (mut keys, out) = ctx.keys(&[&args[2]]);
    match keys.lookup(0, Lookup::PROBE) {
        // The entry's block as the allocator rounds it, what its value holds beyond
        // (nested values: their own estimate), and its table slot.
        Some(e) => {
            let block = crate::memory::size_class(e.block_size());
            let nested = e.heap_size() - e.block_size();
            out.int((block + nested + SLOT_BYTES) as i64)
        }
        None => out.null(),
    }
    Ok(())
}

/// MEMORY STATS: Redis's field names, from jemalloc and the keyspace.
fn memory_stats(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let m = crate::process::memory_figures(ctx.shared.evict.used_memory());
    let ks = &ctx.shared.keyspace;
    let mut shards = Shards::of(&mut ctx.held);
    let mut per_db = Vec::new();
    let mut keys = 0u64;
    for i in 0..ks.num_dbs() {
        let db = ks.db(i);
        let n = db.len_with(&mut shards) as u64;
        if n > 0 {
            keys += n;
            per_db.push((i, db.table_bytes_with(&mut shards) as i64));
        }
    }
    let clients = ctx.shared.evict.clients_memory();
    let overhead = crate::info::table_overhead(ctx.shared, &mut shards) + clients;
    let dataset = m.used.saturating_sub(overhead);
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let out = &mut *ctx.out;
    out.map(27 + per_db.len());
    let int = |out: &mut ReplyBuf, k: &str, v: u64| {
        out.bulk_str(k);
        out.int(v as i64);
    };
    let dbl = |out: &mut ReplyBuf, k: &str, v: f64| {
        out.bulk_str(k);
        out.double(v);
    };
    int(out, "peak.allocated", m.peak);
    int(out, "total.allocated", m.used);
    int(out, "startup.allocated", 0);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", clients);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    for (i, table) in per_db {
        out.bulk_str(&format!("db.{i}"));
        out.map(2);
        out.bulk_str("overhead.hashtable.main");
        out.int(table);
        out.bulk_str("overhead.hashtable.expires");
        out.int(0);
    }
    int(out, "overhead.total", overhead);
    int(out, "keys.count", keys);
    int(
        out,
        "keys.bytes-per-key",
        m.used
            .saturating_sub(overhead)
            .checked_div(keys)
            .unwrap_or(0),
    );
    int(out, "dataset.bytes", dataset);
    dbl(out, "dataset.percentage", pct(dataset, m.used));
    dbl(out, "peak.percentage", pct(m.used, m.peak));
    int(out, "allocator.allocated", m.allocated);
    int(out, "allocator.active", m.active);
    int(out, "allocator.resident", m.resident);
    dbl(
        out,
        "allocator-fragmentation.ratio",
        ratio(m.active, m.allocated),
    );
    int(
        out,
        "allocator-fragmentation.bytes",
        m.active.saturating_sub(m.allocated),
    );
    dbl(out, "allocator-rss.ratio", ratio(m.resident, m.active));
    int(
        out,
        "allocator-rss.bytes",
        m.resident.saturating_sub(m.active),
    );
    dbl(out, "rss-overhead.ratio", ratio(m.rss, m.resident));
    int(out, "rss-overhead.bytes", m.rss.saturating_sub(m.resident));
    dbl(out, "fragmentation", ratio(m.rss, m.used));
    int(out, "fragmentation.bytes", m.rss.saturating_sub(m.used));
    Ok(())
}

/// MEMORY DOCTOR: Redis's verdicts for the checks that apply to Shoal (an instance
/// too small to judge, a peak far above current use, high fragmentation).
fn memory_doctor(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let m = crate::process::memory_figures(ctx.shared.evict.used_memory());
    let report = if m.used < 5 * 1024 * 1024 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.".to_string()
    } else {
        let mut issues = Vec::new();
        if m.peak as f64 / m.used as f64 > 1.5 {
            issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
        }
        if m.rss as f64 / m.used as f64 > 1.4 {
            issues.push(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc.\n\n");
        }
        if issues.is_empty() {
            "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.".to_string()
        } else {
            format!(
                "Sam, I detected a few issues in this Redis instance memory implants:\n\n{}I'm here to keep you safe, Sam. I want to help you.\n",
                issues.concat()
            )
        }
    };
    ctx.out.verbatim(b"txt", report.as_bytes());
    Ok(())
}

/// MEMORY MALLOC-STATS: jemalloc's main counters. (jemalloc's full `stats_print`
/// report needs tikv-jemalloc-ctl's `use_std` feature, which is not enabled.)
fn memory_malloc_stats(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    use tikv_jemalloc_ctl::{epoch, stats, version};
    let _ = epoch::advance();
    let read = |r: tikv_jemalloc_ctl::Result<usize>| r.unwrap_or(0);
    let report = format!(
        "___ Begin jemalloc statistics ___\nVersion: \"{}\"\nAllocated: {}, active: {}, metadata: {}, resident: {}, mapped: {}, retained: {}\n--- End jemalloc statistics ---\n",
        version::read().unwrap_or("unknown"),
        read(stats::allocated::read()),
        read(stats::active::read()),
        read(stats::metadata::read()),
        read(stats::resident::read()),
        read(stats::mapped::read()),
        read(stats::retained::read()),
    );
    ctx.out.verbatim(b"txt", report.as_bytes());
    Ok(())
}

/// MEMORY PURGE: jemalloc's background thread already returns dirty pages to the OS
/// on a timer (see the `malloc_conf` in `lib.rs`), so there is nothing to force.
fn memory_purge(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

fn memory_help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    help(
        ctx.out,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

const MEMORY_SUBS: &[Command] = &[
    Command::new("usage", -3, READONLY, (2, 2, 1), memory_usage)
        .doc("server", "Estimate the memory usage of a key", "4.0.0")
        .complexity("O(N) where N is the number of samples.")
        .acl(&["read", "slow"])
        .schema(command_args::MEMORY_USAGE),
    Command::new("stats", 2, 0, (0, 0, 0), memory_stats)
        .scope(Scope::All)
        .doc("server", "Show memory usage details", "4.0.0")
        .acl(&["slow"])
        .schema(command_args::MEMORY_STATS),
    Command::new("doctor", 2, 0, (0, 0, 0), memory_doctor)
        .doc("server", "Outputs memory problems report", "4.0.0")
        .acl(&["slow"])
        .schema(command_args::MEMORY_DOCTOR),
    Command::new("malloc-stats", 2, 0, (0, 0, 0), memory_malloc_stats)
        .doc("server", "Show allocator internal stats", "4.0.0")
        .complexity("Depends on how much memory is allocated, could be slow")
        .acl(&["slow"])
        .schema(command_args::MEMORY_MALLOC_STATS),
    Command::new("purge", 2, 0, (0, 0, 0), memory_purge)
        .doc("server", "Ask the allocator to release memory", "4.0.0")
        .complexity("Depends on how much memory is allocated, could be slow")
        .acl(&["slow"])
        .schema(command_args::MEMORY_PURGE),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), memory_help)
        .doc(
            "server",
            "Show helpful text about the different subcommands",
            "4.0.0",
        )
        .acl(&["slow"])
        .schema(command_args::MEMORY_HELP),
];

/// This family's commands.
pub const COMMANDS: &[Command] = &[Command::new("memory", -2, 0, (0, 0, 0), container)
    .doc(
        "server",
        "A container for memory diagnostics commands",
        "4.0.0",
    )
    .complexity("Depends on subcommand.")
    .acl(&["slow"])
    .subs(MEMORY_SUBS)
    .schema(command_args::MEMORY)];
