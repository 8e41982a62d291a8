//! Number parsing and formatting with Redis's exact rules.
//!
//! Redis is strict: `INCRBY k " 1"`, `"+1"`, `"01"` and `"1.0"` are all
//! `ERR value is not an integer or out of range`. These helpers reproduce
//! `string2ll`, `string2ld` and the human-readable long double formatting.

use crate::error::CmdError;

/// Parses a signed 64-bit integer as Redis's `string2ll` does: optional `-`, no `+`,
/// no leading zeros (except `0` itself), no whitespace, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// [`parse_i64`] with Redis's error.
pub fn int_arg(s: &[u8]) -> Result<i64, CmdError> {
    parse_i64(s).ok_or(CmdError::NotInteger)
}

/// A non-negative integer argument that fits `usize`.
pub fn usize_arg(s: &[u8]) -> Result<usize, CmdError> {
    match parse_i64(s) {
        Some(v) if v >= 0 => Ok(v as usize),
        _ => Err(CmdError::NotInteger),
    }
}

/// Parses a float as Redis's `string2ld`/`strtold` with its extra checks: no leading
/// whitespace, the whole string consumed, not NaN. `inf`/`-inf` are accepted.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5120 || s[0].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let lower = text.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust accepts a few spellings strtold does not ("nan", "infinity" handled
            // above); reject anything with characters a C float cannot contain.
            if !text
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'e' | b'E'))
            {
                return None;
            }
            text.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// [`parse_f64`] with Redis's error.
pub fn float_arg(s: &[u8]) -> Result<f64, CmdError> {
    parse_f64(s).ok_or(CmdError::NotFloat)
}

/// Formats a float the way INCRBYFLOAT and HINCRBYFLOAT store it: plain decimal, no
/// exponent, no trailing zeros (Redis's `LD_STR_HUMAN`). Uses the shortest decimal
/// that round-trips, which matches Redis's output for the values people add.
pub fn format_human_f64(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{v}");
    // Rust prints integral floats without a fraction already ("10"), and never uses
    // an exponent with `{}`.
    s
}

/// Parses a SCAN/HSCAN cursor as Redis does with `strtoul`: an optional sign, decimal
/// digits, nothing else; `-n` wraps around (`-1` is 2^64-1) and the empty string is 0.
/// Leading whitespace and values past 64 bits are rejected.
pub fn parse_cursor(s: &[u8]) -> Option<u64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        // strtoul consumed nothing: valid only if there was nothing to consume.
        return s.is_empty().then_some(0);
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// An `i64` formatted into a stack buffer.
pub fn fmt_i64(v: i64) -> itoa::Buffer {
    let mut b = itoa::Buffer::new();
    b.format(v);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parsing_follows_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"01"), Some(1));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-0"), Some(0));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"-18446744073709551615"), Some(1));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b"18446744073709551616"[..],
            b"-18446744073709551616",
            b" 1",
            b"1 ",
            b"abc",
            b"-",
            b"+",
            b"1x",
        ] {
            assert_eq!(parse_cursor(bad), None, "{}", bad.escape_ascii());
        }
    }

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-"), None);
    }

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"-0",
            b"1.0",
            b"abc",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"-",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-2e3"), Some(-2000.0));
        assert_eq!(parse_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"10"), Some(10.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1x"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(format_human_f64(10.5 + 0.1), "10.6");
        assert_eq!(format_human_f64(3.0), "3");
        assert_eq!(format_human_f64(5.0e3), "5000");
        assert_eq!(format_human_f64(-0.25), "-0.25");
    }
}
