//! Property tests against an independent RESP implementation
//! (`redis-protocol`) and against reference models of Redis's own code.

use proptest::collection::vec;
use proptest::prelude::*;
use redis_protocol::resp2::decode::decode as decode2;
use redis_protocol::resp2::types::OwnedFrame as Frame2;
use redis_protocol::resp3::decode::complete::decode as decode3;
use redis_protocol::resp3::types::{OwnedFrame as Frame3, VerbatimStringFormat};
use shoal_protocol::{Limits, Proto, ReplyBuf, RequestParser};

type Command = Vec<Vec<u8>>;

/// What a server sees from one `parse` call that did not return `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Command(Command),
    Error(String),
}

/// Feeds `chunks` the way a server does: append to the read buffer, parse
/// until `None`, drop the consumed bytes. Stops at the first error. Also
/// returns how many bytes were left unconsumed (`None` after an error).
fn feed_chunks(parser: &mut RequestParser, chunks: &[&[u8]]) -> (Vec<Outcome>, Option<usize>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&buf) {
                Ok(Some((n, args))) => {
                    assert!(n > 0 && n <= buf.len());
                    out.push(Outcome::Command(args.to_vec()));
                    buf.drain(..n);
                }
                Ok(None) => break,
                Err(e) => {
                    out.push(Outcome::Error(e.0));
                    return (out, None);
                }
            }
        }
    }
    (out, Some(buf.len()))
}

fn split_at_sizes<'a>(input: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = input;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        let (head, tail) = rest.split_at(n);
        chunks.push(head);
        rest = tail;
    }
    chunks
}

fn encode_multibulk(cmd: &Command) -> Vec<u8> {
    let mut out = format!("*{}\r\n", cmd.len()).into_bytes();
    for arg in cmd {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Decodes every complete frame with redis-protocol, as commands.
fn oracle_commands(mut input: &[u8]) -> Vec<Command> {
    let mut cmds = Vec::new();
    while let Some((frame, n)) = decode2(input).expect("oracle rejects valid input") {
        match frame {
            Frame2::Array(items) => cmds.push(
                items
                    .into_iter()
                    .map(|f| match f {
                        Frame2::BulkString(b) => b,
                        other => panic!("unexpected frame {other:?}"),
                    })
                    .collect(),
            ),
            other => panic!("unexpected frame {other:?}"),
        }
        input = &input[n..];
    }
    assert!(input.is_empty());
    cmds
}

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..12),
        2 => vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'$'), Just(b'*'), Just(b'0')], 0..6),
        1 => vec(any::<u8>(), 100..3000),
    ]
}

fn commands() -> impl Strategy<Value = Vec<Command>> {
    vec(vec(arg(), 1..8), 1..12)
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    vec(
        prop_oneof![3 => 1usize..8, 2 => 8usize..64, 1 => 64usize..4096],
        1..32,
    )
}

/// Fragments that make random input look like (often broken) RESP.
fn fuzz_input() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        Just(b"*2\r\n".to_vec()),
        Just(b"*1\r\n".to_vec()),
        Just(b"*0\r\n".to_vec()),
        Just(b"*-1\r\n".to_vec()),
        Just(b"$3\r\n".to_vec()),
        Just(b"$0\r\n".to_vec()),
        Just(b"$-1\r\n".to_vec()),
        Just(b"$12\r\n".to_vec()),
        Just(b"abc".to_vec()),
        "[*$]-?[0-9]{1,21}\r\n".prop_map(String::into_bytes),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"ping \"a b\" 'c'\n".to_vec()),
        Just(b"\"\\x41\" x\r\n".to_vec()),
        vec(
            prop_oneof![
                Just(b'*'),
                Just(b'$'),
                Just(b'-'),
                Just(b'1'),
                Just(b'9'),
                Just(b'0'),
                Just(b'\r'),
                Just(b'\n'),
                Just(b'"'),
                Just(b'\''),
                Just(b'\\'),
                Just(b'x'),
                Just(b' '),
                Just(0u8),
                any::<u8>(),
            ],
            0..8
        ),
    ];
    vec(fragment, 0..24).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Multibulk commands split at random boundaries parse to exactly what
    /// redis-protocol decodes from the same bytes.
    #[test]
    fn requests_match_redis_protocol(cmds in commands(), sizes in chunk_sizes()) {
        let input: Vec<u8> = cmds.iter().flat_map(encode_multibulk).collect();
        let expected = oracle_commands(&input);
        prop_assert_eq!(&expected, &cmds);
        let mut parser = RequestParser::default();
        let (got, left) = feed_chunks(&mut parser, &split_at_sizes(&input, &sizes));
        let expected: Vec<Outcome> = expected.into_iter().map(Outcome::Command).collect();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(left, Some(0));
        prop_assert!(!parser.in_progress());
    }

    /// For any input at all (mostly broken RESP), feeding it whole or in
    /// random pieces yields the same commands and the same error: results
    /// never depend on TCP segmentation. Also: no panics.
    #[test]
    fn chunking_never_changes_the_outcome(
        input in fuzz_input(),
        sizes in chunk_sizes(),
        max_inline_len in 4usize..48,
        max_bulk_len in 0usize..16,
        max_multibulk_len in 0usize..4,
        authenticated in any::<bool>(),
    ) {
        let limits = Limits { max_bulk_len, max_multibulk_len, max_inline_len };
        let mut whole = RequestParser::new(limits);
        whole.set_authenticated(authenticated);
        let mut pieces = RequestParser::new(limits);
        pieces.set_authenticated(authenticated);
        let a = feed_chunks(&mut whole, &[&input]);
        let b = feed_chunks(&mut pieces, &split_at_sizes(&input, &sizes));
        prop_assert_eq!(a, b);
    }

    /// Inline splitting agrees with a line-by-line model of `sdssplitargs`
    /// (a line with a NUL byte never completes, as with Redis's `strchr`).
    #[test]
    fn inline_matches_sdssplitargs_model(
        line in vec(prop_oneof![
            Just(b'a'), Just(b'B'), Just(b'4'), Just(b'f'), Just(b'x'), Just(b'n'),
            Just(b' '), Just(b'\t'), Just(0x0b), Just(b'\r'), Just(b'"'), Just(b'\''),
            Just(b'\\'), Just(0u8), Just(0xffu8),
        ], 0..40)
    ) {
        let mut input = line.clone();
        input.push(b'\n');
        let mut parser = RequestParser::default();
        let got = match parser.parse(&input) {
            Ok(Some((n, args))) => {
                prop_assert_eq!(n, input.len());
                Ok(args.to_vec())
            }
            Ok(None) => {
                // strchr stops at a NUL: the newline after it is never seen.
                prop_assert!(line.contains(&0), "a full line without NUL is never incomplete");
                return Ok(());
            }
            Err(e) => {
                prop_assert_eq!(e.0, "Protocol error: unbalanced quotes in request");
                Err(())
            }
        };
        // processInlineBuffer drops one '\r' before the '\n'.
        let mut model_line = line;
        if model_line.last() == Some(&b'\r') {
            model_line.pop();
        }
        prop_assert_eq!(got, sdssplitargs_model(&model_line));
    }
}

/// A direct transcription of Redis's `sdssplitargs` over a NUL-terminated
/// copy, written independently of the crate's implementation.
fn sdssplitargs_model(line: &[u8]) -> Result<Command, ()> {
    let mut s = line.to_vec();
    s.push(0);
    let isspace = |c: u8| c == b' ' || (9..=13).contains(&c);
    let is_hex = |c: u8| c.is_ascii_hexdigit();
    let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    let mut p = 0usize;
    let mut argv = Vec::new();
    loop {
        while s[p] != 0 && isspace(s[p]) {
            p += 1;
        }
        if s[p] == 0 {
            return Ok(argv);
        }
        let (mut inq, mut insq, mut done) = (false, false, false);
        let mut current = Vec::new();
        while !done {
            if inq {
                if s[p] == b'\\' && s[p + 1] == b'x' && is_hex(s[p + 2]) && is_hex(s[p + 3]) {
                    current.push(hex(s[p + 2]) * 16 + hex(s[p + 3]));
                    p += 3;
                } else if s[p] == b'\\' && s[p + 1] != 0 {
                    p += 1;
                    current.push(match s[p] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                } else if s[p] == b'"' {
                    if s[p + 1] != 0 && !isspace(s[p + 1]) {
                        return Err(());
                    }
                    done = true;
                } else if s[p] == 0 {
                    return Err(());
                } else {
                    current.push(s[p]);
                }
            } else if insq {
                if s[p] == b'\\' && s[p + 1] == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if s[p] == b'\'' {
                    if s[p + 1] != 0 && !isspace(s[p + 1]) {
                        return Err(());
                    }
                    done = true;
                } else if s[p] == 0 {
                    return Err(());
                } else {
                    current.push(s[p]);
                }
            } else {
                match s[p] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => current.push(c),
                }
            }
            if s[p] != 0 {
                p += 1;
            }
        }
        argv.push(current);
    }
}

// ---------------------------------------------------------------- replies

#[derive(Debug, Clone)]
enum Value {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    BulkInt(i64),
    Null,
    NullArray,
    Double(f64),
    Bool(bool),
    Verbatim(bool, Vec<u8>),
    BigNumber(String),
    /// Elements, and whether to write the header deferred.
    Array(Vec<Value>, bool),
    /// Pairs with distinct keys, deferred flag.
    Map(Vec<(Vec<u8>, Value)>, bool),
    /// Distinct members, deferred flag.
    Set(Vec<Vec<u8>>, bool),
}

fn line_text() -> impl Strategy<Value = String> {
    // Printable ASCII: simple strings and errors are lines, and
    // redis-protocol wants error text to be UTF-8.
    "[ -~]{0,20}"
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        line_text().prop_map(Value::Simple),
        line_text().prop_map(|s| Value::Error(format!("ERR {s}"))),
        any::<i64>().prop_map(Value::Int),
        vec(any::<u8>(), 0..24).prop_map(Value::Bulk),
        any::<i64>().prop_map(Value::BulkInt),
        Just(Value::Null),
        Just(Value::NullArray),
        prop_oneof![
            any::<f64>(),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::NAN),
            Just(-0.0),
            (-1000i32..1000).prop_map(|i| f64::from(i) / 4.0),
        ]
        .prop_map(Value::Double),
        any::<bool>().prop_map(Value::Bool),
        (any::<bool>(), vec(any::<u8>(), 0..24)).prop_map(|(md, t)| Value::Verbatim(md, t)),
        "-?[1-9][0-9]{0,40}".prop_map(Value::BigNumber),
        (vec(vec(any::<u8>(), 0..6), 0..6), any::<bool>()).prop_map(|(mut m, d)| {
            m.sort();
            m.dedup();
            Value::Set(m, d)
        }),
    ];
    leaf.prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            (vec(inner.clone(), 0..6), any::<bool>()).prop_map(|(v, d)| Value::Array(v, d)),
            (vec((vec(any::<u8>(), 0..6), inner), 0..5), any::<bool>()).prop_map(|(pairs, d)| {
                let mut seen = std::collections::HashSet::new();
                let pairs = pairs
                    .into_iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .collect();
                Value::Map(pairs, d)
            }),
        ]
    })
}

fn encode(r: &mut ReplyBuf, v: &Value) {
    match v {
        Value::Simple(s) => r.simple_str(s),
        Value::Error(s) => r.error_str(s),
        Value::Int(i) => r.int(*i),
        Value::Bulk(b) => r.bulk(b),
        Value::BulkInt(i) => r.bulk_int(*i),
        Value::Null => r.null(),
        Value::NullArray => r.null_array(),
        Value::Double(d) => r.double(*d),
        Value::Bool(b) => r.boolean(*b),
        Value::Verbatim(md, t) => r.verbatim(if *md { b"mkd" } else { b"txt" }, t),
        Value::BigNumber(n) => r.big_number(n.as_bytes()),
        Value::Array(items, deferred) => {
            if *deferred {
                let d = r.deferred_array();
                items.iter().for_each(|i| encode(r, i));
                r.finish_deferred(d, items.len());
            } else {
                r.array(items.len());
                items.iter().for_each(|i| encode(r, i));
            }
        }
        Value::Map(pairs, deferred) => {
            let d = if *deferred {
                Some(r.deferred_map())
            } else {
                r.map(pairs.len());
                None
            };
            for (k, v) in pairs {
                r.bulk(k);
                encode(r, v);
            }
            if let Some(d) = d {
                r.finish_deferred(d, pairs.len());
            }
        }
        Value::Set(members, deferred) => {
            let d = if *deferred {
                Some(r.deferred_set())
            } else {
                r.set(members.len());
                None
            };
            members.iter().for_each(|m| r.bulk(m));
            if let Some(d) = d {
                r.finish_deferred(d, members.len());
            }
        }
    }
}

fn same_double(text: &[u8], d: f64) -> bool {
    let parsed: f64 = std::str::from_utf8(text).unwrap().parse().unwrap();
    same_f64(parsed, d)
}

fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// The RESP2 frame of a scalar (or set) value.
fn expected2(v: &Value) -> Frame2 {
    match v {
        Value::Simple(s) => Frame2::SimpleString(s.clone().into_bytes()),
        Value::Error(s) => Frame2::Error(s.clone()),
        Value::Int(i) => Frame2::Integer(*i),
        Value::Bulk(b) => Frame2::BulkString(b.clone()),
        Value::BulkInt(i) => Frame2::BulkString(i.to_string().into_bytes()),
        Value::Null | Value::NullArray => Frame2::Null,
        Value::Bool(b) => Frame2::Integer(i64::from(*b)),
        Value::Verbatim(_, t) => Frame2::BulkString(t.clone()),
        Value::BigNumber(n) => Frame2::BulkString(n.clone().into_bytes()),
        Value::Double(_) | Value::Array(..) | Value::Map(..) => {
            unreachable!("compared structurally in check2")
        }
        Value::Set(m, _) => Frame2::Array(m.iter().cloned().map(Frame2::BulkString).collect()),
    }
}

fn check2(v: &Value, f: &Frame2) -> Result<(), String> {
    match (v, f) {
        (Value::Double(d), Frame2::BulkString(text)) if same_double(text, *d) => Ok(()),
        (Value::Array(items, _), Frame2::Array(frames)) if items.len() == frames.len() => {
            items.iter().zip(frames).try_for_each(|(v, f)| check2(v, f))
        }
        (Value::Map(pairs, _), Frame2::Array(frames)) if pairs.len() * 2 == frames.len() => pairs
            .iter()
            .zip(frames.chunks(2))
            .try_for_each(|((k, v), kv)| {
                if kv[0] != Frame2::BulkString(k.clone()) {
                    return Err(format!("key {kv:?} != {k:?}"));
                }
                check2(v, &kv[1])
            }),
        (Value::Double(_) | Value::Array(..) | Value::Map(..), _) => Err(format!("{v:?} vs {f:?}")),
        _ if expected2(v) == *f => Ok(()),
        _ => Err(format!("{v:?} vs {f:?}")),
    }
}

fn check3(v: &Value, f: &Frame3) -> Result<(), String> {
    let ok = match (v, f) {
        (Value::Simple(s), Frame3::SimpleString { data, .. }) => data == s.as_bytes(),
        (Value::Error(s), Frame3::SimpleError { data, .. }) => data == s,
        (Value::Int(i), Frame3::Number { data, .. }) => data == i,
        (Value::Bulk(b), Frame3::BlobString { data, .. }) => data == b,
        (Value::BulkInt(i), Frame3::BlobString { data, .. }) => *data == i.to_string().into_bytes(),
        (Value::Null | Value::NullArray, Frame3::Null) => true,
        (Value::Double(d), Frame3::Double { data, .. }) => same_f64(*data, *d),
        (Value::Bool(b), Frame3::Boolean { data, .. }) => data == b,
        (Value::Verbatim(md, t), Frame3::VerbatimString { data, format, .. }) => {
            let want = if *md {
                VerbatimStringFormat::Markdown
            } else {
                VerbatimStringFormat::Text
            };
            data == t && *format == want
        }
        (Value::BigNumber(n), Frame3::BigNumber { data, .. }) => data == n.as_bytes(),
        (Value::Array(items, _), Frame3::Array { data, .. }) if items.len() == data.len() => {
            return items.iter().zip(data).try_for_each(|(v, f)| check3(v, f));
        }
        (Value::Map(pairs, _), Frame3::Map { data, .. }) if pairs.len() == data.len() => {
            return pairs.iter().try_for_each(|(k, v)| {
                let key = Frame3::BlobString {
                    data: k.clone(),
                    attributes: None,
                };
                match data.get(&key) {
                    Some(f) => check3(v, f),
                    None => Err(format!("missing key {k:?}")),
                }
            });
        }
        (Value::Set(m, _), Frame3::Set { data, .. }) => {
            m.len() == data.len()
                && m.iter().all(|k| {
                    data.contains(&Frame3::BlobString {
                        data: k.clone(),
                        attributes: None,
                    })
                })
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{v:?} vs {f:?}"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Values encoded by ReplyBuf decode, with redis-protocol, to the frames
    /// they stand for, in both protocols, consuming exactly the bytes written.
    #[test]
    fn replies_decode_with_redis_protocol(values in vec(value(), 1..4)) {
        let mut r2 = ReplyBuf::new(Proto::Resp2);
        let mut r3 = ReplyBuf::new(Proto::Resp3);
        for v in &values {
            encode(&mut r2, v);
            encode(&mut r3, v);
        }
        let mut bytes = r2.as_bytes();
        for v in &values {
            let (frame, n) = decode2(bytes).map_err(|e| TestCaseError::fail(format!("{e:?}")))?
                .ok_or_else(|| TestCaseError::fail("incomplete RESP2"))?;
            check2(v, &frame).map_err(TestCaseError::fail)?;
            bytes = &bytes[n..];
        }
        prop_assert!(bytes.is_empty());
        let mut bytes = r3.as_bytes();
        for v in &values {
            let (frame, n) = decode3(bytes).map_err(|e| TestCaseError::fail(format!("{e:?}")))?
                .ok_or_else(|| TestCaseError::fail("incomplete RESP3"))?;
            check3(v, &frame).map_err(TestCaseError::fail)?;
            bytes = &bytes[n..];
        }
        prop_assert!(bytes.is_empty());
    }

    /// Every finite double prints as a decimal that parses back to itself.
    #[test]
    fn doubles_round_trip(d in any::<f64>()) {
        let mut r = ReplyBuf::new(Proto::Resp3);
        r.double(d);
        let text = r.as_bytes();
        prop_assert!(text.starts_with(b",") && text.ends_with(b"\r\n"));
        prop_assert!(same_double(&text[1..text.len() - 2], d));
    }

    /// Errors and simple strings stay one line whatever the text.
    #[test]
    fn lines_stay_lines(text in vec(any::<u8>(), 0..40)) {
        let mut r = ReplyBuf::new(Proto::Resp2);
        r.error(&text);
        r.simple(&text);
        let bytes = r.as_bytes();
        prop_assert_eq!(bytes.len(), 2 * (text.len() + 3));
        let first = &bytes[..text.len() + 3];
        prop_assert!(!first[1..text.len() + 1].contains(&b'\r'));
        prop_assert!(!first[1..text.len() + 1].contains(&b'\n'));
    }
}
