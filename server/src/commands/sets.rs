//! Set commands (Redis's `t_set.c`): SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER,
//! SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER, SINTERCARD, SINTERSTORE, SUNION,
//! SUNIONSTORE, SDIFF, SDIFFSTORE and SSCAN, with Redis 7.0's replies, error texts and
//! validation order (checked against redis-server 7.0.15).
//!
//! - The set lives in the entry behind an `Arc` ([`shoal_storage::SetValue`]: an
//!   intset while small and all-integer, else a table); writes go through
//!   `Keys::set_mut`, which copies it only while a snapshot or a COPY shares it.
//! - A set never exists empty: the command that removes its last member removes the
//!   key (`del`); a STORE whose result is empty deletes its destination.
//! - Set replies (SMEMBERS, SINTER, SUNION, SDIFF, SPOP with a count) are RESP3 sets
//!   (`~`); SRANDMEMBER's are arrays, as in Redis. A computed set (SUNION, SDIFF) is
//!   built as Redis builds it, starting as an intset, so all-integer results come in
//!   ascending order as Redis's do. An intset holds up to `set-max-intset-entries`
//!   integers (read per command from the live config), then converts, never back.
//! - Events and dirty counts as `t_set.c`: `sadd`/`srem` one per member changed,
//!   `spop` one per member popped, SMOVE 1 (+1 when the destination gained it), the
//!   STORE variants 1 for the destination written or deleted.

use std::sync::atomic::Ordering;

use rand::Rng;
use shoal_protocol::{Args, ReplyBuf};
use shoal_storage::set::Member;
use shoal_storage::{glob, Entry, SetValue};

use super::common::ScanOptions;
use crate::access::Want;
use crate::changes::event::{DEL, SADD, SDIFFSTORE, SINTERSTORE, SPOP, SREM, SUNIONSTORE};
use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::error::{
    CmdError, CmdResult, INVALID_CURSOR, LIMIT_NEGATIVE, NUMKEYS_NOT_POSITIVE, NUMKEYS_OVER_ARGS,
    VALUE_MUST_BE_POSITIVE, VALUE_OUT_OF_LONG_RANGE_SIC,
};
use crate::num::parse_i64;

fn bulk_member(out: &mut ReplyBuf, m: Member<'_>) {
    m.with_bytes(|b| out.bulk(b));
}

// ---------------------------------------------------------------------------------
// SADD, SREM, SMOVE
// ---------------------------------------------------------------------------------

/// `set-max-intset-entries`, read per command from the live config.
fn max_ints(ctx: &Ctx<'_>) -> usize {
    ctx.shared
        .live
        .set_max_intset_entries
        .load(Ordering::Relaxed)
}

fn sadd(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let key = &args[1];
    let max = max_ints(ctx);
    let add = |s: &mut SetValue| {
        args.iter()
            .skip(2)
            .filter(|m| s.insert_within(m, max))
            .count()
    };
    let (mut keys, out) = ctx.keys(&[key]);
    let added = match keys.set_mut(0, add)? {
        Some((n, _)) => {
            if n > 0 {
                keys.changed(0, SADD, n as u64);
            }
            n
        }
        None => {
            let mut s = SetValue::new();
            let n = add(&mut s);
            keys.set(0, Entry::new_set(key, s, None), SADD, n as u64);
            n
        }
    };
    out.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let done = keys.set_mut(0, |s| {
        let mut n = 0;
        for m in args.iter().skip(2) {
            if s.remove(m) {
                n += 1;
                if s.is_empty() {
                    break;
                }
            }
        }
        n
    })?;
    let removed = match done {
        None => 0,
        Some((n, emptied)) => {
            if n > 0 {
                keys.changed(0, SREM, n as u64);
            }
            if emptied {
                keys.delete(0, DEL, 0);
            }
            n
        }
    };
    out.int(removed as i64);
    Ok(())
}

/// SMOVE source destination member.
fn smove(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (src, dst, m): (&[u8], &[u8], &[u8]) = (&args[1], &args[2], &args[3]);
    let max = max_ints(ctx);
    let (mut keys, out) = ctx.keys(&[src, dst]);
    // A missing source is 0 whatever the destination is; then both types are checked.
    if keys.write_lookup(0, Want::Set)?.is_none() {
        out.int(0);
        return Ok(());
    }
    keys.write_lookup(1, Want::Set)?;
    if src == dst {
        let has = keys.read_set(0)?.is_some_and(|s| s.contains(m));
        out.int(i64::from(has));
        return Ok(());
    }
    match keys.set_mut(0, |s| s.remove(m))? {
        Some((true, emptied)) => {
            keys.changed(0, SREM, 1);
            if emptied {
                keys.delete(0, DEL, 0);
            }
        }
        _ => {
            out.int(0);
            return Ok(());
        }
    }
    match keys.set_mut(1, |s| s.insert_within(m, max))? {
        Some((true, _)) => keys.changed(1, SADD, 1),
        Some((false, _)) => {}
        None => {
            let mut s = SetValue::new();
            s.insert_within(m, max);
            keys.set(1, Entry::new_set(dst, s, None), SADD, 1);
        }
    }
    out.int(1);
    Ok(())
}

// ---------------------------------------------------------------------------------
// SMEMBERS, SISMEMBER, SMISMEMBER, SCARD
// ---------------------------------------------------------------------------------

fn smembers(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    match keys.read_set(0)? {
        None => out.set(0),
        Some(s) => {
            out.set(s.len());
            for m in s.iter() {
                bulk_member(out, m);
            }
        }
    }
    Ok(())
}

fn sismember(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let has = keys.read_set(0)?.is_some_and(|s| s.contains(&args[2]));
    out.int(i64::from(has));
    Ok(())
}

fn smismember(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let s = keys.read_set(0)?;
    out.array(args.len() - 2);
    for m in args.iter().skip(2) {
        out.int(i64::from(s.is_some_and(|s| s.contains(m))));
    }
    Ok(())
}

fn scard(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    out.int(keys.read_set(0)?.map_or(0, SetValue::len) as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------
// SPOP, SRANDMEMBER
// ---------------------------------------------------------------------------------

/// SPOP key [count].
fn spop(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        Some(c) => match parse_i64(c) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Err(CmdError::msg(VALUE_MUST_BE_POSITIVE)),
        },
        None => None,
    };
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    if keys.write_lookup(0, Want::Set)?.is_none() {
        match count {
            Some(_) => out.set(0),
            None => out.null(),
        }
        return Ok(());
    }
    let mut rng = rand::rng();
    let n = match count {
        None => 1,
        Some(0) => {
            out.set(0);
            return Ok(());
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let done = keys.set_mut(0, |s| {
        let k = n.min(s.len());
        if count.is_some() {
            out.set(k);
        }
        if k == s.len() {
            // Everything: the whole set in its order, as Redis replies it.
            for m in s.iter() {
                bulk_member(out, m);
            }
            *s = SetValue::new();
            return k;
        }
        for _ in 0..k {
            if let Some(m) = s.pop_random(|b| rng.random_range(0..b.max(1))) {
                out.bulk(&m);
            }
        }
        k
    })?;
    if let Some((k, emptied)) = done {
        keys.changed(0, SPOP, k as u64);
        if emptied {
            keys.delete(0, DEL, 0);
        }
    }
    Ok(())
}

/// SRANDMEMBER key [count]: a negative count may repeat members; a positive one
/// returns distinct members (the whole set when it asks for as many or more).
fn srandmember(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        Some(c) => {
            let n = parse_i64(c).ok_or(CmdError::NotInteger)?;
            if n == i64::MIN {
                return Err(CmdError::msg(VALUE_OUT_OF_LONG_RANGE_SIC));
            }
            Some(n)
        }
        None => None,
    };
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let s = keys.read_set(0)?;
    let mut rng = rand::rng();
    let mut rand = |b: usize| rng.random_range(0..b.max(1));
    let Some(count) = count else {
        match s.and_then(|s| s.random(&mut rand)) {
            Some(m) => bulk_member(out, m),
            None => out.null(),
        }
        return Ok(());
    };
    let Some(s) = s else {
        out.array(0);
        return Ok(());
    };
    if count < 0 {
        let n = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        out.array(n);
        for _ in 0..n {
            if let Some(m) = s.random(&mut rand) {
                bulk_member(out, m);
            }
        }
        return Ok(());
    }
    let n = usize::try_from(count).unwrap_or(usize::MAX);
    if n >= s.len() {
        out.array(s.len());
        for m in s.iter() {
            bulk_member(out, m);
        }
        return Ok(());
    }
    // Distinct members: a partial shuffle of all of them.
    let mut all: Vec<Member<'_>> = s.iter().collect();
    for i in 0..n {
        let j = rng.random_range(i..all.len());
        all.swap(i, j);
    }
    out.array(n);
    for m in &all[..n] {
        bulk_member(out, *m);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// SINTER, SINTERCARD, SINTERSTORE, SUNION(STORE), SDIFF(STORE)
// ---------------------------------------------------------------------------------

/// What to do with a computed set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// The sets named by `keys[from..]` (None for missing keys), type-checked first: any
/// key of another type is WRONGTYPE. The STORE forms read their sources as the
/// others do (counted hits and misses, `keymiss`), as redis-server 7.0.15 does.
fn compute(
    keys: &mut crate::access::Keys<'_, '_>,
    from: usize,
    n: usize,
    op: Op,
    limit: usize,
    max_ints: usize,
) -> Result<SetValue, CmdError> {
    // Entries are cloned (a reference count each), not the sets.
    let mut entries: Vec<Option<Entry>> = Vec::with_capacity(n);
    for i in from..from + n {
        entries.push(keys.read(i, Want::Set)?.cloned());
    }
    let sets: Vec<Option<&SetValue>> = entries
        .iter()
        .map(|e| e.as_ref().and_then(Entry::as_set))
        .collect();
    let mut result = SetValue::new();
    match op {
        Op::Inter => {
            if sets.iter().any(Option::is_none) {
                return Ok(result);
            }
            let mut sets: Vec<&SetValue> = sets.into_iter().flatten().collect();
            sets.sort_by_key(|s| s.len());
            let (first, rest) = sets.split_first().expect("at least one key");
            for m in first.iter() {
                if rest.iter().all(|s| s.contains_member(m)) {
                    result.insert_member_within(m, max_ints);
                    if limit > 0 && result.len() >= limit {
                        break;
                    }
                }
            }
        }
        Op::Union => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    result.insert_member_within(m, max_ints);
                }
            }
        }
        Op::Diff => {
            let Some(Some(first)) = sets.first() else {
                return Ok(result);
            };
            for m in first.iter() {
                if !sets[1..].iter().flatten().any(|s| s.contains_member(m)) {
                    result.insert_member_within(m, max_ints);
                }
            }
        }
    }
    Ok(result)
}

fn reply_set(out: &mut ReplyBuf, s: &SetValue) {
    out.set(s.len());
    for m in s.iter() {
        bulk_member(out, m);
    }
}

fn op_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, op: Op) -> CmdResult {
    let max = max_ints(ctx);
    let names: Vec<&[u8]> = args.iter().skip(1).collect();
    let (mut keys, out) = ctx.keys(&names);
    let result = compute(&mut keys, 0, names.len(), op, 0, max)?;
    reply_set(out, &result);
    Ok(())
}

fn store_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, op: Op, event: &'static str) -> CmdResult {
    let max = max_ints(ctx);
    let names: Vec<&[u8]> = args.iter().skip(1).collect();
    let (mut keys, out) = ctx.keys(&names);
    let result = compute(&mut keys, 1, names.len() - 1, op, 0, max)?;
    let n = result.len();
    if n > 0 {
        keys.set(0, Entry::new_set(names[0], result, None), event, 1);
    } else {
        keys.delete(0, DEL, 1);
    }
    out.int(n as i64);
    Ok(())
}

fn sinter(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    op_generic(ctx, args, Op::Inter)
}

fn sunion(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    op_generic(ctx, args, Op::Union)
}

fn sdiff(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    op_generic(ctx, args, Op::Diff)
}

fn sinterstore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    store_generic(ctx, args, Op::Inter, SINTERSTORE)
}

fn sunionstore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    store_generic(ctx, args, Op::Union, SUNIONSTORE)
}

fn sdiffstore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    store_generic(ctx, args, Op::Diff, SDIFFSTORE)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit].
fn sintercard(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let max = max_ints(ctx);
    let numkeys = match parse_i64(&args[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::msg(NUMKEYS_NOT_POSITIVE)),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(CmdError::msg(NUMKEYS_OVER_ARGS));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < args.len() {
        if args[j].eq_ignore_ascii_case(b"limit") && j + 1 < args.len() {
            limit = match parse_i64(&args[j + 1]) {
                Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(CmdError::msg(LIMIT_NEGATIVE)),
            };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let names: Vec<&[u8]> = (2..2 + numkeys).map(|i| &args[i]).collect();
    let (mut keys, out) = ctx.keys(&names);
    let result = compute(&mut keys, 0, numkeys, Op::Inter, limit, max)?;
    out.int(result.len() as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------
// SSCAN
// ---------------------------------------------------------------------------------

/// SSCAN key cursor [MATCH pattern] [COUNT count], as HSCAN: an intset comes back
/// whole with cursor 0.
fn sscan(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let cursor = crate::num::parse_cursor(&args[2]).ok_or(CmdError::msg(INVALID_CURSOR))?;
    let options = ScanOptions::parse(args, 3, false);
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let Some(s) = keys.read_set(0)? else {
        super::common::empty_scan_reply(out);
        return Ok(());
    };
    let ScanOptions { count, pattern, .. } = options?;
    let mut items = ReplyBuf::new(out.proto);
    let mut n = 0usize;
    let next = s.scan(cursor, count, |m| {
        m.with_bytes(|b| {
            if pattern.is_none_or(|p| glob::matches(p, b)) {
                items.bulk(b);
                n += 1;
            }
        })
    });
    super::common::scan_reply(out, next, &items, n);
    Ok(())
}

// ---------------------------------------------------------------------------------

/// This family's commands (rows as Redis 7.0's COMMAND INFO / COMMAND DOCS list them;
/// `RANDOM` gives SPOP, SRANDMEMBER and SSCAN their `nondeterministic_output` tip).
pub const COMMANDS: &[Command] = &[
    Command::new("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), sadd)
        .doc("set", "Add one or more members to a set", "1.0.0")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.")
        .acl(&["write", "set", "fast"])
        .schema(command_args::SADD),
    Command::new("srem", -3, WRITE | FAST, (1, 1, 1), srem)
        .doc("set", "Remove one or more members from a set", "1.0.0")
        .complexity("O(N) where N is the number of members to be removed.")
        .acl(&["write", "set", "fast"])
        .schema(command_args::SREM),
    Command::new("smembers", 2, READONLY, (1, 1, 1), smembers)
        .doc("set", "Get all the members in a set", "1.0.0")
        .complexity("O(N) where N is the set cardinality.")
        .acl(&["read", "set", "slow"])
        .schema(command_args::SMEMBERS),
    Command::new("sismember", 3, READONLY | FAST, (1, 1, 1), sismember)
        .doc("set", "Determine if a given value is a member of a set", "1.0.0")
        .acl(&["read", "set", "fast"])
        .schema(command_args::SISMEMBER),
    Command::new("smismember", -3, READONLY | FAST, (1, 1, 1), smismember)
        .doc("set", "Returns the membership associated with the given elements for a set", "6.2.0")
        .complexity("O(N) where N is the number of elements being checked for membership")
        .acl(&["read", "set", "fast"])
        .schema(command_args::SMISMEMBER),
    Command::new("scard", 2, READONLY | FAST, (1, 1, 1), scard)
        .doc("set", "Get the number of members in a set", "1.0.0")
        .acl(&["read", "set", "fast"])
        .schema(command_args::SCARD),
    Command::new("spop", -2, WRITE | FAST | RANDOM, (1, 1, 1), spop)
        .doc("set", "Remove and return one or multiple random members from a set", "1.0.0")
        .complexity("Without the count argument O(1), otherwise O(N) where N is the value of the passed count.")
        .acl(&["write", "set", "fast"])
        .schema(command_args::SPOP),
    Command::new("srandmember", -2, READONLY | RANDOM, (1, 1, 1), srandmember)
        .doc("set", "Get one or multiple random members from a set", "1.0.0")
        .complexity("Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.")
        .acl(&["read", "set", "slow"])
        .schema(command_args::SRANDMEMBER),
    Command::new("smove", 4, WRITE | FAST, (1, 2, 1), smove)
        .doc("set", "Move a member from one set to another", "1.0.0")
        .acl(&["write", "set", "fast"])
        .schema(command_args::SMOVE),
    Command::new("sinter", -2, READONLY, (1, -1, 1), sinter)
        .doc("set", "Intersect multiple sets", "1.0.0")
        .complexity("O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.")
        .acl(&["read", "set", "slow"])
        .schema(command_args::SINTER),
    Command::new("sintercard", -3, READONLY, (0, 0, 0), sintercard)
        .keynum(1, 1, 1)
        .doc("set", "Intersect multiple sets and return the cardinality of the result", "7.0.0")
        .complexity("O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.")
        .acl(&["read", "set", "slow"])
        .schema(command_args::SINTERCARD),
    Command::new("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), sinterstore)
        .doc("set", "Intersect multiple sets and store the resulting set in a key", "1.0.0")
        .complexity("O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.")
        .acl(&["write", "set", "slow"])
        .schema(command_args::SINTERSTORE),
    Command::new("sunion", -2, READONLY, (1, -1, 1), sunion)
        .doc("set", "Add multiple sets", "1.0.0")
        .complexity("O(N) where N is the total number of elements in all given sets.")
        .acl(&["read", "set", "slow"])
        .schema(command_args::SUNION),
    Command::new("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), sunionstore)
        .doc("set", "Add multiple sets and store the resulting set in a key", "1.0.0")
        .complexity("O(N) where N is the total number of elements in all given sets.")
        .acl(&["write", "set", "slow"])
        .schema(command_args::SUNIONSTORE),
    Command::new("sdiff", -2, READONLY, (1, -1, 1), sdiff)
        .doc("set", "Subtract multiple sets", "1.0.0")
        .complexity("O(N) where N is the total number of elements in all given sets.")
        .acl(&["read", "set", "slow"])
        .schema(command_args::SDIFF),
    Command::new("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), sdiffstore)
        .doc("set", "Subtract multiple sets and store the resulting set in a key", "1.0.0")
        .complexity("O(N) where N is the total number of elements in all given sets.")
        .acl(&["write", "set", "slow"])
        .schema(command_args::SDIFFSTORE),
    Command::new("sscan", -3, READONLY | RANDOM, (1, 1, 1), sscan)
        .doc("set", "Incrementally iterate Set elements", "2.8.0")
        .complexity("O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..")
        .acl(&["read", "set", "slow"])
        .schema(command_args::SSCAN),
];
