//! The work of eviction against the server's state (see [`crate::evict`] for what
//! counts and which keys go): the OOM gate's step, the eviction thread, removals
//! announced through the write hook, and client eviction (`maxmemory-clients`).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::access::announce;
use crate::changes::{event, Change};
use crate::evict::{Evictor, Outcome, Policy};
use crate::memory;
use crate::state::{now_ms, Shared};

impl Evictor {
    /// A connection's buffers grew or shrank by `delta` bytes. Past
    /// `maxmemory-clients`, the biggest clients are disconnected.
    pub fn clients_changed(&self, shared: &Shared, delta: isize) {
        let total = self.clients_mem.fetch_add(delta, Ordering::Relaxed) + delta;
        let limit = self.clients_limit.load(Ordering::Relaxed);
        if delta > 0 && limit != 0 && total.max(0) as u64 > limit {
            self.evict_clients(shared, limit);
        }
    }

    /// Disconnects clients, those using the most memory first, until the clients'
    /// total is under `limit` (CLIENT NO-EVICT ones are spared), as Redis 7.0's
    /// client eviction.
    #[cold]
    fn evict_clients(&self, shared: &Shared, limit: u64) {
        let mut clients: Vec<_> = shared
            .clients
            .all()
            .into_iter()
            .filter(|c| !c.no_evict.load(Ordering::Relaxed) && !c.killed.load(Ordering::Relaxed))
            .map(|c| (c.memory(), c))
            .collect();
        clients.sort_by_key(|(mem, _)| std::cmp::Reverse(*mem));
        let mut total = self.clients_memory();
        for (mem, client) in clients {
            if total <= limit {
                break;
            }
            tracing::info!(
                id = client.id,
                mem,
                "evicting client over maxmemory-clients"
            );
            client.kill();
            self.evicted_clients.fetch_add(1, Ordering::Relaxed);
            total = total.saturating_sub(mem as u64);
        }
    }

    /// Frees memory until it is under the limit or the time budget is spent (Redis's
    /// `performEvictions`).
    pub fn perform(&self, shared: &Shared) -> Outcome {
        let limit = self.limit();
        if limit == 0 || shared.persistence.loading() {
            return Outcome::Ok;
        }
        let now = now_ms();
        if shared.blocking.pause_active(now) != crate::blocking::PauseKind::None {
            // The dataset stays as it is while clients are paused (Redis 7.0).
            return Outcome::Ok;
        }
        if self.counted(memory::used_here()) <= limit {
            self.update_exceeded(now, false);
            return Outcome::Ok;
        }
        let policy = self.policy();
        if policy == Policy::NoEviction {
            self.update_exceeded(now, true);
            return Outcome::Fail;
        }
        let started = Instant::now();
        let budget = self.time_budget();
        let mut freed_keys = 0u64;
        let outcome = loop {
            if !self.evict_one(shared, policy, now) {
                break if freed_keys > 0 {
                    Outcome::Running
                } else if self.counted(memory::used_here()) <= limit {
                    // The eviction thread (or another command) freed enough meanwhile.
                    Outcome::Ok
                } else {
                    Outcome::Fail
                };
            }
            freed_keys += 1;
            if self.counted(memory::used_here()) <= limit {
                break Outcome::Ok;
            }
            if freed_keys % 16 == 0 && started.elapsed() > budget {
                self.wake_background();
                break Outcome::Running;
            }
        };
        memory::flush_thread();
        self.update_exceeded(now, outcome != Outcome::Ok);
        outcome
    }

    /// Evicts one key; false when no candidate was found.
    fn evict_one(&self, shared: &Shared, policy: Policy, now: i64) -> bool {
        let samples = self.samples.load(Ordering::Relaxed);
        self.victims.evict_one(
            &shared.keyspace,
            policy,
            samples,
            now,
            &mut |db, key, volatile| self.remove(shared, db, key, volatile),
        )
    }

    /// Removes `key` from database `db` if it is still there (with a TTL, for a
    /// volatile policy), announcing the eviction; true if it was removed.
    fn remove(&self, shared: &Shared, db: usize, key: &[u8], volatile: bool) -> bool {
        let d = shared.keyspace.db(db);
        let h = d.hash(key);
        let gone = {
            let mut shard = d.lock(h);
            match shard.peek_any(h, key) {
                Some(e) if !volatile || e.expire_at().is_some() => {}
                _ => return false,
            }
            // Expired or not, it goes (an expired key is the cheapest victim).
            let gone = shard.take(h, key, i64::MIN).live();
            if gone.is_some() {
                announce(shared, Change::key(db, key, event::EVICTED));
            }
            gone
        };
        let Some(entry) = gone else {
            return false;
        };
        self.evicted_keys.fetch_add(1, Ordering::Relaxed);
        self.free(entry);
        true
    }

    /// The eviction thread: carries on evicting, in steps of the same time budget,
    /// while memory stays over the limit after a request's step ran out of time.
    pub fn background(&self, shared: &Shared) {
        let (lock, cv) = &self.wake;
        while !shared.shutting_down() {
            // The peak of used_memory is noted at least ten times a second.
            crate::process::note_peak(self.used_memory());
            {
                let mut pending = lock.lock();
                if !*pending {
                    cv.wait_for(&mut pending, Duration::from_millis(100));
                }
                *pending = false;
            }
            while !shared.shutting_down() && self.over() {
                match self.perform(shared) {
                    Outcome::Running => std::thread::yield_now(),
                    Outcome::Ok | Outcome::Fail => break,
                }
            }
        }
        memory::flush_thread();
    }
}
