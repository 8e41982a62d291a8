//! What the write hook announces: a change to one key, or to a whole database, with
//! Redis's keyspace-event name; and the observers that receive them.
//!
//! The hook itself is [`crate::access::announce`]; this module holds the types, so
//! that `Shared` (below the access layer) can own the observer list.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;

/// A key expired (lazily on access, or by the active expiry cycle).
pub const EXPIRED: &str = "expired";
/// A read found no key (a keyspace notification only, class `m`; never announced).
pub const KEYMISS: &str = "keymiss";
/// A database was emptied (FLUSHDB, FLUSHALL).
pub const FLUSHED: &str = "flushdb";
/// Two databases exchanged contents (SWAPDB): announced for each.
pub const SWAPPED: &str = "swapdb";
/// A database's contents were replaced (SNAPSHOT RESTORE, RDB load).
pub const REPLACED: &str = "replaced";

/// One change to the dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change<'k> {
    /// Key `key` of database `db` changed; `event` is Redis's keyspace-event name
    /// (`set`, `del`, `expire`, `hset`, `rename_from`, `expired`...).
    Key {
        /// Database index.
        db: usize,
        /// The key.
        key: &'k [u8],
        /// What happened.
        event: &'static str,
    },
    /// Every key of database `db` may have changed ([`FLUSHED`], [`SWAPPED`],
    /// [`REPLACED`]).
    Db {
        /// Database index.
        db: usize,
        /// What happened.
        event: &'static str,
    },
}

impl<'k> Change<'k> {
    /// A key-level change.
    #[inline]
    pub fn key(db: usize, key: &'k [u8], event: &'static str) -> Change<'k> {
        Change::Key { db, key, event }
    }
}

/// Something told of every change (a test recording them, an embedder).
pub type Observer = Box<dyn Fn(&Change<'_>) + Send + Sync>;

/// The registered observers. With none, announcing a change costs one relaxed load.
#[derive(Default)]
pub struct Observers {
    any: AtomicBool,
    list: RwLock<Vec<Observer>>,
}

impl Observers {
    /// Adds an observer; it is called for every change from now on, on the thread
    /// that makes the change, while the key's shard is locked (keep it short).
    pub fn add(&self, observer: Observer) {
        self.list.write().push(observer);
        self.any.store(true, Ordering::Release);
    }

    /// Tells every observer of `change`.
    #[inline]
    pub fn notify(&self, change: &Change<'_>) {
        if self.any.load(Ordering::Relaxed) {
            for o in self.list.read().iter() {
                o(change);
            }
        }
    }
}

/// Redis's keyspace-event names of key changes, as commands announce them.
pub mod event {
    pub use super::EXPIRED;
    /// SET and its variants, MSET.
    pub const SET: &str = "set";
    /// DEL, UNLINK, GETDEL, a key emptied by HDEL.
    pub const DEL: &str = "del";
    /// A TTL set (EXPIRE family, SET/GETEX with an expiry).
    pub const EXPIRE: &str = "expire";
    /// A TTL removed (PERSIST, GETEX PERSIST).
    pub const PERSIST: &str = "persist";
    /// APPEND.
    pub const APPEND: &str = "append";
    /// SETRANGE.
    pub const SETRANGE: &str = "setrange";
    /// INCR, DECR, INCRBY, DECRBY.
    pub const INCRBY: &str = "incrby";
    /// INCRBYFLOAT.
    pub const INCRBYFLOAT: &str = "incrbyfloat";
    /// HSET, HMSET, HSETNX.
    pub const HSET: &str = "hset";
    /// HDEL.
    pub const HDEL: &str = "hdel";
    /// HINCRBY.
    pub const HINCRBY: &str = "hincrby";
    /// HINCRBYFLOAT.
    pub const HINCRBYFLOAT: &str = "hincrbyfloat";
    /// LPUSH, LPUSHX, an element LMOVE/RPOPLPUSH pushed at the head.
    pub const LPUSH: &str = "lpush";
    /// RPUSH, RPUSHX, an element LMOVE pushed at the tail.
    pub const RPUSH: &str = "rpush";
    /// LPOP, BLPOP, LMPOP LEFT, the head of an LMOVE source.
    pub const LPOP: &str = "lpop";
    /// RPOP, BRPOP, LMPOP RIGHT, RPOPLPUSH's source.
    pub const RPOP: &str = "rpop";
    /// LINSERT.
    pub const LINSERT: &str = "linsert";
    /// LSET.
    pub const LSET: &str = "lset";
    /// LREM.
    pub const LREM: &str = "lrem";
    /// LTRIM.
    pub const LTRIM: &str = "ltrim";
    /// SADD, SMOVE's destination.
    pub const SADD: &str = "sadd";
    /// SREM, SMOVE's source.
    pub const SREM: &str = "srem";
    /// SPOP.
    pub const SPOP: &str = "spop";
    /// SINTERSTORE's destination.
    pub const SINTERSTORE: &str = "sinterstore";
    /// SUNIONSTORE's destination.
    pub const SUNIONSTORE: &str = "sunionstore";
    /// SDIFFSTORE's destination.
    pub const SDIFFSTORE: &str = "sdiffstore";
    /// SORT ... STORE's destination.
    pub const SORTSTORE: &str = "sortstore";
    /// RENAME's source.
    pub const RENAME_FROM: &str = "rename_from";
    /// RENAME's destination.
    pub const RENAME_TO: &str = "rename_to";
    /// MOVE's source (the key left this database).
    pub const MOVE_FROM: &str = "move_from";
    /// MOVE's destination.
    pub const MOVE_TO: &str = "move_to";
    /// COPY's destination.
    pub const COPY_TO: &str = "copy_to";
    /// A key written by a merge (HMERGE, HMERGEVALUES, MMERGE).
    pub const MERGE: &str = "merge";
    /// A key evicted to keep within `maxmemory`.
    pub const EVICTED: &str = "evicted";
    /// A key written by SNAPSHOT MERGE.
    pub const RESTORE: &str = "restore";

    // Sorted sets (t_zset.c's names).
    /// ZADD.
    pub const ZADD: &str = "zadd";
    /// ZINCRBY, ZADD INCR.
    pub const ZINCR: &str = "zincr";
    /// ZREM.
    pub const ZREM: &str = "zrem";
    /// ZPOPMIN, ZMPOP MIN, BZPOPMIN, BZMPOP MIN.
    pub const ZPOPMIN: &str = "zpopmin";
    /// ZPOPMAX, ZMPOP MAX, BZPOPMAX, BZMPOP MAX.
    pub const ZPOPMAX: &str = "zpopmax";
    /// ZREMRANGEBYRANK.
    pub const ZREMRANGEBYRANK: &str = "zremrangebyrank";
    /// ZREMRANGEBYSCORE.
    pub const ZREMRANGEBYSCORE: &str = "zremrangebyscore";
    /// ZREMRANGEBYLEX.
    pub const ZREMRANGEBYLEX: &str = "zremrangebylex";
    /// ZUNIONSTORE's destination.
    pub const ZUNIONSTORE: &str = "zunionstore";
    /// ZINTERSTORE's destination.
    pub const ZINTERSTORE: &str = "zinterstore";
    /// ZDIFFSTORE's destination.
    pub const ZDIFFSTORE: &str = "zdiffstore";
    /// ZRANGESTORE's destination.
    pub const ZRANGESTORE: &str = "zrangestore";
    /// A key was added to the database (published as a keyspace notification only,
    /// never announced: the command's own event follows it).
    pub const NEW: &str = "new";
}
