//! Per-command statistics without a cache line every thread writes.
//!
//! Every command bumps several counters (INFO `total_commands_processed`,
//! commandstats, keyspace hits/misses, the dirty count, network bytes). Kept in
//! shared atomics, each of those is a read-modify-write on a cache line that bounces
//! between cores on every command. Here each thread writes its own [`Slot`] (a
//! cache-line-aligned block allocated on the thread's first use), and readers (INFO,
//! save points, CONFIG RESETSTAT) sum the slots.
//!
//! - **Thread index.** A thread takes a process-wide index the first time it counts
//!   anything (the lowest free one; given back when the thread exits, handed on under
//!   a lock, so the next owner sees every count of the previous one). Index `i` is
//!   slot `i` of every [`Counters`] (two servers in one process keep separate
//!   statistics): a thread owns its slot alone, so an update is a plain load and
//!   store, no locked instruction. Threads beyond [`SLOTS`], or a thread whose index
//!   is already gone (thread-local destructors), share one overflow slot and add
//!   with `fetch_add`.
//! - **Exact sums.** A count is stored before the command's reply is written, so a
//!   reader that runs after a client saw a reply sees its count.
//! - **Reset** (CONFIG RESETSTAT) keeps a baseline, the sums at reset time, that
//!   readers subtract: the slots are never written by another thread. The dirty
//!   count is not a statistic and is never reset here; persistence keeps its own
//!   baseline ([`Counters::dirty_total`] at the start of the last successful save).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Threads that get a slot of their own; others share the overflow slot.
pub const SLOTS: usize = 256;

/// The overflow slot's index.
const OVERFLOW: usize = SLOTS;

/// Server-wide counters of a slot, by position.
const COMMANDS: usize = 0;
const REJECTED: usize = 1;
const FAILED: usize = 2;
const HITS: usize = 3;
const MISSES: usize = 4;
const DIRTY: usize = 5;
const NET_INPUT: usize = 6;
const NET_OUTPUT: usize = 7;
const ERROR_REPLIES: usize = 8;
const READS: usize = 9;
const WRITES: usize = 10;
const FIXED: usize = 11;

/// Distinct error codes INFO errorstats tracks. Redis 7.0 tracks any number; a
/// script can make up codes (`{err='X1 ...'}`, `{err='X2 ...'}`...), so Shoal keeps
/// Redis 7.2's bound: replies with a code past it still count in
/// `total_error_replies`, not in errorstats (a warning is logged once).
pub const ERROR_CODES: usize = 128;

/// The code INFO errorstats files an error reply under, as Redis's
/// `afterErrorReply` finds it in the reply line `-<text>`: the bytes up to the
/// first space within its first 32 bytes (the dash included), else `ERR`.
pub fn error_code(text: &[u8]) -> &[u8] {
    match text[..text.len().min(31)].iter().position(|&b| b == b' ') {
        Some(end) => &text[..end],
        None => crate::error::ERR_CODE,
    }
}

/// Error replies by code (INFO errorstats), since start or the last reset.
#[derive(Default)]
struct ErrorCodes {
    counts: std::collections::HashMap<Box<[u8]>, u64>,
    /// The warning about [`ERROR_CODES`] was logged.
    warned: bool,
}

/// Latency histogram buckets per command: bucket `b` (`b` < [`LATENCY_BUCKETS`] - 1)
/// counts calls that took at most 2^`b` microseconds (and more than 2^(`b`-1)); the
/// last bucket counts the rest. Redis's LATENCY HISTOGRAM reports the same
/// power-of-two microsecond buckets.
pub const LATENCY_BUCKETS: usize = 26;

/// The histogram bucket of a call that took `ns` nanoseconds.
#[inline]
pub fn latency_bucket(ns: u64) -> usize {
    let us = ns.div_ceil(1000);
    if us <= 1 {
        return 0;
    }
    ((64 - (us - 1).leading_zeros()) as usize).min(LATENCY_BUCKETS - 1)
}

/// The upper bound of histogram bucket `b`, microseconds (`None` for the last one).
pub fn latency_bucket_bound_us(b: usize) -> Option<u64> {
    (b + 1 < LATENCY_BUCKETS).then(|| 1u64 << b)
}

/// The `p`th percentile (0-100) of a histogram's calls, microseconds: the bucket
/// holding that rank, interpolated linearly within it (a bucket spans a factor of 2;
/// Redis's HDR histogram is finer). `None` without calls.
pub fn latency_percentile_us(hist: &[u64; LATENCY_BUCKETS], p: f64) -> Option<f64> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut before = 0u64;
    for (b, &n) in hist.iter().enumerate() {
        if n > 0 && before + n >= rank {
            let low = if b == 0 {
                0.0
            } else {
                (1u64 << (b - 1)) as f64
            };
            let Some(high) = latency_bucket_bound_us(b) else {
                return Some(low);
            };
            let within = (rank - before) as f64 / n as f64;
            return Some(low + (high as f64 - low) * within);
        }
        before += n;
    }
    None
}

/// Counters of one command in one slot.
#[derive(Default)]
struct CommandSlot {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
}

/// Four commands' counters: 128 bytes, aligned, so a slot's per-command array
/// shares no cache line with another allocation.
#[derive(Default)]
#[repr(align(128))]
struct CommandBlock([CommandSlot; 4]);

/// One thread's counters.
#[repr(align(128))]
struct Slot {
    fixed: [AtomicU64; FIXED],
    commands: Box<[CommandBlock]>,
    /// Each command's latency histogram (see [`LATENCY_BUCKETS`]).
    latency: Box<[[AtomicU64; LATENCY_BUCKETS]]>,
}

impl Slot {
    fn new(commands: usize) -> Slot {
        Slot {
            fixed: Default::default(),
            commands: (0..commands.div_ceil(4))
                .map(|_| CommandBlock::default())
                .collect(),
            latency: (0..commands).map(|_| Default::default()).collect(),
        }
    }

    #[inline]
    fn command(&self, i: usize) -> &CommandSlot {
        &self.commands[i / 4].0[i % 4]
    }
}

/// What one command counted while it ran, published by dispatch in one go when it
/// is done (no shared counter touched per lookup).
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Changes to the dataset (Redis's `server.dirty` increments).
    pub dirty: u64,
    /// Read lookups that found their key (INFO `keyspace_hits`).
    pub hits: u64,
    /// Read lookups that did not (INFO `keyspace_misses`).
    pub misses: u64,
    /// The command failed although its handler returned `Ok`: a script whose reply
    /// holds an error, or that made errors of its own (Redis counts it in
    /// `failed_calls`).
    pub failed: bool,
}

/// Process-wide thread indices: the next never used, and those given back.
struct Indices {
    next: usize,
    free: Vec<usize>,
}

static INDICES: Mutex<Indices> = Mutex::new(Indices {
    next: 0,
    free: Vec::new(),
});

/// Not yet claimed.
const UNSET: usize = usize::MAX;

fn claim_index() -> usize {
    let mut ids = INDICES.lock().unwrap_or_else(|e| e.into_inner());
    // The lowest free index: indices stay dense, slots few.
    match ids.free.iter().enumerate().min_by_key(|(_, i)| **i) {
        Some((at, _)) => ids.free.swap_remove(at),
        None if ids.next < SLOTS => {
            ids.next += 1;
            ids.next - 1
        }
        None => OVERFLOW,
    }
}

fn free_index(i: usize) {
    let mut ids = INDICES.lock().unwrap_or_else(|e| e.into_inner());
    ids.free.push(i);
}

/// Gives the thread's index back when the thread exits.
struct Guard(Cell<usize>);

impl Drop for Guard {
    fn drop(&mut self) {
        let i = self.0.replace(UNSET);
        if i != UNSET {
            // Whatever this thread still counts goes to the shared slot.
            INDEX.set(OVERFLOW);
            free_index(i);
        }
    }
}

thread_local! {
    /// This thread's index (no destructor: readable until the thread is gone).
    static INDEX: Cell<usize> = const { Cell::new(UNSET) };
    static GUARD: Guard = const { Guard(Cell::new(UNSET)) };
}

/// This thread's slot index ([`OVERFLOW`] when it has none).
#[inline]
fn thread_index() -> usize {
    match INDEX.get() {
        UNSET => first_use(),
        i => i,
    }
}

#[cold]
fn first_use() -> usize {
    let mut i = claim_index();
    if i != OVERFLOW && GUARD.try_with(|g| g.0.set(i)).is_err() {
        // The thread is exiting: nothing would give the index back.
        free_index(i);
        i = OVERFLOW;
    }
    INDEX.set(i);
    i
}

/// Sums of the server-wide counters (since start or the last reset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Commands processed (INFO `total_commands_processed`).
    pub commands: u64,
    /// Commands refused before running.
    pub rejected_calls: u64,
    /// Commands that replied with an error.
    pub failed_calls: u64,
    /// Successful key lookups by read commands.
    pub keyspace_hits: u64,
    /// Failed key lookups by read commands.
    pub keyspace_misses: u64,
    /// Bytes read from clients.
    pub net_input_bytes: u64,
    /// Bytes written to clients.
    pub net_output_bytes: u64,
    /// Error replies sent (INFO `total_error_replies`): refusals, failed commands,
    /// errors inside EXEC and scripts, protocol errors.
    pub error_replies: u64,
    /// Socket reads that brought client bytes (INFO `total_reads_processed`).
    pub reads: u64,
    /// Socket writes that took reply bytes (INFO `total_writes_processed`).
    pub writes: u64,
}

/// Sums of one command's counters (INFO commandstats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommandTotals {
    /// Completed calls (failed ones included, as Redis counts them).
    pub calls: u64,
    /// Microseconds spent.
    pub usec: u64,
    /// Calls refused before running (arity, auth...).
    pub rejected: u64,
    /// Calls that ran and replied with an error.
    pub failed: u64,
}

/// Raw sums over every slot (nothing subtracted).
struct Sums {
    fixed: [u64; FIXED],
    commands: Vec<CommandTotals>,
    latency: Vec<[u64; LATENCY_BUCKETS]>,
}

/// A server's counters: one slot per thread that counted something for it.
pub struct Counters {
    slots: Box<[OnceLock<Box<Slot>>]>,
    commands: usize,
    /// The sums at the last reset, subtracted by readers.
    baseline: Mutex<Sums>,
    /// Error replies by code: shared (error replies are rare next to commands, and
    /// formatting one costs more than this lock).
    errors: Mutex<ErrorCodes>,
}

impl Counters {
    /// Counters for a command table of `commands` rows.
    pub fn new(commands: usize) -> Counters {
        Counters {
            slots: (0..=SLOTS).map(|_| OnceLock::new()).collect(),
            commands,
            baseline: Mutex::new(Sums {
                fixed: [0; FIXED],
                commands: vec![CommandTotals::default(); commands],
                latency: vec![[0; LATENCY_BUCKETS]; commands],
            }),
            errors: Mutex::new(ErrorCodes::default()),
        }
    }

    /// An error reply `text` (its code first: `ERR ...`, `WRONGTYPE ...`) was sent:
    /// INFO `total_error_replies` and errorstats count it (Redis's `afterErrorReply`).
    pub fn error_reply(&self, text: &[u8]) {
        self.local().add_fixed(ERROR_REPLIES, 1);
        let code = error_code(text);
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = errors.counts.get_mut(code) {
            *n += 1;
        } else if errors.counts.len() < ERROR_CODES {
            errors.counts.insert(code.into(), 1);
        } else if !errors.warned {
            errors.warned = true;
            tracing::warn!(
                "errorstats tracks at most {ERROR_CODES} distinct error codes: new ones are counted only in total_error_replies until CONFIG RESETSTAT"
            );
        }
    }

    /// Error replies by code, sorted by code (INFO errorstats), since start or the
    /// last reset.
    pub fn error_codes(&self) -> Vec<(Vec<u8>, u64)> {
        let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<(Vec<u8>, u64)> = errors
            .counts
            .iter()
            .map(|(k, &n)| (k.to_vec(), n))
            .collect();
        v.sort_unstable();
        v
    }

    /// The calling thread's writer. Cheap (a thread-local read); take it where the
    /// count happens, never keep it across an `.await` (it is not `Send`).
    #[inline]
    pub fn local(&self) -> Local<'_> {
        let i = thread_index();
        Local {
            slot: self.slots[i].get_or_init(|| Box::new(Slot::new(self.commands))),
            exclusive: i != OVERFLOW,
            _not_send: std::marker::PhantomData,
        }
    }

    fn sums(&self) -> Sums {
        let mut s = Sums {
            fixed: [0; FIXED],
            commands: vec![CommandTotals::default(); self.commands],
            latency: vec![[0; LATENCY_BUCKETS]; self.commands],
        };
        for slot in self.slots.iter().filter_map(OnceLock::get) {
            for (sum, c) in s.fixed.iter_mut().zip(&slot.fixed) {
                *sum += c.load(Ordering::Relaxed);
            }
            for (i, sum) in s.commands.iter_mut().enumerate() {
                let c = slot.command(i);
                sum.calls += c.calls.load(Ordering::Relaxed);
                sum.usec += c.usec.load(Ordering::Relaxed);
                sum.rejected += c.rejected.load(Ordering::Relaxed);
                sum.failed += c.failed.load(Ordering::Relaxed);
            }
            for (sum, h) in s.latency.iter_mut().zip(slot.latency.iter()) {
                for (b, c) in sum.iter_mut().zip(h) {
                    *b += c.load(Ordering::Relaxed);
                }
            }
        }
        s
    }

    fn baseline(&self) -> std::sync::MutexGuard<'_, Sums> {
        self.baseline.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The server-wide counters since start or the last [`Counters::reset`].
    pub fn totals(&self) -> Totals {
        let f = self.fixed_since_reset();
        Totals {
            commands: f[COMMANDS],
            rejected_calls: f[REJECTED],
            failed_calls: f[FAILED],
            keyspace_hits: f[HITS],
            keyspace_misses: f[MISSES],
            net_input_bytes: f[NET_INPUT],
            net_output_bytes: f[NET_OUTPUT],
            error_replies: f[ERROR_REPLIES],
            reads: f[READS],
            writes: f[WRITES],
        }
    }

    fn fixed_since_reset(&self) -> [u64; FIXED] {
        let base = self.baseline();
        let mut fixed = [0; FIXED];
        for slot in self.slots.iter().filter_map(OnceLock::get) {
            for (sum, c) in fixed.iter_mut().zip(&slot.fixed) {
                *sum += c.load(Ordering::Relaxed);
            }
        }
        for (sum, b) in fixed.iter_mut().zip(&base.fixed) {
            *sum = sum.saturating_sub(*b);
        }
        fixed
    }

    /// Every command's counters, in table order, since start or the last reset.
    pub fn commands(&self) -> Vec<CommandTotals> {
        let base = self.baseline();
        let mut sums = self.sums().commands;
        for (s, b) in sums.iter_mut().zip(&base.commands) {
            s.calls = s.calls.saturating_sub(b.calls);
            s.usec = s.usec.saturating_sub(b.usec);
            s.rejected = s.rejected.saturating_sub(b.rejected);
            s.failed = s.failed.saturating_sub(b.failed);
        }
        sums
    }

    /// Every command's latency histogram, in table order, since start or the last
    /// reset (bucket counts, not cumulative; see [`LATENCY_BUCKETS`]).
    pub fn latency(&self) -> Vec<[u64; LATENCY_BUCKETS]> {
        let base = self.baseline();
        let mut sums = self.sums().latency;
        for (s, b) in sums.iter_mut().zip(&base.latency) {
            for (x, y) in s.iter_mut().zip(b) {
                *x = x.saturating_sub(*y);
            }
        }
        sums
    }

    /// Changes to the dataset counted since start (never reset: persistence
    /// subtracts what its last successful save covered).
    pub fn dirty_total(&self) -> u64 {
        self.slots
            .iter()
            .filter_map(OnceLock::get)
            .map(|s| s.fixed[DIRTY].load(Ordering::Relaxed))
            .sum()
    }

    /// Zeroes the statistics (CONFIG RESETSTAT): what is counted from now on is
    /// what readers see. The dirty count is left alone.
    pub fn reset(&self) {
        let mut base = self.baseline();
        let mut now = self.sums();
        now.fixed[DIRTY] = 0;
        *base = now;
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        *errors = ErrorCodes::default();
    }
}

/// An add by the slot's only writer: no locked instruction.
#[inline(always)]
fn plain_add(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// An add to the shared overflow slot.
#[inline(always)]
fn atomic_add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// One thread's writer into its slot of a [`Counters`].
pub struct Local<'a> {
    slot: &'a Slot,
    /// Only this thread writes the slot: a plain load and store suffice.
    exclusive: bool,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Local<'_> {
    /// Adds `n` to `c`, a counter of this slot.
    #[inline]
    fn add(&self, c: &AtomicU64, n: u64) {
        if self.exclusive {
            plain_add(c, n);
        } else {
            atomic_add(c, n);
        }
    }

    /// A command of table row `idx` ran for `ns` nanoseconds, `failed` or not,
    /// making `dirty` changes to the dataset.
    #[inline]
    pub fn command(&self, idx: usize, ns: u64, failed: bool, tally: &Tally) {
        // One branch on the slot's kind for the whole update.
        if self.exclusive {
            self.command_with(plain_add, idx, ns, failed, tally);
        } else {
            self.command_with(atomic_add, idx, ns, failed, tally);
        }
    }

    /// What a command counted without completing (it parked): its changes and
    /// lookups.
    pub fn tally(&self, tally: &Tally) {
        if self.exclusive {
            self.tally_with(plain_add, tally);
        } else {
            self.tally_with(atomic_add, tally);
        }
    }

    #[inline(always)]
    fn tally_with(&self, add: fn(&AtomicU64, u64), tally: &Tally) {
        let f = &self.slot.fixed;
        if tally.dirty != 0 {
            add(&f[DIRTY], tally.dirty);
        }
        if tally.hits != 0 {
            add(&f[HITS], tally.hits);
        }
        if tally.misses != 0 {
            add(&f[MISSES], tally.misses);
        }
    }

    #[inline(always)]
    fn command_with(
        &self,
        add: fn(&AtomicU64, u64),
        idx: usize,
        ns: u64,
        failed: bool,
        tally: &Tally,
    ) {
        let c = self.slot.command(idx);
        let f = &self.slot.fixed;
        add(&c.calls, 1);
        add(&c.usec, ns / 1000);
        add(&self.slot.latency[idx][latency_bucket(ns)], 1);
        add(&f[COMMANDS], 1);
        if failed {
            add(&c.failed, 1);
            add(&f[FAILED], 1);
        }
        self.tally_with(add, tally);
    }

    /// Adds `n` to server-wide counter `which`.
    #[inline]
    fn add_fixed(&self, which: usize, n: u64) {
        self.add(&self.slot.fixed[which], n);
    }

    /// A command was refused before running (`idx`: its row, when known).
    pub fn rejected(&self, idx: Option<usize>) {
        if let Some(i) = idx {
            self.add(&self.slot.command(i).rejected, 1);
        }
        self.add(&self.slot.fixed[REJECTED], 1);
    }

    /// A read lookup found its key (`hit`) or not.
    #[inline]
    pub fn keyspace(&self, hit: bool) {
        self.add(&self.slot.fixed[if hit { HITS } else { MISSES }], 1);
    }

    /// `n` changes to the dataset (Redis's `server.dirty += n`).
    #[inline]
    pub fn dirty(&self, n: u64) {
        self.add(&self.slot.fixed[DIRTY], n);
    }

    /// `n` bytes read from a client, by one socket read.
    #[inline]
    pub fn net_input(&self, n: u64) {
        self.add(&self.slot.fixed[NET_INPUT], n);
        self.add(&self.slot.fixed[READS], 1);
    }

    /// `n` bytes written to a client, by one socket write.
    #[inline]
    pub fn net_output(&self, n: u64) {
        self.add(&self.slot.fixed[NET_OUTPUT], n);
        self.add(&self.slot.fixed[WRITES], 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    fn hammer(c: &Arc<Counters>, threads: usize, per_thread: u64) {
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let c = Arc::clone(c);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    // Every thread alive at once: none gives its index back early.
                    barrier.wait();
                    for n in 0..per_thread {
                        let l = c.local();
                        l.command(
                            t % 3,
                            2_000,
                            n % 2 == 0,
                            &Tally {
                                dirty: 1,
                                ..Tally::default()
                            },
                        );
                        l.keyspace(n % 4 != 0);
                        l.net_input(10);
                        l.net_output(5);
                        if n % 10 == 0 {
                            l.rejected(Some(t % 3));
                            l.rejected(None);
                        }
                    }
                    barrier.wait();
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
    }

    #[test]
    fn sums_over_threads_are_exact() {
        let c = Arc::new(Counters::new(3));
        let (threads, per) = (8, 20_000u64);
        hammer(&c, threads, per);
        let n = threads as u64 * per;
        let t = c.totals();
        assert_eq!(t.commands, n);
        assert_eq!(t.failed_calls, n / 2);
        assert_eq!(t.keyspace_hits, n * 3 / 4);
        assert_eq!(t.keyspace_misses, n / 4);
        assert_eq!(t.net_input_bytes, 10 * n);
        assert_eq!(t.net_output_bytes, 5 * n);
        assert_eq!((t.reads, t.writes), (n, n));
        assert_eq!(t.rejected_calls, 2 * n / 10);
        assert_eq!(c.dirty_total(), n);
        let cmds = c.commands();
        assert_eq!(cmds.iter().map(|s| s.calls).sum::<u64>(), n);
        assert_eq!(cmds.iter().map(|s| s.usec).sum::<u64>(), 2 * n);
        assert_eq!(cmds.iter().map(|s| s.failed).sum::<u64>(), n / 2);
        assert_eq!(cmds.iter().map(|s| s.rejected).sum::<u64>(), n / 10);
        // Threads 0, 3, 6 counted under command 0.
        assert_eq!(cmds[0].calls, 3 * per);
    }

    /// More threads alive at once than there are slots: the overflow slot is shared
    /// and still exact.
    #[test]
    fn overflow_slot_is_exact() {
        let c = Arc::new(Counters::new(3));
        let threads = SLOTS + 20;
        hammer(&c, threads, 200);
        assert_eq!(c.totals().commands, threads as u64 * 200);
        assert_eq!(c.dirty_total(), threads as u64 * 200);
    }

    #[test]
    fn latency_buckets_are_powers_of_two_microseconds() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(1_000), 0);
        assert_eq!(latency_bucket(1_001), 1);
        assert_eq!(latency_bucket(2_000), 1);
        assert_eq!(latency_bucket(2_001), 2);
        assert_eq!(latency_bucket(1_024_000), 10);
        assert_eq!(latency_bucket(u64::MAX), LATENCY_BUCKETS - 1);
        assert_eq!(latency_bucket_bound_us(10), Some(1024));
        assert_eq!(latency_bucket_bound_us(LATENCY_BUCKETS - 1), None);
        let mut h = [0u64; LATENCY_BUCKETS];
        h[3] = 10; // (4, 8] us
        assert_eq!(latency_percentile_us(&h, 50.0), Some(6.0));
        assert_eq!(latency_percentile_us(&h, 100.0), Some(8.0));
        assert_eq!(latency_percentile_us(&[0; LATENCY_BUCKETS], 50.0), None);
        let c = Counters::new(2);
        for ns in [500, 1_500, 1_500, 3_000_000] {
            c.local().command(1, ns, false, &Tally::default());
        }
        let h = c.latency();
        assert_eq!(
            (h[1][0], h[1][1], h[1][latency_bucket(3_000_000)]),
            (1, 2, 1)
        );
        assert_eq!(h[0].iter().sum::<u64>(), 0);
        c.reset();
        assert!(c.latency()[1].iter().all(|&n| n == 0));
    }

    #[test]
    fn servers_keep_separate_counts() {
        let (a, b) = (Counters::new(2), Counters::new(2));
        a.local().command(
            1,
            7,
            false,
            &Tally {
                dirty: 3,
                ..Tally::default()
            },
        );
        assert_eq!(a.totals().commands, 1);
        assert_eq!(b.totals(), Totals::default());
        assert_eq!((a.dirty_total(), b.dirty_total()), (3, 0));
        assert_eq!(b.commands()[1], CommandTotals::default());
    }

    #[test]
    fn error_codes_as_redis_finds_them() {
        assert_eq!(error_code(b"ERR syntax error"), b"ERR");
        assert_eq!(error_code(b"WRONGTYPE Operation"), b"WRONGTYPE");
        assert_eq!(error_code(b"-DASH x"), b"-DASH");
        assert_eq!(error_code(b"NOSPACE"), b"ERR");
        assert_eq!(error_code(b""), b"ERR");
        assert_eq!(error_code(b" leading"), b"");
        // The space must be within the reply line's first 32 bytes, dash included.
        let long = format!("{} x", "A".repeat(30));
        assert_eq!(error_code(long.as_bytes()), "A".repeat(30).as_bytes());
        let longer = format!("{} x", "A".repeat(31));
        assert_eq!(error_code(longer.as_bytes()), b"ERR");
    }

    #[test]
    fn error_replies_by_code_reset_with_the_statistics() {
        let c = Counters::new(3);
        c.error_reply(b"ERR one");
        c.error_reply(b"WRONGTYPE two");
        c.error_reply(b"ERR three");
        assert_eq!(
            c.error_codes(),
            vec![(b"ERR".to_vec(), 2), (b"WRONGTYPE".to_vec(), 1)]
        );
        assert_eq!(c.totals().error_replies, 3);
        c.reset();
        assert_eq!(c.error_codes(), vec![]);
        assert_eq!(c.totals().error_replies, 0);
        for i in 0..ERROR_CODES + 5 {
            c.error_reply(format!("E{i} x").as_bytes());
        }
        assert_eq!(c.error_codes().len(), ERROR_CODES);
        assert_eq!(c.totals().error_replies, ERROR_CODES as u64 + 5);
    }

    #[test]
    fn reset_zeroes_statistics_but_not_dirty() {
        let c = Arc::new(Counters::new(3));
        hammer(&c, 4, 1000);
        c.reset();
        assert_eq!(c.totals(), Totals::default());
        assert!(c.commands().iter().all(|s| *s == CommandTotals::default()));
        assert_eq!(c.dirty_total(), 4000);
        // Counting goes on from zero, on this thread and on others.
        let l = c.local();
        l.command(
            2,
            5_000,
            true,
            &Tally {
                dirty: 0,
                ..Tally::default()
            },
        );
        l.keyspace(true);
        hammer(&c, 2, 10);
        let t = c.totals();
        assert_eq!((t.commands, t.failed_calls, t.keyspace_hits), (21, 11, 15));
        assert_eq!(t.rejected_calls, 4);
        let cmds = c.commands();
        assert_eq!(
            cmds[2],
            CommandTotals {
                calls: 1,
                usec: 5,
                rejected: 0,
                failed: 1
            }
        );
        assert_eq!((cmds[0].calls, cmds[0].rejected), (10, 1));
        assert_eq!(c.dirty_total(), 4020);
    }
}
