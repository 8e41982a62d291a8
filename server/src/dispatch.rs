//! Dispatch: from a parsed request to a reply, the one path every command takes.
//!
//! [`execute`] resolves the row ([`TABLE`], built here from the families), runs the
//! [gates](gates) in Redis's `processCommand` order, calls the handler through the
//! execution context, renders its error if any, and does the bookkeeping (command
//! counters and the dirty count in this thread's slot of `Shared::counters`, slow
//! log, MONITOR). Connections call [`execute`] (and a caller holding a group's
//! locks, [`execute_group`]); nothing else runs handlers. A
//! command may not complete now: a gate (CLIENT PAUSE) or its handler
//! ([`Ctx::block`]) parks it, and [`execute`] says so with [`Outcome::Park`]; the
//! connection runs it again later.

use std::sync::LazyLock;

use shoal_protocol::{Args, OwnedArgs, ReplyBuf};

use crate::access::Held;
use crate::blocking::{Block, PauseKind};
use crate::client::Client;
use crate::clock::{ticks, ticks_to_ns};
use crate::command::{flags, full_name, CallError, Command, CommandTable, Ctx, Scope, ScriptCall};
use crate::commands;
use crate::error::{self, CmdError, CmdResult};
use crate::state::Shared;

/// The process-wide command table, assembled from every family's rows.
pub static TABLE: LazyLock<CommandTable> =
    LazyLock::new(|| CommandTable::build(commands::FAMILIES, run_group, script_call));

/// The gates, in the order Redis's `processCommand` checks them; the first that
/// refuses decides the reply. Resolution (unknown command, unknown subcommand,
/// arity) has already happened. Steps still to come plug in where their comment
/// stands, so the order stays Redis's:
///
/// 0. protected commands (DEBUG) run only as `enable-debug-command` allows;
/// 1. authentication: `NOAUTH` until AUTH/HELLO succeeds (ACL's `NOPERM` comes next);
/// 2. MULTI: commands flagged `no-multi` are refused inside a transaction;
/// 3. maxmemory: over the limit, keys are evicted first (see [`crate::evict`]); if
///    nothing could be, `OOM` for `denyoom` commands (and EXEC of a transaction
///    with one) and for anything queued into a transaction;
/// 4. persistence: `MISCONF` for writes (and PING) after a failed background save;
/// 5. a SNAPSHOT READ view: `READONLY` for writes (Redis's read-only replica check);
/// 6. (subscribe mode: only the pub/sub commands, PING, QUIT and RESET in RESP2);
/// 7. loading: `LOADING` for commands without the `loading` flag; then, while another
///    client's script runs past `busy-reply-threshold`, `BUSY` for commands without
///    the `allow-busy` flag (one relaxed load otherwise);
/// 8. a MONITOR client (a replica to Redis) may not touch the keyspace: commands
///    flagged `write` or `readonly` get `Replica can't interact with the keyspace`;
/// 9. CLIENT PAUSE: the command parks until the pause ends (every command in `ALL`
///    mode, those flagged `write` in `WRITE` mode; monitors are never paused);
/// 10. MULTI: the command is queued (all but EXEC, DISCARD, MULTI, WATCH, QUIT and
///     RESET). EXEC of a transaction with a write counts as a write for 4, 5 and 9.
#[inline(always)]
pub fn gates(
    shared: &Shared,
    client: &Client,
    container: &Command,
    cmd: &Command,
    now: i64,
) -> Result<Gate, CmdError> {
    // The usual case, decided in a few loads without building a result: none of
    // the conditions below can apply to an unprotected command (DEBUG's
    // `enable-debug-command`) of an authenticated client outside MULTI,
    // subscribe mode, MONITOR, scripts and snapshot views while the server is not
    // loading, misconfigured, over its memory limit, busy with a script or paused.
    if client.authenticated
        && !cmd.has(flags::PROTECTED)
        && client.multi.is_none()
        && client.snapshot.is_none()
        && !client.monitor
        && !client.in_script
        && !client.subs.any()
        && !shared.persistence.gated()
        && !shared.scripts.busy()
        && shared.blocking.pause_kind() == PauseKind::None
        && !shared.evict.over()
    {
        return Ok(Gate::Run);
    }
    gates_in_order(shared, client, container, cmd, now)
}

/// [`gates`] one by one, in Redis's order.
#[inline(never)]
fn gates_in_order(
    shared: &Shared,
    client: &Client,
    container: &Command,
    cmd: &Command,
    now: i64,
) -> Result<Gate, CmdError> {
    if cmd.has(flags::PROTECTED)
        && !shared
            .config
            .read()
            .debug_command_allowed(client.info.is_local())
    {
        return Err(CmdError::msg(error::DEBUG_NOT_ALLOWED));
    }
    if !client.authenticated && !cmd.has(flags::NO_AUTH) && shared.auth_required() {
        return Err(CmdError::NoAuth);
    }
    let multi = client.multi.as_ref();
    if multi.is_some() && cmd.has(flags::NO_MULTI) {
        return Err(CmdError::msg(error::NOT_IN_MULTI));
    }
    if shared.evict.over() {
        if !client.in_script {
            out_of_memory(shared, client, cmd)?;
        } else if cmd.has(flags::DENYOOM) && !client.script_allow_oom {
            // A script holds its shards: it never evicts (that would lock them
            // again); its commands that grow memory are refused, as Redis's
            // `scriptVerifyOOM` does. The script's EVAL evicted before it ran.
            return Err(CmdError::msg(error::OOM));
        }
    }
    // EXEC of a transaction that writes counts as a write (Redis 7.0).
    let write = cmd.has(flags::WRITE) || multi.is_some_and(|m| m.write && cmd.name == "exec");
    let persistence = &shared.persistence;
    if persistence.misconf() && (write || cmd.name == "ping") {
        return Err(CmdError::Misconf);
    }
    if client.snapshot.is_some() && write {
        return Err(CmdError::SnapshotReadonly);
    }
    if client.subs.any() && !allowed_subscribed(cmd) && client.info.resp_is_2() {
        return Err(CmdError::subscribe_mode(full_name(container.name, cmd)));
    }
    if persistence.loading() && !cmd.has(flags::LOADING) {
        return Err(CmdError::Loading);
    }
    if shared.scripts.busy() && !cmd.has(flags::ALLOW_BUSY) && !client.in_script {
        return Err(busy(shared));
    }
    if client.monitor && cmd.has(flags::WRITE | flags::READONLY) {
        return Err(CmdError::ReplicaKeyspace);
    }
    if shared.blocking.pause_kind() != PauseKind::None && paused(shared, client, write, now) {
        return Ok(Gate::Park(Block::pause()));
    }
    if multi.is_some() && !runs_in_multi(cmd) {
        return Ok(Gate::Queue);
    }
    Ok(Gate::Run)
}

/// The maxmemory gate, once memory is over the limit: evict (Redis's
/// `performEvictions`), then refuse what would grow memory if nothing could be freed.
#[cold]
#[inline(never)]
fn out_of_memory(shared: &Shared, client: &Client, cmd: &Command) -> Result<(), CmdError> {
    if shared.evict.perform(shared) != crate::evict::Outcome::Fail {
        return Ok(());
    }
    let multi = client.multi.as_ref();
    let refuse = cmd.has(flags::DENYOOM)
        || match multi {
            // Queueing may take any amount of memory: only the transaction's own
            // ending commands pass, and EXEC only without a `denyoom` command queued.
            Some(m) if cmd.name == "exec" => m.denyoom,
            Some(_) => !matches!(cmd.name, "discard" | "quit" | "reset"),
            None => false,
        };
    if refuse {
        return Err(CmdError::msg(error::OOM));
    }
    Ok(())
}

/// The BUSY error for the kind of script running long.
#[cold]
fn busy(shared: &Shared) -> CmdError {
    shared.scripts.busy_error()
}

/// The commands a RESP2 connection may run while it is subscribed.
fn allowed_subscribed(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "subscribe"
            | "unsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// The commands that run at once inside MULTI instead of being queued (Redis's
/// `processCommand`): the transaction's own, QUIT and RESET.
fn runs_in_multi(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// What the gates let a command do.
pub enum Gate {
    /// Run it now.
    Run,
    /// Park it (CLIENT PAUSE).
    Park(Block),
    /// Queue it: the client is in MULTI.
    Queue,
}

/// Whether a pause in force at `now` holds `cmd` back. Redis 7.0's WRITE mode also
/// holds the "may replicate" commands (EVAL, PUBLISH, PFCOUNT...), none of which
/// Shoal has yet.
#[cold]
fn paused(shared: &Shared, client: &Client, write: bool, now: i64) -> bool {
    if client.monitor {
        return false;
    }
    match shared.blocking.pause_active(now) {
        PauseKind::None => false,
        PauseKind::Write => write,
        PauseKind::All => true,
    }
}

/// What became of a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran: its reply (or error) is in the output buffer.
    Done,
    /// It waits (nothing was written): the connection parks it as the [`Block`] says
    /// and runs it again (see `net.rs`).
    Park(Block),
}

/// Refuses a command before it runs: counts it as rejected (for the command, when
/// known, and server-wide) and replies with the error.
fn reject(shared: &Shared, out: &mut ReplyBuf, idx: Option<usize>, e: &CmdError) {
    shared.counters.local().rejected(idx);
    error_reply(shared, out, e);
}

/// Writes error `e` as the reply and counts it (INFO errorstats,
/// `total_error_replies`): every error a command or a refusal sends goes here.
#[cold]
#[inline(never)]
pub fn error_reply(shared: &Shared, out: &mut ReplyBuf, e: &CmdError) {
    let text = e.message();
    shared.counters.error_reply(&text);
    out.error(&text);
}

/// Runs one command for `client`, its reply (or error) going to `out`, unless it
/// parks ([`Outcome::Park`]).
#[inline]
pub fn execute(
    shared: &Shared,
    client: &mut Client,
    out: &mut ReplyBuf,
    now: i64,
    args: &Args<'_>,
) -> Outcome {
    let outcome = execute_one(shared, client, out, now, args);
    if client.tracking.is_some() {
        caching_done(client, args);
    }
    outcome
}

/// CLIENT CACHING applies to the command after it (or to the transaction after
/// it): any other command, outside MULTI, clears it (Redis's `resetClient`; a
/// CLIENT subcommand leaves it).
#[cold]
fn caching_done(client: &mut Client, args: &Args<'_>) {
    let in_multi = client.multi.is_some();
    if let Some(st) = client.tracking.as_deref_mut() {
        if st.caching && !in_multi && !args[0].eq_ignore_ascii_case(b"client") {
            st.caching = false;
        }
    }
}

fn execute_one(
    shared: &Shared,
    client: &mut Client,
    out: &mut ReplyBuf,
    now: i64,
    args: &Args<'_>,
) -> Outcome {
    let table: &'static CommandTable = &TABLE;
    let (idx, cmd) = match table.resolve(args) {
        Ok(found) => found,
        Err(e) => {
            flag_transaction(client);
            reject(shared, out, table.find(&args[0]), &e);
            return Outcome::Done;
        }
    };
    let container = table.get(idx);
    let gate = match gates(shared, client, container, cmd, now) {
        Ok(gate) => gate,
        Err(e) => {
            if client.multi.is_some() && cmd.name == "exec" {
                // Redis's `execCommandAbort`: the transaction is discarded.
                client.take_multi();
                client.unwatch_all(&shared.watches);
                reject(shared, out, Some(idx), &error::exec_abort_because(&e));
            } else {
                flag_transaction(client);
                reject(shared, out, Some(idx), &e);
            }
            return Outcome::Done;
        }
    };
    client.last_cmd = if std::ptr::eq(container, cmd) {
        (cmd.name, "")
    } else {
        (container.name, cmd.name)
    };
    match gate {
        Gate::Run => {}
        Gate::Park(block) => return Outcome::Park(block),
        Gate::Queue => {
            queue(client, cmd, args);
            out.simple(b"QUEUED");
            return Outcome::Done;
        }
    }
    // A SNAPSHOT READ view: the command runs against the snapshot (the Arc clone
    // keeps it alive for the call).
    let view = client.snapshot.clone();
    let keyspace = match &view {
        Some(snap) => snap.keyspace(),
        None => &shared.keyspace,
    };
    // While a script runs, a command that may wait for its shards takes them first,
    // so that the wait can end in BUSY (see `take_first`).
    let held = if shared.scripts.running() && view.is_none() {
        match take_first(shared, table, idx, container, cmd, args, client.db) {
            Ok(held) => held,
            Err(e) => {
                reject(shared, out, Some(idx), &e);
                return Outcome::Done;
            }
        }
    } else {
        None
    };
    let _scope = held.as_ref().map(|_| shoal_storage::GroupScope::enter());
    let mut ctx = Ctx::new(shared, table, keyspace, client, out, now, held);
    let (result, ns) = call(&mut ctx, cmd, args);
    let usec = ns / 1000;
    // The changes it made, for persistence's save points (Redis's `server.dirty`, as
    // the handler counted them; a failed command may have counted some before
    // failing, as in Redis), and its keyspace hits and misses.
    let tally = std::mem::take(&mut ctx.tally);
    if let (Some(block), Ok(())) = (ctx.client.parked.take(), &result) {
        // Counted (calls, time, slow log) when it completes, as Redis does; shown to
        // MONITOR only this once (the connection clears `reprocessing` when it is done).
        shared.counters.local().tally(&tally);
        ctx.client.reprocessing = true;
        return Outcome::Park(block);
    }
    // The command's counters and its changes: this thread's slot, no shared line.
    shared
        .counters
        .local()
        .command(idx, ns, result.is_err() || tally.failed, &tally);
    if let Err(e) = result {
        error_reply(shared, ctx.out, &e);
    }
    shared.slowlog.maybe_record(ctx.client, now, args, usec);
    let event = if cmd.has(flags::FAST) {
        "fast-command"
    } else {
        "command"
    };
    shared.latency.maybe_record(event, now / 1000, usec / 1000);
    Outcome::Done
}

/// The shards of a plain command run while a script runs, taken before its handler
/// (as for a group of one command: the handler then runs under them), waiting as
/// [`Held::lock_unless`] does: a command that would wait behind a script holding
/// one of its shards answers BUSY once that (or any) script runs past
/// `busy-reply-threshold`, as the gates answer it to a command that arrives then.
/// `None` (the handler locks as usual): commands flagged `allow-busy`, those that
/// take their shards their own way (`noscript` ones: EVAL, FCALL, EXEC, SAVE...)
/// and those that touch no key. A blocking command (BLPOP...) waits for its shards
/// the same way but lets them go again (in a group it would not block).
#[cold]
#[inline(never)]
fn take_first<'a>(
    shared: &'a Shared,
    table: &CommandTable,
    idx: usize,
    container: &Command,
    cmd: &Command,
    args: &Args<'_>,
    db: usize,
) -> Result<Option<Held<'a>>, CmdError> {
    let blocking = cmd.has(flags::BLOCKING);
    if cmd.has(flags::ALLOW_BUSY)
        || (!blocking && (cmd.has(flags::NOSCRIPT) || container.has(flags::NOSCRIPT)))
    {
        return Ok(None);
    }
    let mut db = db;
    let Ok(fp) = footprint(shared, table, idx, cmd, args, &mut db) else {
        return Ok(None);
    };
    let keyspace = &shared.keyspace;
    let mut plan = Plan::default();
    plan.add(keyspace, fp);
    if plan.is_empty() {
        return Ok(None);
    }
    let scripts = &shared.scripts;
    let held = plan
        .lock_unless(keyspace, &|| scripts.busy())
        .ok_or_else(|| busy(shared))?;
    Ok((!blocking).then_some(held))
}

/// A command was refused while the client queues a transaction: EXEC will answer
/// EXECABORT (Redis's `flagTransaction`).
#[inline]
fn flag_transaction(client: &mut Client) {
    if let Some(m) = client.multi.as_mut() {
        m.aborted = true;
    }
}

/// Queues `args` in the client's transaction.
#[cold]
fn queue(client: &mut Client, cmd: &Command, args: &Args<'_>) {
    if let Some(m) = client.multi.as_mut() {
        let owned = OwnedArgs::new(args);
        m.bytes += owned.heap_bytes();
        m.write |= cmd.has(flags::WRITE);
        m.denyoom |= cmd.has(flags::DENYOOM);
        m.queued.push(owned);
        client
            .info
            .multi
            .store(m.queued.len() as i64, std::sync::atomic::Ordering::Relaxed);
        client
            .info
            .multi_mem
            .store(m.bytes, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs `cmd`'s handler, timed (nanoseconds), then shows the command to MONITOR
/// once it ran (in the database it left selected), unless it is administrative or
/// was already shown when it first parked (Redis's `call`).
///
/// While someone tracks keys (client-side caching), the command runs in a tracking
/// scope (it is the origin of its changes, for NOLOOP; BCAST invalidations are
/// gathered until the outermost command ends), and a read command of a tracking
/// client remembers its keys before it runs, so that a write between the read and
/// the reply still invalidates it (see [`track_keys`]).
#[inline(always)]
fn call(ctx: &mut Ctx<'_>, cmd: &Command, args: &Args<'_>) -> (CmdResult, u64) {
    let shared = ctx.shared;
    let scope = shared
        .tracking
        .active()
        .then(|| shared.tracking.scope(&shared.clients, ctx.client.info.id));
    let tracks = ctx.client.tracking.is_some() && cmd.has(flags::READONLY);
    if tracks {
        track_keys(ctx, cmd, args);
    }
    let started = ticks();
    let result = (cmd.handler)(ctx, args);
    let ns = ticks_to_ns(started, ticks());
    if tracks && scope.as_ref().is_some_and(|s| s.take_self_removed()) {
        // Its own read removed a key it tracks (a lazy expiry): remembered again.
        track_keys(ctx, cmd, args);
    }
    drop(scope);
    if shared.monitors.active()
        && !cmd.has(flags::SKIP_MONITOR | flags::ADMIN)
        && !ctx.client.reprocessing
    {
        shared
            .monitors
            .feed(ctx.client.db, &ctx.client.info.addr, args.iter());
    }
    (result, ns)
}

/// Remembers the keys of read command `cmd` for the calling tracking client, unless
/// its OPTIN/OPTOUT mode and CLIENT CACHING say otherwise (Redis's
/// `trackingRememberKeys`; read-only scripts are not, only the commands they run).
#[cold]
#[inline(never)]
fn track_keys(ctx: &mut Ctx<'_>, cmd: &Command, args: &Args<'_>) {
    if matches!(cmd.name, "eval_ro" | "evalsha_ro" | "fcall_ro") {
        return;
    }
    let shared = ctx.shared;
    let client = &mut *ctx.client;
    let Some(st) = client.tracking.as_deref_mut() else {
        return;
    };
    if !st.remembers() {
        return;
    }
    let argv: Vec<&[u8]> = args.iter().collect();
    let Some(pos) = cmd.key_positions(&argv) else {
        return;
    };
    shared.tracking.remember(
        &shared.clients,
        &client.info,
        st,
        pos.iter().filter_map(|&i| argv.get(i).copied()),
    );
}

/// The shards a command of a group needs, decided before the group locks anything.
enum Footprint<'a> {
    /// None (PING, ECHO, TIME, CONFIG...).
    Nothing,
    /// These keys, `(db, key)`.
    Keys(Vec<(usize, &'a [u8])>),
    /// Every shard of this database (KEYS, SCAN, DBSIZE, RANDOMKEY, FLUSHDB).
    Db(usize),
    /// Every shard of every database (FLUSHALL, SWAPDB, BGSAVE).
    All,
}

/// A database index argument as the command will read it, if valid.
fn db_arg(shared: &Shared, arg: Option<&[u8]>) -> Option<usize> {
    let v = crate::num::parse_i64(arg?)?;
    usize::try_from(v)
        .ok()
        .filter(|&v| v < shared.keyspace.num_dbs())
}

/// What `cmd` (found at row `idx`) with `args` will lock when run in a group with
/// database `*db` selected; `*db` follows SELECT as the group will. `Err` for the
/// commands that reach the keyspace some other way and cannot run in a group yet.
fn footprint<'a>(
    shared: &Shared,
    table: &CommandTable,
    idx: usize,
    cmd: &Command,
    args: &Args<'a>,
    db: &mut usize,
) -> Result<Footprint<'a>, CmdError> {
    let container = table.get(idx).name;
    let here = *db;
    // SELECT, MOVE and COPY ... DB: where they go depends on their arguments.
    Ok(match container {
        "select" => {
            if let Some(n) = db_arg(shared, args.get(1)) {
                *db = n;
            }
            Footprint::Nothing
        }
        "move" => {
            let key = args.get(1).unwrap_or_default();
            let mut keys = vec![(here, key)];
            if let Some(to) = db_arg(shared, args.get(2)) {
                keys.push((to, key));
            }
            Footprint::Keys(keys)
        }
        "copy" => {
            let mut to = here;
            let mut i = 3;
            while i + 1 < args.len() {
                if args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(b"db")) {
                    to = db_arg(shared, args.get(i + 1)).unwrap_or(here);
                }
                i += 1;
            }
            let (src, dst) = (args.get(1), args.get(2));
            Footprint::Keys(vec![
                (here, src.unwrap_or_default()),
                (to, dst.unwrap_or_default()),
            ])
        }
        _ => match cmd.scope {
            Scope::Db => Footprint::Db(here),
            Scope::All => Footprint::All,
            Scope::Own => return Err(CmdError::not_in_group(&full_name(container, cmd))),
            Scope::Keys => key_footprint(cmd, args, here),
        },
    })
}

/// A command's keys by its key spec, in database `db`.
fn key_footprint<'a>(cmd: &Command, args: &Args<'a>, db: usize) -> Footprint<'a> {
    let argv: Vec<&'a [u8]> = args.iter().collect();
    match cmd.key_positions(&argv) {
        Some(pos) if !pos.is_empty() => Footprint::Keys(
            pos.into_iter()
                .filter_map(|i| argv.get(i).map(|k| (db, *k)))
                .collect(),
        ),
        _ => Footprint::Nothing,
    }
}

/// The shards a group locks: the union of its commands' footprints.
#[derive(Default)]
struct Plan {
    shards: Vec<(usize, usize)>,
    dbs: Vec<usize>,
    all: bool,
}

impl Plan {
    fn key(&mut self, keyspace: &shoal_storage::Keyspace, db: usize, key: &[u8]) {
        let d = keyspace.db(db);
        self.shards.push((db, d.shard_index(d.hash(key))));
    }

    fn add(&mut self, keyspace: &shoal_storage::Keyspace, fp: Footprint<'_>) {
        match fp {
            Footprint::Nothing => {}
            Footprint::Keys(keys) => keys
                .into_iter()
                .for_each(|(db, k)| self.key(keyspace, db, k)),
            Footprint::Db(db) => self.dbs.push(db),
            Footprint::All => self.all = true,
        }
    }

    fn is_empty(&self) -> bool {
        self.shards.is_empty() && self.dbs.is_empty() && !self.all
    }

    /// Takes the plan's shards as [`Held::lock_unless`] does.
    fn lock_unless<'a>(
        mut self,
        keyspace: &'a shoal_storage::Keyspace,
        stop: &dyn Fn() -> bool,
    ) -> Option<Held<'a>> {
        let whole: Vec<usize> = if self.all {
            (0..keyspace.num_dbs()).collect()
        } else {
            std::mem::take(&mut self.dbs)
        };
        for db in whole {
            self.shards
                .extend((0..keyspace.db(db).num_shards()).map(|i| (db, i)));
        }
        Held::lock_unless(keyspace, self.shards, stop)
    }
}

/// Runs `group` (several commands) atomically in `ctx`'s client's name: the shards
/// of every key of every command (and of `extra`: EXEC's watched keys) are locked
/// once, in the global order, and each command's ordinary handler runs against those
/// guards, so no other client observes part of the group. Whole-database commands
/// make the group hold every shard of their database (FLUSHALL, SWAPDB: of every
/// database), and SELECT moves the following commands' keys, as they will run.
///
/// Once the locks are held, `precheck` decides whether to go on (EXEC checks its
/// watched keys there and writes its array header); `false` runs nothing and
/// returns `false`. While the shards are awaited, a script going busy ends the wait
/// with BUSY (`Err`; see [`Held::lock_unless`]). Each command is resolved and gated
/// as by [`execute`] and replies in order; a command refused replies its error and
/// the others still run. A command that would block answers as if it timed out
/// (Redis: blocking commands in MULTI do not block). This is what MULTI/EXEC and scripts build on.
pub fn run_group<'a>(
    ctx: &mut Ctx<'a>,
    group: &[Args<'_>],
    extra: &[(usize, &[u8])],
    precheck: &mut dyn FnMut(&mut Ctx<'a>) -> bool,
) -> Result<bool, CmdError> {
    let table = ctx.table;
    let shared = ctx.shared;
    let keyspace = ctx.keyspace;
    let now = ctx.now;
    let mut plan = Plan::default();
    for &(db, key) in extra {
        plan.key(keyspace, db, key);
    }
    let mut db = ctx.client.db;
    let mut resolved: Vec<Result<(usize, &'static Command), CmdError>> =
        Vec::with_capacity(group.len());
    for args in group {
        let found = table
            .resolve(args)
            // A pause holds a group back as a whole, before it runs (as EXEC in
            // Redis), never one of its commands: a `Gate::Park` is not applied here.
            .and_then(|(idx, cmd)| {
                gates(shared, ctx.client, table.get(idx), cmd, now).map(|_| (idx, cmd))
            })
            .and_then(|(idx, cmd)| {
                let fp = footprint(shared, table, idx, cmd, args, &mut db)?;
                plan.add(keyspace, fp);
                Ok((idx, cmd))
            });
        // Replies keep the group's order: an error waits for its turn.
        resolved.push(found);
    }
    let scripts = &shared.scripts;
    let Some(held) = plan.lock_unless(keyspace, &|| scripts.busy()) else {
        return Err(busy(shared));
    };
    let outer = ctx.held.replace(held);
    debug_assert!(outer.is_none(), "groups do not nest");
    // From here on this thread holds shard locks: debug builds catch a handler that
    // would lock one again (a deadlock) instead of hanging. A group run through a
    // snapshot view holds only the snapshot's frozen shards (no locks): what it does
    // to the live keyspace (BGSAVE, SNAPSHOT CREATE/LIST) locks as it goes.
    let _scope = ctx
        .client
        .snapshot
        .is_none()
        .then(shoal_storage::GroupScope::enter);
    if !precheck(ctx) {
        ctx.held = outer;
        return Ok(false);
    }
    let mut dirty = 0;
    for (args, found) in group.iter().zip(resolved) {
        let (idx, cmd) = match found {
            Ok(found) => found,
            Err(e) => {
                reject(shared, ctx.out, table.find(&args[0]), &e);
                continue;
            }
        };
        let (result, ns) = call(ctx, cmd, args);
        if let Some(block) = ctx.client.parked.take() {
            if result.is_ok() {
                block.reply_timeout(ctx.out);
            }
        }
        let mut tally = std::mem::take(&mut ctx.tally);
        dirty += std::mem::take(&mut tally.dirty);
        shared
            .counters
            .local()
            .command(idx, ns, result.is_err() || tally.failed, &tally);
        if let Err(e) = result {
            error_reply(shared, ctx.out, &e);
        }
    }
    // The locks go before the changes are counted, as for a single command: the
    // caller (EXEC's dispatch) publishes them.
    ctx.held = outer;
    ctx.tally.dirty += dirty;
    Ok(true)
}

/// How long a script that already wrote waits for a shard below the ones it holds
/// before the command fails (blocking there could deadlock with an ascending locker).
pub const SCRIPT_LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs one command for a script (`redis.call`): `ctx.held` holds the script's
/// shards. Its reply (or the command's own error) is written to `ctx.out`, in
/// `ctx.out.proto`. Checks as Redis's `scriptCall`: the command exists with a
/// valid arity, is allowed in scripts (`noscript`), is not a write in a read-only
/// script, passes the gates; then its footprint's shards are taken: each shard not
/// held yet is tried without waiting; if that fails and `may_retry` (the script
/// changed nothing yet), [`CallError::Retry`]; otherwise a shard after every held
/// one is waited for (ascending order cannot deadlock), one before them for
/// [`SCRIPT_LOCK_WAIT`] at most. `sc.wrote` is set when a write command runs
/// (SCRIPT KILL refuses then), `sc.outside` when the command reaches a shard outside
/// the declared keys'; the changes it made are added to `sc.dirty`.
pub fn script_call(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    sc: &mut ScriptCall,
) -> Result<(), CallError> {
    let table = ctx.table;
    let shared = ctx.shared;
    let refused = |text: &str| CallError::Refused(text.to_string());
    let Some(_) = table.find(&args[0]) else {
        return Err(refused(error::SCRIPT_UNKNOWN_COMMAND));
    };
    let (idx, cmd) = match table.resolve(args) {
        Ok(found) => found,
        Err(CmdError::WrongArity(_)) => return Err(refused(error::SCRIPT_WRONG_ARGS)),
        Err(_) => return Err(refused(error::SCRIPT_UNKNOWN_COMMAND)),
    };
    let container = table.get(idx);
    if cmd.has(flags::NOSCRIPT) || container.has(flags::NOSCRIPT) {
        return Err(refused(error::SCRIPT_NOSCRIPT_COMMAND));
    }
    if sc.read_only && cmd.has(flags::WRITE) {
        return Err(refused(error::SCRIPT_WRITE_IN_READONLY));
    }
    if let Err(e) = gates(shared, ctx.client, container, cmd, ctx.now) {
        return Err(CallError::Refused(
            String::from_utf8_lossy(&e.message()).into_owned(),
        ));
    }
    if cmd.has(flags::WRITE) {
        sc.wrote = true;
    }
    let mut db = ctx.client.db;
    let fp = footprint(shared, table, idx, cmd, args, &mut db)
        .map_err(|e| CallError::Refused(String::from_utf8_lossy(&e.message()).into_owned()))?;
    let mut plan = Plan::default();
    plan.add(ctx.keyspace, fp);
    let mut wanted = plan.shards;
    let whole: Vec<usize> = if plan.all {
        (0..ctx.keyspace.num_dbs()).collect()
    } else {
        plan.dbs
    };
    for d in whole {
        wanted.extend((0..ctx.keyspace.db(d).num_shards()).map(|i| (d, i)));
    }
    wanted.sort_unstable();
    wanted.dedup();
    if wanted
        .iter()
        .any(|id| sc.declared.binary_search(id).is_err())
    {
        sc.outside = true;
    }
    take_shards(ctx, &wanted, sc.may_retry && sc.dirty == 0)?;
    let (result, usec) = call(ctx, cmd, args);
    if let Some(block) = ctx.client.parked.take() {
        if result.is_ok() {
            block.reply_timeout(ctx.out);
        }
    }
    let mut tally = std::mem::take(&mut ctx.tally);
    sc.dirty += std::mem::take(&mut tally.dirty);
    shared
        .counters
        .local()
        .command(idx, usec, result.is_err() || tally.failed, &tally);
    if let Err(e) = result {
        error_reply(shared, ctx.out, &e);
    }
    Ok(())
}

/// Makes the script's held set cover `wanted` (sorted): see [`script_call`].
fn take_shards(
    ctx: &mut Ctx<'_>,
    wanted: &[(usize, usize)],
    may_retry: bool,
) -> Result<(), CallError> {
    use crate::access::Acquire;
    let keyspace = ctx.keyspace;
    let Some(held) = ctx.held.as_mut() else {
        return Ok(());
    };
    for &id in wanted {
        if held.holds(id) || held.acquire(keyspace, id, Acquire::Try) {
            continue;
        }
        if may_retry {
            return Err(CallError::Retry);
        }
        let above = held.highest().is_none_or(|h| id > h);
        let how = if above {
            Acquire::Above
        } else {
            Acquire::Within(SCRIPT_LOCK_WAIT)
        };
        if !held.acquire(keyspace, id, how) {
            return Err(CallError::Refused(error::SCRIPT_LOCK_TIMEOUT.to_string()));
        }
    }
    Ok(())
}

/// [`run_group`] for a caller outside any command (tests): runs `group` for `client`
/// with no precondition, then publishes its changes.
pub fn execute_group(
    shared: &Shared,
    client: &mut Client,
    out: &mut ReplyBuf,
    now: i64,
    group: &[&Args<'_>],
) {
    let table: &'static CommandTable = &TABLE;
    let view = client.snapshot.clone();
    let keyspace = match &view {
        Some(snap) => snap.keyspace(),
        None => &shared.keyspace,
    };
    let mut ctx = Ctx::new(shared, table, keyspace, client, out, now, None);
    let group: Vec<Args<'_>> = group.iter().map(|a| **a).collect();
    if let Err(e) = run_group(&mut ctx, &group, &[], &mut |_| true) {
        ctx.out.error(&e.message());
    }
    ctx.commit_dirty();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for c in &TABLE.commands {
            assert_eq!(c.name, c.name.to_ascii_lowercase());
            assert!(c.arity != 0, "{} has arity 0", c.name);
            assert!(!c.summary.is_empty(), "{} has no summary", c.name);
            for s in c.subcommands {
                assert!(
                    s.arity != 0 && !s.summary.is_empty(),
                    "{}|{}",
                    c.name,
                    s.name
                );
            }
        }
    }
}
