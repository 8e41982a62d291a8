//! Connection commands: PING, ECHO, SELECT, QUIT, HELLO, AUTH, RESET, MONITOR and the
//! CLIENT container (ID, GETNAME, SETNAME, LIST, INFO, KILL, PAUSE, UNPAUSE, UNBLOCK,
//! REPLY, NO-EVICT, NO-TOUCH, SETINFO, HELP).
//!
//! These commands act on the connection rather than on the keyspace: protocol version
//! (`ctx.out.proto`), authentication, selected database, name and reply mode live in
//! [`crate::client::Client`]; what other connections see (CLIENT LIST, CLIENT KILL)
//! lives in [`crate::client::ClientInfo`]. Replies and error texts follow Redis 7.0
//! (checked against redis-server 7.0.15); SETINFO and NO-TOUCH follow Redis 7.2, which
//! introduced them.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use shoal_protocol::{Args, Proto};

use crate::blocking::PauseKind;
use crate::client::{ClientInfo, TRACK_BCAST, TRACK_BROKEN, TRACK_NOLOOP, TRACK_ON};
use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::error::{self, CmdError, CmdResult};
use crate::num::parse_i64;
use crate::tracking::{overlaps, TrackOptions};

/// The Redis version Shoal reports (HELLO, INFO): clients gate features on it, so it
/// names the Redis release whose behaviour Shoal reproduces.
pub const REDIS_VERSION: &str = "7.0.15";

/// HELLO's `server` field. Clients and proxies check it against "redis" (as Dragonfly
/// and Valkey's compatibility mode do), so Shoal answers as Redis.
const HELLO_SERVER: &str = "redis";

/// PING [message]. A RESP2 connection in subscribe mode gets `*2 pong <message>`
/// (an empty message without one), as Redis answers there.
fn ping(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() > 2 {
        return Err(CmdError::WrongArity("ping".into()));
    }
    if ctx.client.subs.any() && ctx.out.proto == Proto::Resp2 {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).unwrap_or_default());
        return Ok(());
    }
    match args.get(1) {
        None => ctx.out.simple(b"PONG"),
        Some(m) => ctx.out.bulk(m),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

fn select(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let idx = parse_i64(&args[1]).ok_or(CmdError::NotInteger)?;
    if idx < 0 || idx as usize >= ctx.shared.keyspace.num_dbs() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.client.select(idx as usize);
    ctx.out.ok();
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Authentication and protocol negotiation
// ---------------------------------------------------------------------------------

/// Compares in time independent of where the inputs first differ, so a client cannot
/// learn the password byte by byte from reply latency (Redis's
/// `time_independent_strcmp`). Only the length leaks.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a username/password pair the way Redis checks it against its only user,
/// `default`: without `requirepass` the default user is `nopass` and accepts any
/// password; with it, the password must match. Other users do not exist.
fn credentials_ok(ctx: &Ctx<'_>, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    let config = ctx.shared.config.read();
    config.requirepass.is_empty() || same_secret(config.requirepass.as_bytes(), pass)
}

/// A failed AUTH: counted, logged (rate-limited) and, past the free attempts, paid
/// for with a delay (see [`crate::security::auth_failed`]).
fn auth_failed(ctx: &mut Ctx<'_>) {
    let shared = ctx.shared;
    crate::security::auth_failed(
        &shared.security_log,
        &shared.stats.acl_access_denied_auth,
        ctx.client,
    );
}

/// AUTH [username] password. A failed AUTH leaves an earlier successful one in place,
/// as in Redis.
fn auth(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (user, pass): (&[u8], &[u8]) = match args.len() {
        2 => {
            if !ctx.shared.auth_required() {
                return Err(CmdError::msg(error::AUTH_WITHOUT_PASSWORD));
            }
            (b"default", &args[1])
        }
        3 => (&args[1], &args[2]),
        _ => return Err(CmdError::Syntax),
    };
    if !credentials_ok(ctx, user, pass) {
        auth_failed(ctx);
        return Err(CmdError::WrongPass);
    }
    ctx.client.authenticated = true;
    ctx.client.auth_failures = 0;
    ctx.out.ok();
    Ok(())
}

/// Whether `name` is acceptable for CLIENT SETNAME / SETINFO: printable ASCII without
/// spaces (`'!'..='~'`), so CLIENT LIST lines still split on spaces and newlines.
fn valid_client_attr(name: &[u8]) -> bool {
    name.iter().all(|b| (b'!'..=b'~').contains(b))
}

/// Sets (or, with an empty name, clears) the connection name.
fn set_name(info: &ClientInfo, name: &[u8]) {
    *info.name.lock() = if name.is_empty() {
        None
    } else {
        Some(name.to_vec())
    };
}

/// Switches the protocol of this connection's replies, from the next value written.
fn set_proto(ctx: &mut Ctx<'_>, resp: usize) {
    ctx.out.proto = if resp == 3 {
        Proto::Resp3
    } else {
        Proto::Resp2
    };
    ctx.client.info.resp.store(resp, Ordering::Relaxed);
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]].
///
/// Options are handled in order, as Redis 7.0 does: AUTH authenticates as soon as it
/// is read, SETNAME is validated where it stands. The name is applied only once the
/// client is known to be authenticated (Redis 7.2's order; 7.0 also named clients
/// that then got NOAUTH). The reply is a map, RESP3 `%7` after `HELLO 3`.
fn hello(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let mut ver = None;
    if let Some(arg) = args.get(1) {
        let v = parse_i64(arg).ok_or(CmdError::msg(error::PROTOCOL_VERSION_NOT_INTEGER))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::msg(error::UNSUPPORTED_PROTOCOL_VERSION));
        }
        ver = Some(v as usize);
    }
    let mut name: Option<&[u8]> = None;
    let mut j = 2;
    while let Some(opt) = args.get(j) {
        let more = args.len() - 1 - j;
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            if !credentials_ok(ctx, &args[j + 1], &args[j + 2]) {
                auth_failed(ctx);
                return Err(CmdError::WrongPass);
            }
            ctx.client.authenticated = true;
            ctx.client.auth_failures = 0;
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            let n = &args[j + 1];
            if !valid_client_attr(n) {
                return Err(CmdError::msg(error::CLIENT_NAME_INVALID));
            }
            name = Some(n);
            j += 2;
        } else {
            return Err(CmdError::hello_option(opt));
        }
    }
    if !ctx.client.authenticated && ctx.shared.auth_required() {
        return Err(CmdError::msg(error::HELLO_NOT_AUTHENTICATED));
    }
    if let Some(n) = name {
        set_name(&ctx.client.info, n);
    }
    if let Some(v) = ver {
        set_proto(ctx, v);
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk_str(HELLO_SERVER);
    out.bulk(b"version");
    out.bulk_str(REDIS_VERSION);
    out.bulk(b"proto");
    out.int(if out.proto == Proto::Resp3 { 3 } else { 2 });
    out.bulk(b"id");
    out.int(ctx.client.id() as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

/// RESET: the connection as if new, except for its id, address and library info
/// (which still describe the client behind it): RESP2, db 0, no name, replies on,
/// NO-EVICT/NO-TOUCH off, out of MONITOR mode, tracking off, unauthenticated when a password is
/// required.
fn reset(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    if ctx.client.monitor {
        ctx.client.monitor = false;
        ctx.shared.monitors.remove(ctx.client.id());
    }
    ctx.client.take_multi();
    ctx.client.unwatch_all(&ctx.shared.watches);
    ctx.shared
        .pubsub
        .unsubscribe_all(&mut ctx.client.subs, &ctx.client.info);
    ctx.shared
        .tracking
        .disable(&ctx.client.info, &mut ctx.client.tracking);
    ctx.client.select(0);
    set_proto(ctx, 2);
    ctx.client.authenticated = !ctx.shared.auth_required();
    set_name(&ctx.client.info, b"");
    ctx.client.set_no_evict(false);
    ctx.client.set_no_touch(false);
    ctx.client.reply_off = false;
    // Back to the live keyspace (SNAPSHOT READ LIVE).
    ctx.client.snapshot = None;
    // A SKIP pending for the next command is cancelled; one that applies to RESET
    // itself still swallows the +RESET (Redis clears REPLY_SKIP_NEXT, not REPLY_SKIP).
    ctx.client.reply_skip_next = false;
    ctx.out.simple(b"RESET");
    Ok(())
}

/// MONITOR: from now on every command any client runs is pushed to this connection
/// (see [`crate::monitor`]). A second MONITOR is ignored, without a reply, as in Redis.
/// The monitor may still run commands that do not touch the keyspace (the gates refuse
/// the others), is never paused, and has no idle timeout; RESET ends the mode, QUIT
/// closes the connection.
fn monitor(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    if ctx.client.monitor {
        return Ok(());
    }
    ctx.client.monitor = true;
    ctx.shared.monitors.add(Arc::clone(&ctx.client.info));
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------------------------
// CLIENT
// ---------------------------------------------------------------------------------

/// Never called: dispatch resolves CLIENT to its subcommand rows.
fn client_container(_ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    Err(CmdError::Syntax)
}

fn client_id(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.int(ctx.client.id() as i64);
    Ok(())
}

fn client_getname(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    match ctx.client.info.name.lock().as_deref() {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    Ok(())
}

fn client_setname(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let name = &args[2];
    if !valid_client_attr(name) {
        return Err(CmdError::msg(error::CLIENT_NAME_INVALID));
    }
    set_name(&ctx.client.info, name);
    ctx.out.ok();
    Ok(())
}

/// Publishes this connection's current state to its shared view, so that CLIENT
/// INFO / LIST show the command running now and `idle=0` for the caller (the
/// connection loop otherwise publishes once per batch, after it).
fn refresh_own_info(ctx: &Ctx<'_>) {
    let info = &ctx.client.info;
    *info.last_cmd.lock() = ctx.client.last_cmd;
    info.last_ms.store(ctx.now, Ordering::Relaxed);
}

/// The client types of CLIENT LIST/KILL TYPE. Every Shoal connection is `normal`
/// (no replication, no pub/sub yet), so only that type matches anything.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Other,
}

fn client_type(name: &[u8]) -> Result<ClientType, CmdError> {
    let n = name.to_ascii_lowercase();
    match n.as_slice() {
        b"normal" => Ok(ClientType::Normal),
        b"master" | b"slave" | b"replica" | b"pubsub" => Ok(ClientType::Other),
        _ => Err(CmdError::unknown_client_type(name)),
    }
}

/// CLIENT LIST [TYPE type] | [ID id [id ...]]: one line per client, each ending in
/// `\n`; a verbatim `txt` string in RESP3.
fn client_list(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    refresh_own_info(ctx);
    let mut text = String::new();
    let opt = args.get(2);
    if args.len() == 4 && opt.is_some_and(|o| o.eq_ignore_ascii_case(b"TYPE")) {
        if client_type(&args[3])? == ClientType::Normal {
            describe_all(ctx, &mut text);
        }
    } else if args.len() > 3 && opt.is_some_and(|o| o.eq_ignore_ascii_case(b"ID")) {
        for arg in args.iter().skip(3) {
            let id = parse_i64(arg).ok_or(CmdError::msg(error::INVALID_CLIENT_ID))?;
            if let Some(c) = u64::try_from(id)
                .ok()
                .and_then(|id| ctx.shared.clients.get(id))
            {
                text.push_str(&c.describe(ctx.now));
                text.push('\n');
            }
        }
    } else if args.len() != 2 {
        return Err(CmdError::Syntax);
    } else {
        describe_all(ctx, &mut text);
    }
    ctx.out.verbatim(b"txt", text.as_bytes());
    Ok(())
}

fn describe_all(ctx: &Ctx<'_>, text: &mut String) {
    for c in ctx.shared.clients.all() {
        text.push_str(&c.describe(ctx.now));
        text.push('\n');
    }
}

/// CLIENT INFO: this connection's CLIENT LIST line.
fn client_info(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    refresh_own_info(ctx);
    let mut line = ctx.client.info.describe(ctx.now);
    line.push('\n');
    ctx.out.verbatim(b"txt", line.as_bytes());
    Ok(())
}

/// CLIENT KILL filters; a connection must match all that are set.
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    id: Option<u64>,
    kind: Option<ClientType>,
    skipme: bool,
}

fn parse_kill_filter<'a>(args: &Args<'a>) -> Result<KillFilter<'a>, CmdError> {
    let mut f = KillFilter {
        addr: None,
        laddr: None,
        id: None,
        kind: None,
        skipme: true,
    };
    if args.len() == 3 {
        // Old form CLIENT KILL <ip:port>: may kill the caller itself.
        f.addr = args.get(2);
        f.skipme = false;
        return Ok(f);
    }
    let mut i = 2;
    while let Some(opt) = args.get(i) {
        let Some(val) = args.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        if opt.eq_ignore_ascii_case(b"ID") {
            match parse_i64(val) {
                Some(id) if id >= 1 => f.id = Some(id as u64),
                _ => return Err(CmdError::msg(error::CLIENT_ID_NOT_POSITIVE)),
            }
        } else if opt.eq_ignore_ascii_case(b"TYPE") {
            f.kind = Some(client_type(val)?);
        } else if opt.eq_ignore_ascii_case(b"ADDR") {
            f.addr = Some(val);
        } else if opt.eq_ignore_ascii_case(b"LADDR") {
            f.laddr = Some(val);
        } else if opt.eq_ignore_ascii_case(b"USER") {
            // `default` is the only user, and every connection is logged in as it.
            if val != b"default" {
                return Err(CmdError::no_such_user(val));
            }
        } else if opt.eq_ignore_ascii_case(b"SKIPME") {
            if val.eq_ignore_ascii_case(b"yes") {
                f.skipme = true;
            } else if val.eq_ignore_ascii_case(b"no") {
                f.skipme = false;
            } else {
                return Err(CmdError::Syntax);
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(f)
}

/// CLIENT KILL <ip:port> (reply OK or `ERR No such client`) and
/// CLIENT KILL <filter> <value> ... (reply: how many were killed). Other connections
/// are told to close now; the caller, when it matches, closes after this reply.
fn client_kill(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let f = parse_kill_filter(args)?;
    let me = ctx.client.id();
    let mut killed = 0i64;
    let mut kill_me = false;
    for c in ctx.shared.clients.all() {
        if f.addr.is_some_and(|a| c.addr.to_string().as_bytes() != a)
            || f.laddr.is_some_and(|a| c.laddr.to_string().as_bytes() != a)
            || f.id.is_some_and(|id| c.id != id)
            || f.kind.is_some_and(|k| k != ClientType::Normal)
            || (f.skipme && c.id == me)
        {
            continue;
        }
        if c.id == me {
            kill_me = true;
        } else {
            c.kill();
        }
        killed += 1;
    }
    if kill_me {
        ctx.client.close_after_reply = true;
    }
    if args.len() == 3 {
        if killed == 0 {
            return Err(CmdError::msg(error::NO_SUCH_CLIENT));
        }
        ctx.out.ok();
    } else {
        ctx.out.int(killed);
    }
    Ok(())
}

/// CLIENT REPLY ON|OFF|SKIP. OFF and SKIP reply nothing; SKIP drops the reply of the
/// next command only (the connection loop applies it through
/// [`crate::client::Client::take_reply_dropped`]).
/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]: ends a command another client has
/// parked on keys (BLPOP, BZPOPMIN...), which answers its timeout reply or
/// `-UNBLOCKED`; `:1` if one was, else `:0` (a client paused by CLIENT PAUSE is not
/// unblocked: Redis 7.0.15 crashes on it). The reason is checked before the id, as
/// Redis does.
fn client_unblock(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::subcommand_syntax(&args[1], "CLIENT"));
    }
    let mut error = false;
    if let Some(reason) = args.get(3) {
        if reason.eq_ignore_ascii_case(b"ERROR") {
            error = true;
        } else if !reason.eq_ignore_ascii_case(b"TIMEOUT") {
            return Err(CmdError::msg(error::UNBLOCK_REASON_INVALID));
        }
    }
    let id = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    let unblocked = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.shared.clients.get(id))
        .is_some_and(|c| c.request_unblock(error));
    ctx.out.int(i64::from(unblocked));
    Ok(())
}

fn client_reply(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let mode = &args[2];
    if mode.eq_ignore_ascii_case(b"ON") {
        ctx.client.reply_off = false;
        ctx.client.reply_skip = false;
        ctx.client.reply_skip_next = false;
        ctx.out.ok();
    } else if mode.eq_ignore_ascii_case(b"OFF") {
        ctx.client.reply_off = true;
    } else if mode.eq_ignore_ascii_case(b"SKIP") {
        if !ctx.client.reply_off {
            ctx.client.reply_skip_next = true;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

/// Parses ON|OFF (case-insensitive), else `ERR syntax error`.
fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"ON") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"OFF") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn client_no_evict(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let on = on_off(&args[2])?;
    ctx.client.set_no_evict(on);
    ctx.out.ok();
    Ok(())
}

fn client_no_touch(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let on = on_off(&args[2])?;
    ctx.client.set_no_touch(on);
    ctx.out.ok();
    Ok(())
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2). Errors name the attribute as
/// the client spelled it; an empty value clears it.
fn client_setinfo(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let attr = &args[2];
    let value = &args[3];
    let is_name = if attr.eq_ignore_ascii_case(b"LIB-NAME") {
        true
    } else if attr.eq_ignore_ascii_case(b"LIB-VER") {
        false
    } else {
        return Err(CmdError::unrecognized_option(attr));
    };
    if !valid_client_attr(value) {
        return Err(CmdError::client_attr_invalid(attr));
    }
    // Validated printable ASCII, so this is lossless.
    let value = String::from_utf8_lossy(value).into_owned();
    let mut lib = ctx.client.info.lib.lock();
    if is_name {
        lib.0 = value;
    } else {
        lib.1 = value;
    }
    drop(lib);
    ctx.out.ok();
    Ok(())
}

/// CLIENT PAUSE timeout [WRITE|ALL]: holds back every command (ALL, the default), or
/// those that may write (WRITE), of every client but monitors, for `timeout`
/// milliseconds. Held commands wait, parked, and run in order when the pause ends.
/// A pause still in force keeps the later end and the stronger mode (Redis 7.0). While
/// paused, active expiry stops.
fn client_pause(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::subcommand_syntax(&args[1], "CLIENT"));
    }
    let mut kind = PauseKind::All;
    if let Some(mode) = args.get(3) {
        if mode.eq_ignore_ascii_case(b"WRITE") {
            kind = PauseKind::Write;
        } else if !mode.eq_ignore_ascii_case(b"ALL") {
            return Err(CmdError::msg(error::PAUSE_MODE_INVALID));
        }
    }
    let ms = parse_i64(&args[2]).ok_or(CmdError::msg(error::TIMEOUT_NOT_INTEGER))?;
    if ms < 0 {
        return Err(CmdError::msg(error::TIMEOUT_NEGATIVE));
    }
    // Redis adds the clock to a positive timeout (wrapping, so a huge one ends in the
    // past) and keeps 0 as the absolute time 0 (no pause).
    let end = if ms > 0 { ms.wrapping_add(ctx.now) } else { 0 };
    ctx.shared.blocking.pause(ctx.now, end, kind);
    ctx.out.ok();
    Ok(())
}

/// CLIENT UNPAUSE: ends the pause; paused clients resume in the order they were paused.
fn client_unpause(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.shared.blocking.unpause();
    ctx.out.ok();
    Ok(())
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT]
/// [NOLOOP]: client-side caching (see `crate::tracking`). Options are parsed (and
/// REDIRECT's client looked up) before ON/OFF is read, then checked in Redis's
/// order, with its texts.
fn client_tracking(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let mut redirect: u64 = 0;
    let mut opts = TrackOptions::default();
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut j = 3;
    while j < args.len() {
        let a = &args[j];
        let more = j + 1 < args.len();
        if a.eq_ignore_ascii_case(b"REDIRECT") && more {
            j += 1;
            if redirect != 0 {
                return Err(CmdError::msg(error::TRACKING_ONE_REDIRECT));
            }
            let id = parse_i64(&args[j]).ok_or(CmdError::NotInteger)?;
            // Redis looks the id up as an unsigned number: 0 and negatives are
            // nobody's.
            let id = id as u64;
            if ctx.shared.clients.get(id).is_none() {
                return Err(CmdError::msg(error::TRACKING_REDIRECT_MISSING));
            }
            redirect = id;
        } else if a.eq_ignore_ascii_case(b"BCAST") {
            opts.bcast = true;
        } else if a.eq_ignore_ascii_case(b"OPTIN") {
            opts.optin = true;
        } else if a.eq_ignore_ascii_case(b"OPTOUT") {
            opts.optout = true;
        } else if a.eq_ignore_ascii_case(b"NOLOOP") {
            opts.noloop = true;
        } else if a.eq_ignore_ascii_case(b"PREFIX") && more {
            j += 1;
            prefixes.push(&args[j]);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let mode = &args[2];
    let shared = ctx.shared;
    if mode.eq_ignore_ascii_case(b"ON") {
        if !opts.bcast && !prefixes.is_empty() {
            return Err(CmdError::msg(error::TRACKING_PREFIX_NEEDS_BCAST));
        }
        let flags = ctx.client.info.tracking_flags();
        if flags & TRACK_ON != 0 && (flags & TRACK_BCAST != 0) != opts.bcast {
            return Err(CmdError::msg(error::TRACKING_BCAST_SWITCH));
        }
        if opts.bcast && (opts.optin || opts.optout) {
            return Err(CmdError::msg(error::TRACKING_OPT_BCAST));
        }
        if opts.optin && opts.optout {
            return Err(CmdError::msg(error::TRACKING_OPTIN_OPTOUT));
        }
        let st = ctx.client.tracking.as_deref();
        let (was_in, was_out) = st.map_or((false, false), |s| (s.optin, s.optout));
        if (opts.optin && was_out) || (opts.optout && was_in) {
            return Err(CmdError::msg(error::TRACKING_OPT_SWITCH));
        }
        if opts.bcast {
            let existing: &[Box<[u8]>] = st.map_or(&[], |s| &s.prefixes);
            for (i, p) in prefixes.iter().enumerate() {
                if let Some(q) = existing.iter().find(|q| overlaps(q, p)) {
                    return Err(CmdError::prefix_overlap(p, q, true));
                }
                if let Some(q) = prefixes[i + 1..].iter().find(|q| overlaps(p, q)) {
                    return Err(CmdError::prefix_overlap(p, q, false));
                }
            }
        }
        shared.tracking.enable(
            &ctx.client.info,
            &mut ctx.client.tracking,
            redirect,
            opts,
            &prefixes,
        );
        ctx.client.tracking_used = true;
    } else if mode.eq_ignore_ascii_case(b"OFF") {
        shared
            .tracking
            .disable(&ctx.client.info, &mut ctx.client.tracking);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.out.ok();
    Ok(())
}

/// CLIENT CACHING YES|NO: in OPTIN mode, remember the keys of the next command (or
/// transaction); in OPTOUT mode, do not.
fn client_caching(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let Some(st) = ctx.client.tracking.as_deref_mut() else {
        return Err(CmdError::msg(error::CACHING_NOT_TRACKING));
    };
    let opt = &args[2];
    if opt.eq_ignore_ascii_case(b"YES") {
        if !st.optin {
            return Err(CmdError::msg(error::CACHING_YES_NOT_OPTIN));
        }
    } else if opt.eq_ignore_ascii_case(b"NO") {
        if !st.optout {
            return Err(CmdError::msg(error::CACHING_NO_NOT_OPTOUT));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    st.caching = true;
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR: the client invalidations are redirected to (0: none), -1 when
/// tracking is off.
fn client_getredir(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.int(ctx.client.info.redirect_shown());
    Ok(())
}

/// CLIENT TRACKINGINFO: a map of `flags` (a set), `redirect` and `prefixes`.
fn client_trackinginfo(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    let info = &ctx.client.info;
    let bits = info.tracking_flags();
    let st = ctx.client.tracking.as_deref();
    let mut names: Vec<&[u8]> = vec![if bits & TRACK_ON != 0 { b"on" } else { b"off" }];
    if bits & TRACK_BCAST != 0 {
        names.push(b"bcast");
    }
    if let Some(st) = st {
        if st.optin {
            names.push(b"optin");
            if st.caching {
                names.push(b"caching-yes");
            }
        }
        if st.optout {
            names.push(b"optout");
            if st.caching {
                names.push(b"caching-no");
            }
        }
    }
    if bits & TRACK_NOLOOP != 0 {
        names.push(b"noloop");
    }
    if bits & TRACK_BROKEN != 0 {
        names.push(b"broken_redirect");
    }
    let redirect = info.redirect_shown();
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(names.len());
    for n in names {
        out.bulk(n);
    }
    out.bulk(b"redirect");
    out.int(redirect);
    out.bulk(b"prefixes");
    let prefixes: &[Box<[u8]>] = st.map_or(&[], |s| &s.prefixes);
    out.array(prefixes.len());
    for p in prefixes {
        out.bulk(p);
    }
    Ok(())
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]",
    "      Return clients with the given ids.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "HELP",
    "    Prints this help.",
];

/// CLIENT HELP: Redis's help lines (status strings) for the subcommands Shoal has.
fn client_help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.array(CLIENT_HELP.len());
    for line in CLIENT_HELP {
        ctx.out.simple_str(line);
    }
    Ok(())
}

const CLIENT_ACL: &[&str] = &["slow", "connection"];
const CLIENT_ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous", "connection"];

/// CLIENT subcommands (arity counts `CLIENT` and the subcommand name).
const CLIENT_SUBCOMMANDS: &[Command] = &[
    Command::new("id", 2, NOSCRIPT | LOADING | STALE, (0, 0, 0), client_id)
        .doc(
            "connection",
            "Returns the client ID for the current connection",
            "5.0.0",
        )
        .acl(CLIENT_ACL)
        .schema(command_args::CLIENT_ID),
    Command::new(
        "getname",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_getname,
    )
    .doc("connection", "Get the current connection name", "2.6.9")
    .acl(CLIENT_ACL)
    .schema(command_args::CLIENT_GETNAME),
    Command::new(
        "setname",
        3,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_setname,
    )
    .doc("connection", "Set the current connection name", "2.6.9")
    .acl(CLIENT_ACL)
    .schema(command_args::CLIENT_SETNAME),
    Command::new(
        "list",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_list,
    )
    .doc("connection", "Get the list of client connections", "2.4.0")
    .complexity("O(N) where N is the number of client connections")
    .acl(CLIENT_ADMIN_ACL)
    .schema(command_args::CLIENT_LIST),
    Command::new(
        "info",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_info,
    )
    .doc(
        "connection",
        "Returns information about the current client connection.",
        "6.2.0",
    )
    .acl(CLIENT_ACL)
    .schema(command_args::CLIENT_INFO),
    Command::new(
        "kill",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_kill,
    )
    .doc("connection", "Kill the connection of a client", "2.4.0")
    .complexity("O(N) where N is the number of client connections")
    .acl(CLIENT_ADMIN_ACL)
    .schema(command_args::CLIENT_KILL),
    Command::new(
        "unblock",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_unblock,
    )
    .doc(
        "connection",
        "Unblock a client blocked in a blocking command from a different connection",
        "5.0.0",
    )
    .complexity("O(log N) where N is the number of client connections")
    .acl(CLIENT_ADMIN_ACL)
    .schema(command_args::CLIENT_UNBLOCK),
    Command::new(
        "pause",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_pause,
    )
    .doc(
        "connection",
        "Stop processing commands from clients for some time",
        "2.9.50",
    )
    .acl(CLIENT_ADMIN_ACL)
    .schema(command_args::CLIENT_PAUSE),
    Command::new(
        "unpause",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_unpause,
    )
    .doc(
        "connection",
        "Resume processing of clients that were paused",
        "6.2.0",
    )
    .complexity("O(N) Where N is the number of paused clients")
    .acl(CLIENT_ADMIN_ACL)
    .schema(command_args::CLIENT_UNPAUSE),
    Command::new(
        "reply",
        3,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_reply,
    )
    .doc(
        "connection",
        "Instruct the server whether to reply to commands",
        "3.2.0",
    )
    .acl(CLIENT_ACL)
    .schema(command_args::CLIENT_REPLY),
    Command::new(
        "no-evict",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_no_evict,
    )
    .doc(
        "connection",
        "Set client eviction mode for the current connection",
        "7.0.0",
    )
    .acl(CLIENT_ADMIN_ACL)
    .schema(command_args::CLIENT_NO_EVICT),
    Command::new(
        "no-touch",
        3,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_no_touch,
    )
    .doc(
        "connection",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        "7.2.0",
    )
    .acl(CLIENT_ACL)
    .schema(command_args::CLIENT_NO_TOUCH),
    Command::new(
        "setinfo",
        4,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_setinfo,
    )
    .doc(
        "connection",
        "Sets information specific to the client or connection.",
        "7.2.0",
    )
    .acl(CLIENT_ACL)
    .schema(command_args::CLIENT_SETINFO),
    Command::new(
        "tracking",
        -3,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_tracking,
    )
    .doc(
        "connection",
        "Enable or disable server assisted client side caching support",
        "6.0.0",
    )
    .complexity("O(1). Some options may introduce additional complexity.")
    .acl(CLIENT_ACL)
    .schema(command_args::CLIENT_TRACKING),
    Command::new(
        "caching",
        3,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_caching,
    )
    .doc(
        "connection",
        "Instruct the server about tracking or not keys in the next request",
        "6.0.0",
    )
    .acl(CLIENT_ACL)
    .schema(command_args::CLIENT_CACHING),
    Command::new(
        "getredir",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_getredir,
    )
    .doc(
        "connection",
        "Get tracking notifications redirection client ID if any",
        "6.0.0",
    )
    .acl(CLIENT_ACL)
    .schema(command_args::CLIENT_GETREDIR),
    Command::new(
        "trackinginfo",
        2,
        NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        client_trackinginfo,
    )
    .doc(
        "connection",
        "Return information about server assisted client side caching for the current connection",
        "6.2.0",
    )
    .acl(CLIENT_ACL)
    .schema(command_args::CLIENT_TRACKINGINFO),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), client_help)
        .doc(
            "connection",
            "Show helpful text about the different subcommands",
            "5.0.0",
        )
        .acl(CLIENT_ACL)
        .schema(command_args::CLIENT_HELP),
];

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("ping", -1, FAST, (0, 0, 0), ping)
        .doc("connection", "Ping the server", "1.0.0")
        .acl(&["fast", "connection"])
        .schema(command_args::PING),
    Command::new("echo", 2, FAST, (0, 0, 0), echo)
        .doc("connection", "Echo the given string", "1.0.0")
        .acl(&["fast", "connection"])
        .schema(command_args::ECHO),
    Command::new("select", 2, LOADING | STALE | FAST, (0, 0, 0), select)
        .doc(
            "connection",
            "Change the selected database for the current connection",
            "1.0.0",
        )
        .acl(&["fast", "connection"])
        .schema(command_args::SELECT),
    Command::new(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        (0, 0, 0),
        quit,
    )
    .doc("connection", "Close the connection", "1.0.0")
    .acl(&["fast", "connection"])
    .schema(command_args::QUIT),
    Command::new(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        hello,
    )
    .doc("connection", "Handshake with Redis", "6.0.0")
    .acl(&["fast", "connection"])
    .schema(command_args::HELLO),
    Command::new(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        auth,
    )
    .doc("connection", "Authenticate to the server", "1.0.0")
    .complexity("O(N) where N is the number of passwords defined for the user")
    .acl(&["fast", "connection"])
    .schema(command_args::AUTH),
    Command::new(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        reset,
    )
    .doc("connection", "Reset the connection", "6.2.0")
    .acl(&["fast", "connection"])
    .schema(command_args::RESET),
    Command::new(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        monitor,
    )
    .doc(
        "server",
        "Listen for all requests received by the server in real time",
        "1.0.0",
    )
    .complexity("")
    .acl(&["admin", "slow", "dangerous"])
    .schema(command_args::MONITOR),
    Command::new("client", -2, 0, (0, 0, 0), client_container)
        .doc(
            "connection",
            "A container for client connection commands",
            "2.4.0",
        )
        .complexity("Depends on subcommand.")
        .acl(&["slow"])
        .subs(CLIENT_SUBCOMMANDS)
        .schema(command_args::CLIENT),
];
