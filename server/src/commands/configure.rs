//! CONFIG GET, SET, RESETSTAT, REWRITE. The parameters, their parsing and the
//! file rewriting are in [`crate::config`].

use crate::config::Config;
use shoal_protocol::Args;

use super::common::{container, help, text};
use crate::access::Shards;
use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::{self, CmdError, CmdResult};

/// The canonical name of a config parameter, case-insensitively.
fn param_name(name: &[u8]) -> Option<&'static str> {
    Config::param_names()
        .iter()
        .copied()
        .find(|n| n.as_bytes().eq_ignore_ascii_case(name))
}

/// CONFIG GET pattern [pattern ...]: each matching parameter once. A pattern without
/// glob characters is a plain (case-insensitive) lookup and echoes the name as given;
/// a glob reports canonical names (Redis does the same).
fn config_get(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let mut add = |canonical: &'static str, shown: String| {
        if !found.iter().any(|(c, _)| *c == canonical) {
            found.push((canonical, shown));
        }
    };
    for pattern in args.iter().skip(2) {
        if pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
            for name in Config::param_names() {
                if shoal_storage::glob::matches_with(pattern, name.as_bytes(), true) {
                    add(name, name.to_string());
                }
            }
        } else if let Some(name) = param_name(pattern) {
            add(name, text(pattern));
        }
    }
    let config = ctx.shared.config.read();
    ctx.out.map(found.len());
    for (canonical, shown) in &found {
        ctx.out.bulk_str(shown);
        ctx.out.bulk_str(&config.get(canonical).unwrap_or_default());
    }
    Ok(())
}

/// CONFIG SET name value [name value ...], all or nothing. Like Redis: first every
/// name is checked (unknown, immutable, repeated; the first problem is reported),
/// then the values are applied to a copy, which replaces the live config only when
/// every value was accepted.
fn config_set(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() < 4 || args.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    let pairs: Vec<(&[u8], &[u8])> = args
        .iter()
        .skip(2)
        .step_by(2)
        .zip(args.iter().skip(3).step_by(2))
        .collect();
    let mut config = ctx.shared.config.write();
    let mut names: Vec<&'static str> = Vec::with_capacity(pairs.len());
    for (given, _) in &pairs {
        let Some(name) = param_name(given) else {
            return Err(CmdError::config_set_unknown(given));
        };
        // The error names the argument as given, as Redis's does.
        if !Config::is_mutable(name) {
            return Err(CmdError::config_set_immutable(&text(given)));
        }
        if Config::is_protected(name)
            && !config.protected_configs_allowed(ctx.client.info.is_local())
        {
            return Err(CmdError::config_set_protected(given));
        }
        if names.contains(&name) {
            return Err(CmdError::config_set_duplicate(given));
        }
        names.push(name);
    }
    let mut updated = config.clone();
    for (name, (_, value)) in names.iter().zip(&pairs) {
        updated.set(name, &text(value))?;
        if *name == "dir" {
            // Redis's chdir: the directory must exist.
            crate::persistence::check_dir(updated.dir.as_ref())
                .map_err(|why| CmdError::config_set_failed(name, &why))?;
        }
    }
    if updated.maxclients > config.maxclients {
        // Every client is a descriptor: raise the open-files limit first, or refuse.
        if let crate::fdlimit::Adjusted::Lowered {
            maxclients: fit, ..
        } = crate::fdlimit::adjust(updated.maxclients)
        {
            return Err(CmdError::maxclients_over_os_limit(fit));
        }
    }
    *config = updated;
    ctx.shared.apply_config(&config);
    drop(config);
    ctx.out.ok();
    Ok(())
}

/// CONFIG RESETSTAT: the INFO stats and commandstats counters. The slow log is left
/// alone (Redis's RESETSTAT does not touch it either; SLOWLOG RESET does).
fn config_resetstat(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.shared.stats.reset();
    ctx.shared.clients.stats.reset();
    ctx.shared.counters.reset();
    ctx.shared
        .keyspace
        .reset_expired_keys_with(&mut Shards::of(&mut ctx.held));
    ctx.out.ok();
    Ok(())
}

/// CONFIG REWRITE: writes the running configuration back to the file it was loaded
/// from. Lines of parameters keep their place (and the comments around them stay);
/// a line is rewritten only when its value differs from the running one; parameters
/// that differ from the defaults and are not in the file are appended.
fn config_rewrite(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let config = ctx.shared.config.read().clone();
    let Some(path) = config.config_file.clone() else {
        return Err(CmdError::msg(error::NO_CONFIG_FILE));
    };
    crate::config::rewrite_file(&path, &config).map_err(CmdError::config_rewrite_failed)?;
    ctx.out.ok();
    Ok(())
}

fn config_help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    help(
        ctx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

/// ACL categories of the administrative commands.
const ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous"];

const CONFIG_SUBS: &[Command] = &[
    Command::new(
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        config_get,
    )
    .doc(
        "server",
        "Get the values of configuration parameters",
        "2.0.0",
    )
    .complexity("O(N) when N is the number of configuration parameters provided")
    .acl(ADMIN_ACL)
    .schema(command_args::CONFIG_GET),
    Command::new(
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        config_set,
    )
    .doc(
        "server",
        "Set configuration parameters to the given values",
        "2.0.0",
    )
    .complexity("O(N) when N is the number of configuration parameters provided")
    .acl(ADMIN_ACL)
    .schema(command_args::CONFIG_SET),
    Command::new(
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        config_resetstat,
    )
    .scope(Scope::All)
    .doc("server", "Reset the stats returned by INFO", "2.0.0")
    .acl(ADMIN_ACL)
    .schema(command_args::CONFIG_RESETSTAT),
    Command::new(
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        config_rewrite,
    )
    .doc(
        "server",
        "Rewrite the configuration file with the in memory configuration",
        "2.8.0",
    )
    .acl(ADMIN_ACL)
    .schema(command_args::CONFIG_REWRITE),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), config_help)
        .doc(
            "server",
            "Show helpful text about the different subcommands",
            "5.0.0",
        )
        .acl(&["slow"])
        .schema(command_args::CONFIG_HELP),
];

/// This family's commands.
pub const COMMANDS: &[Command] = &[Command::new("config", -2, 0, (0, 0, 0), container)
    .doc(
        "server",
        "A container for server configuration commands",
        "2.0.0",
    )
    .complexity("Depends on subcommand.")
    .acl(&["slow"])
    .subs(CONFIG_SUBS)
    .schema(command_args::CONFIG)];
