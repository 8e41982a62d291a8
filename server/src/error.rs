//! Command errors as values, each mapped to the exact text Redis replies with.
//!
//! Every error text the server sends lives in this file: the [`CmdError`] variants
//! rendered by [`CmdError::message`], the constructors for texts that quote or format
//! something, the fixed texts below (used as `CmdError::msg(error::NAME)`), the raw
//! replies written straight to a socket, and the reasons CONFIG SET gives
//! ([`config_reason`]). Handlers never write an error text inline
//! (`server/tests/layout.rs` checks it). Clients and test suites match on these
//! strings byte for byte (Redis 7.0's wording).

use std::borrow::Cow;
use std::fmt::Display;

/// Redis's error while the dataset loads (with Shoal's name, as its other messages).
pub const LOADING: &str = "LOADING Shoal is loading the dataset in memory";

/// Redis's error for writes after a failed background save (Redis's exact text:
/// clients and tools match on it).
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's \
currently unable to persist to disk. Commands that may modify the data set are disabled, \
because this instance is configured to report errors during writes if RDB snapshotting \
fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about \
the RDB error.";

/// The error a write command gets while the connection reads a snapshot.
pub const SNAPSHOT_READONLY: &str = "READONLY You can't write against a read only snapshot.";

/// MULTI inside MULTI.
pub const MULTI_NESTED: &str = "ERR MULTI calls can not be nested";
/// EXEC outside MULTI.
pub const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
/// DISCARD outside MULTI.
pub const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
/// WATCH after MULTI.
pub const WATCH_IN_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
/// A command flagged `no-multi` queued (SAVE, SHUTDOWN...).
/// FUNCTION LOAD without code.
pub const FUNCTION_CODE_MISSING: &str = "ERR Function code is missing";
/// FUNCTION DELETE of a library that does not exist.
pub const LIBRARY_NOT_FOUND: &str = "ERR Library not found";
/// FUNCTION LIST LIBRARYNAME without its argument.
pub const LIBRARY_NAME_MISSING: &str = "ERR library name argument was not given";
/// A dump with functions loaded by a server built without a scripting engine (an
/// embedder's: the binary always has one).
pub const NO_SCRIPTING_ENGINE: &str = "ERR no scripting engine to load functions with";
/// A library error reply with no text of its own.
pub const UNKNOWN_ERROR: &str = "ERR unknown error";

/// An error text from the function machinery or a library, as `ERR <text>`.
pub fn err_text(text: impl std::fmt::Display) -> String {
    format!("ERR {text}")
}

/// FUNCTION LOAD with an option it does not know.
pub fn function_unknown_option(opt: &[u8]) -> CmdError {
    CmdError::owned(format!(
        "ERR Unknown option given: {}",
        String::from_utf8_lossy(opt)
    ))
}

/// FUNCTION LIST with an argument it does not know.
pub fn function_unknown_argument(arg: &[u8]) -> CmdError {
    CmdError::owned(format!(
        "ERR Unknown argument {}",
        String::from_utf8_lossy(arg)
    ))
}

/// A `denyoom` command over maxmemory, when nothing could be evicted.
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
pub const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";
/// DEBUG while `enable-debug-command` forbids it (Redis 7.0's protected-command check).
pub const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";
/// EXEC of a transaction in which a command was refused while queueing.
pub const EXEC_ABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

impl CmdError {
    /// A RESP2 connection in subscribe mode ran something else.
    pub fn subscribe_mode(fullname: String) -> CmdError {
        CmdError::owned(format!(
            "ERR Can't execute '{fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        ))
    }
}

/// EXEC refused by a gate (MISCONF, OOM...): the transaction is discarded, with the
/// gate's error quoted (Redis's `execCommandAbort`).
pub fn exec_abort_because(e: &CmdError) -> CmdError {
    let m = e.message();
    let text = String::from_utf8_lossy(&m);
    CmdError::owned(format!(
        "EXECABORT Transaction discarded because of: {}",
        text.strip_prefix('-').unwrap_or(&text)
    ))
}

/// APPEND/SETRANGE past `proto-max-bulk-len`.
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
/// SETRANGE with a negative offset.
pub const OFFSET_OUT_OF_RANGE: &str = "ERR offset is out of range";
/// DECRBY of `i64::MIN`.
pub const DECREMENT_OVERFLOW: &str = "ERR decrement would overflow";
/// LCS of a key that is not a string.
pub const LCS_NOT_STRINGS: &str = "ERR The specified keys must contain string values";
/// LCS with both IDX and LEN.
pub const LCS_IDX_AND_LEN: &str =
    "ERR If you want both the length and indexes, please just use IDX.";
/// LCS of strings too long to index.
pub const LCS_TOO_LONG: &str = "ERR String too long for LCS";
/// LCS whose table would exceed `proto-max-bulk-len`.
pub const LCS_OVER_LIMIT: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
/// LCS whose table could not be allocated.
pub const LCS_NO_MEMORY: &str =
    "ERR Insufficient memory, failed allocating transient memory for LCS";

/// HINCRBY on a field that does not hold an integer.
pub const HASH_VALUE_NOT_INTEGER: &str = "ERR hash value is not an integer";
/// HINCRBYFLOAT on a field that does not hold a number.
pub const HASH_VALUE_NOT_FLOAT: &str = "ERR hash value is not a float";
/// An increment that is NaN or infinite (HINCRBYFLOAT).
pub const VALUE_NAN_OR_INFINITY: &str = "ERR value is NaN or Infinity";
/// A cursor that is not an unsigned 64-bit integer (SCAN, HSCAN).
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
/// HRANDFIELD with a negative count whose reply would exceed `proto-max-bulk-len`
/// (Shoal's limit; Redis would try to build it).
pub const COUNT_TOO_LARGE_FOR_REPLY: &str =
    "ERR count is too large: the reply would exceed proto-max-bulk-len";
/// HRANDFIELD's count of `i64::MIN`.
pub const COUNT_OUT_OF_LONG_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
/// A count whose reply could not be sized (HRANDFIELD WITHVALUES).
pub const VALUE_OUT_OF_RANGE: &str = "ERR value is out of range";

/// Redis's `shared.sameobjecterr` (COPY, MOVE onto the key itself).
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
/// OBJECT IDLETIME under an LFU policy.
pub const LFU_NO_IDLETIME: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
/// OBJECT FREQ without an LFU policy.
pub const NO_LFU_FREQ: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
/// EXPIRE with NX and XX, GT or LT.
pub const EXPIRE_NX_AND_OTHERS: &str =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
/// EXPIRE with GT and LT.
pub const EXPIRE_GT_AND_LT: &str = "ERR GT and LT options at the same time are not compatible";
/// RESTORE onto an existing key without REPLACE.
pub const BUSYKEY: &str = "BUSYKEY Target key name already exists.";
/// RESTORE with a negative TTL.
pub const RESTORE_TTL_NEGATIVE: &str = "ERR Invalid TTL value, must be >= 0";
/// RESTORE IDLETIME below 0.
pub const RESTORE_IDLETIME_NEGATIVE: &str = "ERR Invalid IDLETIME value, must be >= 0";
/// RESTORE FREQ outside 0..=255.
pub const RESTORE_FREQ_RANGE: &str = "ERR Invalid FREQ value, must be >= 0 and <= 255";
/// RESTORE of a payload too short, of a newer RDB version or with a wrong CRC-64.
pub const DUMP_PAYLOAD_WRONG: &str = "ERR DUMP payload version or checksum are wrong";
/// RESTORE of a payload whose value does not parse.
pub const BAD_DATA_FORMAT: &str = "ERR Bad data format";
/// SORT (numeric) of an element or BY value that is not a number.
pub const SORT_SCORE_NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// EVALSHA of a script not in the cache.
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
/// Another client's EVAL script runs past `busy-reply-threshold`.
pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// Another client's function runs past `busy-reply-threshold`.
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
/// SCRIPT KILL / FUNCTION KILL with nothing running long.
pub const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
/// SCRIPT KILL / FUNCTION KILL of a script that already wrote.
pub const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
/// EVAL/FCALL numkeys above the arguments given.
pub const SCRIPT_NUMKEYS_OVER: &str = "ERR Number of keys can't be greater than number of args";
/// EVAL/FCALL numkeys below 0.
pub const SCRIPT_NUMKEYS_NEGATIVE: &str = "ERR Number of keys can't be negative";
/// A script with the write flag run with EVAL_RO/EVALSHA_RO/FCALL_RO.
pub const SCRIPT_WRITE_IN_RO: &str =
    "ERR Can not execute a script with write flag using *_ro command.";
/// A writable script while saving fails.
pub const SCRIPT_MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.";
/// FCALL of a function no library registered.
pub const FUNCTION_NOT_FOUND: &str = "ERR Function not found";
/// FCALL's numkeys is not an integer.
pub const FUNCTION_BAD_NUMKEYS: &str = "ERR Bad number of keys provided";
/// FUNCTION FLUSH with another mode.
pub const FUNCTION_FLUSH_MODE: &str = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option";
/// FUNCTION RESTORE with another policy.
pub const FUNCTION_RESTORE_POLICY: &str =
    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.";
/// FUNCTION RESTORE of a payload whose footer is wrong.
pub const FUNCTION_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";
/// SCRIPT FLUSH with another mode.
pub const SCRIPT_FLUSH_MODE: &str = "ERR SCRIPT FLUSH only support SYNC|ASYNC option";
/// Inside a script: a command that does not exist.
pub const SCRIPT_UNKNOWN_COMMAND: &str = "ERR Unknown Redis command called from script";
/// Inside a script: a command with the wrong number of arguments.
pub const SCRIPT_WRONG_ARGS: &str = "ERR Wrong number of args calling Redis command from script";
/// Inside a script: a command flagged `noscript`.
pub const SCRIPT_NOSCRIPT_COMMAND: &str = "ERR This Redis command is not allowed from script";
/// Inside a read-only script (EVAL_RO, `no-writes`): a write command.
pub const SCRIPT_WRITE_IN_READONLY: &str =
    "ERR Write commands are not allowed from read-only scripts.";
/// Inside a script: redis.call/pcall without arguments.
pub const SCRIPT_NO_ARGS: &str = "ERR Please specify at least one argument for this redis lib call";
/// Inside a script: an argument that is not a string or a number.
pub const SCRIPT_ARG_TYPE: &str = "ERR Lua redis lib command arguments must be strings or integers";
/// Inside a script that already wrote: a key in a shard another client has held
/// past the wait (Shoal only: the script may not block there, see ARCHITECTURE.md).
pub const SCRIPT_LOCK_TIMEOUT: &str = "ERR Script attempted to access a key held by another client after writing; declare every key the script uses in KEYS";
/// A running script stopped by SCRIPT KILL / FUNCTION KILL.
pub const SCRIPT_KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// redis.call outside a script run (a library's load).
pub const SCRIPT_OUTSIDE_RUN: &str =
    "ERR redis.call/pcall can only be called inside a script invocation";
/// A script started while this thread runs one (cannot happen: EVAL is `noscript`).
pub const SCRIPT_NESTED: &str = "ERR scripts do not nest";
/// redis.call after the run was found to need a rerun with every shard held.
pub const SCRIPT_RERUN_PENDING: &str = "ERR script rerun pending";
/// A script's error whose value says nothing.
pub const SCRIPT_EXECUTION_FAILURE: &str = "ERR execution failure";
/// A script's reply nested too deep.
pub const SCRIPT_STACK_LIMIT: &str = "ERR reached lua stack limit";

/// `text` with the generic error code (Redis's `luaPushError` of a plain message).
pub fn err_code(text: impl std::fmt::Display) -> String {
    format!("ERR {text}")
}

/// A script that does not compile.
pub fn script_compile_error(msg: &str) -> CmdError {
    CmdError::Other(format!("ERR Error compiling script (new function): {msg}").into())
}

/// A script whose error is not a table (Redis's `luaCallFunction`).
pub fn script_run_failure(name: &str) -> String {
    format!("ERR Error running script {name}, execution failure")
}

/// Why a command failed. Rendered with Redis 7's wording by [`CmdError::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// `ERR wrong number of arguments for '<name>' command` (name as typed, lowercased;
    /// subcommands as `container|sub`).
    WrongArity(String),
    /// `ERR syntax error`
    Syntax,
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`
    WrongType,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR value is not a valid float`
    NotFloat,
    /// `ERR increment or decrement would overflow`
    Overflow,
    /// `ERR no such key`
    NoSuchKey,
    /// `ERR DB index is out of range`
    DbIndexOutOfRange,
    /// `ERR invalid expire time in '<cmd>' command`
    InvalidExpire(&'static str),
    /// `NOAUTH Authentication required.`
    NoAuth,
    /// `WRONGPASS invalid username-password pair or user is disabled.`
    WrongPass,
    /// `LOADING Shoal is loading the dataset in memory`
    Loading,
    /// `MISCONF ...` after a failed background save (writes and PING refused).
    Misconf,
    /// `READONLY You can't write against a read only snapshot.` (a SNAPSHOT READ view).
    SnapshotReadonly,
    /// `ERR Replica can't interact with the keyspace` (a MONITOR client, a replica to
    /// Redis, sent a command that reads or writes keys).
    ReplicaKeyspace,
    /// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.` (`sub` as [`show_arg`] cuts it).
    UnknownSubcommand { sub: Vec<u8>, cmd: String },
    /// A text quoting client bytes as they came (built by the constructors below, which
    /// hold the wording); the prefix is included.
    Quoting(Vec<u8>),
    /// Any other error; the text includes its prefix (`ERR ...`, `NOPROTO ...`).
    Other(Cow<'static, str>),
}

impl CmdError {
    /// An error with a fixed text, one of this module's constants (prefix included).
    pub fn msg(text: &'static str) -> CmdError {
        CmdError::Other(Cow::Borrowed(text))
    }

    /// An error with a computed text (prefix included), built by this module's
    /// constructors.
    pub fn owned(text: String) -> CmdError {
        CmdError::Other(Cow::Owned(text))
    }

    /// `head`, the argument as [`show_arg`] cuts it, then `tail`. Like Redis's
    /// `addReplyErrorFormat`, CR/LF at the end of the text are trimmed (the reply
    /// writer turns the ones inside into spaces).
    fn quoting(head: &str, arg: &[u8], tail: &str) -> CmdError {
        let mut text = Vec::with_capacity(head.len() + arg.len().min(128) + tail.len());
        text.extend_from_slice(head.as_bytes());
        text.extend_from_slice(&show_arg(arg));
        text.extend_from_slice(tail.as_bytes());
        while let Some(b'\r' | b'\n') = text.last() {
            text.pop();
        }
        CmdError::Quoting(text)
    }

    /// `ERR at least 1 input key is needed for '<command>' command` (ZUNIONSTORE and
    /// the other `numkeys` commands of sorted sets).
    pub fn no_input_keys(command: &str) -> CmdError {
        CmdError::owned(format!(
            "ERR at least 1 input key is needed for '{command}' command"
        ))
    }

    /// `ERR unknown command '<name>', with args beginning with: '<a1>' '<a2>' ` (Redis's
    /// `processCommand`: the arguments quoted while the list is under 128 bytes, each
    /// cut to the room left).
    pub fn unknown_command<'a>(name: &[u8], args: impl IntoIterator<Item = &'a [u8]>) -> CmdError {
        let mut rest: Vec<u8> = Vec::new();
        for a in args {
            if rest.len() >= 128 {
                break;
            }
            let shown = show_arg(a);
            let room = 128 - rest.len();
            rest.push(b'\'');
            rest.extend_from_slice(&shown[..shown.len().min(room)]);
            rest.extend_from_slice(b"' ");
        }
        let mut text = b"ERR unknown command '".to_vec();
        text.extend_from_slice(&show_arg(name));
        text.extend_from_slice(b"', with args beginning with: ");
        text.extend_from_slice(&rest);
        CmdError::Quoting(text)
    }

    /// `ERR unknown subcommand or wrong number of arguments for '<arg>'. Try SLOWLOG HELP.`
    pub fn slowlog_get_usage(arg: &[u8]) -> CmdError {
        CmdError::quoting(
            "ERR unknown subcommand or wrong number of arguments for '",
            arg,
            "'. Try SLOWLOG HELP.",
        )
    }

    /// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try <CMD> HELP.`
    /// (Redis's `addReplySubcommandSyntaxError`: a known subcommand given arguments it
    /// does not take).
    pub fn subcommand_syntax(sub: &[u8], cmd: &str) -> CmdError {
        CmdError::quoting(
            "ERR unknown subcommand or wrong number of arguments for '",
            sub,
            &format!("'. Try {cmd} HELP."),
        )
    }

    /// `ERR Unknown option or number of arguments for CONFIG SET - '<name>'`
    pub fn config_set_unknown(name: &[u8]) -> CmdError {
        CmdError::quoting(
            "ERR Unknown option or number of arguments for CONFIG SET - '",
            name,
            "'",
        )
    }

    /// `ERR CONFIG SET failed (possibly related to argument '<name>') - duplicate parameter`
    pub fn config_set_duplicate(name: &[u8]) -> CmdError {
        CmdError::quoting(
            "ERR CONFIG SET failed (possibly related to argument '",
            name,
            "') - duplicate parameter",
        )
    }

    /// `ERR CONFIG SET failed (possibly related to argument '<name>') - can't set
    /// protected config` (a file path while `enable-protected-configs` forbids it).
    pub fn config_set_protected(name: &[u8]) -> CmdError {
        CmdError::quoting(
            "ERR CONFIG SET failed (possibly related to argument '",
            name,
            "') - can't set protected config",
        )
    }

    /// `ERR CONFIG SET failed (possibly related to argument '<name>') - <why>` for a
    /// value the server could not apply (`why` is e.g. `strerror`'s text).
    pub fn config_set_failed(name: &str, why: &str) -> CmdError {
        CmdError::owned(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
        ))
    }

    /// `ERR CONFIG SET failed (possibly related to argument '<name>') - can't set
    /// immutable config` (`name` as the client sent it).
    pub fn config_set_immutable(name: &str) -> CmdError {
        CmdError::config_set_failed(name, config_reason::IMMUTABLE)
    }

    /// CONFIG SET raising `maxclients` past what the open-files limit allows: `fit` is
    /// the most clients it would allow.
    pub fn maxclients_over_os_limit(fit: usize) -> CmdError {
        CmdError::config_set_failed(
            "maxclients",
            &format!(
                "The operating system is not able to handle the specified number of \
                 clients, try with {fit}"
            ),
        )
    }

    /// `ERR Rewriting config file: <why>` (CONFIG REWRITE could not write the file).
    pub fn config_rewrite_failed(why: impl Display) -> CmdError {
        CmdError::owned(format!("ERR Rewriting config file: {why}"))
    }

    /// `ERR '<cmd>' cannot run in a group of commands yet` (the group runner:
    /// commands that lock whole databases or other databases for themselves).
    pub fn not_in_group(cmd: &str) -> CmdError {
        CmdError::owned(format!("ERR '{cmd}' cannot run in a group of commands yet"))
    }

    /// `ERR Unsupported option <opt>` (EXPIRE family).
    pub fn unsupported_expire_option(opt: &[u8]) -> CmdError {
        CmdError::quoting("ERR Unsupported option ", opt, "")
    }

    /// `ERR Syntax error in HELLO option '<opt>'`
    pub fn hello_option(opt: &[u8]) -> CmdError {
        CmdError::quoting("ERR Syntax error in HELLO option '", opt, "'")
    }

    /// `ERR Unknown client type '<name>'`
    pub fn unknown_client_type(name: &[u8]) -> CmdError {
        CmdError::quoting("ERR Unknown client type '", name, "'")
    }

    /// `ERR No such user '<name>'`
    pub fn no_such_user(name: &[u8]) -> CmdError {
        CmdError::quoting("ERR No such user '", name, "'")
    }

    /// `ERR Unrecognized option '<opt>'` (CLIENT SETINFO).
    pub fn unrecognized_option(opt: &[u8]) -> CmdError {
        CmdError::quoting("ERR Unrecognized option '", opt, "'")
    }

    /// `ERR <attr> cannot contain spaces, newlines or special characters.`
    pub fn client_attr_invalid(attr: &[u8]) -> CmdError {
        CmdError::quoting(
            "ERR ",
            attr,
            " cannot contain spaces, newlines or special characters.",
        )
    }

    /// `ERR Prefix '<p>' overlaps with an existing prefix '<q>'. Prefixes for a
    /// single client must not overlap.` (`existing`), or `... with another provided
    /// prefix '<q>'. ...`: the prefixes as C strings (up to a NUL), as Redis's `%s`.
    pub fn prefix_overlap(p: &[u8], q: &[u8], existing: bool) -> CmdError {
        let cut = |b: &[u8]| -> Vec<u8> {
            b.iter()
                .take_while(|&&c| c != 0)
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
                .collect()
        };
        let mut text = b"ERR Prefix '".to_vec();
        text.extend_from_slice(&cut(p));
        text.extend_from_slice(if existing {
            b"' overlaps with an existing prefix '"
        } else {
            b"' overlaps with another provided prefix '"
        });
        text.extend_from_slice(&cut(q));
        text.extend_from_slice(b"'. Prefixes for a single client must not overlap.");
        CmdError::Quoting(text)
    }

    /// `ERR snapshot name must not be empty`
    pub fn snapshot_name_empty() -> CmdError {
        CmdError::msg("ERR snapshot name must not be empty")
    }

    /// `ERR snapshot name is too long (at most <max> bytes)`
    pub fn snapshot_name_too_long(max: usize) -> CmdError {
        CmdError::owned(format!(
            "ERR snapshot name is too long (at most {max} bytes)"
        ))
    }

    /// `ERR snapshot name must not contain control characters`
    pub fn snapshot_name_control() -> CmdError {
        CmdError::msg("ERR snapshot name must not contain control characters (bytes 0-31 and 127)")
    }

    /// `ERR no such snapshot '<name>'`
    pub fn no_such_snapshot(name: &[u8]) -> CmdError {
        CmdError::quoting("ERR no such snapshot '", name, "'")
    }

    /// `ERR snapshot '<name>' already exists`
    pub fn snapshot_exists(name: &[u8]) -> CmdError {
        CmdError::quoting("ERR snapshot '", name, "' already exists")
    }

    /// `ERR '<name>' is reserved (SNAPSHOT READ LIVE) and cannot name a snapshot`
    pub fn snapshot_name_reserved(name: &[u8]) -> CmdError {
        CmdError::quoting(
            "ERR '",
            name,
            "' is reserved (SNAPSHOT READ LIVE) and cannot name a snapshot",
        )
    }

    /// `ERR too many snapshots: maxsnapshots is <max> (...)` (SNAPSHOT CREATE at the
    /// limit).
    pub fn too_many_snapshots(max: usize) -> CmdError {
        CmdError::owned(format!(
            "ERR too many snapshots: maxsnapshots is {max} (SNAPSHOT DROP one or raise \
             maxsnapshots)"
        ))
    }

    /// The reply text (without the leading `-` and trailing CRLF): bytes, since some
    /// texts quote client arguments as they came.
    pub fn message(&self) -> Cow<'_, [u8]> {
        let text: Cow<'_, str> = match self {
            CmdError::WrongArity(name) => Cow::Owned(format!(
                "ERR wrong number of arguments for '{name}' command"
            )),
            CmdError::Syntax => Cow::Borrowed("ERR syntax error"),
            CmdError::WrongType => {
                Cow::Borrowed("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            CmdError::NotInteger => Cow::Borrowed("ERR value is not an integer or out of range"),
            CmdError::NotFloat => Cow::Borrowed("ERR value is not a valid float"),
            CmdError::Overflow => Cow::Borrowed("ERR increment or decrement would overflow"),
            CmdError::NoSuchKey => Cow::Borrowed("ERR no such key"),
            CmdError::DbIndexOutOfRange => Cow::Borrowed("ERR DB index is out of range"),
            CmdError::InvalidExpire(cmd) => {
                Cow::Owned(format!("ERR invalid expire time in '{cmd}' command"))
            }
            CmdError::NoAuth => Cow::Borrowed("NOAUTH Authentication required."),
            CmdError::WrongPass => {
                Cow::Borrowed("WRONGPASS invalid username-password pair or user is disabled.")
            }
            CmdError::Loading => Cow::Borrowed(LOADING),
            CmdError::Misconf => Cow::Borrowed(MISCONF),
            CmdError::SnapshotReadonly => Cow::Borrowed(SNAPSHOT_READONLY),
            CmdError::ReplicaKeyspace => {
                Cow::Borrowed("ERR Replica can't interact with the keyspace")
            }
            CmdError::Other(s) => Cow::Borrowed(s),
            CmdError::UnknownSubcommand { sub, cmd } => {
                let mut text = b"ERR unknown subcommand '".to_vec();
                text.extend_from_slice(sub);
                text.extend_from_slice(format!("'. Try {cmd} HELP.").as_bytes());
                return Cow::Owned(text);
            }
            CmdError::Quoting(bytes) => return Cow::Borrowed(bytes),
        };
        match text {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fixed texts, prefix included: `CmdError::msg(error::NAME)`
// ---------------------------------------------------------------------------------------

// Connections: AUTH, HELLO, CLIENT.

/// AUTH with a password only, while no password is configured.
pub const AUTH_WITHOUT_PASSWORD: &str = "ERR AUTH <password> called without any password \
configured for the default user. Are you sure your configuration is correct?";
/// HELLO from a client that is not authenticated and gave no AUTH option.
pub const HELLO_NOT_AUTHENTICATED: &str = "NOAUTH HELLO must be called with the client \
already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to \
authenticate the client and select the RESP protocol version at the same time";
/// HELLO's protocol version is not an integer.
pub const PROTOCOL_VERSION_NOT_INTEGER: &str =
    "ERR Protocol version is not an integer or out of range";
/// HELLO's protocol version is neither 2 nor 3.
pub const UNSUPPORTED_PROTOCOL_VERSION: &str = "NOPROTO unsupported protocol version";
/// CLIENT SETNAME / HELLO SETNAME with a space, newline or special character.
pub const CLIENT_NAME_INVALID: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";
/// CLIENT LIST ID with an id that is not an integer.
pub const INVALID_CLIENT_ID: &str = "ERR Invalid client ID";
/// CLIENT KILL ID with an id below 1 or not an integer.
pub const CLIENT_ID_NOT_POSITIVE: &str = "ERR client-id should be greater than 0";
/// CLIENT KILL addr (the old form) that matched no client.
pub const NO_SUCH_CLIENT: &str = "ERR No such client";
/// CLIENT UNBLOCK with a reason other than TIMEOUT or ERROR.
pub const UNBLOCK_REASON_INVALID: &str = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR";
/// The reply of a blocked command that CLIENT UNBLOCK ... ERROR ended.
pub const UNBLOCKED: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
/// CLIENT TRACKING with two REDIRECT options.
pub const TRACKING_ONE_REDIRECT: &str = "ERR A client can only redirect to a single other client";
/// CLIENT TRACKING ... REDIRECT to an id no connected client has.
pub const TRACKING_REDIRECT_MISSING: &str = "ERR The client ID you want redirect to does not exist";
/// CLIENT TRACKING ON ... PREFIX without BCAST.
pub const TRACKING_PREFIX_NEEDS_BCAST: &str = "ERR PREFIX option requires BCAST mode to be enabled";
/// CLIENT TRACKING ON switching BCAST on or off while tracking.
pub const TRACKING_BCAST_SWITCH: &str = "ERR You can't switch BCAST mode on/off before disabling \
tracking for this client, and then re-enabling it with a different mode.";
/// CLIENT TRACKING ON BCAST with OPTIN or OPTOUT.
pub const TRACKING_OPT_BCAST: &str = "ERR OPTIN and OPTOUT are not compatible with BCAST";
/// CLIENT TRACKING ON OPTIN OPTOUT.
pub const TRACKING_OPTIN_OPTOUT: &str = "ERR You can't specify both OPTIN mode and OPTOUT mode";
/// CLIENT TRACKING ON switching between OPTIN and OPTOUT while tracking.
pub const TRACKING_OPT_SWITCH: &str = "ERR You can't switch OPTIN/OPTOUT mode before disabling \
tracking for this client, and then re-enabling it with a different mode.";
/// CLIENT CACHING while tracking is off.
pub const CACHING_NOT_TRACKING: &str = "ERR CLIENT CACHING can be called only when the client \
is in tracking mode with OPTIN or OPTOUT mode enabled";
/// CLIENT CACHING YES outside OPTIN mode.
pub const CACHING_YES_NOT_OPTIN: &str =
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
/// CLIENT CACHING NO outside OPTOUT mode.
pub const CACHING_NO_NOT_OPTOUT: &str =
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";
/// CLIENT PAUSE with a mode other than WRITE or ALL.
pub const PAUSE_MODE_INVALID: &str = "ERR CLIENT PAUSE mode must be WRITE or ALL";
/// CLIENT PAUSE with a timeout that is not an integer.
pub const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
/// CLIENT PAUSE with a negative timeout.
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
/// A blocking command's timeout (seconds) that is not a float.
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
/// LSET past either end of the list.
pub const INDEX_OUT_OF_RANGE: &str = "ERR index out of range";
/// LPOS RANK 0.
pub const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first \
match, 2 from the second ... or use negative to start from the end of the list";
/// LPOS COUNT negative or not an integer.
pub const LPOS_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
/// LPOS MAXLEN negative or not an integer.
pub const LPOS_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
/// LPOP/RPOP/SPOP/ZPOPMIN/ZPOPMAX counts: a negative or non-integer count.
pub const VALUE_MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
/// LMPOP/BLMPOP/ZMPOP/BZMPOP numkeys below 1 (or not an integer).
pub const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
/// LMPOP/BLMPOP/ZMPOP/BZMPOP COUNT below 1 (or not an integer).
pub const COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";
/// SRANDMEMBER's count outside [-LONG_MAX, LONG_MAX] (Redis's wording, sic).
pub const VALUE_OUT_OF_LONG_RANGE_SIC: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
/// SINTERCARD numkeys past the arguments.
pub const NUMKEYS_OVER_ARGS: &str = "ERR Number of keys can't be greater than number of args";
/// SINTERCARD LIMIT negative or not an integer.
pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";

// COMMAND GETKEYS, checked in Redis's order.

/// The command to get the keys of is unknown (or its subcommand).
pub const GETKEYS_INVALID_COMMAND: &str = "ERR Invalid command specified";
/// The command takes no key.
pub const GETKEYS_NO_KEY_ARGUMENTS: &str = "ERR The command has no key arguments";
/// The command's arguments do not fit its arity.
pub const GETKEYS_INVALID_ARITY: &str = "ERR Invalid number of arguments specified for command";
/// The arguments name no key (a key count that makes the call a syntax error).
pub const GETKEYS_INVALID_ARGUMENTS: &str = "ERR Invalid arguments specified for command";

// CONFIG.

/// CONFIG REWRITE when the server was started without a config file.
pub const NO_CONFIG_FILE: &str = "ERR The server is running without a config file";

// Databases.

/// SWAPDB's first index is not an integer that fits a C `int`.
pub const INVALID_FIRST_DB_INDEX: &str = "ERR invalid first DB index";
/// SWAPDB's second index is not an integer that fits a C `int`.
pub const INVALID_SECOND_DB_INDEX: &str = "ERR invalid second DB index";

// Merges (and the float arithmetic they share with INCRBYFLOAT/HINCRBYFLOAT).

/// HMERGE SUM/MIN/MAX over a hash field that is not a number.
pub const HASH_VALUE_NOT_A_NUMBER: &str = "ERR hash value is not a number";
/// MMERGE SUM/MIN/MAX over a string that is not a number.
pub const VALUE_NOT_A_NUMBER: &str = "ERR value is not a number";
/// A float sum that would be NaN or infinite.
pub const INCREMENT_NAN_OR_INFINITY: &str = "ERR increment would produce NaN or Infinity";
/// HMERGE with a `numkeys` below 1.
pub const HMERGE_NO_INPUT_KEYS: &str = "ERR at least 1 input key is needed for 'hmerge' command";

// Sorted sets (Redis's t_zset.c).

/// ZADD with both NX and XX.
pub const ZADD_NX_AND_XX: &str = "ERR XX and NX options at the same time are not compatible";
/// ZADD with GT and LT, or either with NX.
pub const ZADD_GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
/// ZADD INCR with several score/member pairs.
pub const ZADD_INCR_ONE_PAIR: &str = "ERR INCR option supports a single increment-element pair";
/// An increment that makes a score NaN (`-inf` + `inf`).
pub const ZSET_SCORE_NAN: &str = "ERR resulting score is not a number (NaN)";
/// A score range bound that is not a float.
pub const ZSET_MIN_MAX_NOT_FLOAT: &str = "ERR min or max is not a float";
/// A lexicographical range bound without `[`, `(`, `-` or `+`.
pub const ZSET_MIN_MAX_NOT_LEX: &str = "ERR min or max not valid string range item";
/// ZRANGE LIMIT without BYSCORE or BYLEX.
pub const ZRANGE_LIMIT_NEEDS_BY: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
/// ZRANGE BYLEX WITHSCORES.
pub const ZRANGE_BYLEX_WITHSCORES: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
/// WEIGHTS with a weight that is not a float.
pub const ZSET_WEIGHT_NOT_FLOAT: &str = "ERR weight value is not a float";
/// ZINTERCARD LIMIT below 0.
pub const ZSET_LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
/// A blocking command's timeout past the end of time (now + timeout overflows).
pub const TIMEOUT_OUT_OF_RANGE: &str = "ERR timeout is out of range";

// Persistence and SHUTDOWN.

/// SAVE or BGSAVE while a background save runs.
pub const BGSAVE_IN_PROGRESS: &str = "ERR Background save already in progress";
/// A failed SAVE (or a BGSAVE that could not start): Redis replies a bare `ERR`.
pub const SAVE_FAILED: &str = "ERR";
/// SHUTDOWN whose final save failed (the server keeps serving).
pub const SHUTDOWN_FAILED: &str = "ERR Errors trying to SHUTDOWN. Check logs.";
/// SHUTDOWN ABORT: Shoal's SHUTDOWN never waits, so there is nothing to abort.
pub const NO_SHUTDOWN_IN_PROGRESS: &str = "ERR No shutdown in progress.";

// SLOWLOG.

/// SLOWLOG GET with a count below -1 or not an integer.
pub const SLOWLOG_COUNT_BELOW_MINUS_ONE: &str = "ERR count should be greater than or equal to -1";

/// The code INFO errorstats files a protocol error, and an error reply without a
/// code of its own, under.
pub const ERR_CODE: &[u8] = b"ERR";

// ---------------------------------------------------------------------------------------
// Raw replies, written to a socket before any command runs (`-` and CRLF included)
// ---------------------------------------------------------------------------------------

/// A connection over `maxclients` (or accepted while out of descriptors), then closed.
pub const MAX_CLIENTS_REACHED_REPLY: &[u8] = b"-ERR max number of clients reached\r\n";

/// Redis's reply to a client refused by protected mode (written verbatim, then the
/// connection is closed).
pub const PROTECTED_MODE_DENIED_REPLY: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Why CONFIG SET refused a value: the `<why>` of [`CmdError::config_set_failed`].
/// Redis's wordings for the common cases, then Shoal's own parameter checks (startup
/// errors quote these too, after the value).
pub mod config_reason {
    /// The parameter cannot change while the server runs.
    pub const IMMUTABLE: &str = "can't set immutable config";
    /// An integer parameter got something else.
    pub const NOT_INTEGER: &str = "argument couldn't be parsed into an integer";
    /// A memory parameter got something else (see `config::parse_memory`).
    pub const NOT_MEMORY: &str = "argument must be a memory value";
    /// `client-output-buffer-limit` not in groups of four.
    pub const OBL_ARGUMENTS: &str = "Wrong number of arguments in buffer limit configuration.";
    /// `client-output-buffer-limit` with an unknown class.
    pub const OBL_CLASS: &str = "Invalid client class specified in buffer limit configuration.";
    /// `client-output-buffer-limit` with a bad number.
    pub const OBL_VALUES: &str =
        "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    /// A boolean parameter got something else.
    pub const NOT_YES_NO: &str = "argument must be 'yes' or 'no'";
    /// `latency-tracking-info-percentiles` with something other than numbers from 0
    /// to 100.
    pub const PERCENTILES: &str =
        "latency-tracking-info-percentiles must be a space separated list of numbers between 0 and 100";

    /// A number outside the parameter's range.
    pub fn out_of_range(min: i128, max: i128) -> String {
        format!("argument must be between {min} and {max} inclusive")
    }

    /// An enumerated parameter got none of its values.
    pub fn not_one_of(names: &[&str]) -> String {
        format!(
            "argument(s) must be one of the following: {}",
            names.join(", ")
        )
    }

    /// `shards` is neither 0 nor a power of two.
    pub const SHARDS_NOT_POWER_OF_TWO: &str =
        "argument must be 0 (auto) or a power of two between 1 and 65536";
    /// `daemonize yes`: Shoal runs in the foreground.
    pub const DAEMONIZE_UNSUPPORTED: &str = "daemonize is not supported by Shoal";
    /// `appendonly yes`: there is no append-only file.
    pub const APPENDONLY_UNSUPPORTED: &str = "appendonly is not supported by Shoal";
    /// An empty `dir`.
    pub const DIR_EMPTY: &str = "dir can't be empty";
    /// A `dbfilename` with a `/` or `\`.
    pub const DBFILENAME_IS_PATH: &str = "dbfilename can't be a path, just a filename";
    /// An empty `dbfilename`.
    pub const DBFILENAME_EMPTY: &str = "dbfilename can't be empty";
    /// `shutdown-on-sig*` with both SAVE and NOSAVE.
    pub const SHUTDOWN_SAVE_AND_NOSAVE: &str =
        "shutdown options SAVE and NOSAVE can't be used simultaneously";
    /// An empty `bind`.
    pub const BIND_NO_ADDRESS: &str = "bind needs at least one address";
    /// More than 16 `bind` addresses (Redis's limit).
    pub const BIND_TOO_MANY: &str = "Too many bind addresses specified.";
    /// `notify-keyspace-events` with a character that is no flag letter.
    pub const NOTIFY_FLAGS_INVALID: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
    /// A `save` that is not pairs of non-negative integers.
    pub const SAVE_PARAMS_INVALID: &str = "Invalid save parameters";
}

/// Result of a command handler: the success reply was already written.
pub type CmdResult = Result<(), CmdError>;

/// A client-supplied argument as an error message quotes it: its bytes as they came
/// (no UTF-8 conversion), cut the way Redis's `%.128s` cuts a C string: at the first
/// NUL byte, and at 128 bytes. (CR/LF are turned into spaces by the reply writer.)
pub fn show_arg(arg: &[u8]) -> Vec<u8> {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end.min(128)].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_arguments_keep_their_bytes() {
        assert_eq!(show_arg(b"\xff\xfe"), b"\xff\xfe");
        assert_eq!(show_arg(b"ab\0cd"), b"ab");
        assert_eq!(show_arg(&[b'x'; 300]).len(), 128);
        let e = CmdError::unknown_command(b"\xff\xfe", []);
        assert_eq!(
            &*e.message(),
            b"ERR unknown command '\xff\xfe', with args beginning with: "
        );
        let e = CmdError::unknown_command(b"x", [&b"\xc3"[..], b"b\0c"]);
        assert_eq!(
            &*e.message(),
            b"ERR unknown command 'x', with args beginning with: '\xc3' 'b' "
        );
        let long = [b'a'; 100];
        let e = CmdError::unknown_command(b"x", [&long[..], &long[..], &long[..]]);
        let text = e.message().into_owned();
        let rest = &text[b"ERR unknown command 'x', with args beginning with: ".len()..];
        // 100 + 3, then the 25 bytes of room left + 3: the list stops past 128.
        assert_eq!(rest.len(), 103 + 28);
        let e = CmdError::UnknownSubcommand {
            sub: show_arg(b"\x80z"),
            cmd: "CONFIG".into(),
        };
        assert_eq!(
            &*e.message(),
            b"ERR unknown subcommand '\x80z'. Try CONFIG HELP."
        );
        // Trailing CR/LF trimmed, as addReplyErrorFormat does.
        let e = CmdError::unsupported_expire_option(b"\xffq\r\n");
        assert_eq!(&*e.message(), b"ERR Unsupported option \xffq");
        assert_eq!(&*CmdError::Syntax.message(), b"ERR syntax error");
    }
}
