//! Strings in RDB files: `RDB_TYPE_STRING` (0), the value one string in any of the
//! string encodings (raw, integer, LZF), as Redis writes and reads them.

use std::io;

use super::reader::{RdbError, Reader};
use super::writer::Writer;
use super::Scratch;
use crate::Entry;

/// The type byte Shoal writes for strings.
pub(crate) const TYPE: u8 = 0;

/// Writes a string value (after its type byte and key).
pub(crate) fn write(w: &mut Writer<'_>, value: &[u8]) -> io::Result<()> {
    w.string(value)
}

/// Reads a string value.
pub(crate) fn read(
    _rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    s: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    r.string_into(&mut s.value)?;
    Ok(Some(Entry::new_str(key, &s.value, expire_at)))
}
