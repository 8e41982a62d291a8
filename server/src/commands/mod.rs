//! Command families, one file per family (as Redis's `t_string.c`, `db.c`...).
//! Each file ends with its `COMMANDS` slice: the family's whole surface at a glance.

pub mod connection;
pub mod hashes;
pub mod keys;
pub mod merge;
pub mod persistence;
pub mod server;
pub mod snapshot;
pub mod strings;

use crate::command::Command;

/// Every family's rows; the command table is built from these.
pub const FAMILIES: &[&[Command]] = &[
    connection::COMMANDS,
    strings::COMMANDS,
    keys::COMMANDS,
    hashes::COMMANDS,
    merge::COMMANDS,
    snapshot::COMMANDS,
    persistence::COMMANDS,
    server::COMMANDS,
];
