//! The keyspace as an in-process cache: byte keys and values with TTLs, a memory
//! budget kept by the server's eviction policies, and snapshots.
//!
//! ```
//! use std::time::Duration;
//! use shoal_storage::cache::{Cache, CacheConfig};
//! use shoal_storage::evict::Policy;
//!
//! let cache = Cache::new(CacheConfig {
//!     max_bytes: 1 << 20,
//!     policy: Policy::AllkeysTinyLfu,
//!     ..CacheConfig::default()
//! });
//! cache.set(b"user:1", b"alice", None);
//! cache.set(b"session:9", b"token", Some(Duration::from_secs(30)));
//! assert_eq!(cache.get(b"user:1").as_deref(), Some(&b"alice"[..]));
//! assert!(cache.remove(b"session:9"));
//! assert!(cache.get(b"session:9").is_none());
//!
//! // Past the budget, the policy makes room: the cache never holds more than it.
//! for i in 0..100_000u32 {
//!     cache.set(format!("k{i}").as_bytes(), &[0u8; 64], None);
//! }
//! assert!(cache.used_bytes() <= 1 << 20);
//! assert!(cache.evicted() > 0);
//! ```
//!
//! **What the budget counts**: each entry's own block and value (`Entry::heap_size`)
//! plus its table slot, as the cache stores and removes them: an estimate of the
//! data's memory, not of the process's (allocator rounding and the tables' empty
//! slots are not in it; the server counts real allocations instead). Changes made to
//! the keyspace behind the cache's back ([`Cache::keyspace`] is read-only by
//! convention) are not counted.
//!
//! **Time**: unlike the layers below, which take `now` as an argument, the cache reads
//! the system clock.
//!
//! **Snapshots**: [`Cache::snapshot`] is a point-in-time, read-only copy that shares
//! the tables copy-on-write (see [`crate::Keyspace::snapshot`]); what it retains is
//! not counted against the budget.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::entry::Entry;
use crate::evict::{Policy, Victims};
use crate::keyspace::{Keyspace, KeyspaceConfig};

/// Bytes a table slot costs per key: the entry pointer and a control byte.
const SLOT_BYTES: usize = std::mem::size_of::<Entry>() + 1;

/// How a [`Cache`] is set up.
#[derive(Clone, Copy, Debug)]
pub struct CacheConfig {
    /// The budget, in bytes of entries (see the module docs).
    pub max_bytes: u64,
    /// Which keys go when the budget is full (`NoEviction` refuses new keys instead).
    pub policy: Policy,
    /// Keys the tables are preallocated for.
    pub capacity: usize,
    /// Keys sampled per eviction round.
    pub samples: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_bytes: 64 << 20,
            policy: Policy::AllkeysTinyLfu,
            capacity: 10_000,
            samples: 5,
        }
    }
}

/// An in-process cache over one database of a [`Keyspace`]. Thread-safe: share it
/// behind an `Arc`; operations on different keys mostly take different locks.
pub struct Cache {
    ks: Keyspace,
    victims: Victims,
    config: CacheConfig,
    used: AtomicI64,
    evicted: AtomicU64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn cost(e: &Entry) -> i64 {
    (e.heap_size() + SLOT_BYTES) as i64
}

impl Cache {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> Cache {
        let ks = Keyspace::new(KeyspaceConfig {
            databases: 1,
            capacity: config.capacity,
            shards: 0,
        });
        let clock = ks.access_clock();
        clock.set_lfu(config.policy.is_lfu());
        clock.set_tinylfu(config.policy == Policy::AllkeysTinyLfu);
        Cache {
            ks,
            victims: Victims::default(),
            config,
            used: AtomicI64::new(0),
            evicted: AtomicU64::new(0),
        }
    }

    /// The value of `key`, if it is there and has not expired (counted as an access
    /// by the policy). The entry is a reference-counted handle: holding it copies
    /// nothing.
    pub fn get(&self, key: &[u8]) -> Option<CachedValue> {
        let now = now_ms();
        let db = self.ks.db(0);
        let h = db.hash(key);
        let mut shard = db.lock(h);
        if shard.peek_any(h, key).is_some_and(|e| e.is_expired(now)) {
            let gone = shard.take(h, key, i64::MIN).live();
            drop(shard);
            if let Some(e) = gone {
                self.used.fetch_sub(cost(&e), Ordering::Relaxed);
            }
            return None;
        }
        shard.get(h, key, now).cloned().map(CachedValue)
    }

    /// Stores `value` under `key`, replacing what was there, with a time to live;
    /// then evicts as the policy says until the budget holds. False when the policy
    /// is `NoEviction` and the budget is full (nothing is stored then).
    pub fn set(&self, key: &[u8], value: &[u8], ttl: Option<Duration>) -> bool {
        let now = now_ms();
        let expire_at = ttl.map(|t| now.saturating_add(t.as_millis() as i64));
        let entry = Entry::new_str(key, value, expire_at);
        let added = cost(&entry);
        if self.config.policy == Policy::NoEviction
            && self.used.load(Ordering::Relaxed) + added > self.config.max_bytes as i64
        {
            return false;
        }
        let db = self.ks.db(0);
        let h = db.hash(key);
        let old = {
            let mut shard = db.lock(h);
            let old = shard.take(h, key, i64::MIN).live();
            shard.insert(h, entry, now);
            old
        };
        let removed = old.as_ref().map_or(0, cost);
        self.used.fetch_add(added - removed, Ordering::Relaxed);
        drop(old);
        self.make_room(now);
        true
    }

    /// Removes `key`; true if it was there and had not expired.
    pub fn remove(&self, key: &[u8]) -> bool {
        let now = now_ms();
        let db = self.ks.db(0);
        let h = db.hash(key);
        let gone = db.lock(h).take(h, key, i64::MIN).live();
        match gone {
            Some(e) => {
                self.used.fetch_sub(cost(&e), Ordering::Relaxed);
                !e.is_expired(now)
            }
            None => false,
        }
    }

    /// Evicts until the entries fit the budget again.
    fn make_room(&self, now: i64) {
        let max = self.config.max_bytes as i64;
        while self.used.load(Ordering::Relaxed) > max && self.config.policy != Policy::NoEviction {
            let evicted = self.victims.evict_one(
                &self.ks,
                self.config.policy,
                self.config.samples,
                now,
                &mut |_, key, volatile| {
                    let db = self.ks.db(0);
                    let h = db.hash(key);
                    let mut shard = db.lock(h);
                    if volatile
                        && shard
                            .peek_any(h, key)
                            .is_none_or(|e| e.expire_at().is_none())
                    {
                        return false;
                    }
                    let Some(e) = shard.take(h, key, i64::MIN).live() else {
                        return false;
                    };
                    drop(shard);
                    self.used.fetch_sub(cost(&e), Ordering::Relaxed);
                    self.evicted.fetch_add(1, Ordering::Relaxed);
                    true
                },
            );
            if !evicted {
                break;
            }
        }
    }

    /// Keys held (expired ones not yet removed included).
    pub fn len(&self) -> usize {
        self.ks.db(0).len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the entries take, as the budget counts them.
    pub fn used_bytes(&self) -> u64 {
        self.used.load(Ordering::Relaxed).max(0) as u64
    }

    /// Keys evicted so far.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// A point-in-time, read-only copy (see the module docs).
    ///
    /// ```
    /// use shoal_storage::cache::{Cache, CacheConfig};
    ///
    /// let cache = Cache::new(CacheConfig::default());
    /// cache.set(b"k", b"before", None);
    /// let snap = cache.snapshot();
    /// cache.set(b"k", b"after", None);
    /// let db = snap.db(0);
    /// let h = db.hash(b"k");
    /// let old = db.lock(h).get(h, b"k", 0).cloned().unwrap();
    /// assert_eq!(old.as_str(), Some(&b"before"[..]));
    /// ```
    pub fn snapshot(&self) -> Keyspace {
        self.ks.snapshot()
    }

    /// The keyspace underneath (database 0), for reads and the merge family; changes
    /// made through it are not counted against the budget.
    pub fn keyspace(&self) -> &Keyspace {
        &self.ks
    }
}

/// A cached value: a handle on the stored entry (no copy).
#[derive(Clone, Debug)]
pub struct CachedValue(Entry);

impl CachedValue {
    /// The entry (its key, value and expiry).
    pub fn entry(&self) -> &Entry {
        &self.0
    }
}

impl std::ops::Deref for CachedValue {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.as_str().unwrap_or_default()
    }
}

impl PartialEq for CachedValue {
    fn eq(&self, other: &CachedValue) -> bool {
        **self == **other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_holds_and_popular_keys_stay() {
        for policy in [
            Policy::AllkeysLru,
            Policy::AllkeysLfu,
            Policy::AllkeysRandom,
            Policy::AllkeysTinyLfu,
        ] {
            let cache = Cache::new(CacheConfig {
                max_bytes: 200_000,
                policy,
                ..CacheConfig::default()
            });
            for i in 0..20_000u32 {
                cache.set(format!("k{i}").as_bytes(), &[7u8; 50], None);
                assert!(cache.used_bytes() <= 200_000, "{policy:?}");
            }
            assert!(cache.evicted() > 10_000, "{policy:?}");
            // The count matches what is stored.
            let mut total = 0;
            cache
                .keyspace()
                .db(0)
                .for_each(i64::MIN, |e| total += cost(e));
            assert_eq!(total as u64, cache.used_bytes(), "{policy:?}");
        }
    }

    #[test]
    fn ttls_expire_and_noeviction_refuses() {
        let cache = Cache::new(CacheConfig {
            max_bytes: 10_000,
            policy: Policy::NoEviction,
            ..CacheConfig::default()
        });
        assert!(cache.set(b"gone", b"v", Some(Duration::from_millis(1))));
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.get(b"gone").is_none());
        assert_eq!(cache.used_bytes(), 0);
        let mut stored = 0;
        while cache.set(format!("k{stored}").as_bytes(), &[1u8; 100], None) {
            stored += 1;
        }
        assert!(stored > 10 && cache.used_bytes() <= 10_000);
        assert_eq!(cache.evicted(), 0);
        assert!(cache.remove(b"k0"));
        assert!(cache.set(b"again", b"v", None));
    }
}
