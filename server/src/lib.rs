//! Shoal: a Redis-compatible key-value cache server.
//!
//! The binary (`main.rs`) is a thin shell over this library so that tests and
//! embedders can start and stop a real server in-process:
//!
//! ```no_run
//! use shoal_server::{config::Config, Server};
//!
//! let mut config = Config::default();
//! config.port = 0; // any free port
//! let server = Server::start(config).expect("start");
//! println!("listening on {}", server.addr());
//! server.shutdown();
//! ```
//!
//! Module map (ARCHITECTURE.md has the layers): [`server`] (lifecycle), [`state`]
//! (`Shared`), [`net`] (the read/execute/write loop), [`dispatch`] (the table, the
//! gates, execution), [`command`] (the table's types and `Ctx`), [`access`] (keys,
//! locks, the write hook), [`changes`], [`commands`] (one file per command family),
//! [`client`] (per-connection state and the client registry), [`blocking`] (parked
//! commands, CLIENT PAUSE), [`monitor`], [`watch`] (WATCH), [`pubsub`] (channels,
//! patterns, delivery), [`notify`] (keyspace notifications), [`tracking`] (client-side
//! caching), [`counters`], [`config`],
//! [`error`] (Redis error texts), [`num`] (Redis number rules), [`slowlog`],
//! [`snapshots`] (the named snapshot registry), [`security`] (protected mode,
//! cross-protocol requests, failed AUTH accounting), [`persistence`], [`metrics`]
//! (Prometheus text, health), [`latency`] (the latency monitor), [`logging`] (log format and level), [`http`] (`GET /metrics` and `/healthz` on the RESP port
//! and the `metrics-port`).

pub mod access;
pub mod blocking;
pub mod changes;
pub mod client;
pub mod clock;
pub mod command;
pub mod command_args;
pub mod commands;
pub mod config;
pub mod counters;
pub mod dispatch;
pub mod error;
pub mod evict;
pub mod eviction;
pub mod fdlimit;
pub mod functions;
pub mod handoff;
pub mod http;
pub mod info;
pub mod latency;
pub mod logging;
pub mod lualibs;
pub mod memory;
pub mod metrics;
pub mod monitor;
pub mod net;
pub mod notify;
pub mod num;
mod pacer;
pub mod persistence;
pub mod process;
pub mod pubsub;
pub mod scripting;
pub mod scripts;
pub mod security;
pub mod server;
pub mod slowlog;
pub mod snapshots;
pub mod state;
pub mod tracking;
pub mod watch;

pub use server::{Server, ServerHandle};
pub use state::Shared;

/// jemalloc, counted, is the global allocator of the server (binary, tests and
/// embedders of this crate alike): `used_memory` and maxmemory read Shoal's own count
/// of what it allocated (see [`memory`]); INFO's allocator figures are jemalloc's.
#[global_allocator]
static GLOBAL: memory::Counting = memory::Counting;

/// jemalloc options baked in: the background thread returns freed memory to the OS
/// without waiting for the next allocation (an idle cache shrinks by itself).
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "malloc_conf")]
pub static malloc_conf: &[u8; 60] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";
