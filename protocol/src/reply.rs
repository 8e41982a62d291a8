//! Reply encoding: RESP2 and RESP3 values appended to one output buffer.
//!
//! Handlers write replies straight into the connection's [`ReplyBuf`]; a
//! pipelined batch therefore ends up as one contiguous buffer and one write.
//! Every writer appends exactly one value (or one aggregate header) and never
//! allocates except to grow the buffer. Type-dependent downgrades (a RESP3 map
//! becomes a flat RESP2 array, a double becomes a bulk string, ...) happen
//! here, once, following Redis's `addReply*` functions, so handlers never
//! branch on the protocol version.

use std::fmt::{self, Write as _};

use crate::request::ProtocolError;

/// The protocol version negotiated with `HELLO` (RESP2 until `HELLO 3`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub enum Proto {
    /// RESP2, the default.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

/// The aggregate types that [`ReplyBuf::aggregate`] and deferred headers can
/// write.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Aggregate {
    /// `*n` in both protocols.
    Array,
    /// `%n` in RESP3; `*2n` in RESP2 (`n` is the number of pairs).
    Map,
    /// `~n` in RESP3; `*n` in RESP2.
    Set,
    /// `>n` in RESP3; `*n` in RESP2.
    Push,
}

/// An aggregate header whose element count is not known yet; see
/// [`ReplyBuf::deferred`].
#[must_use = "a deferred header must be completed with ReplyBuf::finish_deferred"]
#[derive(Debug, PartialEq, Eq)]
pub struct Deferred {
    pos: usize,
    kind: Aggregate,
}

impl Deferred {
    /// Offset in the buffer where the header will be inserted.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The kind of aggregate.
    pub fn kind(&self) -> Aggregate {
        self.kind
    }
}

/// A connection's output buffer plus the protocol its replies are encoded in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplyBuf {
    /// Encoding of the values written from now on.
    pub proto: Proto,
    buf: Vec<u8>,
}

const CRLF: &[u8] = b"\r\n";

impl ReplyBuf {
    /// An empty buffer.
    pub fn new(proto: Proto) -> Self {
        ReplyBuf {
            proto,
            buf: Vec::new(),
        }
    }

    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(proto: Proto, capacity: usize) -> Self {
        ReplyBuf {
            proto,
            buf: Vec::with_capacity(capacity),
        }
    }

    /// The encoded bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Number of encoded bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing is buffered.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Current capacity of the underlying buffer.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Reserves room for `additional` more bytes.
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }

    /// Empties the buffer, keeping its capacity.
    #[inline]
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Drops everything after the first `len` bytes (e.g. to discard a
    /// partially written reply: remember `len()` before, truncate on error).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Removes the first `n` bytes (those a partial socket write sent).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
    }

    /// Takes the encoded bytes out, leaving the buffer empty (and without
    /// capacity).
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// The underlying vector, e.g. to hand it to a writer and get it back.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    /// Mutable access to the raw buffer. Whatever is written must be valid
    /// RESP for the connection's protocol.
    pub fn as_mut_vec(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Appends already-encoded RESP verbatim.
    #[inline]
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }

    #[inline]
    fn header(&mut self, prefix: u8, n: usize) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(n).as_bytes();
        self.buf.reserve(digits.len() + 3);
        self.buf.push(prefix);
        self.buf.extend_from_slice(digits);
        self.buf.extend_from_slice(CRLF);
    }

    /// Appends `prefix`, then `text` with CR and LF replaced by spaces (so it
    /// cannot break the line-oriented framing), then CRLF.
    #[inline]
    fn line(&mut self, prefix: &[u8], text: &[u8]) {
        self.buf.reserve(prefix.len() + text.len() + 2);
        self.buf.extend_from_slice(prefix);
        let start = self.buf.len();
        self.buf.extend_from_slice(text);
        if let Some(tail) = self.buf.get_mut(start..) {
            for b in tail {
                if *b == b'\r' || *b == b'\n' {
                    *b = b' ';
                }
            }
        }
        self.buf.extend_from_slice(CRLF);
    }

    /// Simple string `+text` (CR/LF inside `text` become spaces).
    #[inline]
    pub fn simple(&mut self, text: &[u8]) {
        self.line(b"+", text);
    }

    /// [`simple`](Self::simple) for a `&str`.
    #[inline]
    pub fn simple_str(&mut self, text: &str) {
        self.simple(text.as_bytes());
    }

    /// `+OK`.
    #[inline]
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// Error `-text`, where `text` starts with the error code (`ERR ...`,
    /// `WRONGTYPE ...`). CR/LF inside become spaces, as Redis does.
    #[inline]
    pub fn error(&mut self, text: &[u8]) {
        self.line(b"-", text);
    }

    /// [`error`](Self::error) for a `&str`.
    #[inline]
    pub fn error_str(&mut self, text: &str) {
        self.error(text.as_bytes());
    }

    /// The reply Redis sends for a fatal protocol error:
    /// `-ERR Protocol error: ...` (Redis's `addReplyError` adds the `ERR`
    /// code). Close the connection after flushing it.
    pub fn protocol_error(&mut self, err: &ProtocolError) {
        self.line(b"-ERR ", err.as_str().as_bytes());
    }

    /// Integer `:n`.
    #[inline]
    pub fn int(&mut self, n: i64) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(n).as_bytes();
        self.buf.reserve(digits.len() + 3);
        self.buf.push(b':');
        self.buf.extend_from_slice(digits);
        self.buf.extend_from_slice(CRLF);
    }

    /// Bulk string `$len\r\nbytes\r\n`.
    #[inline]
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.header(b'$', bytes.len());
        self.buf.reserve(bytes.len() + 2);
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(CRLF);
    }

    /// [`bulk`](Self::bulk) for a `&str`.
    #[inline]
    pub fn bulk_str(&mut self, text: &str) {
        self.bulk(text.as_bytes());
    }

    /// An integer formatted as a bulk string (`INCRBYFLOAT`-style replies,
    /// `CONFIG GET` values, ...).
    #[inline]
    pub fn bulk_int(&mut self, n: i64) {
        let mut digits = itoa::Buffer::new();
        self.bulk(digits.format(n).as_bytes());
    }

    /// The null reply: RESP2 null bulk `$-1`, RESP3 `_`.
    #[inline]
    pub fn null(&mut self) {
        self.buf.extend_from_slice(match self.proto {
            Proto::Resp2 => b"$-1\r\n",
            Proto::Resp3 => b"_\r\n",
        });
    }

    /// The null array reply (e.g. `BLPOP` timeout): RESP2 `*-1`, RESP3 `_`.
    #[inline]
    pub fn null_array(&mut self) {
        self.buf.extend_from_slice(match self.proto {
            Proto::Resp2 => b"*-1\r\n",
            Proto::Resp3 => b"_\r\n",
        });
    }

    /// Header of an aggregate of `n` elements (`n` pairs for a map).
    #[inline]
    pub fn aggregate(&mut self, kind: Aggregate, n: usize) {
        match (kind, self.proto) {
            (Aggregate::Array, _) => self.header(b'*', n),
            (Aggregate::Map, Proto::Resp3) => self.header(b'%', n),
            (Aggregate::Map, Proto::Resp2) => self.header(b'*', n.saturating_mul(2)),
            (Aggregate::Set, Proto::Resp3) => self.header(b'~', n),
            (Aggregate::Push, Proto::Resp3) => self.header(b'>', n),
            (Aggregate::Set | Aggregate::Push, Proto::Resp2) => self.header(b'*', n),
        }
    }

    /// Array header `*n`; follow it with `n` values.
    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n);
    }

    /// Map header for `n` key/value pairs: RESP3 `%n`, RESP2 `*2n`; follow
    /// it with `2n` values, key first.
    #[inline]
    pub fn map(&mut self, n: usize) {
        self.aggregate(Aggregate::Map, n);
    }

    /// Set header: RESP3 `~n`, RESP2 `*n`.
    #[inline]
    pub fn set(&mut self, n: usize) {
        self.aggregate(Aggregate::Set, n);
    }

    /// Push header (pub/sub messages): RESP3 `>n`, RESP2 `*n`.
    #[inline]
    pub fn push(&mut self, n: usize) {
        self.aggregate(Aggregate::Push, n);
    }

    /// Starts an aggregate whose element count is known only after its
    /// elements are written (`KEYS`, `SCAN`, `COMMAND`). Write the elements,
    /// then call [`finish_deferred`](Self::finish_deferred) with the count.
    ///
    /// Design: nothing is written now; `finish_deferred` formats the header
    /// and inserts it at the remembered offset, shifting the elements written
    /// since (one `memmove` of this reply's bytes, no allocation beyond
    /// growth). A fixed-width placeholder would avoid the shift but needs
    /// zero- or space-padded lengths, which RESP does not allow. Deferred
    /// headers may nest; finish the inner one first (LIFO).
    #[inline]
    pub fn deferred(&mut self, kind: Aggregate) -> Deferred {
        Deferred {
            pos: self.buf.len(),
            kind,
        }
    }

    /// [`deferred`](Self::deferred) array.
    #[inline]
    pub fn deferred_array(&mut self) -> Deferred {
        self.deferred(Aggregate::Array)
    }

    /// [`deferred`](Self::deferred) map (`n` = pairs at finish).
    #[inline]
    pub fn deferred_map(&mut self) -> Deferred {
        self.deferred(Aggregate::Map)
    }

    /// [`deferred`](Self::deferred) set.
    #[inline]
    pub fn deferred_set(&mut self) -> Deferred {
        self.deferred(Aggregate::Set)
    }

    /// Inserts the header of `d` with `n` elements (pairs for a map) before
    /// the elements written since [`deferred`](Self::deferred). If the buffer
    /// was truncated below the deferred position meanwhile, the header goes
    /// at the end.
    pub fn finish_deferred(&mut self, d: Deferred, n: usize) {
        let pos = d.pos.min(self.buf.len());
        let before = self.buf.len();
        self.aggregate(d.kind, n);
        let header_len = self.buf.len() - before;
        if let Some(tail) = self.buf.get_mut(pos..) {
            tail.rotate_right(header_len);
        }
    }

    /// Double: RESP3 `,repr`, RESP2 bulk string `repr`. `repr` is `inf`,
    /// `-inf`, `nan`, or the shortest decimal that parses back to the same
    /// value, laid out like C's `%.17g` (`3.5`, `10`, `0.1`, `1e+300`,
    /// `1.5e-07`); the same text Redis 7.2+ produces for most values (7.0
    /// printed all 17 digits, e.g. `0.10000000000000001`).
    pub fn double(&mut self, d: f64) {
        let mut repr = StackBuf::new();
        format_double(d, &mut repr);
        match self.proto {
            Proto::Resp2 => self.bulk(repr.as_bytes()),
            Proto::Resp3 => {
                self.buf.push(b',');
                self.buf.extend_from_slice(repr.as_bytes());
                self.buf.extend_from_slice(CRLF);
            }
        }
    }

    /// Boolean: RESP3 `#t`/`#f`, RESP2 integer `1`/`0`.
    #[inline]
    pub fn boolean(&mut self, b: bool) {
        self.buf.extend_from_slice(match (self.proto, b) {
            (Proto::Resp3, true) => b"#t\r\n",
            (Proto::Resp3, false) => b"#f\r\n",
            (Proto::Resp2, true) => b":1\r\n",
            (Proto::Resp2, false) => b":0\r\n",
        });
    }

    /// Verbatim string: RESP3 `=len\r\nfmt:text\r\n` (`fmt` is `txt` or
    /// `mkd`), RESP2 plain bulk string of `text`.
    pub fn verbatim(&mut self, format: &[u8; 3], text: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(text),
            Proto::Resp3 => {
                self.header(b'=', text.len().saturating_add(4));
                self.buf.reserve(text.len() + 6);
                self.buf.extend_from_slice(format);
                self.buf.push(b':');
                self.buf.extend_from_slice(text);
                self.buf.extend_from_slice(CRLF);
            }
        }
    }

    /// Big number: RESP3 `(digits`, RESP2 bulk string.
    pub fn big_number(&mut self, digits: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(digits),
            Proto::Resp3 => self.line(b"(", digits),
        }
    }
}

impl AsRef<[u8]> for ReplyBuf {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

/// Fixed-size `fmt::Write` target, so formatting a double allocates nothing.
struct StackBuf {
    bytes: [u8; 48],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            bytes: [0; 48],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes `d` as described on [`ReplyBuf::double`].
///
/// Rust's `{:e}` yields the shortest round-trip digits (`1.5e-7`); they are
/// then laid out the way `%.17g` would lay out that digit string: plain
/// notation when the decimal exponent is in `-4..17`, else `d.ddde±XX` with
/// at least two exponent digits.
fn format_double(d: f64, out: &mut StackBuf) {
    if d.is_nan() {
        out.extend(b"nan");
        return;
    }
    if d.is_infinite() {
        out.extend(if d > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    let mut sci = StackBuf::new();
    // Cannot fail: the longest f64 `{:e}` is 24 bytes.
    let _ = write!(sci, "{d:e}");
    let sci = sci.as_bytes();
    let (negative, sci) = match sci.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, sci),
    };
    let (mantissa, exponent) = match sci.iter().position(|&b| b == b'e') {
        Some(e) => (
            sci.get(..e).unwrap_or_default(),
            sci.get(e + 1..).unwrap_or_default(),
        ),
        None => (sci, &b"0"[..]),
    };
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if let Some(slot) = digits.get_mut(n) {
            *slot = b;
            n += 1;
        }
    }
    let digits = digits.get(..n.max(1)).unwrap_or(b"0");
    let (exp_negative, exp_digits) = match exponent.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, exponent),
    };
    let magnitude = exp_digits.iter().fold(0i32, |acc, &b| {
        acc.saturating_mul(10)
            .saturating_add(i32::from(b.wrapping_sub(b'0')))
    });
    let exp = if exp_negative { -magnitude } else { magnitude };

    if negative {
        out.push(b'-');
    }
    let (head, rest) = digits.split_at(1);
    if !(-4..17).contains(&exp) {
        out.extend(head);
        if !rest.is_empty() {
            out.push(b'.');
            out.extend(rest);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let mut buf = itoa::Buffer::new();
        let abs = buf.format(exp.unsigned_abs()).as_bytes();
        if abs.len() < 2 {
            out.push(b'0');
        }
        out.extend(abs);
    } else if exp >= 0 {
        let int_len = exp.unsigned_abs() as usize + 1;
        if digits.len() <= int_len {
            out.extend(digits);
            for _ in digits.len()..int_len {
                out.push(b'0');
            }
        } else {
            let (int_part, frac) = digits.split_at(int_len);
            out.extend(int_part);
            out.push(b'.');
            out.extend(frac);
        }
    } else {
        out.extend(b"0.");
        for _ in 1..exp.unsigned_abs() {
            out.push(b'0');
        }
        out.extend(digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(proto: Proto, f: impl FnOnce(&mut ReplyBuf)) -> String {
        let mut r = ReplyBuf::new(proto);
        f(&mut r);
        String::from_utf8(r.as_bytes().to_vec()).unwrap()
    }

    fn both(f: impl Fn(&mut ReplyBuf)) -> (String, String) {
        (enc(Proto::Resp2, &f), enc(Proto::Resp3, &f))
    }

    fn repr(d: f64) -> String {
        let mut s = StackBuf::new();
        format_double(d, &mut s);
        String::from_utf8(s.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn scalars() {
        assert_eq!(both(|r| r.ok()), ("+OK\r\n".into(), "+OK\r\n".into()));
        assert_eq!(enc(Proto::Resp2, |r| r.simple(b"PONG")), "+PONG\r\n");
        assert_eq!(enc(Proto::Resp2, |r| r.simple_str("a\r\nb")), "+a  b\r\n");
        assert_eq!(
            enc(Proto::Resp2, |r| r.error(b"ERR bad\r\nthing\n")),
            "-ERR bad  thing \r\n"
        );
        assert_eq!(
            enc(Proto::Resp3, |r| r.error_str("WRONGTYPE x")),
            "-WRONGTYPE x\r\n"
        );
        assert_eq!(enc(Proto::Resp2, |r| r.int(-42)), ":-42\r\n");
        assert_eq!(
            enc(Proto::Resp2, |r| r.int(i64::MIN)),
            ":-9223372036854775808\r\n"
        );
        assert_eq!(enc(Proto::Resp2, |r| r.bulk(b"a\r\nb")), "$4\r\na\r\nb\r\n");
        assert_eq!(enc(Proto::Resp2, |r| r.bulk(b"")), "$0\r\n\r\n");
        assert_eq!(enc(Proto::Resp2, |r| r.bulk_str("hé")), "$3\r\nhé\r\n");
        assert_eq!(enc(Proto::Resp2, |r| r.bulk_int(-17)), "$3\r\n-17\r\n");
        assert_eq!(both(|r| r.null()), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|r| r.null_array()), ("*-1\r\n".into(), "_\r\n".into()));
        assert_eq!(
            both(|r| r.boolean(true)),
            (":1\r\n".into(), "#t\r\n".into())
        );
        assert_eq!(
            both(|r| r.boolean(false)),
            (":0\r\n".into(), "#f\r\n".into())
        );
        assert_eq!(
            both(|r| r.double(3.5)),
            ("$3\r\n3.5\r\n".into(), ",3.5\r\n".into())
        );
        assert_eq!(
            both(|r| r.double(f64::NEG_INFINITY)),
            ("$4\r\n-inf\r\n".into(), ",-inf\r\n".into())
        );
        assert_eq!(
            both(|r| r.verbatim(b"txt", b"hi\nthere")),
            (
                "$8\r\nhi\nthere\r\n".into(),
                "=12\r\ntxt:hi\nthere\r\n".into()
            )
        );
        assert_eq!(
            both(|r| r.big_number(b"123456789012345678901234567890")),
            (
                "$30\r\n123456789012345678901234567890\r\n".into(),
                "(123456789012345678901234567890\r\n".into()
            )
        );
        let e = ProtocolError("Protocol error: invalid bulk length".into());
        assert_eq!(
            enc(Proto::Resp2, |r| r.protocol_error(&e)),
            "-ERR Protocol error: invalid bulk length\r\n"
        );
    }

    #[test]
    fn aggregates() {
        assert_eq!(both(|r| r.array(3)), ("*3\r\n".into(), "*3\r\n".into()));
        assert_eq!(both(|r| r.map(2)), ("*4\r\n".into(), "%2\r\n".into()));
        assert_eq!(both(|r| r.set(5)), ("*5\r\n".into(), "~5\r\n".into()));
        assert_eq!(both(|r| r.push(3)), ("*3\r\n".into(), ">3\r\n".into()));
        assert_eq!(
            both(|r| r.aggregate(Aggregate::Array, 0)),
            ("*0\r\n".into(), "*0\r\n".into())
        );
    }

    #[test]
    fn deferred_headers_nest() {
        let (r2, r3) = both(|r| {
            r.ok();
            let outer = r.deferred_map();
            for i in 0..12 {
                r.bulk_int(i);
                let inner = r.deferred_set();
                for j in 0..i {
                    r.int(j);
                }
                r.finish_deferred(inner, i as usize);
            }
            r.finish_deferred(outer, 12);
            let empty = r.deferred_array();
            r.finish_deferred(empty, 0);
        });
        let mut want2 = String::from("+OK\r\n*24\r\n");
        let mut want3 = String::from("+OK\r\n%12\r\n");
        for i in 0..12 {
            let head = format!("${}\r\n{i}\r\n", i.to_string().len());
            want2 += &format!("{head}*{i}\r\n");
            want3 += &format!("{head}~{i}\r\n");
            for j in 0..i {
                want2 += &format!(":{j}\r\n");
                want3 += &format!(":{j}\r\n");
            }
        }
        want2 += "*0\r\n";
        want3 += "*0\r\n";
        assert_eq!((r2, r3), (want2, want3));
    }

    #[test]
    fn deferred_survives_truncation() {
        let mut r = ReplyBuf::new(Proto::Resp2);
        r.ok();
        let d = r.deferred_array();
        assert_eq!((d.position(), d.kind()), (5, Aggregate::Array));
        r.bulk(b"x");
        r.truncate(2);
        r.finish_deferred(d, 1);
        assert_eq!(r.as_bytes(), b"+O*1\r\n");
    }

    #[test]
    fn buffer_management() {
        let mut r = ReplyBuf::with_capacity(Proto::Resp3, 64);
        assert!(r.is_empty() && r.capacity() >= 64);
        r.int(1);
        r.raw(b":2\r\n");
        assert_eq!(r.len(), 8);
        r.consume(4);
        assert_eq!(r.as_ref(), b":2\r\n");
        r.consume(100);
        assert!(r.is_empty());
        r.int(3);
        r.as_mut_vec().extend_from_slice(b":4\r\n");
        assert_eq!(r.take(), b":3\r\n:4\r\n");
        assert!(r.is_empty());
        r.reserve(10);
        r.int(5);
        let snapshot = r.clone();
        r.clear();
        assert!(r.is_empty());
        assert_eq!(snapshot.into_vec(), b":5\r\n");
        assert_eq!(ReplyBuf::default().proto, Proto::Resp2);
    }

    #[test]
    fn double_repr() {
        for (d, want) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (10.0, "10"),
            (-3.5, "-3.5"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123456.789, "123456.789"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e16, "10000000000000000"),
            (1.2345e16, "12345000000000000"),
            (1e17, "1e+17"),
            (1.5e17, "1.5e+17"),
            (1e300, "1e+300"),
            (-1e-300, "-1e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (9007199254740993.0, "9007199254740992"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(repr(d), want, "{d:?}");
        }
    }
}
