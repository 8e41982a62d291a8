//! The merge family: HMERGE, HMERGEVALUES and MMERGE (Shoal's own commands).
//!
//! Merging one map into another is the everyday operation behind counters aggregated
//! from many workers, configuration overlays and feature-flag sets; Redis needs a Lua
//! script or a client-side read-modify-write loop for it. Each command here is one
//! atomic step with a strategy: REPLACE (incoming wins), KEEP (existing wins), SUM,
//! MIN or MAX (numeric, with INCRBYFLOAT's arithmetic and formatting).
//!
//! The handlers only parse arguments and render replies: the merges themselves are
//! the storage library's ([`shoal_storage::Db::hmerge`], `hmerge_values`, `mmerge`),
//! which lock every shard involved, check types and numbers, reserve capacity and only
//! then write, so on any error nothing has changed. Syntax is checked before any key
//! is looked at.
//!
//! Changes (Redis's `server.dirty`, for save points) are counted as Redis counts its
//! nearest commands: HMERGEVALUES one per field added or changed and MMERGE one per key
//! added or changed (their replies, as HSET/MSET count what they write); HMERGE 1 for
//! the destination key, as ZUNIONSTORE counts its destination, when it was written
//! (not when every source was missing or empty; an error counts 0).

use std::collections::HashSet;

use shoal_protocol::Args;
use shoal_storage::{MergeError, MergeStrategy};

use crate::access::{announce, notify_only, Presence};
use crate::changes::{
    event::{MERGE, NEW},
    Change,
};
use crate::command::flags::*;
use crate::command::{Command, Ctx};
use crate::command_args;
use crate::error::{self, CmdError, CmdResult};
use crate::num::parse_i64;

/// Which command a storage error is reported for (the not-a-number text differs).
#[derive(Clone, Copy)]
enum Family {
    Hash,
    Keys,
}

fn merge_error(e: MergeError, family: Family) -> CmdError {
    match (e, family) {
        (MergeError::WrongType, _) => CmdError::WrongType,
        (MergeError::NotANumber, Family::Hash) => CmdError::msg(error::HASH_VALUE_NOT_A_NUMBER),
        (MergeError::NotANumber, Family::Keys) => CmdError::msg(error::VALUE_NOT_A_NUMBER),
        (MergeError::Overflow, _) => CmdError::msg(error::INCREMENT_NAN_OR_INFINITY),
    }
}

fn strategy_arg(arg: &[u8]) -> Result<MergeStrategy, CmdError> {
    MergeStrategy::from_bytes(arg).ok_or(CmdError::Syntax)
}

/// `(field, value)` or `(key, value)` pairs from `args[from..]` (an even count: arity
/// is checked by the caller).
fn pairs<'a>(args: &Args<'a>, from: usize) -> Vec<(&'a [u8], &'a [u8])> {
    let mut out = Vec::with_capacity(args.len().saturating_sub(from) / 2);
    let mut i = from;
    while let (Some(a), Some(b)) = (args.get(i), args.get(i + 1)) {
        out.push((a, b));
        i += 2;
    }
    out
}

/// HMERGE destination numkeys source [source ...] [AGGREGATE REPLACE|KEEP|SUM|MIN|MAX]
///
/// `numkeys` is checked as ZUNIONSTORE checks it (not an integer, below 1, more than
/// the arguments left); options follow the sources, AGGREGATE may repeat (the last
/// wins). Replies with the number of fields in the destination afterwards.
fn hmerge(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let numkeys = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    if numkeys < 1 {
        return Err(CmdError::msg(error::HMERGE_NO_INPUT_KEYS));
    }
    let first = 3;
    let count = usize::try_from(numkeys).map_err(|_| CmdError::Syntax)?;
    if count > args.len() - first {
        return Err(CmdError::Syntax);
    }
    let mut strategy = MergeStrategy::Replace;
    let mut j = first + count;
    while let Some(opt) = args.get(j) {
        match args.get(j + 1) {
            Some(name) if opt.eq_ignore_ascii_case(b"aggregate") => {
                strategy = strategy_arg(name)?;
                j += 2;
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    let sources: Vec<&[u8]> = (first..first + count).filter_map(|i| args.get(i)).collect();
    let names: Vec<&[u8]> = std::iter::once(&args[1])
        .chain(sources.iter().copied())
        .collect();
    let limits = ctx.shared.live.hash_limits();
    let (mut keys, out) = ctx.keys(&names);
    let (db, now) = (keys.db(0), keys.now());
    let created = keys.presence(0) != Presence::Live;
    let merged = db
        .hmerge_held(
            &mut keys.held_in(0),
            &args[1],
            &sources,
            strategy,
            limits,
            now,
        )
        .map_err(|e| merge_error(e, Family::Hash))?;
    if merged.written {
        if created {
            keys.notify(0, NEW);
        }
        keys.changed(0, MERGE, 1);
    }
    out.int(merged.len as i64);
    Ok(())
}

/// HMERGEVALUES key REPLACE|KEEP|SUM|MIN|MAX field value [field value ...]
///
/// An odd number of field/value arguments is an arity error, as for HSET. Replies with
/// the number of fields whose value changed or was added.
fn hmergevalues(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(CmdError::WrongArity("hmergevalues".into()));
    }
    let strategy = strategy_arg(&args[2])?;
    let pairs = pairs(args, 3);
    let limits = ctx.shared.live.hash_limits();
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let (db, now) = (keys.db(0), keys.now());
    let created = keys.presence(0) != Presence::Live;
    let changed = db
        .hmerge_values_held(
            &mut keys.held_in(0),
            &args[1],
            &pairs,
            strategy,
            limits,
            now,
        )
        .map_err(|e| merge_error(e, Family::Hash))?;
    if changed > 0 {
        if created {
            keys.notify(0, NEW);
        }
        keys.changed(0, MERGE, changed as u64);
    }
    out.int(changed as i64);
    Ok(())
}

/// MMERGE REPLACE|KEEP|SUM|MIN|MAX key value [key value ...]
///
/// An odd number of key/value arguments is an arity error, as for MSET. Replies with
/// the number of keys added or changed.
fn mmerge(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() % 2 == 1 {
        return Err(CmdError::WrongArity("mmerge".into()));
    }
    let strategy = strategy_arg(&args[1])?;
    let pairs = pairs(args, 2);
    let names: Vec<&[u8]> = pairs.iter().map(|(k, _)| *k).collect();
    let dbi = ctx.client.db;
    let (mut keys, out) = ctx.keys(&names);
    let (db, now, shared) = (keys.db(0), keys.now(), keys.shared());
    // The keys absent before (for `new`, published before a key's first `merge`);
    // only worked out while notifications are on.
    let mut absent: HashSet<&[u8]> = HashSet::new();
    if shared.notifications.flags() != 0 {
        absent.extend(
            (0..names.len())
                .filter(|&i| keys.presence(i) != Presence::Live)
                .map(|i| names[i]),
        );
    }
    let changed = db
        .mmerge_held(&mut keys.held_in(0), &pairs, strategy, now, &mut |key| {
            if absent.remove(key) {
                notify_only(shared, dbi, key, NEW);
            }
            announce(shared, Change::key(dbi, key, MERGE));
        })
        .map_err(|e| merge_error(e, Family::Keys))?;
    keys.add_dirty(changed as u64);
    out.int(changed as i64);
    Ok(())
}

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("hmerge", -4, WRITE | DENYOOM, (1, 1, 1), hmerge)
        .keynum(2, 1, 1)
        .doc(
            "hash",
            "Merges the fields of source hashes into a destination hash with a strategy",
            "shoal-0.1",
        )
        .complexity(
            "O(N) where N is the total number of fields in the sources (O(1) when the \
             destination is empty and one source is REPLACE'd or KEEP'd into it)",
        )
        .acl(&["write", "hash", "slow"])
        .schema(command_args::HMERGE),
    Command::new("hmergevalues", -5, WRITE | DENYOOM, (1, 1, 1), hmergevalues)
        .doc(
            "hash",
            "Merges field-value pairs into a hash with a strategy (REPLACE, KEEP, SUM, MIN, MAX)",
            "shoal-0.1",
        )
        .complexity("O(N) where N is the number of field-value pairs")
        .acl(&["write", "hash", "slow"])
        .schema(command_args::HMERGEVALUES),
    Command::new("mmerge", -4, WRITE | DENYOOM, (2, -1, 2), mmerge)
        .doc(
            "string",
            "Merges values into several string keys atomically with a strategy",
            "shoal-0.1",
        )
        .complexity("O(N) where N is the number of keys to merge")
        .acl(&["write", "string", "slow"])
        .schema(command_args::MMERGE),
];
