//! Sets in RDB files, as Redis 7.0 writes them: an intset as `RDB_TYPE_SET_INTSET`
//! (11: a string holding Redis's intset blob: encoding width, count, sorted
//! little-endian integers), any other set as `RDB_TYPE_SET` (2: the count, then the
//! members). Shoal reads both and `RDB_TYPE_SET_LISTPACK` (20, Redis 7.2).

use std::io;

use super::listpack::listpack_items;
use super::reader::{RdbError, Reader};
use super::writer::Writer;
use super::Scratch;
use crate::{Entry, SetValue};

/// The type byte of a set written as members.
pub(crate) const TYPE_SET: u8 = 2;
/// The type byte of an intset.
pub(crate) const TYPE_INTSET: u8 = 11;

/// The type byte `s` is written with.
pub(crate) fn type_of(s: &SetValue) -> u8 {
    if s.ints().is_some() {
        TYPE_INTSET
    } else {
        TYPE_SET
    }
}

/// Redis's intset blob of `ints` (ascending), in the narrowest width that holds them.
pub(crate) fn intset_blob(ints: &[i64]) -> Vec<u8> {
    let fits = |lo: i64, hi: i64| ints.iter().all(|v| (lo..=hi).contains(v));
    let width: usize = if fits(i16::MIN.into(), i16::MAX.into()) {
        2
    } else if fits(i32::MIN.into(), i32::MAX.into()) {
        4
    } else {
        8
    };
    let mut blob = Vec::with_capacity(8 + width * ints.len());
    blob.extend_from_slice(&(width as u32).to_le_bytes());
    blob.extend_from_slice(&(ints.len() as u32).to_le_bytes());
    for v in ints {
        blob.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    blob
}

/// Writes a set value (after its type byte, [`type_of`], and key).
pub(crate) fn write(w: &mut Writer<'_>, s: &SetValue) -> io::Result<()> {
    if let Some(ints) = s.ints() {
        return w.string(&intset_blob(ints));
    }
    w.length(s.len() as u64)?;
    for m in s.iter() {
        m.with_bytes(|b| w.string(b))?;
    }
    Ok(())
}

fn duplicate(at: u64, m: &[u8]) -> RdbError {
    RdbError::corrupt(at, format!("duplicate set member '{}'", super::shown(m)))
}

/// Reads `RDB_TYPE_SET`. An empty set is skipped.
pub(crate) fn read_plain(
    _rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    sc: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    let n = r.length()?;
    let mut s = SetValue::new();
    for _ in 0..n {
        let at = r.offset();
        r.string_into(&mut sc.value)?;
        if !s.insert_within(&sc.value, sc.set_max_intset) {
            return Err(duplicate(at, &sc.value));
        }
    }
    Ok((!s.is_empty()).then(|| Entry::new_set(key, s, expire_at)))
}

/// Reads `RDB_TYPE_SET_INTSET`.
pub(crate) fn read_intset(
    _rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    sc: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    let at = r.offset();
    r.string_into(&mut sc.blob)?;
    let blob = &sc.blob;
    let bad = |m: &str| RdbError::corrupt(at, format!("intset: {m}"));
    if blob.len() < 8 {
        return Err(bad("shorter than its header"));
    }
    let width = u32::from_le_bytes(blob[..4].try_into().expect("4 bytes")) as usize;
    let count = u32::from_le_bytes(blob[4..8].try_into().expect("4 bytes")) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(bad(&format!("encoding {width} is not 2, 4 or 8")));
    }
    if blob.len() != 8 + width * count {
        return Err(bad("length does not match its count"));
    }
    let mut s = SetValue::new();
    let mut buf = itoa::Buffer::new();
    for chunk in blob[8..].chunks_exact(width) {
        let mut b = [0u8; 8];
        b[..width].copy_from_slice(chunk);
        let shift = 64 - 8 * width as u32;
        let v = (i64::from_le_bytes(b) << shift) >> shift;
        if !s.insert_within(buf.format(v).as_bytes(), sc.set_max_intset) {
            return Err(bad(&format!("duplicate member {v}")));
        }
    }
    Ok((!s.is_empty()).then(|| Entry::new_set(key, s, expire_at)))
}

/// Reads `RDB_TYPE_SET_LISTPACK`.
pub(crate) fn read_listpack(
    _rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    sc: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    let at = r.offset();
    r.string_into(&mut sc.blob)?;
    let mut s = SetValue::new();
    let max = sc.set_max_intset;
    listpack_items(&sc.blob, |m| {
        if s.insert_within(m, max) {
            Ok(())
        } else {
            Err(format!("duplicate set member '{}'", super::shown(m)))
        }
    })
    .map_err(|m| RdbError::corrupt(at, format!("set listpack: {m}")))?;
    Ok((!s.is_empty()).then(|| Entry::new_set(key, s, expire_at)))
}
