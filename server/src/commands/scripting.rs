//! Scripting (Redis's `eval.c`): EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT
//! LOAD/EXISTS/FLUSH/KILL/HELP. The engine is `crate::scripting`; the script cache
//! and the busy scripts are `crate::scripts`.

use shoal_protocol::Args;

use super::common::{container, help};
use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::{self, CmdError, CmdResult};
use crate::num::parse_i64;
use crate::scripting::{check_compiles, run_eval, Invocation, Target};
use crate::scripts::{parse_shebang, sha1_hex, sha_arg, Kill, Script, ScriptFlags};

fn eval(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    eval_generic(ctx, args, false, false)
}

fn evalsha(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

fn eval_ro(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    eval_generic(ctx, args, false, true)
}

fn evalsha_ro(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

/// Compiles `body` (on this thread) and adds it to the cache; `eval` if EVAL adds it.
fn load(ctx: &mut Ctx<'_>, body: &[u8], eval: bool) -> Result<std::sync::Arc<Script>, CmdError> {
    let sha = sha1_hex(body);
    let scripts = &ctx.shared.scripts;
    if let Some(s) = scripts.get(&sha) {
        if eval {
            scripts.add(sha, body, s.flags, true);
        }
        return Ok(s);
    }
    let (flags, _) = parse_shebang(body).map_err(|e| CmdError::Other(error::err_code(e).into()))?;
    let probe = Script {
        sha,
        body: body.into(),
        flags,
        undeclared: Default::default(),
        ran: Default::default(),
    };
    check_compiles(&probe, scripts.generation())?;
    Ok(scripts.add(sha, body, flags, eval))
}

/// Redis's `evalGenericCommand`: EVAL and EVALSHA, read-only or not.
fn eval_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, by_sha: bool, ro: bool) -> CmdResult {
    let numkeys = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    let rest = args.len() - 3;
    if numkeys > rest as i64 {
        return Err(CmdError::msg(error::SCRIPT_NUMKEYS_OVER));
    }
    if numkeys < 0 {
        return Err(CmdError::msg(error::SCRIPT_NUMKEYS_NEGATIVE));
    }
    let script = if by_sha {
        let sha = sha_arg(&args[1]).ok_or(CmdError::msg(error::NOSCRIPT))?;
        ctx.shared
            .scripts
            .get(&sha)
            .ok_or(CmdError::msg(error::NOSCRIPT))?
    } else {
        load(ctx, &args[1], true)?
    };
    let f = script.flags;
    check_script_flags(ctx, f, ro)?;
    let all: Vec<&[u8]> = args.iter().skip(3).collect();
    let (keys, argv) = all.split_at(numkeys as usize);
    let inv = Invocation {
        target: Target::Script(&script),
        keys,
        argv,
        read_only: ro || (!f.compat && f.no_writes),
    };
    run_eval(ctx, &inv)
}

/// The checks Redis's `scriptPrepareForRun` makes from a script's (or function's)
/// flags before it runs: a script that may write is refused under MISCONF and by
/// the `_RO` commands.
pub fn check_script_flags(ctx: &Ctx<'_>, f: ScriptFlags, ro: bool) -> CmdResult {
    if !f.compat && !f.no_writes {
        if ctx.shared.persistence.misconf() {
            return Err(CmdError::msg(error::SCRIPT_MISCONF));
        }
        if ro {
            return Err(CmdError::msg(error::SCRIPT_WRITE_IN_RO));
        }
    }
    Ok(())
}

fn script_load(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let script = load(ctx, &args[2], false)?;
    ctx.out.bulk(&script.sha);
    Ok(())
}

fn script_exists(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let scripts = &ctx.shared.scripts;
    ctx.out.array(args.len() - 2);
    for a in args.iter().skip(2) {
        let found = sha_arg(a).is_some_and(|sha| scripts.exists(&sha));
        ctx.out.int(i64::from(found));
    }
    Ok(())
}

fn script_flush(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let ok = match args.get(2) {
        None => true,
        Some(mode) => {
            args.len() == 3
                && (mode.eq_ignore_ascii_case(b"sync") || mode.eq_ignore_ascii_case(b"async"))
        }
    };
    if !ok {
        return Err(CmdError::msg(error::SCRIPT_FLUSH_MODE));
    }
    ctx.shared.scripts.flush();
    ctx.out.ok();
    Ok(())
}

fn script_kill(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    kill_reply(ctx, true)
}

/// SCRIPT KILL (`eval`) and FUNCTION KILL.
pub fn kill_reply(ctx: &mut Ctx<'_>, eval: bool) -> CmdResult {
    match ctx.shared.scripts.kill(eval) {
        Kill::NotBusy => Err(CmdError::msg(error::NOTBUSY)),
        Kill::Unkillable => Err(CmdError::msg(error::UNKILLABLE)),
        Kill::WrongKind => Err(CmdError::msg(if eval {
            error::BUSY_FUNCTION
        } else {
            error::BUSY_EVAL
        })),
        Kill::Killed => {
            ctx.out.ok();
            Ok(())
        }
    }
}

fn script_help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    help(
        ctx.out,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

const SCRIPTING: &[&str] = &["slow", "scripting"];

const SCRIPT_SUBS: &[Command] = &[
    Command::new("load", 3, NOSCRIPT | STALE, (0, 0, 0), script_load)
        .doc(
            "scripting",
            "Load the specified Lua script into the script cache.",
            "2.6.0",
        )
        .complexity("O(N) with N being the length in bytes of the script body.")
        .acl(SCRIPTING)
        .schema(command_args::SCRIPT_LOAD),
    Command::new("exists", -3, NOSCRIPT, (0, 0, 0), script_exists)
        .doc(
            "scripting",
            "Check existence of scripts in the script cache.",
            "2.6.0",
        )
        .complexity("O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).")
        .acl(SCRIPTING)
        .schema(command_args::SCRIPT_EXISTS),
    Command::new("flush", -2, NOSCRIPT, (0, 0, 0), script_flush)
        .doc(
            "scripting",
            "Remove all the scripts from the script cache.",
            "2.6.0",
        )
        .complexity("O(N) with N being the number of scripts in cache")
        .acl(SCRIPTING)
        .schema(command_args::SCRIPT_FLUSH),
    Command::new("kill", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), script_kill)
        .doc("scripting", "Kill the script currently in execution.", "2.6.0")
        .complexity("O(1)")
        .acl(SCRIPTING)
        .schema(command_args::SCRIPT_KILL),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), script_help)
        .doc(
            "scripting",
            "Show helpful text about the different subcommands",
            "5.0.0",
        )
        .complexity("O(1)")
        .acl(SCRIPTING)
        .schema(command_args::SCRIPT_HELP),
];

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new(
        "eval",
        -3,
        NOSCRIPT | SKIP_MONITOR | STALE | NO_MANDATORY_KEYS,
        (0, 0, 0),
        eval,
    )
    .keynum(2, 1, 1)
    .scope(Scope::All)
    .doc("scripting", "Execute a Lua script server side", "2.6.0")
    .complexity("Depends on the script that is executed.")
    .acl(SCRIPTING)
    .schema(command_args::EVAL),
    Command::new(
        "evalsha",
        -3,
        NOSCRIPT | SKIP_MONITOR | STALE | NO_MANDATORY_KEYS,
        (0, 0, 0),
        evalsha,
    )
    .keynum(2, 1, 1)
    .scope(Scope::All)
    .doc("scripting", "Execute a Lua script server side", "2.6.0")
    .complexity("Depends on the script that is executed.")
    .acl(SCRIPTING)
    .schema(command_args::EVALSHA),
    Command::new(
        "eval_ro",
        -3,
        NOSCRIPT | SKIP_MONITOR | STALE | NO_MANDATORY_KEYS | READONLY,
        (0, 0, 0),
        eval_ro,
    )
    .keynum(2, 1, 1)
    .scope(Scope::All)
    .doc(
        "scripting",
        "Execute a read-only Lua script server side",
        "7.0.0",
    )
    .complexity("Depends on the script that is executed.")
    .acl(SCRIPTING)
    .schema(command_args::EVAL_RO),
    Command::new(
        "evalsha_ro",
        -3,
        NOSCRIPT | SKIP_MONITOR | STALE | NO_MANDATORY_KEYS | READONLY,
        (0, 0, 0),
        evalsha_ro,
    )
    .keynum(2, 1, 1)
    .scope(Scope::All)
    .doc(
        "scripting",
        "Execute a read-only Lua script server side",
        "7.0.0",
    )
    .complexity("Depends on the script that is executed.")
    .acl(SCRIPTING)
    .schema(command_args::EVALSHA_RO),
    Command::new("script", -2, 0, (0, 0, 0), container)
        .doc(
            "scripting",
            "A container for Lua scripts management commands",
            "2.6.0",
        )
        .complexity("Depends on subcommand.")
        .acl(&["slow"])
        .subs(SCRIPT_SUBS)
        .schema(command_args::SCRIPT),
];
