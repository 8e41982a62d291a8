//! Generic key commands (Redis's `db.c` and `expire.c`): DEL, UNLINK, EXISTS, TYPE,
//! RENAME, RENAMENX, COPY, MOVE, KEYS, SCAN, RANDOMKEY, TOUCH, OBJECT, the EXPIRE
//! family, TTL/PTTL/EXPIRETIME/PEXPIRETIME and PERSIST.
//!
//! These commands work on keys whatever their type, so they never look inside a
//! value (OBJECT ENCODING is the exception, and answers for every kind it knows).
//!
//! Expiry is lazy in storage: an expired entry stays in its table until active expiry
//! or a lookup reclaims it. Every lookup here goes through the access layer
//! ([`crate::access::Keys::lookup`]), which treats an expired key as absent at
//! `ctx.now` and reclaims it on the way (announcing it), so no command can observe a
//! key past its TTL.
//!
//! Changes are counted ([`Ctx::add_dirty`]) as `db.c` and `expire.c` count
//! `server.dirty`: DEL/UNLINK one per key deleted (an expired one is not); RENAME,
//! RENAMENX, COPY and MOVE 1 when they moved or copied (renaming a key to itself: 0);
//! the EXPIRE family 1 when it set a TTL or deleted the key (a time already past);
//! PERSIST 1 when it removed a TTL. Refused conditions (NX, XX, GT, LT) count 0.

use shoal_protocol::Args;
use shoal_storage::{glob, Entry, Value};

use super::common::ScanOptions;
use crate::access::{access_clock, Lookup, Shards};
use crate::changes::event::{
    COPY_TO, DEL, EXPIRE, MOVE_FROM, MOVE_TO, NEW, PERSIST, RENAME_FROM, RENAME_TO,
};
use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::{
    CmdError, CmdResult, EXPIRE_GT_AND_LT, EXPIRE_NX_AND_OTHERS, INVALID_CURSOR, LFU_NO_IDLETIME,
    NO_LFU_FREQ, SAME_OBJECT,
};
use crate::num::parse_i64;
use crate::state::Shared;

// ---------------------------------------------------------------------------------
// Lookup helpers
// ---------------------------------------------------------------------------------

/// The key arguments from `args[1]` on (DEL, EXISTS, TOUCH, UNLINK).
fn key_args<'a>(args: &Args<'a>) -> Vec<&'a [u8]> {
    args.iter().skip(1).collect()
}

/// A database index argument (MOVE, COPY DB): an integer that fits C's `int`, as
/// Redis's `getIntFromObjectOrReply`, then within the configured databases.
fn db_index(ctx: &Ctx<'_>, arg: &[u8]) -> Result<usize, CmdError> {
    let v = parse_i64(arg)
        .filter(|v| i32::try_from(*v).is_ok())
        .ok_or(CmdError::NotInteger)?;
    if v < 0 || v as usize >= ctx.shared.keyspace.num_dbs() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(v as usize)
}

// ---------------------------------------------------------------------------------
// DEL, UNLINK, EXISTS, TOUCH, TYPE
// ---------------------------------------------------------------------------------

/// DEL and UNLINK. Values are single allocations freed in O(1), so UNLINK has nothing
/// to hand to a background thread yet; both delete at once and reply the same.
fn del(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let names = key_args(args);
    let (mut keys, out) = ctx.keys(&names);
    let mut n = 0i64;
    for i in 0..names.len() {
        if keys.delete(i, DEL, 1).is_some() {
            n += 1;
        }
    }
    out.int(n);
    Ok(())
}

/// EXISTS counts a key as many times as it is named.
fn exists(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let names = key_args(args);
    let (mut keys, out) = ctx.keys(&names);
    let n = (0..names.len())
        .filter(|&i| keys.lookup(i, Lookup::READ_NOTOUCH).is_some())
        .count();
    out.int(n as i64);
    Ok(())
}

/// TOUCH records an access even for a `CLIENT NO-TOUCH` client (that is its purpose).
fn touch(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let names = key_args(args);
    let (mut keys, out) = ctx.keys(&names);
    let n = (0..names.len())
        .filter(|&i| keys.lookup(i, Lookup::TOUCH).is_some())
        .count();
    out.int(n as i64);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let name = keys
        .lookup(0, Lookup::READ_NOTOUCH)
        .map_or("none", |e| e.kind().name());
    out.simple_str(name);
    Ok(())
}

// ---------------------------------------------------------------------------------
// RENAME, RENAMENX, COPY, MOVE
// ---------------------------------------------------------------------------------

fn rename(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if rename_generic(ctx, args, false)? {
        ctx.out.ok();
    }
    Ok(())
}

fn renamenx(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let done = rename_generic(ctx, args, true)?;
    ctx.out.int(i64::from(done));
    Ok(())
}

/// RENAME/RENAMENX: moves the entry (value, TTL and access time) to the new name,
/// replacing the destination unless `nx`. Renaming an existing key to itself succeeds
/// without change (RENAMENX replies 0); a missing source is `ERR no such key` either
/// way. Returns whether the rename happened.
fn rename_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, nx: bool) -> Result<bool, CmdError> {
    let (src, dst) = (&args[1], &args[2]);
    let (mut keys, _) = ctx.keys(&[src, dst]);
    let Some(entry) = keys.lookup(0, Lookup::WRITE).cloned() else {
        return Err(CmdError::NoSuchKey);
    };
    if src == dst {
        return Ok(!nx);
    }
    // The destination is looked up (an expired one goes first, announced) and,
    // as Redis's `dbDelete` + `dbAdd`, published `new` whatever it held, before
    // `rename_from`.
    if keys.lookup(1, Lookup::WRITE).is_some() && nx {
        return Ok(false);
    }
    keys.notify(1, NEW);
    keys.delete(0, RENAME_FROM, 0);
    let old = keys.set_created(1, entry.with_key(dst), RENAME_TO, 1);
    drop(keys);
    drop(old);
    Ok(true)
}

/// COPY source destination [DB index] [REPLACE]: the copy keeps the TTL but starts
/// with a fresh access time (Redis duplicates the object).
fn copy(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let mut replace = false;
    let mut dst_db = ctx.client.db;
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i];
        if opt.eq_ignore_ascii_case(b"replace") {
            replace = true;
            i += 1;
        } else if opt.eq_ignore_ascii_case(b"db") && i + 1 < args.len() {
            dst_db = db_index(ctx, &args[i + 1])?;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (src, dst) = (&args[1], &args[2]);
    let src_db = ctx.client.db;
    if src_db == dst_db && src == dst {
        return Err(CmdError::msg(SAME_OBJECT));
    }
    let (mut keys, out) = ctx.keys_at(&[(src_db, src), (dst_db, dst)]);
    let Some(entry) = keys.lookup(0, Lookup::READ).cloned() else {
        out.int(0);
        return Ok(());
    };
    if keys.lookup(1, Lookup::WRITE).is_some() && !replace {
        out.int(0);
        return Ok(());
    }
    let copied = entry.with_key(dst);
    copied.touch(access_clock(keys.now()));
    // Redis deletes a replaced destination and adds the copy: `new` either way.
    keys.notify(1, NEW);
    let old = keys.set_created(1, copied, COPY_TO, 1);
    drop(keys);
    drop(old);
    out.int(1);
    Ok(())
}

/// MOVE key db: the entry itself moves (same key, same hash in every database).
fn move_cmd(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let dst_db = db_index(ctx, &args[2])?;
    let src_db = ctx.client.db;
    if src_db == dst_db {
        return Err(CmdError::msg(SAME_OBJECT));
    }
    let key = &args[1];
    let (mut keys, out) = ctx.keys_at(&[(src_db, key), (dst_db, key)]);
    let moved =
        keys.lookup(0, Lookup::WRITE).is_some() && keys.lookup(1, Lookup::WRITE).is_none() && {
            // `new` in the destination database first, as Redis's `dbAdd` there
            // precedes the source's `move_from`.
            keys.notify(1, NEW);
            match keys.delete(0, MOVE_FROM, 0) {
                Some(entry) => {
                    keys.set_created(1, entry, MOVE_TO, 1);
                    true
                }
                None => false,
            }
        };
    out.int(i64::from(moved));
    Ok(())
}

// ---------------------------------------------------------------------------------
// KEYS, SCAN, RANDOMKEY
// ---------------------------------------------------------------------------------

/// KEYS pattern: every live key matching the glob, one shard locked at a time.
fn keys(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let db = ctx.db();
    let pattern = &args[1];
    let all = pattern == b"*";
    let out = &mut *ctx.out;
    let header = out.deferred_array();
    let mut n = 0usize;
    db.for_each_with(&mut Shards::of(&mut ctx.held), ctx.now, |e| {
        if all || glob::matches(pattern, e.key()) {
            out.bulk(e.key());
            n += 1;
        }
    });
    out.finish_deferred(header, n);
    Ok(())
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The cursor comes from
/// `Db::scan`, which guarantees that a key present for the whole iteration is returned
/// at least once. MATCH and TYPE filter what one step visited, so a step may return
/// fewer than COUNT keys (even none) with a non-zero cursor, as in Redis.
fn scan(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let cursor = crate::num::parse_cursor(&args[1]).ok_or(CmdError::msg(INVALID_CURSOR))?;
    let ScanOptions {
        count,
        pattern,
        type_name,
    } = ScanOptions::parse(args, 2, true)?;
    let db = ctx.db();
    let mut found: Vec<Entry> = Vec::new();
    let next = db.scan_with(
        &mut Shards::of(&mut ctx.held),
        cursor,
        count,
        ctx.now,
        |e| {
            if let Some(p) = pattern {
                if !glob::matches(p, e.key()) {
                    return;
                }
            }
            if let Some(t) = type_name {
                if !t.eq_ignore_ascii_case(e.kind().name().as_bytes()) {
                    return;
                }
            }
            found.push(e.clone());
        },
    );
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(found.len());
    for e in &found {
        out.bulk(e.key());
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    use rand::Rng;
    let db = ctx.db();
    let mut rng = rand::rng();
    let picked = db.random_entry_with(&mut Shards::of(&mut ctx.held), ctx.now, |n| {
        if n == 0 {
            0
        } else {
            rng.random_range(0..n)
        }
    });
    match picked {
        Some(e) => ctx.out.bulk(e.key()),
        None => ctx.out.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// OBJECT
// ---------------------------------------------------------------------------------

/// Redis's `OBJ_SHARED_INTEGERS`: values 0..10000 share one preallocated object.
const SHARED_INTEGERS: i64 = 10_000;

/// The reference count Redis reports for shared objects (`OBJ_SHARED_REFCOUNT`).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// Longest string Redis stores as `embstr` (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
const EMBSTR_LIMIT: usize = 44;

/// The integer value Redis would encode a string as (`int` encoding), if any.
fn string_as_int(s: &[u8]) -> Option<i64> {
    if s.len() > 20 {
        return None;
    }
    parse_i64(s)
}

/// The encoding Redis would pick for a value of this kind and content.
fn encoding_of(e: &Entry) -> &'static str {
    match e.as_str() {
        Some(s) if string_as_int(s).is_some() => "int",
        Some(s) if s.len() <= EMBSTR_LIMIT => "embstr",
        Some(_) => "raw",
        None => match e.value() {
            Value::Hash(h) => h.encoding(),
            Value::Zset(z) => z.encoding(),
            Value::List(l) => l.encoding(),
            Value::Set(s) => s.encoding(),
            Value::Str(_) => "raw",
        },
    }
}

/// maxmemory and the policy's family: (maxmemory, is LRU, is LFU).
fn policy(shared: &Shared) -> (u64, bool, bool) {
    let c = shared.config.read();
    let p = c.maxmemory_policy.as_str();
    (c.maxmemory, p.ends_with("-lru"), p.ends_with("-lfu"))
}

/// Looks up `args[2]` for an OBJECT subcommand (no touch, counted as a read, no
/// `keymiss`: Redis's `LOOKUP_NONOTIFY`) and
/// hands the entry to `f`; a missing key replies nil.
fn object_lookup(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    f: impl FnOnce(&Entry, &mut Ctx<'_>) -> CmdResult,
) -> CmdResult {
    let entry = {
        let (mut keys, _) = ctx.keys(&[&args[2]]);
        keys.lookup(0, Lookup::READ_NOTOUCH_NONOTIFY).cloned()
    };
    match entry {
        Some(e) => f(&e, ctx),
        None => {
            ctx.out.null();
            Ok(())
        }
    }
}

fn object_container(_ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    // Dispatch resolves OBJECT to one of its subcommands before any handler runs.
    Err(CmdError::WrongArity("object".into()))
}

fn object_encoding(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    object_lookup(ctx, args, |e, ctx| {
        ctx.out.bulk_str(encoding_of(e));
        Ok(())
    })
}

/// REFCOUNT: 1, except small non-negative integers, which Redis shares (and reports
/// as `INT_MAX`) unless an LRU/LFU maxmemory policy is active with a limit set.
fn object_refcount(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (maxmemory, lru, lfu) = policy(ctx.shared);
    let sharing = maxmemory == 0 || !(lru || lfu);
    object_lookup(ctx, args, |e, ctx| {
        let shared_int = e
            .as_str()
            .and_then(string_as_int)
            .is_some_and(|v| (0..SHARED_INTEGERS).contains(&v));
        ctx.out.int(if sharing && shared_int {
            SHARED_REFCOUNT
        } else {
            1
        });
        Ok(())
    })
}

fn object_idletime(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (_, _, lfu) = policy(ctx.shared);
    object_lookup(ctx, args, |e, ctx| {
        if lfu {
            return Err(CmdError::msg(LFU_NO_IDLETIME));
        }
        ctx.out.int(i64::from(e.idle_secs(access_clock(ctx.now))));
        Ok(())
    })
}

/// FREQ: under an LFU policy, the key's logarithmic access counter, decayed for the
/// minutes it sat idle (see [`shoal_storage::evict`]).
fn object_freq(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (_, _, lfu) = policy(ctx.shared);
    object_lookup(ctx, args, |e, ctx| {
        if !lfu {
            return Err(CmdError::msg(NO_LFU_FREQ));
        }
        let clock = ctx.shared.keyspace.access_clock();
        ctx.out.int(i64::from(clock.frequency(e, ctx.now)));
        Ok(())
    })
}

/// OBJECT HELP, line for line as Redis 7.0 prints it (status replies).
const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object_help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.array(OBJECT_HELP.len());
    for line in OBJECT_HELP {
        ctx.out.simple_str(line);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// EXPIRE family, TTL family, PERSIST
// ---------------------------------------------------------------------------------

const EXPIRE_NX: u8 = 1;
const EXPIRE_XX: u8 = 2;
const EXPIRE_GT: u8 = 4;
const EXPIRE_LT: u8 = 8;

/// Parses NX/XX/GT/LT (any order, repeats allowed) and rejects the combinations
/// Redis rejects, with its texts.
fn expire_flags(args: &Args<'_>) -> Result<u8, CmdError> {
    let mut flags = 0u8;
    for opt in args.iter().skip(3) {
        flags |= if opt.eq_ignore_ascii_case(b"nx") {
            EXPIRE_NX
        } else if opt.eq_ignore_ascii_case(b"xx") {
            EXPIRE_XX
        } else if opt.eq_ignore_ascii_case(b"gt") {
            EXPIRE_GT
        } else if opt.eq_ignore_ascii_case(b"lt") {
            EXPIRE_LT
        } else {
            return Err(CmdError::unsupported_expire_option(opt));
        };
    }
    if flags & EXPIRE_NX != 0 && flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        return Err(CmdError::msg(EXPIRE_NX_AND_OTHERS));
    }
    if flags & EXPIRE_GT != 0 && flags & EXPIRE_LT != 0 {
        return Err(CmdError::msg(EXPIRE_GT_AND_LT));
    }
    Ok(flags)
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT. `relative`: the time is added to now;
/// `seconds`: the time is in seconds. A resulting time at or before now deletes the
/// key (and replies 1), as Redis does on a master.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    name: &'static str,
    relative: bool,
    seconds: bool,
) -> CmdResult {
    let flags = expire_flags(args)?;
    let mut when = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    if seconds {
        when = when
            .checked_mul(1000)
            .ok_or(CmdError::InvalidExpire(name))?;
    }
    let now = ctx.now;
    if relative {
        when = when.checked_add(now).ok_or(CmdError::InvalidExpire(name))?;
    }
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let Some(entry) = keys.lookup(0, Lookup::WRITE).cloned() else {
        out.int(0);
        return Ok(());
    };
    let current = entry.expire_at();
    let refused = (flags & EXPIRE_NX != 0 && current.is_some())
        || (flags & EXPIRE_XX != 0 && current.is_none())
        // No TTL counts as infinite: GT never beats it, LT always does.
        || (flags & EXPIRE_GT != 0 && current.is_none_or(|c| when <= c))
        || (flags & EXPIRE_LT != 0 && current.is_some_and(|c| when >= c));
    if refused {
        out.int(0);
        return Ok(());
    }
    let old = if when <= now {
        keys.delete(0, DEL, 1)
    } else {
        keys.set(0, entry.with_expire(Some(when)), EXPIRE, 1)
    };
    drop(keys);
    drop(old);
    out.int(1);
    Ok(())
}

fn expire(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    expire_generic(ctx, args, "expire", true, true)
}

fn pexpire(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    expire_generic(ctx, args, "pexpire", true, false)
}

fn expireat(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    expire_generic(ctx, args, "expireat", false, true)
}

fn pexpireat(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    expire_generic(ctx, args, "pexpireat", false, false)
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 without a TTL, else
/// the remaining (or absolute) time; seconds are rounded to nearest as Redis does.
fn ttl_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, millis: bool, absolute: bool) -> CmdResult {
    let now = ctx.now;
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let expire = keys.lookup(0, Lookup::READ_NOTOUCH).map(Entry::expire_at);
    let reply = match expire {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => {
            let t = if absolute {
                i128::from(at)
            } else {
                i128::from(at) - i128::from(now)
            }
            .max(0);
            let t = if millis { t } else { (t + 500) / 1000 };
            i64::try_from(t).unwrap_or(i64::MAX)
        }
    };
    out.int(reply);
    Ok(())
}

fn ttl(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

fn pttl(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

fn expiretime(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

fn pexpiretime(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

fn persist(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let persisted = match keys.lookup(0, Lookup::WRITE) {
        Some(e) if e.expire_at().is_some() => Some(e.with_expire(None)),
        _ => None,
    };
    let done = persisted.is_some();
    if let Some(e) = persisted {
        keys.set(0, e, PERSIST, 1);
    }
    out.int(i64::from(done));
    Ok(())
}

// ---------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------

const KEYSPACE_WRITE_SLOW: &[&str] = &["keyspace", "write", "slow"];
const KEYSPACE_WRITE_FAST: &[&str] = &["keyspace", "write", "fast"];
const KEYSPACE_READ_SLOW: &[&str] = &["keyspace", "read", "slow"];
const KEYSPACE_READ_FAST: &[&str] = &["keyspace", "read", "fast"];

/// OBJECT's subcommands.
const OBJECT_SUBCOMMANDS: &[Command] = &[
    Command::new("encoding", 3, READONLY, (2, 2, 1), object_encoding)
        .doc(
            "generic",
            "Inspect the internal encoding of a Redis object",
            "2.2.3",
        )
        .acl(KEYSPACE_READ_SLOW)
        .schema(command_args::OBJECT_ENCODING),
    Command::new("freq", 3, READONLY, (2, 2, 1), object_freq)
        .doc(
            "generic",
            "Get the logarithmic access frequency counter of a Redis object",
            "4.0.0",
        )
        .acl(KEYSPACE_READ_SLOW)
        .schema(command_args::OBJECT_FREQ),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), object_help)
        .doc(
            "generic",
            "Show helpful text about the different subcommands",
            "6.2.0",
        )
        .acl(&["keyspace", "slow"])
        .schema(command_args::OBJECT_HELP),
    Command::new("idletime", 3, READONLY, (2, 2, 1), object_idletime)
        .doc(
            "generic",
            "Get the time since a Redis object was last accessed",
            "2.2.3",
        )
        .acl(KEYSPACE_READ_SLOW)
        .schema(command_args::OBJECT_IDLETIME),
    Command::new("refcount", 3, READONLY, (2, 2, 1), object_refcount)
        .doc(
            "generic",
            "Get the number of references to the value of the key",
            "2.2.3",
        )
        .acl(KEYSPACE_READ_SLOW)
        .schema(command_args::OBJECT_REFCOUNT),
];

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("del", -2, WRITE, (1, -1, 1), del)
        .doc("generic", "Delete a key", "1.0.0")
        .complexity(
            "O(N) where N is the number of keys that will be removed. When a key to remove \
             holds a value other than a string, the individual complexity for this key is \
             O(M) where M is the number of elements in the list, set, sorted set or hash. \
             Removing a single key that holds a string value is O(1).",
        )
        .acl(KEYSPACE_WRITE_SLOW)
        .schema(command_args::DEL),
    Command::new("unlink", -2, WRITE | FAST, (1, -1, 1), del)
        .doc(
            "generic",
            "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
            "4.0.0",
        )
        .complexity(
            "O(1) for each key removed regardless of its size. Then the command does O(N) \
             work in a different thread in order to reclaim memory, where N is the number of \
             allocations the deleted objects where composed of.",
        )
        .acl(KEYSPACE_WRITE_FAST)
        .schema(command_args::UNLINK),
    Command::new("exists", -2, READONLY | FAST, (1, -1, 1), exists)
        .doc(
            "generic",
            "Determine if a key exists",
            "1.0.0",
        )
        .complexity("O(N) where N is the number of keys to check.")
        .acl(KEYSPACE_READ_FAST)
        .schema(command_args::EXISTS),
    Command::new("type", 2, READONLY | FAST, (1, 1, 1), type_cmd)
        .doc(
            "generic",
            "Determine the type stored at key",
            "1.0.0",
        )
        .acl(KEYSPACE_READ_FAST)
        .schema(command_args::TYPE),
    Command::new("rename", 3, WRITE, (1, 2, 1), rename)
        .doc(
            "generic",
            "Rename a key",
            "1.0.0",
        )
        .acl(KEYSPACE_WRITE_SLOW)
        .schema(command_args::RENAME),
    Command::new("renamenx", 3, WRITE | FAST, (1, 2, 1), renamenx)
        .doc(
            "generic",
            "Rename a key, only if the new key does not exist",
            "1.0.0",
        )
        .acl(KEYSPACE_WRITE_FAST)
        .schema(command_args::RENAMENX),
    Command::new("copy", -3, WRITE | DENYOOM, (1, 2, 1), copy)
        .doc(
            "generic",
            "Copy a key",
            "6.2.0",
        )
        .complexity(
            "O(N) worst case for collections, where N is the number of nested items. O(1) \
             for string values.",
        )
        .acl(KEYSPACE_WRITE_SLOW)
        .schema(command_args::COPY),
    Command::new("move", 3, WRITE | FAST, (1, 1, 1), move_cmd)
        .doc("generic", "Move a key to another database", "1.0.0")
        .acl(KEYSPACE_WRITE_FAST)
        .schema(command_args::MOVE),
    Command::new("keys", 2, READONLY, (0, 0, 0), keys)
        .scope(Scope::Db)
        .doc(
            "generic",
            "Find all keys matching the given pattern",
            "1.0.0",
        )
        .complexity(
            "O(N) with N being the number of keys in the database, under the assumption \
             that the key names in the database and the given pattern have limited length.",
        )
        .acl(&["keyspace", "read", "slow", "dangerous"])
        .schema(command_args::KEYS),
    Command::new("scan", -2, READONLY, (0, 0, 0), scan)
        .scope(Scope::Db)
        .doc(
            "generic",
            "Incrementally iterate the keys space",
            "2.8.0",
        )
        .complexity(
            "O(1) for every call. O(N) for a complete iteration, including enough command \
             calls for the cursor to return back to 0. N is the number of elements inside \
             the collection.",
        )
        .acl(KEYSPACE_READ_SLOW)
        .schema(command_args::SCAN),
    Command::new("randomkey", 1, READONLY, (0, 0, 0), randomkey)
        .scope(Scope::Db)
        .doc(
            "generic",
            "Return a random key from the keyspace",
            "1.0.0",
        )
        .acl(KEYSPACE_READ_SLOW)
        .schema(command_args::RANDOMKEY),
    Command::new("touch", -2, READONLY | FAST, (1, -1, 1), touch)
        .doc(
            "generic",
            "Alters the last access time of a key(s). Returns the number of existing keys specified.",
            "3.2.1",
        )
        .complexity("O(N) where N is the number of keys that will be touched.")
        .acl(KEYSPACE_READ_FAST)
        .schema(command_args::TOUCH),
    Command::new("object", -2, 0, (0, 0, 0), object_container)
        .doc(
            "generic",
            "A container for object introspection commands",
            "2.2.3",
        )
        .complexity("Depends on subcommand.")
        .acl(&["slow"])
        .subs(OBJECT_SUBCOMMANDS)
        .schema(command_args::OBJECT),
    Command::new("expire", -3, WRITE | FAST, (1, 1, 1), expire)
        .doc(
            "generic",
            "Set a key's time to live in seconds",
            "1.0.0",
        )
        .acl(KEYSPACE_WRITE_FAST)
        .schema(command_args::EXPIRE),
    Command::new("pexpire", -3, WRITE | FAST, (1, 1, 1), pexpire)
        .doc(
            "generic",
            "Set a key's time to live in milliseconds",
            "2.6.0",
        )
        .acl(KEYSPACE_WRITE_FAST)
        .schema(command_args::PEXPIRE),
    Command::new("expireat", -3, WRITE | FAST, (1, 1, 1), expireat)
        .doc(
            "generic",
            "Set the expiration for a key as a UNIX timestamp",
            "1.2.0",
        )
        .acl(KEYSPACE_WRITE_FAST)
        .schema(command_args::EXPIREAT),
    Command::new("pexpireat", -3, WRITE | FAST, (1, 1, 1), pexpireat)
        .doc(
            "generic",
            "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
            "2.6.0",
        )
        .acl(KEYSPACE_WRITE_FAST)
        .schema(command_args::PEXPIREAT),
    Command::new("ttl", 2, READONLY | FAST, (1, 1, 1), ttl)
        .doc(
            "generic",
            "Get the time to live for a key in seconds",
            "1.0.0",
        )
        .acl(KEYSPACE_READ_FAST)
        .schema(command_args::TTL),
    Command::new("pttl", 2, READONLY | FAST, (1, 1, 1), pttl)
        .doc(
            "generic",
            "Get the time to live for a key in milliseconds",
            "2.6.0",
        )
        .acl(KEYSPACE_READ_FAST)
        .schema(command_args::PTTL),
    Command::new("expiretime", 2, READONLY | FAST, (1, 1, 1), expiretime)
        .doc(
            "generic",
            "Get the expiration Unix timestamp for a key",
            "7.0.0",
        )
        .acl(KEYSPACE_READ_FAST)
        .schema(command_args::EXPIRETIME),
    Command::new("pexpiretime", 2, READONLY | FAST, (1, 1, 1), pexpiretime)
        .doc(
            "generic",
            "Get the expiration Unix timestamp for a key in milliseconds",
            "7.0.0",
        )
        .acl(KEYSPACE_READ_FAST)
        .schema(command_args::PEXPIRETIME),
    Command::new("persist", 2, WRITE | FAST, (1, 1, 1), persist)
        .doc("generic", "Remove the expiration from a key", "2.2.0")
        .acl(KEYSPACE_WRITE_FAST)
        .schema(command_args::PERSIST),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_encodings() {
        let enc = |v: &[u8]| encoding_of(&Entry::new_str(b"k", v, None));
        assert_eq!(enc(b"0"), "int");
        assert_eq!(enc(b"-9223372036854775808"), "int");
        assert_eq!(enc(b"9223372036854775808"), "embstr");
        assert_eq!(enc(b"007"), "embstr");
        assert_eq!(enc(b""), "embstr");
        assert_eq!(enc(&[b'x'; 44]), "embstr");
        assert_eq!(enc(&[b'x'; 45]), "raw");
    }

    #[test]
    fn expire_flag_conflicts() {
        use shoal_protocol::{Limits, RequestParser};
        let check = |line: &str| -> Result<u8, String> {
            let mut p = RequestParser::new(Limits::default());
            let buf = format!("{line}\r\n");
            let (_, args) = p.parse(buf.as_bytes()).ok().flatten().expect("parsed");
            expire_flags(&args).map_err(|e| String::from_utf8_lossy(&e.message()).into_owned())
        };
        assert_eq!(check("expire k 1"), Ok(0));
        assert_eq!(check("expire k 1 nx nx"), Ok(EXPIRE_NX));
        assert_eq!(check("expire k 1 GT xx"), Ok(EXPIRE_GT | EXPIRE_XX));
        assert!(check("expire k 1 nx lt")
            .unwrap_err()
            .starts_with("ERR NX and XX"));
        assert!(check("expire k 1 gt lt")
            .unwrap_err()
            .starts_with("ERR GT and LT"));
        assert_eq!(
            check("expire k 1 bogus nx xx"),
            Err("ERR Unsupported option bogus".to_string())
        );
    }
}
