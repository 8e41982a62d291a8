//! Dispatch: from a parsed request to a reply, the one path every command takes.
//!
//! [`execute`] resolves the row ([`TABLE`], built here from the families), runs the
//! [gates](gates) in Redis's `processCommand` order, calls the handler through the
//! execution context, renders its error if any, and does the bookkeeping (command
//! counters, dirty count, slow log). Connections call [`execute`]; nothing else runs
//! handlers.

use std::sync::atomic::Ordering;
use std::sync::LazyLock;
use std::time::Instant;

use shoal_protocol::{Args, ReplyBuf};

use crate::client::Client;
use crate::command::{flags, Command, CommandTable, Ctx};
use crate::commands;
use crate::error::CmdError;
use crate::state::Shared;

/// The process-wide command table, assembled from every family's rows.
pub static TABLE: LazyLock<CommandTable> =
    LazyLock::new(|| CommandTable::build(commands::FAMILIES));

/// The gates, in the order Redis's `processCommand` checks them; the first that
/// refuses decides the reply. Resolution (unknown command, unknown subcommand,
/// arity) has already happened. Steps still to come plug in where their comment
/// stands, so the order stays Redis's:
///
/// 1. authentication: `NOAUTH` until AUTH/HELLO succeeds (ACL's `NOPERM` comes next);
/// 2. (MULTI: flags that forbid a command inside a transaction);
/// 3. (maxmemory: `OOM` for `denyoom` commands over the limit);
/// 4. persistence: `MISCONF` for writes (and PING) after a failed background save;
/// 5. a SNAPSHOT READ view: `READONLY` for writes (Redis's read-only replica check);
/// 6. (subscribe mode: only the pub/sub commands, PING, QUIT and RESET in RESP2);
/// 7. loading: `LOADING` for commands without the `loading` flag;
/// 8. (CLIENT PAUSE: the command waits; MULTI: the command is queued).
#[inline]
pub fn gates(shared: &Shared, client: &Client, cmd: &Command) -> Result<(), CmdError> {
    if !client.authenticated && !cmd.has(flags::NO_AUTH) && shared.auth_required() {
        return Err(CmdError::NoAuth);
    }
    let persistence = &shared.persistence;
    if persistence.misconf() && (cmd.has(flags::WRITE) || cmd.name == "ping") {
        return Err(CmdError::Misconf);
    }
    if client.snapshot.is_some() && cmd.has(flags::WRITE) {
        return Err(CmdError::SnapshotReadonly);
    }
    if persistence.loading() && !cmd.has(flags::LOADING) {
        return Err(CmdError::Loading);
    }
    Ok(())
}

/// Refuses a command before it runs: counts it as rejected (for the command, when
/// known, and server-wide) and replies with the error.
fn reject(shared: &Shared, out: &mut ReplyBuf, idx: Option<usize>, e: &CmdError) {
    if let Some(i) = idx {
        shared.command_stats[i]
            .rejected
            .fetch_add(1, Ordering::Relaxed);
    }
    shared.stats.rejected_calls.fetch_add(1, Ordering::Relaxed);
    out.error(&e.message());
}

/// Runs one command for `client`, its reply (or error) going to `out`.
pub fn execute(
    shared: &Shared,
    client: &mut Client,
    out: &mut ReplyBuf,
    now: i64,
    args: &Args<'_>,
) {
    let table: &'static CommandTable = &TABLE;
    let (idx, cmd) = match table.resolve(args) {
        Ok(found) => found,
        Err(e) => {
            reject(shared, out, table.find(&args[0]), &e);
            return;
        }
    };
    if let Err(e) = gates(shared, client, cmd) {
        reject(shared, out, Some(idx), &e);
        return;
    }
    let container = table.get(idx);
    client.last_cmd = if std::ptr::eq(container, cmd) {
        (cmd.name, "")
    } else {
        (container.name, cmd.name)
    };
    // A SNAPSHOT READ view: the command runs against the snapshot (the Arc clone
    // keeps it alive for the call).
    let view = client.snapshot.clone();
    let keyspace = match &view {
        Some(snap) => snap.keyspace(),
        None => &shared.keyspace,
    };
    let started = Instant::now();
    let mut ctx = Ctx {
        shared,
        table,
        keyspace,
        client,
        out,
        now,
        dirty: 0,
        held: None,
    };
    let result = (cmd.handler)(&mut ctx, args);
    let usec = started.elapsed().as_micros() as u64;
    // Persistence: changes since the last save, for save points, as the handler
    // counted them (Redis's `server.dirty`; a failed command may have counted some
    // before failing, as in Redis). One atomic add, only when something changed.
    ctx.commit_dirty();
    let stats = &shared.command_stats[idx];
    stats.calls.fetch_add(1, Ordering::Relaxed);
    stats.usec.fetch_add(usec, Ordering::Relaxed);
    shared.stats.commands.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = result {
        stats.failed.fetch_add(1, Ordering::Relaxed);
        shared.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
        ctx.out.error(&e.message());
    }
    shared.slowlog.maybe_record(ctx.client, now, args, usec);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for c in &TABLE.commands {
            assert_eq!(c.name, c.name.to_ascii_lowercase());
            assert!(c.arity != 0, "{} has arity 0", c.name);
            assert!(!c.summary.is_empty(), "{} has no summary", c.name);
            for s in c.subcommands {
                assert!(
                    s.arity != 0 && !s.summary.is_empty(),
                    "{}|{}",
                    c.name,
                    s.name
                );
            }
        }
    }
}
