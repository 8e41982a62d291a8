//! One client connection: read a batch, run every complete command in it, write all
//! replies at once.
//!
//! The loop is the pipelining fast path of DESIGN.md: bytes are read into one
//! `BytesMut`; the parser hands out argument slices into it (no copy) and resumes a
//! partial frame where it stopped; replies are encoded into one [`ReplyBuf`] and
//! written with one `write_all` per batch (or earlier, when a batch's replies grow
//! past [`FLUSH_AT`], so one client cannot make the server buffer without bound).
//!
//! A command may park ([`Outcome::Park`]: a CLIENT PAUSE, or a handler that blocks).
//! It then stays at the front of the input buffer, the commands pipelined after it
//! wait, the replies before it are written, and the connection waits, without
//! polling, for its wake-up, its deadline, CLIENT KILL or shutdown, still reading (to
//! see the client leave) and writing pushes; woken, it runs the command again.
//! Others push pre-encoded messages (MONITOR lines) through the connection's push
//! queue, taken while idle or parked.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use shoal_protocol::{Proto, ReplyBuf, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::blocking::{Block, Parked, WaitOn};
use crate::client::{
    Client, ClientInfo, PushLimits, PushReceiver, UNBLOCK_ERROR, UNBLOCK_NONE, UNBLOCK_READY,
    UNBLOCK_TIMEOUT,
};
use crate::dispatch::{self, Outcome};
use crate::error;
use crate::http;
use crate::security;
use crate::state::{now_ms, Shared};

/// Read buffer size for a fresh connection, and what it shrinks back to.
const READ_BUF: usize = 16 * 1024;
/// Write the replies gathered so far once they exceed this (large MGET/KEYS batches).
const FLUSH_AT: usize = 1024 * 1024;
/// Most reply bytes an unauthenticated client may leave unread beyond what the
/// socket takes before it is closed (Redis 7.0.15's limit).
const UNAUTHENTICATED_OUTPUT_LIMIT: usize = 1024;
/// A buffer grown past this is replaced by a fresh small one once it is empty.
const SHRINK_ABOVE: usize = 1024 * 1024;

/// Serves one accepted socket until the client leaves, errs, is killed or the server
/// shuts down.
pub async fn run(shared: Arc<Shared>, mut socket: TcpStream, addr: SocketAddr) {
    let _ = socket.set_nodelay(true);
    let keepalive = shared.live.tcp_keepalive.load(Ordering::Relaxed);
    if keepalive > 0 {
        let ka = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(keepalive))
            .with_interval(Duration::from_secs((keepalive / 3).max(1)));
        let _ = socket2::SockRef::from(&socket).set_tcp_keepalive(&ka);
    }
    let laddr = socket.local_addr().unwrap_or(addr);
    let maxclients = shared.live.maxclients.load(Ordering::Relaxed);
    let Some((info, mut pushes)) = shared.clients.register(addr, laddr, now_ms(), maxclients)
    else {
        shared
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = socket.write_all(error::MAX_CLIENTS_REACHED_REPLY).await;
        return;
    };
    let id = info.id;
    if security::protected_mode_refuses(
        shared.live.protected_mode.load(Ordering::Relaxed),
        shared.auth_required(),
        addr.ip(),
    ) {
        shared
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        tracing::debug!(id, %addr, "refused by protected mode");
        // Best effort, as Redis: a client that does not read cannot hold us here.
        let _ = socket.try_write(error::PROTECTED_MODE_DENIED_REPLY);
        shared.clients.unregister(id);
        return;
    }
    tracing::debug!(id, %addr, "client connected");
    info.attach_socket(std::os::fd::AsRawFd::as_raw_fd(&socket));
    let mut client = Client::new(Arc::clone(&info), !shared.auth_required());
    // Accepted while a signalled shutdown drains or saves: HTTP is answered
    // (`/healthz` says 503), commands are not run.
    let late = shared.stopping();
    match serve(&shared, &mut socket, &mut client, &mut pushes, late).await {
        Ok(reason) => tracing::debug!(id, %addr, reason, "client closed"),
        Err(e) => tracing::debug!(id, %addr, error = %e, "client connection error"),
    }
    if client.monitor {
        shared.monitors.remove(id);
    }
    client.unwatch_all(&shared.watches);
    shared.pubsub.unsubscribe_all(&mut client.subs, &info);
    shared.tracking.disable(&info, &mut client.tracking);
    // The socket closes when `run` returns: CLIENT KILL must not shut it down after.
    info.detach_socket();
    let buffers = info.buffers.swap(0, Ordering::Relaxed);
    shared.evict.clients_changed(&shared, -(buffers as isize));
    shared.clients.unregister(id);
}

async fn serve(
    shared: &Shared,
    socket: &mut TcpStream,
    client: &mut Client,
    pushes: &mut PushReceiver,
    late: bool,
) -> io::Result<&'static str> {
    let mut inbuf = BytesMut::with_capacity(READ_BUF);
    let mut out = ReplyBuf::with_capacity(Proto::Resp2, READ_BUF);
    let mut parser = RequestParser::new(shared.parser_limits());
    parser.set_authenticated(client.authenticated);
    let mut epoch = shared.live.epoch.load(Ordering::Acquire);
    let mut query_limit = shared.live.query_buffer_limit.load(Ordering::Relaxed) as usize;
    let mut timeout = shared.live.timeout.load(Ordering::Relaxed);
    let mut normal = normal_limits(shared);
    // Where the batch's replies are next written (see `Flush`).
    let mut next_flush = FLUSH_AT;
    let info = Arc::clone(&client.info);
    // No command has run yet: an HTTP request line now is a cross-protocol request.
    let mut first_command = true;
    // Commands are still buffered after a penalty pause or a parked command: run them
    // before reading.
    let mut buffered = false;
    loop {
        let current = shared.live.epoch.load(Ordering::Acquire);
        if current != epoch {
            epoch = current;
            parser.set_limits(shared.parser_limits());
            query_limit = shared.live.query_buffer_limit.load(Ordering::Relaxed) as usize;
            timeout = shared.live.timeout.load(Ordering::Relaxed);
            normal = normal_limits(shared);
        }
        // A monitor has no idle timeout (Redis exempts replicas, which monitors are).
        let idle_secs = if client.monitor { 0 } else { timeout };
        let limits = class_limits(shared, client, &normal);
        // Under a class with limits, replies the socket does not take wait in `out`
        // while the connection goes on reading and running commands, up to the limits
        // (Redis's behaviour); without limits the connection stops reading until they
        // are written, so its memory stays bounded anyway.
        let keep = if limits.any() {
            Flush::Keep
        } else {
            Flush::Wait
        };
        if !std::mem::take(&mut buffered) {
            if inbuf.capacity() - inbuf.len() < 1024 {
                let want = parser
                    .pending_bulk_hint()
                    .map(|h| h.saturating_add(2).min(query_limit))
                    .unwrap_or(READ_BUF)
                    .max(READ_BUF);
                inbuf.reserve(want);
            }
            let read = if out.is_empty() {
                tokio::select! {
                    r = socket.read_buf(&mut inbuf) => r?,
                    // Only a connection that asked for pushes (MONITOR) polls its queue.
                    Some(msg) = pushes.recv(), if client.accepts_pushes() => {
                        take_pushes(&info, &mut out, msg, pushes);
                        if let Some(reason) = flush(shared, socket, client, &mut out, idle_secs, &limits, keep).await? {
                            return Ok(reason);
                        }
                        continue;
                    }
                    // CLIENT KILL shuts the socket's reading side down: the read ends.
                    _ = idle(idle_secs), if idle_secs > 0 => return Ok("idle timeout"),
                }
            } else {
                // Replies the socket did not take wait in `out` (a class with limits,
                // see `keep`): reading goes on, and so do the writes and the soft
                // limit's deadline.
                let soft = info.soft_limit_deadline_ms(&limits);
                tokio::select! {
                    r = socket.readable() => {
                        r?;
                        match socket.try_read_buf(&mut inbuf) {
                            Ok(n) => n,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    r = socket.writable() => {
                        r?;
                        if let Some(reason) = flush(shared, socket, client, &mut out, idle_secs, &limits, Flush::Keep).await? {
                            return Ok(reason);
                        }
                        continue;
                    }
                    // Over the soft limit for its seconds: the write attempt checks it.
                    _ = until_unix_ms(soft.unwrap_or(0)), if soft.is_some() => {
                        if let Some(reason) = flush(shared, socket, client, &mut out, idle_secs, &limits, Flush::Keep).await? {
                            return Ok(reason);
                        }
                        continue;
                    }
                    Some(msg) = pushes.recv(), if client.accepts_pushes() => {
                        take_pushes(&info, &mut out, msg, pushes);
                        if let Some(reason) = flush(shared, socket, client, &mut out, idle_secs, &limits, Flush::Keep).await? {
                            return Ok(reason);
                        }
                        continue;
                    }
                    _ = idle(idle_secs), if idle_secs > 0 => return Ok("idle timeout"),
                }
            };
            if info.killed.load(Ordering::Relaxed) {
                return Ok("killed");
            }
            if read == 0 {
                return Ok("eof");
            }
            shared.counters.local().net_input(read as u64);
            if inbuf.len() > query_limit {
                return Ok(query_limit_reached(client, inbuf.len()));
            }
            if client.tracking_used {
                // Invalidations queued before these commands arrived go before
                // their replies, as Redis writes them at once (the select may have
                // taken the read first).
                take_queued_pushes(&info, &mut out, pushes);
            }
        }

        let now = now_ms();
        // The query buffer before this batch runs: INFO client_recent_max_input_buffer.
        info.stats.recent_input.record(inbuf.len(), now);
        let mut pos = 0;
        let mut failed = false;
        let mut penalty = None;
        let mut park = None;
        while pos < inbuf.len() {
            match parser.parse(&inbuf[pos..]) {
                Ok(Some((used, args))) => {
                    if args.is_empty() {
                        pos += used;
                        continue;
                    }
                    if first_command {
                        // `GET /metrics HTTP/1.1` or `GET /healthz ...` as the first
                        // command: this connection is an HTTP request (http.rs).
                        if let Some(route) = http::route(&args) {
                            let rest = inbuf.split_off(pos + used);
                            return http::serve_resp_port(shared, socket, route, &rest).await;
                        }
                        if late {
                            return Ok("server shutting down");
                        }
                    }
                    if security::is_cross_protocol(&args, first_command) {
                        // Nothing more runs and nothing is answered, as Redis.
                        security::log_cross_protocol(&shared.security_log, client.info.addr);
                        return Ok("cross-protocol request");
                    }
                    first_command = false;
                    let mark = out.len();
                    if let Outcome::Park(block) =
                        dispatch::execute(shared, client, &mut out, now, &args)
                    {
                        // The command stays at the front of the buffer to run again;
                        // the commands pipelined after it wait behind it (Redis).
                        park = Some((block, used));
                        break;
                    }
                    pos += used;
                    // Redis checks authentication per command: a big request pipelined
                    // right after AUTH gets the authenticated limits.
                    parser.set_authenticated(client.authenticated);
                    if client.take_reply_dropped() {
                        out.truncate(mark);
                    }
                    if client.tracking_used {
                        // Invalidations of the keys this command changed follow its
                        // reply, before the next command's (Redis).
                        take_queued_pushes(&info, &mut out, pushes);
                    }
                    if client.close_after_reply {
                        break;
                    }
                    if let Some(pause) = client.penalty.take() {
                        // A failed AUTH past the free attempts: nothing else runs,
                        // and its reply waits, until the pause is over.
                        penalty = Some(pause);
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(id = client.id(), error = %e, "protocol error");
                    out.protocol_error(&e);
                    shared.counters.error_reply(error::ERR_CODE);
                    failed = true;
                    break;
                }
            }
            if out.len() >= next_flush {
                if let Some(reason) =
                    flush(shared, socket, client, &mut out, idle_secs, &limits, keep).await?
                {
                    return Ok(reason);
                }
                // Replies left unwritten (a limited class): the next attempt, and the
                // next check of the limits, once another FLUSH_AT of replies is added
                // or the hard limit is reached.
                next_flush = out.len().saturating_add(FLUSH_AT);
                if limits.hard > 0 {
                    next_flush = next_flush.min(limits.hard as usize);
                }
            }
        }
        inbuf.advance(pos);
        parser.set_authenticated(client.authenticated);
        if let Some((block, len)) = park {
            // The replies of the commands before it go out now.
            if let Some(reason) = flush(
                shared,
                socket,
                client,
                &mut out,
                idle_secs,
                &limits,
                Flush::Wait,
            )
            .await?
            {
                return Ok(reason);
            }
            publish(
                shared,
                client,
                now,
                inbuf.len() - len,
                inbuf.capacity() + out.capacity(),
            );
            let parked = Parking {
                parser: &mut parser,
                inbuf: &mut inbuf,
                out: &mut out,
                pushes,
                query_limit,
            };
            if let Some(reason) = parked.run(shared, socket, client, block, len).await? {
                return Ok(reason);
            }
            parser.set_authenticated(client.authenticated);
            penalty = client.penalty.take();
            buffered = !inbuf.is_empty();
        }
        if let Some(pause) = penalty {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = info.kill_notify.notified() => return Ok("killed"),
            }
            buffered = !inbuf.is_empty();
        }
        // Before a close everything is written; otherwise a limited class keeps what
        // the socket does not take (see `keep`).
        let closing = failed || client.close_after_reply || shared.shutting_down();
        let mode = if closing { Flush::Wait } else { keep };
        if let Some(reason) =
            flush(shared, socket, client, &mut out, idle_secs, &limits, mode).await?
        {
            return Ok(reason);
        }
        next_flush = if out.is_empty() {
            FLUSH_AT
        } else {
            next_flush.max(out.len().saturating_add(1))
        };

        publish(
            shared,
            client,
            now,
            inbuf.len(),
            inbuf.capacity() + out.capacity(),
        );
        if failed {
            return Ok("protocol error");
        }
        if client.close_after_reply {
            return Ok("quit");
        }
        if shared.shutting_down() {
            return Ok("shutdown");
        }
        if inbuf.is_empty() && inbuf.capacity() > SHRINK_ABOVE {
            inbuf = BytesMut::with_capacity(READ_BUF);
        }
        if out.is_empty() && out.capacity() > SHRINK_ABOVE {
            out = ReplyBuf::with_capacity(out.proto, READ_BUF);
        }
    }
}

/// Publishes what CLIENT LIST shows of this connection (once per batch), and its
/// buffers' size when it changed (for maxmemory and maxmemory-clients).
fn publish(shared: &Shared, client: &Client, now: i64, qbuf: usize, buffers: usize) {
    let info = &client.info;
    info.last_ms.store(now, Ordering::Relaxed);
    info.qbuf.store(qbuf, Ordering::Relaxed);
    *info.last_cmd.lock() = client.last_cmd;
    let old = info.buffers.load(Ordering::Relaxed);
    if old != buffers {
        info.buffers.store(buffers, Ordering::Relaxed);
        shared
            .evict
            .clients_changed(shared, buffers as isize - old as isize);
    }
}

/// The `normal` class of `client-output-buffer-limit` now.
fn normal_limits(shared: &Shared) -> PushLimits {
    let (hard, soft, soft_secs) = crate::config::output_buffer_limit(
        &shared.config.read().client_output_buffer_limit,
        "normal",
    );
    PushLimits {
        hard,
        soft,
        soft_secs,
    }
}

/// The output-buffer limits of the client's class, as Redis's `getClientType`: the
/// `pubsub` class while it is subscribed to anything, else `normal` (a monitor
/// included). Shoal has no replicas: the `replica` class applies to no one.
fn class_limits(shared: &Shared, client: &Client, normal: &PushLimits) -> PushLimits {
    if client.subs.any() {
        shared.pubsub.limits()
    } else {
        *normal
    }
}

/// Logs and names the close of a client past `client-query-buffer-limit`.
fn query_limit_reached(client: &Client, qbuf: usize) -> &'static str {
    client
        .info
        .stats
        .query_limit_closed
        .fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        id = client.id(),
        qbuf,
        "closing client that reached max query buffer length"
    );
    "query buffer limit"
}

/// Moves pushed messages (`first` and whatever else is queued, up to [`FLUSH_AT`])
/// into the output buffer.
fn take_pushes(info: &ClientInfo, out: &mut ReplyBuf, first: Bytes, pushes: &mut PushReceiver) {
    let (mut taken, mut messages) = (first.len(), 1);
    out.raw(&first);
    while out.len() < FLUSH_AT {
        match pushes.try_recv() {
            Ok(msg) => {
                taken += msg.len();
                messages += 1;
                out.raw(&msg);
            }
            Err(_) => break,
        }
    }
    info.pushes_taken(taken, messages);
    if taken > PUSH_RECORD_ABOVE {
        // What waited for the connection: its output buffer a moment ago.
        info.stats.recent_output.record(taken, now_ms());
    }
}

/// Pushes taken at once past this size count for INFO
/// `client_recent_max_output_buffer` (Redis counts only what overflows a client's
/// 16 KiB reply buffer).
const PUSH_RECORD_ABOVE: usize = 16 * 1024;

/// Moves whatever is queued in the push queue into the output buffer (a tracking
/// client's invalidations, after each of its commands).
fn take_queued_pushes(info: &ClientInfo, out: &mut ReplyBuf, pushes: &mut PushReceiver) {
    if let Ok(first) = pushes.try_recv() {
        take_pushes(info, out, first, pushes);
    }
}

/// Why a parked command stopped waiting.
enum Wake {
    /// Woken: run it again.
    Rerun,
    /// Its deadline passed first (or CLIENT UNBLOCK ... TIMEOUT ended it).
    Timeout,
    /// CLIENT UNBLOCK ... ERROR ended it.
    Unblocked,
    /// The connection must close.
    Close(&'static str),
}

/// A parked command's connection: what the wait reads into and writes from.
struct Parking<'a> {
    parser: &'a mut RequestParser,
    inbuf: &'a mut BytesMut,
    out: &'a mut ReplyBuf,
    pushes: &'a mut PushReceiver,
    query_limit: usize,
}

impl Parking<'_> {
    /// Parks the command at the front of the input buffer (`len` bytes) as `block`
    /// says, until it completes: woken, it runs again (and may park again); at its
    /// deadline it gets its timeout reply. Its reply is left in the output buffer and
    /// the command removed from the input. `Some(reason)` when the connection must
    /// close instead.
    async fn run(
        self,
        shared: &Shared,
        socket: &TcpStream,
        client: &mut Client,
        mut block: Block,
        len: usize,
    ) -> io::Result<Option<&'static str>> {
        let Parking {
            parser,
            inbuf,
            out,
            pushes,
            query_limit,
        } = self;
        let info = Arc::clone(&client.info);
        let mut parked = shared
            .blocking
            .park(block.on.clone(), block.deadline.is_some());
        info.blocked.store(true, Ordering::Relaxed);
        // Only a command parked on keys may be ended by CLIENT UNBLOCK (a client
        // paused by CLIENT PAUSE is not, as in Redis 7.0).
        if matches!(block.on, WaitOn::Keys(_)) {
            info.unblock.store(UNBLOCK_READY, Ordering::Release);
        }
        let result = loop {
            let wake = wait_parked(
                shared,
                socket,
                &info,
                &parked,
                &block,
                inbuf,
                out,
                pushes,
                query_limit,
            )
            .await;
            match wake {
                Err(e) => break Err(e),
                Ok(Wake::Close(reason)) => break Ok(Some(reason)),
                Ok(wake @ (Wake::Timeout | Wake::Unblocked)) => {
                    let mark = out.len();
                    if matches!(wake, Wake::Unblocked) {
                        out.error_str(error::UNBLOCKED);
                        shared.counters.error_reply(error::UNBLOCKED.as_bytes());
                    } else {
                        block.reply_timeout(out);
                    }
                    if client.take_reply_dropped() {
                        out.truncate(mark);
                    }
                    client.reprocessing = false;
                    inbuf.advance(len);
                    break Ok(None);
                }
                Ok(Wake::Rerun) => {
                    let now = now_ms();
                    let Ok(Some((used, args))) = parser.parse(&inbuf[..]) else {
                        // The bytes did not change since they parsed; never happens.
                        break Ok(Some("parked command lost"));
                    };
                    let mark = out.len();
                    match dispatch::execute(shared, client, out, now, &args) {
                        Outcome::Done => {
                            if client.take_reply_dropped() {
                                out.truncate(mark);
                            }
                            client.reprocessing = false;
                            inbuf.advance(used);
                            break Ok(None);
                        }
                        Outcome::Park(again) => {
                            // Unblockable while on keys (a pending CLIENT UNBLOCK is
                            // kept); not while paused.
                            let (from, to) = if matches!(again.on, WaitOn::Keys(_)) {
                                (UNBLOCK_NONE, UNBLOCK_READY)
                            } else {
                                (UNBLOCK_READY, UNBLOCK_NONE)
                            };
                            let _ = info.unblock.compare_exchange(
                                from,
                                to,
                                Ordering::AcqRel,
                                Ordering::Acquire,
                            );
                            // A command blocked on keys that parks again keeps its
                            // first deadline (its handler computes a new one from
                            // its timeout each run), as a Redis blocked client
                            // keeps its timeout.
                            let keep = matches!(block.on, WaitOn::Keys(_))
                                && matches!(again.on, WaitOn::Keys(_));
                            let deadline = if keep { block.deadline } else { again.deadline };
                            block = Block { deadline, ..again };
                            // Woken for nothing (another client took the element),
                            // it waits on in its place.
                            if block.on != *parked.on() {
                                drop(parked);
                                parked = shared
                                    .blocking
                                    .park(block.on.clone(), block.deadline.is_some());
                            }
                            publish(
                                shared,
                                client,
                                now,
                                inbuf.len() - len,
                                inbuf.capacity() + out.capacity(),
                            );
                        }
                    }
                }
            }
        };
        // Out of the queue (handing the turn on) before anything else can wait.
        drop(parked);
        info.unblock.store(UNBLOCK_NONE, Ordering::Release);
        info.blocked.store(false, Ordering::Relaxed);
        result
    }
}

/// Waits, without polling, for a parked command's wake-up or deadline. Meanwhile the
/// connection still reads (to see the client leave, and to keep its pipelined input
/// within the query buffer limit), obeys CLIENT KILL and shutdown (no idle timeout, as
/// Redis exempts blocked clients), and writes what others push to it, without ever
/// blocking on a client that does not read: pushes then stay queued, and count
/// against the push limit.
#[allow(clippy::too_many_arguments)]
async fn wait_parked(
    shared: &Shared,
    socket: &TcpStream,
    info: &ClientInfo,
    parked: &Parked<'_>,
    block: &Block,
    inbuf: &mut BytesMut,
    out: &mut ReplyBuf,
    pushes: &mut PushReceiver,
    query_limit: usize,
) -> io::Result<Wake> {
    // Bytes of `out` (pushes) already written.
    let mut sent = 0;
    let wake = loop {
        let pause = block.on == WaitOn::Pause;
        let deadline = if pause {
            // The pause's end, however often it moves; the first paused client to see
            // it pass ends the pause and the queue resumes, in order.
            shared.blocking.pause_end_ms().map(|end| {
                let ms = u64::try_from(end.saturating_sub(now_ms())).unwrap_or(0);
                Instant::now() + Duration::from_millis(ms + 1)
            })
        } else {
            block.deadline
        };
        let writing = sent < out.len();
        if inbuf.capacity() - inbuf.len() < 1024 {
            inbuf.reserve(READ_BUF);
        }
        tokio::select! {
            biased;
            _ = info.kill_notify.notified() => break Wake::Close("killed"),
            // A wake-up left from an earlier parked command asks nothing.
            _ = info.unblock_notify.notified() => match info.unblock.load(Ordering::Acquire) {
                UNBLOCK_TIMEOUT => break Wake::Timeout,
                UNBLOCK_ERROR => break Wake::Unblocked,
                _ => {}
            },
            _ = parked.woken() => break Wake::Rerun,
            _ = until(deadline) => {
                if !pause {
                    break Wake::Timeout;
                }
                shared.blocking.pause_active(now_ms());
            }
            r = socket.readable() => {
                r?;
                match socket.try_read_buf(inbuf) {
                    Ok(0) => break Wake::Close("eof"),
                    Ok(n) => {
                        shared.counters.local().net_input(n as u64);
                        info.stats.recent_input.record(inbuf.len(), now_ms());
                        if inbuf.len() > query_limit {
                            info.stats.query_limit_closed.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(
                                id = info.id,
                                qbuf = inbuf.len(),
                                "closing client that reached max query buffer length"
                            );
                            break Wake::Close("query buffer limit");
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            r = socket.writable(), if writing => {
                r?;
                write_some(shared, socket, out, &mut sent)?;
            }
            Some(msg) = pushes.recv(), if !writing => {
                take_pushes(info, out, msg, pushes);
                write_some(shared, socket, out, &mut sent)?;
            }
        }
    };
    // What the socket did not take yet is written with the command's reply.
    out.consume(sent);
    Ok(wake)
}

/// Writes what the socket takes now of `out` past `sent`; clears `out` once all of it
/// is written.
fn write_some(
    shared: &Shared,
    socket: &TcpStream,
    out: &mut ReplyBuf,
    sent: &mut usize,
) -> io::Result<()> {
    let bytes = out.as_bytes();
    while *sent < bytes.len() {
        match socket.try_write(&bytes[*sent..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                *sent += n;
                shared.counters.local().net_output(n as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    out.clear();
    *sent = 0;
    Ok(())
}

/// Resolves at `deadline`; never without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// What [`flush`] does when the socket does not take every reply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flush {
    /// Waits until it does (the connection reads nothing meanwhile).
    Wait,
    /// Leaves the rest in the buffer and returns: the connection goes on, and writes
    /// it when the socket is writable (a class with output-buffer limits).
    Keep,
}

/// Writes the pending replies. What the socket does not take is the client's output
/// buffer (with its pushes not taken yet): published for CLIENT LIST (`obl`, `omem`)
/// and INFO, and checked against `limits` (the client's `client-output-buffer-limit`
/// class) each time a write cannot take everything, as Redis checks after each reply
/// it buffers: at or past the hard limit, or past the soft one for its seconds, the
/// client is closed (Redis's log line, INFO `client_output_buffer_limit_disconnections`).
/// Then `mode` says whether to wait or return with the rest kept in `out`.
///
/// While waiting (a client that does not read), the connection still obeys CLIENT
/// KILL, shutdown, the idle `timeout` (counted from the last write that made progress,
/// as Redis counts a write as an interaction) and the soft limit's deadline. An
/// unauthenticated client whose replies the socket cannot take is closed once more
/// than [`UNAUTHENTICATED_OUTPUT_LIMIT`] bytes wait (Redis 7.0.15, CVE-2025-21605).
/// `Some(reason)` when the connection must close.
async fn flush(
    shared: &Shared,
    socket: &mut TcpStream,
    client: &Client,
    out: &mut ReplyBuf,
    timeout: u64,
    limits: &PushLimits,
    mode: Flush,
) -> io::Result<Option<&'static str>> {
    let info = &client.info;
    let mut pos = 0;
    while pos < out.len() {
        match socket.try_write(&out.as_bytes()[pos..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                pos += n;
                shared.counters.local().net_output(n as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let left = out.len() - pos;
                if !client.authenticated && left > UNAUTHENTICATED_OUTPUT_LIMIT {
                    info.stats
                        .output_limit_closed
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        id = client.id(),
                        addr = %client.info.addr,
                        pending = left,
                        "Client scheduled to be closed ASAP for overcoming of output buffer limits (unauthenticated)."
                    );
                    return Ok(Some("output buffer limit (unauthenticated)"));
                }
                let now = now_ms();
                info.set_obuf(left, now);
                if limits.any() {
                    let used = left + info.pushes_pending();
                    if info.over_output_limits(used, limits, now) {
                        info.close_for_output_limits(used);
                        return Ok(Some("output buffer limit"));
                    }
                }
                if mode == Flush::Keep {
                    out.consume(pos);
                    return Ok(None);
                }
                let soft = info.soft_limit_deadline_ms(limits);
                tokio::select! {
                    r = socket.writable() => r?,
                    _ = client.info.kill_notify.notified() => return Ok(Some("killed")),
                    _ = idle(timeout) => return Ok(Some("idle timeout while writing")),
                    // The next write attempt checks the soft limit again.
                    _ = until_unix_ms(soft.unwrap_or(0)), if soft.is_some() => {}
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    out.clear();
    if info.obuf.load(Ordering::Relaxed) != 0 {
        info.set_obuf(0, 0);
    }
    Ok(None)
}

/// Resolves at `deadline_ms` (unix milliseconds).
async fn until_unix_ms(deadline_ms: i64) {
    let ms = u64::try_from(deadline_ms.saturating_sub(now_ms())).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Resolves after `secs` of idleness; never when `secs` is 0 (no timeout).
async fn idle(secs: u64) {
    if secs == 0 {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
}
