//! The RDB encoder's primitives: opcodes, lengths, strings (integer-encoded when
//! Redis would, LZF-compressed when it pays), with the CRC-64 kept as bytes go out.

use std::io::{self, Write};

use super::crc64;
use super::lzf::Compressor;
use super::{ENC_INT16, ENC_INT32, ENC_INT8, ENC_LZF};

/// Bytes gathered before one write to the underlying writer.
const BUF: usize = 64 * 1024;

/// Strings at least this long are written straight through, not copied into the buffer.
const DIRECT: usize = 16 * 1024;

/// Encodes RDB items into `inner`, buffering and checksumming.
pub struct Writer<'a> {
    inner: &'a mut dyn Write,
    buf: Vec<u8>,
    crc: u64,
    written: u64,
    compress: bool,
    lzf: Option<Box<Compressor>>,
    scratch: Vec<u8>,
}

impl<'a> Writer<'a> {
    /// A writer over `inner`; `compress` enables LZF for strings over 20 bytes.
    pub fn new(inner: &'a mut dyn Write, compress: bool) -> Writer<'a> {
        Writer {
            inner,
            buf: Vec::with_capacity(BUF),
            crc: 0,
            written: 0,
            compress,
            lzf: None,
            scratch: Vec::new(),
        }
    }

    /// Bytes encoded so far (written or buffered).
    pub fn position(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.crc = crc64::update(self.crc, &self.buf);
        self.written += self.buf.len() as u64;
        let r = self.inner.write_all(&self.buf);
        self.buf.clear();
        r
    }

    #[inline]
    fn room(&mut self, n: usize) -> io::Result<()> {
        if self.buf.len() + n > BUF {
            self.flush_buf()?;
        }
        Ok(())
    }

    /// One raw byte (an opcode or a type).
    #[inline]
    pub fn byte(&mut self, b: u8) -> io::Result<()> {
        self.room(1)?;
        self.buf.push(b);
        Ok(())
    }

    /// Raw bytes.
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() >= DIRECT {
            self.flush_buf()?;
            self.crc = crc64::update(self.crc, bytes);
            self.written += bytes.len() as u64;
            return self.inner.write_all(bytes);
        }
        self.room(bytes.len())?;
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// A length: 6 bits, 14 bits, 32 or 64 bits big-endian, as `rdbSaveLen`.
    pub fn length(&mut self, n: u64) -> io::Result<()> {
        self.room(9)?;
        if n < 1 << 6 {
            self.buf.push(n as u8);
        } else if n < 1 << 14 {
            self.buf.push(0x40 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else if n <= u64::from(u32::MAX) {
            self.buf.push(0x80);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.buf.push(0x81);
            self.buf.extend_from_slice(&n.to_be_bytes());
        }
        Ok(())
    }

    /// A string, as `rdbSaveRawString`: as an 8/16/32-bit integer when it is the
    /// canonical decimal form of one, LZF-compressed when longer than 20 bytes and
    /// compression saves at least 4 bytes, else length-prefixed raw bytes.
    pub fn string(&mut self, s: &[u8]) -> io::Result<()> {
        if s.len() <= 11 {
            if let Some(v) = canonical_int(s) {
                self.room(5)?;
                if let Ok(b) = i8::try_from(v) {
                    self.buf.extend_from_slice(&[0xC0 | ENC_INT8, b as u8]);
                    return Ok(());
                }
                if let Ok(h) = i16::try_from(v) {
                    self.buf.push(0xC0 | ENC_INT16);
                    self.buf.extend_from_slice(&h.to_le_bytes());
                    return Ok(());
                }
                if let Ok(w) = i32::try_from(v) {
                    self.buf.push(0xC0 | ENC_INT32);
                    self.buf.extend_from_slice(&w.to_le_bytes());
                    return Ok(());
                }
            }
        }
        if self.compress && s.len() > 20 {
            let lzf = self.lzf.get_or_insert_with(Default::default);
            let mut out = std::mem::take(&mut self.scratch);
            let ok = lzf.compress(s, &mut out, s.len() - 4);
            if ok {
                self.byte(0xC0 | ENC_LZF)?;
                self.length(out.len() as u64)?;
                self.length(s.len() as u64)?;
                let r = self.raw(&out);
                self.scratch = out;
                return r;
            }
            self.scratch = out;
        }
        self.length(s.len() as u64)?;
        self.raw(s)
    }

    /// An 8-byte little-endian integer (millisecond expiry times).
    pub fn u64_le(&mut self, v: u64) -> io::Result<()> {
        self.raw(&v.to_le_bytes())
    }

    /// Hands everything buffered to the underlying writer (a DUMP payload, which has
    /// no end-of-file opcode, computes its checksum itself).
    pub fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.inner.flush()
    }

    /// Writes the end-of-file opcode and the checksum (0 when `checksum` is off), and
    /// flushes everything to the underlying writer. Returns the total size.
    pub fn finish(mut self, eof_opcode: u8, checksum: bool) -> io::Result<u64> {
        self.byte(eof_opcode)?;
        self.flush_buf()?;
        let crc = if checksum { self.crc } else { 0 };
        self.inner.write_all(&crc.to_le_bytes())?;
        self.inner.flush()?;
        Ok(self.written + 8)
    }
}

/// The value of `s` when `s` is exactly how Redis would print that 64-bit integer
/// (no sign on zero, no leading zeros or '+', no spaces), as `string2ll` + `ll2string`.
pub(crate) fn canonical_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] if !neg => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(f: impl FnOnce(&mut Writer<'_>) -> io::Result<()>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out, true);
        f(&mut w).unwrap();
        w.flush_buf().unwrap();
        drop(w);
        out
    }

    #[test]
    fn lengths() {
        assert_eq!(encoded(|w| w.length(0)), [0x00]);
        assert_eq!(encoded(|w| w.length(63)), [0x3f]);
        assert_eq!(encoded(|w| w.length(64)), [0x40, 0x40]);
        assert_eq!(encoded(|w| w.length(16383)), [0x7f, 0xff]);
        assert_eq!(encoded(|w| w.length(16384)), [0x80, 0, 0, 0x40, 0]);
        assert_eq!(
            encoded(|w| w.length(u64::from(u32::MAX) + 1)),
            [0x81, 0, 0, 0, 1, 0, 0, 0, 0]
        );
    }

    #[test]
    fn strings_pick_redis_encodings() {
        assert_eq!(encoded(|w| w.string(b"")), [0]);
        assert_eq!(encoded(|w| w.string(b"abc")), [3, b'a', b'b', b'c']);
        assert_eq!(encoded(|w| w.string(b"0")), [0xc0, 0]);
        assert_eq!(encoded(|w| w.string(b"-1")), [0xc0, 0xff]);
        assert_eq!(encoded(|w| w.string(b"128")), [0xc1, 0x80, 0]);
        assert_eq!(encoded(|w| w.string(b"-32768")), [0xc1, 0, 0x80]);
        assert_eq!(encoded(|w| w.string(b"100000")), [0xc2, 0xa0, 0x86, 1, 0]);
        // Too big for 32 bits, not canonical, or too long: raw.
        assert_eq!(encoded(|w| w.string(b"4294967296"))[0], 10);
        assert_eq!(encoded(|w| w.string(b"007")), [3, b'0', b'0', b'7']);
        assert_eq!(encoded(|w| w.string(b"+7"))[0], 2);
        assert_eq!(encoded(|w| w.string(b"-0"))[0], 2);
        // Long and repetitive: LZF.
        let lzf = encoded(|w| w.string(&[b'x'; 100]));
        assert_eq!(lzf[0], 0xc3);
        assert!(lzf.len() < 20);
    }

    #[test]
    fn canonical_integers() {
        assert_eq!(canonical_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(canonical_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(canonical_int(b"9223372036854775808"), None);
        assert_eq!(canonical_int(b"-"), None);
        assert_eq!(canonical_int(b"1 "), None);
        assert_eq!(canonical_int(b"-05"), None);
    }
}
