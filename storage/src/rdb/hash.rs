//! Hashes in RDB files. Shoal writes `RDB_TYPE_HASH` (4): the number of fields, then
//! field and value strings in turn; Redis reads it whatever the size. Shoal reads that,
//! and the packed forms Redis writes for small hashes: `RDB_TYPE_HASH_LISTPACK` (16,
//! Redis 7) and `RDB_TYPE_HASH_ZIPLIST` (13, Redis 3.2 to 6.2), a string holding the
//! blob of alternating fields and values.

use std::io;

use super::listpack::{listpack_items, ziplist_items};
use super::reader::{RdbError, Reader};
use super::writer::Writer;
use super::Scratch;
use crate::{Entry, HashValue};

/// The type byte Shoal writes for hashes.
pub(crate) const TYPE: u8 = 4;

/// Writes a hash value (after its type byte and key).
pub(crate) fn write(w: &mut Writer<'_>, h: &HashValue) -> io::Result<()> {
    w.length(h.len() as u64)?;
    for (field, value) in h.iter() {
        w.string(field)?;
        w.string(value)?;
    }
    Ok(())
}

/// Reads `RDB_TYPE_HASH`. An empty hash is skipped (`None`), as Redis does.
pub(crate) fn read_table(
    _rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    s: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    let n = r.length()?;
    // The count is a hint only as far as the data backs it.
    let mut h = HashValue::with_capacity(n.min(1 << 16) as usize, s.hash_limits);
    for _ in 0..n {
        let field_at = r.offset();
        r.string_into(&mut s.field)?;
        r.string_into(&mut s.value)?;
        if !h.insert_within(&s.field, &s.value, s.hash_limits) {
            return Err(duplicate(field_at, &s.field));
        }
    }
    Ok((!h.is_empty()).then(|| Entry::new_hash(key, h, expire_at)))
}

/// Reads `RDB_TYPE_HASH_LISTPACK`.
pub(crate) fn read_listpack(
    _rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    s: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    read_blob(r, key, expire_at, s, "listpack", |blob, f| {
        listpack_items(blob, f)
    })
}

/// Reads `RDB_TYPE_HASH_ZIPLIST`.
pub(crate) fn read_ziplist(
    _rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    s: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    read_blob(r, key, expire_at, s, "ziplist", |blob, f| {
        ziplist_items(blob, f)
    })
}

type Items<'f> = &'f mut dyn FnMut(&[u8]) -> Result<(), String>;

fn read_blob(
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    s: &mut Scratch,
    what: &str,
    items: impl FnOnce(&[u8], Items<'_>) -> Result<(), String>,
) -> Result<Option<Entry>, RdbError> {
    let at = r.offset();
    r.string_into(&mut s.blob)?;
    let mut h = HashValue::new();
    let limits = s.hash_limits;
    // Elements alternate: a field (kept in `field`), then its value.
    let mut have_field = false;
    let field = &mut s.field;
    let mut add = |item: &[u8]| -> Result<(), String> {
        if !have_field {
            field.clear();
            field.extend_from_slice(item);
        } else if !h.insert_within(field, item, limits) {
            return Err(format!("duplicate hash field '{}'", super::shown(field)));
        }
        have_field = !have_field;
        Ok(())
    };
    items(&s.blob, &mut add).map_err(|m| RdbError::corrupt(at, format!("hash {what}: {m}")))?;
    if have_field {
        return Err(RdbError::corrupt(
            at,
            format!("hash {what} holds an odd number of elements"),
        ));
    }
    Ok((!h.is_empty()).then(|| Entry::new_hash(key, h, expire_at)))
}

fn duplicate(at: u64, field: &[u8]) -> RdbError {
    RdbError::corrupt(
        at,
        format!("duplicate hash field '{}'", super::shown(field)),
    )
}
