//! WATCH: optimistic locking for MULTI/EXEC (Redis's `multi.c` watch half).
//!
//! A client's WATCH registers `(db, key)` here with a flag shared by all of that
//! client's watched keys ([`Watcher`]). The write hook ([`crate::access::announce`])
//! calls [`Watches::touch`] for every change; a change to a watched key sets the
//! flag of every client watching it, and EXEC, holding the locks of its
//! transaction and of the watched keys, refuses to run (null reply) when the flag is
//! set. With no key watched anywhere the hook pays one relaxed load.
//!
//! Redis 7.0's rules for keys that were already expired when watched (`expired`
//! below): deleting such a key (its expiry being noticed, DEL, a flush) is no logical
//! change, so it clears the mark without failing the transaction; any other change
//! fails it. A key that expires after WATCH fails it (the expiry is a change, and
//! EXEC also checks whether a watched key has expired meanwhile).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::changes::{event, Change, FLUSHED, SWAPPED};

/// One client's WATCH state: its dirty flag and the keys it watches.
pub struct Watcher {
    /// Set when a watched key changed (Redis's `CLIENT_DIRTY_CAS`).
    dirty: AtomicBool,
    /// The client's id (to find its registrations).
    id: u64,
}

impl Watcher {
    /// Whether a watched key changed since it was watched.
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }
}

/// A client's registration on one key.
struct Registration {
    watcher: Arc<Watcher>,
    /// The key was present but logically expired when watched.
    expired: bool,
}

/// The registrations of one database's watched keys.
type DbWatches = HashMap<Box<[u8]>, Vec<Registration>>;

/// Tells how a key stands (a flush's or SWAPDB's view of a database).
pub type Probe<'p> = &'p mut dyn FnMut(&[u8]) -> Presence;

/// Every watched key of the server.
#[derive(Default)]
pub struct Watches {
    /// Number of registrations (the write hook's fast check).
    count: AtomicUsize,
    /// Database, then key, then the registrations.
    keys: Mutex<HashMap<usize, DbWatches>>,
}

/// How a key stood in a database at some instant (for flushes and SWAPDB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Not in the database.
    Absent,
    /// In it, live.
    Live,
    /// In it, but past its expiry time (not yet removed).
    Expired,
}

/// Events after which the key no longer exists.
fn deletes(ev: &str) -> bool {
    matches!(
        ev,
        event::EXPIRED | event::DEL | event::RENAME_FROM | event::MOVE_FROM | event::EVICTED
    )
}

impl Watches {
    /// Whether any key is watched (one relaxed load).
    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    /// Clients watching at least one key and keys watched (per database), INFO's
    /// `watching_clients` and `total_watched_keys` (Redis 7.2's fields).
    pub fn stats(&self) -> (usize, usize) {
        if !self.active() {
            return (0, 0);
        }
        let map = self.keys.lock();
        let keys = map.values().map(HashMap::len).sum();
        let clients: std::collections::HashSet<u64> = map
            .values()
            .flat_map(HashMap::values)
            .flatten()
            .map(|r| r.watcher.id)
            .collect();
        (clients.len(), keys)
    }

    /// A new watcher for client `id` (its first WATCH).
    pub fn watcher(id: u64) -> Arc<Watcher> {
        Arc::new(Watcher {
            dirty: AtomicBool::new(false),
            id,
        })
    }

    /// Registers `watcher` on `(db, key)`; `expired`: the key is present but expired.
    /// Returns false if it was already registered there (WATCH of the same key twice).
    pub fn watch(&self, watcher: &Arc<Watcher>, db: usize, key: &[u8], expired: bool) -> bool {
        let mut keys = self.keys.lock();
        let regs = keys.entry(db).or_default().entry(key.into()).or_default();
        if regs.iter().any(|r| Arc::ptr_eq(&r.watcher, watcher)) {
            return false;
        }
        regs.push(Registration {
            watcher: Arc::clone(watcher),
            expired,
        });
        self.count.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Removes `watcher`'s registrations on `keys` (UNWATCH, EXEC, DISCARD, a client
    /// leaving).
    pub fn unwatch(&self, watcher: &Watcher, keys: &[(usize, Box<[u8]>)]) {
        let mut map = self.keys.lock();
        for (db, key) in keys {
            let Some(in_db) = map.get_mut(db) else {
                continue;
            };
            if let Some(regs) = in_db.get_mut(key) {
                let before = regs.len();
                regs.retain(|r| r.watcher.id != watcher.id);
                self.count.fetch_sub(before - regs.len(), Ordering::Relaxed);
                if regs.is_empty() {
                    in_db.remove(key);
                }
            }
            if in_db.is_empty() {
                map.remove(db);
            }
        }
    }

    /// Whether `watcher`'s registration on `(db, key)` was marked expired-at-watch.
    pub fn marked_expired(&self, watcher: &Watcher, db: usize, key: &[u8]) -> bool {
        let map = self.keys.lock();
        map.get(&db)
            .and_then(|in_db| in_db.get(key))
            .and_then(|regs| regs.iter().find(|r| r.watcher.id == watcher.id))
            .is_some_and(|r| r.expired)
    }

    /// The write hook's part: `change` happened. Database-wide changes other than
    /// flushes and SWAPDB (whose callers use [`Watches::db_changed`], which knows
    /// what each key was before and after) fail every transaction watching a key of
    /// that database.
    pub fn touch(&self, change: &Change<'_>) {
        let mut map = self.keys.lock();
        match *change {
            Change::Key { db, key, event } => {
                let Some(regs) = map.get_mut(&db).and_then(|in_db| in_db.get_mut(key)) else {
                    return;
                };
                let gone = deletes(event);
                for r in regs.iter_mut() {
                    if r.expired && gone {
                        // An already expired key deleted: no logical change.
                        r.expired = false;
                        continue;
                    }
                    r.watcher.dirty.store(true, Ordering::Release);
                }
            }
            Change::Db { db, event } => {
                if event == FLUSHED || event == SWAPPED {
                    return;
                }
                for regs in map.get(&db).into_iter().flat_map(HashMap::values) {
                    for r in regs {
                        r.watcher.dirty.store(true, Ordering::Release);
                    }
                }
            }
        }
    }

    /// Database `db` was emptied (`after` is `None`: FLUSHDB, FLUSHALL) or swapped
    /// with another (`after`: how each key stands in it now), `before` telling how
    /// each key stood before. Redis 7.0's `touchAllWatchedKeysInDb`: a key that
    /// existed before, or exists after, is changed, except an already expired key
    /// that is now gone or still expired, and a missing key replaced by an expired
    /// one (which is marked expired instead).
    pub fn db_changed(&self, db: usize, before: Probe<'_>, after: Option<Probe<'_>>) {
        let mut map = self.keys.lock();
        let mut after = after;
        let Some(in_db) = map.get_mut(&db) else {
            return;
        };
        for (key, regs) in in_db.iter_mut() {
            let was = before(key);
            let now = match after.as_mut() {
                Some(f) => f(key),
                None => Presence::Absent,
            };
            if was == Presence::Absent && now == Presence::Absent {
                continue;
            }
            for r in regs.iter_mut() {
                if r.expired {
                    match now {
                        // Expired key now deleted: no logical change.
                        Presence::Absent => {
                            r.expired = false;
                            continue;
                        }
                        // Expired key remains expired.
                        Presence::Expired => continue,
                        Presence::Live => {}
                    }
                } else if was == Presence::Absent && now == Presence::Expired {
                    // A missing key replaced by an expired one.
                    r.expired = true;
                    continue;
                }
                r.watcher.dirty.store(true, Ordering::Release);
            }
        }
    }
}

/// Whether `ev` is a database-wide event whose caller reports watched keys itself.
pub fn precise_db_event(ev: &str) -> bool {
    ev == FLUSHED || ev == SWAPPED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_marks_watchers_and_unwatch_forgets() {
        let w = Watches::default();
        let a = Watches::watcher(1);
        let b = Watches::watcher(2);
        assert!(w.watch(&a, 0, b"k", false));
        assert!(!w.watch(&a, 0, b"k", false));
        assert!(w.watch(&b, 1, b"k", false));
        assert!(w.active());
        w.touch(&Change::key(0, b"other", "set"));
        assert!(!a.is_dirty());
        w.touch(&Change::key(0, b"k", "set"));
        assert!(a.is_dirty() && !b.is_dirty());
        w.unwatch(&a, &[(0, b"k".as_slice().into())]);
        w.unwatch(&b, &[(1, b"k".as_slice().into())]);
        assert!(!w.active());
    }

    #[test]
    fn expired_at_watch_keys_follow_redis() {
        let w = Watches::default();
        let a = Watches::watcher(1);
        w.watch(&a, 0, b"k", true);
        // Its expiry noticed: no change, the mark is cleared.
        w.touch(&Change::key(0, b"k", event::EXPIRED));
        assert!(!a.is_dirty());
        assert!(!w.marked_expired(&a, 0, b"k"));
        // Written afterwards: a change.
        w.touch(&Change::key(0, b"k", "set"));
        assert!(a.is_dirty());
    }

    #[test]
    fn flushes_touch_only_keys_that_existed() {
        let w = Watches::default();
        let a = Watches::watcher(1);
        let b = Watches::watcher(2);
        w.watch(&a, 0, b"here", false);
        w.watch(&b, 0, b"missing", false);
        w.db_changed(
            0,
            &mut |k: &[u8]| {
                if k == b"here" {
                    Presence::Live
                } else {
                    Presence::Absent
                }
            },
            None,
        );
        assert!(a.is_dirty());
        assert!(!b.is_dirty());
    }
}
