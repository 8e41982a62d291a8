//! The SNAPSHOT container (Shoal's own, no Redis counterpart): named point-in-time
//! snapshots of the whole keyspace. CREATE, LIST, DROP, READ, RESTORE, MERGE, HELP.
//!
//! The registry and the merge live in `snapshots.rs`; the copy-on-write mechanism in
//! `storage` (`Keyspace::snapshot`). What each subcommand does:
//!
//! - `CREATE [name]` takes a snapshot of the live keyspace (all databases, one instant,
//!   O(shards)) and replies with its name (`snap-<n>` when none is given). A name is 1
//!   to 128 bytes without ASCII control characters (`check_name`). A connection
//!   in a snapshot view still snapshots the live keyspace.
//! - `LIST` replies with one entry per snapshot, oldest first: RESP3 a map, RESP2 a
//!   flat array of field/value pairs, with `name` (bulk), `created` (unix ms),
//!   `keys` (keys in all databases, as DBSIZE counts them) and `retained_bytes` (bytes
//!   this snapshot keeps alive that the live keyspace no longer uses: what it has
//!   replaced, removed or copied away from since).
//! - `DROP name` replies 1 if it existed, else 0. Connections reading it keep it until
//!   they leave it; the memory is freed off the request path.
//! - `READ name` makes this connection read the snapshot: every read command answers
//!   as of the snapshot (SELECT still picks the database inside it), every command
//!   flagged `write` is refused with `READONLY` (see the gates in `dispatch.rs`). `READ LIVE`
//!   switches back. Other connections are unaffected.
//! - `RESTORE name` replaces every live database with the snapshot's content,
//!   atomically, in O(shards) (the tables are shared, copy-on-write).
//! - `MERGE name REPLACE|KEEP` writes the snapshot's keys back into the live keyspace,
//!   atomically: KEEP only keys deleted or expired since, REPLACE also keys changed
//!   since. Replies with the number of keys written.
//!
//! Expiry inside a snapshot follows the clock: a key whose TTL passes is invisible in
//! the snapshot too (and not restored by MERGE), but nothing is deleted from it.
//!
//! Changes (Redis's `server.dirty`, for save points) are counted for the two writes:
//! RESTORE as a FLUSHALL followed by one write per restored key (the keys removed
//! plus the keys put back), leaving out the shards the live keyspace still shares
//! with the snapshot (unchanged since, so replacing them changes nothing); MERGE one
//! per key written (its reply).

use shoal_protocol::Args;

use crate::access::{announce, notify_only, Shards};
use crate::changes::{
    event::{NEW, RESTORE},
    Change, REPLACED,
};
use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::{CmdError, CmdResult};
use crate::snapshots::{self, CreateError, MergeMode, Snapshot};

/// The name `SNAPSHOT READ` takes for the live keyspace; no snapshot may be called so.
const LIVE: &[u8] = b"live";

fn no_such(name: &[u8]) -> CmdError {
    CmdError::no_such_snapshot(name)
}

fn find(ctx: &Ctx<'_>, name: &[u8]) -> Result<std::sync::Arc<Snapshot>, CmdError> {
    ctx.shared.snapshots.get(name).ok_or_else(|| no_such(name))
}

fn snapshot_container(_ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    Err(CmdError::Syntax)
}

/// Longest snapshot name, in bytes.
const MAX_NAME_LEN: usize = 128;

/// A name SNAPSHOT CREATE accepts: 1 to [`MAX_NAME_LEN`] bytes, none of them an ASCII
/// control character (names are shown by SNAPSHOT LIST and in logs); otherwise
/// binary-safe (spaces, UTF-8 or any byte >= 128 are fine).
fn check_name(name: &[u8]) -> CmdResult {
    if name.is_empty() {
        return Err(CmdError::snapshot_name_empty());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(CmdError::snapshot_name_too_long(MAX_NAME_LEN));
    }
    if name.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(CmdError::snapshot_name_control());
    }
    Ok(())
}

/// SNAPSHOT CREATE [name]
fn create(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let name = args.get(2);
    if let Some(n) = name {
        check_name(n)?;
        if n.eq_ignore_ascii_case(LIVE) {
            return Err(CmdError::snapshot_name_reserved(n));
        }
    }
    let max = usize::try_from(ctx.shared.config.read().maxsnapshots).unwrap_or(usize::MAX);
    let (shared, now) = (ctx.shared, ctx.now);
    // In a group (MULTI/EXEC), taken from the shards the group holds.
    match shared
        .snapshots
        .create(|| ctx.live_snapshot(), name, now, max)
    {
        Ok(snap) => {
            ctx.out.bulk(snap.name());
            Ok(())
        }
        Err(CreateError::Exists) => Err(CmdError::snapshot_exists(name.unwrap_or_default())),
        Err(CreateError::Limit(max)) => Err(CmdError::too_many_snapshots(max)),
    }
}

/// SNAPSHOT LIST
fn list(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let all = ctx.shared.snapshots.list();
    let retained: Vec<usize> = {
        let view = ctx.client.snapshot.is_some();
        let mut src = Shards::of_live(&mut ctx.held, view);
        all.iter()
            .map(|s| s.retained_bytes_with(&ctx.shared.keyspace, &mut src))
            .collect()
    };
    ctx.out.array(all.len());
    for (s, retained) in all.iter().zip(retained) {
        // RESP3: a map per snapshot; RESP2: the same pairs as a flat array.
        ctx.out.map(4);
        ctx.out.bulk_str("name");
        ctx.out.bulk(s.name());
        ctx.out.bulk_str("created");
        ctx.out.int(s.created_ms());
        ctx.out.bulk_str("keys");
        ctx.out.int(s.keys() as i64);
        ctx.out.bulk_str("retained_bytes");
        ctx.out.int(retained as i64);
    }
    Ok(())
}

/// SNAPSHOT DROP name
fn drop_cmd(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    // The snapshot (if this was its last reference) is freed by `Snapshot`'s Drop,
    // on a background thread.
    let removed = ctx.shared.snapshots.remove(&args[2]);
    ctx.out.int(i64::from(removed.is_some()));
    Ok(())
}

/// SNAPSHOT READ name|LIVE
fn read(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let name = &args[2];
    ctx.client.snapshot = if name.eq_ignore_ascii_case(LIVE) {
        None
    } else {
        Some(find(ctx, name)?)
    };
    ctx.out.ok();
    Ok(())
}

/// SNAPSHOT RESTORE name
fn restore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let snap = find(ctx, &args[2])?;
    let restored = match ctx.held.as_mut() {
        // In a group (MULTI/EXEC), under the shards the group holds.
        Some(held) => ctx.shared.keyspace.restore_from_with(held, snap.keyspace()),
        None => ctx.shared.keyspace.restore_from(snap.keyspace()),
    };
    // The databases whose contents were replaced.
    for &db in &restored.changed_dbs {
        announce(
            ctx.shared,
            Change::Db {
                db,
                event: REPLACED,
            },
        );
    }
    ctx.add_dirty(restored.changes);
    snapshots::free_later(restored.old);
    ctx.out.ok();
    Ok(())
}

/// SNAPSHOT MERGE name REPLACE|KEEP
fn merge(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let mode = &args[3];
    let mode = if mode.eq_ignore_ascii_case(b"replace") {
        MergeMode::Replace
    } else if mode.eq_ignore_ascii_case(b"keep") {
        MergeMode::Keep
    } else {
        return Err(CmdError::Syntax);
    };
    let snap = find(ctx, &args[2])?;
    let shared = ctx.shared;
    let written = snapshots::merge_into(
        &shared.keyspace,
        &mut Shards::of(&mut ctx.held),
        snap.keyspace(),
        mode,
        ctx.now,
        &mut |db, key, new| {
            if new {
                notify_only(shared, db, key, NEW);
            }
            announce(shared, Change::key(db, key, RESTORE));
        },
    );
    ctx.add_dirty(written as u64);
    ctx.out.int(written as i64);
    Ok(())
}

const SNAPSHOT_HELP: &[&str] = &[
    "SNAPSHOT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE [<name>]",
    "    Take a point-in-time snapshot of every database and return its name",
    "    (snap-<n> when no name is given). A name is 1 to 128 bytes, without control",
    "    characters (bytes 0-31, 127). At most maxsnapshots exist at once.",
    "LIST",
    "    Return every snapshot: name, created (unix ms), keys and retained_bytes",
    "    (memory only the snapshot keeps alive).",
    "DROP <name>",
    "    Delete a snapshot. Connections reading it keep it until they leave it.",
    "READ (<name>|LIVE)",
    "    Make this connection read the snapshot (write commands are refused), or the",
    "    live data again with LIVE.",
    "RESTORE <name>",
    "    Replace the live data of every database with the snapshot's.",
    "MERGE <name> (REPLACE|KEEP)",
    "    Write the snapshot's keys back into the live data. KEEP restores only keys",
    "    deleted or expired since; REPLACE also overwrites keys changed since.",
    "HELP",
    "    Print this help.",
];

/// SNAPSHOT HELP: help lines as status strings, like Redis's HELP subcommands.
fn help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.array(SNAPSHOT_HELP.len());
    for line in SNAPSHOT_HELP {
        ctx.out.simple_str(line);
    }
    Ok(())
}

const ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous"];
const WRITE_ACL: &[&str] = &["keyspace", "write", "admin", "slow", "dangerous"];

/// SNAPSHOT subcommands (arity counts `SNAPSHOT` and the subcommand name).
const SNAPSHOT_SUBCOMMANDS: &[Command] = &[
    Command::new("create", -2, ADMIN | NOSCRIPT, (0, 0, 0), create)
        .scope(Scope::All)
        .doc(
            "server",
            "Takes a point-in-time snapshot of every database and returns its name.",
            "0.1.0",
        )
        .complexity("O(S) where S is the number of shards of all databases")
        .acl(ADMIN_ACL)
        .schema(command_args::SNAPSHOT_CREATE),
    Command::new("list", 2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), list)
        .scope(Scope::All)
        .doc(
            "server",
            "Lists snapshots, oldest first: one map per snapshot (RESP2: a flat field/value array) with name, created (unix ms), keys and retained_bytes.",
            "0.1.0",
        )
        .complexity("O(N*S + E) where N is the number of snapshots, S the number of shards and E the entries of the segments written since each snapshot")
        .acl(ADMIN_ACL)
        .schema(command_args::SNAPSHOT_LIST),
    Command::new("drop", 3, ADMIN | NOSCRIPT, (0, 0, 0), drop_cmd)
        .doc(
            "server",
            "Deletes a snapshot; connections reading it keep it until they leave it.",
            "0.1.0",
        )
        .complexity("O(N) where N is the number of snapshots (memory is freed in the background)")
        .acl(ADMIN_ACL)
        .schema(command_args::SNAPSHOT_DROP),
    Command::new(
        "read",
        3,
        NOSCRIPT | LOADING | STALE | FAST,
        (0, 0, 0),
        read,
    )
    .doc(
        "server",
        "Switches the connection to a read-only view of a snapshot, or back to the live data (LIVE).",
        "0.1.0",
    )
    .complexity("O(N) where N is the number of snapshots")
    .acl(&["fast", "connection"])
        .schema(command_args::SNAPSHOT_READ),
    Command::new("restore", 3, WRITE | ADMIN | NOSCRIPT, (0, 0, 0), restore)
        .scope(Scope::All)
        .doc(
            "server",
            "Atomically replaces every database with a snapshot's content.",
            "0.1.0",
        )
        .complexity("O(S) where S is the number of shards of all databases")
        .acl(WRITE_ACL)
        .schema(command_args::SNAPSHOT_RESTORE),
    Command::new(
        "merge",
        4,
        WRITE | DENYOOM | ADMIN | NOSCRIPT,
        (0, 0, 0),
        merge,
    )
    .scope(Scope::All)
    .doc(
        "server",
        "Atomically writes a snapshot's keys back: KEEP restores keys deleted or expired since, REPLACE also overwrites keys changed since.",
        "0.1.0",
    )
    .complexity("O(S + K) where S is the number of shards and K the keys of the segments written since the snapshot")
    .acl(WRITE_ACL)
        .schema(command_args::SNAPSHOT_MERGE),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), help)
        .doc(
            "server",
            "Returns helpful text about the different subcommands.",
            "0.1.0",
        )
        .acl(&["slow"])
        .schema(command_args::SNAPSHOT_HELP),
];

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("snapshot", -2, 0, (0, 0, 0), snapshot_container)
        .doc("server", "A container for snapshot commands.", "0.1.0")
        .complexity("Depends on subcommand.")
        .acl(&["slow"])
        .subs(SNAPSHOT_SUBCOMMANDS)
        .schema(command_args::SNAPSHOT),
];
