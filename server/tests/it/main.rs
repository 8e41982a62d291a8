//! Integration tests: a real Shoal server started in-process on an ephemeral port,
//! driven over TCP by a real client (the `redis` crate, RESP2 and RESP3), by raw
//! sockets for protocol edge cases, and by `redis-cli` against the built binary.
//!
//! One test binary with one module per area keeps link time down.

mod common;

mod blocking;
mod cli;
mod command_docs;
mod connection;
mod counters;
mod dump;
mod eviction;
mod functions;
mod hardening;
mod hashes;
mod keys;
mod lists;
mod load;
mod merge;
mod notifications;
mod observability;
mod output_buffers;
mod persistence;
mod protocol;
mod pubsub;
mod resp3;
mod scripting;
mod security;
mod server_cmds;
mod sets;
mod snapshot;
mod sort;
mod spine;
mod strings;
mod tracking;
mod transactions;
mod zsets;
