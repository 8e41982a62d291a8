//! Dispatch: from a parsed request to a reply, the one path every command takes.
//!
//! [`execute`] resolves the row ([`TABLE`], built here from the families), runs the
//! [gates](gates) in Redis's `processCommand` order, calls the handler through the
//! execution context, renders its error if any, and does the bookkeeping (command
//! counters and the dirty count in this thread's slot of `Shared::counters`, slow
//! log, MONITOR). Connections call [`execute`] (and a caller holding a group's
//! locks, [`execute_group`]); nothing else runs handlers. A
//! command may not complete now: a gate (CLIENT PAUSE) or its handler
//! ([`Ctx::block`]) parks it, and [`execute`] says so with [`Outcome::Park`]; the
//! connection runs it again later.

use std::sync::LazyLock;

use shoal_protocol::{Args, ReplyBuf};

use crate::access::{Held, Tally};
use crate::blocking::{Block, PauseKind};
use crate::client::Client;
use crate::clock::mono_ns;
use crate::command::{flags, Command, CommandTable, Ctx};
use crate::commands;
use crate::error::{CmdError, CmdResult};
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
/// 8. a MONITOR client (a replica to Redis) may not touch the keyspace: commands
///    flagged `write` or `readonly` get `Replica can't interact with the keyspace`;
/// 9. CLIENT PAUSE: the command parks until the pause ends (every command in `ALL`
///    mode, those flagged `write` in `WRITE` mode; monitors are never paused);
/// 10. (MULTI: the command is queued).
#[inline]
pub fn gates(shared: &Shared, client: &Client, cmd: &Command, now: i64) -> Result<Gate, CmdError> {
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
    if client.monitor && cmd.has(flags::WRITE | flags::READONLY) {
        return Err(CmdError::ReplicaKeyspace);
    }
    if shared.blocking.pause_kind() != PauseKind::None && paused(shared, client, cmd, now) {
        return Ok(Gate::Park(Block::pause()));
    }
    Ok(Gate::Run)
}

/// What the gates let a command do.
pub enum Gate {
    /// Run it now.
    Run,
    /// Park it (CLIENT PAUSE).
    Park(Block),
}

/// Whether a pause in force at `now` holds `cmd` back. Redis 7.0's WRITE mode also
/// holds the "may replicate" commands (EVAL, PUBLISH, PFCOUNT...), none of which
/// Shoal has yet.
#[cold]
fn paused(shared: &Shared, client: &Client, cmd: &Command, now: i64) -> bool {
    if client.monitor {
        return false;
    }
    match shared.blocking.pause_active(now) {
        PauseKind::None => false,
        PauseKind::Write => cmd.has(flags::WRITE),
        PauseKind::All => true,
    }
}

/// What became of a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran: its reply (or error) is in the output buffer.
    Done,
    /// It waits (nothing was written): the connection parks it as the [`Block`] says
    /// and runs it again (see `net.rs`).
    Park(Block),
}

/// Refuses a command before it runs: counts it as rejected (for the command, when
/// known, and server-wide) and replies with the error.
fn reject(shared: &Shared, out: &mut ReplyBuf, idx: Option<usize>, e: &CmdError) {
    shared.counters.local().rejected(idx);
    out.error(&e.message());
}

/// Runs one command for `client`, its reply (or error) going to `out`, unless it
/// parks ([`Outcome::Park`]).
pub fn execute(
    shared: &Shared,
    client: &mut Client,
    out: &mut ReplyBuf,
    now: i64,
    args: &Args<'_>,
) -> Outcome {
    let table: &'static CommandTable = &TABLE;
    let (idx, cmd) = match table.resolve(args) {
        Ok(found) => found,
        Err(e) => {
            reject(shared, out, table.find(&args[0]), &e);
            return Outcome::Done;
        }
    };
    let gate = match gates(shared, client, cmd, now) {
        Ok(gate) => gate,
        Err(e) => {
            reject(shared, out, Some(idx), &e);
            return Outcome::Done;
        }
    };
    let container = table.get(idx);
    client.last_cmd = if std::ptr::eq(container, cmd) {
        (cmd.name, "")
    } else {
        (container.name, cmd.name)
    };
    if let Gate::Park(block) = gate {
        return Outcome::Park(block);
    }
    // A SNAPSHOT READ view: the command runs against the snapshot (the Arc clone
    // keeps it alive for the call).
    let view = client.snapshot.clone();
    let keyspace = match &view {
        Some(snap) => snap.keyspace(),
        None => &shared.keyspace,
    };
    let mut ctx = Ctx::new(shared, table, keyspace, client, out, now, None);
    let (result, usec) = call(&mut ctx, cmd, args);
    // The changes it made, for persistence's save points (Redis's `server.dirty`, as
    // the handler counted them; a failed command may have counted some before
    // failing, as in Redis), and its keyspace hits and misses.
    let tally = std::mem::take(&mut ctx.tally);
    if let (Some(block), Ok(())) = (ctx.client.parked.take(), &result) {
        // Counted (calls, time, slow log) when it completes, as Redis does; shown to
        // MONITOR only this once (the connection clears `reprocessing` when it is done).
        shared.counters.local().tally(&tally);
        ctx.client.reprocessing = true;
        return Outcome::Park(block);
    }
    // The command's counters and its changes: this thread's slot, no shared line.
    shared
        .counters
        .local()
        .command(idx, usec, result.is_err(), &tally);
    if let Err(e) = result {
        ctx.out.error(&e.message());
    }
    shared.slowlog.maybe_record(ctx.client, now, args, usec);
    Outcome::Done
}

/// Runs `cmd`'s handler, timed (microseconds), then shows the command to MONITOR
/// once it ran (in the database it left selected), unless it is administrative or
/// was already shown when it first parked (Redis's `call`).
#[inline(always)]
fn call(ctx: &mut Ctx<'_>, cmd: &Command, args: &Args<'_>) -> (CmdResult, u64) {
    let started = mono_ns();
    let result = (cmd.handler)(ctx, args);
    let usec = mono_ns().saturating_sub(started) / 1000;
    let shared = ctx.shared;
    if shared.monitors.active()
        && !cmd.has(flags::SKIP_MONITOR | flags::ADMIN)
        && !ctx.client.reprocessing
    {
        shared
            .monitors
            .feed(ctx.client.db, &ctx.client.info.addr, args.iter());
    }
    (result, usec)
}

/// Whether a command can run in a group: its keys are all named by its key spec, in
/// the client's selected database. Commands that reach other databases (COPY ... DB,
/// MOVE) or whole databases (KEYS, SCAN, FLUSHDB...) lock for themselves and cannot
/// yet run under a group's locks.
fn groupable(cmd: &Command) -> bool {
    (cmd.keys.first > 0 || cmd.keynum.is_some()) && !matches!(cmd.name, "copy" | "move")
}

/// The key arguments of `args` by `cmd`'s key spec (none when its key count is not
/// valid: the handler refuses such a call before it declares any key).
fn key_args<'a>(cmd: &Command, args: &Args<'a>) -> Vec<&'a [u8]> {
    let argv: Vec<&'a [u8]> = args.iter().collect();
    let positions = cmd.key_positions(&argv).unwrap_or_default();
    positions
        .into_iter()
        .filter_map(|i| argv.get(i).copied())
        .collect()
}

/// Runs `group` (several commands) atomically for `client`: the shards of every key
/// of every command are locked once, in the global order, and each command's ordinary
/// handler runs against those guards, so no other client observes part of the group.
/// Each command is resolved and gated as by [`execute`] and replies in order; a
/// command refused (or one that cannot run in a group: see [`groupable`]) replies its
/// error and the others still run. This is what MULTI/EXEC and scripts build on.
pub fn execute_group(
    shared: &Shared,
    client: &mut Client,
    out: &mut ReplyBuf,
    now: i64,
    group: &[&Args<'_>],
) {
    let table: &'static CommandTable = &TABLE;
    // A SNAPSHOT READ view: reads run against the snapshot (writes are refused by
    // the gates); the Arc clone keeps it alive for the group.
    let view = client.snapshot.clone();
    let keyspace = match &view {
        Some(snap) => snap.keyspace(),
        None => &shared.keyspace,
    };
    let mut resolved: Vec<Result<(usize, &'static Command), CmdError>> =
        Vec::with_capacity(group.len());
    let mut shards = Vec::new();
    let dbi = client.db;
    let db = keyspace.db(dbi);
    for args in group {
        let found = table
            .resolve(args)
            // A pause holds a group back as a whole, before it runs (as EXEC in
            // Redis), never one of its commands: a `Gate::Park` is not applied here.
            .and_then(|(idx, cmd)| gates(shared, client, cmd, now).map(|_| (idx, cmd)))
            .and_then(|(idx, cmd)| {
                if groupable(cmd) {
                    Ok((idx, cmd))
                } else {
                    Err(CmdError::not_in_group(cmd.name))
                }
            });
        if let Ok((_, cmd)) = found {
            for key in key_args(cmd, args) {
                shards.push((dbi, db.shard_index(db.hash(key))));
            }
        }
        // Replies keep the group's order: an error waits for its turn.
        resolved.push(found);
    }
    let held = Held::lock(keyspace, shards);
    let mut ctx = Ctx::new(shared, table, keyspace, client, out, now, Some(held));
    for (args, found) in group.iter().zip(resolved) {
        let (idx, cmd) = match found {
            Ok(found) => found,
            Err(e) => {
                reject(ctx.shared, ctx.out, table.find(&args[0]), &e);
                continue;
            }
        };
        let (result, usec) = call(&mut ctx, cmd, args);
        shared
            .counters
            .local()
            .command(idx, usec, result.is_err(), &Tally::default());
        if let Err(e) = result {
            ctx.out.error(&e.message());
        }
    }
    // The locks go before the dirty count is published, as for a single command.
    ctx.held = None;
    ctx.commit_dirty();
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
