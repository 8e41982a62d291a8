//! COMMAND and its subcommands: the command table described to clients.
//!
//! `COMMAND` answers from the table only ([`Ctx::table`]): a row added anywhere shows
//! up in `COMMAND COUNT/LIST/INFO/DOCS/GETKEYS` without a change here. Replies follow
//! Redis 7.0 byte for byte, including its RESP3 quirks (flags, categories, tips and
//! key specs are sets; an empty subcommand list is a set, a non-empty one an array).

use shoal_protocol::{Args, ReplyBuf};

use super::common::help;
use crate::command::{flags::*, BeginSearch, Command, CommandTable, Ctx, FindKeys, KeySpecDoc};
use crate::command_args;
use crate::error::{self, show_arg, CmdError, CmdResult};

/// The subcommands of `cmd`. COMMAND itself is a plain row (dispatch requires a
/// subcommand for containers, but bare `COMMAND` is valid), so its subcommands live in
/// [`COMMAND_SUBS`] and are attached here for INFO, DOCS, LIST and GETKEYS.
fn subcommands_of(cmd: &'static Command) -> &'static [Command] {
    if cmd.subcommands.is_empty() && cmd.name == "command" {
        COMMAND_SUBS
    } else {
        cmd.subcommands
    }
}

/// A command by full name (`get`, `config|get`), case-insensitively, with the
/// canonical full name.
fn lookup_full(table: &'static CommandTable, name: &[u8]) -> Option<(&'static Command, String)> {
    let (base, sub) = match name.iter().position(|&b| b == b'|') {
        Some(i) => (&name[..i], Some(&name[i + 1..])),
        None => (name, None),
    };
    let cmd = table.get(table.find(base)?);
    match sub {
        None => Some((cmd, cmd.name.to_string())),
        Some(sub) => {
            let s = subcommands_of(cmd)
                .iter()
                .find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))?;
            Some((s, format!("{}|{}", cmd.name, s.name)))
        }
    }
}

/// ACL categories in Redis's order (`ACLCommandCategories`).
const ACL_CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The row's ACL categories plus the ones Redis implies from its flags
/// (`setImplicitACLCategories`: write, read, admin+dangerous, fast, else slow), so a
/// row may list only the categories its JSON names, or all of them.
fn acl_categories(cmd: &Command) -> Vec<&'static str> {
    let listed = |c: &str| cmd.acl.iter().any(|a| a.eq_ignore_ascii_case(c));
    let implied = |c: &str| match c {
        "write" => cmd.has(WRITE),
        "read" => cmd.has(READONLY) && !listed("scripting"),
        "admin" | "dangerous" => cmd.has(ADMIN),
        "fast" => cmd.has(FAST),
        "slow" => !cmd.has(FAST) && !listed("fast"),
        _ => false,
    };
    let mut cats: Vec<&'static str> = ACL_CATEGORIES
        .iter()
        .copied()
        .filter(|c| listed(c) || implied(c))
        .collect();
    for a in cmd.acl {
        if !ACL_CATEGORIES.iter().any(|c| c.eq_ignore_ascii_case(a)) {
            cats.push(a);
        }
    }
    cats
}

/// Flag names as COMMAND INFO lists them. RANDOM is not a Redis 7 flag (it became the
/// `nondeterministic_output` tip), so it is reported as a tip instead.
fn flag_names(cmd: &Command) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = NAMES
        .iter()
        .filter(|(bit, _)| *bit != RANDOM && cmd.has(*bit))
        .map(|(_, name)| *name)
        .collect();
    if cmd.keynum.is_some() && !cmd.has(MOVABLEKEYS) {
        names.push("movablekeys");
    }
    names
}

fn tips(cmd: &Command) -> &'static [&'static str] {
    if cmd.has(RANDOM) {
        &["nondeterministic_output"]
    } else {
        &[]
    }
}

/// Key-spec flags derived from the command's flags (the table has no per-key flags):
/// read-only commands access their keys, writers update them.
fn key_flags(cmd: &Command) -> &'static [&'static str] {
    if cmd.has(PUBSUB) {
        &["not_key"]
    } else if cmd.has(MOVABLEKEYS) {
        // SORT: the sorted key is read; what it writes (STORE) is another spec.
        &["RO", "access"]
    } else if cmd.name == "restore" {
        // RESTORE replaces its key whatever it held.
        &["OW", "update"]
    } else if cmd.has(WRITE) {
        &["RW", "update"]
    } else if cmd.has(READONLY) {
        &["RO", "access"]
    } else {
        &["RO"]
    }
}

/// The key spec of a script's or function's declared keys (EVAL, FCALL and their
/// read-only forms): flags, as Redis assumes the worst of them, and notes, worded
/// per command as Redis 7.0's (EVALSHA and EVALSHA_RO have none).
fn script_key_spec(cmd: &Command) -> Option<(&'static [&'static str], Option<&'static str>)> {
    if !cmd.has(NO_MANDATORY_KEYS) {
        return None;
    }
    const RW: &str =
        "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE";
    const RO: &str =
        "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS";
    let notes = match cmd.name {
        "eval" | "fcall" => Some(RW),
        "eval_ro" | "fcall_ro" => Some(RO),
        _ => None,
    };
    let flags: &'static [&'static str] = if cmd.has(READONLY) {
        &["RO", "access"]
    } else {
        &["RW", "access", "update"]
    };
    Some((flags, notes))
}

/// Redis 7's key specifications: for a `(first, last, step)` row one spec,
/// begin_search by index `first`, find_keys by range (`lastkey` relative to `first`,
/// or negative from the end); for keys counted by a `numkeys` argument one more
/// (the only one when the row has no fixed keys: ZMPOP, ZUNION).
fn reply_key_specs(out: &mut ReplyBuf, cmd: &Command) {
    if let Some(specs) = cmd.schema.key_specs {
        return reply_spec_docs(out, specs);
    }
    let k = cmd.keys;
    let fixed = k.first > 0;
    let unknown = unknown_key_specs(cmd);
    out.set(usize::from(fixed) + usize::from(cmd.keynum.is_some()) + unknown.len());
    if fixed {
        key_spec_head(out, key_flags(cmd), k.first.into());
        out.bulk_str("find_keys");
        out.map(2);
        out.bulk_str("type");
        out.bulk_str("range");
        out.bulk_str("spec");
        out.map(3);
        out.bulk_str("lastkey");
        out.int(if k.last < 0 { k.last } else { k.last - k.first }.into());
        out.bulk_str("keystep");
        out.int(k.step.into());
        out.bulk_str("limit");
        out.int(0);
    }
    if let Some(n) = cmd.keynum {
        // The counted keys: after fixed ones (ZUNIONSTORE's second spec) they are
        // read sources; alone (ZMPOP, ZUNION, LMPOP, SINTERCARD) they are the
        // command's keys.
        let flags: &[&str] = if fixed {
            &["RO", "access"]
        } else {
            key_flags(cmd)
        };
        match script_key_spec(cmd) {
            Some((flags, Some(notes))) => {
                out.map(4);
                out.bulk_str("notes");
                out.bulk_str(notes);
                key_spec_fields(out, flags, n.index.into());
            }
            Some((flags, None)) => key_spec_head(out, flags, n.index.into()),
            None => key_spec_head(out, flags, n.index.into()),
        }
        out.bulk_str("find_keys");
        out.map(2);
        out.bulk_str("type");
        out.bulk_str("keynum");
        out.bulk_str("spec");
        out.map(3);
        out.bulk_str("keynumidx");
        out.int(0);
        out.bulk_str("firstkey");
        out.int(n.first.into());
        out.bulk_str("keystep");
        out.int(n.step.into());
    }
    for (flags, notes) in unknown {
        out.map(4);
        out.bulk_str("notes");
        out.bulk_str(notes);
        out.bulk_str("flags");
        out.set(flags.len());
        for f in *flags {
            out.simple_str(f);
        }
        for part in ["begin_search", "find_keys"] {
            out.bulk_str(part);
            out.map(2);
            out.bulk_str("type");
            out.bulk_str("unknown");
            out.bulk_str("spec");
            out.map(0);
        }
    }
}

/// Redis's own key specs of a command (generated from redis-server's COMMAND INFO).
fn reply_spec_docs(out: &mut ReplyBuf, specs: &[KeySpecDoc]) {
    out.set(specs.len());
    for spec in specs {
        out.map(3 + usize::from(spec.notes.is_some()));
        if let Some(notes) = spec.notes {
            out.bulk_str("notes");
            out.bulk_str(notes);
        }
        out.bulk_str("flags");
        out.set(spec.flags.len());
        for f in spec.flags {
            out.simple_str(f);
        }
        out.bulk_str("begin_search");
        out.map(2);
        out.bulk_str("type");
        match spec.begin {
            BeginSearch::Index(index) => {
                out.bulk_str("index");
                out.bulk_str("spec");
                out.map(1);
                out.bulk_str("index");
                out.int(index);
            }
            BeginSearch::Keyword { keyword, startfrom } => {
                out.bulk_str("keyword");
                out.bulk_str("spec");
                out.map(2);
                out.bulk_str("keyword");
                out.bulk_str(keyword);
                out.bulk_str("startfrom");
                out.int(startfrom);
            }
            BeginSearch::Unknown => {
                out.bulk_str("unknown");
                out.bulk_str("spec");
                out.map(0);
            }
        }
        out.bulk_str("find_keys");
        out.map(2);
        out.bulk_str("type");
        let fields: [(&str, i64); 3] = match spec.find {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                out.bulk_str("range");
                [("lastkey", lastkey), ("keystep", keystep), ("limit", limit)]
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                out.bulk_str("keynum");
                [
                    ("keynumidx", keynumidx),
                    ("firstkey", firstkey),
                    ("keystep", keystep),
                ]
            }
            FindKeys::Unknown => {
                out.bulk_str("unknown");
                out.bulk_str("spec");
                out.map(0);
                continue;
            }
        };
        out.bulk_str("spec");
        out.map(3);
        for (name, v) in fields {
            out.bulk_str(name);
            out.int(v);
        }
    }
}

/// The key specs of keys no argument position gives (`movablekeys` rows: SORT's
/// BY/GET patterns and STORE), with Redis's notes: (flags, notes).
fn unknown_key_specs(cmd: &Command) -> &'static [(&'static [&'static str], &'static str)] {
    const BY_GET: &str = "For the optional BY/GET keyword. It is marked 'unknown' because \
                          the key names derive from the content of the key we sort";
    const STORE: &str = "For the optional STORE keyword. It is marked 'unknown' because \
                         the keyword can appear anywhere in the argument array";
    if !cmd.has(MOVABLEKEYS) {
        &[]
    } else if cmd.has(WRITE) {
        &[(&["RO", "access"], BY_GET), (&["OW", "update"], STORE)]
    } else {
        &[(&["RO", "access"], BY_GET)]
    }
}

/// The start of one key spec (a 3-field map): its `flags` and a `begin_search` by
/// argument `index`; the caller writes `find_keys` next.
fn key_spec_head(out: &mut ReplyBuf, flags: &[&str], index: i64) {
    out.map(3);
    key_spec_fields(out, flags, index);
}

/// A key spec's flags and begin_search (the caller wrote the map header).
fn key_spec_fields(out: &mut ReplyBuf, flags: &[&str], index: i64) {
    out.bulk_str("flags");
    out.set(flags.len());
    for f in flags {
        out.simple_str(f);
    }
    out.bulk_str("begin_search");
    out.map(2);
    out.bulk_str("type");
    out.bulk_str("index");
    out.bulk_str("spec");
    out.map(1);
    out.bulk_str("index");
    out.int(index);
}

/// One COMMAND INFO entry (Redis 7's ten fields).
fn reply_info(out: &mut ReplyBuf, cmd: &'static Command, full_name: &str) {
    out.array(10);
    out.bulk_str(full_name);
    out.int(cmd.arity.into());
    let flags = flag_names(cmd);
    out.set(flags.len());
    for f in flags {
        out.simple_str(f);
    }
    out.int(cmd.keys.first.into());
    out.int(cmd.keys.last.into());
    out.int(cmd.keys.step.into());
    let cats = acl_categories(cmd);
    out.set(cats.len());
    for c in cats {
        out.simple_str(&format!("@{c}"));
    }
    let tips = tips(cmd);
    out.set(tips.len());
    for t in tips {
        out.bulk_str(t);
    }
    reply_key_specs(out, cmd);
    let subs = subcommands_of(cmd);
    if subs.is_empty() {
        out.set(0);
    } else {
        out.array(subs.len());
        for s in subs {
            reply_info(out, s, &format!("{full_name}|{}", s.name));
        }
    }
}

/// One COMMAND DOCS value: summary, since, group, complexity (when set), the row's
/// schema (doc flags, deprecation, history, arguments:
/// [`crate::command::Schema::reply_fields`]), and subcommands.
fn reply_docs(out: &mut ReplyBuf, cmd: &'static Command, full_name: &str) {
    let subs = subcommands_of(cmd);
    out.map(
        3 + usize::from(!cmd.complexity.is_empty())
            + cmd.schema.field_count()
            + usize::from(!subs.is_empty()),
    );
    out.bulk_str("summary");
    out.bulk_str(cmd.summary);
    out.bulk_str("since");
    out.bulk_str(cmd.since);
    out.bulk_str("group");
    out.bulk_str(cmd.group);
    if !cmd.complexity.is_empty() {
        out.bulk_str("complexity");
        out.bulk_str(cmd.complexity);
    }
    cmd.schema.reply_fields(out);
    if !subs.is_empty() {
        out.bulk_str("subcommands");
        out.map(subs.len());
        for s in subs {
            let name = format!("{full_name}|{}", s.name);
            out.bulk_str(&name);
            reply_docs(out, s, &name);
        }
    }
}

/// COMMAND: without a subcommand, every command's INFO entry; otherwise dispatches
/// to [`COMMAND_SUBS`] with the checks and errors dispatch uses for containers.
fn command(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() == 1 {
        return command_info(ctx, args);
    }
    let Some(sub) = COMMAND_SUBS
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(&args[1]))
    else {
        return Err(CmdError::UnknownSubcommand {
            sub: show_arg(&args[1]),
            cmd: "COMMAND".into(),
        });
    };
    if !sub.arity_ok(args.len()) {
        return Err(CmdError::WrongArity(format!("command|{}", sub.name)));
    }
    (sub.handler)(ctx, args)
}

/// COMMAND INFO [name ...]: all commands without names; unknown names are nulls.
fn command_info(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() <= 2 {
        ctx.out.array(ctx.table.commands.len());
        for cmd in &ctx.table.commands {
            reply_info(ctx.out, cmd, cmd.name);
        }
        return Ok(());
    }
    ctx.out.array(args.len() - 2);
    for name in args.iter().skip(2) {
        match lookup_full(ctx.table, name) {
            Some((cmd, full)) => reply_info(ctx.out, cmd, &full),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// COMMAND DOCS [name ...]: a map name -> docs; unknown names are left out.
fn command_docs(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() <= 2 {
        ctx.out.map(ctx.table.commands.len());
        for cmd in &ctx.table.commands {
            ctx.out.bulk_str(cmd.name);
            reply_docs(ctx.out, cmd, cmd.name);
        }
        return Ok(());
    }
    let table = ctx.table;
    let found: Vec<_> = args
        .iter()
        .skip(2)
        .filter_map(|n| lookup_full(table, n))
        .collect();
    ctx.out.map(found.len());
    for (cmd, full) in found {
        ctx.out.bulk_str(&full);
        reply_docs(ctx.out, cmd, &full);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.int(ctx.table.commands.len() as i64);
    Ok(())
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: command
/// and subcommand full names.
fn command_list(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    enum Filter<'a> {
        None,
        Module,
        AclCat(&'a [u8]),
        Pattern(&'a [u8]),
    }
    let filter = match args.len() {
        2 => Filter::None,
        5 if args[2].eq_ignore_ascii_case(b"filterby") => {
            let kind = &args[3];
            if kind.eq_ignore_ascii_case(b"module") {
                Filter::Module
            } else if kind.eq_ignore_ascii_case(b"aclcat") {
                Filter::AclCat(&args[4])
            } else if kind.eq_ignore_ascii_case(b"pattern") {
                Filter::Pattern(&args[4])
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let keep = |cmd: &Command, full: &str| match filter {
        Filter::None => true,
        // No modules exist, so no command belongs to one.
        Filter::Module => false,
        Filter::AclCat(cat) => acl_categories(cmd)
            .iter()
            .any(|c| c.as_bytes().eq_ignore_ascii_case(cat)),
        Filter::Pattern(p) => shoal_storage::glob::matches_with(p, full.as_bytes(), true),
    };
    let mut names = Vec::new();
    for cmd in &ctx.table.commands {
        if keep(cmd, cmd.name) {
            names.push(cmd.name.to_string());
        }
        for s in subcommands_of(cmd) {
            let full = format!("{}|{}", cmd.name, s.name);
            if keep(s, &full) {
                names.push(full);
            }
        }
    }
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk_str(n);
    }
    Ok(())
}

/// The key positions of the command in `args[2..]` (COMMAND GETKEYS), with Redis's
/// checks in Redis's order: known command, has keys, arity, at least one key found.
fn command_keys(
    table: &'static CommandTable,
    args: &Args<'_>,
) -> Result<(&'static Command, Vec<usize>), CmdError> {
    let argv: Vec<&[u8]> = args.iter().skip(2).collect();
    let invalid = || CmdError::msg(error::GETKEYS_INVALID_COMMAND);
    let name = argv.first().ok_or_else(invalid)?;
    let mut cmd = table.get(table.find(name).ok_or_else(invalid)?);
    let subs = subcommands_of(cmd);
    if !subs.is_empty() && argv.len() >= 2 {
        cmd = subs
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(argv[1]))
            .ok_or_else(invalid)?;
    }
    if cmd.keys.first <= 0 && cmd.keynum.is_none() {
        return Err(CmdError::msg(error::GETKEYS_NO_KEY_ARGUMENTS));
    }
    if !cmd.arity_ok(argv.len()) {
        return Err(CmdError::msg(error::GETKEYS_INVALID_ARITY));
    }
    // A count that makes the call a syntax error yields no key at all (Redis).
    let positions = cmd.key_positions(&argv).unwrap_or_default();
    if positions.is_empty() && !cmd.has(NO_MANDATORY_KEYS) {
        return Err(CmdError::msg(error::GETKEYS_INVALID_ARGUMENTS));
    }
    Ok((cmd, positions.into_iter().map(|p| p + 2).collect()))
}

fn command_getkeys(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (_, keys) = command_keys(ctx.table, args)?;
    ctx.out.array(keys.len());
    for i in keys {
        ctx.out.bulk(&args[i]);
    }
    Ok(())
}

fn command_getkeysandflags(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (cmd, keys) = command_keys(ctx.table, args)?;
    // Keys past the fixed ones are the counted (read) keys of a `numkeys` command.
    let fixed = cmd.keys.positions(args.len() - 2).len();
    ctx.out.array(keys.len());
    for (n, i) in keys.into_iter().enumerate() {
        let flags = if n < fixed {
            key_flags(cmd)
        } else if let Some((flags, _)) = script_key_spec(cmd) {
            flags
        } else {
            &["RO", "access"]
        };
        ctx.out.array(2);
        ctx.out.bulk(&args[i]);
        ctx.out.set(flags.len());
        for f in flags {
            ctx.out.simple_str(f);
        }
    }
    Ok(())
}

fn command_help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

const CMD_ACL: &[&str] = &["slow", "connection"];

/// COMMAND's subcommands (see [`subcommands_of`] for why they are not in its row).
pub const COMMAND_SUBS: &[Command] = &[
    Command::new("count", 2, LOADING | STALE, (0, 0, 0), command_count)
        .doc("server", "Get total number of Redis commands", "2.8.13")
        .acl(CMD_ACL)
        .schema(command_args::COMMAND_COUNT),
    Command::new("docs", -2, LOADING | STALE, (0, 0, 0), command_docs)
        .doc(
            "server",
            "Get array of specific Redis command documentation",
            "7.0.0",
        )
        .complexity("O(N) where N is the number of commands to look up")
        .acl(CMD_ACL)
        .schema(command_args::COMMAND_DOCS),
    Command::new("getkeys", -4, LOADING | STALE, (0, 0, 0), command_getkeys)
        .doc(
            "server",
            "Extract keys given a full Redis command",
            "2.8.13",
        )
        .complexity("O(N) where N is the number of arguments to the command")
        .acl(CMD_ACL)
        .schema(command_args::COMMAND_GETKEYS),
    Command::new(
        "getkeysandflags",
        -4,
        LOADING | STALE,
        (0, 0, 0),
        command_getkeysandflags,
    )
    .doc(
        "server",
        "Extract keys and access flags given a full Redis command",
        "7.0.0",
    )
    .complexity("O(N) where N is the number of arguments to the command")
    .acl(CMD_ACL)
    .schema(command_args::COMMAND_GETKEYSANDFLAGS),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), command_help)
        .doc(
            "server",
            "Show helpful text about the different subcommands",
            "5.0.0",
        )
        .acl(CMD_ACL)
        .schema(command_args::COMMAND_HELP),
    Command::new("info", -2, LOADING | STALE, (0, 0, 0), command_info)
        .doc(
            "server",
            "Get array of specific Redis command details, or all when no argument is given.",
            "2.8.13",
        )
        .complexity("O(N) where N is the number of commands to look up")
        .acl(CMD_ACL)
        .schema(command_args::COMMAND_INFO),
    Command::new("list", -2, LOADING | STALE, (0, 0, 0), command_list)
        .doc("server", "Get an array of Redis command names", "7.0.0")
        .complexity("O(N) where N is the total number of Redis commands")
        .acl(CMD_ACL)
        .schema(command_args::COMMAND_LIST),
];

/// This family's commands.
pub const COMMANDS: &[Command] =
    &[
        Command::new("command", -1, LOADING | STALE, (0, 0, 0), command)
            .doc("server", "Get array of Redis command details", "2.8.13")
            .complexity("O(N) where N is the total number of Redis commands")
            .acl(CMD_ACL)
            .schema(command_args::COMMAND),
    ];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::TABLE;

    fn row(name: &str) -> &'static Command {
        let (cmd, _) = lookup_full(&TABLE, name.as_bytes()).expect("known command");
        cmd
    }

    #[test]
    fn acl_categories_add_the_implied_ones_in_redis_order() {
        assert_eq!(
            acl_categories(row("config|get")),
            ["admin", "slow", "dangerous"]
        );
        assert_eq!(acl_categories(row("command")), ["slow", "connection"]);
        assert_eq!(acl_categories(row("dbsize")), ["keyspace", "read", "fast"]);
        assert_eq!(acl_categories(row("memory|usage")), ["read", "slow"]);
        // A row listing only its JSON categories gets the implied ones too.
        let bare = Command::new(
            "x",
            2,
            WRITE | ADMIN,
            (1, 1, 1),
            super::super::common::container,
        )
        .doc("server", "x", "1.0.0")
        .acl(&["keyspace"]);
        assert_eq!(
            acl_categories(&bare),
            ["keyspace", "write", "admin", "slow", "dangerous"]
        );
    }

    #[test]
    fn random_is_a_tip_not_a_flag() {
        assert_eq!(flag_names(row("time")), ["loading", "stale", "fast"]);
        assert_eq!(tips(row("time")), ["nondeterministic_output"]);
    }

    #[test]
    fn full_names_resolve_case_insensitively() {
        assert_eq!(
            lookup_full(&TABLE, b"CONFIG|Get")
                .map(|(_, n)| n)
                .as_deref(),
            Some("config|get")
        );
        assert_eq!(
            lookup_full(&TABLE, b"command|count")
                .map(|(_, n)| n)
                .as_deref(),
            Some("command|count")
        );
        assert!(lookup_full(&TABLE, b"config|nope").is_none());
        assert!(lookup_full(&TABLE, b"nope").is_none());
        assert!(lookup_full(&TABLE, b"").is_none());
    }
}
