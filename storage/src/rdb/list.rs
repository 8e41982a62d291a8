//! Lists in RDB files. Shoal writes `RDB_TYPE_LIST_QUICKLIST_2` (18), Redis 7.0's
//! form: the number of nodes, then per node its container (2: packed) and a listpack
//! of up to 8 KiB of elements (Redis's default `list-max-listpack-size` -2; an element
//! larger than that gets a node of its own), elements stored as listpack strings.
//! Shoal reads that (plain nodes, container 1, included), the quicklist of ziplists
//! of Redis 3.2 to 6.2 (14), the single ziplist of older files (10) and the plain
//! list (1).

use std::io;

use super::listpack::{listpack_items, ziplist_items};
use super::reader::{RdbError, Reader};
use super::writer::Writer;
use super::Scratch;
use crate::{Entry, ListValue};

/// The type byte Shoal writes for lists.
pub(crate) const TYPE: u8 = 18;

/// Bytes of elements a written node holds (Redis's `list-max-listpack-size` -2).
const NODE_BYTES: usize = 8 * 1024;
/// Quicklist node containers.
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// Appends one listpack string element (encoding, bytes, back-length) to `out`.
fn lp_push_str(out: &mut Vec<u8>, s: &[u8]) {
    let start = out.len();
    let n = s.len();
    if n < 64 {
        out.push(0x80 | n as u8);
    } else if n < 4096 {
        out.push(0xE0 | (n >> 8) as u8);
        out.push(n as u8);
    } else {
        out.push(0xF0);
        out.extend_from_slice(&(n as u32).to_le_bytes());
    }
    out.extend_from_slice(s);
    let l = out.len() - start;
    // The back-length: 7 bits per byte, most significant first, the high bit set on
    // every byte but the first (Redis's `lpEncodeBacklen`).
    let mut groups = [0u8; 5];
    let mut k = 0;
    let mut v = l;
    loop {
        groups[k] = (v & 127) as u8;
        k += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for (j, g) in groups[..k].iter().rev().enumerate() {
        out.push(if j == 0 { *g } else { g | 128 });
    }
}

/// A listpack holding `items`.
pub(crate) fn listpack(items: impl Iterator<Item = impl AsRef<[u8]>>) -> Vec<u8> {
    let mut lp = vec![0u8; 6];
    let mut count = 0usize;
    for item in items {
        lp_push_str(&mut lp, item.as_ref());
        count += 1;
    }
    lp.push(0xFF);
    let total = lp.len() as u32;
    lp[..4].copy_from_slice(&total.to_le_bytes());
    lp[4..6].copy_from_slice(&(count.min(65535) as u16).to_le_bytes());
    lp
}

/// Writes a list value (after its type byte and key).
pub(crate) fn write(w: &mut Writer<'_>, l: &ListValue) -> io::Result<()> {
    // Node boundaries first (the node count comes before the nodes).
    let mut nodes: Vec<(usize, usize)> = Vec::new();
    let (mut start, mut bytes) = (0usize, 0usize);
    for (i, item) in l.iter().enumerate() {
        if i > start && (bytes + item.len() > NODE_BYTES || i - start >= 65_000) {
            nodes.push((start, i));
            start = i;
            bytes = 0;
        }
        bytes += item.len();
    }
    if start < l.len() {
        nodes.push((start, l.len()));
    }
    w.length(nodes.len() as u64)?;
    for (from, to) in nodes {
        w.length(CONTAINER_PACKED)?;
        w.string(&listpack(l.range(from, to)))?;
    }
    Ok(())
}

/// Reads `RDB_TYPE_LIST` (1): a count, then the elements. An empty list is skipped.
pub(crate) fn read_plain(
    _rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    s: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    let n = r.length()?;
    let mut l = ListValue::new();
    for _ in 0..n {
        r.string_into(&mut s.value)?;
        l.push_back(&s.value);
    }
    Ok((!l.is_empty()).then(|| Entry::new_list(key, l, expire_at)))
}

/// Reads `RDB_TYPE_LIST_ZIPLIST` (10): one ziplist.
pub(crate) fn read_ziplist(
    _rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    s: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    let mut l = ListValue::new();
    blob(r, s, "ziplist", &mut l, |b, f| ziplist_items(b, f))?;
    Ok((!l.is_empty()).then(|| Entry::new_list(key, l, expire_at)))
}

/// Reads `RDB_TYPE_LIST_QUICKLIST` (14, ziplist nodes) and `_QUICKLIST_2` (18,
/// listpack or plain nodes).
pub(crate) fn read_quicklist(
    rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    s: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    let nodes = r.length()?;
    let mut l = ListValue::new();
    for _ in 0..nodes {
        if rdb_type == 14 {
            blob(r, s, "ziplist", &mut l, |b, f| ziplist_items(b, f))?;
            continue;
        }
        let at = r.offset();
        match r.length()? {
            CONTAINER_PLAIN => {
                r.string_into(&mut s.value)?;
                l.push_back(&s.value);
            }
            CONTAINER_PACKED => blob(r, s, "listpack", &mut l, |b, f| listpack_items(b, f))?,
            other => {
                return Err(RdbError::corrupt(
                    at,
                    format!("quicklist node container {other} is neither 1 nor 2"),
                ))
            }
        }
    }
    Ok((!l.is_empty()).then(|| Entry::new_list(key, l, expire_at)))
}

type Items<'f> = &'f mut dyn FnMut(&[u8]) -> Result<(), String>;

fn blob(
    r: &mut Reader<'_>,
    s: &mut Scratch,
    what: &str,
    l: &mut ListValue,
    items: impl FnOnce(&[u8], Items<'_>) -> Result<(), String>,
) -> Result<(), RdbError> {
    let at = r.offset();
    r.string_into(&mut s.blob)?;
    let mut add = |item: &[u8]| -> Result<(), String> {
        l.push_back(item);
        Ok(())
    };
    items(&s.blob, &mut add).map_err(|m| RdbError::corrupt(at, format!("list {what}: {m}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_round_trips_every_string_size() {
        let items: Vec<Vec<u8>> = [0usize, 1, 63, 64, 127, 128, 4095, 4096, 20_000, 70_000]
            .iter()
            .map(|n| vec![b'x'; *n])
            .collect();
        let lp = listpack(items.iter().map(Vec::as_slice));
        let mut back = Vec::new();
        listpack_items(&lp, |s| {
            back.push(s.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(back, items);
    }
}
