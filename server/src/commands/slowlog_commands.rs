//! SLOWLOG GET, LEN, RESET, HELP over the log in [`crate::slowlog`].

use shoal_protocol::Args;

use super::common::{container, help};
use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::error::{self, CmdError, CmdResult};
use crate::num::parse_i64;

fn slowlog_get(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::slowlog_get_usage(&args[1]));
    }
    let count = match args.get(2) {
        None => 10,
        Some(a) => match parse_i64(a) {
            Some(-1) => usize::MAX,
            Some(n) if n >= 0 => n as usize,
            _ => return Err(CmdError::msg(error::SLOWLOG_COUNT_BELOW_MINUS_ONE)),
        },
    };
    let entries = ctx.shared.slowlog.newest(count);
    ctx.out.array(entries.len());
    for e in &entries {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time);
        ctx.out.int(e.usec as i64);
        ctx.out.array(e.args.len());
        for a in &e.args {
            ctx.out.bulk(a);
        }
        ctx.out.bulk_str(&e.addr);
        ctx.out.bulk_str(&e.name);
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.int(ctx.shared.slowlog.len() as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.shared.slowlog.reset();
    ctx.out.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    help(
        ctx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

/// ACL categories of the administrative commands.
const ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous"];

const SLOWLOG_SUBS: &[Command] = &[
    Command::new("get", -2, ADMIN | LOADING | STALE, (0, 0, 0), slowlog_get)
        .doc("server", "Get the slow log's entries", "2.2.12")
        .complexity("O(N) where N is the number of entries returned")
        .acl(ADMIN_ACL)
        .schema(command_args::SLOWLOG_GET),
    Command::new("len", 2, ADMIN | LOADING | STALE, (0, 0, 0), slowlog_len)
        .doc("server", "Get the slow log's length", "2.2.12")
        .acl(ADMIN_ACL)
        .schema(command_args::SLOWLOG_LEN),
    Command::new(
        "reset",
        2,
        ADMIN | LOADING | STALE,
        (0, 0, 0),
        slowlog_reset,
    )
    .doc("server", "Clear all entries from the slow log", "2.2.12")
    .complexity("O(N) where N is the number of entries in the slowlog")
    .acl(ADMIN_ACL)
    .schema(command_args::SLOWLOG_RESET),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), slowlog_help)
        .doc(
            "server",
            "Show helpful text about the different subcommands",
            "6.2.0",
        )
        .acl(&["slow"])
        .schema(command_args::SLOWLOG_HELP),
];

/// This family's commands.
pub const COMMANDS: &[Command] = &[Command::new("slowlog", -2, 0, (0, 0, 0), container)
    .doc("server", "A container for slow log commands", "2.2.12")
    .complexity("Depends on subcommand.")
    .acl(&["slow"])
    .subs(SLOWLOG_SUBS)
    .schema(command_args::SLOWLOG)];
