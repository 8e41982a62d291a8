//! Command families, one file per family (as Redis's `t_string.c`, `db.c`...).
//! Each file ends with its `COMMANDS` slice: the family's whole surface at a glance.

pub mod common;
pub mod configure;
pub mod connection;
pub mod databases;
pub mod debug;
pub mod dump;
pub mod functions;
pub mod hashes;
pub mod introspection;
pub mod keys;
pub mod latency;
pub mod lists;
pub mod memory;
pub mod merge;
pub mod pubsub;
pub mod saving;
pub mod scripting;
pub mod sets;
pub mod shutdown;
pub mod slowlog_commands;
pub mod snapshot;
pub mod sort;
pub mod status;
pub mod strings;
pub mod transactions;
pub mod zsets;

use crate::command::Command;

/// Every family's rows; the command table is built from these.
pub const FAMILIES: &[&[Command]] = &[
    connection::COMMANDS,
    strings::COMMANDS,
    keys::COMMANDS,
    dump::COMMANDS,
    sort::COMMANDS,
    hashes::COMMANDS,
    zsets::COMMANDS,
    lists::COMMANDS,
    sets::COMMANDS,
    merge::COMMANDS,
    snapshot::COMMANDS,
    saving::COMMANDS,
    introspection::COMMANDS,
    status::COMMANDS,
    configure::COMMANDS,
    databases::COMMANDS,
    debug::COMMANDS,
    shutdown::COMMANDS,
    slowlog_commands::COMMANDS,
    latency::COMMANDS,
    memory::COMMANDS,
    transactions::COMMANDS,
    pubsub::COMMANDS,
    scripting::COMMANDS,
    functions::COMMANDS,
];
