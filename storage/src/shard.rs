//! A shard: one hash table segment behind a copy-on-write pointer, plus the counters
//! that let the expiry cycle skip it cheaply.
//!
//! Every operation takes the key's hash, computed once by [`crate::Db::hash`] and
//! shared between shard selection and the lookup inside the table.
//!
//! Copy-on-write: the table sits behind an `Arc`. Reads never copy. The first write to
//! a table that a snapshot still shares clones it (`Arc::make_mut`), which clones the
//! entry pointers, not the keys and values (see [`crate::Entry`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hashbrown::HashTable;

use crate::entry::Entry;
use crate::KeyHasher;

/// The table type of one shard.
pub type Table = HashTable<Entry>;

/// Whether a database may hold keys: set by the first insert into any of its shards
/// (under that shard's lock), cleared only while every shard of the database is locked
/// and empty (FLUSHDB, FLUSHALL, SWAPDB, restore). Lets a snapshot skip databases that
/// were never written without locking their shards (see [`crate::Keyspace::snapshot`]).
/// On its own cache lines: every insert reads it.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct InUse(AtomicBool);

impl InUse {
    pub(crate) fn new(v: bool) -> InUse {
        InUse(AtomicBool::new(v))
    }

    #[inline]
    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn set(&self, v: bool) {
        self.0.store(v, Ordering::Release)
    }

    /// Marks the database used; a load and no store once it is.
    #[inline]
    fn mark(&self) {
        if !self.0.load(Ordering::Relaxed) {
            self.0.store(true, Ordering::Release);
        }
    }
}

/// One shard of a database. A live database's shards are accessed under their locks
/// (see [`crate::Db::lock`]); a snapshot's shards are immutable and each access works
/// on a private read-only view sharing the table.
pub struct Shard {
    table: Arc<Table>,
    hasher: KeyHasher,
    /// The database's "may hold keys" flag (live shards only).
    in_use: Option<Arc<InUse>>,
    /// The preallocated capacity: the table never shrinks below it.
    min_capacity: usize,
    /// Bumped whenever the table may have moved its entries between buckets (a resize,
    /// an in-place rehash, a clear or a swap). SCAN cursors and the expiry cursor carry
    /// it and restart the shard when it changed, so they never skip a key.
    generation: u32,
    /// Entries that have a TTL.
    expires: usize,
    /// Expired entries dropped by `get`/`remove` (lazy expiry), for INFO expired_keys.
    expired_lazily: u64,
    /// No entry expires before this time (unix ms); `i64::MAX` when none has a TTL.
    next_expire: i64,
    /// Incremental active-expiry pass: next bucket, the generation it belongs to, and
    /// the earliest TTL seen so far in this pass (plus TTLs inserted during it).
    expire_cursor: usize,
    expire_generation: u32,
    pass_min: i64,
    /// A snapshot's shard: lookups never remove expired entries (they are only hidden),
    /// so reading a snapshot never copies its tables.
    read_only: bool,
}

/// What one step of active expiry did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpireStep {
    /// Keys removed.
    pub expired: usize,
    /// Buckets examined.
    pub scanned: usize,
    /// Whether the pass over this shard is complete (nothing left to look at now).
    pub done: bool,
}

impl Shard {
    pub(crate) fn new(capacity: usize, hasher: KeyHasher) -> Shard {
        let table = Table::with_capacity(capacity);
        Shard {
            min_capacity: table.capacity(),
            table: Arc::new(table),
            hasher,
            in_use: None,
            generation: 0,
            expires: 0,
            expired_lazily: 0,
            next_expire: i64::MAX,
            expire_cursor: 0,
            expire_generation: 0,
            pass_min: i64::MAX,
            read_only: false,
        }
    }

    /// Attaches the database's "may hold keys" flag (live shards).
    pub(crate) fn with_in_use(mut self, flag: Arc<InUse>) -> Shard {
        self.in_use = Some(flag);
        self
    }

    /// A read-only copy sharing this shard's table (O(1): one `Arc` clone), with its
    /// counters, for a snapshot (and for each access to a snapshot's shard).
    pub(crate) fn snapshot(&self) -> Shard {
        Shard {
            table: Arc::clone(&self.table),
            hasher: self.hasher.clone(),
            in_use: None,
            min_capacity: 0,
            generation: self.generation,
            expires: self.expires,
            expired_lazily: 0,
            next_expire: self.next_expire,
            expire_cursor: 0,
            expire_generation: 0,
            pass_min: i64::MAX,
            read_only: true,
        }
    }

    /// Makes this shard share `source`'s table and counters (SNAPSHOT RESTORE); returns
    /// the table it held.
    pub(crate) fn restore_from(&mut self, source: &Shard) -> Arc<Table> {
        let old = std::mem::replace(&mut self.table, Arc::clone(&source.table));
        self.expires = source.expires;
        self.next_expire = source.next_expire;
        self.generation = self.generation.wrapping_add(1);
        self.expire_cursor = 0;
        self.pass_min = i64::MAX;
        old
    }

    /// Whether this shard and `other` share one table (nothing written since).
    pub fn shares_table_with(&self, other: &Shard) -> bool {
        Arc::ptr_eq(&self.table, &other.table)
    }

    /// Bytes that only this shard's table keeps alive: its bucket array (when not
    /// shared) and the entries nobody else holds. For SNAPSHOT LIST.
    pub fn exclusive_bytes(&self) -> usize {
        if Arc::strong_count(&self.table) > 1 {
            return 0;
        }
        self.table.allocation_size()
            + self
                .table
                .iter()
                .filter(|e| e.ref_count() == 1)
                .map(Entry::heap_size)
                .sum::<usize>()
    }

    /// Number of entries, including expired ones not yet reclaimed (as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the shard holds no entry.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Number of entries with a TTL.
    pub fn expires(&self) -> usize {
        self.expires
    }

    /// The table, for read-only iteration (SCAN, KEYS, snapshots).
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The scan generation (see the field's docs).
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Bytes held by the table's bucket array (not the entries).
    pub fn table_bytes(&self) -> usize {
        self.table.allocation_size()
    }

    /// Looks up a live key. An expired key is removed on the way (lazy expiry) and
    /// reported absent. Records the access for `OBJECT IDLETIME`.
    #[inline]
    pub fn get(&mut self, hash: u64, key: &[u8], now: i64) -> Option<&Entry> {
        let idx = self.table.find_bucket_index(hash, |e| e.key() == key)?;
        if self.table.get_bucket(idx)?.is_expired(now) {
            if !self.read_only {
                self.remove_bucket(idx);
                self.expired_lazily += 1;
            }
            return None;
        }
        let e = self.table.get_bucket(idx)?;
        if !self.read_only {
            // Reading a snapshot does not count as an access of the live key.
            e.touch(secs(now));
        }
        Some(e)
    }

    /// A live entry, mutably, for in-place changes of a nested value (HSET on an
    /// existing hash: `entry.with_hash_mut(..)`). Copies the table first if a snapshot
    /// shares it. An expired key is removed and reported absent. Records the access.
    /// The caller must not change the entry's key or expiry through this reference.
    pub fn get_mut(&mut self, hash: u64, key: &[u8], now: i64) -> Option<&mut Entry> {
        let idx = self.table.find_bucket_index(hash, |e| e.key() == key)?;
        if self.table.get_bucket(idx)?.is_expired(now) {
            self.remove_bucket(idx);
            self.expired_lazily += 1;
            return None;
        }
        let e = Arc::make_mut(&mut self.table).get_bucket_mut(idx)?;
        e.touch(secs(now));
        Some(e)
    }

    /// Looks up a live key without recording an access or removing anything.
    #[inline]
    pub fn peek(&self, hash: u64, key: &[u8], now: i64) -> Option<&Entry> {
        self.table
            .find(hash, |e| e.key() == key)
            .filter(|e| !e.is_expired(now))
    }

    /// Whether a live key exists (EXISTS; does not count as an access).
    pub fn contains(&self, hash: u64, key: &[u8], now: i64) -> bool {
        self.peek(hash, key, now).is_some()
    }

    /// Inserts or replaces the entry for `entry.key()`. Returns the previous live entry.
    pub fn insert(&mut self, hash: u64, entry: Entry, now: i64) -> Option<Entry> {
        let old = self.remove(hash, entry.key(), now);
        self.insert_new(hash, entry, now);
        old
    }

    /// Inserts an entry whose key is known to be absent. A new entry (never accessed)
    /// starts its access clock now, so OBJECT IDLETIME of a fresh key is 0.
    fn insert_new(&mut self, hash: u64, entry: Entry, now: i64) {
        if let Some(flag) = &self.in_use {
            flag.mark();
        }
        entry.touch_if_new(secs(now));
        if let Some(t) = entry.expire_at() {
            self.expires += 1;
            self.next_expire = self.next_expire.min(t);
            self.pass_min = self.pass_min.min(t);
        }
        let table = Arc::make_mut(&mut self.table);
        if table.len() == table.capacity() {
            // hashbrown is about to resize or rehash in place: bucket positions change.
            self.generation = self.generation.wrapping_add(1);
        }
        let hasher = &self.hasher;
        table.insert_unique(hash, entry, |e| hasher.hash(e.key()));
    }

    /// Removes a key. Returns the entry if it was live (an expired one is dropped and
    /// reported absent). In a snapshot's shard an expired key is only reported absent:
    /// read commands that reclaim expired keys this way must not change a snapshot.
    pub fn remove(&mut self, hash: u64, key: &[u8], now: i64) -> Option<Entry> {
        let idx = self.table.find_bucket_index(hash, |e| e.key() == key)?;
        if self.read_only && self.table.get_bucket(idx)?.is_expired(now) {
            return None;
        }
        let old = self.remove_bucket(idx)?;
        if old.is_expired(now) {
            self.expired_lazily += 1;
            return None;
        }
        Some(old)
    }

    /// Expired keys this shard dropped on access (lazy expiry) since the last reset.
    pub fn expired_lazily(&self) -> u64 {
        self.expired_lazily
    }

    /// Zeroes the lazy expiry counter (CONFIG RESETSTAT).
    pub fn reset_expired_lazily(&mut self) {
        self.expired_lazily = 0;
    }

    fn remove_bucket(&mut self, idx: usize) -> Option<Entry> {
        let table = Arc::make_mut(&mut self.table);
        let (old, _) = table.get_bucket_entry(idx).ok()?.remove();
        if old.expire_at().is_some() {
            self.expires -= 1;
        }
        Some(old)
    }

    /// Removes every entry; returns the old table so the caller may drop it elsewhere
    /// (FLUSHALL ASYNC).
    pub fn clear(&mut self) -> Arc<Table> {
        let capacity = self.table.capacity();
        let fresh = Arc::new(Table::with_capacity(capacity.min(1024)));
        self.reset_counters();
        std::mem::replace(&mut self.table, fresh)
    }

    /// Exchanges the contents of two shards (SWAPDB).
    pub fn swap_contents(&mut self, other: &mut Shard) {
        std::mem::swap(&mut self.table, &mut other.table);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.next_expire, &mut other.next_expire);
        self.generation = self.generation.wrapping_add(1);
        other.generation = other.generation.wrapping_add(1);
        self.expire_cursor = 0;
        other.expire_cursor = 0;
        self.pass_min = i64::MAX;
        other.pass_min = i64::MAX;
    }

    fn reset_counters(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.expires = 0;
        self.next_expire = i64::MAX;
        self.expire_cursor = 0;
        self.pass_min = i64::MAX;
    }

    /// Gives memory back after mass deletion: when fewer than 1/8 of the table's slots
    /// are used (and it is above its preallocated size), rehashes into a table sized
    /// for twice the entries left, as Redis shrinks its dicts. Returns whether it did.
    pub fn shrink_if_sparse(&mut self) -> bool {
        let cap = self.table.capacity();
        let len = self.table.len();
        if cap <= 1024 || cap <= self.min_capacity || len >= cap / 8 {
            return false;
        }
        let target = (len * 2).max(self.min_capacity).max(64);
        let hasher = &self.hasher;
        Arc::make_mut(&mut self.table).shrink_to(target, |e| hasher.hash(e.key()));
        self.generation = self.generation.wrapping_add(1);
        true
    }

    /// Whether the expiry cycle has anything to do here at `now`.
    pub fn needs_expire(&self, now: i64) -> bool {
        self.expires > 0 && self.next_expire <= now
    }

    /// One bounded step of active expiry: examines up to `max_buckets` buckets from
    /// where the last step stopped and removes the expired entries found.
    pub fn expire_step(&mut self, now: i64, max_buckets: usize) -> ExpireStep {
        let mut step = ExpireStep::default();
        if !self.needs_expire(now) {
            step.done = true;
            return step;
        }
        if self.expire_generation != self.generation {
            // Entries moved since the pass began: start over so none is missed.
            self.expire_cursor = 0;
            self.expire_generation = self.generation;
            self.pass_min = i64::MAX;
        }
        if self.expire_cursor == 0 {
            self.pass_min = i64::MAX;
        }
        let buckets = self.table.num_buckets();
        let end = buckets.min(self.expire_cursor.saturating_add(max_buckets));
        let mut i = self.expire_cursor;
        while i < end {
            if let Some(t) = self.table.get_bucket(i).and_then(Entry::expire_at) {
                if t <= now {
                    self.remove_bucket(i);
                    step.expired += 1;
                } else {
                    self.pass_min = self.pass_min.min(t);
                }
            }
            i += 1;
        }
        step.scanned = i - self.expire_cursor;
        if i >= buckets {
            // Pass complete: pass_min is the earliest TTL left (inserts during the
            // pass lowered it too).
            self.next_expire = if self.expires == 0 {
                i64::MAX
            } else {
                self.pass_min
            };
            self.expire_cursor = 0;
            self.pass_min = i64::MAX;
            step.done = true;
        } else {
            self.expire_cursor = i;
        }
        step
    }

    /// Replaces the table with `table` (snapshot restore). Counters are recomputed.
    pub fn replace_table(&mut self, table: Arc<Table>) -> Arc<Table> {
        let old = std::mem::replace(&mut self.table, table);
        self.reset_counters();
        for e in self.table.iter() {
            if let Some(t) = e.expire_at() {
                self.expires += 1;
                self.next_expire = self.next_expire.min(t);
            }
        }
        old
    }

    /// A shared reference to the table (snapshot creation).
    pub fn share_table(&self) -> Arc<Table> {
        Arc::clone(&self.table)
    }

    /// Calls `visit` with a live entry at bucket `idx`, if there is one.
    pub(crate) fn bucket(&self, idx: usize, now: i64) -> Option<&Entry> {
        self.table.get_bucket(idx).filter(|e| !e.is_expired(now))
    }
}

/// Seconds of the access clock for a unix-ms time.
#[inline]
pub(crate) fn secs(now_ms: i64) -> u32 {
    (now_ms / 1000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard() -> (Shard, KeyHasher) {
        let h = KeyHasher::new();
        (Shard::new(0, h.clone()), h)
    }

    #[test]
    fn insert_get_remove() {
        let (mut s, h) = shard();
        let k = b"key";
        let hash = h.hash(k);
        assert!(s.get(hash, k, 0).is_none());
        assert!(s.insert(hash, Entry::new_str(k, b"v1", None), 0).is_none());
        assert_eq!(s.get(hash, k, 0).unwrap().as_str(), Some(&b"v1"[..]));
        let old = s.insert(hash, Entry::new_str(k, b"v2", None), 0).unwrap();
        assert_eq!(old.as_str(), Some(&b"v1"[..]));
        assert_eq!(s.len(), 1);
        assert_eq!(s.remove(hash, k, 0).unwrap().as_str(), Some(&b"v2"[..]));
        assert!(s.is_empty());
    }

    #[test]
    fn lazy_expiry_and_counters() {
        let (mut s, h) = shard();
        let hash = h.hash(b"k");
        s.insert(hash, Entry::new_str(b"k", b"v", Some(100)), 0);
        assert_eq!(s.expires(), 1);
        assert!(s.peek(hash, b"k", 99).is_some());
        assert!(s.peek(hash, b"k", 100).is_none());
        assert_eq!(s.len(), 1, "peek does not remove");
        assert!(s.get(hash, b"k", 100).is_none());
        assert_eq!(s.len(), 0, "get removes an expired key");
        assert_eq!(s.expired_lazily(), 1);
        assert_eq!(s.expires(), 0);
    }

    #[test]
    fn snapshot_shards_hide_expired_keys_but_keep_them() {
        let (mut s, h) = shard();
        let hash = h.hash(b"k");
        s.insert(hash, Entry::new_str(b"k", b"v", Some(100)), 0);
        let mut snap = s.snapshot();
        assert!(snap.get(hash, b"k", 100).is_none());
        assert!(snap.remove(hash, b"k", 100).is_none());
        assert_eq!(snap.len(), 1, "nothing deleted from a snapshot");
        assert!(snap.shares_table_with(&s), "and nothing copied");
        assert_eq!(snap.get(hash, b"k", 99).unwrap().as_str(), Some(&b"v"[..]));
    }

    #[test]
    fn active_expiry_removes_only_expired() {
        let (mut s, h) = shard();
        for i in 0..10_000 {
            let k = format!("k{i}");
            let ttl = if i % 2 == 0 { Some(50) } else { Some(5000) };
            s.insert(
                h.hash(k.as_bytes()),
                Entry::new_str(k.as_bytes(), b"v", ttl),
                0,
            );
        }
        s.insert(h.hash(b"p"), Entry::new_str(b"p", b"v", None), 0);
        assert!(!s.needs_expire(49));
        assert!(s.needs_expire(50));
        let mut total = 0;
        loop {
            let step = s.expire_step(60, 100);
            total += step.expired;
            if step.done {
                break;
            }
        }
        assert_eq!(total, 5000);
        assert_eq!(s.len(), 5001);
        assert_eq!(s.expires(), 5000);
        assert!(!s.needs_expire(60), "next expiry recomputed to 5000");
        assert!(s.needs_expire(5000));
    }

    #[test]
    fn nested_values_change_in_place_and_copy_when_shared() {
        let (mut s, h) = shard();
        let k = b"h";
        let hash = h.hash(k);
        s.insert(hash, Entry::new_hash(k, crate::HashValue::new(), None), 0);
        s.get_mut(hash, k, 0)
            .unwrap()
            .with_hash_mut(|m| m.insert(b"f", b"1"))
            .unwrap();
        let snap = s.share_table();
        s.get_mut(hash, k, 0)
            .unwrap()
            .with_hash_mut(|m| m.insert(b"f", b"2"))
            .unwrap();
        let seen = |t: &Table| {
            t.find(hash, |e| e.key() == k)
                .unwrap()
                .as_hash()
                .unwrap()
                .get(b"f")
                .map(<[u8]>::to_vec)
        };
        assert_eq!(seen(&snap), Some(b"1".to_vec()));
        assert_eq!(seen(s.table()), Some(b"2".to_vec()));
    }

    #[test]
    fn cow_copy_leaves_shared_table_untouched() {
        let (mut s, h) = shard();
        s.insert(h.hash(b"a"), Entry::new_str(b"a", b"1", None), 0);
        let snap = s.share_table();
        s.insert(h.hash(b"b"), Entry::new_str(b"b", b"2", None), 0);
        s.remove(h.hash(b"a"), b"a", 0);
        assert_eq!(snap.len(), 1);
        assert!(snap.find(h.hash(b"a"), |e| e.key() == b"a").is_some());
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn sparse_tables_shrink_but_not_below_preallocation() {
        let h = KeyHasher::new();
        let mut s = Shard::new(0, h.clone());
        for i in 0..20_000 {
            let k = format!("{i}");
            s.insert(
                h.hash(k.as_bytes()),
                Entry::new_str(k.as_bytes(), b"", None),
                0,
            );
        }
        for i in 0..19_900 {
            let k = format!("{i}");
            s.remove(h.hash(k.as_bytes()), k.as_bytes(), 0);
        }
        let before = s.table_bytes();
        let g = s.generation();
        assert!(s.shrink_if_sparse());
        assert!(s.table_bytes() < before / 10);
        assert_ne!(
            s.generation(),
            g,
            "a shrink moves entries: scans must notice"
        );
        assert_eq!(s.len(), 100);
        assert!(!s.shrink_if_sparse());

        let mut pre = Shard::new(50_000, h.clone());
        pre.insert(h.hash(b"x"), Entry::new_str(b"x", b"", None), 0);
        assert!(
            !pre.shrink_if_sparse(),
            "preallocated tables keep their size"
        );
    }

    #[test]
    fn generation_changes_on_growth() {
        let (mut s, h) = shard();
        let g0 = s.generation();
        for i in 0..100 {
            let k = format!("{i}");
            s.insert(
                h.hash(k.as_bytes()),
                Entry::new_str(k.as_bytes(), b"", None),
                0,
            );
        }
        assert_ne!(s.generation(), g0);
    }
}
