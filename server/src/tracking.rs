//! Client-side caching: CLIENT TRACKING's server side (Redis 7.0's `tracking.c`).
//!
//! - **Default mode.** The keys a tracking client reads (the keys of a command
//!   flagged `readonly`, by the table's key specs) are remembered in the tracking
//!   table: key -> ids of the clients that may cache it. The key alone is the entry,
//!   whatever the database, as in Redis. The write hook ([`crate::access::announce`])
//!   calls [`Tracking::changed`] for every change; a key in the table is taken out of
//!   it and each client named there gets one invalidation, then is forgotten until it
//!   reads the key again. The table holds at most `tracking-table-max-keys` keys
//!   (0 = no limit): past it, random keys are taken out with their invalidations
//!   sent, as Redis's `trackingLimitUsedSlots`. Entries also go when the client turns
//!   tracking off, resets or disconnects (each client keeps the hashes of the keys
//!   it was added to, so that costs its own keys, not a walk of the table; Redis
//!   leaves them until the key changes).
//! - **BCAST mode.** Clients register prefixes (the empty prefix by default); every
//!   change to a key under a prefix is sent to the prefix's clients. Changes made by
//!   a command are gathered while it runs and sent when it ends, one message per
//!   prefix with the keys sorted and deduplicated (Redis gathers them per event-loop
//!   cycle, which may span several commands); changes from no command (the expiry
//!   thread, the eviction thread) are sent at once.
//! - **Delivery** ([`Tracking::deliver`]): a RESP3 connection gets
//!   `>2 invalidate [keys]` pushes; with REDIRECT they go to the other client, which
//!   in RESP2 must be subscribed (to anything: Redis's `CLIENT_PUBSUB`) and gets
//!   `message __redis__:invalidate [keys]`. FLUSHDB/FLUSHALL send a null
//!   invalidation to every tracking client ([`Tracking::flushed`]) and empty the
//!   table. A redirect to a client that left marks the client (`R`,
//!   `broken_redirect`) and, in RESP3, pushes `tracking-redir-broken <id>` to it.
//!   Pushes go through the receiving connection's push queue: a client's own
//!   invalidation is written right after the reply of the command that caused it
//!   (`net.rs` takes a tracking client's pushes after each command).
//! - **NOLOOP**: the client that makes a change is the one running the command on
//!   this thread ([`Tracking::scope`] marks it).
//!
//! With no tracking client, the write hook pays one relaxed load here.
//!
//! Locks: table shards (one mutex per 1/64 of the keys), the id -> client map and
//! the prefix list are leaves but for the client registry's lock and the push
//! queues, taken while delivering; the write hook calls in with a shard of the
//! keyspace locked, and nothing here locks a keyspace shard.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hashbrown::HashTable;
use parking_lot::{Mutex, RwLock};
use shoal_protocol::{Proto, ReplyBuf};

use crate::changes::{Change, REPLACED};
use crate::client::{
    ClientInfo, ClientRegistry, PushLimits, TrackingState, TRACK_BCAST, TRACK_BROKEN, TRACK_NOLOOP,
    TRACK_ON,
};

/// Shards of the tracking table (a power of two; picked by the top bits of the hash).
const SHARDS: usize = 64;
/// The Pub/Sub channel of invalidations redirected to a RESP2 connection.
pub const CHANNEL: &[u8] = b"__redis__:invalidate";
/// Most keys taken out in one go when the table is over its limit (Redis's effort
/// grows with each call; the limit is usually passed by one key at a time).
const LIMIT_EFFORT: usize = 1000;

/// One key of the tracking table and the clients that may cache it.
struct Slot {
    hash: u64,
    key: Box<[u8]>,
    ids: Vec<u64>,
}

/// The clients of one BCAST prefix.
struct Prefix {
    prefix: Box<[u8]>,
    clients: Vec<Arc<ClientInfo>>,
}

/// The server's tracking state (in `Shared`).
pub struct Tracking {
    /// Clients with tracking on (INFO `tracking_clients`; the write hook's check).
    clients: AtomicUsize,
    /// Tracking clients by id, for delivery.
    trackers: RwLock<HashMap<u64, Arc<ClientInfo>>>,
    hasher: foldhash::fast::RandomState,
    table: Box<[Mutex<HashTable<Slot>>]>,
    /// Keys in the table (INFO `tracking_total_keys`).
    keys: AtomicUsize,
    /// Client ids in the table, all keys together (`tracking_total_items`).
    items: AtomicUsize,
    /// BCAST prefixes, sorted (`tracking_total_prefixes` is their number).
    prefixes: RwLock<Vec<Prefix>>,
    prefix_count: AtomicUsize,
    /// `tracking-table-max-keys` (0 = no limit).
    max_keys: AtomicUsize,
    /// `client-output-buffer-limit` of normal clients, and of subscribers.
    limits: RwLock<(PushLimits, PushLimits)>,
}

impl Default for Tracking {
    fn default() -> Tracking {
        Tracking {
            clients: AtomicUsize::new(0),
            trackers: RwLock::default(),
            hasher: foldhash::fast::RandomState::default(),
            table: (0..SHARDS).map(|_| Mutex::default()).collect(),
            keys: AtomicUsize::new(0),
            items: AtomicUsize::new(0),
            prefixes: RwLock::default(),
            prefix_count: AtomicUsize::new(0),
            max_keys: AtomicUsize::new(1_000_000),
            limits: RwLock::new((PushLimits::default(), PushLimits::default())),
        }
    }
}

thread_local! {
    /// The client whose command runs on this thread (0 = none): the origin of the
    /// changes announced meanwhile (NOLOOP).
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    /// The current client's own entry was taken out of the table while its command
    /// ran (a lazy expiry during its read): its keys are remembered again after.
    static SELF_REMOVED: Cell<bool> = const { Cell::new(false) };
    /// BCAST changes gathered during the current command: key and origin.
    static PENDING: RefCell<Vec<(Box<[u8]>, u64)>> = const { RefCell::new(Vec::new()) };
}

/// What an invalidation carries.
enum Payload<'p> {
    /// These keys.
    Keys(&'p [&'p [u8]]),
    /// Everything (a flush): a null.
    All,
}

/// A command running on this thread for a client, while someone tracks (see
/// [`Tracking::scope`]); the outermost one sends the BCAST invalidations its
/// commands gathered when it ends.
pub struct Scope<'s> {
    tracking: &'s Tracking,
    clients: &'s ClientRegistry,
    prev: u64,
}

impl Scope<'_> {
    /// Whether the client's own entry for a key was taken out of the table since
    /// the scope began (its keys must be remembered again); clears the mark.
    pub fn take_self_removed(&self) -> bool {
        SELF_REMOVED.replace(false)
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        CURRENT.set(self.prev);
        if self.prev == 0 {
            SELF_REMOVED.set(false);
            let pending = PENDING.take();
            if !pending.is_empty() {
                self.tracking.broadcast(self.clients, pending);
            }
        }
    }
}

impl Tracking {
    /// Whether any client tracks (one relaxed load: the write hook's check).
    #[inline]
    pub fn active(&self) -> bool {
        self.clients.load(Ordering::Relaxed) != 0
    }

    /// INFO: tracking clients, keys, items, prefixes.
    pub fn stats(&self) -> (usize, usize, usize, usize) {
        (
            self.clients.load(Ordering::Relaxed),
            self.keys.load(Ordering::Relaxed),
            self.items.load(Ordering::Relaxed),
            self.prefix_count.load(Ordering::Relaxed),
        )
    }

    /// `tracking-table-max-keys` and the output-buffer limits invalidations are
    /// pushed under (`normal` class, `pubsub` class for a subscribed RESP2 target).
    /// A class without a hard limit (Redis's default for `normal`) still gets
    /// [`crate::monitor::PUSH_LIMIT`]: a client that never reads its invalidations
    /// is closed rather than grow the server's memory.
    pub fn configure(&self, max_keys: usize, normal: PushLimits, pubsub: PushLimits) {
        let capped = |mut l: PushLimits| {
            if l.hard == 0 {
                l.hard = crate::monitor::PUSH_LIMIT as u64;
            }
            l
        };
        let (normal, pubsub) = (capped(normal), capped(pubsub));
        self.max_keys.store(max_keys, Ordering::Relaxed);
        *self.limits.write() = (normal, pubsub);
    }

    /// Marks `id` as the client whose command runs on this thread until the scope
    /// ends (nested scopes, commands run by EXEC or a script, keep the outer one's
    /// gathering).
    pub fn scope<'s>(&'s self, clients: &'s ClientRegistry, id: u64) -> Scope<'s> {
        let prev = CURRENT.replace(id);
        Scope {
            tracking: self,
            clients,
            prev,
        }
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn shard(&self, hash: u64) -> &Mutex<HashTable<Slot>> {
        &self.table[(hash >> 58) as usize % SHARDS]
    }

    // ------------------------------------------------------------------------
    // CLIENT TRACKING ON / OFF
    // ------------------------------------------------------------------------

    /// CLIENT TRACKING ON (options already checked): turns tracking on for `info`
    /// (or changes its options), with `redirect` (0 = none), BCAST `prefixes` (the
    /// empty prefix when none is given) added to those it has.
    pub fn enable(
        &self,
        info: &Arc<ClientInfo>,
        state: &mut Option<Box<TrackingState>>,
        redirect: u64,
        opts: TrackOptions,
        prefixes: &[&[u8]],
    ) {
        let st = state.get_or_insert_with(Box::default);
        let was_on = info.tracking_flags() & TRACK_ON != 0;
        let mut flags = TRACK_ON;
        if opts.bcast {
            flags |= TRACK_BCAST;
        }
        if opts.noloop {
            flags |= TRACK_NOLOOP;
        }
        info.tracking_redirect.store(redirect, Ordering::Relaxed);
        info.tracking.store(flags, Ordering::Relaxed);
        st.bcast = opts.bcast;
        st.optin = opts.optin;
        st.optout = opts.optout;
        if opts.bcast {
            let empty: [&[u8]; 1] = [b""];
            let wanted = if prefixes.is_empty() {
                &empty[..]
            } else {
                prefixes
            };
            let mut table = self.prefixes.write();
            for &p in wanted {
                if let Err(at) = st.prefixes.binary_search_by(|x| (**x).cmp(p)) {
                    st.prefixes.insert(at, p.into());
                    match table.binary_search_by(|x| (*x.prefix).cmp(p)) {
                        Ok(i) => table[i].clients.push(Arc::clone(info)),
                        Err(i) => table.insert(
                            i,
                            Prefix {
                                prefix: p.into(),
                                clients: vec![Arc::clone(info)],
                            },
                        ),
                    }
                }
            }
            self.prefix_count.store(table.len(), Ordering::Relaxed);
        }
        if !was_on {
            self.trackers.write().insert(info.id, Arc::clone(info));
            self.clients.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// CLIENT TRACKING OFF, RESET, a disconnect: leaves the prefixes, takes the
    /// client out of every key it was remembered for, clears its flags.
    pub fn disable(&self, info: &ClientInfo, state: &mut Option<Box<TrackingState>>) {
        let Some(mut st) = state.take() else {
            return;
        };
        if !st.prefixes.is_empty() {
            let mut table = self.prefixes.write();
            for p in &st.prefixes {
                if let Ok(i) = table.binary_search_by(|x| x.prefix.cmp(p)) {
                    table[i].clients.retain(|c| c.id != info.id);
                    if table[i].clients.is_empty() {
                        table.remove(i);
                    }
                }
            }
            self.prefix_count.store(table.len(), Ordering::Relaxed);
        }
        self.forget(info, &mut st.hashes);
        if info.tracking.swap(0, Ordering::Relaxed) & TRACK_ON != 0 {
            self.trackers.write().remove(&info.id);
            self.clients.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Takes client `info` out of the keys whose hashes are `hashes`.
    fn forget(&self, info: &ClientInfo, hashes: &mut Vec<u64>) {
        hashes.sort_unstable();
        hashes.dedup();
        let id = info.id;
        for h in hashes.drain(..) {
            let mut t = self.shard(h).lock();
            let mut emptied = false;
            for slot in t.iter_hash_mut(h) {
                if slot.hash != h {
                    continue;
                }
                if let Some(p) = slot.ids.iter().position(|&x| x == id) {
                    slot.ids.swap_remove(p);
                    self.items.fetch_sub(1, Ordering::Relaxed);
                    info.tracking_items.fetch_sub(1, Ordering::Relaxed);
                    emptied |= slot.ids.is_empty();
                }
            }
            while emptied {
                match t.find_entry(h, |s| s.hash == h && s.ids.is_empty()) {
                    Ok(e) => {
                        e.remove();
                        self.keys.fetch_sub(1, Ordering::Relaxed);
                    }
                    Err(_) => emptied = false,
                }
            }
        }
    }

    // ------------------------------------------------------------------------
    // Reads: remembering keys
    // ------------------------------------------------------------------------

    /// Remembers that client `info` (whose own state is `st`) read `keys`, then
    /// keeps the table within `tracking-table-max-keys`.
    pub fn remember<'k>(
        &self,
        clients: &ClientRegistry,
        info: &ClientInfo,
        st: &mut TrackingState,
        keys: impl Iterator<Item = &'k [u8]>,
    ) {
        let id = info.id;
        for key in keys {
            let hash = self.hash(key);
            let mut t = self.shard(hash).lock();
            match t.find_mut(hash, |s| s.hash == hash && *s.key == *key) {
                Some(slot) => {
                    if slot.ids.contains(&id) {
                        continue;
                    }
                    slot.ids.push(id);
                }
                None => {
                    t.insert_unique(
                        hash,
                        Slot {
                            hash,
                            key: key.into(),
                            ids: vec![id],
                        },
                        |s| s.hash,
                    );
                    self.keys.fetch_add(1, Ordering::Relaxed);
                }
            }
            // Counted under the lock: whoever takes the slot out subtracts after.
            self.items.fetch_add(1, Ordering::Relaxed);
            info.tracking_items.fetch_add(1, Ordering::Relaxed);
            drop(t);
            st.hashes.push(hash);
        }
        self.limit(clients);
        // Invalidations take entries out without telling the client: drop the
        // hashes it no longer has an entry for once they are most of its list.
        let live = info.tracking_items.load(Ordering::Relaxed);
        if st.hashes.len() > 2 * live + 64 {
            self.prune(id, &mut st.hashes);
        }
    }

    /// Keeps in `hashes` only those of keys that still name client `id`.
    fn prune(&self, id: u64, hashes: &mut Vec<u64>) {
        hashes.sort_unstable();
        hashes.dedup();
        hashes.retain(|&h| {
            self.shard(h)
                .lock()
                .iter_hash(h)
                .any(|s| s.hash == h && s.ids.contains(&id))
        });
    }

    /// Takes random keys out of the table, sending their invalidations, until it
    /// holds at most `tracking-table-max-keys` (or [`LIMIT_EFFORT`] keys went).
    fn limit(&self, clients: &ClientRegistry) {
        let max = self.max_keys.load(Ordering::Relaxed);
        if max == 0 {
            return;
        }
        let mut effort = 0;
        while self.keys.load(Ordering::Relaxed) > max && effort < LIMIT_EFFORT {
            effort += 1;
            let r: u64 = rand::random();
            let slot = {
                let mut t = self.table[(r as usize) % SHARDS].lock();
                let n = t.num_buckets();
                if t.is_empty() || n == 0 {
                    continue;
                }
                let start = ((r >> 8) as usize) % n;
                let Some(at) = (0..n)
                    .map(|i| (start + i) % n)
                    .find(|&i| t.get_bucket(i).is_some())
                else {
                    continue;
                };
                match t.get_bucket_entry(at) {
                    Ok(e) => e.remove().0,
                    Err(_) => continue,
                }
            };
            self.taken_out(clients, slot, 0);
        }
    }

    // ------------------------------------------------------------------------
    // Changes
    // ------------------------------------------------------------------------

    /// The write hook's part (only called while someone tracks): a key changed,
    /// so its trackers are told and forgotten, and it is gathered for BCAST; a
    /// database replaced as a whole (SNAPSHOT RESTORE, the dump's load) is a flush
    /// to caches. FLUSHDB/FLUSHALL call [`Tracking::flushed`] themselves (once per
    /// command, even for an empty database, as Redis); SWAPDB invalidates nothing,
    /// as in Redis 7.0 (the table has no databases).
    pub fn changed(&self, clients: &ClientRegistry, change: &Change<'_>) {
        match *change {
            Change::Key { key, .. } => {
                let origin = CURRENT.get();
                if self.prefix_count.load(Ordering::Relaxed) != 0 {
                    if origin != 0 {
                        PENDING.with_borrow_mut(|p| p.push((key.into(), origin)));
                    } else {
                        self.broadcast(clients, vec![(key.into(), 0)]);
                    }
                }
                if self.keys.load(Ordering::Relaxed) != 0 {
                    self.invalidate(clients, key, origin);
                }
            }
            Change::Db { event, .. } if event == REPLACED => self.flushed(clients),
            Change::Db { .. } => {}
        }
    }

    /// Takes `key` out of the table and tells the clients it named.
    fn invalidate(&self, clients: &ClientRegistry, key: &[u8], origin: u64) {
        let hash = self.hash(key);
        let slot = {
            let mut t = self.shard(hash).lock();
            match t.find_entry(hash, |s| s.hash == hash && *s.key == *key) {
                Ok(e) => e.remove().0,
                Err(_) => return,
            }
        };
        if origin != 0 && slot.ids.contains(&origin) {
            SELF_REMOVED.set(true);
        }
        self.taken_out(clients, slot, origin);
    }

    /// A slot left the table: counts it and sends its invalidations (not to
    /// `origin` if it is NOLOOP, nor to a client now in BCAST mode or no longer
    /// tracking, as Redis's `trackingInvalidateKey`).
    fn taken_out(&self, clients: &ClientRegistry, slot: Slot, origin: u64) {
        self.keys.fetch_sub(1, Ordering::Relaxed);
        self.items.fetch_sub(slot.ids.len(), Ordering::Relaxed);
        let keys: [&[u8]; 1] = [&slot.key];
        for id in slot.ids {
            let Some(c) = self.trackers.read().get(&id).cloned() else {
                continue;
            };
            c.tracking_items.fetch_sub(1, Ordering::Relaxed);
            let flags = c.tracking_flags();
            if flags & TRACK_ON == 0 || flags & TRACK_BCAST != 0 {
                continue;
            }
            if flags & TRACK_NOLOOP != 0 && id == origin {
                continue;
            }
            self.deliver(clients, &c, &Payload::Keys(&keys));
        }
    }

    /// Sends the BCAST invalidations of `pending` (key, origin): one message per
    /// prefix and client, the matching keys sorted and deduplicated (a NOLOOP client
    /// does not get the keys it was the last to change).
    fn broadcast(&self, clients: &ClientRegistry, mut pending: Vec<(Box<[u8]>, u64)>) {
        // Sorted by key, the last change of each key kept (its origin counts).
        pending.reverse();
        pending.sort_by(|a, b| a.0.cmp(&b.0));
        pending.dedup_by(|later, first| later.0 == first.0);
        let table = self.prefixes.read();
        for p in table.iter() {
            let matching: Vec<&(Box<[u8]>, u64)> = pending
                .iter()
                .filter(|(k, _)| k.starts_with(&p.prefix))
                .collect();
            if matching.is_empty() {
                continue;
            }
            let all: Vec<&[u8]> = matching.iter().map(|(k, _)| &**k).collect();
            for c in &p.clients {
                if c.tracking_flags() & TRACK_NOLOOP != 0 {
                    let own: Vec<&[u8]> = matching
                        .iter()
                        .filter(|(_, o)| *o != c.id)
                        .map(|(k, _)| &**k)
                        .collect();
                    if !own.is_empty() {
                        self.deliver(clients, c, &Payload::Keys(&own));
                    }
                } else {
                    self.deliver(clients, c, &Payload::Keys(&all));
                }
            }
        }
    }

    /// FLUSHDB, FLUSHALL (and a database replaced whole): every tracking client
    /// gets a null invalidation ("drop everything"), in id order, and the table is
    /// emptied.
    pub fn flushed(&self, clients: &ClientRegistry) {
        if !self.active() {
            return;
        }
        // The table is emptied first: a key remembered meanwhile either goes with
        // it (and the null that follows drops its cached value) or stays tracked.
        for shard in self.table.iter() {
            let old = std::mem::take(&mut *shard.lock());
            let items: usize = old.iter().map(|s| s.ids.len()).sum();
            self.keys.fetch_sub(old.len(), Ordering::Relaxed);
            self.items.fetch_sub(items, Ordering::Relaxed);
            for slot in old {
                for id in slot.ids {
                    if let Some(c) = self.trackers.read().get(&id) {
                        c.tracking_items.fetch_sub(1, Ordering::Relaxed);
                    }
                }
            }
        }
        let mut all: Vec<Arc<ClientInfo>> = self.trackers.read().values().cloned().collect();
        all.sort_by_key(|c| c.id);
        for c in &all {
            self.deliver(clients, c, &Payload::All);
        }
    }

    // ------------------------------------------------------------------------
    // Delivery
    // ------------------------------------------------------------------------

    /// Sends one invalidation for tracking client `c` (Redis's
    /// `sendTrackingMessage`): to its redirect target if it has one (marking the
    /// redirect broken, and telling a RESP3 `c` so, when the target has gone), as a
    /// RESP3 push, or as a Pub/Sub message on [`CHANNEL`] to a subscribed RESP2
    /// target; a RESP2 client without a redirect gets nothing.
    fn deliver(&self, clients: &ClientRegistry, c: &ClientInfo, payload: &Payload<'_>) {
        let (normal, pubsub) = *self.limits.read();
        let redirect = c.tracking_redirect.load(Ordering::Relaxed);
        let target;
        let to: &ClientInfo = if redirect != 0 {
            match clients.get(redirect) {
                Some(t) => {
                    target = t;
                    &target
                }
                None => {
                    c.tracking.fetch_or(TRACK_BROKEN, Ordering::Relaxed);
                    if !c.resp_is_2() {
                        let mut out = ReplyBuf::new(Proto::Resp3);
                        out.push(2);
                        out.bulk(b"tracking-redir-broken");
                        out.int(redirect as i64);
                        c.push_limited(Bytes::copy_from_slice(out.as_bytes()), &normal);
                    }
                    return;
                }
            }
        } else {
            c
        };
        let (mut out, limits) = if !to.resp_is_2() {
            let mut out = ReplyBuf::new(Proto::Resp3);
            out.push(2);
            out.bulk(b"invalidate");
            (out, &normal)
        } else if redirect != 0 && to.subscribed() {
            let mut out = ReplyBuf::new(Proto::Resp2);
            out.array(3);
            out.bulk(b"message");
            out.bulk(CHANNEL);
            (out, &pubsub)
        } else {
            return;
        };
        match payload {
            Payload::Keys(keys) => {
                out.array(keys.len());
                for k in keys.iter() {
                    out.bulk(k);
                }
            }
            // Redis writes the tracking client's null: RESP3's `_` only when both
            // sides speak RESP3 (a RESP3 client redirecting to a RESP2 subscriber
            // would otherwise break that connection's protocol).
            Payload::All => {
                if c.resp_is_2() || to.resp_is_2() {
                    out.raw(b"$-1\r\n");
                } else {
                    out.raw(b"_\r\n");
                }
            }
        }
        to.push_limited(Bytes::copy_from_slice(out.as_bytes()), limits);
    }
}

/// CLIENT TRACKING ON's mode options.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrackOptions {
    /// BCAST.
    pub bcast: bool,
    /// OPTIN.
    pub optin: bool,
    /// OPTOUT.
    pub optout: bool,
    /// NOLOOP.
    pub noloop: bool,
}

/// Whether one of two prefixes starts the other (Redis's `stringCheckPrefix`).
pub fn overlaps(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_overlap_when_one_starts_the_other() {
        assert!(overlaps(b"a", b"ab"));
        assert!(overlaps(b"ab", b"a"));
        assert!(overlaps(b"", b"x"));
        assert!(overlaps(b"a", b"a"));
        assert!(!overlaps(b"ab", b"ac"));
    }
}
