//! DUMP and RESTORE (Redis's `cluster.c`): a key's value as Redis's serialized
//! payload, and back. The payload format is storage's ([`shoal_storage::rdb::dump`]):
//! one RDB-encoded value, the RDB version (10) and a CRC-64, so payloads move between
//! Shoal and Redis 7.0 both ways.
//!
//! RESTORE checks in Redis's order: its options (syntax, IDLETIME, FREQ), then the
//! key (BUSYKEY unless REPLACE), then the TTL, then the payload's footer (version and
//! checksum), then the value. A TTL already past deletes the key under REPLACE (event
//! `del`) and stores nothing. FREQ sets the LFU counter under an LFU policy;
//! IDLETIME backdates the
//! entry's access time.

use std::sync::atomic::Ordering;

use shoal_protocol::Args;
use shoal_storage::rdb::{self, PayloadError};
use shoal_storage::ZsetLimits;

use crate::access::{access_clock, Lookup};
use crate::changes::event::{DEL, RESTORE};
use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::error::{
    CmdError, CmdResult, BAD_DATA_FORMAT, BUSYKEY, DUMP_PAYLOAD_WRONG, RESTORE_FREQ_RANGE,
    RESTORE_IDLETIME_NEGATIVE, RESTORE_TTL_NEGATIVE,
};
use crate::num::parse_i64;

/// DUMP key: the payload, or nil for a missing key.
fn dump(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let compress = ctx.shared.config.read().rdbcompression;
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let Some(e) = keys.lookup(0, Lookup::READ).cloned() else {
        out.null();
        return Ok(());
    };
    drop(keys);
    out.bulk(&rdb::dump(&e, compress));
    Ok(())
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency].
fn restore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut i = 4;
    while i < args.len() {
        let opt = &args[i];
        let more = i + 1 < args.len();
        if opt.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if opt.eq_ignore_ascii_case(b"absttl") {
            absttl = true;
        } else if opt.eq_ignore_ascii_case(b"idletime") && more && freq.is_none() {
            let v = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
            if v < 0 {
                return Err(CmdError::msg(RESTORE_IDLETIME_NEGATIVE));
            }
            idle = Some(v);
            i += 1;
        } else if opt.eq_ignore_ascii_case(b"freq") && more && idle.is_none() {
            let v = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::msg(RESTORE_FREQ_RANGE));
            }
            freq = Some(v);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let limits = ZsetLimits {
        entries: ctx
            .shared
            .live
            .zset_max_listpack_entries
            .load(Ordering::Relaxed),
        value: ctx
            .shared
            .live
            .zset_max_listpack_value
            .load(Ordering::Relaxed),
    };
    let key = &args[1];
    let (ttl_arg, payload) = (&args[2], &args[3]);
    let (mut keys, out) = ctx.keys(&[key]);
    if !replace && keys.lookup(0, Lookup::WRITE).is_some() {
        return Err(CmdError::msg(BUSYKEY));
    }
    let ttl = parse_i64(ttl_arg).ok_or(CmdError::NotInteger)?;
    if ttl < 0 {
        return Err(CmdError::msg(RESTORE_TTL_NEGATIVE));
    }
    let now = keys.now();
    let expire_at = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.saturating_add(now)),
    };
    let intsets = keys
        .shared()
        .live
        .set_max_intset_entries
        .load(std::sync::atomic::Ordering::Relaxed);
    let hash_limits = keys.shared().live.hash_limits();
    let entry =
        rdb::restore_with(payload, key, expire_at, limits, intsets, hash_limits).map_err(|e| {
            match e {
                PayloadError::VersionOrChecksum => CmdError::msg(DUMP_PAYLOAD_WRONG),
                PayloadError::BadData(_) => CmdError::msg(BAD_DATA_FORMAT),
            }
        })?;
    if expire_at.is_some_and(|t| t <= now) {
        // Already expired: nothing is stored; a replaced key is deleted.
        if replace {
            keys.delete(0, DEL, 1);
        }
        out.ok();
        return Ok(());
    }
    // IDLETIME under an LRU policy, FREQ under an LFU one (Redis's
    // `objectSetLRUOrLFU`); otherwise the key starts as any new key.
    let clock = keys.shared().keyspace.access_clock();
    match (clock.is_lfu(), idle, freq) {
        (false, Some(idle), _) => {
            let idle = u32::try_from(idle).unwrap_or(u32::MAX);
            entry.touch(access_clock(now).saturating_sub(idle).max(1));
        }
        (true, _, Some(freq)) => clock.set_frequency(&entry, freq as u32, now),
        _ => {}
    }
    let old = keys.set(0, entry, RESTORE, 1);
    drop(keys);
    drop(old);
    out.ok();
    Ok(())
}

pub const COMMANDS: &[Command] = &[
    Command::new("dump", 2, READONLY | RANDOM, (1, 1, 1), dump)
        .doc(
            "generic",
            "Return a serialized version of the value stored at the specified key.",
            "2.6.0",
        )
        .complexity(
            "O(1) to access the key and additional O(N*M) to serialize it, where N is the \
             number of Redis objects composing the value and M their average size. For \
             small string values the time complexity is thus O(1)+O(1*M) where M is small, \
             so simply O(1).",
        )
        .acl(&["keyspace", "read", "slow"])
        .schema(command_args::DUMP),
    Command::new("restore", -4, WRITE | DENYOOM, (1, 1, 1), restore)
        .doc(
            "generic",
            "Create a key using the provided serialized value, previously obtained using DUMP.",
            "2.6.0",
        )
        .complexity(
            "O(1) to create the new key and additional O(N*M) to reconstruct the \
             serialized value, where N is the number of Redis objects composing the value \
             and M their average size. For small string values the time complexity is \
             thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set \
             values the complexity is O(N*M*log(N)) because inserting values into sorted \
             sets is O(log(N)).",
        )
        .acl(&["keyspace", "write", "slow", "dangerous"])
        .schema(command_args::RESTORE),
];
