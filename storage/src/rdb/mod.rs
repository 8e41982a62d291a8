//! RDB files: the format Redis snapshots its dataset in (`dump.rdb`), so that Shoal's
//! dumps load into Redis and Redis's into Shoal.
//!
//! Shoal writes RDB version 10, as Redis 7.0 does:
//!
//! ```text
//! "REDIS0010"
//! AUX (0xFA) name value ...          redis-ver, redis-bits, ctime, used-mem, aof-base
//! FUNCTION2 (0xF5) code ...          one per function library (its full source)
//! per non-empty database:
//!   SELECTDB (0xFE) db  RESIZEDB (0xFB) keys keys-with-ttl
//!   per key: [EXPIRETIME_MS (0xFC) 8-byte LE unix ms] type key value
//! EOF (0xFF) CRC-64 (8 bytes LE, over everything before it; 0 = not computed)
//! ```
//!
//! Each value type plugs in its own codec (a module here: `string.rs`, `hash.rs`, `zset.rs`): the
//! writer matches on [`crate::Value`] (adding a type to the keyspace makes that match
//! non-exhaustive until its encoder exists), and the reader looks the type byte up in
//! [`VALUE_TYPES`], which lists every type byte Redis 7 writes with the function that
//! reads it, or none when Shoal does not store that type yet: such a dump is refused
//! with an error naming the key and the type. Shoal writes the plain encodings
//! (`RDB_TYPE_STRING`, `RDB_TYPE_HASH`; for sorted sets what Redis 7.0 writes:
//! `RDB_TYPE_ZSET_LISTPACK` while packed, `RDB_TYPE_ZSET_2` otherwise), lists as Redis
//! 7.0 does (`RDB_TYPE_LIST_QUICKLIST_2`: `list.rs`), sets as intsets or members
//! (`set.rs`), and reads the packed ones Redis writes for
//! small collections too (listpack, ziplist: [`listpack`]).
//!
//! Strings use Redis's encodings both ways ([`writer::Writer::string`]): integers of
//! up to 32 bits as integers, strings over 20 bytes LZF-compressed ([`lzf`]) when
//! that saves at least 4 bytes and compression is on, the rest raw.
//!
//! [`write()`]/[`write_snapshot`] serialize a keyspace; [`read()`] loads a dump into one.
//! Errors name the byte offset where the problem is ([`RdbError`]).

pub mod crc64;
pub mod listpack;
pub mod lzf;
pub mod reader;
pub mod writer;

mod hash;
mod list;
mod set;
mod string;
mod zset;

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::{Entry, HashLimits, Keyspace, Value, ZsetLimits};
pub use reader::{RdbError, RdbErrorKind, Reader};
pub use writer::Writer;

/// The RDB version Shoal writes (Redis 7.0's).
pub const VERSION: u32 = 10;
/// The newest RDB version Shoal reads (Redis 7.2's; its new types are refused by name).
pub const MAX_READ_VERSION: u32 = 11;

// Opcodes (Redis's `RDB_OPCODE_*`).
const OP_FUNCTION_PRE_GA: u8 = 246;
const OP_FUNCTION2: u8 = 245;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

// Special string encodings (the low 6 bits after a `11` length prefix).
pub(crate) const ENC_INT8: u8 = 0;
pub(crate) const ENC_INT16: u8 = 1;
pub(crate) const ENC_INT32: u8 = 2;
pub(crate) const ENC_LZF: u8 = 3;

/// Scratch buffers the type readers share, so loading allocates per key only what
/// the key keeps.
#[derive(Default)]
pub(crate) struct Scratch {
    pub field: Vec<u8>,
    pub value: Vec<u8>,
    pub blob: Vec<u8>,
    /// When a loaded sorted set stays packed.
    pub zset_limits: ZsetLimits,
    /// Most integers a loaded set keeps as an intset.
    pub set_max_intset: usize,
    /// When a loaded hash stays packed.
    pub hash_limits: HashLimits,
}

/// Reads one value of an RDB type: `(type byte, reader, key, expiry, scratch)`.
/// `None` for an empty collection, which is skipped.
pub(crate) type ReadFn =
    fn(u8, &mut Reader<'_>, &[u8], Option<i64>, &mut Scratch) -> Result<Option<Entry>, RdbError>;

/// One RDB value type byte.
pub struct ValueType {
    /// The type byte (`RDB_TYPE_*`).
    pub code: u8,
    /// The data type, as `TYPE` names it.
    pub name: &'static str,
    /// The encoding this type byte stands for.
    pub encoding: &'static str,
    /// The reader, or `None` with the reason Shoal cannot load it.
    read: Result<ReadFn, &'static str>,
}

/// Every value type byte Redis 7 writes (`RDB_TYPE_*`), with its reader.
pub static VALUE_TYPES: &[ValueType] = &[
    vt(0, "string", "raw or int", Ok(string::read)),
    vt(1, "list", "linked list", Ok(list::read_plain)),
    vt(2, "set", "hashtable", Ok(set::read_plain)),
    vt(3, "zset", "skiplist", Ok(zset::read_table)),
    vt(4, "hash", "hashtable", Ok(hash::read_table)),
    vt(5, "zset", "skiplist", Ok(zset::read_table)),
    vt(6, "module", "module (pre-GA)", Err("Shoal has no modules")),
    vt(7, "module", "module", Err("Shoal has no modules")),
    vt(
        9,
        "hash",
        "zipmap",
        Err("Shoal cannot read hashes in this old encoding"),
    ),
    vt(10, "list", "ziplist", Ok(list::read_ziplist)),
    vt(11, "set", "intset", Ok(set::read_intset)),
    vt(12, "zset", "ziplist", Ok(zset::read_blob)),
    vt(13, "hash", "ziplist", Ok(hash::read_ziplist)),
    vt(14, "list", "quicklist", Ok(list::read_quicklist)),
    vt(
        15,
        "stream",
        "listpacks",
        Err("Shoal does not store streams yet"),
    ),
    vt(16, "hash", "listpack", Ok(hash::read_listpack)),
    vt(17, "zset", "listpack", Ok(zset::read_blob)),
    vt(18, "list", "quicklist", Ok(list::read_quicklist)),
    vt(
        19,
        "stream",
        "listpacks",
        Err("Shoal does not store streams yet"),
    ),
    vt(20, "set", "listpack", Ok(set::read_listpack)),
    vt(
        21,
        "stream",
        "listpacks",
        Err("Shoal does not store streams yet"),
    ),
];

const fn vt(
    code: u8,
    name: &'static str,
    encoding: &'static str,
    read: Result<ReadFn, &'static str>,
) -> ValueType {
    ValueType {
        code,
        name,
        encoding,
        read,
    }
}

/// A key or field for an error message: lossy UTF-8, at most 128 bytes.
pub(crate) fn shown(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(128)];
    String::from_utf8_lossy(cut).into_owned()
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// How to write a dump.
#[derive(Default)]
pub struct SaveOptions<'a> {
    /// LZF-compress strings longer than 20 bytes (`rdbcompression`).
    pub compress: bool,
    /// Compute the CRC-64 trailer (`rdbchecksum`); 0 is written when off.
    pub checksum: bool,
    /// Keys whose expiry time is at or before this (unix ms) are left out.
    pub now_ms: i64,
    /// Auxiliary fields written after the header, in order.
    pub aux: Vec<(String, String)>,
    /// Function libraries (each one's full code, `#!lua name=...` line included),
    /// written after the auxiliary fields as Redis 7.0's `RDB_OPCODE_FUNCTION2`.
    pub functions: Vec<Vec<u8>>,
    /// Checked every 1024 keys: when set, writing stops with `ErrorKind::Interrupted`.
    pub abort: Option<&'a AtomicBool>,
    /// Kept at the number of keys written so far.
    pub progress: Option<&'a AtomicU64>,
    /// Called every 16 keys: the caller may pause the writer there (a background save
    /// pacing itself so it does not hold a CPU that request workers wait for; see the
    /// server's persistence module).
    pub pace: Option<&'a dyn Fn()>,
}

/// What a save wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaveStats {
    /// Keys written.
    pub keys: u64,
    /// Bytes written, checksum included.
    pub bytes: u64,
}

/// Writes every database of `ks` to `out` as an RDB file, as of one point in time: it
/// writes a snapshot of `ks` ([`Keyspace::snapshot`], O(shards)), so a live keyspace
/// keeps serving meanwhile. See [`write_snapshot`] to write a snapshot you hold.
pub fn write(ks: &Keyspace, out: &mut dyn Write, opts: &SaveOptions<'_>) -> io::Result<SaveStats> {
    write_snapshot(ks.snapshot(), out, opts)
}

/// Writes the snapshot `snapshot` like [`write()`], releasing each shard's table as soon
/// as it is written: entries the live keyspace replaced since the snapshot are freed
/// progressively instead of all at the end, which bounds the memory a save holds.
pub fn write_snapshot(
    snapshot: Keyspace,
    out: &mut dyn Write,
    opts: &SaveOptions<'_>,
) -> io::Result<SaveStats> {
    write_impl(snapshot, out, opts)
}

fn write_impl(
    mut ks: Keyspace,
    out: &mut dyn Write,
    opts: &SaveOptions<'_>,
) -> io::Result<SaveStats> {
    let mut w = Writer::new(out, opts.compress);
    w.raw(format!("REDIS{VERSION:04}").as_bytes())?;
    for (name, value) in &opts.aux {
        w.byte(OP_AUX)?;
        w.string(name.as_bytes())?;
        w.string(value.as_bytes())?;
    }
    for code in &opts.functions {
        w.byte(OP_FUNCTION2)?;
        w.string(code)?;
    }
    let mut keys = 0u64;
    for d in 0..ks.num_dbs() {
        let db = ks.db(d);
        let (size, expires, shards) = (db.len(), db.expires(), db.num_shards());
        if size == 0 {
            continue;
        }
        w.byte(OP_SELECTDB)?;
        w.length(d as u64)?;
        w.byte(OP_RESIZEDB)?;
        w.length(size as u64)?;
        w.length(expires as u64)?;
        for i in 0..shards {
            let shard = ks.db(d).lock_index(i);
            for e in shard.iter() {
                if e.is_expired(opts.now_ms) {
                    continue;
                }
                write_entry(&mut w, e)?;
                keys += 1;
                if keys % 16 == 0 {
                    if let Some(pace) = opts.pace {
                        pace();
                    }
                }
                if keys % 1024 == 0 {
                    if let Some(p) = opts.progress {
                        p.store(keys, Ordering::Relaxed);
                    }
                    if opts.abort.is_some_and(|a| a.load(Ordering::Relaxed)) {
                        return Err(io::Error::new(io::ErrorKind::Interrupted, "save aborted"));
                    }
                }
            }
            drop(shard);
            // Free what only the snapshot held (entries the live keyspace replaced
            // since) now, in steps with `pace` between them: one shard can hold tens
            // of thousands of entries, milliseconds of work.
            if let Some(segs) = ks.db_mut(d).take_frozen(i) {
                for seg in std::sync::Arc::try_unwrap(segs).unwrap_or_default() {
                    if let Some(mut table) = seg.into_table() {
                        let mut drain = table.drain();
                        while drain.by_ref().take(256).count() == 256 {
                            if let Some(pace) = opts.pace {
                                pace();
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(p) = opts.progress {
        p.store(keys, Ordering::Relaxed);
    }
    let bytes = w.finish(OP_EOF, opts.checksum)?;
    Ok(SaveStats { keys, bytes })
}

/// One key: optional expiry, type byte, key, value (by its type's codec).
fn write_entry(w: &mut Writer<'_>, e: &Entry) -> io::Result<()> {
    if let Some(t) = e.expire_at() {
        w.byte(OP_EXPIRETIME_MS)?;
        w.u64_le(t as u64)?;
    }
    write_value(w, e, Some(e.key()))
}

/// Type byte, the key when given, then the value (by its type's codec).
fn write_value(w: &mut Writer<'_>, e: &Entry, key: Option<&[u8]>) -> io::Result<()> {
    let (code, key) = match e.value() {
        Value::Zset(z) => return zset::write(w, key, z),
        Value::Str(_) => (string::TYPE, key),
        Value::Hash(_) => (hash::TYPE, key),
        Value::List(_) => (list::TYPE, key),
        Value::Set(s) => (set::type_of(s), key),
    };
    w.byte(code)?;
    if let Some(key) = key {
        w.string(key)?;
    }
    match e.value() {
        Value::Str(s) => string::write(w, s),
        Value::Hash(h) => hash::write(w, h),
        Value::List(l) => list::write(w, l),
        Value::Set(s) => set::write(w, s),
        Value::Zset(_) => unreachable!("written above"),
    }
}

// ---------------------------------------------------------------------------------------
// DUMP payloads
// ---------------------------------------------------------------------------------------

/// Encodes `e`'s value as a DUMP payload, as Redis's `createDumpPayload`: the type
/// byte and the value as in an RDB file (no key, no expiry), the RDB version as 2
/// little-endian bytes, then the CRC-64 of everything before it, little-endian.
/// `compress` is `rdbcompression`.
pub fn dump(e: &Entry, compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out, compress);
    // Writing to a Vec cannot fail.
    write_value(&mut w, e, None).expect("writing to memory");
    let version = (VERSION as u16).to_le_bytes();
    w.raw(&version).expect("writing to memory");
    // `finish` writes a trailing opcode byte; the payload has none, so the CRC is
    // computed here over the bytes instead.
    w.flush().expect("writing to memory");
    drop(w);
    let crc = crc64::update(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Why a DUMP payload was refused (Redis answers each with its own error).
#[derive(Debug)]
pub enum PayloadError {
    /// Shorter than its footer, a version newer than [`VERSION`], or a wrong CRC-64.
    VersionOrChecksum,
    /// The value itself cannot be read (or is of a type Shoal does not store).
    BadData(RdbError),
}

/// Decodes a DUMP payload into an entry for `key` (expiring at `expire_at`, unix ms).
/// Never trusts the payload: a short one, a version newer than Redis 7.0's, a wrong
/// checksum, a value that does not parse, an empty collection or bytes left over are
/// all errors. `zset_limits` decides whether a sorted set stays packed; a set stays
/// an intset up to Redis's default `set-max-intset-entries` (see [`restore_with`]).
pub fn restore(
    payload: &[u8],
    key: &[u8],
    expire_at: Option<i64>,
    zset_limits: ZsetLimits,
) -> Result<Entry, PayloadError> {
    restore_with(
        payload,
        key,
        expire_at,
        zset_limits,
        crate::set::INTSET_MAX_ENTRIES,
        HashLimits::default(),
    )
}

/// [`restore`] with the most members a restored set keeps as an intset
/// (`set-max-intset-entries`) and when a restored hash stays packed
/// (`hash-max-listpack-*`).
pub fn restore_with(
    payload: &[u8],
    key: &[u8],
    expire_at: Option<i64>,
    zset_limits: ZsetLimits,
    set_max_intset: usize,
    hash_limits: HashLimits,
) -> Result<Entry, PayloadError> {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(PayloadError::VersionOrChecksum);
    };
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if u32::from(version) > VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let stored = u64::from_le_bytes(footer[2..].try_into().expect("8 bytes"));
    if crc64::update(0, &payload[..body_len + 2]) != stored {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut body = &payload[..body_len];
    let mut r = Reader::new(&mut body, None);
    let code = r.byte().map_err(PayloadError::BadData)?;
    let Some(t) = VALUE_TYPES.iter().find(|t| t.code == code) else {
        return Err(PayloadError::BadData(RdbError::corrupt(
            0,
            format!("unknown value type {code}"),
        )));
    };
    let read = t
        .read
        .map_err(|why| PayloadError::BadData(RdbError::unsupported(0, why)))?;
    let mut scratch = Scratch {
        zset_limits,
        set_max_intset,
        hash_limits,
        ..Scratch::default()
    };
    let entry = read(code, &mut r, key, expire_at, &mut scratch).map_err(PayloadError::BadData)?;
    let Some(entry) = entry else {
        return Err(PayloadError::BadData(RdbError::corrupt(
            r.offset(),
            "an empty collection",
        )));
    };
    if !r.at_end().map_err(PayloadError::BadData)? {
        return Err(PayloadError::BadData(RdbError::corrupt(
            r.offset(),
            "bytes after the value",
        )));
    }
    Ok(entry)
}

/// Encodes function libraries as a FUNCTION DUMP payload, as Redis's
/// `functionDumpCommand`: per library `RDB_OPCODE_FUNCTION2` and its code as an RDB
/// string, then the RDB version (2 bytes LE) and the CRC-64 of everything before it.
pub fn dump_functions(codes: &[&[u8]], compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out, compress);
    for code in codes {
        // Writing to a Vec cannot fail.
        w.byte(OP_FUNCTION2).expect("writing to memory");
        w.string(code).expect("writing to memory");
    }
    w.raw(&(VERSION as u16).to_le_bytes())
        .expect("writing to memory");
    w.flush().expect("writing to memory");
    drop(w);
    let crc = crc64::update(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Why a FUNCTION RESTORE payload was refused: Redis's texts (without `ERR `).
#[derive(Debug, PartialEq, Eq)]
pub enum FunctionsPayloadError {
    /// Shorter than its footer, a newer RDB version, or a wrong CRC-64.
    VersionOrChecksum,
    /// Something else than a library in it, or a library that cannot be read.
    Bad(&'static str),
}

/// Decodes a FUNCTION DUMP payload into the libraries' code, in payload order
/// (Redis's `functionRestoreCommand` before it creates them).
pub fn restore_functions(payload: &[u8]) -> Result<Vec<Vec<u8>>, FunctionsPayloadError> {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(FunctionsPayloadError::VersionOrChecksum);
    };
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let stored = u64::from_le_bytes(footer[2..].try_into().expect("8 bytes"));
    if u32::from(version) > VERSION || crc64::update(0, &payload[..body_len + 2]) != stored {
        return Err(FunctionsPayloadError::VersionOrChecksum);
    }
    let mut body = &payload[..body_len];
    let mut r = Reader::new(&mut body, None);
    let mut codes = Vec::new();
    while !r
        .at_end()
        .map_err(|_| FunctionsPayloadError::Bad("can not read data type"))?
    {
        let op = r
            .byte()
            .map_err(|_| FunctionsPayloadError::Bad("can not read data type"))?;
        match op {
            OP_FUNCTION2 => {}
            OP_FUNCTION_PRE_GA => {
                return Err(FunctionsPayloadError::Bad(
                    "Pre-GA function format not supported",
                ))
            }
            _ => return Err(FunctionsPayloadError::Bad("given type is not a function")),
        }
        let mut code = Vec::new();
        r.string_into(&mut code).map_err(|_| {
            FunctionsPayloadError::Bad("failed loading the given functions payload")
        })?;
        codes.push(code);
    }
    Ok(codes)
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// How to read a dump.
#[derive(Default)]
pub struct LoadOptions<'a> {
    /// Keys whose expiry time is at or before this (unix ms) are skipped, as a Redis
    /// master does.
    pub now_ms: i64,
    /// Kept at the number of bytes read so far.
    pub progress: Option<&'a AtomicU64>,
    /// When a loaded sorted set stays packed (`zset-max-listpack-*`).
    pub zset_limits: ZsetLimits,
    /// Most integers a loaded set keeps as an intset (`set-max-intset-entries`;
    /// `None`: 512, Redis's default). A larger one is converted, as Redis does.
    pub set_max_intset_entries: Option<usize>,
    /// When a loaded hash stays packed (`hash-max-listpack-*`).
    pub hash_limits: HashLimits,
}

/// What a load read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// The file's RDB version.
    pub version: u32,
    /// Keys inserted.
    pub keys_loaded: u64,
    /// Keys skipped because their TTL had passed.
    pub keys_expired: u64,
    /// Auxiliary fields (lossy UTF-8), in file order.
    pub aux: Vec<(String, String)>,
    /// Function libraries' code (`RDB_OPCODE_FUNCTION2`), in file order: the caller
    /// creates the libraries (the storage layer has no script engine).
    pub functions: Vec<Vec<u8>>,
    /// Bytes read, checksum included.
    pub bytes: u64,
}

/// Loads the RDB file read from `src` into `ks`.
///
/// On error `ks` holds the keys read before the problem: load into a fresh keyspace
/// and drop it on error (the server refuses to start rather than run half-loaded).
/// A key present twice in the file is an error, as in Redis.
pub fn read(
    src: &mut dyn Read,
    ks: &Keyspace,
    opts: &LoadOptions<'_>,
) -> Result<LoadStats, RdbError> {
    let mut r = Reader::new(src, opts.progress);
    let magic = r.array::<9>()?;
    let version = parse_magic(&magic).ok_or_else(|| {
        RdbError::corrupt(
            0,
            format!(
                "not an RDB file (it starts with {:?}, not \"REDIS\" and a version)",
                shown(&magic)
            ),
        )
    })?;
    if version == 0 || version > MAX_READ_VERSION {
        return Err(RdbError::unsupported(
            5,
            format!("RDB format version {version} (Shoal reads versions 1 to {MAX_READ_VERSION})"),
        ));
    }
    let mut stats = LoadStats {
        version,
        ..LoadStats::default()
    };
    let mut scratch = Scratch {
        zset_limits: opts.zset_limits,
        set_max_intset: opts
            .set_max_intset_entries
            .unwrap_or(crate::set::INTSET_MAX_ENTRIES),
        hash_limits: opts.hash_limits,
        ..Scratch::default()
    };
    let mut key = Vec::new();
    let mut aux_value = Vec::new();
    let mut db = 0usize;
    let mut expire_at: Option<i64> = None;
    loop {
        let at = r.offset();
        let op = r.byte()?;
        match op {
            OP_EOF => {
                if version >= 5 {
                    let computed = r.crc();
                    let stored = u64::from_le_bytes(r.array()?);
                    if stored != 0 && stored != computed {
                        return Err(RdbError {
                            offset: at + 1,
                            kind: RdbErrorKind::Checksum { stored, computed },
                        });
                    }
                }
                stats.bytes = r.offset();
                return Ok(stats);
            }
            OP_SELECTDB => {
                let n = r.length()?;
                if n >= ks.num_dbs() as u64 {
                    return Err(RdbError::unsupported(
                        at,
                        format!(
                            "the file has database {n}, but only {} are configured \
                             (databases)",
                            ks.num_dbs()
                        ),
                    ));
                }
                db = n as usize;
            }
            OP_RESIZEDB => {
                r.length()?;
                r.length()?;
            }
            OP_AUX => {
                r.string_into(&mut key)?;
                r.string_into(&mut aux_value)?;
                stats.aux.push((shown(&key), shown(&aux_value)));
            }
            OP_EXPIRETIME_MS => {
                expire_at = Some(i64::from_le_bytes(r.array()?));
            }
            OP_EXPIRETIME => {
                expire_at = Some(i64::from(i32::from_le_bytes(r.array()?)) * 1000);
            }
            OP_FREQ => {
                r.byte()?;
            }
            OP_IDLE => {
                r.length()?;
            }
            OP_MODULE_AUX => {
                return Err(RdbError::unsupported(
                    at,
                    "module auxiliary data (Shoal has no modules)",
                ))
            }
            OP_FUNCTION2 => {
                let mut code = Vec::new();
                r.string_into(&mut code)?;
                stats.functions.push(code);
            }
            OP_FUNCTION_PRE_GA => {
                return Err(RdbError::unsupported(
                    at,
                    "functions in the format of Redis 7.0's release candidates",
                ))
            }
            code => {
                let Some(t) = VALUE_TYPES.iter().find(|t| t.code == code) else {
                    return Err(RdbError::corrupt(
                        at,
                        format!("unknown opcode or value type {code}"),
                    ));
                };
                r.string_into(&mut key)?;
                let read = t.read.map_err(|why| {
                    RdbError::unsupported(
                        at,
                        format!(
                            "key '{}' in database {db} holds a {} (RDB type {code}, {} \
                             encoding): {why}",
                            shown(&key),
                            t.name,
                            t.encoding
                        ),
                    )
                })?;
                let entry = read(code, &mut r, &key, expire_at, &mut scratch)?;
                let expired = expire_at.is_some_and(|t| t <= opts.now_ms);
                expire_at = None;
                let Some(entry) = entry else { continue };
                if expired {
                    stats.keys_expired += 1;
                    continue;
                }
                let d = ks.db(db);
                let h = d.hash(&key);
                if d.lock(h).insert(h, entry, opts.now_ms).is_some() {
                    return Err(RdbError::corrupt(
                        at,
                        format!("duplicate key '{}' in database {db}", shown(&key)),
                    ));
                }
                stats.keys_loaded += 1;
            }
        }
    }
}

/// The version in `REDIS0010`.
fn parse_magic(m: &[u8; 9]) -> Option<u32> {
    if &m[..5] != b"REDIS" || !m[5..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(&m[5..]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests;
