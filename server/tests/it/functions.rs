//! Functions over TCP: FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/STATS/KILL/HELP,
//! FCALL and FCALL_RO, `redis.register_function` in both forms with its flags, and
//! every error text, compared byte for byte with redis-server 7.0 (RESP2 and RESP3);
//! FUNCTION DUMP payloads restored from Redis into Shoal and the other way round;
//! BUSY, FUNCTION STATS and FUNCTION KILL for a function running long.

use std::time::Duration;

use redis::Value;

use crate::common::*;

/// A library with functions of every kind.
const LIB: &str = "#!lua name=mylib
local function setter(keys, args) return redis.call('set', keys[1], args[1]) end
redis.register_function('echo', function(keys, args) return {keys[1], args[1]} end)
redis.register_function{function_name='boom', callback=function(keys, args) return error('boom') end,
  flags={'no-writes'}, description='raises'}
redis.register_function{function_name='setter', callback=setter,
  flags={'allow-oom', 'ALLOW-STALE', 'no-cluster', 'allow-cross-slot-keys'}}
redis.register_function('globals', function(keys, args) return KEYS end)
redis.register_function('unknown', function(keys, args) return redis.call('nosuch') end)
redis.register_function('custom', function(keys, args) return {err='MY custom'} end)
redis.register_function{function_name='reader', callback=function(keys, args)
  return redis.call('get', keys[1]) end, flags={'no-writes'}}
redis.register_function{function_name='sneaky', callback=function(keys, args)
  return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}
";

/// Sends the same commands to Shoal and to redis-server 7.0 and asserts the replies
/// are the same bytes; `resp3` says HELLO 3 first.
pub(crate) fn same_as_redis(
    shoal: &TestServer,
    redis: &RedisServer,
    resp3: bool,
    commands: &[&[&str]],
) {
    let mut s = Wire::connect(shoal.addr);
    let mut r = Wire::connect(("127.0.0.1", redis.port));
    if resp3 {
        s.call(&["HELLO", "3"]);
        r.call(&["HELLO", "3"]);
    }
    for c in commands {
        let want = r.call(c);
        let got = s.call(c);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{c:?}"
        );
    }
}

#[tokio::test]
async fn calls_and_errors_match_redis() {
    let shoal = TestServer::start();
    let redis = RedisServer::start();
    for resp3 in [false, true] {
        same_as_redis(
            &shoal,
            &redis,
            resp3,
            &[
                &["FUNCTION", "FLUSH"],
                &["FUNCTION", "LOAD", LIB],
                &["FCALL", "echo", "1", "k", "a"],
                &["FCALL", "ECHO", "1", "k", "a"],
                &["FCALL_RO", "echo", "0"],
                &["FCALL", "boom", "0"],
                &["FCALL_RO", "boom", "0"],
                &["FCALL", "setter", "1", "k", "v"],
                &["FCALL_RO", "setter", "1", "k", "v"],
                &["FCALL_RO", "reader", "1", "k"],
                &["FCALL", "sneaky", "1", "k"],
                &["FCALL", "globals", "0"],
                &["FCALL", "unknown", "0"],
                &["FCALL", "custom", "0"],
                &["FCALL", "nosuch", "0"],
                &["FCALL", "echo", "5", "a"],
                &["FCALL", "echo", "-1"],
                &["FCALL", "echo", "x"],
                &["FCALL", "echo"],
                &["FUNCTION", "LIST", "LIBRARYNAME", "nomatch*"],
                &["FUNCTION", "LIST", "LIBRARYNAME"],
                &["FUNCTION", "LIST", "foo"],
                &["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
                &["FUNCTION", "DELETE", "nosuch"],
                &["FUNCTION", "DELETE"],
                &["FUNCTION", "FLUSH", "bad"],
                &["FUNCTION", "FLUSH", "a", "b"],
                &["FUNCTION", "RESTORE", "bad"],
                &["FUNCTION", "RESTORE", "bad", "foo"],
                &["FUNCTION", "RESTORE", "a", "b", "c"],
                &["FUNCTION", "KILL"],
                &["FUNCTION", "STATS"],
                &["FUNCTION", "HELP"],
                &["FUNCTION", "foo"],
                &["FUNCTION", "LOAD", "REPLACE", "REPLACE", "x"],
                &["FUNCTION", "LOAD", "foo", "x"],
                &["FUNCTION", "DELETE", "mylib"],
                &["FCALL", "echo", "0"],
                &["FUNCTION", "LIST"],
            ],
        );
    }
}

/// Every FUNCTION LOAD error, as Redis words it.
#[tokio::test]
async fn load_errors_match_redis() {
    let shoal = TestServer::start();
    let redis = RedisServer::start();
    let bodies = [
        "redis.call('set', 'x', 'y')",
        "math.random()",
        "redis.setresp(3)",
        "local x = redis.sha1hex",
        "error('boom')",
        "local x = nil + 1",
        "x = 5",
        "return 5",
        "local x = 1 +",
        "redis.register_function('bad name', function() return 1 end)",
        "redis.register_function('', function() return 1 end)",
        "redis.register_function('ff', function() return 1 end)\nredis.register_function('ff', function() return 1 end)",
        "redis.register_function{function_name='ff', callback=function() return 1 end, flags={'bad'}}",
        "redis.register_function{function_name='ff', callback=function() return 1 end, flags='no-writes'}",
        "redis.register_function{function_name='ff', callback=function() return 1 end, foo=1}",
        "redis.register_function{function_name='ff', callback=1}",
        "redis.register_function{function_name={}, callback=function() end}",
        "redis.register_function{function_name='ff', description={}, callback=function() end}",
        "redis.register_function{callback=function() return 1 end}",
        "redis.register_function{function_name='ff'}",
        "redis.register_function('ff')",
        "redis.register_function()",
        "redis.register_function(1, 2)",
        "redis.register_function({}, function() end)",
        "redis.register_function(1, 2, 3)",
        "redis.register_function('taken', function() return 1 end)",
        "redis.register_function('TAKEN', function() return 1 end)",
        "redis.register_function(42, function() return 1 end)",
        // Stopped after 500 ms.
        "while true do end",
    ];
    let mut commands: Vec<Vec<String>> = vec![
        vec!["FUNCTION".into(), "FLUSH".into()],
        vec![
            "FUNCTION".into(),
            "LOAD".into(),
            "#!lua name=other\nredis.register_function('taken', function() return 1 end)".into(),
        ],
    ];
    for body in bodies {
        commands.push(vec![
            "FUNCTION".into(),
            "LOAD".into(),
            format!("#!lua name=lib\n{body}"),
        ]);
        commands.push(vec!["FUNCTION".into(), "DELETE".into(), "lib".into()]);
    }
    for code in [
        "#!lua name=a b=c\n",
        "#!lua name=a name=b\n",
        "#!lua\nreturn",
        "#!luax name=x\n",
        "#!lua name=bad-lib\nredis.register_function('f', function() return 1 end)",
        "#!lua name=\nredis.register_function('f', function() return 1 end)",
        "#!lua name=x",
        "#!lua",
        "no shebang",
        "#!LUA   NAME=other2\nredis.register_function('g', function() return 2 end)",
        "#!lua name=other\nredis.register_function('h', function() return 1 end)",
    ] {
        commands.push(vec!["FUNCTION".into(), "LOAD".into(), code.into()]);
    }
    commands.push(vec![
        "FUNCTION".into(),
        "LOAD".into(),
        "REPLACE".into(),
        "#!lua name=other\nredis.register_function('h', function() return 1 end)".into(),
    ]);
    commands.push(vec!["FCALL".into(), "taken".into(), "0".into()]);
    commands.push(vec!["FCALL".into(), "h".into(), "0".into()]);
    commands.push(vec!["FCALL".into(), "g".into(), "0".into()]);
    let refs: Vec<Vec<&str>> = commands
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let refs: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    same_as_redis(&shoal, &redis, false, &refs);
}

/// FUNCTION LIST and STATS, RESP2 and RESP3, for one library (Redis lists a
/// library's functions in its hash table's order: one function each here).
#[tokio::test]
async fn list_and_stats_match_redis() {
    let shoal = TestServer::start();
    let redis = RedisServer::start();
    let one = "#!lua name=one\nredis.register_function{function_name='f1', callback=function() return 1 end, flags={'no-writes', 'allow-stale'}, description='the one'}";
    let two = "#!lua name=two\nredis.register_function('f2', function() return 2 end)";
    for resp3 in [false, true] {
        same_as_redis(
            &shoal,
            &redis,
            resp3,
            &[
                &["FUNCTION", "FLUSH", "SYNC"],
                &["FUNCTION", "LOAD", one],
                &["FUNCTION", "LOAD", two],
                &["FUNCTION", "LIST", "LIBRARYNAME", "one"],
                &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "t*"],
                &["FUNCTION", "LIST", "LIBRARYNAME", "o?e", "WITHCODE"],
                &["FUNCTION", "STATS"],
                &["FUNCTION", "DELETE", "one"],
                &["FUNCTION", "LIST"],
                &["FUNCTION", "STATS"],
                &["FUNCTION", "FLUSH", "ASYNC"],
                &["FUNCTION", "STATS"],
                &["FUNCTION", "LIST"],
            ],
        );
    }
    // Both libraries listed, by name.
    let mut c = shoal.conn().await;
    let _: String = cmd(&mut c, &["FUNCTION", "LOAD", two]).await;
    let _: String = cmd(&mut c, &["FUNCTION", "LOAD", one]).await;
    let v: Vec<Vec<Value>> = cmd(&mut c, &["FUNCTION", "LIST"]).await;
    let names: Vec<Value> = v.iter().map(|l| l[1].clone()).collect();
    assert_eq!(
        names,
        [
            Value::BulkString(b"one".to_vec()),
            Value::BulkString(b"two".to_vec())
        ]
    );
}

async fn dump(c: &mut redis::aio::MultiplexedConnection) -> Vec<u8> {
    redis::cmd("FUNCTION")
        .arg("DUMP")
        .query_async(c)
        .await
        .unwrap()
}

async fn restore(
    c: &mut redis::aio::MultiplexedConnection,
    payload: &[u8],
    policy: Option<&str>,
) -> Result<(), String> {
    let mut cmd = redis::cmd("FUNCTION");
    cmd.arg("RESTORE").arg(payload);
    if let Some(p) = policy {
        cmd.arg(p);
    }
    cmd.query_async::<()>(c).await.map_err(|e| error_text(&e))
}

/// FUNCTION DUMP payloads go from Redis to Shoal and back, with each policy.
#[tokio::test]
async fn dump_and_restore_interoperate_with_redis() {
    let shoal = TestServer::start();
    let (_redis, mut r) = RedisServer::with_conn().await;
    let mut s = shoal.conn().await;
    // A long library: Redis LZF-compresses it in the payload.
    let long = format!(
        "#!lua name=long\n{}redis.register_function('lf', function(k, a) return a[1] .. '!' end)",
        "-- some padding that compresses well\n".repeat(40)
    );
    let _: String = cmd(&mut r, &["FUNCTION", "LOAD", LIB]).await;
    let _: String = cmd(&mut r, &["FUNCTION", "LOAD", &long]).await;
    let from_redis = dump(&mut r).await;
    restore(&mut s, &from_redis, None).await.unwrap();
    let v: Vec<String> = cmd(&mut s, &["FCALL", "echo", "1", "k", "a"]).await;
    assert_eq!(v, ["k", "a"]);
    let v: String = cmd(&mut s, &["FCALL", "lf", "0", "x"]).await;
    assert_eq!(v, "x!");
    let list: Vec<Value> = cmd(
        &mut s,
        &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "long"],
    )
    .await;
    assert!(format!("{list:?}").contains("some padding"));
    // APPEND (the default) refuses a library already there; nothing changes.
    // (Which library it names depends on the order: Redis's is its hash table's.)
    for policy in [None, Some("APPEND")] {
        let e = restore(&mut s, &from_redis, policy).await.unwrap_err();
        assert!(
            e == "ERR Library mylib already exists" || e == "ERR Library long already exists",
            "{e}"
        );
    }
    // REPLACE and FLUSH.
    restore(&mut s, &from_redis, Some("REPLACE")).await.unwrap();
    let one = "#!lua name=extra\nredis.register_function('ex', function() return 1 end)";
    let _: String = cmd(&mut s, &["FUNCTION", "LOAD", one]).await;
    restore(&mut s, &from_redis, Some("FLUSH")).await.unwrap();
    assert_eq!(
        err(&mut s, &["FCALL", "ex", "0"]).await,
        "ERR Function not found"
    );
    // A library whose function another library has: refused, as Redis.
    let clash = "#!lua name=clash\nredis.register_function('echo', function() return 1 end)";
    let _: () = cmd(&mut s, &["FUNCTION", "FLUSH"]).await;
    let _: () = cmd(&mut r, &["FUNCTION", "FLUSH"]).await;
    let _: String = cmd(&mut s, &["FUNCTION", "LOAD", clash]).await;
    let _: String = cmd(&mut r, &["FUNCTION", "LOAD", clash]).await;
    assert_eq!(
        restore(&mut s, &from_redis, None).await.unwrap_err(),
        restore(&mut r, &from_redis, None).await.unwrap_err()
    );
    // Shoal's payload restores into Redis, and its bytes are Redis's for the same
    // single library.
    let _: () = cmd(&mut s, &["FUNCTION", "FLUSH"]).await;
    let _: String = cmd(&mut s, &["FUNCTION", "LOAD", LIB]).await;
    let _: String = cmd(&mut s, &["FUNCTION", "LOAD", &long]).await;
    let from_shoal = dump(&mut s).await;
    restore(&mut r, &from_shoal, Some("FLUSH")).await.unwrap();
    let v: Vec<String> = cmd(&mut r, &["FCALL", "echo", "1", "k", "a"]).await;
    assert_eq!(v, ["k", "a"]);
    let v: String = cmd(&mut r, &["FCALL", "lf", "0", "y"]).await;
    assert_eq!(v, "y!");
    // The same bytes as Redis's for a library LZF does not shrink (the compressor's
    // output may differ from Redis's by a few bytes; both read either).
    let small = "#!lua name=a\nredis.register_function('fa', function() return 1 end)";
    for c in [&mut s, &mut r] {
        let _: () = cmd(c, &["FUNCTION", "FLUSH"]).await;
        let _: String = cmd(c, &["FUNCTION", "LOAD", small]).await;
    }
    assert_eq!(dump(&mut s).await, dump(&mut r).await);
    // Bad payloads.
    let mut bad = from_shoal.clone();
    bad[3] ^= 1;
    for (payload, _) in [(bad, 0), (b"tiny".to_vec(), 0)] {
        assert_eq!(
            restore(&mut s, &payload, None).await.unwrap_err(),
            restore(&mut r, &payload, None).await.unwrap_err()
        );
    }
    let _: () = cmd(&mut s, &["SET", "k", "v"]).await;
    let key_dump: Vec<u8> = redis::cmd("DUMP")
        .arg("k")
        .query_async(&mut s)
        .await
        .unwrap();
    assert_eq!(
        restore(&mut s, &key_dump, None).await.unwrap_err(),
        "ERR given type is not a function"
    );
    let empty: Vec<u8> = {
        let _: () = cmd(&mut r, &["FUNCTION", "FLUSH"]).await;
        dump(&mut r).await
    };
    let _: () = cmd(&mut s, &["FUNCTION", "FLUSH"]).await;
    assert_eq!(dump(&mut s).await, empty);
    restore(&mut s, &empty, None).await.unwrap();
}

/// A function running past busy-reply-threshold: other clients get BUSY (the
/// function's text), FUNCTION STATS names it, SCRIPT KILL refuses, FUNCTION KILL
/// stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn busy_function_stats_and_kill() {
    let s = TestServer::with(|c| c.busy_reply_threshold = 100);
    let mut a = s.conn().await;
    let spin = "#!lua name=spin\nredis.register_function('spin', function(keys, args) \
                local n = 0 while n < tonumber(args[1]) do n = n + 1 end return n end)";
    let _: String = cmd(&mut a, &["FUNCTION", "LOAD", spin]).await;
    let v: i64 = cmd(&mut a, &["FCALL", "spin", "1", "spinkey", "1"]).await;
    assert_eq!(v, 1);
    let looping = tokio::spawn(async move {
        try_cmd::<Value>(&mut a, &["FCALL", "spin", "1", "spinkey", "400000000"]).await
    });
    let mut b = s.conn().await;
    let mut busy = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Err(e) = try_cmd::<Value>(&mut b, &["PING"]).await {
            busy = error_text(&e);
            break;
        }
    }
    assert_eq!(
        busy,
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    );
    assert_eq!(err(&mut b, &["SCRIPT", "KILL"]).await, busy);
    let stats: Vec<Value> = cmd(&mut b, &["FUNCTION", "STATS"]).await;
    let Value::Array(running) = &stats[1] else {
        panic!("{stats:?}")
    };
    assert_eq!(running[1], Value::BulkString(b"spin".to_vec()));
    assert_eq!(
        running[3],
        Value::Array(
            ["FCALL", "spin", "1", "spinkey", "400000000"]
                .iter()
                .map(|a| Value::BulkString(a.as_bytes().to_vec()))
                .collect()
        )
    );
    assert!(
        matches!(running[5], Value::Int(ms) if ms >= 100),
        "{running:?}"
    );
    let _: () = cmd(&mut b, &["FUNCTION", "KILL"]).await;
    let got = looping.await.unwrap().unwrap_err();
    assert!(
        error_text(&got).starts_with(
            "ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:"
        ),
        "{got}"
    );
    let v: String = cmd(&mut b, &["PING"]).await;
    assert_eq!(v, "PONG");
    assert_eq!(
        err(&mut b, &["FUNCTION", "KILL"]).await,
        "NOTBUSY No scripts in execution right now."
    );
}

/// Functions are atomic and see the keyspace as scripts do: a function run by many
/// clients at once never loses an update, whether its keys are declared or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn functions_are_atomic() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let lib = "#!lua name=counters
redis.register_function('bump', function(keys, args)
  local v = tonumber(redis.call('get', keys[1]) or '0')
  redis.call('set', keys[1], v + 1)
  local u = tonumber(redis.call('get', 'undeclared') or '0')
  redis.call('set', 'undeclared', u + 1)
  return v + 1
end)";
    let _: String = cmd(&mut c, &["FUNCTION", "LOAD", lib]).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut c = s.conn().await;
        tasks.push(tokio::spawn(async move {
            for _ in 0..100 {
                let _: i64 = cmd(&mut c, &["FCALL", "bump", "1", "declared"]).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let v: i64 = cmd(&mut c, &["GET", "declared"]).await;
    assert_eq!(v, 800);
    let v: i64 = cmd(&mut c, &["GET", "undeclared"]).await;
    assert_eq!(v, 800);
    // In MULTI/EXEC too.
    let v: Vec<Value> = redis::pipe()
        .atomic()
        .cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("declared")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(v, [Value::Int(801)]);
}

/// COMMAND INFO, GETKEYS and GETKEYSANDFLAGS of the script and function commands
/// (`movablekeys`, `no_mandatory_keys`, their key specs' notes) as Redis's.
#[tokio::test]
async fn command_introspection_matches_redis() {
    let shoal = TestServer::start();
    let redis = RedisServer::start();
    for resp3 in [false, true] {
        same_as_redis(
            &shoal,
            &redis,
            resp3,
            &[
                &[
                    "COMMAND",
                    "INFO",
                    "eval",
                    "evalsha",
                    "eval_ro",
                    "evalsha_ro",
                ],
                &["COMMAND", "INFO", "fcall", "fcall_ro"],
                &["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c"],
                &["COMMAND", "GETKEYS", "EVAL", "return 1", "0", "a"],
                &["COMMAND", "GETKEYS", "FCALL", "f", "1", "a", "b"],
                &["COMMAND", "GETKEYS", "FCALL_RO", "f", "0"],
                &["COMMAND", "GETKEYS", "FCALL", "f", "3", "a"],
                &["COMMAND", "GETKEYSANDFLAGS", "FCALL", "f", "1", "a", "b"],
                &["COMMAND", "GETKEYSANDFLAGS", "FCALL_RO", "f", "2", "a", "b"],
                &["COMMAND", "GETKEYSANDFLAGS", "EVALSHA_RO", "x", "1", "a"],
            ],
        );
    }
}

/// INFO's script and function fields, in Redis 7.0's order, with their counts.
#[tokio::test]
async fn info_memory_script_fields() {
    let shoal = TestServer::start();
    let (_redis, mut r) = RedisServer::with_conn().await;
    let mut c = shoal.conn().await;
    let names = |info: &str| -> Vec<String> {
        info.lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
            .filter(|k| {
                k.starts_with("used_memory_lua")
                    || k.starts_with("used_memory_vm")
                    || k.starts_with("used_memory_scripts")
                    || k.starts_with("used_memory_functions")
                    || k.starts_with("number_of_")
            })
            .collect()
    };
    let theirs: String = cmd(&mut r, &["INFO", "memory"]).await;
    let ours: String = cmd(&mut shoal.conn().await, &["INFO", "memory"]).await;
    assert_eq!(names(&ours), names(&theirs));
    assert_eq!(names(&ours).len(), 13);
    let _: Value = cmd(&mut c, &["EVAL", "return 1", "0"]).await;
    let _: String = cmd(&mut c, &["SCRIPT", "LOAD", "return 2"]).await;
    let _: String = cmd(&mut c, &["FUNCTION", "LOAD", LIB]).await;
    let two = "#!lua name=two\nredis.register_function('f2', function() return 2 end)";
    let _: String = cmd(&mut c, &["FUNCTION", "LOAD", two]).await;
    let _: i64 = cmd(&mut c, &["FCALL", "f2", "0"]).await;
    let field = |info: &str, name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name}"))
            .trim()
            .parse()
            .unwrap()
    };
    let info: String = cmd(&mut c, &["INFO", "memory"]).await;
    assert_eq!(field(&info, "number_of_cached_scripts"), 2);
    assert_eq!(field(&info, "number_of_libraries"), 2);
    assert_eq!(field(&info, "number_of_functions"), 9);
    assert!(field(&info, "used_memory_scripts_eval") >= "return 1return 2".len() as u64);
    assert!(field(&info, "used_memory_functions") >= (LIB.len() + two.len()) as u64);
    assert_eq!(
        field(&info, "used_memory_scripts"),
        field(&info, "used_memory_scripts_eval") + field(&info, "used_memory_functions")
    );
    assert!(field(&info, "used_memory_vm_eval") > 0);
    assert!(field(&info, "used_memory_vm_functions") > 0);
    assert_eq!(
        field(&info, "used_memory_vm_total"),
        field(&info, "used_memory_vm_eval") + field(&info, "used_memory_vm_functions")
    );
    assert_eq!(
        field(&info, "used_memory_lua"),
        field(&info, "used_memory_vm_eval")
    );
    let _: () = cmd(&mut c, &["SCRIPT", "FLUSH"]).await;
    let _: () = cmd(&mut c, &["FUNCTION", "FLUSH"]).await;
    let info: String = cmd(&mut c, &["INFO", "memory"]).await;
    for name in [
        "number_of_cached_scripts",
        "number_of_libraries",
        "number_of_functions",
        "used_memory_scripts",
    ] {
        assert_eq!(field(&info, name), 0, "{name}");
    }
}
