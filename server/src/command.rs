//! The command table: every command described once, as data.
//!
//! This module holds the types only: a [`Command`] row (name, arity, flags, key
//! positions, documentation, argument schema, handler), the assembled
//! [`CommandTable`], and [`Ctx`], what a handler gets. The table itself is built by
//! [`crate::dispatch`] from the families' `COMMANDS` slices; dispatch, `COMMAND
//! COUNT/LIST/INFO/DOCS/GETKEYS`, commandstats and the gates (read-only snapshot
//! views refuse every row flagged `write`) read it. Adding a command = one row in its
//! family's `COMMANDS` slice + one handler in the same file + its [`Schema`] in
//! `command_args.rs` (`scripts/gen-command-args.py`).

use shoal_protocol::{Args, ReplyBuf};
use shoal_storage::{Db, Keyspace};

use crate::access::{Held, Keys, KeysCtx, Tally};
use crate::blocking::Block;
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
    pub tally: Tally,
    /// Shards a caller holds for a group of commands (EXEC, EVAL, the test-only group
    /// runner): [`Ctx::keys`] hands these out instead of locking. `None` for a plain
    /// command, which locks its own keys' shards.
    pub held: Option<Held<'a>>,
}

impl<'a> Ctx<'a> {
    /// The context of a command (or a group, with `held`) about to run.
    pub fn new(
        shared: &'a Shared,
        table: &'static CommandTable,
        keyspace: &'a Keyspace,
        client: &'a mut Client,
        out: &'a mut ReplyBuf,
        now: i64,
        held: Option<Held<'a>>,
    ) -> Ctx<'a> {
        Ctx {
            shared,
            table,
            keyspace,
            client,
            out,
            now,
            tally: Tally::default(),
            held,
        }
    }

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
    #[inline(always)]
    pub fn keys<'c>(&'c mut self, keys: &[&'c [u8]]) -> (Keys<'c, 'a>, &'c mut ReplyBuf) {
        let db = self.client.db;
        if let [key] = keys {
            return self.keys_at(&[(db, key)]);
        }
        let at: Vec<(usize, &'c [u8])> = keys.iter().map(|k| (db, *k)).collect();
        self.keys_at(&at)
    }

    /// [`Ctx::keys`] with each key's database given (COPY ... DB, MOVE).
    #[inline(always)]
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
            view: self.client.snapshot.is_some(),
            tally: &mut self.tally,
        };
        (Keys::new(cx, keys), &mut *self.out)
    }

    /// A snapshot of the live keyspace (BGSAVE, FLUSHALL's save, SNAPSHOT CREATE): in a
    /// group holding every shard, taken from its guards (locking them again would
    /// deadlock); otherwise as `Keyspace::snapshot` takes it.
    pub fn live_snapshot(&mut self) -> Keyspace {
        match self.held.as_mut() {
            Some(held) if self.client.snapshot.is_none() => {
                self.shared.keyspace.snapshot_with(held)
            }
            _ => self.shared.keyspace.snapshot(),
        }
    }

    /// Counts `n` changes to the dataset (Redis's `server.dirty += n`) that are not
    /// key writes through [`Keys`] (which count their own): FLUSHDB's, SWAPDB's.
    #[inline]
    pub fn add_dirty(&mut self, n: u64) {
        self.tally.dirty += n;
    }

    /// Parks this command (BLPOP-style): the handler then returns `Ok(())` without
    /// writing a reply. The connection stops running the client's later commands,
    /// waits without polling (see [`crate::blocking`]), and runs this command again
    /// when one of its keys is signalled (it may block again), or answers
    /// `block.on_timeout` once `block.deadline` passes.
    pub fn block(&mut self, block: Block) {
        self.client.parked = Some(block);
    }

    /// Counts the changes counted so far now instead of after the handler
    /// (FLUSHALL, before it rewrites the dump: the save must see them).
    #[inline]
    pub fn commit_dirty(&mut self) {
        let tally = std::mem::take(&mut self.tally);
        self.shared.counters.local().tally(&tally);
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
    /// A pub/sub command (its key specs, if any, name channels: `not_key`).
    pub const PUBSUB: u32 = 1 << 15;
    /// May block the client (BZPOPMIN...: it parks through `Ctx::block`).
    pub const BLOCKING: u32 = 1 << 14;
    /// Touches keys its key spec cannot name (SORT's BY/GET patterns). Rows with a
    /// `numkeys` argument are `movablekeys` without it ([`super::KeyNum`]).
    pub const MOVABLEKEYS: u32 = 1 << 16;
    /// May be called without keys though it has key arguments (EVAL, FCALL: COMMAND
    /// GETKEYS answers an empty array rather than an error).
    pub const NO_MANDATORY_KEYS: u32 = 1 << 17;
    /// Runs only as `enable-debug-command` allows (Redis's `protected`, which COMMAND
    /// INFO hides).
    pub const PROTECTED: u32 = 1 << 18;

    /// Names in COMMAND INFO order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (RANDOM, "random"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (MOVABLEKEYS, "movablekeys"),
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

/// The type of one argument in a command's schema (Redis's `arg->type`, as COMMAND
/// DOCS names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// Any bytes.
    String,
    /// A 64-bit integer.
    Integer,
    /// A floating point number.
    Double,
    /// A key name (the argument says which key spec finds it: `key_spec_index`).
    Key,
    /// A glob-style pattern.
    Pattern,
    /// A Unix time (seconds or milliseconds, as the name says).
    UnixTime,
    /// A token alone (`NX`), no value.
    PureToken,
    /// Exactly one of the sub-arguments.
    OneOf,
    /// The sub-arguments in sequence.
    Block,
}

impl ArgKind {
    /// The name COMMAND DOCS gives the type.
    pub const fn name(self) -> &'static str {
        match self {
            ArgKind::String => "string",
            ArgKind::Integer => "integer",
            ArgKind::Double => "double",
            ArgKind::Key => "key",
            ArgKind::Pattern => "pattern",
            ArgKind::UnixTime => "unix-time",
            ArgKind::PureToken => "pure-token",
            ArgKind::OneOf => "oneof",
            ArgKind::Block => "block",
        }
    }
}

/// Argument flags (Redis's names, as COMMAND DOCS lists them, in this order).
pub mod arg_flags {
    /// The argument may be left out.
    pub const OPTIONAL: u8 = 1 << 0;
    /// The argument may repeat.
    pub const MULTIPLE: u8 = 1 << 1;
    /// Each repetition repeats the token too (`GET pattern [GET pattern ...]`).
    pub const MULTIPLE_TOKEN: u8 = 1 << 2;

    /// Names in COMMAND DOCS order.
    pub const NAMES: &[(u8, &str)] = &[
        (OPTIONAL, "optional"),
        (MULTIPLE, "multiple"),
        (MULTIPLE_TOKEN, "multiple_token"),
    ];
}

/// One argument of a command's syntax: Redis's argument schema, as static data.
/// Build one with the constructor of its kind and the `const` builders:
/// `Arg::oneof("condition", &[..]).since("2.6.12").optional()`.
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    /// Name (`key`, `unix-time-seconds`); what COMMAND DOCS and the hints show.
    pub name: &'static str,
    /// Its type.
    pub kind: ArgKind,
    /// The key spec that finds it (keys only; the index in COMMAND INFO's key specs).
    pub key_spec_index: Option<u32>,
    /// The literal token before the value (`EX`), or the whole argument (pure tokens).
    pub token: Option<&'static str>,
    /// The text shown instead of the name (`display_text`).
    pub display: Option<&'static str>,
    /// A one-line description.
    pub summary: Option<&'static str>,
    /// The version that added it.
    pub since: Option<&'static str>,
    /// The version that deprecated it.
    pub deprecated_since: Option<&'static str>,
    /// [`arg_flags`] bits.
    pub flags: u8,
    /// The sub-arguments of a `OneOf` or `Block`.
    pub subargs: &'static [Arg],
}

impl Arg {
    /// An argument of `kind` with nothing else set.
    pub const fn new(name: &'static str, kind: ArgKind) -> Arg {
        Arg {
            name,
            kind,
            key_spec_index: None,
            token: None,
            display: None,
            summary: None,
            since: None,
            deprecated_since: None,
            flags: 0,
            subargs: &[],
        }
    }

    /// A key, found by key spec `spec`.
    pub const fn key(name: &'static str, spec: u32) -> Arg {
        let mut a = Arg::new(name, ArgKind::Key);
        a.key_spec_index = Some(spec);
        a
    }

    /// The key spec that finds the keys this argument names (SORT's BY and GET
    /// patterns).
    pub const fn key_spec(mut self, spec: u32) -> Arg {
        self.key_spec_index = Some(spec);
        self
    }

    /// A string.
    pub const fn string(name: &'static str) -> Arg {
        Arg::new(name, ArgKind::String)
    }

    /// An integer.
    pub const fn integer(name: &'static str) -> Arg {
        Arg::new(name, ArgKind::Integer)
    }

    /// A floating point number.
    pub const fn double(name: &'static str) -> Arg {
        Arg::new(name, ArgKind::Double)
    }

    /// A glob-style pattern.
    pub const fn pattern(name: &'static str) -> Arg {
        Arg::new(name, ArgKind::Pattern)
    }

    /// A Unix time.
    pub const fn unix_time(name: &'static str) -> Arg {
        Arg::new(name, ArgKind::UnixTime)
    }

    /// A token standing alone (`NX`).
    pub const fn pure_token(name: &'static str, token: &'static str) -> Arg {
        Arg::new(name, ArgKind::PureToken).token(token)
    }

    /// One of `subargs`.
    pub const fn oneof(name: &'static str, subargs: &'static [Arg]) -> Arg {
        let mut a = Arg::new(name, ArgKind::OneOf);
        a.subargs = subargs;
        a
    }

    /// `subargs` in sequence.
    pub const fn block(name: &'static str, subargs: &'static [Arg]) -> Arg {
        let mut a = Arg::new(name, ArgKind::Block);
        a.subargs = subargs;
        a
    }

    /// Sets the token that precedes the value.
    pub const fn token(mut self, token: &'static str) -> Arg {
        self.token = Some(token);
        self
    }

    /// Sets the text shown instead of the name.
    pub const fn display(mut self, text: &'static str) -> Arg {
        self.display = Some(text);
        self
    }

    /// Sets the one-line description.
    pub const fn summary(mut self, text: &'static str) -> Arg {
        self.summary = Some(text);
        self
    }

    /// Sets the version that added it.
    pub const fn since(mut self, version: &'static str) -> Arg {
        self.since = Some(version);
        self
    }

    /// Sets the version that deprecated it.
    pub const fn deprecated_since(mut self, version: &'static str) -> Arg {
        self.deprecated_since = Some(version);
        self
    }

    /// Marks it optional.
    pub const fn optional(mut self) -> Arg {
        self.flags |= arg_flags::OPTIONAL;
        self
    }

    /// Marks it repeatable.
    pub const fn multiple(mut self) -> Arg {
        self.flags |= arg_flags::MULTIPLE;
        self
    }

    /// Marks it repeatable with its token before each repetition.
    pub const fn multiple_token(mut self) -> Arg {
        self.flags |= arg_flags::MULTIPLE_TOKEN;
        self
    }

    /// Whether the [`arg_flags`] bits are set.
    pub const fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Writes this argument as COMMAND DOCS does: a map of `name`, `type`, then only
    /// the fields that are set (`display_text`, `key_spec_index`, `token`, `summary`,
    /// `since`, `deprecated_since`, `flags` as a set, `arguments`), in that order.
    pub fn reply(&self, out: &mut ReplyBuf) {
        let fields = 2
            + usize::from(self.display.is_some())
            + usize::from(self.key_spec_index.is_some())
            + usize::from(self.token.is_some())
            + usize::from(self.summary.is_some())
            + usize::from(self.since.is_some())
            + usize::from(self.deprecated_since.is_some())
            + usize::from(self.flags != 0)
            + usize::from(!self.subargs.is_empty());
        out.map(fields);
        out.bulk_str("name");
        out.bulk_str(self.name);
        out.bulk_str("type");
        out.bulk_str(self.kind.name());
        if let Some(d) = self.display {
            out.bulk_str("display_text");
            out.bulk_str(d);
        }
        if let Some(i) = self.key_spec_index {
            out.bulk_str("key_spec_index");
            out.int(i.into());
        }
        let texts = [
            ("token", self.token),
            ("summary", self.summary),
            ("since", self.since),
            ("deprecated_since", self.deprecated_since),
        ];
        for (field, value) in texts {
            if let Some(v) = value {
                out.bulk_str(field);
                out.bulk_str(v);
            }
        }
        if self.flags != 0 {
            out.bulk_str("flags");
            let names = arg_flags::NAMES.iter().filter(|(f, _)| self.has(*f));
            out.set(names.clone().count());
            for (_, n) in names {
                out.simple_str(n);
            }
        }
        if !self.subargs.is_empty() {
            out.bulk_str("arguments");
            reply_args(out, self.subargs);
        }
    }
}

/// Writes an argument list as COMMAND DOCS does: an array of argument maps.
pub fn reply_args(out: &mut ReplyBuf, args: &[Arg]) {
    out.array(args.len());
    for a in args {
        a.reply(out);
    }
}

/// Documentation flags of a command (Redis's `doc_flags`).
pub mod doc_flags {
    /// The command is deprecated (see `deprecated_since`, `replaced_by`).
    pub const DEPRECATED: u8 = 1 << 0;
    /// A system command, not meant to be called by users.
    pub const SYSCMD: u8 = 1 << 1;

    /// Names in COMMAND DOCS order.
    pub const NAMES: &[(u8, &str)] = &[(DEPRECATED, "deprecated"), (SYSCMD, "syscmd")];
}

/// A command's documented syntax beyond its row's summary/since/group/complexity:
/// its arguments, history and deprecation, as Redis's command JSON files hold them.
/// The rows' schemas live in [`crate::command_args`] (generated from Redis's own
/// COMMAND DOCS by `scripts/gen-command-args.py`); COMMAND DOCS renders them, so
/// `redis-cli` shows typing hints and `HELP <command>`, and later argument or ACL
/// checks can read them.
#[derive(Clone, Copy, Debug)]
pub struct Schema {
    /// The arguments after the command name (after the subcommand name for a
    /// subcommand).
    pub args: &'static [Arg],
    /// `(version, change)` entries, oldest first.
    pub history: &'static [(&'static str, &'static str)],
    /// [`doc_flags`] bits.
    pub doc_flags: u8,
    /// The version that deprecated the command.
    pub deprecated_since: Option<&'static str>,
    /// What replaces the deprecated command (Markdown, as Redis writes it).
    pub replaced_by: Option<&'static str>,
    /// Redis's key specifications of the command (COMMAND INFO), when it has some;
    /// `None`: derived from the row's key positions and flags (Shoal's own commands).
    pub key_specs: Option<&'static [KeySpecDoc]>,
}

/// One of Redis 7's key specifications, as COMMAND INFO shows it: generated from
/// redis-server's own for the commands it has (`scripts/gen-command-args.py`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpecDoc {
    /// Redis's note about the spec, if any.
    pub notes: Option<&'static str>,
    /// Its flags (`RW`, `access`, `insert`...), in Redis's order.
    pub flags: &'static [&'static str],
    /// Where the search for keys begins.
    pub begin: BeginSearch,
    /// How keys are found from there.
    pub find: FindKeys,
}

/// A key spec's `begin_search`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeginSearch {
    /// At argument `index`.
    Index(i64),
    /// After `keyword`, searched from argument `startfrom` (negative: from the end).
    Keyword {
        /// The keyword (`STORE`, `STREAMS`).
        keyword: &'static str,
        /// Where the search starts.
        startfrom: i64,
    },
    /// Not known from the arguments' positions.
    Unknown,
}

/// A key spec's `find_keys`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindKeys {
    /// A range: up to `lastkey` (relative to the begin, negative from the end),
    /// every `keystep`, `limit` (0: none) dividing what remains.
    Range {
        /// The last key, relative.
        lastkey: i64,
        /// The distance between keys.
        keystep: i64,
        /// 0, or the part of the remaining arguments that are keys.
        limit: i64,
    },
    /// A count of keys at `keynumidx`, the first key `firstkey` after it.
    Keynum {
        /// Where the count is, relative to the begin.
        keynumidx: i64,
        /// The first key, relative to the begin.
        firstkey: i64,
        /// The distance between keys.
        keystep: i64,
    },
    /// Not known from the arguments' positions.
    Unknown,
}

impl Schema {
    /// No arguments and no other documentation (a row without a schema).
    pub const NONE: Schema = Schema::new(&[]);

    /// A schema with these arguments and nothing else.
    pub const fn new(args: &'static [Arg]) -> Schema {
        Schema {
            args,
            history: &[],
            doc_flags: 0,
            deprecated_since: None,
            replaced_by: None,
            key_specs: None,
        }
    }

    /// Sets Redis's key specifications.
    pub const fn key_specs(mut self, specs: &'static [KeySpecDoc]) -> Schema {
        self.key_specs = Some(specs);
        self
    }

    /// Sets the history.
    pub const fn history(mut self, history: &'static [(&'static str, &'static str)]) -> Schema {
        self.history = history;
        self
    }

    /// Sets the [`doc_flags`] bits.
    pub const fn doc_flags(mut self, flags: u8) -> Schema {
        self.doc_flags = flags;
        self
    }

    /// Marks the command deprecated since `version`, replaced by `by`.
    pub const fn deprecated(mut self, version: &'static str, by: &'static str) -> Schema {
        self.doc_flags |= doc_flags::DEPRECATED;
        self.deprecated_since = Some(version);
        self.replaced_by = Some(by);
        self
    }

    /// How many COMMAND DOCS fields [`Schema::reply_fields`] writes.
    pub fn field_count(&self) -> usize {
        usize::from(self.doc_flags != 0)
            + usize::from(self.deprecated_since.is_some())
            + usize::from(self.replaced_by.is_some())
            + usize::from(!self.history.is_empty())
            + usize::from(!self.args.is_empty())
    }

    /// Writes this schema's COMMAND DOCS fields (keys and values, inside the caller's
    /// map, after `complexity`): `doc_flags` (a set), `deprecated_since`,
    /// `replaced_by`, `history` (a set of `[version, change]` arrays) and `arguments`,
    /// each only when set, in Redis's order.
    pub fn reply_fields(&self, out: &mut ReplyBuf) {
        if self.doc_flags != 0 {
            out.bulk_str("doc_flags");
            let names = doc_flags::NAMES
                .iter()
                .filter(|(f, _)| self.doc_flags & f != 0);
            out.set(names.clone().count());
            for (_, n) in names {
                out.simple_str(n);
            }
        }
        if let Some(v) = self.deprecated_since {
            out.bulk_str("deprecated_since");
            out.bulk_str(v);
        }
        if let Some(v) = self.replaced_by {
            out.bulk_str("replaced_by");
            out.bulk_str(v);
        }
        if !self.history.is_empty() {
            out.bulk_str("history");
            out.set(self.history.len());
            for (version, change) in self.history {
                out.array(2);
                out.bulk_str(version);
                out.bulk_str(change);
            }
        }
        if !self.args.is_empty() {
            out.bulk_str("arguments");
            reply_args(out, self.args);
        }
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
    /// Time complexity, for COMMAND DOCS (empty: none, the field is left out).
    pub complexity: &'static str,
    /// ACL categories (without '@'), for COMMAND INFO.
    pub acl: &'static [&'static str],
    /// Subcommands (CLIENT SETNAME...), empty for plain commands.
    pub subcommands: &'static [Command],
    /// Arguments, history and deprecation, for COMMAND DOCS ([`Schema::NONE`] unless
    /// set with [`Command::schema`]).
    pub schema: &'static Schema,
    /// What the command reaches beyond its key spec, for a group that must lock it
    /// first ([`Scope::Keys`] unless set with [`Command::scope`]).
    pub scope: Scope,
}

/// What a command reaches, so that a group of commands (EXEC) can lock it all before
/// the first one runs (see `dispatch::run_group`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The keys its key spec names (none for keyless commands).
    Keys,
    /// Every shard of the selected database (KEYS, SCAN, FLUSHDB, SORT's patterns...).
    Db,
    /// Every shard of every database (FLUSHALL, SWAPDB, BGSAVE, INFO...).
    All,
    /// The keyspace through paths that lock on their own: not runnable in a group.
    Own,
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
            schema: &Schema::NONE,
            scope: Scope::Keys,
        }
    }

    /// Sets what the command reaches beyond its key spec (see [`Scope`]).
    pub const fn scope(mut self, scope: Scope) -> Command {
        self.scope = scope;
        self
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

    /// Sets the argument schema (a const of [`crate::command_args`]).
    pub const fn schema(mut self, schema: &'static Schema) -> Command {
        self.schema = schema;
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

    /// Indexes of the key arguments in `argv` (the command name at 0): the key
    /// spec's fixed ones, then those counted by a `numkeys` argument. `None` when that
    /// count is not valid (the call is a syntax error, in which Redis finds no key).
    pub fn key_positions(&self, argv: &[&[u8]]) -> Option<Vec<usize>> {
        let mut positions = self.keys.positions(argv.len());
        if self.has(flags::MOVABLEKEYS) && self.has(flags::WRITE) {
            // SORT's STORE destination (the last one), as Redis's `sortGetKeys`:
            // LIMIT's, GET's and BY's values are skipped.
            let mut store = None;
            let mut i = 2;
            while i < argv.len() {
                let a = argv[i];
                if a.eq_ignore_ascii_case(b"limit") {
                    i += 2;
                } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
                    i += 1;
                } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
                    store = Some(i + 1);
                }
                i += 1;
            }
            positions.extend(store);
        }
        if let Some(n) = self.keynum {
            let counted = n.positions(argv);
            if counted.is_empty() {
                return None;
            }
            positions.extend(counted);
        }
        Some(positions)
    }

    /// Whether the flag bits are set.
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
}

/// The assembled table: all families' rows, looked up by name, case-insensitively.
pub struct CommandTable {
    /// Every top-level command, in registration order.
    pub commands: Vec<&'static Command>,
    /// Open addressing by [`name_slot`] over folded names; at most a quarter full, so
    /// a probe ends within a slot or two.
    slots: Box<[NameSlot]>,
    /// Runs a group of commands atomically (dispatch's `run_group`; EXEC calls it
    /// through here, as the families sit below dispatch).
    pub run_group: GroupRunner,
    /// Runs one command of a script (dispatch's `script_call`).
    pub script_call: ScriptCaller,
}

/// How a script's `redis.call` failed before or instead of running its command.
#[derive(Debug)]
pub enum CallError {
    /// A refusal: the error text (with its code).
    Refused(String),
    /// The command needs a shard another client holds and the script has changed
    /// nothing yet: the caller releases its locks and runs the script again with
    /// every shard held.
    Retry,
}

/// What dispatch's `script_call` needs of the script running and tells it back.
#[derive(Debug, Default)]
pub struct ScriptCall {
    /// Write commands are refused (EVAL_RO, `no-writes`).
    pub read_only: bool,
    /// The script may still be rerun (it changed nothing and holds its own locks).
    pub may_retry: bool,
    /// The shards of its declared keys (sorted).
    pub declared: Vec<(usize, usize)>,
    /// Set: it ran a write command (SCRIPT KILL refuses then).
    pub wrote: bool,
    /// Added to: the changes its commands made.
    pub dirty: u64,
    /// Set: one of its commands reached a shard outside `declared`.
    pub outside: bool,
}

/// Dispatch's `script_call`: runs one command of a script under the script's held
/// shards (`ctx.held`), extending them as needed.
pub type ScriptCaller =
    for<'a, 'b, 'c> fn(&'b mut Ctx<'a>, &'c Args<'c>, &'c mut ScriptCall) -> Result<(), CallError>;

/// Dispatch's group runner (see `dispatch::run_group`): runs `group` under one
/// acquisition of its shards (and of `extra` keys'), if `precheck`, run once the
/// locks are held, says so; returns whether it ran, or BUSY if a script went busy
/// while it waited for the shards.
pub type GroupRunner = for<'a, 'b, 'c> fn(
    &'b mut Ctx<'a>,
    &'c [Args<'c>],
    &'c [(usize, &'c [u8])],
    &'c mut dyn FnMut(&mut Ctx<'a>) -> bool,
) -> Result<bool, CmdError>;

/// A command name folded to ASCII lower case (exactly: only `A`-`Z` change), packed
/// little-endian into two words: the first 16 bytes of it; longer names (a few
/// `*_ro` commands) compare their tail byte by byte. A handful of loads and word
/// operations, whatever the length: this runs once per request.
#[inline(always)]
fn fold_name(name: &[u8]) -> [u64; 2] {
    let (head, tail) = name.split_at(name.len().min(8));
    let tail = &tail[..tail.len().min(8)];
    [lower_word(load_word(head)), lower_word(load_word(tail))]
}

/// Up to 8 bytes as a little-endian word (zero above them), with at most two loads.
#[inline(always)]
fn load_word(b: &[u8]) -> u64 {
    let n = b.len();
    if let Some(w) = b.first_chunk::<8>() {
        u64::from_le_bytes(*w)
    } else if let (Some(lo), Some(hi)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        // Two overlapping 4-byte loads cover 4..=7 bytes; the overlap is the same bytes.
        let lo = u64::from(u32::from_le_bytes(*lo));
        let hi = u64::from(u32::from_le_bytes(*hi));
        lo | hi << ((n - 4) * 8)
    } else if n > 0 {
        // Bytes 0, n/2 and n-1 cover 1..=3 bytes.
        u64::from(b[0]) | u64::from(b[n / 2]) << (n / 2 * 8) | u64::from(b[n - 1]) << ((n - 1) * 8)
    } else {
        0
    }
}

/// Each byte of `x` in `A`..=`Z` turned to lower case, every other byte unchanged.
#[inline(always)]
fn lower_word(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let b = x & LOW7;
    // A byte's high bit set by adding: at or above 'A' (0x41), above 'Z' (0x5a).
    let at_least_a = b + 0x3f3f_3f3f_3f3f_3f3f;
    let above_z = b + 0x2525_2525_2525_2525;
    let upper = at_least_a & !above_z & !x & HIGH;
    x | upper >> 2
}

/// The probe start of a folded name of `len` bytes in a table of `mask + 1` slots.
#[inline]
fn name_slot(words: [u64; 2], len: usize, mask: usize) -> usize {
    let h = (words[0] ^ words[1].rotate_left(29) ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 32) as usize & mask
}

/// One slot of the name table: the command's folded name and length, and its index
/// plus one (0: an empty slot). A lookup reads one slot, usually the first it probes.
#[derive(Clone, Copy, Default)]
struct NameSlot {
    words: [u64; 2],
    len: u32,
    index: u32,
}

impl CommandTable {
    /// Assembles the table from the families' row slices. Panics on a duplicate name
    /// (a bug caught by the first test that builds it).
    pub fn build(
        families: &[&'static [Command]],
        run_group: GroupRunner,
        script_call: ScriptCaller,
    ) -> CommandTable {
        let mut commands = Vec::new();
        for family in families {
            commands.extend(family.iter());
        }
        let size = (commands.len() * 4).next_power_of_two().max(64);
        assert!(commands.len() < usize::from(u16::MAX), "too many commands");
        let mut slots = vec![NameSlot::default(); size].into_boxed_slice();
        for (i, c) in commands.iter().enumerate() {
            let name = c.name.as_bytes();
            let words = fold_name(name);
            let mut s = name_slot(words, name.len(), size - 1);
            while slots[s].index != 0 {
                let other = commands[slots[s].index as usize - 1];
                assert!(other.name != c.name, "duplicate command name {}", c.name);
                s = (s + 1) & (size - 1);
            }
            slots[s] = NameSlot {
                words,
                len: name.len() as u32,
                index: (i + 1) as u32,
            };
        }
        CommandTable {
            commands,
            slots,
            run_group,
            script_call,
        }
    }

    /// Finds a command by name, case-insensitively. Returns its index.
    #[inline]
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let words = fold_name(name);
        let mut s = name_slot(words, name.len(), mask);
        loop {
            let slot = &self.slots[s];
            if slot.index == 0 {
                return None;
            }
            if slot.words == words && slot.len as usize == name.len() {
                let i = slot.index as usize - 1;
                if name.len() <= 16
                    || self.commands[i].name.as_bytes()[16..].eq_ignore_ascii_case(&name[16..])
                {
                    return Some(i);
                }
            }
            s = (s + 1) & mask;
        }
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
            return Err(CmdError::WrongArity(full_name(cmd.name, sub)));
        }
        Ok((idx, sub))
    }
}

/// How errors name `cmd` found under `container`: `container|sub` for a subcommand,
/// the name otherwise.
pub fn full_name(container: &str, cmd: &Command) -> String {
    if container == cmd.name {
        cmd.name.to_string()
    } else {
        format!("{container}|{}", cmd.name)
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
    fn names_are_found_in_any_case_and_only_them() {
        static ROWS: &[Command] = &[
            Command::new("get", 2, 0, (1, 1, 1), |_, _| Ok(())).doc("string", "x", "1.0.0"),
            Command::new("set", -3, 0, (1, 1, 1), |_, _| Ok(())).doc("string", "x", "1.0.0"),
            Command::new("config", -2, 0, (0, 0, 0), |_, _| Ok(())).doc("server", "x", "1.0.0"),
            // Longer than the 16 folded bytes, equal in them: the tails decide.
            Command::new("georadiusbymember_ro", -6, 0, (1, 1, 1), |_, _| Ok(()))
                .doc("geo", "x", "1.0.0"),
            Command::new("georadiusbymember_rw", -6, 0, (1, 1, 1), |_, _| Ok(()))
                .doc("geo", "x", "1.0.0"),
        ];
        let t = CommandTable::build(&[ROWS], |_, _, _, _| Ok(false), |_, _, _| Ok(()));
        assert_eq!(t.find(b"GET"), Some(0));
        assert_eq!(t.find(b"gEt"), Some(0));
        assert_eq!(t.find(b"set"), Some(1));
        assert_eq!(t.find(b"CONFIG"), Some(2));
        assert_eq!(t.find(b"GEORADIUSBYMEMBER_RO"), Some(3));
        assert_eq!(t.find(b"georadiusbymember_Rw"), Some(4));
        for missing in [
            &b"ge"[..],
            b"gets",
            b"",
            b"G\xc5T",
            b"conf1g",
            &[b'x'; 100],
            b"georadiusbymember_rx",
            b"georadiusbymember_r",
            b"georadiusbymember\x7fro",
        ] {
            assert_eq!(t.find(missing), None, "{missing:?}");
        }
    }

    #[test]
    fn every_real_command_is_found_in_any_case_and_near_misses_are_not() {
        let t = &*crate::dispatch::TABLE;
        for (i, c) in t.commands.iter().enumerate() {
            let name = c.name.as_bytes();
            assert_eq!(t.find(name), Some(i), "{}", c.name);
            assert_eq!(t.find(&name.to_ascii_uppercase()), Some(i), "{}", c.name);
            let mixed: Vec<u8> = name
                .iter()
                .enumerate()
                .map(|(j, b)| {
                    if j % 2 == 0 {
                        b.to_ascii_uppercase()
                    } else {
                        *b
                    }
                })
                .collect();
            assert_eq!(t.find(&mixed), Some(i), "{}", c.name);
            // Each byte changed to a byte that only differs in bit 5 (or to one past
            // it), anywhere in the name, long names' tails included: not this command.
            for j in 0..name.len() {
                for flip in [name[j] ^ 0x20, name[j].wrapping_add(1)] {
                    if flip.eq_ignore_ascii_case(&name[j]) {
                        continue;
                    }
                    let mut other = name.to_vec();
                    other[j] = flip;
                    if let Some(k) = t.find(&other) {
                        assert!(t.commands[k].name.as_bytes().eq_ignore_ascii_case(&other));
                    }
                }
            }
            let mut longer = name.to_vec();
            longer.push(b'x');
            if let Some(k) = t.find(&longer) {
                assert!(t.commands[k].name.as_bytes().eq_ignore_ascii_case(&longer));
            }
        }
    }

    #[test]
    fn folding_is_exact_ascii_lower_case_for_every_byte_and_length() {
        for b in 0..=255u8 {
            for len in 1..=16 {
                for at in 0..len {
                    let mut name = vec![b'q'; len];
                    name[at] = b;
                    let want: Vec<u8> = name.to_ascii_lowercase();
                    let w = fold_name(&name);
                    let mut got = [0u8; 16];
                    got[..8].copy_from_slice(&w[0].to_le_bytes());
                    got[8..].copy_from_slice(&w[1].to_le_bytes());
                    assert_eq!(&got[..len], &want[..], "byte {b:#x} at {at} of {len}");
                    assert!(got[len..].iter().all(|&z| z == 0));
                }
            }
        }
    }

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

    /// Every argument of a schema is well formed: containers have sub-arguments and
    /// only they do, pure tokens have a token, keys (and only keys) name a key spec.
    /// (The index counts Redis's key specs, which can be finer than the one or two
    /// COMMAND INFO derives from a row: RENAME's source and destination are two.)
    fn check_args(row: &str, args: &[Arg]) {
        for a in args {
            let container = matches!(a.kind, ArgKind::OneOf | ArgKind::Block);
            assert_eq!(container, !a.subargs.is_empty(), "{row}: {}", a.name);
            assert!(
                a.kind != ArgKind::PureToken || a.token.is_some(),
                "{row}: {}",
                a.name
            );
            // Keys have a key spec; so do patterns that name keys (SORT's BY, GET).
            assert!(
                a.kind == ArgKind::Key || a.kind == ArgKind::Pattern || a.key_spec_index.is_none(),
                "{row}: {}",
                a.name
            );
            assert!(
                a.kind != ArgKind::Key || a.key_spec_index.is_some(),
                "{row}: {}",
                a.name
            );
            assert!(
                !a.has(arg_flags::MULTIPLE_TOKEN) || a.has(arg_flags::MULTIPLE),
                "{row}: {}",
                a.name
            );
            check_args(row, a.subargs);
        }
    }

    #[test]
    fn schemas_are_consistent() {
        use crate::dispatch::TABLE;
        let mut rows: Vec<(String, &Command, usize)> = Vec::new();
        for c in &TABLE.commands {
            rows.push((c.name.to_string(), c, 1));
            for s in c.subcommands {
                rows.push((format!("{}|{}", c.name, s.name), s, 2));
            }
        }
        for (name, row, words) in rows {
            check_args(&name, row.schema.args);
            // Shard channels are found like keys (for cluster slots) but documented
            // as channels, as in Redis.
            let has_keys = (row.keys.first > 0 || row.keynum.is_some()) && !row.has(flags::PUBSUB);
            let mut key_args = Vec::new();
            fn keys<'a>(args: &'a [Arg], out: &mut Vec<&'a Arg>) {
                for a in args {
                    if a.kind == ArgKind::Key {
                        out.push(a);
                    }
                    keys(a.subargs, out);
                }
            }
            keys(row.schema.args, &mut key_args);
            assert_eq!(has_keys, !key_args.is_empty(), "{name}: key arguments");
            // A row that takes arguments documents them (a forgotten `.schema()`).
            let takes = row.subcommands.is_empty() && (row.arity < 0 || row.arity as usize > words);
            let optional_only = row.arity == -(words as i32);
            // Redis documents no arguments for DEBUG: its handler reads its
            // subcommands (debug.c), and COMMAND DOCS follows Redis.
            let undocumented = name == "debug";
            assert!(
                !takes || optional_only || undocumented || !row.schema.args.is_empty(),
                "{name} takes arguments but has no schema"
            );
            assert_eq!(
                row.schema.deprecated_since.is_some(),
                row.schema.doc_flags & doc_flags::DEPRECATED != 0,
                "{name}"
            );
        }
    }
}
