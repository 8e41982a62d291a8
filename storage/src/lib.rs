//! Shoal's keyspace as a library: sharded hash tables of compact, reference-counted
//! entries with expiry. No networking, no async runtime, no RESP.
//!
//! ```
//! use shoal_storage::{Entry, Keyspace, KeyspaceConfig};
//!
//! let ks = Keyspace::new(KeyspaceConfig { databases: 1, capacity: 1000, shards: 0 });
//! let db = ks.db(0);
//! let h = db.hash(b"greeting");
//! db.lock(h).insert(h, Entry::new_str(b"greeting", b"hello", None), 0);
//! assert_eq!(db.lock(h).get(h, b"greeting", 0).unwrap().as_str(), Some(&b"hello"[..]));
//! ```
//!
//! Layout: a [`Keyspace`] holds numbered [`Db`]s; a `Db` is a power-of-two array of
//! [`Shard`]s, each a short lock around a hashbrown `HashTable` of [`Entry`]s behind a
//! copy-on-write `Arc`. Time is passed in by the caller (`now`, unix milliseconds), so
//! the library never reads the clock on its own and tests control expiry exactly.
//!
//! Merges of maps ([`merge`]: [`Db::hmerge`], [`Db::hmerge_values`], [`Db::mmerge`])
//! are atomic across every shard they touch and validated before they apply.

pub mod cache;
pub mod db;
pub mod entry;
pub mod evict;
pub mod glob;
pub mod hash;
pub mod keyspace;
pub mod list;
pub mod merge;
pub mod number;
pub mod rdb;
pub mod segment;
pub mod set;
pub mod shard;
pub mod sketch;
pub mod zset;

pub use db::{Db, GroupScope, HeldShards, LiveShard, LockEach, Locked, ShardGuard, ShardSource};
pub use entry::{Entry, Kind, Object, Value};
pub use hash::{HashLimits, HashValue};
pub use keyspace::{ExpireCycle, Keyspace, KeyspaceConfig, Pair, Restored};
pub use list::ListValue;
pub use merge::{MergeError, MergeStrategy, Merged};
pub use segment::{Segment, Table};
pub use set::SetValue;
pub use shard::{entries_in, ExpireStep, Found, Segments, Shard};
pub use zset::{ZsetLimits, ZsetValue};

use std::hash::BuildHasher;

/// The keyed hash of keys. Its seed is random per process, so clients cannot craft
/// keys that collide (hash flooding); one instance is shared by every database so a
/// key hashes the same everywhere (SWAPDB, MOVE).
#[derive(Clone, Default)]
pub struct KeyHasher(foldhash::quality::RandomState);

impl KeyHasher {
    /// A hasher with a fresh random seed.
    pub fn new() -> KeyHasher {
        KeyHasher::default()
    }

    /// The hash of `key`.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.0.hash_one(key)
    }
}
