//! SHUTDOWN: the final save, then the server stops.

use shoal_protocol::Args;

use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::{self, CmdError, CmdResult};

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. Saves first when save points are
/// configured or SAVE is given (never with NOSAVE or while loading); a failed save
/// refuses the shutdown unless FORCE. Shutdown is immediate (no replicas to wait for),
/// so ABORT never finds one in progress. On success the client gets no reply: its
/// connection is closed.
fn shutdown(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut save, mut nosave, mut other, mut abort) = (false, false, false, false);
    let mut force = false;
    for a in args.iter().skip(1) {
        if a.eq_ignore_ascii_case(b"nosave") {
            nosave = true;
        } else if a.eq_ignore_ascii_case(b"save") {
            save = true;
        } else if a.eq_ignore_ascii_case(b"now") || a.eq_ignore_ascii_case(b"force") {
            other = true;
            force |= a.eq_ignore_ascii_case(b"force");
        } else if a.eq_ignore_ascii_case(b"abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (abort && (save || nosave || other)) || (save && nosave) {
        return Err(CmdError::Syntax);
    }
    if abort {
        return Err(CmdError::msg(error::NO_SHUTDOWN_IN_PROGRESS));
    }
    // A script past busy-reply-threshold holds its shards: only NOSAVE may stop the
    // server then (a save would wait for the script), as in Redis.
    if !nosave && ctx.shared.scripts.busy() {
        return Err(ctx.shared.scripts.busy_error());
    }
    tracing::warn!(
        client = %ctx.client.info.addr,
        "User requested shutdown..."
    );
    // Persistence: the final save, before anything stops.
    let flags = crate::persistence::ShutdownFlags {
        save,
        nosave,
        force,
    };
    let p = &ctx.shared.persistence;
    if tokio::task::block_in_place(|| p.shutdown_save(&ctx.shared.keyspace, flags)).is_err() {
        return Err(CmdError::msg(error::SHUTDOWN_FAILED));
    }
    ctx.shared.request_shutdown();
    // Nothing after SHUTDOWN in this client's pipeline runs.
    ctx.client.close_after_reply = true;
    Ok(())
}

/// ACL categories of the administrative commands.
const ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous"];

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        (0, 0, 0),
        shutdown,
    )
    .scope(Scope::Own)
    .doc(
        "server",
        "Synchronously save the dataset to disk and then shut down the server",
        "1.0.0",
    )
    .complexity(
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
    )
    .acl(ADMIN_ACL)
.schema(command_args::SHUTDOWN),
];
