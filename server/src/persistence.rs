//! Persistence glue: RDB snapshots of the keyspace to `dir/dbfilename`, as Redis's
//! `SAVE`, `BGSAVE`, save points, load at start and save at shutdown. The file format
//! lives in `shoal_storage::rdb`; this module decides when to save, where, and what
//! the server reports and refuses meanwhile.
//!
//! * No `fork()`: a save serializes a point-in-time [`Keyspace::snapshot`] (O(shards),
//!   tables shared copy-on-write), BGSAVE on a background thread while the server keeps
//!   serving. The snapshot's tables are released shard by shard as they are written,
//!   so the memory a save holds is what the live keyspace replaced in the shards not
//!   yet written (see `rdb::write_snapshot`).
//! * A background save paces itself (`pacer.rs`): it runs in 100 µs slices on
//!   the CPU the request workers leave idle while allocated memory stays near where it
//!   was, and takes its fair share of the CPU as memory grows towards 5% more, so it
//!   bounds both what it costs the workers and what it holds in memory
//!   (bench/bgsave.sh measures both).
//! * Crash safety: write `dir/temp-<pid>.rdb`, fsync it, rename it over the dump, fsync
//!   the directory. A failed save removes its temporary file and leaves the previous
//!   dump as it was.
//! * Save points (`save "3600 1 300 100"`): a thread checks ten times a second whether
//!   "at least N changes in M seconds" holds, as Redis's `serverCron`; after a failed
//!   background save it waits 5 seconds before trying again.
//! * Changes are counted as Redis's `server.dirty`: each handler counts what it changed
//!   ([`crate::command::Ctx::add_dirty`]: one per key written or deleted, per hash
//!   field set or deleted, per TTL set or removed, the number of keys a FLUSHDB or
//!   FLUSHALL removed; `MSET a 1 b 2` counts 2, `DEL missing` 0, a failed or refused
//!   write 0) and dispatch adds the total to its thread's slot of the server's
//!   [`Counters`] once per command (no shared cache line written per command).
//!   The dirty count is that running total minus the total a save covered: a
//!   successful save raises the baseline to the total read when it started (changes
//!   made while it ran stay pending). The count drives save points and INFO
//!   `rdb_changes_since_last_save`.
//! * FLUSHALL ([`Persistence::flushall_save`]) stops a running background save and,
//!   when save points are configured, rewrites the dump from the emptied keyspace at
//!   once, as Redis's `flushAllDataAndResetRDB`, so a restart cannot bring the
//!   flushed keys back; without save points the dump is left alone.
//! * While a failed background save is the latest one and save points are configured
//!   (`stop-writes-on-bgsave-error yes`), write commands and PING get Redis's MISCONF
//!   error; while the dump loads at start, commands without the `loading` flag get
//!   LOADING. Both are one atomic load per command: persistence exposes
//!   [`Persistence::misconf`] and [`Persistence::loading`], the gates in
//!   `dispatch.rs` decide which commands they refuse.
//! * Shutdown: SHUTDOWN saves first when save points are configured or SAVE is given
//!   (not with NOSAVE, never while loading); a failed save refuses the shutdown unless
//!   FORCE. SIGTERM/SIGINT and [`crate::ServerHandle::shutdown`] save on the way out
//!   when save points are configured (a failure is logged and Shoal exits anyway: a
//!   supervisor's SIGKILL would follow otherwise).
//! * The append-only file is not supported (`appendonly` only accepts `no`).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use shoal_storage::rdb::{self, LoadOptions, SaveOptions, SaveStats};
use shoal_storage::{HashLimits, Keyspace, ZsetLimits};

use crate::clock::now_ms;
use crate::config::Config;
use crate::counters::Counters;
use crate::functions::{Functions, Library};
use crate::pacer::Pacer;

/// Gate bit: the dataset is loading.
const GATE_LOADING: u8 = 1;
/// Gate bit: writes are refused after a failed background save.
const GATE_MISCONF: u8 = 2;

/// Seconds to wait after a failed background save before a save point tries again
/// (Redis's `CONFIG_BGSAVE_RETRY_DELAY`).
const RETRY_DELAY_SECS: i64 = 5;

/// How often the save-point thread looks.
pub const CRON_TICK: Duration = Duration::from_millis(100);

/// The persistence settings, copied from the config on every change.
#[derive(Clone, Debug, Default)]
struct Params {
    save_points: Vec<(u64, u64)>,
    stop_writes: bool,
    dir: PathBuf,
    dbfilename: String,
    compress: bool,
    checksum: bool,
    /// Loaded sorted sets stay packed within these (`zset-max-listpack-*`).
    zset_limits: ZsetLimits,
    /// Loaded sets stay intsets up to this many integers (`set-max-intset-entries`).
    set_max_intset: usize,
    /// Loaded hashes stay packed within these (`hash-max-listpack-*`).
    hash_limits: HashLimits,
}

impl Params {
    fn from_config(c: &Config) -> Params {
        let words: Vec<u64> = c
            .save
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        Params {
            save_points: words.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
            stop_writes: c.stop_writes_on_bgsave_error,
            dir: PathBuf::from(&c.dir),
            dbfilename: c.dbfilename.clone(),
            compress: c.rdbcompression,
            checksum: c.rdbchecksum,
            zset_limits: ZsetLimits {
                entries: usize::try_from(c.zset_max_listpack_entries).unwrap_or(usize::MAX),
                value: usize::try_from(c.zset_max_listpack_value).unwrap_or(usize::MAX),
            },
            set_max_intset: usize::try_from(c.set_max_intset_entries).unwrap_or(usize::MAX),
            hash_limits: HashLimits {
                entries: usize::try_from(c.hash_max_listpack_entries).unwrap_or(usize::MAX),
                value: usize::try_from(c.hash_max_listpack_value).unwrap_or(usize::MAX),
            },
        }
    }

    fn dump_path(&self) -> PathBuf {
        self.dir.join(&self.dbfilename)
    }
}

/// What the exit path should do (set by SHUTDOWN).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum ExitSave {
    /// No SHUTDOWN decided: save when save points are configured.
    #[default]
    Default,
    /// SHUTDOWN saved: save again only if writes raced in after its snapshot.
    Saved,
    /// SHUTDOWN NOSAVE (or a load that failed): never save.
    Never,
}

/// A background save in flight.
struct Running {
    started: Instant,
    abort: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct State {
    params: Params,
    running: Option<Running>,
    /// Whether the last background save succeeded (or a SAVE since).
    last_ok: bool,
    /// Duration of the last background save, seconds; -1 before the first.
    last_bgsave_secs: i64,
    /// Unix seconds of the last background save attempt.
    last_try: i64,
    /// Successful saves since start.
    saves: u64,
    /// Unix seconds when loading began, while loading.
    loading_since: Option<i64>,
    last_load_loaded: u64,
    last_load_expired: u64,
    exit: ExitSave,
}

/// Builds a function library from its code (the scripting engine's
/// `create_library`, handed in at start: persistence sits below the engine).
pub type LibraryLoader = fn(&Functions, &[u8], bool, bool) -> Result<Library, String>;

struct Inner {
    gate: AtomicU8,
    /// The function libraries, saved with the keys and loaded back.
    functions: Arc<Functions>,
    /// How libraries read from a dump are built (see [`LibraryLoader`]).
    library_loader: std::sync::OnceLock<LibraryLoader>,
    /// Where changes are counted (Redis's `server.dirty`, as a running total).
    counters: Arc<Counters>,
    /// The running total the last successful save covered (read when it started).
    saved_dirty: AtomicU64,
    /// The server, for background saves to record their outcome in (`last_save`).
    /// Unix seconds of the last successful save (LASTSAVE); start time until then.
    last_save: AtomicI64,
    keys_processed: AtomicU64,
    keys_total: AtomicU64,
    load_bytes: AtomicU64,
    load_total: AtomicU64,
    /// Held while the dump file is written: one writer of `temp-<pid>.rdb` at a time.
    file_lock: Mutex<()>,
    state: Mutex<State>,
}

/// Persistence state, one per server (a field of `Shared`; it holds LASTSAVE's
/// clock in `last_save`).
pub struct Persistence {
    inner: Arc<Inner>,
}

/// Why BGSAVE did not start.
#[derive(Debug)]
pub enum BgsaveError {
    /// A background save is running.
    InProgress,
    /// The dataset is loading.
    Loading,
    /// The save thread could not start.
    Spawn(io::Error),
}

/// Which SHUTDOWN options were given.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShutdownFlags {
    /// SAVE: save even without save points.
    pub save: bool,
    /// NOSAVE: do not save even with save points.
    pub nosave: bool,
    /// FORCE: shut down even if the save fails.
    pub force: bool,
}

impl ShutdownFlags {
    /// The flags of a `shutdown-on-sigterm` / `shutdown-on-sigint` value (`default`,
    /// or space-separated `save`/`nosave`, `now`, `force`).
    pub fn from_config(value: &str) -> ShutdownFlags {
        let has = |flag: &str| value.split_whitespace().any(|w| w == flag);
        ShutdownFlags {
            save: has("save"),
            nosave: has("nosave"),
            force: has("force"),
        }
    }
}

/// The figures of INFO persistence.
#[derive(Debug, Clone, Default)]
pub struct InfoFigures {
    pub loading: bool,
    pub loading_start_time: i64,
    pub loading_total_bytes: u64,
    pub loading_loaded_bytes: u64,
    pub loading_loaded_perc: f64,
    pub loading_eta_seconds: i64,
    pub keys_processed: u64,
    pub keys_total: u64,
    pub fork_perc: f64,
    pub changes_since_last_save: u64,
    pub bgsave_in_progress: bool,
    pub last_save_time: i64,
    pub last_bgsave_ok: bool,
    pub last_bgsave_time_sec: i64,
    pub current_bgsave_time_sec: i64,
    pub saves: u64,
    pub last_load_keys_expired: u64,
    pub last_load_keys_loaded: u64,
}

fn now_secs() -> i64 {
    now_ms() / 1000
}

impl Persistence {
    /// Fresh state of a server started at `started_secs` (unix seconds), whose
    /// changes are counted in `counters`.
    pub fn new(
        started_secs: i64,
        counters: Arc<Counters>,
        functions: Arc<Functions>,
    ) -> Persistence {
        Persistence {
            inner: Arc::new(Inner {
                gate: AtomicU8::new(0),
                functions,
                library_loader: std::sync::OnceLock::new(),
                counters,
                saved_dirty: AtomicU64::new(0),
                last_save: AtomicI64::new(started_secs),
                keys_processed: AtomicU64::new(0),
                keys_total: AtomicU64::new(0),
                load_bytes: AtomicU64::new(0),
                load_total: AtomicU64::new(0),
                file_lock: Mutex::new(()),
                state: Mutex::new(State {
                    params: Params::default(),
                    running: None,
                    last_ok: true,
                    last_bgsave_secs: -1,
                    last_try: 0,
                    saves: 0,
                    loading_since: None,
                    last_load_loaded: 0,
                    last_load_expired: 0,
                    exit: ExitSave::Default,
                }),
            }),
        }
    }

    /// Unix seconds of the last successful save (LASTSAVE); the start time until the
    /// first one.
    pub fn last_save(&self) -> i64 {
        self.inner.last_save.load(Ordering::Relaxed)
    }

    /// Takes the persistence settings from `c` (at start and on CONFIG SET).
    pub fn configure(&self, c: &Config) {
        let mut st = self.inner.state.lock();
        st.params = Params::from_config(c);
        self.inner.update_gate(&st);
    }

    /// The full path of the dump file.
    pub fn dump_path(&self) -> PathBuf {
        self.inner.state.lock().params.dump_path()
    }

    /// Adds `n` changes to the dataset (Redis's `server.dirty += n`; see the module
    /// docs) outside a command (dispatch counts a command's through its counters).
    pub fn add_dirty(&self, n: u64) {
        self.inner.counters.local().dirty(n);
    }

    /// Changes since the last successful save.
    pub fn dirty(&self) -> u64 {
        self.inner.dirty()
    }

    /// Whether the dataset is loading.
    pub fn loading(&self) -> bool {
        self.inner.gate.load(Ordering::Relaxed) & GATE_LOADING != 0
    }

    /// Whether either gate persistence decides is up (LOADING or MISCONF): one load,
    /// for dispatch's fast path.
    #[inline]
    pub fn gated(&self) -> bool {
        self.inner.gate.load(Ordering::Relaxed) != 0
    }

    /// Whether a background save is running.
    pub fn bgsave_in_progress(&self) -> bool {
        self.inner.state.lock().running.is_some()
    }

    /// Whether writes are refused after a failed background save (MISCONF; the
    /// gates in dispatch decide which commands that refuses).
    #[inline]
    pub fn misconf(&self) -> bool {
        self.inner.gate.load(Ordering::Relaxed) & GATE_MISCONF != 0
    }

    /// SAVE: writes the dump now, on the calling thread, from a snapshot (other
    /// clients keep being served). The error is for the log; the client gets `ERR`.
    pub fn save(&self, keyspace: &Keyspace) -> Result<SaveStats, String> {
        self.inner.save_now(keyspace)
    }

    /// FLUSHALL's part, once the keyspace is empty (Redis's `flushAllDataAndResetRDB`):
    /// stops a running background save, whose snapshot predates the flush and would
    /// bring the flushed keys back at the next start, then, when save points are
    /// configured, rewrites the dump from the (now empty) keyspace on this thread.
    ///
    /// As Redis 7.0's `rdbSave` there: success resets the change counter (FLUSHALL's
    /// own changes included, so the caller counts them first), sets LASTSAVE and the
    /// status to ok, but is not counted in `rdb_saves`; a failure is only logged
    /// (FLUSHALL still replies OK) and leaves the counter and the status as they were.
    /// Without save points the dump on disk is left as it is.
    ///
    /// `snapshot` takes the snapshot to write (`Keyspace::snapshot`, or, in a group of
    /// commands holding every shard, `Keyspace::snapshot_with` its shards).
    pub fn flushall_save(&self, snapshot: impl FnOnce() -> Keyspace) {
        self.abort_bgsave();
        let configured = !self.inner.state.lock().params.save_points.is_empty();
        if configured {
            // The error is logged by the save itself.
            let _ = self.inner.save_sync(snapshot, false);
        }
    }

    /// BGSAVE: takes a snapshot (`snapshot`, as for [`Persistence::flushall_save`])
    /// and writes it on a background thread.
    pub fn bgsave(&self, snapshot: impl FnOnce() -> Keyspace) -> Result<(), BgsaveError> {
        Inner::bgsave(&self.inner, snapshot)
    }

    /// Stops a running background save and waits for it (its temporary file is
    /// removed; its outcome is not an error). Used on shutdown and by FLUSHALL, where
    /// Redis kills its child.
    pub fn abort_bgsave(&self) {
        let running = self.inner.state.lock().running.take();
        if let Some(mut r) = running {
            tracing::warn!("There is a background save in progress. Stopping it!");
            r.abort.store(true, Ordering::Relaxed);
            if let Some(t) = r.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// SHUTDOWN's save: decides per the flags and save points, saves, and records that
    /// the exit path must not save again. `Err` (the save's error) when the save
    /// failed without FORCE: the server must keep running.
    pub fn shutdown_save(&self, keyspace: &Keyspace, f: ShutdownFlags) -> Result<(), String> {
        self.abort_bgsave();
        let loading = self.loading();
        let configured = !self.inner.state.lock().params.save_points.is_empty();
        let want = !loading && !f.nosave && (f.save || configured);
        let mode = if want {
            tracing::info!("Saving the final RDB snapshot before exiting.");
            match self.inner.save_now(keyspace) {
                Ok(_) => ExitSave::Saved,
                Err(_) if f.force => {
                    tracing::warn!("Error trying to save the DB. Exit anyway.");
                    ExitSave::Never
                }
                Err(e) => {
                    tracing::warn!("Error trying to save the DB, can't exit.");
                    return Err(e);
                }
            }
        } else {
            ExitSave::Never
        };
        self.inner.state.lock().exit = mode;
        Ok(())
    }

    /// The exit path (after clients are gone): saves as SHUTDOWN decided, or when
    /// save points are configured (signals, [`crate::ServerHandle::shutdown`]).
    pub fn on_exit(&self, keyspace: &Keyspace) {
        self.abort_bgsave();
        if self.loading() {
            return;
        }
        let (mode, configured) = {
            let st = self.inner.state.lock();
            (st.exit, !st.params.save_points.is_empty())
        };
        let save = match mode {
            ExitSave::Default => configured,
            // Writes that raced with SHUTDOWN's snapshot.
            ExitSave::Saved => self.dirty() > 0,
            ExitSave::Never => false,
        };
        if save {
            tracing::info!("Saving the final RDB snapshot before exiting.");
            if self.inner.save_now(keyspace).is_err() {
                tracing::warn!("Error trying to save the DB on exit.");
            }
        }
    }

    /// Loads the dump file, if there is one, into the (empty) keyspace; clients get
    /// LOADING meanwhile. A missing file is a fresh start; an unreadable or corrupt one
    /// is an error naming the file and the offset (the file is left as it is, the
    /// keyspace emptied, and the server must not start).
    pub fn load_at_start(&self, keyspace: &Keyspace) -> io::Result<()> {
        let (dir, zset_limits, set_max_intset, hash_limits) = {
            let st = self.inner.state.lock();
            (
                st.params.dir.clone(),
                st.params.zset_limits,
                st.params.set_max_intset,
                st.params.hash_limits,
            )
        };
        check_dir_at_start(&dir)?;
        remove_leftover_temp_files(&dir);
        let ks = keyspace;
        let path = self.dump_path();
        let shown = path.display();
        let size = match fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                return Err(io::Error::other(format!(
                    "the dump file {shown} is a directory"
                )))
            }
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot access the dump file {shown}: {e}"),
                ))
            }
        };
        self.inner.gate.fetch_or(GATE_LOADING, Ordering::Relaxed);
        self.inner.load_total.store(size, Ordering::Relaxed);
        self.inner.load_bytes.store(0, Ordering::Relaxed);
        self.inner.state.lock().loading_since = Some(now_secs());
        let started = Instant::now();
        let result = File::open(&path)
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot open the dump file {shown}: {e}"))
            })
            .and_then(|mut file| {
                let opts = LoadOptions {
                    now_ms: now_ms(),
                    progress: Some(&self.inner.load_bytes),
                    zset_limits,
                    set_max_intset_entries: Some(set_max_intset),
                    hash_limits,
                };
                let stats = rdb::read(&mut file, ks, &opts).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "cannot load the dump file {shown}: {e}; the file was left as it is"
                        ),
                    )
                })?;
                self.load_functions(&stats.functions).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "cannot load the dump file {shown}: its function library \
                             failed: {e}; the file was left as it is"
                        ),
                    )
                })?;
                Ok(stats)
            });
        let mut st = self.inner.state.lock();
        st.loading_since = None;
        match result {
            Ok(stats) => {
                st.last_load_loaded = stats.keys_loaded;
                st.last_load_expired = stats.keys_expired;
                drop(st);
                let ver = stats
                    .aux
                    .iter()
                    .find(|(k, _)| k == "redis-ver")
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("?");
                tracing::info!(
                    keys = stats.keys_loaded,
                    expired = stats.keys_expired,
                    bytes = stats.bytes,
                    rdb_version = stats.version,
                    redis_ver = ver,
                    "DB loaded from disk: {:.3} seconds",
                    started.elapsed().as_secs_f64()
                );
                self.inner.gate.fetch_and(!GATE_LOADING, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                // The server will not start: nothing half-loaded stays, no exit save.
                st.exit = ExitSave::Never;
                drop(st);
                drop(ks.flush_all());
                tracing::error!("{e}");
                Err(e)
            }
        }
    }

    /// Creates the function libraries a dump holds (replacing none: a library twice
    /// is an error, as in Redis). `Err` is Redis's text.
    fn load_functions(&self, codes: &[Vec<u8>]) -> Result<(), String> {
        if codes.is_empty() {
            return Ok(());
        }
        let functions = &self.inner.functions;
        let Some(load) = self.inner.library_loader.get() else {
            return Err(crate::error::NO_SCRIPTING_ENGINE.to_string());
        };
        let mut libs = Vec::with_capacity(codes.len());
        for code in codes {
            libs.push(load(functions, code, true, false)?);
        }
        functions.install_all(libs, crate::functions::RestorePolicy::Append)
    }

    /// Hands in how function libraries are built (the server does, at start).
    pub fn set_library_loader(&self, load: LibraryLoader) {
        let _ = self.inner.library_loader.set(load);
    }

    /// One save-point check (Redis's `serverCron`): starts a background save when
    /// "at least `changes` changes in `seconds` seconds" holds for a save point.
    pub fn cron(&self, keyspace: &Keyspace) {
        let due = {
            let st = self.inner.state.lock();
            if st.running.is_some() || st.loading_since.is_some() || self.loading() {
                return;
            }
            let now = now_secs();
            let dirty = self.dirty();
            let since = now - self.last_save();
            let may_retry = st.last_ok || now - st.last_try > RETRY_DELAY_SECS;
            st.params
                .save_points
                .iter()
                .find(|(secs, changes)| dirty >= *changes && since > *secs as i64 && may_retry)
                .copied()
        };
        if let Some((secs, changes)) = due {
            tracing::info!("{changes} changes in {secs} seconds. Saving...");
            if let Err(e) = self.bgsave(|| keyspace.snapshot()) {
                tracing::warn!("save point could not start a background save: {e:?}");
            }
        }
    }

    /// The figures INFO persistence shows.
    pub fn info(&self) -> InfoFigures {
        let inner = &self.inner;
        let st = inner.state.lock();
        let keys_processed = inner.keys_processed.load(Ordering::Relaxed);
        let keys_total = inner.keys_total.load(Ordering::Relaxed);
        let running = st.running.as_ref();
        let mut f = InfoFigures {
            loading: self.loading(),
            changes_since_last_save: self.dirty(),
            bgsave_in_progress: running.is_some(),
            last_save_time: self.last_save(),
            last_bgsave_ok: st.last_ok,
            last_bgsave_time_sec: st.last_bgsave_secs,
            current_bgsave_time_sec: running.map_or(-1, |r| r.started.elapsed().as_secs() as i64),
            saves: st.saves,
            last_load_keys_expired: st.last_load_expired,
            last_load_keys_loaded: st.last_load_loaded,
            ..InfoFigures::default()
        };
        if running.is_some() {
            f.keys_processed = keys_processed;
            f.keys_total = keys_total;
            if keys_total > 0 {
                f.fork_perc = keys_processed as f64 * 100.0 / keys_total as f64;
            }
        }
        if f.loading {
            let start = st.loading_since.unwrap_or_else(now_secs);
            let total = inner.load_total.load(Ordering::Relaxed);
            let loaded = inner.load_bytes.load(Ordering::Relaxed);
            let elapsed = (now_secs() - start).max(0);
            f.loading_start_time = start;
            f.loading_total_bytes = total;
            f.loading_loaded_bytes = loaded;
            f.loading_loaded_perc = if total > 0 {
                loaded as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            f.loading_eta_seconds = if loaded > 0 && total >= loaded {
                ((total - loaded) as f64 * elapsed as f64 / loaded as f64) as i64
            } else {
                1
            };
        }
        f
    }
}

impl Inner {
    fn dirty(&self) -> u64 {
        self.counters
            .dirty_total()
            .saturating_sub(self.saved_dirty.load(Ordering::Relaxed))
    }

    fn update_gate(&self, st: &State) {
        let misconf = st.params.stop_writes && !st.params.save_points.is_empty() && !st.last_ok;
        if misconf {
            self.gate.fetch_or(GATE_MISCONF, Ordering::Relaxed);
        } else {
            self.gate.fetch_and(!GATE_MISCONF, Ordering::Relaxed);
        }
    }

    fn save_now(&self, keyspace: &Keyspace) -> Result<SaveStats, String> {
        self.save_sync(|| keyspace.snapshot(), true)
    }

    /// A save on the calling thread; `counted`: whether a success counts in
    /// `rdb_saves` (SAVE, SHUTDOWN) or not (FLUSHALL's rewrite, as in Redis).
    fn save_sync(
        &self,
        snapshot: impl FnOnce() -> Keyspace,
        counted: bool,
    ) -> Result<SaveStats, String> {
        let params = self.state.lock().params.clone();
        let dirty_before = self.counters.dirty_total();
        let started = Instant::now();
        // The file lock before the snapshot: saves on different threads (SAVE and
        // FLUSHALL's rewrite) land in the order of their snapshots.
        let writer = self.file_lock.lock();
        let functions = self.functions.codes();
        let result = write_dump_locked(self, snapshot(), functions, &params, None);
        drop(writer);
        let mut st = self.state.lock();
        match &result {
            Ok(stats) => {
                self.saved(&mut st, dirty_before, counted);
                tracing::info!(
                    keys = stats.keys,
                    bytes = stats.bytes,
                    "DB saved on disk in {:.3} seconds",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(e) => tracing::error!("{e}"),
        }
        result
    }

    /// Bookkeeping of a successful save (SAVE, BGSAVE, FLUSHALL's), under the state
    /// lock: the changes the save covered (the running total `dirty_before`, read
    /// before its snapshot) are no longer pending.
    fn saved(&self, st: &mut State, dirty_before: u64, counted: bool) {
        self.last_save.store(now_secs(), Ordering::Relaxed);
        self.saved_dirty.fetch_max(dirty_before, Ordering::Relaxed);
        st.last_ok = true;
        if counted {
            st.saves += 1;
        }
        self.update_gate(st);
    }

    fn bgsave(this: &Arc<Inner>, take: impl FnOnce() -> Keyspace) -> Result<(), BgsaveError> {
        let mut st = this.state.lock();
        if st.running.is_some() {
            return Err(BgsaveError::InProgress);
        }
        if this.gate.load(Ordering::Relaxed) & GATE_LOADING != 0 {
            return Err(BgsaveError::Loading);
        }
        let started = Instant::now();
        st.last_try = now_secs();
        let dirty_before = this.counters.dirty_total();
        let snapshot = take();
        let functions = this.functions.codes();
        this.keys_total
            .store(snapshot.total_keys() as u64, Ordering::Relaxed);
        this.keys_processed.store(0, Ordering::Relaxed);
        let params = st.params.clone();
        let abort = Arc::new(AtomicBool::new(false));
        let inner = Arc::clone(this);
        let stop = Arc::clone(&abort);
        let spawned = std::thread::Builder::new()
            .name("shoal-bgsave".into())
            .spawn(move || {
                let result = write_dump(&inner, snapshot, functions, &params, Some(&stop));
                let secs = started.elapsed();
                let mut st = inner.state.lock();
                st.running = None;
                st.last_bgsave_secs = secs.as_secs() as i64;
                match result {
                    Ok(stats) => {
                        inner.saved(&mut st, dirty_before, true);
                        tracing::info!(
                            keys = stats.keys,
                            bytes = stats.bytes,
                            "Background saving terminated with success in {:.3} seconds",
                            secs.as_secs_f64()
                        );
                    }
                    Err(_) if stop.load(Ordering::Relaxed) => {
                        tracing::warn!("Background saving stopped (shutdown or FLUSHALL)");
                    }
                    Err(e) => {
                        st.last_ok = false;
                        inner.update_gate(&st);
                        tracing::error!("Background saving error: {e}");
                    }
                }
            });
        match spawned {
            Ok(thread) => {
                st.running = Some(Running {
                    started,
                    abort,
                    thread: Some(thread),
                });
                tracing::info!("Background saving started");
                Ok(())
            }
            Err(e) => {
                st.last_ok = false;
                this.update_gate(&st);
                tracing::error!("Can't save in background: {e}");
                Err(BgsaveError::Spawn(e))
            }
        }
    }
}

/// Writes `snapshot` to the dump file crash-safely (see the module docs). Consumes
/// the snapshot, releasing it as it goes, before the fsyncs.
fn write_dump(
    inner: &Inner,
    snapshot: Keyspace,
    functions: Vec<Vec<u8>>,
    params: &Params,
    abort: Option<&AtomicBool>,
) -> Result<SaveStats, String> {
    let _one_writer = inner.file_lock.lock();
    write_dump_locked(inner, snapshot, functions, params, abort)
}

/// The name of the temporary file a save writes before renaming it over the dump
/// (Redis's naming: `temp-<pid>.rdb`).
fn temp_file_name(pid: u32) -> String {
    format!("temp-{pid}.rdb")
}

/// Whether `name` is one of Shoal's temporary dump files, `temp-<pid>.rdb`, and the
/// pid it names.
fn temp_file_pid(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("temp-")?.strip_suffix(".rdb")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The OS's text for an I/O error without Rust's ` (os error N)` suffix, as C's
/// `strerror` prints it (`No such file or directory`).
pub fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

/// Whether the data directory can be entered, as Redis's `chdir` checks it (CONFIG SET
/// dir): `Err` carries the `strerror` text (`No such file or directory`, `Not a
/// directory`, `Permission denied`).
pub fn check_dir(dir: &Path) -> Result<(), String> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(strerror(&io::Error::from_raw_os_error(libc::ENOTDIR))),
        Err(e) => Err(strerror(&e)),
    }
}

/// The data directory must exist, be a directory and take new files (saves write
/// `temp-<pid>.rdb` there), or the server does not start: a one-line error in the
/// spirit of Redis's `Can't chdir to '<dir>': No such file or directory`.
fn check_dir_at_start(dir: &Path) -> io::Result<()> {
    let shown = dir.display();
    check_dir(dir).map_err(|why| io::Error::other(format!("Can't chdir to '{shown}': {why}")))?;
    // Probe with the name a save of this process would use (nothing of ours can be
    // using it yet); it is removed at once.
    let probe = dir.join(temp_file_name(std::process::id()));
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        // A leftover of a crashed save under our pid: removed by the cleanup next.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("Can't create files in '{shown}': {}", strerror(&e)),
        )),
    }
}

/// Removes the temporary dump files (`temp-<pid>.rdb`, regular files only) that saves
/// interrupted by a crash or a kill left in `dir`, logging each, unless the pid they
/// name is a running process other than this one (another server sharing the
/// directory may be saving). Other files are never touched; errors only log.
fn remove_leftover_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    let proc_fs = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_file_pid) else {
            continue;
        };
        let path = entry.path();
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        if pid != me && proc_fs && Path::new(&format!("/proc/{pid}")).exists() {
            tracing::info!(
                "Leaving {} alone: process {pid} is running and may be saving",
                path.display()
            );
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => tracing::warn!(
                "Removed the temporary RDB file {} left by an interrupted save",
                path.display()
            ),
            Err(e) => tracing::warn!(
                "Cannot remove the leftover temporary RDB file {}: {}",
                path.display(),
                strerror(&e)
            ),
        }
    }
}

/// [`write_dump`] for a caller that holds `file_lock`.
fn write_dump_locked(
    inner: &Inner,
    snapshot: Keyspace,
    functions: Vec<Vec<u8>>,
    params: &Params,
    abort: Option<&AtomicBool>,
) -> Result<SaveStats, String> {
    let tmp = params.dir.join(temp_file_name(std::process::id()));
    let target = params.dump_path();
    let result = write_and_rename(inner, snapshot, functions, params, abort, &tmp, &target);
    if result.is_err() {
        // Leave nothing behind but the previous dump (ignore "not there").
        if fs::symlink_metadata(&tmp).is_ok_and(|m| m.is_file()) {
            let _ = fs::remove_file(&tmp);
        }
    }
    result
}

fn write_and_rename(
    inner: &Inner,
    snapshot: Keyspace,
    functions: Vec<Vec<u8>>,
    params: &Params,
    abort: Option<&AtomicBool>,
    tmp: &Path,
    target: &Path,
) -> Result<SaveStats, String> {
    let dir = params.dir.display();
    let mut file = File::create(tmp).map_err(|e| {
        format!(
            "Failed opening the temp RDB file {} (in server root dir {dir}) for saving: {e}",
            tmp.display()
        )
    })?;
    // Only a background save paces itself: SAVE and shutdown saves have the CPU to
    // themselves (the clients wait for them anyway).
    let pacer = abort.map(|_| Pacer::new());
    let pace = pacer.as_ref().map(|p| move || p.pace());
    let opts = SaveOptions {
        compress: params.compress,
        checksum: params.checksum,
        now_ms: now_ms(),
        aux: aux_fields(),
        functions,
        abort,
        progress: Some(&inner.keys_processed),
        pace: pace.as_ref().map(|f| f as &dyn Fn()),
    };
    let stats = rdb::write_snapshot(snapshot, &mut file, &opts)
        .map_err(|e| format!("Write error saving DB on disk ({}): {e}", tmp.display()))?;

    file.sync_all()
        .map_err(|e| format!("Failed to fsync {}: {e}", tmp.display()))?;
    drop(file);
    fs::rename(tmp, target).map_err(|e| {
        format!(
            "Error moving temp DB file {} on the final destination {}: {e}",
            tmp.display(),
            target.display()
        )
    })?;
    File::open(&params.dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("Failed to fsync directory {dir}: {e}"))?;
    Ok(stats)
}

/// The auxiliary fields Redis 7.0 writes (without replication info).
fn aux_fields() -> Vec<(String, String)> {
    let used = crate::memory::used();
    vec![
        ("redis-ver".into(), "7.0.15".into()),
        ("redis-bits".into(), (usize::BITS).to_string()),
        ("ctime".into(), now_secs().to_string()),
        ("used-mem".into(), used.to_string()),
        ("aof-base".into(), "0".into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_file_names() {
        assert_eq!(temp_file_name(42), "temp-42.rdb");
        assert_eq!(temp_file_pid("temp-42.rdb"), Some(42));
        assert_eq!(
            temp_file_pid(&temp_file_name(std::process::id())),
            Some(std::process::id())
        );
        for other in [
            "temp-.rdb",
            "temp-4x2.rdb",
            "temp-42.rdb.bak",
            "xtemp-42.rdb",
            "temp-42.RDB",
            "temp--1.rdb",
            "temp-99999999999.rdb",
            "dump.rdb",
        ] {
            assert_eq!(temp_file_pid(other), None, "{other}");
        }
    }

    #[test]
    fn strerror_texts() {
        assert_eq!(
            strerror(&io::Error::from_raw_os_error(libc::ENOENT)),
            "No such file or directory"
        );
        assert_eq!(
            check_dir(Path::new("/no/such/dir")),
            Err("No such file or directory".into())
        );
        assert_eq!(
            check_dir(Path::new("/proc/self/status")),
            Err("Not a directory".into())
        );
        assert_eq!(check_dir(Path::new(".")), Ok(()));
    }
}
