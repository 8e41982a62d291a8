//! One client connection: read a batch, run every complete command in it, write all
//! replies at once.
//!
//! The loop is the pipelining fast path of DESIGN.md: bytes are read into one
//! `BytesMut`; the parser hands out argument slices into it (no copy) and resumes a
//! partial frame where it stopped; replies are encoded into one [`ReplyBuf`] and
//! written with one `write_all` per batch (or earlier, when a batch's replies grow
//! past [`FLUSH_AT`], so one client cannot make the server buffer without bound).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use shoal_protocol::{Proto, ReplyBuf, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::Client;
use crate::dispatch;
use crate::error;
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
    let Some(info) = shared.clients.register(addr, laddr, now_ms(), maxclients) else {
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
    let mut client = Client::new(info, !shared.auth_required());
    match serve(&shared, &mut socket, &mut client).await {
        Ok(reason) => tracing::debug!(id, %addr, reason, "client closed"),
        Err(e) => tracing::debug!(id, %addr, error = %e, "client connection error"),
    }
    shared.clients.unregister(id);
}

async fn serve(
    shared: &Shared,
    socket: &mut TcpStream,
    client: &mut Client,
) -> io::Result<&'static str> {
    let mut inbuf = BytesMut::with_capacity(READ_BUF);
    let mut out = ReplyBuf::with_capacity(Proto::Resp2, READ_BUF);
    let mut parser = RequestParser::new(shared.parser_limits());
    parser.set_authenticated(client.authenticated);
    let mut epoch = shared.live.epoch.load(Ordering::Acquire);
    let mut query_limit = shared.live.query_buffer_limit.load(Ordering::Relaxed) as usize;
    let mut timeout = shared.live.timeout.load(Ordering::Relaxed);
    let info = Arc::clone(&client.info);
    // No command has run yet: an HTTP request line now is a cross-protocol request.
    let mut first_command = true;
    // Commands are still buffered after a penalty pause: run them before reading.
    let mut buffered = false;
    loop {
        let current = shared.live.epoch.load(Ordering::Acquire);
        if current != epoch {
            epoch = current;
            parser.set_limits(shared.parser_limits());
            query_limit = shared.live.query_buffer_limit.load(Ordering::Relaxed) as usize;
            timeout = shared.live.timeout.load(Ordering::Relaxed);
        }
        if !std::mem::take(&mut buffered) {
            if inbuf.capacity() - inbuf.len() < 1024 {
                let want = parser
                    .pending_bulk_hint()
                    .map(|h| h.saturating_add(2).min(query_limit))
                    .unwrap_or(READ_BUF)
                    .max(READ_BUF);
                inbuf.reserve(want);
            }
            let read = tokio::select! {
                r = socket.read_buf(&mut inbuf) => r?,
                _ = info.kill_notify.notified() => return Ok("killed"),
                _ = idle(timeout) => return Ok("idle timeout"),
            };
            if read == 0 {
                return Ok("eof");
            }
            if info.killed.load(Ordering::Relaxed) {
                return Ok("killed");
            }
            shared
                .stats
                .net_input_bytes
                .fetch_add(read as u64, Ordering::Relaxed);
            if inbuf.len() > query_limit {
                tracing::warn!(
                    id = client.id(),
                    qbuf = inbuf.len(),
                    "closing client that reached max query buffer length"
                );
                return Ok("query buffer limit");
            }
        }

        let now = now_ms();
        let mut pos = 0;
        let mut failed = false;
        let mut penalty = None;
        while pos < inbuf.len() {
            match parser.parse(&inbuf[pos..]) {
                Ok(Some((used, args))) => {
                    pos += used;
                    if args.is_empty() {
                        continue;
                    }
                    if security::is_cross_protocol(&args, first_command) {
                        // Nothing more runs and nothing is answered, as Redis.
                        security::log_cross_protocol(&shared.security_log, client.info.addr);
                        return Ok("cross-protocol request");
                    }
                    first_command = false;
                    let mark = out.len();
                    dispatch::execute(shared, client, &mut out, now, &args);
                    // Redis checks authentication per command: a big request pipelined
                    // right after AUTH gets the authenticated limits.
                    parser.set_authenticated(client.authenticated);
                    if client.take_reply_dropped() {
                        out.truncate(mark);
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
                    failed = true;
                    break;
                }
            }
            if out.len() >= FLUSH_AT {
                if let Some(reason) = flush(shared, socket, client, &mut out, timeout).await? {
                    return Ok(reason);
                }
            }
        }
        inbuf.advance(pos);
        parser.set_authenticated(client.authenticated);
        if let Some(pause) = penalty {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = info.kill_notify.notified() => return Ok("killed"),
            }
            buffered = !inbuf.is_empty();
        }
        if let Some(reason) = flush(shared, socket, client, &mut out, timeout).await? {
            return Ok(reason);
        }

        info.last_ms.store(now, Ordering::Relaxed);
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        *info.last_cmd.lock() = client.last_cmd;
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
        if out.capacity() > SHRINK_ABOVE {
            out = ReplyBuf::with_capacity(out.proto, READ_BUF);
        }
    }
}

/// Writes every pending reply. While the socket does not take them (a client that
/// does not read), the connection still obeys CLIENT KILL, shutdown and the idle
/// `timeout` (counted from the last write that made progress, as Redis counts a
/// write as an interaction). An unauthenticated client whose replies the socket
/// cannot take is closed once more than [`UNAUTHENTICATED_OUTPUT_LIMIT`] bytes wait
/// (Redis 7.0.15, CVE-2025-21605). `Some(reason)` when the connection must close.
async fn flush(
    shared: &Shared,
    socket: &mut TcpStream,
    client: &Client,
    out: &mut ReplyBuf,
    timeout: u64,
) -> io::Result<Option<&'static str>> {
    let bytes = out.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        match socket.try_write(&bytes[pos..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                pos += n;
                shared
                    .stats
                    .net_output_bytes
                    .fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !client.authenticated && bytes.len() - pos > UNAUTHENTICATED_OUTPUT_LIMIT {
                    tracing::warn!(
                        id = client.id(),
                        addr = %client.info.addr,
                        pending = bytes.len() - pos,
                        "Client scheduled to be closed ASAP for overcoming of output buffer limits (unauthenticated)."
                    );
                    return Ok(Some("output buffer limit (unauthenticated)"));
                }
                tokio::select! {
                    r = socket.writable() => r?,
                    _ = client.info.kill_notify.notified() => return Ok(Some("killed")),
                    _ = idle(timeout) => return Ok(Some("idle timeout while writing")),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    out.clear();
    Ok(None)
}

/// Resolves after `secs` of idleness; never when `secs` is 0 (no timeout).
async fn idle(secs: u64) {
    if secs == 0 {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
}
