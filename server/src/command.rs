//! The command table: every command described once, as data.
//!
//! This module holds the types only: a [`Command`] row (name, arity, flags, key
//! positions, documentation, handler), the assembled [`CommandTable`], and [`Ctx`],
//! what a handler gets. The table itself is built by [`crate::dispatch`] from the
//! families' `COMMANDS` slices; dispatch, `COMMAND COUNT/LIST/INFO/DOCS/GETKEYS`,
//! commandstats and the gates (read-only snapshot views refuse every row flagged
//! `write`) read it. Adding a command = one row in its family's `COMMANDS` slice +
//! one handler in the same file.

use shoal_protocol::{Args, ReplyBuf};
use shoal_storage::{Db, Keyspace};

use crate::access::{Held, Keys, KeysCtx};
use crate::client::Client;
use crate::error::{show_arg, CmdError, CmdResult};
use crate::state::Shared;

/// A command handler. It writes its success reply to `ctx.out`; on error it returns
/// the error and writes nothing (dispatch renders the error).
pub type Handler = fn(&mut Ctx<'_>, &Args<'_>) -> CmdResult;

/// Everything a handler may use while it runs one command.
pub struct Ctx<'a> {
    /// State shared by all connections (keyspace, config, stats, clients).
    pub shared: &'a Shared,
    /// The command table (COMMAND, INFO commandstats and help texts read it; dispatch
    /// owns the one instance, so the families need not import dispatch).
    pub table: &'static CommandTable,
    /// The keyspace this command reads: `&shared.keyspace`, or the snapshot the client
    /// switched to with SNAPSHOT READ (dispatch swaps it in). Reach it through
    /// [`Ctx::db`] rather than `shared.keyspace`, so that reads follow the view.
    pub keyspace: &'a Keyspace,
    /// This connection.
    pub client: &'a mut Client,
    /// This connection's reply buffer.
    pub out: &'a mut ReplyBuf,
    /// The time this command runs at, unix milliseconds (one clock read per batch).
    pub now: i64,
    /// Changes this command made to the dataset so far, Redis's `server.dirty`
    /// increments: handlers add with [`Ctx::add_dirty`], dispatch hands the total to
    /// persistence (save points, INFO `rdb_changes_since_last_save`) once the handler
    /// returns. Build a `Ctx` with 0.
    pub dirty: u64,
    /// Shards a caller holds for a group of commands (EXEC, EVAL, the test-only group
    /// runner): [`Ctx::keys`] hands these out instead of locking. `None` for a plain
    /// command, which locks its own keys' shards.
    pub held: Option<Held<'a>>,
}

impl<'a> Ctx<'a> {
    /// The client's selected database, in the keyspace it is viewing (the live one, or
    /// its SNAPSHOT READ snapshot). Borrowed for `'a`, not from `self`, so a handler can
    /// write `ctx.out` while it uses the database.
    #[inline]
    pub fn db(&self) -> &'a Db {
        self.keyspace.db(self.client.db)
    }

    /// Declares the keys this command works on, in the client's database, and locks
    /// their shards (or, in a group, checks the group holds them). Returns the access
    /// handle (keys by index: 0 is `keys[0]`...) and the reply buffer, usable
    /// together.
    #[inline]
    pub fn keys<'c>(&'c mut self, keys: &[&'c [u8]]) -> (Keys<'c, 'a>, &'c mut ReplyBuf) {
        let db = self.client.db;
        if let [key] = keys {
            return self.keys_at(&[(db, key)]);
        }
        let at: Vec<(usize, &'c [u8])> = keys.iter().map(|k| (db, *k)).collect();
        self.keys_at(&at)
    }

    /// [`Ctx::keys`] with each key's database given (COPY ... DB, MOVE).
    pub fn keys_at<'c>(
        &'c mut self,
        keys: &[(usize, &'c [u8])],
    ) -> (Keys<'c, 'a>, &'c mut ReplyBuf) {
        let cx = KeysCtx {
            shared: self.shared,
            keyspace: self.keyspace,
            held: self.held.as_mut(),
            now: self.now,
            no_touch: self.client.no_touch,
            dirty: &mut self.dirty,
        };
        (Keys::new(cx, keys), &mut *self.out)
    }

    /// Counts `n` changes to the dataset (Redis's `server.dirty += n`) that are not
    /// key writes through [`Keys`] (which count their own): FLUSHDB's, SWAPDB's.
    #[inline]
    pub fn add_dirty(&mut self, n: u64) {
        self.dirty += n;
    }

    /// Hands the changes counted so far to persistence now instead of after the
    /// handler (FLUSHALL, before it rewrites the dump: the save must see them).
    #[inline]
    pub fn commit_dirty(&mut self) {
        let n = std::mem::take(&mut self.dirty);
        if n > 0 {
            self.shared.persistence.add_dirty(n);
        }
    }
}

/// Command flags (Redis's names, as `COMMAND INFO` lists them).
pub mod flags {
    /// May modify the dataset.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads the dataset.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory: refused when over maxmemory.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// O(1) or O(log N) and never blocks.
    pub const FAST: u32 = 1 << 4;
    /// Allowed before AUTH.
    pub const NO_AUTH: u32 = 1 << 5;
    /// Allowed while loading the dataset.
    pub const LOADING: u32 = 1 << 6;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 7;
    /// Not propagated to MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 8;
    /// Not recorded in the slow log.
    pub const SKIP_SLOWLOG: u32 = 1 << 9;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 10;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 11;
    /// Allowed while a script is busy.
    pub const ALLOW_BUSY: u32 = 1 << 12;
    /// Its output is random (RANDOMKEY, SCAN...).
    pub const RANDOM: u32 = 1 << 13;

    /// Names in COMMAND INFO order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (NOSCRIPT, "noscript"),
        (RANDOM, "random"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// Where a command's keys are: argument indexes `first..=last` stepping by `step`.
/// `last` < 0 counts from the end (-1 = the last argument). All zero: no keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// Index of the first key argument (0 = no keys).
    pub first: i32,
    /// Index of the last key argument; negative counts from the end.
    pub last: i32,
    /// Distance between keys (2 for MSET's key value pairs).
    pub step: i32,
}

impl KeySpec {
    /// No key arguments.
    pub const NONE: KeySpec = KeySpec {
        first: 0,
        last: 0,
        step: 0,
    };

    /// Indexes of the key arguments of a command invoked with `argc` arguments.
    pub fn positions(&self, argc: usize) -> Vec<usize> {
        if self.first <= 0 || self.step <= 0 {
            return Vec::new();
        }
        let last = if self.last < 0 {
            argc as i64 + self.last as i64
        } else {
            self.last as i64
        };
        let mut v = Vec::new();
        let mut i = self.first as i64;
        while i <= last && (i as usize) < argc {
            v.push(i as usize);
            i += self.step as i64;
        }
        v
    }
}

/// Keys whose count is itself an argument (ZUNIONSTORE's and HMERGE's `numkeys`):
/// the count is argument `index`, the keys start `first` arguments after it and are
/// `step` apart. A row's [`KeySpec`] then holds only its fixed keys (Redis's legacy
/// `first/last/step`, as COMMAND INFO shows it) and the row is `movablekeys`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyNum {
    /// Index of the argument holding the number of keys.
    pub index: i32,
    /// Offset of the first key from `index`.
    pub first: i32,
    /// Distance between keys.
    pub step: i32,
}

impl KeyNum {
    /// Indexes of the keys in `args` (the command name at 0). Empty when the count is
    /// not a positive integer or runs past the arguments: Redis's key extraction
    /// returns no key for a call that would fail with a syntax error.
    pub fn positions(&self, args: &[&[u8]]) -> Vec<usize> {
        let (Ok(index), Ok(first), Ok(step)) = (
            usize::try_from(self.index),
            usize::try_from(self.first),
            usize::try_from(self.step),
        ) else {
            return Vec::new();
        };
        let count = args
            .get(index)
            .and_then(|a| std::str::from_utf8(a).ok())
            .and_then(|a| a.parse::<usize>().ok())
            .unwrap_or(0);
        let start = index + first;
        let Some(end) = count
            .checked_sub(1)
            .and_then(|c| c.checked_mul(step.max(1)))
            .and_then(|span| span.checked_add(start))
        else {
            return Vec::new();
        };
        if end >= args.len() {
            return Vec::new();
        }
        (start..=end).step_by(step.max(1)).collect()
    }
}

/// One row of the command table.
pub struct Command {
    /// Lowercase name (`get`; subcommands `setname` under `client`).
    pub name: &'static str,
    /// Redis arity: N = exactly N arguments (name included), -N = at least N.
    pub arity: i32,
    /// [`flags`] bits.
    pub flags: u32,
    /// Key positions.
    pub keys: KeySpec,
    /// Keys counted by an argument, after the fixed ones (`numkeys` commands).
    pub keynum: Option<KeyNum>,
    /// The handler (unused for containers, which dispatch to `subcommands`).
    pub handler: Handler,
    /// Redis command group (`string`, `generic`, `connection`, `server`...).
    pub group: &'static str,
    /// One-line summary for COMMAND DOCS.
    pub summary: &'static str,
    /// Version that introduced it (Redis's, for Redis commands).
    pub since: &'static str,
    /// Time complexity, for COMMAND DOCS.
    pub complexity: &'static str,
    /// ACL categories (without '@'), for COMMAND INFO.
    pub acl: &'static [&'static str],
    /// Subcommands (CLIENT SETNAME...), empty for plain commands.
    pub subcommands: &'static [Command],
}

impl Command {
    /// A row with the required fields; fill the rest with the `const` builders below.
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: (i32, i32, i32),
        handler: Handler,
    ) -> Command {
        Command {
            name,
            arity,
            flags,
            keys: KeySpec {
                first: keys.0,
                last: keys.1,
                step: keys.2,
            },
            keynum: None,
            handler,
            group: "generic",
            summary: "",
            since: "1.0.0",
            complexity: "O(1)",
            acl: &[],
            subcommands: &[],
        }
    }

    /// Sets group, summary and since.
    pub const fn doc(
        mut self,
        group: &'static str,
        summary: &'static str,
        since: &'static str,
    ) -> Command {
        self.group = group;
        self.summary = summary;
        self.since = since;
        self
    }

    /// Sets the complexity text.
    pub const fn complexity(mut self, c: &'static str) -> Command {
        self.complexity = c;
        self
    }

    /// Sets the ACL categories.
    pub const fn acl(mut self, acl: &'static [&'static str]) -> Command {
        self.acl = acl;
        self
    }

    /// Adds keys counted by argument `index` (see [`KeyNum`]).
    pub const fn keynum(mut self, index: i32, first: i32, step: i32) -> Command {
        self.keynum = Some(KeyNum { index, first, step });
        self
    }

    /// Makes this a container of subcommands.
    pub const fn subs(mut self, subs: &'static [Command]) -> Command {
        self.subcommands = subs;
        self
    }

    /// Whether `argc` arguments satisfy this row's arity.
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        if a >= 0 {
            argc == a as usize
        } else {
            argc >= (-a) as usize
        }
    }

    /// Whether the flag bits are set.
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
}

/// The assembled table: all families' rows, looked up by lowercase name.
pub struct CommandTable {
    /// Every top-level command, in registration order.
    pub commands: Vec<&'static Command>,
    by_name: foldhash::HashMap<&'static str, usize>,
}

impl CommandTable {
    /// Assembles the table from the families' row slices. Panics on a duplicate name
    /// (a bug caught by the first test that builds it).
    pub fn build(families: &[&'static [Command]]) -> CommandTable {
        let mut commands = Vec::new();
        for family in families {
            commands.extend(family.iter());
        }
        let by_name = commands
            .iter()
            .enumerate()
            .map(|(i, c): (usize, &&Command)| (c.name, i))
            .collect::<foldhash::HashMap<_, _>>();
        assert_eq!(by_name.len(), commands.len(), "duplicate command name");
        CommandTable { commands, by_name }
    }

    /// Finds a command by name, case-insensitively. Returns its index.
    #[inline]
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        let s = std::str::from_utf8(lower).ok()?;
        self.by_name.get(s).copied()
    }

    /// The row at `index`.
    pub fn get(&self, index: usize) -> &'static Command {
        self.commands[index]
    }

    /// Resolves the row that will run `args`: the command, or its subcommand, with
    /// its index (a subcommand counts under its container). Errors are Redis's
    /// unknown-command / unknown-subcommand / arity errors.
    #[inline]
    pub fn resolve(&self, args: &Args<'_>) -> Result<(usize, &'static Command), CmdError> {
        let name = &args[0];
        let Some(idx) = self.find(name) else {
            return Err(CmdError::unknown_command(&args[0], args.iter().skip(1)));
        };
        let cmd = self.get(idx);
        if cmd.subcommands.is_empty() {
            if !cmd.arity_ok(args.len()) {
                return Err(CmdError::WrongArity(cmd.name.to_string()));
            }
            return Ok((idx, cmd));
        }
        if args.len() < 2 {
            return Err(CmdError::WrongArity(cmd.name.to_string()));
        }
        let Some(sub) = find_sub(cmd, &args[1]) else {
            return Err(CmdError::UnknownSubcommand {
                sub: show_arg(&args[1]),
                cmd: cmd.name.to_ascii_uppercase(),
            });
        };
        if !sub.arity_ok(args.len()) {
            return Err(CmdError::WrongArity(format!("{}|{}", cmd.name, sub.name)));
        }
        Ok((idx, sub))
    }
}

/// Finds a subcommand row by name (case-insensitive).
pub fn find_sub(cmd: &'static Command, name: &[u8]) -> Option<&'static Command> {
    cmd.subcommands
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions() {
        let mset = KeySpec {
            first: 1,
            last: -1,
            step: 2,
        };
        assert_eq!(mset.positions(5), vec![1, 3]);
        let get = KeySpec {
            first: 1,
            last: 1,
            step: 1,
        };
        assert_eq!(get.positions(2), vec![1]);
        assert!(KeySpec::NONE.positions(3).is_empty());
        let numkeys = KeyNum {
            index: 2,
            first: 1,
            step: 1,
        };
        let args =
            |v: &[&'static str]| -> Vec<&'static [u8]> { v.iter().map(|a| a.as_bytes()).collect() };
        assert_eq!(
            numkeys.positions(&args(&["x", "d", "2", "a", "b", "opt"])),
            vec![3, 4]
        );
        assert_eq!(numkeys.positions(&args(&["x", "d", "1", "a"])), vec![3]);
        for bad in [
            &["x", "d", "3", "a", "b"][..],
            &["x", "d", "0", "a"],
            &["x", "d", "-1", "a"],
            &["x", "d", "z", "a"],
            &["x", "d"],
        ] {
            assert!(numkeys.positions(&args(bad)).is_empty(), "{bad:?}");
        }
    }
}
