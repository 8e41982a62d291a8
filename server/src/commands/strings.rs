//! String commands (Redis's `t_string.c`): GET, SET and its variants (SETNX, SETEX,
//! PSETEX, GETSET, GETDEL, GETEX), MGET, MSET, MSETNX, APPEND, STRLEN, GETRANGE, SUBSTR,
//! SETRANGE, the INCR family, INCRBYFLOAT and LCS.
//!
//! Conventions shared by every handler here:
//! - Arguments are validated in the order Redis validates them, so that the first
//!   error Redis would report is the one we report; whatever can be checked before
//!   taking a lock is (GETEX's expiry, for one, is only looked at once the key is
//!   known to exist, as in Redis).
//! - A key's hash is computed once; the execution context holds its shard for the
//!   whole read-modify-write (`ctx.keys(..)`), so INCR and friends are atomic.
//!   Multi-key commands (MGET, MSET, MSETNX, LCS) declare all their keys at once and
//!   hold all their shards, so no reader ever sees half of an MSET.
//! - Replies are encoded while the lock is held (values are borrowed, never cloned);
//!   an entry replaced by a write is dropped after the lock is released.
//! - Entries are immutable: a write builds a new entry. Commands that modify a value
//!   in place in Redis (APPEND, SETRANGE, INCR...) keep the key's TTL, as Redis does;
//!   commands that replace the value (SET without KEEPTTL, GETSET, MSET) drop it.
//! - Read commands count keyspace hits and misses per key looked up (Redis's
//!   `lookupKeyRead`); writes that look a key up do not (`lookupKeyWrite`).
//! - Keys are reached through the access layer ([`crate::access`]): `ctx.keys(..)`
//!   locks their shards, `read`/`write_lookup` are Redis's `lookupKeyRead`/
//!   `lookupKeyWrite`, and every change goes through the write hook (`set`,
//!   `delete`) with its keyspace-event name.
//! - Changes are counted (the write hook's `dirty` argument) as `t_string.c` counts `server.dirty`:
//!   1 per key a SET-like command, APPEND, SETRANGE or an INCR-like command wrote,
//!   GETDEL deleted or GETEX changed the TTL of; MSET and MSETNX (when it writes) one
//!   per key argument, repeats included. Nothing for a SET NX/XX that did not write,
//!   an empty SETRANGE, GETEX without an option (or PERSIST on a key without a TTL),
//!   or an error.

use std::sync::atomic::Ordering;

use shoal_protocol::Args;
use shoal_storage::Entry;

use shoal_storage::number as long_double;

use crate::access::{Lookup, Want};
use crate::changes::event::{APPEND, DEL, EXPIRE, INCRBY, INCRBYFLOAT, PERSIST, SET, SETRANGE};
use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::error::{
    CmdError, CmdResult, DECREMENT_OVERFLOW, INCREMENT_NAN_OR_INFINITY, LCS_IDX_AND_LEN,
    LCS_NOT_STRINGS, LCS_NO_MEMORY, LCS_OVER_LIMIT, LCS_TOO_LONG, OFFSET_OUT_OF_RANGE,
    STRING_TOO_LONG,
};
use crate::num::{int_arg, parse_i64};
use crate::state::Shared;

/// Redis 7's `checkStringLength`: a string built by APPEND or SETRANGE may not exceed
/// `proto-max-bulk-len` (and the sum must not overflow).
fn check_string_length(max: u64, size: u64, append: u64) -> CmdResult {
    match size.checked_add(append) {
        Some(total) if total <= max => Ok(()),
        _ => Err(CmdError::msg(STRING_TOO_LONG)),
    }
}

/// The configured `proto-max-bulk-len`.
fn proto_max_bulk_len(shared: &Shared) -> u64 {
    shared.live.proto_max_bulk_len.load(Ordering::Relaxed)
}

/// The bytes of a string entry (callers checked the type first).
#[inline]
fn text(e: &Entry) -> &[u8] {
    e.as_str().unwrap_or_default()
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
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    match keys.read_str(0)? {
        Some(v) => out.bulk(v),
        None => out.null(),
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
    // Build the new entry before locking unless it needs the old TTL.
    let prepared = (!spec.keepttl).then(|| Entry::new_str(spec.key, spec.value, spec.expire_at));
    let (mut keys, out) = ctx.keys(&[spec.key]);
    // A plain SET needs nothing from the old entry: replace it in one step.
    let prepared = match prepared {
        Some(entry) if !spec.nx && !spec.xx && !spec.get => {
            let old = keys.set(0, entry, SET, 1);
            if spec.expire_at.is_some() {
                keys.notify(0, EXPIRE);
            }
            drop(keys);
            drop(old);
            return Ok(true);
        }
        other => other,
    };
    // SET ... GET reads the old value as a read command would (hit or miss counted).
    let flags = if spec.get {
        Lookup::READ
    } else {
        Lookup::WRITE
    };
    let (found, old_ttl) = match keys.lookup(0, flags) {
        Some(e) => {
            if spec.get {
                out.bulk(e.as_str().ok_or(CmdError::WrongType)?);
            }
            (true, e.expire_at())
        }
        None => {
            if spec.get {
                out.null();
            }
            (false, None)
        }
    };
    if (spec.nx && found) || (spec.xx && !found) {
        return Ok(false);
    }
    let entry = prepared.unwrap_or_else(|| Entry::new_str(spec.key, spec.value, old_ttl));
    let old = keys.set(0, entry, SET, 1);
    if spec.expire_at.is_some() {
        keys.notify(0, EXPIRE);
    }
    drop(keys);
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
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    match keys.read_str(0)? {
        Some(v) => out.bulk(v),
        None => {
            out.null();
            return Ok(());
        }
    }
    let old = keys.delete(0, DEL, 1);
    drop(keys);
    drop(old);
    Ok(())
}

fn getex(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let o = parse_ext_opts(args, 2, false)?;
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let now = keys.now();
    // As in Redis, a missing key answers null before the expiry value is validated,
    // and a wrong type is reported before it too.
    let Some(e) = keys.read(0, Want::Str)? else {
        out.null();
        return Ok(());
    };
    let at = match o.expire {
        Some((unit, raw)) => Some(expire_at(unit, raw, now, "getex")?),
        None => None,
    };
    out.bulk(text(e));
    let replacement = match at {
        // An absolute time already past deletes the key.
        Some(t) if t <= now => None,
        Some(t) => Some((e.with_expire(Some(t)), EXPIRE)),
        None if o.persist && e.expire_at().is_some() => Some((e.with_expire(None), PERSIST)),
        None => return Ok(()),
    };
    let old = match replacement {
        Some((new, event)) => keys.set(0, new, event, 1),
        None => keys.delete(0, DEL, 1),
    };
    drop(keys);
    drop(old);
    Ok(())
}

// ---------------------------------------------------------------------------------
// Multi-key: MGET, MSET, MSETNX
// ---------------------------------------------------------------------------------

fn mget(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let names: Vec<&[u8]> = args.iter().skip(1).collect();
    let (mut keys, out) = ctx.keys(&names);
    out.array(names.len());
    for i in 0..names.len() {
        // A key of another type reads as null, not as an error.
        match keys.lookup(i, Lookup::READ).and_then(Entry::as_str) {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    }
    Ok(())
}

/// MSET and MSETNX. All shards of all keys stay locked from the existence check to the
/// last insert, so the command is atomic for every other client.
fn mset_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, nx: bool, cmd: &str) -> Result<bool, CmdError> {
    if args.len() % 2 == 0 {
        return Err(CmdError::WrongArity(cmd.to_string()));
    }
    let mut names: Vec<&[u8]> = Vec::with_capacity(args.len() / 2);
    let mut entries: Vec<Entry> = Vec::with_capacity(args.len() / 2);
    let mut it = args.iter().skip(1);
    while let (Some(key), Some(value)) = (it.next(), it.next()) {
        names.push(key);
        entries.push(Entry::new_str(key, value, None));
    }
    let (mut keys, _) = ctx.keys(&names);
    if nx && (0..names.len()).any(|i| keys.lookup(i, Lookup::PROBE).is_some()) {
        return Ok(false);
    }
    let mut replaced = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        // Redis counts every pair, a key named twice included.
        replaced.push(keys.set(i, entry, SET, 1));
    }
    drop(keys);
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
    let max = proto_max_bulk_len(ctx.shared);
    let (mut keys, out) = ctx.keys(&[key]);
    let entry = match keys.write_lookup(0, Want::Str)? {
        // A new key needs no length check: the argument itself is within the limit.
        None => Entry::new_str(key, value, None),
        Some(e) => {
            let old = text(e);
            check_string_length(max, old.len() as u64, value.len() as u64)?;
            Entry::new_str_parts(key, &[old, value], e.expire_at())
        }
    };
    let len = entry.as_str().map_or(0, <[u8]>::len);
    let old = keys.set(0, entry, APPEND, 1);
    drop(keys);
    drop(old);
    out.int(len as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let len = keys.read_str(0)?.map_or(0, <[u8]>::len);
    out.int(len as i64);
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
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    match keys.read_str(0)? {
        Some(v) => out.bulk(byte_range(v, start, end)),
        // A missing key is an empty string here, not null.
        None => out.bulk(b""),
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let offset = int_arg(&args[2])?;
    if offset < 0 {
        return Err(CmdError::msg(OFFSET_OUT_OF_RANGE));
    }
    let offset = offset as u64;
    let (key, value) = (&args[1], &args[3]);
    let max = proto_max_bulk_len(ctx.shared);
    let (mut keys, out) = ctx.keys(&[key]);
    let (old, ttl): (&[u8], Option<i64>) = match keys.write_lookup(0, Want::Str)? {
        None => {
            // Setting nothing on a missing key creates nothing.
            if value.is_empty() {
                out.int(0);
                return Ok(());
            }
            (&[], None)
        }
        Some(e) => {
            let old = text(e);
            if value.is_empty() {
                out.int(old.len() as i64);
                return Ok(());
            }
            (old, e.expire_at())
        }
    };
    check_string_length(max, offset, value.len() as u64)?;
    // Within proto-max-bulk-len, so it fits usize.
    let offset = offset as usize;
    let end = offset + value.len();
    let entry = if offset >= old.len() {
        // The padding is written straight into the new entry (no zeroed buffer to
        // copy from: SETRANGE k 536870911 x peaks at one value's worth of memory).
        Entry::new_str_zero_padded(key, old, offset - old.len(), value, ttl)
    } else {
        let head = old.get(..offset).unwrap_or(old);
        let tail = old.get(end..).unwrap_or(&[]);
        Entry::new_str_parts(key, &[head, value, tail], ttl)
    };
    let len = entry.as_str().map_or(0, <[u8]>::len);
    let replaced = keys.set(0, entry, SETRANGE, 1);
    drop(keys);
    drop(replaced);
    out.int(len as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------
// INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT
// ---------------------------------------------------------------------------------

/// Adds `delta` to the integer stored at the key (0 when missing), keeping its TTL.
fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], delta: i64) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[key]);
    let (current, ttl) = match keys.write_lookup(0, Want::Str)? {
        None => (0, None),
        Some(e) => (
            parse_i64(text(e)).ok_or(CmdError::NotInteger)?,
            e.expire_at(),
        ),
    };
    let new = current.checked_add(delta).ok_or(CmdError::Overflow)?;
    let mut digits = itoa::Buffer::new();
    let entry = Entry::new_str(key, digits.format(new).as_bytes(), ttl);
    let old = keys.set(0, entry, INCRBY, 1);
    drop(keys);
    drop(old);
    out.int(new);
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
        .ok_or(CmdError::msg(DECREMENT_OVERFLOW))?;
    incr_by(ctx, &args[1], negated)
}

fn incrbyfloat(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let key = &args[1];
    // Parsed before locking (it can be long); its error is reported after the key's
    // own checks, in Redis's order.
    let incr = long_double::parse(&args[2]);
    let (mut keys, out) = ctx.keys(&[key]);
    let (current, ttl) = match keys.write_lookup(0, Want::Str)? {
        None => (long_double::Value::Finite(long_double::Ext::ZERO), None),
        Some(e) => (
            long_double::parse(text(e)).ok_or(CmdError::NotFloat)?,
            e.expire_at(),
        ),
    };
    let incr = incr.ok_or(CmdError::NotFloat)?;
    let sum = long_double::add(current, incr).ok_or(CmdError::msg(INCREMENT_NAN_OR_INFINITY))?;
    let text = long_double::format_human(sum);
    let old = keys.set(0, Entry::new_str(key, text.as_bytes(), ttl), INCRBYFLOAT, 1);
    drop(keys);
    drop(old);
    out.bulk(text.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------------

fn lcs(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    // Take (cheap, reference-counted) copies of both entries and release the locks
    // before the O(N*M) work.
    let (ea, eb) = {
        let (mut keys, _) = ctx.keys(&[&args[1], &args[2]]);
        let ea = keys.lookup(0, Lookup::READ).cloned();
        let eb = keys.lookup(1, Lookup::READ).cloned();
        (ea, eb)
    };
    let (Some(a), Some(b)) = (string_value(&ea), string_value(&eb)) else {
        return Err(CmdError::msg(LCS_NOT_STRINGS));
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
        return Err(CmdError::msg(LCS_IDX_AND_LEN));
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(CmdError::msg(LCS_TOO_LONG));
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    let bytes = cells.saturating_mul(4);
    if bytes > ctx.shared.live.proto_max_bulk_len.load(Ordering::Relaxed) {
        return Err(CmdError::msg(LCS_OVER_LIMIT));
    }
    let Some(table) = LcsTable::build(a, b) else {
        return Err(CmdError::msg(LCS_NO_MEMORY));
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

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, READONLY | FAST, (1, 1, 1), get)
        .doc("string", "Get the value of a key", "1.0.0")
        .acl(&["read", "string", "fast"])
        .schema(command_args::GET),
    Command::new("set", -3, WRITE | DENYOOM, (1, 1, 1), set)
        .doc(
            "string",
            "Set the string value of a key",
            "1.0.0",
        )
        .acl(&["write", "string", "slow"])
        .schema(command_args::SET),
    Command::new("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), setnx)
        .doc(
            "string",
            "Set the value of a key, only if the key does not exist",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"])
        .schema(command_args::SETNX),
    Command::new("setex", 4, WRITE | DENYOOM, (1, 1, 1), setex)
        .doc(
            "string",
            "Set the value and expiration of a key",
            "2.0.0",
        )
        .acl(&["write", "string", "slow"])
        .schema(command_args::SETEX),
    Command::new("psetex", 4, WRITE | DENYOOM, (1, 1, 1), psetex)
        .doc(
            "string",
            "Set the value and expiration in milliseconds of a key",
            "2.6.0",
        )
        .acl(&["write", "string", "slow"])
        .schema(command_args::PSETEX),
    Command::new("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), getset)
        .doc(
            "string",
            "Set the string value of a key and return its old value",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"])
        .schema(command_args::GETSET),
    Command::new("getdel", 2, WRITE | FAST, (1, 1, 1), getdel)
        .doc(
            "string",
            "Get the value of a key and delete the key",
            "6.2.0",
        )
        .acl(&["write", "string", "fast"])
        .schema(command_args::GETDEL),
    Command::new("getex", -2, WRITE | FAST, (1, 1, 1), getex)
        .doc(
            "string",
            "Get the value of a key and optionally set its expiration",
            "6.2.0",
        )
        .acl(&["write", "string", "fast"])
        .schema(command_args::GETEX),
    Command::new("mget", -2, READONLY | FAST, (1, -1, 1), mget)
        .doc(
            "string",
            "Get the values of all the given keys",
            "1.0.0",
        )
        .complexity("O(N) where N is the number of keys to retrieve.")
        .acl(&["read", "string", "fast"])
        .schema(command_args::MGET),
    Command::new("mset", -3, WRITE | DENYOOM, (1, -1, 2), mset)
        .doc(
            "string",
            "Set multiple keys to multiple values",
            "1.0.1",
        )
        .complexity("O(N) where N is the number of keys to set.")
        .acl(&["write", "string", "slow"])
        .schema(command_args::MSET),
    Command::new("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), msetnx)
        .doc(
            "string",
            "Set multiple keys to multiple values, only if none of the keys exist",
            "1.0.1",
        )
        .complexity("O(N) where N is the number of keys to set.")
        .acl(&["write", "string", "slow"])
        .schema(command_args::MSETNX),
    Command::new("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), append)
        .doc(
            "string",
            "Append a value to a key",
            "2.0.0",
        )
        .complexity("O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.")
        .acl(&["write", "string", "fast"])
        .schema(command_args::APPEND),
    Command::new("strlen", 2, READONLY | FAST, (1, 1, 1), strlen)
        .doc("string", "Get the length of the value stored in a key", "2.2.0")
        .acl(&["read", "string", "fast"])
        .schema(command_args::STRLEN),
    Command::new("getrange", 4, READONLY, (1, 1, 1), getrange)
        .doc(
            "string",
            "Get a substring of the string stored at a key",
            "2.4.0",
        )
        .complexity("O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.")
        .acl(&["read", "string", "slow"])
        .schema(command_args::GETRANGE),
    Command::new("substr", 4, READONLY, (1, 1, 1), getrange)
        .doc("string", "Get a substring of the string stored at a key", "1.0.0")
        .complexity("O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.")
        .acl(&["read", "string", "slow"])
        .schema(command_args::SUBSTR),
    Command::new("setrange", 4, WRITE | DENYOOM, (1, 1, 1), setrange)
        .doc(
            "string",
            "Overwrite part of a string at key starting at the specified offset",
            "2.2.0",
        )
        .complexity("O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.")
        .acl(&["write", "string", "slow"])
        .schema(command_args::SETRANGE),
    Command::new("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), incr)
        .doc(
            "string",
            "Increment the integer value of a key by one",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"])
        .schema(command_args::INCR),
    Command::new("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), decr)
        .doc(
            "string",
            "Decrement the integer value of a key by one",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"])
        .schema(command_args::DECR),
    Command::new("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), incrby)
        .doc(
            "string",
            "Increment the integer value of a key by the given amount",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"])
        .schema(command_args::INCRBY),
    Command::new("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), decrby)
        .doc(
            "string",
            "Decrement the integer value of a key by the given number",
            "1.0.0",
        )
        .acl(&["write", "string", "fast"])
        .schema(command_args::DECRBY),
    Command::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, (1, 1, 1), incrbyfloat)
        .doc(
            "string",
            "Increment the float value of a key by the given amount",
            "2.6.0",
        )
        .acl(&["write", "string", "fast"])
        .schema(command_args::INCRBYFLOAT),
    Command::new("lcs", -3, READONLY, (1, 2, 1), lcs)
        .doc("string", "Find longest common substring", "7.0.0")
        .complexity("O(N*M) where N and M are the lengths of s1 and s2, respectively")
        .acl(&["read", "string", "slow"])
        .schema(command_args::LCS),
];
