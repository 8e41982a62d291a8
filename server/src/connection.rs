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
use crate::command::{self, Ctx};
use crate::server::{now_ms, Shared};

/// Read buffer size for a fresh connection, and what it shrinks back to.
const READ_BUF: usize = 16 * 1024;
/// Write the replies gathered so far once they exceed this (large MGET/KEYS batches).
const FLUSH_AT: usize = 1024 * 1024;
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
        let _ = socket
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    };
    let id = info.id;
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
    loop {
        let current = shared.live.epoch.load(Ordering::Acquire);
        if current != epoch {
            epoch = current;
            parser.set_limits(shared.parser_limits());
            query_limit = shared.live.query_buffer_limit.load(Ordering::Relaxed) as usize;
            timeout = shared.live.timeout.load(Ordering::Relaxed);
        }
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

        let now = now_ms();
        let mut pos = 0;
        let mut failed = false;
        while pos < inbuf.len() {
            match parser.parse(&inbuf[pos..]) {
                Ok(Some((used, args))) => {
                    pos += used;
                    if args.is_empty() {
                        continue;
                    }
                    let mark = out.len();
                    let mut ctx = Ctx {
                        shared,
                        keyspace: &shared.keyspace,
                        client: &mut *client,
                        out: &mut out,
                        now,
                        dirty: 0,
                    };
                    command::execute(&mut ctx, &args);
                    // Redis checks authentication per command: a big request pipelined
                    // right after AUTH gets the authenticated limits.
                    parser.set_authenticated(client.authenticated);
                    if client.take_reply_dropped() {
                        out.truncate(mark);
                    }
                    if client.close_after_reply {
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
                flush(shared, socket, &mut out).await?;
            }
        }
        inbuf.advance(pos);
        parser.set_authenticated(client.authenticated);
        flush(shared, socket, &mut out).await?;

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

async fn flush(shared: &Shared, socket: &mut TcpStream, out: &mut ReplyBuf) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    socket.write_all(out.as_bytes()).await?;
    shared
        .stats
        .net_output_bytes
        .fetch_add(out.len() as u64, Ordering::Relaxed);
    out.clear();
    Ok(())
}

/// Resolves after `secs` of idleness; never when `secs` is 0 (no timeout).
async fn idle(secs: u64) {
    if secs == 0 {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
}
