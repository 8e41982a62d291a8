//! A segment: one hash table of a shard, the unit of copy-on-write, plus, while a
//! snapshot shares that table, an *overlay* holding the changes made since.
//!
//! Writing to a segment that a snapshot shares does not copy it. The change goes to
//! the overlay instead:
//! - new and replacing entries go into a small table of their own;
//! - the shared table's buckets they supersede, or that were deleted, are marked in a
//!   bitmap of hidden buckets.
//!
//! Lookups look in the overlay first. The shared table is never changed while an
//! overlay exists, so its bucket positions stay valid for the bitmap.
//!
//! An overlay ends in one of two ways:
//! - The snapshot lets go of the table: a background save has written the shard, or a
//!   named snapshot was dropped. The next write, or the shard's housekeeping, applies
//!   the overlay to the table in place. This is O(overlay) and copies nothing.
//! - The overlay grows to half the table's entries while the snapshot still holds the
//!   table. The segment is copied then, cloning entry pointers (see [`crate::Entry`]),
//!   and the overlay is applied to the copy.
//!
//! Copying on the first write, as Shoal did before, made all the copies land together:
//! under 40K random SETs/s, 86% of the 2,048 segments of 1M keys were first written
//! within 100 ms of a snapshot, each paying a ~35 µs copy. That burst of work showed as
//! latency. The overlay spreads the copies out over time, and a background save, which
//! lets go of each shard once it is written, needs none at all.
//!
//! Positions (SCAN cursors, the expiry cursor, random sampling): a segment has one
//! per bucket of its table, then one more that stands for the whole overlay. Writes
//! to the overlay move no position; applying or copying an overlay moves them, and
//! the caller's generation counter is bumped then.

use std::sync::Arc;

use hashbrown::hash_table::Entry as Slot;
use hashbrown::HashTable;

use crate::entry::Entry;
use crate::KeyHasher;

/// The table type of one segment.
pub type Table = HashTable<Entry>;

/// Entries of a shared table at or below which a write copies it at once: the copy is
/// cheap, and lookups then stay single-table.
const COPY_SMALL: usize = 32;

/// Overlay size (entries plus hidden buckets) that always allows a copy: below
/// `max(OVERLAY_MIN, table entries / 2)` writes go to the overlay.
const OVERLAY_MIN: usize = 64;

/// One segment (see the module docs). Cloning shares the table and the overlay.
#[derive(Clone, Default)]
pub struct Segment {
    base: Arc<Table>,
    overlay: Option<Arc<Overlay>>,
}

/// The changes made to a segment since its table was shared.
#[derive(Clone)]
struct Overlay {
    /// Entries added or replaced since.
    slots: Table,
    /// One bit per bucket of the table: set when its entry was replaced or removed.
    hidden: Box<[u64]>,
    /// Bits set in `hidden`.
    hidden_count: usize,
}

impl Overlay {
    fn new(buckets: usize) -> Overlay {
        Overlay {
            slots: Table::new(),
            hidden: vec![0; buckets.div_ceil(64)].into_boxed_slice(),
            hidden_count: 0,
        }
    }

    #[inline]
    fn is_hidden(&self, i: usize) -> bool {
        self.hidden[i / 64] >> (i % 64) & 1 != 0
    }

    fn hide(&mut self, i: usize) {
        debug_assert!(!self.is_hidden(i));
        self.hidden[i / 64] |= 1 << (i % 64);
        self.hidden_count += 1;
    }

    /// Hides the entry for the key `eq` matches in `table` (the shared table under
    /// this overlay), if it is there and not hidden yet; returns a clone of it.
    fn hide_in(
        &mut self,
        table: &Table,
        hash: u64,
        eq: impl FnMut(&Entry) -> bool,
    ) -> Option<Entry> {
        let i = table.find_bucket_index(hash, eq)?;
        if self.is_hidden(i) {
            return None;
        }
        self.hide(i);
        table.get_bucket(i).cloned()
    }

    /// The hidden bucket indexes.
    fn hidden_buckets(&self) -> impl Iterator<Item = usize> + '_ {
        self.hidden.iter().enumerate().flat_map(|(w, &bits)| {
            let mut b = bits;
            std::iter::from_fn(move || {
                (b != 0).then(|| {
                    let i = b.trailing_zeros() as usize;
                    b &= b - 1;
                    w * 64 + i
                })
            })
        })
    }

    fn allocation_size(&self) -> usize {
        self.slots.allocation_size() + self.hidden.len() * 8
    }
}

/// Where a key sits in a segment (valid until the segment changes).
#[derive(Clone, Copy)]
pub(crate) enum Loc {
    Base(usize),
    Overlay(usize),
}

impl Segment {
    /// A segment over `table`, not shared with anything.
    pub fn new(table: Table) -> Segment {
        Segment {
            base: Arc::new(table),
            overlay: None,
        }
    }

    /// Number of entries (expired ones not yet reclaimed included).
    #[inline]
    pub fn len(&self) -> usize {
        match &self.overlay {
            None => self.base.len(),
            Some(o) => self.base.len() - o.hidden_count + o.slots.len(),
        }
    }

    /// Whether the segment holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this segment is `other`'s (the same table and overlay: unchanged since
    /// one was cloned from the other).
    pub fn ptr_eq(&self, other: &Segment) -> bool {
        Arc::ptr_eq(&self.base, &other.base)
            && match (&self.overlay, &other.overlay) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }

    /// Entries the table holds without growing.
    pub fn capacity(&self) -> usize {
        self.base.capacity()
    }

    /// Whether nothing else seems to hold the table (a hint: no atomic exchange).
    pub fn table_unshared_hint(&self) -> bool {
        Arc::strong_count(&self.base) == 1
    }

    /// Whether changes are pending in an overlay.
    pub fn has_overlay(&self) -> bool {
        self.overlay.is_some()
    }

    /// Bytes held by the bucket arrays (table and overlay), not the entries.
    pub fn allocation_size(&self) -> usize {
        self.base.allocation_size() + self.overlay.as_ref().map_or(0, |o| o.allocation_size())
    }

    /// Bytes only this segment keeps alive: its table and overlay where nobody else
    /// holds them, and their entries nobody else references.
    pub fn exclusive_bytes(&self) -> usize {
        let mut n = 0;
        if Arc::strong_count(&self.base) == 1 {
            n += self.base.allocation_size() + unshared_bytes(self.base.iter());
        }
        if let Some(o) = self.overlay.as_ref().filter(|o| Arc::strong_count(o) == 1) {
            n += o.allocation_size() + unshared_bytes(o.slots.iter());
        }
        n
    }

    /// Bytes of this (snapshot's) segment's entries that `live` no longer uses and
    /// that nothing else references: the entries of a shared table that `live`'s
    /// overlay hides and this segment does not. With [`Segment::exclusive_bytes`] of
    /// what `live` does not share, what this segment retains beyond `live`.
    pub fn hidden_by(&self, live: &Segment) -> usize {
        let (Some(o), true) = (&live.overlay, Arc::ptr_eq(&self.base, &live.base)) else {
            return 0;
        };
        o.hidden_buckets()
            .filter(|&i| !self.overlay.as_ref().is_some_and(|m| m.is_hidden(i)))
            .filter_map(|i| self.base.get_bucket(i))
            .filter(|e| e.ref_count() == 1)
            .map(Entry::heap_size)
            .sum()
    }

    /// Whether this segment's table is `other`'s.
    pub fn shares_table_with(&self, other: &Segment) -> bool {
        Arc::ptr_eq(&self.base, &other.base)
    }

    /// Where the entry for `key` is (expired or not).
    #[inline]
    pub(crate) fn locate(&self, hash: u64, key: &[u8]) -> Option<Loc> {
        self.locate_by(hash, |e: &Entry| e.key() == key)
    }

    /// Where the entry `eq` accepts among those of hash `hash` is.
    #[inline]
    fn locate_by(&self, hash: u64, eq: impl Fn(&Entry) -> bool) -> Option<Loc> {
        match &self.overlay {
            None => self.base.find_bucket_index(hash, &eq).map(Loc::Base),
            Some(o) => {
                if let Some(i) = o.slots.find_bucket_index(hash, &eq) {
                    return Some(Loc::Overlay(i));
                }
                let i = self.base.find_bucket_index(hash, &eq)?;
                (!o.is_hidden(i)).then_some(Loc::Base(i))
            }
        }
    }

    /// The entry at `loc` (from [`Segment::locate`], the segment unchanged since).
    #[inline]
    pub(crate) fn at(&self, loc: Loc) -> Option<&Entry> {
        match loc {
            Loc::Base(i) => self.base.get_bucket(i),
            Loc::Overlay(i) => self.overlay.as_ref()?.slots.get_bucket(i),
        }
    }

    /// The entry for `key` (expired or not).
    #[inline]
    pub fn find(&self, hash: u64, key: &[u8]) -> Option<&Entry> {
        self.at(self.locate(hash, key)?)
    }

    /// An entry whose key hashes to `hash` (expired or not), when only the hash is
    /// known (eviction's window of new keys).
    pub fn find_hashed(&self, hash: u64, hasher: &KeyHasher) -> Option<&Entry> {
        self.at(self.locate_by(hash, |e: &Entry| hasher.hash(e.key()) == hash)?)
    }

    /// The table, when it is this segment's alone and no overlay is pending: the fast
    /// path of every change, and shrinking.
    #[inline]
    pub fn table_mut(&mut self) -> Option<&mut Table> {
        if self.overlay.is_some() {
            return None;
        }
        Arc::get_mut(&mut self.base)
    }

    /// Readies the segment for a change. Afterwards either no overlay exists and the
    /// table is this segment's alone, or the change goes to the overlay (which then
    /// exists). Bumps `generation` when entries moved between positions.
    fn prepare(&mut self, hasher: &KeyHasher, generation: &mut u32) {
        if Arc::get_mut(&mut self.base).is_some() {
            if self.overlay.is_some() {
                self.apply_overlay(hasher);
                *generation = generation.wrapping_add(1);
            }
            return;
        }
        let size = self
            .overlay
            .as_ref()
            .map_or(0, |o| o.slots.len() + o.hidden_count);
        if self.base.len() <= COPY_SMALL || size >= OVERLAY_MIN.max(self.base.len() / 2) {
            self.copy(hasher);
            *generation = generation.wrapping_add(1);
        } else if self.overlay.is_none() {
            self.overlay = Some(Arc::new(Overlay::new(self.base.num_buckets())));
        }
    }

    /// Applies the overlay to the table in place (the table is no longer shared):
    /// drops the hidden entries and moves the overlay's in.
    fn apply_overlay(&mut self, hasher: &KeyHasher) {
        let Some(o) = self.overlay.take() else {
            return;
        };
        let o = Arc::unwrap_or_clone(o);
        let base = Arc::get_mut(&mut self.base).expect("apply_overlay on a shared table");
        for i in o.hidden_buckets() {
            if let Ok(e) = base.get_bucket_entry(i) {
                e.remove();
            }
        }
        let rehash = |e: &Entry| hasher.hash(e.key());
        base.reserve(o.slots.len(), rehash);
        for e in o.slots {
            base.insert_unique(hasher.hash(e.key()), e, rehash);
        }
    }

    /// Gives the segment its own copy of the shared table (cloning entry pointers),
    /// with the overlay applied.
    fn copy(&mut self, hasher: &KeyHasher) {
        warm(&self.base);
        let table = Table::clone(&self.base);
        self.base = Arc::new(table);
        self.apply_overlay(hasher);
    }

    /// Folds a pending overlay into the table if nothing else holds the table any
    /// more (shard housekeeping). Returns whether it did (positions moved).
    pub fn settle(&mut self, hasher: &KeyHasher) -> bool {
        if self.overlay.is_some() && Arc::get_mut(&mut self.base).is_some() {
            self.apply_overlay(hasher);
            return true;
        }
        false
    }

    /// Inserts `entry` or replaces the entry with its key; returns the entry replaced
    /// (a clone of it when a snapshot shares it).
    pub fn upsert(
        &mut self,
        hash: u64,
        entry: Entry,
        hasher: &KeyHasher,
        generation: &mut u32,
    ) -> Option<Entry> {
        let rehash = |e: &Entry| hasher.hash(e.key());
        if let Some(table) = self.table_mut() {
            return upsert_in(table, hash, entry, &rehash, generation);
        }
        self.prepare(hasher, generation);
        let Segment { base, overlay } = self;
        let Some(o) = overlay else {
            let table = Arc::get_mut(base).expect("prepared");
            return upsert_in(table, hash, entry, &rehash, generation);
        };
        let o = Arc::make_mut(o);
        let eq = |e: &Entry| e.key() == entry.key();
        if let Some(e) = o.slots.find_mut(hash, eq) {
            return Some(std::mem::replace(e, entry));
        }
        let old = o.hide_in(base, hash, eq);
        o.slots.insert_unique(hash, entry, rehash);
        old
    }

    /// Removes the entry for `key`; returns it (a clone of it when a snapshot shares
    /// it).
    pub fn remove(
        &mut self,
        hash: u64,
        key: &[u8],
        hasher: &KeyHasher,
        generation: &mut u32,
    ) -> Option<Entry> {
        let eq = |e: &Entry| e.key() == key;
        if let Some(table) = self.table_mut() {
            return table.find_entry(hash, eq).ok().map(|o| o.remove().0);
        }
        self.locate(hash, key)?;
        self.prepare(hasher, generation);
        let Segment { base, overlay } = self;
        match overlay {
            None => Arc::get_mut(base)?
                .find_entry(hash, eq)
                .ok()
                .map(|o| o.remove().0),
            Some(o) => {
                let o = Arc::make_mut(o);
                if let Ok(slot) = o.slots.find_entry(hash, eq) {
                    return Some(slot.remove().0);
                }
                o.hide_in(base, hash, eq)
            }
        }
    }

    /// Removes the entry at bucket `i` of the table (the expiry cycle); returns it (a
    /// clone of it when a snapshot shares it).
    pub fn remove_at(
        &mut self,
        i: usize,
        hasher: &KeyHasher,
        generation: &mut u32,
    ) -> Option<Entry> {
        if let Some(table) = self.table_mut() {
            return table.get_bucket_entry(i).ok().map(|o| o.remove().0);
        }
        let e = self.bucket(i)?.clone();
        self.remove(hasher.hash(e.key()), e.key(), hasher, generation)
    }

    /// The entry for `key`, mutably: the segment's own (copied into the overlay first
    /// when a snapshot shares it), so changing it changes no snapshot.
    pub fn find_mut(
        &mut self,
        hash: u64,
        key: &[u8],
        hasher: &KeyHasher,
        generation: &mut u32,
    ) -> Option<&mut Entry> {
        let eq = |e: &Entry| e.key() == key;
        if self.table_mut().is_some() {
            return self.table_mut()?.find_mut(hash, eq);
        }
        self.locate(hash, key)?;
        self.prepare(hasher, generation);
        let Segment { base, overlay } = self;
        match overlay {
            None => Arc::get_mut(base)?.find_mut(hash, eq),
            Some(o) => {
                let o = Arc::make_mut(o);
                if let Some(i) = o.slots.find_bucket_index(hash, eq) {
                    return o.slots.get_bucket_mut(i);
                }
                let e = o.hide_in(base, hash, eq)?;
                Some(
                    o.slots
                        .insert_unique(hash, e, |e| hasher.hash(e.key()))
                        .into_mut(),
                )
            }
        }
    }

    /// [`Segment::find_mut`] for a key already found at `loc` (by
    /// [`Segment::locate`], the segment unchanged since): no second lookup when the
    /// table is this segment's alone.
    pub(crate) fn find_mut_at(
        &mut self,
        loc: Loc,
        hash: u64,
        key: &[u8],
        hasher: &KeyHasher,
        generation: &mut u32,
    ) -> Option<&mut Entry> {
        if let (Loc::Base(i), true) = (loc, self.table_mut().is_some()) {
            return self.table_mut()?.get_bucket_mut(i);
        }
        self.find_mut(hash, key, hasher, generation)
    }

    /// Every entry (expired ones too).
    pub fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        let (plain, layered) = match &self.overlay {
            None => (Some(self.base.iter()), None),
            Some(o) => (
                None,
                Some(
                    self.base
                        .iter_buckets()
                        .filter(|&i| !o.is_hidden(i))
                        .filter_map(|i| self.base.get_bucket(i))
                        .chain(o.slots.iter()),
                ),
            ),
        };
        plain
            .into_iter()
            .flatten()
            .chain(layered.into_iter().flatten())
    }

    /// Positions: one per bucket of the table, then one for the overlay.
    pub fn positions(&self) -> usize {
        self.base.num_buckets() + 1
    }

    /// The entry at position `i` of the table's buckets (`i < positions() - 1`), unless
    /// empty or hidden by the overlay.
    #[inline]
    pub fn bucket(&self, i: usize) -> Option<&Entry> {
        if self.overlay.as_ref().is_some_and(|o| o.is_hidden(i)) {
            return None;
        }
        self.base.get_bucket(i)
    }

    /// The overlay's entries (the last position).
    pub fn overlay_entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.overlay.iter().flat_map(|o| o.slots.iter())
    }

    /// Removes the overlay's entries that expire at or before `now`; returns how many.
    /// Lowers `min` to the earliest expiry time among those left.
    pub fn expire_overlay(
        &mut self,
        now: i64,
        min: &mut i64,
        on_expired: &mut dyn FnMut(&Entry),
    ) -> usize {
        let Some(o) = &mut self.overlay else {
            return 0;
        };
        let mut expired = false;
        for t in o.slots.iter().filter_map(Entry::expire_at) {
            if t <= now {
                expired = true;
            } else {
                *min = (*min).min(t);
            }
        }
        if !expired {
            return 0;
        }
        let before = o.slots.len();
        Arc::make_mut(o).slots.retain(|e| {
            let live = e.expire_at().is_none_or(|t| t > now);
            if !live {
                on_expired(e);
            }
            live
        });
        before - o.slots.len()
    }

    /// The table, if nothing else holds it (the overlay is dropped): a save's frozen
    /// copy gives its memory back in steps this way.
    pub fn into_table(self) -> Option<Table> {
        Arc::try_unwrap(self.base).ok()
    }
}

/// Inserts `entry` into a table this segment owns alone, or replaces the entry with
/// its key in its bucket; returns the entry replaced.
fn upsert_in(
    table: &mut Table,
    hash: u64,
    entry: Entry,
    rehash: &impl Fn(&Entry) -> u64,
    generation: &mut u32,
) -> Option<Entry> {
    if table.len() == table.capacity() {
        // The lookup reserves room first: hashbrown may resize or rehash in place,
        // moving entries between buckets.
        *generation = generation.wrapping_add(1);
    }
    match table.entry(hash, |e| e.key() == entry.key(), rehash) {
        Slot::Occupied(mut o) => Some(std::mem::replace(o.get_mut(), entry)),
        Slot::Vacant(v) => {
            v.insert(entry);
            None
        }
    }
}

/// Heap bytes of the entries nobody else references.
fn unshared_bytes<'a>(entries: impl Iterator<Item = &'a Entry>) -> usize {
    entries
        .filter(|e| e.ref_count() == 1)
        .map(Entry::heap_size)
        .sum()
}

/// Loads every entry's reference count of a table about to be copied. The copy
/// bumps each count with a locked increment, and locked instructions do not overlap
/// their cache misses; plain loads do, so the entries are in cache by then.
#[inline(never)]
fn warm(t: &Table) {
    let sum = t.iter().fold(0usize, |a, e| a.wrapping_add(e.ref_count()));
    std::hint::black_box(sum);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn segment_of(h: &KeyHasher, n: usize) -> Segment {
        let mut t = Table::new();
        for i in 0..n {
            let k = format!("k{i}");
            t.insert_unique(
                h.hash(k.as_bytes()),
                Entry::new_str(k.as_bytes(), b"0", None),
                |e| h.hash(e.key()),
            );
        }
        Segment::new(t)
    }

    type Model = BTreeMap<Vec<u8>, Vec<u8>>;

    /// Upserts `key` = `value` (with an optional expiry time).
    fn put(
        seg: &mut Segment,
        h: &KeyHasher,
        g: &mut u32,
        key: &[u8],
        value: &[u8],
        ttl: Option<i64>,
    ) -> Option<Entry> {
        seg.upsert(h.hash(key), Entry::new_str(key, value, ttl), h, g)
    }

    fn contents(s: &Segment) -> Model {
        s.iter()
            .map(|e| (e.key().to_vec(), e.as_str().unwrap().to_vec()))
            .collect()
    }

    #[test]
    fn writes_to_a_shared_table_go_to_the_overlay_and_fold_once_released() {
        let h = KeyHasher::new();
        let mut live = segment_of(&h, 200);
        let snap = live.clone();
        let before = contents(&snap);
        let mut g = 0;
        let k = b"k7";
        let old = put(&mut live, &h, &mut g, k, b"new", None);
        assert_eq!(old.unwrap().as_str(), Some(&b"0"[..]));
        assert!(live.remove(h.hash(b"k8"), b"k8", &h, &mut g).is_some());
        assert!(live.remove(h.hash(b"k8"), b"k8", &h, &mut g).is_none());
        let kn = b"fresh";
        assert!(put(&mut live, &h, &mut g, kn, b"1", None).is_none());
        assert_eq!(g, 0, "overlay writes move no position");
        assert!(live.has_overlay() && live.shares_table_with(&snap));
        assert_eq!(live.len(), 200);
        assert_eq!(live.find(h.hash(k), k).unwrap().as_str(), Some(&b"new"[..]));
        assert!(live.find(h.hash(b"k8"), b"k8").is_none());
        assert_eq!(contents(&snap), before, "the snapshot is unchanged");
        let mut expect = before.clone();
        expect.insert(k.to_vec(), b"new".to_vec());
        expect.remove(&b"k8"[..]);
        expect.insert(kn.to_vec(), b"1".to_vec());
        assert_eq!(contents(&live), expect);
        drop(snap);
        assert!(live.settle(&h));
        assert!(!live.has_overlay());
        assert_eq!(contents(&live), expect);
        assert_eq!(live.len(), 200);
    }

    #[test]
    fn a_large_overlay_turns_into_a_copy() {
        let h = KeyHasher::new();
        let mut live = segment_of(&h, 200);
        let snap = live.clone();
        let mut g = 0;
        for i in 0..100 {
            let k = format!("k{i}");
            put(&mut live, &h, &mut g, k.as_bytes(), b"x", None);
        }
        assert!(!live.has_overlay(), "copied at half the table");
        assert!(!live.shares_table_with(&snap));
        assert_eq!(g, 1);
        assert_eq!(contents(&snap).values().filter(|v| v == &b"x").count(), 0);
        assert_eq!(contents(&live).values().filter(|v| v == &b"x").count(), 100);
    }

    #[test]
    fn small_shared_tables_are_copied_at_once() {
        let h = KeyHasher::new();
        let mut live = segment_of(&h, 10);
        let _snap = live.clone();
        let mut g = 0;
        live.remove(h.hash(b"k1"), b"k1", &h, &mut g);
        assert!(!live.has_overlay());
        assert_eq!(live.len(), 9);
    }

    #[test]
    fn find_mut_gives_the_overlay_its_own_entry() {
        let h = KeyHasher::new();
        let mut live = segment_of(&h, 100);
        let snap = live.clone();
        let mut g = 0;
        let e = live.find_mut(h.hash(b"k3"), b"k3", &h, &mut g).unwrap();
        *e = Entry::new_str(b"k3", b"changed", None);
        assert_eq!(
            snap.find(h.hash(b"k3"), b"k3").unwrap().as_str(),
            Some(&b"0"[..])
        );
        assert_eq!(
            live.find(h.hash(b"k3"), b"k3").unwrap().as_str(),
            Some(&b"changed"[..])
        );
        assert_eq!(live.len(), 100);
    }

    #[test]
    fn positions_cover_the_table_then_the_overlay() {
        let h = KeyHasher::new();
        let mut live = segment_of(&h, 100);
        let _snap = live.clone();
        let mut g = 0;
        put(&mut live, &h, &mut g, b"k1", b"y", None);
        put(&mut live, &h, &mut g, b"new", b"y", None);
        let n = live.positions();
        let mut seen: Vec<Vec<u8>> = (0..n - 1)
            .filter_map(|i| live.bucket(i))
            .map(|e| e.key().to_vec())
            .collect();
        seen.extend(live.overlay_entries().map(|e| e.key().to_vec()));
        seen.sort();
        let mut all: Vec<Vec<u8>> = contents(&live).into_keys().collect();
        all.sort();
        assert_eq!(seen, all);
    }

    #[test]
    fn overlay_entries_expire() {
        let h = KeyHasher::new();
        let mut live = segment_of(&h, 100);
        let _snap = live.clone();
        let mut g = 0;
        put(&mut live, &h, &mut g, b"t1", b"v", Some(10));
        put(&mut live, &h, &mut g, b"t2", b"v", Some(30));
        let mut min = i64::MAX;
        assert_eq!(live.expire_overlay(20, &mut min, &mut |_| {}), 1);
        assert_eq!(min, 30);
        assert_eq!(live.len(), 101);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Put(u8, u8),
        Del(u8),
        Mutate(u8, u8),
        Snapshot,
        DropSnapshot,
        Settle,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
            2 => any::<u8>().prop_map(Op::Del),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(k, v)| Op::Mutate(k, v)),
            1 => Just(Op::Snapshot),
            1 => Just(Op::DropSnapshot),
            1 => Just(Op::Settle),
        ]
    }

    proptest! {
        /// The live segment and every snapshot taken of it read as a plain map would.
        #[test]
        fn behaves_as_a_map_with_point_in_time_copies(ops in prop::collection::vec(op(), 1..400)) {
            let h = KeyHasher::new();
            let mut live = segment_of(&h, 150);
            let mut model = contents(&live);
            let mut snaps: Vec<(Segment, Model)> = Vec::new();
            let mut g = 0;
            for op in ops {
                match op {
                    Op::Put(k, v) => {
                        let k = format!("k{k}").into_bytes();
                        let old = put(&mut live, &h, &mut g, &k, &[v], None);
                        prop_assert_eq!(old.map(|e| e.as_str().unwrap().to_vec()), model.insert(k, vec![v]));
                    }
                    Op::Del(k) => {
                        let k = format!("k{k}").into_bytes();
                        let old = live.remove(h.hash(&k), &k, &h, &mut g);
                        prop_assert_eq!(old.map(|e| e.as_str().unwrap().to_vec()), model.remove(&k));
                    }
                    Op::Mutate(k, v) => {
                        let k = format!("k{k}").into_bytes();
                        let found = live.find_mut(h.hash(&k), &k, &h, &mut g).map(|e| {
                            *e = Entry::new_str(&k, &[v], None);
                        });
                        prop_assert_eq!(found.is_some(), model.contains_key(&k));
                        if found.is_some() {
                            model.insert(k, vec![v]);
                        }
                    }
                    Op::Snapshot => snaps.push((live.clone(), model.clone())),
                    Op::DropSnapshot => {
                        if !snaps.is_empty() {
                            snaps.remove(0);
                        }
                    }
                    Op::Settle => {
                        live.settle(&h);
                    }
                }
                prop_assert_eq!(live.len(), model.len());
            }
            prop_assert_eq!(&contents(&live), &model);
            for k in model.keys() {
                prop_assert!(live.find(h.hash(k), k).is_some());
            }
            for (s, m) in &snaps {
                prop_assert_eq!(&contents(s), m);
                prop_assert_eq!(s.len(), m.len());
            }
        }
    }
}
