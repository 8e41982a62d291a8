//! Functions (Redis's `functions.c`): FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/
//! STATS/KILL/HELP, FCALL and FCALL_RO. The libraries are `crate::functions`; their
//! code runs in the Lua engine (`crate::scripting`), and FCALL runs a function
//! exactly as EVAL runs a script (same locks, gates, BUSY and KILL).

use shoal_protocol::Args;
use shoal_storage::rdb;

use super::common::{container, help};
use super::scripting::{check_script_flags, kill_reply};
use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::{self, CmdError, CmdResult};
use crate::functions::{FunctionInfo, RestorePolicy};
use crate::num::parse_i64;
use crate::scripting::{create_library, forget_library, run_eval, Invocation, Target};
use crate::scripts::BusyNow;

fn err(text: String) -> CmdError {
    CmdError::owned(error::err_text(text))
}

fn fcall(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    fcall_generic(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    fcall_generic(ctx, args, true)
}

/// Redis's `fcallCommandGeneric`.
fn fcall_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, ro: bool) -> CmdResult {
    let (lib, idx) = ctx
        .shared
        .functions
        .get(&args[1])
        .ok_or(CmdError::msg(error::FUNCTION_NOT_FOUND))?;
    let numkeys = parse_i64(&args[2]).ok_or(CmdError::msg(error::FUNCTION_BAD_NUMKEYS))?;
    let rest = args.len() - 3;
    if numkeys > rest as i64 {
        return Err(CmdError::msg(error::SCRIPT_NUMKEYS_OVER));
    }
    if numkeys < 0 {
        return Err(CmdError::msg(error::SCRIPT_NUMKEYS_NEGATIVE));
    }
    let f = lib.functions[idx].flags;
    check_script_flags(ctx, f, ro)?;
    let all: Vec<&[u8]> = args.iter().collect();
    let (keys, argv) = all[3..].split_at(numkeys as usize);
    let inv = Invocation {
        target: Target::Function(&lib, idx, &all),
        keys,
        argv,
        read_only: ro || f.no_writes,
    };
    run_eval(ctx, &inv)
}

fn function_load(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let mut replace = false;
    let mut at = 2;
    while at < args.len() - 1 {
        let a = &args[at];
        at += 1;
        if a.eq_ignore_ascii_case(b"replace") {
            replace = true;
            continue;
        }
        return Err(error::function_unknown_option(a));
    }
    if at >= args.len() {
        return Err(CmdError::msg(error::FUNCTION_CODE_MISSING));
    }
    let functions = &ctx.shared.functions;
    let lib = create_library(functions, &args[at], replace, true).map_err(err)?;
    let (id, name) = (lib.id, lib.name.clone());
    if let Err(e) = functions.install(lib, replace) {
        forget_library(id);
        return Err(err(e));
    }
    ctx.tally.dirty += 1;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if !ctx.shared.functions.delete(&args[2]) {
        return Err(CmdError::msg(error::LIBRARY_NOT_FOUND));
    }
    ctx.tally.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::subcommand_syntax(&args[1], "FUNCTION"));
    }
    if let Some(mode) = args.get(2) {
        if !mode.eq_ignore_ascii_case(b"sync") && !mode.eq_ignore_ascii_case(b"async") {
            return Err(CmdError::msg(error::FUNCTION_FLUSH_MODE));
        }
    }
    ctx.shared.functions.flush();
    ctx.tally.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// A function's flags as FUNCTION LIST shows them (a set of status replies).
fn write_flags(ctx: &mut Ctx<'_>, f: &FunctionInfo) {
    let fl = f.flags;
    let names: Vec<&str> = [
        (fl.no_writes, "no-writes"),
        (fl.allow_oom, "allow-oom"),
        (fl.allow_stale, "allow-stale"),
        (fl.no_cluster, "no-cluster"),
        (fl.allow_cross_slot, "allow-cross-slot-keys"),
    ]
    .into_iter()
    .filter_map(|(on, n)| on.then_some(n))
    .collect();
    ctx.out.set(names.len());
    for n in names {
        ctx.out.simple_str(n);
    }
}

fn function_list(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if !with_code && a.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && a.eq_ignore_ascii_case(b"libraryname") {
            if i >= args.len() - 1 {
                return Err(CmdError::msg(error::LIBRARY_NAME_MISSING));
            }
            i += 1;
            pattern = Some(&args[i]);
        } else {
            return Err(error::function_unknown_argument(a));
        }
        i += 1;
    }
    let libs: Vec<_> = ctx
        .shared
        .functions
        .libraries()
        .into_iter()
        .filter(|l| pattern.is_none_or(|p| shoal_storage::glob::matches(p, l.name.as_bytes())))
        .collect();
    ctx.out.array(libs.len());
    for lib in libs {
        ctx.out.map(if with_code { 4 } else { 3 });
        ctx.out.bulk_str("library_name");
        ctx.out.bulk_str(&lib.name);
        ctx.out.bulk_str("engine");
        ctx.out.bulk_str("LUA");
        ctx.out.bulk_str("functions");
        ctx.out.array(lib.functions.len());
        for f in &lib.functions {
            ctx.out.map(3);
            ctx.out.bulk_str("name");
            ctx.out.bulk_str(&f.name);
            ctx.out.bulk_str("description");
            match &f.desc {
                Some(d) => ctx.out.bulk(d),
                None => ctx.out.null(),
            }
            ctx.out.bulk_str("flags");
            write_flags(ctx, f);
        }
        if with_code {
            ctx.out.bulk_str("library_code");
            ctx.out.bulk(&lib.code);
        }
    }
    Ok(())
}

fn function_dump(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let codes = ctx.shared.functions.codes();
    let refs: Vec<&[u8]> = codes.iter().map(Vec::as_slice).collect();
    let compress = ctx.shared.config.read().rdbcompression;
    ctx.out.bulk(&rdb::dump_functions(&refs, compress));
    Ok(())
}

fn function_restore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::subcommand_syntax(&args[1], "FUNCTION"));
    }
    let policy = match args.get(3) {
        None => RestorePolicy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"append") => RestorePolicy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"replace") => RestorePolicy::Replace,
        Some(p) if p.eq_ignore_ascii_case(b"flush") => RestorePolicy::Flush,
        Some(_) => return Err(CmdError::msg(error::FUNCTION_RESTORE_POLICY)),
    };
    let codes = rdb::restore_functions(&args[2]).map_err(|e| match e {
        rdb::FunctionsPayloadError::VersionOrChecksum => CmdError::msg(error::FUNCTION_PAYLOAD),
        rdb::FunctionsPayloadError::Bad(text) => err(text.to_string()),
    })?;
    let functions = &ctx.shared.functions;
    let mut libs = Vec::with_capacity(codes.len());
    for code in &codes {
        match create_library(functions, code, true, false) {
            Ok(lib) => libs.push(lib),
            Err(e) => {
                libs.iter().for_each(|l| forget_library(l.id));
                return Err(err(e));
            }
        }
    }
    let ids: Vec<u64> = libs.iter().map(|l| l.id).collect();
    if let Err(e) = functions.install_all(libs, policy) {
        ids.into_iter().for_each(forget_library);
        return Err(err(e));
    }
    ctx.tally.dirty += 1;
    ctx.out.ok();
    Ok(())
}

fn function_stats(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let running = ctx.shared.scripts.busy_now();
    if let BusyNow::Eval = running {
        return Err(CmdError::msg(error::BUSY_EVAL));
    }
    let (libraries, functions) = ctx.shared.functions.counts();
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk_str("running_script");
    match running {
        BusyNow::Function { name, command, ms } => {
            out.map(3);
            out.bulk_str("name");
            out.bulk_str(&name);
            out.bulk_str("command");
            out.array(command.len());
            for a in &command {
                out.bulk(a);
            }
            out.bulk_str("duration_ms");
            out.int(ms as i64);
        }
        _ => out.null(),
    }
    out.bulk_str("engines");
    out.map(1);
    out.bulk_str("LUA");
    out.map(2);
    out.bulk_str("libraries_count");
    out.int(libraries as i64);
    out.bulk_str("functions_count");
    out.int(functions as i64);
    Ok(())
}

fn function_kill(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    kill_reply(ctx, false)
}

fn function_help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    help(
        ctx.out,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

const SCRIPTING: &[&str] = &["slow", "scripting"];
const WRITE_SCRIPTING: &[&str] = &["write", "slow", "scripting"];

const FUNCTION_SUBS: &[Command] = &[
    Command::new(
        "load",
        -3,
        NOSCRIPT | WRITE | DENYOOM,
        (0, 0, 0),
        function_load,
    )
    .doc(
        "scripting",
        "Create a function with the given arguments (name, code, description)",
        "7.0.0",
    )
    .complexity("O(1) (considering compilation time is redundant)")
    .acl(WRITE_SCRIPTING)
    .schema(command_args::FUNCTION_LOAD),
    Command::new("delete", 3, NOSCRIPT | WRITE, (0, 0, 0), function_delete)
        .doc("scripting", "Delete a function by name", "7.0.0")
        .complexity("O(1)")
        .acl(WRITE_SCRIPTING)
        .schema(command_args::FUNCTION_DELETE),
    Command::new("flush", -2, NOSCRIPT | WRITE, (0, 0, 0), function_flush)
        .doc("scripting", "Deleting all functions", "7.0.0")
        .complexity("O(N) where N is the number of functions deleted")
        .acl(WRITE_SCRIPTING)
        .schema(command_args::FUNCTION_FLUSH),
    Command::new("list", -2, NOSCRIPT, (0, 0, 0), function_list)
        .doc(
            "scripting",
            "List information about all the functions",
            "7.0.0",
        )
        .complexity("O(N) where N is the number of functions")
        .acl(SCRIPTING)
        .schema(command_args::FUNCTION_LIST),
    Command::new("dump", 2, NOSCRIPT, (0, 0, 0), function_dump)
        .doc(
            "scripting",
            "Dump all functions into a serialized binary payload",
            "7.0.0",
        )
        .complexity("O(N) where N is the number of functions")
        .acl(SCRIPTING)
        .schema(command_args::FUNCTION_DUMP),
    Command::new(
        "restore",
        -3,
        NOSCRIPT | WRITE | DENYOOM,
        (0, 0, 0),
        function_restore,
    )
    .doc(
        "scripting",
        "Restore all the functions on the given payload",
        "7.0.0",
    )
    .complexity("O(N) where N is the number of functions on the payload")
    .acl(WRITE_SCRIPTING)
    .schema(command_args::FUNCTION_RESTORE),
    Command::new("stats", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), function_stats)
        .doc(
            "scripting",
            "Return information about the function currently running (name, description, duration)",
            "7.0.0",
        )
        .complexity("O(1)")
        .acl(SCRIPTING)
        .schema(command_args::FUNCTION_STATS),
    Command::new("kill", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), function_kill)
        .doc(
            "scripting",
            "Kill the function currently in execution.",
            "7.0.0",
        )
        .complexity("O(1)")
        .acl(SCRIPTING)
        .schema(command_args::FUNCTION_KILL),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), function_help)
        .doc(
            "scripting",
            "Show helpful text about the different subcommands",
            "7.0.0",
        )
        .complexity("O(1)")
        .acl(SCRIPTING)
        .schema(command_args::FUNCTION_HELP),
];

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new(
        "fcall",
        -3,
        NOSCRIPT | SKIP_MONITOR | STALE | NO_MANDATORY_KEYS,
        (0, 0, 0),
        fcall,
    )
    .keynum(2, 1, 1)
    .scope(Scope::All)
    .doc("scripting", "Invoke a function", "7.0.0")
    .complexity("Depends on the function that is executed.")
    .acl(SCRIPTING)
    .schema(command_args::FCALL),
    Command::new(
        "fcall_ro",
        -3,
        NOSCRIPT | SKIP_MONITOR | STALE | NO_MANDATORY_KEYS | READONLY,
        (0, 0, 0),
        fcall_ro,
    )
    .keynum(2, 1, 1)
    .scope(Scope::All)
    .doc("scripting", "Invoke a read-only function", "7.0.0")
    .complexity("Depends on the function that is executed.")
    .acl(SCRIPTING)
    .schema(command_args::FCALL_RO),
    Command::new("function", -2, 0, (0, 0, 0), container)
        .doc("scripting", "A container for function commands", "7.0.0")
        .complexity("Depends on subcommand.")
        .acl(&["slow"])
        .subs(FUNCTION_SUBS)
        .schema(command_args::FUNCTION),
];
