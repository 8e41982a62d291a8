//! Transactions (Redis's `multi.c`): MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! - MULTI starts queueing: dispatch's gates queue every later command but EXEC,
//!   DISCARD, MULTI, WATCH, QUIT and RESET (`+QUEUED`), and a command refused while
//!   queueing (unknown, wrong arity, `no-multi`, any gate) marks the transaction so
//!   that EXEC answers EXECABORT.
//! - EXEC runs the queue through dispatch's group runner: the shards of every key of
//!   every queued command, and of the watched keys, are locked once, so no other
//!   client observes part of the transaction; whole-database commands (FLUSHDB, KEYS,
//!   SCAN...) make it hold every shard of their database, and SELECT inside the
//!   transaction is followed. Runtime errors do not stop the other commands. A
//!   blocking command answers as if it timed out.
//! - WATCH registers keys in [`crate::watch`]; the write hook marks every watcher of a
//!   changed key. With the locks held, EXEC refuses (null reply) when a watched key
//!   changed or has expired since it was watched. EXEC, DISCARD, UNWATCH and RESET
//!   forget the watched keys; so does a disconnect.

use shoal_protocol::Args;

use crate::access::Presence;
use crate::client::{Multi, Watching};
use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::error::{
    CmdError, CmdResult, DISCARD_WITHOUT_MULTI, EXEC_ABORT, EXEC_WITHOUT_MULTI, MULTI_NESTED,
    WATCH_IN_MULTI,
};
use crate::watch::Watches;

fn multi(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg(MULTI_NESTED));
    }
    ctx.client.set_multi(Some(Multi::default()));
    ctx.out.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    if ctx.client.take_multi().is_none() {
        return Err(CmdError::msg(DISCARD_WITHOUT_MULTI));
    }
    ctx.client.unwatch_all(&ctx.shared.watches);
    ctx.out.ok();
    Ok(())
}

fn exec(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let Some(multi) = ctx.client.take_multi() else {
        return Err(CmdError::msg(EXEC_WITHOUT_MULTI));
    };
    if multi.aborted {
        ctx.client.unwatch_all(&ctx.shared.watches);
        return Err(CmdError::msg(EXEC_ABORT));
    }
    let group: Vec<Args<'_>> = multi.queued.iter().map(|a| a.args()).collect();
    // The watched keys stay registered until the transaction ran (their marks are
    // read under the locks).
    let watched: Vec<(usize, Box<[u8]>)> = ctx
        .client
        .watching
        .as_ref()
        .map(|w| w.keys.clone())
        .unwrap_or_default();
    let watched: Vec<(usize, &[u8])> = watched.iter().map(|(db, k)| (*db, &**k)).collect();
    let n = group.len();
    let mut precheck = |ctx: &mut Ctx<'_>| {
        // Under the locks of the watched keys: nobody can change them between this
        // check and the transaction.
        if changed_since_watched(ctx, &watched) {
            ctx.out.null_array();
            return false;
        }
        ctx.out.array(n);
        true
    };
    let run = ctx.table.run_group;
    let ran = run(ctx, &group, &watched, &mut precheck);
    ctx.client.unwatch_all(&ctx.shared.watches);
    // A script went busy while EXEC waited for the shards: as if the gates had
    // refused EXEC (Redis's `execCommandAbort`).
    ran.map(|_| ())
        .map_err(|e| crate::error::exec_abort_because(&e))
}

/// Whether a watched key changed since WATCH (the write hook marked the client), or,
/// having been live or absent then, is now present but expired (Redis's
/// `isWatchedKeyExpired`: the expiry is a change).
fn changed_since_watched(ctx: &mut Ctx<'_>, watched: &[(usize, &[u8])]) -> bool {
    let Some(watcher) = ctx.client.watching.as_ref().map(|w| w.watcher.clone()) else {
        return false;
    };
    if watcher.is_dirty() {
        return true;
    }
    let watches = &ctx.shared.watches;
    let (mut keys, _) = ctx.keys_at(watched);
    watched.iter().enumerate().any(|(i, &(db, key))| {
        keys.presence(i) == Presence::Expired && !watches.marked_expired(&watcher, db, key)
    })
}

fn watch(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg(WATCH_IN_MULTI));
    }
    let db = ctx.client.db;
    let names: Vec<&[u8]> = args.iter().skip(1).collect();
    let presence: Vec<Presence> = {
        let (mut keys, _) = ctx.keys(&names);
        (0..names.len()).map(|i| keys.presence(i)).collect()
    };
    let id = ctx.client.id();
    let watches = &ctx.shared.watches;
    let w = ctx.client.watching.get_or_insert_with(|| Watching {
        watcher: Watches::watcher(id),
        keys: Vec::new(),
    });
    for (key, p) in names.iter().zip(presence) {
        if watches.watch(&w.watcher, db, key, p == Presence::Expired) {
            w.keys.push((db, (*key).into()));
        }
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.client.unwatch_all(&ctx.shared.watches);
    ctx.out.ok();
    Ok(())
}

const TRANSACTION_FAST: &[&str] = &["fast", "transaction"];

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        multi,
    )
    .doc(
        "transactions",
        "Mark the start of a transaction block",
        "1.2.0",
    )
    .acl(TRANSACTION_FAST)
    .schema(command_args::MULTI),
    Command::new(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        (0, 0, 0),
        exec,
    )
    .doc(
        "transactions",
        "Execute all commands issued after MULTI",
        "1.2.0",
    )
    .complexity("Depends on commands in the transaction")
    .acl(&["slow", "transaction"])
    .schema(command_args::EXEC),
    Command::new(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        discard,
    )
    .doc(
        "transactions",
        "Discard all commands issued after MULTI",
        "2.0.0",
    )
    .complexity("O(N), when N is the number of queued commands")
    .acl(TRANSACTION_FAST)
    .schema(command_args::DISCARD),
    Command::new(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (1, -1, 1),
        watch,
    )
    .doc(
        "transactions",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        "2.2.0",
    )
    .complexity("O(1) for every key.")
    .acl(TRANSACTION_FAST)
    .schema(command_args::WATCH),
    Command::new(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        unwatch,
    )
    .doc("transactions", "Forget about all watched keys", "2.2.0")
    .complexity("O(1)")
    .acl(TRANSACTION_FAST)
    .schema(command_args::UNWATCH),
];
