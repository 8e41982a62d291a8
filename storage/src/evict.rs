//! What eviction needs from the keyspace: the meaning of each entry's access clock,
//! and samples of entries to choose victims from.
//!
//! Every entry carries one 32-bit access word (see [`crate::entry`]). Like Redis's
//! `lru` field it means one of two things, chosen by the keyspace's [`AccessClock`]
//! (the server follows `maxmemory-policy`):
//! - **LRU** (the default): the unix second of the last access; `OBJECT IDLETIME` and
//!   the LRU policies read the idle time from it.
//! - **LFU**: Redis's logarithmic frequency counter: the low 8 bits count accesses
//!   on a logarithmic scale (`lfu-log-factor`), the next 16 bits are the minute of the
//!   last decrement, and the counter loses one per `lfu-decay-time` minutes idle. A
//!   new key starts at 5, as in Redis, so it is not evicted before it had a chance.
//!
//! Switching between the two at run time leaves the words of existing keys to be
//! reinterpreted, as Redis does ("will take some time to adjust").

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::entry::Entry;
use crate::keyspace::Keyspace;
use crate::shard::secs;

/// A new key's LFU counter (Redis's `LFU_INIT_VAL`).
pub const LFU_INIT_VAL: u32 = 5;

/// How entries' access words are kept, shared by every live shard of a keyspace.
#[derive(Debug)]
pub struct AccessClock {
    lfu: AtomicBool,
    tinylfu: AtomicBool,
    log_factor: AtomicU32,
    decay_minutes: AtomicU32,
}

impl Default for AccessClock {
    fn default() -> Self {
        AccessClock {
            lfu: AtomicBool::new(false),
            tinylfu: AtomicBool::new(false),
            log_factor: AtomicU32::new(10),
            decay_minutes: AtomicU32::new(1),
        }
    }
}

impl AccessClock {
    /// Keeps LFU counters (`true`) or last-access times (`false`) from now on.
    pub fn set_lfu(&self, lfu: bool) {
        self.lfu.store(lfu, Ordering::Relaxed);
    }

    /// Whether the words are LFU counters.
    #[inline]
    pub fn is_lfu(&self) -> bool {
        self.lfu.load(Ordering::Relaxed)
    }

    /// Counts every lookup in each shard's frequency sketch (the `allkeys-tinylfu`
    /// policy; the words stay LRU times).
    pub fn set_tinylfu(&self, on: bool) {
        self.tinylfu.store(on, Ordering::Relaxed);
    }

    /// Whether lookups are counted in the shards' frequency sketches.
    #[inline]
    pub fn is_tinylfu(&self) -> bool {
        self.tinylfu.load(Ordering::Relaxed)
    }

    /// `lfu-log-factor` and `lfu-decay-time` (minutes; 0 = never decay).
    pub fn set_lfu_params(&self, log_factor: u32, decay_minutes: u32) {
        self.log_factor.store(log_factor, Ordering::Relaxed);
        self.decay_minutes.store(decay_minutes, Ordering::Relaxed);
    }

    /// Records an access to `e` at `now_ms`.
    #[inline]
    pub fn touch(&self, e: &Entry, now_ms: i64) {
        if !self.is_lfu() {
            e.touch(secs(now_ms));
        } else {
            let counter = self.decayed(e.access_word(), now_ms);
            e.set_access_word(lfu_word(now_ms, self.log_incr(counter)));
        }
    }

    /// Starts the clock of an entry being stored at `now_ms` unless it has one (a
    /// copy keeps its original's). Under LFU a key that replaces `old` inherits its
    /// counter, incremented for this access (as Redis's overwrite does).
    #[inline]
    pub fn start(&self, e: &Entry, old: Option<&Entry>, now_ms: i64) {
        if !self.is_lfu() {
            e.touch_if_new(secs(now_ms));
        } else if e.access_word() == 0 {
            let counter = match old {
                Some(o) => self.log_incr(self.decayed(o.access_word(), now_ms)),
                None => LFU_INIT_VAL,
            };
            e.set_access_word(lfu_word(now_ms, counter));
        }
    }

    /// The LFU counter of `e` at `now_ms`, decayed for the time it sat idle (OBJECT
    /// FREQ; Redis's `LFUDecrAndReturn`). Meaningful under LFU only.
    pub fn frequency(&self, e: &Entry, now_ms: i64) -> u32 {
        self.decayed(e.access_word(), now_ms)
    }

    /// Sets the LFU counter of `e` (RESTORE ... FREQ), as of `now_ms`.
    pub fn set_frequency(&self, e: &Entry, counter: u32, now_ms: i64) {
        e.set_access_word(lfu_word(now_ms, counter));
    }

    /// How good a victim `e` is under this clock at `now_ms`: the higher, the sooner
    /// it goes (LRU: seconds idle; LFU: 255 minus the decayed counter).
    pub fn idleness(&self, e: &Entry, now_ms: i64) -> u64 {
        if self.is_lfu() {
            u64::from(255 - self.frequency(e, now_ms).min(255))
        } else {
            u64::from(e.idle_secs(secs(now_ms)))
        }
    }

    fn decayed(&self, word: u32, now_ms: i64) -> u32 {
        let counter = word & 0xff;
        let last = (word >> 8) & 0xffff;
        let decay = self.decay_minutes.load(Ordering::Relaxed);
        if decay == 0 {
            return counter;
        }
        let now = minutes(now_ms);
        let elapsed = if now >= last {
            now - last
        } else {
            65535 - last + now
        };
        counter.saturating_sub(elapsed / decay)
    }

    /// Redis's `LFULogIncr`: one more access, counted with a probability that falls
    /// as the counter grows.
    fn log_incr(&self, counter: u32) -> u32 {
        if counter >= 255 {
            return 255;
        }
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let p = 1.0 / (base * f64::from(self.log_factor.load(Ordering::Relaxed)) + 1.0);
        if random_unit() < p {
            counter + 1
        } else {
            counter
        }
    }
}

/// Minutes of the LFU clock (16 bits, wrapping, as Redis's `LFUGetTimeInMinutes`).
fn minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u32) & 0xffff
}

fn lfu_word(now_ms: i64, counter: u32) -> u32 {
    (minutes(now_ms) << 8) | counter.min(255)
}

/// The `maxmemory-policy` values, in Redis's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Policy {
    NoEviction,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    /// Shoal's own: sampled eviction scored by a TinyLFU frequency sketch.
    AllkeysTinyLfu,
}

impl Policy {
    const ALL: [Policy; 9] = [
        Policy::NoEviction,
        Policy::AllkeysLru,
        Policy::AllkeysLfu,
        Policy::AllkeysRandom,
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
        Policy::AllkeysTinyLfu,
    ];

    /// The policy called `name` (Redis's names, case-insensitive).
    pub fn parse(name: &str) -> Option<Policy> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Its name in CONFIG (Redis's, and Shoal's `allkeys-tinylfu`).
    pub fn name(self) -> &'static str {
        match self {
            Policy::NoEviction => "noeviction",
            Policy::AllkeysLru => "allkeys-lru",
            Policy::AllkeysLfu => "allkeys-lfu",
            Policy::AllkeysRandom => "allkeys-random",
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
            Policy::AllkeysTinyLfu => "allkeys-tinylfu",
        }
    }

    /// Whether entries keep LFU counters under this policy.
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllkeysLfu | Policy::VolatileLfu)
    }

    /// Whether only keys with a TTL may be evicted.
    pub fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    /// Whether victims are random keys.
    pub fn random(self) -> bool {
        matches!(self, Policy::AllkeysRandom | Policy::VolatileRandom)
    }

    /// The policy of a `policy as u8`.
    pub fn from_u8(v: u8) -> Policy {
        Policy::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(Policy::NoEviction)
    }
}

/// Size of the eviction pool (Redis's `EVPOOL_SIZE`).
const POOL_SIZE: usize = 16;

/// A candidate of the eviction pool.
struct Candidate {
    /// The higher, the better a victim.
    score: u64,
    db: usize,
    key: Box<[u8]>,
}

/// How a caller removes the key eviction chose: `(db, key, volatile)`, true if it
/// was still there (and had a TTL, when `volatile`) and is gone now.
pub type Remove<'a> = &'a mut dyn FnMut(usize, &[u8], bool) -> bool;

/// Chooses victims as Redis's `performEvictions` does (see the server's
/// `evict.rs` for when): the eviction pool of the sampled policies, the random
/// policies' turn over the databases, and `allkeys-tinylfu`'s admission test of new
/// keys. The caller removes the keys it is given (announcing them, counting memory).
#[derive(Default)]
pub struct Victims {
    pool: Mutex<Vec<Candidate>>,
    /// The database the random policies take their next key from.
    next_db: AtomicUsize,
}

impl Victims {
    /// Forgets the pool (its scores mean nothing under another policy).
    pub fn clear(&self) {
        self.pool.lock().clear();
    }

    /// Evicts one key under `policy`, sampling `samples` keys per round: `remove(db,
    /// key, volatile)` removes the chosen key if it is still there (with a TTL when
    /// `volatile`) and says whether it did. False when no candidate was found.
    pub fn evict_one(
        &self,
        ks: &Keyspace,
        policy: Policy,
        samples: usize,
        now: i64,
        remove: Remove<'_>,
    ) -> bool {
        if policy.random() {
            return self.evict_random(ks, policy.volatile(), remove);
        }
        if policy == Policy::AllkeysTinyLfu {
            return self.evict_tinylfu(ks, samples, now, remove);
        }
        // Candidates may vanish before they are taken (deleted, or evicted by another
        // thread): sample again, until a round finds none at all.
        for _ in 0..64 {
            let sampled = self.populate(ks, policy, samples, now);
            if sampled == 0 && self.pool.lock().is_empty() {
                return false;
            }
            // The best candidates first; one that is gone is skipped.
            loop {
                let Some(c) = self.pool.lock().pop() else {
                    break;
                };
                if remove(c.db, &c.key, policy.volatile()) {
                    return true;
                }
            }
        }
        false
    }

    /// Samples every database in use into the pool; returns how many keys it looked
    /// at.
    fn populate(&self, ks: &Keyspace, policy: Policy, samples: usize, now: i64) -> usize {
        let mut total = 0;
        let clock = ks.access_clock();
        let probes = if policy.volatile() {
            samples * 64
        } else {
            samples * 8
        };
        for dbi in 0..ks.num_dbs() {
            let db = ks.db(dbi);
            if !db.may_hold_keys() {
                continue;
            }
            let n = db.num_shards();
            // From a random shard on, the first that gives candidates (most do when
            // memory is full); a database without any is passed over whole.
            let start = rand::random_range(..n);
            for k in 0..n {
                let shard = db.lock_index((start + k) % n);
                if shard.is_empty() || (policy.volatile() && shard.expires() == 0) {
                    continue;
                }
                // The pool is taken under the shard's lock (never the other way
                // round): a key is copied only if it makes it into the pool.
                let mut pool = self.pool.lock();
                let sketched = &*shard;
                let mut visit = |e: &Entry| {
                    let score = match policy {
                        Policy::VolatileTtl => {
                            u64::MAX - e.expire_at().unwrap_or(i64::MAX).max(0) as u64
                        }
                        // The least asked-for first; among equals, the longest idle.
                        Policy::AllkeysTinyLfu => {
                            (u64::from(15 - sketched.frequency(e.key()).min(15)) << 32)
                                | clock.idleness(e, now).min(u64::from(u32::MAX))
                        }
                        _ => clock.idleness(e, now),
                    };
                    offer(&mut pool, score, dbi, e.key());
                };
                let r = rand::random();
                let mut got = shard.sample(r, samples, policy.volatile(), probes, &mut visit);
                if got == 0 {
                    // Its few keys are far from the random spot: look at all of it.
                    got = shard.sample(r, samples, policy.volatile(), usize::MAX, &mut visit);
                }
                if got > 0 {
                    total += got;
                    break;
                }
            }
        }
        total
    }

    /// `allkeys-tinylfu`: the oldest new key of a shard's window against the
    /// sampled victim of the rest, by the frequency sketch (TinyLFU's admission
    /// test): the less asked-for of the two goes; a new key that wins joins the rest.
    fn evict_tinylfu(&self, ks: &Keyspace, samples: usize, now: i64, remove: Remove<'_>) -> bool {
        for _ in 0..64 {
            let sampled = self.populate(ks, Policy::AllkeysTinyLfu, samples, now);
            let victim_freq = self
                .pool
                .lock()
                .last()
                .map(|c| 15 - (c.score >> 32).min(15) as u32);
            if let Some((db, newcomer, freq)) = window_candidate(ks) {
                if victim_freq.is_none_or(|v| freq <= v) && remove(db, newcomer.key(), false) {
                    return true;
                }
            }
            let mut any = false;
            loop {
                let Some(c) = self.pool.lock().pop() else {
                    break;
                };
                any = true;
                if remove(c.db, &c.key, false) {
                    return true;
                }
            }
            if sampled == 0 && !any {
                return false;
            }
        }
        false
    }

    fn evict_random(&self, ks: &Keyspace, volatile: bool, remove: Remove<'_>) -> bool {
        let dbs = ks.num_dbs();
        // Databases in turn from one call to the next; each once in a call.
        let first = self.next_db.fetch_add(1, Ordering::Relaxed);
        for k in 0..dbs {
            let dbi = (first + k) % dbs;
            let db = ks.db(dbi);
            if !db.may_hold_keys() {
                continue;
            }
            let n = db.num_shards();
            let start = rand::random_range(..n);
            for k in 0..n {
                let key = {
                    let shard = db.lock_index((start + k) % n);
                    if shard.is_empty() || (volatile && shard.expires() == 0) {
                        continue;
                    }
                    let mut key = None;
                    shard.sample(rand::random(), 1, volatile, usize::MAX, &mut |e| {
                        key = Some(Box::<[u8]>::from(e.key()));
                    });
                    key
                };
                if let Some(key) = key {
                    if remove(dbi, &key, volatile) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// The oldest new key of the window of some shard (from a random one on), taken
/// out of the window: `(db, entry, frequency)`.
fn window_candidate(ks: &Keyspace) -> Option<(usize, Entry, u32)> {
    for dbi in 0..ks.num_dbs() {
        let db = ks.db(dbi);
        if !db.may_hold_keys() {
            continue;
        }
        let n = db.num_shards();
        let start = rand::random_range(..n);
        for k in 0..n {
            let mut shard = db.lock_index((start + k) % n);
            if shard.window_len() == 0 {
                continue;
            }
            if let Some((e, freq)) = shard.window_pop() {
                return Some((dbi, e, freq));
            }
        }
    }
    None
}

/// Puts a candidate into the pool (ascending by score, at most [`POOL_SIZE`]) if it
/// is better than the worst there, or the pool has room.
fn offer(pool: &mut Vec<Candidate>, score: u64, db: usize, key: &[u8]) {
    if pool.len() >= POOL_SIZE && pool[0].score >= score {
        return;
    }
    if let Some(i) = pool.iter().position(|p| p.db == db && *p.key == *key) {
        if pool[i].score == score {
            return;
        }
        pool.remove(i);
    }
    let at = pool.partition_point(|p| p.score < score);
    pool.insert(
        at,
        Candidate {
            score,
            db,
            key: key.into(),
        },
    );
    if pool.len() > POOL_SIZE {
        pool.remove(0);
    }
}

/// A uniform number in [0, 1) from a per-thread xorshift generator.
fn random_unit() -> f64 {
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            // Seeded from this thread's stack address and the time: distinct per thread.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64);
            x = (t ^ (&x as *const u64 as u64)) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry::new_str(b"k", b"v", None)
    }

    #[test]
    fn lru_words_are_seconds_of_last_access() {
        let clock = AccessClock::default();
        let e = entry();
        clock.start(&e, None, 10_000);
        assert_eq!(clock.idleness(&e, 15_000), 5);
        clock.touch(&e, 20_000);
        assert_eq!(clock.idleness(&e, 20_500), 0);
    }

    #[test]
    fn lfu_counters_start_at_five_grow_logarithmically_and_decay() {
        let clock = AccessClock::default();
        clock.set_lfu(true);
        let now = 1_000 * 60_000;
        let e = entry();
        clock.start(&e, None, now);
        assert_eq!(clock.frequency(&e, now), LFU_INIT_VAL);
        // With log factor 10, 100 hits bring the counter to about 10 (Redis's table:
        // 100 hits -> 10, 1000 -> 18 for factor 10), never past 255.
        for _ in 0..100 {
            clock.touch(&e, now);
        }
        let f = clock.frequency(&e, now);
        assert!((7..=14).contains(&f), "{f}");
        // One per minute idle (lfu-decay-time 1).
        assert_eq!(clock.frequency(&e, now + 3 * 60_000), f - 3);
        assert_eq!(clock.frequency(&e, now + 600 * 60_000), 0);
        assert_eq!(clock.idleness(&e, now), u64::from(255 - f));
        // A replacement inherits the counter (plus this access, maybe).
        let n = entry();
        clock.start(&n, Some(&e), now);
        assert!((f..=f + 1).contains(&clock.frequency(&n, now)));
        // No decay at lfu-decay-time 0.
        clock.set_lfu_params(10, 0);
        assert_eq!(clock.frequency(&e, now + 600 * 60_000), f);
    }
}
