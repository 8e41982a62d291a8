//! Minimal RESP reply parsing and request encoding, by hand.
//!
//! The load generator must stay cheaper than the server it drives, so this module does
//! the least work that is still correct: [`parse_reply`] walks one complete reply
//! (nested arrays included) without allocating and reports only its length in bytes and
//! the type of its outermost element; [`write_u64`] and the helpers encode request
//! arguments straight into the connection's output buffer.
//!
//! RESP2 is what Shoal and Redis speak by default (`+ - : $ *`, null bulk `$-1`, null
//! array `*-1`). The RESP3 types are understood too (`_ , # ( ! = % ~ > |`), so a server
//! that answers in RESP3 does not look like a protocol error.

use std::fmt;

/// Largest bulk length accepted from a server (Redis's `proto-max-bulk-len` default).
const MAX_BULK_LEN: i64 = 512 * 1024 * 1024;

/// The type of a reply's outermost element, as far as the load generator cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// `+OK`, and the RESP3 one-line types (double, boolean, big number).
    Simple,
    /// `-ERR ...` (or RESP3 blob error `!`).
    Error,
    /// `:123`.
    Integer,
    /// A non-null bulk string (`$`, or RESP3 verbatim `=`).
    Bulk,
    /// A null: `$-1`, `*-1` or RESP3 `_`.
    Null,
    /// An array, map, set or push, whatever it holds.
    Aggregate,
}

/// One complete reply found at the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Bytes the reply occupies, trailing `\r\n` included.
    pub len: usize,
    /// Type of the outermost element.
    pub kind: ReplyKind,
}

/// The server sent something that is not RESP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// An unknown type byte.
    UnknownType(u8),
    /// A length or integer that does not parse, or is out of range.
    InvalidNumber,
    /// A line or bulk payload not terminated by `\r\n`.
    MissingCrlf,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnknownType(b) => {
                write!(f, "protocol error: unknown reply type byte 0x{b:02x}")
            }
            ParseError::InvalidNumber => f.write_str("protocol error: invalid length or integer"),
            ParseError::MissingCrlf => f.write_str("protocol error: missing CRLF"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses one complete reply at the start of `buf`.
///
/// Returns `Ok(None)` when `buf` holds only part of a reply (read more and call again
/// with the same start), `Ok(Some(reply))` when a whole reply is there. Nested
/// aggregates are walked iteratively (a count of elements still expected), so a deep
/// nesting cannot overflow the stack.
pub fn parse_reply(buf: &[u8]) -> Result<Option<Reply>, ParseError> {
    let mut pos = 0usize;
    // Elements still to walk before the reply is complete.
    let mut remaining: u64 = 1;
    let mut top: Option<ReplyKind> = None;
    while remaining > 0 {
        let Some(&ty) = buf.get(pos) else {
            return Ok(None);
        };
        let Some(line_end) = find_crlf(buf, pos + 1)? else {
            return Ok(None);
        };
        let line = &buf[pos + 1..line_end];
        let next = line_end + 2;
        // The first element walked is the reply's outermost one, unless it is an
        // attribute: then the reply is the element after the attribute's contents, the
        // first one met while no other element is pending.
        let at_top = remaining == 1;
        remaining -= 1;
        let kind = match ty {
            b'+' | b',' | b'#' | b'(' => {
                pos = next;
                ReplyKind::Simple
            }
            b'-' => {
                pos = next;
                ReplyKind::Error
            }
            b':' => {
                parse_int(line)?;
                pos = next;
                ReplyKind::Integer
            }
            b'_' => {
                pos = next;
                ReplyKind::Null
            }
            b'$' | b'!' | b'=' => {
                let n = parse_int(line)?;
                if n == -1 && ty == b'$' {
                    pos = next;
                    ReplyKind::Null
                } else if !(0..=MAX_BULK_LEN).contains(&n) {
                    return Err(ParseError::InvalidNumber);
                } else {
                    let end = next + n as usize;
                    if buf.len() < end + 2 {
                        return Ok(None);
                    }
                    if &buf[end..end + 2] != b"\r\n" {
                        return Err(ParseError::MissingCrlf);
                    }
                    pos = end + 2;
                    if ty == b'!' {
                        ReplyKind::Error
                    } else {
                        ReplyKind::Bulk
                    }
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n = parse_int(line)?;
                pos = next;
                if n == -1 && ty == b'*' {
                    ReplyKind::Null
                } else if n < 0 {
                    return Err(ParseError::InvalidNumber);
                } else {
                    let n = n as u64;
                    let children = match ty {
                        b'%' => n * 2,
                        // An attribute is followed by the reply it annotates, and is
                        // not itself the reply.
                        b'|' => n * 2 + 1,
                        _ => n,
                    };
                    remaining = remaining
                        .checked_add(children)
                        .ok_or(ParseError::InvalidNumber)?;
                    if ty == b'|' {
                        continue;
                    }
                    ReplyKind::Aggregate
                }
            }
            other => return Err(ParseError::UnknownType(other)),
        };
        if at_top && top.is_none() {
            top = Some(kind);
        }
    }
    Ok(Some(Reply {
        len: pos,
        kind: top.unwrap_or(ReplyKind::Null),
    }))
}

/// Index of the `\r` of the first `\r\n` at or after `from`; `None` if not there yet.
fn find_crlf(buf: &[u8], from: usize) -> Result<Option<usize>, ParseError> {
    let Some(rest) = buf.get(from..) else {
        return Ok(None);
    };
    match rest.iter().position(|&b| b == b'\r') {
        None => Ok(None),
        Some(i) => match rest.get(i + 1) {
            None => Ok(None),
            Some(b'\n') => Ok(Some(from + i)),
            Some(_) => Err(ParseError::MissingCrlf),
        },
    }
}

/// Parses a RESP signed decimal integer.
fn parse_int(line: &[u8]) -> Result<i64, ParseError> {
    let (neg, digits) = match line.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, line),
    };
    if digits.is_empty() || digits.len() > 19 {
        return Err(ParseError::InvalidNumber);
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(ParseError::InvalidNumber);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(i64::from(d - b'0')))
            .ok_or(ParseError::InvalidNumber)?;
    }
    Ok(if neg { -n } else { n })
}

/// Appends the decimal form of `n` to `out`.
pub fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Number of decimal digits of `n`.
pub fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Appends one bulk-string argument (`$len\r\n<arg>\r\n`).
pub fn write_bulk(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'$');
    write_u64(out, arg.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

/// Appends an array header (`*n\r\n`).
pub fn write_array_header(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    write_u64(out, n as u64);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(buf: &[u8]) -> Reply {
        parse_reply(buf).unwrap().unwrap()
    }

    #[test]
    fn simple_types() {
        assert_eq!(
            ok(b"+OK\r\n"),
            Reply {
                len: 5,
                kind: ReplyKind::Simple
            }
        );
        assert_eq!(
            ok(b"-ERR no\r\nrest"),
            Reply {
                len: 9,
                kind: ReplyKind::Error
            }
        );
        assert_eq!(
            ok(b":-42\r\n"),
            Reply {
                len: 6,
                kind: ReplyKind::Integer
            }
        );
        assert_eq!(
            ok(b"_\r\n"),
            Reply {
                len: 3,
                kind: ReplyKind::Null
            }
        );
    }

    #[test]
    fn bulks() {
        assert_eq!(
            ok(b"$3\r\nfoo\r\n"),
            Reply {
                len: 9,
                kind: ReplyKind::Bulk
            }
        );
        assert_eq!(
            ok(b"$0\r\n\r\n"),
            Reply {
                len: 6,
                kind: ReplyKind::Bulk
            }
        );
        assert_eq!(
            ok(b"$-1\r\n+OK\r\n"),
            Reply {
                len: 5,
                kind: ReplyKind::Null
            }
        );
        // A payload may contain CR LF.
        assert_eq!(
            ok(b"$4\r\na\r\nb\r\n"),
            Reply {
                len: 10,
                kind: ReplyKind::Bulk
            }
        );
    }

    #[test]
    fn nested_arrays() {
        let buf = b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n*0\r\n+next\r\n";
        assert_eq!(
            ok(buf),
            Reply {
                len: buf.len() - 7,
                kind: ReplyKind::Aggregate
            }
        );
        assert_eq!(
            ok(b"*-1\r\n"),
            Reply {
                len: 5,
                kind: ReplyKind::Null
            }
        );
        assert_eq!(ok(b"%1\r\n+a\r\n:1\r\n").len, 12);
        // An attribute annotates the reply that follows it.
        assert_eq!(
            ok(b"|1\r\n+k\r\n+v\r\n:7\r\n"),
            Reply {
                len: 16,
                kind: ReplyKind::Integer
            }
        );
    }

    #[test]
    fn incomplete_at_every_split() {
        let buf = b"*2\r\n$5\r\nhello\r\n*1\r\n-ERR x\r\n";
        for cut in 0..buf.len() {
            assert_eq!(parse_reply(&buf[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(ok(buf).len, buf.len());
    }

    #[test]
    fn errors() {
        assert_eq!(parse_reply(b"?x\r\n"), Err(ParseError::UnknownType(b'?')));
        assert_eq!(parse_reply(b"$x\r\n"), Err(ParseError::InvalidNumber));
        assert_eq!(parse_reply(b"$-2\r\n"), Err(ParseError::InvalidNumber));
        assert_eq!(parse_reply(b"$1\r\nab\r\n"), Err(ParseError::MissingCrlf));
        assert_eq!(parse_reply(b"+OK\rx"), Err(ParseError::MissingCrlf));
        assert_eq!(parse_reply(b":\r\n"), Err(ParseError::InvalidNumber));
        assert_eq!(parse_reply(b"*-5\r\n"), Err(ParseError::InvalidNumber));
    }

    #[test]
    fn encoding() {
        let mut out = Vec::new();
        write_array_header(&mut out, 2);
        write_bulk(&mut out, b"GET");
        write_bulk(&mut out, b"k");
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        for n in [0u64, 9, 10, 99, 100, 12345, u64::MAX] {
            let mut s = Vec::new();
            write_u64(&mut s, n);
            assert_eq!(s, n.to_string().as_bytes());
            assert_eq!(decimal_len(n), s.len());
        }
    }
}
