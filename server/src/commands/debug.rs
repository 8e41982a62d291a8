//! DEBUG: the subcommands of Redis's `debug.c` that make sense for a cache and its
//! tests (SLEEP, SET-ACTIVE-EXPIRE, LOG, HELP). Protected as in Redis 7.0: it runs
//! only as `enable-debug-command` allows (dispatch's first gate), so with the
//! default `no` it is refused, inside MULTI too, where the refusal aborts the
//! transaction (`EXECABORT`). Queued in a transaction, it runs in EXEC as any
//! command.

use std::sync::atomic::Ordering;
use std::time::Duration;

use shoal_protocol::Args;

use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::commands::common::help;
use crate::error::{CmdError, CmdResult};

const DEBUG_HELP: &[&str] = &[
    "LOG <message>",
    "    Write <message> to the server log.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
];

/// The longest prefix of `arg` that C's `strtod` would read (0 when none), as Redis
/// reads DEBUG SLEEP's seconds.
fn strtod(arg: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim_start();
    (1..=text.len().min(64))
        .rev()
        .filter(|&n| text.is_char_boundary(n))
        .find_map(|n| {
            let head = &text[..n];
            // Rust also takes "inf"/"nan" words, as strtod does; it refuses a
            // trailing 'e' or '.', which strtod skips, and the shorter prefix wins.
            head.parse::<f64>().ok()
        })
        .unwrap_or(0.0)
}

/// The integer C's `atoi` reads from the start of `arg` (0 when none).
fn atoi(arg: &[u8]) -> i64 {
    let s = arg.trim_ascii_start();
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        v = v.wrapping_mul(10).wrapping_add(i64::from(b - b'0'));
    }
    if neg {
        -v
    } else {
        v
    }
}

/// DEBUG subcommand [arg ...].
fn debug(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let sub = &args[1];
    let n = args.len();
    if sub.eq_ignore_ascii_case(b"help") && n == 2 {
        help(ctx.out, "DEBUG", DEBUG_HELP);
    } else if sub.eq_ignore_ascii_case(b"sleep") && n == 3 {
        // Redis stops the whole server; here the command's thread sleeps (inside
        // EXEC, holding the transaction's locks, so nobody sees the transaction
        // half done meanwhile). A negative or unreadable time sleeps not at all.
        let secs = strtod(&args[2]);
        if secs > 0.0 {
            let d = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
            tokio::task::block_in_place(|| std::thread::sleep(d));
        }
        ctx.out.ok();
    } else if sub.eq_ignore_ascii_case(b"set-active-expire") && n == 3 {
        ctx.shared
            .live
            .active_expire_off
            .store(atoi(&args[2]) == 0, Ordering::Relaxed);
        ctx.out.ok();
    } else if sub.eq_ignore_ascii_case(b"log") && n == 3 {
        tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
        ctx.out.ok();
    } else {
        return Err(CmdError::subcommand_syntax(sub, "DEBUG"));
    }
    Ok(())
}

/// This family's command.
pub const COMMANDS: &[Command] = &[Command::new(
    "debug",
    -2,
    ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED,
    (0, 0, 0),
    debug,
)
.doc("server", "A container for debugging commands", "1.0.0")
.complexity("Depends on subcommand.")
.acl(&["admin", "slow", "dangerous"])
.schema(command_args::DEBUG)];
