//! RESP2/RESP3 wire format for Shoal: request parsing and reply encoding.
//!
//! This crate knows bytes, not sockets or keys: no I/O, no async runtime, no
//! storage. That keeps the hottest and most attacker-exposed code of the
//! server small, synchronous and testable in isolation (including against an
//! independent RESP implementation, see `tests/`).
//!
//! # Requests
//!
//! [`RequestParser`] parses one command at a time from the start of the
//! connection's input buffer, both multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`,
//! what every client library sends) and inline (`GET k\n`, what people type
//! into telnet). Design choices, and why:
//!
//! * **Zero copy.** Multibulk arguments come back as [`Args`]: byte ranges
//!   into the caller's buffer, no per-argument allocation. Only inline
//!   arguments, which may need unescaping, are copied into a scratch buffer
//!   owned (and reused) by the parser.
//! * **Resumable.** When the buffer ends mid-command the parser keeps its
//!   position (argument count, arguments parsed, where the next header or
//!   terminator search starts), so the next call continues instead of
//!   starting over: a 5 MB `MSET` arriving in 16 KiB reads costs one pass,
//!   not one pass per read. Bulk payloads are skipped by length, never
//!   scanned.
//! * **Redis's rules and words.** Limits (`proto-max-bulk-len`, the
//!   unauthenticated caps), leniencies and error texts follow Redis 7.0's
//!   `networking.c`, because clients and test suites probe them. Declared
//!   lengths never drive allocation before the data arrives.
//!
//! A server drives it like this:
//!
//! ```
//! use shoal_protocol::{Limits, Proto, ReplyBuf, RequestParser};
//!
//! let mut parser = RequestParser::new(Limits::default());
//! let mut out = ReplyBuf::new(Proto::Resp2);
//! let input = b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$3\r\nGE";
//! let mut off = 0;
//! loop {
//!     match parser.parse(&input[off..]) {
//!         Ok(Some((consumed, args))) => {
//!             if !args.is_empty() {
//!                 match &args[0] {
//!                     b"PING" => out.simple(b"PONG"),
//!                     b"ECHO" => out.bulk(&args[1]),
//!                     _ => out.error(b"ERR unknown command"),
//!                 }
//!             }
//!             off += consumed;
//!         }
//!         // Incomplete: keep input[off..], read more, call again with it.
//!         Ok(None) => break,
//!         Err(e) => {
//!             out.protocol_error(&e); // then flush and close
//!             break;
//!         }
//!     }
//! }
//! assert_eq!(out.as_bytes(), b"+PONG\r\n$2\r\nhi\r\n");
//! assert_eq!(&input[off..], b"*1\r\n$3\r\nGE");
//! ```
//!
//! # Replies
//!
//! [`ReplyBuf`] appends RESP values to one output buffer, so a pipelined
//! batch is written with one syscall. Each writer takes the connection's
//! [`Proto`] into account (RESP3 maps, sets, doubles, booleans and nulls
//! degrade to their RESP2 forms as Redis does), so command handlers are
//! written once for both protocols.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod reply;
pub mod request;

pub use reply::{Aggregate, Deferred, Proto, ReplyBuf};
pub use request::{Args, ArgsIter, Limits, OwnedArgs, ProtocolError, RequestParser};
