//! Keeping within `maxmemory`: the OOM gate's eviction step and the policies.
//!
//! **What counts.** `used_memory` is Shoal's own allocation count ([`memory::used`]:
//! the dataset, what snapshots retain, and everything else the process allocated).
//! Eviction compares `used_memory` minus what it must not evict data for against
//! `maxmemory`: client connection buffers (bounded on their own by
//! `maxmemory-clients`) and values handed to the background freer but not freed yet
//! (INFO `mem_not_counted_for_evict`).
//!
//! **When.** Before a command runs, when `maxmemory` is set, one comparison of two
//! relaxed loads decides whether memory is over the limit ([`Evictor::over`]). Only
//! then [`Evictor::perform`] evicts, as Redis's `performEvictions`: keys are freed
//! one at a time until memory is under the limit again, checking the time every 16
//! keys; past the `maxmemory-eviction-tenacity` time budget (500 µs at the default
//! 10) it stops and the eviction thread carries on in the background, so no request
//! waits longer than that. A command flagged `denyoom` is refused with `-OOM` only
//! when nothing could be evicted (policy `noeviction`, or no candidate key left).
//!
//! **Which keys.** The sampled policies (`*-lru`, `*-lfu`, `volatile-ttl`) keep
//! Redis's eviction pool: each round samples `maxmemory-samples` keys near a random
//! bucket of a random shard of every database in use, keeps the 16 best candidates
//! across rounds, and evicts the best one that still exists. The `*-random`
//! policies take a random key, databases in turn. The `volatile-*` policies only
//! consider keys with a TTL.
//!
//! **Effects.** An eviction is a change like any other: it goes through the write
//! hook (`evicted` keyspace notification, WATCH, observers). A value with many
//! elements is freed on the background freer thread. A key that a snapshot still
//! holds leaves the live keyspace but its memory stays counted until the snapshot
//! is dropped: while snapshots retain much, eviction empties the live keyspace and
//! writes then get `-OOM` (SNAPSHOT LIST shows what each retains).

use std::sync::atomic::{AtomicI64, AtomicIsize, AtomicU32, AtomicU64, AtomicU8};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
pub use shoal_storage::evict::Policy;
use shoal_storage::evict::Victims;
use shoal_storage::{Entry, Keyspace};

use crate::memory;

/// What [`Evictor::perform`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Memory is within the limit.
    Ok,
    /// Keys were freed but memory is still over: the eviction thread goes on.
    Running,
    /// Nothing could be freed (noeviction, or no candidate): `denyoom` commands fail.
    Fail,
}

/// A value with more elements than this is freed on the background freer.
const LAZY_FREE_ELEMENTS: usize = 64;

/// The eviction state shared by the server.
pub struct Evictor {
    /// `maxmemory` in bytes (0 = no limit).
    pub(crate) limit: AtomicU64,
    pub(crate) policy: AtomicU8,
    pub(crate) samples: AtomicUsize,
    pub(crate) tenacity: AtomicU32,
    /// `maxmemory-clients`, resolved to bytes (0 = no limit).
    pub(crate) clients_limit: AtomicU64,
    /// Bytes of client connection buffers (not counted for eviction).
    pub(crate) clients_mem: AtomicIsize,
    /// Bytes handed to the background freer, not freed yet.
    pub(crate) pending_free: Arc<AtomicU64>,
    pub(crate) pending_objects: Arc<AtomicU64>,
    /// The eviction pool and the random policies' turn (see
    /// [`shoal_storage::evict::Victims`]).
    pub(crate) victims: Victims,
    /// Keys evicted (INFO `evicted_keys`).
    pub evicted_keys: AtomicU64,
    /// Clients disconnected by `maxmemory-clients` (INFO `evicted_clients`).
    pub evicted_clients: AtomicU64,
    /// Since when (unix ms) memory has been over the limit; 0 = it is not.
    pub(crate) exceeded_since: AtomicI64,
    /// Milliseconds spent over the limit, in past episodes.
    pub(crate) exceeded_total_ms: AtomicU64,
    /// The background eviction thread has work.
    pub(crate) wake: (Mutex<bool>, Condvar),
    /// Values for the freer thread.
    pub(crate) freer: Mutex<Option<std::sync::mpsc::Sender<(Entry, u64)>>>,
}

impl Default for Evictor {
    fn default() -> Self {
        Evictor {
            limit: AtomicU64::new(0),
            policy: AtomicU8::new(Policy::NoEviction as u8),
            samples: AtomicUsize::new(5),
            tenacity: AtomicU32::new(10),
            clients_limit: AtomicU64::new(0),
            clients_mem: AtomicIsize::new(0),
            pending_free: Arc::new(AtomicU64::new(0)),
            pending_objects: Arc::new(AtomicU64::new(0)),
            victims: Victims::default(),
            evicted_keys: AtomicU64::new(0),
            evicted_clients: AtomicU64::new(0),
            exceeded_since: AtomicI64::new(0),
            exceeded_total_ms: AtomicU64::new(0),
            wake: (Mutex::new(false), Condvar::new()),
            freer: Mutex::new(None),
        }
    }
}

/// The settings eviction follows (from the config).
pub struct Settings {
    pub maxmemory: u64,
    pub policy: Policy,
    pub samples: usize,
    pub tenacity: u32,
    pub clients_limit: u64,
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
}

impl Evictor {
    /// Applies the settings (start-up, CONFIG SET).
    pub fn configure(&self, keyspace: &Keyspace, s: &Settings) {
        self.limit.store(s.maxmemory, Ordering::Relaxed);
        let old = Policy::from_u8(self.policy.swap(s.policy as u8, Ordering::Relaxed));
        if old != s.policy {
            // Scores of another policy mean nothing now.
            self.victims.clear();
        }
        self.samples.store(s.samples.max(1), Ordering::Relaxed);
        self.tenacity.store(s.tenacity, Ordering::Relaxed);
        self.clients_limit.store(s.clients_limit, Ordering::Relaxed);
        let clock = keyspace.access_clock();
        clock.set_lfu(s.policy.is_lfu());
        clock.set_tinylfu(s.policy == Policy::AllkeysTinyLfu);
        clock.set_lfu_params(s.lfu_log_factor, s.lfu_decay_time);
    }

    pub fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    pub fn policy(&self) -> Policy {
        Policy::from_u8(self.policy.load(Ordering::Relaxed))
    }

    /// Bytes not counted for eviction: client buffers and values waiting to be freed.
    pub fn not_counted(&self) -> u64 {
        self.clients_mem.load(Ordering::Relaxed).max(0) as u64
            + self.pending_free.load(Ordering::Relaxed)
    }

    /// Client connection buffers, in bytes (INFO `mem_clients_normal`).
    pub fn clients_memory(&self) -> u64 {
        self.clients_mem.load(Ordering::Relaxed).max(0) as u64
    }

    /// Values handed to the background freer and not freed yet (INFO
    /// `lazyfree_pending_objects`).
    pub fn pending_objects(&self) -> u64 {
        self.pending_objects.load(Ordering::Relaxed)
    }

    /// `used_memory` as INFO reports it and eviction compares with `maxmemory`: what
    /// the process allocated less client buffers and values waiting to be freed.
    pub fn used_memory(&self) -> u64 {
        self.counted(memory::used())
    }

    /// Memory as eviction counts it, of a `memory::used` figure.
    pub(crate) fn counted(&self, used: u64) -> u64 {
        used.saturating_sub(self.not_counted())
    }

    /// Whether memory is over `maxmemory` (always false without a limit): the hot
    /// path's check, two relaxed loads when a limit is set.
    #[inline]
    pub fn over(&self) -> bool {
        let limit = self.limit.load(Ordering::Relaxed);
        if limit == 0 {
            return false;
        }
        let used = memory::used();
        used > limit && self.counted(used) > limit
    }

    /// Redis's `evictionTimeLimitUs`: 50 µs per point of tenacity up to 10, then
    /// growing 15% per point; 100 is unlimited.
    pub(crate) fn time_budget(&self) -> Duration {
        let t = self.tenacity.load(Ordering::Relaxed);
        if t <= 10 {
            Duration::from_micros(50 * u64::from(t.max(1)))
        } else if t < 100 {
            Duration::from_micros((500.0 * 1.15f64.powi(t as i32 - 10)) as u64)
        } else {
            Duration::MAX
        }
    }

    pub(crate) fn update_exceeded(&self, now: i64, over: bool) {
        let since = self.exceeded_since.load(Ordering::Relaxed);
        if over && since == 0 {
            self.exceeded_since.store(now.max(1), Ordering::Relaxed);
        } else if !over && since != 0 {
            self.exceeded_since.store(0, Ordering::Relaxed);
            self.exceeded_total_ms
                .fetch_add(now.saturating_sub(since).max(0) as u64, Ordering::Relaxed);
        }
    }

    /// INFO `total_eviction_exceeded_time` and `current_eviction_exceeded_time`, ms.
    pub fn exceeded_times(&self, now: i64) -> (u64, u64) {
        let since = self.exceeded_since.load(Ordering::Relaxed);
        let current = if since == 0 {
            0
        } else {
            now.saturating_sub(since).max(0) as u64
        };
        (
            self.exceeded_total_ms.load(Ordering::Relaxed) + current,
            current,
        )
    }

    /// Drops an evicted entry: here if small, on the freer thread if it has many
    /// elements (its bytes then stay out of the eviction count until freed).
    pub(crate) fn free(&self, entry: Entry) {
        let elements = entry.object().map_or(0, |o| o.len());
        if elements <= LAZY_FREE_ELEMENTS || entry.ref_count() > 1 {
            drop(entry);
            return;
        }
        let bytes = entry.heap_size() as u64;
        let mut freer = self.freer.lock();
        if freer.is_none() {
            *freer = spawn_freer(&self.pending_free, &self.pending_objects);
        }
        self.pending_free.fetch_add(bytes, Ordering::Relaxed);
        self.pending_objects.fetch_add(1, Ordering::Relaxed);
        let sent = match freer.as_ref() {
            Some(tx) => tx.send((entry, bytes)).map_err(|e| e.0 .0),
            None => Err(entry),
        };
        if let Err(entry) = sent {
            self.pending_free.fetch_sub(bytes, Ordering::Relaxed);
            self.pending_objects.fetch_sub(1, Ordering::Relaxed);
            drop(entry);
        }
    }

    /// Has the eviction thread evict now if memory is over the limit (a lowered
    /// `maxmemory` takes effect without waiting for the next write).
    pub fn kick(&self) {
        if self.over() {
            self.wake_background();
        }
    }

    pub(crate) fn wake_background(&self) {
        let (lock, cv) = &self.wake;
        *lock.lock() = true;
        cv.notify_one();
    }
}

/// Starts the freer thread: it drops what it is sent, then takes the bytes off the
/// pending count. It ends when the evictor (the sender) is dropped.
fn spawn_freer(
    pending: &Arc<AtomicU64>,
    objects: &Arc<AtomicU64>,
) -> Option<std::sync::mpsc::Sender<(Entry, u64)>> {
    let (tx, rx) = std::sync::mpsc::channel::<(Entry, u64)>();
    let (pending, objects) = (Arc::clone(pending), Arc::clone(objects));
    std::thread::Builder::new()
        .name("shoal-evictfree".into())
        .spawn(move || {
            while let Ok((entry, bytes)) = rx.recv() {
                drop(entry);
                memory::flush_thread();
                pending.fetch_sub(bytes, Ordering::Relaxed);
                objects.fetch_sub(1, Ordering::Relaxed);
            }
        })
        .ok()?;
    Some(tx)
}
