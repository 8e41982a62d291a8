//! A shard: the unit of locking, holding a few hash table *segments* (the unit of
//! copy-on-write, see [`crate::segment`]), plus the counters that let the expiry
//! cycle skip it cheaply.
//!
//! Every operation takes the key's hash, computed once by [`crate::Db::hash`] and
//! shared between shard selection (bits 32..48), segment selection (bits 48..56) and
//! the lookup inside the segment (hashbrown: the low bits and the top 7).
//!
//! Copy-on-write, on two levels: the segment directory sits behind an `Arc`, and each
//! segment's table behind its own. Taking a snapshot clones one `Arc` per shard. The
//! first write to a shard a snapshot still shares copies the directory (a few
//! pointers); writes to a segment whose table is shared go to that segment's overlay
//! until the snapshot lets go or the overlay grows large enough to copy the table
//! (cloning entry pointers, not keys and values: see [`crate::Entry`]). Segments hold
//! about [`SEGMENT_TARGET`] to twice that many entries (a shard doubles its segments
//! when they fill), so a copy is a fraction of a millisecond whatever the shard's size.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::entry::Entry;
use crate::evict::AccessClock;
use crate::segment::{Segment, Table};
use crate::sketch::FrequencySketch;
use crate::KeyHasher;

/// A shard's segments, in segment order.
pub type Segments = Vec<Segment>;

/// Entries per segment a shard is sized for; it doubles its segments when one holds
/// twice this many.
pub const SEGMENT_TARGET: usize = 512;

/// Most segments in a shard (8 hash bits); beyond, segments grow as needed.
pub const MAX_SEGMENTS: usize = 256;

/// The segment of `hash` among `n` (a power of two).
#[inline]
fn seg_index(hash: u64, n: usize) -> usize {
    ((hash >> 48) as usize) & (n - 1)
}

/// Which shards of a database may hold keys: one bit per shard, set by the first
/// insert into that shard (under its lock), cleared only while the shard is locked and
/// empty (FLUSHDB, FLUSHALL, SWAPDB, restore). Lets a snapshot skip shards, and whole
/// databases, that hold nothing without locking them (see
/// [`crate::Keyspace::snapshot`]). On its own cache lines: every insert reads it.
#[repr(align(128))]
pub(crate) struct InUse(Box<[AtomicU64]>);

impl InUse {
    /// Bits for `shards` shards, all clear.
    pub(crate) fn new(shards: usize) -> InUse {
        InUse(
            (0..shards.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
        )
    }

    /// All bits, 64 shards per word.
    pub(crate) fn words(&self) -> Vec<u64> {
        self.0.iter().map(|w| w.load(Ordering::Acquire)).collect()
    }

    /// Whether any shard may hold keys.
    pub(crate) fn any(&self) -> bool {
        self.0.iter().any(|w| w.load(Ordering::Acquire) != 0)
    }

    /// Sets or clears shard `i`'s bit; the caller holds that shard's lock.
    pub(crate) fn set(&self, i: usize, v: bool) {
        if v {
            self.0[i / 64].fetch_or(1 << (i % 64), Ordering::Release);
        } else {
            self.0[i / 64].fetch_and(!(1 << (i % 64)), Ordering::Release);
        }
    }

    /// Clears every bit; the caller holds every shard, all empty.
    pub(crate) fn clear(&self) {
        for w in self.0.iter() {
            w.store(0, Ordering::Release);
        }
    }

    /// Marks shard `i` used: one load and no store once it is.
    #[inline]
    fn mark(&self, i: usize) {
        if self.0[i / 64].load(Ordering::Relaxed) & (1 << (i % 64)) == 0 {
            self.set(i, true);
        }
    }
}

/// One shard of a database. A live database's shards are accessed under their locks
/// (see [`crate::Db::lock`]); a snapshot's shards are immutable and each access works
/// on a private read-only view sharing the table.
pub struct Shard {
    segs: Arc<Segments>,
    hasher: KeyHasher,
    /// The database's "may hold keys" bits and this shard's index there (live shards
    /// only).
    in_use: Option<(Arc<InUse>, usize)>,
    /// The preallocated capacity of each segment: none shrinks below it.
    min_capacity: usize,
    /// Bumped whenever entries may have moved between buckets (a resize, an in-place
    /// rehash, a split, a clear or a swap). SCAN cursors and the expiry cursor carry it
    /// and restart the shard when it changed, so they never skip a key. Bucket
    /// positions are global: segment 0's buckets, then segment 1's, and so on.
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
    /// How accesses are recorded (LRU time or LFU counter); live shards only (a
    /// snapshot's shard records none).
    clock: Option<Arc<AccessClock>>,
    /// How often each key was looked up lately (evicted and missing keys included),
    /// while the clock asks for it (`allkeys-tinylfu`); built on first use.
    sketch: Option<Box<FrequencySketch>>,
    /// Lookups counted since the sketch's size was last checked.
    sketch_checks: u32,
    /// The hashes of keys added lately, oldest first (`allkeys-tinylfu`: eviction
    /// judges each against the sampled victim before it joins the rest), at most
    /// about a tenth of the shard's keys.
    window: std::collections::VecDeque<u64>,
}

/// What a lookup found: a live entry, a key that had expired (removed on the way,
/// except in a snapshot's shard), or nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Found<T> {
    /// The key is live.
    Live(T),
    /// The key was there but had expired: lazy expiry removed it (a change the
    /// server announces), unless the shard is a snapshot's.
    Expired,
    /// No such key.
    Absent,
}

impl<T> Found<T> {
    /// The live value, if any.
    #[inline]
    pub fn live(self) -> Option<T> {
        match self {
            Found::Live(v) => Some(v),
            _ => None,
        }
    }
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
        let n = (capacity / SEGMENT_TARGET)
            .next_power_of_two()
            .clamp(1, MAX_SEGMENTS);
        let per_segment = capacity.div_ceil(n);
        let segs: Segments = (0..n)
            .map(|_| Segment::new(Table::with_capacity(per_segment)))
            .collect();
        Shard {
            min_capacity: segs[0].capacity(),
            ..Shard::over(Arc::new(segs), hasher, false)
        }
    }

    /// A shard over `segs` with its counters at their start: nothing known to expire,
    /// no expiry pass under way.
    fn over(segs: Arc<Segments>, hasher: KeyHasher, read_only: bool) -> Shard {
        Shard {
            segs,
            hasher,
            in_use: None,
            min_capacity: 0,
            generation: 0,
            expires: 0,
            expired_lazily: 0,
            next_expire: i64::MAX,
            expire_cursor: 0,
            expire_generation: 0,
            pass_min: i64::MAX,
            read_only,
            clock: None,
            sketch: None,
            sketch_checks: 0,
            window: std::collections::VecDeque::new(),
        }
    }

    /// Attaches the database's "may hold keys" bits, this shard being number `index`
    /// (live shards).
    pub(crate) fn with_in_use(mut self, bits: Arc<InUse>, index: usize) -> Shard {
        self.in_use = Some((bits, index));
        self
    }

    /// Attaches the keyspace's access clock (live shards).
    pub(crate) fn with_clock(mut self, clock: Arc<AccessClock>) -> Shard {
        self.clock = Some(clock);
        self
    }

    /// A read-only empty shard sharing `empty` (a snapshot's shard that held nothing).
    pub(crate) fn empty_view(empty: &Arc<Segments>, hasher: &KeyHasher) -> Shard {
        Shard::over(Arc::clone(empty), hasher.clone(), true)
    }

    /// A read-only copy sharing this shard's segments (O(1): one `Arc` clone), with its
    /// counters, for a snapshot (and for each access to a snapshot's shard).
    pub(crate) fn snapshot(&self) -> Shard {
        Shard {
            generation: self.generation,
            expires: self.expires,
            next_expire: self.next_expire,
            ..Shard::over(Arc::clone(&self.segs), self.hasher.clone(), true)
        }
    }

    /// Makes this shard share `source`'s segments and counters (SNAPSHOT RESTORE);
    /// returns the segments it held.
    pub(crate) fn restore_from(&mut self, source: &Shard) -> Arc<Segments> {
        let old = std::mem::replace(&mut self.segs, Arc::clone(&source.segs));
        self.expires = source.expires;
        self.next_expire = source.next_expire;
        self.generation = self.generation.wrapping_add(1);
        self.expire_cursor = 0;
        self.pass_min = i64::MAX;
        old
    }

    /// Whether this shard and `other` share all their segments (nothing written since).
    pub fn shares_table_with(&self, other: &Shard) -> bool {
        Arc::ptr_eq(&self.segs, &other.segs)
    }

    /// Whether this shard's segments are `segs` (the same directory).
    pub(crate) fn holds(&self, segs: &Arc<Segments>) -> bool {
        Arc::ptr_eq(&self.segs, segs)
    }

    /// Whether segment `i` of this shard is segment `i` of `other` (unchanged since).
    pub fn shares_segment_with(&self, other: &Shard, i: usize) -> bool {
        match (self.segs.get(i), other.segs.get(i)) {
            (Some(a), Some(b)) => a.ptr_eq(b),
            _ => false,
        }
    }

    /// How many of this shard's segments still use `other`'s table for that segment
    /// (written to through an overlay or not at all, not copied).
    pub fn tables_shared_with(&self, other: &Shard) -> usize {
        self.segs
            .iter()
            .zip(other.segs.iter())
            .filter(|(a, b)| a.shares_table_with(b))
            .count()
    }

    /// Bytes that only this shard keeps alive: the bucket arrays of the segments
    /// nobody else holds and their entries nobody else holds.
    pub fn exclusive_bytes(&self) -> usize {
        if Arc::strong_count(&self.segs) > 1 {
            return 0;
        }
        self.segs.iter().map(Segment::exclusive_bytes).sum()
    }

    /// Bytes this (snapshot's) shard keeps alive that `live` no longer uses: what it
    /// holds alone ([`Shard::exclusive_bytes`]) plus the entries of tables it shares
    /// with `live` that `live`'s overlays replaced or removed and nothing else
    /// references. For SNAPSHOT LIST. (Two snapshots of the same tables each count
    /// those entries.)
    pub fn retained_beyond(&self, live: &Shard) -> usize {
        if Arc::ptr_eq(&self.segs, &live.segs) {
            return 0;
        }
        let shared = Arc::strong_count(&self.segs) > 1;
        let aligned = self.segs.len() == live.segs.len();
        self.segs
            .iter()
            .enumerate()
            .map(|(i, seg)| {
                let mut n = if shared { 0 } else { seg.exclusive_bytes() };
                if aligned {
                    n += seg.hidden_by(&live.segs[i]);
                }
                n
            })
            .sum()
    }

    /// Number of entries, including expired ones not yet reclaimed (as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        entries_in(&self.segs)
    }

    /// Whether the shard holds no entry.
    pub fn is_empty(&self) -> bool {
        self.segs.iter().all(|t| t.is_empty())
    }

    /// Number of entries with a TTL.
    pub fn expires(&self) -> usize {
        self.expires
    }

    /// Segments whose overlay is not yet applied (see [`crate::segment`]).
    pub fn pending_overlays(&self) -> usize {
        self.segs.iter().filter(|s| s.has_overlay()).count()
    }

    /// Number of segments.
    pub fn num_segments(&self) -> usize {
        self.segs.len()
    }

    /// Segment `i`'s entries (none when out of range).
    pub fn segment(&self, i: usize) -> impl Iterator<Item = &Entry> + '_ {
        self.segs.get(i).into_iter().flat_map(Segment::iter)
    }

    /// Every entry (expired ones too), segment by segment.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.segs.iter().flat_map(Segment::iter)
    }

    /// The scan generation (see the field's docs).
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Bytes held by the segments' bucket arrays (not the entries).
    pub fn table_bytes(&self) -> usize {
        self.segs.iter().map(|t| t.allocation_size()).sum()
    }

    /// Positions over all segments, for SCAN and the expiry cursor: each segment's
    /// buckets, then one for its overlay (see [`crate::segment`]).
    pub fn num_buckets(&self) -> usize {
        self.segs.iter().map(Segment::positions).sum()
    }

    /// Segment and position within it of global position `idx`.
    fn locate(&self, mut idx: usize) -> Option<(usize, usize)> {
        for (i, t) in self.segs.iter().enumerate() {
            let n = t.positions();
            if idx < n {
                return Some((i, idx));
            }
            idx -= n;
        }
        None
    }

    /// Looks up a live key. An expired key is removed on the way (lazy expiry) and
    /// reported absent. Records the access for `OBJECT IDLETIME`.
    #[inline]
    pub fn get(&mut self, hash: u64, key: &[u8], now: i64) -> Option<&Entry> {
        self.find(hash, key, now, true).live()
    }

    /// Looks up a key, telling a key that just expired (and was removed: lazy expiry;
    /// a snapshot's shard removes nothing) from one that was not there. `touch`
    /// records the access for `OBJECT IDLETIME` (never on a snapshot's shard).
    #[inline]
    pub fn find(&mut self, hash: u64, key: &[u8], now: i64, touch: bool) -> Found<&Entry> {
        if touch {
            self.count_lookup(hash);
        }
        let s = seg_index(hash, self.segs.len());
        let Some(loc) = self.segs[s].locate(hash, key) else {
            return Found::Absent;
        };
        match self.segs[s].at(loc) {
            None => return Found::Absent,
            Some(e) if e.is_expired(now) => {
                if !self.read_only {
                    self.remove_expired(s, hash, key);
                }
                return Found::Expired;
            }
            Some(_) => {}
        }
        let Some(e) = self.segs[s].at(loc) else {
            return Found::Absent;
        };
        if touch && !self.read_only {
            // Reading a snapshot does not count as an access of the live key.
            self.touch(e, now);
        }
        Found::Live(e)
    }

    /// A live entry, mutably, for in-place changes of a nested value (HSET on an
    /// existing hash: `entry.with_hash_mut(..)`). If a snapshot shares the entry's
    /// segment, the entry is first given to the segment's overlay (see
    /// [`crate::segment`]). An expired key is removed and reported absent. Records the
    /// access. The caller must not change the entry's key or expiry through this
    /// reference.
    pub fn get_mut(&mut self, hash: u64, key: &[u8], now: i64) -> Option<&mut Entry> {
        self.find_mut(hash, key, now).live()
    }

    /// [`Shard::get_mut`], telling a key that just expired from an absent one (as
    /// [`Shard::find`]).
    pub fn find_mut(&mut self, hash: u64, key: &[u8], now: i64) -> Found<&mut Entry> {
        self.count_lookup(hash);
        let s = seg_index(hash, self.segs.len());
        let Some(loc) = self.segs[s].locate(hash, key) else {
            return Found::Absent;
        };
        match self.segs[s].at(loc) {
            None => return Found::Absent,
            Some(e) if e.is_expired(now) => {
                self.remove_expired(s, hash, key);
                return Found::Expired;
            }
            Some(_) => {}
        }
        // Copying the directory (if shared) keeps each segment, so `loc` holds.
        match Arc::make_mut(&mut self.segs)[s].find_mut_at(
            loc,
            hash,
            key,
            &self.hasher,
            &mut self.generation,
        ) {
            Some(e) => {
                if let Some(clock) = &self.clock {
                    clock.touch(e, now);
                } else {
                    e.touch(secs(now));
                }
                Found::Live(e)
            }
            None => Found::Absent,
        }
    }

    /// Counts a lookup of `hash` in the frequency sketch, when the clock keeps one.
    #[inline]
    fn count_lookup(&mut self, hash: u64) {
        if self.clock.as_ref().is_some_and(|c| c.is_tinylfu()) {
            self.count_in_sketch(hash);
        }
    }

    #[cold]
    fn count_in_sketch(&mut self, hash: u64) {
        self.sketch_checks = self.sketch_checks.wrapping_add(1);
        let resize = match &self.sketch {
            None => true,
            // Sized again (forgetting) once the shard holds twice what it was for.
            Some(s) => self.sketch_checks % 4096 == 0 && self.len() > 2 * s.capacity(),
        };
        if resize {
            // For the keys the shard was preallocated for (config `capacity`), or
            // more: as a cache's sketch is sized for its maximum.
            let keys = self.len().max(self.min_capacity * self.segs.len());
            self.sketch = Some(Box::new(FrequencySketch::new(keys)));
        }
        if let Some(s) = self.sketch.as_mut() {
            s.increment(hash);
        }
    }

    /// Puts a new key's hash at the back of the window; past its bound the oldest
    /// leaves it (joining the other keys unjudged: memory was not short).
    #[cold]
    fn enter_window(&mut self, hash: u64) {
        self.window.push_back(hash);
        if self.window.len() > 64 && self.window.len() % 64 == 0 {
            let bound = (self.len() / 10).max(64);
            while self.window.len() > bound {
                self.window.pop_front();
            }
        }
    }

    /// The oldest key of the window still present, taken out of the window, with
    /// its frequency estimate (keys removed since are skipped).
    pub fn window_pop(&mut self) -> Option<(Entry, u32)> {
        while let Some(hash) = self.window.pop_front() {
            let s = seg_index(hash, self.segs.len());
            if let Some(e) = self.segs[s].find_hashed(hash, &self.hasher) {
                let freq = self.sketch.as_ref().map_or(0, |sk| sk.estimate(hash));
                return Some((e.clone(), freq));
            }
        }
        None
    }

    /// Keys in the window.
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// The frequency sketch's estimate of how often `key` was looked up lately (0
    /// without a sketch).
    pub fn frequency(&self, key: &[u8]) -> u32 {
        self.sketch
            .as_ref()
            .map_or(0, |s| s.estimate(self.hasher.hash(key)))
    }

    /// Bytes of the frequency sketch.
    pub fn sketch_bytes(&self) -> usize {
        self.sketch.as_ref().map_or(0, |s| s.heap_size())
    }

    #[inline]
    fn touch(&self, e: &Entry, now: i64) {
        match &self.clock {
            Some(clock) => clock.touch(e, now),
            None => e.touch(secs(now)),
        }
    }

    /// Looks up a live key without recording an access or removing anything.
    #[inline]
    pub fn peek(&self, hash: u64, key: &[u8], now: i64) -> Option<&Entry> {
        self.segs[seg_index(hash, self.segs.len())]
            .find(hash, key)
            .filter(|e| !e.is_expired(now))
    }

    /// Looks a key up whether or not it has expired (WATCH asks whether a key is
    /// present but expired), without recording an access or removing anything.
    #[inline]
    pub fn peek_any(&self, hash: u64, key: &[u8]) -> Option<&Entry> {
        self.segs[seg_index(hash, self.segs.len())].find(hash, key)
    }

    /// Whether a live key exists (EXISTS; does not count as an access).
    pub fn contains(&self, hash: u64, key: &[u8], now: i64) -> bool {
        self.peek(hash, key, now).is_some()
    }

    /// Inserts or replaces the entry for `entry.key()`. Returns the previous live
    /// entry (an expired one is dropped and reported absent). A new entry (never
    /// accessed) starts its access clock now, so OBJECT IDLETIME of a fresh key is 0.
    pub fn insert(&mut self, hash: u64, entry: Entry, now: i64) -> Option<Entry> {
        self.put(hash, entry, now).live()
    }

    /// [`Shard::insert`], telling an expired entry it replaced from no entry.
    pub fn put(&mut self, hash: u64, entry: Entry, now: i64) -> Found<Entry> {
        if let Some((bits, i)) = &self.in_use {
            bits.mark(*i);
        }
        match &self.clock {
            Some(clock) if clock.is_lfu() => {
                // The key it replaces, if any, hands on its counter.
                let old = self.segs[seg_index(hash, self.segs.len())].find(hash, entry.key());
                clock.start(&entry, old, now);
            }
            _ => entry.touch_if_new(secs(now)),
        }
        if let Some(t) = entry.expire_at() {
            self.expires += 1;
            self.next_expire = self.next_expire.min(t);
            self.pass_min = self.pass_min.min(t);
        }
        let s = seg_index(hash, self.segs.len());
        if self.segs[s].len() >= 2 * SEGMENT_TARGET
            && self.segs.len() < MAX_SEGMENTS
            && self.segs[s].find(hash, entry.key()).is_none()
        {
            self.split();
        }
        let s = seg_index(hash, self.segs.len());
        let Some(old) = Arc::make_mut(&mut self.segs)[s].upsert(
            hash,
            entry,
            &self.hasher,
            &mut self.generation,
        ) else {
            if self.clock.as_ref().is_some_and(|c| c.is_tinylfu()) {
                self.enter_window(hash);
            }
            return Found::Absent;
        };
        self.uncount(&old);
        if old.is_expired(now) {
            self.expired_lazily += 1;
            return Found::Expired;
        }
        Found::Live(old)
    }

    /// Doubles the number of segments, rehashing every entry into new segments (the
    /// old ones may be shared with a snapshot, so they are left as they are). As a
    /// table resize, O(entries) once per doubling.
    fn split(&mut self) {
        let n = self.segs.len() * 2;
        let per_segment = self.len().div_ceil(n);
        let hasher = &self.hasher;
        let mut fresh: Vec<Table> = (0..n)
            .map(|_| Table::with_capacity(per_segment + per_segment / 4))
            .collect();
        for e in self.segs.iter().flat_map(Segment::iter) {
            let h = hasher.hash(e.key());
            fresh[seg_index(h, n)].insert_unique(h, e.clone(), |x| hasher.hash(x.key()));
        }
        self.segs = Arc::new(fresh.into_iter().map(Segment::new).collect());
        self.min_capacity /= 2;
        self.generation = self.generation.wrapping_add(1);
    }

    /// Removes a key. Returns the entry if it was live (an expired one is dropped and
    /// reported absent). In a snapshot's shard an expired key is only reported absent:
    /// read commands that reclaim expired keys this way must not change a snapshot.
    pub fn remove(&mut self, hash: u64, key: &[u8], now: i64) -> Option<Entry> {
        self.take(hash, key, now).live()
    }

    /// [`Shard::remove`], telling a key that had expired from an absent one.
    pub fn take(&mut self, hash: u64, key: &[u8], now: i64) -> Found<Entry> {
        let s = seg_index(hash, self.segs.len());
        if self.read_only {
            return match self.segs[s].find(hash, key) {
                None => Found::Absent,
                Some(e) if e.is_expired(now) => Found::Expired,
                Some(_) => self
                    .remove_in(s, hash, key)
                    .map_or(Found::Absent, Found::Live),
            };
        }
        let Some(old) = self.remove_in(s, hash, key) else {
            return Found::Absent;
        };
        if old.is_expired(now) {
            self.expired_lazily += 1;
            return Found::Expired;
        }
        Found::Live(old)
    }

    /// Removes an expired key found on access (lazy expiry).
    fn remove_expired(&mut self, s: usize, hash: u64, key: &[u8]) {
        if self.remove_in(s, hash, key).is_some() {
            self.expired_lazily += 1;
        }
    }

    /// Removes `key` from segment `s`, keeping the TTL count.
    fn remove_in(&mut self, s: usize, hash: u64, key: &[u8]) -> Option<Entry> {
        let old = Arc::make_mut(&mut self.segs)[s].remove(
            hash,
            key,
            &self.hasher,
            &mut self.generation,
        )?;
        self.uncount(&old);
        Some(old)
    }

    /// Keeps the TTL count for an entry that left the shard.
    #[inline]
    fn uncount(&mut self, old: &Entry) {
        if old.expire_at().is_some() {
            self.expires -= 1;
        }
    }

    /// Expired keys this shard dropped on access (lazy expiry) since the last reset.
    pub fn expired_lazily(&self) -> u64 {
        self.expired_lazily
    }

    /// Zeroes the lazy expiry counter (CONFIG RESETSTAT).
    pub fn reset_expired_lazily(&mut self) {
        self.expired_lazily = 0;
    }

    /// Removes the entry at bucket `i` of segment `s`'s table, keeping the TTL count.
    fn remove_at(&mut self, s: usize, i: usize) -> Option<Entry> {
        let old =
            Arc::make_mut(&mut self.segs)[s].remove_at(i, &self.hasher, &mut self.generation)?;
        self.uncount(&old);
        Some(old)
    }

    /// Applies up to `max` of the overlays that no snapshot needs any more to their
    /// tables (housekeeping: a write to the segment would do it too); returns how many
    /// it applied. Each is O(its overlay); the bound keeps the shard's lock short.
    pub fn settle(&mut self, max: usize) -> usize {
        let pending = |seg: &Segment| seg.has_overlay() && seg.table_unshared_hint();
        if max == 0 || !self.segs.iter().any(pending) {
            return 0;
        }
        let hasher = &self.hasher;
        let mut applied = 0;
        for seg in Arc::make_mut(&mut self.segs).iter_mut() {
            if applied == max {
                break;
            }
            if pending(seg) && seg.settle(hasher) {
                applied += 1;
            }
        }
        if applied > 0 {
            self.generation = self.generation.wrapping_add(1);
        }
        applied
    }

    /// Removes every entry; returns the old segments so the caller may drop them
    /// elsewhere (FLUSHALL ASYNC).
    ///
    /// The shard starts over small: one segment of at most 1024 slots (it splits
    /// again as it refills), so a flush gives the memory back, preallocation included.
    pub fn clear(&mut self) -> Arc<Segments> {
        let capacity = self.len().min(1024);
        let fresh: Segments = vec![Segment::new(Table::with_capacity(capacity))];
        self.min_capacity = 0;
        self.reset_counters();
        std::mem::replace(&mut self.segs, Arc::new(fresh))
    }

    /// Exchanges the contents of two shards (SWAPDB).
    pub fn swap_contents(&mut self, other: &mut Shard) {
        std::mem::swap(&mut self.segs, &mut other.segs);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.next_expire, &mut other.next_expire);
        std::mem::swap(&mut self.min_capacity, &mut other.min_capacity);
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

    /// Gives memory back after mass deletion: each segment of which fewer than 1/8 of
    /// the slots are used (and above its preallocated size and 256 slots) is rehashed
    /// into a table sized for twice the entries left, as Redis shrinks its dicts.
    /// Returns whether any was. (The number of segments stays.)
    pub fn shrink_if_sparse(&mut self) -> bool {
        let sparse: Vec<usize> = (0..self.segs.len())
            .filter(|&i| {
                let seg = &self.segs[i];
                let (cap, len) = (seg.capacity(), seg.len());
                cap > 256
                    && cap > self.min_capacity
                    && len < cap / 8
                    && !seg.has_overlay()
                    && seg.table_unshared_hint()
            })
            .collect();
        if sparse.is_empty() {
            return false;
        }
        let hasher = &self.hasher;
        let min = self.min_capacity;
        let mut shrunk = false;
        let segs = Arc::make_mut(&mut self.segs);
        for i in sparse {
            // A table a snapshot shares is left as it is.
            if let Some(table) = segs[i].table_mut() {
                let target = (table.len() * 2).max(min).max(64);
                table.shrink_to(target, |e| hasher.hash(e.key()));
                shrunk = true;
            }
        }
        if shrunk {
            self.generation = self.generation.wrapping_add(1);
        }
        shrunk
    }

    /// Whether the expiry cycle has anything to do here at `now`.
    pub fn needs_expire(&self, now: i64) -> bool {
        self.expires > 0 && self.next_expire <= now
    }

    /// One bounded step of active expiry: examines up to `max_buckets` buckets from
    /// where the last step stopped and removes the expired entries found, passing
    /// each to `on_expired` (the server's write hook) before it is dropped.
    pub fn expire_step(
        &mut self,
        now: i64,
        max_buckets: usize,
        on_expired: &mut dyn FnMut(&Entry),
    ) -> ExpireStep {
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
        let mut at = self.expire_cursor;
        let mut pos = self.locate(at);
        let generation = self.generation;
        while let Some((s, mut i)) = pos {
            // The segment's table buckets, then its overlay's position.
            let last = self.segs[s].positions() - 1;
            while i <= last && step.scanned < max_buckets {
                if i == last {
                    if self.segs[s].has_overlay() {
                        let seg = &mut Arc::make_mut(&mut self.segs)[s];
                        let n = seg.expire_overlay(now, &mut self.pass_min, on_expired);
                        self.expires -= n;
                        step.expired += n;
                    }
                } else if let Some(t) = self.segs[s].bucket(i).and_then(Entry::expire_at) {
                    if t <= now {
                        if let Some(gone) = self.remove_at(s, i) {
                            on_expired(&gone);
                        }
                        step.expired += 1;
                        if self.generation != generation {
                            // The removal applied an overlay, moving entries: the next
                            // step starts the pass over.
                            step.scanned += 1;
                            return step;
                        }
                    } else {
                        self.pass_min = self.pass_min.min(t);
                    }
                }
                i += 1;
                at += 1;
                step.scanned += 1;
            }
            if step.scanned >= max_buckets && i <= last {
                break;
            }
            pos = (s + 1 < self.segs.len()).then_some((s + 1, 0));
        }
        if at >= self.num_buckets() {
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
            self.expire_cursor = at;
        }
        step
    }

    /// A shared reference to the segments (snapshot creation, restore, the RDB writer).
    pub fn share_segments(&self) -> Arc<Segments> {
        Arc::clone(&self.segs)
    }

    /// Visits positions from global position `from` in order, calling `f` with each
    /// live entry there (`None` for a position with none: an empty or hidden bucket,
    /// an empty overlay) and stopping after the first position where `f` returned
    /// false, or at the end. Returns the first position not visited.
    pub(crate) fn scan_from(
        &self,
        from: usize,
        now: i64,
        mut f: impl FnMut(Option<&Entry>) -> bool,
    ) -> usize {
        let mut at = from;
        let Some((first, mut i)) = self.locate(from) else {
            return self.num_buckets();
        };
        for seg in self.segs[first..].iter() {
            let last = seg.positions() - 1;
            while i <= last {
                let go = if i < last {
                    f(seg.bucket(i).filter(|e| !e.is_expired(now)))
                } else {
                    let (mut go, mut any) = (true, false);
                    for e in seg.overlay_entries().filter(|e| !e.is_expired(now)) {
                        any = true;
                        go &= f(Some(e));
                    }
                    if any {
                        go
                    } else {
                        f(None)
                    }
                };
                i += 1;
                at += 1;
                if !go {
                    return at;
                }
            }
            i = 0;
        }
        at
    }
}

impl Shard {
    /// Passes up to `want` entries (expired ones included: they are the best victims)
    /// to `f`, taken in bucket order from a random spot on (`rand` picks the segment
    /// and the bucket), going on into the next segments; `volatile` takes only entries
    /// with a TTL. Looks at no more than `probes` positions. Returns how many it
    /// passed. Eviction's sampling, as Redis's `dictGetSomeKeys`.
    pub fn sample(
        &self,
        rand: u64,
        want: usize,
        volatile: bool,
        probes: usize,
        f: &mut dyn FnMut(&Entry),
    ) -> usize {
        let nsegs = self.segs.len();
        if want == 0 || self.is_empty() {
            return 0;
        }
        let mut s = (rand as usize) % nsegs;
        let mut i = ((rand >> 32) as usize) % self.segs[s].positions();
        // At most one lap of the shard.
        let probes = probes.min(self.num_buckets());
        let (mut taken, mut looked) = (0, 0);
        let wanted = |e: &&Entry| !volatile || e.expire_at().is_some();
        while taken < want && looked < probes {
            let seg = &self.segs[s];
            let last = seg.positions() - 1;
            if i < last {
                if let Some(e) = seg.bucket(i).filter(wanted) {
                    f(e);
                    taken += 1;
                }
                i += 1;
            } else {
                for e in seg.overlay_entries().filter(wanted) {
                    f(e);
                    taken += 1;
                }
                s = (s + 1) % nsegs;
                i = 0;
            }
            looked += 1;
        }
        taken
    }
}

/// Number of entries in a shard's segments (expired ones not yet reclaimed included).
pub fn entries_in(segs: &Segments) -> usize {
    segs.iter().map(|t| t.len()).sum()
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
            let step = s.expire_step(60, 100, &mut |_| {});
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
        let snap = s.snapshot();
        s.get_mut(hash, k, 0)
            .unwrap()
            .with_hash_mut(|m| m.insert(b"f", b"2"))
            .unwrap();
        let seen = |t: &Shard| {
            t.peek(hash, k, 0)
                .unwrap()
                .as_hash()
                .unwrap()
                .get(b"f")
                .map(<[u8]>::to_vec)
        };
        assert_eq!(seen(&snap), Some(b"1".to_vec()));
        assert_eq!(seen(&s), Some(b"2".to_vec()));
    }

    #[test]
    fn the_window_gives_new_keys_oldest_first_and_skips_removed_ones() {
        let h = KeyHasher::new();
        let clock = Arc::new(AccessClock::default());
        clock.set_tinylfu(true);
        let mut s = Shard::new(0, h.clone()).with_clock(clock);
        for i in 0..5 {
            let k = format!("k{i}");
            s.insert(
                h.hash(k.as_bytes()),
                Entry::new_str(k.as_bytes(), b"v", None),
                0,
            );
        }
        // A replacement is not new; a lookup is counted in the sketch.
        s.insert(h.hash(b"k0"), Entry::new_str(b"k0", b"w", None), 0);
        for _ in 0..3 {
            s.get(h.hash(b"k2"), b"k2", 0);
        }
        s.remove(h.hash(b"k1"), b"k1", 0);
        assert_eq!(s.window_len(), 5);
        let (e, f) = s.window_pop().unwrap();
        assert_eq!((e.key(), f), (&b"k0"[..], 0));
        let (e, f) = s.window_pop().unwrap();
        assert_eq!((e.key(), f), (&b"k2"[..], 3));
        assert_eq!(s.frequency(b"k2"), 3);
        assert_eq!(s.window_pop().unwrap().0.key(), b"k3");
        assert_eq!(s.window_pop().unwrap().0.key(), b"k4");
        assert!(s.window_pop().is_none());
    }

    #[test]
    fn samples_are_bounded_filtered_and_find_sparse_keys() {
        let (mut s, h) = shard();
        for i in 0..2000 {
            let k = format!("k{i}");
            let ttl = (i % 500 == 0).then_some(1_000_000);
            s.insert(
                h.hash(k.as_bytes()),
                Entry::new_str(k.as_bytes(), b"v", ttl),
                0,
            );
        }
        let mut seen = Vec::new();
        let got = s.sample(12345, 5, false, 40, &mut |e| seen.push(e.key().to_vec()));
        assert_eq!(got, 5);
        assert_eq!(seen.len(), 5);
        // Only 4 keys have a TTL: a full lap finds them wherever it starts.
        for r in [0u64, 7, 1 << 40, u64::MAX] {
            let mut vol = Vec::new();
            s.sample(r, 10, true, usize::MAX, &mut |e| vol.push(e.expire_at()));
            assert_eq!(vol.len(), 4);
            assert!(vol.iter().all(Option::is_some));
        }
        // Nothing to find: one lap, then it stops.
        let (empty, _) = shard();
        assert_eq!(empty.sample(1, 5, false, usize::MAX, &mut |_| {}), 0);
    }

    #[test]
    fn cow_copy_leaves_shared_table_untouched() {
        let (mut s, h) = shard();
        s.insert(h.hash(b"a"), Entry::new_str(b"a", b"1", None), 0);
        let snap = s.snapshot();
        s.insert(h.hash(b"b"), Entry::new_str(b"b", b"2", None), 0);
        s.remove(h.hash(b"a"), b"a", 0);
        assert_eq!(snap.len(), 1);
        assert!(snap.peek(h.hash(b"a"), b"a", 0).is_some());
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn shards_split_into_more_segments_as_they_grow() {
        let (mut s, h) = shard();
        assert_eq!(s.num_segments(), 1);
        let n = 20 * SEGMENT_TARGET;
        fill(&mut s, &h, n);
        assert!(s.num_segments() >= 8, "{} segments", s.num_segments());
        assert!(
            s.segs.iter().all(|t| t.len() <= 2 * SEGMENT_TARGET),
            "no segment beyond twice the target"
        );
        assert_eq!(s.len(), n);
        for i in 0..n {
            let k = format!("k{i}");
            assert!(s.contains(h.hash(k.as_bytes()), k.as_bytes(), 0), "{k}");
        }
        // Every entry is reachable by a full scan of bucket positions, once.
        let mut seen = 0;
        let end = s.scan_from(0, 0, |e| {
            seen += usize::from(e.is_some());
            true
        });
        assert_eq!((seen, end), (n, s.num_buckets()));
    }

    #[test]
    fn a_flush_gives_the_segments_back() {
        let h = KeyHasher::new();
        let mut s = Shard::new(64 * SEGMENT_TARGET, h.clone());
        fill(&mut s, &h, 64 * SEGMENT_TARGET);
        let full = s.table_bytes();
        let old = s.clear();
        assert_eq!(entries_in(&old), 64 * SEGMENT_TARGET);
        assert!(s.is_empty());
        assert_eq!(s.num_segments(), 1);
        assert!(s.table_bytes() * 20 < full, "{} of {full}", s.table_bytes());
        fill(&mut s, &h, 8 * SEGMENT_TARGET);
        assert!(s.num_segments() >= 8, "it splits again as it refills");
    }

    /// Inserts `k0` .. `k{n-1}`.
    fn fill(s: &mut Shard, h: &KeyHasher, n: usize) {
        for i in 0..n {
            let k = format!("k{i}");
            s.insert(
                h.hash(k.as_bytes()),
                Entry::new_str(k.as_bytes(), b"v", None),
                0,
            );
        }
    }

    fn keys_of(s: &Shard, now: i64) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        s.scan_from(0, now, |e| {
            keys.extend(e.map(|e| e.key().to_vec()));
            true
        });
        keys.sort();
        keys
    }

    #[test]
    fn writes_after_a_snapshot_go_to_overlays_until_it_is_dropped() {
        let h = KeyHasher::new();
        let mut s = Shard::new(16 * SEGMENT_TARGET, h.clone());
        fill(&mut s, &h, 8 * SEGMENT_TARGET);
        let segments = s.num_segments();
        assert!(segments >= 4);
        let snap = s.snapshot();
        let before = keys_of(&snap, 0);
        s.insert(h.hash(b"new"), Entry::new_str(b"new", b"v", None), 0);
        s.insert(h.hash(b"k1"), Entry::new_str(b"k1", b"changed", None), 0);
        assert!(s.remove(h.hash(b"k2"), b"k2", 0).is_some());
        let unchanged = (0..segments)
            .filter(|&i| s.shares_segment_with(&snap, i))
            .count();
        assert!(unchanged >= segments - 3, "only written segments changed");
        assert_eq!(
            s.pending_overlays(),
            segments - unchanged,
            "and none was copied"
        );
        assert!(snap.peek(h.hash(b"new"), b"new", 0).is_none());
        assert_eq!(
            snap.peek(h.hash(b"k1"), b"k1", 0).unwrap().as_str(),
            Some(&b"v"[..])
        );
        assert!(snap.peek(h.hash(b"k2"), b"k2", 0).is_some());
        assert_eq!(keys_of(&snap, 0), before);
        assert_eq!(
            s.peek(h.hash(b"k1"), b"k1", 0).unwrap().as_str(),
            Some(&b"changed"[..])
        );
        assert!(s.peek(h.hash(b"k2"), b"k2", 0).is_none());
        assert_eq!(s.len(), 8 * SEGMENT_TARGET);
        let mut expect = before.clone();
        expect.retain(|k| k != b"k2");
        expect.push(b"new".to_vec());
        expect.sort();
        assert_eq!(
            keys_of(&s, 0),
            expect,
            "positions cover tables and overlays"
        );
        // The snapshot holds the tables: settling changes nothing yet.
        let g = s.generation();
        assert_eq!(s.settle(usize::MAX), 0);
        assert_eq!(
            (s.pending_overlays(), s.generation()),
            (segments - unchanged, g)
        );
        drop(snap);
        let pending = s.pending_overlays();
        assert_eq!(s.settle(1), 1, "at most as many as asked");
        assert_eq!(s.settle(usize::MAX), pending - 1);
        assert_eq!(s.pending_overlays(), 0);
        assert_ne!(s.generation(), g, "applying an overlay moves entries");
        assert_eq!(keys_of(&s, 0), expect);
        assert_eq!(s.len(), 8 * SEGMENT_TARGET);
    }

    #[test]
    fn expiry_reaches_overlays_and_leaves_snapshots_alone() {
        let h = KeyHasher::new();
        let mut s = Shard::new(4 * SEGMENT_TARGET, h.clone());
        fill(&mut s, &h, 4 * SEGMENT_TARGET);
        for i in 0..50 {
            let k = format!("old{i}");
            s.insert(
                h.hash(k.as_bytes()),
                Entry::new_str(k.as_bytes(), b"", Some(100)),
                0,
            );
        }
        let snap = s.snapshot();
        for i in 0..50 {
            let k = format!("new{i}");
            s.insert(
                h.hash(k.as_bytes()),
                Entry::new_str(k.as_bytes(), b"", Some(100)),
                0,
            );
        }
        assert!(s.pending_overlays() > 0);
        assert_eq!(s.expires(), 100);
        let mut expired = 0;
        loop {
            let step = s.expire_step(200, 1 << 20, &mut |_| {});
            expired += step.expired;
            if step.done {
                break;
            }
        }
        assert_eq!(expired, 100);
        assert_eq!((s.expires(), s.len()), (0, 4 * SEGMENT_TARGET));
        assert_eq!(keys_of(&s, 0).len(), 4 * SEGMENT_TARGET);
        assert_eq!(
            snap.len(),
            4 * SEGMENT_TARGET + 50,
            "nothing deleted from it"
        );
        assert_eq!(keys_of(&snap, 0).len(), 4 * SEGMENT_TARGET + 50);
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
        // Every segment keeps up to 256 slots.
        assert!(
            s.table_bytes() < before / 5,
            "{} -> {}",
            before,
            s.table_bytes()
        );
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
