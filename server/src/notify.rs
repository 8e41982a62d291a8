//! Keyspace notifications (`notify-keyspace-events`), as Redis 7.0 publishes them.
//!
//! The write hook ([`crate::access::announce`]) hands every key change here when
//! notifications are on (one relaxed load of [`Notifications::flags`] when they are
//! off). An event is published when its class (see [`class_of`]) is enabled:
//! `__keyspace@<db>__:<key>` with the event name as message (flag `K`), then
//! `__keyevent@<db>__:<event>` with the key as message (flag `E`), through
//! [`PubSub::publish`] (which takes only the pub/sub maps' locks, never a shard's:
//! the changed key's shard is locked while this runs). Channel names are built in a
//! per-thread buffer kept between events, so publishing allocates nothing of its own
//! once warm (beyond what delivery to a subscriber costs).
//!
//! Whole-database changes (FLUSHDB, FLUSHALL, SWAPDB, SNAPSHOT RESTORE, RDB load)
//! publish nothing, as Redis publishes nothing for FLUSHDB/FLUSHALL/SWAPDB.

use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::changes::event;
use crate::pubsub::PubSub;

/// Redis's `NOTIFY_*` bits (same values as Redis's `server.h`).
pub mod class {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: a key expired.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: a key was evicted.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: a read lookup found no key (`keymiss`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// `d`: module key types (accepted and shown; Shoal has none).
    pub const MODULE: u32 = 1 << 13;
    /// `n`: a key was added to the database.
    pub const NEW: u32 = 1 << 14;
    /// `A`: `g$lshzxetd`.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// The class of event `name`: which flag letter enables it (Redis's first argument
/// of `notifyKeyspaceEvent` for that name). 0 for a name no class enables (never
/// published). New event names from new data types go here.
pub fn class_of(name: &str) -> u32 {
    match name {
        // Generic.
        event::DEL
        | event::EXPIRE
        | event::PERSIST
        | event::RENAME_FROM
        | event::RENAME_TO
        | event::MOVE_FROM
        | event::MOVE_TO
        | event::COPY_TO
        // SNAPSHOT MERGE writes keys as a RESTORE would.
        | event::RESTORE => class::GENERIC,
        // Strings.
        event::SET | event::SETRANGE | event::INCRBY | event::INCRBYFLOAT | event::APPEND => {
            class::STRING
        }
        // Hashes.
        event::HSET | event::HDEL | event::HINCRBY | event::HINCRBYFLOAT => class::HASH,
        // The merge family writes hashes (HMERGE, HMERGEVALUES) or strings (MMERGE):
        // enabled by either letter.
        event::MERGE => class::HASH | class::STRING,
        // Lists (BLPOP/LMOVE/RPOPLPUSH announce lpop/rpop/lpush/rpush, as in Redis).
        event::LPUSH
        | event::RPUSH
        | event::LPOP
        | event::RPOP
        | event::LINSERT
        | event::LSET
        | event::LREM
        | event::LTRIM => class::LIST,
        // SORT ... STORE (a list).
        "sortstore" => class::LIST,
        // Sets (SMOVE announces srem and sadd).
        event::SADD
        | event::SREM
        | event::SPOP
        | event::SINTERSTORE
        | event::SUNIONSTORE
        | event::SDIFFSTORE => class::SET,
        // Sorted sets (t_zset.c's names).
        event::ZADD
        | event::ZINCR
        | event::ZREM
        | event::ZREMRANGEBYSCORE
        | event::ZREMRANGEBYRANK
        | event::ZREMRANGEBYLEX
        | event::ZPOPMIN
        | event::ZPOPMAX
        | event::ZUNIONSTORE
        | event::ZINTERSTORE
        | event::ZDIFFSTORE
        | event::ZRANGESTORE => class::ZSET,
        // Streams.
        "xadd" | "xtrim" | "xdel" | "xsetid" | "xgroup-create" | "xgroup-createconsumer"
        | "xgroup-delconsumer" | "xgroup-destroy" | "xgroup-setid" => class::STREAM,
        event::EXPIRED => class::EXPIRED,
        event::EVICTED => class::EVICTED,
        event::NEW => class::NEW,
        crate::changes::KEYMISS => class::KEY_MISS,
        _ => 0,
    }
}

/// The flag letters and their bits, `A` first (Redis's `keyspaceEventsStringToFlags`).
const LETTERS: &[(u8, u32)] = &[
    (b'A', class::ALL),
    (b'g', class::GENERIC),
    (b'$', class::STRING),
    (b'l', class::LIST),
    (b's', class::SET),
    (b'h', class::HASH),
    (b'z', class::ZSET),
    (b'x', class::EXPIRED),
    (b'e', class::EVICTED),
    (b'K', class::KEYSPACE),
    (b'E', class::KEYEVENT),
    (b't', class::STREAM),
    (b'm', class::KEY_MISS),
    (b'd', class::MODULE),
    (b'n', class::NEW),
];

/// The flags of a `notify-keyspace-events` value; `None` for a character that is no
/// flag letter (case matters, as in Redis).
pub fn parse_flags(value: &str) -> Option<u32> {
    value.bytes().try_fold(0, |flags, c| {
        LETTERS
            .iter()
            .find(|(l, _)| *l == c)
            .map(|(_, bits)| flags | bits)
    })
}

/// The canonical string of `flags`, as Redis 7.0's `keyspaceEventsFlagsToString`
/// writes it (CONFIG GET): `A` when every class of `A` is on, else the class
/// letters in the order `g$lshzxetdn`; then `K`, `E`, `m`. (As in Redis, `n` is not
/// shown next to `A`, though it stays on.)
pub fn flags_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & class::ALL == class::ALL {
        s.push('A');
    } else {
        for (c, bit) in [
            ('g', class::GENERIC),
            ('$', class::STRING),
            ('l', class::LIST),
            ('s', class::SET),
            ('h', class::HASH),
            ('z', class::ZSET),
            ('x', class::EXPIRED),
            ('e', class::EVICTED),
            ('t', class::STREAM),
            ('d', class::MODULE),
            ('n', class::NEW),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (c, bit) in [
        ('K', class::KEYSPACE),
        ('E', class::KEYEVENT),
        ('m', class::KEY_MISS),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// The configured flags as the write hook reads them (in `Shared`).
#[derive(Default)]
pub struct Notifications {
    /// The `notify-keyspace-events` flags, or 0 when nothing can be published
    /// (neither `K` nor `E`, or no class).
    flags: AtomicU32,
}

impl Notifications {
    /// The flags in force; 0 = off (one relaxed load).
    #[inline(always)]
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// Sets the flags from a parsed `notify-keyspace-events` value.
    pub fn configure(&self, flags: u32) {
        let channels = flags & (class::KEYSPACE | class::KEYEVENT);
        let classes = flags & !(class::KEYSPACE | class::KEYEVENT);
        let effective = if channels != 0 && classes != 0 {
            flags
        } else {
            0
        };
        self.flags.store(effective, Ordering::Relaxed);
    }
}

thread_local! {
    /// The channel name being built (kept between events: no allocation once warm).
    static CHANNEL: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A buffer kept past this size is given back after use (one huge key name must
/// not pin its size in every thread).
const KEEP_CAPACITY: usize = 4096;

/// Publishes `event` on key `key` of database `db` under `flags` (non-zero: see
/// [`Notifications::flags`]), if its class is enabled (Redis's
/// `notifyKeyspaceEvent`).
pub fn key_event(pubsub: &PubSub, flags: u32, db: usize, key: &[u8], event: &str) {
    if flags & class_of(event) == 0 {
        return;
    }
    CHANNEL.with(|buf| {
        // Re-entry cannot happen (publishing announces nothing); if it ever did,
        // build in a fresh buffer rather than panic.
        let mut fresh = Vec::new();
        let mut guard = buf.try_borrow_mut();
        let ch: &mut Vec<u8> = match guard.as_deref_mut() {
            Ok(v) => v,
            Err(_) => &mut fresh,
        };
        if flags & class::KEYSPACE != 0 {
            ch.clear();
            let _ = write!(ch, "__keyspace@{db}__:");
            ch.extend_from_slice(key);
            pubsub.publish(ch, event.as_bytes(), false);
        }
        if flags & class::KEYEVENT != 0 {
            ch.clear();
            let _ = write!(ch, "__keyevent@{db}__:{event}");
            pubsub.publish(ch, key, false);
        }
        if ch.capacity() > KEEP_CAPACITY {
            *ch = Vec::new();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_as_redis_shows_them() {
        let shown = |v: &str| flags_string(parse_flags(v).expect("valid"));
        assert_eq!(shown("KEA"), "AKE");
        assert_eq!(shown("Ag$"), "A");
        assert_eq!(shown("KEAm"), "AKEm");
        assert_eq!(shown("KEAn"), "AKE");
        assert_eq!(shown("Kg"), "gK");
        assert_eq!(shown("Kzxehsl$g"), "g$lshzxeK");
        assert_eq!(shown("KEdt"), "tdKE");
        assert_eq!(shown("mn"), "nm");
        assert_eq!(shown("ntdexzhsl$gmEK"), "AKEm");
        assert_eq!(shown(""), "");
        assert_eq!(parse_flags("kea"), None);
        assert_eq!(parse_flags("KEA "), None);
    }

    #[test]
    fn every_announced_event_has_a_class() {
        for e in [
            event::SET,
            event::DEL,
            event::EXPIRE,
            event::PERSIST,
            event::APPEND,
            event::SETRANGE,
            event::INCRBY,
            event::INCRBYFLOAT,
            event::HSET,
            event::HDEL,
            event::HINCRBY,
            event::HINCRBYFLOAT,
            event::RENAME_FROM,
            event::RENAME_TO,
            event::MOVE_FROM,
            event::MOVE_TO,
            event::COPY_TO,
            event::MERGE,
            event::EVICTED,
            event::RESTORE,
            event::EXPIRED,
            event::NEW,
        ] {
            assert_ne!(class_of(e), 0, "{e}");
        }
    }

    #[test]
    fn off_unless_a_channel_and_a_class_are_on() {
        let n = Notifications::default();
        n.configure(parse_flags("K").unwrap());
        assert_eq!(n.flags(), 0);
        n.configure(parse_flags("A").unwrap());
        assert_eq!(n.flags(), 0);
        n.configure(parse_flags("Kx").unwrap());
        assert_ne!(n.flags(), 0);
    }

    #[test]
    fn every_key_event_has_a_class() {
        use crate::changes::event::*;
        for name in [
            SET,
            DEL,
            EXPIRE,
            PERSIST,
            APPEND,
            SETRANGE,
            INCRBY,
            INCRBYFLOAT,
            HSET,
            HDEL,
            HINCRBY,
            HINCRBYFLOAT,
            LPUSH,
            RPUSH,
            LPOP,
            RPOP,
            LINSERT,
            LSET,
            LREM,
            LTRIM,
            SADD,
            SREM,
            SPOP,
            SINTERSTORE,
            SUNIONSTORE,
            SDIFFSTORE,
            RENAME_FROM,
            RENAME_TO,
            MOVE_FROM,
            MOVE_TO,
            COPY_TO,
            MERGE,
            EVICTED,
            RESTORE,
            ZADD,
            ZINCR,
            ZREM,
            ZPOPMIN,
            ZPOPMAX,
            ZREMRANGEBYRANK,
            ZREMRANGEBYSCORE,
            ZREMRANGEBYLEX,
            ZUNIONSTORE,
            ZINTERSTORE,
            ZDIFFSTORE,
            ZRANGESTORE,
            EXPIRED,
            NEW,
        ] {
            assert_ne!(class_of(name), 0, "{name} has no class");
        }
    }
}
