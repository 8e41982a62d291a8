//! One way to reach keys: the shards a command holds, lookups, and the write hook.
//!
//! - **Locks come from the execution context.** A handler asks its [`Ctx`] for the
//!   keys it will touch (`ctx.keys(&[key])`); the context locks their shards in the
//!   global order for this command, or, when a caller already holds a set of shards
//!   (a group of commands run atomically: EXEC, EVAL, the test-only group runner),
//!   hands out those guards. The handler runs the same way in both cases.
//! - **Lookups in the spirit of Redis's `lookupKey(db, key, flags)`**: [`Keys::read`]
//!   (a read command: counts a keyspace hit or miss, records the access unless the
//!   client is NO-TOUCH, checks the type: WRONGTYPE comes from here) and
//!   [`Keys::lookup`] with explicit [`Lookup`] flags for everything else.
//! - **The write hook.** Every change to a key goes through [`Keys::set`],
//!   [`Keys::delete`] or [`Keys::changed`] (and, for changes without a command, the
//!   expiry cycle, FLUSH*, SWAPDB, snapshot restore/merge and RDB load, through
//!   [`announce`]): it counts the change for persistence (Redis's `server.dirty`) and
//!   tells everything that reacts to changes ([`announce`]). A lookup that finds an
//!   expired key announces its removal (lazy expiry).
//!
//! [`Ctx`]: crate::command::Ctx

use shoal_storage::{
    Db, Entry, Found, HashValue, HeldShards, Keyspace, ListValue, LiveShard, LockEach, SetValue,
    Shard, ShardGuard, ShardSource, ZsetValue,
};

use crate::changes::event::NEW;
use crate::changes::{Change, EXPIRED, KEYMISS};
pub use crate::counters::Tally;
use crate::error::CmdError;
use crate::state::Shared;
pub use crate::watch::Presence;

/// How a lookup behaves (Redis's `LOOKUP_*` flags).
#[derive(Clone, Copy, Debug)]
pub struct Lookup {
    /// Record the access for OBJECT IDLETIME (off for NO-TOUCH clients whatever this
    /// says, except TOUCH's own lookups: see [`Lookup::force_touch`]).
    pub touch: bool,
    /// Count a keyspace hit or miss (read lookups; write lookups do not count).
    pub stats: bool,
    /// Touch even for a NO-TOUCH client (TOUCH itself).
    pub force_touch: bool,
    /// A counted miss publishes `keymiss` (off: Redis's `LOOKUP_NONOTIFY`).
    pub notify: bool,
}

impl Lookup {
    /// A read command's lookup (GET, HGET...): touches, counts hits and misses.
    pub const READ: Lookup = Lookup {
        touch: true,
        stats: true,
        force_touch: false,
        notify: true,
    };
    /// Metadata read with `LOOKUP_NOTOUCH` (EXISTS, TYPE, TTL, OBJECT): counted in the
    /// hit/miss statistics, the key's idle time left alone.
    pub const READ_NOTOUCH: Lookup = Lookup {
        touch: false,
        stats: true,
        force_touch: false,
        notify: true,
    };
    /// OBJECT's lookup (`LOOKUP_NOTOUCH|LOOKUP_NONOTIFY`): counted, no touch, and a
    /// miss publishes no `keymiss`.
    pub const READ_NOTOUCH_NONOTIFY: Lookup = Lookup {
        touch: false,
        stats: true,
        force_touch: false,
        notify: false,
    };
    /// A write command's lookup (SET NX, EXPIRE, RENAME, HSET...): touches, no stats.
    pub const WRITE: Lookup = Lookup {
        touch: true,
        stats: false,
        force_touch: false,
        notify: true,
    };
    /// TOUCH's lookup: records the access even for a NO-TOUCH client, counted.
    pub const TOUCH: Lookup = Lookup {
        touch: true,
        stats: true,
        force_touch: true,
        notify: true,
    };
    /// An existence probe (MSETNX): neither touches nor counts.
    pub const PROBE: Lookup = Lookup {
        touch: false,
        stats: false,
        force_touch: false,
        notify: true,
    };
}

/// The value type a command expects; a key of another type is WRONGTYPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// A string.
    Str,
    /// A hash.
    Hash,
    /// A sorted set.
    Zset,
    /// A list.
    List,
    /// A set.
    Set,
    /// A sorted set or a set (the inputs of ZUNION, ZINTER, ZDIFF, ZINTERCARD).
    ZsetOrSet,
}

impl Want {
    #[inline]
    fn check(self, e: &Entry) -> Result<(), CmdError> {
        let ok = match self {
            Want::Str => e.as_str().is_some(),
            Want::Hash => e.as_hash().is_some(),
            Want::Zset => e.as_zset().is_some(),
            Want::List => e.as_list().is_some(),
            Want::Set => e.as_set().is_some(),
            Want::ZsetOrSet => e.as_zset().is_some() || e.as_set().is_some(),
        };
        if ok {
            Ok(())
        } else {
            Err(CmdError::WrongType)
        }
    }
}

/// A shard: database index and shard index within it (the global lock order).
type ShardId = (usize, usize);

/// How long a lock wait stays on its worker before it hands the worker's queue to
/// another thread (see [`Held::lock_unless`]): shard locks are held for a command's
/// length, so only a script, a whole-keyspace command or a save holds one longer.
pub const QUICK_WAIT: std::time::Duration = std::time::Duration::from_micros(200);

/// How often a long lock wait asks whether to give up (see [`Held::lock_unless`]).
pub const WAIT_SLICE: std::time::Duration = std::time::Duration::from_millis(5);

/// Shard guards a group of commands (or a multi-key command) holds, in lock order.
#[derive(Default)]
pub struct Held<'a> {
    guards: Vec<(ShardId, ShardGuard<'a>)>,
}

impl<'a> Held<'a> {
    /// Locks the given shards of `keyspace` (duplicates allowed) in the global lock
    /// order: database, then shard index (ARCHITECTURE.md invariant 2).
    pub fn lock(keyspace: &'a Keyspace, mut wanted: Vec<ShardId>) -> Held<'a> {
        wanted.sort_unstable();
        wanted.dedup();
        let guards = wanted
            .into_iter()
            .map(|id| (id, keyspace.db(id.0).lock_index(id.1)))
            .collect();
        Held { guards }
    }

    /// [`Held::lock`] for a command that may have to wait behind a script: each
    /// shard is tried at once, then for [`QUICK_WAIT`]; a longer wait hands this
    /// worker's queue to another thread ([`crate::handoff::blocking`]) and asks
    /// `stop` every [`WAIT_SLICE`]: once it says so (a script has run past
    /// `busy-reply-threshold`), everything taken is let go and `None` returned.
    pub fn lock_unless(
        keyspace: &'a Keyspace,
        mut wanted: Vec<ShardId>,
        stop: &dyn Fn() -> bool,
    ) -> Option<Held<'a>> {
        wanted.sort_unstable();
        wanted.dedup();
        let mut guards = Vec::with_capacity(wanted.len());
        for id in wanted {
            let db = keyspace.db(id.0);
            let guard = match db.try_lock_index(id.1, Some(QUICK_WAIT)) {
                Some(g) => g,
                None => crate::handoff::blocking(|| loop {
                    if stop() {
                        return None;
                    }
                    if let Some(g) = db.try_lock_index(id.1, Some(WAIT_SLICE)) {
                        return Some(g);
                    }
                })?,
            };
            guards.push((id, guard));
        }
        Some(Held { guards })
    }

    /// Adds shard `id` to the held set (kept in lock order) if `how` acquires it;
    /// `true` if it is held afterwards. For scripts, which may reach keys they did
    /// not declare (see ARCHITECTURE.md, "Scripts and locks").
    pub fn acquire(&mut self, keyspace: &'a Keyspace, id: ShardId, how: Acquire) -> bool {
        let pos = match self.guards.binary_search_by_key(&id, |(i, _)| *i) {
            Ok(_) => return true,
            Err(pos) => pos,
        };
        let db = keyspace.db(id.0);
        let guard = match how {
            Acquire::Try => db.try_lock_index(id.1, None),
            Acquire::Within(d) => db
                .try_lock_index(id.1, Some(d.min(QUICK_WAIT)))
                .or_else(|| {
                    let rest = d.saturating_sub(QUICK_WAIT);
                    crate::handoff::blocking(|| db.try_lock_index(id.1, Some(rest)))
                }),
            Acquire::Above => {
                debug_assert!(
                    pos == self.guards.len(),
                    "blocking only above every held shard"
                );
                db.try_lock_index(id.1, Some(QUICK_WAIT))
                    .or_else(|| Some(crate::handoff::blocking(|| db.lock_index_above(id.1))))
            }
        };
        match guard {
            Some(g) => {
                self.guards.insert(pos, (id, g));
                true
            }
            None => false,
        }
    }

    /// The last shard held in the global lock order.
    pub fn highest(&self) -> Option<ShardId> {
        self.guards.last().map(|(id, _)| *id)
    }

    /// Whether every shard of database `db` is held.
    pub fn holds_db(&self, keyspace: &Keyspace, db: usize) -> bool {
        let n = keyspace.db(db).num_shards();
        let first = self.guards.partition_point(|((d, _), _)| *d < db);
        self.guards[first..]
            .iter()
            .take_while(|((d, _), _)| *d == db)
            .count()
            == n
    }

    /// Whether shard `id` is held.
    pub fn holds(&self, id: ShardId) -> bool {
        self.guards.binary_search_by_key(&id, |(i, _)| *i).is_ok()
    }

    /// The held shard `id`. Asking for a shard that is not held is a bug in the
    /// caller's key declaration (a handler touched a key it did not ask for).
    #[inline]
    fn shard(&mut self, id: ShardId) -> &mut Shard {
        match self.guards.binary_search_by_key(&id, |(i, _)| *i) {
            Ok(pos) => &mut self.guards[pos].1,
            Err(_) => panic!("shard {id:?} used without being locked: declare the key first"),
        }
    }
}

/// How [`Held::acquire`] takes a shard it does not hold yet.
#[derive(Clone, Copy, Debug)]
pub enum Acquire {
    /// Only if it is free now.
    Try,
    /// Waiting at most this long.
    Within(std::time::Duration),
    /// Blocking: the shard comes after every held one in the global order.
    Above,
}

/// A group's held shards as storage's [`ShardSource`]: whole-database operations
/// (SCAN, FLUSHDB, SWAPDB...) run in a group read and write the shards it holds
/// instead of locking them again.
impl ShardSource for Held<'_> {
    fn one<'s>(&'s mut self, db: &'s Db, index: usize) -> LiveShard<'s> {
        LiveShard::Held(self.shard((db.index(), index)))
    }

    fn all<'s>(&'s mut self, dbs: &[&'s Db]) -> Vec<Vec<LiveShard<'s>>> {
        let mut out: Vec<Vec<LiveShard<'s>>> = dbs.iter().map(|_| Vec::new()).collect();
        for ((db, _), g) in self.guards.iter_mut() {
            if let Some(k) = dbs.iter().position(|d| d.index() == *db) {
                out[k].push(LiveShard::Held(g));
            }
        }
        for (k, d) in dbs.iter().enumerate() {
            assert_eq!(
                out[k].len(),
                d.num_shards(),
                "database {} used by a group that does not hold all its shards",
                d.index()
            );
        }
        out
    }
}

/// Where a command's whole-database operations take their shards: locked as they go
/// (a plain command), or the group's (see [`Held`]'s [`ShardSource`]).
pub enum Shards<'c, 'a> {
    /// A plain command: lock as needed.
    Lock(LockEach),
    /// Run in a group holding the shards.
    Group(&'c mut Held<'a>),
}

impl<'c, 'a> Shards<'c, 'a> {
    /// The shards for a whole-database operation (storage's `*_with` methods) of a
    /// command whose context holds `held` (`ctx.held`, borrowed alone so that the
    /// handler can still write `ctx.out`): locked as it goes, or, in a group, the
    /// group's (which holds every shard of the databases such commands use).
    #[inline]
    pub fn of(held: &'c mut Option<Held<'a>>) -> Shards<'c, 'a> {
        match held.as_mut() {
            Some(h) => Shards::Group(h),
            None => Shards::Lock(LockEach),
        }
    }

    /// [`Shards::of`] for an operation on the live keyspace whatever the
    /// connection reads: a group run through a snapshot view (`view`) holds the
    /// snapshot's shards, not the live ones, so those are locked as they go.
    #[inline]
    pub fn of_live(held: &'c mut Option<Held<'a>>, view: bool) -> Shards<'c, 'a> {
        match held.as_mut() {
            Some(h) if !view => Shards::Group(h),
            _ => Shards::Lock(LockEach),
        }
    }
}

impl ShardSource for Shards<'_, '_> {
    #[inline]
    fn one<'s>(&'s mut self, db: &'s Db, index: usize) -> LiveShard<'s> {
        match self {
            Shards::Lock(l) => l.one(db, index),
            Shards::Group(h) => h.one(db, index),
        }
    }

    fn all<'s>(&'s mut self, dbs: &[&'s Db]) -> Vec<Vec<LiveShard<'s>>> {
        match self {
            Shards::Lock(l) => l.all(dbs),
            Shards::Group(h) => h.all(dbs),
        }
    }
}

/// Where a [`Keys`] handle's guards are: one shard locked for this command (the
/// common single-key case: no allocation), several locked for it, or a group's.
enum Guards<'c, 'a> {
    One(ShardGuard<'a>),
    Own(Held<'a>),
    Group(&'c mut Held<'a>),
}

/// One key a command declared: database, the key, its hash (computed once).
#[derive(Clone, Copy)]
struct KeyRef<'k> {
    db: usize,
    key: &'k [u8],
    hash: u64,
    shard: usize,
}

/// The keys a command declared.
enum KeyList<'k> {
    One(KeyRef<'k>),
    Many(Vec<KeyRef<'k>>),
}

/// The keys one command works on, with their shards locked: what a handler reads and
/// writes through. Keys are referred to by their index in the declaration
/// (`ctx.keys(&[src, dst])`: 0 is `src`, 1 is `dst`).
pub struct Keys<'c, 'a> {
    shared: &'a Shared,
    keyspace: &'a Keyspace,
    guards: Guards<'c, 'a>,
    keys: KeyList<'c>,
    now: i64,
    /// The client is NO-TOUCH.
    no_touch: bool,
    /// A snapshot view: nothing is announced (nothing can change).
    view: bool,
    tally: &'c mut Tally,
}

/// What [`Keys::new`] needs from the execution context.
pub(crate) struct KeysCtx<'c, 'a> {
    pub shared: &'a Shared,
    pub keyspace: &'a Keyspace,
    pub held: Option<&'c mut Held<'a>>,
    pub now: i64,
    pub no_touch: bool,
    /// The keyspace is a snapshot's (a SNAPSHOT READ view).
    pub view: bool,
    pub tally: &'c mut Tally,
}

impl<'c, 'a> Keys<'c, 'a> {
    /// Declares `keys` (database, key) and locks their shards, or checks that the
    /// group holding them covers them.
    #[inline(always)]
    pub(crate) fn new(cx: KeysCtx<'c, 'a>, keys: &[(usize, &'c [u8])]) -> Keys<'c, 'a> {
        match keys {
            // The common case, kept small enough to inline into every handler.
            &[(db, key)] if cx.held.is_none() => {
                let d = cx.keyspace.db(db);
                let hash = d.hash(key);
                let shard = d.shard_index(hash);
                Keys {
                    shared: cx.shared,
                    keyspace: cx.keyspace,
                    guards: Guards::One(d.lock_index(shard)),
                    keys: KeyList::One(KeyRef {
                        db,
                        key,
                        hash,
                        shard,
                    }),
                    now: cx.now,
                    no_touch: cx.no_touch,
                    view: cx.view,
                    tally: cx.tally,
                }
            }
            keys => Keys::many(cx, keys),
        }
    }

    /// [`Keys::new`] for several keys, or for keys a group holds.
    #[inline(never)]
    fn many(cx: KeysCtx<'c, 'a>, keys: &[(usize, &'c [u8])]) -> Keys<'c, 'a> {
        let ks = cx.keyspace;
        let refs: Vec<KeyRef<'c>> = keys
            .iter()
            .map(|&(db, key)| {
                let d = ks.db(db);
                let hash = d.hash(key);
                KeyRef {
                    db,
                    key,
                    hash,
                    shard: d.shard_index(hash),
                }
            })
            .collect();
        let guards = match cx.held {
            Some(group) => {
                for k in &refs {
                    assert!(
                        group.holds((k.db, k.shard)),
                        "key {:?} is outside the shards its group holds",
                        String::from_utf8_lossy(k.key)
                    );
                }
                Guards::Group(group)
            }
            None => Guards::Own(Held::lock(
                ks,
                refs.iter().map(|k| (k.db, k.shard)).collect(),
            )),
        };
        Keys {
            shared: cx.shared,
            keyspace: ks,
            guards,
            keys: KeyList::Many(refs),
            now: cx.now,
            no_touch: cx.no_touch,
            view: cx.view,
            tally: cx.tally,
        }
    }

    /// The locked shard of key reference `k`.
    #[inline]
    fn guard(&mut self, k: KeyRef<'c>) -> &mut Shard {
        guard_of(&mut self.guards, k)
    }

    #[inline(always)]
    fn key_ref(&self, i: usize) -> KeyRef<'c> {
        match &self.keys {
            KeyList::One(k) => {
                debug_assert_eq!(i, 0, "one key declared");
                *k
            }
            KeyList::Many(v) => v[i],
        }
    }

    /// The unix-ms time this command runs at.
    #[inline]
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The database of key `i`.
    pub fn db(&self, i: usize) -> &'a Db {
        self.keyspace.db(self.key_ref(i).db)
    }

    /// A read command's lookup of key `i` (Redis's `lookupKeyRead` then
    /// `checkType`): counts a hit or a miss, records the access unless the client is
    /// NO-TOUCH, and a key of another type than `want` is WRONGTYPE.
    #[inline(always)]
    pub fn read(&mut self, i: usize, want: Want) -> Result<Option<&Entry>, CmdError> {
        let e = self.lookup(i, Lookup::READ);
        if let Some(e) = e {
            want.check(e)?;
        }
        Ok(e)
    }

    /// [`Keys::read`] of a string: its bytes, or WRONGTYPE.
    #[inline(always)]
    pub fn read_str(&mut self, i: usize) -> Result<Option<&[u8]>, CmdError> {
        match self.lookup(i, Lookup::READ) {
            None => Ok(None),
            Some(e) => e.as_str().map(Some).ok_or(CmdError::WrongType),
        }
    }

    /// [`Keys::read`] of a hash: the hash, or WRONGTYPE.
    #[inline(always)]
    pub fn read_hash(&mut self, i: usize) -> Result<Option<&HashValue>, CmdError> {
        match self.lookup(i, Lookup::READ) {
            None => Ok(None),
            Some(e) => e.as_hash().map(Some).ok_or(CmdError::WrongType),
        }
    }

    /// [`Keys::read`] of a sorted set: the set, or WRONGTYPE.
    #[inline(always)]
    pub fn read_zset(&mut self, i: usize) -> Result<Option<&ZsetValue>, CmdError> {
        match self.lookup(i, Lookup::READ) {
            None => Ok(None),
            Some(e) => e.as_zset().map(Some).ok_or(CmdError::WrongType),
        }
    }

    /// [`Keys::read`] of a list: the list, or WRONGTYPE.
    #[inline(always)]
    pub fn read_list(&mut self, i: usize) -> Result<Option<&ListValue>, CmdError> {
        match self.lookup(i, Lookup::READ) {
            None => Ok(None),
            Some(e) => e.as_list().map(Some).ok_or(CmdError::WrongType),
        }
    }

    /// [`Keys::read`] of a set: the set, or WRONGTYPE.
    #[inline(always)]
    pub fn read_set(&mut self, i: usize) -> Result<Option<&SetValue>, CmdError> {
        match self.lookup(i, Lookup::READ) {
            None => Ok(None),
            Some(e) => e.as_set().map(Some).ok_or(CmdError::WrongType),
        }
    }

    /// A write command's lookup of key `i` (Redis's `lookupKeyWrite` then
    /// `checkType`): no hit/miss counted.
    #[inline(always)]
    pub fn write_lookup(&mut self, i: usize, want: Want) -> Result<Option<&Entry>, CmdError> {
        let e = self.lookup(i, Lookup::WRITE);
        if let Some(e) = e {
            want.check(e)?;
        }
        Ok(e)
    }

    /// Looks key `i` up with `flags`. An expired key is removed on the way (lazy
    /// expiry, announced), whether or not the lookup touches.
    #[inline(always)]
    pub fn lookup(&mut self, i: usize, flags: Lookup) -> Option<&Entry> {
        let k = self.key_ref(i);
        let touch = flags.force_touch || (flags.touch && !self.no_touch);
        let (shared, view, now) = (self.shared, self.view, self.now);
        let found = guard_of(&mut self.guards, k).find(k.hash, k.key, now, touch);
        if flags.stats {
            if matches!(found, Found::Live(_)) {
                self.tally.hits += 1;
            } else {
                self.tally.misses += 1;
            }
        }
        match found {
            Found::Live(e) => Some(e),
            Found::Expired => {
                if !view {
                    announce(shared, Change::key(k.db, k.key, EXPIRED));
                }
                key_missed(shared, flags, view, k);
                None
            }
            Found::Absent => {
                key_missed(shared, flags, view, k);
                None
            }
        }
    }

    /// Key `i`'s live entry, mutably, for an in-place change of a nested value
    /// (`Entry::with_hash_mut`); the caller announces the change with
    /// [`Keys::changed`]. Touches as a write lookup would (not for a NO-TOUCH
    /// client: the access clock is put back).
    pub fn lookup_mut(&mut self, i: usize, want: Want) -> Result<Option<&mut Entry>, CmdError> {
        let k = self.key_ref(i);
        let (shared, now, no_touch) = (self.shared, self.now, self.no_touch);
        let shard = self.guard(k);
        // A NO-TOUCH client must not move the access clock: remember it (and refuse
        // a wrong type before anything is touched), put it back. Others look once.
        let restore = match no_touch.then(|| shard.peek(k.hash, k.key, now)).flatten() {
            Some(e) => {
                want.check(e)?;
                let secs = access_clock(now);
                Some(secs.saturating_sub(e.idle_secs(secs)))
            }
            None => None,
        };
        match shard.find_mut(k.hash, k.key, now) {
            Found::Live(e) => {
                want.check(e)?;
                if let Some(clock) = restore {
                    e.touch(clock);
                }
                Ok(Some(e))
            }
            Found::Expired => {
                announce(shared, Change::key(k.db, k.key, EXPIRED));
                Ok(None)
            }
            Found::Absent => Ok(None),
        }
    }

    /// Runs `f` on key `i`'s hash in place (copied first if a snapshot or a COPY
    /// shares it). `Ok(None)`: no such key; otherwise `f`'s result and whether it left
    /// the hash empty (the caller announces its change, then deletes the key: a hash
    /// never exists empty). A key of another type is WRONGTYPE and is not changed.
    pub fn hash_mut<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut HashValue) -> R,
    ) -> Result<Option<(R, bool)>, CmdError> {
        let Some(entry) = self.lookup_mut(i, Want::Hash)? else {
            return Ok(None);
        };
        let done = entry
            .with_hash_mut(|hv| {
                let r = f(hv);
                (r, hv.is_empty())
            })
            .ok_or(CmdError::WrongType)?;
        Ok(Some(done))
    }

    /// [`Keys::hash_mut`] for a sorted set (copy-on-write by tree node while a
    /// snapshot shares it): `f`'s result and whether it left the set empty.
    pub fn zset_mut<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut ZsetValue) -> R,
    ) -> Result<Option<(R, bool)>, CmdError> {
        let Some(entry) = self.lookup_mut(i, Want::Zset)? else {
            return Ok(None);
        };
        let done = entry
            .with_zset_mut(|z| {
                let r = f(z);
                (r, z.is_empty())
            })
            .ok_or(CmdError::WrongType)?;
        Ok(Some(done))
    }

    /// [`Keys::hash_mut`] for lists: runs `f` on key `i`'s list in place (copying
    /// first what a snapshot or a COPY shares). `Ok(None)`: no such key; otherwise
    /// `f`'s result and whether it left the list empty (the caller announces its
    /// change, then deletes the key: a list never exists empty).
    pub fn list_mut<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut ListValue) -> R,
    ) -> Result<Option<(R, bool)>, CmdError> {
        let Some(entry) = self.lookup_mut(i, Want::List)? else {
            return Ok(None);
        };
        let done = entry
            .with_list_mut(|l| {
                let r = f(l);
                (r, l.is_empty())
            })
            .ok_or(CmdError::WrongType)?;
        Ok(Some(done))
    }

    /// [`Keys::hash_mut`] for sets.
    pub fn set_mut<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut SetValue) -> R,
    ) -> Result<Option<(R, bool)>, CmdError> {
        let Some(entry) = self.lookup_mut(i, Want::Set)? else {
            return Ok(None);
        };
        let done = entry
            .with_set_mut(|s| {
                let r = f(s);
                (r, s.is_empty())
            })
            .ok_or(CmdError::WrongType)?;
        Ok(Some(done))
    }

    /// Stores `entry` (its key must be key `i`'s) and announces the change as `event`,
    /// counting `dirty` changes. Returns the live entry it replaced (drop it after
    /// the locks are released when it may be large).
    #[inline]
    pub fn set(
        &mut self,
        i: usize,
        entry: Entry,
        event: &'static str,
        dirty: u64,
    ) -> Option<Entry> {
        self.put(i, entry, event, dirty, true)
    }

    /// [`Keys::set`] for a destination Redis deletes and adds again whatever it held
    /// (RENAME, COPY, MOVE): the caller has published `new` for it already, before
    /// the source's event, as Redis's `dbAdd` does (see [`Keys::notify`]), so none is
    /// published here.
    #[inline]
    pub fn set_created(
        &mut self,
        i: usize,
        entry: Entry,
        event: &'static str,
        dirty: u64,
    ) -> Option<Entry> {
        self.put(i, entry, event, dirty, false)
    }

    #[inline(always)]
    fn put(
        &mut self,
        i: usize,
        entry: Entry,
        event: &'static str,
        dirty: u64,
        new: bool,
    ) -> Option<Entry> {
        let k = self.key_ref(i);
        let (shared, now) = (self.shared, self.now);
        let shard = self.guard(k);
        let old = shard.put(k.hash, entry, now);
        match old {
            Found::Live(_) => {}
            Found::Expired => {
                announce(shared, Change::key(k.db, k.key, EXPIRED));
                if new {
                    notify_only(shared, k.db, k.key, NEW);
                }
            }
            Found::Absent if new => notify_only(shared, k.db, k.key, NEW),
            Found::Absent => {}
        }
        self.tally.dirty += dirty;
        announce(shared, Change::key(k.db, k.key, event));
        old.live()
    }

    /// Removes key `i`. A live key is announced as `event` (`del`, `rename_from`...)
    /// with `dirty` changes counted and returned; an expired one is announced as
    /// expired and reported absent.
    #[inline]
    pub fn delete(&mut self, i: usize, event: &'static str, dirty: u64) -> Option<Entry> {
        let k = self.key_ref(i);
        let (shared, now) = (self.shared, self.now);
        let shard = self.guard(k);
        match shard.take(k.hash, k.key, now) {
            Found::Live(old) => {
                self.tally.dirty += dirty;
                announce(shared, Change::key(k.db, k.key, event));
                Some(old)
            }
            Found::Expired => {
                announce(shared, Change::key(k.db, k.key, EXPIRED));
                None
            }
            Found::Absent => None,
        }
    }

    /// The shards this command holds in key `i`'s database, as storage's
    /// [`HeldShards`], for library operations over several keys (the merge family):
    /// they run under these locks, and the caller announces what they wrote
    /// ([`announce`] plus [`Keys::add_dirty`], or [`Keys::changed`]).
    pub fn held_in(&mut self, i: usize) -> impl HeldShards + use<'_, 'c, 'a> {
        let db = self.key_ref(i).db;
        HeldIn { keys: self, db }
    }

    /// How key `i` stands, without touching, counting or removing it: absent, live,
    /// or present but past its expiry time (WATCH, EXEC).
    pub fn presence(&mut self, i: usize) -> Presence {
        let k = self.key_ref(i);
        let now = self.now;
        presence_in(self.guard(k), k.hash, k.key, now)
    }

    /// Counts `n` changes made through [`Keys::held_in`].
    pub fn add_dirty(&mut self, n: u64) {
        self.tally.dirty += n;
    }

    /// The server state (to announce changes made through [`Keys::held_in`]).
    pub fn shared(&self) -> &'a Shared {
        self.shared
    }

    /// Publishes keyspace notification `event` on key `i` without announcing a
    /// change: a second event of one change, as Redis publishes `expire` after `set`
    /// for SET EX (one relaxed load when notifications are off).
    #[inline]
    pub fn notify(&self, i: usize, event: &'static str) {
        let k = self.key_ref(i);
        if !self.view {
            notify_only(self.shared, k.db, k.key, event);
        }
    }

    /// Announces an in-place change of key `i` (through [`Keys::hash_mut`]), counting
    /// `dirty` changes.
    #[inline]
    pub fn changed(&mut self, i: usize, event: &'static str, dirty: u64) {
        let k = self.key_ref(i);
        self.tally.dirty += dirty;
        announce(self.shared, Change::key(k.db, k.key, event));
    }
}

/// The locked shard of key reference `k` among `guards` (a free function, so that
/// it borrows only the guards and the rest of a [`Keys`] stays usable).
#[inline(always)]
fn guard_of<'g, 'c, 'a>(guards: &'g mut Guards<'c, 'a>, k: KeyRef<'_>) -> &'g mut Shard {
    match guards {
        Guards::One(g) => g,
        Guards::Own(h) => h.shard((k.db, k.shard)),
        Guards::Group(h) => h.shard((k.db, k.shard)),
    }
}

/// [`Keys::held_in`]'s view: the held shards of one database by key hash.
struct HeldIn<'k, 'c, 'a> {
    keys: &'k mut Keys<'c, 'a>,
    db: usize,
}

impl HeldShards for HeldIn<'_, '_, '_> {
    fn shard(&mut self, hash: u64) -> &mut Shard {
        let id = (self.db, self.keys.keyspace.db(self.db).shard_index(hash));
        match &mut self.keys.guards {
            Guards::One(g) => g,
            Guards::Own(h) => h.shard(id),
            Guards::Group(h) => h.shard(id),
        }
    }
}

/// How `key` (of hash `hash`) stands in `shard` at `now` (see [`Presence`]).
pub fn presence_in(shard: &Shard, hash: u64, key: &[u8], now: i64) -> Presence {
    match shard.peek_any(hash, key) {
        None => Presence::Absent,
        Some(e) if e.is_expired(now) => Presence::Expired,
        Some(_) => Presence::Live,
    }
}

/// How `key` stands in database `db` at `now`, its shard taken from `src` (a
/// flush or SWAPDB telling watched keys what they were and are).
pub fn presence_with(db: &Db, src: &mut impl ShardSource, key: &[u8], now: i64) -> Presence {
    let hash = db.hash(key);
    let idx = db.shard_index(hash);
    if db.is_frozen() {
        return Presence::Absent;
    }
    let shard = src.one(db, idx);
    presence_in(&shard, hash, key, now)
}

/// A read lookup (one that counts hits and misses) found no key: the `keymiss`
/// keyspace notification (class `m`), after the expiry one if the key had just
/// expired, as Redis's `lookupKeyReadWithFlags` sends it.
#[inline]
fn key_missed(shared: &Shared, flags: Lookup, view: bool, k: KeyRef<'_>) {
    if flags.stats && flags.notify && !view {
        notify_only(shared, k.db, k.key, KEYMISS);
    }
}

/// The access clock of `Entry::touch`: unix seconds.
#[inline]
pub fn access_clock(now_ms: i64) -> u32 {
    u32::try_from(now_ms.max(0) / 1000).unwrap_or(u32::MAX)
}

/// The write hook: every change to the dataset, from any source, comes through here
/// (Redis's `signalModifiedKey` and `notifyKeyspaceEvent` in one). Counting changes
/// for persistence is the caller's ([`Keys`] adds them to the command's dirty count);
/// this tells everything that reacts to changes: the observers registered on
/// `Shared::observers` (tests, embedders) and the clients blocked on the key (one
/// relaxed load when none is), the watched keys, and keyspace notifications
/// ([`crate::notify`]: one relaxed load when `notify-keyspace-events` is off), and
/// client-side caching ([`crate::tracking`]: one relaxed load when nobody tracks).
/// Runs with the changed key's shard
/// locked: nothing called from here may lock a shard.
#[inline(always)]
pub fn announce(shared: &Shared, change: Change<'_>) {
    shared.observers.notify(&change);
    let flags = shared.notifications.flags();
    if flags != 0 {
        // Whole-database changes publish nothing, as in Redis.
        if let Change::Key { db, key, event } = change {
            crate::notify::key_event(&shared.pubsub, flags, db, key, event);
        }
    }
    if shared.watches.active() {
        shared.watches.touch(&change);
    }
    if shared.tracking.active() {
        shared.tracking.changed(&shared.clients, &change);
    }
    if shared.blocking.has_waiters() {
        match change {
            Change::Key { db, key, .. } => shared.blocking.signal(db, key),
            Change::Db { db, .. } => shared.blocking.signal_db(db),
        }
    }
}

/// A keyspace notification that is not a change of its own (`new` before a key's
/// first write, `expire` after SET EX's `set`): published when notifications are on,
/// nothing else told.
#[inline(always)]
pub fn notify_only(shared: &Shared, db: usize, key: &[u8], event: &'static str) {
    let flags = shared.notifications.flags();
    if flags != 0 {
        crate::notify::key_event(&shared.pubsub, flags, db, key, event);
    }
}
