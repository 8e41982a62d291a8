//! Per-connection state, and the registry that lets one client see others
//! (CLIENT LIST, CLIENT KILL, INFO clients, maxclients).
//!
//! What only the connection itself touches lives in [`Client`] (plain fields, no
//! locks). What other connections read or change lives in [`ClientInfo`], shared by
//! `Arc`, updated with atomics or a short lock, at most once per read batch.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};

/// One connection's pub/sub subscriptions (kept by `crate::pubsub`).
#[derive(Default)]
pub struct Subscriptions {
    /// Channels (SUBSCRIBE).
    pub channels: HashSet<Box<[u8]>>,
    /// Patterns (PSUBSCRIBE).
    pub patterns: HashSet<Box<[u8]>>,
    /// Shard channels (SSUBSCRIBE).
    pub shard: HashSet<Box<[u8]>>,
}

impl Subscriptions {
    /// Whether the connection listens to anything (RESP2 subscribe mode).
    #[inline]
    pub fn any(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }
}

/// Output-buffer limits for pushes (Redis's `client-output-buffer-limit` class):
/// past `hard` bytes pending, or past `soft` bytes for more than `soft_secs`
/// seconds, the client is closed. 0 disables a limit.
#[derive(Clone, Copy, Debug, Default)]
pub struct PushLimits {
    /// Hard limit in bytes.
    pub hard: u64,
    /// Soft limit in bytes.
    pub soft: u64,
    /// How long the soft limit may be exceeded, in seconds.
    pub soft_secs: u64,
}

impl PushLimits {
    /// Whether any limit is set (Redis's `normal 0 0 0` sets none).
    #[inline]
    pub fn any(&self) -> bool {
        self.hard > 0 || self.soft > 0
    }
}

/// The largest value recorded over the last [`RecentMax::SECONDS`] seconds (Redis's
/// `CLIENTS_PEAK_MEM_USAGE_SLOTS`: INFO `client_recent_max_output_buffer`): one slot
/// per second, reused once it is that old.
#[derive(Default)]
pub struct RecentMax {
    /// (unix second, largest value in it).
    slots: [(AtomicI64, AtomicUsize); RecentMax::SECONDS],
}

impl RecentMax {
    /// How many seconds back the maximum goes.
    pub const SECONDS: usize = 8;

    /// Records `v` at `now_ms` (one load when it is not a new maximum).
    #[inline]
    pub fn record(&self, v: usize, now_ms: i64) {
        let sec = now_ms.max(0) / 1000;
        let (at, max) = &self.slots[sec as usize % Self::SECONDS];
        if at.load(Ordering::Relaxed) != sec {
            at.store(sec, Ordering::Relaxed);
            max.store(v, Ordering::Relaxed);
        } else if v > max.load(Ordering::Relaxed) {
            max.fetch_max(v, Ordering::Relaxed);
        }
    }

    /// The largest value recorded in the last [`RecentMax::SECONDS`] seconds.
    pub fn get(&self, now_ms: i64) -> usize {
        let sec = now_ms.max(0) / 1000;
        self.slots
            .iter()
            .filter(|(at, _)| sec - at.load(Ordering::Relaxed) < Self::SECONDS as i64)
            .map(|(_, max)| max.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }
}

/// What the registry counts about clients, shared with every [`ClientInfo`].
#[derive(Default)]
pub struct ClientStats {
    /// Clients closed past `client-output-buffer-limit` (INFO
    /// `client_output_buffer_limit_disconnections`).
    pub output_limit_closed: AtomicU64,
    /// Clients closed past `client-query-buffer-limit` (INFO
    /// `client_query_buffer_limit_disconnections`).
    pub query_limit_closed: AtomicU64,
    /// The largest output buffer a client held lately (INFO
    /// `client_recent_max_output_buffer`).
    pub recent_output: RecentMax,
    /// The largest query buffer (bytes read and not yet run) a client held lately
    /// (INFO `client_recent_max_input_buffer`, Redis's per-second peaks of
    /// clientsCronTrackExpansiveClients).
    pub recent_input: RecentMax,
}

impl ClientStats {
    /// Zeroes the disconnection counts (CONFIG RESETSTAT).
    pub fn reset(&self) {
        self.output_limit_closed.store(0, Ordering::Relaxed);
        self.query_limit_closed.store(0, Ordering::Relaxed);
    }
}

/// The receiving end of a connection's pushes (see [`ClientInfo::push`]); the
/// connection loop owns it.
pub type PushReceiver = mpsc::UnboundedReceiver<Bytes>;

/// The part of a client other connections can see.
pub struct ClientInfo {
    /// CLIENT ID: unique, increasing.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// Last interaction, unix ms.
    pub last_ms: AtomicI64,
    /// Selected database.
    pub db: AtomicUsize,
    /// CLIENT SETNAME.
    pub name: Mutex<Option<Vec<u8>>>,
    /// CLIENT SETINFO LIB-NAME / LIB-VER.
    pub lib: Mutex<(String, String)>,
    /// Last command (for CLIENT LIST's `cmd=`): name and subcommand ("" if none).
    pub last_cmd: Mutex<(&'static str, &'static str)>,
    /// CLIENT NO-EVICT is on (flag `e`).
    pub no_evict: AtomicBool,
    /// CLIENT NO-TOUCH is on (flag `T`).
    pub no_touch: AtomicBool,
    /// RESP version in use (2 or 3).
    pub resp: AtomicUsize,
    /// Bytes waiting in the query buffer after the last read.
    pub qbuf: AtomicUsize,
    /// Bytes of the connection's query and reply buffers (their capacity), published
    /// per batch; their total is what eviction does not count (see
    /// [`crate::evict`]).
    pub buffers: AtomicUsize,
    /// Commands run by this client.
    pub commands: AtomicU64,
    /// Set by CLIENT KILL (or shutdown): the connection closes at its next chance.
    pub killed: AtomicBool,
    /// Wakes the connection when it is killed.
    pub kill_notify: Notify,
    /// In MONITOR mode (CLIENT LIST flag `O`).
    pub monitor: AtomicBool,
    /// A command of this client is parked (blocked or paused; flag `b`).
    pub blocked: AtomicBool,
    /// CLIENT UNBLOCK's hold on a parked command: one of the `UNBLOCK_*` states.
    pub unblock: AtomicU8,
    /// Wakes a parked command that CLIENT UNBLOCK asked to end.
    pub unblock_notify: Notify,
    /// Channels, patterns and shard channels subscribed (CLIENT LIST `sub=`,
    /// `psub=`, `ssub=`; flag `P`).
    pub subs: [AtomicUsize; 3],
    /// Since when (unix ms) the output buffer (replies the socket has not taken,
    /// and pushes pending) exceeds the soft output-buffer limit; 0 = it does not.
    soft_since_ms: AtomicI64,
    /// Reply bytes the connection holds that the socket has not taken yet (CLIENT
    /// LIST `obl`), published when a write could not take them all.
    pub obuf: AtomicUsize,
    /// The registry's counts (disconnections, recent output buffer peak).
    pub stats: Arc<ClientStats>,
    /// Commands queued in MULTI (CLIENT LIST `multi=`, flag `x`), -1 outside MULTI.
    pub multi: AtomicI64,
    /// Bytes the queued commands hold (CLIENT LIST `multi-mem=`).
    pub multi_mem: AtomicUsize,
    /// Client-side caching state others read: the `TRACK_*` bits (CLIENT LIST flags
    /// `t`, `R`, `B`; what invalidations this client gets).
    pub tracking: AtomicU8,
    /// CLIENT TRACKING ... REDIRECT: the client id invalidations go to (0 = none).
    pub tracking_redirect: AtomicU64,
    /// Keys of the tracking table that name this client (see `crate::tracking`).
    pub tracking_items: AtomicUsize,
    /// Messages pushed to this connection by others, taken by its loop while it is
    /// idle or parked.
    push_tx: mpsc::UnboundedSender<Bytes>,
    /// Bytes pushed and not yet taken by the connection loop (CLIENT LIST `omem`).
    push_pending: AtomicUsize,
    /// Messages pushed and not yet taken (CLIENT LIST `oll`).
    push_count: AtomicUsize,
    /// The connection's socket while it is open (see [`ClientInfo::kill`]).
    socket: Mutex<Option<std::os::fd::RawFd>>,
}

/// [`ClientInfo::tracking`]: CLIENT TRACKING is on (flag `t`).
pub const TRACK_ON: u8 = 1;
/// Broadcast mode (flag `B`).
pub const TRACK_BCAST: u8 = 2;
/// NOLOOP: no invalidation for the client's own changes.
pub const TRACK_NOLOOP: u8 = 4;
/// The client redirected to has gone (flag `R`).
pub const TRACK_BROKEN: u8 = 8;

/// [`ClientInfo::unblock`]: no command parked on keys (idle, running, or paused by
/// CLIENT PAUSE, which CLIENT UNBLOCK leaves alone).
pub const UNBLOCK_NONE: u8 = 0;
/// A command is parked on keys (BLPOP, BZPOPMIN...): CLIENT UNBLOCK may end it.
pub const UNBLOCK_READY: u8 = 1;
/// CLIENT UNBLOCK ... TIMEOUT asked it to answer its timeout reply.
pub const UNBLOCK_TIMEOUT: u8 = 2;
/// CLIENT UNBLOCK ... ERROR asked it to answer `-UNBLOCKED`.
pub const UNBLOCK_ERROR: u8 = 3;

impl ClientInfo {
    /// Bytes this client holds: its buffers, what others pushed to it and it has not
    /// taken yet, and its queued transaction (CLIENT LIST `tot-mem`;
    /// `maxmemory-clients` compares the total).
    pub fn memory(&self) -> usize {
        self.buffers.load(Ordering::Relaxed)
            + self.push_pending.load(Ordering::Relaxed)
            + self.multi_mem.load(Ordering::Relaxed)
    }

    /// CLIENT UNBLOCK: asks the command this client has parked on keys to end now,
    /// with its timeout reply or (`error`) `-UNBLOCKED`. False when no command of
    /// this client is parked on keys (or one was already asked to end).
    pub fn request_unblock(&self, error: bool) -> bool {
        let to = if error {
            UNBLOCK_ERROR
        } else {
            UNBLOCK_TIMEOUT
        };
        let asked = self
            .unblock
            .compare_exchange(UNBLOCK_READY, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if asked {
            self.unblock_notify.notify_one();
        }
        asked
    }

    /// Asks the connection to close: sets `killed`, wakes whatever the connection
    /// waits on (`kill_notify`), and shuts down the socket's reading side, so that an
    /// idle connection's read ends at once without the read loop having to wait on a
    /// second future for every read.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.wake_and_shut();
    }

    /// The waking half of [`ClientInfo::kill`] (`killed` already set).
    fn wake_and_shut(&self) {
        self.kill_notify.notify_one();
        self.shut_reading();
    }

    /// Shuts the socket's reading side down without killing the connection: it
    /// sees the end of its input, finishes what it had read, writes its replies and
    /// closes (a graceful shutdown's drain).
    pub fn shut_reading(&self) {
        let socket = self.socket.lock();
        if let Some(fd) = *socket {
            // SAFETY: `fd` is this connection's socket and still open: the connection
            // detaches it (under this lock) before it closes it, so while the lock is
            // held it can be neither closed nor reused. `shutdown` only changes the
            // socket's state; it touches no memory of ours.
            unsafe {
                libc::shutdown(fd, libc::SHUT_RD);
            }
        }
    }

    /// The connection's socket is open as `fd` (until [`ClientInfo::detach_socket`]).
    pub fn attach_socket(&self, fd: std::os::fd::RawFd) {
        *self.socket.lock() = Some(fd);
        if self.killed.load(Ordering::SeqCst) {
            // Killed before the socket was known: shut it down now.
            self.kill();
        }
    }

    /// The connection is about to close its socket: [`ClientInfo::kill`] must no
    /// longer touch it.
    pub fn detach_socket(&self) {
        *self.socket.lock() = None;
    }

    /// Pushes pre-encoded reply bytes to this connection (a MONITOR line...), which
    /// writes them when it is idle or parked. A client that leaves more than `limit`
    /// bytes of pushes untaken (it does not read its socket) is closed, as Redis closes
    /// a client past its output buffer limit; `false` then.
    pub fn push(&self, msg: Bytes, limit: usize) -> bool {
        let limits = PushLimits {
            hard: limit as u64,
            ..PushLimits::default()
        };
        self.push_limited(msg, &limits)
    }

    /// [`ClientInfo::push`] under a class of output-buffer limits: the hard limit
    /// closes the client at once, the soft one once it has been exceeded for longer
    /// than its seconds (checked at each push, as Redis checks at each reply).
    pub fn push_limited(&self, msg: Bytes, limits: &PushLimits) -> bool {
        let len = msg.len();
        let pending = self.push_pending.fetch_add(len, Ordering::Relaxed) + len;
        let total = pending + self.obuf.load(Ordering::Relaxed);
        if limits.any() && self.over_output_limits(total, limits, crate::clock::now_ms()) {
            self.push_pending.fetch_sub(len, Ordering::Relaxed);
            self.close_for_output_limits(total);
            return false;
        }
        self.push_count.fetch_add(1, Ordering::Relaxed);
        self.push_tx.send(msg).is_ok()
    }

    /// Whether an output buffer of `used` bytes (replies the socket has not taken
    /// plus pushes pending) breaks `limits`, as Redis's
    /// `checkClientOutputBufferLimits`: at or past the hard limit, or at or past the
    /// soft one for longer than its seconds (the time it was first seen past it is
    /// remembered; a look under it forgets it).
    pub fn over_output_limits(&self, used: usize, limits: &PushLimits, now_ms: i64) -> bool {
        let used = used as u64;
        if limits.hard > 0 && used >= limits.hard {
            return true;
        }
        if limits.soft > 0 && used >= limits.soft {
            let since = self.soft_since_ms.load(Ordering::Relaxed);
            if since == 0 {
                self.soft_since_ms.store(now_ms.max(1), Ordering::Relaxed);
                return false;
            }
            return now_ms - since > (limits.soft_secs as i64).saturating_mul(1000);
        }
        self.soft_since_ms.store(0, Ordering::Relaxed);
        false
    }

    /// When the output buffer, now over the soft limit, has been so for too long
    /// (`None` when it is not over it).
    pub fn soft_limit_deadline_ms(&self, limits: &PushLimits) -> Option<i64> {
        let since = self.soft_since_ms.load(Ordering::Relaxed);
        (limits.soft > 0 && since != 0)
            .then(|| since + (limits.soft_secs as i64).saturating_mul(1000) + 1)
    }

    /// Closes the client for breaking its output-buffer limits (`used` bytes held):
    /// Redis's log line, INFO's count, and the connection told to close at once.
    pub fn close_for_output_limits(&self, used: usize) {
        if !self.killed.swap(true, Ordering::SeqCst) {
            self.stats
                .output_limit_closed
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                id = self.id,
                addr = %self.addr,
                omem = used,
                "Client scheduled to be closed ASAP for overcoming of output buffer limits."
            );
            self.wake_and_shut();
        }
    }

    /// Publishes `n` reply bytes not taken by the socket yet (CLIENT LIST `obl`),
    /// and records the output buffer for INFO `client_recent_max_output_buffer`.
    pub fn set_obuf(&self, n: usize, now_ms: i64) {
        self.obuf.store(n, Ordering::Relaxed);
        if n > 0 {
            let total = n + self.push_pending.load(Ordering::Relaxed);
            self.stats.recent_output.record(total, now_ms);
        }
    }

    /// The protocol the connection speaks now.
    #[inline]
    pub fn proto(&self) -> shoal_protocol::Proto {
        if self.resp.load(Ordering::Relaxed) == 3 {
            shoal_protocol::Proto::Resp3
        } else {
            shoal_protocol::Proto::Resp2
        }
    }

    /// Whether the connection speaks RESP2.
    #[inline]
    pub fn resp_is_2(&self) -> bool {
        self.resp.load(Ordering::Relaxed) != 3
    }

    /// Whether the connection is subscribed to anything (Redis's `CLIENT_PUBSUB`).
    pub fn subscribed(&self) -> bool {
        self.subs.iter().any(|n| n.load(Ordering::Relaxed) > 0)
    }

    /// The `TRACK_*` bits now.
    #[inline]
    pub fn tracking_flags(&self) -> u8 {
        self.tracking.load(Ordering::Relaxed)
    }

    /// CLIENT GETREDIR / TRACKINGINFO / LIST's `redir`: the redirect id while
    /// tracking is on (0 without REDIRECT), else -1.
    pub fn redirect_shown(&self) -> i64 {
        if self.tracking_flags() & TRACK_ON != 0 {
            self.tracking_redirect.load(Ordering::Relaxed) as i64
        } else {
            -1
        }
    }

    /// Publishes the subscription counts (CLIENT LIST).
    pub fn set_subscriptions(&self, subs: &Subscriptions) {
        self.subs[0].store(subs.channels.len(), Ordering::Relaxed);
        self.subs[1].store(subs.patterns.len(), Ordering::Relaxed);
        self.subs[2].store(subs.shard.len(), Ordering::Relaxed);
    }

    /// Bytes pushed and not yet taken by the connection.
    #[inline]
    pub fn pushes_pending(&self) -> usize {
        self.push_pending.load(Ordering::Relaxed)
    }

    /// The connection took `messages` pushed messages (`n` bytes) off its queue.
    pub fn pushes_taken(&self, n: usize, messages: usize) {
        self.push_pending.fetch_sub(n, Ordering::Relaxed);
        self.push_count.fetch_sub(messages, Ordering::Relaxed);
    }

    /// Whether the client connected over loopback (Redis's `islocalClient`: the peer
    /// is `127.0.0.1` or `::1`, an IPv4-mapped `127.0.0.1` included). Protected
    /// configs with `local`, and protected mode, trust such clients.
    pub fn is_local(&self) -> bool {
        is_local_addr(self.addr.ip())
    }

    /// The client name, lossy UTF-8 (empty when unset).
    pub fn name_string(&self) -> String {
        self.name
            .lock()
            .as_deref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default()
    }

    /// One line of CLIENT LIST / CLIENT INFO, Redis 7 field order.
    pub fn describe(&self, now_ms: i64) -> String {
        let (lib_name, lib_ver) = self.lib.lock().clone();
        let (cmd, sub) = *self.last_cmd.lock();
        let cmd = if sub.is_empty() {
            cmd.to_string()
        } else {
            format!("{cmd}|{sub}")
        };
        let obl = self.obuf.load(Ordering::Relaxed);
        let mut flags = String::new();
        if self.monitor.load(Ordering::Relaxed) {
            flags.push('O');
        }
        let subs = [0, 1, 2].map(|i| self.subs[i].load(Ordering::Relaxed));
        if subs.iter().any(|&n| n > 0) {
            flags.push('P');
        }
        let multi = self.multi.load(Ordering::Relaxed);
        if multi >= 0 {
            flags.push('x');
        }
        if self.blocked.load(Ordering::Relaxed) {
            flags.push('b');
        }
        let tracking = self.tracking_flags();
        for (bit, letter) in [(TRACK_ON, 't'), (TRACK_BROKEN, 'R'), (TRACK_BCAST, 'B')] {
            if tracking & bit != 0 {
                flags.push(letter);
            }
        }
        if self.no_evict.load(Ordering::Relaxed) {
            flags.push('e');
        }
        if self.no_touch.load(Ordering::Relaxed) {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem={} rbs=16384 rbp=0 obl={} oll={} omem={} tot-mem={} events={} cmd={} user=default redir={} resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.name_string(),
            (now_ms - self.created_ms).max(0) / 1000,
            (now_ms - self.last_ms.load(Ordering::Relaxed)).max(0) / 1000,
            flags,
            self.db.load(Ordering::Relaxed),
            subs[0],
            subs[1],
            subs[2],
            multi,
            self.qbuf.load(Ordering::Relaxed),
            self.multi_mem.load(Ordering::Relaxed),
            obl,
            self.push_count.load(Ordering::Relaxed),
            obl + self.push_pending.load(Ordering::Relaxed),
            self.memory(),
            if obl > 0 { "rw" } else { "r" },
            cmd,
            self.redirect_shown(),
            self.resp.load(Ordering::Relaxed),
            lib_name,
            lib_ver,
        )
    }
}

/// Whether `ip` is the loopback address a local client connects from: exactly
/// `127.0.0.1` or `::1` (or `127.0.0.1` mapped into IPv6), as Redis decides.
pub fn is_local_addr(ip: std::net::IpAddr) -> bool {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    match ip {
        IpAddr::V4(v4) => v4 == Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => {
            v6 == Ipv6Addr::LOCALHOST || v6.to_ipv4_mapped() == Some(Ipv4Addr::LOCALHOST)
        }
    }
}

/// What only the connection's own task uses.
pub struct Client {
    /// Shared, externally visible part.
    pub info: Arc<ClientInfo>,
    /// Selected database index.
    pub db: usize,
    /// Whether AUTH succeeded (or no password is required).
    pub authenticated: bool,
    /// Close the connection once the current batch's replies are written (QUIT).
    pub close_after_reply: bool,
    /// Skip replies for this client (CLIENT REPLY OFF).
    pub reply_off: bool,
    /// CLIENT REPLY SKIP was just run: drop the reply of the command after it.
    pub reply_skip_next: bool,
    /// Drop the reply of the command running now (a SKIP took effect).
    pub reply_skip: bool,
    /// CLIENT NO-EVICT ON.
    pub no_evict: bool,
    /// CLIENT NO-TOUCH ON: reads do not update the access time.
    pub no_touch: bool,
    /// Name of the last command run (published to CLIENT LIST once per batch).
    pub last_cmd: (&'static str, &'static str),
    /// SNAPSHOT READ: the snapshot this connection reads instead of the live keyspace
    /// (`None` = live). Holding the `Arc` keeps a dropped snapshot alive until the
    /// connection leaves it. See `snapshots.rs` and the gates in `dispatch.rs`.
    pub snapshot: Option<Arc<crate::snapshots::Snapshot>>,
    /// Failed AUTH attempts on this connection (reset by a successful one).
    pub auth_failures: u32,
    /// Set by a command that must make the connection wait before it runs anything
    /// else (a failed AUTH past the free attempts, see `security::auth_failed`); the
    /// connection loop takes it after the command.
    pub penalty: Option<std::time::Duration>,
    /// MONITOR mode: every command run is pushed to this connection (see
    /// [`crate::monitor`]); it may no longer touch the keyspace.
    pub monitor: bool,
    /// The command running now was parked by its handler before and runs again:
    /// dispatch does not feed it to MONITOR again (Redis shows a blocked command once,
    /// when it first runs). The connection clears it once the command is done.
    pub reprocessing: bool,
    /// This client runs a script now: the commands it calls pass the BUSY gate.
    pub in_script: bool,
    /// The running script has the `allow-oom` flag: its `denyoom` commands run over
    /// maxmemory.
    pub script_allow_oom: bool,
    /// Set by [`crate::command::Ctx::block`]: the handler asks to park its command
    /// (taken by dispatch as it returns).
    pub parked: Option<crate::blocking::Block>,
    /// MULTI was called: commands are queued until EXEC or DISCARD.
    pub multi: Option<Multi>,
    /// The keys this client WATCHes, and the flag changes to them set.
    pub watching: Option<Watching>,
    /// Pub/sub subscriptions.
    pub subs: Subscriptions,
    /// CLIENT TRACKING is on: this connection's side of it (`None` when off).
    pub tracking: Option<Box<TrackingState>>,
    /// Tracking was on at some point: the connection polls its push queue (pending
    /// invalidations are delivered even after OFF) and takes pushes after each
    /// command, so that an invalidation of its own write follows that write's reply.
    pub tracking_used: bool,
}

/// The connection's own side of CLIENT TRACKING (what only it reads).
#[derive(Default)]
pub struct TrackingState {
    /// BCAST mode (no key is remembered).
    pub bcast: bool,
    /// OPTIN: only the keys of a command after CLIENT CACHING YES are remembered.
    pub optin: bool,
    /// OPTOUT: the keys of a command after CLIENT CACHING NO are not remembered.
    pub optout: bool,
    /// CLIENT CACHING YES/NO was given for the next command (or transaction).
    pub caching: bool,
    /// The prefixes registered in BCAST mode, sorted.
    pub prefixes: Vec<Box<[u8]>>,
    /// The hashes of the keys this client was added to in the tracking table
    /// (possibly stale: invalidations remove entries without telling the client),
    /// so that turning tracking off frees its entries without a walk of the table.
    pub hashes: Vec<u64>,
}

impl TrackingState {
    /// Whether a read command's keys are remembered now (Redis's OPTIN/OPTOUT and
    /// CACHING rules; never in BCAST mode).
    pub fn remembers(&self) -> bool {
        if self.bcast {
            return false;
        }
        if self.optin {
            return self.caching;
        }
        !(self.optout && self.caching)
    }
}

/// A transaction being queued (between MULTI and EXEC/DISCARD).
#[derive(Default)]
pub struct Multi {
    /// The queued commands, in order.
    pub queued: Vec<shoal_protocol::OwnedArgs>,
    /// A queued command is flagged `write` (EXEC then counts as a write for the
    /// gates: MISCONF, read-only views, CLIENT PAUSE WRITE).
    pub write: bool,
    /// A queued command is flagged `denyoom` (EXEC is refused over maxmemory).
    pub denyoom: bool,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    pub aborted: bool,
    /// Bytes the queued commands hold (CLIENT LIST `multi-mem`).
    pub bytes: usize,
}

/// A client's watched keys.
pub struct Watching {
    /// Shared with the registrations in `Shared::watches`.
    pub watcher: Arc<crate::watch::Watcher>,
    /// `(db, key)` in the order watched.
    pub keys: Vec<(usize, Box<[u8]>)>,
}

impl Client {
    /// A fresh client registered in `info`.
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Client {
        Client {
            info,
            db: 0,
            authenticated,
            close_after_reply: false,
            reply_off: false,
            reply_skip_next: false,
            reply_skip: false,
            no_evict: false,
            no_touch: false,
            last_cmd: ("NULL", ""),
            snapshot: None,
            auth_failures: 0,
            penalty: None,
            monitor: false,
            reprocessing: false,
            in_script: false,
            script_allow_oom: false,
            parked: None,
            multi: None,
            watching: None,
            subs: Subscriptions::default(),
            tracking: None,
            tracking_used: false,
        }
    }

    /// Starts (`Some`) or ends (`None`) a transaction, shown in CLIENT LIST.
    pub fn set_multi(&mut self, multi: Option<Multi>) {
        let (n, mem) = multi
            .as_ref()
            .map_or((-1, 0), |m| (m.queued.len() as i64, m.bytes));
        self.info.multi.store(n, Ordering::Relaxed);
        self.info.multi_mem.store(mem, Ordering::Relaxed);
        self.multi = multi;
    }

    /// Takes the transaction being queued, if any (EXEC, DISCARD).
    pub fn take_multi(&mut self) -> Option<Multi> {
        let m = self.multi.take();
        if m.is_some() {
            self.set_multi(None);
        }
        m
    }

    /// Forgets every watched key (UNWATCH, EXEC, DISCARD, RESET, disconnect).
    pub fn unwatch_all(&mut self, watches: &crate::watch::Watches) {
        if let Some(w) = self.watching.take() {
            watches.unwatch(&w.watcher, &w.keys);
        }
    }

    /// CLIENT ID.
    pub fn id(&self) -> u64 {
        self.info.id
    }

    /// Called once after each command: whether its reply is to be discarded (CLIENT
    /// REPLY OFF, or SKIP for this one command). Moves a pending SKIP onto the next
    /// command, as Redis does with `CLIENT_REPLY_SKIP_NEXT`.
    pub fn take_reply_dropped(&mut self) -> bool {
        let dropped = self.reply_off || self.reply_skip;
        self.reply_skip = std::mem::take(&mut self.reply_skip_next);
        dropped
    }

    /// CLIENT NO-EVICT, visible to CLIENT LIST.
    pub fn set_no_evict(&mut self, on: bool) {
        self.no_evict = on;
        self.info.no_evict.store(on, Ordering::Relaxed);
    }

    /// CLIENT NO-TOUCH, visible to CLIENT LIST.
    pub fn set_no_touch(&mut self, on: bool) {
        self.no_touch = on;
        self.info.no_touch.store(on, Ordering::Relaxed);
    }

    /// Whether others may push messages to this connection now (MONITOR,
    /// subscribers, tracking clients, and any RESP3 connection, which another
    /// tracking client may name as its REDIRECT target): the connection loop polls
    /// its push queue only then, so an ordinary RESP2 connection pays nothing for it.
    #[inline]
    pub fn accepts_pushes(&self) -> bool {
        self.monitor || self.subs.any() || self.tracking_used || !self.info.resp_is_2()
    }

    /// Switches database (SELECT), keeping the shared view in step.
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }
}

/// All connected clients.
#[derive(Default)]
pub struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
    connected: AtomicUsize,
    /// Counts about clients (INFO), shared with each client.
    pub stats: Arc<ClientStats>,
}

impl ClientRegistry {
    /// Registers a new connection; returns its info and the receiving end of its
    /// pushes, or `None` when `maxclients` connections are already open.
    pub fn register(
        &self,
        addr: SocketAddr,
        laddr: SocketAddr,
        now_ms: i64,
        maxclients: usize,
    ) -> Option<(Arc<ClientInfo>, PushReceiver)> {
        let (push_tx, push_rx) = mpsc::unbounded_channel();
        let mut map = self.clients.lock();
        if map.len() >= maxclients {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let info = Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            created_ms: now_ms,
            last_ms: AtomicI64::new(now_ms),
            db: AtomicUsize::new(0),
            name: Mutex::new(None),
            lib: Mutex::new((String::new(), String::new())),
            last_cmd: Mutex::new(("NULL", "")),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            resp: AtomicUsize::new(2),
            qbuf: AtomicUsize::new(0),
            buffers: AtomicUsize::new(0),
            commands: AtomicU64::new(0),
            killed: AtomicBool::new(false),
            kill_notify: Notify::new(),
            monitor: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            unblock: AtomicU8::new(UNBLOCK_NONE),
            unblock_notify: Notify::new(),
            subs: Default::default(),
            soft_since_ms: AtomicI64::new(0),
            obuf: AtomicUsize::new(0),
            stats: Arc::clone(&self.stats),
            multi: AtomicI64::new(-1),
            multi_mem: AtomicUsize::new(0),
            tracking: AtomicU8::new(0),
            tracking_redirect: AtomicU64::new(0),
            tracking_items: AtomicUsize::new(0),
            push_tx,
            push_pending: AtomicUsize::new(0),
            push_count: AtomicUsize::new(0),
            socket: Mutex::new(None),
        });
        map.insert(id, Arc::clone(&info));
        self.connected.store(map.len(), Ordering::Relaxed);
        Some((info, push_rx))
    }

    /// Removes a closed connection.
    pub fn unregister(&self, id: u64) {
        let mut map = self.clients.lock();
        map.remove(&id);
        self.connected.store(map.len(), Ordering::Relaxed);
    }

    /// Number of connected clients.
    pub fn connected(&self) -> usize {
        self.connected.load(Ordering::Relaxed)
    }

    /// A snapshot of every client, ordered by id.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.clients.lock().values().cloned().collect()
    }

    /// The client with this id.
    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.lock().get(&id).cloned()
    }

    /// Kills every client (shutdown).
    pub fn kill_all(&self) {
        for c in self.clients.lock().values() {
            c.kill();
        }
    }

    /// [`ClientInfo::shut_reading`] for every client: each ends once it has answered
    /// what it had read.
    pub fn shut_reading_all(&self) {
        for c in self.clients.lock().values() {
            c.shut_reading();
        }
    }
}
