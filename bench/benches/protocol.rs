//! Request parsing and reply encoding: Shoal's `shoal-protocol` against the
//! `redis-protocol` crate (the off-the-shelf RESP implementation we could have
//! used instead). These are the measurements behind DESIGN.md decision 2
//! ("pipelining is the fast path"; "a partial frame waits for more bytes
//! without re-parsing what was already parsed").
//!
//! * `parse_pipeline/{set,get}`: one read buffer holding 1000 pipelined
//!   `SET key:<i> <32-byte value>` (or `GET key:<i>`) multibulk commands,
//!   parsed the way the server's batch loop does it: parse at the offset until
//!   the parser says "incomplete", advance by what each command consumed.
//!   `redis-protocol` runs the same loop with `resp2::decode::decode` (owned
//!   frames, as documented) and `decode_range` (its zero-copy core, for
//!   reference).
//! * `parse_large_mset`: one `MSET` of 100,000 pairs (~5.6 MB). `whole` parses
//!   it from one buffer; `16KiB_reads` feeds it as a socket would, 16 KiB
//!   more on each call. Shoal's parser resumes where it stopped; `redis-protocol`
//!   returns "incomplete" and has to decode from the start again on every read.
//! * `encode_replies`: 1000 bulk replies of 32 bytes (a pipelined batch of GET
//!   hits) written with `ReplyBuf::bulk` versus `redis-protocol`'s
//!   `extend_encode_borrowed` with prebuilt frames, each into a reused buffer.
//!
//! Run: `cargo bench -p shoal-bench --bench protocol`. Under `cargo test`
//! (criterion's test mode, each routine once) the large request is shrunk to
//! 5,000 pairs so the test run stays quick; the measured run always uses the
//! full size.

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use redis_protocol::resp2::decode::{decode, decode_range};
use redis_protocol::resp2::encode::extend_encode_borrowed;
use redis_protocol::resp2::types::{BorrowedFrame, OwnedFrame};
use shoal_protocol::{Limits, Proto, ReplyBuf, RequestParser};

/// Commands per pipelined buffer, replies per encoded batch.
const PIPELINE: usize = 1000;
/// What one socket read delivers in the large-request case.
const READ: usize = 16 * 1024;
/// Pairs in the large MSET: 100,000 x (`$10` key + `$32` value) = ~5.6 MB.
const LARGE_PAIRS: usize = 100_000;
/// The same under `cargo test`, where each routine runs once, unoptimised.
const LARGE_PAIRS_TEST: usize = 5_000;

/// True when criterion measures (`cargo bench`), false in its test mode
/// (`cargo test --benches`, or `cargo bench -- --test`).
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

/// The 32-byte value of key number `i` (distinct per key, like real data).
fn value(i: usize) -> [u8; 32] {
    let mut v = *b"value-0000000000-abcdefghijklmno";
    v[6..16].copy_from_slice(format!("{i:010}").as_bytes());
    v
}

/// Appends one RESP multibulk command.
fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    write!(out, "*{}\r\n", args.len()).expect("write to Vec");
    for arg in args {
        write!(out, "${}\r\n", arg.len()).expect("write to Vec");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn set_pipeline() -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..PIPELINE {
        command(
            &mut buf,
            &[b"SET", format!("key:{i}").as_bytes(), &value(i)],
        );
    }
    buf
}

fn get_pipeline() -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..PIPELINE {
        command(&mut buf, &[b"GET", format!("key:{i}").as_bytes()]);
    }
    buf
}

fn large_mset(pairs: usize) -> Vec<u8> {
    let keys: Vec<String> = (0..pairs).map(|i| format!("key:{i:06}")).collect();
    let values: Vec<[u8; 32]> = (0..pairs).map(value).collect();
    let mut args: Vec<&[u8]> = vec![b"MSET"];
    for (k, v) in keys.iter().zip(&values) {
        args.push(k.as_bytes());
        args.push(v);
    }
    let mut buf = Vec::new();
    command(&mut buf, &args);
    buf
}

/// The server's batch loop over one read buffer: every complete command, in
/// order. Returns how many were parsed.
fn shoal_batch(parser: &mut RequestParser, buf: &[u8]) -> usize {
    let mut off = 0;
    let mut n = 0;
    while let Some((consumed, args)) = parser.parse(&buf[off..]).expect("valid RESP") {
        black_box(args);
        off += consumed;
        n += 1;
    }
    n
}

/// The same loop with `redis-protocol`'s documented entry point.
fn redis_batch(buf: &[u8]) -> usize {
    let mut off = 0;
    let mut n = 0;
    while let Some((frame, consumed)) = decode(&buf[off..]).expect("valid RESP") {
        black_box(frame);
        off += consumed;
        n += 1;
    }
    n
}

/// The same loop with `redis-protocol`'s zero-copy core (frames of ranges).
fn redis_range_batch(buf: &[u8]) -> usize {
    let mut off = 0;
    let mut n = 0;
    while let Some((frame, consumed)) = decode_range(&buf[off..]).expect("valid RESP") {
        black_box(frame);
        off += consumed;
        n += 1;
    }
    n
}

/// Elements of an array frame.
fn frame_len(frame: &OwnedFrame) -> usize {
    match frame {
        OwnedFrame::Array(items) => items.len(),
        _ => 0,
    }
}

/// Feeds `buf` to Shoal's parser 16 KiB more at a time, as reads arrive.
/// Returns the number of arguments of the command once it is complete.
fn shoal_reads(parser: &mut RequestParser, buf: &[u8]) -> usize {
    let mut end = 0;
    loop {
        end = (end + READ).min(buf.len());
        if let Some((_, args)) = parser.parse(&buf[..end]).expect("valid RESP") {
            return args.len();
        }
        assert!(end < buf.len(), "complete buffer reported incomplete");
    }
}

/// The same with `redis-protocol`: each read, decode from the start again.
fn redis_reads(buf: &[u8]) -> usize {
    let mut end = 0;
    loop {
        end = (end + READ).min(buf.len());
        if let Some((frame, _)) = decode(&buf[..end]).expect("valid RESP") {
            return frame_len(&frame);
        }
        assert!(end < buf.len(), "complete buffer reported incomplete");
    }
}

fn parse_pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_pipeline");
    group.throughput(Throughput::Elements(PIPELINE as u64));
    for (name, buf) in [("set", set_pipeline()), ("get", get_pipeline())] {
        let mut parser = RequestParser::new(Limits::default());
        assert_eq!(shoal_batch(&mut parser, &buf), PIPELINE);
        assert_eq!(redis_batch(&buf), PIPELINE);
        assert_eq!(redis_range_batch(&buf), PIPELINE);
        group.bench_function(BenchmarkId::new("shoal", name), |b| {
            b.iter(|| shoal_batch(&mut parser, black_box(&buf)))
        });
        group.bench_function(BenchmarkId::new("redis-protocol_decode", name), |b| {
            b.iter(|| redis_batch(black_box(&buf)))
        });
        group.bench_function(BenchmarkId::new("redis-protocol_decode_range", name), |b| {
            b.iter(|| redis_range_batch(black_box(&buf)))
        });
    }
    group.finish();
}

fn parse_large_mset(c: &mut Criterion) {
    let pairs = if measuring() {
        LARGE_PAIRS
    } else {
        LARGE_PAIRS_TEST
    };
    let buf = large_mset(pairs);
    let mut parser = RequestParser::new(Limits::default());
    let args = 1 + 2 * pairs;
    assert_eq!(shoal_batch(&mut parser, &buf), 1);
    assert_eq!(shoal_reads(&mut parser, &buf), args);
    match decode(&buf).expect("valid RESP") {
        Some((frame, n)) => assert_eq!((frame_len(&frame), n), (args, buf.len())),
        None => panic!("redis-protocol: complete MSET reported incomplete"),
    }

    let mut group = c.benchmark_group("parse_large_mset");
    group.throughput(Throughput::Bytes(buf.len() as u64));
    group.bench_function("shoal/whole", |b| {
        b.iter(|| shoal_batch(&mut parser, black_box(&buf)))
    });
    group.bench_function("shoal/16KiB_reads", |b| {
        b.iter(|| shoal_reads(&mut parser, black_box(&buf)))
    });
    group.bench_function("redis-protocol/whole", |b| {
        b.iter(|| redis_batch(black_box(&buf)))
    });
    // Quadratic: seconds per run. Flat sampling runs it only sample_size times.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function("redis-protocol/16KiB_reads", |b| {
        b.iter(|| redis_reads(black_box(&buf)))
    });
    group.finish();
}

fn encode_replies(c: &mut Criterion) {
    let values: Vec<[u8; 32]> = (0..PIPELINE).map(value).collect();
    let frames: Vec<BorrowedFrame<'_>> = values
        .iter()
        .map(|v| BorrowedFrame::BulkString(v))
        .collect();

    let mut out = ReplyBuf::new(Proto::Resp2);
    let mut theirs = BytesMut::new();
    for (v, f) in values.iter().zip(&frames) {
        out.bulk(v);
        extend_encode_borrowed(&mut theirs, f, false).expect("encode");
    }
    assert_eq!(
        out.as_bytes(),
        &theirs[..],
        "both encoders write the same bytes"
    );

    let mut group = c.benchmark_group("encode_replies");
    group.throughput(Throughput::Elements(PIPELINE as u64));
    group.bench_function("shoal_ReplyBuf", |b| {
        b.iter(|| {
            out.clear();
            for v in &values {
                out.bulk(black_box(v));
            }
            black_box(out.len())
        })
    });
    group.bench_function("redis-protocol_extend_encode", |b| {
        b.iter(|| {
            theirs.clear();
            for f in &frames {
                extend_encode_borrowed(&mut theirs, black_box(f), false).expect("encode");
            }
            black_box(theirs.len())
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse_pipeline, parse_large_mset, encode_replies
}
criterion_main!(benches);
