//! The RDB decoder's primitives: a buffered reader that knows its file offset (every
//! error names one) and keeps the CRC-64 of what it consumed, plus lengths and strings
//! in all of Redis's encodings (raw, 8/16/32-bit integers, LZF).
//!
//! Lengths come from the file and may be garbage: nothing is allocated ahead of the
//! data actually read, so a corrupt length is an "unexpected end of file", never an
//! out-of-memory abort.

use std::fmt;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{crc64, lzf};
use super::{ENC_INT16, ENC_INT32, ENC_INT8, ENC_LZF};

/// Buffer size; also the most a single `take` may ask for.
const BUF: usize = 64 * 1024;

/// Bytes read per step when a string is read past the buffer.
const CHUNK: usize = 1 << 20;

/// Why a dump could not be read.
#[derive(Debug)]
pub struct RdbError {
    /// Byte offset in the file where the problem was found (for a truncated file: its
    /// length; for a bad item: where the item starts).
    pub offset: u64,
    /// What went wrong.
    pub kind: RdbErrorKind,
}

/// The kinds of [`RdbError`].
#[derive(Debug)]
pub enum RdbErrorKind {
    /// Reading the source failed.
    Io(io::Error),
    /// The file ends in the middle of an item (or before the end-of-file marker).
    Truncated,
    /// Bytes that no valid RDB file holds.
    Corrupt(String),
    /// Valid RDB content that Shoal cannot load (a type it does not store yet,
    /// modules, functions, a newer format).
    Unsupported(String),
    /// The stored CRC-64 does not match the content.
    Checksum {
        /// The checksum in the file.
        stored: u64,
        /// The checksum of the bytes read.
        computed: u64,
    },
}

impl RdbError {
    pub(crate) fn corrupt(offset: u64, msg: impl Into<String>) -> RdbError {
        RdbError {
            offset,
            kind: RdbErrorKind::Corrupt(msg.into()),
        }
    }

    pub(crate) fn unsupported(offset: u64, msg: impl Into<String>) -> RdbError {
        RdbError {
            offset,
            kind: RdbErrorKind::Unsupported(msg.into()),
        }
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        match &self.kind {
            RdbErrorKind::Io(e) => write!(f, "read error at offset {at}: {e}"),
            RdbErrorKind::Truncated => {
                write!(f, "unexpected end of file at offset {at} (truncated file)")
            }
            RdbErrorKind::Corrupt(m) => write!(f, "corrupt RDB data at offset {at}: {m}"),
            RdbErrorKind::Unsupported(m) => {
                write!(f, "unsupported RDB content at offset {at}: {m}")
            }
            RdbErrorKind::Checksum { stored, computed } => write!(
                f,
                "RDB checksum mismatch at offset {at}: the file says {stored:016x}, \
                 its content gives {computed:016x}"
            ),
        }
    }
}

impl std::error::Error for RdbError {}

/// A length, or the special string encoding that takes its place.
enum Len {
    Plain(u64),
    Encoded(u8),
}

/// Buffered, offset-tracking, checksumming reader of RDB items.
pub struct Reader<'a> {
    src: &'a mut dyn Read,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    /// CRC of the file up to `base + crc_pos`.
    crc: u64,
    crc_pos: usize,
    /// Bytes read from the source, published for progress reports.
    progress: Option<&'a AtomicU64>,
    lzf_in: Vec<u8>,
}

impl<'a> Reader<'a> {
    /// A reader over `src`; `progress`, when given, is kept at the bytes read so far.
    pub fn new(src: &'a mut dyn Read, progress: Option<&'a AtomicU64>) -> Reader<'a> {
        Reader {
            src,
            buf: vec![0; BUF].into_boxed_slice(),
            pos: 0,
            end: 0,
            base: 0,
            crc: 0,
            crc_pos: 0,
            progress,
            lzf_in: Vec::new(),
        }
    }

    /// Offset of the next byte to be read.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn fold_crc(&mut self) {
        self.crc = crc64::update(self.crc, &self.buf[self.crc_pos..self.pos]);
        self.crc_pos = self.pos;
    }

    /// CRC-64 of every byte consumed so far.
    pub fn crc(&mut self) -> u64 {
        self.fold_crc();
        self.crc
    }

    fn truncated(&self, at: u64) -> RdbError {
        RdbError {
            offset: at,
            kind: RdbErrorKind::Truncated,
        }
    }

    fn io(&self, e: io::Error) -> RdbError {
        RdbError {
            offset: self.base + self.end as u64,
            kind: RdbErrorKind::Io(e),
        }
    }

    /// Makes at least `n` (at most `BUF`) bytes available at `pos`.
    fn fill(&mut self, n: usize) -> Result<(), RdbError> {
        debug_assert!(n <= BUF);
        if self.end - self.pos >= n {
            return Ok(());
        }
        self.fold_crc();
        self.buf.copy_within(self.pos..self.end, 0);
        self.base += self.pos as u64;
        self.end -= self.pos;
        self.pos = 0;
        self.crc_pos = 0;
        while self.end < n {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(self.truncated(self.base + self.end as u64)),
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
        if let Some(p) = self.progress {
            p.store(self.base + self.end as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    /// One byte.
    #[inline]
    pub fn byte(&mut self) -> Result<u8, RdbError> {
        self.fill(1)?;
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// Exactly `N` bytes (`N` small).
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        self.fill(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(a)
    }

    /// Whether the source has no byte left (after the end-of-file marker and checksum).
    pub fn at_end(&mut self) -> Result<bool, RdbError> {
        match self.fill(1) {
            Ok(()) => Ok(false),
            Err(RdbError {
                kind: RdbErrorKind::Truncated,
                ..
            }) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Appends the next `n` bytes to `out`.
    pub fn bytes_into(&mut self, n: u64, out: &mut Vec<u8>) -> Result<(), RdbError> {
        let avail = (self.end - self.pos) as u64;
        let first = n.min(avail) as usize;
        out.extend_from_slice(&self.buf[self.pos..self.pos + first]);
        self.pos += first;
        let mut left = n - first as u64;
        if left == 0 {
            return Ok(());
        }
        if left <= (BUF / 2) as u64 {
            self.fill(left as usize)?;
            out.extend_from_slice(&self.buf[self.pos..self.pos + left as usize]);
            self.pos += left as usize;
            return Ok(());
        }
        // Large: read straight into `out`, growing it only as data arrives.
        self.fold_crc();
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        self.crc_pos = 0;
        while left > 0 {
            let step = (left as usize).min(CHUNK);
            let old = out.len();
            out.resize(old + step, 0);
            let mut got = 0;
            while got < step {
                match self.src.read(&mut out[old + got..]) {
                    Ok(0) => return Err(self.truncated(self.base + got as u64)),
                    Ok(k) => got += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(self.io(e)),
                }
            }
            self.crc = crc64::update(self.crc, &out[old..]);
            self.base += step as u64;
            left -= step as u64;
            if let Some(p) = self.progress {
                p.store(self.base, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn len_or_encoding(&mut self) -> Result<Len, RdbError> {
        let at = self.offset();
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain(u64::from(b & 0x3f)),
            1 => Len::Plain((u64::from(b & 0x3f) << 8) | u64::from(self.byte()?)),
            2 => match b {
                0x80 => Len::Plain(u64::from(u32::from_be_bytes(self.array()?))),
                0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
                _ => {
                    return Err(RdbError::corrupt(
                        at,
                        format!("unknown length encoding 0x{b:02x}"),
                    ))
                }
            },
            _ => Len::Encoded(b & 0x3f),
        })
    }

    /// A length (`rdbLoadLen`); a string encoding in its place is corrupt.
    pub fn length(&mut self) -> Result<u64, RdbError> {
        let at = self.offset();
        match self.len_or_encoding()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(e) => Err(RdbError::corrupt(
                at,
                format!("string encoding {e} where a length was expected"),
            )),
        }
    }

    /// A string in any encoding, appended to `out` (cleared first) as its bytes
    /// (integers as their decimal text, LZF decompressed).
    pub fn string_into(&mut self, out: &mut Vec<u8>) -> Result<(), RdbError> {
        out.clear();
        let at = self.offset();
        match self.len_or_encoding()? {
            Len::Plain(n) => self.bytes_into(n, out),
            Len::Encoded(ENC_INT8) => {
                let [b] = self.array::<1>()?;
                push_int(out, i64::from(b as i8));
                Ok(())
            }
            Len::Encoded(ENC_INT16) => {
                push_int(out, i64::from(i16::from_le_bytes(self.array()?)));
                Ok(())
            }
            Len::Encoded(ENC_INT32) => {
                push_int(out, i64::from(i32::from_le_bytes(self.array()?)));
                Ok(())
            }
            Len::Encoded(ENC_LZF) => {
                let clen = self.length()?;
                let len = self.length()?;
                // Each 2 or 3 compressed bytes expand to at most 264.
                if len > clen.saturating_mul(264) {
                    return Err(RdbError::corrupt(
                        at,
                        format!("LZF string of {clen} bytes cannot expand to {len}"),
                    ));
                }
                let mut input = std::mem::take(&mut self.lzf_in);
                input.clear();
                let r = self.bytes_into(clen, &mut input);
                let r = r.and_then(|()| {
                    lzf::decompress(&input, len as usize, out)
                        .map_err(|e| RdbError::corrupt(at, e.to_string()))
                });
                self.lzf_in = input;
                r
            }
            Len::Encoded(e) => Err(RdbError::corrupt(
                at,
                format!("unknown string encoding {e}"),
            )),
        }
    }
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    use std::io::Write;
    let _ = write!(out, "{v}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::writer::Writer;

    /// A source that returns at most 3 bytes per read, to exercise refills.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(3).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn strings_round_trip_in_every_encoding() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"a".to_vec(),
            b"0".to_vec(),
            b"-128".to_vec(),
            b"127".to_vec(),
            b"-32768".to_vec(),
            b"2147483647".to_vec(),
            b"-2147483648".to_vec(),
            b"2147483648".to_vec(),
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![b'z'; 20_000],
            b"not compressible? 0123456789".to_vec(),
            big,
        ];
        let mut file = Vec::new();
        let mut w = Writer::new(&mut file, true);
        for s in &samples {
            w.string(s).unwrap();
        }
        w.length(1_000_000).unwrap();
        w.finish(0xff, true).unwrap();
        for trickle in [false, true] {
            let mut plain = &file[..];
            let mut slow = Trickle(&file);
            let src: &mut dyn Read = if trickle { &mut slow } else { &mut plain };
            let mut r = Reader::new(src, None);
            let mut out = Vec::new();
            for s in &samples {
                r.string_into(&mut out).unwrap();
                assert_eq!(&out, s);
            }
            assert_eq!(r.length().unwrap(), 1_000_000);
            assert_eq!(r.byte().unwrap(), 0xff);
            let crc = r.crc();
            assert_eq!(crc, crc64::update(0, &file[..file.len() - 8]));
            assert_eq!(r.array::<8>().unwrap(), crc.to_le_bytes());
            assert!(r.at_end().unwrap());
        }
    }

    #[test]
    fn truncation_and_bad_encodings_report_offsets() {
        // A 10-byte string with 4 bytes present.
        let mut data: &[u8] = &[0, 10, b'a', b'b', b'c', b'd'];
        let mut r = Reader::new(&mut data, None);
        assert_eq!(r.byte().unwrap(), 0);
        let e = r.string_into(&mut Vec::new()).unwrap_err();
        assert!(matches!(e.kind, RdbErrorKind::Truncated));
        assert_eq!(e.offset, 6);
        assert!(e.to_string().contains("offset 6"), "{e}");

        // A huge announced length with no data: no allocation, just truncation.
        let mut data: &[u8] = &[0x81, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1];
        let e = Reader::new(&mut data, None)
            .string_into(&mut Vec::new())
            .unwrap_err();
        assert!(matches!(e.kind, RdbErrorKind::Truncated));

        let mut data: &[u8] = &[7, 0x82];
        let mut r = Reader::new(&mut data, None);
        r.byte().unwrap();
        let e = r.length().unwrap_err();
        assert_eq!(e.offset, 1);
        assert!(
            e.to_string().contains("unknown length encoding 0x82"),
            "{e}"
        );

        let mut data: &[u8] = &[0xc5];
        let e = Reader::new(&mut data, None)
            .string_into(&mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("unknown string encoding 5"), "{e}");

        let mut data: &[u8] = &[0xc0, 1];
        let e = Reader::new(&mut data, None).length().unwrap_err();
        assert!(e.to_string().contains("where a length was expected"), "{e}");

        // LZF that claims more than it can hold, and LZF that is corrupt.
        let mut data: &[u8] = &[0xc3, 1, 0x80, 0, 0, 0x10, 0, 0];
        let e = Reader::new(&mut data, None)
            .string_into(&mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("cannot expand"), "{e}");
        let mut data: &[u8] = &[0xc3, 2, 4, 0x20, 0];
        let e = Reader::new(&mut data, None)
            .string_into(&mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("LZF back reference"), "{e}");
    }
}
