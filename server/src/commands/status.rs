//! INFO and TIME. The INFO text is built in [`crate::info`].

use std::time::{SystemTime, UNIX_EPOCH};

use shoal_protocol::Args;

use crate::access::Shards;
use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::CmdResult;

/// INFO [section ...]: plain text; a verbatim `txt` string in RESP3, as Redis.
fn info_cmd(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let sections: Vec<&[u8]> = args.iter().skip(1).collect();
    let text = crate::info::render(
        ctx.shared,
        ctx.table,
        &sections,
        &mut Shards::of(&mut ctx.held),
    );
    ctx.out.verbatim(b"txt", text.as_bytes());
    Ok(())
}

fn time(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(now.subsec_micros().into());
    Ok(())
}

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("info", -1, LOADING | STALE, (0, 0, 0), info_cmd)
        .scope(Scope::All)
        .doc(
            "server",
            "Get information and statistics about the server",
            "1.0.0",
        )
        .acl(&["slow", "dangerous"])
        .schema(command_args::INFO),
    Command::new("time", 1, LOADING | STALE | FAST | RANDOM, (0, 0, 0), time)
        .doc("server", "Return the current server time", "2.6.0")
        .acl(&["fast"])
        .schema(command_args::TIME),
];
