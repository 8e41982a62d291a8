//! Request parsing: RESP multibulk (`*N\r\n$len\r\narg\r\n...`) and inline
//! (`SET k "v"\n`) commands, resumable across partial reads.
//!
//! The parser mirrors Redis 7.0 `processMultibulkBuffer` /
//! `processInlineBuffer` (networking.c) decision for decision, including the
//! exact error texts, so clients and test suites that probe edge cases see
//! the same behaviour. The few places where it deliberately differs are
//! listed on [`RequestParser`].

use std::fmt;
use std::ops::Index;

/// Redis's unauthenticated caps (`networking.c`, since 6.2/7.0): a client
/// that has not authenticated may not announce more than 10 arguments ...
const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// ... nor a bulk longer than 16 KiB.
const UNAUTH_MAX_BULK: usize = 16 * 1024;
/// Initial capacity reserved for the argument table of one command, whatever
/// count the client announces: the table grows with the arguments that really
/// arrive, never with what an attacker declares.
const MAX_PREALLOC_ARGS: usize = 1024;
/// An argument table grown past this many entries (by a huge `MSET`) is
/// shrunk back before the next command.
const SHRINK_ARGS_ABOVE: usize = 64 * 1024;

/// Per-connection protocol limits (`proto-max-bulk-len` and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted bulk argument (`proto-max-bulk-len`, 512 MiB).
    pub max_bulk_len: usize,
    /// Largest accepted argument count (Redis rejects `ll > INT_MAX`).
    pub max_multibulk_len: usize,
    /// Longest inline line, and longest `*N` / `$N` header line, before the
    /// terminator (`PROTO_INLINE_MAX_SIZE`, 64 KiB).
    pub max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            max_inline_len: 64 * 1024,
        }
    }
}

/// A fatal protocol error. The text is Redis's, without the error code, the
/// leading `-` or the trailing CRLF (e.g. `Protocol error: invalid bulk
/// length`). Redis replies `-ERR <text>\r\n` (see
/// [`ReplyBuf::protocol_error`](crate::ReplyBuf::protocol_error)) and closes
/// the connection after flushing that reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(text: &str) -> Self {
        ProtocolError(text.to_owned())
    }

    fn expected_dollar(got: u8) -> Self {
        // Redis formats the byte with %c and then maps CR/LF to spaces.
        let got = match got {
            b'\r' | b'\n' => ' ',
            b => char::from(b),
        };
        ProtocolError(format!("Protocol error: expected '$', got '{got}'"))
    }

    /// The error text (same as `.0`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// Half-open byte range of one argument inside its source buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

/// The arguments of one parsed command: zero-copy views into the request
/// buffer (multibulk) or into the parser's scratch buffer (inline). Cheap to
/// copy; borrows both the buffer and the parser until dropped.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    src: &'a [u8],
    spans: &'a [Span],
}

impl<'a> Args<'a> {
    /// Number of arguments, command name included. May be 0 (empty inline
    /// line, `*0`, `*-1`): the caller skips such commands, as Redis does.
    #[inline]
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there is nothing to execute.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Argument `i` (0 = command name), or `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let span = self.spans.get(i)?;
        self.src.get(span.start..span.end)
    }

    /// Iterates over the arguments in order.
    #[inline]
    pub fn iter(&self) -> ArgsIter<'a> {
        ArgsIter {
            src: self.src,
            spans: self.spans.iter(),
        }
    }

    /// Owned copy of every argument (tests, logging, MULTI queues).
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }
}

impl Index<usize> for Args<'_> {
    type Output = [u8];

    /// Panics when `i >= len()`, like slice indexing; use [`Args::get`] on
    /// untrusted indices.
    #[inline]
    fn index(&self, i: usize) -> &[u8] {
        match self.get(i) {
            Some(arg) => arg,
            None => panic!(
                "argument index {i} out of range for {} arguments",
                self.len()
            ),
        }
    }
}

impl fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|a| a.escape_ascii().to_string()))
            .finish()
    }
}

impl<'a> IntoIterator for Args<'a> {
    type Item = &'a [u8];
    type IntoIter = ArgsIter<'a>;

    fn into_iter(self) -> ArgsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Args<'a> {
    type Item = &'a [u8];
    type IntoIter = ArgsIter<'a>;

    fn into_iter(self) -> ArgsIter<'a> {
        self.iter()
    }
}

/// An owned copy of a command's arguments in one buffer (a MULTI queue keeps its
/// commands this way): two allocations per command, whatever its argument count.
#[derive(Clone, Default)]
pub struct OwnedArgs {
    buf: Vec<u8>,
    spans: Vec<Span>,
}

impl OwnedArgs {
    /// Copies `args`.
    pub fn new(args: &Args<'_>) -> OwnedArgs {
        let total = args.iter().map(<[u8]>::len).sum();
        let mut buf = Vec::with_capacity(total);
        let mut spans = Vec::with_capacity(args.len());
        for a in args {
            let start = buf.len();
            buf.extend_from_slice(a);
            spans.push(Span {
                start,
                end: buf.len(),
            });
        }
        OwnedArgs { buf, spans }
    }

    /// Builds arguments from owned parts (a script's `redis.call`).
    pub fn from_parts<'p>(parts: impl IntoIterator<Item = &'p [u8]>) -> OwnedArgs {
        let mut out = OwnedArgs::default();
        for a in parts {
            out.push(a);
        }
        out
    }

    /// Forgets the arguments, keeping the buffers (to build the next command in).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.spans.clear();
    }

    /// Appends one argument.
    pub fn push(&mut self, arg: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(arg);
        self.spans.push(Span {
            start,
            end: self.buf.len(),
        });
    }

    /// The arguments, borrowed.
    #[inline]
    pub fn args(&self) -> Args<'_> {
        Args {
            src: &self.buf,
            spans: &self.spans,
        }
    }

    /// Bytes held (arguments and their spans).
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.spans.capacity() * std::mem::size_of::<Span>()
    }
}

impl fmt::Debug for OwnedArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.args().fmt(f)
    }
}

/// Iterator over [`Args`].
#[derive(Clone, Debug)]
pub struct ArgsIter<'a> {
    src: &'a [u8],
    spans: std::slice::Iter<'a, Span>,
}

impl<'a> Iterator for ArgsIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let span = self.spans.next()?;
        // Spans are always in range; `unwrap_or_default` keeps this panic-free.
        Some(self.src.get(span.start..span.end).unwrap_or_default())
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl<'a> DoubleEndedIterator for ArgsIter<'a> {
    #[inline]
    fn next_back(&mut self) -> Option<&'a [u8]> {
        let span = self.spans.next_back()?;
        Some(self.src.get(span.start..span.end).unwrap_or_default())
    }
}

impl ExactSizeIterator for ArgsIter<'_> {}
impl std::iter::FusedIterator for ArgsIter<'_> {}

/// Where the parser stopped inside the current (incomplete) command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Nothing of the current command has been looked at.
    Start,
    /// Inline command: searching for `\n`; `scan` bytes already searched.
    Inline,
    /// Multibulk: searching for the `\r` that ends `*N`; resume at `scan`.
    Count,
    /// Multibulk: expecting a `$len` header at `pos`; resume search at `scan`.
    BulkHeader,
    /// Multibulk: the payload of `len` bytes (+2 for CRLF) starts at `pos`.
    BulkData { len: usize },
}

/// Which buffer the spans of a finished command point into.
enum Source {
    Buf,
    Scratch,
}

/// Incremental, zero-copy parser for client requests.
///
/// One parser per connection. [`parse`](Self::parse) looks at the start of
/// the connection's unconsumed input and returns one command at a time. When
/// the input ends mid-command it returns `Ok(None)` and remembers how far it
/// got (argument count, arguments already parsed, scan positions), so that the
/// next call, made with the same bytes plus whatever arrived since, continues
/// from there: parsing a command is linear in its size however it is split
/// into reads.
///
/// # Contract
///
/// After `Ok(None)`, the next call must pass a buffer that starts at the same
/// byte and holds at least the bytes passed before, unchanged. A shorter
/// buffer is detected and makes the parser start the command over; anything
/// else (changed bytes) is the caller's bug and yields garbage, never a panic.
/// Call [`reset`](Self::reset) when discarding the input (e.g. on a new
/// connection reusing this parser).
///
/// # Differences from Redis 7.0, all deliberate
///
/// * Line-length limits are applied to the line, not to whatever happens to
///   be in the buffer: a `*N`/`$N` header (or inline line) whose terminator
///   is not within the first `max_inline_len + 1` bytes is "too big", however
///   the bytes arrived. Redis decides from its current read, so the same
///   stream can get a different error depending on TCP segmentation. Results
///   here never depend on how the input is split.
/// * `expected '$', got 'X'` writes bytes >= 0x80 as the Unicode code point
///   of the same value (UTF-8 encoded) rather than the raw byte.
///
/// Shared with Redis (and with `redis-protocol`): the two bytes after a bulk
/// payload are skipped without checking that they are CRLF, and a header
/// line ends at its first `\r` followed by any byte.
///
/// Also shared: Redis finds the terminator of an inline line (`\n`) or of a
/// `*N`/`$N` header (`\r`) with `strchr` on its NUL-terminated query buffer,
/// so a NUL byte before the terminator hides it: the request never completes
/// (`SET a b\0c\r\n` is neither run nor answered), and once more than
/// `max_inline_len` bytes wait from the start of that line, whatever they
/// are, the "too big inline request" (or "too big mbulk/bulk count string")
/// error closes the connection. The terminator search here stops at a NUL
/// too, with the same outcome.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    authenticated: bool,
    phase: Phase,
    /// Offset (from the start of the command) of the next unparsed byte.
    pos: usize,
    /// Offset where the current terminator search resumes.
    scan: usize,
    /// Bulk arguments still expected by the current multibulk command.
    remaining: usize,
    /// Buffer length seen by the last call that returned `Ok(None)`.
    seen: usize,
    spans: Vec<Span>,
    /// Unescaped inline arguments.
    scratch: Vec<u8>,
    /// Bytes examined by terminator searches (tests assert linearity).
    #[cfg(test)]
    scanned: usize,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl RequestParser {
    /// A parser for an authenticated connection with the given limits.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            authenticated: true,
            phase: Phase::Start,
            pos: 0,
            scan: 0,
            remaining: 0,
            seen: 0,
            spans: Vec::new(),
            scratch: Vec::new(),
            #[cfg(test)]
            scanned: 0,
        }
    }

    /// Replaces the limits (`CONFIG SET proto-max-bulk-len`). Takes effect for
    /// headers parsed from now on.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The current limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether the connection is authenticated (default `true`). While it is
    /// not, Redis's stricter caps apply: at most 10 arguments and 16 KiB per
    /// bulk.
    pub fn set_authenticated(&mut self, yes: bool) {
        self.authenticated = yes;
    }

    /// Forgets any partially parsed command.
    pub fn reset(&mut self) {
        self.phase = Phase::Start;
        self.pos = 0;
        self.scan = 0;
        self.remaining = 0;
        self.seen = 0;
    }

    /// True when a command has been started but not finished (the connection
    /// holds a partial request).
    pub fn in_progress(&self) -> bool {
        self.phase != Phase::Start
    }

    /// When the parser stopped inside a bulk payload whose length it knows:
    /// how many more bytes (beyond the buffer last passed to `parse`) finish
    /// that argument, trailing CRLF included. Lets the caller reserve the read
    /// buffer once for a large value instead of growing it read by read.
    pub fn pending_bulk_hint(&self) -> Option<usize> {
        match self.phase {
            Phase::BulkData { len } => Some(
                self.pos
                    .saturating_add(len)
                    .saturating_add(2)
                    .saturating_sub(self.seen),
            ),
            _ => None,
        }
    }

    /// Parses one command from the start of `buf`.
    ///
    /// * `Ok(Some((consumed, args)))`: a complete command occupied
    ///   `buf[..consumed]`; `args` may be empty (skip it). The next command
    ///   starts at `buf[consumed..]`.
    /// * `Ok(None)`: `buf` holds an incomplete command; call again with more
    ///   bytes (see the contract on [`RequestParser`]).
    /// * `Err(e)`: fatal protocol error; reply and close the connection.
    ///
    /// After `Some` or `Err` the parser is ready for the next command.
    pub fn parse<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> Result<Option<(usize, Args<'a>)>, ProtocolError> {
        if buf.len() < self.seen {
            // Contract violated (the caller dropped bytes): start over.
            self.reset();
        }
        match self.step(buf) {
            Ok(Some((consumed, source))) => {
                self.reset();
                let src = match source {
                    Source::Buf => buf,
                    Source::Scratch => &self.scratch,
                };
                Ok(Some((
                    consumed,
                    Args {
                        src,
                        spans: &self.spans,
                    },
                )))
            }
            Ok(None) => {
                self.seen = buf.len();
                Ok(None)
            }
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }

    fn step(&mut self, buf: &[u8]) -> Result<Option<(usize, Source)>, ProtocolError> {
        if self.phase == Phase::Start {
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            self.spans.clear();
            if self.spans.capacity() > SHRINK_ARGS_ABOVE {
                // One huge command must not pin its argument table forever.
                self.spans.shrink_to(MAX_PREALLOC_ARGS);
            }
            if first == b'*' {
                if let Some(end) = self.whole_frame(buf) {
                    return Ok(Some((end, Source::Buf)));
                }
                self.spans.clear();
                self.phase = Phase::Count;
                self.scan = 1;
            } else {
                self.phase = Phase::Inline;
                self.scan = 0;
            }
        }
        match self.phase {
            Phase::Inline => self.inline(buf),
            Phase::Count => {
                if !self.count(buf)? {
                    return Ok(None);
                }
                if self.remaining == 0 {
                    // `*0`, `*-1`, ...: Redis silently skips these.
                    return Ok(Some((self.pos, Source::Buf)));
                }
                self.bulks(buf)
            }
            _ => self.bulks(buf),
        }
    }

    /// Searches `buf[self.scan..]` for `needle`, but not past `line_start +
    /// max_inline_len` (the terminator may sit at that index, not after).
    /// Returns `Ok(Some(index))`, `Ok(None)` when more input is needed, or
    /// `Err(())` when the line is too long.
    ///
    /// A NUL byte before `needle` stalls the line for good, as Redis's
    /// `strchr` does: `Ok(None)` (the search resumes at that NUL, so it stays
    /// O(1) per call) until more than `max_inline_len` bytes follow
    /// `line_start`, then `Err(())`.
    fn find_terminator(
        &mut self,
        buf: &[u8],
        line_start: usize,
        needle: u8,
    ) -> Result<Option<usize>, ()> {
        let window_end = line_start
            .saturating_add(self.limits.max_inline_len)
            .saturating_add(1);
        let end = window_end.min(buf.len());
        let from = self.scan.min(end);
        let hay = buf.get(from..end).unwrap_or_default();
        let found = find_byte_or_nul(needle, hay);
        #[cfg(test)]
        {
            self.scanned += found.map_or(hay.len(), |i| i + 1);
        }
        match found {
            Some(i) if hay.get(i) == Some(&0) => {
                self.scan = from + i;
                if buf.len() - line_start > self.limits.max_inline_len {
                    Err(())
                } else {
                    Ok(None)
                }
            }
            Some(i) => Ok(Some(from + i)),
            None if end == window_end => Err(()),
            None => {
                self.scan = end;
                Ok(None)
            }
        }
    }

    fn inline(&mut self, buf: &[u8]) -> Result<Option<(usize, Source)>, ProtocolError> {
        let nl = match self.find_terminator(buf, 0, b'\n') {
            Ok(Some(nl)) => nl,
            Ok(None) => return Ok(None),
            Err(()) => return Err(ProtocolError::new("Protocol error: too big inline request")),
        };
        let line_end = if nl > 0 && buf.get(nl - 1) == Some(&b'\r') {
            nl - 1
        } else {
            nl
        };
        let line = buf.get(..line_end).unwrap_or_default();
        if split_inline(line, &mut self.scratch, &mut self.spans).is_err() {
            self.spans.clear();
            return Err(ProtocolError::new(
                "Protocol error: unbalanced quotes in request",
            ));
        }
        Ok(Some((nl + 1, Source::Scratch)))
    }

    /// Parses the `*N\r\n` line. `Ok(false)`: need more input.
    fn count(&mut self, buf: &[u8]) -> Result<bool, ProtocolError> {
        const INVALID: &str = "Protocol error: invalid multibulk length";
        let (n, cr) = match quick_header(buf, 0, self.limits.max_inline_len) {
            Some(found) => found,
            None => {
                let cr = match self.find_terminator(buf, 0, b'\r') {
                    Ok(Some(cr)) => cr,
                    Ok(None) => return Ok(false),
                    Err(()) => {
                        return Err(ProtocolError::new(
                            "Protocol error: too big mbulk count string",
                        ))
                    }
                };
                if cr + 1 >= buf.len() {
                    // Redis wants the byte after '\r' too before it looks at
                    // the line.
                    self.scan = cr;
                    return Ok(false);
                }
                match string2ll(buf.get(1..cr).unwrap_or_default()) {
                    Some(n) => (n, cr),
                    None => return Err(ProtocolError::new(INVALID)),
                }
            }
        };
        let count = match usize::try_from(n) {
            Err(_) => 0, // negative: skipped, like `*0`
            Ok(count) if count > self.limits.max_multibulk_len => {
                return Err(ProtocolError::new(INVALID))
            }
            Ok(count) => count,
        };
        if n > UNAUTH_MAX_MULTIBULK && !self.authenticated {
            return Err(ProtocolError::new(
                "Protocol error: unauthenticated multibulk length",
            ));
        }
        self.pos = cr + 2;
        self.remaining = count;
        if count > 0 {
            self.spans.reserve(count.min(MAX_PREALLOC_ARGS));
            self.phase = Phase::BulkHeader;
            self.scan = self.pos;
        }
        Ok(true)
    }

    /// The fast path for a whole, well-formed multibulk command already in `buf` (a
    /// pipelined client's usual case): count and every bulk header read with
    /// [`quick_header`], every payload present, within the limits. Pushes the
    /// spans and returns the command's length; `None` (spans left to clear) for
    /// anything else (incomplete, malformed, over a limit, `*0`...), which the state
    /// machine then parses from the start, with Redis's errors and resumption.
    #[inline]
    fn whole_frame(&mut self, buf: &[u8]) -> Option<usize> {
        let max_line = self.limits.max_inline_len;
        let (n, cr) = quick_header(buf, 0, max_line)?;
        let count = usize::try_from(n).ok()?;
        if count == 0
            || count > self.limits.max_multibulk_len
            || count > MAX_PREALLOC_ARGS
            || (n > UNAUTH_MAX_MULTIBULK && !self.authenticated)
        {
            return None;
        }
        self.spans.reserve(count);
        let mut pos = cr + 2;
        for _ in 0..count {
            if buf.get(pos) != Some(&b'$') {
                return None;
            }
            let (n, cr) = quick_header(buf, pos, max_line)?;
            let len = usize::try_from(n).ok()?;
            if len > self.limits.max_bulk_len || (len > UNAUTH_MAX_BULK && !self.authenticated) {
                return None;
            }
            let start = cr + 2;
            let next = start.checked_add(len)?.checked_add(2)?;
            if next > buf.len() {
                return None;
            }
            self.spans.push(Span {
                start,
                end: start + len,
            });
            pos = next;
        }
        Some(pos)
    }

    /// Parses `$len\r\npayload\r\n` items until the command is complete.
    fn bulks(&mut self, buf: &[u8]) -> Result<Option<(usize, Source)>, ProtocolError> {
        while self.remaining > 0 {
            let len = match self.phase {
                Phase::BulkData { len } => len,
                _ => {
                    let Some(len) = self.bulk_header(buf)? else {
                        return Ok(None);
                    };
                    len
                }
            };
            let start = self.pos;
            let next = start.checked_add(len).and_then(|end| end.checked_add(2));
            match next {
                Some(next) if next <= buf.len() => {
                    self.spans.push(Span {
                        start,
                        end: start + len,
                    });
                    self.pos = next;
                    self.scan = next;
                    self.remaining -= 1;
                    self.phase = Phase::BulkHeader;
                }
                _ => {
                    self.phase = Phase::BulkData { len };
                    return Ok(None);
                }
            }
        }
        Ok(Some((self.pos, Source::Buf)))
    }

    /// Parses the `$len\r\n` header at `self.pos`, advancing past it.
    fn bulk_header(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        const INVALID: &str = "Protocol error: invalid bulk length";
        let start = self.pos;
        let quick = match buf.get(start) {
            Some(b'$') => quick_header(buf, start, self.limits.max_inline_len),
            _ => None,
        };
        let (n, cr) = match quick {
            Some(found) => found,
            None => {
                let cr = match self.find_terminator(buf, start, b'\r') {
                    Ok(Some(cr)) => cr,
                    Ok(None) => return Ok(None),
                    Err(()) => {
                        return Err(ProtocolError::new(
                            "Protocol error: too big bulk count string",
                        ))
                    }
                };
                if cr + 1 >= buf.len() {
                    self.scan = cr;
                    return Ok(None);
                }
                let first = buf.get(start).copied().unwrap_or(b'\r');
                if first != b'$' {
                    return Err(ProtocolError::expected_dollar(first));
                }
                match string2ll(buf.get(start + 1..cr).unwrap_or_default()) {
                    Some(n) => (n, cr),
                    None => return Err(ProtocolError::new(INVALID)),
                }
            }
        };
        let len = match usize::try_from(n) {
            Ok(len) if len <= self.limits.max_bulk_len => len,
            _ => return Err(ProtocolError::new(INVALID)),
        };
        if len > UNAUTH_MAX_BULK && !self.authenticated {
            return Err(ProtocolError::new(
                "Protocol error: unauthenticated bulk length",
            ));
        }
        self.pos = cr + 2;
        self.phase = Phase::BulkData { len };
        Ok(Some(len))
    }

    #[cfg(test)]
    fn spans_capacity(&self) -> usize {
        self.spans.capacity()
    }
}

/// Fast path for the common, well-formed header line at `start`: `*` or `$`
/// (not checked here), 1 to 18 digits without a leading zero (or a lone `0`),
/// `\r`, and at least one more byte, with the `\r` inside the line-length
/// window. Returns `(value, index of '\r')`. Whenever it returns `Some`, the
/// general path (terminator search, then `string2ll`) would have produced the
/// same; anything else (`None`) is left to that path, which knows the errors
/// and the "need more input" cases.
#[inline]
fn quick_header(buf: &[u8], start: usize, max_line: usize) -> Option<(i64, usize)> {
    let line = buf.get(start + 1..)?;
    let mut value: i64 = 0;
    for (i, &b) in line.iter().enumerate() {
        if b.is_ascii_digit() && i < 18 {
            value = value * 10 + i64::from(b - b'0');
            continue;
        }
        let leading_zero = i > 1 && line.first() == Some(&b'0');
        return (b == b'\r' && i > 0 && !leading_zero && i < max_line && i + 1 < line.len())
            .then_some((value, start + 1 + i));
    }
    None
}

/// Redis's `string2ll` (util.c): optional `-`, no `+`, no leading zeros (a lone
/// `0` excepted), no spaces, at most 20 characters, must fit an `i64`.
pub(crate) fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &c in rest {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX.
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// First index of `needle` or of a NUL byte in `hay` (what C's `strchr` sees
/// of a NUL-terminated buffer). Word-at-a-time (SWAR) scan: eight bytes per
/// step without `unsafe` or a dependency. Header lines are a few bytes, so
/// this matters only for long inline requests and hostile headers.
#[inline]
pub(crate) fn find_byte_or_nul(needle: u8, hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let word = u64::from_le_bytes(bytes);
        let x = word ^ pattern;
        // Lowest set bit marks the first zero byte of `x` (needle) or of
        // `word` (NUL); higher bytes may be false positives, never lower ones.
        let found = (x.wrapping_sub(LO) & !x & HI) | (word.wrapping_sub(LO) & !word & HI);
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle || b == 0)
        .map(|i| offset + i)
}

/// C `isspace` in the "C" locale.
#[inline]
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[inline]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Redis's `sdssplitargs` (sds.c): splits an inline line into arguments,
/// unescaping into `out`. `Err(())` = unbalanced quotes.
///
/// The C code walks a NUL-terminated string, so the line ends at its first NUL
/// byte and every look-ahead past the end reads as NUL; `at` reproduces that.
pub(crate) fn split_inline(
    line: &[u8],
    out: &mut Vec<u8>,
    spans: &mut Vec<Span>,
) -> Result<(), ()> {
    out.clear();
    spans.clear();
    let line = match find_byte_or_nul(0, line) {
        Some(nul) => line.get(..nul).unwrap_or_default(),
        None => line,
    };
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut p = 0;
    loop {
        while p < line.len() && is_c_space(at(p)) {
            p += 1;
        }
        if p >= line.len() {
            return Ok(());
        }
        let start = out.len();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(p);
            if in_double {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(hi), Some(lo)) = (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                        out.push(hi * 16 + lo);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    out.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // The closing quote must be followed by a space or the end.
                    let next = at(p + 1);
                    if next != 0 && !is_c_space(next) {
                        return Err(());
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return Err(());
                } else {
                    out.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    let next = at(p + 1);
                    if next != 0 && !is_c_space(next) {
                        return Err(());
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return Err(());
                } else {
                    out.push(c);
                }
            } else {
                match c {
                    0 => break,
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        p += 1;
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => {
                        // Copy the whole run of ordinary bytes at once.
                        let rest = line.get(p..).unwrap_or_default();
                        let run = rest
                            .iter()
                            .position(|&b| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'"' | b'\''))
                            .unwrap_or(rest.len());
                        out.extend_from_slice(rest.get(..run).unwrap_or_default());
                        p += run.max(1);
                        continue;
                    }
                }
            }
            p += 1;
        }
        spans.push(Span {
            start,
            end: out.len(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(
        p: &mut RequestParser,
        input: &[u8],
    ) -> (Vec<Vec<Vec<u8>>>, usize, Option<String>) {
        let mut cmds = Vec::new();
        let mut off = 0;
        loop {
            match p.parse(&input[off..]) {
                Ok(Some((n, args))) => {
                    assert!(n > 0 && off + n <= input.len());
                    if !args.is_empty() {
                        cmds.push(args.to_vec());
                    }
                    off += n;
                }
                Ok(None) => return (cmds, off, None),
                Err(e) => return (cmds, off, Some(e.0)),
            }
        }
    }

    fn one(input: &[u8]) -> Result<Option<Vec<Vec<u8>>>, String> {
        let mut p = RequestParser::default();
        match p.parse(input) {
            Ok(Some((n, args))) => {
                assert_eq!(n, input.len(), "consumed everything");
                Ok(Some(args.to_vec()))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e.0),
        }
    }

    fn err(input: &[u8]) -> String {
        let mut p = RequestParser::default();
        parse_all(&mut p, input).2.expect("expected an error")
    }

    fn inline(line: &str) -> Result<Vec<String>, ()> {
        let mut out = Vec::new();
        let mut spans = Vec::new();
        split_inline(line.as_bytes(), &mut out, &mut spans)?;
        Ok(spans
            .iter()
            .map(|s| String::from_utf8_lossy(&out[s.start..s.end]).into_owned())
            .collect())
    }

    fn v(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_basic_and_pipelined() {
        assert_eq!(
            one(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"),
            Ok(Some(v(&["SET", "k", ""])))
        );
        let input = b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nx\r\nECHO hi\r\n";
        let mut p = RequestParser::default();
        let (cmds, off, e) = parse_all(&mut p, input);
        assert_eq!(
            cmds,
            vec![v(&["PING"]), v(&["GET", "x"]), v(&["ECHO", "hi"])]
        );
        assert_eq!(off, input.len());
        assert_eq!(e, None);
    }

    #[test]
    fn binary_payloads_are_opaque() {
        assert_eq!(
            one(b"*2\r\n$4\r\n\r\n\r\n\r\n$3\r\n\0*$\r\n"),
            Ok(Some(vec![b"\r\n\r\n".to_vec(), b"\0*$".to_vec()]))
        );
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let input: &[u8] =
            b"*3\r\n$3\r\nSET\r\n$10\r\nkey\r\nwith!\r\n$5\r\nvalue\r\n  set \"a b\" 'c d'\r\n*0\r\n\n*1\r\n$4\r\nPING\r\n";
        let mut whole = RequestParser::default();
        let expected = parse_all(&mut whole, input);
        assert_eq!(expected.0.len(), 3);
        let mut p = RequestParser::default();
        let mut got = Vec::new();
        let mut buf = Vec::new();
        for &b in input {
            buf.push(b);
            loop {
                match p.parse(&buf) {
                    Ok(Some((n, args))) => {
                        if !args.is_empty() {
                            got.push(args.to_vec());
                        }
                        buf.drain(..n);
                    }
                    Ok(None) => break,
                    Err(e) => panic!("{e}"),
                }
            }
        }
        assert!(buf.is_empty());
        assert_eq!(got, expected.0);
    }

    #[test]
    fn empty_commands_are_consumed() {
        for input in [
            &b"*0\r\n"[..],
            b"*-1\r\n",
            b"*-10\r\n",
            b"\r\n",
            b"\n",
            b"   \t\r\n",
        ] {
            let mut p = RequestParser::default();
            let (n, args) = p.parse(input).unwrap().unwrap();
            assert_eq!(n, input.len());
            assert!(args.is_empty());
        }
    }

    #[test]
    fn incomplete_inputs() {
        for input in [
            &b""[..],
            b"*",
            b"*1",
            b"*1\r",
            b"*1\r\n",
            b"*1\r\n$",
            b"*1\r\n$3",
            b"*1\r\n$3\r",
            b"*1\r\n$3\r\nab",
            b"*1\r\n$3\r\nabc",
            b"*1\r\n$3\r\nabc\r",
            b"PING",
            b"PING\r",
            b"\"unterminated",
        ] {
            assert_eq!(one(input), Ok(None), "{}", input.escape_ascii());
        }
    }

    #[test]
    fn lenient_like_redis() {
        // The two bytes after a payload are skipped unchecked; the byte after a
        // header's '\r' need not be '\n'.
        assert_eq!(one(b"*1\r\n$3\r\nabcXY"), Ok(Some(v(&["abc"]))));
        assert_eq!(one(b"*1\rX$3\rYabc\r\n"), Ok(Some(v(&["abc"]))));
    }

    #[test]
    fn error_texts() {
        let cases: &[(&[u8], &str)] = &[
            (b"*abc\r\n", "Protocol error: invalid multibulk length"),
            (b"*\r\n", "Protocol error: invalid multibulk length"),
            (b"*01\r\n", "Protocol error: invalid multibulk length"),
            (b"*+1\r\n", "Protocol error: invalid multibulk length"),
            (b"*-0\r\n", "Protocol error: invalid multibulk length"),
            (b"*1 \r\n", "Protocol error: invalid multibulk length"),
            (
                b"*3000000000\r\n",
                "Protocol error: invalid multibulk length",
            ),
            (
                b"*99999999999999999999\r\n",
                "Protocol error: invalid multibulk length",
            ),
            (b"*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'"),
            (
                b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
                "Protocol error: expected '$', got 'f'",
            ),
            (b"*1\r\n\r\n", "Protocol error: expected '$', got ' '"),
            (b"*1\r\n:1\r\n", "Protocol error: expected '$', got ':'"),
            (
                b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
                "Protocol error: invalid bulk length",
            ),
            (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
            (
                b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
                "Protocol error: invalid bulk length",
            ),
            (
                b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",
                "Protocol error: invalid bulk length",
            ),
            (b"*1\r\n$\r\n", "Protocol error: invalid bulk length"),
            (
                b"*1\r\n$536870913\r\n",
                "Protocol error: invalid bulk length",
            ),
            (
                b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
        ];
        for (input, text) in cases {
            assert_eq!(err(input), *text, "{}", input.escape_ascii());
        }
        // Redis accepts exactly proto-max-bulk-len and INT_MAX.
        assert_eq!(one(b"*1\r\n$536870912\r\n"), Ok(None));
        assert_eq!(one(b"*2147483647\r\n"), Ok(None));
        assert_eq!(
            err(b"*2147483648\r\n"),
            "Protocol error: invalid multibulk length"
        );
    }

    #[test]
    fn too_big_lines() {
        let lim = Limits::default().max_inline_len;
        // Inline: up to 64 KiB without a newline is still waiting.
        let mut line = vec![b'a'; lim];
        assert_eq!(one(&line), Ok(None));
        line.push(b'a');
        assert_eq!(err(&line), "Protocol error: too big inline request");
        // A newline at index 64 KiB is fine.
        let mut line = vec![b'a'; lim];
        line.push(b'\n');
        assert_eq!(one(&line).unwrap().unwrap().len(), 1);
        // Redis's desync regression inputs.
        for (prefix, text) in [
            (&b"\x00"[..], "Protocol error: too big inline request"),
            (b"$\x00", "Protocol error: too big inline request"),
            (b"*\x00", "Protocol error: too big mbulk count string"),
        ] {
            let mut input = prefix.to_vec();
            input.extend(std::iter::repeat_n(b'A', lim));
            assert_eq!(err(&input), text);
        }
        // Count string.
        let mut input = vec![b'*'];
        input.extend(std::iter::repeat_n(b'1', lim - 1));
        assert_eq!(one(&input), Ok(None));
        input.push(b'1');
        assert_eq!(err(&input), "Protocol error: too big mbulk count string");
        // Bulk count string.
        let mut input = b"*1\r\n$".to_vec();
        input.extend(std::iter::repeat_n(b'1', lim - 1));
        assert_eq!(one(&input), Ok(None));
        input.push(b'1');
        assert_eq!(err(&input), "Protocol error: too big bulk count string");
        // A long header *with* its '\r' in range is just an invalid number.
        let mut input = b"*1\r\n$".to_vec();
        input.extend(std::iter::repeat_n(b'1', 100));
        input.extend_from_slice(b"\r\n");
        assert_eq!(err(&input), "Protocol error: invalid bulk length");
    }

    #[test]
    fn custom_limits() {
        let limits = Limits {
            max_bulk_len: 3,
            max_multibulk_len: 2,
            max_inline_len: 8,
        };
        let run = |input: &[u8]| {
            let mut p = RequestParser::new(limits);
            parse_all(&mut p, input)
        };
        assert_eq!(
            run(b"*2\r\n$3\r\nabc\r\n$0\r\n\r\n").0,
            vec![v(&["abc", ""])]
        );
        assert_eq!(
            run(b"*3\r\n").2.as_deref(),
            Some("Protocol error: invalid multibulk length")
        );
        assert_eq!(
            run(b"*1\r\n$4\r\n").2.as_deref(),
            Some("Protocol error: invalid bulk length")
        );
        assert_eq!(run(b"12345678\n").0, vec![v(&["12345678"])]);
        assert_eq!(
            run(b"123456789\n").2.as_deref(),
            Some("Protocol error: too big inline request")
        );
        assert_eq!(
            run(b"*1\r\n$000000003\r\n").2.as_deref(),
            Some("Protocol error: too big bulk count string")
        );
        let mut p = RequestParser::default();
        p.set_limits(limits);
        assert_eq!(p.limits(), limits);
    }

    #[test]
    fn unauthenticated_limits() {
        let run = |input: &[u8]| {
            let mut p = RequestParser::default();
            p.set_authenticated(false);
            parse_all(&mut p, input)
        };
        let mut ten = b"*10\r\n".to_vec();
        for _ in 0..10 {
            ten.extend_from_slice(b"$1\r\nx\r\n");
        }
        assert_eq!(run(&ten).0.len(), 1);
        assert_eq!(
            run(b"*11\r\n").2.as_deref(),
            Some("Protocol error: unauthenticated multibulk length")
        );
        // The invalid-length check comes first, as in Redis.
        assert_eq!(
            run(b"*3000000000\r\n").2.as_deref(),
            Some("Protocol error: invalid multibulk length")
        );
        let mut ok = b"*1\r\n$16384\r\n".to_vec();
        ok.extend(std::iter::repeat_n(b'x', 16384));
        ok.extend_from_slice(b"\r\n");
        assert_eq!(run(&ok).0.len(), 1);
        assert_eq!(
            run(b"*1\r\n$16385\r\n").2.as_deref(),
            Some("Protocol error: unauthenticated bulk length")
        );
        // Inline requests are not capped (the 64 KiB line limit applies).
        assert_eq!(run(b"a b c d e f g h i j k l\n").0[0].len(), 12);
        let mut p = RequestParser::default();
        p.set_authenticated(false);
        p.set_authenticated(true);
        assert!(parse_all(&mut p, b"*11\r\n").2.is_none());
    }

    #[test]
    fn huge_declared_lengths_do_not_allocate() {
        let mut p = RequestParser::default();
        assert!(p.parse(b"*2147483647\r\n$536870912\r\n").unwrap().is_none());
        assert!(p.spans_capacity() <= MAX_PREALLOC_ARGS);
        assert_eq!(p.pending_bulk_hint(), Some(536_870_912 + 2));
        assert!(p.in_progress());
        p.reset();
        assert!(!p.in_progress());
        assert_eq!(p.pending_bulk_hint(), None);
    }

    #[test]
    fn pending_bulk_hint_counts_down() {
        let mut p = RequestParser::default();
        let mut input = b"*2\r\n$3\r\nSET\r\n$100\r\n".to_vec();
        assert!(p.parse(&input).unwrap().is_none());
        assert_eq!(p.pending_bulk_hint(), Some(102));
        input.extend(std::iter::repeat_n(b'v', 60));
        assert!(p.parse(&input).unwrap().is_none());
        assert_eq!(p.pending_bulk_hint(), Some(42));
        input.extend(std::iter::repeat_n(b'v', 40));
        input.extend_from_slice(b"\r\n");
        let (n, args) = p.parse(&input).unwrap().unwrap();
        assert_eq!((n, args.len()), (input.len(), 2));
        assert_eq!(p.pending_bulk_hint(), None);
        // Not inside a payload: no hint.
        assert!(p.parse(b"*2\r\n$3\r").unwrap().is_none());
        assert_eq!(p.pending_bulk_hint(), None);
    }

    #[test]
    fn large_command_in_small_reads_is_linear() {
        // A ~5 MB MSET (many small args plus one 1 MB value) fed in 16 KiB reads.
        let mut input = b"*40002\r\n$4\r\nMSET\r\n".to_vec();
        for i in 0..20_000 {
            let k = format!("key:{i}");
            let val = format!("value-{i}-{}", "x".repeat(200));
            input.extend_from_slice(
                format!("${}\r\n{k}\r\n${}\r\n{val}\r\n", k.len(), val.len()).as_bytes(),
            );
        }
        input.extend_from_slice(b"$1048576\r\n");
        input.extend(std::iter::repeat_n(b'z', 1 << 20));
        input.extend_from_slice(b"\r\n");
        assert!(input.len() > 5_000_000);
        let mut p = RequestParser::default();
        let mut end = 0;
        let mut calls = 0;
        let done = loop {
            end = (end + 16 * 1024).min(input.len());
            calls += 1;
            if let Some((n, args)) = p.parse(&input[..end]).unwrap() {
                assert_eq!(args.len(), 40_002);
                assert_eq!(args.get(40_001).map(<[u8]>::len), Some(1 << 20));
                break n;
            }
        };
        assert_eq!(done, input.len());

        assert!(calls > 300);
        // Terminator searches never look at a byte twice (plus at most one
        // window per header/call), and never inside payloads.
        assert!(
            p.scanned < 40_002 * 16 + calls * 16,
            "scanned {}",
            p.scanned
        );
    }

    #[test]
    fn huge_argument_table_is_released() {
        let n = SHRINK_ARGS_ABOVE + 10;
        let mut input = format!("*{n}\r\n").into_bytes();
        for _ in 0..n {
            input.extend_from_slice(b"$0\r\n\r\n");
        }
        let mut p = RequestParser::default();
        assert_eq!(p.parse(&input).unwrap().unwrap().1.len(), n);
        assert!(p.spans_capacity() >= n);
        assert_eq!(p.parse(b"PING\r\n").unwrap().unwrap().1.len(), 1);
        assert!(p.spans_capacity() <= MAX_PREALLOC_ARGS);
    }

    #[test]
    fn shorter_buffer_restarts_the_command() {
        let mut p = RequestParser::default();
        assert!(p.parse(b"*2\r\n$3\r\nGET\r\n$1\r").unwrap().is_none());
        // Caller broke the contract and passes a different, shorter input.
        let (n, args) = p.parse(b"PING\r\n").unwrap().unwrap();
        assert_eq!((n, args.to_vec()), (6, v(&["PING"])));
    }

    #[test]
    fn args_api() {
        let mut p = RequestParser::default();
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n";
        let (_, args) = p.parse(input).unwrap().unwrap();
        let copy = args;
        assert_eq!(copy.len(), 3);
        assert!(!copy.is_empty());
        assert_eq!(&copy[0], b"SET");
        assert_eq!(copy.get(2), Some(&b"vv"[..]));
        assert_eq!(copy.get(3), None);
        let mut it = copy.iter();
        assert_eq!(it.len(), 3);
        assert_eq!(it.next_back(), Some(&b"vv"[..]));
        let collected: Vec<&[u8]> = copy.into_iter().collect();
        assert_eq!(collected, vec![&b"SET"[..], b"k", b"vv"]);
        assert_eq!(format!("{copy:?}"), r#"["SET", "k", "vv"]"#);
        let mut n = 0;
        for a in &copy {
            n += a.len();
        }
        assert_eq!(n, 6);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn args_index_out_of_range_panics_like_a_slice() {
        let mut p = RequestParser::default();
        let (_, args) = p.parse(b"PING\n").unwrap().unwrap();
        let _ = &args[1];
    }

    #[test]
    fn inline_splitting_like_sdssplitargs() {
        let ok = |line: &str, want: &[&str]| {
            assert_eq!(
                inline(line),
                Ok(want.iter().map(|s| s.to_string()).collect()),
                "{line:?}"
            )
        };
        ok("", &[]);
        ok("   \t ", &[]);
        ok("set a b", &["set", "a", "b"]);
        ok("  set\ta   b  ", &["set", "a", "b"]);
        ok("set \"a b\" c", &["set", "a b", "c"]);
        ok("\"\"", &[""]);
        ok("'' x", &["", "x"]);
        ok(r#""\x41\x4a\x4B""#, &["AJK"]);
        ok(r#""\x4g""#, &["x4g"]);
        ok(r#""\x4""#, &["x4"]);
        ok(r#""a\nb\r\t\\\"\z""#, &["a\nb\r\t\\\"z"]);
        ok(r#""\b\a""#, &["\u{8}\u{7}"]);
        ok(r"'it\'s'", &["it's"]);
        ok(r"'a\nb\\c'", &[r"a\nb\\c"]);
        ok("foo\"bar baz\" x", &["foobar baz", "x"]);
        ok("a'b c'", &["ab c"]);
        ok("a\u{b}b \u{b}c", &["a\u{b}b", "c"]);
        ok("\"a\"\u{b}b", &["a", "b"]);
        ok("a\rb", &["a", "b"]);
        ok("a\0b c", &["a"]);
        ok("\"é\" ü", &["é", "ü"]);
        let bad = |line: &str| assert_eq!(inline(line), Err(()), "{line:?}");
        bad("\"abc");
        bad("'abc");
        bad("\"a\"b");
        bad("'a'b");
        bad("\"a\"\"b\"");
        bad("\"a\0\"");
        bad("\"a\\");
        // `\'` inside single quotes is an escaped quote even after a backslash.
        bad(r"'a\\'");
        bad(r#""\x"#);
    }

    #[test]
    fn inline_line_endings() {
        assert_eq!(one(b"ping\n"), Ok(Some(v(&["ping"]))));
        assert_eq!(one(b"ping\r\n"), Ok(Some(v(&["ping"]))));
        assert_eq!(one(b"ping\r\r\n"), Ok(Some(v(&["ping"]))));
        assert_eq!(
            one(b"echo \"a\r\n"),
            Err("Protocol error: unbalanced quotes in request".into())
        );
        // Bytes >= 0x80 pass through untouched.
        assert_eq!(
            one(b"set k \xff\xfe\n"),
            Ok(Some(vec![
                b"set".to_vec(),
                b"k".to_vec(),
                b"\xff\xfe".to_vec()
            ]))
        );
    }

    #[test]
    fn string2ll_matches_redis() {
        for (s, want) in [
            ("0", Some(0)),
            ("1", Some(1)),
            ("-1", Some(-1)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("18446744073709551616", None),
            ("", None),
            ("-", None),
            ("-0", None),
            ("00", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("1a", None),
            ("123456789012345678901", None),
        ] {
            assert_eq!(string2ll(s.as_bytes()), want, "{s:?}");
        }
    }

    #[test]
    fn quick_header_agrees_with_the_general_path() {
        fn general(buf: &[u8], start: usize, max_line: usize) -> Option<(i64, usize)> {
            let window = buf.get(start..)?;
            let cr = start + window.iter().position(|&b| b == b'\r')?;
            if cr - start > max_line || cr + 1 >= buf.len() {
                return None;
            }
            Some((string2ll(&buf[start + 1..cr])?, cr))
        }
        let mut bodies: Vec<String> = vec![
            "".into(),
            "0".into(),
            "00".into(),
            "01".into(),
            "-1".into(),
            "-0".into(),
            "+1".into(),
            "1a".into(),
            " 1".into(),
        ];
        for len in 1..=22 {
            bodies.push("9".repeat(len));
            bodies.push(format!("1{}", "0".repeat(len - 1)));
        }
        let mut hits = 0;
        for body in &bodies {
            for tail in ["", "\r", "\r\n", "\rX", "\n\r\n"] {
                for max_line in [0, 1, 2, 3, 5, 18, 19, 20, 64 * 1024] {
                    for prefix in ["", "$3\r\nabc\r\n"] {
                        let input = format!("{prefix}${body}{tail}");
                        let start = prefix.len();
                        let quick = quick_header(input.as_bytes(), start, max_line);
                        if quick.is_some() {
                            hits += 1;
                            assert_eq!(
                                quick,
                                general(input.as_bytes(), start, max_line),
                                "{input:?} {max_line}"
                            );
                        }
                    }
                }
            }
        }
        assert!(hits > 100);
        assert_eq!(quick_header(b"$3\r\n", 0, 100), Some((3, 2)));
        assert_eq!(
            quick_header(b"$999999999999999999\r\n", 0, 100),
            Some((999_999_999_999_999_999, 19))
        );
        assert_eq!(quick_header(b"$9999999999999999999\r\n", 0, 100), None);
        assert_eq!(
            err(b"*999999999999999999\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            err(b"*1\r\n$999999999999999999\r\n"),
            "Protocol error: invalid bulk length"
        );
    }

    #[test]
    fn find_byte_or_nul_matches_naive() {
        let hay: Vec<u8> = (0..200u32).map(|i| (i * 7 % 251 + 1) as u8).collect();
        let mut with_nul = hay.clone();
        with_nul[37] = 0;
        with_nul[120] = 0;
        for hay in [&hay, &with_nul] {
            for needle in 0..=255u8 {
                for start in 0..20 {
                    for end in [start, start + 1, start + 7, start + 8, start + 9, 100, 200] {
                        let h = &hay[start..end.max(start)];
                        assert_eq!(
                            find_byte_or_nul(needle, h),
                            h.iter().position(|&b| b == needle || b == 0)
                        );
                    }
                }
            }
        }
        assert_eq!(
            find_byte_or_nul(b'\r', b"\x80\x80\x80\x80\x80\x80\x80\r"),
            Some(7)
        );
        assert_eq!(
            find_byte_or_nul(0x80, b"\x01\x01\x01\x01\x01\x01\x01\x80"),
            Some(7)
        );
        assert_eq!(find_byte_or_nul(b'\n', b"abcdefgh\0\n"), Some(8));
        assert_eq!(find_byte_or_nul(b'\n', b"ab\ncdefgh\0"), Some(2));
    }

    /// Redis finds line ends with `strchr` on a NUL-terminated buffer: a NUL
    /// before the terminator hides it, so the request waits until more than
    /// 64 KiB are pending, then gets the "too big" error.
    #[test]
    fn nul_before_terminator_stalls_until_too_big() {
        let lim = Limits::default().max_inline_len;
        // (input, where the stalled line starts, error)
        for (head, line_start, text) in [
            (
                &b"SET a b\0c\r\n"[..],
                0,
                "Protocol error: too big inline request",
            ),
            (b"\0PING\r\n", 0, "Protocol error: too big inline request"),
            (
                b"*1\0\r\n$4\r\nPING\r\n",
                0,
                "Protocol error: too big mbulk count string",
            ),
            (
                b"*2\r\n$3\0\r\nGET\r\n",
                4,
                "Protocol error: too big bulk count string",
            ),
        ] {
            let mut p = RequestParser::default();
            assert!(matches!(p.parse(head), Ok(None)), "{head:?}");
            // Complete lines after it do not help, and are never run.
            let mut input = head.to_vec();
            while input.len() < line_start + lim {
                input.extend_from_slice(b"PING\r\n");
            }
            input.truncate(line_start + lim);
            let (cmds, off, e) = parse_all(&mut p, &input);
            assert!(cmds.is_empty() && off == 0 && e.is_none(), "{head:?}");
            input.push(b'\n');
            let (cmds, _, e) = parse_all(&mut p, &input);
            assert!(cmds.is_empty());
            assert_eq!(e.as_deref(), Some(text), "{head:?}");
            // Whole at once: the same.
            assert_eq!(err(&input), text);
        }
        // Commands before the stalled line run; a NUL after the newline is
        // the next line's problem.
        let (cmds, off, e) = parse_all(&mut RequestParser::default(), b"PING\r\nSET a\0\r\n");
        assert_eq!((cmds, off, e), (vec![v(&["PING"])], 6, None));
        // A NUL inside a bulk payload is data, as ever.
        assert_eq!(
            one(b"*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\n"),
            Ok(Some(vec![b"ECHO".to_vec(), b"a\0b".to_vec()]))
        );
    }

    #[test]
    fn protocol_error_is_an_error() {
        let e = err(b"*x\r\n");
        let pe = ProtocolError(e.clone());
        assert_eq!(pe.to_string(), e);
        assert_eq!(pe.as_str(), e);
        let _: &dyn std::error::Error = &pe;
        assert_eq!(
            ProtocolError::expected_dollar(b'\n').0,
            "Protocol error: expected '$', got ' '"
        );
    }
}
