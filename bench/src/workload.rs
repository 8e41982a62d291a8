//! What to send: command templates, key choice and request encoding.
//!
//! A [`Workload`] is built once from the flags and shared by every connection. Each
//! command is a [`Template`] pre-encoded into constant byte segments and key slots, so
//! encoding a request is a few `memcpy`s plus writing the key's number. The SET:GET mix
//! is a fixed cycle (1:10 = one SET then ten GETs), as memtier does, each connection
//! starting at a different point of it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::cli::{Args, KeyPattern};
use crate::resp::{decimal_len, write_array_header, write_bulk, write_u64};

/// What a request is, for counting its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A SET.
    Set,
    /// A GET: a bulk reply is a hit, a null a miss.
    Get,
    /// A custom `--command`.
    Other,
}

/// One piece of an encoded request.
#[derive(Clone, Debug)]
enum Segment {
    /// Bytes copied as they are.
    Bytes(Vec<u8>),
    /// A key argument: `$len\r\n<prefix><n>\r\n`.
    Key,
}

/// A command, pre-encoded.
#[derive(Clone, Debug)]
pub struct Template {
    segments: Vec<Segment>,
    kind: Kind,
}

impl Template {
    /// Builds a template from arguments; `__key__` is a key slot and `__data__` the
    /// value, as in memtier's `--command`.
    fn new(args: &[&[u8]], value: &[u8], kind: Kind) -> Template {
        let mut segments = Vec::new();
        let mut bytes = Vec::new();
        write_array_header(&mut bytes, args.len());
        for &arg in args {
            match arg {
                b"__key__" => {
                    segments.push(Segment::Bytes(std::mem::take(&mut bytes)));
                    segments.push(Segment::Key);
                }
                b"__data__" => write_bulk(&mut bytes, value),
                lit => write_bulk(&mut bytes, lit),
            }
        }
        segments.push(Segment::Bytes(bytes));
        segments.retain(|s| !matches!(s, Segment::Bytes(b) if b.is_empty()));
        Template { segments, kind }
    }
}

/// Everything a connection needs to generate requests; shared, immutable but for the
/// sequential-key counter.
#[derive(Debug)]
pub struct Workload {
    /// The command cycle: `cycle[i % cycle.len()]` is the i-th request's template.
    cycle: Vec<Arc<Template>>,
    prefix: Vec<u8>,
    keyspace: u64,
    pattern: KeyPattern,
    /// Next sequential key, minus one (shared by all connections).
    seq: AtomicU64,
}

impl Workload {
    /// The workload the flags describe.
    pub fn from_args(args: &Args) -> Workload {
        let value = vec![b'x'; args.value_size];
        let cycle = if let Some(cmd) = &args.command {
            // `;` separates the commands of a sequence (MULTI; SET ...; EXEC), sent in
            // order by every connection.
            cmd.split(';')
                .map(|one| {
                    let parts: Vec<&[u8]> = one.split_whitespace().map(str::as_bytes).collect();
                    Arc::new(Template::new(&parts, &value, Kind::Other))
                })
                .collect()
        } else {
            let sizes = args
                .data_size_range
                .map_or_else(|| vec![args.value_size], |r| r.sizes());
            let get = Arc::new(Template::new(&[b"GET", b"__key__"], &value, Kind::Get));
            let mut cycle = Vec::new();
            // One SET:GET cycle per value size: the sizes come in turn.
            for size in sizes {
                let set = Arc::new(Template::new(
                    &[b"SET", b"__key__", b"__data__"],
                    &vec![b'x'; size],
                    Kind::Set,
                ));
                cycle.extend(std::iter::repeat_n(set, args.ratio.sets as usize));
                cycle.extend(std::iter::repeat_n(
                    Arc::clone(&get),
                    args.ratio.gets as usize,
                ));
            }
            cycle
        };
        Workload {
            cycle,
            prefix: args.key_prefix.as_bytes().to_vec(),
            keyspace: args.keyspace,
            pattern: args.key_pattern,
            seq: AtomicU64::new(0),
        }
    }

    /// The prefill workload: SET each key once, sequentially.
    pub fn prefill(args: &Args) -> Workload {
        let value = vec![b'x'; args.value_size];
        let set = Template::new(&[b"SET", b"__key__", b"__data__"], &value, Kind::Set);
        Workload {
            cycle: vec![Arc::new(set)],
            prefix: args.key_prefix.as_bytes().to_vec(),
            keyspace: args.keyspace,
            pattern: KeyPattern::Seq,
            seq: AtomicU64::new(0),
        }
    }

    /// A generator for connection number `conn`.
    pub fn generator(self: &Arc<Self>, conn: usize) -> Generator {
        // A custom sequence (a transaction) starts at its first command everywhere;
        // the SET:GET cycle starts at a different point per connection.
        let sequence = self.cycle.iter().all(|t| t.kind == Kind::Other);
        Generator {
            pos: if sequence { 0 } else { conn % self.cycle.len() },
            rng: SmallRng::seed_from_u64(0x5eed_0000 ^ conn as u64),
            wl: Arc::clone(self),
        }
    }
}

/// Per-connection request generator.
#[derive(Debug)]
pub struct Generator {
    wl: Arc<Workload>,
    rng: SmallRng,
    pos: usize,
}

impl Generator {
    /// The next key number, in `1..=keyspace`.
    #[cfg(test)]
    fn next_key(&mut self) -> u64 {
        next_key(&self.wl, &mut self.rng)
    }

    /// Appends the next request to `out` and says what it is.
    pub fn encode_next(&mut self, out: &mut Vec<u8>) -> Kind {
        let Generator { wl, rng, pos } = self;
        let template = &wl.cycle[*pos];
        *pos += 1;
        if *pos == wl.cycle.len() {
            *pos = 0;
        }
        for segment in &template.segments {
            match segment {
                Segment::Bytes(b) => out.extend_from_slice(b),
                Segment::Key => {
                    let n = next_key(wl, rng);
                    out.push(b'$');
                    write_u64(out, (wl.prefix.len() + decimal_len(n)) as u64);
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(&wl.prefix);
                    write_u64(out, n);
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
        template.kind
    }
}

/// Draws a key number in `1..=keyspace`.
fn next_key(wl: &Workload, rng: &mut SmallRng) -> u64 {
    match wl.pattern {
        KeyPattern::Random => rng.random_range(1..=wl.keyspace),
        KeyPattern::Seq => wl.seq.fetch_add(1, Ordering::Relaxed) % wl.keyspace + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("shoal-load").chain(extra.iter().copied())).unwrap()
    }

    #[test]
    fn set_get_cycle_and_encoding() {
        let wl = Arc::new(Workload::from_args(&args(&[
            "--ratio",
            "1:2",
            "--keyspace",
            "3",
            "--key-pattern",
            "seq",
            "--value-size",
            "3",
        ])));
        let mut g = wl.generator(0);
        let mut out = Vec::new();
        let kinds: Vec<Kind> = (0..4).map(|_| g.encode_next(&mut out)).collect();
        assert_eq!(kinds, [Kind::Set, Kind::Get, Kind::Get, Kind::Set]);
        let expected = concat!(
            "*3\r\n$3\r\nSET\r\n$9\r\nmemtier-1\r\n$3\r\nxxx\r\n",
            "*2\r\n$3\r\nGET\r\n$9\r\nmemtier-2\r\n",
            "*2\r\n$3\r\nGET\r\n$9\r\nmemtier-3\r\n",
            "*3\r\n$3\r\nSET\r\n$9\r\nmemtier-1\r\n$3\r\nxxx\r\n",
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn random_keys_stay_in_range() {
        let wl = Arc::new(Workload::from_args(&args(&[
            "--ratio",
            "0:1",
            "--keyspace",
            "5",
        ])));
        let mut g = wl.generator(3);
        for _ in 0..1000 {
            let k = g.next_key();
            assert!((1..=5).contains(&k));
        }
    }

    #[test]
    fn custom_command() {
        let wl = Arc::new(Workload::from_args(&args(&[
            "--command",
            "HSET h __key__ __data__",
            "--value-size",
            "1",
            "--key-prefix",
            "k",
            "--keyspace",
            "1",
        ])));
        let mut out = Vec::new();
        assert_eq!(wl.generator(0).encode_next(&mut out), Kind::Other);
        assert_eq!(
            out,
            b"*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$2\r\nk1\r\n$1\r\nx\r\n"
        );
    }

    #[test]
    fn a_command_sequence_is_sent_in_order_from_its_start() {
        let wl = Arc::new(Workload::from_args(&args(&[
            "--command",
            "MULTI; INCR __key__; EXEC",
            "--key-prefix",
            "k",
            "--keyspace",
            "1",
        ])));
        for conn in 0..3 {
            let mut g = wl.generator(conn);
            let mut out = Vec::new();
            for _ in 0..4 {
                g.encode_next(&mut out);
            }
            assert_eq!(
                out,
                b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$2\r\nk1\r\n*1\r\n$4\r\nEXEC\r\n*1\r\n$5\r\nMULTI\r\n"
            );
        }
    }
}
