//! State shared by every connection and background task, grouped by owner.
//!
//! [`Shared`] is built once by the lifecycle ([`crate::server`]) and handed to every
//! connection and background thread. It holds no behaviour beyond small accessors:
//! the modules that own each part (counters, persistence, clients, the slow log,
//! snapshots) define their types below this one, and dispatch, the command families,
//! INFO and the lifecycle sit above it. Nothing here imports those.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use shoal_protocol::Limits;
use shoal_storage::Keyspace;
use tokio::sync::watch;

use crate::blocking::Blocking;
use crate::changes::Observers;
use crate::client::ClientRegistry;
pub use crate::clock::now_ms;
use crate::config::Config;
use crate::counters::Counters;
use crate::evict::{Evictor, Policy};
use crate::functions::Functions;
use crate::latency::LatencyMonitor;
use crate::monitor::Monitors;
use crate::notify::Notifications;
use crate::persistence::Persistence;
use crate::pubsub::PubSub;
use crate::scripts::Scripts;
use crate::security::SecurityLog;
use crate::slowlog::SlowLog;
use crate::snapshots::SnapshotRegistry;
use crate::tracking::Tracking;
use crate::watch::Watches;

/// Server-wide counters of rare events (INFO stats). What every command counts is in
/// [`Counters`], one slot per thread.
#[derive(Default)]
pub struct Stats {
    /// Connections accepted since start.
    pub connections_received: AtomicU64,
    /// Connections refused for maxclients.
    pub rejected_connections: AtomicU64,
    /// Time spent in active expiry, microseconds.
    pub expire_cycle_usec: AtomicU64,
    /// Active expiry cycles that stopped at their time budget.
    pub expire_cycle_timeouts: AtomicU64,
    /// Failed AUTH attempts (INFO `acl_access_denied_auth`).
    pub acl_access_denied_auth: AtomicU64,
}

impl Stats {
    /// Zeroes these counters (CONFIG RESETSTAT, with [`Counters::reset`]).
    pub fn reset(&self) {
        for c in [
            &self.connections_received,
            &self.rejected_connections,
            &self.expire_cycle_usec,
            &self.expire_cycle_timeouts,
            &self.acl_access_denied_auth,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Config values read on hot paths, mirrored into atomics so connections never take
/// the config lock per command. Updated by CONFIG SET through [`Shared::apply_config`].
#[derive(Default)]
pub struct LiveConfig {
    /// Bumped on every change; connections refresh their cached limits when it moves.
    pub epoch: AtomicU64,
    /// DEBUG SET-ACTIVE-EXPIRE 0: keys expire only when touched (no configuration
    /// parameter; false by default).
    pub active_expire_off: AtomicBool,
    /// Whether `requirepass` is set.
    pub auth_required: AtomicBool,
    /// protected-mode.
    pub protected_mode: AtomicBool,
    /// maxclients.
    pub maxclients: AtomicUsize,
    /// Idle timeout in seconds (0 = none).
    pub timeout: AtomicU64,
    /// TCP keepalive period in seconds (0 = off).
    pub tcp_keepalive: AtomicU64,
    /// client-query-buffer-limit.
    pub query_buffer_limit: AtomicU64,
    /// proto-max-bulk-len.
    pub proto_max_bulk_len: AtomicU64,
    /// max-multibulk-len.
    pub max_multibulk_len: AtomicU64,
    /// hz.
    pub hz: AtomicU64,
    /// active-expire-effort.
    pub active_expire_effort: AtomicU64,
    /// zset-max-listpack-entries.
    pub zset_max_listpack_entries: AtomicUsize,
    /// zset-max-listpack-value.
    pub zset_max_listpack_value: AtomicUsize,
    /// set-max-intset-entries.
    pub set_max_intset_entries: AtomicUsize,
    /// hash-max-listpack-entries.
    pub hash_max_listpack_entries: AtomicUsize,
    /// hash-max-listpack-value.
    pub hash_max_listpack_value: AtomicUsize,
    /// busy-reply-threshold, milliseconds (0 = never busy).
    pub busy_reply_threshold: AtomicU64,
}

impl LiveConfig {
    /// When a packed hash converts to a table (`hash-max-listpack-*`, read now).
    pub fn hash_limits(&self) -> shoal_storage::HashLimits {
        shoal_storage::HashLimits {
            entries: self.hash_max_listpack_entries.load(Ordering::Relaxed),
            value: self.hash_max_listpack_value.load(Ordering::Relaxed),
        }
    }
}

/// State shared by every connection and background task.
pub struct Shared {
    /// The data.
    pub keyspace: Keyspace,
    /// The configuration as CONFIG GET shows it.
    pub config: RwLock<Config>,
    /// Hot-path copies of some config values.
    pub live: LiveConfig,
    /// Counters of rare events (connections, expiry, failed AUTH).
    pub stats: Stats,
    /// What every command counts (commands, commandstats, keyspace hits/misses, the
    /// dirty count, network bytes), per thread, summed by readers.
    pub counters: Arc<Counters>,
    /// Connected clients.
    pub clients: ClientRegistry,
    /// Parked commands (clients blocked on keys, or paused) and the CLIENT PAUSE
    /// state (see [`crate::blocking`]).
    pub blocking: Blocking,
    /// Clients in MONITOR mode (see [`crate::monitor`]).
    pub monitors: Monitors,
    /// The slow log.
    pub slowlog: SlowLog,
    /// The latency monitor (LATENCY LATEST/HISTORY/DOCTOR).
    pub latency: LatencyMonitor,
    /// RDB persistence: SAVE/BGSAVE, save points, loading, MISCONF, LASTSAVE (see
    /// [`crate::persistence`]).
    pub persistence: Persistence,
    /// When the server started.
    pub started: Instant,
    /// Unix ms at start.
    pub started_ms: i64,
    /// `used_memory` once the server's state was built, before any data loaded
    /// (INFO `used_memory_startup`, Redis's `initial_memory_usage`).
    pub used_memory_startup: u64,
    /// 40 hex characters identifying this run (INFO run_id).
    pub run_id: String,
    /// Addresses actually bound (port 0 resolved).
    pub addrs: Vec<SocketAddr>,
    /// Named snapshots (SNAPSHOT CREATE/LIST/DROP/READ/RESTORE/MERGE).
    pub snapshots: SnapshotRegistry,
    /// Rate limits of the security log lines (cross-protocol requests, failed AUTH,
    /// accept errors).
    pub security_log: SecurityLog,
    /// Observers of every change to the dataset (see [`crate::access::announce`]).
    pub observers: Observers,
    /// Keys watched by clients for MULTI/EXEC (see [`crate::watch`]).
    pub watches: Watches,
    /// Pub/sub subscriptions (see [`crate::pubsub`]).
    pub pubsub: PubSub,
    /// `notify-keyspace-events`, read by the write hook (see [`crate::notify`]).
    pub notifications: Notifications,
    /// Client-side caching: the tracking table and prefixes (see
    /// [`crate::tracking`]).
    pub tracking: Tracking,
    /// maxmemory and eviction (see [`crate::evict`]).
    pub evict: Evictor,
    /// A signalled shutdown is under way (saving, draining): `/healthz` answers 503.
    stopping: AtomicBool,
    /// When the signalled shutdown began.
    stopping_since: parking_lot::Mutex<Option<Instant>>,
    /// The script cache and the scripts running now (see [`crate::scripts`]).
    pub scripts: Scripts,
    /// The function libraries (see [`crate::functions`]); persistence has a handle.
    pub functions: Arc<Functions>,
    shutdown_tx: watch::Sender<bool>,
}

impl Shared {
    /// The state of a server about to serve `addrs` with `config`; `commands` is the
    /// number of rows of the command table (commandstats counts per row).
    pub fn new(
        keyspace: Keyspace,
        config: &Config,
        addrs: Vec<SocketAddr>,
        commands: usize,
    ) -> Shared {
        let (shutdown_tx, _) = watch::channel(false);
        let started_ms = now_ms();
        let counters = Arc::new(Counters::new(commands));
        let functions = Arc::new(Functions::default());
        let shared = Shared {
            keyspace,
            config: RwLock::new(config.clone()),
            live: LiveConfig::default(),
            stats: Stats::default(),
            counters: Arc::clone(&counters),
            clients: ClientRegistry::default(),
            blocking: Blocking::default(),
            monitors: Monitors::default(),
            slowlog: SlowLog::default(),
            latency: LatencyMonitor::default(),
            persistence: Persistence::new(started_ms / 1000, counters, Arc::clone(&functions)),
            started: Instant::now(),
            started_ms,
            used_memory_startup: crate::memory::used(),
            run_id: run_id(),
            addrs,
            snapshots: SnapshotRegistry::default(),
            watches: Watches::default(),
            pubsub: PubSub::default(),
            notifications: Notifications::default(),
            tracking: Tracking::default(),
            security_log: SecurityLog::default(),
            observers: Observers::default(),
            evict: Evictor::default(),
            stopping: AtomicBool::new(false),
            stopping_since: parking_lot::Mutex::new(None),
            scripts: Scripts::default(),
            functions,
            shutdown_tx,
        };
        shared.apply_config(config);
        shared
    }

    /// Whether clients must AUTH first.
    #[inline]
    pub fn auth_required(&self) -> bool {
        self.live.auth_required.load(Ordering::Relaxed)
    }

    /// Copies a changed config into the hot-path atomics and bumps the epoch.
    pub fn apply_config(&self, c: &Config) {
        let l = &self.live;
        l.auth_required
            .store(!c.requirepass.is_empty(), Ordering::Relaxed);
        l.protected_mode.store(c.protected_mode, Ordering::Relaxed);
        l.maxclients.store(c.maxclients, Ordering::Relaxed);
        l.timeout.store(c.timeout, Ordering::Relaxed);
        l.tcp_keepalive.store(c.tcp_keepalive, Ordering::Relaxed);
        l.query_buffer_limit
            .store(c.client_query_buffer_limit, Ordering::Relaxed);
        l.proto_max_bulk_len
            .store(c.proto_max_bulk_len, Ordering::Relaxed);
        l.max_multibulk_len
            .store(c.max_multibulk_len, Ordering::Relaxed);
        l.hz.store(u64::from(c.hz.max(1)), Ordering::Relaxed);
        l.active_expire_effort
            .store(u64::from(c.active_expire_effort.max(1)), Ordering::Relaxed);
        let clamp = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        l.zset_max_listpack_entries
            .store(clamp(c.zset_max_listpack_entries), Ordering::Relaxed);
        l.zset_max_listpack_value
            .store(clamp(c.zset_max_listpack_value), Ordering::Relaxed);
        l.set_max_intset_entries
            .store(clamp(c.set_max_intset_entries), Ordering::Relaxed);
        l.hash_max_listpack_entries
            .store(clamp(c.hash_max_listpack_entries), Ordering::Relaxed);
        l.hash_max_listpack_value
            .store(clamp(c.hash_max_listpack_value), Ordering::Relaxed);
        l.busy_reply_threshold.store(
            u64::try_from(c.busy_reply_threshold).unwrap_or(0),
            Ordering::Relaxed,
        );
        self.slowlog
            .configure(c.slowlog_log_slower_than, c.slowlog_max_len);
        let (hard, soft, secs) =
            crate::config::output_buffer_limit(&c.client_output_buffer_limit, "pubsub");
        self.pubsub.set_limits(hard, soft, secs);
        let class = |name: &str| {
            let (hard, soft, soft_secs) =
                crate::config::output_buffer_limit(&c.client_output_buffer_limit, name);
            crate::client::PushLimits {
                hard,
                soft,
                soft_secs,
            }
        };
        self.tracking.configure(
            usize::try_from(c.tracking_table_max_keys).unwrap_or(usize::MAX),
            class("normal"),
            class("pubsub"),
        );
        self.notifications.configure(c.notify_keyspace_events);
        self.evict.configure(
            &self.keyspace,
            &crate::evict::Settings {
                maxmemory: c.maxmemory,
                policy: Policy::parse(&c.maxmemory_policy).unwrap_or(Policy::NoEviction),
                samples: c.maxmemory_samples as usize,
                tenacity: c.maxmemory_eviction_tenacity,
                clients_limit: c.maxmemory_clients.bytes(c.maxmemory),
                lfu_log_factor: c.lfu_log_factor,
                lfu_decay_time: c.lfu_decay_time,
            },
        );
        self.evict.kick();
        crate::logging::set_level(c.tracing_filter());
        self.latency.configure(c.latency_monitor_threshold);
        l.epoch.fetch_add(1, Ordering::Release);
        self.persistence.configure(c);
    }

    /// The parser limits currently configured.
    pub fn parser_limits(&self) -> Limits {
        Limits {
            max_bulk_len: self.live.proto_max_bulk_len.load(Ordering::Relaxed) as usize,
            max_multibulk_len: self.live.max_multibulk_len.load(Ordering::Relaxed) as usize,
            ..Limits::default()
        }
    }

    /// Asks the server to stop (SHUTDOWN, signals, [`crate::ServerHandle::shutdown`]).
    pub fn request_shutdown(&self) {
        self.shutdown_tx.send_replace(true);
    }

    /// Whether shutdown was requested.
    pub fn shutting_down(&self) -> bool {
        *self.shutdown_tx.borrow()
    }

    /// Whether a signalled shutdown is under way (saving or draining).
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// A signal asked the server to stop: from now until [`Shared::end_stopping`]
    /// (a failed final save) `/healthz` answers 503.
    pub fn begin_stopping(&self) {
        *self.stopping_since.lock() = Some(Instant::now());
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// The final save failed: the server goes on serving.
    pub fn end_stopping(&self) {
        self.stopping.store(false, Ordering::Relaxed);
        *self.stopping_since.lock() = None;
    }

    /// When the signalled shutdown began, if one is under way.
    pub fn stopping_since(&self) -> Option<Instant> {
        *self.stopping_since.lock()
    }

    /// A receiver that resolves when shutdown is requested.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }

    /// Seconds since start.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

fn run_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}
