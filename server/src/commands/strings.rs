//! String commands (Redis's `t_string.c`): GET, SET and its variants (SETNX, SETEX,
//! PSETEX, GETSET, GETDEL, GETEX), MGET, MSET, MSETNX, APPEND, STRLEN, GETRANGE, SUBSTR,
//! SETRANGE, the INCR family, INCRBYFLOAT and LCS.
//!
//! Conventions shared by every handler here:
//! - Arguments are validated in the order Redis validates them, so that the first
//!   error Redis would report is the one we report; whatever can be checked before
//!   taking a lock is (GETEX's expiry, for one, is only looked at once the key is
//!   known to exist, as in Redis).
//! - A key's hash is computed once; one shard lock is held for the whole read-modify-
//!   write, so INCR and friends are atomic. Multi-key commands (MGET, MSET, MSETNX,
//!   LCS) lock all their shards at once (`Db::lock_many`), so no reader ever sees half
//!   of an MSET.
//! - Replies are encoded while the lock is held (values are borrowed, never cloned);
//!   an entry replaced by a write is dropped after the lock is released.
//! - Entries are immutable: a write builds a new entry. Commands that modify a value
//!   in place in Redis (APPEND, SETRANGE, INCR...) keep the key's TTL, as Redis does;
//!   commands that replace the value (SET without KEEPTTL, GETSET, MSET) drop it.
//! - Read commands count keyspace hits and misses per key looked up (Redis's
//!   `lookupKeyRead`); writes that look a key up do not (`lookupKeyWrite`).

use std::sync::atomic::Ordering;

use shoal_protocol::Args;
use shoal_storage::{Db, Entry, Shard};

use crate::command::{flags::*, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::num::{int_arg, parse_i64};
use crate::server::Shared;

/// The database selected by the client, borrowed from the shared state rather than
/// from `ctx`, so that `ctx.out` can be written while the database is in use.
#[inline]
fn db<'a>(ctx: &Ctx<'a>) -> &'a Db {
    let shared: &'a Shared = ctx.shared;
    shared.keyspace.db(ctx.client.db)
}

/// Looks a key up for a command. `CLIENT NO-TOUCH` clients must not change the access
/// time, so they peek (which also leaves an expired key for later reclamation).
#[inline]
fn lookup<'s>(
    shard: &'s mut Shard,
    h: u64,
    key: &[u8],
    now: i64,
    no_touch: bool,
) -> Option<&'s Entry> {
    if no_touch {
        shard.peek(h, key, now)
    } else {
        shard.get(h, key, now)
    }
}

/// Counts keyspace hits and misses as Redis's read lookups do.
#[inline]
fn count_lookups(shared: &Shared, hits: u64, misses: u64) {
    if hits > 0 {
        shared
            .stats
            .keyspace_hits
            .fetch_add(hits, Ordering::Relaxed);
    }
    if misses > 0 {
        shared
            .stats
            .keyspace_misses
            .fetch_add(misses, Ordering::Relaxed);
    }
}

/// Redis 7's `checkStringLength`: a string built by APPEND or SETRANGE may not exceed
/// `proto-max-bulk-len` (and the sum must not overflow).
fn check_string_length(shared: &Shared, size: u64, append: u64) -> CmdResult {
    let max = shared.live.proto_max_bulk_len.load(Ordering::Relaxed);
    match size.checked_add(append) {
        Some(total) if total <= max => Ok(()),
        _ => Err(CmdError::msg(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

// ---------------------------------------------------------------------------------
// Expiry options (SET, GETEX, SETEX, PSETEX)
// ---------------------------------------------------------------------------------

/// How an expiry argument is to be read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Unit {
    /// Relative seconds (EX, SETEX).
    Ex,
    /// Relative milliseconds (PX, PSETEX).
    Px,
    /// Absolute unix seconds (EXAT).
    ExAt,
    /// Absolute unix milliseconds (PXAT).
    PxAt,
}

/// Turns an expiry argument into an absolute unix-ms time, as Redis's
/// `getExpireMillisecondsOrReply`: not an integer -> `ERR value is not an integer...`;
/// zero, negative, or overflowing when scaled to ms or made absolute ->
/// `ERR invalid expire time in '<cmd>' command`.
fn expire_at(unit: Unit, raw: &[u8], now: i64, cmd: &'static str) -> Result<i64, CmdError> {
    let v = int_arg(raw)?;
    let seconds = matches!(unit, Unit::Ex | Unit::ExAt);
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(CmdError::InvalidExpire(cmd));
    }
    let ms = if seconds { v * 1000 } else { v };
    let at = match unit {
        Unit::Ex | Unit::Px => ms.checked_add(now),
        Unit::ExAt | Unit::PxAt => Some(ms),
    };
    match at {
        Some(t) if t > 0 => Ok(t),
        _ => Err(CmdError::InvalidExpire(cmd)),
    }
}

/// Options of SET (`NX XX GET EX PX EXAT PXAT KEEPTTL`) and GETEX
/// (`EX PX EXAT PXAT PERSIST`).
#[derive(Default)]
struct ExtOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(Unit, &'a [u8])>,
}

/// Parses the options from `args[start..]` with the acceptance rules of Redis's
/// `parseExtendedStringArgumentsOrReply`: conflicting options (NX with XX, two
/// different expiry kinds, KEEPTTL or PERSIST with an expiry) are a syntax error, the
/// same option twice is accepted (the last expiry value wins), and an expiry keyword
/// without its value is a syntax error.
fn parse_ext_opts<'a>(
    args: &Args<'a>,
    start: usize,
    is_set: bool,
) -> Result<ExtOpts<'a>, CmdError> {
    let mut o = ExtOpts::default();
    let mut j = start;
    while let Some(opt) = args.get(j) {
        let next = args.get(j + 1);
        let expiry_kind = o.expire.map(|(u, _)| u);
        // An expiry keyword is accepted when no other expiry kind, KEEPTTL or PERSIST
        // was given before it.
        let expiry_ok = |u: Unit| {
            !o.keepttl && !o.persist && expiry_kind.is_none_or(|k| k == u) && next.is_some()
        };
        let unit = if opt.eq_ignore_ascii_case(b"ex") {
            Some(Unit::Ex)
        } else if opt.eq_ignore_ascii_case(b"px") {
            Some(Unit::Px)
        } else if opt.eq_ignore_ascii_case(b"exat") {
            Some(Unit::ExAt)
        } else if opt.eq_ignore_ascii_case(b"pxat") {
            Some(Unit::PxAt)
        } else {
            None
        };
        match (unit, next) {
            (Some(u), Some(value)) if expiry_ok(u) => {
                o.expire = Some((u, value));
                j += 2;
                continue;
            }
            (Some(_), _) => return Err(CmdError::Syntax),
            (None, _) => {}
        }
        if is_set && opt.eq_ignore_ascii_case(b"nx") && !o.xx {
            o.nx = true;
        } else if is_set && opt.eq_ignore_ascii_case(b"xx") && !o.nx {
            o.xx = true;
        } else if is_set && opt.eq_ignore_ascii_case(b"get") {
            o.get = true;
        } else if is_set && opt.eq_ignore_ascii_case(b"keepttl") && o.expire.is_none() {
            o.keepttl = true;
        } else if !is_set && opt.eq_ignore_ascii_case(b"persist") && o.expire.is_none() {
            o.persist = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------
// GET, SET and friends
// ---------------------------------------------------------------------------------

fn get(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let key = &args[1];
    let db = db(ctx);
    let h = db.hash(key);
    let mut shard = db.lock(h);
    match lookup(&mut shard, h, key, ctx.now, ctx.client.no_touch) {
        Some(e) => {
            count_lookups(ctx.shared, 1, 0);
            ctx.out.bulk(e.as_str().ok_or(CmdError::WrongType)?);
        }
        None => {
            count_lookups(ctx.shared, 0, 1);
            ctx.out.null();
        }
    }
    Ok(())
}

/// What a SET-like command does, once its arguments are parsed.
struct SetSpec<'a> {
    key: &'a [u8],
    value: &'a [u8],
    nx: bool,
    xx: bool,
    /// Reply with the old value (SET ... GET): counts as a read lookup.
    get: bool,
    keepttl: bool,
    expire_at: Option<i64>,
}

/// Redis's `setGenericCommand`. Returns whether the value was written; the caller
/// replies unless `spec.get` (the old value, or null, was the reply).
fn set_generic(ctx: &mut Ctx<'_>, spec: &SetSpec<'_>) -> Result<bool, CmdError> {
    let db = db(ctx);
    let h = db.hash(spec.key);
    // Build the new entry before locking unless it needs the old TTL.
    let prepared = (!spec.keepttl).then(|| Entry::new_str(spec.key, spec.value, spec.expire_at));
    let mut shard = db.lock(h);
    // A plain SET needs nothing from the old entry: replace it in one step.
    let prepared = match prepared {
        Some(entry) if !spec.nx && !spec.xx && !spec.get => {
            let old = shard.insert(h, entry, ctx.now);
            drop(shard);
            drop(old);
            return Ok(true);
        }
        other => other,
    };
    let (found, old_ttl) = match lookup(&mut shard, h, spec.key, ctx.now, ctx.client.no_touch) {
        Some(e) => {
            if spec.get {
                count_lookups(ctx.shared, 1, 0);
                ctx.out.bulk(e.as_str().ok_or(CmdError::WrongType)?);
            }
            (true, e.expire_at())
        }
        None => {
            if spec.get {
                count_lookups(ctx.shared, 0, 1);
                ctx.out.null();
            }
            (false, None)
        }
    };
    if (spec.nx && found) || (spec.xx && !found) {
        return Ok(false);
    }
    let entry = prepared.unwrap_or_else(|| Entry::new_str(spec.key, spec.value, old_ttl));
    let old = shard.insert(h, entry, ctx.now);
    drop(shard);
    drop(old);
    Ok(true)
}

fn set(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let o = parse_ext_opts(args, 3, true)?;
    let expire_at = match o.expire {
        Some((unit, raw)) => Some(expire_at(unit, raw, ctx.now, "set")?),
        None => None,
    };
    let spec = SetSpec {
        key: &args[1],
        value: &args[2],
        nx: o.nx,
        xx: o.xx,
        get: o.get,
        keepttl: o.keepttl,
        expire_at,
    };
    let written = set_generic(ctx, &spec)?;
    if !o.get {
        if written {
            ctx.out.ok();
        } else {
            ctx.out.null();
        }
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let spec = SetSpec {
        key: &args[1],
        value: &args[2],
        nx: true,
        xx: false,
        get: false,
        keepttl: false,
        expire_at: None,
    };
    let written = set_generic(ctx, &spec)?;
    ctx.out.int(i64::from(written));
    Ok(())
}

/// SETEX and PSETEX: `key ttl value`.
fn set_with_ttl(ctx: &mut Ctx<'_>, args: &Args<'_>, unit: Unit, cmd: &'static str) -> CmdResult {
    let at = expire_at(unit, &args[2], ctx.now, cmd)?;
    let spec = SetSpec {
        key: &args[1],
        value: &args[3],
        nx: false,
        xx: false,
        get: false,
        keepttl: false,
        expire_at: Some(at),
    };
    set_generic(ctx, &spec)?;
    ctx.out.ok();
    Ok(())
}

fn setex(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    set_with_ttl(ctx, args, Unit::Ex, "setex")
}

fn psetex(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    set_with_ttl(ctx, args, Unit::Px, "psetex")
}

fn getset(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let spec = SetSpec {
        key: &args[1],
        value: &args[2],
        nx: false,
        xx: false,
        get: true,
        keepttl: false,
        expire_at: None,
    };
    set_generic(ctx, &spec)?;
    Ok(())
}

fn getdel(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let key = &args[1];
    let db = db(ctx);
    let h = db.hash(key);
    let mut shard = db.lock(h);
    match lookup(&mut shard, h, key, ctx.now, ctx.client.no_touch) {
        Some(e) => {
            count_lookups(ctx.shared, 1, 0);
            ctx.out.bulk(e.as_str().ok_or(CmdError::WrongType)?);
        }
        None => {
            count_lookups(ctx.shared, 0, 1);
            ctx.out.null();
            return Ok(());
        }
    }
    let old = shard.remove(h, key, ctx.now);
    drop(shard);
    drop(old);
    Ok(())
}

fn getex(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let o = parse_ext_opts(args, 2, false)?;
    let key = &args[1];
    let now = ctx.now;
    let db = db(ctx);
    let h = db.hash(key);
    let mut shard = db.lock(h);
    // As in Redis, a missing key answers null before the expiry value is validated,
    // and a wrong type is reported before it too.
    let Some(e) = lookup(&mut shard, h, key, now, ctx.client.no_touch) else {
        count_lookups(ctx.shared, 0, 1);
        ctx.out.null();
        return Ok(());
    };
    count_lookups(ctx.shared, 1, 0);
    let value = e.as_str().ok_or(CmdError::WrongType)?;
    let at = match o.expire {
        Some((unit, raw)) => Some(expire_at(unit, raw, now, "getex")?),
        None => None,
    };
    ctx.out.bulk(value);
    let replacement = match at {
        // An absolute time already past deletes the key.
        Some(t) if t <= now => None,
        Some(t) => Some(e.with_expire(Some(t))),
        None if o.persist && e.expire_at().is_some() => Some(e.with_expire(None)),
        None => return Ok(()),
    };
    let old = match replacement {
        Some(new) => shard.insert(h, new, now),
        None => shard.remove(h, key, now),
    };
    drop(shard);
    drop(old);
    Ok(())
}

// ---------------------------------------------------------------------------------
// Multi-key: MGET, MSET, MSETNX
// ---------------------------------------------------------------------------------

fn mget(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let db = db(ctx);
    let hashes: Vec<u64> = args.iter().skip(1).map(|k| db.hash(k)).collect();
    let (now, no_touch) = (ctx.now, ctx.client.no_touch);
    let (mut hits, mut misses) = (0, 0);
    let mut locked = db.lock_many(hashes.iter().copied());
    ctx.out.array(hashes.len());
    for (key, &h) in args.iter().skip(1).zip(&hashes) {
        match lookup(locked.shard(h), h, key, now, no_touch) {
            Some(e) => {
                hits += 1;
                // A key of another type reads as null, not as an error.
                match e.as_str() {
                    Some(v) => ctx.out.bulk(v),
                    None => ctx.out.null(),
                }
            }
            None => {
                misses += 1;
                ctx.out.null();
            }
        }
    }
    drop(locked);
    count_lookups(ctx.shared, hits, misses);
    Ok(())
}

/// MSET and MSETNX. All shards of all keys stay locked from the existence check to the
/// last insert, so the command is atomic for every other client.
fn mset_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, nx: bool, cmd: &str) -> Result<bool, CmdError> {
    if args.len() % 2 == 0 {
        return Err(CmdError::WrongArity(cmd.to_string()));
    }
    let db = db(ctx);
    let now = ctx.now;
    let mut work: Vec<(u64, Entry)> = Vec::with_capacity(args.len() / 2);
    let mut it = args.iter().skip(1);
    while let (Some(key), Some(value)) = (it.next(), it.next()) {
        work.push((db.hash(key), Entry::new_str(key, value, None)));
    }
    let mut locked = db.lock_many(work.iter().map(|(h, _)| *h));
    if nx
        && work
            .iter()
            .any(|(h, e)| locked.shard(*h).contains(*h, e.key(), now))
    {
        return Ok(false);
    }
    let mut replaced = Vec::with_capacity(work.len());
    for (h, entry) in work {
        replaced.push(locked.shard(h).insert(h, entry, now));
    }
    drop(locked);
    drop(replaced);
    Ok(true)
}

fn mset(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    mset_generic(ctx, args, false, "mset")?;
    ctx.out.ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let written = mset_generic(ctx, args, true, "msetnx")?;
    ctx.out.int(i64::from(written));
    Ok(())
}

// ---------------------------------------------------------------------------------
// APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE
// ---------------------------------------------------------------------------------

fn append(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (key, value) = (&args[1], &args[2]);
    let db = db(ctx);
    let h = db.hash(key);
    let mut shard = db.lock(h);
    let entry = match lookup(&mut shard, h, key, ctx.now, ctx.client.no_touch) {
        // A new key needs no length check: the argument itself is within the limit.
        None => Entry::new_str(key, value, None),
        Some(e) => {
            let old = e.as_str().ok_or(CmdError::WrongType)?;
            check_string_length(ctx.shared, old.len() as u64, value.len() as u64)?;
            Entry::new_str_parts(key, &[old, value], e.expire_at())
        }
    };
    let len = entry.as_str().map_or(0, <[u8]>::len);
    let old = shard.insert(h, entry, ctx.now);
    drop(shard);
    drop(old);
    ctx.out.int(len as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let key = &args[1];
    let db = db(ctx);
    let h = db.hash(key);
    let mut shard = db.lock(h);
    let len = match lookup(&mut shard, h, key, ctx.now, ctx.client.no_touch) {
        Some(e) => {
            count_lookups(ctx.shared, 1, 0);
            e.as_str().ok_or(CmdError::WrongType)?.len()
        }
        None => {
            count_lookups(ctx.shared, 0, 1);
            0
        }
    };
    drop(shard);
    ctx.out.int(len as i64);
    Ok(())
}

/// The bytes GETRANGE returns for `start..=end` (Redis 7.0's index rules: negative
/// indexes count from the end, both clamp into the string, an empty result when the
/// range is empty or both are negative and reversed).
fn byte_range(s: &[u8], start: i64, end: i64) -> &[u8] {
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    let len = s.len() as i64;
    let (mut start, mut end) = (start, end);
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return &[];
    }
    s.get(start as usize..=end as usize).unwrap_or(&[])
}

/// GETRANGE and SUBSTR.
fn getrange(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    let key = &args[1];
    let db = db(ctx);
    let h = db.hash(key);
    let mut shard = db.lock(h);
    match lookup(&mut shard, h, key, ctx.now, ctx.client.no_touch) {
        Some(e) => {
            count_lookups(ctx.shared, 1, 0);
            let s = e.as_str().ok_or(CmdError::WrongType)?;
            ctx.out.bulk(byte_range(s, start, end));
        }
        None => {
            // A missing key is an empty string here, not null.
            count_lookups(ctx.shared, 0, 1);
            ctx.out.bulk(b"");
        }
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let offset = int_arg(&args[2])?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let offset = offset as u64;
    let (key, value) = (&args[1], &args[3]);
    let db = db(ctx);
    let h = db.hash(key);
    let mut shard = db.lock(h);
    let (old, ttl): (&[u8], Option<i64>) =
        match lookup(&mut shard, h, key, ctx.now, ctx.client.no_touch) {
            None => {
                // Setting nothing on a missing key creates nothing.
                if value.is_empty() {
                    ctx.out.int(0);
                    return Ok(());
                }
                (&[], None)
            }
            Some(e) => {
                let old = e.as_str().ok_or(CmdError::WrongType)?;
                if value.is_empty() {
                    ctx.out.int(old.len() as i64);
                    return Ok(());
                }
                (old, e.expire_at())
            }
        };
    check_string_length(ctx.shared, offset, value.len() as u64)?;
    // Within proto-max-bulk-len, so it fits usize.
    let offset = offset as usize;
    let end = offset + value.len();
    let entry = if offset >= old.len() {
        let pad = vec![0u8; offset - old.len()];
        Entry::new_str_parts(key, &[old, &pad, value], ttl)
    } else {
        let head = old.get(..offset).unwrap_or(old);
        let tail = old.get(end..).unwrap_or(&[]);
        Entry::new_str_parts(key, &[head, value, tail], ttl)
    };
    let len = entry.as_str().map_or(0, <[u8]>::len);
    let replaced = shard.insert(h, entry, ctx.now);
    drop(shard);
    drop(replaced);
    ctx.out.int(len as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------
// INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT
// ---------------------------------------------------------------------------------

/// Adds `delta` to the integer stored at the key (0 when missing), keeping its TTL.
fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], delta: i64) -> CmdResult {
    let db = db(ctx);
    let h = db.hash(key);
    let mut shard = db.lock(h);
    let (current, ttl) = match lookup(&mut shard, h, key, ctx.now, ctx.client.no_touch) {
        None => (0, None),
        Some(e) => {
            let s = e.as_str().ok_or(CmdError::WrongType)?;
            (parse_i64(s).ok_or(CmdError::NotInteger)?, e.expire_at())
        }
    };
    let new = current.checked_add(delta).ok_or(CmdError::Overflow)?;
    let mut digits = itoa::Buffer::new();
    let entry = Entry::new_str(key, digits.format(new).as_bytes(), ttl);
    let old = shard.insert(h, entry, ctx.now);
    drop(shard);
    drop(old);
    ctx.out.int(new);
    Ok(())
}

fn incr(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    incr_by(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    incr_by(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let delta = int_arg(&args[2])?;
    incr_by(ctx, &args[1], delta)
}

fn decrby(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let delta = int_arg(&args[2])?;
    // Negating i64::MIN would overflow before the addition is even tried.
    let negated = delta
        .checked_neg()
        .ok_or(CmdError::msg("ERR decrement would overflow"))?;
    incr_by(ctx, &args[1], negated)
}

fn incrbyfloat(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let key = &args[1];
    // Parsed before locking (it can be long); its error is reported after the key's
    // own checks, in Redis's order.
    let incr = long_double::parse(&args[2]);
    let db = db(ctx);
    let h = db.hash(key);
    let mut shard = db.lock(h);
    let (current, ttl) = match lookup(&mut shard, h, key, ctx.now, ctx.client.no_touch) {
        None => (long_double::Value::Finite(long_double::Ext::ZERO), None),
        Some(e) => {
            let s = e.as_str().ok_or(CmdError::WrongType)?;
            (
                long_double::parse(s).ok_or(CmdError::NotFloat)?,
                e.expire_at(),
            )
        }
    };
    let incr = incr.ok_or(CmdError::NotFloat)?;
    let sum = long_double::add(current, incr)
        .ok_or(CmdError::msg("ERR increment would produce NaN or Infinity"))?;
    let text = long_double::format_human(sum);
    let old = shard.insert(h, Entry::new_str(key, text.as_bytes(), ttl), ctx.now);
    drop(shard);
    drop(old);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------------

fn lcs(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let db = db(ctx);
    let (ka, kb) = (&args[1], &args[2]);
    let (ha, hb) = (db.hash(ka), db.hash(kb));
    let (now, no_touch) = (ctx.now, ctx.client.no_touch);
    // Take (cheap, reference-counted) copies of both entries and release the locks
    // before the O(N*M) work.
    let (ea, eb) = {
        let mut locked = db.lock_many([ha, hb]);
        let ea = lookup(locked.shard(ha), ha, ka, now, no_touch).cloned();
        let eb = lookup(locked.shard(hb), hb, kb, now, no_touch).cloned();
        (ea, eb)
    };
    let hits = u64::from(ea.is_some()) + u64::from(eb.is_some());
    count_lookups(ctx.shared, hits, 2 - hits);
    let (Some(a), Some(b)) = (string_value(&ea), string_value(&eb)) else {
        return Err(CmdError::msg(
            "ERR The specified keys must contain string values",
        ));
    };

    let (mut want_idx, mut want_len, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut j = 3;
    while let Some(opt) = args.get(j) {
        if opt.eq_ignore_ascii_case(b"idx") {
            want_idx = true;
        } else if opt.eq_ignore_ascii_case(b"len") {
            want_len = true;
        } else if opt.eq_ignore_ascii_case(b"withmatchlen") {
            with_match_len = true;
        } else if let (true, Some(v)) = (opt.eq_ignore_ascii_case(b"minmatchlen"), args.get(j + 1))
        {
            min_match_len = int_arg(v)?.max(0);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if want_idx && want_len {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(CmdError::msg("ERR String too long for LCS"));
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    let bytes = cells.saturating_mul(4);
    if bytes > ctx.shared.live.proto_max_bulk_len.load(Ordering::Relaxed) {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let Some(table) = LcsTable::build(a, b) else {
        return Err(CmdError::msg(
            "ERR Insufficient memory, failed allocating transient memory for LCS",
        ));
    };
    let total = table.at(a.len(), b.len());
    if want_len && !want_idx {
        ctx.out.int(i64::from(total));
        return Ok(());
    }

    // Walk back from the end, rebuilding the common subsequence and (for IDX) the
    // ranges of contiguous matches, exactly in Redis's order and with its rules.
    let mut result = vec![0u8; total as usize];
    let mut remaining = total as usize;
    let mut ranges: Vec<[u32; 5]> = Vec::new();
    let (alen, mut i, mut jb) = (a.len() as u32, a.len() as u32, b.len() as u32);
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (alen, 0u32, 0u32, 0u32);
    while i > 0 && jb > 0 {
        let mut emit = false;
        let (ca, cb) = (a[i as usize - 1], b[jb as usize - 1]);
        if ca == cb {
            if let Some(slot) = remaining.checked_sub(1).and_then(|r| result.get_mut(r)) {
                *slot = ca;
            }
            if a_start == alen {
                a_start = i - 1;
                a_end = i - 1;
                b_start = jb - 1;
                b_end = jb - 1;
            } else if a_start == i && b_start == jb {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            remaining = remaining.saturating_sub(1);
            i -= 1;
            jb -= 1;
        } else {
            if table.at(i as usize - 1, jb as usize) > table.at(i as usize, jb as usize - 1) {
                i -= 1;
            } else {
                jb -= 1;
            }
            if a_start != alen {
                emit = true;
            }
        }
        if emit {
            let match_len = a_end.wrapping_sub(a_start).wrapping_add(1);
            if min_match_len == 0 || i64::from(match_len) >= min_match_len {
                ranges.push([a_start, a_end, b_start, b_end, match_len]);
            }
            a_start = alen;
        }
    }
    if !want_idx {
        ctx.out.bulk(&result);
        return Ok(());
    }
    ctx.out.map(2);
    ctx.out.bulk(b"matches");
    ctx.out.array(ranges.len());
    for [a0, a1, b0, b1, len] in ranges {
        ctx.out.array(if with_match_len { 3 } else { 2 });
        ctx.out.array(2);
        ctx.out.int(i64::from(a0));
        ctx.out.int(i64::from(a1));
        ctx.out.array(2);
        ctx.out.int(i64::from(b0));
        ctx.out.int(i64::from(b1));
        if with_match_len {
            ctx.out.int(i64::from(len));
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.int(i64::from(total));
    Ok(())
}

/// LCS's view of a key: a missing key is an empty string, another type is `None`.
fn string_value(e: &Option<Entry>) -> Option<&[u8]> {
    match e {
        None => Some(&[]),
        Some(e) => e.as_str(),
    }
}

/// The dynamic-programming table of LCS lengths: `at(i, j)` is the LCS length of
/// `a[..i]` and `b[..j]`.
struct LcsTable {
    cells: Vec<u32>,
    width: usize,
}

impl LcsTable {
    /// Fills the table; `None` when it cannot be allocated.
    fn build(a: &[u8], b: &[u8]) -> Option<LcsTable> {
        let width = b.len() + 1;
        let n = (a.len() + 1).checked_mul(width)?;
        let mut cells = Vec::new();
        cells.try_reserve_exact(n).ok()?;
        cells.resize(n, 0u32);
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let v = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * width + j - 1] + 1
                } else {
                    cells[(i - 1) * width + j].max(cells[i * width + j - 1])
                };
                cells[i * width + j] = v;
            }
        }
        Some(LcsTable { cells, width })
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells.get(i * self.width + j).copied().unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------
// INCRBYFLOAT arithmetic
// ---------------------------------------------------------------------------------

/// The arithmetic of Redis's INCRBYFLOAT, reproduced bit for bit.
///
/// Redis parses both operands with `strtold`, adds them as C `long double` and stores
/// `printf("%.17Lf")` with trailing zeros removed. On x86-64 (the reference platform)
/// `long double` is the x87 80-bit format: a 64-bit significand. Using `f64` instead
/// gives visibly different strings for everyday inputs (`0.1` + `0.2` is `0.3` in
/// Redis but `0.30000000000000004` in `f64`; `1000` + `0.1` is
/// `1000.09999999999999998` in Redis), so this module emulates the 80-bit format in
/// software: correctly rounded parsing (decimal and hexadecimal, like glibc's
/// `strtold`), correctly rounded addition, and exact `%.17Lf` formatting.
mod long_double {
    use std::cmp::Ordering;

    /// Exponent of the least significant bit of the smallest subnormal (2^-16445).
    const MIN_LSB_EXP: i64 = -16445;
    /// Values at or above 2^16384 overflow to infinity.
    const MAX_BITS: i64 = 16384;
    /// Redis's `MAX_LONG_DOUBLE_CHARS`: longer inputs are not floats.
    const MAX_CHARS: usize = 5 * 1024;

    /// A finite 80-bit extended value: `(-1)^neg * m * 2^e`; zero when `m == 0`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Ext {
        neg: bool,
        m: u64,
        e: i64,
    }

    impl Ext {
        /// Positive zero.
        pub const ZERO: Ext = Ext {
            neg: false,
            m: 0,
            e: 0,
        };
    }

    /// A parsed operand: finite or infinite (`inf` parses, as with `strtold`, but any
    /// sum with it is rejected, as Redis rejects an infinite result).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Value {
        Finite(Ext),
        Inf,
    }

    impl From<Ext> for Value {
        fn from(x: Ext) -> Value {
            Value::Finite(x)
        }
    }

    /// Unsigned big integer, little-endian 64-bit limbs, no trailing zero limbs.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    struct Big(Vec<u64>);

    impl Big {
        fn from_u64(v: u64) -> Big {
            let mut b = Big(vec![v]);
            b.trim();
            b
        }

        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }

        fn is_zero(&self) -> bool {
            self.0.is_empty()
        }

        fn bits(&self) -> i64 {
            match self.0.last() {
                None => 0,
                Some(top) => (self.0.len() as i64) * 64 - i64::from(top.leading_zeros()),
            }
        }

        fn bit(&self, i: i64) -> bool {
            if i < 0 {
                return false;
            }
            let (limb, off) = ((i / 64) as usize, i % 64);
            self.0.get(limb).is_some_and(|l| (l >> off) & 1 == 1)
        }

        /// Whether any bit below position `n` is set.
        fn any_below(&self, n: i64) -> bool {
            if n <= 0 {
                return false;
            }
            let full = (n / 64) as usize;
            if self.0.iter().take(full).any(|&l| l != 0) {
                return true;
            }
            let rem = n % 64;
            rem > 0
                && self
                    .0
                    .get(full)
                    .is_some_and(|l| l & ((1u64 << rem) - 1) != 0)
        }

        /// `self = self * m + a`.
        fn mul_add_small(&mut self, m: u64, a: u64) {
            let mut carry = u128::from(a);
            for limb in self.0.iter_mut() {
                let v = u128::from(*limb) * u128::from(m) + carry;
                *limb = v as u64;
                carry = v >> 64;
            }
            if carry > 0 {
                self.0.push(carry as u64);
            }
            self.trim();
        }

        /// Divides in place by `d`, returning the remainder.
        fn div_small(&mut self, d: u64) -> u64 {
            let mut rem: u128 = 0;
            for limb in self.0.iter_mut().rev() {
                let cur = (rem << 64) | u128::from(*limb);
                *limb = (cur / u128::from(d)) as u64;
                rem = cur % u128::from(d);
            }
            self.trim();
            rem as u64
        }

        fn shl(&self, n: i64) -> Big {
            if self.is_zero() || n <= 0 {
                return if n < 0 { self.shr(-n) } else { self.clone() };
            }
            let (limbs, off) = ((n / 64) as usize, n % 64);
            let mut out = vec![0u64; limbs];
            out.reserve(self.0.len() + 1);
            if off == 0 {
                out.extend_from_slice(&self.0);
            } else {
                let mut carry = 0u64;
                for &l in &self.0 {
                    out.push((l << off) | carry);
                    carry = l >> (64 - off);
                }
                out.push(carry);
            }
            let mut b = Big(out);
            b.trim();
            b
        }

        fn shr(&self, n: i64) -> Big {
            if n <= 0 {
                return self.shl(-n);
            }
            let (limbs, off) = ((n / 64) as usize, n % 64);
            let src = self.0.get(limbs..).unwrap_or(&[]);
            let mut out = Vec::with_capacity(src.len());
            for (k, &l) in src.iter().enumerate() {
                let hi = if off == 0 {
                    0
                } else {
                    src.get(k + 1).map_or(0, |h| h << (64 - off))
                };
                out.push((l >> off) | hi);
            }
            let mut b = Big(out);
            b.trim();
            b
        }

        /// The low 64 bits.
        fn low_u64(&self) -> u64 {
            self.0.first().copied().unwrap_or(0)
        }

        fn cmp_big(&self, o: &Big) -> Ordering {
            self.0
                .len()
                .cmp(&o.0.len())
                .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
        }

        fn add(&self, o: &Big) -> Big {
            let (long, short) = if self.0.len() >= o.0.len() {
                (self, o)
            } else {
                (o, self)
            };
            let mut out = Vec::with_capacity(long.0.len() + 1);
            let mut carry = 0u64;
            for (k, &l) in long.0.iter().enumerate() {
                let (s1, c1) = l.overflowing_add(short.0.get(k).copied().unwrap_or(0));
                let (s2, c2) = s1.overflowing_add(carry);
                out.push(s2);
                carry = u64::from(c1) + u64::from(c2);
            }
            if carry > 0 {
                out.push(carry);
            }
            Big(out)
        }

        /// `self - o`, for `self >= o`.
        fn sub(&self, o: &Big) -> Big {
            let mut out = Vec::with_capacity(self.0.len());
            let mut borrow = 0u64;
            for (k, &l) in self.0.iter().enumerate() {
                let (d1, b1) = l.overflowing_sub(o.0.get(k).copied().unwrap_or(0));
                let (d2, b2) = d1.overflowing_sub(borrow);
                out.push(d2);
                borrow = u64::from(b1) + u64::from(b2);
            }
            let mut b = Big(out);
            b.trim();
            b
        }

        /// `(self / d, self % d != 0)` for `d > 0`, by binary long division starting
        /// from the top `bits(d) - 1` bits (callers keep the quotient short).
        fn div_sticky(&self, d: &Big) -> (Big, bool) {
            let (n, nd) = (self.bits(), d.bits());
            if n < nd {
                return (Big::default(), !self.is_zero());
            }
            let qbits = n - nd + 1;
            let mut rem = self.shr(qbits);
            rem.0.resize(d.0.len() + 1, 0);
            let mut q = vec![0u64; (qbits as usize).div_ceil(64)];
            for i in (0..qbits).rev() {
                // rem = rem * 2 + bit i of self (rem < d, so it fits one more limb).
                let mut carry = u64::from(self.bit(i));
                for l in rem.0.iter_mut() {
                    let next = *l >> 63;
                    *l = (*l << 1) | carry;
                    carry = next;
                }
                if !rem.less_than(d) {
                    rem.sub_in_place(d);
                    if let Some(l) = q.get_mut((i / 64) as usize) {
                        *l |= 1 << (i % 64);
                    }
                }
            }
            let mut q = Big(q);
            q.trim();
            (q, rem.0.iter().any(|&l| l != 0))
        }

        /// `self < d`, where `self` may carry zero high limbs.
        fn less_than(&self, d: &Big) -> bool {
            let width = self.0.len().max(d.0.len());
            for k in (0..width).rev() {
                let (x, y) = (
                    self.0.get(k).copied().unwrap_or(0),
                    d.0.get(k).copied().unwrap_or(0),
                );
                if x != y {
                    return x < y;
                }
            }
            false
        }

        /// `self -= d` for `self >= d`, keeping the limb count.
        fn sub_in_place(&mut self, d: &Big) {
            let mut borrow = 0u64;
            for (k, l) in self.0.iter_mut().enumerate() {
                let (d1, b1) = l.overflowing_sub(d.0.get(k).copied().unwrap_or(0));
                let (d2, b2) = d1.overflowing_sub(borrow);
                *l = d2;
                borrow = u64::from(b1) + u64::from(b2);
            }
        }

        fn pow10(n: i64) -> Big {
            let mut b = Big::from_u64(1);
            let mut left = n;
            while left > 0 {
                let step = left.min(19);
                b.mul_add_small(10u64.pow(step as u32), 0);
                left -= step;
            }
            b
        }

        /// Decimal digits (no sign, no leading zeros; "0" for zero).
        fn to_decimal(&self) -> String {
            if self.is_zero() {
                return "0".to_string();
            }
            let mut n = self.clone();
            let mut chunks = Vec::new();
            while !n.is_zero() {
                chunks.push(n.div_small(10_000_000_000_000_000_000));
            }
            let mut s = String::with_capacity(chunks.len() * 19);
            for (k, c) in chunks.iter().rev().enumerate() {
                if k == 0 {
                    s.push_str(&c.to_string());
                } else {
                    s.push_str(&format!("{c:019}"));
                }
            }
            s
        }
    }

    /// Rounds `n * 2^k` (plus a sticky bit standing for a nonzero remainder below it)
    /// to the 80-bit format, to nearest with ties to even, subnormals included.
    /// `None` on overflow; a zero significand on underflow.
    fn round(n: &Big, k: i64, sticky: bool) -> Option<(u64, i64)> {
        if n.is_zero() {
            return Some((0, 0));
        }
        let lsb = (n.bits() + k - 64).max(MIN_LSB_EXP);
        let shift = lsb - k;
        let (mut m, half, rest) = if shift <= 0 {
            (n.shl(-shift).low_u64(), false, sticky)
        } else {
            (
                n.shr(shift).low_u64(),
                n.bit(shift - 1),
                sticky || n.any_below(shift - 1),
            )
        };
        let mut e = lsb;
        if half && (rest || m & 1 == 1) {
            m = match m.checked_add(1) {
                Some(v) => v,
                None => {
                    e += 1;
                    1 << 63
                }
            };
        }
        if m != 0 && e + 64 - i64::from(m.leading_zeros()) > MAX_BITS {
            return None;
        }
        Some((m, e))
    }

    /// Parses as glibc `strtold` with Redis's `string2ld` checks: the whole input
    /// consumed, no leading space, not NaN, and not out of range (overflow, or a
    /// nonzero value that underflows to zero). `None` means "not a valid float".
    pub fn parse(s: &[u8]) -> Option<Value> {
        parse_value(s)
    }

    fn parse_value(s: &[u8]) -> Option<Value> {
        if s.is_empty() || s.len() >= MAX_CHARS {
            return None;
        }
        let (neg, body) = match s.first() {
            Some(b'-') => (true, s.get(1..)?),
            Some(b'+') => (false, s.get(1..)?),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(Value::Inf);
        }
        let hex = body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x';
        let parsed = if hex {
            parse_hex(body.get(2..)?)?
        } else {
            parse_decimal(body)?
        };
        let (n, k, sticky) = match parsed {
            Magnitude::Zero => return Some(Ext { neg, m: 0, e: 0 }.into()),
            Magnitude::Exact { n, k, sticky } => (n, k, sticky),
        };
        let (m, e) = round(&n, k, sticky)?;
        if m == 0 {
            return None; // a nonzero input that underflows to zero: ERANGE
        }
        Some(Ext { neg, m, e }.into())
    }

    enum Magnitude {
        Zero,
        /// `n * 2^k`, plus a nonzero remainder below it when `sticky`.
        Exact {
            n: Big,
            k: i64,
            sticky: bool,
        },
    }

    /// Reads `[eE][+-]digits` (or `[pP]...` for hex) into a saturated exponent.
    fn parse_exponent(s: &[u8]) -> Option<i64> {
        let (neg, digits) = match s.first() {
            Some(b'-') => (true, s.get(1..)?),
            Some(b'+') => (false, s.get(1..)?),
            _ => (false, s),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut v: i64 = 0;
        for &d in digits {
            v = (v * 10 + i64::from(d - b'0')).min(1_000_000_000);
        }
        Some(if neg { -v } else { v })
    }

    /// Splits `digits[.digits][<marker>exponent]`, checking the characters.
    fn split_number(
        s: &[u8],
        is_digit: fn(&u8) -> bool,
        marker: u8,
    ) -> Option<(&[u8], &[u8], i64)> {
        let mantissa_end = s
            .iter()
            .position(|&c| (c | 0x20) == marker)
            .unwrap_or(s.len());
        let (mantissa, exp) = s.split_at(mantissa_end);
        let exp = match exp.split_first() {
            None => 0,
            Some((_, rest)) => parse_exponent(rest)?,
        };
        let (int, frac) = match mantissa.iter().position(|&c| c == b'.') {
            Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
            None => (mantissa, &[][..]),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.iter().all(is_digit) || !frac.iter().all(is_digit) {
            return None;
        }
        Some((int, frac, exp))
    }

    fn parse_decimal(s: &[u8]) -> Option<Magnitude> {
        let (int, frac, exp) = split_number(s, u8::is_ascii_digit, b'e')?;
        let all = int.iter().chain(frac.iter()).copied();
        let digits: Vec<u8> = all.skip_while(|&c| c == b'0').collect();
        if digits.is_empty() {
            return Some(Magnitude::Zero);
        }
        // value = D * 10^e10, D = the significant digits.
        let e10 = exp - frac.len() as i64;
        let nd = digits.len() as i64;
        if nd - 1 + e10 > 4933 {
            return None; // >= 1e4934: overflow
        }
        if nd + e10 < -4952 {
            return None; // < 1e-4952: underflows to zero
        }
        let mut d = Big::default();
        for chunk in digits.chunks(19) {
            let mut v = 0u64;
            for &c in chunk {
                v = v * 10 + u64::from(c - b'0');
            }
            d.mul_add_small(10u64.pow(chunk.len() as u32), v);
        }
        if e10 >= 0 {
            let mut n = d;
            let mut left = e10;
            while left > 0 {
                let step = left.min(19);
                n.mul_add_small(10u64.pow(step as u32), 0);
                left -= step;
            }
            return Some(Magnitude::Exact {
                n,
                k: 0,
                sticky: false,
            });
        }
        let den = Big::pow10(-e10);
        // Scale the dividend so that the quotient has 67 or 68 bits: enough to round
        // to 64 bits. A long dividend is cut instead (floor((D >> s) / den) is
        // floor(D / (den << s)); the cut bits only matter as a sticky bit), which
        // keeps the division short for inputs of thousands of digits.
        let shift = 67 + den.bits() - d.bits();
        let (q, sticky) = if shift >= 0 {
            d.shl(shift).div_sticky(&den)
        } else {
            let (q, sticky) = d.shr(-shift).div_sticky(&den);
            (q, sticky || d.any_below(-shift))
        };
        Some(Magnitude::Exact {
            n: q,
            k: -shift,
            sticky,
        })
    }

    fn parse_hex(s: &[u8]) -> Option<Magnitude> {
        let (int, frac, exp) = split_number(s, u8::is_ascii_hexdigit, b'p')?;
        let mut n = Big::default();
        for &c in int.iter().chain(frac.iter()) {
            let v = (c as char).to_digit(16)?;
            n.mul_add_small(16, u64::from(v));
        }
        if n.is_zero() {
            return Some(Magnitude::Zero);
        }
        let k = exp - 4 * frac.len() as i64;
        if n.bits() + k > MAX_BITS + 1 {
            return None;
        }
        if n.bits() + k < MIN_LSB_EXP - 1 {
            return None;
        }
        Some(Magnitude::Exact {
            n,
            k,
            sticky: false,
        })
    }

    /// `a + b`, correctly rounded; `None` when the result is infinite or NaN.
    pub fn add(a: Value, b: Value) -> Option<Ext> {
        let (Value::Finite(a), Value::Finite(b)) = (a, b) else {
            return None;
        };
        if a.m == 0 && b.m == 0 {
            return Some(Ext {
                neg: a.neg && b.neg,
                m: 0,
                e: 0,
            });
        }
        if a.m == 0 {
            return Some(b);
        }
        if b.m == 0 {
            return Some(a);
        }
        let e = a.e.min(b.e);
        let na = Big::from_u64(a.m).shl(a.e - e);
        let nb = Big::from_u64(b.m).shl(b.e - e);
        let (n, neg) = if a.neg == b.neg {
            (na.add(&nb), a.neg)
        } else {
            match na.cmp_big(&nb) {
                Ordering::Greater => (na.sub(&nb), a.neg),
                Ordering::Less => (nb.sub(&na), b.neg),
                Ordering::Equal => return Some(Ext::ZERO),
            }
        };
        let (m, e) = round(&n, e, false)?;
        Some(Ext { neg, m, e })
    }

    /// `printf("%.17Lf")` with trailing zeros (and a trailing dot) removed, and `-0`
    /// written `0`: Redis's `ld2string(..., LD_STR_HUMAN)`.
    pub fn format_human(x: Ext) -> String {
        const SCALE: u64 = 100_000_000_000_000_000; // 10^17
        let (int, frac): (Big, u64) = if x.e >= 0 {
            (Big::from_u64(x.m).shl(x.e), 0)
        } else {
            let s = x.e.unsigned_abs();
            let (int, f) = if s < 64 {
                (x.m >> s, x.m & ((1u64 << s) - 1))
            } else {
                (0, x.m)
            };
            // f / 2^s, scaled by 10^17 and rounded to nearest, ties to even.
            let num = u128::from(f) * u128::from(SCALE);
            let (mut q, half, rest) = if s >= 128 {
                (0u128, false, num != 0)
            } else {
                (
                    num >> s,
                    (num >> (s - 1)) & 1 == 1,
                    num & ((1u128 << (s - 1)) - 1) != 0,
                )
            };
            if half && (rest || q & 1 == 1) {
                q += 1;
            }
            let mut int = int;
            if q == u128::from(SCALE) {
                q = 0;
                int += 1;
            }
            (Big::from_u64(int), q as u64)
        };
        let mut out = String::new();
        if x.neg && (!int.is_zero() || frac != 0) {
            out.push('-');
        }
        out.push_str(&int.to_decimal());
        if frac != 0 {
            let digits = format!("{frac:017}");
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn incr(a: &str, b: &str) -> Option<String> {
            let x = parse(a.as_bytes())?;
            let y = parse(b.as_bytes())?;
            add(x, y).map(format_human)
        }

        fn sum(a: &str, b: &str) -> String {
            incr(a, b).expect("valid sum")
        }

        #[test]
        fn matches_redis_on_x86_64() {
            // Every expected value below was produced by redis-server 7.0 on x86-64.
            assert_eq!(sum("10.5", "0.1"), "10.6");
            assert_eq!(sum("5.0e3", "2.0e2"), "5200");
            assert_eq!(sum("0.1", "0.2"), "0.3");
            assert_eq!(sum("0.3", "1e-20"), "0.3");
            assert_eq!(sum("1", "1e-20"), "1");
            assert_eq!(sum("1", "-1"), "0");
            assert_eq!(sum("1000", "0.1"), "1000.09999999999999998");
            assert_eq!(sum("100", "0.1"), "100.1");
            assert_eq!(sum("12345.678", "0.001"), "12345.67900000000000027");
            assert_eq!(sum("0", "10000000000.1"), "10000000000.09999999962747097");
            assert_eq!(sum("17179869184", "1.5"), "17179869185.5");
            assert_eq!(sum("0", "0x10"), "16");
            assert_eq!(sum("0", "-0.0"), "0");
            assert_eq!(sum("0", "1.5e-7"), "0.00000015");
            assert_eq!(sum("0", "+5"), "5");
            assert_eq!(sum("0", ".5"), "0.5");
            assert_eq!(sum("0", "5."), "5");
            assert_eq!(sum("0", "1e-400"), "0");
            assert_eq!(sum("0", "0.30000000000000004"), "0.30000000000000004");
            assert_eq!(
                sum("0", "1e300"),
                "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"
            );
            assert_eq!(
                sum("0", "1e400"),
                "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"
            );
        }

        #[test]
        fn rejects_what_redis_rejects() {
            for bad in [
                "",
                " 1",
                "1 ",
                "nan",
                "-nan",
                "abc",
                "1e",
                "1e+",
                ".",
                "-",
                "0x",
                "0xp1",
                "1x",
                "1e5000",
                "-1e5000",
                "1e-5000",
                "0x1p99999",
                "1..2",
                "1e1.5",
                "--1",
            ] {
                assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
            }
            let long = "1".repeat(MAX_CHARS);
            assert_eq!(parse(long.as_bytes()), None);
            // Infinity parses but cannot be added to.
            assert!(incr("0", "inf").is_none());
            assert!(incr("-inf", "1").is_none());
            // Overflowing sums are rejected.
            assert!(incr("1e4932", "1e4932").is_none());
        }

        #[test]
        fn edge_values() {
            assert_eq!(sum("0", "0e99999"), "0");
            assert_eq!(sum("-0", "-0"), "0");
            assert_eq!(sum("0", "-1e-20"), "0");
            assert_eq!(sum("0", "0x1.8p1"), "3");
            assert_eq!(sum("0", "0X.8P+2"), "2");
            assert_eq!(sum("1.5", "-1.5"), "0");
            // The ends of the 80-bit range, as glibc's strtold sees them.
            assert!(parse(b"1.18973149535723176502e+4932").is_some());
            assert_eq!(parse(b"1.18973149535723176508e+4932"), None);
            assert_eq!(parse(b"1.82259976594123730126e-4951"), None);
            assert_eq!(parse(b"75488735e-4995"), None);
            assert_eq!(sum("2e-4951", "0"), "0");
            assert_eq!(
                sum("3.64519953188247460253e-4951", "1.023974125783682076e+00"),
                "1.02397412578368208"
            );
            // A long input is cut to what rounding needs, with the rest as a sticky bit.
            let long = format!("{}e-2000", "7".repeat(4000));
            let out = sum(&long, "0");
            assert_eq!(out.len(), 2000);
            assert!(out.starts_with("777777777777777777790849748910619240313687940814352425517103"));
            let mid = format!("{}e-50", "7".repeat(60));
            assert_eq!(sum(&mid, "0"), "7777777777.77777777798473835");
            // Ties at the 17th decimal round to even: 2^-18 = 0.000003814697265625.
            assert_eq!(sum("0", "0x1p-18"), "0.00000381469726562");
            assert_eq!(sum("0", "0x3p-18"), "0.00001144409179688");
        }
    }
}

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, READONLY | FAST, (1, 1, 1), get)
        .doc("string", "Returns the string value of a key.", "1.0.0")
        .acl(&["read", "string", "fast"]),
    Command::new("set", -3, WRITE | DENYOOM, (1, 1, 1), set)
        .doc(
            "string",
            "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            "1.0.0",
        )
        .acl(&["write", "string", "slow"]),
    Command::new("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), setnx)
        .doc(
            "string",
            "Set the string value of a key only when the key doesn't exist.",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"]),
    Command::new("setex", 4, WRITE | DENYOOM, (1, 1, 1), setex)
        .doc(
            "string",
            "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
            "2.0.0",
        )
        .acl(&["write", "string", "slow"]),
    Command::new("psetex", 4, WRITE | DENYOOM, (1, 1, 1), psetex)
        .doc(
            "string",
            "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
            "2.6.0",
        )
        .acl(&["write", "string", "slow"]),
    Command::new("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), getset)
        .doc(
            "string",
            "Returns the previous string value of a key after setting it to a new value.",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"]),
    Command::new("getdel", 2, WRITE | FAST, (1, 1, 1), getdel)
        .doc(
            "string",
            "Returns the string value of a key after deleting the key.",
            "6.2.0",
        )
        .acl(&["write", "string", "fast"]),
    Command::new("getex", -2, WRITE | FAST, (1, 1, 1), getex)
        .doc(
            "string",
            "Returns the string value of a key after setting its expiration time.",
            "6.2.0",
        )
        .acl(&["write", "string", "fast"]),
    Command::new("mget", -2, READONLY | FAST, (1, -1, 1), mget)
        .doc(
            "string",
            "Atomically returns the string values of one or more keys.",
            "1.0.0",
        )
        .complexity("O(N) where N is the number of keys to retrieve.")
        .acl(&["read", "string", "fast"]),
    Command::new("mset", -3, WRITE | DENYOOM, (1, -1, 2), mset)
        .doc(
            "string",
            "Atomically creates or modifies the string values of one or more keys.",
            "1.0.1",
        )
        .complexity("O(N) where N is the number of keys to set.")
        .acl(&["write", "string", "slow"]),
    Command::new("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), msetnx)
        .doc(
            "string",
            "Atomically modifies the string values of one or more keys only when all keys don't exist.",
            "1.0.1",
        )
        .complexity("O(N) where N is the number of keys to set.")
        .acl(&["write", "string", "slow"]),
    Command::new("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), append)
        .doc(
            "string",
            "Appends a string to the value of a key. Creates the key if it doesn't exist.",
            "2.0.0",
        )
        .complexity("O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.")
        .acl(&["write", "string", "fast"]),
    Command::new("strlen", 2, READONLY | FAST, (1, 1, 1), strlen)
        .doc("string", "Returns the length of a string value.", "2.2.0")
        .acl(&["read", "string", "fast"]),
    Command::new("getrange", 4, READONLY, (1, 1, 1), getrange)
        .doc(
            "string",
            "Returns a substring of the string stored at a key.",
            "2.4.0",
        )
        .complexity("O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.")
        .acl(&["read", "string", "slow"]),
    Command::new("substr", 4, READONLY, (1, 1, 1), getrange)
        .doc("string", "Returns a substring from a string value.", "1.0.0")
        .complexity("O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.")
        .acl(&["read", "string", "slow"]),
    Command::new("setrange", 4, WRITE | DENYOOM, (1, 1, 1), setrange)
        .doc(
            "string",
            "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
            "2.2.0",
        )
        .complexity("O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.")
        .acl(&["write", "string", "slow"]),
    Command::new("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), incr)
        .doc(
            "string",
            "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"]),
    Command::new("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), decr)
        .doc(
            "string",
            "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"]),
    Command::new("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), incrby)
        .doc(
            "string",
            "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"]),
    Command::new("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), decrby)
        .doc(
            "string",
            "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"]),
    Command::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, (1, 1, 1), incrbyfloat)
        .doc(
            "string",
            "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            "2.6.0",
        )
        .acl(&["write", "string", "fast"]),
    Command::new("lcs", -3, READONLY, (1, 2, 1), lcs)
        .doc("string", "Finds the longest common substring.", "7.0.0")
        .complexity("O(N*M) where N and M are the lengths of s1 and s2, respectively")
        .acl(&["read", "string", "slow"]),
];
