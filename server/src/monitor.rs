//! MONITOR: the clients that watch every command, and the line each command becomes.
//!
//! Dispatch calls [`Monitors::active`] (one relaxed load) after every command and
//! [`Monitors::feed`] only when someone monitors. The line is formatted once, as
//! Redis's `replicationFeedMonitors` writes it, and pushed to every monitor through its
//! connection's push queue ([`ClientInfo::push`]), so a monitor that does not read is
//! closed instead of growing the server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::RwLock;

use crate::client::ClientInfo;

/// Bytes of pushes a client may leave untaken before it is closed, unless changed
/// through [`Monitors::set_push_limit`] (32 MB, Redis's hard limit for the pub/sub
/// class, the closest to a monitor's stream).
pub const PUSH_LIMIT: usize = 32 * 1024 * 1024;

/// The monitoring clients, `Shared::monitors`.
pub struct Monitors {
    count: AtomicUsize,
    list: RwLock<Vec<Arc<ClientInfo>>>,
    push_limit: AtomicUsize,
}

impl Default for Monitors {
    fn default() -> Monitors {
        Monitors {
            count: AtomicUsize::new(0),
            list: RwLock::new(Vec::new()),
            push_limit: AtomicUsize::new(PUSH_LIMIT),
        }
    }
}

impl Monitors {
    /// Whether anyone monitors: the per-command check, one relaxed load.
    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// The client enters MONITOR mode.
    pub fn add(&self, info: Arc<ClientInfo>) {
        info.monitor.store(true, Ordering::Relaxed);
        let mut list = self.list.write();
        list.push(info);
        self.count.store(list.len(), Ordering::Relaxed);
    }

    /// The client leaves MONITOR mode (RESET, disconnection).
    pub fn remove(&self, id: u64) {
        let mut list = self.list.write();
        if let Some(i) = list.iter().position(|c| c.id == id) {
            list[i].monitor.store(false, Ordering::Relaxed);
            list.remove(i);
        }
        self.count.store(list.len(), Ordering::Relaxed);
    }

    /// Bytes of pushes a client may leave unread before it is closed.
    pub fn push_limit(&self) -> usize {
        self.push_limit.load(Ordering::Relaxed)
    }

    /// Changes [`Monitors::push_limit`] (embedders, tests).
    pub fn set_push_limit(&self, bytes: usize) {
        self.push_limit.store(bytes, Ordering::Relaxed);
    }

    /// Pushes the line of a command that ran in database `db` for the client at
    /// `addr` to every monitor.
    pub fn feed<'a, I>(&self, db: usize, addr: &SocketAddr, args: I)
    where
        I: IntoIterator<Item = &'a [u8]>,
        I::IntoIter: ExactSizeIterator,
    {
        let line = Bytes::from(format_line(SystemTime::now(), db, addr, args));
        let limit = self.push_limit();
        for m in self.list.read().iter() {
            m.push(line.clone(), limit);
        }
    }
}

/// `+<unix seconds>.<micros> [<db> <addr>] "arg" "arg"...\r\n`, arguments escaped as
/// Redis's `sdscatrepr`, credentials of AUTH and HELLO shown as `(redacted)`.
pub fn format_line<'a, I>(now: SystemTime, db: usize, addr: &SocketAddr, args: I) -> Vec<u8>
where
    I: IntoIterator<Item = &'a [u8]>,
    I::IntoIter: ExactSizeIterator,
{
    use std::io::Write;
    let t = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut out = Vec::with_capacity(64);
    let _ = write!(
        out,
        "+{}.{:06} [{} {}]",
        t.as_secs(),
        t.subsec_micros(),
        db,
        addr
    );
    let args = args.into_iter();
    let argc = args.len();
    let mut redact = Redact::None;
    for (i, arg) in args.enumerate() {
        out.push(b' ');
        if i == 0 {
            redact = Redact::for_command(arg, argc);
        }
        if redact.hides(i, arg) {
            out.extend_from_slice(b"\"(redacted)\"");
        } else {
            repr(&mut out, arg);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Which arguments of a command MONITOR must not show (Redis's
/// `redactClientCommandArgument` calls in AUTH and HELLO).
enum Redact {
    None,
    /// AUTH: every argument.
    All,
    /// HELLO: the two after each `AUTH` option; `next` is the index of the next option
    /// to look at (`usize::MAX` once an option was not understood, where Redis stops).
    Hello {
        argc: usize,
        next: usize,
        until: usize,
    },
}

impl Redact {
    fn for_command(name: &[u8], argc: usize) -> Redact {
        if name.eq_ignore_ascii_case(b"auth") {
            Redact::All
        } else if name.eq_ignore_ascii_case(b"hello") {
            Redact::Hello {
                argc,
                next: 2,
                until: 0,
            }
        } else {
            Redact::None
        }
    }

    /// Whether argument `i` (`arg`) is hidden; arguments come in order.
    fn hides(&mut self, i: usize, arg: &[u8]) -> bool {
        match self {
            Redact::None => false,
            Redact::All => i > 0,
            Redact::Hello { argc, next, until } => {
                if i < *until {
                    return true;
                }
                if i == *next {
                    let more = *argc - 1 - i;
                    if arg.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
                        *until = i + 3;
                        *next = i + 3;
                    } else if arg.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
                        *next = i + 2;
                    } else {
                        *next = usize::MAX;
                    }
                }
                false
            }
        }
    }
}

/// Appends `arg` quoted and escaped as Redis's `sdscatrepr`: `\\`, `\"`, `\n`, `\r`,
/// `\t`, `\a`, `\b`, printable ASCII as is, anything else as `\xhh`.
pub fn repr(out: &mut Vec<u8>, arg: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in arg {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn line(args: &[&[u8]]) -> String {
        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_042);
        let addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        String::from_utf8(format_line(t, 3, &addr, args.iter().copied())).unwrap()
    }

    #[test]
    fn formats_as_redis() {
        assert_eq!(
            line(&[b"set", b"k", b"a\x00b\"\\\n\r\t\x07\x08\xff \xe9"]),
            "+1700000000.000042 [3 127.0.0.1:5000] \"set\" \"k\" \"a\\x00b\\\"\\\\\\n\\r\\t\\a\\b\\xff \\xe9\"\r\n"
        );
        let v6: SocketAddr = "[::1]:7".parse().unwrap();
        let l = format_line(UNIX_EPOCH, 0, &v6, [&b"PING"[..]]);
        assert_eq!(l, b"+0.000000 [0 [::1]:7] \"PING\"\r\n");
    }

    #[test]
    fn redacts_credentials() {
        assert!(line(&[b"AUTH", b"pw"]).ends_with("\"AUTH\" \"(redacted)\"\r\n"));
        assert!(
            line(&[b"auth", b"u", b"pw"]).ends_with("\"auth\" \"(redacted)\" \"(redacted)\"\r\n")
        );
        assert!(
            line(&[b"hello", b"2", b"auth", b"default", b"x", b"setname", b"n"]).ends_with(
                "\"hello\" \"2\" \"auth\" \"(redacted)\" \"(redacted)\" \"setname\" \"n\"\r\n"
            )
        );
        assert!(
            line(&[b"hello", b"3", b"setname", b"auth", b"AUTH", b"u", b"p"]).ends_with(
                "\"hello\" \"3\" \"setname\" \"auth\" \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n"
            )
        );
        // Past an option Redis does not understand, nothing more is redacted (it stops).
        assert!(line(&[b"hello", b"3", b"bad", b"auth", b"u", b"p"])
            .ends_with("\"bad\" \"auth\" \"u\" \"p\"\r\n"));
        assert!(line(&[b"hello", b"3", b"auth", b"u"]).ends_with("\"auth\" \"u\"\r\n"));
        assert!(line(&[b"get", b"auth"]).ends_with("\"get\" \"auth\"\r\n"));
    }
}
