//! The persistence commands: SAVE, BGSAVE (SCHEDULE) and LASTSAVE. The work is in
//! [`crate::persistence`]: both saves serialize a point-in-time snapshot of the
//! keyspace (no fork); SAVE on the calling connection, BGSAVE on a background thread.

use shoal_protocol::Args;

use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::{self, CmdError, CmdResult};
use crate::persistence::BgsaveError;

/// SAVE. Unlike Redis, only this connection waits: the save reads a snapshot, so
/// other clients keep being served. A failed save replies a bare `ERR`, as Redis.
fn save(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let p = &ctx.shared.persistence;
    if p.bgsave_in_progress() {
        return Err(CmdError::msg(error::BGSAVE_IN_PROGRESS));
    }
    // Let the runtime move this worker's other connections elsewhere meanwhile.
    let result = tokio::task::block_in_place(|| p.save(&ctx.shared.keyspace));
    match result {
        Ok(_) => {
            ctx.out.ok();
            Ok(())
        }
        Err(_) => Err(CmdError::msg(error::SAVE_FAILED)),
    }
}

/// BGSAVE [SCHEDULE]. Shoal has no other background process for a save to wait
/// behind (no AOF rewrite), so SCHEDULE starts the save right away, as Redis does
/// when nothing else runs; a save already running is an error either way.
fn bgsave(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() > 2 || (args.len() == 2 && !args[1].eq_ignore_ascii_case(b"schedule")) {
        return Err(CmdError::Syntax);
    }
    let shared = ctx.shared;
    match shared.persistence.bgsave(|| ctx.live_snapshot()) {
        Ok(()) => {
            ctx.out.simple_str("Background saving started");
            Ok(())
        }
        Err(BgsaveError::InProgress) => Err(CmdError::msg(error::BGSAVE_IN_PROGRESS)),
        Err(BgsaveError::Loading | BgsaveError::Spawn(_)) => Err(CmdError::msg(error::SAVE_FAILED)),
    }
}

fn lastsave(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.int(ctx.shared.persistence.last_save());
    Ok(())
}

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("save", 1, ADMIN | NOSCRIPT | NO_MULTI, (0, 0, 0), save)
        .scope(Scope::Own)
        .doc("server", "Synchronously save the dataset to disk", "1.0.0")
        .complexity("O(N) where N is the total number of keys in all databases")
        .acl(&["admin", "slow", "dangerous"])
        .schema(command_args::SAVE),
    Command::new("bgsave", -1, ADMIN | NOSCRIPT, (0, 0, 0), bgsave)
        .scope(Scope::All)
        .doc("server", "Asynchronously save the dataset to disk", "1.0.0")
        .complexity("O(1)")
        .acl(&["admin", "slow", "dangerous"])
        .schema(command_args::BGSAVE),
    Command::new(
        "lastsave",
        1,
        LOADING | STALE | FAST | RANDOM,
        (0, 0, 0),
        lastsave,
    )
    .doc(
        "server",
        "Get the UNIX time stamp of the last successful save to disk",
        "1.0.0",
    )
    .acl(&["admin", "fast", "dangerous"])
    .schema(command_args::LASTSAVE),
];
