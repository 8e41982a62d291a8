//! Round trips of every encoding, and every kind of bad input with its offset.

use super::*;
use crate::{HashValue, KeyspaceConfig, ZsetLimits, ZsetValue};

fn keyspace() -> Keyspace {
    Keyspace::new(KeyspaceConfig {
        databases: 4,
        capacity: 0,
        shards: 4,
    })
}

fn put(ks: &Keyspace, db: usize, e: Entry) {
    let d = ks.db(db);
    let h = d.hash(e.key());
    d.lock(h).insert(h, e, 0);
}

fn hash_of(pairs: &[(&[u8], &[u8])]) -> HashValue {
    let mut h = HashValue::new();
    for (f, v) in pairs {
        h.insert(f, v);
    }
    h
}

/// An entry's value, comparable (collections in a canonical order).
fn describe(e: &Entry) -> String {
    match e.value() {
        Value::Str(s) => format!("str:{s:?}"),
        Value::Hash(h) => {
            let mut f: Vec<_> = h.iter().map(|(a, b)| (a.to_vec(), b.to_vec())).collect();
            f.sort();
            format!("hash:{f:?}")
        }
        Value::Zset(z) => format!("zset:{}:{:?}", z.encoding(), z.to_vec()),
        Value::List(l) => format!(
            "list:{:?}",
            l.iter().map(|e| e.to_vec()).collect::<Vec<_>>()
        ),
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            m.sort();
            format!("set:{}:{m:?}", s.encoding())
        }
    }
}

/// Every entry of every database, sorted: (db, key, value, expiry).
fn contents(ks: &Keyspace) -> Vec<(usize, Vec<u8>, String, Option<i64>)> {
    let mut all = Vec::new();
    for d in 0..ks.num_dbs() {
        ks.db(d).for_each(0, |e| {
            let v = describe(e);
            all.push((d, e.key().to_vec(), v, e.expire_at()));
        });
    }
    all.sort();
    all
}

fn sample() -> Keyspace {
    let ks = keyspace();
    let long_text = b"The quick brown fox jumps over the lazy dog. ".repeat(40);
    let random: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let strings: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"empty".to_vec(), b"".to_vec()),
        (b"small".to_vec(), b"v".to_vec()),
        (b"int8".to_vec(), b"-12".to_vec()),
        (b"int16".to_vec(), b"30000".to_vec()),
        (b"int32".to_vec(), b"-2000000000".to_vec()),
        (b"int64".to_vec(), b"9223372036854775807".to_vec()),
        (b"leading-zero".to_vec(), b"0123".to_vec()),
        (b"long".to_vec(), long_text.clone()),
        (b"random".to_vec(), random),
        (b"binary\x00key\xff".to_vec(), vec![0, 1, 2, 255, 254, 0]),
        (b"1234".to_vec(), b"numeric key".to_vec()),
        (vec![b'k'; 300], vec![b'x'; 1024]),
    ];
    for (k, v) in &strings {
        put(&ks, 0, Entry::new_str(k, v, None));
    }
    put(
        &ks,
        0,
        Entry::new_str(b"ttl", b"soon", Some(1_900_000_000_123)),
    );
    put(
        &ks,
        2,
        Entry::new_str(b"other-db", b"2", Some(4_000_000_000_000)),
    );
    put(
        &ks,
        0,
        Entry::new_hash(
            b"h-small",
            hash_of(&[(b"f1", b"v1"), (b"n", b"42"), (b"", b"")]),
            None,
        ),
    );
    let mut big = HashValue::new();
    for i in 0..500 {
        big.insert(format!("field:{i}").as_bytes(), format!("{i}").as_bytes());
    }
    big.insert(b"long", &long_text);
    put(
        &ks,
        3,
        Entry::new_hash(b"h-big", big, Some(1_800_000_000_000)),
    );
    let mut small = ZsetValue::new();
    for (m, sc) in [
        (&b"a"[..], 1.0),
        (b"12", 0.1),
        (b"-5000", -4096.0),
        (b"", f64::INFINITY),
        (b"x", f64::NEG_INFINITY),
        (b"big", 1e300),
        (b"i64", 9_007_199_254_740_993.0),
        (b"neg", -70000.5),
    ] {
        small.insert(m, sc, ZsetLimits::default());
    }
    put(&ks, 1, Entry::new_zset(b"z-small", small, None));
    let mut zbig = ZsetValue::new();
    for i in 0..1000 {
        zbig.insert(
            format!("m{i}").as_bytes(),
            f64::from(i) / 3.0,
            ZsetLimits::default(),
        );
    }
    zbig.insert(&long_text, -0.0, ZsetLimits::default());
    put(&ks, 2, Entry::new_zset(b"z-big", zbig, None));
    let small: crate::ListValue = [&b"a"[..], b"", b"12", &long_text]
        .iter()
        .map(|s| s.to_vec())
        .collect();
    put(&ks, 0, Entry::new_list(b"l-small", small, None));
    let big: crate::ListValue = (0..3000)
        .map(|i| format!("item:{i}").into_bytes())
        .chain(std::iter::once(vec![b'z'; 20_000]))
        .collect();
    put(
        &ks,
        1,
        Entry::new_list(b"l-big", big, Some(1_800_000_000_000)),
    );
    for (key, members) in [
        (&b"set-int16"[..], vec!["1", "-3", "32767"]),
        (b"set-int32", vec!["70000", "-2"]),
        (b"set-int64", vec!["-9223372036854775808", "5"]),
        (b"set-strings", vec!["a", "", "12", "0012"]),
    ] {
        let s: crate::SetValue = members.iter().map(|m| m.as_bytes().to_vec()).collect();
        put(&ks, 0, Entry::new_set(key, s, None));
    }
    ks
}

fn save(ks: &Keyspace, compress: bool, checksum: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let opts = SaveOptions {
        compress,
        checksum,
        now_ms: 1000,
        aux: vec![
            ("redis-ver".into(), "7.0.15".into()),
            ("redis-bits".into(), "64".into()),
        ],
        ..SaveOptions::default()
    };
    let stats = write(ks, &mut out, &opts).unwrap();
    assert_eq!(stats.bytes, out.len() as u64);
    out
}

fn load(file: &[u8]) -> Result<(Keyspace, LoadStats), RdbError> {
    let ks = keyspace();
    let mut src = file;
    let stats = read(
        &mut src,
        &ks,
        &LoadOptions {
            now_ms: 1000,
            progress: None,
            ..LoadOptions::default()
        },
    )?;
    Ok((ks, stats))
}

fn load_err(file: &[u8]) -> RdbError {
    match load(file) {
        Ok(_) => panic!("the file loaded"),
        Err(e) => e,
    }
}

#[test]
fn round_trip_every_encoding() {
    let ks = sample();
    for (compress, checksum) in [(true, true), (false, true), (true, false), (false, false)] {
        let file = save(&ks, compress, checksum);
        let (back, stats) = load(&file).unwrap();
        assert_eq!(contents(&back), contents(&ks), "compress {compress}");
        assert_eq!(stats.version, 10);
        assert_eq!(stats.keys_loaded, 24);
        assert_eq!(stats.keys_expired, 0);
        assert_eq!(stats.bytes, file.len() as u64);
        assert_eq!(
            stats.aux,
            vec![
                ("redis-ver".to_string(), "7.0.15".to_string()),
                ("redis-bits".to_string(), "64".to_string())
            ]
        );
    }
    let compressed = save(&ks, true, true);
    let plain = save(&ks, false, true);
    assert!(compressed.len() < plain.len());
}

#[test]
fn file_layout_header_and_checksum() {
    let file = save(&sample(), true, true);
    assert_eq!(&file[..9], b"REDIS0010");
    assert_eq!(file[9], OP_AUX);
    let (body, crc) = file.split_at(file.len() - 8);
    assert_eq!(*body.last().unwrap(), OP_EOF);
    assert_eq!(crc, crc64::update(0, body).to_le_bytes());
    let unchecked = save(&sample(), true, false);
    assert_eq!(&unchecked[unchecked.len() - 8..], &[0; 8]);
}

#[test]
fn empty_keyspace_and_expired_keys() {
    let ks = keyspace();
    let file = save(&ks, true, true);
    let (back, stats) = load(&file).unwrap();
    assert_eq!(back.total_keys(), 0);
    assert_eq!(stats.keys_loaded, 0);

    // Expired at save time: left out.
    put(&ks, 1, Entry::new_str(b"gone", b"x", Some(500)));
    put(&ks, 1, Entry::new_str(b"stays", b"x", Some(5000)));
    let file = save(&ks, true, true);
    let (back, _) = load(&file).unwrap();
    assert_eq!(back.total_keys(), 1);

    // Expired by load time: skipped and counted.
    let mut src = &file[..];
    let fresh = keyspace();
    let stats = read(
        &mut src,
        &fresh,
        &LoadOptions {
            now_ms: 6000,
            progress: None,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert_eq!((stats.keys_loaded, stats.keys_expired), (0, 1));
    assert_eq!(fresh.total_keys(), 0);
}

#[test]
fn snapshot_writer_releases_tables_but_not_live_data() {
    let ks = sample();
    let snap = ks.snapshot();
    let before = contents(&ks);
    let mut out = Vec::new();
    let progress = AtomicU64::new(0);
    let stats = write_snapshot(
        snap,
        &mut out,
        &SaveOptions {
            progress: Some(&progress),
            ..SaveOptions::default()
        },
    )
    .unwrap();
    assert_eq!(stats.keys, 24);
    assert_eq!(progress.load(Ordering::Relaxed), 24);
    assert_eq!(contents(&ks), before);
    assert_eq!(contents(&load(&out).unwrap().0), before);
}

#[test]
fn abort_stops_a_save() {
    let ks = keyspace();
    for i in 0..3000 {
        put(
            &ks,
            0,
            Entry::new_str(format!("k{i}").as_bytes(), b"v", None),
        );
    }
    let abort = AtomicBool::new(true);
    let e = write(
        &ks,
        &mut Vec::new(),
        &SaveOptions {
            abort: Some(&abort),
            ..SaveOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::Interrupted);
}

#[test]
fn every_truncation_is_an_error_with_its_offset() {
    let file = save(&sample(), true, true);
    for cut in 0..file.len() {
        let e = load(&file[..cut])
            .err()
            .unwrap_or_else(|| panic!("cut {cut} loaded"));
        match e.kind {
            RdbErrorKind::Truncated => assert_eq!(e.offset, cut as u64, "cut {cut}"),
            // A cut inside the header fails as a bad header before it runs out.
            _ => assert!(cut < 9, "cut {cut}: {e}"),
        }
    }
}

#[test]
fn every_flipped_byte_is_an_error() {
    let ks = keyspace();
    put(&ks, 0, Entry::new_str(b"key", b"value", Some(5000)));
    put(
        &ks,
        1,
        Entry::new_hash(b"h", hash_of(&[(b"f", b"1")]), None),
    );
    let file = save(&ks, true, true);
    for i in 0..file.len() {
        for bit in [0x01, 0x80, 0xff] {
            let mut bad = file.clone();
            bad[i] ^= bit;
            assert!(load(&bad).is_err(), "byte {i} ^ {bit:#x} loaded");
        }
    }
}

/// A handcrafted file: header, database 0, then whatever `body` writes.
fn craft(body: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out, false);
    w.raw(b"REDIS0010").unwrap();
    w.byte(OP_SELECTDB).unwrap();
    w.length(0).unwrap();
    body(&mut w);
    w.finish(OP_EOF, true).unwrap();
    out
}

#[test]
fn checksum_mismatch_names_the_offset() {
    let mut file = craft(|w| {
        w.byte(0).unwrap();
        w.string(b"k").unwrap();
        w.string(b"v").unwrap();
    });
    let n = file.len();
    file[n - 1] ^= 1;
    let e = load_err(&file);
    assert!(matches!(e.kind, RdbErrorKind::Checksum { .. }), "{e}");
    assert_eq!(e.offset, (n - 8) as u64);
    assert!(e.to_string().contains(&format!("offset {}", n - 8)), "{e}");
}

#[test]
fn redis_packed_hashes_load() {
    // A listpack holding f1=v1, f2=7 (as Redis 7 writes small hashes), and a ziplist
    // holding a=1 (as Redis 6 did).
    let mut lp = vec![0u8; 6];
    for (enc, backlen) in [
        (&[0x82, b'f', b'1'][..], 3u8),
        (&[0x82, b'v', b'1'][..], 3),
        (&[0x82, b'f', b'2'][..], 3),
        (&[0x07][..], 1),
    ] {
        lp.extend_from_slice(enc);
        lp.push(backlen);
    }
    lp.push(0xff);
    let n = lp.len() as u32;
    lp[..4].copy_from_slice(&n.to_le_bytes());
    lp[4..6].copy_from_slice(&4u16.to_le_bytes());
    let mut zl = vec![0u8; 10];
    zl.extend_from_slice(&[0, 0x01, b'a', 3, 0xf2]);
    zl.push(0xff);
    let n = zl.len() as u32;
    zl[..4].copy_from_slice(&n.to_le_bytes());
    zl[8..10].copy_from_slice(&2u16.to_le_bytes());
    let file = craft(|w| {
        w.byte(OP_EXPIRETIME_MS).unwrap();
        w.u64_le(2_000_000_000_000).unwrap();
        w.byte(16).unwrap();
        w.string(b"lp").unwrap();
        w.string(&lp).unwrap();
        w.byte(OP_FREQ).unwrap();
        w.byte(5).unwrap();
        w.byte(13).unwrap();
        w.string(b"zl").unwrap();
        w.string(&zl).unwrap();
        w.byte(OP_EXPIRETIME).unwrap();
        w.raw(&2_000_000_000i32.to_le_bytes()).unwrap();
        w.byte(0).unwrap();
        w.string(b"secs").unwrap();
        w.string(b"x").unwrap();
    });
    let (ks, stats) = load(&file).unwrap();
    assert_eq!(stats.keys_loaded, 3);
    let got = contents(&ks);
    assert_eq!(
        got,
        vec![
            (
                0,
                b"lp".to_vec(),
                format!(
                    "hash:{:?}",
                    vec![
                        (b"f1".to_vec(), b"v1".to_vec()),
                        (b"f2".to_vec(), b"7".to_vec())
                    ]
                ),
                Some(2_000_000_000_000)
            ),
            (
                0,
                b"secs".to_vec(),
                format!("str:{:?}", b"x"),
                Some(2_000_000_000_000)
            ),
            (
                0,
                b"zl".to_vec(),
                format!("hash:{:?}", vec![(b"a".to_vec(), b"1".to_vec())]),
                None
            ),
        ]
    );

    // An odd element count and a corrupt blob are errors at the value's offset.
    let mut odd = lp.clone();
    odd.truncate(odd.len() - 3);
    odd.push(0xff);
    let n = odd.len() as u32;
    odd[..4].copy_from_slice(&n.to_le_bytes());
    odd[4..6].copy_from_slice(&3u16.to_le_bytes());
    let file = craft(|w| {
        w.byte(16).unwrap();
        w.string(b"lp").unwrap();
        w.string(&odd).unwrap();
    });
    let e = load_err(&file);
    assert!(e.to_string().contains("odd number"), "{e}");
    assert_eq!(e.offset, 9 + 2 + 1 + 3);
}

#[test]
fn old_sorted_set_encodings_load() {
    // RDB_TYPE_ZSET (3): text scores, 253/254/255 for nan/inf/-inf.
    let file = craft(|w| {
        w.byte(3).unwrap();
        w.string(b"z").unwrap();
        w.length(3).unwrap();
        w.string(b"a").unwrap();
        w.byte(3).unwrap();
        w.raw(b"1.5").unwrap();
        w.string(b"b").unwrap();
        w.byte(254).unwrap();
        w.string(b"c").unwrap();
        w.byte(255).unwrap();
    });
    let (ks, _) = load(&file).unwrap();
    let d = ks.db(0);
    let h = d.hash(b"z");
    let mut g = d.lock(h);
    let z = g.get(h, b"z", 0).unwrap().as_zset().unwrap().clone();
    assert_eq!(
        z.to_vec(),
        vec![
            (f64::NEG_INFINITY, b"c".to_vec()),
            (1.5, b"a".to_vec()),
            (f64::INFINITY, b"b".to_vec())
        ]
    );
    // NaN and duplicates are refused.
    let file = craft(|w| {
        w.byte(3).unwrap();
        w.string(b"z").unwrap();
        w.length(1).unwrap();
        w.string(b"a").unwrap();
        w.byte(253).unwrap();
    });
    assert!(load_err(&file).to_string().contains("NaN"));
    let file = craft(|w| {
        w.byte(5).unwrap();
        w.string(b"z").unwrap();
        w.length(2).unwrap();
        w.string(b"a").unwrap();
        w.raw(&1f64.to_le_bytes()).unwrap();
        w.string(b"a").unwrap();
        w.raw(&2f64.to_le_bytes()).unwrap();
    });
    assert!(load_err(&file).to_string().contains("duplicate"));
    // A listpack too long for the limits loads in the tree form.
    let mut lp = super::zset::ListpackBuilder::default();
    for i in 0..200 {
        lp.push(format!("m{i}").as_bytes());
        lp.push(format!("{i}").as_bytes());
    }
    let blob = lp.finish();
    let file = craft(|w| {
        w.byte(17).unwrap();
        w.string(b"z").unwrap();
        w.string(&blob).unwrap();
    });
    let (ks, _) = load(&file).unwrap();
    let d = ks.db(0);
    let h = d.hash(b"z");
    let mut g = d.lock(h);
    let z = g.get(h, b"z", 0).unwrap().as_zset().unwrap();
    assert_eq!((z.len(), z.encoding()), (200, "skiplist"));
    assert_eq!(z.score(b"m150"), Some(150.0));
}

#[test]
fn unsupported_types_are_refused_by_name() {
    let file = craft(|w| {
        w.byte(0).unwrap();
        w.string(b"fine").unwrap();
        w.string(b"1").unwrap();
        w.byte(15).unwrap();
        w.string(b"mylist").unwrap();
        w.length(0).unwrap();
    });
    let e = load_err(&file);
    assert!(matches!(e.kind, RdbErrorKind::Unsupported(_)));
    let text = e.to_string();
    assert!(
        text.contains("'mylist'") && text.contains("holds a stream"),
        "{text}"
    );
    assert!(text.contains("does not store streams"), "{text}");
    assert_eq!(e.offset, 9 + 2 + 1 + 5 + 2);

    for (op, word) in [
        (OP_FUNCTION_PRE_GA, "release candidates"),
        (OP_MODULE_AUX, "modules"),
    ] {
        let file = craft(|w| w.byte(op).unwrap());
        let e = load_err(&file);
        assert!(e.to_string().contains(word), "{e}");
    }
    let file = craft(|w| w.byte(99).unwrap());
    assert!(load_err(&file)
        .to_string()
        .contains("unknown opcode or value type 99"));
}

#[test]
fn bad_headers_databases_and_duplicates() {
    let e = load_err(b"RUBBISH00010");
    assert!(e.to_string().contains("not an RDB file"), "{e}");
    assert_eq!(e.offset, 0);
    let mut v12 = craft(|_| {});
    v12[5..9].copy_from_slice(b"0012");
    assert!(load_err(&v12).to_string().contains("version 12"));

    let file = craft(|w| {
        w.byte(OP_SELECTDB).unwrap();
        w.length(9).unwrap();
    });
    let e = load_err(&file);
    assert!(e.to_string().contains("database 9"), "{e}");
    assert_eq!(e.offset, 11);

    let file = craft(|w| {
        for _ in 0..2 {
            w.byte(0).unwrap();
            w.string(b"dup").unwrap();
            w.string(b"v").unwrap();
        }
    });
    assert!(load_err(&file).to_string().contains("duplicate key 'dup'"));

    let file = craft(|w| {
        w.byte(4).unwrap();
        w.string(b"h").unwrap();
        w.length(2).unwrap();
        for _ in 0..2 {
            w.string(b"f").unwrap();
            w.string(b"v").unwrap();
        }
    });
    assert!(load_err(&file)
        .to_string()
        .contains("duplicate hash field 'f'"));

    // An empty hash is skipped, as Redis does.
    let file = craft(|w| {
        w.byte(4).unwrap();
        w.string(b"h").unwrap();
        w.length(0).unwrap();
    });
    let (ks, stats) = load(&file).unwrap();
    assert_eq!((ks.total_keys(), stats.keys_loaded), (0, 0));
}

#[test]
fn load_progress_counts_bytes() {
    let file = save(&sample(), false, true);
    let progress = AtomicU64::new(0);
    let ks = keyspace();
    let mut src = &file[..];
    read(
        &mut src,
        &ks,
        &LoadOptions {
            now_ms: 0,
            progress: Some(&progress),
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(progress.load(Ordering::Relaxed), file.len() as u64);
}

/// A ziplist of short strings (Redis 3.2 to 6.2's list nodes).
fn ziplist(items: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10;
    for it in items {
        assert!(it.len() < 64 && prev < 254);
        tail = 10 + body.len();
        let start = body.len();
        body.push(prev as u8);
        body.push(it.len() as u8);
        body.extend_from_slice(it);
        prev = body.len() - start;
    }
    let total = (10 + body.len() + 1) as u32;
    let mut zl = total.to_le_bytes().to_vec();
    zl.extend_from_slice(&(tail as u32).to_le_bytes());
    zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
    zl.extend_from_slice(&body);
    zl.push(0xff);
    zl
}

#[test]
fn older_list_encodings_load() {
    let file = craft(|w| {
        // RDB_TYPE_LIST: plain elements.
        w.byte(1).unwrap();
        w.string(b"plain").unwrap();
        w.length(3).unwrap();
        for s in [&b"a"[..], b"12", b""] {
            w.string(s).unwrap();
        }
        // RDB_TYPE_LIST_QUICKLIST: two ziplist nodes.
        w.byte(14).unwrap();
        w.string(b"quick").unwrap();
        w.length(2).unwrap();
        w.string(&ziplist(&[b"x", b"y"])).unwrap();
        w.string(&ziplist(&[b"z"])).unwrap();
        // RDB_TYPE_LIST_ZIPLIST.
        w.byte(10).unwrap();
        w.string(b"zl").unwrap();
        w.string(&ziplist(&[b"p", b"q"])).unwrap();
        // RDB_TYPE_LIST_QUICKLIST_2 with a plain node then a packed one.
        w.byte(18).unwrap();
        w.string(b"q2").unwrap();
        w.length(2).unwrap();
        w.length(1).unwrap();
        w.string(b"plain-node").unwrap();
        w.length(2).unwrap();
        w.string(&list::listpack([&b"lp"[..]].into_iter())).unwrap();
        // An empty list is skipped.
        w.byte(1).unwrap();
        w.string(b"empty").unwrap();
        w.length(0).unwrap();
    });
    let (ks, stats) = load(&file).unwrap();
    assert_eq!(stats.keys_loaded, 4);
    let got: Vec<(Vec<u8>, String)> = contents(&ks)
        .into_iter()
        .map(|(_, k, v, _)| (k, v))
        .collect();
    let want = |k: &str, items: &[&str]| {
        let items: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
        (k.as_bytes().to_vec(), format!("list:{items:?}"))
    };
    assert_eq!(
        got,
        vec![
            want("plain", &["a", "12", ""]),
            want("q2", &["plain-node", "lp"]),
            want("quick", &["x", "y", "z"]),
            want("zl", &["p", "q"]),
        ]
    );
    // A node container other than 1 or 2 is corrupt.
    let bad = craft(|w| {
        w.byte(18).unwrap();
        w.string(b"k").unwrap();
        w.length(1).unwrap();
        w.length(3).unwrap();
    });
    assert!(load_err(&bad).to_string().contains("container 3"));
}

#[test]
fn set_encodings_load() {
    let file = craft(|w| {
        w.byte(11).unwrap();
        w.string(b"ints").unwrap();
        w.string(&set::intset_blob(&[-70000, 1, 2])).unwrap();
        w.byte(20).unwrap();
        w.string(b"lp").unwrap();
        w.string(&list::listpack([&b"x"[..], b"7"].into_iter()))
            .unwrap();
        w.byte(2).unwrap();
        w.string(b"plain").unwrap();
        w.length(2).unwrap();
        w.string(b"m").unwrap();
        w.string(b"3").unwrap();
    });
    let (ks, stats) = load(&file).unwrap();
    assert_eq!(stats.keys_loaded, 3);
    let got: Vec<String> = contents(&ks).into_iter().map(|(_, _, v, _)| v).collect();
    assert_eq!(
        got,
        [
            r#"set:intset:[[45, 55, 48, 48, 48, 48], [49], [50]]"#,
            r#"set:hashtable:[[55], [120]]"#,
            r#"set:hashtable:[[51], [109]]"#,
        ]
    );
    let dup = craft(|w| {
        w.byte(2).unwrap();
        w.string(b"d").unwrap();
        w.length(2).unwrap();
        w.string(b"m").unwrap();
        w.string(b"m").unwrap();
    });
    assert!(load_err(&dup).to_string().contains("duplicate set member"));
    let bad = craft(|w| {
        w.byte(11).unwrap();
        w.string(b"d").unwrap();
        w.string(&[3, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    });
    assert!(load_err(&bad).to_string().contains("encoding 3"));
}

#[test]
fn loaded_sets_follow_set_max_intset_entries() {
    let file = craft(|w| {
        w.byte(11).unwrap();
        w.string(b"ints").unwrap();
        w.string(&set::intset_blob(&[1, 2, 3])).unwrap();
        w.byte(2).unwrap();
        w.string(b"plain").unwrap();
        w.length(3).unwrap();
        for m in [b"4", b"5", b"6"] {
            w.string(m).unwrap();
        }
    });
    let encodings = |max: Option<usize>| {
        let ks = keyspace();
        let opts = LoadOptions {
            now_ms: 1000,
            set_max_intset_entries: max,
            ..LoadOptions::default()
        };
        read(&mut &file[..], &ks, &opts).unwrap();
        contents(&ks)
            .into_iter()
            .map(|(_, _, v, _)| v.split(':').nth(1).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(encodings(None), ["intset", "intset"]);
    assert_eq!(encodings(Some(3)), ["intset", "intset"]);
    assert_eq!(encodings(Some(2)), ["hashtable", "hashtable"]);
}

// ---------------------------------------------------------------------------------------
// DUMP payloads
// ---------------------------------------------------------------------------------------

/// Every entry of the sample keyspace (every type and encoding).
fn sample_entries() -> Vec<Entry> {
    let ks = sample();
    let mut all = Vec::new();
    for d in 0..ks.num_dbs() {
        ks.db(d).for_each(0, |e| all.push(e.clone()));
    }
    all
}

#[test]
fn dump_payloads_round_trip_every_type() {
    let entries = sample_entries();
    assert!(entries.len() > 5);
    for e in &entries {
        for compress in [false, true] {
            let p = dump(e, compress);
            let back = restore(&p, b"other", Some(42), ZsetLimits::default())
                .unwrap_or_else(|err| panic!("{:?}: {err:?}", shown(e.key())));
            assert_eq!(describe(&back), describe(e));
            assert_eq!(back.key(), b"other");
            assert_eq!(back.expire_at(), Some(42));
        }
    }
}

#[test]
fn dump_payload_is_redis_format() {
    // What Redis 7.0.15 answers to `SET k hello` + `DUMP k`.
    let e = Entry::new_str(b"k", b"hello", None);
    let p = dump(&e, true);
    assert_eq!(&p[..9], b"\x00\x05hello\x0a\x00");
    let crc = crc64::update(0, &p[..9]);
    assert_eq!(p[9..], crc.to_le_bytes());
    // Integers use the integer encoding.
    let p = dump(&Entry::new_str(b"k", b"12345", None), true);
    assert_eq!(&p[..4], b"\x00\xc1\x39\x30");
}

#[test]
fn bad_payloads_are_refused() {
    let good = dump(&Entry::new_str(b"k", b"hello", None), true);
    let err = |p: &[u8]| restore(p, b"k", None, ZsetLimits::default()).err();
    assert!(matches!(
        err(&good[..9]),
        Some(PayloadError::VersionOrChecksum)
    ));
    assert!(matches!(err(b""), Some(PayloadError::VersionOrChecksum)));
    // A newer version, checksum fixed up.
    let mut newer = good.clone();
    newer[7] = 11;
    let n = newer.len() - 8;
    let crc = crc64::update(0, &newer[..n]);
    newer[n..].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(err(&newer), Some(PayloadError::VersionOrChecksum)));
    // A wrong checksum.
    let mut flipped = good.clone();
    flipped[3] ^= 1;
    assert!(matches!(
        err(&flipped),
        Some(PayloadError::VersionOrChecksum)
    ));
    // A valid footer over a body that does not parse (with bytes left over, too short,
    // an unknown type, a stream).
    for body in [
        &b"\x00\x05hello!"[..],
        b"\x00\x09hello",
        b"\x63",
        b"\x0f\x00",
        b"",
    ] {
        let mut p = body.to_vec();
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = crc64::update(0, &p);
        p.extend_from_slice(&crc.to_le_bytes());
        assert!(
            matches!(err(&p), Some(PayloadError::BadData(_))),
            "{body:?}"
        );
    }
}

mod dump_fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Re-seals `body` with a valid version and checksum, so the value reader itself
    /// sees the damage.
    fn sealed(body: &[u8]) -> Vec<u8> {
        let mut p = body.to_vec();
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = crc64::update(0, &p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Random byte changes and truncations of real payloads, re-sealed: an error or
        /// a value, never a panic.
        #[test]
        fn damaged_payloads_never_panic(
            which in any::<prop::sample::Index>(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let entries = sample_entries();
            let e = which.get(&entries);
            let p = dump(e, true);
            let mut body = p[..p.len() - 10].to_vec();
            for (at, b) in &flips {
                let i = at.index(body.len());
                body[i] = *b;
            }
            if truncate {
                body.truncate(cut.index(body.len() + 1));
            }
            let _ = restore(&sealed(&body), b"k", None, ZsetLimits::default());
            // Unsealed damage is always caught by the checksum.
            if !flips.is_empty() && body != p[..p.len() - 10] {
                let mut raw = body.clone();
                raw.extend_from_slice(&p[p.len() - 10..]);
                prop_assert!(restore(&raw, b"k", None, ZsetLimits::default()).is_err());
            }
        }
    }
}

/// FUNCTION DUMP of one library, as redis-server 7.0.15 answers it.
const REDIS_FUNCTION_DUMP: &[u8] = b"\xf5@C#!lua name=a\nredis.register_function('fa', function() return 1 end)\n\x00\x04\x0c\xd0/\xbd\xd6~]";

#[test]
fn function_payloads_match_redis() {
    let code: &[u8] = b"#!lua name=a\nredis.register_function('fa', function() return 1 end)";
    assert_eq!(dump_functions(&[code], true), REDIS_FUNCTION_DUMP);
    assert_eq!(
        restore_functions(REDIS_FUNCTION_DUMP).unwrap(),
        vec![code.to_vec()]
    );
    // Two libraries, a long one LZF-compressed, round trip.
    let long = [
        b"#!lua name=b\n".as_slice(),
        &b"-- padding padding padding\n".repeat(20),
    ]
    .concat();
    let payload = dump_functions(&[code, &long], true);
    assert!(payload.len() < long.len());
    assert_eq!(
        restore_functions(&payload).unwrap(),
        vec![code.to_vec(), long.clone()]
    );
    assert_eq!(
        restore_functions(&dump_functions(&[], true)).unwrap(),
        Vec::<Vec<u8>>::new()
    );
}

#[test]
fn function_payloads_refused() {
    let mut bad = REDIS_FUNCTION_DUMP.to_vec();
    bad[5] ^= 1;
    assert_eq!(
        restore_functions(&bad),
        Err(FunctionsPayloadError::VersionOrChecksum)
    );
    assert_eq!(
        restore_functions(b"short"),
        Err(FunctionsPayloadError::VersionOrChecksum)
    );
    // A key's DUMP payload is not a library.
    let e = Entry::new_str(b"k", b"v", None);
    assert_eq!(
        restore_functions(&dump(&e, true)),
        Err(FunctionsPayloadError::Bad("given type is not a function"))
    );
}

#[test]
fn functions_in_rdb_files() {
    let ks = keyspace();
    let code = b"#!lua name=a\nredis.register_function('fa', function() return 1 end)".to_vec();
    let mut out = Vec::new();
    let opts = SaveOptions {
        checksum: true,
        functions: vec![code.clone()],
        ..SaveOptions::default()
    };
    write(&ks, &mut out, &opts).unwrap();
    let back = keyspace();
    let stats = read(&mut out.as_slice(), &back, &LoadOptions::default()).unwrap();
    assert_eq!(stats.functions, vec![code]);
}
