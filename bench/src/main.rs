//! `shoal-load`: a memtier-like RESP load generator for Shoal and Redis.
//!
//! It speaks RESP2 by hand over tokio TCP, on one single-threaded runtime by default, so
//! that the generator stays cheaper than the server it measures. A run is:
//!
//! 1. optionally a prefill (`--prefill`): SET every key of the keyspace once, pipelined;
//! 2. the measured phase: `--connections` connections, each keeping `--pipeline`
//!    requests in flight, until `--duration` seconds or `--requests` requests;
//! 3. a report: ops, ops/s, GET hits/misses, errors, latency p50/p99/p99.9/max, and with
//!    `--server-pid` the server's CPU time and ops per server CPU-second; with
//!    `--marks FILE`, latency per window named in FILE ([`marks`]); with
//!    `--bgsave-at SECS`, latency and server memory before, during and after a BGSAVE
//!    that shoal-load starts itself ([`bgsave`]).
//!
//! Modules: [`cli`] (flags), [`workload`] (what to send), [`resp`] (encoding and reply
//! parsing), [`conn`] (the connection loop), [`stats`] (counting and reports),
//! [`procstat`] (server CPU and memory from `/proc`). See `bench/README.md`.

mod bgsave;
mod cli;
mod conn;
mod marks;
mod procstat;
mod resp;
mod stats;
mod workload;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinSet;
use tokio::time::Instant;

use cli::Args;
use conn::Phase;
use marks::Marks;
use procstat::Sample;
use stats::{ConnStats, Report, ServerUsage};
use workload::Workload;

/// Requests in flight per connection during the prefill.
const PREFILL_PIPELINE: usize = 64;
/// Upper bound on the prefill's length.
const PREFILL_LIMIT: Duration = Duration::from_secs(300);

fn main() -> ExitCode {
    let args = Args::parse_checked();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shoal-load: {e}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> std::io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

fn run(args: &Args) -> Result<ExitCode, String> {
    if let Some(pid) = args.server_pid {
        Sample::take(pid).map_err(|e| format!("cannot read /proc/{pid}/stat: {e}"))?;
    }
    let rt = runtime().map_err(|e| format!("tokio runtime: {e}"))?;
    let connect_timeout = Duration::from_secs_f64(args.connect_timeout);

    let prefill = if args.prefill {
        let phase = Arc::new(Phase::new(
            args.addr(),
            Arc::new(Workload::prefill(args)),
            args.connections,
            PREFILL_PIPELINE,
            connect_timeout,
            Some(PREFILL_LIMIT),
            Some(args.keyspace),
            None,
        ));
        eprintln!("shoal-load: prefilling {} keys...", args.keyspace);
        let stats = rt.block_on(run_connections(phase.clone(), 0..args.connections));
        let elapsed = phase.start().map_or(Duration::ZERO, |s| s.0.elapsed());
        let c = &stats.counters;
        if c.ops < args.keyspace || c.errors > 0 || c.conn_errors > 0 {
            let why = stats
                .conn_error
                .or(stats.first_error_reply)
                .unwrap_or_else(|| "stopped early".into());
            return Err(format!(
                "prefill failed: {} of {} keys written, {} errors: {why}",
                c.ops - c.errors,
                args.keyspace,
                c.errors + c.conn_errors
            ));
        }
        Some((c.ops, elapsed))
    } else {
        None
    };

    let mut phase = Phase::new(
        args.addr(),
        Arc::new(Workload::from_args(args)),
        args.connections,
        args.pipeline,
        connect_timeout,
        args.time_limit(),
        args.requests,
        args.server_pid,
    );
    phase.pacing = args.batch_interval().map(|i| (i, args.connections));
    let done = Arc::new(AtomicBool::new(false));
    if let Some(path) = &args.marks {
        let marks = Marks::watch(path.clone(), done.clone())
            .map_err(|e| format!("--marks {}: {e}", path.display()))?;
        phase.marks = Some(marks);
    }
    if args.bgsave_at.is_some() {
        phase.marks = Some(Arc::new(Marks::default()));
    }
    let phase = Arc::new(phase);
    let bgsave = match (args.bgsave_at, &phase.marks) {
        (Some(at), Some(marks)) => Some(
            bgsave::spawn(
                phase.clone(),
                marks.clone(),
                Duration::from_secs_f64(at),
                Duration::from_secs_f64(args.after),
                args.bgsave_split.map(Duration::from_millis),
                args.bgsave_control.map(Duration::from_secs_f64),
                args.server_pid,
            )
            .map_err(|e| format!("spawn the BGSAVE driver: {e}"))?,
        ),
        _ => None,
    };
    let stats = if args.threads == 1 {
        rt.block_on(run_connections(phase.clone(), 0..args.connections))
    } else {
        run_threads(args, &phase)?
    };
    done.store(true, Ordering::Relaxed);
    let windows = phase.marks.as_ref().map(|m| m.labels()).unwrap_or_default();
    let end = Instant::now();
    let after = args.server_pid.map(Sample::take);
    let &(start, before) = phase.start().ok_or("no connection ran")?;
    let server = match (args.server_pid, before, after) {
        (Some(pid), Some(before), Some(Ok(after))) => Some(ServerUsage::between(
            pid,
            before,
            after,
            procstat::clk_tck(),
        )),
        (Some(pid), ..) => {
            eprintln!("shoal-load: could not sample server {pid} (did it exit?)");
            None
        }
        _ => None,
    };
    let bgsave = match bgsave {
        Some(driver) => {
            if let Some(m) = &phase.marks {
                m.set(marks::STOP);
            }
            Some(
                driver
                    .join()
                    .map_err(|_| "the BGSAVE driver panicked".to_string())?,
            )
        }
        None => None,
    };
    if let Some(e) = bgsave.as_ref().and_then(|o| o.error.as_ref()) {
        return Err(format!("--bgsave-at: {e}"));
    }
    let report = Report {
        args,
        stats,
        elapsed: end.duration_since(start),
        prefill,
        server,
        windows,
        bgsave,
    };
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    Ok(if report.stats.counters.ops == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs connections `ids` of `phase` on the current runtime and merges their figures.
async fn run_connections(phase: Arc<Phase>, ids: impl Iterator<Item = usize>) -> ConnStats {
    let mut set = JoinSet::new();
    for id in ids {
        set.spawn(conn::run(id, phase.clone()));
    }
    let mut total = ConnStats::default();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(s) => total.merge(&s),
            // A connection task cannot panic by design; count it if it somehow does.
            Err(e) => total.fail(format!("connection task: {e}"), 0),
        }
    }
    total
}

/// Runs the measured phase on `--threads` threads, each with its own single-threaded
/// runtime and every `threads`-th connection.
fn run_threads(args: &Args, phase: &Arc<Phase>) -> Result<ConnStats, String> {
    let handles: Vec<_> = (0..args.threads)
        .map(|t| {
            let phase = phase.clone();
            let (threads, connections) = (args.threads, args.connections);
            std::thread::Builder::new()
                .name(format!("shoal-load-{t}"))
                .spawn(move || -> Result<ConnStats, String> {
                    let rt = runtime().map_err(|e| format!("tokio runtime: {e}"))?;
                    Ok(rt.block_on(run_connections(phase, (t..connections).step_by(threads))))
                })
                .map_err(|e| format!("spawn thread: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let mut total = ConnStats::default();
    for h in handles {
        let stats = h
            .join()
            .map_err(|_| "a load thread panicked".to_string())??;
        total.merge(&stats);
    }
    Ok(total)
}
