//! List commands (Redis's `t_list.c`): LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP,
//! LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP
//! and the blocking BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, with Redis 7.0's
//! replies, error texts and validation order (checked against redis-server 7.0.15).
//!
//! Conventions shared by every handler here:
//! - The list lives in the entry behind an `Arc` ([`shoal_storage::ListValue`], a
//!   deque of packed chunks, each an `Arc` too): writes change it in place through
//!   `Keys::list_mut`, which copies only what a snapshot or a COPY still shares (the
//!   deque of chunk pointers, then each chunk the write touches). Reads encode their
//!   reply straight from the stored list while the shard lock is held.
//! - A list never exists empty: it is created with its first element, and the command
//!   that removes its last element removes the key (announced as `del`).
//! - Changes are announced with Redis's keyspace-event names (`lpush`, `rpush`,
//!   `lpop`, `rpop`, `linsert`, `lset`, `lrem`, `ltrim`; LMOVE announces a push on the
//!   destination and a pop on the source) and counted as `t_list.c` counts
//!   `server.dirty`: one per element pushed, popped, removed or trimmed, 1 for LSET,
//!   LINSERT and each LMOVE.
//! - Blocking commands first try to serve themselves like their non-blocking form;
//!   with nothing to pop they park (`Ctx::block`) on their keys until the timeout.
//!   The write hook wakes the first client parked on a key; woken, the command runs
//!   again: it pops if it can, or parks again keeping its place in line (and its
//!   original deadline). A woken command skips keys of another type (Redis serves
//!   a blocked client only from a list) instead of failing. Run in a group
//!   (`ctx.held`: EXEC, scripts) they never block: with nothing to pop they answer
//!   their timeout reply at once, as Redis does for a client that may not block.

use std::time::{Duration, Instant};

use shoal_protocol::{Args, ReplyBuf};
use shoal_storage::list::{Elem, MAX_ELEMENT};
use shoal_storage::{Entry, ListValue};

use crate::access::{Keys, Want};
use crate::blocking::{Block, OnTimeout};
use crate::changes::event::{DEL, LINSERT, LPOP, LPUSH, LREM, LSET, LTRIM, RPOP, RPUSH};
use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::error::{
    CmdError, CmdResult, COUNT_NOT_POSITIVE, INDEX_OUT_OF_RANGE, LPOS_COUNT_NEGATIVE,
    LPOS_MAXLEN_NEGATIVE, LPOS_RANK_ZERO, NUMKEYS_NOT_POSITIVE, STRING_TOO_LONG, TIMEOUT_NEGATIVE,
    TIMEOUT_NOT_FLOAT, VALUE_MUST_BE_POSITIVE,
};
use crate::num::{int_arg, parse_f64, parse_i64};

// ---------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------

/// Which end of a list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    Left,
    Right,
}

impl End {
    /// LEFT or RIGHT, any case; anything else is a syntax error.
    fn parse(arg: &[u8]) -> Result<End, CmdError> {
        if arg.eq_ignore_ascii_case(b"left") {
            Ok(End::Left)
        } else if arg.eq_ignore_ascii_case(b"right") {
            Ok(End::Right)
        } else {
            Err(CmdError::Syntax)
        }
    }

    fn pop_event(self) -> &'static str {
        match self {
            End::Left => LPOP,
            End::Right => RPOP,
        }
    }

    fn push_event(self) -> &'static str {
        match self {
            End::Left => LPUSH,
            End::Right => RPUSH,
        }
    }
}

/// A positive count as Redis's `getPositiveLongFromObjectOrReply` reads it (0
/// allowed), with `msg` for anything else.
fn non_negative(arg: &[u8], msg: &'static str) -> Result<u64, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(CmdError::msg(msg)),
    }
}

/// A count in `1..=LONG_MAX` (LMPOP's numkeys and COUNT), `msg` otherwise.
fn at_least_one(arg: &[u8], msg: &'static str) -> Result<u64, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 1 => Ok(n as u64),
        _ => Err(CmdError::msg(msg)),
    }
}

/// A blocking command's timeout in seconds (Redis's `getTimeoutFromObjectOrReply`):
/// a float, converted to whole milliseconds toward zero (so under 1 ms means
/// forever, as 0 does); `None` for no deadline.
fn timeout_arg(arg: &[u8]) -> Result<Option<Instant>, CmdError> {
    let secs = parse_f64(arg)
        .or_else(|| parse_hex_float(arg))
        .ok_or(CmdError::msg(TIMEOUT_NOT_FLOAT))?;
    let ms = secs * 1000.0;
    // C's conversion of a value outside `long long` (inf included) gives LLONG_MIN on
    // the machines Redis runs on: "negative". (Redis computes in `long double`; the
    // few values that round to 2^63 in an `f64` are taken as the largest timeout.)
    let ms = if ms.is_finite() && (i64::MIN as f64..=i64::MAX as f64).contains(&ms) {
        ms.trunc() as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(CmdError::msg(TIMEOUT_NEGATIVE));
    }
    if ms == 0 {
        return Ok(None);
    }
    // Redis 7.0 does not check that the deadline fits its clock; past what `Instant`
    // can hold, the wait is forever.
    Ok(Instant::now().checked_add(Duration::from_millis(ms as u64)))
}

/// A C99 hexadecimal float (`0x1.8p3`), which `strtold` reads and so Redis's timeouts
/// accept: optional sign, `0x`, hex digits with an optional point, an optional binary
/// exponent.
fn parse_hex_float(arg: &[u8]) -> Option<f64> {
    let (neg, rest) = match arg.first()? {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    let rest = rest
        .strip_prefix(b"0x")
        .or_else(|| rest.strip_prefix(b"0X"))?;
    let (mantissa, exp) = match rest.iter().position(|c| matches!(c, b'p' | b'P')) {
        Some(i) => {
            let e = std::str::from_utf8(&rest[i + 1..]).ok()?;
            if e.is_empty() || e.starts_with([' ', '_']) {
                return None;
            }
            (&rest[..i], e.parse::<i32>().ok()?)
        }
        None => (rest, 0),
    };
    let (mut value, mut scale, mut digits, mut point) = (0f64, 0i32, 0, false);
    for &c in mantissa {
        match c {
            b'.' if !point => point = true,
            _ => {
                value = value * 16.0 + f64::from((c as char).to_digit(16)?);
                digits += 1;
                if point {
                    scale -= 4;
                }
            }
        }
    }
    if digits == 0 {
        return None;
    }
    let v = value * 2f64.powi(exp.saturating_add(scale));
    Some(if neg { -v } else { v })
}

/// Redis's range arithmetic (LRANGE, LTRIM): negative indexes count from the end,
/// both ends inclusive; `None` when the range is empty, else `start..end`.
fn range_of(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut s = if start < 0 { start + llen } else { start };
    let mut e = if end < 0 { end + llen } else { end };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= llen {
        return None;
    }
    if e >= llen {
        e = llen - 1;
    }
    Some((s as usize, e as usize + 1))
}

/// A single index (LINDEX, LSET): negative counts from the end.
fn index_of(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 {
        index.checked_add(len as i64)?
    } else {
        index
    };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// Refuses an element a list cannot hold (over 4 GiB: only reachable with
/// `proto-max-bulk-len` and the query buffer limit raised past it).
fn storable<'a>(mut items: impl Iterator<Item = &'a [u8]>) -> Result<(), CmdError> {
    if items.any(|v| v.len() > MAX_ELEMENT) {
        return Err(CmdError::msg(STRING_TOO_LONG));
    }
    Ok(())
}

/// A list holding `items`, in order.
fn list_of<'a>(items: impl Iterator<Item = &'a [u8]>) -> ListValue {
    let mut l = ListValue::new();
    for item in items {
        l.push_back(item);
    }
    l
}

// ---------------------------------------------------------------------------------
// Pops shared by LPOP/RPOP, LMPOP, BLPOP/BRPOP, BLMPOP
// ---------------------------------------------------------------------------------

/// Pops up to `n` elements from `end` of key `i`'s list, writing `prefix(out, k)` (k:
/// how many) and then the elements in pop order; announces the pop and the key's
/// removal when it emptied. `Ok(None)`: no such key (nothing written).
fn pop_into(
    keys: &mut Keys<'_, '_>,
    out: &mut ReplyBuf,
    i: usize,
    end: End,
    n: usize,
    prefix: impl FnOnce(&mut ReplyBuf, usize),
) -> Result<Option<usize>, CmdError> {
    let done = keys.list_mut(i, |l| {
        let k = n.min(l.len());
        prefix(out, k);
        match end {
            End::Left => {
                for item in l.range(0, k) {
                    out.bulk(&item);
                }
                l.drop_front(k);
            }
            End::Right => {
                for item in l.range(l.len() - k, l.len()).rev() {
                    out.bulk(&item);
                }
                l.drop_back(k);
            }
        }
        k
    })?;
    let Some((k, emptied)) = done else {
        return Ok(None);
    };
    keys.changed(i, end.pop_event(), k as u64);
    if emptied {
        keys.delete(i, DEL, 0);
    }
    Ok(Some(k))
}

/// The first of `keys` holding a list, for the multi-key pops: a key of another type
/// is WRONGTYPE, except when a woken blocked command runs again (`skip_wrong`): Redis
/// serves blocked clients from lists only, so it waits on.
fn first_list(
    keys: &mut Keys<'_, '_>,
    n: usize,
    skip_wrong: bool,
) -> Result<Option<usize>, CmdError> {
    for i in 0..n {
        match keys.write_lookup(i, Want::List) {
            Ok(Some(_)) => return Ok(Some(i)),
            Ok(None) => {}
            Err(CmdError::WrongType) if skip_wrong => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------
// LPUSH, RPUSH, LPUSHX, RPUSHX
// ---------------------------------------------------------------------------------

fn push_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, end: End, only_existing: bool) -> CmdResult {
    let key = &args[1];
    let n = args.len() - 2;
    storable(args.iter().skip(2))?;
    let push = |l: &mut ListValue| {
        for item in args.iter().skip(2) {
            match end {
                End::Left => l.push_front(item),
                End::Right => l.push_back(item),
            }
        }
        l.len()
    };
    let (mut keys, out) = ctx.keys(&[key]);
    let len = match keys.list_mut(0, push)? {
        Some((len, _)) => {
            keys.changed(0, end.push_event(), n as u64);
            len
        }
        None if only_existing => 0,
        None => {
            let mut l = ListValue::new();
            let len = push(&mut l);
            keys.set(0, Entry::new_list(key, l, None), end.push_event(), n as u64);
            len
        }
    };
    out.int(len as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Left, false)
}

fn rpush(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Right, false)
}

fn lpushx(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Left, true)
}

fn rpushx(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Right, true)
}

// ---------------------------------------------------------------------------------
// LPOP, RPOP, LMPOP
// ---------------------------------------------------------------------------------

/// LPOP/RPOP key [count]: without a count one bulk (null for no key); with one an
/// array (null array for no key, empty for count 0).
fn pop_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::WrongArity(
            String::from_utf8_lossy(&args[0]).to_ascii_lowercase(),
        ));
    }
    let count = match args.get(2) {
        Some(c) => Some(non_negative(c, VALUE_MUST_BE_POSITIVE)?),
        None => None,
    };
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    if keys.write_lookup(0, Want::List)?.is_none() {
        match count {
            Some(_) => out.null_array(),
            None => out.null(),
        }
        return Ok(());
    }
    match count {
        Some(0) => out.array(0),
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            pop_into(&mut keys, out, 0, end, n, |out, k| out.array(k))?;
        }
        None => {
            pop_into(&mut keys, out, 0, end, 1, |_, _| ())?;
        }
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    pop_generic(ctx, args, End::Left)
}

fn rpop(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    pop_generic(ctx, args, End::Right)
}

/// LMPOP's and BLMPOP's arguments from `numkeys` (at `at`) on: the keys, the end,
/// the count (1 by default).
fn mpop_args<'a>(args: &'a Args<'_>, at: usize) -> Result<(Vec<&'a [u8]>, End, usize), CmdError> {
    let numkeys = at_least_one(&args[at], NUMKEYS_NOT_POSITIVE)?;
    let where_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(at + 1))
        .filter(|w| *w < args.len())
        .ok_or(CmdError::Syntax)?;
    let end = End::parse(&args[where_at])?;
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        let more = j + 1 < args.len();
        if count.is_none() && args[j].eq_ignore_ascii_case(b"count") && more {
            count = Some(at_least_one(&args[j + 1], COUNT_NOT_POSITIVE)?);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys = (at + 1..where_at).map(|i| &args[i]).collect();
    let count = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
    Ok((keys, end, count))
}

/// Pops from the first non-empty list of `names` for LMPOP/BLMPOP: `[key, [elements]]`.
/// `Ok(false)` when none holds a list (nothing written).
fn mpop(
    ctx: &mut Ctx<'_>,
    names: &[&[u8]],
    end: End,
    count: usize,
    skip_wrong: bool,
) -> Result<bool, CmdError> {
    let (mut keys, out) = ctx.keys(names);
    let Some(i) = first_list(&mut keys, names.len(), skip_wrong)? else {
        return Ok(false);
    };
    let name = names[i];
    pop_into(&mut keys, out, i, end, count, |out, k| {
        out.array(2);
        out.bulk(name);
        out.array(k);
    })?;
    Ok(true)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count].
fn lmpop(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (names, end, count) = mpop_args(args, 1)?;
    if !mpop(ctx, &names, end, count, false)? {
        ctx.out.null_array();
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// LLEN, LINDEX, LRANGE, LPOS
// ---------------------------------------------------------------------------------

fn llen(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    out.int(keys.read_list(0)?.map_or(0, ListValue::len) as i64);
    Ok(())
}

/// LINDEX key index: the key is looked at before the index is parsed, as in Redis.
fn lindex(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let Some(l) = keys.read_list(0)? else {
        out.null();
        return Ok(());
    };
    let index = int_arg(&args[2])?;
    match index_of(index, l.len()).and_then(|i| l.get(i)) {
        Some(v) => out.bulk(&v),
        None => out.null(),
    }
    Ok(())
}

/// LRANGE key start stop: the indexes are parsed before the key is looked at.
fn lrange(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let start = int_arg(&args[2])?;
    let stop = int_arg(&args[3])?;
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let Some(l) = keys.read_list(0)? else {
        out.array(0);
        return Ok(());
    };
    match range_of(start, stop, l.len()) {
        None => out.array(0),
        Some((s, e)) => {
            out.array(e - s);
            for item in l.range(s, e) {
                out.bulk(&item);
            }
        }
    }
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]: the options are
/// parsed (the last of a repeated one wins) before the key is looked at.
fn lpos(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<u64> = None;
    let mut maxlen: u64 = 0;
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let opt = &args[j];
        if opt.eq_ignore_ascii_case(b"rank") && more {
            rank = int_arg(&args[j + 1])?;
            if rank == 0 {
                return Err(CmdError::msg(LPOS_RANK_ZERO));
            }
        } else if opt.eq_ignore_ascii_case(b"count") && more {
            count = Some(non_negative(&args[j + 1], LPOS_COUNT_NEGATIVE)?);
        } else if opt.eq_ignore_ascii_case(b"maxlen") && more {
            maxlen = non_negative(&args[j + 1], LPOS_MAXLEN_NEGATIVE)?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    let from_tail = rank < 0;
    // Redis negates LONG_MIN into itself, which then matches from the first hit.
    let rank = if rank == i64::MIN {
        1
    } else {
        rank.unsigned_abs()
    };
    let element: &[u8] = &args[2];
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let Some(l) = keys.read_list(0)? else {
        match count {
            Some(_) => out.array(0),
            None => out.null(),
        }
        return Ok(());
    };
    let len = l.len();
    let scan = usize::try_from(maxlen)
        .ok()
        .filter(|m| *m > 0)
        .map_or(len, |m| m.min(len));
    let items: Box<dyn Iterator<Item = (usize, Elem<'_>)>> = if from_tail {
        Box::new(
            l.iter()
                .rev()
                .enumerate()
                .map(|(k, v)| (len - 1 - k, v))
                .take(scan),
        )
    } else {
        Box::new(l.iter().enumerate().take(scan))
    };
    let mut matches = items
        .filter(|(_, v)| **v == *element)
        .map(|(i, _)| i)
        .skip(usize::try_from(rank - 1).unwrap_or(usize::MAX));
    match count {
        None => match matches.next() {
            Some(i) => out.int(i as i64),
            None => out.null(),
        },
        Some(c) => {
            let take = if c == 0 {
                usize::MAX
            } else {
                usize::try_from(c).unwrap_or(usize::MAX)
            };
            let found: Vec<usize> = matches.take(take).collect();
            out.array(found.len());
            for i in found {
                out.int(i as i64);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// LSET, LINSERT, LREM, LTRIM
// ---------------------------------------------------------------------------------

/// LSET key index element: the key first (no key: "no such key"), then the index.
fn lset(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    if keys.write_lookup(0, Want::List)?.is_none() {
        return Err(CmdError::NoSuchKey);
    }
    let index = int_arg(&args[2])?;
    storable(std::iter::once(&args[3]))?;
    let set = keys.list_mut(0, |l| match index_of(index, l.len()) {
        Some(i) => l.set(i, &args[3]),
        None => false,
    })?;
    if !matches!(set, Some((true, _))) {
        return Err(CmdError::msg(INDEX_OUT_OF_RANGE));
    }
    keys.changed(0, LSET, 1);
    out.ok();
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element: the position word first, then the key.
fn linsert(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let after = if args[2].eq_ignore_ascii_case(b"after") {
        true
    } else if args[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (pivot, element): (&[u8], &[u8]) = (&args[3], &args[4]);
    storable(std::iter::once(element))?;
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let done = keys.list_mut(0, |l| {
        let at = l.iter().position(|v| v == pivot)?;
        l.insert(at + usize::from(after), element);
        Some(l.len())
    })?;
    match done {
        None => out.int(0),
        Some((None, _)) => out.int(-1),
        Some((Some(len), _)) => {
            keys.changed(0, LINSERT, 1);
            out.int(len as i64);
        }
    }
    Ok(())
}

/// LREM key count element: the count is parsed before the key is looked at.
fn lrem(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let count = int_arg(&args[2])?;
    let element = &args[3];
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let removed = match keys.list_mut(0, |l| l.remove_matching(element, count))? {
        None => 0,
        Some((n, emptied)) => {
            if n > 0 {
                keys.changed(0, LREM, n as u64);
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

/// LTRIM key start stop: the indexes first; announced even when nothing went (Redis
/// signals the key whenever it exists).
fn ltrim(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let start = int_arg(&args[2])?;
    let stop = int_arg(&args[3])?;
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let done = keys.list_mut(0, |l| {
        let before = l.len();
        match range_of(start, stop, before) {
            Some((s, e)) => l.retain_range(s, e),
            None => l.retain_range(0, 0),
        }
        before - l.len()
    })?;
    if let Some((removed, emptied)) = done {
        keys.changed(0, LTRIM, removed as u64);
        if emptied {
            keys.delete(0, DEL, 0);
        }
    }
    out.ok();
    Ok(())
}

// ---------------------------------------------------------------------------------
// LMOVE, RPOPLPUSH
// ---------------------------------------------------------------------------------

/// Moves one element from `args[1]`'s `from` end to `args[2]`'s `to` end and replies
/// it. `Ok(false)` when the source does not exist (nothing written). The source's
/// type is checked first, then the destination's, before anything changes.
fn move_one(ctx: &mut Ctx<'_>, args: &Args<'_>, from: End, to: End) -> Result<bool, CmdError> {
    let (src, dst): (&[u8], &[u8]) = (&args[1], &args[2]);
    let push = |l: &mut ListValue, v: &[u8]| match to {
        End::Left => l.push_front(v),
        End::Right => l.push_back(v),
    };
    let pop = |l: &mut ListValue| match from {
        End::Left => l.pop_front(),
        End::Right => l.pop_back(),
    };
    if src == dst {
        let (mut keys, out) = ctx.keys(&[src]);
        let moved = keys.list_mut(0, |l| {
            let v = pop(l)?;
            push(l, &v);
            Some(v)
        })?;
        let Some((Some(v), _)) = moved else {
            return Ok(false);
        };
        keys.changed(0, to.push_event(), 0);
        keys.changed(0, from.pop_event(), 1);
        out.bulk(&v);
        return Ok(true);
    }
    let (mut keys, out) = ctx.keys(&[src, dst]);
    if keys.write_lookup(0, Want::List)?.is_none() {
        return Ok(false);
    }
    keys.write_lookup(1, Want::List)?;
    let Some((Some(v), emptied)) = keys.list_mut(0, pop)? else {
        return Ok(false);
    };
    if keys.list_mut(1, |l| push(l, &v))?.is_some() {
        keys.changed(1, to.push_event(), 0);
    } else {
        keys.set(
            1,
            Entry::new_list(dst, list_of(std::iter::once(&v[..])), None),
            to.push_event(),
            0,
        );
    }
    keys.changed(0, from.pop_event(), 1);
    if emptied {
        keys.delete(0, DEL, 0);
    }
    out.bulk(&v);
    Ok(true)
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT.
fn lmove(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let from = End::parse(&args[3])?;
    let to = End::parse(&args[4])?;
    if !move_one(ctx, args, from, to)? {
        ctx.out.null();
    }
    Ok(())
}

/// RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT.
fn rpoplpush(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if !move_one(ctx, args, End::Right, End::Left)? {
        ctx.out.null();
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH
// ---------------------------------------------------------------------------------

/// Parks the command on `names` until `deadline`, or, where it may not block (in a
/// group), answers the timeout reply now.
fn block_on(ctx: &mut Ctx<'_>, names: &[&[u8]], deadline: Option<Instant>, immediate: OnTimeout) {
    if ctx.held.is_some() {
        match immediate {
            OnTimeout::NullArray => ctx.out.null_array(),
            OnTimeout::Null => ctx.out.null(),
        }
        return;
    }
    let db = ctx.client.db;
    // A key named twice (BLPOP k k 0) waits in its queue once (`Block::keys`).
    let keys = names.iter().map(|k| (db, k.to_vec())).collect();
    // Redis 7.0 answers a blocked list command's timeout with a null array, BLMOVE's
    // included.
    ctx.block(Block::keys(keys, deadline, OnTimeout::NullArray));
}

/// BLPOP/BRPOP key [key ...] timeout: `[key, element]` from the first non-empty list.
fn bpop_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, end: End) -> CmdResult {
    let deadline = timeout_arg(&args[args.len() - 1])?;
    let names: Vec<&[u8]> = (1..args.len() - 1).map(|i| &args[i]).collect();
    let rerun = ctx.client.reprocessing;
    {
        let (mut keys, out) = ctx.keys(&names);
        if let Some(i) = first_list(&mut keys, names.len(), rerun)? {
            let name = names[i];
            pop_into(&mut keys, out, i, end, 1, |out, _| {
                out.array(2);
                out.bulk(name);
            })?;
            return Ok(());
        }
    }
    block_on(ctx, &names, deadline, OnTimeout::NullArray);
    Ok(())
}

fn blpop(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    bpop_generic(ctx, args, End::Left)
}

fn brpop(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    bpop_generic(ctx, args, End::Right)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: the timeout is
/// parsed first.
fn blmpop(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let deadline = timeout_arg(&args[1])?;
    let (names, end, count) = mpop_args(args, 2)?;
    let rerun = ctx.client.reprocessing;
    if !mpop(ctx, &names, end, count, rerun)? {
        block_on(ctx, &names, deadline, OnTimeout::NullArray);
    }
    Ok(())
}

/// BLMOVE and BRPOPLPUSH: LMOVE when the source exists, else park on the source.
fn bmove_generic(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    from: End,
    to: End,
    deadline: Option<Instant>,
) -> CmdResult {
    let rerun = ctx.client.reprocessing;
    let exists = {
        let (mut keys, _) = ctx.keys(&[&args[1]]);
        match keys.write_lookup(0, Want::List) {
            Ok(found) => found.is_some(),
            // Woken, a source of another type keeps the client waiting.
            Err(CmdError::WrongType) if rerun => false,
            Err(e) => return Err(e),
        }
    };
    if !exists || !move_one(ctx, args, from, to)? {
        block_on(ctx, &[&args[1]], deadline, OnTimeout::Null);
    }
    Ok(())
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout.
fn blmove(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let from = End::parse(&args[3])?;
    let to = End::parse(&args[4])?;
    let deadline = timeout_arg(&args[5])?;
    bmove_generic(ctx, args, from, to, deadline)
}

/// BRPOPLPUSH source destination timeout.
fn brpoplpush(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let deadline = timeout_arg(&args[3])?;
    bmove_generic(ctx, args, End::Right, End::Left, deadline)
}

// ---------------------------------------------------------------------------------

/// This family's commands (rows as Redis 7.0's COMMAND INFO / COMMAND DOCS list them).
pub const COMMANDS: &[Command] = &[
    Command::new("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), lpush)
        .doc("list", "Prepend one or multiple elements to a list", "1.0.0")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.")
        .acl(&["write", "list", "fast"])
        .schema(command_args::LPUSH),
    Command::new("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), rpush)
        .doc("list", "Append one or multiple elements to a list", "1.0.0")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.")
        .acl(&["write", "list", "fast"])
        .schema(command_args::RPUSH),
    Command::new("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), lpushx)
        .doc("list", "Prepend an element to a list, only if the list exists", "2.2.0")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.")
        .acl(&["write", "list", "fast"])
        .schema(command_args::LPUSHX),
    Command::new("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), rpushx)
        .doc("list", "Append an element to a list, only if the list exists", "2.2.0")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.")
        .acl(&["write", "list", "fast"])
        .schema(command_args::RPUSHX),
    Command::new("lpop", -2, WRITE | FAST, (1, 1, 1), lpop)
        .doc("list", "Remove and get the first elements in a list", "1.0.0")
        .complexity("O(N) where N is the number of elements returned")
        .acl(&["write", "list", "fast"])
        .schema(command_args::LPOP),
    Command::new("rpop", -2, WRITE | FAST, (1, 1, 1), rpop)
        .doc("list", "Remove and get the last elements in a list", "1.0.0")
        .complexity("O(N) where N is the number of elements returned")
        .acl(&["write", "list", "fast"])
        .schema(command_args::RPOP),
    Command::new("llen", 2, READONLY | FAST, (1, 1, 1), llen)
        .doc("list", "Get the length of a list", "1.0.0")
        .acl(&["read", "list", "fast"])
        .schema(command_args::LLEN),
    Command::new("lrange", 4, READONLY, (1, 1, 1), lrange)
        .doc("list", "Get a range of elements from a list", "1.0.0")
        .complexity("O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.")
        .acl(&["read", "list", "slow"])
        .schema(command_args::LRANGE),
    Command::new("lindex", 3, READONLY, (1, 1, 1), lindex)
        .doc("list", "Get an element from a list by its index", "1.0.0")
        .complexity("O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).")
        .acl(&["read", "list", "slow"])
        .schema(command_args::LINDEX),
    Command::new("lset", 4, WRITE | DENYOOM, (1, 1, 1), lset)
        .doc("list", "Set the value of an element in a list by its index", "1.0.0")
        .complexity("O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).")
        .acl(&["write", "list", "slow"])
        .schema(command_args::LSET),
    Command::new("linsert", 5, WRITE | DENYOOM, (1, 1, 1), linsert)
        .doc("list", "Insert an element before or after another element in a list", "2.2.0")
        .complexity("O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).")
        .acl(&["write", "list", "slow"])
        .schema(command_args::LINSERT),
    Command::new("lrem", 4, WRITE, (1, 1, 1), lrem)
        .doc("list", "Remove elements from a list", "1.0.0")
        .complexity("O(N+M) where N is the length of the list and M is the number of elements removed.")
        .acl(&["write", "list", "slow"])
        .schema(command_args::LREM),
    Command::new("ltrim", 4, WRITE, (1, 1, 1), ltrim)
        .doc("list", "Trim a list to the specified range", "1.0.0")
        .complexity("O(N) where N is the number of elements to be removed by the operation.")
        .acl(&["write", "list", "slow"])
        .schema(command_args::LTRIM),
    Command::new("lpos", -3, READONLY, (1, 1, 1), lpos)
        .doc("list", "Return the index of matching elements on a list", "6.0.6")
        .complexity("O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.")
        .acl(&["read", "list", "slow"])
        .schema(command_args::LPOS),
    Command::new("lmove", 5, WRITE | DENYOOM, (1, 2, 1), lmove)
        .doc("list", "Pop an element from a list, push it to another list and return it", "6.2.0")
        .acl(&["write", "list", "slow"])
        .schema(command_args::LMOVE),
    Command::new("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), rpoplpush)
        .doc("list", "Remove the last element in a list, prepend it to another list and return it", "1.2.0")
        .acl(&["write", "list", "slow"])
        .schema(command_args::RPOPLPUSH),
    Command::new("lmpop", -4, WRITE, (0, 0, 0), lmpop)
        .keynum(1, 1, 1)
        .doc("list", "Pop elements from a list", "7.0.0")
        .complexity("O(N+M) where N is the number of provided keys and M is the number of elements returned.")
        .acl(&["write", "list", "slow"])
        .schema(command_args::LMPOP),
    Command::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), blpop)
        .doc("list", "Remove and get the first element in a list, or block until one is available", "2.0.0")
        .complexity("O(N) where N is the number of provided keys.")
        .acl(&["write", "list", "slow", "blocking"])
        .schema(command_args::BLPOP),
    Command::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), brpop)
        .doc("list", "Remove and get the last element in a list, or block until one is available", "2.0.0")
        .complexity("O(N) where N is the number of provided keys.")
        .acl(&["write", "list", "slow", "blocking"])
        .schema(command_args::BRPOP),
    Command::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), blmove)
        .doc("list", "Pop an element from a list, push it to another list and return it; or block until one is available", "6.2.0")
        .acl(&["write", "list", "slow", "blocking"])
        .schema(command_args::BLMOVE),
    Command::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, (1, 2, 1), brpoplpush)
        .doc("list", "Pop an element from a list, push it to another list and return it; or block until one is available", "2.2.0")
        .acl(&["write", "list", "slow", "blocking"])
        .schema(command_args::BRPOPLPUSH),
    Command::new("blmpop", -5, WRITE | BLOCKING, (0, 0, 0), blmpop)
        .keynum(2, 1, 1)
        .doc("list", "Pop elements from a list, or block until one is available", "7.0.0")
        .complexity("O(N+M) where N is the number of provided keys and M is the number of elements returned.")
        .acl(&["write", "list", "slow", "blocking"])
        .schema(command_args::BLMPOP),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_floats_as_strtold_reads_them() {
        assert_eq!(parse_hex_float(b"0x10"), Some(16.0));
        assert_eq!(parse_hex_float(b"-0X1.8p1"), Some(-3.0));
        assert_eq!(parse_hex_float(b"0x.8"), Some(0.5));
        assert_eq!(parse_hex_float(b"0x1p-2"), Some(0.25));
        for bad in [&b"0x"[..], b"0xg", b"0x1p", b"x10", b"0x1.2.3", b""] {
            assert_eq!(parse_hex_float(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ranges_as_redis_computes_them() {
        assert_eq!(range_of(0, -1, 5), Some((0, 5)));
        assert_eq!(range_of(-100, 100, 5), Some((0, 5)));
        assert_eq!(range_of(3, 2, 5), None);
        assert_eq!(range_of(5, 9, 5), None);
        assert_eq!(range_of(i64::MIN, i64::MAX, 5), Some((0, 5)));
        assert_eq!(index_of(-1, 3), Some(2));
        assert_eq!(index_of(-4, 3), None);
        assert_eq!(index_of(i64::MIN, 3), None);
    }
}
