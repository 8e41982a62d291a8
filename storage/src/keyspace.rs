//! The whole keyspace: the numbered databases, the shared key hasher, and the
//! operations that span databases (SWAPDB, FLUSHALL, MOVE/COPY, active expiry).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::db::{Db, LockEach, ShardGuard, ShardSource};
use crate::entry::Entry;
use crate::evict::AccessClock;
use crate::shard::{entries_in, Segments, Shard};
use crate::KeyHasher;

/// Target number of keys per shard at `capacity`: keeps each copy-on-write segment
/// small (cloning a 64K-entry table took 0.8 ms, a 1M-entry one 40 ms: bench/benches/table.rs).
pub const SHARD_TARGET_KEYS: usize = 32 * 1024;

/// Fewest shards a database gets when `shards` is 0 (auto).
pub const MIN_AUTO_SHARDS: usize = 16;

/// How a keyspace is laid out.
#[derive(Clone, Debug)]
pub struct KeyspaceConfig {
    /// Number of databases (`SELECT 0..databases-1`).
    pub databases: usize,
    /// Expected number of keys: database 0's tables are preallocated for it.
    pub capacity: usize,
    /// Shards per database (a power of two), or 0 to size from `capacity`.
    pub shards: usize,
}

impl Default for KeyspaceConfig {
    fn default() -> Self {
        KeyspaceConfig {
            databases: 16,
            capacity: 0,
            shards: 0,
        }
    }
}

impl KeyspaceConfig {
    /// Shards per database this configuration resolves to.
    pub fn resolved_shards(&self) -> usize {
        if self.shards > 0 {
            return self.shards.next_power_of_two().min(1 << 16);
        }
        self.capacity
            .div_ceil(SHARD_TARGET_KEYS)
            .next_power_of_two()
            .clamp(MIN_AUTO_SHARDS, 1 << 16)
    }
}

/// Counters of the active expiry cycle.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExpireCycle {
    /// Keys removed in this cycle.
    pub expired: usize,
    /// Buckets examined.
    pub scanned: usize,
    /// Whether the cycle stopped at its deadline with work left.
    pub timed_out: bool,
}

/// What [`Keyspace::restore_from`] replaced.
#[derive(Default)]
pub struct Restored {
    /// The live shards' segments it replaced (drop them off the request path if
    /// large).
    pub old: Vec<Arc<Segments>>,
    /// Keys changed: for each shard whose table was not already the snapshot's, the
    /// keys it held plus the keys put in their place (SNAPSHOT RESTORE's count of
    /// changes for save points).
    pub changes: u64,
    /// The databases whose contents changed (in ascending order).
    pub changed_dbs: Vec<usize>,
}

/// All databases. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Keyspace {
    dbs: Box<[Db]>,
    /// How every live shard records accesses (LRU or LFU).
    clock: Arc<AccessClock>,
    config: KeyspaceConfig,
    /// Where the next expiry cycle resumes: (database, shard).
    expire_at: Mutex<(usize, usize)>,
    expired_keys: AtomicU64,
}

/// Two shards locked together, possibly in different databases (MOVE, COPY).
/// When both keys live in the same shard only one lock is held.
pub struct Pair<'a> {
    first: ShardGuard<'a>,
    second: Option<ShardGuard<'a>>,
}

impl Pair<'_> {
    /// The first key's shard.
    pub fn first(&mut self) -> &mut Shard {
        &mut self.first
    }

    /// The second key's shard (the same as the first's when they coincide).
    pub fn second(&mut self) -> &mut Shard {
        match &mut self.second {
            Some(g) => g,
            None => &mut self.first,
        }
    }
}

impl Keyspace {
    /// Creates the databases; database 0 is preallocated for `capacity` keys.
    pub fn new(config: KeyspaceConfig) -> Keyspace {
        let hasher = KeyHasher::new();
        let shards = config.resolved_shards();
        let databases = config.databases.max(1);
        let clock = Arc::new(AccessClock::default());
        let dbs = (0..databases)
            .map(|i| {
                let cap = if i == 0 { config.capacity } else { 0 };
                Db::new(i, shards, cap, hasher.clone(), &clock)
            })
            .collect();
        Keyspace {
            dbs,
            clock,
            config,
            expire_at: Mutex::new((0, 0)),
            expired_keys: AtomicU64::new(0),
        }
    }

    /// How accesses are recorded: LRU times or LFU counters (the server switches it
    /// with `maxmemory-policy`).
    pub fn access_clock(&self) -> &AccessClock {
        &self.clock
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &KeyspaceConfig {
        &self.config
    }

    /// Database number `index`. Panics when out of range (callers validate SELECT).
    #[inline]
    pub fn db(&self, index: usize) -> &Db {
        &self.dbs[index]
    }

    /// Database number `index`, mutably (only an owned snapshot needs it).
    pub(crate) fn db_mut(&mut self, index: usize) -> &mut Db {
        &mut self.dbs[index]
    }

    /// Number of databases.
    pub fn num_dbs(&self) -> usize {
        self.dbs.len()
    }

    /// Keys removed because their TTL passed: by the active cycle, and by commands
    /// that found them expired (lazy expiry). Locks each shard briefly (for INFO).
    pub fn expired_keys(&self) -> u64 {
        self.expired_keys_with(&mut LockEach)
    }

    /// [`Keyspace::expired_keys`], the shards taken from `src`.
    pub fn expired_keys_with(&self, src: &mut impl ShardSource) -> u64 {
        let lazy: u64 = self
            .dbs
            .iter()
            .filter(|d| !d.is_frozen())
            .flat_map(|d| (0..d.num_shards()).map(move |i| (d, i)))
            .map(|(d, i)| src.one(d, i).expired_lazily())
            .sum();
        self.expired_keys.load(Ordering::Relaxed) + lazy
    }

    /// Zeroes the expiry counters (CONFIG RESETSTAT).
    pub fn reset_expired_keys(&self) {
        self.reset_expired_keys_with(&mut LockEach)
    }

    /// [`Keyspace::reset_expired_keys`], the shards taken from `src`.
    pub fn reset_expired_keys_with(&self, src: &mut impl ShardSource) {
        self.expired_keys.store(0, Ordering::Relaxed);
        for d in self.dbs.iter().filter(|d| !d.is_frozen()) {
            for i in 0..d.num_shards() {
                src.one(d, i).reset_expired_lazily();
            }
        }
    }

    /// Locks the shards of `(db_a, hash_a)` and `(db_b, hash_b)` in the global lock
    /// order (database, then shard index).
    pub fn lock_pair(&self, a: (usize, u64), b: (usize, u64)) -> Pair<'_> {
        let ia = (a.0, self.dbs[a.0].shard_index(a.1));
        let ib = (b.0, self.dbs[b.0].shard_index(b.1));
        if ia == ib {
            return Pair {
                first: self.dbs[a.0].lock(a.1),
                second: None,
            };
        }
        if ia < ib {
            let first = self.dbs[a.0].lock(a.1);
            let second = self.dbs[b.0].lock(b.1);
            Pair {
                first,
                second: Some(second),
            }
        } else {
            let second = self.dbs[b.0].lock(b.1);
            let first = self.dbs[a.0].lock(a.1);
            Pair {
                first,
                second: Some(second),
            }
        }
    }

    /// Exchanges the contents of two databases atomically (SWAPDB). Returns whether
    /// anything changed (two different databases, not both empty).
    pub fn swap_dbs(&self, a: usize, b: usize) -> bool {
        self.swap_dbs_with(&mut LockEach, a, b)
    }

    /// [`Keyspace::swap_dbs`], the shards taken from `src`.
    pub fn swap_dbs_with(&self, src: &mut impl ShardSource, a: usize, b: usize) -> bool {
        if a == b {
            return false;
        }
        let (lo, hi) = (a.min(b), a.max(b));
        let mut all = src.all(&[&self.dbs[lo], &self.dbs[hi]]);
        let (la, lb) = all.split_at_mut(1);
        let (la, lb) = (&mut la[0], &mut lb[0]);
        let changed = la.iter().chain(lb.iter()).any(|s| !s.is_empty());
        for (x, y) in la.iter_mut().zip(lb.iter_mut()) {
            x.swap_contents(y);
        }
        let (ua, ub) = (self.dbs[lo].used_shards(), self.dbs[hi].used_shards());
        for i in 0..self.dbs[lo].num_shards() {
            let bit = |w: &[u64]| w[i / 64] & (1 << (i % 64)) != 0;
            self.dbs[lo].set_shard_in_use(i, bit(&ub));
            self.dbs[hi].set_shard_in_use(i, bit(&ua));
        }
        changed
    }

    /// Empties every database; returns the old tables, per database (drop them where
    /// convenient).
    pub fn flush_all(&self) -> Vec<Vec<Arc<Segments>>> {
        self.flush_all_with(&mut LockEach)
    }

    /// [`Keyspace::flush_all`], the shards taken from `src`.
    pub fn flush_all_with(&self, src: &mut impl ShardSource) -> Vec<Vec<Arc<Segments>>> {
        let dbs: Vec<&Db> = self.dbs.iter().collect();
        let mut locks = src.all(&dbs);
        let old = locks
            .iter_mut()
            .map(|l| l.iter_mut().map(|s| s.clear()).collect::<Vec<_>>())
            .collect();
        for d in self.dbs.iter() {
            d.clear_in_use();
        }
        old
    }

    /// Number of keys in all databases.
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }

    /// [`Keyspace::total_keys`], the shards taken from `src`.
    pub fn total_keys_with(&self, src: &mut impl ShardSource) -> usize {
        self.dbs.iter().map(|d| d.len_with(src)).sum()
    }

    /// A point-in-time, read-only copy of every database (SNAPSHOT CREATE, BGSAVE).
    ///
    /// Locks every shard that may hold keys, in the global lock order, for an instant
    /// and clones the segment directories' `Arc`s: O(shards), whatever the
    /// number of keys, and one consistent instant for all keys (multi-key commands
    /// hold all their shards, so they are wholly before or wholly after it).
    /// Afterwards the first write to a segment still shared copies it once
    /// (copy-on-write). The copy's databases are frozen: read without locks, lookups
    /// hide expired keys without deleting them, and the expiry cycle never visits them.
    ///
    /// Shards never written since their database was last emptied are not locked:
    /// with every other shard held, one whose "in use" bit is still clear holds no key
    /// at that instant (the bit is set under the shard's lock before its first
    /// insert, and any command that also touched a locked shard finished before we got
    /// that lock, so its bit store is visible). If one became used meanwhile, take the
    /// snapshot again. A database with no shard in use becomes one empty frozen shard.
    pub fn snapshot(&self) -> Keyspace {
        self.snapshot_locking()
    }

    /// [`Keyspace::snapshot`] for a caller that holds every shard of every database
    /// (a group of commands): `src` hands them out, nothing is locked.
    pub fn snapshot_with(&self, src: &mut impl ShardSource) -> Keyspace {
        let empty: Arc<Segments> = Arc::new(vec![crate::Segment::default()]);
        let dbs: Vec<&Db> = self.dbs.iter().collect();
        let all = src.all(&dbs);
        let dbs = self
            .dbs
            .iter()
            .zip(&all)
            .map(|(d, shards)| d.snapshot_of(shards.iter().map(|g| &**g).enumerate(), &empty))
            .collect();
        self.with_dbs(dbs)
    }

    /// A keyspace of this one's configuration holding `dbs`.
    fn with_dbs(&self, dbs: Vec<Db>) -> Keyspace {
        Keyspace {
            dbs: dbs.into(),
            clock: Arc::clone(&self.clock),
            config: self.config.clone(),
            expire_at: Mutex::new((0, 0)),
            expired_keys: AtomicU64::new(0),
        }
    }

    fn snapshot_locking(&self) -> Keyspace {
        let empty: Arc<Segments> = Arc::new(vec![crate::Segment::default()]);
        let mut attempt = 0;
        loop {
            // After two races with first writes, lock everything (always consistent).
            let lock_all = attempt >= 2;
            attempt += 1;
            let used: Vec<Vec<u64>> = self
                .dbs
                .iter()
                .map(|d| {
                    let mut u = d.used_shards();
                    if lock_all {
                        u.iter_mut().for_each(|w| *w = u64::MAX);
                    }
                    u
                })
                .collect();
            let mut locks: Vec<_> = self
                .dbs
                .iter()
                .zip(&used)
                .map(|(d, u)| d.lock_some(u))
                .collect();
            // With everything else held: a shard skipped must still be unused.
            let raced = self.dbs.iter().zip(&used).any(|(d, u)| {
                d.used_shards()
                    .iter()
                    .zip(u)
                    .any(|(&now, &then)| now & !then != 0)
            });
            if raced {
                continue;
            }
            let dbs = self
                .dbs
                .iter()
                .zip(locks.iter_mut())
                .zip(&used)
                .map(|((d, l), u)| {
                    if u.iter().any(|&w| w != 0) {
                        d.snapshot_locked(l, &empty)
                    } else {
                        d.empty_snapshot(&empty)
                    }
                })
                .collect();
            drop(locks);
            return self.with_dbs(dbs);
        }
    }

    /// Replaces every database's content with `source`'s (a snapshot of this
    /// keyspace): O(shards), the tables are shared, not copied. Returns the replaced
    /// tables (drop them off the request path if large).
    ///
    /// A database empty in the snapshot and not in use here is left alone (already
    /// empty), with the same re-check as [`Keyspace::snapshot`].
    pub fn restore_from(&self, source: &Keyspace) -> Restored {
        assert_eq!(self.dbs.len(), source.dbs.len());
        let mut attempt = 0;
        loop {
            let lock_all = attempt >= 2;
            attempt += 1;
            // Databases to lock: in use here, or holding keys in the snapshot.
            let touch: Vec<bool> = self
                .dbs
                .iter()
                .zip(source.dbs.iter())
                .map(|(d, s)| lock_all || d.in_use() || s.num_shards() == d.num_shards())
                .collect();
            let mut live: Vec<_> = self
                .dbs
                .iter()
                .zip(&touch)
                .map(|(d, &t)| t.then(|| d.lock_all()))
                .collect();
            if self.dbs.iter().zip(&touch).any(|(d, &t)| !t && d.in_use()) {
                continue;
            }
            let shards = live
                .iter_mut()
                .map(|l| l.as_mut().map(|l| l.iter_mut().collect()))
                .collect();
            return self.restore_into(source, shards);
        }
    }

    /// [`Keyspace::restore_from`] for a caller that holds every shard of every
    /// database (a group of commands): `src` hands them out, nothing is locked.
    pub fn restore_from_with(&self, src: &mut impl ShardSource, source: &Keyspace) -> Restored {
        assert_eq!(self.dbs.len(), source.dbs.len());
        let dbs: Vec<&Db> = self.dbs.iter().collect();
        let mut all = src.all(&dbs);
        let shards = all
            .iter_mut()
            .map(|l| Some(l.iter_mut().map(|s| &mut **s).collect()))
            .collect();
        self.restore_into(source, shards)
    }

    /// The body of the restores: `live[d]` is every shard of database `d`, held, or
    /// `None` for a database left alone (empty here and in the snapshot).
    fn restore_into(&self, source: &Keyspace, live: Vec<Option<Vec<&mut Shard>>>) -> Restored {
        let mut out = Restored::default();
        for (index, ((d, l), s)) in self.dbs.iter().zip(live).zip(source.dbs.iter()).enumerate() {
            let Some(mut l) = l else { continue };
            let before = out.changes;
            if s.num_shards() == d.num_shards() {
                for (i, ls) in l.iter_mut().enumerate() {
                    let old = s.with_shard(i, |ss| ls.restore_from(ss));
                    if !ls.holds(&old) {
                        out.changes += (entries_in(&old) + ls.len()) as u64;
                    }
                    out.old.push(old);
                    d.set_shard_in_use(i, !ls.is_empty());
                }
            } else {
                // The snapshot of an empty database (one empty shard).
                debug_assert!(s.is_empty());
                for ls in l.iter_mut().filter(|ls| !ls.is_empty()) {
                    let old = ls.clear();
                    out.changes += entries_in(&old) as u64;
                    out.old.push(old);
                }
                d.clear_in_use();
            }
            if out.changes > before {
                out.changed_dbs.push(index);
            }
        }
        out
    }

    /// Bytes this (snapshot's) keyspace keeps alive that `live` no longer uses: the
    /// segments `live` copied away from, and the entries `live`'s overlays replaced or
    /// removed (see [`Shard::retained_beyond`]). Locks each live shard in turn.
    pub fn retained_beyond(&self, live: &Keyspace) -> usize {
        self.retained_beyond_with(live, &mut LockEach)
    }

    /// [`Keyspace::retained_beyond`], the live shards taken from `src`.
    pub fn retained_beyond_with(&self, live: &Keyspace, src: &mut impl ShardSource) -> usize {
        let mut n = 0;
        for (mine, theirs) in self.dbs.iter().zip(live.dbs.iter()) {
            for i in 0..mine.num_shards() {
                n += if mine.num_shards() == theirs.num_shards() {
                    mine.with_shard(i, |s| s.retained_beyond(&src.one(theirs, i)))
                } else {
                    mine.with_shard(i, Shard::exclusive_bytes)
                };
            }
        }
        n
    }

    /// Bytes only this keyspace keeps alive (for a snapshot: what it retains beyond
    /// the live data, once the live tables have diverged).
    pub fn exclusive_bytes(&self) -> usize {
        self.dbs
            .iter()
            .flat_map(|d| (0..d.num_shards()).map(move |i| d.with_shard(i, Shard::exclusive_bytes)))
            .sum()
    }

    /// Runs active expiry until every shard with expired keys has been cleaned or
    /// `deadline` passes; resumes where the last cycle stopped. Each step holds one
    /// shard lock for a bounded number of buckets, so clients are never blocked long.
    ///
    /// `on_expired(db, entry)` sees every key removed, before it is dropped (the
    /// server's write hook).
    pub fn active_expire_cycle(
        &self,
        now: i64,
        deadline: Instant,
        on_expired: &mut dyn FnMut(usize, &Entry),
    ) -> ExpireCycle {
        const STEP_BUCKETS: usize = 2048;
        // Overlays applied per shard and cycle (about 10 µs each under the lock for a
        // segment written ~40 times while a save held it; writes apply them too).
        const SETTLE_STEP: usize = 8;
        let mut cycle = ExpireCycle::default();
        let mut pos = self.expire_at.lock();
        let nshards = self.dbs[0].num_shards();
        let total = self.dbs.len() * nshards;
        let mut visited = 0;
        while visited < total {
            let (d, s) = *pos;
            let db = &self.dbs[d];
            loop {
                let mut shard = db.lock_index(s);
                let step = shard.expire_step(now, STEP_BUCKETS, &mut |e| on_expired(d, e));
                if step.done {
                    shard.settle(SETTLE_STEP);
                    shard.shrink_if_sparse();
                }
                drop(shard);
                cycle.expired += step.expired;
                cycle.scanned += step.scanned;
                if step.done {
                    break;
                }
                if Instant::now() >= deadline {
                    cycle.timed_out = true;
                    self.expired_keys
                        .fetch_add(cycle.expired as u64, Ordering::Relaxed);
                    return cycle;
                }
            }
            visited += 1;
            *pos = if s + 1 < nshards {
                (d, s + 1)
            } else {
                ((d + 1) % self.dbs.len(), 0)
            };
            if visited % 64 == 0 && Instant::now() >= deadline {
                cycle.timed_out = visited < total;
                break;
            }
        }
        self.expired_keys
            .fetch_add(cycle.expired as u64, Ordering::Relaxed);
        cycle
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ks() -> Keyspace {
        Keyspace::new(KeyspaceConfig {
            databases: 4,
            capacity: 1000,
            shards: 0,
        })
    }

    fn put(k: &Keyspace, db: usize, key: &str, ttl: Option<i64>) {
        let d = k.db(db);
        let h = d.hash(key.as_bytes());
        d.lock(h)
            .insert(h, Entry::new_str(key.as_bytes(), b"v", ttl), 0);
    }

    #[test]
    fn snapshot_is_a_point_in_time_and_restore_rolls_back() {
        let k = ks();
        put(&k, 0, "a", None);
        put(&k, 1, "b", Some(50));
        let snap = k.snapshot();
        put(&k, 0, "c", None);
        let h = k.db(0).hash(b"a");
        k.db(0).lock(h).remove(h, b"a", 0);
        // The snapshot still sees the old state; the live keyspace the new one.
        assert!(snap.db(0).lock(h).get(h, b"a", 0).is_some());
        assert_eq!(snap.db(0).len(), 1);
        assert_eq!(k.db(0).len(), 1);
        // Expired in the snapshot: hidden, not deleted.
        let hb = k.db(1).hash(b"b");
        assert!(snap.db(1).lock(hb).get(hb, b"b", 100).is_none());
        assert_eq!(snap.db(1).len(), 1);
        assert!(
            snap.exclusive_bytes() > 0,
            "db0's diverged shard is retained"
        );
        k.restore_from(&snap);
        assert!(k.db(0).lock(h).get(h, b"a", 0).is_some());
        let hc = k.db(0).hash(b"c");
        assert!(k.db(0).lock(hc).get(hc, b"c", 0).is_none());
        assert_eq!(k.db(1).expires(), 1);
        // Writing after restore does not change the snapshot (copy-on-write).
        put(&k, 0, "d", None);
        assert_eq!(snap.db(0).len(), 1);
    }

    #[test]
    fn snapshot_skips_unused_databases_and_reads_without_locks() {
        let k = ks();
        put(&k, 2, "x", None);
        let snap = k.snapshot();
        assert!(snap.db(0).is_frozen() && snap.db(2).is_frozen());
        assert_eq!(
            snap.db(0).num_shards(),
            1,
            "never written: not locked, empty"
        );
        assert_eq!(snap.db(2).num_shards(), k.db(2).num_shards());
        assert_eq!(snap.db(2).len(), 1);
        // A view of a frozen shard: reads hide nothing live, touch nothing.
        let h = k.db(2).hash(b"x");
        let before = k.db(2).lock(h).peek(h, b"x", 0).unwrap().idle_secs(1_000);
        assert!(snap.db(2).lock(h).get(h, b"x", 500_000).is_some());
        let after = k.db(2).lock(h).peek(h, b"x", 0).unwrap().idle_secs(1_000);
        assert_eq!(before, after, "reading a snapshot is not an access");
        // Emptied databases are skipped again; restoring an empty one empties it.
        k.db(2).clear();
        assert_eq!(k.snapshot().db(2).num_shards(), 1);
        put(&k, 0, "y", None);
        k.restore_from(&snap);
        assert_eq!(k.db(0).len(), 0);
        assert_eq!(k.db(2).len(), 1);
        assert_eq!(k.snapshot().db(2).len(), 1, "restored database is in use");
        // SWAPDB carries the flag with the data.
        k.swap_dbs(2, 3);
        assert_eq!(k.snapshot().db(3).len(), 1);
        assert_eq!(k.snapshot().db(2).num_shards(), 1);
    }

    /// A writer loops: delete `marker` from database 3, empty database 2 (it becomes
    /// unused), set `x` in database 2, set `marker` in database 3. At every instant
    /// `marker` present implies `x` present, and every snapshot must be such an
    /// instant. Database 0 holds keys in many shards, so locking it leaves the writer
    /// time to act between the snapshot's first look at the flags and its locking of
    /// database 3: without the second look, database 2 is taken as empty while the
    /// marker set after it is seen.
    #[test]
    fn snapshots_racing_first_writes_stay_consistent() {
        let k = Arc::new(Keyspace::new(KeyspaceConfig {
            databases: 4,
            capacity: 0,
            shards: 4096,
        }));
        for i in 0..100 {
            put(&k, 0, &format!("base{i}"), None);
        }
        put(&k, 3, "always", None);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (k, stop) = (Arc::clone(&k), Arc::clone(&stop));
            std::thread::spawn(move || {
                let h = k.db(3).hash(b"marker");
                while !stop.load(Ordering::Relaxed) {
                    k.db(3).lock(h).remove(h, b"marker", 0);
                    k.db(2).clear();
                    // Let snapshots find database 2 unused, then the marker present.
                    std::thread::sleep(Duration::from_micros(50));
                    put(&k, 2, "x", None);
                    put(&k, 3, "marker", None);
                    std::thread::sleep(Duration::from_micros(50));
                }
            })
        };
        let (hm, hx) = (k.db(3).hash(b"marker"), k.db(2).hash(b"x"));
        let mut seen_marker = 0;
        for _ in 0..1_500 {
            let snap = k.snapshot();
            if snap.db(3).lock(hm).peek(hm, b"marker", 0).is_some() {
                seen_marker += 1;
                assert!(
                    snap.db(2).lock(hx).peek(hx, b"x", 0).is_some(),
                    "marker in db 3 but x not in db 2: not a point in time"
                );
            }
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        assert!(seen_marker > 0);
    }

    /// As above within one database: the writer empties database 1, writes `c` (in
    /// the marker's shard, so that shard is in use), then `x` in another shard (not
    /// in use until then), then `marker`. A snapshot that skipped `x`'s shard must
    /// notice it became used before it locked the marker's.
    #[test]
    fn snapshots_racing_first_writes_to_a_shard_stay_consistent() {
        let k = Arc::new(Keyspace::new(KeyspaceConfig {
            databases: 2,
            capacity: 0,
            shards: 4096,
        }));
        for i in 0..100 {
            put(&k, 0, &format!("base{i}"), None);
        }
        let d = k.db(1);
        let shard_of = |key: &str| d.shard_index(d.hash(key.as_bytes()));
        let m = shard_of("marker");
        let c = (0..)
            .map(|i| format!("c{i}"))
            .find(|key| shard_of(key) == m)
            .unwrap();
        let x = (0..)
            .map(|i| format!("x{i}"))
            .find(|key| shard_of(key) != m)
            .unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (k, stop, c, x) = (Arc::clone(&k), Arc::clone(&stop), c.clone(), x.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    k.db(1).clear();
                    put(&k, 1, &c, None);
                    std::thread::sleep(Duration::from_micros(50));
                    put(&k, 1, &x, None);
                    put(&k, 1, "marker", None);
                    std::thread::sleep(Duration::from_micros(50));
                }
            })
        };
        let (hm, hx) = (d.hash(b"marker"), d.hash(x.as_bytes()));
        let mut seen_marker = 0;
        for _ in 0..1_500 {
            let snap = k.snapshot();
            if snap.db(1).lock(hm).peek(hm, b"marker", 0).is_some() {
                seen_marker += 1;
                assert!(
                    snap.db(1).lock(hx).peek(hx, x.as_bytes(), 0).is_some(),
                    "marker without {x}: not a point in time"
                );
            }
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        assert!(seen_marker > 0);
    }

    #[test]
    fn shard_sizing() {
        let c = |capacity, shards| KeyspaceConfig {
            databases: 1,
            capacity,
            shards,
        };
        assert_eq!(c(0, 0).resolved_shards(), MIN_AUTO_SHARDS);
        assert_eq!(c(1_000_000, 0).resolved_shards(), 32);
        assert_eq!(c(10_000_000, 0).resolved_shards(), 512);
        assert_eq!(c(0, 4).resolved_shards(), 4);
        assert_eq!(c(0, 5).resolved_shards(), 8);
    }

    #[test]
    fn swap_and_flush() {
        let k = ks();
        put(&k, 0, "a", None);
        put(&k, 1, "b", None);
        put(&k, 1, "c", None);
        k.swap_dbs(0, 1);
        assert_eq!(k.db(0).len(), 2);
        assert_eq!(k.db(1).len(), 1);
        let h = k.db(1).hash(b"a");
        assert!(k.db(1).lock(h).contains(h, b"a", 0));
        k.flush_all();
        assert_eq!(k.total_keys(), 0);
    }

    #[test]
    fn pair_across_dbs() {
        let k = ks();
        put(&k, 0, "x", None);
        let h = k.db(0).hash(b"x");
        let mut p = k.lock_pair((0, h), (2, h));
        let e = p.first().remove(h, b"x", 0).unwrap();
        p.second().insert(h, e, 0);
        drop(p);
        assert_eq!(k.db(0).len(), 0);
        assert_eq!(k.db(2).len(), 1);
        // Same db and shard: one lock, both accessors work.
        let mut p = k.lock_pair((2, h), (2, h));
        assert!(p.first().contains(h, b"x", 0));
        assert!(p.second().contains(h, b"x", 0));
    }

    #[test]
    fn active_expiry_reclaims_everything_expired() {
        let k = ks();
        for i in 0..20_000 {
            put(&k, i % 3, &format!("t{i}"), Some(10));
        }
        for i in 0..100 {
            put(&k, 0, &format!("p{i}"), None);
        }
        let mut removed = 0;
        for _ in 0..1000 {
            let c = k.active_expire_cycle(
                20,
                Instant::now() + Duration::from_millis(5),
                &mut |_, _| {},
            );
            removed += c.expired;
            if !c.timed_out && removed == 20_000 {
                break;
            }
        }
        assert_eq!(removed, 20_000);
        assert_eq!(k.total_keys(), 100);
        assert_eq!(k.expired_keys(), 20_000);
    }
}
