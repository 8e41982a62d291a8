//! Connection commands: PING, ECHO, SELECT, QUIT... (being extended).

use shoal_protocol::Args;

use crate::command::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::num::parse_i64;

fn ping(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    match args.len() {
        1 => ctx.out.simple(b"PONG"),
        2 => ctx.out.bulk(&args[1]),
        _ => return Err(CmdError::WrongArity("ping".into())),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

fn select(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let idx = parse_i64(&args[1]).ok_or(CmdError::NotInteger)?;
    if idx < 0 || idx as usize >= ctx.shared.keyspace.num_dbs() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.client.select(idx as usize);
    ctx.out.ok();
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("ping", -1, FAST, (0, 0, 0), ping)
        .doc("connection", "Returns the server's liveliness response.", "1.0.0")
        .acl(&["fast", "connection"]),
    Command::new("echo", 2, FAST, (0, 0, 0), echo)
        .doc("connection", "Returns the given string.", "1.0.0")
        .acl(&["fast", "connection"]),
    Command::new("select", 2, LOADING | STALE | FAST, (0, 0, 0), select)
        .doc("connection", "Changes the selected database.", "1.0.0")
        .acl(&["fast", "connection"]),
    Command::new(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        (0, 0, 0),
        quit,
    )
    .doc("connection", "Closes the connection.", "1.0.0")
    .acl(&["fast", "connection"]),
];
