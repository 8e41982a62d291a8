//! COMMAND DOCS and the argument schema of the command table: every command Shoal
//! shares with Redis documented exactly as redis-server 7.0.15 documents it (compared
//! with a real `redis-server`, RESP2 and RESP3), `redis-cli HELP` showing the syntax,
//! and Shoal's own commands documenting their arguments.
//!
//! These tests need `redis-server` 7.0 and `redis-cli` (packages redis-server and
//! redis-tools), which `scripts/test-all.sh` installs; a missing one fails the test.

use std::collections::HashSet;

use redis::aio::MultiplexedConnection;
use redis::Value;

use crate::common::{cmd, redis_cli, Proc, RedisServer, TestServer};

/// The key/value pairs of a map, RESP3 map or RESP2 flat array.
fn entries(v: &Value) -> Vec<(Value, Value)> {
    match v {
        Value::Map(kv) => kv.clone(),
        Value::Array(flat) if flat.len() % 2 == 0 => flat
            .chunks(2)
            .map(|kv| (kv[0].clone(), kv[1].clone()))
            .collect(),
        other => panic!("not a map: {other:?}"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not text: {other:?}"),
    }
}

/// The value of `field` in a map (either protocol).
fn field(v: &Value, name: &str) -> Option<Value> {
    entries(v)
        .into_iter()
        .find(|(k, _)| text(k) == name)
        .map(|(_, v)| v)
}

/// A docs map without its `subcommands` field (same container kind), and that
/// field's entries.
fn split_subcommands(doc: &Value) -> (Value, Vec<(Value, Value)>) {
    let is_subs = |k: &Value| text(k) == "subcommands";
    let subs = field(doc, "subcommands")
        .map(|s| entries(&s))
        .unwrap_or_default();
    let rest = match doc {
        Value::Map(kv) => Value::Map(kv.iter().filter(|(k, _)| !is_subs(k)).cloned().collect()),
        Value::Array(flat) => Value::Array(
            flat.chunks(2)
                .filter(|kv| !is_subs(&kv[0]))
                .flat_map(|kv| kv.iter().cloned())
                .collect(),
        ),
        other => panic!("not a map: {other:?}"),
    };
    (rest, subs)
}

/// `COMMAND DOCS name`: the one docs value, which must be there.
async fn docs(c: &mut MultiplexedConnection, name: &str) -> Value {
    let reply: Value = cmd(c, &["COMMAND", "DOCS", name]).await;
    let mut found = entries(&reply);
    assert_eq!(found.len(), 1, "COMMAND DOCS {name}: {reply:?}");
    let (key, doc) = found.remove(0);
    assert_eq!(text(&key), name);
    doc
}

/// Every command and subcommand Shoal implements that redis-server 7.0.15 has gets
/// the same COMMAND DOCS reply from both, frame for frame (types included: maps,
/// sets, simple strings), in RESP2 and RESP3. A container's `subcommands` map is
/// compared entry by entry for the subcommands both implement (Redis has more).
#[tokio::test]
async fn command_docs_match_redis() {
    let redis = RedisServer::start();
    let shoal = TestServer::start();
    for resp3 in [false, true] {
        let proto = if resp3 { "RESP3" } else { "RESP2" };
        let mut r = redis.conn(resp3).await;
        let mut s = if resp3 {
            shoal.conn3().await
        } else {
            shoal.conn().await
        };
        let version: String = cmd(&mut r, &["INFO", "server"]).await;
        assert!(
            version.contains("redis_version:7.0."),
            "the schemas follow redis-server 7.0.15; this one is: {}",
            version
                .lines()
                .find(|l| l.starts_with("redis_version"))
                .unwrap_or("?")
        );
        let ours: Vec<String> = cmd(&mut s, &["COMMAND", "LIST"]).await;
        let theirs: HashSet<String> = cmd::<Vec<String>>(&mut r, &["COMMAND", "LIST"])
            .await
            .into_iter()
            .collect();
        let mut differences = Vec::new();
        let mut compared = 0;
        for name in ours.iter().filter(|n| theirs.contains(*n)) {
            let (expected, expected_subs) = split_subcommands(&docs(&mut r, name).await);
            let (got, got_subs) = split_subcommands(&docs(&mut s, name).await);
            if got != expected {
                differences.push(format!(
                    "{name} ({proto}):\n  redis: {expected:?}\n  shoal: {got:?}"
                ));
            }
            for (sub, got) in &got_subs {
                let Some((_, expected)) = expected_subs.iter().find(|(k, _)| k == sub) else {
                    continue;
                };
                if got != expected {
                    differences.push(format!(
                        "{name} subcommands, {} ({proto}):\n  redis: {expected:?}\n  shoal: {got:?}",
                        text(sub)
                    ));
                }
            }
            compared += 1;
        }
        assert!(
            differences.is_empty(),
            "COMMAND DOCS differs from redis-server's for {} command(s):\n{}",
            differences.len(),
            differences.join("\n")
        );
        assert!(
            compared > 100,
            "only {compared} commands compared ({proto})"
        );
    }
}

/// COMMAND INFO's key specs (the ninth field: flags such as `RW insert`, begin_search,
/// find_keys, notes) of every command and subcommand Shoal shares with redis-server
/// 7.0.15 are Redis's, frame for frame, in RESP2 and RESP3 (COMMAND LIST names the
/// subcommands too: `config|get`).
#[tokio::test]
async fn command_info_key_specs_match_redis() {
    let redis = RedisServer::start();
    let shoal = TestServer::start();
    for resp3 in [false, true] {
        let proto = if resp3 { "RESP3" } else { "RESP2" };
        let mut r = redis.conn(resp3).await;
        let mut s = if resp3 {
            shoal.conn3().await
        } else {
            shoal.conn().await
        };
        let ours: Vec<String> = cmd(&mut s, &["COMMAND", "LIST"]).await;
        let theirs: HashSet<String> = cmd::<Vec<String>>(&mut r, &["COMMAND", "LIST"])
            .await
            .into_iter()
            .collect();
        let info = |v: Value| -> Value {
            match v {
                Value::Array(mut one) if one.len() == 1 => one.remove(0),
                other => panic!("COMMAND INFO of one name: {other:?}"),
            }
        };
        let specs = |entry: &Value| -> Value {
            match entry {
                Value::Array(fields) if fields.len() == 10 => fields[8].clone(),
                other => panic!("a COMMAND INFO entry: {other:?}"),
            }
        };
        let (mut differences, mut compared, mut with_specs) = (Vec::new(), 0, 0);
        for name in ours.iter().filter(|n| theirs.contains(*n)) {
            let expected = info(cmd(&mut r, &["COMMAND", "INFO", name]).await);
            let got = info(cmd(&mut s, &["COMMAND", "INFO", name]).await);
            if specs(&got) != specs(&expected) {
                differences.push(format!(
                    "{name} ({proto}):\n  redis: {:?}\n  shoal: {:?}",
                    specs(&expected),
                    specs(&got)
                ));
            }
            compared += 1;
            if !matches!(specs(&expected), Value::Array(ref v) | Value::Set(ref v) if v.is_empty())
            {
                with_specs += 1;
            }
        }
        assert!(
            differences.is_empty(),
            "COMMAND INFO key specs differ from redis-server's for {} command(s):\n{}",
            differences.len(),
            differences.join("\n")
        );
        assert!(
            compared > 200,
            "only {compared} commands compared ({proto})"
        );
        assert!(
            with_specs > 100,
            "only {with_specs} commands with key specs ({proto})"
        );
    }
}

/// redis-cli's output without its colour escapes.
fn plain(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else if c != '\r' {
            plain.push(c);
        }
    }
    plain
}

/// `redis-cli -p PORT HELP <words>` (non-interactive): the syntax line it prints,
/// built from Shoal's COMMAND DOCS.
fn help(p: &Proc, words: &[&str]) -> String {
    let out = redis_cli(p.port, &[&["HELP"], words].concat(), None);
    assert!(out.status.success(), "redis-cli HELP {words:?}: {out:?}");
    let text = plain(&out.stdout);
    let title = words.join(" ").to_uppercase();
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with(&title))
        .unwrap_or_else(|| panic!("no syntax line for {title} in {text:?}"))
        .to_string()
}

/// redis-cli builds HELP (and its grey typing hints) from COMMAND DOCS: with the
/// schema in the table it prints each command's syntax.
#[test]
fn redis_cli_help_shows_the_syntax() {
    let p = Proc::start(&[]);
    assert_eq!(
        help(&p, &["SET"]),
        "SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|\
         PXAT unix-time-milliseconds|KEEPTTL]"
    );
    let out = redis_cli(p.port, &["HELP", "SET"], None);
    let text = plain(&out.stdout);
    assert!(
        text.contains("summary: Set the string value of a key"),
        "{text}"
    );
    assert!(text.contains("group: string"), "{text}");
    assert_eq!(help(&p, &["GET"]), "GET key");
    assert_eq!(
        help(&p, &["SCAN"]),
        "SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]"
    );
    assert_eq!(
        help(&p, &["HSET"]),
        "HSET key field value [field value ...]"
    );
    assert_eq!(
        help(&p, &["CONFIG", "GET"]),
        "CONFIG GET parameter [parameter ...]"
    );
}

/// Shoal's own commands (and CLIENT NO-TOUCH/SETINFO, newer than Redis 7.0) carry
/// hand-written schemas: COMMAND DOCS has their `arguments`, redis-cli their syntax.
#[tokio::test]
async fn shoal_only_commands_document_their_arguments() {
    let s = TestServer::start();
    let mut c = s.conn3().await;
    let syntaxes: &[(&[&str], &str)] = &[
        (
            &["HMERGE"],
            "destination numkeys source [source ...] [AGGREGATE REPLACE|KEEP|SUM|MIN|MAX]",
        ),
        (
            &["HMERGEVALUES"],
            "key REPLACE|KEEP|SUM|MIN|MAX field value [field value ...]",
        ),
        (
            &["MMERGE"],
            "REPLACE|KEEP|SUM|MIN|MAX key value [key value ...]",
        ),
        (&["SNAPSHOT", "CREATE"], "[name]"),
        (&["SNAPSHOT", "DROP"], "name"),
        (&["SNAPSHOT", "READ"], "name|LIVE"),
        (&["SNAPSHOT", "RESTORE"], "name"),
        (&["SNAPSHOT", "MERGE"], "name KEEP|REPLACE"),
        (&["CLIENT", "NO-TOUCH"], "ON|OFF"),
        (&["CLIENT", "SETINFO"], "LIB-NAME libname|LIB-VER libver"),
    ];
    for (words, _) in syntaxes {
        let name = words.join("|").to_lowercase();
        let doc = docs(&mut c, &name).await;
        let args = field(&doc, "arguments").unwrap_or_else(|| panic!("{name}: {doc:?}"));
        let Value::Array(args) = args else {
            panic!("{name}: arguments {args:?}")
        };
        assert!(!args.is_empty(), "{name}");
    }
    // HMERGE, frame for frame: its keys point at COMMAND INFO's two key specs (the
    // destination, then the counted sources), as ZUNIONSTORE's do.
    let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
    let arg = |fields: Vec<(&str, Value)>| {
        Value::Map(fields.into_iter().map(|(k, v)| (bulk(k), v)).collect())
    };
    let token = |name: &str, token: &str| {
        arg(vec![
            ("name", bulk(name)),
            ("type", bulk("pure-token")),
            ("token", bulk(token)),
        ])
    };
    let expected = Value::Array(vec![
        arg(vec![
            ("name", bulk("destination")),
            ("type", bulk("key")),
            ("key_spec_index", Value::Int(0)),
        ]),
        arg(vec![("name", bulk("numkeys")), ("type", bulk("integer"))]),
        arg(vec![
            ("name", bulk("source")),
            ("type", bulk("key")),
            ("key_spec_index", Value::Int(1)),
            (
                "flags",
                Value::Set(vec![Value::SimpleString("multiple".into())]),
            ),
        ]),
        arg(vec![
            ("name", bulk("aggregate")),
            ("type", bulk("oneof")),
            ("token", bulk("AGGREGATE")),
            (
                "flags",
                Value::Set(vec![Value::SimpleString("optional".into())]),
            ),
            (
                "arguments",
                Value::Array(vec![
                    token("replace", "REPLACE"),
                    token("keep", "KEEP"),
                    token("sum", "SUM"),
                    token("min", "MIN"),
                    token("max", "MAX"),
                ]),
            ),
        ]),
    ]);
    assert_eq!(
        field(&docs(&mut c, "hmerge").await, "arguments"),
        Some(expected)
    );

    let p = Proc::start(&[]);
    for (words, syntax) in syntaxes {
        let title = words.join(" ");
        assert_eq!(help(&p, words), format!("{title} {syntax}"));
    }
    assert_eq!(help(&p, &["SNAPSHOT", "LIST"]), "SNAPSHOT LIST");
}
