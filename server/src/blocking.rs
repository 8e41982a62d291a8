//! Parked commands: what a blocked command waits for, who wakes it, and CLIENT PAUSE.
//!
//! A handler that cannot complete yet asks to block ([`Block`], through
//! `Ctx::block`); dispatch's gates park a command the same way while clients are
//! paused. The connection keeps the command and registers a [`Parked`] waiter here,
//! then sleeps until it is woken, its deadline passes, or it is killed; woken, it runs
//! the command again (which may park again). Nothing polls.
//!
//! Waiters queue per `(db, key)` (and in one queue for CLIENT PAUSE) in the order they
//! blocked. A wake-up goes to the head of a queue only; a waiter leaving the head
//! (its command completed, timed out, or its client went away) hands the turn to the
//! next one. So the first client blocked is the first served, as in Redis, and a
//! woken client that finds nothing for it simply parks again, keeping its place.
//!
//! The write path asks [`Blocking::has_waiters`] (one relaxed load) before calling
//! [`Blocking::signal`] for the keys it changed.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// What a parked command waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitOn {
    /// A change to any of these keys, `(db, key)` (BLPOP-style commands).
    Keys(Vec<(usize, Vec<u8>)>),
    /// The end of a CLIENT PAUSE (set by dispatch's gates, never by a handler).
    Pause,
}

/// The reply a blocked command gets when its deadline passes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTimeout {
    /// `*-1` (RESP3 `_`): BLPOP, BRPOP, BZPOPMIN... in Redis.
    NullArray,
    /// `$-1` (RESP3 `_`). Redis 7.0's blocked list commands, BLMOVE and BRPOPLPUSH
    /// included, all time out with a null array.
    Null,
}

/// A request to park the running command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The condition.
    pub on: WaitOn,
    /// When to give up (`None`: never). Ignored for [`WaitOn::Pause`], whose deadline
    /// is the pause's end.
    pub deadline: Option<Instant>,
    /// The reply once the deadline passed.
    pub on_timeout: OnTimeout,
}

impl Block {
    /// Block on `keys` until one of them changes or `deadline` passes.
    pub fn keys(
        mut keys: Vec<(usize, Vec<u8>)>,
        deadline: Option<Instant>,
        on_timeout: OnTimeout,
    ) -> Block {
        // A key named twice (BLPOP k k 0) waits in its queue once, as Redis's
        // `blockForKeys` keeps each key once.
        let mut i = 1;
        while i < keys.len() {
            if keys[..i].contains(&keys[i]) {
                keys.remove(i);
            } else {
                i += 1;
            }
        }
        Block {
            on: WaitOn::Keys(keys),
            deadline,
            on_timeout,
        }
    }

    /// Writes the reply of a timeout (also what a blocking command answers inside a
    /// transaction, where it may not block).
    pub fn reply_timeout(&self, out: &mut shoal_protocol::ReplyBuf) {
        match self.on_timeout {
            OnTimeout::NullArray => out.null_array(),
            OnTimeout::Null => out.null(),
        }
    }

    /// Wait for the end of a CLIENT PAUSE (no allocation).
    pub fn pause() -> Block {
        Block {
            on: WaitOn::Pause,
            deadline: None,
            on_timeout: OnTimeout::Null,
        }
    }
}

/// CLIENT PAUSE's mode. The order matters: a stronger pause wins (`ALL` > `WRITE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum PauseKind {
    /// Not paused.
    None = 0,
    /// Commands that may write wait.
    Write = 1,
    /// Every command waits.
    All = 2,
}

struct Waiter {
    notify: Notify,
}

impl Waiter {
    fn wake(&self) {
        self.notify.notify_one();
    }
}

type Queue = VecDeque<Arc<Waiter>>;

#[derive(Default)]
struct Queues {
    /// Per database, per key: the waiters in the order they blocked.
    keys: HashMap<usize, HashMap<Vec<u8>, Queue>>,
    /// Clients waiting for the end of a pause, in the order they were paused.
    pause: Queue,
}

/// The parked-command registry and the pause state, `Shared::blocking`.
#[derive(Default)]
pub struct Blocking {
    /// Clients parked, for whatever reason (INFO `blocked_clients`, which counts
    /// paused clients too, as Redis 7.0 does).
    parked: AtomicUsize,
    /// Waiters registered on keys: the write path's cheap "anyone blocked?" check.
    keyed: AtomicUsize,
    /// Waiters on keys with a deadline (INFO `clients_in_timeout_table`: Redis 7.0
    /// puts a blocked client in its timeout table only when its timeout is not 0, and
    /// a paused client never).
    timed: AtomicUsize,
    /// [`PauseKind`] as a byte: read (relaxed) by every command's gates.
    pause_kind: AtomicU8,
    /// When the pause ends, unix ms (meaningful while `pause_kind` is not `None`).
    pause_end_ms: AtomicI64,
    queues: Mutex<Queues>,
}

/// A parked client's registration: dropping it removes the client from every queue
/// and, where it was first in line, wakes the next one.
pub struct Parked<'a> {
    registry: &'a Blocking,
    waiter: Arc<Waiter>,
    on: WaitOn,
    /// Counted in [`Blocking::timed`].
    timed: bool,
}

impl Parked<'_> {
    /// Resolves once this waiter is woken (a wake-up that came earlier is kept).
    pub async fn woken(&self) {
        self.waiter.notify.notified().await;
    }

    /// What this registration waits on.
    pub fn on(&self) -> &WaitOn {
        &self.on
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        let reg = self.registry;
        let mut q = reg.queues.lock();
        match &self.on {
            WaitOn::Pause => leave(&mut q.pause, &self.waiter),
            WaitOn::Keys(keys) => {
                for (db, key) in keys {
                    let Some(per_db) = q.keys.get_mut(db) else {
                        continue;
                    };
                    if let Some(queue) = per_db.get_mut(key.as_slice()) {
                        leave(queue, &self.waiter);
                        if queue.is_empty() {
                            per_db.remove(key.as_slice());
                        }
                    }
                    if per_db.is_empty() {
                        q.keys.remove(db);
                    }
                }
                reg.keyed.fetch_sub(1, Ordering::Relaxed);
            }
        }
        if self.timed {
            reg.timed.fetch_sub(1, Ordering::Relaxed);
        }
        reg.parked.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Removes `w` from `queue`; if it was first, the new first gets the turn.
fn leave(queue: &mut Queue, w: &Arc<Waiter>) {
    if let Some(i) = queue.iter().position(|x| Arc::ptr_eq(x, w)) {
        queue.remove(i);
        if i == 0 {
            if let Some(next) = queue.front() {
                next.wake();
            }
        }
    }
}

impl Blocking {
    /// Registers a parked client waiting on `on`, last in line; `timed` when it has
    /// a deadline. For a pause that has already ended, the waiter is woken at once (no
    /// wake-up is lost between the gate and this call).
    pub fn park(&self, on: WaitOn, timed: bool) -> Parked<'_> {
        let waiter = Arc::new(Waiter {
            notify: Notify::new(),
        });
        let mut q = self.queues.lock();
        match &on {
            WaitOn::Pause => {
                q.pause.push_back(Arc::clone(&waiter));
                if self.pause_kind() == PauseKind::None && q.pause.len() == 1 {
                    waiter.wake();
                }
            }
            WaitOn::Keys(keys) => {
                for (db, key) in keys {
                    let queue = q.keys.entry(*db).or_default();
                    match queue.get_mut(key.as_slice()) {
                        Some(queue) => queue.push_back(Arc::clone(&waiter)),
                        None => {
                            queue.insert(key.clone(), VecDeque::from([Arc::clone(&waiter)]));
                        }
                    }
                }
                self.keyed.fetch_add(1, Ordering::Relaxed);
            }
        }
        let timed = timed && matches!(on, WaitOn::Keys(_));
        if timed {
            self.timed.fetch_add(1, Ordering::Relaxed);
        }
        self.parked.fetch_add(1, Ordering::Relaxed);
        drop(q);
        Parked {
            registry: self,
            waiter,
            on,
            timed,
        }
    }

    /// Whether any client waits on a key: one relaxed load, for the write path to
    /// skip [`Blocking::signal`] when nobody is blocked.
    #[inline]
    pub fn has_waiters(&self) -> bool {
        self.keyed.load(Ordering::Relaxed) > 0
    }

    /// `key` of database `db` changed: the first client waiting on it runs its
    /// command again (and hands the turn on when it leaves the queue).
    pub fn signal(&self, db: usize, key: &[u8]) {
        if !self.has_waiters() {
            return;
        }
        let q = self.queues.lock();
        if let Some(first) = q
            .keys
            .get(&db)
            .and_then(|m| m.get(key))
            .and_then(|queue| queue.front())
        {
            first.wake();
        }
    }

    /// Every key of database `db` may have changed (FLUSHDB, SWAPDB...): the first
    /// waiter of each of its keys runs again.
    pub fn signal_db(&self, db: usize) {
        if !self.has_waiters() {
            return;
        }
        let q = self.queues.lock();
        if let Some(m) = q.keys.get(&db) {
            for first in m.values().filter_map(|queue| queue.front()) {
                first.wake();
            }
        }
    }

    /// Number of parked clients (INFO `blocked_clients`).
    pub fn parked(&self) -> usize {
        self.parked.load(Ordering::Relaxed)
    }

    /// Clients blocked on keys with a timeout (INFO `clients_in_timeout_table`).
    pub fn timed(&self) -> usize {
        self.timed.load(Ordering::Relaxed)
    }

    /// Keys with at least one client blocked on them, counted per database (INFO
    /// `total_blocking_keys`, Redis 7.2's sum of its databases' `blocking_keys`).
    pub fn blocking_keys(&self) -> usize {
        if self.keyed.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        self.queues.lock().keys.values().map(HashMap::len).sum()
    }

    // -----------------------------------------------------------------------------
    // CLIENT PAUSE
    // -----------------------------------------------------------------------------

    /// The current pause mode, possibly already past its end (see
    /// [`Blocking::pause_active`]). One relaxed load: the gates' fast path.
    #[inline]
    pub fn pause_kind(&self) -> PauseKind {
        match self.pause_kind.load(Ordering::Relaxed) {
            0 => PauseKind::None,
            1 => PauseKind::Write,
            _ => PauseKind::All,
        }
    }

    /// The pause in force at `now_ms` (unix ms), ending it if its time has come.
    pub fn pause_active(&self, now_ms: i64) -> PauseKind {
        let kind = self.pause_kind();
        if kind == PauseKind::None {
            return kind;
        }
        if now_ms >= self.pause_end_ms.load(Ordering::Relaxed) {
            self.lift_if(|end| now_ms >= end);
            return self.pause_kind();
        }
        kind
    }

    /// When the current pause ends (unix ms), if one is set.
    pub fn pause_end_ms(&self) -> Option<i64> {
        (self.pause_kind() != PauseKind::None).then(|| self.pause_end_ms.load(Ordering::Relaxed))
    }

    /// CLIENT PAUSE at `now_ms`: pause until `end_ms` (unix ms) in mode `kind`. As in
    /// Redis 7.0, a pause still in force keeps the later end and the stronger mode.
    pub fn pause(&self, now_ms: i64, end_ms: i64, kind: PauseKind) {
        let _q = self.queues.lock();
        let mut old = self.pause_kind();
        let old_end = self.pause_end_ms.load(Ordering::Relaxed);
        if old == PauseKind::None || now_ms >= old_end {
            old = PauseKind::None;
            self.pause_end_ms.store(end_ms, Ordering::Relaxed);
        } else {
            self.pause_end_ms
                .store(old_end.max(end_ms), Ordering::Relaxed);
        }
        self.pause_kind
            .store(old.max(kind) as u8, Ordering::Release);
    }

    /// CLIENT UNPAUSE: ends the pause; paused clients resume in the order they were
    /// paused.
    pub fn unpause(&self) {
        self.lift_if(|_| true);
    }

    /// Ends the pause if `due(end)` holds (checked under the lock, so a pause extended
    /// meanwhile is kept) and gives the turn to the first paused client.
    fn lift_if(&self, due: impl FnOnce(i64) -> bool) {
        let q = self.queues.lock();
        if self.pause_kind() == PauseKind::None || !due(self.pause_end_ms.load(Ordering::Relaxed)) {
            return;
        }
        self.pause_kind
            .store(PauseKind::None as u8, Ordering::Release);
        if let Some(first) = q.pause.front() {
            first.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Whether the waiter has a wake-up waiting (consumes it).
    fn woken(p: &Parked<'_>) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        matches!(pin!(p.woken()).poll(&mut cx), Poll::Ready(()))
    }

    fn on(keys: &[(usize, &str)]) -> WaitOn {
        WaitOn::Keys(
            keys.iter()
                .map(|(d, k)| (*d, k.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn signal_wakes_first_in_line_then_the_next() {
        let b = Blocking::default();
        assert!(!b.has_waiters());
        let first = b.park(on(&[(0, "k")]), false);
        let second = b.park(on(&[(0, "k")]), false);
        let other_db = b.park(on(&[(1, "k")]), false);
        assert!(b.has_waiters());
        assert_eq!(b.parked(), 3);
        b.signal(0, b"other");
        assert!(!woken(&first) && !woken(&second));
        b.signal(0, b"k");
        assert!(woken(&first));
        assert!(!woken(&second), "only the first in line is woken");
        assert!(!woken(&other_db), "databases are separate");
        // The first found nothing and parks again: it keeps its place.
        b.signal(0, b"k");
        assert!(woken(&first) && !woken(&second));
        // It completes: the turn passes on.
        drop(first);
        assert!(woken(&second));
        drop(second);
        drop(other_db);
        assert!(!b.has_waiters());
        assert_eq!(b.parked(), 0);
    }

    #[test]
    fn several_keys_and_cleanup_on_drop() {
        let b = Blocking::default();
        let a = b.park(on(&[(0, "x"), (0, "y")]), false);
        let c = b.park(on(&[(0, "y")]), false);
        b.signal(0, b"y");
        assert!(woken(&a) && !woken(&c));
        // A client that goes away while not first in line wakes nobody.
        let d = b.park(on(&[(0, "x")]), false);
        drop(d);
        assert!(!woken(&a));
        drop(c);
        drop(a);
        let q = b.queues.lock();
        assert!(q.keys.is_empty(), "no queue left behind");
        drop(q);
        assert!(!b.has_waiters());
        assert_eq!(b.parked(), 0);
    }

    #[test]
    fn timed_waiters_and_blocking_keys_are_counted() {
        let b = Blocking::default();
        // `Block::keys` keeps a key named twice once.
        let twice = Block::keys(
            vec![(0, b"k".to_vec()), (0, b"k".to_vec()), (1, b"k".to_vec())],
            None,
            OnTimeout::NullArray,
        );
        assert_eq!(twice.on, on(&[(0, "k"), (1, "k")]));
        let forever = b.park(twice.on, false);
        let timed = b.park(on(&[(0, "k"), (0, "j")]), true);
        // A paused client is never in the timeout table.
        let paused = b.park(WaitOn::Pause, true);
        assert_eq!((b.parked(), b.timed(), b.blocking_keys()), (3, 1, 3));
        drop(forever);
        assert_eq!((b.parked(), b.timed(), b.blocking_keys()), (2, 1, 2));
        drop(timed);
        drop(paused);
        assert_eq!((b.parked(), b.timed(), b.blocking_keys()), (0, 0, 0));
    }

    #[test]
    fn signal_db_wakes_every_key_of_that_db() {
        let b = Blocking::default();
        let a = b.park(on(&[(0, "a")]), false);
        let c = b.park(on(&[(0, "c")]), false);
        let z = b.park(on(&[(2, "a")]), false);
        b.signal_db(0);
        assert!(woken(&a) && woken(&c) && !woken(&z));
    }

    #[test]
    fn pause_is_kept_at_its_latest_end_and_strongest_mode() {
        let b = Blocking::default();
        assert_eq!(b.pause_active(0), PauseKind::None);
        b.pause(0, 1000, PauseKind::Write);
        b.pause(0, 500, PauseKind::All);
        assert_eq!(b.pause_end_ms(), Some(1000));
        assert_eq!(b.pause_active(999), PauseKind::All);
        b.pause(900, 2000, PauseKind::Write);
        assert_eq!(b.pause_active(1500), PauseKind::All);
        assert_eq!(b.pause_active(2000), PauseKind::None);
        assert_eq!(b.pause_end_ms(), None);
        // A pause past its end (not yet noticed) does not lend its mode to a new one.
        b.pause(3000, 4000, PauseKind::All);
        b.pause(4000, 5000, PauseKind::Write);
        assert_eq!(b.pause_active(4500), PauseKind::Write);
    }

    #[test]
    fn paused_clients_resume_in_order() {
        let b = Blocking::default();
        b.pause(0, 1000, PauseKind::All);
        let first = b.park(WaitOn::Pause, false);
        let second = b.park(WaitOn::Pause, false);
        assert!(!woken(&first) && !woken(&second));
        assert_eq!(b.pause_active(500), PauseKind::All);
        assert!(!woken(&first));
        // The end passes: the first paused client goes first, then hands on.
        assert_eq!(b.pause_active(1000), PauseKind::None);
        assert!(woken(&first) && !woken(&second));
        drop(first);
        assert!(woken(&second));
        drop(second);
        // UNPAUSE, and a client parking just after the pause ended runs at once.
        b.pause(1000, 5000, PauseKind::Write);
        let p = b.park(WaitOn::Pause, false);
        b.unpause();
        assert!(woken(&p));
        drop(p);
        let late = b.park(WaitOn::Pause, false);
        assert!(woken(&late));
        drop(late);
        assert_eq!(b.parked(), 0);
        assert!(b.queues.lock().pause.is_empty());
    }
}
