//! Named point-in-time snapshots of the keyspace: the registry behind `SNAPSHOT CREATE /
//! LIST / DROP / READ / RESTORE / MERGE` (the commands are in `commands/snapshot.rs`).
//!
//! A [`Snapshot`] is a read-only [`Keyspace`] made by [`Keyspace::snapshot`]: every
//! shard of every database in use locked in order for an instant and its table's `Arc`
//! cloned (databases never written are skipped), so taking one costs O(shards)
//! whatever the number of keys, and it is one consistent
//! instant across all keys and databases. Afterwards the first write to a live segment
//! still shared with a snapshot copies that segment once (copy-on-write), so the extra
//! memory a snapshot holds is the segments written since it was taken (plus entries
//! only it still references). That memory is ordinary jemalloc memory: it shows in
//! `used_memory` and counts against `maxmemory` like the dataset.
//!
//! Snapshots are shared by `Arc`: the registry holds one reference per name, and a
//! connection reading one (`SNAPSHOT READ`) holds another in its [`crate::client::Client`],
//! so `SNAPSHOT DROP` removes the name at once while readers keep the data alive until
//! they leave it (`SNAPSHOT READ LIVE`, disconnect). What only a dropped snapshot kept
//! alive is freed on a background thread (see [`free_later`]), never on a request path
//! where freeing millions of entries would stall other clients.
//!
//! Reading a snapshot takes no lock: its databases are frozen (immutable shards, see
//! `shoal_storage::db`), a key lookup works on a private view of the shard (one `Arc`
//! clone of its table) and whole-database reads (SCAN, KEYS, DBSIZE) read the shards in
//! place. A read never copies or changes the snapshot, nor the access time of the live
//! keys it shares: a lookup of an expired key hides it without deleting it.

use std::sync::Arc;

use parking_lot::Mutex;
use shoal_storage::{Db, Entry, Keyspace, ShardSource};

/// One named snapshot.
pub struct Snapshot {
    name: Vec<u8>,
    created_ms: i64,
    keys: usize,
    /// Always `Some` until the snapshot is dropped (see the `Drop` impl).
    keyspace: Option<Keyspace>,
}

/// Whoever lets go of the last reference (SNAPSHOT DROP, a reader leaving, a
/// disconnect) hands the tables to a background thread: what only this snapshot kept
/// alive may be millions of entries.
impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(keyspace) = self.keyspace.take() {
            free_later(keyspace);
        }
    }
}

impl Snapshot {
    /// Its name (binary-safe, as given to `SNAPSHOT CREATE` or generated).
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// When it was taken, unix milliseconds.
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }

    /// Keys it holds in all databases (counted once at creation: a snapshot never
    /// changes). Like DBSIZE, keys whose TTL passed since are still counted; lookups
    /// do not see them.
    pub fn keys(&self) -> usize {
        self.keys
    }

    /// The read-only keyspace (what `SNAPSHOT READ` connections see).
    pub fn keyspace(&self) -> &Keyspace {
        self.keyspace
            .as_ref()
            .expect("a snapshot's keyspace is only taken when it is dropped")
    }

    /// Bytes this snapshot keeps alive that `live` no longer uses: the segments the
    /// live keyspace has copied away from since, and the entries it has replaced or
    /// removed that no one else references. O(shards + entries of those segments).
    pub fn retained_bytes(&self, live: &Keyspace) -> usize {
        self.keyspace().retained_beyond(live)
    }

    /// [`Snapshot::retained_bytes`], the live shards taken from `src` (a group of
    /// commands holding them).
    pub fn retained_bytes_with(&self, live: &Keyspace, src: &mut impl ShardSource) -> usize {
        self.keyspace().retained_beyond_with(live, src)
    }
}

/// Why `SNAPSHOT CREATE` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateError {
    /// A snapshot with that name exists.
    Exists,
    /// `maxsnapshots` snapshots exist already (the limit is attached).
    Limit(usize),
}

/// Every named snapshot, in the order they were registered. One short lock guards the
/// list; it is never held while a shard is locked (a group of commands holding every
/// shard takes it: lock order live shards, then registry). See
/// [`SnapshotRegistry::create`].
#[derive(Default)]
pub struct SnapshotRegistry {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    list: Vec<Arc<Snapshot>>,
    /// Suffix of the next generated name (`snap-<n>`).
    next_id: u64,
}

impl Inner {
    fn position(&self, name: &[u8]) -> Option<usize> {
        self.list.iter().position(|s| s.name == name)
    }

    /// The name a new snapshot gets (`name`, or the first free `snap-<n>`), or why
    /// none can be made now.
    fn check(&mut self, name: Option<&[u8]>, max: usize) -> Result<Vec<u8>, CreateError> {
        if let Some(n) = name {
            if self.position(n).is_some() {
                return Err(CreateError::Exists);
            }
        }
        if self.list.len() >= max {
            return Err(CreateError::Limit(max));
        }
        Ok(match name {
            Some(n) => n.to_vec(),
            None => loop {
                self.next_id += 1;
                let candidate = format!("snap-{}", self.next_id).into_bytes();
                if self.position(&candidate).is_none() {
                    break candidate;
                }
            },
        })
    }
}

impl SnapshotRegistry {
    /// Registers a snapshot taken by `take` (of the live keyspace) as `name` (or
    /// `snap-<n>`, the first free one, when `None`). Fails when the name exists or
    /// `max` snapshots exist already.
    ///
    /// The registry lock is not held while `take` runs: a group of commands calls
    /// this holding every shard, so holding the registry lock while locking shards
    /// could deadlock with it. The name and the limit are checked before and again
    /// after the snapshot is taken (a racing CREATE may have taken them meanwhile;
    /// the snapshot is then dropped).
    pub fn create(
        &self,
        take: impl FnOnce() -> Keyspace,
        name: Option<&[u8]>,
        now_ms: i64,
        max: usize,
    ) -> Result<Arc<Snapshot>, CreateError> {
        let chosen = self.inner.lock().check(name, max)?;
        let keyspace = take();
        let mut inner = self.inner.lock();
        // A generated name taken meanwhile is generated again.
        let again = if inner.position(&chosen).is_none() {
            Some(chosen.as_slice())
        } else {
            name
        };
        let name = match inner.check(again, max) {
            Ok(name) => name,
            Err(e) => {
                drop(inner);
                free_later(keyspace);
                return Err(e);
            }
        };
        let snap = Arc::new(Snapshot {
            name,
            created_ms: now_ms,
            keys: keyspace.total_keys(),
            keyspace: Some(keyspace),
        });
        inner.list.push(Arc::clone(&snap));
        Ok(snap)
    }

    /// The snapshot called `name`.
    pub fn get(&self, name: &[u8]) -> Option<Arc<Snapshot>> {
        let inner = self.inner.lock();
        inner.position(name).map(|i| Arc::clone(&inner.list[i]))
    }

    /// Removes `name` from the registry; returns it, or `None` when there is no such
    /// snapshot. Its memory goes when the last reader lets go (freed off-thread).
    pub fn remove(&self, name: &[u8]) -> Option<Arc<Snapshot>> {
        let mut inner = self.inner.lock();
        let i = inner.position(name)?;
        Some(inner.list.remove(i))
    }

    /// Every snapshot, in creation order.
    pub fn list(&self) -> Vec<Arc<Snapshot>> {
        self.inner.lock().list.clone()
    }

    /// Number of named snapshots.
    pub fn len(&self) -> usize {
        self.inner.lock().list.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops `value` on a background thread (a dropped snapshot, tables replaced by
/// RESTORE, entries replaced by MERGE): freeing millions of entries must not stall the connection's worker. If
/// no thread can be started it is dropped here.
pub fn free_later<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("shoal-snapfree".into())
        .spawn(move || {
            drop(value);
            crate::memory::flush_thread();
        });
}

/// How `SNAPSHOT MERGE` treats keys that exist in both the snapshot and the live
/// keyspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeMode {
    /// Restore only keys missing from the live keyspace (deleted or expired since).
    Keep,
    /// Also overwrite live keys whose value or TTL changed since.
    Replace,
}

/// Writes `snap`'s live keys back into `live` (SNAPSHOT MERGE); returns how many keys
/// were written. Keys created in `live` after the snapshot are left alone either way.
///
/// Atomic: every live shard of every database is held for the whole merge, taken from
/// `src` (`LockEach` locks them in the global order: database, then shard; a group of
/// commands hands out those it holds), so no client sees it half done. Segments the live
/// keyspace still shares with the snapshot have not changed since, so they are skipped
/// without looking at their keys; the others are walked key by key. An entry the live
/// table still holds (same allocation) is unchanged; one with equal value and TTL is
/// treated as unchanged too. Keys whose TTL has passed in the snapshot are not
/// restored (they are invisible in it). The entries replaced are dropped after the
/// locks are released. `on_write(db, key, new)` is told of each key written, and
/// whether it was absent (or expired) in `live` (under the locks: the server's write
/// hook).
pub fn merge_into(
    live: &Keyspace,
    src: &mut impl ShardSource,
    snap: &Keyspace,
    mode: MergeMode,
    now: i64,
    on_write: &mut dyn FnMut(usize, &[u8], bool),
) -> usize {
    let mut written = 0;
    let mut replaced: Vec<Entry> = Vec::new();
    {
        let dbs: Vec<&Db> = (0..live.num_dbs()).map(|d| live.db(d)).collect();
        let mut locks = src.all(&dbs);
        for (d, locked) in locks.iter_mut().enumerate() {
            let live_db = live.db(d);
            let snap_db = snap.db(d);
            if snap_db.num_shards() != live_db.num_shards() {
                // The snapshot of a database that was empty: nothing to write back.
                debug_assert!(snap_db.is_empty());
                continue;
            }
            for (i, shard) in locked.iter_mut().enumerate() {
                snap_db.with_shard(i, |source| {
                    if shard.shares_table_with(source) {
                        return;
                    }
                    for seg in 0..source.num_segments() {
                        // A segment still shared has not changed since the snapshot.
                        if shard.shares_segment_with(source, seg) {
                            continue;
                        }
                        for e in source.segment(seg) {
                            if e.is_expired(now) {
                                continue;
                            }
                            let h = live_db.hash(e.key());
                            let (write, new) = match shard.peek(h, e.key(), now) {
                                None => (true, true),
                                Some(cur) => {
                                    (mode == MergeMode::Replace && !same_entry(cur, e), false)
                                }
                            };
                            if write {
                                on_write(d, e.key(), new);
                                if let Some(old) = shard.insert(h, e.clone(), now) {
                                    replaced.push(old);
                                }
                                written += 1;
                            }
                        }
                    }
                });
            }
        }
    }
    if replaced.len() > 4096 {
        free_later(replaced);
    }
    written
}

/// Whether two entries for one key hold the same value and TTL. The same allocation
/// (the pointer of the key bytes inside it) answers without comparing values.
fn same_entry(a: &Entry, b: &Entry) -> bool {
    std::ptr::eq(a.key().as_ptr(), b.key().as_ptr())
        || (a.expire_at() == b.expire_at() && a.value() == b.value())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_storage::{KeyspaceConfig, LockEach};

    fn ks() -> Keyspace {
        Keyspace::new(KeyspaceConfig {
            databases: 2,
            capacity: 100,
            shards: 4,
        })
    }

    fn put(k: &Keyspace, db: usize, key: &str, val: &str, ttl: Option<i64>) {
        let d = k.db(db);
        let h = d.hash(key.as_bytes());
        d.lock(h)
            .insert(h, Entry::new_str(key.as_bytes(), val.as_bytes(), ttl), 0);
    }

    fn get(k: &Keyspace, db: usize, key: &str, now: i64) -> Option<String> {
        let d = k.db(db);
        let h = d.hash(key.as_bytes());
        let shard = d.lock(h);
        shard
            .peek(h, key.as_bytes(), now)
            .and_then(|e| e.as_str().map(|s| String::from_utf8_lossy(s).into_owned()))
    }

    #[test]
    fn names_limit_and_drop() {
        let live = ks();
        let r = SnapshotRegistry::default();
        let a = r.create(|| live.snapshot(), None, 1, 3).unwrap();
        assert_eq!(a.name(), b"snap-1");
        r.create(|| live.snapshot(), Some(b"snap-2"), 2, 3).unwrap();
        // The generator skips a name taken by hand.
        assert_eq!(
            r.create(|| live.snapshot(), None, 3, 3).unwrap().name(),
            b"snap-3"
        );
        assert_eq!(
            r.create(|| live.snapshot(), Some(b"x"), 4, 3).err(),
            Some(CreateError::Limit(3))
        );
        assert_eq!(
            r.create(|| live.snapshot(), Some(b"snap-1"), 4, 9).err(),
            Some(CreateError::Exists)
        );
        assert!(r.remove(b"snap-2").is_some());
        assert!(r.remove(b"snap-2").is_none());
        let names: Vec<_> = r.list().iter().map(|s| s.name().to_vec()).collect();
        assert_eq!(names, vec![b"snap-1".to_vec(), b"snap-3".to_vec()]);
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn merge_keep_and_replace() {
        let live = ks();
        put(&live, 0, "same", "1", None);
        put(&live, 0, "changed", "old", None);
        put(&live, 0, "deleted", "d", None);
        put(&live, 1, "ttl", "t", Some(100));
        let snap = live.snapshot();
        put(&live, 0, "changed", "new", None);
        put(&live, 0, "added", "a", None);
        let d = live.db(0);
        let h = d.hash(b"deleted");
        d.lock(h).remove(h, b"deleted", 0);
        // KEEP: only the deleted key comes back (db 1's ttl key is still live).
        assert_eq!(
            merge_into(
                &live,
                &mut LockEach,
                &snap,
                MergeMode::Keep,
                50,
                &mut |_, _, _| {}
            ),
            1
        );
        assert_eq!(get(&live, 0, "deleted", 50).as_deref(), Some("d"));
        assert_eq!(get(&live, 0, "changed", 50).as_deref(), Some("new"));
        // REPLACE: the changed key too; unchanged and added keys are left alone.
        assert_eq!(
            merge_into(
                &live,
                &mut LockEach,
                &snap,
                MergeMode::Replace,
                50,
                &mut |_, _, _| {}
            ),
            1
        );
        assert_eq!(get(&live, 0, "changed", 50).as_deref(), Some("old"));
        assert_eq!(get(&live, 0, "added", 50).as_deref(), Some("a"));
        assert_eq!(get(&live, 0, "same", 50).as_deref(), Some("1"));
        // Expired in the snapshot: not restored.
        let d1 = live.db(1);
        let ht = d1.hash(b"ttl");
        d1.lock(ht).remove(ht, b"ttl", 0);
        assert_eq!(
            merge_into(
                &live,
                &mut LockEach,
                &snap,
                MergeMode::Keep,
                200,
                &mut |_, _, _| {}
            ),
            0
        );
        assert_eq!(
            merge_into(
                &live,
                &mut LockEach,
                &snap,
                MergeMode::Keep,
                50,
                &mut |_, _, _| {}
            ),
            1
        );
    }
}
