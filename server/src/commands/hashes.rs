//! Hash commands (Redis's `t_hash.c`): HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HLEN,
//! HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD and
//! HSCAN, with Redis 7.0's replies, error texts and validation order (checked against
//! redis-server 7.0.15).
//!
//! Conventions shared by every handler here:
//! - A key's hash is computed once and one shard lock is held for the whole command.
//!   Reads encode their reply straight from the stored hash while the lock is held
//!   (no field or value is cloned); writes change the stored hash in place through
//!   `Keys::hash_mut` (`Entry::with_hash_mut`), which copies it only while a snapshot
//!   or a COPY still shares it. The key's TTL is untouched by field changes, as in
//!   Redis.
//! - A hash never exists empty: a hash is created with its first field, and the
//!   command that removes its last field removes the key.
//! - Encodings follow Redis's rules (see `shoal_storage::hash`): packed ("listpack")
//!   up to 128 fields of at most 64 bytes each, a table ("hashtable") past either
//!   limit. A write with many pairs reserves the table's room once, as soon as the
//!   hash is a table, so a big HSET never rehashes midway.
//! - Read commands count keyspace hits and misses (Redis's `lookupKeyRead`); writes
//!   do not (`lookupKeyWrite`). `CLIENT NO-TOUCH` clients leave the access time alone
//!   for reads and writes alike.
//! - Keys are reached through the access layer ([`crate::access`]): `ctx.keys(..)`,
//!   `read` (hits/misses, WRONGTYPE), `hash_mut` for in-place changes, and every
//!   change announced through the write hook with its keyspace-event name.
//! - Changes are counted (the write hook's `dirty` argument) as `t_hash.c` counts `server.dirty`:
//!   HSET and HMSET one per field/value pair given (new or not, repeats included),
//!   HSETNX 1 when it set the field, HDEL one per field deleted, HINCRBY and
//!   HINCRBYFLOAT 1. Errors count nothing.
//! - One deliberate limit Redis lacks: HRANDFIELD with a negative count whose reply
//!   would exceed `proto-max-bulk-len` bytes is refused (Redis would try to build it
//!   and could run out of memory).

use std::sync::atomic::Ordering;

use rand::Rng;
use shoal_protocol::{Args, Proto, ReplyBuf};
use shoal_storage::number as long_double;
use shoal_storage::{glob, Entry, HashLimits, HashValue};

use super::common::ScanOptions;
use crate::changes::event::{DEL, HDEL, HINCRBY, HINCRBYFLOAT, HSET};
use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::error::{
    CmdError, CmdResult, COUNT_OUT_OF_LONG_RANGE, COUNT_TOO_LARGE_FOR_REPLY, HASH_VALUE_NOT_FLOAT,
    HASH_VALUE_NOT_INTEGER, INCREMENT_NAN_OR_INFINITY, INVALID_CURSOR, VALUE_NAN_OR_INFINITY,
    VALUE_OUT_OF_RANGE,
};
use crate::num::{int_arg, parse_i64};

// ---------------------------------------------------------------------------------
// Lookup helpers
// ---------------------------------------------------------------------------------

/// Sets every `field value` pair of `args[2..]` in `hv`; returns how many fields were
/// new. Once the hash is a table, room for all remaining pairs is reserved in one go
/// (not before: like Redis 7.0, a packed hash converts only when it really outgrows
/// the packed limits, so 200 pairs naming one field stay packed).
fn set_pairs(hv: &mut HashValue, args: &Args<'_>, limits: HashLimits) -> i64 {
    let mut remaining = args.len().saturating_sub(2) / 2;
    let mut sized = false;
    let mut created = 0;
    let mut it = args.iter().skip(2);
    while let (Some(field), Some(value)) = (it.next(), it.next()) {
        if !sized && hv.encoding() == "hashtable" {
            hv.reserve(remaining, limits);
            sized = true;
        }
        created += i64::from(hv.insert_within(field, value, limits));
        remaining -= 1;
    }
    created
}

/// A new hash entry holding one field.
fn single_field_entry(key: &[u8], field: &[u8], value: &[u8], limits: HashLimits) -> Entry {
    let mut hv = HashValue::new();
    hv.insert_within(field, value, limits);
    Entry::new_hash(key, hv, None)
}

// ---------------------------------------------------------------------------------
// HSET, HMSET, HSETNX, HDEL
// ---------------------------------------------------------------------------------

/// HSET and HMSET: returns the number of new fields. Arity is -4 in the table; an
/// incomplete last pair is Redis's arity error too.
fn hset_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, name: &str) -> Result<i64, CmdError> {
    if args.len() % 2 == 1 {
        return Err(CmdError::WrongArity(name.to_string()));
    }
    let key = &args[1];
    // Redis counts every pair given, whether it created a field or not.
    let pairs = (args.len() / 2 - 1) as u64;
    let limits = ctx.shared.live.hash_limits();
    let (mut keys, _) = ctx.keys(&[key]);
    if let Some((created, _)) = keys.hash_mut(0, |hv| set_pairs(hv, args, limits))? {
        keys.changed(0, HSET, pairs);
        return Ok(created);
    }
    let mut hv = HashValue::new();
    let created = set_pairs(&mut hv, args, limits);
    let old = keys.set(0, Entry::new_hash(key, hv, None), HSET, pairs);
    drop(keys);
    drop(old);
    Ok(created)
}

fn hset(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let created = hset_generic(ctx, args, "hset")?;
    ctx.out.int(created);
    Ok(())
}

fn hmset(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    hset_generic(ctx, args, "hmset")?;
    ctx.out.ok();
    Ok(())
}

fn hsetnx(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (key, field, value) = (&args[1], &args[2], &args[3]);
    let limits = ctx.shared.live.hash_limits();
    let (mut keys, out) = ctx.keys(&[key]);
    let set = match keys.hash_mut(0, |hv| {
        !hv.contains(field) && hv.insert_within(field, value, limits)
    })? {
        Some((set, _)) => {
            if set {
                keys.changed(0, HSET, 1);
            }
            set
        }
        None => {
            keys.set(0, single_field_entry(key, field, value, limits), HSET, 1);
            true
        }
    };
    out.int(i64::from(set));
    Ok(())
}

fn hdel(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let deleted = keys.hash_mut(0, |hv| {
        let mut n = 0i64;
        for field in args.iter().skip(2) {
            if hv.remove(field) {
                n += 1;
                if hv.is_empty() {
                    break;
                }
            }
        }
        n
    })?;
    let deleted = match deleted {
        Some((n, emptied)) => {
            if n > 0 {
                keys.changed(0, HDEL, n as u64);
            }
            if emptied {
                keys.delete(0, DEL, 0);
            }
            n
        }
        None => 0,
    };
    out.int(deleted);
    Ok(())
}

// ---------------------------------------------------------------------------------
// HGET, HMGET, HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL
// ---------------------------------------------------------------------------------

fn hget(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    match keys.read_hash(0)?.and_then(|hv| hv.get(&args[2])) {
        Some(v) => out.bulk(v),
        None => out.null(),
    }
    Ok(())
}

fn hmget(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let hv = keys.read_hash(0)?;
    out.array(args.len() - 2);
    for field in args.iter().skip(2) {
        match hv.and_then(|hv| hv.get(field)) {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    }
    Ok(())
}

fn hlen(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    out.int(keys.read_hash(0)?.map_or(0, HashValue::len) as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let hv = keys.read_hash(0)?;
    let len = hv.and_then(|hv| hv.get(&args[2])).map_or(0, <[u8]>::len);
    out.int(len as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let hv = keys.read_hash(0)?;
    out.int(i64::from(hv.is_some_and(|hv| hv.contains(&args[2]))));
    Ok(())
}

/// What HKEYS, HVALS and HGETALL return of each field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Fields,
    Values,
    Both,
}

/// HKEYS, HVALS and HGETALL. HGETALL is a map in RESP3 (`%n`, an empty map for a
/// missing key), the others flat arrays.
fn hgetall_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, part: Part) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let hv = keys.read_hash(0)?;
    let len = hv.map_or(0, HashValue::len);
    if part == Part::Both {
        out.map(len);
    } else {
        out.array(len);
    }
    for (f, v) in hv.into_iter().flat_map(HashValue::iter) {
        if part != Part::Values {
            out.bulk(f);
        }
        if part != Part::Fields {
            out.bulk(v);
        }
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    hgetall_generic(ctx, args, Part::Fields)
}

fn hvals(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    hgetall_generic(ctx, args, Part::Values)
}

fn hgetall(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    hgetall_generic(ctx, args, Part::Both)
}

// ---------------------------------------------------------------------------------
// HINCRBY, HINCRBYFLOAT
// ---------------------------------------------------------------------------------

fn hincrby(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    // The increment is validated first, then the key's type, then the field's value.
    let incr = int_arg(&args[3])?;
    let (key, field) = (&args[1], &args[2]);
    let limits = ctx.shared.live.hash_limits();
    let (mut keys, out) = ctx.keys(&[key]);
    let result = keys.hash_mut(0, |hv| {
        let current = match hv.get(field) {
            None => 0,
            Some(v) => parse_i64(v).ok_or(CmdError::msg(HASH_VALUE_NOT_INTEGER))?,
        };
        let new = current.checked_add(incr).ok_or(CmdError::Overflow)?;
        hv.insert_within(field, itoa::Buffer::new().format(new).as_bytes(), limits);
        Ok(new)
    })?;
    let new = match result {
        Some((r, _)) => {
            let new = r?;
            keys.changed(0, HINCRBY, 1);
            new
        }
        None => {
            let mut digits = itoa::Buffer::new();
            let digits = digits.format(incr).as_bytes();
            keys.set(
                0,
                single_field_entry(key, field, digits, limits),
                HINCRBY,
                1,
            );
            incr
        }
    };
    out.int(new);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    // Both checks on the increment come before the key is looked at, as in Redis.
    let incr = long_double::parse(&args[3]).ok_or(CmdError::NotFloat)?;
    if incr == long_double::Value::Inf {
        return Err(CmdError::msg(VALUE_NAN_OR_INFINITY));
    }
    let (key, field) = (&args[1], &args[2]);
    let add = |current: Option<&[u8]>| -> Result<String, CmdError> {
        let current = match current {
            None => long_double::Value::Finite(long_double::Ext::ZERO),
            Some(v) => long_double::parse(v).ok_or(CmdError::msg(HASH_VALUE_NOT_FLOAT))?,
        };
        let sum =
            long_double::add(current, incr).ok_or(CmdError::msg(INCREMENT_NAN_OR_INFINITY))?;
        Ok(long_double::format_human(sum))
    };
    let limits = ctx.shared.live.hash_limits();
    let (mut keys, out) = ctx.keys(&[key]);
    let result = keys.hash_mut(0, |hv| {
        let text = add(hv.get(field))?;
        hv.insert_within(field, text.as_bytes(), limits);
        Ok(text)
    })?;
    let text = match result {
        Some((r, _)) => {
            let text = r?;
            keys.changed(0, HINCRBYFLOAT, 1);
            text
        }
        None => {
            let text = add(None)?;
            keys.set(
                0,
                single_field_entry(key, field, text.as_bytes(), limits),
                HINCRBYFLOAT,
                1,
            );
            text
        }
    };
    out.bulk(text.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------------
// HRANDFIELD
// ---------------------------------------------------------------------------------

/// HRANDFIELD key [count [WITHVALUES]].
fn hrandfield(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let key = &args[1];
    if args.len() >= 3 {
        // Redis reads the count as a long within [-LONG_MAX, LONG_MAX] first, then the
        // option, then (with values) the tighter range that keeps count*2 in a long.
        let count = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
        if count == i64::MIN {
            return Err(CmdError::msg(COUNT_OUT_OF_LONG_RANGE));
        }
        let with_values = match args.get(3) {
            None => false,
            Some(opt) if args.len() == 4 && opt.eq_ignore_ascii_case(b"withvalues") => true,
            Some(_) => return Err(CmdError::Syntax),
        };
        if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
            return Err(CmdError::msg(VALUE_OUT_OF_RANGE));
        }
        let max_reply = ctx.shared.live.proto_max_bulk_len.load(Ordering::Relaxed);
        let (mut keys, out) = ctx.keys(&[key]);
        return match keys.read_hash(0)? {
            None => {
                out.array(0);
                Ok(())
            }
            Some(hv) => random_fields(hv, out, count, with_values, max_reply),
        };
    }
    let (mut keys, out) = ctx.keys(&[key]);
    let mut rng = rand::rng();
    let hv = keys.read_hash(0)?;
    match hv.and_then(|hv| hv.random(|n| rng.random_range(0..n.max(1)))) {
        Some((field, _)) => out.bulk(field),
        None => out.null(),
    }
    Ok(())
}

/// HRANDFIELD with a count, for an existing hash: a negative count returns exactly
/// |count| fields, possibly repeated; a positive one up to `count` distinct fields.
/// WITHVALUES adds each value after its field (RESP2) or pairs them (RESP3).
fn random_fields(
    hv: &HashValue,
    out: &mut ReplyBuf,
    count: i64,
    with_values: bool,
    max_reply: u64,
) -> CmdResult {
    let size = hv.len();
    let mut rng = rand::rng();
    let pairs = with_values && out.proto == Proto::Resp3;
    let flat_values = with_values && !pairs;
    let header = |out: &mut ReplyBuf, n: usize| {
        out.array(if flat_values { n.saturating_mul(2) } else { n });
    };
    let item = |out: &mut ReplyBuf, (field, value): (&[u8], &[u8])| {
        if pairs {
            out.array(2);
        }
        out.bulk(field);
        if with_values {
            out.bulk(value);
        }
    };
    if count == 0 || size == 0 {
        out.array(0);
        return Ok(());
    }
    let wanted = count.unsigned_abs();
    if count < 0 || wanted == 1 {
        // Sampling with repetition. Refuse what could not be buffered: estimate the
        // reply from the hash's average field (and value) size.
        if wanted > size as u64 {
            let bytes: usize = hv
                .iter()
                .map(|(f, v)| f.len() + if with_values { v.len() + 16 } else { 0 })
                .sum();
            let per_item = (bytes / size) as u64 + 20;
            if wanted.saturating_mul(per_item) > max_reply {
                return Err(CmdError::msg(COUNT_TOO_LARGE_FOR_REPLY));
            }
        }
        let n = usize::try_from(wanted).unwrap_or(usize::MAX);
        header(out, n);
        if hv.encoding() == "listpack" || n >= size / 2 {
            // Index a list of all fields: O(1) per pick however the hash is stored.
            let all: Vec<(&[u8], &[u8])> = hv.iter().collect();
            for _ in 0..n {
                item(out, all[rng.random_range(0..all.len())]);
            }
        } else {
            for _ in 0..n {
                match hv.random(|b| rng.random_range(0..b.max(1))) {
                    Some(pair) => item(out, pair),
                    None => out.null(), // unreachable: the hash is not empty
                }
            }
        }
        return Ok(());
    }
    let n = usize::try_from(wanted).unwrap_or(usize::MAX);
    if n >= size {
        // Asking for at least everything: the whole hash.
        header(out, size);
        for pair in hv.iter() {
            item(out, pair);
        }
        return Ok(());
    }
    header(out, n);
    if hv.encoding() == "listpack" || n.saturating_mul(3) > size {
        // A large share of the hash: a partial Fisher-Yates shuffle of all fields.
        let mut all: Vec<(&[u8], &[u8])> = hv.iter().collect();
        for i in 0..n {
            let j = rng.random_range(i..all.len());
            all.swap(i, j);
        }
        for &pair in all.iter().take(n) {
            item(out, pair);
        }
    } else {
        // A small share: draw until `n` distinct fields came up (fields are unique
        // allocations in a table, so their address identifies them).
        let mut seen: foldhash::HashSet<usize> = foldhash::HashSet::default();
        seen.reserve(n);
        let mut picked: Vec<(&[u8], &[u8])> = Vec::with_capacity(n);
        while picked.len() < n {
            let Some(pair) = hv.random(|b| rng.random_range(0..b.max(1))) else {
                break;
            };
            if seen.insert(pair.0.as_ptr() as usize) {
                picked.push(pair);
            }
        }
        for &pair in &picked {
            item(out, pair);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// HSCAN
// ---------------------------------------------------------------------------------

/// HSCAN key cursor [MATCH pattern] [COUNT count]. As in Redis, the cursor is checked
/// first, a missing key replies an empty scan before the options are looked at, and a
/// packed hash comes back whole with cursor 0 (whatever the cursor and COUNT).
fn hscan(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let cursor = crate::num::parse_cursor(&args[2]).ok_or(CmdError::msg(INVALID_CURSOR))?;
    let options = ScanOptions::parse(args, 3, false);
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    {
        let Some(hv) = keys.read_hash(0)? else {
            super::common::empty_scan_reply(out);
            return Ok(());
        };
        let ScanOptions { count, pattern, .. } = options?;
        // The cursor comes first in the reply but is known last: the fields are
        // encoded aside (no value is cloned) and appended after it.
        let mut items = ReplyBuf::new(out.proto);
        let mut n = 0usize;
        let next = hv.scan(cursor, count, |field, value| {
            if pattern.is_none_or(|p| glob::matches(p, field)) {
                items.bulk(field);
                items.bulk(value);
                n += 2;
            }
        });
        super::common::scan_reply(out, next, &items, n);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------

/// This family's commands (rows as Redis 7.0's COMMAND INFO / COMMAND DOCS list them;
/// `RANDOM` is not listed as a flag but gives HRANDFIELD and HSCAN their
/// `nondeterministic_output` tip, as in Redis 7).
pub const COMMANDS: &[Command] = &[
    Command::new("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), hset)
        .doc("hash", "Set the string value of a hash field", "2.0.0")
        .complexity(
            "O(1) for each field/value pair added, so O(N) to add N field/value pairs when \
             the command is called with multiple field/value pairs.",
        )
        .acl(&["write", "hash", "fast"])
        .schema(command_args::HSET),
    Command::new("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), hsetnx)
        .doc(
            "hash",
            "Set the value of a hash field, only if the field does not exist",
            "2.0.0",
        )
        .acl(&["write", "hash", "fast"])
        .schema(command_args::HSETNX),
    Command::new("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), hmset)
        .doc(
            "hash",
            "Set multiple hash fields to multiple values",
            "2.0.0",
        )
        .complexity("O(N) where N is the number of fields being set.")
        .acl(&["write", "hash", "fast"])
        .schema(command_args::HMSET),
    Command::new("hget", 3, READONLY | FAST, (1, 1, 1), hget)
        .doc("hash", "Get the value of a hash field", "2.0.0")
        .acl(&["read", "hash", "fast"])
        .schema(command_args::HGET),
    Command::new("hmget", -3, READONLY | FAST, (1, 1, 1), hmget)
        .doc(
            "hash",
            "Get the values of all the given hash fields",
            "2.0.0",
        )
        .complexity("O(N) where N is the number of fields being requested.")
        .acl(&["read", "hash", "fast"])
        .schema(command_args::HMGET),
    Command::new("hdel", -3, WRITE | FAST, (1, 1, 1), hdel)
        .doc("hash", "Delete one or more hash fields", "2.0.0")
        .complexity("O(N) where N is the number of fields to be removed.")
        .acl(&["write", "hash", "fast"])
        .schema(command_args::HDEL),
    Command::new("hlen", 2, READONLY | FAST, (1, 1, 1), hlen)
        .doc("hash", "Get the number of fields in a hash", "2.0.0")
        .acl(&["read", "hash", "fast"])
        .schema(command_args::HLEN),
    Command::new("hstrlen", 3, READONLY | FAST, (1, 1, 1), hstrlen)
        .doc(
            "hash",
            "Get the length of the value of a hash field",
            "3.2.0",
        )
        .acl(&["read", "hash", "fast"])
        .schema(command_args::HSTRLEN),
    Command::new("hexists", 3, READONLY | FAST, (1, 1, 1), hexists)
        .doc("hash", "Determine if a hash field exists", "2.0.0")
        .acl(&["read", "hash", "fast"])
        .schema(command_args::HEXISTS),
    Command::new("hkeys", 2, READONLY, (1, 1, 1), hkeys)
        .doc("hash", "Get all the fields in a hash", "2.0.0")
        .complexity("O(N) where N is the size of the hash.")
        .acl(&["read", "hash", "slow"])
        .schema(command_args::HKEYS),
    Command::new("hvals", 2, READONLY, (1, 1, 1), hvals)
        .doc("hash", "Get all the values in a hash", "2.0.0")
        .complexity("O(N) where N is the size of the hash.")
        .acl(&["read", "hash", "slow"])
        .schema(command_args::HVALS),
    Command::new("hgetall", 2, READONLY, (1, 1, 1), hgetall)
        .doc("hash", "Get all the fields and values in a hash", "2.0.0")
        .complexity("O(N) where N is the size of the hash.")
        .acl(&["read", "hash", "slow"])
        .schema(command_args::HGETALL),
    Command::new("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), hincrby)
        .doc(
            "hash",
            "Increment the integer value of a hash field by the given number",
            "2.0.0",
        )
        .acl(&["write", "hash", "fast"])
        .schema(command_args::HINCRBY),
    Command::new(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        hincrbyfloat,
    )
    .doc(
        "hash",
        "Increment the float value of a hash field by the given amount",
        "2.6.0",
    )
    .acl(&["write", "hash", "fast"])
    .schema(command_args::HINCRBYFLOAT),
    Command::new("hrandfield", -2, READONLY | RANDOM, (1, 1, 1), hrandfield)
        .doc(
            "hash",
            "Get one or multiple random fields from a hash",
            "6.2.0",
        )
        .complexity("O(N) where N is the number of fields returned")
        .acl(&["read", "hash", "slow"])
        .schema(command_args::HRANDFIELD),
    Command::new("hscan", -3, READONLY | RANDOM, (1, 1, 1), hscan)
        .doc(
            "hash",
            "Incrementally iterate hash fields and associated values",
            "2.8.0",
        )
        .complexity(
            "O(1) for every call. O(N) for a complete iteration, including enough command \
             calls for the cursor to return back to 0. N is the number of elements inside \
             the collection..",
        )
        .acl(&["read", "hash", "slow"])
        .schema(command_args::HSCAN),
];
