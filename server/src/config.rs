//! Shoal's configuration: one table of parameters, four sources, one validator.
//!
//! Every parameter is described exactly once, in [`PARAMS`]: its Redis name, its
//! environment variable, its default, whether `CONFIG SET` may change it, its help line,
//! and a getter/setter pair. Everything else reads that table:
//!
//! * the config file (`config.toml`), the `SHOAL_*` environment variables and the
//!   command-line flags all feed values through the same setter, so a value refused by
//!   `CONFIG SET` at runtime is refused with the same rule at startup;
//! * `shoal --help` is generated from it (every flag with its env var and default);
//! * `CONFIG GET` / `CONFIG SET` and [`Config::param_names`] use it, so a new parameter
//!   is one row (plus a struct field) and cannot be forgotten by one of the sources.
//!
//! Precedence, lowest to highest: built-in defaults < config file < environment
//! (`SHOAL_<NAME>`, name upper-cased with `-` turned into `_`) < command-line flags
//! (`--<name>`). Names are Redis's config names (`proto-max-bulk-len`), which are valid
//! TOML bare keys, so the same word is used in the file, in `CONFIG GET/SET` and (as
//! `--proto-max-bulk-len` / `SHOAL_PROTO_MAX_BULK_LEN`) on the command line.
//!
//! The file is found as: `--config PATH`, else `SHOAL_CONFIG`, else `./config.toml` when
//! it exists, else none. An empty path (`--config ''`) means "no file, defaults only".
//!
//! Values are written the way Redis accepts them: memory sizes as bytes or with a
//! `k`/`kb`/`m`/`mb`/`g`/`gb` suffix (Redis's `memtoull`), booleans as `yes`/`no`, enums
//! case-insensitively. In the TOML file integers, booleans and (for `bind`) arrays of
//! strings are accepted too. Errors name the key and where the bad value came from.
//!
//! Loading is pure apart from reading the file and the environment: no directory is
//! created, no port is probed. Whoever uses a value (listener, persistence) checks that
//! it works.

use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::error::{config_reason, CmdError};

/// File read when neither `--config` nor `SHOAL_CONFIG` names one (relative to the
/// working directory; skipped when it does not exist).
pub const DEFAULT_CONFIG_FILE: &str = "config.toml";

/// Environment variable naming the config file (same as `--config`).
const CONFIG_ENV: &str = "SHOAL_CONFIG";

const KB: u64 = 1024;
const MB: u64 = 1024 * KB;
const GB: u64 = 1024 * MB;

/// Shoal's whole configuration. Field names are the Redis names with `_` for `-`.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Addresses to listen on (Redis's space-separated `bind`).
    pub bind: Vec<String>,
    /// TCP port; 0 picks a free port.
    pub port: u16,
    /// Number of logical databases.
    pub databases: usize,
    /// Expected number of keys; tables are preallocated for it.
    pub capacity: usize,
    /// Shards per database; 0 = auto, else a power of two.
    pub shards: usize,
    pub maxclients: usize,
    /// Listen backlog (Redis's `tcp-backlog`).
    pub tcp_backlog: u32,
    /// Refuse non-loopback clients while no password is set and Shoal listens on
    /// non-loopback addresses (Redis's protected mode).
    pub protected_mode: bool,
    /// Who may change protected (file path) parameters with CONFIG SET: `no`, `yes`,
    /// `local` (loopback clients only).
    pub enable_protected_configs: String,
    /// Who may run DEBUG: `no`, `yes`, or `local` (loopback clients).
    pub enable_debug_command: String,
    /// What SIGTERM does: `default`, or flags among `save`/`nosave`, `now`, `force`
    /// (space-separated, canonical order), as Redis's `shutdown-on-sigterm`.
    pub shutdown_on_sigterm: String,
    /// Same for SIGINT.
    pub shutdown_on_sigint: String,
    /// Seconds a signalled shutdown waits for connections to finish what they were
    /// running (Redis's `shutdown-timeout`, which waits for replicas).
    pub shutdown_timeout: u64,
    /// Port of the HTTP listener for `/metrics` and `/healthz`; 0 = none.
    pub metrics_port: u16,
    /// `human` (default) or `json`: how log lines are written.
    pub log_format: String,
    /// Milliseconds; commands and events slower than this are recorded for LATENCY
    /// (0 = off).
    pub latency_monitor_threshold: u64,
    /// Whether per-command latency histograms are kept (INFO latencystats).
    pub latency_tracking: bool,
    /// Percentiles INFO latencystats shows, canonical (`50 99 99.9`).
    pub latency_tracking_info_percentiles: String,
    /// Idle seconds before a client is closed; 0 = never.
    pub timeout: u64,
    /// Seconds; 0 = no keepalive.
    pub tcp_keepalive: u64,
    /// Empty = no password.
    pub requirepass: String,
    /// Canonical lower-case level name as accepted by `set`; see [`Config::tracing_filter`].
    pub loglevel: String,
    /// Empty = stderr.
    pub logfile: String,
    /// Bytes.
    pub proto_max_bulk_len: u64,
    /// Bytes.
    pub client_query_buffer_limit: u64,
    pub max_multibulk_len: u64,
    pub hz: u32,
    pub active_expire_effort: u32,
    /// Bytes; 0 = no limit.
    pub maxmemory: u64,
    /// `maxmemory` is the default taken from the cgroup's limit.
    pub maxmemory_from_cgroup: bool,
    pub maxmemory_policy: String,
    /// `maxmemory-samples`: keys sampled per eviction round.
    pub maxmemory_samples: u32,
    /// `maxmemory-eviction-tenacity`, 0 to 100.
    pub maxmemory_eviction_tenacity: u32,
    /// `maxmemory-clients`: bytes, or a percentage of maxmemory; 0 = no limit.
    pub maxmemory_clients: ClientsLimit,
    pub lfu_log_factor: u32,
    /// Minutes.
    pub lfu_decay_time: u32,
    /// `client-output-buffer-limit`, canonical: `normal h s t slave h s t pubsub h s
    /// t` (bytes, bytes, seconds; 0 = no limit).
    pub client_output_buffer_limit: String,
    /// `notify-keyspace-events` flags (`crate::notify::class` bits; 0 = off). Kept as
    /// bits, not as the canonical string: Redis's string drops `n` next to `A`.
    pub notify_keyspace_events: u32,
    /// `tracking-table-max-keys`: keys the client-side caching table may hold (0 =
    /// no limit).
    pub tracking_table_max_keys: u64,
    /// `"seconds changes ..."` pairs, normalised to single spaces; empty = none.
    pub save: String,
    pub dir: String,
    pub dbfilename: String,
    /// Refuse writes (MISCONF) while the last background save failed.
    pub stop_writes_on_bgsave_error: bool,
    /// LZF-compress strings over 20 bytes in RDB files.
    pub rdbcompression: bool,
    /// Write (and check) the RDB files' CRC-64.
    pub rdbchecksum: bool,
    /// Microseconds; negative = off, 0 = log everything.
    pub slowlog_log_slower_than: i64,
    /// Milliseconds a script may run before other clients get BUSY (0 = never);
    /// alias `lua-time-limit`.
    pub busy_reply_threshold: i64,
    pub slowlog_max_len: u64,
    /// Most named snapshots (SNAPSHOT CREATE); 0 = none allowed.
    pub maxsnapshots: u64,
    /// Most members a sorted set keeps packed (`listpack`); alias
    /// `zset-max-ziplist-entries`.
    pub zset_max_listpack_entries: u64,
    /// Longest member a packed sorted set keeps, bytes; alias `zset-max-ziplist-value`.
    pub zset_max_listpack_value: u64,
    /// Most integers a set keeps as an intset (`set-max-intset-entries`).
    pub set_max_intset_entries: u64,
    /// `hash-max-listpack-entries` (alias `hash-max-ziplist-entries`): most fields a
    /// packed hash keeps (later writes, loads and RESTORE follow a change).
    pub hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value` (alias `hash-max-ziplist-value`): longest field or
    /// value a packed hash keeps, bytes.
    pub hash_max_listpack_value: u64,
    /// `list-max-listpack-size` (alias `list-max-ziplist-size`): Redis's quicklist
    /// node size. Accepted and reported; Shoal's list chunks have a fixed size.
    pub list_max_listpack_size: i64,
    /// `list-compress-depth`: accepted and reported; Shoal does not compress lists.
    pub list_compress_depth: i64,
    /// Absolute path of the file that was loaded, if any (for `INFO` and
    /// `CONFIG REWRITE`).
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: vec!["127.0.0.1".to_string()],
            port: 6379,
            databases: 16,
            capacity: 100_000,
            shards: 0,
            maxclients: 10_000,
            tcp_backlog: 511,
            protected_mode: true,
            enable_protected_configs: "no".to_string(),
            enable_debug_command: "no".to_string(),
            shutdown_on_sigterm: "default".to_string(),
            shutdown_on_sigint: "default".to_string(),
            shutdown_timeout: 10,
            metrics_port: 0,
            log_format: "human".to_string(),
            latency_monitor_threshold: 0,
            latency_tracking: true,
            latency_tracking_info_percentiles: "50 99 99.9".to_string(),
            timeout: 0,
            tcp_keepalive: 300,
            requirepass: String::new(),
            loglevel: "notice".to_string(),
            logfile: String::new(),
            proto_max_bulk_len: 512 * MB,
            client_query_buffer_limit: GB,
            max_multibulk_len: i32::MAX as u64,
            hz: 10,
            active_expire_effort: 1,
            maxmemory: 0,
            maxmemory_from_cgroup: false,
            maxmemory_policy: "noeviction".to_string(),
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            maxmemory_clients: ClientsLimit::Bytes(0),
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            client_output_buffer_limit: DEFAULT_OUTPUT_BUFFER_LIMITS.to_string(),
            notify_keyspace_events: 0,
            tracking_table_max_keys: 1_000_000,
            save: String::new(),
            dir: ".".to_string(),
            dbfilename: "dump.rdb".to_string(),
            stop_writes_on_bgsave_error: true,
            rdbcompression: true,
            rdbchecksum: true,
            slowlog_log_slower_than: 10_000,
            busy_reply_threshold: 5000,
            slowlog_max_len: 128,
            maxsnapshots: 16,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            set_max_intset_entries: 512,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            config_file: None,
        }
    }
}

/// Written by hand so that `{:?}` in a log line never shows the password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let requirepass = if self.requirepass.is_empty() {
            ""
        } else {
            "<redacted>"
        };
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("databases", &self.databases)
            .field("capacity", &self.capacity)
            .field("shards", &self.shards)
            .field("maxclients", &self.maxclients)
            .field("tcp_backlog", &self.tcp_backlog)
            .field("protected_mode", &self.protected_mode)
            .field("enable_protected_configs", &self.enable_protected_configs)
            .field("enable_debug_command", &self.enable_debug_command)
            .field("shutdown_on_sigterm", &self.shutdown_on_sigterm)
            .field("shutdown_on_sigint", &self.shutdown_on_sigint)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("metrics_port", &self.metrics_port)
            .field("log_format", &self.log_format)
            .field("latency_monitor_threshold", &self.latency_monitor_threshold)
            .field("latency_tracking", &self.latency_tracking)
            .field(
                "latency_tracking_info_percentiles",
                &self.latency_tracking_info_percentiles,
            )
            .field("timeout", &self.timeout)
            .field("tcp_keepalive", &self.tcp_keepalive)
            .field("requirepass", &requirepass)
            .field("loglevel", &self.loglevel)
            .field("logfile", &self.logfile)
            .field("proto_max_bulk_len", &self.proto_max_bulk_len)
            .field("client_query_buffer_limit", &self.client_query_buffer_limit)
            .field("max_multibulk_len", &self.max_multibulk_len)
            .field("hz", &self.hz)
            .field("active_expire_effort", &self.active_expire_effort)
            .field("maxmemory", &self.maxmemory)
            .field("maxmemory_policy", &self.maxmemory_policy)
            .field("maxmemory_samples", &self.maxmemory_samples)
            .field(
                "maxmemory_eviction_tenacity",
                &self.maxmemory_eviction_tenacity,
            )
            .field("maxmemory_clients", &self.maxmemory_clients)
            .field("lfu_log_factor", &self.lfu_log_factor)
            .field("lfu_decay_time", &self.lfu_decay_time)
            .field("notify_keyspace_events", &self.notify_keyspace_events)
            .field("tracking_table_max_keys", &self.tracking_table_max_keys)
            .field("save", &self.save)
            .field("dir", &self.dir)
            .field("dbfilename", &self.dbfilename)
            .field(
                "stop_writes_on_bgsave_error",
                &self.stop_writes_on_bgsave_error,
            )
            .field("zset_max_listpack_entries", &self.zset_max_listpack_entries)
            .field("zset_max_listpack_value", &self.zset_max_listpack_value)
            .field("set_max_intset_entries", &self.set_max_intset_entries)
            .field("hash_max_listpack_entries", &self.hash_max_listpack_entries)
            .field("hash_max_listpack_value", &self.hash_max_listpack_value)
            .field("rdbcompression", &self.rdbcompression)
            .field("rdbchecksum", &self.rdbchecksum)
            .field("slowlog_log_slower_than", &self.slowlog_log_slower_than)
            .field("busy_reply_threshold", &self.busy_reply_threshold)
            .field("slowlog_max_len", &self.slowlog_max_len)
            .field("maxsnapshots", &self.maxsnapshots)
            .field("config_file", &self.config_file)
            .finish()
    }
}

/// A configuration that could not be loaded. The message is one line and names the key
/// and the source, e.g. `invalid value for 'port' (from SHOAL_PORT): 'abc' is not an
/// integer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Where `maxmemory` came from (INFO `maxmemory_source`).
    pub fn maxmemory_source(&self) -> &'static str {
        if self.maxmemory_from_cgroup {
            "cgroup"
        } else if self.maxmemory != 0 {
            "config"
        } else {
            "none"
        }
    }

    /// When `maxmemory` is 0 at start-up (unset, or 0 as in the shipped config.toml):
    /// 80% of the cgroup's memory limit, if there is one (`maxmemory_source` in INFO
    /// memory tells which applied). A process without a limit in a memory-limited
    /// container would be killed by the kernel instead; CONFIG SET maxmemory 0 still
    /// lifts it. The binary calls it; embedders decide for themselves.
    pub fn apply_cgroup_default(&mut self) {
        if self.maxmemory != 0 {
            return;
        }
        if let Some(limit) = crate::memory::cgroup_limit() {
            self.maxmemory = limit / 100 * crate::memory::CGROUP_SHARE_PERCENT;
            self.maxmemory_from_cgroup = true;
        }
    }
}

impl Config {
    /// Builds the configuration from `args` (first item = program name), the process
    /// environment and the config file, with the precedence described in the module doc.
    ///
    /// `--help` and `--version` are handled by clap, which prints to stdout and **exits
    /// the process with status 0**; this function does not return in that case. Any
    /// other problem (bad flag, bad value, unreadable file) is returned as a
    /// [`ConfigError`].
    ///
    /// Environment values that are not valid UTF-8 are read lossily (and then usually
    /// rejected by the parameter's validation).
    pub fn load_from_args<I, T>(args: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let env = |key: &str| std::env::var_os(key).map(|v| v.to_string_lossy().into_owned());
        match load_with_env(args, &env) {
            Ok(config) => Ok(config),
            Err(LoadError::Config(e)) => Err(e),
            Err(LoadError::Exit(e)) => e.exit(),
        }
    }

    /// Defaults overlaid with the TOML file at `path` (no environment, no flags).
    pub fn load_from_file(path: &Path) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        apply_file(&mut config, path)?;
        config.config_file = Some(absolute(path));
        Ok(config)
    }

    /// The value of parameter `name` (case-insensitive) as `CONFIG GET` shows it: memory
    /// as a plain byte count, booleans as `yes`/`no`, `bind` space-joined. `None` when
    /// there is no such parameter.
    pub fn get(&self, name: &str) -> Option<String> {
        find_param(name).map(|p| (p.get)(self))
    }

    /// `CONFIG SET name value` for one parameter (`name` case-insensitive). On error
    /// nothing changes and the `Err` renders Redis 7's error text, e.g. `ERR CONFIG SET
    /// failed (possibly related to argument 'port') - can't set immutable config`. A
    /// multi-pair `CONFIG SET` is atomic if the caller applies all pairs to a clone and
    /// keeps it only when every pair succeeded.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), CmdError> {
        let Some(param) = find_param(name) else {
            return Err(CmdError::config_set_unknown(name.as_bytes()));
        };
        if !param.mutable {
            return Err(CmdError::config_set_immutable(name));
        }
        (param.set)(self, value).map_err(|e| CmdError::config_set_failed(name, &e.redis_text()))
    }

    /// Whether parameter `name` (case-insensitive) exists and CONFIG SET may change it.
    pub fn is_mutable(name: &str) -> bool {
        find_param(name).is_some_and(|p| p.mutable)
    }

    /// Whether parameter `name` names a file or directory, which CONFIG SET may change
    /// only as `enable-protected-configs` allows.
    pub fn is_protected(name: &str) -> bool {
        PROTECTED_PARAMS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name))
    }

    /// Whether a client may change protected parameters: `enable-protected-configs`
    /// is `yes`, or `local` and the client connected over loopback.
    pub fn protected_configs_allowed(&self, local_client: bool) -> bool {
        protected_action_allowed(&self.enable_protected_configs, local_client)
    }

    /// Whether a client may run DEBUG: `enable-debug-command` is `yes`, or `local`
    /// and the client connected over loopback.
    pub fn debug_command_allowed(&self, local_client: bool) -> bool {
        protected_action_allowed(&self.enable_debug_command, local_client)
    }

    /// Every parameter name, in table order (for `CONFIG GET` pattern matching).
    pub fn param_names() -> &'static [&'static str] {
        &PARAM_NAMES
    }

    /// The `tracing` level directive for `loglevel`: `debug`/`verbose` -> `"debug"`,
    /// `notice` -> `"info"`, `warning` -> `"warn"`, `nothing` -> `"off"`; the tracing
    /// names `trace`/`info`/`warn`/`error` map to themselves.
    pub fn tracing_filter(&self) -> &'static str {
        match self.loglevel.as_str() {
            "trace" => "trace",
            "debug" | "verbose" => "debug",
            "warning" | "warn" => "warn",
            "error" => "error",
            "nothing" => "off",
            _ => "info",
        }
    }
}

/// Redis 7.0's default `client-output-buffer-limit`.
pub const DEFAULT_OUTPUT_BUFFER_LIMITS: &str =
    "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

/// The classes of `client-output-buffer-limit`, in CONFIG GET's order.
const OUTPUT_BUFFER_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// One class's `(hard, soft, soft_seconds)` from a canonical
/// `client-output-buffer-limit` value (`normal`, `slave` or `pubsub`).
pub fn output_buffer_limit(canonical: &str, class: &str) -> (u64, u64, u64) {
    let w: Vec<&str> = canonical.split_whitespace().collect();
    w.chunks(4)
        .find(|c| c.len() == 4 && c[0] == class)
        .map(|c| {
            let n = |s: &str| s.parse().unwrap_or(0);
            (n(c[1]), n(c[2]), n(c[3]))
        })
        .unwrap_or((0, 0, 0))
}

/// CONFIG SET client-output-buffer-limit: groups of `class hard soft seconds`
/// (memory units allowed; `replica` = `slave`) change those classes of `current`;
/// the result is canonical (bytes). Redis's errors for a bad group.
fn output_buffer_limits(current: &str, v: &str) -> Result<String, Invalid> {
    let words: Vec<&str> = v.split_whitespace().collect();
    if words.len() % 4 != 0 {
        return Err(Invalid::Other(config_reason::OBL_ARGUMENTS));
    }
    let mut classes: Vec<(u64, u64, u64)> = OUTPUT_BUFFER_CLASSES
        .iter()
        .map(|c| output_buffer_limit(current, c))
        .collect();
    for g in words.chunks(4) {
        let class = match g[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => return Err(Invalid::Other(config_reason::OBL_CLASS)),
        };
        let hard = parse_memory(g[1]);
        let soft = parse_memory(g[2]);
        let secs = g[3].parse::<u64>().ok();
        match (hard, soft, secs) {
            (Some(h), Some(s), Some(t)) => classes[class] = (h, s, t),
            _ => return Err(Invalid::Other(config_reason::OBL_VALUES)),
        }
    }
    Ok(OUTPUT_BUFFER_CLASSES
        .iter()
        .zip(&classes)
        .map(|(n, (h, s, t))| format!("{n} {h} {s} {t}"))
        .collect::<Vec<_>>()
        .join(" "))
}

/// Parses a Redis memory value like Redis's `memtoull`: a byte count, optionally followed
/// by a case-insensitive unit `b`, `k` (1000), `kb` (1024), `m` (1000²), `mb` (1024²),
/// `g` (1000³) or `gb` (1024³). `None` for anything else, including a sign or overflow.
pub fn parse_memory(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if digits.is_empty() {
        return None;
    }
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(mul)
}

// ---------------------------------------------------------------------------------------
// The parameter table
// ---------------------------------------------------------------------------------------

/// How a parameter's value is written; decides which TOML types are accepted and the
/// placeholder shown by `--help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Memory,
    Bool,
    Enum,
    Str,
    List,
}

impl Kind {
    fn value_name(self) -> &'static str {
        match self {
            Kind::Int => "N",
            Kind::Memory => "BYTES",
            Kind::Bool => "yes|no",
            Kind::Enum => "NAME",
            Kind::Str => "STRING",
            Kind::List => "ADDRS",
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Int => "an integer",
            Kind::Memory => {
                "a memory value (an integer number of bytes or a string such as \"512mb\")"
            }
            Kind::Bool => "\"yes\", \"no\" or a boolean",
            Kind::Enum | Kind::Str => "a string",
            Kind::List => "a string or an array of strings",
        }
    }
}

/// One configuration parameter.
struct Param {
    /// Redis name: TOML key, `CONFIG GET/SET` name, `--flag`.
    name: &'static str,
    /// `SHOAL_` + name upper-cased with `-` -> `_` (checked by a test).
    env: &'static str,
    kind: Kind,
    /// Default as written in config.toml and shown by `--help`; parsing it gives the
    /// value in `Config::default()` (checked by a test).
    default: &'static str,
    /// `CONFIG SET` may change it.
    mutable: bool,
    /// Hide the environment value in `--help`.
    sensitive: bool,
    help: &'static str,
    get: fn(&Config) -> String,
    /// Validates and stores; on `Err` the config is unchanged.
    set: fn(&mut Config, &str) -> Result<(), Invalid>,
}

const LOGLEVELS: &[&str] = &[
    "debug", "verbose", "notice", "warning", "nothing", "trace", "info", "warn", "error",
];

/// `log-format` values.
const LOG_FORMATS: &[&str] = &["human", "json"];

/// `enable-protected-configs` and `enable-debug-command` values (Redis's
/// `protected_action_enum`).
const PROTECTED_ACTIONS: &[&str] = &["no", "yes", "local"];

/// Redis's `allowProtectedAction`: `yes`, or `local` for a loopback client.
fn protected_action_allowed(value: &str, local_client: bool) -> bool {
    match value {
        "yes" => true,
        "local" => local_client,
        _ => false,
    }
}

/// `shutdown-on-sigterm` / `shutdown-on-sigint` flags, in Redis's order.
const SHUTDOWN_SIGNAL_FLAGS: &[&str] = &["default", "save", "nosave", "now", "force"];

/// Parameters naming files or directories: CONFIG SET changes them only as
/// `enable-protected-configs` allows (Redis's `PROTECTED_CONFIG`).
const PROTECTED_PARAMS: &[&str] = &["dir", "dbfilename"];

const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
    "allkeys-tinylfu",
];

/// `maxmemory-clients`: bytes, or a percentage of `maxmemory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientsLimit {
    Bytes(u64),
    Percent(u64),
}

impl ClientsLimit {
    fn parse(v: &str) -> Result<ClientsLimit, Invalid> {
        match v.strip_suffix('%') {
            Some(p) => Ok(ClientsLimit::Percent(int(p, 0, 100)?)),
            None => Ok(ClientsLimit::Bytes(memory(v, 0, u64::MAX)?)),
        }
    }

    /// The limit in bytes under `maxmemory` (a percentage of no limit is none).
    pub fn bytes(self, maxmemory: u64) -> u64 {
        match self {
            ClientsLimit::Bytes(b) => b,
            ClientsLimit::Percent(p) => maxmemory / 100 * p,
        }
    }
}

impl fmt::Display for ClientsLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientsLimit::Bytes(b) => write!(f, "{b}"),
            ClientsLimit::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// Redis's own limit on a request's element count (`argc` is an `int`).
const MAX_MULTIBULK: i128 = i32::MAX as i128;
const INT_MAX: i128 = i32::MAX as i128;
const INT_MIN: i128 = i32::MIN as i128;
const LONG_MAX: i128 = i64::MAX as i128;

const PARAMS: &[Param] = &[
    Param {
        name: "bind",
        env: "SHOAL_BIND",
        kind: Kind::List,
        default: "127.0.0.1",
        mutable: false,
        sensitive: false,
        help: "Addresses to listen on, space-separated",
        get: |c| c.bind.join(" "),
        set: |c, v| {
            c.bind = addresses(v)?;
            Ok(())
        },
    },
    Param {
        name: "port",
        env: "SHOAL_PORT",
        kind: Kind::Int,
        default: "6379",
        mutable: false,
        sensitive: false,
        help: "TCP port to listen on (0 = any free port)",
        get: |c| c.port.to_string(),
        set: |c, v| {
            c.port = int(v, 0, 65535)?;
            Ok(())
        },
    },
    Param {
        name: "databases",
        env: "SHOAL_DATABASES",
        kind: Kind::Int,
        default: "16",
        mutable: false,
        sensitive: false,
        help: "Number of databases (SELECT 0 to N-1), 1 to 10000",
        get: |c| c.databases.to_string(),
        set: |c, v| {
            c.databases = int(v, 1, 10_000)?;
            Ok(())
        },
    },
    Param {
        name: "capacity",
        env: "SHOAL_CAPACITY",
        kind: Kind::Int,
        default: "100000",
        mutable: false,
        sensitive: false,
        help: "Expected number of keys; tables are preallocated for it",
        get: |c| c.capacity.to_string(),
        set: |c, v| {
            c.capacity = int(v, 0, 1_000_000_000)?;
            Ok(())
        },
    },
    Param {
        name: "shards",
        env: "SHOAL_SHARDS",
        kind: Kind::Int,
        default: "0",
        mutable: false,
        sensitive: false,
        help: "Shards per database: 0 = auto, else a power of two up to 65536",
        get: |c| c.shards.to_string(),
        set: |c, v| {
            let n: usize = int(v, 0, 65536)?;
            if n != 0 && !n.is_power_of_two() {
                return Err(Invalid::Other(config_reason::SHARDS_NOT_POWER_OF_TWO));
            }
            c.shards = n;
            Ok(())
        },
    },
    Param {
        name: "maxclients",
        env: "SHOAL_MAXCLIENTS",
        kind: Kind::Int,
        default: "10000",
        mutable: true,
        sensitive: false,
        help: "Maximum number of connected clients",
        get: |c| c.maxclients.to_string(),
        set: |c, v| {
            c.maxclients = int(v, 1, u32::MAX.into())?;
            Ok(())
        },
    },
    Param {
        name: "tcp-backlog",
        env: "SHOAL_TCP_BACKLOG",
        kind: Kind::Int,
        default: "511",
        mutable: false,
        sensitive: false,
        help: "Listen backlog: connections the kernel queues before Shoal accepts them (capped by net.core.somaxconn)",
        get: |c| c.tcp_backlog.to_string(),
        set: |c, v| {
            c.tcp_backlog = int(v, 0, INT_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "protected-mode",
        env: "SHOAL_PROTECTED_MODE",
        kind: Kind::Bool,
        default: "yes",
        mutable: true,
        sensitive: false,
        help: "With no password set and a non-loopback bind address, refuse clients that do not connect over loopback",
        get: |c| yes_no_str(c.protected_mode),
        set: |c, v| {
            c.protected_mode = yes_no(v)?;
            Ok(())
        },
    },
    Param {
        name: "enable-protected-configs",
        env: "SHOAL_ENABLE_PROTECTED_CONFIGS",
        kind: Kind::Enum,
        default: "no",
        mutable: false,
        sensitive: false,
        help: "Whether CONFIG SET may change file paths (dir, dbfilename): no, yes, or local (loopback clients only)",
        get: |c| c.enable_protected_configs.clone(),
        set: |c, v| {
            c.enable_protected_configs = one_of(v, PROTECTED_ACTIONS)?.to_string();
            Ok(())
        },
    },
    Param {
        name: "enable-debug-command",
        env: "SHOAL_ENABLE_DEBUG_COMMAND",
        kind: Kind::Enum,
        default: "no",
        mutable: false,
        sensitive: false,
        help: "Who may run DEBUG: no, yes, or local (loopback clients only)",
        get: |c| c.enable_debug_command.clone(),
        set: |c, v| {
            c.enable_debug_command = one_of(v, PROTECTED_ACTIONS)?.to_string();
            Ok(())
        },
    },
    Param {
        name: "shutdown-on-sigterm",
        env: "SHOAL_SHUTDOWN_ON_SIGTERM",
        kind: Kind::Enum,
        default: "default",
        mutable: true,
        sensitive: false,
        help: "What SIGTERM does: default (save if save points are set), or flags save|nosave, now, force, space-separated; a failed save keeps the server running unless force",
        get: |c| c.shutdown_on_sigterm.clone(),
        set: |c, v| {
            c.shutdown_on_sigterm = shutdown_flags(v)?;
            Ok(())
        },
    },
    Param {
        name: "shutdown-on-sigint",
        env: "SHOAL_SHUTDOWN_ON_SIGINT",
        kind: Kind::Enum,
        default: "default",
        mutable: true,
        sensitive: false,
        help: "What SIGINT does, as shutdown-on-sigterm",
        get: |c| c.shutdown_on_sigint.clone(),
        set: |c, v| {
            c.shutdown_on_sigint = shutdown_flags(v)?;
            Ok(())
        },
    },
    Param {
        name: "shutdown-timeout",
        env: "SHOAL_SHUTDOWN_TIMEOUT",
        kind: Kind::Int,
        default: "10",
        mutable: true,
        sensitive: false,
        help: "Seconds SIGTERM/SIGINT wait for connections to finish their commands before exiting",
        get: |c| c.shutdown_timeout.to_string(),
        set: |c, v| {
            c.shutdown_timeout = int(v, 0, INT_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "metrics-port",
        env: "SHOAL_METRICS_PORT",
        kind: Kind::Int,
        default: "0",
        mutable: false,
        sensitive: false,
        help: "HTTP port serving /metrics (Prometheus) and /healthz on the bind addresses, without authentication (0 = none; the RESP port serves both too)",
        get: |c| c.metrics_port.to_string(),
        set: |c, v| {
            c.metrics_port = int(v, 0, 65535)?;
            Ok(())
        },
    },
    Param {
        name: "log-format",
        env: "SHOAL_LOG_FORMAT",
        kind: Kind::Enum,
        default: "human",
        mutable: false,
        sensitive: false,
        help: "Log lines as human-readable text or as one JSON object per line: human or json",
        get: |c| c.log_format.clone(),
        set: |c, v| {
            c.log_format = one_of(v, LOG_FORMATS)?.to_string();
            Ok(())
        },
    },
    Param {
        name: "latency-monitor-threshold",
        env: "SHOAL_LATENCY_MONITOR_THRESHOLD",
        kind: Kind::Int,
        default: "0",
        mutable: true,
        sensitive: false,
        help: "Milliseconds: commands slower than this are recorded for LATENCY LATEST/HISTORY (0 = off)",
        get: |c| c.latency_monitor_threshold.to_string(),
        set: |c, v| {
            c.latency_monitor_threshold = int(v, 0, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "latency-tracking",
        env: "SHOAL_LATENCY_TRACKING",
        kind: Kind::Bool,
        default: "yes",
        mutable: true,
        sensitive: false,
        help: "Show per-command latency percentiles in INFO latencystats",
        get: |c| yes_no_str(c.latency_tracking),
        set: |c, v| {
            c.latency_tracking = yes_no(v)?;
            Ok(())
        },
    },
    Param {
        name: "latency-tracking-info-percentiles",
        env: "SHOAL_LATENCY_TRACKING_INFO_PERCENTILES",
        kind: Kind::Str,
        default: "50 99 99.9",
        mutable: true,
        sensitive: false,
        help: "Percentiles INFO latencystats shows, space-separated, each 0 to 100",
        get: |c| c.latency_tracking_info_percentiles.clone(),
        set: |c, v| {
            c.latency_tracking_info_percentiles = percentiles(v)?;
            Ok(())
        },
    },
    Param {
        name: "timeout",
        env: "SHOAL_TIMEOUT",
        kind: Kind::Int,
        default: "0",
        mutable: true,
        sensitive: false,
        help: "Close a client idle for this many seconds (0 = never)",
        get: |c| c.timeout.to_string(),
        set: |c, v| {
            c.timeout = int(v, 0, INT_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "tcp-keepalive",
        env: "SHOAL_TCP_KEEPALIVE",
        kind: Kind::Int,
        default: "300",
        mutable: true,
        sensitive: false,
        help: "TCP keepalive interval in seconds (0 = off)",
        get: |c| c.tcp_keepalive.to_string(),
        set: |c, v| {
            c.tcp_keepalive = int(v, 0, INT_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "requirepass",
        env: "SHOAL_REQUIREPASS",
        kind: Kind::Str,
        default: "",
        mutable: true,
        sensitive: true,
        help: "Password clients must AUTH with (empty = none)",
        get: |c| c.requirepass.clone(),
        set: |c, v| {
            c.requirepass = v.to_string();
            Ok(())
        },
    },
    Param {
        name: "loglevel",
        env: "SHOAL_LOGLEVEL",
        kind: Kind::Enum,
        default: "notice",
        mutable: true,
        sensitive: false,
        help: "debug, verbose, notice, warning or nothing (also trace, info, warn, error)",
        get: |c| c.loglevel.clone(),
        set: |c, v| {
            c.loglevel = one_of(v, LOGLEVELS)?.to_string();
            Ok(())
        },
    },
    Param {
        name: "logfile",
        env: "SHOAL_LOGFILE",
        kind: Kind::Str,
        default: "",
        mutable: false,
        sensitive: false,
        help: "Log file (empty = stderr)",
        get: |c| c.logfile.clone(),
        set: |c, v| {
            c.logfile = v.to_string();
            Ok(())
        },
    },
    Param {
        name: "proto-max-bulk-len",
        env: "SHOAL_PROTO_MAX_BULK_LEN",
        kind: Kind::Memory,
        default: "512mb",
        mutable: true,
        sensitive: false,
        help: "Largest bulk string a client may send (at least 1mb)",
        get: |c| c.proto_max_bulk_len.to_string(),
        set: |c, v| {
            c.proto_max_bulk_len = memory(v, MB, i64::MAX as u64)?;
            Ok(())
        },
    },
    Param {
        name: "client-query-buffer-limit",
        env: "SHOAL_CLIENT_QUERY_BUFFER_LIMIT",
        kind: Kind::Memory,
        default: "1gb",
        mutable: true,
        sensitive: false,
        help: "Most unprocessed input buffered per client (at least 1mb)",
        get: |c| c.client_query_buffer_limit.to_string(),
        set: |c, v| {
            c.client_query_buffer_limit = memory(v, MB, i64::MAX as u64)?;
            Ok(())
        },
    },
    Param {
        name: "max-multibulk-len",
        env: "SHOAL_MAX_MULTIBULK_LEN",
        kind: Kind::Int,
        default: "2147483647",
        mutable: true,
        sensitive: false,
        help: "Most elements in one request",
        get: |c| c.max_multibulk_len.to_string(),
        set: |c, v| {
            c.max_multibulk_len = int(v, 1, MAX_MULTIBULK)?;
            Ok(())
        },
    },
    Param {
        name: "hz",
        env: "SHOAL_HZ",
        kind: Kind::Int,
        default: "10",
        mutable: true,
        sensitive: false,
        help: "Background cycles per second (active expiry); 0 to 2147483647, clamped to 1..500",
        get: |c| c.hz.to_string(),
        set: |c, v| {
            // Redis takes any int and clamps it (a hint, `updateHZ`); GET shows the
            // clamped value.
            let hz: u32 = int(v, 0, i32::MAX.into())?;
            c.hz = hz.clamp(HZ_MIN, HZ_MAX);
            Ok(())
        },
    },
    Param {
        name: "active-expire-effort",
        env: "SHOAL_ACTIVE_EXPIRE_EFFORT",
        kind: Kind::Int,
        default: "1",
        mutable: true,
        sensitive: false,
        help: "Effort spent expiring keys in the background, 1 to 10",
        get: |c| c.active_expire_effort.to_string(),
        set: |c, v| {
            c.active_expire_effort = int(v, 1, 10)?;
            Ok(())
        },
    },
    Param {
        name: "maxmemory",
        env: "SHOAL_MAXMEMORY",
        kind: Kind::Memory,
        default: "0",
        mutable: true,
        sensitive: false,
        help: "Memory limit (0 = none; unset: 80% of the cgroup's memory limit, if any), kept by maxmemory-policy",
        get: |c| c.maxmemory.to_string(),
        set: |c, v| {
            c.maxmemory = memory(v, 0, u64::MAX)?;
            c.maxmemory_from_cgroup = false;
            Ok(())
        },
    },
    Param {
        name: "client-output-buffer-limit",
        env: "SHOAL_CLIENT_OUTPUT_BUFFER_LIMIT",
        kind: Kind::Str,
        default: DEFAULT_OUTPUT_BUFFER_LIMITS,
        mutable: true,
        sensitive: false,
        help: "Output buffer limits per client class, \"<class> <hard> <soft> <soft-seconds> ...\" (normal, replica, pubsub; 0 = none): past them a client is disconnected",
        get: |c| c.client_output_buffer_limit.clone(),
        set: |c, v| {
            c.client_output_buffer_limit = output_buffer_limits(&c.client_output_buffer_limit, v)?;
            Ok(())
        },
    },
    Param {
        name: "notify-keyspace-events",
        env: "SHOAL_NOTIFY_KEYSPACE_EVENTS",
        kind: Kind::Str,
        default: "",
        mutable: true,
        sensitive: false,
        help: "Keyspace notifications: Redis's flag letters (K, E, then classes g$lshzxetdn or A); empty = off",
        get: |c| crate::notify::flags_string(c.notify_keyspace_events),
        set: |c, v| {
            c.notify_keyspace_events = crate::notify::parse_flags(v)
                .ok_or(Invalid::Other(config_reason::NOTIFY_FLAGS_INVALID))?;
            Ok(())
        },
    },
    Param {
        name: "tracking-table-max-keys",
        env: "SHOAL_TRACKING_TABLE_MAX_KEYS",
        kind: Kind::Int,
        default: "1000000",
        mutable: true,
        sensitive: false,
        help: "Keys the client-side caching (CLIENT TRACKING) table may remember; past it, keys are forgotten with an invalidation (0 = no limit)",
        get: |c| c.tracking_table_max_keys.to_string(),
        set: |c, v| {
            c.tracking_table_max_keys = int(v, 0, i64::MAX.into())?;
            Ok(())
        },
    },
    Param {
        name: "maxmemory-policy",
        env: "SHOAL_MAXMEMORY_POLICY",
        kind: Kind::Enum,
        default: "noeviction",
        mutable: true,
        sensitive: false,
        help: "What to evict at maxmemory (Redis's policy names)",
        get: |c| c.maxmemory_policy.clone(),
        set: |c, v| {
            c.maxmemory_policy = one_of(v, MAXMEMORY_POLICIES)?.to_string();
            Ok(())
        },
    },
    Param {
        name: "maxmemory-samples",
        env: "SHOAL_MAXMEMORY_SAMPLES",
        kind: Kind::Int,
        default: "5",
        mutable: true,
        sensitive: false,
        help: "Keys sampled per eviction round, 1 to 64",
        get: |c| c.maxmemory_samples.to_string(),
        set: |c, v| {
            c.maxmemory_samples = int(v, 1, 64)?;
            Ok(())
        },
    },
    Param {
        name: "maxmemory-eviction-tenacity",
        env: "SHOAL_MAXMEMORY_EVICTION_TENACITY",
        kind: Kind::Int,
        default: "10",
        mutable: true,
        sensitive: false,
        help: "Time a command may spend evicting before the background thread takes over, 0 to 100 (100 = no limit)",
        get: |c| c.maxmemory_eviction_tenacity.to_string(),
        set: |c, v| {
            c.maxmemory_eviction_tenacity = int(v, 0, 100)?;
            Ok(())
        },
    },
    Param {
        name: "maxmemory-clients",
        env: "SHOAL_MAXMEMORY_CLIENTS",
        kind: Kind::Memory,
        default: "0",
        mutable: true,
        sensitive: false,
        help: "Client buffers' total limit, bytes or a percentage of maxmemory (0 = none): past it the biggest clients are disconnected",
        get: |c| c.maxmemory_clients.to_string(),
        set: |c, v| {
            c.maxmemory_clients = ClientsLimit::parse(v)?;
            Ok(())
        },
    },
    Param {
        name: "lfu-log-factor",
        env: "SHOAL_LFU_LOG_FACTOR",
        kind: Kind::Int,
        default: "10",
        mutable: true,
        sensitive: false,
        help: "How many hits it takes to grow an LFU counter (logarithmic)",
        get: |c| c.lfu_log_factor.to_string(),
        set: |c, v| {
            c.lfu_log_factor = int(v, 0, i32::MAX.into())?;
            Ok(())
        },
    },
    Param {
        name: "lfu-decay-time",
        env: "SHOAL_LFU_DECAY_TIME",
        kind: Kind::Int,
        default: "1",
        mutable: true,
        sensitive: false,
        help: "Minutes idle for an LFU counter to lose one (0 = never)",
        get: |c| c.lfu_decay_time.to_string(),
        set: |c, v| {
            c.lfu_decay_time = int(v, 0, i32::MAX.into())?;
            Ok(())
        },
    },
    Param {
        name: "daemonize",
        env: "SHOAL_DAEMONIZE",
        kind: Kind::Bool,
        default: "no",
        mutable: false,
        sensitive: false,
        help: "Must be no: run Shoal in the foreground under a supervisor",
        get: |_| "no".to_string(),
        set: |_, v| {
            if yes_no(v)? {
                return Err(Invalid::Other(config_reason::DAEMONIZE_UNSUPPORTED));
            }
            Ok(())
        },
    },
    Param {
        name: "appendonly",
        env: "SHOAL_APPENDONLY",
        kind: Kind::Bool,
        default: "no",
        mutable: true,
        sensitive: false,
        help: "Must be no: there is no append-only file",
        get: |_| "no".to_string(),
        set: |_, v| {
            if yes_no(v)? {
                return Err(Invalid::Other(config_reason::APPENDONLY_UNSUPPORTED));
            }
            Ok(())
        },
    },
    Param {
        name: "save",
        env: "SHOAL_SAVE",
        kind: Kind::Str,
        default: "",
        mutable: true,
        sensitive: false,
        help: "Save points, \"<seconds> <changes> ...\": BGSAVE after that many changes in that many seconds (empty = none)",
        get: |c| c.save.clone(),
        set: |c, v| {
            c.save = save_points(v)?;
            Ok(())
        },
    },
    Param {
        name: "dir",
        env: "SHOAL_DIR",
        kind: Kind::Str,
        default: ".",
        mutable: true,
        sensitive: false,
        help: "Directory of the RDB dump file (and its temporary file while saving)",
        get: |c| c.dir.clone(),
        set: |c, v| {
            if v.is_empty() {
                return Err(Invalid::Other(config_reason::DIR_EMPTY));
            }
            c.dir = v.to_string();
            Ok(())
        },
    },
    Param {
        name: "dbfilename",
        env: "SHOAL_DBFILENAME",
        kind: Kind::Str,
        default: "dump.rdb",
        mutable: true,
        sensitive: false,
        help: "RDB dump file name inside dir, loaded at start when it exists",
        get: |c| c.dbfilename.clone(),
        set: |c, v| {
            if v.contains(['/', '\\']) {
                return Err(Invalid::Other(config_reason::DBFILENAME_IS_PATH));
            }
            if v.is_empty() {
                return Err(Invalid::Other(config_reason::DBFILENAME_EMPTY));
            }
            c.dbfilename = v.to_string();
            Ok(())
        },
    },
    Param {
        name: "stop-writes-on-bgsave-error",
        env: "SHOAL_STOP_WRITES_ON_BGSAVE_ERROR",
        kind: Kind::Bool,
        default: "yes",
        mutable: true,
        sensitive: false,
        help: "Refuse writes (MISCONF) while the last background save failed and save points are set",
        get: |c| yes_no_str(c.stop_writes_on_bgsave_error),
        set: |c, v| {
            c.stop_writes_on_bgsave_error = yes_no(v)?;
            Ok(())
        },
    },
    Param {
        name: "rdbcompression",
        env: "SHOAL_RDBCOMPRESSION",
        kind: Kind::Bool,
        default: "yes",
        mutable: true,
        sensitive: false,
        help: "LZF-compress strings longer than 20 bytes in RDB files",
        get: |c| yes_no_str(c.rdbcompression),
        set: |c, v| {
            c.rdbcompression = yes_no(v)?;
            Ok(())
        },
    },
    Param {
        name: "rdbchecksum",
        env: "SHOAL_RDBCHECKSUM",
        kind: Kind::Bool,
        default: "yes",
        mutable: false,
        sensitive: false,
        help: "Write a CRC-64 at the end of RDB files (a file without one loads unchecked)",
        get: |c| yes_no_str(c.rdbchecksum),
        set: |c, v| {
            c.rdbchecksum = yes_no(v)?;
            Ok(())
        },
    },
    Param {
        name: "slowlog-log-slower-than",
        env: "SHOAL_SLOWLOG_LOG_SLOWER_THAN",
        kind: Kind::Int,
        default: "10000",
        mutable: true,
        sensitive: false,
        help: "Log commands slower than this many microseconds (-1 = off, 0 = all)",
        get: |c| c.slowlog_log_slower_than.to_string(),
        set: |c, v| {
            c.slowlog_log_slower_than = int(v, -1, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "busy-reply-threshold",
        env: "SHOAL_BUSY_REPLY_THRESHOLD",
        kind: Kind::Int,
        default: "5000",
        mutable: true,
        sensitive: false,
        help: "Milliseconds a script or function runs before other clients get BUSY (0 = never)",
        get: |c| c.busy_reply_threshold.to_string(),
        set: |c, v| {
            c.busy_reply_threshold = int(v, 0, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "lua-time-limit",
        env: "SHOAL_LUA_TIME_LIMIT",
        kind: Kind::Int,
        default: "5000",
        mutable: true,
        sensitive: false,
        help: "Alias of busy-reply-threshold",
        get: |c| c.busy_reply_threshold.to_string(),
        set: |c, v| {
            c.busy_reply_threshold = int(v, 0, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "slowlog-max-len",
        env: "SHOAL_SLOWLOG_MAX_LEN",
        kind: Kind::Int,
        default: "128",
        mutable: true,
        sensitive: false,
        help: "Entries kept in the slow log",
        get: |c| c.slowlog_max_len.to_string(),
        set: |c, v| {
            c.slowlog_max_len = int(v, 0, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "maxsnapshots",
        env: "SHOAL_MAXSNAPSHOTS",
        kind: Kind::Int,
        default: "16",
        mutable: true,
        sensitive: false,
        help: "Most named snapshots SNAPSHOT CREATE may keep (0 = none)",
        get: |c| c.maxsnapshots.to_string(),
        set: |c, v| {
            c.maxsnapshots = int(v, 0, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "set-max-intset-entries",
        env: "SHOAL_SET_MAX_INTSET_ENTRIES",
        kind: Kind::Int,
        default: "512",
        mutable: true,
        sensitive: false,
        help: "Most integers a set keeps in the compact intset encoding",
        get: |c| c.set_max_intset_entries.to_string(),
        set: |c, v| {
            c.set_max_intset_entries = int(v, 0, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "hash-max-listpack-entries",
        env: "SHOAL_HASH_MAX_LISTPACK_ENTRIES",
        kind: Kind::Int,
        default: "512",
        mutable: true,
        sensitive: false,
        help: "Most fields a hash keeps packed (OBJECT ENCODING listpack); a write past it converts the hash to a table, for good",
        get: |c| c.hash_max_listpack_entries.to_string(),
        set: |c, v| {
            c.hash_max_listpack_entries = int(v, 0, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "hash-max-listpack-value",
        env: "SHOAL_HASH_MAX_LISTPACK_VALUE",
        kind: Kind::Memory,
        default: "64",
        mutable: true,
        sensitive: false,
        help: "Longest field or value, in bytes, a hash keeps packed; a longer one converts the hash to a table, for good",
        get: |c| c.hash_max_listpack_value.to_string(),
        set: |c, v| {
            c.hash_max_listpack_value = memory(v, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Param {
        name: "hash-max-ziplist-entries",
        env: "SHOAL_HASH_MAX_ZIPLIST_ENTRIES",
        kind: Kind::Int,
        default: "512",
        mutable: true,
        sensitive: false,
        help: "Alias of hash-max-listpack-entries",
        get: |c| c.hash_max_listpack_entries.to_string(),
        set: |c, v| {
            c.hash_max_listpack_entries = int(v, 0, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "hash-max-ziplist-value",
        env: "SHOAL_HASH_MAX_ZIPLIST_VALUE",
        kind: Kind::Memory,
        default: "64",
        mutable: true,
        sensitive: false,
        help: "Alias of hash-max-listpack-value",
        get: |c| c.hash_max_listpack_value.to_string(),
        set: |c, v| {
            c.hash_max_listpack_value = memory(v, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Param {
        name: "zset-max-listpack-entries",
        env: "SHOAL_ZSET_MAX_LISTPACK_ENTRIES",
        kind: Kind::Int,
        default: "128",
        mutable: true,
        sensitive: false,
        help: "Most members a sorted set keeps in the compact listpack encoding",
        get: |c| c.zset_max_listpack_entries.to_string(),
        set: |c, v| {
            c.zset_max_listpack_entries = int(v, 0, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "list-max-listpack-size",
        env: "SHOAL_LIST_MAX_LISTPACK_SIZE",
        kind: Kind::Int,
        default: "-2",
        mutable: true,
        sensitive: false,
        help: "Redis's list node size (accepted for compatibility; Shoal's list chunks are fixed)",
        get: |c| c.list_max_listpack_size.to_string(),
        set: |c, v| {
            c.list_max_listpack_size = int(v, INT_MIN, INT_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "zset-max-listpack-value",
        env: "SHOAL_ZSET_MAX_LISTPACK_VALUE",
        kind: Kind::Memory,
        default: "64",
        mutable: true,
        sensitive: false,
        help: "Longest member (bytes) a sorted set keeps in the listpack encoding",
        get: |c| c.zset_max_listpack_value.to_string(),
        set: |c, v| {
            c.zset_max_listpack_value = memory(v, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Param {
        name: "zset-max-ziplist-entries",
        env: "SHOAL_ZSET_MAX_ZIPLIST_ENTRIES",
        kind: Kind::Int,
        default: "128",
        mutable: true,
        sensitive: false,
        help: "Alias of zset-max-listpack-entries",
        get: |c| c.zset_max_listpack_entries.to_string(),
        set: |c, v| {
            c.zset_max_listpack_entries = int(v, 0, LONG_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "list-max-ziplist-size",
        env: "SHOAL_LIST_MAX_ZIPLIST_SIZE",
        kind: Kind::Int,
        default: "-2",
        mutable: true,
        sensitive: false,
        help: "Alias of list-max-listpack-size (the same setting)",
        get: |c| c.list_max_listpack_size.to_string(),
        set: |c, v| {
            c.list_max_listpack_size = int(v, INT_MIN, INT_MAX)?;
            Ok(())
        },
    },
    Param {
        name: "zset-max-ziplist-value",
        env: "SHOAL_ZSET_MAX_ZIPLIST_VALUE",
        kind: Kind::Memory,
        default: "64",
        mutable: true,
        sensitive: false,
        help: "Alias of zset-max-listpack-value",
        get: |c| c.zset_max_listpack_value.to_string(),
        set: |c, v| {
            c.zset_max_listpack_value = memory(v, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Param {
        name: "list-compress-depth",
        env: "SHOAL_LIST_COMPRESS_DEPTH",
        kind: Kind::Int,
        default: "0",
        mutable: true,
        sensitive: false,
        help: "Redis's list compression depth (accepted for compatibility; Shoal does not compress lists)",
        get: |c| c.list_compress_depth.to_string(),
        set: |c, v| {
            c.list_compress_depth = int(v, 0, INT_MAX)?;
            Ok(())
        },
    },
];

static PARAM_NAMES: [&str; PARAMS.len()] = {
    let mut names = [""; PARAMS.len()];
    let mut i = 0;
    while i < PARAMS.len() {
        names[i] = PARAMS[i].name;
        i += 1;
    }
    names
};

fn find_param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

// ---------------------------------------------------------------------------------------
// Value parsing
// ---------------------------------------------------------------------------------------

/// Why a value was refused. Rendered two ways: Redis's `CONFIG SET` wording, and a
/// message for startup errors that quotes the value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Invalid {
    NotInteger,
    NotMemory,
    NotBool,
    Range { min: i128, max: i128 },
    OneOf(&'static [&'static str]),
    Other(&'static str),
}

impl Invalid {
    /// The text after `ERR CONFIG SET failed (possibly related to argument 'x') - `.
    fn redis_text(&self) -> Cow<'static, str> {
        match self {
            Invalid::NotInteger => config_reason::NOT_INTEGER.into(),
            Invalid::NotMemory => config_reason::NOT_MEMORY.into(),
            Invalid::NotBool => config_reason::NOT_YES_NO.into(),
            Invalid::Range { min, max } => config_reason::out_of_range(*min, *max).into(),
            Invalid::OneOf(names) => config_reason::not_one_of(names).into(),
            Invalid::Other(text) => (*text).into(),
        }
    }

    /// A description for a startup error, quoting `value`.
    fn describe(&self, value: &str) -> String {
        let v = quote(value);
        match self {
            Invalid::NotInteger => format!("{v} is not an integer"),
            Invalid::NotMemory => format!(
                "{v} is not a memory value (bytes, optionally with a k, kb, m, mb, g or gb suffix)"
            ),
            Invalid::NotBool => format!("{v} is not 'yes' or 'no'"),
            Invalid::Range { min, max } => {
                format!("{v} is out of range, must be between {min} and {max}")
            }
            Invalid::OneOf(names) => format!("{v} is not one of {}", names.join(", ")),
            Invalid::Other(text) => format!("{v}: {text}"),
        }
    }
}

/// `value` in single quotes, escaped and shortened so that an error stays one line.
fn quote(value: &str) -> String {
    const MAX: usize = 64;
    let mut out = String::from("'");
    for (i, c) in value.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('\'');
    out
}

/// An integer in `min..=max`, converted to the field's type.
/// The range `hz` is clamped to (Redis's `CONFIG_MIN_HZ`, `CONFIG_MAX_HZ`).
const HZ_MIN: u32 = 1;
const HZ_MAX: u32 = 500;

fn int<T: TryFrom<i128>>(v: &str, min: i128, max: i128) -> Result<T, Invalid> {
    let n: i128 = v.parse().map_err(|_| Invalid::NotInteger)?;
    if n < min || n > max {
        return Err(Invalid::Range { min, max });
    }
    T::try_from(n).map_err(|_| Invalid::Range { min, max })
}

fn memory(v: &str, min: u64, max: u64) -> Result<u64, Invalid> {
    let n = parse_memory(v).ok_or(Invalid::NotMemory)?;
    if n < min || n > max {
        return Err(Invalid::Range {
            min: min.into(),
            max: max.into(),
        });
    }
    Ok(n)
}

fn yes_no(v: &str) -> Result<bool, Invalid> {
    if v.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err(Invalid::NotBool)
    }
}

/// `yes` or `no`, as CONFIG GET shows booleans.
fn yes_no_str(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Case-insensitive match against `names`; returns the canonical spelling.
fn one_of(v: &str, names: &'static [&'static str]) -> Result<&'static str, Invalid> {
    names
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(v))
        .ok_or(Invalid::OneOf(names))
}

/// `latency-tracking-info-percentiles`: numbers from 0 to 100, space-separated
/// (none allowed), written back as Redis writes them (`%f` trimmed: `99.9`).
fn percentiles(v: &str) -> Result<String, Invalid> {
    let mut out = Vec::new();
    for w in v.split_whitespace() {
        match w.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => out.push(format!("{p}")),
            _ => return Err(Invalid::Other(config_reason::PERCENTILES)),
        }
    }
    Ok(out.join(" "))
}

/// The percentiles of a canonical `latency-tracking-info-percentiles` value.
pub fn percentile_list(canonical: &str) -> Vec<f64> {
    canonical
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// A multi-flag value of `shutdown-on-sig*`: `default` or any of `save`/`nosave`,
/// `now`, `force`, space-separated, case-insensitive; stored in canonical order
/// (`default` alone when no flag is given), as Redis's CONFIG GET shows it.
fn shutdown_flags(v: &str) -> Result<String, Invalid> {
    let mut seen = [false; 5];
    if v.split_whitespace().next().is_none() {
        return Err(Invalid::OneOf(SHUTDOWN_SIGNAL_FLAGS));
    }
    for word in v.split_whitespace() {
        let canon = one_of(word, SHUTDOWN_SIGNAL_FLAGS)?;
        let i = SHUTDOWN_SIGNAL_FLAGS
            .iter()
            .position(|f| *f == canon)
            .unwrap_or(0);
        seen[i] = true;
    }
    if seen[1] && seen[2] {
        return Err(Invalid::Other(config_reason::SHUTDOWN_SAVE_AND_NOSAVE));
    }
    let flags: Vec<&str> = (1..5)
        .filter(|&i| seen[i])
        .map(|i| SHUTDOWN_SIGNAL_FLAGS[i])
        .collect();
    if flags.is_empty() {
        return Ok("default".to_string());
    }
    Ok(flags.join(" "))
}

/// Redis allows at most 16 bind addresses.
fn addresses(v: &str) -> Result<Vec<String>, Invalid> {
    let list: Vec<String> = v.split_whitespace().map(str::to_string).collect();
    if list.is_empty() {
        return Err(Invalid::Other(config_reason::BIND_NO_ADDRESS));
    }
    if list.len() > 16 {
        return Err(Invalid::Other(config_reason::BIND_TOO_MANY));
    }
    Ok(list)
}

/// `""` or pairs of non-negative integers `seconds changes`, as Redis's `save`.
fn save_points(v: &str) -> Result<String, Invalid> {
    let words: Vec<&str> = v.split_whitespace().collect();
    let unpaired = !words.chunks_exact(2).remainder().is_empty();
    if unpaired || words.iter().any(|w| w.parse::<u64>().is_err()) {
        return Err(Invalid::Other(config_reason::SAVE_PARAMS_INVALID));
    }
    Ok(words.join(" "))
}

// ---------------------------------------------------------------------------------------
// Loading: file, environment, flags
// ---------------------------------------------------------------------------------------

/// Outcome of a load that did not produce a config.
#[derive(Debug)]
enum LoadError {
    Config(ConfigError),
    /// `--help` / `--version`: print it and exit 0.
    Exit(clap::Error),
}

impl From<ConfigError> for LoadError {
    fn from(e: ConfigError) -> Self {
        LoadError::Config(e)
    }
}

/// [`Config::load_from_args`] with the environment injected, so tests need not touch
/// the process environment.
fn load_with_env<I, T>(args: I, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, LoadError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = command().try_get_matches_from(args).map_err(cli_error)?;
    let mut config = Config::default();

    // 1. The file.
    let file = match flag_value(&matches, "config") {
        Some(path) => path.to_string(),
        None => match env(CONFIG_ENV) {
            Some(path) => path,
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => DEFAULT_CONFIG_FILE.to_string(),
            None => String::new(),
        },
    };
    if !file.is_empty() {
        let path = Path::new(&file);
        apply_file(&mut config, path)?;
        config.config_file = Some(absolute(path));
    }

    // 2. The environment.
    for p in PARAMS {
        if let Some(value) = env(p.env) {
            apply(&mut config, p, &value, p.env)?;
        }
    }

    // 3. The command line.
    for p in PARAMS {
        if let Some(value) = flag_value(&matches, p.name) {
            apply(&mut config, p, value, &format!("--{}", p.name))?;
        }
    }
    Ok(config)
}

/// The value of `--id` when it was given on the command line (clap also knows about the
/// environment and the defaults, but only to show them in `--help`).
fn flag_value<'m>(matches: &'m ArgMatches, id: &str) -> Option<&'m str> {
    if matches.value_source(id) != Some(ValueSource::CommandLine) {
        return None;
    }
    matches.get_one::<String>(id).map(String::as_str)
}

fn apply(config: &mut Config, p: &Param, value: &str, source: &str) -> Result<(), ConfigError> {
    (p.set)(config, value).map_err(|e| {
        ConfigError(format!(
            "invalid value for '{}' (from {source}): {}",
            p.name,
            e.describe(value)
        ))
    })
}

fn apply_file(config: &mut Config, path: &Path) -> Result<(), ConfigError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {shown}: {e}")))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|span| line_col(&text, span.start))
            .map(|(line, col)| format!(" at line {line}, column {col}"))
            .unwrap_or_default();
        let message = e.message().trim().replace('\n', "; ");
        ConfigError(format!(
            "invalid TOML in config file {shown}{at}: {message}"
        ))
    })?;
    for (key, value) in &table {
        let Some(p) = PARAMS.iter().find(|p| p.name == key.as_str()) else {
            let hint = find_param(&key.replace('_', "-"))
                .map(|p| format!(" (did you mean '{}'?)", p.name))
                .unwrap_or_default();
            return Err(ConfigError(format!(
                "unknown key {} (from {shown}){hint}",
                quote(key)
            )));
        };
        let text = toml_value(p.kind, value).map_err(|found| {
            ConfigError(format!(
                "invalid value for '{}' (from {shown}): expected {}, found {found}",
                p.name,
                p.kind.expected()
            ))
        })?;
        apply(config, p, &text, &shown.to_string())?;
    }
    Ok(())
}

/// A TOML value as the string a setter parses; `Err` describes a value of the wrong type.
fn toml_value(kind: Kind, value: &toml::Value) -> Result<String, String> {
    use toml::Value;
    match (value, kind) {
        (Value::String(s), _) => Ok(s.clone()),
        (Value::Integer(n), Kind::Int | Kind::Memory) => Ok(n.to_string()),
        (Value::Boolean(b), Kind::Bool) => Ok(if *b { "yes" } else { "no" }.to_string()),
        (Value::Array(items), Kind::List) => {
            let mut words = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => words.push(s.as_str()),
                    other => return Err(format!("an array holding {}", a_type(other))),
                }
            }
            Ok(words.join(" "))
        }
        (other, _) => Err(a_type(other)),
    }
}

/// "a string", "an integer", ... for error messages.
fn a_type(value: &toml::Value) -> String {
    let name = value.type_str();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// 1-based line and column (in bytes) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..at.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The command line, generated from [`PARAMS`]. Env vars and defaults are declared so
/// that `--help` shows them; their values are applied by [`load_with_env`] itself.
fn command() -> Command {
    let mut cmd = Command::new("shoal")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Shoal: a Redis-compatible key-value cache server")
        .after_help(
            "Each setting comes from, lowest to highest precedence: its default, the config \
             file, its SHOAL_* environment variable, its flag. Memory sizes take Redis units \
             (1k = 1000, 1kb = 1024, also m/mb/g/gb).",
        )
        .args_override_self(true)
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("PATH")
                .env(CONFIG_ENV)
                .action(ArgAction::Set)
                .help("Config file, TOML (default: ./config.toml when it exists; empty = none)"),
        );
    for p in PARAMS {
        let mut arg = Arg::new(p.name)
            .long(p.name)
            .value_name(p.kind.value_name())
            .env(p.env)
            .hide_env_values(p.sensitive)
            .default_value(p.default)
            .action(ArgAction::Set)
            .help(p.help);
        if p.kind == Kind::Int {
            arg = arg.allow_negative_numbers(true);
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

fn cli_error(e: clap::Error) -> LoadError {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => LoadError::Exit(e),
        _ => {
            let rendered = e.to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            LoadError::Config(ConfigError(format!(
                "invalid command line: {first} (see --help)"
            )))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------
// CONFIG REWRITE: the TOML file updated in place
// ---------------------------------------------------------------------------------

/// The parameter a TOML line sets (`name = ...`), if it is one of ours.
fn line_param(line: &str) -> Option<&'static str> {
    let rest = line.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    let (key, after) = rest.split_at(end);
    if !after.trim_start().starts_with('=') {
        return None;
    }
    Config::param_names().iter().copied().find(|n| *n == key)
}

/// A TOML value as the text a config setter reads (see `config.rs`).
fn toml_text(value: &toml::Value) -> Option<String> {
    use toml::Value;
    Some(match value {
        Value::String(s) => s.clone(),
        Value::Integer(n) => n.to_string(),
        Value::Boolean(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()?
            .join(" "),
        _ => return None,
    })
}

/// `line` updated to `value` for parameter `name`; `None` keeps the line as it is
/// (it does not parse on its own, e.g. a multi-line array, or already holds `value`).
fn rewrite_line(line: &str, name: &str, value: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(line).ok()?;
    let old = table.get(name)?;
    let old_text = toml_text(old)?;
    // Same value written differently ("512mb" and 536870912)?
    let mut probe = Config::default();
    let same = old_text == value
        || (probe.set(name, &old_text).is_ok() && probe.get(name).as_deref() == Some(value));
    if same {
        return None;
    }
    let new = match old {
        toml::Value::Integer(_) if value.parse::<i64>().is_ok() => value.to_string(),
        toml::Value::Boolean(_) if value == "yes" || value == "no" => (value == "yes").to_string(),
        _ => toml::Value::String(value.to_string()).to_string(),
    };
    Some(format!("{name} = {new}"))
}

/// The line after which CONFIG REWRITE appends parameters the file did not hold
/// (Redis's `REDIS_CONFIG_REWRITE_SIGNATURE`); written once, found again later.
pub const REWRITE_SIGNATURE: &str = "# Generated by CONFIG REWRITE";

/// A parameter line as CONFIG REWRITE appends it: numbers and booleans bare (as in
/// `config.toml`), everything else a TOML string.
fn appended_line(name: &str, value: &str) -> String {
    let kind = PARAMS.iter().find(|p| p.name == name).map(|p| p.kind);
    let text = match kind {
        Some(Kind::Int) if value.parse::<i64>().is_ok() => value.to_string(),
        Some(Kind::Bool) if value == "yes" || value == "no" => (value == "yes").to_string(),
        _ => toml::Value::String(value.to_string()).to_string(),
    };
    format!("{name} = {text}")
}

/// CONFIG REWRITE as Redis's `rewriteConfig`: every line the file holds that is not a
/// parameter line (comments, blank lines, lines it cannot parse alone) stays where it
/// is; a parameter line keeps its place and gets the running value (even when that is
/// the default again, as in Redis: the file said so explicitly); parameters the file
/// does not hold are appended, after the [`REWRITE_SIGNATURE`] line, only when they
/// differ from the defaults.
pub fn rewrite_file(path: &std::path::Path, config: &Config) -> std::io::Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut seen = std::collections::HashSet::new();
    let mut needs_signature = true;
    let mut out = String::with_capacity(old.len() + 256);
    for line in old.lines() {
        if line == REWRITE_SIGNATURE {
            needs_signature = false;
        }
        if let Some(name) = line_param(line) {
            seen.insert(name);
            let value = config.get(name).unwrap_or_default();
            if let Some(new) = rewrite_line(line, name, &value) {
                out.push_str(&new);
                out.push('\n');
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    let defaults = Config::default();
    for name in Config::param_names() {
        let value = config.get(name).unwrap_or_default();
        if seen.contains(name) || defaults.get(name).as_deref() == Some(value.as_str()) {
            continue;
        }
        if needs_signature {
            out.push_str(REWRITE_SIGNATURE);
            out.push('\n');
            needs_signature = false;
        }
        out.push_str(&appended_line(name, &value));
        out.push('\n');
    }
    // Write a sibling file and rename it over the old one: a crash never leaves a
    // half-written config.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".rewrite-tmp");
    std::fs::write(&tmp, out)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A config file in the temp directory, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(contents: &str) -> TempFile {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir()
                .join(format!("shoal-config-test-{}-{n}.toml", std::process::id()));
            std::fs::write(&path, contents).expect("write temp config");
            TempFile(path)
        }

        fn path(&self) -> &str {
            self.0.to_str().expect("utf-8 temp path")
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// Loads with `args` (program name prepended) and a fake environment.
    fn load(args: &[&str], env: &[(&str, &str)]) -> Result<Config, LoadError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| env.get(k).cloned();
        let argv = std::iter::once("shoal").chain(args.iter().copied());
        load_with_env(argv, &lookup)
    }

    fn load_err(args: &[&str], env: &[(&str, &str)]) -> String {
        match load(args, env) {
            Err(LoadError::Config(e)) => e.to_string(),
            Err(LoadError::Exit(e)) => panic!("unexpected exit: {e}"),
            Ok(c) => panic!("expected an error, got {c:?}"),
        }
    }

    fn load_ok(args: &[&str], env: &[(&str, &str)]) -> Config {
        match load(args, env) {
            Ok(c) => c,
            Err(LoadError::Config(e)) => panic!("unexpected error: {e}"),
            Err(LoadError::Exit(e)) => panic!("unexpected exit: {e}"),
        }
    }

    fn set_err(name: &str, value: &str) -> String {
        let mut c = Config::default();
        let before = c.clone();
        let err = c.set(name, value).expect_err("set should fail");
        assert_eq!(c, before, "a failed set must not change the config");
        String::from_utf8(err.message().into_owned()).expect("UTF-8 error text")
    }

    #[test]
    fn table_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for p in PARAMS {
            assert!(seen.insert(p.name), "duplicate {}", p.name);
            assert_eq!(p.name, p.name.to_ascii_lowercase());
            let env = format!("SHOAL_{}", p.name.to_ascii_uppercase().replace('-', "_"));
            assert_eq!(p.env, env, "env var of {}", p.name);
            // The documented default parses to Config::default().
            let mut c = Config::default();
            (p.set)(&mut c, p.default).unwrap_or_else(|e| panic!("{}: {e:?}", p.name));
            assert_eq!(c, Config::default(), "default of {}", p.name);
        }
        assert_eq!(Config::param_names().len(), PARAMS.len());
        for name in Config::param_names() {
            assert!(Config::default().get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn shipped_config_toml_equals_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.toml");
        let loaded = Config::load_from_file(&path).expect("config.toml loads");
        let defaults = Config::default();
        for name in Config::param_names() {
            assert_eq!(loaded.get(name), defaults.get(name), "config.toml: {name}");
        }
        assert_eq!(
            loaded.config_file.as_deref(),
            Some(absolute(&path).as_path())
        );
        assert_eq!(
            Config {
                config_file: None,
                ..loaded
            },
            defaults
        );

        // Every key is listed, and documented by a comment right above it.
        let text = std::fs::read_to_string(&path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let mut keys: Vec<&str> = table.keys().map(String::as_str).collect();
        let mut names = Config::param_names().to_vec();
        keys.sort_unstable();
        names.sort_unstable();
        assert_eq!(keys, names, "config.toml must list every parameter");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.starts_with('#') && line.contains(" = ") {
                assert!(
                    i > 0 && lines[i - 1].starts_with('#'),
                    "config.toml: no comment above {line:?}"
                );
            }
        }
    }

    #[test]
    fn memory_units() {
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("100", Some(100)),
            ("100b", Some(100)),
            ("1k", Some(1000)),
            ("1kb", Some(1024)),
            ("1K", Some(1000)),
            ("1KB", Some(1024)),
            ("2m", Some(2_000_000)),
            ("2mb", Some(2 * 1024 * 1024)),
            ("2Mb", Some(2 * 1024 * 1024)),
            ("3g", Some(3_000_000_000)),
            ("3gb", Some(3 * 1024 * 1024 * 1024)),
            ("3GB", Some(3 * 1024 * 1024 * 1024)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("18446744073709551615kb", None),
            ("", None),
            ("kb", None),
            ("-1", None),
            ("+1", None),
            ("1.5gb", None),
            ("1 mb", None),
            ("1tb", None),
            ("1mbb", None),
            ("١٢", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_memory(text), *want, "{text:?}");
        }
        let mut c = Config::default();
        c.set("maxmemory", "100mb").unwrap();
        assert_eq!(c.maxmemory, 100 * MB);
        assert_eq!(c.get("maxmemory").unwrap(), "104857600");
        c.set("proto-max-bulk-len", "1mb").unwrap();
        assert_eq!(c.get("proto-max-bulk-len").unwrap(), "1048576");
    }

    #[test]
    fn precedence_file_env_flag() {
        let file = TempFile::new(
            "port = 7000\nhz = 20\nmaxclients = 50\nmaxmemory = \"1gb\"\nloglevel = \"warning\"\n",
        );
        let env = [
            ("SHOAL_CONFIG", file.path()),
            ("SHOAL_PORT", "7001"),
            ("SHOAL_HZ", "30"),
            ("SHOAL_LOGLEVEL", "debug"),
        ];
        let c = load_ok(&["--port", "7002", "--loglevel=nothing"], &env);
        assert_eq!(c.port, 7002, "flag beats env and file");
        assert_eq!(c.loglevel, "nothing", "flag beats env and file");
        assert_eq!(c.hz, 30, "env beats file");
        assert_eq!(c.maxclients, 50, "file beats default");
        assert_eq!(c.maxmemory, GB);
        assert_eq!(c.databases, 16, "default");
        assert_eq!(c.config_file, Some(absolute(Path::new(file.path()))));

        // Without env and flags, the file alone.
        let c = load_ok(&["--config", file.path()], &[]);
        assert_eq!((c.port, c.hz, c.maxclients), (7000, 20, 50));

        // --config beats SHOAL_CONFIG; an empty path means no file at all.
        let other = TempFile::new("port = 7100\n");
        let c = load_ok(&["--config", other.path()], &env[..1]);
        assert_eq!(c.port, 7100);
        let c = load_ok(&["--config", ""], &env[..1]);
        assert_eq!(c, Config::default());
        let c = load_ok(&[], &[("SHOAL_CONFIG", "")]);
        assert_eq!(c, Config::default());

        // A repeated flag: the last one wins.
        let c = load_ok(&["--config", "", "--port", "1", "--port", "2"], &[]);
        assert_eq!(c.port, 2);
    }

    #[test]
    fn flags_cover_every_param() {
        let c = load_ok(
            &[
                "--config=",
                "--bind",
                "0.0.0.0 ::1",
                "--slowlog-log-slower-than",
                "-1",
                "--proto-max-bulk-len",
                "2mb",
                "--requirepass",
                "secret",
                "--appendonly",
                "no",
            ],
            &[],
        );
        assert_eq!(c.bind, vec!["0.0.0.0", "::1"]);
        assert_eq!(c.slowlog_log_slower_than, -1);
        assert_eq!(c.proto_max_bulk_len, 2 * MB);
        assert_eq!(c.requirepass, "secret");

        for p in PARAMS {
            let flag = format!("--{}={}", p.name, p.default);
            let c = load_ok(&["--config=", &flag], &[]);
            assert_eq!(c, Config::default(), "{flag}");
        }
    }

    #[test]
    fn errors_name_key_and_source() {
        assert_eq!(
            load_err(&["--config="], &[("SHOAL_PORT", "abc")]),
            "invalid value for 'port' (from SHOAL_PORT): 'abc' is not an integer"
        );
        assert_eq!(
            load_err(&["--config=", "--port", "70000"], &[]),
            "invalid value for 'port' (from --port): '70000' is out of range, must be between 0 and 65535"
        );
        assert_eq!(
            load_err(&["--config=", "--maxmemory", "lots"], &[]),
            "invalid value for 'maxmemory' (from --maxmemory): 'lots' is not a memory value \
             (bytes, optionally with a k, kb, m, mb, g or gb suffix)"
        );
        assert_eq!(
            load_err(&["--config="], &[("SHOAL_MAXMEMORY_POLICY", "lru")]),
            "invalid value for 'maxmemory-policy' (from SHOAL_MAXMEMORY_POLICY): 'lru' is not \
             one of volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, \
             allkeys-lfu, allkeys-random, noeviction, allkeys-tinylfu"
        );
        assert_eq!(
            load_err(&["--config=", "--appendonly", "yes"], &[]),
            "invalid value for 'appendonly' (from --appendonly): 'yes': appendonly is not \
             supported by Shoal"
        );
        assert_eq!(
            load_err(&["--config=", "--shards", "3"], &[]),
            "invalid value for 'shards' (from --shards): '3': argument must be 0 (auto) or a \
             power of two between 1 and 65536"
        );

        let file = TempFile::new("# comment\nhz = -1\n");
        let shown = file.path().to_string();
        assert_eq!(
            load_err(&["--config", file.path()], &[]),
            format!("invalid value for 'hz' (from {shown}): '-1' is out of range, must be between 0 and 2147483647")
        );
        let file = TempFile::new("port = \"x\\ny\"\n");
        let err = load_err(&[], &[("SHOAL_CONFIG", file.path())]);
        assert!(err.starts_with("invalid value for 'port' (from "), "{err}");
        assert!(err.ends_with("): 'x\\ny' is not an integer"), "{err}");

        // Wrong TOML types.
        let file = TempFile::new("port = true\n");
        assert_eq!(
            load_err(&["--config", file.path()], &[]),
            format!(
                "invalid value for 'port' (from {}): expected an integer, found a boolean",
                file.path()
            )
        );
        let file = TempFile::new("requirepass = 1234\n");
        assert!(load_err(&["--config", file.path()], &[])
            .ends_with("expected a string, found an integer"));
        let file = TempFile::new("hz = 10.5\n");
        assert!(load_err(&["--config", file.path()], &[]).contains("'hz'"));

        // Missing file, syntax error, bad flag: one line each.
        let err = load_err(&["--config", "/nonexistent/shoal.toml"], &[]);
        assert!(
            err.starts_with("cannot read config file /nonexistent/shoal.toml: "),
            "{err}"
        );
        let file = TempFile::new("port = 1\nhz = = 2\n");
        let err = load_err(&["--config", file.path()], &[]);
        assert!(err.starts_with("invalid TOML in config file "), "{err}");
        assert!(err.contains(" at line 2, column "), "{err}");
        let err = load_err(&["--config=", "--prot", "1"], &[]);
        assert!(err.starts_with("invalid command line: "), "{err}");
        assert!(err.contains("--prot"), "{err}");
        let err = load_err(&["--config=", "--port"], &[]);
        assert!(err.contains("--port"), "{err}");
        for err in [
            load_err(&["--config", "/nonexistent"], &[]),
            load_err(&["--config", file.path()], &[]),
            load_err(&["--bogus"], &[]),
        ] {
            assert!(!err.contains('\n'), "{err:?}");
        }
    }

    #[test]
    fn unknown_keys_in_file() {
        let file = TempFile::new("port = 1\nmaxclient = 5\n");
        assert_eq!(
            load_err(&["--config", file.path()], &[]),
            format!("unknown key 'maxclient' (from {})", file.path())
        );
        let file = TempFile::new("proto_max_bulk_len = \"1mb\"\n");
        assert_eq!(
            Config::load_from_file(Path::new(file.path()))
                .unwrap_err()
                .0,
            format!(
                "unknown key 'proto_max_bulk_len' (from {}) (did you mean 'proto-max-bulk-len'?)",
                file.path()
            )
        );
        let file = TempFile::new("[server]\nport = 1\n");
        assert!(Config::load_from_file(Path::new(file.path()))
            .unwrap_err()
            .0
            .starts_with("unknown key 'server'"));
        // Keys are exact in the file (CONFIG SET is case-insensitive, TOML is not).
        let file = TempFile::new("PORT = 1\n");
        assert!(Config::load_from_file(Path::new(file.path()))
            .unwrap_err()
            .0
            .contains("(did you mean 'port'?)"));
    }

    #[test]
    fn toml_types() {
        let file = TempFile::new(
            "bind = [\"0.0.0.0\", \"::\"]\nappendonly = false\nmaxmemory = 1048576\n\
             proto-max-bulk-len = \"2MB\"\ndaemonize = \"no\"\nslowlog-log-slower-than = -1\n",
        );
        let c = Config::load_from_file(Path::new(file.path())).unwrap();
        assert_eq!(c.bind, vec!["0.0.0.0", "::"]);
        assert_eq!(c.maxmemory, MB);
        assert_eq!(c.proto_max_bulk_len, 2 * MB);
        assert_eq!(c.slowlog_log_slower_than, -1);
        let file = TempFile::new("appendonly = true\n");
        assert!(Config::load_from_file(Path::new(file.path()))
            .unwrap_err()
            .0
            .ends_with("appendonly is not supported by Shoal"));
        let file = TempFile::new("bind = [\"a\", 1]\n");
        assert!(Config::load_from_file(Path::new(file.path()))
            .unwrap_err()
            .0
            .ends_with("found an array holding an integer"));
    }

    #[test]
    fn hz_is_clamped_from_every_source() {
        let file = TempFile::new("hz = 0\n");
        assert_eq!(load_ok(&["--config", file.path()], &[]).hz, 1);
        let file = TempFile::new("hz = 100000\n");
        assert_eq!(load_ok(&["--config", file.path()], &[]).hz, 500);
        assert_eq!(load_ok(&["--config="], &[("SHOAL_HZ", "0")]).hz, 1);
        assert_eq!(load_ok(&["--config=", "--hz", "100000"], &[]).hz, 500);
        assert_eq!(load_ok(&["--config=", "--hz", "42"], &[]).hz, 42);
        assert!(load_err(&["--config=", "--hz", "-5"], &[]).contains("between 0 and 2147483647"));
    }

    #[test]
    fn config_set_get_round_trips() {
        let cases: &[(&str, &str, &str)] = &[
            ("maxclients", "5", "5"),
            ("timeout", "30", "30"),
            ("tcp-keepalive", "0", "0"),
            ("requirepass", "p4ss word", "p4ss word"),
            ("loglevel", "WARNING", "warning"),
            ("loglevel", "info", "info"),
            ("proto-max-bulk-len", "1gb", "1073741824"),
            ("client-query-buffer-limit", "2MB", "2097152"),
            ("max-multibulk-len", "1024", "1024"),
            ("hz", "500", "500"),
            ("hz", "0", "1"),
            ("hz", "100000", "500"),
            ("hz", "2147483647", "500"),
            ("active-expire-effort", "10", "10"),
            ("maxmemory", "1k", "1000"),
            ("maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"),
            ("appendonly", "NO", "no"),
            ("save", " 3600 1  300 100 ", "3600 1 300 100"),
            ("save", "", ""),
            ("dir", "/var/lib/shoal", "/var/lib/shoal"),
            ("dbfilename", "shoal.rdb", "shoal.rdb"),
            ("stop-writes-on-bgsave-error", "NO", "no"),
            ("rdbcompression", "no", "no"),
            ("slowlog-log-slower-than", "-1", "-1"),
            ("slowlog-max-len", "0", "0"),
            ("zset-max-listpack-entries", "0", "0"),
            ("zset-max-ziplist-entries", "7", "7"),
            ("zset-max-listpack-value", "1kb", "1024"),
            ("zset-max-ziplist-value", "100000000000", "100000000000"),
            ("set-max-intset-entries", "0", "0"),
            ("hash-max-listpack-entries", "1000", "1000"),
            ("hash-max-ziplist-value", "10", "10"),
            ("hash-max-listpack-value", "2kb", "2048"),
        ];
        for (name, value, shown) in cases {
            let mut c = Config::default();
            c.set(name, value)
                .unwrap_or_else(|e| panic!("{name} {value}: {e:?}"));
            assert_eq!(c.get(name).as_deref(), Some(*shown), "{name}");
            // Names are case-insensitive both ways.
            assert_eq!(c.get(&name.to_ascii_uppercase()).as_deref(), Some(*shown));
        }
        let mut c = Config::default();
        c.set("MaxClients", "7").unwrap();
        assert_eq!(c.maxclients, 7);
        assert_eq!(c.get("nosuch"), None);
        assert_eq!(Config::default().get("bind").unwrap(), "127.0.0.1");
        assert_eq!(Config::default().get("daemonize").unwrap(), "no");
        assert_eq!(
            Config::default().get("PROTO-MAX-BULK-LEN").unwrap(),
            "536870912"
        );

        // Every mutable parameter accepts what it reports.
        let mut c = Config::default();
        for p in PARAMS.iter().filter(|p| p.mutable) {
            let shown = c.get(p.name).unwrap();
            c.set(p.name, &shown).unwrap();
            assert_eq!(c, Config::default(), "{}", p.name);
        }
    }

    #[test]
    fn config_set_errors_match_redis() {
        assert_eq!(
            set_err("foo", "1"),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        assert_eq!(
            set_err("maxclients", "abc"),
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"
        );
        assert_eq!(
            set_err("maxclients", "0"),
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(
            set_err("timeout", "-1"),
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            set_err("maxmemory", "1.5gb"),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
        );
        assert_eq!(
            set_err("proto-max-bulk-len", "1000"),
            "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"
        );
        assert_eq!(
            set_err("hz", "-1"),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            set_err("hz", "2147483648"),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            set_err("maxmemory-policy", "nosuchpolicy"),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction, allkeys-tinylfu"
        );
        assert_eq!(
            set_err("appendonly", "maybe"),
            "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"
        );
        assert_eq!(
            set_err("appendonly", "yes"),
            "ERR CONFIG SET failed (possibly related to argument 'appendonly') - appendonly is not supported by Shoal"
        );
        assert_eq!(
            set_err("save", "3600"),
            "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"
        );
        assert_eq!(
            set_err("dbfilename", "../etc/passwd"),
            "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename"
        );
        for name in [
            "port",
            "bind",
            "databases",
            "capacity",
            "shards",
            "logfile",
            "daemonize",
        ] {
            assert_eq!(
                set_err(name, "1"),
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config")
            );
        }
        // The name in the error is the one the client sent.
        assert_eq!(
            set_err("PORT", "1"),
            "ERR CONFIG SET failed (possibly related to argument 'PORT') - can't set immutable config"
        );
    }

    #[test]
    fn immutable_params_validate_at_startup() {
        let bad: &[(&str, &str)] = &[
            ("--databases", "0"),
            ("--databases", "10001"),
            ("--shards", "6"),
            ("--shards", "131072"),
            ("--bind", " "),
            ("--daemonize", "yes"),
            ("--capacity", "-1"),
        ];
        for (flag, value) in bad {
            let err = load_err(&["--config=", flag, value], &[]);
            assert!(err.contains(&format!("(from {flag})")), "{err}");
        }
        let c = load_ok(&["--config=", "--shards", "65536", "--port", "0"], &[]);
        assert_eq!((c.shards, c.port), (65536, 0));
    }

    #[test]
    fn tracing_filter_maps_redis_levels() {
        let cases = [
            ("debug", "debug"),
            ("verbose", "debug"),
            ("notice", "info"),
            ("warning", "warn"),
            ("nothing", "off"),
            ("trace", "trace"),
            ("info", "info"),
            ("warn", "warn"),
            ("error", "error"),
        ];
        for (level, filter) in cases {
            let mut c = Config::default();
            c.set("loglevel", level).unwrap();
            assert_eq!(c.tracing_filter(), filter, "{level}");
        }
        assert_eq!(Config::default().tracing_filter(), "info");
    }

    #[test]
    fn help_and_version_are_exits() {
        let help = match load(&["--help"], &[]) {
            Err(LoadError::Exit(e)) => {
                assert_eq!(e.kind(), ErrorKind::DisplayHelp);
                e.to_string()
            }
            other => panic!("expected help, got {other:?}"),
        };
        assert!(help.contains("--config <PATH>"), "{help}");
        assert!(help.contains("[env: SHOAL_CONFIG"), "{help}");
        for p in PARAMS {
            assert!(help.contains(&format!("--{} <", p.name)), "{}", p.name);
            assert!(help.contains(&format!("[env: {}", p.env)), "{}", p.env);
        }
        assert!(help.contains("[default: 512mb]"), "{help}");
        assert!(help.contains("[default: 6379]"), "{help}");
        match load(&["--version"], &[]) {
            Err(LoadError::Exit(e)) => assert_eq!(e.kind(), ErrorKind::DisplayVersion),
            other => panic!("expected version, got {other:?}"),
        }
    }

    #[test]
    fn debug_hides_password() {
        let mut c = Config::default();
        c.set("requirepass", "hunter2").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn no_panics_on_odd_input() {
        let odd = [
            "",
            " ",
            "-",
            "--",
            "0",
            "-0",
            "-1",
            "+1",
            "00",
            "1e3",
            "0x10",
            "NaN",
            "yes",
            "YES",
            "no",
            "\0",
            "\u{feff}1",
            "٣",
            "ß",
            "18446744073709551616",
            "-9223372036854775809",
            "99999999999999999999999999999999999999999999",
            "1kb ",
            "/",
            "a/b",
            "\\",
            "\n",
            "*",
            "volatile-lru",
        ];
        for p in PARAMS {
            for v in odd {
                let mut c = Config::default();
                let _ = c.set(p.name, v);
                let _ = (p.set)(&mut c, v);
                let _ = load(&["--config=", &format!("--{}={v}", p.name)], &[]);
                let _ = load(&["--config="], &[(p.env, v)]);
            }
        }
        let long = "9".repeat(10_000);
        let err = set_err("maxclients", &long);
        assert!(err.len() < 200);
        let err = load_err(&["--config=", "--port", &long], &[]);
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn rewrite_keeps_equal_values_and_types() {
        assert_eq!(rewrite_line("hz = 10", "hz", "10"), None);
        assert_eq!(
            rewrite_line("hz = 10", "hz", "20").as_deref(),
            Some("hz = 20")
        );
        assert_eq!(
            rewrite_line("maxmemory = \"1mb\"", "maxmemory", "1048576"),
            None
        );
        assert_eq!(
            rewrite_line("maxmemory = \"1mb\"", "maxmemory", "2097152").as_deref(),
            Some("maxmemory = \"2097152\"")
        );
        assert_eq!(rewrite_line("bind = [", "bind", "127.0.0.1"), None);
        assert_eq!(line_param("  hz=5"), Some("hz"));
        assert_eq!(line_param("# hz = 5"), None);
        assert_eq!(line_param("hzz = 5"), None);
    }
}
