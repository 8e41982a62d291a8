//! Sorted sets in RDB files. Shoal writes what Redis 7.0 writes: a packed set as
//! `RDB_TYPE_ZSET_LISTPACK` (17, a listpack blob of alternating members and scores,
//! integers packed as integers, scores as `d2string` text) and a tree-form set as
//! `RDB_TYPE_ZSET_2` (5: the count, then each member string with its score as an
//! 8-byte little-endian binary double). It reads those, `RDB_TYPE_ZSET` (3: scores as
//! length-prefixed text, 253/254/255 for nan/inf/-inf) and `RDB_TYPE_ZSET_ZIPLIST`
//! (12, Redis before 7). A loaded set is packed or not by the configured limits
//! ([`super::LoadOptions::zset_limits`]), as Redis converts on load.

use std::io;

use super::listpack::{listpack_items, ziplist_items};
use super::reader::{RdbError, Reader};
use super::writer::{canonical_int, Writer};
use super::Scratch;
use crate::zset::score_to_string;
use crate::{Entry, ZsetValue};

/// `RDB_TYPE_ZSET_2`.
pub(crate) const TYPE_TREE: u8 = 5;
/// `RDB_TYPE_ZSET_LISTPACK`.
pub(crate) const TYPE_LISTPACK: u8 = 17;

/// Writes a sorted set: its type byte, the key (none in a DUMP payload), the value.
pub(crate) fn write(w: &mut Writer<'_>, key: Option<&[u8]>, z: &ZsetValue) -> io::Result<()> {
    if z.is_packed() {
        w.byte(TYPE_LISTPACK)?;
        if let Some(key) = key {
            w.string(key)?;
        }
        let mut lp = ListpackBuilder::default();
        let mut text = Vec::new();
        z.for_each(|s, m| {
            lp.push(m);
            text.clear();
            score_to_string(s, &mut text);
            lp.push(&text);
        });
        w.string(&lp.finish())
    } else {
        w.byte(TYPE_TREE)?;
        if let Some(key) = key {
            w.string(key)?;
        }
        w.length(z.len() as u64)?;
        let mut res = Ok(());
        z.for_each(|s, m| {
            if res.is_ok() {
                res = w.string(m).and_then(|()| w.raw(&s.to_le_bytes()));
            }
        });
        res
    }
}

/// Builds a listpack blob as Redis's `lpAppend` would.
#[derive(Default)]
pub(crate) struct ListpackBuilder {
    body: Vec<u8>,
    count: usize,
}

impl ListpackBuilder {
    /// Appends one element (integers in canonical form are packed as integers).
    pub(crate) fn push(&mut self, item: &[u8]) {
        let start = self.body.len();
        let b = &mut self.body;
        match canonical_int(item) {
            Some(v) if (0..=127).contains(&v) => b.push(v as u8),
            Some(v) if (-4096..=4095).contains(&v) => {
                let u = if v < 0 { (1 << 13) + v } else { v } as u16;
                b.push(0xC0 | (u >> 8) as u8);
                b.push(u as u8);
            }
            Some(v) if i16::try_from(v).is_ok() => {
                b.push(0xF1);
                b.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                b.push(0xF2);
                b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                b.push(0xF3);
                b.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                b.push(0xF4);
                b.extend_from_slice(&v.to_le_bytes());
            }
            None => {
                let n = item.len();
                if n < 64 {
                    b.push(0x80 | n as u8);
                } else if n < 4096 {
                    b.push(0xE0 | (n >> 8) as u8);
                    b.push(n as u8);
                } else {
                    b.push(0xF0);
                    b.extend_from_slice(&(n as u32).to_le_bytes());
                }
                b.extend_from_slice(item);
            }
        }
        let l = b.len() - start;
        if l <= 127 {
            b.push(l as u8);
        } else if l < 16383 {
            b.push((l >> 7) as u8);
            b.push((l & 127) as u8 | 128);
        } else if l < 2_097_151 {
            b.push((l >> 14) as u8);
            b.push(((l >> 7) & 127) as u8 | 128);
            b.push((l & 127) as u8 | 128);
        } else if l < 268_435_455 {
            b.push((l >> 21) as u8);
            b.push(((l >> 14) & 127) as u8 | 128);
            b.push(((l >> 7) & 127) as u8 | 128);
            b.push((l & 127) as u8 | 128);
        } else {
            b.push((l >> 28) as u8);
            b.push(((l >> 21) & 127) as u8 | 128);
            b.push(((l >> 14) & 127) as u8 | 128);
            b.push(((l >> 7) & 127) as u8 | 128);
            b.push((l & 127) as u8 | 128);
        }
        self.count += 1;
    }

    /// The blob: header (total bytes, element count), elements, end marker.
    pub(crate) fn finish(self) -> Vec<u8> {
        let total = 6 + self.body.len() + 1;
        let mut blob = Vec::with_capacity(total);
        blob.extend_from_slice(&(total as u32).to_le_bytes());
        blob.extend_from_slice(&(self.count.min(65535) as u16).to_le_bytes());
        blob.extend_from_slice(&self.body);
        blob.push(0xFF);
        blob
    }
}

fn parse_score(text: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(text).ok()?;
    let v: f64 = t.trim_start().parse().ok()?;
    (!v.is_nan()).then_some(v)
}

fn add(z: &mut ZsetValue, member: &[u8], score: f64, s: &Scratch) -> Result<(), String> {
    if score.is_nan() {
        return Err(format!("NaN score for member '{}'", super::shown(member)));
    }
    if z.insert(member, score, s.zset_limits).is_some() {
        return Err(format!(
            "duplicate sorted set member '{}'",
            super::shown(member)
        ));
    }
    Ok(())
}

/// Reads `RDB_TYPE_ZSET` (3) and `RDB_TYPE_ZSET_2` (5).
pub(crate) fn read_table(
    rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    s: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    let n = r.length()?;
    // As Redis: loaded in the tree form, packed afterwards if it fits.
    let mut z = ZsetValue::with_hint(usize::MAX, 0, s.zset_limits);
    let mut member = std::mem::take(&mut s.field);
    for _ in 0..n {
        let at = r.offset();
        r.string_into(&mut member)?;
        let score_at = r.offset();
        let score = if rdb_type == TYPE_TREE {
            f64::from_le_bytes(r.array()?)
        } else {
            match r.byte()? {
                255 => f64::NEG_INFINITY,
                254 => f64::INFINITY,
                253 => f64::NAN,
                len => {
                    r.bytes_into(u64::from(len), &mut s.value)?;
                    parse_score(&s.value).ok_or_else(|| {
                        RdbError::corrupt(score_at, "sorted set score is not a number")
                    })?
                }
            }
        };
        add(&mut z, &member, score, s).map_err(|m| RdbError::corrupt(at, m))?;
    }
    s.field = member;
    z.pack_if_fits(s.zset_limits);
    Ok((!z.is_empty()).then(|| Entry::new_zset(key, z, expire_at)))
}

/// Reads `RDB_TYPE_ZSET_LISTPACK` (17) and `RDB_TYPE_ZSET_ZIPLIST` (12).
pub(crate) fn read_blob(
    rdb_type: u8,
    r: &mut Reader<'_>,
    key: &[u8],
    expire_at: Option<i64>,
    s: &mut Scratch,
) -> Result<Option<Entry>, RdbError> {
    let at = r.offset();
    let mut blob = std::mem::take(&mut s.blob);
    r.string_into(&mut blob)?;
    let mut z = ZsetValue::new();
    let mut member: Option<Vec<u8>> = None;
    let what = if rdb_type == TYPE_LISTPACK {
        "listpack"
    } else {
        "ziplist"
    };
    let mut push = |item: &[u8]| -> Result<(), String> {
        match member.take() {
            None => member = Some(item.to_vec()),
            Some(m) => {
                let score = parse_score(item)
                    .ok_or_else(|| format!("score of '{}' is not a number", super::shown(&m)))?;
                add(&mut z, &m, score, s)?;
            }
        }
        Ok(())
    };
    let res = if rdb_type == TYPE_LISTPACK {
        listpack_items(&blob, &mut push)
    } else {
        ziplist_items(&blob, &mut push)
    };
    s.blob = blob;
    res.map_err(|m| RdbError::corrupt(at, format!("sorted set {what}: {m}")))?;
    if member.is_some() {
        return Err(RdbError::corrupt(
            at,
            format!("sorted set {what} holds an odd number of elements"),
        ));
    }
    Ok((!z.is_empty()).then(|| Entry::new_zset(key, z, expire_at)))
}
