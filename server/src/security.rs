//! Defences against hostile clients that do not depend on any one command: the
//! cross-protocol check (a browser's HTTP request sent to the Redis port), protected
//! mode, failed-AUTH accounting, and the rate-limited log lines they write.
//!
//! The connection loop calls these; handlers only report a failed AUTH through
//! [`auth_failed`]. What an unauthenticated client can and cannot do is summed up in
//! the README's Security section.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use shoal_protocol::Args;

use crate::client::{is_local_addr, Client};
use crate::clock::now_ms;

/// Failed AUTH attempts a connection makes before each further failure costs a delay.
pub const AUTH_FREE_FAILURES: u32 = 3;
/// The delay after the first failure past [`AUTH_FREE_FAILURES`]; it doubles with each
/// further failure on the same connection, up to [`AUTH_MAX_DELAY`].
pub const AUTH_BASE_DELAY: Duration = Duration::from_millis(100);
/// The longest delay a failed AUTH costs.
pub const AUTH_MAX_DELAY: Duration = Duration::from_secs(5);

/// A log line that is written at most once per interval, whoever asks (lock-free).
pub struct RateLimited {
    last_ms: AtomicI64,
    interval_ms: i64,
}

impl RateLimited {
    /// A limiter letting one line through per `interval`.
    pub const fn new(interval: Duration) -> RateLimited {
        RateLimited {
            last_ms: AtomicI64::new(i64::MIN),
            interval_ms: interval.as_millis() as i64,
        }
    }

    /// Whether a line may be written now; at most one caller per interval gets `true`.
    pub fn allow(&self, now_ms: i64) -> bool {
        let last = self.last_ms.load(Ordering::Relaxed);
        if last != i64::MIN && now_ms.saturating_sub(last) < self.interval_ms {
            return false;
        }
        self.last_ms
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

/// The rate-limited log lines of one server.
pub struct SecurityLog {
    /// "Possible SECURITY ATTACK detected" (Redis: once a minute).
    pub cross_protocol: RateLimited,
    /// Failed AUTH attempts (once a second).
    pub auth_failure: RateLimited,
    /// accept() failing, e.g. out of file descriptors (once every 10 s).
    pub accept_error: RateLimited,
}

impl Default for SecurityLog {
    fn default() -> Self {
        SecurityLog {
            cross_protocol: RateLimited::new(Duration::from_secs(60)),
            auth_failure: RateLimited::new(Duration::from_secs(1)),
            accept_error: RateLimited::new(Duration::from_secs(10)),
        }
    }
}

/// HTTP methods a browser (or `curl`) starts a request with.
const HTTP_METHODS: &[&[u8]] = &[
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH",
];

/// Whether a command is part of a cross-protocol request and the connection must be
/// closed before anything runs: `POST` or `Host:` as the command name at any point
/// (Redis's check), or, as the connection's first command, an HTTP request line
/// (`<METHOD> <target> HTTP/<version>`, which an inline parse splits into three
/// arguments).
pub fn is_cross_protocol(args: &Args<'_>, first_command: bool) -> bool {
    let Some(name) = args.get(0) else {
        return false;
    };
    if name.eq_ignore_ascii_case(b"post") || name.eq_ignore_ascii_case(b"host:") {
        return true;
    }
    first_command
        && args.len() == 3
        && HTTP_METHODS.iter().any(|m| name.eq_ignore_ascii_case(m))
        && args[2].len() >= 5
        && args[2][..5].eq_ignore_ascii_case(b"HTTP/")
}

/// Logs Redis's warning for a cross-protocol request, at most once a minute.
pub fn log_cross_protocol(log: &SecurityLog, peer: std::net::SocketAddr) {
    if log.cross_protocol.allow(now_ms()) {
        tracing::warn!(
            client = %peer,
            "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted."
        );
    }
}

/// Whether protected mode refuses a client connecting from `peer`: protected mode is
/// on, no password is set (`auth_required` false), and the peer is not
/// `127.0.0.1`/`::1` (Redis 7.0's rule: the bind addresses do not matter).
pub fn protected_mode_refuses(protected_mode: bool, auth_required: bool, peer: IpAddr) -> bool {
    protected_mode && !auth_required && !is_local_addr(peer)
}

/// Warnings at start about who can reach an unprotected server.
pub fn warn_at_start(addrs: &[std::net::SocketAddr], protected_mode: bool, auth_required: bool) {
    let exposed: Vec<String> = addrs
        .iter()
        .filter(|a| !a.ip().is_loopback())
        .map(|a| a.to_string())
        .collect();
    if exposed.is_empty() || auth_required {
        return;
    }
    if protected_mode {
        tracing::warn!(
            addrs = ?exposed,
            "WARNING: no password is set and protected mode is on: clients connecting from anywhere but 127.0.0.1 or ::1 are refused. Set requirepass to serve them."
        );
    } else {
        tracing::warn!(
            addrs = ?exposed,
            "WARNING: no password is set and protected mode is off: anyone who can reach these addresses can run any command. Set requirepass."
        );
    }
}

/// Records a failed AUTH (AUTH or HELLO ... AUTH): counts it for INFO
/// `acl_access_denied_auth`, logs it at most once a second with the client's address,
/// and, past [`AUTH_FREE_FAILURES`] failures on this connection, makes the connection
/// wait before it runs anything else (see [`Client::penalty`]).
/// `denied` is the server's INFO counter.
pub fn auth_failed(log: &SecurityLog, denied: &AtomicU64, client: &mut Client) {
    let total = denied.fetch_add(1, Ordering::Relaxed) + 1;
    client.auth_failures = client.auth_failures.saturating_add(1);
    if log.auth_failure.allow(now_ms()) {
        tracing::warn!(
            client = %client.info.addr,
            failures_on_connection = client.auth_failures,
            total,
            "AUTH failed: invalid username-password pair"
        );
    }
    client.penalty = auth_delay(client.auth_failures);
}

/// The delay a connection waits after its `failures`-th failed AUTH: none for the
/// first [`AUTH_FREE_FAILURES`], then 100 ms, 200 ms, 400 ms... up to 5 s.
pub fn auth_delay(failures: u32) -> Option<Duration> {
    let past = failures.checked_sub(AUTH_FREE_FAILURES + 1)?;
    let factor = 1u32.checked_shl(past.min(16)).unwrap_or(u32::MAX);
    Some(
        AUTH_BASE_DELAY
            .checked_mul(factor)
            .unwrap_or(AUTH_MAX_DELAY)
            .min(AUTH_MAX_DELAY),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the inline request `line` is a cross-protocol request.
    fn check(line: &str, first_command: bool) -> bool {
        let mut parser = shoal_protocol::RequestParser::new(Default::default());
        let input = format!("{line}\r\n");
        let (_, args) = parser
            .parse(input.as_bytes())
            .expect("parses")
            .expect("complete");
        is_cross_protocol(&args, first_command)
    }

    #[test]
    fn cross_protocol_requests_are_recognised() {
        assert!(check("POST / HTTP/1.1", true));
        assert!(check("post", false));
        assert!(check("Host: localhost:6379", false));
        assert!(check("GET / HTTP/1.1", true));
        assert!(check("put /x http/1.0", true));
        // Later in a connection, GET with three arguments is an arity error, not HTTP.
        assert!(!check("GET / HTTP/1.1", false));
        assert!(!check("GET key", true));
        assert!(!check("SET a HTTP/1.1", true));
        assert!(!check("hostname", true));
    }

    #[test]
    fn auth_delay_grows_and_is_capped() {
        assert_eq!(auth_delay(0), None);
        assert_eq!(auth_delay(AUTH_FREE_FAILURES), None);
        assert_eq!(auth_delay(AUTH_FREE_FAILURES + 1), Some(AUTH_BASE_DELAY));
        assert_eq!(
            auth_delay(AUTH_FREE_FAILURES + 2),
            Some(AUTH_BASE_DELAY * 2)
        );
        assert_eq!(auth_delay(AUTH_FREE_FAILURES + 7), Some(AUTH_MAX_DELAY));
        assert_eq!(auth_delay(u32::MAX), Some(AUTH_MAX_DELAY));
    }

    #[test]
    fn rate_limited_lets_one_line_through_per_interval() {
        let r = RateLimited::new(Duration::from_secs(1));
        assert!(r.allow(10_000));
        assert!(!r.allow(10_500));
        assert!(!r.allow(10_999));
        assert!(r.allow(11_000));
        assert!(!r.allow(11_001));
    }
}
