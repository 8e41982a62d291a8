//! LZF, the compression Redis applies to strings longer than 20 bytes in RDB files
//! (`rdbcompression yes`, the default).
//!
//! The format is a sequence of items, each starting with a control byte:
//!
//! * `000LLLLL`: a literal run of `L + 1` bytes (1 to 32) that follow as they are;
//! * `LLLooooo [L2] oooooooo`: a back reference copying `len` bytes from `offset + 1`
//!   bytes behind the output's end, where `len = LLL + 2`, or `L2 + 9` when `LLL` is 7
//!   (3 to 264 bytes), and `offset` is 13 bits (up to 8 KiB behind). The copy may
//!   overlap its own output (a run of one repeated byte is one reference).
//!
//! [`Compressor::compress`] is a greedy single-pass compressor with a 3-byte hash table, the same
//! approach as liblzf's; its output need not be byte-identical to Redis's, only valid.
//! [`decompress`] checks every reference and length, so corrupt input is an error,
//! never a panic or an out-of-bounds read.

/// Longest back reference.
const MAX_REF: usize = 264;
/// Farthest back reference.
const MAX_OFF: usize = 1 << 13;
/// Longest literal run.
const MAX_LIT: usize = 32;
/// log2 of the hash table size.
const HLOG: u32 = 14;

/// A compressor with its hash table, reused across calls (clearing a table per small
/// string would cost more than compressing it).
pub struct Compressor {
    /// Position + `base` + 1 of the last occurrence of each 3-byte hash; an entry
    /// belongs to the current call when it is above `base`.
    table: Vec<u32>,
    base: u32,
}

impl Default for Compressor {
    fn default() -> Self {
        Compressor::new()
    }
}

impl Compressor {
    /// A compressor with an empty table.
    pub fn new() -> Compressor {
        Compressor {
            table: vec![0; 1 << HLOG],
            base: 0,
        }
    }

    /// Compresses `input` into `out` (cleared first) if the result fits in
    /// `max_out` bytes; returns whether it did. Redis asks for at least 4 bytes saved.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>, max_out: usize) -> bool {
        out.clear();
        if input.len() < 4 || input.len() >= (u32::MAX / 2) as usize {
            return false;
        }
        // Give this call its own range of table values, resetting on wrap-around.
        let span = input.len() as u32 + 1;
        if self
            .base
            .checked_add(span)
            .is_none_or(|b| b >= u32::MAX / 2)
        {
            self.table.iter_mut().for_each(|e| *e = 0);
            self.base = 0;
        }
        let base = self.base;
        self.base += span;
        compress_with(&mut self.table, base, input, out, max_out)
    }
}

#[inline]
fn hash3(a: u8, b: u8, c: u8) -> usize {
    let v = (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c);
    (v.wrapping_mul(2_654_435_761) >> (32 - HLOG)) as usize
}

fn compress_with(
    table: &mut [u32],
    base: u32,
    input: &[u8],
    out: &mut Vec<u8>,
    max_out: usize,
) -> bool {
    let n = input.len();
    // Index in `out` of the pending literal run's control byte, and its length.
    let mut lit_start = usize::MAX;
    let mut lit_len = 0usize;
    let mut ip = 0usize;
    while ip < n {
        let mut matched = 0;
        let mut off = 0;
        if ip + 2 < n {
            let h = hash3(input[ip], input[ip + 1], input[ip + 2]);
            let prev = table[h];
            table[h] = base + ip as u32 + 1;
            if prev > base {
                let r = (prev - base - 1) as usize;
                if r < ip && ip - r <= MAX_OFF && input[r..r + 3] == input[ip..ip + 3] {
                    matched = match_len(input, r, ip, MAX_REF.min(n - ip));
                    off = ip - r - 1;
                }
            }
        }
        if matched >= 3 {
            // Close the literal run (its control byte already holds its length).
            lit_start = usize::MAX;
            lit_len = 0;
            let code = matched - 2;
            if code < 7 {
                out.push(((code << 5) | (off >> 8)) as u8);
            } else {
                out.push(((7 << 5) | (off >> 8)) as u8);
                out.push((code - 7) as u8);
            }
            out.push((off & 0xff) as u8);
            // Index the last two positions of the match (as liblzf's default mode):
            // enough for runs to chain, without hashing every byte of a long match.
            let end = ip + matched;
            for p in end.saturating_sub(2).max(ip + 1)..end {
                if p + 2 < n {
                    table[hash3(input[p], input[p + 1], input[p + 2])] = base + p as u32 + 1;
                }
            }
            ip = end;
        } else {
            if lit_start == usize::MAX || lit_len == MAX_LIT {
                lit_start = out.len();
                lit_len = 0;
                out.push(0);
            }
            out.push(input[ip]);
            lit_len += 1;
            out[lit_start] = (lit_len - 1) as u8;
            ip += 1;
        }
        if out.len() > max_out {
            return false;
        }
    }
    true
}

/// How many bytes (3 to `max`) at `ip` repeat those at `r` (`r < ip`; the regions may
/// overlap, as LZF copies allow), given that the first 3 do. Compares 8 bytes at a time.
#[inline]
fn match_len(input: &[u8], r: usize, ip: usize, max: usize) -> usize {
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&input[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let mut len = 3;
    while len + 8 <= max {
        let x = word(r + len) ^ word(ip + len);
        if x != 0 {
            return len + (x.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while len < max && input[r + len] == input[ip + len] {
        len += 1;
    }
    len
}

/// Why [`decompress`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LzfError {
    /// A literal run or back reference runs past the end of the input.
    Truncated,
    /// A back reference points before the start of the output.
    BadReference,
    /// The output is longer or shorter than announced.
    WrongLength,
}

impl std::fmt::Display for LzfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LzfError::Truncated => "LZF data ends inside an item",
            LzfError::BadReference => "LZF back reference before the start of the data",
            LzfError::WrongLength => "LZF data does not decompress to the announced length",
        })
    }
}

/// Decompresses `input`, which must expand to exactly `expected` bytes, appending
/// them to `out`.
pub fn decompress(input: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<(), LzfError> {
    let start = out.len();
    // Never trust `expected` for the allocation beyond what the input can produce.
    out.reserve(expected.min(input.len().saturating_mul(MAX_REF)));
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(ip..ip + run).ok_or(LzfError::Truncated)?;
            if out.len() - start + run > expected {
                return Err(LzfError::WrongLength);
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip).ok_or(LzfError::Truncated)? as usize;
                ip += 1;
            }
            len += 2;
            let low = *input.get(ip).ok_or(LzfError::Truncated)? as usize;
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            let produced = out.len() - start;
            if back > produced {
                return Err(LzfError::BadReference);
            }
            if produced + len > expected {
                return Err(LzfError::WrongLength);
            }
            let from = out.len() - back;
            if back >= len {
                out.extend_from_within(from..from + len);
            } else {
                // Overlapping copy: each byte may be one this copy just wrote.
                for i in 0..len {
                    let b = out[from + i];
                    out.push(b);
                }
            }
        }
    }
    if out.len() - start != expected {
        return Err(LzfError::WrongLength);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(data: &[u8]) -> Option<usize> {
        let mut c = Compressor::new();
        let mut out = Vec::new();
        if !c.compress(data, &mut out, data.len().saturating_sub(4)) {
            return None;
        }
        let mut back = b"prefix".to_vec();
        decompress(&out, data.len(), &mut back).expect("valid output");
        assert_eq!(&back[6..], data);
        Some(out.len())
    }

    #[test]
    fn compresses_repetitive_data_and_round_trips() {
        let x = vec![b'x'; 1024];
        let n = roundtrip(&x).expect("compressible");
        assert!(n < 20, "1 KiB of one byte compresses to {n} bytes");
        let text = b"hello world, hello world, hello world, hello world!".repeat(50);
        assert!(roundtrip(&text).unwrap() < text.len() / 10);
        // Long literal runs, matches at the maximum distance and length.
        let mut mixed = Vec::new();
        let mut s = 12345u32;
        for _ in 0..9000 {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
            mixed.push((s >> 16) as u8);
        }
        let copy = mixed[..300].to_vec();
        mixed.extend_from_slice(&copy);
        mixed.extend(std::iter::repeat_n(7u8, 1000));
        roundtrip(&mixed).expect("the tail compresses");
    }

    #[test]
    fn random_inputs_round_trip() {
        // Small alphabets make matches of every length and overlap; a fresh or reused
        // table, every length up to a few KiB.
        let mut seed = 7u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut c = Compressor::new();
        let mut out = Vec::new();
        for round in 0..500 {
            let len = (next() % 3000) as usize;
            let alphabet = 1 + (next() % 4) as u8 * (round % 3) as u8;
            let data: Vec<u8> = (0..len)
                .map(|_| (next() % u64::from(alphabet)) as u8)
                .collect();
            if c.compress(&data, &mut out, len + 64) {
                let mut back = Vec::new();
                decompress(&out, len, &mut back).unwrap();
                assert_eq!(back, data, "round {round}");
            } else {
                assert!(
                    len < 4,
                    "round {round}: {len} bytes not compressed in len+64"
                );
            }
        }
    }

    #[test]
    fn incompressible_data_is_refused() {
        let mut s = 1u32;
        let data: Vec<u8> = (0..500)
            .map(|_| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (s >> 16) as u8
            })
            .collect();
        assert_eq!(roundtrip(&data), None);
        assert_eq!(roundtrip(b"abc"), None);
    }

    #[test]
    fn many_calls_reuse_the_table_correctly() {
        let mut c = Compressor::new();
        let mut out = Vec::new();
        for i in 0..2000u32 {
            let data = format!("value-{i}-").repeat(10 + (i % 7) as usize);
            assert!(c.compress(data.as_bytes(), &mut out, data.len() - 4));
            let mut back = Vec::new();
            decompress(&out, data.len(), &mut back).unwrap();
            assert_eq!(back, data.as_bytes());
        }
        // Force the wrap-around reset.
        c.base = u32::MAX / 2 - 10;
        let data = vec![b'a'; 100];
        assert!(c.compress(&data, &mut out, 96));
        let mut back = Vec::new();
        decompress(&out, 100, &mut back).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let mut out = Vec::new();
        // Literal run of 3 with only 2 bytes.
        assert_eq!(
            decompress(&[2, b'a', b'b'], 3, &mut out),
            Err(LzfError::Truncated)
        );
        // Back reference with nothing before it.
        assert_eq!(
            decompress(&[0x20, 0x00], 3, &mut out),
            Err(LzfError::BadReference)
        );
        // Reference missing its offset byte.
        assert_eq!(
            decompress(&[0, b'a', 0x20], 4, &mut out),
            Err(LzfError::Truncated)
        );
        // Long reference missing its length byte.
        assert_eq!(
            decompress(&[0, b'a', 0xe0], 4, &mut out),
            Err(LzfError::Truncated)
        );
        // Too long and too short.
        assert_eq!(
            decompress(&[0, b'a', 0x20, 0x00], 2, &mut out),
            Err(LzfError::WrongLength)
        );
        assert_eq!(
            decompress(&[1, b'a', b'b'], 3, &mut out),
            Err(LzfError::WrongLength)
        );
        // A valid overlapping reference: "a" then 3 copies at distance 1.
        let mut ok = Vec::new();
        decompress(&[0, b'a', 0x20, 0x00], 4, &mut ok).unwrap();
        assert_eq!(ok, b"aaaa");
    }
}
