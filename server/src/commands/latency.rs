//! LATENCY (Redis's `latency.c`): LATEST, HISTORY, RESET and DOCTOR read the latency
//! monitor (`latency.rs`, fed while `latency-monitor-threshold` is set); HISTOGRAM
//! reads the per-command latency histograms (`counters.rs`, power-of-two microsecond
//! buckets, as Redis replies them).

use shoal_protocol::Args;

use super::common::{container, help};
use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::counters::latency_bucket_bound_us;
use crate::error::CmdResult;

fn latency_latest(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let latest = ctx.shared.latency.latest();
    ctx.out.array(latest.len());
    for l in &latest {
        ctx.out.array(4);
        ctx.out.bulk_str(&l.event);
        ctx.out.int(l.time);
        ctx.out.int(l.latency_ms as i64);
        ctx.out.int(l.max_ms as i64);
    }
    Ok(())
}

fn latency_history(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let samples = ctx.shared.latency.history(&args[2]);
    ctx.out.array(samples.len());
    for (time, ms) in samples {
        ctx.out.array(2);
        ctx.out.int(time);
        ctx.out.int(ms as i64);
    }
    Ok(())
}

fn latency_reset(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let names: Vec<&[u8]> = args.iter().skip(2).collect();
    let n = ctx.shared.latency.reset(&names);
    ctx.out.int(n as i64);
    Ok(())
}

fn latency_doctor(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let report = ctx.shared.latency.report();
    ctx.out.verbatim(b"txt", report.as_bytes());
    Ok(())
}

/// `LATENCY HISTOGRAM [command ...]`: for each command named (every command called
/// when none is) that has calls, `{calls, histogram_usec: {bucket: cumulative}}`,
/// the buckets where the cumulative count grows (Redis's `fillCommandCDF`).
fn latency_histogram(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let table = ctx.table;
    let hists = ctx.shared.counters.latency();
    let tracking = ctx.shared.config.read().latency_tracking;
    let mut wanted: Vec<usize> = if args.len() > 2 {
        args.iter()
            .skip(2)
            .filter_map(|name| table.find(name))
            .collect()
    } else {
        (0..table.commands.len()).collect()
    };
    wanted.dedup();
    wanted.retain(|&i| tracking && hists[i].iter().any(|&n| n > 0));
    ctx.out.map(wanted.len());
    for i in wanted {
        let hist = &hists[i];
        ctx.out.bulk_str(table.commands[i].name);
        ctx.out.map(2);
        ctx.out.bulk_str("calls");
        ctx.out.int(hist.iter().sum::<u64>() as i64);
        ctx.out.bulk_str("histogram_usec");
        let mut points = Vec::new();
        let mut cumulative = 0u64;
        for (b, &n) in hist.iter().enumerate() {
            if n == 0 {
                continue;
            }
            cumulative += n;
            // The last bucket has no bound: Redis's histogram tops out too.
            let bound = latency_bucket_bound_us(b).unwrap_or(1 << b);
            points.push((bound, cumulative));
        }
        ctx.out.map(points.len());
        for (bound, count) in points {
            ctx.out.int(bound as i64);
            ctx.out.int(count as i64);
        }
    }
    Ok(())
}

fn latency_help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    help(
        ctx.out,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}

const ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous"];
const FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

const LATENCY_SUBS: &[Command] = &[
    Command::new("doctor", 2, FLAGS, (0, 0, 0), latency_doctor)
        .doc(
            "server",
            "Return a human readable latency analysis report.",
            "2.8.13",
        )
        .acl(ADMIN_ACL)
        .schema(command_args::LATENCY_DOCTOR),
    Command::new("histogram", -2, FLAGS, (0, 0, 0), latency_histogram)
        .doc(
            "server",
            "Return the cumulative distribution of latencies of a subset of commands or all.",
            "7.0.0",
        )
        .complexity(
            "O(N) where N is the number of commands with latency information being retrieved.",
        )
        .acl(ADMIN_ACL)
        .schema(command_args::LATENCY_HISTOGRAM),
    Command::new("history", 3, FLAGS, (0, 0, 0), latency_history)
        .doc(
            "server",
            "Return timestamp-latency samples for the event.",
            "2.8.13",
        )
        .acl(ADMIN_ACL)
        .schema(command_args::LATENCY_HISTORY),
    Command::new("latest", 2, FLAGS, (0, 0, 0), latency_latest)
        .doc(
            "server",
            "Return the latest latency samples for all events.",
            "2.8.13",
        )
        .acl(ADMIN_ACL)
        .schema(command_args::LATENCY_LATEST),
    Command::new("reset", -2, FLAGS, (0, 0, 0), latency_reset)
        .doc(
            "server",
            "Reset latency data for one or more events.",
            "2.8.13",
        )
        .acl(ADMIN_ACL)
        .schema(command_args::LATENCY_RESET),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), latency_help)
        .doc(
            "server",
            "Show helpful text about the different subcommands.",
            "2.8.13",
        )
        .acl(&["slow"])
        .schema(command_args::LATENCY_HELP),
];

pub const COMMANDS: &[Command] = &[Command::new("latency", -2, 0, (0, 0, 0), container)
    .doc(
        "server",
        "A container for latency diagnostics commands",
        "2.8.13",
    )
    .complexity("Depends on subcommand.")
    .acl(&["slow"])
    .subs(LATENCY_SUBS)
    .schema(command_args::LATENCY)];
