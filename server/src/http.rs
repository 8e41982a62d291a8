//! The two HTTP requests Shoal answers: `GET /metrics` and `GET /healthz`.
//!
//! On the RESP port, the connection loop recognises them from the connection's first
//! command: an inline request `GET /metrics HTTP/1.1` parses as three arguments, which
//! [`route`] checks (nothing else runs on the RESP hot path; any other first command,
//! HTTP-looking or not, is left to the parser and to the cross-protocol guard, which
//! closes the connection without a reply for every other HTTP request, as Redis).
//! On the optional `metrics-port`, every connection is HTTP ([`serve_metrics_port`]).
//!
//! Either way the rest of the request head (the header lines, up to a blank line,
//! at most [`MAX_HEAD`] bytes, within [`HEAD_TIMEOUT`]) is read, one HTTP/1.1 response
//! with `Connection: close` is written, and the connection is closed. There is no
//! keep-alive, no body, no chunking: a scraper opens a connection per scrape.
//!
//! Access: `/healthz` tells only whether the server serves, and answers anyone who
//! reaches the port. `/metrics` on the RESP port obeys the same rules as commands:
//! protected mode refuses remote peers before anything is read (as for any client),
//! and when `requirepass` is set the request must carry HTTP Basic credentials with
//! user `default` and that password (401 otherwise, counted in INFO
//! `acl_access_denied_auth`). The `metrics-port` is an explicit opt-in listener for a
//! scraper and asks for no credentials: it exposes aggregate figures only (counts,
//! memory, latencies, command names; never a key, value, client address or config
//! value), and it listens on `bind`'s addresses; firewall it like the RESP port.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use shoal_protocol::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::dispatch::TABLE;
use crate::metrics;
use crate::state::Shared;

/// The longest request head read (request line and headers).
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client has to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// A path Shoal serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/metrics`: the Prometheus text.
    Metrics,
    /// `/healthz`: 200 or 503.
    Health,
}

/// The route of a `GET <path> HTTP/1.x` request line parsed as inline arguments, if
/// it is one Shoal serves (a query string is ignored).
pub fn route(args: &Args<'_>) -> Option<Route> {
    if args.len() != 3 || !args[0].eq_ignore_ascii_case(b"GET") {
        return None;
    }
    let version = &args[2];
    if !(version.eq_ignore_ascii_case(b"HTTP/1.1") || version.eq_ignore_ascii_case(b"HTTP/1.0")) {
        return None;
    }
    path_route(&args[1])
}

fn path_route(target: &[u8]) -> Option<Route> {
    let path = target.split(|&b| b == b'?').next().unwrap_or(target);
    match path {
        b"/metrics" => Some(Route::Metrics),
        b"/healthz" => Some(Route::Health),
        _ => None,
    }
}

/// Answers `route` on a RESP-port connection whose request line was already parsed;
/// `rest` is what the connection had read after it. Returns why the connection closes.
pub async fn serve_resp_port(
    shared: &Shared,
    socket: &mut TcpStream,
    route: Route,
    rest: &[u8],
) -> io::Result<&'static str> {
    // The request line's own line end: a head without headers ends at once.
    let mut head = b"\r\n".to_vec();
    head.extend_from_slice(rest);
    let Some(headers_end) = read_head(socket, &mut head).await? else {
        respond(socket, 400, "text/plain", b"bad request\n").await?;
        return Ok("http: bad request");
    };
    let headers = &head[..headers_end];
    if route == Route::Metrics && shared.auth_required() && !authorized(shared, headers) {
        shared
            .stats
            .acl_access_denied_auth
            .fetch_add(1, Ordering::Relaxed);
        respond_with(
            socket,
            401,
            "text/plain",
            &[("WWW-Authenticate", "Basic realm=\"shoal\"")],
            b"unauthorized\n",
        )
        .await?;
        return Ok("http: unauthorized");
    }
    answer(shared, socket, route).await
}

/// Serves one connection of the `metrics-port`: an HTTP request for `/metrics` or
/// `/healthz`, anything else 404 (405 for another method).
pub async fn serve_metrics_port(shared: Arc<Shared>, mut socket: TcpStream) {
    let _ = socket.set_nodelay(true);
    let mut head = Vec::with_capacity(1024);
    let result = async {
        let Some(end) = read_head(&mut socket, &mut head).await? else {
            return respond(&mut socket, 400, "text/plain", b"bad request\n").await;
        };
        let line = head[..end].split(|&b| b == b'\n').next().unwrap_or(&[]);
        let mut words = line.trim_ascii().split(|&b| b == b' ');
        let (method, target) = (words.next().unwrap_or(&[]), words.next().unwrap_or(&[]));
        match path_route(target) {
            Some(_) if method != b"GET" => {
                respond(&mut socket, 405, "text/plain", b"method not allowed\n").await
            }
            Some(route) => answer(&shared, &mut socket, route).await.map(|_| ()),
            None => respond(&mut socket, 404, "text/plain", b"not found\n").await,
        }
    }
    .await;
    if let Err(e) = result {
        tracing::debug!(error = %e, "metrics-port connection error");
    }
}

/// Writes the response for `route`.
async fn answer(shared: &Shared, socket: &mut TcpStream, route: Route) -> io::Result<&'static str> {
    match route {
        Route::Metrics => {
            let body = metrics::render(shared, &TABLE);
            respond(socket, 200, metrics::CONTENT_TYPE, body.as_bytes()).await?;
            Ok("http: metrics")
        }
        Route::Health => {
            let (status, word) = metrics::health(shared);
            respond(socket, status, "text/plain", format!("{word}\n").as_bytes()).await?;
            Ok("http: healthz")
        }
    }
}

/// Reads into `head` until it holds a whole request head; the offset of its end
/// (after the blank line), or `None` when the client sends more than [`MAX_HEAD`],
/// stops, or is too slow.
async fn read_head(socket: &mut TcpStream, head: &mut Vec<u8>) -> io::Result<Option<usize>> {
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    loop {
        if let Some(end) = head_end(head) {
            return Ok(Some(end));
        }
        if head.len() >= MAX_HEAD {
            return Ok(None);
        }
        let mut buf = [0u8; 2048];
        let n = match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Ok(r) => r?,
            Err(_) => return Ok(None),
        };
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
    }
}

/// Where the head ends: after the first empty line (CRLF CRLF, or LF LF).
fn head_end(head: &[u8]) -> Option<usize> {
    let crlf = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = head.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether the head's `Authorization: Basic` credentials are user `default` with
/// `requirepass`.
fn authorized(shared: &Shared, head: &[u8]) -> bool {
    use base64::Engine as _;
    let password = shared.config.read().requirepass.clone();
    for line in head.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon].eq_ignore_ascii_case(b"authorization") {
            continue;
        }
        let value = line[colon + 1..].trim_ascii();
        if value.len() < 6 || !value[..6].eq_ignore_ascii_case(b"basic ") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value[6..].trim_ascii())
        else {
            return false;
        };
        let Some(sep) = decoded.iter().position(|&b| b == b':') else {
            return false;
        };
        let (user, pass) = (&decoded[..sep], &decoded[sep + 1..]);
        return user == b"default" && constant_time_eq(pass, password.as_bytes());
    }
    false
}

/// Compares without an early exit on the first difference (as Redis compares
/// passwords), so timing tells nothing about how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn respond(socket: &mut TcpStream, status: u16, ctype: &str, body: &[u8]) -> io::Result<()> {
    respond_with(socket, status, ctype, &[], body).await
}

/// Writes a whole HTTP/1.1 response and shuts the writing side down.
async fn respond_with(
    socket: &mut TcpStream,
    status: u16,
    ctype: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut response = head.into_bytes();
    response.extend_from_slice(body);
    socket.write_all(&response).await?;
    socket.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Option<Route> {
        let mut parser = shoal_protocol::RequestParser::new(Default::default());
        let input = format!("{line}\r\n");
        let (_, args) = parser.parse(input.as_bytes()).ok()??;
        route(&args)
    }

    #[test]
    fn only_get_of_the_two_paths_is_routed() {
        assert_eq!(parse("GET /metrics HTTP/1.1"), Some(Route::Metrics));
        assert_eq!(parse("get /healthz http/1.0"), Some(Route::Health));
        assert_eq!(parse("GET /metrics?x=1 HTTP/1.1"), Some(Route::Metrics));
        assert_eq!(parse("GET / HTTP/1.1"), None);
        assert_eq!(parse("POST /metrics HTTP/1.1"), None);
        assert_eq!(parse("GET /metrics HTTP/2"), None);
        assert_eq!(parse("GET /metrics"), None);
        assert_eq!(parse("GET /metricsx HTTP/1.1"), None);
    }

    #[test]
    fn head_ends_at_the_blank_line() {
        assert_eq!(head_end(b"Host: x\r\n\r\nrest"), Some(11));
        assert_eq!(head_end(b"Host: x\n\n"), Some(9));
        assert_eq!(head_end(b"Host: x\r\n"), None);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
