//! A database: a power-of-two array of shards, each behind its own short lock.
//!
//! The key's hash picks the shard from its middle bits (bits 32 and up; hashbrown uses
//! the low bits for the bucket and the top 7 for its tag, so the three stay
//! independent) and is then reused for the lookup inside the shard.
//!
//! Lock order (no deadlocks): within a database, shards are locked in ascending index;
//! across databases, by database index first (see [`crate::Keyspace`]). No lock is held
//! across I/O: the server copies what it needs into its reply buffer and lets go.
//!
//! A snapshot's database ([`crate::Keyspace::snapshot`]) is *frozen*: its shards are
//! immutable, so they have no locks at all. [`Db::lock`] on a frozen database hands out
//! a private read-only view of the shard (one `Arc` clone of its table), and the
//! whole-database reads (SCAN, KEYS, DBSIZE, RANDOMKEY, the RDB writer) read the
//! frozen shards in place.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::entry::Entry;
use crate::evict::AccessClock;
use crate::shard::{InUse, Segments, Shard};
use crate::KeyHasher;

/// Pads a shard's lock to its own cache lines so that neighbouring shards locked by
/// different threads do not false-share.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// The shards of a database.
enum Shards {
    /// A live database: each shard behind its own lock.
    Live(Box<[Padded<Mutex<Shard>>]>),
    /// A snapshot's database: immutable, read without locks.
    Frozen(Box<[Shard]>),
}

/// One of the keyspace's numbered databases (`SELECT n`).
pub struct Db {
    /// This database's number in its keyspace (`SELECT n`).
    index: usize,
    shards: Shards,
    mask: u64,
    hasher: KeyHasher,
    /// Which shards may hold keys (see [`InUse`]); shared with the shards.
    in_use: Arc<InUse>,
}

/// Access to one shard: the lock of a live database's shard, or a private read-only
/// view of a snapshot's shard (taken without any lock). Dereferences to the [`Shard`].
pub enum ShardGuard<'a> {
    /// A live shard, locked until the guard drops.
    Locked(MutexGuard<'a, Shard>),
    /// A view of a frozen shard: shares its table; lookups hide expired keys and
    /// never change anything the snapshot holds. Boxed so that a guard is two words:
    /// guards of live shards are moved around on every command.
    View(Box<Shard>),
}

impl Deref for ShardGuard<'_> {
    type Target = Shard;

    #[inline]
    fn deref(&self) -> &Shard {
        match self {
            ShardGuard::Locked(g) => g,
            ShardGuard::View(s) => s,
        }
    }
}

impl DerefMut for ShardGuard<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Shard {
        match self {
            ShardGuard::Locked(g) => g,
            ShardGuard::View(s) => s,
        }
    }
}

/// A SCAN cursor, decoded. Layout of the 64-bit cursor Redis clients see:
/// `shard (16 bits) | shard generation (16 bits) | bucket (32 bits)`. Cursor 0 starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cursor {
    shard: usize,
    generation: u16,
    bucket: usize,
}

impl Cursor {
    fn decode(c: u64) -> Cursor {
        Cursor {
            shard: (c >> 48) as usize,
            generation: (c >> 32) as u16,
            bucket: (c & 0xffff_ffff) as usize,
        }
    }

    fn encode(self) -> u64 {
        ((self.shard as u64) << 48) | ((self.generation as u64) << 32) | self.bucket as u64
    }
}

impl Db {
    pub(crate) fn new(
        index: usize,
        shards: usize,
        capacity: usize,
        hasher: KeyHasher,
        clock: &Arc<AccessClock>,
    ) -> Db {
        assert!(shards.is_power_of_two() && shards <= 1 << 16);
        let per_shard = capacity.div_ceil(shards);
        let in_use = Arc::new(InUse::new(shards));
        Db {
            index,
            shards: Shards::Live(
                (0..shards)
                    .map(|i| {
                        let shard = Shard::new(per_shard, hasher.clone())
                            .with_in_use(Arc::clone(&in_use), i)
                            .with_clock(Arc::clone(clock));
                        Padded(Mutex::new(shard))
                    })
                    .collect(),
            ),
            mask: shards as u64 - 1,
            hasher,
            in_use,
        }
    }

    /// A read-only copy of this database sharing the tables of the shards in
    /// `locked` (which the caller holds, so the copy is one point in time); the other
    /// shards held no key at that point and are empty in the copy (sharing `empty`).
    pub(crate) fn snapshot_locked(&self, locked: &mut Locked<'_>, empty: &Arc<Segments>) -> Db {
        self.snapshot_of(locked.guards.iter().map(|(i, g)| (*i, &**g)), empty)
    }

    /// [`Db::snapshot_locked`] from the held shards `held` (index, shard), ascending.
    pub(crate) fn snapshot_of<'s>(
        &self,
        held: impl Iterator<Item = (usize, &'s Shard)>,
        empty: &Arc<Segments>,
    ) -> Db {
        let mut frozen = Vec::with_capacity(self.num_shards());
        let mut held = held.peekable();
        for i in 0..self.num_shards() {
            match held.next_if(|(j, _)| *j == i) {
                Some((_, g)) => frozen.push(g.snapshot()),
                None => frozen.push(Shard::empty_view(empty, &self.hasher)),
            }
        }
        Db {
            index: self.index,
            shards: Shards::Frozen(frozen.into_boxed_slice()),
            mask: self.mask,
            hasher: self.hasher.clone(),
            in_use: Arc::new(InUse::new(0)),
        }
    }

    /// The snapshot of a database that holds no key: one empty frozen shard.
    pub(crate) fn empty_snapshot(&self, empty: &Arc<Segments>) -> Db {
        Db {
            index: self.index,
            shards: Shards::Frozen(Box::new([Shard::empty_view(empty, &self.hasher)])),
            mask: 0,
            hasher: self.hasher.clone(),
            in_use: Arc::new(InUse::new(0)),
        }
    }

    /// Which shards may hold keys now: bit `i % 64` of word `i / 64` for shard `i`
    /// (see [`InUse`]); every shard of a snapshot's database.
    pub(crate) fn used_shards(&self) -> Vec<u64> {
        match &self.shards {
            Shards::Live(_) => self.in_use.words(),
            Shards::Frozen(s) => {
                let mut w = vec![0u64; s.len().div_ceil(64)];
                (0..s.len()).for_each(|i| w[i / 64] |= 1 << (i % 64));
                w
            }
        }
    }

    /// Whether keys may have been written since the database was last empty with every
    /// shard locked. `false` means it holds no key.
    pub(crate) fn in_use(&self) -> bool {
        match &self.shards {
            Shards::Live(_) => self.in_use.any(),
            Shards::Frozen(_) => !self.is_empty(),
        }
    }

    /// Whether the database may hold keys (no lock taken; `false` is certain, `true`
    /// may be stale): eviction skips the databases that hold none.
    pub fn may_hold_keys(&self) -> bool {
        self.in_use()
    }

    /// Marks every shard unused; the caller holds every shard, all empty.
    pub(crate) fn clear_in_use(&self) {
        self.in_use.clear();
    }

    /// Sets shard `i`'s "may hold keys" bit; the caller holds that shard.
    pub(crate) fn set_shard_in_use(&self, i: usize, v: bool) {
        self.in_use.set(i, v);
    }

    /// Locks the shards whose bit is set in `which` (as [`Db::used_shards`]), in
    /// ascending order.
    pub(crate) fn lock_some(&self, which: &[u64]) -> Locked<'_> {
        let mut guards = Vec::new();
        for (w, &bits) in which.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if i < self.num_shards() {
                    guards.push((i, self.lock_index(i)));
                }
            }
        }
        Locked { db: self, guards }
    }

    /// Whether this is a snapshot's (frozen, read-only) database.
    pub fn is_frozen(&self) -> bool {
        matches!(self.shards, Shards::Frozen(_))
    }

    /// Calls `f` with shard `index`: under its lock when live, in place when frozen.
    #[inline]
    pub fn with_shard<R>(&self, index: usize, f: impl FnOnce(&Shard) -> R) -> R {
        f(&self.shard_ref(&mut LockEach, index))
    }

    /// Takes a frozen shard's table out of this snapshot database (the RDB writer,
    /// once the shard is written, frees it). `None` on a live database.
    pub(crate) fn take_frozen(&mut self, index: usize) -> Option<Arc<Segments>> {
        match &mut self.shards {
            Shards::Frozen(s) => {
                let empty = Shard::new(0, self.hasher.clone()).snapshot();
                Some(std::mem::replace(&mut s[index], empty).share_segments())
            }
            Shards::Live(_) => None,
        }
    }

    /// The hash of a key, to pass to [`Db::lock`] and the shard's operations.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    /// Index of the shard that owns `hash`.
    #[inline]
    pub fn shard_index(&self, hash: u64) -> usize {
        ((hash >> 32) & self.mask) as usize
    }

    /// Number of shards.
    pub fn num_shards(&self) -> usize {
        match &self.shards {
            Shards::Live(s) => s.len(),
            Shards::Frozen(s) => s.len(),
        }
    }

    /// Locks the shard that owns `hash` (a snapshot's: a view, no lock).
    #[inline]
    pub fn lock(&self, hash: u64) -> ShardGuard<'_> {
        self.lock_index(self.shard_index(hash))
    }

    /// Locks shard number `index` (a snapshot's: a view, no lock).
    #[inline]
    pub fn lock_index(&self, index: usize) -> ShardGuard<'_> {
        match &self.shards {
            Shards::Live(s) => {
                assert_not_in_group();
                ShardGuard::Locked(s[index].0.lock())
            }
            Shards::Frozen(s) => ShardGuard::View(Box::new(s[index].snapshot())),
        }
    }

    /// Tries to lock shard number `index` of a live database without blocking
    /// indefinitely: at once (`wait` is `None`) or within `wait`. Unlike
    /// [`Db::lock_index`] it may be called by a thread that holds a group's locks (a
    /// script reaching a key it did not declare): it cannot deadlock, it gives up. A
    /// snapshot's shard is always available (a view).
    pub fn try_lock_index(
        &self,
        index: usize,
        wait: Option<std::time::Duration>,
    ) -> Option<ShardGuard<'_>> {
        match &self.shards {
            Shards::Live(s) => match wait {
                None => s[index].0.try_lock(),
                Some(d) => s[index].0.try_lock_for(d),
            }
            .map(ShardGuard::Locked),
            Shards::Frozen(s) => Some(ShardGuard::View(Box::new(s[index].snapshot()))),
        }
    }

    /// Locks shard number `index`, blocking, for a thread that holds a group's
    /// locks on shards that all come before this one in the global lock order (a
    /// script extending its locks upwards): acquiring in ascending order cannot
    /// deadlock with any other locker, so the group check does not apply.
    pub fn lock_index_above(&self, index: usize) -> ShardGuard<'_> {
        match &self.shards {
            Shards::Live(s) => ShardGuard::Locked(s[index].0.lock()),
            Shards::Frozen(s) => ShardGuard::View(Box::new(s[index].snapshot())),
        }
    }

    /// Locks every shard owning one of `hashes`, in ascending shard order, so that a
    /// multi-key command (MSET, DEL, RENAME...) acts atomically on all its keys.
    pub fn lock_many(&self, hashes: impl IntoIterator<Item = u64>) -> Locked<'_> {
        let mut idx: Vec<usize> = hashes.into_iter().map(|h| self.shard_index(h)).collect();
        idx.sort_unstable();
        idx.dedup();
        Locked {
            db: self,
            guards: idx.into_iter().map(|i| (i, self.lock_index(i))).collect(),
        }
    }

    /// Locks every shard in order (FLUSHDB, SWAPDB, snapshots).
    pub fn lock_all(&self) -> Locked<'_> {
        Locked {
            db: self,
            guards: (0..self.num_shards())
                .map(|i| (i, self.lock_index(i)))
                .collect(),
        }
    }

    /// This database's number in its keyspace.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The sum of `f` over every shard, each taken from `src`.
    fn sum_with(&self, src: &mut impl ShardSource, f: impl Fn(&Shard) -> usize) -> usize {
        (0..self.num_shards())
            .map(|i| f(&self.shard_ref(src, i)))
            .sum()
    }

    /// Number of keys, including expired ones not yet reclaimed (DBSIZE).
    pub fn len(&self) -> usize {
        self.len_with(&mut LockEach)
    }

    /// [`Db::len`], the shards taken from `src`.
    pub fn len_with(&self, src: &mut impl ShardSource) -> usize {
        self.sum_with(src, Shard::len)
    }

    /// Whether the database holds no key.
    pub fn is_empty(&self) -> bool {
        (0..self.num_shards()).all(|i| self.with_shard(i, Shard::is_empty))
    }

    /// Number of keys with a TTL.
    pub fn expires(&self) -> usize {
        self.expires_with(&mut LockEach)
    }

    /// [`Db::expires`], the shards taken from `src`.
    pub fn expires_with(&self, src: &mut impl ShardSource) -> usize {
        self.sum_with(src, Shard::expires)
    }

    /// Bytes held by the tables' bucket arrays.
    pub fn table_bytes(&self) -> usize {
        self.table_bytes_with(&mut LockEach)
    }

    /// [`Db::table_bytes`], the shards taken from `src`.
    pub fn table_bytes_with(&self, src: &mut impl ShardSource) -> usize {
        self.sum_with(src, Shard::table_bytes)
    }

    /// Removes every key. Returns the old tables so the caller can free them off the
    /// request path (FLUSHDB ASYNC); dropping the result frees them here.
    pub fn clear(&self) -> Vec<Arc<Segments>> {
        self.clear_with(&mut LockEach)
    }

    /// [`Db::clear`] with every shard taken from `src` at once. A frozen database
    /// (a snapshot's) has nothing to clear: it returns no table.
    pub fn clear_with(&self, src: &mut impl ShardSource) -> Vec<Arc<Segments>> {
        if self.is_frozen() {
            return Vec::new();
        }
        let mut all = src.all(&[self]);
        let old = all[0].iter_mut().map(|g| g.clear()).collect();
        self.clear_in_use();
        old
    }

    /// One SCAN step: visits live entries from `cursor` until about `count` were seen,
    /// calls `visit` for each, and returns the cursor to continue from (0 when done).
    ///
    /// Guarantee (as Redis's): a key present for the whole iteration is visited at
    /// least once. Within a shard the cursor is a bucket index; if the shard's table
    /// moved entries since (resize, rehash, flush), the shard is scanned again from its
    /// first bucket, which can repeat keys but never skips one.
    pub fn scan(&self, cursor: u64, count: usize, now: i64, visit: impl FnMut(&Entry)) -> u64 {
        self.scan_with(&mut LockEach, cursor, count, now, visit)
    }

    /// [`Db::scan`], the shards taken from `src`.
    pub fn scan_with(
        &self,
        src: &mut impl ShardSource,
        cursor: u64,
        count: usize,
        now: i64,
        mut visit: impl FnMut(&Entry),
    ) -> u64 {
        let mut c = Cursor::decode(cursor);
        let count = count.max(1);
        let mut seen = 0usize;
        // Bound the work on sparse tables: empty buckets cost a byte compare each.
        let mut budget = count.saturating_mul(100).saturating_add(16_384);
        let nshards = self.num_shards();
        while c.shard < nshards {
            let shard = self.shard_ref(src, c.shard);
            if c.bucket != 0 && c.generation != shard.generation() as u16 {
                c.bucket = 0;
            }
            let buckets = if shard.is_empty() {
                0
            } else {
                shard.num_buckets()
            };
            if c.bucket < buckets {
                c.bucket = shard.scan_from(c.bucket, now, |e| {
                    budget = budget.saturating_sub(1);
                    if let Some(e) = e {
                        visit(e);
                        seen += 1;
                    }
                    seen < count && budget > 0
                });
            }
            if c.bucket < buckets {
                c.generation = shard.generation() as u16;
                return c.encode();
            }
            drop(shard);
            c = Cursor {
                shard: c.shard + 1,
                generation: 0,
                bucket: 0,
            };
            if seen >= count || budget == 0 {
                break;
            }
        }
        if c.shard >= nshards {
            0
        } else {
            c.encode()
        }
    }

    /// Calls `visit` for every live entry, one shard at a time (KEYS).
    pub fn for_each(&self, now: i64, visit: impl FnMut(&Entry)) {
        self.for_each_with(&mut LockEach, now, visit)
    }

    /// [`Db::for_each`], the shards taken from `src`.
    pub fn for_each_with(
        &self,
        src: &mut impl ShardSource,
        now: i64,
        mut visit: impl FnMut(&Entry),
    ) {
        for i in 0..self.num_shards() {
            let shard = self.shard_ref(src, i);
            for e in shard.iter() {
                if !e.is_expired(now) {
                    visit(e);
                }
            }
        }
    }

    /// A random live key (RANDOMKEY), or `None` when the database is empty.
    pub fn random_entry(&self, now: i64, rand: impl FnMut(usize) -> usize) -> Option<Entry> {
        self.random_entry_with(&mut LockEach, now, rand)
    }

    /// [`Db::random_entry`], the shards taken from `src`.
    pub fn random_entry_with(
        &self,
        src: &mut impl ShardSource,
        now: i64,
        mut rand: impl FnMut(usize) -> usize,
    ) -> Option<Entry> {
        let n = self.num_shards();
        for _ in 0..100 {
            // Start at a random shard and take the first non-empty one from there.
            let start = rand(n);
            for k in 0..n {
                let shard = self.shard_ref(src, (start + k) % n);
                if shard.is_empty() {
                    continue;
                }
                let buckets = shard.num_buckets();
                let from = rand(buckets);
                // The first entry from a random bucket on, wrapping around (expired
                // ones included: `i64::MIN` is before every expiry time).
                let mut found = None;
                for start in [from, 0] {
                    shard.scan_from(start, i64::MIN, |e| {
                        found = e.cloned();
                        found.is_none()
                    });
                    if found.is_some() {
                        break;
                    }
                }
                match found {
                    Some(e) if !e.is_expired(now) => return Some(e),
                    Some(_) => break, // expired: try another random spot
                    None => continue,
                }
            }
            if (0..n).all(|i| self.shard_ref(src, i).is_empty()) {
                return None;
            }
        }
        None
    }
}

/// Read access to one shard for whole-database reads: a live shard from a
/// [`ShardSource`], the frozen shard itself (no lock, no copy) in a snapshot.
enum ShardRef<'a> {
    Live(LiveShard<'a>),
    Frozen(&'a Shard),
}

impl Deref for ShardRef<'_> {
    type Target = Shard;

    #[inline]
    fn deref(&self) -> &Shard {
        match self {
            ShardRef::Live(g) => g,
            ShardRef::Frozen(s) => s,
        }
    }
}

impl Db {
    #[inline]
    fn shard_ref<'s>(&'s self, src: &'s mut impl ShardSource, index: usize) -> ShardRef<'s> {
        match &self.shards {
            Shards::Live(_) => ShardRef::Live(src.one(self, index)),
            Shards::Frozen(s) => ShardRef::Frozen(&s[index]),
        }
    }

    /// Locks shard `index` of a live database (panics on a frozen one: callers check).
    fn lock_live(&self, index: usize) -> MutexGuard<'_, Shard> {
        assert_not_in_group();
        match &self.shards {
            Shards::Live(s) => s[index].0.lock(),
            Shards::Frozen(_) => panic!("a frozen database has no locks"),
        }
    }
}

/// A live shard handed out by a [`ShardSource`]: locked for this use, or borrowed
/// from guards the caller holds.
pub enum LiveShard<'a> {
    /// Locked now, unlocked when this drops.
    Locked(MutexGuard<'a, Shard>),
    /// Held by the caller (a group of commands).
    Held(&'a mut Shard),
}

impl Deref for LiveShard<'_> {
    type Target = Shard;

    #[inline]
    fn deref(&self) -> &Shard {
        match self {
            LiveShard::Locked(g) => g,
            LiveShard::Held(s) => s,
        }
    }
}

impl DerefMut for LiveShard<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Shard {
        match self {
            LiveShard::Locked(g) => g,
            LiveShard::Held(s) => s,
        }
    }
}

/// Where a whole-database operation (SCAN, KEYS, DBSIZE, FLUSHDB, SWAPDB,
/// snapshots...) takes the shards of a live database: locked as it goes
/// ([`LockEach`], every plain caller), or handed out from guards its caller already
/// holds (the server running a group of commands atomically, which must not lock a
/// shard it holds a second time: locks are not re-entrant).
pub trait ShardSource {
    /// Shard `index` of the live database `db`, for as long as the borrow lasts.
    fn one<'s>(&'s mut self, db: &'s Db, index: usize) -> LiveShard<'s>;

    /// Every shard of each of `dbs` (live databases, in ascending database order) at
    /// once, in shard order: `result[k][i]` is shard `i` of `dbs[k]`.
    fn all<'s>(&'s mut self, dbs: &[&'s Db]) -> Vec<Vec<LiveShard<'s>>>;
}

thread_local! {
    /// This thread runs a group of commands holding shard locks (see [`GroupScope`]).
    static IN_GROUP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the current thread as holding a group's shard locks while it lives. Locking
/// a live shard on this thread meanwhile (anything but the group's own guards) would
/// deadlock on a lock the thread already holds: debug builds panic there instead,
/// naming the culprit, so that tests catch a command that locks on its own.
pub struct GroupScope(());

impl GroupScope {
    /// Enters the scope (scopes do not nest).
    pub fn enter() -> GroupScope {
        IN_GROUP.with(|g| g.set(true));
        GroupScope(())
    }
}

impl Drop for GroupScope {
    fn drop(&mut self) {
        IN_GROUP.with(|g| g.set(false));
    }
}

/// Debug builds: panics if this thread holds a group's locks (see [`GroupScope`]).
#[inline]
fn assert_not_in_group() {
    #[cfg(debug_assertions)]
    IN_GROUP.with(|g| {
        assert!(
            !g.get(),
            "a shard locked while this thread holds a group's locks: take the shards \
             from the group (a ShardSource) instead"
        )
    });
}

/// The plain [`ShardSource`]: locks shards itself, one at a time for
/// [`ShardSource::one`] and all at once, in the global lock order, for
/// [`ShardSource::all`].
pub struct LockEach;

impl ShardSource for LockEach {
    #[inline]
    fn one<'s>(&'s mut self, db: &'s Db, index: usize) -> LiveShard<'s> {
        LiveShard::Locked(db.lock_live(index))
    }

    fn all<'s>(&'s mut self, dbs: &[&'s Db]) -> Vec<Vec<LiveShard<'s>>> {
        debug_assert!(dbs.windows(2).all(|w| w[0].index < w[1].index));
        dbs.iter()
            .map(|d| {
                (0..d.num_shards())
                    .map(|i| LiveShard::Locked(d.lock_live(i)))
                    .collect()
            })
            .collect()
    }
}

/// Shards of one database a caller holds, reached by key hash: a [`Locked`] set, or
/// the server's execution context (which may hold them for a group of commands).
/// Library operations that work on several keys atomically (the merge family) take
/// one, so they run under whatever locks the caller already holds.
pub trait HeldShards {
    /// The held shard owning `hash`. Implementations panic if it is not held:
    /// callers hold exactly the shards of the keys they pass.
    fn shard(&mut self, hash: u64) -> &mut Shard;
}

impl HeldShards for Locked<'_> {
    #[inline]
    fn shard(&mut self, hash: u64) -> &mut Shard {
        Locked::shard(self, hash)
    }
}

/// Several shards of one database held locked at once (see [`Db::lock_many`]).
pub struct Locked<'a> {
    db: &'a Db,
    guards: Vec<(usize, ShardGuard<'a>)>,
}

impl<'a> Locked<'a> {
    /// The locked shard owning `hash`. Panics if that shard was not locked: callers
    /// lock exactly the hashes they then access.
    #[inline]
    pub fn shard(&mut self, hash: u64) -> &mut Shard {
        let want = self.db.shard_index(hash);
        let pos = self
            .guards
            .binary_search_by_key(&want, |(i, _)| *i)
            .expect("shard accessed without being locked");
        &mut self.guards[pos].1
    }

    /// Every locked shard, in ascending order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Shard> + use<'_, 'a> {
        self.guards.iter_mut().map(|(_, g)| &mut **g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn db(shards: usize) -> Db {
        Db::new(0, shards, 0, KeyHasher::new(), &Arc::default())
    }

    fn put(db: &Db, k: &str) {
        let h = db.hash(k.as_bytes());
        db.lock(h)
            .insert(h, Entry::new_str(k.as_bytes(), b"v", None), 0);
    }

    fn del(db: &Db, k: &str) {
        let h = db.hash(k.as_bytes());
        db.lock(h).remove(h, k.as_bytes(), 0);
    }

    fn scan_all(db: &Db, count: usize, mut between: impl FnMut(usize)) -> HashSet<Vec<u8>> {
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = db.scan(cursor, count, 0, |e| {
                seen.insert(e.key().to_vec());
            });
            calls += 1;
            if cursor == 0 {
                return seen;
            }
            between(calls);
            assert!(calls < 1_000_000, "scan does not terminate");
        }
    }

    #[test]
    fn scan_returns_every_key() {
        let d = db(8);
        for i in 0..5000 {
            put(&d, &format!("key:{i}"));
        }
        let seen = scan_all(&d, 10, |_| {});
        assert_eq!(seen.len(), 5000);
    }

    #[test]
    fn scan_sees_stable_keys_while_table_grows_and_shrinks() {
        let d = db(4);
        for i in 0..1000 {
            put(&d, &format!("stable:{i}"));
        }
        let mut next = 0;
        let seen = scan_all(&d, 7, |calls| {
            // Grow the table 20x while the scan runs (forcing several resizes), and
            // churn other keys; a shard that resized is rescanned, so growth must stop
            // at some point for the scan to end, as it does here.
            if calls > 400 {
                return;
            }
            for _ in 0..50 {
                put(&d, &format!("new:{next}"));
                if next % 3 == 0 {
                    del(&d, &format!("new:{}", next / 2));
                }
                next += 1;
            }
        });
        for i in 0..1000 {
            assert!(
                seen.contains(format!("stable:{i}").as_bytes()),
                "missed stable:{i}"
            );
        }
    }

    #[test]
    fn scan_empty_and_bogus_cursor() {
        let d = db(4);
        assert_eq!(d.scan(0, 10, 0, |_| panic!("empty")), 0);
        assert_eq!(d.scan(u64::MAX, 10, 0, |_| {}), 0);
    }

    #[test]
    fn lock_many_and_random() {
        let d = db(16);
        for i in 0..100 {
            put(&d, &format!("{i}"));
        }
        let hashes: Vec<u64> = (0..100)
            .map(|i| d.hash(format!("{i}").as_bytes()))
            .collect();
        let mut locked = d.lock_many(hashes.iter().copied());
        for (i, h) in hashes.iter().enumerate() {
            assert!(locked.shard(*h).contains(*h, format!("{i}").as_bytes(), 0));
        }
        drop(locked);
        let mut x = 7usize;
        let mut rnd = |n: usize| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            (x >> 33) % n
        };
        assert!(d.random_entry(0, &mut rnd).is_some());
        d.clear();
        assert!(d.random_entry(0, &mut rnd).is_none());
        assert_eq!(d.len(), 0);
    }
}
