//! Server commands: COMMAND, INFO, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME,
//! LASTSAVE, SHUTDOWN, SLOWLOG, MEMORY.
//!
//! Expectations about the command table are computed from `TABLE` (other families add
//! rows), and data is put into the keyspace directly, so these tests depend only on
//! the commands of this family and PING/ECHO/SELECT.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::Value;
use shoal_server::command::Command;
use shoal_server::commands::introspection::COMMAND_SUBS;
use shoal_server::config::Config;
use shoal_server::dispatch::TABLE;
use shoal_server::state::now_ms;
use shoal_storage::{glob, Entry};

use crate::common::*;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The tests that reset counters (CONFIG RESETSTAT) or count TIME calls run one at a
/// time under this lock (counters are per server now, so this only keeps their
/// timing measurements from competing for the CPU).
static STATS_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// (calls, usec, usec_per_call, rejected, failed) of a `cmdstat_<name>` line; zeros
/// when the command is not listed.
fn cmdstat(info: &str, name: &str) -> (u64, u64, String, u64, u64) {
    let Some(line) = info_field(info, &format!("cmdstat_{name}")) else {
        return (0, 0, String::new(), 0, 0);
    };
    let fields: Vec<(&str, &str)> = line
        .split(',')
        .map(|kv| kv.split_once('=').expect("k=v"))
        .collect();
    let names: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "calls",
            "usec",
            "usec_per_call",
            "rejected_calls",
            "failed_calls"
        ],
        "{line}"
    );
    let n = |i: usize| fields[i].1.parse::<u64>().expect("number");
    (n(0), n(1), fields[2].1.to_string(), n(3), n(4))
}

/// Puts a string key straight into database `db`.
fn put(s: &TestServer, db: usize, key: &str, value: &str, expire_at: Option<i64>) {
    let d = s.handle().shared().keyspace.db(db);
    let h = d.hash(key.as_bytes());
    d.lock(h).insert(
        h,
        Entry::new_str(key.as_bytes(), value.as_bytes(), expire_at),
        now_ms(),
    );
}

fn db_len(s: &TestServer, db: usize) -> usize {
    s.handle().shared().keyspace.db(db).len()
}

fn has_key(s: &TestServer, db: usize, key: &str) -> bool {
    let d = s.handle().shared().keyspace.db(db);
    let h = d.hash(key.as_bytes());
    let found = d.lock(h).peek(h, key.as_bytes(), now_ms()).is_some();
    found
}

/// Text of a bulk/simple string value.
fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        Value::VerbatimString { text, .. } => text.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        other => panic!("not an array: {other:?}"),
    }
}

fn texts(v: &Value) -> Vec<String> {
    items(v).iter().map(text).collect()
}

/// A RESP2 flat key/value array as pairs.
fn pairs(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Map(m) => m.iter().map(|(k, v)| (text(k), v.clone())).collect(),
        _ => items(v)
            .chunks(2)
            .map(|kv| (text(&kv[0]), kv[1].clone()))
            .collect(),
    }
}

fn lookup(kv: &[(String, Value)], key: &str) -> Value {
    kv.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no field {key}"))
}

/// The value of `name:` in an INFO text.
fn info_field(info: &str, name: &str) -> Option<String> {
    info.split("\r\n")
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::to_string)
}

fn info_num(info: &str, name: &str) -> i64 {
    info_field(info, name)
        .unwrap_or_else(|| panic!("INFO has no {name}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not an integer"))
}

async fn info(c: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> String {
    let mut full = vec!["INFO"];
    full.extend_from_slice(args);
    cmd::<String>(c, &full).await
}

/// Every command and subcommand of the table with its full name.
fn all_rows() -> Vec<(String, &'static Command)> {
    let mut rows = Vec::new();
    for cmd in &TABLE.commands {
        rows.push((cmd.name.to_string(), *cmd));
        let subs = if cmd.name == "command" {
            COMMAND_SUBS
        } else {
            cmd.subcommands
        };
        for s in subs {
            rows.push((format!("{}|{}", cmd.name, s.name), s));
        }
    }
    rows
}

// ---------------------------------------------------------------------------------------
// COMMAND
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn command_count_and_bare_command_cover_the_table() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let n = TABLE.commands.len();
    assert_eq!(cmd::<i64>(&mut c, &["COMMAND", "COUNT"]).await, n as i64);
    for args in [&["COMMAND"][..], &["COMMAND", "INFO"][..]] {
        let all: Value = cmd(&mut c, args).await;
        let names: Vec<String> = items(&all).iter().map(|e| text(&items(e)[0])).collect();
        let expected: Vec<&str> = TABLE.commands.iter().map(|c| c.name).collect();
        assert_eq!(names, expected, "{args:?}");
    }
    let docs: Value = cmd(&mut c, &["COMMAND", "DOCS"]).await;
    assert_eq!(pairs(&docs).len(), n);
    assert_eq!(
        err(&mut c, &["COMMAND", "COUNT", "x"]).await,
        "ERR wrong number of arguments for 'command|count' command"
    );
    assert_eq!(
        err(&mut c, &["COMMAND", "foo"]).await,
        "ERR unknown subcommand 'foo'. Try COMMAND HELP."
    );
    let help: Vec<String> = cmd(&mut c, &["COMMAND", "HELP"]).await;
    assert_eq!(
        help[0],
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert!(help.contains(&"GETKEYS <full-command>".to_string()));
    assert_eq!(
        help.last().map(String::as_str),
        Some("    Prints this help.")
    );
}

#[tokio::test]
async fn command_list_and_filters() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let rows = all_rows();
    let all: Vec<String> = cmd(&mut c, &["COMMAND", "LIST"]).await;
    let expected: Vec<String> = rows.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(all, expected);
    for needed in ["ping", "echo", "command|info", "config|get", "memory|usage"] {
        assert!(all.iter().any(|n| n == needed), "{needed}");
    }

    let pattern: Vec<String> =
        cmd(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "CONF*"]).await;
    let expected: Vec<String> = rows
        .iter()
        .filter(|(n, _)| glob::matches_with(b"conf*", n.as_bytes(), false))
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(pattern, expected);
    assert!(pattern.contains(&"config|set".to_string()));

    let conn: Vec<String> = cmd(
        &mut c,
        &["command", "list", "filterby", "aclcat", "CONNECTION"],
    )
    .await;
    for needed in ["ping", "echo", "select", "command", "command|docs"] {
        assert!(conn.iter().any(|n| n == needed), "{needed} in @connection");
    }
    assert!(!conn.iter().any(|n| n == "config|get"));
    // @slow is implied for every command that is not fast.
    let slow: Vec<String> = cmd(&mut c, &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "slow"]).await;
    assert!(slow.contains(&"config|get".to_string()) && !slow.contains(&"ping".to_string()));

    let none: Vec<String> = cmd(&mut c, &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nope"]).await;
    assert!(none.is_empty());
    let modules: Vec<String> = cmd(&mut c, &["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]).await;
    assert!(modules.is_empty());
    for bad in [
        &["COMMAND", "LIST", "FILTERBY"][..],
        &["COMMAND", "LIST", "FILTERBY", "foo", "x"][..],
        &["COMMAND", "LIST", "x"][..],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "a", "b"][..],
    ] {
        assert_eq!(err(&mut c, bad).await, "ERR syntax error", "{bad:?}");
    }
}

#[tokio::test]
async fn command_info_entries_have_the_redis7_shape() {
    let s = TestServer::start();
    let mut raw = s.raw().await;
    // Byte for byte what redis-server 7.0.15 replies.
    raw.roundtrip(
        &[b"COMMAND", b"INFO", b"config|get"],
        b"*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n",
    )
    .await;
    drop(raw);

    let mut c = s.conn().await;
    let reply: Value = cmd(&mut c, &["COMMAND", "INFO", "MEMORY|Usage", "nope", "time"]).await;
    let entries = items(&reply);
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[1], Value::Nil);
    let usage = items(&entries[0]);
    assert_eq!(usage.len(), 10);
    assert_eq!(text(&usage[0]), "memory|usage");
    assert_eq!(int(&usage[1]), -3);
    assert_eq!(texts(&usage[2]), ["readonly"]);
    assert_eq!((int(&usage[3]), int(&usage[4]), int(&usage[5])), (2, 2, 1));
    assert_eq!(texts(&usage[6]), ["@read", "@slow"]);
    assert!(items(&usage[7]).is_empty());
    // One key spec: begin_search index 2, find_keys range lastkey 0 step 1; flags
    // `RO` alone, as redis-server 7.0.15 (no `access`: the value is not read out).
    let specs = items(&usage[8]);
    assert_eq!(specs.len(), 1);
    let spec = pairs(&specs[0]);
    assert_eq!(texts(&lookup(&spec, "flags")), ["RO"]);
    let begin = pairs(&lookup(&spec, "begin_search"));
    assert_eq!(text(&lookup(&begin, "type")), "index");
    assert_eq!(int(&lookup(&pairs(&lookup(&begin, "spec")), "index")), 2);
    let find = pairs(&lookup(&spec, "find_keys"));
    assert_eq!(text(&lookup(&find, "type")), "range");
    let range = pairs(&lookup(&find, "spec"));
    assert_eq!(int(&lookup(&range, "lastkey")), 0);
    assert_eq!(int(&lookup(&range, "keystep")), 1);
    assert_eq!(int(&lookup(&range, "limit")), 0);
    assert!(items(&usage[9]).is_empty());

    // TIME: RANDOM is reported as a tip, not a flag.
    let time = items(&entries[2]);
    assert_eq!(texts(&time[2]), ["loading", "stale", "fast"]);
    assert_eq!(texts(&time[6]), ["@fast"]);
    assert_eq!(texts(&time[7]), ["nondeterministic_output"]);

    // Containers nest their subcommands as full entries.
    let reply: Value = cmd(&mut c, &["COMMAND", "INFO", "config", "command"]).await;
    let config = items(&items(&reply)[0]);
    assert_eq!(int(&config[1]), -2);
    assert!(items(&config[2]).is_empty());
    assert_eq!(texts(&config[6]), ["@slow"]);
    let subs: Vec<String> = items(&config[9])
        .iter()
        .map(|e| text(&items(e)[0]))
        .collect();
    for sub in [
        "config|get",
        "config|set",
        "config|resetstat",
        "config|rewrite",
        "config|help",
    ] {
        assert!(subs.iter().any(|s| s == sub), "{sub}");
    }
    let command = items(&items(&reply)[1]);
    assert_eq!(int(&command[1]), -1);
    assert_eq!(texts(&command[6]), ["@slow", "@connection"]);
    assert_eq!(items(&command[9]).len(), COMMAND_SUBS.len());

    // Every row of the table is described, flags and arity as in the table.
    let all: Value = cmd(&mut c, &["COMMAND"]).await;
    for (entry, row) in items(&all).iter().zip(&TABLE.commands) {
        let e = items(entry);
        assert_eq!(int(&e[1]), i64::from(row.arity), "{}", row.name);
        assert_eq!(int(&e[3]), i64::from(row.keys.first), "{}", row.name);
        // Redis's own key specs where Redis has the command (compared with
        // redis-server's in command_docs.rs), else one per key position.
        let derived = usize::from(row.keys.first > 0)
            + usize::from(row.keynum.is_some())
            // SORT's BY/GET patterns (and STORE): specs of unknown position.
            + match row.name {
                "sort" => 2,
                "sort_ro" => 1,
                _ => 0,
            };
        assert_eq!(
            items(&e[8]).len(),
            row.schema.key_specs.map_or(derived, <[_]>::len),
            "{}",
            row.name
        );
    }
}

#[tokio::test]
async fn command_docs() {
    let s = TestServer::start();
    let mut raw = s.raw().await;
    raw.roundtrip(
        &[b"COMMAND", b"DOCS", b"command|count"],
        b"*2\r\n$13\r\ncommand|count\r\n*8\r\n$7\r\nsummary\r\n$34\r\nGet total number of Redis commands\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    )
    .await;
    raw.roundtrip(&[b"COMMAND", b"DOCS", b"nope"], b"*0\r\n")
        .await;

    let mut c = s.conn().await;
    let docs: Value = cmd(&mut c, &["COMMAND", "DOCS", "slowlog", "nope", "PING"]).await;
    let docs = pairs(&docs);
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1].0, "ping");
    let ping = pairs(&docs[1].1);
    let row = TABLE.get(TABLE.find(b"ping").expect("ping"));
    assert_eq!(text(&lookup(&ping, "summary")), row.summary);
    assert_eq!(text(&lookup(&ping, "group")), row.group);
    // summary, since, group, complexity and the argument list (`[message]`).
    assert_eq!(ping.len(), 5);
    assert_eq!(items(&lookup(&ping, "arguments")).len(), 1);
    let slowlog = pairs(&docs[0].1);
    assert_eq!(
        text(&lookup(&slowlog, "complexity")),
        "Depends on subcommand."
    );
    assert_eq!(text(&lookup(&slowlog, "since")), "2.2.12");
    let subs = pairs(&lookup(&slowlog, "subcommands"));
    let names: Vec<&str> = subs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "slowlog|get",
            "slowlog|len",
            "slowlog|reset",
            "slowlog|help"
        ]
    );
    assert_eq!(
        text(&lookup(&pairs(&subs[0].1), "summary")),
        "Get the slow log's entries"
    );
}

#[tokio::test]
async fn command_getkeys() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let keys: Vec<String> = cmd(&mut c, &["COMMAND", "GETKEYS", "MEMORY", "USAGE", "k1"]).await;
    assert_eq!(keys, ["k1"]);
    let flags: Value = cmd(
        &mut c,
        &[
            "COMMAND",
            "GETKEYSANDFLAGS",
            "memory",
            "usage",
            "k1",
            "SAMPLES",
            "5",
        ],
    )
    .await;
    let first = items(&items(&flags)[0]);
    assert_eq!(text(&first[0]), "k1");
    assert_eq!(texts(&first[1]), ["RO", "access"]);

    for (args, expected) in [
        (
            &["COMMAND", "GETKEYS", "ECHO", "x"][..],
            "ERR The command has no key arguments",
        ),
        (
            &["COMMAND", "GETKEYS", "config", "get", "x"][..],
            "ERR The command has no key arguments",
        ),
        (
            &["COMMAND", "GETKEYS", "nope", "x"][..],
            "ERR Invalid command specified",
        ),
        (
            &["COMMAND", "GETKEYS", "config", "nope"][..],
            "ERR Invalid command specified",
        ),
        (
            &["COMMAND", "GETKEYS", "memory", "usage"][..],
            "ERR Invalid number of arguments specified for command",
        ),
        (
            &["COMMAND", "GETKEYS", "memory"][..],
            "ERR wrong number of arguments for 'command|getkeys' command",
        ),
        (
            &["COMMAND", "GETKEYSANDFLAGS", "x"][..],
            "ERR wrong number of arguments for 'command|getkeysandflags' command",
        ),
    ] {
        assert_eq!(err(&mut c, args).await, expected, "{args:?}");
    }

    // Every row with keys: a call with its minimum arity gives the table's positions.
    for (full, row) in all_rows() {
        if row.keys.first <= 0 {
            continue;
        }
        let mut argv: Vec<String> = full.split('|').map(str::to_string).collect();
        let min = row.arity.unsigned_abs() as usize;
        let mut i = 0;
        while argv.len() < min {
            argv.push(format!("a{i}"));
            i += 1;
        }
        let mut args = vec!["COMMAND", "GETKEYS"];
        args.extend(argv.iter().map(String::as_str));
        let mut positions = row.keys.positions(argv.len());
        if let Some(n) = row.keynum {
            // `numkeys` commands: a count that is not one gives no key at all.
            let bytes: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
            let counted = n.positions(&bytes);
            if counted.is_empty() {
                positions.clear();
            }
            positions.extend(counted);
        }
        let expected: Vec<String> = positions.into_iter().map(|p| argv[p].clone()).collect();
        if argv.len() < 2 {
            // COMMAND GETKEYS takes the command and at least one argument (arity -4),
            // as in Redis: SUNSUBSCRIBE alone is refused before its keys are looked at.
            assert_eq!(
                err(&mut c, &args).await,
                "ERR wrong number of arguments for 'command|getkeys' command",
                "{full}"
            );
        } else if expected.is_empty() {
            assert_eq!(
                err(&mut c, &args).await,
                "ERR Invalid arguments specified for command",
                "{full}"
            );
        } else {
            let got: Vec<String> = cmd(&mut c, &args).await;
            assert_eq!(got, expected, "{full}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn info_sections() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let default = info(&mut c, &[]).await;
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Modules",
        "# Errorstats",
        "# Cluster",
        "# Keyspace",
    ] {
        assert!(default.contains(&format!("{section}\r\n")), "{section}");
    }
    assert!(!default.contains("# Commandstats"));
    assert!(default.starts_with("# Server\r\nredis_version:7.0.15\r\n"));
    assert_eq!(
        info_field(&default, "shoal_version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        info_field(&default, "redis_mode").as_deref(),
        Some("standalone")
    );
    assert_eq!(info_field(&default, "role").as_deref(), Some("master"));
    assert_eq!(info_num(&default, "connected_slaves"), 0);
    assert_eq!(info_num(&default, "tcp_port"), i64::from(s.addr.port()));
    assert_eq!(
        info_num(&default, "process_id"),
        i64::from(std::process::id())
    );
    assert_eq!(info_num(&default, "arch_bits"), 64);
    assert_eq!(info_field(&default, "run_id").map(|r| r.len()), Some(40));
    assert_eq!(info_num(&default, "aof_enabled"), 0);
    assert_eq!(info_num(&default, "loading"), 0);
    assert_eq!(
        info_field(&default, "rdb_last_bgsave_status").as_deref(),
        Some("ok")
    );
    assert_eq!(info_num(&default, "blocked_clients"), 0);
    assert_eq!(info_num(&default, "evicted_keys"), 0);
    assert_eq!(
        info_field(&default, "cluster_enabled").as_deref(),
        Some("0")
    );
    assert!(info_field(&default, "used_cpu_user").is_some());
    assert!(info_field(&default, "mem_allocator").is_some_and(|a| a.starts_with("jemalloc-5")));
    assert!(default.ends_with("\r\n") && !default.ends_with("\r\n\r\n\r\n"));
    // Sections are separated by one empty line.
    assert!(default.contains("\r\n\r\n# Clients\r\n"));

    assert_eq!(
        info(&mut c, &["default"]).await.lines().count(),
        default.lines().count()
    );
    let all = info(&mut c, &["all"]).await;
    assert!(all.contains("# Commandstats\r\n") && all.contains("# Keyspace\r\n"));
    let everything = info(&mut c, &["EVERYTHING"]).await;
    assert!(everything.contains("# Commandstats\r\n"));
    assert_eq!(info(&mut c, &["nope"]).await, "");

    // Fixed order whatever the argument order; case-insensitive; unknown ignored.
    let two = info(&mut c, &["KEYSPACE", "nope", "server"]).await;
    assert!(two.starts_with("# Server\r\n"));
    assert!(two.ends_with("\r\n\r\n# Keyspace\r\n"));
    assert!(!two.contains("# Clients"));
    let default_plus = info(&mut c, &["default", "commandstats"]).await;
    assert!(default_plus.contains("# Commandstats") && default_plus.contains("# Memory"));

    let mut raw = s.raw().await;
    raw.roundtrip(&[b"INFO", b"modules"], b"$11\r\n# Modules\r\n\r\n")
        .await;
    raw.roundtrip(&[b"INFO", b"nope"], b"$0\r\n\r\n").await;
    let body = "# Errorstats\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n";
    raw.roundtrip(
        &[b"INFO", b"errorstats", b"cluster"],
        format!("${}\r\n{body}\r\n", body.len()).as_bytes(),
    )
    .await;
}

#[tokio::test]
async fn info_values_move() {
    let s = TestServer::with(|c| c.hz = 100);
    let mut c = s.conn().await;

    let before = info(&mut c, &["stats"]).await;
    for _ in 0..5 {
        let _: String = cmd(&mut c, &["PING"]).await;
    }
    let after = info(&mut c, &["stats"]).await;
    // 5 PINGs and the first INFO.
    assert_eq!(
        info_num(&after, "total_commands_processed")
            - info_num(&before, "total_commands_processed"),
        6
    );
    assert!(info_num(&after, "total_net_input_bytes") > info_num(&before, "total_net_input_bytes"));
    assert!(
        info_num(&after, "total_net_output_bytes") > info_num(&before, "total_net_output_bytes")
    );
    let errors = info_num(&after, "total_error_replies");
    let _ = err(&mut c, &["PING", "a", "b"]).await;
    let _ = err(&mut c, &["SWAPDB", "x", "0"]).await;
    let errs = info(&mut c, &["stats"]).await;
    assert_eq!(info_num(&errs, "total_error_replies"), errors + 2);

    // Clients come and go.
    let clients = info_num(&info(&mut c, &["clients"]).await, "connected_clients");
    let received = info_num(&after, "total_connections_received");
    let mut raw = s.raw().await;
    raw.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    let more = info(&mut c, &[]).await;
    assert_eq!(info_num(&more, "connected_clients"), clients + 1);
    assert_eq!(info_num(&more, "total_connections_received"), received + 1);
    assert_eq!(info_num(&more, "maxclients"), 10_000);
    drop(raw);
    for _ in 0..100 {
        let now = info_num(&info(&mut c, &["clients"]).await, "connected_clients");
        if now == clients {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        info_num(&info(&mut c, &["clients"]).await, "connected_clients"),
        clients
    );

    // Keyspace lines appear for non-empty databases only.
    let far = now_ms() + 3_600_000;
    put(&s, 0, "a", "1", None);
    put(&s, 0, "b", "2", Some(far));
    put(&s, 3, "c", "3", None);
    let ks = info(&mut c, &["keyspace"]).await;
    assert_eq!(
        ks,
        "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n"
    );

    // Active expiry is counted.
    put(&s, 5, "soon", "x", Some(now_ms() + 50));
    let mut expired = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        expired = info_num(&info(&mut c, &["stats"]).await, "expired_keys");
        if expired >= 1 {
            break;
        }
    }
    assert_eq!(expired, 1);
    assert!(!info(&mut c, &["keyspace"]).await.contains("db5:"));

    // Memory.
    let mem = info(&mut c, &["memory"]).await;
    let used = info_num(&mem, "used_memory");
    assert!(used > 0);
    assert!(info_num(&mem, "used_memory_peak") >= used);
    assert!(info_num(&mem, "used_memory_rss") > 0);
    assert!(
        info_field(&mem, "used_memory_human").is_some_and(|h| h.ends_with(['B', 'K', 'M', 'G']))
    );
    assert_eq!(info_num(&mem, "maxmemory"), 0);
    assert_eq!(info_field(&mem, "maxmemory_human").as_deref(), Some("0B"));
    assert_eq!(
        info_field(&mem, "maxmemory_policy").as_deref(),
        Some("noeviction")
    );

    // Persistence and LASTSAVE agree.
    let lastsave: i64 = cmd(&mut c, &["LASTSAVE"]).await;
    assert_eq!(
        info_num(&info(&mut c, &["persistence"]).await, "rdb_last_save_time"),
        lastsave
    );
}

#[tokio::test]
async fn info_commandstats() {
    let _lock = STATS_LOCK.lock().await;
    let s = TestServer::start();
    let mut c = s.conn().await;
    let before = info(&mut c, &["commandstats"]).await;
    for _ in 0..3 {
        let _: Value = cmd(&mut c, &["TIME"]).await;
    }
    let _ = err(&mut c, &["TIME", "x"]).await;
    let _ = err(&mut c, &["SWAPDB", "0", "99"]).await;
    let after = info(&mut c, &["commandstats"]).await;
    let (calls0, usec0, _, rejected0, failed0) = cmdstat(&before, "time");
    let (calls, usec, per_call, rejected, failed) = cmdstat(&after, "time");
    assert_eq!(
        (calls - calls0, rejected - rejected0, failed - failed0),
        (3, 1, 0)
    );
    assert!(usec >= usec0);
    assert_eq!(per_call, format!("{:.2}", usec as f64 / calls as f64));
    let (_, _, _, _, swapdb_failed) = cmdstat(&after, "swapdb");
    assert!(swapdb_failed >= 1);
    assert!(after.starts_with("# Commandstats\r\ncmdstat_"));
    // Only commands that were called, refused or failed are listed.
    for line in after.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let name = line
            .strip_prefix("cmdstat_")
            .and_then(|l| l.split_once(':'))
            .map(|(n, _)| n)
            .expect("cmdstat line");
        assert!(TABLE.find(name.as_bytes()).is_some(), "{name}");
        let (calls, _, _, rejected, failed) = cmdstat(&after, name);
        assert!(calls + rejected + failed > 0, "{line}");
    }
}

// ---------------------------------------------------------------------------------------
// CONFIG
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn config_get() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "maxclients"]).await;
    assert_eq!(got, ["maxclients", "10000"]);
    // A plain name echoes the name as given.
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "HZ"]).await;
    assert_eq!(got, ["HZ", "10"]);
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "nope"]).await;
    assert!(got.is_empty());
    // Globs, case-insensitive, each parameter once.
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "MAX*", "maxclients", "max*"]).await;
    let expected: Vec<&str> = Config::param_names()
        .iter()
        .copied()
        .filter(|n| n.starts_with("max"))
        .collect();
    let names: Vec<&str> = got.iter().step_by(2).map(String::as_str).collect();
    assert_eq!(names, expected);
    assert!(names.contains(&"maxmemory-policy"));
    let all: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "*"]).await;
    assert_eq!(all.len(), Config::param_names().len() * 2);
    let all: Vec<(String, String)> = all
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    let config = s.handle().shared().config.read().clone();
    for (name, value) in &all {
        assert_eq!(config.get(name).as_ref(), Some(value), "{name}");
    }
    assert_eq!(
        err(&mut c, &["CONFIG", "GET"]).await,
        "ERR wrong number of arguments for 'config|get' command"
    );
    assert_eq!(
        err(&mut c, &["CONFIG"]).await,
        "ERR wrong number of arguments for 'config' command"
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "foo"]).await,
        "ERR unknown subcommand 'foo'. Try CONFIG HELP."
    );
    let help: Vec<String> = cmd(&mut c, &["CONFIG", "HELP"]).await;
    assert_eq!(help.len(), 11);
    assert_eq!(help[1], "GET <pattern>");
}

#[tokio::test]
async fn config_set_round_trips_and_errors() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let ok: String = cmd(&mut c, &["CONFIG", "SET", "maxmemory", "1mb", "HZ", "20"]).await;
    assert_eq!(ok, "OK");
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "maxmemory", "hz"]).await;
    assert_eq!(got, ["maxmemory", "1048576", "hz", "20"]);
    assert_eq!(s.handle().shared().config.read().hz, 20);
    let mem = info(&mut c, &["memory"]).await;
    assert_eq!(
        info_field(&mem, "maxmemory_human").as_deref(),
        Some("1.00M")
    );
    assert_eq!(info_num(&info(&mut c, &["server"]).await, "hz"), 20);

    let cases: &[(&[&str], &str)] = &[
        (
            &["CONFIG", "SET", "maxclients", "abc"],
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer",
        ),
        (
            &["CONFIG", "SET", "MAXCLIENTS", "abc"],
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer",
        ),
        (
            &["CONFIG", "SET", "nope", "1"],
            "ERR Unknown option or number of arguments for CONFIG SET - 'nope'",
        ),
        (
            &["CONFIG", "SET", "hz", "5", "HZ", "6"],
            "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter",
        ),
        (
            &["CONFIG", "SET", "Port", "5"],
            "ERR CONFIG SET failed (possibly related to argument 'Port') - can't set immutable config",
        ),
        // Names are all checked before any value.
        (
            &["CONFIG", "SET", "maxclients", "abc", "nope", "1"],
            "ERR Unknown option or number of arguments for CONFIG SET - 'nope'",
        ),
        (
            &["CONFIG", "SET", "hz", "abc", "port", "1"],
            "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config",
        ),
        (
            &["CONFIG", "SET", "hz", "abc", "hz", "5"],
            "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter",
        ),
        (
            &["CONFIG", "SET", "hz", "-1"],
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive",
        ),
        (&["CONFIG", "SET", "maxclients", "10", "hz"], "ERR syntax error"),
        (
            &["CONFIG", "SET", "maxclients"],
            "ERR wrong number of arguments for 'config|set' command",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(err(&mut c, args).await, *expected, "{args:?}");
    }
    // All or nothing: a bad value leaves the good ones unapplied.
    assert!(
        err(&mut c, &["CONFIG", "SET", "hz", "30", "maxclients", "abc"])
            .await
            .contains("maxclients")
    );
    let got: Vec<String> = cmd(&mut c, &["CONFIG", "GET", "hz"]).await;
    assert_eq!(got, ["hz", "20"]);
}

#[tokio::test]
async fn config_set_maxclients_refuses_extra_clients() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: String = cmd(&mut c, &["CONFIG", "SET", "maxclients", "1"]).await;
    let mut raw = s.raw().await;
    raw.expect(b"-ERR max number of clients reached\r\n").await;
    assert!(raw.closed().await);
    let stats = info(&mut c, &["stats"]).await;
    assert_eq!(info_num(&stats, "rejected_connections"), 1);
    let _: String = cmd(&mut c, &["CONFIG", "SET", "maxclients", "10"]).await;
    let mut raw = s.raw().await;
    raw.roundtrip(&[b"PING"], b"+PONG\r\n").await;
}

#[tokio::test]
async fn config_resetstat() {
    let _lock = STATS_LOCK.lock().await;
    let s = TestServer::start();
    let mut c = s.conn().await;
    for _ in 0..3 {
        let _: Value = cmd(&mut c, &["TIME"]).await;
    }
    let _ = err(&mut c, &["SWAPDB", "0", "99"]).await;
    let _: String = cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).await;
    let _: String = cmd(&mut c, &["ECHO", "slow"]).await;
    assert!(cmdstat(&info(&mut c, &["commandstats"]).await, "time").0 >= 3);
    let ok: String = cmd(&mut c, &["CONFIG", "RESETSTAT"]).await;
    assert_eq!(ok, "OK");
    let all = info(&mut c, &["all"]).await;
    // Only CONFIG RESETSTAT itself ran since (INFO counts once it has replied).
    assert_eq!(info_num(&all, "total_commands_processed"), 1);
    assert_eq!(info_num(&all, "total_connections_received"), 0);
    assert_eq!(info_num(&all, "total_error_replies"), 0);
    // Only the INFO request itself was read since.
    assert_eq!(info_num(&all, "total_net_input_bytes"), 23);
    assert_eq!(cmdstat(&all, "time"), (0, 0, String::new(), 0, 0));
    assert!(cmdstat(&all, "config").0 >= 1);
    // As in Redis, the slow log is not a statistic.
    let len: i64 = cmd(&mut c, &["SLOWLOG", "LEN"]).await;
    assert!(len >= 2);
    assert_eq!(
        err(&mut c, &["CONFIG", "RESETSTAT", "x"]).await,
        "ERR wrong number of arguments for 'config|resetstat' command"
    );
}

#[tokio::test]
async fn config_rewrite() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(
        err(&mut c, &["CONFIG", "REWRITE"]).await,
        "ERR The server is running without a config file"
    );
    drop(c);
    drop(s);

    let dir =
        std::env::temp_dir().join(format!("shoal-rewrite-{}-{}", std::process::id(), now_ms()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("shoal.toml");
    let original = "# Shoal test config\nport = 0\n\n# hz comment\nhz = 10 # trailing\nmaxmemory = \"1mb\"\ntimeout = 0\n";
    std::fs::write(&path, original).expect("write config");
    let loaded = Config::load_from_file(&path).expect("load");
    let s = TestServer::with(|cfg| {
        *cfg = Config {
            port: 0,
            capacity: 1000,
            ..loaded.clone()
        }
    });
    let mut c = s.conn().await;
    let _: String = cmd(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "hz",
            "25",
            "maxmemory-policy",
            "allkeys-lru",
            "maxmemory",
            "1048576",
        ],
    )
    .await;
    let ok: String = cmd(&mut c, &["CONFIG", "REWRITE"]).await;
    assert_eq!(ok, "OK");
    let text = std::fs::read_to_string(&path).expect("read back");
    // Comments and unchanged lines stay; changed values are rewritten in place.
    assert!(text.starts_with("# Shoal test config\nport = 0\n\n# hz comment\nhz = 25\nmaxmemory = \"1mb\"\ntimeout = 0\n"), "{text}");
    assert!(
        text.contains("maxmemory-policy = \"allkeys-lru\"\n"),
        "{text}"
    );
    let back = Config::load_from_file(&path).expect("rewritten file loads");
    assert_eq!(back.hz, 25);
    assert_eq!(back.maxmemory, 1_048_576);
    assert_eq!(back.maxmemory_policy, "allkeys-lru");
    let _ = std::fs::remove_dir_all(&dir);
}

/// CONFIG REWRITE as Redis's rewriteConfig, on a real `shoal` process started with a
/// commented file: comments and blank lines stay line for line, parameter lines are
/// updated in place (also back to a default), non-default parameters the file lacks
/// are appended once after `# Generated by CONFIG REWRITE`, and a restart with the
/// file runs with the new values.
#[tokio::test]
async fn config_rewrite_keeps_comments_and_restarts() {
    let dir = TempDir::new("rewrite-comments");
    let path = dir.path().join("shoal.toml");
    let file = path.to_str().expect("utf-8 path");
    let original = [
        "# Shoal production config",
        "# (kept by CONFIG REWRITE)",
        "",
        "# Background task frequency",
        "hz = 10",
        "",
        "   # indented comment",
        "maxmemory = \"1mb\"",
        "maxmemory-samples = 7",
        "timeout = 0",
        "protected-mode = true",
        "# the end",
    ];
    std::fs::write(&path, original.join("\n") + "\n").expect("write config");
    let p = Proc::spawn(&["--config", file], &[]);
    let mut c = p.conn().await;
    assert_eq!(crate::common::info_field(&mut c, "config_file").await, file);
    assert_eq!(
        cmd::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]).await,
        ["hz", "10"]
    );
    for (name, value) in [
        ("hz", "25"),
        ("maxmemory", "2mb"),
        ("maxmemory-samples", "5"), // back to its default: stays in the file
        ("protected-mode", "no"),
        ("maxmemory-policy", "allkeys-lru"), // not in the file: appended
        ("slowlog-max-len", "77"),           // likewise
    ] {
        assert_eq!(
            cmd::<String>(&mut c, &["CONFIG", "SET", name, value]).await,
            "OK"
        );
    }
    assert_eq!(cmd::<String>(&mut c, &["CONFIG", "REWRITE"]).await, "OK");
    let text = std::fs::read_to_string(&path).expect("read back");
    let lines: Vec<&str> = text.lines().collect();
    let port = format!("port = {}", p.port);
    let expected = [
        "# Shoal production config",
        "# (kept by CONFIG REWRITE)",
        "",
        "# Background task frequency",
        "hz = 25",
        "",
        "   # indented comment",
        "maxmemory = \"2097152\"",
        "maxmemory-samples = 5",
        "timeout = 0",
        "protected-mode = false",
        "# the end",
        "# Generated by CONFIG REWRITE",
    ];
    assert_eq!(lines[..expected.len()], expected, "{text}");
    let appended = &lines[expected.len()..];
    // The flags it was started with (--port, --bind) are running values too, as in Redis.
    for line in [
        port.as_str(),
        "maxmemory-policy = \"allkeys-lru\"",
        "slowlog-max-len = 77",
    ] {
        assert!(appended.contains(&line), "{line} missing:\n{text}");
    }
    assert!(!appended.iter().any(|l| l.starts_with('#')), "{text}");

    // A second rewrite after one more change: the signature is not written twice and
    // nothing else moves.
    assert_eq!(
        cmd::<String>(&mut c, &["CONFIG", "SET", "hz", "30"]).await,
        "OK"
    );
    assert_eq!(cmd::<String>(&mut c, &["CONFIG", "REWRITE"]).await, "OK");
    let again = std::fs::read_to_string(&path).expect("read back");
    assert_eq!(again, text.replace("hz = 25\n", "hz = 30\n"));
    drop(c);
    drop(p);

    // A restart with the rewritten file runs with the new values.
    let p = Proc::spawn(&["--config", file], &[]);
    let mut c = p.conn().await;
    for (name, value) in [
        ("hz", "30"),
        ("maxmemory", "2097152"),
        ("maxmemory-samples", "5"),
        ("protected-mode", "no"),
        ("maxmemory-policy", "allkeys-lru"),
        ("slowlog-max-len", "77"),
        ("timeout", "0"),
    ] {
        assert_eq!(
            cmd::<Vec<String>>(&mut c, &["CONFIG", "GET", name]).await,
            [name, value]
        );
    }
}

// ---------------------------------------------------------------------------------------
// DBSIZE, FLUSHDB, FLUSHALL, SWAPDB
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn dbsize_and_flushdb() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 0);
    for i in 0..10 {
        put(&s, 0, &format!("k{i}"), "v", None);
    }
    put(&s, 1, "other", "v", None);
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 10);
    let _: String = cmd(&mut c, &["SELECT", "1"]).await;
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 1);
    let _: String = cmd(&mut c, &["SELECT", "0"]).await;

    assert_eq!(cmd::<String>(&mut c, &["FLUSHDB"]).await, "OK");
    assert_eq!(db_len(&s, 0), 0);
    assert_eq!(db_len(&s, 1), 1, "FLUSHDB leaves other databases");
    put(&s, 0, "a", "1", None);
    assert_eq!(cmd::<String>(&mut c, &["FLUSHDB", "async"]).await, "OK");
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 0);
    put(&s, 0, "a", "1", None);
    assert_eq!(cmd::<String>(&mut c, &["FLUSHDB", "SYNC"]).await, "OK");
    assert_eq!(db_len(&s, 0), 0);
    // The database is usable after a flush.
    put(&s, 0, "again", "1", None);
    assert!(has_key(&s, 0, "again"));

    for bad in [
        &["FLUSHDB", "x"][..],
        &["FLUSHDB", "ASYNC", "x"][..],
        &["FLUSHDB", "SYNC", "SYNC"][..],
    ] {
        assert_eq!(err(&mut c, bad).await, "ERR syntax error", "{bad:?}");
    }
    assert_eq!(
        err(&mut c, &["DBSIZE", "x"]).await,
        "ERR wrong number of arguments for 'dbsize' command"
    );
}

#[tokio::test]
async fn flushall() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    for db in [0, 1, 15] {
        put(&s, db, "k", "v", Some(now_ms() + 100_000));
        put(&s, db, "k2", "v", None);
    }
    assert_eq!(cmd::<String>(&mut c, &["FLUSHALL"]).await, "OK");
    for db in [0, 1, 15] {
        assert_eq!(db_len(&s, db), 0);
    }
    put(&s, 2, "k", "v", None);
    assert_eq!(cmd::<String>(&mut c, &["FLUSHALL", "ASYNC"]).await, "OK");
    assert_eq!(db_len(&s, 2), 0);
    put(&s, 2, "k", "v", None);
    assert_eq!(cmd::<String>(&mut c, &["flushall", "sync"]).await, "OK");
    assert_eq!(db_len(&s, 2), 0);
    assert_eq!(err(&mut c, &["FLUSHALL", "x"]).await, "ERR syntax error");
    assert_eq!(
        err(&mut c, &["FLUSHALL", "ASYNC", "SYNC"]).await,
        "ERR syntax error"
    );
    assert!(!info(&mut c, &["keyspace"]).await.contains("db"));
}

#[tokio::test]
async fn swapdb() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    put(&s, 0, "zero", "0", None);
    put(&s, 1, "one", "1", Some(now_ms() + 100_000));
    put(&s, 1, "uno", "1", None);
    assert_eq!(cmd::<String>(&mut c, &["SWAPDB", "0", "1"]).await, "OK");
    assert!(has_key(&s, 0, "one") && has_key(&s, 0, "uno") && !has_key(&s, 0, "zero"));
    assert!(has_key(&s, 1, "zero") && !has_key(&s, 1, "one"));
    // The selected database now shows the other data.
    assert_eq!(cmd::<i64>(&mut c, &["DBSIZE"]).await, 2);
    assert_eq!(cmd::<String>(&mut c, &["SWAPDB", "1", "1"]).await, "OK");
    assert!(has_key(&s, 1, "zero"));
    assert_eq!(cmd::<String>(&mut c, &["SWAPDB", "15", "0"]).await, "OK");
    assert_eq!(db_len(&s, 0), 0);
    assert_eq!(db_len(&s, 15), 2);

    let cases: &[(&[&str], &str)] = &[
        (&["SWAPDB", "0", "a"], "ERR invalid second DB index"),
        (&["SWAPDB", "a", "0"], "ERR invalid first DB index"),
        (&["SWAPDB", "a", "b"], "ERR invalid first DB index"),
        (
            &["SWAPDB", "99999999999", "0"],
            "ERR invalid first DB index",
        ),
        (&["SWAPDB", "0", "1.5"], "ERR invalid second DB index"),
        (&["SWAPDB", "0", "16"], "ERR DB index is out of range"),
        (&["SWAPDB", "-1", "0"], "ERR DB index is out of range"),
        (
            &["SWAPDB", "0"],
            "ERR wrong number of arguments for 'swapdb' command",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(err(&mut c, args).await, *expected, "{args:?}");
    }
}

// ---------------------------------------------------------------------------------------
// TIME, LASTSAVE, SHUTDOWN
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn time_and_lastsave() {
    let _lock = STATS_LOCK.lock().await;
    let s = TestServer::start();
    let mut c = s.conn().await;
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let t: Value = cmd(&mut c, &["TIME"]).await;
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    // Two bulk strings: seconds and microseconds.
    let parts: Vec<i64> = items(&t)
        .iter()
        .map(|v| match v {
            Value::BulkString(b) => String::from_utf8_lossy(b).parse().expect("number"),
            other => panic!("TIME element is not a bulk string: {other:?}"),
        })
        .collect();
    assert_eq!(parts.len(), 2);
    assert!((0..1_000_000).contains(&parts[1]));
    let t_us = parts[0] * 1_000_000 + parts[1];
    assert!(
        before <= t_us && t_us <= after,
        "{before} <= {t_us} <= {after}"
    );

    let last: i64 = cmd(&mut c, &["LASTSAVE"]).await;
    assert_eq!(last, s.handle().shared().persistence.last_save());
    assert!((last - now_ms() / 1000).abs() < 60);
    assert_eq!(
        err(&mut c, &["TIME", "x"]).await,
        "ERR wrong number of arguments for 'time' command"
    );
    assert_eq!(
        err(&mut c, &["LASTSAVE", "x"]).await,
        "ERR wrong number of arguments for 'lastsave' command"
    );
}

#[tokio::test]
async fn shutdown_errors_then_stops_the_server() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let cases: &[(&[&str], &str)] = &[
        (&["SHUTDOWN", "ABORT"], "ERR No shutdown in progress."),
        (&["SHUTDOWN", "x"], "ERR syntax error"),
        (&["SHUTDOWN", "NOSAVE", "SAVE"], "ERR syntax error"),
        (&["SHUTDOWN", "ABORT", "NOW"], "ERR syntax error"),
        (&["SHUTDOWN", "FORCE", "ABORT"], "ERR syntax error"),
    ];
    for (args, expected) in cases {
        assert_eq!(err(&mut c, args).await, *expected, "{args:?}");
    }
    // Still serving.
    assert_eq!(cmd::<String>(&mut c, &["PING"]).await, "PONG");

    let mut raw = s.raw().await;
    // SHUTDOWN gets no reply, and nothing pipelined after it runs.
    let mut batch = encode(&[b"SHUTDOWN", b"NOSAVE", b"NOW"]);
    batch.extend_from_slice(&encode(&[b"PING"]));
    raw.send(&batch).await;
    assert_eq!(raw.read_exact_or_eof(1).await, b"");
    let addr = s.addr;
    let mut refused = false;
    for _ in 0..250 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the port still accepts connections after SHUTDOWN");
}

// ---------------------------------------------------------------------------------------
// SLOWLOG
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn slowlog() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let _: String = cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).await;
    let _: String = cmd(&mut c, &["ECHO", "hello"]).await;
    let entries: Value = cmd(&mut c, &["SLOWLOG", "GET", "1"]).await;
    let entries = items(&entries);
    assert_eq!(entries.len(), 1);
    let e = items(&entries[0]);
    assert_eq!(e.len(), 6);
    let id = int(&e[0]);
    assert!((int(&e[1]) - now_ms() / 1000).abs() < 60);
    assert!(int(&e[2]) >= 0);
    assert_eq!(texts(&e[3]), ["ECHO", "hello"]);
    assert!(text(&e[4]).starts_with("127.0.0.1:"));
    assert_eq!(text(&e[5]), "");

    // Newest first; GET without count returns at most 10; -1 returns all.
    for i in 0..12 {
        let _: String = cmd(&mut c, &["ECHO", &i.to_string()]).await;
    }
    let ten: Value = cmd(&mut c, &["SLOWLOG", "GET"]).await;
    assert_eq!(items(&ten).len(), 10);
    let newest = items(&items(&ten)[0]);
    assert_eq!(texts(&newest[3]), ["ECHO", "11"]);
    assert!(int(&newest[0]) > id);
    let len: i64 = cmd(&mut c, &["SLOWLOG", "LEN"]).await;
    let all: Value = cmd(&mut c, &["SLOWLOG", "GET", "-1"]).await;
    // The LEN call itself was logged before GET ran.
    assert_eq!(items(&all).len() as i64, len + 1);
    let none: Value = cmd(&mut c, &["SLOWLOG", "GET", "0"]).await;
    assert!(items(&none).is_empty());

    assert_eq!(cmd::<String>(&mut c, &["SLOWLOG", "RESET"]).await, "OK");
    // The RESET itself is the one entry, as in Redis.
    assert_eq!(cmd::<i64>(&mut c, &["SLOWLOG", "LEN"]).await, 1);

    let cases: &[(&[&str], &str)] = &[
        (
            &["SLOWLOG", "GET", "x"],
            "ERR count should be greater than or equal to -1",
        ),
        (
            &["SLOWLOG", "GET", "-2"],
            "ERR count should be greater than or equal to -1",
        ),
        (
            &["SLOWLOG", "GET", "1", "2"],
            "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.",
        ),
        (
            &["SLOWLOG", "LEN", "x"],
            "ERR wrong number of arguments for 'slowlog|len' command",
        ),
        (
            &["SLOWLOG", "foo"],
            "ERR unknown subcommand 'foo'. Try SLOWLOG HELP.",
        ),
        (
            &["SLOWLOG"],
            "ERR wrong number of arguments for 'slowlog' command",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(err(&mut c, args).await, *expected, "{args:?}");
    }
    let help: Vec<String> = cmd(&mut c, &["SLOWLOG", "HELP"]).await;
    assert_eq!(help.len(), 12);
    assert_eq!(help[1], "GET [<count>]");

    // Off again: nothing more is logged.
    let _: String = cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]).await;
    let _: String = cmd(&mut c, &["SLOWLOG", "RESET"]).await;
    let _: String = cmd(&mut c, &["ECHO", "x"]).await;
    assert_eq!(cmd::<i64>(&mut c, &["SLOWLOG", "LEN"]).await, 0);
}

// ---------------------------------------------------------------------------------------
// MEMORY
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn memory_commands() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    put(&s, 0, "small", "v", None);
    put(&s, 0, "big", &"x".repeat(10_000), None);
    let small: i64 = cmd(&mut c, &["MEMORY", "USAGE", "small"]).await;
    let big: i64 = cmd(&mut c, &["MEMORY", "USAGE", "big", "SAMPLES", "0"]).await;
    assert!(small > "small".len() as i64 + 1, "{small}");
    // The block as jemalloc rounds it (10,240 for ~10,040 bytes, as Redis reports
    // an sds's usable size), plus the table slot.
    assert!((10_240..10_300).contains(&big), "{big}");
    let missing: Value = cmd(&mut c, &["MEMORY", "USAGE", "nope"]).await;
    assert_eq!(missing, Value::Nil);
    put(&s, 1, "elsewhere", "v", None);
    let missing: Value = cmd(&mut c, &["MEMORY", "USAGE", "elsewhere"]).await;
    assert_eq!(missing, Value::Nil);

    let cases: &[(&[&str], &str)] = &[
        (&["MEMORY", "USAGE", "small", "SAMPLES"], "ERR syntax error"),
        (&["MEMORY", "USAGE", "small", "x", "y"], "ERR syntax error"),
        (
            &["MEMORY", "USAGE", "small", "SAMPLES", "-1"],
            "ERR syntax error",
        ),
        (
            &["MEMORY", "USAGE", "nope", "SAMPLES", "x"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["MEMORY", "USAGE"],
            "ERR wrong number of arguments for 'memory|usage' command",
        ),
        (
            &["MEMORY"],
            "ERR wrong number of arguments for 'memory' command",
        ),
        (
            &["MEMORY", "nope"],
            "ERR unknown subcommand 'nope'. Try MEMORY HELP.",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(err(&mut c, args).await, *expected, "{args:?}");
    }

    let stats: Value = cmd(&mut c, &["MEMORY", "STATS"]).await;
    let stats = pairs(&stats);
    assert_eq!(int(&lookup(&stats, "keys.count")), 3);
    assert!(int(&lookup(&stats, "total.allocated")) > 0);
    assert!(int(&lookup(&stats, "peak.allocated")) >= int(&lookup(&stats, "total.allocated")));
    assert!(stats.iter().any(|(k, _)| k == "db.0") && stats.iter().any(|(k, _)| k == "db.1"));
    assert!(!stats.iter().any(|(k, _)| k == "db.2"));
    assert_eq!(
        stats.last().map(|(k, _)| k.as_str()),
        Some("fragmentation.bytes")
    );

    let doctor: String = cmd(&mut c, &["MEMORY", "DOCTOR"]).await;
    assert!(
        doctor.starts_with("Hi Sam") || doctor.starts_with("Sam, I detected"),
        "{doctor}"
    );
    let malloc: String = cmd(&mut c, &["MEMORY", "MALLOC-STATS"]).await;
    assert!(malloc.contains("jemalloc"), "{malloc}");
    assert_eq!(cmd::<String>(&mut c, &["MEMORY", "PURGE"]).await, "OK");
    let help: Vec<String> = cmd(&mut c, &["MEMORY", "HELP"]).await;
    assert_eq!(help.len(), 14);
    assert_eq!(help[9], "USAGE <key> [SAMPLES <count>]");
}

/// RESP3 replies of the server family, byte for byte what redis-server 7.0.15 sends
/// after HELLO 3.
#[tokio::test]
async fn resp3_replies_match_redis() {
    let s = TestServer::start();
    let mut r = s.raw3().await;
    r.roundtrip(
        &[b"COMMAND", b"INFO", b"config|get"],
        b"*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n~4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n~3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n~0\r\n~0\r\n~0\r\n",
    )
    .await;
    r.roundtrip(&[b"COMMAND", b"INFO", b"nope"], b"*1\r\n_\r\n")
        .await;
    r.roundtrip(&[b"MEMORY", b"USAGE", b"nope"], b"_\r\n").await;
    r.roundtrip(
        &[b"CONFIG", b"GET", b"maxmemory"],
        b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n",
    )
    .await;
    r.roundtrip(&[b"INFO", b"modules"], b"=15\r\ntxt:# Modules\r\n\r\n")
        .await;
    r.roundtrip(
        &[b"COMMAND", b"GETKEYSANDFLAGS", b"memory", b"usage", b"k"],
        b"*1\r\n*2\r\n$1\r\nk\r\n~2\r\n+RO\r\n+access\r\n",
    )
    .await;
    let mut c = s.conn3().await;
    // A non-empty subcommand list is an array, an empty one a set.
    let info: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("slowlog")
        .query_async(&mut c)
        .await
        .expect("command info");
    let Value::Array(entries) = info else {
        panic!("{info:?}")
    };
    let Value::Array(fields) = &entries[0] else {
        panic!("{entries:?}")
    };
    assert!(
        matches!(&fields[9], Value::Array(subs) if subs.len() == 4),
        "{fields:?}"
    );
    assert!(
        matches!(&fields[8], Value::Set(v) if v.is_empty()),
        "{fields:?}"
    );
    let stats: Value = redis::cmd("MEMORY")
        .arg("STATS")
        .query_async(&mut c)
        .await
        .expect("memory stats");
    let Value::Map(pairs) = stats else {
        panic!("{stats:?}")
    };
    assert_eq!(pairs.len(), 27);
    assert_eq!(pairs[0].0, Value::BulkString(b"peak.allocated".to_vec()));
    assert!(pairs.iter().any(
        |(k, v)| *k == Value::BulkString(b"dataset.percentage".to_vec())
            && matches!(v, Value::Double(_))
    ));
    for cmd in [&["INFO"][..], &["MEMORY", "DOCTOR"]] {
        let v: Value = redis::cmd(cmd[0])
            .arg(&cmd[1..])
            .query_async(&mut c)
            .await
            .expect("verbatim");
        assert!(matches!(v, Value::VerbatimString { .. }), "{cmd:?}: {v:?}");
    }
}
