//! Readers for the two compact blobs Redis stores small collections in: the listpack
//! (Redis 7, `RDB_TYPE_*_LISTPACK`) and the older ziplist (`RDB_TYPE_*_ZIPLIST`, files
//! from Redis 3.2 to 6.2). Both are sequences of strings and integers; integers are
//! handed out as their decimal text, which is what they were before Redis packed them.
//!
//! Every length and offset is checked against the blob: a corrupt blob is an error
//! with the byte position inside it, never an out-of-bounds read.

/// One element of a blob, as bytes (integers in decimal).
fn emit(
    item: Item<'_>,
    scratch: &mut Vec<u8>,
    f: &mut impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    match item {
        Item::Str(s) => f(s),
        Item::Int(v) => {
            use std::io::Write;
            scratch.clear();
            let _ = write!(scratch, "{v}");
            f(scratch)
        }
    }
}

enum Item<'a> {
    Str(&'a [u8]),
    Int(i64),
}

fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Sign-extends the low `bits` bits of `v`.
fn signed(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn slice<'b>(blob: &'b [u8], at: usize, n: usize, what: &str) -> Result<&'b [u8], String> {
    at.checked_add(n)
        .and_then(|end| blob.get(at..end))
        .ok_or_else(|| format!("{what} runs past the end of the blob (byte {at})"))
}

/// Calls `f` with every element of the listpack `blob`, in order.
pub fn listpack_items(
    blob: &[u8],
    mut f: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    if blob.len() < 7 {
        return Err(format!("listpack of {} bytes is too short", blob.len()));
    }
    let total = le(&blob[..4]) as usize;
    if total != blob.len() {
        return Err(format!(
            "listpack header says {total} bytes, the blob has {}",
            blob.len()
        ));
    }
    let count = le(&blob[4..6]) as usize;
    let mut scratch = Vec::new();
    let mut seen = 0usize;
    let mut p = 6;
    loop {
        let b = *blob
            .get(p)
            .ok_or_else(|| format!("listpack has no end marker (byte {p})"))?;
        if b == 0xff {
            if p + 1 != blob.len() {
                return Err(format!("listpack end marker at byte {p} is not the last"));
            }
            break;
        }
        let (item, size) = match b {
            0x00..=0x7f => (Item::Int(i64::from(b)), 1),
            0x80..=0xbf => {
                let n = usize::from(b & 0x3f);
                (Item::Str(slice(blob, p + 1, n, "listpack string")?), 1 + n)
            }
            0xc0..=0xdf => {
                let lo = slice(blob, p + 1, 1, "listpack integer")?[0];
                let v = (u64::from(b & 0x1f) << 8) | u64::from(lo);
                (Item::Int(signed(v, 13)), 2)
            }
            0xe0..=0xef => {
                let lo = slice(blob, p + 1, 1, "listpack string length")?[0];
                let n = (usize::from(b & 0x0f) << 8) | usize::from(lo);
                (Item::Str(slice(blob, p + 2, n, "listpack string")?), 2 + n)
            }
            0xf0 => {
                let n = le(slice(blob, p + 1, 4, "listpack string length")?) as usize;
                (Item::Str(slice(blob, p + 5, n, "listpack string")?), 5 + n)
            }
            0xf1..=0xf4 => {
                let width = match b {
                    0xf1 => 2,
                    0xf2 => 3,
                    0xf3 => 4,
                    _ => 8,
                };
                let v = le(slice(blob, p + 1, width, "listpack integer")?);
                (Item::Int(signed(v, 8 * width as u32)), 1 + width)
            }
            _ => {
                return Err(format!(
                    "unknown listpack entry encoding 0x{b:02x} at byte {p}"
                ))
            }
        };
        // The entry is followed by its own length, in 1 to 5 bytes (for walking back).
        let back = match size {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2_097_150 => 3,
            2_097_151..=268_435_454 => 4,
            _ => 5,
        };
        slice(blob, p, size + back, "listpack entry")?;
        emit(item, &mut scratch, &mut f)?;
        seen += 1;
        p += size + back;
    }
    if count != 0xffff && count != seen {
        return Err(format!(
            "listpack header says {count} elements, it holds {seen}"
        ));
    }
    Ok(())
}

/// Calls `f` with every element of the ziplist `blob`, in order.
pub fn ziplist_items(
    blob: &[u8],
    mut f: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    if blob.len() < 11 {
        return Err(format!("ziplist of {} bytes is too short", blob.len()));
    }
    let total = le(&blob[..4]) as usize;
    if total != blob.len() {
        return Err(format!(
            "ziplist header says {total} bytes, the blob has {}",
            blob.len()
        ));
    }
    let count = le(&blob[8..10]) as usize;
    let mut scratch = Vec::new();
    let mut seen = 0usize;
    let mut p = 10;
    loop {
        let b = *blob
            .get(p)
            .ok_or_else(|| format!("ziplist has no end marker (byte {p})"))?;
        if b == 0xff {
            if p + 1 != blob.len() {
                return Err(format!("ziplist end marker at byte {p} is not the last"));
            }
            break;
        }
        // Length of the previous entry: 1 byte, or 0xfe and 4 bytes.
        p += if b == 0xfe { 5 } else { 1 };
        let enc = slice(blob, p, 1, "ziplist entry")?[0];
        let (item, size) = match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3f);
                (Item::Str(slice(blob, p + 1, n, "ziplist string")?), 1 + n)
            }
            1 => {
                let lo = slice(blob, p + 1, 1, "ziplist string length")?[0];
                let n = (usize::from(enc & 0x3f) << 8) | usize::from(lo);
                (Item::Str(slice(blob, p + 2, n, "ziplist string")?), 2 + n)
            }
            2 if enc == 0x80 => {
                let l = slice(blob, p + 1, 4, "ziplist string length")?;
                let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
                (Item::Str(slice(blob, p + 5, n, "ziplist string")?), 5 + n)
            }
            3 => {
                let width = match enc {
                    0xc0 => 2,
                    0xd0 => 4,
                    0xe0 => 8,
                    0xf0 => 3,
                    0xfe => 1,
                    0xf1..=0xfd => 0,
                    _ => {
                        return Err(format!(
                            "unknown ziplist entry encoding 0x{enc:02x} at byte {p}"
                        ))
                    }
                };
                if width == 0 {
                    // 4-bit immediate: 0001..1101 stand for 0..12.
                    (Item::Int(i64::from(enc & 0x0f) - 1), 1)
                } else {
                    let v = le(slice(blob, p + 1, width, "ziplist integer")?);
                    (Item::Int(signed(v, 8 * width as u32)), 1 + width)
                }
            }
            _ => {
                return Err(format!(
                    "unknown ziplist entry encoding 0x{enc:02x} at byte {p}"
                ))
            }
        };
        emit(item, &mut scratch, &mut f)?;
        seen += 1;
        p += size;
    }
    if count != 0xffff && count != seen {
        return Err(format!(
            "ziplist header says {count} elements, it holds {seen}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    enum Blob {
        Lp,
        Zl,
    }

    fn items(kind: Blob, blob: &[u8]) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let push = |s: &[u8]| {
            out.push(String::from_utf8_lossy(s).into_owned());
            Ok(())
        };
        match kind {
            Blob::Lp => listpack_items(blob, push)?,
            Blob::Zl => ziplist_items(blob, push)?,
        }
        Ok(out)
    }

    /// Builds a listpack from encoded entries (each gets its backlen appended).
    fn listpack(entries: &[Vec<u8>], count: u16) -> Vec<u8> {
        let mut body = Vec::new();
        for e in entries {
            body.extend_from_slice(e);
            let l = e.len();
            assert!(l < 16383);
            if l <= 127 {
                body.push(l as u8);
            } else {
                body.push((l >> 7) as u8);
                body.push((l & 127) as u8 | 128);
            }
        }
        let total = (6 + body.len() + 1) as u32;
        let mut blob = total.to_le_bytes().to_vec();
        blob.extend_from_slice(&count.to_le_bytes());
        blob.extend_from_slice(&body);
        blob.push(0xff);
        blob
    }

    #[test]
    fn listpack_every_encoding() {
        let long = vec![b'q'; 200];
        let mut str12 = vec![0xe0 | (200 >> 8) as u8, 200u8];
        str12.extend_from_slice(&long);
        let mut str32 = vec![0xf0, 5, 0, 0, 0];
        str32.extend_from_slice(b"hello");
        let entries = vec![
            vec![0x05],                   // uint7 5
            vec![0x83, b'a', b'b', b'c'], // str6 "abc"
            vec![0xdf, 0xff],             // int13 -1
            vec![0xc1, 0x00],             // int13 256
            str12,
            str32,
            vec![0xf1, 0x00, 0x80],             // int16 -32768
            vec![0xf2, 0xff, 0xff, 0x7f],       // int24 8388607
            vec![0xf3, 0x00, 0x00, 0x00, 0x80], // int32 min
            vec![0xf4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // int64 max
            vec![0x80],                         // empty string
        ];
        let blob = listpack(&entries, entries.len() as u16);
        let got = items(Blob::Lp, &blob).unwrap();
        assert_eq!(
            got,
            vec![
                "5".to_string(),
                "abc".into(),
                "-1".into(),
                "256".into(),
                String::from_utf8(long).unwrap(),
                "hello".into(),
                "-32768".into(),
                "8388607".into(),
                "-2147483648".into(),
                "9223372036854775807".into(),
                "".into(),
            ]
        );
        // An unknown count (65535) is fine.
        assert_eq!(
            items(Blob::Lp, &listpack(&entries, 0xffff)).unwrap().len(),
            11
        );
    }

    #[test]
    fn listpack_corruption_is_reported() {
        let good = listpack(&[vec![0x83, b'a', b'b', b'c']], 1);
        assert!(items(Blob::Lp, &good[..good.len() - 1])
            .unwrap_err()
            .contains("header says"));
        let mut wrong_count = good.clone();
        wrong_count[4] = 2;
        assert!(items(Blob::Lp, &wrong_count)
            .unwrap_err()
            .contains("2 elements"));
        let mut long_str = good.clone();
        long_str[6] = 0xbf;
        assert!(items(Blob::Lp, &long_str)
            .unwrap_err()
            .contains("past the end"));
        let mut bad_enc = good.clone();
        bad_enc[6] = 0xf7;
        assert!(items(Blob::Lp, &bad_enc)
            .unwrap_err()
            .contains("encoding 0xf7"));
        let mut no_end = good.clone();
        let n = no_end.len();
        no_end[n - 1] = 0x01;
        assert!(items(Blob::Lp, &no_end).is_err());
        assert!(items(Blob::Lp, &[1, 2, 3])
            .unwrap_err()
            .contains("too short"));
    }

    #[test]
    fn ziplist_every_encoding() {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut push = |entry: &[u8], body: &mut Vec<u8>| {
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xfe);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(entry);
            prev = entry.len() + 1;
        };
        push(&[0x02, b'h', b'i'], &mut body); // 6-bit string
        let mut s14 = vec![0x41, 0x2c]; // 14-bit length 300
        s14.extend(std::iter::repeat_n(b'w', 300));
        push(&s14, &mut body);
        push(&[0x80, 0, 0, 0, 3, b'a', b'b', b'c'], &mut body); // 32-bit length
        push(&[0xc0, 0x18, 0xfc], &mut body); // int16 -1000
        push(&[0xd0, 0x40, 0x42, 0x0f, 0x00], &mut body); // int32 1000000
        push(&[0xe0, 0, 0, 0, 0, 0, 0, 0, 0x80], &mut body); // int64 min
        push(&[0xf0, 0xff, 0xff, 0xff], &mut body); // int24 -1
        push(&[0xfe, 0x80], &mut body); // int8 -128
        push(&[0xf1], &mut body); // immediate 0
        push(&[0xfd], &mut body); // immediate 12
        let total = (10 + body.len() + 1) as u32;
        let mut blob = total.to_le_bytes().to_vec();
        blob.extend_from_slice(&0u32.to_le_bytes());
        blob.extend_from_slice(&10u16.to_le_bytes());
        blob.extend_from_slice(&body);
        blob.push(0xff);
        let got = items(Blob::Zl, &blob).unwrap();
        assert_eq!(got[0], "hi");
        assert_eq!(got[1].len(), 300);
        assert_eq!(
            &got[2..],
            [
                "abc",
                "-1000",
                "1000000",
                "-9223372036854775808",
                "-1",
                "-128",
                "0",
                "12"
            ]
        );
        let mut bad = blob.clone();
        bad[11] = 0xc1;
        assert!(items(Blob::Zl, &bad).unwrap_err().contains("encoding 0xc1"));
        let mut short = blob.clone();
        short[8] = 11;
        assert!(items(Blob::Zl, &short).unwrap_err().contains("11 elements"));
    }
}
