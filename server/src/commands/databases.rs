//! Whole-database commands: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB.

use std::sync::Arc;

use shoal_storage::{entries_in, Segments};

use shoal_protocol::Args;

use crate::access::{announce, presence_with, Shards};
use crate::changes::{Change, FLUSHED, SWAPPED};
use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::{self, CmdError, CmdResult};
use crate::num::parse_i64;

fn dbsize(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let n = ctx.db().len_with(&mut Shards::of(&mut ctx.held));
    ctx.out.int(n as i64);
    Ok(())
}

/// Tells the clients watching keys of `db` how a flush (`after` = `None`) or a
/// SWAPDB changed them, before it happens: `before` reads the keys as they are,
/// `after` as they will be (see `Watches::db_changed`).
fn touch_watched(ctx: &mut Ctx<'_>, db: usize, after: Option<usize>) {
    let shared = ctx.shared;
    if !shared.watches.active() {
        return;
    }
    let (now, ks) = (ctx.now, ctx.keyspace);
    let mut src = Shards::of(&mut ctx.held);
    let src = std::cell::RefCell::new(&mut src);
    let mut before = |k: &[u8]| presence_with(ks.db(db), &mut **src.borrow_mut(), k, now);
    match after {
        None => shared.watches.db_changed(db, &mut before, None),
        Some(other) => {
            let mut later = |k: &[u8]| presence_with(ks.db(other), &mut **src.borrow_mut(), k, now);
            shared.watches.db_changed(db, &mut before, Some(&mut later));
        }
    }
}

/// The `[ASYNC|SYNC]` argument of FLUSHDB/FLUSHALL: whether to free asynchronously.
fn flush_mode(args: &Args<'_>) -> Result<bool, CmdError> {
    match args.get(1) {
        None => Ok(false),
        Some(a) if args.len() == 2 && a.eq_ignore_ascii_case(b"async") => Ok(true),
        Some(a) if args.len() == 2 && a.eq_ignore_ascii_case(b"sync") => Ok(false),
        Some(_) => Err(CmdError::Syntax),
    }
}

/// Frees the tables a flush took out: on a helper thread for ASYNC (the keys are
/// already gone for clients; only the freeing is deferred), here otherwise.
fn free_tables<T: Send + 'static>(tables: T, lazy: bool) {
    if lazy {
        // If no thread can be started, `tables` is dropped right here instead.
        let _ = std::thread::Builder::new()
            .name("shoal-lazyfree".into())
            .spawn(move || drop(tables));
    } else {
        drop(tables);
    }
}

/// The number of entries in tables a flush took out, expired ones not yet reclaimed
/// included (Redis's `emptyData` counts its dictionaries' sizes).
fn keys_in(shards: &[Arc<Segments>]) -> u64 {
    shards.iter().map(|s| entries_in(s) as u64).sum()
}

/// FLUSHDB [ASYNC|SYNC]: counts the keys it removed as changes.
fn flushdb(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let lazy = flush_mode(args)?;
    let db = ctx.client.db;
    touch_watched(ctx, db, None);
    let tables = ctx.db().clear_with(&mut Shards::of(&mut ctx.held));
    let removed = keys_in(&tables);
    ctx.add_dirty(removed);
    if removed > 0 {
        let db = ctx.client.db;
        announce(ctx.shared, Change::Db { db, event: FLUSHED });
    }
    // Client-side caches drop everything, even for an empty database (Redis).
    ctx.shared.tracking.flushed(&ctx.shared.clients);
    free_tables(tables, lazy);
    ctx.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC|SYNC]: empties every database and counts the keys removed as
/// changes; then, as Redis's `flushAllDataAndResetRDB`, stops a running background
/// save and, when save points are configured, rewrites the dump from the emptied
/// keyspace at once (see `Persistence::flushall_save`). A failed save is logged and
/// the reply is OK anyway, as in Redis; ASYNC only defers freeing the old tables.
fn flushall(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let lazy = flush_mode(args)?;
    for db in 0..ctx.shared.keyspace.num_dbs() {
        touch_watched(ctx, db, None);
    }
    let tables = ctx
        .shared
        .keyspace
        .flush_all_with(&mut Shards::of(&mut ctx.held));
    for (db, old) in tables.iter().enumerate() {
        let removed = keys_in(old);
        ctx.add_dirty(removed);
        if removed > 0 {
            announce(ctx.shared, Change::Db { db, event: FLUSHED });
        }
    }
    // One null invalidation to every tracking client (Redis's
    // `trackingInvalidateKeysOnFlush`).
    ctx.shared.tracking.flushed(&ctx.shared.clients);
    free_tables(tables, lazy);
    // A successful save resets the counter, this command's changes included (Redis
    // 7.0 reports 0 changes after it): they must be in the counter before it.
    ctx.commit_dirty();
    let shared = ctx.shared;
    // Joining a background save and writing the dump block: let the runtime move
    // this worker's other connections elsewhere meanwhile.
    tokio::task::block_in_place(|| shared.persistence.flushall_save(|| ctx.live_snapshot()));
    ctx.out.ok();
    Ok(())
}

/// A SWAPDB index: an integer that fits a C `int` (Redis's `getIntFromObject`).
fn db_index(arg: &[u8], which: &'static str) -> Result<i64, CmdError> {
    match parse_i64(arg) {
        Some(v) if i32::try_from(v).is_ok() => Ok(v),
        _ => Err(CmdError::msg(which)),
    }
}

fn swapdb(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let a = db_index(&args[1], error::INVALID_FIRST_DB_INDEX)?;
    let b = db_index(&args[2], error::INVALID_SECOND_DB_INDEX)?;
    let n = ctx.shared.keyspace.num_dbs() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return Err(CmdError::DbIndexOutOfRange);
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        // Each database's watched keys: what they were (its own content) and what they
        // will be (the other's).
        touch_watched(ctx, a, Some(b));
        touch_watched(ctx, b, Some(a));
    }
    if ctx
        .shared
        .keyspace
        .swap_dbs_with(&mut Shards::of(&mut ctx.held), a, b)
    {
        for db in [a, b] {
            announce(ctx.shared, Change::Db { db, event: SWAPPED });
        }
    }
    // Redis counts one change, even for a database swapped with itself.
    ctx.add_dirty(1);
    ctx.out.ok();
    Ok(())
}

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("dbsize", 1, READONLY | FAST, (0, 0, 0), dbsize)
        .scope(Scope::Db)
        .doc(
            "server",
            "Return the number of keys in the selected database",
            "1.0.0",
        )
        .acl(&["keyspace", "read", "fast"])
.schema(command_args::DBSIZE),
    Command::new("flushdb", -1, WRITE, (0, 0, 0), flushdb)
        .scope(Scope::Db)
        .doc("server", "Remove all keys from the current database", "1.0.0")
        .complexity("O(N) where N is the number of keys in the selected database")
        .acl(&["keyspace", "write", "slow", "dangerous"])
.schema(command_args::FLUSHDB),
    Command::new("flushall", -1, WRITE, (0, 0, 0), flushall)
        .scope(Scope::All)
        .doc("server", "Remove all keys from all databases", "1.0.0")
        .complexity("O(N) where N is the total number of keys in all databases")
        .acl(&["keyspace", "write", "slow", "dangerous"])
.schema(command_args::FLUSHALL),
    Command::new("swapdb", 3, WRITE | FAST, (0, 0, 0), swapdb)
        .scope(Scope::All)
        .doc("server", "Swaps two Redis databases", "4.0.0")
        .complexity(
            "O(N) where N is the count of clients watching or blocking on keys from both databases.",
        )
        .acl(&["keyspace", "write", "fast", "dangerous"])
.schema(command_args::SWAPDB),
];
